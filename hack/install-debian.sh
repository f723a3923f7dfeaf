#!/usr/bin/env bash
# Installs the Debian packages the native tests need (layer 3 of the testing plan): Prometheus and
# its Pushgateway, Redis, Node.js and npm (for configurable-http-proxy), run as local processes by
# internal/nativetest (Prometheus, Pushgateway) and
# promtool, which checks the prometheus chart's rendered configuration.
#
# Idempotent and quiet: packages already installed are not touched, and apt-get runs only when
# something is missing. Needs root (or sudo) and Debian's package archive.
#
#   bash hack/install-debian.sh            # install what is missing
#   bash hack/install-debian.sh --check    # only report; exit 1 when something is missing
set -euo pipefail

# package -> a file it installs, to tell whether it is there without asking dpkg per package.
declare -A pkgs=(
  [prometheus]=/usr/bin/prometheus            # also brings /usr/bin/promtool
  [prometheus-pushgateway]=/usr/bin/prometheus-pushgateway
  [redis-server]=/usr/bin/redis-server        # Feast's online store in the native tests (chapter 8)
  [nodejs]=/usr/bin/node                      # configurable-http-proxy (chapter 3, hack/setup-chp.sh)
  [npm]=/usr/bin/npm
)

missing=()
for p in "${!pkgs[@]}"; do
  [ -x "${pkgs[$p]}" ] || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "${1:-}" = "--check" ]; then
  echo "missing Debian packages: ${missing[*]} (run: bash hack/install-debian.sh)" >&2
  exit 1
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-debian: need root or sudo to install ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi
echo "install-debian: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# apt's output goes to a log that is shown only when something fails.
# --no-install-recommends: the packages' recommends are not needed to run the binaries here.
# The packages' postinst scripts start system services where systemd runs; the tests start their
# own processes on free ports, so those services are stopped and disabled again below (a system
# Prometheus on :9090 would also take the port `mlops-series open prometheus` forwards to).
if ! { "${sudo[@]}" apt-get update -qq && "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "install-debian: apt-get failed for ${missing[*]}" >&2
  exit 1
fi
for p in "${missing[@]}"; do
  [ -x "${pkgs[$p]}" ] || { echo "install-debian: $p installed but ${pkgs[$p]} is missing" >&2; exit 1; }
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
    "${sudo[@]}" systemctl disable --now "$p" >/dev/null 2>&1 || true
  fi
done
