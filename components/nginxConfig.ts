/**
 * Renders the proxy's whole nginx configuration from validated values. Pure.
 *
 * The proxy has two listeners inside its container: LIVE_PORT serves the active color,
 * PREVIEW_PORT the idle one. Upstream servers are addresses ("10.0.3.4:8080"), never names,
 * so nginx never depends on DNS at reload time and `nginx -t` cannot fail on resolution.
 */
import type { Color } from "./settings";

export const LIVE_PORT = 80;
export const PREVIEW_PORT = 81;
/** Where the rendered file lives inside the proxy container (a volume, so it survives a restart). */
export const CONFIG_DIR = "/etc/nginx/bluegreen";
export const CONFIG_FILE = `${CONFIG_DIR}/nginx.conf`;
/** Answers which color and which rendering is live; the switch polls it after a reload. */
export const STATUS_PATH = "/__bluegreen/status";

export interface NginxConfigInput {
    activeColor: Color;
    /** host:port of every replica of each color (the container's name on the private network, or an address). */
    upstreams: Record<Color, string[]>;
}

/** An IPv4 or bracketed IPv6 address, or a Docker container name (DNS label characters), and a port. */
const SERVER = /^(?:\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-fA-F:]+\]|[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}):\d{1,5}$/;

/** Throws if a value could change the meaning of the rendered file. */
export function checkServer(server: string): string {
    if (!SERVER.test(server)) {
        throw new Error(`upstream server ${JSON.stringify(server)} is not a host:port; refusing to render it into nginx.conf`);
    }
    return server;
}

function upstream(color: Color, servers: string[]): string {
    // An empty color (not yet running) still needs a valid upstream: a closed local port
    // makes nginx answer 502 instead of refusing the whole configuration.
    const lines = servers.length
        ? servers.map((s) => `        server ${checkServer(s)} max_fails=0;`)
        : ["        server 127.0.0.1:9 down;"];
    return [`    upstream bluegreen_${color} {`, ...lines, "        keepalive 32;", "    }"].join("\n");
}

function server(port: number, color: Color, role: "live" | "preview", generation: string): string {
    return [
        "    server {",
        `        listen ${port};`,
        `        location = ${STATUS_PATH} {`,
        "            default_type application/json;",
        `            return 200 '{"role":"${role}","color":"${color}","generation":"${generation}"}\\n';`,
        "        }",
        "        location / {",
        `            proxy_pass http://bluegreen_${color};`,
        `            add_header X-Bluegreen-Color ${color} always;`,
        "        }",
        "    }",
    ].join("\n");
}

/** A short, stable fingerprint of the routing decision, served on STATUS_PATH. */
export function generationOf(input: NginxConfigInput): string {
    const text = `${input.activeColor}|${input.upstreams.blue.join(",")}|${input.upstreams.green.join(",")}`;
    let h = 0x811c9dc5; // FNV-1a, 32 bits: enough to tell renderings apart, no crypto needed
    for (let i = 0; i < text.length; i++) {
        h ^= text.charCodeAt(i);
        h = Math.imul(h, 0x01000193) >>> 0;
    }
    return h.toString(16).padStart(8, "0");
}

export function renderNginxConfig(input: NginxConfigInput): string {
    const active = input.activeColor;
    const idle: Color = active === "blue" ? "green" : "blue";
    const generation = generationOf(input);
    return [
        "# Rendered by bluegreen; `pulumi up` owns this file and restores it if edited by hand.",
        `# active: ${active}  generation: ${generation}`,
        "worker_processes auto;",
        "pid /run/nginx-bluegreen.pid;",
        "error_log stderr warn;",
        // Old workers finish in-flight requests after a reload, but long-lived ones are cut here.
        "worker_shutdown_timeout 30s;",
        "events {",
        "    worker_connections 4096;",
        "}",
        "http {",
        "    access_log off;",
        "    server_tokens off;",
        "    keepalive_requests 10000;",
        "    proxy_http_version 1.1;",
        '    proxy_set_header Connection "";',
        "    proxy_set_header Host $host;",
        "    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        "    proxy_set_header X-Forwarded-Proto $scheme;",
        "    proxy_connect_timeout 5s;",
        "    proxy_next_upstream error timeout;",
        upstream("blue", input.upstreams.blue),
        upstream("green", input.upstreams.green),
        server(LIVE_PORT, active, "live", generation),
        server(PREVIEW_PORT, idle, "preview", generation),
        "}",
        "",
    ].join("\n");
}

/**
 * The configuration a fresh proxy starts with, before the switch has written anything:
 * both listeners answer 503, so nothing is routed until the health gate has passed once.
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
