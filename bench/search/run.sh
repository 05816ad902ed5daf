#!/bin/sh
# Search benchmark: 100,000 partners, wrk against GET /api/v1/partners?q= (a mix of query shapes), beside the
# plain list and /healthz on the same server in the same run, plus single-query latencies per shape.
set -eu
cd "$(dirname "$0")/../.."
N=${PARTNERS:-100000}
DURATION=${DURATION:-10s}
CONNS=${CONNS:-16}
WORK=$(mktemp -d)
trap 'kill $PID 2>/dev/null || true; rm -rf "$WORK"' EXIT INT TERM
make -s all
DB="$WORK/bench.db"
./build/refd bench-data --db "$DB" --partners "$N" >/dev/null
REFD_KEY=$(./build/refd apikey create --db "$DB" --name bench --role admin 2>/dev/null)
export REFD_KEY
./build/refd serve --db "$DB" --listen 127.0.0.1:0 --no-demo --quiet >"$WORK/log" 2>&1 &
PID=$!
for _ in $(seq 50); do grep -q listening "$WORK/log" && break; sleep 0.1; done
PORT=$(sed -n 's/.*"addr":"127.0.0.1:\([0-9]*\)".*/\1/p' "$WORK/log")
URL="http://127.0.0.1:$PORT"
echo "refd search benchmark: $N partners, wrk -t2 -c$CONNS -d$DURATION, $(nproc) cores"
echo
echo "| endpoint | req/s | p50 | p99 |"
echo "|---|---|---|---|"
for mode in health list search; do
	# A short warm-up fills SQLite's page cache on every worker's connection.
	MODE=$mode wrk -t2 -c"$CONNS" -d2s -s bench/search/queries.lua "$URL" >/dev/null
	out=$(MODE=$mode wrk -t2 -c"$CONNS" -d"$DURATION" --latency -s bench/search/queries.lua "$URL")
	rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
	p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
	p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
	non2xx=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
	echo "| $mode | $rps | $p50 | $p99 |${non2xx:+ non-2xx: $non2xx}"
done
echo
echo "Single queries, one connection, median of 20 after warm-up (ms):"
echo
echo "| q | results | median ms | max ms |"
echo "|---|---|---|---|"
python3 - "$URL" <<'PY'
import http.client, json, os, statistics, sys, time, urllib.parse
url = sys.argv[1].split("//")[1]
host, port = url.split(":")
key = os.environ["REFD_KEY"]
conn = http.client.HTTPConnection(host, int(port))
for q in ["m", "ma", "maria", "maria lopez", "lopez consulting", "zanele", "maria.lopez17008@example.com",
          "example.com", "nobody-matches-this"]:
    path = "/api/v1/partners?limit=20&q=" + urllib.parse.quote(q)
    times = []
    for i in range(22):
        t0 = time.perf_counter()
        conn.request("GET", path, headers={"Authorization": "Bearer " + key})
        r = conn.getresponse()
        body = json.loads(r.read())
        if i >= 2:
            times.append((time.perf_counter() - t0) * 1000)
    print("| %s | %d%s | %.2f | %.2f |" % (q, len(body["data"]), "+" if body["has_more"] else "",
                                         statistics.median(times), max(times)))
PY
