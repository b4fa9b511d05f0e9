/**
 * The operator's commands (scripts/workflow.ts) against the program itself (`index.ts`): one
 * stack of the program, brought up by the Automation API with the installed docker plugin on the
 * real engine, whose outputs `url` and `previewUrl` are the proxy's published listeners.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CONFIG_FILE } from "../../components/nginxConfig";
import { deploy, rollback, status } from "../../scripts/workflow";
import { LoadGenerator, failuresOf, getJson } from "../helpers/load";
import { ProgramStack, dockerCli, dockerOk, figuresOf } from "../helpers/programStack";
import { ROOT, pulumiEnv, runId } from "../helpers/toolchain";

const p = new ProgramStack(runId("bgflow"));
const figures: Record<string, unknown> = {};

// Release images made for this run only (other runs share the engine): the demo image with
// APP_VERSION baked in, and one whose health check fails (HEALTH_STATUS=503 baked in).
const release = `bluegreen/demo-${p.id}:2.1.0`;
const broken = `bluegreen/demo-${p.id}:2.1.0-broken`;

function build(tag: string, dockerfile: string): void {
    execFileSync("docker", ["build", "-q", "-t", tag, "-"], { input: dockerfile, env: { ...process.env, DOCKER_BUILDKIT: "0" }, stdio: ["pipe", "ignore", "pipe"] });
}

/** `npm run status -- --stack <id>` as a person runs it: its exit code and what it printed. */
function npmStatus(): { code: number; stdout: string } {
    try {
        const stdout = execFileSync("npm", ["run", "-s", "status", "--", "--stack", p.id], {
            cwd: ROOT, env: { ...process.env, ...pulumiEnv() }, encoding: "utf8", stdio: "pipe",
        });
        return { code: 0, stdout };
    } catch (e) {
        const err = e as { status?: number; stdout?: string; stderr?: string };
        return { code: err.status ?? -1, stdout: `${err.stdout ?? ""}${err.stderr ?? ""}` };
    }
}

/** The one green replica's environment, as Docker holds it. */
function greenEnv(): string {
    const [green] = p.containers("green");
    return dockerCli("inspect", "-f", "{{json .Config.Env}}", green);
}

beforeAll(async () => {
    build(release, "FROM bluegreen/demo:2.0.0\nENV APP_VERSION=2.1.0\n");
    build(broken, "FROM bluegreen/demo:2.0.0\nENV HEALTH_STATUS=503 APP_VERSION=2.1.0\n");
    await p.create();
    const up = await p.up();
    expect(up.summary.result).toBe("succeeded");
});

afterAll(async () => {
    await p.destroy();
    for (const tag of [release, broken]) dockerOk("rmi", tag);
    console.log("figures:", JSON.stringify(figures, null, 2));
});

describe("status and rollback on the program's stack", () => {
    it("status reports the configured color, what url serves, each color's version and health, no drift", async () => {
        const r = await status(p.stack);
        expect(r.stack).toBe(p.id);
        expect(r.configuredColor).toBe("blue");
        expect(r.live).toMatchObject({ color: "blue", version: "1.0.0", healthy: true });
        expect(r.idle).toMatchObject({ color: "green", version: "2.0.0", healthy: true });
        expect(r.live.detail).toContain(`GET ${p.url} → 200, /health → 200`);
        expect(r.idle.detail).toContain(`GET ${p.previewUrl} → 200, /health → 200`);
        expect(r.drift).toBeUndefined();
    });

    it("`npm run status` prints it and exits 0", () => {
        const { code, stdout } = npmStatus();
        expect(code, stdout).toBe(0);
        expect(stdout).toContain(`stack ${p.id}: activeColor (config) = blue`);
        expect(stdout).toMatch(/live\s+blue\s+version 1\.0\.0\s+healthy/);
        expect(stdout).toMatch(/idle\s+green\s+version 2\.0\.0\s+healthy/);
        expect(stdout).toContain("live traffic matches the config");
    });

    it("rollback flips to the healthy other color with zero failed requests", async () => {
        const containers = p.containers();
        const load = new LoadGenerator(p.url, 240, ["fresh", "keepalive"]);
        load.run();
        const t = Date.now();
        expect(await rollback(p.stack, () => undefined)).toBe("green");
        figures.rollbackWallMs = Date.now() - t;
        await new Promise((r) => setTimeout(r, 500));
        const report = await load.stop();
        figures.rollback = figuresOf(report);
        expect(report.failed.fresh, failuresOf(report, "fresh")).toBe(0);
        expect(report.failed.keepalive, failuresOf(report, "keepalive")).toBe(0);
        expect(report.samples.some((s) => s.color === "blue"), "blue served before the rollback").toBe(true);
        expect(report.samples.some((s) => s.color === "green"), "green served after it").toBe(true);
        expect((await getJson(p.url)).json).toMatchObject({ color: "green", version: "2.0.0" });
        expect((await getJson(p.previewUrl)).json).toMatchObject({ color: "blue", version: "1.0.0" });
        expect((await p.stack.getConfig("bluegreen:activeColor")).value).toBe("green");
        expect(p.containers()).toEqual(containers); // a rollback is the switch alone
    });

    it("rollback refuses when the other color is unhealthy, and changes nothing", async () => {
        // Blue (idle) turns sick: only the preview listener shows it.
        await p.stack.setConfig("bluegreen:blueEnv.HEALTH_STATUS", { value: "503" }, true);
        expect((await p.up()).summary.result).toBe("succeeded");
        try {
            const before = p.containers();
            const r = await status(p.stack);
            expect(r.idle).toMatchObject({ color: "blue", healthy: false });
            await expect(rollback(p.stack, () => undefined)).rejects.toThrow(/refusing to roll back to blue: it is not healthy on the preview URL/);
            expect((await p.stack.getConfig("bluegreen:activeColor")).value).toBe("green");
            for (let i = 0; i < 5; i++) expect((await getJson(p.url)).json.color).toBe("green");
            expect(p.containers()).toEqual(before);
            expect((await p.stack.preview()).changeSummary).toEqual({ same: 12 });
        } finally {
            await p.stack.removeConfig("bluegreen:blueEnv.HEALTH_STATUS", true);
            expect((await p.up()).summary.result).toBe("succeeded");
        }
        expect((await status(p.stack)).idle).toMatchObject({ color: "blue", version: "1.0.0", healthy: true });
    });

    it("status warns (exit 3) when live traffic and config disagree; refresh and up restore the config's routing", async () => {
        // A hand edit of the live nginx config: the live listener sends traffic to blue.
        dockerCli("exec", p.proxy(), "sh", "-c",
            `sed -i 's#proxy_pass http://$bluegreen_green;#proxy_pass http://$bluegreen_blue;#' ${CONFIG_FILE} && nginx -s reload -c ${CONFIG_FILE}`);
        await new Promise((r) => setTimeout(r, 1000));
        expect((await getJson(p.url)).json.color).toBe("blue");
        const r = await status(p.stack);
        expect(r.drift).toContain("config says green is live, but");
        expect(r.drift).toContain("is served by blue");
        const { code, stdout } = npmStatus();
        expect(code, stdout).toBe(3);
        expect(stdout).toContain("WARNING: drift: config says green is live");
        // What the README promises: refresh reads the hand edit back, the next up restores the file.
        const refresh = await p.stack.refresh({ onOutput: () => undefined });
        expect(refresh.summary.resourceChanges).toMatchObject({ update: 1 });
        expect((await p.up()).summary.resourceChanges).toEqual({ same: 11, update: 1 });
        expect((await getJson(p.url)).json.color).toBe("green");
        expect((await status(p.stack)).drift).toBeUndefined();
        expect(npmStatus().code).toBe(0);
    });
});

describe("deploy on the program's stack (green live, blue idle)", () => {
    it("--dry-run shows the previews and changes nothing", async () => {
        const containers = p.containers();
        const lines: string[] = [];
        expect(await deploy(p.stack, release, { dryRun: true, log: (l) => lines.push(l) })).toBe("green");
        const text = lines.join("\n");
        expect(text).toContain(`dry run: ${release} on blue, then traffic green → blue`);
        expect(text).toMatch(/"replace":1/);
        expect((await p.stack.getConfig("bluegreen:blueImage")).value).toBe("bluegreen/demo:1.0.0");
        expect((await p.stack.getConfig("bluegreen:activeColor")).value).toBe("green");
        expect((await p.stack.preview()).changeSummary).toEqual({ same: 12 });
        expect(p.containers()).toEqual(containers);
        expect((await getJson(p.url)).json.color).toBe("green");
    });

    it("a deploy that succeeds: the new version on blue, smoke-tested, switched, verified, zero failed requests", async () => {
        const green = p.containers("green");
        const load = new LoadGenerator(p.url, 240, ["fresh", "keepalive"]);
        load.run();
        const lines: string[] = [];
        const t = Date.now();
        expect(await deploy(p.stack, release, { log: (l) => lines.push(l) })).toBe("blue");
        figures.deployWallMs = Date.now() - t;
        await new Promise((r) => setTimeout(r, 500));
        const report = await load.stop();
        figures.deploy = { ...figuresOf(report), steps: lines.filter((l) => l.startsWith("  ✓")).map((l) => l.trim()) };
        expect(report.failed.fresh, failuresOf(report, "fresh")).toBe(0);
        expect(report.failed.keepalive, failuresOf(report, "keepalive")).toBe(0);
        // url went from green 2.0.0 to blue 2.1.0 and never served anything else.
        const seen = new Set(report.samples.map((s) => `${s.color} ${s.version}`));
        expect([...seen].sort()).toEqual(["blue 2.1.0", "green 2.0.0"]);
        expect((await getJson(p.url)).json).toMatchObject({ color: "blue", version: "2.1.0" });
        expect((await getJson(p.previewUrl)).json).toMatchObject({ color: "green", version: "2.0.0" });
        expect(lines.filter((l) => l.startsWith("  ✓"))).toHaveLength(5);
        expect(lines.join("\n")).toMatch(/✓ switch traffic green → blue \(`pulumi up`\) \(\d+\.\d s\)/);
        expect((await p.stack.getConfig("bluegreen:blueImage")).value).toBe(release);
        expect((await p.stack.getConfig("bluegreen:activeColor")).value).toBe("blue");
        expect(p.containers("green")).toEqual(green); // the old live color stays warm for a rollback
        const r = await status(p.stack);
        expect(r.live).toMatchObject({ color: "blue", version: "2.1.0", healthy: true });
        expect(r.drift).toBeUndefined();
    });

    it("a color's secret env reaches its container but never state, output, engine events, PR previews or the proxy config in plain text", async () => {
        const secret = "s3cr3t-Zq9-do-not-leak";
        const rotated = "r0tat3d-Kx4-do-not-leak";
        await p.stack.setConfig("bluegreen:greenEnv.API_TOKEN", { value: secret, secret: true }, true);
        let printed = "";
        const events: EngineEvent[] = [];
        try {
            const up = await p.stack.up({ onOutput: (o) => (printed += o), onEvent: (e) => { events.push(e); } });
            expect(up.summary.result).toBe("succeeded");
            // The stack's config file holds it encrypted.
            expect(fs.readFileSync(`${ROOT}/Pulumi.${p.id}.yaml`, "utf8")).not.toContain(secret);
            // The state as stored (the Automation API's exportStack decrypts secrets, so read the CLI's plain export).
            const state = p.cli(["stack", "export"]);
            expect(state).toContain(p.containers("green")[0]); // it is this stack's state
            expect(state).not.toContain(secret);
            expect(state).toContain('"ciphertext"');
            expect(printed).toContain("bluegreen-"); // the output was captured
            expect(printed).not.toContain(secret);
            // Engine events other than debug diagnostics (see SECURITY.md: Pulumi's Node.js SDK puts
            // raw RPC responses, secrets included, into debug-level events).
            // (The type omits "debug", but the engine sends debug diagnostics to event listeners.)
            const shown = events.filter((e) => (e.diagnosticEvent?.severity as string | undefined) !== "debug");
            expect(shown.filter((e) => e.resourcePreEvent).length).toBeGreaterThan(3);
            expect(JSON.stringify(shown)).not.toContain(secret);
            expect(JSON.stringify(await p.stack.outputs())).not.toContain(secret);
            expect(dockerCli("exec", p.proxy(), "cat", CONFIG_FILE)).not.toContain(secret);
            // ...and the container did get it.
            expect(greenEnv()).toContain(`API_TOKEN=${secret}`);

            // Rotating it: the diff a pull request shows masks both values...
            await p.stack.setConfig("bluegreen:greenEnv.API_TOKEN", { value: rotated, secret: true }, true);
            let diff = "";
            await p.stack.preview({ diff: true, onOutput: (o) => (diff += o) });
            expect(diff).toContain("[secret]");
            expect(diff).not.toContain(secret);
            expect(diff).not.toContain(rotated);
            // ...and so does the JSON preview the pull-request workflow turns into its comment.
            const json = p.cli(["preview", "--json"]);
            expect(JSON.parse(json).steps.some((s: { op: string }) => s.op === "replace")).toBe(true);
            const comment = execFileSync("node", [`${ROOT}/scripts/pr-comment.mjs`, p.id], { input: json, encoding: "utf8" });
            expect(comment).toContain("green");
            for (const text of [json, comment]) {
                expect(text).not.toContain(secret);
                expect(text).not.toContain(rotated);
            }
            let rotatedOut = "";
            await p.stack.up({ onOutput: (o) => (rotatedOut += o) });
            expect(rotatedOut).not.toContain(rotated);
            expect(greenEnv()).toContain(`API_TOKEN=${rotated}`);
            expect(p.cli(["stack", "export"])).not.toContain(rotated);
            expect(dockerCli("exec", p.proxy(), "cat", CONFIG_FILE)).not.toContain(rotated);
        } finally {
            await p.stack.removeConfig("bluegreen:greenEnv.API_TOKEN", true);
            await p.up();
        }
        expect(greenEnv()).not.toContain("API_TOKEN=");
        expect((await getJson(p.url)).json.color).toBe("blue");
    });

    it("a deploy whose version fails its health check is rolled back, with zero failed requests on url", async () => {
        await p.set({ healthDeadlineSeconds: "8" });
        const load = new LoadGenerator(p.url, 240, ["fresh", "keepalive"]);
        load.run();
        const lines: string[] = [];
        const t = Date.now();
        const error = await deploy(p.stack, broken, { log: (l) => lines.push(l) }).then(() => undefined, (e: Error) => e);
        figures.failedDeployWallMs = Date.now() - t;
        const report = await load.stop();
        figures.failedDeploy = figuresOf(report);
        expect(String(error)).toContain(`deploy of ${broken} failed and was rolled back: green did not become healthy within 8 s`);
        expect(lines.join("\n")).toContain("→ rolling back: restoring the previous config (blue live, green on bluegreen/demo:2.0.0)");
        expect(report.failed.fresh, failuresOf(report, "fresh")).toBe(0);
        expect(report.failed.keepalive, failuresOf(report, "keepalive")).toBe(0);
        expect(report.samples.length).toBeGreaterThan(100);
        expect(report.samples.every((s) => s.color === "blue" && s.version === "2.1.0")).toBe(true);
        // Config and traffic as before.
        expect((await p.stack.getConfig("bluegreen:greenImage")).value).toBe("bluegreen/demo:2.0.0");
        expect((await p.stack.getConfig("bluegreen:activeColor")).value).toBe("blue");
        expect((await getJson(p.url)).json).toMatchObject({ color: "blue", version: "2.1.0" });
        expect((await getJson(p.previewUrl)).json).toMatchObject({ color: "green", version: "2.0.0" });
        expect((await p.stack.preview()).changeSummary).toEqual({ same: 12 });
        const r = await status(p.stack);
        expect(r.idle).toMatchObject({ color: "green", version: "2.0.0", healthy: true });
        expect(r.drift).toBeUndefined();
    });
});
