#!/usr/bin/env bash
# Runs a command and then prints how busy the machine's CPUs were meanwhile (from /proc/stat, all
# processes, not only the command's), so that a phase of `make test` says whether it was CPU-bound
# and how much room it left for work beside it.
#   bash hack/cpu-busy.sh LABEL -- COMMAND [ARG...]
# Prints: cpu-busy LABEL: 612s wall, 2 CPUs, busy 71% (user 801s, system 69s, iowait 12s, idle 342s)
# and exits with the command's status.
set -uo pipefail
if [ $# -lt 3 ] || [ "$2" != "--" ]; then
  echo "usage: bash hack/cpu-busy.sh LABEL -- COMMAND [ARG...]" >&2
  exit 2
fi
label=$1
shift 2
# The first line of /proc/stat: cpu user nice system idle iowait irq softirq steal ... in USER_HZ.
read_stat() { awk '/^cpu /{print $2+$3, $4+$7+$8, $5, $6, $9; exit}' /proc/stat; }
read -r u0 s0 i0 w0 st0 < <(read_stat)
t0=$(date +%s)
"$@"
status=$?
read -r u1 s1 i1 w1 st1 < <(read_stat)
t1=$(date +%s)
hz=$(getconf CLK_TCK)
awk -v l="$label" -v wall=$((t1 - t0)) -v n="$(nproc)" -v hz="$hz" \
  -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v i=$((i1 - i0)) -v w=$((w1 - w0)) -v st=$((st1 - st0)) 'BEGIN {
  total = u + s + i + w + st
  busy = total > 0 ? 100 * (u + s + st) / total : 0
  printf "cpu-busy %s: %ds wall, %d CPUs, busy %d%% (user %ds, system %ds, iowait %ds, idle %ds)\n",
    l, wall, n, busy, u / hz, s / hz, w / hz, i / hz
}' >&2
exit $status
