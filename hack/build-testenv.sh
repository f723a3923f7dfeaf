#!/usr/bin/env bash
# Builds, once, the binaries of the test control plane (internal/testenv) into a cached folder:
# etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok, all from their Go modules,
# and the operators the chapters' control-plane tests run beside them (KubeRay's, chapter 9).
# A binary already present at the pinned version is not rebuilt. Output folder: $MLOPS_TESTENV_BIN
# (default: ~/.cache/mlops-series/testenv, outside the clone so that CI runs of fresh clones reuse it).
set -euo pipefail

KUBE_VERSION=v1.37.2      # k8s.io/kubernetes; staging modules at v0.37.2
STAGING_VERSION=v0.37.2
ETCD_VERSION=v3.6.16      # go.etcd.io/etcd/server/v3 (module root is package main)
KWOK_VERSION=v0.8.0       # sigs.k8s.io/kwok/cmd/kwok
KUBERAY_VERSION=v1.5.0    # github.com/ray-project/kuberay/ray-operator (charts/kuberay-operator appVersion)
FLUX_VERSION=v1.9.6       # github.com/fluxcd/{source,kustomize}-controller (charts/flux appVersion)

cache="${MLOPS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mlops-series}"
bin="${MLOPS_TESTENV_BIN:-$cache/testenv}"
work="${MLOPS_TESTENV_WORK:-$cache/testenv-build}"
mkdir -p "$bin" "$work"
# One build at a time (the real-container layer's stand-ins may ask for the Flux binaries while
# `make deps` builds them): the second waits, then finds them built.
exec 9>"$bin/.build.lock"
flock 9
export GOTOOLCHAIN=local GOFLAGS=-buildvcs=false
# shellcheck source=toolcache.sh
source "$(dirname "$0")/toolcache.sh"

have() { # name version
  [[ -x "$bin/$1" && -f "$bin/$1.version" && "$(cat "$bin/$1.version")" == "$2" ]]
}
log() { echo "build-testenv: $*" >&2; }

# --- etcd ---------------------------------------------------------------------------------------
# The server module's go.mod replaces its sibling modules with relative paths, so `go install @v`
# refuses it: build it from a wrapper module that repeats those replaces at the published version.
if ! have etcd "$ETCD_VERSION"; then
  log "building etcd $ETCD_VERSION"
  mod="$work/etcd"
  mkdir -p "$mod"
  cat > "$mod/go.mod" <<GOMOD
module mlops-series.local/testenv-etcd

go 1.26.0

require go.etcd.io/etcd/server/v3 $ETCD_VERSION

replace go.etcd.io/etcd/api/v3 => go.etcd.io/etcd/api/v3 $ETCD_VERSION
replace go.etcd.io/etcd/client/pkg/v3 => go.etcd.io/etcd/client/pkg/v3 $ETCD_VERSION
replace go.etcd.io/etcd/client/v3 => go.etcd.io/etcd/client/v3 $ETCD_VERSION
replace go.etcd.io/etcd/pkg/v3 => go.etcd.io/etcd/pkg/v3 $ETCD_VERSION
GOMOD
  cat > "$mod/tools.go" <<'GO'
//go:build tools

package tools

import _ "go.etcd.io/etcd/server/v3"
GO
  (cd "$mod" && go mod tidy -e >/dev/null 2>&1 || true)
  (cd "$mod" && go build -trimpath -ldflags "-s -w" -o "$bin/etcd" go.etcd.io/etcd/server/v3)
  echo "$ETCD_VERSION" > "$bin/etcd.version"
fi

# --- kwok ---------------------------------------------------------------------------------------
if ! have kwok "$KWOK_VERSION"; then
  log "building kwok $KWOK_VERSION"
  GOBIN="$bin" go install "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  echo "$KWOK_VERSION" > "$bin/kwok.version"
fi

# --- Kubernetes control plane -------------------------------------------------------------------
need_kube=0
for c in kube-apiserver kube-controller-manager kube-scheduler; do
  have "$c" "$KUBE_VERSION" || need_kube=1
done
if [[ $need_kube == 1 ]]; then
  mod="$work/kube"
  mkdir -p "$mod"
  log "preparing wrapper module for k8s.io/kubernetes $KUBE_VERSION in $mod"
  # k8s.io/kubernetes replaces every k8s.io/* staging module with a local path; a module that
  # requires it must repeat those replaces, pointing at the published versions.
  gomod_src="$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
  {
    echo "module mlops-series.local/testenv-kube"
    echo
    echo "go 1.26.0"
    echo
    echo "require k8s.io/kubernetes $KUBE_VERSION"
    echo
    grep -oE 'k8s\.io/[a-z0-9-]+ => \./staging/src/k8s\.io/[a-z0-9-]+' "$gomod_src" |
      awk -v v="$STAGING_VERSION" '{print "replace " $1 " => " $1 " " v}'
  } > "$mod/go.mod"
  cat > "$mod/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
)
GO
  (cd "$mod" && go mod tidy -e >/dev/null 2>&1 || true)
  (cd "$mod" && go mod download k8s.io/kubernetes)
  (cd "$mod" && go get "k8s.io/kubernetes@$KUBE_VERSION" >/dev/null 2>&1 || true)
  ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$KUBE_VERSION"
  ldflags+=" -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=37"
  ldflags+=" -X k8s.io/component-base/version.gitTreeState=clean"
  ldflags+=" -X k8s.io/component-base/version.buildDate=1970-01-01T00:00:00Z"
  for c in kube-apiserver kube-controller-manager kube-scheduler; do
    if ! have "$c" "$KUBE_VERSION"; then
      log "building $c $KUBE_VERSION (slow when cold)"
      (cd "$mod" && go build -tags tools -trimpath -ldflags "$ldflags" -o "$bin/$c" "k8s.io/kubernetes/cmd/$c")
      echo "$KUBE_VERSION" > "$bin/$c.version"
    fi
  done
fi
# --- KubeRay operator (chapter 9) ----------------------------------------------------------------
# Its module has no replace directives: `go install @v` builds it (about 4 minutes on 2 cores).
# Static (no cgo), so that the real-container layer's stand-in image reuses this very binary
# (hack/kind/build-standins.sh kuberay-operator).
if ! have ray-operator "$KUBERAY_VERSION"; then
  log "building the KubeRay operator $KUBERAY_VERSION"
  CGO_ENABLED=0 GOBIN="$bin" go install -trimpath -ldflags "-s -w" "github.com/ray-project/kuberay/ray-operator@$KUBERAY_VERSION"
  echo "$KUBERAY_VERSION" > "$bin/ray-operator.version"
fi
# --- Flux's source-controller and kustomize-controller (chapter 2) ------------------------------
# Each module's go.mod replaces its api/ submodule with a local path, which `go install @v` refuses:
# build from a writable copy of the module with that replace dropped, so the api module comes from
# the proxy at the version go.mod requires. source-controller v1.9.6 requires
# github.com/fluxcd/pkg/artifact v0.18.3, which the module proxy here does not serve (403); v0.18.0
# has the same API for what it uses. Static, like the KubeRay operator, so the real-container
# layer's stand-in images reuse these binaries. About 9 and 7 minutes on 2 cores, cold.
for c in source-controller kustomize-controller; do
  if ! have "$c" "$FLUX_VERSION"; then
    log "building Flux's $c $FLUX_VERSION"
    src="$(go mod download -json "github.com/fluxcd/$c@$FLUX_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')"
    mod="$work/flux-$c"
    rm -rf "$mod"; cp -r "$src" "$mod"; chmod -R u+w "$mod"
    (cd "$mod" && go mod edit -dropreplace "github.com/fluxcd/$c/api")
    if [[ $c == source-controller ]]; then
      (cd "$mod" && go mod edit -require github.com/fluxcd/pkg/artifact@v0.18.0)
    fi
    (cd "$mod" && CGO_ENABLED=0 go build -mod=mod -trimpath -ldflags "-s -w" -o "$bin/$c" .)
    echo "$FLUX_VERSION" > "$bin/$c.version"
  fi
done
log "binaries ready in $bin"
