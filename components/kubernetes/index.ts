// `bluegreen/kubernetes`: a blue/green service on a Kubernetes cluster.
export { BlueGreenService, KUBERNETES_SERVICE_TYPE } from "./service";
export type { BlueGreenServiceArgs } from "./service";
