import { describe, expect, it } from "vitest";
import { CONFIG_KEYS, ConfigError, imageVersion, parseSettings, quoteValue } from "../../components/settings";

const ok = { blueImage: "bluegreen/demo:1.0.0", greenImage: "bluegreen/demo:2.0.0" };

function errorOf(raw: Record<string, string>, extra: string[] = []): string {
    try {
        parseSettings({ ...ok, ...raw }, extra);
    } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as Error).message;
    }
    throw new Error("expected parseSettings to reject the config");
}

describe("parseSettings", () => {
    it("fills every key from its default", () => {
        const s = parseSettings({});
        expect(s.activeColor).toBe("blue");
        expect(s.idleColor).toBe("green");
        expect(s.blue).toEqual({ image: "bluegreen/demo:1.0.0", replicas: 1, port: 8080, healthPath: "/health", env: {} });
        expect(s.proxy).toEqual({ kind: "nginx", image: "bluegreen/nginx:local", port: 8080, previewPort: 8081, bindAddress: "127.0.0.1" });
        expect(parseSettings({ proxyKind: "traefik" }).proxy.image).toBe("bluegreen/traefik:local");
        expect(parseSettings({ proxyKind: "traefik", proxyImage: "traefik:v3.6" }).proxy.image).toBe("traefik:v3.6");
        expect(s.health).toEqual({ retries: 10, intervalSeconds: 1, deadlineSeconds: 60 });
        expect(s.drainSeconds).toBe(30); // kamal-proxy's drain timeout
    });

    it("reads drainSeconds from 1 to 3600", () => {
        expect(parseSettings({ drainSeconds: "3" }).drainSeconds).toBe(3);
        expect(parseSettings({ drainSeconds: "1" }).drainSeconds).toBe(1);
        expect(parseSettings({ drainSeconds: "3600" }).drainSeconds).toBe(3600);
    });

    it("reads typed values and the env map", () => {
        const s = parseSettings({
            activeColor: "green", greenReplicas: "3", greenPort: "9000", greenHealthPath: "/up",
            greenEnv: JSON.stringify({ LOG_LEVEL: "debug", WORKERS: 4, DEBUG: false }),
            bindAddress: "0.0.0.0", healthRetries: "5",
        });
        expect(s.activeColor).toBe("green");
        expect(s.idleColor).toBe("blue");
        expect(s.green).toMatchObject({ replicas: 3, port: 9000, healthPath: "/up", env: { LOG_LEVEL: "debug", WORKERS: "4", DEBUG: "false" } });
        expect(s.health.retries).toBe(5);
    });

    it.each([
        [{ activeColor: "red" }, '`activeColor` is "red"; allowed values are "blue" and "green".'],
        [{ activeColor: "" }, '`activeColor` is ""; allowed values are "blue" and "green".'],
        [{ platform: "nomad" }, '`platform` is "nomad"; allowed values are "docker" and "kubernetes".'],
        [{ proxyKind: "haproxy" }, '`proxyKind` is "haproxy"; allowed values are "nginx" and "traefik".'],
        [{ proxyPort: "http" }, '`proxyPort` is "http"; expected a whole number from 1 to 65535.'],
        [{ proxyPort: "70000" }, "`proxyPort` is 70000; expected a whole number from 1 to 65535."],
        [{ bluePort: "0" }, "`bluePort` is 0; expected a whole number from 1 to 65535."],
        [{ greenPort: "80.5" }, '`greenPort` is "80.5"; expected a whole number from 1 to 65535.'],
        [{ blueReplicas: "0" }, "`blueReplicas` is 0; expected a whole number from 1 to 20."],
        [{ greenReplicas: "-1" }, "`greenReplicas` is -1; expected a whole number from 1 to 20."],
        [{ previewPort: "8080" }, "`previewPort` is 8080; it must differ from `proxyPort` (8080): the live and preview listeners cannot share a host port."],
        [{ bindAddress: "localhost; rm -rf /" }, '`bindAddress` is "localhost; rm -rf /"; expected an IPv4 or IPv6 address'],
        [{ healthRetries: "0" }, "`healthRetries` is 0; expected a whole number from 1 to 1000."],
        [{ healthDeadlineSeconds: "soon" }, '`healthDeadlineSeconds` is "soon"; expected a whole number from 1 to 3600.'],
        [{ drainSeconds: "0" }, "`drainSeconds` is 0; expected a whole number from 1 to 3600."],
        [{ drainSeconds: "3601" }, "`drainSeconds` is 3601; expected a whole number from 1 to 3600."],
        [{ drainSeconds: "30s" }, '`drainSeconds` is "30s"; expected a whole number from 1 to 3600.'],
        [{ drainSeconds: "1; worker_processes 64" }, '`drainSeconds` is "1; worker_processes 64"; expected a whole number from 1 to 3600.'],
    ])("rejects %j", (raw, message) => {
        expect(errorOf(raw as Record<string, string>)).toContain(message);
    });

    it.each([
        ["bluegreen/demo:1.0.0 ; rm -rf /"],
        ["demo:$(id)"],
        ["demo:`id`"],
        ["demo latest"],
        ["Demo:1.0"],
        ["demo:1.0\nmalicious"],
        ["dеmo:1.0"], // Cyrillic "е"
        [""],
    ])("rejects the image reference %j, naming the key", (image) => {
        const message = errorOf({ greenImage: image });
        expect(message).toMatch(/^`greenImage` is /);
        expect(message).toContain(JSON.stringify(image));
        expect(message).toContain("expected an image reference");
    });

    it.each([
        "nginx", "nginx:1.27", "library/nginx:1.27-alpine", "registry.example:5000/team/app:v2.0.1",
        "ghcr.io/org/app@sha256:" + "a".repeat(64), "localhost:5000/app",
    ])("accepts the image reference %s", (image) => {
        expect(parseSettings({ blueImage: image }).blue.image).toBe(image);
    });

    it.each([["health"], ["/health check"], ["/health;drop"], ["/h$x"], ["/h?x=1"], ["/h'"]])(
        "rejects the health path %j",
        (path) => {
            expect(errorOf({ blueHealthPath: path })).toMatch(/^`blueHealthPath` is .*expected a path starting with "\/"/);
        },
    );

    it("rejects bad env maps, naming the variable", () => {
        expect(errorOf({ blueEnv: "[1,2]" })).toMatch(/^`blueEnv` is \[1,2\]; expected a map/);
        expect(errorOf({ blueEnv: "not json" })).toMatch(/^`blueEnv` is "not json"; expected a map/);
        expect(errorOf({ blueEnv: JSON.stringify({ "BAD-NAME": "x" }) })).toMatch(/^`blueEnv.BAD-NAME` is "BAD-NAME"; variable names/);
        expect(errorOf({ greenEnv: JSON.stringify({ NESTED: { a: 1 } }) })).toMatch(/^`greenEnv.NESTED` is \{"a":1\}; expected a string/);
    });

    it("rejects unknown keys so that a typo never falls back to a default", () => {
        expect(errorOf({}, ["activeColour"])).toMatch(/^`activeColour` is ""; this key is unknown; known keys are activeColor, /);
    });

    it("documents every key with a description and a default", () => {
        for (const [key, spec] of Object.entries(CONFIG_KEYS)) {
            expect(spec.description.length, key).toBeGreaterThan(10);
            expect(spec.default, key).toBeDefined();
        }
    });
});

describe("quoteValue: the value as an error message shows it", () => {
    it("is JSON, with every character that prints as nothing or as a line break escaped", () => {
        expect(quoteValue("blue")).toBe('"blue"');
        expect(quoteValue("a b\té")).toBe('"a b\\té"');
        expect(quoteValue(3)).toBe("3");
        expect(quoteValue(undefined)).toBe("undefined");
        // A line separator (the property test's counterexample in CI), a paragraph separator, DEL,
        // a C1 control, a zero-width space, a right-to-left override, a BOM, a tag character.
        expect(quoteValue("\u2028")).toBe('"\\u2028"');
        expect(quoteValue("1\u2029\u007f\u0085\u200b\u202e\ufeff\u{e0041}")).toBe('"1\\u2029\\u007f\\u0085\\u200b\\u202e\\ufeff\\u{e0041}"');
        expect(quoteValue({ a: "\u2028" })).toBe('{"a":"\\u2028"}');
    });

    it("names a config key's value that way, on one line", () => {
        const message = errorOf({ blueReplicas: "\u2028" });
        expect(message).toBe('`blueReplicas` is "\\u2028"; expected a whole number from 1 to 20.');
        expect(message).not.toMatch(/[\n\r\u2028\u2029]/);
    });
});

describe("the smoke test keys", () => {
    it("are off by default: no smoke test in the settings", () => {
        expect(parseSettings({})).not.toHaveProperty("smokeTest");
    });

    it("read a path and an expected status (200 by default)", () => {
        expect(parseSettings({ smokeTestPath: "/api/ping" }).smokeTest).toEqual({ path: "/api/ping", status: 200 });
        expect(parseSettings({ smokeTestPath: "/", smokeTestStatus: "204" }).smokeTest).toEqual({ path: "/", status: 204 });
    });

    it.each([
        [{ smokeTestPath: "/;id" }, '`smokeTestPath` is "/;id"; expected a path starting with "/"'],
        [{ smokeTestPath: "api" }, '`smokeTestPath` is "api"; expected a path'],
        [{ smokeTestPath: "/", smokeTestStatus: "99" }, "`smokeTestStatus` is 99; expected a whole number from 100 to 599"],
        [{ smokeTestStatus: "204" }, "`smokeTestStatus` is 204; it has an effect only with `smokeTestPath` set"],
        [{ platform: "kubernetes", smokeTestPath: "/" }, '`smokeTestPath` is "/"; the smoke test is implemented for platform "docker" only'],
        [{ proxyKind: "traefik", smokeTestPath: "/" }, '`smokeTestPath` is "/"; the smoke test needs proxyKind "nginx"'],
    ])("refuses %j", (raw, message) => {
        expect(errorOf(raw as Record<string, string>)).toContain(message);
    });
});

describe("imageVersion", () => {
    it.each([
        ["bluegreen/demo:1.0.0", "1.0.0"],
        ["registry.example:5000/app", "latest"],
        ["registry.example:5000/app:v2", "v2"],
        ["app@sha256:" + "b".repeat(64), "latest"],
    ])("%s has version %s", (ref, version) => {
        expect(imageVersion(ref)).toBe(version);
    });
});
