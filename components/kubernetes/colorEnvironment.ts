import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import { checkedEnv, checkedImage } from "../inputs";
import { type ColorSpec, type KubernetesPodArgs, type PodDisruptionBudgetArgs, versionLabel } from "../serviceArgs";
import { Color, ResourceSettings } from "../settings";

export interface KubeColorEnvironmentArgs {
    color: Color;
    /** This color's validated args (`validateKubernetesServiceArgs`); image and env may be Outputs. */
    settings: ColorSpec;
    /** The service's name, in the messages about values known only once they resolve. */
    service: string;
    /** Replicas to run now: the color's own count, or `idleReplicas` while it is idle. */
    replicas: number;
    resources: ResourceSettings;
    namespace: pulumi.Input<string>;
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
    /** Pod-level fields passed through (validated by `validateKubernetesServiceArgs`); each unset one keeps its default. */
    pod?: KubernetesPodArgs;
    /** `spec.replicas` set on create only, then left to a HorizontalPodAutoscaler. */
    autoscaled?: boolean;
    /** A PodDisruptionBudget for this color's pods. */
    podDisruptionBudget?: PodDisruptionBudgetArgs;
}

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

/**
 * The labels of a color's pods: `app` and `color` (what the Deployment and both Services select;
 * a Deployment's selector cannot change, so these keep their names) and the project's namespaced
 * ones, `app.kubernetes.io/name`, `app.kubernetes.io/version` (valid for any image reference:
 * `versionLabel`) and `app.kubernetes.io/managed-by`.
 */
export function podLabels(app: string, color: Color, image: string): Record<string, string> {
    return {
        app, color,
        "app.kubernetes.io/name": app,
        "app.kubernetes.io/version": versionLabel(image, sha256),
        "app.kubernetes.io/managed-by": "bluegreen",
    };
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
        const image = checkedImage(args.service, `colors.${args.color}.image`, s.image);
        const labels = image.apply((i) => podLabels(args.app, args.color, i));
        const pod = args.pod ?? {};
        // Env may carry credentials. An empty map is left out: the kubernetes provider never
        // stores an empty `stringData`, so declaring one plans a replacement of the Secret, and
        // through its new name a rollout of the Deployment, on every `up`.
        const plainEnv = isPlainRecord(s.env) ? (s.env as Record<string, string>) : undefined;
        const env = checkedEnv(args.service, `colors.${args.color}.env`, s.env);
        const stringData = plainEnv
            ? (Object.keys(plainEnv).length ? pulumi.secret(env) : undefined)
            : env.apply((e) => (Object.keys(e).length ? pulumi.secret(e) : undefined));
        const probe = { httpGet: { path: s.healthPath, port: "http" }, periodSeconds: 2, timeoutSeconds: 2 };
        const secretEnv = new k8s.core.v1.Secret(`${name}-env`, {
            metadata: { namespace: args.namespace, labels },
            stringData,
        }, { parent: this });
        const envFrom = pulumi.output(pod.envFrom ?? []).apply((extra) => [{ secretRef: { name: secretEnv.metadata.name } }, ...extra]);
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
                        securityContext: pod.securityContext ?? { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
                        ...(pod.serviceAccountName !== undefined ? { serviceAccountName: pod.serviceAccountName } : {}),
                        containers: [{
                            name: "app",
                            image,
                            ports: [{ name: "http", containerPort: s.port }],
                            env: [
                                { name: "COLOR", value: args.color },
                                { name: "PORT", value: String(s.port) },
                                { name: "HEALTH_PATH", value: s.healthPath },
                            ],
                            envFrom,
                            readinessProbe: pod.readinessProbe ?? { ...probe, failureThreshold: 2 },
                            ...(pod.livenessProbe === null ? {} : { livenessProbe: pod.livenessProbe ?? { ...probe, failureThreshold: 5, initialDelaySeconds: 5 } }),
                            ...(pod.startupProbe !== undefined ? { startupProbe: pod.startupProbe } : {}),
                            // A terminating pod leaves the Services' endpoints at once (no new
                            // connection), and serves the ones it has until the sleep ends.
                            lifecycle: { preStop: { sleep: { seconds: args.drainSeconds } } },
                            resources: args.resources,
                            securityContext: pod.containerSecurityContext ?? { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
                        }],
                    },
                },
            },
        }, {
            parent: this,
            // The provider waits for the rollout; a color that cannot become ready fails the update
            // within the health deadline, before the Services move, instead of after 10 minutes.
            customTimeouts: { create: `${args.rolloutSeconds}s`, update: `${args.rolloutSeconds}s` },
            // With an autoscaler, `replicas` is the count on create; after that the autoscaler's.
            ...(args.autoscaled ? { ignoreChanges: ["spec.replicas"] } : {}),
        });
        if (args.podDisruptionBudget) {
            new k8s.policy.v1.PodDisruptionBudget(`${name}-pdb`, {
                metadata: { namespace: args.namespace, labels },
                spec: { ...args.podDisruptionBudget, selector: { matchLabels: { app: args.app, color: args.color } } },
            }, { parent: this });
        }
        this.image = image;
        this.deploymentName = deployment.metadata.name;
        this.registerOutputs({ image: this.image, deploymentName: this.deploymentName });
    }
}

/** A map given as a plain object whose values are all plain (no Output anywhere). */
function isPlainRecord(v: unknown): boolean {
    return typeof v === "object" && v !== null && !pulumi.Output.isInstance(v) && !(v instanceof Promise)
        && Object.values(v).every((x) => typeof x === "string" || typeof x === "number" || typeof x === "boolean");
}
