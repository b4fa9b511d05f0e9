import * as pulumi from "@pulumi/pulumi";

export interface Registered {
    type: string;
    name: string;
    inputs: Record<string, any>;
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
                sink.resources.push({ type: args.type, name: args.name, inputs: args.inputs });
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
