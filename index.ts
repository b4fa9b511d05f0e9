// The SDK's index (`@pulumi/pulumi`) loads its Automation API and with it npm's Arborist, pacote,
// tar and sigstore: about 0.25 s before this program could declare anything (README,
// "Benchmark"). The modules by path carry the same classes without those; the index loads later
// with the platform's provider SDK, while the engine is already starting our plugin.
import { Config } from "@pulumi/pulumi/config";
import { getProject, getStack } from "@pulumi/pulumi/metadata";
import { ProviderResource } from "@pulumi/pulumi/resource";
import { readSettings } from "./stacks/config";
import type { StackOutputs } from "./stacks/docker";
import { deferUnusedSdkModules } from "./stacks/lazySdk";

// The platform's provider SDK loads the SDK's index, which loads its Automation API and npm's
// Arborist on every start although this program uses neither (about 0.3 s of CPU just before the
// engine can start the docker plugin): they load on first use instead (stacks/lazySdk.ts).
deferUnusedSdkModules();

// While the program declares its resources, errors carry no stack trace: the SDK records one for
// every promise it makes (hundreds per run) and ts-node maps each through source maps, about
// 0.3 s of a switch's 3 s (README, "Benchmark"). Restored at the end, so errors of the later,
// asynchronous part keep theirs. BLUEGREEN_STACK_TRACES=1 keeps them throughout, for debugging.
const stackTraceLimit = Error.stackTraceLimit;
if (!process.env.BLUEGREEN_STACK_TRACES) Error.stackTraceLimit = 0;

// Validated once, before any resource is declared: a bad value fails `pulumi preview` with a
// message naming the key, and nothing that runs is touched.
const settings = readSettings();

const prefix = `${getProject()}-${getStack()}`;

// The project's own plugin (providers/bluegreen/) runs the traffic switch (Docker) and the
// readiness gate (Kubernetes). Declared first, so the engine starts it while this program is
// still loading; as a default provider it would start only when the switch registers, at the end.
class BluegreenProvider extends ProviderResource {
    constructor(name: string) {
        super("bluegreen", name, {});
    }
}
const switchProvider = new BluegreenProvider(`${prefix}-bluegreen`);

// Only the chosen platform's module is loaded: each pulls in a large provider SDK
// (@pulumi/kubernetes alone takes longer to load than the rest of the program), and a switch
// should not pay for the platform it does not run on.
function platformStack(): StackOutputs {
    if (settings.platform === "kubernetes") {
        const { kubernetesStack } = require("./stacks/kubernetes") as typeof import("./stacks/kubernetes");
        const kube = new Config("kubernetes");
        return kubernetesStack(prefix, settings, { kubeconfig: kube.get("kubeconfig"), context: kube.get("context"), gateProvider: switchProvider });
    }
    const { dockerStack } = require("./stacks/docker") as typeof import("./stacks/docker");
    return dockerStack(prefix, settings, { dockerHost: new Config("docker").get("host"), switchProvider });
}

// Loading the platform's module blocks Node.js for a few hundred milliseconds. Waiting for the
// next turn of the event loop first lets the SDK send the provider's registration, so the engine
// starts the plugin while the module loads rather than after it.
export = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
    const out = platformStack();
    Error.stackTraceLimit = stackTraceLimit;
    return {
        activeColor: out.activeColor,
        idleColor: out.idleColor,
        url: out.url,
        previewUrl: out.previewUrl,
        blueImage: out.images.blue,
        greenImage: out.images.green,
    };
});
