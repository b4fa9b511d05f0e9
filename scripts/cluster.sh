#!/usr/bin/env bash
# A local Kubernetes control plane for the Kubernetes flavour's tests and demo, on loopback only:
# kube-apiserver, kube-controller-manager and kube-scheduler built from k8s.io/kubernetes, Debian's
# etcd, certificates and a kubeconfig made locally, and KWOK for a node whose pods become Ready
# with addresses (EndpointSlices fill as on a real cluster; no container runs).
#
#   scripts/cluster.sh build      build (once, cached) the binaries
#   scripts/cluster.sh up         start the cluster (idempotent); prints the kubeconfig path
#   scripts/cluster.sh down       stop it and remove its data
#   scripts/cluster.sh env        print `export KUBECONFIG=...`
source "$(dirname "$0")/lib.sh"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod

CLUSTER_DIR="${BLUEGREEN_CLUSTER_DIR:-$BLUEGREEN_CACHE/cluster}"

build() {
  local want=(kube-apiserver kube-controller-manager kube-scheduler kubectl kwok) missing=() b
  for b in "${want[@]}"; do [[ -x "$K8S_BIN/$b" ]] || missing+=("$b"); done
  if (( ${#missing[@]} == 0 )); then step "kubernetes v$K8S_VERSION and kwok v$KWOK_VERSION: cached"; return; fi
  step "kubernetes v$K8S_VERSION: building ${missing[*]} from Go sources (about 10 min on 2 cores, once)"
  mkdir -p "$K8S_BIN"
  local w; w=$(mktemp -d)
  # k8s.io/kubernetes replaces its staging modules with local paths, which `go install` refuses:
  # a wrapper module requires it and pins each staging module to the matching v0 release.
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
  printf '//go:build tools\npackage tools\nimport (\n _ "k8s.io/kubernetes/cmd/kube-apiserver"\n _ "k8s.io/kubernetes/cmd/kube-controller-manager"\n _ "k8s.io/kubernetes/cmd/kube-scheduler"\n _ "k8s.io/kubernetes/cmd/kubectl"\n)\n' >"$w/tools.go"
  (cd "$w" && go mod tidy >/dev/null 2>&1) || die "resolving k8s.io/kubernetes@v$K8S_VERSION failed"
  for b in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
    [[ -x "$K8S_BIN/$b" ]] && continue
    step "kubernetes: go build $b"
    (cd "$w" && go build -trimpath -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=v$K8S_VERSION -X k8s.io/client-go/pkg/version.gitVersion=v$K8S_VERSION" \
        -o "$K8S_BIN/$b.part" "k8s.io/kubernetes/cmd/$b") || die "building $b failed"
    mv "$K8S_BIN/$b.part" "$K8S_BIN/$b"
  done
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
  nohup "$@" >"$CLUSTER_DIR/$name.log" 2>&1 &
  echo $! >"$CLUSTER_DIR/$name.pid"
}

kubectl_() { "$K8S_BIN/kubectl" --kubeconfig "$KUBECONFIG_FILE" "$@"; }

up() {
  build
  stages
  command -v etcd >/dev/null || {
    step "cluster: installing Debian's etcd-server"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq etcd-server >/dev/null
  }
  mkdir -p "$CLUSTER_DIR"
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
  for _ in $(seq 60); do
    [[ "$(kubectl_ get node bluegreen-node-0 -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" == True ]] && break
    sleep 1
  done
  [[ "$(kubectl_ get node bluegreen-node-0 -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" == True ]] \
    || die "the KWOK node did not become Ready; see $CLUSTER_DIR/kwok.log"
  step "cluster: up (https://127.0.0.1:$APISERVER_PORT, KUBECONFIG=$KUBECONFIG_FILE)"
}

down() {
  local p
  for p in kwok kube-scheduler kube-controller-manager kube-apiserver etcd; do
    if running "$p"; then kill "$(cat "$CLUSTER_DIR/$p.pid")" 2>/dev/null || true; fi
  done
  sleep 1
  for p in kwok kube-scheduler kube-controller-manager kube-apiserver etcd; do
    if running "$p"; then kill -9 "$(cat "$CLUSTER_DIR/$p.pid")" 2>/dev/null || true; fi
  done
  rm -rf "$CLUSTER_DIR"
  step "cluster: down"
}

case "${1:-}" in
  build) build ;;
  up) up ;;
  down) down ;;
  env) echo "export KUBECONFIG=\"$KUBECONFIG_FILE\"; export PATH=\"$K8S_BIN:\$PATH\"" ;;
  *) die "usage: scripts/cluster.sh build|up|down|env" ;;
esac
