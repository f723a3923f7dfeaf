#!/usr/bin/env bash
# Builds the series' own images (series/images.yaml entries with `build:`; chapters 3, 7 and 9) the
# way the real-container layer builds them: `mlops-series images build CHAPTER --no-load` on the
# Python base built here (no registry serves python:3.11-slim-bookworm on these machines) with the
# machine's CA bundle for pip. .ci/run starts it in the background beside the Go builds of `make
# deps`: the images wait mostly on PyPI, npm and Debian's mirror. The layer's own `images build`
# then finds them up to date (their inputs label) and only loads them into the kind node.
# usage: build-own-images.sh [CHAPTER...]   (default: chapter-7 chapter-3 chapter-9 chapter-2)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
# shellcheck source=versions.sh
source "$here/versions.sh"
chapters=("$@"); [ ${#chapters[@]} -gt 0 ] || chapters=(chapter-7 chapter-3 chapter-9 chapter-2)
bin="$kcache/ci-bin/mlops-series"
ensure_rootfs py-bookworm
# The same flags as `make build`, so the Go build cache serves both.
(cd "$repo" && go build -trimpath -o "$bin" ./cmd/mlops-series)
for ch in "${chapters[@]}"; do
  t0=$SECONDS
  "$bin" images build "$ch" --no-load \
    --build-arg BASE=mlops-series.local/rootfs:py-bookworm --ca-file /etc/ssl/certs/ca-certificates.crt
  log "own images of $ch built in $((SECONDS - t0)) s"
done
