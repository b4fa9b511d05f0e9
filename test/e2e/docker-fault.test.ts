/**
 * Faults on the real engine, through the switch harness: a color whose containers die, two
 * concurrent `up` on one stack, an `up` killed mid-switch, the live config edited by hand, the
 * proxy killed outright.
 */
import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CONFIG_FILE } from "../../components/nginxConfig";
import { dockerCli } from "../helpers/dockerFixture";
import { LoadGenerator, failuresOf, getJson } from "../helpers/load";
import { SWITCH_STACK, SwitchHarness } from "../helpers/switchHarness";
import { ROOT, pulumiEnv, runId } from "../helpers/toolchain";

const h = new SwitchHarness(runId("bgfault"), "nginx");

/** `pulumi ARGS` on the harness stack as a separate process, as a person would run it. */
function cli(args: string[]): { child: ChildProcess; done: Promise<{ code: number | null; signal: string | null; out: string }> } {
    const child = spawn("pulumi", [...args, "--stack", h.id, "--non-interactive"], { cwd: SWITCH_STACK, env: { ...process.env, ...pulumiEnv() } });
    let out = "";
    child.stdout!.on("data", (d) => (out += d));
    child.stderr!.on("data", (d) => (out += d));
    const done = new Promise<{ code: number | null; signal: string | null; out: string }>((resolve) =>
        child.on("close", (code, signal) => resolve({ code, signal, out })));
    return { child, done };
}

function lockDir(): string {
    return path.join(ROOT, ".pulumi-state", ".pulumi", "locks");
}

function hasLock(): boolean {
    const walk = (d: string): boolean => fs.existsSync(d) && fs.readdirSync(d, { withFileTypes: true })
        .some((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : e.name.endsWith(".json") && d.includes(h.id)));
    return walk(lockDir());
}

beforeAll(async () => {
    await h.start();
    await h.stack.up();
});
afterAll(() => h.destroy());

describe("faults", () => {
    it("a color whose containers died is refused by the health gate; traffic stays", async () => {
        const doomed = await h.fixture.color("green-doomed", { image: "bluegreen/demo:2.0.0", color: "green" });
        await h.setEndpoints("green", [doomed]);
        await h.stack.up();
        dockerCli("rm", "-f", doomed); // the container is gone, its address answers nothing
        await h.setColor("green");
        const error = await h.stack.up().then(() => undefined, (e: Error) => e);
        expect(String(error)).toMatch(/health gate: green is not healthy, so traffic was not moved to it: http:\/\/[0-9.]+:8080\/health answered 000/);
        expect((await getJson(h.url)).json.color).toBe("blue");
        const healthy = await h.fixture.color("green-1", { image: "bluegreen/demo:2.0.0", color: "green" });
        await h.setEndpoints("green", [healthy]);
        await h.setColor("blue");
        expect((await h.stack.up()).summary.result).toBe("succeeded");
    });

    it("two concurrent `up` on one stack: one is refused by the lock, the state stays intact", async () => {
        await h.setColor("green");
        const first = cli(["up", "--yes", "--skip-preview"]);
        const deadline = Date.now() + 20_000;
        while (!hasLock() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        expect(hasLock()).toBe(true);
        const second = await cli(["up", "--yes", "--skip-preview"]).done;
        const firstResult = await first.done;
        expect(firstResult.code, firstResult.out).toBe(0);
        expect(second.code).not.toBe(0);
        expect(second.out).toMatch(/locked/);
        expect((await getJson(h.url)).json.color).toBe("green");
        expect((await h.stack.preview()).changeSummary).toEqual({ same: 2 });
    });

    it("`up` interrupted mid-switch (SIGINT, then SIGKILL): traffic stays on a healthy color and the next `up` converges", async () => {
        await h.setColor("blue");
        const load = new LoadGenerator(h.url, 240, ["fresh", "keepalive"]);
        load.run();
        const run = cli(["up", "--yes", "--skip-preview"]);
        // Interrupt once the switch resource is being updated.
        const started = Date.now();
        while (!hasLock() && Date.now() - started < 20_000) await new Promise((r) => setTimeout(r, 20));
        await new Promise((r) => setTimeout(r, 800));
        run.child.kill("SIGINT");
        await new Promise((r) => setTimeout(r, 300));
        run.child.kill("SIGKILL");
        const interrupted = await run.done;
        // It really was cut short: it neither finished nor exited cleanly.
        expect(interrupted.code === 0 && interrupted.signal === null, interrupted.out).toBe(false);
        await new Promise((r) => setTimeout(r, 1000));
        // Whatever the proxy serves now, it is one of the two healthy colors, and nothing failed.
        const now = (await getJson(h.url)).json.color;
        expect(["blue", "green"]).toContain(now);
        // A lock left by a killed process is cleared with `pulumi cancel`; then `up` converges.
        if (hasLock()) {
            const cancel = await cli(["cancel", "--yes"]).done;
            expect(cancel.code, cancel.out).toBe(0);
        }
        const up = await h.stack.up();
        expect(up.summary.result).toBe("succeeded");
        const report = await load.stop();
        expect(report.failed.fresh, failuresOf(report, "fresh")).toBe(0);
        expect(report.failed.keepalive, failuresOf(report, "keepalive")).toBe(0);
        for (let i = 0; i < 10; i++) expect((await getJson(h.url)).json.color).toBe("blue");
        expect((await h.stack.preview()).changeSummary).toEqual({ same: 2 });
    });

    it("a hand edit of the live nginx config shows as drift on refresh and up restores it", async () => {
        // Someone points live traffic at green by hand (sed on the live file, then a reload).
        dockerCli("exec", h.proxy, "sh", "-c", `sed -i 's#proxy_pass http://bluegreen_blue;#proxy_pass http://bluegreen_green;#' ${CONFIG_FILE} && nginx -s reload -c ${CONFIG_FILE}`);
        await new Promise((r) => setTimeout(r, 1000));
        expect((await getJson(h.url)).json.color).toBe("green");
        const refresh = await h.stack.refresh();
        expect(refresh.summary.resourceChanges).toMatchObject({ update: 1 });
        const pre = await h.stack.preview();
        expect(pre.changeSummary).toMatchObject({ update: 1 });
        const up = await h.stack.up();
        expect(up.summary.result).toBe("succeeded");
        for (let i = 0; i < 10; i++) expect((await getJson(h.url)).json.color).toBe("blue");
        const again = await h.stack.preview();
        expect(again.changeSummary).toEqual({ same: 2 });
    });

    it("the proxy killed outright comes back on the same color with no manual step", async () => {
        const pid = dockerCli("inspect", "-f", "{{.State.Pid}}", h.proxy);
        process.kill(Number(pid), "SIGKILL"); // a crash, not a `docker stop`
        const deadline = Date.now() + 30_000;
        let color = "";
        while (Date.now() < deadline) {
            color = await getJson(h.url, 1000).then((r) => r.json.color, () => "");
            if (color) break;
        }
        expect(color).toBe("blue");
        expect(Number(dockerCli("inspect", "-f", "{{.RestartCount}}", h.proxy))).toBeGreaterThanOrEqual(1);
    });

    it("a replaced proxy (removed first, as its ports require) boots on the live color from its config volume", async () => {
        const figures = await h.replaceProxyUnderLoad();
        console.log("proxy replacement (nginx):", JSON.stringify(figures));
        // nginx boots on the config it finds in the volume: it never answers without a route.
        expect(figures.unrouted).toBe(0);
        // ...and the switch, run again, finds nothing to change.
        expect((await h.stack.preview()).changeSummary).toEqual({ same: 2 });
    });
});
