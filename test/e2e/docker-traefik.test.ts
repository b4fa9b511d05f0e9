/**
 * The Traefik proxy kind, end to end on the real engine: real pulumi runs of the real
 * TrafficSwitch writing Traefik's watched file, real HTTP through Traefik.
 * (The colors and the proxy are started with the docker CLI as the components declare them:
 * see docker-switch.test.ts for why.)
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TRAEFIK_CONFIG_FILE } from "../../components/traefikConfig";
import { Color } from "../../components/settings";
import { dockerCli } from "../helpers/dockerFixture";
import { LoadGenerator, failuresOf, getJson } from "../helpers/load";
import { SwitchHarness, expectCleanTeardown, figuresOf } from "../helpers/switchHarness";
import { runId } from "../helpers/toolchain";

const h = new SwitchHarness(runId("bgtraefik"), "traefik");
const figures: Record<string, unknown> = {};

beforeAll(() => h.start());
afterAll(async () => {
    await h.destroy();
    console.log("traefik figures:", JSON.stringify(figures));
});

describe("the traffic switch with proxyKind traefik", () => {
    it("routes nothing before the switch has applied (routes come only from the file)", async () => {
        expect((await fetch(h.url)).status).toBe(404);
        expect((await fetch(h.previewUrl)).status).toBe(404);
    });

    it("up from nothing: url serves blue, previewUrl serves green", async () => {
        expect((await h.stack.up()).summary.result).toBe("succeeded");
        for (let i = 0; i < 10; i++) {
            expect((await getJson(h.url)).json).toMatchObject({ color: "blue", version: "1.0.0" });
            expect((await getJson(h.previewUrl)).json).toMatchObject({ color: "green", version: "2.0.0" });
        }
    });

    it("preview of activeColor=green shows exactly the switch as changed", async () => {
        await h.setColor("green");
        const pre = await h.stack.preview();
        expect(pre.changeSummary).toEqual({ same: 1, update: 1 });
        expect((await getJson(h.url)).json.color).toBe("blue");
    });

    it("up switches to green under load: zero failed requests and zero resets, even for clients that never retry", async () => {
        const { result, report, after } = await h.upUnderLoad("blue", "green");
        expect(result.summary.result).toBe("succeeded");
        figures.switchToGreen = figuresOf(report);
        expect(report.failed.fresh, failuresOf(report, "fresh")).toBe(0);
        expect(report.failed.keepalive, failuresOf(report, "keepalive")).toBe(0);
        expect(report.failed.raw, failuresOf(report, "raw")).toBe(0);
        expect(report.resets.raw).toBe(0);
        expect(after.length).toBeGreaterThan(100);
        expect(after.every((s) => s.color === "green")).toBe(true);
        expect((await getJson(h.previewUrl)).json.color).toBe("blue");
    });

    it("10 flips under keep-alive load from a client that never retries: zero resets, zero failed requests", async () => {
        const load = new LoadGenerator(h.url, 240, ["raw"]);
        load.run();
        let color: Color = "green";
        for (let i = 0; i < 10; i++) {
            color = color === "blue" ? "green" : "blue";
            await h.setColor(color);
            expect((await h.stack.up()).summary.result).toBe("succeeded");
        }
        await new Promise((r) => setTimeout(r, 1000));
        const report = await load.stop();
        figures.tenFlipsRawKeepAlive = figuresOf(report);
        expect(report.sent).toBeGreaterThan(1000);
        expect(report.resets.raw).toBe(0);
        expect(report.failed.raw, failuresOf(report, "raw")).toBe(0);
        expect((await getJson(h.url)).json.color).toBe(color);
    });

    it("a new version on the idle color reaches previewUrl while url keeps serving the live one, zero failed requests", async () => {
        const live = (await getJson(h.url)).json.color as Color;
        const idle: Color = live === "blue" ? "green" : "blue";
        const next = await h.fixture.color(`${idle}-v9`, { image: "bluegreen/demo:2.0.0", color: idle, env: { APP_VERSION: "9.0.0" } });
        await h.setEndpoints(idle, [next]);
        const load = new LoadGenerator(h.url, 240);
        load.run();
        expect((await h.stack.up()).summary.result).toBe("succeeded");
        const report = await load.stop();
        expect(report.failed.fresh + report.failed.keepalive + report.failed.raw, failuresOf(report, "raw")).toBe(0);
        expect(report.samples.every((s) => s.color === live)).toBe(true);
        expect((await getJson(h.previewUrl)).json).toMatchObject({ color: idle, version: "9.0.0" });
    });

    it("the health gate refuses to move traffic to an unhealthy color; url keeps serving the live one", async () => {
        const live = (await getJson(h.url)).json.color as Color;
        const target: Color = live === "blue" ? "green" : "blue";
        const sick = await h.fixture.color(`${target}-sick`, { image: "bluegreen/demo:2.0.0", color: target, env: { HEALTH_STATUS: "503" } });
        await h.setEndpoints(target, [sick]);
        expect((await h.stack.up()).summary.result).toBe("succeeded"); // idle may be sick
        await h.setColor(target);
        const load = new LoadGenerator(h.url, 240);
        load.run();
        const error = await h.stack.up().then(() => undefined, (e: Error) => e);
        const report = await load.stop();
        expect(String(error)).toContain(`health gate: ${target} is not healthy, so traffic was not moved to it: http://${h.fixture.endpoint(sick)}/health answered 503`);
        expect(report.failed.fresh + report.failed.keepalive + report.failed.raw).toBe(0);
        expect(report.samples.every((s) => s.color === live)).toBe(true);
        await h.setColor(live);
        expect((await h.stack.up()).summary.result).toBe("succeeded");
    });

    it("a hand edit of Traefik's file shows as drift on refresh and up restores it", async () => {
        const live = (await getJson(h.url)).json.color as Color;
        const other: Color = live === "blue" ? "green" : "blue";
        // Point the live router at the other color's service by hand.
        dockerCli("exec", h.proxy, "sh", "-c", `sed -i 's/"service": "${live}-/"service": "TMP-/; s/"service": "${other}-/"service": "${live}-/; s/"service": "TMP-/"service": "${other}-/' ${TRAEFIK_CONFIG_FILE}`);
        const deadline = Date.now() + 10_000;
        while ((await getJson(h.url)).json.color !== other && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
        expect((await getJson(h.url)).json.color).toBe(other);
        const refresh = await h.stack.refresh();
        expect(refresh.summary.resourceChanges).toMatchObject({ update: 1 });
        expect((await h.stack.up()).summary.result).toBe("succeeded");
        for (let i = 0; i < 10; i++) expect((await getJson(h.url)).json.color).toBe(live);
        expect((await h.stack.preview()).changeSummary).toEqual({ same: 2 });
    });

    it("a replaced Traefik proxy (removed first, as its ports require) serves the live color from its config volume within a second", async () => {
        const figures = await h.replaceProxyUnderLoad();
        console.log("proxy replacement (traefik):", JSON.stringify(figures));
        // Traefik listens before its file provider has loaded the routes: it answers 404 until
        // then (README, "Daily workflow"). Never the other color, and never for long.
        expect(figures.lastUnroutedAfterStartMs ?? 0).toBeLessThan(1000);
        expect((await h.stack.preview()).changeSummary).toEqual({ same: 2 });
    });
});

describe("teardown", () => {
    it("destroy removes the stack and leaves no container, volume or network behind", () => expectCleanTeardown(h));
});
