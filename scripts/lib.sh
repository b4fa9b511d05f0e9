# Shared helpers for the set-up scripts. Sourced, never run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BLUEGREEN_CACHE="${BLUEGREEN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/bluegreen}"
export ROOT BLUEGREEN_CACHE

# Pinned versions. Node's is the runtime the project is tested on; the language host's is
# explained in build_language_host (scripts/setup.sh).
NODE_VERSION=24.21.0
LANGUAGE_HOST_SDK_VERSION=3.68.0
DEBIAN_SUITE=bookworm
# The offline nginx image comes from Debian sid (nginx 1.30 today): the proxy's config needs nginx
# >= 1.27.3 (upstream servers re-resolved by name, with a keep-alive pool: `server blue:8080
# resolve`), and bookworm's is 1.22. The set-up replaces a local nginx image older than this.
NGINX_SUITE=sid
NGINX_MIN_VERSION=1.27.3
# Traefik for the benchmark's seed-C contender: 3.6.12 is the newest release whose dependencies
# the Go module proxy reachable here serves (3.7.x needs a go-http-auth pseudo-version it refuses).
TRAEFIK_VERSION=3.6.12

# The real kubernetes provider plugin, built from Go sources where `pulumi plugin install` cannot
# download it (scripts/setup.sh, build_kubernetes_plugin). The module proxy reachable here serves
# this pseudo-version of the provider module; the SDKs are pinned because newer ones do not compile
# with it (sdk/v4 v4.32.0 pulls sdk/v3 v3.243.0, and pkg/v3 v3.215.0 then fails). The plugin
# reports @pulumi/kubernetes's version (ldflags), so it installs under the name the program asks for.
K8S_PROVIDER_MODULE=github.com/pulumi/pulumi-kubernetes/provider/v4
K8S_PROVIDER_MODULE_VERSION=v4.0.0-20260115033456-f47bc2d6f199
K8S_PROVIDER_REQUIRES=(
  "github.com/pulumi/pulumi-kubernetes/sdk/v4 v4.24.0"
  "github.com/pulumi/pulumi/sdk/v3 v3.215.0"
  "github.com/pulumi/pulumi/pkg/v3 v3.215.0"
)

NODE_DIR="$BLUEGREEN_CACHE/node-v$NODE_VERSION"
# Pulumi YAML's language host (`runtime: yaml`: examples/yaml-service), built from the Go module
# github.com/pulumi/pulumi-yaml where the CLI in use does not ship one (scripts/setup.sh).
YAML_HOST_VERSION=1.25.0
YAML_HOST_DIR="$BLUEGREEN_CACHE/pulumi-language-yaml-v$YAML_HOST_VERSION/bin"

# Images. Where a registry answers, the official images at these pinned tags (pulled, never built),
# and the demo built from demo/Dockerfile (its FROM line is the pinned python image). Where none
# does, the same pieces built offline from Debian packages. Either way the set-up tags them with
# the names the program's defaults use (components/settings.ts), so no config changes with the path.
NGINX_IMAGE=nginx:1.29.3
TRAEFIK_IMAGE=traefik:v$TRAEFIK_VERSION
PYTHON_IMAGE=$(sed -n 's/^FROM \([^ ]*\).*/\1/p' "$ROOT/demo/Dockerfile" | head -1)
# The local names. BLUEGREEN_IMAGE_PREFIX exists for the online-path test, which must not retag
# the images other tests run on.
IMAGE_PREFIX="${BLUEGREEN_IMAGE_PREFIX:-bluegreen}"
LOCAL_NGINX="$IMAGE_PREFIX/nginx:local"
LOCAL_TRAEFIK="$IMAGE_PREFIX/traefik:local"
LOCAL_DEMO="$IMAGE_PREFIX/demo" # :1.0.0 and :2.0.0
# The loopback registry CI runs as the engine's registry mirror (scripts/registry.sh).
REGISTRY_PORT="${BLUEGREEN_REGISTRY_PORT:-5099}"
# The local Kubernetes control plane (scripts/cluster.sh) and its kubectl.
K8S_VERSION=1.36.2
KWOK_VERSION=0.8.0
K8S_BIN="$BLUEGREEN_CACHE/kubernetes-v$K8S_VERSION/bin"
# What cluster.sh builds into $K8S_BIN from Go sources: the control plane from k8s.io/kubernetes,
# then KWOK (the first four share one build; kwok is built on its own).
K8S_FROM_KUBERNETES=(kube-apiserver kube-controller-manager kube-scheduler kubectl)
K8S_BUILT=("${K8S_FROM_KUBERNETES[@]}" kwok)
# The real node's binaries, built only when it can run (root, real pods: `cluster.sh build-node`).
K8S_NODE=(kubelet kube-proxy)

# The folder of the `node` the scripts run: the one the set-up installed, else an installed one.
node_bin() {
  if [[ -x "$NODE_DIR/bin/node" ]]; then echo "$NODE_DIR/bin"; else dirname "$(command -v node)"; fi
}

step() { printf '[setup] %s\n' "$*" >&2; }
die() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }

# dep_version NAME: the exact version of a dependency pinned in package.json.
dep_version() {
  sed -n "s/^ *\"${1//\//\\/}\": *\"[~^]*\([0-9][^\"]*\)\".*/\1/p" "$ROOT/package.json" | head -1
}

pulumi_version() { dep_version @pulumi/pulumi; }
pulumi_dir() { echo "$BLUEGREEN_CACHE/pulumi-v$(pulumi_version)"; }
# The folder of the `pulumi` in use: an installed one the set-up chose (recorded in
# $BLUEGREEN_CACHE/pulumi-bin), else the one it built.
pulumi_bin() {
  local f="$BLUEGREEN_CACHE/pulumi-bin"
  if [[ -s "$f" && -x "$(cat "$f")/pulumi" ]]; then cat "$f"; else echo "$(pulumi_dir)/bin"; fi
}
