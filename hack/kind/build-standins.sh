#!/usr/bin/env bash
# Builds a stand-in for every image of series/images.yaml, under its exact name and tag, from the
# same software version where it can be had here (PyPI, Debian, the Go module proxy); the charts
# render unchanged. Each stand-in's Dockerfile (hack/kind/standins/NAME) says how it differs from
# upstream. A folder with a file `ref` stands in for the image it names instead, one not in
# series/images.yaml (mlflow-previous: an older MLflow, for the schema upgrade test of
# internal/kindtest). An image already in the engine is not rebuilt; each built image is also
# saved to $MLOPS_CACHE/kind/standins/NAME.tar so a fresh engine loads instead of rebuilding.
#   bash hack/kind/build-standins.sh [NAME...]     # default: all
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
# shellcheck source=versions.sh
source "$here/versions.sh"
export GOFLAGS=-buildvcs=false GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"
# shellcheck source=../toolcache.sh
source "$here/../toolcache.sh"
sdir="$kcache/standins"; mkdir -p "$sdir"
# One build at a time (.ci/run starts one in the background before `make test` may start another):
# the second waits, then finds the images built and skips them.
exec 8>"$sdir/.lock"
flock 8

# share_archive TAR REF NAME: the saved stand-in is also the archive `images load` keeps in the kind
# share folder for the node to import (internal/images: named by the hash of the full reference
# and the image ID; docker save writes the same bytes): a hard link, so the first load into a node
# saves nothing again and the disk holds the archive once. Linked only when TAR holds the image
# the engine has under NAME.
share_dir="${XDG_CACHE_HOME:-$HOME/.cache}/mlops-series/kind-share/archives"
share_archive() {
  local id h list
  [ -f "$1" ] || return 0
  id="$(docker image inspect -f '{{.Id}}' "$3" 2>/dev/null)" || return 0
  id="${id#sha256:}"
  # The image's config is in the archive (docker 20-24 and 25+ layouts); listed whole, not piped
  # into grep -q, whose early exit would fail the pipeline.
  list="$(tar -tf "$1" 2>/dev/null)" || return 0
  grep -qxF -e "$id.json" -e "blobs/sha256/$id" <<<"$list" || return 0
  h="$(printf %s "$2" | sha256sum | cut -c1-16)"
  mkdir -p "$share_dir" 2>/dev/null && ln -f "$1" "$share_dir/$h-$id.tar" 2>/dev/null || true
}

# name -> image reference, read from series/images.yaml (the one list of pinned images).
ref_of() { grep -oE "ref: \"[^\"]*$1:[^\"]*\"" "$repo/series/images.yaml" | head -1 | sed 's/ref: "\(.*\)"/\1/'; }
declare -A match=(
  [airflow]=apache/airflow [mlflow]=mlflow/mlflow [feast]=feastdev/feature-server
  [postgres]=library/postgres [redis]=library/redis [pushgateway]=prom/pushgateway
  [grafana]=grafana/grafana [statsd-exporter]=prom/statsd-exporter [prometheus]=prom/prometheus
  [kuberay-operator]=kuberay/operator
  [source-controller]=fluxcd/source-controller [kustomize-controller]=fluxcd/kustomize-controller
)
all=(postgres redis pushgateway statsd-exporter grafana mlflow mlflow-previous feast airflow prometheus kuberay-operator source-controller kustomize-controller)
names=("$@"); [ ${#names[@]} -gt 0 ] || names=("${all[@]}")
# mlflow-previous is built on the pinned mlflow stand-in: that one first.
if [[ " ${names[*]} " == *" mlflow-previous "* && " ${names[*]} " != *" mlflow "* ]]; then names=(mlflow "${names[@]}"); fi

for n in "${names[@]}"; do
  if [ -f "$here/standins/$n/ref" ]; then
    ref="$(grep -v '^#' "$here/standins/$n/ref" | head -1)"
  else
    src="${match[$n]:-}"; [ -n "$src" ] || { log "unknown stand-in $n (known: ${all[*]})"; exit 1; }
    ref="$(ref_of "$src")"; [ -n "$ref" ] || { log "no image matching $src in series/images.yaml"; exit 1; }
  fi
  # The engine names docker.io images without the registry.
  short="${ref#docker.io/}"; short="${short#library/}"
  # The stand-in's inputs (its folder, the reference it stands in for, the image it is built on
  # when that is another stand-in): a change rebuilds it.
  base=""
  if [ "$n" == mlflow-previous ]; then
    base="$(ref_of "${match[mlflow]}")"; base="${base#docker.io/}"
    docker image inspect "$base" >/dev/null 2>&1 || { log "mlflow-previous is built on $base: build-standins.sh mlflow first"; exit 1; }
  fi
  inputs="$( { echo "$ref"; [ -z "$base" ] || docker image inspect -f '{{.Id}}' "$base"; tar -C "$here/standins/$n" --sort=name --mtime=@0 --owner=0 --group=0 -c . ; } | sha256sum | cut -c1-16)"
  if built_from "$short" "$inputs"; then share_archive "$sdir/$n.tar" "$ref" "$short"; continue; fi
  if [ -f "$sdir/$n.tar" ] && [ "$(cat "$sdir/$n.inputs" 2>/dev/null)" == "$inputs" ]; then
    docker load -i "$sdir/$n.tar" >/dev/null && { share_archive "$sdir/$n.tar" "$ref" "$short"; continue; }
  fi
  t0=$SECONDS
  ctx="$kbuild/standin-$n"; rm -rf "$ctx"; mkdir -p "$ctx"; cp -r "$here/standins/$n/." "$ctx/"
  bargs=()
  case "$n" in
    airflow|mlflow|mlflow-previous|feast|grafana)
      ensure_rootfs py-bookworm
      cp /etc/ssl/certs/ca-certificates.crt "$ctx/" ;;&
    mlflow-previous)
      # ghcr.io/mlflow/mlflow:vX.Y.Z-full -> X.Y.Z
      v="${ref##*:v}"; bargs+=(--build-arg "MLFLOW_VERSION=${v%%-*}" --build-arg "BASE=$base") ;;
    postgres|redis|pushgateway)
      ensure_rootfs trixie-node ;;
    statsd-exporter|prometheus)
      # As upstream: a busybox base (Debian's static busybox) under a static Go binary.
      cp "$(command -v busybox || echo /bin/busybox)" "$ctx/busybox" ;;&
    statsd-exporter)
      CGO_ENABLED=0 GOBIN="$ctx" go install -trimpath -ldflags "-s -w" "github.com/prometheus/statsd_exporter@${ref##*:}" ;;
    kuberay-operator)
      # The binary the test control plane runs (hack/build-testenv.sh builds it static, at the same
      # version), or a build of its own when that one is missing or another version.
      v="${ref##*:}"; tbin="${MLOPS_TESTENV_BIN:-$cache/testenv}"
      if [ -x "$tbin/ray-operator" ] && [ "$(cat "$tbin/ray-operator.version" 2>/dev/null)" == "$v" ] \
          && ! grep -qa 'ld-linux' "$tbin/ray-operator"; then
        cp "$tbin/ray-operator" "$ctx/manager"
      else
        CGO_ENABLED=0 GOBIN="$ctx" go install -trimpath -ldflags "-s -w" "github.com/ray-project/kuberay/ray-operator@$v"
        mv "$ctx/ray-operator" "$ctx/manager"
      fi ;;
    source-controller|kustomize-controller)
      # The binaries the test control plane runs (hack/build-testenv.sh builds them static, at the
      # same version); that script builds them when missing.
      v="${ref##*:}"; tbin="${MLOPS_TESTENV_BIN:-$cache/testenv}"
      if ! [ -x "$tbin/$n" ] || [ "$(cat "$tbin/$n.version" 2>/dev/null)" != "$v" ]; then
        bash "$repo/hack/build-testenv.sh"
      fi
      cp "$tbin/$n" "$ctx/$n" ;;
    prometheus)
      # Prometheus' Go module versions are v0.<3-digit minor>.<patch> for release v3.<minor>.<patch>.
      v="${ref##*:v}"; major="${v%%.*}"; rest="${v#*.}"; minor="${rest%%.*}"; patch="${rest#*.}"
      modv="v0.$((major * 100 + minor)).$patch"
      # Its go.mod has replace lines, so `go install pkg@version` refuses it: a wrapper module
      # requires it and repeats them.
      mod="$kbuild/prometheus-$modv"; mkdir -p "$mod"
      if [ ! -f "$mod/go.sum" ]; then
        gomod_src="$(go mod download -json "github.com/prometheus/prometheus@$modv" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
        { printf 'module mlops-series.local/prometheus-standin\n\ngo 1.26.0\n\nrequire github.com/prometheus/prometheus %s\n\n' "$modv"
          grep -E '^replace ' "$gomod_src" || true; } > "$mod/go.mod"
        printf '//go:build tools\n\npackage tools\n\nimport (\n\t_ "github.com/prometheus/prometheus/cmd/prometheus"\n\t_ "github.com/prometheus/prometheus/cmd/promtool"\n)\n' > "$mod/tools.go"
        (cd "$mod" && go mod tidy -e >/dev/null 2>&1 || true)
      fi
      for c in prometheus promtool; do
        (cd "$mod" && CGO_ENABLED=0 go build -trimpath -tags "tools netgo remove_all_sd enable_kubernetes_sd" \
          -ldflags "-s -w -X github.com/prometheus/common/version.Version=$v" -o "$ctx/$c" \
          "github.com/prometheus/prometheus/cmd/$c")
      done ;;
  esac
  log "building stand-in $short"
  dbuild -q "${bargs[@]}" --label "mlops-series.inputs=$inputs" -t "$short" "$ctx"
  docker save -o "$sdir/$n.tar.tmp" "$short" && mv "$sdir/$n.tar.tmp" "$sdir/$n.tar" && echo "$inputs" > "$sdir/$n.inputs"
  share_archive "$sdir/$n.tar" "$ref" "$short"
  rm -rf "$ctx"   # made afresh by each build
  log "built $short in $((SECONDS - t0))s ($(docker image inspect -f '{{.Size}}' "$short" | awk '{printf "%d MB", $1/1e6}'))"
done
