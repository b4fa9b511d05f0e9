import * as pulumi from "@pulumi/pulumi";

/**
 * Holds a service component's registration until the end of the current turn of the event loop,
 * and for good when its declaration failed by then: its own constructor threw after `super()`
 * (a check that needs the provider), or `blocked()` says so (another service declared in the same
 * turn claimed one of its host ports). Its children need its URN, so none of them reaches the
 * engine either: a bad service stops the program before anything is created, with the one message
 * its constructor threw.
 */
export class DeclarationGate {
    private complete = false;

    constructor(private readonly blocked: () => boolean = () => false) {}

    /** The component's `dependsOn`: the user's, once the declaration is known to be good. */
    dependsOn(user: pulumi.ResourceOptions["dependsOn"]): pulumi.Input<pulumi.Resource[]> {
        return new Promise((resolve) => setImmediate(() => {
            if (this.complete && !this.blocked()) resolve((user ?? []) as pulumi.Resource[]);
        })) as pulumi.Input<pulumi.Resource[]>;
    }

    /** Called as the constructor's last statement. */
    declared(): void {
        this.complete = true;
    }
}
