// `npm start`: brings the dev stack up on the local Docker engine with local state, no prompts,
// and prints `url` and `previewUrl`. Runs in the environment of scripts/env.sh, after the set-up
// has installed the docker provider plugin (the real one, or the project's stand-in).
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(join(root, "package.json"));
const { LocalWorkspace, PulumiCommand } = require("@pulumi/pulumi/automation");

const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const dockerVersion = pkg.dependencies["@pulumi/docker"];
const pluginDir = join(process.env.PULUMI_HOME ?? "", "plugins", `resource-docker-v${dockerVersion}`);
if (!existsSync(join(pluginDir, "pulumi-resource-docker"))) {
    console.error(`npm start needs the docker provider plugin v${dockerVersion} in ${pluginDir}: run \`npm run setup\`.`);
    process.exit(2);
}
const plugin = existsSync(join(pluginDir, ".bluegreen-standin")) ? "the project's stand-in (providers/docker)" : "the real plugin";

// The first `pulumi` on the PATH that scripts/env.sh set: the installed one, or the one the set-up built.
const bin = process.env.PATH.split(":").find((p) => existsSync(join(p, "pulumi")));
const pulumiCommand = await PulumiCommand.get({ root: dirname(bin), skipVersionCheck: true });
const stack = await LocalWorkspace.createOrSelectStack({ stackName: "dev", workDir: root }, { pulumiCommand });
console.log(`stack dev, docker provider plugin v${dockerVersion}: ${plugin}\n`);
const result = await stack.up({ onOutput: (s) => process.stdout.write(s) });
console.log(`\nurl:        ${result.outputs.url.value}   (live: ${result.outputs.activeColor.value})`);
console.log(`previewUrl: ${result.outputs.previewUrl.value}   (idle: ${result.outputs.idleColor.value})`);
console.log("\nSwitch:   eval \"$(npm run -s env)\" && pulumi config set activeColor green && pulumi up");
