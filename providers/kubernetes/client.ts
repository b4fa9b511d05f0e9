/**
 * The API server, through `@kubernetes/client-node`: its `KubeConfig` (kubeconfig files or text,
 * contexts, client certificates, tokens, exec plugins) and its `KubernetesObjectApi` (discovery of
 * each kind's path, authentication, TLS). Objects go out and come back as the raw JSON the API
 * server speaks: the library's typed models would drop fields they do not know and turn timestamps
 * into Dates, and the provider's outputs are "the live object as the API server returns it".
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as k8s from "@kubernetes/client-node";
import type { Props } from "../shared/grpcProvider";

/** Raw JSON in, raw JSON out, over the library's request pipeline. */
class RawObjectApi extends k8s.KubernetesObjectApi {
    static forConfig(kc: k8s.KubeConfig): RawObjectApi {
        const api = kc.makeApiClient(RawObjectApi);
        api.setDefaultNamespace(kc);
        return api;
    }

    protected override async processResponse<T extends k8s.KubernetesObject>(response: k8s.ResponseContext): Promise<T> {
        const text = await response.body.text();
        let body: any = text;
        try {
            body = text ? JSON.parse(text) : {};
        } catch {
            // not JSON: keep the text
        }
        if (response.httpStatusCode >= 200 && response.httpStatusCode <= 299) return body as T;
        throw new ApiError(response.httpStatusCode, body);
    }

    /** The collection or object path of `obj` (`/apis/apps/v1/namespaces/ns/deployments/name`), by discovery. */
    async pathOf(obj: Props, action: "patch" | "read" | "delete" | "list"): Promise<string> {
        return this.specUriPath(structuredClone(obj) as k8s.KubernetesObject, action);
    }

    async send(method: k8s.HttpMethod, urlPath: string, opts: { query?: Record<string, string>; body?: unknown; contentType?: string } = {}): Promise<any> {
        const ctx = this.configuration.baseServer.makeRequestContext(urlPath, method);
        ctx.setHeaderParam("Accept", "application/json");
        for (const [k, v] of Object.entries(opts.query ?? {})) ctx.setQueryParam(k, v);
        if (opts.body !== undefined) {
            ctx.setHeaderParam("Content-Type", opts.contentType ?? "application/json");
            ctx.setBody(JSON.stringify(opts.body));
        }
        return this.requestPromise(ctx);
    }
}

/** An API server answer that is not 2xx: its status code and `Status` object. */
export class ApiError extends Error {
    readonly reason: string;
    constructor(readonly code: number, readonly body: any) {
        super(typeof body === "object" && body?.message ? String(body.message) : `HTTP ${code}: ${typeof body === "string" ? body : JSON.stringify(body)}`);
        this.reason = typeof body === "object" && typeof body?.reason === "string" ? body.reason : "";
    }
}

export const statusOf = (e: unknown): number | undefined => (e instanceof ApiError ? e.code : undefined);
export const isNotFound = (e: unknown) => statusOf(e) === 404;

export interface ObjectRef { apiVersion: string; kind: string; namespace?: string; name: string }

export class Cluster {
    private readonly api: RawObjectApi;

    constructor(readonly kubeConfig: k8s.KubeConfig, readonly defaultNamespace: string) {
        this.api = RawObjectApi.forConfig(kubeConfig);
    }

    private header(ref: ObjectRef): Props {
        return { apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name, namespace: ref.namespace || this.defaultNamespace } };
    }

    /** Server-side apply of `obj` (as YAML's JSON subset), with a field manager; `dryRun` for previews. */
    async apply(obj: Props, opts: { fieldManager: string; force: boolean; dryRun?: boolean; fieldValidation?: string }): Promise<Props> {
        const body = structuredClone(obj);
        body.metadata = { ...(body.metadata ?? {}), namespace: body.metadata?.namespace || this.defaultNamespace };
        const query: Record<string, string> = { fieldManager: opts.fieldManager, force: String(opts.force) };
        if (opts.dryRun) query.dryRun = "All";
        if (opts.fieldValidation) query.fieldValidation = opts.fieldValidation;
        return this.api.send(k8s.HttpMethod.PATCH, await this.api.pathOf(body, "patch"), { query, body, contentType: k8s.PatchStrategy.ServerSideApply });
    }

    /** The live object, or undefined when there is none. */
    async get(ref: ObjectRef): Promise<Props | undefined> {
        try {
            return await this.api.send(k8s.HttpMethod.GET, await this.api.pathOf(this.header(ref), "read"));
        } catch (e) {
            if (isNotFound(e)) return undefined;
            throw e;
        }
    }

    async list(apiVersion: string, kind: string, namespace: string, labelSelector: string): Promise<Props[]> {
        const p = await this.api.pathOf({ apiVersion, kind, metadata: { namespace } }, "list");
        const out = await this.api.send(k8s.HttpMethod.GET, p, { query: { labelSelector } });
        return Array.isArray(out?.items) ? out.items : [];
    }

    /** DELETE with a propagation policy; false when the object was already gone. */
    async delete(ref: ObjectRef, propagationPolicy: "Foreground" | "Background" | "Orphan"): Promise<boolean> {
        try {
            await this.api.send(k8s.HttpMethod.DELETE, await this.api.pathOf(this.header(ref), "delete"), {
                body: { apiVersion: "v1", kind: "DeleteOptions", propagationPolicy },
            });
            return true;
        } catch (e) {
            if (isNotFound(e)) return false;
            throw e;
        }
    }
}

function expandHome(p: string): string {
    if (p === "~") return os.homedir();
    if (p.startsWith("~/")) return path.join(os.homedir(), p.slice(2));
    return p;
}

/**
 * The cluster from the provider config, as the real provider resolves it: `kubernetes:kubeconfig`
 * (a path, or the kubeconfig's contents), else `KUBECONFIG` / `~/.kube/config` (or in-cluster);
 * `kubernetes:context` overrides the current context. The default namespace is the context's.
 */
export function connect(kubeconfig: string | undefined, context: string | undefined): Cluster {
    const kc = new k8s.KubeConfig();
    if (kubeconfig) {
        const p = expandHome(kubeconfig);
        let isFile = false;
        try {
            isFile = !kubeconfig.includes("\n") && fs.statSync(p).isFile();
        } catch {
            isFile = false;
        }
        if (isFile) kc.loadFromFile(p);
        else kc.loadFromString(kubeconfig);
    } else {
        kc.loadFromDefault();
    }
    if (context) {
        if (!kc.getContextObject(context)) throw new Error(`context "${context}" (kubernetes:context) is not in the kubeconfig; it has ${kc.getContexts().map((c) => c.name).join(", ") || "none"}`);
        kc.setCurrentContext(context);
    }
    if (!kc.getCurrentCluster()) throw new Error(`the kubeconfig's current context "${kc.getCurrentContext()}" names no cluster`);
    const ns = kc.getContextObject(kc.getCurrentContext())?.namespace;
    return new Cluster(kc, ns || "default");
}
