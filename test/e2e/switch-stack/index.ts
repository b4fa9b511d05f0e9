import * as pulumi from "@pulumi/pulumi";
import { CONFIG_DIR, CONFIG_FILE, LIVE_PORT, STATUS_PATH, generationOf, renderNginxConfig } from "../../../components/nginxConfig";
import {
    TRAEFIK_API_PORT, TRAEFIK_CONFIG_DIR, TRAEFIK_CONFIG_FILE, TRAEFIK_STATUS_PATH, renderTraefikConfig,
} from "../../../components/traefikConfig";
import { TrafficSwitch } from "../../../components/trafficSwitch";
import { readSettings } from "../../../stacks/config";

import { TestColor } from "./testColor";

const s = readSettings("bluegreen");
const e2e = new pulumi.Config("e2e");
// With e2e:manageColors the stack runs one container per color from `<color>Image` and
// `<color>Env`, as the program does; otherwise the test gives the endpoints of its own containers.
const managed = e2e.getBoolean("manageColors") === true;
const colorOf = (c: "blue" | "green") =>
    new TestColor(`${e2e.require("proxy")}-${c}`, {
        // Env may carry credentials: a secret, as ColorEnvironment passes it to docker.Container.
        name: `${e2e.require("proxy")}-${c}`, image: s[c].image, color: c, env: pulumi.secret(s[c].env),
        network: e2e.require("network"), label: e2e.require("label"),
    }).endpoint.apply((e) => [e]);
const upstreams = managed
    ? { blue: colorOf("blue"), green: colorOf("green") }
    : { blue: pulumi.output(e2e.requireObject<string[]>("blueEndpoints")), green: pulumi.output(e2e.requireObject<string[]>("greenEndpoints")) };
const routing = pulumi.all([upstreams.blue, upstreams.green]).apply(([blue, green]) => ({ activeColor: s.activeColor, upstreams: { blue, green } }));
const traefik = s.proxy.kind === "traefik";
const sw = new TrafficSwitch(`${e2e.require("proxy")}-switch`, {
    kind: s.proxy.kind,
    container: e2e.require("proxy"),
    activeColor: s.activeColor,
    images: { blue: s.blue.image, green: s.green.image },
    config: routing.apply((r) => (traefik ? renderTraefikConfig(r) : renderNginxConfig(r))),
    generation: routing.apply(generationOf),
    configFile: traefik ? TRAEFIK_CONFIG_FILE : CONFIG_FILE,
    configDir: traefik ? TRAEFIK_CONFIG_DIR : CONFIG_DIR,
    statusUrl: traefik ? `http://127.0.0.1:${TRAEFIK_API_PORT}${TRAEFIK_STATUS_PATH}` : `http://127.0.0.1:${LIVE_PORT}${STATUS_PATH}`,
    gateUrls: upstreams[s.activeColor].apply((eps) => eps.map((e) => `http://${e}${s[s.activeColor].healthPath}`)),
    health: s.health,
});

export const activeColor = sw.activeColor;
export const idleColor = s.idleColor;
// The URLs the fixture published, for the operator commands' tests (scripts/workflow.ts).
export const url = e2e.get("url");
export const previewUrl = e2e.get("previewUrl");
