"""Runs train.py against a real MLflow tracking server and checks what it recorded.

The server is `mlflow server` from the same Python environment, started the way the chart starts it
(one worker, proxied artifacts, background jobs off), with a SQLite file instead of PostgreSQL and a
temporary folder as the artifact store, on a free port of 127.0.0.1.

    ~/.cache/mlops-series/venvs/mlflow/bin/pytest series/chapter-6-model-registry/examples
"""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

HERE = Path(__file__).resolve().parent
TRAIN = HERE / "train.py"
# How long a server may take to answer. Generous: `make test` runs these suites beside the
# kind layer on 2 cores, where a server can get a small share of the CPUs for minutes.
STARTUP_TIMEOUT_S = 300.0
TRAIN_TIMEOUT_S = 300.0


def _load_train_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("chapter6_train", TRAIN)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


train = _load_train_module()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _log_tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the server and everything it spawned (it runs uvicorn in a child process)."""
    if proc.poll() is not None:
        return
    for sig, wait_s in ((signal.SIGTERM, 20.0), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait_s)
            return
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Starts `mlflow server` on a free port and yields its URL once GET /health answers OK."""
    root = tmp_path_factory.mktemp("mlflow-server")
    home = root / "home"
    home.mkdir()
    log_path = root / "server.log"
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [
        sys.executable, "-m", "mlflow", "server",
        "--host", "127.0.0.1",
        "--port", str(port),
        "--workers", "1",
        "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}",
        "--serve-artifacts",
        "--artifacts-destination", str(root / "artifacts"),
    ]  # fmt: skip
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")},
        # As in the chart: MLflow 3's GenAI job runner would start eight more Python processes.
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
        "HOME": str(home),
    }
    with log_path.open("wb") as log:
        # A new session (process group), so that teardown can stop uvicorn's worker too.
        proc = subprocess.Popen(
            cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"mlflow server exited with {proc.returncode}:\n{_log_tail(log_path)}"
                )
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as resp:
                    if resp.status == 200 and resp.read().strip() == b"OK":
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"mlflow server not healthy after {STARTUP_TIMEOUT_S:.0f}s:\n"
                    f"{_log_tail(log_path)}"
                )
            time.sleep(0.5)
        yield url
    finally:
        _stop(proc)


def _run_train(url: str, *args: str) -> dict[str, str]:
    """Runs train.py as a reader would and returns its key=value output lines."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env["MLFLOW_TRACKING_URI"] = url
    proc = subprocess.run(
        [sys.executable, str(TRAIN), *args],
        cwd=HERE,
        env=env,
        capture_output=True,
        text=True,
        timeout=TRAIN_TIMEOUT_S,
    )
    assert proc.returncode == 0, f"train.py failed:\n{proc.stdout}\n{proc.stderr[-4000:]}"
    out = dict(line.split("=", 1) for line in proc.stdout.splitlines() if "=" in line)
    for key in ("run_id", "model_name", "model_version", "model_uri", "accuracy"):
        assert key in out, f"train.py printed no {key}=...:\n{proc.stdout}"
    return out


def test_tracking_uri_defaults_to_port_forward(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert train.tracking_uri() == "http://127.0.0.1:5000"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow.mlflow:5000")
    assert train.tracking_uri() == "http://mlflow.mlflow:5000"


def test_parse_args_defaults() -> None:
    args = train.parse_args([])
    assert args.model_name == "iris-classifier"
    assert args.experiment == "chapter-6-iris"
    assert train.parse_args(["--model-name", "other"]).model_name == "other"


def test_load_data_names_the_feature_columns() -> None:
    """Callers that bring their own data (chapter 5's pipeline) use these names: they must stay."""
    features, target = train.load_data()
    assert list(features.columns) == train.FEATURE_COLUMNS
    assert (len(features), len(target)) == (150, 150)
    train.check_data(features, target)


def test_check_data_rejects_other_columns_and_lengths() -> None:
    features, target = train.load_data()
    with pytest.raises(ValueError, match="want \\['sepal_length_cm'"):
        train.check_data(features[list(reversed(train.FEATURE_COLUMNS))], target)
    with pytest.raises(ValueError, match="150 feature rows but 149 targets"):
        train.check_data(features, target.iloc[:149])


def test_train_registers_a_model_version(mlflow_server: str) -> None:
    import mlflow
    from mlflow.tracking import MlflowClient

    name = f"test-iris-{uuid.uuid4().hex[:8]}"
    first = _run_train(mlflow_server, "--model-name", name)
    assert first["model_name"] == name
    assert first["model_version"] == "1"
    assert first["model_uri"] == f"models:/{name}/1"

    client = MlflowClient(tracking_uri=mlflow_server, registry_uri=mlflow_server)

    # The registry holds version 1, made from exactly this run, and it is ready to load.
    version = client.get_model_version(name, "1")
    assert version.run_id == first["run_id"]
    assert version.status == "READY"

    # The run holds the parameters and a sane held-out accuracy (iris is easy: > 0.8).
    run = client.get_run(first["run_id"])
    assert run.info.status == "FINISHED"
    assert run.data.params["C"] == "1.0"
    assert run.data.params["model"] == "StandardScaler+LogisticRegression"
    accuracy = run.data.metrics["accuracy"]
    assert 0.8 <= accuracy <= 1.0
    assert abs(accuracy - float(first["accuracy"])) < 1e-4
    assert 0.8 <= run.data.metrics["f1_macro"] <= 1.0

    # The model comes back from the registry through the server's artifact proxy and predicts.
    mlflow.set_tracking_uri(mlflow_server)
    model = mlflow.pyfunc.load_model(first["model_uri"])
    features, target = train.load_data()
    sample = features.iloc[[0, 60, 120]]  # one flower of each species
    predicted = [int(p) for p in model.predict(sample)]
    assert predicted == [int(t) for t in target.iloc[[0, 60, 120]]]

    # The model's requirements are the flavour's, pinned to what trained it, and MLflow itself.
    import cloudpickle
    import sklearn

    req_file = mlflow.artifacts.download_artifacts(f"{first['model_uri']}/requirements.txt")
    requirements = Path(req_file).read_text().split()
    assert f"scikit-learn=={sklearn.__version__}" in requirements, requirements
    assert f"cloudpickle=={cloudpickle.__version__}" in requirements, requirements
    assert any(r.startswith("mlflow==") for r in requirements), requirements

    # Training again adds version 2 of the same registered model.
    second = _run_train(mlflow_server, "--model-name", name, "--c", "0.5")
    assert second["model_version"] == "2"
    assert second["run_id"] != first["run_id"]
    latest = max(int(v.version) for v in client.search_model_versions(f"name='{name}'"))
    assert latest == 2
