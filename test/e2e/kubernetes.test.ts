/**
 * The Kubernetes flavour of the program itself (`index.ts` with `platform: kubernetes`), end to
 * end on a local cluster that this file starts and stops (scripts/cluster.sh: kube-apiserver,
 * controller-manager and scheduler built from k8s.io/kubernetes, Debian's etcd, KWOK playing the
 * node: pods become Ready with addresses and EndpointSlices fill, but no container runs, so
 * traffic is checked as the Services route it, through their EndpointSlices).
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, runId, workspaceOptions } from "../helpers/toolchain";

const id = runId("bgk8s");
const prefix = `bluegreen-${id}`;
let stack: Stack;
let kubeconfig = "";
let namespace = "";

function cluster(cmd: "up" | "down" | "env"): string {
    return execFileSync("bash", [path.join(ROOT, "scripts/cluster.sh"), cmd], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
}

function kubectl(...args: string[]): string {
    const bin = cluster("env").match(/PATH="([^:"]+)/)![1];
    return execFileSync(path.join(bin, "kubectl"), ["--kubeconfig", kubeconfig, ...args], { encoding: "utf8" }).trim();
}

function json(...args: string[]): any {
    return JSON.parse(kubectl(...args, "-o", "json"));
}

/** The program's Service of a role (production or preview). */
function service(role: "production" | "preview"): any {
    const all = json("get", "services", "-n", namespace).items;
    const found = all.filter((s: any) => s.metadata.name.startsWith(`${prefix}-${role}-`));
    expect(found).toHaveLength(1);
    return found[0];
}

/** The colors of the pods behind a Service, as its EndpointSlices list them (ready endpoints only). */
function colorsBehind(role: "production" | "preview"): string[] {
    const svc = service(role).metadata.name;
    const slices = json("get", "endpointslices", "-n", namespace, "-l", `kubernetes.io/service-name=${svc}`).items;
    const pods = new Map<string, string>(json("get", "pods", "-n", namespace).items.map((p: any) => [p.metadata.name, p.metadata.labels.color]));
    const colors: string[] = [];
    for (const s of slices) {
        for (const e of s.endpoints ?? []) if (e.conditions?.ready !== false) colors.push(pods.get(e.targetRef?.name) ?? `?${e.targetRef?.name}`);
    }
    return colors.sort();
}

function deployment(color: string): any {
    return json("get", "deployments", "-n", namespace).items.find((d: any) => d.metadata.name.startsWith(`${prefix}-${color}-`));
}

async function set(config: Record<string, string>): Promise<void> {
    await stack.setAllConfig(Object.fromEntries(Object.entries(config).map(([k, value]) => [k.includes(":") ? k : `bluegreen:${k}`, { value }])));
}

const up = () => stack.up({ onOutput: () => undefined });

beforeAll(async () => {
    cluster("up");
    kubeconfig = cluster("env").match(/KUBECONFIG="([^"]+)"/)![1];
    namespace = id;
    kubectl("create", "namespace", namespace);
    stack = await LocalWorkspace.createStack({ stackName: id, workDir: ROOT }, await workspaceOptions());
    // The readiness gate's kubectl is the cluster's own: scripts/env.sh puts it on the PATH.
    await set({
        platform: "kubernetes", namespace, activeColor: "blue",
        blueImage: "bluegreen/demo:1.0.0", greenImage: "bluegreen/demo:2.0.0",
        blueReplicas: "2", greenReplicas: "2", healthDeadlineSeconds: "30",
        "kubernetes:kubeconfig": kubeconfig,
    });
}, 900_000);

afterAll(async () => {
    try {
        if (stack) {
            await stack.destroy({ onOutput: () => undefined }).catch((e) => console.error("destroy failed:", e));
            await stack.workspace.removeStack(id, { force: true }).catch(() => undefined);
        }
    } finally {
        fs.rmSync(path.join(ROOT, `Pulumi.${id}.yaml`), { force: true });
        cluster("down");
    }
});

describe("the Kubernetes flavour on a local cluster", () => {
    it("up from nothing: the production Service routes only to blue pods, the preview Service only to green", async () => {
        const r = await up();
        expect(r.summary.result).toBe("succeeded");
        expect(colorsBehind("production")).toEqual(["blue", "blue"]);
        expect(colorsBehind("preview")).toEqual(["green", "green"]);
        expect(r.outputs.url.value).toBe(`http://${service("production").metadata.name}.${namespace}.svc.cluster.local:8080`);
    });

    it("refresh of a healthy stack changes nothing, and the next preview plans nothing", async () => {
        const refresh = await stack.refresh({ onOutput: () => undefined });
        expect(Object.keys(refresh.summary.resourceChanges ?? {})).toEqual(["same"]);
        const pre = await stack.preview();
        expect(Object.keys(pre.changeSummary)).toEqual(["same"]);
    });

    it("preview of activeColor=green shows only the two selectors and the readiness gate", async () => {
        await set({ activeColor: "green" });
        const pre = await stack.preview({ diff: true });
        expect(pre.changeSummary.update).toBe(3);
        expect(Object.keys(pre.changeSummary).sort()).toEqual(["same", "update"]);
        expect(pre.stdout).toMatch(/color\s*: "blue" => "green"/);
        expect(colorsBehind("production")).toEqual(["blue", "blue"]);
    });

    it("switch: production routes only to green, preview only to blue; no pod restarted", async () => {
        const pods = json("get", "pods", "-n", namespace).items.map((p: any) => p.metadata.uid).sort();
        const r = await up();
        expect(r.summary.resourceChanges).toMatchObject({ update: 3 });
        expect(colorsBehind("production")).toEqual(["green", "green"]);
        expect(colorsBehind("preview")).toEqual(["blue", "blue"]);
        expect(json("get", "pods", "-n", namespace).items.map((p: any) => p.metadata.uid).sort()).toEqual(pods);
    });

    it("revert: production routes only to blue again", async () => {
        await set({ activeColor: "blue" });
        await up();
        expect(colorsBehind("production")).toEqual(["blue", "blue"]);
        expect(colorsBehind("preview")).toEqual(["green", "green"]);
    });

    it("a green that cannot become ready: the switch fails within the health deadline and the selector stays on blue", async () => {
        // Pods that no node can hold stay Pending: the Deployment never completes its rollout, so
        // its update times out (healthDeadlineSeconds) before the readiness gate and the Services.
        await set({ greenResources: JSON.stringify({ requests: { cpu: "1000" } }) });
        await set({ activeColor: "green" });
        const error = await up().then(() => undefined, (e: Error) => e);
        expect(String(error)).toMatch(new RegExp(`${prefix}-green`));
        expect(service("production").spec.selector.color).toBe("blue");
        expect(colorsBehind("production")).toEqual(["blue", "blue"]);
        await stack.removeConfig("bluegreen:greenResources");
        await set({ activeColor: "blue" });
        expect((await up()).summary.result).toBe("succeeded");
        expect(colorsBehind("preview")).toEqual(["green", "green"]);
    });

    it("idleReplicas 0 shows in the preview and scales the idle color down after a switch", async () => {
        await set({ idleReplicas: "0", activeColor: "green" });
        const pre = await stack.preview({ diff: true });
        expect(pre.stdout).toMatch(/replicas\s*: 2 => 0/);
        await up();
        expect(colorsBehind("production")).toEqual(["green", "green"]);
        expect(deployment("blue").spec.replicas).toBe(0);
        expect(colorsBehind("preview")).toEqual([]);
        await set({ idleReplicas: "full", activeColor: "blue" });
        await up();
        expect(colorsBehind("production")).toEqual(["blue", "blue"]);
        expect(colorsBehind("preview")).toEqual(["green", "green"]);
    });

    it("destroy leaves nothing of the program in the namespace", async () => {
        await stack.destroy({ onOutput: () => undefined });
        const left = ["deployments", "services", "secrets", "replicasets", "pods"]
            .flatMap((kind) => json("get", kind, "-n", namespace).items.map((o: any) => `${kind}/${o.metadata.name}`))
            .filter((n: string) => n.includes(prefix));
        expect(left).toEqual([]);
    });
});
