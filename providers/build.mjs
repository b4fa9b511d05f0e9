// Builds a stand-in provider plugin into a tarball that `pulumi plugin install resource NAME
// VERSION -f TARBALL` accepts: one bundled script (esbuild) and a `pulumi-resource-NAME`
// launcher that runs it with the Node.js that built it (or the `node` on PATH).
//
//   node providers/build.mjs docker 5.2.0 OUT_DIR     → OUT_DIR/pulumi-resource-docker-v5.2.0.tgz
//
// The project's own plugin (providers/bluegreen/) is not installed from a tarball: its committed
// launcher (providers/bluegreen/bin/) runs this to put the bundle beside it, with the version of
// package.json, atomically (plugins may start side by side):
//
//   node providers/build.mjs --bundle bluegreen BIN_DIR → BIN_DIR/pulumi-resource-bluegreen.js
//
// The npm package ships it prebuilt (`npm pack` runs this through `npm run build`): a folder that
// a consumer installs once with `pulumi plugin install resource bluegreen VERSION -f FOLDER`, whose
// launcher runs the bundle with the `node` on PATH, so nothing is built on their machine:
//
//   node providers/build.mjs --package bluegreen OUT_DIR → OUT_DIR/pulumi-resource-bluegreen{,.js,-kube.js,-components.js}
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const bundleOnly = process.argv[2] === "--bundle";
const componentsOnly = process.argv[2] === "--components";
const forPackage = process.argv[2] === "--package";
const [name, version, outDir] = bundleOnly || componentsOnly || forPackage
    ? [process.argv[3], JSON.parse(readFileSync(join(here, "..", "package.json"), "utf8")).version, process.argv[4]]
    : process.argv.slice(2);
if (!name || !version || !outDir) {
    console.error("usage: node providers/build.mjs NAME VERSION OUT_DIR\n       node providers/build.mjs --bundle|--components NAME BIN_DIR\n       node providers/build.mjs --package NAME OUT_DIR");
    process.exit(2);
}
// The bluegreen plugin's readiness gate loads the Kubernetes client from a file of its own beside
// the plugin's (see providers/bluegreen/kubeClient.ts): written first, so that the plugin's bundle,
// whose presence the launcher checks, never exists without it.
const KUBE_CLIENT = `pulumi-resource-${name}-kube.js`;
const kubeClientApart = {
    name: "kube-client-apart",
    setup(b) {
        b.onResolve({ filter: /^\.\/kubeClient$/ }, () => ({ path: `./${KUBE_CLIENT}`, external: true }));
    },
};
const options = (entry, outfile, sourcemap, plugins) => ({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    minify: false,
    sourcemap,
    logLevel: "warning",
    // ssh2's optional native speed-ups: it runs without them.
    external: ["cpu-features", "*.node"],
    define: { [`BLUEGREEN_${name.toUpperCase()}_VERSION`]: JSON.stringify(version) },
    plugins,
});
const bundle = async (outfile, sourcemap) => {
    const kubeClient = join(here, name, "kubeClient.ts");
    const apart = existsSync(kubeClient);
    if (apart) {
        const out = join(dirname(outfile), KUBE_CLIENT);
        await build(options(kubeClient, `${out}.${process.pid}.tmp`, false, []));
        renameSync(`${out}.${process.pid}.tmp`, out);
    }
    await build(options(join(here, name, "main.ts"), outfile, sourcemap, apart ? [kubeClientApart] : []));
};
// The project's own plugin has a second bundle: the service components it constructs
// (providers/bluegreen/construct.ts), with the Pulumi SDK and the docker and kubernetes SDKs in it,
// loaded by the plugin on the first Construct only. components/version.ts reads package.json beside
// the compiled package; in the plugin the version is the bundle's own.
const componentsBundle = (outfile) => build({
    ...options(join(here, name, "construct.ts"), outfile, false, [{
        name: "plugin-version",
        setup(b) {
            b.onLoad({ filter: /components[\\/]version\.ts$/ }, () => ({
                contents: `export const PLUGIN_VERSION: string = ${JSON.stringify(version)};`, loader: "ts",
            }));
        },
    }]),
    logLevel: "error",
});
const withComponents = name === "bluegreen";
if (bundleOnly || componentsOnly) {
    // No source map: Node.js would parse it at every start, and this plugin's errors are messages.
    // The components' bundle (about 7 s to build) is built by the plugin on its first Construct
    // after a change (main.ts), not by the launcher: the switch's path never waits for it.
    const out = resolve(outDir, componentsOnly ? `pulumi-resource-${name}-components.js` : `pulumi-resource-${name}.js`);
    const tmp = `${out}.${process.pid}.tmp`;
    await (componentsOnly ? componentsBundle(tmp) : bundle(tmp, false));
    renameSync(tmp, out);
    process.exit(0);
}
if (forPackage) {
    const out = resolve(outDir);
    mkdirSync(out, { recursive: true });
    await bundle(join(out, `pulumi-resource-${name}.js`), false);
    if (withComponents) await componentsBundle(join(out, `pulumi-resource-${name}-components.js`));
    const launcher = join(out, `pulumi-resource-${name}`);
    writeFileSync(launcher, `#!/bin/sh
# The ${name} provider plugin v${version}: the service components, the switch and the readiness gate of the bluegreen package.
exec node "$(dirname "$0")/pulumi-resource-${name}.js" "$@"
`);
    chmodSync(launcher, 0o755);
    console.log(out);
    process.exit(0);
}
const stage = mkdtempSync(join(tmpdir(), `bluegreen-${name}-`));
// The source map beside the bundle, used only with BLUEGREEN_STACK_TRACES=1: parsing it at every
// start costs the plugin ~65 ms before it answers the engine.
await bundle(join(stage, `pulumi-resource-${name}.js`), "external");
const launcher = join(stage, `pulumi-resource-${name}`);
writeFileSync(launcher, `#!/bin/sh
# bluegreen's stand-in ${name} provider plugin v${version} (see providers/README.md in the project).
node=${JSON.stringify(process.execPath)}
[ -x "$node" ] || node=node
exec "$node" \${BLUEGREEN_STACK_TRACES:+--enable-source-maps} "$(dirname "$0")/pulumi-resource-${name}.js" "$@"
`);
chmodSync(launcher, 0o755);
mkdirSync(resolve(outDir), { recursive: true });
const tarball = resolve(outDir, `pulumi-resource-${name}-v${version}.tgz`);
execFileSync("tar", ["-C", stage, "-czf", tarball, `pulumi-resource-${name}`, `pulumi-resource-${name}.js`, `pulumi-resource-${name}.js.map`]);
rmSync(stage, { recursive: true, force: true });
console.log(tarball);
