#!/usr/bin/env bash
# Installs (once) configurable-http-proxy, the proxy that JupyterHub starts in front of itself, for
# the native tests of chapter 3 (a real JupyterHub from the "jupyter" venv starts it as a
# subprocess): npm package -> $MLOPS_CACHE/npm/chp (default ~/.cache/mlops-series/npm/chp), binary
# at node_modules/.bin/configurable-http-proxy. Reinstalled only when the pinned version changes.
#
# The version equals the hub image's (series/chapter-3-experiment-environment/hub/Dockerfile).
# 5.1.0 is the newest that runs on Node.js 18, Debian bookworm's nodejs; 5.2.0 and 5.3.0 say
# engines node >= 20.
# usage: setup-chp.sh     (prints the binary's path on stdout)
set -euo pipefail
version=5.1.0
min_node_major=18
dir="${MLOPS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mlops-series}/npm/chp"
bin="$dir/node_modules/.bin/configurable-http-proxy"

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "setup-chp: node and npm are needed (Node.js >= $min_node_major; Debian: apt-get install nodejs npm)" >&2
  exit 1
fi
major="$(node -p 'process.versions.node.split(".")[0]')"
if [[ "$major" -lt "$min_node_major" ]]; then
  echo "setup-chp: configurable-http-proxy $version needs Node.js >= $min_node_major, found $(node --version)" >&2
  exit 1
fi

if [[ -x "$bin" && -f "$dir/.version" && "$(cat "$dir/.version")" == "$version" ]]; then
  echo "$bin"
  exit 0
fi
echo "setup-chp: installing configurable-http-proxy@$version into $dir" >&2
rm -rf "$dir"
mkdir -p "$dir"
# --prefix with a package.json of its own keeps the install out of any project and the global tree.
echo '{"name": "mlops-series-chp", "private": true}' > "$dir/package.json"
npm install --prefix "$dir" --no-audit --no-fund --no-save --loglevel=error \
  "configurable-http-proxy@$version" >&2
"$bin" --version >/dev/null
echo "$version" > "$dir/.version"
echo "$bin"
