/**
 * Long-lived connections across a switch, on the program itself (`index.ts`) with both proxies:
 * a Server-Sent Events stream (the demo app's `/stream`) opened on the live color before a
 * switch, read with a raw socket so that the test sees exactly how it ended: the app's `end`
 * event and the terminating chunk (clean), the connection closed without them (FIN), or a reset.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Color, ProxyKind } from "../../components/settings";
import { ProgramStack, dockerCli, expectCleanTeardown } from "../helpers/programStack";
import { runId } from "../helpers/toolchain";
import { Stream, openStream, sleep, watchColors } from "../helpers/stream";
import { expectCurrentDemoImages } from "../helpers/demoImages";

const DRAIN = 3; // drainSeconds of these stacks
const MARGIN_MS = 2000; // what "within drainSeconds" may overshoot on a busy 2-core machine

/** When the engine stopped a container (its `die` event), in epoch ms; undefined if it did not. */
function diedAt(id: string, since: number): number | undefined {
    const out = dockerCli("events", "--since", String(Math.floor(since / 1000) - 1), "--until", String(Math.ceil(Date.now() / 1000)),
        "--filter", `container=${id}`, "--filter", "event=die", "--format", "{{.TimeNano}}");
    const first = out.split("\n").filter(Boolean)[0];
    return first ? Math.round(Number(first) / 1e6) : undefined;
}

/**
 * Opens a stream on `url` (live: `from`), checks it is flowing, then runs one `up` with `config`
 * while watching which color fresh requests get. Returns what happened, on one timeline.
 */
async function streamAcrossUp(p: ProgramStack, from: Color, config: Record<string, string>, seconds: number) {
    const stream = openStream(p.url, seconds);
    await sleep(1000);
    expect(stream.events.length, "events before the switch").toBeGreaterThanOrEqual(4);
    expect(new Set(stream.events.map((e) => e.color))).toEqual(new Set([from]));
    const oldContainers = dockerCli("ps", "-q", "--no-trunc", "--filter", `label=bluegreen.stack=${p.prefix}`, "--filter", `label=color=${from}`).split("\n");
    await p.set(config);
    const watch = watchColors(p.url);
    const upStart = Date.now();
    const up = await p.up();
    const upEnd = Date.now();
    await sleep(500);
    await watch.stop();
    return { stream, up, upStart, upEnd, watch, oldContainers };
}

describe.each<ProxyKind>(["nginx", "traefik"])("streams across a switch, %s proxy", (kind) => {
    const p = new ProgramStack(runId(`bgdrain${kind.slice(0, 2)}`));
    const figures: Record<string, unknown> = {};

    beforeAll(async () => {
        expectCurrentDemoImages();
        await p.create({ proxyKind: kind, drainSeconds: String(DRAIN) });
    });

    afterAll(async () => {
        await p.destroy();
        console.log(`figures (${kind}):`, JSON.stringify(figures, null, 2));
    });

    it("up from nothing: url serves blue, and /stream sends blue's events through the proxy", async () => {
        const up = await p.up();
        expect(up.summary.result).toBe("succeeded");
        const s = openStream(p.url, 1);
        await s.done;
        expect(s.ending).toBe("clean");
        expect(s.end?.reason).toBe("done");
        expect(s.events.length).toBeGreaterThanOrEqual(5);
        expect(s.events.every((e) => e.color === "blue")).toBe(true);
    });

    it("streams that end before drainSeconds are served by blue to their own clean end while new requests go to green", async () => {
        // A 2 s stream opened every 0.5 s while the switch's `up` runs: those opened in the last
        // 2 s before the switch straddle it and end by themselves during the drain (2 s < 3 s).
        const streams: Stream[] = [];
        let opening = true;
        const opener = (async () => {
            while (opening) {
                streams.push(openStream(p.url, 2));
                await sleep(500);
            }
        })();
        await sleep(1000);
        await p.set({ activeColor: "green" });
        const watch = watchColors(p.url);
        const upStart = Date.now();
        const up = await p.up();
        const upEnd = Date.now();
        await sleep(1000);
        opening = false;
        await opener;
        await watch.stop();
        await Promise.all(streams.map((s) => s.done));
        expect(up.summary.result).toBe("succeeded");
        const switchedAt = watch.firstAt("green")!;
        expect(switchedAt, "a fresh request answered green").toBeDefined();
        const colorOf = (s: Stream) => [...new Set(s.events.map((e) => e.color))].join("+");
        const straddled = streams.filter((s) => colorOf(s) === "blue" && s.events.some((e) => e.at > switchedAt));
        figures.shortStreams = {
            streams: streams.length, byColor: streams.map(colorOf).join(" "), endings: streams.map((s) => s.ending).join(" "),
            straddled: straddled.length, blueEventsAfterSwitch: straddled.map((s) => s.events.filter((e) => e.at > switchedAt).length),
            upMs: upEnd - upStart, switchMsAfterUpStart: switchedAt - upStart,
        };
        // Each stream stays on the color it started on, and every one ended by itself, cleanly.
        expect(streams.map(colorOf).filter((c) => c !== "blue" && c !== "green")).toEqual([]);
        expect(streams.filter((s) => s.ending !== "clean" || s.end?.reason !== "done").map((s) => `${colorOf(s)} ${s.ending}`)).toEqual([]);
        expect(straddled.length, "streams that kept coming from blue after green answered").toBeGreaterThanOrEqual(1);
        expect(colorOf(streams[streams.length - 1])).toBe("green");
        // No gap in any of them: one event every 150 ms.
        for (const s of streams) {
            const gaps = s.events.slice(1).map((e, i) => e.at - s.events[i].at);
            expect(Math.max(0, ...gaps)).toBeLessThan(1000);
        }
    });

    it("an up that switches and replaces the old color's container: the old container is not stopped while its stream drains", async () => {
        // Green is live. One `up`: traffic to blue, and green's image changes (its container is replaced).
        const { stream, up, upStart, upEnd, watch, oldContainers } = await streamAcrossUp(p, "green", { activeColor: "blue", greenImage: "bluegreen/demo:1.0.0" }, 300);
        expect(up.summary.resourceChanges).toMatchObject({ replace: 1, update: 1 });
        await Promise.race([stream.done, sleep(20_000)]);
        const sw = watch.switchTo("blue");
        const switchedAt = sw.at;
        const died = diedAt(oldContainers[0], upStart);
        figures.switchAndReplace = {
            events: stream.events.length, ending: stream.ending, end: stream.end, upMs: upEnd - upStart,
            streamEndMsAfterSwitch: (stream.endedAt ?? NaN) - switchedAt, switchWindowMs: sw.at - sw.after, oldContainerDiedMsAfterSwitch: (died ?? NaN) - switchedAt,
        };
        expect(stream.events.every((e) => e.color === "green" && e.version === "2.0.0")).toBe(true);
        expect(died, "the old green container was stopped by the up").toBeDefined();
        if (kind === "nginx") {
            // nginx: the old worker kept the stream on the old container for drainSeconds, then
            // closed it (a FIN, no reset); `up` returned only then, so the container was stopped after.
            expect(stream.ending).toBe("fin");
            expect(stream.end).toBeUndefined();
            expect(stream.endedAt! - sw.after).toBeGreaterThanOrEqual(DRAIN * 1000 - 300);
            expect(stream.endedAt! - sw.at).toBeLessThanOrEqual(DRAIN * 1000 + MARGIN_MS);
            expect(died!).toBeGreaterThanOrEqual(stream.endedAt! - 100);
            expect(upEnd).toBeGreaterThanOrEqual(stream.endedAt! - 100);
        } else {
            // Traefik cannot close the stream, but the switch waits while it runs, up to
            // drainSeconds: the old container is stopped only then, and the demo app ends its
            // stream cleanly on SIGTERM ("shutdown").
            expect(stream.ending).toBe("clean");
            expect(stream.end?.reason).toBe("shutdown");
            expect(died! - sw.at).toBeGreaterThanOrEqual(DRAIN * 1000 - 500);
            expect(stream.endedAt! - sw.at).toBeLessThanOrEqual(DRAIN * 1000 + MARGIN_MS);
            expect(Math.abs(stream.endedAt! - died!)).toBeLessThan(1500);
        }
    });

    it(`a plain switch with drainSeconds ${DRAIN}: ${kind === "nginx" ? "nginx closes the old color's stream within drainSeconds" : "Traefik keeps serving it on the old color past drainSeconds, and the switch waits for it drainSeconds"}`, async () => {
        // Blue is live. Switch to green; blue stays up as the idle color.
        const { stream, upStart, upEnd, watch } = await streamAcrossUp(p, "blue", { activeColor: "green" }, 300);
        const sw = watch.switchTo("green");
        const switchedAt = sw.at;
        const deadline = switchedAt + DRAIN * 1000 + MARGIN_MS;
        await Promise.race([stream.done, sleep(Math.max(0, deadline + 3000 - Date.now()))]);
        figures.plainSwitch = { events: stream.events.length, ending: stream.ending, upMs: upEnd - upStart, streamEndMsAfterSwitch: (stream.endedAt ?? NaN) - switchedAt, switchWindowMs: sw.at - sw.after };
        expect(stream.events.every((e) => e.color === "blue")).toBe(true);
        if (kind === "nginx") {
            expect(stream.ending).toBe("fin");
            expect(stream.endedAt!).toBeLessThanOrEqual(deadline);
            expect(stream.endedAt! - sw.after).toBeGreaterThanOrEqual(DRAIN * 1000 - 300);
            expect(stream.events.filter((e) => e.at > switchedAt).length).toBeGreaterThanOrEqual(((DRAIN * 1000 - 1000) / 150) * 0.7);
            expect(upEnd).toBeGreaterThanOrEqual(stream.endedAt! - 100);
        } else {
            // Traefik swaps handlers in process; a request in flight keeps the old one until it
            // ends. The switch waited for it for drainSeconds, then returned with it still open.
            expect(stream.ending).toBe("open");
            expect(stream.events.filter((e) => e.at > deadline).length).toBeGreaterThanOrEqual(5);
            expect(upEnd - sw.after).toBeGreaterThanOrEqual(DRAIN * 1000 - 300);
            expect(upEnd - sw.at).toBeLessThanOrEqual(DRAIN * 1000 + MARGIN_MS);
            stream.close();
        }
    });

    it("destroy leaves nothing", async () => {
        await expectCleanTeardown(p);
    });
});
