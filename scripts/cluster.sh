#!/usr/bin/env bash
# A local Kubernetes cluster for the Kubernetes flavour's tests and demo, on loopback only:
# kube-apiserver, kube-controller-manager and kube-scheduler built from k8s.io/kubernetes, Debian's
# etcd, certificates and a kubeconfig made locally, and one node, either
#   real: a kubelet and kube-proxy (iptables mode) built from the same module, a containerd of its
#         own (Debian's, with its own root, state and socket), Debian's CNI plugins (bridge,
#         host-local, portmap), a pause image compiled here and the demo images imported from
#         Docker: containers run and NodePorts answer on 127.0.0.1; or
#   kwok: KWOK plays the node: pods become Ready with addresses and EndpointSlices fill as on a
#         real cluster, but no container runs.
# BLUEGREEN_PODS=real|kwok|auto chooses (auto, the default: real when the node runs a probe pod,
# else kwok, saying why). `up` prints one line with the choice; `env` exports it.
#
#   scripts/cluster.sh build      build (once, cached) the control plane and KWOK
#   scripts/cluster.sh build-node build (once, cached) the kubelet and kube-proxy
#   scripts/cluster.sh up         start the cluster (idempotent); prints the kubeconfig path
#   scripts/cluster.sh down       stop it and remove its data (containers, mounts, iptables rules)
#   scripts/cluster.sh env        print `export KUBECONFIG=... BLUEGREEN_CLUSTER_PODS=real|kwok`
source "$(dirname "$0")/lib.sh"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod

CLUSTER_DIR="${BLUEGREEN_CLUSTER_DIR:-$BLUEGREEN_CACHE/cluster}"

# wrapper DIR CMD...: a Go module in DIR that builds k8s.io/kubernetes/cmd/CMD. k8s.io/kubernetes
# replaces its staging modules with local paths, which `go install` refuses: the wrapper requires it
# and pins each staging module to the matching v0 release.
wrapper() {
  local w="$1"; shift
  local modfile; modfile=$(cd "$w" && go mod init probe >/dev/null 2>&1 && go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  [[ -s "$modfile" ]] || die "cannot download k8s.io/kubernetes@v$K8S_VERSION"
  rm -f "$w/go.mod"
  {
    echo "module bluegreen.local/kubernetes"
    echo "go 1.25"
    echo "require k8s.io/kubernetes v$K8S_VERSION"
    echo "replace ("
    sed -n '/^replace (/,/^)/p' "$modfile" | grep -oE '^\s+k8s\.io/[a-z0-9-]+' | awk -v v="v0.${K8S_VERSION#1.}" '{print "\t" $1 " => " $1 " " v}'
    echo ")"
  } >"$w/go.mod"
  { printf '//go:build tools\npackage tools\nimport (\n'; local c; for c in "$@"; do printf ' _ "k8s.io/kubernetes/cmd/%s"\n' "$c"; done; printf ')\n'; } >"$w/tools.go"
  (cd "$w" && go mod tidy >/dev/null 2>&1) || die "resolving k8s.io/kubernetes@v$K8S_VERSION failed"
}

# go_build DIR BIN...: build each missing k8s.io/kubernetes/cmd/BIN into $K8S_BIN.
go_build() {
  local w="$1" b; shift
  for b in "$@"; do
    [[ -x "$K8S_BIN/$b" ]] && continue
    step "kubernetes: go build $b"
    (cd "$w" && go build -trimpath -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=v$K8S_VERSION -X k8s.io/client-go/pkg/version.gitVersion=v$K8S_VERSION" \
        -o "$K8S_BIN/$b.part" "k8s.io/kubernetes/cmd/$b") || die "building $b failed"
    mv "$K8S_BIN/$b.part" "$K8S_BIN/$b"
  done
}

build() {
  local missing=() b
  for b in "${K8S_BUILT[@]}"; do [[ -x "$K8S_BIN/$b" ]] || missing+=("$b"); done
  if (( ${#missing[@]} == 0 )); then step "kubernetes v$K8S_VERSION and kwok v$KWOK_VERSION: cached"; return; fi
  step "kubernetes v$K8S_VERSION: building ${missing[*]} from Go sources (about 10 min on 2 cores, once)"
  mkdir -p "$K8S_BIN"
  local w; w=$(mktemp -d)
  wrapper "$w" "${K8S_FROM_KUBERNETES[@]}"
  go_build "$w" "${K8S_FROM_KUBERNETES[@]}"
  if [[ ! -x "$K8S_BIN/kwok" ]]; then
    step "kwok v$KWOK_VERSION: go build"
    local kw; kw=$(mktemp -d)
    local dir; dir=$(cd "$kw" && go mod init probe >/dev/null 2>&1 && go mod download -json "sigs.k8s.io/kwok@v$KWOK_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
    [[ -n "$dir" ]] || die "cannot download sigs.k8s.io/kwok@v$KWOK_VERSION"
    cp -r "$dir" "$kw/src" && chmod -R u+w "$kw/src"
    (cd "$kw/src" && go build -trimpath -ldflags "-s -w" -o "$K8S_BIN/kwok.part" ./cmd/kwok) || die "building kwok failed"
    mv "$K8S_BIN/kwok.part" "$K8S_BIN/kwok"
    rm -rf "$kw"
  fi
  rm -rf "$w"
}

# The node agents for real pods: kubelet and kube-proxy, from the same module (about 8 min, once).
build_node() {
  [[ -x "$K8S_BIN/kubelet" && -x "$K8S_BIN/kube-proxy" ]] && { step "kubelet and kube-proxy v$K8S_VERSION: cached"; return; }
  step "kubernetes v$K8S_VERSION: building kubelet and kube-proxy from Go sources (once)"
  mkdir -p "$K8S_BIN"
  local w; w=$(mktemp -d)
  wrapper "$w" "${K8S_NODE[@]}"
  go_build "$w" "${K8S_NODE[@]}"
  rm -rf "$w"
}

STAGES="$BLUEGREEN_CACHE/kubernetes-v$K8S_VERSION/kwok-stages/stages.yaml"
stages() { # KWOK's own "fast" node and pod stages (pods Ready with an IP; deleted pods removed), one YAML stream
  if [[ -s "$STAGES" ]] && grep -q '^---$' "$STAGES" && ! grep -q '^kind: Kustomization' "$STAGES"; then return; fi
  local t dir; t=$(mktemp -d)
  dir=$(cd "$t" && go mod init probe >/dev/null 2>&1 && go mod download -json "sigs.k8s.io/kwok@v$KWOK_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  rm -rf "$t"
  [[ -n "$dir" ]] || die "cannot download sigs.k8s.io/kwok@v$KWOK_VERSION (for its stages)"
  mkdir -p "$(dirname "$STAGES")"
  local f
  for f in "$dir"/kustomize/stage/node/fast/*.yaml "$dir"/kustomize/stage/node/heartbeat/*.yaml "$dir"/kustomize/stage/pod/fast/*.yaml; do
    [[ "$(basename "$f")" == kustomization.yaml ]] && continue
    echo "---"; cat "$f"
  done >"$STAGES.part"
  grep -q '^kind: Stage' "$STAGES.part" || die "no KWOK stages found in $dir"
  mv "$STAGES.part" "$STAGES"
}


# --- Real pods: containerd, CNI, kubelet, kube-proxy ------------------------------------------
POD_CIDR=10.244.0.0/24
CTR_DIR="$CLUSTER_DIR/containerd"
CTR_SOCK="$CTR_DIR/containerd.sock"
PAUSE_IMAGE=docker.io/bluegreen/pause:local
CNI_BIN=/usr/lib/cni
CNI_BRIDGE=bgcni0

ctr_() { ctr --address "$CTR_SOCK" --namespace k8s.io "$@"; }

# node_missing: why this machine cannot run the real node, or nothing when it can.
node_missing() {
  local b
  for b in "${K8S_NODE[@]}"; do [[ -x "$K8S_BIN/$b" ]] || { echo "$b is not built (scripts/cluster.sh build-node)"; return; }; done
  for b in containerd ctr runc iptables conntrack gcc docker; do command -v "$b" >/dev/null || { echo "$b is not installed"; return; }; done
  for b in bridge host-local loopback portmap; do [[ -x "$CNI_BIN/$b" ]] || { echo "$CNI_BIN/$b is missing (Debian's containernetworking-plugins)"; return; }; done
  docker image inspect bluegreen/demo:1.0.0 >/dev/null 2>&1 || { echo "the demo images are not built (scripts/setup.sh)"; return; }
  (( EUID == 0 )) || { echo "the kubelet needs root"; return; }
}

# Debian's packages the real node needs (root only; the set-up runs this with --kubernetes).
node_packages() {
  local want=() p
  command -v containerd >/dev/null || want+=(containerd)
  command -v runc >/dev/null || want+=(runc)
  [[ -x "$CNI_BIN/bridge" ]] || want+=(containernetworking-plugins)
  command -v conntrack >/dev/null || want+=(conntrack)
  command -v iptables >/dev/null || want+=(iptables)
  command -v gcc >/dev/null || want+=(gcc libc6-dev)
  (( ${#want[@]} )) || return 0
  step "cluster: installing Debian's ${want[*]}"
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${want[@]}" >/dev/null
}

# The pause image: a static binary compiled here, packed by `docker import` (no registry needed).
pause_image() {
  docker image inspect bluegreen/pause:local >/dev/null 2>&1 && return
  local t; t=$(mktemp -d)
  gcc -static -Os -s -o "$t/pause" "$ROOT/scripts/cluster/pause.c"
  tar -C "$t" -cf "$t/rootfs.tar" pause
  docker import -c 'ENTRYPOINT ["/pause"]' -c 'USER 65535' -c 'LABEL bluegreen.cluster=pause' "$t/rootfs.tar" bluegreen/pause:local >/dev/null
  rm -rf "$t"
}

containerd_up() {
  mkdir -p "$CTR_DIR/root" "$CTR_DIR/state" "$CLUSTER_DIR/cni/net.d"
  # restrict_oom_score_adj: a sandbox asks for oom_score_adj -998, which an unprivileged-looking
  # root (as in these machines' containers) may not set: runc's init then dies ("can't get final
  # child's PID from pipe: EOF"). Restricted, containerd clamps it to the current value.
  cat >"$CTR_DIR/config.toml" <<TOML
version = 2
root = "$CTR_DIR/root"
state = "$CTR_DIR/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "$CTR_SOCK"
[ttrpc]
  address = "$CTR_SOCK.ttrpc"
[metrics]
  address = ""
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$CNI_BIN"
    conf_dir = "$CLUSTER_DIR/cni/net.d"
TOML
  cat >"$CLUSTER_DIR/cni/net.d/10-bluegreen.conflist" <<CNI
{
  "cniVersion": "1.0.0",
  "name": "bluegreen",
  "plugins": [
    {"type": "bridge", "bridge": "$CNI_BRIDGE", "isGateway": true, "ipMasq": true, "hairpinMode": true,
     "ipam": {"type": "host-local", "dataDir": "$CLUSTER_DIR/cni/ipam", "ranges": [[{"subnet": "$POD_CIDR"}]], "routes": [{"dst": "0.0.0.0/0"}]}},
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
CNI
  start containerd containerd --config "$CTR_DIR/config.toml"
  local _; for _ in $(seq 30); do ctr_ version >/dev/null 2>&1 && break; sleep 0.5; done
  ctr_ version >/dev/null 2>&1 || { echo "containerd did not answer on $CTR_SOCK: $(tail -3 "$CLUSTER_DIR/containerd.log")"; return 1; }
  # The images pods run: the pause image and every bluegreen/demo tag Docker has (nothing is pulled).
  local images; images=$(docker images --format '{{.Repository}}:{{.Tag}}' bluegreen/demo | grep -v '<none>' || true)
  # shellcheck disable=SC2086
  docker save bluegreen/pause:local $images | ctr_ images import - >/dev/null \
    || { echo "importing images into containerd failed"; return 1; }
}

node_up() { # prints why on failure
  local d="$CLUSTER_DIR/pki" k="$CLUSTER_DIR/kubelet"
  pause_image || { echo "building the pause image failed"; return 1; }
  touch "$CLUSTER_DIR/node.started"
  containerd_up || return 1
  mkdir -p "$k/root" "$k/pod-logs"
  # cgroup v1 machines: kubelet 1.35+ refuses them unless failCgroupV1 is false. Swap may be on.
  cat >"$k/config.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
healthzBindAddress: 127.0.0.1
readOnlyPort: 0
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
  x509: {clientCAFile: $d/ca.crt}
authorization: {mode: AlwaysAllow}
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
containerRuntimeEndpoint: unix://$CTR_SOCK
imageServiceEndpoint: unix://$CTR_SOCK
podLogsDir: $k/pod-logs
enforceNodeAllocatable: []
evictionHard: {}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
resolvConf: ""
clusterDomain: cluster.local
serializeImagePulls: false
localStorageCapacityIsolation: false
YAML
  start kubelet "$K8S_BIN/kubelet" --config "$k/config.yaml" --kubeconfig "$KUBECONFIG_FILE" \
    --root-dir "$k/root" --hostname-override bluegreen-node-0
  # NodePorts only on loopback (route_localnet lets 127.0.0.1 be DNATed to a pod).
  [[ -s "$CLUSTER_DIR/route_localnet.orig" ]] || cat /proc/sys/net/ipv4/conf/all/route_localnet >"$CLUSTER_DIR/route_localnet.orig"
  cat >"$CLUSTER_DIR/kube-proxy.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clientConnection: {kubeconfig: $KUBECONFIG_FILE}
hostnameOverride: bluegreen-node-0
bindAddress: 127.0.0.1
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
clusterCIDR: $POD_CIDR
nodePortAddresses: [127.0.0.0/8]
conntrack: {maxPerCore: 0}
iptables: {localhostNodePorts: true}
oomScoreAdj: 0
YAML
  start kube-proxy "$K8S_BIN/kube-proxy" --config "$CLUSTER_DIR/kube-proxy.yaml"
  local _
  for _ in $(seq 60); do [[ "$(node_ready)" == True ]] && break; sleep 1; done
  [[ "$(node_ready)" == True ]] || { echo "the kubelet's node did not become Ready in 60 s: $(grep -E '^[EF]' "$CLUSTER_DIR/kubelet.log" | tail -2)"; return 1; }
  # A probe pod: the node counts only when it really runs a container.
  kubectl_ -n kube-system delete pod bluegreen-probe --ignore-not-found --wait=true >/dev/null 2>&1 || true
  kubectl_ -n kube-system run bluegreen-probe --image "$PAUSE_IMAGE" --restart Never >/dev/null
  for _ in $(seq 60); do [[ "$(kubectl_ -n kube-system get pod bluegreen-probe -o jsonpath='{.status.phase}' 2>/dev/null)" == Running ]] && break; sleep 1; done
  if [[ "$(kubectl_ -n kube-system get pod bluegreen-probe -o jsonpath='{.status.phase}' 2>/dev/null)" != Running ]]; then
    echo "a probe pod did not run in 60 s: $(kubectl_ -n kube-system get events --field-selector involvedObject.name=bluegreen-probe -o jsonpath='{range .items[*]}{.reason}: {.message}{"\n"}{end}' 2>/dev/null | grep -v '^Scheduled' | tail -1)"
    return 1
  fi
  kubectl_ -n kube-system delete pod bluegreen-probe --wait=true --timeout=60s >/dev/null 2>&1 || true
}

node_ready() { kubectl_ get node bluegreen-node-0 -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null; }

# node_down: remove every trace of the real node: pods (through the kubelet, so CNI releases
# their addresses and masquerade rules), containers, mounts, iptables rules, the bridge, cgroups.
node_down() {
  [[ -e "$CLUSTER_DIR/node.started" ]] || return 0
  if running kubelet && running kube-apiserver; then
    kubectl_ delete pods --all --all-namespaces --grace-period=1 --wait=false >/dev/null 2>&1 || true
    local _; for _ in $(seq 30); do [[ -z "$(ctr_ tasks ls -q 2>/dev/null)" ]] && break; sleep 1; done
  fi
  stop_ kube-proxy kubelet
  if running containerd; then
    local c
    for c in $(ctr_ tasks ls -q 2>/dev/null); do ctr_ tasks kill -a -s SIGKILL "$c" >/dev/null 2>&1 || true; done
    sleep 1
    for c in $(ctr_ tasks ls -q 2>/dev/null); do ctr_ tasks delete -f "$c" >/dev/null 2>&1 || true; done
    for c in $(ctr_ containers ls -q 2>/dev/null); do ctr_ containers delete "$c" >/dev/null 2>&1 || true; done
  fi
  stop_ containerd
  [[ -x "$K8S_BIN/kube-proxy" ]] && "$K8S_BIN/kube-proxy" --cleanup >/dev/null 2>&1 || true
  local ipt rule
  for ipt in iptables ip6tables; do
    command -v "$ipt" >/dev/null || continue
    # kube-proxy's guard against martian loopback traffic, which --cleanup leaves.
    if "$ipt" -S KUBE-FIREWALL >/dev/null 2>&1; then
      "$ipt" -D INPUT -j KUBE-FIREWALL 2>/dev/null || true
      "$ipt" -D OUTPUT -j KUBE-FIREWALL 2>/dev/null || true
      "$ipt" -F KUBE-FIREWALL 2>/dev/null && "$ipt" -X KUBE-FIREWALL 2>/dev/null || true
    fi
    # The kubelet's canary and hint chains (empty, unreferenced).
    local table chain
    for table in mangle nat filter; do
      for chain in KUBE-KUBELET-CANARY KUBE-IPTABLES-HINT; do
        "$ipt" -t "$table" -F "$chain" 2>/dev/null && "$ipt" -t "$table" -X "$chain" 2>/dev/null || true
      done
    done
    # Masquerade rules of pods the CNI bridge plugin could not release (comment names the network).
    { "$ipt" -t nat -S POSTROUTING 2>/dev/null | grep -F 'name: \"bluegreen\"' || true; } | sed 's/^-A /-D /' | while read -r rule; do
      eval "\"$ipt\" -t nat $rule" 2>/dev/null || true
      chain=$(grep -oE -- '-j CNI-[0-9a-f]+' <<<"$rule" | cut -c4-)
      [[ -n "$chain" ]] && { "$ipt" -t nat -F "$chain" 2>/dev/null; "$ipt" -t nat -X "$chain" 2>/dev/null; } || true
    done
  done
  if [[ -d "$CLUSTER_DIR" ]]; then
    awk -v d="$CLUSTER_DIR" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  fi
  ip link show "$CNI_BRIDGE" >/dev/null 2>&1 && ip link delete "$CNI_BRIDGE" 2>/dev/null || true
  find /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods* -depth -type d -exec rmdir {} \; 2>/dev/null || true
  [[ -s "$CLUSTER_DIR/route_localnet.orig" ]] && cat "$CLUSTER_DIR/route_localnet.orig" >/proc/sys/net/ipv4/conf/all/route_localnet 2>/dev/null || true
}

APISERVER_PORT="${BLUEGREEN_APISERVER_PORT:-16443}"
ETCD_PORT="${BLUEGREEN_ETCD_PORT:-23790}"
KUBECONFIG_FILE="$CLUSTER_DIR/admin.kubeconfig"

certs() { # a CA, the apiserver's serving cert, the service-account key pair, an admin client cert
  local d="$CLUSTER_DIR/pki"
  [[ -s "$d/admin.crt" ]] && return
  mkdir -p "$d"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=bluegreen-local-ca" -keyout "$d/ca.key" -out "$d/ca.crt" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=kube-apiserver" -keyout "$d/apiserver.key" -out "$d/apiserver.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local\nextendedKeyUsage=serverAuth\n' >"$d/apiserver.ext"
  openssl x509 -req -in "$d/apiserver.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial -days 3650 -extfile "$d/apiserver.ext" -out "$d/apiserver.crt" 2>/dev/null
  openssl genrsa -out "$d/sa.key" 2048 2>/dev/null && openssl rsa -in "$d/sa.key" -pubout -out "$d/sa.pub" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=bluegreen-admin/O=system:masters" -keyout "$d/admin.key" -out "$d/admin.csr" 2>/dev/null
  printf 'extendedKeyUsage=clientAuth\n' >"$d/admin.ext"
  openssl x509 -req -in "$d/admin.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial -days 3650 -extfile "$d/admin.ext" -out "$d/admin.crt" 2>/dev/null
  cat >"$KUBECONFIG_FILE" <<KC
apiVersion: v1
kind: Config
clusters:
- name: bluegreen-local
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    certificate-authority: $d/ca.crt
users:
- name: bluegreen-admin
  user:
    client-certificate: $d/admin.crt
    client-key: $d/admin.key
contexts:
- name: bluegreen-local
  context: {cluster: bluegreen-local, user: bluegreen-admin}
current-context: bluegreen-local
KC
}

running() { [[ -s "$CLUSTER_DIR/$1.pid" ]] && kill -0 "$(cat "$CLUSTER_DIR/$1.pid")" 2>/dev/null; }

start() { # start NAME CMD...: in the background, logging to $CLUSTER_DIR/NAME.log
  local name="$1"; shift
  running "$name" && return
  # The daemon keeps no descriptor but its log: one inherited from `flock /tmp/bluegreen-cluster.lock`
  # would hold the cluster's lock for as long as the cluster runs.
  (
    for fd in /proc/$BASHPID/fd/*; do fd=${fd##*/}; ((fd > 2)) && eval "exec $fd>&-"; done
    exec nohup "$@" >"$CLUSTER_DIR/$name.log" 2>&1
  ) &
  echo $! >"$CLUSTER_DIR/$name.pid"
}

stop_() { # stop_ NAME...: TERM, then KILL what is still running a few seconds later
  local p _
  for p in "$@"; do running "$p" && kill "$(cat "$CLUSTER_DIR/$p.pid")" 2>/dev/null || true; done
  for _ in $(seq 10); do
    local any=false; for p in "$@"; do running "$p" && any=true; done
    $any || break; sleep 0.5
  done
  for p in "$@"; do running "$p" && kill -9 "$(cat "$CLUSTER_DIR/$p.pid")" 2>/dev/null || true; rm -f "$CLUSTER_DIR/$p.pid"; done
}

kubectl_() { "$K8S_BIN/kubectl" --kubeconfig "$KUBECONFIG_FILE" "$@"; }

kwok_up() {
  stages
  # KWOK plays the node and its pods. Its watches ask for resourceVersion 0, which a 1.36 apiserver
  # with WatchList on turns into watch-list streams that Debian's etcd 3.4 cannot serve
  # (RequestWatchProgress): KWOK would then see new pods only on its backed-off relists, about 25 s
  # late. So the apiserver runs with WatchList off (above), and client-go's watch-list off here.
  KUBE_FEATURE_WatchListClient=false start kwok "$K8S_BIN/kwok" --kubeconfig "$KUBECONFIG_FILE" \
    --manage-all-nodes=false --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
    --cidr 10.244.0.1/16 --node-ip 127.0.0.1 --server-address 127.0.0.1:0 \
    --config "$STAGES"
  kubectl_ apply -f - >/dev/null <<NODE
apiVersion: v1
kind: Node
metadata:
  name: bluegreen-node-0
  annotations: {kwok.x-k8s.io/node: fake, node.alpha.kubernetes.io/ttl: "0"}
  labels: {kubernetes.io/hostname: bluegreen-node-0, kubernetes.io/os: linux, type: kwok}
NODE
  for _ in $(seq 60); do [[ "$(node_ready)" == True ]] && break; sleep 1; done
  [[ "$(node_ready)" == True ]] || die "the KWOK node did not become Ready; see $CLUSTER_DIR/kwok.log"
}

up() {
  build
  command -v etcd >/dev/null || {
    step "cluster: installing Debian's etcd-server"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq etcd-server >/dev/null
  }
  mkdir -p "$CLUSTER_DIR"
  local want="${BLUEGREEN_PODS:-auto}"
  case "$want" in auto|real|kwok) ;; *) die "BLUEGREEN_PODS is \"$want\"; allowed values are \"auto\", \"real\" and \"kwok\"" ;; esac
  if [[ -s "$CLUSTER_DIR/pods" ]] && running kube-apiserver; then
    local have; have=$(cat "$CLUSTER_DIR/pods")
    [[ "$want" == auto || "$want" == "$have" ]] || die "the cluster is up with $have pods; BLUEGREEN_PODS=$want needs scripts/cluster.sh down first"
  fi
  certs
  local d="$CLUSTER_DIR/pki"
  start etcd etcd --name bluegreen --data-dir "$CLUSTER_DIR/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$((ETCD_PORT + 10))" --initial-advertise-peer-urls "http://127.0.0.1:$((ETCD_PORT + 10))" \
    --initial-cluster "bluegreen=http://127.0.0.1:$((ETCD_PORT + 10))"
  start kube-apiserver "$K8S_BIN/kube-apiserver" --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$APISERVER_PORT" \
    --service-cluster-ip-range 10.96.0.0/16 --client-ca-file "$d/ca.crt" \
    --tls-cert-file "$d/apiserver.crt" --tls-private-key-file "$d/apiserver.key" \
    --service-account-key-file "$d/sa.pub" --service-account-signing-key-file "$d/sa.key" \
    --service-account-issuer https://kubernetes.default.svc --authorization-mode RBAC \
    --enable-priority-and-fairness=false --storage-media-type application/json \
    --feature-gates WatchList=false
  for _ in $(seq 90); do kubectl_ get --raw /readyz >/dev/null 2>&1 && break; sleep 1; done
  kubectl_ get --raw /readyz >/dev/null 2>&1 || die "kube-apiserver did not become ready; see $CLUSTER_DIR/kube-apiserver.log"
  start kube-controller-manager "$K8S_BIN/kube-controller-manager" --kubeconfig "$KUBECONFIG_FILE" \
    --service-account-private-key-file "$d/sa.key" --root-ca-file "$d/ca.crt" --leader-elect=false \
    --bind-address 127.0.0.1 --secure-port 0 --use-service-account-credentials=false --controllers '*,-nodeipam'
  start kube-scheduler "$K8S_BIN/kube-scheduler" --kubeconfig "$KUBECONFIG_FILE" --leader-elect=false \
    --bind-address 127.0.0.1 --secure-port 0

  local pods why=""
  # Already up: the node reads Ready, and for the real node its processes run too (the API server
  # keeps a dead kubelet's Ready for 40 s; a run that starts then loses every pod it schedules).
  if [[ -s "$CLUSTER_DIR/pods" ]] && [[ "$(node_ready)" == True ]] \
    && { [[ "$(cat "$CLUSTER_DIR/pods")" != real ]] || { running kubelet && running containerd && running kube-proxy; }; }; then
    pods=$(cat "$CLUSTER_DIR/pods"); why="already up"
  elif [[ "$want" == kwok ]]; then
    pods=kwok; why="BLUEGREEN_PODS=kwok"
  else
    why=$(node_missing)
    if [[ -z "$why" ]]; then
      why=$(node_up 2>&1) && pods=real && why="the kubelet ran a probe pod"
    fi
    if [[ "$pods" != real ]]; then
      [[ "$want" == real ]] && { node_down; die "BLUEGREEN_PODS=real, but the real node cannot run: $why"; }
      node_down
      kubectl_ delete node bluegreen-node-0 --ignore-not-found >/dev/null 2>&1 || true
      pods=kwok; why="the real node cannot run: $why"
    fi
  fi
  [[ "$pods" == kwok ]] && kwok_up
  echo "$pods" >"$CLUSTER_DIR/pods"
  step "cluster: pods are $( [[ $pods == real ]] && echo "real (kubelet, containerd, kube-proxy)" || echo "KWOK's (no container runs)"): $why"
  step "cluster: up (https://127.0.0.1:$APISERVER_PORT, KUBECONFIG=$KUBECONFIG_FILE)"
}

down() {
  node_down
  stop_ kwok kube-scheduler kube-controller-manager kube-apiserver etcd
  rm -rf "$CLUSTER_DIR"
  step "cluster: down"
}

case "${1:-}" in
  build) build ;;
  build-node) build_node ;;
  node-packages) node_packages ;;
  up) up ;;
  down) down ;;
  env) echo "export KUBECONFIG=\"$KUBECONFIG_FILE\"; export PATH=\"$K8S_BIN:\$PATH\"; export BLUEGREEN_CLUSTER_PODS=\"$(cat "$CLUSTER_DIR/pods" 2>/dev/null || echo none)\"" ;;
  *) die "usage: scripts/cluster.sh build|build-node|node-packages|up|down|env" ;;
esac
