/**
 * The Kubernetes readiness gate uses the kubernetes provider's cluster, and nothing else (issue 27
 * item 5), on the local cluster (scripts/cluster.sh; started here if it is down, and left as it was
 * found), with the program itself (`index.ts`, `platform: kubernetes`):
 *
 * - the kubeconfig is given as contents (certificates and key inline), a secret in the stack's
 *   config (`kubernetes:kubeconfig`), with a second context, its current one, on the decoy below;
 *   `kubernetes:context` names the cluster's;
 * - the default kubeconfig (`KUBECONFIG`) of the `pulumi` process points elsewhere: at a decoy API
 *   server on loopback that answers every Deployment as rolled out and counts what it is asked. A
 *   gate that fell back to the default kubeconfig, or used the contents' current context instead of
 *   the provider's, would pass where it must fail, and the decoy would see it;
 * - no `kubectl` on the `pulumi` process's PATH.
 *
 * Then: up and a switch pass the gate; a target Deployment that cannot roll out (made unschedulable
 * by hand, which the provider does not see) fails the switch at the gate's deadline with a message
 * naming the color, the Deployment and the namespace, and the production Service keeps selecting
 * the old color; a target Deployment deleted by hand fails the switch at once, naming it; the
 * gate's copy of the kubeconfig is encrypted in state, also when the kubeconfig is given as a plain
 * config value.
 */
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import * as yaml from "js-yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { acquireCluster, kubectlOn, releaseCluster, type LocalCluster } from "../helpers/localCluster";
import { kubernetesCluster, requirements } from "../helpers/requirements";
import { ROOT, pulumiEnv, runId, workspaceOptions } from "../helpers/toolchain";

const missing = requirements("kubernetes-gate.test.ts", kubernetesCluster());

const id = runId("bgkgate");
const prefix = `bluegreen-${id}`;
const namespace = id;
const DEADLINE = 15;
let k8s: LocalCluster | undefined;
let stack: Stack;
let home = "";
let decoy: http.Server | undefined;
let pulumiEnvVars: Record<string, string> = {};
const originalPath = process.env.PATH;
const decoyRequests: string[] = [];
/**
 * The kubeconfig given as contents, as a CI secret holds it: the cluster's, certificates and key
 * inline (`--flatten`), plus the decoy as a second context, which is its current one. The stack's
 * `kubernetes:context` names the cluster's.
 */
let kubeconfigContents = "";
let clusterContext = "";
/** Its client key, base64 as in the kubeconfig. */
let clientKey = "";

const kubectl = (...args: string[]) => kubectlOn(k8s!, ...args);
const json = (...args: string[]) => JSON.parse(kubectl(...args, "-o", "json"));
const productionSelector = () => json("get", "services", "-n", namespace).items.find((s: any) => s.metadata.name.startsWith(`${prefix}-production-`)).spec.selector.color;
const deploymentOf = (color: string): string => json("get", "deployments", "-n", namespace).items.find((d: any) => d.metadata.name.startsWith(`${prefix}-${color}-`))?.metadata.name;
const up = () => stack.up({ onOutput: () => undefined });
const upError = () => up().then(() => "", (e: Error) => String(e.message));

/**
 * The PATH of the pulumi process, without any kubectl: a directory that holds one (the cluster's
 * own, /usr/bin) is replaced by a directory of links to everything else in it.
 */
function pathWithoutKubectl(p: string, shadowRoot: string): string {
    return p.split(":").filter(Boolean).map((d, i) => {
        if (!fs.existsSync(path.join(d, "kubectl"))) return d;
        const shadow = path.join(shadowRoot, `path-${i}`);
        fs.mkdirSync(shadow, { recursive: true });
        for (const f of fs.readdirSync(d)) if (f !== "kubectl") fs.symlinkSync(path.join(d, f), path.join(shadow, f));
        return shadow;
    }).join(":");
}

beforeAll(async () => {
    if (missing) return;
    k8s = acquireCluster();
    kubectl("create", "namespace", namespace);
    home = fs.mkdtempSync(path.join(os.tmpdir(), "bg-gate-"));
    // The decoy: any Deployment is rolled out; a watch never ends; every request is counted.
    decoy = http.createServer((req, res) => {
        decoyRequests.push(`${req.method} ${req.url}`);
        res.setHeader("Content-Type", "application/json");
        if (/[?&]watch=/.test(req.url ?? "")) return;
        const name = (req.url ?? "").split("?")[0].split("/").pop();
        res.end(JSON.stringify({
            kind: "Deployment", apiVersion: "apps/v1", metadata: { name, generation: 1, resourceVersion: "1" },
            spec: { replicas: 1 }, status: { observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 1, readyReplicas: 1 },
        }));
    });
    await new Promise<void>((r) => decoy!.listen(0, "127.0.0.1", r));
    const decoyUrl = `http://127.0.0.1:${(decoy.address() as import("node:net").AddressInfo).port}`;
    const contents = yaml.load(kubectl("config", "view", "--raw", "--flatten", "--minify")) as Record<string, any>;
    clusterContext = contents["current-context"];
    clientKey = contents.users[0].user["client-key-data"];
    contents.clusters.push({ name: "decoy", cluster: { server: decoyUrl, "insecure-skip-tls-verify": true } });
    contents.users.push({ name: "decoy", user: { token: "decoy" } });
    contents.contexts.push({ name: "decoy", context: { cluster: "decoy", user: "decoy" } });
    contents["current-context"] = "decoy";
    kubeconfigContents = yaml.dump(contents, { lineWidth: -1 });
    const decoyConfig = path.join(home, "default-kubeconfig");
    fs.writeFileSync(decoyConfig, [
        "apiVersion: v1", "kind: Config", "current-context: decoy",
        "clusters:", "- name: decoy", "  cluster:", `    server: ${decoyUrl}`, "    insecure-skip-tls-verify: true",
        "contexts:", "- name: decoy", "  context:", "    cluster: decoy", "    user: decoy",
        "users:", "- name: decoy", "  user:", "    token: decoy", "",
    ].join("\n"));

    const ws = await workspaceOptions();
    const env = { ...pulumiEnv() };
    const envVars = { ...ws.envVars, KUBECONFIG: decoyConfig, PATH: pathWithoutKubectl(env.PATH, home) };
    // The CLI runs with the test process's environment under envVars: no kubectl there either.
    process.env.PATH = envVars.PATH;
    pulumiEnvVars = envVars;
    stack = await LocalWorkspace.createStack({ stackName: id, workDir: ROOT }, { ...ws, envVars });
    await stack.setAllConfig({
        "bluegreen:platform": { value: "kubernetes" }, "bluegreen:namespace": { value: namespace },
        "bluegreen:blueImage": { value: "bluegreen/demo:1.0.0" }, "bluegreen:greenImage": { value: "bluegreen/demo:2.0.0" },
        "bluegreen:healthDeadlineSeconds": { value: String(DEADLINE) }, "bluegreen:drainSeconds": { value: "2" },
        "kubernetes:kubeconfig": { value: kubeconfigContents, secret: true }, "kubernetes:context": { value: clusterContext },
    });
}, 900_000);

afterAll(async () => {
    if (missing) return;
    try {
        if (stack) {
            await stack.destroy({ onOutput: () => undefined }).catch((e) => console.error("destroy failed:", e));
            await stack.workspace.removeStack(id, { force: true }).catch(() => undefined);
        }
        if (k8s) kubectl("delete", "namespace", namespace, "--wait=false", "--ignore-not-found");
    } finally {
        fs.rmSync(path.join(ROOT, `Pulumi.${id}.yaml`), { force: true });
        decoy?.closeAllConnections();
        decoy?.close();
        // The PATH of links lives in `home`: back to the test process's own first.
        process.env.PATH = originalPath;
        try {
            releaseCluster(k8s);
        } finally {
            if (home) fs.rmSync(home, { recursive: true, force: true });
        }
    }
});

describe.skipIf(missing)("the readiness gate uses the provider's cluster: kubeconfig as contents, the default kubeconfig elsewhere, no kubectl", () => {
    it("the pulumi process has no kubectl on its PATH", () => {
        const dirs = (process.env.PATH ?? "").split(":");
        expect(dirs.filter((d) => fs.existsSync(path.join(d, "kubectl")))).toEqual([]);
        expect(dirs.some((d) => fs.existsSync(path.join(d, "node")))).toBe(true);
    });

    it("up passes the gate on the provider's cluster; the decoy is never asked", async () => {
        expect((await up()).summary.result).toBe("succeeded");
        expect(productionSelector()).toBe("blue");
        expect(decoyRequests).toEqual([]);
    });

    it("the gate's copy of the kubeconfig is encrypted in state", async () => {
        // The CLI's export, as stored (the Automation API's exportStack decrypts secrets).
        const exported = execFileSync("pulumi", ["stack", "export", "--stack", id], { cwd: ROOT, env: { ...process.env, ...pulumiEnvVars }, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
        const gates = JSON.parse(exported).deployment.resources.filter((r: any) => r.type === "bluegreen:kubernetes:DeploymentReadyGate");
        expect(gates).toHaveLength(1);
        expect(Object.keys(gates[0].inputs.kubeconfig)).toContain("ciphertext");
        expect(Object.keys(gates[0].outputs.kubeconfig)).toContain("ciphertext");
        // The client key given inline, in no form readable in the export.
        expect(kubeconfigContents).toContain(clientKey);
        expect(clientKey.length).toBeGreaterThan(100);
        expect(exported).not.toContain(clientKey.slice(0, 40));
        const pem = Buffer.from(clientKey, "base64").toString("utf8");
        expect(pem).toMatch(/^-----BEGIN [A-Z ]*PRIVATE KEY-----\n/);
        expect(exported).not.toContain(pem.split("\n")[1].slice(0, 40));
    });

    it("the gate's copy stays encrypted when the kubeconfig is given as a plain config value", async () => {
        // The same contents, not marked secret: the component marks the gate's copy secret by itself.
        await stack.setConfig("kubernetes:kubeconfig", { value: kubeconfigContents, secret: false });
        expect((await up()).summary.result).toBe("succeeded");
        const exported = execFileSync("pulumi", ["stack", "export", "--stack", id], { cwd: ROOT, env: { ...process.env, ...pulumiEnvVars }, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
        const gates = JSON.parse(exported).deployment.resources.filter((r: any) => r.type === "bluegreen:kubernetes:DeploymentReadyGate");
        expect(gates).toHaveLength(1);
        expect(Object.keys(gates[0].inputs.kubeconfig)).toContain("ciphertext");
        expect(Object.keys(gates[0].outputs.kubeconfig)).toContain("ciphertext");
        expect(JSON.stringify(gates)).not.toContain(clientKey.slice(0, 40));
        await stack.setConfig("kubernetes:kubeconfig", { value: kubeconfigContents, secret: true });
    });

    it("a switch to green passes the gate and moves the selector", async () => {
        await stack.setConfig("bluegreen:activeColor", { value: "green" });
        expect((await up()).summary.result).toBe("succeeded");
        expect(productionSelector()).toBe("green");
        expect(decoyRequests).toEqual([]);
    });

    it(`a target that cannot roll out fails the switch at the gate's deadline (${DEADLINE} s), naming it; the selector stays`, async () => {
        // Blue made unschedulable by hand: its new pods stay Pending, its rollout never completes.
        // The provider does not see it (no refresh): only the gate can stop the switch.
        const blue = deploymentOf("blue");
        kubectl("patch", "deployment", blue, "-n", namespace, "--type", "merge", "-p", '{"spec":{"template":{"spec":{"nodeSelector":{"bluegreen.test/none":"none"}}}}}');
        await stack.setConfig("bluegreen:activeColor", { value: "blue" });
        const started = Date.now();
        const error = await upError();
        const ms = Date.now() - started;
        console.log(`gate timeout: up failed after ${ms} ms`);
        expect(error).toContain(`readiness gate: blue (deployment/${blue} in namespace ${namespace}) did not have all replicas ready within ${DEADLINE} s, so the production Service still selects the other color: `);
        expect(ms).toBeGreaterThanOrEqual(DEADLINE * 1000);
        expect(productionSelector()).toBe("green");
        expect(decoyRequests).toEqual([]);
        // Undone by hand: the same up passes.
        kubectl("patch", "deployment", blue, "-n", namespace, "--type", "json", "-p", '[{"op":"remove","path":"/spec/template/spec/nodeSelector"}]');
        expect((await up()).summary.result).toBe("succeeded");
        expect(productionSelector()).toBe("blue");
    });

    it("a target Deployment deleted by hand fails the switch at once, naming it and its namespace; the selector stays", async () => {
        const green = deploymentOf("green");
        kubectl("delete", "deployment", green, "-n", namespace, "--wait=true");
        // A long deadline, so that a gate that waited for it is told apart from one that failed at once.
        await stack.setConfig("bluegreen:healthDeadlineSeconds", { value: "120" });
        await stack.setConfig("bluegreen:activeColor", { value: "green" });
        const started = Date.now();
        const error = await upError();
        const ms = Date.now() - started;
        console.log(`gate not found: up failed after ${ms} ms`);
        expect(error).toContain(`readiness gate: deployment/${green} in namespace ${namespace} not found (API server https://127.0.0.1:`);
        expect(ms).toBeLessThan(90_000);
        expect(productionSelector()).toBe("blue");
        expect(decoyRequests).toEqual([]);
        // A refresh sees it gone; up re-creates it and switches.
        await stack.refresh({ onOutput: () => undefined });
        expect((await up()).summary.result).toBe("succeeded");
        expect(productionSelector()).toBe("green");
    });
});
