import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LocalWorkspaceOptions, PulumiCommand } from "@pulumi/pulumi/automation";

export const ROOT = path.resolve(__dirname, "../..");

/**
 * A Pulumi home of this test process: the set-up's plugins (a link), and a workspace of its own,
 * so that the stacks the tests create and select never become the selected stack of a person's
 * shell (a plain `pulumi up` there would otherwise run on a test stack), nor of another test file.
 */
function testHome(shared: string): string {
    const home = path.join(os.tmpdir(), `bluegreen-pulumi-home-${process.pid}`);
    if (!fs.existsSync(path.join(home, "plugins"))) {
        fs.mkdirSync(home, { recursive: true });
        fs.symlinkSync(path.join(shared, "plugins"), path.join(home, "plugins"));
    }
    return home;
}

/** The environment scripts/env.sh prints (the offline CLI, local state, no prompts), with a Pulumi home of the test process. */
export function pulumiEnv(): Record<string, string> {
    const text = execFileSync("bash", [path.join(ROOT, "scripts/env.sh")], { encoding: "utf8" });
    const env: Record<string, string> = {};
    for (const line of text.split("\n")) {
        const m = /^export ([A-Z_]+)="(.*)"$/.exec(line) ?? /^export ([A-Z_]+)=(.*)$/.exec(line);
        if (!m) continue;
        // `${NAME:-default}` as the shell reads it: the caller's value, else the default.
        env[m[1]] = m[2]
            .replace(/\$\{([A-Z_]+):-([^}]*)\}/g, (_all, name: string, dflt: string) => process.env[name] || dflt)
            .replace(/\$PATH/, process.env.PATH ?? "");
    }
    env.PULUMI_HOME = testHome(env.PULUMI_HOME);
    return env;
}

/**
 * Workspace options for a real CLI run. Fails, never skips, when the toolchain is missing:
 * `npm run setup` builds it.
 */
export async function workspaceOptions(): Promise<Pick<LocalWorkspaceOptions, "pulumiCommand" | "envVars" | "pulumiHome">> {
    const env = pulumiEnv();
    // The first `pulumi` on the PATH env.sh prints: the installed one the set-up chose, or the one it built.
    const bin = env.PATH.split(":").find((p) => fs.existsSync(path.join(p, "pulumi")));
    if (!bin) throw new Error("no Pulumi CLI found; run `npm run setup`");
    Object.assign(process.env, env); // the inline program's language host and the dynamic provider inherit it
    const pulumiCommand = await PulumiCommand.get({ root: path.dirname(bin), skipVersionCheck: true });
    return { pulumiCommand, envVars: env, pulumiHome: env.PULUMI_HOME };
}

/** A unique, short, DNS-safe name for throwaway stacks and Docker objects. */
export function runId(prefix: string): string {
    return `${prefix}-${process.pid.toString(36)}${Math.random().toString(36).slice(2, 6)}`;
}

export function tmpDir(prefix: string): string {
    return fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
}

