/**
 * Property tests: whatever a person types, nothing that could change the meaning of the nginx
 * config or of a command line gets past validation.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { renderNginxConfig } from "../../components/nginxConfig";
import { CONFIG_KEYS, ConfigError, Settings, parseConfig } from "../../components/settings";

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

    // The ranges the README's Config reference documents, written out here rather than read from
    // the parser, and where each value lands in the settings.
    const RANGES: Record<string, { min: number; max: number; read: (s: Settings) => number }> = {
        blueReplicas: { min: 1, max: 20, read: (s) => s.blue.replicas },
        greenReplicas: { min: 1, max: 20, read: (s) => s.green.replicas },
        bluePort: { min: 1, max: 65535, read: (s) => s.blue.port },
        greenPort: { min: 1, max: 65535, read: (s) => s.green.port },
        proxyPort: { min: 1, max: 65535, read: (s) => s.proxy.port },
        previewPort: { min: 1, max: 65535, read: (s) => s.proxy.previewPort },
        healthRetries: { min: 1, max: 1000, read: (s) => s.health.retries },
        healthIntervalSeconds: { min: 1, max: 60, read: (s) => s.health.intervalSeconds },
        healthDeadlineSeconds: { min: 1, max: 3600, read: (s) => s.health.deadlineSeconds },
        drainSeconds: { min: 1, max: 3600, read: (s) => s.drainSeconds },
        smokeTestStatus: { min: 100, max: 599, read: (s) => s.smokeTest!.status },
    };
    /** Keys the value needs beside it: the other listener on port 1 (so 1 is the one port refused), a smoke test path. */
    const CONTEXT: Record<string, Record<string, string>> = {
        proxyPort: { previewPort: "1" },
        previewPort: { proxyPort: "1" },
        smokeTestStatus: { smokeTestPath: "/" },
    };
    const intKeys = Object.entries(CONFIG_KEYS).filter(([, s]) => s.type === "integer").map(([k]) => k);

    it("the range table covers every integer key", () => {
        expect(Object.keys(RANGES).sort()).toEqual([...intKeys].sort());
    });

    it("numeric keys accept exactly the whole numbers in range, and keep their value", () => {
        // Around every bound, a port out of range (99999), whole numbers anywhere, decimals, words.
        const around = fc.constantFrom(...new Set(Object.values(RANGES).flatMap((r) => [r.min - 1, r.min, r.min + 1, r.max - 1, r.max, r.max + 1])), 0, -1, 99999, 65536, 100000);
        const value = fc.oneof(
            around.map(String),
            fc.integer({ min: -10, max: 70000 }).map(String),
            fc.integer().map(String),
            fc.tuple(around, fc.constantFrom(" ", "\t", "0", ".0", ".5", "e2", "px")).map(([n, s]) => (s === "0" ? s + n : s.trim() ? n + s : s + n + s)),
            fc.double().map(String),
            nasty,
        );
        fc.assert(
            fc.property(fc.constantFrom(...intKeys), value, (key, v) => {
                const { min, max, read } = RANGES[key];
                const whole = /^-?[0-9]+$/.test(v.trim());
                const n = Number(v.trim());
                const clashes = key in CONTEXT && (key === "proxyPort" || key === "previewPort") && n === 1;
                const allowed = whole && n >= min && n <= max && !clashes;
                let settings: Settings | undefined;
                try {
                    settings = parseConfig({ ...CONTEXT[key], [key]: v });
                } catch (e) {
                    if (!(e instanceof ConfigError)) throw e;
                    // Refused: it must be refusable, and the message names the key.
                    expect(allowed, `${key}=${JSON.stringify(v)} is a whole number in ${min}–${max}, refused: ${e.message}`).toBe(false);
                    if (!clashes) expect(e.message).toMatch(new RegExp(`^\`${key}\` is .*whole number from ${min} to ${max}`));
                    return;
                }
                expect(allowed, `${key}=${JSON.stringify(v)} is outside ${min}–${max} or not a whole number, accepted`).toBe(true);
                expect(read(settings)).toBe(n);
            }),
            { numRuns: 4000 },
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
