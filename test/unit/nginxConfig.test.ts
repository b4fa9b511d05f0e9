import { describe, expect, it } from "vitest";
import { generationOf, renderBootstrapConfig, renderNginxConfig } from "../../components/nginxConfig";

const upstreams = { blue: ["10.0.0.2:8080", "10.0.0.3:8080"], green: ["10.0.0.4:9000"] };

describe("renderNginxConfig", () => {
    it("routes the live listener to blue and the preview listener to green when blue is active", () => {
        const conf = renderNginxConfig({ activeColor: "blue", upstreams });
        expect(conf).toContain("upstream bluegreen_blue {\n        server 10.0.0.2:8080 max_fails=0;\n        server 10.0.0.3:8080 max_fails=0;\n");
        expect(conf).toContain("upstream bluegreen_green {\n        server 10.0.0.4:9000 max_fails=0;\n");
        expect(conf).toMatch(/listen 80;[\s\S]*"role":"live","color":"blue"[\s\S]*proxy_pass http:\/\/bluegreen_blue;/);
        expect(conf).toMatch(/listen 81;[\s\S]*"role":"preview","color":"green"[\s\S]*proxy_pass http:\/\/bluegreen_green;/);
    });

    it("swaps only the listeners' targets when green is active", () => {
        const blue = renderNginxConfig({ activeColor: "blue", upstreams });
        const green = renderNginxConfig({ activeColor: "green", upstreams });
        expect(green).toMatch(/listen 80;[\s\S]*proxy_pass http:\/\/bluegreen_green;[\s\S]*listen 81;[\s\S]*proxy_pass http:\/\/bluegreen_blue;/);
        // Same upstream blocks: the switch moves traffic, it does not touch the environments.
        const upstreamBlocks = (c: string) => c.match(/upstream [\s\S]*?\n    }/g);
        expect(upstreamBlocks(green)).toEqual(upstreamBlocks(blue));
        expect(generationOf({ activeColor: "green", upstreams })).not.toBe(generationOf({ activeColor: "blue", upstreams }));
    });

    it("keeps a color with no running replica valid for nginx -t (answers 502 instead)", () => {
        const conf = renderNginxConfig({ activeColor: "blue", upstreams: { blue: ["10.0.0.2:8080"], green: [] } });
        expect(conf).toContain("upstream bluegreen_green {\n        server 127.0.0.1:9 down;");
    });

    it.each([["evil.example:80; include /etc/passwd"], ["10.0.0.1:80\n}"], ["green:8080 backup"], ["$host:80"], ["-blue:80"], ["blue"]])(
        "refuses to render the upstream %j",
        (server) => {
            expect(() => renderNginxConfig({ activeColor: "blue", upstreams: { blue: [server], green: [] } })).toThrow(/is not a host:port/);
        },
    );

    it("renders replicas by container name, which Docker's DNS resolves on the private network", () => {
        const conf = renderNginxConfig({ activeColor: "blue", upstreams: { blue: ["bluegreen-dev-blue-0-1a2b3c4:8080"], green: [] } });
        expect(conf).toContain("server bluegreen-dev-blue-0-1a2b3c4:8080 max_fails=0;");
    });

    it("renders a bootstrap config that routes nothing", () => {
        const conf = renderBootstrapConfig();
        expect(conf).toContain("return 503");
        expect(conf).not.toContain("proxy_pass");
    });
});
