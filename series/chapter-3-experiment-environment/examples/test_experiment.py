"""experiment.ipynb, executed cell by cell in a real kernel (nbclient, as JupyterLab's "Run All"),
with a temporary HOME: without MLFLOW_TRACKING_URI it writes only TensorBoard runs; with it, it also
records the run and the model in the test's MLflow server."""

from __future__ import annotations

from pathlib import Path

import nbformat
import numpy as np
from conftest import clean_env
from mlflow.tracking import MlflowClient
from nbclient import NotebookClient
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

NOTEBOOK = Path(__file__).resolve().parent / "experiment.ipynb"
TAGS = ["eval/accuracy", "train/accuracy", "train/loss"]


def run_notebook(tmp_path: Path, **env: str) -> tuple[Path, str]:
    """Executes the notebook with HOME=tmp_path/home; returns the home and the cells' stdout."""
    home = tmp_path / "home"
    home.mkdir()
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute(env=clean_env(HOME=str(home), **env))
    stdout = "".join(
        out.get("text", "")
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.outputs
        if out.get("output_type") == "stream" and out.get("name") == "stdout"
    )
    return home, stdout


def the_run(home: Path) -> EventAccumulator:
    runs = list((home / "work" / "runs").iterdir())
    assert len(runs) == 1, runs
    acc = EventAccumulator(str(runs[0]))
    acc.Reload()
    return acc


def test_without_mlflow(tmp_path: Path) -> None:
    home, stdout = run_notebook(tmp_path)
    assert "MLFLOW_TRACKING_URI is not set" in stdout
    acc = the_run(home)
    assert sorted(acc.Tags()["scalars"]) == TAGS
    assert [len(acc.Scalars(t)) for t in TAGS] == [20, 20, 20]


def test_with_mlflow(tmp_path: Path, mlflow_server: str) -> None:
    import mlflow.pyfunc

    home, stdout = run_notebook(tmp_path, MLFLOW_TRACKING_URI=mlflow_server)
    assert "in experiment chapter-3-notebook" in stdout, stdout
    assert len(the_run(home).Scalars("eval/accuracy")) == 20

    client = MlflowClient(tracking_uri=mlflow_server)
    exp = client.get_experiment_by_name("chapter-3-notebook")
    assert exp is not None
    (run,) = client.search_runs([exp.experiment_id])
    assert run.info.status == "FINISHED"
    assert run.data.params == {"alpha": "0.001", "epochs": "20", "seed": "7"}
    assert len(client.get_metric_history(run.info.run_id, "eval_accuracy")) == 20
    (model,) = client.search_logged_models(experiment_ids=[exp.experiment_id])
    assert model.source_run_id == run.info.run_id
    # The model went through the server's artifact proxy and predicts from raw features.
    mlflow.set_tracking_uri(mlflow_server)
    loaded = mlflow.pyfunc.load_model(model.model_uri)
    setosa = np.array([[5.1, 3.5, 1.4, 0.2]])
    assert list(loaded.predict(setosa)) == [0]
