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
# One run at a time (.ci/run starts one in the background, and `make deps` runs another): the
# second waits, then finds the venvs made and skips them.
mkdir -p "$venvs"
exec 9>"$venvs/.lock"
flock 9
for name in "${names[@]}"; do
  req="$root/hack/venvs/$name.txt"
  venv="$venvs/$name"
  sum="$(sha256sum "$req" | cut -c1-16)"
  if [[ -x "$venv/bin/python" && -f "$venv/.req-sum" && "$(cat "$venv/.req-sum")" == "$sum" ]]; then
    continue
  fi
  echo "setup-venv: installing $req into $venv" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check --upgrade pip
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$req"
  echo "$sum" > "$venv/.req-sum"
done
