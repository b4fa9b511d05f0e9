import { execFileSync } from "node:child_process";
import { renderBootstrapConfig, CONFIG_DIR, CONFIG_FILE } from "../../components/nginxConfig";
import { BOOT_SCRIPT, PROXY_CAPABILITIES } from "../../components/nginxProxy";
import { TRAEFIK_CONFIG_DIR, traefikArgs } from "../../components/traefikConfig";
import { TRAEFIK_CAPABILITIES } from "../../components/traefikProxy";
import { DEFAULT_PROXY_IMAGES } from "../../components/settings";

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

    /** Starts a demo replica; returns its name. */
    color(name: string, opts: { image: string; color: string; env?: Record<string, string> }): string {
        const env = Object.entries({ COLOR: opts.color, ...opts.env }).flatMap(([k, v]) => ["-e", `${k}=${v}`]);
        dockerCli("run", "-d", "--name", `${this.id}-${name}`, "--label", this.label, "--network", this.network,
            "--restart", "unless-stopped", "--security-opt", "no-new-privileges", "--cap-drop", "ALL", ...env, opts.image);
        return `${this.id}-${name}`;
    }

    /** The address:port of a replica on the fixture's network. */
    endpoint(container: string, port = 8080): string {
        const ip = dockerCli("inspect", "-f", `{{(index .NetworkSettings.Networks "${this.network}").IPAddress}}`, container);
        if (!ip) throw new Error(`${container} has no address on ${this.network}: ${dockerCli("logs", "--tail", "20", container)}`);
        return `${ip}:${port}`;
    }

    /** Starts the proxy exactly as the NginxProxy component does; returns its name. */
    proxy(image: string, livePort: number, previewPort: number): string {
        const name = `${this.id}-proxy`;
        dockerCli("volume", "create", "--label", this.label, `${this.id}-proxy-config`);
        dockerCli("run", "-d", "--name", name, "--label", this.label, "--network", this.network,
            "--restart", "unless-stopped", "--security-opt", "no-new-privileges", "--stop-signal", "SIGQUIT",
            "--cap-drop", "ALL", ...PROXY_CAPABILITIES.flatMap((c) => ["--cap-add", c]),
            "-p", `127.0.0.1:${livePort}:80`, "-p", `127.0.0.1:${previewPort}:81`,
            "-v", `${this.id}-proxy-config:${CONFIG_DIR}`,
            image, "sh", "-c", BOOT_SCRIPT, "sh", CONFIG_FILE, renderBootstrapConfig());
        return name;
    }

    /** Starts the Traefik proxy exactly as the TraefikProxy component does; returns its name. */
    traefikProxy(livePort: number, previewPort: number, image = DEFAULT_PROXY_IMAGES.traefik): string {
        const name = `${this.id}-proxy`;
        dockerCli("volume", "create", "--label", this.label, `${this.id}-proxy-config`);
        dockerCli("run", "-d", "--name", name, "--label", this.label, "--network", this.network,
            "--restart", "unless-stopped", "--security-opt", "no-new-privileges",
            "--cap-drop", "ALL", ...TRAEFIK_CAPABILITIES.flatMap((c) => ["--cap-add", c]),
            "-p", `127.0.0.1:${livePort}:80`, "-p", `127.0.0.1:${previewPort}:81`,
            "-v", `${this.id}-proxy-config:${TRAEFIK_CONFIG_DIR}`,
            image, "traefik", ...traefikArgs());
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
