"""Shared fixtures of chapter 7's tests: a real MLflow tracking server and a registered champion.

The server is `mlflow server` from the venv that runs the tests (hack/venvs/serving.txt: the chart's
MLflow version), started the way charts/mlflow starts it (one worker, proxied artifacts, no job
runner) with SQLite and a temporary artifact folder instead of PostgreSQL and a volume, on a free
port of 127.0.0.1. The champion is trained by chapter 6's train.py through the registration Job's
own code (serving/iris_serving/register.py).

    ~/.cache/mlops-series/venvs/serving/bin/python -m pytest series/chapter-7-model-serving
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

CHAPTER = Path(__file__).resolve().parent
SERVING = CHAPTER / "serving"
# How often the app started by app_url resolves the alias again (MODEL_REFRESH_SECONDS).
REFRESH_S = 1.0
# The tests import iris_serving as the image does (serving/ on the path) and servers.py from here.
sys.path.insert(0, str(CHAPTER / "serving"))

from iris_serving import register  # noqa: E402
from servers import Process, clean_env, free_port, start  # noqa: E402


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`mlflow server` on a free loopback port; yields its URL once /health answers."""
    root = tmp_path_factory.mktemp("mlflow-server")
    (root / "home").mkdir()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [
        sys.executable, "-m", "mlflow", "server",
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}",
        "--serve-artifacts", "--artifacts-destination", str(root / "artifacts"),
    ]  # fmt: skip
    env = clean_env(MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false", HOME=str(root / "home"))
    server = start(cmd, root, env, url, "/health", root / "server.log")
    try:
        yield url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def train_module() -> ModuleType:
    """Chapter 6's train.py, imported the way the registration Job imports it."""
    return register.load_train_module(register.train_script())


@dataclass(frozen=True)
class Registered:
    """A registered model with a champion, on the test server."""

    url: str
    name: str
    version: str


@pytest.fixture(scope="module")
def champion(mlflow_server: str, train_module: ModuleType) -> Iterator[Registered]:
    """A fresh registered model whose champion the registration Job's code trained (version 1)."""
    import mlflow
    from mlflow.tracking import MlflowClient

    previous = os.environ.get("MLFLOW_TRACKING_URI")
    os.environ["MLFLOW_TRACKING_URI"] = mlflow_server
    mlflow.set_tracking_uri(mlflow_server)
    name = f"iris-{uuid.uuid4().hex[:8]}"
    client = MlflowClient(tracking_uri=mlflow_server, registry_uri=mlflow_server)
    got = register.ensure_champion(client, name, "champion", lambda: train_module)
    assert got.trained and got.version == "1"
    try:
        yield Registered(url=mlflow_server, name=name, version=got.version)
    finally:
        if previous is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = previous


def new_champion(reg: Registered, train_module: ModuleType, c: float) -> str:
    """Trains another version of reg.name and moves the champion alias to it; returns it."""
    import mlflow
    from mlflow.tracking import MlflowClient

    mlflow.set_tracking_uri(reg.url)
    version = str(
        train_module.train(model_name=reg.name, experiment="chapter-7-tests", c=c).model_version
    )
    MlflowClient(tracking_uri=reg.url, registry_uri=reg.url).set_registered_model_alias(
        reg.name, "champion", version
    )
    return version


@pytest.fixture(scope="module")
def app_url(champion: Registered, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`uvicorn --factory iris_serving.app:create_app` on a free loopback port, ready."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [
        sys.executable, "-m", "uvicorn", "--factory", "iris_serving.app:create_app",
        "--host", "127.0.0.1", "--port", str(port),
    ]  # fmt: skip
    env = clean_env(
        MLFLOW_TRACKING_URI=champion.url,
        MODEL_NAME=champion.name,
        MODEL_REFRESH_SECONDS=str(REFRESH_S),
        PYTHONPATH=str(SERVING),
    )
    tmp = tmp_path_factory.mktemp("serving")
    app: Process = start(cmd, SERVING, env, url, "/health", tmp / "uvicorn.log")
    try:
        yield url
    finally:
        app.stop()
