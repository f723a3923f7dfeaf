"""The training pod of chapter 5's iris_training pipeline (iris_serving/train_features.py) against a
real MLflow server: FEATURES built from load_iris as the pipeline's fetch_features task returns it
(Float32 values, as Feast serves them) trains a new version, which carries the Airflow run's tags
and becomes the champion; a missing or malformed FEATURES fails before MLflow is asked anything."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from types import ModuleType

import numpy as np
import pytest

from conftest import SERVING
from iris_serving import train_features
from iris_serving.train_features import FeaturesError, parse_features
from servers import SAMPLE_CLASSES, SAMPLES, clean_env

COLUMNS = ["sepal_length_cm", "sepal_width_cm", "petal_length_cm", "petal_width_cm"]


def iris_features() -> dict:
    """The 150 flowers in the shape fetch_features returns, with Feast's Float32 rounding."""
    from sklearn.datasets import load_iris

    x, y = load_iris(return_X_y=True)
    rows = [[float(np.float32(v)) for v in row] for row in x]
    return {
        "columns": COLUMNS,
        "rows": rows,
        "target": [int(t) for t in y],
        "source": "feast:iris_measurements",
    }


def run_train_features(url: str, features: str | None, **env: str) -> subprocess.CompletedProcess:
    extra = dict(env)
    if features is not None:
        extra["FEATURES"] = features
    return subprocess.run(
        [sys.executable, "-m", "iris_serving.train_features", "--wait-seconds", "10"],
        cwd=SERVING,
        env=clean_env(MLFLOW_TRACKING_URI=url, **extra),
        capture_output=True,
        text=True,
        timeout=300,
    )


def key_values(stdout: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in stdout.splitlines() if "=" in line)


def test_pod_trains_tags_and_promotes(mlflow_server: str, train_module: ModuleType) -> None:
    import mlflow
    from mlflow.tracking import MlflowClient

    mlflow.set_tracking_uri(mlflow_server)
    client = MlflowClient(tracking_uri=mlflow_server, registry_uri=mlflow_server)
    name = f"iris-{uuid.uuid4().hex[:8]}"
    # A champion already serves (version 1, chapter 6's own data), as after `up chapter-7`.
    first = train_module.train(model_name=name, experiment="chapter-7-tests")
    client.set_registered_model_alias(name, "champion", str(first.model_version))

    out = run_train_features(
        mlflow_server,
        json.dumps(iris_features()),
        MODEL_NAME=name,
        AIRFLOW_DAG_ID="iris_training",
        AIRFLOW_RUN_ID="manual__2027-02-01T00:00:00+00:00",
    )
    assert out.returncode == 0, out.stderr[-3000:]
    kv = key_values(out.stdout)
    assert set(kv) == {"run_id", "model_name", "model_version", "alias", "accuracy", "rows"}
    assert (kv["model_name"], kv["model_version"], kv["alias"], kv["rows"]) == (
        name,
        "2",
        "champion",
        "150",
    )
    assert 0.9 <= float(kv["accuracy"]) <= 1.0

    # The registry alone says which DAG run made the version, and the alias moved to it.
    version = client.get_model_version(name, "2")
    assert version.run_id == kv["run_id"]
    assert version.tags == {
        "airflow_dag_id": "iris_training",
        "airflow_run_id": "manual__2027-02-01T00:00:00+00:00",
    }
    assert client.get_model_version_by_alias(name, "champion").version == "2"
    found = client.search_model_versions(
        f"name = '{name}' and tags.airflow_run_id = 'manual__2027-02-01T00:00:00+00:00'"
    )
    assert [v.version for v in found] == ["2"]

    # The run: its experiment, where the rows came from, the Airflow run.
    run = client.get_run(kv["run_id"])
    assert client.get_experiment(run.info.experiment_id).name == "chapter-5-iris-training"
    assert run.data.tags["dataset"] == "feast:iris_measurements"
    assert run.data.tags["airflow_dag_id"] == "iris_training"
    assert run.data.tags["airflow_run_id"] == "manual__2027-02-01T00:00:00+00:00"
    assert run.data.params["train_rows"] == "112"

    # The champion predicts one flower of each species right.
    import pandas as pd

    model = mlflow.pyfunc.load_model(f"models:/{name}@champion")
    predicted = [int(p) for p in model.predict(pd.DataFrame(SAMPLES, columns=COLUMNS))]
    assert [SAMPLE_CLASSES[p] for p in predicted] == SAMPLE_CLASSES


def test_a_model_below_the_bar_keeps_the_old_champion(
    mlflow_server: str, train_module: ModuleType
) -> None:
    import mlflow
    from mlflow.tracking import MlflowClient

    mlflow.set_tracking_uri(mlflow_server)
    client = MlflowClient(tracking_uri=mlflow_server, registry_uri=mlflow_server)
    name = f"iris-{uuid.uuid4().hex[:8]}"
    features = iris_features()
    out = train_features.train_and_promote(
        client,
        train_module,
        parse_features(json.dumps(features), COLUMNS),
        name,
        "champion",
        dag_id="iris_training",
        run_id="r1",
    )
    assert out.model_version == "1"

    # Labels that have nothing to do with the measurements: accuracy near chance, below the bar.
    features["target"] = [i % 3 for i in range(len(features["rows"]))]
    with pytest.raises(RuntimeError, match="below 0.95: it stays registered"):
        train_features.train_and_promote(
            client,
            train_module,
            parse_features(json.dumps(features), COLUMNS),
            name,
            "champion",
            dag_id="iris_training",
            run_id="r2",
            min_accuracy=0.95,
        )
    assert client.get_model_version_by_alias(name, "champion").version == "1"
    assert client.get_model_version(name, "2").tags["airflow_run_id"] == "r2"


@pytest.mark.parametrize(
    ("features", "message"),
    [
        (None, "FEATURES is not set"),
        ("", "FEATURES is not set"),
        ("{not json", "FEATURES is not JSON"),
        ("[1, 2]", "FEATURES is a JSON list, want an object"),
        ('{"columns": []}', "FEATURES lacks rows, target"),
        (
            '{"columns": ["a"], "rows": [[1]], "target": [0]}',
            "FEATURES columns are ['a'], want ['sepal_length_cm'",
        ),
        (
            json.dumps({"columns": COLUMNS, "rows": [], "target": []}),
            "FEATURES rows: want a non-empty list",
        ),
        (
            json.dumps({"columns": COLUMNS, "rows": [[1, 2, 3, 4]], "target": [0, 1]}),
            "FEATURES has 1 rows but target has 2 entries",
        ),
        (
            json.dumps({"columns": COLUMNS, "rows": [[1, 2, 3]], "target": [0]}),
            "FEATURES row 0: [1, 2, 3], want 4 numbers",
        ),
        (
            json.dumps({"columns": COLUMNS, "rows": [[1, 2, 3, None]], "target": [0]}),
            "FEATURES row 0: [1, 2, 3, None], want 4 numbers",
        ),
        (
            json.dumps({"columns": COLUMNS, "rows": [[1, 2, 3, 4]], "target": ["setosa"]}),
            "FEATURES target 0: 'setosa', want an integer class",
        ),
    ],
)
def test_malformed_features_are_named(features: str | None, message: str) -> None:
    with pytest.raises(FeaturesError) as err:
        parse_features(features, COLUMNS)
    assert message in str(err.value)


def test_missing_features_fail_before_mlflow_is_asked() -> None:
    # Nothing listens on port 9: the pod must not wait for MLflow before it has rows to train on.
    out = run_train_features("http://127.0.0.1:9", None)
    assert out.returncode == 1
    assert "train_features: FEATURES is not set" in out.stderr
    assert "waiting for MLflow" not in out.stderr
    assert out.stdout == ""


def test_run_tags_leave_out_an_unknown_airflow_run() -> None:
    assert train_features.run_tags("feast:iris_measurements", "", "") == {
        "dataset": "feast:iris_measurements"
    }
    assert train_features.run_tags("s", "d", "r") == {
        "dataset": "s",
        "airflow_dag_id": "d",
        "airflow_run_id": "r",
    }
