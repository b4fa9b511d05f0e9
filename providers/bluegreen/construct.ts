/**
 * `Construct` of the bluegreen plugin: the service components (`bluegreen:docker:BlueGreenService`,
 * `bluegreen:kubernetes:BlueGreenService`) declared for a program in another language (YAML, or a
 * Python or Go SDK generated from ./schema.json).
 *
 * The classic way (`@pulumi/pulumi/provider`'s `construct`): the engine sends the inputs and the
 * resource options; this points the Pulumi Node.js runtime of this process at the engine's
 * resource monitor, calls the same component constructor a TypeScript program calls (so the same
 * validation, `components/serviceArgs.ts`, with the same messages), waits until every child is
 * registered, and answers with the component's URN and outputs.
 *
 * It is a bundle of its own (`pulumi-resource-bluegreen-components.js`), loaded on the first
 * Construct only: it holds the Pulumi SDK and the docker and kubernetes SDKs, which the switch's
 * path (every `up` of every program) never parses.
 *
 * Mirrors `Server.construct` of `@pulumi/pulumi/provider/server.js` (3.259), which the SDK does not
 * export; the parts it uses (runtime settings, input deserialization, property serialization) are
 * the SDK's own.
 */
import * as pulumi from "@pulumi/pulumi";
import * as docker from "../../components/docker";
import * as kubernetes from "../../components/kubernetes";
import type { Constructed } from "../shared/grpcProvider";
import schema from "./schema.json";

/* eslint-disable @typescript-eslint/no-require-imports */
const settings = require("@pulumi/pulumi/runtime/settings");
const rpc = require("@pulumi/pulumi/runtime/rpc");
const localState = require("@pulumi/pulumi/runtime/state");
const config = require("@pulumi/pulumi/runtime/config");
const resource = require("@pulumi/pulumi/resource");
const { deserializeInputs } = require("@pulumi/pulumi/provider/server");
/* eslint-enable @typescript-eslint/no-require-imports */

type Component = pulumi.ComponentResource & Record<string, unknown>;

/** The components this plugin constructs, by type token; each returns the outputs its schema lists. */
export const COMPONENTS: Record<string, (name: string, args: any, opts: pulumi.ComponentResourceOptions) => Component> = {
    [docker.DOCKER_SERVICE_TYPE]: (name, args, opts) => new docker.BlueGreenService(name, args, opts) as unknown as Component,
    [kubernetes.KUBERNETES_SERVICE_TYPE]: (name, args, opts) => new kubernetes.BlueGreenService(name, args, opts) as unknown as Component,
};

/** A provider reference from the request, as a provider resource of this runtime. */
function providerOf(ref: string): pulumi.ProviderResource {
    const [urn] = resource.parseResourceReference(ref);
    const type = (urn.split("::")[2] ?? "").split("$").pop() ?? "";
    const pkg = type.split(":")[2] ?? "";
    const registered = rpc.getResourcePackage(pkg, "");
    if (registered) return registered.constructProvider(urn.split("::")[3], type, urn);
    return new resource.DependencyProviderResource(ref);
}

/** `{ a: 1, "b.c": 2 }` of inputs with Outputs in them: awaited to plain values when all are known. */
function optionsOf(req: any): pulumi.ComponentResourceOptions {
    const providers: Record<string, pulumi.ProviderResource> = {};
    req.getProvidersMap()?.forEach((ref: string, pkg: string) => { providers[pkg] = providerOf(ref); });
    const aliases: pulumi.Input<pulumi.Alias | string>[] = [];
    for (const a of req.getAliasesList()) {
        if (a.hasUrn()) aliases.push(a.getUrn());
        else if (a.hasSpec()) {
            const s = a.getSpec();
            aliases.push({
                ...(s.getName() ? { name: s.getName() } : {}),
                ...(s.getProject() ? { project: s.getProject() } : {}),
                ...(s.getStack() ? { stack: s.getStack() } : {}),
                ...(s.hasParenturn() ? { parent: s.getParenturn() } : s.getNoparent() ? { parent: pulumi.rootStackResource } : {}),
            });
        }
    }
    return {
        aliases,
        dependsOn: req.getDependenciesList().map((urn: string) => new resource.DependencyResource(urn)),
        protect: req.getProtect(),
        providers,
        parent: req.getParent() ? new resource.DependencyResource(req.getParent()) : undefined,
        ignoreChanges: req.getIgnorechangesList(),
        retainOnDelete: req.getRetainondelete(),
        ...(req.getDeletedwith() ? { deletedWith: providerOf(req.getDeletedwith()) } : {}),
    };
}

/** Declares the component one `Construct` request (`pulumirpc.ConstructRequest`) asks for. */
export async function construct(req: any, engineAddress: string): Promise<Constructed> {
    return localState.withLocalStorage(async () => {
        const type: string = req.getType();
        const name: string = req.getName();
        const make = COMPONENTS[type];
        if (!make) throw new Error(`the bluegreen provider has no component ${type}; it has ${Object.keys(COMPONENTS).join(" and ")}`);
        if (!engineAddress) throw new Error("the bluegreen provider was started without the engine's address");
        settings.resetOptions(req.getProject(), req.getStack(), req.getParallel(), engineAddress, req.getMonitorendpoint(), req.getDryrun(), req.getOrganization());
        await settings.awaitFeatureSupport();
        const cfg: Record<string, string> = {};
        req.getConfigMap()?.forEach((v: string, k: string) => { cfg[k] = v; });
        config.setAllConfig(cfg, req.getConfigsecretkeysList());
        const inputs = await deserializeInputs(req.getInputs(), req.getInputdependenciesMap());
        const created = make(name, inputs, optionsOf(req));
        const state: Record<string, unknown> = {};
        for (const k of Object.keys((schema.resources as Record<string, { properties: object }>)[type].properties)) state[k] = created[k];
        const urn: string = await (created.urn as any).promise();
        const [serialized, deps] = await rpc.serializeResourceProperties(`construct(${type}, ${name})`, state);
        const stateDependencies: Record<string, string[]> = {};
        for (const [key, resources] of deps as Map<string, Set<pulumi.Resource>>) {
            stateDependencies[key] = await Promise.all([...resources].map((r) => (r.urn as any).promise()));
        }
        await settings.waitForRPCs();
        // Plain values: the response is made by the plugin's gRPC server, whose protobuf classes it checks.
        return { urn, state: serialized, stateDependencies };
    });
}
