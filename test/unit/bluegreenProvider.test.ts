/**
 * The project's own provider plugin (providers/bluegreen/): what it checks and plans, and how it
 * treats state from the dynamic-provider era. The operations themselves (docker exec, kubectl)
 * run in the end-to-end tests, on the program.
 */
import { describe, expect, it } from "vitest";
import { UNKNOWN } from "../../providers/shared/grpcProvider";
import { GATE, SWITCH, impl } from "../../providers/bluegreen/provider";
import type { SwitchState } from "../../providers/bluegreen/dockerSwitch";

const sw: SwitchState = {
    kind: "nginx", container: "proxy-1", dockerHost: "", activeColor: "blue", idleColor: "green",
    images: { blue: "demo:1", green: "demo:2" }, config: "conf-blue", generation: "aaaa1111",
    configFile: "/etc/nginx/bluegreen/nginx.conf", configDir: "/etc/nginx/bluegreen", statusUrl: "http://127.0.0.1:8082/__bluegreen/status",
    gateUrls: ["http://green-0:8080/health"], health: { retries: 10, intervalSeconds: 1, deadlineSeconds: 60 }, drainSeconds: 30,
};
const gate = { deployment: "app-green", namespace: "default", activeColor: "green", deadlineSeconds: 60, kubeconfig: "", context: "" };

describe("check", () => {
    it("accepts what the program declares, and values a preview does not know yet", () => {
        expect(impl.check(SWITCH, "s", {}, { ...sw }).failures).toEqual([]);
        expect(impl.check(SWITCH, "s", {}, { ...sw, container: UNKNOWN, gateUrls: UNKNOWN }).failures).toEqual([]);
        expect(impl.check(GATE, "g", {}, gate).failures).toEqual([]);
    });

    it("names a missing or mistyped input", () => {
        const { container: _, ...noContainer } = sw;
        expect(impl.check(SWITCH, "s", {}, noContainer).failures).toEqual([
            { property: "container", reason: "bluegreen:docker:TrafficSwitch: container must be a string, got nothing" },
        ]);
        expect(impl.check(GATE, "g", {}, { ...gate, deadlineSeconds: "60" }).failures.map((f) => f.property)).toEqual(["deadlineSeconds"]);
    });

    it("refuses a resource type it does not have, and any provider config", () => {
        expect(() => impl.check("bluegreen:docker:Other", "x", {}, {})).toThrow(/has no resource type bluegreen:docker:Other; it has bluegreen:docker:TrafficSwitch and bluegreen:kubernetes:DeploymentReadyGate/);
        expect(impl.checkConfig({ version: "0.1.0" })).toEqual([]);
        expect(impl.checkConfig({ host: "x" })).toEqual([{ property: "host", reason: "the bluegreen provider has no provider config `bluegreen:host`" }]);
    });
});

describe("diff of the switch", () => {
    const stored = { ...sw, servedGeneration: "aaaa1111" };

    it("plans nothing when nothing changed, whatever the dynamic provider left in the state", () => {
        expect(impl.diff(SWITCH, "id", { ...stored, __provider: "exports.handler = …" }, sw)).toMatchObject({ changes: false, replaces: [] });
    });

    it("shows a switch as the properties that decide it, never as a replacement", () => {
        const next = { ...sw, activeColor: "green" as const, config: "conf-green", generation: "bbbb2222", gateUrls: ["http://blue-0:8080/health"] };
        const d = impl.diff(SWITCH, "id", stored, next);
        expect(d).toMatchObject({ changes: true, replaces: [], deleteBeforeReplace: false });
        expect(Object.keys(d.detailedDiff).sort()).toEqual(["activeColor", "config", "gateUrls"]);
    });

    it("shows drift: the proxy serves another generation than the state says (read by a refresh)", () => {
        const d = impl.diff(SWITCH, "id", { ...stored, config: "", servedGeneration: "" }, sw);
        expect(d.changes).toBe(true);
        expect(Object.keys(d.detailedDiff).sort()).toEqual(["config", "servedGeneration"]);
    });

    it("a preview runs nothing: create and update return the inputs without touching a proxy", async () => {
        // A proxy container named "proxy-1" does not exist: running anything would fail.
        await expect(impl.create(SWITCH, "s", sw, true)).resolves.toEqual({ id: "", outs: sw });
        await expect(impl.update(SWITCH, "id", stored, { ...sw, activeColor: "green" }, true)).resolves.toMatchObject({ activeColor: "green", servedGeneration: "aaaa1111" });
    });
});

describe("diff of the gate", () => {
    it("runs again exactly when the live color's Deployment changes", () => {
        expect(impl.diff(GATE, "id", gate, { ...gate, deadlineSeconds: 120 }).changes).toBe(false);
        const d = impl.diff(GATE, "id", gate, { ...gate, activeColor: "blue", deployment: "app-blue" });
        expect(d.changes).toBe(true);
        expect(Object.keys(d.detailedDiff).sort()).toEqual(["activeColor", "deployment"]);
    });
});

describe("what is not a change of the switch", () => {
    it("the engine address given another way, or drainSeconds alone (used from the next switch on)", () => {
        const stored = { ...sw, servedGeneration: "aaaa1111" };
        expect(impl.diff(SWITCH, "id", stored, { ...sw, dockerHost: "tcp://10.0.0.2:2375" }).changes).toBe(false);
        expect(impl.diff(SWITCH, "id", stored, { ...sw, drainSeconds: 5 }).changes).toBe(false);
    });
});
