import * as pulumi from "@pulumi/pulumi";

export interface Registered {
    type: string;
    name: string;
    inputs: Record<string, any>;
    /** The provider reference (`<urn>::<id>`) the resource was registered with; "" for the default. */
    provider?: string;
}

/**
 * Installs Pulumi's mocks; returns the list every registered resource is appended to. `live`,
 * if given, adds what the provider reads back from the live object (fields the server fills in)
 * to a resource's state.
 */
export function installMocks(live?: (r: Registered, state: Record<string, any>) => void): { resources: Registered[] } {
    const sink = { resources: [] as Registered[] };
    pulumi.runtime.setMocks(
        {
            newResource(args: pulumi.runtime.MockResourceArgs) {
                sink.resources.push({ type: args.type, name: args.name, inputs: args.inputs, provider: args.provider ?? "" });
                const state: Record<string, any> = { ...args.inputs, name: args.inputs.name ?? `${args.name}-c0ffee` };
                if (args.type.startsWith("kubernetes:")) {
                    // The kubernetes provider auto-names objects from the logical name.
                    state.metadata = { ...args.inputs.metadata, name: args.inputs.metadata?.name ?? `${args.name}-c0ffee` };
                }
                live?.({ type: args.type, name: args.name, inputs: args.inputs }, state);
                return { id: `${args.name}-id`, state };
            },
            call(args: pulumi.runtime.MockCallArgs) {
                return args.inputs;
            },
        },
        "bluegreen",
        "test",
        false,
    );
    return sink;
}

/** Resolves an Output in a test. */
export function promiseOf<T>(o: pulumi.Output<T> | pulumi.Input<T>): Promise<T> {
    return new Promise((resolve) => pulumi.output(o).apply((v) => resolve(v as T)));
}

/** Waits for registrations still in flight (a Docker service registers one event-loop turn after it is declared). */
export function settle(ms = 100): Promise<void> {
    return new Promise((r) => setTimeout(r, ms));
}

/**
 * Runs `fn` with the process's unhandled-rejection listeners (the test runner's) replaced by one
 * that collects each rejection reason once, by identity, as Pulumi's language host reports them.
 * For resources that fail on purpose: their registrations reject where no test can catch them.
 * `fn` must wait until those rejections have happened (`settle`).
 */
export async function collectingUnhandledRejections<T>(fn: () => Promise<T>): Promise<{ result: T; errors: Error[] }> {
    const runner = process.listeners("unhandledRejection");
    process.removeAllListeners("unhandledRejection");
    const errors = new Set<Error>();
    const collect = (reason: unknown) => void errors.add(reason instanceof Error ? reason : new Error(String(reason)));
    process.on("unhandledRejection", collect);
    try {
        const result = await fn();
        return { result, errors: [...errors] };
    } finally {
        process.off("unhandledRejection", collect);
        for (const l of runner) process.on("unhandledRejection", l as (...args: unknown[]) => void);
    }
}
