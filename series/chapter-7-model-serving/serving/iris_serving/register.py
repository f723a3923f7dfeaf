"""Makes sure the registry has a champion before the app serves it (the chart's registration Job).

If `models:/<name>@<alias>` resolves, there is nothing to do. Otherwise this trains chapter 6's
example (series/chapter-6-model-registry/examples/train.py, imported, not copied), which registers
a new version, and points the alias at that version. Running it again changes nothing, so it is
safe on every `up`.

    MLFLOW_TRACKING_URI=http://127.0.0.1:5000 python -m iris_serving.register

It prints key=value lines: model_name, alias, model_version, trained (true or false).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from .settings import DEFAULT_MODEL_ALIAS, DEFAULT_MODEL_NAME, DEFAULT_TRACKING_URI

# Where train.py is: next to this chapter's folder in the repository, and in the image, which keeps
# the repository's layout under /app (see serving/Dockerfile). TRAIN_SCRIPT overrides it.
TRAIN_SCRIPT = (
    Path(__file__).resolve().parents[3] / "chapter-6-model-registry" / "examples" / "train.py"
)
DEFAULT_EXPERIMENT = "chapter-7-champion"
# The MLflow error codes that mean "no such registered model or alias".
MISSING = {"RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"}


@dataclass(frozen=True)
class Champion:
    name: str
    alias: str
    version: str
    trained: bool


def train_script() -> Path:
    return Path(os.environ.get("TRAIN_SCRIPT") or TRAIN_SCRIPT)


def load_train_module(path: Path) -> ModuleType:
    """Imports chapter 6's train.py from its file (it is a script, not an installed package)."""
    if not path.is_file():
        raise FileNotFoundError(f"chapter 6's training script is not at {path} (set TRAIN_SCRIPT)")
    spec = importlib.util.spec_from_file_location("chapter6_train", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def wait_for_mlflow(url: str, timeout_s: float) -> None:
    """Waits until the server's GET /health answers OK (it may still be starting)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(f"{url.rstrip('/')}/health", timeout=5) as resp:
                if resp.status == 200:
                    return
                err: object = f"status {resp.status}"
        except (urllib.error.URLError, OSError) as e:
            err = e
        if time.monotonic() > deadline:
            raise TimeoutError(f"MLflow at {url} not healthy after {timeout_s:.0f}s: {err}")
        print(f"waiting for MLflow at {url}: {err}", file=sys.stderr, flush=True)
        time.sleep(3)


def current_champion(client: Any, name: str, alias: str) -> str | None:
    """The version the alias points at, or None when the model or the alias does not exist."""
    from mlflow.exceptions import MlflowException

    try:
        return str(client.get_model_version_by_alias(name, alias).version)
    except MlflowException as err:
        if err.error_code in MISSING:
            return None
        raise


def ensure_champion(
    client: Any,
    name: str,
    alias: str,
    train_module: Callable[[], ModuleType],
    experiment: str = DEFAULT_EXPERIMENT,
) -> Champion:
    """Keeps an existing champion; otherwise trains (train_module() is chapter 6's train.py),
    registers and aliases a new version. MLflow's tracking URI must already be set."""
    version = current_champion(client, name, alias)
    if version is not None:
        return Champion(name=name, alias=alias, version=version, trained=False)
    result = train_module().train(model_name=name, experiment=experiment)
    client.set_registered_model_alias(name, alias, str(result.model_version))
    return Champion(name=name, alias=alias, version=str(result.model_version), trained=True)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Make sure the MLflow registry has a champion model.")
    p.add_argument("--model-name", default=os.environ.get("MODEL_NAME") or DEFAULT_MODEL_NAME)
    p.add_argument("--alias", default=os.environ.get("MODEL_ALIAS") or DEFAULT_MODEL_ALIAS)
    p.add_argument("--experiment", default=DEFAULT_EXPERIMENT, help="experiment of a training run")
    p.add_argument(
        "--wait-seconds", type=float, default=300, help="how long to wait for MLflow to answer"
    )
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    url = os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI
    wait_for_mlflow(url, args.wait_seconds)

    import mlflow
    from mlflow.tracking import MlflowClient

    mlflow.set_tracking_uri(url)
    client = MlflowClient(tracking_uri=url, registry_uri=url)
    champion = ensure_champion(
        client,
        args.model_name,
        args.alias,
        lambda: load_train_module(train_script()),  # imported only when it is needed
        args.experiment,
    )
    if champion.trained:
        print(
            f"no {args.alias!r} alias: trained and registered version {champion.version}",
            file=sys.stderr,
        )
    print(f"model_name={champion.name}")
    print(f"alias={champion.alias}")
    print(f"model_version={champion.version}")
    print(f"trained={'true' if champion.trained else 'false'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
