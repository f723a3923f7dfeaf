"""Tests of chapter 5's example DAGs (dags/ml_pipeline.py, dags/iris_training.py), in the Airflow venv:

    ~/.cache/mlops-series/venvs/airflow/bin/pytest series/chapter-5-pipelines/examples

* Airflow imports the DAG files without errors, and ml_pipeline has its three tasks in order;
* the pipeline's logic (data, training, evaluation) gives the same, good result on every run;
* iris_training: fetch_features' request is the feature server's, its parsing turns a canned Feast
  answer into training rows and names what is missing (no server needed), and train_register is a
  pod of chapter 7's image with the rows, MLflow's address and the run in its environment, sized
  and secured as the chart's footprint annotation and the image's user say;
* the copies of the DAGs in values/airflow.yaml (what the chart ships in its ConfigMap) are the
  files, byte for byte;
* a DAGs folder laid out like a mounted ConfigMap (Kubernetes' hidden ..data folders) yields the
  DAG file once, thanks to the .airflowignore the chart adds.

The DAG runs themselves, by the real scheduler through the REST API, are tested in Go:
internal/check/airflow_test.go (ml_pipeline); iris_training's pod needs a cluster (`check path`).
"""

from __future__ import annotations

import copy
import http.server
import importlib.util
import json
import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
import yaml

HERE = Path(__file__).resolve().parent
DAGS = HERE / "dags"
DAG_FILE = DAGS / "ml_pipeline.py"
IRIS_DAG_FILE = DAGS / "iris_training.py"
VALUES = HERE.parent / "values" / "airflow.yaml"
CHART_DAGS_CONFIGMAP = HERE.parents[2] / "charts" / "airflow" / "templates" / "configmap-dags.yaml"

# Airflow reads its configuration when first imported: give it a throwaway home with no examples.
_HOME = tempfile.mkdtemp(prefix="airflow-home-")
os.environ["AIRFLOW_HOME"] = _HOME
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(DAGS)
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_HOME}/airflow.db"


def _load_dag_module(path: Path = DAG_FILE, name: str = "chapter5_ml_pipeline") -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


pipeline = _load_dag_module()
iris = _load_dag_module(IRIS_DAG_FILE, "chapter5_iris_training")


def _dagbag(folder: Path):
    from airflow.dag_processing.dagbag import DagBag

    # The example DAGs stay out: AIRFLOW__CORE__LOAD_EXAMPLES is False above.
    return DagBag(dag_folder=str(folder))


def test_dags_import_without_errors() -> None:
    bag = _dagbag(DAGS)
    assert bag.import_errors == {}
    assert sorted(bag.dag_ids) == ["iris_training", "ml_pipeline"]


def test_dag_has_three_tasks_in_order() -> None:
    dag = _dagbag(DAGS).dags["ml_pipeline"]
    assert dag is not None
    assert dag.schedule is None or str(dag.timetable.summary) in ("None", "Never, external triggers only")
    assert dag.catchup is False
    assert [t.task_id for t in dag.topological_sort()] == ["prepare_data", "train", "evaluate"]
    assert dag.get_task("prepare_data").upstream_task_ids == set()
    assert dag.get_task("train").upstream_task_ids == {"prepare_data"}
    assert dag.get_task("evaluate").upstream_task_ids == {"prepare_data", "train"}
    assert set(dag.tags) == {"mlops-series", "chapter-5"}


def test_dataset_is_deterministic_and_balanced() -> None:
    first, second = pipeline.make_dataset(), pipeline.make_dataset()
    assert first == second
    assert len(first) == pipeline.ROWS
    assert sum(r[2] for r in first) == pipeline.ROWS / 2
    train_rows, test_rows = pipeline.split(first)
    assert (len(train_rows), len(test_rows)) == (150, 50)
    assert train_rows + test_rows == first


def test_tasks_logic_end_to_end() -> None:
    """The three task bodies, called as Airflow calls them, with the XCom values passed along."""
    dag = _dagbag(DAGS).dags["ml_pipeline"]
    prepare = dag.get_task("prepare_data").python_callable
    train = dag.get_task("train").python_callable
    evaluate = dag.get_task("evaluate").python_callable

    data = prepare()
    assert set(data) == {"train", "test"}
    model = train(data)
    assert set(model) >= {"weights", "bias", "train_accuracy"}
    assert model["weights"][0] > 0 and model["weights"][1] > 0  # class 1 lies up and right
    metrics = evaluate(model, data)
    assert metrics["test_accuracy"] == pytest.approx(0.9)
    assert metrics["train_accuracy"] == pytest.approx(0.92)
    # The same numbers on every run: nothing random is left unseeded.
    assert train(prepare()) == model


def test_evaluate_rejects_a_bad_model() -> None:
    dag = _dagbag(DAGS).dags["ml_pipeline"]
    evaluate = dag.get_task("evaluate").python_callable
    data = {"train": [], "test": pipeline.split(pipeline.make_dataset())[1]}
    # A model that points the wrong way gets (almost) every test row wrong.
    backwards = {"weights": [-2.0, -2.0], "bias": 0.0, "train_accuracy": 0.0}
    with pytest.raises(ValueError, match="model rejected"):
        evaluate(backwards, data)


@pytest.mark.parametrize("name", ["ml_pipeline.py", "iris_training.py"])
def test_values_file_carries_the_dag_byte_for_byte(name: str) -> None:
    values = yaml.safe_load(VALUES.read_text(encoding="utf-8"))
    shipped = values["dags"][name]
    source = (DAGS / name).read_text(encoding="utf-8")
    assert shipped == source, (
        f"values/airflow.yaml dags.{name} differs from examples/dags/{name}: "
        f"copy the file into the values file again (indented by 4 spaces under `{name}: |`)"
    )
    assert sorted(values["dags"]) == sorted(p.name for p in DAGS.glob("*.py"))


def test_configmap_layout_yields_each_dag_once(tmp_path: Path) -> None:
    """A ConfigMap volume holds the files in a hidden, timestamped folder that a ..data symlink
    points at, and top-level symlinks to ..data/<file>. Airflow walks symlinked folders, so without
    an .airflowignore it would find every DAG three times (and stop at the "recursive loop" check)."""
    import re

    from airflow.utils.file import list_py_file_paths

    # The .airflowignore the chart writes into the ConfigMap.
    template = CHART_DAGS_CONFIGMAP.read_text(encoding="utf-8")
    match = re.search(r"\.airflowignore: \|\n((?:    .*\n)+)", template)
    assert match, f"no .airflowignore block in {CHART_DAGS_CONFIGMAP}"
    airflowignore = "".join(line[4:] + "\n" for line in match.group(1).splitlines())

    stamped = tmp_path / "..2026_01_01_00_00_00.000000001"
    stamped.mkdir()
    (stamped / "ml_pipeline.py").write_bytes(DAG_FILE.read_bytes())
    (stamped / ".airflowignore").write_text(airflowignore)
    (tmp_path / "..data").symlink_to(stamped.name)
    for name in ("ml_pipeline.py", ".airflowignore"):
        (tmp_path / name).symlink_to(f"..data/{name}")

    found = list_py_file_paths(str(tmp_path))
    assert found == [str(tmp_path / "ml_pipeline.py")]
    bag = _dagbag(tmp_path)
    assert bag.import_errors == {}
    assert list(bag.dag_ids) == ["ml_pipeline"]


# --- iris_training -------------------------------------------------------------------------------

IRIS_COLUMNS = ["sepal_length_cm", "sepal_width_cm", "petal_length_cm", "petal_width_cm"]
# Rows 0, 50 and 100 of load_iris() with Feast's Float32 values, as the feature server answers them.
IRIS_ROWS = {
    0: ([5.099999904632568, 3.5, 1.399999976158142, 0.20000000298023224], 0),
    50: ([7.0, 3.200000047683716, 4.699999809265137, 1.399999976158142], 1),
    100: ([6.300000190734863, 3.299999952316284, 6.0, 2.5], 2),
}


def feast_answer(ids: list[int], full_names: bool = False) -> dict:
    """A /get-online-features answer as Feast 0.66 writes it: the join key first, then one column
    per feature, each with a value, a status and an event time per entity."""
    stamp = "2027-02-01T00:00:00Z"
    names = ["iris_id"] + [
        f"iris_measurements__{c}" if full_names else c for c in [*IRIS_COLUMNS, "species"]
    ]
    results = [{"values": list(ids), "statuses": ["PRESENT"] * len(ids), "event_timestamps": [stamp] * len(ids)}]
    for j in range(5):
        values = [IRIS_ROWS[i][0][j] if j < 4 else IRIS_ROWS[i][1] for i in ids]
        results.append({"values": values, "statuses": ["PRESENT"] * len(ids), "event_timestamps": [stamp] * len(ids)})
    return {"metadata": {"feature_names": names}, "results": results}


def test_fetch_features_asks_for_every_flower() -> None:
    assert iris.online_features_request() == {
        "features": [
            "iris_measurements:sepal_length_cm",
            "iris_measurements:sepal_width_cm",
            "iris_measurements:petal_length_cm",
            "iris_measurements:petal_width_cm",
            "iris_measurements:species",
        ],
        "entities": {"iris_id": list(range(150))},
    }


@pytest.mark.parametrize("full_names", [False, True])
def test_feast_answer_becomes_training_rows(full_names: bool) -> None:
    ids = [0, 50, 100]
    got = iris.parse_online_features(feast_answer(ids, full_names), ids)
    assert got == {
        "columns": IRIS_COLUMNS,
        "rows": [IRIS_ROWS[i][0] for i in ids],
        "target": [0, 1, 2],
        "source": "feast:iris_measurements",
    }
    # What the task returns is its XCom: it must survive JSON.
    assert json.loads(json.dumps(got)) == got


def test_feast_answer_in_the_servers_column_order() -> None:
    """The server orders the columns its own way: they are found by name, not by position."""
    ids = [0, 50, 100]
    answer = feast_answer(ids)
    order = [0, 5, 3, 1, 4, 2]
    answer["metadata"]["feature_names"] = [answer["metadata"]["feature_names"][k] for k in order]
    answer["results"] = [answer["results"][k] for k in order]
    assert iris.parse_online_features(answer, ids)["target"] == [0, 1, 2]


def test_feast_answer_with_values_not_present_is_refused() -> None:
    ids = [0, 50, 100]
    answer = feast_answer(ids)
    answer["results"][1]["statuses"][2] = "NOT_FOUND"
    answer["results"][1]["values"][2] = None
    # Feast's Redis store says PRESENT with a null value for an entity it has no row for.
    answer["results"][5]["values"][0] = None
    with pytest.raises(ValueError) as err:
        iris.parse_online_features(answer, ids)
    msg = str(err.value)
    assert msg.startswith("2 feature values are not PRESENT: ")
    assert "iris_id 100 sepal_length_cm: NOT_FOUND None" in msg
    assert "iris_id 0 species: PRESENT None" in msg
    assert "Were chapter 8's iris features applied and materialized?" in msg


def test_feast_answer_with_missing_rows_or_columns_is_refused() -> None:
    ids = [0, 50, 100]
    short = feast_answer(ids)
    for col in short["results"]:
        col["values"], col["statuses"] = col["values"][:2], col["statuses"][:2]
    with pytest.raises(ValueError, match="2 values and 2 statuses for 3 flowers: rows are missing"):
        iris.parse_online_features(short, ids)

    no_species = feast_answer(ids)
    no_species["metadata"]["feature_names"].pop()
    no_species["results"].pop()
    with pytest.raises(ValueError, match="feature iris_measurements:species is not in the answer"):
        iris.parse_online_features(no_species, ids)

    with pytest.raises(ValueError, match="lacks metadata.feature_names or results"):
        iris.parse_online_features({"detail": "Feature view iris_measurements does not exist"}, ids)

    others = feast_answer(ids)
    others["results"][0]["values"] = [1, 2, 3]
    with pytest.raises(ValueError, match="answered for iris_id"):
        iris.parse_online_features(others, ids)


class _FeastStub(http.server.BaseHTTPRequestHandler):
    """A feature server that answers every POST with the class's status and body."""

    status = 200
    body: dict = {}
    requests: list[tuple[str, dict]] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        length = int(self.headers["Content-Length"])
        type(self).requests.append((self.path, json.loads(self.rfile.read(length))))
        data = json.dumps(self.body).encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def feast_stub() -> Iterator[tuple[str, type[_FeastStub]]]:
    handler = type("Stub", (_FeastStub,), {"requests": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", handler
    finally:
        server.shutdown()
        server.server_close()


def test_fetch_online_features_over_http(feast_stub: tuple[str, type[_FeastStub]]) -> None:
    url, stub = feast_stub
    stub.body = feast_answer([0, 50, 100])
    got = iris.fetch_online_features(url, [0, 50, 100])
    assert got["target"] == [0, 1, 2]
    assert stub.requests == [("/get-online-features", iris.online_features_request([0, 50, 100]))]

    stub.status, stub.body = 500, {"detail": "boom"}
    with pytest.raises(RuntimeError, match=r"POST http://127\.0\.0\.1:\d+/get-online-features: 500 .*boom"):
        iris.fetch_online_features(url, [0])


def test_fetch_online_features_names_an_unreachable_server() -> None:
    with pytest.raises(RuntimeError, match="is chapter 8's feature server up"):
        iris.fetch_online_features("http://127.0.0.1:9", [0])


def test_iris_training_runs_fetch_then_the_pod() -> None:
    dag = _dagbag(DAGS).dags["iris_training"]
    assert dag.schedule is None or str(dag.timetable.summary) in ("None", "Never, external triggers only")
    assert dag.catchup is False
    assert dag.max_active_runs == 1
    assert [t.task_id for t in dag.topological_sort()] == ["fetch_features", "train_register"]
    assert dag.get_task("train_register").upstream_task_ids == {"fetch_features"}
    assert {"mlops-series", "chapter-5"} <= set(dag.tags)


def test_train_register_is_the_training_pod() -> None:
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

    op = copy.deepcopy(_dagbag(DAGS).dags["iris_training"].get_task("train_register"))
    assert isinstance(op, KubernetesPodOperator)
    assert op.image == "mlops-series.local/serving:0.1.0"
    assert op.image_pull_policy == "IfNotPresent"
    assert op.cmds == ["python", "-m", "iris_serving.train_features"]
    assert op.in_cluster is True
    assert op.get_logs is True
    assert op.do_xcom_push is False
    assert op.on_finish_action.value == "delete_pod"
    assert op.namespace is None  # the scheduler's own namespace (its ServiceAccount's)
    assert "env_vars" in op.template_fields
    env = {e.name: e.value for e in iris_env(op)}
    assert env == {
        "FEATURES": "{{ ti.xcom_pull(task_ids='fetch_features') | tojson }}",
        "MLFLOW_TRACKING_URI": "http://mlflow.mlflow.svc.cluster.local:5000",
        "AIRFLOW_DAG_ID": "{{ dag.dag_id }}",
        "AIRFLOW_RUN_ID": "{{ run_id }}",
    }

    pod = op.build_pod_request_obj(dry_run=True)
    spec = pod.spec
    (container,) = spec.containers
    assert container.image == "mlops-series.local/serving:0.1.0"
    assert container.resources.requests == {"cpu": "25m", "memory": "256Mi"}
    assert container.resources.limits == {"cpu": "1", "memory": "1Gi"}
    assert (spec.security_context.run_as_user, spec.security_context.run_as_non_root) == (10001, True)
    assert container.security_context.read_only_root_filesystem is True
    assert container.security_context.allow_privilege_escalation is False
    assert [(m.name, m.mount_path) for m in container.volume_mounts] == [("tmp", "/tmp")]
    assert spec.automount_service_account_token is False
    assert not spec.init_containers and len(spec.containers) == 1  # no XCom sidecar


def iris_env(op) -> list:
    from airflow.providers.cncf.kubernetes.backcompat.backwards_compat_converters import (
        convert_env_vars,
    )

    return convert_env_vars(op.env_vars) if isinstance(op.env_vars, dict) else op.env_vars


def test_features_template_renders_the_xcom_as_json() -> None:
    """FEATURES is rendered when the task starts: the Jinja filter tojson must give the training
    pod JSON it parses back into exactly what fetch_features returned."""
    dag = _dagbag(DAGS).dags["iris_training"]
    features = iris.parse_online_features(feast_answer([0, 50, 100]), [0, 50, 100])

    class TI:
        def xcom_pull(self, task_ids: str) -> dict:
            assert task_ids == "fetch_features"
            return features

    rendered = dag.get_template_env().from_string(
        "{{ ti.xcom_pull(task_ids='fetch_features') | tojson }}"
    ).render(ti=TI())
    assert json.loads(rendered) == features


def test_values_describe_the_training_pod() -> None:
    """The chart counts the pod for `mlops-series footprint` (podLauncher.spawns) and gives the
    scheduler the servers' addresses (extraEnv): both must say what the DAG does."""
    values = yaml.safe_load(VALUES.read_text(encoding="utf-8"))
    launcher = values["podLauncher"]
    assert launcher["enabled"] is True
    assert launcher["spawns"] == {
        "image": iris.TRAINING_IMAGE,
        "cpu": iris.POD_REQUESTS["cpu"],
        "memory": iris.POD_REQUESTS["memory"],
        "memoryLimit": iris.POD_LIMITS["memory"],
        "optional": True,
    }
    env = {e["name"]: e["value"] for e in values["extraEnv"]}
    assert env["FEAST_URL"] == "http://feast.feast.svc.cluster.local:6566"
    assert env["MLFLOW_URL"] == "http://mlflow.mlflow.svc.cluster.local:5000"
    # With nothing in the environment (as here), the DAG falls back to the same addresses.
    assert (iris.FEAST_URL, iris.MLFLOW_URL) == (env["FEAST_URL"], env["MLFLOW_URL"])
