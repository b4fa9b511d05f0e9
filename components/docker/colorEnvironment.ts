import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { ColorSpec } from "../serviceArgs";
import { Color, imageVersion } from "../settings";
import { checkedEnv, checkedImage } from "../inputs";

export interface ColorEnvironmentArgs {
    /** Which slot this is; never changes for a given environment. */
    color: Color;
    /** This color's validated args (`validateDockerServiceArgs`); image and env may be Outputs. */
    settings: ColorSpec;
    /** The service's name, in the messages about values known only once they resolve. */
    service: string;
    /** The private network the proxy reaches the replicas on. */
    networkName: pulumi.Input<string>;
    /** Labels added to every container, besides `color` and `version`. */
    labels?: Record<string, string>;
}

/**
 * One color slot on a Docker host: `replicas` containers of one image on the private network,
 * reachable only through the proxy. Both colors always exist; traffic moves between them by
 * the traffic switch, never by replacing an environment.
 */
export class ColorEnvironment extends pulumi.ComponentResource {
    /** The image this color runs. */
    public readonly image: pulumi.Output<string>;
    /** The version label, taken from the image tag. */
    public readonly version: pulumi.Output<string>;
    /** Names of the replica containers. */
    public readonly containerNames: pulumi.Output<string[]>;
    /** `name:port` of every replica on the private network, for the health gate. */
    public readonly endpoints: pulumi.Output<string[]>;
    /** `alias:port`: the color's network alias, which Docker's DNS resolves to its running replicas; the proxy routes to it. */
    public readonly target: pulumi.Output<string>;
    /** Health URL of every replica as the proxy sees it. */
    public readonly healthUrls: pulumi.Output<string[]>;

    constructor(name: string, args: ColorEnvironmentArgs, opts?: pulumi.ComponentResourceOptions) {
        super("bluegreen:docker:ColorEnvironment", name, {}, opts);
        const s = args.settings;
        const image = checkedImage(args.service, `colors.${args.color}.image`, s.image);
        const version = image.apply(imageVersion);
        const labels = { ...args.labels, color: args.color, version, "bluegreen.component": name };
        const envs = checkedEnv(args.service, `colors.${args.color}.env`, s.env).apply((env) =>
            Object.entries({ ...env, COLOR: args.color, PORT: String(s.port), HEALTH_PATH: s.healthPath }).map(([k, v]) => `${k}=${v}`));

        const containers = Array.from({ length: s.replicas }, (_, i) =>
            new docker.Container(`${name}-${i}`, {
                image,
                envs: pulumi.secret(envs), // env may carry credentials: keep it encrypted in state
                labels: Object.entries(labels).map(([label, value]) => ({ label, value })),
                networksAdvanced: [{ name: args.networkName, aliases: [args.color] }],
                restart: "unless-stopped",
                // A replaced replica is removed after the switch has moved off it; stop it first so
                // that requests it is still answering can finish.
                destroyGraceSeconds: 10,
                securityOpts: ["no-new-privileges"],
                capabilities: { drops: ["ALL"] },
                mustRun: true,
            }, { parent: this, deleteBeforeReplace: false }),
        );

        // Each replica by its container name, which Docker's DNS resolves on the private network:
        // known at preview time, and right when Docker gives a restarted container another
        // address (the docker provider's `networkDatas` is not re-read when an update restarts a
        // stopped container, so an address from it can be stale or empty).
        const endpointOf = (c: docker.Container) => c.name.apply((n) => `${n}:${s.port}`);
        this.image = image;
        this.version = version;
        this.containerNames = pulumi.all(containers.map((c) => c.name));
        this.endpoints = pulumi.all(containers.map(endpointOf));
        this.healthUrls = this.endpoints.apply((eps) => eps.map((e) => `http://${e}${s.healthPath}`));
        this.target = pulumi.output(`${args.color}:${s.port}`);
        this.registerOutputs({ image: this.image, version: this.version, containerNames: this.containerNames, endpoints: this.endpoints, target: this.target });
    }
}
