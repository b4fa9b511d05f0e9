/**
 * What index.ts loads before it declares the bluegreen provider: its value imports, as the
 * TypeScript compiler reads them, required in a fresh Node.js process. The SDK's index
 * (`@pulumi/pulumi`) would pull in its Automation API and npm's Arborist (about 0.25 s in the
 * program, README "Benchmark"), holding back the provider's registration and so the plugin's start.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const root = path.resolve(__dirname, "../..");

/** The module specifiers of a file's imports that are kept at run time (not `import type`). */
function valueImports(file: string): string[] {
    const src = ts.createSourceFile(file, fs.readFileSync(file, "utf8"), ts.ScriptTarget.ES2022);
    return src.statements
        .filter((s): s is ts.ImportDeclaration => ts.isImportDeclaration(s) && !s.importClause?.isTypeOnly)
        .map((s) => (s.moduleSpecifier as ts.StringLiteral).text);
}

/** Runs `script` in a fresh Node.js process (tsx for the project's .ts) with `args`; returns its last line, parsed. */
function runFresh(script: string, ...args: string[]): unknown {
    return runFreshWith(process.env, script, ...args);
}

function runFreshWith(env: NodeJS.ProcessEnv, script: string, ...args: string[]): unknown {
    const out = execFileSync(process.execPath, ["--import", "tsx", "-e", script, ...args], { cwd: root, encoding: "utf8", env });
    return JSON.parse(out.trim().split("\n").pop()!);
}

/** Requires the modules in a fresh Node.js process and lists what got loaded. */
function loadedBy(specifiers: string[]): string[] {
    const script = `for (const m of JSON.parse(process.argv[1])) require(m); console.log(JSON.stringify(Object.keys(require.cache)));`;
    return runFresh(script, JSON.stringify(specifiers.map((m) => (m.startsWith(".") ? path.join(root, m) : m)))) as string[];
}

/**
 * Script lines that put the fresh process under Pulumi's mocks, so that index.ts runs whole. The
 * mocks module by path: the SDK's runtime index would load the code paths itself.
 */
const UNDER_MOCKS = `require("@pulumi/pulumi/runtime/mocks").setMocks(
                { newResource: (a) => ({ id: a.name + "-id", state: a.inputs }), call: (a) => a.inputs }, "bluegreen", "dev", true);`;

/** The SDK's index, its Automation API and npm's Arborist, among loaded files. */
const unused = (files: string[]) => files.filter((f) => /@pulumi[\\/]pulumi[\\/](index\.js|automation[\\/])|@npmcli[\\/]arborist/.test(f));

describe("the program's start", () => {
    it("index.ts's first turn loads neither the SDK's index nor its Automation API", () => {
        const imports = valueImports(path.join(root, "index.ts"));
        expect(imports).toContain("./stacks/config");
        const loaded = loadedBy(imports);
        expect(loaded.some((f) => f.includes(`${path.sep}stacks${path.sep}config.ts`))).toBe(true);
        expect(unused(loaded)).toEqual([]);
    });

    it("the Docker platform's module, after stacks/fastStart, loads the SDK's index but neither its Automation API nor Arborist", () => {
        const script = `
            const lazy = require(${JSON.stringify(path.join(root, "stacks/fastStart"))});
            lazy.deferUnusedSdkModules();
            require(${JSON.stringify(path.join(root, "components/docker/service"))});
            const stubs = new Set([...lazy.stillDeferred].map((id) => require.resolve(id)));
            console.log(JSON.stringify(Object.keys(require.cache).filter((f) => !stubs.has(f))));`;
        const loaded = runFresh(script) as string[];
        expect(loaded.some((f) => /@pulumi[\\/]docker[\\/]index\.js$/.test(f))).toBe(true);
        expect(unused(loaded).map((f) => path.relative(path.join(root, "node_modules"), f))).toEqual(["@pulumi/pulumi/index.js"]);
    });

    it("the whole program (index.ts, under Pulumi's mocks) declares its Docker service without loading the Automation API or Arborist", () => {
        const script = `
            ${UNDER_MOCKS}
            const lazy = require(${JSON.stringify(path.join(root, "stacks/fastStart"))});
            Promise.resolve(require(${JSON.stringify(path.join(root, "index.ts"))})).then((outputs) => {
                const stubs = new Set([...lazy.stillDeferred].map((id) => require.resolve(id)));
                const loaded = Object.keys(require.cache).filter((f) => !stubs.has(f));
                console.log(JSON.stringify({ outputs: Object.keys(outputs).sort(), loaded }));
            });`;
        const { outputs, loaded } = runFresh(script) as { outputs: string[]; loaded: string[] };
        expect(outputs).toEqual(["activeColor", "blueImage", "greenImage", "idleColor", "previewUrl", "url"]);
        expect(loaded.some((f) => /@pulumi[\\/]docker[\\/]index\.js$/.test(f))).toBe(true);
        expect(unused(loaded).map((f) => path.relative(path.join(root, "node_modules"), f))).toEqual(["@pulumi/pulumi/index.js"]);
    });

    it("declares the bluegreen provider first, then one service named <project>-<stack> whose switch runs on that provider", () => {
        const script = `
            const regs = [];
            require("@pulumi/pulumi/runtime/mocks").setMocks({
                newResource: (a) => (regs.push({ type: a.type, name: a.name, provider: a.provider || "" }), { id: a.name + "-id", state: a.inputs }),
                call: (a) => a.inputs,
            }, "bluegreen", "dev", true);
            Promise.resolve(require(${JSON.stringify(path.join(root, "index.ts"))})).then(async (outputs) => {
                const url = await new Promise((resolve) => outputs.url.apply(resolve));
                await new Promise((resolve) => setTimeout(resolve, 300));
                console.log(JSON.stringify({ url, regs }));
            });`;
        const { url, regs } = runFresh(script) as { url: string; regs: { type: string; name: string; provider: string }[] };
        expect(url).toBe("http://127.0.0.1:8080");
        expect(regs[0]).toMatchObject({ type: "pulumi:providers:bluegreen", name: "bluegreen-dev-bluegreen" });
        expect(regs.filter((r) => r.type.endsWith(":BlueGreenService")).map((r) => `${r.type}::${r.name}`)).toEqual(["bluegreen:docker:BlueGreenService::bluegreen-dev"]);
        expect(regs.find((r) => r.type === "bluegreen:docker:TrafficSwitch")).toMatchObject({
            name: "bluegreen-dev-proxy-switch",
            provider: expect.stringContaining("pulumi:providers:bluegreen::bluegreen-dev-bluegreen"),
        });
    });

    it("the bluegreen provider's registration leaves before the platform's SDK starts loading (what waiting one turn buys)", () => {
        // stacks/fastStart.ts afterOneTurn: the engine can start the plugin while @pulumi/docker loads.
        const script = `
            const Module = require("node:module");
            const regs = [];
            let before;
            const load = Module._load;
            Module._load = function (request, ...rest) {
                if (before === undefined && request === "@pulumi/docker") before = regs.slice();
                return load.call(this, request, ...rest);
            };
            require("@pulumi/pulumi/runtime/mocks").setMocks({
                newResource: (a) => (regs.push(a.type + "::" + a.name), { id: a.name + "-id", state: a.inputs }),
                call: (a) => a.inputs,
            }, "bluegreen", "dev", true);
            Promise.resolve(require(${JSON.stringify(path.join(root, "index.ts"))})).then(() => console.log(JSON.stringify({ before })));`;
        const { before } = runFresh(script) as { before: string[] };
        expect(before).toEqual(["pulumi:providers:bluegreen::bluegreen-dev-bluegreen"]);
    });

    it("declares its resources without stack traces and restores them after; BLUEGREEN_STACK_TRACES=1 keeps them throughout", () => {
        // The assignments to Error.stackTraceLimit while the whole program (under Pulumi's mocks)
        // declares its Docker service, and the value it had before. The SDK's own, which set it to
        // Infinity around each resource's source position and then put it back, are left out.
        const script = `
            ${UNDER_MOCKS}
            const before = Error.stackTraceLimit;
            let value = before, sdk = false;
            const sets = [];
            Object.defineProperty(Error, "stackTraceLimit", { configurable: true, get: () => value, set: (v) => {
                if (v === Infinity) sdk = true; else if (sdk) sdk = false; else sets.push(v);
                value = v;
            } });
            Promise.resolve(require(${JSON.stringify(path.join(root, "index.ts"))})).then(() => console.log(JSON.stringify({ before, sets })));`;
        const { BLUEGREEN_STACK_TRACES: _, ...env } = process.env;
        const quiet = runFreshWith(env, script) as { before: number; sets: number[] };
        expect(quiet.before).toBeGreaterThan(0);
        expect(quiet.sets).toEqual([0, quiet.before]);
        const traced = runFreshWith({ ...env, BLUEGREEN_STACK_TRACES: "1" }, script) as { before: number; sets: number[] };
        expect(traced.sets).toEqual([traced.before]);
    });

    it("without stacks/fastStart the same module loads them (what the deferral saves)", () => {
        const loaded = loadedBy(["./components/docker/service"]);
        expect(unused(loaded).filter((f) => /arborist/.test(f)).length).toBeGreaterThan(10);
    });

    it("what was deferred still works on first use, loaded then", () => {
        const script = `
            const lazy = require(${JSON.stringify(path.join(root, "stacks/fastStart"))});
            lazy.deferUnusedSdkModules();
            const pulumi = require("@pulumi/pulumi");
            const runtime = require("@pulumi/pulumi/runtime");
            const before = [...lazy.stillDeferred].sort();
            const arboristBefore = Object.keys(require.cache).some((f) => f.includes("arborist"));
            const workspace = typeof pulumi.automation.LocalWorkspace.create;
            const fullyQualified = typeof pulumi.automation.fullyQualifiedStackName;
            const codePaths = typeof runtime.computeCodePaths;
            const arboristAfter = Object.keys(require.cache).some((f) => f.includes("arborist"));
            console.log(JSON.stringify({ before, arboristBefore, workspace, fullyQualified, codePaths, after: [...lazy.stillDeferred], arboristAfter }));`;
        expect(runFresh(script)).toEqual({
            before: ["@pulumi/pulumi/automation", "@pulumi/pulumi/runtime/closure/codePaths"],
            arboristBefore: false,
            workspace: "function",
            fullyQualified: "function",
            codePaths: "function",
            after: ["@pulumi/pulumi/runtime/closure/codePaths"],
            arboristAfter: false, // the code paths load when called, not when read
        });
    });

    it("a closure serialization, which needs the deferred code paths, still works", async () => {
        const script = `
            require(${JSON.stringify(path.join(root, "stacks/fastStart"))}).deferUnusedSdkModules();
            const runtime = require("@pulumi/pulumi/runtime");
            runtime.computeCodePaths({ extraIncludePaths: [], extraIncludePackages: [], extraExcludePackages: [] })
                .then((paths) => console.log(JSON.stringify({ ok: paths.size > 0 })), (e) => console.log(JSON.stringify({ error: String(e) })));`;
        expect(runFresh(script)).toEqual({ ok: true });
    });
});
