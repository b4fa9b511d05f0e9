/**
 * The stand-in `command` provider's rules (providers/command/): check, diff, which command an
 * operation runs and how, and a run's outputs and errors, as the real pulumi-command v1 has them.
 */
import { describe, expect, it } from "vitest";
import { UNKNOWN } from "../../providers/shared/grpcProvider";
import { check, commandFor, diff, failureMessage, invocation, newId } from "../../providers/command/plan";
import { run } from "../../providers/command/run";
import { COMMAND } from "../../providers/command/schema";

describe("check", () => {
    it("accepts what the program declares and fills in addPreviousOutputInEnv's default (true)", () => {
        const news = { create: "true", environment: { A: "1" }, triggers: ["blue", ["c1"]], interpreter: ["node", "-e", "0"] };
        const { inputs, failures } = check(COMMAND, news);
        expect(failures).toEqual([]);
        expect(inputs).toEqual({ ...news, addPreviousOutputInEnv: true });
        expect(check(COMMAND, { create: "x", addPreviousOutputInEnv: false }).inputs.addPreviousOutputInEnv).toBe(false);
    });

    it("refuses what it does not implement, naming the property", () => {
        const { failures } = check(COMMAND, { create: "x", assetPaths: ["*.txt"], archivePaths: ["*"], connection: {} });
        expect(failures.map((f) => f.property)).toEqual(["assetPaths", "archivePaths", "connection"]);
        expect(failures[0].reason).toMatch(/`assetPaths` of command:local:Command is not implemented by the stand-in command provider; the stand-in implements create, update, delete/);
        expect(failures[2].reason).toMatch(/`connection` .* is not a property of it/);
    });

    it("refuses values of the wrong type and lets unknown values through", () => {
        const { failures } = check(COMMAND, { create: 1, environment: { A: 2 }, interpreter: "sh", logging: "loud", stdin: UNKNOWN });
        expect(failures.map((f) => f.property)).toEqual(["create", "environment", "interpreter", "logging"]);
        expect(failures[3].reason).toMatch(/one of stdout, stderr, stdoutAndStderr, none/);
    });

    it("refuses other resource types", () => {
        expect(check("command:remote:Command", {}).failures[0].reason).toMatch(/does not implement resource type command:remote:Command/);
    });
});

describe("diff", () => {
    const olds = { create: "x", environment: { A: "1", B: "2" }, triggers: ["blue", ["c1"]], addPreviousOutputInEnv: true, stdout: "old", stderr: "" };

    it("compares the inputs only: the stored stdout and stderr are no change", () => {
        const { stdout: _o, stderr: _e, ...inputs } = olds;
        expect(diff(olds, inputs)).toMatchObject({ changes: false, detailedDiff: {} });
    });

    it("reports nested paths, and never replaces by itself (the SDK's replaceOnChanges on triggers[*] does)", () => {
        const d = diff(olds, { ...olds, environment: { A: "1", C: "3" }, triggers: ["green", ["c2"]] });
        expect(d.changes).toBe(true);
        expect(d.replaces).toEqual([]);
        expect(d.detailedDiff).toEqual({
            "environment.B": "delete", "environment.C": "add", "triggers[0]": "update", "triggers[1][0]": "update",
        });
    });

    it("an unknown new value is a change", () => {
        expect(diff(olds, { ...olds, triggers: ["blue", UNKNOWN] }).detailedDiff).toEqual({ "triggers[1]": "update" });
    });
});

describe("which command runs, and how", () => {
    it("update runs `update`, else `create`; create and delete their own; none is nothing", () => {
        expect(commandFor("update", { create: "c", update: "u" })).toBe("u");
        expect(commandFor("update", { create: "c" })).toBe("c");
        expect(commandFor("create", { create: "c" })).toBe("c");
        expect(commandFor("delete", { create: "c" })).toBeUndefined();
    });

    it("the interpreter defaults to /bin/sh -c, the command appended; environment and the previous output added", () => {
        expect(invocation("echo hi", { environment: { A: "1" } }, { stdout: "before", stderr: "" })).toEqual({
            argv: ["/bin/sh", "-c", "echo hi"], env: { A: "1", PULUMI_COMMAND_STDOUT: "before" }, dir: undefined, stdin: undefined,
        });
        expect(invocation("label", { interpreter: ["node", "-e", "0"], addPreviousOutputInEnv: false, stdin: "in", dir: "/tmp" }, { stdout: "x" })).toEqual({
            argv: ["node", "-e", "0", "label"], env: {}, dir: "/tmp", stdin: "in",
        });
    });

    it("ids are the name and 8 hex characters", () => {
        expect(newId("smoke")).toMatch(/^smoke[0-9a-f]{8}$/);
    });
});

describe("a run", () => {
    it("returns stdout and stderr apart, with one trailing newline trimmed; stdin and environment reach the process", async () => {
        const inv = invocation('read x; echo "$x $GREETING"; echo warn >&2', { environment: { GREETING: "hello" }, stdin: "in\n" });
        expect(await run('read x; echo "$x $GREETING"; echo warn >&2', inv)).toEqual({ stdout: "in hello", stderr: "warn" });
    });

    it("a non-zero exit fails with the real provider's message: the exit status, the command and the interleaved output", async () => {
        const cmd = "echo out; echo err >&2; exit 3";
        await expect(run(cmd, invocation(cmd, {}))).rejects.toThrow('exit status 3: running "echo out; echo err >&2; exit 3":\nout\nerr\n');
    });

    it("an interpreter that does not exist fails naming it", async () => {
        await expect(run("x", invocation("x", { interpreter: ["no-such-interpreter-bluegreen"] }))).rejects.toThrow(/exec: "no-such-interpreter-bluegreen": executable file not found/);
    });

    it("a command killed by a signal fails as Go reports it", () => {
        expect(failureMessage("sleep 9", { code: null, signal: "SIGKILL" }, "")).toBe('signal: killed: running "sleep 9":\n');
    });
});
