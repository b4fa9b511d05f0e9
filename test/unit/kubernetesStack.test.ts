import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { installMocks, promiseOf, Registered } from "../helpers/mocks";

// As the API server does (and the kubernetes provider reads back): a NodePort or LoadBalancer
// Service gets a nodePort per port; a LoadBalancer gets `lbIngress` once a controller set it.
let nextNodePort = 30100;
let lbIngress: { ip?: string; hostname?: string }[] | undefined;
const sink = installMocks((r, state) => {
    if (r.type !== "kubernetes:core/v1:Service" || r.inputs.spec?.type === "ClusterIP") return;
    state.spec = { ...r.inputs.spec, ports: r.inputs.spec.ports.map((p: any) => ({ ...p, nodePort: nextNodePort++ })) };
    if (r.inputs.spec.type === "LoadBalancer") state.status = { loadBalancer: { ingress: lbIngress } };
});
let kubernetesStack: typeof import("../../stacks/kubernetes").kubernetesStack;
let parseSettings: typeof import("../../components/settings").parseSettings;

const base = { platform: "kubernetes", blueImage: "bluegreen/demo:1.0.0", greenImage: "bluegreen/demo:2.0.0", blueReplicas: "3", greenReplicas: "3" };

async function declare(raw: Record<string, string>, opts: import("../../stacks/kubernetes").KubernetesOptions = {}) {
    const start = sink.resources.length;
    const out = kubernetesStack("bg-k8s", parseSettings({ ...base, ...raw }), opts);
    const outputs = { url: await promiseOf(out.url), previewUrl: await promiseOf(out.previewUrl), active: await promiseOf(out.activeColor) };
    await new Promise((r) => setTimeout(r, 50));
    return { resources: sink.resources.slice(start), outputs };
}

const find = (rs: Registered[], type: string, name: string) => rs.find((r) => r.type === type && r.name === name)!;
const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const SECRET = "kubernetes:core/v1:Secret";
const SERVICE = "kubernetes:core/v1:Service";

describe("the Kubernetes stack", () => {
    let blue: Awaited<ReturnType<typeof declare>>;
    let green: Awaited<ReturnType<typeof declare>>;

    beforeAll(async () => {
        ({ kubernetesStack } = await import("../../stacks/kubernetes"));
        ({ parseSettings } = await import("../../components/settings"));
        blue = await declare({ activeColor: "blue" });
        green = await declare({ activeColor: "green" });
    });

    it("declares a Deployment per color and both Services with stable names", () => {
        const names = (rs: Registered[]) => rs.map((r) => `${r.type}::${r.name}`).sort();
        expect(names(blue.resources)).toEqual(names(green.resources));
        expect(names(blue.resources)).toEqual(expect.arrayContaining([
            `${DEPLOYMENT}::bg-k8s-blue`, `${DEPLOYMENT}::bg-k8s-green`,
            `${SERVICE}::bg-k8s-production`, `${SERVICE}::bg-k8s-preview`,
            "bluegreen:kubernetes:DeploymentReadyGate::bg-k8s-gate",
        ]));
    });

    it("labels pods with app, color and version and probes them on the health path", () => {
        const d = find(blue.resources, DEPLOYMENT, "bg-k8s-green").inputs;
        expect(d.spec.template.metadata.labels).toEqual({ app: "bg-k8s", color: "green", version: "2.0.0" });
        expect(d.spec.selector.matchLabels).toEqual({ app: "bg-k8s", color: "green" });
        const c = d.spec.template.spec.containers[0];
        expect(c.readinessProbe.httpGet).toEqual({ path: "/health", port: "http" });
        expect(c.livenessProbe.httpGet).toEqual({ path: "/health", port: "http" });
        expect(c.ports).toEqual([{ name: "http", containerPort: 8080 }]);
        expect(c.securityContext).toEqual({ allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } });
        expect(d.spec.replicas).toBe(3);
    });

    it("the production Service selects the active color and the preview Service the idle one", () => {
        expect(find(blue.resources, SERVICE, "bg-k8s-production").inputs.spec.selector).toEqual({ app: "bg-k8s", color: "blue" });
        expect(find(blue.resources, SERVICE, "bg-k8s-preview").inputs.spec.selector).toEqual({ app: "bg-k8s", color: "green" });
        expect(find(green.resources, SERVICE, "bg-k8s-production").inputs.spec.selector).toEqual({ app: "bg-k8s", color: "green" });
        expect(find(blue.resources, SERVICE, "bg-k8s-production").inputs.spec.type).toBe("ClusterIP");
        expect(blue.outputs.url).toBe("http://bg-k8s-production-c0ffee.default.svc.cluster.local:8080");
    });

    it("changing activeColor changes only the Services' selectors and the readiness gate, never a Deployment", () => {
        const key = (r: Registered) => `${r.type}::${r.name}`;
        const g = new Map(green.resources.map((r) => [key(r), r]));
        const strip = (r: Registered) => JSON.stringify(r.inputs, (k, v) => (k === "__provider" ? undefined : v));
        const changed = blue.resources.filter((r) => strip(r) !== strip(g.get(key(r))!)).map(key).sort();
        expect(changed).toEqual([
            `${SERVICE}::bg-k8s-preview`, `${SERVICE}::bg-k8s-production`, "bluegreen:kubernetes:DeploymentReadyGate::bg-k8s-gate",
        ].sort());
        const gate = find(green.resources, "bluegreen:kubernetes:DeploymentReadyGate", "bg-k8s-gate").inputs;
        expect(gate).toMatchObject({ activeColor: "green", namespace: "default", deadlineSeconds: 60 });
    });

    it("idleReplicas scales only the idle color, and the preview shows it", async () => {
        const r = await declare({ activeColor: "blue", idleReplicas: "0" });
        expect(find(r.resources, DEPLOYMENT, "bg-k8s-blue").inputs.spec.replicas).toBe(3);
        expect(find(r.resources, DEPLOYMENT, "bg-k8s-green").inputs.spec.replicas).toBe(0);
    });

    it("drainSeconds: a retired pod serves what it has for that long (preStop sleep), then has its stop grace", async () => {
        const r = await declare({ activeColor: "blue", drainSeconds: "45" });
        for (const c of ["blue", "green"]) {
            const pod = find(r.resources, DEPLOYMENT, `bg-k8s-${c}`).inputs.spec.template.spec;
            expect(pod.containers[0].lifecycle).toEqual({ preStop: { sleep: { seconds: 45 } } });
            expect(pod.terminationGracePeriodSeconds).toBe(55);
        }
    });

    it("takes the Service type, namespace and resources from config", async () => {
        const r = await declare({
            activeColor: "blue", serviceType: "LoadBalancer", namespace: "shop", nodeAddress: "192.0.2.10",
            blueResources: JSON.stringify({ requests: { cpu: "250m", memory: "128Mi" }, limits: { memory: "256Mi" } }),
        });
        const svc = find(r.resources, SERVICE, "bg-k8s-production").inputs;
        expect(svc.spec.type).toBe("LoadBalancer");
        expect(svc.metadata.namespace).toBe("shop");
        expect(find(r.resources, DEPLOYMENT, "bg-k8s-blue").inputs.spec.template.spec.containers[0].resources)
            .toEqual({ requests: { cpu: "250m", memory: "128Mi" }, limits: { memory: "256Mi" } });
    });
});

describe("url and previewUrl", () => {
    const kubeconfig = (server: string) => [
        "apiVersion: v1", "kind: Config", "current-context: here",
        "clusters:", `- name: c\n  cluster: {server: "${server}"}`,
        "contexts:", "- name: here\n  context: {cluster: c, user: u}", "users:", "- name: u\n  user: {}", "",
    ].join("\n");
    const noKubeconfig = { env: { HOME: "/nonexistent" } };

    it("NodePort: the configured nodeAddress and each Service's allocated nodePort", async () => {
        const r = await declare({ activeColor: "blue", serviceType: "NodePort", nodeAddress: "192.0.2.10" }, noKubeconfig);
        const port = (role: string) => (sink.resources.indexOf(find(r.resources, SERVICE, `bg-k8s-${role}`)), undefined);
        void port;
        expect(r.outputs.url).toMatch(/^http:\/\/192\.0\.2\.10:301\d\d$/);
        expect(r.outputs.previewUrl).toMatch(/^http:\/\/192\.0\.2\.10:301\d\d$/);
        expect(r.outputs.url).not.toBe(r.outputs.previewUrl);
    });

    it("NodePort without nodeAddress: the host of the kubeconfig's API server (a file, or its contents)", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bg-kubeconfig-"));
        const file = path.join(dir, "config");
        fs.writeFileSync(file, kubeconfig("https://127.0.0.1:16443"));
        try {
            const byPath = await declare({ activeColor: "blue", serviceType: "NodePort" }, { kubeconfig: file });
            expect(byPath.outputs.url).toMatch(/^http:\/\/127\.0\.0\.1:301\d\d$/);
            const byEnv = await declare({ activeColor: "blue", serviceType: "NodePort" }, { env: { KUBECONFIG: `/nonexistent:${file}` } });
            expect(byEnv.outputs.url).toMatch(/^http:\/\/127\.0\.0\.1:301\d\d$/);
            const byContents = await declare({ activeColor: "blue", serviceType: "NodePort" }, { kubeconfig: kubeconfig("https://[fd00::5]:6443") });
            expect(byContents.outputs.url).toMatch(/^http:\/\/\[fd00::5\]:301\d\d$/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("NodePort with neither nodeAddress nor a kubeconfig: an error naming the key", () => {
        expect(() => kubernetesStack("bg-k8s", parseSettings({ ...base, serviceType: "NodePort" }), noKubeconfig)).toThrow(/`nodeAddress` is ""/);
    });

    it("LoadBalancer: the ingress address and the Service port once it has one, else the node address and nodePort", async () => {
        lbIngress = [{ ip: "203.0.113.7" }];
        try {
            const withIp = await declare({ activeColor: "blue", serviceType: "LoadBalancer", nodeAddress: "node1.example.com" });
            expect(withIp.outputs.url).toBe("http://203.0.113.7:8080");
            expect(withIp.outputs.previewUrl).toBe("http://203.0.113.7:8081");
            lbIngress = [{ hostname: "lb.example.com" }];
            expect((await declare({ activeColor: "blue", serviceType: "LoadBalancer", nodeAddress: "node1.example.com" })).outputs.url)
                .toBe("http://lb.example.com:8080");
            lbIngress = undefined;
            expect((await declare({ activeColor: "blue", serviceType: "LoadBalancer", nodeAddress: "node1.example.com" })).outputs.url)
                .toMatch(/^http:\/\/node1\.example\.com:301\d\d$/);
        } finally {
            lbIngress = undefined;
        }
    });

    it("ClusterIP: the in-cluster DNS name, and no kubeconfig is needed", async () => {
        const r = await declare({ activeColor: "green", namespace: "shop" }, noKubeconfig);
        expect(r.outputs.url).toBe("http://bg-k8s-production-c0ffee.shop.svc.cluster.local:8080");
        expect(r.outputs.previewUrl).toBe("http://bg-k8s-preview-c0ffee.shop.svc.cluster.local:8081");
    });
});

describe("Kubernetes keys", () => {
    it.each([
        [{ namespace: "Shop_1" }, '`namespace` is "Shop_1"; expected a Kubernetes namespace name'],
        [{ serviceType: "ExternalName" }, '`serviceType` is "ExternalName"; allowed values are "ClusterIP" and "NodePort" and "LoadBalancer".'],
        [{ nodeAddress: "http://node1" }, '`nodeAddress` is "http://node1"; expected an IP address or a DNS name'],
        [{ nodeAddress: "node 1" }, '`nodeAddress` is "node 1"; expected an IP address or a DNS name'],
        [{ idleReplicas: "half" }, '`idleReplicas` is "half"; expected "full" or a whole number from 0 to 20'],
        [{ idleReplicas: "21" }, '`idleReplicas` is "21"; expected "full" or a whole number from 0 to 20'],
        [{ blueResources: JSON.stringify({ requests: { cpu: "lots" } }) }, '`blueResources.requests.cpu` is "lots"; expected a quantity'],
        [{ greenResources: JSON.stringify({ limit: {} }) }, '`greenResources.limit` is "limit"; allowed sections are "requests" and "limits"'],
        [{ greenResources: JSON.stringify({ limits: { gpu: "1" } }) }, '`greenResources.limits.gpu` is "gpu"; allowed resources are "cpu" and "memory"'],
    ])("rejects %j", async (raw, message) => {
        const { parseSettings: parse } = await import("../../components/settings");
        expect(() => parse(raw as Record<string, string>)).toThrow(message);
    });
    it("declares a color's env Secret without stringData when the env is empty, and with it otherwise", async () => {
        // The kubernetes provider never stores an empty stringData: declaring one would replace
        // the Secret, and roll the Deployment, on every up (conformance recordings, kubernetes/02).
        const plain = await declare({ activeColor: "blue" });
        expect(find(plain.resources, SECRET, "bg-k8s-blue-env").inputs.stringData).toBeUndefined();
        const withEnv = await declare({ activeColor: "blue", greenEnv: JSON.stringify({ API_TOKEN: "t" }) });
        expect(JSON.stringify(find(withEnv.resources, SECRET, "bg-k8s-green-env").inputs.stringData)).toContain("API_TOKEN");
    });
});
