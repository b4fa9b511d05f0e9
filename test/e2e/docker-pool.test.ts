/**
 * The proxies' connection pools to the colors (issue 26), on the program itself (`index.ts`) with
 * both proxies, the live color at two replicas, real HTTP: what routing by network alias bought
 * must hold with pooled connections.
 *
 * - The pool: url's requests reach both replicas over a few kept-alive connections, not one
 *   connection per request.
 * - A replica stopped by hand drops out within a second, with no failed request; started again, it
 *   serves again (nginx; Traefik's pool may stay on the replicas it has, see README).
 * - A replica killed under load (`docker kill`, 200 requests/s) costs at most the requests in
 *   flight on it; requests sent a second after the kill are all answered, promptly.
 * - An address Docker hands to another container (the stopped replica's, at once given to an
 *   impostor that answers as color "impostor") never carries url's traffic.
 * - Replacing or adding replicas does not reload the proxy (nginx's workers and Traefik's file
 *   unchanged), and url's clients see nothing: 0 failed requests, 0 resets of a client that never
 *   retries.
 * - Traefik: the drain's signal. Pooled connections to the old color close 0.2 s after their last
 *   request; a stream's connection stays open, and the switch waits for it.
 */
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { CONNECT_TIMEOUT_SECONDS } from "../../components/nginxConfig";
import type { ProxyKind } from "../../components/settings";
import { TRAEFIK_IDLE_CONN_MS } from "../../components/traefikConfig";
import { LoadGenerator, failuresOf } from "../helpers/load";
import { ProgramStack, dockerCli, dockerOk, expectCleanTeardown } from "../helpers/programStack";
import { openStream, sleep } from "../helpers/stream";
import { runId } from "../helpers/toolchain";

const DRAIN = 3; // drainSeconds of these stacks

/** One request of the paced client: when it was sent and answered (epoch ms), and by which replica. */
interface Hit { sent: number; at: number; status: number; fresh: boolean; host?: string; color?: string; error?: string }

/**
 * A paced HTTP client that records which replica answered (the demo app's `host`). It never
 * retries: a reset or a refused connection is a failed request. Kept-alive connections, or a new
 * one per request.
 */
class Hosts {
    readonly hits: Hit[] = [];
    private timer?: NodeJS.Timeout;
    private readonly inflight = new Set<Promise<void>>();
    private readonly agent: http.Agent | false;

    constructor(private readonly url: string, private readonly rate: number, keepAlive: boolean) {
        this.agent = keepAlive ? new http.Agent({ keepAlive: true, maxSockets: 16 }) : false;
    }

    run(): this {
        // Paced by the clock, not by the timer's ticks: a busy event loop ticks late, and the
        // requests due meanwhile are sent at once rather than dropped.
        const t0 = Date.now();
        let sent = 0;
        this.timer = setInterval(() => {
            for (const due = Math.floor(((Date.now() - t0) * this.rate) / 1000); sent < due; sent++) {
                const p = this.one().finally(() => this.inflight.delete(p));
                this.inflight.add(p);
            }
        }, 10);
        return this;
    }

    private one(): Promise<void> {
        const sent = Date.now();
        return new Promise((resolve) => {
            let done = false;
            const record = (h: Omit<Hit, "sent" | "at" | "fresh">) => {
                if (done) return;
                done = true;
                this.hits.push({ sent, at: Date.now(), fresh: !this.agent, ...h });
                resolve();
            };
            const req = http.get(this.url, { agent: this.agent, timeout: 10_000 }, (res) => {
                let body = "";
                res.setEncoding("utf8");
                res.on("data", (d) => (body += d));
                res.on("end", () => {
                    let j: { host?: string; color?: string } = {};
                    try { j = JSON.parse(body); } catch { /* not the app's answer */ }
                    record({ status: res.statusCode ?? 0, host: j.host, color: j.color });
                });
                res.on("error", (e) => record({ status: 0, error: String((e as NodeJS.ErrnoException).code ?? e.message) }));
            });
            req.on("timeout", () => req.destroy(new Error("timeout")));
            req.on("error", (e) => record({ status: 0, error: String((e as NodeJS.ErrnoException).code ?? e.message) }));
        });
    }

    async stop(): Promise<Hit[]> {
        clearInterval(this.timer);
        await Promise.all([...this.inflight]);
        if (this.agent) this.agent.destroy();
        return this.hits;
    }
}

/** 100 requests/s on kept-alive connections and 100 on new ones: 200 requests/s on `url`. */
function load(url: string) {
    const clients = [new Hosts(url, 100, true).run(), new Hosts(url, 100, false).run()];
    return { stop: async () => (await Promise.all(clients.map((c) => c.stop()))).flat().sort((a, b) => a.sent - b.sent) };
}

const ok = (h: Hit) => h.status >= 200 && h.status < 300;
const hostOf = (container: string) => dockerCli("inspect", "-f", "{{.Config.Hostname}}", container);
const ipOf = (container: string) => dockerCli("inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", container);
const running = (container: string) => dockerCli("inspect", "-f", "{{.State.Running}}", container) === "true";
/** Runs a shell script in a container. */
const shIn = (container: string, script: string, ...args: string[]) => dockerCli("exec", container, "sh", "-c", script, "sh", ...args);

/** Waits until `url` has been answered by every host in `hosts` (fresh connections), or throws. */
async function untilServedBy(url: string, hosts: string[], ms = 15_000): Promise<void> {
    const seen = new Set<string>();
    const until = Date.now() + ms;
    while (Date.now() < until) {
        const c = new Hosts(url, 100, false).run();
        await sleep(300);
        for (const h of await c.stop()) if (ok(h) && h.host) seen.add(h.host);
        if (hosts.every((h) => seen.has(h))) return;
    }
    throw new Error(`${url} was not answered by all of ${hosts.join(", ")} within ${ms} ms (seen: ${[...seen].join(", ")})`);
}

/**
 * TCP connections between the proxy and the colors' port that the kernel still knows (open, or
 * closed within the last minute: TIME_WAIT on the side that closed first). Counted on the proxy's
 * side (any state) and on each replica's (TIME_WAIT only: the ones it closed first).
 */
function connectionsToColors(p: ProgramStack): number {
    const lines = (c: string) => shIn(c, "cat /proc/net/tcp /proc/net/tcp6 2>/dev/null").split("\n").map((l) => l.trim().split(/\s+/));
    const port = ":1F90"; // 8080, the demo's port
    const proxySide = lines(p.proxy()).filter((f) => f[2]?.endsWith(port)).length;
    const appSide = [...p.containers("blue"), ...p.containers("green")].filter(running)
        .map((c) => lines(c).filter((f) => f[1]?.endsWith(port) && f[3] === "06").length).reduce((a, b) => a + b, 0);
    return proxySide + appSide;
}

/** The proxy's own log since `since` (epoch ms), but for the idle color's alias not resolving. */
function proxyLog(p: ProgramStack, since: number): string[] {
    const r = spawnSync("docker", ["logs", "--since", new Date(since).toISOString(), p.proxy()], { encoding: "utf8" });
    const lines = `${r.stdout}${r.stderr}`.split("\n").filter(Boolean);
    const unresolved = lines.filter((l) => /could not be resolved/.test(l));
    return [...(unresolved.length ? [`${unresolved.length} lines "could not be resolved", the first: ${unresolved[0]}`] : []), ...lines.filter((l) => !unresolved.includes(l)).slice(0, 8)];
}

/** What would show a reload: nginx's worker processes, or Traefik's file (inode, mtime) and process. */
function proxyGeneration(p: ProgramStack, kind: ProxyKind): string {
    if (kind === "nginx") {
        return shIn(p.proxy(), `for d in /proc/[0-9]*; do case "$(tr '\\0' ' ' < $d/cmdline 2>/dev/null)" in "nginx: worker process"*) echo \${d#/proc/} ;; esac; done | sort -n | tr '\\n' ' '`);
    }
    return shIn(p.proxy(), `stat -c '%i %Y' /etc/traefik/bluegreen/live.yml; for d in /proc/[0-9]*; do case "$(tr '\\0' ' ' < $d/cmdline 2>/dev/null)" in traefik\\ *) echo \${d#/proc/} ;; esac; done`);
}

describe.each<ProxyKind>(["nginx", "traefik"])("pooled connections to the colors, %s proxy", (kind) => {
    const p = new ProgramStack(runId(`bgpool${kind.slice(0, 2)}`));
    const figures: Record<string, unknown> = {};
    let a = "", b = ""; // blue's two replicas (container names)
    let hostA = "", hostB = ""; // and their hostnames, which the demo app answers as `host`

    beforeAll(async () => {
        await p.create({ proxyKind: kind, blueReplicas: "2", drainSeconds: String(DRAIN) });
    });

    afterAll(async () => {
        for (const c of dockerCli("ps", "-aq", "--filter", `label=bluegreen.pool-impostor=${p.prefix}`).split("\n").filter(Boolean)) dockerCli("rm", "-f", c);
        await p.destroy();
        console.log(`pool figures (${kind}):`, JSON.stringify(figures, null, 2));
    });

    it("up: url is served by both of blue's replicas, over a few pooled connections, not one per request", async () => {
        const up = await p.up();
        expect(up.summary.result).toBe("succeeded");
        [a, b] = p.containers("blue");
        [hostA, hostB] = [hostOf(a), hostOf(b)];
        await untilServedBy(p.url, [hostA, hostB]);
        const before = connectionsToColors(p);
        const c = new Hosts(p.url, 600, true).run();
        await sleep(5000);
        const hits = await c.stop();
        const after = connectionsToColors(p);
        const byHost = Object.fromEntries([hostA, hostB].map((h) => [h, hits.filter((x) => x.host === h).length]));
        figures.pool = { requests: hits.length, connectionsBefore: before, connectionsAfter: after, byHost };
        expect(hits.filter((h) => !ok(h)).slice(0, 3)).toEqual([]);
        expect(hits.length).toBeGreaterThan(1500);
        // Without a pool each request is a connection (in TIME_WAIT for a minute after it).
        expect(after).toBeLessThan(hits.length / 10);
        // nginx picks a replica per request; Traefik per new connection, so how the requests
        // split follows which replica its few pooled connections went to (113 of 2,994 in one run).
        for (const n of Object.values(byHost)) expect(n).toBeGreaterThan(kind === "nginx" ? hits.length / 10 : 0);
    });

    it("a replica stopped by hand drops out within about a second without a failed request, and serves again once started", async () => {
        const l = load(p.url);
        await sleep(1500);
        const ipBefore = ipOf(a);
        const stopStart = Date.now();
        dockerCli("stop", a);
        const stopEnd = Date.now();
        await sleep(3000);
        const startAt = Date.now();
        dockerCli("start", a);
        const ipAfter = ipOf(a);
        await sleep(5000);
        const hits = await l.stop();
        const ms = (h: Hit) => h.at - h.sent;
        const stopped = hits.filter((h) => h.sent >= stopStart && h.sent < startAt);
        const out = stopped.filter((h) => h.sent >= stopEnd + 1000);
        const settled = stopped.filter((h) => h.sent >= stopEnd + 2000);
        const waited = stopped.filter((h) => ms(h) >= CONNECT_TIMEOUT_SECONDS * 1000);
        const back = hits.filter((h) => h.sent >= startAt + 2000 && h.host === hostA);
        figures.stopped = {
            requests: hits.length, failed: hits.filter((h) => !ok(h)).length, stopMs: stopEnd - stopStart, ipBefore, ipAfter,
            waitedConnectTimeout: waited.length, lastSentThatWaitedMsAfterStop: Math.max(...waited.map((h) => h.sent - stopEnd)),
            maxMsWhileStopped: Math.max(...stopped.map(ms)), maxMsFromTwoSeconds: Math.max(...settled.map(ms)),
            answeredByItAgain: back.length, firstAnswerMsAfterStart: (hits.find((h) => h.sent >= startAt && h.host === hostA)?.at ?? NaN) - startAt,
            proxyLog: proxyLog(p, stopStart), proxyLogAfterStart: proxyLog(p, startAt),
            // What Docker's DNS answers for the alias now, asked from inside the proxy's network.
            aliasResolvesTo: spawnSync("docker", ["exec", p.proxy(), "getent", "ahostsv4", "blue"], { encoding: "utf8" }).stdout.split("\n").filter((l) => /STREAM/.test(l)).map((l) => l.split(" ")[0]),
        };
        expect(hits.filter((h) => !ok(h)).slice(0, 3)).toEqual([]);
        // From a second after the stop: only the other replica answers.
        expect(out.length).toBeGreaterThan(300);
        expect(out.filter((h) => h.host !== hostB).slice(0, 3)).toEqual([]);
        // The price (README): nginx keeps the gone address until its next resolution or until a
        // request to it has timed out, and each request it sends there meanwhile waits the connect
        // timeout before the other replica answers it (in 6 local runs 39 to 203 requests, the
        // last sent 13 to 1,014 ms after the stop returned). So: no answer later than one connect
        // timeout (plus 0.5 s for the client's own queue), and none sent from 2 s after the stop
        // waits it.
        expect(Math.max(...stopped.map(ms))).toBeLessThan(CONNECT_TIMEOUT_SECONDS * 1000 + 500);
        expect(settled.length).toBeGreaterThan(100);
        expect(Math.max(...settled.map(ms))).toBeLessThan(CONNECT_TIMEOUT_SECONDS * 1000);
        // nginx resolves the alias again every second; Traefik's pool can keep to the replica it has.
        // In 10 of 11 local runs nginx sent it 329 to 344 of the requests from 2 s after its start;
        // in one, none within the 5 s the load ran (cause not found), so "again" is asked of url
        // for 10 s more on new connections, and how long it took is a figure.
        if (kind === "nginx" && back.length < 50) {
            const late = await untilServedBy(p.url, [hostA], 10_000).then(() => Date.now() - startAt, (e: Error) => e.message);
            figures.stoppedServedAgain = { backInTheLoad: back.length, msAfterStart: late };
            expect(typeof late, `nginx sent the restarted replica none of url's requests: ${late}`).toBe("number");
        }
    });

    it("a replica killed under load (docker kill, 200 requests/s) costs at most the requests in flight on it; a second later every request is answered, by the other replica", async () => {
        await untilServedBy(p.url, [hostA, hostB]).catch(() => undefined); // Traefik may keep to b
        onTestFinished(() => { if (!running(a)) dockerCli("start", a); });
        const l = load(p.url);
        await sleep(1500);
        const killStart = Date.now();
        dockerCli("kill", a);
        const killEnd = Date.now();
        await sleep(4000);
        const hits = await l.stop();
        const failed = hits.filter((h) => !ok(h));
        const inFlight = hits.filter((h) => h.sent <= killEnd && h.at >= killStart);
        const later = hits.filter((h) => h.sent >= killEnd + 1000);
        const firstSecond = hits.filter((h) => h.sent > killEnd && h.sent < killEnd + 1000);
        figures.killed = {
            requests: hits.length, failed: failed.length, failures: failed.slice(0, 5).map((h) => ({ ...h, sentMsAfterKill: h.sent - killEnd })),
            inFlightAtKill: inFlight.length, killMs: killEnd - killStart,
            maxMsFirstSecond: Math.max(...firstSecond.map((h) => h.at - h.sent)), maxMsLater: Math.max(...later.map((h) => h.at - h.sent)),
            restartedByDocker: running(a), proxyLog: proxyLog(p, killStart),
        };
        // Only requests already sent when the kill came may fail, no more of them than were in flight.
        expect(failed.filter((h) => h.sent > killEnd).slice(0, 3)).toEqual([]);
        expect(failed.length).toBeLessThanOrEqual(inFlight.length);
        // A second after it: every request answered, and by the color's other replica (issue 26:
        // new requests go to the other replicas within a second). How long they took is a figure
        // (maxMsLater): in one CI run a request sent 1.1 s after the kill still waited nginx's
        // connect timeout (1 s) on the killed address before the other replica answered it.
        expect(later.length).toBeGreaterThan(400);
        expect(later.filter((h) => !ok(h)).slice(0, 3)).toEqual([]);
        expect(later.filter((h) => h.host !== hostB).slice(0, 3)).toEqual([]);
    });

    it("an address Docker hands to another container never carries url's traffic", async () => {
        expect(running(a)).toBe(true);
        const ipA = ipOf(a);
        const network = dockerCli("inspect", "-f", "{{range $k, $v := .NetworkSettings.Networks}}{{$k}}{{end}}", a);
        const l = load(p.url);
        await sleep(1500);
        dockerCli("stop", a);
        // At once, a container that is no color, on the same network: Docker gives it the lowest
        // free address, the one the stopped replica had.
        const impostor = dockerCli("run", "-d", "--label", `bluegreen.pool-impostor=${p.prefix}`, "--network", network,
            "-e", "COLOR=impostor", "-e", "PORT=8080", "bluegreen/demo:1.0.0");
        const impostorAt = Date.now();
        try {
            // Long enough that an address still in the proxy's list would be tried again by then
            // (nginx skips a replica that failed for its fail_timeout: 5 s here, 10 s by default).
            await sleep(12_000);
            const hits = await l.stop();
            expect(ipOf(impostor), "the impostor got the stopped replica's address").toBe(ipA);
            // It serves there: from the proxy's container, that address answers as the impostor.
            expect(shIn(p.proxy(), 'curl -s -m 2 "$1" 2>/dev/null || wget -qO- -T 2 "$1"', `http://${ipA}:8080/`)).toContain('"color": "impostor"');
            figures.impostor = { requests: hits.length, afterImpostor: hits.filter((h) => h.sent > impostorAt).length, colors: [...new Set(hits.map((h) => h.color))] };
            expect(hits.filter((h) => h.color !== "blue").slice(0, 3)).toEqual([]);
            expect(hits.filter((h) => h.sent > impostorAt).length).toBeGreaterThan(1500);
        } finally {
            dockerCli("rm", "-f", impostor);
            dockerCli("start", a);
        }
    });

    it("replacing the idle color's replicas and adding one to the live color do not reload the proxy; url's clients see nothing", async () => {
        const generation = proxyGeneration(p, kind);
        expect(generation.trim()).not.toBe("");
        const lg = new LoadGenerator(p.url, 240);
        lg.run();
        await sleep(1000);
        const steps: Record<string, unknown> = {};
        for (const change of [{ greenImage: "bluegreen/demo:1.0.0" }, { greenReplicas: "2" }, { blueReplicas: "3" }] as Record<string, string>[]) {
            await p.set(change);
            const up = await p.up();
            expect(up.summary.result).toBe("succeeded");
            steps[Object.keys(change)[0]] = up.summary.resourceChanges;
        }
        await sleep(1500);
        const report = await lg.stop();
        const [, , c] = p.containers("blue");
        figures.noReload = { steps, requests: report.samples.length, rawResets: report.resets.raw, generationBefore: generation, generationAfter: proxyGeneration(p, kind) };
        expect(proxyGeneration(p, kind)).toBe(generation);
        expect(report.failed.fresh, failuresOf(report, "fresh")).toBe(0);
        expect(report.failed.keepalive, failuresOf(report, "keepalive")).toBe(0);
        expect(report.failed.raw, failuresOf(report, "raw")).toBe(0);
        expect(report.resets.raw).toBe(0);
        expect(report.samples.filter((s) => s.color !== "blue").slice(0, 3)).toEqual([]);
        // The new live replica gets requests (nginx: the alias is resolved again within a second).
        if (kind === "nginx") await untilServedBy(p.url, [hostOf(c)]);
    });

    if (kind === "traefik") it(`the drain's signal: after a switch, Traefik's pooled connections to the old color close within ${TRAEFIK_IDLE_CONN_MS} ms of their last request; a stream's stays open and the switch waits for it`, async () => {
        const blueIps = p.containers("blue").map(ipOf);
        // Samples, every 50 ms, how many of Traefik's established connections go to blue.
        const hex = blueIps.map((ip) => ip.split(".").reverse().map((o) => Number(o).toString(16).toUpperCase().padStart(2, "0")).join(""));
        const sampler = spawn("docker", ["exec", p.proxy(), "sh", "-c",
            `i=0; while [ $i -lt 300 ]; do i=$((i+1)); n=0; for h in $(cat /proc/net/tcp | awk '$4 == "01" { split($3, r, ":"); print r[1] }'); do case " $1 " in *" $h "*) n=$((n+1)) ;; esac; done; read up _ < /proc/uptime; echo "$up $n"; sleep 0.05; done`,
            "sh", hex.join(" ")]);
        let out = "";
        sampler.stdout.on("data", (d) => (out += d));
        const uptime0 = Number(fs.readFileSync("/proc/uptime", "utf8").split(" ")[0]);
        const wall0 = Date.now();
        const samples = () => out.trim().split("\n").filter(Boolean).map((l) => { const [u, n] = l.split(" ").map(Number); return { at: wall0 + (u - uptime0) * 1000, n }; });
        const l = load(p.url);
        const stream = openStream(p.url, 60);
        try {
            await sleep(1500);
            await p.set({ activeColor: "green" });
            const upStart = Date.now();
            const up = await p.up();
            const upEnd = Date.now();
            expect(up.summary.result).toBe("succeeded");
            await sleep(1000);
            const hits = await l.stop();
            const firstGreen = Math.min(...hits.filter((h) => h.color === "green").map((h) => h.at));
            const lastBlue = Math.max(...hits.filter((h) => h.color === "blue").map((h) => h.at));
            const s1 = samples();
            stream.close();
            await sleep(1000);
            const s2 = samples().filter((s) => s.at > Date.now() - 1000 + 500);
            const before = s1.filter((s) => s.at < upStart);
            const afterIdle = s1.filter((s) => s.at > lastBlue + TRAEFIK_IDLE_CONN_MS + 300 && s.at < upEnd);
            figures.drainSignal = {
                upMs: upEnd - upStart, firstGreenMsAfterUpStart: firstGreen - upStart, lastBlueMsAfterFirstGreen: lastBlue - firstGreen,
                blueConnectionsBefore: Math.max(...before.map((s) => s.n)),
                blueConnectionsAfterIdle: [...new Set(afterIdle.map((s) => s.n))],
                onlyTheStreamAtMsAfterLastBlue: (s1.find((s) => s.at > lastBlue && s.n <= 1)?.at ?? NaN) - lastBlue,
                afterStreamClosed: [...new Set(s2.map((s) => s.n))],
            };
            expect(Math.max(...before.map((s) => s.n))).toBeGreaterThanOrEqual(2); // the pool and the stream
            expect(afterIdle.length).toBeGreaterThan(5);
            expect(afterIdle.every((s) => s.n === 1)).toBe(true); // only the stream
            expect(upEnd - firstGreen).toBeGreaterThanOrEqual(DRAIN * 1000 - 300); // the switch waited for it
            expect(s2.length).toBeGreaterThan(3);
            expect(s2.every((s) => s.n === 0)).toBe(true);
        } finally {
            stream.close();
            sampler.kill();
        }
        // And without a stream, back to blue under load: the drain ends once green's pooled
        // connections have gone idle and closed.
        const l2 = load(p.url);
        await sleep(1500);
        await p.set({ activeColor: "blue" });
        const t0 = Date.now();
        await p.up();
        const t1 = Date.now();
        const hits2 = await l2.stop();
        const firstBlue = Math.min(...hits2.filter((h) => h.color === "blue" && h.sent >= t0).map((h) => h.at));
        (figures.drainSignal as Record<string, unknown>).noStream = { upMs: t1 - t0, upEndMsAfterFirstBlue: t1 - firstBlue, failed: hits2.filter((h) => !ok(h)).length };
        expect(hits2.filter((h) => !ok(h)).slice(0, 3)).toEqual([]);
        // The switch does not wait out drainSeconds when nothing is in flight: it returns once the
        // old color's pooled connections have closed (0.2 s idle), then the engine finishes the
        // update (1.4 and 2.1 s after the first new response in two local runs, the slower on a
        // machine where the whole up took 5.2 s).
        expect(t1 - firstBlue).toBeLessThan(DRAIN * 1000 - 500);
    });

    it("destroy leaves nothing", async () => {
        expect(dockerOk("inspect", a)).toBe(true);
        await expectCleanTeardown(p);
    });
});
