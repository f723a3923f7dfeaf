#!/usr/bin/env bash
# `make kind-images`: everything the real-container layer needs, built here without any registry:
# a Docker Engine that answers (hack/kind/docker-up.sh), the kind node image (build-node.sh), a
# stand-in for every image of series/images.yaml and one for the older MLflow of the schema upgrade
# test (build-standins.sh), and the kind config overlay for this machine at
# $MLOPS_CACHE/kind/kind-config.yaml, for `mlops-series up --kind-config`.
# Cached: a second run only checks.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=versions.sh
source "$here/versions.sh"
t0=$SECONDS
# Debian packages the builds need: debootstrap (root filesystems), libseccomp-dev (runc), busybox.
missing=()
command -v debootstrap >/dev/null || missing+=(debootstrap)
[ -f /usr/include/seccomp.h ] || missing+=(libseccomp-dev)
[ -x /bin/busybox ] || command -v busybox >/dev/null || missing+=(busybox-static)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=(); [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  log "installing ${missing[*]} (Debian packages)"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
bash "$here/docker-up.sh"
# The node's binaries and the Python stand-ins build in parallel: one is CPU-bound (Go), the other
# mostly waits on PyPI.
bash "$here/build-node.sh" &
node_pid=$!
bash "$here/build-standins.sh" postgres redis pushgateway grafana mlflow mlflow-previous feast airflow &
py_pid=$!
node_rc=0; py_rc=0
wait "$node_pid" || node_rc=$?
wait "$py_pid" || py_rc=$?
[ $node_rc -eq 0 ] || { log "node image build failed"; exit 1; }
[ $py_rc -eq 0 ] || { log "stand-in build failed"; exit 1; }
bash "$here/build-standins.sh" statsd-exporter prometheus kuberay-operator source-controller kustomize-controller
# Every Go-built tool is there now (the control plane's binaries are built by `make deps`, the
# Flux ones also for the stand-ins above): their build cache is dropped (hack/toolcache.sh).
# shellcheck source=../toolcache.sh
source "$here/../toolcache.sh"
tb="${MLOPS_TESTENV_BIN:-$cache/testenv}"
drop_tool_gocache "$tb/kube-apiserver" "$tb/kube-controller-manager" "$tb/kube-scheduler" \
  "$kbin/kubelet" "$kbin/kubeadm" "$kbin/kubectl" "$kbin/kube-proxy"

# The overlay: the node image built here, and the containerd patch only where the engine cannot
# lower oom_score_adj (the kubelet gives pod sandboxes -998). The cgroup v1 kubelet patch is added by
# the CLI itself when the engine reports cgroup v1.
overlay="$kcache/kind-config.yaml"
{
  echo "# Written by hack/kind/build-images.sh for this machine: use with --kind-config."
  echo "kind: Cluster"
  echo "apiVersion: kind.x-k8s.io/v1alpha4"
  echo "nodes:"
  echo "  - role: control-plane"
  echo "    image: $NODE_IMAGE"
  if ! docker run --rm mlops-series/probe:busybox sh -c 'echo -999 > /proc/self/oom_score_adj' >/dev/null 2>&1; then
    echo "# This engine cannot lower oom_score_adj (Permission denied even for root): containerd must not try."
    echo "containerdConfigPatches:"
    echo "  - |-"
    echo "    [plugins.\"io.containerd.grpc.v1.cri\"]"
    echo "      restrict_oom_score_adj = true"
  fi
} > "$overlay.tmp"
mv "$overlay.tmp" "$overlay"
log "ready in $((SECONDS - t0))s: node $NODE_IMAGE, stand-ins, overlay $overlay"
