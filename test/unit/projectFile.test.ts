import * as fs from "node:fs";
import * as path from "node:path";
import yaml from "js-yaml";
import { describe, expect, it } from "vitest";
import { CONFIG_KEYS, parseConfig } from "../../components/settings";

const root = path.resolve(__dirname, "../..");
const project = yaml.load(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8")) as any;
const dev = yaml.load(fs.readFileSync(path.join(root, "Pulumi.dev.yaml"), "utf8")) as any;

describe("Pulumi.yaml", () => {
    it("declares exactly the keys the program knows, each with its description, type and default", () => {
        expect(Object.keys(project.config).sort()).toEqual(Object.keys(CONFIG_KEYS).sort());
        for (const [key, spec] of Object.entries(CONFIG_KEYS)) {
            const declared = project.config[key];
            expect(declared.description, key).toBe(spec.description);
            expect(declared.default, key).toEqual(spec.default);
            if (spec.type !== "object") expect(declared.type, key).toBe(spec.type);
        }
    });

    it("ships a Kubernetes example stack that validates", () => {
        const example = yaml.load(fs.readFileSync(path.join(root, "stacks/kubernetes.example.yaml"), "utf8")) as any;
        const raw = Object.fromEntries(Object.entries(example.config)
            .filter(([k]) => k.startsWith("bluegreen:"))
            .map(([k, v]) => [k.replace(/^bluegreen:/, ""), typeof v === "object" ? JSON.stringify(v) : String(v)]));
        const s = parseConfig(raw);
        expect(s.platform).toBe("kubernetes");
        expect(s.kubernetes).toMatchObject({ namespace: "shop", serviceType: "LoadBalancer", idleReplicas: "full" });
    });

    it("has a dev stack that validates, with blue live", () => {
        const raw = Object.fromEntries(Object.entries(dev.config).map(([k, v]) => [k.replace(/^bluegreen:/, ""), String(v)]));
        const s = parseConfig(raw);
        expect(s.activeColor).toBe("blue");
        expect(s.proxy.bindAddress).toBe("127.0.0.1");
    });
});
