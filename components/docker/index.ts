// `bluegreen/docker`: a blue/green service on a Docker engine.
export { BlueGreenService, DOCKER_SERVICE_TYPE } from "./service";
export type { BlueGreenServiceArgs } from "./service";
