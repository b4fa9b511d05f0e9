// A team's own Pulumi program with two blue/green services in one stack. Each service has its
// own config namespace, so each switches on its own:
//
//   pulumi config set api:activeColor green && pulumi up     # api moves, web is untouched
//
// On Docker (the default) each service gets its proxy on two host ports; with
// `pulumi config set platform kubernetes` each gets a Deployment per color and two Services.
import * as pulumi from "@pulumi/pulumi";
import * as bluegreen from "bluegreen";

const stack = new pulumi.Config();
const platform = stack.get("platform") ?? "docker";

function service(name: string, defaults: { blueImage: string; greenImage: string; port: number }) {
    const config = new pulumi.Config(name);
    const port = config.getNumber("port") ?? defaults.port;
    const previewPort = config.getNumber("previewPort") ?? port + 1;
    const args = {
        activeColor: (config.get("activeColor") ?? "blue") as bluegreen.Color,
        colors: {
            blue: { image: config.get("blueImage") ?? defaults.blueImage },
            green: { image: config.get("greenImage") ?? defaults.greenImage },
        },
    };
    if (platform === "kubernetes") {
        return new bluegreen.kubernetes.BlueGreenService(name, {
            ...args,
            namespace: stack.get("namespace"),
            service: { type: "NodePort", port, previewPort },
            // web's replicas are left to an autoscaler (a HorizontalPodAutoscaler per color, on
            // the outputs blueDeploymentName/greenDeploymentName), with a disruption budget per color.
            ...(name === "web" ? { autoscaled: true, podDisruptionBudget: { maxUnavailable: 1 } } : {}),
        });
    }
    return new bluegreen.docker.BlueGreenService(name, { ...args, proxy: { port, previewPort } });
}

const api = service("api", { blueImage: "bluegreen/demo:1.0.0", greenImage: "bluegreen/demo:2.0.0", port: 8180 });
const web = service("web", { blueImage: "bluegreen/demo:2.0.0", greenImage: "bluegreen/demo:1.0.0", port: 8280 });

export const apiUrl = api.url;
export const apiPreviewUrl = api.previewUrl;
export const apiActiveColor = api.activeColor;
export const webUrl = web.url;
export const webPreviewUrl = web.previewUrl;
export const webActiveColor = web.activeColor;
