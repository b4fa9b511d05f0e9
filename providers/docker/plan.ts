/**
 * Pure planning rules of the stand-in docker provider: `check` (refuse what is not implemented,
 * fill in defaults and the auto-name) and `diff` (the new inputs against the stored outputs, with
 * Terraform's semantics as the bridged provider applies them). No I/O: tested without an engine.
 */
import { randomBytes } from "node:crypto";
import type { CheckFailure, DiffKind, DiffResult, Props } from "../shared/grpcProvider";
import { UNKNOWN } from "../shared/grpcProvider";
import { Kind, PropSpec, ResourceSchema, SCHEMAS } from "./schema";

/** Pulumi's auto-name: the logical name, a dash and 7 random hex characters. */
export function autoName(logical: string): string {
    return `${logical}-${randomBytes(4).toString("hex").slice(0, 7)}`;
}

const isUnknown = (v: unknown): boolean =>
    v === UNKNOWN || (Array.isArray(v) ? v.some(isUnknown) : !!v && typeof v === "object" && Object.values(v).some(isUnknown));

function kindOf(v: unknown): Kind | "null" {
    if (v === null || v === undefined) return "null";
    if (Array.isArray(v)) return "list";
    if (typeof v === "boolean") return "bool";
    if (typeof v === "number") return Number.isInteger(v) ? "int" : "string";
    if (typeof v === "string") return "string";
    return "object";
}

function typeFits(spec: PropSpec | Kind, v: unknown): boolean {
    const kind = typeof spec === "string" ? spec : spec.kind;
    const k = kindOf(v);
    if (v === UNKNOWN || k === "null") return true;
    if (kind === "list" || kind === "set") return k === "list";
    if (kind === "object" || kind === "map") return k === "object";
    return k === kind;
}

/** Validates `value` against `spec`, collecting a failure for each unimplemented or mistyped property. */
function validate(path: string, spec: PropSpec | Kind, value: unknown, type: string, failures: CheckFailure[]): void {
    if (!typeFits(spec, value)) {
        const want = typeof spec === "string" ? spec : spec.kind;
        failures.push({ property: path, reason: `\`${path}\` of ${type} must be a ${want}; got ${JSON.stringify(value)}` });
        return;
    }
    if (typeof spec === "string" || value === UNKNOWN || value === null || value === undefined) return;
    if ((spec.kind === "list" || spec.kind === "set") && spec.elem) {
        (value as unknown[]).forEach((el, i) => {
            if (typeof spec.elem === "string") validate(`${path}[${i}]`, spec.elem, el, type, failures);
            else validateObject(`${path}[${i}]`, spec.elem!, el as Props, type, failures);
        });
    }
    if (spec.kind === "object" && spec.fields) validateObject(path, spec.fields, value as Props, type, failures);
}

function validateObject(path: string, fields: Record<string, PropSpec>, value: Props, type: string, failures: CheckFailure[]): void {
    if (value === UNKNOWN as unknown) return;
    for (const [k, v] of Object.entries(value ?? {})) {
        const sub = path ? `${path}.${k}` : k;
        const spec = fields[k];
        if (!spec || spec.outputOnly) {
            failures.push({
                property: sub,
                reason: `the stand-in docker provider does not implement \`${sub}\` of ${type}; it implements ${Object.keys(fields).filter((f) => !fields[f].outputOnly).join(", ")}`,
            });
            continue;
        }
        validate(sub, spec, v, type, failures);
    }
}

function withDefaults(schema: Record<string, PropSpec>, value: Props): Props {
    const out: Props = { ...value };
    for (const [k, spec] of Object.entries(schema)) {
        if (spec.outputOnly) continue;
        if (out[k] === undefined && spec.default !== undefined) out[k] = spec.default;
        if (Array.isArray(out[k]) && spec.elem && typeof spec.elem === "object") {
            const elem = spec.elem;
            out[k] = out[k].map((el: unknown) => (el && typeof el === "object" && !Array.isArray(el) ? withDefaults(elem, el as Props) : el));
        }
    }
    return out;
}

/**
 * `check`: refuses a resource type or property the stand-in does not implement (naming it),
 * fills in the provider's defaults, and keeps the stored auto-name (or makes one).
 */
export function check(type: string, logicalName: string, olds: Props, news: Props): { inputs: Props; failures: CheckFailure[] } {
    const schema = SCHEMAS[type];
    if (!schema) {
        return {
            inputs: news,
            failures: [{ property: "", reason: `the stand-in docker provider does not implement resource type ${type}; it implements ${Object.keys(SCHEMAS).join(", ")}` }],
        };
    }
    const failures: CheckFailure[] = [];
    validateObject("", schema, news, type, failures);
    const inputs = withDefaults(schema, news);
    if (inputs.name === undefined || inputs.name === "") inputs.name = typeof olds.name === "string" && olds.name !== "" ? olds.name : autoName(logicalName);
    return { inputs, failures };
}

/** Terraform does not tell an unset value from its zero value. */
function isZero(v: unknown): boolean {
    if (v === null || v === undefined || v === "" || v === 0 || v === false) return true;
    if (Array.isArray(v)) return v.length === 0;
    if (typeof v === "object") return Object.values(v as object).every(isZero);
    return false;
}

/** A canonical form for comparison: zero fields dropped, sets sorted. */
function canon(spec: PropSpec | Kind | undefined, v: unknown): unknown {
    if (isZero(v)) return null;
    const kind = spec === undefined ? undefined : typeof spec === "string" ? spec : spec.kind;
    if (Array.isArray(v)) {
        const elem = typeof spec === "object" ? spec.elem : undefined;
        const items = v.map((el) => (elem && typeof elem === "object" ? canonObject(elem, el as Props) : canon(elem, el)));
        return kind === "set" ? items.map((x) => JSON.stringify(x)).sort() : items.map((x) => JSON.stringify(x));
    }
    if (typeof v === "object" && typeof spec === "object" && spec.fields) return canonObject(spec.fields, v as Props);
    return v;
}

function canonObject(fields: Record<string, PropSpec>, v: Props): Props | null {
    if (isZero(v)) return null;
    const out: Props = {};
    // Only the fields the schema knows: an output's extra computed fields (driverOpts, ...) are not inputs.
    for (const k of Object.keys(fields).sort()) {
        const c = canon(fields[k], v[k]);
        if (c !== null) out[k] = c;
    }
    return out;
}

/** Does a change in this property (or in any of its fields) force a new object? */
function forcesNew(spec: PropSpec): boolean {
    if (spec.forceNew) return true;
    if (spec.fields) return Object.values(spec.fields).some(forcesNew);
    return false;
}

type BaseKind = "add" | "delete" | "update";

/** Present as the bridge sees it: anything but null (an empty list or object is present). */
const present = (v: unknown): boolean => v !== null && v !== undefined;

/** The spec of a list's or set's element, as a spec. */
function elemSpec(spec: PropSpec): PropSpec | Kind | undefined {
    if (!spec.elem) return undefined;
    return typeof spec.elem === "string" ? spec.elem : { kind: "object", fields: spec.elem };
}

/** An element's identity in a set (Terraform hashes the element): its canonical form. */
const identity = (spec: PropSpec | Kind | undefined, v: unknown): string => JSON.stringify(canon(spec, v));

/**
 * The longest common subsequence of two lists of scalars, as the edit script the bridge reports:
 * an element only in the new list is an add at its new index, one only in the old list a delete
 * at its old index, and an index with both an update.
 */
function listAttributeDiff(path: string, o: unknown[], n: unknown[], out: Record<string, BaseKind>): void {
    const eq = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
    const lcs: number[][] = Array.from({ length: o.length + 1 }, () => new Array(n.length + 1).fill(0));
    for (let i = o.length - 1; i >= 0; i--) {
        for (let j = n.length - 1; j >= 0; j--) lcs[i][j] = eq(o[i], n[j]) ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
    const mark = (i: number, k: BaseKind) => { out[`${path}[${i}]`] = out[`${path}[${i}]`] ? "update" : k; };
    let i = 0;
    let j = 0;
    while (i < o.length || j < n.length) {
        if (i < o.length && j < n.length && eq(o[i], n[j])) { i++; j++; }
        else if (j < n.length && (i === o.length || lcs[i][j + 1] >= lcs[i + 1][j])) mark(j++, "add");
        else mark(i++, "delete");
    }
}

/**
 * The detailed diff of one value, named down to the element and field that changed, as the
 * bridged provider reports it (pulumi-terraform-bridge's detailed diff, `detailed_diff.go`): a
 * value missing on one side is an add or a delete of the whole path; a list of objects is
 * compared index by index (`ports[0].external`); a list of scalars by an edit script; a set by
 * its elements' identities, a removed element at its old index and an added one at its index in
 * the new inputs, both at one index an update of that element (`labels[2]`, `envs[0]`,
 * `capabilities.adds[0]`); an object field by field. An unknown value is an update of its path.
 */
function detail(path: string, spec: PropSpec | Kind | undefined, o: unknown, n: unknown, out: Record<string, BaseKind>): void {
    if (!present(o) && !present(n)) return;
    if (isZero(o) && isZero(n) && !isUnknown(n)) return; // Terraform does not tell unset from zero
    if (!present(o)) { out[path] = "add"; return; }
    if (!present(n)) { out[path] = "delete"; return; }
    const kind = spec === undefined ? undefined : typeof spec === "string" ? spec : spec.kind;
    if (n === UNKNOWN || (kind === "set" && isUnknown(n))) { out[path] = "update"; return; }
    if ((kind === "list" || kind === "set") && Array.isArray(o) && Array.isArray(n)) {
        const el = elemSpec(spec as PropSpec);
        if (kind === "set") {
            const olds = o.map((x) => identity(el, x));
            const news = n.map((x) => identity(el, x));
            const changes = new Map<number, { old?: unknown; new?: unknown }>();
            o.forEach((x, i) => { if (!news.includes(olds[i])) changes.set(i, { old: x }); });
            n.forEach((x, i) => { if (!olds.includes(news[i])) changes.set(i, { ...changes.get(i), new: x }); });
            for (const [i, c] of [...changes].sort((a, b) => a[0] - b[0])) detail(`${path}[${i}]`, el, c.old ?? null, c.new ?? null, out);
        } else if (typeof el === "object") {
            for (let i = 0; i < Math.max(o.length, n.length); i++) detail(`${path}[${i}]`, el, o[i] ?? null, n[i] ?? null, out);
        } else {
            listAttributeDiff(path, o, n, out);
        }
        return;
    }
    if (kind === "object" && typeof spec === "object" && spec.fields && typeof o === "object" && typeof n === "object") {
        for (const k of Object.keys(spec.fields).sort()) detail(`${path}.${k}`, spec.fields[k], (o as Props)[k] ?? null, (n as Props)[k] ?? null, out);
        return;
    }
    if (JSON.stringify(canon(spec, o)) !== JSON.stringify(canon(spec, n))) out[path] = "update";
}

/**
 * `diff`: the program's new inputs against the stored outputs, property by property, as the
 * bridged provider plans it. A change of a ForceNew property replaces; an unknown value counts
 * as a change; a computed property the program leaves out keeps the provider's value, unless
 * the stored state has none at all (a create that failed half-way), which plans it anew. The
 * detailed diff names what changed inside a property as the real plugin does (`detail`).
 */
export function diff(type: string, olds: Props, news: Props): DiffResult {
    const schema: ResourceSchema = SCHEMAS[type] ?? {};
    const detailedDiff: Record<string, DiffKind> = {};
    const replaces: string[] = [];
    for (const [prop, spec] of Object.entries(schema)) {
        const o = olds[prop];
        const n = news[prop];
        const replace = forcesNew(spec);
        let kind: BaseKind | undefined;
        if (n === undefined || (isZero(n) && spec.computed)) {
            if (spec.computed) {
                if (o === null && prop in olds && spec.kind === "list") kind = "add";
            } else if (!isZero(o)) {
                kind = "delete";
            }
        } else if (isUnknown(n)) {
            kind = "update";
        } else if (JSON.stringify(canon(spec, o)) !== JSON.stringify(canon(spec, n))) {
            kind = o === null || o === undefined ? "add" : "update";
        }
        if (!kind) continue;
        // The property changed (Terraform's plan); the detailed diff says where inside it.
        const parts: Record<string, BaseKind> = {};
        if (kind === "update") detail(prop, spec, o ?? null, n ?? null, parts);
        if (Object.keys(parts).length === 0) parts[prop] = kind;
        for (const [path, k] of Object.entries(parts)) detailedDiff[path] = (replace ? `${k}-replace` : k) as DiffKind;
        if (replace) replaces.push(prop);
    }
    return { changes: Object.keys(detailedDiff).length > 0, replaces, detailedDiff };
}
