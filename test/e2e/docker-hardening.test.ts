/**
 * Hardening on the real engine: hostile values cannot run anything, and every entry of the
 * bad-config table is refused by `pulumi preview` of the real program before anything changes.
 */
import * as fs from "node:fs";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execScript } from "../../components/dockerExec";
import { HEALTH_SCRIPT } from "../../components/trafficSwitch";
import badConfigs from "../fixtures/bad-configs.json";
import { DockerFixture, dockerCli } from "../helpers/dockerFixture";
import { ROOT, runId, workspaceOptions } from "../helpers/toolchain";

const id = runId("bgharden");
const fixture = new DockerFixture(id);
let box = "";

const HOSTILE = [
    "$(touch /tmp/pwned-subst)",
    "`touch /tmp/pwned-backtick`",
    "x; touch /tmp/pwned-semicolon",
    "x\ntouch /tmp/pwned-newline",
    "x && touch /tmp/pwned-and",
    "x' ; touch /tmp/pwned-quote ; '",
];

beforeAll(() => {
    box = fixture.color("box", { image: "bluegreen/demo:1.0.0", color: "blue" });
});

afterAll(() => fixture.destroy());

describe("values never reach a shell", () => {
    it("arguments of the switch's scripts arrive verbatim and run nothing", async () => {
        for (const value of HOSTILE) {
            const r = await execScript(box, 'printf "%s" "$1"', [value]);
            expect(r.code).toBe(0);
            expect(r.stdout).toBe(value);
        }
        expect(dockerCli("exec", box, "sh", "-c", "ls /tmp | grep -c pwned || true")).toBe("0");
    });

    it("a hostile URL given to the health gate is just a URL that fails", async () => {
        const r = await execScript(box, HEALTH_SCRIPT, ["1", "1", "5", ...HOSTILE.map((h) => `http://127.0.0.1:8080/${h}`)]);
        expect(r.code).toBe(1);
        expect(r.stdout).toContain("answered");
        expect(dockerCli("exec", box, "sh", "-c", "ls /tmp | grep -c pwned || true")).toBe("0");
    });

    it("stdin carries the config: shell syntax in it is data", async () => {
        const text = HOSTILE.join("\n");
        const r = await execScript(box, 'cat > /tmp/copy && cat /tmp/copy', [], { stdin: text });
        expect(r.stdout).toBe(text);
        expect(dockerCli("exec", box, "sh", "-c", "ls /tmp | grep -c pwned || true")).toBe("0");
    });
});

describe("the bad-config table through `pulumi preview` of the real program", () => {
    let stack: Stack;
    beforeAll(async () => {
        stack = await LocalWorkspace.createStack({ stackName: id, workDir: ROOT }, await workspaceOptions());
    });
    afterAll(async () => {
        await stack?.workspace.removeStack(stack.name, { force: true });
        fs.rmSync(`${ROOT}/Pulumi.${id}.yaml`, { force: true });
    });

    it.each(badConfigs.map((c) => [c.name, c] as const))("refuses %s, naming the key, and declares nothing", async (_name, c) => {
        const config = Object.fromEntries(Object.entries(c.config).map(([k, v]) => [`bluegreen:${k}`, { value: v }]));
        await stack.setAllConfig(config);
        try {
            const error = await stack.preview().then(() => undefined, (e: Error) => e);
            expect(error, "preview must fail").toBeDefined();
            // Ours, or the engine's own check of Pulumi.yaml's declared type, which runs first for
            // non-integers in integer keys ("configuration key 'proxyPort' must be of type 'integer'").
            const ours = String(error).includes(`invalid stack config: \`${c.key}\` is `);
            const engines = String(error).includes(`configuration key '${c.key}' must be of type`);
            expect(ours || engines, String(error)).toBe(true);
            const resources = (await stack.exportStack()).deployment.resources ?? [];
            expect(resources).toEqual([]);
        } finally {
            for (const k of Object.keys(c.config)) await stack.removeConfig(`bluegreen:${k}`);
        }
    });
});
