/**
 * The operator's commands, on top of the program, through the Automation API:
 *
 *   npm run status   [-- --stack dev]
 *   npm run rollback [-- --stack dev] [--yes]
 *
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

function arg(name: string, argv: string[]): string | undefined {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
}

async function main(argv: string[]) {
    const [command] = argv;
    const workDir = arg("work-dir", argv) ?? path.resolve(__dirname, "..");
    const stack = await LocalWorkspace.selectStack({ stackName: arg("stack", argv) ?? "dev", workDir });
    if (command === "status") {
        const r = await status(stack);
        console.log(formatStatus(r));
        process.exitCode = r.drift ? 3 : 0;
    } else if (command === "rollback") {
        await rollback(stack);
    } else {
        throw new Error(`unknown command "${command}"; allowed: status, rollback`);
    }
}

if (require.main === module) {
    main(process.argv.slice(2)).catch((e) => {
        console.error(`error: ${(e as Error).message}`);
        process.exit(1);
    });
}
