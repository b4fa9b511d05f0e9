/**
 * How the demo program starts fast: three measures, each on the path of every `pulumi up` (the
 * switch's speed target, README "Benchmark"), kept here so that `index.ts` reads as the program.
 * Each is checked by test/unit/programStart.test.ts, which fails when an SDK upgrade defeats it.
 *
 * What each buys, measured on 2026-12-07 with `bash bench/switchAB.sh N REV...` (a switch's
 * `pulumi up --yes --skip-preview`, revisions interleaved on stacks of their own; 2 cores, other
 * test suites running): the program at 8142201 against the same program with one measure taken
 * out of its index.ts, medians of 6 flips (16 for the turn):
 *
 * 1. `deferUnusedSdkModules()`, 0.48 s (2.77 → 3.25 s without): the SDK's index loads its
 *    Automation API and npm's Arborist on every start although a program uses neither, about
 *    575 modules just before the engine can start the docker plugin.
 * 2. `withoutStackTraces(fn)`, 0.90 s (2.77 → 3.67 s without): while the program declares its
 *    resources, errors carry no stack trace. The SDK records one for every promise it makes
 *    (hundreds per run) and ts-node maps each through source maps. Restored in a `finally`;
 *    BLUEGREEN_STACK_TRACES=1 keeps them throughout, for debugging.
 * 3. `afterOneTurn(fn)`, 0.36 s (2.80 → 3.16 s without, 16 flips each; 0.09 s in the first 6):
 *    the platform's module blocks Node.js for a few hundred milliseconds while it loads. Waiting
 *    one turn of the event loop first lets the SDK send the registration of the provider declared
 *    before, so the engine starts that plugin while the module loads.
 *
 * Any measure that buys less than 0.1 s goes (the project's rule); re-measure after an SDK upgrade.
 */
/**
 * 1. Defers the two parts of the Pulumi Node.js SDK that this program never uses but that the SDK's
 * index loads on every start: its Automation API and, through `runtime/closure/codePaths`, npm's
 * Arborist with pacote, tar, sigstore and the rest (about 575 modules, 0.3 s of CPU). The
 * platforms' provider SDKs (`@pulumi/docker`, `@pulumi/kubernetes`) import that index, so a
 * switch paid for them just before the engine could start the docker plugin (README, "Benchmark").
 *
 * Each is replaced in `require`'s cache by a stand-in whose first real use loads the real module,
 * so nothing changes for a caller: `pulumi.automation.LocalWorkspace` or a closure serialization
 * still work, they just load what they need when they need it. Call before the first import of
 * `@pulumi/pulumi` (the index); it does nothing for a module already loaded or not found.
 */
import Module from "node:module";

interface Deferred {
    /** Module id, resolved from this program. */
    id: string;
    /**
     * Function exports that the SDK reads while it loads (runtime/index.js copies
     * `computeCodePaths`): these are handed out as forwarding functions, so reading them loads
     * nothing. Reading any other export loads the real module.
     */
    readAtLoad: string[];
}

/** What the SDK's index loads and this program does not use. */
export const DEFERRED: readonly Deferred[] = [
    { id: "@pulumi/pulumi/automation", readAtLoad: [] },
    { id: "@pulumi/pulumi/runtime/closure/codePaths", readAtLoad: ["computeCodePaths"] },
];

/** The ids of the modules whose loading has been deferred and has not happened yet. */
export const stillDeferred = new Set<string>();

function defer({ id, readAtLoad }: Deferred): void {
    let filename: string;
    try {
        filename = require.resolve(id);
    } catch {
        return; // another SDK layout: load as usual
    }
    if (require.cache[filename]) return;
    let real: Record<string | symbol, unknown> | undefined;
    let loading = false;
    const load = (): Record<string | symbol, unknown> => {
        if (real) return real;
        // A circular require while it loads sees its partial exports, as with any module.
        if (loading) return (require.cache[filename]?.exports ?? {}) as Record<string | symbol, unknown>;
        loading = true;
        try {
            delete require.cache[filename];
            real = require(filename) as Record<string | symbol, unknown>;
        } finally {
            loading = false;
        }
        stillDeferred.delete(id);
        return real;
    };
    const forwarders = new Map<string, (...args: unknown[]) => unknown>(
        readAtLoad.map((name) => [
            name,
            function (this: unknown, ...args: unknown[]) {
                return (load()[name] as (...a: unknown[]) => unknown).apply(this, args);
            },
        ]),
    );
    const facade = new Proxy(Object.create(null) as Record<string | symbol, unknown>, {
        get(_, key) {
            // `__importStar` returns an ES module's namespace as is instead of copying each export.
            if (key === "__esModule") return true;
            if (!real && typeof key === "string" && forwarders.has(key)) return forwarders.get(key);
            return load()[key];
        },
        has: (_, key) => key === "__esModule" || key in load(),
        ownKeys: () => Reflect.ownKeys(load()),
        getOwnPropertyDescriptor(_, key) {
            const d = Reflect.getOwnPropertyDescriptor(load(), key);
            return d && { ...d, configurable: true };
        },
    });
    const stub = new Module(filename, module);
    stub.filename = filename;
    stub.loaded = true;
    stub.exports = facade;
    require.cache[filename] = stub;
    stillDeferred.add(id);
}

/** Puts the stand-ins in place (see the module's comment). */
export function deferUnusedSdkModules(): void {
    for (const d of DEFERRED) defer(d);
}

/** Runs `fn` with Error.stackTraceLimit at 0 (unless BLUEGREEN_STACK_TRACES is set), restoring it after. */
export function withoutStackTraces<T>(fn: () => T): T {
    const limit = Error.stackTraceLimit;
    if (!process.env.BLUEGREEN_STACK_TRACES) Error.stackTraceLimit = 0;
    try {
        return fn();
    } finally {
        Error.stackTraceLimit = limit;
    }
}

/** Runs `fn` on the next turn of the event loop. */
export function afterOneTurn<T>(fn: () => T): Promise<T> {
    return new Promise<void>((resolve) => setImmediate(resolve)).then(fn);
}
