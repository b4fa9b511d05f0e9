/**
 * The Docker Engine connection, from the provider config `docker:host` or `DOCKER_HOST`, as the
 * real provider reads them: `unix://` (the default, `/var/run/docker.sock`), `tcp://`/`http://`
 * and `ssh://user@host` (through `docker system dial-stdio` on the remote, as the docker CLI does).
 */
import type Docker from "dockerode";

export interface EngineOptions {
    socketPath?: string;
    host?: string;
    port?: number;
    protocol?: "http" | "https" | "ssh";
    username?: string;
}

/** Parses an engine address; throws naming the value and the accepted forms. */
export function engineOptions(address: string | undefined): EngineOptions {
    const addr = address && address.trim() !== "" ? address.trim() : "unix:///var/run/docker.sock";
    let url: URL;
    try {
        url = new URL(addr);
    } catch {
        throw new Error(`docker:host is ${JSON.stringify(addr)}; allowed forms are unix:///path, tcp://host:port and ssh://[user@]host[:port]`);
    }
    switch (url.protocol) {
        case "unix:":
            return { socketPath: url.pathname };
        case "tcp:":
        case "http:":
            return { host: url.hostname, port: Number(url.port || 2375), protocol: "http" };
        case "https:":
            return { host: url.hostname, port: Number(url.port || 2376), protocol: "https" };
        case "ssh:":
            return { host: url.hostname, port: Number(url.port || 22), protocol: "ssh", username: url.username || undefined };
        default:
            throw new Error(`docker:host is ${JSON.stringify(addr)}; allowed forms are unix:///path, tcp://host:port and ssh://[user@]host[:port]`);
    }
}

let client: Docker | undefined;
let address: string | undefined;

/** Sets the engine address from the provider config; `DOCKER_HOST` when the config has none. */
export function configureEngine(host: string | undefined): void {
    address = host && host !== "" ? host : process.env.DOCKER_HOST;
    engineOptions(address); // fail at configure, naming the value
    client = undefined;
}

export function engine(): Docker {
    if (!client) {
        const o = engineOptions(address);
        // Loaded on first use, not at start: a plan (check, diff) needs no engine, and the plugin
        // answers the engine ~0.1 s sooner without dockerode and ssh2 (on every `up`'s critical path).
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const Docker = require("dockerode") as typeof import("dockerode");
        client = new Docker(o.protocol === "ssh" ? { ...o, sshOptions: {} } as Docker.DockerOptions : o as Docker.DockerOptions);
    }
    return client;
}

/** The HTTP status of a dockerode error (404 for "no such ..."). */
export function statusOf(e: unknown): number | undefined {
    return (e as { statusCode?: number })?.statusCode;
}

/**
 * An engine error as Docker's Go client words it, and so the real provider's errors:
 * `Error response from daemon: <the daemon's message>` (dockerode's own reads `(HTTP code 500)
 * server error - ...`).
 */
export function daemonError(e: unknown): string {
    const json = (e as { json?: { message?: unknown } })?.json;
    if (json && typeof json.message === "string") return `Error response from daemon: ${json.message}`;
    return e instanceof Error ? e.message : String(e);
}
