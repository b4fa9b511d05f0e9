/**
 * The Pulumi package schema of the bluegreen plugin, generated from the components' typed args
 * (`components/serviceArgs.ts`) and their classes' outputs, with the TypeScript compiler:
 *
 * - a property's description is its JSDoc (else its type's);
 * - it is required when the arg is not optional;
 * - its default is the one in `DEFAULTS` that the validation fills in (table below), and the
 *   generator refuses a default that the JSDoc does not state, and a literal default the JSDoc
 *   states (`Default 30.`) that the table lacks (unions take none: the code generators refuse it);
 * - it is secret when its JSDoc carries `@secret`;
 * - a union of string literals is an enum type, `number` is an integer (every numeric arg is one),
 *   `Record<string, T>` a map, `T[]` an array, `Input<T>` is T (every schema input takes an Output);
 * - a type of `@pulumi/kubernetes` (pod fields passed through to the Deployment) is `Any`, its
 *   description naming the Kubernetes type.
 *
 *   npm run schema            writes providers/bluegreen/schema.json (checked in)
 *
 * test/unit/packageSchema.test.ts fails when the checked-in file is not what this generates.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import ts from "typescript";
import { DEFAULTS } from "../../components/serviceArgs";

const ROOT = path.join(__dirname, "..", "..");
export const SCHEMA_FILE = path.join(__dirname, "schema.json");

type Spec = Record<string, any>;

/** Schema defaults, by arg path (`*` for either color), from the validation's DEFAULTS. */
const SCHEMA_DEFAULTS: Record<string, string | number | boolean> = {
    "colors.*.replicas": DEFAULTS.replicas,
    "colors.*.port": DEFAULTS.port,
    "colors.*.healthPath": DEFAULTS.healthPath,
    "health.retries": DEFAULTS.health.retries,
    "health.intervalSeconds": DEFAULTS.health.intervalSeconds,
    "health.deadlineSeconds": DEFAULTS.health.deadlineSeconds,
    "drainSeconds": DEFAULTS.drainSeconds,
    "proxy.kind": DEFAULTS.proxyKind,
    "proxy.port": DEFAULTS.proxyPort,
    "proxy.previewPort": DEFAULTS.previewPort,
    "proxy.bindAddress": DEFAULTS.bindAddress,
    "smokeTest.status": DEFAULTS.smokeTestStatus,
    "namespace": DEFAULTS.namespace,
    "service.type": DEFAULTS.serviceType,
    "service.port": DEFAULTS.proxyPort,
    "service.previewPort": DEFAULTS.previewPort,
    "service.previewType": DEFAULTS.serviceType,
    "autoscaled": false,
};

/** Names of the object types the args declare inline, by property name. */
const INLINE_NAMES: Record<string, string> = {
    colors: "Colors",
    smokeTest: "SmokeTest",
    service: "ServiceSettings",
    requests: "Quantities",
    limits: "Quantities",
};

/** The components: type token → the args interface and the class, in their source files. */
const COMPONENTS: Component[] = [
    { token: "bluegreen:docker:BlueGreenService", args: "DockerServiceArgs", file: "components/docker/service.ts" },
    { token: "bluegreen:kubernetes:BlueGreenService", args: "KubernetesServiceArgs", file: "components/kubernetes/service.ts" },
];

/** A component: its type token, its args interface (in `argsFile`) and the file of its `BlueGreenService` class. */
export interface Component {
    token: string;
    args: string;
    file: string;
}

/** The schema of the components; `sources` (paths from the repository root) is for the generator's own tests. */
export function generateSchema(version: string, sources: { argsFile: string; components: Component[] } = { argsFile: "components/serviceArgs.ts", components: COMPONENTS }): Spec {
    const COMPONENTS = sources.components;
    const argsFile = path.join(ROOT, sources.argsFile);
    const program = ts.createProgram([argsFile, ...COMPONENTS.map((c) => path.join(ROOT, c.file))], {
        strict: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, esModuleInterop: true, skipLibCheck: true, types: ["node"],
    });
    const checker = program.getTypeChecker();
    const types: Record<string, Spec> = {};
    const doc = (s: ts.Symbol): string => ts.displayPartsToString(s.getDocumentationComment(checker)).replace(/\s+/g, " ").trim();
    const isSecret = (s: ts.Symbol) => s.getJsDocTags(checker).some((t) => t.name === "secret");

    const declared = (file: string, name: string): ts.Symbol => {
        const sf = program.getSourceFile(path.join(ROOT, file))!;
        const found = checker.getExportsOfModule(checker.getSymbolAtLocation(sf)!).find((s) => s.name === name);
        if (!found) throw new Error(`${file}: no ${name}`);
        return found;
    };

    /** T of `Input<T>`/`Output<T>`: the union without Promise, Output and undefined members. */
    const unwrap = (t: ts.Type): ts.Type[] => {
        const members = t.isUnion() ? t.types : [t];
        return members.flatMap((m) => {
            if (m.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Null)) return [];
            const sym = (m.aliasSymbol ?? m.getSymbol())?.name;
            if (sym === "Promise" || sym === "OutputInstance" || sym === "Output" || sym === "Unwrap") return [];
            if (sym === "Input") return unwrap(m);
            return [m];
        });
    };

    const enumOf = (members: ts.Type[], aliasName: string | undefined, module: string): Spec => {
        const values = members.map((m) => (m as ts.StringLiteralType).value);
        if (!aliasName) throw new Error(`an inline union of ${values.join(", ")}: give it a type alias, it becomes the enum's name`);
        const token = `bluegreen:${aliasName === "Color" ? "index" : module}:${aliasName}`;
        types[token] = { type: "string", enum: values.map((value) => ({ name: value[0].toUpperCase() + value.slice(1), value })) };
        return { $ref: `#/types/${token}` };
    };

    const typeSpec = (t: ts.Type, at: string, module: string, propName: string, hint?: string): Spec => {
        const members = unwrap(t);
        if (members.length > 1 && members.every((m) => m.isStringLiteral())) return enumOf(members, hint ?? t.aliasSymbol?.name ?? unionAlias(t), module);
        if (members.length === 2 && members.every((m) => m.flags & ts.TypeFlags.BooleanLiteral)) return { type: "boolean" };
        if (members.length > 1) {
            return { oneOf: members.map((m) => (m.isStringLiteral() ? { type: "string" } : typeSpec(m, at, module, propName))) };
        }
        const [m] = members;
        if (!m) throw new Error(`${at}: no type`);
        const k8s = kubernetesType(m);
        if (k8s) return { $ref: "pulumi.json#/Any", k8s };
        if (checker.isArrayType(m)) return { type: "array", items: typeSpec(checker.getTypeArguments(m as ts.TypeReference)[0], `${at}[]`, module, propName) };
        if (m.flags & ts.TypeFlags.String) return { type: "string" };
        if (m.flags & ts.TypeFlags.Number) return { type: "integer" };
        if (m.flags & (ts.TypeFlags.Boolean | ts.TypeFlags.BooleanLiteral)) return { type: "boolean" };
        if (m.flags & ts.TypeFlags.Object) {
            const index = checker.getIndexInfoOfType(m, ts.IndexKind.String);
            if (index && checker.getPropertiesOfType(m).length === 0) {
                return { type: "object", additionalProperties: typeSpec(index.type, `${at}.*`, module, propName) };
            }
            return { $ref: `#/types/${objectType(m, at, module, propName)}` };
        }
        throw new Error(`${at}: a type the schema cannot express (${checker.typeToString(m)})`);
    };

    /**
     * A type of `@pulumi/kubernetes` (`k8s.types.input.core.v1.Probe`, ...): passed through to the
     * Kubernetes objects the component declares, so it is `Any` in this schema (the SDKs stay free
     * of the kubernetes SDK; the component and the API server check it), and its description names it.
     */
    const kubernetesType = (t: ts.Type): string | undefined => {
        const decl = (t.aliasSymbol ?? t.getSymbol())?.declarations?.[0];
        const file = decl?.getSourceFile().fileName ?? "";
        if (!/node_modules\/@pulumi\/kubernetes\//.test(file)) return undefined;
        return checker.getFullyQualifiedName((t.aliasSymbol ?? t.getSymbol())!).replace(/^.*?\binput\./, "").replace(/^"[^"]*"\./, "");
    };

    /** The alias a property's declaration names (`kind?: ProxyKind`, `activeColor: Input<Color>`). */
    const aliasOf = (decl: ts.Declaration | undefined): string | undefined => {
        let node = decl && (ts.isPropertySignature(decl) || ts.isPropertyDeclaration(decl)) ? decl.type : undefined;
        while (node && ts.isTypeReferenceNode(node) && ["Input", "Output"].includes(node.typeName.getText()) && node.typeArguments?.length) node = node.typeArguments[0];
        return node && ts.isTypeReferenceNode(node) ? node.typeName.getText() : undefined;
    };

    /** Enum aliases of `Input<Color>` and the like: the alias of the union under Input. */
    const unionAlias = (t: ts.Type): string | undefined => {
        for (const m of t.isUnion() ? t.types : [t]) if (m.aliasSymbol && m.aliasSymbol.name !== "Input") return m.aliasSymbol.name;
        return undefined;
    };

    const propertiesOf = (t: ts.Type, at: string, module: string) => {
        const properties: Record<string, Spec> = {};
        const required: string[] = [];
        for (const p of checker.getPropertiesOfType(t)) {
            const decl = p.valueDeclaration ?? p.declarations?.[0];
            const pt = checker.getTypeOfSymbolAtLocation(p, decl!);
            const pAt = at ? `${at}.${p.name}` : p.name;
            const spec: Spec = typeSpec(p.flags & ts.SymbolFlags.Optional ? checker.getNonNullableType(pt) : pt, pAt, module, p.name, aliasOf(decl));
            let description = doc(p);
            if (!description) {
                const target = unwrap(checker.getNonNullableType(pt))[0]?.getSymbol();
                if (target && target.name !== "__type") description = doc(target);
            }
            if (spec.k8s || spec.items?.k8s) {
                const k8s = spec.k8s ?? spec.items.k8s;
                delete spec.k8s;
                if (spec.items) delete spec.items.k8s;
                description = `${description ? `${description} ` : ""}A Kubernetes \`${k8s}\`${spec.items ? " list" : ""}, as the Kubernetes API takes it.`;
            }
            if (description) spec.description = description;
            const dflt = SCHEMA_DEFAULTS[pAt.replace(/^colors\.(blue|green)\./, "colors.*.")];
            if (dflt !== undefined) {
                if (!new RegExp(`Default \`?${String(dflt).replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}\`?`).test(description)) {
                    throw new Error(`${pAt}: its JSDoc must state its default, ${dflt} (the validation fills it in)`);
                }
                spec.default = dflt;
            } else if (!spec.oneOf) {
                // (The code generators take no default on a union, e.g. idleReplicas' `full` or 0–20.)
                // A literal default the JSDoc states (`Default 30.`, ``Default `nginx` ``) must be in SCHEMA_DEFAULTS.
                const stated = /Default (`[^`{[]+`|-?\d+\b|true\b|false\b)/.exec(description);
                if (stated) throw new Error(`${pAt}: its JSDoc states a default, ${stated[1]}: add "${pAt.replace(/^colors\.(blue|green)\./, "colors.*.")}" to SCHEMA_DEFAULTS (providers/bluegreen/schema.ts), from the validation's DEFAULTS`);
            }
            if (isSecret(p)) spec.secret = true;
            properties[p.name] = spec;
            if (!(p.flags & ts.SymbolFlags.Optional)) required.push(p.name);
        }
        return { properties, required };
    };

    const objectType = (t: ts.Type, at: string, module: string, propName: string): string => {
        const sym = t.aliasSymbol ?? t.getSymbol();
        let name = sym && sym.name !== "__type" && sym.name !== "__object" ? sym.name : INLINE_NAMES[propName];
        if (!name) throw new Error(`${at}: an inline object type; name it in INLINE_NAMES (providers/bluegreen/schema.ts)`);
        name = name.replace(/^(Docker|Kubernetes)/, "").replace(/Args$/, "Settings");
        const token = `bluegreen:${module}:${name}`;
        const { properties, required } = propertiesOf(t, at.replace(/^colors\.(blue|green)$/, "colors.*"), module);
        const spec: Spec = { type: "object", ...(sym && sym.name !== "__type" && doc(sym) ? { description: doc(sym) } : {}), properties };
        if (required.length) spec.required = required;
        const known = types[token];
        if (known && JSON.stringify(known) !== JSON.stringify(spec)) throw new Error(`${at}: two different types named ${token}`);
        types[token] = spec;
        return token;
    };

    const resources: Record<string, Spec> = {};
    for (const c of COMPONENTS) {
        const module = c.token.split(":")[1];
        const args = checker.getDeclaredTypeOfSymbol(declared(sources.argsFile, c.args));
        const inputs = propertiesOf(args, "", module);
        const cls = declared(c.file, "BlueGreenService");
        const instance = checker.getDeclaredTypeOfSymbol(cls);
        const outputs: Record<string, Spec> = {};
        for (const p of checker.getPropertiesOfType(instance)) {
            const decl = p.valueDeclaration;
            if (!decl || decl.getSourceFile().fileName !== path.join(ROOT, c.file) || !ts.isPropertyDeclaration(decl)) continue;
            // `pulumi.Output<T>`: the schema's output is T.
            const node = decl.type;
            const inner = node && ts.isTypeReferenceNode(node) && node.typeArguments?.length ? node.typeArguments[0] : undefined;
            if (!inner) throw new Error(`${c.file}: ${p.name} is not declared as an Output<T>`);
            const out = typeSpec(checker.getTypeFromTypeNode(inner), p.name, module, p.name, ts.isTypeReferenceNode(inner) ? inner.typeName.getText() : undefined);
            const d = doc(p);
            outputs[p.name] = { ...out, ...(d ? { description: d } : {}) };
        }
        resources[c.token] = {
            isComponent: true,
            description: doc(cls),
            inputProperties: inputs.properties,
            requiredInputs: inputs.required,
            properties: outputs,
            required: Object.keys(outputs),
        };
    }

    // A type both modules declare alike (the health settings) is one type of the `index` module.
    let text = JSON.stringify({ resources, types });
    for (const token of Object.keys(types).filter((t) => t.startsWith("bluegreen:docker:"))) {
        const twin = token.replace(":docker:", ":kubernetes:");
        if (types[twin] && JSON.stringify(types[twin]) === JSON.stringify(types[token])) {
            const shared = token.replace(":docker:", ":index:");
            text = text.split(`#/types/${token}"`).join(`#/types/${shared}"`).split(`#/types/${twin}"`).join(`#/types/${shared}"`);
            types[shared] = types[token];
            delete types[token];
            delete types[twin];
        }
    }
    const merged = JSON.parse(text) as { resources: Spec; types: Spec };
    Object.assign(merged.types, Object.fromEntries(Object.entries(types).filter(([k]) => k.startsWith("bluegreen:index:"))));

    return {
        name: "bluegreen",
        displayName: "bluegreen",
        version,
        description: "Zero-downtime blue/green deployments on Docker and Kubernetes: one component per service, switched by changing activeColor.",
        keywords: ["pulumi", "blue-green", "docker", "kubernetes", "kind/component"],
        license: "Apache-2.0",
        meta: { moduleFormat: "(.*)" },
        language: {
            python: { packageName: "pulumi_bluegreen", requires: { pulumi: ">=3.0.0,<4.0.0" }, respectSchemaVersion: true },
            go: { importBasePath: "example.com/bluegreen/sdk/go/bluegreen", generateResourceContainerTypes: false, respectSchemaVersion: true },
            nodejs: { packageName: "@bluegreen/sdk", respectSchemaVersion: true },
        },
        config: {},
        provider: { description: "The bluegreen provider: the service components, the traffic switch and the readiness gate they declare." },
        resources: merged.resources,
        types: Object.fromEntries(Object.entries(merged.types).filter(([k]) => types[k]).sort(([a], [b]) => a.localeCompare(b))),
    };
}

/** The schema as the file holds it. */
export function schemaText(version: string): string {
    return `${JSON.stringify(generateSchema(version), null, 2)}\n`;
}

export function packageVersion(): string {
    return JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).version;
}

if (require.main === module) {
    fs.writeFileSync(SCHEMA_FILE, schemaText(packageVersion()));
    console.log(path.relative(process.cwd(), SCHEMA_FILE));
}
