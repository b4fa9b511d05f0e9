/**
 * The traffic switch: the one small resource that decides which color serves live traffic.
 *
 * It owns the proxy's configuration file. On every change it health-gates the color that will be
 * live, checks and installs the rendered file atomically, and waits until the proxy serves it;
 * any failing step leaves the previous file and traffic in place. Refresh reads what the proxy
 * really serves. The project's own provider plugin (`providers/bluegreen/`) does the work; this
 * is the resource the program declares.
 */
import * as pulumi from "@pulumi/pulumi";
import { PLUGIN_VERSION } from "../version";
import { type Color, type ProxyKind, otherColor } from "../settings";

export interface TrafficSwitchArgs {
    kind: ProxyKind;
    container: pulumi.Input<string>;
    dockerHost?: pulumi.Input<string>;
    activeColor: pulumi.Input<Color>;
    images: pulumi.Input<Record<Color, pulumi.Input<string>>>;
    config: pulumi.Input<string>;
    generation: pulumi.Input<string>;
    configFile: string;
    configDir: string;
    statusUrl: string;
    gateUrls: pulumi.Input<pulumi.Input<string>[]>;
    health: { retries: number; intervalSeconds: number; deadlineSeconds: number };
    drainSeconds: number;
}

/** The switch's type in previews, plans and state. */
export const TRAFFIC_SWITCH_TYPE = "bluegreen:docker:TrafficSwitch";
/**
 * What the switch was before the project had its own plugin: a Pulumi Node.js dynamic resource,
 * first with the generic type, then with a type of its own. A stack made then updates its switch
 * in place (the aliases match it; the plugin accepts the dynamic provider's state), never replaces it.
 */
export const DYNAMIC_SWITCH_TYPES = ["pulumi-nodejs:dynamic/bluegreen:TrafficSwitch", "pulumi-nodejs:dynamic:Resource"];

/** Moves live traffic to `activeColor` once that color passes its health gate. */
export class TrafficSwitch extends pulumi.CustomResource {
    /** The color that serves live traffic. */
    declare public readonly activeColor: pulumi.Output<Color>;
    /** The generation the proxy served when the switch last applied or read it. */
    declare public readonly servedGeneration: pulumi.Output<string>;

    constructor(name: string, args: TrafficSwitchArgs, opts?: pulumi.CustomResourceOptions) {
        const idle = pulumi.output(args.activeColor).apply(otherColor);
        super(
            TRAFFIC_SWITCH_TYPE,
            name,
            { ...args, dockerHost: args.dockerHost ?? "", idleColor: idle, servedGeneration: undefined },
            { version: PLUGIN_VERSION, ...opts, aliases: [...(opts?.aliases ?? []), ...DYNAMIC_SWITCH_TYPES.map((type) => ({ type }))] },
        );
    }
}
