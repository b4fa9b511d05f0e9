// Renders the pull-request comment from `pulumi preview --json` output on stdin:
//   pulumi preview --json --show-sames --stack dev | node scripts/pr-comment.mjs dev > comment.md
// (--show-sames lists every resource, so that a stack with several services names the one that moves)
// The preview's exit code is the workflow's business; a failed preview still prints JSON with
// its diagnostics, and the comment says why it failed.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { renderComment } = require("../components/previewSummary.ts"); // Node >= 23.6 strips the types

const stack = process.argv[2] ?? "dev";
const input = readFileSync(0, "utf8");
let preview;
try {
    preview = JSON.parse(input);
} catch {
    preview = { steps: [], diagnostics: [{ severity: "error", message: input.trim().split("\n").slice(-5).join(" ") || "no output" }] };
}
process.stdout.write(renderComment(stack, preview));
