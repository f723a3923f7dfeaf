"""tensorboard_example.py, run as the chapter's Job runs it, and its events read back with
TensorBoard's own reader (the EventAccumulator that the server's scalars plugin uses)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from conftest import clean_env
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

SCRIPT = Path(__file__).resolve().parent / "tensorboard_example.py"
TAGS = ["eval/accuracy", "train/accuracy", "train/loss"]


def run_example(logdir: Path, *args: str) -> str:
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--logdir", str(logdir), *args],
        env=clean_env(), capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def read_run(run_dir: Path) -> EventAccumulator:
    acc = EventAccumulator(str(run_dir))
    acc.Reload()
    return acc


def test_writes_the_run(tmp_path: Path) -> None:
    out = run_example(tmp_path, "--epochs", "30")
    m = re.fullmatch(r"run=iris-sgd epochs=30 accuracy=(\d\.\d{4})", out.strip().splitlines()[-1])
    assert m, out
    assert float(m.group(1)) >= 0.8
    assert [p.name for p in tmp_path.iterdir()] == ["iris-sgd"]
    acc = read_run(tmp_path / "iris-sgd")
    assert sorted(acc.Tags()["scalars"]) == TAGS
    for tag in TAGS:
        assert [e.step for e in acc.Scalars(tag)] == list(range(1, 31)), tag
    loss = [e.value for e in acc.Scalars("train/loss")]
    assert loss[-1] < loss[0]
    assert round(acc.Scalars("eval/accuracy")[-1].value, 4) == float(m.group(1))


def test_rerun_replaces_the_run(tmp_path: Path) -> None:
    first = run_example(tmp_path, "--epochs", "5")
    (tmp_path / "iris-sgd" / "stale.txt").write_text("from an earlier attempt")
    second = run_example(tmp_path, "--epochs", "5")
    assert first.splitlines()[-1] == second.splitlines()[-1]  # fixed seed: the same result
    files = sorted(p.name for p in (tmp_path / "iris-sgd").iterdir())
    assert len(files) == 1 and files[0].startswith("events.out.tfevents."), files
    acc = read_run(tmp_path / "iris-sgd")
    assert [len(acc.Scalars(tag)) for tag in TAGS] == [5, 5, 5]
