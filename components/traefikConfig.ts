/**
 * Renders Traefik's dynamic configuration (file provider) from validated values. Pure.
 *
 * Two routers, one per entry point: `live` (active color) and `preview` (idle color). Service
 * names carry the rendering's generation (`blue-1a2b3c4d`), so the switch can ask Traefik's API
 * which rendering it is serving. Routes come only from this file: no Docker provider, no
 * automatic exposure of containers (seed 002's trap).
 */
import { checkTarget, generationOf, type NginxConfigInput } from "./nginxConfig";
import { type Color, otherColor } from "./settings";

export const TRAEFIK_LIVE_PORT = 80;
export const TRAEFIK_PREVIEW_PORT = 81;
/** Traefik's API, bound to loopback inside the container and never published. */
export const TRAEFIK_API_PORT = 8082;
export const TRAEFIK_CONFIG_DIR = "/etc/traefik/bluegreen";
export const TRAEFIK_CONFIG_FILE = `${TRAEFIK_CONFIG_DIR}/live.yml`;
/** The API path the switch reads to learn which rendering Traefik serves. */
export const TRAEFIK_STATUS_PATH = "/api/http/routers/live@file";

/** Static configuration, as command-line arguments of `traefik`. */
export function traefikArgs(): string[] {
    return [
        `--entryPoints.live.address=:${TRAEFIK_LIVE_PORT}`,
        `--entryPoints.preview.address=:${TRAEFIK_PREVIEW_PORT}`,
        `--entryPoints.traefik.address=127.0.0.1:${TRAEFIK_API_PORT}`,
        "--api.insecure=true",
        `--providers.file.directory=${TRAEFIK_CONFIG_DIR}`,
        "--providers.file.watch=true",
        // Apply a new file within 100 ms (the default waits 2 s to batch provider events).
        "--providers.providersThrottleDuration=100ms",
        "--log.level=ERROR",
    ];
}

/** The transport of both colors' services. */
export const COLOR_TRANSPORT = "colors";
/** Idle connections to a color that Traefik keeps for reuse (Go's `MaxIdleConnsPerHost`). */
export const TRAEFIK_POOL_SIZE = 64;
/**
 * How long a pooled connection to a color may stay unused before Traefik closes it. Under load a
 * pooled connection is reused within milliseconds, so this costs no throughput; and it is what
 * lets the switch's drain tell requests in flight from idle connections: 0.2 s after the last
 * request on it, a connection to the old color is closed unless a request still runs on it.
 */
export const TRAEFIK_IDLE_CONN_MS = 200;

/** The dynamic configuration as JSON, which is valid YAML for Traefik's file provider. */
export function renderTraefikConfig(input: NginxConfigInput): string {
    const generation = generationOf(input);
    const idle = otherColor(input.activeColor);
    const service = (c: Color) => ({
        loadBalancer: {
            // The color's network alias: Traefik resolves it through Docker's DNS when it dials.
            servers: [{ url: `http://${checkTarget(input.targets[c])}` }],
            passHostHeader: true,
            serversTransport: COLOR_TRANSPORT,
        },
    });
    const config = {
        http: {
            routers: {
                live: { entryPoints: ["live"], rule: "PathPrefix(`/`)", service: `${input.activeColor}-${generation}` },
                preview: { entryPoints: ["preview"], rule: "PathPrefix(`/`)", service: `${idle}-${generation}` },
            },
            services: {
                [`blue-${generation}`]: service("blue"),
                [`green-${generation}`]: service("green"),
            },
            // A pool of connections to each color (Go keys it by the alias, and dials the alias
            // anew for each new connection, so a stopped replica's address is never dialed after
            // Docker's DNS drops it). Idle ones close after TRAEFIK_IDLE_CONN_MS: what the
            // switch's drain waits for on the old color is then only a request in flight.
            serversTransports: {
                [COLOR_TRANSPORT]: { maxIdleConnsPerHost: TRAEFIK_POOL_SIZE, forwardingTimeouts: { idleConnTimeout: `${TRAEFIK_IDLE_CONN_MS}ms` } },
            },
        },
    };
    return `# Rendered by bluegreen; \`pulumi up\` owns this file. active: ${input.activeColor}\n${JSON.stringify(config, null, 2)}\n`;
}
