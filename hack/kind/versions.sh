# Versions of everything the real-container layer builds (sourced by hack/kind/*.sh).
# Kubernetes matches the test control plane (hack/build-testenv.sh); the rest are the versions
# kind v0.33.0's base image pins, except where the Go module proxy refuses them (noted).
KUBE_VERSION=v1.37.2
STAGING_VERSION=v0.37.2
KIND_VERSION=v0.33.0                # sigs.k8s.io/kind: its images/base/files go into the node
CONTAINERD_VERSION=v2.3.4
RUNC_VERSION=v1.4.3
CNI_PLUGINS_VERSION=v1.9.1
CRICTL_VERSION=v1.36.0
ETCD_VERSION=v3.6.16                # the control plane's etcd (kubeadm's own pin is not served here)
COREDNS_VERSION=v1.14.6
LOCAL_PATH_VERSION=v0.0.30          # kind pins v0.0.34, which the Go proxy refuses
NODE_IMAGE="mlops-series.local/kind-node:${KUBE_VERSION}"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

cache="${MLOPS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mlops-series}"
kcache="$cache/kind"
kbin="$kcache/bin"
kbuild="$kcache/build"
mkdir -p "$kbin" "$kbuild"
log() { echo "kind-images: $*" >&2; }
# stamp NAME VERSION: true when $kbin/NAME was built at VERSION.
have() { [[ -x "$kbin/$1" && -f "$kbin/$1.version" && "$(cat "$kbin/$1.version")" == "$2" ]]; }
stamp() { echo "$2" > "$kbin/$1.version"; }

# ensure_rootfs NAME: imports the Debian root filesystem NAME into the engine as
# mlops-series.local/rootfs:NAME, debootstrapping it first when missing (cached under
# $MLOPS_CACHE/kind/rootfs). A lock keeps two builds from bootstrapping the same folder at once.
#   trixie-node  kind's node packages (systemd, iptables, ...); also the base of the Debian stand-ins
#   py-bookworm  Python 3.11 (bookworm) for the Python stand-ins
ensure_rootfs() {
  local name=$1 image="mlops-series.local/rootfs:$1" suite include
  case "$name" in
    trixie-node) suite=trixie
      include=systemd,conntrack,iptables,nftables,iproute2,ethtool,util-linux,mount,kmod,libseccomp2,pigz,e2fsprogs,bash,ca-certificates,curl,jq,procps ;;
    py-bookworm) suite=bookworm include=python3,python3-venv,ca-certificates,procps,tini,dumb-init ;;
    *) log "unknown rootfs $name"; return 1 ;;
  esac
  mkdir -p "$kcache/rootfs"
  (
    flock 9
    docker image inspect "$image" >/dev/null 2>&1 && exit 0
    dir="$kcache/rootfs/$name"
    if [ ! -d "$dir" ]; then
      command -v debootstrap >/dev/null || { log "needs debootstrap (apt-get install debootstrap)"; exit 1; }
      log "debootstrap $suite for $image (about 2 minutes)"
      rm -rf "$dir.tmp"
      debootstrap --variant=minbase --include="$include" "$suite" "$dir.tmp" "$DEBIAN_MIRROR" \
        >"$kcache/debootstrap-$name.log" 2>&1 || { tail -20 "$kcache/debootstrap-$name.log" >&2; exit 1; }
      mv "$dir.tmp" "$dir"
    fi
    tar -C "$dir" --numeric-owner -c . | docker import - "$image" >/dev/null
  ) 9>"$kcache/rootfs/$name.lock"
}

# dbuild ARGS...: docker build, quiet when it succeeds (the classic builder of Debian's docker.io
# warns about its own deprecation on every build); its whole output when it fails.
dbuild() {
  local err; err="$(mktemp)"
  if docker build --force-rm "$@" >/dev/null 2>"$err"; then rm -f "$err"; return 0; fi
  cat "$err" >&2; rm -f "$err"; return 1
}

# built_from IMAGE INPUTS: true when IMAGE exists and carries the label mlops-series.inputs=INPUTS
# (the digest of what it was built from, set by the build scripts).
built_from() {
  [ "$(docker image inspect -f '{{index .Config.Labels "mlops-series.inputs"}}' "$1" 2>/dev/null)" == "$2" ]
}
