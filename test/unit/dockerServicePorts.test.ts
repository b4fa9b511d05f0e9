/**
 * Host ports between `docker.BlueGreenService`s of one program, under Pulumi's mocks. A file of its
 * own: the claims last for the whole program (the module), and so does a conflict, which stops
 * every service declared with it. The conflict is therefore the last test here.
 */
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import type { DockerServiceArgs } from "../../components/serviceArgs";
import { collectingUnhandledRejections, installMocks, promiseOf, settle } from "../helpers/mocks";

const sink = installMocks();
let BlueGreenService: typeof import("../../components/docker/service").BlueGreenService;

beforeAll(async () => {
    ({ BlueGreenService } = await import("../../components/docker/service"));
});

const args = (port: number, previewPort = port + 1): DockerServiceArgs => ({
    activeColor: "blue",
    colors: { blue: { image: "bluegreen/demo:1.0.0" }, green: { image: "bluegreen/demo:2.0.0" } },
    proxy: { port, previewPort },
});

const EVERY_KIND = [
    "bluegreen:docker:BlueGreenService", "docker:index/network:Network", "bluegreen:docker:ColorEnvironment",
    "docker:index/container:Container", "bluegreen:docker:NginxProxy", "docker:index/volume:Volume", "bluegreen:docker:TrafficSwitch",
];

describe("host ports of several Docker services", () => {
    it("two services on different ports, declared in the same turn, both declare fully", async () => {
        const start = sink.resources.length;
        const shop = new BlueGreenService("shop", args(9080));
        const cart = new BlueGreenService("cart", args(9090));
        expect([await promiseOf(shop.url), await promiseOf(cart.url)]).toEqual(["http://127.0.0.1:9080", "http://127.0.0.1:9090"]);
        await promiseOf(shop.activeColor);
        await promiseOf(cart.activeColor);
        await settle();
        const rs = sink.resources.slice(start);
        for (const name of ["shop", "cart"]) {
            const mine = rs.filter((r) => r.name === name || r.name.startsWith(`${name}-`));
            expect([...new Set(mine.map((r) => r.type))].sort()).toEqual([...EVERY_KIND].sort());
            expect(mine.filter((r) => r.type === "docker:index/container:Container").map((r) => r.name).sort())
                .toEqual([`${name}-blue-0`, `${name}-green-0`, `${name}-proxy`]);
        }
    });

    it("a port the service before it publishes (same turn): the second throws, and nothing of either is created", async () => {
        const start = sink.resources.length;
        const { result: thrown, errors } = await collectingUnhandledRejections(async () => {
            let error: unknown;
            new BlueGreenService("api", args(8080));
            try {
                new BlueGreenService("web", args(8080, 8090));
            } catch (e) {
                error = e;
            }
            await settle(200);
            return error;
        });
        const message = "web: proxy.port must be a host port no other service publishes, got 8080: service api publishes it on 127.0.0.1";
        expect(pulumi.RunError.isInstance(thrown)).toBe(true);
        expect((thrown as Error).message).toBe(message);
        // Not a resource of either service is registered: not their components, networks or containers.
        expect(sink.resources.slice(start).map((r) => `${r.type}::${r.name}`)).toEqual([]);
        // The thrown error is the only one: api's registration is held, not failed, so the engine
        // prints the message once.
        expect(errors.map((e) => e.message)).toEqual([]);
    });
});
