/**
 * The stand-in kubernetes provider's pure rules (providers/kubernetes/plan.ts, naming.ts,
 * normalize.ts): `check` and `diff` replay what the real plugin planned in the conformance
 * recordings (../shared/conformance/kubernetes), from the recorded inputs and stored outputs.
 *
 * The recordings were made with the program before a fix: a color whose env was empty declared
 * `stringData: {}`, which the real provider plans as an "add-replace" of the Secret on every
 * update, and the Secret's new name then updates the Deployment's `envFrom`. The program now
 * leaves `stringData` out, so exactly those plan entries disappear; the test lists them (step,
 * resource, property, reason) and fails on any other difference.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { deploymentPending, endpointsState } from "../../providers/kubernetes/await";
import { canonicalQuantity, normalizeInputs } from "../../providers/kubernetes/normalize";
import { check, checkConfig, checkpointObject, diff, readResult } from "../../providers/kubernetes/plan";
import { DEPLOYMENT, SECRET, SERVICE } from "../../providers/kubernetes/schema";
import { isSecret, makeSecret, SECRET_SIG_KEY, SECRET_SIG_VALUE, stripSecrets, UNKNOWN } from "../../providers/kubernetes/values";
import { ROOT } from "../helpers/toolchain";

const DIR = path.join(ROOT, "..", "shared", "conformance", "kubernetes");
type Props = Record<string, any>;

interface PlanStep { op: string; type: string; name: string; replaceReasons: string[]; detailedDiff: Record<string, { kind: string; inputDiff: boolean }> }
interface StateEntry { type: string; name: string; inputs: Props; outputs: Props }
interface Recorded { step: number; name: string; refreshed?: boolean; plan?: { steps: PlanStep[] }; up?: { ok: boolean }; state?: StateEntry[] }

function recordings(): Recorded[] {
    if (!fs.existsSync(DIR)) throw new Error(`the conformance recordings are missing: ${DIR} (../shared beside the checkout)`);
    return fs.readdirSync(DIR).filter((f) => f.endsWith(".json")).sort().map((f) => JSON.parse(fs.readFileSync(path.join(DIR, f), "utf8")));
}

const K8S = new Set([SECRET, DEPLOYMENT, SERVICE]);
const TOKEN = "s3cr3t-token-value";
const ENV_FROM = "spec.template.spec.containers[0].envFrom[0].secretRef.name";
const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");

/**
 * The state export holds secrets encrypted (`ciphertext`). They are put back as the values the
 * program sent: the old program's empty env (`{}`: 2 bytes of plaintext), or the env Secret's one
 * key (`blueEnv.API_TOKEN`), as `stringData` or, once the provider normalized it, base64 `data`.
 */
function decode(v: any, key = ""): any {
    if (v && typeof v === "object" && v[SECRET_SIG_KEY] === SECRET_SIG_VALUE && "ciphertext" in v) {
        const plaintextBytes = Buffer.from(String(v.ciphertext).split(":")[2], "base64").length - 16;
        if (plaintextBytes === 2) return makeSecret({});
        return makeSecret(key === "data" ? { API_TOKEN: b64(TOKEN) } : { API_TOKEN: TOKEN });
    }
    if (Array.isArray(v)) return v.map((x) => decode(x));
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, decode(x, k)]));
    return v;
}

const emptySecret = (v: unknown) => isSecret(v) && Object.keys(v.value as object).length === 0;

/** What the fixed program would have stored: no `stringData: {}` in the inputs. */
function fixedState(e: StateEntry): StateEntry {
    const out = decode(structuredClone(e)) as StateEntry;
    if (emptySecret(out.inputs.stringData)) delete out.inputs.stringData;
    if (emptySecret(out.outputs.__inputs?.stringData)) delete out.outputs.__inputs.stringData;
    return out;
}

/** What the (fixed) program declares for a recorded resource: no name (auto-named), env as `stringData`. */
function declared(e: StateEntry): Props {
    const v = decode(structuredClone(e.inputs));
    delete v.metadata.name;
    delete v.metadata.annotations;
    if (e.type === SECRET) {
        if (emptySecret(v.stringData)) delete v.stringData;
        if (v.data) {
            v.stringData = makeSecret({ API_TOKEN: TOKEN });
            delete v.data;
        }
    }
    return v;
}

const colorOf = (name: string) => (/-(blue|green)(-env)?$/.exec(name) ?? [])[1] ?? "";
const liveOf = (outputs: Props) => {
    const { __inputs: _i, __fieldManager: _f, __initialApiVersion: _a, ...live } = stripSecrets(outputs);
    return live;
};

interface Outcome { op: string; replaces: string[]; detailedDiff: Record<string, string> }
interface Adjustment { step: number; resource: string; property: string; reason: string }

const REASON_STRINGDATA = "the program no longer declares an empty `stringData` (the real provider plans it as add-replace on every update)";
const REASON_RENAME = "the env Secret is not replaced any more, so the Deployment's envFrom keeps its name";

function recordedOutcome(step: Recorded, type: string, name: string): Outcome {
    const s = step.plan!.steps.find((p) => p.type === type && p.name === name);
    const detailedDiff = Object.fromEntries(Object.entries(s?.detailedDiff ?? {}).map(([k, v]) => [k, v.kind]));
    return { op: s && s.op !== "same" ? s.op : "same", replaces: [...(s?.replaceReasons ?? [])].sort(), detailedDiff };
}

/** The recorded plan entry as the fixed program gets it, and the adjustments made to get there. */
function expectedOutcome(step: Recorded, type: string, name: string, adjustments: Adjustment[]): Outcome {
    const rec = recordedOutcome(step, type, name);
    const dd = { ...rec.detailedDiff };
    let replaces = rec.replaces;
    if (type === SECRET && dd.stringData === "add-replace") {
        delete dd.stringData;
        replaces = replaces.filter((r) => r !== "stringData");
        adjustments.push({ step: step.step, resource: name, property: "stringData", reason: REASON_STRINGDATA });
    }
    if (type === DEPLOYMENT && dd[ENV_FROM]) {
        const secret = recordedOutcome(step, SECRET, `${name}-env`);
        if (secret.op === "replace" && secret.replaces.every((r) => r === "stringData")) {
            delete dd[ENV_FROM];
            adjustments.push({ step: step.step, resource: name, property: ENV_FROM, reason: REASON_RENAME });
        }
    }
    return { op: replaces.length ? "replace" : Object.keys(dd).length ? "update" : "same", replaces, detailedDiff: dd };
}

describe("the stand-in's check and diff against the real provider's plans", () => {
    const recs = recordings();
    const planned = recs.filter((r, i) => i > 0 && r.plan);
    const adjustments: Adjustment[] = [];

    it("has the steps to replay", () => {
        expect(planned.map((r) => r.step)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10]);
    });

    it.each(planned.map((r) => [r.step, r.name, r] as const))("step %i (%s): same plan for every kubernetes resource, but for the program fix", (_n, _name, rec) => {
        const i = recs.indexOf(rec);
        const prevStep = [...recs.slice(0, i)].reverse().find((r) => r.state)!;
        let prev = prevStep.state!.filter((e) => K8S.has(e.type)).map(fixedState);
        if (rec.refreshed) {
            // `pulumi refresh` with nothing changed on the cluster: the live objects as stored.
            prev = prev.map((e) => {
                const r = readResult(liveOf(e.outputs), e.inputs, e.outputs);
                return { ...e, inputs: r.inputs, outputs: r.outs };
            });
        }
        const source = (rec.state ?? prevStep.state!).filter((e) => K8S.has(e.type));
        const order = [SECRET, SERVICE, DEPLOYMENT];
        const secretPlans: Record<string, { replaced: boolean; name: string }> = {};
        let compared = 0;
        for (const type of order) {
            for (const now of source.filter((e) => e.type === type)) {
                const before = prev.find((e) => e.type === type && e.name === now.name)!;
                expect(before, `${now.name} in the previous state`).toBeDefined();
                const news = declared(now);
                if (type === DEPLOYMENT) {
                    // The program passes the Secret's name; a Secret being replaced has no name yet in a preview.
                    const s = secretPlans[colorOf(now.name)];
                    news.spec.template.spec.containers[0].envFrom[0].secretRef.name = s.replaced ? UNKNOWN : s.name;
                }
                const { inputs, failures } = check(type, now.name, before.inputs, news);
                expect(failures).toEqual([]);
                expect(inputs.metadata.name).toBe(before.outputs.metadata.name);
                expect(inputs.metadata.annotations).toEqual({ "pulumi.com/autonamed": "true" });
                const d = diff(type, before.outputs, inputs);
                expect(d.deleteBeforeReplace).toBe(false); // auto-named: the replacement gets a new name
                if (type === SECRET) secretPlans[colorOf(now.name)] = { replaced: d.replaces.length > 0, name: before.outputs.metadata.name };
                const ours: Outcome = { op: d.replaces.length ? "replace" : d.changes ? "update" : "same", replaces: [...d.replaces].sort(), detailedDiff: d.detailedDiff };
                expect({ resource: now.name, ...ours }).toEqual({ resource: now.name, ...expectedOutcome(rec, type, now.name, adjustments) });
                compared++;
            }
        }
        expect(compared).toBe(6);
    });

    it("differs from the recordings only where the program was fixed", () => {
        const byStep = (s: number) => adjustments.filter((a) => a.step === s).map((a) => `${a.resource} ${a.property}`).sort();
        // Every recorded plan but the ones after a non-empty env (blue from step 06 on) had both colors' stringData defect.
        const both = ["bluegreen-confk-blue ".concat(ENV_FROM), "bluegreen-confk-blue-env stringData", "bluegreen-confk-green ".concat(ENV_FROM), "bluegreen-confk-green-env stringData"].sort();
        const greenOnly = [`bluegreen-confk-green ${ENV_FROM}`, "bluegreen-confk-green-env stringData"].sort();
        expect(byStep(2)).toEqual(both);
        expect(byStep(3)).toEqual(both);
        expect(byStep(4)).toEqual(both);
        expect(byStep(5)).toEqual(both);
        // From step 06 on blue has an env: its Secret is replaced for a real reason (new `data`), and
        // its Deployment's envFrom follows, in the recordings and with the fixed program alike.
        for (const s of [6, 7, 8, 9, 10]) expect(byStep(s)).toEqual(greenOnly);
        expect(new Set(adjustments.map((a) => a.reason))).toEqual(new Set([REASON_STRINGDATA, REASON_RENAME]));
    });
});

describe("the stand-in's outputs have the real provider's shape", () => {
    const step1 = recordings()[0].state!.filter((e) => K8S.has(e.type)).map(fixedState);

    it.each(step1.map((e) => [e.name, e] as const))("%s: the live object plus __inputs, __initialApiVersion, __fieldManager", (_n, e) => {
        const out = checkpointObject(normalizeInputs(stripSecrets(e.inputs)), liveOf(e.outputs), e.inputs, e.outputs.__initialApiVersion, e.outputs.__fieldManager);
        expect(Object.keys(out).sort()).toEqual(Object.keys(stripSecrets(e.outputs)).sort());
        expect(Object.keys(out.__inputs).sort()).toEqual(Object.keys(e.outputs.__inputs).sort());
        expect(out.__fieldManager).toMatch(/^pulumi-kubernetes-[0-9a-f]{8}$/);
        expect(out.__initialApiVersion).toBe(e.type === DEPLOYMENT ? "apps/v1" : "v1");
    });

    it("a Secret's data is secret in the outputs and in __inputs, as recorded (step 06)", () => {
        const blue = recordings().find((r) => r.step === 6)!.state!.find((e) => e.name === "bluegreen-confk-blue-env")!;
        const e = decode(blue) as StateEntry;
        const out = checkpointObject(stripSecrets(e.inputs), liveOf(e.outputs), e.inputs, "v1", "pulumi-kubernetes-0123abcd");
        expect(isSecret(out.data)).toBe(true);
        expect(isSecret(out.__inputs.data)).toBe(true);
        expect(isSecret(blue.outputs.data) && isSecret(blue.outputs.__inputs.data) && isSecret(blue.inputs.data)).toBe(true);
    });
});

describe("the stand-in's check", () => {
    const secretNews = { apiVersion: "v1", kind: "Secret", metadata: { namespace: "default", labels: { app: "a" } }, stringData: makeSecret({ API_TOKEN: TOKEN }) };

    it("auto-names as the real provider: the logical name, a dash, 8 lowercase alphanumerics, and the autonamed annotation", () => {
        const { inputs, failures } = check(SECRET, "app-blue-env", {}, secretNews);
        expect(failures).toEqual([]);
        expect(inputs.metadata.name).toMatch(/^app-blue-env-[a-z0-9]{8}$/);
        expect(inputs.metadata.annotations).toEqual({ "pulumi.com/autonamed": "true" });
    });

    it("keeps the stored auto-name on later checks, and makes a new one when the engine checks a replacement (no olds)", () => {
        const first = check(SECRET, "app-blue-env", {}, secretNews).inputs;
        expect(check(SECRET, "app-blue-env", first, secretNews).inputs.metadata.name).toBe(first.metadata.name);
        expect(check(SECRET, "app-blue-env", {}, secretNews).inputs.metadata.name).not.toBe(first.metadata.name);
    });

    it("uses a name the program sets, without the annotation", () => {
        const svc = { apiVersion: "v1", kind: "Service", metadata: { name: "web" }, spec: { selector: { app: "a" } } };
        // No namespace: the kubeconfig context's (here "team-a"), as the real provider fills it in.
        expect(check(SERVICE, "svc", {}, svc, { defaultNamespace: "team-a" }).inputs.metadata).toEqual({ name: "web", namespace: "team-a" });
    });

    it("stores a secret stringData as secret base64 data: no plain value of it in the checked inputs", () => {
        const { inputs } = check(SECRET, "env", {}, secretNews);
        expect(inputs.stringData).toBeUndefined();
        expect(isSecret(inputs.data)).toBe(true);
        expect(stripSecrets(inputs.data)).toEqual({ API_TOKEN: b64(TOKEN) });
        const outsideSecrets = JSON.stringify({ ...inputs, data: undefined });
        expect(outsideSecrets).not.toContain(TOKEN);
        expect(outsideSecrets).not.toContain(b64(TOKEN));
    });

    it("refuses a field the program does not use, naming it and what is implemented", () => {
        const { failures } = check(DEPLOYMENT, "d", {}, {
            apiVersion: "apps/v1", kind: "Deployment", metadata: { annotations: { a: "b" } },
            spec: { replicas: 1, paused: true, template: { spec: { containers: [{ name: "c", image: "i", command: ["x"] }] } } },
        });
        expect(failures.map((f) => f.property)).toEqual(["metadata.annotations", "spec.paused", "spec.template.spec.containers[0].command"]);
        expect(failures[1].reason).toContain("does not implement `spec.paused` of kubernetes:apps/v1:Deployment; it implements spec.replicas, spec.selector, spec.template");
    });

    it("refuses a mistyped value and a wrong apiVersion", () => {
        const { failures } = check(SERVICE, "s", {}, { apiVersion: "v2", kind: "Service", spec: { ports: [{ port: "80" }] } });
        expect(failures.map((f) => f.property)).toEqual(["apiVersion", "spec.ports[0].port"]);
    });

    it("refuses a resource type it does not implement", () => {
        const { failures } = check("kubernetes:core/v1:ConfigMap", "cm", {}, {});
        expect(failures[0].reason).toContain("does not implement resource type kubernetes:core/v1:ConfigMap; it implements kubernetes:core/v1:Secret, kubernetes:apps/v1:Deployment, kubernetes:core/v1:Service");
    });

    it("accepts values not known yet", () => {
        expect(check(DEPLOYMENT, "d", {}, { apiVersion: "apps/v1", kind: "Deployment", spec: { replicas: UNKNOWN, template: UNKNOWN } }).failures).toEqual([]);
    });

    it("provider config: kubeconfig and context (and the engine's version), nothing else", () => {
        expect(checkConfig({ kubeconfig: "/x", context: "c", version: "4.34.2" })).toEqual([]);
        const failures = checkConfig({ kubeconfig: "/x", enableServerSideApply: "false", namespace: "ns" });
        expect(failures.map((f) => f.property)).toEqual(["enableServerSideApply", "namespace"]);
        expect(failures[0].reason).toContain("does not implement provider config `kubernetes:enableServerSideApply`; it implements kubernetes:kubeconfig, kubernetes:context");
    });
});

describe("the stand-in's diff", () => {
    const step1 = recordings()[0].state!.filter((e) => K8S.has(e.type)).map(fixedState);
    const blue = step1.find((e) => e.name === "bluegreen-confk-blue")!;
    const production = step1.find((e) => e.name === "bluegreen-confk-production")!;
    const news = (e: StateEntry, edit: (v: Props) => void = () => {}) => {
        const v = structuredClone(stripSecrets(e.inputs));
        edit(v);
        return check(e.type, e.name, e.inputs, v).inputs;
    };

    it("nothing changed: no diff", () => {
        for (const e of step1) expect(diff(e.type, e.outputs, news(e)).changes).toBe(false);
    });

    it("a changed selector replaces a Deployment; auto-named, its replacement is created before the old one goes", () => {
        const d = diff(DEPLOYMENT, blue.outputs, news(blue, (v) => { v.spec.selector.matchLabels.color = "teal"; }));
        expect(d.detailedDiff).toEqual({ "spec.selector.matchLabels.color": "update-replace" });
        expect(d.replaces).toEqual(["spec.selector.matchLabels.color"]);
        expect(d.deleteBeforeReplace).toBe(false);
    });

    it("a name set by the program: a replacement deletes the old object first", () => {
        const named = structuredClone(blue);
        delete named.inputs.metadata.annotations;
        delete named.outputs.__inputs.metadata.annotations;
        delete named.outputs.metadata.annotations["pulumi.com/autonamed"];
        const d = diff(DEPLOYMENT, named.outputs, news(named, (v) => { v.spec.selector.matchLabels.color = "teal"; }));
        expect(d.replaces.length).toBe(1);
        expect(d.deleteBeforeReplace).toBe(true);
    });

    it("a changed name or namespace replaces", () => {
        const d = diff(SERVICE, production.outputs, news(production, (v) => { v.metadata.namespace = "other"; }));
        expect(d.detailedDiff).toEqual({ "metadata.namespace": "update-replace" });
    });

    it("replicas and the image update in place, with the real provider's paths", () => {
        const d = diff(DEPLOYMENT, blue.outputs, news(blue, (v) => {
            v.spec.replicas = 0;
            v.spec.template.spec.containers[0].image = "bluegreen/demo:2.0.0";
        }));
        expect(d).toMatchObject({ replaces: [], detailedDiff: { "spec.replicas": "update", "spec.template.spec.containers[0].image": "update" } });
    });

    it("a Service's clusterIP, a Secret's type or content replace; a selector updates in place", () => {
        expect(diff(SERVICE, production.outputs, news(production, (v) => { v.spec.clusterIP = "10.96.0.99"; })).replaces).toEqual(["spec.clusterIP"]);
        expect(diff(SERVICE, production.outputs, news(production, (v) => { v.spec.selector.color = "green"; })).detailedDiff).toEqual({ "spec.selector.color": "update" });
        const secret = step1.find((e) => e.name === "bluegreen-confk-blue-env")!;
        expect(diff(SECRET, secret.outputs, { ...news(secret), type: "kubernetes.io/tls" }).replaces).toEqual(["type"]);
    });

    it("a field removed from the program is a delete, marked as an input diff", () => {
        const d = diff(DEPLOYMENT, blue.outputs, news(blue, (v) => { delete v.metadata.labels.version; }));
        expect(d.detailedDiff).toEqual({ "metadata.labels.version": "delete" });
        expect(d.inputDiffs).toEqual(["metadata.labels.version"]);
    });

    it("refresh: drift on the cluster shows against the program; an unchanged cluster plans nothing", () => {
        const drifted = liveOf(blue.outputs);
        drifted.spec.replicas = 5;
        const r = readResult(drifted, blue.inputs, blue.outputs);
        expect(r.inputs.spec.replicas).toBe(5);
        expect(diff(DEPLOYMENT, r.outs, news(blue)).detailedDiff).toEqual({ "spec.replicas": "update" });
        const same = readResult(liveOf(blue.outputs), blue.inputs, blue.outputs);
        expect(diff(DEPLOYMENT, same.outs, news(blue)).changes).toBe(false);
    });
});

describe("normalization and await rules", () => {
    it("quantities in Kubernetes' canonical form", () => {
        const cases: Record<string, string> = {
            "0.5": "500m", "0.25": "250m", "250m": "250m", "2000m": "2", "1": "1", "1000k": "1M", "1.5": "1500m",
            "128974848": "128974848", "1024Mi": "1Gi", "1.5Gi": "1536Mi", "1000Mi": "1000Mi", "512Ki": "512Ki", "0.5Ki": "512", "1e3": "1e3", "0": "0",
        };
        for (const [q, want] of Object.entries(cases)) expect([q, canonicalQuantity(q)]).toEqual([q, want]);
        const d = normalizeInputs({ apiVersion: "apps/v1", kind: "Deployment", spec: { template: { spec: { containers: [{ resources: { requests: { cpu: "0.5", memory: "1024Mi" } } }] } } } });
        expect(d.spec.template.spec.containers[0].resources).toEqual({ requests: { cpu: "500m", memory: "1Gi" } });
    });

    const rsOf = (d: Props, spec: number, ready?: number, revision = d.metadata.annotations["deployment.kubernetes.io/revision"]) => ({
        metadata: { annotations: { "deployment.kubernetes.io/revision": revision }, ownerReferences: [{ uid: d.metadata.uid }] },
        spec: { replicas: spec }, status: ready === undefined ? {} : { readyReplicas: ready },
    });

    it("a Deployment is ready by the real provider's rule: observed, Available, rolled out, its ReplicaSet's replicas ready", () => {
        const dep = recordings()[0].state!.find((e) => e.type === DEPLOYMENT)!.outputs;
        expect(deploymentPending(dep, [rsOf(dep, 2, 2)])).toEqual([]);
        expect(deploymentPending(dep, [rsOf(dep, 2, 1)])).toEqual(["Waiting for app ReplicaSet to be available (1/2 Pods available)"]);
        expect(deploymentPending(dep, [rsOf(dep, 2, 2, "7")])).toHaveLength(1); // not the current revision's
        expect(deploymentPending({ ...dep, metadata: { ...dep.metadata, generation: 2 } }, [rsOf(dep, 2, 2)])).toEqual(["the Deployment controller has not yet observed the latest generation"]);
        const rolling = structuredClone(dep);
        rolling.metadata.annotations["deployment.kubernetes.io/revision"] = "2";
        rolling.status.conditions[1].reason = "ReplicaSetUpdated";
        expect(deploymentPending(rolling, [rsOf(rolling, 2, 2)])).toEqual(["Attempted to roll forward to new ReplicaSet, but minimum number of Pods did not become live"]);
    });

    it("a scale-down is done once observed, with the old pods still counted (as in the recorded step 07)", () => {
        // The recorded object was returned before the controller observed generation 5 (the real
        // plugin's await read a stale informer cache); the stand-in waits for that observation.
        const rec = recordings().find((r) => r.step === 7)!.state!.find((e) => e.name === "bluegreen-confk-blue")!.outputs;
        expect([rec.spec.replicas, rec.status.readyReplicas, rec.metadata.generation, rec.status.observedGeneration]).toEqual([0, 2, 5, 4]);
        expect(deploymentPending(rec, [rsOf(rec, 0, 2)])).toEqual(["the Deployment controller has not yet observed the latest generation"]);
        const observed = { ...rec, status: { ...rec.status, observedGeneration: 5 } };
        expect(deploymentPending(observed, [rsOf(rec, 0, 2)])).toEqual([]);
        expect(deploymentPending(observed, [rsOf(rec, 0)])).toEqual([]);
    });

    it("a Service's endpoints are ready when its EndpointSlices exist and list no endpoint that is not ready", () => {
        expect(endpointsState([]).ready).toBe(false);
        expect(endpointsState([{ metadata: { name: "s" } }]).ready).toBe(true);
        expect(endpointsState([{ endpoints: [{ conditions: { ready: true } }, { conditions: {} }] }]).ready).toBe(true);
        expect(endpointsState([{ endpoints: [{ conditions: { ready: false } }] }]).ready).toBe(false);
    });
});
