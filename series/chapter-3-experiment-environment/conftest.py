"""Shared fixtures of chapter 3's tests: a real MLflow tracking server and a real Python kernel.

The server is `mlflow server` from the venv that runs the tests (hack/venvs/jupyter.txt: chapter 6's
MLflow version) with SQLite and proxied artifacts in a temporary folder, on a free port of
127.0.0.1. The kernel is ipykernel, started and driven with jupyter_client over the Jupyter kernel
protocol: code goes in as one execute_request and its stdout comes back as stream messages, which is
how the CLI's kernel check runs the files in checks/.

    ~/.cache/mlops-series/venvs/jupyter/bin/python -m pytest series/chapter-3-experiment-environment
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHAPTER = Path(__file__).resolve().parent
RESULT_PREFIX = "MLOPS_SERIES_RESULT "
# How long a server may take to answer. Generous: `make test` runs these suites beside the
# kind layer on 2 cores, where a server can get a small share of the CPUs for minutes.
STARTUP_TIMEOUT_S = 300.0
KERNEL_TIMEOUT_S = 180.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without the caller's MLFLOW_* settings, plus extra."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env.update({"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"})
    env.update(extra)
    return env


def result_lines(stdout: str) -> list[dict[str, Any]]:
    """The JSON objects of the MLOPS_SERIES_RESULT lines in stdout."""
    return [
        json.loads(line[len(RESULT_PREFIX) :])
        for line in stdout.splitlines()
        if line.startswith(RESULT_PREFIX)
    ]


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
    log_path = root / "server.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"mlflow server exited with {proc.returncode}:\n{tail(log_path)}")
            try:
                with urllib.request.urlopen(url + "/health", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"mlflow server not ready after {STARTUP_TIMEOUT_S:.0f}s:\n{tail(log_path)}"
                )
            time.sleep(0.3)
        yield url
    finally:
        stop(proc)


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stops the process group of proc: SIGTERM, then SIGKILL."""
    for sig, wait_s in ((signal.SIGTERM, 20.0), (signal.SIGKILL, 10.0)):
        if proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            continue


@dataclass
class KernelRun:
    """What one execute_request gave: the reply's status, the streams, the error if any."""

    status: str
    stdout: str
    stderr: str
    error: dict[str, Any] = field(default_factory=dict)


class Kernel:
    """A running ipykernel (the venv's python3 kernel) and a blocking client of it."""

    def __init__(self, env: Mapping[str, str], cwd: Path) -> None:
        from jupyter_client.manager import KernelManager

        self.km = KernelManager(kernel_name="python3")
        self.km.start_kernel(env=dict(env), cwd=str(cwd))
        self.kc = self.km.client()
        self.kc.start_channels()
        try:
            self.kc.wait_for_ready(timeout=60)
        except BaseException:
            self.close()
            raise

    def execute(self, code: str, timeout: float = KERNEL_TIMEOUT_S) -> KernelRun:
        out: list[str] = []
        err: list[str] = []
        error: dict[str, Any] = {}

        def hook(msg: dict[str, Any]) -> None:
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                (out if content["name"] == "stdout" else err).append(content["text"])
            elif kind == "error":
                error.update(content)

        reply = self.kc.execute_interactive(
            code, output_hook=hook, timeout=timeout, store_history=False
        )
        content = reply["content"]
        if content["status"] == "error" and not error:
            error.update(content)
        return KernelRun(content["status"], "".join(out), "".join(err), error)

    def close(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


@pytest.fixture
def kernel(tmp_path: Path) -> Iterator[Callable[..., Kernel]]:
    """Starts kernels (kernel(env) -> Kernel, cwd a temporary folder) and shuts them down after."""
    started: list[Kernel] = []

    def start(env: Mapping[str, str]) -> Kernel:
        k = Kernel(env, tmp_path)
        started.append(k)
        return k

    try:
        yield start
    finally:
        for k in started:
            k.close()
