/**
 * `docker:index/volume:Volume` as the real provider handles it (kreuzwerker's
 * `resource_docker_volume.go`): the id is the volume's name; read of a missing volume clears it
 * from state; delete retries while the volume is in use and fails on any other error.
 */
import type Docker from "dockerode";
import { UNKNOWN, type Props } from "../shared/grpcProvider";
import { engine, statusOf } from "./engine";

/**
 * The outputs from an inspected volume. An empty `driverOpts` is null in what create returns (the
 * planned value of an unset map) and `{}` once read (`pulumi refresh`), as the real plugin stores it.
 */
function outputsOf(v: Docker.VolumeInspectInfo & Props, fromRead: boolean): Props {
    return {
        cluster: null,
        driver: v.Driver,
        driverOpts: v.Options && Object.keys(v.Options).length ? v.Options : fromRead ? {} : null,
        id: v.Name,
        labels: Object.entries(v.Labels ?? {}).map(([label, value]) => ({ label, value })).sort((a, b) => (a.label < b.label ? -1 : 1)),
        mountpoint: v.Mountpoint,
        name: v.Name,
    };
}

export async function createVolume(inputs: Props, preview: boolean): Promise<{ id: string; outs: Props }> {
    if (preview) return { id: "", outs: { ...inputs, id: UNKNOWN, mountpoint: UNKNOWN, driver: inputs.driver ?? UNKNOWN } };
    const docker = engine();
    await docker.createVolume({
        Name: inputs.name,
        Driver: inputs.driver ?? "local",
        Labels: Object.fromEntries((inputs.labels ?? []).map((l: Props) => [l.label, l.value])),
    });
    return { id: inputs.name, outs: outputsOf(await docker.getVolume(inputs.name).inspect(), false) };
}

export async function readVolume(id: string): Promise<Props | undefined> {
    try {
        return outputsOf(await engine().getVolume(id).inspect(), true);
    } catch (e) {
        if (statusOf(e) === 404) return undefined;
        throw e;
    }
}

export async function deleteVolume(id: string): Promise<void> {
    const deadline = Date.now() + 30_000;
    for (;;) {
        try {
            await engine().getVolume(id).remove({ force: true });
            return;
        } catch (e) {
            if (!/volume is in use/i.test(String((e as Error).message)) || Date.now() > deadline) throw e;
            await new Promise((r) => setTimeout(r, 2000));
        }
    }
}
