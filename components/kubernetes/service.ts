/**
 * `kubernetes.BlueGreenService`: one service, blue/green, on a Kubernetes cluster. A Deployment
 * per color and two Services: the live one selects `activeColor` once the readiness gate has seen
 * that color's Deployment fully ready; the preview one selects the idle color. A switch is an
 * in-place update of the live Service's selector; `idleReplicas` scales the idle color after it.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { kubeconfigServerHost, serviceUrl } from "../serviceUrl";
import { KubernetesServiceArgs, ServiceArgsError, validateKubernetesServiceArgs } from "../serviceArgs";
import { DeclarationGate } from "../declaration";
import { asRunError, ofActiveColor } from "../inputs";
import { RECYCLED_AT } from "../previewSummary";
import { COLORS, Color, ServiceType, otherColor } from "../settings";
import { KubeColorEnvironment } from "./colorEnvironment";
import { DeploymentReadyGate } from "./deploymentReadyGate";

export type { KubernetesServiceArgs as BlueGreenServiceArgs } from "../serviceArgs";


/** The component's type token. */
export const KUBERNETES_SERVICE_TYPE = "bluegreen:kubernetes:BlueGreenService";

/**
 * The kubeconfig's text, found as the kubernetes provider finds it: its `kubeconfig` (a path or
 * the file's contents), else the files listed in KUBECONFIG, else ~/.kube/config.
 */
export function kubeconfigTexts(kubeconfig: string | undefined, env: NodeJS.ProcessEnv = process.env): string[] {
    const home = env.HOME ?? os.homedir();
    const expand = (p: string) => (p.startsWith("~/") ? path.join(home, p.slice(2)) : p);
    const read = (p: string) => { try { return [fs.readFileSync(expand(p), "utf8")]; } catch { return []; } };
    if (kubeconfig) return kubeconfig.includes("\n") ? [kubeconfig] : read(kubeconfig);
    if (env.KUBECONFIG) return env.KUBECONFIG.split(path.delimiter).filter((p) => p).flatMap(read);
    return read(path.join(home, ".kube", "config"));
}

/**
 * The node address of NodePort URLs: `service.nodeAddress`, else the host of the API server the
 * provider talks to (on local clusters, kind with port mappings, minikube, k3s, Docker Desktop and
 * the project's own, that host also serves NodePorts).
 */
export function nodeAddressOf(service: string, configured: string, kubeconfig: string | undefined, context: string | undefined, env?: NodeJS.ProcessEnv): string {
    if (configured) return configured;
    const host = kubeconfigServerHost(kubeconfigTexts(kubeconfig, env), context);
    if (!host) {
        throw new ServiceArgsError(
            `${service}: service.nodeAddress must be set (an IP address or DNS name of a node) when no kubeconfig names an API server to take it from, got ""`,
        );
    }
    return host;
}

/** The cluster the component's kubernetes provider talks to, for the readiness gate. */
export interface ClusterAccess {
    /** A path or the kubeconfig's contents; "" for the provider's default (KUBECONFIG, ~/.kube/config). */
    kubeconfig: pulumi.Input<string>;
    context: pulumi.Input<string>;
}

/**
 * The cluster of the kubernetes provider the service's resources use (`opts.provider`,
 * `opts.providers`, or a parent's): its kubeconfig (path or contents) and context. With the
 * default provider: its own config, `kubernetes:kubeconfig` and `kubernetes:context`, read as that
 * provider reads them.
 */
function clusterOf(component: pulumi.Resource): ClusterAccess {
    const provider = component.getProvider("kubernetes:apps/v1:Deployment") as (pulumi.ProviderResource & Partial<Record<"kubeconfig" | "context", pulumi.Output<string | undefined>>>) | undefined;
    if (provider) {
        return {
            kubeconfig: provider.kubeconfig ? provider.kubeconfig.apply((k) => k ?? "") : "",
            context: provider.context ? provider.context.apply((c) => c ?? "") : "",
        };
    }
    const config = new pulumi.Config("kubernetes");
    return { kubeconfig: config.get("kubeconfig") ?? "", context: config.get("context") ?? "" };
}

/** A blue/green service on Kubernetes: `url` reaches `activeColor` through the live Service. */
export class BlueGreenService extends pulumi.ComponentResource {
    public readonly url: pulumi.Output<string>;
    public readonly previewUrl: pulumi.Output<string>;
    public readonly activeColor: pulumi.Output<Color>;
    public readonly idleColor: pulumi.Output<Color>;
    public readonly blueImage: pulumi.Output<string>;
    public readonly greenImage: pulumi.Output<string>;
    /** Name of the live Service (an Ingress or HTTPRoute backend can point at it). */
    public readonly serviceName: pulumi.Output<string>;
    /** Name of the preview Service. */
    public readonly previewServiceName: pulumi.Output<string>;
    /** Names of the colors' Deployments (the targets of a HorizontalPodAutoscaler with `autoscaled`). */
    public readonly blueDeploymentName: pulumi.Output<string>;
    public readonly greenDeploymentName: pulumi.Output<string>;

    constructor(name: string, args: KubernetesServiceArgs, opts: pulumi.ComponentResourceOptions = {}) {
        const spec = asRunError(() => validateKubernetesServiceArgs(name, args));
        // Registered only once the constructor has completed: a check below that needs the provider
        // (the node address) fails with nothing registered.
        const declaration = new DeclarationGate();
        super(KUBERNETES_SERVICE_TYPE, name, {}, { ...opts, dependsOn: declaration.dependsOn(opts.dependsOn) });
        const cluster = clusterOf(this);
        const needsNode = spec.service.type !== "ClusterIP" || spec.service.previewType !== "ClusterIP";
        // Resolved before any child is declared when the kubeconfig is known: a NodePort service
        // without a node address fails with a message and nothing created.
        let nodeAddress: pulumi.Input<string> = "";
        if (needsNode) {
            const { kubeconfig, context } = cluster;
            nodeAddress = typeof kubeconfig === "string" && typeof context === "string"
                ? asRunError(() => nodeAddressOf(name, spec.service.nodeAddress, kubeconfig, context))
                : pulumi.all([kubeconfig, context]).apply(([k, c]) => asRunError(() => nodeAddressOf(name, spec.service.nodeAddress, k, c)));
        }
        const child = (extra: pulumi.CustomResourceOptions = {}): pulumi.CustomResourceOptions =>
            ({ parent: this, aliases: [{ parent: pulumi.rootStackResource }], ...extra });
        const { app, namespace } = spec;
        const known = spec.knownActiveColor;
        const replicasOf = (c: Color) => (known && c === otherColor(known) && spec.idleReplicas !== "full" ? spec.idleReplicas : spec.colors[c].replicas);
        const environment = (c: Color, opts: pulumi.CustomResourceOptions) => new KubeColorEnvironment(`${name}-${c}`, {
            color: c, service: name, settings: spec.colors[c], replicas: replicasOf(c), resources: spec.resources[c], namespace, app,
            rolloutSeconds: spec.health.deadlineSeconds, drainSeconds: spec.drainSeconds,
            pod: spec.pods[c], autoscaled: spec.autoscaled, podDisruptionBudget: spec.podDisruptionBudget,
        }, child(opts));

        const envs = {} as Record<Color, KubeColorEnvironment>;
        // The live color first: the gate waits for it, the Service follows, the idle color scales
        // last, after traffic has left it. With activeColor an Output, both come first.
        if (known) envs[known] = environment(known, {});
        else for (const c of COLORS) envs[c] = environment(c, {});
        const pick = <T>(f: (e: KubeColorEnvironment) => pulumi.Output<T>) =>
            known ? f(envs[known]) : ofActiveColor(spec.activeColor, f(envs.blue), f(envs.green));
        const gate = new DeploymentReadyGate(`${name}-gate`, {
            deployment: pick((e) => e.deploymentName),
            namespace,
            activeColor: spec.activeColor,
            deadlineSeconds: spec.health.deadlineSeconds,
            // The provider's kubeconfig may hold credentials: encrypted in state.
            kubeconfig: pulumi.output(cluster.kubeconfig).apply((k): pulumi.Output<string> | string => (k ? pulumi.secret(k) : k)) as pulumi.Output<string>,
            context: cluster.context,
        }, child());
        const idle = pulumi.output(spec.activeColor).apply(otherColor);
        // The kubernetes provider's own await of a Service waits for its endpoints and then 10 s
        // more after their last change ("settle"): most of a switch. Skipped where nothing needs
        // it: the gate has proved the target ready, and the idle color keeps its pods
        // (`idleReplicas: full`). Kept for a LoadBalancer (its address is `url`) and for the live
        // Service when the idle color is scaled down right after it (the settle is then what keeps
        // the idle pods until kube-proxy has moved).
        const service = (n: string, type: ServiceType, color: pulumi.Input<Color>, port: number, skipAwait: boolean, dependsOn: pulumi.Resource[], notReady = false) =>
            new k8s.core.v1.Service(n, {
                metadata: { namespace, labels: { app, "app.kubernetes.io/name": app, "app.kubernetes.io/managed-by": "bluegreen" }, ...(skipAwait ? { annotations: { "pulumi.com/skipAwait": "true" } } : {}) },
                spec: {
                    type,
                    selector: { app, color },
                    ...(notReady ? { publishNotReadyAddresses: true } : {}),
                    ports: [{ name: "http", port, targetPort: "http" }],
                },
            }, child({ dependsOn }));
        const production = service(`${name}-production`, spec.service.type, spec.activeColor, spec.service.port,
            spec.service.type !== "LoadBalancer" && spec.idleReplicas === "full", [gate]);
        const previewType = spec.service.previewType;
        // After the live one: a switch that fails (the target's rollout, the gate) leaves the preview
        // on the candidate; and it reaches pods that are not ready too, to debug them.
        const preview = service(`${name}-preview`, previewType, idle, spec.service.previewPort, previewType !== "LoadBalancer", [production], true);
        if (known) envs[otherColor(known)] = environment(otherColor(known), { dependsOn: [production] });
        // Every client moves (issue 27 item 2): a Service balances connections, so a kept-alive
        // connection stays on the pod it opened on. Once the live Service has left the old color,
        // its Deployment restarts (a new pod template annotation, as `kubectl rollout restart`):
        // new pods of the same version come up, and each old pod, out of the endpoints at once,
        // serves what it has for drainSeconds (preStop), then gets SIGTERM and closes its
        // connections; their clients reconnect, to the new color. The idle color stays warm (a
        // rolling restart keeps its ready pods until the new ones are ready). Not needed when
        // `idleReplicas` retires the old pods anyway. The patch is declared while the color is idle:
        // created at the switch (a new value then, kept by ignoreChanges after), forgotten, not
        // undone, when the color goes live (retainOnDelete); `up` does not wait for the restart
        // (the next switch's readiness gate does).
        if (known && spec.idleReplicas === "full") {
            const old = otherColor(known);
            new k8s.apps.v1.DeploymentPatch(`${name}-${old}-recycle`, {
                metadata: {
                    name: envs[old].deploymentName, namespace,
                    annotations: { "pulumi.com/skipAwait": "true", "pulumi.com/patchForce": "true" },
                },
                spec: { template: { metadata: { annotations: { [RECYCLED_AT]: new Date().toISOString() } } } },
            }, child({ dependsOn: [production, envs[old]], retainOnDelete: true, ignoreChanges: ["spec"] }));
        }

        // From the Service the API server returned: the allocated nodePort and any load balancer ingress.
        const urlOf = (svc: k8s.core.v1.Service, type: ServiceType, port: number) =>
            pulumi.all([svc.metadata.name, svc.metadata.namespace, svc.spec.ports, svc.status, nodeAddress]).apply(([n, ns, ports, status, node]) => serviceUrl({
                type, name: n, namespace: ns ?? "default", port,
                nodePort: ports?.find((p) => p.port === port)?.nodePort ?? ports?.[0]?.nodePort,
                ingress: status?.loadBalancer?.ingress,
            }, node));
        this.url = urlOf(production, spec.service.type, spec.service.port);
        this.previewUrl = urlOf(preview, previewType, spec.service.previewPort);
        this.activeColor = pulumi.output(spec.activeColor);
        this.idleColor = idle;
        this.blueImage = envs.blue.image;
        this.greenImage = envs.green.image;
        this.serviceName = production.metadata.name;
        this.previewServiceName = preview.metadata.name;
        this.blueDeploymentName = envs.blue.deploymentName;
        this.greenDeploymentName = envs.green.deploymentName;
        this.registerOutputs({
            url: this.url, previewUrl: this.previewUrl, activeColor: this.activeColor, idleColor: this.idleColor,
            blueImage: this.blueImage, greenImage: this.greenImage, serviceName: this.serviceName, previewServiceName: this.previewServiceName,
            blueDeploymentName: this.blueDeploymentName, greenDeploymentName: this.greenDeploymentName,
        });
        declaration.declared();
    }
}
