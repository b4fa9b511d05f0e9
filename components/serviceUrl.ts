/**
 * The addresses a person uses to reach the Kubernetes flavour's Services (`url`, `previewUrl`),
 * and where a stack finds its node address. Pure: the program reads the files and passes text.
 */
import * as yaml from "js-yaml";
import { isIPv6 } from "node:net";
import type { ServiceType } from "./settings";

/** What the URL of a Service depends on: its declared port and what the API server filled in. */
export interface ServiceView {
    type: ServiceType;
    name: string;
    namespace: string;
    /** The Service's `port` (spec.ports[0].port). */
    port: number;
    /** The allocated `spec.ports[0].nodePort` (NodePort and LoadBalancer Services). */
    nodePort?: number;
    /** `status.loadBalancer.ingress`, once a load balancer controller has filled it. */
    ingress?: { ip?: string; hostname?: string }[];
}

/** A host as it goes into a URL: IPv6 addresses in brackets. */
export function urlHost(host: string): string {
    return isIPv6(host) ? `[${host}]` : host;
}

/**
 * The URL of a Service:
 * - ClusterIP: its in-cluster DNS name and port (reach it from outside with `kubectl port-forward`);
 * - LoadBalancer with an ingress address: that address (ip, else hostname) and the Service port;
 * - NodePort, or LoadBalancer without ingress yet: the node address and the allocated nodePort.
 */
export function serviceUrl(s: ServiceView, nodeAddress: string): string {
    if (s.type === "ClusterIP") return `http://${s.name}.${s.namespace}.svc.cluster.local:${s.port}`;
    const lb = s.type === "LoadBalancer" ? (s.ingress ?? []).map((i) => i.ip || i.hostname).find((h) => !!h) : undefined;
    if (lb) return `http://${urlHost(lb)}:${s.port}`;
    if (s.nodePort === undefined) {
        throw new Error(`Service ${s.namespace}/${s.name} (type ${s.type}) has no nodePort: the API server allocates one for this type`);
    }
    return `http://${urlHost(nodeAddress)}:${s.nodePort}`;
}

interface KubeconfigFile {
    "current-context"?: string;
    contexts?: { name: string; context?: { cluster?: string } }[];
    clusters?: { name: string; cluster?: { server?: string } }[];
}

/**
 * The host of the API server that a kubeconfig (one or more files, merged as kubectl does: the
 * first file to set a value wins) points at, for `context` or else the current context.
 * Undefined when the kubeconfig does not say.
 */
export function kubeconfigServerHost(texts: string[], context?: string): string | undefined {
    let current: string | undefined;
    const contexts = new Map<string, string | undefined>();
    const clusters = new Map<string, string | undefined>();
    for (const text of texts) {
        const doc = (yaml.load(text) ?? {}) as KubeconfigFile;
        if (typeof doc !== "object") continue;
        current ||= doc["current-context"];
        for (const c of doc.contexts ?? []) if (c?.name && !contexts.has(c.name)) contexts.set(c.name, c.context?.cluster);
        for (const c of doc.clusters ?? []) if (c?.name && !clusters.has(c.name)) clusters.set(c.name, c.cluster?.server);
    }
    const ctx = context || current;
    const cluster = ctx ? contexts.get(ctx) : undefined;
    const server = cluster ? clusters.get(cluster) : undefined;
    if (!server) return undefined;
    try {
        const host = new URL(server).hostname;
        return host.startsWith("[") ? host.slice(1, -1) : host || undefined;
    } catch {
        return undefined;
    }
}
