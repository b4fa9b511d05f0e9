/**
 * `docker:index/container:Container` on the Docker Engine API, step for step as the real
 * provider does it (kreuzwerker's `resource_docker_container_funcs.go`):
 * create → leave the default bridge → join each `networksAdvanced` network with its aliases →
 * start; a start that fails keeps the created container in state (the engine's partial state);
 * read sets only what the real read sets (never `envs`, `labels`, `volumes`, `networksAdvanced`)
 * and turns `mustRun` false for a container that is not running, so that the next update starts
 * it; update starts it or changes the restart policy and never reads back; delete stops with
 * `destroyGraceSeconds` (the container's own stop signal), then force-removes.
 */
import type Docker from "dockerode";
import { ResourceInitError, UNKNOWN, type Props } from "../shared/grpcProvider";
import { daemonError, engine, statusOf } from "./engine";

const MiB = 1024 * 1024;

const sorted = (xs: string[] | null | undefined) => [...(xs ?? [])].sort();

const byLabel = (labels: Props[] | undefined) =>
    [...(labels ?? [])].map((l) => ({ label: l.label, value: l.value })).sort((a, b) => (a.label < b.label ? -1 : a.label > b.label ? 1 : 0));

function normalizedNetworks(nets: Props[] | undefined, fromRead: boolean): Props[] {
    return (nets ?? []).map((n) => ({
        aliases: sorted(n.aliases),
        driverOpts: [],
        gwPriority: fromRead ? 0 : null,
        ipv4Address: "",
        ipv6Address: "",
        linkLocalIps: [],
        macAddress: "",
        name: n.name,
    }));
}

/**
 * `volumes` in the outputs' shape. An unset `readOnly` is null in what create returns and false
 * once read (Terraform writes the zero value of a set element's unset field when it stores what a
 * read returned), as `gwPriority` in `networksAdvanced`.
 */
function normalizedVolumes(vols: Props[] | undefined, fromRead: boolean): Props[] {
    return (vols ?? []).map((v) => ({
        containerPath: v.containerPath ?? "",
        fromContainer: "",
        hostPath: "",
        readOnly: v.readOnly ?? (fromRead ? false : null),
        selinuxRelabel: "",
        volumeName: v.volumeName ?? "",
    }));
}

function normalizedPorts(ports: Props[] | undefined): Props[] {
    return (ports ?? [])
        .map((p) => ({ external: p.external, internal: p.internal, ip: p.ip ?? "0.0.0.0", protocol: p.protocol ?? "tcp" }))
        .sort((a, b) => a.internal - b.internal);
}

/** `ports` as Docker reports the bindings: one entry per binding, sorted by container port. */
function portsFromInspect(c: Docker.ContainerInspectInfo): Props[] {
    const out: Props[] = [];
    for (const [key, bindings] of Object.entries(c.NetworkSettings?.Ports ?? {})) {
        const [internal, protocol] = key.split("/");
        for (const b of bindings ?? []) out.push({ external: Number(b.HostPort), internal: Number(internal), ip: b.HostIp, protocol });
    }
    return out.sort((a, b) => a.internal - b.internal);
}

function networkDatas(c: Docker.ContainerInspectInfo): Props[] {
    return Object.entries(c.NetworkSettings?.Networks ?? {}).map(([name, n]) => ({
        gateway: n.Gateway ?? "",
        globalIpv6Address: n.GlobalIPv6Address ?? "",
        globalIpv6PrefixLength: n.GlobalIPv6PrefixLen ?? 0,
        ipAddress: n.IPAddress ?? "",
        ipPrefixLength: n.IPPrefixLen ?? 0,
        ipv6Gateway: n.IPv6Gateway ?? "",
        macAddress: n.MacAddress ?? "",
        networkName: name,
    }));
}

/**
 * The outputs from an inspected container. `state` holds what the real read never sets
 * (inputs, or the previous state); `fromCreate` keeps the planned values of unset optional
 * properties (null) and of `capabilities`, as the bridged provider's create result does.
 */
function outputsOf(c: Docker.ContainerInspectInfo, state: Props, fromCreate: boolean): Props {
    const hc = (c.HostConfig ?? {}) as Docker.HostConfig & Props;
    const cfg = c.Config as Docker.ContainerInspectInfo["Config"] & Props;
    const running = c.State?.Running === true;
    const unsetOr = <T>(v: T) => (fromCreate ? null : v);
    const caps = fromCreate
        ? { adds: sorted(state.capabilities?.adds), drops: sorted(state.capabilities?.drops) }
        : (hc.CapAdd?.length || hc.CapDrop?.length) ? { adds: sorted(hc.CapAdd), drops: sorted(hc.CapDrop) } : state.capabilities ?? null;
    return {
        attach: state.attach ?? false,
        bridge: (c.NetworkSettings as Props | undefined)?.Bridge ?? "",
        capabilities: caps,
        cgroupParent: null,
        cgroupnsMode: null,
        command: cfg.Cmd ?? [],
        containerLogs: null,
        containerReadRefreshTimeoutMilliseconds: state.containerReadRefreshTimeoutMilliseconds ?? 15000,
        cpuPeriod: null,
        cpuQuota: null,
        cpuSet: hc.CpusetCpus ?? "",
        cpuShares: hc.CpuShares ?? 0,
        cpus: null,
        destroyGraceSeconds: state.destroyGraceSeconds ?? null,
        deviceReadBps: [],
        deviceReadIops: [],
        deviceRequests: [],
        deviceWriteBps: [],
        deviceWriteIops: [],
        devices: [],
        dns: unsetOr(hc.Dns ?? []),
        dnsOpts: unsetOr(hc.DnsOptions ?? []),
        dnsSearches: unsetOr(hc.DnsSearch ?? []),
        domainname: cfg.Domainname ?? "",
        entrypoints: cfg.Entrypoint ?? [],
        envs: state.envs ?? [],
        exitCode: running ? (state.exitCode ?? null) : c.State?.ExitCode ?? null,
        gpus: null,
        groupAdds: unsetOr(hc.GroupAdd ?? []),
        healthcheck: null,
        hostname: cfg.Hostname ?? "",
        hosts: [],
        id: c.Id,
        image: cfg.Image,
        init: hc.Init ?? false,
        ipcMode: hc.IpcMode ?? "",
        labels: byLabel(state.labels),
        logDriver: hc.LogConfig?.Type ?? "",
        logOpts: unsetOr(hc.LogConfig?.Config ?? {}),
        logs: state.logs ?? false,
        maxRetryCount: hc.RestartPolicy?.MaximumRetryCount ?? 0,
        memory: Math.floor((hc.Memory ?? 0) / MiB),
        memoryReservation: Math.floor((hc.MemoryReservation ?? 0) / MiB),
        memorySwap: hc.MemorySwap ? Math.floor(hc.MemorySwap / MiB) : 0,
        mounts: [],
        // A container that is not running reads as mustRun false: the next plan updates it, which starts it.
        mustRun: running ? (state.mustRun ?? true) : false,
        name: c.Name.replace(/^\//, ""),
        networkDatas: networkDatas(c),
        networkMode: hc.NetworkMode ?? "bridge",
        networksAdvanced: normalizedNetworks(state.networksAdvanced, !fromCreate),
        pidMode: null,
        platform: c.Platform ?? "linux",
        ports: state.ports?.length && (running || state.mustRun) ? portsFromInspect(c) : normalizedPorts(state.ports),
        privileged: hc.Privileged ?? false,
        publishAllPorts: hc.PublishAllPorts ?? false,
        readOnly: hc.ReadonlyRootfs ?? false,
        removeVolumes: state.removeVolumes ?? true,
        restart: hc.RestartPolicy?.Name ?? "no",
        rm: hc.AutoRemove ?? false,
        runtime: hc.Runtime ?? "runc",
        securityOpts: hc.SecurityOpt ?? [],
        shmSize: Math.floor((hc.ShmSize ?? 0) / MiB),
        start: state.start ?? true,
        stdinOpen: cfg.OpenStdin ?? false,
        stopSignal: cfg.StopSignal ?? "",
        stopTimeout: cfg.StopTimeout ?? 0,
        storageOpts: unsetOr(hc.StorageOpt ?? {}),
        sysctls: unsetOr(hc.Sysctls ?? {}),
        tmpfs: unsetOr(hc.Tmpfs ?? {}),
        tty: cfg.Tty ?? false,
        ulimits: [],
        uploads: [],
        user: cfg.User ?? "",
        usernsMode: hc.UsernsMode ?? "",
        volumes: normalizedVolumes(state.volumes, !fromCreate),
        wait: state.wait ?? false,
        waitTimeout: state.waitTimeout ?? 60,
        workingDir: cfg.WorkingDir ?? "",
    };
}

/** The partial state of a container that was created and did not start: inputs and id only. */
function partialState(id: string, inputs: Props): Props {
    const computed = ["bridge", "cgroupParent", "cgroupnsMode", "containerLogs", "cpuPeriod", "cpuQuota", "cpuSet", "cpuShares", "cpus",
        "dns", "dnsOpts", "dnsSearches", "domainname", "entrypoints", "exitCode", "gpus", "groupAdds", "healthcheck", "hostname", "init",
        "ipcMode", "logDriver", "logOpts", "maxRetryCount", "memory", "memorySwap", "networkDatas", "pidMode", "platform", "privileged",
        "publishAllPorts", "runtime", "shmSize", "stopTimeout", "storageOpts", "sysctls", "tmpfs", "user", "usernsMode", "workingDir"];
    return {
        ...Object.fromEntries(computed.map((k) => [k, null])),
        ...inputs,
        attach: false, logs: false, readOnly: false, rm: false, stdinOpen: false, tty: false, wait: false, memoryReservation: 0,
        deviceReadBps: [], deviceReadIops: [], deviceRequests: [], deviceWriteBps: [], deviceWriteIops: [], devices: [],
        hosts: [], mounts: [], ulimits: [], uploads: [],
        capabilities: inputs.capabilities ? { adds: sorted(inputs.capabilities.adds), drops: sorted(inputs.capabilities.drops) } : null,
        command: inputs.command ?? null,
        envs: inputs.envs ?? [],
        labels: byLabel(inputs.labels),
        networksAdvanced: normalizedNetworks(inputs.networksAdvanced, false),
        ports: normalizedPorts(inputs.ports),
        securityOpts: inputs.securityOpts ?? [],
        stopSignal: inputs.stopSignal ?? null,
        volumes: normalizedVolumes(inputs.volumes, false),
        id,
    };
}

async function ensureImage(image: string): Promise<void> {
    const docker = engine();
    try {
        await docker.getImage(image).inspect();
        return;
    } catch (e) {
        if (statusOf(e) !== 404) throw e;
    }
    // As the real provider: an image that is not on the engine is pulled.
    const stream = await docker.pull(image);
    await new Promise<void>((resolve, reject) => docker.modem.followProgress(stream, (err: Error | null) => (err ? reject(err) : resolve())));
}

/** A create in preview: what is known from the inputs, the rest unknown until the container exists. */
function previewOutputs(inputs: Props): Props {
    const unknown = ["bridge", "command", "entrypoints", "exitCode", "hostname", "id", "ipcMode", "logDriver", "networkDatas", "platform",
        "runtime", "securityOpts", "shmSize", "stopSignal", "user", "workingDir", "init", "domainname", "cpuSet", "cpuShares"];
    const out: Props = { ...inputs };
    for (const k of unknown) if (out[k] === undefined) out[k] = UNKNOWN;
    return out;
}

export async function createContainer(inputs: Props, preview: boolean): Promise<{ id: string; outs: Props }> {
    if (preview) return { id: "", outs: previewOutputs(inputs) };
    const docker = engine();
    await ensureImage(inputs.image);
    const ports: Props[] = normalizedPorts(inputs.ports);
    const exposed: Record<string, object> = {};
    const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
    for (const p of ports) {
        const key = `${p.internal}/${p.protocol}`;
        exposed[key] = {};
        (bindings[key] ??= []).push({ HostIp: p.ip, HostPort: String(p.external ?? 0) });
    }
    const binds = (inputs.volumes ?? []).map((v: Props) => `${v.volumeName}:${v.containerPath}:${v.readOnly ? "ro" : "rw"}`);
    let container: Docker.Container;
    try {
        container = await docker.createContainer({
            name: inputs.name,
            Image: inputs.image,
            Cmd: inputs.command,
            Env: inputs.envs,
            Labels: Object.fromEntries((inputs.labels ?? []).map((l: Props) => [l.label, l.value])),
            StopSignal: inputs.stopSignal,
            ExposedPorts: exposed,
            HostConfig: {
                PortBindings: bindings,
                RestartPolicy: { Name: inputs.restart ?? "no", MaximumRetryCount: 0 },
                SecurityOpt: inputs.securityOpts,
                CapAdd: inputs.capabilities?.adds,
                CapDrop: inputs.capabilities?.drops,
                Binds: binds.length ? binds : undefined,
                NetworkMode: inputs.networkMode ?? "bridge",
                Init: false,
            },
        });
    } catch (e) {
        throw new Error(`Unable to create container: ${daemonError(e)}`);
    }
    const id = container.id;
    try {
        if (inputs.networksAdvanced?.length) {
            try {
                await docker.getNetwork("bridge").disconnect({ Container: id, Force: false });
            } catch (e) {
                if (!/is not connected to the network bridge/i.test(String((e as Error).message))) throw e;
            }
            for (const n of inputs.networksAdvanced as Props[]) {
                await docker.getNetwork(n.name).connect({ Container: id, EndpointConfig: { Aliases: n.aliases ?? [] } });
            }
        }
        if (inputs.start !== false) await container.start();
    } catch (e) {
        throw new ResourceInitError(`Unable to start container: ${daemonError(e)}`, id, partialState(id, inputs));
    }
    return { id, outs: outputsOf(await container.inspect(), inputs, true) };
}

export async function readContainer(id: string, state: Props): Promise<Props | undefined> {
    const docker = engine();
    const all = await docker.listContainers({ all: true });
    if (!all.some((c) => c.Id === id)) return undefined;
    return outputsOf(await docker.getContainer(id).inspect(), state, false);
}

export async function updateContainer(id: string, olds: Props, news: Props, preview: boolean): Promise<Props> {
    // The planned state: the new inputs, in the outputs' shapes, over the stored outputs; the
    // real update never reads back.
    const planned: Props = { ...olds, ...news, id };
    planned.labels = byLabel(news.labels ?? olds.labels);
    planned.networksAdvanced = normalizedNetworks(news.networksAdvanced, olds.networksAdvanced?.[0]?.gwPriority === 0);
    planned.ports = news.ports ? normalizedPorts(news.ports) : olds.ports;
    // Volumes never change in place (a change replaces): an unset readOnly keeps its stored value (false once read).
    const stored = (v: Props) => (olds.volumes as Props[] | undefined)?.find((o) => o.volumeName === v.volumeName && o.containerPath === v.containerPath);
    planned.volumes = normalizedVolumes(news.volumes, false).map((v) => (v.readOnly === null ? { ...v, readOnly: stored(v)?.readOnly ?? null } : v));
    planned.capabilities = news.capabilities ? { adds: sorted(news.capabilities.adds), drops: sorted(news.capabilities.drops) } : olds.capabilities;
    if (preview) return planned;
    const c = engine().getContainer(id);
    if (news.mustRun && !olds.mustRun && news.start !== false) await c.start();
    if ((news.restart ?? "no") !== (olds.restart ?? "no")) {
        await c.update({ RestartPolicy: { Name: news.restart ?? "no", MaximumRetryCount: 0 } });
    }
    return planned;
}

export async function deleteContainer(id: string, state: Props): Promise<void> {
    const c = engine().getContainer(id);
    const gone = (e: unknown) => statusOf(e) === 404 || /no such container|is already in progress/i.test(String((e as Error)?.message));
    if (!state.attach) {
        try {
            // Docker sends the container's stop signal, then SIGKILL after the grace period.
            await c.stop({ t: state.destroyGraceSeconds ?? 0 });
        } catch (e) {
            if (statusOf(e) !== 304 && !gone(e)) throw e;
        }
    }
    try {
        await c.remove({ force: true, v: state.removeVolumes ?? true });
    } catch (e) {
        if (!gone(e)) throw e;
    }
    try {
        await c.wait({ condition: state.rm ? "removed" : "not-running" });
    } catch (e) {
        if (!gone(e)) throw e;
    }
}
