#!/usr/bin/env python3
"""CPU time of the kind node containers and of every pod in them, sampled while a command runs.

    python3 hack/kind/pod-cpu.py [-i SECONDS] [-o FILE.jsonl] [--root DIR] -- COMMAND [ARG...]
    python3 hack/kind/pod-cpu.py --report FILE.jsonl

Every interval it reads the CPU usage of each container cgroup under the engine's cgroup folder
(cgroup v1: cpuacct.usage under /sys/fs/cgroup/cpuacct/docker; v2: cpu.stat under
/sys/fs/cgroup/system.slice) down to the kubelet's pod cgroups inside a kind node, and asks the node
which pod each pod UID is. At the end it prints, per node container and per pod, the CPU seconds
used while sampled: the sum of the increases between samples, so a pod or node deleted between two
samples loses only its last interval. This is how the real-container layer's CPU cost was split by
pod (e.g. Airflow's four pods against the control plane's static pods).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import subprocess
import sys
import time
from typing import Iterator

V1_ROOT = "/sys/fs/cgroup/cpuacct/docker"
V2_ROOT = "/sys/fs/cgroup/system.slice"
# A pod's cgroup, cgroupfs or systemd driver: .../pod<uid> or .../kubelet-kubepods-burstable-pod<uid>.slice
POD = re.compile(r"pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})(\.slice)?$")
NODE_V2 = re.compile(r"^docker-([0-9a-f]{64})\.scope$")


def usage(path: str) -> int | None:
    """CPU nanoseconds of one cgroup folder, v1 or v2; None when it is gone or has neither file."""
    try:
        with open(os.path.join(path, "cpuacct.usage")) as f:
            return int(f.read())
    except OSError:
        pass
    try:
        with open(os.path.join(path, "cpu.stat")) as f:
            for line in f:
                k, v = line.split()
                if k == "usage_usec":
                    return int(v) * 1000
    except (OSError, ValueError):
        pass
    return None


def walk(root: str, depth: int = 4) -> dict[str, int]:
    """Relative cgroup path -> usage, for node containers and the cgroups inside them down to the
    pods' (depth 4: <id>/kubelet.slice/kubelet-kubepods.slice/...-burstable.slice/...-pod<uid>.slice)."""
    out: dict[str, int] = {}
    for dirpath, dirs, _ in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        if rel == ".":
            # Only container folders: a 64-hex id (v1) or docker-<id>.scope (v2).
            dirs[:] = [d for d in dirs if re.fullmatch(r"[0-9a-f]{64}", d) or NODE_V2.match(d)]
            continue
        if rel.count(os.sep) >= depth:
            dirs[:] = []
        u = usage(dirpath)
        if u is not None:
            out[rel] = u
    return out


def pod_names(nodes: list[str]) -> dict[str, str]:
    """Pod UID -> namespace/name, from kubectl inside each running kind node."""
    names: dict[str, str] = {}
    for node in nodes:
        try:
            p = subprocess.run(
                ["docker", "exec", node, "kubectl", "--kubeconfig", "/etc/kubernetes/admin.conf", "get", "pods", "-A",
                 "-o", "jsonpath={range .items[*]}{.metadata.uid} {.metadata.namespace}/{.metadata.name}{\"\\n\"}{end}"],
                capture_output=True, text=True, timeout=20, check=False)  # fmt: skip
        except (OSError, subprocess.TimeoutExpired):
            continue
        for line in p.stdout.splitlines():
            uid, _, name = line.partition(" ")
            if name:
                names[uid] = name
    return names


def kind_nodes() -> list[str]:
    try:
        p = subprocess.run(["docker", "ps", "--filter", "label=io.x-k8s.kind.role", "--format", "{{.Names}}"],
                           capture_output=True, text=True, timeout=20, check=False)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return []
    return p.stdout.split()


def pod_uid(rel: str) -> str | None:
    """The pod UID of a pod's cgroup path (dashed), or None for any other cgroup."""
    m = POD.search(rel.rsplit(os.sep, 1)[-1]) if os.sep in rel else None
    return m.group(1).replace("_", "-") if m else None


def container_of(rel: str) -> str:
    first = rel.split(os.sep)[0]
    m = NODE_V2.match(first)
    return m.group(1) if m else first


def report(samples: Iterator[dict]) -> str:
    """Per node container and per pod: CPU seconds summed over the increases between samples."""
    inc: collections.Counter[str] = collections.Counter()
    prev: dict[str, int] = {}
    names: dict[str, str] = {}
    first_t = last_t = None
    for s in samples:
        first_t = s["t"] if first_t is None else first_t
        last_t = s["t"]
        names.update(s.get("names", {}))
        for k, v in s["cg"].items():
            if k in prev and v >= prev[k]:
                inc[k] += v - prev[k]
            prev[k] = v
    nodes: collections.Counter[str] = collections.Counter()
    pods: collections.Counter[str] = collections.Counter()
    for k, v in inc.items():
        if os.sep not in k:
            nodes[container_of(k)] += v
            continue
        uid = pod_uid(k)
        if uid:
            pods[names.get(uid, "pod " + uid)] += v
    span = (last_t - first_t) if first_t is not None and last_t is not None else 0
    lines = [f"sampled {span:.0f} s; CPU-s per node container, then per pod (static pods show as 'pod UID')"]
    for c, v in nodes.most_common():
        lines.append(f"{v / 1e9:9.1f}  node {c[:12]}")
    lines.append(f"{sum(pods.values()) / 1e9:9.1f}  all pods")
    for p, v in pods.most_common():
        lines.append(f"{v / 1e9:9.1f}  {p}")
    return "\n".join(lines)


def read(path: str) -> Iterator[dict]:
    with open(path) as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-i", "--interval", type=float, default=15.0)
    ap.add_argument("-o", "--out", default="pod-cpu.jsonl")
    ap.add_argument("--root", help=f"the engine's cgroup folder (default {V1_ROOT}, else {V2_ROOT})")
    ap.add_argument("--report", metavar="FILE", help="print the report of a sampled file and exit")
    ap.add_argument("--no-names", action="store_true", help="do not ask the kind nodes for pod names")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args(argv)
    if a.report:
        print(report(read(a.report)))
        return 0
    cmd = a.cmd[1:] if a.cmd[:1] == ["--"] else a.cmd
    if not cmd:
        ap.error("give a command after --, or --report FILE")
    root = a.root or (V1_ROOT if os.path.isdir(V1_ROOT) else V2_ROOT)
    if not os.path.isdir(root):
        print(f"pod-cpu: no cgroup folder {root} (is Docker running here?)", file=sys.stderr)
        return 2
    # The nodes are asked for pod names only when a pod UID not asked about before shows up: the
    # `kubectl` run inside a node is CPU time of the node being measured. Static pods' UIDs (their
    # config hash, not their mirror pod's) never get a name and are asked about once.
    asked: set[str] = set()
    with open(a.out, "w") as out:
        proc = subprocess.Popen(cmd)
        while True:
            cg, names = walk(root), {}
            new = {u for u in map(pod_uid, cg) if u} - asked
            if new and not a.no_names:
                names = pod_names(kind_nodes())
                asked |= new
            out.write(json.dumps({"t": time.time(), "cg": cg, "names": names}) + "\n")
            out.flush()
            try:
                proc.wait(timeout=a.interval)
                break
            except subprocess.TimeoutExpired:
                pass
        out.write(json.dumps({"t": time.time(), "cg": walk(root), "names": {}}) + "\n")
    print(report(read(a.out)), file=sys.stderr)
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
