/**
 * What the program's components declare, turned into `docker run` arguments for the end-to-end
 * fixture. The docker provider plugin cannot be built here (README, "Known limits"), so the
 * fixture starts the containers itself; it takes every argument from the real `dockerStack`
 * declaration (run under Pulumi's mocks), never from a hand-written copy. An argument of
 * `docker.Container` that this translation does not know fails the test instead of being dropped.
 */
import type { RawConfig } from "../../components/settings";
import { installMocks, Registered } from "./mocks";

const CONTAINER = "docker:index/container:Container";
let sink: { resources: Registered[] } | undefined;

/** The docker.Container inputs `dockerStack` declares for `config`, by logical name (`decl-blue-0`, `decl-proxy`). */
export async function declaredContainers(config: RawConfig): Promise<Map<string, Record<string, any>>> {
    sink ??= installMocks();
    // Imported after the mocks are installed, as Pulumi's testing guide requires.
    const { dockerStack } = await import("../../stacks/docker");
    const { parseConfig } = await import("../../components/settings");
    const start = sink.resources.length;
    const out = dockerStack("decl", parseConfig(config));
    await new Promise<void>((resolve) => out.url.apply(() => resolve()));
    await new Promise((r) => setTimeout(r, 50)); // let the last registrations land
    const found = sink.resources.slice(start).filter((r) => r.type === CONTAINER);
    return new Map(found.map((r) => [r.name, unwrapSecrets(r.inputs)]));
}

/** Pulumi's mocks hand over secret inputs in their wire form: `{ <secret signature>: …, value }`. */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
function unwrapSecrets(v: any): any {
    if (Array.isArray(v)) return v.map(unwrapSecrets);
    if (v && typeof v === "object") {
        if (SECRET_SIG in v) return unwrapSecrets(v.value);
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unwrapSecrets(x)]));
    }
    return v;
}

/** Where the fixture puts what the stack would have created itself. */
export interface Placement {
    network: string;
    /** Label every fixture object carries, for cleanup. */
    label: string;
    /** Volume name to use for each `containerPath` the declaration mounts. */
    volumes?: Record<string, string>;
}

/** The parts of a `docker run` command line for one declared container. */
export interface RunArgs {
    /** Restart policy, security options, capabilities, stop signal, ports, volumes. */
    hardening: string[];
    env: string[];
    labels: string[];
    image: string;
    command: string[];
}

const IGNORED = new Set(["name", "mustRun"]); // auto-named by the fixture; mustRun is the provider's own check

/** Translates docker.Container inputs into `docker run` flags. */
export function runArgs(inputs: Record<string, any>, place: Placement): RunArgs {
    const hardening: string[] = [];
    const r: RunArgs = { hardening, env: [], labels: ["--label", place.label], image: inputs.image, command: inputs.command ?? [] };
    for (const [key, value] of Object.entries(inputs)) {
        switch (key) {
            case "image":
            case "command":
                break;
            case "envs":
                r.env = (value as string[]).flatMap((e) => ["-e", e]);
                break;
            case "labels":
                r.labels.push(...(value as { label: string; value: string }[]).flatMap((l) => ["--label", `${l.label}=${l.value}`]));
                break;
            case "networksAdvanced":
                if ((value as unknown[]).length !== 1) throw new Error(`one network expected, got ${JSON.stringify(value)}`);
                hardening.push("--network", place.network, ...((value[0].aliases ?? []) as string[]).flatMap((a) => ["--network-alias", a]));
                break;
            case "ports":
                hardening.push(...(value as { internal: number; external: number; ip: string }[]).flatMap((p) => ["-p", `${p.ip}:${p.external}:${p.internal}`]));
                break;
            case "volumes":
                hardening.push(...(value as { containerPath: string }[]).flatMap((v) => {
                    const name = place.volumes?.[v.containerPath];
                    if (!name) throw new Error(`no fixture volume given for ${v.containerPath}`);
                    return ["-v", `${name}:${v.containerPath}`];
                }));
                break;
            case "restart":
                hardening.push("--restart", value);
                break;
            case "securityOpts":
                hardening.push(...(value as string[]).flatMap((o) => ["--security-opt", o]));
                break;
            case "capabilities":
                hardening.push(...(value.drops ?? []).flatMap((c: string) => ["--cap-drop", c]), ...(value.adds ?? []).flatMap((c: string) => ["--cap-add", c]));
                break;
            case "stopSignal":
                hardening.push("--stop-signal", value);
                break;
            case "destroyGraceSeconds": // the provider stops the container this long before removing it
                hardening.push("--stop-timeout", String(value));
                break;
            default:
                if (!IGNORED.has(key)) throw new Error(`docker.Container input \`${key}\` has no translation to \`docker run\`; add one`);
        }
    }
    return r;
}

/** The whole `docker run -d` argument list. */
export function runArgv(r: RunArgs, name: string): string[] {
    return ["run", "-d", "--name", name, ...r.labels, ...r.hardening, ...r.env, r.image, ...r.command];
}
