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
import { COLORS, Color, otherColor } from "../settings";
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

    constructor(name: string, args: KubernetesServiceArgs, opts: pulumi.ComponentResourceOptions = {}) {
        const spec = asRunError(() => validateKubernetesServiceArgs(name, args));
        // Registered only once the constructor has completed: a check below that needs the provider
        // (the node address) fails with nothing registered.
        const declaration = new DeclarationGate();
        super(KUBERNETES_SERVICE_TYPE, name, {}, { ...opts, dependsOn: declaration.dependsOn(opts.dependsOn) });
        const cluster = clusterOf(this);
        const needsNode = spec.service.type !== "ClusterIP";
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
        const service = (n: string, color: pulumi.Input<Color>, port: number, dependsOn: pulumi.Resource[]) =>
            new k8s.core.v1.Service(n, {
                metadata: { namespace, labels: { app } },
                spec: {
                    type: spec.service.type,
                    selector: { app, color },
                    ports: [{ name: "http", port, targetPort: "http" }],
                },
            }, child({ dependsOn }));
        const production = service(`${name}-production`, spec.activeColor, spec.service.port, [gate]);
        const preview = service(`${name}-preview`, idle, spec.service.previewPort, []);
        if (known) envs[otherColor(known)] = environment(otherColor(known), { dependsOn: [production] });

        // From the Service the API server returned: the allocated nodePort and any load balancer ingress.
        const urlOf = (svc: k8s.core.v1.Service, port: number) =>
            pulumi.all([svc.metadata.name, svc.metadata.namespace, svc.spec.ports, svc.status, nodeAddress]).apply(([n, ns, ports, status, node]) => serviceUrl({
                type: spec.service.type, name: n, namespace: ns ?? "default", port,
                nodePort: ports?.find((p) => p.port === port)?.nodePort ?? ports?.[0]?.nodePort,
                ingress: status?.loadBalancer?.ingress,
            }, node));
        this.url = urlOf(production, spec.service.port);
        this.previewUrl = urlOf(preview, spec.service.previewPort);
        this.activeColor = pulumi.output(spec.activeColor);
        this.idleColor = idle;
        this.blueImage = envs.blue.image;
        this.greenImage = envs.green.image;
        this.serviceName = production.metadata.name;
        this.previewServiceName = preview.metadata.name;
        this.registerOutputs({
            url: this.url, previewUrl: this.previewUrl, activeColor: this.activeColor, idleColor: this.idleColor,
            blueImage: this.blueImage, greenImage: this.greenImage, serviceName: this.serviceName, previewServiceName: this.previewServiceName,
        });
        declaration.declared();
    }
}
