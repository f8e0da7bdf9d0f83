#!/usr/bin/env bash
# run.sh — the browser tests: the UI against the mock API, then end to end against the real
# binary. Screenshots go to test-artifacts/browser/. Needs node (>= 18), chromium, and
# playwright-core (npm ci, run here when node_modules lacks it).
# Usage: tests/browser/run.sh [BUILD_DIR]    env: ATTNSERVE_BIN, ATTNSERVE_TEST_CONFIG, CHROMIUM_PATH
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
if [ ! -d node_modules/playwright-core ]; then
    npm ci --no-audit --no-fund
fi
export ATTNSERVE_BIN=${ATTNSERVE_BIN:-$build/server/attnserve}
node --test tests/browser/ui-mock.test.mjs
node --test tests/browser/e2e.test.mjs
