#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Imports of ROWS rows (1,000,000 by default): the script writes the files itself (PARTNERS partners, then ROWS
# leads credited to them by email, then, with SALES=1, ROWS sales of those leads' customers, each with its
# commission), imports them into a fresh database with `refd import` (or, with MODE=api, through POST
# /api/v1/imports of a running refd, reading the import's progress with GET /api/v1/imports/{id}), and prints the
# time, the rate and refd's peak memory of each. This is the measurement behind docs/PERFORMANCE.md's "Imports".
#
# Env: ROWS (default 1000000), PARTNERS (default 1000), SALES (0 or 1, default 0), MODE (cli or api, default cli),
#      DB (a postgres:// URL to run on PostgreSQL; default a SQLite file under build/), BATCH_MS (the CLI's
#      --batch-ms, default 1000).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROWS=${ROWS:-1000000}
PARTNERS=${PARTNERS:-1000}
SALES=${SALES:-0}
MODE=${MODE:-cli}
BATCH_MS=${BATCH_MS:-1000}

for tool in curl python3; do
	command -v "$tool" >/dev/null || { echo "missing tool: $tool" >&2; exit 1; }
done
make -s all
mkdir -p build
tmp=$(mktemp -d build/imports-bench.XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

db=${DB:-$tmp/refd.db}
if [ -z "${DB:-}" ]; then
	:
elif [ -z "${REFD_SECRET_KEY:-}" ]; then
	REFD_SECRET_KEY=$(python3 -c 'import os; print(os.urandom(32).hex())')
	export REFD_SECRET_KEY
fi
./build/refd migrate --db "$db" >/dev/null
key=$(./build/refd apikey create --db "$db" --name bench --role admin 2>/dev/null)
./build/refd serve --db "$db" --listen 127.0.0.1:0 --no-demo --quiet --threads 2 >"$tmp/refd.log" 2>"$tmp/refd.err" &
pid=$!
port=
for _ in $(seq 200); do
	port=$(sed -n 's/.*"msg":"listening".*"addr":"[^"]*:\([0-9]*\)".*/\1/p' "$tmp/refd.log" | head -1)
	[ -n "$port" ] && break
	sleep 0.05
done
[ -n "$port" ] || { echo "refd did not start" >&2; cat "$tmp/refd.err" >&2; exit 1; }
api() { curl -sf -H "Authorization: Bearer $key" "$@"; }
prog=$(api -X POST -H 'Content-Type: application/json' -d '{"name":"Bench","currency":"usd"}' \
	"http://127.0.0.1:$port/api/v1/programs" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
api -X POST -H 'Content-Type: application/json' \
	-d "{\"program_id\":\"$prog\",\"name\":\"Standard\",\"default\":true,\"rules\":{\"sale_bps\":2000}}" \
	"http://127.0.0.1:$port/api/v1/plans" >/dev/null

# The files: written here, so that the numbers come with nothing to download.
python3 - "$tmp" "$ROWS" "$PARTNERS" <<'PY'
import sys
d, rows, partners = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(d + "/partners.csv", "w") as f:
    f.write("email,name,company\n")
    for i in range(partners):
        f.write("partner%d@bench.example,Partner %d,\"Company %d, Ltd\"\n" % (i, i, i))
with open(d + "/leads.csv", "w") as f:
    f.write("email,external_id,name,partner_email,created_at\n")
    for i in range(rows):
        f.write("lead%d@buyer.example,crm-%d,Lead %d,partner%d@bench.example,2026-01-%02d\n"
                % (i, i, i, i % partners, 1 + i % 28))
with open(d + "/sales.csv", "w") as f:
    f.write("external_id,email,amount,currency,partner_email,occurred_at\n")
    for i in range(rows):
        f.write("inv-%d,lead%d@buyer.example,%d.%02d,usd,partner%d@bench.example,2026-02-%02d\n"
                % (i, i, 10 + i % 990, i % 100, i % partners, 1 + i % 28))
PY
echo "files: $(du -h "$tmp/leads.csv" | cut -f1) of leads, $(du -h "$tmp/sales.csv" | cut -f1) of sales; $(nproc) cores;" \
	"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); load $(cut -d' ' -f1-3 /proc/loadavg)"

run_cli() { # type file
	/usr/bin/time -f "%e %M" -o "$tmp/time" ./build/refd import --db "$db" --type "$1" --file "$2" --program "$prog" \
		--batch-ms "$BATCH_MS" --errors 5 >"$tmp/report.json" 2>"$tmp/import.err" || true
	read -r secs kb <"$tmp/time"
	python3 - "$1" "$secs" "$kb" "$tmp/report.json" <<'PY'
import json, sys
t, secs, kb, rep = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), json.load(open(sys.argv[4]))
print("cli %-8s rows %9d created %9d existing %9d failed %6d  %7.1f s  %8.0f rows/s  peak %d MB  transactions %d"
      % (t, rep["rows"], rep["created"], rep["existing"], rep["failed"], secs, rep["rows"] / secs, kb // 1024,
         rep["transactions"]))
PY
}

run_api() { # type file
	local t0 id
	t0=$(date +%s.%N)
	id=$(api -X POST -H 'Content-Type: text/csv' --data-binary "@$2" \
		"http://127.0.0.1:$port/api/v1/imports?type=$1&program_id=$prog" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
	while :; do
		api "http://127.0.0.1:$port/api/v1/imports/$id" >"$tmp/report.json"
		status=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["status"])' "$tmp/report.json")
		[ "$status" = running ] || break
		sleep 0.5
	done
	python3 - "$1" "$t0" "$(date +%s.%N)" "$tmp/report.json" "$(grep VmHWM /proc/$pid/status | awk '{print $2}')" <<'PY'
import json, sys
t, t0, t1, rep, kb = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), json.load(open(sys.argv[4])), int(sys.argv[5])
secs = t1 - t0
print("api %-8s rows %9d created %9d existing %9d failed %6d  %7.1f s  %8.0f rows/s  refd peak %d MB  %s"
      % (t, rep["rows"], rep["created"], rep["existing"], rep["failed"], secs, rep["rows"] / secs, kb // 1024,
         rep["status"]))
PY
}

"run_$MODE" partners "$tmp/partners.csv"
"run_$MODE" leads "$tmp/leads.csv"
[ "$SALES" = 1 ] && "run_$MODE" sales "$tmp/sales.csv"
# The same leads again: every row is found, nothing is written.
"run_$MODE" leads "$tmp/leads.csv"
