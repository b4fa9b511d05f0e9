import { defineConfig } from "vitest/config";

export default defineConfig({
    test: {
        projects: [
            {
                test: {
                    name: "unit",
                    include: ["test/unit/**/*.test.ts"],
                    testTimeout: 30_000,
                },
            },
            {
                test: {
                    name: "e2e",
                    include: ["test/e2e/**/*.test.ts"],
                    // Real engines: one file at a time, generous limits, no retries that hide flakes.
                    fileParallelism: false,
                    testTimeout: 600_000,
                    hookTimeout: 600_000,
                },
            },
        ],
    },
});
