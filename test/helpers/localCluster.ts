/**
 * The local Kubernetes cluster (scripts/cluster.sh) for the end-to-end files that need it and do
 * not own it: started if it is down, and left as it was found (stopped again only if this process
 * started it). Run those files under the cluster's lock (`flock /tmp/bluegreen-cluster.lock ...`)
 * where another process may use the cluster at the same time.
 */
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { ROOT } from "./toolchain";

export interface LocalCluster {
    kubeconfig: string;
    /** The directory of the cluster's own binaries (kubectl among them). */
    bin: string;
    pods: "real" | "kwok";
    /** Whether this process started it (and so stops it in `release`). */
    started: boolean;
}

function cluster(cmd: "up" | "down" | "env", env: NodeJS.ProcessEnv = process.env): string {
    return execFileSync("bash", [path.join(ROOT, "scripts/cluster.sh"), cmd], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], env });
}

function parse(env: string): { kubeconfig: string; bin: string; pods: string } {
    return {
        kubeconfig: /KUBECONFIG="([^"]+)"/.exec(env)![1],
        bin: /PATH="([^:"]+)/.exec(env)![1],
        pods: /BLUEGREEN_CLUSTER_PODS="(\w+)"/.exec(env)![1],
    };
}

/** Starts the cluster unless it is up; in CI the node must be real (BLUEGREEN_PODS=real). */
export function acquireCluster(): LocalCluster {
    const before = parse(cluster("env"));
    const started = before.pods === "none";
    const wanted = process.env.CI === "true" ? "real" : (process.env.BLUEGREEN_PODS ?? "auto");
    if (started) cluster("up", { ...process.env, BLUEGREEN_PODS: wanted });
    const after = parse(cluster("env"));
    if (after.pods !== "real" && after.pods !== "kwok") throw new Error(`scripts/cluster.sh up left no cluster (pods: ${after.pods})`);
    if (wanted === "real" && after.pods !== "real") throw new Error(`the cluster runs ${after.pods} pods; CI needs the real node`);
    return { kubeconfig: after.kubeconfig, bin: after.bin, pods: after.pods, started };
}

/** Stops the cluster if `acquireCluster` started it. */
export function releaseCluster(c: LocalCluster | undefined): void {
    if (c?.started) cluster("down");
}

/** kubectl on the cluster, from the test process. */
export function kubectlOn(c: LocalCluster, ...args: string[]): string {
    return execFileSync(path.join(c.bin, "kubectl"), ["--kubeconfig", c.kubeconfig, ...args], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 }).trim();
}
