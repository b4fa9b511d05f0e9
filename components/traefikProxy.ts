import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { ProxyArgsBase, SWITCH_BACKEND, declareSwitch } from "./proxySwitch";
import { Color, ProxySettings } from "./settings";
import { TRAEFIK_CONFIG_DIR, TRAEFIK_LIVE_PORT, TRAEFIK_PREVIEW_PORT, traefikArgs } from "./traefikConfig";
import { TrafficSwitch } from "./trafficSwitch";

export interface TraefikProxyArgs extends ProxyArgsBase {
    settings: ProxySettings;
}

/** Traefik binds its two entry points and nothing else. */
export const TRAEFIK_CAPABILITIES = ["NET_BIND_SERVICE"];

/**
 * The Traefik proxy in front of both colors: live and preview entry points whose routers come
 * only from the file the traffic switch writes. A switch swaps routes inside the process, so
 * unlike nginx's reload it closes no client connection. Same outputs as `NginxProxy`.
 */
export class TraefikProxy extends pulumi.ComponentResource {
    /** The color that serves live traffic. */
    public readonly activeColor: pulumi.Output<Color>;
    /** Name of the proxy container. */
    public readonly containerName: pulumi.Output<string>;
    /** The traffic switch. */
    public readonly trafficSwitch: TrafficSwitch;

    constructor(name: string, args: TraefikProxyArgs, opts?: pulumi.ComponentResourceOptions) {
        super("bluegreen:docker:TraefikProxy", name, {}, opts);
        const p = args.settings;
        const labels = Object.entries({ ...args.labels, "bluegreen.component": name }).map(([label, value]) => ({ label, value }));

        const volume = new docker.Volume(`${name}-config`, { labels }, { parent: this });
        const container = new docker.Container(`${name}`, {
            image: p.image,
            command: ["traefik", ...traefikArgs()],
            labels,
            networksAdvanced: [{ name: args.networkName }],
            ports: [
                { internal: TRAEFIK_LIVE_PORT, external: p.port, ip: p.bindAddress },
                { internal: TRAEFIK_PREVIEW_PORT, external: p.previewPort, ip: p.bindAddress },
            ],
            volumes: [{ volumeName: volume.name, containerPath: TRAEFIK_CONFIG_DIR }],
            restart: "unless-stopped",
            // Removal stops it first (SIGTERM: Traefik lets in-flight requests finish), then deletes.
            destroyGraceSeconds: 10,
            securityOpts: ["no-new-privileges"],
            capabilities: { drops: ["ALL"], adds: TRAEFIK_CAPABILITIES },
            mustRun: true,
        }, {
            parent: this,
            // Its host ports cannot be bound twice, so a replacement (new image, ports or bind
            // address) must remove the old container first. The config volume outlives it: the new
            // container loads the live route from it (about 0.1 s after start, 404 until then).
            deleteBeforeReplace: true,
        });

        this.trafficSwitch = declareSwitch(`${name}-switch`, this, container.name, args, SWITCH_BACKEND.traefik);

        this.activeColor = this.trafficSwitch.activeColor;
        this.containerName = container.name;
        this.registerOutputs({ activeColor: this.activeColor, containerName: this.containerName });
    }
}
