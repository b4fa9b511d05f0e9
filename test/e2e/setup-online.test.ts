/**
 * The set-up's online path, for real: with the official-name images gone from the engine, the
 * images step (BLUEGREEN_IMAGES=online) pulls `nginx`, `traefik` and `python` at their pinned
 * tags through the engine's registry mirror (the loopback registry scripts/registry.sh runs, which
 * holds stand-ins under the official names: no public registry is reachable here), tags them with
 * the local names and builds the demo from demo/Dockerfile. Then the program itself comes up on
 * those images, with nginx and with Traefik (whose official image has no curl: the health gate and
 * the switch use busybox wget), and one request through the proxy reaches each color.
 *
 * The images get a prefix of this run (BLUEGREEN_IMAGE_PREFIX), so the names other tests run on
 * are never retagged. In CI the loopback registry must be the engine's mirror (the set-up starts it;
 * missing, the test fails). Elsewhere, without it, the same test pulls from whatever registry the
 * engine reaches (Docker Hub on a laptop) and checks that the images are the real ones; where the
 * engine can pull none of the pinned images, the file is skipped with the reason printed. No root
 * is needed: only starting the loopback mirror is root's (`npm run setup -- --registry`).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getJson } from "../helpers/load";
import { ProgramStack, dockerCli, dockerOk } from "../helpers/programStack";
import { lib as libValue, pullable, requirements } from "../helpers/requirements";
import { ROOT, runId } from "../helpers/toolchain";

const id = runId("bgonline");
/** What scripts/lib.sh pins and names, read from it so that the test follows the set-up. */
const lib = (expr: string) => libValue(expr, { ...process.env, BLUEGREEN_IMAGE_PREFIX: id });
const OFFICIAL = { nginx: lib("$NGINX_IMAGE"), traefik: lib("$TRAEFIK_IMAGE"), python: lib("$PYTHON_IMAGE") };
const LOCAL = { nginx: lib("$LOCAL_NGINX"), traefik: lib("$LOCAL_TRAEFIK"), demo: lib("$LOCAL_DEMO") };
const REGISTRY = `http://127.0.0.1:${lib("$REGISTRY_PORT")}`;
const REGISTRY_LOG = path.join(lib("$BLUEGREEN_CACHE"), "registry", "registry.log");

// Outside CI, skipped (with the reason printed) where the engine reaches no registry that has the
// pinned images; in CI, a failure (and the loopback mirror is required there, below).
const missing = requirements(
    "setup-online.test.ts",
    pullable(Object.values(OFFICIAL), "`npm run setup -- --registry` (Debian, as root) starts a loopback registry mirror that has them; or let the engine reach Docker Hub"),
);

const stacks: ProgramStack[] = [];
let setupOutput = "";
/** The engine pulls through the loopback registry (else: from the registry it reaches itself). */
let viaMirror = false;
/** The loopback registry's access log is readable here (not when another user, root, started it). */
let mirrorLog = false;
let setupSeconds = 0;

function removeImages(): void {
    for (const img of [...Object.values(OFFICIAL), LOCAL.nginx, LOCAL.traefik, `${LOCAL.demo}:1.0.0`, `${LOCAL.demo}:2.0.0`]) {
        if (dockerOk("image", "inspect", img)) dockerCli("rmi", img);
    }
}

/** The registry's access-log lines written after `offset` that fetched a manifest of `repo` for the engine. */
function manifestFetches(offset: number, repo: string): string[] {
    const text = fs.readFileSync(REGISTRY_LOG, "utf8").slice(offset);
    return text.split("\n").filter((l) => l.includes(`/v2/library/${repo}/manifests/`) && /" 200 /.test(l) && l.includes('"docker/'));
}

beforeAll(async () => {
    // In CI a missing registry or mirror is a failure, never a skip: the set-up starts both there.
    const answers = spawnSync("curl", ["-sf", "-o", "/dev/null", "-m", "5", `${REGISTRY}/v2/`]).status === 0;
    const mirrors = dockerCli("info", "--format", "{{json .RegistryConfig.Mirrors}}");
    viaMirror = answers && mirrors.includes(REGISTRY.replace("http://", ""));
    mirrorLog = viaMirror && fs.existsSync(REGISTRY_LOG);
    if (process.env.CI === "true" && !mirrorLog) {
        throw new Error(`CI: the engine must pull through ${REGISTRY} (answers: ${answers}, engine mirrors: ${mirrors}, its log ${REGISTRY_LOG}: ${fs.existsSync(REGISTRY_LOG)}); the set-up starts it (scripts/registry.sh)`);
    }
    if (viaMirror && !mirrorLog) console.warn(`the engine pulls through ${REGISTRY}, whose log is not this user's (${REGISTRY_LOG} missing): its manifest fetches are not checked, the stand-ins' labels are`);
    removeImages();
});

afterAll(async () => {
    for (const s of stacks) await s.destroy();
    removeImages();
});

describe.skipIf(missing)("the set-up's online path, through a registry mirror on loopback", () => {
    let logOffset = 0;

    it("pulls the official images at their pinned tags through the mirror and builds the demo from demo/Dockerfile", () => {
        for (const img of Object.values(OFFICIAL)) expect(dockerOk("image", "inspect", img), `${img} was removed first`).toBe(false);
        if (mirrorLog) logOffset = fs.statSync(REGISTRY_LOG).size;
        const start = Date.now();
        const r = spawnSync("bash", ["scripts/setup.sh", "--only", "images"], {
            cwd: ROOT, encoding: "utf8", env: { ...process.env, BLUEGREEN_IMAGES: "online", BLUEGREEN_IMAGE_PREFIX: id },
        });
        setupSeconds = (Date.now() - start) / 1000;
        setupOutput = r.stderr;
        console.log(`online images step: ${setupSeconds.toFixed(1)} s\n${setupOutput}`);
        expect(r.status, viaMirror ? r.stderr : `${r.stderr}\n(no loopback mirror: \`npm run setup -- --registry\` starts one on Debian as root)`).toBe(0);
        // One line per piece says which way it went and why.
        expect(setupOutput).toContain(`[setup] plan: images/nginx: pull (the official ${OFFICIAL.nginx}, pulled (BLUEGREEN_IMAGES=online))`);
        expect(setupOutput).toContain(`[setup] plan: images/traefik: pull (the official ${OFFICIAL.traefik}, pulled (BLUEGREEN_IMAGES=online))`);
        expect(setupOutput).toContain(`[setup] plan: images/demo: dockerfile (built from demo/Dockerfile on the official ${OFFICIAL.python} (BLUEGREEN_IMAGES=online))`);
        expect(setupOutput).not.toMatch(/debootstrap|root-only step|Go sources/);

        // docker pull fetched each from the registry, as the engine's mirror of the official names.
        if (mirrorLog) {
            for (const repo of ["nginx", "traefik", "python"]) {
                expect(manifestFetches(logOffset, repo).length, `manifest fetches of library/${repo}`).toBeGreaterThan(0);
            }
        }
        for (const [piece, img] of Object.entries(OFFICIAL)) {
            const repoDigests = dockerCli("image", "inspect", "-f", "{{json .RepoDigests}}", img);
            expect(repoDigests, `${img} came from a registry`).toContain(`${img.split(":")[0]}@sha256:`);
            // The loopback registry holds labelled stand-ins; a public registry the real images.
            expect(dockerCli("image", "inspect", "-f", '{{index .Config.Labels "bluegreen.standin-for"}}', img), piece).toBe(viaMirror ? img : "");
        }
        // The local names are the pulled images themselves, and the demo is built on the pulled python.
        expect(dockerCli("image", "inspect", "-f", "{{.Id}}", LOCAL.nginx)).toBe(dockerCli("image", "inspect", "-f", "{{.Id}}", OFFICIAL.nginx));
        expect(dockerCli("image", "inspect", "-f", "{{.Id}}", LOCAL.traefik)).toBe(dockerCli("image", "inspect", "-f", "{{.Id}}", OFFICIAL.traefik));
        const pythonLayers = JSON.parse(dockerCli("image", "inspect", "-f", "{{json .RootFS.Layers}}", OFFICIAL.python)) as string[];
        for (const v of ["1.0.0", "2.0.0"]) {
            const demoLayers = JSON.parse(dockerCli("image", "inspect", "-f", "{{json .RootFS.Layers}}", `${LOCAL.demo}:${v}`)) as string[];
            expect(demoLayers.slice(0, pythonLayers.length)).toEqual(pythonLayers);
            expect(dockerCli("image", "inspect", "-f", "{{json .Config.Env}}", `${LOCAL.demo}:${v}`)).toContain(`APP_VERSION=${v}`);
        }
    });

    it.each(["nginx", "traefik"] as const)("the program comes up on the pulled %s image and serves each color through it", async (kind) => {
        expect(setupOutput, "the images step ran").not.toBe("");
        const p = new ProgramStack(runId(`bgonl${kind[0]}`));
        stacks.push(p);
        await p.create({ proxyKind: kind, proxyImage: LOCAL[kind], blueImage: `${LOCAL.demo}:1.0.0`, greenImage: `${LOCAL.demo}:2.0.0` });
        const up = await p.up();
        expect(up.summary.result).toBe("succeeded");
        expect(dockerCli("inspect", "-f", "{{.Config.Image}}", p.proxy())).toBe(LOCAL[kind]);
        expect((await getJson(p.url)).json).toMatchObject({ color: "blue", version: "1.0.0" });
        expect((await getJson(p.previewUrl)).json).toMatchObject({ color: "green", version: "2.0.0" });
        if (kind === "traefik") {
            // As in the official image: no curl, so the health gate that let this up succeed used wget.
            expect(dockerOk("exec", p.proxy(), "sh", "-c", "command -v curl")).toBe(false);
            expect(dockerOk("exec", p.proxy(), "sh", "-c", "command -v wget")).toBe(true);
            expect(dockerCli("inspect", "-f", "{{json .Config.Entrypoint}}", p.proxy())).toBe('["/entrypoint.sh"]');
        }
        await p.setColor("green");
        expect((await p.up()).summary.result).toBe("succeeded");
        expect((await getJson(p.url)).json).toMatchObject({ color: "green", version: "2.0.0" });
        expect(await p.destroy()).toEqual([]);
    });
});
