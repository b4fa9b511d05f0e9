// The SDK's modules by path, not its index: see index.ts, "the SDK's index".
import { RunError } from "@pulumi/pulumi/errors";
import { getProject } from "@pulumi/pulumi/metadata";
import { allConfig } from "@pulumi/pulumi/runtime/config";
import { ConfigError, RawConfig, Settings, parseConfig } from "../components/settings";

/**
 * Reads every key of the project's config namespace and validates it, before any resource is
 * declared. Unknown keys of the namespace are errors (a typo must not fall back to a default).
 */
export function readSettings(namespace = getProject()): Settings {
    const raw: RawConfig = {};
    for (const [fullKey, value] of Object.entries(allConfig())) {
        const i = fullKey.indexOf(":");
        if (fullKey.slice(0, i) !== namespace) continue;
        const key = fullKey.slice(i + 1);
        raw[key] = value;
    }
    try {
        return parseConfig(raw);
    } catch (e) {
        // A RunError prints just the message: the person needs the key and the value, not a stack trace.
        if (e instanceof ConfigError) throw new RunError(`invalid stack config: ${e.message}`);
        throw e;
    }
}
