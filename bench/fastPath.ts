/**
 * The benchmark's second half (issue 14): what live traffic feels when only the idle color
 * changes, and how close a switch comes to Pulumi's own floor.
 *
 * For each proxy kind, on a stack of the program itself (index.ts), under a paced load on `url`
 * (new connections, keep-alive retrying once, raw keep-alive never retrying):
 * - zero touch: REPS repetitions each of a new version on the idle color, idle replicas up or
 *   down, a health-gate setting, and `pulumi refresh`; counts failed requests, raw keep-alive
 *   resets and any answer from the idle color on `url`;
 * - fast switch: REPS flips with `pulumi up --yes --skip-preview` (what `npm run deploy` and
 *   `npm run rollback` run, through the Automation API); from the command's start to the
 *   first response of the new color on `url`, and the command's own wall time;
 * - refresh-then-switch: the same with `up --refresh`.
 * And the floor: a trivial Pulumi TypeScript program (bench/trivial: one output, no resources)
 * through the same CLI, `up --yes --skip-preview` and `up --yes` (with its preview) on the quiet
 * machine, and `up --yes --skip-preview` again under each kind's load.
 */
import { execFile } from "node:child_process";
import * as path from "node:path";
import { promisify } from "node:util";
import { LoadGenerator, LoadReport } from "../test/helpers/load";
import { ProgramStack } from "../test/helpers/programStack";
import { ROOT, pulumiEnv } from "../test/helpers/toolchain";

type Color = "blue" | "green";
type ProxyKind = "nginx" | "traefik";

const REPS = Number(process.env.BENCH_FAST_REPS ?? 10);
const RATE = Number(process.env.BENCH_FAST_RATE ?? 200);
const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const p50 = (xs: number[]) => {
    if (!xs.length) return NaN;
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.floor(s.length / 2)];
};

/** Runs the pulumi CLI without blocking the event loop (the load generator shares it); returns ms. */
async function pulumi(args: string[], cwd: string): Promise<number> {
    const t = Date.now();
    await run("pulumi", [...args, "--non-interactive"], { cwd, env: { ...process.env, ...pulumiEnv() }, maxBuffer: 64 << 20 })
        .catch((e) => { throw new Error(`pulumi ${args.join(" ")} failed: ${e.stdout}\n${e.stderr}`); });
    return Date.now() - t;
}

/** What the clients on `url` felt during one phase. */
export interface Felt {
    requests: number;
    failed: number;
    non2xx: number;
    rawKeepAliveResets: number;
    keepAliveRetries: number;
    /** Answers on `url` from the color that is not live. */
    fromIdle: number;
}

function felt(r: LoadReport, idle?: Color): Felt {
    const bad = r.samples.filter((s) => s.status < 200 || s.status > 299);
    return {
        requests: r.samples.length,
        failed: bad.filter((s) => s.status === 0).length,
        non2xx: bad.filter((s) => s.status !== 0).length,
        rawKeepAliveResets: r.resets.raw,
        keepAliveRetries: r.resets.keepalive,
        fromIdle: idle ? r.samples.filter((s) => s.color === idle).length : 0,
    };
}

export interface ZeroTouchRow { kind: ProxyKind; change: string; reps: number; upMsP50: number; felt: Felt }
export interface SwitchRow {
    kind: ProxyKind;
    command: string;
    flips: number;
    /** Command start → first response of the new color on `url`, ms. */
    toFirstNewMs: number[];
    commandMs: number[];
    felt: Felt;
}
/** Milestones of one switch `up`, ms from the command's start (engine log, `-v=9`). */
export interface SwitchProfile { kind: ProxyKind; totalMs: number; milestones: { what: string; atMs: number | null }[] }

export interface FastPathResults {
    profiles: SwitchProfile[];
    /** The trivial program's `up --yes --skip-preview` under the same load as each kind's switches, one after each plain flip. */
    floorUnderLoad: { kind: ProxyKind; upSkipPreviewMs: number[] }[];
    reps: number;
    ratePerSecond: number;
    floor: { upSkipPreviewMs: number[]; upMs: number[] };
    zeroTouch: ZeroTouchRow[];
    switches: SwitchRow[];
}

/** Runs `body` under the paced load on `url` and returns what the clients felt. */
async function underLoad(url: string, idle: Color | undefined, body: (load: LoadGenerator) => Promise<void>): Promise<Felt> {
    const load = new LoadGenerator(url, RATE);
    load.run();
    let report: LoadReport;
    try {
        await sleep(1000);
        await body(load);
        await sleep(1000);
    } finally {
        report = await load.stop();
    }
    return felt(report, idle);
}

/** Where a switch's time goes: the engine's own log of one `up --skip-preview`, read for milestones. */
const MILESTONES: { what: string; re: RegExp; nth?: number }[] = [
    { what: "language host runs the program", re: /Launching plugin 'nodejs'/, nth: 2 },
    { what: "program registered its stack (Node.js and the SDK loaded)", re: /RegisterResource received: t=pulumi:pulumi:Stack/ },
    { what: "bluegreen provider declared", re: /RegisterResource received: t=pulumi:providers:bluegreen/ },
    { what: "bluegreen plugin launched", re: /Launching plugin 'bluegreen \(resource\)'/ },
    { what: "bluegreen plugin answering", re: /Handshake: .*pulumi-resource-bluegreen/ },
    { what: "first docker resource registered (platform module loaded)", re: /RegisterResource received: t=docker:index/ },
    { what: "docker plugin launched", re: /Launching plugin 'docker \(resource\)'/ },
    { what: "docker plugin answering", re: /Handshake: .*pulumi-resource-docker/ },
    { what: "switch registered (its inputs known)", re: /RegisterResource received: t=bluegreen:docker:TrafficSwitch/ },
    { what: "switch update starts (gate, apply)", re: /applying step update on urn:\S+TrafficSwitch/ },
    { what: "switch update done (new generation served)", re: /step update on urn:\S+TrafficSwitch\S* retired/ },
    { what: "program finished", re: /langhost\[nodejs\]\.Run\(.*success/ },
];

async function profileSwitch(kind: ProxyKind, stack: string, to: Color): Promise<SwitchProfile> {
    await pulumi(["config", "set", "bluegreen:activeColor", to, "--stack", stack], ROOT);
    const start = Date.now();
    const r = await run("pulumi", ["up", "--yes", "--skip-preview", "--logtostderr", "-v=9", "--stack", stack, "--non-interactive"], {
        cwd: ROOT, env: { ...process.env, ...pulumiEnv() }, maxBuffer: 512 << 20,
    });
    const totalMs = Date.now() - start;
    const lines = r.stderr.split("\n");
    const at = (line: string) => {
        const m = /"time":"([^"]+)"/.exec(line);
        return m ? Date.parse(m[1]) - start : null;
    };
    const milestones = MILESTONES.map(({ what, re, nth = 1 }) => {
        const hits = lines.filter((l) => re.test(l));
        return { what, atMs: hits.length >= nth ? at(hits[nth - 1]) : null };
    });
    return { kind, totalMs, milestones };
}

/** Runs `body` with a stack of the trivial program (bench/trivial), created and up once first. */
async function withTrivialStack<T>(stack: string, body: (up: (...extra: string[]) => Promise<number>) => Promise<T>): Promise<T> {
    const dir = path.join(ROOT, "bench/trivial");
    await pulumi(["stack", "init", stack], dir);
    try {
        const up = (...extra: string[]) => pulumi(["up", "--yes", ...extra, "--stack", stack], dir);
        await up("--skip-preview"); // first run: creates the stack resource
        return await body(up);
    } finally {
        await pulumi(["stack", "rm", "--yes", "--force", "--stack", stack], dir).catch(() => undefined);
    }
}

async function floor(id: string): Promise<FastPathResults["floor"]> {
    return withTrivialStack(`${id}-floor`, async (up) => {
        const upSkipPreviewMs: number[] = [];
        for (let i = 0; i < REPS; i++) upSkipPreviewMs.push(await up("--skip-preview"));
        const upMs: number[] = [];
        for (let i = 0; i < Math.max(3, Math.ceil(REPS / 2)); i++) upMs.push(await up());
        return { upSkipPreviewMs, upMs };
    });
}

async function kindRuns(id: string, kind: ProxyKind): Promise<{ zeroTouch: ZeroTouchRow[]; switches: SwitchRow[]; profile: SwitchProfile; floorUnderLoad: number[] }> {
    const p = new ProgramStack(`${id}-${kind}`);
    const stack = p.id;
    const set = (key: string, value: string) => pulumi(["config", "set", `bluegreen:${key}`, value, "--stack", stack], ROOT);
    const up = (...extra: string[]) => pulumi(["up", "--yes", "--skip-preview", ...extra, "--stack", stack], ROOT);
    await p.create({ proxyKind: kind, healthRetries: "10", healthDeadlineSeconds: "60" });
    try {
        const created = await p.up();
        if (created.summary.result !== "succeeded") throw new Error(`the program's up (${kind}) failed`);
        await up(); // settles anything the first up left to converge

        // Zero touch: blue live, only green (idle) or nothing changes.
        const zeroTouch: ZeroTouchRow[] = [];
        const changes: { change: string; step: (i: number) => Promise<number> }[] = [
            { change: "new version on the idle color", step: async (i) => { await set("greenImage", i % 2 ? "bluegreen/demo:2.0.0" : "bluegreen/demo:1.0.0"); return up(); } },
            { change: "idle replicas up or down", step: async (i) => { await set("greenReplicas", i % 2 ? "1" : "2"); return up(); } },
            { change: "health-gate setting", step: async (i) => { await set("healthRetries", i % 2 ? "10" : "11"); return up(); } },
            { change: "pulumi refresh", step: () => pulumi(["refresh", "--yes", "--skip-preview", "--stack", stack], ROOT) },
        ];
        for (const c of changes) {
            console.log(`[bench] ${kind}: ${REPS} × ${c.change}`);
            const ms: number[] = [];
            const f = await underLoad(p.url, "green", async () => {
                for (let i = 0; i < REPS; i++) ms.push(await c.step(i));
            });
            zeroTouch.push({ kind, change: c.change, reps: REPS, upMsP50: p50(ms), felt: f });
        }
        // Both colors healthy at one replica again.
        await set("greenReplicas", "1");
        await set("greenImage", "bluegreen/demo:2.0.0");
        await up();

        // Switches: command start → first response of the new color on `url`. After each plain
        // flip, under the same load, one `up --skip-preview` of the trivial program: the floor
        // measured interleaved with the flips, so that the machine's drift (run-to-run noise here
        // is about 450 ms at the p50) hits both alike.
        const switches: SwitchRow[] = [];
        const underLoadMs: number[] = [];
        await withTrivialStack(`${id}-${kind}-floor`, async (floorUp) => {
            for (const [command, extra] of [["up --yes --skip-preview", []], ["up --refresh --yes --skip-preview", ["--refresh"]]] as const) {
                const flips = command.includes("refresh") ? Math.max(3, Math.ceil(REPS / 2)) : REPS;
                const withFloor = extra.length === 0;
                console.log(`[bench] ${kind}: ${flips} flips with \`pulumi ${command}\`${withFloor ? ", each followed by the trivial program's up --skip-preview" : ""}`);
                const toFirstNewMs: number[] = [];
                const commandMs: number[] = [];
                let from: Color = "blue";
                const f = await underLoad(p.url, undefined, async (load) => {
                    for (let i = 0; i < flips; i++) {
                        const to: Color = from === "blue" ? "green" : "blue";
                        await set("activeColor", to);
                        const start = load.now();
                        commandMs.push(await up(...extra));
                        let first: number | undefined;
                        for (let waited = 0; first === undefined && waited < 10_000; waited += 20) {
                            first = load.snapshot().filter((s) => s.color === to && s.at - s.ms >= start).reduce<number | undefined>((m, s) => (m === undefined || s.at < m ? s.at : m), undefined);
                            if (first === undefined) await sleep(20);
                        }
                        if (first === undefined) throw new Error(`${kind}: no response from ${to} on ${p.url} within 10 s of the switch`);
                        toFirstNewMs.push(first - start);
                        from = to;
                        await sleep(1000);
                        if (withFloor) {
                            underLoadMs.push(await floorUp("--skip-preview"));
                            await sleep(1000);
                        }
                    }
                });
                switches.push({ kind, command: `pulumi ${command}`, flips, toFirstNewMs, commandMs, felt: f });
                if (from !== "blue") { await set("activeColor", "blue"); await up(); }
            }
        });
        const profile = await profileSwitch(kind, stack, "green");
        return { zeroTouch, switches, profile, floorUnderLoad: underLoadMs };
    } finally {
        await p.destroy();
    }
}

export async function measureFastPath(id: string): Promise<FastPathResults> {
    console.log(`[bench] floor: a trivial Pulumi TypeScript program, ${REPS} × up --skip-preview`);
    const fl = await floor(id);
    const zeroTouch: ZeroTouchRow[] = [];
    const switches: SwitchRow[] = [];
    const profiles: SwitchProfile[] = [];
    const floorLoaded: FastPathResults["floorUnderLoad"] = [];
    for (const kind of ["nginx", "traefik"] as ProxyKind[]) {
        const r = await kindRuns(id, kind);
        zeroTouch.push(...r.zeroTouch);
        switches.push(...r.switches);
        profiles.push(r.profile);
        floorLoaded.push({ kind, upSkipPreviewMs: r.floorUnderLoad });
    }
    return { reps: REPS, ratePerSecond: RATE, floor: fl, floorUnderLoad: floorLoaded, zeroTouch, switches, profiles };
}

export function fastPathMarkdown(r: FastPathResults): string {
    const floorSkip = p50(r.floor.upSkipPreviewMs);
    const loadedRatio = (s: SwitchRow) => {
        const f = r.floorUnderLoad.find((x) => x.kind === s.kind);
        return f ? (p50(s.commandMs) / p50(f.upSkipPreviewMs)).toFixed(2) : "–";
    };
    const out = [
        `## Live traffic and the switch's speed (issue 14)`,
        ``,
        `Load on \`url\`: ${r.ratePerSecond} requests/s (new connections, keep-alive retrying once, raw keep-alive). ${r.reps} repetitions per row unless the row says otherwise.`,
        ``,
        `**Zero touch** (blue live; only green, or nothing, changes):`,
        ``,
        `| proxy | change | reps | up ms p50 | requests | failed | non-2xx | raw keep-alive resets | keep-alive retries | answers from idle |`,
        `| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |`,
        ...r.zeroTouch.map((z) => `| ${z.kind} | ${z.change} | ${z.reps} | ${z.upMsP50} | ${z.felt.requests} | ${z.felt.failed} | ${z.felt.non2xx} | ${z.felt.rawKeepAliveResets} | ${z.felt.keepAliveRetries} | ${z.felt.fromIdle} |`),
        ``,
        `**Switch** (command start → first response of the new color on \`url\`; the floor is a trivial program's \`up --yes --skip-preview\`, p50 ${floorSkip} ms, and its \`up --yes\` with preview p50 ${p50(r.floor.upMs)} ms):`,
        ``,
        `| proxy | command | flips | to first new ms p50 / max | command ms p50 | × floor | × floor under the same load | failed | non-2xx | raw keep-alive resets |`,
        `| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |`,
        ...r.switches.map((s) => `| ${s.kind} | \`${s.command}\` | ${s.flips} | ${p50(s.toFirstNewMs)} / ${Math.max(...s.toFirstNewMs)} | ${p50(s.commandMs)} | ${(p50(s.commandMs) / floorSkip).toFixed(2)} | ${loadedRatio(s)} | ${s.felt.failed} | ${s.felt.non2xx} | ${s.felt.rawKeepAliveResets} |`),
        ``,
        `Floor under the same load (the trivial program's \`up --yes --skip-preview\` while ${r.ratePerSecond} requests/s go to \`url\`, one after each plain flip), ms p50: ${r.floorUnderLoad.map((f) => `${f.kind} ${p50(f.upSkipPreviewMs)}`).join(", ")}.`,
        ``,
        `**Where a switch's time goes** (one \`up --skip-preview\` per proxy kind with the engine's log at \`-v=9\`, which itself adds a little; ms from the command's start):`,
        ``,
        `| milestone | ${r.profiles.map((p) => p.kind).join(" | ")} |`,
        `| --- | ${r.profiles.map(() => "---").join(" | ")} |`,
        ...(r.profiles[0]?.milestones ?? []).map((m, i) => `| ${m.what} | ${r.profiles.map((p) => p.milestones[i].atMs ?? "–").join(" | ")} |`),
        `| command exits | ${r.profiles.map((p) => p.totalMs).join(" | ")} |`,
    ];
    return out.join("\n") + "\n";
}
