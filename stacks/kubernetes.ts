import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { DeploymentReadyGate } from "../components/kubernetes/deploymentReadyGate";
import { KubeColorEnvironment } from "../components/kubernetes/colorEnvironment";
import { Color, Settings } from "../components/settings";
import type { StackOutputs } from "./docker";

export interface KubernetesOptions {
    /** `kubernetes:kubeconfig` and `kubernetes:context`, for the readiness gate's kubectl. */
    kubeconfig?: string;
    context?: string;
    /** The Node.js dynamic provider that runs the readiness gate (see index.ts). */
    gateProvider?: pulumi.ProviderResource;
}

/**
 * The Kubernetes flavour: a Deployment per color and two Services. The production Service
 * selects `color=<activeColor>` once the readiness gate has seen that color's Deployment fully
 * ready; the preview Service selects the idle color. A switch is an in-place update of the
 * production Service's selector; `idleReplicas` scales the idle color after it.
 */
export function kubernetesStack(prefix: string, s: Settings, opts: KubernetesOptions = {}): StackOutputs {
    const k = s.kubernetes;
    const app = prefix;
    const replicasOf = (c: Color) => (c === s.idleColor && k.idleReplicas !== "full" ? k.idleReplicas : s[c].replicas);

    const envs = {} as Record<Color, KubeColorEnvironment>;
    // The active color first: the gate waits for it, the Service follows, the idle color scales last.
    envs[s.activeColor] = new KubeColorEnvironment(`${prefix}-${s.activeColor}`, {
        color: s.activeColor, settings: s[s.activeColor], replicas: replicasOf(s.activeColor),
        resources: k.resources[s.activeColor], namespace: k.namespace, app, rolloutSeconds: s.health.deadlineSeconds,
    });
    const gate = new DeploymentReadyGate(`${prefix}-gate`, {
        deployment: envs[s.activeColor].deploymentName,
        namespace: k.namespace,
        activeColor: s.activeColor,
        deadlineSeconds: s.health.deadlineSeconds,
        kubeconfig: opts.kubeconfig,
        context: opts.context,
    }, { provider: opts.gateProvider });
    const service = (name: string, color: Color, port: number, dependsOn: pulumi.Resource[]) =>
        new k8s.core.v1.Service(name, {
            metadata: { namespace: k.namespace, labels: { app } },
            spec: {
                type: k.serviceType,
                selector: { app, color },
                ports: [{ name: "http", port, targetPort: "http" }],
            },
        }, { dependsOn });
    const production = service(`${prefix}-production`, s.activeColor, s.proxy.port, [gate]);
    const preview = service(`${prefix}-preview`, s.idleColor, s.proxy.previewPort, []);
    // Retiring the idle color happens after traffic has left it.
    envs[s.idleColor] = new KubeColorEnvironment(`${prefix}-${s.idleColor}`, {
        color: s.idleColor, settings: s[s.idleColor], replicas: replicasOf(s.idleColor),
        resources: k.resources[s.idleColor], namespace: k.namespace, app, rolloutSeconds: s.health.deadlineSeconds,
    }, { dependsOn: [production] });

    const urlOf = (svc: k8s.core.v1.Service, port: number) =>
        svc.metadata.name.apply((n) => `http://${n}.${k.namespace}.svc.cluster.local:${port}`);
    return {
        activeColor: pulumi.output(s.activeColor),
        idleColor: pulumi.output(s.idleColor),
        url: urlOf(production, s.proxy.port),
        previewUrl: urlOf(preview, s.proxy.previewPort),
        images: { blue: envs.blue.image, green: envs.green.image },
    };
}
