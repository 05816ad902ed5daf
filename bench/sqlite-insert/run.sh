#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# SQLite's own CPU per click row (the floor under the click writer): bench/sqlite-insert/insert.c with a few
# transaction and statement sizes, each on a new database under DIR (default: a temporary directory on the same
# disk as the repository). Prints a Markdown table.
set -euo pipefail
cd "$(dirname "$0")"
if [ -n "${DIR:-}" ]; then
	dir=$DIR
	trap 'rm -f "$dir"/bench.db* "$dir/insert"' EXIT
else
	mkdir -p ../../build
	dir=$(mktemp -d ../../build/sqlite-insert.XXXXXX)
	trap 'rm -rf "$dir"' EXIT
fi
cc -O2 -o "$dir/insert" insert.c -lsqlite3
echo "| rows per transaction | rows per INSERT | CPU per row | of which user |"
echo "|---:|---:|---:|---:|"
for shape in "32 1" "32 16" "16 16" "1024 16"; do
	set -- $shape
	rm -f "$dir"/bench.db*
	"$dir/insert" "$dir/bench.db" "$1" "$2"
done
