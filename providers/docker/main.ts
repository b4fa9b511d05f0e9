/**
 * The project's stand-in `docker` provider plugin: what `@pulumi/docker` needs from the real
 * plugin for this program's resources, with the real plugin's behaviour, for machines where the
 * real plugin cannot be installed. It answers to the version of `@pulumi/docker` it was built
 * for (`BLUEGREEN_DOCKER_VERSION`, set by the build), and refuses anything it does not implement.
 */
import { serve, type ProviderImpl, type Props } from "../shared/grpcProvider";
import { createContainer, deleteContainer, readContainer, updateContainer } from "./container";
import { configureEngine, engineOptions } from "./engine";
import { createNetwork, deleteNetwork, readNetwork } from "./network";
import { check, diff } from "./plan";
import { CONTAINER, NETWORK, VOLUME } from "./schema";
import { createVolume, deleteVolume, readVolume } from "./volume";

declare const BLUEGREEN_DOCKER_VERSION: string;

/** Provider config keys it implements: the engine address, nothing else. */
const CONFIG_KEYS = new Set(["host", "version"]);

const impl: ProviderImpl = {
    name: "docker",
    version: typeof BLUEGREEN_DOCKER_VERSION === "string" ? BLUEGREEN_DOCKER_VERSION : "0.0.0",

    checkConfig(news) {
        const failures = Object.keys(news)
            .filter((k) => !CONFIG_KEYS.has(k) && !k.startsWith("__"))
            .map((k) => ({ property: k, reason: `the stand-in docker provider does not implement provider config \`docker:${k}\`; it implements docker:host` }));
        if (typeof news.host === "string") {
            try {
                engineOptions(news.host);
            } catch (e) {
                failures.push({ property: "host", reason: (e as Error).message });
            }
        }
        return failures;
    },

    configure(config) {
        configureEngine(typeof config.host === "string" ? config.host : undefined);
    },

    check: (type, name, olds, news) => check(type, name, olds, news),

    diff: (type, _id, olds, news) => diff(type, olds, news),

    async create(type, _name, inputs, preview) {
        switch (type) {
            case CONTAINER: return createContainer(inputs, preview);
            case NETWORK: return createNetwork(inputs, preview);
            case VOLUME: return createVolume(inputs, preview);
        }
        throw unsupported(type);
    },

    async read(type, id, outs, inputs) {
        let live: Props | undefined;
        switch (type) {
            case CONTAINER: live = await readContainer(id, outs); break;
            case NETWORK: live = await readNetwork(id); break;
            case VOLUME: live = await readVolume(id); break;
            default: throw unsupported(type);
        }
        return live && { id, outs: live, inputs };
    },

    async update(type, id, olds, news, preview) {
        if (type === CONTAINER) return updateContainer(id, olds, news, preview);
        // Networks and volumes have no in-place update: every change of theirs replaces them.
        throw new Error(`${type} cannot be updated in place; its diff should have planned a replacement`);
    },

    async delete(type, id, outs) {
        switch (type) {
            case CONTAINER: return deleteContainer(id, outs);
            case NETWORK: return deleteNetwork(id);
            case VOLUME: return deleteVolume(id);
        }
        throw unsupported(type);
    },
};

function unsupported(type: string): Error {
    return new Error(`the stand-in docker provider does not implement resource type ${type}; it implements ${[CONTAINER, NETWORK, VOLUME].join(", ")}`);
}

serve(impl).catch((e) => {
    process.stderr.write(`${e?.stack ?? e}\n`);
    process.exit(1);
});
