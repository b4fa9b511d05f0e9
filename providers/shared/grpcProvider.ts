/**
 * A Pulumi resource provider served over gRPC, for the project's stand-in plugins.
 *
 * `@pulumi/pulumi/provider`'s own server (3.259) answers CheckConfig/DiffConfig as unimplemented,
 * drops the provider config sent to Configure, cannot return a detailed diff and cannot report a
 * resource that was created but failed to start. A stand-in needs all four to behave like the
 * real plugin, so this serves the engine's `ResourceProvider` service directly with the SDK's
 * generated protobuf code and `@grpc/grpc-js` (both already dependencies of `@pulumi/pulumi`).
 */
import * as grpc from "@grpc/grpc-js";

/* eslint-disable @typescript-eslint/no-require-imports */
const provproto = require("@pulumi/pulumi/proto/provider_pb.js");
const provrpc = require("@pulumi/pulumi/proto/provider_grpc_pb.js");
const plugproto = require("@pulumi/pulumi/proto/plugin_pb.js");
const statusproto = require("@pulumi/pulumi/proto/status_pb.js");
const structproto = require("google-protobuf/google/protobuf/struct_pb.js");
const emptyproto = require("google-protobuf/google/protobuf/empty_pb.js");
const anyproto = require("google-protobuf/google/protobuf/any_pb.js");
/* eslint-enable @typescript-eslint/no-require-imports */

/** The engine's placeholder for a value not known until the resource exists. */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export type Props = Record<string, any>;

export type DiffKind = "add" | "add-replace" | "delete" | "delete-replace" | "update" | "update-replace";

export interface CheckFailure { property: string; reason: string }

export interface DiffResult {
    changes: boolean;
    replaces: string[];
    detailedDiff: Record<string, DiffKind>;
    deleteBeforeReplace?: boolean;
    /** The changed top-level properties; by default the roots of `detailedDiff`'s paths. */
    diffs?: string[];
    /** Paths of `detailedDiff` whose change is a change of the inputs (`PropertyDiff.inputDiff`). */
    inputDiffs?: string[];
}

/** A component `construct` declared: its URN, its serialized outputs, and the URNs each output depends on. */
export interface Constructed { urn: string; state: Props; stateDependencies: Record<string, string[]> }

/** What a stand-in implements; the type is the resource's type token (`docker:index/container:Container`). */
export interface ProviderImpl {
    readonly name: string;
    readonly version: string;
    /**
     * Whether the engine sends secrets as such (`{ <secret signature>: …, value }`) and keeps the
     * ones the provider marks in what it returns. Without it (the default), the engine strips them.
     */
    readonly acceptSecrets?: boolean;
    checkConfig(news: Props): CheckFailure[];
    configure(config: Props): void;
    check(type: string, name: string, olds: Props, news: Props): { inputs: Props; failures: CheckFailure[] };
    diff(type: string, id: string, olds: Props, news: Props): DiffResult;
    /** `timeout`: the resource's custom timeout in seconds, 0 when it has none. */
    create(type: string, name: string, inputs: Props, preview: boolean, timeout?: number): Promise<{ id: string; outs: Props }>;
    read(type: string, id: string, outs: Props, inputs: Props): Promise<{ id: string; outs: Props; inputs: Props } | undefined>;
    update(type: string, id: string, olds: Props, news: Props, preview: boolean, timeout?: number): Promise<Props>;
    delete(type: string, id: string, outs: Props, timeout?: number): Promise<void>;
    /** The package schema GetSchema answers (JSON); `{ name, version }` when unset. */
    schema?(): string;
    /** Declares the component a `pulumirpc.ConstructRequest` asks for: its URN, outputs (serialized) and their dependencies. */
    construct?(req: any): Promise<Constructed>;
}

/**
 * Thrown by `create` when the object exists but did not come up (a container that was created
 * and failed to start): the engine keeps it in state with these properties, as the real
 * provider's partial state, so that the next `up` can replace it and `destroy` can remove it.
 */
export class ResourceInitError extends Error {
    constructor(message: string, readonly id: string, readonly properties: Props) {
        super(message);
    }
}

/** `urn:pulumi:stack::project::parent$type::name` → the resource's own type token. */
export function typeOfUrn(urn: string): string {
    const parts = urn.split("::");
    const chain = parts[2] ?? "";
    return chain.split("$").pop() ?? chain;
}

export function nameOfUrn(urn: string): string {
    return urn.split("::").slice(3).join("::");
}

const KIND: Record<DiffKind, number> = {
    "add": provproto.PropertyDiff.Kind.ADD,
    "add-replace": provproto.PropertyDiff.Kind.ADD_REPLACE,
    "delete": provproto.PropertyDiff.Kind.DELETE,
    "delete-replace": provproto.PropertyDiff.Kind.DELETE_REPLACE,
    "update": provproto.PropertyDiff.Kind.UPDATE,
    "update-replace": provproto.PropertyDiff.Kind.UPDATE_REPLACE,
};

const toJs = (s: any): Props => (s ? s.toJavaScript() : {});
const toStruct = (p: Props) => structproto.Struct.fromJavaScript(dropUndefined(p));

/** protobuf's Struct has no `undefined`: absent means absent. */
function dropUndefined(v: any): any {
    if (Array.isArray(v)) return v.map(dropUndefined);
    if (v && typeof v === "object") {
        return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined).map(([k, x]) => [k, dropUndefined(x)]));
    }
    return v;
}

function grpcError(e: unknown): grpc.ServiceError {
    const err = e instanceof Error ? e : new Error(String(e));
    const metadata = new grpc.Metadata();
    if (err instanceof ResourceInitError) {
        const detail = new provproto.ErrorResourceInitFailed();
        detail.setId(err.id);
        detail.setProperties(toStruct(err.properties));
        detail.setReasonsList([err.message]);
        const any = new anyproto.Any();
        any.pack(detail.serializeBinary(), "pulumirpc.ErrorResourceInitFailed");
        const status = new statusproto.Status();
        status.setCode(grpc.status.UNKNOWN);
        status.setMessage(err.message);
        status.addDetails(any);
        metadata.add("grpc-status-details-bin", Buffer.from(status.serializeBinary()));
    }
    return Object.assign(new Error(err.message), { code: grpc.status.UNKNOWN, details: err.message, metadata }) as grpc.ServiceError;
}

/** Wraps an async handler: resolves to the response, rejects to a gRPC error. */
function handle<Req, Res>(fn: (req: Req) => Promise<Res> | Res) {
    return (call: grpc.ServerUnaryCall<Req, Res>, callback: grpc.sendUnaryData<Res>) => {
        Promise.resolve().then(() => fn(call.request)).then(
            (res) => callback(null, res),
            (e) => callback(grpcError(e)),
        );
    };
}

function failuresOf(failures: CheckFailure[]) {
    return failures.map((f) => {
        const cf = new provproto.CheckFailure();
        cf.setProperty(f.property);
        cf.setReason(f.reason);
        return cf;
    });
}

function diffResponse(d: DiffResult) {
    const resp = new provproto.DiffResponse();
    resp.setChanges(d.changes ? provproto.DiffResponse.DiffChanges.DIFF_SOME : provproto.DiffResponse.DiffChanges.DIFF_NONE);
    resp.setReplacesList(d.replaces);
    resp.setDiffsList(d.diffs ?? [...new Set(Object.keys(d.detailedDiff).map((k) => k.split(/[.[]/)[0]))]);
    resp.setHasdetaileddiff(true);
    const map = resp.getDetaileddiffMap();
    for (const [path, kind] of Object.entries(d.detailedDiff)) {
        const pd = new provproto.PropertyDiff();
        pd.setKind(KIND[kind]);
        pd.setInputdiff(d.inputDiffs?.includes(path) ?? false);
        map.set(path, pd);
    }
    if (d.deleteBeforeReplace) resp.setDeletebeforereplace(true);
    return resp;
}

/** The engine's mark of a secret value: `{ [SECRET_SIG]: SECRET_VALUE, value }`. */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270";
const isSecret = (v: any) => v !== null && typeof v === "object" && v[SECRET_SIG] === SECRET_VALUE;

/**
 * A plugin that constructs components must accept secrets (the engine refuses it otherwise). For
 * its custom resources, this does what the engine does for a plugin that does not: the values
 * arrive plain, and a property that was secret in what the engine sent is secret in the answer.
 */
function secretsAsEngine(props: Props[]): { plain: Props[]; mark: (outs: Props) => Props } {
    const secret = new Set<string>();
    const plain = props.map((p) => Object.fromEntries(Object.entries(p).map(([k, v]) => {
        if (!isSecret(v)) return [k, v];
        secret.add(k);
        return [k, v.value];
    })));
    const mark = (outs: Props) => Object.fromEntries(Object.entries(outs).map(([k, v]) =>
        [k, secret.has(k) && v !== undefined && !isSecret(v) ? { [SECRET_SIG]: SECRET_VALUE, value: v } : v]));
    return { plain, mark };
}

/** Serves `impl` on a loopback port and prints the port, as the engine expects of a plugin. */
export async function serve(impl: ProviderImpl): Promise<void> {
    // Secrets reach the plugin as such only when it says it takes them.
    const acceptSecrets = impl.acceptSecrets === true || impl.construct !== undefined;
    const asEngine = (...props: Props[]) => (acceptSecrets && impl.acceptSecrets !== true ? secretsAsEngine(props) : { plain: props, mark: (o: Props) => o });
    const service = {
        getPluginInfo: handle(() => {
            const info = new plugproto.PluginInfo();
            info.setVersion(impl.version);
            return info;
        }),
        getSchema: handle(() => {
            const resp = new provproto.GetSchemaResponse();
            resp.setSchema(impl.schema ? impl.schema() : JSON.stringify({ name: impl.name, version: impl.version }));
            return resp;
        }),
        checkConfig: handle((req: any) => {
            const news = toJs(req.getNews());
            const resp = new provproto.CheckResponse();
            resp.setInputs(toStruct(news));
            resp.setFailuresList(failuresOf(impl.checkConfig(news)));
            return resp;
        }),
        diffConfig: handle((req: any) => {
            // Provider config reaches only the engine address: a change never replaces resources.
            const olds = toJs(req.getOlds());
            const news = toJs(req.getNews());
            const changed = Object.keys({ ...olds, ...news }).filter((k) => JSON.stringify(olds[k]) !== JSON.stringify(news[k]));
            return diffResponse({ changes: changed.length > 0, replaces: [], detailedDiff: Object.fromEntries(changed.map((k) => [k, "update" as DiffKind])) });
        }),
        configure: handle((req: any) => {
            const config: Props = {};
            // Older engines send `pkg:config:key` variables, newer ones also `args`.
            req.getVariablesMap().forEach((v: string, k: string) => { config[k.split(":").pop()!] = v; });
            Object.assign(config, toJs(req.getArgs()));
            impl.configure(config);
            const resp = new provproto.ConfigureResponse();
            // Without it the engine strips secrets and marks the same outputs secret again.
            resp.setAcceptsecrets(acceptSecrets);
            resp.setSupportspreview(true);
            resp.setAcceptresources(false);
            resp.setAcceptoutputs(false);
            return resp;
        }),
        check: handle((req: any) => {
            const { plain: [olds, news], mark } = asEngine(toJs(req.getOlds()), toJs(req.getNews()));
            const { inputs, failures } = impl.check(typeOfUrn(req.getUrn()), nameOfUrn(req.getUrn()), olds, news);
            const resp = new provproto.CheckResponse();
            resp.setInputs(toStruct(mark(inputs)));
            resp.setFailuresList(failuresOf(failures));
            return resp;
        }),
        diff: handle((req: any) => {
            const { plain: [olds, news] } = asEngine(toJs(req.getOlds()), toJs(req.getNews()));
            return diffResponse(impl.diff(typeOfUrn(req.getUrn()), req.getId(), olds, news));
        }),
        create: handle(async (req: any) => {
            const { plain: [props], mark } = asEngine(toJs(req.getProperties()));
            const { id, outs } = await impl.create(typeOfUrn(req.getUrn()), nameOfUrn(req.getUrn()), props, req.getPreview(), req.getTimeout());
            const resp = new provproto.CreateResponse();
            resp.setId(id);
            resp.setProperties(toStruct(mark(outs)));
            return resp;
        }),
        read: handle(async (req: any) => {
            const { plain: [props, ins], mark } = asEngine(toJs(req.getProperties()), toJs(req.getInputs()));
            const found = await impl.read(typeOfUrn(req.getUrn()), req.getId(), props, ins);
            const resp = new provproto.ReadResponse();
            // An empty id tells the engine the object is gone: it leaves the state.
            resp.setId(found?.id ?? "");
            if (found) {
                resp.setProperties(toStruct(mark(found.outs)));
                resp.setInputs(toStruct(mark(found.inputs)));
            }
            return resp;
        }),
        update: handle(async (req: any) => {
            const { plain: [olds, news], mark } = asEngine(toJs(req.getOlds()), toJs(req.getNews()));
            const outs = await impl.update(typeOfUrn(req.getUrn()), req.getId(), olds, news, req.getPreview(), req.getTimeout());
            const resp = new provproto.UpdateResponse();
            resp.setProperties(toStruct(mark(outs)));
            return resp;
        }),
        delete: handle(async (req: any) => {
            const { plain: [props] } = asEngine(toJs(req.getProperties()));
            await impl.delete(typeOfUrn(req.getUrn()), req.getId(), props, req.getTimeout());
            return new emptyproto.Empty();
        }),
        construct: handle(async (req: any) => {
            if (!impl.construct) throw new Error(`the ${impl.name} provider has no component resources`);
            const { urn, state, stateDependencies } = await impl.construct(req);
            const resp = new provproto.ConstructResponse();
            resp.setUrn(urn);
            resp.setState(structproto.Struct.fromJavaScript(state));
            const deps = resp.getStatedependenciesMap();
            for (const [key, urns] of Object.entries(stateDependencies)) {
                const d = new provproto.ConstructResponse.PropertyDependencies();
                d.setUrnsList(urns);
                deps.set(key, d);
            }
            return resp;
        }),
        cancel: handle(() => new emptyproto.Empty()),
        attach: handle(() => new emptyproto.Empty()),
    };
    const server = new grpc.Server({ "grpc.max_receive_message_length": 400 * 1024 * 1024 });
    server.addService(provrpc.ResourceProviderService, service as any);
    const port = await new Promise<number>((resolve, reject) =>
        server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
    process.stdout.write(`${port}\n`);
}
