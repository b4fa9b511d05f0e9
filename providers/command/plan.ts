/**
 * Pure rules of the stand-in `command` provider: `check` (refuse what is not implemented, fill
 * in the defaults), `diff` (pulumi-go-provider's default diff: the new inputs against the stored
 * state's input properties, as a detailed diff with nested paths), the id, and how a run is
 * invoked (argv, environment, which command an operation runs). No I/O.
 */
import { randomBytes } from "node:crypto";
import type { CheckFailure, DiffKind, DiffResult, Props } from "../shared/grpcProvider";
import { UNKNOWN } from "../shared/grpcProvider";
import { COMMAND, DEFAULTS, INPUTS, Kind, LOGGING, NOT_IMPLEMENTED, PREVIOUS_STDERR, PREVIOUS_STDOUT } from "./schema";

const implemented = () => Object.keys(INPUTS).join(", ");

function fits(kind: Kind, v: unknown): boolean {
    if (v === UNKNOWN || v === undefined || v === null) return true;
    switch (kind) {
        case "string": return typeof v === "string";
        case "bool": return typeof v === "boolean";
        case "list": return Array.isArray(v);
        case "stringList": return Array.isArray(v) && v.every((x) => x === UNKNOWN || typeof x === "string");
        case "stringMap": return !!v && typeof v === "object" && !Array.isArray(v) && Object.values(v).every((x) => typeof x === "string");
        case "logging": return typeof v === "string" && LOGGING.includes(v);
    }
}

const WANT: Record<Kind, string> = {
    string: "a string",
    bool: "a boolean",
    list: "a list",
    stringList: "a list of strings",
    stringMap: "a map of strings",
    logging: `one of ${LOGGING.join(", ")}`,
};

export function check(type: string, news: Props): { inputs: Props; failures: CheckFailure[] } {
    if (type !== COMMAND) {
        return { inputs: news, failures: [{ property: "", reason: `the stand-in command provider does not implement resource type ${type}; it implements ${COMMAND}` }] };
    }
    const failures: CheckFailure[] = [];
    for (const [key, value] of Object.entries(news)) {
        if (key.startsWith("__")) continue;
        const kind = INPUTS[key];
        if (!kind) {
            const why = NOT_IMPLEMENTED.includes(key) ? "is not implemented by the stand-in command provider" : "is not a property of it";
            failures.push({ property: key, reason: `\`${key}\` of ${COMMAND} ${why}; the stand-in implements ${implemented()}` });
        } else if (!fits(kind, value)) {
            failures.push({ property: key, reason: `\`${key}\` of ${COMMAND} must be ${WANT[kind]}; got ${JSON.stringify(value)}` });
        }
    }
    const inputs: Props = { ...news };
    for (const [key, value] of Object.entries(DEFAULTS)) if (inputs[key] === undefined) inputs[key] = value;
    return { inputs, failures };
}

/** A detailed diff of `olds` against `news` with the engine's property paths (`environment.X`, `triggers[1][0]`). */
function walk(path: string, olds: unknown, news: unknown, out: Record<string, DiffKind>): void {
    if (news === UNKNOWN) {
        out[path] = olds === undefined ? "add" : "update";
        return;
    }
    if (JSON.stringify(olds) === JSON.stringify(news)) return;
    if (olds === undefined || olds === null) { out[path] = "add"; return; }
    if (news === undefined || news === null) { out[path] = "delete"; return; }
    if (Array.isArray(olds) && Array.isArray(news)) {
        for (let i = 0; i < Math.max(olds.length, news.length); i++) walk(`${path}[${i}]`, olds[i], news[i], out);
        return;
    }
    const isMap = (v: unknown) => !!v && typeof v === "object" && !Array.isArray(v);
    if (isMap(olds) && isMap(news)) {
        const o = olds as Props, n = news as Props;
        for (const k of new Set([...Object.keys(o), ...Object.keys(n)])) walk(`${path}.${k}`, o[k], n[k], out);
        return;
    }
    out[path] = "update";
}

/**
 * The new inputs against the stored state's input properties. Never a replacement by itself:
 * `triggers` replaces through the SDK's `replaceOnChanges`, which the engine applies.
 */
export function diff(olds: Props, news: Props): DiffResult {
    const detailedDiff: Record<string, DiffKind> = {};
    for (const key of Object.keys(INPUTS)) walk(key, olds[key], news[key], detailedDiff);
    return { changes: Object.keys(detailedDiff).length > 0, replaces: [], detailedDiff, inputDiffs: Object.keys(detailedDiff) };
}

/** `resource.NewUniqueHex(name, 8, 0)`: the logical name and 8 random hex characters. */
export function newId(name: string): string {
    return `${name}${randomBytes(4).toString("hex")}`;
}

/** The command an operation runs, or undefined when it runs nothing. */
export function commandFor(op: "create" | "update" | "delete", props: Props): string | undefined {
    const pick = (v: unknown) => (typeof v === "string" ? v : undefined);
    if (op === "update") return pick(props.update) ?? pick(props.create);
    return pick(props[op]);
}

export interface Invocation {
    argv: string[];
    /** Added to the provider's own environment. */
    env: Record<string, string>;
    dir?: string;
    stdin?: string;
}

/**
 * How the real provider runs `command`: the interpreter (default `/bin/sh -c`) with the command
 * appended, in `dir` (default: the provider's working directory), with `environment` and, unless
 * `addPreviousOutputInEnv` is false, the previous run's non-empty stdout and stderr.
 */
export function invocation(command: string, props: Props, previous: { stdout?: string; stderr?: string } = {}): Invocation {
    const interpreter = Array.isArray(props.interpreter) && props.interpreter.length > 0 ? props.interpreter as string[] : ["/bin/sh", "-c"];
    const env: Record<string, string> = { ...(props.environment as Record<string, string> | undefined) };
    if (props.addPreviousOutputInEnv !== false) {
        if (previous.stdout) env[PREVIOUS_STDOUT] = previous.stdout;
        if (previous.stderr) env[PREVIOUS_STDERR] = previous.stderr;
    }
    return {
        argv: [...interpreter, command],
        env,
        dir: typeof props.dir === "string" ? props.dir : undefined,
        stdin: typeof props.stdin === "string" && props.stdin.length > 0 ? props.stdin : undefined,
    };
}

/** The real provider's error for a command that failed: Go's `exit status N: running "CMD":\nOUTPUT`. */
export function failureMessage(command: string, exit: { code: number | null; signal: string | null }, combined: string): string {
    // Go's os.ProcessState strings for the signals a command usually dies of.
    const SIGNALS: Record<string, string> = { SIGKILL: "killed", SIGTERM: "terminated", SIGINT: "interrupt", SIGHUP: "hangup", SIGSEGV: "segmentation fault", SIGABRT: "aborted" };
    const why = exit.signal ? `signal: ${SIGNALS[exit.signal] ?? exit.signal}` : `exit status ${exit.code}`;
    return `${why}: running ${JSON.stringify(command)}:\n${combined}`;
}

/** Outputs keep one trailing newline less, as the real provider's `strings.TrimSuffix(out, "\n")`. */
export const trimOutput = (s: string): string => (s.endsWith("\n") ? s.slice(0, -1) : s);
