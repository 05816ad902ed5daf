#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Installs the Debian packages refd needs, and nothing already there; safe to run again.
#   (no option)  to build and run refd (make run)
#   --test       also what the tests and checks need (make test)
#   --bench      also what the benchmarks need (bench/*/run.sh)
set -eu

PKGS="build-essential pkg-config strace libevent-dev libhttp-parser-dev libjansson-dev libsqlite3-dev libsodium-dev libpq-dev \
libcurl4-openssl-dev python3 curl ca-certificates"
TEST=0
for arg in "$@"; do
	case "$arg" in
	--test)
		TEST=1
		# PostgreSQL (server, contrib for pg_trgm, client) for the tests that run everything on it too; aiosmtpd is
		# the real SMTP server the mail tests send to (run with Debian's own python3), openssl makes the
		# certificate of its STARTTLS.
		PKGS="$PKGS libcmocka-dev clang-format cppcheck sqlite3 clang libclang-rt-14-dev postgresql postgresql-contrib \
postgresql-client python3-aiosmtpd openssl"
		;;
	--bench) PKGS="$PKGS wrk nginx libmicrohttpd-dev sqlite3 postgresql postgresql-contrib postgresql-client" ;;
	*)
		echo "bootstrap: unknown option $arg" >&2
		exit 2
		;;
	esac
done

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

# npm fetches the pinned packages the web UI embeds (charts, QR codes) when refd is built; the tests also use
# Node.js for the OpenAPI linter and the browser tests. A machine may already have them from another source (with
# npm bundled), so they are looked for as commands, not as Debian packages.
if ! command -v node >/dev/null 2>&1; then
	missing="$missing nodejs"
fi
if ! command -v npm >/dev/null 2>&1; then
	missing="$missing npm"
fi

if [ "$TEST" = 1 ]; then
	# The browser tests drive Debian's Chromium (headless, with playwright-core from npm, which never downloads
	# a browser of its own); its recommended packages are not needed for that.
	if [ ! -x /usr/bin/chromium ]; then
		missing="$missing chromium"
	fi
fi

if [ -n "$missing" ]; then
	echo "bootstrap: installing$missing"
	SUDO=""
	if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -qq
	# shellcheck disable=SC2086
	$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
