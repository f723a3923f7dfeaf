#!/usr/bin/env bash
# Measures the series on real containers (the figures of the real-container issue's notes):
#   - for each chapter, the time of `mlops-series up CHAPTER` to checks passed, with the images already
#     on the node (a first up creates the cluster and loads the images; it is then taken down);
#   - the peak memory of every container through the ups, the checks and a soak (cgroup v1
#     memory.max_usage_in_bytes, cgroup v2 memory.peak), sampled every second from inside the node so
#     that Jobs and init containers that exit are caught too;
#   - during the soak (default 10 minutes) every chapter's checks run once a minute;
#   - restarts and OOM kills of every container at the end.
# Usage: make build kind-images && bash hack/kind/measure.sh [-s SOAK_MINUTES] [CHAPTER...]
# Prints a markdown report and keeps it in $MLOPS_CACHE/kind/measure-<time>.md. Deletes the cluster
# at the end (down --all) unless -k.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
# shellcheck source=versions.sh
source "$here/versions.sh"
soak=10 keep=0
while getopts "s:k" o; do case $o in s) soak=$OPTARG ;; k) keep=1 ;; *) exit 2 ;; esac; done
shift $((OPTIND - 1))
chapters=("$@"); [ ${#chapters[@]} -gt 0 ] || chapters=(chapter-6 chapter-5 chapter-8 chapter-10)
bin="${MLOPS_BIN:-$repo/bin/mlops-series}"
overlay="$kcache/kind-config.yaml"
node=mlops-series-control-plane
[ -x "$bin" ] || { log "no CLI at $bin: make build"; exit 1; }
[ -f "$overlay" ] || { log "no $overlay: make kind-images"; exit 1; }
cli() { NO_COLOR=1 "$bin" "$@"; }
out="$kcache/measure-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$out"
peaks="$out/peaks.tsv"; : > "$peaks"

# The sampler: every second, each container's peak memory (cgroup v1 memory.max_usage_in_bytes,
# v2 memory.peak) and its CPU time so far (v1 cpuacct.usage in ns, v2 cpu.stat usage_usec), one line
# per value: ID mem|cpu VALUE. On v1 each controller has its own folder for a container.
sample_script='
for f in $(find /sys/fs/cgroup -name "cri-containerd-*.scope" -type d 2>/dev/null); do
  id=${f##*/cri-containerd-}; id=${id%.scope}
  if [ -f "$f/memory.max_usage_in_bytes" ]; then echo "$id mem $(cat "$f/memory.max_usage_in_bytes")";
  elif [ -f "$f/memory.peak" ]; then echo "$id mem $(cat "$f/memory.peak")"; fi
  if [ -f "$f/cpuacct.usage" ]; then echo "$id cpu $(cat "$f/cpuacct.usage")";
  elif [ -f "$f/cpu.stat" ]; then
    u=$(awk '"'"'$1=="usage_usec"{print $2}'"'"' "$f/cpu.stat"); [ -n "$u" ] && echo "$id cpu ${u}000"; fi
done'
names_script='crictl ps -a -o json'
# Every 15 s the containers' names too: a pod deleted before the end (the training pod of `check
# path`, a chapter's Job) is still named in the report.
sampler() {
  local i=0
  while docker inspect "$node" >/dev/null 2>&1 || sleep 1; do
    docker exec "$node" sh -c "$sample_script" 2>/dev/null >> "$peaks" || true
    if [ $((i % 15)) -eq 0 ]; then
      docker exec "$node" sh -c "$names_script" > "$out/names-$i.json" 2>/dev/null || rm -f "$out/names-$i.json"
    fi
    i=$((i + 1))
    sleep 1
  done
}

{
  echo "# mlops-series on real containers: $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "Machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; engine $(docker version -f '{{.Server.Version}}'); cgroup $(docker info -f '{{.CgroupVersion}}'); node $NODE_IMAGE."
  echo
} > "$out/report.md"

log "creating the cluster and loading images with a first up of ${chapters[0]}"
t0=$(date +%s%N)
cli up "${chapters[0]}" --kind-config "$overlay" > "$out/first-up.log" 2>&1 || { cat "$out/first-up.log" >&2; exit 1; }
first=$(( ($(date +%s%N) - t0) / 1000000 ))
sampler & sampler_pid=$!
trap 'kill $sampler_pid 2>/dev/null || true' EXIT
cli down "${chapters[0]}" > "$out/first-down.log" 2>&1

# Every chapter's images onto the node first: the timed ups below measure installs and checks.
for c in "${chapters[@]}"; do cli images load "$c" >> "$out/images-load.log" 2>&1; done
echo "| chapter | up to checks passed (images on the node) | checks |" >> "$out/report.md"
echo "|---|---|---|" >> "$out/report.md"
echo "| ${chapters[0]} with cluster creation and image loading | $((first / 1000)).$(( (first % 1000) / 100 )) s | |" >> "$out/report.md"
for c in "${chapters[@]}"; do
  log "up $c"
  t0=$(date +%s%N)
  cli up "$c" --kind-config "$overlay" > "$out/up-$c.log" 2>&1 || { cat "$out/up-$c.log" >&2; exit 1; }
  d=$(( ($(date +%s%N) - t0) / 1000000 ))
  checks=$(grep -oE 'checks [0-9]+/[0-9]+ passed' "$out/up-$c.log" | tail -1)
  echo "| $c | $((d / 1000)).$(( (d % 1000) / 100 )) s | $checks |" >> "$out/report.md"
done

# With chapters 5, 6, 7, 8 and 10 up, the whole path once (its DAG run starts the training pod).
if cli status -o json -q 2>/dev/null | python3 -c '
import json, sys
up = {c["chapter"] for c in json.load(sys.stdin).get("chapters", []) if c.get("complete")}
sys.exit(0 if {"chapter-5", "chapter-6", "chapter-7", "chapter-8", "chapter-10"} <= up else 1)'; then
  log "check path"
  t0=$(date +%s%N)
  pathres=passed
  cli check path > "$out/path.log" 2>&1 || { pathres=failed; log "check path failed (see $out/path.log)"; }
  d=$(( ($(date +%s%N) - t0) / 1000000 ))
  echo "| check path | $((d / 1000)).$(( (d % 1000) / 100 )) s | $pathres |" >> "$out/report.md"
fi

log "soak: ${soak} minutes, checks every minute"
# Every container's CPU time at the start of the soak: what each uses while the chapters idle
# (with a check run a minute) is the difference at its end.
docker exec "$node" sh -c "$sample_script" 2>/dev/null | awk '$2=="cpu"' > "$out/cpu-soak-start.tsv" || true
soak_start=$(date +%s)
fails=0 runs=0
end=$(( $(date +%s) + soak * 60 ))
while [ "$(date +%s)" -lt "$end" ]; do
  for c in "${chapters[@]}"; do
    runs=$((runs + 1))
    cli check "$c" >> "$out/soak.log" 2>&1 || { fails=$((fails + 1)); log "check $c failed during the soak"; }
  done
  sleep 60
done
kill $sampler_pid 2>/dev/null || true
soak_secs=$(( $(date +%s) - soak_start ))
# One last sample: the peaks' last line and the soak's CPU end.
docker exec "$node" sh -c "$sample_script" 2>/dev/null | tee -a "$peaks" | awk '$2=="cpu"' > "$out/cpu-soak-end.tsv" || true
docker exec "$node" sh -c "$names_script" > "$out/containers.json"
docker exec "$node" kubectl --kubeconfig /etc/kubernetes/admin.conf get pods -A -o json > "$out/pods.json"

python3 - "$out" "$soak" "$runs" "$fails" "$soak_secs" >> "$out/report.md" <<'PY'
import json, sys
out, soak, runs, fails, soak_secs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
import glob
names = {}
for f in sorted(glob.glob(f"{out}/names-*.json")) + [f"{out}/containers.json"]:
    try:
        doc = json.load(open(f))
    except (OSError, ValueError):
        continue
    for c in doc.get("containers", []):
        l = c.get("labels", {})
        names[c["id"]] = (l.get("io.kubernetes.pod.namespace", "?"), l.get("io.kubernetes.pod.name", "?"),
                          l.get("io.kubernetes.container.name", "?"))
def workload(cid):
    ns, pod, ctr = names[cid]
    # Group by workload: the pod name without its generated suffixes.
    wl = pod
    for _ in range(2):
        head, _, tailpart = wl.rpartition("-")
        if head and (len(tailpart) in (5, 9, 10) or tailpart.isdigit()):
            wl = head
    return (ns, wl, ctr)
def samples(path):
    """The sampler's lines of a file: (container id, "mem" or "cpu", value)."""
    try:
        lines = open(path).read().splitlines()
    except OSError:
        return
    for line in lines:
        parts = line.split()
        if len(parts) == 3 and parts[2].isdigit():
            yield parts[0], parts[1], int(parts[2])
def cpu_at(path):
    # On v1 a container can show in more than one hierarchy; its cpuacct.usage (ns) is the largest
    # and most precise figure.
    got = {}
    for cid, kind, v in samples(path):
        if kind == "cpu":
            got[cid] = max(got.get(cid, 0), v)
    return got
peak = {}
unnamed = set()
for cid, kind, v in samples(f"{out}/peaks.tsv"):
    if cid not in names:
        # A pod sandbox (pause) or a container of a pod deleted before the end (a chapter taken
        # down): nothing names it any more.
        unnamed.add(cid)
    elif kind == "mem":
        key = workload(cid)
        peak[key] = max(peak.get(key, 0), v)
# CPU seconds per workload over its containers' lives (restarted containers add up; CPU time only
# grows, so the largest sample is the last), and during the soak (end minus start, for the
# containers that ran through it).
cpu_total, cpu_soak = {}, {}
for cid, v in cpu_at(f"{out}/peaks.tsv").items():
    if cid in names:
        key = workload(cid)
        cpu_total[key] = cpu_total.get(key, 0) + v
start, end = cpu_at(f"{out}/cpu-soak-start.tsv"), cpu_at(f"{out}/cpu-soak-end.tsv")
for cid, v in end.items():
    if cid in names and cid in start:
        key = workload(cid)
        cpu_soak[key] = cpu_soak.get(key, 0) + max(0, v - start[cid])
limits = {}
restarts, ooms, restarted = 0, [], []
for p in json.load(open(f"{out}/pods.json"))["items"]:
    ns = p["metadata"]["namespace"]
    for c in p["spec"].get("containers", []) + p["spec"].get("initContainers", []):
        lim = c.get("resources", {}).get("limits", {}).get("memory", "-")
        req = c.get("resources", {}).get("requests", {}).get("memory", "-")
        limits[(ns, c["name"])] = (req, lim)
    for s in p["status"].get("containerStatuses", []) + p["status"].get("initContainerStatuses", []):
        restarts += s.get("restartCount", 0)
        if s.get("restartCount", 0):
            restarted.append(f'{ns}/{p["metadata"]["name"]}/{s["name"]}={s["restartCount"]}')
        last = (s.get("lastState") or {}).get("terminated") or {}
        if last.get("reason") == "OOMKilled":
            ooms.append(f'{ns}/{p["metadata"]["name"]}/{s["name"]}')
print()
print(f"Soak: {soak} min, {runs} check runs, {fails} failed. Restarts: {restarts} {' '.join(restarted)}. OOM kills: {len(ooms)} {' '.join(ooms)}")
print(f"({len(unnamed)} sampled cgroups not shown: pod sandboxes and containers of pods deleted before the end.)")
print()
print(f"CPU: seconds over the containers' lives (ups, checks, soak); during the soak, as a share of one core over its {soak_secs} s.")
print(f"All containers together during the soak: {sum(cpu_soak.values()) / 1e9 / max(soak_secs, 1) * 100:.0f}% of one core.")
print()
print("| namespace | workload | container | peak MiB | request | limit | CPU s | CPU % in soak |")
print("|---|---|---|---|---|---|---|---|")
for key, v in sorted(peak.items()):
    ns, wl, ctr = key
    req, lim = limits.get((ns, ctr), ("-", "-"))
    soak_pct = f"{cpu_soak[key] / 1e9 / max(soak_secs, 1) * 100:.1f}" if key in cpu_soak else "-"
    print(f"| {ns} | {wl} | {ctr} | {v / 2**20:.0f} | {req} | {lim} | {cpu_total.get(key, 0) / 1e9:.1f} | {soak_pct} |")
PY
cat "$out/report.md"
log "report: $out/report.md"
if [ $keep -eq 0 ]; then cli down --all > "$out/down.log" 2>&1; fi
