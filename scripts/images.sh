# The images step of the set-up: sourced by scripts/setup.sh and scripts/registry.sh, never run.
# Each piece (nginx, traefik, demo) goes the way scripts/setupPlan.mjs chose:
#   pull        the official image at its pinned tag (lib.sh), tagged with the local name
#   dockerfile  the demo built from demo/Dockerfile (which pulls the pinned official python)
#   offline     built from Debian packages (debootstrap, root, once) and, for Traefik, Go sources
# and ends up under the name the program's defaults use ($LOCAL_NGINX, $LOCAL_TRAEFIK, $LOCAL_DEMO).

# The offline root file systems (root, once, cached): Debian with $OFFLINE_PACKAGES (python3-h2:
# the demo app's HTTP/2), the base of the offline Traefik and demo images, named for what it holds
# (a machine whose cached one has no h2 builds this one, and its image, anew); and Debian
# $NGINX_SUITE with nginx and curl, the offline nginx image (its nginx must be >=
# $NGINX_MIN_VERSION, see lib.sh).
OFFLINE_PACKAGES=nginx-light,curl,python3,python3-h2
OFFLINE_ROOTFS="$BLUEGREEN_CACHE/rootfs-$DEBIAN_SUITE-${OFFLINE_PACKAGES//,/-}.tar"
OFFLINE_BASE="$IMAGE_PREFIX/offline-base:$DEBIAN_SUITE-h2"
NGINX_ROOTFS="$BLUEGREEN_CACHE/rootfs-$NGINX_SUITE-nginx-curl.tar"
OFFLINE_NGINX="$IMAGE_PREFIX/offline-nginx:$NGINX_SUITE"
TRAEFIK_BINARY="$BLUEGREEN_CACHE/traefik-v$TRAEFIK_VERSION/traefik"

app_hash() { sha256sum "$ROOT/demo/app.py" | cut -c1-16; }

# image_present IMAGE: the engine has it.
image_present() { docker image inspect "$1" >/dev/null 2>&1; }

# nginx_version IMAGE: the version of the nginx in IMAGE (empty if it has none).
nginx_version() { docker run --rm --entrypoint nginx "$1" -v 2>&1 | sed -n 's|.*nginx/\([0-9][0-9.]*\).*|\1|p'; }
# nginx_runs_config IMAGE: IMAGE's nginx runs the proxy's config (>= NGINX_MIN_VERSION).
nginx_runs_config() {
  local v; v=$(nginx_version "$1")
  [[ -n "$v" && "$(printf '%s\n%s\n' "$NGINX_MIN_VERSION" "$v" | sort -V | head -1)" == "$NGINX_MIN_VERSION" ]]
}
# nginx_current: $LOCAL_NGINX exists and runs the proxy's config; a warm machine's older image
# (bookworm's 1.22) counts as missing, so the set-up replaces it with no manual step.
nginx_current() { image_present "$LOCAL_NGINX" && nginx_runs_config "$LOCAL_NGINX"; }
# nginx_says: the one line of the set-up that says which nginx the proxy runs.
nginx_says() { step "images: $LOCAL_NGINX is nginx $(nginx_version "$LOCAL_NGINX")$1"; }

# demo_present: both demo tags exist and were built from the current demo/app.py.
demo_present() {
  local v h; h=$(app_hash)
  for v in 1.0.0 2.0.0; do
    [[ "$(docker image inspect -f '{{index .Config.Labels "bluegreen.app"}}' "$LOCAL_DEMO:$v" 2>/dev/null)" == "$h" ]] || return 1
  done
}

# docker_build TAG CONTEXT [ARGS...]: the classic builder, which pulls a missing FROM image through
# the engine (and so through its registry mirrors).
docker_build() {
  local tag="$1" ctx="$2"; shift 2
  DOCKER_BUILDKIT=0 docker build -q "$@" -t "$tag" "$ctx" >/dev/null 2>"$BLUEGREEN_CACHE/docker-build.log" \
    || die "building $tag failed; see $BLUEGREEN_CACHE/docker-build.log"
}

# pull_official IMAGE: docker pull, unless the engine already has that pinned tag.
pull_official() {
  if image_present "$1"; then step "images: $1 already pulled"; return; fi
  step "images: docker pull $1"
  docker pull -q "$1" >/dev/null 2>"$BLUEGREEN_CACHE/docker-pull.log" \
    || die "docker pull $1 failed: $(head -c 300 "$BLUEGREEN_CACHE/docker-pull.log")"
}

# --- online ---------------------------------------------------------------------------------
online_nginx() {
  # A registry mirror's stand-in (scripts/registry.sh) pulled before the offline nginx moved to
  # Debian sid holds nginx 1.22: pull again; if the mirror still serves it (the registry step,
  # after this one, re-seeds it), build the same image offline instead.
  if image_present "$NGINX_IMAGE" && ! nginx_runs_config "$NGINX_IMAGE"; then docker rmi "$NGINX_IMAGE" >/dev/null; fi
  pull_official "$NGINX_IMAGE"
  if ! nginx_runs_config "$NGINX_IMAGE"; then
    [[ -n "$(docker image inspect -f '{{index .Config.Labels "bluegreen.standin-for"}}' "$NGINX_IMAGE")" ]] \
      || die "$NGINX_IMAGE runs nginx $(nginx_version "$NGINX_IMAGE"); the proxy's config needs >= $NGINX_MIN_VERSION"
    step "images: the registry mirror's $NGINX_IMAGE is an old stand-in (nginx $(nginx_version "$NGINX_IMAGE")); building nginx offline"
    docker rmi "$NGINX_IMAGE" >/dev/null
    offline_nginx
    return
  fi
  docker tag "$NGINX_IMAGE" "$LOCAL_NGINX" && nginx_says ", the official $NGINX_IMAGE"
}
online_traefik() { pull_official "$TRAEFIK_IMAGE" && docker tag "$TRAEFIK_IMAGE" "$LOCAL_TRAEFIK" && step "images: $LOCAL_TRAEFIK is the official $TRAEFIK_IMAGE"; }
# standin_without_h2 IMAGE: IMAGE is a registry mirror's stand-in for python (scripts/registry.sh)
# built before the offline image had python3-h2: it has neither h2 nor pip.
standin_without_h2() {
  [[ -n "$(docker image inspect -f '{{index .Config.Labels "bluegreen.standin-for"}}' "$1")" ]] \
    && ! docker run --rm --entrypoint python3 "$1" -c "import h2" >/dev/null 2>&1
}
online_demo() {
  # Such a stand-in: pull again; if the mirror still serves it (the registry step, after this one,
  # re-seeds it), build the demo offline instead.
  if image_present "$PYTHON_IMAGE" && standin_without_h2 "$PYTHON_IMAGE"; then docker rmi "$PYTHON_IMAGE" >/dev/null; fi
  pull_official "$PYTHON_IMAGE"
  if standin_without_h2 "$PYTHON_IMAGE"; then
    step "images: the registry mirror's $PYTHON_IMAGE is an old stand-in (no h2); building the demo offline"
    docker rmi "$PYTHON_IMAGE" >/dev/null
    offline_demo
    return
  fi
  local v h; h=$(app_hash)
  for v in 1.0.0 2.0.0; do
    docker_build "$LOCAL_DEMO:$v" "$ROOT/demo" --build-arg "APP_VERSION=$v" --label "bluegreen.app=$h"
  done
  step "images: $LOCAL_DEMO:1.0.0 and :2.0.0 built from demo/Dockerfile ($PYTHON_IMAGE)"
}

# --- offline --------------------------------------------------------------------------------
# debootstrap_rootfs TAR SUITE PACKAGES: a minimal Debian SUITE with PACKAGES, as a tar (once).
debootstrap_rootfs() {
  local tar="$1" suite="$2" packages="$3"
  [[ -s "$tar" ]] && return 0
  if ! command -v debootstrap >/dev/null; then
    step "images: installing Debian's debootstrap (root: apt-get)"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
  fi
  step "images: debootstrap $suite with ${packages//,/, } (root; about a minute, once)"
  local dir log="$BLUEGREEN_CACHE/debootstrap-$suite.log"; dir=$(mktemp -d)
  debootstrap --variant=minbase --include="$packages" "$suite" "$dir" >"$log" 2>&1 \
    || die "debootstrap $suite failed; see $log"
  rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/* "$dir"/etc/nginx/sites-enabled/default
  tar -C "$dir" -cf "$tar.part" . && mv "$tar.part" "$tar"
  rm -rf "$dir"
}
offline_rootfs() { debootstrap_rootfs "$OFFLINE_ROOTFS" "$DEBIAN_SUITE" "$OFFLINE_PACKAGES"; }
offline_base() {
  image_present "$OFFLINE_BASE" && return 0
  offline_rootfs
  docker import -c 'CMD ["nginx", "-g", "daemon off;"]' "$OFFLINE_ROOTFS" "$OFFLINE_BASE" >/dev/null
}
offline_nginx_image() {
  image_present "$OFFLINE_NGINX" && return 0
  debootstrap_rootfs "$NGINX_ROOTFS" "$NGINX_SUITE" nginx,curl
  docker import -c 'CMD ["nginx", "-g", "daemon off;"]' "$NGINX_ROOTFS" "$OFFLINE_NGINX" >/dev/null
}
offline_nginx() {
  offline_nginx_image
  docker tag "$OFFLINE_NGINX" "$LOCAL_NGINX"
  nginx_says ", from Debian $NGINX_SUITE's packages"
}
offline_traefik_binary() {
  [[ -x "$TRAEFIK_BINARY" ]] && return 0
  step "images: building Traefik v$TRAEFIK_VERSION from Go sources (5-10 min on 2 cores, once)"
  local w; w=$(mktemp -d)
  # Its go.mod has replace directives, so `go install` is refused: build inside a copy.
  local dir; dir=$(cd "$w" && go mod init probe >/dev/null 2>&1 && go mod download -json "github.com/traefik/traefik/v3@v$TRAEFIK_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  [[ -n "$dir" ]] || die "cannot download github.com/traefik/traefik/v3@v$TRAEFIK_VERSION"
  cp -r "$dir" "$w/src" && chmod -R u+w "$w/src"
  mkdir -p "$(dirname "$TRAEFIK_BINARY")"
  (cd "$w/src" && go build -trimpath -ldflags "-s -w -X github.com/traefik/traefik/v3/pkg/version.Version=$TRAEFIK_VERSION" -o "$TRAEFIK_BINARY.part" ./cmd/traefik) \
    || die "building traefik v$TRAEFIK_VERSION failed (see the go output above)"
  mv "$TRAEFIK_BINARY.part" "$TRAEFIK_BINARY"
  rm -rf "$w"
}
offline_traefik() {
  offline_base
  offline_traefik_binary
  local ctx; ctx=$(mktemp -d)
  cp "$TRAEFIK_BINARY" "$ctx/traefik"
  printf 'FROM %s\nCOPY traefik /usr/local/bin/traefik\nCMD ["traefik"]\n' "$OFFLINE_BASE" >"$ctx/Dockerfile"
  docker_build "$LOCAL_TRAEFIK" "$ctx"
  rm -rf "$ctx"
  step "images: $LOCAL_TRAEFIK is Traefik v$TRAEFIK_VERSION built from Go sources, on the Debian image"
}
offline_demo() {
  offline_base
  local v h ctx; h=$(app_hash); ctx=$(mktemp -d)
  # The same app as demo/Dockerfile builds, on the Debian image's python3.
  mkdir -p "$ctx/app" && cp "$ROOT/demo/app.py" "$ctx/app/app.py"
  for v in 1.0.0 2.0.0; do
    printf 'FROM %s\nCOPY app /app\nENV APP_VERSION=%s PORT=8080\nLABEL bluegreen.app=%s\nUSER 65534\nCMD ["python3", "/app/app.py"]\n' "$OFFLINE_BASE" "$v" "$h" >"$ctx/Dockerfile"
    docker_build "$LOCAL_DEMO:$v" "$ctx"
  done
  rm -rf "$ctx"
  step "images: $LOCAL_DEMO:1.0.0 and :2.0.0 built from demo/app.py on the Debian image"
}

# image_piece PIECE WAY: acts on one decision of the plan.
image_piece() {
  case "$2" in
    present) if [[ "$1" == nginx ]]; then nginx_says " (present)"; else step "images: $1 present"; fi ;;
    pull|dockerfile) "online_$1" ;;
    offline) "offline_$1" ;;
    *) die "images: no way \"$2\" for $1" ;;
  esac
}
