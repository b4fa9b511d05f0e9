/**
 * Runs commands inside a container through the docker CLI, which talks to whatever engine
 * DOCKER_HOST (or the docker context) names, so nothing assumes the proxy's files live on the
 * machine that runs `pulumi`.
 *
 * Values never reach a shell unquoted: scripts are fixed strings of this module's callers, and
 * every value is a separate argv entry (`sh -c SCRIPT sh ARG...`) or stdin.
 */
import { spawn } from "node:child_process";

export interface ExecResult {
    code: number;
    stdout: string;
    stderr: string;
}

export interface ExecOptions {
    /** Written to the command's stdin, then closed. */
    stdin?: string;
    /** Engine address; unset means the docker CLI's own default (DOCKER_HOST, context). */
    dockerHost?: string;
    /** Kills the command after this many milliseconds. */
    timeoutMs?: number;
}

/** Runs `docker ARGS...` and collects its output; never throws for a non-zero exit. */
export function docker(args: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    return new Promise((resolve, reject) => {
        const env = { ...process.env };
        if (opts.dockerHost) env.DOCKER_HOST = opts.dockerHost;
        const child = spawn("docker", args, { env, stdio: ["pipe", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        const timer = opts.timeoutMs
            ? setTimeout(() => {
                  stderr += `\n(killed after ${opts.timeoutMs} ms)`;
                  child.kill("SIGKILL");
              }, opts.timeoutMs)
            : undefined;
        child.stdout.on("data", (d) => (stdout += d));
        child.stderr.on("data", (d) => (stderr += d));
        child.on("error", (err) => {
            if (timer) clearTimeout(timer);
            reject(new Error(`cannot run the docker CLI: ${err.message}`));
        });
        child.on("close", (code) => {
            if (timer) clearTimeout(timer);
            resolve({ code: code ?? 1, stdout, stderr });
        });
        child.stdin.on("error", () => undefined); // the command may exit before reading stdin
        child.stdin.end(opts.stdin ?? "");
    });
}

/** Runs a fixed shell script inside `container`, with `args` as its positional parameters. */
export function execScript(container: string, script: string, args: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    return docker(["exec", "-i", container, "sh", "-c", script, "sh", ...args], opts);
}
