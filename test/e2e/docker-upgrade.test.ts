/**
 * An existing stack moves to the service component in place. The program as it was before the
 * component (main at da3e7bc, where index.ts declared the colors, the network and the proxy at the
 * stack's root), taken from git, brings a stack up on the real engine; then this checkout's
 * program runs on the same stack: the preview creates only the component and updates the switch
 * (the proxy's file moved its status to a loopback listener, see README "Which proxy"), `up`
 * under load replaces, deletes and restarts nothing and fails no request of a browser-like
 * client, and the next switch is one update.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { LocalWorkspace } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { failuresOf, getJson } from "../helpers/load";
import { ProgramStack, changes, expectCleanTeardown, freePort } from "../helpers/programStack";
import { ROOT, runId, tmpDir, workspaceOptions } from "../helpers/toolchain";

/** The last commit whose program declared its resources without the service component. */
const BEFORE = "da3e7bc";
const old = tmpDir("bg-before");
const p = new ProgramStack(runId("bgupg"));
const figures: Record<string, unknown> = {};

/** Container id per name, of the stack's containers. */
function containerIds(): Record<string, string> {
    return Object.fromEntries(p.containers().map((n) => [n, p.docker("inspect", "--format", "{{.Id}} {{.State.StartedAt}}", n)]));
}

beforeAll(async () => {
    // The earlier program, as git has it, with this checkout's dependencies.
    const archive = execFileSync("git", ["-C", ROOT, "archive", BEFORE], { maxBuffer: 256 * 1024 * 1024 });
    execFileSync("tar", ["-x", "-C", old], { input: archive });
    fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(old, "node_modules"));
    const opts = await workspaceOptions();
    const live = await freePort();
    let preview = await freePort();
    while (preview === live) preview = await freePort();
    const before = await LocalWorkspace.createStack({ stackName: p.id, workDir: old }, opts);
    p.stack = before;
    await p.set({
        activeColor: "blue", blueImage: "bluegreen/demo:1.0.0", greenImage: "bluegreen/demo:2.0.0", blueReplicas: "2",
        proxyPort: String(live),
        previewPort: String(preview),
        healthRetries: "3", healthDeadlineSeconds: "20",
    });
    const up = await before.up({ onOutput: () => undefined });
    expect(up.summary.resourceChanges).toEqual({ create: 12 });
    // The same stack from this checkout: its stack file (config and the secrets salt) comes along.
    fs.copyFileSync(path.join(old, `Pulumi.${p.id}.yaml`), path.join(ROOT, `Pulumi.${p.id}.yaml`));
    p.stack = await LocalWorkspace.selectStack({ stackName: p.id, workDir: ROOT }, opts);
    await p.set({});
}, 600_000);

afterAll(async () => {
    await p.destroy();
    fs.rmSync(old, { recursive: true, force: true });
    console.log("figures:", JSON.stringify(figures, null, 2));
});

describe(`a stack made by the program at ${BEFORE} (no service component)`, () => {
    it("the preview of the upgrade creates only the component, updates the switch's file, and replaces nothing", () => {
        const json = p.previewJson();
        expect(changes(json)).toEqual([
            `create bluegreen:docker:BlueGreenService::${p.prefix}`,
            // The rendered nginx.conf serves the status on a loopback listener now, not on the
            // public ones: one update of the switch (a reload), on the same color.
            `update bluegreen:docker:TrafficSwitch::${p.prefix}-proxy-switch`,
        ]);
        const sw = json.steps!.find((st) => st.urn.endsWith(`::${p.prefix}-proxy-switch`))!;
        expect(sw.newState?.inputs?.activeColor).toBe(sw.oldState?.inputs?.activeColor);
        expect(Object.keys((sw as { detailedDiff?: object }).detailedDiff ?? {}).sort()).toEqual(["config"]);
    });

    it("the upgrade's up under load replaces, deletes and restarts nothing, and no request fails", async () => {
        const before = containerIds();
        expect(Object.keys(before)).toHaveLength(4);
        const { result, report } = await p.upUnderLoad("blue", "blue");
        expect(result.summary.resourceChanges).toEqual({ create: 1, same: 11, update: 1 });
        expect(report.failed.fresh, failuresOf(report, "fresh")).toBe(0);
        expect(report.failed.keepalive, failuresOf(report, "keepalive")).toBe(0);
        // The switch's update is one graceful reload, as a switch is: a client that never retries
        // can lose the request it sends on an idle keep-alive connection just as the old workers
        // close it (2 in one run on a busy machine), never more than one per connection (the
        // raw client keeps 8), and every such failure is that reset on a reused connection.
        const raw = report.samples.filter((s) => s.kind === "raw" && s.status === 0);
        expect(raw.length, failuresOf(report, "raw")).toBeLessThanOrEqual(8);
        expect(raw.filter((s) => !/ECONNRESET/.test(s.error ?? "")), failuresOf(report, "raw")).toEqual([]);
        expect(report.samples.filter((s) => s.status !== 0 && s.color !== "blue")).toEqual([]);
        figures.upgrade = { sent: report.sent, failed: report.failed, rawResets: report.resets.raw };
        expect(containerIds()).toEqual(before);
        const urns = (JSON.parse(p.cli(["stack", "export"])).deployment.resources as { urn: string }[]).map((r) => r.urn);
        expect(urns.filter((u) => u.includes("bluegreen:docker:BlueGreenService$"))).toHaveLength(10); // every child of the service under it now
    });

    it("the next switch is one update of the switch, and url serves green", async () => {
        await p.setColor("green");
        expect(changes(p.previewJson())).toEqual([`update bluegreen:docker:TrafficSwitch::${p.prefix}-proxy-switch`]);
        const up = await p.up();
        expect(up.summary.resourceChanges).toEqual({ same: 12, update: 1 });
        expect((await getJson(p.url)).json.color).toBe("green");
    });

    it("destroy leaves nothing", async () => {
        await expectCleanTeardown(p);
    });
});
