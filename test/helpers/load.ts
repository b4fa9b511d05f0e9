/**
 * A paced HTTP client for the end-to-end tests: it records every response (time, status,
 * color) so a test can count failures and find the flip window. It is not the benchmark's
 * load generator (that is autocannon, in bench/); it exists because the tests need per-response
 * colors and a client that behaves like a browser on a reset keep-alive connection.
 *
 * Up to three kinds of traffic, sharing `rate` requests per second:
 * - `fresh`: a new TCP connection per request;
 * - `keepalive`: reused connections; an idempotent GET that fails on a *reused* socket with a
 *   reset is retried once on a new connection (RFC 9112 section 9.3.1, what browsers do);
 * - `raw`: reused connections, never retried; its resets are the figure a reload costs.
 *
 * Every reset on a reused connection is recorded with its time (`LoadReport.resetTimes`), so a
 * test can count them per switch (`resetsPerSwitch`) and hold them to the README's figure
 * (`RESETS_PER_SWITCH`, `resetClaimBreaches`).
 */
import * as http from "node:http";
import type { Socket } from "node:net";

export type Kind = "fresh" | "keepalive" | "raw";

export interface Sample {
    kind: Kind;
    /** ms since the run started, when the response (or error) arrived. */
    at: number;
    /** ms from sending the request (at its scheduled time) to this answer, a retry included. */
    ms: number;
    status: number; // 0 for a transport error
    color?: string;
    version?: string;
    error?: string;
    retried?: boolean;
    /** The request (its first attempt) failed with a reset on a reused connection. */
    reset?: boolean;
}

export interface LoadReport {
    samples: Sample[];
    /** Requests per kind that got no 2xx answer. */
    failed: Record<Kind, number>;
    /** Resets on reused connections (before any retry), per kind. */
    resets: Record<Kind, number>;
    /** When each of those resets arrived (ms on the run's timeline), per kind. */
    resetTimes: Record<Kind, number[]>;
    /**
     * The color that last answered on each reset connection, in `resetTimes`' order ("" if none
     * had): which color's pods or proxy closed it.
     */
    resetColors: Record<Kind, string[]>;
    sent: number;
    durationMs: number;
}

function get(url: string, agent: http.Agent | false): Promise<{ status: number; body: string; socket?: Socket }> {
    return new Promise((resolve, reject) => {
        let socket: Socket | undefined;
        const req = http.get(url, { agent, timeout: 10_000 }, (res) => {
            let body = "";
            res.setEncoding("utf8");
            res.on("data", (d) => (body += d));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body, socket }));
            res.on("error", (e) => reject(Object.assign(e, { reused: req.reusedSocket, socket })));
        });
        req.on("socket", (s) => (socket = s));
        // The local port tells a timed-out connection apart in the kernel's tables (conntrack).
        req.on("timeout", () => req.destroy(new Error(`timeout (local port ${socket?.localPort ?? "unknown"})`)));
        req.on("error", (e) => reject(Object.assign(e, { reused: req.reusedSocket, socket })));
    });
}

export class LoadGenerator {
    private readonly samples: Sample[] = [];
    private readonly resets: Record<Kind, number> = { fresh: 0, keepalive: 0, raw: 0 };
    private readonly resetTimes: Record<Kind, number[]> = { fresh: [], keepalive: [], raw: [] };
    private readonly resetColors: Record<Kind, string[]> = { fresh: [], keepalive: [], raw: [] };
    /** The color that last answered on each pooled connection. */
    private readonly socketColor = new WeakMap<Socket, string>();
    private readonly agents = {
        keepalive: new http.Agent({ keepAlive: true, maxSockets: 8 }),
        raw: new http.Agent({ keepAlive: true, maxSockets: 8 }),
    };
    private timer?: NodeJS.Timeout;
    private inflight = new Set<Promise<void>>();
    private start = 0;
    private sent = 0;

    /** `rate` requests per second in all, shared evenly by `kinds`. */
    constructor(
        private readonly url: string,
        private readonly rate = 240,
        private readonly kinds: Kind[] = ["fresh", "keepalive", "raw"],
    ) {}

    run(): void {
        this.start = Date.now();
        const perTick = this.rate / this.kinds.length / 50; // 20 ms ticks
        let debt = 0;
        this.timer = setInterval(() => {
            debt += perTick;
            while (debt >= 1) {
                debt -= 1;
                for (const kind of this.kinds) this.fire(kind);
            }
        }, 20);
    }

    /** Samples so far (the run goes on). */
    snapshot(): Sample[] {
        return [...this.samples];
    }

    private fire(kind: Kind): void {
        this.sent++;
        const p = this.one(kind).finally(() => this.inflight.delete(p));
        this.inflight.add(p);
    }

    private async one(kind: Kind): Promise<void> {
        const sentAt = Date.now();
        let retried = false;
        for (;;) {
            // The one retry goes out on a new connection, as RFC 9112 section 9.3.1 describes and
            // browsers do: another pooled socket may be closing for the same reason.
            const agent = kind === "fresh" || retried ? false : this.agents[kind];
            try {
                const r = await get(this.url, agent);
                let color: string | undefined;
                let version: string | undefined;
                try {
                    ({ color, version } = JSON.parse(r.body));
                } catch { /* non-JSON error page */ }
                if (r.socket && color) this.socketColor.set(r.socket, color);
                this.samples.push({ kind, at: Date.now() - this.start, ms: Date.now() - sentAt, status: r.status, color, version, retried });
                return;
            } catch (e) {
                const err = e as NodeJS.ErrnoException & { reused?: boolean; socket?: Socket };
                const reset = err.reused === true && (err.code === "ECONNRESET" || err.code === "EPIPE" || /socket hang up/.test(err.message));
                if (reset && !retried) {
                    this.resets[kind]++;
                    this.resetTimes[kind].push(Date.now() - this.start);
                    this.resetColors[kind].push((err.socket && this.socketColor.get(err.socket)) ?? "");
                }
                if (kind === "keepalive" && reset && !retried) {
                    retried = true;
                    continue;
                }
                this.samples.push({ kind, at: Date.now() - this.start, ms: Date.now() - sentAt, status: 0, error: `${err.code ?? ""} ${err.message}`, retried, reset: reset && !retried });
                return;
            }
        }
    }

    /** ms since start; use it to place events (the `up` call) on the samples' timeline. */
    now(): number {
        return Date.now() - this.start;
    }

    async stop(): Promise<LoadReport> {
        clearInterval(this.timer);
        await Promise.all([...this.inflight]);
        this.agents.keepalive.destroy();
        this.agents.raw.destroy();
        const failed = { fresh: 0, keepalive: 0, raw: 0 };
        for (const s of this.samples) if (s.status < 200 || s.status > 299) failed[s.kind]++;
        const resetTimes = { fresh: [...this.resetTimes.fresh], keepalive: [...this.resetTimes.keepalive], raw: [...this.resetTimes.raw] };
        const resetColors = { fresh: [...this.resetColors.fresh], keepalive: [...this.resetColors.keepalive], raw: [...this.resetColors.raw] };
        return { samples: this.samples, failed, resets: { ...this.resets }, resetTimes, resetColors, sent: this.sent, durationMs: this.now() };
    }
}

/** The first few failures of a kind, for an assertion message. */
export function failuresOf(report: LoadReport, kind: Kind): string {
    return JSON.stringify(report.samples.filter((s) => s.kind === kind && (s.status < 200 || s.status > 299)).slice(0, 5));
}

/**
 * The README's figures for a client that never retries ("Which proxy"), as resets per switch on
 * average over at least `SWITCHES_FOR_A_MEAN` switches. nginx's graceful reload closes the
 * keep-alive connections idle at that instant, and a request sent on one just then is reset: at
 * most one per connection the client holds, fewer than one per switch on average (0.4 measured
 * over 10 switches at 240 requests/s, while one switch cost 2). Traefik swaps routes in process
 * and closes no connection: none, in every switch.
 */
export const RESETS_PER_SWITCH = { nginx: 1, traefik: 0 } as const;

/** How many switches a mean is taken over: one switch may cost a client with two idle connections two resets. */
export const SWITCHES_FOR_A_MEAN = 10;

/** A stretch of the run's timeline, in ms (`end` excluded): one switch's `up` and what follows it until the next. */
export interface Span {
    start: number;
    end: number;
}

export interface SwitchResets {
    /** Resets of the kind on reused connections inside each span, in the spans' order. */
    perSwitch: number[];
    /** Resets of the kind outside every span (before, between, after the switches). */
    outside: number[];
    /** Failed requests of the kind that were not a reset on a reused connection: refused, a non-2xx answer, a timeout, a reset of a new connection. */
    otherFailures: Sample[];
}

/** Counts a kind's resets per switch, `spans` being each switch's stretch of the timeline. */
export function resetsPerSwitch(report: LoadReport, spans: Span[], kind: Kind = "raw"): SwitchResets {
    const times = report.resetTimes[kind];
    const inside = (t: number, s: Span) => t >= s.start && t < s.end;
    return {
        perSwitch: spans.map((s) => times.filter((t) => inside(t, s)).length),
        outside: times.filter((t) => !spans.some((s) => inside(t, s))),
        otherFailures: report.samples.filter((s) => s.kind === kind && (s.status < 200 || s.status > 299) && !s.reset),
    };
}

/**
 * Where a run breaks the claim that a client of `kind` (by default the one that never retries)
 * is reset only during a switch, `meanPerSwitch` times per switch at most on average, and fails
 * no request otherwise. The mean is checked over `SWITCHES_FOR_A_MEAN` switches or more; with a
 * mean of 0, every switch must have none. Returns each breach (every reset outside a switch, the
 * first five other failures); empty when the claim holds.
 */
export function resetClaimBreaches(report: LoadReport, spans: Span[], meanPerSwitch: number, kind: Kind = "raw"): string[] {
    const r = resetsPerSwitch(report, spans, kind);
    const total = r.perSwitch.reduce((a, b) => a + b, 0);
    const mean = meanPerSwitch === 0
        ? r.perSwitch.flatMap((n, i) => (n > 0 ? [`switch ${i + 1} of ${spans.length}: ${n} resets of the ${kind} client, none allowed`] : []))
        : spans.length >= SWITCHES_FOR_A_MEAN && total > meanPerSwitch * spans.length
          ? [`${total} resets of the ${kind} client in ${spans.length} switches (${JSON.stringify(r.perSwitch)}), more than ${meanPerSwitch} per switch on average`]
          : [];
    return [
        ...mean,
        ...r.outside.map((t) => `a reset of the ${kind} client at ${t} ms, outside every switch`),
        ...r.otherFailures.slice(0, 5).map((s) => `a failed ${kind} request that was no reset of a reused connection: ${JSON.stringify(s)}`),
    ];
}

/**
 * Spans of consecutive switches from when each `up` started: each reaches the next one's start,
 * the last `tailMs` past its `up`'s end.
 */
export function switchSpans(ups: { start: number; end: number }[], tailMs = 1000): Span[] {
    return ups.map((u, i) => ({ start: u.start, end: i + 1 < ups.length ? ups[i + 1].start : u.end + tailMs }));
}

/** First response from `to` and last one from `from`, in ms on the run's timeline. */
export function flipWindow(samples: Sample[], from: string, to: string): { firstNew?: number; lastOld?: number } {
    const firstNew = samples.filter((s) => s.color === to).reduce<number | undefined>((m, s) => (m === undefined || s.at < m ? s.at : m), undefined);
    const lastOld = samples.filter((s) => s.color === from).reduce<number | undefined>((m, s) => (m === undefined || s.at > m ? s.at : m), undefined);
    return { firstNew, lastOld };
}

/** GET `url` and parse the demo app's JSON, retrying until `deadlineMs`. */
export async function getJson(url: string, deadlineMs = 20_000): Promise<{ status: number; json: any }> {
    const until = Date.now() + deadlineMs;
    let last: unknown;
    for (;;) {
        try {
            const r = await get(url, false);
            return { status: r.status, json: JSON.parse(r.body) };
        } catch (e) {
            last = e;
        }
        if (Date.now() > until) throw new Error(`GET ${url} failed until the deadline: ${String(last)}`);
        await new Promise((r) => setTimeout(r, 250));
    }
}
