/**
 * The demo program's stack config, as the args of one service component. Pure: the config keys
 * were validated by `readSettings` (stacks/config.ts); these functions only rename.
 */
import type { DockerServiceArgs, KubernetesServiceArgs } from "../components/serviceArgs";
import type { Settings } from "../components/settings";

const color = (s: Settings["blue"]) => ({ image: s.image, replicas: s.replicas, port: s.port, healthPath: s.healthPath, env: s.env });

/** `docker.BlueGreenService`'s args; `label` goes on every container, volume and network. */
export function dockerServiceArgs(s: Settings, label: string): DockerServiceArgs {
    return {
        activeColor: s.activeColor,
        colors: { blue: color(s.blue), green: color(s.green) },
        proxy: { kind: s.proxy.kind, image: s.proxy.image, port: s.proxy.port, previewPort: s.proxy.previewPort, bindAddress: s.proxy.bindAddress },
        health: s.health,
        drainSeconds: s.drainSeconds,
        smokeTest: s.smokeTest,
        labels: { "bluegreen.stack": label },
    };
}

/** `kubernetes.BlueGreenService`'s args; the `app` label is the stack's prefix. */
export function kubernetesServiceArgs(s: Settings, app: string): KubernetesServiceArgs {
    const k = s.kubernetes;
    return {
        activeColor: s.activeColor,
        colors: {
            blue: { ...color(s.blue), resources: k.resources.blue },
            green: { ...color(s.green), resources: k.resources.green },
        },
        namespace: k.namespace,
        app,
        service: { type: k.serviceType, previewType: k.serviceType, port: s.proxy.port, previewPort: s.proxy.previewPort, nodeAddress: k.nodeAddress || undefined },
        idleReplicas: k.idleReplicas,
        health: s.health,
        drainSeconds: s.drainSeconds,
    };
}
