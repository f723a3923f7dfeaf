"""The registration Job's script against a real MLflow server: a registered model without the alias
gets a newly trained champion, an existing champion is kept, and the script's own entry point
prints what it did."""

from __future__ import annotations

import subprocess
import sys
import uuid
from types import ModuleType

import pytest

from conftest import SERVING
from iris_serving import register
from servers import clean_env


def test_model_without_alias_gets_a_trained_champion(
    mlflow_server: str, train_module: ModuleType
) -> None:
    import mlflow
    from mlflow.tracking import MlflowClient

    mlflow.set_tracking_uri(mlflow_server)
    client = MlflowClient(tracking_uri=mlflow_server, registry_uri=mlflow_server)
    name = f"iris-{uuid.uuid4().hex[:8]}"
    # A registered model with a version but no alias (as chapter 6's train.py leaves it).
    train_module.train(model_name=name, experiment="chapter-7-tests")
    assert register.current_champion(client, name, "champion") is None

    first = register.ensure_champion(client, name, "champion", lambda: train_module)
    assert (first.version, first.trained) == ("2", True)
    assert client.get_model_version_by_alias(name, "champion").version == "2"

    def must_not_train() -> ModuleType:
        raise AssertionError("trained although a champion exists")

    again = register.ensure_champion(client, name, "champion", must_not_train)
    assert (again.version, again.trained) == ("2", False)

    # The Job's command line: prints what it found, changes nothing.
    kv = run_register(mlflow_server, name)
    assert kv == {"model_name": name, "alias": "champion", "model_version": "2", "trained": "false"}


def run_register(url: str, name: str, **env: str) -> dict[str, str]:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "iris_serving.register",
            "--model-name",
            name,
            "--wait-seconds",
            "10",
        ],
        cwd=SERVING,
        env=clean_env(MLFLOW_TRACKING_URI=url, **env),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)


def test_missing_training_script_is_named(mlflow_server: str) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "iris_serving.register",
            "--model-name",
            f"none-{uuid.uuid4().hex[:8]}",
        ],
        cwd=SERVING,
        env=clean_env(MLFLOW_TRACKING_URI=mlflow_server, TRAIN_SCRIPT="/nonexistent/train.py"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode != 0
    assert "chapter 6's training script is not at /nonexistent/train.py" in out.stderr


def test_waits_for_mlflow_then_gives_up() -> None:
    with pytest.raises(TimeoutError, match="not healthy"):
        register.wait_for_mlflow("http://127.0.0.1:9", timeout_s=0.5)
