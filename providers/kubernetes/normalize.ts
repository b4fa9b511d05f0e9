/**
 * `normalizeInputs` of the real provider (pulumi-kubernetes `provider.go`, `clients/unstructured.go`),
 * for the kinds and fields this stand-in implements, pure: semantically equal inputs get the same
 * shape, so that they diff equal against what the API server returns.
 *
 * - Secret: a non-empty `stringData` becomes base64 `data` (stringData wins over data, as the API
 *   server does), and `stringData` is dropped; an empty one is kept as it is (the real provider
 *   does the same, which is why an empty `stringData: {}` plans a replacement on every update);
 *   `data` values are re-encoded (the API server trims base64 whitespace).
 * - Deployment: resource quantities in canonical form (`0.5` → `500m`, `1024Mi` → `1Gi`), as the
 *   typed round trip through `resource.Quantity` gives them.
 * - Every kind: the read-only metadata fields are removed.
 * Inputs holding an unknown value are not normalized (only the read-only fields go).
 */
import type { Props } from "../shared/grpcProvider";
import { clone, hasUnknown, isObject } from "./values";

const READ_ONLY_METADATA = ["creationTimestamp", "deletionGracePeriodSeconds", "deletionTimestamp", "generation", "managedFields", "resourceVersion", "uid"];

export function normalizeInputs(input: Props): Props {
    const obj = clone(input) ?? {};
    if (!hasUnknown(obj)) {
        if (obj.apiVersion === "v1" && obj.kind === "Secret") normalizeSecret(obj);
        if (obj.apiVersion === "apps/v1" && obj.kind === "Deployment") normalizeDeployment(obj);
    }
    if (isObject(obj.metadata)) for (const k of READ_ONLY_METADATA) delete obj.metadata[k];
    return obj;
}

function normalizeSecret(obj: Props): void {
    const sd = obj.stringData;
    const isStringMap = isObject(sd) && Object.values(sd).every((v) => typeof v === "string");
    if (isStringMap && Object.keys(sd).length > 0) {
        const data: Props = isObject(obj.data) ? obj.data : {};
        for (const [k, v] of Object.entries(sd as Record<string, string>)) data[k] = Buffer.from(v, "utf8").toString("base64");
        obj.data = data;
        delete obj.stringData;
        return;
    }
    if (isObject(obj.data)) {
        for (const [k, v] of Object.entries(obj.data)) {
            if (typeof v !== "string" || !/^[A-Za-z0-9+/=\s]*$/.test(v)) continue;
            obj.data[k] = Buffer.from(v, "base64").toString("base64");
        }
    }
}

function normalizeDeployment(obj: Props): void {
    const containers = obj.spec?.template?.spec?.containers;
    if (!Array.isArray(containers)) return;
    for (const c of containers) {
        for (const section of ["requests", "limits"]) {
            const q = c?.resources?.[section];
            if (!isObject(q)) continue;
            for (const [k, v] of Object.entries(q)) {
                if (typeof v === "string" || typeof v === "number") {
                    const canon = canonicalQuantity(String(v));
                    if (canon !== undefined) q[k] = canon;
                }
            }
        }
    }
}

// ---- resource.Quantity (k8s.io/apimachinery/pkg/api/resource), canonical string form ----

const DECIMAL_SUFFIX: Record<string, number> = { n: -9, u: -6, m: -3, "": 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY_SUFFIX: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const DECIMAL_BY_EXP = Object.fromEntries(Object.entries(DECIMAL_SUFFIX).map(([s, e]) => [e, s]));
const BINARY_BY_EXP = Object.fromEntries(Object.entries(BINARY_SUFFIX).map(([s, e]) => [e, s]));

const pow = (b: bigint, e: number): bigint => b ** BigInt(e);

/**
 * The canonical form Kubernetes prints for a quantity (`Quantity.String()`), or undefined when
 * the text is not a quantity. Values are kept to nano precision, rounded up, as the API server does.
 */
export function canonicalQuantity(text: string): string | undefined {
    const m = /^([+-]?)([0-9]*)(?:\.([0-9]*))?(.*)$/.exec(text.trim());
    if (!m || (m[2] === "" && (m[3] ?? "") === "")) return undefined;
    const [, sign, whole, frac = "", suffix] = m;
    let format: "DecimalSI" | "BinarySI" | "DecimalExponent";
    let exp10 = 0;
    let exp2 = 0;
    if (suffix in BINARY_SUFFIX) {
        format = "BinarySI";
        exp2 = BINARY_SUFFIX[suffix];
    } else if (suffix in DECIMAL_SUFFIX) {
        format = "DecimalSI";
        exp10 = DECIMAL_SUFFIX[suffix];
    } else if (/^[eE][+-]?[0-9]+$/.test(suffix)) {
        format = "DecimalExponent";
        exp10 = Number(suffix.slice(1));
    } else {
        return undefined;
    }
    // value = digits × 10^(exp10 − frac.length) × 2^exp2, held as an integer count of nanos (rounded up).
    const digits = BigInt(`${whole}${frac}` || "0");
    let num = digits * pow(2n, exp2);
    let den = 1n;
    const e = exp10 - frac.length + 9;
    if (e >= 0) num *= pow(10n, e);
    else den = pow(10n, -e);
    let nanos = num / den + (num % den === 0n ? 0n : 1n);
    if (nanos === 0n) return "0";
    const neg = sign === "-";
    const giga = 1_000_000_000n;

    if (format === "BinarySI") {
        if (nanos < 1024n * giga) format = "DecimalSI";
        else if (nanos % giga !== 0n) format = "DecimalSI";
        else {
            let v = nanos / giga;
            let k = 0;
            while (v % 1024n === 0n && k < 6) {
                v /= 1024n;
                k++;
            }
            return `${neg ? "-" : ""}${v}${BINARY_BY_EXP[k * 10] ?? ""}`;
        }
    }
    let exp = -9;
    while (nanos % 10n === 0n) {
        nanos /= 10n;
        exp++;
    }
    const mod = ((exp % 3) + 3) % 3;
    nanos *= pow(10n, mod);
    exp -= mod;
    const suffixOut = format === "DecimalSI" && exp in DECIMAL_BY_EXP ? DECIMAL_BY_EXP[exp] : exp === 0 ? "" : `e${exp}`;
    return `${neg ? "-" : ""}${nanos}${suffixOut}`;
}
