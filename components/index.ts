export * from "./colorEnvironment";
export * from "./nginxProxy";
export * from "./trafficSwitch";
export * from "./nginxConfig";
export * from "./settings";
export * from "./traefikProxy";
export * from "./traefikConfig";
export * from "./previewSummary";
