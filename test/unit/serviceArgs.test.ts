/**
 * The components' args and their validation (components/serviceArgs.ts): pure, no mocks, no
 * Pulumi runtime. Every message names the service, the arg's path, what is allowed and the value.
 * Values a program passes as Outputs are stood in for by promises (also Inputs).
 */
import { describe, expect, it } from "vitest";
import {
    DEFAULTS, DockerServiceArgs, HostPortClaims, KubernetesServiceArgs, ServiceArgsError, validateDockerServiceArgs, validateKubernetesServiceArgs,
} from "../../components/serviceArgs";

const ok: DockerServiceArgs = {
    activeColor: "blue",
    colors: { blue: { image: "registry.example/team/api:1.4.2" }, green: { image: "registry.example/team/api:1.5.0" } },
};

/** `args` with `change` applied to a deep copy of it. */
function changed<T>(args: T, change: (a: any) => void): T {
    const copy = structuredClone(args);
    change(copy);
    return copy;
}

/** The message `validate` throws for `args`; fails the test when it accepts them or throws something else. */
function errorOf<T>(validate: (name: string, args: T) => unknown, args: T, name = "api"): string {
    try {
        validate(name, args);
    } catch (e) {
        expect(e).toBeInstanceOf(ServiceArgsError);
        return (e as Error).message;
    }
    throw new Error("expected the args to be rejected");
}

const IMAGE = 'an image reference such as "registry.example:5000/team/app:1.2.3" (ASCII letters, digits and . _ - / : @)';
const HEALTH_PATH = 'a path starting with "/" made of letters, digits and . _ ~ / - (no spaces, quotes, ; $ ? or #)';

/** Bad args both platforms reject alike. */
const COMMON: [string, (a: any) => void, string][] = [
    ["no activeColor", (a) => delete a.activeColor, 'api: activeColor must be "blue" or "green", got undefined'],
    ["activeColor red", (a) => (a.activeColor = "red"), 'api: activeColor must be "blue" or "green", got "red"'],
    ["no colors", (a) => delete a.colors, "api: colors must be an object with `blue` and `green`, got undefined"],
    ["a third color", (a) => (a.colors.red = { image: "x" }), 'api: colors.red must be one of "blue", "green", got "red"'],
    ["no green", (a) => delete a.colors.green, "api: colors.green must be an object with at least `image`, got undefined"],
    ["green as a string", (a) => (a.colors.green = "api:2"), 'api: colors.green must be an object with at least `image`, got "api:2"'],
    ["no image", (a) => delete a.colors.blue.image, "api: colors.blue.image must be an image reference, got undefined"],
    ["an image with spaces", (a) => (a.colors.blue.image = "team/api latest"), `api: colors.blue.image must be ${IMAGE}, got "team/api latest"`],
    ["an image in upper case", (a) => (a.colors.green.image = "Team/API:1"), `api: colors.green.image must be ${IMAGE}, got "Team/API:1"`],
    ["an image of 256 characters", (a) => (a.colors.green.image = `r/${"a".repeat(254)}`), `api: colors.green.image must be ${IMAGE}, got "r/${"a".repeat(254)}"`],
    ["0 replicas", (a) => (a.colors.green.replicas = 0), "api: colors.green.replicas must be 1–20, got 0"],
    ["21 replicas", (a) => (a.colors.blue.replicas = 21), "api: colors.blue.replicas must be 1–20, got 21"],
    ["1.5 replicas", (a) => (a.colors.blue.replicas = 1.5), "api: colors.blue.replicas must be 1–20, got 1.5"],
    ["replicas as a string", (a) => (a.colors.blue.replicas = "2"), 'api: colors.blue.replicas must be 1–20, got "2"'],
    ["port 0", (a) => (a.colors.blue.port = 0), "api: colors.blue.port must be 1–65535, got 0"],
    ["port 65536", (a) => (a.colors.green.port = 65536), "api: colors.green.port must be 1–65535, got 65536"],
    ["a relative health path", (a) => (a.colors.blue.healthPath = "health"), `api: colors.blue.healthPath must be ${HEALTH_PATH}, got "health"`],
    ["a health path with a query", (a) => (a.colors.green.healthPath = "/health?x=1"), `api: colors.green.healthPath must be ${HEALTH_PATH}, got "/health?x=1"`],
    ["an env name starting with a digit", (a) => (a.colors.blue.env = { "1X": "v" }),
        'api: colors.blue.env.1X must be a variable name of letters, digits and _, not starting with a digit, got "1X"'],
    ["an env value with NUL", (a) => (a.colors.green.env = { TOKEN: "a\u0000b" }), 'api: colors.green.env.TOKEN must be a value without NUL characters, got "a\\u0000b"'],
    ["health as a number", (a) => (a.health = 5), "api: health must be an object with `retries`, `intervalSeconds` and/or `deadlineSeconds`, got 5"],
    ["0 health retries", (a) => (a.health = { retries: 0 }), "api: health.retries must be 1–1000, got 0"],
    ["health interval 61 s", (a) => (a.health = { intervalSeconds: 61 }), "api: health.intervalSeconds must be 1–60, got 61"],
    ["health deadline 3601 s", (a) => (a.health = { deadlineSeconds: 3601 }), "api: health.deadlineSeconds must be 1–3600, got 3601"],
    ["drainSeconds 0", (a) => (a.drainSeconds = 0), "api: drainSeconds must be 1–3600, got 0"],
];

const DOCKER: [string, (a: any) => void, string][] = [
    ["proxy as a string", (a) => (a.proxy = "nginx"), 'api: proxy must be an object with `kind`, `image`, `port`, `previewPort` and/or `bindAddress`, got "nginx"'],
    ["proxy kind haproxy", (a) => (a.proxy = { kind: "haproxy" }), 'api: proxy.kind must be one of "nginx", "traefik", got "haproxy"'],
    ["a bad proxy image", (a) => (a.proxy = { image: "nginx latest" }), `api: proxy.image must be ${IMAGE}, got "nginx latest"`],
    ["proxy port 0", (a) => (a.proxy = { port: 0 }), "api: proxy.port must be 1–65535, got 0"],
    ["preview port 70000", (a) => (a.proxy = { previewPort: 70000 }), "api: proxy.previewPort must be 1–65535, got 70000"],
    ["preview port = port", (a) => (a.proxy = { port: 9000, previewPort: 9000 }),
        "api: proxy.previewPort must be a port other than proxy.port (9000): the live and preview listeners cannot share a host port, got 9000"],
    ["the default ports made equal", (a) => (a.proxy = { previewPort: 8080 }),
        "api: proxy.previewPort must be a port other than proxy.port (8080): the live and preview listeners cannot share a host port, got 8080"],
    ["bind address localhost", (a) => (a.proxy = { bindAddress: "localhost" }),
        'api: proxy.bindAddress must be an IPv4 or IPv6 address such as "127.0.0.1" or "0.0.0.0", got "localhost"'],
    ["smokeTest as a string", (a) => (a.smokeTest = "/ping"), 'api: smokeTest must be an object with `path` and optionally `status`, got "/ping"'],
    ["smokeTest without a path", (a) => (a.smokeTest = {}), 'api: smokeTest.path must be a path starting with "/", got undefined'],
    ["a relative smokeTest path", (a) => (a.smokeTest = { path: "ping" }), `api: smokeTest.path must be ${HEALTH_PATH}, got "ping"`],
    ["smokeTest status 600", (a) => (a.smokeTest = { path: "/", status: 600 }), "api: smokeTest.status must be 100–599, got 600"],
    ["smokeTest with Traefik", (a) => ((a.proxy = { kind: "traefik" }), (a.smokeTest = { path: "/" })),
        'api: smokeTest must be unset with proxy.kind "traefik" (the smoke test tells the colors apart by nginx\'s color header), got {"path":"/"}'],
    ["labels as a list", (a) => (a.labels = ["team=a"]), 'api: labels must be a map of label names to values, got ["team=a"]'],
    ["a label that is not a string", (a) => (a.labels = { team: 1 }), "api: labels.team must be a string, got 1"],
];

const QUANTITY = 'a quantity such as "250m" or "128Mi"';
const KUBERNETES: [string, (a: any) => void, string][] = [
    ["resources as a string", (a) => (a.colors.blue.resources = "small"), 'api: colors.blue.resources must be a map with `requests` and/or `limits`, got "small"'],
    ["a resources section limit", (a) => (a.colors.green.resources = { limit: {} }), 'api: colors.green.resources.limit must be "requests" or "limits", got "limit"'],
    ["requests as a string", (a) => (a.colors.green.resources = { requests: "1" }), 'api: colors.green.resources.requests must be a map with `cpu` and/or `memory`, got "1"'],
    ["a gpu limit", (a) => (a.colors.green.resources = { limits: { gpu: "1" } }), 'api: colors.green.resources.limits.gpu must be "cpu" or "memory", got "gpu"'],
    ["cpu lots", (a) => (a.colors.blue.resources = { requests: { cpu: "lots" } }), `api: colors.blue.resources.requests.cpu must be ${QUANTITY}, got "lots"`],
    ["memory 1e3", (a) => (a.colors.blue.resources = { limits: { memory: "1e3" } }), `api: colors.blue.resources.limits.memory must be ${QUANTITY}, got "1e3"`],
    ["namespace Shop_1", (a) => (a.namespace = "Shop_1"), 'api: namespace must be a Kubernetes namespace name (lower-case letters, digits and -, at most 63), got "Shop_1"'],
    ["service as a string", (a) => (a.service = "NodePort"), 'api: service must be an object with `type`, `previewType`, `port`, `previewPort` and/or `nodeAddress`, got "NodePort"'],
    ["preview type ExternalName", (a) => (a.service = { previewType: "ExternalName" }), 'api: service.previewType must be one of "ClusterIP", "NodePort", "LoadBalancer", got "ExternalName"'],
    ["a pod field that does not exist", (a) => (a.colors.green.pod = { hostNetwork: true }),
        'api: colors.green.pod.hostNetwork must be one of "securityContext", "containerSecurityContext", "serviceAccountName", "readinessProbe", "livenessProbe", "startupProbe", "envFrom", got "hostNetwork"'],
    ["a service account in upper case", (a) => (a.colors.blue.pod = { serviceAccountName: "Runner" }),
        'api: colors.blue.pod.serviceAccountName must be a service account name (lower-case letters, digits, - and ., at most 253), got "Runner"'],
    ["a probe path with a query", (a) => (a.colors.blue.pod = { startupProbe: { httpGet: { path: "/up?x=1", port: "http" } } }),
        `api: colors.blue.pod.startupProbe.httpGet.path must be ${HEALTH_PATH}, got "/up?x=1"`],
    ["a readiness probe of null", (a) => (a.colors.blue.pod = { readinessProbe: null }), "api: colors.blue.pod.readinessProbe must be a probe (httpGet, tcpSocket, exec or grpc), got null"],
    ["envFrom with neither reference", (a) => (a.colors.green.pod = { envFrom: [{ prefix: "X_" }] }),
        'api: colors.green.pod.envFrom[0] must be a map with one of `secretRef` or `configMapRef` ({ name }), got {"prefix":"X_"}'],
    ["envFrom naming a Secret badly", (a) => (a.colors.green.pod = { envFrom: [{ secretRef: { name: "DB creds" } }] }),
        'api: colors.green.pod.envFrom[0].secretRef.name must be a Secret or ConfigMap name (lower-case letters, digits, - and ., at most 253), got "DB creds"'],
    ["autoscaled as a string", (a) => (a.autoscaled = "yes"), 'api: autoscaled must be true or false, got "yes"'],
    ["autoscaled with idleReplicas 0", (a) => ((a.autoscaled = true), (a.idleReplicas = 0)),
        'api: idleReplicas must be "full" with autoscaled (the HorizontalPodAutoscaler sets the replicas), got 0'],
    ["a budget with both", (a) => (a.podDisruptionBudget = { minAvailable: 1, maxUnavailable: 1 }),
        'api: podDisruptionBudget must be a map with one of `minAvailable` or `maxUnavailable`, got {"minAvailable":1,"maxUnavailable":1}'],
    ["a budget of 120%", (a) => (a.podDisruptionBudget = { maxUnavailable: "120%" }),
        'api: podDisruptionBudget.maxUnavailable must be a count 0–20 or a percentage such as "50%", got "120%"'],
    ["service type ExternalName", (a) => (a.service = { type: "ExternalName" }), 'api: service.type must be one of "ClusterIP", "NodePort", "LoadBalancer", got "ExternalName"'],
    ["service port 0", (a) => (a.service = { port: 0 }), "api: service.port must be 1–65535, got 0"],
    ["preview port 65536", (a) => (a.service = { previewPort: 65536 }), "api: service.previewPort must be 1–65535, got 65536"],
    ["a node address with a scheme", (a) => (a.service = { nodeAddress: "http://node1" }),
        'api: service.nodeAddress must be an IP address or a DNS name such as "192.0.2.10" or "node1.example.com", got "http://node1"'],
    ["a node address with a space", (a) => (a.service = { nodeAddress: "node 1" }),
        'api: service.nodeAddress must be an IP address or a DNS name such as "192.0.2.10" or "node1.example.com", got "node 1"'],
    ["idleReplicas 21", (a) => (a.idleReplicas = 21), 'api: idleReplicas must be "full" or 0–20, got 21'],
    ["idleReplicas half", (a) => (a.idleReplicas = "half"), 'api: idleReplicas must be "full" or 0–20, got "half"'],
    ["idleReplicas 0 with an Output activeColor", (a) => ((a.activeColor = Promise.resolve("green")), (a.idleReplicas = 0)),
        'api: idleReplicas must be "full" while activeColor is an Output (scaling the idle color down after the switch needs the color when resources are declared), got 0'],
    ["app starting with a dash", (a) => (a.app = "-api"), 'api: app must be a label value (letters, digits, - _ ., at most 63), got "-api"'],
    ["app of 64 characters", (a) => (a.app = "a".repeat(64)), `api: app must be a label value (letters, digits, - _ ., at most 63), got "${"a".repeat(64)}"`],
];

describe("validateDockerServiceArgs", () => {
    it.each([...COMMON, ...DOCKER])("rejects %s", (_, change, message) => {
        expect(errorOf(validateDockerServiceArgs, changed(ok, change))).toBe(message);
    });

    it("rejects args that are not an object, naming the service", () => {
        expect(errorOf(validateDockerServiceArgs, null as unknown as DockerServiceArgs, "web")).toBe("web: args must be an object with `activeColor` and `colors`, got null");
    });

    it("fills in every default", () => {
        expect(validateDockerServiceArgs("api", ok)).toEqual({
            knownActiveColor: "blue",
            activeColor: "blue",
            colors: {
                blue: { image: "registry.example/team/api:1.4.2", replicas: 1, port: 8080, healthPath: "/health", env: {} },
                green: { image: "registry.example/team/api:1.5.0", replicas: 1, port: 8080, healthPath: "/health", env: {} },
            },
            health: { retries: 10, intervalSeconds: 1, deadlineSeconds: 60 },
            drainSeconds: 30,
            proxy: { kind: "nginx", image: "bluegreen/nginx:local", port: 8080, previewPort: 8081, bindAddress: "127.0.0.1" },
            smokeTest: undefined,
            labels: { "bluegreen.service": "api" },
        });
    });

    it("the defaults are DEFAULTS", () => {
        const s = validateDockerServiceArgs("api", ok);
        expect(s.colors.blue).toMatchObject({ replicas: DEFAULTS.replicas, port: DEFAULTS.port, healthPath: DEFAULTS.healthPath });
        expect(s.proxy).toMatchObject({ kind: DEFAULTS.proxyKind, port: DEFAULTS.proxyPort, previewPort: DEFAULTS.previewPort, bindAddress: DEFAULTS.bindAddress });
        expect(s.health).toEqual(DEFAULTS.health);
        expect(s.drainSeconds).toBe(DEFAULTS.drainSeconds);
    });

    it("keeps the values given, the kind's proxy image and the smoke test's default status", () => {
        const s = validateDockerServiceArgs("api", {
            ...ok,
            activeColor: "green",
            colors: { blue: { image: "a/b:1", replicas: 3, port: 9000, healthPath: "/up", env: { LOG: "debug" } }, green: { image: "a/b:2" } },
            proxy: { kind: "traefik", port: 80, previewPort: 81, bindAddress: "::" },
            health: { retries: 3 },
            drainSeconds: 5,
            labels: { team: "payments" },
        });
        expect(s.colors.blue).toEqual({ image: "a/b:1", replicas: 3, port: 9000, healthPath: "/up", env: { LOG: "debug" } });
        expect(s.proxy).toEqual({ kind: "traefik", image: "bluegreen/traefik:local", port: 80, previewPort: 81, bindAddress: "::" });
        expect(s.health).toEqual({ retries: 3, intervalSeconds: 1, deadlineSeconds: 60 });
        expect(s).toMatchObject({ knownActiveColor: "green", drainSeconds: 5, labels: { team: "payments" } });
        expect(validateDockerServiceArgs("api", { ...ok, smokeTest: { path: "/ping" } }).smokeTest).toEqual({ path: "/ping", status: 200 });
    });

    it("passes values given as Outputs through unchecked; an Output activeColor is not known", () => {
        const image = Promise.resolve("not checked here");
        const env = Promise.resolve({ "1X": "not checked here" });
        const active = Promise.resolve("green" as const);
        const s = validateDockerServiceArgs("api", { ...ok, activeColor: active, colors: { ...ok.colors, blue: { image, env } } });
        expect(s.colors.blue.image).toBe(image);
        expect(s.colors.blue.env).toBe(env);
        expect(s.activeColor).toBe(active);
        expect(s.knownActiveColor).toBeUndefined();
    });
});

describe("validateKubernetesServiceArgs", () => {
    const kube: KubernetesServiceArgs = ok;

    it.each([...COMMON, ...KUBERNETES])("rejects %s", (_, change, message) => {
        expect(errorOf(validateKubernetesServiceArgs, changed(kube, change))).toBe(message);
    });

    it("fills in every default", () => {
        expect(validateKubernetesServiceArgs("api", kube)).toEqual({
            knownActiveColor: "blue",
            activeColor: "blue",
            colors: {
                blue: { image: "registry.example/team/api:1.4.2", replicas: 1, port: 8080, healthPath: "/health", env: {} },
                green: { image: "registry.example/team/api:1.5.0", replicas: 1, port: 8080, healthPath: "/health", env: {} },
            },
            health: { retries: 10, intervalSeconds: 1, deadlineSeconds: 60 },
            drainSeconds: 30,
            resources: { blue: {}, green: {} },
            namespace: DEFAULTS.namespace,
            app: "api",
            service: { type: "ClusterIP", previewType: "ClusterIP", port: 8080, previewPort: 8081, nodeAddress: "" },
            idleReplicas: "full",
            pods: { blue: {}, green: {} },
            autoscaled: false,
            podDisruptionBudget: undefined,
        });
        expect(DEFAULTS).toMatchObject({ namespace: "default", serviceType: "ClusterIP", idleReplicas: "full" });
    });

    it("keeps the values given; quantities as numbers become strings", () => {
        const s = validateKubernetesServiceArgs("api", {
            ...kube,
            colors: { ...kube.colors, blue: { image: "a/b:1", resources: { requests: { cpu: 0.5 as unknown as string, memory: "128Mi" } } } },
            namespace: "shop",
            app: "shop.api",
            service: { type: "NodePort", previewType: "LoadBalancer", port: 80, previewPort: 81, nodeAddress: "node1.example.com" },
            idleReplicas: 0,
            podDisruptionBudget: { minAvailable: "50%" },
        });
        expect(s.podDisruptionBudget).toEqual({ minAvailable: "50%" });
        expect(s.resources).toEqual({ blue: { requests: { cpu: "0.5", memory: "128Mi" } }, green: {} });
        expect(s).toMatchObject({ namespace: "shop", app: "shop.api", idleReplicas: 0 });
        expect(s.service).toEqual({ type: "NodePort", previewType: "LoadBalancer", port: 80, previewPort: 81, nodeAddress: "node1.example.com" });
    });

    it("an Output activeColor is fine with idleReplicas full; an Output namespace passes through", () => {
        const namespace = Promise.resolve("shop");
        const s = validateKubernetesServiceArgs("api", { ...kube, activeColor: Promise.resolve("blue" as const), idleReplicas: "full", namespace });
        expect(s.knownActiveColor).toBeUndefined();
        expect(s.namespace).toBe(namespace);
    });
});

describe("HostPortClaims", () => {
    const live = (port: number) => [{ path: "proxy.port", port }];
    const both = (port: number, previewPort: number) => [{ path: "proxy.port", port }, { path: "proxy.previewPort", port: previewPort }];

    it("a port another service publishes on the same engine and address: refused, naming both services", () => {
        const claims = new HostPortClaims();
        claims.claim("api", "local", "127.0.0.1", both(8080, 8081));
        let thrown: unknown;
        try {
            claims.claim("web", "local", "127.0.0.1", both(8080, 8090));
        } catch (e) {
            thrown = e;
        }
        expect(thrown).toBeInstanceOf(ServiceArgsError);
        expect((thrown as Error).message).toBe("web: proxy.port must be a host port no other service publishes, got 8080: service api publishes it on 127.0.0.1");
        expect(() => claims.claim("web", "local", "127.0.0.1", both(9000, 8081)))
            .toThrow("web: proxy.previewPort must be a host port no other service publishes, got 8081: service api publishes it on 127.0.0.1");
    });

    it("a refused claim claims none of its ports", () => {
        const claims = new HostPortClaims();
        claims.claim("api", "local", "127.0.0.1", live(8080));
        expect(() => claims.claim("web", "local", "127.0.0.1", both(9000, 8080))).toThrow(ServiceArgsError);
        expect(() => claims.claim("db", "local", "127.0.0.1", live(9000))).not.toThrow();
    });

    it("another engine or another address: no conflict", () => {
        const claims = new HostPortClaims();
        claims.claim("api", "local", "127.0.0.1", live(8080));
        expect(() => claims.claim("web", "tcp://10.0.0.5:2376", "127.0.0.1", live(8080))).not.toThrow();
        expect(() => claims.claim("admin", "local", "192.0.2.1", live(8080))).not.toThrow();
        expect(() => claims.claim("docs", "local", "::1", live(8080))).not.toThrow();
    });

    it.each([
        ["0.0.0.0", "127.0.0.1"], ["127.0.0.1", "0.0.0.0"], ["::", "192.0.2.1"], ["192.0.2.1", "::"],
    ])("every address (%s) conflicts with a specific one (%s), either way round", (first, second) => {
        const claims = new HostPortClaims();
        claims.claim("api", "local", first, live(8080));
        expect(() => claims.claim("web", "local", second, live(8080)))
            .toThrow(`web: proxy.port must be a host port no other service publishes, got 8080: service api publishes it on ${first}`);
        expect(() => claims.claim("web", "other-engine", second, live(8080))).not.toThrow();
    });

    it("a service claiming its own ports again is no conflict", () => {
        const claims = new HostPortClaims();
        claims.claim("api", "local", "127.0.0.1", both(8080, 8081));
        expect(() => claims.claim("api", "local", "127.0.0.1", both(8080, 8081))).not.toThrow();
    });
});
