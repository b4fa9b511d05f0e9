/**
 * Stack settings: the one place where raw stack config becomes typed, validated values.
 *
 * Pure: no Pulumi runtime, no I/O. `index.ts` reads the raw config once and calls
 * `parseSettings`; every error names the key, the value and what is allowed, and is raised
 * before any resource is declared.
 */
import { isIPv4, isIPv6 } from "node:net";

export const COLORS = ["blue", "green"] as const;
export type Color = (typeof COLORS)[number];

export const PLATFORMS = ["docker", "kubernetes"] as const;
export type Platform = (typeof PLATFORMS)[number];

/** What one color slot runs. */
export interface ColorSettings {
    image: string;
    replicas: number;
    port: number;
    healthPath: string;
    env: Record<string, string>;
}

/** How the switch decides that a color may take traffic. */
export interface HealthSettings {
    /** Attempts per replica before the gate gives up. */
    retries: number;
    /** Pause between attempts, in seconds. */
    intervalSeconds: number;
    /** Time limit for the whole gate, in seconds. */
    deadlineSeconds: number;
}

export const PROXY_KINDS = ["nginx", "traefik"] as const;
export type ProxyKind = (typeof PROXY_KINDS)[number];

/**
 * The image each kind of proxy uses when `proxyImage` is empty: the names `npm run setup` gives
 * what it pulled (the official `nginx` and `traefik` images at pinned tags) or, where no registry
 * answers, what it built offline. Either image works: the switch needs only `sh`, and `curl` or
 * `wget` (the official Traefik image has busybox's), inside the proxy.
 */
export const DEFAULT_PROXY_IMAGES: Record<ProxyKind, string> = {
    nginx: "bluegreen/nginx:local",
    traefik: "bluegreen/traefik:local",
};

export interface ProxySettings {
    kind: ProxyKind;
    image: string;
    /** Host port of the live listener. */
    port: number;
    /** Host port of the preview listener (always the idle color). */
    previewPort: number;
    /** Host address both listeners are published on. */
    bindAddress: string;
}

/** Kubernetes resource requests and limits of one color's containers. */
export interface ResourceSettings {
    requests?: { cpu?: string; memory?: string };
    limits?: { cpu?: string; memory?: string };
}

export const SERVICE_TYPES = ["ClusterIP", "NodePort", "LoadBalancer"] as const;
export type ServiceType = (typeof SERVICE_TYPES)[number];

/** Settings only the Kubernetes flavour reads. */
export interface KubernetesSettings {
    namespace: string;
    serviceType: ServiceType;
    /** Node address in NodePort URLs; "" for the host of the kubeconfig's API server. */
    nodeAddress: string;
    /** Replicas of the idle color after a switch; "full" keeps it at its own replica count. */
    idleReplicas: number | "full";
    resources: Record<Color, ResourceSettings>;
}

/**
 * The pre-switch smoke test (Docker with nginx): one GET of `path` through `previewUrl` must
 * answer `status` before the switch moves traffic to the color about to go live.
 */
export interface SmokeTestSettings {
    path: string;
    status: number;
}

export interface Settings {
    activeColor: Color;
    idleColor: Color;
    platform: Platform;
    blue: ColorSettings;
    green: ColorSettings;
    proxy: ProxySettings;
    health: HealthSettings;
    /**
     * How long a request already running on the old color (a stream, a long poll) may go on
     * after a switch before the proxy closes it; `up` waits for those to end (nginx).
     */
    drainSeconds: number;
    kubernetes: KubernetesSettings;
    /** Absent when `smokeTestPath` is empty (the default): no smoke test is declared. */
    smokeTest?: SmokeTestSettings;
}

/** Raised for any bad config value; the message is meant for the person who typed it. */
export class ConfigError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "ConfigError";
    }
}

export interface KeySpec {
    description: string;
    default: string | number | Record<string, string>;
    type: "string" | "integer" | "object";
}

const DEMO_IMAGE = "bluegreen/demo:1.0.0";

/** Every config key of the `bluegreen` namespace, with its meaning and default. */
export const CONFIG_KEYS: Record<string, KeySpec> = {
    activeColor: { type: "string", default: "blue", description: "The color that receives live traffic: blue or green." },
    platform: { type: "string", default: "docker", description: "Where the colors run: docker or kubernetes." },
    blueImage: { type: "string", default: DEMO_IMAGE, description: "Image reference of the blue color." },
    greenImage: { type: "string", default: DEMO_IMAGE, description: "Image reference of the green color." },
    blueReplicas: { type: "integer", default: 1, description: "Containers (pods) of the blue color, 1-20." },
    greenReplicas: { type: "integer", default: 1, description: "Containers (pods) of the green color, 1-20." },
    bluePort: { type: "integer", default: 8080, description: "Port the blue app listens on inside its container." },
    greenPort: { type: "integer", default: 8080, description: "Port the green app listens on inside its container." },
    blueHealthPath: { type: "string", default: "/health", description: "Health path of the blue app; must answer 2xx." },
    greenHealthPath: { type: "string", default: "/health", description: "Health path of the green app; must answer 2xx." },
    blueEnv: { type: "object", default: {}, description: "Environment variables of the blue app (name: value)." },
    greenEnv: { type: "object", default: {}, description: "Environment variables of the green app (name: value)." },
    proxyKind: { type: "string", default: "nginx", description: "The proxy: nginx (graceful reload) or traefik (in-process route swap)." },
    proxyImage: { type: "string", default: "", description: "Image of the proxy (needs sh and curl); empty for the kind's default." },
    proxyPort: { type: "integer", default: 8080, description: "Host port of the live listener." },
    previewPort: { type: "integer", default: 8081, description: "Host port of the preview listener (idle color)." },
    bindAddress: { type: "string", default: "127.0.0.1", description: "Host address the proxy publishes its ports on." },
    healthRetries: { type: "integer", default: 10, description: "Health-gate attempts per replica before a switch fails, 1-1000." },
    healthIntervalSeconds: { type: "integer", default: 1, description: "Seconds between health-gate attempts, 1-60." },
    healthDeadlineSeconds: { type: "integer", default: 60, description: "Time limit of the whole health gate in seconds, 1-3600." },
    drainSeconds: { type: "integer", default: 30, description: "Seconds a request in flight on the old color (a stream) may go on after a switch, 1-3600." },
    namespace: { type: "string", default: "default", description: "Kubernetes: namespace of the Deployments and Services (must exist)." },
    serviceType: { type: "string", default: "ClusterIP", description: "Kubernetes: type of both Services: ClusterIP, NodePort or LoadBalancer." },
    nodeAddress: { type: "string", default: "", description: "Kubernetes: node address (IP or DNS name) in NodePort URLs; empty for the host of the kubeconfig's API server." },
    idleReplicas: { type: "string", default: "full", description: "Kubernetes: replicas of the idle color after a switch, \"full\" or 0-20." },
    blueResources: { type: "object", default: {}, description: "Kubernetes: requests and limits of blue's containers ({requests: {cpu, memory}, limits: {...}})." },
    greenResources: { type: "object", default: {}, description: "Kubernetes: requests and limits of green's containers." },
    smokeTestPath: { type: "string", default: "", description: "Docker (nginx): path requested through previewUrl before a switch; empty for no smoke test." },
    smokeTestStatus: { type: "integer", default: 200, description: "Docker (nginx): the status the smoke test expects, 100-599." },
};

/** Raw config as Pulumi hands it over: key (without namespace) to its string value. */
export type RawConfig = Record<string, string | undefined>;

/**
 * A value as an error message shows it: JSON, with every character that prints as nothing or
 * as a line break escaped too (JSON leaves U+2028, U+2029, DEL, C1 controls and format
 * characters such as U+200B or U+202E as they are), so the message shows what was passed.
 */
export function quoteValue(value: unknown): string {
    const json = JSON.stringify(value) ?? String(value);
    return json.replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, (c) => {
        const code = c.codePointAt(0)!;
        return code > 0xffff ? `\\u{${code.toString(16)}}` : `\\u${code.toString(16).padStart(4, "0")}`;
    });
}

function fail(key: string, value: unknown, allowed: string): never {
    throw new ConfigError(`\`${key}\` is ${quoteValue(value)}; ${allowed}.`);
}

// Docker's reference grammar (distribution/reference), ASCII only: [host[:port]/]path[:tag][@digest].
const IMAGE_COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
export const IMAGE_REF = new RegExp(
    `^(?:(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\\[[0-9a-fA-F:]+\\])(?::[0-9]{1,5})?/)?` +
        `${IMAGE_COMPONENT}(?:/${IMAGE_COMPONENT})*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$`,
);
// Kubernetes quantities as people write them: 250m, 0.5, 128Mi, 1Gi, 1e3 is not accepted.
export const QUANTITY = /^[0-9]+(?:\.[0-9]+)?(?:m|k|M|G|T|Ki|Mi|Gi|Ti)?$/;
// RFC 1123 label: what Kubernetes accepts as a namespace name.
export const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
// A DNS name (RFC 1123 labels, dots between them).
export const DNS_NAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
export const HEALTH_PATH = /^\/[A-Za-z0-9._~\/-]{0,200}$/;
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

function str(raw: RawConfig, key: string): string {
    const value = raw[key];
    return value === undefined ? String(CONFIG_KEYS[key].default) : value;
}

function int(raw: RawConfig, key: string, min: number, max: number): number {
    const text = str(raw, key);
    if (!/^-?[0-9]+$/.test(text.trim())) fail(key, text, `expected a whole number from ${min} to ${max}`);
    const n = Number(text.trim());
    if (n < min || n > max) fail(key, n, `expected a whole number from ${min} to ${max}`);
    return n;
}

function oneOf<T extends string>(raw: RawConfig, key: string, allowed: readonly T[]): T {
    const value = str(raw, key);
    if (!(allowed as readonly string[]).includes(value)) {
        fail(key, value, `allowed values are ${allowed.map((a) => quoteValue(a)).join(" and ")}`);
    }
    return value as T;
}

function image(raw: RawConfig, key: string): string {
    const value = str(raw, key);
    if (!IMAGE_REF.test(value) || value.length > 255) {
        fail(key, value, "expected an image reference such as \"registry.example:5000/team/app:1.2.3\" (ASCII letters, digits and . _ - / : @ only)");
    }
    return value;
}

function healthPath(raw: RawConfig, key: string): string {
    const value = str(raw, key);
    if (!HEALTH_PATH.test(value)) {
        fail(key, value, "expected a path starting with \"/\" made of letters, digits and . _ ~ / - (no spaces, quotes, ; $ ? or #)");
    }
    return value;
}

/** A structured (object) key: `{}` when unset; `expected` says what a good value looks like. */
function objectKey(raw: RawConfig, key: string, expected: string): Record<string, unknown> {
    const text = raw[key];
    if (text === undefined || text === "") return {};
    let parsed: unknown;
    try {
        parsed = JSON.parse(text);
    } catch {
        fail(key, text, expected);
    }
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) fail(key, parsed, expected);
    return parsed as Record<string, unknown>;
}

function env(raw: RawConfig, key: string): Record<string, string> {
    const parsed = objectKey(raw, key, `expected a map of variable names to values, e.g. \`pulumi config set --path ${key}.LOG_LEVEL debug\``);
    const out: Record<string, string> = {};
    for (const [name, value] of Object.entries(parsed)) {
        if (!ENV_NAME.test(name)) fail(`${key}.${name}`, name, "variable names are letters, digits and _, not starting with a digit");
        if (typeof value !== "string" && typeof value !== "number" && typeof value !== "boolean") {
            fail(`${key}.${name}`, value, "expected a string, number or boolean");
        }
        const s = String(value);
        if (s.includes("\0")) fail(`${key}.${name}`, s, "values cannot contain NUL characters");
        out[name] = s;
    }
    return out;
}

function address(raw: RawConfig, key: string): string {
    const value = str(raw, key);
    if (!isIPv4(value) && !isIPv6(value)) fail(key, value, "expected an IPv4 or IPv6 address such as \"127.0.0.1\" or \"0.0.0.0\"");
    return value;
}

function resources(raw: RawConfig, key: string): ResourceSettings {
    const parsed = objectKey(raw, key, "expected a map with `requests` and/or `limits`, such as {\"requests\": {\"cpu\": \"250m\", \"memory\": \"128Mi\"}}");
    const out: ResourceSettings = {};
    for (const [section, values] of Object.entries(parsed)) {
        if (section !== "requests" && section !== "limits") fail(`${key}.${section}`, section, "allowed sections are \"requests\" and \"limits\"");
        if (values === null || typeof values !== "object" || Array.isArray(values)) fail(`${key}.${section}`, values, "expected a map with `cpu` and/or `memory`");
        const target: { cpu?: string; memory?: string } = {};
        for (const [name, q] of Object.entries(values as Record<string, unknown>)) {
            if (name !== "cpu" && name !== "memory") fail(`${key}.${section}.${name}`, name, "allowed resources are \"cpu\" and \"memory\"");
            if (typeof q !== "string" && typeof q !== "number") fail(`${key}.${section}.${name}`, q, "expected a quantity such as \"250m\" or \"128Mi\"");
            if (!QUANTITY.test(String(q))) fail(`${key}.${section}.${name}`, String(q), "expected a quantity such as \"250m\" or \"128Mi\"");
            target[name] = String(q);
        }
        out[section] = target;
    }
    return out;
}

function kubernetes(raw: RawConfig): KubernetesSettings {
    const namespace = str(raw, "namespace");
    if (!DNS_LABEL.test(namespace)) fail("namespace", namespace, "expected a Kubernetes namespace name (lower-case letters, digits and -, at most 63)");
    const idleText = str(raw, "idleReplicas");
    const idleReplicas = idleText === "full" ? "full" : /^[0-9]+$/.test(idleText) && Number(idleText) <= 20
        ? Number(idleText)
        : fail("idleReplicas", idleText, "expected \"full\" or a whole number from 0 to 20");
    const nodeAddress = str(raw, "nodeAddress");
    if (nodeAddress !== "" && !isIPv4(nodeAddress) && !isIPv6(nodeAddress) && !DNS_NAME.test(nodeAddress)) {
        fail("nodeAddress", nodeAddress, "expected an IP address or a DNS name such as \"192.0.2.10\" or \"node1.example.com\", or empty for the kubeconfig's API server host");
    }
    return {
        namespace,
        serviceType: oneOf(raw, "serviceType", SERVICE_TYPES),
        nodeAddress,
        idleReplicas,
        resources: { blue: resources(raw, "blueResources"), green: resources(raw, "greenResources") },
    };
}

/** The smoke test, when `smokeTestPath` is set; it needs the Docker platform and the nginx proxy. */
function smokeTest(raw: RawConfig, platform: Platform, kind: ProxyKind): SmokeTestSettings | undefined {
    const path = str(raw, "smokeTestPath");
    const status = int(raw, "smokeTestStatus", 100, 599);
    if (path === "") {
        if (status !== CONFIG_KEYS.smokeTestStatus.default) fail("smokeTestStatus", status, "it has an effect only with `smokeTestPath` set; set that too, or unset this key");
        return undefined;
    }
    if (!HEALTH_PATH.test(path)) {
        fail("smokeTestPath", path, "expected a path starting with \"/\" made of letters, digits and . _ ~ / - (no spaces, quotes, ; $ ? or #), or \"\" for no smoke test");
    }
    if (platform !== "docker") {
        fail("smokeTestPath", path, "the smoke test is implemented for platform \"docker\" only; unset it for platform \"kubernetes\" (its readiness gate guards the switch)");
    }
    if (kind !== "nginx") {
        fail("smokeTestPath", path, "the smoke test needs proxyKind \"nginx\" (it tells the colors apart by nginx's X-Bluegreen-Color header); unset it for proxyKind \"traefik\"");
    }
    return { path, status };
}

function color(raw: RawConfig, c: Color): ColorSettings {
    return {
        image: image(raw, `${c}Image`),
        replicas: int(raw, `${c}Replicas`, 1, 20),
        port: int(raw, `${c}Port`, 1, 65535),
        healthPath: healthPath(raw, `${c}HealthPath`),
        env: env(raw, `${c}Env`),
    };
}

/**
 * Validates the whole stack config. `raw` maps keys of the `bluegreen` namespace to their
 * string values as stored by `pulumi config set`; `extraKeys` lists keys this project does not
 * know (rejected, so a typo never silently falls back to a default).
 */
export function parseSettings(raw: RawConfig, extraKeys: string[] = []): Settings {
    for (const key of extraKeys) {
        fail(key, raw[key] ?? "", `this key is unknown; known keys are ${Object.keys(CONFIG_KEYS).join(", ")}`);
    }
    const activeColor = oneOf(raw, "activeColor", COLORS);
    const platform = oneOf(raw, "platform", PLATFORMS);
    const blue = color(raw, "blue");
    const green = color(raw, "green");
    const kind = oneOf(raw, "proxyKind", PROXY_KINDS);
    const proxy: ProxySettings = {
        kind,
        image: str(raw, "proxyImage") === "" ? DEFAULT_PROXY_IMAGES[kind] : image(raw, "proxyImage"),
        port: int(raw, "proxyPort", 1, 65535),
        previewPort: int(raw, "previewPort", 1, 65535),
        bindAddress: address(raw, "bindAddress"),
    };
    if (proxy.port === proxy.previewPort) {
        fail("previewPort", proxy.previewPort, `it must differ from \`proxyPort\` (${proxy.port}): the live and preview listeners cannot share a host port`);
    }
    const health: HealthSettings = {
        retries: int(raw, "healthRetries", 1, 1000),
        intervalSeconds: int(raw, "healthIntervalSeconds", 1, 60),
        deadlineSeconds: int(raw, "healthDeadlineSeconds", 1, 3600),
    };
    const drainSeconds = int(raw, "drainSeconds", 1, 3600);
    const settings: Settings = { activeColor, idleColor: otherColor(activeColor), platform, blue, green, proxy, health, drainSeconds, kubernetes: kubernetes(raw) };
    const smoke = smokeTest(raw, platform, kind);
    // Left out when unset, so that a stack without it has exactly the settings it had before.
    if (smoke) settings.smokeTest = smoke;
    return settings;
}

/** Parses every key of the namespace, known or not (unknown keys are rejected by name). */
export function parseConfig(raw: RawConfig): Settings {
    return parseSettings(raw, Object.keys(raw).filter((k) => !(k in CONFIG_KEYS)));
}

/** The address a person types to reach a Docker listener published on `bind`. */
export function hostFor(bind: string): string {
    if (bind === "0.0.0.0") return "127.0.0.1";
    if (bind === "::") return "[::1]";
    return bind.includes(":") ? `[${bind}]` : bind;
}

export function otherColor(c: Color): Color {
    return c === "blue" ? "green" : "blue";
}

/** The tag of an image reference ("latest" when it has none), used as the color's `version` label. */
export function imageVersion(ref: string): string {
    const withoutDigest = ref.split("@")[0];
    const lastSlash = withoutDigest.lastIndexOf("/");
    const colon = withoutDigest.indexOf(":", lastSlash + 1);
    return colon === -1 ? "latest" : withoutDigest.slice(colon + 1);
}
