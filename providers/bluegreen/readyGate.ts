/**
 * The provider side of the Kubernetes readiness gate (`components/kubernetes/deploymentReadyGate.ts`):
 * `kubectl rollout status` of the live color's Deployment, bounded by the deadline. Values are
 * separate arguments, never a shell string.
 */
import { execFile } from "node:child_process";
import type { DiffKind, DiffResult } from "../shared/grpcProvider";

export interface GateState {
    deployment: string;
    namespace: string;
    activeColor: string;
    deadlineSeconds: number;
    /** `kubernetes:kubeconfig` and `kubernetes:context` of the stack, if set. */
    kubeconfig: string;
    context: string;
}

/** kubectl's arguments for the gate. */
export function rolloutStatusArgs(s: GateState): string[] {
    return [
        ...(s.context ? ["--context", s.context] : []),
        "rollout", "status", `deployment/${s.deployment}`, "--namespace", s.namespace, `--timeout=${s.deadlineSeconds}s`,
    ];
}

export async function waitReady(s: GateState): Promise<void> {
    const env = { ...process.env, ...(s.kubeconfig && !s.kubeconfig.includes("\n") ? { KUBECONFIG: s.kubeconfig } : {}) };
    await new Promise<void>((resolve, reject) => {
        execFile("kubectl", rolloutStatusArgs(s), { env, timeout: (s.deadlineSeconds + 30) * 1000 }, (err, stdout, stderr) => {
            if (!err) return resolve();
            reject(new Error(
                `readiness gate: ${s.activeColor} (deployment/${s.deployment} in ${s.namespace}) did not have all replicas ready within ` +
                    `${s.deadlineSeconds} s, so the production Service still selects the other color: ${(stderr || stdout || err.message).trim()}`,
            ));
        });
    });
}

/** The gate runs again exactly when what it gates changes: the live color's Deployment. */
export function diffGate(olds: GateState, news: GateState): DiffResult {
    const detailedDiff: Record<string, DiffKind> = {};
    for (const k of ["deployment", "activeColor", "namespace"] as const) if (olds[k] !== news[k]) detailedDiff[k] = "update";
    return { changes: Object.keys(detailedDiff).length > 0, replaces: [], detailedDiff };
}
