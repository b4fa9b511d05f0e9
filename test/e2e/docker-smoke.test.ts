/**
 * The pre-switch smoke test (`smokeTestPath`), end to end: the program itself through the
 * Automation API, the installed docker and command plugins (the real ones, or the project's
 * stand-ins), the real Docker engine and real HTTP through nginx. The smoke test is a
 * `command.local.Command` that must pass, through `previewUrl`, before the switch moves traffic.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { summarizePreview } from "../../components/previewSummary";
import { getJson } from "../helpers/load";
import { ProgramStack, changes, expectCleanTeardown } from "../helpers/programStack";
import { runId } from "../helpers/toolchain";

const p = new ProgramStack(runId("bgsmoke"));
const SMOKE = "command:local:Command";
const smokeName = () => `${p.prefix}-proxy-smoke`;

/** The smoke test's stored outputs (stdout says what it checked). */
async function smokeState(): Promise<{ id: string; stdout: string; environment: Record<string, string> }> {
    const state = await p.stack.exportStack();
    const r = state.deployment.resources.find((x: { type: string; urn: string }) => x.type === SMOKE && x.urn.endsWith(`::${smokeName()}`));
    expect(r, "the smoke test is in the state").toBeDefined();
    return { id: r.id, stdout: r.outputs.stdout, environment: r.outputs.environment };
}

beforeAll(async () => {
    await p.create({ smokeTestPath: "/", smokeTestStatus: "200" });
});

afterAll(async () => {
    await p.destroy();
});

describe("the smoke test on a real Docker engine", () => {
    it("up from nothing passes: the proxy routes no color yet, so there is nothing to check before the first switch", async () => {
        const up = await p.up();
        expect(up.summary.result).toBe("succeeded");
        // The 11 resources of a stack without a smoke test, and the smoke test.
        expect(up.summary.resourceChanges).toEqual({ create: 13 });
        const smoke = await smokeState();
        expect(smoke.stdout).toMatch(/routes no color yet \(first up\)/);
        expect(smoke.environment).toMatchObject({ BLUEGREEN_SMOKE_COLOR: "blue", BLUEGREEN_SMOKE_PATH: "/", BLUEGREEN_SMOKE_STATUS: "200" });
        expect((await getJson(p.url)).json.color).toBe("blue");
        expect((await getJson(p.previewUrl)).json.color).toBe("green");
    });

    it("a no-op up runs nothing: the smoke test is not re-run", async () => {
        const before = await smokeState();
        const pre = await p.stack.preview();
        expect(pre.changeSummary).toEqual({ same: 13 });
        const up = await p.up();
        expect(up.summary.resourceChanges).toEqual({ same: 13 });
        expect((await smokeState()).id).toBe(before.id);
    });

    it("the preview of a switch shows the switch and the smoke test that will run before it, nothing else", async () => {
        await p.setColor("green");
        // The unit tests' fixture of the same preview is recorded by scripts/record-fixtures.ts.
        const json = p.previewJson();
        expect(changes(json)).toEqual([
            `replace ${SMOKE}::${smokeName()}`,
            `update bluegreen:docker:TrafficSwitch::${p.prefix}-proxy-switch`,
        ]);
        expect(summarizePreview(json).text).toBe(
            "Traffic: blue → green (bluegreen/demo:1.0.0 → bluegreen/demo:2.0.0); smoke test first: GET / must answer 200 from green; environments unchanged",
        );
    });

    it("switch to green: green passes the smoke test through previewUrl before traffic moves, then url serves green", async () => {
        const before = await smokeState();
        const up = await p.up();
        expect(up.summary.result).toBe("succeeded");
        // The smoke test is replaced (its triggers changed: it ran again), the switch updated.
        expect(up.summary.resourceChanges).toEqual({ same: 11, replace: 1, update: 1 });
        const smoke = await smokeState();
        expect(smoke.id).not.toBe(before.id);
        expect(smoke.stdout).toBe(`smoke test passed: green answered 200 on ${p.previewUrl}/ after 1 attempt(s)`);
        for (let i = 0; i < 5; i++) expect((await getJson(p.url)).json.color).toBe("green");
        expect((await getJson(p.previewUrl)).json.color).toBe("blue");
    });

    it("a blue that answers 500 on the smoke path fails the switch back to it with the smoke test's message, and url still serves green", async () => {
        // Blue's new container passes its health check (/health answers 200) but answers 500 on `/`.
        await p.set({ blueEnv: JSON.stringify({ APP_STATUS: "500" }) });
        const idle = await p.up();
        expect(idle.summary.resourceChanges).toMatchObject({ replace: 1 }); // only blue's container: blue is idle, no smoke test
        expect((await getJson(p.url)).json.color).toBe("green");
        const before = await smokeState();

        await p.setColor("blue");
        const started = Date.now();
        let message = "";
        await p.up().then(() => undefined, (e: Error) => { message = e.message; });
        expect(message).toContain("smoke test failed: GET " + `${p.previewUrl}/ answered HTTP 500 from blue, expected 200 from blue, after 10 attempts; traffic was not moved to blue`);
        expect(message).toContain('running "bluegreen smoke test"');
        expect(Date.now() - started).toBeLessThan(120_000);
        // Traffic stayed: url serves green, previewUrl still blue; the switch and the smoke test are as they were.
        for (let i = 0; i < 5; i++) expect((await getJson(p.url)).json.color).toBe("green");
        expect((await getJson(p.previewUrl)).json.color).toBe("blue");
        const outputs = await p.stack.outputs();
        expect(outputs.activeColor.value).toBe("green");
        expect((await smokeState()).id).toBe(before.id);
    });

    it("a fixed blue passes, and the switch happens in the same up", async () => {
        await p.set({ blueEnv: "{}" });
        const up = await p.up();
        expect(up.summary.result).toBe("succeeded");
        expect((await smokeState()).stdout).toMatch(/^smoke test passed: blue answered 200 on .*\/ after \d+ attempt\(s\)$/);
        for (let i = 0; i < 5; i++) expect((await getJson(p.url)).json.color).toBe("blue");
    });

    it("a change of the live color's replicas in place re-runs it on url, where that color already is", async () => {
        const before = await smokeState();
        await p.set({ blueEnv: JSON.stringify({ LOG_LEVEL: "debug" }) });
        const up = await p.up();
        expect(up.summary.result).toBe("succeeded");
        // Blue's container and the smoke test replaced; the switch re-gates blue's new replica.
        expect(up.summary.resourceChanges).toEqual({ same: 10, replace: 2, update: 1 });
        const smoke = await smokeState();
        expect(smoke.id).not.toBe(before.id);
        expect(smoke.stdout).toMatch(new RegExp(`^smoke test passed: blue answered 200 on ${p.url}/ \\(already live: no switch in this update\\) after \\d+ attempt\\(s\\)$`));
        expect((await getJson(p.url)).json.color).toBe("blue");
    });

    it("a new version on the idle color does not run the smoke test (it guards the switch, not the preview)", async () => {
        const before = await smokeState();
        await p.set({ greenImage: "bluegreen/demo:1.0.0" });
        const up = await p.up();
        // Green's container replaced; the switch updates only the image it reports; the smoke test stays.
        expect(up.summary.resourceChanges).toEqual({ same: 11, replace: 1, update: 1 });
        expect((await smokeState()).id).toBe(before.id);
    });

    it("destroy leaves nothing", async () => {
        await expectCleanTeardown(p);
    });
});
