#!/usr/bin/env bash
# Makes sure a Docker Engine answers, for the real-container test layer (and for readers on a Debian
# host without one). Idempotent:
#   1. when `docker info` already answers, nothing is installed or started;
#   2. otherwise Debian's docker.io and containerd are installed (when missing) and the system dockerd
#      is started in the background (no systemd on these machines), logging to $MLOPS_CACHE/docker.log;
#   3. a probe runs `docker run --privileged` (kind's nodes are privileged containers). Only when it
#      fails with "unable to apply caps" (a host whose capability bounding set lacks CAP_SYS_RESOURCE,
#      as on these VMs) is the OCI runtime wrapper hack/kind/runc-nocap installed and made the
#      daemon's default runtime, and the daemon restarted.
# The probe image is a one-file busybox image built here from Debian's busybox-static: no pulls.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${MLOPS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mlops-series}"
mkdir -p "$cache"
log() { echo "docker-up: $*" >&2; }
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)

answers() { timeout 10 docker info >/dev/null 2>&1; }

install_engine() {
  local missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  command -v containerd >/dev/null || missing+=(containerd)
  command -v busybox >/dev/null || [ -x /bin/busybox ] || missing+=(busybox-static)
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]} (Debian packages)"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

start_daemon() {
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
    "${sudo[@]}" systemctl start docker && return 0
  fi
  log "starting dockerd (log: $cache/docker.log)"
  "${sudo[@]}" sh -c "nohup dockerd >>'$cache/docker.log' 2>&1 &"
  for _ in $(seq 60); do answers && return 0; sleep 1; done
  tail -20 "$cache/docker.log" >&2
  log "dockerd did not answer within 60s"
  return 1
}

stop_daemon() {
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
    "${sudo[@]}" systemctl restart docker; return 0
  fi
  local pid
  pid="$(pgrep -x dockerd || true)"
  [ -n "$pid" ] || return 0
  "${sudo[@]}" kill "$pid"
  for _ in $(seq 30); do pgrep -x dockerd >/dev/null || return 0; sleep 1; done
  log "dockerd did not stop"; return 1
}

probe_image() {
  docker image inspect mlops-series/probe:busybox >/dev/null 2>&1 && return 0
  local d; d="$(mktemp -d)"
  cp "$(command -v busybox || echo /bin/busybox)" "$d/busybox"
  printf 'FROM scratch\nCOPY busybox /bin/busybox\nENTRYPOINT ["/bin/busybox"]\n' > "$d/Dockerfile"
  docker build -q -t mlops-series/probe:busybox "$d" >/dev/null 2>&1
  rm -rf "$d"
}

privileged_ok() { docker run --rm --privileged mlops-series/probe:busybox true >/tmp/mlops-probe.$$ 2>&1; }

if ! answers; then
  install_engine
  start_daemon
fi
probe_image
if privileged_ok; then
  rm -f /tmp/mlops-probe.$$
  log "engine ok ($(docker version -f '{{.Server.Version}}'), --privileged works)"
  exit 0
fi
if ! grep -q 'apply caps' /tmp/mlops-probe.$$; then
  cat /tmp/mlops-probe.$$ >&2; rm -f /tmp/mlops-probe.$$
  log "docker run --privileged fails for a reason this script does not know how to fix"
  exit 1
fi
rm -f /tmp/mlops-probe.$$
# The VM's capability bounding set lacks CAP_SYS_RESOURCE: a privileged container asks for every
# capability and runc fails to apply them. Register a wrapper that drops the missing ones.
log "--privileged fails here (capability bounding set $(awk '/CapBnd/{print $2}' /proc/self/status)): installing the runc wrapper"
"${sudo[@]}" install -m 0755 "$here/runc-nocap" /usr/local/bin/mlops-series-runc
"${sudo[@]}" mkdir -p /etc/docker
python3 - <<'PY'
import json, os, subprocess, sys
path = "/etc/docker/daemon.json"
cfg = {}
if os.path.exists(path):
    with open(path) as f:
        cfg = json.load(f)
cfg.setdefault("runtimes", {})["mlops-series-runc"] = {"path": "/usr/local/bin/mlops-series-runc"}
cfg["default-runtime"] = "mlops-series-runc"
data = json.dumps(cfg, indent=2) + "\n"
subprocess.run(["tee", path] if os.geteuid() == 0 else ["sudo", "tee", path], input=data.encode(), stdout=subprocess.DEVNULL, check=True)
PY
stop_daemon
start_daemon
if ! privileged_ok; then
  cat /tmp/mlops-probe.$$ >&2; rm -f /tmp/mlops-probe.$$
  log "docker run --privileged still fails with the wrapper"
  exit 1
fi
rm -f /tmp/mlops-probe.$$
log "engine ok ($(docker version -f '{{.Server.Version}}'), --privileged works through the runc wrapper)"
