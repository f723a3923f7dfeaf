#!/usr/bin/env bash
# Runs a command in a CPU group of its own with a small weight, so that it fills the CPU time the
# real-container layer leaves idle without taking the CPUs from the kind node's containers.
#
#   bash hack/beside.sh WEIGHT -- COMMAND [ARG...]
#
# WEIGHT is relative to a container's 1024 (cgroup v1 cpu.shares; on cgroup v2 it is scaled to
# cpu.weight, where a container has 100). A process of the root CPU group (where a CI job's
# processes run) weighs as much as the whole kind node: on the 2-core CI machines four busy test
# processes left the node's pods a fifth of the CPUs, and Airflow's pods missed their wait. In a
# group of weight 512, the command gets a third of the CPUs when the node wants them all too, and
# all of what the node leaves.
#
# Needs root and a writable CPU controller; without them (a reader's laptop, a container) it runs the
# command under nice -n 10 and says so. The group is removed when the command ends.
set -euo pipefail
[ $# -ge 3 ] && [ "$2" = "--" ] || { echo "usage: beside.sh WEIGHT -- COMMAND [ARG...]" >&2; exit 2; }
weight=$1
shift 2
case $weight in '' | *[!0-9]*) echo "beside.sh: WEIGHT must be a number, got '$weight'" >&2; exit 2 ;; esac
name="mlops-series-beside-$$"
group=""
if [ -w /sys/fs/cgroup/cpu ] && [ -f /sys/fs/cgroup/cpu/cpu.shares ]; then
  group=/sys/fs/cgroup/cpu/$name
  mkdir "$group" && echo "$weight" > "$group/cpu.shares" || group=""
  root=/sys/fs/cgroup/cpu
elif [ -f /sys/fs/cgroup/cgroup.controllers ] && grep -qw cpu /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null && [ -w /sys/fs/cgroup ]; then
  group=/sys/fs/cgroup/$name
  v2=$(( weight * 100 / 1024 )); [ "$v2" -ge 1 ] || v2=1
  mkdir "$group" && echo "$v2" > "$group/cpu.weight" || group=""
  root=/sys/fs/cgroup
fi
if [ -z "$group" ]; then
  echo "beside.sh: no CPU group can be made here (needs root and a CPU controller): running under nice -n 10" >&2
  exec nice -n 10 "$@"
fi
cleanup() {
  # This shell leaves the group first; a group with no process left can then be removed.
  echo $$ > "$root/cgroup.procs" 2>/dev/null || true
  rmdir "$group" 2>/dev/null || true
}
trap cleanup EXIT
echo $$ > "$group/cgroup.procs"
echo "beside.sh: $* runs in CPU group $group (weight $weight of a container's 1024)" >&2
status=0
"$@" || status=$?
exit $status
