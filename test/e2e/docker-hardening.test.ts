/**
 * Hardening of the program itself (`index.ts`) on the real engine: hostile values cannot run
 * anything through the switch's exec paths, the containers the program created (through the
 * installed docker plugin) hold only the privileges they need and publish only the proxy's two
 * listeners on loopback, an outside client of `url` and `previewUrl` reaches the colors and
 * nothing of the proxy's own (no status document, no API, no color header on `url`), and every
 * entry of the bad-config table is refused by `pulumi preview` and by `pulumi up` of the real
 * program, with nothing created.
 */
import * as http from "node:http";
import * as net from "node:net";
import * as os from "node:os";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execScript } from "../../providers/bluegreen/dockerExec";
import { LIVE_PORT, PREVIEW_PORT, STATUS_PATH, STATUS_PORT } from "../../components/nginxConfig";
import { TRAEFIK_API_PORT, TRAEFIK_LIVE_PORT, TRAEFIK_PREVIEW_PORT, TRAEFIK_STATUS_PATH } from "../../components/traefikConfig";
import { HEALTH_SCRIPT } from "../../providers/bluegreen/dockerSwitch";
import badConfigs from "../fixtures/bad-configs.json";
import { getJson } from "../helpers/load";
import { ProgramStack, dockerCli, freePort } from "../helpers/programStack";
import { ROOT, runId, workspaceOptions } from "../helpers/toolchain";

const id = runId("bgharden");
/** The program with its default proxy, nginx. */
const p = new ProgramStack(id);
/** A second stack of the program, with proxyKind=traefik. */
const t = new ProgramStack(`${id}-t`);

beforeAll(async () => {
    await p.create();
    await t.create({ proxyKind: "traefik" });
    const ups = await Promise.all([p.up(), t.up()]);
    for (const up of ups) expect(up.summary.result).toBe("succeeded");
});

afterAll(async () => {
    await Promise.all([p.destroy(), t.destroy()]);
});

const HOSTILE = [
    "$(touch /tmp/pwned-subst)",
    "`touch /tmp/pwned-backtick`",
    "x; touch /tmp/pwned-semicolon",
    "x\ntouch /tmp/pwned-newline",
    "x && touch /tmp/pwned-and",
    "x' ; touch /tmp/pwned-quote ; '",
];

/** Files named pwned* in the box's /tmp (what any of the hostile values would have created). */
const pwned = (box: string) => dockerCli("exec", box, "sh", "-c", "ls /tmp | grep -c pwned || true");

// The boxes are the program's own containers: the proxy the switch's scripts run in, and a
// color replica. The scripts run as the container's root, as the switch runs them.
describe.each([
    ["the nginx proxy", () => p.proxy()],
    ["the Traefik proxy", () => t.proxy()],
    ["a color replica", () => p.containers("blue")[0]],
])("values never reach a shell, in %s", (_what, boxOf) => {
    let box = "";
    beforeAll(() => {
        box = boxOf();
    });

    it("the box would let a shell create the files (a control: the checks below can fail)", async () => {
        const r = await execScript(box, 'touch "/tmp/$1"', ["pwned-control"]);
        expect(r.code).toBe(0);
        expect(pwned(box)).toBe("1");
        dockerCli("exec", box, "rm", "-f", "/tmp/pwned-control");
        expect(pwned(box)).toBe("0");
    });

    it("arguments of the switch's scripts arrive verbatim and run nothing", async () => {
        for (const value of HOSTILE) {
            const r = await execScript(box, 'printf "%s" "$1"', [value]);
            expect(r.code).toBe(0);
            expect(r.stdout).toBe(value);
        }
        expect(pwned(box)).toBe("0");
    });

    it("a hostile URL given to the health gate is just a URL that fails", async () => {
        for (const value of HOSTILE) {
            const url = `http://127.0.0.1:9/${value}`; // nothing listens on port 9
            const r = await execScript(box, HEALTH_SCRIPT, ["1", "1", "5", url]);
            expect(r.code).toBe(1);
            expect(r.stdout.startsWith(`${url} answered 000 after 1 attempt(s) in `), r.stdout).toBe(true);
        }
        expect(pwned(box)).toBe("0");
    });

    it("stdin carries the config: shell syntax in it is data", async () => {
        const text = HOSTILE.join("\n");
        const r = await execScript(box, 'cat > /tmp/copy && cat /tmp/copy && rm -f /tmp/copy', [], { stdin: text });
        expect(r.code).toBe(0);
        expect(r.stdout).toBe(text);
        expect(pwned(box)).toBe("0");
    });
});

/** Connects to host:port; resolves "open" or the error code (ECONNREFUSED, ...). */
function probe(host: string, port: number): Promise<string> {
    return new Promise((resolve) => {
        const sock = net.connect({ host, port, timeout: 2000 });
        sock.on("connect", () => { sock.destroy(); resolve("open"); });
        sock.on("timeout", () => { sock.destroy(); resolve("timeout"); });
        sock.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? String(e)));
    });
}

/** What the kernel grants a container's first process. */
function processPrivileges(container: string) {
    const status = dockerCli("exec", container, "cat", "/proc/1/status");
    const field = (name: string) => new RegExp(`^${name}:\\s*(\\S+)$`, "m").exec(status)?.[1];
    return { noNewPrivs: field("NoNewPrivs"), capBnd: field("CapBnd"), capEff: field("CapEff") };
}

describe("least privilege, read from the containers the program created", () => {
    // Kernel capability bounding sets, as /proc prints them: CHOWN(0) DAC_OVERRIDE(1) SETGID(6)
    // SETUID(7) NET_BIND_SERVICE(10) for nginx, NET_BIND_SERVICE alone for Traefik, none for an app.
    it.each([
        ["a color replica", () => p.containers("blue")[0], "0000000000000000"],
        ["the nginx proxy", () => p.proxy(), "00000000000004c3"],
        ["the Traefik proxy", () => t.proxy(), "0000000000000400"],
    ])("%s runs with no-new-privileges and only the capabilities it needs", (_what, name, capBnd) => {
        const container = name();
        expect(processPrivileges(container)).toMatchObject({ noNewPrivs: "1", capBnd });
        const host = JSON.parse(dockerCli("inspect", "-f", "{{json .HostConfig}}", container));
        expect(host).toMatchObject({ Privileged: false, SecurityOpt: ["no-new-privileges"], CapDrop: ["ALL"] });
    });

    it("every color replica of both stacks has the same hardening, and publishes no port: it is reachable only through the proxy", () => {
        const replicas = [...p.containers("blue"), ...p.containers("green"), ...t.containers("blue"), ...t.containers("green")];
        expect(replicas).toHaveLength(4);
        for (const replica of replicas) {
            expect(dockerCli("port", replica), replica).toBe("");
            const host = JSON.parse(dockerCli("inspect", "-f", "{{json .HostConfig}}", replica));
            expect(host, replica).toMatchObject({ Privileged: false, SecurityOpt: ["no-new-privileges"], CapDrop: ["ALL"] });
            expect(host.CapAdd ?? [], replica).toEqual([]);
            expect(processPrivileges(replica), replica).toMatchObject({ noNewPrivs: "1", capBnd: "0000000000000000" });
        }
    });

    it.each([
        ["nginx", () => p, LIVE_PORT, PREVIEW_PORT],
        ["traefik", () => t, TRAEFIK_LIVE_PORT, TRAEFIK_PREVIEW_PORT],
    ] as const)("the %s proxy publishes exactly its two ports, on loopback only", async (_kind, stackOf, liveInside, previewInside) => {
        const s = stackOf();
        const container = s.proxy();
        const live = Number(new URL(s.url).port);
        const preview = Number(new URL(s.previewUrl).port);
        expect(dockerCli("port", container).split("\n").sort()).toEqual(
            [`${liveInside}/tcp -> 127.0.0.1:${live}`, `${previewInside}/tcp -> 127.0.0.1:${preview}`].sort());
        // Up and answering on loopback: the live color on url, the idle one on previewUrl...
        for (const port of [live, preview]) expect(await probe("127.0.0.1", port)).toBe("open");
        expect((await getJson(s.url)).json).toMatchObject({ color: "blue" });
        expect((await getJson(s.previewUrl)).json).toMatchObject({ color: "green" });
        // ...and refused on every other address of this host.
        const others = Object.values(os.networkInterfaces()).flat()
            .filter((a): a is os.NetworkInterfaceInfo => !!a && a.family === "IPv4" && !a.internal).map((a) => a.address);
        expect(others.length, "this host has a non-loopback address (docker0 at least)").toBeGreaterThan(0);
        for (const address of others) {
            for (const port of [live, preview]) expect(`${address}:${port} ${await probe(address, port)}`).toBe(`${address}:${port} ECONNREFUSED`);
        }
    });
});

/** A plain GET from this process, as any client of the published ports: status, headers, body. */
function plainGet(url: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
    return new Promise((resolve, reject) => {
        const req = http.get(url, { agent: false, timeout: 5000 }, (res) => {
            let body = "";
            res.setEncoding("utf8");
            res.on("data", (d) => (body += d));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        });
        req.on("timeout", () => req.destroy(new Error(`GET ${url} timed out`)));
        req.on("error", reject);
    });
}

/** Runs a GET inside a container, as the switch reads the status (curl, or busybox wget in Traefik's image). */
function getInside(container: string, url: string): string {
    return dockerCli("exec", container, "sh", "-c", 'curl -s -m 2 "$1" 2>/dev/null || wget -qO- -T 2 "$1"', "sh", url);
}

/** The proxy container's address on the stack's network, as another container of it would reach it. */
function networkAddress(container: string): string {
    const nets = JSON.parse(dockerCli("inspect", "-f", "{{json .NetworkSettings.Networks}}", container)) as Record<string, { IPAddress: string }>;
    const addresses = Object.values(nets).map((n) => n.IPAddress).filter(Boolean);
    expect(addresses).toHaveLength(1);
    return addresses[0];
}

describe("an outside client of url and previewUrl reaches the colors, and nothing of the proxy's own", () => {
    // The proxy's status and API paths (nginx's status document, Traefik's API and dashboard), a
    // path of the app, and the root: every one must be the app's answer, from the listener's color.
    const PATHS = ["/", STATUS_PATH, "/__bluegreen/", TRAEFIK_STATUS_PATH, "/api/http/routers", "/api/rawdata", "/api/overview", "/api/version", "/dashboard/", "/ping", "/health"];

    it.each([
        ["nginx", () => p, STATUS_PORT, STATUS_PATH, '"generation":"', true],
        ["traefik", () => t, TRAEFIK_API_PORT, TRAEFIK_STATUS_PATH, '"service":"blue-', false],
    ] as const)("%s: every path of url and previewUrl is the app's answer; the color header never on url", async (_kind, stackOf, statusPort, statusPath, statusMark, previewHeader) => {
        const s = stackOf();
        for (const [url, color] of [[s.url, "blue"], [s.previewUrl, "green"]] as const) {
            for (const path of PATHS) {
                const r = await plainGet(url + path);
                const what = `GET ${url}${path} → ${r.status} ${JSON.stringify(r.headers)} ${r.body.slice(0, 200)}`;
                // The demo app's answer: its JSON, with the listener's color, and nothing of the proxy's.
                expect(r.status, what).toBe(200);
                const body = JSON.parse(r.body);
                expect(body.color, what).toBe(color);
                expect(r.body, what).not.toContain("generation");
                expect(r.body, what).not.toContain("@file");
                expect(r.body, what).not.toContain("@internal");
                const tags = Object.keys(r.headers).filter((h) => h.startsWith("x-bluegreen"));
                if (url === s.url || !previewHeader) expect(tags, what).toEqual([]);
                // nginx names the color on the preview listener only: the smoke test reads it there.
                else expect([tags, r.headers["x-bluegreen-color"]], what).toEqual([["x-bluegreen-color"], color]);
            }
        }
        // The status the switch reads is there, inside the container (a control: the path above
        // would have been caught had it been served publicly)...
        const proxy = s.proxy();
        expect(getInside(proxy, `http://127.0.0.1:${statusPort}${statusPath}`)).toContain(statusMark);
        // ...and bound to the container's loopback: on the container's own address, refused,
        // where the live listener answers (so the address is reachable from here).
        const address = networkAddress(proxy);
        expect(await probe(address, LIVE_PORT)).toBe("open");
        expect(`${address}:${statusPort} ${await probe(address, statusPort)}`).toBe(`${address}:${statusPort} ECONNREFUSED`);
    });
});

describe("the bad-config table through `pulumi preview` and `pulumi up` of the real program", () => {
    // A stack of its own, never brought up; ports of its own, so that a case `up` wrongly
    // accepted could not take another stack's.
    const cfg = new ProgramStack(`${id}-cfg`);
    let stack: Stack;
    let ports: Record<string, string> = {};
    beforeAll(async () => {
        stack = cfg.stack = await LocalWorkspace.createStack({ stackName: cfg.id, workDir: ROOT }, await workspaceOptions());
        const live = await freePort();
        let preview = await freePort();
        while (preview === live) preview = await freePort();
        ports = { "bluegreen:proxyPort": String(live), "bluegreen:previewPort": String(preview) };
    });
    afterAll(async () => {
        // Destroys whatever a wrong `up` created, removes the stack and its file, and anything left with its label.
        await cfg.destroy();
    });

    it.each(badConfigs.map((c) => [c.name, c] as const))("refuses %s in preview and up, naming the key, and creates nothing", async (_name, c) => {
        const config = Object.fromEntries(Object.entries(c.config).map(([k, v]) => [`bluegreen:${k}`, { value: v }]));
        await stack.setAllConfig({ ...Object.fromEntries(Object.entries(ports).map(([k, value]) => [k, { value }])), ...config });
        try {
            // Ours, or the engine's own check of Pulumi.yaml's declared type, which runs first for
            // non-integers in integer keys ("configuration key 'proxyPort' must be of type 'integer'").
            const named = (error: unknown) =>
                String(error).includes(`invalid stack config: \`${c.key}\` is `) || String(error).includes(`configuration key '${c.key}' must be of type`);
            const previewError = await stack.preview().then(() => undefined, (e: Error) => e);
            expect(previewError, "preview must fail").toBeDefined();
            expect(named(previewError), String(previewError)).toBe(true);
            // A preview never writes state: only `up` shows that nothing is created.
            const upError = await stack.up({ onOutput: () => undefined }).then(() => undefined, (e: Error) => e);
            expect(upError, "up must fail").toBeDefined();
            expect(named(upError), String(upError)).toBe(true);
            // Nothing in the state but the stack itself, and nothing on the engine with the stack's label.
            const resources = (await stack.exportStack()).deployment.resources ?? [];
            expect(resources.filter((r: { type: string }) => r.type !== "pulumi:pulumi:Stack").map((r: { urn: string }) => r.urn)).toEqual([]);
            expect(cfg.leftovers()).toEqual([]);
        } finally {
            for (const k of Object.keys(c.config)) await stack.removeConfig(`bluegreen:${k}`);
        }
    });
});
