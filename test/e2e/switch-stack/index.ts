import * as pulumi from "@pulumi/pulumi";
import { generationOf } from "../../../components/nginxConfig";
import { SWITCH_BACKEND } from "../../../components/proxySwitch";
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
        flags: e2e.requireObject<string[]>(`${c}Flags`), label: e2e.require("label"),
    }).endpoint.apply((e) => [e]);
const upstreams = managed
    ? { blue: colorOf("blue"), green: colorOf("green") }
    : { blue: pulumi.output(e2e.requireObject<string[]>("blueEndpoints")), green: pulumi.output(e2e.requireObject<string[]>("greenEndpoints")) };
const routing = pulumi.all([upstreams.blue, upstreams.green]).apply(([blue, green]) => ({ activeColor: s.activeColor, upstreams: { blue, green } }));
// The same file paths, status URL and renderer as the component of this proxy kind.
const backend = SWITCH_BACKEND[s.proxy.kind];
const sw = new TrafficSwitch(`${e2e.require("proxy")}-switch`, {
    kind: s.proxy.kind,
    container: e2e.require("proxy"),
    activeColor: s.activeColor,
    images: { blue: s.blue.image, green: s.green.image },
    config: routing.apply((r) => backend.render(r)),
    generation: routing.apply(generationOf),
    configFile: backend.configFile,
    configDir: backend.configDir,
    statusUrl: backend.statusUrl,
    gateUrls: upstreams[s.activeColor].apply((eps) => eps.map((e) => `http://${e}${s[s.activeColor].healthPath}`)),
    health: s.health,
});

export const activeColor = sw.activeColor;
export const idleColor = s.idleColor;
// The URLs the fixture published, for the operator commands' tests (scripts/workflow.ts).
export const url = e2e.get("url");
export const previewUrl = e2e.get("previewUrl");
