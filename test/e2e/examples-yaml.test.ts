/**
 * The package from another language: examples/yaml-service, a Pulumi YAML program (run by
 * pulumi-language-yaml, which the set-up builds) that declares one Docker service through the
 * `bluegreen` plugin's `construct`. The plugin comes from the npm package's plugin folder
 * (`providers/build.mjs --package`, what `npm run build` puts in dist/plugin), installed with
 * `pulumi plugin install` into a Pulumi home of the consumer's own: nothing points into this
 * repository. On the real Docker engine, 200 requests/s: up; `activeColor green` previews as the
 * switch alone and switches with 0 failed requests; destroy leaves nothing. Bad input: the
 * TypeScript message, nothing declared; a plugin version the consumer does not have: the
 * version it needs.
 */
import { execFile, execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DockerServiceArgs, validateDockerServiceArgs } from "../../components/serviceArgs";
import { PreviewJson } from "../../components/previewSummary";
import { PACKAGE_VERSION } from "../helpers/consumer";
import { LoadGenerator, RESETS_PER_SWITCH, failuresOf, getJson, resetClaimBreaches } from "../helpers/load";
import { changes, dockerOk, freePort } from "../helpers/programStack";
import { commands, requirements } from "../helpers/requirements";
import { ROOT, pulumiEnv, runId, tmpDir, workspaceOptions } from "../helpers/toolchain";

const missing = requirements("examples-yaml.test.ts", commands(["pulumi-language-yaml"], "`npm run setup` builds it from Go sources (or install the Pulumi CLI's release archive, which ships it)"));

const work = tmpDir("bg-yaml");
const dir = path.join(work, "yaml-service");
const home = path.join(work, "pulumi-home");
const stackName = runId("bgyaml");
const program = fs.readFileSync(path.join(ROOT, "examples/yaml-service/Pulumi.yaml"), "utf8");
let env: Record<string, string> = {};
let stack: Stack;
let url = "";
let previewUrl = "";
const figures: Record<string, unknown> = {};

/** A CLI command in the consumer's project; stdout and stderr together, and whether it failed. */
function pulumi(args: string[]): { ok: boolean; out: string } {
    try {
        const out = execFileSync("pulumi", [...args, "--stack", stackName, "--non-interactive"], { cwd: dir, env: { ...process.env, ...env }, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 * 1024 * 1024 });
        return { ok: true, out };
    } catch (e) {
        const err = e as { stdout?: string; stderr?: string };
        return { ok: false, out: `${err.stdout ?? ""}\n${err.stderr ?? ""}` };
    }
}

/** `pulumi(args)` without blocking the event loop (the load generator runs meanwhile). */
function pulumiAsync(args: string[]): Promise<{ ok: boolean; out: string }> {
    return new Promise((resolve) => {
        execFile("pulumi", [...args, "--stack", stackName, "--non-interactive"], { cwd: dir, env: { ...process.env, ...env }, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
            resolve({ ok: !err, out: `${stdout}\n${stderr}` });
        });
    });
}

/** The types of the resources in the stack's state, besides the stack and providers. */
function declared(): string[] {
    const state = JSON.parse(pulumi(["stack", "export"]).out);
    return ((state.deployment.resources ?? []) as { type: string }[]).map((r) => r.type).filter((t) => t !== "pulumi:pulumi:Stack" && !t.startsWith("pulumi:providers:"));
}

/** The example with `edit` applied to its text; restored by `withProgram`'s end. */
async function withProgram<T>(edit: (text: string) => string, run: () => Promise<T> | T): Promise<T> {
    const file = path.join(dir, "Pulumi.yaml");
    const edited = edit(program);
    expect(edited, "the edit changed the program").not.toBe(program);
    fs.writeFileSync(file, edited);
    try {
        return await run();
    } finally {
        fs.writeFileSync(file, program);
    }
}

/** What TypeScript's validation says of these args (the message the YAML program must get). */
function typescriptSays(args: Partial<DockerServiceArgs>): string {
    try {
        validateDockerServiceArgs("api", { activeColor: "blue", colors: { blue: { image: "bluegreen/demo:1.0.0" }, green: { image: "bluegreen/demo:2.0.0" } }, ...args } as DockerServiceArgs);
    } catch (e) {
        return (e as Error).message;
    }
    throw new Error("TypeScript's validation accepts these args");
}

beforeAll(async () => {
    if (missing) return;
    const opts = await workspaceOptions();
    env = { ...pulumiEnv(), PULUMI_HOME: home };
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, "Pulumi.yaml"), program);
    // The plugin folder the npm package ships (npm run build: dist/plugin), installed as the README says.
    const plugin = path.join(work, "plugin");
    execFileSync("node", ["providers/build.mjs", "--package", "bluegreen", plugin], { cwd: ROOT, env: { ...process.env, ...env }, stdio: "ignore" });
    const shared = path.join(pulumiEnv().PULUMI_HOME, "plugins");
    fs.mkdirSync(path.join(home, "plugins"), { recursive: true });
    for (const p of fs.readdirSync(shared).filter((p) => /^resource-(docker|command|kubernetes)-v[0-9.]+$/.test(p))) {
        execFileSync("cp", ["-al", path.join(shared, p), path.join(home, "plugins", p)]);
    }
    execFileSync("pulumi", ["plugin", "install", "resource", "bluegreen", PACKAGE_VERSION, "-f", plugin], { cwd: dir, env: { ...process.env, ...env }, stdio: "ignore" });
    stack = await LocalWorkspace.createStack({ stackName, workDir: dir }, { ...opts, envVars: { ...opts.envVars, PULUMI_HOME: home }, pulumiHome: home });
    const port = await freePort();
    let preview = await freePort();
    while (preview === port) preview = await freePort();
    await stack.setAllConfig({ port: { value: String(port) }, previewPort: { value: String(preview) } });
    url = `http://127.0.0.1:${port}`;
    previewUrl = `http://127.0.0.1:${preview}`;
}, 600_000);

afterAll(async () => {
    console.log("figures:", JSON.stringify(figures, null, 2));
    if (stack) {
        await stack.destroy({ onOutput: () => undefined }).catch(() => undefined);
        await stack.workspace.removeStack(stackName, { force: true }).catch(() => undefined);
    }
    fs.rmSync(work, { recursive: true, force: true });
});

describe.skipIf(missing)("examples/yaml-service: the package from Pulumi YAML", () => {
    it("the program is a handful of lines and has no path into this repository", () => {
        const lines = program.split("\n").filter((l) => l.trim() && !l.trim().startsWith("#"));
        figures.programLines = lines.length;
        expect(lines.length).toBeLessThanOrEqual(25);
        expect(program).not.toMatch(/plugins:|providers\/bluegreen/);
        const plugins = JSON.parse(execFileSync("pulumi", ["plugin", "ls", "--json"], { cwd: dir, env: { ...process.env, ...env }, encoding: "utf8" })) as { name: string; version: string }[];
        expect(plugins.filter((p) => p.name === "bluegreen").map((p) => p.version)).toEqual([PACKAGE_VERSION]);
    });

    it("an out-of-range value: TypeScript's message (service, arg path, value, what is allowed), nothing declared", async () => {
        const expected = typescriptSays({ colors: { blue: { image: "bluegreen/demo:1.0.0", replicas: 0 }, green: { image: "bluegreen/demo:2.0.0" } } });
        expect(expected).toBe("api: colors.blue.replicas must be 1–20, got 0");
        await withProgram((t) => t.replace("blue: { image: bluegreen/demo:1.0.0 }", "blue: { image: bluegreen/demo:1.0.0, replicas: 0 }"), () => {
            const r = pulumi(["up", "--yes", "--skip-preview"]);
            expect(r.ok).toBe(false);
            expect(r.out).toContain(expected);
        });
        expect(declared()).toEqual([]);
    });

    it("a value from config that is not allowed (activeColor purple): TypeScript's message, nothing declared", async () => {
        const expected = typescriptSays({ activeColor: "purple" as never });
        expect(expected).toBe('api: activeColor must be "blue" or "green", got "purple"');
        await stack.setConfig("activeColor", { value: "purple" });
        const r = pulumi(["up", "--yes", "--skip-preview"]);
        await stack.removeConfig("activeColor");
        expect(r.ok).toBe(false);
        expect(r.out).toContain(expected);
        expect(declared()).toEqual([]);
    });

    it("a wrong type that YAML's type check cannot see (a string from structured config for replicas): TypeScript's message, nothing declared", async () => {
        const expected = typescriptSays({ colors: { blue: { image: "bluegreen/demo:1.0.0", replicas: "three" as never }, green: { image: "bluegreen/demo:2.0.0" } } });
        expect(expected).toBe('api: colors.blue.replicas must be 1–20, got "three"');
        // An `object` config value is a map of any to YAML's type check, so the string reaches the component.
        await withProgram((t) => t.replace("config:\n", "config:\n  sizes: { type: object }\n").replace("blue: { image: bluegreen/demo:1.0.0 }", "blue: { image: bluegreen/demo:1.0.0, replicas: \"${sizes.blue}\" }"), async () => {
            const set = pulumi(["config", "set", "--path", "sizes.blue", "three"]);
            expect(set.ok, set.out).toBe(true);
            try {
                const r = pulumi(["up", "--yes", "--skip-preview"]);
                expect(r.ok).toBe(false);
                expect(r.out).toContain(expected);
            } finally {
                await stack.removeConfig("sizes");
            }
        });
        expect(declared()).toEqual([]);
    });

    it("a wrong type: refused by Pulumi YAML's own type check against the schema before the program runs, nothing declared", async () => {
        await withProgram((t) => t.replace("blue: { image: bluegreen/demo:1.0.0 }", "blue: { image: bluegreen/demo:1.0.0, replicas: three }"), () => {
            const r = pulumi(["up", "--yes", "--skip-preview"]);
            expect(r.ok).toBe(false);
            expect(r.out).toMatch(/bluegreen:docker:BlueGreenService is not assignable from \{.*replicas: string/);
            expect(r.out).toContain("on Pulumi.yaml line");
        });
        expect(declared()).toEqual([]);
    });

    it("a plugin version the consumer does not have: the error names the plugin and the version it needs", async () => {
        await withProgram((t) => t.replace("    type: bluegreen:docker:BlueGreenService\n", "    type: bluegreen:docker:BlueGreenService\n    options:\n      version: 0.0.9\n"), () => {
            const r = pulumi(["preview"]);
            expect(r.ok).toBe(false);
            figures.versionMessage = r.out.split("\n").find((l) => /0\.0\.9/.test(l))?.trim();
            expect(r.out).toContain("no resource plugin 'pulumi-resource-bluegreen' found in the workspace at version v0.0.9");
        });
        expect(declared()).toEqual([]);
    });

    it("up declares the service: url serves blue, previewUrl green", async () => {
        const up = await stack.up({ onOutput: () => undefined });
        expect(up.summary.result).toBe("succeeded");
        expect(up.outputs.url.value).toBe(url);
        expect(up.outputs.activeColor.value).toBe("blue");
        expect((await getJson(url)).json).toMatchObject({ color: "blue", version: "1.0.0" });
        expect((await getJson(previewUrl)).json).toMatchObject({ color: "green", version: "2.0.0" });
        expect(declared()).toEqual(expect.arrayContaining(["bluegreen:docker:BlueGreenService", "bluegreen:docker:TrafficSwitch", "docker:index/container:Container"]));
    });

    it("`pulumi config set activeColor green`: the preview shows only the switch", () => {
        expect(pulumi(["config", "set", "activeColor", "green"]).ok).toBe(true);
        const json = JSON.parse(pulumi(["preview", "--json"]).out) as PreviewJson;
        expect(changes(json)).toEqual(["update bluegreen:docker:TrafficSwitch::api-proxy-switch"]);
    });

    it("`pulumi up` switches with 0 failed requests at 200 requests/s", async () => {
        // Paced at 240/s, as docker-switch.test.ts does: a busy machine delays the client's timer,
        // and the rate it reaches is what is held to 200.
        const load = new LoadGenerator(url, 240);
        load.run();
        await new Promise((r) => setTimeout(r, 1500));
        // `pulumi up` runs in a child process the test awaits (not execFileSync, which would stop
        // the load generator's timer for the whole switch).
        const upStart = load.now();
        const up = await pulumiAsync(["up", "--yes", "--skip-preview"]);
        const upEnd = load.now();
        await new Promise((r) => setTimeout(r, 1500));
        const report = await load.stop();
        expect(up.ok, up.out).toBe(true);
        const during = report.samples.filter((s) => s.at >= upStart && s.at <= upEnd);
        figures.switch = {
            sent: report.sent, rps: Math.round(report.sent / (report.durationMs / 1000)), upWallMs: upEnd - upStart,
            answeredDuringUp: during.length, failed: report.failed, rawKeepAliveResets: report.resets.raw, retriedKeepAliveResets: report.resets.keepalive,
        };
        expect(report.sent / (report.durationMs / 1000)).toBeGreaterThanOrEqual(200);
        // The load ran through the whole switch: answers all along the `up`, at about the rate.
        expect(during.length).toBeGreaterThan(((upEnd - upStart) / 1000) * 150);
        expect(report.failed.fresh, failuresOf(report, "fresh")).toBe(0);
        expect(report.failed.keepalive, failuresOf(report, "keepalive")).toBe(0);
        // The client that never retries: resets only during the switch (nginx's reload), nothing else failed.
        expect(resetClaimBreaches(report, [{ start: upStart, end: upEnd + 1500 }], RESETS_PER_SWITCH.nginx)).toEqual([]);
        expect([...new Set(during.filter((s) => s.status === 200).map((s) => s.color))].sort()).toEqual(["blue", "green"]);
        expect((await getJson(url)).json.color).toBe("green");
        expect((await getJson(previewUrl)).json.color).toBe("blue");
    });

    it("destroy leaves nothing: no container, network or volume the stack created", async () => {
        const state = JSON.parse(pulumi(["stack", "export"]).out);
        const created = (state.deployment.resources as { type: string; id?: string; outputs?: { name?: string } }[]).flatMap((r) => {
            if (r.type === "docker:index/container:Container" && r.id) return [["container", r.id]];
            if (r.type === "docker:index/network:Network" && r.id) return [["network", r.id]];
            if (r.type === "docker:index/volume:Volume" && r.outputs?.name) return [["volume", r.outputs.name]];
            return [];
        });
        expect(created.filter(([k]) => k === "container")).toHaveLength(3);
        const result = await stack.destroy({ onOutput: () => undefined });
        expect(result.summary.result).toBe("succeeded");
        expect(created.filter(([kind, id]) => dockerOk(...(kind === "container" ? ["inspect", id] : [kind, "inspect", id])))).toEqual([]);
        expect(declared()).toEqual([]);
    });
});
