#!/usr/bin/env bash
# Reproduces how a native Ray head ends on a machine starved of CPU (why nativetest.Ray replaces a
# head that ends before it is ready): starts `ray start --head --block` from the ray venv, as
# nativetest.Ray does, in a CPU group capped at QUOTA_MS of CPU time per 100 ms, and reports
# whether it got ready, whether it is still running after SECONDS, and its logs' fatal lines.
#
#   sudo bash hack/ray-starve.sh [QUOTA_MS=15] [SECONDS=240] [FIRST_PORT=36100]
#
# Needs root and cgroup v1's cpu controller (as on the CI machines). Measured here, 15 ms per
# 100 ms: the dashboard answered at 86 s, and the raylet died at 68 s with "Timed out waiting for
# file .../dashboard_agent_listen_port_<node id>" (Ray 2.60 waits 30 s for it; setting
# RAY_agent_register_timeout_ms does not change that wait).
#
# HOGS=N runs N busy Python loops beside the head (in its CPU group), and NICE=K starts the head at
# niceness K (nativetest.Ray starts it at -5 as root): QUOTA_MS=0 sets no quota. Measured here with
# `sudo HOGS=24 bash hack/ray-starve.sh 0 240` and NICE=0: `ray start` ended after 132 s ("The
# current node timed out during startup"); with NICE=-5 its job API answered at 45 s and it still
# ran at 150 s.
set -euo pipefail
quota_ms=${1:-15}
secs=${2:-240}
p=${3:-36100}
hogs=${HOGS:-0}
nice=${NICE:-0}
venv="${MLOPS_VENVS:-${MLOPS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mlops-series}/venvs}/ray/bin"
[ -x "$venv/ray" ] || { echo "ray-starve.sh: no $venv/ray: run make deps first" >&2; exit 1; }
[ -w /sys/fs/cgroup/cpu ] || { echo "ray-starve.sh: needs root and cgroup v1's cpu controller (/sys/fs/cgroup/cpu)" >&2; exit 1; }
group=/sys/fs/cgroup/cpu/ray-starve-$$
mkdir "$group"
[ "$quota_ms" -gt 0 ] && echo $(( quota_ms * 1000 )) > "$group/cpu.cfs_quota_us"
tmp=$(mktemp -d /tmp/ray-starve-XXXX)
pid=""
hog_pids=()
cleanup() {
  [ ${#hog_pids[@]} -gt 0 ] && kill "${hog_pids[@]}" 2>/dev/null || true
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  sleep 2
  pkill -9 -f -- "--temp-dir=$tmp" 2>/dev/null || true
  pkill -9 -f -- "$tmp/session" 2>/dev/null || true
  echo $$ > /sys/fs/cgroup/cpu/cgroup.procs
  sleep 1
  rmdir "$group" 2>/dev/null || true
  echo "logs kept in $tmp"
}
trap cleanup EXIT
echo $$ > "$group/cgroup.procs"
for _ in $(seq "$hogs"); do python3 -c 'while True: pass' & hog_pids+=($!); done
PATH=$venv:$PATH RAY_USAGE_STATS_ENABLED=0 RAY_AUTH_MODE=disabled RAY_ADDRESS= \
  nice -n "$nice" "$venv/ray" start --head --block --disable-usage-stats --num-cpus=2 --object-store-memory=100000000 \
  --include-dashboard=true --dashboard-host=127.0.0.1 --temp-dir="$tmp" --port=$p --dashboard-port=$((p + 1)) \
  --ray-client-server-port=$((p + 2)) --dashboard-agent-listen-port=$((p + 3)) --dashboard-agent-grpc-port=$((p + 4)) \
  --runtime-env-agent-port=$((p + 5)) --metrics-export-port=$((p + 6)) --node-manager-port=$((p + 7)) \
  --object-manager-port=$((p + 8)) > "$tmp/ray-head.log" 2>&1 &
pid=$!
start=$(date +%s)
ready=""
while [ $(( $(date +%s) - start )) -lt "$secs" ]; do
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "ray start ended at $(( $(date +%s) - start )) s"
    break
  fi
  if [ -z "$ready" ] && curl -sf -m 5 "http://127.0.0.1:$((p + 1))/api/jobs/" >/dev/null; then
    ready=$(( $(date +%s) - start ))
    echo "dashboard job API answered at ${ready} s"
  fi
  sleep 3
done
echo "still running after $(( $(date +%s) - start )) s: $(kill -0 "$pid" 2>/dev/null && echo yes || echo no)"
grep -hE '^\[[^]]* [FC] [0-9]+ [0-9]+\]|Check failed|timed out during startup' "$tmp/ray-head.log" "$tmp"/session_latest/logs/* 2>/dev/null | sort -u | head -10 || true
