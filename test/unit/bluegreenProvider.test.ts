/**
 * The project's own provider plugin (providers/bluegreen/): what it checks and plans, and how it
 * treats state from the dynamic-provider era; the gate's choice of cluster and its errors, against
 * a stand-in API server on loopback. The operations themselves run in the end-to-end tests, on the
 * program (the gate on the local cluster: test/e2e/kubernetes-gate.test.ts).
 */
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UNKNOWN } from "../../providers/shared/grpcProvider";
import { GATE, SWITCH, impl } from "../../providers/bluegreen/provider";
import type { SwitchState } from "../../providers/bluegreen/dockerSwitch";
import { kubeconfigSource, loadKubeConfig, rolloutOf, waitReady } from "../../providers/bluegreen/readyGate";

const sw: SwitchState = {
    kind: "nginx", container: "proxy-1", dockerHost: "", activeColor: "blue", idleColor: "green",
    images: { blue: "demo:1", green: "demo:2" }, config: "conf-blue", generation: "aaaa1111",
    configFile: "/etc/nginx/bluegreen/nginx.conf", configDir: "/etc/nginx/bluegreen", statusUrl: "http://127.0.0.1:8082/__bluegreen/status",
    gateUrls: ["http://green-0:8080/health"], health: { retries: 10, intervalSeconds: 1, deadlineSeconds: 60 }, drainSeconds: 30,
};
const gate = { deployment: "app-green", namespace: "default", activeColor: "green", deadlineSeconds: 60, kubeconfig: "", context: "" };

describe("check", () => {
    it("accepts what the program declares, and values a preview does not know yet", () => {
        expect(impl.check(SWITCH, "s", {}, { ...sw }).failures).toEqual([]);
        expect(impl.check(SWITCH, "s", {}, { ...sw, container: UNKNOWN, gateUrls: UNKNOWN }).failures).toEqual([]);
        expect(impl.check(GATE, "g", {}, gate).failures).toEqual([]);
    });

    it("names a missing or mistyped input", () => {
        const { container: _, ...noContainer } = sw;
        expect(impl.check(SWITCH, "s", {}, noContainer).failures).toEqual([
            { property: "container", reason: "bluegreen:docker:TrafficSwitch: container must be a string, got nothing" },
        ]);
        expect(impl.check(GATE, "g", {}, { ...gate, deadlineSeconds: "60" }).failures.map((f) => f.property)).toEqual(["deadlineSeconds"]);
    });

    it("refuses a resource type it does not have, and any provider config", () => {
        expect(() => impl.check("bluegreen:docker:Other", "x", {}, {})).toThrow(/has no resource type bluegreen:docker:Other; it has bluegreen:docker:TrafficSwitch and bluegreen:kubernetes:DeploymentReadyGate/);
        expect(impl.checkConfig({ version: "0.1.0" })).toEqual([]);
        expect(impl.checkConfig({ host: "x" })).toEqual([{ property: "host", reason: "the bluegreen provider has no provider config `bluegreen:host`" }]);
    });
});

describe("diff of the switch", () => {
    const stored = { ...sw, servedGeneration: "aaaa1111" };

    it("plans nothing when nothing changed, whatever the dynamic provider left in the state", () => {
        expect(impl.diff(SWITCH, "id", { ...stored, __provider: "exports.handler = …" }, sw)).toMatchObject({ changes: false, replaces: [] });
    });

    it("shows a switch as the properties that decide it, never as a replacement", () => {
        const next = { ...sw, activeColor: "green" as const, config: "conf-green", generation: "bbbb2222", gateUrls: ["http://blue-0:8080/health"] };
        const d = impl.diff(SWITCH, "id", stored, next);
        expect(d).toMatchObject({ changes: true, replaces: [], deleteBeforeReplace: false });
        expect(Object.keys(d.detailedDiff).sort()).toEqual(["activeColor", "config", "gateUrls"]);
    });

    it("shows drift: the proxy serves another generation than the state says (read by a refresh)", () => {
        const d = impl.diff(SWITCH, "id", { ...stored, config: "", servedGeneration: "" }, sw);
        expect(d.changes).toBe(true);
        expect(Object.keys(d.detailedDiff).sort()).toEqual(["config", "servedGeneration"]);
    });

    it("a preview runs nothing: create and update return the inputs without touching a proxy", async () => {
        // A proxy container named "proxy-1" does not exist: running anything would fail.
        await expect(impl.create(SWITCH, "s", sw, true)).resolves.toEqual({ id: "", outs: sw });
        await expect(impl.update(SWITCH, "id", stored, { ...sw, activeColor: "green" }, true)).resolves.toMatchObject({ activeColor: "green", servedGeneration: "aaaa1111" });
    });
});

describe("diff of the gate", () => {
    it("runs again exactly when the live color's Deployment changes", () => {
        expect(impl.diff(GATE, "id", gate, { ...gate, deadlineSeconds: 120 }).changes).toBe(false);
        const d = impl.diff(GATE, "id", gate, { ...gate, activeColor: "blue", deployment: "app-blue" });
        expect(d.changes).toBe(true);
        expect(Object.keys(d.detailedDiff).sort()).toEqual(["activeColor", "deployment"]);
    });
});

describe("what is not a change of the switch", () => {
    it("the engine address given another way, or drainSeconds alone (used from the next switch on)", () => {
        const stored = { ...sw, servedGeneration: "aaaa1111" };
        expect(impl.diff(SWITCH, "id", stored, { ...sw, dockerHost: "tcp://10.0.0.2:2375" }).changes).toBe(false);
        expect(impl.diff(SWITCH, "id", stored, { ...sw, drainSeconds: 5 }).changes).toBe(false);
    });
});

describe("the gate's cluster: the kubernetes provider's kubeconfig and context, never another", () => {
    const kubeconfigText = (server: string, name = "c1") => [
        "apiVersion: v1", "kind: Config", `current-context: ${name}`,
        // Plain HTTP on loopback: the client refuses it unless TLS verification is off.
        "clusters:", `- name: ${name}`, "  cluster:", `    server: ${server}`, "    insecure-skip-tls-verify: true",
        "- name: other", "  cluster:", "    server: http://127.0.0.1:9", "    insecure-skip-tls-verify: true",
        "contexts:", `- name: ${name}`, "  context:", `    cluster: ${name}`, "    user: u",
        "- name: other", "  context:", "    cluster: other", "    user: u",
        "users:", "- name: u", "  user:", "    token: t", "",
    ].join("\n");
    let dir = "";
    const saved = { KUBECONFIG: process.env.KUBECONFIG };
    beforeAll(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "bg-gate-unit-"));
        // The default kubeconfig names another cluster: the gate must not fall back to it.
        fs.writeFileSync(path.join(dir, "default"), kubeconfigText("http://127.0.0.1:7", "default"));
        process.env.KUBECONFIG = path.join(dir, "default");
    });
    afterAll(() => {
        if (saved.KUBECONFIG === undefined) delete process.env.KUBECONFIG;
        else process.env.KUBECONFIG = saved.KUBECONFIG;
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("reads a path as a file, anything else as the contents, and nothing as the defaults", () => {
        fs.writeFileSync(path.join(dir, "file"), kubeconfigText("http://127.0.0.1:8"));
        expect(kubeconfigSource(path.join(dir, "file"))).toEqual({ kind: "file", path: path.join(dir, "file") });
        expect(kubeconfigSource(kubeconfigText("http://127.0.0.1:8")).kind).toBe("contents");
        expect(kubeconfigSource(JSON.stringify({ apiVersion: "v1" })).kind).toBe("contents");
        expect(kubeconfigSource("")).toEqual({ kind: "default" });
    });

    it("uses the contents' cluster, and the context asked for, while KUBECONFIG points elsewhere", async () => {
        expect((await loadKubeConfig({ kubeconfig: kubeconfigText("http://127.0.0.1:8"), context: "" })).getCurrentCluster()?.server).toBe("http://127.0.0.1:8");
        expect((await loadKubeConfig({ kubeconfig: kubeconfigText("http://127.0.0.1:8"), context: "other" })).getCurrentCluster()?.server).toBe("http://127.0.0.1:9");
        expect((await loadKubeConfig({ kubeconfig: "", context: "" })).getCurrentCluster()?.server).toBe("http://127.0.0.1:7");
        await expect(loadKubeConfig({ kubeconfig: kubeconfigText("http://127.0.0.1:8"), context: "prod" })).rejects.toThrow(
            'readiness gate: context "prod" is not in the kubeconfig given as contents; it has c1, other',
        );
    });

    /** An API server that knows one Deployment, answering with `status` (or 404 for any other name). */
    async function apiServer(status: Record<string, unknown>): Promise<{ url: string; close: () => void; paths: string[] }> {
        const paths: string[] = [];
        const srv = http.createServer((req, res): void => {
            paths.push(req.url ?? "");
            res.setHeader("Content-Type", "application/json");
            const u = new URL(req.url ?? "/", "http://x");
            if (u.searchParams.get("watch")) return; // a watch that never sends anything
            if (u.pathname !== "/apis/apps/v1/namespaces/shop/deployments/web-green") {
                res.statusCode = 404;
                res.end(JSON.stringify({ kind: "Status", status: "Failure", message: `deployments.apps "${u.pathname.split("/").pop()}" not found`, reason: "NotFound", code: 404 }));
                return;
            }
            res.end(JSON.stringify({ kind: "Deployment", metadata: { name: "web-green", namespace: "shop", generation: 1, resourceVersion: "5" }, spec: { replicas: 2 }, status }));
        });
        await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
        const { port } = srv.address() as import("node:net").AddressInfo;
        return { url: `http://127.0.0.1:${port}`, close: () => { srv.closeAllConnections(); srv.close(); }, paths };
    }
    const at = (server: string, over: Partial<typeof gate>) => ({ ...gate, namespace: "shop", deployment: "web-green", deadlineSeconds: 2, kubeconfig: kubeconfigText(server), ...over });

    it("passes once the Deployment has rolled out, reading it from the cluster of the kubeconfig given as contents", async () => {
        const api = await apiServer({ observedGeneration: 1, replicas: 2, updatedReplicas: 2, availableReplicas: 2, readyReplicas: 2 });
        try {
            await expect(waitReady(at(api.url, {}))).resolves.toBeUndefined();
            expect(api.paths).toEqual(["/apis/apps/v1/namespaces/shop/deployments/web-green"]);
        } finally {
            api.close();
        }
    });

    it("fails at once naming the Deployment and the namespace when it does not exist", async () => {
        const api = await apiServer({});
        try {
            const started = Date.now();
            await expect(waitReady(at(api.url, { deployment: "web-blue", deadlineSeconds: 30 }))).rejects.toThrow(
                `readiness gate: deployment/web-blue in namespace shop not found (API server ${api.url}), so the production Service still selects the other color: deployments.apps "web-blue" not found`,
            );
            expect(Date.now() - started).toBeLessThan(5_000);
        } finally {
            api.close();
        }
    });

    it("fails at its deadline naming the color, the Deployment, the namespace and what is missing", async () => {
        const api = await apiServer({ observedGeneration: 1, replicas: 2, updatedReplicas: 2, availableReplicas: 1 });
        try {
            const started = Date.now();
            await expect(waitReady(at(api.url, {}))).rejects.toThrow(
                "readiness gate: green (deployment/web-green in namespace shop) did not have all replicas ready within 2 s, so the production Service still selects the other color: 1 of 2 updated replicas available",
            );
            expect(Date.now() - started).toBeGreaterThanOrEqual(1_900);
            expect(Date.now() - started).toBeLessThan(6_000);
        } finally {
            api.close();
        }
    });

    it("tries again until its deadline when the API server cannot be reached, then says so", async () => {
        // A loopback port nothing listens on any more.
        const srv = http.createServer();
        await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
        const { port } = srv.address() as import("node:net").AddressInfo;
        await new Promise((r) => srv.close(r));
        const started = Date.now();
        await expect(waitReady(at(`http://127.0.0.1:${port}`, { deadlineSeconds: 2 }))).rejects.toThrow(
            new RegExp(`^readiness gate: could not read deployment/web-green in namespace shop within 2 s, so the production Service still selects the other color: the API server http://127\\.0\\.0\\.1:${port} did not answer: fetch failed: .*ECONNREFUSED`),
        );
        expect(Date.now() - started).toBeGreaterThanOrEqual(1_900);
    });
});

describe("the rollout rule (kubectl rollout status's, for a Deployment)", () => {
    const d = (generation: number, replicas: number, status: Record<string, unknown>) => ({ metadata: { generation }, spec: { replicas }, status });
    it("waits for the controller, the update, the old replicas and availability; fails on an exceeded progress deadline", () => {
        expect(rolloutOf(d(2, 2, { observedGeneration: 1, updatedReplicas: 2, replicas: 2, availableReplicas: 2 }))).toMatchObject({ done: false, failed: false });
        expect(rolloutOf(d(1, 2, { observedGeneration: 1, updatedReplicas: 1, replicas: 2, availableReplicas: 2 }))).toEqual({ done: false, failed: false, why: "1 of 2 replicas updated" });
        expect(rolloutOf(d(1, 2, { observedGeneration: 1, updatedReplicas: 2, replicas: 3, availableReplicas: 2 }))).toEqual({ done: false, failed: false, why: "1 old replicas still to terminate" });
        expect(rolloutOf(d(1, 2, { observedGeneration: 1, updatedReplicas: 2, replicas: 2, availableReplicas: 1 }))).toEqual({ done: false, failed: false, why: "1 of 2 updated replicas available" });
        expect(rolloutOf(d(1, 2, { observedGeneration: 1, updatedReplicas: 2, replicas: 2, availableReplicas: 2 }))).toEqual({ done: true });
        expect(rolloutOf(d(3, 0, { observedGeneration: 3 }))).toEqual({ done: true });
        expect(rolloutOf(d(1, 2, { observedGeneration: 1, conditions: [{ type: "Progressing", reason: "ProgressDeadlineExceeded", message: 'ReplicaSet "x" has timed out progressing.' }] })))
            .toEqual({ done: false, failed: true, why: 'its progress deadline was exceeded: ReplicaSet "x" has timed out progressing.' });
    });
});
