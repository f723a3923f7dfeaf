#!/usr/bin/env bash
# Creates (once) the Python venvs the native-tool tests use, one per tool so that their pins never
# fight: hack/venvs/NAME.txt -> $MLOPS_VENVS/NAME (default ~/.cache/mlops-series/venvs/NAME, outside
# the clone so CI reuses them). A venv is rebuilt only when its requirements file changes.
# usage: setup-venv.sh [NAME...]   (default: every hack/venvs/*.txt)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venvs="${MLOPS_VENVS:-${MLOPS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mlops-series}/venvs}"
names=("$@")
if [[ ${#names[@]} -eq 0 ]]; then
  for f in "$root"/hack/venvs/*.txt; do names+=("$(basename "$f" .txt)"); done
fi
# Installs with uv, not pip: a venv of ours took pip 105 CPU-s (33 resolving and downloading, 72
# compiling every module to bytecode) and uv 4 (measured with mlflow.txt, same packages installed).
# uv writes no bytecode: Python compiles what is imported on first use and keeps it in the venv's
# __pycache__ folders, so modules never imported cost nothing. pip is still installed in each venv.
UV_VERSION=0.13.9
# One run at a time (.ci/run starts one in the background, and `make deps` runs another): the
# second waits, then finds the venvs made and skips them.
mkdir -p "$venvs"
exec 9>"$venvs/.lock"
flock 9
uv="$venvs/.uv-$UV_VERSION/bin/uv"
need_uv() {
  [[ -x "$uv" ]] && return 0
  echo "setup-venv: installing uv $UV_VERSION into $venvs/.uv-$UV_VERSION" >&2
  rm -rf "$venvs/.uv-$UV_VERSION"
  python3 -m venv "$venvs/.uv-$UV_VERSION"
  "$venvs/.uv-$UV_VERSION/bin/pip" install -q --disable-pip-version-check --no-compile "uv==$UV_VERSION"
}
for name in "${names[@]}"; do
  req="$root/hack/venvs/$name.txt"
  venv="$venvs/$name"
  sum="$(sha256sum "$req" | cut -c1-16)"
  if [[ -x "$venv/bin/python" && -f "$venv/.req-sum" && "$(cat "$venv/.req-sum")" == "$sum" ]]; then
    continue
  fi
  echo "setup-venv: installing $req into $venv" >&2
  need_uv
  rm -rf "$venv"
  python3 -m venv --without-pip "$venv"
  # No cache: the wheels would take as much disk again as the venvs.
  "$uv" pip install -q --no-cache --python "$venv/bin/python" -r "$req" pip
  echo "$sum" > "$venv/.req-sum"
done
