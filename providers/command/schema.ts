/**
 * What the stand-in `command` provider implements of `command:local:Command`, with the real
 * provider's rules (pulumi/pulumi-command v1, `provider/pkg/provider/local/` and
 * `common/inputs.go`, served by pulumi-go-provider's `infer`):
 *
 * - every input is also an output; `stdout` and `stderr` are outputs only;
 * - `triggers` is replace-on-change, which the SDK turns into the resource option
 *   `replaceOnChanges: ["triggers[*]"]`: the engine, not the provider, makes a change of it a
 *   replacement; every other change of an input is an update;
 * - `addPreviousOutputInEnv` defaults to true (`check` fills it in).
 *
 * Anything not listed here (`assetPaths`, `archivePaths`, another resource type) is refused by
 * `check` with an error naming it.
 */

export const COMMAND = "command:local:Command";

export type Kind = "string" | "bool" | "stringList" | "stringMap" | "list" | "logging";

/** The inputs, each with its type. */
export const INPUTS: Record<string, Kind> = {
    create: "string",
    update: "string",
    delete: "string",
    triggers: "list",
    interpreter: "stringList",
    dir: "string",
    environment: "stringMap",
    stdin: "string",
    addPreviousOutputInEnv: "bool",
    logging: "logging",
};

/** Inputs the real provider has and the stand-in does not implement. */
export const NOT_IMPLEMENTED = ["assetPaths", "archivePaths"];

export const LOGGING = ["stdout", "stderr", "stdoutAndStderr", "none"];

/** Defaults the real `check` fills in. */
export const DEFAULTS: Record<string, unknown> = { addPreviousOutputInEnv: true };

/** Environment variables that carry the previous run's output (`util.PULUMI_COMMAND_STDOUT`/`_STDERR`). */
export const PREVIOUS_STDOUT = "PULUMI_COMMAND_STDOUT";
export const PREVIOUS_STDERR = "PULUMI_COMMAND_STDERR";
