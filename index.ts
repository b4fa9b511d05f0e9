import * as pulumi from "@pulumi/pulumi";
import { dockerStack } from "./stacks/docker";
import { readSettings } from "./stacks/config";

// Validated once, before any resource is declared: a bad value fails `pulumi preview` with a
// message naming the key, and nothing that runs is touched.
const settings = readSettings();

if (settings.platform !== "docker") {
    throw new Error(`\`platform\` is "${settings.platform}"; this version deploys only "docker".`);
}
const out = dockerStack(`${pulumi.getProject()}-${pulumi.getStack()}`, settings, {
    dockerHost: new pulumi.Config("docker").get("host"),
});

export const activeColor = out.activeColor;
export const idleColor = out.idleColor;
export const url = out.url;
export const previewUrl = out.previewUrl;
export const blueImage = out.images.blue;
export const greenImage = out.images.green;
