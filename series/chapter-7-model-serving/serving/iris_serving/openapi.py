"""Writes the app's OpenAPI 3 document, the one it serves at /openapi.json, without MLflow.

API gateways and catalogues (RapidAPI Hub, for one) import an API from this document; give it the
public address clients will call:

    python -m iris_serving.openapi --server-url https://iris.example.com > openapi.json
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from .app import create_app
from .model import ChampionModel, Predictor
from .settings import Settings


class _NoRegistry:
    """The document needs no model: a registry that is never asked."""

    def get_model_version_by_alias(self, name: str, alias: str) -> Any:
        raise RuntimeError("the OpenAPI document is generated without MLflow")


def _no_model(uri: str) -> Predictor:
    raise RuntimeError(f"the OpenAPI document is generated without loading {uri}")


def document(server_url: str = "", settings: Settings | None = None) -> dict[str, Any]:
    settings = replace(settings or Settings(), public_url=server_url)
    champion = ChampionModel(_NoRegistry(), settings.model_name, settings.model_alias, _no_model)
    return create_app(settings, champion).openapi()


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Print the serving API's OpenAPI 3 document.")
    p.add_argument("--server-url", default="", help="public URL of the API (the document's server)")
    args = p.parse_args(argv)
    json.dump(document(args.server_url, Settings.from_env()), sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
