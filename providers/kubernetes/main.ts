/**
 * The project's stand-in `kubernetes` provider plugin: what `@pulumi/kubernetes` needs from the
 * real plugin for this program's resources (Secret, Deployment, Service), with the real plugin's
 * behaviour, for machines where the real plugin cannot be installed. It answers to the version of
 * `@pulumi/kubernetes` it was built for (`BLUEGREEN_KUBERNETES_VERSION`, set by the build), and
 * refuses anything it does not implement.
 */
import { serve, type ProviderImpl } from "../shared/grpcProvider";
import { connect, type Cluster } from "./client";
import { check, checkConfig, diff } from "./plan";
import { createResource, deleteResource, readResource, updateResource } from "./resources";
import { TYPES } from "./schema";
import { stripSecrets } from "./values";

declare const BLUEGREEN_KUBERNETES_VERSION: string;

let cluster: Cluster | undefined;
let clusterError: Error | undefined;

/** The configured cluster, or the reason there is none (an unusable kubeconfig fails the first call that needs it). */
function theCluster(): Cluster {
    if (cluster) return cluster;
    throw new Error(`configured Kubernetes cluster is unreachable: ${clusterError?.message ?? "the provider was not configured"}`);
}

function unsupported(type: string): Error {
    return new Error(`the stand-in kubernetes provider does not implement resource type ${type}; it implements ${TYPES.join(", ")}`);
}

const impl: ProviderImpl = {
    name: "kubernetes",
    version: typeof BLUEGREEN_KUBERNETES_VERSION === "string" ? BLUEGREEN_KUBERNETES_VERSION : "0.0.0",
    // Secret content stays secret end to end: the provider marks `data`/`stringData` itself.
    acceptSecrets: true,

    checkConfig: (news) => checkConfig(news),

    configure(config) {
        const c = stripSecrets(config);
        const str = (v: unknown) => (typeof v === "string" && v !== "" ? v : undefined);
        try {
            cluster = connect(str(c.kubeconfig), str(c.context));
            clusterError = undefined;
        } catch (e) {
            cluster = undefined;
            clusterError = e as Error;
        }
    },

    check: (type, name, olds, news) => check(type, name, olds, news, { defaultNamespace: cluster?.defaultNamespace ?? "default" }),

    diff: (type, _id, olds, news) => diff(type, olds, news),

    async create(type, name, inputs, preview, timeout) {
        if (!TYPES.includes(type)) throw unsupported(type);
        if (preview && !cluster) return { id: "", outs: inputs }; // as the real provider: a preview without a cluster shows the inputs
        return createResource(theCluster(), type, name, inputs, preview, timeout);
    },

    async read(type, id, outs, inputs) {
        if (!TYPES.includes(type)) throw unsupported(type);
        return readResource(theCluster(), type, id, outs, inputs);
    },

    async update(type, id, olds, news, preview, timeout) {
        if (!TYPES.includes(type)) throw unsupported(type);
        if (preview && !cluster) return news;
        return updateResource(theCluster(), type, id, olds, news, preview, timeout);
    },

    async delete(type, id, outs, timeout) {
        if (!TYPES.includes(type)) throw unsupported(type);
        return deleteResource(theCluster(), type, id, outs, timeout);
    },
};

serve(impl).catch((e) => {
    process.stderr.write(`${e?.stack ?? e}\n`);
    process.exit(1);
});
