#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Report benchmark: a program with 10,000 partners, 10 million clicks, 1 million leads and 100,000 sales with
# their commissions over a year (refd bench-data), then every dashboard report timed over HTTP, one connection,
# median and max of 20 after warm-up, beside /healthz on the same server in the same run.
#   DB=/path/keep.db bench/reports/run.sh   reuses (or keeps) the generated database, which takes a while to make.
#   PG=postgres://… bench/reports/run.sh    also serves the same data from that PostgreSQL database (made from the
#                                          SQLite file with refd db copy), and the two servers take turns request
#                                          by request; the rows of each report must be the same on both.
set -eu
cd "$(dirname "$0")/../.."
PARTNERS=${PARTNERS:-10000}
CLICKS=${CLICKS:-10000000}
LEADS=${LEADS:-1000000}
SALES=${SALES:-100000}
PG=${PG:-}
WORK=$(mktemp -d)
trap 'kill $PID $PG_PID 2>/dev/null || true; rm -rf "$WORK"' EXIT INT TERM
PID=
PG_PID=
make -s all
DB=${DB:-$WORK/bench.db}
if [ ! -s "$DB" ]; then
	echo "generating $PARTNERS partners, $CLICKS clicks, $LEADS leads, $SALES sales (once)..." >&2
	start=$(date +%s)
	./build/refd bench-data --db "$DB" --partners "$PARTNERS" --clicks "$CLICKS" --leads "$LEADS" --sales "$SALES" \
		--days 365 >/dev/null
	echo "generated in $(($(date +%s) - start)) s" >&2
fi
REFD_KEY=$(./build/refd apikey create --db "$DB" --name bench --role admin 2>/dev/null)
export REFD_KEY
./build/refd serve --db "$DB" --listen 127.0.0.1:0 --no-demo --quiet --threads 2 >"$WORK/log" 2>&1 &
PID=$!
for _ in $(seq 100); do grep -q listening "$WORK/log" && break; sleep 0.1; done
PORT=$(sed -n 's/.*"addr":"127.0.0.1:\([0-9]*\)".*/\1/p' "$WORK/log")
SERVERS="sqlite:$PORT:$REFD_KEY"
SIZE="database $(du -m "$DB" | cut -f1) MB"
if [ -n "$PG" ]; then
	# The instance key only seals tax ids and secrets, which no report reads: any key serves.
	REFD_SECRET_KEY=${REFD_SECRET_KEY:-$(python3 -c 'import secrets; print(secrets.token_hex(32))')}
	export REFD_SECRET_KEY
	PG_KEY=$(./build/refd apikey create --db "$PG" --name bench --role admin 2>/dev/null)
	./build/refd serve --db "$PG" --listen 127.0.0.1:0 --no-demo --quiet --threads 2 >"$WORK/pg.log" 2>&1 &
	PG_PID=$!
	for _ in $(seq 100); do grep -q listening "$WORK/pg.log" && break; sleep 0.1; done
	PG_PORT=$(sed -n 's/.*"addr":"127.0.0.1:\([0-9]*\)".*/\1/p' "$WORK/pg.log")
	SERVERS="$SERVERS postgres:$PG_PORT:$PG_KEY"
	SIZE="$SIZE in SQLite, $(psql -X -At "$PG" -c 'SELECT pg_database_size(current_database()) / 1048576') MB in PostgreSQL"
fi
echo "refd report benchmark: $PARTNERS partners, $CLICKS clicks, $LEADS leads, $SALES sales over 365 days;" \
	"$(nproc) cores; $SIZE"
echo
if [ -n "$PG" ]; then
	echo "| report | rows | SQLite median ms | SQLite max ms | PostgreSQL median ms | PostgreSQL max ms |"
	echo "|---|---|---|---|---|---|"
else
	echo "| report | rows | median ms | max ms |"
	echo "|---|---|---|---|"
fi
# shellcheck disable=SC2086 # one argument per server
python3 - $SERVERS <<'PY'
import http.client, json, os, statistics, sys, time
servers = []
for arg in sys.argv[1:]:
    name, port, key = arg.split(":", 2)
    servers.append((name, http.client.HTTPConnection("127.0.0.1", int(port)), key))
year = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 364 * 86400))
cases = [
    ("healthz (baseline)", "/healthz"),
    ("summary, last 30 days", "/api/v1/reports/summary"),
    ("summary, a year", "/api/v1/reports/summary?from=" + year),
    ("queues", "/api/v1/reports/queues"),
    ("top 10 partners by revenue, 30 days", "/api/v1/reports/breakdown?group_by=partner&limit=10"),
    ("top 10 partners by revenue, a year", "/api/v1/reports/breakdown?group_by=partner&limit=10&from=" + year),
    ("leads per partner (100 rows), a year", "/api/v1/reports/breakdown?group_by=partner&sort=leads&from=" + year),
    ("top 10 agents, a year", "/api/v1/reports/breakdown?group_by=agent&limit=10&from=" + year),
    ("teams, a year", "/api/v1/reports/breakdown?group_by=team&limit=10&from=" + year),
    ("by source, a year", "/api/v1/reports/breakdown?group_by=source&from=" + year),
    ("by campaign, a year", "/api/v1/reports/breakdown?group_by=campaign&from=" + year),
    ("trend by day, a year", "/api/v1/reports/breakdown?group_by=day&from=" + year),
    ("trend by week, a year", "/api/v1/reports/breakdown?group_by=week&from=" + year),
    ("trend by month, a year", "/api/v1/reports/breakdown?group_by=month&from=" + year),
    ("every partner as CSV, a year", "/api/v1/reports/breakdown?group_by=partner&limit=100000&format=csv&from=" + year),
]
def rows_of(path, body):
    if not path.startswith("/api/v1/reports/breakdown"):
        return ""
    return str(body.count(b"\n") - 1 if "format=csv" in path else len(json.loads(body)["data"]))


for name, path in cases:
    times = {s[0]: [] for s in servers}
    rows = {}
    for i in range(22):
        # The servers take turns request by request, so a busy moment of the machine falls on both alike.
        for label, conn, key in servers:
            t0 = time.perf_counter()
            conn.request("GET", path, headers={"Authorization": "Bearer " + key})
            r = conn.getresponse()
            body = r.read()
            if r.status != 200:
                sys.exit("%s on %s: %d %s" % (path, label, r.status, body[:200]))
            if i >= 2:
                times[label].append((time.perf_counter() - t0) * 1000)
            rows[label] = rows_of(path, body)
    if len(set(rows.values())) != 1:
        sys.exit("%s: the servers disagree on the rows: %s" % (name, rows))
    cols = ["%.2f | %.2f" % (statistics.median(times[s[0]]), max(times[s[0]])) for s in servers]
    print("| %s | %s | %s |" % (name, rows[servers[0][0]], " | ".join(cols)))
PY
