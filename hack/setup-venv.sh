#!/usr/bin/env bash
# Creates (once) the Python venv the native-tool tests use: the same MLflow version as the chart's
# image, scikit-learn for the chapter examples, pytest. Folder: $MLOPS_VENV (default ~/.cache/mlops-series/venv, outside the clone so CI reuses it).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${MLOPS_VENV:-${MLOPS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mlops-series}/venv}"
req="$root/hack/requirements-test.txt"
sum="$(sha256sum "$req" | cut -c1-16)"
if [[ -x "$venv/bin/python" && -f "$venv/.req-sum" && "$(cat "$venv/.req-sum")" == "$sum" ]]; then
  exit 0
fi
echo "setup-venv: installing $req into $venv" >&2
python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check --upgrade pip
"$venv/bin/pip" install -q --disable-pip-version-check -r "$req"
echo "$sum" > "$venv/.req-sum"
