/**
 * Property values as they cross the engine's gRPC boundary when a provider accepts secrets: a
 * secret is the object `{ "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
 * value }`, a value not known yet (preview) is the string UNKNOWN. The kubernetes provider works on
 * plain objects (secrets stripped, as `propMapToUnstructured` does) and puts the secret markers
 * back on what it returns (`annotateSecrets`). Pure.
 */
import { UNKNOWN, type Props } from "../shared/grpcProvider";

export { UNKNOWN };

export const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
export const SECRET_SIG_VALUE = "1b47061264138c4ac30d75fd1eb44270";

export function isSecret(v: unknown): v is { value: unknown } {
    return !!v && typeof v === "object" && !Array.isArray(v) && (v as Props)[SECRET_SIG_KEY] === SECRET_SIG_VALUE;
}

export function makeSecret(v: unknown): unknown {
    return isSecret(v) ? v : { [SECRET_SIG_KEY]: SECRET_SIG_VALUE, value: stripSecrets(v) };
}

/** The value with every secret marker removed (deep). */
export function stripSecrets<T = unknown>(v: T): T {
    if (isSecret(v)) return stripSecrets(v.value) as T;
    if (Array.isArray(v)) return v.map(stripSecrets) as T;
    if (isObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, stripSecrets(x)])) as T;
    return v;
}

export function containsSecrets(v: unknown): boolean {
    if (isSecret(v)) return true;
    if (Array.isArray(v)) return v.some(containsSecrets);
    if (isObject(v)) return Object.values(v).some(containsSecrets);
    return false;
}

export function isUnknown(v: unknown): boolean {
    return v === UNKNOWN;
}

/** Does the value hold an unknown anywhere (`hasComputedValue`)? */
export function hasUnknown(v: unknown): boolean {
    if (v === UNKNOWN) return true;
    if (isSecret(v)) return hasUnknown(v.value);
    if (Array.isArray(v)) return v.some(hasUnknown);
    if (isObject(v)) return Object.values(v).some(hasUnknown);
    return false;
}

export function isObject(v: unknown): v is Props {
    return v !== null && typeof v === "object" && !Array.isArray(v);
}

export function clone<T>(v: T): T {
    return v === undefined ? v : structuredClone(v);
}

/** Deep equality of JSON values. */
export function deepEqual(a: unknown, b: unknown): boolean {
    if (a === b) return true;
    if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
    if (isObject(a)) {
        if (!isObject(b)) return false;
        const ka = Object.keys(a);
        return ka.length === Object.keys(b).length && ka.every((k) => k in b && deepEqual(a[k], b[k]));
    }
    return false;
}

/** `obj.a.b.c` or undefined. */
export function pluck(obj: unknown, ...path: string[]): unknown {
    let cur: unknown = obj;
    for (const p of path) {
        if (!isObject(cur)) return undefined;
        cur = cur[p];
    }
    return cur;
}
