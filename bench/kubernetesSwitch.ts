/**
 * The benchmark's Kubernetes row (issue 27 item 3): the program itself (index.ts, platform
 * kubernetes) on the local cluster (scripts/cluster.sh) with the installed kubernetes plugin,
 * NodePort Services, under the paced load on `url` (new connections, keep-alive retrying once,
 * raw keep-alive never retrying). FLIPS flips with `pulumi up --yes --skip-preview`, each once the
color about to go live has finished the restart of the previous switch; per flip,
 * from the command's start to the first answer of the new color on `url`, and the command's own
 * wall time, held to the README's targets (TARGETS): a missed target, or a failed request of a
 * browser-like client, makes `npm run bench` exit 1. The end-to-end test
 * (test/e2e/kubernetes.test.ts) asserts the order (no answer from the candidate before the
 * selector moved) and 0 failed requests; it times nothing.
 *
 * Uses the shared local cluster: run under `flock /tmp/bluegreen-cluster.lock` where another
 * process may use it. `BENCH_ONLY=kubernetes npm run bench` runs this row alone.
 */
import { execFile, execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { LoadGenerator, LoadReport } from "../test/helpers/load";
import { ROOT, pulumiEnv } from "../test/helpers/toolchain";

type Color = "blue" | "green";
const FLIPS = Number(process.env.BENCH_K8S_FLIPS ?? 10);
const RATE = Number(process.env.BENCH_K8S_RATE ?? 200);
const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const p50 = (xs: number[]) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] : NaN);

/** README, Kubernetes, "Switch time" (issue 27 item 3): p50s over the flips, at most these. */
export const TARGETS = { toFirstNewP50Ms: 3000, commandP50Ms: 4000 };

export interface KubernetesSwitchRow {
    plugin: string;
    flips: number;
    ratePerSecond: number;
    /** Command start → first answer of the new color on `url`, ms, per flip. */
    toFirstNewMs: number[];
    commandMs: number[];
    p50: { toFirstNewMs: number; commandMs: number };
    requests: number;
    failed: { fresh: number; keepalive: number; raw: number };
    rawKeepAliveResets: number;
    /** What missed the README's targets (TARGETS) or failed; empty when all held. */
    missed: string[];
}

/** Runs `pulumi <args>` on `stack` (undefined: `args` name it, as `stack init` does). */
async function pulumi(args: string[], stack: string | undefined): Promise<number> {
    const t = Date.now();
    await run("pulumi", [...args, ...(stack ? ["--stack", stack] : []), "--non-interactive"], { cwd: ROOT, env: { ...process.env, ...pulumiEnv() }, maxBuffer: 64 << 20 })
        .catch((e) => { throw new Error(`pulumi ${args.join(" ")} failed: ${e.stdout}\n${e.stderr}`); });
    return Date.now() - t;
}

/** Which kubernetes provider plugin the engine runs: the real one, or the project's stand-in. */
export function kubernetesPlugin(): string {
    const version = JSON.parse(fs.readFileSync(path.join(ROOT, "node_modules/@pulumi/kubernetes/package.json"), "utf8")).version;
    const dir = path.join(process.env.PULUMI_HOME ?? "", "plugins", `resource-kubernetes-v${version}`);
    return fs.existsSync(path.join(dir, ".bluegreen-standin")) ? `the project's stand-in v${version}` : `the real plugin v${version}`;
}

export async function measureKubernetesSwitch(id: string): Promise<KubernetesSwitchRow> {
    const cluster = (cmd: string) => execFileSync("bash", [path.join(ROOT, "scripts/cluster.sh"), cmd],
        { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, BLUEGREEN_PODS: "real" } });
    cluster("up");
    const env = cluster("env");
    const kubeconfig = env.match(/KUBECONFIG="([^"]+)"/)![1];
    const kubectl = path.join(env.match(/PATH="([^:"]+)/)![1], "kubectl");
    const stack = `${id}-k8s`;
    const ns = stack;
    execFileSync(kubectl, ["--kubeconfig", kubeconfig, "create", "namespace", ns]);
    const set = (k: string, v: string) => pulumi(["config", "set", k.includes(":") ? k : `bluegreen:${k}`, v], stack);
    try {
        await pulumi(["stack", "init", stack], undefined);
        for (const [k, v] of Object.entries({
            platform: "kubernetes", namespace: ns, activeColor: "blue", serviceType: "NodePort",
            blueImage: "bluegreen/demo:1.0.0", greenImage: "bluegreen/demo:2.0.0", blueReplicas: "2", greenReplicas: "2",
            drainSeconds: "5", "kubernetes:kubeconfig": kubeconfig,
        })) await set(k, v);
        await pulumi(["up", "--yes", "--skip-preview"], stack);
        const url = JSON.parse((await run("pulumi", ["stack", "output", "url", "--json", "--stack", stack], { cwd: ROOT, env: { ...process.env, ...pulumiEnv() } })).stdout);
        const settled = async (color: Color) => {
            for (const end = Date.now() + 120_000; Date.now() < end; await sleep(500)) {
                const out = (await run(kubectl, ["--kubeconfig", kubeconfig, "get", "deployments", "-n", ns, "-o", "json"])).stdout;
                const d = JSON.parse(out).items.find((x: any) => x.metadata.labels?.color === color);
                const pods = JSON.parse((await run(kubectl, ["--kubeconfig", kubeconfig, "get", "pods", "-n", ns, "-l", `color=${color}`, "-o", "json"])).stdout).items;
                // No old pod still draining either: it would answer its kept-alive clients.
                if (d && d.status.observedGeneration === d.metadata.generation && [d.status.replicas, d.status.updatedReplicas, d.status.readyReplicas].every((n) => n === d.spec.replicas)
                    && pods.every((p: any) => !p.metadata.deletionTimestamp)) return;
            }
            throw new Error(`${color}'s rollout did not settle in 120 s`);
        };
        const load = new LoadGenerator(url, RATE);
        load.run();
        const toFirstNewMs: number[] = [];
        const commandMs: number[] = [];
        let to: Color = "green";
        let report!: LoadReport;
        try {
            await sleep(2000);
            for (let i = 0; i < FLIPS; i++) {
                // From a steady state, as the end-to-end test: the color about to go live has
                // finished its restart from the previous switch (the gate waits for its rollout).
                await settled(to);
                await set("activeColor", to);
                const start = load.now();
                commandMs.push(await pulumi(["up", "--yes", "--skip-preview"], stack));
                await sleep(2000);
                const first = load.snapshot().filter((s) => s.color === to && s.at > start).reduce((m, s) => Math.min(m, s.at), Infinity);
                toFirstNewMs.push(first - start);
                to = to === "green" ? "blue" : "green";
            }
        } finally {
            report = await load.stop();
        }
        const p50s = { toFirstNewMs: p50(toFirstNewMs), commandMs: p50(commandMs) };
        const missed = [
            ...(!(p50s.toFirstNewMs <= TARGETS.toFirstNewP50Ms) ? [`first answer of the new color ${p50s.toFirstNewMs} ms p50 > ${TARGETS.toFirstNewP50Ms}`] : []),
            ...(!(p50s.commandMs <= TARGETS.commandP50Ms) ? [`command ${p50s.commandMs} ms p50 > ${TARGETS.commandP50Ms}`] : []),
            ...(report.failed.fresh + report.failed.keepalive > 0 ? [`${report.failed.fresh + report.failed.keepalive} failed requests of browser-like clients`] : []),
        ];
        return {
            plugin: kubernetesPlugin(), flips: FLIPS, ratePerSecond: RATE, toFirstNewMs, commandMs, p50: p50s,
            requests: report.samples.length, failed: report.failed, rawKeepAliveResets: report.resets.raw, missed,
        };
    } finally {
        await pulumi(["destroy", "--yes", "--skip-preview"], stack).catch((e) => console.error(String(e)));
        await pulumi(["stack", "rm", "--yes", "--force", stack], undefined).catch(() => undefined);
        fs.rmSync(path.join(ROOT, `Pulumi.${stack}.yaml`), { force: true });
        await run(kubectl, ["--kubeconfig", kubeconfig, "delete", "namespace", ns, "--wait=false"]).catch(() => undefined);
        cluster("down");
    }
}

export function kubernetesSwitchMarkdown(r: KubernetesSwitchRow): string {
    return [
        `Kubernetes switch (the program, platform kubernetes, on the local cluster's real node; kubernetes plugin: ${r.plugin}; ${r.ratePerSecond} requests/s on \`url\`, ${r.flips} flips with \`pulumi up --yes --skip-preview\`):`,
        "",
        "| command start → first answer of the new color, ms p50 / max | command ms p50 / max | requests | failed (new connection / keep-alive retrying once / raw keep-alive) | raw keep-alive resets |",
        "| --- | --- | --- | --- | --- |",
        `| ${r.p50.toFirstNewMs} / ${Math.max(...r.toFirstNewMs)} | ${r.p50.commandMs} / ${Math.max(...r.commandMs)} | ${r.requests} | ${r.failed.fresh} / ${r.failed.keepalive} / ${r.failed.raw} | ${r.rawKeepAliveResets} |`,
        "",
        `Targets (README): first answer of the new color ≤ ${TARGETS.toFirstNewP50Ms} ms p50, command ≤ ${TARGETS.commandP50Ms} ms p50, 0 failed: ${r.missed.length ? `MISSED: ${r.missed.join("; ")}` : "met"}.`,
        "",
    ].join("\n");
}

/**
 * The row for `npm run bench` (bench/bench.ts), also written to bench/results/kubernetes.json;
 * where the local cluster cannot run real pods (no root), the reason instead.
 */
export async function kubernetesRow(id: string): Promise<{ result: KubernetesSwitchRow | { unavailable: string }; markdown: string }> {
    let result: KubernetesSwitchRow | { unavailable: string };
    try {
        result = await measureKubernetesSwitch(id);
    } catch (e) {
        result = { unavailable: (e as Error).message.split("\n")[0] };
    }
    const dir = path.join(ROOT, "bench/results");
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, "kubernetes.json"), JSON.stringify(result, null, 2) + "\n");
    // A row that could not be measured, or that missed a target, fails the bench.
    if ("unavailable" in result || result.missed.length) process.exitCode = 1;
    return { result, markdown: "unavailable" in result ? `- Kubernetes switch: not measured: ${result.unavailable}\n` : kubernetesSwitchMarkdown(result) };
}
