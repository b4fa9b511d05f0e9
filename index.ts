import * as pulumi from "@pulumi/pulumi";
import { CONFIG_KEYS, RawConfig, parseSettings } from "./components/settings";
import { dockerStack } from "./stacks/docker";

// Read and validate every key once, before any resource is declared: a bad value fails the
// preview with a message naming the key, and nothing that runs is touched.
const project = pulumi.getProject();
const raw: RawConfig = {};
const unknown: string[] = [];
for (const [fullKey, value] of Object.entries(pulumi.runtime.allConfig())) {
    const [ns, key] = fullKey.split(":", 2);
    if (ns !== project) continue;
    if (key in CONFIG_KEYS) raw[key] = value;
    else unknown.push(key);
}
const settings = parseSettings(raw, unknown);

if (settings.platform !== "docker") {
    throw new Error(`\`platform\` is "${settings.platform}"; this version deploys only "docker".`);
}
const out = dockerStack(`${project}-${pulumi.getStack()}`, settings, {
    dockerHost: new pulumi.Config("docker").get("host"),
});

export const activeColor = out.activeColor;
export const idleColor = out.idleColor;
export const url = out.url;
export const previewUrl = out.previewUrl;
export const blueImage = out.images.blue;
export const greenImage = out.images.green;
