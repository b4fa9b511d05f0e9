import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
// @ts-expect-error: a plain ES module with JSDoc types (it runs before `npm ci`, on any Node)
import { describe as line, plan } from "../../scripts/setupPlan.mjs";

type Decision = { piece: string; way: string; why: string; root?: string; go?: boolean; error?: boolean };
type Probes = Record<string, any>;

/** A laptop with Docker, Node and Pulumi, where a registry answers and nothing is built yet. */
function laptop(): Probes {
    return {
        os: "darwin",
        root: false,
        ci: false,
        flags: { installDocker: false, registry: false, images: "auto" },
        tools: { go: false, apt: false, dockerd: false, dockerRegistry: false },
        docker: { answers: true, mirror: false },
        pulumi: { sdk: "3.259.0", installed: "3.260.1", built: false },
        yamlHost: { version: "1.25.0", installed: true, cached: false },
        providers: [
            { name: "docker", version: "5.2.0", real: "user", standin: null },
            { name: "kubernetes", version: "4.34.2", real: "user", standin: null },
        ],
        images: {
            pins: { nginx: "nginx:1.29.3", traefik: "traefik:v3.6.12", python: "python:3.12.12-slim" },
            present: { nginx: false, traefik: false, demo: false },
            pull: "ok",
            cache: { rootfs: false, traefikBinary: false },
            traefikVersion: "3.6.12",
        },
    };
}

/** A Debian build machine as root with no registry, no pulumi and nothing cached (this one, cold). */
function buildHost(): Probes {
    const p = laptop();
    return {
        ...p,
        os: "linux",
        root: true,
        tools: { go: true, apt: true, dockerd: true, dockerRegistry: false },
        docker: { answers: false, mirror: false },
        flags: { installDocker: true, registry: true, images: "auto" },
        pulumi: { sdk: "3.259.0", installed: null, built: false },
        yamlHost: { version: "1.25.0", installed: false, cached: false },
        providers: [
            { name: "docker", version: "5.2.0", real: null, standin: null },
            { name: "kubernetes", version: "4.34.2", real: null, standin: null, build: k8sBuild() },
        ],
        images: { ...p.images, pull: "failed", pullDetail: "dial tcp: lookup registry: no such host" },
    };
}

/** The kubernetes plugin's Go source, as setup.sh probes it: served, not built here yet. */
function k8sBuild(over: Record<string, unknown> = {}) {
    return { module: "github.com/pulumi/pulumi-kubernetes/provider/v4", version: "v4.0.0-20260115033456-f47bc2d6f199", cached: false, failed: null, ...over };
}
/** Probes with only the kubernetes provider, as given. */
const k8s = (over: Record<string, unknown>) => ({ providers: [{ name: "kubernetes", version: "4.34.2", real: null, standin: null, build: k8sBuild(), ...over }] });

/** Applies dotted-path overrides to a copy of probes. */
function withProbes(base: Probes, overrides: Record<string, unknown>): Probes {
    const p = structuredClone(base);
    for (const [key, value] of Object.entries(overrides)) {
        const keys = key.split(".");
        let o = p;
        for (const k of keys.slice(0, -1)) o = o[k];
        o[keys[keys.length - 1]] = value;
    }
    return p;
}

/** Asserts that a decision runs nothing as root, builds nothing with Go, and is no error. */
function expectNoRootNoGo(d: Decision) {
    expect({ piece: d.piece, error: !!d.error, root: d.root ?? null, go: !!d.go }).toEqual({ piece: d.piece, error: false, root: null, go: false });
}

const ways = (p: Probes) => Object.fromEntries((plan(p) as Decision[]).map((d) => [d.piece, d.way]));
const byPiece = (p: Probes, piece: string) => (plan(p) as Decision[]).find((d) => d.piece === piece)!;

describe("the set-up's plan, a pure function of the probes", () => {
    it.each([
        // [case, base, overrides, expected ways of the pieces named]
        ["a laptop with Docker and Pulumi, where a registry answers, pulls the official images and builds nothing",
            laptop, {}, { docker: "running", pulumi: "installed", "provider/docker": "link-user", "images/nginx": "pull", "images/traefik": "pull", "images/demo": "dockerfile", registry: "skip" }],
        ["present images are kept, whatever the registry says",
            laptop, { "images.present": { nginx: true, traefik: true, demo: true }, "images.pull": "not-probed" }, { "images/nginx": "present", "images/traefik": "present", "images/demo": "present" }],
        ["only the missing piece is fetched",
            laptop, { "images.present": { nginx: true, traefik: false, demo: true } }, { "images/nginx": "present", "images/traefik": "pull", "images/demo": "present" }],
        ["BLUEGREEN_IMAGES=online replaces present images by the official ones",
            laptop, { "images.present": { nginx: true, traefik: true, demo: true }, "flags.images": "online" }, { "images/nginx": "pull", "images/traefik": "pull", "images/demo": "dockerfile" }],
        ["a cold Debian build host as root without a registry builds everything offline",
            buildHost, {}, { docker: "start-dockerd", pulumi: "build", "provider/docker": "install", "provider/kubernetes": "install-or-build", "images/nginx": "offline", "images/traefik": "offline", "images/demo": "offline", registry: "install" }],
        ["without dockerd installed, --install-docker installs docker.io",
            buildHost, { "tools.dockerd": false }, { docker: "install-dockerd" }],
        ["BLUEGREEN_IMAGES=offline builds offline even where a registry answers",
            buildHost, { "images.pull": "ok", "flags.images": "offline", "docker.answers": true }, { "images/nginx": "offline", "images/demo": "offline" }],
        ["a pulumi built here before is used when none is installed",
            buildHost, { "pulumi.built": true }, { pulumi: "cached" }],
        ["a current stand-in is kept",
            buildHost, { "providers": [{ name: "docker", version: "5.2.0", real: null, standin: "current" }] }, { "provider/docker": "standin" }],
        ["the real plugin installed in the set-up's plugin folder wins",
            buildHost, { "providers": [{ name: "docker", version: "5.2.0", real: "cache", standin: null }] }, { "provider/docker": "real" }],
        // The kubernetes plugin: installed real one, then pulumi plugin install, then the Go build; no stand-in.
        ["kubernetes: an installed real plugin wins over a build",
            buildHost, k8s({ real: "cache" }), { "provider/kubernetes": "real" }],
        ["kubernetes: a real plugin in ~/.pulumi wins over a build",
            buildHost, k8s({ real: "user" }), { "provider/kubernetes": "link-user" }],
        ["kubernetes: nothing installed, Go present: pulumi plugin install, then the Go build",
            buildHost, k8s({}), { "provider/kubernetes": "install-or-build" }],
        ["kubernetes: a build cached here is installed, Go or not",
            laptop, k8s({ build: k8sBuild({ cached: true }) }), { "provider/kubernetes": "install-built" }],
        ["kubernetes: no Go: pulumi plugin install alone",
            laptop, k8s({}), { "provider/kubernetes": "install-real" }],
        ["kubernetes: the build failed here before, outside CI: pulumi plugin install alone, the build not retried",
            buildHost, k8s({ build: k8sBuild({ failed: "go build failed: x" }) }), { "provider/kubernetes": "install-real" }],
        ["kubernetes: the build failed here before, in CI with Go: the build is tried again",
            buildHost, { ci: true, ...k8s({ build: k8sBuild({ failed: "go build failed: x" }) }) }, { "provider/kubernetes": "install-or-build" }],
        ["kubernetes: a stand-in left by an earlier set-up counts for nothing (setup.sh probes none): install or build",
            buildHost, k8s({ standin: "current" }), { "provider/kubernetes": "install-or-build" }],
        ["docker and command have no source to build: their stand-in is kept, Go or not",
            buildHost, { ci: true, providers: [{ name: "docker", version: "5.2.0", real: null, standin: "current", build: null }, { name: "command", version: "1.2.1", real: null, standin: "current" }] },
            { "provider/docker": "standin", "provider/command": "standin" }],
        ["an engine already mirroring to the local registry needs no root for it",
            buildHost, { "docker.mirror": true, "tools.dockerRegistry": true }, { registry: "start" }],
        ["the remote-engine test's tools, installed, are used",
            laptop, {}, { "testhost-tools": "present" }],
        ["the remote-engine test's tools missing, not root, outside CI: nothing installed (that test is skipped)",
            laptop, { os: "linux", "tools.testhostMissing": ["iproute2", "iptables"] }, { "testhost-tools": "skip" }],
        ["the remote-engine test's tools missing, as root on Debian: installed from Debian's packages",
            buildHost, { "tools.testhostMissing": ["iptables"] }, { "testhost-tools": "install" }],
        // Pulumi YAML's language host: the installed CLI's, else the one built here, else a Go build.
        ["the installed CLI's YAML host is used, nothing built",
            laptop, {}, { "yaml-host": "installed" }],
        ["the CLI built here has no YAML host: a Go build of pulumi-yaml",
            buildHost, {}, { "yaml-host": "build" }],
        ["a YAML host built here before is used, Go or not",
            laptop, { "pulumi.installed": null, "pulumi.built": true, "yamlHost.installed": false, "yamlHost.cached": true }, { "yaml-host": "cached" }],
        ["an installed CLI without a YAML host of its own: the Go build",
            buildHost, { "pulumi.installed": "3.260.1" }, { "yaml-host": "build" }],
        ["no YAML host and no Go, outside CI: not built, and the line says what to install",
            laptop, { "yamlHost.installed": false }, { "yaml-host": "skip" }],
    ])("%s", (_name, base, overrides, expected) => {
        const got = ways(withProbes(base(), overrides));
        for (const [piece, way] of Object.entries(expected)) expect({ piece, way: got[piece] }).toEqual({ piece, way });
    });

    it("a machine that has Docker, Node and Pulumi needs neither root nor Go, when a registry answers", () => {
        for (const d of plan(laptop()) as Decision[]) expectNoRootNoGo(d);
    });

    it("without root, the remote-engine test's missing tools ask for neither root nor apt", () => {
        const p = withProbes(laptop(), { os: "linux", "tools.apt": true, "tools.testhostMissing": ["iproute2", "iptables", "util-linux"] });
        for (const d of plan(p) as Decision[]) expectNoRootNoGo(d);
        expect(line(byPiece(p, "testhost-tools"))).toBe(
            "testhost-tools: skip (iproute2 iptables util-linux missing: nothing installed; the remote-engine test (which also needs root) is skipped without them)",
        );
        expect(byPiece(withProbes(buildHost(), { "tools.testhostMissing": ["iptables"] }), "testhost-tools").root).toBe("apt-get install iptables");
    });

    it("nothing needs root or Go once everything is present, even offline", () => {
        const p = withProbes(buildHost(), {
            root: false,
            "docker.answers": true,
            "flags.registry": false,
            "pulumi.built": true,
            "yamlHost.cached": true,
            providers: [{ name: "docker", version: "5.2.0", real: null, standin: "current" }],
            "images.present": { nginx: true, traefik: true, demo: true },
            "images.pull": "not-probed",
        });
        for (const d of plan(p) as Decision[]) expectNoRootNoGo(d);
    });

    it("says which root-only steps run, and why, before they run", () => {
        const d = plan(buildHost()) as Decision[];
        expect(d.filter((x) => x.root).map((x) => [x.piece, x.root])).toEqual([
            ["docker", "start dockerd"],
            ["images/nginx", "apt-get install debootstrap, then debootstrap a Debian root file system"],
            ["images/traefik", "apt-get install debootstrap, then debootstrap a Debian root file system"],
            ["images/demo", "apt-get install debootstrap, then debootstrap a Debian root file system"],
            ["registry", "apt-get install docker-registry; add the local registry to the engine's registry mirrors (/etc/docker/daemon.json, SIGHUP dockerd)"],
        ]);
        expect(line(byPiece(buildHost(), "images/traefik"))).toBe(
            "images/traefik: offline [needs root, needs Go] (Traefik v3.6.12 from Go sources (5-10 min on 2 cores, once) on the Debian image " +
                "(no registry answers (docker pull nginx:1.29.3: dial tcp: lookup registry: no such host)))",
        );
    });

    it.each([
        ["no engine answers and no --install-docker: start Docker Desktop", laptop, { "docker.answers": false }, "docker", /start Docker Desktop/],
        ["no pulumi and no Go: install the Pulumi CLI", laptop, { "pulumi.installed": null }, "pulumi", /install the Pulumi CLI \(v3\.259\.0 or newer\)/],
        ["no registry and not root: the offline build cannot run", laptop, { "images.pull": "failed" }, "images/nginx", /make a registry reachable, or run the set-up as root on Debian/],
        ["no registry, a cached root file system but no Go: Traefik cannot be built", laptop, { "images.pull": "failed", "images.cache": { rootfs: true, traefikBinary: false } }, "images/traefik", /building Traefik offline needs Go/],
        ["a root-only way without root is an error that names the root step", buildHost, { root: false }, "docker", /needs root \(start dockerd\)/],
        ["CI without a YAML host and without Go: the YAML example's test cannot run", laptop, { ci: true, "yamlHost.installed": false }, "yaml-host", /no pulumi-language-yaml and no Go to build v1\.25\.0: CI runs the YAML example's test/],
        ["CI without root: the remote-engine test's missing tools cannot be installed", laptop, { ci: true, "tools.testhostMissing": ["iptables"] }, "testhost-tools", /CI runs as root on Debian/],
    ])("an impossible piece is an error that says what to do: %s", (_name, base, overrides, piece, message) => {
        const d = byPiece(withProbes(base(), overrides), piece);
        expect(d.way).toBe("error");
        expect(d.why).toMatch(message);
    });

    it("a cached root file system makes the offline images need no root", () => {
        const p = withProbes(laptop(), { os: "linux", "images.pull": "failed", "images.cache": { rootfs: true, traefikBinary: true } });
        expect(ways(p)).toMatchObject({ "images/nginx": "offline", "images/traefik": "offline", "images/demo": "offline" });
        for (const d of plan(p) as Decision[]) expectNoRootNoGo(d);
    });

    it("the kubernetes plugin's lines say what is built, how long it takes, and what happens where neither way works", () => {
        expect(line(byPiece(withProbes(buildHost(), k8s({})), "provider/kubernetes"))).toBe(
            "provider/kubernetes: install-or-build (pulumi plugin install resource kubernetes 4.34.2; if that fails the real plugin built from Go sources, " +
                "github.com/pulumi/pulumi-kubernetes/provider/v4@v4.0.0-20260115033456-f47bc2d6f199 (10-20 min on 2 cores and about 170 MB, once); " +
                "the Kubernetes flavour cannot run here if neither works (the Docker flavour does not need the kubernetes plugin))",
        );
        expect(byPiece(withProbes(buildHost(), { ci: true, ...k8s({}) }), "provider/kubernetes").why)
            .toMatch(/; the set-up fails if neither works \(CI runs the Kubernetes tests on the real plugin\)$/);
        expect(byPiece(withProbes(laptop(), k8s({})), "provider/kubernetes").why).toMatch(/no Go to build the real plugin from github\.com\/pulumi\/pulumi-kubernetes\/provider\/v4@/);
        expect(byPiece(withProbes(buildHost(), k8s({ build: k8sBuild({ failed: "go build failed: x" }) })), "provider/kubernetes").why)
            .toMatch(/the Go build of .* failed here before \(go build failed: x\); it is tried again in CI/);
        for (const p of [withProbes(buildHost(), k8s({})), withProbes(laptop(), k8s({}))]) expect(plan(p).map((d: Decision) => d.way)).not.toContain("standin");
        // Installing a cached build needs no Go; the download-then-build way needs Go only if the download fails.
        expectNoRootNoGo(byPiece(withProbes(laptop(), k8s({ build: k8sBuild({ cached: true }) })), "provider/kubernetes"));
        expectNoRootNoGo(byPiece(withProbes(buildHost(), k8s({})), "provider/kubernetes"));
    });

    it("is pure: the same probes give the same plan, and the probes are not changed", () => {
        const p = buildHost();
        const copy = structuredClone(p);
        expect(plan(p)).toEqual(plan(p));
        expect(p).toEqual(copy);
    });

    it("demo/Dockerfile builds FROM the official python image at a pinned tag", () => {
        const from = /^FROM (\S+)/m.exec(fs.readFileSync(path.join(__dirname, "../../demo/Dockerfile"), "utf8"))?.[1];
        expect(from).toMatch(/^python:3\.\d+\.\d+-slim$/);
    });
});
