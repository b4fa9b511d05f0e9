// Prints one closing line, "N passed, N failed, N skipped", from vitest's JSON reports, and
// fails when no test ran or any was skipped (a skip in CI is a failure here).
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";

const dir = process.argv[2];
let passed = 0, failed = 0, skipped = 0, failedFiles = 0;
for (const f of readdirSync(dir).filter((f) => f.endsWith(".json"))) {
    const r = JSON.parse(readFileSync(join(dir, f), "utf8"));
    passed += r.numPassedTests;
    failed += r.numFailedTests;
    skipped += r.numPendingTests + r.numTodoTests;
    // A file that fails before its tests run (a missing requirement in CI) counts no failed test.
    failedFiles += (r.testResults ?? []).filter((t) => t.status === "failed" && !(t.assertionResults ?? []).some((a) => a.status === "failed")).length;
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped${failedFiles ? `, ${failedFiles} files failed before their tests ran` : ""}`);
process.exit(failed > 0 || failedFiles > 0 || skipped > 0 || passed === 0 ? 1 : 0);
