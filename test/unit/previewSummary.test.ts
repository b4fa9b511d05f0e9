/**
 * The pull-request summary on real `pulumi preview --json --show-sames` output of the program
 * itself (`index.ts`), as the pull-request workflow runs it. The fixtures are recorded by
 * `scripts/record-fixtures.ts` (see its header: each is one throwaway stack brought up, changed,
 * previewed and destroyed); re-record them with
 *
 *   bash scripts/with-env.sh node_modules/.bin/tsx scripts/record-fixtures.ts [docker] [kubernetes]
 *
 * The first block checks that they are recordings of today's program: a fixture that the program
 * would no longer produce (another renderer, another smoke script, other config keys, other
 * resources) fails it, and must be recorded again.
 */
import { describe, expect, it } from "vitest";
import { PreviewJson, PreviewStep, renderComment, summarizePreview } from "../../components/previewSummary";
import { renderNginxConfig } from "../../components/nginxConfig";
import { CONFIG_KEYS, type Color } from "../../components/settings";
import { SMOKE_SCRIPT } from "../../components/docker/smokeTest";
import switchPreview from "../fixtures/preview-switch.json";
import smokeSwitchPreview from "../fixtures/preview-switch-smoke.json";
import idleUpdatePreview from "../fixtures/preview-idle-update.json";
import kubeSwitchPreview from "../fixtures/preview-kubernetes-switch.json";
import kubeIdleReplicasPreview from "../fixtures/preview-kubernetes-idle-replicas.json";

const clone = (p: unknown): PreviewJson => JSON.parse(JSON.stringify(p));
/** The normalised stack of every recording (scripts/record-fixtures.ts). */
const STACK = "bg-e2e";
const PREFIX = `bluegreen-${STACK}`;

type Fixture = { config: Record<string, string>; steps: PreviewStep[]; changeSummary: Record<string, number> };
const FIXTURES: [string, Fixture, { platform: "docker" | "kubernetes"; resources: number }][] = [
    ["preview-switch", switchPreview as unknown as Fixture, { platform: "docker", resources: 12 }],
    ["preview-switch-smoke", smokeSwitchPreview as unknown as Fixture, { platform: "docker", resources: 13 }],
    ["preview-idle-update", idleUpdatePreview as unknown as Fixture, { platform: "docker", resources: 12 }],
    ["preview-kubernetes-switch", kubeSwitchPreview as unknown as Fixture, { platform: "kubernetes", resources: 14 }],
    ["preview-kubernetes-idle-replicas", kubeIdleReplicasPreview as unknown as Fixture, { platform: "kubernetes", resources: 13 }],
];

const typeOf = (s: PreviewStep) => (s.urn.split("::")[2] ?? "").split("$").pop();
const stepOf = (f: Fixture, type: string) => {
    const found = f.steps.filter((s) => typeOf(s) === type);
    expect(found, type).toHaveLength(1);
    return found[0];
};

describe("the fixtures are recordings of today's program", () => {
    it.each(FIXTURES)("%s: every resource of the program, under its service component, with the config keys it reads today", (_name, f, want) => {
        // --show-sames: every resource is a step, and the counts add up to them.
        expect(f.steps).toHaveLength(want.resources);
        expect(Object.values(f.changeSummary).reduce((a, b) => a + b, 0)).toBe(want.resources);
        for (const s of f.steps) expect(s.urn.startsWith(`urn:pulumi:${STACK}::bluegreen::`), s.urn).toBe(true);
        // One service component, the program's, and every resource but the stack and the providers under it.
        const service = `bluegreen:${want.platform}:BlueGreenService`;
        expect(f.steps.filter((s) => typeOf(s) === service).map((s) => s.urn.split("::").pop())).toEqual([PREFIX]);
        const loose = f.steps.filter((s) => !s.urn.split("::")[2].startsWith(service) && !/^pulumi:(pulumi:Stack|providers:)/.test(s.urn.split("::")[2]));
        expect(loose.map((s) => s.urn)).toEqual([]);
        // The project's own plugin runs the switch or the gate (no dynamic provider of an older program).
        expect(f.steps.some((s) => s.urn.includes("::pulumi:providers:bluegreen::"))).toBe(true);
        expect(f.steps.filter((s) => s.urn.includes("pulumi-nodejs"))).toEqual([]);
        // The stack config holds exactly today's keys of the namespace (no test-only keys, none missing).
        const keys = Object.keys(f.config).filter((k) => !k.startsWith("kubernetes:")).sort();
        expect(keys).toEqual(Object.keys(CONFIG_KEYS).map((k) => `bluegreen:${k}`).sort());
        expect(f.config["bluegreen:platform"]).toBe(want.platform);
    });

    it.each(FIXTURES.filter(([, , w]) => w.platform === "docker"))("%s: the switch holds the nginx config today's renderer makes, before and after", (_name, f) => {
        const sw = stepOf(f, "bluegreen:docker:TrafficSwitch");
        const targets = Object.fromEntries(f.steps.filter((s) => typeOf(s) === "bluegreen:docker:ColorEnvironment")
            .map((s) => [s.urn.split("::").pop()!.replace(`${PREFIX}-`, ""), s.oldState?.outputs?.target])) as Record<Color, string>;
        expect(Object.keys(targets).sort()).toEqual(["blue", "green"]);
        for (const state of [sw.oldState!, sw.newState!]) {
            const inputs = state.inputs as { activeColor: Color; config: string; drainSeconds: number };
            expect(inputs.config).toBe(renderNginxConfig({ activeColor: inputs.activeColor, targets, drainSeconds: inputs.drainSeconds }));
        }
    });

    it("preview-switch-smoke: the smoke test runs today's script", () => {
        const smoke = stepOf(smokeSwitchPreview as unknown as Fixture, "command:local:Command");
        expect(smoke.newState?.inputs?.interpreter).toEqual(["node", "-e", SMOKE_SCRIPT]);
    });
});

describe("summarizePreview, on real `pulumi preview --json --show-sames` output of the program", () => {
    it("reports a switch and nothing else, without naming the stack's one service", () => {
        const summary = summarizePreview(clone(switchPreview));
        expect(summary.traffic?.service).toBeUndefined();
        expect(summary.text).toBe("Traffic: blue → green (bluegreen/demo:1.0.0 → bluegreen/demo:2.0.0); environments unchanged");
    });

    it("names the smoke test that runs before a switch instead of listing it as another change", () => {
        const summary = summarizePreview(clone(smokeSwitchPreview));
        expect(summary.smokeTest).toEqual({ color: "green", path: "/", status: "200" });
        expect(summary.otherChanges).toEqual([]);
        expect(summary.text).toBe(
            "Traffic: blue → green (bluegreen/demo:1.0.0 → bluegreen/demo:2.0.0); smoke test first: GET / must answer 200 from green; environments unchanged",
        );
    });

    it("reports a new version on the idle color as traffic staying put, and lists the idle color's replaced container", () => {
        // The real preview replaces green's container (a new image is a new container) and
        // updates the switch's record of the images; the switch re-applies nothing.
        const summary = summarizePreview(clone(idleUpdatePreview));
        expect(summary.traffic).toMatchObject({ from: "blue", to: "blue", toImage: "bluegreen/demo:1.0.0" });
        expect(summary.otherChanges).toEqual([`replace docker:index/container:Container ${PREFIX}-green-0 (image, labels)`]);
        expect(summary.text).toBe(
            `Traffic: stays on blue (bluegreen/demo:1.0.0); other changes: replace docker:index/container:Container ${PREFIX}-green-0 (image, labels)`,
        );
    });

    it("names the service that moves when the stack holds several", () => {
        // The recorded stack, its service renamed `api`, then a second service `web` beside it that
        // does not change (listed as `same`, as --show-sames lists it).
        const p = JSON.parse(JSON.stringify(switchPreview).replaceAll(PREFIX, "api")) as PreviewJson;
        expect(summarizePreview(clone(p)).text).toBe("Traffic: blue → green (bluegreen/demo:1.0.0 → bluegreen/demo:2.0.0); environments unchanged");
        p.steps!.push(
            { op: "same", urn: `urn:pulumi:${STACK}::bluegreen::bluegreen:docker:BlueGreenService::web` },
            { op: "same", urn: `urn:pulumi:${STACK}::bluegreen::bluegreen:docker:BlueGreenService$bluegreen:docker:NginxProxy$bluegreen:docker:TrafficSwitch::web-proxy-switch` },
        );
        const summary = summarizePreview(p);
        expect(summary.traffic?.service).toBe("api");
        expect(summary.text).toBe("Traffic: api blue → green (bluegreen/demo:1.0.0 → bluegreen/demo:2.0.0); environments unchanged");
    });

    it("lists every other change next to the switch", () => {
        const p = clone(switchPreview);
        // The same preview with one more step, shaped as the engine emits a container replacement.
        p.steps!.push({
            op: "replace",
            urn: `urn:pulumi:${STACK}::bluegreen::bluegreen:docker:BlueGreenService$bluegreen:docker:ColorEnvironment$docker:index/container:Container::${PREFIX}-green-0`,
            newState: { type: "docker:index/container:Container", inputs: { image: "bluegreen/demo:2.0.0" } },
            oldState: { type: "docker:index/container:Container", inputs: { image: "bluegreen/demo:1.9.0" } },
            diffReasons: ["image"],
        });
        const s = summarizePreview(p);
        expect(s.text).toBe(
            "Traffic: blue → green (bluegreen/demo:1.0.0 → bluegreen/demo:2.0.0); other changes: " +
                `replace docker:index/container:Container ${PREFIX}-green-0 (image)`,
        );
        expect(s.otherChanges).toHaveLength(1);
    });

    it("reports traffic as unchanged when the switch has nothing to change (a same step carries no state)", () => {
        const s = summarizePreview({
            steps: [
                { op: "same", urn: "urn:pulumi:dev::bluegreen::bluegreen:docker:NginxProxy$bluegreen:docker:TrafficSwitch::bluegreen-dev-proxy-switch" },
                { op: "replace", urn: "urn:pulumi:dev::bluegreen::bluegreen:docker:ColorEnvironment$docker:index/container:Container::bluegreen-dev-green-0", diffReasons: ["envs"] },
            ],
        } as any);
        expect(s.text).toBe("Traffic: unchanged; other changes: replace docker:index/container:Container bluegreen-dev-green-0 (envs)");
    });

    it("reports a failed preview by its errors", () => {
        const s = summarizePreview({ steps: [], diagnostics: [{ severity: "error", message: "invalid stack config: `activeColor` is \"red\"" }] });
        expect(s.text).toBe('Preview failed: invalid stack config: `activeColor` is "red"');
    });

    it("renders the pull-request comment with the stack name and the counts", () => {
        expect(renderComment("dev", clone(switchPreview))).toBe(
            "### bluegreen preview: `dev`\n\nTraffic: blue → green (bluegreen/demo:1.0.0 → bluegreen/demo:2.0.0); environments unchanged\n\nResources: same: 11, update: 1\n",
        );
    });

    it("a Kubernetes switch: traffic from blue to green with both images, the gate and the selectors as the switch (issue 27)", () => {
        const s = summarizePreview(clone(kubeSwitchPreview));
        expect(s.traffic).toEqual({ from: "blue", to: "green", fromImage: "bluegreen/demo:1.0.0", toImage: "bluegreen/demo:2.0.0" });
        expect(s.otherChanges).toEqual([]);
        expect(s.text).toBe("Traffic: blue → green (bluegreen/demo:1.0.0 → bluegreen/demo:2.0.0); environments unchanged");
        // What the summary read it from, in the recording: the gate's color and the Services'
        // selectors; the old color's restart patch (created for blue, green's forgotten) is the switch too.
        const changed = (kubeSwitchPreview as unknown as Fixture).steps.filter((st) => st.op !== "same");
        expect(changed.map((st) => `${st.op} ${typeOf(st)} ${st.urn.split("::").pop()}`).sort()).toEqual([
            `create kubernetes:apps/v1:DeploymentPatch ${PREFIX}-blue-recycle`,
            `delete kubernetes:apps/v1:DeploymentPatch ${PREFIX}-green-recycle`,
            `update bluegreen:kubernetes:DeploymentReadyGate ${PREFIX}-gate`,
            `update kubernetes:core/v1:Service ${PREFIX}-preview`,
            `update kubernetes:core/v1:Service ${PREFIX}-production`,
        ]);
    });

    it("a Kubernetes switch in a stack of several services names the one that moves", () => {
        const p = JSON.parse(JSON.stringify(kubeSwitchPreview).replaceAll(PREFIX, "api")) as PreviewJson;
        p.steps!.push({ op: "same", urn: `urn:pulumi:${STACK}::bluegreen::bluegreen:kubernetes:BlueGreenService::web` });
        expect(summarizePreview(p).text).toBe("Traffic: api blue → green (bluegreen/demo:1.0.0 → bluegreen/demo:2.0.0); environments unchanged");
    });

    it("a Kubernetes switch that also changes a Service's type lists that Service as another change", () => {
        const p = clone(kubeSwitchPreview);
        const live = p.steps!.find((st) => st.urn.endsWith(`::${PREFIX}-production`))!;
        live.detailedDiff = { ...live.detailedDiff, "spec.type": { kind: "update" } };
        expect(summarizePreview(p).text).toBe(
            `Traffic: blue → green (bluegreen/demo:1.0.0 → bluegreen/demo:2.0.0); other changes: update kubernetes:core/v1:Service ${PREFIX}-production`,
        );
    });

    it("a Kubernetes idleReplicas change: the idle color's Deployment, the live Service's await back, no restart; traffic unchanged", () => {
        const s = summarizePreview(clone(kubeIdleReplicasPreview));
        expect(s.text).toBe(
            `Traffic: unchanged; other changes: update kubernetes:core/v1:Service ${PREFIX}-production; ` +
            `update kubernetes:apps/v1:Deployment ${PREFIX}-green; delete kubernetes:apps/v1:DeploymentPatch ${PREFIX}-green-recycle`,
        );
        const changed = (kubeIdleReplicasPreview as unknown as Fixture).steps.filter((st) => st.op !== "same");
        expect(changed.map((st) => [st.op, st.urn.split("::").pop(), Object.keys((st as { detailedDiff?: object }).detailedDiff ?? {})])).toEqual([
            // Below `full` the live Service is awaited again: the idle color is scaled down only after kube-proxy has moved.
            ["update", `${PREFIX}-production`, ['metadata.annotations["pulumi.com/skipAwait"]']],
            ["update", `${PREFIX}-green`, ["spec.replicas"]],
            // The retired pods drain on their own: no restart patch (forgotten, not undone).
            ["delete", `${PREFIX}-green-recycle`, []],
        ]);
        const replicas = (st?: { inputs?: Record<string, unknown> }) => (st?.inputs?.spec as { replicas?: number } | undefined)?.replicas;
        expect([replicas(changed[1].oldState), replicas(changed[1].newState)]).toEqual([1, 0]);
    });
});
