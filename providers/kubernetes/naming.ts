/**
 * The real provider's naming rules (pulumi-kubernetes `pkg/metadata/naming.go`), pure:
 * an object without `metadata.name` is auto-named `<logical name>-<8 random hex>` (Pulumi's
 * `NewUniqueName`, lowercase alphanumerics, DNS-safe) and annotated `pulumi.com/autonamed: "true"`;
 * a later check keeps the stored auto-name; a name set by the program is used as it is. The field
 * manager of server-side apply is named the same way, `pulumi-kubernetes-<8 random hex>`.
 */
import { randomBytes } from "node:crypto";
import type { Props } from "../shared/grpcProvider";
import { AUTONAMED } from "./schema";
import { isObject, isUnknown } from "./values";

export function uniqueName(prefix: string): string {
    return `${prefix}${randomBytes(4).toString("hex")}`;
}

export const autoName = (logicalName: string): string => uniqueName(`${logicalName}-`);

export const newFieldManager = (): string => uniqueName("pulumi-kubernetes-");

function meta(obj: Props): Props {
    if (!isObject(obj.metadata)) obj.metadata = {};
    return obj.metadata;
}

export function nameOf(obj: Props | undefined): string {
    const n = obj?.metadata?.name;
    return typeof n === "string" ? n : "";
}

export function namespaceOf(obj: Props | undefined): string {
    const n = obj?.metadata?.namespace;
    return typeof n === "string" ? n : "";
}

export function isAutonamed(obj: Props | undefined): boolean {
    return obj?.metadata?.annotations?.[AUTONAMED] === "true";
}

/** Has the object a name, known or not yet known? */
export function isNamed(obj: Props): boolean {
    return isUnknown(obj.metadata?.name) || nameOf(obj) !== "";
}

function markAutonamed(obj: Props): void {
    const m = meta(obj);
    m.annotations = { ...(isObject(m.annotations) ? m.annotations : {}), [AUTONAMED]: "true" };
}

/** First check of a resource: a name for an unnamed object. */
export function assignNameIfAutonamable(obj: Props, logicalName: string): void {
    if (isNamed(obj)) return;
    meta(obj).name = autoName(logicalName);
    markAutonamed(obj);
}

/** Later checks: an unnamed object keeps the auto-name it was given. */
export function adoptOldAutonameIfUnnamed(obj: Props, old: Props): void {
    if (!isNamed(obj) && isAutonamed(old) && nameOf(old) !== "") {
        meta(obj).name = nameOf(old);
        markAutonamed(obj);
    }
}
