#!/usr/bin/env bash
# Builds, once, the kind Terraform provider (tehcyx/kind, the provider infra/terraform/kind uses)
# from its Go module into a local provider mirror, so that `terraform init -plugin-dir DIR` (what
# mlops-series does when $MLOPS_TF_PLUGIN_DIR is set) and the tests' `validate`/`plan` of
# infra/terraform/kind work without registry.terraform.io. Layout (one copy per registry host,
# since Terraform reads tehcyx/kind as registry.terraform.io/tehcyx/kind and OpenTofu as
# registry.opentofu.org/tehcyx/kind):
#   $MIRROR/<host>/tehcyx/kind/<version>/<os>_<arch>/terraform-provider-kind_v<version>
# MIRROR: $MLOPS_TF_PLUGIN_DIR, default $MLOPS_CACHE/tools/terraform-plugins.
# Source: the module github.com/tehcyx/terraform-provider-kind@$KIND_PROVIDER_VERSION from the Go
# module proxy, or, when $TF_KIND_PROVIDER_SRC names a checkout of that tag, that checkout (for
# module proxies that do not serve the module).
set -euo pipefail

KIND_PROVIDER_VERSION=v0.11.0   # keep in step with infra/terraform/kind/versions.tf

cache="${MLOPS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mlops-series}"
mirror="${MLOPS_TF_PLUGIN_DIR:-$cache/tools/terraform-plugins}"
work="$cache/tf-mirror-build/$KIND_PROVIDER_VERSION"
src="${TF_KIND_PROVIDER_SRC:-}"
log() { echo "build-tf-mirror: $*" >&2; }

export GOTOOLCHAIN="${GOTOOLCHAIN:-auto}" GOFLAGS=-buildvcs=false CGO_ENABLED=0
ver="${KIND_PROVIDER_VERSION#v}"
platform="$(go env GOOS)_$(go env GOARCH)"
name="terraform-provider-kind_v$ver"
hosts=(registry.terraform.io registry.opentofu.org)

have=1
for h in "${hosts[@]}"; do
  [[ -x "$mirror/$h/tehcyx/kind/$ver/$platform/$name" ]] || have=0
done
if [[ $have == 1 ]]; then
  log "tehcyx/kind $ver present in $mirror"
  exit 0
fi

if [[ -n "$src" ]]; then
  gomod_src="$src/go.mod"
  [[ -f "$gomod_src" ]] || { log "TF_KIND_PROVIDER_SRC=$src has no go.mod"; exit 1; }
else
  if ! json="$(go mod download -json "github.com/tehcyx/terraform-provider-kind@$KIND_PROVIDER_VERSION" 2>&1)" ||
    grep -q '"Error"' <<<"$json"; then
    log "cannot download github.com/tehcyx/terraform-provider-kind@$KIND_PROVIDER_VERSION from the Go module proxy ($(go env GOPROXY)):"
    sed -n 's/.*"Error": "\(.*\)".*/  \1/p' <<<"$json" >&2
    log "set TF_KIND_PROVIDER_SRC to a checkout of tag $KIND_PROVIDER_VERSION, or let terraform init download the provider from its registry"
    exit 2
  fi
  gomod_src="$(sed -n 's/.*"GoMod": "\(.*\)".*/\1/p' <<<"$json")"
fi

mod="$work"
mkdir -p "$mod"
log "building tehcyx/kind $ver for $platform in wrapper module $mod"
# The provider's go.mod replaces k8s.io/client-go (with v0.20.2); replaces only apply in the main
# module, so the wrapper repeats every single-line replace of it.
{
  echo "module mlops-series.local/tf-provider-kind"
  echo
  echo "go 1.24.0"
  echo
  echo "toolchain go1.26.10"
  echo
  echo "require github.com/tehcyx/terraform-provider-kind $KIND_PROVIDER_VERSION"
  echo
  grep -E '^replace [^ ]+ => [^ ]+ v[^ ]+$' "$gomod_src" || true
  if [[ -n "$src" ]]; then
    echo "replace github.com/tehcyx/terraform-provider-kind => $(cd "$src" && pwd)"
  fi
} > "$mod/go.mod"
cat > "$mod/tools.go" <<'GO'
//go:build tools

package tools

import _ "github.com/tehcyx/terraform-provider-kind"
GO
(cd "$mod" && go mod tidy)
tmp="$mod/$name"
(cd "$mod" && go build -trimpath -ldflags "-s -w" -o "$tmp" github.com/tehcyx/terraform-provider-kind)
for h in "${hosts[@]}"; do
  d="$mirror/$h/tehcyx/kind/$ver/$platform"
  mkdir -p "$d"
  cp "$tmp" "$d/$name.tmp" && mv "$d/$name.tmp" "$d/$name"
done
log "tehcyx/kind $ver ready in $mirror (export $(printf '%s' MLOPS_TF_PLUGIN_DIR)=$mirror)"
