// The benchmark's floor: what any Pulumi TypeScript program pays for `pulumi up`.
import * as pulumi from "@pulumi/pulumi";

export const stack = pulumi.getStack();
