// Pure modules (no Pulumi resources): settings, the proxies' rendered configs, the PR summary.
export * from "./settings";
export * from "./nginxConfig";
export * from "./traefikConfig";
export * from "./previewSummary";
// Docker: a color as containers, the nginx or Traefik proxy, the switch inside it.
export * from "./docker/colorEnvironment";
export * from "./docker/nginxProxy";
export * from "./docker/traefikProxy";
export * from "./docker/proxySwitch";
export * from "./docker/trafficSwitch";
// Kubernetes: a color as a Deployment, the Service selector switch and its readiness gate.
export * from "./kubernetes/colorEnvironment";
export * from "./kubernetes/deploymentReadyGate";
