/**
 * The smoke test's script (components/docker/smokeTest.ts) run as the command runs it, `node -e
 * SMOKE_SCRIPT`, against two local listeners that answer as nginx's do: the preview listener
 * names its color in X-Bluegreen-Color, the live listener names none. Every branch: the
 * bootstrap (nothing routed), the pre-switch check on previewUrl, and the target already live,
 * checked on url by its status alone.
 */
import { execFile } from "node:child_process";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { COLOR_HEADER } from "../../components/nginxConfig";
import { SMOKE_ATTEMPTS, SMOKE_SCRIPT } from "../../components/docker/smokeTest";

type Answer = { status: number; color?: string };
const servers: http.Server[] = [];

/** A listener answering every request with `answer` (and the color header when it has a color). */
async function listener(answer: Answer): Promise<string> {
    const server = http.createServer((_req, res) => {
        res.writeHead(answer.status, answer.color ? { [COLOR_HEADER]: answer.color } : {});
        res.end("{}\n");
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

afterAll(() => {
    for (const s of servers) s.close();
});

/** Runs the script for target `color` with the two listeners; returns its exit code and output. */
async function smoke(color: string, preview: Answer, live: Answer) {
    const env = {
        ...process.env,
        BLUEGREEN_SMOKE_COLOR: color, BLUEGREEN_SMOKE_PATH: "/api/ping", BLUEGREEN_SMOKE_STATUS: "200",
        BLUEGREEN_SMOKE_PREVIEW_URL: await listener(preview), BLUEGREEN_SMOKE_URL: await listener(live),
    };
    return new Promise<{ code: number; out: string; env: typeof env }>((resolve) => {
        execFile(process.execPath, ["-e", SMOKE_SCRIPT, "bluegreen smoke test"], { env, timeout: 60_000 }, (err, stdout, stderr) =>
            resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: (stdout + stderr).trim(), env }));
    });
}

describe("the smoke test's script against listeners that answer as nginx's", () => {
    it.concurrent("the bootstrap (503, no header on previewUrl): nothing to check before the first switch", async () => {
        const r = await smoke("blue", { status: 503 }, { status: 503 });
        expect(r.code).toBe(0);
        expect(r.out).toBe(`smoke test: ${r.env.BLUEGREEN_SMOKE_PREVIEW_URL}/api/ping routes no color yet (first up); nothing to check before the first switch`);
    });

    it.concurrent("before a switch: previewUrl serves the target and answers 200: passed on previewUrl", async () => {
        const r = await smoke("green", { status: 200, color: "green" }, { status: 200 });
        expect(r.code).toBe(0);
        expect(r.out).toBe(`smoke test passed: green answered 200 on ${r.env.BLUEGREEN_SMOKE_PREVIEW_URL}/api/ping after 1 attempt(s)`);
    });

    it.concurrent("before a switch: previewUrl serves the target and answers 500: failed, traffic not moved", async () => {
        const r = await smoke("green", { status: 500, color: "green" }, { status: 200 });
        expect(r.code).toBe(1);
        expect(r.out).toBe(`smoke test failed: GET ${r.env.BLUEGREEN_SMOKE_PREVIEW_URL}/api/ping answered HTTP 500 from green, expected 200 from green, after ${SMOKE_ATTEMPTS} attempts; traffic was not moved to green`);
    });

    it.concurrent("the target already live (previewUrl names the other color): url, which sends no header, answers 200: passed on url", async () => {
        const r = await smoke("blue", { status: 200, color: "green" }, { status: 200 });
        expect(r.code).toBe(0);
        expect(r.out).toBe(`smoke test passed: blue answered 200 on ${r.env.BLUEGREEN_SMOKE_URL}/api/ping (already live: no switch in this update) after 1 attempt(s)`);
    });

    it.concurrent("the target already live: url answers 500: failed, naming url and the live color", async () => {
        const r = await smoke("blue", { status: 200, color: "green" }, { status: 500 });
        expect(r.code).toBe(1);
        expect(r.out).toBe(`smoke test failed: GET ${r.env.BLUEGREEN_SMOKE_URL}/api/ping answered HTTP 500 from blue, expected 200 from blue, after ${SMOKE_ATTEMPTS} attempts; blue is already live (no switch in this update)`);
    });
});
