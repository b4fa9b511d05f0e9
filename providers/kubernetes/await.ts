/**
 * The real provider's await rules (pulumi-kubernetes `provider/pkg/await`), for the kinds here:
 *
 * - Deployment: done when the controller has observed the current generation, the Deployment is
 *   `Available`, its rollout is complete (`Progressing` True, reason `NewReplicaSetAvailable`) and
 *   the ReplicaSet of the current revision has its replicas ready (`deploymentPending`). Default
 *   limit 10 minutes.
 * - Service: done when it has endpoints and none of them is not ready (its EndpointSlices), after
 *   they have stayed the same for 10 s ("settled"); a `LoadBalancer` also needs an ingress address.
 *   `ExternalName`, headless and selector-less Services do not wait for endpoints. Default 10 min.
 * - Secret: nothing to wait for.
 * - Delete: until the object is gone (foreground propagation: its dependents first). Default 5 min.
 *
 * A limit from the resource's `customTimeouts` (the request's timeout) replaces the default.
 */
import type { Props } from "../shared/grpcProvider";
import type { Cluster, ObjectRef } from "./client";
import { isObject } from "./values";

export const DEFAULT_TIMEOUT_SECONDS = 600;
export const DEFAULT_DELETE_TIMEOUT_SECONDS = 300;
export const SERVICE_SETTLE_MS = 10_000;
const POLL_MS = 1000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Not ready within the limit: the message names the object and what it was still waiting for. */
export class AwaitError extends Error {
    constructor(readonly object: Props, readonly subErrors: string[], what: string) {
        super(`'${object?.metadata?.name}' ${what}${subErrors.length ? `:\n${subErrors.map((s) => ` * ${s}`).join("\n")}` : ""}`);
    }
}

const refOf = (o: Props): ObjectRef => ({ apiVersion: o.apiVersion, kind: o.kind, namespace: o.metadata?.namespace, name: o.metadata?.name });

function condition(obj: Props, type: string): Props | undefined {
    const conds = obj?.status?.conditions;
    return Array.isArray(conds) ? conds.find((c: Props) => c?.type === type) : undefined;
}

const REVISION = "deployment.kubernetes.io/revision";

const ownedBy = (o: Props, owner: Props) => (o.metadata?.ownerReferences ?? []).some((r: Props) => r.uid === owner.metadata?.uid);

/**
 * Is the Deployment's rollout done, by the real provider's rule (`deploymentInitAwaiter`)? Returns
 * what it still waits for (empty when done). Once the controller has observed the current
 * generation: `Available` True; the ReplicaSet of the current revision has at least as many ready
 * replicas as its own `spec.replicas`; and, past revision 1, `Progressing` True with reason
 * `NewReplicaSetAvailable`. (A scale-down is therefore done as soon as it is observed, while the
 * old pods are still terminating: the recorded outputs show it.)
 */
export function deploymentPending(d: Props, replicaSets: Props[]): string[] {
    const status = d.status ?? {};
    const generation = d.metadata?.generation ?? 0;
    if (status.observedGeneration === undefined || status.observedGeneration < generation) {
        return ["the Deployment controller has not yet observed the latest generation"];
    }
    const pending: string[] = [];
    const revision = d.metadata?.annotations?.[REVISION] ?? "";
    const available = condition(d, "Available");
    if (available?.status !== "True") {
        pending.push(available ? `[${available.reason}] ${available.message}` : "Minimum number of live Pods was not attained");
    }
    const progressing = condition(d, "Progressing");
    if (progressing && progressing.status !== "True") pending.push(`[${progressing.reason}] ${progressing.message}`);
    else if (revision !== "1" && progressing?.reason !== "NewReplicaSetAvailable") pending.push("Attempted to roll forward to new ReplicaSet, but minimum number of Pods did not become live");
    const rs = replicaSets.find((r) => ownedBy(r, d) && r.metadata?.annotations?.[REVISION] === revision);
    const want = typeof rs?.spec?.replicas === "number" ? rs.spec.replicas : 1;
    const ready = rs?.status?.readyReplicas;
    if (!revision || !rs || !(typeof ready === "number" ? ready >= want : want === 0)) {
        pending.push(`Waiting for app ReplicaSet to be available (${ready ?? 0}/${want} Pods available)`);
    }
    return pending;
}

export async function awaitDeployment(cluster: Cluster, obj: Props, timeoutSeconds: number): Promise<Props> {
    const deadline = Date.now() + timeoutSeconds * 1000;
    const selector = Object.entries(obj.spec?.selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`).join(",");
    let last = obj;
    for (;;) {
        const live = await cluster.get(refOf(obj));
        if (!live) throw new AwaitError(last, ["the Deployment was deleted"], "was deleted while waiting for it to become ready");
        last = live;
        const replicaSets = await cluster.list("apps/v1", "ReplicaSet", live.metadata.namespace, selector);
        const pending = deploymentPending(live, replicaSets);
        if (pending.length === 0) return live;
        if (Date.now() >= deadline) throw new AwaitError(last, pending, "timed out waiting to be Ready");
        await sleep(Math.min(POLL_MS, Math.max(0, deadline - Date.now())));
    }
}

/** The readiness of a Service's endpoints, from its EndpointSlices. */
export function endpointsState(slices: Props[]): { ready: boolean; fingerprint: string } {
    const endpoints = slices.flatMap((s) => (Array.isArray(s.endpoints) ? s.endpoints : []));
    const ready = slices.length > 0 && endpoints.every((e: Props) => e?.conditions?.ready !== false);
    const fingerprint = JSON.stringify(slices.map((s) => [s.metadata?.name, s.endpoints ?? [], s.ports ?? []]).sort());
    return { ready, fingerprint };
}

export async function awaitService(cluster: Cluster, obj: Props, timeoutSeconds: number, settleMs = SERVICE_SETTLE_MS): Promise<Props> {
    const type = typeof obj.spec?.type === "string" ? obj.spec.type : "ClusterIP";
    const headless = obj.spec?.clusterIP === "None";
    const hasSelector = isObject(obj.spec?.selector) && Object.keys(obj.spec.selector).length > 0;
    if (type === "ExternalName") return obj;
    const waitEndpoints = !headless && hasSelector;
    const deadline = Date.now() + timeoutSeconds * 1000;
    let last = obj;
    let fingerprint: string | undefined;
    let changedAt = Date.now();
    for (;;) {
        const live = await cluster.get(refOf(obj));
        if (!live) throw new AwaitError(last, ["the Service was deleted"], "was deleted while waiting for it to become ready");
        last = live;
        const lbReady = type !== "LoadBalancer" || (Array.isArray(live.status?.loadBalancer?.ingress) && live.status.loadBalancer.ingress.length > 0);
        let endpointsReady = true;
        let settled = true;
        if (waitEndpoints) {
            const slices = await cluster.list("discovery.k8s.io/v1", "EndpointSlice", live.metadata.namespace, `kubernetes.io/service-name=${live.metadata.name}`);
            const st = endpointsState(slices);
            if (st.fingerprint !== fingerprint) {
                fingerprint = st.fingerprint;
                changedAt = Date.now();
            }
            endpointsReady = st.ready;
            settled = Date.now() - changedAt >= settleMs;
        }
        if (lbReady && endpointsReady && settled) return live;
        if (Date.now() >= deadline && !(lbReady && endpointsReady)) {
            const errors: string[] = [];
            if (!endpointsReady) errors.push("Service does not target any Pods. Selected Pods may not be ready, or field '.spec.selector' may not match labels on any Pods");
            if (!lbReady) errors.push("Service was not allocated an IP address; does your cloud provider support this?");
            throw new AwaitError(last, errors, "timed out waiting to be Ready");
        }
        if (Date.now() >= deadline) return live; // ready, only not settled: the real awaiter accepts it at its deadline
        await sleep(Math.min(POLL_MS, Math.max(0, deadline - Date.now())));
    }
}

/** Waits for the object to be ready by its kind's rule; returns the live object. */
export async function awaitReady(cluster: Cluster, obj: Props, timeoutSeconds: number | undefined): Promise<Props> {
    const limit = timeoutSeconds && timeoutSeconds > 0 ? timeoutSeconds : DEFAULT_TIMEOUT_SECONDS;
    if (obj.apiVersion === "apps/v1" && obj.kind === "Deployment") return awaitDeployment(cluster, obj, limit);
    if (obj.apiVersion === "v1" && obj.kind === "Service") return awaitService(cluster, obj, limit);
    return obj;
}

export async function awaitDeleted(cluster: Cluster, ref: ObjectRef, timeoutSeconds: number | undefined): Promise<void> {
    const limit = timeoutSeconds && timeoutSeconds > 0 ? timeoutSeconds : DEFAULT_DELETE_TIMEOUT_SECONDS;
    const deadline = Date.now() + limit * 1000;
    for (;;) {
        const live = await cluster.get(ref);
        if (!live) return;
        if (Date.now() >= deadline) {
            throw new AwaitError(live, [`still present${live.metadata?.deletionTimestamp ? `, being deleted since ${live.metadata.deletionTimestamp} (finalizers: ${(live.metadata.finalizers ?? []).join(", ") || "none"})` : ""}`], "timed out waiting to be deleted");
        }
        await sleep(Math.min(POLL_MS, Math.max(0, deadline - Date.now())));
    }
}
