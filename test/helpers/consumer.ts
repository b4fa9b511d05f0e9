/**
 * examples/two-services as another team's project uses the package: `npm pack` of this
 * checkout, the example copied outside the repository, its dependencies installed by npm as a
 * Pulumi TypeScript project's are (TypeScript is its own devDependency), and the `bluegreen` plugin installed from the package as the README says, into a
 * Pulumi home of the consumer's own (the set-up's platform plugins copied in). Nothing in it
 * points into this repository.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { ROOT, pulumiEnv, tmpDir, workspaceOptions } from "./toolchain";

export const PACKAGE_VERSION = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).version as string;

export class ConsumerProject {
    readonly work = tmpDir("bg-shop");
    readonly dir = path.join(this.work, "shop");
    readonly home = path.join(this.work, "pulumi-home");
    private env: Record<string, string> = {};

    /** Runs a command in the consumer's project, with the consumer's Pulumi home. */
    run(cmd: string, args: string[]): string {
        return execFileSync(cmd, args, { cwd: this.dir, env: { ...process.env, ...this.env }, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 * 1024 * 1024 });
    }

    async install(): Promise<this> {
        this.env = { ...pulumiEnv(), PULUMI_HOME: this.home };
        // The package as npm publishes it (prepack builds dist/ and the plugin).
        const packed = execFileSync("npm", ["pack", "--silent", "--pack-destination", this.work], { cwd: ROOT, env: { ...process.env, ...this.env }, encoding: "utf8" });
        const tarball = path.join(this.work, packed.trim().split("\n").pop()!);
        fs.mkdirSync(this.dir);
        for (const f of ["Pulumi.yaml", "index.ts", "tsconfig.json", "package.json"]) {
            fs.copyFileSync(path.join(ROOT, "examples/two-services", f), path.join(this.dir, f));
        }
        const pkg = JSON.parse(fs.readFileSync(path.join(this.dir, "package.json"), "utf8"));
        pkg.dependencies.bluegreen = `file:${tarball}`;
        // The platform SDKs at this checkout's locked versions: the set-up installed their plugins
        // (a newer SDK would ask the engine for a plugin it cannot download here).
        const lock = JSON.parse(fs.readFileSync(path.join(ROOT, "package-lock.json"), "utf8"));
        pkg.overrides = {};
        for (const name of ["@pulumi/pulumi", "@pulumi/docker", "@pulumi/kubernetes", "@pulumi/command"]) {
            const locked = lock.packages[`node_modules/${name}`].version;
            if (pkg.dependencies[name]) pkg.dependencies[name] = locked; // npm refuses an override of a direct dependency
            else pkg.overrides[name] = locked;
        }
        fs.writeFileSync(path.join(this.dir, "package.json"), JSON.stringify(pkg, null, 2));
        this.run("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error"]);
        const shared = path.join(pulumiEnv().PULUMI_HOME, "plugins");
        fs.mkdirSync(path.join(this.home, "plugins"), { recursive: true });
        // Copied as hard links (the engine does not follow a plugin folder that is a symlink).
        for (const p of fs.readdirSync(shared).filter((p) => /^resource-(docker|command|kubernetes)-v[0-9.]+$/.test(p))) {
            execFileSync("cp", ["-al", path.join(shared, p), path.join(this.home, "plugins", p)]);
        }
        this.run("pulumi", ["plugin", "install", "resource", "bluegreen", PACKAGE_VERSION, "-f", "node_modules/bluegreen/dist/plugin"]);
        return this;
    }

    /** A new stack of the consumer's project on the shared local backend; `env` over the toolchain's. */
    async createStack(name: string, env: Record<string, string> = {}): Promise<Stack> {
        const opts = await workspaceOptions();
        return LocalWorkspace.createStack({ stackName: name, workDir: this.dir }, { ...opts, envVars: { ...opts.envVars, PULUMI_HOME: this.home, ...env }, pulumiHome: this.home });
    }

    remove(): void {
        fs.rmSync(this.work, { recursive: true, force: true });
    }
}
