"""push_metrics.py against a real Pushgateway and a real Prometheus (Debian's packages, started
here on free ports; `bash hack/install-debian.sh` installs them). Without them the test is skipped,
or fails under CI=true."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

import push_metrics

BINARIES = {"prometheus": "prometheus", "pushgateway": "prometheus-pushgateway"}


def _binary(name: str) -> str:
    path = shutil.which(BINARIES[name])
    if path is None:
        msg = f"{BINARIES[name]} not found: run `bash hack/install-debian.sh`"
        if os.environ.get("CI", "").lower() in ("1", "true"):
            pytest.fail(msg + "; CI=true, so this is a failure, not a skip")
        pytest.skip(msg)
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(argv: list[str], ready_url: str, log: Path) -> subprocess.Popen:
    proc = subprocess.Popen(argv, stdout=log.open("w"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{argv[0]} exited:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(ready_url, timeout=2) as resp:
                if resp.status == 200:
                    return proc
        except OSError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"{argv[0]} not ready:\n{log.read_text()}")


@pytest.fixture
def stack(tmp_path):
    pg_bin, prom_bin = _binary("pushgateway"), _binary("prometheus")
    pg_port, prom_port = _free_port(), _free_port()
    procs = []
    try:
        procs.append(_start([pg_bin, f"--web.listen-address=127.0.0.1:{pg_port}"],
                            f"http://127.0.0.1:{pg_port}/-/ready", tmp_path / "pushgateway.log"))
        # The scrape job of charts/prometheus, with a 1s interval instead of 30s.
        (tmp_path / "prometheus.yml").write_text(
            "global: {scrape_interval: 1s, scrape_timeout: 1s}\n"
            "scrape_configs:\n"
            "  - job_name: pushgateway\n"
            "    honor_labels: true\n"
            f"    static_configs: [{{targets: ['127.0.0.1:{pg_port}']}}]\n")
        procs.append(_start([prom_bin, f"--config.file={tmp_path / 'prometheus.yml'}",
                             f"--storage.tsdb.path={tmp_path / 'data'}",
                             f"--web.listen-address=127.0.0.1:{prom_port}"],
                            f"http://127.0.0.1:{prom_port}/-/ready", tmp_path / "prometheus.log"))
        yield f"http://127.0.0.1:{pg_port}", f"http://127.0.0.1:{prom_port}"
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)


def test_pushed_metrics_reach_prometheus(stack, capsys):
    pushgateway, prometheus = stack
    assert push_metrics.main(["--pushgateway", pushgateway, "--prometheus", prometheus,
                              "--accuracy", "0.9", "--instance", "test-run", "--timeout", "30"]) == 0
    out = capsys.readouterr().out
    assert 'training_accuracy{job="chapter10_example", instance="test-run"} = 0.9' in out
    # honor_labels kept the pushed job and instance, and every metric of the push arrived, with the
    # two the Pushgateway adds to each group (when it was last pushed, and last failed to be).
    result = push_metrics.query(prometheus, '{job="chapter10_example", instance="test-run"}')
    assert {r["metric"]["__name__"] for r in result} == {
        "training_accuracy", "training_duration_seconds", "training_last_success_timestamp_seconds",
        "push_time_seconds", "push_failure_time_seconds"}


def test_a_second_push_replaces_the_group(stack):
    pushgateway, prometheus = stack
    push_metrics.push(pushgateway, push_metrics.exposition(0.5, 1.0, time.time()), "again")
    push_metrics.push(pushgateway, push_metrics.exposition(0.75, 1.0, time.time()), "again")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        result = push_metrics.query(prometheus, 'training_accuracy{instance="again"}')
        if result and float(result[0]["value"][1]) == 0.75:
            return
        time.sleep(0.5)
    pytest.fail(f"training_accuracy of instance=again never became 0.75: {result}")
