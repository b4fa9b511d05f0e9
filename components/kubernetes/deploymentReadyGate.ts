/**
 * The Kubernetes flavour's health gate: before the production Service's selector moves, the
 * target Deployment must have rolled out with all its replicas ready (what `kubectl rollout status`
 * waits for), bounded by the deadline. Its inputs change exactly when the live color changes, so it
 * runs on every switch and on nothing else; the Service depends on it, so a failed gate leaves the
 * selector alone. The project's own provider plugin (`providers/bluegreen/readyGate.ts`) runs it,
 * talking to the API server itself with the kubernetes provider's kubeconfig (a path or the
 * contents) and context: no `kubectl` is needed.
 */
import * as pulumi from "@pulumi/pulumi";
import { PLUGIN_VERSION } from "../version";

export interface DeploymentReadyGateArgs {
    deployment: pulumi.Input<string>;
    namespace: pulumi.Input<string>;
    activeColor: pulumi.Input<string>;
    deadlineSeconds: number;
    /** The kubernetes provider's kubeconfig, a path or the contents; kept secret in state. */
    kubeconfig?: pulumi.Input<string>;
    context?: pulumi.Input<string>;
}

export const READY_GATE_TYPE = "bluegreen:kubernetes:DeploymentReadyGate";
/** What the gate was as a Pulumi Node.js dynamic resource: stacks made then update it in place. */
export const DYNAMIC_GATE_TYPES = ["pulumi-nodejs:dynamic/bluegreen:DeploymentReadyGate", "pulumi-nodejs:dynamic:Resource"];

/** Passes once the live color's Deployment has all replicas ready. */
export class DeploymentReadyGate extends pulumi.CustomResource {
    constructor(name: string, args: DeploymentReadyGateArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            READY_GATE_TYPE,
            name,
            { ...args, kubeconfig: args.kubeconfig ?? "", context: args.context ?? "" },
            {
                version: PLUGIN_VERSION,
                ...opts,
                aliases: [...(opts?.aliases ?? []), ...DYNAMIC_GATE_TYPES.map((type) => ({ type }))],
                // A kubeconfig given as contents holds credentials: encrypted in state however it was passed.
                additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "kubeconfig"],
            },
        );
    }
}
