#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Lints src/api/openapi.json with Redocly CLI's recommended rules (.redocly.yaml), the linter pinned in
# package.json / package-lock.json, which scripts/npm_packages.sh installs when node_modules is missing or was
# installed from another package-lock.json. Exits non-zero when the document has errors (warnings are printed only).
set -eu
cd "$(dirname "$0")/.."

sh scripts/npm_packages.sh

# No telemetry and no update check: the lint must not depend on reaching anything.
REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
	exec node_modules/.bin/redocly lint --config .redocly.yaml src/api/openapi.json
