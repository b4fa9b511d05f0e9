import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { DeploymentReadyGate } from "../components/kubernetes/deploymentReadyGate";
import { KubeColorEnvironment } from "../components/kubernetes/colorEnvironment";
import { kubeconfigServerHost, serviceUrl } from "../components/serviceUrl";
import { Color, Settings } from "../components/settings";
import type { StackOutputs } from "./docker";

export interface KubernetesOptions {
    /** `kubernetes:kubeconfig` and `kubernetes:context`, for the readiness gate's kubectl. */
    kubeconfig?: string;
    context?: string;
    /** The Node.js dynamic provider that runs the readiness gate (see index.ts). */
    gateProvider?: pulumi.ProviderResource;
    /** Environment to find the kubeconfig in (KUBECONFIG, HOME); the process's by default. */
    env?: NodeJS.ProcessEnv;
}

/**
 * The kubeconfig's text, found as the kubernetes provider finds it: `kubernetes:kubeconfig` (a
 * path or the file's contents), else the files listed in KUBECONFIG, else ~/.kube/config.
 */
function kubeconfigTexts(kubeconfig: string | undefined, env: NodeJS.ProcessEnv): string[] {
    const home = env.HOME ?? os.homedir();
    const expand = (p: string) => (p.startsWith("~/") ? path.join(home, p.slice(2)) : p);
    const read = (p: string) => { try { return [fs.readFileSync(expand(p), "utf8")]; } catch { return []; } };
    if (kubeconfig) return kubeconfig.includes("\n") ? [kubeconfig] : read(kubeconfig);
    if (env.KUBECONFIG) return env.KUBECONFIG.split(path.delimiter).filter((p) => p).flatMap(read);
    return read(path.join(home, ".kube", "config"));
}

/**
 * The node address of NodePort URLs: `nodeAddress`, else the host of the API server the stack
 * talks to (on local clusters, kind with port mappings, minikube, k3s, Docker Desktop and the
 * project's own, that host also serves NodePorts).
 */
export function nodeAddressOf(configured: string, opts: KubernetesOptions): string {
    if (configured) return configured;
    const host = kubeconfigServerHost(kubeconfigTexts(opts.kubeconfig, opts.env ?? process.env), opts.context);
    if (!host) {
        throw new pulumi.RunError(
            "invalid stack config: `nodeAddress` is \"\" and no kubeconfig names an API server to take the node address from; " +
                "set `nodeAddress` to the IP address or DNS name of a node (NodePort and LoadBalancer URLs need it)",
        );
    }
    return host;
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
    // Resolved before any resource is declared: a NodePort stack without one fails with a message.
    const nodeAddress = k.serviceType === "ClusterIP" ? "" : nodeAddressOf(k.nodeAddress, opts);
    const replicasOf = (c: Color) => (c === s.idleColor && k.idleReplicas !== "full" ? k.idleReplicas : s[c].replicas);

    const envs = {} as Record<Color, KubeColorEnvironment>;
    // The active color first: the gate waits for it, the Service follows, the idle color scales last.
    envs[s.activeColor] = new KubeColorEnvironment(`${prefix}-${s.activeColor}`, {
        color: s.activeColor, settings: s[s.activeColor], replicas: replicasOf(s.activeColor),
        resources: k.resources[s.activeColor], namespace: k.namespace, app, rolloutSeconds: s.health.deadlineSeconds, drainSeconds: s.drainSeconds,
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
        resources: k.resources[s.idleColor], namespace: k.namespace, app, rolloutSeconds: s.health.deadlineSeconds, drainSeconds: s.drainSeconds,
    }, { dependsOn: [production] });

    // From the Service the API server returned: the allocated nodePort and any load balancer ingress.
    const urlOf = (svc: k8s.core.v1.Service, port: number) =>
        pulumi.all([svc.metadata.name, svc.spec.ports, svc.status]).apply(([name, ports, status]) => serviceUrl({
            type: k.serviceType, name, namespace: k.namespace, port,
            nodePort: ports?.find((p) => p.port === port)?.nodePort ?? ports?.[0]?.nodePort,
            ingress: status?.loadBalancer?.ingress,
        }, nodeAddress));
    return {
        activeColor: pulumi.output(s.activeColor),
        idleColor: pulumi.output(s.idleColor),
        url: urlOf(production, s.proxy.port),
        previewUrl: urlOf(preview, s.proxy.previewPort),
        images: { blue: envs.blue.image, green: envs.green.image },
    };
}
