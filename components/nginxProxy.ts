import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import {
    CONFIG_DIR, CONFIG_FILE, LIVE_PORT, PREVIEW_PORT, STATUS_PATH,
    generationOf, renderBootstrapConfig, renderNginxConfig,
} from "./nginxConfig";
import { Color, HealthSettings, ProxySettings } from "./settings";
import { TrafficSwitch } from "./trafficSwitch";

export interface ColorTarget {
    image: pulumi.Input<string>;
    endpoints: pulumi.Input<string[]>;
    healthUrls: pulumi.Input<string[]>;
}

export interface NginxProxyArgs {
    settings: ProxySettings;
    health: HealthSettings;
    activeColor: Color;
    colors: Record<Color, ColorTarget>;
    networkName: pulumi.Input<string>;
    /** Engine address for the traffic switch's docker CLI; the docker CLI's default if unset. */
    dockerHost?: string;
    labels?: Record<string, string>;
}

/** nginx's master binds low ports and drops to its worker user; nothing else is granted. */
export const PROXY_CAPABILITIES = ["CHOWN", "SETUID", "SETGID", "NET_BIND_SERVICE", "DAC_OVERRIDE"];

/** Starts nginx with the bootstrap config unless the switch has already written one. */
export const BOOT_SCRIPT = `
set -eu
if [ ! -s "$1" ]; then printf '%s' "$2" > "$1"; fi
exec nginx -c "$1" -g 'daemon off;'
`;

/**
 * The nginx proxy in front of both colors: a live listener (active color) and a preview
 * listener (idle color), published on the host, and the traffic switch that owns its config.
 * Changing the active color changes only the switch: the container is never replaced for it.
 */
export class NginxProxy extends pulumi.ComponentResource {
    /** The color that serves live traffic. */
    public readonly activeColor: pulumi.Output<Color>;
    /** Name of the proxy container. */
    public readonly containerName: pulumi.Output<string>;
    /** The traffic switch (exposed for tests and dependants). */
    public readonly trafficSwitch: TrafficSwitch;

    constructor(name: string, args: NginxProxyArgs, opts?: pulumi.ComponentResourceOptions) {
        super("bluegreen:docker:NginxProxy", name, {}, opts);
        const p = args.settings;
        const labels = Object.entries({ ...args.labels, "bluegreen.component": name }).map(([label, value]) => ({ label, value }));

        const volume = new docker.Volume(`${name}-config`, { labels }, { parent: this });
        const container = new docker.Container(`${name}`, {
            image: p.image,
            command: ["sh", "-c", BOOT_SCRIPT, "sh", CONFIG_FILE, renderBootstrapConfig()],
            labels,
            networksAdvanced: [{ name: args.networkName }],
            ports: [
                { internal: LIVE_PORT, external: p.port, ip: p.bindAddress },
                { internal: PREVIEW_PORT, external: p.previewPort, ip: p.bindAddress },
            ],
            volumes: [{ volumeName: volume.name, containerPath: CONFIG_DIR }],
            restart: "unless-stopped",
            securityOpts: ["no-new-privileges"],
            capabilities: { drops: ["ALL"], adds: PROXY_CAPABILITIES },
            // SIGQUIT is nginx's graceful shutdown: in-flight requests finish when the proxy stops.
            stopSignal: "SIGQUIT",
            mustRun: true,
        }, { parent: this });

        const upstreams = pulumi.all([args.colors.blue.endpoints, args.colors.green.endpoints])
            .apply(([blue, green]) => ({ blue, green }));
        const routing = upstreams.apply((u) => ({ activeColor: args.activeColor, upstreams: u }));
        this.trafficSwitch = new TrafficSwitch(`${name}-switch`, {
            kind: "nginx",
            container: container.name,
            dockerHost: args.dockerHost,
            activeColor: args.activeColor,
            images: { blue: args.colors.blue.image, green: args.colors.green.image },
            config: routing.apply(renderNginxConfig),
            generation: routing.apply(generationOf),
            configFile: CONFIG_FILE,
            configDir: CONFIG_DIR,
            statusUrl: `http://127.0.0.1:${LIVE_PORT}${STATUS_PATH}`,
            gateUrls: args.colors[args.activeColor].healthUrls,
            health: args.health,
        }, { parent: this });

        this.activeColor = this.trafficSwitch.activeColor;
        this.containerName = container.name;
        this.registerOutputs({ activeColor: this.activeColor, containerName: this.containerName });
    }
}
