/**
 * The package as another team's program uses it: examples/two-services (project `shop`), which
 * depends on `bluegreen` through the tarball `npm pack` makes, installed by npm in a copy of the
 * example outside this repository (test/helpers/consumer.ts), and the `bluegreen` plugin installed from the
 * package as the README says, into a Pulumi home of its own (no path into this repository). Two
 * services, `api` and `web`, in one stack on the real Docker engine, 200 requests/s on each URL:
 * up; switch api alone (its preview and PR summary show only api's switch, web 0 changes, 0 failed
 * requests on either URL); roll api back; destroy leaves nothing.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Stack } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PreviewJson, summarizePreview } from "../../components/previewSummary";
import { ConsumerProject, PACKAGE_VERSION } from "../helpers/consumer";
import { LoadGenerator, LoadReport, failuresOf, getJson } from "../helpers/load";
import { changes, dockerOk, freePort } from "../helpers/programStack";
import { runId } from "../helpers/toolchain";

const shop = new ConsumerProject();
const stackName = runId("bgshop");
let stack: Stack;
const urls: Record<"api" | "web", { url: string; previewUrl: string }> = { api: { url: "", previewUrl: "" }, web: { url: "", previewUrl: "" } };
const figures: Record<string, unknown> = {};
/** Docker objects the stack created, by id, read from its state before destroy. */
type Created = { kind: "container" | "network" | "volume"; id: string };
let created: Created[] = [];

function cli(args: string[]): string {
    return shop.run("pulumi", [...args, "--stack", stackName, "--non-interactive"]);
}

async function setConfig(config: Record<string, string>): Promise<void> {
    await stack.setAllConfig(Object.fromEntries(Object.entries(config).map(([k, value]) => [k, { value }])));
}

/** `up` with 200 requests/s on each service's url; what each url's clients saw. */
async function upUnderLoad(): Promise<Record<"api" | "web", LoadReport>> {
    const api = new LoadGenerator(urls.api.url, 200);
    const web = new LoadGenerator(urls.web.url, 200);
    api.run();
    web.run();
    await new Promise((r) => setTimeout(r, 1500));
    const up = await stack.up({ onOutput: () => undefined });
    expect(up.summary.result).toBe("succeeded");
    await new Promise((r) => setTimeout(r, 1500));
    return { api: await api.stop(), web: await web.stop() };
}

/** No request failed (new connections and retrying keep-alive), and only `colors` answered. */
function expectServed(report: LoadReport, colors: string[], what: string): void {
    expect(report.failed.fresh, `${what}: ${failuresOf(report, "fresh")}`).toBe(0);
    expect(report.failed.keepalive, `${what}: ${failuresOf(report, "keepalive")}`).toBe(0);
    expect(report.sent, `${what}: requests sent`).toBeGreaterThan(400);
    expect([...new Set(report.samples.filter((s) => s.status === 200).map((s) => s.color))].sort(), what).toEqual([...colors].sort());
}

beforeAll(async () => {
    await shop.install();
    stack = await shop.createStack(stackName);
    const ports: number[] = [];
    while (ports.length < 4) {
        const p = await freePort();
        if (!ports.includes(p)) ports.push(p);
    }
    await setConfig({
        "api:port": String(ports[0]), "api:previewPort": String(ports[1]), "web:port": String(ports[2]), "web:previewPort": String(ports[3]),
        "api:blueImage": "bluegreen/demo:1.0.0", "api:greenImage": "bluegreen/demo:2.0.0",
        "web:blueImage": "bluegreen/demo:2.0.0", "web:greenImage": "bluegreen/demo:1.0.0",
    });
    urls.api = { url: `http://127.0.0.1:${ports[0]}`, previewUrl: `http://127.0.0.1:${ports[1]}` };
    urls.web = { url: `http://127.0.0.1:${ports[2]}`, previewUrl: `http://127.0.0.1:${ports[3]}` };
}, 600_000);

afterAll(async () => {
    console.log("figures:", JSON.stringify(figures, null, 2));
    if (stack) {
        await stack.destroy({ onOutput: () => undefined }).catch(() => undefined);
        await stack.workspace.removeStack(stackName, { force: true }).catch(() => undefined);
    }
    for (const { kind, id } of created) dockerOk(kind === "container" ? "rm" : kind, ...(kind === "container" ? ["-f", id] : ["rm", id]));
    shop.remove();
});

describe("examples/two-services: the package in another team's program", () => {
    it("the consumer has no path into this repository: bluegreen comes from node_modules, its plugin from its own Pulumi home", () => {
        expect(fs.lstatSync(path.join(shop.dir, "node_modules/bluegreen")).isSymbolicLink()).toBe(false);
        expect(fs.existsSync(path.join(shop.dir, "node_modules/esbuild")), "no devDependency of bluegreen installed").toBe(false);
        expect(fs.readFileSync(path.join(shop.dir, "Pulumi.yaml"), "utf8")).not.toMatch(/plugins|providers\/bluegreen/);
        const plugins = JSON.parse(shop.run("pulumi", ["plugin", "ls", "--json"])) as { name: string; version: string }[];
        expect(plugins.filter((p) => p.name === "bluegreen").map((p) => p.version)).toEqual([PACKAGE_VERSION]);
        const installed = path.join(shop.home, "plugins", `resource-bluegreen-v${PACKAGE_VERSION}`);
        expect(fs.readdirSync(installed).sort()).toEqual([
            "pulumi-resource-bluegreen", "pulumi-resource-bluegreen-components.js", "pulumi-resource-bluegreen-kube.js", "pulumi-resource-bluegreen.js",
        ]);
    });

    it("web on api's host port: up fails naming both services and the arg, and nothing is created", async () => {
        await setConfig({ "web:port": new URL(urls.api.url).port });
        const error = await stack.up({ onOutput: () => undefined }).then(() => undefined, (e: Error) => e);
        expect(String(error)).toContain(`web: proxy.port must be a host port no other service publishes, got ${new URL(urls.api.url).port}: service api publishes it on 127.0.0.1`);
        const state = JSON.parse(cli(["stack", "export"]));
        expect((state.deployment.resources ?? []).map((r: { type: string }) => r.type).filter((t: string) => t !== "pulumi:pulumi:Stack")).toEqual([]);
        await setConfig({ "web:port": new URL(urls.web.url).port });
    });

    it("up declares both services: each url serves its blue, each previewUrl its green", async () => {
        const up = await stack.up({ onOutput: () => undefined });
        expect(up.summary.result).toBe("succeeded");
        expect(up.outputs.apiUrl.value).toBe(urls.api.url);
        expect(up.outputs.webUrl.value).toBe(urls.web.url);
        expect((await getJson(urls.api.url)).json).toMatchObject({ color: "blue", version: "1.0.0" });
        expect((await getJson(urls.api.previewUrl)).json).toMatchObject({ color: "green", version: "2.0.0" });
        expect((await getJson(urls.web.url)).json).toMatchObject({ color: "blue", version: "2.0.0" });
        expect((await getJson(urls.web.previewUrl)).json).toMatchObject({ color: "green", version: "1.0.0" });
        const state = JSON.parse(cli(["stack", "export"]));
        const types = (state.deployment.resources as { type: string; urn: string }[]).map((r) => `${r.type}::${r.urn.split("::").pop()}`);
        expect(types).toEqual(expect.arrayContaining(["bluegreen:docker:BlueGreenService::api", "bluegreen:docker:BlueGreenService::web"]));
    });

    it("switching api alone: the preview and the PR summary show only api's switch, web has 0 changes", async () => {
        await setConfig({ "api:activeColor": "green" });
        // As the pull-request workflow runs it (.github/workflows/preview.yml).
        const json = JSON.parse(cli(["preview", "--json", "--show-sames"])) as PreviewJson;
        expect(changes(json)).toEqual(["update bluegreen:docker:TrafficSwitch::api-proxy-switch"]);
        expect((json.steps ?? []).filter((s) => s.op !== "same" && s.urn.includes("::web"))).toEqual([]);
        const summary = summarizePreview(json);
        figures.summary = summary.text;
        expect(summary.text).toBe("Traffic: api blue → green (bluegreen/demo:1.0.0 → bluegreen/demo:2.0.0); environments unchanged");
    });

    it("the switch under 200 requests/s on each url: 0 failed on either, api moves to green, web stays blue", async () => {
        const r = await upUnderLoad();
        figures.switch = { api: { sent: r.api.sent, failed: r.api.failed, rawResets: r.api.resets.raw }, web: { sent: r.web.sent, failed: r.web.failed, rawResets: r.web.resets.raw } };
        expectServed(r.api, ["blue", "green"], "api during the switch");
        expectServed(r.web, ["blue"], "web during api's switch");
        expect(r.web.resets.raw, "web's never-retrying clients were not reset").toBe(0);
        expect((await getJson(urls.api.url)).json.color).toBe("green");
        expect((await getJson(urls.web.url)).json.color).toBe("blue");
    });

    it("rolling api back (its config reverted) under the same load: 0 failed, api blue again, web untouched", async () => {
        await setConfig({ "api:activeColor": "blue" });
        expect(changes(JSON.parse(cli(["preview", "--json"])))).toEqual(["update bluegreen:docker:TrafficSwitch::api-proxy-switch"]);
        const r = await upUnderLoad();
        figures.rollback = { api: { sent: r.api.sent, failed: r.api.failed }, web: { sent: r.web.sent, failed: r.web.failed } };
        expectServed(r.api, ["blue", "green"], "api during the rollback");
        expectServed(r.web, ["blue"], "web during api's rollback");
        expect((await getJson(urls.api.url)).json.color).toBe("blue");
    });

    it("destroy leaves nothing: no container, network or volume the stack created, no stack", async () => {
        const state = JSON.parse(cli(["stack", "export"]));
        created = (state.deployment.resources as { type: string; id?: string; outputs?: { name?: string } }[]).flatMap((r): Created[] => {
            if (r.type === "docker:index/container:Container" && r.id) return [{ kind: "container", id: r.id }];
            if (r.type === "docker:index/network:Network" && r.id) return [{ kind: "network", id: r.id }];
            if (r.type === "docker:index/volume:Volume" && r.outputs?.name) return [{ kind: "volume", id: r.outputs.name }];
            return [];
        });
        expect(created.filter((c) => c.kind === "container")).toHaveLength(6);
        expect(created.filter((c) => c.kind === "network")).toHaveLength(2);
        expect(created.filter((c) => c.kind === "volume")).toHaveLength(2);
        const result = await stack.destroy({ onOutput: () => undefined });
        expect(result.summary.result).toBe("succeeded");
        const left = created.filter(({ kind, id }) => dockerOk(kind === "container" ? "inspect" : kind, ...(kind === "container" ? [id] : ["inspect", id])));
        expect(left).toEqual([]);
        await stack.workspace.removeStack(stackName);
        expect((await stack.workspace.listStacks()).map((s) => s.name)).not.toContain(stackName);
    });
});
