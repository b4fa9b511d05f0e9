/**
 * Conformance: the steps the real docker plugin (5.2.0) went through with this program, recorded
 * in ../shared/conformance/docker, replayed step by step against the plugin installed here (the
 * project's stand-in where the real one cannot be installed) on the real engine. For every step:
 * the same hand change and refresh, then `pulumi preview --json` compared with the recorded plan
 * (op, replace reasons and changed properties per resource), `up` compared with the recorded
 * outcome, and the stored outputs compared with the recorded output shapes.
 *
 * The recordings were made with an earlier program. Where this program was fixed because of what
 * they showed, its plans differ: each such difference is listed below with its reason, and any
 * other difference, or a listed one that does not occur, fails the test.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProgramStack, dockerCli, dockerOk, freePort } from "../helpers/programStack";
import { ROOT, runId } from "../helpers/toolchain";

const DIR = path.join(ROOT, "..", "shared", "conformance", "docker");
const RECORDED_PREFIX = "bluegreen-conf";

interface PlanStep { op: string; type: string; name: string; replaceReasons: string[]; detailedDiff: Record<string, unknown> }
interface Recording {
    step: number;
    name: string;
    config?: Record<string, string | number>;
    handChange?: string;
    refreshed?: boolean;
    plan?: { changeSummary: Record<string, number>; steps: PlanStep[] };
    up?: { ok: boolean; tail?: string[] };
    state?: { type: string; name: string; inputs: Record<string, unknown>; outputs: Record<string, unknown> }[];
    ok?: boolean;
    containersLeft?: number;
}

const SWITCH = "pulumi-nodejs:dynamic:Resource";
/**
 * The switch got a type and a plugin of its own after the recordings were made (aliases keep
 * existing stacks' switch: docker-switch.test.ts checks it); its plans are compared under the
 * recorded type.
 */
const RENAMED: Record<string, string> = { "bluegreen:docker:TrafficSwitch": SWITCH };
const CONTAINER = "docker:index/container:Container";

/**
 * Where this program's plans differ from the recordings, and why. Keyed by step; each entry is
 * one line of `describePlan`'s output that is in the recording and not here ("-") or the reverse ("+").
 */
const FIXED: Record<number, { lines: string[]; reason: string }> = {
    1: {
        lines: ["+ create pulumi:providers:bluegreen::bluegreen", "+ create bluegreen:docker:BlueGreenService::<stack>"],
        reason: "the switch runs on the project's own plugin (the recorded program ran it on the engine's default dynamic provider, which preview does not list), declared as an explicit provider before the program loads the platform's modules, so the engine starts it while the program loads; and the program declares one service component (a component: no plugin runs for it), whose children keep the recorded names",
    },
    3: {
        lines: [`- replace ${CONTAINER}::proxy [capabilities]`, `- update ${SWITCH}::proxy-switch`],
        reason: "capabilities are declared as Docker reports them (CAP_..., sorted), so a refresh no longer replaces the proxy, and its switch has nothing to re-apply",
    },
    4: {
        lines: [`- replace ${CONTAINER}::proxy [capabilities]`],
        reason: "the switch after a refresh updates only the switch: the proxy is no longer replaced (capabilities)",
    },
    6: { lines: [`- update ${SWITCH}::proxy-switch`], reason: "the proxy routes to each color's network alias, resolved per request, and the gate checks only the live color: replicas of the idle color coming or going change nothing the switch holds" },
    7: { lines: [`- update ${SWITCH}::proxy-switch`], reason: "the proxy routes to each color's network alias, resolved per request, and the gate checks only the live color: replicas of the idle color coming or going change nothing the switch holds" },
    8: { lines: [`- update ${SWITCH}::proxy-switch`], reason: "the proxy routes to each color's network alias, resolved per request, and the gate checks only the live color: replicas of the idle color coming or going change nothing the switch holds" },
    10: {
        lines: [`- replace ${CONTAINER}::proxy [capabilities]`, `- update ${SWITCH}::proxy-switch`],
        reason: "capabilities as Docker reports them: the proxy is not replaced after the refresh; and the proxy routes to each color's network alias, resolved per request, and the gate checks only the live color: replicas of the idle color coming or going change nothing the switch holds",
    },
    11: {
        lines: [`- replace ${CONTAINER}::proxy [capabilities]`, `- update ${SWITCH}::proxy-switch`],
        reason: "capabilities as Docker reports them; and the proxy routes to each color's alias, which a restart does not change (the recorded switch update also re-rendered the empty address the provider reads for a stopped container)",
    },
    18: {
        lines: [`- replace ${CONTAINER}::proxy [capabilities]`, `- update ${SWITCH}::proxy-switch`],
        reason: "capabilities as Docker reports them (Traefik's CAP_NET_BIND_SERVICE): a refresh no longer replaces the proxy",
    },
};

function recordings(): Recording[] {
    if (!fs.existsSync(DIR)) throw new Error(`the conformance recordings are missing: ${DIR} (../shared beside the checkout)`);
    return fs.readdirSync(DIR).filter((f) => f.endsWith(".json")).sort().map((f) => JSON.parse(fs.readFileSync(path.join(DIR, f), "utf8")));
}

/** One line per changed resource: op, type, name without the stack prefix, replace reasons, changed top-level properties. */
function describePlan(steps: PlanStep[], prefix: string): string[] {
    return steps.filter((s) => s.op !== "same").map((s) => {
        const name = s.name === prefix ? "<stack>" : s.name.startsWith(`${prefix}-`) ? s.name.slice(prefix.length + 1) : s.name;
        const reasons = s.replaceReasons?.length ? ` [${[...s.replaceReasons].sort().join(",")}]` : "";
        const props = [...new Set(Object.keys(s.detailedDiff ?? {}).map((k) => k.split(/[.[]/)[0]))].sort();
        return `${s.op} ${s.type}::${name}${reasons}${props.length && s.type !== SWITCH ? ` {${props.join(",")}}` : ""}`;
    }).sort();
}

/** The shape of a value: object keys (recursively), the shape of a list's first element; null matches anything. */
function shape(v: unknown): unknown {
    if (v === null || v === undefined) return null;
    if (Array.isArray(v)) return v.length ? [shape(v[0])] : [];
    if (typeof v === "object") {
        if ("ciphertext" in (v as object) || "4dabf18193072939515e22adb298388d" in (v as object)) return "secret";
        return Object.fromEntries(Object.keys(v as object).filter((k) => !k.startsWith("__")).sort().map((k) => [k, shape((v as Record<string, unknown>)[k])]));
    }
    return typeof v;
}

/** Differences between two shapes, as paths; null on either side, and an empty list, match anything. */
function shapeDiff(recorded: unknown, ours: unknown, at = ""): string[] {
    if (recorded === null || ours === null) return [];
    if (Array.isArray(recorded) && Array.isArray(ours)) return recorded.length && ours.length ? shapeDiff(recorded[0], ours[0], `${at}[0]`) : [];
    if (typeof recorded === "object" && typeof ours === "object" && !Array.isArray(recorded) && !Array.isArray(ours)) {
        const r = recorded as Record<string, unknown>;
        const o = ours as Record<string, unknown>;
        const out: string[] = [];
        for (const k of new Set([...Object.keys(r), ...Object.keys(o)])) {
            if (!(k in o)) out.push(`${at}.${k} missing`);
            else if (!(k in r)) out.push(`${at}.${k} extra`);
            else out.push(...shapeDiff(r[k], o[k], `${at}.${k}`));
        }
        return out;
    }
    return JSON.stringify(recorded) === JSON.stringify(ours) ? [] : [`${at}: ${JSON.stringify(recorded)} vs ${JSON.stringify(ours)}`];
}

const p = new ProgramStack(runId("bgconf"));
const ports = new Map<number, number>();
const extraTags: string[] = [];
let active = "blue";

async function mapPort(recorded: number): Promise<number> {
    if (!ports.has(recorded)) {
        let port = await freePort();
        while ([...ports.values()].includes(port)) port = await freePort();
        ports.set(recorded, port);
    }
    return ports.get(recorded)!;
}

async function configOf(rec: Recording): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(rec.config ?? {})) {
        out[k] = /Port$/.test(k) ? String(await mapPort(Number(v))) : String(v);
        if (k === "activeColor") active = String(v);
    }
    return out;
}

/** The hand changes the recordings describe, done the same way. */
async function handChange(what: string): Promise<void> {
    const idle = active === "blue" ? "green" : "blue";
    if (/^docker rm -f \d+ idle container/.test(what)) {
        for (const c of p.containers(idle as "blue" | "green")) dockerCli("rm", "-f", c);
    } else if (/^docker stop \d+ idle container/.test(what)) {
        for (const c of p.containers(idle as "blue" | "green")) dockerCli("stop", c);
    } else if (what === "docker rm -f the proxy") {
        dockerCli("rm", "-f", p.proxy());
    } else if (/^blueEnv\.API_TOKEN set as a secret$/.test(what)) {
        await p.stack.setConfig("bluegreen:blueEnv.API_TOKEN", { value: "conformance-token", secret: true }, true);
    } else {
        throw new Error(`the replay does not know the recorded hand change ${JSON.stringify(what)}`);
    }
}

/** The stored docker resources by (type, name without prefix), from the CLI's export (never decrypted). */
function storedOutputs(): Map<string, Record<string, unknown>[]> {
    const state = JSON.parse(p.cli(["stack", "export"]));
    const out = new Map<string, Record<string, unknown>[]>();
    for (const r of state.deployment.resources ?? []) {
        if (!String(r.type).startsWith("docker:")) continue;
        const key = `${r.type}::${String(r.urn).split("::").pop()!.slice(p.prefix.length + 1)}`;
        out.set(key, [...(out.get(key) ?? []), r.outputs ?? {}]);
    }
    return out;
}

const results: { step: number; name: string; differences: string[]; reason?: string }[] = [];

beforeAll(async () => {
    await p.create();
});

afterAll(async () => {
    await p.destroy();
    for (const t of extraTags) dockerOk("rmi", t);
    console.log("conformance:", JSON.stringify(results, null, 2));
});

describe("the installed docker plugin replays the real plugin's recorded steps", () => {
    const recs = recordings();

    it.each(recs.map((r) => [r.step, r.name, r] as const))("step %i: %s", async (_n, _name, rec) => {
        if (rec.name === "destroy") {
            const left = await p.destroy();
            expect({ ok: true, containersLeft: left.filter((l) => l.startsWith("container")).length }).toEqual({ ok: rec.ok, containersLeft: rec.containersLeft });
            return;
        }
        const config = await configOf(rec);
        if (rec.step === 1) await p.set({ ...config, healthRetries: "10", healthDeadlineSeconds: "60" });
        else if (Object.keys(config).length) await p.set(config);
        if (rec.handChange) await handChange(rec.handChange);
        if (rec.refreshed) p.cli(["refresh", "--yes", "--skip-preview"]);

        // The plan.
        const plan = JSON.parse(p.cli(["preview", "--json"]));
        const ours = describePlan((plan.steps ?? []).map((s: { op: string; urn: string; replaceReasons?: string[]; detailedDiff?: Record<string, unknown> }) => ({
            op: s.op, type: RENAMED[s.urn.split("::")[2].split("$").pop()!] ?? s.urn.split("::")[2].split("$").pop()!, name: s.urn.split("::").pop()!, replaceReasons: s.replaceReasons ?? [], detailedDiff: s.detailedDiff ?? {},
        })), p.prefix);
        const recorded = describePlan(rec.plan!.steps, RECORDED_PREFIX);
        const differences = [...recorded.filter((l) => !ours.includes(l)).map((l) => `- ${l}`), ...ours.filter((l) => !recorded.includes(l)).map((l) => `+ ${l}`)];
        const fixed = FIXED[rec.step];
        results.push({ step: rec.step, name: rec.name, differences, reason: fixed?.reason });
        // Only the listed differences, each with its reason: the detailed-diff property lists are
        // compared too, except for the listed lines, which carry their own.
        const strip = (l: string) => l.replace(/ \{[^}]*\}$/, "");
        // Soft: the step's update still runs, so that one difference does not hide the next steps'.
        expect.soft(differences.map(strip).sort(), fixed?.reason ?? "no difference is expected at this step").toEqual([...(fixed?.lines ?? [])].sort());

        // The update.
        if (rec.up) {
            const up = (() => {
                try {
                    p.cli(["up", "--yes", "--skip-preview"]);
                    return { ok: true, out: "" };
                } catch (e) {
                    return { ok: false, out: String((e as { stdout?: string }).stdout ?? "") + String((e as { stderr?: string }).stderr ?? "") };
                }
            })();
            expect(up.ok, up.out.slice(-2000)).toBe(rec.up.ok);
            if (!rec.up.ok) {
                // The recorded failure: the new proxy cannot bind the host ports the old one holds.
                expect(up.out).toMatch(/Unable to start container: .*port is already allocated/);
            }
        }

        // The stored outputs' shapes.
        if (rec.state) {
            const stored = storedOutputs();
            for (const r of rec.state) {
                const key = `${r.type}::${r.name.slice(RECORDED_PREFIX.length + 1)}`;
                const candidates = stored.get(key) ?? [];
                expect(candidates.length, `stored ${key}`).toBeGreaterThan(0);
                const best = candidates.map((o) => shapeDiff(shape(r.outputs), shape(o))).sort((a, b) => a.length - b.length)[0];
                expect(best, `output shape of ${key}`).toEqual([]);
            }
        }
    });
});
