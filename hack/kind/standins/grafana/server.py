"""A labelled stand-in for Grafana's HTTP API, for the real-container test layer only.

Grafana cannot be built or pulled on the machines this project is tested on. The series' chart runs
this instead so that chapter 10 comes up; it answers the responses the grafana-datasource check reads
(recorded from Grafana's documented API) and proves the datasource by querying Prometheus for real.
"""
import json
import os
import re
import signal
import sys
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

VERSION = "13.1.3"
DATASOURCES = os.environ.get(
    "GF_STANDIN_DATASOURCES", "/etc/grafana/provisioning/datasources/prometheus.yaml")


def datasources() -> dict[str, str]:
    """uid -> url from the provisioned datasource file (a tiny reader for its flat list)."""
    found: dict[str, str] = {}
    try:
        text = open(DATASOURCES, encoding="utf-8").read()
    except OSError:
        return found
    for block in re.split(r"\n\s*-\s+", text):
        uid = re.search(r"^\s*uid:\s*\"?([^\"\n]+)\"?", block, re.M)
        url = re.search(r"^\s*url:\s*\"?([^\"\n]+)\"?", block, re.M)
        if uid and url:
            found[uid.group(1).strip()] = url.group(1).strip()
    return found


class Handler(BaseHTTPRequestHandler):
    def reply(self, code: int, body: dict | str, ctype: str = "application/json") -> None:
        data = (json.dumps(body) if isinstance(body, dict) else body).encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        if self.path == "/api/health":
            self.reply(200, {"commit": "standin", "database": "ok", "version": VERSION})
            return
        if self.path == "/metrics":
            self.reply(200, 'grafana_build_info{version="%s",edition="standin"} 1\n' % VERSION,
                       "text/plain; version=0.0.4")
            return
        m = re.fullmatch(r"/api/datasources/uid/([^/]+)/health", self.path)
        if m:
            url = datasources().get(m.group(1))
            if url is None:
                self.reply(404, {"message": "Data source not found"})
                return
            try:
                with urllib.request.urlopen(url.rstrip("/") + "/api/v1/query?query=1%2B1", timeout=10) as r:
                    ok = json.load(r).get("status") == "success"
            except (urllib.error.URLError, OSError, ValueError) as e:
                self.reply(400, {"status": "ERROR", "message": "Prometheus query failed: %s" % e})
                return
            if ok:
                self.reply(200, {"status": "OK", "message": "Successfully queried the Prometheus API."})
            else:
                self.reply(400, {"status": "ERROR", "message": "Prometheus answered without success"})
            return
        self.reply(404, {"message": "Not found"})

    def log_message(self, fmt: str, *args: object) -> None:
        pass


if __name__ == "__main__":
    # As PID 1 in its container the process gets no default SIGTERM action: exit on it, as Grafana
    # does, instead of waiting out the pod's grace period.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    ThreadingHTTPServer(("0.0.0.0", int(os.environ.get("GF_SERVER_HTTP_PORT", "3000"))), Handler).serve_forever()
