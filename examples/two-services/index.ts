// A team's own Pulumi program with two blue/green services in one stack. Each service has its
// own config namespace, so each switches on its own:
//
//   pulumi config set api:activeColor green && pulumi up     # api moves, web is untouched
import * as pulumi from "@pulumi/pulumi";
import * as bluegreen from "bluegreen";

function service(name: string, defaults: { blueImage: string; greenImage: string; port: number }) {
    const config = new pulumi.Config(name);
    return new bluegreen.docker.BlueGreenService(name, {
        activeColor: (config.get("activeColor") ?? "blue") as bluegreen.Color,
        colors: {
            blue: { image: config.get("blueImage") ?? defaults.blueImage },
            green: { image: config.get("greenImage") ?? defaults.greenImage },
        },
        proxy: {
            port: config.getNumber("port") ?? defaults.port,
            previewPort: config.getNumber("previewPort") ?? defaults.port + 1,
        },
    });
}

const api = service("api", { blueImage: "bluegreen/demo:1.0.0", greenImage: "bluegreen/demo:2.0.0", port: 8180 });
const web = service("web", { blueImage: "bluegreen/demo:2.0.0", greenImage: "bluegreen/demo:1.0.0", port: 8280 });

export const apiUrl = api.url;
export const apiPreviewUrl = api.previewUrl;
export const apiActiveColor = api.activeColor;
export const webUrl = web.url;
export const webPreviewUrl = web.previewUrl;
export const webActiveColor = web.activeColor;
