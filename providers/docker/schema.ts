/**
 * The properties the stand-in docker provider implements, with the real provider's rules for
 * each: which changes replace the object (Terraform's ForceNew), which are updated in place,
 * which the provider computes when the program leaves them out, and the defaults its `check`
 * fills in. Source: kreuzwerker/terraform-provider-docker, `internal/provider/resource_docker_*.go`,
 * the provider that `@pulumi/docker` 5.x bridges. Anything not listed here is refused by `check`.
 */

export type Kind = "string" | "int" | "bool" | "list" | "set" | "object" | "map";

export interface PropSpec {
    kind: Kind;
    /** A change replaces the object. */
    forceNew?: boolean;
    /** Optional and computed: left out by the program, the provider's value stands (no diff). */
    computed?: boolean;
    /** Output only: never an input. */
    outputOnly?: boolean;
    /** Filled in by `check` when the program leaves it out. */
    default?: unknown;
    /** Element of a list or set: a scalar kind, or the fields of an object. */
    elem?: Kind | Record<string, PropSpec>;
    /** Fields of an object (a Terraform block with MaxItems 1). */
    fields?: Record<string, PropSpec>;
}

export type ResourceSchema = Record<string, PropSpec>;

const label: Record<string, PropSpec> = {
    label: { kind: "string", forceNew: true },
    value: { kind: "string", forceNew: true },
};

export const CONTAINER = "docker:index/container:Container";
export const NETWORK = "docker:index/network:Network";
export const VOLUME = "docker:index/volume:Volume";

export const CONTAINER_SCHEMA: ResourceSchema = {
    name: { kind: "string", forceNew: true },
    image: { kind: "string", forceNew: true },
    command: { kind: "list", elem: "string", forceNew: true, computed: true },
    entrypoints: { kind: "list", elem: "string", forceNew: true, computed: true, outputOnly: true },
    envs: { kind: "set", elem: "string", forceNew: true, computed: true },
    labels: { kind: "set", elem: label, forceNew: true, computed: true },
    networksAdvanced: {
        kind: "set", forceNew: true, elem: {
            name: { kind: "string", forceNew: true },
            aliases: { kind: "set", elem: "string", forceNew: true },
        },
    },
    ports: {
        kind: "list", forceNew: true, elem: {
            internal: { kind: "int", forceNew: true },
            external: { kind: "int", forceNew: true, computed: true },
            ip: { kind: "string", forceNew: true, default: "0.0.0.0" },
            protocol: { kind: "string", forceNew: true, default: "tcp" },
        },
    },
    volumes: {
        kind: "set", forceNew: true, elem: {
            volumeName: { kind: "string", forceNew: true },
            containerPath: { kind: "string", forceNew: true },
            readOnly: { kind: "bool", forceNew: true },
        },
    },
    restart: { kind: "string", default: "no" },
    destroyGraceSeconds: { kind: "int" },
    securityOpts: { kind: "set", elem: "string", forceNew: true, computed: true },
    capabilities: {
        kind: "object", forceNew: true, fields: {
            adds: { kind: "set", elem: "string", forceNew: true },
            drops: { kind: "set", elem: "string", forceNew: true },
        },
    },
    stopSignal: { kind: "string", forceNew: true, computed: true },
    mustRun: { kind: "bool", default: true },
    start: { kind: "bool", default: true },
    networkMode: { kind: "string", forceNew: true, default: "bridge" },
    removeVolumes: { kind: "bool", default: true },
    waitTimeout: { kind: "int", default: 60 },
    containerReadRefreshTimeoutMilliseconds: { kind: "int", default: 15000 },
    networkDatas: { kind: "list", computed: true, outputOnly: true },
};

export const NETWORK_SCHEMA: ResourceSchema = {
    name: { kind: "string", forceNew: true },
    driver: { kind: "string", forceNew: true, computed: true },
    labels: { kind: "set", elem: label, forceNew: true },
    ipamDriver: { kind: "string", forceNew: true, default: "default" },
};

export const VOLUME_SCHEMA: ResourceSchema = {
    name: { kind: "string", forceNew: true, computed: true },
    labels: { kind: "set", elem: label, forceNew: true },
    driver: { kind: "string", forceNew: true, computed: true },
};

export const SCHEMAS: Record<string, ResourceSchema> = {
    [CONTAINER]: CONTAINER_SCHEMA,
    [NETWORK]: NETWORK_SCHEMA,
    [VOLUME]: VOLUME_SCHEMA,
};
