#!/usr/bin/env bash
# Runs one vitest project; extra arguments filter files (`npm run test:e2e -- kubernetes`).
# With BLUEGREEN_TEST_REPORT_DIR set, also writes a JSON report there for the CI summary.
set -euo pipefail
project="$1"; shift
report=()
if [[ -n "${BLUEGREEN_TEST_REPORT_DIR:-}" ]]; then
  report=(--reporter=default --reporter=json --outputFile.json="$BLUEGREEN_TEST_REPORT_DIR/$project.json")
fi
exec vitest run --project "$project" "${report[@]}" "$@"
