/**
 * The stand-in docker provider's planning rules (providers/docker/plan.ts), pure: `check` refuses
 * what it does not implement, and `diff` plans what the real provider planned in the conformance
 * recordings, replayed from the recorded inputs and outputs: the op, the replace reasons and the
 * detailed diff, named down to the element as the real plugin names it (`ports[0].external`,
 * `labels[2]`, `envs[0]`, `capabilities.adds[0]`). Two recordings of the real plugin 5.2.0:
 * `../shared/conformance/docker-da3e7bc/` (today's program) and `../shared/conformance/docker/`
 * (the program at 2185984, whose refresh defect shows the diff of a set property's elements).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { check, diff } from "../../providers/docker/plan";
import { CONTAINER, NETWORK, VOLUME } from "../../providers/docker/schema";
import { UNKNOWN } from "../../providers/shared/grpcProvider";
import { ROOT } from "../helpers/toolchain";

const CONFORMANCE = path.join(ROOT, "..", "shared", "conformance");

interface PlanStep { op: string; type: string; name: string; replaceReasons: string[]; detailedDiff: Record<string, { kind: string; inputDiff: boolean }> }
interface Recorded {
    step: number;
    name: string;
    refreshed?: boolean;
    handChange?: string;
    plan?: { steps: PlanStep[] };
    state?: { type: string; name: string; inputs: Record<string, any>; outputs: Record<string, any> }[];
}

function recordings(dir: string): Recorded[] {
    const at = path.join(CONFORMANCE, dir);
    if (!fs.existsSync(at)) throw new Error(`the conformance recordings are missing: ${at} (../shared beside the checkout)`);
    return fs.readdirSync(at).filter((f) => f.endsWith(".json")).sort().map((f) => JSON.parse(fs.readFileSync(path.join(at, f), "utf8")));
}

/** Inputs as the program sent them: without the bridge's bookkeeping and the secret-encrypted env. */
function programInputs(inputs: Record<string, any>): Record<string, any> {
    const strip = (v: any): any => Array.isArray(v) ? v.map(strip)
        : v && typeof v === "object" ? Object.fromEntries(Object.entries(v).filter(([k]) => k !== "__defaults").map(([k, x]) => [k, strip(x)])) : v;
    const { envs: _envs, ...rest } = strip(inputs);
    return rest;
}

/** A recorded plan step's detailed diff as the stand-in's diff returns it: path → kind. */
const kinds = (s: PlanStep | undefined): Record<string, string> =>
    Object.fromEntries(Object.entries(s?.detailedDiff ?? {}).map(([k, v]) => [k, v.kind]));

const DOCKER_TYPES = new Set([CONTAINER, NETWORK, VOLUME]);

describe.each(["docker-da3e7bc", "docker"])("the stand-in's diff against the real provider's plans (%s)", (dir) => {
    const recs = recordings(dir);
    // Steps planned from the previous step's stored outputs and this step's declared inputs:
    // no refresh, no hand change in between (those need the engine: test/e2e/docker-conformance).
    const pure = recs.filter((r, i) => i > 0 && r.plan && r.state && !r.refreshed && !r.handChange && recs[i - 1].state);

    it("has steps to replay, among them element-level diffs (labels, ports)", () => {
        expect(pure.map((r) => r.step)).toEqual(expect.arrayContaining([5, 6, 7, 9, 13, 14, 17]));
        const paths = pure.flatMap((r) => r.plan!.steps.filter((s) => DOCKER_TYPES.has(s.type)).flatMap((s) => Object.keys(s.detailedDiff)));
        expect(paths).toEqual(expect.arrayContaining(["labels[2]", "labels[3]", "ports[0].external", "ports[1].ip"]));
    });

    it.each(pure.map((r) => [r.step, r.name, r] as const))("step %i (%s): same op, replace reasons and detailed diff for every docker resource", (_n, _name, rec) => {
        const prev = recs[recs.indexOf(rec) - 1].state!;
        const unique = (xs: NonNullable<Recorded["state"]>, t: string, n: string) => {
            const found = xs.filter((x) => x.type === t && x.name === n);
            return found.length === 1 ? found[0] : undefined;
        };
        let compared = 0;
        for (const now of rec.state!.filter((s) => DOCKER_TYPES.has(s.type))) {
            const before = unique(prev, now.type, now.name);
            const planned = rec.plan!.steps.filter((s) => s.type === now.type && s.name === now.name);
            if (!before || planned.length > 1 || !unique(rec.state!, now.type, now.name)) continue; // created, or two of one name (proxyKind change)
            const news = programInputs(now.inputs);
            // An auto-named object keeps its stored name (check's rule); a replacement's new name is not a diff.
            if (now.inputs.__defaults?.includes("name")) news.name = before.outputs.name;
            const { inputs, failures } = check(now.type, now.name, programInputs(before.inputs), news);
            expect(failures).toEqual([]);
            const { envs: _x, ...olds } = before.outputs;
            const d = diff(now.type, olds, inputs);
            const recorded = planned[0];
            const op = recorded?.op ?? "same";
            const ours = d.replaces.length ? "replace" : d.changes ? "update" : "same";
            expect({ resource: now.name, op: ours, replaces: [...d.replaces].sort(), detailedDiff: d.detailedDiff })
                .toEqual({ resource: now.name, op, replaces: [...(recorded?.replaceReasons ?? [])].sort(), detailedDiff: kinds(recorded) });
            compared++;
        }
        expect(compared).toBeGreaterThan(0);
    });
});

describe("the stand-in's diff on what a refresh or a hand change leaves", () => {
    const old = recordings("docker");
    const now = recordings("docker-da3e7bc");
    const stateOf = (recs: Recorded[], step: number, suffix: string, type = CONTAINER) => {
        const found = recs.find((r) => r.step === step)!.state!.filter((s) => s.type === type && s.name.endsWith(suffix));
        expect(found.length, `step ${step} ${suffix}`).toBe(1);
        return found[0];
    };
    const planOf = (recs: Recorded[], step: number, suffix: string, type = CONTAINER) =>
        recs.find((r) => r.step === step)!.plan!.steps.find((s) => s.type === type && s.name.endsWith(suffix));

    it("capabilities declared as CHOWN... against Docker's CAP_CHOWN... replace the proxy, element by element (the recorded defect of docker/ step 03)", () => {
        const proxy = stateOf(old, 1, "-proxy");
        const olds = { ...proxy.outputs, capabilities: { adds: ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_NET_BIND_SERVICE", "CAP_SETGID", "CAP_SETUID"], drops: ["ALL"] } };
        const d = diff(CONTAINER, olds, programInputs(proxy.inputs));
        expect(d.replaces).toEqual(["capabilities"]);
        expect(d.detailedDiff).toEqual(kinds(planOf(old, 3, "-proxy")));
        expect(Object.keys(d.detailedDiff)).toEqual(["capabilities.adds[0]", "capabilities.adds[1]", "capabilities.adds[2]", "capabilities.adds[3]", "capabilities.adds[4]"]);
    });

    it("Traefik's NET_BIND_SERVICE against Docker's CAP_NET_BIND_SERVICE: capabilities.adds[0] (docker/ step 18)", () => {
        const proxy = stateOf(old, 17, "-proxy");
        const olds = { ...proxy.outputs, capabilities: { adds: ["CAP_NET_BIND_SERVICE"], drops: ["ALL"] } };
        const d = diff(CONTAINER, olds, programInputs(proxy.inputs));
        expect(d.detailedDiff).toEqual(kinds(planOf(old, 18, "-proxy")));
    });

    it("capabilities declared as Docker reports them plan nothing after a refresh (today's program)", () => {
        const proxy = stateOf(now, 4, "-proxy"); // after step 03's refresh
        const declared = programInputs(proxy.inputs);
        expect(declared.capabilities.adds[0]).toBe("CAP_CHOWN");
        expect(diff(CONTAINER, proxy.outputs, declared)).toEqual({ changes: false, replaces: [], detailedDiff: {} });
    });

    it("a container read as not running plans an in-place update of mustRun (docker-da3e7bc step 11)", () => {
        const blue = stateOf(now, 10, "-blue-0");
        const d = diff(CONTAINER, { ...blue.outputs, mustRun: false }, programInputs(blue.inputs));
        expect(d).toEqual({ changes: true, replaces: [], detailedDiff: kinds(planOf(now, 11, "-blue-0")) });
    });

    it("a secret env added to an empty one: envs[0], add-replace (docker-da3e7bc step 08)", () => {
        const blue = stateOf(now, 7, "-blue-0");
        const d = diff(CONTAINER, { ...blue.outputs, envs: [] }, { ...programInputs(blue.inputs), envs: ["API_TOKEN=conformance-token"] });
        expect(d.replaces).toEqual(["envs"]);
        expect(d.detailedDiff).toEqual(kinds(planOf(now, 8, "-blue-0")));
    });

    it("a half-created container (the create failed at start) plans entrypoints, networkDatas and ports anew (docker-da3e7bc step 16)", () => {
        const partial = now.find((r) => r.step === 15)!.state!.filter((s) => s.name.endsWith("-proxy") && s.type === CONTAINER)
            .find((s) => s.outputs.entrypoints === null)!;
        const declared = { ...programInputs(stateOf(now, 16, "-proxy").inputs), name: partial.outputs.name };
        const d = diff(CONTAINER, partial.outputs, declared);
        expect(d.replaces.sort()).toEqual(["entrypoints", "ports"]);
        expect(d.detailedDiff).toEqual(kinds(planOf(now, 16, "-proxy")));
    });

    it("a value not known until another resource exists counts as a change of the whole set", () => {
        const proxy = stateOf(now, 4, "-proxy");
        const d = diff(CONTAINER, proxy.outputs, { ...programInputs(proxy.inputs), networksAdvanced: [{ name: UNKNOWN }] });
        expect(d).toEqual({ changes: true, replaces: ["networksAdvanced"], detailedDiff: { networksAdvanced: "update-replace" } });
    });
});

describe("the stand-in's detailed diff: the bridge's rules for lists, sets and objects", () => {
    const base = { image: "x", name: "app-1a2b3c4", restart: "no", mustRun: true, start: true, networkMode: "bridge", removeVolumes: true, waitTimeout: 60, containerReadRefreshTimeoutMilliseconds: 15000 };
    const labels = [{ label: "a", value: "1" }, { label: "b", value: "2" }];

    it("a set element whose identity changed at the same index on both sides is an update of its changed field", () => {
        // Old (stored, sorted) [a=1, b=2]; new (inputs) [a=1, b=3]: b=2 removed at 1, b=3 added at 1.
        const d = diff(CONTAINER, { ...base, labels }, { ...base, labels: [labels[0], { label: "b", value: "3" }] });
        expect(d.detailedDiff).toEqual({ "labels[1].value": "update-replace" });
    });

    it("a set element removed is a delete at its old index; one added an add at its index in the inputs", () => {
        expect(diff(CONTAINER, { ...base, labels }, { ...base, labels: [labels[1]] }).detailedDiff).toEqual({ "labels[0]": "delete-replace" });
        expect(diff(CONTAINER, { ...base, labels }, { ...base, labels: [{ label: "c", value: "3" }, ...labels] }).detailedDiff).toEqual({ "labels[0]": "add-replace" });
    });

    it("the order of a set's elements is no change", () => {
        expect(diff(CONTAINER, { ...base, labels }, { ...base, labels: [labels[1], labels[0]] }).changes).toBe(false);
    });

    it("a list of objects is compared index by index: a field, an element added, an element removed", () => {
        const ports = [{ internal: 80, external: 8080, ip: "0.0.0.0", protocol: "tcp" }, { internal: 81, external: 8081, ip: "0.0.0.0", protocol: "tcp" }];
        expect(diff(CONTAINER, { ...base, ports }, { ...base, ports: [ports[0], { ...ports[1], protocol: "udp" }] }).detailedDiff).toEqual({ "ports[1].protocol": "update-replace" });
        expect(diff(CONTAINER, { ...base, ports: [ports[0]] }, { ...base, ports }).detailedDiff).toEqual({ "ports[1]": "add-replace" });
        expect(diff(CONTAINER, { ...base, ports }, { ...base, ports: [ports[0]] }).detailedDiff).toEqual({ "ports[1]": "delete-replace" });
    });

    it("a list of scalars by an edit script: an insertion at its new index, a removal at its old index, both at one index an update", () => {
        const command = ["nginx", "-g", "daemon off;"];
        expect(diff(CONTAINER, { ...base, command }, { ...base, command: ["nginx", "-c", "/x", "-g", "daemon off;"] }).detailedDiff)
            .toEqual({ "command[1]": "add-replace", "command[2]": "add-replace" });
        expect(diff(CONTAINER, { ...base, command }, { ...base, command: ["nginx", "daemon off;"] }).detailedDiff).toEqual({ "command[1]": "delete-replace" });
        expect(diff(CONTAINER, { ...base, command }, { ...base, command: ["nginx", "-G", "daemon off;"] }).detailedDiff).toEqual({ "command[1]": "update-replace" });
    });

    it("a property missing on one side is an add or a delete of the whole property; a scalar an update of itself", () => {
        expect(diff(CONTAINER, { ...base, stopSignal: "" }, { ...base, stopSignal: "SIGQUIT" }).detailedDiff).toEqual({ stopSignal: "update-replace" });
        expect(diff(CONTAINER, { ...base, capabilities: null }, { ...base, capabilities: { drops: ["ALL"] } }).detailedDiff).toEqual({ capabilities: "add-replace" });
        expect(diff(CONTAINER, { ...base, restart: "no" }, { ...base, restart: "always" })).toEqual({ changes: true, replaces: [], detailedDiff: { restart: "update" } });
    });
});

describe("the stand-in's check", () => {
    it("fills in the provider's defaults and keeps a stored auto-name", () => {
        const { inputs, failures } = check(CONTAINER, "app", { name: "app-1a2b3c4" }, { image: "x", ports: [{ internal: 80 }] });
        expect(failures).toEqual([]);
        expect(inputs).toMatchObject({ name: "app-1a2b3c4", restart: "no", mustRun: true, start: true, networkMode: "bridge", removeVolumes: true, waitTimeout: 60 });
        expect(inputs.ports).toEqual([{ internal: 80, ip: "0.0.0.0", protocol: "tcp" }]);
    });

    it("auto-names a new object as Pulumi does: the logical name, a dash, 7 hex characters", () => {
        expect(check(VOLUME, "cfg", {}, {}).inputs.name).toMatch(/^cfg-[0-9a-f]{7}$/);
    });

    it("refuses a property it does not implement, naming it and what it implements", () => {
        const { failures } = check(CONTAINER, "app", {}, { image: "x", privileged: true, ports: [{ internal: 80, hostIp: "1" }] });
        expect(failures.map((f) => f.property)).toEqual(["privileged", "ports[0].hostIp"]);
        expect(failures[0].reason).toContain("does not implement `privileged` of docker:index/container:Container");
    });

    it("refuses a mistyped value, naming the property", () => {
        const { failures } = check(CONTAINER, "app", {}, { image: "x", mustRun: "yes" });
        expect(failures).toEqual([{ property: "mustRun", reason: expect.stringContaining("`mustRun` of docker:index/container:Container must be a bool") }]);
    });

    it("refuses a resource type it does not implement", () => {
        const { failures } = check("docker:index/image:Image", "img", {}, {});
        expect(failures[0].reason).toContain("does not implement resource type docker:index/image:Image");
    });
});
