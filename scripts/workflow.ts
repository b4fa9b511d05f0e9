/**
 * The operator's commands, on top of the program, through the Automation API:
 *
 *   npm run deploy   -- --image REF [--stack dev] [--dry-run]
 *   npm run status   [-- --stack dev]
 *   npm run rollback [-- --stack dev]
 *
 * `deploy` puts the image on the idle color and runs `up`, waits until that color is healthy
 * on `previewUrl`, smoke-tests it there, flips `activeColor` and runs `up`, and verifies that
 * `url` serves it. On any failure it restores the previous config, converges (`up`) and fails
 * with the reason. `--dry-run` shows the preview of the whole change and changes nothing.
 * `status` shows the active color per config, what `url` really serves (a live request), the
 * version and health of each color (the live one through `url`, the idle one through
 * `previewUrl`) and warns when live traffic and config disagree (drift). `rollback` flips to
 * the other color if it is healthy, and refuses otherwise.
 */
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import * as path from "node:path";
import { Color, otherColor } from "../components/settings";

export interface ColorStatus {
    color?: string;
    version?: string;
    healthy: boolean;
    detail: string;
}

export interface StatusReport {
    stack: string;
    configuredColor: Color;
    live: ColorStatus;
    idle: ColorStatus;
    drift?: string;
}

async function probe(base: string, healthPath: string): Promise<ColorStatus> {
    try {
        const root = await fetch(base, { signal: AbortSignal.timeout(5000) });
        const body = (await root.json().catch(() => ({}))) as { color?: string; version?: string };
        const health = await fetch(new URL(healthPath, base), { signal: AbortSignal.timeout(5000) });
        return {
            color: body.color ?? root.headers.get("x-bluegreen-color") ?? undefined,
            version: body.version,
            healthy: health.status >= 200 && health.status < 300,
            detail: `GET ${base} → ${root.status}, ${healthPath} → ${health.status}`,
        };
    } catch (e) {
        return { healthy: false, detail: `GET ${base} failed: ${(e as Error).message}` };
    }
}

async function healthPathOf(stack: Stack, color: string): Promise<string> {
    const all = await stack.getAllConfig();
    return all[`bluegreen:${color}HealthPath`]?.value ?? "/health";
}

export async function status(stack: Stack): Promise<StatusReport> {
    const outputs = await stack.outputs();
    const configuredColor = ((await stack.getAllConfig())["bluegreen:activeColor"]?.value ?? "blue") as Color;
    const url = outputs.url?.value as string | undefined;
    const previewUrl = outputs.previewUrl?.value as string | undefined;
    if (!url || !previewUrl) throw new Error(`stack ${stack.name} has no url/previewUrl outputs: run \`pulumi up\` first`);
    const live = await probe(url, await healthPathOf(stack, configuredColor));
    const idle = await probe(previewUrl, await healthPathOf(stack, otherColor(configuredColor)));
    const report: StatusReport = { stack: stack.name, configuredColor, live, idle };
    if (live.color && live.color !== configuredColor) {
        report.drift = `config says ${configuredColor} is live, but ${url} is served by ${live.color}: run \`pulumi refresh\` to see the drift and \`pulumi up\` to restore the config's routing`;
    } else if (!live.color) {
        report.drift = `${url} did not say which color served it (${live.detail})`;
    }
    return report;
}

export function formatStatus(r: StatusReport): string {
    const line = (role: string, s: ColorStatus) =>
        `  ${role.padEnd(5)} ${(s.color ?? "?").padEnd(6)} version ${s.version ?? "?"}  ${s.healthy ? "healthy" : "UNHEALTHY"}  (${s.detail})`;
    return [
        `stack ${r.stack}: activeColor (config) = ${r.configuredColor}`,
        line("live", r.live),
        line("idle", r.idle),
        r.drift ? `WARNING: drift: ${r.drift}` : "  live traffic matches the config",
    ].join("\n");
}

/** Flips to the other color if it is healthy; throws (changing nothing) otherwise. */
export async function rollback(stack: Stack, log: (s: string) => void = console.log): Promise<Color> {
    const before = await status(stack);
    const target = otherColor(before.configuredColor);
    if (!before.idle.healthy || before.idle.color !== target) {
        throw new Error(`refusing to roll back to ${target}: it is not healthy on the preview URL (${before.idle.detail})`);
    }
    log(`rolling back: ${before.configuredColor} → ${target} (${before.idle.version ?? "?"})`);
    await stack.setConfig("bluegreen:activeColor", { value: target });
    const t = Date.now();
    try {
        await stack.up({ onOutput: () => undefined });
    } catch (e) {
        await stack.setConfig("bluegreen:activeColor", { value: before.configuredColor });
        throw new Error(`rollback failed, config restored to ${before.configuredColor}: ${(e as Error).message}`);
    }
    const after = await status(stack);
    if (after.live.color !== target) throw new Error(`rollback applied but ${target} is not what url serves: ${after.live.detail}`);
    log(`done in ${((Date.now() - t) / 1000).toFixed(1)} s: ${target} is live`);
    return target;
}

async function waitHealthy(base: string, healthPath: string, deadlineSeconds: number): Promise<ColorStatus> {
    const until = Date.now() + deadlineSeconds * 1000;
    let last = await probe(base, healthPath);
    while (!last.healthy && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 1000));
        last = await probe(base, healthPath);
    }
    return last;
}

export interface DeployOptions {
    dryRun?: boolean;
    log?: (line: string) => void;
}

/** One-command deploy with automatic rollback; returns the color now live. */
export async function deploy(stack: Stack, image: string, opts: DeployOptions = {}): Promise<Color> {
    const log = opts.log ?? console.log;
    const config = await stack.getAllConfig();
    const active = (config["bluegreen:activeColor"]?.value ?? "blue") as Color;
    const idle = otherColor(active);
    const imageKey = `bluegreen:${idle}Image`;
    const previous = { activeColor: active, image: config[imageKey]?.value };
    const deadline = Number(config["bluegreen:healthDeadlineSeconds"]?.value ?? 60);
    const healthPath = config[`bluegreen:${idle}HealthPath`]?.value ?? "/health";
    const restore = async () => {
        await stack.setConfig("bluegreen:activeColor", { value: previous.activeColor });
        if (previous.image === undefined) await stack.removeConfig(imageKey);
        else await stack.setConfig(imageKey, { value: previous.image });
    };
    const timed = async <T>(what: string, f: () => Promise<T>): Promise<T> => {
        const t = Date.now();
        log(`→ ${what}`);
        const r = await f();
        log(`  ✓ ${what} (${((Date.now() - t) / 1000).toFixed(1)} s)`);
        return r;
    };

    await stack.setConfig(imageKey, { value: image });
    if (opts.dryRun) {
        try {
            await stack.setConfig("bluegreen:activeColor", { value: idle });
            const pre = await stack.preview();
            log(`dry run: ${image} on ${idle}, then traffic ${active} → ${idle}: ${JSON.stringify(pre.changeSummary)}`);
            log(pre.stdout);
        } finally {
            await restore();
        }
        return active;
    }
    try {
        await timed(`put ${image} on ${idle} (idle) and \`pulumi up\``, () => stack.up({ onOutput: () => undefined }));
        const outputs = await stack.outputs();
        const previewUrl = outputs.previewUrl?.value as string;
        const url = outputs.url?.value as string;
        const health = await timed(`wait until ${idle} is healthy on ${previewUrl}${healthPath}`, () => waitHealthy(previewUrl, healthPath, deadline));
        if (!health.healthy) throw new Error(`${idle} did not become healthy within ${deadline} s: ${health.detail}`);
        await timed(`smoke-test ${previewUrl}`, async () => {
            const res = await fetch(previewUrl, { signal: AbortSignal.timeout(5000) });
            if (res.status < 200 || res.status > 299) throw new Error(`smoke test: GET ${previewUrl} answered ${res.status}`);
        });
        await stack.setConfig("bluegreen:activeColor", { value: idle });
        await timed(`switch traffic ${active} → ${idle} (\`pulumi up\`)`, () => stack.up({ onOutput: () => undefined }));
        await timed(`verify ${url} serves ${idle}`, async () => {
            for (let i = 0; i < 5; i++) {
                const s = await probe(url, healthPath);
                if (s.color !== idle) throw new Error(`after the switch ${url} is served by ${s.color ?? "?"}: ${s.detail}`);
            }
        });
        log(`deployed ${image}: ${idle} is live`);
        return idle;
    } catch (e) {
        const reason = (e as Error).message.split("\n").find((l) => l.includes("health gate") || l.includes("error:")) ?? (e as Error).message;
        log(`✗ ${reason.trim()}`);
        log(`→ rolling back: restoring the previous config (${previous.activeColor} live, ${idle} on ${previous.image ?? "its default image"}) and converging`);
        await restore();
        await stack.up({ onOutput: () => undefined });
        throw new Error(`deploy of ${image} failed and was rolled back: ${reason.trim()}`);
    }
}

function arg(name: string, argv: string[]): string | undefined {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
}

async function main(argv: string[]) {
    const [command] = argv;
    // The program's own stacks, in the project root (where Pulumi.yaml and index.ts are).
    const stack = await LocalWorkspace.selectStack({ stackName: arg("stack", argv) ?? "dev", workDir: path.resolve(__dirname, "..") });
    if (command === "status") {
        const r = await status(stack);
        console.log(formatStatus(r));
        process.exitCode = r.drift ? 3 : 0;
    } else if (command === "rollback") {
        await rollback(stack);
    } else if (command === "deploy") {
        const image = arg("image", argv);
        if (!image) throw new Error("deploy needs --image REF");
        await deploy(stack, image, { dryRun: argv.includes("--dry-run") });
    } else {
        throw new Error(`unknown command "${command}"; allowed: deploy, status, rollback`);
    }
}

if (require.main === module) {
    main(process.argv.slice(2)).catch((e) => {
        console.error(`error: ${(e as Error).message}`);
        process.exit(1);
    });
}
