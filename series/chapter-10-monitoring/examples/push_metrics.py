"""Push a batch job's metrics to the Pushgateway, then read them back through Prometheus.

A training job, a DAG task or a nightly feature materialization ends before Prometheus would
scrape it. Instead it pushes its metrics to the Pushgateway when it finishes; Prometheus scrapes the
Pushgateway (job "pushgateway", honor_labels: the pushed job label is kept) and the values show up in
PromQL and on Grafana's dashboards.

    kubectl -n monitoring port-forward svc/pushgateway 9091 &
    kubectl -n monitoring port-forward svc/prometheus 9090 &
    python push_metrics.py --pushgateway http://127.0.0.1:9091 --prometheus http://127.0.0.1:9090

Only the Python standard library is used: the Prometheus text format is plain text over HTTP.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.parse
import urllib.request

JOB = "chapter10_example"


def exposition(accuracy: float, duration: float, finished: float) -> str:
    """The metrics in the Prometheus text format (one # TYPE line per metric, then samples)."""
    return (
        "# HELP training_accuracy Accuracy of the last trained model on the test split.\n"
        "# TYPE training_accuracy gauge\n"
        f'training_accuracy{{model="iris-classifier"}} {accuracy}\n'
        "# HELP training_duration_seconds How long the last training run took.\n"
        "# TYPE training_duration_seconds gauge\n"
        f'training_duration_seconds{{model="iris-classifier"}} {duration}\n'
        "# HELP training_last_success_timestamp_seconds When the last training run succeeded.\n"
        "# TYPE training_last_success_timestamp_seconds gauge\n"
        f'training_last_success_timestamp_seconds{{model="iris-classifier"}} {finished}\n'
    )


def push(pushgateway: str, body: str, instance: str) -> None:
    """PUT replaces every metric of the group job=JOB, instance=<instance> with the body."""
    url = f"{pushgateway.rstrip('/')}/metrics/job/{JOB}/instance/{urllib.parse.quote(instance, safe='')}"
    req = urllib.request.Request(url, data=body.encode(), method="PUT",
                                 headers={"Content-Type": "text/plain; version=0.0.4"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        if resp.status not in (200, 202):
            raise RuntimeError(f"push to {url}: HTTP {resp.status}")


def query(prometheus: str, promql: str) -> list[dict]:
    """An instant query through Prometheus' HTTP API; returns the result vector."""
    url = f"{prometheus.rstrip('/')}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    with urllib.request.urlopen(url, timeout=10) as resp:
        answer = json.load(resp)
    if answer.get("status") != "success":
        raise RuntimeError(f"query {promql}: {answer.get('error')}")
    return answer["data"]["result"]


def wait_for(prometheus: str, promql: str, timeout: float) -> list[dict]:
    """Prometheus sees a push only after its next scrape of the Pushgateway: poll until then."""
    deadline = time.monotonic() + timeout
    while True:
        result = query(prometheus, promql)
        if result or time.monotonic() > deadline:
            return result
        time.sleep(1)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pushgateway", default="http://127.0.0.1:9091")
    p.add_argument("--prometheus", default="http://127.0.0.1:9090")
    p.add_argument("--accuracy", type=float, default=0.9667)
    p.add_argument("--instance", default="laptop", help="grouping key: one group per machine or run")
    p.add_argument("--timeout", type=float, default=90, help="seconds to wait for a scrape (interval 30s)")
    args = p.parse_args(argv)

    started = time.time()
    # ... the training would run here ...
    finished = time.time()
    push(args.pushgateway, exposition(args.accuracy, finished - started, finished), args.instance)
    print(f"pushed job={JOB} instance={args.instance} to {args.pushgateway}")

    promql = f'training_accuracy{{job="{JOB}", instance="{args.instance}"}}'
    result = wait_for(args.prometheus, promql, args.timeout)
    if not result:
        print(f"{promql}: no series after {args.timeout:.0f}s (is Prometheus scraping the Pushgateway? "
              f"see {args.prometheus}/targets)", file=sys.stderr)
        return 1
    value = float(result[0]["value"][1])
    print(f"{promql} = {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
