/**
 * Conformance: what the real docker plugin (5.2.0) did with this program, recorded step by step in
 * ../shared/conformance/docker-da3e7bc (the program at main da3e7bc, on a real engine), replayed
 * against the plugin installed here (the project's stand-in where the real one cannot be installed)
 * on the real engine, with the same config changes, hand changes and refreshes. At every step:
 *
 * - the plan (`pulumi preview --json`): every step of a custom resource or a provider, with its op,
 *   type, name, replace reasons and detailed diff (each path as the plugin names it, e.g.
 *   `ports[0].external`, with its kind and `inputDiff`); and the change summary counted over custom
 *   resources and providers, `same` included, so a resource that should stay is checked too;
 * - the `up`: whether it succeeds, and for the recorded failure the plugin's error;
 * - the state: every docker resource's stored inputs and outputs, value by value, every element of
 *   every list, `null` and `[]` and `{}` told apart, after the normalising below;
 * - the destroy: whether it succeeds, and the containers, networks and volumes it leaves.
 *
 * Left out, and why:
 * - Component resources (`pulumi:pulumi:Stack`, `bluegreen:docker:BlueGreenService`,
 *   `...:ColorEnvironment`, `...:NginxProxy`, `...:TraefikProxy`): no plugin runs them; the engine
 *   registers them as the program declares them. What is compared here is what plugins do. Since
 *   da3e7bc the program declares its resources inside one `BlueGreenService` (the children keep
 *   their names), one component more in each plan: the program's change, not a plugin's. The
 *   recorded change summaries count the recorded program's components too: those that changed are
 *   listed in the recorded steps and taken out; the `same` ones are the components the recorded
 *   program declares at every step (four, as its step 01 shows: the stack, the proxy's, one per
 *   color) less the ones the step creates.
 * - `__defaults` in the inputs and `__meta` / `__pulumi_raw_state_delta` in the outputs: the
 *   Terraform bridge's own bookkeeping (which properties it defaulted, its schema version and
 *   timeouts, its raw-state delta); a plugin that is not a bridged one has nothing to keep there.
 * - The recorded steps' `diffs`: `[]` on every step, changed ones included; `pulumi preview --json`
 *   has no such field (it is the recorder's), so there is nothing of the plugin's in it.
 * - The switch's and the provider's state: the recordings hold the docker resources' only (their
 *   plans are compared).
 *
 * Normalised on both sides, with the recordings' placeholders: the stack (`bluegreen-conf` there),
 * Pulumi's random name suffix (`<suffix>`), 64-hex ids (`<id>`), 12-hex short ids (`<shortid>`: a
 * container's hostname), container and network addresses (`<ip>`), secrets (`<secret>`: each
 * side's ciphertext is its own stack's key's), and the host ports (the replay publishes free ports,
 * in the recorded ports' order and spacing, and maps them back). Two more values the recordings
 * kept as the recording engine gave them are the engine's address allocation, not the plugin's:
 * a network's prefix length (`<ip>/20` there; Docker hands out /16 networks from 172.17-31 first
 * and /20 ones from 192.168 once those are taken, so it depends on the engine's other networks),
 * written `<prefix>`, and the MAC address Docker derives from the address (`02:42:` and its four
 * bytes), written `<mac>`.
 *
 * No table of allowed differences: any difference fails its step (soft assertions, so that one
 * step's difference does not hide the next steps').
 *
 * The older recordings (../shared/conformance/docker, the program at 2185984) are not replayed end
 * to end any more: with today's program they need a table of the program's fixes, and what they
 * still teach, the real plugin's diff of a set property's elements (`capabilities.adds[0]`, ...,
 * which today's program no longer causes), is checked from them in test/unit/dockerStandInPlan.test.ts.
 */
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProgramStack, dockerCli } from "../helpers/programStack";
import { type PlanStep, type PropertyDiff, type Recording, type StoredResource, SECRET_SIG, countOps, differences, keyed, nameOf, readRecordings, recordedComponents, recordedCustomSummary, typeOf } from "../helpers/conformance";
import { ROOT, runId } from "../helpers/toolchain";

const DIR = path.join(ROOT, "..", "shared", "conformance", "docker-da3e7bc");
const RECORDED_PREFIX = "bluegreen-conf";

/** Component resources: registered by the engine as the program declares them, run by no plugin. */
const COMPONENTS = new Set([
    "pulumi:pulumi:Stack",
    "bluegreen:docker:BlueGreenService",
    "bluegreen:docker:ColorEnvironment",
    "bluegreen:docker:NginxProxy",
    "bluegreen:docker:TraefikProxy",
]);

/** The Terraform bridge's bookkeeping in a resource's inputs and outputs. */
const BRIDGE_KEYS = new Set(["__defaults", "__meta", "__pulumi_raw_state_delta"]);

const p = new ProgramStack(runId("bgconf"));

/**
 * Host ports: each recorded port is published here as BASE + (port - 18080), so that they keep
 * their order and spacing (Docker binds a container's ports highest host port first: which port a
 * failed bind names depends on it).
 */
const RECORDED_PORT_BASE = 18080;
const RECORDED_PORT_SPAN = 100;
let portBase = 0;
const ourPort = (recorded: number) => portBase + recorded - RECORDED_PORT_BASE;
const recordedPort = (ours: number) => (ours >= portBase && ours < portBase + RECORDED_PORT_SPAN ? ours - portBase + RECORDED_PORT_BASE : ours);

async function choosePortBase(): Promise<number> {
    const net = await import("node:net");
    const free = (port: number) => new Promise<boolean>((resolve) => {
        const srv = net.createServer();
        srv.once("error", () => resolve(false));
        srv.listen(port, "0.0.0.0", () => srv.close(() => resolve(true)));
    });
    // Below the kernel's range for outgoing connections' local ports (see freePort).
    for (;;) {
        const base = 10_000 + Math.floor(Math.random() * 20_000);
        let ok = true;
        for (let port = base; port < base + RECORDED_PORT_SPAN && ok; port++) ok = await free(port);
        if (ok) return base;
    }
}

type Side = "recorded" | "ours";

/** A string with the recordings' placeholders; ours also with the recorded stack's name and host ports. */
function normaliseString(s: string, side: Side): string {
    const out = side === "ours" ? s.split(p.prefix).join(RECORDED_PREFIX).replace(/0\.0\.0\.0:(\d+)/g, (_m, port: string) => `0.0.0.0:${recordedPort(Number(port))}`) : s;
    return out
        .replace(/\b[0-9a-f]{64}\b/g, "<id>")
        .replace(/^[0-9a-f]{12}$/, "<shortid>")
        .replace(/(bluegreen-conf[\w.-]*?)-[0-9a-f]{7}(?![0-9A-Za-z])/g, "$1-<suffix>")
        .replace(/\b02:42(?::[0-9a-f]{2}){4}\b/g, "<mac>")
        .replace(/\b(?!0\.0\.0\.0\b)(?!127\.)\d{1,3}(?:\.\d{1,3}){3}\b/g, "<ip>")
        .replace(/<ip>\/\d+/g, "<ip>/<prefix>");
}

/** A stored value, normalised (see the header); `key` is the property it is the value of. */
function normalise(v: unknown, side: Side, key = ""): unknown {
    if (v === null || v === undefined) return null;
    if (Array.isArray(v)) return v.map((x) => normalise(x, side, key));
    if (typeof v === "object") {
        if (SECRET_SIG in (v as object)) return "<secret>";
        return Object.fromEntries(Object.entries(v as object).filter(([k]) => !BRIDGE_KEYS.has(k)).map(([k, x]) => [k, normalise(x, side, k)]));
    }
    if (typeof v === "number" && key === "external" && side === "ours") return recordedPort(v);
    if (typeof v === "number" && key === "ipPrefixLength") return "<prefix>";
    if (typeof v === "string") return normaliseString(v, side);
    return v;
}


/** The stored docker resources, from the CLI's export (never decrypted), normalised. */
function storedResources(): StoredResource[] {
    const state = JSON.parse(p.cli(["stack", "export"]));
    return (state.deployment.resources ?? [])
        .filter((r: { type: string }) => r.type.startsWith("docker:"))
        .map((r: { type: string; urn: string; inputs?: Record<string, unknown>; outputs?: Record<string, unknown> }) => ({
            type: r.type, name: normaliseString(nameOf(r.urn), "ours"), inputs: normalise(r.inputs ?? {}, "ours"), outputs: normalise(r.outputs ?? {}, "ours"),
        }));
}

/**
 * The differences between the recorded and the stored resources. Resources are matched by type
 * and name; two of one type and name (the old and the new proxy while a proxy-kind change is
 * half done) are paired the way that differs least.
 */
function stateDifferences(recorded: StoredResource[], stored: StoredResource[]): string[] {
    const out: string[] = [];
    const key = (r: StoredResource) => `${r.type}::${r.name}`;
    for (const k of [...new Set([...recorded, ...stored].map(key))].sort()) {
        const rs = recorded.filter((r) => key(r) === k);
        const os = stored.filter((r) => key(r) === k);
        if (rs.length !== os.length) {
            out.push(`${k}: ${rs.length} recorded, ${os.length} here`);
            continue;
        }
        const diffOf = (r: StoredResource, o: StoredResource) => [
            ...differences(r.inputs, o.inputs).map((d) => `${k} inputs.${d}`),
            ...differences(r.outputs, o.outputs).map((d) => `${k} outputs.${d}`),
        ];
        const pairings = rs.length === 1 ? [[0]] : rs.length === 2 ? [[0, 1], [1, 0]] : [rs.map((_, i) => i)];
        out.push(...pairings.map((perm) => rs.flatMap((r, i) => diffOf(r, os[perm[i]]))).sort((a, b) => a.length - b.length)[0]);
    }
    return out;
}

let active = "blue";

function configOf(rec: Recording): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(rec.config ?? {})) {
        out[k] = /Port$/.test(k) ? String(ourPort(Number(v))) : String(v);
        if (k === "activeColor") active = String(v);
    }
    return out;
}

/** The hand changes the recordings describe, done the same way. */
async function handChange(what: string): Promise<void> {
    const idle = active === "blue" ? "green" : "blue";
    if (/^docker rm -f \d+ idle container/.test(what)) {
        for (const c of p.containers(idle as "blue" | "green")) dockerCli("rm", "-f", c);
    } else if (/^docker stop \d+ idle container/.test(what)) {
        for (const c of p.containers(idle as "blue" | "green")) dockerCli("stop", c);
    } else if (what === "docker rm -f the proxy") {
        dockerCli("rm", "-f", p.proxy());
    } else if (/^blueEnv\.API_TOKEN set as a secret$/.test(what)) {
        await p.stack.setConfig("bluegreen:blueEnv.API_TOKEN", { value: "conformance-token", secret: true }, true);
    } else {
        throw new Error(`the replay does not know the recorded hand change ${JSON.stringify(what)}`);
    }
}

/** Per step: what was compared (plan steps, state resources, leaf values) and the differences found. */
const results: { step: number; name: string; compared: Record<string, number>; differences: string[] }[] = [];

/** The leaf values of a value (scalars, nulls, empty lists and objects): what a comparison of it covers. */
function leaves(v: unknown): number {
    if (Array.isArray(v)) return v.length ? v.reduce((n: number, x) => n + leaves(x), 0) : 1;
    if (v && typeof v === "object") return Object.keys(v).length ? Object.values(v).reduce((n: number, x) => n + leaves(x), 0) : 1;
    return 1;
}

beforeAll(async () => {
    portBase = await choosePortBase();
    await p.create();
});

afterAll(async () => {
    await p.destroy();
    console.log("conformance:", JSON.stringify(results, null, 2));
});

describe("the installed docker plugin replays the real plugin's recorded steps (docker-da3e7bc)", () => {
    const recs = readRecordings(DIR);
    const components = recordedComponents(recs, COMPONENTS);

    it("has the 19 recorded steps, an up from nothing first and a destroy last", () => {
        expect(recs.map((r) => r.step)).toEqual(Array.from({ length: 19 }, (_, i) => i + 1));
        expect(recs[18].name).toBe("destroy");
        expect(components).toBe(4);
    });

    it.each(recs.map((r) => [r.step, r.name, r] as const))("step %i: %s", async (_n, _name, rec) => {
        const found: string[] = [];
        const compared: Record<string, number> = {};
        results.push({ step: rec.step, name: rec.name, compared, differences: found });

        if (rec.name === "destroy") {
            const t = await p.teardown();
            const left = (kind: string) => t.left.filter((l) => l.startsWith(`${kind} `)).length;
            // The recording counts containers; a destroy that succeeds deletes every resource of the
            // state, so it leaves no network or volume of the program either.
            const ours = { ok: t.ok, containersLeft: left("container"), networksLeft: left("network"), volumesLeft: left("volume") };
            const recorded = { ok: rec.ok, containersLeft: rec.containersLeft, networksLeft: rec.ok ? 0 : left("network"), volumesLeft: rec.ok ? 0 : left("volume") };
            found.push(...differences(recorded, ours));
            expect(ours, t.error).toEqual(recorded);
            return;
        }

        const config = configOf(rec);
        // Step 01's config plus the health gate's defaults (ProgramStack sets a shorter gate).
        if (rec.step === 1) await p.set({ ...config, healthRetries: "10", healthDeadlineSeconds: "60" });
        else if (Object.keys(config).length) await p.set(config);
        if (rec.handChange) await handChange(rec.handChange);
        if (rec.refreshed) p.cli(["refresh", "--yes", "--skip-preview"]);

        // The plan: every custom resource's and provider's step, and the change summary over them.
        const plan = JSON.parse(p.cli(["preview", "--json", "--show-sames"]));
        const all: PlanStep[] = (plan.steps ?? []).map((s: { op: string; urn: string; replaceReasons?: string[]; detailedDiff?: Record<string, PropertyDiff> }) =>
            ({ op: s.op, type: typeOf(s.urn), name: nameOf(s.urn), replaceReasons: s.replaceReasons ?? [], detailedDiff: s.detailedDiff ?? {} }));
        // The steps list every resource, `same` ones included: the summary is counted from them.
        expect(countOps(all), "preview --json lists a step for every resource of its summary").toEqual(plan.changeSummary);
        const ours = all.filter((s) => !COMPONENTS.has(s.type));
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

        // The update.
        if (rec.up) {
            const up = (() => {
                try {
                    p.cli(["up", "--yes", "--skip-preview"]);
                    return { ok: true, out: "" };
                } catch (e) {
                    return { ok: false, out: String((e as { stdout?: string }).stdout ?? "") + String((e as { stderr?: string }).stderr ?? "") };
                }
            })();
            if (up.ok !== rec.up.ok) found.push(`up: recorded ok ${rec.up.ok}, here ${up.ok}`);
            expect(up.ok, up.out.slice(-2000)).toBe(rec.up.ok);
            if (!rec.up.ok) {
                // The plugin's error, without the bridge's wrapping (`sdk-v2/provider2.go:571:
                // sdk.helper_schema: `) and the engine's display around it.
                const message = (rec.up.tail ?? []).map((l) => /Unable to .*$/.exec(l)?.[0].replace(/: provider=docker@[\d.]+$/, "")).find(Boolean);
                expect(message, "the recorded failure's message").toBeTruthy();
                const said = normaliseString(up.out, "ours");
                if (!said.includes(message!)) found.push(`up error: recorded ${message}`);
                expect.soft(said, "the plugin's error").toContain(message);
            }
        }

        // The stored inputs and outputs.
        if (rec.state) {
            const recorded = rec.state.map((r) => ({ type: r.type, name: r.name, inputs: normalise(r.inputs, "recorded"), outputs: normalise(r.outputs, "recorded") }) as StoredResource);
            const stored = storedResources();
            const stateDiffs = stateDifferences(recorded, stored);
            compared.resources = stored.length;
            compared.values = stored.reduce((n, r) => n + leaves(r.inputs) + leaves(r.outputs), 0);
            found.push(...stateDiffs);
            expect.soft(stateDiffs, `step ${rec.step}: the stored docker resources`).toEqual([]);
        }
    });
});
