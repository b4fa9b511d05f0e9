import { execFileSync } from "node:child_process";
import { SWITCH_BACKEND } from "../../components/proxySwitch";
import { Color, DEFAULT_PROXY_IMAGES, ProxyKind } from "../../components/settings";
import { declaredContainers, runArgs, runArgv } from "./declared";

/** Runs the docker CLI with arguments (never a shell string) and returns its trimmed stdout. */
export function dockerCli(...args: string[]): string {
    return execFileSync("docker", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
}

export function dockerOk(...args: string[]): boolean {
    try {
        dockerCli(...args);
        return true;
    } catch {
        return false;
    }
}

/** Everything the fixture created, carrying one label so that cleanup finds it all. */
export class DockerFixture {
    readonly label: string;
    constructor(readonly id: string) {
        this.label = `bluegreen.test=${id}`;
        dockerCli("network", "create", "--label", this.label, `${id}-net`);
    }

    get network(): string {
        return `${this.id}-net`;
    }

    /**
     * Starts a demo replica with the arguments ColorEnvironment declares for `color` (image, env,
     * network alias, restart policy, security options, capabilities); returns its name.
     */
    async color(name: string, opts: { image: string; color: Color; env?: Record<string, string> }): Promise<string> {
        const declared = await declaredContainers({ [`${opts.color}Image`]: opts.image, [`${opts.color}Env`]: JSON.stringify(opts.env ?? {}) });
        const container = `${this.id}-${name}`;
        dockerCli(...runArgv(runArgs(declared.get(`decl-${opts.color}-0`)!, { network: this.network, label: this.label }), container));
        return container;
    }

    /** The `docker run` flags ColorEnvironment declares for `color`, for the harness stack's own containers. */
    async colorFlags(color: Color): Promise<string[]> {
        const declared = await declaredContainers({});
        return runArgs(declared.get(`decl-${color}-0`)!, { network: this.network, label: this.label }).hardening;
    }

    /** The address:port of a replica on the fixture's network. */
    endpoint(container: string, port = 8080): string {
        const ip = dockerCli("inspect", "-f", `{{(index .NetworkSettings.Networks "${this.network}").IPAddress}}`, container);
        if (!ip) throw new Error(`${container} has no address on ${this.network}: ${dockerCli("logs", "--tail", "20", container)}`);
        return `${ip}:${port}`;
    }

    /**
     * Starts the proxy of `kind` with the arguments its component (NginxProxy or TraefikProxy)
     * declares for these ports on loopback, on a volume of the fixture's; returns its name.
     */
    async proxy(kind: ProxyKind, livePort: number, previewPort: number, image = DEFAULT_PROXY_IMAGES[kind]): Promise<string> {
        const declared = await declaredContainers({
            proxyKind: kind, proxyImage: image, proxyPort: String(livePort), previewPort: String(previewPort), bindAddress: "127.0.0.1",
        });
        const name = `${this.id}-proxy`;
        const volume = `${this.id}-proxy-config`;
        dockerCli("volume", "create", "--label", this.label, volume);
        const configDir = SWITCH_BACKEND[kind].configDir;
        dockerCli(...runArgv(runArgs(declared.get("decl-proxy")!, { network: this.network, label: this.label, volumes: { [configDir]: volume } }), name));
        return name;
    }

    /** Removes every container, volume and network the fixture made. */
    destroy(): void {
        const containers = dockerCli("ps", "-aq", "--filter", `label=${this.label}`).split("\n").filter(Boolean);
        if (containers.length) dockerCli("rm", "-f", "-v", ...containers);
        const volumes = dockerCli("volume", "ls", "-q", "--filter", `label=${this.label}`).split("\n").filter(Boolean);
        if (volumes.length) dockerCli("volume", "rm", "-f", ...volumes);
        dockerOk("network", "rm", this.network);
    }

    /** The fixture's volumes. */
    volumes(): string[] {
        return dockerCli("volume", "ls", "-q", "--filter", `label=${this.label}`).split("\n").filter(Boolean).sort();
    }

    /** What is left of the fixture (for the "destroy leaves nothing" check). */
    leftovers(): string[] {
        return [
            ...dockerCli("ps", "-aq", "--filter", `label=${this.label}`).split("\n"),
            ...dockerCli("volume", "ls", "-q", "--filter", `label=${this.label}`).split("\n"),
            ...dockerCli("network", "ls", "-q", "--filter", `label=${this.label}`).split("\n"),
        ].filter(Boolean);
    }
}

/** A free TCP port on loopback. */
export async function freePort(): Promise<number> {
    const net = await import("node:net");
    return new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.listen(0, "127.0.0.1", () => {
            const port = (srv.address() as import("node:net").AddressInfo).port;
            srv.close(() => resolve(port));
        });
        srv.on("error", reject);
    });
}
