import * as fs from "node:fs";
import * as path from "node:path";

/**
 * The package's version, which is its plugin's: the switch and the gate ask the engine for the
 * `bluegreen` plugin of exactly this version when no bluegreen provider is passed in `opts`.
 * Read from package.json, one folder up both here and in the compiled package (dist/).
 */
export const PLUGIN_VERSION: string = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "package.json"), "utf8")).version;
