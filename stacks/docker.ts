import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { ColorEnvironment } from "../components/docker/colorEnvironment";
import { NginxProxy } from "../components/docker/nginxProxy";
import { TraefikProxy } from "../components/docker/traefikProxy";
import { COLORS, Color, Settings } from "../components/settings";

export interface StackOutputs {
    activeColor: pulumi.Output<Color>;
    idleColor: pulumi.Output<Color>;
    url: pulumi.Output<string>;
    previewUrl: pulumi.Output<string>;
    images: Record<Color, pulumi.Output<string>>;
}

/** The address a person types to reach a listener bound to `bind`. */
function hostFor(bind: string): string {
    if (bind === "0.0.0.0") return "127.0.0.1";
    if (bind === "::") return "[::1]";
    return bind.includes(":") ? `[${bind}]` : bind;
}

/**
 * The Docker flavour: a private network, both color environments and the nginx proxy whose
 * traffic switch points the live listener at `activeColor` and the preview one at the other.
 */
export function dockerStack(prefix: string, s: Settings, opts: { dockerHost?: string; switchProvider?: pulumi.ProviderResource } = {}): StackOutputs {
    const labels = { "bluegreen.stack": prefix };
    const network = new docker.Network(`${prefix}-net`, {
        driver: "bridge",
        labels: Object.entries(labels).map(([label, value]) => ({ label, value })),
    });
    const envs = {} as Record<Color, ColorEnvironment>;
    for (const color of COLORS) {
        envs[color] = new ColorEnvironment(`${prefix}-${color}`, {
            color,
            settings: s[color],
            networkName: network.name,
            labels,
        });
    }
    const host = hostFor(s.proxy.bindAddress);
    const url = `http://${host}:${s.proxy.port}`;
    const previewUrl = `http://${host}:${s.proxy.previewPort}`;
    const target = envs[s.activeColor];
    const Proxy = s.proxy.kind === "traefik" ? TraefikProxy : NginxProxy;
    const proxy = new Proxy(`${prefix}-proxy`, {
        settings: s.proxy,
        health: s.health,
        drainSeconds: s.drainSeconds,
        activeColor: s.activeColor,
        colors: { blue: envs.blue, green: envs.green },
        networkName: network.name,
        dockerHost: opts.dockerHost,
        switchProvider: opts.switchProvider,
        labels,
        // Declared only when configured: a stack without it has no Command at all.
        smokeTest: s.smokeTest && {
            settings: s.smokeTest,
            target: s.activeColor,
            targetContainers: target.containerNames,
            previewUrl,
            url,
            after: [target],
        },
    });
    return {
        activeColor: proxy.activeColor,
        idleColor: proxy.activeColor.apply((c) => (c === "blue" ? "green" : "blue")),
        url: pulumi.output(url),
        previewUrl: pulumi.output(previewUrl),
        images: { blue: envs.blue.image, green: envs.green.image },
    };
}
