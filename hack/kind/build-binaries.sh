#!/usr/bin/env bash
# Builds, once, every binary the kind node image and the cluster's own images need, from the Go
# module proxy (no other network): containerd, runc, CNI plugins, crictl, kubelet, kubeadm, kubectl,
# kube-proxy (from the same wrapper module as the test control plane: shared build cache), CoreDNS,
# the local-path provisioner, and a static pause. Output: $MLOPS_CACHE/kind/bin.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=versions.sh
source "$here/versions.sh"
# GOTOOLCHAIN=local, as hack/build-testenv.sh: the same compiler, so the Kubernetes packages share
# the build cache with the test control plane.
export GOFLAGS=-buildvcs=false GOTOOLCHAIN=local
# shellcheck source=../toolcache.sh
source "$here/../toolcache.sh"
tbin="${MLOPS_TESTENV_BIN:-$cache/testenv}"

gobuild() { # name version cgo tags pkg@version
  local name=$1 ver=$2 cgo=$3 tags=$4 pkg=$5 t0=$SECONDS
  have "$name" "$ver" && return 0
  log "building $name $ver"
  local tmp; tmp="$(mktemp -d)"
  CGO_ENABLED=$cgo GOBIN="$tmp" go install -trimpath -tags "$tags" -ldflags "-s -w" "$pkg"
  mv "$tmp/$(basename "${pkg%@*}")" "$kbin/$name"
  rm -rf "$tmp"
  stamp "$name" "$ver"
  log "built $name in $((SECONDS - t0))s"
}

ctd_tags="no_aufs no_zfs no_btrfs no_devmapper"
gobuild containerd "$CONTAINERD_VERSION" 0 "$ctd_tags" "github.com/containerd/containerd/v2/cmd/containerd@$CONTAINERD_VERSION"
gobuild ctr "$CONTAINERD_VERSION" 0 "$ctd_tags" "github.com/containerd/containerd/v2/cmd/ctr@$CONTAINERD_VERSION"
gobuild containerd-shim-runc-v2 "$CONTAINERD_VERSION" 0 "$ctd_tags" "github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2@$CONTAINERD_VERSION"
# runc needs cgo and libseccomp (Debian's libseccomp-dev on the build host).
if ! have runc "$RUNC_VERSION"; then
  [ -f /usr/include/seccomp.h ] || { log "runc needs libseccomp-dev (apt-get install libseccomp-dev)"; exit 1; }
fi
gobuild runc "$RUNC_VERSION" 1 "seccomp urfave_cli_no_docs" "github.com/opencontainers/runc@$RUNC_VERSION"
for p in ipam/host-local main/loopback main/ptp meta/portmap; do
  gobuild "cni-$(basename $p)" "$CNI_PLUGINS_VERSION" 0 "" "github.com/containernetworking/plugins/plugins/$p@$CNI_PLUGINS_VERSION"
done
gobuild crictl "$CRICTL_VERSION" 0 "" "sigs.k8s.io/cri-tools/cmd/crictl@$CRICTL_VERSION"
gobuild coredns "$COREDNS_VERSION" 0 "" "github.com/coredns/coredns@$COREDNS_VERSION"
gobuild local-path-provisioner "$LOCAL_PATH_VERSION" 0 "" "github.com/rancher/local-path-provisioner@$LOCAL_PATH_VERSION"

# pause: the pod sandbox's init process; a static C program of the project's own.
if ! have pause v1; then
  gcc -static -Os -o "$kbin/pause" "$here/node/pause.c" && strip "$kbin/pause" && stamp pause v1
fi

# Kubernetes node binaries and the control-plane components, from a wrapper module that repeats
# k8s.io/kubernetes' replace lines at the published staging versions (as hack/build-testenv.sh does;
# the same GOCACHE makes the shared packages free the second time).
kube_cmds=(kubelet kubeadm kubectl kube-proxy)
need=0
for c in "${kube_cmds[@]}"; do have "$c" "$KUBE_VERSION" || need=1; done
if [[ $need == 1 ]]; then
  mod="$kbuild/kube-$KUBE_VERSION"
  mkdir -p "$mod"
  if [ ! -f "$mod/go.sum" ]; then
    gomod_src="$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
    {
      printf 'module mlops-series.local/kind-kube\n\ngo 1.26.0\n\nrequire k8s.io/kubernetes %s\n\n' "$KUBE_VERSION"
      grep -oE 'k8s\.io/[a-z0-9-]+ => \./staging/src/k8s\.io/[a-z0-9-]+' "$gomod_src" |
        awk -v v="$STAGING_VERSION" '{print "replace " $1 " => " $1 " " v}'
    } > "$mod/go.mod"
    {
      printf '//go:build tools\n\npackage tools\n\nimport (\n'
      for c in "${kube_cmds[@]}"; do printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$c"; done
      printf ')\n'
    } > "$mod/tools.go"
    (cd "$mod" && go mod tidy -e >/dev/null 2>&1 || true)
  fi
  minor="${KUBE_VERSION#v1.}"; minor="${minor%%.*}"
  ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$KUBE_VERSION"
  ldflags+=" -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor"
  ldflags+=" -X k8s.io/component-base/version.gitTreeState=clean"
  ldflags+=" -X k8s.io/component-base/version.buildDate=1970-01-01T00:00:00Z"
  for c in "${kube_cmds[@]}"; do
    have "$c" "$KUBE_VERSION" && continue
    # cgo as in hack/build-testenv.sh, so both share the build cache; the images carry glibc.
    t0=$SECONDS
    log "building $c $KUBE_VERSION (slow when cold)"
    (cd "$mod" && go build -tags tools -trimpath -ldflags "$ldflags" -o "$kbin/$c" "k8s.io/kubernetes/cmd/$c")
    stamp "$c" "$KUBE_VERSION"
    log "built $c in $((SECONDS - t0))s"
  done
fi
# The control plane's own binaries (kube-apiserver, kube-controller-manager, kube-scheduler, etcd)
# are the test control plane's: hack/build-testenv.sh builds them once (a no-op when cached).
MLOPS_CACHE="$cache" bash "$here/../build-testenv.sh"
for c in kube-apiserver kube-controller-manager kube-scheduler etcd; do
  v="$KUBE_VERSION"; [ "$c" = etcd ] && v="$ETCD_VERSION"
  have "$c" "$v" && continue
  [ "$(cat "$tbin/$c.version" 2>/dev/null)" == "$v" ] || { log "$tbin/$c is not at $v"; exit 1; }
  cp "$tbin/$c" "$kbin/$c"; stamp "$c" "$v"
done
log "binaries ready in $kbin"
