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

describe("package.json", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));
    const lock = JSON.parse(fs.readFileSync(path.join(root, "package-lock.json"), "utf8"));

    it("each @pulumi range starts at the locked version: the set-up installs the plugins of that version (scripts/lib.sh dep_version)", () => {
        for (const name of ["@pulumi/pulumi", "@pulumi/docker", "@pulumi/kubernetes", "@pulumi/command"]) {
            expect(pkg.dependencies[name], name).toBe(`^${lock.packages[`node_modules/${name}`].version}`);
        }
    });

    it("the package's plugin version is its own version (the switch and the gate ask the engine for it)", () => {
        expect(pkg.pulumi).toEqual({ resource: true, name: "bluegreen", version: pkg.version });
    });
});
