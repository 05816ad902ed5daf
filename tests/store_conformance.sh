#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Runs the store conformance suite (the binary given, build/tests/test_store_conformance by default) on SQLite and on
# PostgreSQL: on the server REFD_TEST_PG_URL names when it is set, else on a throwaway cluster started here with
# tests/pgcluster.py and stopped when the run ends, however it ends. Exits with the suite's status.
#
# With --check-coverage it runs nothing and instead fails, naming them, when functions of src/store/store.h are
# called by no case of tests/unit/test_store_conformance.c.
set -u
here=$(dirname "$0")
if [ "${1:-}" = "--check-coverage" ]; then
	missing=$(grep -oE '\brf_(store|click_log)_[a-z0-9_]+\(' "$here/../src/store/store.h" | tr -d '(' | sort -u |
		while read -r f; do
			grep -qE "\\b$f\\(" "$here/unit/test_store_conformance.c" || echo "$f"
		done)
	if [ -n "$missing" ]; then
		echo "store functions no conformance case calls:" $missing
		exit 1
	fi
	echo "every function of src/store/store.h is called by the conformance suite"
	exit 0
fi
bin=${1:-build/tests/test_store_conformance}
if [ -n "${REFD_TEST_PG_URL:-}" ]; then
	exec "$bin"
fi
dir=$(mktemp -d "${TMPDIR:-/tmp}/refd-conformance-pg.XXXXXX")
trap 'python3 "$here/pgcluster.py" stop "$dir" >/dev/null' EXIT
trap 'exit 130' HUP INT TERM
REFD_TEST_PG_URL=$(python3 "$here/pgcluster.py" start "$dir") || exit 1
export REFD_TEST_PG_URL
"$bin"
