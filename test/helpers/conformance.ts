/**
 * What the two conformance replays share (test/e2e/docker-conformance.test.ts and
 * kubernetes-conformance.test.ts): the recordings' shape, reading them, and the comparison of a
 * recorded plan, change summary and stored values with ours. Each replay keeps its own
 * normalisation (names, ports, addresses), which it passes in. All but `readRecordings` is pure: test/unit/conformance.test.ts.
 */
import * as fs from "node:fs";
import * as path from "node:path";

/** The engine's mark of a secret in `pulumi stack export`. */
export const SECRET_SIG = "4dabf18193072939515e22adb298388d";

export interface PropertyDiff { kind: string; inputDiff: boolean }
export interface PlanStep { op: string; type: string; name: string; replaceReasons: string[]; detailedDiff: Record<string, PropertyDiff> }
export interface StoredResource { type: string; name: string; inputs: Record<string, unknown>; outputs: Record<string, unknown> }
export interface Recording {
    step: number;
    name: string;
    config?: Record<string, string | number>;
    handChange?: string;
    refreshed?: boolean;
    plan?: { changeSummary: Record<string, number>; steps: PlanStep[] };
    up?: { ok: boolean; tail?: string[] };
    state?: StoredResource[];
    ok?: boolean;
    containersLeft?: number;
}

/** The steps recorded in `dir`, in order (their files' names sort as the steps ran). */
export function readRecordings(dir: string): Recording[] {
    if (!fs.existsSync(dir)) throw new Error(`the conformance recordings are missing: ${dir} (../shared beside the checkout)`);
    return fs.readdirSync(dir).filter((f) => f.endsWith(".json")).sort().map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), "utf8")));
}

const show = (v: unknown) => {
    const s = JSON.stringify(v);
    return s === undefined ? "missing" : s.length > 160 ? `${s.slice(0, 160)}...` : s;
};

/** Every difference between two values, as a path and both values; lists element by element. */
export function differences(recorded: unknown, ours: unknown, at = ""): string[] {
    if (Array.isArray(recorded) && Array.isArray(ours)) {
        const out = recorded.length === ours.length ? [] : [`${at}: ${recorded.length} elements recorded, ${ours.length} here`];
        for (let i = 0; i < Math.max(recorded.length, ours.length); i++) out.push(...differences(recorded[i], ours[i], `${at}[${i}]`));
        return out;
    }
    const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === "object" && !Array.isArray(v);
    if (isObject(recorded) && isObject(ours)) {
        return [...new Set([...Object.keys(recorded), ...Object.keys(ours)])].sort()
            .flatMap((k) => differences(recorded[k], ours[k], at ? `${at}.${k}` : k));
    }
    return JSON.stringify(recorded) === JSON.stringify(ours) ? [] : [`${at}: recorded ${show(recorded)}, here ${show(ours)}`];
}

/** A resource's type and name, from its URN. */
export const typeOf = (urn: string) => urn.split("::")[2].split("$").pop()!;
export const nameOf = (urn: string) => urn.split("::").pop()!;

/**
 * Plan steps keyed `op type::name` (one name may have a create and a delete, as while the proxy
 * kind changes), in order: names in the recorded stack's terms (`name`), replace reasons sorted.
 */
export function keyed(steps: PlanStep[], name: (s: string) => string): Record<string, Omit<PlanStep, "op" | "type" | "name">> {
    const out: Record<string, Omit<PlanStep, "op" | "type" | "name">> = {};
    for (const s of steps) {
        const k = `${s.op} ${s.type}::${name(s.name)}`;
        if (k in out) throw new Error(`two plan steps ${k}`);
        out[k] = {
            replaceReasons: [...(s.replaceReasons ?? [])].sort(),
            detailedDiff: Object.fromEntries(Object.entries(s.detailedDiff ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))),
        };
    }
    return Object.fromEntries(Object.entries(out).sort(([x], [y]) => (x < y ? -1 : 1)));
}

/** How many steps of each op. */
export function countOps(steps: { op: string }[]): Record<string, number> {
    const out: Record<string, number> = {};
    for (const s of steps) out[s.op] = (out[s.op] ?? 0) + 1;
    return out;
}

/** The components the recorded program declares at every step: those its first plan creates from nothing. */
export function recordedComponents(recs: Recording[], components: Set<string>): number {
    const first = recs[0].plan!;
    if (first.steps.some((s) => s.op !== "create")) throw new Error("the first recording is not an `up` from nothing");
    return first.steps.filter((s) => components.has(s.type)).length;
}

/**
 * A recorded change summary without the components: those the step changed come off their op,
 * the rest (`declared` in all) off `same`. Component resources are the engine's, run by no plugin.
 */
export function recordedCustomSummary(rec: Recording, declared: number, components: Set<string>): Record<string, number> {
    const out = { ...rec.plan!.changeSummary };
    const changed = rec.plan!.steps.filter((s) => components.has(s.type));
    for (const s of changed) out[s.op] -= 1;
    out.same = (out.same ?? 0) - (declared - changed.filter((s) => s.op === "create").length);
    for (const [op, n] of Object.entries(out)) {
        if (n < 0) throw new Error(`step ${rec.step}: the recorded summary ${JSON.stringify(rec.plan!.changeSummary)} has fewer ${op} than its components`);
        if (n === 0) delete out[op];
    }
    return out;
}
