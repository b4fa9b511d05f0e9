/** The demo images the tests run, checked against this checkout's `demo/app.py`. */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { ROOT } from "./toolchain";

/**
 * Throws unless `bluegreen/demo:1.0.0` and `:2.0.0` were built from this `demo/app.py` (the set-up
 * labels them with its hash): an image from another checkout has no HTTP/2, for instance.
 */
export function expectCurrentDemoImages(): void {
    const hash = createHash("sha256").update(fs.readFileSync(path.join(ROOT, "demo/app.py"))).digest("hex").slice(0, 16);
    for (const img of ["bluegreen/demo:1.0.0", "bluegreen/demo:2.0.0"]) {
        const label = execFileSync("docker", ["image", "inspect", "-f", '{{index .Config.Labels "bluegreen.app"}}', img], { encoding: "utf8" }).trim();
        if (label !== hash) throw new Error(`${img} was built from another demo/app.py (${label}, this one is ${hash}); run \`bash scripts/setup.sh --only images\``);
    }
}
