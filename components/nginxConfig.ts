/**
 * Renders the proxy's whole nginx configuration from validated values. Pure.
 *
 * The proxy has two public listeners inside its container: LIVE_PORT serves the active color,
 * PREVIEW_PORT the idle one, and nothing else: no status document, and the color header only on
 * the preview listener (the smoke test reads it there). A third listener, STATUS_PORT on the
 * container's loopback and never published, serves STATUS_PATH to the traffic switch, which
 * reads it with `docker exec` inside the container.
 *
 * Each color is an `upstream` of its network alias (`server blue:8080 resolve`), which nginx
 * re-resolves through Docker's DNS every second in the background (nginx >= 1.27.3), with a pool
 * of kept-alive connections to the replicas (`keepalive`): no connection per request, no
 * TIME_WAIT pile-up. The alias, never an address, is what the file holds: a stopped or replaced
 * replica drops out of the answer within a second, its pooled connections close with it, an
 * address Docker hands to a new container of the other color is never written here, and neither
 * `nginx -t` nor a restarted proxy depends on every replica running (a name that resolves to
 * nothing leaves its upstream empty until it does). Replacing the replicas of a color changes
 * nothing in this file, so it causes no reload.
 */
import { type Color, otherColor } from "./settings";

export const LIVE_PORT = 80;
export const PREVIEW_PORT = 81;
/** Where the rendered file lives inside the proxy container (a volume, so it survives a restart). */
export const CONFIG_DIR = "/etc/nginx/bluegreen";
export const CONFIG_FILE = `${CONFIG_DIR}/nginx.conf`;
/** Answers which color and which rendering is live; the switch polls it after a reload. */
export const STATUS_PATH = "/__bluegreen/status";
/**
 * The status listener's port, bound to 127.0.0.1 inside the proxy container only: no published
 * port leads to it, so only a process in the container (the switch's `docker exec`) reaches it.
 * Not published, so the container's ports and command are the same as before it existed.
 */
export const STATUS_PORT = 8082;
/**
 * The header that names the color behind an answer, on the preview listener only: the smoke test
 * (components/docker/smokeTest.ts) tells the colors apart by it. The live listener never sends it.
 */
export const COLOR_HEADER = "X-Bluegreen-Color";

/** Docker's embedded DNS, present in every container on a user-defined network. */
export const DOCKER_DNS = "127.0.0.11";

/** Idle kept-alive connections to one color that each nginx worker keeps for reuse. */
export const UPSTREAM_KEEPALIVE = 32;
/**
 * How long nginx waits for a color's replica to accept a connection before it tries the next
 * one. On the stack's own Docker network a connection is accepted within a millisecond; one that
 * is not is to a replica that has just gone (its address stays in the pool until the next
 * resolution, at most a second later), and the request goes to another replica after this long.
 */
export const CONNECT_TIMEOUT_SECONDS = 1;

/** kamal-proxy's drain timeout, and the `drainSeconds` default. */
export const DEFAULT_DRAIN_SECONDS = 30;

export interface NginxConfigInput {
    activeColor: Color;
    /** `host:port` of each color: its network alias, which resolves to its running replicas. */
    targets: Record<Color, string>;
    /** How long requests in flight on the old color may go on after a reload (default 30). */
    drainSeconds?: number;
}

/** A DNS name (label characters) or an IPv4 address, and a port. */
const TARGET = /^(?:\d{1,3}(?:\.\d{1,3}){3}|[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}):\d{1,5}$/;

/** Throws if a value could change the meaning of the rendered file. */
export function checkTarget(target: string): string {
    if (!TARGET.test(target)) {
        throw new Error(`upstream target ${JSON.stringify(target)} is not a host:port; refusing to render it into the proxy config`);
    }
    return target;
}

/** The upstream group of one color: its alias, re-resolved every second, with a connection pool. */
export const upstreamName = (color: Color) => `bluegreen_${color}`;

function upstream(color: Color, target: string): string {
    // An address (an IPv4 target) needs no resolving; a name is re-resolved by `resolver`.
    const resolve = /^\d{1,3}(?:\.\d{1,3}){3}:/.test(target) ? "" : " resolve";
    // A replica that failed is skipped for 5 s (nginx's default is 10 s): longer than a stop plus
    // the alias's resolution period (`valid=1s`, asked again a second after that ends: every 2 s;
    // with 3 s a stopped replica's address was still there to be tried again), so its address is
    // gone before nginx would try it again, and short enough that one started again serves within
    // seconds even when a resolution failed and its address never left.
    const failed = " max_fails=1 fail_timeout=5s";
    return [
        `    upstream ${upstreamName(color)} {`,
        `        zone ${upstreamName(color)} 64k;`,
        `        server ${target}${resolve}${failed};`,
        `        keepalive ${UPSTREAM_KEEPALIVE};`,
        "        keepalive_requests 10000;",
        "    }",
    ].join("\n");
}

/** The variable holding a color's `host:port` target, resolved per request by the retry. */
export const aliasVariable = (color: Color) => `bluegreen_${color}_target`;

/** The named location a listener's request goes to, once, when nginx could not reach the color. */
export const RETRY_LOCATION = "@bluegreen_retry";

/**
 * A public listener: everything goes to `color` (the status path too: the app answers it).
 *
 * A request that could not reach the color through its upstream group starts over once in
 * RETRY_LOCATION, which asks Docker's DNS for the color's alias at that moment (`proxy_pass` of
 * a variable that names no group: nginx resolves it per request, and waits for the answer).
 * Two moments need it:
 * - A proxy that has just started: its group is empty until its first background resolution,
 *   a few milliseconds after the worker starts, and the worker accepts the connections queued
 *   while nginx was starting before that ("no live upstreams", a 502 of nginx's own). Measured
 *   on the program under 240 requests/s: such 502s in 2 of 7 proxy replacements.
 * - A replica killed outright: its address stays in the group until the next resolution (up to
 *   a second), and a connection to it is not refused but times out (CONNECT_TIMEOUT_SECONDS). A
 *   request whose timeout ends after Docker's DNS has dropped that address finds the color with
 *   one replica, and nginx (`proxy_next_upstream`) then tries no other: it would answer 504.
 * The retry uses no pooled connection (the path is rare) and never another color.
 * Only idempotent methods: a 502 can also mean the request reached a replica that then failed.
 * The app's own 502 and 504 pass through (`proxy_intercept_errors` is off).
 */
function server(port: number, color: Color, role: "live" | "preview"): string {
    const header = role === "preview" ? [`            add_header ${COLOR_HEADER} ${color} always;`] : [];
    return [
        "    server {",
        `        listen ${port};`,
        "        location / {",
        // The variable names the color's upstream group, so a listener's color is one word.
        `            proxy_pass http://$${upstreamName(color)};`,
        ...header,
        `            error_page 502 504 = ${RETRY_LOCATION};`,
        "        }",
        `        location ${RETRY_LOCATION} {`,
        "            if ($request_method !~ ^(GET|HEAD|OPTIONS)$) { return 502; }",
        `            proxy_pass http://$${aliasVariable(color)};`,
        ...header,
        "        }",
        "    }",
    ].join("\n");
}

/** The status listener, on the container's loopback: what the switch reads after a reload. */
function statusServer(active: Color, generation: string): string {
    return [
        "    server {",
        `        listen 127.0.0.1:${STATUS_PORT};`,
        `        location = ${STATUS_PATH} {`,
        "            default_type application/json;",
        `            return 200 '{"active":"${active}","generation":"${generation}"}\\n';`,
        "        }",
        "        location / { return 404; }",
        "    }",
    ].join("\n");
}

/** A short, stable fingerprint of the routing decision, served on STATUS_PATH. */
export function generationOf(input: NginxConfigInput): string {
    const text = `${input.activeColor}|${input.targets.blue}|${input.targets.green}`;
    let h = 0x811c9dc5; // FNV-1a, 32 bits: enough to tell renderings apart, no crypto needed
    for (let i = 0; i < text.length; i++) {
        h ^= text.charCodeAt(i);
        h = Math.imul(h, 0x01000193) >>> 0;
    }
    return h.toString(16).padStart(8, "0");
}

export function renderNginxConfig(input: NginxConfigInput): string {
    const active = input.activeColor;
    const idle = otherColor(active);
    const generation = generationOf(input);
    const targets = { blue: checkTarget(input.targets.blue), green: checkTarget(input.targets.green) };
    const drain = input.drainSeconds ?? DEFAULT_DRAIN_SECONDS;
    if (!Number.isInteger(drain) || drain < 1 || drain > 3600) throw new Error(`drainSeconds ${JSON.stringify(drain)} is not a whole number from 1 to 3600`);
    return [
        "# Rendered by bluegreen; `pulumi up` owns this file and restores it if edited by hand.",
        `# active: ${active}  generation: ${generation}`,
        "worker_processes auto;",
        "pid /run/nginx-bluegreen.pid;",
        "error_log stderr warn;",
        // After a reload the old workers keep serving what is in flight (streams included) on
        // the old color; whatever still runs after drainSeconds is closed. An old worker keeps
        // the value of the configuration it was started with.
        `worker_shutdown_timeout ${drain}s;`,
        "events {",
        "    worker_connections 4096;",
        "}",
        "http {",
        "    access_log off;",
        "    server_tokens off;",
        "    keepalive_requests 10000;",
        // HTTP/1.1 without `Connection: close`, so the colors' connections stay in the pool.
        "    proxy_http_version 1.1;",
        '    proxy_set_header Connection "";',
        "    proxy_set_header Host $host;",
        "    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        "    proxy_set_header X-Forwarded-Proto $scheme;",
        `    proxy_connect_timeout ${CONNECT_TIMEOUT_SECONDS}s;`,
        // Streams (Server-Sent Events, long polls): pass each chunk on at once, and allow an
        // hour of silence between two reads before giving up on the color.
        "    proxy_buffering off;",
        "    proxy_read_timeout 3600s;",
        // A replica that refuses, resets or does not accept: the request goes to the next one
        // (an idempotent one; a failed pooled connection is retried without counting a try).
        "    proxy_next_upstream error timeout;",
        // Docker's DNS, asked again every second whatever TTL it gives (it gives 600 s).
        `    resolver ${DOCKER_DNS} valid=1s ipv6=off;`,
        "    resolver_timeout 2s;",
        upstream("blue", targets.blue),
        upstream("green", targets.green),
        `    map "" $${upstreamName("blue")} { default ${upstreamName("blue")}; }`,
        `    map "" $${upstreamName("green")} { default ${upstreamName("green")}; }`,
        `    map "" $${aliasVariable("blue")} { default ${targets.blue}; }`,
        `    map "" $${aliasVariable("green")} { default ${targets.green}; }`,
        server(LIVE_PORT, active, "live"),
        server(PREVIEW_PORT, idle, "preview"),
        statusServer(active, generation),
        "}",
        "",
    ].join("\n");
}

/**
 * The configuration a fresh proxy starts with, before the switch has written anything:
 * both listeners answer 503, so nothing is routed until the health gate has passed once.
 * It is part of the proxy container's command, so it is left as it was when the status moved to
 * its loopback listener (a change would replace every existing stack's proxy): its public
 * listeners still answer STATUS_PATH with `{"role":"bootstrap"}`, which says only that no color
 * is routed yet, until the switch's first apply in the same `up` replaces it.
 */
export function renderBootstrapConfig(): string {
    const unavailable = (port: number) =>
        [
            "    server {",
            `        listen ${port};`,
            `        location = ${STATUS_PATH} { default_type application/json; return 200 '{"role":"bootstrap"}\\n'; }`,
            "        location / { return 503 'no color is live yet\\n'; }",
            "    }",
        ].join("\n");
    return [
        "# bluegreen bootstrap: replaced by the traffic switch on the first `pulumi up`.",
        "worker_processes 1;",
        "pid /run/nginx-bluegreen.pid;",
        "error_log stderr warn;",
        "events { worker_connections 1024; }",
        "http {",
        "    access_log off;",
        unavailable(LIVE_PORT),
        unavailable(PREVIEW_PORT),
        "}",
        "",
    ].join("\n");
}
