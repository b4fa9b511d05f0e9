// `npm start`: brings the dev stack up on the local Docker engine with local state, no prompts,
// and prints `url` and `previewUrl`. Runs in the environment of scripts/env.sh.
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(join(root, "package.json"));
const { LocalWorkspace, PulumiCommand } = require("@pulumi/pulumi/automation");

const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const dockerVersion = pkg.dependencies["@pulumi/docker"];
const plugin = join(process.env.PULUMI_HOME ?? "", "plugins", `resource-docker-v${dockerVersion}`, "pulumi-resource-docker");
if (!existsSync(plugin)) {
    console.error(
        `npm start needs the Pulumi docker provider plugin v${dockerVersion} (${plugin}), which the set-up could not build:\n` +
        "the Go module proxy reachable here refuses its module. See README, \"Known limits\".\n" +
        "Everything else is in place: `npm test` exercises the traffic switch against the real Docker engine.",
    );
    process.exit(2);
}

const bin = process.env.PATH.split(":").find((p) => existsSync(join(p, "pulumi")) && p.includes("pulumi-v"));
const pulumiCommand = await PulumiCommand.get({ root: dirname(bin), skipVersionCheck: true });
const stack = await LocalWorkspace.createOrSelectStack({ stackName: "dev", workDir: root }, { pulumiCommand });
const result = await stack.up({ onOutput: (s) => process.stdout.write(s) });
console.log(`\nurl:        ${result.outputs.url.value}   (live: ${result.outputs.activeColor.value})`);
console.log(`previewUrl: ${result.outputs.previewUrl.value}   (idle: ${result.outputs.idleColor.value})`);
