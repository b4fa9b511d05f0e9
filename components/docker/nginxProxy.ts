import * as pulumi from "@pulumi/pulumi";
import { CONFIG_FILE, LIVE_PORT, PREVIEW_PORT, renderBootstrapConfig } from "../nginxConfig";
import { ProxyArgsBase, ProxySpec, SWITCH_BACKEND, declareProxyContainer, declareSwitch } from "./proxySwitch";
import type { Color } from "../settings";
import { TrafficSwitch } from "./trafficSwitch";

export interface NginxProxyArgs extends ProxyArgsBase {
    settings: ProxySpec;
}

/**
 * nginx's master binds low ports and drops to its worker user; nothing else is granted.
 * Spelled and ordered as Docker reports them (`CAP_` prefix, sorted): the docker provider
 * compares a refresh's live value with these, and any other spelling replaces the proxy.
 */
export const PROXY_CAPABILITIES = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_NET_BIND_SERVICE", "CAP_SETGID", "CAP_SETUID"];

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
        const container = declareProxyContainer(name, this, args, {
            backend: SWITCH_BACKEND.nginx,
            command: ["sh", "-c", BOOT_SCRIPT, "sh", CONFIG_FILE, renderBootstrapConfig()],
            livePort: LIVE_PORT,
            previewPort: PREVIEW_PORT,
            capabilities: PROXY_CAPABILITIES,
            // SIGQUIT is nginx's graceful shutdown: in-flight requests finish when the proxy stops.
            stopSignal: "SIGQUIT",
        });

        this.trafficSwitch = declareSwitch(`${name}-switch`, this, container, args, SWITCH_BACKEND.nginx);

        this.activeColor = this.trafficSwitch.activeColor;
        this.containerName = container.name;
        this.registerOutputs({ activeColor: this.activeColor, containerName: this.containerName });
    }
}
