/**
 * The public arguments of the blue/green service components (`docker.BlueGreenService`,
 * `kubernetes.BlueGreenService`) and their validation.
 *
 * Pure: no Pulumi runtime, no I/O. Each component calls `validate*ServiceArgs` before it declares
 * anything; every error names the service, the arg path, the value and what is allowed, e.g.
 * `api: colors.green.replicas must be 1–20, got 0`. Images and env passed as Outputs are checked
 * by the component once they are known (components/inputs.ts).
 */
import type { Input } from "@pulumi/pulumi";
import type * as k8sInput from "@pulumi/kubernetes/types/input";
import { isIPv4, isIPv6 } from "node:net";
import {
    COLORS, Color, DNS_LABEL, DNS_NAME, ENV_NAME, HEALTH_PATH, HealthSettings, IMAGE_REF, PROXY_KINDS, ProxyKind, QUANTITY,
    ResourceSettings, SERVICE_TYPES, ServiceType, SmokeTestSettings, DEFAULT_PROXY_IMAGES, quoteValue,
} from "./settings";

/** One color environment of a service. */
export interface ColorArgs {
    /** Image reference, e.g. `registry.example/team/api:1.4.2` or an image resource's output. */
    image: Input<string>;
    /** Containers (Docker) or pods (Kubernetes) of this color, 1–20. Default 1. */
    replicas?: number;
    /** Port the app listens on inside its container, 1–65535. Default 8080. */
    port?: number;
    /** Health path; must answer 2xx before the color takes traffic. Default `/health`. */
    healthPath?: string;
    /**
     * Environment variables of the app. Values may be secrets; they are kept encrypted in state.
     * @secret
     */
    env?: Input<Record<string, Input<string>>>;
}

/** How a color proves it may take traffic. */
export interface HealthArgs {
    /** Attempts per replica before the gate gives up, 1–1000. Default 10. */
    retries?: number;
    /** Seconds between attempts, 1–60. Default 1. */
    intervalSeconds?: number;
    /** Time limit of the whole gate, 1–3600 s. Default 60. */
    deadlineSeconds?: number;
}

/** Arguments shared by both platforms. */
export interface ServiceArgsBase {
    /** The color that receives live traffic. Changing it is the switch. */
    activeColor: Input<Color>;
    /** Both color environments; both always exist. */
    colors: {
        /** The blue color. */
        blue: ColorArgs;
        /** The green color. */
        green: ColorArgs;
    };
    health?: HealthArgs;
    /** Seconds a request in flight on the old color (a stream) may go on after a switch, 1–3600. Default 30. */
    drainSeconds?: number;
}

/** The Docker proxy in front of both colors. */
export interface ProxyArgs {
    /** `nginx` (graceful reload) or `traefik` (in-process route swap). Default `nginx`. */
    kind?: ProxyKind;
    /** Image of the proxy; the kind's default (`bluegreen/nginx:local`, `bluegreen/traefik:local`) when unset. */
    image?: Input<string>;
    /** Host port of the live listener (`url`). Default 8080. */
    port?: number;
    /** Host port of the preview listener (`previewUrl`, always the idle color). Default 8081. */
    previewPort?: number;
    /** Host address both listeners are published on. Default `127.0.0.1`. */
    bindAddress?: string;
}

/** Arguments of `docker.BlueGreenService`. */
export interface DockerServiceArgs extends ServiceArgsBase {
    proxy?: ProxyArgs;
    /** Before a switch, one GET of `path` through `previewUrl` must answer `status` (nginx only). */
    smokeTest?: {
        /** Path requested through `previewUrl`, starting with `/`. */
        path: string;
        /** Status the request must answer, 100–599. Default 200. */
        status?: number;
    };
    /** Labels on every container, volume and network of the service. Default `{"bluegreen.service": <name>}`. */
    labels?: Record<string, string>;
}

/**
 * Pod-level fields of one color, passed through to its Deployment's pod template. Each unset
 * field keeps the component's default; the API server checks what is passed (a field it refuses
 * fails `up` with its message, naming the color's Deployment).
 */
export interface KubernetesPodArgs {
    /** The pod's security context. Default `{ runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } }`; `{}` for an image that runs as root. */
    securityContext?: Input<k8sInput.core.v1.PodSecurityContext>;
    /** The app container's security context. Default `{ allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } }`. */
    containerSecurityContext?: Input<k8sInput.core.v1.SecurityContext>;
    /** Service account of the pods. Default: the namespace's `default`. */
    serviceAccountName?: Input<string>;
    /** Default: GET `healthPath` every 2 s, timeout 2 s, 2 failures. The readiness gate waits for it. */
    readinessProbe?: Input<k8sInput.core.v1.Probe>;
    /** Default: GET `healthPath` every 2 s, timeout 2 s, after 5 s, 5 failures; `null` for none. */
    livenessProbe?: Input<k8sInput.core.v1.Probe> | null;
    /** Default: none. */
    startupProbe?: Input<k8sInput.core.v1.Probe>;
    /** Env from Secrets or ConfigMaps, after the color's own `env` Secret (a name in both: this one wins). */
    envFrom?: Input<Input<k8sInput.core.v1.EnvFromSource>[]>;
}

/** Per-color Kubernetes settings beside `ColorArgs`. */
export interface KubernetesColorArgs extends ColorArgs {
    /** Requests and limits of the color's containers. */
    resources?: ResourceSettings;
    /** Pod-level fields (security contexts, service account, probes, env from Secrets/ConfigMaps). */
    pod?: KubernetesPodArgs;
}

/** A PodDisruptionBudget per color: exactly one of the two, a count or a percentage such as "50%". */
export interface PodDisruptionBudgetArgs {
    minAvailable?: number | string;
    maxUnavailable?: number | string;
}

/** Arguments of `kubernetes.BlueGreenService`. */
export interface KubernetesServiceArgs extends Omit<ServiceArgsBase, "colors"> {
    /** Both color environments; both always exist. */
    colors: {
        /** The blue color. */
        blue: KubernetesColorArgs;
        /** The green color. */
        green: KubernetesColorArgs;
    };
    /** Namespace of the Deployments and Services; it must exist. Default `default`. */
    namespace?: Input<string>;
    /** The `app` label both colors carry and both Services select. Default: the service's name. */
    app?: string;
    /** The live and the preview Service. */
    service?: {
        /** Type of the live Service (`url`). Default `ClusterIP`. */
        type?: ServiceType;
        /** Type of the preview Service (`previewUrl`). Default `ClusterIP`: the candidate is not published by default. */
        previewType?: ServiceType;
        /** Port of the live Service. Default 8080. */
        port?: number;
        /** Port of the preview Service. Default 8081. */
        previewPort?: number;
        /** Node address (IP or DNS name) in NodePort URLs; the kubeconfig's API server host when unset. */
        nodeAddress?: string;
    };
    /** Replicas of the idle color after a switch: `full` keeps its own count, or 0–20. Default `full`. */
    idleReplicas?: number | "full";
    /**
     * Leave the replica counts to a HorizontalPodAutoscaler (one per color, the user's, targeting
     * the Deployment names `blueDeploymentName`/`greenDeploymentName`): `colors.<color>.replicas` is
     * set on create only and `spec.replicas` is then ignored (`ignoreChanges`). Needs `idleReplicas: "full"`. Default false.
     */
    autoscaled?: boolean;
    /** A PodDisruptionBudget for each color's pods. Default: none. */
    podDisruptionBudget?: PodDisruptionBudgetArgs;
}

/** A bad argument; the message names the service, the arg path, the value and what is allowed. */
export class ServiceArgsError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "ServiceArgsError";
    }
}

/** Defaults of the args, in one place (the README's args table quotes them). */
export const DEFAULTS = {
    replicas: 1,
    port: 8080,
    healthPath: "/health",
    proxyKind: "nginx" as ProxyKind,
    proxyPort: 8080,
    previewPort: 8081,
    bindAddress: "127.0.0.1",
    health: { retries: 10, intervalSeconds: 1, deadlineSeconds: 60 } as HealthSettings,
    drainSeconds: 30,
    smokeTestStatus: 200,
    namespace: "default",
    serviceType: "ClusterIP" as ServiceType,
    idleReplicas: "full" as const,
};

/** Validation of one service's args, with the service name in every message. */
export class Checker {
    constructor(readonly service: string) {}

    fail(path: string, value: unknown, allowed: string): never {
        throw new ServiceArgsError(`${this.service}: ${path} must be ${allowed}, got ${quoteValue(value)}`);
    }

    int(path: string, value: unknown, dflt: number, min: number, max: number): number {
        if (value === undefined) return dflt;
        if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) this.fail(path, value, `${min}–${max}`);
        return value;
    }

    oneOf<T extends string>(path: string, value: unknown, dflt: T, allowed: readonly T[]): T {
        if (value === undefined) return dflt;
        if (!(allowed as readonly unknown[]).includes(value)) this.fail(path, value, `one of ${allowed.map((a) => `"${a}"`).join(", ")}`);
        return value as T;
    }

    /** An image reference; an Output is checked by `image` in the component when it is known. */
    image(path: string, value: unknown): void {
        if (value === undefined || value === null) this.fail(path, value, "an image reference");
        if (typeof value !== "string") return;
        if (!IMAGE_REF.test(value) || value.length > 255) {
            this.fail(path, value, "an image reference such as \"registry.example:5000/team/app:1.2.3\" (ASCII letters, digits and . _ - / : @)");
        }
    }

    healthPath(path: string, value: unknown, dflt: string): string {
        if (value === undefined) return dflt;
        if (typeof value !== "string" || !HEALTH_PATH.test(value)) {
            this.fail(path, value, "a path starting with \"/\" made of letters, digits and . _ ~ / - (no spaces, quotes, ; $ ? or #)");
        }
        return value;
    }

    /** Env names (values are checked when known: they may be secrets or Outputs). */
    env(path: string, value: unknown): void {
        if (value === undefined || !isPlainObject(value)) return;
        for (const [name, v] of Object.entries(value)) {
            if (!ENV_NAME.test(name)) this.fail(`${path}.${name}`, name, "a variable name of letters, digits and _, not starting with a digit");
            if (typeof v === "string" && v.includes("\0")) this.fail(`${path}.${name}`, v, "a value without NUL characters");
        }
    }

    address(path: string, value: unknown, dflt: string): string {
        if (value === undefined) return dflt;
        if (typeof value !== "string" || (!isIPv4(value) && !isIPv6(value))) this.fail(path, value, "an IPv4 or IPv6 address such as \"127.0.0.1\" or \"0.0.0.0\"");
        return value;
    }

    namespace(path: string, value: unknown): void {
        if (typeof value === "string" && !DNS_LABEL.test(value)) this.fail(path, value, "a Kubernetes namespace name (lower-case letters, digits and -, at most 63)");
    }

    resources(path: string, value: unknown): ResourceSettings {
        if (value === undefined) return {};
        if (!isPlainObject(value)) this.fail(path, value, "a map with `requests` and/or `limits`");
        const out: ResourceSettings = {};
        for (const [section, values] of Object.entries(value)) {
            if (section !== "requests" && section !== "limits") this.fail(`${path}.${section}`, section, "\"requests\" or \"limits\"");
            if (!isPlainObject(values)) this.fail(`${path}.${section}`, values, "a map with `cpu` and/or `memory`");
            const target: { cpu?: string; memory?: string } = {};
            for (const [name, q] of Object.entries(values)) {
                if (name !== "cpu" && name !== "memory") this.fail(`${path}.${section}.${name}`, name, "\"cpu\" or \"memory\"");
                if ((typeof q !== "string" && typeof q !== "number") || !QUANTITY.test(String(q))) {
                    this.fail(`${path}.${section}.${name}`, q, "a quantity such as \"250m\" or \"128Mi\"");
                }
                target[name] = String(q);
            }
            out[section] = target;
        }
        return out;
    }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
    return typeof v === "object" && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;
}

/** A color's args with defaults filled in; `image` and `env` as the user passed them. */
export interface ColorSpec {
    image: Input<string>;
    replicas: number;
    port: number;
    healthPath: string;
    env: Input<Record<string, Input<string>>>;
}

export interface ServiceSpecBase {
    /** A color when the user passed one as a plain value, else undefined (an Output). */
    knownActiveColor?: Color;
    activeColor: Input<Color>;
    colors: Record<Color, ColorSpec>;
    health: HealthSettings;
    drainSeconds: number;
}

function validateBase(c: Checker, args: ServiceArgsBase): ServiceSpecBase {
    if (!isPlainObject(args)) c.fail("args", args, "an object with `activeColor` and `colors`");
    const active = args.activeColor;
    if (active === undefined || active === null) c.fail("activeColor", active, "\"blue\" or \"green\"");
    if (typeof active === "string" && !(COLORS as readonly string[]).includes(active)) c.fail("activeColor", active, "\"blue\" or \"green\"");
    if (!isPlainObject(args.colors)) c.fail("colors", args.colors, "an object with `blue` and `green`");
    for (const k of Object.keys(args.colors)) if (!(COLORS as readonly string[]).includes(k)) c.fail(`colors.${k}`, k, "one of \"blue\", \"green\"");
    const colors = {} as Record<Color, ColorSpec>;
    for (const color of COLORS) {
        const a = args.colors[color];
        const at = `colors.${color}`;
        if (!isPlainObject(a)) c.fail(at, a, "an object with at least `image`");
        c.image(`${at}.image`, a.image);
        c.env(`${at}.env`, a.env);
        colors[color] = {
            image: a.image,
            replicas: c.int(`${at}.replicas`, a.replicas, DEFAULTS.replicas, 1, 20),
            port: c.int(`${at}.port`, a.port, DEFAULTS.port, 1, 65535),
            healthPath: c.healthPath(`${at}.healthPath`, a.healthPath, DEFAULTS.healthPath),
            env: a.env ?? {},
        };
    }
    const h = args.health ?? {};
    if (!isPlainObject(h)) c.fail("health", h, "an object with `retries`, `intervalSeconds` and/or `deadlineSeconds`");
    return {
        knownActiveColor: typeof active === "string" ? (active as Color) : undefined,
        activeColor: active,
        colors,
        health: {
            retries: c.int("health.retries", h.retries, DEFAULTS.health.retries, 1, 1000),
            intervalSeconds: c.int("health.intervalSeconds", h.intervalSeconds, DEFAULTS.health.intervalSeconds, 1, 60),
            deadlineSeconds: c.int("health.deadlineSeconds", h.deadlineSeconds, DEFAULTS.health.deadlineSeconds, 1, 3600),
        },
        drainSeconds: c.int("drainSeconds", args.drainSeconds, DEFAULTS.drainSeconds, 1, 3600),
    };
}

export interface DockerServiceSpec extends ServiceSpecBase {
    proxy: { kind: ProxyKind; image: Input<string>; port: number; previewPort: number; bindAddress: string };
    smokeTest?: SmokeTestSettings;
    labels: Record<string, string>;
}

/** Validates `docker.BlueGreenService`'s args and fills in the defaults. */
export function validateDockerServiceArgs(name: string, args: DockerServiceArgs): DockerServiceSpec {
    const c = new Checker(name);
    const base = validateBase(c, args);
    const p = args.proxy ?? {};
    if (!isPlainObject(p)) c.fail("proxy", p, "an object with `kind`, `image`, `port`, `previewPort` and/or `bindAddress`");
    const kind = c.oneOf("proxy.kind", p.kind, DEFAULTS.proxyKind, PROXY_KINDS);
    if (p.image !== undefined) c.image("proxy.image", p.image);
    const proxy = {
        kind,
        image: (p.image ?? DEFAULT_PROXY_IMAGES[kind]) as Input<string>,
        port: c.int("proxy.port", p.port, DEFAULTS.proxyPort, 1, 65535),
        previewPort: c.int("proxy.previewPort", p.previewPort, DEFAULTS.previewPort, 1, 65535),
        bindAddress: c.address("proxy.bindAddress", p.bindAddress, DEFAULTS.bindAddress),
    };
    if (proxy.port === proxy.previewPort) c.fail("proxy.previewPort", proxy.previewPort, `a port other than proxy.port (${proxy.port}): the live and preview listeners cannot share a host port`);
    let smokeTest: SmokeTestSettings | undefined;
    if (args.smokeTest !== undefined) {
        if (!isPlainObject(args.smokeTest)) c.fail("smokeTest", args.smokeTest, "an object with `path` and optionally `status`");
        const path = c.healthPath("smokeTest.path", args.smokeTest.path, "");
        if (path === "") c.fail("smokeTest.path", args.smokeTest.path, "a path starting with \"/\"");
        if (kind !== "nginx") c.fail("smokeTest", args.smokeTest, "unset with proxy.kind \"traefik\" (the smoke test tells the colors apart by nginx's color header)");
        smokeTest = { path, status: c.int("smokeTest.status", args.smokeTest.status, DEFAULTS.smokeTestStatus, 100, 599) };
    }
    const labels = args.labels ?? { "bluegreen.service": name };
    if (!isPlainObject(labels)) c.fail("labels", labels, "a map of label names to values");
    for (const [k, v] of Object.entries(labels)) if (typeof v !== "string") c.fail(`labels.${k}`, v, "a string");
    return { ...base, proxy, smokeTest, labels };
}

export interface KubernetesServiceSpec extends ServiceSpecBase {
    resources: Record<Color, ResourceSettings>;
    pods: Record<Color, KubernetesPodArgs>;
    namespace: Input<string>;
    app: string;
    service: { type: ServiceType; previewType: ServiceType; port: number; previewPort: number; nodeAddress: string };
    idleReplicas: number | "full";
    autoscaled: boolean;
    podDisruptionBudget?: PodDisruptionBudgetArgs;
}

const POD_FIELDS = ["securityContext", "containerSecurityContext", "serviceAccountName", "readinessProbe", "livenessProbe", "startupProbe", "envFrom"] as const;
const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$/;

/** The plain parts of a color's `pod` args: field names, the service account name, probe paths, envFrom references. */
function checkPod(c: Checker, path: string, value: unknown): KubernetesPodArgs {
    if (value === undefined) return {};
    if (!isPlainObject(value)) c.fail(path, value, `a map of ${POD_FIELDS.map((f) => `\`${f}\``).join(", ")}`);
    for (const k of Object.keys(value)) if (!(POD_FIELDS as readonly string[]).includes(k)) c.fail(`${path}.${k}`, k, `one of ${POD_FIELDS.map((f) => `"${f}"`).join(", ")}`);
    const sa = value.serviceAccountName;
    if (sa !== undefined && typeof sa !== "object" && (typeof sa !== "string" || !DNS_SUBDOMAIN.test(sa))) {
        c.fail(`${path}.serviceAccountName`, sa, "a service account name (lower-case letters, digits, - and ., at most 253)");
    }
    for (const probe of ["readinessProbe", "livenessProbe", "startupProbe"] as const) {
        const p = value[probe];
        if (p === undefined || (p === null && probe === "livenessProbe")) continue;
        if (!isPlainObject(p)) {
            if (p === null || typeof p !== "object") c.fail(`${path}.${probe}`, p, probe === "livenessProbe" ? "a probe (httpGet, tcpSocket, exec or grpc) or null" : "a probe (httpGet, tcpSocket, exec or grpc)");
            continue; // an Output: the API server checks it
        }
        const get = p.httpGet;
        if (isPlainObject(get) && typeof get.path === "string") c.healthPath(`${path}.${probe}.httpGet.path`, get.path, "");
    }
    const envFrom = value.envFrom;
    if (Array.isArray(envFrom)) {
        envFrom.forEach((e, i) => {
            if (!isPlainObject(e)) return;
            const ref = (e.secretRef ?? e.configMapRef) as unknown;
            if (!isPlainObject(ref) || (e.secretRef !== undefined && e.configMapRef !== undefined)) {
                c.fail(`${path}.envFrom[${i}]`, e, "a map with one of `secretRef` or `configMapRef` ({ name })");
            }
            if (typeof ref.name === "string" && !DNS_SUBDOMAIN.test(ref.name)) c.fail(`${path}.envFrom[${i}].${e.secretRef ? "secretRef" : "configMapRef"}.name`, ref.name, "a Secret or ConfigMap name (lower-case letters, digits, - and ., at most 253)");
        });
    } else if (envFrom !== undefined && (envFrom === null || typeof envFrom !== "object")) c.fail(`${path}.envFrom`, envFrom, "a list of `{ secretRef: { name } }` or `{ configMapRef: { name } }`");
    return value as KubernetesPodArgs;
}

function checkBudget(c: Checker, value: unknown): PodDisruptionBudgetArgs | undefined {
    if (value === undefined) return undefined;
    if (!isPlainObject(value)) c.fail("podDisruptionBudget", value, "a map with one of `minAvailable` or `maxUnavailable`");
    const keys = Object.keys(value);
    if (keys.length !== 1 || (keys[0] !== "minAvailable" && keys[0] !== "maxUnavailable")) c.fail("podDisruptionBudget", value, "a map with one of `minAvailable` or `maxUnavailable`");
    const v = value[keys[0]];
    const ok = (typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 20) || (typeof v === "string" && /^(100|[1-9]?[0-9])%$/.test(v));
    if (!ok) c.fail(`podDisruptionBudget.${keys[0]}`, v, "a count 0–20 or a percentage such as \"50%\"");
    return { [keys[0]]: v };
}

/**
 * The `app.kubernetes.io/version` label of an image reference: its tag, else its digest as
 * `sha256-<first 56 hex>`, else `latest`; a tag that is not a valid label value (over 63
 * characters) is cut to 54 and ends with `-` and 8 hex of its SHA-256, so two long tags still differ.
 */
export function versionLabel(ref: string, sha256: (s: string) => string): string {
    const [name, digest] = ref.split("@");
    const lastSlash = name.lastIndexOf("/");
    const colon = name.indexOf(":", lastSlash + 1);
    const tag = colon === -1 ? "" : name.slice(colon + 1);
    if (tag && LABEL_VALUE.test(tag)) return tag;
    if (tag) return `${tag.slice(0, 54).replace(/[^A-Za-z0-9]+$/, "")}-${sha256(tag).slice(0, 8)}`;
    if (digest) {
        const [alg, hex] = digest.split(":");
        return `${alg}-${hex}`.slice(0, 63);
    }
    return "latest";
}

/** Validates `kubernetes.BlueGreenService`'s args and fills in the defaults. */
export function validateKubernetesServiceArgs(name: string, args: KubernetesServiceArgs): KubernetesServiceSpec {
    const c = new Checker(name);
    const base = validateBase(c, args);
    const resources = {} as Record<Color, ResourceSettings>;
    const pods = {} as Record<Color, KubernetesPodArgs>;
    for (const color of COLORS) {
        resources[color] = c.resources(`colors.${color}.resources`, args.colors[color].resources);
        pods[color] = checkPod(c, `colors.${color}.pod`, args.colors[color].pod);
    }
    c.namespace("namespace", args.namespace);
    const s = args.service ?? {};
    if (!isPlainObject(s)) c.fail("service", s, "an object with `type`, `previewType`, `port`, `previewPort` and/or `nodeAddress`");
    const nodeAddress = s.nodeAddress ?? "";
    if (typeof nodeAddress !== "string" || (nodeAddress !== "" && !isIPv4(nodeAddress) && !isIPv6(nodeAddress) && !DNS_NAME.test(nodeAddress))) {
        c.fail("service.nodeAddress", nodeAddress, "an IP address or a DNS name such as \"192.0.2.10\" or \"node1.example.com\"");
    }
    const service = {
        type: c.oneOf("service.type", s.type, DEFAULTS.serviceType, SERVICE_TYPES),
        previewType: c.oneOf("service.previewType", s.previewType, DEFAULTS.serviceType, SERVICE_TYPES),
        port: c.int("service.port", s.port, DEFAULTS.proxyPort, 1, 65535),
        previewPort: c.int("service.previewPort", s.previewPort, DEFAULTS.previewPort, 1, 65535),
        nodeAddress,
    };
    const idle = args.idleReplicas ?? DEFAULTS.idleReplicas;
    if (idle !== "full" && (typeof idle !== "number" || !Number.isInteger(idle) || idle < 0 || idle > 20)) c.fail("idleReplicas", idle, "\"full\" or 0–20");
    const idleReplicas = idle;
    // The idle color is scaled down after the live Service has left it; that order is declared, so
    // it needs to know which color is idle while the program runs.
    if (idleReplicas !== "full" && base.knownActiveColor === undefined) {
        c.fail("idleReplicas", idleReplicas, "\"full\" while activeColor is an Output (scaling the idle color down after the switch needs the color when resources are declared)");
    }
    const autoscaled = args.autoscaled ?? false;
    if (typeof autoscaled !== "boolean") c.fail("autoscaled", autoscaled, "true or false");
    // The autoscaler owns spec.replicas: scaling the idle color down would fight it.
    if (autoscaled && idleReplicas !== "full") c.fail("idleReplicas", idleReplicas, "\"full\" with autoscaled (the HorizontalPodAutoscaler sets the replicas)");
    const podDisruptionBudget = checkBudget(c, args.podDisruptionBudget);
    const app = args.app ?? name;
    if (typeof app !== "string" || !LABEL_VALUE.test(app)) c.fail("app", app, "a label value (letters, digits, - _ ., at most 63)");
    return { ...base, resources, pods, namespace: args.namespace ?? DEFAULTS.namespace, app, service, idleReplicas, autoscaled, podDisruptionBudget };
}

/**
 * Host ports claimed by the Docker services of this program, per engine and bind address: a
 * second service on a port another already publishes fails before anything is created.
 */
export class HostPortClaims {
    private readonly owners = new Map<string, string>();

    /** Claims `ports` for `service`; throws naming both services when one is taken. */
    claim(service: string, engine: string, bindAddress: string, ports: { path: string; port: number }[]): void {
        const wildcard = (a: string) => a === "0.0.0.0" || a === "::";
        for (const { path, port } of ports) {
            for (const [key, owner] of this.owners) {
                const [e, a, p] = JSON.parse(key) as [string, string, number];
                if (e === engine && p === port && owner !== service && (a === bindAddress || wildcard(a) || wildcard(bindAddress))) {
                    throw new ServiceArgsError(`${service}: ${path} must be a host port no other service publishes, got ${port}: service ${owner} publishes it on ${a}`);
                }
            }
        }
        for (const { port } of ports) this.owners.set(JSON.stringify([engine, bindAddress, port]), service);
    }
}
