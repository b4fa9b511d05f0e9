import type * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { installMocks, promiseOf, Registered } from "../helpers/mocks";

const sink = installMocks();
// Imported after the mocks are installed, as Pulumi's testing guide requires.
let dockerStack: typeof import("../../stacks/docker").dockerStack;
let parseSettings: typeof import("../../components/settings").parseSettings;

const base = { blueImage: "bluegreen/demo:1.0.0", greenImage: "bluegreen/demo:2.0.0", blueReplicas: "2" };

/** Declares the stack for `activeColor` and returns what it registered, with resolved inputs. */
async function declare(activeColor: "blue" | "green") {
    const start = sink.resources.length;
    const out = dockerStack("bg-test", parseSettings({ ...base, activeColor }));
    const outputs = {
        activeColor: await promiseOf(out.activeColor),
        idleColor: await promiseOf(out.idleColor),
        url: await promiseOf(out.url),
        previewUrl: await promiseOf(out.previewUrl),
        images: { blue: await promiseOf(out.images.blue), green: await promiseOf(out.images.green) },
    };
    await new Promise((r) => setTimeout(r, 50)); // let the last registrations land
    return { resources: sink.resources.slice(start), outputs };
}

const byName = (rs: Registered[]) => new Map(rs.map((r) => [`${r.type}::${r.name}`, r]));
const theSwitch = (rs: Registered[]) => rs.find((r) => r.name.endsWith("-proxy-switch"))!;

describe("the Docker stack", () => {
    let blue: Awaited<ReturnType<typeof declare>>;
    let green: Awaited<ReturnType<typeof declare>>;

    beforeAll(async () => {
        ({ dockerStack } = await import("../../stacks/docker"));
        ({ parseSettings } = await import("../../components/settings"));
        blue = await declare("blue");
        green = await declare("green");
    });

    it("declares both colors with stable names, whatever the active color", () => {
        const names = (rs: Registered[]) => rs.map((r) => `${r.type}::${r.name}`).sort();
        expect(names(blue.resources)).toEqual(names(green.resources));
        expect(names(blue.resources)).toEqual(expect.arrayContaining([
            "bluegreen:docker:ColorEnvironment::bg-test-blue",
            "bluegreen:docker:ColorEnvironment::bg-test-green",
            "docker:index/container:Container::bg-test-blue-0",
            "docker:index/container:Container::bg-test-blue-1",
            "docker:index/container:Container::bg-test-green-0",
            "bluegreen:docker:NginxProxy::bg-test-proxy",
            "docker:index/container:Container::bg-test-proxy",
            "docker:index/volume:Volume::bg-test-proxy-config",
            "docker:index/network:Network::bg-test-net",
            "bluegreen:docker:TrafficSwitch::bg-test-proxy-switch",
        ]));
    });

    it("labels each color's containers with color and version and keeps them on the private network", () => {
        const c = byName(blue.resources).get("docker:index/container:Container::bg-test-green-0")!;
        expect(c.inputs.image).toBe("bluegreen/demo:2.0.0");
        expect(c.inputs.labels).toEqual(expect.arrayContaining([{ label: "color", value: "green" }, { label: "version", value: "2.0.0" }]));
        expect(c.inputs.ports).toBeUndefined();
        expect(c.inputs.securityOpts).toEqual(["no-new-privileges"]);
    });

    it("routes the live listener to the active color and the preview listener to the idle one", () => {
        const sw = theSwitch(blue.resources).inputs;
        expect(sw.activeColor).toBe("blue");
        expect(sw.config).toMatch(/listen 80;[\s\S]*proxy_pass http:\/\/\$bluegreen_blue;[\s\S]*listen 81;[\s\S]*proxy_pass http:\/\/\$bluegreen_green;/);
        const swGreen = theSwitch(green.resources).inputs;
        expect(swGreen.activeColor).toBe("green");
        expect(swGreen.config).toMatch(/listen 80;[\s\S]*proxy_pass http:\/\/\$bluegreen_green;[\s\S]*listen 81;[\s\S]*proxy_pass http:\/\/\$bluegreen_blue;/);
    });

    it("health-gates every replica of the active color, on its health path", () => {
        expect(theSwitch(blue.resources).inputs.gateUrls).toEqual(["http://bg-test-blue-0-c0ffee:8080/health", "http://bg-test-blue-1-c0ffee:8080/health"]);
        expect(theSwitch(green.resources).inputs.gateUrls).toHaveLength(1);
        expect(theSwitch(blue.resources).inputs.health).toEqual({ retries: 10, intervalSeconds: 1, deadlineSeconds: 60 });
    });

    it("changing activeColor changes only the traffic switch's inputs", () => {
        const b = byName(blue.resources);
        const g = byName(green.resources);
        const changed = [...b.keys()].filter((k) => {
            const strip = (r: Registered) => JSON.stringify(r.inputs, (key, v) => (key === "__provider" ? undefined : v));
            // Container IPs come from the mock's counter; compare the environments on what defines them.
            const normalise = (s: string) => s.replace(/10\.9\.0\.\d+/g, "IP").replace(/generation[^\n]*/g, "");
            return normalise(strip(b.get(k)!)) !== normalise(strip(g.get(k)!));
        });
        expect(changed).toEqual(["bluegreen:docker:TrafficSwitch::bg-test-proxy-switch"]);
        const sb = theSwitch(blue.resources).inputs;
        const sg = theSwitch(green.resources).inputs;
        expect([sb.activeColor, sg.activeColor]).toEqual(["blue", "green"]);
        expect(sb.container).toBe(sg.container);
    });

    it("publishes only the two listeners, on the configured bind address", () => {
        const proxy = byName(blue.resources).get("docker:index/container:Container::bg-test-proxy")!;
        expect(proxy.inputs.ports).toEqual([
            { internal: 80, external: 8080, ip: "127.0.0.1", protocol: "tcp" },
            { internal: 81, external: 8081, ip: "127.0.0.1", protocol: "tcp" },
        ].map(({ protocol, ...p }) => expect.objectContaining(p)));
    });

    it("with proxyKind traefik, declares a Traefik proxy whose switch writes Traefik's file", async () => {
        const start = sink.resources.length;
        const out = dockerStack("bg-traefik", parseSettings({ ...base, proxyKind: "traefik" }));
        await promiseOf(out.activeColor);
        await new Promise((r) => setTimeout(r, 50));
        const rs = sink.resources.slice(start);
        const proxy = rs.find((r) => r.type === "docker:index/container:Container" && r.name === "bg-traefik-proxy")!;
        expect(proxy.inputs.image).toBe("bluegreen/traefik:local");
        expect(proxy.inputs.command[0]).toBe("traefik");
        expect(proxy.inputs.capabilities).toEqual({ drops: ["ALL"], adds: ["CAP_NET_BIND_SERVICE"] });
        expect(rs.map((r) => r.type)).toContain("bluegreen:docker:TraefikProxy");
        const sw = rs.find((r) => r.name === "bg-traefik-proxy-switch")!.inputs;
        expect(sw.kind).toBe("traefik");
        expect(sw.config).toContain('"service": "blue-');
        expect(sw.statusUrl).toBe("http://127.0.0.1:8082/api/http/routers/live@file");
    });

    it("declares no smoke test (no Command at all) unless smokeTestPath is set", () => {
        expect(blue.resources.filter((r) => r.type.startsWith("command:"))).toEqual([]);
    });

    it("with smokeTestPath, declares one fixed command that checks the color about to go live through previewUrl", async () => {
        const start = sink.resources.length;
        const out = dockerStack("bg-smoke", parseSettings({ ...base, activeColor: "green", smokeTestPath: "/api/ping", smokeTestStatus: "204" }));
        await promiseOf(out.activeColor);
        await new Promise((r) => setTimeout(r, 50));
        const rs = sink.resources.slice(start);
        const smoke = rs.filter((r) => r.type === "command:local:Command");
        expect(smoke.map((r) => r.name)).toEqual(["bg-smoke-proxy-smoke"]);
        const args = smoke[0].inputs;
        // No shell and no config value in the command: node runs the fixed script, values come as environment.
        expect(args.interpreter.slice(0, 2)).toEqual(["node", "-e"]);
        expect(args.create).toBe("bluegreen smoke test");
        expect(args.environment).toEqual({
            BLUEGREEN_SMOKE_COLOR: "green", BLUEGREEN_SMOKE_PATH: "/api/ping", BLUEGREEN_SMOKE_STATUS: "204",
            BLUEGREEN_SMOKE_PREVIEW_URL: "http://127.0.0.1:8081", BLUEGREEN_SMOKE_URL: "http://127.0.0.1:8080",
        });
        // Re-run (replaced) when the target color or its replicas change.
        expect(args.triggers).toEqual(["green", ["bg-smoke-green-0-c0ffee"]]);
    });

    it("exports the colors, the URLs and each color's image", () => {
        expect(blue.outputs).toEqual({
            activeColor: "blue", idleColor: "green",
            url: "http://127.0.0.1:8080", previewUrl: "http://127.0.0.1:8081",
            images: { blue: "bluegreen/demo:1.0.0", green: "bluegreen/demo:2.0.0" },
        });
        expect(green.outputs.activeColor).toBe("green");
        expect(green.outputs.idleColor).toBe("blue");
    });
});

describe("replacement order of the Docker containers", () => {
    /** Declares one component with a transformation that records each child's deleteBeforeReplace. */
    async function replaceOrder(declare: (record: pulumi.ResourceTransformation) => unknown): Promise<Record<string, boolean | undefined>> {
        const seen: Record<string, boolean | undefined> = {};
        declare((a) => {
            if (a.type === "docker:index/container:Container") seen[a.name] = (a.opts as pulumi.CustomResourceOptions).deleteBeforeReplace;
            return undefined;
        });
        await new Promise((r) => setTimeout(r, 50));
        return seen;
    }
    const colors = {
        blue: { image: "bluegreen/demo:1.0.0", target: "blue:8080", healthUrls: ["http://blue-0:8080/health"] },
        green: { image: "bluegreen/demo:2.0.0", target: "green:8080", healthUrls: ["http://green-0:8080/health"] },
    };

    it.each(["nginx", "traefik"] as const)("the %s proxy, which holds fixed host ports, is removed before its replacement starts", async (kind) => {
        const { NginxProxy } = await import("../../components/docker/nginxProxy");
        const { TraefikProxy } = await import("../../components/docker/traefikProxy");
        const { parseSettings } = await import("../../components/settings");
        const s = parseSettings({ proxyKind: kind });
        const Proxy = kind === "traefik" ? TraefikProxy : NginxProxy;
        const seen = await replaceOrder((t) => new Proxy(`order-${kind}`, {
            settings: s.proxy, health: s.health, drainSeconds: s.drainSeconds, activeColor: "blue", colors, networkName: "net",
        }, { transformations: [t] }));
        expect(seen).toEqual({ [`order-${kind}`]: true });
    });

    it("a color's replicas are replaced create-first, so the old ones serve until the switch has moved", async () => {
        const { ColorEnvironment } = await import("../../components/docker/colorEnvironment");
        const { parseSettings } = await import("../../components/settings");
        const s = parseSettings({ greenReplicas: "2" });
        const seen = await replaceOrder((t) => new ColorEnvironment("order-green", { color: "green", settings: s.green, networkName: "net" }, { transformations: [t] }));
        expect(seen).toEqual({ "order-green-0": false, "order-green-1": false });
    });
});

describe("the smoke test's place in the graph", () => {
    it("runs after the target color and the proxy container, and the switch waits for it", async () => {
        const { NginxProxy } = await import("../../components/docker/nginxProxy");
        const { parseSettings } = await import("../../components/settings");
        const s = parseSettings({ smokeTestPath: "/" });
        const deps: Record<string, string[]> = {};
        const target = new (await import("@pulumi/pulumi")).ComponentResource("test:index:Target", "graph-target");
        new NginxProxy("graph", {
            settings: s.proxy, health: s.health, drainSeconds: s.drainSeconds, activeColor: "blue", networkName: "net",
            colors: {
                blue: { image: "bluegreen/demo:1.0.0", target: "blue:8080", healthUrls: ["http://blue-0:8080/health"] },
                green: { image: "bluegreen/demo:2.0.0", target: "green:8080", healthUrls: ["http://green-0:8080/health"] },
            },
            smokeTest: { settings: s.smokeTest!, target: "blue", targetContainers: ["blue-0"], previewUrl: "http://127.0.0.1:8081", url: "http://127.0.0.1:8080", after: [target] },
        }, {
            transformations: [(a) => {
                const on = (a.opts as pulumi.CustomResourceOptions).dependsOn;
                deps[a.name] = ([] as pulumi.Resource[]).concat((on as pulumi.Resource[] | undefined) ?? []).map((r) => (r as unknown as { __name: string }).__name);
                return undefined;
            }],
        });
        await new Promise((r) => setTimeout(r, 50));
        expect(deps["graph-smoke"]).toEqual(["graph", "graph-target"]);
        expect(deps["graph-switch"]).toEqual(["graph-smoke"]);
    });
});
