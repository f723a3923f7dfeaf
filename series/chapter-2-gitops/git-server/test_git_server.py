"""Tests of git_server.py with the real git client: clone, push, fetch, and what it refuses."""

from __future__ import annotations

import subprocess
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

import git_server


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[str]:
    srv = git_server.serve(str(tmp_path / "repos"), ["series"], "127.0.0.1", 0)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown()
    srv.server_close()


def git(*args: str, cwd: Path | None = None) -> str:
    env_args = ["-c", "user.name=Reader", "-c", "user.email=reader@example.invalid", "-c", "init.defaultBranch=main"]
    out = subprocess.run(["git", *env_args, *args], cwd=cwd, check=True, capture_output=True, text=True)
    return out.stdout


def test_push_then_clone_round_trip(server: str, tmp_path: Path) -> None:
    work = tmp_path / "work"
    git("clone", "-q", f"{server}/series.git", str(work))
    (work / "kustomization.yaml").write_text("resources: [configmap.yaml]\n")
    git("add", "kustomization.yaml", cwd=work)
    git("commit", "-qm", "first", cwd=work)
    git("push", "-q", "origin", "HEAD:main", cwd=work)
    head = git("rev-parse", "HEAD", cwd=work).strip()

    refs = git("ls-remote", f"{server}/series.git")
    assert f"{head}\trefs/heads/main" in refs

    for version in ("1", "2"):  # Flux's go-git speaks v1; the git CLI v2
        copy = tmp_path / f"copy-v{version}"
        git("-c", f"protocol.version={version}", "clone", "-q", f"{server}/series.git", str(copy))
        assert (copy / "kustomization.yaml").read_text() == "resources: [configmap.yaml]\n"


def test_second_push_fast_forwards_and_stale_push_is_refused(server: str, tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    git("clone", "-q", f"{server}/series.git", str(a))
    (a / "f").write_text("1\n")
    git("add", "f", cwd=a)
    git("commit", "-qm", "one", cwd=a)
    git("push", "-q", "origin", "HEAD:main", cwd=a)
    git("clone", "-q", f"{server}/series.git", str(b))
    (a / "f").write_text("2\n")
    git("commit", "-qam", "two", cwd=a)
    git("push", "-q", "origin", "HEAD:main", cwd=a)
    (b / "f").write_text("3\n")
    git("commit", "-qam", "three", cwd=b)
    with pytest.raises(subprocess.CalledProcessError) as e:
        git("push", "-q", "origin", "HEAD:main", cwd=b)
    assert "rejected" in e.value.stderr or "fetch first" in e.value.stderr
    assert git("ls-remote", f"{server}/series.git", "refs/heads/main").split()[0] == git("rev-parse", "HEAD", cwd=a).strip()


def test_healthz_and_unknown_repository(server: str, tmp_path: Path) -> None:
    with urllib.request.urlopen(f"{server}/healthz") as r:
        assert r.status == 200
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(f"{server}/other.git/info/refs?service=git-upload-pack")
    assert e.value.code == 404


def test_healthz_reports_a_missing_repository(tmp_path: Path) -> None:
    app = git_server.GitApp(str(tmp_path), ["series"])
    got: list[str] = []
    body = app({"PATH_INFO": "/healthz"}, lambda status, headers: got.append(status))
    assert got == ["503 Service Unavailable"]
    assert b"series" in body[0]


def test_init_repository_is_idempotent(tmp_path: Path) -> None:
    p1 = git_server.init_repository(str(tmp_path), "series")
    (Path(p1) / "description").write_text("kept\n")
    p2 = git_server.init_repository(str(tmp_path), "series")
    assert p1 == p2
    assert (Path(p2) / "description").read_text() == "kept\n"
    assert git("-C", p2, "config", "http.receivepack").strip() == "true"
    assert git("-C", p2, "symbolic-ref", "HEAD").strip() == "refs/heads/main"


@pytest.mark.parametrize(
    ("raw", "status", "headers", "body"),
    [
        (b"Status: 404 Not Found\r\nContent-Type: text/plain\r\n\r\nnope", "404 Not Found", [("Content-Type", "text/plain")], b"nope"),
        (b"Content-Type: application/x-git-upload-pack-advertisement\n\n0000", "200 OK", [("Content-Type", "application/x-git-upload-pack-advertisement")], b"0000"),
    ],
)
def test_parse_cgi_output(raw: bytes, status: str, headers: list[tuple[str, str]], body: bytes) -> None:
    assert git_server.parse_cgi_output(raw) == (status, headers, body)


def test_parse_cgi_output_without_headers_end() -> None:
    with pytest.raises(ValueError):
        git_server.parse_cgi_output(b"Status: 200 OK\r\n")
