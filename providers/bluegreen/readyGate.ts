/**
 * The provider side of the Kubernetes readiness gate (`components/kubernetes/deploymentReadyGate.ts`):
 * the live color's Deployment must have rolled out (what `kubectl rollout status` waits for),
 * within the deadline. It talks to the API server itself, as the kubernetes provider does, through
 * `@kubernetes/client-node`, with the provider's kubeconfig (a path or the contents) and context:
 * no `kubectl` on the machine that runs `pulumi`, and no fall-back to another cluster's kubeconfig.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type * as k8s from "./kubeClient";
import type { DiffKind, DiffResult } from "../shared/grpcProvider";

export interface GateState {
    deployment: string;
    namespace: string;
    activeColor: string;
    deadlineSeconds: number;
    /** The kubernetes provider's kubeconfig (a path or the contents) and context, "" for its defaults. */
    kubeconfig: string;
    context: string;
}

/** Where the kubeconfig comes from, resolved as the kubernetes provider resolves its `kubeconfig`. */
export type KubeconfigSource = { kind: "file"; path: string } | { kind: "contents"; text: string } | { kind: "default" };

/**
 * The provider's rule: a value that names an existing file (`~` expanded) is read from it, any
 * other value is the kubeconfig itself; none means the defaults (`KUBECONFIG`, `~/.kube/config`,
 * or the in-cluster service account).
 */
export function kubeconfigSource(kubeconfig: string): KubeconfigSource {
    if (!kubeconfig) return { kind: "default" };
    const p = kubeconfig.startsWith("~/") ? path.join(os.homedir(), kubeconfig.slice(2)) : kubeconfig;
    try {
        if (!kubeconfig.includes("\n") && fs.statSync(p).isFile()) return { kind: "file", path: p };
    } catch {
        // not a file: the contents
    }
    return { kind: "contents", text: kubeconfig };
}

/**
 * The client library, loaded on the gate's first use (in the built plugin, from its own file:
 * see kubeClient.ts), so that the plugin's other starts never parse it.
 */
async function library(): Promise<typeof k8s> {
    const m = (await import("./kubeClient")) as typeof k8s & { default?: typeof k8s };
    // A CommonJS file loaded by import(): its exports are the namespace's, or its default's.
    return m.KubeConfig ? m : m.default!;
}

/** The KubeConfig the gate uses: the provider's kubeconfig and context. Throws naming what is wrong. */
export async function loadKubeConfig(s: Pick<GateState, "kubeconfig" | "context">): Promise<k8s.KubeConfig> {
    const { KubeConfig } = await library();
    const kc = new KubeConfig();
    const source = kubeconfigSource(s.kubeconfig);
    const from = source.kind === "file" ? `the kubeconfig ${source.path}` : source.kind === "contents" ? "the kubeconfig given as contents" : "the default kubeconfig";
    try {
        if (source.kind === "file") kc.loadFromFile(source.path);
        else if (source.kind === "contents") kc.loadFromString(source.text);
        else kc.loadFromDefault();
    } catch (e) {
        throw new Error(`readiness gate: cannot read ${from}: ${(e as Error).message}`);
    }
    if (s.context) {
        if (!kc.getContextObject(s.context)) {
            throw new Error(`readiness gate: context "${s.context}" is not in ${from}; it has ${kc.getContexts().map((c) => c.name).join(", ") || "none"}`);
        }
        kc.setCurrentContext(s.context);
    }
    if (!kc.getCurrentCluster()) throw new Error(`readiness gate: ${from} names no cluster for context "${kc.getCurrentContext()}"`);
    return kc;
}

/** The part of a Deployment the rollout status reads. */
export interface DeploymentLike {
    metadata?: { generation?: number };
    spec?: { replicas?: number };
    status?: {
        observedGeneration?: number;
        replicas?: number;
        updatedReplicas?: number;
        availableReplicas?: number;
        conditions?: { type?: string; reason?: string; message?: string }[];
    };
}

export type Rollout = { done: true } | { done: false; failed: boolean; why: string };

/** `kubectl rollout status`'s rule for a Deployment (its DeploymentStatusViewer), as a value. */
export function rolloutOf(d: DeploymentLike): Rollout {
    const gen = d.metadata?.generation ?? 0;
    const st = d.status ?? {};
    if (gen > (st.observedGeneration ?? 0)) return { done: false, failed: false, why: "the Deployment's controller has not seen its latest spec yet" };
    const progressing = (st.conditions ?? []).find((c) => c.type === "Progressing");
    if (progressing?.reason === "ProgressDeadlineExceeded") return { done: false, failed: true, why: `its progress deadline was exceeded: ${progressing.message ?? ""}`.trim() };
    const want = d.spec?.replicas ?? 1;
    const updated = st.updatedReplicas ?? 0;
    const replicas = st.replicas ?? 0;
    const available = st.availableReplicas ?? 0;
    if (updated < want) return { done: false, failed: false, why: `${updated} of ${want} replicas updated` };
    if (replicas > updated) return { done: false, failed: false, why: `${replicas - updated} old replicas still to terminate` };
    if (available < updated) return { done: false, failed: false, why: `${available} of ${updated} updated replicas available` };
    return { done: true };
}

const what = (s: GateState) => `deployment/${s.deployment} in namespace ${s.namespace}`;
const kept = "so the production Service still selects the other color";

/**
 * An API error's status code and message, from the library's ApiException, and whether it is the
 * network's (a refused or dropped connection, a name not resolved: worth another try).
 */
function apiError(e: unknown): { code?: number; network: boolean; message: string } {
    const err = e as { code?: number | string; body?: unknown; message?: string; cause?: { code?: unknown; message?: string } };
    const system = typeof err.code === "string" ? err.code : typeof err.cause?.code === "string" ? err.cause.code : "";
    let message = err.message ?? String(e);
    let body = err.body;
    if (typeof body === "string") {
        try {
            body = JSON.parse(body);
        } catch {
            // not JSON
        }
    }
    if (body && typeof body === "object" && typeof (body as { message?: unknown }).message === "string") message = (body as { message: string }).message;
    // undici's fetch fails with "fetch failed" and the reason in its cause.
    const fetchFailed = e instanceof TypeError && err.message === "fetch failed";
    if (err.cause?.message && !message.includes(err.cause.message)) message = `${message}: ${err.cause.message}`;
    if (system && !message.includes(system)) message = `${message} (${system})`;
    return { code: typeof err.code === "number" && err.code >= 100 ? err.code : undefined, network: system !== "" || fetchFailed, message };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Waits until the Deployment has rolled out, reading it and then watching it (no polling delay once
 * it changes), until the deadline. Fails at once when it does not exist or its rollout has failed.
 */
export async function waitReady(s: GateState): Promise<void> {
    const kc = await loadKubeConfig(s);
    const lib = await library();
    const apps = kc.makeApiClient(lib.AppsV1Api);
    const server = kc.getCurrentCluster()?.server ?? "?";
    const deadline = Date.now() + s.deadlineSeconds * 1000;
    let last: Rollout = { done: false, failed: false, why: "not read yet" };

    const judge = (d: DeploymentLike): boolean => {
        last = rolloutOf(d);
        if (last.done) return true;
        if (last.failed) throw new Error(`readiness gate: ${s.activeColor} (${what(s)}) failed to roll out, ${kept}: ${last.why}`);
        return false;
    };

    while (Date.now() < deadline) {
        let d: k8s.V1Deployment;
        try {
            d = await apps.readNamespacedDeployment({ name: s.deployment, namespace: s.namespace });
        } catch (e) {
            const { code, network, message } = apiError(e);
            if (code === 404) throw new Error(`readiness gate: ${what(s)} not found (API server ${server}), ${kept}: ${message}`);
            if (network || (code !== undefined && code >= 500)) {
                // The API server unreachable or failing: try again until the deadline, then say so.
                last = { done: false, failed: false, why: `the API server ${server} did not answer: ${message}` };
                await sleep(Math.min(1000, Math.max(0, deadline - Date.now())));
                continue;
            }
            throw new Error(`readiness gate: reading ${what(s)} from the API server ${server} failed${code ? ` (HTTP ${code})` : ""}, ${kept}: ${message}`);
        }
        if (judge(d as DeploymentLike)) return;
        // Watch it from the version read, until it is done, the deadline passes or the watch ends.
        const done = await new Promise<boolean | Error>((resolve) => {
            let settled = false;
            let controller: AbortController | undefined;
            const finish = (v: boolean | Error) => {
                if (settled) return;
                settled = true;
                clearTimeout(timer);
                controller?.abort();
                resolve(v);
            };
            const timer = setTimeout(() => finish(false), Math.max(0, deadline - Date.now()));
            new lib.Watch(kc).watch(
                `/apis/apps/v1/namespaces/${encodeURIComponent(s.namespace)}/deployments`,
                { fieldSelector: `metadata.name=${s.deployment}`, resourceVersion: d.metadata?.resourceVersion, allowWatchBookmarks: false },
                (phase, obj) => {
                    if (phase === "DELETED") return finish(new Error(`readiness gate: ${what(s)} was deleted while the gate waited for it, ${kept}`));
                    if (phase !== "ADDED" && phase !== "MODIFIED") return;
                    try {
                        if (judge(obj as DeploymentLike)) finish(true);
                    } catch (e) {
                        finish(e as Error);
                    }
                },
                () => finish(false),
            ).then((c) => {
                controller = c;
                if (settled) c.abort();
            }, () => finish(false));
        });
        if (done instanceof Error) throw done;
        if (done) return;
        // The watch ended (the server closes watches now and then) or the deadline passed: read again.
        if (Date.now() < deadline) await sleep(200);
    }
    if (!last.done && last.why.startsWith("the API server")) throw new Error(`readiness gate: could not read ${what(s)} within ${s.deadlineSeconds} s, ${kept}: ${last.why}`);
    throw new Error(`readiness gate: ${s.activeColor} (${what(s)}) did not have all replicas ready within ${s.deadlineSeconds} s, ${kept}: ${last.done ? "ready" : last.why}`);
}

/** The gate runs again exactly when what it gates changes: the live color's Deployment. */
export function diffGate(olds: GateState, news: GateState): DiffResult {
    const detailedDiff: Record<string, DiffKind> = {};
    for (const k of ["deployment", "activeColor", "namespace"] as const) if (olds[k] !== news[k]) detailedDiff[k] = "update";
    return { changes: Object.keys(detailedDiff).length > 0, replaces: [], detailedDiff };
}
