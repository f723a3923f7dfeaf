# Sourced by the scripts that build the tools the tests run from their Go modules (the test control
# plane, OpenTofu, the kind node's binaries, the Go stand-ins). Those builds use a build cache of
# their own: the Kubernetes packages are compiled once for the control plane and reused for the
# node's kubelet, kubeadm, kubectl and kube-proxy, and after that nothing reads the cache until a
# pinned version changes. hack/kind/build-images.sh then removes it (drop_tool_gocache): about
# 12 GB that would otherwise sit beside the project's own build cache, the images, their archives
# and the kind node on the same disk. The project's own builds and tests keep Go's default cache.
tool_gocache="${MLOPS_TOOL_GOCACHE:-${MLOPS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mlops-series}/go-build-tools}"
export GOCACHE="$tool_gocache"

# drop_tool_gocache: removes the tools' build cache once the binaries that share it are built (the
# control plane's Kubernetes binaries and the node's, given as paths): a later build of a new
# version compiles from scratch, as on a fresh machine.
drop_tool_gocache() {
  local f
  for f in "$@"; do [[ -x "$f" ]] || return 0; done
  [[ -d "$tool_gocache" ]] || return 0
  echo "toolcache: removing the tools' Go build cache $tool_gocache ($(du -sh "$tool_gocache" 2>/dev/null | cut -f1)): every tool is built" >&2
  rm -rf "$tool_gocache"
}
