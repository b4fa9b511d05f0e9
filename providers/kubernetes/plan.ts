/**
 * Pure planning rules of the stand-in kubernetes provider, after pulumi-kubernetes v4
 * (`provider/pkg/provider/provider.go`): `check` (refuse what is not implemented, normalize,
 * auto-name, mark Secret content secret), `diff` (the new inputs against the *stored live object*
 * pruned to the shape of the old inputs, as a JSON merge patch turned into a detailed diff, with
 * the kind's force-new fields replacing), and the "checkpoint object" that create, update and read
 * return (the live object plus `__inputs`, `__initialApiVersion`, `__fieldManager`). No I/O.
 */
import type { CheckFailure, DiffKind, DiffResult, Props } from "../shared/grpcProvider";
import { adoptOldAutonameIfUnnamed, assignNameIfAutonamable, isAutonamed, isNamed, nameOf, namespaceOf, newFieldManager } from "./naming";
import { normalizeInputs } from "./normalize";
import { CONFIG_KEYS, FieldSpec, FORCE_NEW, GVK, SCHEMAS, TYPES } from "./schema";
import { clone, containsSecrets, deepEqual, isObject, isSecret, makeSecret, stripSecrets, UNKNOWN } from "./values";

// ---------------------------------------------------------------- provider config

/** `checkConfig`: only `kubernetes:kubeconfig` and `kubernetes:context` (and the engine's `version`). */
export function checkConfig(news: Props): CheckFailure[] {
    const config = stripSecrets(news ?? {});
    const failures: CheckFailure[] = Object.keys(config)
        .filter((k) => !CONFIG_KEYS.includes(k) && k !== "version" && !k.startsWith("__"))
        .map((k) => ({
            property: k,
            reason: `the stand-in kubernetes provider does not implement provider config \`kubernetes:${k}\`; it implements ${CONFIG_KEYS.map((c) => `kubernetes:${c}`).join(", ")}`,
        }));
    for (const k of CONFIG_KEYS) {
        if (config[k] !== undefined && config[k] !== UNKNOWN && typeof config[k] !== "string") failures.push({ property: k, reason: `\`kubernetes:${k}\` must be a string` });
    }
    return failures;
}

// ---------------------------------------------------------------- check

function describe(spec: FieldSpec): string {
    return spec.kind === "stringMap" ? "map of strings" : spec.kind === "intOrString" ? "integer or string" : spec.kind === "quantity" ? "quantity" : spec.kind;
}

function validate(path: string, spec: FieldSpec, value: unknown, type: string, failures: CheckFailure[]): void {
    if (value === UNKNOWN || value === null || value === undefined) return;
    const bad = () => failures.push({ property: path, reason: `\`${path}\` of ${type} must be a ${describe(spec)}; got ${JSON.stringify(value)}` });
    switch (spec.kind) {
        case "string":
            if (typeof value !== "string") return void bad();
            if (spec.only !== undefined && value !== spec.only) {
                failures.push({ property: path, reason: `\`${path}\` of ${type} must be ${JSON.stringify(spec.only)}; got ${JSON.stringify(value)}` });
            }
            return;
        case "int":
            if (typeof value !== "number" || !Number.isInteger(value)) bad();
            return;
        case "bool":
            if (typeof value !== "boolean") bad();
            return;
        case "intOrString":
            if (!(typeof value === "string" || (typeof value === "number" && Number.isInteger(value)))) bad();
            return;
        case "quantity":
            if (typeof value !== "string" && typeof value !== "number") bad();
            return;
        case "stringMap":
            if (!isObject(value)) return void bad();
            for (const [k, v] of Object.entries(value)) {
                if (v !== UNKNOWN && typeof v !== "string") failures.push({ property: `${path}.${k}`, reason: `\`${path}.${k}\` of ${type} must be a string; got ${JSON.stringify(v)}` });
            }
            return;
        case "list":
            if (!Array.isArray(value)) return void bad();
            value.forEach((el, i) => validate(`${path}[${i}]`, spec.elem!, el, type, failures));
            return;
        case "object":
            if (!isObject(value)) return void bad();
            validateFields(path, spec.fields!, value, type, failures);
    }
}

function validateFields(path: string, fields: Record<string, FieldSpec>, value: Props, type: string, failures: CheckFailure[]): void {
    for (const [k, v] of Object.entries(value)) {
        const sub = path ? `${path}.${k}` : k;
        const spec = fields[k];
        if (!spec) {
            failures.push({
                property: sub,
                reason: `the stand-in kubernetes provider does not implement \`${sub}\` of ${type}; it implements ${Object.keys(fields).map((f) => (path ? `${path}.${f}` : f)).join(", ")}`,
            });
            continue;
        }
        validate(sub, spec, v, type, failures);
    }
}

export interface CheckOptions {
    /** The namespace of the kubeconfig's context, for a namespaced object that names none. */
    defaultNamespace?: string;
}

/**
 * `check`: refuses a resource type or field the stand-in does not implement (naming it), then as
 * the real provider: normalizes, keeps the stored auto-name (or makes one, with the
 * `pulumi.com/autonamed` annotation), fills in the default namespace, and marks a Secret's
 * `data`/`stringData` secret (so that no plain value of it reaches the state).
 */
export function check(type: string, logicalName: string, olds: Props, news: Props, opts: CheckOptions = {}): { inputs: Props; failures: CheckFailure[] } {
    const schema = SCHEMAS[type];
    if (!schema) {
        return {
            inputs: news,
            failures: [{ property: "", reason: `the stand-in kubernetes provider does not implement resource type ${type}; it implements ${TYPES.join(", ")}` }],
        };
    }
    const failures: CheckFailure[] = [];
    const plain = stripSecrets(news);
    validateFields("", schema, plain, type, failures);
    if (failures.length) return { inputs: news, failures };

    const inputs = normalizeInputs({ apiVersion: GVK[type].apiVersion, kind: GVK[type].kind, ...plain });
    const oldInputs = stripSecrets(olds ?? {});
    if (Object.keys(oldInputs).length > 0) adoptOldAutonameIfUnnamed(inputs, oldInputs);
    else assignNameIfAutonamable(inputs, logicalName);
    if (opts.defaultNamespace && namespaceOf(inputs) === "" && inputs.metadata?.namespace !== UNKNOWN) {
        inputs.metadata = { ...(inputs.metadata ?? {}), namespace: opts.defaultNamespace };
    }
    return { inputs: annotateSecrets(inputs, news), failures };
}

// ---------------------------------------------------------------- secrets

/**
 * Copies secretness from `ins` to `outs` (in place), as the real provider's `annotateSecrets`:
 * a Secret's `data` and `stringData` are always secret; otherwise an output whose input of the
 * same key holds a secret becomes secret, recursing where both are objects.
 */
export function annotateSecrets(outs: Props, ins: Props | undefined): Props {
    if (!isObject(outs)) return outs;
    if (typeof outs.kind === "string" && outs.kind === "Secret") {
        if ("data" in outs) outs.data = makeSecret(outs.data);
        if ("stringData" in outs) outs.stringData = makeSecret(outs.stringData);
        return outs;
    }
    if (!isObject(ins)) return outs;
    for (const [key, inValue] of Object.entries(ins)) {
        if (!(key in outs)) continue;
        const outValue = outs[key];
        if (isObject(outValue) && !isSecret(outValue) && isObject(inValue) && !isSecret(inValue)) annotateSecrets(outValue, inValue);
        else if (!isSecret(outValue) && containsSecrets(inValue)) outs[key] = makeSecret(outValue);
    }
    return outs;
}

// ---------------------------------------------------------------- checkpoint

/** The stored state's old inputs (`__inputs`) and live object (the rest), secrets stripped. */
export function parseCheckpoint(state: Props): { inputs: Props; live: Props } {
    const plain = stripSecrets(state ?? {});
    if (isObject(plain.inputs) && isObject(plain.live)) return { inputs: plain.inputs, live: plain.live };
    const { __inputs, ...live } = plain;
    return { inputs: isObject(__inputs) ? __inputs : {}, live };
}

function dropNulls(v: any): any {
    if (Array.isArray(v)) return v.map(dropNulls);
    if (isObject(v) && !isSecret(v)) return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== null && x !== undefined).map(([k, x]) => [k, dropNulls(x)]));
    if (isSecret(v)) return makeSecret(dropNulls(v.value));
    return v;
}

/** What create, update and read return: the live object, the inputs it came from, and the provider's bookkeeping. */
export function checkpointObject(inputs: Props, live: Props, fromInputs: Props, initialApiVersion: string, fieldManager: string): Props {
    const object = annotateSecrets(clone(live), fromInputs);
    const inputsOut = annotateSecrets(clone(inputs), fromInputs);
    return dropNulls({ ...object, __inputs: inputsOut, __initialApiVersion: initialApiVersion, __fieldManager: fieldManager });
}

export function initialApiVersionOf(state: Props, inputs: Props): string {
    return typeof state?.__initialApiVersion === "string" ? state.__initialApiVersion : String(stripSecrets(inputs)?.apiVersion ?? "");
}

export function fieldManagerOf(state: Props | undefined): string {
    return typeof state?.__fieldManager === "string" && state.__fieldManager !== "" ? state.__fieldManager : newFieldManager();
}

/**
 * `read` (refresh) from the live object: the new inputs are the live object pruned to the shape
 * of the old inputs, and the state is the checkpoint of those, as the real provider returns them.
 */
export function readResult(live: Props, oldInputs: Props, oldState: Props): { outs: Props; inputs: Props } {
    const fromInputs = oldInputs && Object.keys(oldInputs).length ? oldInputs : (oldState?.__inputs ?? {});
    const normalized = normalizeInputs(stripSecrets(fromInputs));
    const liveInputs = pruneMap(live, normalized) ?? {};
    const outs = checkpointObject(liveInputs, live, fromInputs, initialApiVersionOf(oldState, fromInputs), fieldManagerOf(oldState));
    return { outs, inputs: dropNulls(annotateSecrets(clone(liveInputs), fromInputs)) };
}

// ---------------------------------------------------------------- diff

type JsonType = "object" | "array" | "string" | "number" | "boolean" | "null";
const jsonType = (v: unknown): JsonType =>
    v === null || v === undefined ? "null" : Array.isArray(v) ? "array" : typeof v === "object" ? "object" : (typeof v as JsonType);

/** The live object pruned to the keys (and list lengths) of `target`: `pruneMap` of the real provider. */
export function pruneMap(source: Props | undefined, target: Props | undefined): Props | undefined {
    if (!isObject(source) || !isObject(target)) return undefined;
    const out: Props = {};
    for (const [k, v] of Object.entries(source)) {
        if (!(k in target)) continue;
        const t = target[k];
        if (jsonType(v) === "null" || jsonType(t) === "null" || jsonType(v) !== jsonType(t)) out[k] = v;
        else if (isObject(v)) out[k] = pruneMap(v, t);
        else if (Array.isArray(v)) out[k] = pruneSlice(v, t);
        else out[k] = v;
    }
    return out;
}

function pruneSlice(source: unknown[], target: unknown[]): unknown[] {
    if (source.length === 0 || target.length === 0) return [];
    if (jsonType(source[0]) !== jsonType(target[0])) return clone(source);
    const out: unknown[] = [];
    for (let i = 0; i < target.length && i < source.length; i++) {
        const v = source[i];
        const t = target[i];
        if (v === null || t === null) out.push(v);
        else if (isObject(v) && isObject(t)) out.push(pruneMap(v, t));
        else if (Array.isArray(v) && Array.isArray(t)) out.push(pruneSlice(v, t));
        else out.push(v);
    }
    return out;
}

/** RFC 7386 merge patch from `a` to `b` (evanphx/json-patch `CreateMergePatch`); an unknown always differs. */
export function createMergePatch(a: Props, b: Props): Props {
    const into: Props = {};
    for (const [key, bv] of Object.entries(b)) {
        if (!(key in a)) {
            into[key] = bv;
            continue;
        }
        const av = a[key];
        if (bv === UNKNOWN || jsonType(av) !== jsonType(bv)) {
            into[key] = bv;
            continue;
        }
        if (isObject(av)) {
            const sub = createMergePatch(av, bv);
            if (Object.keys(sub).length > 0) into[key] = sub;
        } else if (!deepEqual(av, bv)) {
            into[key] = bv;
        }
    }
    for (const key of Object.keys(a)) if (!(key in b)) into[key] = null;
    return into;
}

type Path = (string | number)[];
const MISSING = Symbol("missing");

function formatPath(path: Path): string {
    let s = "";
    for (const p of path) {
        if (typeof p === "number") s = `${s}[${p}]`;
        else if (/[."[\]]/.test(p)) s = `${s}["${p.replace(/"/g, '\\"')}"]`;
        else s = s ? `${s}.${p}` : p;
    }
    return s;
}

function patchSlice(path: Path, v: unknown): unknown {
    if (path.length === 0) return v;
    const [head, ...rest] = path;
    return typeof head === "number" ? [patchSlice(rest, v)] : { [head]: patchSlice(rest, v) };
}

/** Does the patch slice reach one of the force-new fields (`.spec.selector`, ...)? */
function reachesAny(slice: unknown, fields: string[]): boolean {
    return fields.some((f) => {
        let cur: unknown = slice;
        for (const seg of f.replace(/^\./, "").split(".")) {
            if (!isObject(cur) || !(seg in cur)) return false;
            cur = cur[seg];
        }
        return true;
    });
}

export interface PropertyDiff { kind: DiffKind; inputDiff: boolean }

/** `convertPatchToDiff` of the real provider: the merge patch as a detailed diff, by property path. */
export function convertPatchToDiff(patch: Props, oldLive: Props, newInputs: Props, oldInputs: Props, forceNew: string[]): Record<string, PropertyDiff> {
    const diff: Record<string, PropertyDiff> = {};
    const get = (m: unknown, k: string): unknown => (isObject(m) && k in m ? m[k] : MISSING);
    const at = (arr: unknown, i: number): unknown => (Array.isArray(arr) && i < arr.length ? arr[i] : null);

    const addValue = (path: Path, v: unknown, old: unknown, newInput: unknown, oldInput: unknown, inArray: boolean): void => {
        if (newInput === MISSING && (v !== null || oldInput === MISSING)) return;
        let kind: "add" | "delete" | "update";
        let inputDiff = false;
        if (v === UNKNOWN) {
            kind = old === MISSING ? "add" : "update";
        } else if (v === null) {
            kind = "delete";
            inputDiff = true;
        } else if (old === MISSING) {
            kind = "add";
        } else if (isObject(v)) {
            if (isObject(old)) return addMap(path, v, old, isObject(newInput) ? newInput : undefined, isObject(oldInput) ? oldInput : undefined, inArray);
            kind = "update";
        } else if (Array.isArray(v)) {
            if (Array.isArray(old)) return addArray(path, v, old, Array.isArray(newInput) ? newInput : undefined, Array.isArray(oldInput) ? oldInput : undefined);
            kind = "update";
        } else {
            if (deepEqual(v, old)) return;
            kind = "update";
        }
        const replace = reachesAny(patchSlice(path, v), forceNew);
        diff[formatPath(path)] = { kind: (replace ? `${kind}-replace` : kind) as DiffKind, inputDiff };
    };
    const addMap = (path: Path, m: Props, old: Props, newInput: Props | undefined, oldInput: Props | undefined, inArray: boolean): void => {
        for (const [k, v] of Object.entries(m)) addValue([...path, k], v, get(old, k), get(newInput, k), get(oldInput, k), inArray);
        if (inArray) {
            for (const [k, v] of Object.entries(old)) if (!(k in m)) addValue([...path, k], null, v, get(newInput, k), get(oldInput, k), inArray);
        }
    };
    const addArray = (path: Path, a: unknown[], old: unknown[], newInput: unknown[] | undefined, oldInput: unknown[] | undefined): void => {
        let i = 0;
        for (; i < a.length && i < old.length; i++) addValue([...path, i], a[i], old[i], at(newInput, i), at(oldInput, i), true);
        if (i < a.length) for (; i < a.length; i++) addValue([...path, i], a[i], MISSING, at(newInput, i), at(oldInput, i), true);
        else for (; i < old.length; i++) addValue([...path, i], null, old[i], at(newInput, i), at(oldInput, i), true);
    };
    addMap([], patch, oldLive, newInputs, oldInputs, false);
    return diff;
}

export interface KubeDiff extends DiffResult {
    detailedDiff: Record<string, DiffKind>;
    /** Paths whose change is a removal from the inputs. */
    inputDiffs: string[];
}

/**
 * `diff`: the new (checked) inputs against the stored state. The old live object, pruned to the
 * shape of the old inputs, is the base (so that drift a refresh saw shows, and fields the server
 * fills in do not); a change of a force-new field replaces; the old object is deleted first only
 * when the program names it (an auto-named replacement gets a new name, so both can exist).
 */
export function diff(type: string, olds: Props, news: Props): KubeDiff {
    const { inputs: storedInputs, live: oldLive } = parseCheckpoint(olds);
    const oldInputs = normalizeInputs(storedInputs);
    const newInputs = normalizeInputs(stripSecrets(news));
    const oldLivePruned = pruneMap(oldLive, oldInputs) ?? {};
    const canonical = (ns: unknown) => (typeof ns === "string" && ns !== "" ? ns : "default");
    // Every kind here is namespaced: an unset namespace is "default" on both sides.
    oldLivePruned.metadata = { ...(isObject(oldLivePruned.metadata) ? oldLivePruned.metadata : {}), namespace: canonical(oldLivePruned.metadata?.namespace) };
    if (newInputs.metadata?.namespace !== UNKNOWN) {
        newInputs.metadata = { ...(isObject(newInputs.metadata) ? newInputs.metadata : {}), namespace: canonical(newInputs.metadata?.namespace) };
    }
    if (!oldLivePruned.apiVersion && GVK[type]) Object.assign(oldLivePruned, { apiVersion: GVK[type].apiVersion, kind: GVK[type].kind });
    delete oldLivePruned.metadata.resourceVersion;
    if (nameOf(newInputs) !== "") oldLivePruned.metadata.name = nameOf(oldLive);

    const patch = createMergePatch(oldLivePruned, newInputs);
    const detailed = Object.keys(patch).length ? convertPatchToDiff(patch, oldLivePruned, newInputs, oldLivePruned, FORCE_NEW[type] ?? [".metadata.name", ".metadata.namespace"]) : {};
    const detailedDiff = Object.fromEntries(Object.entries(detailed).map(([k, v]) => [k, v.kind])) as Record<string, DiffKind>;
    const replaces = Object.entries(detailedDiff)
        .filter(([k, kind]) => kind.endsWith("-replace") || (kind === "delete" && k === "metadata"))
        .map(([k]) => k);
    const deleteBeforeReplace = replaces.length > 0 && isNamed(newInputs) && !isAutonamed(newInputs) &&
        nameOf(newInputs) === nameOf(oldLive) && namespaceOf(newInputs) === namespaceOf(oldLive);
    return {
        changes: Object.keys(detailedDiff).length > 0,
        replaces,
        detailedDiff,
        deleteBeforeReplace,
        diffs: [],
        inputDiffs: Object.entries(detailed).filter(([, v]) => v.inputDiff).map(([k]) => k),
    };
}
