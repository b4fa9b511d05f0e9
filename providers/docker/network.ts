/**
 * `docker:index/network:Network` as the real provider handles it (kreuzwerker's
 * `resource_docker_network*.go`): create and read, no update (every property forces a new
 * network), read treats any inspect error as "gone", delete retries while endpoints remain.
 */
import type Docker from "dockerode";
import { UNKNOWN, type Props } from "../shared/grpcProvider";
import { engine } from "./engine";

const labelsOf = (labels: Record<string, string> | undefined) =>
    Object.entries(labels ?? {}).map(([label, value]) => ({ label, value })).sort((a, b) => (a.label < b.label ? -1 : 1));

/**
 * The outputs from an inspected network. An empty `ipamOptions` is null in what create returns
 * (the planned value of an unset map) and `{}` once read (`pulumi refresh`), as the real plugin
 * stores it.
 */
function outputsOf(n: Docker.NetworkInspectInfo, fromRead: boolean): Props {
    return {
        attachable: n.Attachable ?? false,
        driver: n.Driver,
        id: n.Id,
        ingress: n.Ingress ?? false,
        internal: n.Internal ?? false,
        ipamConfigs: (n.IPAM?.Config ?? []).map((c: Props) => ({ auxAddress: c.AuxiliaryAddresses ?? {}, gateway: c.Gateway ?? "", ipRange: c.IPRange ?? "", subnet: c.Subnet ?? "" })),
        ipamDriver: n.IPAM?.Driver ?? "default",
        ipamOptions: n.IPAM?.Options && Object.keys(n.IPAM.Options).length ? n.IPAM.Options : fromRead ? {} : null,
        ipv6: n.EnableIPv6 ?? false,
        labels: labelsOf(n.Labels),
        name: n.Name,
        options: n.Options ?? {},
        scope: n.Scope,
    };
}

export async function createNetwork(inputs: Props, preview: boolean): Promise<{ id: string; outs: Props }> {
    if (preview) {
        return { id: "", outs: { ...inputs, id: UNKNOWN, scope: UNKNOWN, ipamConfigs: UNKNOWN, driver: inputs.driver ?? UNKNOWN, options: UNKNOWN } };
    }
    const docker = engine();
    const created = await docker.createNetwork({
        Name: inputs.name,
        Driver: inputs.driver,
        Labels: Object.fromEntries((inputs.labels ?? []).map((l: Props) => [l.label, l.value])),
        IPAM: { Driver: inputs.ipamDriver ?? "default", Config: [] },
        CheckDuplicate: true,
    });
    return { id: created.id, outs: outputsOf(await created.inspect(), false) };
}

export async function readNetwork(id: string): Promise<Props | undefined> {
    try {
        return outputsOf(await engine().getNetwork(id).inspect(), true);
    } catch {
        return undefined; // as the real provider: any inspect error means the network is gone
    }
}

export async function deleteNetwork(id: string): Promise<void> {
    const net = engine().getNetwork(id);
    const deadline = Date.now() + 30_000;
    for (;;) {
        try {
            await net.inspect();
        } catch {
            return;
        }
        try {
            await net.remove();
            return;
        } catch (e) {
            if (!/has active endpoints/i.test(String((e as Error).message)) || Date.now() > deadline) throw e;
            await new Promise((r) => setTimeout(r, 2000));
        }
    }
}
