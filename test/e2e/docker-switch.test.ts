/**
 * The traffic switch, end to end: real `pulumi preview`/`up`/`refresh`/`destroy` through the
 * Automation API, a real Docker engine, real nginx, real HTTP under load.
 *
 * The colors and the proxy are started by the test with the docker CLI from the arguments the
 * components declare (test/helpers/declared.ts), because the @pulumi/docker provider plugin
 * cannot be built here (see README, "Known limits"). The stack under test,
 * `switch-stack/`, holds the one resource this project owns for the switch, `TrafficSwitch`,
 * fed by the same renderer and the same config validation as the program.
 */
import * as fs from "node:fs";
import { execFileSync } from "node:child_process";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PreviewJson, summarizePreview } from "../../components/previewSummary";
import { LoadGenerator, failuresOf, getJson } from "../helpers/load";
import { SWITCH_STACK, SwitchHarness, expectCleanTeardown } from "../helpers/switchHarness";
import { ROOT, pulumiEnv, runId, workspaceOptions } from "../helpers/toolchain";

const id = runId("bge2e");
const h = new SwitchHarness(id, "nginx");
const fixture = h.fixture;
const figures: Record<string, unknown> = {};
// Bound after start(): the tests below read them as plain names.
let stack: Stack;
let url = "";
let previewUrl = "";
const setColor = (c: "blue" | "green") => h.setColor(c);
const setEndpoints = (c: "blue" | "green", containers: string[]) => h.setEndpoints(c, containers);
const upUnderLoad = (from: "blue" | "green", to: "blue" | "green") => h.upUnderLoad(from, to);

/**
 * `pulumi preview --json` of the stack, as the pull-request workflow runs it. With
 * BLUEGREEN_RECORD_FIXTURES=1 the output is also saved as a unit-test fixture.
 */
function previewJson(fixtureName: string): PreviewJson {
    const out = execFileSync("pulumi", ["preview", "--json", "--non-interactive", "--stack", id], {
        cwd: SWITCH_STACK, env: { ...process.env, ...pulumiEnv() }, encoding: "utf8",
    });
    if (process.env.BLUEGREEN_RECORD_FIXTURES === "1") {
        fs.writeFileSync(`${ROOT}/test/fixtures/${fixtureName}.json`, out.replaceAll(id, "bg-e2e"));
    }
    return JSON.parse(out);
}

beforeAll(async () => {
    await h.start();
    ({ stack, url, previewUrl } = h);
});

afterAll(async () => {
    await h.destroy();
    console.log("figures:", JSON.stringify(figures, null, 2));
});

describe("the traffic switch on a real Docker engine", () => {
    it("a fresh proxy routes nothing until the switch has applied", async () => {
        // The bootstrap config answers 503 on both listeners; no color is live yet.
        for (const u of [url, previewUrl]) {
            const res = await fetch(u);
            expect(res.status).toBe(503);
            expect(await res.text()).toBe("no color is live yet\n");
        }
    });

    it("up from nothing: url serves blue, previewUrl serves green", async () => {
        const up = await stack.up();
        expect(up.summary.result).toBe("succeeded");
        expect(up.outputs.activeColor.value).toBe("blue");
        for (let i = 0; i < 10; i++) {
            expect((await getJson(url)).json).toMatchObject({ color: "blue", version: "1.0.0" });
            expect((await getJson(previewUrl)).json).toMatchObject({ color: "green", version: "2.0.0" });
        }
    });

    it("preview of activeColor=green shows exactly the switch as changed, nothing created, deleted or replaced", async () => {
        await setColor("green");
        const pre = await stack.preview({ diff: true });
        expect(pre.changeSummary).toEqual({ same: 1, update: 1 });
        expect(pre.stdout).toMatch(/~ pulumi-nodejs:dynamic:Resource: \(update\)/);
        expect(pre.stdout).toMatch(/activeColor\s*: "blue" => "green"/);
        expect((await getJson(url)).json.color).toBe("blue"); // a preview changes nothing
        // The pull-request summary, from the CLI's own JSON output.
        const json = previewJson("preview-switch");
        const summary = summarizePreview(json);
        expect(summary.text).toBe("Traffic: blue → green (bluegreen/demo:1.0.0 → bluegreen/demo:2.0.0); environments unchanged");
        // ...and the script the pull-request workflow pipes it through.
        const comment = execFileSync("node", [`${ROOT}/scripts/pr-comment.mjs`, "dev"], { input: JSON.stringify(json), encoding: "utf8" });
        expect(comment).toContain("Traffic: blue → green (bluegreen/demo:1.0.0 → bluegreen/demo:2.0.0); environments unchanged");
    });

    it("up switches to green under load with zero failed requests, then only green answers", async () => {
        const { result, report, after, upStart, upEnd, win } = await upUnderLoad("blue", "green");
        expect(result.summary.result).toBe("succeeded");
        figures.switchToGreen = {
            sent: report.sent, durationMs: report.durationMs, rps: Math.round(report.sent / (report.durationMs / 1000)),
            failed: report.failed, failures: report.samples.filter((x) => x.status < 200 || x.status > 299).slice(0, 5),
            rawKeepAliveResets: report.resets.raw, retriedKeepAliveResets: report.resets.keepalive,
            upWallMs: upEnd - upStart, flipWindow: { firstGreenMsAfterUpStart: (win.firstNew ?? NaN) - upStart, lastBlueMsAfterUpStart: (win.lastOld ?? NaN) - upStart },
        };
        expect(report.sent / (report.durationMs / 1000)).toBeGreaterThanOrEqual(200);
        expect(report.failed.fresh, failuresOf(report, "fresh")).toBe(0);
        expect(report.failed.keepalive, failuresOf(report, "keepalive")).toBe(0);
        expect(after.length).toBeGreaterThan(100);
        expect(after.filter((s) => s.kind !== "raw" || s.status !== 0).every((s) => s.color === "green")).toBe(true);
        expect((await getJson(previewUrl)).json.color).toBe("blue");
    });

    it("reverting activeColor to blue switches back under load with zero failed requests", async () => {
        await setColor("blue");
        const { result, report, after, upStart, upEnd, win } = await upUnderLoad("green", "blue");
        expect(result.summary.result).toBe("succeeded");
        figures.revertToBlue = {
            sent: report.sent, failed: report.failed, failures: report.samples.filter((x) => x.status < 200 || x.status > 299).slice(0, 5), rawKeepAliveResets: report.resets.raw,
            upWallMs: upEnd - upStart, flipWindow: { firstBlueMsAfterUpStart: (win.firstNew ?? NaN) - upStart, lastGreenMsAfterUpStart: (win.lastOld ?? NaN) - upStart },
        };
        expect(report.failed.fresh, failuresOf(report, "fresh")).toBe(0);
        expect(report.failed.keepalive, failuresOf(report, "keepalive")).toBe(0);
        expect(after.every((s) => s.status === 0 || s.color === "blue")).toBe(true);
        expect((await getJson(previewUrl)).json.color).toBe("green");
    });

    it("a new version on the idle color reaches previewUrl while url keeps serving blue, zero failed requests", async () => {
        const next = await fixture.color("green-v21", { image: "bluegreen/demo:2.0.0", color: "green", env: { APP_VERSION: "2.1.0" } });
        await setEndpoints("green", [next]);
        const summary = summarizePreview(previewJson("preview-idle-update"));
        expect(summary.text).toBe("Traffic: stays on blue (bluegreen/demo:1.0.0); environments unchanged");
        const { result, report } = await upUnderLoad("blue", "green");
        expect(result.summary.result).toBe("succeeded");
        expect(report.failed.fresh, failuresOf(report, "fresh")).toBe(0);
        expect(report.failed.keepalive, failuresOf(report, "keepalive")).toBe(0);
        expect(report.samples.every((s) => s.status === 0 || s.color === "blue")).toBe(true);
        expect((await getJson(previewUrl)).json).toMatchObject({ color: "green", version: "2.1.0" });
        figures.idleUpdate = { sent: report.sent, failed: report.failed, rawKeepAliveResets: report.resets.raw };
    });

    it("the health gate refuses to move traffic to an unhealthy green; url serves blue throughout", async () => {
        const sick = await fixture.color("green-sick", { image: "bluegreen/demo:2.0.0", color: "green", env: { HEALTH_STATUS: "503" } });
        await setEndpoints("green", [sick]);
        await stack.up(); // the idle color may be sick: the preview listener just shows it
        await setColor("green");
        const load = new LoadGenerator(url, 240);
        load.run();
        const error = await stack.up().then(() => undefined, (e: Error) => e);
        const report = await load.stop();
        expect(error).toBeDefined();
        const endpoint = `http://${fixture.endpoint(sick)}/health`;
        expect(String(error)).toContain(`health gate: green is not healthy, so traffic was not moved to it: ${endpoint} answered 503`);
        expect(report.failed.fresh + report.failed.keepalive).toBe(0);
        expect(report.samples.every((s) => s.status === 0 || s.color === "blue")).toBe(true);
        for (let i = 0; i < 10; i++) expect((await getJson(url)).json.color).toBe("blue");
        await setColor("blue");
        const heal = await stack.up();
        expect(heal.summary.result).toBe("succeeded");
    });
});

describe("config validation of the real program (index.ts) through the real CLI", () => {
    let project: Stack;
    beforeAll(async () => {
        project = await LocalWorkspace.createStack({ stackName: `${id}-cfg`, workDir: ROOT }, await workspaceOptions());
    });
    afterAll(async () => {
        await project?.workspace.removeStack(project.name, { force: true });
        fs.rmSync(`${ROOT}/Pulumi.${id}-cfg.yaml`, { force: true });
    });

    it.each([
        { key: "activeColor", value: "red", message: '`activeColor` is "red"; allowed values are "blue" and "green".' },
        { key: "blueImage", value: "demo:1.0; rm -rf /", message: '`blueImage` is "demo:1.0; rm -rf /"; expected an image reference' },
        { key: "previewPort", value: "8080", message: "`previewPort` is 8080; it must differ from `proxyPort` (8080)" },
        { key: "activeColour", value: "green", message: '`activeColour` is "green"; this key is unknown' },
        { key: "greenHealthPath", value: "/health\nmalicious", message: '`greenHealthPath` is "/health\\nmalicious"' },
    ])("preview and up fail on $key=$value with a message naming the key, before anything is declared", async ({ key, value, message }) => {
        await project.setConfig(`bluegreen:${key}`, { value });
        try {
            const error = await project.preview().then(() => undefined, (e: Error) => e);
            expect(String(error)).toContain(`invalid stack config: ${message}`);
            const upError = await project.up().then(() => undefined, (e: Error) => e);
            expect(String(upError)).toContain(`invalid stack config: ${message}`);
            // Nothing was declared: the stack holds no resource but its own root.
            const resources = (await project.exportStack()).deployment.resources ?? [];
            expect(resources.filter((r: { type: string }) => r.type !== "pulumi:pulumi:Stack")).toEqual([]);
        } finally {
            await project.removeConfig(`bluegreen:${key}`);
        }
        // ...and the switch stack next to it still serves blue.
        expect((await getJson(url)).json.color).toBe("blue");
    });
});

describe("teardown", () => {
    it("destroy removes the stack and leaves no container, volume or network behind", () => expectCleanTeardown(h));
});
