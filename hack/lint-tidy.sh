#!/usr/bin/env bash
# Fails when go.mod or go.sum differ from what `go mod tidy` makes of them (e.g. a module the code
# imports listed as // indirect), printing the difference.
# Usage: hack/lint-tidy.sh [MODULE_DIR]   (default: the current directory)
set -euo pipefail
cd "${1:-.}"
if ! diff=$(go mod tidy -diff 2>&1); then
	echo "go.mod/go.sum are not tidy: run \`go mod tidy\`" >&2
	echo "$diff" >&2
	exit 1
fi
