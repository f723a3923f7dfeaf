"""The API's OpenAPI 3 document: it validates, the exported document names the public server, and
schemathesis' property-based tests (requests generated from the document, valid and invalid) pass
against the running app serving a real model."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from openapi_spec_validator import validate

from conftest import SERVING
from iris_serving.openapi import document


def test_served_document_validates(app_url: str) -> None:
    doc: dict[str, Any] = httpx.get(f"{app_url}/openapi.json", timeout=10).json()
    validate(doc)
    assert doc["openapi"].startswith("3.")
    assert set(doc["paths"]) == {"/predict", "/health"}  # /metrics is no API operation
    assert doc["paths"]["/predict"]["post"]["operationId"] == "predict"
    # The exported document describes the same API (its description names the settings).
    exported = document()
    assert (exported["paths"], exported["components"]) == (doc["paths"], doc["components"])
    assert "servers" not in doc


def test_export_names_the_public_server() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "iris_serving.openapi", "--server-url", "https://iris.example.com"],
        cwd=SERVING,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    doc = json.loads(out.stdout)
    validate(doc)
    assert doc["servers"] == [{"url": "https://iris.example.com"}]


@pytest.fixture(scope="module")
def api_schema(app_url: str) -> schemathesis.schemas.BaseSchema:
    return schemathesis.openapi.from_url(f"{app_url}/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_document(case: schemathesis.Case) -> None:
    # Every generated request gets no server error, a documented status code and content type, and
    # a body matching the documented schema; invalid requests are rejected, valid ones accepted.
    case.call_and_validate()
