/**
 * Test-only stand-in for ColorEnvironment's docker.Container (the docker provider plugin cannot
 * be built here): one demo container per color, created and replaced with the docker CLI, so
 * that changing `<color>Image` in the harness stack starts a new container as the program would.
 */
import * as pulumi from "@pulumi/pulumi";
import type * as childProcess from "node:child_process";

interface State {
    name: string; image: string; color: string; label: string; env: Record<string, string>;
    /** ColorEnvironment's declared `docker run` flags for this color (network, restart, security), from the test. */
    flags: string[];
    endpoint?: string;
}

function docker(args: string[]): string {
    const { execFileSync } = require("child_process") as typeof childProcess;
    return execFileSync("docker", args, { encoding: "utf8" }).trim();
}

function start(s: State): State {
    const name = `${s.name}-${Date.now().toString(36)}`;
    const env = Object.entries({ COLOR: s.color, ...s.env }).flatMap(([k, v]) => ["-e", `${k}=${v}`]);
    docker(["run", "-d", "--name", name, "--label", s.label, ...s.flags, ...env, s.image]);
    const ip = docker(["inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", name]);
    return { ...s, name, endpoint: `${ip}:8080` };
}

const provider: pulumi.dynamic.ResourceProvider = {
    async diff(_id, olds: State, news: State) {
        const replace = olds.image !== news.image || JSON.stringify(olds.env) !== JSON.stringify(news.env) || JSON.stringify(olds.flags) !== JSON.stringify(news.flags);
        return { changes: replace, replaces: replace ? ["image"] : [], deleteBeforeReplace: false };
    },
    async create(inputs: State) {
        const s = start(inputs);
        return { id: s.name, outs: s };
    },
    async delete(id: string) {
        // As the docker provider does with destroyGraceSeconds: stop (its --stop-timeout), then remove.
        docker(["stop", id]);
        docker(["rm", "-f", id]);
    },
};

export class TestColor extends pulumi.dynamic.Resource {
    declare public readonly endpoint: pulumi.Output<string>;
    constructor(name: string, args: Omit<State, "endpoint" | "env"> & { env: pulumi.Input<Record<string, string>> }) {
        super(provider, name, { ...args, endpoint: undefined });
    }
}
