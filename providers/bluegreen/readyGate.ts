/**
 * The provider side of the Kubernetes readiness gate (`components/kubernetes/deploymentReadyGate.ts`):
 * `kubectl rollout status` of the live color's Deployment, bounded by the deadline. Values are
 * separate arguments, never a shell string.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { DiffKind, DiffResult } from "../shared/grpcProvider";

export interface GateState {
    deployment: string;
    namespace: string;
    activeColor: string;
    deadlineSeconds: number;
    /** The kubernetes provider's kubeconfig (a path or the contents) and context, "" for its defaults. */
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
    // A kubeconfig given as contents goes to kubectl as a file only this user can read, removed after.
    const inline = s.kubeconfig.includes("\n");
    const dir = inline ? fs.mkdtempSync(path.join(os.tmpdir(), "bluegreen-gate-")) : "";
    const kubeconfig = inline ? path.join(dir, "kubeconfig") : s.kubeconfig;
    if (inline) fs.writeFileSync(kubeconfig, s.kubeconfig, { mode: 0o600 });
    const env = { ...process.env, ...(kubeconfig ? { KUBECONFIG: kubeconfig } : {}) };
    try {
        await rolloutStatus(s, env);
    } finally {
        if (inline) fs.rmSync(dir, { recursive: true, force: true });
    }
}

function rolloutStatus(s: GateState, env: NodeJS.ProcessEnv): Promise<void> {
    return new Promise<void>((resolve, reject) => {
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
