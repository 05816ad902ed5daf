#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Search benchmark: 100,000 partners, wrk against GET /api/v1/partners?q= (a mix of query shapes), beside the
# plain list and /healthz on the same server in the same run, plus single-query latencies per shape.
#
# Env: PARTNERS (default 100000), DURATION (default 10s), CONNS (default 16), BASE (another refd binary, say one
# built from an earlier commit: it gets its own database of the same partners, both servers run at once, and every
# measurement takes turns between the two, so the tables put "base" and "new" side by side from one run).
set -eu
cd "$(dirname "$0")/../.."
N=${PARTNERS:-100000}
DURATION=${DURATION:-10s}
CONNS=${CONNS:-16}
BASE=${BASE:-}
command -v wrk >/dev/null || { echo "missing tool: wrk (sh scripts/bootstrap.sh --bench)" >&2; exit 1; }
WORK=$(mktemp -d)
PIDS=
cleanup() {
	for pid in $PIDS; do kill "$pid" 2>/dev/null || true; done
	rm -rf "$WORK"
}
trap cleanup EXIT INT TERM
make -s all

# start LABEL BINARY: generates the partners with that binary, serves them, and writes LABEL.url and LABEL.key.
start() {
	"$2" bench-data --db "$WORK/$1.db" --partners "$N" >/dev/null
	"$2" apikey create --db "$WORK/$1.db" --name bench --role admin 2>/dev/null >"$WORK/$1.key"
	"$2" serve --db "$WORK/$1.db" --listen 127.0.0.1:0 --no-demo --quiet >"$WORK/$1.log" 2>&1 &
	PIDS="$PIDS $!"
	for _ in $(seq 50); do grep -q listening "$WORK/$1.log" && break; sleep 0.1; done
	echo "http://127.0.0.1:$(sed -n 's/.*"addr":"127.0.0.1:\([0-9]*\)".*/\1/p' "$WORK/$1.log")" >"$WORK/$1.url"
}

LABELS=new
if [ -n "$BASE" ]; then
	LABELS="base new"
	start base "$BASE"
fi
start new ./build/refd

# wrk_row LABEL MODE: one "req/s p50 p99 [non-2xx:N]" line for that server and mode.
wrk_row() {
	url=$(cat "$WORK/$1.url")
	# A short warm-up fills SQLite's page cache on every worker's connection.
	REFD_KEY=$(cat "$WORK/$1.key") MODE=$2 wrk -t2 -c"$CONNS" -d2s -s bench/search/queries.lua "$url" >/dev/null
	out=$(REFD_KEY=$(cat "$WORK/$1.key") MODE=$2 wrk -t2 -c"$CONNS" -d"$DURATION" --latency \
		-s bench/search/queries.lua "$url")
	echo "$(echo "$out" | awk '/Requests\/sec/ {print $2}')" \
		"$(echo "$out" | awk '$1 == "50%" {print $2}')" \
		"$(echo "$out" | awk '$1 == "99%" {print $2}')" \
		"$(echo "$out" | awk '/Non-2xx/ {print "non-2xx:" $NF}')"
}

echo "refd search benchmark: $N partners, wrk -t2 -c$CONNS -d$DURATION, $(nproc) cores${BASE:+, base $BASE}"
echo
if [ -n "$BASE" ]; then
	echo "| endpoint | req/s base | req/s new | p50 base | p50 new | p99 base | p99 new |"
	echo "|---|---|---|---|---|---|---|"
else
	echo "| endpoint | req/s | p50 | p99 |"
	echo "|---|---|---|---|"
fi
for mode in health list search; do
	for label in $LABELS; do
		wrk_row "$label" "$mode" >"$WORK/$label.row"
	done
	if [ -n "$BASE" ]; then
		# shellcheck disable=SC2046
		set -- $(cat "$WORK/base.row") - - -
		b_rps=$1 b_p50=$2 b_p99=$3 b_bad=${4#-}
		# shellcheck disable=SC2046
		set -- $(cat "$WORK/new.row") - - -
		n_bad=${4#-}
		echo "| $mode | $b_rps | $1 | $b_p50 | $2 | $b_p99 | $3 |${b_bad:+ base $b_bad}${n_bad:+ new $n_bad}"
	else
		# shellcheck disable=SC2046
		set -- $(cat "$WORK/new.row") - - -
		n_bad=${4#-}
		echo "| $mode | $1 | $2 | $3 |${n_bad:+ $n_bad}"
	fi
done
echo
echo "Single queries, one connection, median of 20 after warm-up (ms):"
echo
# shellcheck disable=SC2086 # one argument per label
python3 - "$WORK" $LABELS <<'PY'
import http.client, json, statistics, sys, time, urllib.parse
work, labels = sys.argv[1], sys.argv[2:]
servers = {}
for label in labels:
    host, port = open("%s/%s.url" % (work, label)).read().strip().split("//")[1].split(":")
    servers[label] = (http.client.HTTPConnection(host, int(port)), open("%s/%s.key" % (work, label)).read().strip())
QUERIES = ["m", "ma", "maria", "maria lopez", "lopez consulting", "zanele", "maria.lopez17008@example.com",
           "example.com", "nobody-matches-this",
           # Pieces of an email that hold an '@' or a '.', a piece with words, and punctuation alone.
           "lopez17008@", "ez17008@exam", "@mail.example", "a.lopez1700", "maria @partners.ex", "m.", "@"]


def run(label, q):
    conn, key = servers[label]
    path = "/api/v1/partners?limit=20&q=" + urllib.parse.quote(q, safe="")
    times = []
    for i in range(22):
        t0 = time.perf_counter()
        conn.request("GET", path, headers={"Authorization": "Bearer " + key})
        r = conn.getresponse()
        body = json.loads(r.read())
        if i >= 2:
            times.append((time.perf_counter() - t0) * 1000)
    if r.status != 200:
        return "%d" % r.status, statistics.median(times), max(times)
    return "%d%s" % (len(body["data"]), "+" if body["has_more"] else ""), statistics.median(times), max(times)


if len(labels) == 1:
    print("| q | results | median ms | max ms |")
    print("|---|---|---|---|")
else:
    print("| q | results base | results new | median ms base | median ms new | max ms base | max ms new |")
    print("|---|---|---|---|---|---|---|")
for q in QUERIES:
    # The servers take turns query by query, so a busy moment of the machine falls on both alike.
    got = [run(label, q) for label in labels]
    cols = [g[0] for g in got] + ["%.2f" % g[1] for g in got] + ["%.2f" % g[2] for g in got]
    print("| %s | %s |" % (q, " | ".join(cols)))
PY
