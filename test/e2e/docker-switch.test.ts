/**
 * The program itself (`index.ts`), end to end: real `pulumi preview`/`up`/`refresh`/`destroy`
 * through the Automation API, the installed docker plugin (the real one, or the project's
 * stand-in where it cannot be installed), a real Docker engine, real nginx, real HTTP under load.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PreviewJson, summarizePreview } from "../../components/previewSummary";
import { LoadGenerator, LoadReport, RESETS_PER_SWITCH, Span, failuresOf, getJson, resetClaimBreaches, switchSpans } from "../helpers/load";
import { ProgramStack, changes, dockerCli, expectCleanTeardown } from "../helpers/programStack";
import { ROOT, runId, workspaceOptions } from "../helpers/toolchain";

const p = new ProgramStack(runId("bge2e"));
const figures: Record<string, unknown> = {};

/**
 * `pulumi preview --json` of the stack. The unit tests' fixtures of the same previews are recorded
 * by scripts/record-fixtures.ts.
 */
function previewJson(): PreviewJson {
    return p.previewJson();
}

/**
 * Every answer on `url` under the load came from `color`, none failed, and the client that never
 * retries was reset only during `reloads` (the README: a reload can reset the keep-alive
 * connections idle at that instant) and failed nothing else: with none given, nginx is not
 * reloaded and no connection may be reset at all.
 */
function expectOnly(report: LoadReport, color: string, reloads: Span[] = []): void {
    expect(report.failed.fresh, failuresOf(report, "fresh")).toBe(0);
    expect(report.failed.keepalive, failuresOf(report, "keepalive")).toBe(0);
    expect(resetClaimBreaches(report, reloads, RESETS_PER_SWITCH.nginx)).toEqual([]);
    expect(report.samples.filter((s) => s.status !== 0 && s.color !== color).slice(0, 3)).toEqual([]);
}

const other = (c: "blue" | "green") => (c === "blue" ? "green" : "blue");

beforeAll(async () => {
    await p.create();
});

afterAll(async () => {
    await p.destroy();
    console.log("figures:", JSON.stringify(figures, null, 2));
});

describe("the program on a real Docker engine", () => {
    it("up from nothing creates both colors, the network, the proxy and its switch: url serves blue, previewUrl green", async () => {
        const up = await p.up();
        expect(up.summary.result).toBe("succeeded");
        expect(up.summary.resourceChanges).toMatchObject({ create: 12 });
        expect(up.outputs.activeColor.value).toBe("blue");
        expect(up.outputs.url.value).toBe(p.url);
        expect(up.outputs.previewUrl.value).toBe(p.previewUrl);
        expect(p.containers("blue")).toHaveLength(1);
        expect(p.containers("green")).toHaveLength(1);
        for (let i = 0; i < 10; i++) {
            expect((await getJson(p.url)).json).toMatchObject({ color: "blue", version: "1.0.0" });
            expect((await getJson(p.previewUrl)).json).toMatchObject({ color: "green", version: "2.0.0" });
        }
    });

    it("refresh of a healthy stack changes nothing, and the next preview plans nothing", async () => {
        const refresh = await p.stack.refresh({ onOutput: () => undefined });
        expect(refresh.summary.resourceChanges).toEqual({ same: 12 });
        const pre = await p.stack.preview();
        expect(pre.changeSummary).toEqual({ same: 12 });
    });

    it("preview of activeColor=green shows exactly the switch as changed, nothing created, deleted or replaced", async () => {
        await p.setColor("green");
        const pre = await p.stack.preview({ diff: true });
        expect(pre.changeSummary).toEqual({ same: 11, update: 1 });
        expect(pre.stdout).toMatch(/~ bluegreen:docker:TrafficSwitch: \(update\)/);
        expect(pre.stdout).toMatch(/activeColor\s*: "blue" => "green"/);
        expect((await getJson(p.url)).json.color).toBe("blue"); // a preview changes nothing
        // The pull-request summary, from the CLI's own JSON output...
        const json = previewJson();
        expect(changes(json)).toEqual(["update bluegreen:docker:TrafficSwitch::" + `${p.prefix}-proxy-switch`]);
        const summary = summarizePreview(json);
        expect(summary.text).toBe("Traffic: blue → green (bluegreen/demo:1.0.0 → bluegreen/demo:2.0.0); environments unchanged");
        // ...and the script the pull-request workflow pipes it through.
        const comment = execFileSync("node", [`${ROOT}/scripts/pr-comment.mjs`, "dev"], { input: JSON.stringify(json), encoding: "utf8" });
        expect(comment).toContain("Traffic: blue → green (bluegreen/demo:1.0.0 → bluegreen/demo:2.0.0); environments unchanged");
    });

    it("up switches to green under load with zero failed requests, then only green answers", async () => {
        const containers = p.containers();
        const { result, report, after, upStart, upEnd, win } = await p.upUnderLoad("blue", "green");
        expect(result.summary.result).toBe("succeeded");
        expect(result.summary.resourceChanges).toEqual({ same: 11, update: 1 });
        figures.switchToGreen = {
            sent: report.sent, durationMs: report.durationMs, rps: Math.round(report.sent / (report.durationMs / 1000)),
            failed: report.failed, rawKeepAliveResets: report.resets.raw, retriedKeepAliveResets: report.resets.keepalive,
            upWallMs: upEnd - upStart, flipWindow: { firstGreenMsAfterUpStart: (win.firstNew ?? NaN) - upStart, lastBlueMsAfterUpStart: (win.lastOld ?? NaN) - upStart },
        };
        expect(report.sent / (report.durationMs / 1000)).toBeGreaterThanOrEqual(200);
        expect(report.failed.fresh, failuresOf(report, "fresh")).toBe(0);
        expect(report.failed.keepalive, failuresOf(report, "keepalive")).toBe(0);
        // The client that never retries: resets only during the switch, and no other failure (its
        // mean per switch is held over the 10 flips below).
        expect(resetClaimBreaches(report, [{ start: upStart, end: upEnd + 1500 }], RESETS_PER_SWITCH.nginx)).toEqual([]);
        expect(after.length).toBeGreaterThan(100);
        expect(after.filter((s) => s.kind !== "raw" || s.status !== 0).every((s) => s.color === "green")).toBe(true);
        expect((await getJson(p.previewUrl)).json.color).toBe("blue");
        expect(p.containers()).toEqual(containers); // no container was replaced or added
    });

    it("reverting activeColor to blue switches back under load with zero failed requests", async () => {
        await p.setColor("blue");
        const { result, report, after, upStart, upEnd, win } = await p.upUnderLoad("green", "blue");
        expect(result.summary.result).toBe("succeeded");
        figures.revertToBlue = {
            sent: report.sent, failed: report.failed, rawKeepAliveResets: report.resets.raw,
            upWallMs: upEnd - upStart, flipWindow: { firstBlueMsAfterUpStart: (win.firstNew ?? NaN) - upStart, lastGreenMsAfterUpStart: (win.lastOld ?? NaN) - upStart },
        };
        expect(report.failed.fresh, failuresOf(report, "fresh")).toBe(0);
        expect(report.failed.keepalive, failuresOf(report, "keepalive")).toBe(0);
        expect(resetClaimBreaches(report, [{ start: upStart, end: upEnd + 1500 }], RESETS_PER_SWITCH.nginx)).toEqual([]);
        expect(after.every((s) => s.status === 0 || s.color === "blue")).toBe(true);
        expect((await getJson(p.previewUrl)).json.color).toBe("green");
    });

    it("10 flips under load from all three clients: 0 failed requests of the others; the one that never retries sees fewer than one reset per switch on average, none between", async () => {
        const containers = p.containers();
        const load = new LoadGenerator(p.url, 240);
        load.run();
        await new Promise((r) => setTimeout(r, 1000));
        let color: "blue" | "green" = "blue";
        const ups: { start: number; end: number }[] = [];
        for (let i = 0; i < 10; i++) {
            color = other(color);
            await p.setColor(color);
            const start = load.now();
            const up = await p.up();
            ups.push({ start, end: load.now() });
            expect(up.summary.resourceChanges).toEqual({ same: 11, update: 1 });
        }
        await new Promise((r) => setTimeout(r, 1000));
        const report = await load.stop();
        const spans = switchSpans(ups);
        const perSwitch = spans.map((s) => report.resetTimes.raw.filter((t) => t >= s.start && t < s.end).length);
        figures.tenFlips = {
            sent: report.sent, rps: Math.round(report.sent / (report.durationMs / 1000)), failed: report.failed,
            rawResetsPerSwitch: perSwitch, retriedKeepAliveResets: report.resets.keepalive, upWallMs: ups.map((u) => u.end - u.start),
        };
        expect(resetClaimBreaches(report, spans, RESETS_PER_SWITCH.nginx)).toEqual([]);
        expect(report.failed.fresh, failuresOf(report, "fresh")).toBe(0);
        expect(report.failed.keepalive, failuresOf(report, "keepalive")).toBe(0);
        expect(report.sent / (report.durationMs / 1000)).toBeGreaterThanOrEqual(120);
        // Both colors answered, and after each `up` returned, only its color on new connections.
        for (const [i, u] of ups.entries()) {
            const want = i % 2 === 0 ? "green" : "blue";
            const fresh = report.samples.filter((s) => s.kind === "fresh" && s.at - s.ms > u.end && s.at < spans[i].end);
            expect(fresh.filter((s) => s.color !== want).slice(0, 3), `flip ${i + 1} to ${want}`).toEqual([]);
        }
        expect(color).toBe("blue");
        expect((await getJson(p.url)).json.color).toBe("blue");
        expect(p.containers()).toEqual(containers);
    });

    it("a switch made after a refresh updates only the switch", async () => {
        await p.stack.refresh({ onOutput: () => undefined });
        await p.setColor("green");
        const pre = await p.stack.preview();
        expect(pre.changeSummary).toEqual({ same: 11, update: 1 });
        const up = await p.up();
        expect(up.summary.resourceChanges).toEqual({ same: 11, update: 1 });
        expect((await getJson(p.url)).json.color).toBe("green");
        await p.setColor("blue");
        expect((await p.up()).summary.resourceChanges).toEqual({ same: 11, update: 1 });
    });

    // Stacks made before the project had its own plugin hold the switch as a Pulumi Node.js dynamic
    // resource: first with the generic type on the engine's default dynamic provider, later with a
    // type of its own on a dynamic provider the program declared. The state below is what those
    // programs stored (their provider, type and `__provider` property), made from this stack's own.
    it.each([
        { era: "a type of its own, on the program's dynamic provider", type: "pulumi-nodejs:dynamic/bluegreen:TrafficSwitch", provider: "-dynamic" },
        { era: "the generic type, on the default dynamic provider", type: "pulumi-nodejs:dynamic:Resource", provider: "default" },
    ])("a stack whose switch is a dynamic resource ($era) keeps its switch: updated in place, never replaced, traffic untouched", async ({ type, provider }) => {
        const TYPE = "bluegreen:docker:TrafficSwitch";
        type Res = { urn: string; type: string; id: string; provider?: string; inputs?: Record<string, unknown>; outputs?: Record<string, unknown> };
        const exported = JSON.parse(p.cli(["stack", "export"]));
        const resources = exported.deployment.resources as Res[];
        const own = resources.find((r) => r.type === "pulumi:providers:bluegreen")!;
        const sw = resources.find((r) => r.type === TYPE)!;
        expect(sw.provider).toBe(`${own.urn}::${own.id}`);
        const dynamicUrn = own.urn.replace("pulumi:providers:bluegreen::", "pulumi:providers:pulumi-nodejs::").replace(/::[^:]+$/, provider === "default" ? "::default" : `::${p.prefix}-dynamic`);
        own.urn = dynamicUrn;
        own.type = "pulumi:providers:pulumi-nodejs";
        sw.provider = `${dynamicUrn}::${own.id}`;
        sw.type = type;
        sw.urn = sw.urn.replace(TYPE, type);
        const serialized = "exports.handler = __f0;\n// the dynamic provider's code, as the SDK serialized it";
        sw.inputs = { __provider: serialized, ...sw.inputs };
        sw.outputs = { __provider: serialized, ...sw.outputs };
        p.cli(["stack", "import"], { input: JSON.stringify(exported) });
        expect(p.cli(["stack", "export"])).not.toContain(TYPE);

        const pre = previewJson();
        // The program's own dynamic provider is deleted; the engine drops its unused default one
        // from the state without a step.
        expect(changes(pre)).toEqual([
            `create pulumi:providers:bluegreen::${p.prefix}-bluegreen`,
            ...(provider === "default" ? [] : [`delete pulumi:providers:pulumi-nodejs::${p.prefix}-dynamic`]),
        ].sort());
        const { result, report, upStart, upEnd } = await p.upUnderLoad("blue", "blue");
        expect(result.summary.result).toBe("succeeded");
        expectOnly(report, "blue", [{ start: upStart, end: upEnd + 1500 }]); // one reload at most
        figures[`dynamicSwitch ${provider}`] = { sent: report.sent, failed: report.failed, rawKeepAliveResets: report.resets.raw };
        const after = JSON.parse(p.cli(["stack", "export"])).deployment.resources as Res[];
        const afterSwitch = after.find((r) => r.type === TYPE)!;
        expect(afterSwitch.id).toBe(sw.id);
        expect(afterSwitch.provider).toMatch(new RegExp(`::pulumi:providers:bluegreen::${p.prefix}-bluegreen::`));
        expect(after.filter((r) => r.type === "pulumi:providers:pulumi-nodejs")).toEqual([]);
        // The next switch runs on the project's plugin.
        await p.setColor("green");
        expect((await p.up()).summary.resourceChanges).toEqual({ same: 11, update: 1 });
        expect((await getJson(p.url)).json.color).toBe("green");
        await p.setColor("blue");
        await p.up();
        expect((await getJson(p.url)).json.color).toBe("blue");
    });

    it("a new version on the idle color replaces only its containers; url never leaves blue, zero failed requests", async () => {
        const blue = p.containers("blue");
        const greenBefore = p.containers("green");
        await p.set({ greenImage: "bluegreen/demo:1.0.0" }); // any other image: the version label follows it
        const json = previewJson();
        expect(changes(json)).toEqual([
            `replace docker:index/container:Container::${p.prefix}-green-0`,
            // The switch records each color's image (for the PR summary); nothing is re-applied.
            `update bluegreen:docker:TrafficSwitch::${p.prefix}-proxy-switch`,
        ].sort());
        expect(summarizePreview(json).text).toBe(
            `Traffic: stays on blue (bluegreen/demo:1.0.0); other changes: replace docker:index/container:Container ${p.prefix}-green-0 (image, labels)`,
        );
        const { result, report } = await p.upUnderLoad("blue", "green");
        expect(result.summary.result).toBe("succeeded");
        expectOnly(report, "blue");
        figures.idleUpdate = { sent: report.sent, failed: report.failed, rawKeepAliveResets: report.resets.raw };
        expect(p.containers("blue")).toEqual(blue);
        expect(p.containers("green")).not.toEqual(greenBefore);
        expect((await getJson(p.previewUrl)).json).toMatchObject({ color: "green", version: "1.0.0" });
        await p.set({ greenImage: "bluegreen/demo:2.0.0" });
        await p.up();
        expect((await getJson(p.previewUrl)).json).toMatchObject({ color: "green", version: "2.0.0" });
    });

    it("idle replicas up to 3 and back to 1: previewUrl is served by each, url stays on blue with zero failed requests", async () => {
        const blue = p.containers("blue");
        await p.set({ greenReplicas: "3" });
        const up = await p.upUnderLoad("blue", "green");
        expectOnly(up.report, "blue");
        expect(up.result.summary.resourceChanges).toEqual({ same: 12, create: 2 });
        expect(p.containers("green")).toHaveLength(3);
        const hosts = new Set<string>();
        for (let i = 0; i < 60 && hosts.size < 3; i++) hosts.add((await getJson(p.previewUrl)).json.host);
        expect(hosts.size).toBe(3);
        await p.set({ greenReplicas: "1" });
        const down = await p.upUnderLoad("blue", "green");
        expectOnly(down.report, "blue");
        expect(down.result.summary.resourceChanges).toEqual({ same: 12, delete: 2 });
        expect(p.containers("green")).toHaveLength(1);
        expect(p.containers("blue")).toEqual(blue);
        figures.idleReplicas = { up: down.report.sent, failedUp: up.report.failed, failedDown: down.report.failed };
    });

    it("the health gate refuses to move traffic to an unhealthy green; url serves blue throughout", async () => {
        await p.stack.setConfig("bluegreen:greenEnv.HEALTH_STATUS", { value: "503" }, true);
        const idle = await p.up(); // the idle color may be sick: only the preview listener shows it
        expect(idle.summary.result).toBe("succeeded");
        await p.setColor("green");
        const load = new LoadGenerator(p.url, 240);
        load.run();
        const error = await p.up().then(() => undefined, (e: Error) => e);
        const report = await load.stop();
        expect(error).toBeDefined();
        const sick = p.containers("green")[0];
        expect(String(error)).toContain(`health gate: green is not healthy, so traffic was not moved to it: http://${sick}:8080/health answered 503`);
        expectOnly(report, "blue");
        for (let i = 0; i < 10; i++) expect((await getJson(p.url)).json.color).toBe("blue");
        // Healing: the config goes back, `up` converges, traffic never moved.
        await p.stack.removeConfig("bluegreen:greenEnv.HEALTH_STATUS", true);
        await p.setColor("blue");
        const heal = await p.up();
        expect(heal.summary.result).toBe("succeeded");
        expect((await getJson(p.previewUrl)).json.color).toBe("green");
    });
});

describe("config validation of the real program (index.ts) through the real CLI", () => {
    let project: Stack;
    beforeAll(async () => {
        project = await LocalWorkspace.createStack({ stackName: `${p.id}-cfg`, workDir: ROOT }, await workspaceOptions());
    });
    afterAll(async () => {
        await project?.workspace.removeStack(project.name, { force: true });
        fs.rmSync(`${ROOT}/Pulumi.${p.id}-cfg.yaml`, { force: true });
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
        // ...and the running stack next to it still serves blue.
        expect((await getJson(p.url)).json.color).toBe("blue");
    });
});

describe("teardown", () => {
    it("destroy removes every container, volume and network of the program, and the stack", async () => {
        const proxy = p.proxy();
        expect(dockerCli("inspect", "-f", "{{.State.Running}}", proxy)).toBe("true");
        await expectCleanTeardown(p);
    });
});
