/**
 * The traffic switch: the one small resource that decides which color serves live traffic.
 *
 * It owns the proxy's configuration file. On every change it (1) health-gates the color that
 * will be live, from inside the proxy's network, (2) writes the rendered file next to the live
 * one, (3) for nginx, checks it with `nginx -t`, (4) renames it into place (atomic), (5) for
 * nginx, reloads gracefully (Traefik watches the file and swaps routes in process) and
 * (6) waits until the proxy serves the new generation. Any failing step fails the
 * update and leaves the previous file and traffic in place. `read` returns what is really on
 * the proxy, so `pulumi refresh` shows hand edits as drift and the next `up` restores them.
 *
 * This is the provider side, run by the project's own `bluegreen` plugin (./provider.ts); the
 * program declares the resource with `components/docker/trafficSwitch.ts`.
 */
import type { Color, ProxyKind } from "../../components/settings";
import { TRAEFIK_API_PORT, TRAEFIK_LIVE_PORT, TRAEFIK_PREVIEW_PORT } from "../../components/traefikConfig";
import type { DiffKind, DiffResult } from "../shared/grpcProvider";
import { execScript } from "./dockerExec";

/** Polls the proxy's own status URL until it shows the new generation (shared by both kinds); runs `each` before every poll. */
const waitForGeneration = (each = "") => `
i=0
while :; do${each}
  body=$(curl -s -m 2 "$url" 2>/dev/null || wget -qO- -T 2 "$url" 2>/dev/null || true)
  case "$body" in *"$expect"*) break ;; esac
  i=$((i + 1))
  if [ "$i" -ge 500 ]; then echo "the proxy did not serve generation $generation within 15 s" >&2; exit 67; fi
  sleep 0.03 # a reload takes effect in tens of milliseconds: the first new answer is not kept waiting
done`;

/** Checks each URL until it answers 2xx; args: retries, interval s, deadline s, URL... */
export const HEALTH_SCRIPT = `
retries=$1 interval=$2 deadline=$3; shift 3
start=$(date +%s)
for url in "$@"; do
  n=0
  while :; do
    n=$((n + 1))
    if command -v curl >/dev/null 2>&1; then
      code=$(curl -s -o /dev/null -m 5 -w '%{http_code}' "$url" 2>/dev/null) || true
    elif out=$(wget -q -O /dev/null -T 5 "$url" 2>&1); then
      code=2xx # busybox wget (the official Traefik image has no curl) succeeds only on 2xx
    else
      code=$(printf '%s' "$out" | sed -n -E 's#.*HTTP/1[.][01] ([0-9]{3}).*#\\1#p' | head -n 1)
    fi
    case "$code" in 2??) break ;; esac
    now=$(date +%s)
    if [ "$n" -ge "$retries" ] || [ $((now - start)) -ge "$deadline" ]; then
      echo "$url answered \${code:-000} after $n attempt(s) in $((now - start)) s"
      exit 1
    fi
    sleep "$interval"
  done
done
`;

/** Prints the PIDs of nginx's worker processes (from /proc: the image needs no `ps`). */
const NGINX_WORKERS = `
workers() {
  for p in /proc/[0-9]*; do
    case "$(tr '\\0' ' ' < "$p/cmdline" 2>/dev/null)" in "nginx: worker process"*) echo "\${p#/proc/}" ;; esac
  done
}`;

/**
 * Waits until the workers from before the reload have exited. They serve what was in flight
 * when it came, streams included, on the old color, and exit when that is done or when their
 * worker_shutdown_timeout (drainSeconds) closes it: so the switch returns only once the old
 * color has drained, and nothing later in the same `up` (a replaced container of the old
 * color) or after it is removed while it still serves.
 */
const WAIT_FOR_DRAIN = `
for pid in $old_workers; do
  while [ -e "/proc/$pid" ]; do sleep 0.03; done
done`;

/**
 * Installs stdin as the live nginx.conf; args: config dir, generation, status URL, expected text.
 * nginx -t first, then an atomic rename, a graceful reload, a wait until nginx serves it, and
 * a wait until the old workers have drained.
 */
export const NGINX_APPLY_SCRIPT = `
set -eu
dir=$1 generation=$2 url=$3 expect=$4
conf="$dir/nginx.conf" next="$dir/.nginx.conf.next" prev="$dir/.nginx.conf.prev"
umask 022
cat > "$next"
if ! out=$(nginx -t -q -c "$next" 2>&1); then
  rm -f "$next"; echo "nginx -t rejected the rendered configuration: $out" >&2; exit 65
fi
[ -f "$conf" ] && cp -p "$conf" "$prev"
mv -f "$next" "$conf"
${NGINX_WORKERS}
old_workers=$(workers)
if ! out=$(nginx -s reload -c "$conf" 2>&1); then
  [ -f "$prev" ] && mv -f "$prev" "$conf"
  echo "nginx reload failed, previous configuration restored: $out" >&2; exit 66
fi
${waitForGeneration()}
${WAIT_FOR_DRAIN}
`;

/**
 * Where the Traefik switch writes the next file before renaming it into place: a subdirectory of
 * the watched one (same filesystem, so the rename is atomic; not watched, so writing is no event).
 * Traefik's directory loader reads subdirectories too, but only files ending .yml, .yaml or .toml.
 */
export const TRAEFIK_STAGING_DIR = ".staging";

/** A port as /proc/net/tcp writes it (4 hex digits, upper case). */
const procPort = (port: number) => port.toString(16).toUpperCase().padStart(4, "0");

/**
 * Shell functions for Traefik's drain. /proc, ls, sed and awk: the official (busybox) and the
 * Debian image have all of them.
 *
 * \`socks\` prints what Traefik has open now, cheaply: the inodes of its process's sockets (under
 * load /proc/net/tcp is no list to poll: it fills with TIME_WAIT connections, 50–90 ms a read).
 * \`to_colors INODE...\` reads /proc/net/tcp once and keeps the inodes that are connections to a
 * color: established, not on one of Traefik's listeners (the clients') and not to loopback (the
 * switch's own requests to the API), and not to an address in \`$skip\` (/proc's hex, set by
 * the switch to the color that is live after it, whose connections are not the drain's).
 *
 * Traefik 3 has no per-service count of open connections or requests in flight (v2's
 * \`traefik_service_open_connections\` became \`traefik_open_connections\`, per entry point, in
 * v3). The program's transport pools connections to the colors but closes one that has been idle
 * for TRAEFIK_IDLE_CONN_MS (components/traefikConfig.ts): a connection to the old color still
 * open after that is a request in flight on it.
 *
 * Where Traefik's process cannot be found or read (a custom image), both fall back to reading
 * /proc/net/tcp each time: \`socks\` prints the connections to colors (local-remote) and
 * \`to_colors\` passes them on.
 */
export const TRAEFIK_IN_FLIGHT = `
tpid="" skip=""
for p in /proc/[0-9]*; do
  case "$(tr '\\0' ' ' < "$p/cmdline" 2>/dev/null)" in traefik\\ *|*/traefik\\ *) tpid=\${p#/proc/}; break ;; esac
done
colors() { # /proc/net/tcp lines of established connections to colors, as awk's input
  cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk -v want="$1" -v skip=" $skip " '$4 == "01" {
    n = split($2, l, ":"); lp = l[n]
    if (lp == "${procPort(TRAEFIK_LIVE_PORT)}" || lp == "${procPort(TRAEFIK_PREVIEW_PORT)}" || lp == "${procPort(TRAEFIK_API_PORT)}") next
    if ($3 ~ /^0100007F:/ || $3 ~ /^0000000000000000FFFF00000100007F:/ || $3 ~ /^00000000000000000000000001000000:/) next
    split($3, r, ":"); if (index(skip, " " substr(r[1], length(r[1]) - 7) " ")) next
    if (want == "") print $2 "-" $3; else if (index(want, " " $10 " ")) print $10
  }'
}
# hex_ips NAME: the IPv4 addresses Docker's DNS gives for NAME, as /proc/net/tcp writes them.
hex_ips() {
  { getent ahostsv4 "$1" 2>/dev/null || nslookup "$1" 2>/dev/null; } | awk '{
    for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+[.][0-9]+[.][0-9]+[.][0-9]+$/ && $i != "127.0.0.11") {
      split($i, o, "."); printf "%02X%02X%02X%02X\\n", o[4], o[3], o[2], o[1]
    }
  }' | sort -u
}
if [ -n "$tpid" ] && ls "/proc/$tpid/fd" >/dev/null 2>&1; then
  socks() { ls -l "/proc/$tpid/fd" 2>/dev/null | sed -n 's/.*socket:\\[\\([0-9]*\\)\\].*/\\1/p'; }
  to_colors() { [ "$#" -gt 0 ] && colors " $* " || true; }
else
  socks() { colors ""; }
  to_colors() { echo "$@"; }
fi`;

/**
 * Installs stdin as Traefik's watched dynamic config; args: the four of nginx's, drainSeconds, and
 * the host name of the color that is live after it.
 * Traefik swaps routes inside the process when the file changes: no restart, no reload, no
 * connection closed. The rendered JSON was built from validated values; the rename makes the
 * watcher see only whole files. The next file is written in a subdirectory, which Traefik's
 * watcher does not watch: every event in the watched directory makes Traefik re-read it and
 * starts its providersThrottleDuration (100 ms), so writing the next file beside the live one
 * held the rename's routes back by up to that long. Rename to new routes served, eight renames
 * each in the proxy: 131–299 ms (median 198) written beside, 32–184 ms (median 110) written in
 * the subdirectory.
 *
 * Then the drain: the requests Traefik had in flight until it served the new routes keep the
 * old color's handler until they end, and Traefik cannot bound them (README, "Long-lived
 * connections"); the switch waits until the connections to colors other than the live one that
 * were open until then have closed (an idle pooled one closes TRAEFIK_IDLE_CONN_MS after its last
 * request), or for drainSeconds, so that nothing later in the same \`up\` (the old color's
 * replaced containers) or after it retires the old color while they run.
 */
export const TRAEFIK_APPLY_SCRIPT = `
set -eu
dir=$1 generation=$2 url=$3 expect=$4 drain=$5 live=\${6:-}
conf="$dir/live.yml" next="$dir/${TRAEFIK_STAGING_DIR}/live.yml.next"
umask 022
mkdir -p "\${next%/*}"
cat > "$next"
${TRAEFIK_IN_FLIGHT}
old=$(socks)
mv -f "$next" "$conf"
# What is open until Traefik serves the new routes may be a request on the old color.
${waitForGeneration(`\n  old="$old $(socks)"`)}
# The live color's connections (pooled, reused by the new routes) are not the drain's.
[ -z "$live" ] || skip=$(echo $(hex_ips "$live"))
# shellcheck disable=SC2086
old=$(to_colors $(printf '%s\\n' $old | sort -u))
cs() { read -r up _ < /proc/uptime; echo "\${up%.*}\${up#*.}"; } # centiseconds since boot
end=$(( $(cs) + drain * 100 )) n=0
while [ -n "$old" ] && [ "$(cs)" -lt "$end" ]; do
  now=" $(echo $(socks)) "
  left=0
  for c in $old; do case "$now" in *" $c "*) left=1; break ;; esac; done
  [ "$left" = 0 ] && break
  # Requests end, and idle pooled connections close, within a fraction of a second: look
  # again soon, then (a stream) every 0.2 s.
  n=$((n + 1)); if [ "$n" -le 30 ]; then sleep 0.03; else sleep 0.2; fi
done
`;

/** Prints the live file and, after a marker line, what the proxy says it serves; args: file, status URL. */
export const READ_SCRIPT = `
cat "$1" 2>/dev/null || true
echo "@@bluegreen-status@@"
curl -s -m 2 "$2" 2>/dev/null || wget -qO- -T 2 "$2" 2>/dev/null || true
`;

/** What the switch needs to know about one kind of proxy. */
export const SWITCH_BACKENDS: Record<ProxyKind, {
    applyScript: string;
    servedGeneration: (status: string) => string;
    expect: (generation: string) => string;
    /** The host name of the color the config routes live traffic to (its drain skips it); "" if unknown. */
    liveHost?: (config: string) => string;
}> = {
    nginx: {
        applyScript: NGINX_APPLY_SCRIPT,
        servedGeneration: (status) => /"generation":"([0-9a-f]+)"/.exec(status)?.[1] ?? "",
        expect: (g) => `"generation":"${g}"`,
    },
    traefik: {
        applyScript: TRAEFIK_APPLY_SCRIPT,
        servedGeneration: (status) => /"service":"(?:blue|green)-([0-9a-f]+)(?:@file)?"/.exec(status)?.[1] ?? "",
        expect: (g) => `-${g}`,
        liveHost: traefikLiveHost,
    },
};

/** The live router's color's host, from the rendered Traefik file (JSON after a comment line). */
export function traefikLiveHost(config: string): string {
    try {
        const http = JSON.parse(config.slice(config.indexOf("\n") + 1)).http;
        const host = new URL(http.services[http.routers.live.service].loadBalancer.servers[0].url).hostname;
        return /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/.test(host) ? host : "";
    } catch {
        return "";
    }
}

export interface SwitchState {
    /** Which proxy holds the configuration. */
    kind: ProxyKind;
    /** Name of the proxy container the configuration lives in. */
    container: string;
    /** Engine address for the docker CLI; empty for its default. */
    dockerHost: string;
    activeColor: Color;
    idleColor: Color;
    /** The image each color runs, for the preview and the pull-request summary. */
    images: Record<Color, string>;
    /** The full rendered proxy configuration. */
    config: string;
    /** Fingerprint of `config`'s routing, which the proxy reports on `statusUrl`. */
    generation: string;
    configFile: string;
    configDir: string;
    /** The proxy's own status URL, from inside its container. */
    statusUrl: string;
    /** Health URLs of every replica of the active color, as seen from the proxy. */
    gateUrls: string[];
    health: { retries: number; intervalSeconds: number; deadlineSeconds: number };
    /** Bound of the drain after a switch (nginx's worker_shutdown_timeout); absent in older state. */
    drainSeconds?: number;
    /** The generation nginx really served when last read (drift when it differs). */
    servedGeneration?: string;
}

/** Exit status of GATED_APPLY when the gate, not the apply, failed. */
const GATE_FAILED = 75;

/**
 * The gate and the apply in one `docker exec` (each exec costs a round trip to the engine and
 * a process start): args are the apply's six, then the gate's. The gate runs first, in a
 * subshell that cannot read the config on stdin; if it fails, nothing is written.
 */
export const gatedApplyScript = (applyScript: string) => `
a1=$1 a2=$2 a3=$3 a4=$4 a5=$5 a6=$6; shift 6
if ! gate_out=$(exec </dev/null; ${HEALTH_SCRIPT}); then echo "$gate_out"; exit ${GATE_FAILED}; fi
set -- "$a1" "$a2" "$a3" "$a4" "$a5" "$a6"
${applyScript}
`;

function gateError(s: SwitchState, out: string): Error {
    const why = out.trim().split("\n").pop();
    return new Error(
        `health gate: ${s.activeColor} is not healthy, so traffic was not moved to it: ${why}. ` +
            `Fix ${s.activeColor} (or set activeColor back) and run \`pulumi up\` again.`,
    );
}

/**
 * Installs the rendered config, after health-gating the live color when `gated`. Either step
 * failing fails the whole and leaves the previous file and traffic in place.
 */
async function apply(s: SwitchState, gated: boolean): Promise<void> {
    const k = SWITCH_BACKENDS[s.kind];
    const applyArgs = [s.configDir, s.generation, s.statusUrl, k.expect(s.generation), String(s.drainSeconds ?? 30), k.liveHost?.(s.config) ?? ""];
    const gateArgs = [String(s.health.retries), String(s.health.intervalSeconds), String(s.health.deadlineSeconds), ...s.gateUrls];
    const r = await execScript(s.container, gated ? gatedApplyScript(k.applyScript) : k.applyScript, gated ? [...applyArgs, ...gateArgs] : applyArgs, {
        stdin: s.config,
        dockerHost: s.dockerHost,
        timeoutMs: 60_000 + (s.drainSeconds ?? 30) * 1000 + (gated ? (s.health.deadlineSeconds + 30) * 1000 : 0),
    });
    if (gated && r.code === GATE_FAILED) throw gateError(s, r.stdout || r.stderr || `exit ${r.code}`);
    if (r.code !== 0) {
        throw new Error(`traffic switch on ${s.container} failed, traffic stays where it was: ${(r.stderr || r.stdout).trim()}`);
    }
}

async function readLive(s: SwitchState): Promise<{ config: string; servedGeneration: string }> {
    const r = await execScript(s.container, READ_SCRIPT, [s.configFile, s.statusUrl], {
        dockerHost: s.dockerHost,
        timeoutMs: 30_000,
    });
    if (r.code !== 0) return { config: "", servedGeneration: "" };
    const [config, status = ""] = r.stdout.split("@@bluegreen-status@@\n");
    return { config, servedGeneration: SWITCH_BACKENDS[s.kind].servedGeneration(status) };
}

function outputs(s: SwitchState): SwitchState {
    return { ...s, servedGeneration: s.generation };
}

const differs = (a: unknown, b: unknown) => JSON.stringify(a) !== JSON.stringify(b);

/** Compares what decides routing; the gate settings alone never need a new apply. */
function routingChanged(olds: SwitchState, news: SwitchState): boolean {
    return (
        olds.config !== news.config ||
        olds.container !== news.container ||
        (olds.servedGeneration ?? news.generation) !== news.generation
    );
}

/**
 * The inputs whose change is a change of the switch (the rest follow from them, or, as the
 * engine address and drainSeconds, are used as they are when the switch next runs: an engine
 * reached through DOCKER_HOST instead of docker:host is the same switch).
 */
const SHOWN = ["activeColor", "images", "config", "container", "gateUrls", "health"] as const;

/** What a preview shows and whether `update` has work to do. */
export function diffSwitch(olds: SwitchState, news: SwitchState): DiffResult {
    const detailedDiff: Record<string, DiffKind> = {};
    for (const k of SHOWN) if (differs(olds[k], news[k])) detailedDiff[k] = "update";
    // Drift: the proxy serves another generation than the state says (a hand edit, a restored
    // file), as a refresh read it. A switch changes the generation too, but that shows as `config`.
    if (olds.servedGeneration !== undefined && olds.servedGeneration !== olds.generation) detailedDiff.servedGeneration = "update";
    return { changes: Object.keys(detailedDiff).length > 0, replaces: [], detailedDiff, deleteBeforeReplace: false };
}

export async function createSwitch(inputs: SwitchState): Promise<{ id: string; outs: SwitchState }> {
    await apply(inputs, true);
    return { id: `${inputs.container}/traffic`, outs: outputs(inputs) };
}

export async function updateSwitch(olds: SwitchState, news: SwitchState): Promise<SwitchState> {
    if (!routingChanged(olds, news)) return { ...news, servedGeneration: olds.servedGeneration ?? news.generation };
    // The gate guards what live traffic will reach: run it whenever the live color or its
    // replicas change. A change of the idle color alone (a new version on preview) is not gated.
    const liveTargetChanged =
        olds.activeColor !== news.activeColor ||
        differs(olds.gateUrls, news.gateUrls) ||
        olds.container !== news.container;
    // Old workers keep the drainSeconds of the file they started with: wait for the longer.
    await apply({ ...news, drainSeconds: Math.max(news.drainSeconds ?? 30, olds.drainSeconds ?? 30) }, liveTargetChanged);
    return outputs(news);
}

/** What is really on the proxy: `pulumi refresh` shows a hand edit as drift, and the next `up` restores it. */
export async function readSwitch(props: SwitchState): Promise<SwitchState> {
    const live = await readLive(props);
    return { ...props, config: live.config, servedGeneration: live.servedGeneration };
}

// Delete has nothing to undo: the proxy that holds the file is deleted with the stack, and a
// switch removed on its own leaves traffic where it is rather than cutting it.
