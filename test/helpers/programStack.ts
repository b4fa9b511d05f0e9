import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { LocalWorkspace, Stack, UpResult } from "@pulumi/pulumi/automation";
import type { PreviewJson } from "../../components/previewSummary";
import { type Color, type ProxyKind, hostFor } from "../../components/settings";
import { LoadGenerator, LoadReport, Sample, flipWindow } from "./load";
import { ROOT, pulumiEnv, workspaceOptions } from "./toolchain";

/** Runs the docker CLI with arguments (never a shell string) and returns its trimmed stdout. */
export function dockerCli(...args: string[]): string {
    return execFileSync("docker", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
}

export function dockerOk(...args: string[]): boolean {
    try {
        dockerCli(...args);
        return true;
    } catch {
        return false;
    }
}

const lines = (s: string) => s.split("\n").filter(Boolean);

/** The first port of the kernel's range for outgoing connections' local ports. */
function ephemeralLow(): number {
    try {
        return Number(fs.readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]) || 32768;
    } catch {
        return 32768;
    }
}

/**
 * A TCP port free on every address, for a stack's published ports. Below the kernel's ephemeral
 * range: a port the kernel hands out (listen on 0) can be taken as the local port of an outgoing
 * connection (the load generators open thousands) between this check and Docker's bind, which
 * then fails with "address already in use".
 */
export async function freePort(): Promise<number> {
    const net = await import("node:net");
    const low = 10_000;
    const high = ephemeralLow();
    for (;;) {
        const port = low + Math.floor(Math.random() * (high - low));
        const free = await new Promise<boolean>((resolve) => {
            const srv = net.createServer();
            srv.once("error", () => resolve(false));
            srv.listen(port, "0.0.0.0", () => srv.close(() => resolve(true)));
        });
        if (free) return port;
    }
}


/**
 * A throwaway stack of the program itself (`index.ts` in the project root), run through the
 * Automation API with the real CLI, the installed docker plugin and the real engine. Everything
 * the program creates carries the label `bluegreen.stack=bluegreen-<stack>`, which is how the
 * tests find its containers and check that `destroy` left nothing.
 *
 * With `dockerHost`, the stack's `docker:host` is that engine and every look at the engine
 * (containers, leftovers, clean-up) goes there, with `docker -H`; the test process's own
 * DOCKER_HOST is left alone, so nothing reaches the remote engine unless the program sends it.
 */
export class ProgramStack {
    stack!: Stack;
    url = "";
    previewUrl = "";
    /** The program's resource-name prefix and label value. */
    readonly prefix: string;
    private destroyed = false;

    constructor(readonly id: string, readonly opts: { dockerHost?: string } = {}) {
        this.prefix = `bluegreen-${id}`;
    }

    /** The docker CLI on the stack's engine. */
    docker(...args: string[]): string {
        return this.opts.dockerHost ? dockerCli("-H", this.opts.dockerHost, ...args) : dockerCli(...args);
    }

    private dockerOk(...args: string[]): boolean {
        return this.opts.dockerHost ? dockerOk("-H", this.opts.dockerHost, ...args) : dockerOk(...args);
    }

    /**
     * Creates the stack with the dev stack's images (blue 1.0.0, green 2.0.0), free loopback
     * ports, a short health gate, and `config` (keys without the `bluegreen:` namespace) over them.
     */
    async create(config: Record<string, string> = {}): Promise<this> {
        const live = await freePort();
        let preview = await freePort();
        while (preview === live) preview = await freePort();
        const base: Record<string, string> = {
            activeColor: "blue",
            blueImage: "bluegreen/demo:1.0.0",
            greenImage: "bluegreen/demo:2.0.0",
            proxyPort: String(live),
            previewPort: String(preview),
            healthRetries: "3",
            healthDeadlineSeconds: "20",
        };
        this.stack = await LocalWorkspace.createStack({ stackName: this.id, workDir: ROOT }, await workspaceOptions());
        if (this.opts.dockerHost) await this.stack.setConfig("docker:host", { value: this.opts.dockerHost });
        await this.set({ ...base, ...config });
        return this;
    }

    /** Sets stack config keys of the project's namespace. */
    async set(config: Record<string, string>): Promise<void> {
        await this.stack.setAllConfig(Object.fromEntries(Object.entries(config).map(([k, value]) => [`bluegreen:${k}`, { value }])));
        const all = await this.stack.getAllConfig();
        const host = hostFor(all["bluegreen:bindAddress"]?.value || "127.0.0.1") // the default bindAddress;
        this.url = `http://${host}:${all["bluegreen:proxyPort"].value}`;
        this.previewUrl = `http://${host}:${all["bluegreen:previewPort"].value}`;
    }

    async setColor(c: Color): Promise<void> {
        await this.set({ activeColor: c });
    }

    async up(): Promise<UpResult> {
        return this.stack.up({ onOutput: () => undefined });
    }

    /** Runs the CLI on this stack in the project root (for what the Automation API does not offer: `preview --json`). */
    cli(args: string[], opts: { input?: string } = {}): string {
        return execFileSync("pulumi", [...args, "--stack", this.id, "--non-interactive"], {
            cwd: ROOT, env: { ...process.env, ...pulumiEnv() }, encoding: "utf8", input: opts.input, maxBuffer: 64 * 1024 * 1024,
        });
    }

    /** `pulumi preview --json` of the stack, as the pull-request workflow runs it. */
    previewJson(): PreviewJson {
        return JSON.parse(this.cli(["preview", "--json"]));
    }

    /** Runs `up` under load on `url`; returns what the clients saw, with times on the load's timeline. */
    async upUnderLoad(from: Color, to: Color, rate = 240) {
        const load = new LoadGenerator(this.url, rate);
        load.run();
        await new Promise((r) => setTimeout(r, 1500)); // steady state first
        const upStart = load.now();
        const result = await this.up();
        const upEnd = load.now();
        await new Promise((r) => setTimeout(r, 1500)); // and after
        const report = await load.stop();
        const after = report.samples.filter((s: Sample) => s.at > upEnd + 200);
        return { result, report, after, upStart, upEnd, win: flipWindow(report.samples, from, to) };
    }

    /** Names of the program's containers: a color's replicas (sorted), or all of them. */
    containers(color?: Color): string[] {
        const filters = ["--filter", `label=bluegreen.stack=${this.prefix}`];
        if (color) filters.push("--filter", `label=color=${color}`);
        return lines(this.docker("ps", "-a", ...filters, "--format", "{{.Names}}")).sort();
    }

    /** The proxy container's name. */
    proxy(): string {
        const found = lines(this.docker("ps", "-a", "--filter", `label=bluegreen.component=${this.prefix}-proxy`, "--format", "{{.Names}}"));
        if (found.length !== 1) throw new Error(`expected one proxy container of ${this.prefix}, found ${JSON.stringify(found)}`);
        return found[0];
    }

    /** Every container, volume and network of the program still on the engine. */
    leftovers(): string[] {
        const label = `label=bluegreen.stack=${this.prefix}`;
        return [
            ...lines(this.docker("ps", "-aq", "--filter", label)).map((x) => `container ${x}`),
            ...lines(this.docker("volume", "ls", "-q", "--filter", label)).map((x) => `volume ${x}`),
            ...lines(this.docker("network", "ls", "-q", "--filter", label)).map((x) => `network ${x}`),
        ];
    }

    /**
     * `pulumi destroy`, then removes the stack and its stack file; anything the program left on
     * the engine is removed afterwards so that one failed test does not leak into the next.
     * Returns what happened: whether `pulumi destroy` (and the stack's removal) succeeded, the
     * error when not, and what was left on the engine right after it. Idempotent: a second call
     * has nothing to do and reports success.
     */
    async teardown(): Promise<Teardown> {
        if (this.destroyed || !this.stack) return { ok: true, left: [] };
        this.destroyed = true;
        const errors: string[] = [];
        const failed = (what: string) => (e: unknown) => {
            const text = `${what}: ${String((e as Error)?.message ?? e).slice(-2000)}`;
            console.error(text);
            errors.push(text);
        };
        let left: string[] = [];
        try {
            await this.stack.destroy({ onOutput: () => undefined }).catch(failed("pulumi destroy failed"));
            left = this.leftovers();
            await this.stack.workspace.removeStack(this.stack.name, { force: true }).catch(failed("removing the stack failed"));
        } finally {
            fs.rmSync(path.join(ROOT, `Pulumi.${this.id}.yaml`), { force: true });
            const label = `label=bluegreen.stack=${this.prefix}`;
            const cs = lines(this.docker("ps", "-aq", "--filter", label));
            if (cs.length) this.dockerOk("rm", "-f", "-v", ...cs);
            const vs = lines(this.docker("volume", "ls", "-q", "--filter", label));
            if (vs.length) this.dockerOk("volume", "rm", "-f", ...vs);
            for (const n of lines(this.docker("network", "ls", "-q", "--filter", label))) this.dockerOk("network", "rm", n);
        }
        return errors.length ? { ok: false, error: errors.join("\n"), left } : { ok: true, left };
    }

    /**
     * `teardown`, as a list of what went wrong: what it left on the engine, and first the error
     * when `pulumi destroy` failed (so a failed destroy fails `expect(...).toEqual([])` even when
     * it left nothing). Empty after a clean teardown.
     */
    async destroy(): Promise<string[]> {
        const t = await this.teardown();
        return t.ok ? t.left : [t.error!, ...t.left];
    }
}

/** What `ProgramStack.teardown` found. */
export interface Teardown {
    /** `pulumi destroy` and the stack's removal succeeded. */
    ok: boolean;
    /** Their errors, when not. */
    error?: string;
    /** The program's containers, volumes and networks still on the engine after `pulumi destroy` (`container <id>`, ...). */
    left: string[];
}

/** The steps of `pulumi preview --json` that change something, as `op type::name`, sorted. */
export function changes(json: PreviewJson): string[] {
    return (json.steps ?? []).filter((s) => s.op !== "same").map((s) => {
        const [, , typeChain, name] = s.urn.split("::");
        return `${s.op} ${typeChain.split("$").pop()}::${name}`;
    }).sort();
}

/** Destroys the stack and checks that nothing of it is left: no container, volume, network or stack. */
export async function expectCleanTeardown(p: ProgramStack): Promise<void> {
    const { expect } = await import("vitest"); // imported here: the bench uses this module outside vitest
    const ws = p.stack.workspace;
    const before = p.leftovers();
    expect(before.length, "the stack had something to destroy").toBeGreaterThan(0);
    expect(await p.destroy()).toEqual([]);
    expect((await ws.listStacks()).map((st) => st.name)).not.toContain(p.id);
}

export function figuresOf(r: LoadReport) {
    return { sent: r.sent, rps: Math.round(r.sent / (r.durationMs / 1000)), failed: r.failed, rawKeepAliveResets: r.resets.raw, retriedKeepAliveResets: r.resets.keepalive };
}

export type { ProxyKind };
