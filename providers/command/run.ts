/**
 * Runs one command as the real provider's `run` does: the process's stdout and stderr are kept
 * apart for the outputs and interleaved for the error of a failed run; a non-zero exit fails the
 * operation with that error.
 */
import { spawn } from "node:child_process";
import { Invocation, failureMessage, trimOutput } from "./plan";

export interface RunResult {
    stdout: string;
    stderr: string;
}

export function run(command: string, inv: Invocation): Promise<RunResult> {
    return new Promise((resolve, reject) => {
        const [file, ...args] = inv.argv;
        const child = spawn(file, args, {
            cwd: inv.dir ?? process.cwd(),
            env: { ...process.env, ...inv.env },
            stdio: [inv.stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"],
        });
        let stdout = "", stderr = "", combined = "";
        child.stdout!.on("data", (d) => { stdout += d; combined += d; });
        child.stderr!.on("data", (d) => { stderr += d; combined += d; });
        child.on("error", (err: NodeJS.ErrnoException) => {
            // Go's exec error when the interpreter cannot be started.
            const why = err.code === "ENOENT" ? `exec: ${JSON.stringify(file)}: executable file not found in $PATH` : err.message;
            reject(new Error(`${why}: running ${JSON.stringify(command)}:\n${combined}`));
        });
        child.on("close", (code, signal) => {
            if (code === 0) resolve({ stdout: trimOutput(stdout), stderr: trimOutput(stderr) });
            else reject(new Error(failureMessage(command, { code, signal }, combined)));
        });
        if (inv.stdin !== undefined) {
            child.stdin!.on("error", () => undefined); // the command may exit before reading it
            child.stdin!.end(inv.stdin);
        }
    });
}
