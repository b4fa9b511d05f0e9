/**
 * Create, read, update and delete of the three kinds, step for step as the real provider does them
 * in its default server-side-apply mode (pulumi-kubernetes `provider.go`, `await/await.go`):
 *
 * - create: server-side apply under a field manager `pulumi-kubernetes-<8 hex>` (kept in the state
 *   as `__fieldManager`), retried while the namespace or kind is not found; then the kind's await
 *   rule; the outputs are the live object read back, with `__inputs`, `__initialApiVersion` and
 *   `__fieldManager`. An object that was created but did not become ready stays in the state (the
 *   engine's partial state) and the update fails with the reason.
 * - preview (create or update): the same apply as a server dry run, so the API server validates it;
 *   inputs still unknown, a namespace that does not exist yet, or a forbidden dry run: the inputs.
 * - update: server-side apply of the new inputs under the stored field manager (fields the program
 *   no longer sets are released), then the await rule.
 * - read: the live object; gone → the resource leaves the state.
 * - delete: foreground propagation, then until the object is gone.
 */
import { randomBytes } from "node:crypto";
import { ResourceInitError, type Props } from "../shared/grpcProvider";
import { AwaitError, awaitDeleted, awaitReady } from "./await";
import { ApiError, type Cluster, type ObjectRef } from "./client";
import { nameOf } from "./naming";
import { normalizeInputs } from "./normalize";
import { checkpointObject, fieldManagerOf, initialApiVersionOf, parseCheckpoint, readResult } from "./plan";
import { GVK } from "./schema";
import { hasUnknown, stripSecrets } from "./values";

export function fqName(obj: Props): string {
    const ns = obj?.metadata?.namespace;
    return ns ? `${ns}/${obj.metadata.name}` : String(obj?.metadata?.name ?? "");
}

export function refOfId(type: string, id: string): ObjectRef {
    const [a, b] = id.split("/");
    return { ...GVK[type], namespace: b === undefined ? "" : a, name: b === undefined ? a : b };
}

const refOf = (o: Props): ObjectRef => ({ apiVersion: o.apiVersion, kind: o.kind, namespace: o.metadata?.namespace, name: o.metadata?.name });

/** `patchForce`: conflicts with other field managers are overridden only when asked to, or in a preview. */
function patchForce(inputs: Props, live: Props | undefined, preview: boolean): boolean {
    if (inputs.metadata?.annotations?.["pulumi.com/patchForce"] === "true") return true;
    const env = process.env.PULUMI_K8S_ENABLE_PATCH_FORCE;
    if (env !== undefined) return env === "true";
    if (preview) {
        if (!live) return true;
        return (live.metadata?.managedFields ?? []).some((f: Props) =>
            f.operation === "Update" && ["pulumi-resource-kubernetes", "pulumi-kubernetes", "pulumi-kubernetes.exe"].includes(f.manager));
    }
    return false;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Errors after which a preview shows the inputs instead of failing (as the real provider). */
function previewFallback(e: unknown): boolean {
    if (!(e instanceof ApiError)) return true; // the cluster is unreachable: a preview still works
    if (e.code === 403) return true;
    if (e.code === 409 && e.reason === "AlreadyExists") return true;
    if (e.code === 404 && /namespaces? "?[^"]*"? not found/i.test(e.message)) return true;
    return /does not support dry run|dryRun (alpha|beta) feature is disabled/.test(e.message);
}

function conflictHelp(e: unknown, fieldManager: string): unknown {
    if (e instanceof ApiError && e.code === 409 && e.reason === "Conflict") {
        return new Error(`Server-Side Apply field conflict detected: the resource managed by field manager "${fieldManager}" had an apply conflict: ${e.message}`);
    }
    return e;
}

export async function createResource(cluster: Cluster, type: string, logicalName: string, inputs: Props, preview: boolean, timeout?: number): Promise<{ id: string; outs: Props }> {
    const newInputs = normalizeInputs(stripSecrets(inputs));
    if (preview && hasUnknown(newInputs)) return { id: "", outs: inputs };
    const initialApiVersion = String(newInputs.apiVersion ?? GVK[type].apiVersion);
    const fieldManager = fieldManagerOf(undefined);
    if (preview) {
        let live: Props;
        try {
            live = await cluster.apply(newInputs, { fieldManager, force: patchForce(newInputs, undefined, true), dryRun: true, fieldValidation: "Warn" });
        } catch (e) {
            if (e instanceof ApiError && e.code === 422 && /field is immutable/.test(e.message)) {
                // A replacement's dry run against the old object's immutable fields: try it under another name.
                const renamed = { ...newInputs, metadata: { ...newInputs.metadata, name: `${nameOf(newInputs)}${randomBytes(3).toString("hex").slice(0, 5)}` } };
                try {
                    live = await cluster.apply(renamed, { fieldManager, force: true, dryRun: true, fieldValidation: "Warn" });
                } catch (e2) {
                    if (previewFallback(e2)) return { id: "", outs: inputs };
                    throw e2;
                }
            } else if (previewFallback(e)) {
                return { id: "", outs: inputs };
            } else {
                throw new Error(`resource "${logicalName}" was not successfully created by the Kubernetes API server: ${(e as Error).message}`);
            }
        }
        delete live.status;
        return { id: "", outs: checkpointObject(newInputs, live, inputs, initialApiVersion, fieldManager) };
    }

    let created: Props | undefined;
    for (let attempt = 0; ; attempt++) {
        try {
            created = await cluster.apply(newInputs, { fieldManager, force: patchForce(newInputs, undefined, false), fieldValidation: "Warn" });
            break;
        } catch (e) {
            // A namespace or kind that does not exist yet may be on its way: retried, as the real provider does.
            if (e instanceof ApiError && e.code === 404 && attempt < 5) {
                await sleep(1000 * 2 ** attempt);
                continue;
            }
            throw new Error(`resource "${logicalName}" was not successfully created by the Kubernetes API server: ${(conflictHelp(e, fieldManager) as Error).message}`);
        }
    }
    const id = fqName(created);
    try {
        await awaitReady(cluster, created, timeout);
    } catch (e) {
        const latest = (await cluster.get(refOf(created)).catch(() => undefined)) ?? (e instanceof AwaitError ? e.object : created);
        throw new ResourceInitError(
            `resource "${logicalName}" was successfully created, but the Kubernetes API server reported that it failed to fully initialize or become live: ${(e as Error).message}`,
            id, checkpointObject(newInputs, latest, inputs, initialApiVersion, fieldManager));
    }
    const live = (await cluster.get(refOf(created)).catch(() => undefined)) ?? created;
    return { id, outs: checkpointObject(newInputs, live, inputs, initialApiVersion, fieldManager) };
}

export async function readResource(cluster: Cluster, type: string, id: string, state: Props, inputs: Props): Promise<{ id: string; outs: Props; inputs: Props } | undefined> {
    const live = await cluster.get(refOfId(type, id));
    if (!live) return undefined;
    const r = readResult(live, inputs, state);
    return { id, outs: r.outs, inputs: r.inputs };
}

export async function updateResource(cluster: Cluster, type: string, id: string, olds: Props, news: Props, preview: boolean, timeout?: number): Promise<Props> {
    const newInputs = normalizeInputs(stripSecrets(news));
    if (preview && hasUnknown(newInputs)) return news;
    const { inputs: oldInputs, live: oldLive } = parseCheckpoint(olds);
    const initialApiVersion = initialApiVersionOf(olds, oldInputs);
    const fieldManager = fieldManagerOf(olds);
    const ref = oldLive.metadata?.name ? refOf({ ...GVK[type], ...oldLive }) : refOfId(type, id);
    const liveOld = await cluster.get(ref);
    if (!liveOld) throw new Error(`update of ${id} failed: the object is not on the cluster any more (run \`pulumi refresh\`)`);
    let applied: Props;
    try {
        applied = await cluster.apply(newInputs, { fieldManager, force: patchForce(newInputs, liveOld, preview), dryRun: preview });
    } catch (e) {
        if (preview && e instanceof ApiError && e.code === 403) return news;
        throw new Error(`update of ${id} failed: ${(conflictHelp(e, fieldManager) as Error).message}`);
    }
    if (preview) return checkpointObject(newInputs, applied, news, initialApiVersion, fieldManager);
    try {
        await awaitReady(cluster, applied, timeout);
    } catch (e) {
        const latest = (await cluster.get(refOf(applied)).catch(() => undefined)) ?? (e instanceof AwaitError ? e.object : applied);
        throw new ResourceInitError(
            `the Kubernetes API server reported that "${fqName(applied)}" failed to fully initialize or become live: ${(e as Error).message}`,
            fqName(applied), checkpointObject(newInputs, latest, news, initialApiVersion, fieldManager));
    }
    const live = (await cluster.get(refOf(applied)).catch(() => undefined)) ?? applied;
    return checkpointObject(newInputs, live, news, initialApiVersion, fieldManager);
}

export async function deleteResource(cluster: Cluster, type: string, id: string, state: Props, timeout?: number): Promise<void> {
    const { live } = parseCheckpoint(state);
    const ref = live.metadata?.name ? refOf({ ...GVK[type], ...live }) : refOfId(type, id);
    if (!(await cluster.delete(ref, "Foreground"))) return;
    await awaitDeleted(cluster, ref, timeout);
}
