#!/usr/bin/env bash
# A container registry on loopback that the Docker engine uses as its registry mirror, holding
# stand-ins for the official images under their official names. It exists so that the set-up's
# online path ("pull the official nginx, traefik and python images") runs for real on a machine
# that reaches no public registry: `docker pull nginx:<pin>` goes through the engine's mirror.
#
#   scripts/registry.sh up       start it (Debian's docker-registry), make it the engine's mirror,
#                                seed it; idempotent
#   scripts/registry.sh url      print its address
#
# The stand-ins are built offline (scripts/images.sh) and labelled `bluegreen.standin-for`:
#   library/nginx:<pin>    the Debian nginx image (sid's, see NGINX_SUITE in lib.sh)
#   library/traefik:<pin>  Traefik built from Go sources, laid out as the official image is: the
#                          binary in /usr/local/bin, /entrypoint.sh, busybox wget and no curl
#   library/python:<pin>   the Debian image (python3, with python3-h2: demo/Dockerfile's pip step is skipped)
source "$(dirname "$0")/lib.sh"
source "$ROOT/scripts/images.sh"

URL="http://127.0.0.1:$REGISTRY_PORT"
DIR="$BLUEGREEN_CACHE/registry"
LOG="$DIR/registry.log"

answers() { curl -sf -o /dev/null -m 2 "$URL/v2/"; }

start() {
  if answers; then step "registry: answering on $URL"; return; fi
  command -v docker-registry >/dev/null || die "registry: Debian's docker-registry is not installed (apt-get install docker-registry)"
  mkdir -p "$DIR/data"
  cat >"$DIR/config.yml" <<YAML
version: 0.1
log:
  level: info
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: $DIR/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$REGISTRY_PORT
YAML
  step "registry: starting docker-registry on $URL (log: $LOG)"
  nohup docker-registry serve "$DIR/config.yml" >>"$LOG" 2>&1 &
  echo $! >"$DIR/pid"
  for _ in $(seq 30); do answers && return; sleep 0.5; done
  die "registry: docker-registry did not answer on $URL within 15 s; see $LOG"
}

mirror_configured() { docker info --format '{{json .RegistryConfig.Mirrors}}' 2>/dev/null | grep -q "127.0.0.1:$REGISTRY_PORT"; }

# The engine reads its registry mirrors from /etc/docker/daemon.json at start and again on SIGHUP
# (a reloadable option): no restart, no container stopped. Only the local dockerd is touched.
mirror() {
  if mirror_configured; then step "registry: the engine's registry mirror already"; return; fi
  local pidfile=/var/run/docker.pid
  [[ -z "${DOCKER_HOST:-}" && -s "$pidfile" && -w /etc ]] \
    || die "registry: the engine does not use $URL as a mirror, and this is not a local dockerd the set-up may reconfigure (root, $pidfile): add \"registry-mirrors\": [\"$URL\"] to its daemon.json"
  step "root-only step: adding $URL to registry-mirrors in /etc/docker/daemon.json and reloading dockerd (SIGHUP)"
  mkdir -p /etc/docker
  "$(node_bin)/node" -e '
    const fs = require("fs"); const [file, url] = process.argv.slice(1);
    const cfg = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8") || "{}") : {};
    cfg["registry-mirrors"] = [...new Set([...(cfg["registry-mirrors"] ?? []), url])];
    fs.writeFileSync(file, JSON.stringify(cfg, null, 2) + "\n");' /etc/docker/daemon.json "$URL"
  kill -HUP "$(cat "$pidfile")"
  for _ in $(seq 20); do mirror_configured && return; sleep 0.5; done
  die "registry: dockerd did not take the mirror after SIGHUP; see its log"
}

# The stand-ins' recipe: a changed one (this file, images.sh) re-seeds them.
recipe() { cat "$ROOT/scripts/registry.sh" "$ROOT/scripts/images.sh" | sha256sum | cut -c1-16; }
marker() { echo "$DIR/seeded-${1//\//_}-$2"; }
has() { # has REPO TAG: the registry holds it, pushed from the current recipe
  [[ "$(cat "$(marker "$1" "$2")" 2>/dev/null)" == "$(recipe)" ]] &&
    curl -sf -o /dev/null -m 5 -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' "$URL/v2/$1/manifests/$2"
}

# push OFFICIAL CONTEXT: builds CONTEXT as the stand-in for OFFICIAL and pushes it under library/.
push() {
  local official="$1" ctx="$2" repo="library/${1%%:*}" tag="${1#*:}"
  local dest="127.0.0.1:$REGISTRY_PORT/$repo:$tag"
  docker_build "$dest" "$ctx" --label "bluegreen.standin-for=$official"
  docker push -q "$dest" >/dev/null 2>"$DIR/push.log" || die "registry: docker push $dest failed; see $DIR/push.log"
  docker rmi "$dest" >/dev/null # only the registry keeps it: a pull must fetch it
  recipe >"$(marker "$repo" "$tag")"
  step "registry: $repo:$tag seeded (stand-in for $official)"
}

seed() {
  local ctx
  if has library/nginx "${NGINX_IMAGE#*:}"; then step "registry: library/$NGINX_IMAGE present"; else
    offline_nginx_image
    ctx=$(mktemp -d)
    printf 'FROM %s\nCMD ["nginx", "-g", "daemon off;"]\n' "$OFFLINE_NGINX" >"$ctx/Dockerfile"
    push "$NGINX_IMAGE" "$ctx"; rm -rf "$ctx"
  fi
  if has library/python "${PYTHON_IMAGE#*:}"; then step "registry: library/$PYTHON_IMAGE present"; else
    offline_base
    ctx=$(mktemp -d)
    printf 'FROM %s\nCMD ["python3"]\n' "$OFFLINE_BASE" >"$ctx/Dockerfile"
    push "$PYTHON_IMAGE" "$ctx"; rm -rf "$ctx"
  fi
  if has library/traefik "${TRAEFIK_IMAGE#*:}"; then step "registry: library/$TRAEFIK_IMAGE present"; else
    offline_base
    offline_traefik_binary
    ctx=$(mktemp -d)
    cp "$TRAEFIK_BINARY" "$ctx/traefik"
    # busybox wget, as the official (Alpine) image has, from Debian's busybox package (the static
    # build cannot resolve names: glibc's NSS needs dynamic linking). Debian's busybox 1.35 wget
    # crashes on -T (its timeout), which the official image's wget honours: a wrapper runs it
    # under `busybox timeout` instead, so the stand-in keeps the official image's contract.
    (cd "$ctx" && apt-get download -qq busybox >/dev/null 2>&1 && dpkg-deb -x busybox_*.deb bb && cp bb/bin/busybox busybox) \
      || die "registry: cannot get Debian's busybox (apt-get download busybox)"
    cat >"$ctx/wget" <<'SH'
#!/bin/sh
t= i=0 n=$#
while [ "$i" -lt "$n" ]; do
  a=$1; shift; i=$((i + 1))
  case "$a" in
    -T) t=$1; shift; i=$((i + 1)) ;;
    -T*) t=${a#-T} ;;
    *) set -- "$@" "$a" ;;
  esac
done
if [ -n "$t" ]; then exec busybox timeout "$t" busybox wget "$@"; fi
exec busybox wget "$@"
SH
    chmod +x "$ctx/wget"
    # The official image's entrypoint: flags, or a Traefik subcommand, run traefik; anything else runs as is.
    cat >"$ctx/entrypoint.sh" <<'SH'
#!/bin/sh
set -e
if [ "${1#-}" != "$1" ]; then set -- traefik "$@"; fi
if traefik "$1" --help >/dev/null 2>&1; then set -- traefik "$@"; else echo "= '$1' is not a Traefik command: assuming shell execution." 1>&2; fi
exec "$@"
SH
    chmod +x "$ctx/entrypoint.sh"
    cat >"$ctx/Dockerfile" <<DOCKERFILE
FROM $OFFLINE_BASE
COPY busybox /bin/busybox
COPY traefik /usr/local/bin/traefik
COPY entrypoint.sh /entrypoint.sh
COPY wget /usr/bin/wget
RUN rm -f /usr/bin/curl
ENTRYPOINT ["/entrypoint.sh"]
CMD ["traefik"]
DOCKERFILE
    push "$TRAEFIK_IMAGE" "$ctx"; rm -rf "$ctx"
  fi
}

case "${1:-}" in
  up) start; mirror; seed ;;
  url) echo "$URL" ;;
  *) die "usage: scripts/registry.sh up|url" ;;
esac
