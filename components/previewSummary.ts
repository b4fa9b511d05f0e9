/**
 * Turns `pulumi preview --json` output into the one-paragraph summary a pull request needs:
 * "Traffic: blue → green (demo:1.0.0 → demo:2.0.0); environments unchanged", or the list of
 * everything else that changes, for a Docker switch (the `TrafficSwitch`) and a Kubernetes one
 * (the readiness gate and the Services' selectors, see kubeSwitches). Pure.
 */

interface StepState {
    urn?: string;
    type?: string;
    parent?: string;
    inputs?: Record<string, unknown>;
    outputs?: Record<string, unknown>;
}

export interface PreviewStep {
    op: string;
    urn: string;
    oldState?: StepState;
    newState?: StepState;
    diffReasons?: string[];
    detailedDiff?: Record<string, unknown>;
}

export interface PreviewJson {
    steps?: PreviewStep[];
    changeSummary?: Record<string, number>;
    diagnostics?: { severity?: string; message?: string; urn?: string }[];
}

export interface TrafficChange {
    /** The service whose traffic moves, when the stack has more than one. */
    service?: string;
    from?: string;
    to?: string;
    fromImage?: string;
    toImage?: string;
}

/** The pre-switch smoke test, when this update runs it. */
export interface SmokeRun {
    color: string;
    path: string;
    status: string;
}

export interface PreviewSummary {
    traffic?: TrafficChange;
    smokeTest?: SmokeRun;
    /** Steps other than the switch that change something, as "op type name (fields)". */
    otherChanges: string[];
    errors: string[];
    text: string;
}

const NO_CHANGE = new Set(["same", "read", "refresh"]);

function nameOf(urn: string): string {
    return urn.split("::").pop() ?? urn;
}

function typeOf(step: PreviewStep): string {
    return step.newState?.type ?? step.oldState?.type ?? (step.urn.split("::")[2] ?? "").split("$").pop() ?? "";
}

/** The traffic switch: the resource whose inputs carry `activeColor` and each color's image. */
function isSwitch(step: PreviewStep): boolean {
    const has = (s?: StepState) => s?.inputs !== undefined && "activeColor" in s.inputs && "images" in s.inputs;
    return has(step.newState) || has(step.oldState);
}

function colorOf(s?: StepState): string | undefined {
    const v = s?.inputs?.activeColor ?? s?.outputs?.activeColor;
    return typeof v === "string" ? v : undefined;
}

function imageOf(s: StepState | undefined, color: string | undefined): string | undefined {
    const images = (s?.inputs?.images ?? s?.outputs?.images) as Record<string, unknown> | undefined;
    const v = color ? images?.[color] : undefined;
    return typeof v === "string" ? v : undefined;
}

/**
 * A Kubernetes switch, keyed on what stays stable while the component grows: the component's type
 * (`bluegreen:kubernetes:BlueGreenService`), its readiness gate's `activeColor` (the color the live
 * Service is gated on: the project's own resource, whose inputs are this project's API), and the
 * live Service's selector. The live Service is the Service (or ServicePatch) child of the
 * component whose selector moves to the gate's new color; the images are those of the Deployments
 * under the component that the selector picked before and picks after (a Service selects a
 * Deployment's pods when its selector is a subset of the pod template's labels, whatever the label
 * keys are). The preview Service's selector moves the other way; both selector updates and the
 * gate are the switch, not other changes.
 */
const KUBE_SERVICE = /^bluegreen:kubernetes:BlueGreenService$/;
const KUBE_GATE = "bluegreen:kubernetes:DeploymentReadyGate";
const KUBE_SERVICE_OBJECT = /^kubernetes:core\/v1:Service(Patch)?$/;
/**
 * The pod template annotation of the patch that restarts the old color once the live Service has
 * left it (components/kubernetes/service.ts): a switch creates the new old color's patch and
 * forgets the previous one's. Both are the switch, not other changes.
 */
export const RECYCLED_AT = "bluegreen.dev/recycledAt";
const KUBE_RECYCLE = "kubernetes:apps/v1:DeploymentPatch";
const isRecycle = (s: PreviewStep) => typeOf(s) === KUBE_RECYCLE &&
    RECYCLED_AT in (((s.newState ?? s.oldState)?.inputs?.spec as { template?: { metadata?: { annotations?: Labels } } } | undefined)?.template?.metadata?.annotations ?? {});

type Labels = Record<string, unknown>;
const selectorOf = (s?: StepState) => ((s?.inputs?.spec as { selector?: Labels } | undefined)?.selector ?? undefined);
const podLabelsOf = (s?: StepState) =>
    ((s?.inputs?.spec as { template?: { metadata?: { labels?: Labels } } } | undefined)?.template?.metadata?.labels ?? undefined);
const selects = (selector: Labels | undefined, labels: Labels | undefined) =>
    !!selector && !!labels && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);
const imageOfDeployment = (s?: StepState) => {
    const image = (s?.inputs?.spec as { template?: { spec?: { containers?: { image?: unknown }[] } } } | undefined)?.template?.spec?.containers?.[0]?.image;
    return typeof image === "string" ? image : undefined;
};
const sameLabels = (a?: Labels, b?: Labels) => JSON.stringify(Object.entries(a ?? {}).sort()) === JSON.stringify(Object.entries(b ?? {}).sort());
const parentOf = (s: PreviewStep) => s.newState?.parent ?? s.oldState?.parent;

interface KubeSwitch {
    /** The steps that make it: the gate, the Services whose selector alone moves, the old color's restart. */
    steps: PreviewStep[];
    move: TrafficChange;
    service: string;
}

/** The Kubernetes switches of a preview: one per component whose gate moves (see above). */
function kubeSwitches(steps: PreviewStep[]): KubeSwitch[] {
    const byUrn = new Map(steps.map((s) => [s.urn, s]));
    /** The component a step sits under (its parent chain), or undefined. */
    const componentOf = (s: PreviewStep): string | undefined => {
        for (let p = parentOf(s), hops = 0; p && hops < 10; p = byUrn.get(p) ? parentOf(byUrn.get(p)!) : undefined, hops++) {
            if (KUBE_SERVICE.test((p.split("::")[2] ?? "").split("$").pop() ?? "")) return p;
        }
        return undefined;
    };
    const out: KubeSwitch[] = [];
    for (const gate of steps.filter((s) => typeOf(s) === KUBE_GATE && !NO_CHANGE.has(s.op) && s.op !== "delete")) {
        const component = componentOf(gate);
        if (!component) continue;
        const from = colorOf(gate.oldState);
        const to = colorOf(gate.newState) ?? from;
        const children = steps.filter((s) => componentOf(s) === component);
        const services = children.filter((s) => KUBE_SERVICE_OBJECT.test(typeOf(s)));
        const deployments = children.filter((s) => typeOf(s) === "kubernetes:apps/v1:Deployment");
        const selectorMoved = (s: PreviewStep) => !NO_CHANGE.has(s.op) && s.oldState !== undefined && !sameLabels(selectorOf(s.oldState), selectorOf(s.newState));
        // The live Service: its new selector holds the gate's new color.
        const live = services.find((s) => Object.values(selectorOf(s.newState) ?? {}).includes(to));
        const onlySelector = (s: PreviewStep) => selectorMoved(s) && Object.keys(s.detailedDiff ?? {}).every((k) => k.startsWith("spec.selector"));
        const image = (selector: Labels | undefined, state: "oldState" | "newState") =>
            imageOfDeployment(deployments.find((d) => selects(selector, podLabelsOf(d[state] ?? d.oldState)))?.[state] ?? undefined);
        const move: TrafficChange = {
            from, to,
            fromImage: live ? image(selectorOf(live.oldState ?? live.newState), "oldState") : undefined,
            toImage: live ? image(selectorOf(live.newState), "newState") : undefined,
        };
        const recycles = children.filter((s) => isRecycle(s) && (s.op === "create" || s.op === "delete"));
        out.push({ steps: [gate, ...services.filter(onlySelector), ...recycles], move, service: nameOf(component) });
    }
    return out;
}

/** The blue/green services a step belongs to: the names of the `BlueGreenService` components in its URN's parent chain. */
const SERVICE_TYPES = /^bluegreen:(docker|kubernetes):BlueGreenService$/;

/** What a service's switch (Docker) or readiness gate (Kubernetes) adds to the service's name. */
const SWITCH_SUFFIX = /-proxy-switch$|-gate$/;

/** The service of a switch step: its name without the switch's suffix. */
function serviceOf(step: PreviewStep): string {
    return nameOf(step.urn).replace(SWITCH_SUFFIX, "");
}

/**
 * How many services the preview mentions: the `BlueGreenService` components themselves, and the
 * services of the switch steps (changed or not). The other children of a service (containers,
 * networks, Deployments) name no service: their names are their own. `preview --json` lists
 * unchanged resources only with `--show-sames`, as the pull-request workflow runs it; without, a
 * stack's other services are invisible here.
 */
function servicesIn(steps: PreviewStep[]): number {
    const names = new Set<string>();
    for (const s of steps) {
        const chain = (s.urn.split("::")[2] ?? "").split("$");
        if (SERVICE_TYPES.test(chain[chain.length - 1])) names.add(nameOf(s.urn));
        else if (chain.some((t) => SERVICE_TYPES.test(t)) && SWITCH_SUFFIX.test(nameOf(s.urn))) names.add(serviceOf(s));
    }
    return names.size;
}

/** The smoke test (a `command:local:Command` with the program's BLUEGREEN_SMOKE_* environment) that runs in this update. */
function smokeRunOf(step: PreviewStep): SmokeRun | undefined {
    if (NO_CHANGE.has(step.op) || step.op === "delete" || typeOf(step) !== "command:local:Command") return undefined;
    const env = step.newState?.inputs?.environment as Record<string, unknown> | undefined;
    const color = env?.BLUEGREEN_SMOKE_COLOR;
    if (typeof color !== "string") return undefined;
    return { color, path: String(env?.BLUEGREEN_SMOKE_PATH ?? "?"), status: String(env?.BLUEGREEN_SMOKE_STATUS ?? "?") };
}

export function summarizePreview(preview: PreviewJson): PreviewSummary {
    const steps = preview.steps ?? [];
    const errors = (preview.diagnostics ?? [])
        .filter((d) => d.severity === "error")
        .map((d) => (d.message ?? "").trim())
        .filter(Boolean);
    // A switch with nothing to change is left out of `preview --json`, or listed as "same"
    // without its state: either way the traffic stays where it is.
    const switches = steps.filter((s) => isSwitch(s) && !NO_CHANGE.has(s.op));
    // Services are named when the stack holds several, so the reader knows which one moves.
    const named = servicesIn(steps) > 1;
    const moves: TrafficChange[] = switches.map((sw) => {
        const from = colorOf(sw.oldState);
        const to = colorOf(sw.newState) ?? from;
        return { ...(named ? { service: serviceOf(sw) } : {}), from, to, fromImage: imageOf(sw.oldState, from), toImage: imageOf(sw.newState, to) };
    });
    const kube = kubeSwitches(steps);
    moves.push(...kube.map((k) => ({ ...(named ? { service: k.service } : {}), ...k.move })));
    const switchSteps = new Set<PreviewStep>([...switches, ...kube.flatMap((k) => k.steps)]);
    const traffic: TrafficChange = moves[0] ?? {};
    const smokeStep = steps.find((s) => smokeRunOf(s) !== undefined);
    const smokeTest = smokeStep && smokeRunOf(smokeStep);
    const otherChanges = steps
        .filter((s) => !switchSteps.has(s) && s !== smokeStep && !NO_CHANGE.has(s.op) && typeOf(s) !== "pulumi:pulumi:Stack")
        .map((s) => `${s.op} ${typeOf(s)} ${nameOf(s.urn)}${s.diffReasons?.length ? ` (${s.diffReasons.join(", ")})` : ""}`);

    const describe = (t: TrafficChange): string => {
        const who = t.service ? `${t.service} ` : "";
        if (t.from === undefined) return `${who}new, ${t.to} will be live${t.toImage ? ` (${t.toImage})` : ""}`;
        if (t.from !== t.to) {
            const images = t.fromImage || t.toImage ? ` (${t.fromImage ?? "?"} → ${t.toImage ?? "?"})` : "";
            return `${who}${t.from} → ${t.to}${images}`;
        }
        return `${who}stays on ${t.to}${t.toImage ? ` (${t.toImage})` : ""}`;
    };
    let line: string;
    if (errors.length) {
        line = `Preview failed: ${errors.join(" | ")}`;
    } else if (!moves.length) {
        line = "Traffic: unchanged";
    } else if (moves.length === 1 && !named && traffic.from === undefined) {
        line = `Traffic: new stack, ${traffic.to} will be live${traffic.toImage ? ` (${traffic.toImage})` : ""}`;
    } else {
        line = `Traffic: ${moves.map(describe).join("; ")}`;
    }
    if (!errors.length && smokeTest) {
        line += `; smoke test first: GET ${smokeTest.path} must answer ${smokeTest.status} from ${smokeTest.color}`;
    }
    if (!errors.length) {
        line += otherChanges.length ? `; other changes: ${otherChanges.join("; ")}` : "; environments unchanged";
    }
    return { traffic, ...(smokeTest ? { smokeTest } : {}), otherChanges, errors, text: line };
}

/** The pull-request comment: the summary line, then the change counts. */
export function renderComment(stack: string, preview: PreviewJson): string {
    const s = summarizePreview(preview);
    const counts = Object.entries(preview.changeSummary ?? {})
        .map(([op, n]) => `${op}: ${n}`)
        .join(", ");
    return [`### bluegreen preview: \`${stack}\``, "", s.text, "", counts ? `Resources: ${counts}` : ""].join("\n").trim() + "\n";
}
