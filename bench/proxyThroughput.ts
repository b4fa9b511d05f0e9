/**
 * The benchmark's proxy table (issue 26): what the proxy costs the live service, for both proxy
 * kinds side by side, against the app reached directly, all in one run.
 *
 * One stack of the program (index.ts) per proxy kind. Each round measures, for each kind, 8 s at
 * 10 connections (autocannon, keep-alive, as fast as it goes) of each of three paths: the stack's
 * blue container directly (its address on the stack's network), the proxy container at its
 * address (the live listener, port 80), and the stack's `url`. The three take turns in slices of
 * 2 s (direct, proxy, url, direct, ...), so that the load other processes put on this shared
 * machine falls on all three alike: each proxy is compared with its own stack's app, measured in
 * the same seconds.
 *
 * The targets apply to the proxy at its address, as "direct" is the app at its address: the same
 * path but for the proxy. `url` is published on the host's loopback, and Docker relays a
 * connection from the host itself to a published port through its userland proxy (`docker-proxy`,
 * a second relay in front of the proxy that clients from other hosts never meet: theirs are
 * forwarded by the kernel); the `url` column shows what that relay adds on this machine.
 *
 * ROUNDS rounds in a row: the issue's figures fell from run to run (a connection per request left
 * thousands of TIME_WAIT sockets), so every round must meet the targets, the last one may not
 * fall below the first by more than DROP_LIMIT, and in no round may the proxy open more than
 * MAX_OPENS_PER_REQUEST connections to the app per request it passes on (the cause itself,
 * counted by the proxy's network namespace: `ActiveOpens` in /proc/net/snmp).
 *
 * The drop is taken on the share capped at 100 %. A proxy adds work to the app's and cannot make
 * the app faster, yet nginx measures above direct (118–147 % in the committed run). Most likely
 * (not proven) the app (Python, one interpreter lock) answers faster over the few connections
 * nginx's pool reuses (1 to 11 established after a round) than over autocannon's 10, and how many
 * it reuses varies from round to round. Uncapped, that noise alone moved nginx's share 17 and 38 points
 * between a first and a last round; capped, the check still catches any fall below the app's own
 * rate (docs/benchmark.md, "The proxy's cost").
 */
import autocannon from "autocannon";
import { ProgramStack, dockerCli } from "../test/helpers/programStack";

type ProxyKind = "nginx" | "traefik";
const KINDS: ProxyKind[] = ["nginx", "traefik"];

export const CONNECTIONS = 10;
export const DURATION_S = Number(process.env.BENCH_PROXY_SECONDS ?? 8);
/** The paths of a round take turns in slices this long. */
export const SLICE_S = 2;
export const ROUNDS = Number(process.env.BENCH_PROXY_ROUNDS ?? 5);
/** The issue's targets: requests/s as a share of direct, latency above direct in ms. */
export const TARGETS = {
    minShareOfDirect: { nginx: 0.7, traefik: 0.55 } as Record<ProxyKind, number>,
    p50AboveDirectMs: 1.5,
    p99AboveDirectMs: 5,
};
/** The last round's share of direct may be at most this much below the first round's. */
export const DROP_LIMIT = 0.1;
/** The demo app's port in each color's container: the "direct" path, and what the proxy's pool connects to. */
const APP_PORT = 8080;
/** Connections the proxy may open to the app per request it passes on: pooled, not one each (the issue's cause). */
export const MAX_OPENS_PER_REQUEST = 0.01;

export interface Cannon { rps: number; p50: number; p99: number; errors: number; non2xx: number; requests: number }
export interface ProxyRound {
    kind: ProxyKind;
    round: number;
    direct: Cannon;
    /** Through the proxy, at the proxy container's address: what the targets apply to. */
    proxied: Cannon;
    share: number;
    /** Through the proxy at `url` (the host's loopback, relayed by docker-proxy). */
    viaUrl: Cannon;
    viaUrlShare: number;
    /** TCP connections the proxy's network namespace opened in the round (`ActiveOpens`): to the app. */
    opened: number;
    /** `opened` per request the proxy passed on in the round (its address's and url's). */
    openedPerRequest: number;
    /** Connections from the proxy to the app still established at the round's end: its pool. */
    pooledAfter: number;
}
export interface ProxyThroughput {
    connections: number;
    durationS: number;
    rounds: ProxyRound[];
    targets: typeof TARGETS;
    dropLimit: number;
    maxOpensPerRequest: number;
    /** Every target missed, in words; empty when all were met. */
    misses: string[];
}


/** Responses of one path, gathered over its slices. */
class Path {
    private readonly times: number[] = [];
    private requests = 0;
    private seconds = 0;
    private errors = 0;
    private non2xx = 0;

    constructor(readonly url: string) {}

    /**
     * One autocannon run of `seconds`. Latency from each response's own time (autocannon's
     * `response` event, in fractions of a millisecond): its summary histogram counts whole
     * milliseconds, too coarse for targets of 1.5 ms.
     */
    async slice(seconds: number): Promise<void> {
        const instance = autocannon({ url: this.url, connections: CONNECTIONS, duration: seconds }) as unknown as autocannon.Instance;
        instance.on("response", (_client: unknown, _status: number, _bytes: number, ms: number) => this.times.push(ms));
        const r = await (instance as unknown as Promise<autocannon.Result>);
        this.requests += r.requests.total;
        this.seconds += r.duration;
        this.errors += r.errors + r.timeouts;
        this.non2xx += r.non2xx;
    }

    result(): Cannon {
        const sorted = [...this.times].sort((a, b) => a - b);
        const at = (p: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] * 100) / 100;
        return { rps: Math.round(this.requests / this.seconds), p50: at(50), p99: at(99), errors: this.errors, non2xx: this.non2xx, requests: this.requests };
    }
}

/** The paths, `DURATION_S` each, taking turns in slices of `SLICE_S`. */
async function interleaved(urls: string[]): Promise<Cannon[]> {
    const paths = urls.map((u) => new Path(u));
    for (let done = 0; done < DURATION_S; done += SLICE_S) {
        for (const p of paths) await p.slice(Math.min(SLICE_S, DURATION_S - done));
    }
    return paths.map((p) => p.result());
}

/** A share of direct as the drop compares it: above 100 % is the app's variance, not the proxy's (see the header). */
const capped = (share: number) => Math.min(share, 1);

/** The verdict on the rounds: each target each round, then the drop from the first round to the last. */
export function missesOf(rounds: ProxyRound[]): string[] {
    const misses: string[] = [];
    for (const r of rounds) {
        const at = `${r.kind}, round ${r.round}`;
        const min = TARGETS.minShareOfDirect[r.kind];
        if (!(r.share >= min)) misses.push(`${at}: ${r.proxied.rps} req/s is ${(r.share * 100).toFixed(1)} % of direct ${r.direct.rps}, target ≥ ${Math.round(min * 100)} %`);
        if (!(r.proxied.p50 <= r.direct.p50 + TARGETS.p50AboveDirectMs)) misses.push(`${at}: p50 ${r.proxied.p50} ms against direct ${r.direct.p50} ms, target ≤ +${TARGETS.p50AboveDirectMs} ms`);
        if (!(r.proxied.p99 <= r.direct.p99 + TARGETS.p99AboveDirectMs)) misses.push(`${at}: p99 ${r.proxied.p99} ms against direct ${r.direct.p99} ms, target ≤ +${TARGETS.p99AboveDirectMs} ms`);
        if (r.proxied.errors || r.proxied.non2xx) misses.push(`${at}: ${r.proxied.errors} errors and ${r.proxied.non2xx} non-2xx answers through the proxy`);
        if (!(r.openedPerRequest <= MAX_OPENS_PER_REQUEST)) misses.push(`${at}: the proxy opened ${r.opened} connections to the app for ${r.proxied.requests + r.viaUrl.requests} requests, target ≤ ${MAX_OPENS_PER_REQUEST * 100} % of them`);
    }
    for (const kind of KINDS) {
        const mine = rounds.filter((r) => r.kind === kind);
        if (mine.length < 2) continue;
        const first = mine[0], last = mine[mine.length - 1];
        if (capped(last.share) < capped(first.share) - DROP_LIMIT) {
            misses.push(`${kind}: the share of direct (capped at 100 %) fell from ${(capped(first.share) * 100).toFixed(1)} % (round ${first.round}) to ${(capped(last.share) * 100).toFixed(1)} % (round ${last.round}), more than ${DROP_LIMIT * 100} points`);
        }
    }
    return misses;
}

export async function measureProxyThroughput(id: string): Promise<ProxyThroughput> {
    const stacks = Object.fromEntries(KINDS.map((k) => [k, new ProgramStack(`${id}-px${k.slice(0, 2)}`)])) as Record<ProxyKind, ProgramStack>;
    const rounds: ProxyRound[] = [];
    try {
        for (const kind of KINDS) {
            const p = stacks[kind];
            await p.create({ proxyKind: kind, healthRetries: "10", healthDeadlineSeconds: "60" });
            const up = await p.up();
            if (up.summary.result !== "succeeded") throw new Error(`the program's up (${kind}) failed`);
        }
        const ipOf = (c: string) => dockerCli("inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", c);
        const urls = Object.fromEntries(KINDS.map((k) => [k, {
            direct: `http://${ipOf(stacks[k].containers("blue")[0])}:${APP_PORT}/`,
            proxy: `http://${ipOf(stacks[k].proxy())}:80/`,
            url: `${stacks[k].url}/`,
        }])) as Record<ProxyKind, { direct: string; proxy: string; url: string }>;
        const share = (a: Cannon, b: Cannon) => Math.round((a.rps / b.rps) * 1000) / 1000;
        const activeOpens = (k: ProxyKind) => tcpActiveOpens(dockerCli("exec", stacks[k].proxy(), "cat", "/proc/net/snmp"));
        // Warm up each path once (first connections, the proxies' pools, Python's first threads).
        for (const kind of KINDS) for (const u of Object.values(urls[kind])) await new Path(u).slice(2);
        for (let round = 1; round <= ROUNDS; round++) {
            for (const kind of KINDS) {
                console.log(`[bench] proxy throughput, round ${round}/${ROUNDS}: ${kind} (direct, through it at its address, through url, in turns)`);
                const opensBefore = activeOpens(kind);
                const [d, proxied, viaUrl] = await interleaved([urls[kind].direct, urls[kind].proxy, urls[kind].url]);
                const opened = activeOpens(kind) - opensBefore;
                const openedPerRequest = Math.round((opened / Math.max(1, proxied.requests + viaUrl.requests)) * 1e5) / 1e5;
                const pooledAfter = establishedTo(dockerCli("exec", stacks[kind].proxy(), "sh", "-c", "cat /proc/net/tcp /proc/net/tcp6 2>/dev/null; true"), APP_PORT);
                rounds.push({ kind, round, direct: d, proxied, share: share(proxied, d), viaUrl, viaUrlShare: share(viaUrl, d), opened, openedPerRequest, pooledAfter });
                console.log(JSON.stringify(rounds[rounds.length - 1]));
            }
        }
    } finally {
        for (const kind of KINDS) await stacks[kind].destroy().catch((e) => console.error(`[bench] destroy (${kind}): ${e}`));
    }
    return { connections: CONNECTIONS, durationS: DURATION_S, rounds, targets: TARGETS, dropLimit: DROP_LIMIT, maxOpensPerRequest: MAX_OPENS_PER_REQUEST, misses: missesOf(rounds) };
}

/** Established connections to `port` in the text of /proc/net/tcp (and tcp6). */
export function establishedTo(procNetTcp: string, port: number): number {
    const hex = `:${port.toString(16).toUpperCase().padStart(4, "0")}`;
    return procNetTcp.split("\n").filter((l) => {
        const f = l.trim().split(/\s+/);
        return f[2]?.endsWith(hex) && f[3] === "01";
    }).length;
}

/** `ActiveOpens` (TCP connections opened from the namespace) from the text of /proc/net/snmp. */
export function tcpActiveOpens(snmp: string): number {
    const [names, values] = snmp.split("\n").filter((l) => l.startsWith("Tcp:")).map((l) => l.trim().split(/\s+/));
    const i = names?.indexOf("ActiveOpens") ?? -1;
    const n = i > 0 && values ? Number(values[i]) : NaN;
    if (!Number.isInteger(n)) throw new Error(`no Tcp ActiveOpens counter in /proc/net/snmp: ${JSON.stringify(snmp.slice(0, 200))}`);
    return n;
}

export function proxyThroughputMarkdown(r: ProxyThroughput): string {
    const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
    return [
        `## The proxy's cost (issue 26)`,
        ``,
        `${r.connections} connections, ${r.durationS} s of each path per round in turns of ${SLICE_S} s (direct, proxy, url, direct, ...), autocannon, keep-alive; latency from each response's time. "direct": the stack's blue container at its address on the stack's network; "proxy": the proxy container at its address (the live listener); "url": the stack's \`url\` on the host's loopback, which Docker relays through its userland proxy (docker-proxy) before the proxy. Targets (on "proxy", against "direct"): nginx ≥ ${pct(r.targets.minShareOfDirect.nginx)} of direct requests/s, Traefik ≥ ${pct(r.targets.minShareOfDirect.traefik)}; p50 at most ${r.targets.p50AboveDirectMs} ms and p99 at most ${r.targets.p99AboveDirectMs} ms above direct; in every round, the proxy opening at most ${pct(r.maxOpensPerRequest)} as many connections to the app as it passes on requests (its namespace's \`ActiveOpens\`), and the last round's share (capped at 100 %: above it is the app's variance, see bench/proxyThroughput.ts) at most ${r.dropLimit * 100} points below the first's.`,
        ``,
        `| proxy | round | direct req/s | proxy req/s | share of direct | p50 ms direct / proxy | p99 ms direct / proxy | errors + non-2xx | url req/s (share) | url p50 / p99 ms | connections opened to the app | pooled after |`,
        `| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |`,
        ...r.rounds.map((x) => `| ${x.kind} | ${x.round} | ${x.direct.rps} | ${x.proxied.rps} | ${pct(x.share)} | ${x.direct.p50} / ${x.proxied.p50} | ${x.direct.p99} / ${x.proxied.p99} | ${x.proxied.errors + x.proxied.non2xx} | ${x.viaUrl.rps} (${pct(x.viaUrlShare)}) | ${x.viaUrl.p50} / ${x.viaUrl.p99} | ${x.opened} (${(x.openedPerRequest * 100).toFixed(2)} % of requests) | ${x.pooledAfter} |`),
        ``,
        r.misses.length ? `**Targets missed:**\n\n${r.misses.map((m) => `- ${m}`).join("\n")}` : `All targets met in every round.`,
        ``,
    ].join("\n");
}
