"""A Git server over HTTP, small enough to read in one sitting.

Chapter 2's cluster syncs from this server instead of from GitHub: `mlops-series up chapter-2`
pushes the chapter's GitOps folder to it, Flux's source-controller clones from it, and
`mlops-series gitops push` sends the reader's changes. Git itself does the protocol work: every
request runs `git http-backend`, Git's own CGI program for the "smart" HTTP protocol (clone, fetch
and push), and this file only translates between HTTP and CGI.

It has no authentication: it is meant for a Service inside the cluster and for a port-forward on
the reader's machine, never for a public address.

    python git_server.py --root /srv/git --repo series --port 8080

GET /healthz answers 200 when every repository exists (the pod's probes); everything else under
/REPO.git/ goes to git http-backend.
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

log = logging.getLogger("git-server")

StartResponse = Callable[[str, list[tuple[str, str]]], Any]

# Request headers that git http-backend reads, as CGI variables. Content-Encoding: a push's request
# may be gzipped; Git-Protocol: protocol v2 negotiation.
_CGI_HEADERS = {
    "CONTENT_TYPE": "CONTENT_TYPE",
    "HTTP_CONTENT_ENCODING": "HTTP_CONTENT_ENCODING",
    "HTTP_GIT_PROTOCOL": "GIT_PROTOCOL",
}


def init_repository(root: str, name: str, git: str = "git") -> str:
    """Creates the bare repository ROOT/NAME.git if missing, accepting pushes over HTTP.

    The default branch is main, the branch the chapter's GitRepository follows.
    """
    path = os.path.join(root, name + ".git")
    if not os.path.isdir(os.path.join(path, "objects")):
        subprocess.run([git, "init", "--quiet", "--bare", "--initial-branch=main", path], check=True)
        log.info("created repository %s", path)
    # http-backend refuses pushes unless the repository says so (anonymous users otherwise).
    subprocess.run([git, "-C", path, "config", "http.receivepack", "true"], check=True)
    return path


def parse_cgi_output(out: bytes) -> tuple[str, list[tuple[str, str]], bytes]:
    """Splits a CGI program's output into HTTP status, headers and body."""
    head, sep, body = out.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = out.partition(b"\n\n")
    if not sep:
        raise ValueError("CGI output has no end of headers")
    status = "200 OK"
    headers: list[tuple[str, str]] = []
    for line in head.decode("latin-1").splitlines():
        name, _, value = line.partition(":")
        value = value.strip()
        if name.lower() == "status":
            status = value
        elif name:
            headers.append((name, value))
    return status, headers, body


class GitApp:
    """The WSGI application: /healthz, and git http-backend for the repositories under root."""

    def __init__(self, root: str, repos: Iterable[str], git: str = "git") -> None:
        self.root = os.path.abspath(root)
        self.repos = list(repos)
        self.git = git

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/healthz":
            return self.healthz(start_response)
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_PROJECT_ROOT": self.root,
            "GIT_HTTP_EXPORT_ALL": "1",
            "GATEWAY_INTERFACE": "CGI/1.1",
            "REQUEST_METHOD": environ.get("REQUEST_METHOD", "GET"),
            "PATH_INFO": path,
            "QUERY_STRING": environ.get("QUERY_STRING", ""),
            "REMOTE_ADDR": environ.get("REMOTE_ADDR", ""),
            # Who pushed, for the reflog; there are no accounts.
            "REMOTE_USER": "gitops",
            "CONTENT_LENGTH": str(len(body)),
        }
        for wsgi_name, cgi_name in _CGI_HEADERS.items():
            if environ.get(wsgi_name):
                env[cgi_name] = environ[wsgi_name]
        proc = subprocess.run([self.git, "http-backend"], input=body, env=env, capture_output=True)
        if proc.returncode != 0 and not proc.stdout:
            log.error("git http-backend failed for %s %s: %s", env["REQUEST_METHOD"], path, proc.stderr.decode(errors="replace"))
            start_response("500 Internal Server Error", [("Content-Type", "text/plain")])
            return [b"git http-backend failed\n"]
        status, headers, out = parse_cgi_output(proc.stdout)
        start_response(status, headers)
        return [out]

    def healthz(self, start_response: StartResponse) -> list[bytes]:
        missing = [r for r in self.repos if not os.path.isdir(os.path.join(self.root, r + ".git", "objects"))]
        if missing:
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [("missing repositories: " + ", ".join(missing) + "\n").encode()]
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok\n"]


class ThreadingServer(ThreadingMixIn, WSGIServer):
    """One thread per request: a clone and a push may overlap."""

    daemon_threads = True


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base class's name)
        log.info("%s %s", self.address_string(), format % args)


def serve(root: str, repos: list[str], host: str, port: int, git: str = "git") -> WSGIServer:
    """Creates the repositories and returns a server bound to host:port (port 0: any free port)."""
    os.makedirs(root, exist_ok=True)
    for r in repos:
        init_repository(root, r, git)
    return make_server(host, port, GitApp(root, repos, git), server_class=ThreadingServer, handler_class=QuietHandler)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--root", default="/srv/git", help="folder of the bare repositories")
    p.add_argument("--repo", action="append", default=[], help="a repository to create and serve (repeatable)")
    p.add_argument("--host", default="0.0.0.0")
    p.add_argument("--port", type=int, default=8080)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stdout)
    if not args.repo:
        p.error("name at least one --repo")
    srv = serve(args.root, args.repo, args.host, args.port)
    log.info("serving %s on %s:%d", ", ".join(r + ".git" for r in args.repo), args.host, srv.server_port)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
