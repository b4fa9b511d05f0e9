/**
 * What an end-to-end file needs from the machine beyond Docker, Node and Pulumi (root, Go, a
 * registry), checked before any of its tests is collected.
 *
 *     const missing = requirements("docker-remote.test.ts", root("..."), commands([...], "..."));
 *     describe.skipIf(missing)("...", () => { ... });
 *
 * Each check returns why it is not met, naming what is missing and how to get it, or undefined.
 * `requirements` returns the first such reason, or undefined when every check is met. Outside CI
 * it prints the reason (one line, on the file's stderr) and the file skips its tests with
 * vitest's skip, so they are counted as skipped, never as passed. In CI (CI=true) a missing
 * requirement throws instead: the file fails, since CI must have every tool (.ci/run).
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { ROOT } from "./toolchain";

/** A requirement: why it is not met on this machine, or undefined. */
export type Check = () => string | undefined;

export function requirements(file: string, ...checks: Check[]): string | undefined {
    for (const check of checks) {
        const why = check();
        if (why === undefined) continue;
        if (process.env.CI === "true") throw new Error(`${file}: ${why} (CI=true: a missing requirement fails the run, it is never skipped)`);
        console.warn(`[skipped] ${file}: ${why}`);
        return why;
    }
    return undefined;
}

const isRoot = () => process.getuid?.() === 0;

/** Root, for `what` (said in the reason). */
export const root = (what: string): Check => () => (isRoot() ? undefined : `needs root ${what}: run as root or in CI`);

function executable(file: string): boolean {
    try {
        fs.accessSync(file, fs.constants.X_OK);
        return fs.statSync(file).isFile();
    } catch {
        return false;
    }
}

/** Where `name` is, on the PATH or in the sbin folders root's PATH has; undefined when nowhere. */
export function which(name: string): string | undefined {
    const dirs = [...(process.env.PATH ?? "").split(path.delimiter), "/usr/local/sbin", "/usr/sbin", "/sbin"];
    return dirs.map((d) => path.join(d, name)).find(executable);
}

/** Every command of `names` installed; `how` says how to get the missing ones. */
export const commands = (names: string[], how: string): Check => () => {
    const missing = names.filter((n) => !which(n));
    return missing.length ? `needs ${missing.join(", ")}: ${how}` : undefined;
};

/** A value of scripts/lib.sh (the set-up's pins and paths), as the set-up computes it. */
export function lib(expr: string, env: NodeJS.ProcessEnv = process.env): string {
    return execFileSync("bash", ["-c", `source scripts/lib.sh; echo "${expr}"`], { cwd: ROOT, encoding: "utf8", env }).trim();
}

/** A GET of the Docker engine's API (the engine `docker` talks to), as curl prints it; undefined when it fails. */
function engineGet(apiPath: string): string | undefined {
    let host = process.env.DOCKER_HOST || "";
    if (!host) {
        const r = spawnSync("docker", ["context", "inspect", "-f", "{{.Endpoints.docker.Host}}"], { encoding: "utf8" });
        host = r.status === 0 ? r.stdout.trim() : "unix:///var/run/docker.sock";
    }
    const args = host.startsWith("unix://")
        ? ["--unix-socket", host.slice("unix://".length), `http://localhost${apiPath}`]
        : [`${host.replace(/^tcp:/, "http:")}${apiPath}`];
    const r = spawnSync("curl", ["-sf", "-m", "20", ...args], { encoding: "utf8" });
    return r.status === 0 ? r.stdout : undefined;
}

/**
 * The engine can pull each image: it resolves the image's manifest from the registry it pulls
 * from (its registry mirrors included), without downloading a layer.
 */
export const pullable = (images: string[], how: string): Check => () => {
    const not = images.filter((img) => !engineGet(`/distribution/${img}/json`));
    return not.length ? `needs a registry the Docker engine can pull ${not.join(", ")} from: ${how}` : undefined;
};

/**
 * The local Kubernetes cluster scripts/cluster.sh starts: the control plane and KWOK built (in
 * $K8S_BIN, with KWOK's stages) or Go to build them, and etcd (or root and apt-get, with which
 * cluster.sh installs Debian's). The real kubelet is not required: without root, cluster.sh runs
 * KWOK's pods instead.
 */
export const kubernetesCluster = (): Check => () => {
    const bin = lib("$K8S_BIN");
    const binaries = lib("${K8S_BUILT[*]}").split(" "); // what scripts/cluster.sh builds
    const stages = path.join(path.dirname(bin), "kwok-stages", "stages.yaml");
    const built = binaries.every((b) => executable(path.join(bin, b))) && fs.existsSync(stages);
    if (!built && !which("go")) {
        return `needs the Kubernetes control plane built (${bin}: ${binaries.join(", ")}, and KWOK's stages) or Go ≥ 1.24 to build it: install Go, then \`npm run setup -- --kubernetes\``;
    }
    if (!which("etcd") && !(isRoot() && which("apt-get"))) {
        return "needs etcd (Debian's etcd-server): install it (`apt-get install etcd-server` as root), or run as root on Debian, where scripts/cluster.sh installs it";
    }
    return undefined;
};
