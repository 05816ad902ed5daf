#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# API writes beside the click stream: while wrk sends redirects on CONNS keep-alive connections, WRITES
# POST /api/v1/partners are made one every GAP_MS on a connection of their own, and their latencies are printed
# (median, p90, max) with the redirects' rate, ROUNDS times. This is the measurement behind docs/PERFORMANCE.md's
# "API writes beside the click stream"; tests/integration/test_click_load.py only checks that such writes succeed
# and are not starved, since timings are not stable enough for a test on a shared machine.
#
# Env: CONNS (default 64), THREADS (refd workers, default 2), WRITES (default 40), GAP_MS (default 100),
#      WARMUP_S (redirects alone before the first write, default 1), ROUNDS (default 3), REFD_ARGS.
set -euo pipefail
cd "$(dirname "$0")/../.."
CONNS=${CONNS:-64}
THREADS=${THREADS:-2}
WRITES=${WRITES:-40}
GAP_MS=${GAP_MS:-100}
WARMUP_S=${WARMUP_S:-1}
ROUNDS=${ROUNDS:-3}

for tool in wrk curl python3; do
	command -v "$tool" >/dev/null || { echo "missing tool: $tool (sh scripts/bootstrap.sh --bench)" >&2; exit 1; }
done
make -s all
# The database on the repository's disk (as the redirect benchmark's): each click waits for a flush to it.
mkdir -p build
tmp=$(mktemp -d build/api-writes.XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ulimit -n 8192 2>/dev/null || true

db="$tmp/refd.db"
./build/refd migrate --db "$db" >/dev/null
key=$(./build/refd apikey create --db "$db" --name bench --role admin 2>/dev/null)
./build/refd serve --db "$db" --listen 127.0.0.1:0 --no-demo --quiet --threads "$THREADS" ${REFD_ARGS:-} >"$tmp/refd.log" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q listening "$tmp/refd.log" && break; sleep 0.1; done
port=$(sed -n 's/.*"addr":"127.0.0.1:\([0-9]*\)".*/\1/p' "$tmp/refd.log")
api() { curl -sf -H "Authorization: Bearer $key" -H 'Content-Type: application/json' "$@"; }
id() { python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'; }
prg=$(api -d '{"name":"Bench","currency":"usd"}' "http://127.0.0.1:$port/api/v1/programs" | id)
ptn=$(api -d "{\"program_id\":\"$prg\",\"name\":\"Bench Partner\",\"email\":\"bench@partner.example\"}" \
	"http://127.0.0.1:$port/api/v1/partners" | id)
api -d "{\"partner_id\":\"$ptn\",\"code\":\"benchcode\",\"destination_url\":\"https://example.com/landing\"}" \
	"http://127.0.0.1:$port/api/v1/links" >/dev/null

# Made from Python so that each write's time is its own: connect, send, read the whole answer.
writes() { # round
	python3 - "$port" "$key" "$prg" "$WRITES" "$GAP_MS" "$1" <<'PY'
import http.client, json, statistics, sys, time
port, key, prg, n, gap, rnd = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
took, bad = [], 0
for i in range(n):
    body = json.dumps({"program_id": prg, "name": "Busy %s-%d" % (rnd, i), "email": "busy%s-%d@bench.example" % (rnd, i)})
    t0 = time.monotonic()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("POST", "/api/v1/partners", body, {"Authorization": "Bearer " + key, "Content-Type": "application/json"})
    r = c.getresponse()
    r.read()
    c.close()
    took.append((time.monotonic() - t0) * 1000)
    bad += r.status != 201
    time.sleep(gap / 1000)
took.sort()
print("%.1f %.1f %.1f %d" % (statistics.median(took), took[max(0, int(len(took) * 0.9) - 1)], took[-1], bad))
PY
}

ua='Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36'
# Long enough for the warm-up and every write with its gap, at a generous 50 ms a write.
secs=$((WARMUP_S + 1 + WRITES * (GAP_MS + 50) / 1000))
echo "API writes beside redirects: $(nproc) cores, wrk -t2 -c$CONNS for ${secs}s, refd $THREADS workers," \
	"$WRITES writes every $GAP_MS ms"
echo
echo "| round | redirects req/s | write median ms | p90 ms | max ms | writes not 201 |"
echo "|---:|---:|---:|---:|---:|---:|"
for round in $(seq "$ROUNDS"); do
	wrk -t2 -c"$CONNS" -d"${secs}s" -H "User-Agent: $ua" "http://127.0.0.1:$port/r/benchcode" >"$tmp/wrk-$round.txt" &
	wpid=$!
	sleep "$WARMUP_S"
	read -r med p90 max bad < <(writes "$round")
	wait "$wpid"
	rps=$(awk '/Requests\/sec/ {print $2}' "$tmp/wrk-$round.txt")
	echo "| $round | $rps | $med | $p90 | $max | $bad |"
done
