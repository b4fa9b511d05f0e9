// `npm start`: brings the dev stack up on the local Docker engine with local state, no prompts,
// and prints `url` and `previewUrl`. Runs in the environment of scripts/env.sh, after the set-up
// has installed the provider plugins (the real ones, or the project's stand-ins).
//
// `npm start -- --platform kubernetes`: the same on the local cluster (scripts/cluster.sh), as
// the stack `dev-kubernetes`.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(join(root, "package.json"));
const { LocalWorkspace, PulumiCommand } = require("@pulumi/pulumi/automation");

const args = process.argv.slice(2);
const platform = args[0] === "--platform" ? args[1] : args.length ? "" : "docker";
if (platform !== "docker" && platform !== "kubernetes") {
    console.error(`usage: npm start [-- --platform docker|kubernetes]; got ${JSON.stringify(args.join(" "))}`);
    process.exit(2);
}
const kubernetes = platform === "kubernetes";
const provider = kubernetes ? "kubernetes" : "docker";

// The installed SDK's version (package.json holds a range): its plugin is the one the engine asks for.
const providerVersion = JSON.parse(readFileSync(join(root, "node_modules", "@pulumi", provider, "package.json"), "utf8")).version;
const pluginDir = join(process.env.PULUMI_HOME ?? "", "plugins", `resource-${provider}-v${providerVersion}`);
if (!existsSync(join(pluginDir, `pulumi-resource-${provider}`))) {
    console.error(`npm start needs the ${provider} provider plugin v${providerVersion} in ${pluginDir}: run \`npm run setup\`.`);
    process.exit(2);
}
const plugin = existsSync(join(pluginDir, ".bluegreen-standin")) ? `the project's stand-in (providers/${provider})` : "the real plugin";

let kubeconfig = "";
let pods = "";
if (kubernetes) {
    // The control plane is built once (about 10 minutes) and started on loopback.
    execFileSync("bash", [join(root, "scripts/setup.sh"), "--only", "kubernetes", "--kubernetes"], { stdio: "inherit" });
    execFileSync("bash", [join(root, "scripts/cluster.sh"), "up"], { stdio: "inherit" });
    const env = execFileSync("bash", [join(root, "scripts/cluster.sh"), "env"], { encoding: "utf8" });
    kubeconfig = /KUBECONFIG="([^"]+)"/.exec(env)[1];
    pods = /BLUEGREEN_CLUSTER_PODS="(\w+)"/.exec(env)?.[1] ?? "";
}

// The first `pulumi` on the PATH that scripts/env.sh set: the installed one, or the one the set-up built.
const bin = process.env.PATH.split(":").find((p) => existsSync(join(p, "pulumi")));
const pulumiCommand = await PulumiCommand.get({ root: dirname(bin), skipVersionCheck: true });
const stackName = kubernetes ? "dev-kubernetes" : "dev";
const stack = await LocalWorkspace.createOrSelectStack({ stackName, workDir: root }, { pulumiCommand });
if (kubernetes) {
    // NodePort Services: url and previewUrl are 127.0.0.1:<nodePort>, which answer from this machine.
    await stack.setAllConfig({
        "bluegreen:platform": { value: "kubernetes" }, "bluegreen:serviceType": { value: "NodePort" },
        "kubernetes:kubeconfig": { value: kubeconfig },
    });
}
console.log(`stack ${stackName}, ${provider} provider plugin v${providerVersion}: ${plugin}\n`);
const result = await stack.up({ onOutput: (s) => process.stdout.write(s) });
console.log(`\nurl:        ${result.outputs.url.value}   (live: ${result.outputs.activeColor.value})`);
console.log(`previewUrl: ${result.outputs.previewUrl.value}   (idle: ${result.outputs.idleColor.value})`);
console.log(`\nSwitch:   eval "$(npm run -s env)" && pulumi config set activeColor green --stack ${stackName} && pulumi up --stack ${stackName}`);
if (kubernetes) {
    console.log(pods === "real"
        ? "The cluster's node is real (kubelet, containerd, kube-proxy): the URLs answer. Stop it with bash scripts/cluster.sh down."
        : "The cluster's pods are KWOK's (no container runs, so the URLs do not answer): see README, \"Kubernetes\". Stop it with bash scripts/cluster.sh down.");
}
