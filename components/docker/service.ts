/**
 * `docker.BlueGreenService`: one service, blue/green, on a Docker engine. Both color
 * environments, a private network, the proxy in front (nginx or Traefik) with a live and a
 * preview listener, and the traffic switch inside it, which health-gates the color that is about
 * to go live before it moves traffic there. Changing `activeColor` is the switch.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { DeclarationGate } from "../declaration";
import { COLORS, Color, hostFor, otherColor } from "../settings";
import { asRunError, ofActiveColor } from "../inputs";
import { DockerServiceArgs, HostPortClaims, validateDockerServiceArgs } from "../serviceArgs";
import { ColorEnvironment } from "./colorEnvironment";
import { NginxProxy } from "./nginxProxy";
import { TraefikProxy } from "./traefikProxy";

export type { DockerServiceArgs as BlueGreenServiceArgs } from "../serviceArgs";

/** The component's type token. */
export const DOCKER_SERVICE_TYPE = "bluegreen:docker:BlueGreenService";

/** Host ports of every Docker service this program declares. */
const claims = new HostPortClaims();
/** The first port conflict this program ran into, if any: every service declared in that turn stays unregistered. */
let conflict: string | undefined;
/** Explicit docker providers, numbered: two services on one provider share its engine. */
const providerIds = new WeakMap<object, number>();
let providersSeen = 0;

/**
 * The Docker engine of the docker provider the service's containers use (`opts.provider`,
 * `opts.providers`, or a parent's), so that the switch reaches the same engine. With the default
 * provider: its own config, `docker:host`, read as that provider reads it (else DOCKER_HOST or the
 * local socket, which the switch falls back to by itself).
 */
function engineOf(component: pulumi.Resource): { host: pulumi.Input<string>; key: string } {
    const provider = component.getProvider("docker:index/container:Container");
    if (provider) {
        const host = (provider as docker.Provider).host;
        if (!providerIds.has(provider)) providerIds.set(provider, ++providersSeen);
        return { host: host ? host.apply((h) => h ?? "") : "", key: `explicit provider #${providerIds.get(provider)}` };
    }
    const host = new pulumi.Config("docker").get("host") ?? "";
    return { host, key: host || process.env.DOCKER_HOST || "local" };
}

/** A blue/green service on a Docker engine: `url` serves `activeColor`, `previewUrl` the other color. */
export class BlueGreenService extends pulumi.ComponentResource {
    /** The live listener, e.g. `http://127.0.0.1:8080`. */
    public readonly url: pulumi.Output<string>;
    /** The preview listener: always the idle color. */
    public readonly previewUrl: pulumi.Output<string>;
    /** The color that serves `url`. */
    public readonly activeColor: pulumi.Output<Color>;
    /** The color that serves `previewUrl`. */
    public readonly idleColor: pulumi.Output<Color>;
    /** Image of each color. */
    public readonly blueImage: pulumi.Output<string>;
    public readonly greenImage: pulumi.Output<string>;
    /** Name of the proxy container. */
    public readonly proxyContainerName: pulumi.Output<string>;
    /** Name of the service's private network. */
    public readonly networkName: pulumi.Output<string>;

    constructor(name: string, args: DockerServiceArgs, opts: pulumi.ComponentResourceOptions = {}) {
        const spec = asRunError(() => validateDockerServiceArgs(name, args));
        // A service that another one declared in the same turn conflicts with is never registered.
        const gate = new DeclarationGate(() => conflict !== undefined);
        super(DOCKER_SERVICE_TYPE, name, {}, { ...opts, dependsOn: gate.dependsOn(opts.dependsOn) });
        const engine = engineOf(this);
        asRunError(() => {
            try {
                claims.claim(name, engine.key, spec.proxy.bindAddress, [
                    { path: "proxy.port", port: spec.proxy.port },
                    { path: "proxy.previewPort", port: spec.proxy.previewPort },
                ]);
            } catch (e) {
                conflict ??= (e as Error).message;
                throw e;
            }
        });
        // Children keep the names a program-level stack gave them, so such a stack moves in place.
        const child: pulumi.CustomResourceOptions = { parent: this, aliases: [{ parent: pulumi.rootStackResource }] };
        const labels = spec.labels;
        const network = new docker.Network(`${name}-net`, {
            driver: "bridge",
            labels: Object.entries(labels).map(([label, value]) => ({ label, value })),
        }, child);
        const envs = {} as Record<Color, ColorEnvironment>;
        for (const color of COLORS) {
            envs[color] = new ColorEnvironment(`${name}-${color}`, {
                color,
                service: name,
                settings: spec.colors[color],
                networkName: network.name,
                labels,
            }, child);
        }
        const host = hostFor(spec.proxy.bindAddress);
        const url = `http://${host}:${spec.proxy.port}`;
        const previewUrl = `http://${host}:${spec.proxy.previewPort}`;
        const active = spec.knownActiveColor;
        const Proxy = spec.proxy.kind === "traefik" ? TraefikProxy : NginxProxy;
        const proxy = new Proxy(`${name}-proxy`, {
            settings: spec.proxy,
            health: spec.health,
            drainSeconds: spec.drainSeconds,
            activeColor: spec.activeColor,
            colors: { blue: envs.blue, green: envs.green },
            networkName: network.name,
            dockerHost: engine.host,
            labels,
            // Declared only when configured: a service without it has no Command at all.
            smokeTest: spec.smokeTest && {
                settings: spec.smokeTest,
                target: spec.activeColor,
                targetContainers: ofActiveColor(spec.activeColor, envs.blue.containerNames, envs.green.containerNames),
                previewUrl,
                url,
                // The color about to go live is in place first (both, when the color is an Output).
                after: active ? [envs[active]] : [envs.blue, envs.green],
            },
        }, child);

        this.url = pulumi.output(url);
        this.previewUrl = pulumi.output(previewUrl);
        this.activeColor = proxy.activeColor;
        this.idleColor = proxy.activeColor.apply(otherColor);
        this.blueImage = envs.blue.image;
        this.greenImage = envs.green.image;
        this.proxyContainerName = proxy.containerName;
        this.networkName = network.name;
        this.registerOutputs({
            url: this.url, previewUrl: this.previewUrl, activeColor: this.activeColor, idleColor: this.idleColor,
            blueImage: this.blueImage, greenImage: this.greenImage, proxyContainerName: this.proxyContainerName, networkName: this.networkName,
        });
        gate.declared();
    }
}
