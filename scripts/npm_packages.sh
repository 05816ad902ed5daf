#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Installs the npm packages that package-lock.json pins (npm ci, without install scripts) unless node_modules
# already holds them, as its stamp says. Callers that run at the same time (the integration modules, the browser
# suite, the build) wait for one install under a lock instead of rewriting node_modules under each other.
set -eu
cd "$(dirname "$0")/.."

if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
	echo "npm_packages: node and npm are needed (scripts/bootstrap.sh --test installs them)" >&2
	exit 2
fi

stamp=node_modules/.refd-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
current() {
	[ -f node_modules/playwright-core/package.json ] && [ -f node_modules/stripe/package.json ] &&
		[ -f node_modules/standardwebhooks/package.json ] && [ -f node_modules/svix/package.json ] &&
		[ -x node_modules/.bin/redocly ] && [ "$(cat "$stamp" 2>/dev/null || true)" = "$want" ]
}
current && exit 0

# The lock is taken on package-lock.json itself, read-only: no lock file to create or clean up.
exec 9<package-lock.json
flock 9
current && exit 0
echo "installing the pinned npm packages (npm ci)" >&2
# No install scripts: the only package with one (core-js) merely prints a message.
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2
echo "$want" >"$stamp"
