/**
 * `npm run bench`: how a switch behaves under load, this project against the ways the seeds
 * switch and against the strongest single-host peer, in one run on one machine.
 *
 * Load: autocannon (new-connection traffic with reconnectRate 1, and raw keep-alive traffic that
 * never retries), plus the end-to-end suite's paced client for keep-alive traffic that retries
 * an idempotent request once on a new connection when a reused one is reset (autocannon cannot
 * retry). Writes bench/results/latest.json and latest.md.
 */
import { execFile, spawnSync } from "node:child_process";
import { promisify } from "node:util";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import autocannon from "autocannon";
import { LoadGenerator, Sample } from "../test/helpers/load";
import { ProgramStack, dockerCli, freePort } from "../test/helpers/programStack";
import { ROOT, pulumiEnv, runId } from "../test/helpers/toolchain";
import { FastPathResults, fastPathMarkdown, measureFastPath } from "./fastPath";
import { kubernetesRow } from "./kubernetesSwitch";
import { ProxyThroughput, measureProxyThroughput, proxyThroughputMarkdown } from "./proxyThroughput";

const ROUND_TRIPS = Number(process.env.BENCH_ROUND_TRIPS ?? 5); // blue → green → blue, each
const RATE = Number(process.env.BENCH_RATE ?? 300); // requests/s in all, three streams of RATE/3
const GAP_MS = 2500; // quiet time after each flip
const STEADY_MS = 10_000;

type Color = "blue" | "green";
interface Flip { from: Color; to: Color; startAt: number; endAt: number }
interface Contender {
    name: string;
    description: string;
    url: string;
    flip(to: Color): Promise<void>;
}

/**
 * Runs a command without blocking the event loop: the load generators share this process, and
 * a synchronous child would freeze them exactly while the switch happens.
 */
const run = promisify(execFile);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) => {
    if (!xs.length) return NaN;
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const round = (x: number) => Math.round(x * 10) / 10;

/** A response's arrival (ms on the phase's timeline) and its latency from the moment it was sent. */
interface Timed { at: number; ms: number }

/**
 * One autocannon stream at `rate` requests/s; records each response's color with its time, and
 * each response's own latency as autocannon reports it per response (its summary histogram is
 * kept as well, for comparison).
 */
function cannon(url: string, rate: number, newConnections: boolean, t0: number, durationS: number) {
    const colors: { at: number; color?: string }[] = [];
    const times: Timed[] = [];
    const instance = autocannon({
        url,
        connections: newConnections ? 20 : 4,
        overallRate: rate,
        duration: durationS,
        reconnectRate: newConnections ? 1 : undefined,
        requests: [{
            method: "GET",
            onResponse: (_status: number, body: string) => {
                let color: string | undefined;
                try { color = JSON.parse(body).color; } catch { /* 502/503 pages */ }
                colors.push({ at: Date.now() - t0, color });
            },
        }],
    } as autocannon.Options) as unknown as autocannon.Instance;
    instance.on("response", (_client: unknown, _status: number, _bytes: number, ms: number) => times.push({ at: Date.now() - t0, ms }));
    return { colors, times, result: instance as unknown as Promise<autocannon.Result> };
}

interface Phase {
    fresh: autocannon.Result;
    raw: autocannon.Result;
    rawTimes: Timed[];
    retrying: { samples: Sample[]; failed: number; resets: number };
    colors: { at: number; color?: string }[];
}

/** Runs the three streams for `ms`, calling `during` once they are steady. */
async function underLoad(url: string, ms: number, during?: (t0: number) => Promise<void>): Promise<Phase> {
    const t0 = Date.now();
    const seconds = Math.ceil(ms / 1000);
    const fresh = cannon(url, RATE / 3, true, t0, seconds);
    const raw = cannon(url, RATE / 3, false, t0, seconds);
    const retrying = new LoadGenerator(url, RATE / 3, ["keepalive"]);
    retrying.run();
    const offset = Date.now() - t0; // the paced client's clock starts a little later
    if (during) await during(t0);
    const [f, r] = await Promise.all([fresh.result, raw.result]);
    const rep = await retrying.stop();
    return {
        fresh: f,
        raw: r,
        rawTimes: raw.times,
        retrying: { samples: rep.samples.map((s) => ({ ...s, at: s.at + offset })), failed: rep.failed.keepalive, resets: rep.resets.keepalive },
        colors: [...fresh.colors, ...raw.colors, ...rep.samples.map((s) => ({ at: s.at + offset, color: s.color }))],
    };
}

function failuresOf(r: autocannon.Result): { failed: number; non2xx: number } {
    return { failed: r.errors + r.timeouts, non2xx: r.non2xx };
}

/** p50 / p99 / max of latencies, and how many. */
function spread(xs: number[]) {
    return { p50: round(pct(xs, 50)), p99: round(pct(xs, 99)), max: round(xs.length ? Math.max(...xs) : NaN), n: xs.length };
}

/** Latencies of the requests sent while a flip ran or in the second after it. */
function inFlips(xs: Timed[], flips: Flip[]): number[] {
    return xs.filter((x) => flips.some((f) => x.at - x.ms >= f.startAt && x.at - x.ms <= f.endAt + 1000)).map((x) => x.ms);
}

async function runContender(c: Contender) {
    console.log(`[bench] ${c.name}: steady state ${STEADY_MS / 1000} s`);
    const steady = await underLoad(c.url, STEADY_MS);
    const flips: Flip[] = [];
    const wall: number[] = [];
    console.log(`[bench] ${c.name}: ${ROUND_TRIPS * 2} flips under load`);
    const flipCount = ROUND_TRIPS * 2;
    const switching = await underLoad(c.url, 2000 + flipCount * (GAP_MS + 4000), async (t0) => {
        await sleep(1000);
        let from: Color = "blue";
        for (let i = 0; i < flipCount; i++) {
            const to: Color = from === "blue" ? "green" : "blue";
            const startAt = Date.now() - t0;
            await c.flip(to);
            const endAt = Date.now() - t0;
            flips.push({ from, to, startAt, endAt });
            wall.push(endAt - startAt);
            from = to;
            await sleep(GAP_MS);
        }
    });
    const windows = flips.map((f, i) => {
        const next = flips[i + 1]?.startAt ?? Infinity;
        const inFlip = switching.colors.filter((s) => s.at >= f.startAt && s.at < next);
        const lastOld = Math.max(...inFlip.filter((s) => s.color === f.from).map((s) => s.at), f.startAt);
        const firstNew = Math.min(...inFlip.filter((s) => s.color === f.to).map((s) => s.at));
        return { toLastOldMs: lastOld - f.startAt, toFirstNewMs: firstNew - f.startAt };
    });
    const fresh = failuresOf(switching.fresh);
    const raw = failuresOf(switching.raw);
    const userFailed = fresh.failed + switching.retrying.failed;
    const userNon2xx = fresh.non2xx + switching.retrying.samples.filter((s) => s.status !== 0 && (s.status < 200 || s.status > 299)).length;
    return {
        name: c.name,
        description: c.description,
        flips: flips.length,
        requests: switching.fresh.requests.total + switching.raw.requests.total + switching.retrying.samples.length,
        failedRequests: userFailed,
        non2xx: userNon2xx,
        perFlip: { failedRequests: round(userFailed / flips.length), non2xx: round(userNon2xx / flips.length) },
        byTraffic: {
            newConnection: fresh,
            keepAliveRetryOnce: { failed: switching.retrying.failed, resetsAbsorbed: switching.retrying.resets },
            rawKeepAlive: raw,
        },
        rawKeepAliveResets: raw.failed,
        flipWindowMs: {
            toLastOld: { p50: pct(windows.map((w) => w.toLastOldMs), 50), max: Math.max(...windows.map((w) => w.toLastOldMs)) },
            toFirstNew: { p50: pct(windows.map((w) => w.toFirstNewMs), 50), max: Math.max(...windows.map((w) => w.toFirstNewMs)) },
            p50: pct(windows.map((w) => Math.max(w.toLastOldMs, w.toFirstNewMs)), 50),
            max: Math.max(...windows.map((w) => Math.max(w.toLastOldMs, w.toFirstNewMs))),
        },
        latencyMs: {
            // Of the raw keep-alive stream, from autocannon's summary histogram (it records none
            // with reconnectRate 1, so not for the new-connection stream).
            steady: { p50: steady.raw.latency.p50, p99: steady.raw.latency.p99 },
            switching: { p50: switching.raw.latency.p50, p99: switching.raw.latency.p99 },
            // The same stream, from autocannon's per-response times.
            rawKeepAliveResponses: {
                steady: spread(steady.rawTimes.map((x) => x.ms)),
                switching: spread(switching.rawTimes.map((x) => x.ms)),
                inFlips: spread(inFlips(switching.rawTimes, flips)),
            },
            // The paced keep-alive client (retry once): time from its scheduled send to the answer.
            pacedKeepAlive: {
                steady: spread(steady.retrying.samples.map((x) => x.ms)),
                switching: spread(switching.retrying.samples.map((x) => x.ms)),
                inFlips: spread(inFlips(switching.retrying.samples, flips)),
            },
        },
        switchWallMs: { p50: pct(wall, 50), max: Math.max(...wall) },
    };
}

async function pulumi(args: string[], stack: string): Promise<number> {
    const t = Date.now();
    await run("pulumi", [...args, "--stack", stack, "--non-interactive"], { cwd: ROOT, env: { ...process.env, ...pulumiEnv() }, maxBuffer: 64 << 20 })
        .catch((e) => { throw new Error(`pulumi ${args.join(" ")} failed: ${e.stdout}\n${e.stderr}`); });
    return Date.now() - t;
}

function version(cmd: string, args: string[]): string {
    try {
        const r = spawnSync(cmd, args, { encoding: "utf8" });
        return `${r.stdout}${r.stderr}`.trim().split("\n")[0] || "unavailable"; // nginx -v prints on stderr
    } catch {
        return "unavailable";
    }
}

async function main() {
    const env = pulumiEnv();
    Object.assign(process.env, env);
    const id = runId("bgbench");
    // BENCH_ONLY=kubernetes: only the Kubernetes switch row (bench/kubernetesSwitch.ts).
    if (process.env.BENCH_ONLY === "kubernetes") return console.log((await kubernetesRow(id)).markdown);
    // BENCH_ONLY=fastpath: only the zero-touch, fast-switch and floor rows (bench/fastPath.ts).
    if (process.env.BENCH_ONLY === "fastpath") {
        const fast = await measureFastPath(id);
        const dir = path.join(ROOT, "bench/results");
        fs.writeFileSync(path.join(dir, "fastpath.json"), JSON.stringify({ machine: machineFacts(), fastPath: fast }, null, 2) + "\n");
        console.log(fastPathMarkdown(fast));
        return;
    }
    // BENCH_ONLY=proxy: only the proxy table (bench/proxyThroughput.ts); exits 1 if a target is missed.
    if (process.env.BENCH_ONLY === "proxy") {
        const proxy = await measureProxyThroughput(id);
        const dir = path.join(ROOT, "bench/results");
        fs.writeFileSync(path.join(dir, "proxy.json"), JSON.stringify({ machine: machineFacts(), proxyThroughput: proxy }, null, 2) + "\n");
        console.log(proxyThroughputMarkdown(proxy));
        if (proxy.misses.length) process.exitCode = 1;
        return;
    }
    const label = `bluegreen.bench=${id}`;
    const p = new ProgramStack(id);
    const stack = id;
    const results: Record<string, unknown>[] = [];
    const unavailable: { name: string; reason: string }[] = [];
    let pulumiFigures = {};
    try {
        // 1. This project: the program itself (index.ts), switched by `pulumi config set activeColor X && pulumi up`.
        await p.create({ healthRetries: "10", healthDeadlineSeconds: "60" });
        const created = await p.up();
        if (created.summary.result !== "succeeded") throw new Error("the program's up failed");
        const livePort = Number(new URL(p.url).port);
        // The seeds' proxies route to the program's own two demo containers, on its network, by name.
        const [blue] = p.containers("blue");
        const [green] = p.containers("green");
        const endpoints = { blue: `${blue}:8080`, green: `${green}:8080` };
        const network = dockerCli("network", "ls", "-q", "--filter", `label=bluegreen.stack=${p.prefix}`);
        const fx = { label, network };
        const setColor = (c: Color) => run("pulumi", ["config", "set", "bluegreen:activeColor", c, "--stack", stack], { cwd: ROOT, env: { ...process.env, ...env } });

        const contenders: Contender[] = [{
            name: "bluegreen (pulumi up)",
            description: `the program: \`pulumi config set activeColor X && pulumi up --yes\` (docker plugin: ${dockerPlugin()}): health gate, nginx -t, atomic rename, graceful reload`,
            url: `http://127.0.0.1:${livePort}`,
            flip: async (to) => { await setColor(to); await pulumi(["up", "--yes"], stack); },
        }];

        // 2. Seed style A (seeds 000, 001): rewrite proxy_pass in the live file, `docker restart`.
        const dirA = fs.mkdtempSync(path.join(os.tmpdir(), "bgbench-a-"));
        const seedConf = (target: string) => `events {}\nhttp {\n  access_log off;\n  server {\n    listen 80;\n    location / { proxy_pass http://${target}; }\n  }\n}\n`;
        fs.writeFileSync(path.join(dirA, "nginx.conf"), seedConf(endpoints.blue));
        const portA = await freePort();
        dockerCli("run", "-d", "--name", `${id}-seed-a`, "--label", fx.label, "--network", fx.network, "-p", `127.0.0.1:${portA}:80`,
            "-v", `${dirA}:/etc/nginx/seed`, "bluegreen/nginx:local", "nginx", "-c", "/etc/nginx/seed/nginx.conf", "-g", "daemon off;");
        contenders.push({
            name: "seed A (rewrite + docker restart)",
            description: "sed-style rewrite of proxy_pass, then `docker restart` of the nginx container",
            url: `http://127.0.0.1:${portA}`,
            flip: async (to) => {
                const file = path.join(dirA, "nginx.conf");
                fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace(/proxy_pass http:\/\/[^;]+;/, `proxy_pass http://${endpoints[to]};`));
                await run("docker", ["restart", `${id}-seed-a`]);
            },
        });

        // 3. Seed style B (seed 004): copy a per-color file into place and `nginx -s reload`, no `nginx -t`.
        const portB = await freePort();
        dockerCli("run", "-d", "--name", `${id}-seed-b`, "--label", fx.label, "--network", fx.network, "-p", `127.0.0.1:${portB}:80`,
            "bluegreen/nginx:local", "sh", "-c",
            'mkdir -p /etc/nginx/colors /etc/nginx/live && printf "%s" "$1" > /etc/nginx/colors/blue.conf && printf "%s" "$2" > /etc/nginx/colors/green.conf && cp /etc/nginx/colors/blue.conf /etc/nginx/live/nginx.conf && exec nginx -c /etc/nginx/live/nginx.conf -g "daemon off;"',
            "sh", seedConf(endpoints.blue), seedConf(endpoints.green));
        contenders.push({
            name: "seed B (cp + nginx -s reload)",
            description: "copy the per-color file over the live one, `nginx -s reload`, no `nginx -t`",
            url: `http://127.0.0.1:${portB}`,
            flip: async (to) => {
                await run("docker", ["exec", `${id}-seed-b`, "sh", "-c", 'cp "/etc/nginx/colors/$1.conf" /etc/nginx/live/nginx.conf && nginx -s reload -c /etc/nginx/live/nginx.conf', "sh", to]);
            },
        });

        // 4. Seed style C (seed 002): Traefik with a watched dynamic-config file.
        if (dockerOk("image", "inspect", "bluegreen/traefik:local")) {
            const portC = await freePort();
            const dyn = (to: Color) => `http:\n  routers:\n    live:\n      rule: "PathPrefix(\`/\`)"\n      entryPoints: [web]\n      service: ${to}\n  services:\n    blue:\n      loadBalancer:\n        servers: [{url: "http://${endpoints.blue}"}]\n    green:\n      loadBalancer:\n        servers: [{url: "http://${endpoints.green}"}]\n`;
            dockerCli("run", "-d", "--name", `${id}-seed-c`, "--label", fx.label, "--network", fx.network, "-p", `127.0.0.1:${portC}:80`,
                "bluegreen/traefik:local", "sh", "-c", 'mkdir -p /dyn && printf "%s" "$1" > /dyn/live.yml && exec traefik --entryPoints.web.address=:80 --providers.file.directory=/dyn --providers.file.watch=true --log.level=ERROR',
                "sh", dyn("blue"));
            contenders.push({
                name: "seed C (Traefik file provider)",
                description: "write the dynamic config to a temp file and rename it over the watched one; Traefik swaps routes in process",
                url: `http://127.0.0.1:${portC}`,
                flip: async (to) => {
                    await run("docker", ["exec", `${id}-seed-c`, "sh", "-c", 'printf "%s" "$1" > /dyn/.live.yml.tmp && mv /dyn/.live.yml.tmp /dyn/live.yml', "sh", dyn(to)]);
                    // Traefik applies the file asynchronously; the command returns at once, like the seed's script.
                },
            });
        } else {
            unavailable.push({ name: "seed C (Traefik file provider)", reason: "no bluegreen/traefik image: `npm run setup` builds it when the Go module proxy serves Traefik's modules" });
        }

        // 5. kamal-proxy: its module is refused by the Go module proxy reachable here.
        unavailable.push({
            name: "kamal-proxy",
            reason: "github.com/basecamp/kamal-proxy cannot be built: the Go module proxy reachable here answers 403 for it (`go install github.com/basecamp/kamal-proxy/cmd/kamal-proxy@latest`)",
        });

        for (const c of contenders) {
            await sleep(2000);
            for (const target of ["blue"] as Color[]) await c.flip(target).catch(() => undefined);
            await sleep(2000);
            results.push(await runContender(c));
            console.log(JSON.stringify(results[results.length - 1]));
        }

        // Pulumi's own costs, on the switch stack (blue live).
        await setColor("green");
        const switchUp = await pulumi(["up", "--yes"], stack);
        const noop: number[] = [];
        for (let i = 0; i < 3; i++) noop.push(await pulumi(["up", "--yes"], stack));
        await setColor("blue");
        const previews: number[] = [];
        for (let i = 0; i < 3; i++) previews.push(await pulumi(["preview"], stack));
        await pulumi(["up", "--yes"], stack);
        const noopUpMs = pct(noop, 50);
        pulumiFigures = { switchUpMs: switchUp, noopUpMs, ratio: round(switchUp / noopUpMs), previewMs: pct(previews, 50) };

    } finally {
        // The seeds' containers first: they sit on the program's network, which destroy removes.
        const seeds = dockerCli("ps", "-aq", "--filter", `label=${label}`).split("\n").filter(Boolean);
        if (seeds.length) spawnSync("docker", ["rm", "-f", ...seeds], { stdio: "ignore" });
        await p.destroy();
        // The seeds' containers are on the program's network: remove it if destroy could not.
        for (const n of dockerCli("network", "ls", "-q", "--filter", `label=bluegreen.stack=${p.prefix}`).split("\n").filter(Boolean)) {
            spawnSync("docker", ["network", "rm", n], { stdio: "ignore" });
        }
    }

    // The proxy table: both proxies and the app directly, in rounds (bench/proxyThroughput.ts).
    const proxyThroughput: ProxyThroughput = await measureProxyThroughput(id);

    let fastPath: FastPathResults | undefined;
    if (process.env.BENCH_ONLY !== "seeds") fastPath = await measureFastPath(id);

    const k8s = process.env.BENCH_ONLY !== "seeds" ? await kubernetesRow(id) : undefined;
    const machine = machineFacts();
    const out = { machine, contenders: results, unavailable, pulumi: pulumiFigures, proxyThroughput, fastPath, kubernetes: k8s?.result };
    const dir = path.join(ROOT, "bench/results");
    fs.mkdirSync(dir, { recursive: true });
    const md = markdown(out) + "\n" + proxyThroughputMarkdown(proxyThroughput) + (fastPath ? "\n" + fastPathMarkdown(fastPath) : "") + (k8s ? "\n" + k8s.markdown : "");
    fs.writeFileSync(path.join(dir, "latest.json"), JSON.stringify(out, null, 2) + "\n");
    fs.writeFileSync(path.join(dir, "latest.md"), md);
    console.log(md);
    // A missed target fails the bench (after the results are written, so that they can be read).
    if (proxyThroughput.misses.length) {
        console.error(`[bench] proxy targets missed:\n${proxyThroughput.misses.join("\n")}`);
        process.exitCode = 1;
    }
}

/** The machine and the versions a run measured. */
function machineFacts() {
    return {
        cores: os.cpus().length,
        cpu: os.cpus()[0]?.model,
        memoryGiB: round(os.totalmem() / 2 ** 30),
        kernel: os.release(),
        node: process.version,
        pulumi: version("pulumi", ["version"]),
        docker: version("docker", ["version", "--format", "{{.Server.Version}}"]),
        dockerPlugin: dockerPlugin(),
        nginx: version("docker", ["run", "--rm", "bluegreen/nginx:local", "nginx", "-v"]),
        traefik: version("docker", ["run", "--rm", "bluegreen/traefik:local", "traefik", "version"]),
        autocannon: require("autocannon/package.json").version,
        date: new Date().toISOString(),
        load: { ratePerSecond: RATE, streams: ["new connection (autocannon, reconnectRate 1)", "keep-alive, retry once on a reset reused connection (paced client)", "raw keep-alive (autocannon)"] },
    };
}

/** Which docker provider plugin the set-up installed: the real one, or the project's stand-in. */
function dockerPlugin(): string {
    // The installed SDK's version (package.json holds a range): its plugin is the one the engine asks for.
    const version = JSON.parse(fs.readFileSync(path.join(ROOT, "node_modules/@pulumi/docker/package.json"), "utf8")).version;
    const dir = path.join(process.env.PULUMI_HOME ?? "", "plugins", `resource-docker-v${version}`);
    return fs.existsSync(path.join(dir, ".bluegreen-standin")) ? `the project's stand-in v${version}` : `the real plugin v${version}`;
}

function dockerOk(...args: string[]): boolean {
    return spawnSync("docker", args, { stdio: "ignore" }).status === 0;
}

function markdown(out: any): string {
    const rows = out.contenders.map((c: any) =>
        `| ${c.name} | ${c.flips} | ${c.failedRequests} | ${c.non2xx} | ${c.rawKeepAliveResets} | ${c.flipWindowMs.p50} / ${c.flipWindowMs.max} | ` +
        `${c.latencyMs.steady.p50} / ${c.latencyMs.steady.p99} | ${c.latencyMs.switching.p50} / ${c.latencyMs.switching.p99} | ${c.switchWallMs.p50} |`);
    const m = out.machine;
    return [
        `Machine: ${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB, Linux ${m.kernel}; node ${m.node}, pulumi ${m.pulumi}, Docker ${m.docker}, ${m.nginx}; ${m.date}.`,
        `The bluegreen contender is the program itself (index.ts) on its own stack; docker provider plugin: ${m.dockerPlugin}.`,
        `Load: ${m.load.ratePerSecond} requests/s in three equal streams (new connections; keep-alive retrying once; raw keep-alive).`,
        "",
        "| contender | flips | failed requests | non-2xx | raw keep-alive resets | flip window ms p50 / max | latency ms steady p50 / p99 | latency ms switching p50 / p99 | switch wall ms p50 |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ...rows,
        "",
        "Latency in ms, p50 / p99 (in flips: requests sent while a flip ran or in the second after it; p50 / p99 / max):",
        "",
        "| contender | raw keep-alive, autocannon histogram: steady / switching | raw keep-alive, per response: steady / switching / in flips | paced keep-alive (retry once): steady / switching / in flips |",
        "| --- | --- | --- | --- |",
        ...out.contenders.map((c: any) => {
            const l = c.latencyMs;
            const two = (x: any) => `${x.p50} / ${x.p99}`;
            return `| ${c.name} | ${two(l.steady)} ; ${two(l.switching)} | ${two(l.rawKeepAliveResponses.steady)} ; ${two(l.rawKeepAliveResponses.switching)} ; ` +
                `${two(l.rawKeepAliveResponses.inFlips)} / ${l.rawKeepAliveResponses.inFlips.max} | ${two(l.pacedKeepAlive.steady)} ; ${two(l.pacedKeepAlive.switching)} ; ` +
                `${two(l.pacedKeepAlive.inFlips)} / ${l.pacedKeepAlive.inFlips.max} |`;
        }),
        "",
        ...out.unavailable.map((u: any) => `- ${u.name}: not measured: ${u.reason}`),
        "",
        `Pulumi: switch \`up\` ${out.pulumi.switchUpMs} ms, no-op \`up\` ${out.pulumi.noopUpMs} ms (ratio ${out.pulumi.ratio}), \`preview\` ${out.pulumi.previewMs} ms.`,
        "",
    ].join("\n");
}

main().catch((e) => {
    console.error(e);
    process.exit(1);
});
