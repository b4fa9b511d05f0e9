/**
 * The Python and Go SDKs of the bluegreen package, generated from providers/bluegreen/schema.json
 * (scripts/sdks.sh: `pulumi package gen-sdk` where the CLI has the language hosts, else the same
 * generators through scripts/gensdk), and the examples' programs checked against them:
 * examples/python-service with mypy (strict) in a venv where pip installed `pulumi` from PyPI,
 * examples/go-service with `go vet` and `go build` against the generated module, with
 * github.com/pulumi/pulumi/sdk/v3 from the module proxy. Each also fails on a wrong type.
 *
 * The programs cannot run here (the Python and Go language hosts cannot be built here); the YAML
 * example runs (examples-yaml.test.ts). The venv is cached in ~/.cache/bluegreen and Go's module
 * and build caches are Go's own: warm, this file takes seconds.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { commands, lib, requirements } from "../helpers/requirements";
import { ROOT, pulumiEnv, tmpDir } from "../helpers/toolchain";

const missing = requirements("package-sdks.test.ts", commands(["python3", "go"], "install Python 3 (with venv) and Go ≥ 1.24"));

/** The pins of the check: the Python SDK at the CLI's version, and mypy. */
const PULUMI_VERSION = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).dependencies["@pulumi/pulumi"].replace(/^[\^~]/, "");
const MYPY_VERSION = "2.4.1";
const work = tmpDir("bg-sdks");
const sdk = path.join(work, "sdk");
let env: Record<string, string> = {};
let venv = "";
const figures: Record<string, unknown> = {};

/** A command's stdout and stderr together, and whether it exited 0. */
function run(cmd: string, args: string[], cwd: string, extra: Record<string, string> = {}): { ok: boolean; out: string } {
    const r = spawnSync(cmd, args, { cwd, env: { ...process.env, ...env, ...extra }, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
    return { ok: r.status === 0, out: `${r.stdout ?? ""}${r.stderr ?? ""}${r.error ? String(r.error) : ""}` };
}

const timed = <T>(name: string, f: () => T): T => {
    const t = Date.now();
    const r = f();
    figures[name] = `${((Date.now() - t) / 1000).toFixed(1)} s`;
    return r;
};

beforeAll(() => {
    if (missing) return;
    env = pulumiEnv();
    const gen = timed("generate", () => run("bash", ["scripts/sdks.sh", sdk], ROOT));
    expect(gen.ok, gen.out).toBe(true);
    figures.generatedWith = gen.out.split("\n").filter((l) => l.includes("sdk "));
    // The venv, once per pin: pip installs pulumi (and its dependencies) and mypy from PyPI.
    venv = path.join(lib("$BLUEGREEN_CACHE"), `sdks-python-venv-pulumi-${PULUMI_VERSION}-mypy-${MYPY_VERSION}`);
    // A venv's scripts name its folder, so it is made in place; `.complete` marks one that pip finished.
    if (!fs.existsSync(path.join(venv, ".complete"))) {
        timed("venv", () => {
            fs.rmSync(venv, { recursive: true, force: true });
            const made = run("python3", ["-m", "venv", venv], work);
            expect(made.ok, made.out).toBe(true);
            const pip = run(path.join(venv, "bin", "pip"), ["install", "--quiet", `pulumi==${PULUMI_VERSION}`, `mypy==${MYPY_VERSION}`], work);
            expect(pip.ok, pip.out).toBe(true);
            fs.writeFileSync(path.join(venv, ".complete"), "");
        });
    }
}, 900_000);

afterAll(() => {
    console.log("figures:", JSON.stringify(figures, null, 2));
    fs.rmSync(work, { recursive: true, force: true });
});

/** examples/python-service with `edit` applied, checked by mypy (strict) against the generated SDK. */
function mypy(edit: (text: string) => string = (t) => t): { ok: boolean; out: string } {
    const dir = fs.mkdtempSync(path.join(work, "py-"));
    fs.writeFileSync(path.join(dir, "__main__.py"), edit(fs.readFileSync(path.join(ROOT, "examples/python-service/__main__.py"), "utf8")));
    // Strict for the program; the generated code's own style is the generator's.
    fs.writeFileSync(path.join(dir, "mypy.ini"), "[mypy]\nstrict = True\n\n[mypy-pulumi_bluegreen.*]\nignore_errors = True\n");
    return run(path.join(venv, "bin", "mypy"), ["--config-file", "mypy.ini", "--no-incremental", "__main__.py"], dir, { MYPYPATH: path.join(sdk, "python") });
}

/** examples/go-service with `edit` applied, in a module that uses the generated SDK: go vet, then go build. */
function goCheck(edit: (text: string) => string = (t) => t): { ok: boolean; out: string } {
    const mod = path.join(sdk, "go", "bluegreen");
    if (!fs.existsSync(path.join(mod, "go.mod"))) {
        fs.writeFileSync(path.join(mod, "go.mod"), `module example.com/bluegreen/sdk/go/bluegreen\n\ngo 1.24\n\nrequire github.com/pulumi/pulumi/sdk/v3 v${PULUMI_VERSION}\n`);
    }
    const dir = fs.mkdtempSync(path.join(work, "go-"));
    fs.writeFileSync(path.join(dir, "main.go"), edit(fs.readFileSync(path.join(ROOT, "examples/go-service/main.go"), "utf8")));
    fs.writeFileSync(path.join(dir, "go.mod"), `module example.com/go-service\n\ngo 1.24\n\nrequire example.com/bluegreen/sdk/go/bluegreen v0.0.0\n\nreplace example.com/bluegreen/sdk/go/bluegreen => ${mod}\n`);
    const goEnv = { GOTOOLCHAIN: "local", GOFLAGS: "-mod=mod", CGO_ENABLED: "0" };
    const tidy = run("go", ["mod", "tidy"], dir, goEnv);
    if (!tidy.ok) return tidy;
    const vet = run("go", ["vet", "./..."], dir, goEnv);
    if (!vet.ok) return vet;
    return run("go", ["build", "-o", path.join(dir, "go-service"), "."], dir, goEnv);
}

describe.skipIf(missing)("the Python and Go SDKs generated from the schema", () => {
    it("both SDKs are generated: the Python package and the Go module, with both components", () => {
        expect(fs.existsSync(path.join(sdk, "python", "pulumi_bluegreen", "docker", "blue_green_service.py"))).toBe(true);
        expect(fs.existsSync(path.join(sdk, "python", "pulumi_bluegreen", "kubernetes", "blue_green_service.py"))).toBe(true);
        expect(fs.existsSync(path.join(sdk, "go", "bluegreen", "docker", "blueGreenService.go"))).toBe(true);
        expect(fs.existsSync(path.join(sdk, "go", "bluegreen", "kubernetes", "blueGreenService.go"))).toBe(true);
        // Both ask the engine for the plugin of the schema's version.
        const plugin = JSON.parse(fs.readFileSync(path.join(sdk, "python", "pulumi_bluegreen", "pulumi-plugin.json"), "utf8"));
        expect(plugin).toMatchObject({ resource: true, name: "bluegreen", version: JSON.parse(fs.readFileSync(path.join(ROOT, "providers/bluegreen/schema.json"), "utf8")).version });
    });

    it("examples/python-service type-checks with mypy --strict; a string for an integer arg does not", () => {
        const good = timed("mypy", () => mypy());
        expect(good.ok, good.out).toBe(true);
        expect(good.out).toContain("Success: no issues found");
        const bad = mypy((t) => t.replace('config.get_int("port") or 8380', '"8380"'));
        expect(bad.ok).toBe(false);
        expect(bad.out).toMatch(/__main__\.py:\d+: error: .*(port|BlueGreenService)/);
    });

    it("examples/go-service passes go vet and go build; a string for an integer arg does not", () => {
        const good = timed("go", () => goCheck());
        expect(good.ok, good.out).toBe(true);
        const bad = goCheck((t) => t.replace("Port: pulumi.Int(8380)", 'Port: pulumi.String("8380")'));
        expect(bad.ok).toBe(false);
        expect(bad.out).toMatch(/cannot use pulumi\.String\("8380"\).* as pulumi\.IntPtrInput value/);
    });
});
