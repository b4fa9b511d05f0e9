/**
 * The bluegreen package's schema (providers/bluegreen/schema.json), which the plugin serves to
 * Pulumi YAML and from which `pulumi package gen-sdk` makes the Python and Go SDKs. It is
 * generated from the components' typed args (providers/bluegreen/schema.ts); this fails when the
 * checked-in file is not what the code generates: run `npm run schema` and commit the result.
 */
import * as fs from "node:fs";
import { describe, expect, it } from "vitest";
import { DEFAULTS, validateDockerServiceArgs } from "../../components/serviceArgs";
import { COMPONENTS } from "../../providers/bluegreen/construct";
import { impl } from "../../providers/bluegreen/provider";
import { SCHEMA_FILE, generateSchema, packageVersion, schemaText } from "../../providers/bluegreen/schema";

const schema = JSON.parse(fs.readFileSync(SCHEMA_FILE, "utf8"));
const docker = schema.resources["bluegreen:docker:BlueGreenService"];
const kubernetes = schema.resources["bluegreen:kubernetes:BlueGreenService"];
const type = (token: string) => schema.types[token.replace("#/types/", "")];

describe("the package schema", () => {
    it("is what the components' args generate (else: npm run schema)", () => {
        const file = fs.readFileSync(SCHEMA_FILE, "utf8").split("\n");
        const generated = schemaText(packageVersion()).split("\n");
        const at = generated.findIndex((line, i) => line !== file[i]);
        const where = at < 0 ? "" : ` (line ${at + 1}: the file has ${JSON.stringify(file[at]?.trim())}, the code generates ${JSON.stringify(generated[at].trim())})`;
        expect(file.join("\n"), `providers/bluegreen/schema.json is stale: run \`npm run schema\`${where}`).toBe(generated.join("\n"));
    });

    it("has the package's version, and the plugin serves it with its own", () => {
        expect(schema.version).toBe(packageVersion());
        const served = JSON.parse(impl.schema!());
        expect(served).toEqual({ ...schema, version: impl.version });
    });

    it("lists exactly the components the plugin constructs", () => {
        expect(Object.keys(schema.resources).sort()).toEqual(Object.keys(COMPONENTS).sort());
        for (const r of Object.values(schema.resources) as { isComponent: boolean }[]) expect(r.isComponent).toBe(true);
    });

    it("requires what TypeScript requires, and types each arg", () => {
        expect(docker.requiredInputs.sort()).toEqual(["activeColor", "colors"]);
        expect(type(docker.inputProperties.activeColor.$ref)).toEqual({ type: "string", enum: [{ name: "Blue", value: "blue" }, { name: "Green", value: "green" }] });
        const color = type(type(docker.inputProperties.colors.$ref).properties.blue.$ref);
        expect(color.required).toEqual(["image"]);
        expect(color.properties.replicas.type).toBe("integer");
        expect(type(type(docker.inputProperties.proxy.$ref).properties.kind.$ref).enum.map((e: { value: string }) => e.value)).toEqual(["nginx", "traefik"]);
        expect(docker.inputProperties.labels).toMatchObject({ type: "object", additionalProperties: { type: "string" } });
        expect(kubernetes.inputProperties.idleReplicas.oneOf).toEqual([{ type: "integer" }, { type: "string" }]);
    });

    it("has the defaults the validation fills in, and the descriptions of the args' doc comments", () => {
        const filled = validateDockerServiceArgs("api", { activeColor: "blue", colors: { blue: { image: "a:1" }, green: { image: "a:2" } } });
        const color = type(type(docker.inputProperties.colors.$ref).properties.blue.$ref);
        const proxy = type(docker.inputProperties.proxy.$ref);
        const health = type(docker.inputProperties.health.$ref);
        expect({
            replicas: color.properties.replicas.default, port: color.properties.port.default, healthPath: color.properties.healthPath.default,
            kind: proxy.properties.kind.default, proxyPort: proxy.properties.port.default, previewPort: proxy.properties.previewPort.default,
            bindAddress: proxy.properties.bindAddress.default, retries: health.properties.retries.default, drainSeconds: docker.inputProperties.drainSeconds.default,
        }).toEqual({
            replicas: filled.colors.blue.replicas, port: filled.colors.blue.port, healthPath: filled.colors.blue.healthPath,
            kind: filled.proxy.kind, proxyPort: filled.proxy.port, previewPort: filled.proxy.previewPort,
            bindAddress: filled.proxy.bindAddress, retries: filled.health.retries, drainSeconds: filled.drainSeconds,
        });
        expect(kubernetes.inputProperties.namespace.default).toBe(DEFAULTS.namespace);
        expect(color.properties.replicas.description).toBe("Containers (Docker) or pods (Kubernetes) of this color, 1–20. Default 1.");
        expect(docker.description).toMatch(/^A blue\/green service on a Docker engine/);
    });

    it("marks the env as secret (its JSDoc's @secret), and nothing else", () => {
        const secret: string[] = [];
        const walk = (props: Record<string, { secret?: boolean }>, at: string) => {
            for (const [k, v] of Object.entries(props)) if (v.secret) secret.push(`${at}.${k}`);
        };
        for (const [token, t] of Object.entries(schema.types) as [string, { properties?: Record<string, { secret?: boolean }> }][]) walk(t.properties ?? {}, token);
        for (const [token, r] of Object.entries(schema.resources) as [string, { inputProperties: Record<string, { secret?: boolean }> }][]) walk(r.inputProperties, token);
        expect(secret.sort()).toEqual(["bluegreen:docker:ColorSettings.env", "bluegreen:kubernetes:ColorSettings.env"]);
    });

    it("the outputs are the component classes' public Output properties", () => {
        expect(Object.keys(docker.properties)).toEqual(["url", "previewUrl", "activeColor", "idleColor", "blueImage", "greenImage", "proxyContainerName", "networkName"]);
        expect(Object.keys(kubernetes.properties)).toEqual(["url", "previewUrl", "activeColor", "idleColor", "blueImage", "greenImage", "serviceName", "previewServiceName", "blueDeploymentName", "greenDeploymentName"]);
    });

    it("types an array as an array, and a Kubernetes type passed through as Any naming it (test/fixtures/schemaArgs.ts)", () => {
        const fixture = generateSchema("0.0.0", { argsFile: "test/fixtures/schemaArgs.ts", components: [{ token: "bluegreen:fixture:BlueGreenService", args: "FixtureArgs", file: "test/fixtures/schemaArgs.ts" }] });
        const pod = fixture.types["bluegreen:fixture:FixturePodSettings"].properties;
        expect(pod).toEqual({
            readinessProbe: { $ref: "pulumi.json#/Any", description: "The probe. A Kubernetes `core.v1.Probe`, as the Kubernetes API takes it." },
            envFrom: { type: "array", items: { $ref: "pulumi.json#/Any" }, description: "Env from Secrets or ConfigMaps. A Kubernetes `core.v1.EnvFromSource` list, as the Kubernetes API takes it." },
            args: { type: "array", items: { type: "string" }, description: "Extra arguments of the app." },
            minAvailable: { oneOf: [{ type: "string" }, { type: "integer" }], description: "A count or a percentage." },
        });
        expect(JSON.stringify(fixture)).not.toContain("kubernetes:core");
    });
});
