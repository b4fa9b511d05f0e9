/**
 * The project's stand-in `command` provider plugin: what `@pulumi/command` needs from the real
 * plugin for this program's `command.local.Command`, with the real plugin's behaviour, for
 * machines where the real plugin cannot be installed. It answers to the version of
 * `@pulumi/command` it was built for (`BLUEGREEN_COMMAND_VERSION`, set by the build), and refuses
 * anything it does not implement.
 */
import { UNKNOWN, serve, type ProviderImpl } from "../shared/grpcProvider";
import { check, commandFor, diff, invocation, newId } from "./plan";
import { run } from "./run";
import { COMMAND } from "./schema";

declare const BLUEGREEN_COMMAND_VERSION: string;

function only(type: string): void {
    if (type !== COMMAND) throw new Error(`the stand-in command provider does not implement resource type ${type}; it implements ${COMMAND}`);
}

const impl: ProviderImpl = {
    name: "command",
    version: typeof BLUEGREEN_COMMAND_VERSION === "string" ? BLUEGREEN_COMMAND_VERSION : "0.0.0",

    checkConfig(news) {
        // The real provider has no configuration of its own.
        return Object.keys(news)
            .filter((k) => k !== "version" && !k.startsWith("__"))
            .map((k) => ({ property: k, reason: `the command provider has no provider config \`command:${k}\`` }));
    },

    configure() {},

    check: (type, _name, _olds, news) => check(type, news),

    diff: (type, _id, olds, news) => {
        only(type);
        return diff(olds, news);
    },

    async create(type, name, inputs, preview) {
        only(type);
        const id = newId(name);
        // A preview runs nothing: the outputs are not known until the command has run.
        if (preview) return { id, outs: { ...inputs, stdout: UNKNOWN, stderr: UNKNOWN } };
        const cmd = commandFor("create", inputs);
        if (cmd === undefined) return { id, outs: { ...inputs, stdout: "", stderr: "" } };
        // A failed create leaves nothing in the state (the real provider returns no partial state).
        const out = await run(cmd, invocation(cmd, inputs));
        return { id, outs: { ...inputs, ...out } };
    },

    async read(type, id, outs, inputs) {
        only(type);
        // Nothing to read back: a refresh keeps what the last run stored.
        return { id, outs, inputs };
    },

    async update(type, _id, olds, news, preview) {
        only(type);
        const previous = { stdout: String(olds.stdout ?? ""), stderr: String(olds.stderr ?? "") };
        const cmd = commandFor("update", news);
        if (preview || cmd === undefined) return { ...news, ...previous };
        const out = await run(cmd, invocation(cmd, news, previous));
        return { ...news, ...out };
    },

    async delete(type, _id, outs) {
        only(type);
        const cmd = commandFor("delete", outs);
        if (cmd === undefined) return;
        await run(cmd, invocation(cmd, outs, { stdout: outs.stdout, stderr: outs.stderr }));
    },
};

serve(impl).catch((e) => {
    process.stderr.write(`${e?.stack ?? e}\n`);
    process.exit(1);
});
