#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Lead ingest on SQLite and on PostgreSQL side by side: wrk with CLIENTS connections POSTs /api/v1/leads, a new
# prospect each time (bench/postgres/leads.lua), through the link codes of PARTNERS partners in turn, against refd on
# SQLite and refd on PostgreSQL, taking turns ROUNDS times. After each run it counts the leads the run added against
# the 201s wrk received, and at the end it checks that the program's rollups count every lead (a lost update would
# show there). Prints a Markdown table, then medians and ranges.
#
# Env: DURATION (default 10s), WARMUP (default 2s), CLIENTS (default 16), THREADS (refd workers, default 2),
#      PARTNERS (default 100), ROUNDS (default 5), CONTENDERS (default "sqlite pg"), BASE (another refd binary: adds
#      the contender "base", on its own PostgreSQL database), PG_URL (see bench/postgres/cluster.sh), REFD_ARGS.
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
CLIENTS=${CLIENTS:-16}
THREADS=${THREADS:-2}
PARTNERS=${PARTNERS:-100}
ROUNDS=${ROUNDS:-5}
CONTENDERS=${CONTENDERS:-sqlite pg}
BASE=${BASE:-}
[ -n "$BASE" ] && CONTENDERS="$CONTENDERS base"

for tool in wrk curl sqlite3 psql python3; do
	command -v "$tool" >/dev/null || { echo "missing tool: $tool (sh scripts/bootstrap.sh --bench)" >&2; exit 1; }
done
make -s all
. bench/postgres/cluster.sh
mkdir -p build
tmp=$(mktemp -d "$PWD/build/pg-leads.XXXXXX")
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	pg_stop
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ulimit -n 8192 2>/dev/null || true
REFD_SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
export REFD_SECRET_KEY

# setup NAME BINARY DB: migrates, starts refd, makes a program and PARTNERS partners with a link each; writes
# NAME.port, NAME.key, NAME.program and NAME.codes.
setup() {
	"$2" migrate --db "$3" >/dev/null
	"$2" apikey create --db "$3" --name bench --role admin 2>/dev/null >"$tmp/$1.key"
	"$2" serve --db "$3" --listen 127.0.0.1:0 --no-demo --quiet --threads "$THREADS" ${REFD_ARGS:-} >"$tmp/$1.log" 2>&1 &
	pids+=($!)
	for _ in $(seq 100); do grep -q listening "$tmp/$1.log" && break; sleep 0.1; done
	sed -n 's/.*"addr":"127.0.0.1:\([0-9]*\)".*/\1/p' "$tmp/$1.log" >"$tmp/$1.port"
	[ -s "$tmp/$1.port" ] || { echo "refd ($1) did not start:" >&2; cat "$tmp/$1.log" >&2; exit 1; }
	python3 - "$(cat "$tmp/$1.port")" "$(cat "$tmp/$1.key")" "$PARTNERS" "$tmp/$1" <<'PY'
import http.client, json, sys
port, key, n, out = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
conn = http.client.HTTPConnection("127.0.0.1", port)
def post(path, body):
    conn.request("POST", path, json.dumps(body), {"Authorization": "Bearer " + key, "Content-Type": "application/json"})
    r = conn.getresponse()
    data = json.loads(r.read())
    if r.status != 201:
        sys.exit("%s: %d %s" % (path, r.status, data))
    return data["id"]
prg = post("/api/v1/programs", {"name": "Bench", "currency": "usd"})
codes = []
for i in range(n):
    ptn = post("/api/v1/partners", {"program_id": prg, "name": "Partner %d" % i, "email": "p%d@partner.example" % i})
    post("/api/v1/links", {"partner_id": ptn, "code": "code%d" % i, "destination_url": "https://example.com/"})
    codes.append("code%d" % i)
open(out + ".program", "w").write(prg)
open(out + ".codes", "w").write(",".join(codes))
PY
}

pg_start
declare -A SQL
for c in $CONTENDERS; do
	case $c in
	sqlite)
		setup sqlite ./build/refd "$tmp/refd.db"
		SQL[sqlite]="sqlite3 $tmp/refd.db"
		;;
	pg)
		pg_createdb leads
		setup pg ./build/refd "$(pg_url leads)"
		SQL[pg]="pg_sql leads"
		;;
	base)
		pg_createdb leads_base
		setup base "$BASE" "$(pg_url leads_base)"
		SQL[base]="pg_sql leads_base"
		;;
	*) echo "unknown contender: $c" >&2; exit 2 ;;
	esac
done

drive() { # contender run duration [wrk options]
	local c=$1 run=$2 d=$3
	shift 3
	KEY=$(cat "$tmp/$c.key") PROGRAM=$(cat "$tmp/$c.program") CODES=$(cat "$tmp/$c.codes") RUN=$run \
		wrk -t2 -c"$CLIENTS" -d"$d" -s bench/postgres/leads.lua "$@" "http://127.0.0.1:$(cat "$tmp/$c.port")"
}
leads() { sleep 0.5; ${SQL[$1]} 'SELECT count(*) FROM leads'; }
field() { awk -v k="$2" '$1 == k {print $2}' "$1"; }
rps() { awk '/Requests\/sec/ {printf "%.0f", $2}' "$1"; }

echo "Lead ingest benchmark: $(nproc) cores, wrk -t2 -c$CLIENTS -d$DURATION, refd $THREADS workers, leads through" \
	"$PARTNERS partners' codes, $ROUNDS rounds; PostgreSQL $(psql -X -At "$PG_BASE_URL" -c 'SHOW server_version')"
echo
echo "| round | contender | leads/s | p50 | p90 | p99 | errors | 201s | leads added |"
echo "|---:|---|---:|---:|---:|---:|---|---:|---:|"
bad=0
for round in $(seq "$ROUNDS"); do
	for c in $CONTENDERS; do
		f="$tmp/$c-$round.txt"
		drive "$c" "w$round" "$WARMUP" >/dev/null 2>&1 || true
		before=$(leads "$c")
		drive "$c" "r$round" "$DURATION" --latency >"$f"
		after=$(leads "$c")
		errs=$(grep -E 'Socket errors|Non-2xx' "$f" | tr -s ' ' | tr '\n' ';' || true)
		got=$(($(awk '/requests in/ {print $1}' "$f") - $(awk '/Non-2xx/ {print $NF}' "$f" | grep . || echo 0)))
		added=$((after - before))
		[ "$added" -ge "$got" ] || bad=1
		echo "| $round | $c | $(rps "$f") | $(field "$f" 50%) | $(field "$f" 90%) | $(field "$f" 99%) | ${errs:-none} |" \
			"$got | $added |"
	done
done
echo
for c in $CONTENDERS; do
	for round in $(seq "$ROUNDS"); do rps "$tmp/$c-$round.txt"; echo; done | python3 -c '
import statistics, sys
v = [float(l) for l in sys.stdin if l.strip()]
print("%s: leads/s median %.0f (%.0f to %.0f)" % (sys.argv[1], statistics.median(v), min(v), max(v)))' "$c"
done
# The rollups the reports read must count every lead: the program's volume and its daily totals.
for c in $CONTENDERS; do
	n=$(${SQL[$c]} 'SELECT count(*) FROM leads')
	vol=$(${SQL[$c]} 'SELECT coalesce(sum(leads), 0) FROM rollup_volume')
	daily=$(${SQL[$c]} "SELECT coalesce(sum(leads), 0) FROM rollup_daily WHERE dim = 'all'")
	echo "$c: $n leads; the program's volume counts $vol, its daily rollups $daily"
	[ "$n" = "$vol" ] && [ "$n" = "$daily" ] || bad=1
done
[ "$bad" = 0 ] || { echo "a lead acknowledged with 201 is missing, or the rollups do not count every lead" >&2; exit 1; }
