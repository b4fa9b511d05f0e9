#!/usr/bin/env bash
# A second Docker engine on a "test host" that lives on this machine: a network namespace joined
# to the main one by a veth pair on a private /30, running its own dockerd (own data root, exec
# root, pid file, socket and bridge) that listens on tcp://<test host address>:2375. The remote
# engine's tests (test/e2e/docker-remote.test.ts) point a stack at it with `docker:host`.
# Traffic stays on this machine: the engine and the ports it publishes answer only on the /30.
#
#   scripts/testhost.sh up [IMAGE...]   start it (idempotent), load IMAGEs from the local engine
#                                        (default: the images the stack needs)
#   scripts/testhost.sh down            stop it and remove everything it made (idempotent)
#   scripts/testhost.sh env             print `export BLUEGREEN_TESTHOST_*=...` and DOCKER_HOST
#   scripts/testhost.sh status          exit 0 when its engine answers
#
# Needs root (CI runs as root), iproute2, iptables and Debian's docker.io (scripts/setup.sh
# installs them). Everything can be moved with BLUEGREEN_TESTHOST_* variables, below.
source "$(dirname "$0")/lib.sh"

NS="${BLUEGREEN_TESTHOST_NS:-bluegreen-testhost}"
HOST_IF="${BLUEGREEN_TESTHOST_IF:-bgth-main}"   # the main namespace's end of the veth pair
PEER_IF="bgth-peer"                             # the test host's end (its own namespace: no clash)
HOST_ADDR="${BLUEGREEN_TESTHOST_GATEWAY:-10.231.0.1}"
ADDR="${BLUEGREEN_TESTHOST_ADDR:-10.231.0.2}"
PREFIXLEN=30
PORT=2375
# The test host's own bridge and address pools, distinct from the main engine's docker0 and pools.
BRIDGE="bgth-br0"
BRIDGE_CIDR="${BLUEGREEN_TESTHOST_BRIDGE_CIDR:-10.232.0.1/24}"
POOL="${BLUEGREEN_TESTHOST_POOL:-10.233.0.0/16}"
DATA="${BLUEGREEN_TESTHOST_DATA:-/var/lib/bluegreen-testhost}"
RUN="${BLUEGREEN_TESTHOST_RUN:-/run/bluegreen-testhost}"
PIDFILE="$RUN/dockerd.pid"
SOCK="$RUN/docker.sock"
LOG="$DATA.log"
ENGINE="tcp://$ADDR:$PORT"
IMAGES=("$LOCAL_DEMO:1.0.0" "$LOCAL_DEMO:2.0.0" "$LOCAL_NGINX" "$LOCAL_TRAEFIK") # the names the set-up gives them (lib.sh)

say() { printf '[testhost] %s\n' "$*" >&2; }
fail() { printf '[testhost] ERROR: %s\n' "$*" >&2; exit 1; }
remote() { docker -H "$ENGINE" "$@"; }
answers() { timeout 5 docker -H "$ENGINE" version --format '{{.Server.Version}}' >/dev/null 2>&1; }
dockerd_pid() { [[ -s "$PIDFILE" ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null && cat "$PIDFILE"; }

preflight() {
  (( EUID == 0 )) || fail "needs root (a network namespace, a veth pair and a dockerd): run it as root"
  local t
  for t in ip iptables dockerd docker; do
    command -v "$t" >/dev/null || fail "\`$t\` is missing; scripts/setup.sh installs it (iproute2, iptables, docker.io)"
  done
}

network() {
  [[ -e "/run/netns/$NS" ]] || ip netns add "$NS"
  if ! ip link show "$HOST_IF" >/dev/null 2>&1; then
    ip netns exec "$NS" ip link del "$PEER_IF" 2>/dev/null || true
    ip link add "$HOST_IF" type veth peer name "$PEER_IF"
    ip link set "$PEER_IF" netns "$NS"
  fi
  ip addr replace "$HOST_ADDR/$PREFIXLEN" dev "$HOST_IF"
  ip link set "$HOST_IF" up
  ip netns exec "$NS" ip addr replace "$ADDR/$PREFIXLEN" dev "$PEER_IF"
  ip netns exec "$NS" ip link set "$PEER_IF" up
  ip netns exec "$NS" ip link set lo up
  # The engine's own bridge (dockerd's --bridge wants it to exist).
  if ! ip netns exec "$NS" ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip netns exec "$NS" ip link add "$BRIDGE" type bridge
  fi
  ip netns exec "$NS" ip addr replace "$BRIDGE_CIDR" dev "$BRIDGE"
  ip netns exec "$NS" ip link set "$BRIDGE" up
  # The main namespace reaches the test host's address directly on the /30 (no forwarding), but
  # a main engine's FORWARD/INPUT rules must not drop it: accept the veth both ways.
  iptables -C INPUT -i "$HOST_IF" -j ACCEPT 2>/dev/null || iptables -I INPUT -i "$HOST_IF" -j ACCEPT
}

engine() {
  if dockerd_pid >/dev/null; then
    answers && { say "engine: running ($ENGINE, pid $(cat "$PIDFILE"))"; return; }
  else
    mkdir -p "$DATA" "$RUN"
    say "engine: starting dockerd in netns $NS on $ENGINE (log: $LOG)"
    # setsid and no inherited descriptors: the caller (a test's execFileSync) returns at once.
    # nsenter --net, not `ip netns exec`: that one also gives the process a fresh /sys without
    # the cgroup mounts, and dockerd then fails with "Devices cgroup isn't mounted".
    # --containerd-namespace: should it find a system containerd, it does not share the main
    # engine's `moby` namespace. --userland-proxy stays on: published ports answer on $ADDR.
    setsid nsenter --net="/run/netns/$NS" dockerd \
      --data-root "$DATA" --exec-root "$RUN/exec" --pidfile "$PIDFILE" \
      -H "unix://$SOCK" -H "$ENGINE" \
      --bridge "$BRIDGE" --default-address-pool "base=$POOL,size=24" \
      --containerd-namespace bluegreen-testhost --containerd-plugins-namespace bluegreen-testhost-plugins \
      --iptables=true --ip-forward=true \
      </dev/null >"$LOG" 2>&1 &
  fi
  local i
  for i in $(seq 60); do
    answers && { say "engine: up ($ENGINE, dockerd $(remote version --format '{{.Server.Version}}'), storage $(remote info --format '{{.Driver}}'))"; return; }
    dockerd_pid >/dev/null || (( i < 5 )) || break
    sleep 1
  done
  tail -20 "$LOG" >&2 || true
  fail "dockerd in netns $NS did not answer on $ENGINE; see $LOG"
}

images() { # copies IMAGEs the test host lacks (or has at another ID) from the local engine
  local want=("$@") missing=() img
  (( ${#want[@]} )) || want=("${IMAGES[@]}")
  for img in "${want[@]}"; do
    local id; id=$(docker image inspect -f '{{.Id}}' "$img" 2>/dev/null) \
      || fail "image $img is not on the local engine; scripts/setup.sh builds it"
    [[ "$(remote image inspect -f '{{.Id}}' "$img" 2>/dev/null)" == "$id" ]] || missing+=("$img")
  done
  if (( ${#missing[@]} == 0 )); then say "images: present (${want[*]})"; return; fi
  say "images: docker save | docker -H $ENGINE load (${missing[*]})"
  docker save "${missing[@]}" | remote load -q >/dev/null || fail "loading ${missing[*]} into $ENGINE failed"
}

up() {
  preflight
  network
  engine
  images "$@"
  say "up: DOCKER_HOST=$ENGINE (the test host's address $ADDR; the main namespace is $HOST_ADDR)"
}

down() {
  preflight
  local pid
  if pid=$(dockerd_pid); then
    say "engine: stopping dockerd (pid $pid; it stops its containers)"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && { say "engine: dockerd did not exit within 20 s, killing it"; kill -9 "$pid" 2>/dev/null || true; }
  fi
  # Anything still in the namespace (containerd, shims, docker-proxy) is ours: stop it by pid.
  if [[ -e "/run/netns/$NS" ]]; then
    for pid in $(ip netns pids "$NS" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
    sleep 0.5
    ip netns del "$NS" 2>/dev/null || true
  fi
  ip link del "$HOST_IF" 2>/dev/null || true
  while iptables -D INPUT -i "$HOST_IF" -j ACCEPT 2>/dev/null; do :; done
  # Mounts of its storage driver live in `ip netns exec`'s own mount namespace and go with it;
  # any that leaked into this one are unmounted before the directories go.
  local m
  for m in $(awk -v d="$DATA" -v r="$RUN" 'index($2, d) == 1 || index($2, r) == 1 { print $2 }' /proc/self/mounts | sort -r); do
    umount -l "$m" 2>/dev/null || true
  done
  rm -rf "$RUN" "$DATA" "$LOG"
  say "down: netns $NS, $HOST_IF, dockerd and its data removed"
}

case "${1:-}" in
  up) shift; up "$@" ;;
  down) down ;;
  env)
    cat <<ENV
export BLUEGREEN_TESTHOST_ADDR="$ADDR"
export BLUEGREEN_TESTHOST_GATEWAY="$HOST_ADDR"
export BLUEGREEN_TESTHOST_ENGINE="$ENGINE"
export DOCKER_HOST="$ENGINE"
ENV
    ;;
  status) answers ;;
  *) fail "usage: scripts/testhost.sh up [IMAGE...]|down|env|status" ;;
esac
