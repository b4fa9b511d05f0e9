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
 */
import * as http from "node:http";

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
}

export interface LoadReport {
    samples: Sample[];
    /** Requests per kind that got no 2xx answer. */
    failed: Record<Kind, number>;
    /** Resets on reused connections (before any retry), per kind. */
    resets: Record<Kind, number>;
    sent: number;
    durationMs: number;
}

function get(url: string, agent: http.Agent | false): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
        const req = http.get(url, { agent, timeout: 10_000 }, (res) => {
            let body = "";
            res.setEncoding("utf8");
            res.on("data", (d) => (body += d));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
            res.on("error", (e) => reject(Object.assign(e, { reused: req.reusedSocket })));
        });
        req.on("timeout", () => req.destroy(new Error("timeout")));
        req.on("error", (e) => reject(Object.assign(e, { reused: req.reusedSocket })));
    });
}

export class LoadGenerator {
    private readonly samples: Sample[] = [];
    private readonly resets: Record<Kind, number> = { fresh: 0, keepalive: 0, raw: 0 };
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
                this.samples.push({ kind, at: Date.now() - this.start, ms: Date.now() - sentAt, status: r.status, color, version, retried });
                return;
            } catch (e) {
                const err = e as NodeJS.ErrnoException & { reused?: boolean };
                const reset = err.reused === true && (err.code === "ECONNRESET" || err.code === "EPIPE" || /socket hang up/.test(err.message));
                if (reset && !retried) this.resets[kind]++;
                if (kind === "keepalive" && reset && !retried) {
                    retried = true;
                    continue;
                }
                this.samples.push({ kind, at: Date.now() - this.start, ms: Date.now() - sentAt, status: 0, error: `${err.code ?? ""} ${err.message}`, retried });
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
        return { samples: this.samples, failed, resets: { ...this.resets }, sent: this.sent, durationMs: this.now() };
    }
}

/** The first few failures of a kind, for an assertion message. */
export function failuresOf(report: LoadReport, kind: Kind): string {
    return JSON.stringify(report.samples.filter((s) => s.kind === kind && (s.status < 200 || s.status > 299)).slice(0, 5));
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
