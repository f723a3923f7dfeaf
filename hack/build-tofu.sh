#!/usr/bin/env bash
# Builds, once, OpenTofu (the open-source Terraform fork, same CLI and language) from its Go module,
# for the tests of the terraform provisioner (internal/cluster/terraform_test.go) on machines where
# neither `terraform` nor `tofu` is installed and releases.hashicorp.com is not reachable.
# Output: $MLOPS_CACHE/tools/tofu-$TOFU_VERSION (default cache ~/.cache/mlops-series); a binary
# already there is not rebuilt. The build is heavy (several minutes on 2 cores when cold).
set -euo pipefail

TOFU_VERSION=v1.12.6   # github.com/opentofu/opentofu (cmd/tofu); its go.mod asks for go >= 1.26.6
# opentofu's go.mod replaces hcl with OpenTofu's fork; replace lines only apply in the main module,
# so the wrapper module below must repeat this one (checked against the module's go.mod at build time).
HCL_REPLACE='github.com/hashicorp/hcl/v2 v2.20.1 => github.com/opentofu/hcl/v2 v2.20.2-0.20251021132045-587d123c2828'

cache="${MLOPS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mlops-series}"
tools="$cache/tools"
out="$tools/tofu-$TOFU_VERSION"
work="$cache/tofu-build"
log() { echo "build-tofu: $*" >&2; }
# shellcheck source=toolcache.sh
source "$(dirname "$0")/toolcache.sh"

if [[ -x "$out" ]]; then
  log "$out present"
  exit 0
fi
mkdir -p "$tools" "$work"
# auto: the wrapper's toolchain line picks the project's Go (go1.26.10, through the module proxy
# when the local Go is older).
export GOTOOLCHAIN="${GOTOOLCHAIN:-auto}" GOFLAGS=-buildvcs=false CGO_ENABLED=0

gomod_src="$(go mod download -json "github.com/opentofu/opentofu@$TOFU_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
upstream_replaces="$(grep -E '^replace ' "$gomod_src" | sed 's/^replace //')"
if [[ "$upstream_replaces" != "$HCL_REPLACE" ]]; then
  echo "build-tofu: the replace lines of opentofu $TOFU_VERSION's go.mod changed; update HCL_REPLACE:" >&2
  echo "$upstream_replaces" >&2
  exit 1
fi

mod="$work/$TOFU_VERSION"
mkdir -p "$mod"
log "building tofu $TOFU_VERSION in wrapper module $mod (slow when cold)"
# godebug settings, like replaces, only count in the main module: repeat opentofu's.
cat > "$mod/go.mod" <<GOMOD
module mlops-series.local/tofu

go 1.26.6

toolchain go1.26.10

godebug (
	tlsmlkem=0
	winsymlink=0
)

require github.com/opentofu/opentofu $TOFU_VERSION

replace $HCL_REPLACE
GOMOD
cat > "$mod/tools.go" <<'GO'
//go:build tools

package tools

import _ "github.com/opentofu/opentofu/cmd/tofu"
GO
(cd "$mod" && go mod tidy)
tmp="$out.tmp.$$"
# As OpenTofu's release build (.goreleaser.yaml): CGO off, -trimpath, -s -w, version.dev=no.
(cd "$mod" && go build -trimpath -ldflags "-s -w -X github.com/opentofu/opentofu/version.dev=no" \
  -o "$tmp" github.com/opentofu/opentofu/cmd/tofu)
mv "$tmp" "$out"
log "$("$out" version 2>/dev/null | grep -E '^OpenTofu v' || true) ready at $out"
