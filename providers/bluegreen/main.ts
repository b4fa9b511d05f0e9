/**
 * bluegreen's own provider plugin: serves ./provider.ts to the Pulumi engine (see providers/README.md).
 */
import { serve } from "../shared/grpcProvider";
import { impl } from "./provider";

serve(impl).catch((e) => {
    process.stderr.write(`${e?.stack ?? e}\n`);
    process.exit(1);
});
