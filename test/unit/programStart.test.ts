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

/** Requires the modules in a fresh Node.js process (tsx for the project's .ts) and lists what got loaded. */
function loadedBy(specifiers: string[]): string[] {
    const script = `for (const m of JSON.parse(process.argv[1])) require(m); console.log(JSON.stringify(Object.keys(require.cache)));`;
    const resolved = specifiers.map((m) => (m.startsWith(".") ? path.join(root, m) : m));
    const out = execFileSync(process.execPath, ["--import", "tsx", "-e", script, JSON.stringify(resolved)], { cwd: root, encoding: "utf8" });
    return JSON.parse(out.trim().split("\n").pop()!) as string[];
}

describe("the program's start", () => {
    it("index.ts's first turn loads neither the SDK's index nor its Automation API", () => {
        const imports = valueImports(path.join(root, "index.ts"));
        expect(imports).toContain("./stacks/config");
        const loaded = loadedBy(imports);
        expect(loaded.some((f) => f.includes(`${path.sep}stacks${path.sep}config.ts`))).toBe(true);
        expect(loaded.filter((f) => /@pulumi[\\/]pulumi[\\/](index\.js|automation[\\/])|@npmcli[\\/]arborist/.test(f))).toEqual([]);
    });
});
