/**
 * What bluegreen's own provider plugin (main.ts serves it) does: the traffic switch (Docker) and
 * the readiness gate (Kubernetes), the two resources of the program that no published provider
 * offers.
 *
 * It replaces Pulumi's Node.js dynamic provider for them. That one starts a shell, a Node.js
 * process and the whole Pulumi SDK on every `up` (about 0.85 s, on the switch's critical path);
 * this is one bundled script that answers in about 0.1 s (README, "Benchmark"). Unlike the
 * stand-ins beside it, it is part of the product and runs on every machine: `Pulumi.yaml` points
 * the engine at `providers/bluegreen/bin/`, whose launcher builds the bundle when it is missing
 * or older than these sources.
 */
import { UNKNOWN, type Props, type ProviderImpl } from "../shared/grpcProvider";
import { createSwitch, diffSwitch, readSwitch, updateSwitch, type SwitchState } from "./dockerSwitch";
import { diffGate, waitReady, type GateState } from "./readyGate";
import schema from "./schema.json";

declare const BLUEGREEN_BLUEGREEN_VERSION: string;

export const SWITCH = "bluegreen:docker:TrafficSwitch";
export const GATE = "bluegreen:kubernetes:DeploymentReadyGate";

/** What each resource type requires of its inputs, with its JavaScript type. */
const REQUIRED: Record<string, Record<string, string>> = {
    [SWITCH]: {
        kind: "string", container: "string", dockerHost: "string", activeColor: "string", images: "object", config: "string",
        generation: "string", configFile: "string", configDir: "string", statusUrl: "string", gateUrls: "object", health: "object",
    },
    [GATE]: { deployment: "string", namespace: "string", activeColor: "string", deadlineSeconds: "number", kubeconfig: "string", context: "string" },
};

function only(type: string): void {
    if (!REQUIRED[type]) throw new Error(`the bluegreen provider has no resource type ${type}; it has ${Object.keys(REQUIRED).join(" and ")}`);
}

/** The dynamic provider's own key, which state from before this plugin still carries. */
const withoutDynamic = ({ __provider: _, ...rest }: Props): Props => rest;

export const impl: ProviderImpl = {
    name: "bluegreen",
    version: typeof BLUEGREEN_BLUEGREEN_VERSION === "string" ? BLUEGREEN_BLUEGREEN_VERSION : "0.0.0",

    /** The package schema (./schema.json, `npm run schema`): the components other languages declare. */
    schema() {
        return JSON.stringify({ ...schema, version: this.version });
    },

    checkConfig(news) {
        return Object.keys(news)
            .filter((k) => k !== "version" && !k.startsWith("__"))
            .map((k) => ({ property: k, reason: `the bluegreen provider has no provider config \`bluegreen:${k}\`` }));
    },

    configure() {},

    check(type, _name, _olds, news) {
        only(type);
        // Values not known yet (a preview's) come as the engine's placeholder string.
        const failures = Object.entries(REQUIRED[type])
            .filter(([k, t]) => news[k] !== UNKNOWN && typeof news[k] !== t)
            .map(([k, t]) => ({ property: k, reason: `${type}: ${k} must be a ${t}, got ${JSON.stringify(news[k]) ?? "nothing"}` }));
        return { inputs: news, failures };
    },

    diff(type, _id, olds, news) {
        only(type);
        return type === SWITCH ? diffSwitch(olds as SwitchState, news as SwitchState) : diffGate(olds as GateState, news as GateState);
    },

    async create(type, _name, inputs, preview) {
        only(type);
        if (type === SWITCH) {
            if (preview) return { id: "", outs: inputs };
            return createSwitch(inputs as SwitchState);
        }
        const gate = inputs as GateState;
        if (!preview) await waitReady(gate);
        return { id: preview ? "" : `${gate.namespace}/${gate.deployment}`, outs: inputs };
    },

    async read(type, id, outs, inputs) {
        only(type);
        if (type === GATE) return { id, outs: withoutDynamic(outs), inputs: withoutDynamic(inputs) };
        return { id, outs: withoutDynamic(await readSwitch(outs as SwitchState)), inputs: withoutDynamic(inputs) };
    },

    async update(type, _id, olds, news, preview) {
        only(type);
        if (type === SWITCH) {
            if (preview) return { ...news, servedGeneration: olds.servedGeneration };
            return updateSwitch(olds as SwitchState, news as SwitchState);
        }
        if (!preview) await waitReady(news as GateState);
        return news;
    },

    async delete(type) {
        // Nothing to undo. The switch: the proxy that holds the file goes with the stack, and a
        // switch removed on its own leaves traffic where it is rather than cutting it. The gate
        // holds nothing.
        only(type);
    },
};
