import { describe, expect, it } from "vitest";
import { PreviewJson, renderComment, summarizePreview } from "../../components/previewSummary";
// Recorded from real `pulumi preview --json` runs of the end-to-end suite
// (BLUEGREEN_RECORD_FIXTURES=1 npm run test:e2e -- docker-switch).
import switchPreview from "../fixtures/preview-switch.json";
import idleUpdatePreview from "../fixtures/preview-idle-update.json";
// (BLUEGREEN_RECORD_FIXTURES=1 ... test/e2e/docker-smoke.test.ts): a switch with smokeTestPath "/".
import smokeSwitchPreview from "../fixtures/preview-switch-smoke.json";

const clone = (p: unknown): PreviewJson => JSON.parse(JSON.stringify(p));

describe("summarizePreview, on real `pulumi preview --json` output", () => {
    it("reports a switch and nothing else", () => {
        expect(summarizePreview(clone(switchPreview)).text).toBe(
            "Traffic: blue → green (bluegreen/demo:1.0.0 → bluegreen/demo:2.0.0); environments unchanged",
        );
    });

    it("names the smoke test that runs before a switch instead of listing it as another change", () => {
        const summary = summarizePreview(clone(smokeSwitchPreview));
        expect(summary.smokeTest).toEqual({ color: "green", path: "/", status: "200" });
        expect(summary.otherChanges).toEqual([]);
        expect(summary.text).toBe(
            "Traffic: blue → green (bluegreen/demo:1.0.0 → bluegreen/demo:2.0.0); smoke test first: GET / must answer 200 from green; environments unchanged",
        );
    });

    it("reports a new version on the idle color as traffic staying put", () => {
        expect(summarizePreview(clone(idleUpdatePreview)).text).toBe("Traffic: stays on blue (bluegreen/demo:1.0.0); environments unchanged");
    });

    it("names the service that moves when the stack holds several (preview --json --show-sames)", () => {
        const p = clone(switchPreview);
        const sw = p.steps!.find((st) => st.urn.endsWith("-proxy-switch"))!;
        sw.urn = "urn:pulumi:dev::shop::bluegreen:docker:BlueGreenService$bluegreen:docker:NginxProxy$bluegreen:docker:TrafficSwitch::api-proxy-switch";
        // One service, with another change inside it: not named.
        const one = clone(p);
        one.steps!.push({
            op: "replace", urn: "urn:pulumi:dev::shop::bluegreen:docker:BlueGreenService$bluegreen:docker:ColorEnvironment$docker:index/container:Container::api-green-0",
            newState: { type: "docker:index/container:Container", inputs: {} }, diffReasons: ["image"],
        });
        expect(summarizePreview(one).text).toBe("Traffic: blue → green (bluegreen/demo:1.0.0 → bluegreen/demo:2.0.0); other changes: replace docker:index/container:Container api-green-0 (image)");
        p.steps!.push(
            { op: "same", urn: "urn:pulumi:dev::shop::bluegreen:docker:BlueGreenService::api" },
            { op: "same", urn: "urn:pulumi:dev::shop::bluegreen:docker:BlueGreenService::web" },
            { op: "same", urn: "urn:pulumi:dev::shop::bluegreen:docker:BlueGreenService$bluegreen:docker:NginxProxy$bluegreen:docker:TrafficSwitch::web-proxy-switch" },
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
            urn: "urn:pulumi:dev::bluegreen::bluegreen:docker:ColorEnvironment$docker:index/container:Container::bluegreen-dev-green-0",
            newState: { type: "docker:index/container:Container", inputs: { image: "bluegreen/demo:2.0.0" } },
            oldState: { type: "docker:index/container:Container", inputs: { image: "bluegreen/demo:1.9.0" } },
            diffReasons: ["image"],
        });
        const s = summarizePreview(p);
        expect(s.text).toBe(
            "Traffic: blue → green (bluegreen/demo:1.0.0 → bluegreen/demo:2.0.0); other changes: " +
                "replace docker:index/container:Container bluegreen-dev-green-0 (image)",
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
            "### bluegreen preview: `dev`\n\nTraffic: blue → green (bluegreen/demo:1.0.0 → bluegreen/demo:2.0.0); environments unchanged\n\nResources: same: 1, update: 1\n",
        );
    });
});
