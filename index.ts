import * as pulumi from "@pulumi/pulumi";
import { dockerStack } from "./stacks/docker";
import { readSettings } from "./stacks/config";
import { kubernetesStack } from "./stacks/kubernetes";

// Validated once, before any resource is declared: a bad value fails `pulumi preview` with a
// message naming the key, and nothing that runs is touched.
const settings = readSettings();

const prefix = `${pulumi.getProject()}-${pulumi.getStack()}`;
const kube = new pulumi.Config("kubernetes");
const out = settings.platform === "kubernetes"
    ? kubernetesStack(prefix, settings, { kubeconfig: kube.get("kubeconfig"), context: kube.get("context") })
    : dockerStack(prefix, settings, { dockerHost: new pulumi.Config("docker").get("host") });

export const activeColor = out.activeColor;
export const idleColor = out.idleColor;
export const url = out.url;
export const previewUrl = out.previewUrl;
export const blueImage = out.images.blue;
export const greenImage = out.images.green;
