/**
 * Property tests: whatever a person types, nothing that could change the meaning of the nginx
 * config or of a command line gets past validation.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { renderNginxConfig } from "../../components/nginxConfig";
import { CONFIG_KEYS, ConfigError, parseConfig } from "../../components/settings";

// Characters that mean something to sh or nginx, whitespace and control characters.
const DANGEROUS = /[\s;{}$`'"\\|&<>()#*?!\x00-\x1f\x7f]|[^\x00-\x7f]/;

const nasty = fc.oneof(
    fc.string(),
    fc.string({ unit: "grapheme" }),
    fc.constantFrom("$(id)", "`id`", "; rm -rf /", "\n}", "a b", "/x;}", "bluе", "８０", "${HOME}", "'", "\"", "\\"),
    fc.tuple(fc.constantFrom("bluegreen/demo:1.0.0", "/health", "8080", "blue"), fc.constantFrom(";", "\n", "$(x)", " ", "`", "}")).map(([a, b]) => a + b),
);

const stringKeys = Object.entries(CONFIG_KEYS).filter(([, s]) => s.type === "string").map(([k]) => k);

describe("validation is the only way in", () => {
    it("a string key accepts a value only if it holds no shell or nginx metacharacter", () => {
        fc.assert(
            fc.property(fc.constantFrom(...stringKeys), nasty, (key, value) => {
                let accepted = true;
                try {
                    parseConfig({ [key]: value });
                } catch (e) {
                    if (!(e instanceof ConfigError)) throw e;
                    expect(e.message).toMatch(new RegExp(`^\`${key}\` is `));
                    accepted = false;
                }
                if (accepted) expect(value).not.toMatch(DANGEROUS);
            }),
            { numRuns: 3000 },
        );
    });

    it("numeric keys accept only whole numbers in range", () => {
        const intKeys = Object.entries(CONFIG_KEYS).filter(([, s]) => s.type === "integer").map(([k]) => k);
        fc.assert(
            fc.property(fc.constantFrom(...intKeys), fc.oneof(nasty, fc.integer().map(String), fc.double().map(String)), (key, value) => {
                try {
                    const s = parseConfig({ [key]: value, ...(key === "previewPort" ? { proxyPort: "1" } : {}) });
                    expect(value.trim()).toMatch(/^-?[0-9]+$/);
                    expect(JSON.stringify(s)).not.toMatch(/NaN|Infinity/);
                } catch (e) {
                    if (!(e instanceof ConfigError)) throw e;
                }
            }),
            { numRuns: 2000 },
        );
    });

    it("the nginx renderer refuses any target that is not a plain host:port", () => {
        fc.assert(
            fc.property(nasty, fc.constantFrom("blue", "green") as fc.Arbitrary<"blue" | "green">, (server, activeColor) => {
                let conf: string | undefined;
                try {
                    conf = renderNginxConfig({ activeColor, targets: { blue: server, green: "green:8080" } });
                } catch (e) {
                    expect(String(e)).toContain("is not a host:port");
                }
                if (conf !== undefined) expect(server).toMatch(/^[0-9a-zA-Z][0-9a-zA-Z_.-]*:\d+$/);
            }),
            { numRuns: 3000 },
        );
    });

    it("env values may hold anything but NUL: they travel as container env, never through a shell", () => {
        fc.assert(
            fc.property(fc.string(), (value) => {
                try {
                    expect(parseConfig({ blueEnv: JSON.stringify({ V: value }) }).blue.env.V).toBe(value);
                } catch (e) {
                    expect(value).toContain("\0");
                }
            }),
        );
    });
});
