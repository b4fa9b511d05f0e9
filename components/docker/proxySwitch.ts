import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { CONFIG_DIR, CONFIG_FILE, NginxConfigInput, STATUS_PATH, STATUS_PORT, generationOf, renderNginxConfig } from "../nginxConfig";
import type { DockerServiceSpec } from "../serviceArgs";
import type { Color, HealthSettings, ProxyKind } from "../settings";
import { TRAEFIK_API_PORT, TRAEFIK_CONFIG_DIR, TRAEFIK_CONFIG_FILE, TRAEFIK_STATUS_PATH, renderTraefikConfig } from "../traefikConfig";
import { ofActiveColor } from "../inputs";
import { SmokeTestArgs, declareSmokeTest } from "./smokeTest";
import { TrafficSwitch } from "./trafficSwitch";

/** What a proxy needs to know about one color. */
export interface ColorTarget {
    image: pulumi.Input<string>;
    /** `alias:port` that routes to the color's running replicas. */
    target: pulumi.Input<string>;
    healthUrls: pulumi.Input<string[]>;
}

/** The arguments both Docker proxies take. */
export interface ProxyArgsBase {
    health: HealthSettings;
    /** How long requests in flight on the old color may go on after a switch. */
    drainSeconds: number;
    activeColor: pulumi.Input<Color>;
    colors: Record<Color, ColorTarget>;
    networkName: pulumi.Input<string>;
    /** The engine the switch reaches: the docker provider's `host` ("" for the docker CLI's default). */
    dockerHost?: pulumi.Input<string>;
    /**
     * The provider that runs the switch (the project's own `bluegreen` plugin). Declared by the
     * program before it loads the platform's modules, so the engine starts that plugin while the
     * rest of the program loads instead of after the proxy container is known.
     */
    switchProvider?: pulumi.ProviderResource;
    labels?: Record<string, string>;
    /**
     * The pre-switch smoke test, when configured: it runs after the target color's replicas
     * (`after`) and the proxy exist, and the switch waits for it.
     */
    smokeTest?: SmokeTestArgs & { after: pulumi.Resource[] };
}

/** The proxy's validated args (image may be an Output). */
export type ProxySpec = DockerServiceSpec["proxy"];

/** How one kind of proxy stores and reports its configuration. */
export interface SwitchBackend {
    kind: ProxyKind;
    render(input: NginxConfigInput): string;
    configFile: string;
    configDir: string;
    /**
     * Where the switch reads what the proxy serves, from inside the proxy container (`docker
     * exec`): a listener bound to the container's loopback, never published, so no client of
     * `url` or `previewUrl` reaches it.
     */
    statusUrl: string;
}

/** Where each kind of proxy keeps its configuration and says what it serves. */
export const SWITCH_BACKEND: Record<ProxyKind, SwitchBackend> = {
    nginx: {
        kind: "nginx",
        render: renderNginxConfig,
        configFile: CONFIG_FILE,
        configDir: CONFIG_DIR,
        statusUrl: `http://127.0.0.1:${STATUS_PORT}${STATUS_PATH}`,
    },
    traefik: {
        kind: "traefik",
        render: renderTraefikConfig,
        configFile: TRAEFIK_CONFIG_FILE,
        configDir: TRAEFIK_CONFIG_DIR,
        statusUrl: `http://127.0.0.1:${TRAEFIK_API_PORT}${TRAEFIK_STATUS_PATH}`,
    },
};

/**
 * Declares the traffic switch of a proxy container, routing per `args.activeColor`, and the
 * smoke test it waits for when one is configured (a failed smoke test leaves traffic where it
 * was: the switch is not updated).
 */
export function declareSwitch(name: string, parent: pulumi.Resource, container: docker.Container, args: ProxyArgsBase, backend: SwitchBackend): TrafficSwitch {
    const { smokeTest } = args;
    const smoke = smokeTest && declareSmokeTest(name.replace(/-switch$/, "-smoke"), smokeTest, {
        parent,
        dependsOn: [container, ...smokeTest.after],
    });
    const routing = pulumi.all([args.activeColor, args.colors.blue.target, args.colors.green.target])
        .apply(([activeColor, blue, green]): NginxConfigInput => ({ activeColor, targets: { blue, green }, drainSeconds: args.drainSeconds }));
    // The gate checks the color about to be live.
    const gateUrls = ofActiveColor(args.activeColor, args.colors.blue.healthUrls, args.colors.green.healthUrls);
    return new TrafficSwitch(name, {
        kind: backend.kind,
        container: container.name,
        dockerHost: args.dockerHost,
        activeColor: args.activeColor,
        images: { blue: args.colors.blue.image, green: args.colors.green.image },
        config: routing.apply((r) => backend.render(r)),
        generation: routing.apply(generationOf),
        configFile: backend.configFile,
        configDir: backend.configDir,
        statusUrl: backend.statusUrl,
        gateUrls,
        health: args.health,
        drainSeconds: args.drainSeconds,
    }, { parent, provider: args.switchProvider, dependsOn: smoke ? [smoke] : undefined });
}

/** What differs between the two kinds of proxy container. */
export interface ProxyContainerSpec {
    backend: SwitchBackend;
    command: string[];
    /** Container ports of the live and the preview listener. */
    livePort: number;
    previewPort: number;
    /** Capabilities added back after dropping all. */
    capabilities: string[];
    /** The signal that makes the proxy finish in-flight requests and exit (Docker's default, SIGTERM, if unset). */
    stopSignal?: string;
}

/**
 * Declares a proxy's config volume and container, published on the configured ports and bind
 * address, with the same hardening and replacement rules for every kind of proxy.
 */
export function declareProxyContainer(name: string, parent: pulumi.Resource, args: ProxyArgsBase & { settings: ProxySpec }, spec: ProxyContainerSpec): docker.Container {
    const settings = args.settings;
    const labels = Object.entries({ ...args.labels, "bluegreen.component": name }).map(([label, value]) => ({ label, value }));
    const volume = new docker.Volume(`${name}-config`, { labels }, { parent });
    return new docker.Container(name, {
        image: settings.image,
        command: spec.command,
        labels,
        networksAdvanced: [{ name: args.networkName }],
        ports: [
            { internal: spec.livePort, external: settings.port, ip: settings.bindAddress },
            { internal: spec.previewPort, external: settings.previewPort, ip: settings.bindAddress },
        ],
        volumes: [{ volumeName: volume.name, containerPath: spec.backend.configDir }],
        restart: "unless-stopped",
        // Removal stops it first (its stop signal: in-flight requests finish), then deletes it.
        destroyGraceSeconds: 10,
        securityOpts: ["no-new-privileges"],
        capabilities: { drops: ["ALL"], adds: spec.capabilities },
        stopSignal: spec.stopSignal,
        mustRun: true,
    }, {
        parent,
        // Its host ports cannot be bound twice, so a replacement (new image, ports or bind
        // address) must remove the old container first. The config volume outlives it: the new
        // container starts from the live config in it (nginx at once; Traefik about 0.1 s after
        // start, answering 404 until then) before the switch re-applies to it.
        deleteBeforeReplace: true,
    });
}
