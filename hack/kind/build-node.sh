#!/usr/bin/env bash
# Assembles the kind node image $NODE_IMAGE without pulling anything (`kind build node-image` fetches
# its base and images from registries, which these machines cannot reach):
#   1. a Debian trixie rootfs by debootstrap (minbase + the packages kind's base image installs, less
#      nfs/iscsi/fuse-overlayfs) imported into the engine;
#   2. kind's own node files (images/base/files of the sigs.k8s.io/kind module), containerd, runc,
#      crictl, the CNI plugins, kubelet, kubeadm and kubectl from hack/kind/build-binaries.sh, a fixed
#      CNI config, and the storage manifest;
#   3. the images kubeadm and the cluster need (control plane, etcd, CoreDNS, pause, kube-proxy,
#      local-path provisioner and helper), built here under the names kubeadm expects and imported
#      into the node's containerd (content only, no unpack), then the container is committed.
# Cached: nothing is rebuilt when the image (or its saved archive in $MLOPS_CACHE/kind) exists.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=versions.sh
source "$here/versions.sh"
archive="$kcache/node-$KUBE_VERSION.tar"
ROOTFS_IMAGE="mlops-series.local/rootfs:trixie-node"
GLIBC_IMAGE="mlops-series.local/glibc-base:bookworm"

# The inputs of the image (this script and its files): a change rebuilds it.
inputs="$(cat "$here/build-node.sh" "$here/versions.sh" "$here"/node/*.c "$here"/node/files/* | sha256sum | cut -c1-16)"
if built_from "$NODE_IMAGE" "$inputs"; then
  log "$NODE_IMAGE present"; exit 0
fi
if [ -f "$archive" ] && [ "$(cat "$archive.inputs" 2>/dev/null)" == "$inputs" ]; then
  log "loading $NODE_IMAGE from $archive"; docker load -i "$archive" >/dev/null; exit 0
fi
t0=$SECONDS
bash "$here/build-binaries.sh"

# --- 1. rootfs ---------------------------------------------------------------------------------
ensure_rootfs trixie-node

ctx="$kbuild/node-ctx"
rm -rf "$ctx"; mkdir -p "$ctx"/{bin,cni,kindfiles,extra}
kind_dir="$(GOFLAGS=-mod=mod go mod download -json "sigs.k8s.io/kind@$KIND_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')"
cp -r "$kind_dir/images/base/files/." "$ctx/kindfiles/"
chmod -R u+w "$ctx/kindfiles"
for b in containerd ctr containerd-shim-runc-v2 crictl runc kubelet kubeadm kubectl; do cp "$kbin/$b" "$ctx/bin/"; done
for p in host-local loopback ptp portmap; do cp "$kbin/cni-$p" "$ctx/cni/$p"; done
cp "$here/node/files/10-mlops-series.conflist" "$here/node/files/default-cni.yaml" "$ctx/extra/"
sed "s/LOCAL_PATH_VERSION/$LOCAL_PATH_VERSION/" "$here/node/files/default-storage.yaml" > "$ctx/extra/default-storage.yaml"
echo "$KUBE_VERSION" > "$ctx/extra/version"
cat > "$ctx/Dockerfile" <<DOCKERFILE
FROM $ROOTFS_IMAGE
COPY kindfiles/ /
COPY bin/containerd bin/ctr bin/containerd-shim-runc-v2 bin/crictl /usr/local/bin/
COPY bin/runc /usr/local/sbin/runc
COPY bin/kubelet bin/kubeadm bin/kubectl /usr/bin/
COPY cni/ /opt/cni/bin/
COPY extra/10-mlops-series.conflist /etc/cni/net.d/10-mlops-series.conflist
COPY extra/default-cni.yaml extra/default-storage.yaml /kind/manifests/
COPY extra/version /kind/version
RUN chmod 0755 /usr/local/bin/* /kind/bin/* /opt/cni/bin/* /usr/bin/kubelet /usr/bin/kubeadm /usr/bin/kubectl /usr/local/sbin/runc \\
 && find /lib/systemd/system/sysinit.target.wants/ -name systemd-tmpfiles-setup.service -delete \\
 && rm -f /lib/systemd/system/multi-user.target.wants/* /etc/systemd/system/*.wants/* \\
          /lib/systemd/system/local-fs.target.wants/* /lib/systemd/system/sockets.target.wants/*udev* \\
          /lib/systemd/system/sockets.target.wants/*initctl* /lib/systemd/system/basic.target.wants/* \\
 && echo ReadKMsg=no >> /etc/systemd/journald.conf \\
 && ln -sf /usr/lib/systemd/systemd /sbin/init \\
 && systemctl enable kubelet.service containerd.service undo-mount-hacks.service \\
 && systemctl mask systemd-binfmt.service \\
 && mkdir -p /etc/kubernetes/manifests /etc/containerd \\
 && ctr oci spec | jq '.hooks.createContainer[.hooks.createContainer|length] |= . + {"path": "/kind/bin/mount-product-files.sh"}' | jq 'del(.process.rlimits)' > /etc/containerd/cri-base.json \\
 && apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/*
ENV container=docker
STOPSIGNAL SIGRTMIN+3
ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]
DOCKERFILE
log "building the node base"
dbuild -q -t mlops-series.local/kind-node-base:"$KUBE_VERSION" "$ctx"

# --- 3. the cluster's own images ------------------------------------------------------------------
# A glibc base for the cgo-built components: busybox, the loader and the libraries they link.
img="$kbuild/images"; rm -rf "$img"; mkdir -p "$img"
if ! docker image inspect "$GLIBC_IMAGE" >/dev/null 2>&1; then
  g="$img/glibc"; mkdir -p "$g/rootfs/bin" "$g/rootfs/etc/ssl/certs" "$g/rootfs/tmp"
  cp "$(command -v busybox || echo /bin/busybox)" "$g/rootfs/bin/busybox"
  for a in sh ls cat env mkdir rm cp mv ps grep sleep chown chmod id wget tail head; do ln -sf busybox "$g/rootfs/bin/$a"; done
  for b in kube-apiserver kube-controller-manager kube-scheduler etcd; do
    ldd "$kbin/$b" 2>/dev/null | grep -oE '/[^ ]+\.so[^ ]*' || true
  done | sort -u | while read -r lib; do
    mkdir -p "$g/rootfs$(dirname "$lib")"; cp -L "$lib" "$g/rootfs$lib"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$g/rootfs/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' > "$g/rootfs/etc/group"
  printf 'hosts: files dns\n' > "$g/rootfs/etc/nsswitch.conf"
  cp /etc/ssl/certs/ca-certificates.crt "$g/rootfs/etc/ssl/certs/"
  chmod 1777 "$g/rootfs/tmp"
  printf 'FROM scratch\nCOPY rootfs/ /\nENV PATH=/usr/local/bin:/usr/bin:/bin\n' > "$g/Dockerfile"
  dbuild -q -t "$GLIBC_IMAGE" "$g"
fi
mapfile -t kimages < <("$kbin/kubeadm" config images list --kubernetes-version "$KUBE_VERSION" 2>/dev/null)
[ ${#kimages[@]} -ge 5 ] || { log "kubeadm config images list failed"; exit 1; }
names=()
build_bin_image() { # ref binary [entrypoint]
  local ref=$1 bin=$2 entry=${3:-} d; d="$img/$(basename "$bin")"; mkdir -p "$d"
  cp "$kbin/$bin" "$d/"
  { echo "FROM $GLIBC_IMAGE"; echo "COPY $bin /usr/local/bin/$bin"
    [ -n "$entry" ] && echo "ENTRYPOINT [\"$entry\"]"; } > "$d/Dockerfile"
  dbuild -q -t "$ref" "$d"; names+=("$ref")
}
for ref in "${kimages[@]}"; do
  case "$ref" in
    */kube-apiserver:*) build_bin_image "$ref" kube-apiserver ;;
    */kube-controller-manager:*) build_bin_image "$ref" kube-controller-manager ;;
    */kube-scheduler:*) build_bin_image "$ref" kube-scheduler ;;
    */etcd:*) build_bin_image "$ref" etcd ;;
    */coredns:*)
      d="$img/coredns"; mkdir -p "$d"; cp "$kbin/coredns" "$d/"
      printf 'FROM %s\nCOPY coredns /coredns\nENTRYPOINT ["/coredns"]\n' "$GLIBC_IMAGE" > "$d/Dockerfile"
      dbuild -q -t "$ref" "$d"; names+=("$ref") ;;
    */pause:*)
      d="$img/pause"; mkdir -p "$d"; cp "$kbin/pause" "$d/"
      printf 'FROM scratch\nCOPY pause /pause\nUSER 65535:65535\nENTRYPOINT ["/pause"]\n' > "$d/Dockerfile"
      dbuild -q -t "$ref" "$d"; names+=("$ref")
      # kind's containerd config names its own sandbox image.
      docker tag "$ref" registry.k8s.io/pause:3.10; names+=(registry.k8s.io/pause:3.10) ;;
    */kube-proxy:*)
      d="$img/kube-proxy"; mkdir -p "$d"; cp "$kbin/kube-proxy" "$d/kube-proxy.real"
      cp "$here/node/files/kube-proxy-wrapper.sh" "$d/kube-proxy"
      printf 'FROM %s\nCOPY kube-proxy.real kube-proxy /usr/local/bin/\nRUN chmod 0755 /usr/local/bin/kube-proxy /usr/local/bin/kube-proxy.real\n' "$ROOTFS_IMAGE" > "$d/Dockerfile"
      dbuild -q -t "$ref" "$d"; names+=("$ref") ;;
    *) log "kubeadm expects an image this script does not build: $ref"; exit 1 ;;
  esac
done
d="$img/local-path"; mkdir -p "$d"; cp "$kbin/local-path-provisioner" "$d/"
printf 'FROM scratch\nCOPY local-path-provisioner /local-path-provisioner\nENTRYPOINT ["/local-path-provisioner"]\n' > "$d/Dockerfile"
dbuild -q -t "mlops-series.local/local-path-provisioner:$LOCAL_PATH_VERSION" "$d"
names+=("mlops-series.local/local-path-provisioner:$LOCAL_PATH_VERSION")
d="$img/helper"; mkdir -p "$d/bin"; cp "$(command -v busybox || echo /bin/busybox)" "$d/bin/busybox"
for a in sh mkdir rm chmod ls; do ln -sf busybox "$d/bin/$a"; done
printf 'FROM scratch\nCOPY bin/ /bin/\nENV PATH=/bin\n' > "$d/Dockerfile"
dbuild -q -t mlops-series.local/local-path-helper:busybox "$d"
names+=(mlops-series.local/local-path-helper:busybox)
log "saving ${#names[@]} cluster images"
docker save -o "$img/all.tar" "${names[@]}"

# --- 4. import into the node's containerd and commit ---------------------------------------------
cid="$(docker run -d --privileged --entrypoint sleep -v "$img/all.tar:/kind/images.tar:ro" \
  --tmpfs /run --tmpfs /tmp "mlops-series.local/kind-node-base:$KUBE_VERSION" infinity)"
trap 'docker rm -f "$cid" >/dev/null 2>&1 || true' EXIT
docker exec "$cid" sh -c 'containerd >/tmp/containerd.log 2>&1 &
  for i in $(seq 30); do ctr version >/dev/null 2>&1 && break; sleep 1; done
  ctr --namespace=k8s.io images import --all-platforms --no-unpack --digests /kind/images.tar >/dev/null &&
  ctr --namespace=k8s.io images ls -q' >&2
docker exec "$cid" sh -c 'pkill containerd; for i in $(seq 20); do pgrep containerd >/dev/null || exit 0; sleep 1; done'
# STOPSIGNAL (SIGRTMIN+3, for systemd) is kept from the base image: docker 20.10 cannot --change it.
docker commit \
  --change 'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]' --change 'CMD []' \
  --change 'ENV container=docker' --change "LABEL mlops-series.inputs=$inputs" \
  "$cid" "$NODE_IMAGE" >/dev/null
docker rm -f "$cid" >/dev/null; trap - EXIT
# The build folders (the node's context, the cluster images and their 0.9 GB archive) are made
# afresh by each build: not kept.
rm -rf "$img" "$ctx"
log "built $NODE_IMAGE in $((SECONDS - t0))s; saving it to $archive"
docker save -o "$archive.tmp" "$NODE_IMAGE" && mv "$archive.tmp" "$archive" && echo "$inputs" > "$archive.inputs"
