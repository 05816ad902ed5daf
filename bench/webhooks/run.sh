#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Webhooks, two measurements side by side in one run, on SQLite:
#
# 1. Delivery rate: ENDPOINTS endpoints (each wanting lead.created) on one local receiver (tests/integration/
#    webhook_receiver.mjs, answering 200 at once); LEADS leads are written while no process sends, so that
#    LEADS x ENDPOINTS deliveries wait; then a refd that sends (--webhook-concurrency CONCURRENCY) starts on the
#    database, and the rate is the deliveries over the time from the receiver's first delivery to its last. Every
#    delivery is checked delivered in the database afterwards. The receiver verifies every signature with the npm
#    standardwebhooks and svix libraries when VERIFY=1 (it then competes with refd for the cores; by default it
#    only counts).
# 2. The cost of events on lead ingest: wrk with CLIENTS connections POSTs /api/v1/leads (bench/postgres/leads.lua)
#    against four refd processes taking turns ROUNDS times: a build without events (-DRF_BENCH_NO_EVENTS: no event
#    written, nothing queued), events with no endpoint, events fanned out to FEW endpoints while no process sends
#    (queued only), and the same with the sender delivering them to the receiver as they come.
#
# Prints Markdown tables, then medians and ranges. Env: ENDPOINTS (64), LEADS (500), CONCURRENCY (64), VERIFY (0),
# DURATION (10s), WARMUP (2s), CLIENTS (16), THREADS (refd workers, 2), PARTNERS (20), FEW (4), ROUNDS (5),
# REFD_ARGS.
set -euo pipefail
cd "$(dirname "$0")/../.."
ENDPOINTS=${ENDPOINTS:-64}
LEADS=${LEADS:-500}
CONCURRENCY=${CONCURRENCY:-64}
VERIFY=${VERIFY:-0}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
CLIENTS=${CLIENTS:-16}
THREADS=${THREADS:-2}
PARTNERS=${PARTNERS:-20}
FEW=${FEW:-4}
ROUNDS=${ROUNDS:-5}

for tool in wrk curl sqlite3 python3 node; do
	command -v "$tool" >/dev/null || { echo "missing tool: $tool (sh scripts/bootstrap.sh --bench)" >&2; exit 1; }
done
make -s all
sh scripts/npm_packages.sh
# The same sources built without events, for the baseline of the second measurement.
make -s B=build/noevents CFLAGS="-O2 -g -DRF_BENCH_NO_EVENTS" build/noevents/refd
mkdir -p build
tmp=$(mktemp -d "$PWD/build/webhooks-bench.XXXXXX")
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ulimit -n 8192 2>/dev/null || true

node tests/integration/webhook_receiver.mjs >"$tmp/receiver.out" 2>"$tmp/receiver.err" &
pids+=($!)
for _ in $(seq 100); do [ -s "$tmp/receiver.out" ] && break; sleep 0.1; done
rport=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["port"])' "$tmp/receiver.out")
control() { curl -sf -H 'Content-Type: application/json' "$@"; }
control -d "{\"record\": false, \"verify\": $([ "$VERIFY" = 1 ] && echo true || echo false)}" \
	"http://127.0.0.1:$rport/_control" >/dev/null

# serve NAME BINARY DB [serve options]: starts refd, writes NAME.port; its pid is the last of pids.
serve() {
	local name=$1 bin=$2 db=$3
	shift 3
	"$bin" serve --db "$db" --listen 127.0.0.1:0 --no-demo --quiet --threads "$THREADS" --webhook-allow-private \
		${REFD_ARGS:-} "$@" >"$tmp/$name.log" 2>&1 &
	pids+=($!)
	for _ in $(seq 100); do grep -q listening "$tmp/$name.log" && break; sleep 0.1; done
	sed -n 's/.*"addr":"127.0.0.1:\([0-9]*\)".*/\1/p' "$tmp/$name.log" | head -1 >"$tmp/$name.port"
	[ -s "$tmp/$name.port" ] || { echo "refd ($name) did not start:" >&2; cat "$tmp/$name.log" >&2; exit 1; }
}

# populate NAME ENDPOINTS: a program, PARTNERS partners with a link each (NAME.program, NAME.codes), and ENDPOINTS
# endpoints on the receiver wanting lead.created (their secrets given to the receiver).
populate() {
	python3 - "$(cat "$tmp/$1.port")" "$(cat "$tmp/$1.key")" "$PARTNERS" "$2" "$rport" "$tmp/$1" <<'PY'
import http.client, json, sys
port, key, n, endpoints, rport, out = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
conn = http.client.HTTPConnection("127.0.0.1", port)
def post(path, body):
    conn.request("POST", path, json.dumps(body), {"Authorization": "Bearer " + key, "Content-Type": "application/json"})
    r = conn.getresponse()
    data = json.loads(r.read())
    if r.status != 201:
        sys.exit("%s: %d %s" % (path, r.status, data))
    return data
prg = post("/api/v1/programs", {"name": "Bench", "currency": "usd"})["id"]
codes = []
for i in range(n):
    ptn = post("/api/v1/partners", {"program_id": prg, "name": "Partner %d" % i, "email": "p%d@partner.example" % i})["id"]
    post("/api/v1/links", {"partner_id": ptn, "code": "code%d" % i, "destination_url": "https://example.com/"})
    codes.append("code%d" % i)
secrets = {}
for i in range(endpoints):
    path = "/%s-%d" % (out.rsplit("/", 1)[1], i)
    ep = post("/api/v1/webhook-endpoints", {"url": "http://127.0.0.1:%d%s" % (rport, path), "event_types": ["lead.created"]})
    secrets[path] = [ep["secret"]]
rc = http.client.HTTPConnection("127.0.0.1", rport)
rc.request("POST", "/_control", json.dumps({"secrets": secrets}), {"Content-Type": "application/json"})
rc.getresponse().read()
open(out + ".program", "w").write(prg)
open(out + ".codes", "w").write(",".join(codes))
PY
}

prepare() { # NAME BINARY: a database with its key
	"$2" migrate --db "$tmp/$1.db" >/dev/null
	"$2" apikey create --db "$tmp/$1.db" --name bench --role admin 2>/dev/null >"$tmp/$1.key"
}

drive() { # name run duration [wrk options]
	local c=$1 run=$2 d=$3
	shift 3
	KEY=$(cat "$tmp/$c.key") PROGRAM=$(cat "$tmp/$c.program") CODES=$(cat "$tmp/$c.codes") RUN=$run \
		wrk -t2 -c"$CLIENTS" -d"$d" -s bench/postgres/leads.lua "$@" "http://127.0.0.1:$(cat "$tmp/$c.port")"
}
rps() { awk '/Requests\/sec/ {printf "%.0f", $2}' "$1"; }
counts() { curl -sf "http://127.0.0.1:$rport/_control/counts"; }

echo "Webhooks benchmark: $(nproc) cores, SQLite, refd $THREADS workers"
echo

# ---- 1. the delivery rate ----
prepare rate ./build/refd
serve rate ./build/refd "$tmp/rate.db" --webhook-concurrency 0
populate rate "$ENDPOINTS"
LEADS_N=$LEADS python3 - "$(cat "$tmp/rate.port")" "$(cat "$tmp/rate.key")" "$(cat "$tmp/rate.program")" <<'PY'
import http.client, json, os, sys
port, key, prg = int(sys.argv[1]), sys.argv[2], sys.argv[3]
conn = http.client.HTTPConnection("127.0.0.1", port)
for i in range(int(os.environ["LEADS_N"])):
    conn.request("POST", "/api/v1/leads", json.dumps({"program_id": prg, "email": "rate%d@bench.example" % i}),
                 {"Authorization": "Bearer " + key, "Content-Type": "application/json"})
    r = conn.getresponse()
    r.read()
    assert r.status == 201, r.status
PY
kill -TERM "${pids[-1]}"
wait "${pids[-1]}" 2>/dev/null || true
want=$((LEADS * ENDPOINTS))
queued=$(sqlite3 "$tmp/rate.db" "SELECT count(*) FROM deliveries WHERE status = 'pending'")
[ "$queued" = "$want" ] || { echo "expected $want deliveries waiting, found $queued" >&2; exit 1; }
control -d '{"reset": true}' "http://127.0.0.1:$rport/_control" >/dev/null
SECONDS=0
serve rate-send ./build/refd "$tmp/rate.db" --webhook-concurrency "$CONCURRENCY"
while :; do
	got=$(counts | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')
	[ "$got" -ge "$want" ] && break
	[ "$SECONDS" -gt 300 ] && { echo "only $got of $want deliveries in 300 s" >&2; exit 1; }
	sleep 0.2
done
sleep 1 # the last outcomes recorded
delivered=$(sqlite3 "$tmp/rate.db" "SELECT count(*) FROM deliveries WHERE status = 'delivered'")
attempts=$(sqlite3 "$tmp/rate.db" "SELECT count(*) FROM delivery_attempts")
counts | python3 -c '
import json, sys
c = json.load(sys.stdin)
want, delivered, attempts, conc, eps, verify = (int(x) for x in sys.argv[1:7])
secs = (c["last_ms"] - c["first_ms"]) / 1000
print("| deliveries | endpoints | in flight at most | receiver verifies | seconds | deliveries/s | delivered in the database | attempts | not verified |")
print("|---:|---:|---:|---|---:|---:|---:|---:|---:|")
print("| %d | %d | %d | %s | %.2f | %.0f | %d | %d | %s |" % (want, eps, conc, "yes" if verify else "no", secs, c["total"] / secs,
      delivered, attempts, c["bad"] if verify else "-"))
if delivered != want or c["ids"] != want // eps:
    sys.exit("a delivery is missing: %d delivered, %d distinct webhook-ids" % (delivered, c["ids"]))
' "$want" "$delivered" "$attempts" "$CONCURRENCY" "$ENDPOINTS" "$VERIFY"
kill -TERM "${pids[-1]}"
wait "${pids[-1]}" 2>/dev/null || true
echo

# ---- 2. events on lead ingest ----
CONTENDERS="no-events events-0 events-$FEW-queued events-$FEW-sent"
prepare no-events ./build/noevents/refd
serve no-events ./build/noevents/refd "$tmp/no-events.db" --webhook-concurrency 0
populate no-events 0
prepare events-0 ./build/refd
serve events-0 ./build/refd "$tmp/events-0.db"
populate events-0 0
prepare "events-$FEW-queued" ./build/refd
serve "events-$FEW-queued" ./build/refd "$tmp/events-$FEW-queued.db" --webhook-concurrency 0
populate "events-$FEW-queued" "$FEW"
prepare "events-$FEW-sent" ./build/refd
serve "events-$FEW-sent" ./build/refd "$tmp/events-$FEW-sent.db" --webhook-concurrency "$CONCURRENCY"
populate "events-$FEW-sent" "$FEW"

echo "Lead ingest: wrk -t2 -c$CLIENTS -d$DURATION POST /api/v1/leads through $PARTNERS partners' codes, $ROUNDS rounds"
echo
echo "| round | contender | leads/s | p50 | p99 | non-2xx |"
echo "|---:|---|---:|---:|---:|---:|"
for round in $(seq "$ROUNDS"); do
	for c in $CONTENDERS; do
		f="$tmp/$c-$round.txt"
		drive "$c" "w$round" "$WARMUP" >/dev/null 2>&1 || true
		drive "$c" "r$round" "$DURATION" --latency >"$f"
		non2xx=$(awk '/Non-2xx/ {print $NF}' "$f" | grep . || echo 0)
		echo "| $round | $c | $(rps "$f") | $(awk '$1 == "50%" {print $2}' "$f") | $(awk '$1 == "99%" {print $2}' "$f") | $non2xx |"
	done
done
echo
for c in $CONTENDERS; do
	for round in $(seq "$ROUNDS"); do rps "$tmp/$c-$round.txt"; echo; done | python3 -c '
import statistics, sys
v = [float(l) for l in sys.stdin if l.strip()]
print("%s: leads/s median %.0f (%.0f to %.0f)" % (sys.argv[1], statistics.median(v), min(v), max(v)))' "$c"
done
# What the events wrote: events per lead, and the deliveries of the contender that sends, all delivered.
for c in $CONTENDERS; do
	echo "$c: $(sqlite3 "$tmp/$c.db" 'SELECT count(*) FROM leads') leads," \
		"$(sqlite3 "$tmp/$c.db" 'SELECT count(*) FROM events') events," \
		"$(sqlite3 "$tmp/$c.db" "SELECT count(*) FROM deliveries") deliveries" \
		"($(sqlite3 "$tmp/$c.db" "SELECT count(*) FROM deliveries WHERE status = 'delivered'") delivered)"
done
