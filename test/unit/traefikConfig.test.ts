import { describe, expect, it } from "vitest";
import { generationOf } from "../../components/nginxConfig";
import { TRAEFIK_IDLE_CONN_MS, TRAEFIK_POOL_SIZE, renderTraefikConfig, traefikArgs } from "../../components/traefikConfig";
import { traefikLiveHost } from "../../providers/bluegreen/dockerSwitch";

const targets = { blue: "blue:8080", green: "green:9000" };
const parse = (text: string) => JSON.parse(text.slice(text.indexOf("\n") + 1));

describe("renderTraefikConfig", () => {
    it("routes the live entry point to blue and the preview one to green when blue is active", () => {
        const g = generationOf({ activeColor: "blue", targets });
        const conf = parse(renderTraefikConfig({ activeColor: "blue", targets }));
        expect(conf.http.routers).toEqual({
            live: { entryPoints: ["live"], rule: "PathPrefix(`/`)", service: `blue-${g}` },
            preview: { entryPoints: ["preview"], rule: "PathPrefix(`/`)", service: `green-${g}` },
        });
        // Each color by its network alias, which Traefik resolves through Docker's DNS when it dials.
        expect(conf.http.services[`blue-${g}`].loadBalancer.servers).toEqual([{ url: "http://blue:8080" }]);
        expect(conf.http.services[`green-${g}`].loadBalancer.servers).toEqual([{ url: "http://green:9000" }]);
    });

    it("pools connections to the colors, and closes one idle for 0.2 s (what lets the switch's drain see requests in flight)", () => {
        const g = generationOf({ activeColor: "blue", targets });
        const conf = parse(renderTraefikConfig({ activeColor: "blue", targets }));
        const transport = conf.http.services[`blue-${g}`].loadBalancer.serversTransport;
        expect(conf.http.services[`green-${g}`].loadBalancer.serversTransport).toBe(transport);
        expect(TRAEFIK_POOL_SIZE).toBe(64);
        expect(TRAEFIK_IDLE_CONN_MS).toBe(200);
        expect(conf.http.serversTransports[transport]).toEqual({ maxIdleConnsPerHost: 64, forwardingTimeouts: { idleConnTimeout: "200ms" } });
    });

    it("names the live color's host for the switch's drain, from the rendered file", () => {
        expect(traefikLiveHost(renderTraefikConfig({ activeColor: "blue", targets }))).toBe("blue");
        expect(traefikLiveHost(renderTraefikConfig({ activeColor: "green", targets }))).toBe("green");
        expect(traefikLiveHost("# not the rendered file\n{}")).toBe("");
    });

    it("swaps the routers' services when green is active", () => {
        const g = generationOf({ activeColor: "green", targets });
        const conf = parse(renderTraefikConfig({ activeColor: "green", targets }));
        expect(conf.http.routers.live.service).toBe(`green-${g}`);
        expect(conf.http.routers.preview.service).toBe(`blue-${g}`);
    });

    it("refuses a target that is not host:port", () => {
        expect(() => renderTraefikConfig({ activeColor: "blue", targets: { blue: '10.0.0.1:80"}', green: "green:8080" } })).toThrow(/not a host:port/);
    });

    it("exposes routes only from the file: no Docker provider, API on loopback only", () => {
        const args = traefikArgs();
        expect(args.some((a) => a.startsWith("--providers.docker"))).toBe(false);
        expect(args).toContain("--providers.file.watch=true");
        expect(args.find((a) => a.startsWith("--entryPoints.traefik.address"))).toBe("--entryPoints.traefik.address=127.0.0.1:8082");
    });

    it("sets no timeout that would cut a stream: Traefik's drain has no bound the file could set", () => {
        // A request in flight keeps the handler it started with when the file changes; the
        // dynamic config has no per-request time limit (forwardingTimeouts bound the dial, the
        // response headers and idle connections only), so drainSeconds changes nothing here.
        expect(renderTraefikConfig({ activeColor: "blue", targets, drainSeconds: 3 })).toBe(renderTraefikConfig({ activeColor: "blue", targets }));
        // The only forwarding timeout is the idle pooled connections' (above).
        expect(renderTraefikConfig({ activeColor: "blue", targets }).match(/"\w*Timeout"/g)).toEqual(['"idleConnTimeout"']);
        expect(traefikArgs().filter((a) => /respondingTimeouts|forwardingTimeouts/.test(a))).toEqual([]);
    });
});
