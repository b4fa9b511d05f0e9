/**
 * Hardening on the real engine: hostile values cannot run anything, and every entry of the
 * bad-config table is refused by `pulumi preview` of the real program before anything changes.
 */
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execScript } from "../../components/dockerExec";
import { HEALTH_SCRIPT } from "../../components/trafficSwitch";
import badConfigs from "../fixtures/bad-configs.json";
import { DockerFixture, dockerCli, freePort } from "../helpers/dockerFixture";
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

beforeAll(async () => {
    box = await fixture.color("box", { image: "bluegreen/demo:1.0.0", color: "blue" });
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

describe("least privilege, on containers started from the components' declared arguments", () => {
    const traefik = new DockerFixture(`${id}-t`);
    const ports = { nginx: [0, 0], traefik: [0, 0] };
    let nginxProxy = "";
    let traefikProxy = "";

    beforeAll(async () => {
        ports.nginx = [await freePort(), await freePort()];
        ports.traefik = [await freePort(), await freePort()];
        nginxProxy = await fixture.proxy("nginx", ports.nginx[0], ports.nginx[1]);
        traefikProxy = await traefik.proxy("traefik", ports.traefik[0], ports.traefik[1]);
    });
    afterAll(() => traefik.destroy());

    // Kernel capability bounding sets, as /proc prints them: CHOWN(0) DAC_OVERRIDE(1) SETGID(6)
    // SETUID(7) NET_BIND_SERVICE(10) for nginx, NET_BIND_SERVICE alone for Traefik, none for an app.
    it.each([
        ["a color replica", () => box, "0000000000000000"],
        ["the nginx proxy", () => nginxProxy, "00000000000004c3"],
        ["the Traefik proxy", () => traefikProxy, "0000000000000400"],
    ])("%s runs with no-new-privileges and only the capabilities it needs", (_what, name, capBnd) => {
        const container = name();
        expect(processPrivileges(container)).toMatchObject({ noNewPrivs: "1", capBnd });
        const host = JSON.parse(dockerCli("inspect", "-f", "{{json .HostConfig}}", container));
        expect(host).toMatchObject({ Privileged: false, SecurityOpt: ["no-new-privileges"], CapDrop: ["ALL"] });
    });

    it("a color replica publishes no port: it is reachable only through the proxy", () => {
        expect(dockerCli("port", box)).toBe("");
    });

    it.each(["nginx", "traefik"] as const)("the %s proxy publishes exactly its two ports, on loopback only", async (kind) => {
        const container = kind === "nginx" ? nginxProxy : traefikProxy;
        const [live, preview] = ports[kind];
        expect(dockerCli("port", container).split("\n").sort()).toEqual(
            [`80/tcp -> 127.0.0.1:${live}`, `81/tcp -> 127.0.0.1:${preview}`].sort());
        // Up and answering on loopback (no route until a switch applies: 503 from nginx, 404 from Traefik)...
        for (const port of [live, preview]) {
            expect(await probe("127.0.0.1", port)).toBe("open");
            expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBeGreaterThanOrEqual(400);
        }
        // ...and refused on every other address of this host.
        const others = Object.values(os.networkInterfaces()).flat()
            .filter((a): a is os.NetworkInterfaceInfo => !!a && a.family === "IPv4" && !a.internal).map((a) => a.address);
        expect(others.length, "this host has a non-loopback address (docker0 at least)").toBeGreaterThan(0);
        for (const address of others) {
            for (const port of [live, preview]) expect(`${address}:${port} ${await probe(address, port)}`).toBe(`${address}:${port} ECONNREFUSED`);
        }
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
