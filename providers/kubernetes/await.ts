/**
 * The real provider's await rules (pulumi-kubernetes `provider/pkg/await`), for the kinds here:
 *
 * - Deployment: done when the controller has seen the current generation and the rollout is
 *   complete: `observedGeneration` ≥ `generation`, condition `Progressing` True with reason
 *   `NewReplicaSetAvailable`, `Available` True, and updated, ready and available replicas equal
 *   to `spec.replicas`. Default limit 10 minutes.
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

/** Is the Deployment's rollout complete? Returns what it still waits for (empty when done). */
export function deploymentPending(d: Props): string[] {
    const pending: string[] = [];
    const status = d.status ?? {};
    const want = typeof d.spec?.replicas === "number" ? d.spec.replicas : 1;
    const generation = d.metadata?.generation ?? 0;
    if ((status.observedGeneration ?? 0) < generation) pending.push("the Deployment controller has not yet observed the latest generation");
    const progressing = condition(d, "Progressing");
    if (progressing?.status === "False" && progressing.reason === "ProgressDeadlineExceeded") {
        pending.push(`[ProgressDeadlineExceeded] ${progressing.message ?? "the rollout made no progress within its deadline"}`);
    } else if (!(progressing?.status === "True" && progressing.reason === "NewReplicaSetAvailable")) {
        pending.push("Attempted to roll forward to new ReplicaSet, but minimum number of Pods did not become live");
    }
    const available = condition(d, "Available");
    if (available?.status !== "True") pending.push(`[${available?.reason ?? "MinimumReplicasUnavailable"}] ${available?.message ?? "Deployment does not have minimum availability."}`);
    const counts = { updated: status.updatedReplicas ?? 0, ready: status.readyReplicas ?? 0, available: status.availableReplicas ?? 0 };
    const short = Object.entries(counts).filter(([, n]) => n !== want).map(([k, n]) => `${k} ${n}`);
    if (short.length) pending.push(`Minimum number of live Pods was not attained: ${want} wanted, ${short.join(", ")}`);
    return pending;
}

export async function awaitDeployment(cluster: Cluster, obj: Props, timeoutSeconds: number): Promise<Props> {
    const deadline = Date.now() + timeoutSeconds * 1000;
    let last = obj;
    let pending: string[] = [];
    for (;;) {
        const live = await cluster.get(refOf(obj));
        if (!live) throw new AwaitError(last, ["the Deployment was deleted"], "was deleted while waiting for it to become ready");
        last = live;
        pending = deploymentPending(live);
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
