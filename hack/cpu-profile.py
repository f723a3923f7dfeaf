#!/usr/bin/env python3
"""Where a run's CPU time goes, by process: samples /proc every few seconds while a command runs.

    python3 hack/cpu-profile.py [-i SECONDS] [-o REPORT] -- COMMAND...

Every process seen (those of containers too: they are the host's processes) is keyed by its PID and
start time; its last sampled CPU time (user + system) is charged to a label made of its name and,
for interpreters, the module or script it runs. A process that lives shorter than one interval is
not seen itself: its CPU time reaches its parent's "children" figure when the parent reaps it
(containerd's shims for probes and `kubectl exec`, the shell or the CLI for the tools they run), so
those figures are reported too, under "<parent label> (children)". The sum of the labels is
compared with the whole machine's busy time over the run (/proc/stat), which includes what no
sample saw.

The report (stdout, or -o) lists labels by CPU seconds. The command's exit code is returned.

    --group REGEX (repeatable) adds a second table: each sampled process's own CPU time charged to
    the first group of the first REGEX that matches the command line of the process or of its
    nearest sampled ancestor that matches one, e.g. --group 'cpu-busy\.sh (\S+)' for the
    suites of `make test`, or --group '/(\w+)\.test ' for Go test binaries. Processes with no match
    (a container's, the engine's) are charged to "(no group)".
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from collections import defaultdict

HZ = os.sysconf("SC_CLK_TCK")
INTERPRETERS = {"python", "python3", "python3.11", "python3.12", "python3.13", "node", "java", "sh", "bash"}


def label(pid: str, comm: str) -> str:
    """The process's name; for an interpreter, also what it runs (its first argument not an option)."""
    if comm not in INTERPRETERS and not comm.startswith("python"):
        return comm
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            args = [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
    except OSError:
        return comm
    rest = args[1:]
    for i, a in enumerate(rest):
        if a == "-m" and i + 1 < len(rest):
            return f"{comm} -m {rest[i + 1]}"
        if a == "-c":
            return f"{comm} -c"
        if not a.startswith("-"):
            return f"{comm} {os.path.basename(a)}"
    return comm


def cmdline(pid: str) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def sample(
    seen: dict[tuple[str, str], tuple[str, float, float, str, str]],
    cmds: dict[str, tuple[str, str]] | None = None,
) -> None:
    """Reads every process's CPU times into seen; with cmds, also pid -> (ppid, command line)."""
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                raw = f.read()
        except OSError:
            continue
        comm = raw[raw.index("(") + 1 : raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2 :].split()
        # fields[0] is field 3 (state): utime is field 14, stime 15, cutime 16, cstime 17, starttime 22.
        own = (int(fields[11]) + int(fields[12])) / HZ
        children = (int(fields[13]) + int(fields[14])) / HZ
        key = (pid, fields[19])
        prev = seen.get(key)
        # A process first seen between fork and exec is labelled again once it has exec'd.
        name = prev[0] if prev and prev[4] == comm else label(pid, comm)
        seen[key] = (name, own, children, fields[1], comm)
        if cmds is not None:
            # Read at every sample: a child forked by a shell has its parent's command line until
            # it execs, and exec of a program of the same name leaves comm unchanged. A zombie
            # (ended, not yet reaped: long enough to be sampled on a loaded machine) or a process
            # gone since its stat was read has an empty command line: the last one read is kept.
            line = cmdline(pid)
            if line or pid not in cmds:
                cmds[pid] = (fields[1], line)


def busy() -> float:
    with open("/proc/stat") as f:
        cpu = [int(x) for x in f.readline().split()[1:]]
    idle = cpu[3] + cpu[4]
    return (sum(cpu[:8]) - idle) / HZ


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("-i", "--interval", type=float, default=3.0)
    p.add_argument("-o", "--output")
    p.add_argument("-n", "--top", type=int, default=40)
    p.add_argument("-g", "--group", action="append", default=[], help="regex with one group (repeatable)")
    p.add_argument("command", nargs="+")
    a = p.parse_args()

    before: dict[tuple[str, str], tuple[str, float, float, str, str]] = {}
    sample(before)
    start_busy, start = busy(), time.time()
    seen: dict[tuple[str, str], tuple[str, float, float, str, str]] = {}
    cmds: dict[str, tuple[str, str]] = {}
    groups = [re.compile(g) for g in a.group]
    group_of: dict[tuple[str, str], str] = {}
    me = str(os.getpid())

    def assign() -> None:
        # By the last command line sampled of the process and its ancestors (a PID reused within
        # one run would mislead it; Linux hands PIDs out in turn, so that takes very long runs).
        for key in seen:
            pid, g = key[0], "(no group)"
            for _ in range(64):
                if pid == me:
                    break  # its own command line names the regexes themselves
                ppid, cmd = cmds.get(pid, ("", ""))
                m = next((m for m in (r.search(cmd) for r in groups) if m), None)
                if m:
                    g = m.group(1)
                    break
                if not ppid or ppid in ("0", pid):
                    break
                pid = ppid
            group_of[key] = g

    proc = subprocess.Popen(a.command)
    while proc.poll() is None:
        sample(seen, cmds if groups else None)
        time.sleep(a.interval)
    last: dict[tuple[str, str], tuple[str, float, float, str, str]] = {}
    sample(last, cmds if groups else None)
    seen.update(last)
    if groups:
        assign()
    wall, total = time.time() - start, busy() - start_busy

    # A sampled process that ended was reaped by its last parent: its time is in the parent's
    # children figure too, so it is taken out there (counted once, under its own label).
    by_pid = {pid: key for key in seen for pid in [key[0]]}
    reaped: dict[tuple[str, str], float] = defaultdict(float)
    for key, (_, o, c, ppid, _) in seen.items():
        if key not in last and ppid in by_pid:
            reaped[by_pid[ppid]] += o + c

    own: dict[str, float] = defaultdict(float)
    kids: dict[str, float] = defaultdict(float)
    for key, (name, o, c, _, _) in seen.items():
        b = before.get(key)
        own[name] += o - (b[1] if b else 0.0)
        kids[name + " (children)"] += max(0.0, c - (b[2] if b else 0.0) - reaped[key])
    rows = sorted(((v, k) for k, v in list(own.items()) + list(kids.items()) if v >= 0.5), reverse=True)
    counted = sum(own.values()) + sum(kids.values())
    lines = [
        f"cpu-profile: {' '.join(a.command)}",
        f"wall {wall:.0f} s; machine busy {total:.0f} CPU-s; sampled processes {sum(own.values()):.0f} CPU-s "
        f"own + {sum(kids.values()):.0f} reaped children (sampled every {a.interval:g} s; exit {proc.returncode})",
        f"{'CPU-s':>8}  {'share':>6}  label",
    ]
    for v, k in rows[: a.top]:
        lines.append(f"{v:8.1f}  {100 * v / max(total, 1e-9):5.1f}%  {k}")
    lines.append(f"{'':>8}  unlabelled (not seen, not reaped by a seen parent): {total - counted:.0f} CPU-s")
    if groups:
        # Own time only: a "children" figure also holds what a parent reaped from processes that
        # were reparented or never sampled, and would charge them twice up the tree.
        by_group: dict[str, float] = defaultdict(float)
        for key, (_, o, _, _, _) in seen.items():
            b = before.get(key)
            by_group[group_of.get(key, "(no group)")] += o - (b[1] if b else 0.0)
        lines.append("")
        lines.append(f"{'CPU-s':>8}  {'share':>6}  group, sampled processes' own time ({', '.join(a.group)})")
        for g, v in sorted(by_group.items(), key=lambda kv: -kv[1]):
            if v >= 0.5:
                lines.append(f"{v:8.1f}  {100 * v / max(total, 1e-9):5.1f}%  {g}")
    text = "\n".join(lines) + "\n"
    if a.output:
        with open(a.output, "w") as f:
            f.write(text)
    sys.stdout.write(text)
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
