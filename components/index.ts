// bluegreen: blue/green services for Pulumi programs.
//
//   import * as bluegreen from "bluegreen";
//   new bluegreen.docker.BlueGreenService("api", { activeColor: "blue", colors: { ... } });
//
// The platforms are namespaces (like awsx's `ecs` and `lb`); `bluegreen/docker` and
// `bluegreen/kubernetes` load one platform's SDK alone.
export * as docker from "./docker";
export * as kubernetes from "./kubernetes";
export type { ColorArgs, DockerServiceArgs, HealthArgs, KubernetesColorArgs, KubernetesServiceArgs, ProxyArgs } from "./serviceArgs";
export { ServiceArgsError, validateDockerServiceArgs, validateKubernetesServiceArgs } from "./serviceArgs";
export type { Color } from "./settings";
// Pure modules, for programs that build on them: the PR preview summary.
export { summarizePreview } from "./previewSummary";
export type { PreviewJson, PreviewSummary } from "./previewSummary";
