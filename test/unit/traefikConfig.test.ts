import { describe, expect, it } from "vitest";
import { generationOf } from "../../components/nginxConfig";
import { renderTraefikConfig, traefikArgs } from "../../components/traefikConfig";

const upstreams = { blue: ["10.0.0.2:8080", "10.0.0.3:8080"], green: ["10.0.0.4:9000"] };
const parse = (text: string) => JSON.parse(text.slice(text.indexOf("\n") + 1));

describe("renderTraefikConfig", () => {
    it("routes the live entry point to blue and the preview one to green when blue is active", () => {
        const g = generationOf({ activeColor: "blue", upstreams });
        const conf = parse(renderTraefikConfig({ activeColor: "blue", upstreams }));
        expect(conf.http.routers).toEqual({
            live: { entryPoints: ["live"], rule: "PathPrefix(`/`)", service: `blue-${g}` },
            preview: { entryPoints: ["preview"], rule: "PathPrefix(`/`)", service: `green-${g}` },
        });
        expect(conf.http.services[`blue-${g}`].loadBalancer.servers).toEqual([{ url: "http://10.0.0.2:8080" }, { url: "http://10.0.0.3:8080" }]);
        expect(conf.http.services[`green-${g}`].loadBalancer.servers).toEqual([{ url: "http://10.0.0.4:9000" }]);
    });

    it("swaps the routers' services when green is active", () => {
        const g = generationOf({ activeColor: "green", upstreams });
        const conf = parse(renderTraefikConfig({ activeColor: "green", upstreams }));
        expect(conf.http.routers.live.service).toBe(`green-${g}`);
        expect(conf.http.routers.preview.service).toBe(`blue-${g}`);
    });

    it("refuses an upstream that is not address:port", () => {
        expect(() => renderTraefikConfig({ activeColor: "blue", upstreams: { blue: ['10.0.0.1:80"}'], green: [] } })).toThrow(/not a host:port/);
    });

    it("exposes routes only from the file: no Docker provider, API on loopback only", () => {
        const args = traefikArgs();
        expect(args.some((a) => a.startsWith("--providers.docker"))).toBe(false);
        expect(args).toContain("--providers.file.watch=true");
        expect(args.find((a) => a.startsWith("--entryPoints.traefik.address"))).toBe("--entryPoints.traefik.address=127.0.0.1:8082");
    });
});
