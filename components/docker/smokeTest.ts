/**
 * The pre-switch smoke test: before the traffic switch moves live traffic to a color, one GET of
 * `smokeTestPath` through the proxy's preview listener must answer `smokeTestStatus`, or the
 * `up` fails and traffic stays where it was (Argo Rollouts' prePromotionAnalysis, Flagger's
 * pre-rollout webhooks). It is a `command.local.Command`: the request is made from the machine
 * that runs `pulumi up`, through the same published port a person would try by hand.
 *
 * The command is fixed: `node -e SMOKE_SCRIPT` (Node.js is there wherever this program runs),
 * no shell, and every value (URLs, path, status, color) reaches it as an environment variable.
 */
import type * as command from "@pulumi/command";
import type * as pulumi from "@pulumi/pulumi";
import type { Color, SmokeTestSettings } from "../settings";

/** Attempts and the pause between them: a color that was just replaced gets about 10 s to answer. */
export const SMOKE_ATTEMPTS = 10;
export const SMOKE_INTERVAL_MS = 1000;

/**
 * What the command runs (Node.js ≥ 18: global `fetch`). nginx tags every answer of its preview
 * listener with the color behind it (`X-Bluegreen-Color`; the live listener never sends it),
 * which tells the script what to check:
 * - the preview listener serves the target: the switch has not moved yet, so this is the
 *   pre-switch check the test exists for;
 * - it serves the other color: the target is already live (its replicas changed in place, no
 *   switch in this update). The live listener serves the color the preview listener does not,
 *   so the target is checked there, by its status alone;
 * - an answer without the header comes from the proxy's bootstrap config: no color is routed
 *   yet (the first `up`), so there is nothing to check through the proxy and no traffic to
 *   protect; the health gate still guards the first switch.
 */
export const SMOKE_SCRIPT = `
const e = process.env;
const color = e.BLUEGREEN_SMOKE_COLOR, path = e.BLUEGREEN_SMOKE_PATH, want = Number(e.BLUEGREEN_SMOKE_STATUS);
const urls = { preview: e.BLUEGREEN_SMOKE_PREVIEW_URL + path, live: e.BLUEGREEN_SMOKE_URL + path };
const attempts = ${SMOKE_ATTEMPTS}, pause = ${SMOKE_INTERVAL_MS};
async function get(url) {
  try {
    const r = await fetch(url, { redirect: "manual", signal: AbortSignal.timeout(5000) });
    await r.arrayBuffer().catch(() => undefined);
    return { status: r.status, served: r.headers.get("x-bluegreen-color") };
  } catch (err) {
    return { status: 0, why: String((err.cause && err.cause.code) || err.message) };
  }
}
const what = (a) => (a.status ? "HTTP " + a.status + (a.served ? " from " + a.served : "") : "no answer (" + a.why + ")");
(async () => {
  let where = "preview", last;
  for (let n = 1; n <= attempts; n++) {
    if (n > 1) await new Promise((r) => setTimeout(r, pause));
    if (where === "preview") {
      last = await get(urls.preview);
      if (last.status && !last.served) {
        console.log("smoke test: " + urls.preview + " routes no color yet (first up); nothing to check before the first switch");
        return;
      }
      if (last.served && last.served !== color) where = "live";
    }
    // The live listener sends no color header: it serves the color the preview listener does not.
    if (where === "live") last = { ...(await get(urls.live)), served: color };
    if (last.served === color && last.status === want) {
      console.log("smoke test passed: " + color + " answered " + want + " on " + urls[where] + (where === "live" ? " (already live: no switch in this update)" : "") + " after " + n + " attempt(s)");
      return;
    }
  }
  const verdict = where === "preview" ? "traffic was not moved to " + color : color + " is already live (no switch in this update)";
  console.error("smoke test failed: GET " + urls[where] + " answered " + what(last) + ", expected " + want + " from " + color + ", after " + attempts + " attempts; " + verdict);
  process.exit(1);
})();
`;

/** What the test checks and where. */
export interface SmokeTestArgs {
    settings: SmokeTestSettings;
    /** The color the switch will route live traffic to. */
    target: pulumi.Input<Color>;
    /** Names of the target's replica containers: a new one (new image, env or count) re-runs the test. */
    targetContainers: pulumi.Input<string[]>;
    /** `http://host:port` of the preview and the live listener, as published on the host. */
    previewUrl: pulumi.Input<string>;
    url: pulumi.Input<string>;
}

/**
 * Declares the smoke test. It runs on create and whenever its triggers change (the engine
 * replaces it: `triggers` is replace-on-change in `@pulumi/command`), i.e. when the color about
 * to go live or its replicas change; an `up` that changes neither does not run it.
 */
export function declareSmokeTest(name: string, args: SmokeTestArgs, opts: pulumi.CustomResourceOptions): command.local.Command {
    // Loaded only by a stack that has a smoke test: a switch should not pay for a module it does not use.
    const { local } = require("@pulumi/command") as typeof command;
    return new local.Command(name, {
        interpreter: ["node", "-e", SMOKE_SCRIPT],
        // Appended to the interpreter as the script's first argument; also what the provider's
        // error names ("running \"bluegreen smoke test\"").
        create: "bluegreen smoke test",
        environment: {
            BLUEGREEN_SMOKE_COLOR: args.target,
            BLUEGREEN_SMOKE_PATH: args.settings.path,
            BLUEGREEN_SMOKE_STATUS: String(args.settings.status),
            BLUEGREEN_SMOKE_PREVIEW_URL: args.previewUrl,
            BLUEGREEN_SMOKE_URL: args.url,
        },
        triggers: [args.target, args.targetContainers],
        // The previous run's output is not an input of this one.
        addPreviousOutputInEnv: false,
    }, opts);
}
