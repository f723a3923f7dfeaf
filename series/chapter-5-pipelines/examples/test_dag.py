"""Tests of chapter 5's example DAG (dags/ml_pipeline.py), in the Airflow venv:

    ~/.cache/mlops-series/venvs/airflow/bin/pytest series/chapter-5-pipelines/examples

* Airflow imports the DAG file without errors, and the DAG has the three tasks in order;
* the pipeline's logic (data, training, evaluation) gives the same, good result on every run;
* the copy of the DAG in values/airflow.yaml (what the chart ships in its ConfigMap) is the file,
  byte for byte;
* a DAGs folder laid out like a mounted ConfigMap (Kubernetes' hidden ..data folders) yields the
  DAG file once, thanks to the .airflowignore the chart adds.

The DAG run itself, by the real scheduler through the REST API, is tested in Go:
internal/check/airflow_test.go.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
from pathlib import Path
from types import ModuleType

import pytest
import yaml

HERE = Path(__file__).resolve().parent
DAGS = HERE / "dags"
DAG_FILE = DAGS / "ml_pipeline.py"
VALUES = HERE.parent / "values" / "airflow.yaml"
CHART_DAGS_CONFIGMAP = HERE.parents[2] / "charts" / "airflow" / "templates" / "configmap-dags.yaml"

# Airflow reads its configuration when first imported: give it a throwaway home with no examples.
_HOME = tempfile.mkdtemp(prefix="airflow-home-")
os.environ["AIRFLOW_HOME"] = _HOME
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(DAGS)
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_HOME}/airflow.db"


def _load_dag_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("chapter5_ml_pipeline", DAG_FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


pipeline = _load_dag_module()


def _dagbag(folder: Path):
    from airflow.dag_processing.dagbag import DagBag

    # The example DAGs stay out: AIRFLOW__CORE__LOAD_EXAMPLES is False above.
    return DagBag(dag_folder=str(folder))


def test_dag_imports_without_errors() -> None:
    bag = _dagbag(DAGS)
    assert bag.import_errors == {}
    assert list(bag.dag_ids) == ["ml_pipeline"]


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


def test_values_file_carries_the_dag_byte_for_byte() -> None:
    values = yaml.safe_load(VALUES.read_text(encoding="utf-8"))
    shipped = values["dags"]["ml_pipeline.py"]
    source = DAG_FILE.read_text(encoding="utf-8")
    assert shipped == source, (
        "values/airflow.yaml dags.ml_pipeline.py differs from examples/dags/ml_pipeline.py: "
        "copy the file into the values file again (indented by 4 spaces under `ml_pipeline.py: |`)"
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
