// The set-up's choices, as a pure function of what scripts/setup.sh probed. Plain ES module
// with no dependencies, so that any Node ≥ 18 runs it before `npm ci` has run.
//
//   node scripts/setupPlan.mjs '<probes as JSON>'
//
// prints one `piece way` line per piece on stdout (what setup.sh acts on) and one human line per
// piece on stderr ("[setup] plan: images/nginx: pull nginx:1.29.3 (a registry answered)").
// Exit 1 when a piece cannot be had on this machine; the lines say what to install instead.

import { realpathSync } from "node:fs";
import { pathToFileURL } from "node:url";

/**
 * @typedef {{ module: string, version: string, cached: boolean, failed: string | null }} ProviderBuild
 *   A provider plugin whose real source the Go module proxy serves (only kubernetes): the module
 *   and version built, whether a build of them is in the set-up's cache, and why the last build
 *   here failed (null if none failed).
 * @typedef {{ name: string, version: string, real: "cache" | "user" | null, standin: "current" | "stale" | null, build?: ProviderBuild | null }} ProviderProbe
 * @typedef {{
 *   os: string,
 *   root: boolean,
 *   ci: boolean,
 *   flags: { installDocker: boolean, registry: boolean, images: "auto" | "online" | "offline" },
 *   tools: { go: boolean, apt: boolean, dockerd: boolean, dockerRegistry: boolean, testhostMissing?: string[] },
 *   docker: { answers: boolean, mirror: boolean },
 *   pulumi: { sdk: string, installed: string | null, built: boolean },
 *   yamlHost?: { version: string, installed: boolean, cached: boolean },
 *   providers: ProviderProbe[],
 *   images: {
 *     pins: { nginx: string, traefik: string, python: string },
 *     present: { nginx: boolean, traefik: boolean, demo: boolean },
 *     pull: "ok" | "failed" | "not-probed",
 *     pullDetail?: string,
 *     cache: { rootfs: boolean, traefikBinary: boolean },
 *     traefikVersion: string,
 *   },
 * }} Probes
 * @typedef {{ piece: string, way: string, why: string, root?: string, go?: boolean, error?: boolean }} Decision
 */

/** The ways that run a root-only command, and why they need it (said before they run). */
const ROOT_NEEDS = {
    "install-dockerd": "apt-get install docker.io, then start dockerd",
    "start-dockerd": "start dockerd",
    debootstrap: "apt-get install debootstrap, then debootstrap a Debian root file system",
    "install-registry": "apt-get install docker-registry",
    "registry-mirror": "add the local registry to the engine's registry mirrors (/etc/docker/daemon.json, SIGHUP dockerd)",
};

/** @param {Probes} p @returns {Decision} */
function dockerEngine(p) {
    if (p.docker.answers) return { piece: "docker", way: "running", why: "an engine answers `docker info`" };
    const fix = p.os === "darwin"
        ? "start Docker Desktop"
        : "start your Docker engine, or rerun with --install-docker (Debian, root) to install and start dockerd";
    if (!p.flags.installDocker) return { piece: "docker", way: "error", why: `no engine answers \`docker info\`: ${fix}`, error: true };
    if (p.tools.dockerd) return { piece: "docker", way: "start-dockerd", why: "no engine answers and --install-docker: starting the installed dockerd" };
    if (p.tools.apt) return { piece: "docker", way: "install-dockerd", why: "no engine answers, no dockerd installed, and --install-docker: installing Debian's docker.io" };
    return { piece: "docker", way: "error", why: `no engine answers and there is no apt-get to install one: ${fix}`, error: true };
}

/** @param {Probes} p @returns {Decision} */
function pulumiCli(p) {
    const v = p.pulumi.sdk;
    if (p.pulumi.installed) return { piece: "pulumi", way: "installed", why: `the installed pulumi v${p.pulumi.installed} is at least @pulumi/pulumi v${v}` };
    if (p.pulumi.built) return { piece: "pulumi", way: "cached", why: `no installed pulumi ≥ v${v}; the one built here before` };
    if (p.tools.go) return { piece: "pulumi", way: "build", why: `no installed pulumi ≥ v${v}: building v${v} from Go sources (10-20 min on 2 cores, once)`, go: true };
    return { piece: "pulumi", way: "error", why: `no installed pulumi ≥ v${v} and no Go to build it: install the Pulumi CLI (v${v} or newer)`, error: true };
}

/**
 * Pulumi YAML's language host: the installed CLI's own (its release archive ships one), else the
 * one built here before, else a Go build of github.com/pulumi/pulumi-yaml. Without Go it is not
 * built: an error in CI (the YAML example's test must run there), else a line saying what to do.
 * @param {Probes} p @returns {Decision}
 */
function yamlHost(p) {
    const piece = "yaml-host";
    const y = p.yamlHost ?? { version: "?", installed: false, cached: false };
    if (p.pulumi.installed && y.installed) return { piece, way: "installed", why: "the installed pulumi ships pulumi-language-yaml" };
    if (y.cached) return { piece, way: "cached", why: `pulumi-language-yaml v${y.version}, built here before` };
    if (p.tools.go) return { piece, way: "build", go: true, why: `pulumi-language-yaml v${y.version}, built from Go sources (github.com/pulumi/pulumi-yaml, about 3 min on 2 cores, once)` };
    if (p.ci) return { piece, way: "error", error: true, why: `no pulumi-language-yaml and no Go to build v${y.version}: CI runs the YAML example's test, install Go` };
    return { piece, way: "skip", why: "no pulumi-language-yaml and no Go to build it: Pulumi YAML programs (examples/yaml-service) cannot run; install the Pulumi CLI from its release archive, which ships it" };
}

/** How long the Go build of a real provider plugin takes, said on its line (as the CLI's). */
export const PROVIDER_BUILD_TIME = "10-20 min on 2 cores and about 170 MB, once";

/**
 * A provider plugin. The real one first: installed (the set-up's Pulumi home, or ~/.pulumi), else
 * `pulumi plugin install`. Then, for docker and command, the project's stand-in. For kubernetes
 * (`pr.build`: its real source is served by the Go module proxy), a Go build of the real plugin,
 * cached; there is no stand-in: a machine that can neither download nor build it cannot run the
 * Kubernetes flavour (the Docker flavour does not need it), and CI, which runs the Kubernetes tests,
 * fails its set-up there (setup.sh, after trying).
 * @param {ProviderProbe} pr @param {Probes} p @returns {Decision}
 */
function provider(pr, p) {
    const piece = `provider/${pr.name}`;
    if (pr.real === "cache") return { piece, way: "real", why: `the real plugin v${pr.version} is installed` };
    if (pr.real === "user") return { piece, way: "link-user", why: `the real plugin v${pr.version} is in ~/.pulumi/plugins` };
    const b = pr.build ?? null;
    if (b) {
        const source = `${b.module}@${b.version}`;
        if (b.cached) {
            return { piece, way: "install-built", why: `the real plugin v${pr.version}, built here before from ${source} (cached), installed into the set-up's Pulumi home` };
        }
        const otherwise = p.ci
            ? "the set-up fails if neither works (CI runs the Kubernetes tests on the real plugin)"
            : `the Kubernetes flavour cannot run here if neither works (the Docker flavour does not need the ${pr.name} plugin)`;
        // A build that failed here is not retried on every set-up, except in CI, where the Kubernetes
        // tests must run on the real plugin wherever Go is: there it is always tried again.
        if (p.tools.go && (p.ci || !b.failed)) {
            return { piece, way: "install-or-build", why: `pulumi plugin install resource ${pr.name} ${pr.version}; if that fails the real plugin built from Go sources, ${source} (${PROVIDER_BUILD_TIME}); ${otherwise}` };
        }
        const noBuild = p.tools.go
            ? `the Go build of ${source} failed here before (${b.failed}); it is tried again in CI, or after \`rm -rf\` of its cache folder`
            : `no Go to build the real plugin from ${source}`;
        return { piece, way: "install-real", why: `pulumi plugin install resource ${pr.name} ${pr.version} (${noBuild}); ${otherwise}` };
    }
    if (pr.standin === "current") return { piece, way: "standin", why: "the project's stand-in, installed and current (the real plugin could not be installed here)" };
    if (pr.standin === "stale") return { piece, way: "rebuild-standin", why: "the project's stand-in, rebuilt: its sources changed" };
    return { piece, way: "install", why: `pulumi plugin install resource ${pr.name} ${pr.version}; the project's stand-in if that fails` };
}

/**
 * Online or offline for the images. Forced by BLUEGREEN_IMAGES; else online when the pinned
 * official image could be pulled. Present images are kept unless a way is forced.
 * @param {Probes} p @returns {"online" | "offline" | null}
 */
export function imageSource(p) {
    if (p.flags.images !== "auto") return p.flags.images;
    const missing = !p.images.present.nginx || !p.images.present.traefik || !p.images.present.demo;
    if (!missing) return null;
    return p.images.pull === "ok" ? "online" : "offline";
}

/** @param {Probes} p @returns {Decision[]} */
function images(p) {
    const src = imageSource(p);
    const i = p.images;
    const forced = p.flags.images !== "auto";
    const because = forced
        ? `BLUEGREEN_IMAGES=${p.flags.images}`
        : i.pull === "ok" ? `the engine pulled ${i.pins.nginx}` : `no registry answers (docker pull ${i.pins.nginx}: ${i.pullDetail || "failed"})`;
    /** @type {Decision[]} */
    const out = [];
    const keep = (piece) => !forced && i.present[piece];
    // The offline root file system is shared by every offline image: debootstrap runs once.
    const rootfs = i.cache.rootfs
        ? { }
        : (p.root && p.tools.apt)
            ? { root: ROOT_NEEDS.debootstrap }
            : { error: true, why: "the offline build needs root and apt-get (debootstrap)" };
    const offline = (piece, way, what) => {
        const d = { piece: `images/${piece}`, way, why: `${what} (${because})`, ...("root" in rootfs ? { root: rootfs.root } : {}) };
        if (rootfs.error) return { ...d, way: "error", error: true, why: `${because}, and ${rootfs.why}: make a registry reachable, or run the set-up as root on Debian` };
        return d;
    };

    if (keep("nginx")) out.push({ piece: "images/nginx", way: "present", why: "already on the engine" });
    else if (src === "online") out.push({ piece: "images/nginx", way: "pull", why: `the official ${i.pins.nginx}, pulled (${because})` });
    else out.push(offline("nginx", "offline", "nginx from Debian packages (debootstrap + docker import)"));

    if (keep("traefik")) out.push({ piece: "images/traefik", way: "present", why: "already on the engine" });
    else if (src === "online") out.push({ piece: "images/traefik", way: "pull", why: `the official ${i.pins.traefik}, pulled (${because})` });
    else {
        const d = offline("traefik", "offline", `Traefik v${i.traefikVersion} ${i.cache.traefikBinary ? "(binary built before)" : "from Go sources (5-10 min on 2 cores, once)"} on the Debian image`);
        if (!d.error && !i.cache.traefikBinary) {
            if (!p.tools.go) out.push({ ...d, way: "error", error: true, why: `${because}, and building Traefik offline needs Go: make a registry reachable, or install Go` });
            else out.push({ ...d, go: true });
        } else out.push(d);
    }

    if (keep("demo")) out.push({ piece: "images/demo", way: "present", why: "already on the engine, built from the current demo/app.py" });
    else if (src === "online") out.push({ piece: "images/demo", way: "dockerfile", why: `built from demo/Dockerfile on the official ${i.pins.python} (${because})` });
    else out.push(offline("demo", "offline", "demo/app.py on the Debian image"));
    return out;
}

/** @param {Probes} p @returns {Decision} */
function registry(p) {
    const piece = "registry";
    if (!p.flags.registry) return { piece, way: "skip", why: "not needed (CI and --registry start a local mirror for the online-path test)" };
    const what = "a local registry on loopback as the engine's registry mirror, holding the offline images under the official names";
    const mirror = p.docker.mirror ? {} : { root: ROOT_NEEDS["registry-mirror"] };
    if (p.tools.dockerRegistry) return { piece, way: "start", why: what, ...mirror };
    if (p.root && p.tools.apt) {
        return { piece, way: "install", why: `Debian's docker-registry: ${what}`, root: [ROOT_NEEDS["install-registry"], mirror.root].filter(Boolean).join("; ") };
    }
    return { piece, way: "error", why: "--registry needs Debian's docker-registry (apt-get, root)", error: true };
}

/**
 * The remote-engine test's tools (iproute2, iptables, util-linux: `tools.testhostMissing` lists the
 * Debian packages of the missing ones). That test needs root, so without root and outside CI it is
 * skipped and nothing is installed for it; in CI a missing tool that cannot be installed is an error.
 * @param {Probes} p @returns {Decision}
 */
function testhostTools(p) {
    const piece = "testhost-tools";
    const missing = p.tools.testhostMissing ?? [];
    if (!missing.length) return { piece, way: "present", why: "ip, iptables and nsenter are installed (the remote-engine test's test host)" };
    const pkgs = missing.join(" ");
    if (p.root && p.tools.apt) return { piece, way: "install", why: `Debian's ${pkgs}, for the remote-engine test's test host`, root: `apt-get install ${pkgs}` };
    if (p.ci) return { piece, way: "error", why: `the remote-engine test needs ${pkgs}, which cannot be installed here (no root or no apt-get): CI runs as root on Debian`, error: true };
    return { piece, way: "skip", why: `${pkgs} missing: nothing installed; the remote-engine test (which also needs root) is skipped without them` };
}

/**
 * Every piece's way, in the order the set-up acts on them. Pure: same probes, same plan.
 * A way that needs root says so in `root`; without root it becomes an error that names the fix.
 * @param {Probes} p
 * @returns {Decision[]}
 */
export function plan(p) {
    const d = dockerEngine(p);
    if (d.way in ROOT_NEEDS) d.root = ROOT_NEEDS[d.way];
    const all = [d, testhostTools(p), pulumiCli(p), yamlHost(p), ...p.providers.map((pr) => provider(pr, p)), ...images(p), registry(p)];
    return all.map((x) => (x.root && !p.root && !x.error
        ? { ...x, way: "error", error: true, why: `${x.why}; this needs root (${x.root}) and the set-up is not running as root` }
        : x));
}

/** The line setup.sh prints for a decision. */
export function describe(d) {
    const tags = [d.root && !d.error ? "needs root" : "", d.go && !d.error ? "needs Go" : ""].filter(Boolean);
    return `${d.piece}: ${d.way}${tags.length ? ` [${tags.join(", ")}]` : ""} (${d.why})`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
    const decisions = plan(JSON.parse(process.argv[2]));
    for (const d of decisions) {
        process.stderr.write(`[setup] plan: ${describe(d)}\n`);
        process.stdout.write(`${d.piece} ${d.way}\n`);
    }
    if (decisions.some((d) => d.error)) process.exit(1);
}
