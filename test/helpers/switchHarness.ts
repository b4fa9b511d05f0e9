import * as fs from "node:fs";
import * as path from "node:path";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { expect } from "vitest";
import { Color, ProxyKind } from "../../components/settings";
import { DockerFixture, dockerCli, freePort } from "./dockerFixture";
import { LoadGenerator, LoadReport, Sample, flipWindow, getJson } from "./load";
import { workspaceOptions } from "./toolchain";

export const SWITCH_STACK = path.join(__dirname, "../e2e/switch-stack");

/**
 * The switch harness: demo colors and a proxy started with the docker CLI from the arguments the
 * components declare (test/helpers/declared.ts), and a real stack (test/e2e/switch-stack) holding the real
 * TrafficSwitch for them.
 */
export class SwitchHarness {
    readonly fixture: DockerFixture;
    stack!: Stack;
    url = "";
    previewUrl = "";
    proxy = "";
    private destroyed = false;

    constructor(readonly id: string, readonly kind: ProxyKind) {
        this.fixture = new DockerFixture(id);
    }

    /**
     * Starts blue (two replicas), green and the proxy, and creates the stack (blue live). With
     * `manageColors`, the stack itself runs one container per color from `<color>Image`.
     */
    async start(opts: { manageColors?: boolean; images?: Record<"blue" | "green", string> } = {}): Promise<void> {
        const live = await freePort();
        const preview = await freePort();
        this.url = `http://127.0.0.1:${live}`;
        this.previewUrl = `http://127.0.0.1:${preview}`;
        const images = opts.images ?? { blue: "bluegreen/demo:1.0.0", green: "bluegreen/demo:2.0.0" };
        this.proxy = await this.fixture.proxy(this.kind, live, preview);
        this.stack = await LocalWorkspace.createStack({ stackName: this.id, workDir: SWITCH_STACK }, await workspaceOptions());
        await this.stack.setAllConfig({
            "bluegreen:activeColor": { value: "blue" },
            "bluegreen:proxyKind": { value: this.kind },
            "bluegreen:blueImage": { value: images.blue },
            "bluegreen:greenImage": { value: images.green },
            "bluegreen:healthRetries": { value: "3" },
            "bluegreen:healthDeadlineSeconds": { value: "10" },
            "e2e:proxy": { value: this.proxy },
            "e2e:url": { value: this.url },
            "e2e:previewUrl": { value: this.previewUrl },
            "e2e:label": { value: this.fixture.label },
            "e2e:manageColors": { value: String(opts.manageColors === true) },
            "e2e:blueFlags": { value: JSON.stringify(await this.fixture.colorFlags("blue")) },
            "e2e:greenFlags": { value: JSON.stringify(await this.fixture.colorFlags("green")) },
        });
        if (!opts.manageColors) {
            const blue = [await this.fixture.color("blue-0", { image: images.blue, color: "blue" }),
                await this.fixture.color("blue-1", { image: images.blue, color: "blue" })];
            const green = await this.fixture.color("green-0", { image: images.green, color: "green" });
            await this.setEndpoints("blue", blue);
            await this.setEndpoints("green", [green]);
        }
    }

    async setColor(c: Color): Promise<void> {
        await this.stack.setConfig("bluegreen:activeColor", { value: c });
    }

    async setEndpoints(color: Color, containers: string[]): Promise<void> {
        await this.stack.setConfig(`e2e:${color}Endpoints`, { value: JSON.stringify(containers.map((c) => this.fixture.endpoint(c))) });
    }

    /** Runs `up` under load; returns what the clients saw, with times on the load's timeline. */
    async upUnderLoad(from: Color, to: Color, rate = 240) {
        const load = new LoadGenerator(this.url, rate);
        load.run();
        await new Promise((r) => setTimeout(r, 1500)); // steady state first
        const upStart = load.now();
        const result = await this.stack.up();
        const upEnd = load.now();
        await new Promise((r) => setTimeout(r, 1500)); // and after
        const report = await load.stop();
        const after = report.samples.filter((s: Sample) => s.at > upEnd + 200);
        return { result, report, after, upStart, upEnd, win: flipWindow(report.samples, from, to) };
    }

    /**
     * Replaces the proxy container under load as the docker provider does for a proxy with
     * deleteBeforeReplace and destroyGraceSeconds (stop: stop signal, then the stop timeout;
     * remove; create from the declared arguments on the same config volume). Checks that no
     * answer ever comes from the other color and that, a second after the new container started,
     * every answer is the live color; returns the figures: refused connections, and "unrouted"
     * answers (an error status from a proxy that has no route yet) with the time of the last one
     * after the new container started.
     */
    async replaceProxyUnderLoad() {
        const volumes = this.fixture.volumes();
        const live = (await getJson(this.url)).json.color as Color;
        const load = new LoadGenerator(this.url, 240, ["fresh", "keepalive"]);
        load.run();
        await new Promise((r) => setTimeout(r, 1000));
        const stopAt = load.now();
        dockerCli("stop", this.proxy);
        const stoppedAt = load.now();
        dockerCli("rm", this.proxy);
        const port = (u: string) => Number(new URL(u).port);
        await this.fixture.proxy(this.kind, port(this.url), port(this.previewUrl));
        const startedAt = load.now();
        await new Promise((r) => setTimeout(r, 2500));
        const report = await load.stop();
        expect(this.fixture.volumes()).toEqual(volumes);
        const other = report.samples.filter((s) => s.color !== undefined && s.color !== live);
        expect(other.slice(0, 5), "answers from the other color").toEqual([]);
        const settled = report.samples.filter((s) => s.at > startedAt + 1000);
        expect(settled.length).toBeGreaterThan(100);
        expect(settled.filter((s) => s.status !== 200).slice(0, 5), "answers a second after the new proxy started").toEqual([]);
        const refused = report.samples.filter((s) => s.status === 0).map((s) => s.at);
        const unrouted = report.samples.filter((s) => s.status !== 0 && s.status !== 200).map((s) => s.at);
        return {
            stopMs: stoppedAt - stopAt,
            restartMs: startedAt - stopAt,
            sent: report.sent,
            refused: refused.length,
            refusedWithinMs: refused.length ? Math.max(...refused) - Math.min(...refused) : 0,
            unrouted: unrouted.length,
            lastUnroutedAfterStartMs: unrouted.length ? Math.max(...unrouted) - startedAt : undefined,
        };
    }

    /** Destroys and removes the stack, then every container, volume and network of the fixture. Idempotent. */
    async destroy(): Promise<void> {
        if (this.destroyed) return;
        this.destroyed = true;
        try {
            if (this.stack) {
                await this.stack.destroy().catch((e) => console.error("destroy failed:", e));
                await this.stack.workspace.removeStack(this.stack.name, { force: true }).catch((e) => console.error("removeStack failed:", e));
                fs.rmSync(path.join(SWITCH_STACK, `Pulumi.${this.id}.yaml`), { force: true });
            }
        } finally {
            this.fixture.destroy();
        }
    }
}

/** Destroys the harness and checks that nothing of it is left: no container, volume, network or stack. */
export async function expectCleanTeardown(h: SwitchHarness): Promise<void> {
    const ws = h.stack.workspace;
    await h.destroy();
    expect(h.fixture.leftovers()).toEqual([]);
    expect((await ws.listStacks()).map((st) => st.name)).not.toContain(h.id);
}

export function figuresOf(r: LoadReport) {
    return { sent: r.sent, rps: Math.round(r.sent / (r.durationMs / 1000)), failed: r.failed, rawKeepAliveResets: r.resets.raw, retriedKeepAliveResets: r.resets.keepalive };
}
