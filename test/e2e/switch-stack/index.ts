import * as pulumi from "@pulumi/pulumi";
import { CONFIG_DIR, CONFIG_FILE, LIVE_PORT, STATUS_PATH, generationOf, renderNginxConfig } from "../../../components/nginxConfig";
import { TrafficSwitch } from "../../../components/trafficSwitch";
import { readSettings } from "../../../stacks/config";

const s = readSettings("bluegreen");
const e2e = new pulumi.Config("e2e");
const upstreams = { blue: e2e.requireObject<string[]>("blueEndpoints"), green: e2e.requireObject<string[]>("greenEndpoints") };
const routing = { activeColor: s.activeColor, upstreams };
const sw = new TrafficSwitch(`${e2e.require("proxy")}-switch`, {
    container: e2e.require("proxy"),
    activeColor: s.activeColor,
    images: { blue: s.blue.image, green: s.green.image },
    config: renderNginxConfig(routing),
    generation: generationOf(routing),
    configFile: CONFIG_FILE,
    configDir: CONFIG_DIR,
    statusPort: LIVE_PORT,
    statusPath: STATUS_PATH,
    gateUrls: upstreams[s.activeColor].map((e) => `http://${e}${s[s.activeColor].healthPath}`),
    health: s.health,
});

export const activeColor = sw.activeColor;
export const idleColor = s.idleColor;
