/**
 * What the readiness gate uses of `@kubernetes/client-node`. The plugin's build bundles it into a
 * file of its own beside the plugin's (`pulumi-resource-bluegreen-kube.js`), loaded on the gate's
 * first use: the library is about 4 MB of JavaScript, which every start of the plugin (the Docker
 * switch's included) would otherwise parse.
 */
export { AppsV1Api, KubeConfig, Watch } from "@kubernetes/client-node";
export type { V1Deployment } from "@kubernetes/client-node";
