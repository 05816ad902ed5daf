#!/bin/sh
# Lints src/api/openapi.json with Redocly CLI's recommended rules (.redocly.yaml), the linter pinned in
# package.json / package-lock.json. Installs it with `npm ci` only when node_modules is missing or was installed
# from another package-lock.json. Exits non-zero when the document has errors (warnings are printed only).
set -eu
cd "$(dirname "$0")/.."

if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
	echo "lint_openapi: node and npm are needed (Debian: apt-get install nodejs npm)" >&2
	exit 2
fi

stamp=node_modules/.refd-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
have=$(cat "$stamp" 2>/dev/null || true)
if [ ! -x node_modules/.bin/redocly ] || [ "$want" != "$have" ]; then
	echo "lint_openapi: installing the pinned linter (npm ci)" >&2
	# No install scripts: the only package with one (core-js) merely prints a message.
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2
	echo "$want" >"$stamp"
fi

# No telemetry and no update check: the lint must not depend on reaching anything.
REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
	exec node_modules/.bin/redocly lint --config .redocly.yaml src/api/openapi.json
