/**
 * The program itself (`index.ts`) on a remote Docker engine: a test host that this file starts
 * and stops (scripts/testhost.sh: a network namespace joined by a veth pair, its own dockerd on
 * tcp://<test host>:2375, the stack's images loaded from the local engine). The stack names it in
 * `docker:host` and publishes the proxy on the test host's address; every request of the load
 * goes to that address. Nothing of the stack may land on the local engine: the docker provider
 * and the traffic switch's `docker exec` must both go to the remote one.
 */
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Color, ProxyKind } from "../../components/settings";
import { LoadGenerator, RESETS_PER_SWITCH, failuresOf, getJson, resetClaimBreaches, switchSpans } from "../helpers/load";
import { ProgramStack, dockerCli, expectCleanTeardown, figuresOf } from "../helpers/programStack";
import { commands, requirements, root } from "../helpers/requirements";
import { ROOT, runId } from "../helpers/toolchain";

// Outside CI, skipped (with the reason printed) where the test host cannot be made; in CI, a failure.
const missing = requirements(
    "docker-remote.test.ts",
    root("to make the remote engine's test host (scripts/testhost.sh: a network namespace, a veth pair and a second dockerd)"),
    commands(["ip", "iptables", "nsenter", "dockerd"], "install iproute2, iptables, util-linux and docker.io (`npm run setup` as root on Debian installs them)"),
);

function testhost(...args: string[]): string {
    return execFileSync("bash", [path.join(ROOT, "scripts/testhost.sh"), ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
}

/** What `scripts/testhost.sh env` prints, as a record. */
function testhostEnv(): Record<string, string> {
    return Object.fromEntries([...testhost("env").matchAll(/^export ([A-Z_]+)="(.*)"$/gm)].map((m) => [m[1], m[2]]));
}

const figures: Record<string, unknown> = {};
let addr = "";
let engine = "";

beforeAll(() => {
    testhost("up");
    const env = testhostEnv();
    addr = env.BLUEGREEN_TESTHOST_ADDR;
    engine = env.BLUEGREEN_TESTHOST_ENGINE;
    expect(engine).toBe(`tcp://${addr}:2375`);
    // The test process itself never points at the test host: only the stack's config does.
    expect(process.env.DOCKER_HOST ?? "").not.toBe(engine);
});

afterAll(() => {
    testhost("down");
    console.log("figures:", JSON.stringify(figures, null, 2));
});

describe.skipIf(missing).each<ProxyKind>(["nginx", "traefik"])("the program on a remote engine (docker:host = the test host), %s proxy", (kind) => {
    let p: ProgramStack;
    /** The program's resource count, as the first `up` created it (the local suites pin it). */
    let total = 0;

    /** Nothing with the stack's label, and no container of the proxy's name, is on the local engine. */
    function expectNothingLocal(): void {
        const label = `label=bluegreen.stack=${p.prefix}`;
        expect(dockerCli("ps", "-aq", "--filter", label)).toBe("");
        expect(dockerCli("network", "ls", "-q", "--filter", label)).toBe("");
        expect(dockerCli("volume", "ls", "-q", "--filter", label)).toBe("");
        expect(dockerCli("ps", "-aq", "--filter", `name=${p.prefix}`)).toBe("");
    }

    beforeAll(async () => {
        p = new ProgramStack(runId(`bgrem${kind[0]}`), { dockerHost: engine });
        await p.create({ proxyKind: kind, bindAddress: addr });
    });

    afterAll(async () => {
        await p.destroy();
    });

    it("up creates everything on the remote engine, none of it on the local one; url on the test host's address serves blue", async () => {
        const up = await p.up();
        expect(up.summary.result).toBe("succeeded");
        total = up.summary.resourceChanges?.create ?? 0;
        expect(total).toBeGreaterThanOrEqual(10);
        expect(up.summary.resourceChanges).toEqual({ create: total });
        expect(p.url).toMatch(new RegExp(`^http://${addr.replaceAll(".", "\\.")}:\\d+$`));
        expect(up.outputs.url.value).toBe(p.url);
        expect(up.outputs.previewUrl.value).toBe(p.previewUrl);
        expect(p.containers("blue")).toHaveLength(1);
        expect(p.containers("green")).toHaveLength(1);
        const proxy = p.proxy();
        expect(p.docker("inspect", "-f", "{{.State.Running}}", proxy)).toBe("true");
        // The port is published by the remote engine on the test host's address.
        expect(p.docker("port", proxy)).toContain(`${addr}:${new URL(p.url).port}`);
        expectNothingLocal();
        for (let i = 0; i < 5; i++) {
            expect((await getJson(p.url)).json).toMatchObject({ color: "blue", version: "1.0.0" });
            expect((await getJson(p.previewUrl)).json).toMatchObject({ color: "green", version: "2.0.0" });
        }
    });

    it("switches to green under load sent to the test host, zero failed requests; the color answering flips", async () => {
        const containers = p.containers();
        await p.setColor("green");
        const { result, report, after, upStart, upEnd, win } = await p.upUnderLoad("blue", "green");
        figures[`${kind}.switch`] = { ...figuresOf(report), upWallMs: upEnd - upStart, firstGreenMsAfterUpStart: (win.firstNew ?? NaN) - upStart };
        expect(result.summary.result).toBe("succeeded");
        expect(result.summary.resourceChanges).toEqual({ same: total - 1, update: 1 });
        expect(report.failed.fresh, failuresOf(report, "fresh")).toBe(0);
        expect(report.failed.keepalive, failuresOf(report, "keepalive")).toBe(0);
        // The client that never retries: nginx's reload may reset the keep-alive connections idle
        // at that instant (its mean is held over the 10 flips below), Traefik closes none; no
        // other failure, and no reset outside `up`.
        expect(resetClaimBreaches(report, [{ start: upStart, end: upEnd + 1500 }], RESETS_PER_SWITCH[kind])).toEqual([]);
        // Blue before `up`, green after it: the flip happened, inside the update.
        const before = report.samples.filter((s) => s.at < upStart && s.status === 200);
        expect(before.length).toBeGreaterThan(100);
        expect(before.every((s) => s.color === "blue")).toBe(true);
        expect(win.firstNew).toBeGreaterThanOrEqual(upStart);
        expect(win.firstNew).toBeLessThanOrEqual(upEnd);
        expect(after.length).toBeGreaterThan(100);
        expect(after.filter((s) => s.status === 200).every((s) => s.color === "green")).toBe(true);
        expect((await getJson(p.previewUrl)).json.color).toBe("blue");
        expect(p.containers()).toEqual(containers); // only the switch moved
        expectNothingLocal();
    });

    it("10 flips under load sent to the test host: 0 failed requests of the clients that retry or reconnect; the one that never retries within the README's resets per switch", async () => {
        const containers = p.containers();
        const load = new LoadGenerator(p.url, 240);
        load.run();
        await new Promise((r) => setTimeout(r, 1000));
        let color: Color = "green";
        const ups: { start: number; end: number }[] = [];
        for (let i = 0; i < 10; i++) {
            color = color === "blue" ? "green" : "blue";
            await p.setColor(color);
            const start = load.now();
            const up = await p.up();
            ups.push({ start, end: load.now() });
            expect(up.summary.resourceChanges).toEqual({ same: total - 1, update: 1 });
        }
        await new Promise((r) => setTimeout(r, 1000));
        const report = await load.stop();
        const spans = switchSpans(ups);
        figures[`${kind}.tenFlips`] = {
            ...figuresOf(report),
            rawResetsPerSwitch: spans.map((s) => report.resetTimes.raw.filter((t) => t >= s.start && t < s.end).length),
            upWallMs: ups.map((u) => u.end - u.start),
        };
        expect(resetClaimBreaches(report, spans, RESETS_PER_SWITCH[kind])).toEqual([]);
        expect(report.failed.fresh, failuresOf(report, "fresh")).toBe(0);
        expect(report.failed.keepalive, failuresOf(report, "keepalive")).toBe(0);
        expect(new Set(report.samples.map((s) => s.color).filter(Boolean))).toEqual(new Set(["blue", "green"]));
        expect(color).toBe("green");
        expect((await getJson(p.url)).json.color).toBe("green");
        expect(p.containers()).toEqual(containers);
        expectNothingLocal();
    });

    it("a new version on the idle color (blue) replaces only its containers; url stays on green, zero failed requests", async () => {
        const green = p.containers("green");
        const blueBefore = p.containers("blue");
        await p.set({ blueImage: "bluegreen/demo:2.0.0" });
        const { result, report } = await p.upUnderLoad("green", "blue");
        figures[`${kind}.idleUpdate`] = figuresOf(report);
        expect(result.summary.result).toBe("succeeded");
        expect(report.failed.fresh, failuresOf(report, "fresh")).toBe(0);
        expect(report.failed.keepalive, failuresOf(report, "keepalive")).toBe(0);
        expect(resetClaimBreaches(report, [], 0)).toEqual([]); // nothing reloads: no connection is reset
        expect(report.samples.filter((s) => s.status !== 0 && s.color !== "green").slice(0, 3)).toEqual([]);
        expect(p.containers("green")).toEqual(green);
        expect(p.containers("blue")).not.toEqual(blueBefore);
        expect((await getJson(p.previewUrl)).json).toMatchObject({ color: "blue", version: "2.0.0" });
        expectNothingLocal();
    });

    it("refresh reads everything back from the remote engine: no changes, and the next preview plans none", async () => {
        const refresh = await p.stack.refresh({ onOutput: () => undefined });
        expect(refresh.summary.resourceChanges).toEqual({ same: total });
        expect((await p.stack.preview()).changeSummary).toEqual({ same: total });
    });

    it("DOCKER_HOST instead of docker:host reaches the same engine: refresh and preview change nothing", async () => {
        await p.stack.removeConfig("docker:host");
        const ws = p.stack.workspace as typeof p.stack.workspace & { envVars: Record<string, string> };
        ws.envVars.DOCKER_HOST = engine;
        try {
            const refresh = await p.stack.refresh({ onOutput: () => undefined });
            expect(refresh.summary.resourceChanges).toEqual({ same: total });
            expect((await p.stack.preview()).changeSummary).toEqual({ same: total });
        } finally {
            delete ws.envVars.DOCKER_HOST;
            await p.stack.setConfig("docker:host", { value: engine });
        }
        expect((await getJson(p.url)).json.color).toBe("green");
        expectNothingLocal();
    });

    it("destroy leaves nothing on the remote engine (containers, networks, volumes) and nothing on the local one", async () => {
        await expectCleanTeardown(p);
        expect(p.leftovers()).toEqual([]);
        expectNothingLocal();
    });
});
