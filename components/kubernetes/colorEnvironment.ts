import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { Color, ColorSettings, ResourceSettings, imageVersion } from "../settings";

export interface KubeColorEnvironmentArgs {
    color: Color;
    settings: ColorSettings;
    /** Replicas to run now: the color's own count, or `idleReplicas` while it is idle. */
    replicas: number;
    resources: ResourceSettings;
    namespace: string;
    /** The `app` label shared by both colors and selected by both Services. */
    app: string;
    /** How long creating or updating the Deployment may wait for its rollout (`healthDeadlineSeconds`). */
    rolloutSeconds: number;
    /**
     * `drainSeconds`: how long a pod being retired (scaled down, replaced, deleted) keeps serving
     * the connections it has before it is asked to stop (a preStop sleep), so a stream opened on
     * it goes on for up to this long and then ends as the app ends it on SIGTERM.
     */
    drainSeconds: number;
    provider?: k8s.Provider;
}

/** Seconds a pod has after SIGTERM (after its drain) to stop by itself before it is killed. */
export const STOP_GRACE_SECONDS = 10;

/**
 * One color slot on Kubernetes: a Deployment whose pods carry `app`, `color` and `version`
 * labels and are probed on the health path. Traffic reaches them only through the Services'
 * selectors; a switch never touches this Deployment.
 */
export class KubeColorEnvironment extends pulumi.ComponentResource {
    /** The image this color runs. */
    public readonly image: pulumi.Output<string>;
    /** Name of the Deployment. */
    public readonly deploymentName: pulumi.Output<string>;

    constructor(name: string, args: KubeColorEnvironmentArgs, opts?: pulumi.ComponentResourceOptions) {
        super("bluegreen:kubernetes:ColorEnvironment", name, {}, opts);
        const s = args.settings;
        const labels = { app: args.app, color: args.color, version: imageVersion(s.image) };
        const probe = { httpGet: { path: s.healthPath, port: "http" }, periodSeconds: 2, timeoutSeconds: 2 };
        const secretEnv = new k8s.core.v1.Secret(`${name}-env`, {
            metadata: { namespace: args.namespace, labels },
            // Env may carry credentials. An empty map is left out: the kubernetes provider never
            // stores an empty `stringData`, so declaring one plans a replacement of the Secret, and
            // through its new name a rollout of the Deployment, on every `up`.
            stringData: Object.keys(s.env).length ? pulumi.secret(s.env) : undefined,
        }, { parent: this, provider: args.provider });
        const deployment = new k8s.apps.v1.Deployment(name, {
            metadata: { namespace: args.namespace, labels },
            spec: {
                replicas: args.replicas,
                selector: { matchLabels: { app: args.app, color: args.color } },
                template: {
                    metadata: { labels },
                    spec: {
                        // The preStop sleep, then the app's own clean stop after SIGTERM.
                        terminationGracePeriodSeconds: args.drainSeconds + STOP_GRACE_SECONDS,
                        securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
                        containers: [{
                            name: "app",
                            image: s.image,
                            ports: [{ name: "http", containerPort: s.port }],
                            env: [
                                { name: "COLOR", value: args.color },
                                { name: "PORT", value: String(s.port) },
                                { name: "HEALTH_PATH", value: s.healthPath },
                            ],
                            envFrom: [{ secretRef: { name: secretEnv.metadata.name } }],
                            readinessProbe: { ...probe, failureThreshold: 2 },
                            livenessProbe: { ...probe, failureThreshold: 5, initialDelaySeconds: 5 },
                            // A terminating pod leaves the Services' endpoints at once (no new
                            // connection), and serves the ones it has until the sleep ends.
                            lifecycle: { preStop: { sleep: { seconds: args.drainSeconds } } },
                            resources: args.resources,
                            securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
                        }],
                    },
                },
            },
        }, {
            parent: this,
            provider: args.provider,
            // The provider waits for the rollout; a color that cannot become ready fails the update
            // within the health deadline, before the Services move, instead of after 10 minutes.
            customTimeouts: { create: `${args.rolloutSeconds}s`, update: `${args.rolloutSeconds}s` },
        });
        this.image = pulumi.output(s.image);
        this.deploymentName = deployment.metadata.name;
        this.registerOutputs({ image: this.image, deploymentName: this.deploymentName });
    }
}
