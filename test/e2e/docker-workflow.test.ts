/**
 * The operator's commands (scripts/workflow.ts) against a real stack on the real engine: the
 * switch harness's stack, whose outputs carry the fixture's `url` and `previewUrl`.
 */
import { execFileSync } from "node:child_process";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CONFIG_FILE } from "../../components/nginxConfig";
import { deploy, rollback, status } from "../../scripts/workflow";
import { dockerCli } from "../helpers/dockerFixture";
import { LoadGenerator, failuresOf, getJson } from "../helpers/load";
import { SWITCH_STACK, SwitchHarness } from "../helpers/switchHarness";
import { ROOT, pulumiEnv, runId } from "../helpers/toolchain";

const h = new SwitchHarness(runId("bgflow"), "nginx");

beforeAll(async () => {
    await h.start();
    await h.stack.up();
});
afterAll(() => h.destroy());

describe("status and rollback on a real stack", () => {
    it("status reports the configured color, what url serves, each color's version and health, no drift", async () => {
        const r = await status(h.stack);
        expect(r.configuredColor).toBe("blue");
        expect(r.live).toMatchObject({ color: "blue", version: "1.0.0", healthy: true });
        expect(r.idle).toMatchObject({ color: "green", version: "2.0.0", healthy: true });
        expect(r.drift).toBeUndefined();
    });

    it("`npm run status` prints it and exits 0", () => {
        const out = execFileSync("npm", ["run", "-s", "status", "--", "--stack", h.id, "--work-dir", SWITCH_STACK], {
            cwd: ROOT, env: { ...process.env, ...pulumiEnv() }, encoding: "utf8",
        });
        expect(out).toContain(`stack ${h.id}: activeColor (config) = blue`);
        expect(out).toContain("live traffic matches the config");
    });

    it("rollback flips to the healthy other color with zero failed requests", async () => {
        const load = new LoadGenerator(h.url, 240, ["fresh", "keepalive"]);
        load.run();
        expect(await rollback(h.stack, () => undefined)).toBe("green");
        const report = await load.stop();
        expect(report.failed.fresh, failuresOf(report, "fresh")).toBe(0);
        expect(report.failed.keepalive, failuresOf(report, "keepalive")).toBe(0);
        expect((await getJson(h.url)).json.color).toBe("green");
        expect((await h.stack.getConfig("bluegreen:activeColor")).value).toBe("green");
    });

    it("rollback refuses when the other color is unhealthy, and changes nothing", async () => {
        const sick = await h.fixture.color("blue-sick", { image: "bluegreen/demo:1.0.0", color: "blue", env: { HEALTH_STATUS: "503" } });
        await h.setEndpoints("blue", [sick]);
        await h.stack.up();
        await expect(rollback(h.stack, () => undefined)).rejects.toThrow(/refusing to roll back to blue: it is not healthy on the preview URL/);
        expect((await h.stack.getConfig("bluegreen:activeColor")).value).toBe("green");
        expect((await getJson(h.url)).json.color).toBe("green");
    });

    it("status warns when live traffic and config disagree", async () => {
        dockerCli("exec", h.proxy, "sh", "-c", `sed -i 's#proxy_pass http://bluegreen_green;#proxy_pass http://bluegreen_blue;#' ${CONFIG_FILE} && nginx -s reload -c ${CONFIG_FILE}`);
        await new Promise((r) => setTimeout(r, 1000));
        const r = await status(h.stack);
        expect(r.drift).toContain("config says green is live, but");
        expect(r.drift).toContain("is served by blue");
        let exit: { status?: number; stdout?: string } = {};
        try {
            execFileSync("npm", ["run", "-s", "status", "--", "--stack", h.id, "--work-dir", SWITCH_STACK], {
                cwd: ROOT, env: { ...process.env, ...pulumiEnv() }, encoding: "utf8", stdio: "pipe",
            });
        } catch (e) {
            exit = e as typeof exit;
        }
        expect(exit.status).toBe(3);
        expect(exit.stdout).toContain("WARNING: drift: config says green is live");
    });
});

describe("deploy on a real stack whose colors follow `<color>Image`", () => {
    const d = new SwitchHarness(runId("bgdeploy"), "nginx");
    const broken = "bluegreen/demo:2.1.0-broken";

    beforeAll(async () => {
        await d.start({ manageColors: true, images: { blue: "bluegreen/demo:1.0.0", green: "bluegreen/demo:1.0.0" } });
        await d.stack.up();
        // A release whose health check fails: the demo image with HEALTH_STATUS=503 baked in.
        execFileSync("docker", ["build", "-q", "-t", broken, "-"], {
            input: "FROM bluegreen/demo:2.0.0\nENV HEALTH_STATUS=503 APP_VERSION=2.1.0\n", env: { ...process.env, DOCKER_BUILDKIT: "0" },
        });
    });
    afterAll(async () => {
        await d.destroy();
        execFileSync("docker", ["rmi", "-f", broken]);
    });

    it("--dry-run shows the previews and changes nothing", async () => {
        const lines: string[] = [];
        expect(await deploy(d.stack, "bluegreen/demo:2.0.0", { dryRun: true, log: (l) => lines.push(l) })).toBe("blue");
        expect(lines.join("\n")).toMatch(/dry run: bluegreen\/demo:2.0.0 on green, then traffic blue → green/);
        expect((await d.stack.getConfig("bluegreen:greenImage")).value).toBe("bluegreen/demo:1.0.0");
        expect((await d.stack.getConfig("bluegreen:activeColor")).value).toBe("blue");
        expect((await d.stack.preview()).changeSummary).toEqual({ same: 4 });
    });

    it("a deploy that succeeds: the new version on green, smoke-tested, switched, verified, zero failed requests", async () => {
        const load = new LoadGenerator(d.url, 240, ["fresh", "keepalive"]);
        load.run();
        const lines: string[] = [];
        expect(await deploy(d.stack, "bluegreen/demo:2.0.0", { log: (l) => lines.push(l) })).toBe("green");
        const report = await load.stop();
        expect(report.failed.fresh, failuresOf(report, "fresh")).toBe(0);
        expect(report.failed.keepalive, failuresOf(report, "keepalive")).toBe(0);
        expect((await getJson(d.url)).json).toMatchObject({ color: "green", version: "2.0.0" });
        expect(lines.filter((l) => l.startsWith("  ✓"))).toHaveLength(5);
        expect(lines.join("\n")).toMatch(/✓ switch traffic blue → green \(`pulumi up`\) \(\d+\.\d s\)/);
    });

    it("a color's secret env reaches its container but never state, output, engine events, PR previews or the proxy config in plain text", async () => {
        const secret = "s3cr3t-Zq9-do-not-leak";
        const rotated = "r0tat3d-Kx4-do-not-leak";
        await d.stack.setConfig("bluegreen:greenEnv", { value: JSON.stringify({ API_TOKEN: secret }), secret: true });
        let printed = "";
        const events: EngineEvent[] = [];
        await d.stack.up({ onOutput: (o) => (printed += o), onEvent: (e) => { events.push(e); } });
        try {
            // The state as stored (the Automation API's exportStack decrypts secrets, so read the CLI's plain export).
            const state = execFileSync("pulumi", ["stack", "export", "--stack", d.id], {
                cwd: SWITCH_STACK, env: { ...process.env, ...pulumiEnv() }, encoding: "utf8", maxBuffer: 64 << 20,
            });
            expect(state).not.toContain(secret);
            expect(state).toContain('"ciphertext"');
            expect(printed).not.toContain(secret);
            // Engine events other than debug diagnostics (see SECURITY.md: Pulumi's Node.js SDK puts
            // raw RPC responses, secrets included, into debug-level events).
            // (The type omits "debug", but the engine sends debug diagnostics to event listeners.)
            const shown = events.filter((e) => (e.diagnosticEvent?.severity as string | undefined) !== "debug");
            expect(shown.filter((e) => e.resourcePreEvent).length).toBeGreaterThan(3);
            expect(JSON.stringify(shown)).not.toContain(secret);
            expect(JSON.stringify(await d.stack.outputs())).not.toContain(secret);
            expect(dockerCli("exec", d.proxy, "cat", CONFIG_FILE)).not.toContain(secret);
            // ...and the container did get it.
            const green = dockerCli("ps", "-q", "--filter", `label=${d.fixture.label}`, "--filter", `name=${d.proxy}-green`);
            expect(dockerCli("inspect", "-f", "{{json .Config.Env}}", green)).toContain(`API_TOKEN=${secret}`);

            // Rotating it: the diff a pull request shows masks both values...
            await d.stack.setConfig("bluegreen:greenEnv", { value: JSON.stringify({ API_TOKEN: rotated }), secret: true });
            let diff = "";
            await d.stack.preview({ diff: true, onOutput: (o) => (diff += o) });
            expect(diff).toContain("[secret]");
            expect(diff).not.toContain(secret);
            expect(diff).not.toContain(rotated);
            // ...and so does the JSON preview the pull-request workflow turns into its comment.
            const json = execFileSync("pulumi", ["preview", "--json", "--non-interactive", "--stack", d.id], {
                cwd: SWITCH_STACK, env: { ...process.env, ...pulumiEnv() }, encoding: "utf8", maxBuffer: 64 << 20,
            });
            const comment = execFileSync("node", [`${ROOT}/scripts/pr-comment.mjs`, d.id], { input: json, encoding: "utf8" });
            expect(comment).toContain("green");
            for (const text of [json, comment]) {
                expect(text).not.toContain(secret);
                expect(text).not.toContain(rotated);
            }
            await d.stack.up();
            expect(dockerCli("inspect", "-f", "{{json .Config.Env}}",
                dockerCli("ps", "-q", "--filter", `label=${d.fixture.label}`, "--filter", `name=${d.proxy}-green`))).toContain(`API_TOKEN=${rotated}`);
        } finally {
            await d.stack.removeConfig("bluegreen:greenEnv");
            await d.stack.up();
        }
    });

    it("a deploy whose version fails its health check is rolled back, with zero failed requests on url", async () => {
        await d.stack.setConfig("bluegreen:healthDeadlineSeconds", { value: "8" });
        const load = new LoadGenerator(d.url, 240, ["fresh", "keepalive"]);
        load.run();
        const lines: string[] = [];
        const error = await deploy(d.stack, broken, { log: (l) => lines.push(l) }).then(() => undefined, (e: Error) => e);
        const report = await load.stop();
        expect(String(error)).toMatch(/deploy of bluegreen\/demo:2.1.0-broken failed and was rolled back: blue did not become healthy within 8 s/);
        expect(report.failed.fresh, failuresOf(report, "fresh")).toBe(0);
        expect(report.failed.keepalive, failuresOf(report, "keepalive")).toBe(0);
        expect(report.samples.every((s) => s.color === "green")).toBe(true);
        expect((await d.stack.getConfig("bluegreen:blueImage")).value).toBe("bluegreen/demo:1.0.0");
        expect((await d.stack.getConfig("bluegreen:activeColor")).value).toBe("green");
        expect((await getJson(d.previewUrl)).json).toMatchObject({ color: "blue", version: "1.0.0" });
        expect((await d.stack.preview()).changeSummary).toEqual({ same: 4 });
    });
});
