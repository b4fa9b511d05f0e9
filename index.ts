// The demo program: one blue/green service, configured by the stack (Pulumi.<stack>.yaml).
// It takes the SDK's modules by path, not its index, and starts the way stacks/fastStart.ts
// explains: the switch's speed depends on it.
import { getProject, getStack } from "@pulumi/pulumi/metadata";
import { ProviderResource } from "@pulumi/pulumi/resource";
import { readSettings } from "./stacks/config";
import { afterOneTurn, deferUnusedSdkModules, withoutStackTraces } from "./stacks/fastStart";
import { dockerServiceArgs, kubernetesServiceArgs } from "./stacks/service";

deferUnusedSdkModules();

// 1. Settings: every key validated before anything is declared; a bad one names the key.
const settings = readSettings();
const name = `${getProject()}-${getStack()}`;

// The project's own plugin (providers/bluegreen/) runs the switch and the readiness gate. Declared
// first, so that the engine starts it while the rest of the program loads.
class BluegreenProvider extends ProviderResource {
    constructor(n: string) {
        super("bluegreen", n, {});
    }
}
const bluegreen = new BluegreenProvider(`${name}-bluegreen`);

// 2. The service, on the configured platform (only that platform's SDK is loaded).
// 3. Its outputs are the stack's.
export = afterOneTurn(() => withoutStackTraces(() => {
    if (settings.platform === "kubernetes") {
        const { BlueGreenService } = require("./components/kubernetes/service") as typeof import("./components/kubernetes/service");
        const service = new BlueGreenService(name, kubernetesServiceArgs(settings, name), { providers: [bluegreen] });
        return outputsOf(service);
    }
    const { BlueGreenService } = require("./components/docker/service") as typeof import("./components/docker/service");
    const service = new BlueGreenService(name, dockerServiceArgs(settings, name), { providers: [bluegreen] });
    return outputsOf(service);
}));

function outputsOf(s: import("./components/docker/service").BlueGreenService | import("./components/kubernetes/service").BlueGreenService) {
    return { activeColor: s.activeColor, idleColor: s.idleColor, url: s.url, previewUrl: s.previewUrl, blueImage: s.blueImage, greenImage: s.greenImage };
}
