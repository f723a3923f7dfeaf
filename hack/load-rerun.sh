#!/usr/bin/env bash
# Go tests beside the real-container layer, with a second run, unloaded, for the tests that fail
# under its load (`make test`'s layout).
#
#   bash hack/load-rerun.sh run DIR -- go test [FLAGS] PACKAGES...
#   bash hack/load-rerun.sh again DIR
#
# `run` runs the go test command (its output as usual). When it fails only because of failed tests
# (each package's failure names its tests; no build failure, panic or timeout, which stop a
# package before its other tests ran) and at most MAX_RERUNS (5) of them, it records them in
# DIR/reruns, says so, and exits 0; any other failure is the command's own exit status.
# `again`, after the real-container layer has ended, runs each recorded test once more in its
# package (go test -count=1 -run '^(A|B)$'). A test that fails again fails the run. A test that
# passes is named as load-sensitive, with its first failure above in the log: its wait or deadline
# is too short for a loaded machine, and it is a defect to fix.
set -euo pipefail
usage() { echo "usage: load-rerun.sh run DIR -- go test ... | load-rerun.sh again DIR" >&2; exit 2; }
[ $# -ge 2 ] || usage
mode=$1 dir=$2
shift 2
max=${MAX_RERUNS:-5}
case $mode in
run)
  [ $# -ge 2 ] && [ "$1" = "--" ] || usage
  shift
  mkdir -p "$dir"
  rm -f "$dir/reruns" "$dir/go-test.log"
  status=0
  "$@" 2>&1 | tee "$dir/go-test.log" || status=${PIPESTATUS[0]}
  [ "$status" -eq 0 ] && exit 0
  # One line per failed package: "PACKAGE TEST..." when only tests failed, "- PACKAGE" when
  # something else stopped it. go test prints each package's output whole, ending with
  # "FAIL<tab>PACKAGE<tab>TIME"; a top-level test's failure is "--- FAIL: NAME (TIME)" at the
  # start of a line (a subtest's is indented, and its parent fails too).
  awk '
    /^--- FAIL: / { tests = tests " " $3; next }
    /^panic: |^fatal error: |^panic: test timed out|test timed out after/ { stopped = 1 }
    /^FAIL\t/ {
      if ($0 ~ /\[(build|setup) failed\]/ || tests == "" || stopped) print "- " $2
      else print $2 tests
      tests = ""; stopped = 0; next
    }
    /^ok  \t/ { tests = ""; stopped = 0 }
  ' "$dir/go-test.log" > "$dir/failed"
  if [ ! -s "$dir/failed" ]; then
    echo "load-rerun: go test failed (exit $status) without a failed package in its output: not run again" >&2
    exit "$status"
  fi
  if grep -q '^- ' "$dir/failed"; then
    echo "load-rerun: not run again: $(sed -n 's/^- //p' "$dir/failed" | tr '\n' ' ')stopped on a build failure, a panic or a timeout" >&2
    exit "$status"
  fi
  n=$(awk '{ n += NF - 1 } END { print n }' "$dir/failed")
  if [ "$n" -gt "$max" ]; then
    echo "load-rerun: $n tests failed (more than $max): not run again" >&2
    exit "$status"
  fi
  mv "$dir/failed" "$dir/reruns"
  echo "load-rerun: $n test(s) failed under load, each runs again once the real-container layer has ended:" >&2
  sed 's/^/load-rerun:   /' "$dir/reruns" >&2
  ;;
again)
  [ $# -eq 0 ] || usage
  [ -s "$dir/reruns" ] || exit 0
  status=0
  while read -r pkg tests; do
    pattern="^($(echo "$tests" | tr ' ' '|'))\$"
    echo "load-rerun: go test -count=1 -run '$pattern' $pkg"
    if go test -count=1 -run "$pattern" "$pkg"; then
      echo "load-rerun: LOAD-SENSITIVE: $tests of $pkg failed under load and passed unloaded (first failure above in this log)"
    else
      echo "load-rerun: $tests of $pkg failed again, unloaded" >&2
      status=1
    fi
  done < "$dir/reruns"
  exit $status
  ;;
*) usage ;;
esac
