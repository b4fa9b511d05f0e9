/**
 * The Kubernetes flavour's health gate: before the production Service's selector moves, the
 * target Deployment must have all its replicas ready (`kubectl rollout status`, bounded by the
 * deadline). Its inputs change exactly when the live color changes, so it runs on every switch
 * and on nothing else; the Service depends on it, so a failed gate leaves the selector alone.
 */
import * as pulumi from "@pulumi/pulumi";
import type * as childProcess from "node:child_process";

export interface GateState {
    deployment: string;
    namespace: string;
    activeColor: string;
    deadlineSeconds: number;
    /** `kubernetes:kubeconfig` and `kubernetes:context` of the stack, if set. */
    kubeconfig: string;
    context: string;
}

/** kubectl's arguments for the gate: values as separate arguments, never a shell string. */
export function rolloutStatusArgs(s: GateState): string[] {
    return [
        ...(s.context ? ["--context", s.context] : []),
        "rollout", "status", `deployment/${s.deployment}`, "--namespace", s.namespace, `--timeout=${s.deadlineSeconds}s`,
    ];
}

async function waitReady(s: GateState): Promise<void> {
    const { execFile } = require("child_process") as typeof childProcess; // see dockerExec.ts
    const env = { ...process.env, ...(s.kubeconfig && !s.kubeconfig.includes("\n") ? { KUBECONFIG: s.kubeconfig } : {}) };
    await new Promise<void>((resolve, reject) => {
        execFile("kubectl", rolloutStatusArgs(s), { env, timeout: (s.deadlineSeconds + 30) * 1000 }, (err, stdout, stderr) => {
            if (!err) return resolve();
            reject(new Error(
                `readiness gate: ${s.activeColor} (deployment/${s.deployment} in ${s.namespace}) did not have all replicas ready within ` +
                    `${s.deadlineSeconds} s, so the production Service still selects the other color: ${(stderr || stdout || err.message).trim()}`,
            ));
        });
    });
}

const provider: pulumi.dynamic.ResourceProvider = {
    async diff(_id: string, olds: GateState, news: GateState) {
        const changes = olds.deployment !== news.deployment || olds.activeColor !== news.activeColor || olds.namespace !== news.namespace;
        return { changes, replaces: [], deleteBeforeReplace: false };
    },
    async create(inputs: GateState) {
        await waitReady(inputs);
        return { id: `${inputs.namespace}/${inputs.deployment}`, outs: inputs };
    },
    async update(_id: string, _olds: GateState, news: GateState) {
        await waitReady(news);
        return { outs: news };
    },
};

export interface DeploymentReadyGateArgs {
    deployment: pulumi.Input<string>;
    namespace: pulumi.Input<string>;
    activeColor: pulumi.Input<string>;
    deadlineSeconds: number;
    kubeconfig?: pulumi.Input<string>;
    context?: pulumi.Input<string>;
}

/** Passes once the live color's Deployment has all replicas ready. */
export class DeploymentReadyGate extends pulumi.dynamic.Resource {
    constructor(name: string, args: DeploymentReadyGateArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            provider,
            name,
            { ...args, kubeconfig: args.kubeconfig ?? "", context: args.context ?? "" },
            // Stacks made before the gate had a type of its own: updated in place, never replaced.
            { ...opts, aliases: [...(opts?.aliases ?? []), { type: "pulumi-nodejs:dynamic:Resource" }] },
            "bluegreen",
            "DeploymentReadyGate",
        );
    }
}
