import { describe, expect, it } from "vitest";
import { generationOf } from "../../components/nginxConfig";
import { renderTraefikConfig, traefikArgs } from "../../components/traefikConfig";

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

    it("keeps no connection to a color for reuse, so that each one is a request in flight (what the switch's drain counts)", () => {
        const g = generationOf({ activeColor: "blue", targets });
        const conf = parse(renderTraefikConfig({ activeColor: "blue", targets }));
        const transport = conf.http.services[`blue-${g}`].loadBalancer.serversTransport;
        expect(conf.http.services[`green-${g}`].loadBalancer.serversTransport).toBe(transport);
        // Traefik: "If negative, disables connection reuse."
        expect(conf.http.serversTransports[transport]).toEqual({ maxIdleConnsPerHost: -1 });
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
        expect(renderTraefikConfig({ activeColor: "blue", targets })).not.toMatch(/Timeout/);
        expect(traefikArgs().filter((a) => /respondingTimeouts|forwardingTimeouts/.test(a))).toEqual([]);
    });
});
