import { describe, expect, it } from "vitest";
import { COLOR_HEADER, RETRY_LOCATION, STATUS_PATH, STATUS_PORT, UPSTREAM_KEEPALIVE, generationOf, renderBootstrapConfig, renderNginxConfig } from "../../components/nginxConfig";

const targets = { blue: "blue:8080", green: "green:9000" };

/** The rendered file's server blocks, by what they listen on. */
function servers(conf: string): Record<string, string> {
    const blocks = conf.split("\n    server {\n").slice(1).map((b) => b.slice(0, b.indexOf("\n    }")));
    return Object.fromEntries(blocks.map((b) => [/listen ([^;]+);/.exec(b)![1], b]));
}

/** Each upstream block's name and its one `server` line's value. */
function upstreams(conf: string): Record<string, string> {
    return Object.fromEntries([...conf.matchAll(/\n {4}upstream (\S+) \{\n([\s\S]*?)\n {4}\}/g)].map((m) => [m[1], /\bserver ([^;]+);/.exec(m[2])![1]]));
}

describe("renderNginxConfig", () => {
    it("routes the live listener to blue and the preview listener to green when blue is active", () => {
        const conf = renderNginxConfig({ activeColor: "blue", targets });
        expect(conf).toContain('map "" $bluegreen_blue { default bluegreen_blue; }');
        expect(conf).toContain('map "" $bluegreen_green { default bluegreen_green; }');
        expect(upstreams(conf)).toEqual({ bluegreen_blue: "blue:8080 resolve max_fails=1 fail_timeout=5s", bluegreen_green: "green:9000 resolve max_fails=1 fail_timeout=5s" });
        const s = servers(conf);
        expect(Object.keys(s).sort()).toEqual(["127.0.0.1:8082", "80", "81"]);
        expect(s["80"]).toContain("proxy_pass http://$bluegreen_blue;");
        expect(s["81"]).toContain("proxy_pass http://$bluegreen_green;");
    });

    it("serves the status only on the container's loopback, and the color header only on the preview listener", () => {
        for (const activeColor of ["blue", "green"] as const) {
            const conf = renderNginxConfig({ activeColor, targets });
            const idle = activeColor === "blue" ? "green" : "blue";
            const s = servers(conf);
            // The public listeners: the status path goes to the color like any other path.
            for (const port of ["80", "81"]) {
                expect(s[port]).not.toContain(STATUS_PATH);
                expect(s[port]).not.toContain("generation");
                // No document of nginx's own: the one `return` refuses to retry a non-idempotent request.
                expect(s[port].match(/return [^;]*;/g)).toEqual(["return 502;"]);
            }
            expect(s["80"]).not.toContain(COLOR_HEADER);
            // On both of the preview listener's locations (the retry's too).
            expect(s["81"].split(`add_header ${COLOR_HEADER} ${idle} always;`)).toHaveLength(3);
            // The status listener: bound to 127.0.0.1 (never published), the status and nothing else.
            expect(STATUS_PORT).toBe(8082);
            expect(s[`127.0.0.1:${STATUS_PORT}`]).toContain(`location = ${STATUS_PATH} {`);
            expect(s[`127.0.0.1:${STATUS_PORT}`]).toContain(`return 200 '{"active":"${activeColor}","generation":"${generationOf({ activeColor, targets })}"}\\n';`);
            expect(s[`127.0.0.1:${STATUS_PORT}`]).toContain("location / { return 404; }");
            expect(s[`127.0.0.1:${STATUS_PORT}`]).not.toContain("proxy_pass");
            // The status path and the header appear nowhere else in the file.
            expect(conf.split(STATUS_PATH)).toHaveLength(2);
            expect(conf.split(COLOR_HEADER)).toHaveLength(3);
        }
    });

    it("reaches each color through an upstream of its alias, re-resolved every second, with a keep-alive pool", () => {
        const conf = renderNginxConfig({ activeColor: "blue", targets });
        expect(conf).toContain("\n    resolver 127.0.0.11 valid=1s ipv6=off;\n");
        for (const [color, target] of Object.entries(targets)) {
            // In shared memory (`zone`, which `resolve` needs), the alias re-resolved in the
            // background, and idle connections kept for reuse.
            expect(conf).toContain(
                `\n    upstream bluegreen_${color} {\n        zone bluegreen_${color} 64k;\n        server ${target} resolve max_fails=1 fail_timeout=5s;\n        keepalive ${UPSTREAM_KEEPALIVE};\n        keepalive_requests 10000;\n    }\n`,
            );
        }
        // Upstream keep-alive needs HTTP/1.1 and no `Connection: close` passed on.
        expect(conf).toContain("\n    proxy_http_version 1.1;\n");
        expect(conf).toContain('\n    proxy_set_header Connection "";\n');
        // A replica that has just gone is given up on after a second, and the request goes to the next.
        expect(conf).toContain("\n    proxy_connect_timeout 1s;\n");
        expect(conf).toContain("\n    proxy_next_upstream error timeout;\n");
        // No color's address is written anywhere: only the aliases (127.0.0.1 is the status listener).
        expect(conf.replaceAll("127.0.0.1:", "").replaceAll("127.0.0.11", "")).not.toMatch(/\d+\.\d+\.\d+\.\d+/);
    });

    it("sends an idempotent request that could not reach the color once more, to the same color, never another", () => {
        for (const activeColor of ["blue", "green"] as const) {
            const idle = activeColor === "blue" ? "green" : "blue";
            const s = servers(renderNginxConfig({ activeColor, targets }));
            for (const [port, color] of [["80", activeColor], ["81", idle]] as const) {
                const [main, retry] = s[port].split(`location ${RETRY_LOCATION} {`);
                expect(main).toContain(`\n            error_page 502 504 = ${RETRY_LOCATION};\n`);
                expect(retry).toContain("\n            if ($request_method !~ ^(GET|HEAD|OPTIONS)$) { return 502; }\n");
                // First the pooled group, then the alias asked of Docker's DNS at that moment: a
                // proxy that has just started has an empty group until its first resolution.
                expect(main.match(/proxy_pass [^;]*;/g)).toEqual([`proxy_pass http://$bluegreen_${color};`]);
                expect(retry.match(/proxy_pass [^;]*;/g)).toEqual([`proxy_pass http://$bluegreen_${color}_target;`]);
                expect(retry.match(/add_header [^;]*;/g) ?? []).toEqual(main.match(/add_header [^;]*;/g) ?? []);
            }
        }
        const conf = renderNginxConfig({ activeColor: "blue", targets });
        // The retry's variables hold the targets, so nginx resolves each (no `upstream` has that name).
        expect(conf.match(/map "" \$bluegreen_\w+_target \{[^}]*\}/g)).toEqual([
            `map "" $bluegreen_blue_target { default ${targets.blue}; }`,
            `map "" $bluegreen_green_target { default ${targets.green}; }`,
        ]);
    });

    it("writes an address target as it is, with nothing to resolve", () => {
        const conf = renderNginxConfig({ activeColor: "blue", targets: { blue: "blue:8080", green: "10.0.0.7:8080" } });
        expect(upstreams(conf)).toEqual({ bluegreen_blue: "blue:8080 resolve max_fails=1 fail_timeout=5s", bluegreen_green: "10.0.0.7:8080 max_fails=1 fail_timeout=5s" });
    });

    it("swaps only the listeners' targets when green is active", () => {
        const blue = renderNginxConfig({ activeColor: "blue", targets });
        const green = renderNginxConfig({ activeColor: "green", targets });
        expect(green).toMatch(/listen 80;[\s\S]*proxy_pass http:\/\/\$bluegreen_green;[\s\S]*listen 81;[\s\S]*proxy_pass http:\/\/\$bluegreen_blue;/);
        const maps = (c: string) => c.match(/map .*/g);
        expect(maps(green)).toEqual(maps(blue));
        expect(upstreams(green)).toEqual(upstreams(blue));
        expect(generationOf({ activeColor: "green", targets })).not.toBe(generationOf({ activeColor: "blue", targets }));
    });

    it("does not change when a color's replicas change: the alias stays", () => {
        expect(renderNginxConfig({ activeColor: "blue", targets })).toBe(renderNginxConfig({ activeColor: "blue", targets: { ...targets } }));
    });

    it.each([["evil.example:80; include /etc/passwd"], ["10.0.0.1:80\n}"], ["green:8080 backup"], ["$host:80"], ["-blue:80"], ["blue"], ['blue:80"']])(
        "refuses to render the target %j",
        (target) => {
            expect(() => renderNginxConfig({ activeColor: "blue", targets: { blue: target, green: "green:8080" } })).toThrow(/is not a host:port/);
        },
    );

    it("bounds the old workers' drain by drainSeconds (30 by default) and lets streams through unbuffered", () => {
        expect(renderNginxConfig({ activeColor: "blue", targets })).toContain("\nworker_shutdown_timeout 30s;\n");
        const conf = renderNginxConfig({ activeColor: "blue", targets, drainSeconds: 3 });
        expect(conf).toContain("\nworker_shutdown_timeout 3s;\n");
        expect(conf).toContain("\n    proxy_buffering off;\n");
        // Longer than any pause between two events of a stream, so nginx never cuts one for silence.
        expect(conf).toContain("\n    proxy_read_timeout 3600s;\n");
        // The drain bound is not routing: the generation nginx reports stays the same.
        expect(generationOf({ activeColor: "blue", targets, drainSeconds: 3 })).toBe(generationOf({ activeColor: "blue", targets }));
    });

    it.each([[0], [3601], [1.5], [Number.NaN]])("refuses to render drainSeconds %j", (drainSeconds) => {
        expect(() => renderNginxConfig({ activeColor: "blue", targets, drainSeconds })).toThrow(/drainSeconds .* is not a whole number from 1 to 3600/);
    });

    it("renders a bootstrap config that routes nothing", () => {
        const conf = renderBootstrapConfig();
        expect(conf).toContain("return 503");
        expect(conf).not.toContain("proxy_pass");
    });
});
