/**
 * bluegreen's own provider plugin: serves ./provider.ts to the Pulumi engine (see providers/README.md).
 *
 * The service components (`Construct`, ./construct.ts) live in a bundle of their own beside this
 * one, loaded on the first Construct only, so the switch's path never parses the Pulumi SDK.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { serve, type Constructed } from "../shared/grpcProvider";
import { impl } from "./provider";

/** The engine's address: the first argument that is not a flag (`--logtostderr`, `-v=N`, `--tracing URL`). */
function engineAddress(args: string[]): string {
    const rest: string[] = [];
    for (let i = 0; i < args.length; i++) {
        if (args[i] === "--tracing") i++;
        else if (!args[i].startsWith("-")) rest.push(args[i]);
    }
    return rest[0] ?? "";
}

const engine = engineAddress(process.argv.slice(2));
let components: { construct(req: unknown, engine: string): Promise<Constructed> } | undefined;

/**
 * The components' bundle beside this one. In a checkout (where the launcher built this bundle
 * from providers/), it is built here on first use, and again when it is older than this bundle
 * (a source changed); the npm package ships it built.
 */
function loadComponents(): typeof components {
    const bundle = path.join(__dirname, "pulumi-resource-bluegreen-components.js");
    const builder = path.join(__dirname, "..", "..", "build.mjs");
    if (fs.existsSync(builder) && (!fs.existsSync(bundle) || fs.statSync(bundle).mtimeMs < fs.statSync(__filename).mtimeMs)) {
        execFileSync(process.execPath, [builder, "--components", "bluegreen", __dirname], { stdio: ["ignore", 2, 2] });
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(bundle);
}

serve({
    ...impl,
    construct(req) {
        components ??= loadComponents();
        return components!.construct(req, engine);
    },
}).catch((e) => {
    process.stderr.write(`${e?.stack ?? e}\n`);
    process.exit(1);
});
