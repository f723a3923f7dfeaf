"""Helpers of chapter 7's tests: free loopback ports, starting a server process and waiting for it,
and the iris samples the tests send."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

# How long a server may take to answer. Generous: `make test` runs these suites beside the
# kind layer on 2 cores, where a server can get a small share of the CPUs for minutes.
STARTUP_TIMEOUT_S = 300.0

# One flower of each species (rows 0, 60 and 120 of the iris data) and their classes.
SAMPLES = [
    {"sepal_length_cm": 5.1, "sepal_width_cm": 3.5, "petal_length_cm": 1.4, "petal_width_cm": 0.2},
    {"sepal_length_cm": 5.0, "sepal_width_cm": 2.0, "petal_length_cm": 3.5, "petal_width_cm": 1.0},
    {"sepal_length_cm": 6.9, "sepal_width_cm": 3.2, "petal_length_cm": 5.7, "petal_width_cm": 2.3},
]
SAMPLE_CLASSES = ["setosa", "versicolor", "virginica"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def log_tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without the caller's MLFLOW_* settings, plus extra."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env.update({"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"})
    env.update(extra)
    return env


@dataclass
class Process:
    """A server started by a test, in its own process group."""

    proc: subprocess.Popen[bytes]
    url: str
    log: Path

    def stop(self) -> None:
        if self.proc.poll() is not None:
            return
        for sig, wait_s in ((signal.SIGTERM, 20.0), (signal.SIGKILL, 10.0)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.proc.wait(timeout=wait_s)
                return
            except subprocess.TimeoutExpired:
                continue


def start(
    cmd: list[str], cwd: Path, env: Mapping[str, str], url: str, ready: str, log_path: Path
) -> Process:
    """Starts cmd and waits until GET url+ready answers 200; fails the test with the log if not."""
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            cmd, cwd=cwd, env=dict(env), stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    p = Process(proc, url, log_path)
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while True:
        if proc.poll() is not None:
            pytest.fail(f"{cmd[2:4]} exited with {proc.returncode}:\n{log_tail(log_path)}")
        try:
            with urllib.request.urlopen(url + ready, timeout=2) as resp:
                if resp.status == 200:
                    return p
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            p.stop()
            pytest.fail(
                f"{url}{ready} not ready after {STARTUP_TIMEOUT_S:.0f}s:\n{log_tail(log_path)}"
            )
        time.sleep(0.3)
