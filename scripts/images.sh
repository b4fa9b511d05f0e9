# The images step of the set-up: sourced by scripts/setup.sh and scripts/registry.sh, never run.
# Each piece (nginx, traefik, demo) goes the way scripts/setupPlan.mjs chose:
#   pull        the official image at its pinned tag (lib.sh), tagged with the local name
#   dockerfile  the demo built from demo/Dockerfile (which pulls the pinned official python)
#   offline     built from Debian packages (debootstrap, root, once) and, for Traefik, Go sources
# and ends up under the name the program's defaults use ($LOCAL_NGINX, $LOCAL_TRAEFIK, $LOCAL_DEMO).

# The offline root file system: Debian with nginx-light, curl and python3 (root, once, cached).
OFFLINE_ROOTFS="$BLUEGREEN_CACHE/rootfs-$DEBIAN_SUITE-nginx-curl-python3.tar"
OFFLINE_BASE="$IMAGE_PREFIX/offline-base:$DEBIAN_SUITE"
TRAEFIK_BINARY="$BLUEGREEN_CACHE/traefik-v$TRAEFIK_VERSION/traefik"

app_hash() { sha256sum "$ROOT/demo/app.py" | cut -c1-16; }

# image_present IMAGE: the engine has it.
image_present() { docker image inspect "$1" >/dev/null 2>&1; }

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
online_nginx() { pull_official "$NGINX_IMAGE" && docker tag "$NGINX_IMAGE" "$LOCAL_NGINX" && step "images: $LOCAL_NGINX is the official $NGINX_IMAGE"; }
online_traefik() { pull_official "$TRAEFIK_IMAGE" && docker tag "$TRAEFIK_IMAGE" "$LOCAL_TRAEFIK" && step "images: $LOCAL_TRAEFIK is the official $TRAEFIK_IMAGE"; }
online_demo() {
  pull_official "$PYTHON_IMAGE"
  local v h; h=$(app_hash)
  for v in 1.0.0 2.0.0; do
    docker_build "$LOCAL_DEMO:$v" "$ROOT/demo" --build-arg "APP_VERSION=$v" --label "bluegreen.app=$h"
  done
  step "images: $LOCAL_DEMO:1.0.0 and :2.0.0 built from demo/Dockerfile ($PYTHON_IMAGE)"
}

# --- offline --------------------------------------------------------------------------------
offline_rootfs() {
  [[ -s "$OFFLINE_ROOTFS" ]] && return 0
  if ! command -v debootstrap >/dev/null; then
    step "images: installing Debian's debootstrap (root: apt-get)"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
  fi
  step "images: debootstrap $DEBIAN_SUITE with nginx-light, curl, python3 (root; about a minute, once)"
  local dir; dir=$(mktemp -d)
  debootstrap --variant=minbase --include=nginx-light,curl,python3 "$DEBIAN_SUITE" "$dir" >"$BLUEGREEN_CACHE/debootstrap.log" 2>&1 \
    || die "debootstrap failed; see $BLUEGREEN_CACHE/debootstrap.log"
  rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/* "$dir"/etc/nginx/sites-enabled/default
  tar -C "$dir" -cf "$OFFLINE_ROOTFS.part" . && mv "$OFFLINE_ROOTFS.part" "$OFFLINE_ROOTFS"
  rm -rf "$dir"
}
offline_base() {
  image_present "$OFFLINE_BASE" && return 0
  offline_rootfs
  docker import -c 'CMD ["nginx", "-g", "daemon off;"]' "$OFFLINE_ROOTFS" "$OFFLINE_BASE" >/dev/null
}
offline_nginx() {
  offline_base
  docker tag "$OFFLINE_BASE" "$LOCAL_NGINX"
  step "images: $LOCAL_NGINX is nginx $(docker run --rm "$LOCAL_NGINX" nginx -v 2>&1 | sed 's/.*nginx\///') from Debian packages"
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
    present) step "images: $1 present" ;;
    pull|dockerfile) "online_$1" ;;
    offline) "offline_$1" ;;
    *) die "images: no way \"$2\" for $1" ;;
  esac
}
