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
