/**
 * What the stand-in kubernetes provider implements: the three resource types the program declares,
 * each with exactly the fields the program sets (components/kubernetes/colorEnvironment.ts,
 * components/kubernetes/service.ts), plus `metadata.name` (the provider's naming rules depend on it), and the
 * real provider's table of fields whose change replaces the object
 * (pulumi-kubernetes `provider/pkg/provider/diff.go`). Anything else is refused by `check`.
 */

export type FieldKind = "string" | "int" | "bool" | "intOrString" | "quantity" | "stringMap" | "object" | "list";

export interface FieldSpec {
    kind: FieldKind;
    /** Fields of an object. */
    fields?: Record<string, FieldSpec>;
    /** Element of a list. */
    elem?: FieldSpec;
    /** The only value allowed (apiVersion, kind). */
    only?: string;
}

export const SECRET = "kubernetes:core/v1:Secret";
export const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
export const SERVICE = "kubernetes:core/v1:Service";

export interface Gvk { apiVersion: string; kind: string }

export const GVK: Record<string, Gvk> = {
    [SECRET]: { apiVersion: "v1", kind: "Secret" },
    [DEPLOYMENT]: { apiVersion: "apps/v1", kind: "Deployment" },
    [SERVICE]: { apiVersion: "v1", kind: "Service" },
};

const str: FieldSpec = { kind: "string" };
const int: FieldSpec = { kind: "int" };
const bool: FieldSpec = { kind: "bool" };
const stringMap: FieldSpec = { kind: "stringMap" };
const obj = (fields: Record<string, FieldSpec>): FieldSpec => ({ kind: "object", fields });
const list = (elem: FieldSpec): FieldSpec => ({ kind: "list", elem });

const metadata = obj({ name: str, namespace: str, labels: stringMap });
const quantities = obj({ cpu: { kind: "quantity" }, memory: { kind: "quantity" } });
const probe = obj({
    httpGet: obj({ path: str, port: { kind: "intOrString" } }),
    periodSeconds: int,
    timeoutSeconds: int,
    failureThreshold: int,
    initialDelaySeconds: int,
});

const header = (t: string): Record<string, FieldSpec> => ({
    apiVersion: { kind: "string", only: GVK[t].apiVersion },
    kind: { kind: "string", only: GVK[t].kind },
    metadata,
});

export const SCHEMAS: Record<string, Record<string, FieldSpec>> = {
    [SECRET]: {
        ...header(SECRET),
        stringData: stringMap,
    },
    [DEPLOYMENT]: {
        ...header(DEPLOYMENT),
        spec: obj({
            replicas: int,
            selector: obj({ matchLabels: stringMap }),
            template: obj({
                metadata: obj({ labels: stringMap }),
                spec: obj({
                    terminationGracePeriodSeconds: int,
                    securityContext: obj({ runAsNonRoot: bool, seccompProfile: obj({ type: str }) }),
                    containers: list(obj({
                        name: str,
                        image: str,
                        ports: list(obj({ name: str, containerPort: int })),
                        env: list(obj({ name: str, value: str })),
                        envFrom: list(obj({ secretRef: obj({ name: str }) })),
                        readinessProbe: probe,
                        livenessProbe: probe,
                        lifecycle: obj({ preStop: obj({ sleep: obj({ seconds: int }) }) }),
                        resources: obj({ requests: quantities, limits: quantities }),
                        securityContext: obj({ allowPrivilegeEscalation: bool, capabilities: obj({ drop: list(str) }) }),
                    })),
                }),
            }),
        }),
    },
    [SERVICE]: {
        ...header(SERVICE),
        spec: obj({
            type: str,
            selector: stringMap,
            ports: list(obj({ name: str, port: int, targetPort: { kind: "intOrString" } })),
        }),
    },
};

export const TYPES = Object.keys(SCHEMAS);

/** Fields whose change replaces the object: the real provider's `forceNew` table for these kinds. */
const labelSelector = (p: string) => [p, `${p}.matchExpressions`, `${p}.matchExpressions.key`, `${p}.matchExpressions.operator`, `${p}.matchExpressions.values`, `${p}.matchLabels`];
export const FORCE_NEW: Record<string, string[]> = {
    [SECRET]: [".metadata.name", ".metadata.namespace", ".type", ".stringData", ".data"],
    [DEPLOYMENT]: [".metadata.name", ".metadata.namespace", ...labelSelector(".spec.selector")],
    [SERVICE]: [".metadata.name", ".metadata.namespace", ".spec.clusterIP"],
};

/** Provider config keys it implements (`version` is the engine's own). */
export const CONFIG_KEYS = ["kubeconfig", "context"];

export const AUTONAMED = "pulumi.com/autonamed";
