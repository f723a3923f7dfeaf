"""The kernel checks (checks/*.py), run the way the CLI runs them: the file's text as one
execute_request to a real ipykernel, the result read from the kernel's stdout."""

from __future__ import annotations

import contextlib
import io
import platform
from collections.abc import Callable
from pathlib import Path

import sklearn
from conftest import RESULT_PREFIX, Kernel, clean_env, result_lines
from mlflow.tracking import MlflowClient

CHECKS = Path(__file__).resolve().parent
COMPUTE = (CHECKS / "kernel_compute.py").read_text()
MLFLOW = (CHECKS / "kernel_mlflow.py").read_text()
LEFTOVERS = "print(sorted(k for k in globals() if k.startswith('_mlops_series')))"


def only_result(stdout: str) -> dict[str, object]:
    """The single MLOPS_SERIES_RESULT object; the check prints nothing else on stdout."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(RESULT_PREFIX), stdout
    (result,) = result_lines(stdout)
    return result


def test_compute_in_a_kernel(kernel: Callable[..., Kernel]) -> None:
    k = kernel(clean_env())
    run = k.execute(COMPUTE)
    assert run.status == "ok", run.error
    result = only_result(run.stdout)
    assert set(result) == {"python", "sklearn", "accuracy"}
    assert result["python"] == platform.python_version()
    assert result["sklearn"] == sklearn.__version__
    assert isinstance(result["accuracy"], float) and result["accuracy"] >= 0.9
    # The cell leaves no names behind in the reader's namespace, and gives the same answer again.
    assert k.execute(LEFTOVERS).stdout.strip() == "[]"
    assert only_result(k.execute(COMPUTE).stdout) == result


def test_compute_exec_without_file() -> None:
    """exec of the text alone (no __file__, no __main__ guard) prints the same result."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(COMPUTE, "<cell>", "exec"), {"__name__": "__main__"})  # noqa: S102
    result = only_result(out.getvalue())
    assert result["sklearn"] == sklearn.__version__ and result["accuracy"] >= 0.9


def test_mlflow_in_a_kernel(kernel: Callable[..., Kernel], mlflow_server: str) -> None:
    k = kernel(clean_env(MLFLOW_TRACKING_URI=mlflow_server))
    client = MlflowClient(tracking_uri=mlflow_server)
    seen: set[str] = set()
    # Twice: the first run creates the experiment, the second finds it.
    for _ in range(2):
        run = k.execute(MLFLOW)
        assert run.status == "ok", run.error
        result = only_result(run.stdout)
        assert set(result) == {"run_id", "experiment_id", "experiment", "accuracy"}
        assert result["experiment"] == "chapter-3-notebook-check"
        got = client.get_run(str(result["run_id"]))
        assert got.info.experiment_id == result["experiment_id"]
        assert got.info.status == "FINISHED"
        assert got.data.params == {"C": "1.0"}
        assert got.data.metrics == {"accuracy": result["accuracy"]}
        assert isinstance(result["accuracy"], float) and result["accuracy"] >= 0.9
        seen.add(str(result["run_id"]))
    exp = client.get_experiment_by_name("chapter-3-notebook-check")
    assert exp is not None
    runs = client.search_runs([exp.experiment_id])
    assert {r.info.run_id for r in runs} == seen and len(seen) == 2
    assert k.execute(LEFTOVERS).stdout.strip() == "[]"


def test_mlflow_without_tracking_uri(kernel: Callable[..., Kernel]) -> None:
    run = kernel(clean_env()).execute(MLFLOW)
    assert run.status == "error"
    assert "MLFLOW_TRACKING_URI" in run.error.get("evalue", "")
    assert result_lines(run.stdout) == []
