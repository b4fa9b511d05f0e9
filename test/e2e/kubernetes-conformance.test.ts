/**
 * Conformance: what the real kubernetes plugin (4.34.2, built from the Go module) did with the
 * program at main da3e7bc, recorded step by step in ../shared/conformance/kubernetes-da3e7bc (on
 * the project's cluster with a real node), replayed against the kubernetes plugin the set-up
 * installed (checked to be the real one: a Go binary, no stand-in's mark), on the local cluster
 * (scripts/cluster.sh; started here if it is down, and left as it was found), with the same config
 * changes, hand changes and refreshes. The program replayed is the recorded one, taken from git
 * with this checkout's dependencies (as docker-upgrade.test.ts takes it): what is compared is the
 * plugin, so the program's own changes since (labels, annotations, the Services' order, issue 27)
 * are not differences; test/e2e/kubernetes.test.ts runs today's program on the same plugin. That
 * program's readiness gate runs `kubectl`: the cluster's own is put first on its PATH. At every
 * step:
 *
 * - the plan (`pulumi preview --json --show-sames`): every step of a custom resource or a provider,
 *   with its op, type, name, replace reasons and detailed diff; and the change summary counted over
 *   custom resources and providers, `same` included;
 * - the `up`: whether it succeeds;
 * - the state: every kubernetes resource's stored inputs and outputs (the live object as the API
 *   server returned it), value by value, every element of every list, after the normalising below;
 * - the destroy: whether it succeeds, and what of the program is left in the namespace.
 *
 * Left out, and why:
 * - Component resources (the stack, `BlueGreenService`, `ColorEnvironment`): no plugin runs them.
 *   The recorded summaries' components are taken out as in docker-conformance.test.ts.
 * - The gate's and the providers' state: the recordings hold the kubernetes resources' only.
 * - The default kubernetes provider: neither the recordings nor `preview --json`'s summary count it.
 * - Four values of the live objects that say how far the cluster's controllers had got when the
 *   provider read the object back, not what the plugin did, and that differ between two runs of
 *   the same step on the same cluster:
 *   - a Deployment's `status.observedGeneration` and its `deployment.kubernetes.io/revision`
 *     annotation, both written by the Deployment controller: in one run of this file (of several) on
 *     the same plugin, step 05's blue was read back at generation 2 before the controller had
 *     observed it (observed 1, revision "1"; recorded 2 and "2"), every other value the same. Its
 *     `metadata.generation`, spec and inputs (what the plugin applied) are compared;
 *   - a Deployment's `status.terminatingReplicas` (pods still in their preStop sleep, 30 s: how
 *     many depends on how long the previous steps took), and the same field in the
 *     kube-controller-manager's `managedFields` entry;
 *   - the order of a Deployment's `status.conditions` (the controller rewrites them in either
 *     order: the recordings themselves hold both); they are compared sorted by type;
 *   - a Deployment the program has scaled to 0 (`idleReplicas: 0`: steps 07 to 09), its status as
 *     the controller had observed it (`status`, `metadata.generation` against
 *     `status.observedGeneration`, and the controller's `managedFields` entry): the provider does
 *     not wait for a scale-down, so it stores the object of the moment it read it back (step 08's
 *     recording holds a green still at 2 replicas, generation 2 observed as 1; step 09 keeps it).
 *     Its inputs, `spec` and metadata (what the plugin applied) are compared.
 *
 * Normalised on both sides, with the recordings' placeholders: the stack (`bluegreen-kconf` there),
 * the namespace (`default` there; the replay runs in a namespace of its own), the random name
 * suffix of each object (`<suffix>`), a ReplicaSet's pod-template hash (`<hash>`: it hashes the
 * template, which names the env Secret by its random name), UIDs (`<uid>`), resource versions
 * (`<rv>`), timestamps (`<time>`), cluster IPs (`<ip>`), NodePorts the API server allocated
 * (`<nodeport>`), field managers' random suffixes (`pulumi-kubernetes-<manager>`) and secrets
 * (`<secret>`). No table of allowed differences: any other difference fails its step (soft
 * assertions, so that one step's difference does not hide the next steps').
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { acquireCluster, kubectlOn, releaseCluster, type LocalCluster } from "../helpers/localCluster";
import { kubernetesCluster, requirements } from "../helpers/requirements";
import { type PlanStep, type PropertyDiff, type Recording, type StoredResource, SECRET_SIG, countOps, differences, keyed, nameOf, readRecordings, recordedComponents, recordedCustomSummary, typeOf } from "../helpers/conformance";
import { ROOT, pulumiEnv, runId, tmpDir, workspaceOptions } from "../helpers/toolchain";
import { execFileSync } from "node:child_process";

const missing = requirements("kubernetes-conformance.test.ts", kubernetesCluster());

const DIR = path.join(ROOT, "..", "shared", "conformance", "kubernetes-da3e7bc");
/** The recorded program: main at this commit, extracted in beforeAll. */
const RECORDED_PROGRAM = "da3e7bc";
const program = tmpDir("bg-kconf-program");
const RECORDED_PREFIX = "bluegreen-kconf";
const RECORDED_NAMESPACE = "default";

const COMPONENTS = new Set(["pulumi:pulumi:Stack", "bluegreen:kubernetes:BlueGreenService", "bluegreen:kubernetes:ColorEnvironment"]);

const id = runId("bgkconf");
const prefix = `bluegreen-${id}`;
const namespace = id;
let k8s: LocalCluster | undefined;
let stack: Stack;
let env: Record<string, string> = {};

type Side = "recorded" | "ours";

/** The logical names whose objects carry a random suffix. */
const NAMED = "(?:blue|green|blue-env|green-env|production|preview)";

function normaliseString(s: string, side: Side): string {
    const out = side === "ours" ? s.split(prefix).join(RECORDED_PREFIX) : s;
    return out
        .replace(new RegExp(`(${RECORDED_PREFIX}-${NAMED})-(?:[0-9a-z]{8}|<suffix>)(?![0-9a-z])`, "g"), "$1-<suffix>")
        .replace(/(-<suffix>)-[0-9a-z]{6,10}(?![0-9a-z])/g, "$1-<hash>")
        .replace(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-(?:[0-9a-f]{12}\b|<shortid>)/g, "<uid>")
        .replace(/\bpulumi-kubernetes-[0-9a-f]{8}\b/g, "pulumi-kubernetes-<manager>")
        .replace(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z$/, "<time>")
        .replace(/^(?!127\.)\d{1,3}(?:\.\d{1,3}){3}$/, "<ip>");
}

/** Fields the cluster's controllers write as they catch up (see the header), left out on both sides. */
const CONTROLLER_PROGRESS = new Set(["terminatingReplicas", "f:terminatingReplicas", "observedGeneration", "deployment.kubernetes.io/revision"]);

function normalise(v: unknown, side: Side, key = ""): unknown {
    if (v === null || v === undefined) return null;
    if (Array.isArray(v)) {
        const out = v.map((x) => normalise(x, side, key));
        // The controller writes a Deployment's conditions in either order (see the header).
        if (key === "conditions") return [...out].sort((a, b) => (String((a as { type?: string })?.type) < String((b as { type?: string })?.type) ? -1 : 1));
        return out;
    }
    if (typeof v === "object") {
        if (SECRET_SIG in (v as object)) return "<secret>";
        return Object.fromEntries(Object.entries(v as object)
            .filter(([k]) => !CONTROLLER_PROGRESS.has(k))
            .map(([k, x]) => [k, normalise(x, side, k)]));
    }
    if (typeof v === "number" && key === "nodePort") return "<nodeport>";
    if (typeof v === "string") {
        if (key === "resourceVersion") return "<rv>";
        if (key === "namespace" && side === "ours" && v === namespace) return RECORDED_NAMESPACE;
        return normaliseString(v, side);
    }
    return v;
}


function cli(args: string[]): string {
    return execFileSync("pulumi", [...args, "--stack", id, "--non-interactive"], {
        cwd: program, env: { ...process.env, ...env }, encoding: "utf8", maxBuffer: 64 * 1024 * 1024,
    });
}

/** A Deployment scaled to 0 in this step, as the header says: its controller-observed status left out. */
function withoutScaleDownStatus(r: StoredResource, scaledDown: Set<string>): StoredResource {
    if (r.type !== "kubernetes:apps/v1:Deployment" || !scaledDown.has(r.name)) return r;
    const outputs = structuredClone(r.outputs) as { status?: unknown; metadata?: { generation?: unknown; managedFields?: { manager?: string }[] } };
    delete outputs.status;
    if (outputs.metadata) {
        delete outputs.metadata.generation;
        // The controller's own entry lists the status fields it has set so far.
        outputs.metadata.managedFields = outputs.metadata.managedFields?.filter((m) => m.manager !== "kube-controller-manager");
    }
    return { ...r, outputs: outputs as Record<string, unknown> };
}

function storedResources(): StoredResource[] {
    const state = JSON.parse(cli(["stack", "export"]));
    return (state.deployment.resources ?? [])
        .filter((r: { type: string }) => r.type.startsWith("kubernetes:") && !r.type.startsWith("pulumi:providers:"))
        .map((r: { type: string; urn: string; inputs?: Record<string, unknown>; outputs?: Record<string, unknown> }) => ({
            type: r.type, name: normaliseString(nameOf(r.urn), "ours"), inputs: normalise(r.inputs ?? {}, "ours"), outputs: normalise(r.outputs ?? {}, "ours"),
        }));
}

function stateDifferences(recorded: StoredResource[], stored: StoredResource[]): string[] {
    const out: string[] = [];
    const key = (r: StoredResource) => `${r.type}::${r.name}`;
    for (const k of [...new Set([...recorded, ...stored].map(key))].sort()) {
        const rs = recorded.filter((r) => key(r) === k);
        const os = stored.filter((r) => key(r) === k);
        if (rs.length !== 1 || os.length !== 1) {
            out.push(`${k}: ${rs.length} recorded, ${os.length} here`);
            continue;
        }
        out.push(...differences(rs[0].inputs, os[0].inputs).map((d) => `${k} inputs.${d}`), ...differences(rs[0].outputs, os[0].outputs).map((d) => `${k} outputs.${d}`));
    }
    return out;
}

/** The program's objects left in the namespace: workloads, Services, Secrets, and pods not being deleted. */
function leftovers(): string[] {
    const items = JSON.parse(kubectlOn(k8s!, "get", "deployments,replicasets,services,secrets,pods", "-n", namespace, "-o", "json")).items as {
        kind: string; metadata: { name: string; deletionTimestamp?: string };
    }[];
    return items.filter((o) => o.metadata.name.startsWith(prefix) && !(o.kind === "Pod" && o.metadata.deletionTimestamp)).map((o) => `${o.kind} ${o.metadata.name}`);
}

const results: { step: number; name: string; compared: Record<string, number>; differences: string[] }[] = [];

function leaves(v: unknown): number {
    if (Array.isArray(v)) return v.length ? v.reduce((n: number, x) => n + leaves(x), 0) : 1;
    if (v && typeof v === "object") return Object.keys(v).length ? Object.values(v).reduce((n: number, x) => n + leaves(x), 0) : 1;
    return 1;
}

beforeAll(async () => {
    if (missing) return;
    k8s = acquireCluster();
    kubectlOn(k8s, "create", "namespace", namespace);
    const archive = execFileSync("git", ["-C", ROOT, "archive", RECORDED_PROGRAM], { maxBuffer: 256 * 1024 * 1024 });
    execFileSync("tar", ["-x", "-C", program], { input: archive });
    fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(program, "node_modules"));
    const ws = await workspaceOptions();
    // As the recordings ran: the cluster from KUBECONFIG, no kubeconfig in the stack's config.
    const base = pulumiEnv();
    env = { ...base, KUBECONFIG: k8s.kubeconfig, PATH: `${k8s.bin}:${base.PATH ?? process.env.PATH}` };
    stack = await LocalWorkspace.createStack({ stackName: id, workDir: program }, { ...ws, envVars: { ...ws.envVars, KUBECONFIG: k8s.kubeconfig, PATH: env.PATH } });
}, 900_000);

afterAll(async () => {
    if (missing) return;
    try {
        if (stack) {
            await stack.destroy({ onOutput: () => undefined }).catch(() => undefined);
            await stack.workspace.removeStack(id, { force: true }).catch(() => undefined);
        }
        if (k8s) kubectlOn(k8s, "delete", "namespace", namespace, "--wait=false", "--ignore-not-found");
    } finally {
        fs.rmSync(program, { recursive: true, force: true });
        releaseCluster(k8s);
        console.log(`kubernetes conformance (pods: ${k8s?.pods}):`, JSON.stringify(results, null, 2));
    }
});

describe.skipIf(missing)("the installed kubernetes plugin replays the real plugin's recorded steps (kubernetes-da3e7bc)", () => {
    const recs = readRecordings(DIR);
    const components = recordedComponents(recs, COMPONENTS);
    /** Deployments the program has scaled to 0 at this step (see the header), by normalised name. */
    const scaledToZero = (rec: Recording) => new Set(
        (rec.state ?? []).filter((r) => r.type === "kubernetes:apps/v1:Deployment" && (r.inputs.spec as { replicas?: number })?.replicas === 0).map((r) => r.name),
    );

    it("runs on the real kubernetes plugin: a Go binary in the Pulumi home, no stand-in's mark", () => {
        // The engine runs the plugin of the version @pulumi/kubernetes asks for, from the Pulumi home.
        const version = JSON.parse(fs.readFileSync(path.join(ROOT, "node_modules", "@pulumi", "kubernetes", "package.json"), "utf8")).version;
        const dir = path.join(env.PULUMI_HOME, "plugins", `resource-kubernetes-v${version}`);
        expect(fs.existsSync(path.join(dir, ".bluegreen-standin")), `${dir} holds a stand-in`).toBe(false);
        const head = Buffer.alloc(4);
        const fd = fs.openSync(path.join(dir, "pulumi-resource-kubernetes"), "r");
        fs.readSync(fd, head, 0, 4, 0);
        fs.closeSync(fd);
        expect(head.toString("latin1"), `${dir}/pulumi-resource-kubernetes is an executable (ELF), not a script`).toBe("\x7fELF");
    });

    it("has the 11 recorded steps, an up from nothing first and a destroy last", () => {
        expect(recs.map((r) => r.step)).toEqual(Array.from({ length: 11 }, (_, i) => i + 1));
        expect(recs[10].name).toBe("destroy");
        expect(components).toBe(3);
    });

    it.each(recs.map((r) => [r.step, r.name, r] as const))("step %i: %s", async (_n, _name, rec) => {
        const found: string[] = [];
        const compared: Record<string, number> = {};
        results.push({ step: rec.step, name: rec.name, compared, differences: found });

        if (rec.name === "destroy") {
            let ok = true;
            let error = "";
            try {
                await stack.destroy({ onOutput: () => undefined });
            } catch (e) {
                ok = false;
                error = String((e as Error).message).slice(-2000);
            }
            const left = leftovers();
            const ours = { ok, containersLeft: left.length };
            found.push(...differences({ ok: rec.ok, containersLeft: rec.containersLeft }, ours));
            expect(ours, `${error}\nleft: ${left.join(", ")}`).toEqual({ ok: rec.ok, containersLeft: rec.containersLeft });
            return;
        }

        const config: Record<string, string> = {};
        for (const [k, v] of Object.entries(rec.config ?? {})) config[k] = k === "namespace" ? namespace : String(v);
        if (Object.keys(config).length) {
            await stack.setAllConfig(Object.fromEntries(Object.entries(config).map(([k, value]) => [`bluegreen:${k}`, { value }])));
        }
        if (rec.handChange) {
            if (rec.handChange !== "blueEnv.API_TOKEN set as a secret") throw new Error(`the replay does not know the recorded hand change ${JSON.stringify(rec.handChange)}`);
            await stack.setConfig("bluegreen:blueEnv.API_TOKEN", { value: "conformance-token", secret: true }, true);
        }
        if (rec.refreshed) cli(["refresh", "--yes", "--skip-preview"]);

        const plan = JSON.parse(cli(["preview", "--json", "--show-sames"]));
        const all: PlanStep[] = (plan.steps ?? []).map((s: { op: string; urn: string; replaceReasons?: string[]; detailedDiff?: Record<string, PropertyDiff> }) =>
            ({ op: s.op, type: typeOf(s.urn), name: nameOf(s.urn), replaceReasons: s.replaceReasons ?? [], detailedDiff: s.detailedDiff ?? {} }));
        // The default provider is in neither the recordings nor the engine's summary.
        const counted = all.filter((s) => !(s.type.startsWith("pulumi:providers:") && s.name.startsWith("default")));
        expect(countOps(counted), "preview --json lists a step for every resource of its summary").toEqual(plan.changeSummary);
        const ours = counted.filter((s) => !COMPONENTS.has(s.type));
        const planDiffs = [
            ...differences(
                keyed(rec.plan!.steps.filter((s) => !COMPONENTS.has(s.type)), (n) => normaliseString(n, "recorded")),
                keyed(ours.filter((s) => s.op !== "same"), (n) => normaliseString(n, "ours")),
            ).map((d) => `plan: ${d}`),
            ...differences(recordedCustomSummary(rec, components, COMPONENTS), countOps(ours)).map((d) => `changeSummary.${d}`),
        ];
        found.push(...planDiffs);
        compared.planSteps = ours.length;
        expect.soft(planDiffs, `step ${rec.step}: the plan of custom resources and providers`).toEqual([]);

        if (rec.up) {
            let out = "";
            const ok = await stack.up({ onOutput: () => undefined }).then(() => true, (e: Error) => {
                out = String(e.message);
                return false;
            });
            if (ok !== rec.up.ok) found.push(`up: recorded ok ${rec.up.ok}, here ${ok}`);
            expect(ok, out.slice(-2000)).toBe(rec.up.ok);
        }

        if (rec.state) {
            const scaled = scaledToZero(rec);
            const recorded = rec.state.map((r) => withoutScaleDownStatus({ type: r.type, name: r.name, inputs: normalise(r.inputs, "recorded"), outputs: normalise(r.outputs, "recorded") } as StoredResource, scaled));
            const stored = storedResources().map((r) => withoutScaleDownStatus(r, scaled));
            const stateDiffs = stateDifferences(recorded, stored);
            compared.resources = stored.length;
            compared.values = stored.reduce((n, r) => n + leaves(r.inputs) + leaves(r.outputs), 0);
            found.push(...stateDiffs);
            expect.soft(stateDiffs, `step ${rec.step}: the stored kubernetes resources`).toEqual([]);
        }
    });
});
