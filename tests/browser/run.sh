#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Runs the browser tests (tests/browser/*.test.mjs) with node's test runner and prints its TAP output, which ends
# with node's summary ("# pass N", "# fail N", ...). Needs build/refd (REFD_BIN overrides), /usr/bin/chromium and
# sqlite3 (scripts/bootstrap.sh --test installs them) and the pinned playwright-core, which scripts/npm_packages.sh
# installs when node_modules is missing or was installed from another package-lock.json.
set -eu
cd "$(dirname "$0")/../.."

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	echo "browser tests: node and npm are needed (scripts/bootstrap.sh --test installs them)" >&2
	exit 2
fi
# playwright-core never downloads a browser by itself; this also keeps any tool from trying.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

sh scripts/npm_packages.sh

# Each case has its own time limit; this bounds the whole run (a hung browser or server included).
exec timeout -k 5 240 node --test --test-reporter=tap tests/browser/*.test.mjs
