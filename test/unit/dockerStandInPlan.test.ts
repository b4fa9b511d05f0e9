/**
 * The stand-in docker provider's planning rules (providers/docker/plan.ts), pure: `check` refuses
 * what it does not implement, and `diff` plans what the real provider planned in the conformance
 * recordings (../shared/conformance/docker), replayed from the recorded inputs and outputs.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { check, diff } from "../../providers/docker/plan";
import { CONTAINER, NETWORK, VOLUME } from "../../providers/docker/schema";
import { ROOT } from "../helpers/toolchain";

const DIR = path.join(ROOT, "..", "shared", "conformance", "docker");

interface Recorded {
    step: number;
    name: string;
    refreshed?: boolean;
    handChange?: string;
    plan?: { steps: { op: string; type: string; name: string; replaceReasons: string[]; detailedDiff: Record<string, unknown> }[] };
    state?: { type: string; name: string; inputs: Record<string, any>; outputs: Record<string, any> }[];
}

function recordings(): Recorded[] {
    if (!fs.existsSync(DIR)) throw new Error(`the conformance recordings are missing: ${DIR} (../shared beside the checkout)`);
    return fs.readdirSync(DIR).filter((f) => f.endsWith(".json")).sort().map((f) => JSON.parse(fs.readFileSync(path.join(DIR, f), "utf8")));
}

/** Inputs as the program sent them: without the bridge's bookkeeping and the secret-encrypted env. */
function programInputs(inputs: Record<string, any>): Record<string, any> {
    const strip = (v: any): any => Array.isArray(v) ? v.map(strip)
        : v && typeof v === "object" ? Object.fromEntries(Object.entries(v).filter(([k]) => k !== "__defaults").map(([k, x]) => [k, strip(x)])) : v;
    const { envs: _envs, ...rest } = strip(inputs);
    return rest;
}

const DOCKER_TYPES = new Set([CONTAINER, NETWORK, VOLUME]);

describe("the stand-in's diff against the real provider's plans", () => {
    const recs = recordings();
    // Steps planned from the previous step's stored outputs and this step's declared inputs:
    // no refresh, no hand change in between (those need the engine: test/e2e/docker-conformance).
    const pure = recs.filter((r, i) => i > 0 && r.plan && r.state && !r.refreshed && !r.handChange && recs[i - 1].state);

    it("has steps to replay", () => {
        expect(pure.map((r) => r.step)).toEqual(expect.arrayContaining([5, 6, 7, 9, 13, 14, 17]));
    });

    it.each(pure.map((r) => [r.step, r.name, r] as const))("step %i (%s): same op and replace reasons for every docker resource", (_n, _name, rec) => {
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
            const recordedReasons = (recorded?.replaceReasons ?? []).filter((r) => r !== "envs");
            expect({ resource: now.name, op: ours, replaces: d.replaces.sort() }).toEqual({ resource: now.name, op, replaces: recordedReasons.sort() });
            compared++;
        }
        expect(compared).toBeGreaterThan(0);
    });
});

describe("the stand-in's diff on what a refresh or a hand change leaves", () => {
    const step1 = recordings()[0].state!;
    const proxy = step1.find((s) => s.type === CONTAINER && s.name.endsWith("-proxy"))!;
    const declared = programInputs(proxy.inputs);

    it("capabilities declared as CHOWN... against Docker's CAP_CHOWN... replace the proxy (the recorded defect of step 03)", () => {
        const olds = { ...proxy.outputs, capabilities: { adds: ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_NET_BIND_SERVICE", "CAP_SETGID", "CAP_SETUID"], drops: ["ALL"] } };
        const d = diff(CONTAINER, olds, declared);
        expect(d.replaces).toEqual(["capabilities"]);
        expect(d.detailedDiff).toEqual({ capabilities: "update-replace" });
    });

    it("capabilities declared as Docker reports them plan nothing after a refresh", () => {
        const adds = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_NET_BIND_SERVICE", "CAP_SETGID", "CAP_SETUID"];
        const olds = { ...proxy.outputs, capabilities: { adds, drops: ["ALL"] } };
        expect(diff(CONTAINER, olds, { ...declared, capabilities: { adds, drops: ["ALL"] } }).changes).toBe(false);
    });

    it("a container read as not running plans an in-place update of mustRun (step 11)", () => {
        const d = diff(CONTAINER, { ...proxy.outputs, mustRun: false }, declared);
        expect(d).toMatchObject({ changes: true, replaces: [], detailedDiff: { mustRun: "update" } });
    });

    it("a half-created container (the create failed at start) plans entrypoints and ports anew (step 16)", () => {
        const partial = recordings().find((r) => r.step === 15)!.state!.filter((s) => s.name.endsWith("-proxy") && s.type === CONTAINER)
            .find((s) => s.outputs.entrypoints === null)!;
        const news = { ...programInputs(partial.inputs), ports: [{ internal: 80, external: 18100, ip: "0.0.0.0", protocol: "tcp" }, { internal: 81, external: 18101, ip: "0.0.0.0", protocol: "tcp" }] };
        const d = diff(CONTAINER, partial.outputs, news);
        expect(d.replaces.sort()).toEqual(["entrypoints", "ports"]);
        expect(d.detailedDiff.networkDatas).toBe("add");
    });

    it("a value not known until another resource exists counts as a change", () => {
        const d = diff(CONTAINER, proxy.outputs, { ...declared, networksAdvanced: [{ name: "04da6b54-80e4-46f7-96ec-b56ff0331ba9" }] });
        expect(d.replaces).toEqual(["networksAdvanced"]);
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
