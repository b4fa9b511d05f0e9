/**
 * `docker.BlueGreenService` under Pulumi's mocks, driven as the demo program drives it (its stack
 * config through `parseSettings` and `dockerServiceArgs`) and with args only a program passes
 * (Outputs, providers). Every service declared here claims its host ports for the whole file (a
 * second service on a port another publishes fails): each name keeps ports of its own.
 * Port conflicts between services are in dockerServicePorts.test.ts.
 */
import type * as dockerTypes from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import type { DockerServiceArgs } from "../../components/serviceArgs";
import { collectingUnhandledRejections, installMocks, promiseOf, Registered, settle } from "../helpers/mocks";

const sink = installMocks();
// Imported after the mocks are installed, as Pulumi's testing guide requires.
let BlueGreenService: typeof import("../../components/docker/service").BlueGreenService;
let dockerServiceArgs: typeof import("../../stacks/service").dockerServiceArgs;
let parseSettings: typeof import("../../components/settings").parseSettings;
let docker: typeof dockerTypes;

beforeAll(async () => {
    ({ BlueGreenService } = await import("../../components/docker/service"));
    ({ dockerServiceArgs } = await import("../../stacks/service"));
    ({ parseSettings } = await import("../../components/settings"));
    docker = await import("@pulumi/docker");
});

const base = { blueImage: "bluegreen/demo:1.0.0", greenImage: "bluegreen/demo:2.0.0", blueReplicas: "2" };

/**
 * Declares service `name` from stack config `raw` (with `change` applied to the args it maps to)
 * and returns what it registered, with resolved inputs, and its resolved outputs.
 */
async function declare(name: string, raw: Record<string, string> = {}, opts?: pulumi.ComponentResourceOptions, change = (a: DockerServiceArgs) => a) {
    const start = sink.resources.length;
    const service = new BlueGreenService(name, change(dockerServiceArgs(parseSettings({ ...base, ...raw }), name)), opts);
    const outputs = {
        activeColor: await promiseOf(service.activeColor),
        idleColor: await promiseOf(service.idleColor),
        url: await promiseOf(service.url),
        previewUrl: await promiseOf(service.previewUrl),
        blueImage: await promiseOf(service.blueImage),
        greenImage: await promiseOf(service.greenImage),
        proxyContainerName: await promiseOf(service.proxyContainerName),
        networkName: await promiseOf(service.networkName),
    };
    await settle(); // let the last registrations land
    return { resources: sink.resources.slice(start), outputs };
}

const key = (r: Registered) => `${r.type}::${r.name}`;
const byName = (rs: Registered[]) => new Map(rs.map((r) => [key(r), r]));
const theSwitch = (rs: Registered[]) => rs.find((r) => r.type === "bluegreen:docker:TrafficSwitch")!;
const CONTAINER = "docker:index/container:Container";
/** A resource's inputs as JSON, without the provider reference some carry. */
const inputsOf = (r: Registered) => JSON.stringify(r.inputs, (k, v) => (k === "__provider" ? undefined : v));

describe("the Docker service, from the demo's stack config", () => {
    let blue: Awaited<ReturnType<typeof declare>>;
    let green: Awaited<ReturnType<typeof declare>>;

    beforeAll(async () => {
        blue = await declare("bg-test", { activeColor: "blue" });
        green = await declare("bg-test", { activeColor: "green" });
    });

    it("declares the component, both colors and the proxy with stable names, whatever the active color", () => {
        const names = (rs: Registered[]) => rs.map(key).sort();
        expect(names(blue.resources)).toEqual(names(green.resources));
        expect(names(blue.resources)).toEqual(expect.arrayContaining([
            "bluegreen:docker:BlueGreenService::bg-test",
            "bluegreen:docker:ColorEnvironment::bg-test-blue",
            "bluegreen:docker:ColorEnvironment::bg-test-green",
            `${CONTAINER}::bg-test-blue-0`,
            `${CONTAINER}::bg-test-blue-1`,
            `${CONTAINER}::bg-test-green-0`,
            "bluegreen:docker:NginxProxy::bg-test-proxy",
            `${CONTAINER}::bg-test-proxy`,
            "docker:index/volume:Volume::bg-test-proxy-config",
            "docker:index/network:Network::bg-test-net",
            "bluegreen:docker:TrafficSwitch::bg-test-proxy-switch",
        ]));
    });

    it("parents its children to the service, each aliased to the name it had at the stack's root", async () => {
        const seen: { name: string; parent?: string; rootAlias: boolean }[] = [];
        await declare("bg-test", {}, {
            transformations: [(a) => {
                const aliases = (a.opts.aliases ?? []) as pulumi.Alias[];
                seen.push({
                    name: a.name,
                    parent: (a.opts.parent as unknown as { __name?: string } | undefined)?.__name,
                    // `{ parent: pulumi.rootStackResource }`: the key present, its value undefined.
                    rootAlias: aliases.some((x) => typeof x === "object" && "parent" in x && x.parent === pulumi.rootStackResource),
                });
                return undefined;
            }],
        });
        const direct = seen.filter((s) => s.parent === "bg-test");
        expect(direct.map((s) => s.name).sort()).toEqual(["bg-test-blue", "bg-test-green", "bg-test-net", "bg-test-proxy"]);
        expect(direct.every((s) => s.rootAlias)).toBe(true);
        // Deeper children keep their own parents (and their names: the parent's alias covers them).
        expect(seen.find((s) => s.name === "bg-test-blue-0")?.parent).toBe("bg-test-blue");
        expect(seen.find((s) => s.name === "bg-test-proxy-switch")?.parent).toBe("bg-test-proxy");
    });

    it("labels each color's containers with color and version and keeps them on the private network", () => {
        const c = byName(blue.resources).get(`${CONTAINER}::bg-test-green-0`)!;
        expect(c.inputs.image).toBe("bluegreen/demo:2.0.0");
        expect(c.inputs.labels).toEqual(expect.arrayContaining([
            { label: "color", value: "green" }, { label: "version", value: "2.0.0" }, { label: "bluegreen.stack", value: "bg-test" },
        ]));
        expect(c.inputs.ports).toBeUndefined();
        expect(c.inputs.securityOpts).toEqual(["no-new-privileges"]);
        expect(byName(blue.resources).get("docker:index/network:Network::bg-test-net")!.inputs.labels).toEqual([{ label: "bluegreen.stack", value: "bg-test" }]);
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
        expect(theSwitch(green.resources).inputs.gateUrls).toEqual(["http://bg-test-green-0-c0ffee:8080/health"]);
        expect(theSwitch(blue.resources).inputs.health).toEqual({ retries: 10, intervalSeconds: 1, deadlineSeconds: 60 });
    });

    it("changing activeColor changes only the traffic switch's inputs", () => {
        const b = byName(blue.resources);
        const g = byName(green.resources);
        const changed = [...b.keys()].filter((k) => {
            // Container IPs come from the mock's counter; compare the environments on what defines them.
            const normalise = (s: string) => s.replace(/10\.9\.0\.\d+/g, "IP").replace(/generation[^\n]*/g, "");
            return normalise(inputsOf(b.get(k)!)) !== normalise(inputsOf(g.get(k)!));
        });
        expect(changed).toEqual(["bluegreen:docker:TrafficSwitch::bg-test-proxy-switch"]);
        const sb = theSwitch(blue.resources).inputs;
        const sg = theSwitch(green.resources).inputs;
        expect([sb.activeColor, sg.activeColor]).toEqual(["blue", "green"]);
        expect(sb.container).toBe(sg.container);
    });

    it("publishes only the two listeners, on the configured bind address", () => {
        const proxy = byName(blue.resources).get(`${CONTAINER}::bg-test-proxy`)!;
        expect(proxy.inputs.ports).toEqual([
            { internal: 80, external: 8080, ip: "127.0.0.1", protocol: "tcp" },
            { internal: 81, external: 8081, ip: "127.0.0.1", protocol: "tcp" },
        ].map(({ protocol, ...p }) => expect.objectContaining(p)));
    });

    it("with the default docker provider, the switch uses the docker CLI's default engine", () => {
        expect(theSwitch(blue.resources).inputs.dockerHost).toBe("");
        expect(byName(blue.resources).get(`${CONTAINER}::bg-test-blue-0`)!.provider).toBe("");
    });

    it("with proxyKind traefik, declares a Traefik proxy whose switch writes Traefik's file", async () => {
        const { resources: rs } = await declare("bg-traefik", { proxyKind: "traefik", proxyPort: "8180", previewPort: "8181" });
        const proxy = rs.find((r) => r.type === CONTAINER && r.name === "bg-traefik-proxy")!;
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
        const { resources: rs } = await declare("bg-smoke", {
            activeColor: "green", smokeTestPath: "/api/ping", smokeTestStatus: "204", proxyPort: "8280", previewPort: "8281",
        });
        const smoke = rs.filter((r) => r.type === "command:local:Command");
        expect(smoke.map((r) => r.name)).toEqual(["bg-smoke-proxy-smoke"]);
        const args = smoke[0].inputs;
        // No shell and no config value in the command: node runs the fixed script, values come as environment.
        expect(args.interpreter.slice(0, 2)).toEqual(["node", "-e"]);
        expect(args.create).toBe("bluegreen smoke test");
        expect(args.environment).toEqual({
            BLUEGREEN_SMOKE_COLOR: "green", BLUEGREEN_SMOKE_PATH: "/api/ping", BLUEGREEN_SMOKE_STATUS: "204",
            BLUEGREEN_SMOKE_PREVIEW_URL: "http://127.0.0.1:8281", BLUEGREEN_SMOKE_URL: "http://127.0.0.1:8280",
        });
        // Re-run (replaced) when the target color or its replicas change.
        expect(args.triggers).toEqual(["green", ["bg-smoke-green-0-c0ffee"]]);
    });

    it("exports the colors, the URLs, each color's image and the proxy's and network's names", () => {
        expect(blue.outputs).toEqual({
            activeColor: "blue", idleColor: "green",
            url: "http://127.0.0.1:8080", previewUrl: "http://127.0.0.1:8081",
            blueImage: "bluegreen/demo:1.0.0", greenImage: "bluegreen/demo:2.0.0",
            proxyContainerName: "bg-test-proxy-c0ffee", networkName: "bg-test-net-c0ffee",
        });
        expect(green.outputs.activeColor).toBe("green");
        expect(green.outputs.idleColor).toBe("blue");
    });
});

describe("args a program passes", () => {
    it("activeColor as an Output: the switch, its gate and the outputs follow it, as for the plain value", async () => {
        const plain = await declare("bg-test", { activeColor: "green" });
        const out = await declare("bg-test", { activeColor: "blue" }, undefined, (a) => ({ ...a, activeColor: pulumi.output("green" as const) }));
        const sw = theSwitch(out.resources).inputs;
        expect(sw.activeColor).toBe("green");
        expect(sw.gateUrls).toEqual(["http://bg-test-green-0-c0ffee:8080/health"]);
        expect(inputsOf(theSwitch(out.resources))).toBe(inputsOf(theSwitch(plain.resources)));
        expect(out.outputs).toEqual(plain.outputs);
    });

    it("an image as an Output reaches the container, its version label, the switch and the outputs", async () => {
        const image = "registry.example:5000/team/api:1.4.2";
        const r = await declare("bg-test", {}, undefined, (a) => ({ ...a, colors: { ...a.colors, blue: { ...a.colors.blue, image: pulumi.output(image) } } }));
        for (const n of ["bg-test-blue-0", "bg-test-blue-1"]) {
            const c = byName(r.resources).get(`${CONTAINER}::${n}`)!;
            expect(c.inputs.image).toBe(image);
            expect(c.inputs.labels).toContainEqual({ label: "version", value: "1.4.2" });
        }
        expect(theSwitch(r.resources).inputs.images).toEqual({ blue: image, green: "bluegreen/demo:2.0.0" });
        expect(r.outputs.blueImage).toBe(image);
    });

    it("an Output image that is not an image reference fails, naming the service and the arg; that color and the switch are not created", async () => {
        const start = sink.resources.length;
        const { errors } = await collectingUnhandledRejections(async () => {
            const args = dockerServiceArgs(parseSettings({ ...base, proxyPort: "8480", previewPort: "8481" }), "bg-badimage");
            new BlueGreenService("bg-badimage", { ...args, colors: { ...args.colors, blue: { ...args.colors.blue, image: pulumi.output("Team/API latest") } } });
            await settle(200);
        });
        const messages = errors.map((e) => e.message);
        expect(messages.length).toBeGreaterThan(0);
        for (const m of messages) {
            expect(m).toContain('bg-badimage: colors.blue.image must be an image reference such as "registry.example:5000/team/app:1.2.3"');
            expect(m).toMatch(/, got "Team\/API latest"$/);
        }
        const names = sink.resources.slice(start).map(key);
        expect(names.filter((n) => n.startsWith(`${CONTAINER}::bg-badimage-blue`))).toEqual([]);
        expect(names.filter((n) => n.includes("TrafficSwitch"))).toEqual([]);
        expect(names).toContain(`${CONTAINER}::bg-badimage-green-0`); // a plain image needs no wait
    });

    it("an invalid arg throws before anything is declared: no registration at all, not even the component's", async () => {
        const start = sink.resources.length;
        const args = dockerServiceArgs(parseSettings({ ...base, proxyPort: "8580", previewPort: "8581" }), "bg-invalid");
        let thrown: unknown;
        try {
            new BlueGreenService("bg-invalid", { ...args, colors: { ...args.colors, green: { ...args.colors.green, replicas: 0 } } });
        } catch (e) {
            thrown = e;
        }
        expect(pulumi.RunError.isInstance(thrown)).toBe(true);
        expect((thrown as Error).message).toBe("bg-invalid: colors.green.replicas must be 1–20, got 0");
        await settle();
        expect(sink.resources.slice(start)).toEqual([]);
    });

    it("an explicit docker provider in opts.providers: the containers use it and the switch reaches its engine", async () => {
        const remote = new docker.Provider("remote-engine", { host: "ssh://deploy@203.0.113.5" });
        // As index.ts declares it: the project's plugin, which runs the switch.
        class BluegreenProvider extends pulumi.ProviderResource {
            constructor(n: string) {
                super("bluegreen", n, {});
            }
        }
        const plugin = new BluegreenProvider("plugin");
        // Another engine: the local services' host ports are free there.
        const r = await declare("bg-remote", {}, { providers: [plugin, remote] });
        const sw = theSwitch(r.resources);
        expect(sw.inputs.dockerHost).toBe("ssh://deploy@203.0.113.5");
        expect(sw.provider).toContain("pulumi:providers:bluegreen::plugin");
        for (const n of ["bg-remote-blue-0", "bg-remote-green-0", "bg-remote-proxy"]) {
            expect(byName(r.resources).get(`${CONTAINER}::${n}`)!.provider).toContain("pulumi:providers:docker::remote-engine");
        }
        expect(r.outputs.url).toBe("http://127.0.0.1:8080");
    });
});

describe("replacement order of the Docker containers", () => {
    /** Declares one component with a transformation that records each child's deleteBeforeReplace. */
    async function replaceOrder(declare: (record: pulumi.ResourceTransformation) => unknown): Promise<Record<string, boolean | undefined>> {
        const seen: Record<string, boolean | undefined> = {};
        declare((a) => {
            if (a.type === CONTAINER) seen[a.name] = (a.opts as pulumi.CustomResourceOptions).deleteBeforeReplace;
            return undefined;
        });
        await settle();
        return seen;
    }

    it.each(["nginx", "traefik"] as const)("the %s proxy, which holds fixed host ports, is removed before its replacement starts", async (kind) => {
        const seen = await replaceOrder((t) => new BlueGreenService(`order-${kind}`, dockerServiceArgs(parseSettings({
            ...base, proxyKind: kind, proxyPort: kind === "nginx" ? "8680" : "8690", previewPort: kind === "nginx" ? "8681" : "8691",
        }), "order"), { transformations: [t] }));
        expect(seen[`order-${kind}-proxy`]).toBe(true);
    });

    it("a color's replicas are replaced create-first, so the old ones serve until the switch has moved", async () => {
        const seen = await replaceOrder((t) => new BlueGreenService("order-colors", dockerServiceArgs(parseSettings({
            ...base, greenReplicas: "2", proxyPort: "8780", previewPort: "8781",
        }), "order"), { transformations: [t] }));
        expect(seen).toEqual({
            "order-colors-blue-0": false, "order-colors-blue-1": false, "order-colors-green-0": false, "order-colors-green-1": false,
            "order-colors-proxy": true,
        });
    });
});

describe("the smoke test's place in the graph", () => {
    /** Declares a service with a smoke test; returns each resource's explicit dependencies, by name. */
    async function dependencies(activeColor: pulumi.Input<"blue" | "green">): Promise<Record<string, string[]>> {
        const deps: Record<string, string[]> = {};
        const args = dockerServiceArgs(parseSettings({ ...base, smokeTestPath: "/", proxyPort: "8880", previewPort: "8881" }), "graph");
        new BlueGreenService("graph", { ...args, activeColor }, {
            transformations: [(a) => {
                const on = (a.opts as pulumi.CustomResourceOptions).dependsOn;
                deps[a.name] = ([] as pulumi.Resource[]).concat((on as pulumi.Resource[] | undefined) ?? []).map((r) => (r as unknown as { __name: string }).__name);
                return undefined;
            }],
        });
        await settle();
        return deps;
    }

    it("runs after the target color and the proxy container, and the switch waits for it", async () => {
        const deps = await dependencies("green");
        expect(deps["graph-proxy-smoke"]).toEqual(["graph-proxy", "graph-green"]);
        expect(deps["graph-proxy-switch"]).toEqual(["graph-proxy-smoke"]);
    });

    it("with activeColor as an Output, runs after both colors, on the color the Output names", async () => {
        const start = sink.resources.length;
        const deps = await dependencies(pulumi.output("green" as const));
        expect(deps["graph-proxy-smoke"]).toEqual(["graph-proxy", "graph-blue", "graph-green"]);
        expect(deps["graph-proxy-switch"]).toEqual(["graph-proxy-smoke"]);
        const smoke = sink.resources.slice(start).find((r) => r.name === "graph-proxy-smoke")!.inputs;
        expect(smoke.environment.BLUEGREEN_SMOKE_COLOR).toBe("green");
        expect(smoke.triggers).toEqual(["green", ["graph-green-0-c0ffee"]]);
    });
});
