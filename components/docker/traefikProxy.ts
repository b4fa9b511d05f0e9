import * as pulumi from "@pulumi/pulumi";
import { ProxyArgsBase, ProxySpec, SWITCH_BACKEND, declareProxyContainer, declareSwitch } from "./proxySwitch";
import type { Color } from "../settings";
import { TRAEFIK_LIVE_PORT, TRAEFIK_PREVIEW_PORT, traefikArgs } from "../traefikConfig";
import { TrafficSwitch } from "./trafficSwitch";

export interface TraefikProxyArgs extends ProxyArgsBase {
    settings: ProxySpec;
}

/** Traefik binds its two entry points and nothing else (spelled as Docker reports it, see nginxProxy.ts). */
export const TRAEFIK_CAPABILITIES = ["CAP_NET_BIND_SERVICE"];

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
        const container = declareProxyContainer(name, this, args, {
            backend: SWITCH_BACKEND.traefik,
            command: ["traefik", ...traefikArgs()],
            livePort: TRAEFIK_LIVE_PORT,
            previewPort: TRAEFIK_PREVIEW_PORT,
            capabilities: TRAEFIK_CAPABILITIES,
        });

        this.trafficSwitch = declareSwitch(`${name}-switch`, this, container, args, SWITCH_BACKEND.traefik);

        this.activeColor = this.trafficSwitch.activeColor;
        this.containerName = container.name;
        this.registerOutputs({ activeColor: this.activeColor, containerName: this.containerName });
    }
}
