/**
 * Checks of the args a user may pass as Outputs (images, env), made once their values are known:
 * the same messages as the checks of plain values (`serviceArgs.ts`), raised when the value resolves.
 */
import * as pulumi from "@pulumi/pulumi";
import { RunError } from "@pulumi/pulumi/errors";
import { Checker, ServiceArgsError } from "./serviceArgs";
import type { Color } from "./settings";

/** Runs `check`; a bad value's message reaches the person without a stack trace, as a RunError. */
export function asRunError<T>(check: () => T): T {
    try {
        return check();
    } catch (e) {
        if (e instanceof ServiceArgsError) throw new RunError(e.message);
        throw e;
    }
}

/** Of two per-color values, the active color's, as an Output (for an `activeColor` given as an Output too). */
export function ofActiveColor<T>(activeColor: pulumi.Input<Color>, blue: pulumi.Input<T>, green: pulumi.Input<T>): pulumi.Output<T> {
    return pulumi.all([activeColor, blue, green]).apply(([active, b, g]) => (active === "blue" ? b : g)) as pulumi.Output<T>;
}

/** The image, checked as an image reference when known. */
export function checkedImage(service: string, path: string, image: pulumi.Input<string>): pulumi.Output<string> {
    return pulumi.output(image).apply((v) => asRunError(() => {
        new Checker(service).image(path, v);
        return v;
    }));
}

/** The env map, every value a string, names and values checked when known. */
export function checkedEnv(service: string, path: string, env: pulumi.Input<Record<string, pulumi.Input<string>>>): pulumi.Output<Record<string, string>> {
    return pulumi.output(env).apply((e) => asRunError(() => {
        const c = new Checker(service);
        if (e === null || typeof e !== "object" || Array.isArray(e)) c.fail(path, e, "a map of variable names to values");
        c.env(path, e);
        const out: Record<string, string> = {};
        for (const [k, v] of Object.entries(e as Record<string, unknown>)) {
            if (typeof v !== "string" && typeof v !== "number" && typeof v !== "boolean") c.fail(`${path}.${k}`, v, "a string");
            out[k] = String(v);
        }
        return out;
    }));
}
