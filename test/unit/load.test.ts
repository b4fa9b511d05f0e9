/**
 * The end-to-end tests' load client counts what they assert on: against a real HTTP server on
 * loopback that resets every reused keep-alive connection, each kind of client must see (and
 * report) what a browser, a plain client and a client that never retries would.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LoadGenerator, LoadReport, RESETS_PER_SWITCH, resetClaimBreaches, resetsPerSwitch, switchSpans } from "../helpers/load";

/** Answers the first request of each connection; destroys the connection when a second one arrives on it. */
function resettingServer(): http.Server {
    const seen = new WeakSet<object>();
    return http.createServer((req, res) => {
        if (seen.has(req.socket)) {
            req.socket.destroy();
            return;
        }
        seen.add(req.socket);
        res.setHeader("Content-Type", "application/json");
        res.end(JSON.stringify({ color: "blue", version: "1.0.0" }));
    });
}

async function listen(server: http.Server): Promise<string> {
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

async function run(url: string, ms: number): Promise<LoadReport> {
    const load = new LoadGenerator(url, 150);
    load.run();
    await new Promise((r) => setTimeout(r, ms));
    return load.stop();
}

describe("LoadGenerator against a server that resets every reused connection", () => {
    const server = resettingServer();
    let report: LoadReport;
    beforeAll(async () => {
        report = await run(await listen(server), 1000);
    });
    afterAll(() => server.close());

    it("a new connection per request is never reset and never fails", () => {
        expect(report.resets.fresh).toBe(0);
        expect(report.failed.fresh).toBe(0);
    });

    it("the browser-like client is reset on reuse and answered on its one retry", () => {
        expect(report.resets.keepalive).toBeGreaterThan(5);
        expect(report.failed.keepalive).toBe(0);
        expect(report.samples.filter((s) => s.kind === "keepalive" && s.retried).length).toBe(report.resets.keepalive);
    });

    it("the client that never retries fails each reset, and each is counted and timed", () => {
        expect(report.resets.raw).toBeGreaterThan(5);
        expect(report.failed.raw).toBe(report.resets.raw);
        expect(report.resetTimes.raw).toHaveLength(report.resets.raw);
        const failed = report.samples.filter((s) => s.kind === "raw" && s.status === 0);
        expect(failed.every((s) => s.reset === true)).toBe(true);
        expect(report.resetTimes.raw.every((t) => t >= 0 && t <= report.durationMs)).toBe(true);
        // Each reset connection had answered once, from blue: the color that closed it.
        expect(report.resetColors.raw).toEqual(report.resetTimes.raw.map(() => "blue"));
    });

    it("per switch: every reset falls in its span, and the README's figures are breached", () => {
        const all = resetsPerSwitch(report, [{ start: 0, end: report.durationMs + 1 }]);
        expect(all).toEqual({ perSwitch: [report.resets.raw], outside: [], otherFailures: [] });
        const none = resetsPerSwitch(report, []);
        expect(none.outside).toHaveLength(report.resets.raw);
        // One span: too few switches for a mean; Traefik's none is broken.
        expect(resetClaimBreaches(report, [{ start: 0, end: report.durationMs + 1 }], RESETS_PER_SWITCH.nginx)).toEqual([]);
        expect(resetClaimBreaches(report, [{ start: 0, end: report.durationMs + 1 }], RESETS_PER_SWITCH.traefik)).toEqual([
            `switch 1 of 1: ${report.resets.raw} resets of the raw client, none allowed`,
        ]);
        // Ten equal spans: more than one reset per switch on average.
        const step = (report.durationMs + 1) / 10;
        const ten = Array.from({ length: 10 }, (_, i) => ({ start: i * step, end: (i + 1) * step }));
        const perSwitch = resetsPerSwitch(report, ten).perSwitch;
        expect(perSwitch.reduce((a, b) => a + b, 0)).toBe(report.resets.raw);
        expect(resetClaimBreaches(report, ten, RESETS_PER_SWITCH.nginx)).toEqual([
            `${report.resets.raw} resets of the raw client in 10 switches (${JSON.stringify(perSwitch)}), more than 1 per switch on average`,
        ]);
    });
});

describe("LoadGenerator against a server that answers 503 and closes", () => {
    const server = http.createServer((_req, res) => {
        res.statusCode = 503;
        res.end("no color is live yet\n");
    });
    afterAll(() => server.close());

    it("a 503 is a failure of every kind, and no reset", async () => {
        const report = await run(await listen(server), 400);
        expect(report.resets).toEqual({ fresh: 0, keepalive: 0, raw: 0 });
        for (const kind of ["fresh", "keepalive", "raw"] as const) expect(report.failed[kind]).toBeGreaterThan(5);
        const r = resetsPerSwitch(report, [{ start: 0, end: report.durationMs + 1 }]);
        expect(r.perSwitch).toEqual([0]);
        expect(r.otherFailures).toHaveLength(report.failed.raw);
        expect(resetClaimBreaches(report, [], 1)).toHaveLength(5); // the first five
    });
});

describe("switchSpans and resetsPerSwitch, on a made-up timeline", () => {
    const report: LoadReport = {
        samples: [{ kind: "raw", at: 5100, ms: 1, status: 0, error: "ECONNREFUSED", reset: false }],
        failed: { fresh: 0, keepalive: 0, raw: 1 },
        resets: { fresh: 0, keepalive: 0, raw: 4 },
        resetTimes: { fresh: [], keepalive: [], raw: [500, 1200, 2100, 2900] },
        resetColors: { fresh: [], keepalive: [], raw: ["blue", "blue", "green", "green"] },
        sent: 100,
        durationMs: 6000,
    };

    it("each span reaches the next up's start; the last ends tailMs after its up", () => {
        expect(switchSpans([{ start: 1000, end: 1800 }, { start: 2000, end: 2700 }], 500)).toEqual([
            { start: 1000, end: 2000 },
            { start: 2000, end: 3200 },
        ]);
    });

    it("counts per span, lists the resets outside and the failures that were not resets", () => {
        const spans = switchSpans([{ start: 1000, end: 1800 }, { start: 2000, end: 2700 }], 100);
        const r = resetsPerSwitch(report, spans);
        expect(r.perSwitch).toEqual([1, 1]);
        expect(r.outside).toEqual([500, 2900]);
        expect(r.otherFailures).toHaveLength(1);
        expect(resetClaimBreaches(report, spans, 1)).toEqual([
            "a reset of the raw client at 500 ms, outside every switch",
            "a reset of the raw client at 2900 ms, outside every switch",
            `a failed raw request that was no reset of a reused connection: ${JSON.stringify(report.samples[0])}`,
        ]);
        expect(resetClaimBreaches(report, [{ start: 0, end: 6000 }], 1)).toHaveLength(1); // the refused one
        expect(resetClaimBreaches(report, [{ start: 0, end: 6000 }], 0)[0]).toBe("switch 1 of 1: 4 resets of the raw client, none allowed");
        const tenths = Array.from({ length: 10 }, (_, i) => ({ start: i * 600, end: (i + 1) * 600 }));
        expect(resetClaimBreaches(report, tenths, 0.4).filter((b) => b.includes("on average"))).toEqual([]); // 4 in 10: the mean holds
        expect(resetClaimBreaches(report, tenths, 0.3)[0]).toBe("4 resets of the raw client in 10 switches ([1,0,1,1,1,0,0,0,0,0]), more than 0.3 per switch on average");
    });
});
