/**
 * `kubernetes.BlueGreenService` under Pulumi's mocks, driven as the demo program drives it (its
 * stack config through `parseSettings` and `kubernetesServiceArgs`) and with args and options
 * only a program passes (Outputs, an explicit kubernetes provider).
 */
import type * as k8sTypes from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { specialSecretSig, specialSigKey } from "@pulumi/pulumi/runtime/rpc";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KubernetesServiceArgs } from "../../components/serviceArgs";
import { collectingUnhandledRejections, installMocks, promiseOf, Registered, settle } from "../helpers/mocks";

// As the API server does (and the kubernetes provider reads back): a NodePort or LoadBalancer
// Service gets a nodePort per port; a LoadBalancer gets `lbIngress` once a controller set it.
let nextNodePort = 30100;
let lbIngress: { ip?: string; hostname?: string }[] | undefined;
const sink = installMocks((r, state) => {
    if (r.type !== "kubernetes:core/v1:Service" || r.inputs.spec?.type === "ClusterIP") return;
    state.spec = { ...r.inputs.spec, ports: r.inputs.spec.ports.map((p: any) => ({ ...p, nodePort: nextNodePort++ })) };
    if (r.inputs.spec.type === "LoadBalancer") state.status = { loadBalancer: { ingress: lbIngress } };
});
let BlueGreenService: typeof import("../../components/kubernetes/service").BlueGreenService;
let kubernetesServiceArgs: typeof import("../../stacks/service").kubernetesServiceArgs;
let parseSettings: typeof import("../../components/settings").parseSettings;
let k8s: typeof k8sTypes;

beforeAll(async () => {
    ({ BlueGreenService } = await import("../../components/kubernetes/service"));
    ({ kubernetesServiceArgs } = await import("../../stacks/service"));
    ({ parseSettings } = await import("../../components/settings"));
    k8s = await import("@pulumi/kubernetes");
});

const base = { platform: "kubernetes", blueImage: "bluegreen/demo:1.0.0", greenImage: "bluegreen/demo:2.0.0", blueReplicas: "3", greenReplicas: "3" };

/** The demo's args for stack config `raw`, with `change` applied. */
const argsOf = (raw: Record<string, string>, change = (a: KubernetesServiceArgs) => a) =>
    change(kubernetesServiceArgs(parseSettings({ ...base, ...raw }), "bg-k8s"));

/** Declares service `bg-k8s` and returns what it registered, with resolved inputs, and its resolved outputs. */
async function declare(raw: Record<string, string>, opts?: pulumi.ComponentResourceOptions, change?: (a: KubernetesServiceArgs) => KubernetesServiceArgs) {
    const start = sink.resources.length;
    const out = new BlueGreenService("bg-k8s", argsOf(raw, change), opts);
    const outputs = {
        url: await promiseOf(out.url), previewUrl: await promiseOf(out.previewUrl),
        active: await promiseOf(out.activeColor), idle: await promiseOf(out.idleColor),
        blueImage: await promiseOf(out.blueImage), greenImage: await promiseOf(out.greenImage),
        serviceName: await promiseOf(out.serviceName), previewServiceName: await promiseOf(out.previewServiceName),
    };
    await settle();
    return { resources: sink.resources.slice(start), outputs };
}

/**
 * Runs `fn` with the process's environment variables `vars` (undefined: unset) and the stack's
 * config `config` set, restoring both after.
 */
async function withEnvAndConfig<T>(vars: Record<string, string | undefined>, config: Record<string, string>, fn: () => Promise<T>): Promise<T> {
    const savedEnv = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
    const savedConfig = pulumi.runtime.allConfig();
    const set = (vs: Record<string, string | undefined>) => {
        for (const [k, v] of Object.entries(vs)) {
            if (v === undefined) delete process.env[k];
            else process.env[k] = v;
        }
    };
    set(vars);
    for (const [k, v] of Object.entries(config)) pulumi.runtime.setConfig(k, v);
    try {
        return await fn();
    } finally {
        set(savedEnv);
        pulumi.runtime.setAllConfig(savedConfig);
    }
}
/** No kubeconfig anywhere: no KUBECONFIG, a HOME without ~/.kube/config. */
const NO_KUBECONFIG = { HOME: "/nonexistent", KUBECONFIG: undefined };

const find = (rs: Registered[], type: string, name: string) => rs.find((r) => r.type === type && r.name === name)!;
const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const SECRET = "kubernetes:core/v1:Secret";
const SERVICE = "kubernetes:core/v1:Service";
const GATE = "bluegreen:kubernetes:DeploymentReadyGate";
const RECYCLE = "kubernetes:apps/v1:DeploymentPatch";
const key = (r: Registered) => `${r.type}::${r.name}`;
/** A value the SDK sent as a secret (how the mocks receive it). */
const secret = (value: unknown) => ({ [specialSigKey]: specialSecretSig, value });

describe("the Kubernetes service, from the demo's stack config", () => {
    let blue: Awaited<ReturnType<typeof declare>>;
    let green: Awaited<ReturnType<typeof declare>>;

    beforeAll(async () => {
        blue = await declare({ activeColor: "blue" });
        green = await declare({ activeColor: "green" });
    });

    it("declares the component, a Deployment per color and both Services with stable names", () => {
        const names = (rs: Registered[]) => rs.filter((r) => r.type !== RECYCLE).map(key).sort();
        expect(names(blue.resources)).toEqual(names(green.resources));
        // The old color's restart after a switch (issue 27 item 2): declared for the idle color only.
        expect(blue.resources.filter((r) => r.type === RECYCLE).map((r) => r.name)).toEqual(["bg-k8s-green-recycle"]);
        expect(green.resources.filter((r) => r.type === RECYCLE).map((r) => r.name)).toEqual(["bg-k8s-blue-recycle"]);
        expect(names(blue.resources)).toEqual(expect.arrayContaining([
            "bluegreen:kubernetes:BlueGreenService::bg-k8s",
            "bluegreen:kubernetes:ColorEnvironment::bg-k8s-blue", "bluegreen:kubernetes:ColorEnvironment::bg-k8s-green",
            `${DEPLOYMENT}::bg-k8s-blue`, `${DEPLOYMENT}::bg-k8s-green`,
            `${SERVICE}::bg-k8s-production`, `${SERVICE}::bg-k8s-preview`,
            `${GATE}::bg-k8s-gate`,
        ]));
    });

    it("labels pods with app, color and version and probes them on the health path", () => {
        const d = find(blue.resources, DEPLOYMENT, "bg-k8s-green").inputs;
        expect(d.spec.template.metadata.labels).toEqual({
            app: "bg-k8s", color: "green",
            "app.kubernetes.io/name": "bg-k8s", "app.kubernetes.io/version": "2.0.0", "app.kubernetes.io/managed-by": "bluegreen",
        });
        expect(d.spec.selector.matchLabels).toEqual({ app: "bg-k8s", color: "green" });
        const c = d.spec.template.spec.containers[0];
        expect(c.image).toBe("bluegreen/demo:2.0.0");
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
        const g = new Map(green.resources.map((r) => [key(r), r]));
        const strip = (r: Registered) => JSON.stringify(r.inputs, (k, v) => (k === "__provider" ? undefined : v));
        const changed = blue.resources.filter((r) => r.type !== RECYCLE && strip(r) !== strip(g.get(key(r))!)).map(key).sort();
        expect(changed).toEqual([`${SERVICE}::bg-k8s-preview`, `${SERVICE}::bg-k8s-production`, `${GATE}::bg-k8s-gate`].sort());
        const gate = find(green.resources, GATE, "bg-k8s-gate").inputs;
        expect(gate).toMatchObject({ activeColor: "green", deployment: "bg-k8s-green-c0ffee", namespace: "default", deadlineSeconds: 60 });
    });

    it("exports the colors, the URLs, each color's image and the Services' names", () => {
        expect(green.outputs).toEqual({
            url: "http://bg-k8s-production-c0ffee.default.svc.cluster.local:8080",
            previewUrl: "http://bg-k8s-preview-c0ffee.default.svc.cluster.local:8081",
            active: "green", idle: "blue",
            blueImage: "bluegreen/demo:1.0.0", greenImage: "bluegreen/demo:2.0.0",
            serviceName: "bg-k8s-production-c0ffee", previewServiceName: "bg-k8s-preview-c0ffee",
        });
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
        expect(find(r.resources, DEPLOYMENT, "bg-k8s-blue").inputs.metadata.namespace).toBe("shop");
        expect(find(r.resources, GATE, "bg-k8s-gate").inputs.namespace).toBe("shop");
    });
});

describe("declaration order", () => {
    /** Declares the service; returns the names in the order they were declared, and each one's explicit dependencies. */
    function declarations(activeColor: pulumi.Input<"blue" | "green">) {
        const order: string[] = [];
        const deps: Record<string, string[]> = {};
        new BlueGreenService("bg-k8s", argsOf({}, (a) => ({ ...a, activeColor })), {
            transformations: [(a) => {
                const key = `${a.type}::${a.name}`;
                order.push(key);
                const on = (a.opts as pulumi.CustomResourceOptions).dependsOn;
                deps[key] = ([] as pulumi.Resource[]).concat((on as pulumi.Resource[] | undefined) ?? []).map((r) => (r as unknown as { __name: string }).__name);
                return undefined;
            }],
        });
        return { order, deps };
    }
    const before = (order: string[], a: string, b: string) => {
        expect(order).toContain(a);
        expect(order).toContain(b);
        return order.indexOf(a) < order.indexOf(b);
    };

    it("the live color, then the gate, then the live Service (after the gate), then the preview Service and the idle color (after the live Service)", async () => {
        const { order, deps } = declarations("green");
        await settle();
        expect(before(order, `${DEPLOYMENT}::bg-k8s-green`, `${GATE}::bg-k8s-gate`)).toBe(true);
        expect(before(order, `${GATE}::bg-k8s-gate`, `${SERVICE}::bg-k8s-production`)).toBe(true);
        expect(before(order, `${SERVICE}::bg-k8s-production`, `${DEPLOYMENT}::bg-k8s-blue`)).toBe(true);
        expect(deps[`${SERVICE}::bg-k8s-production`]).toEqual(["bg-k8s-gate"]);
        // A switch whose gate fails leaves the preview Service on the candidate (issue 27 item 6).
        expect(deps[`${SERVICE}::bg-k8s-preview`]).toEqual(["bg-k8s-production"]);
        expect(deps["bluegreen:kubernetes:ColorEnvironment::bg-k8s-blue"]).toEqual(["bg-k8s-production"]);
        expect(deps["bluegreen:kubernetes:ColorEnvironment::bg-k8s-green"]).toEqual([]);
    });

    it("with activeColor as an Output: both Deployments before the gate, which waits for the color the Output names", async () => {
        const start = sink.resources.length;
        const { order, deps } = declarations(pulumi.output("green" as const));
        await settle();
        for (const c of ["blue", "green"]) expect(before(order, `${DEPLOYMENT}::bg-k8s-${c}`, `${GATE}::bg-k8s-gate`)).toBe(true);
        expect(deps["bluegreen:kubernetes:ColorEnvironment::bg-k8s-blue"]).toEqual([]);
        expect(deps[`${SERVICE}::bg-k8s-production`]).toEqual(["bg-k8s-gate"]);
        const rs = sink.resources.slice(start);
        expect(find(rs, GATE, "bg-k8s-gate").inputs).toMatchObject({ activeColor: "green", deployment: "bg-k8s-green-c0ffee" });
        expect(find(rs, SERVICE, "bg-k8s-production").inputs.spec.selector).toEqual({ app: "bg-k8s", color: "green" });
        expect(find(rs, SERVICE, "bg-k8s-preview").inputs.spec.selector).toEqual({ app: "bg-k8s", color: "blue" });
        // Both colors at full strength: nothing is scaled by a color the program does not know yet.
        for (const c of ["blue", "green"]) expect(find(rs, DEPLOYMENT, `bg-k8s-${c}`).inputs.spec.replicas).toBe(3);
    });
});

describe("args a program passes", () => {
    it("activeColor as an Output: the same resources and inputs as the plain value", async () => {
        const plain = await declare({ activeColor: "green" });
        const out = await declare({ activeColor: "blue" }, undefined, (a) => ({ ...a, activeColor: pulumi.output("green" as const) }));
        // But no restart of the old color: which one is old is not known while resources are declared.
        const inputs = (rs: Registered[]) => new Map(rs.filter((r) => r.type !== RECYCLE).map((r) => [key(r), JSON.stringify(r.inputs)]));
        expect(inputs(out.resources)).toEqual(inputs(plain.resources));
        expect(out.resources.filter((r) => r.type === RECYCLE)).toEqual([]);
        expect(out.outputs).toEqual(plain.outputs);
    });

    it("idleReplicas as a number while activeColor is an Output is refused, naming idleReplicas, and nothing is declared", async () => {
        const start = sink.resources.length;
        const args = argsOf({ idleReplicas: "0" }, (a) => ({ ...a, activeColor: pulumi.output("green" as const) }));
        let thrown: unknown;
        try {
            new BlueGreenService("bg-k8s", args);
        } catch (e) {
            thrown = e;
        }
        expect(pulumi.RunError.isInstance(thrown)).toBe(true);
        expect((thrown as Error).message).toMatch(/^bg-k8s: idleReplicas must be "full" while activeColor is an Output .*, got 0$/);
        await settle();
        expect(sink.resources.slice(start)).toEqual([]);
    });

    it("an image as an Output reaches the Deployment, its version label and the outputs", async () => {
        const image = "registry.example:5000/team/api:1.4.2";
        const r = await declare({}, undefined, (a) => ({ ...a, colors: { ...a.colors, green: { ...a.colors.green, image: pulumi.output(image) } } }));
        const d = find(r.resources, DEPLOYMENT, "bg-k8s-green").inputs;
        expect(d.spec.template.spec.containers[0].image).toBe(image);
        expect(d.spec.template.metadata.labels["app.kubernetes.io/version"]).toBe("1.4.2");
        expect(r.outputs.greenImage).toBe(image);
    });

    it("an invalid arg throws before anything is declared: no registration at all, not even the component's", async () => {
        const start = sink.resources.length;
        expect(() => new BlueGreenService("bg-k8s", argsOf({}, (a) => ({ ...a, namespace: "Shop_1" }))))
            .toThrow('bg-k8s: namespace must be a Kubernetes namespace name (lower-case letters, digits and -, at most 63), got "Shop_1"');
        await settle();
        expect(sink.resources.slice(start)).toEqual([]);
    });
});

describe("url and previewUrl", () => {
    const kubeconfig = (server: string) => [
        "apiVersion: v1", "kind: Config", "current-context: here",
        "clusters:", `- name: c\n  cluster: {server: "${server}"}`,
        "contexts:", "- name: here\n  context: {cluster: c, user: u}", "users:", "- name: u\n  user: {}", "",
    ].join("\n");
    let dir: string;
    let file: string;

    beforeAll(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "bg-kubeconfig-"));
        file = path.join(dir, "config");
        fs.writeFileSync(file, kubeconfig("https://127.0.0.1:16443"));
    });
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("NodePort: the configured nodeAddress and each Service's allocated nodePort", async () => {
        const r = await withEnvAndConfig(NO_KUBECONFIG, {}, () => declare({ activeColor: "blue", serviceType: "NodePort", nodeAddress: "192.0.2.10" }));
        expect(r.outputs.url).toMatch(/^http:\/\/192\.0\.2\.10:301\d\d$/);
        expect(r.outputs.previewUrl).toMatch(/^http:\/\/192\.0\.2\.10:301\d\d$/);
        expect(r.outputs.url).not.toBe(r.outputs.previewUrl);
    });

    it("NodePort without nodeAddress, default provider: the host of the API server in kubernetes:kubeconfig (a file, or its contents), else KUBECONFIG", async () => {
        const byPath = await withEnvAndConfig(NO_KUBECONFIG, { "kubernetes:kubeconfig": file }, () => declare({ activeColor: "blue", serviceType: "NodePort" }));
        expect(byPath.outputs.url).toMatch(/^http:\/\/127\.0\.0\.1:301\d\d$/);
        const byContents = await withEnvAndConfig(NO_KUBECONFIG, { "kubernetes:kubeconfig": kubeconfig("https://[fd00::5]:6443") },
            () => declare({ activeColor: "blue", serviceType: "NodePort" }));
        expect(byContents.outputs.url).toMatch(/^http:\/\/\[fd00::5\]:301\d\d$/);
        const byEnv = await withEnvAndConfig({ ...NO_KUBECONFIG, KUBECONFIG: `/nonexistent${path.delimiter}${file}` }, {},
            () => declare({ activeColor: "blue", serviceType: "NodePort" }));
        expect(byEnv.outputs.url).toMatch(/^http:\/\/127\.0\.0\.1:301\d\d$/);
        const byHome = await withEnvAndConfig({ HOME: dir, KUBECONFIG: undefined }, {}, async () => {
            fs.mkdirSync(path.join(dir, ".kube"), { recursive: true });
            fs.writeFileSync(path.join(dir, ".kube", "config"), kubeconfig("https://k8s.internal.example:6443"));
            return declare({ activeColor: "blue", serviceType: "NodePort" });
        });
        expect(byHome.outputs.url).toMatch(/^http:\/\/k8s\.internal\.example:301\d\d$/);
    });

    it("NodePort without nodeAddress, explicit kubernetes provider: the host of the API server in that provider's kubeconfig", async () => {
        const r = await withEnvAndConfig(NO_KUBECONFIG, { "kubernetes:kubeconfig": file }, async () => {
            const provider = new k8s.Provider("bg-cluster", { kubeconfig: kubeconfig("https://[fd00::5]:6443") });
            return declare({ activeColor: "blue", serviceType: "NodePort" }, { providers: [provider] });
        });
        // Not the default provider's config (127.0.0.1): the provider the Services are created with.
        expect(r.outputs.url).toMatch(/^http:\/\/\[fd00::5\]:301\d\d$/);
        expect(find(r.resources, SERVICE, "bg-k8s-production").provider).toContain("pulumi:providers:kubernetes::bg-cluster");
        expect(find(r.resources, DEPLOYMENT, "bg-k8s-blue").provider).toContain("pulumi:providers:kubernetes::bg-cluster");
    });

    it("NodePort without nodeAddress, explicit provider whose kubeconfig names no API server: the URLs fail, naming the service and the arg", async () => {
        // The provider's kubeconfig is known only once it resolves: the constructor cannot throw.
        const { errors } = await collectingUnhandledRejections(() => withEnvAndConfig(NO_KUBECONFIG, {}, async () => {
            const provider = new k8s.Provider("bg-no-server", { kubeconfig: "apiVersion: v1\nkind: Config\nclusters: []\n" });
            new BlueGreenService("bg-k8s", argsOf({ serviceType: "NodePort" }), { providers: [provider] });
            await settle(200);
        }));
        expect(errors.length).toBeGreaterThan(0);
        for (const e of errors) expect(e.message).toContain("bg-k8s: service.nodeAddress must be set (an IP address or DNS name of a node)");
    });

    it("NodePort with neither nodeAddress nor a kubeconfig: an error naming the service and the arg, before any child is declared", async () => {
        const start = sink.resources.length;
        await withEnvAndConfig(NO_KUBECONFIG, {}, async () => {
            let thrown: unknown;
            try {
                new BlueGreenService("bg-k8s", argsOf({ serviceType: "NodePort" }));
            } catch (e) {
                thrown = e;
            }
            expect(pulumi.RunError.isInstance(thrown)).toBe(true);
            expect((thrown as Error).message).toMatch(/^bg-k8s: service\.nodeAddress must be set \(an IP address or DNS name of a node\) when no kubeconfig names an API server/);
            await settle();
        });
        expect(sink.resources.slice(start).filter((r) => r.type.startsWith("kubernetes:") || r.type === GATE)).toEqual([]);
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
        const r = await withEnvAndConfig(NO_KUBECONFIG, {}, () => declare({ activeColor: "green", namespace: "shop" }));
        expect(r.outputs.url).toBe("http://bg-k8s-production-c0ffee.shop.svc.cluster.local:8080");
        expect(r.outputs.previewUrl).toBe("http://bg-k8s-preview-c0ffee.shop.svc.cluster.local:8081");
    });
});

describe("nodeAddressOf and kubeconfigTexts", () => {
    const kubeconfig = (server: string, current = "here") => [
        "apiVersion: v1", "kind: Config", `current-context: ${current}`,
        "clusters:", `- name: c\n  cluster: {server: "${server}"}`, `- name: other\n  cluster: {server: "https://192.0.2.99:6443"}`,
        "contexts:", "- name: here\n  context: {cluster: c, user: u}", "- name: there\n  context: {cluster: other, user: u}",
        "users:", "- name: u\n  user: {}", "",
    ].join("\n");
    let home: string;

    beforeAll(() => {
        home = fs.mkdtempSync(path.join(os.tmpdir(), "bg-home-"));
        fs.mkdirSync(path.join(home, ".kube"));
        fs.writeFileSync(path.join(home, ".kube", "config"), kubeconfig("https://10.1.2.3:6443"));
        fs.writeFileSync(path.join(home, "second"), kubeconfig("https://10.9.9.9:6443"));
    });
    afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

    it("the configured node address wins; else the API server's host, for the context given or the current one", async () => {
        const { nodeAddressOf } = await import("../../components/kubernetes/service");
        const env = { HOME: home };
        expect(nodeAddressOf("api", "192.0.2.10", kubeconfig("https://10.1.2.3:6443"), "", env)).toBe("192.0.2.10");
        expect(nodeAddressOf("api", "", kubeconfig("https://10.1.2.3:6443"), "", env)).toBe("10.1.2.3");
        expect(nodeAddressOf("api", "", kubeconfig("https://10.1.2.3:6443"), "there", env)).toBe("192.0.2.99");
        expect(nodeAddressOf("api", "", undefined, undefined, env)).toBe("10.1.2.3"); // ~/.kube/config
    });

    it("kubeconfigTexts: contents as given, a path (~ is HOME), else KUBECONFIG's files that exist, else ~/.kube/config", async () => {
        const { kubeconfigTexts } = await import("../../components/kubernetes/service");
        const text = kubeconfig("https://10.1.2.3:6443");
        expect(kubeconfigTexts(text, { HOME: "/nonexistent" })).toEqual([text]);
        expect(kubeconfigTexts("~/.kube/config", { HOME: home })).toEqual([text]);
        expect(kubeconfigTexts("~/missing", { HOME: home })).toEqual([]);
        const second = fs.readFileSync(path.join(home, "second"), "utf8");
        expect(kubeconfigTexts(undefined, { HOME: home, KUBECONFIG: [path.join(home, "second"), "/nonexistent", path.join(home, ".kube", "config")].join(path.delimiter) }))
            .toEqual([second, text]);
        expect(kubeconfigTexts("", { HOME: home })).toEqual([text]);
        expect(kubeconfigTexts(undefined, { HOME: "/nonexistent" })).toEqual([]);
    });

    it("no node address and no kubeconfig: an error naming the service and the arg", async () => {
        const { nodeAddressOf } = await import("../../components/kubernetes/service");
        const { ServiceArgsError } = await import("../../components/serviceArgs");
        const fail = () => nodeAddressOf("api", "", undefined, undefined, { HOME: "/nonexistent" });
        expect(fail).toThrow(ServiceArgsError);
        expect(fail).toThrow('api: service.nodeAddress must be set (an IP address or DNS name of a node) when no kubeconfig names an API server to take it from, got ""');
        // A kubeconfig without the context asked for names no server either.
        expect(() => nodeAddressOf("api", "", kubeconfig("https://10.1.2.3:6443"), "elsewhere", { HOME: "/nonexistent" })).toThrow(ServiceArgsError);
    });
});

describe("the readiness gate's cluster", () => {
    it("an explicit kubernetes provider: its kubeconfig contents, as a secret, and its context", async () => {
        const contents = "apiVersion: v1\nkind: Config\nclusters: []\n";
        const r = await withEnvAndConfig(NO_KUBECONFIG, { "kubernetes:kubeconfig": "/elsewhere/config" }, async () => {
            const provider = new k8s.Provider("bg-gate-cluster", { kubeconfig: contents, context: "prod" });
            return declare({ activeColor: "blue" }, { providers: [provider] });
        });
        const gate = find(r.resources, GATE, "bg-k8s-gate").inputs;
        expect(gate.kubeconfig).toEqual(secret(contents));
        expect(gate.context).toBe("prod");
    });

    it("the default provider: kubernetes:kubeconfig and kubernetes:context, the kubeconfig as a secret", async () => {
        const r = await withEnvAndConfig(NO_KUBECONFIG, { "kubernetes:kubeconfig": "/etc/bluegreen/kubeconfig", "kubernetes:context": "staging" },
            () => declare({ activeColor: "blue" }));
        const gate = find(r.resources, GATE, "bg-k8s-gate").inputs;
        expect(gate.kubeconfig).toEqual(secret("/etc/bluegreen/kubeconfig"));
        expect(gate.context).toBe("staging");
    });

    it("neither: empty, for kubectl's own defaults", async () => {
        const r = await withEnvAndConfig(NO_KUBECONFIG, {}, () => declare({ activeColor: "blue" }));
        expect(find(r.resources, GATE, "bg-k8s-gate").inputs).toMatchObject({ kubeconfig: "", context: "" });
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
    ])("rejects %j", (raw, message) => {
        expect(() => parseSettings(raw as Record<string, string>)).toThrow(message);
    });

    it("declares a color's env Secret without stringData when the env is empty, and with it otherwise", async () => {
        // The kubernetes provider never stores an empty stringData: declaring one would replace
        // the Secret, and roll the Deployment, on every up (conformance recordings, kubernetes/02).
        const plain = await declare({ activeColor: "blue" });
        expect(find(plain.resources, SECRET, "bg-k8s-blue-env").inputs.stringData).toBeUndefined();
        const withEnv = await declare({ activeColor: "blue", greenEnv: JSON.stringify({ API_TOKEN: "t" }) });
        expect(find(withEnv.resources, SECRET, "bg-k8s-green-env").inputs.stringData).toEqual(secret({ API_TOKEN: "t" }));
    });

    it("env with a secret Output value: the Secret's stringData, still a secret", async () => {
        const token = pulumi.secret("t0ken");
        const withEnv = await declare({ activeColor: "blue" }, undefined, (a) => ({ ...a, colors: { ...a.colors, green: { ...a.colors.green, env: { API_TOKEN: token } } } }));
        expect(find(withEnv.resources, SECRET, "bg-k8s-green-env").inputs.stringData).toEqual(secret({ API_TOKEN: "t0ken" }));
    });
});

describe("fitting a real cluster (issue 27 items 3, 6, 7)", () => {
    const PDB = "kubernetes:policy/v1:PodDisruptionBudget";

    it("the Services skip the provider's await (its 10 s settle) unless a LoadBalancer's address or an idle scale-down needs it; the preview publishes pods that are not ready", async () => {
        const skip = (rs: Registered[], n: string) => find(rs, SERVICE, n).inputs.metadata.annotations?.["pulumi.com/skipAwait"];
        const plain = await declare({ activeColor: "blue" });
        expect(skip(plain.resources, "bg-k8s-production")).toBe("true");
        expect(skip(plain.resources, "bg-k8s-preview")).toBe("true");
        expect(find(plain.resources, SERVICE, "bg-k8s-preview").inputs.spec.publishNotReadyAddresses).toBe(true);
        expect(find(plain.resources, SERVICE, "bg-k8s-production").inputs.spec.publishNotReadyAddresses).toBeUndefined();
        const scaled = await declare({ activeColor: "blue", idleReplicas: "0" });
        expect(skip(scaled.resources, "bg-k8s-production")).toBeUndefined();
        expect(skip(scaled.resources, "bg-k8s-preview")).toBe("true");
        const lb = await declare({ activeColor: "blue", serviceType: "LoadBalancer", nodeAddress: "192.0.2.10" });
        expect(skip(lb.resources, "bg-k8s-production")).toBeUndefined();
        expect(skip(lb.resources, "bg-k8s-preview")).toBeUndefined();
    });

    it("service.previewType is the preview Service's own (default ClusterIP); the demo keeps both Services of serviceType", async () => {
        const own = await declare({ activeColor: "blue" }, undefined, (a) => ({ ...a, service: { type: "NodePort", nodeAddress: "192.0.2.10" } }));
        expect(find(own.resources, SERVICE, "bg-k8s-production").inputs.spec.type).toBe("NodePort");
        expect(find(own.resources, SERVICE, "bg-k8s-preview").inputs.spec.type).toBe("ClusterIP");
        expect(own.outputs.previewUrl).toBe("http://bg-k8s-preview-c0ffee.default.svc.cluster.local:8081");
        const demo = await declare({ activeColor: "blue", serviceType: "NodePort", nodeAddress: "192.0.2.10" });
        expect(find(demo.resources, SERVICE, "bg-k8s-preview").inputs.spec.type).toBe("NodePort");
    });

    it("pod fields pass through per color; each unset one keeps today's default", async () => {
        const r = await declare({ activeColor: "blue" }, undefined, (a) => ({
            ...a,
            colors: {
                ...a.colors,
                green: {
                    ...a.colors.green,
                    pod: {
                        securityContext: {}, containerSecurityContext: { readOnlyRootFilesystem: true }, serviceAccountName: "api-runner",
                        readinessProbe: { httpGet: { path: "/ready", port: "http" } }, livenessProbe: { httpGet: { path: "/live", port: "http" } },
                        startupProbe: { httpGet: { path: "/started", port: "http" }, failureThreshold: 30 },
                        envFrom: [{ configMapRef: { name: "api-config" } }, { secretRef: { name: "api-db" } }],
                    },
                },
            },
        }));
        const green = find(r.resources, DEPLOYMENT, "bg-k8s-green").inputs.spec.template.spec;
        expect(green.securityContext).toEqual({});
        expect(green.serviceAccountName).toBe("api-runner");
        const c = green.containers[0];
        expect(c.securityContext).toEqual({ readOnlyRootFilesystem: true });
        expect(c.readinessProbe).toEqual({ httpGet: { path: "/ready", port: "http" } });
        expect(c.livenessProbe).toEqual({ httpGet: { path: "/live", port: "http" } });
        expect(c.startupProbe).toEqual({ httpGet: { path: "/started", port: "http" }, failureThreshold: 30 });
        expect(c.envFrom).toEqual([{ secretRef: { name: "bg-k8s-green-env-c0ffee" } }, { configMapRef: { name: "api-config" } }, { secretRef: { name: "api-db" } }]);
        const blue = find(r.resources, DEPLOYMENT, "bg-k8s-blue").inputs.spec.template.spec;
        expect(blue.securityContext).toEqual({ runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } });
        expect(blue.serviceAccountName).toBeUndefined();
        expect(blue.containers[0].readinessProbe).toEqual({ httpGet: { path: "/health", port: "http" }, periodSeconds: 2, timeoutSeconds: 2, failureThreshold: 2 });
        expect(blue.containers[0].startupProbe).toBeUndefined();
        const noLiveness = await declare({ activeColor: "blue" }, undefined, (a) => ({ ...a, colors: { ...a.colors, blue: { ...a.colors.blue, pod: { livenessProbe: null } } } }));
        expect(find(noLiveness.resources, DEPLOYMENT, "bg-k8s-blue").inputs.spec.template.spec.containers[0].livenessProbe).toBeUndefined();
    });

    it("autoscaled: replicas set on create, then ignored (ignoreChanges) for a HorizontalPodAutoscaler; the Deployments' names are outputs", async () => {
        const ignored: Record<string, string[] | undefined> = {};
        const out = new BlueGreenService("bg-k8s", { ...argsOf({ activeColor: "blue" }), autoscaled: true }, {
            transformations: [(a) => { ignored[a.name] = a.opts.ignoreChanges; return undefined; }],
        });
        expect(await promiseOf(out.greenDeploymentName)).toBe("bg-k8s-green-c0ffee");
        await settle();
        expect(ignored["bg-k8s-blue"]).toEqual(["spec.replicas"]);
        expect(ignored["bg-k8s-green"]).toEqual(["spec.replicas"]);
        const plain: Record<string, string[] | undefined> = {};
        new BlueGreenService("bg-k8s", argsOf({ activeColor: "blue" }), { transformations: [(a) => { plain[a.name] = a.opts.ignoreChanges; return undefined; }] });
        await settle();
        expect(plain["bg-k8s-blue"]).toBeUndefined();
    });

    it("after a switch the old color restarts: a patch of its pod template, after the live Service, not awaited, kept as created, forgotten when the color goes live", async () => {
        const opts: Record<string, pulumi.CustomResourceOptions> = {};
        new BlueGreenService("bg-k8s", argsOf({ activeColor: "green" }), {
            transformations: [(a) => { opts[a.name] = a.opts; return undefined; }],
        });
        await settle();
        const r = (await declare({ activeColor: "green" })).resources;
        const patch = find(r, RECYCLE, "bg-k8s-blue-recycle").inputs;
        expect(patch.metadata).toMatchObject({ name: "bg-k8s-blue-c0ffee", namespace: "default", annotations: { "pulumi.com/skipAwait": "true", "pulumi.com/patchForce": "true" } });
        expect(Date.parse(patch.spec.template.metadata.annotations["bluegreen.dev/recycledAt"])).toBeGreaterThan(Date.now() - 60_000);
        const o = opts["bg-k8s-blue-recycle"];
        expect(o).toMatchObject({ retainOnDelete: true, ignoreChanges: ["spec"] });
        expect((o.dependsOn as pulumi.Resource[]).map((d) => (d as unknown as { __name: string }).__name)).toEqual(["bg-k8s-production", "bg-k8s-blue"]);
        expect((await declare({ activeColor: "green", idleReplicas: "0" })).resources.filter((x) => x.type === RECYCLE)).toEqual([]);
    });

    it("podDisruptionBudget: one per color, selecting that color's pods", async () => {
        const r = await declare({ activeColor: "blue" }, undefined, (a) => ({ ...a, podDisruptionBudget: { maxUnavailable: 1 } }));
        for (const c of ["blue", "green"]) {
            expect(find(r.resources, PDB, `bg-k8s-${c}-pdb`).inputs.spec).toEqual({ maxUnavailable: 1, selector: { matchLabels: { app: "bg-k8s", color: c } } });
        }
        expect((await declare({ activeColor: "blue" })).resources.filter((x) => x.type === PDB)).toEqual([]);
    });

    it("the version label is valid for every image reference", async () => {
        const { podLabels } = await import("../../components/kubernetes/colorEnvironment");
        const digest = `sha256:${"ab".repeat(32)}`;
        const longTag = `1.2.3-${"x".repeat(70)}`;
        const cases: [string, string][] = [
            ["registry.example:5000/team/api:1.4.2", "1.4.2"],
            [`registry.example/team/api@${digest}`, `sha256-${"ab".repeat(28)}`],
            [`registry.example/team/api:1.4.2@${digest}`, "1.4.2"],
            ["registry.example/team/api", "latest"],
        ];
        for (const [ref, version] of cases) expect(podLabels("api", "blue", ref)["app.kubernetes.io/version"]).toBe(version);
        const long = podLabels("api", "blue", `api:${longTag}`)["app.kubernetes.io/version"];
        expect(long).toMatch(/^1\.2\.3-x+-[0-9a-f]{8}$/);
        expect(long.length).toBeLessThanOrEqual(63);
        expect(long).not.toBe(podLabels("api", "blue", `api:${longTag}y`)["app.kubernetes.io/version"]);
        for (const ref of [...cases.map((c) => c[0]), `api:${longTag}`]) {
            for (const v of Object.values(podLabels("api", "blue", ref))) expect(v).toMatch(/^[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$/);
        }
    });
});
