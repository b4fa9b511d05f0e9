// Builds a stand-in provider plugin into a tarball that `pulumi plugin install resource NAME
// VERSION -f TARBALL` accepts: one bundled script (esbuild) and a `pulumi-resource-NAME`
// launcher that runs it with the Node.js that built it (or the `node` on PATH).
//
//   node providers/build.mjs docker 5.2.0 OUT_DIR     → OUT_DIR/pulumi-resource-docker-v5.2.0.tgz
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const [name, version, outDir] = process.argv.slice(2);
if (!name || !version || !outDir) {
    console.error("usage: node providers/build.mjs NAME VERSION OUT_DIR");
    process.exit(2);
}
const here = dirname(fileURLToPath(import.meta.url));
const stage = mkdtempSync(join(tmpdir(), `bluegreen-${name}-`));
await build({
    entryPoints: [join(here, name, "main.ts")],
    outfile: join(stage, `pulumi-resource-${name}.js`),
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    minify: false,
    sourcemap: "inline",
    logLevel: "warning",
    // ssh2's optional native speed-ups: it runs without them.
    external: ["cpu-features", "*.node"],
    define: { [`BLUEGREEN_${name.toUpperCase()}_VERSION`]: JSON.stringify(version) },
});
const launcher = join(stage, `pulumi-resource-${name}`);
writeFileSync(launcher, `#!/bin/sh
# bluegreen's stand-in ${name} provider plugin v${version} (see providers/README.md in the project).
node=${JSON.stringify(process.execPath)}
[ -x "$node" ] || node=node
exec "$node" --enable-source-maps "$(dirname "$0")/pulumi-resource-${name}.js" "$@"
`);
chmodSync(launcher, 0o755);
mkdirSync(resolve(outDir), { recursive: true });
const tarball = resolve(outDir, `pulumi-resource-${name}-v${version}.tgz`);
execFileSync("tar", ["-C", stage, "-czf", tarball, `pulumi-resource-${name}`, `pulumi-resource-${name}.js`]);
rmSync(stage, { recursive: true, force: true });
console.log(tarball);
