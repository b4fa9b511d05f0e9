import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../../components/settings";
import badConfigs from "../fixtures/bad-configs.json";

describe("the bad-config table", () => {
    it("holds at least 30 cases", () => {
        expect(badConfigs.length).toBeGreaterThanOrEqual(30);
    });

    it.each(badConfigs.map((c) => [c.name, c] as const))("rejects %s, naming the key", (_name, c) => {
        let error: unknown;
        try {
            parseConfig(c.config as unknown as Record<string, string>);
        } catch (e) {
            error = e;
        }
        expect(error).toBeInstanceOf(ConfigError);
        expect((error as Error).message.startsWith(`\`${c.key}\` is `)).toBe(true);
    });
});
