"""Tests of chapter 1's host preparation (infra/ansible), run with the venv's Ansible.

    ~/.cache/mlops-series/venvs/ansible/bin/python -m pytest -q infra/ansible

What runs for real and what does not:
- ansible-lint (production profile) and a syntax check of site.yml.
- `--check --diff` of the whole play against this host's real paths (/etc/sysctl.d, ...), as the
  README tells a reader to run it first: it must succeed and write nothing. It needs root or
  passwordless sudo (the play writes under /etc).
- A real run, twice, with every path the play writes pointed into a temporary folder
  (lab_sysctl_file, lab_limits_file, lab_bin_dir) and nothing applied to the running kernel
  (lab_apply_sysctl=false, lab_load_modules=false): the second run and a --check after it must
  report changed=0. The machines running this are shared, so the tests never change the kernel's
  sysctls or load modules; what the play would do there is what the --check run shows.
- The container-engine check against fake `docker`/`podman` commands (the build machines have
  no engine), and kubectl/kind installation from a local HTTP server with fake binaries and
  their SHA-256 files, including a download whose checksum does not match.
Not run here: modprobe (these machines' kernels have no loadable modules: overlay and br_netfilter
are built in, which the play recognises) and the downloads from dl.k8s.io and github.com (no
network). A CI runner with both exercises the first under --check (`modprobe -n`).

Without the venv's ansible-playbook the tests skip, except under CI=true, where they fail.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ANSIBLE_DIR = Path(__file__).resolve().parent.parent
PLAY_TIMEOUT_S = 300


def _venv_bin() -> Path:
    """The bin folder of the ansible venv: this interpreter's, else hack/setup-venv.sh's."""
    here = Path(sys.executable).parent
    if (here / "ansible-playbook").exists():
        return here
    venvs = os.environ.get("MLOPS_VENVS")
    if not venvs:
        cache = os.environ.get("MLOPS_CACHE") or os.path.join(
            os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "mlops-series"
        )
        venvs = os.path.join(cache, "venvs")
    return Path(venvs) / "ansible" / "bin"


VENV_BIN = _venv_bin()


def _ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session", autouse=True)
def _need_ansible() -> None:
    if not (VENV_BIN / "ansible-playbook").exists():
        msg = f"ansible-playbook not found in {VENV_BIN}: run `bash hack/setup-venv.sh ansible` (or `make deps`)"
        if _ci():
            pytest.fail(msg + "; CI=true, so this is a failure, not a skip")
        pytest.skip(msg)


@dataclass
class Play:
    """One ansible-playbook run, read through the ansible.posix.json callback."""

    rc: int
    stdout: str
    stderr: str
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def stats(self) -> dict[str, int]:
        return self.data.get("stats", {}).get("localhost", {})

    @property
    def changed(self) -> int:
        return self.stats.get("changed", -1)

    def results(self) -> Iterator[tuple[str, dict[str, Any]]]:
        for play in self.data.get("plays", []):
            for task in play.get("tasks", []):
                res = task.get("hosts", {}).get("localhost")
                if res is not None:
                    yield task["task"]["name"], res

    def result(self, name: str) -> dict[str, Any]:
        for task, res in self.results():
            if task.endswith(name):
                return res
        raise AssertionError(f"no task {name!r} in the run:\n{self.explain()}")

    @property
    def report(self) -> list[str]:
        return list(self.result("Show what the host has")["msg"])

    def changed_tasks(self) -> list[str]:
        return [task for task, res in self.results() if res.get("changed")]

    def explain(self) -> str:
        failed = [f"{task}: {res.get('msg')}" for task, res in self.results() if res.get("failed")]
        return f"rc={self.rc} stats={self.stats}\nfailed: {failed}\nstderr:\n{self.stderr[-3000:]}"


def run_play(*args: str, extra_vars: dict[str, Any] | None = None, env: dict[str, str] | None = None) -> Play:
    """ansible-playbook -i inventory.ini site.yml ARGS, from infra/ansible, results as JSON."""
    cmd = [str(VENV_BIN / "ansible-playbook"), "-i", "inventory.ini", "site.yml", *args]
    if extra_vars is not None:
        cmd += ["--extra-vars", json.dumps(extra_vars)]  # JSON: booleans stay booleans
    full_env = os.environ | {
        "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
        "ANSIBLE_NOCOLOR": "1",
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "no_proxy": "127.0.0.1,localhost",
        "NO_PROXY": "127.0.0.1,localhost",
    }
    if env:
        full_env |= env
    proc = subprocess.run(cmd, cwd=ANSIBLE_DIR, env=full_env, capture_output=True, text=True, timeout=PLAY_TIMEOUT_S)
    play = Play(proc.returncode, proc.stdout, proc.stderr)
    try:
        play.data = json.loads(proc.stdout)
    except json.JSONDecodeError:
        raise AssertionError(f"ansible-playbook printed no JSON (rc={proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return play


def sandbox_vars(tmp: Path, **more: Any) -> dict[str, Any]:
    """Variables that point everything the play writes into tmp and leave the kernel alone."""
    return {
        "lab_require_engine": False,
        "lab_apply_sysctl": False,
        "lab_load_modules": False,
        # Which modules a machine has is its own business (the check-mode test looks at them):
        # here a missing one is a warning, not a failure.
        "lab_require_modules": False,
        "lab_become": False,
        "lab_sysctl_file": str(tmp / "sysctl.d" / "99-mlops-series.conf"),
        "lab_limits_file": str(tmp / "limits.d" / "99-mlops-series.conf"),
        "lab_bin_dir": str(tmp / "bin"),
        **more,
    }


def kernel_value(key: str) -> int:
    return int(Path("/proc/sys", *key.split(".")).read_text().strip())


# --- static ---------------------------------------------------------------------------------------


def test_syntax() -> None:
    proc = subprocess.run(
        [str(VENV_BIN / "ansible-playbook"), "-i", "inventory.ini", "site.yml", "--syntax-check"],
        cwd=ANSIBLE_DIR, capture_output=True, text=True, timeout=PLAY_TIMEOUT_S,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ansible_lint_production_profile() -> None:
    # .ansible-lint: profile production, offline (no Galaxy), tests/ excluded.
    proc = subprocess.run(
        [str(VENV_BIN / "ansible-lint"), "--nocolor"],
        cwd=ANSIBLE_DIR, capture_output=True, text=True, timeout=PLAY_TIMEOUT_S,
        env=os.environ | {"PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}", "NO_COLOR": "1"},
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "0 failure(s), 0 warning(s)" in out, out
    assert "Profile 'production' was required, and it passed" in out, out


# --- this host, check mode --------------------------------------------------------------------------


def _can_write_etc() -> bool:
    if os.geteuid() == 0:
        return True
    return shutil.which("sudo") is not None and subprocess.run(["sudo", "-n", "true"], capture_output=True).returncode == 0


def test_check_mode_on_this_host_writes_nothing() -> None:
    if not _can_write_etc():
        msg = "the play's --check on this host needs root or passwordless sudo (it inspects files under /etc)"
        if _ci():
            pytest.fail(msg + "; CI=true, so this is a failure, not a skip")
        pytest.skip(msg)
    watched = [Path("/etc/sysctl.d/99-mlops-series.conf"), Path("/etc/security/limits.d/99-mlops-series.conf")]
    before = {p: p.read_bytes() if p.exists() else None for p in watched}
    kernel_before = {k: kernel_value(k) for k in ("fs.inotify.max_user_watches", "fs.inotify.max_user_instances")}

    play = run_play("--check", "--diff", "--extra-vars", "lab_require_engine=false")

    assert play.rc == 0, play.explain()
    assert play.stats.get("failures") == 0, play.explain()
    assert {p: p.read_bytes() if p.exists() else None for p in watched} == before, "--check wrote a file"
    assert {k: kernel_value(k) for k in kernel_before} == kernel_before, "--check changed the kernel"
    report = play.report
    assert any(line.startswith("container engine: ") for line in report), report
    assert any(line.startswith("kubectl: ") for line in report), report
    for key in ("fs.inotify.max_user_watches", "fs.inotify.max_user_instances"):
        assert any(line.startswith(f"sysctl {key}=") for line in report), report
    for module in ("overlay", "br_netfilter"):
        assert any(line.startswith(f"kernel module {module}: ") and "missing" not in line for line in report), report


# --- real runs into a temporary folder --------------------------------------------------------------


def test_real_run_is_idempotent(tmp_path: Path) -> None:
    variables = sandbox_vars(tmp_path)

    first = run_play(extra_vars=variables)
    assert first.rc == 0, first.explain()
    assert first.changed > 0, first.explain()
    sysctl = (tmp_path / "sysctl.d" / "99-mlops-series.conf").read_text()
    watches = max(524288, kernel_value("fs.inotify.max_user_watches"))
    instances = max(512, kernel_value("fs.inotify.max_user_instances"))
    assert sysctl.splitlines() == [f"fs.inotify.max_user_watches={watches}", f"fs.inotify.max_user_instances={instances}"], sysctl
    limits = (tmp_path / "limits.d" / "99-mlops-series.conf").read_text().splitlines()
    assert [line.split()[:4] for line in limits] == [["*", "soft", "nofile", "65536"], ["*", "hard", "nofile", "1048576"]], limits

    second = run_play(extra_vars=variables)
    assert second.rc == 0, second.explain()
    assert second.changed == 0, f"second run changed {second.changed_tasks()}"

    check = run_play("--check", "--diff", extra_vars=variables)
    assert check.rc == 0, check.explain()
    assert check.changed == 0, f"--check after a run would change {check.changed_tasks()}"


def test_never_lowers_a_limit(tmp_path: Path) -> None:
    # A host that already allows more keeps it: a hard limit above ours stays in the file, and a
    # sysctl minimum below the running kernel's value writes the kernel's value.
    limits = tmp_path / "limits.d" / "99-mlops-series.conf"
    limits.parent.mkdir()
    limits.write_text("*\thard\tnofile\t4194304\n")
    running = kernel_value("fs.inotify.max_user_instances")
    variables = sandbox_vars(tmp_path, lab_sysctls={"fs.inotify.max_user_instances": 1})

    play = run_play("--tags", "sysctl,limits", extra_vars=variables)

    assert play.rc == 0, play.explain()
    assert (tmp_path / "sysctl.d" / "99-mlops-series.conf").read_text() == f"fs.inotify.max_user_instances={running}\n"
    lines = [line.split()[:4] for line in limits.read_text().splitlines()]
    assert ["*", "hard", "nofile", "4194304"] in lines, lines
    assert ["*", "soft", "nofile", "65536"] in lines, lines


# --- the container engine ---------------------------------------------------------------------------


def _fake_commands(folder: Path, scripts: dict[str, str]) -> dict[str, str]:
    folder.mkdir(exist_ok=True)
    for name, body in scripts.items():
        p = folder / name
        p.write_text("#!/bin/sh\n" + body + "\n")
        p.chmod(0o755)
    return {"PATH": f"{folder}{os.pathsep}{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


PODMAN_DOWN = "echo 'Error: unable to connect to Podman socket' >&2; exit 125"


def test_engine_answering_is_reported(tmp_path: Path) -> None:
    env = _fake_commands(tmp_path / "fakebin", {
        "docker": """echo '{"Client":{"Version":"27.3.1"},"Server":{"Version":"27.3.1"}}'""",
        "podman": PODMAN_DOWN,
    })
    play = run_play("--tags", "engine", extra_vars=sandbox_vars(tmp_path, lab_require_engine=True), env=env)
    assert play.rc == 0, play.explain()
    assert "container engine: docker 27.3.1" in play.report


def test_podman_when_docker_is_absent(tmp_path: Path) -> None:
    env = _fake_commands(tmp_path / "fakebin", {
        "docker": "echo 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?' >&2; exit 1",
        "podman": """echo '{"host":{},"version":{"Version":"5.2.2"}}'""",
    })
    play = run_play("--tags", "engine", extra_vars=sandbox_vars(tmp_path, lab_require_engine=True), env=env)
    assert play.rc == 0, play.explain()
    assert "container engine: podman 5.2.2 (run kind with KIND_EXPERIMENTAL_PROVIDER=podman)" in play.report


def test_no_engine_fails_with_the_reason(tmp_path: Path) -> None:
    env = _fake_commands(tmp_path / "fakebin", {
        "docker": "echo 'permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock' >&2; exit 1",
        "podman": PODMAN_DOWN,
    })
    play = run_play("--tags", "engine", extra_vars=sandbox_vars(tmp_path, lab_require_engine=True), env=env)
    assert play.rc != 0, play.explain()
    msg = play.result("Fail when no container engine answers")["msg"]
    assert "No container engine answered" in msg, msg
    assert "docker: permission denied while trying to connect" in msg, msg
    assert "podman: Error: unable to connect to Podman socket" in msg, msg
    assert "usermod -aG docker" in msg, msg
    assert "-e lab_require_engine=false" in msg, msg

    # The same host with lab_require_engine=false: a warning in the report instead.
    play = run_play("--tags", "engine", extra_vars=sandbox_vars(tmp_path), env=env)
    assert play.rc == 0, play.explain()
    assert "WARNING: no container engine answered: kind cannot create the cluster on this host" in play.report


# --- kubectl and kind -------------------------------------------------------------------------------


class _Server:
    """A local HTTP server of a folder that records the paths it served."""

    def __init__(self, root: Path) -> None:
        served: list[str] = []

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *a: Any, **kw: Any) -> None:
                super().__init__(*a, directory=str(root), **kw)

            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                served.append(self.path)
                super().do_GET()

            def log_message(self, *a: Any) -> None:
                pass

        self.served = served
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def release_server(tmp_path: Path) -> Iterator[_Server]:
    """Fake kubectl and kind releases laid out like dl.k8s.io's and GitHub's: the binary, and next
    to it its SHA-256 (kubectl: the bare digest in <file>.sha256; kind: "<digest>  <file>" in
    <file>.sha256sum)."""
    root = tmp_path / "www"
    root.mkdir()
    kubectl = b"#!/bin/sh\necho '{\"clientVersion\":{\"gitVersion\":\"v1.37.0\"}}'\n"
    kind = b"#!/bin/sh\necho 'kind v0.33.0 go1.25.0 linux/amd64'\n"
    (root / "kubectl").write_bytes(kubectl)
    (root / "kubectl.sha256").write_text(hashlib.sha256(kubectl).hexdigest())
    (root / "kind-linux-test").write_bytes(kind)
    (root / "kind-linux-test.sha256sum").write_text(f"{hashlib.sha256(kind).hexdigest()}  kind-linux-test\n")
    server = _Server(root)
    yield server
    server.close()


def test_install_tools_verifies_and_is_idempotent(tmp_path: Path, release_server: _Server) -> None:
    variables = sandbox_vars(
        tmp_path,
        lab_install_tools=True,
        lab_kubectl_url=f"{release_server.url}/kubectl",
        lab_kind_url=f"{release_server.url}/kind-linux-test",
    )  # the checksum URLs come from the role's defaults: <url>.sha256 and <url>.sha256sum

    first = run_play("--tags", "tools", extra_vars=variables)
    assert first.rc == 0, first.explain()
    for name in ("kubectl", "kind"):
        assert os.access(tmp_path / "bin" / name, os.X_OK), name
    assert "kubectl: v1.37.0 (cluster v1.37.0)" in first.report
    assert "kind: v0.33.0 (pinned v0.33.0)" in first.report
    assert not [w for w in first.report if w.startswith("WARNING: kub") or w.startswith("WARNING: kind")], first.report
    assert {"/kubectl", "/kind-linux-test"} <= set(release_server.served)

    release_server.served.clear()
    second = run_play("--tags", "tools", extra_vars=variables)
    assert second.rc == 0, second.explain()
    assert second.changed == 0, f"second run changed {second.changed_tasks()}"
    # Only the digests were fetched again: the files on disk already match them.
    assert sorted(release_server.served) == ["/kind-linux-test.sha256sum", "/kubectl.sha256"]


def test_install_tools_rejects_a_wrong_checksum(tmp_path: Path, release_server: _Server) -> None:
    www = tmp_path / "www"
    (www / "kind-linux-test").write_bytes(b"#!/bin/sh\necho tampered\n")  # the .sha256sum is the old one
    variables = sandbox_vars(
        tmp_path,
        lab_install_tools=True,
        lab_kubectl_url=f"{release_server.url}/kubectl",
        lab_kind_url=f"{release_server.url}/kind-linux-test",
    )
    play = run_play("--tags", "tools", extra_vars=variables)
    assert play.rc != 0, play.explain()
    msg = play.result("Download kind v0.33.0")["msg"]
    assert "did not match" in msg, msg
    assert not (tmp_path / "bin" / "kind").exists()


# --- kernel modules ---------------------------------------------------------------------------------


def test_missing_module_fails_or_warns(tmp_path: Path) -> None:
    absent = [{"name": "mlops_series_absent", "proof": str(tmp_path / "no-such-proof")}]
    play = run_play("--tags", "modules", extra_vars=sandbox_vars(tmp_path, lab_kernel_modules=absent, lab_require_modules=True))
    assert play.rc != 0, play.explain()
    msg = play.result("Fail when a module is missing")["msg"]
    assert "mlops_series_absent not loaded" in msg and "sudo modprobe mlops_series_absent" in msg, msg

    play = run_play("--tags", "modules", extra_vars=sandbox_vars(tmp_path, lab_kernel_modules=absent, lab_require_modules=False))
    assert play.rc == 0, play.explain()
    assert "kernel module mlops_series_absent: missing" in play.report
    assert "WARNING: kernel module mlops_series_absent is missing" in play.report
