/**
 * Records the `pulumi preview --json` fixtures of test/fixtures from the program itself
 * (`index.ts`), as the pull-request workflow runs it (`--show-sames`), on throwaway stacks:
 *
 *   docker:     preview-switch.json             up with blue live, then activeColor=green
 *               preview-switch-smoke.json       the same with smokeTestPath "/"
 *               preview-idle-update.json        up, then a new image on the idle color (green)
 *   kubernetes: preview-kubernetes-switch.json  up (NodePort), then activeColor=green
 *               preview-kubernetes-idle-replicas.json  up, then idleReplicas=0 (no switch)
 *
 * Each stack is brought up, changed, previewed and destroyed. What differs from one recording to
 * the next is normalised (stack name, host ports and NodePorts, ids, provider UUIDs, Pulumi's
 * random name suffixes, Kubernetes metadata), so a re-recording shows in `git diff` only what the
 * program changed.
 *
 *   bash scripts/with-env.sh node_modules/.bin/tsx scripts/record-fixtures.ts [docker] [kubernetes]
 *
 * Without arguments it records both. The Kubernetes recordings start the project's local cluster
 * if it is down (`scripts/cluster.sh up`) and stop it again after; one that was up is left up. Run
 * them under the cluster's lock where the cluster is shared:
 *
 *   flock /tmp/bluegreen-cluster.lock bash scripts/with-env.sh node_modules/.bin/tsx scripts/record-fixtures.ts kubernetes
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { acquireCluster, releaseCluster } from "../test/helpers/localCluster";
import { ProgramStack } from "../test/helpers/programStack";
import { ROOT, pulumiEnv, runId, workspaceOptions } from "../test/helpers/toolchain";

const FIXTURES = path.join(ROOT, "test", "fixtures");
/** The stack name every recording is normalised to. */
export const STACK = "bg-e2e";

/** What a recording's volatile values are replaced with. */
interface Volatile {
    stackId: string;
    /** Host ports (or NodePorts) to their stand-in: live 8080, preview 8081 (NodePorts 30080, 30081). */
    ports: Record<number, number>;
    /** Literal strings (a kubeconfig path) to their stand-in. */
    literals?: Record<string, string>;
}

/**
 * Normalises one recording. Strings: the stack id, literals, host:port pairs of the recorded
 * ports, Docker's 64-hex ids, UUIDs, Pulumi's random name suffixes (`<name>-1a2b3c4`), field
 * managers and ReplicaSet hashes get stand-ins, numbered so that equal values stay equal;
 * timestamps become one. Numbers: a recorded port under a port key. Kubernetes metadata set by
 * the API server (uid, resourceVersion), addresses the engine or the cluster handed out, and the
 * preview's duration likewise. Where each resource was declared (sourcePosition, stackTrace) is
 * left out. Nothing else changes: the steps, their order, diffs and states are the CLI's.
 */
export function normalise(json: unknown, v: Volatile): unknown {
    const seen = new Map<string, string>();
    const stand = (kind: string, value: string, make: (n: number) => string) => {
        const key = `${kind}|${value}`;
        if (!seen.has(key)) seen.set(key, make([...seen.keys()].filter((k) => k.startsWith(`${kind}|`)).length + 1));
        return seen.get(key)!;
    };
    const hex = (n: number, width: number) => n.toString(16).padStart(width, "0");
    const str = (s: string): string => {
        let out = s.replaceAll(v.stackId, STACK);
        for (const [from, to] of Object.entries(v.literals ?? {})) out = out.replaceAll(from, to);
        for (const [from, to] of Object.entries(v.ports)) out = out.replace(new RegExp(`(127\\.0\\.0\\.1|localhost|\\]):${from}(?![0-9])`, "g"), `$1:${to}`);
        out = out.replace(/\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z\b/g, "2000-01-01T00:00:00Z");
        out = out.replace(/\bpulumi-kubernetes-[0-9a-f]{8}\b/g, (m) => stand("manager", m, (n) => `pulumi-kubernetes-${hex(n, 8)}`));
        out = out.replace(/\b[0-9a-f]{64}\b/g, (m) => stand("id", m, (n) => hex(n, 64)));
        out = out.replace(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/g, (m) =>
            stand("uuid", m, (n) => `00000000-0000-4000-8000-${hex(n, 12)}`));
        // Pulumi's auto-names: the logical name, "-" and 7 hex digits (docker), 8 alphanumerics
        // (kubernetes), or 8 hex digits glued on (command's ids). Only after the stack's prefix.
        out = out.replace(new RegExp(`(bluegreen-${STACK}(?:-[a-z0-9]+)*?)(-[0-9a-f]{7}|-[0-9a-z]{8}|[0-9a-f]{8})(?![0-9a-z])`, "g"), (m, base: string, suffix: string) => {
            if (!/[0-9]/.test(suffix)) return m; // a word of the name ("-network"), not a suffix
            const glue = suffix.startsWith("-") ? "-" : "";
            const width = suffix.length - glue.length;
            // Numbered per logical name: a replacement's old and new name stay apart.
            return base + glue + stand(`suffix:${base}`, `${base}${suffix}`, (n) => hex(n, width));
        });
        // A ReplicaSet's name: its Deployment's and the pod template's hash.
        out = out.replace(new RegExp(`(bluegreen-${STACK}-[a-z]+-[0-9a-f]{8})-([0-9a-z]{9,10})(?![0-9a-z])`, "g"), (_m, base: string, hash: string) =>
            `${base}-${stand(`hash:${base}`, hash, (n) => hex(n, hash.length))}`);
        return out;
    };
    // Keys that hold a port: the container's published ports, a Service's, the stack config's.
    const PORT_KEYS = /^(external|nodePort|port|(bluegreen:)?(proxyPort|previewPort))$/;
    const META = new Set(["uid", "resourceVersion", "creationTimestamp", "time"]);
    // Addresses the cluster or the engine handed out.
    const ADDRESS_KEYS = /^(clusterIPs?|ipAddress|gateway|macAddress|globalIpv6Address|ipv6Gateway|subnet|ipRange|hostname)$/;
    // Where each resource was declared (file, line, the SDK's path on this machine): not what a
    // preview plans, and different after any edit of the program.
    const DROPPED = new Set(["sourcePosition", "stackTrace"]);
    const walk = (x: unknown, key = ""): unknown => {
        if (typeof x === "string") {
            if (META.has(key)) return `<${key}>`;
            if (ADDRESS_KEYS.test(key)) return stand(`address:${key}`, x, (n) => `<${key} ${n}>`);
            if (PORT_KEYS.test(key) && /^[0-9]+$/.test(x) && v.ports[Number(x)] !== undefined) return String(v.ports[Number(x)]);
            return str(x);
        }
        if (typeof x === "number") {
            if (PORT_KEYS.test(key) && v.ports[x] !== undefined) return v.ports[x];
            // The prefix length of the subnet the engine picked from its pools (/16, /20...).
            if (key === "ipPrefixLength") return 16;
            return key === "duration" ? 0 : x;
        }
        // The engine lists a resource's dependencies (lists of URNs) in no fixed order.
        if (Array.isArray(x)) {
            const urns = x.length > 0 && x.every((e) => typeof e === "string" && e.startsWith("urn:pulumi:"));
            return (urns ? [...x].sort() : x).map((e) => walk(e, key));
        }
        if (x && typeof x === "object") {
            return Object.fromEntries(Object.entries(x as Record<string, unknown>).filter(([k]) => !DROPPED.has(k)).map(([k, e]) => [str(k), walk(e, k)]));
        }
        return x;
    };
    // Stand-ins are numbered in order of first appearance; the engine lists unchanged steps in no
    // fixed order, so the numbers are drawn over the steps sorted by URN first.
    const steps = (json as { steps?: { urn: string }[] }).steps;
    if (Array.isArray(steps)) walk([...steps].sort((a, b) => (a.urn < b.urn ? -1 : a.urn > b.urn ? 1 : 0)));
    return walk(json);
}

function write(name: string, json: unknown): void {
    const file = path.join(FIXTURES, `${name}.json`);
    fs.writeFileSync(file, `${JSON.stringify(json, null, 4)}\n`);
    console.log(`[record-fixtures] wrote ${path.relative(ROOT, file)}`);
}

/** `pulumi preview --json --show-sames` of a stack, as the pull-request workflow runs it. */
function previewJson(stackName: string): unknown {
    return JSON.parse(execFileSync("pulumi", ["preview", "--json", "--show-sames", "--non-interactive", "--stack", stackName], {
        cwd: ROOT, env: { ...process.env, ...pulumiEnv() }, encoding: "utf8", maxBuffer: 64 * 1024 * 1024,
    }));
}

/** One Docker recording: a stack with `config`, up; then `change`, previewed. */
async function recordDocker(fixture: string, config: Record<string, string>, change: Record<string, string>): Promise<void> {
    const p = new ProgramStack(runId("bgrec"));
    try {
        await p.create(config);
        const up = await p.up();
        if (up.summary.result !== "succeeded") throw new Error(`${fixture}: up ${up.summary.result}`);
        await p.set(change);
        const ports = { [Number(new URL(p.url).port)]: 8080, [Number(new URL(p.previewUrl).port)]: 8081 };
        write(fixture, normalise(previewJson(p.id), { stackId: p.id, ports }));
    } finally {
        const left = await p.destroy();
        if (left.length) console.error(`[record-fixtures] ${fixture}: destroy left ${left.join(", ")} (removed)`);
    }
}

/**
 * Runs the recordings side by side and waits for every one (so that each destroys its stack even
 * when another failed); then fails with every error.
 */
async function allOf(recordings: Promise<void>[]): Promise<void> {
    const failed = (await Promise.allSettled(recordings)).filter((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed.length) throw new AggregateError(failed.map((r) => r.reason), `${failed.length} recording(s) failed: ${failed.map((r) => String(r.reason?.message ?? r.reason)).join("; ")}`);
}

export async function recordDockerFixtures(): Promise<void> {
    await allOf([
        recordDocker("preview-switch", {}, { activeColor: "green" }),
        recordDocker("preview-switch-smoke", { smokeTestPath: "/" }, { activeColor: "green" }),
        recordDocker("preview-idle-update", {}, { greenImage: "bluegreen/demo:1.0.0" }),
    ]);
}

/** One Kubernetes recording, in a namespace of its own (NodePort Services, so the URLs carry ports). */
async function recordKubernetes(fixture: string, change: Record<string, string>, kubeconfig: string, kubectl: string): Promise<void> {
    const id = runId("bgrec");
    const k = (...args: string[]) => execFileSync(kubectl, ["--kubeconfig", kubeconfig, ...args], { encoding: "utf8" });
    k("create", "namespace", id);
    let stack: Stack | undefined;
    try {
        stack = await LocalWorkspace.createStack({ stackName: id, workDir: ROOT }, await workspaceOptions());
        const set = async (config: Record<string, string>) => {
            for (const [key, value] of Object.entries(config)) await stack!.setConfig(key.includes(":") ? key : `bluegreen:${key}`, { value });
        };
        await set({
            platform: "kubernetes", namespace: id, activeColor: "blue", serviceType: "NodePort",
            blueImage: "bluegreen/demo:1.0.0", greenImage: "bluegreen/demo:2.0.0", healthDeadlineSeconds: "60",
            "kubernetes:kubeconfig": kubeconfig,
        });
        const up = await stack.up({ onOutput: () => undefined });
        if (up.summary.result !== "succeeded") throw new Error(`${fixture}: up ${up.summary.result}`);
        const ports = {
            [Number(new URL(up.outputs.url.value).port)]: 30080,
            [Number(new URL(up.outputs.previewUrl.value).port)]: 30081,
        };
        await set(change);
        write(fixture, normalise(previewJson(id), { stackId: id, ports, literals: { [kubeconfig]: "/path/to/kubeconfig" } }));
    } finally {
        if (stack) {
            await stack.destroy({ onOutput: () => undefined }).catch((e) => console.error(`[record-fixtures] ${fixture}: destroy failed:`, e));
            await stack.workspace.removeStack(id, { force: true }).catch(() => undefined);
        }
        fs.rmSync(path.join(ROOT, `Pulumi.${id}.yaml`), { force: true });
        k("delete", "namespace", id, "--wait=false");
    }
}

export async function recordKubernetesFixtures(): Promise<void> {
    const c = acquireCluster();
    try {
        const kubectl = path.join(c.bin, "kubectl");
        await allOf([
            recordKubernetes("preview-kubernetes-switch", { activeColor: "green" }, c.kubeconfig, kubectl),
            recordKubernetes("preview-kubernetes-idle-replicas", { idleReplicas: "0" }, c.kubeconfig, kubectl),
        ]);
    } finally {
        releaseCluster(c);
    }
}

async function main(): Promise<void> {
    const which = process.argv.slice(2);
    const all = which.length === 0;
    for (const w of which) if (w !== "docker" && w !== "kubernetes") throw new Error(`unknown set ${JSON.stringify(w)}: docker or kubernetes`);
    if (all || which.includes("docker")) await recordDockerFixtures();
    if (all || which.includes("kubernetes")) await recordKubernetesFixtures();
}

if (require.main === module) {
    main().catch((e) => {
        console.error(e);
        process.exit(1);
    });
}
