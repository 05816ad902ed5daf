#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The durable redirect on PostgreSQL beside SQLite and nginx, in one run: GET /r/{code} answered by nginx's canned
# 302, by refd on SQLite, by one refd process on PostgreSQL and by two refd processes sharing that PostgreSQL
# database (wrk's two threads split between their ports by bench/postgres/split.lua), taking turns ROUNDS times.
# After every refd run it counts the clicks the run added and compares them with the 302s wrk received: fewer
# clicks than 302s would be an acknowledged click lost, and more can only be the requests still in flight when wrk
# stopped (at most one per connection). Prints a Markdown table, then medians and ranges.
#
# Env: DURATION (default 10s), WARMUP (default 2s), CONNS (default 64), THREADS (workers per refd process, default
#      2), NGINX_WORKERS (default 2), ROUNDS (default 5), CONTENDERS (default "nginx sqlite pg1 pg2"), BASE (another
#      refd binary: adds the contender "base", one process of it on its own PostgreSQL database), PG_URL (a server
#      to use instead of a throwaway cluster; see bench/postgres/cluster.sh for the cluster's settings), REFD_ARGS.
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
CONNS=${CONNS:-64}
THREADS=${THREADS:-2}
NGINX_WORKERS=${NGINX_WORKERS:-2}
ROUNDS=${ROUNDS:-5}
CONTENDERS=${CONTENDERS:-nginx sqlite pg1 pg2}
BASE=${BASE:-}
[ -n "$BASE" ] && CONTENDERS="$CONTENDERS base"

for tool in wrk nginx curl sqlite3 psql python3; do
	command -v "$tool" >/dev/null || { echo "missing tool: $tool (sh scripts/bootstrap.sh --bench)" >&2; exit 1; }
done
make -s all
. bench/postgres/cluster.sh
mkdir -p build
tmp=$(mktemp -d "$PWD/build/pg-redirect.XXXXXX")
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

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# nginx, from bench/http's configuration.
nport=$(free_port)
mkdir -p "$tmp/nginx"
sed -e "s#@PREFIX@#$tmp/nginx#g" -e "s#@PORT@#$nport#g" -e "s#@WORKERS@#$NGINX_WORKERS#g" bench/http/nginx.conf \
	>"$tmp/nginx/nginx.conf"
nginx -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" -g 'daemon off;' &
pids+=($!)

# serve NAME BINARY DB: starts refd and sets port.
serve() {
	"$2" serve --db "$3" --listen 127.0.0.1:0 --no-demo --quiet --threads "$THREADS" ${REFD_ARGS:-} >"$tmp/$1.log" 2>&1 &
	pids+=($!)
	for _ in $(seq 100); do grep -q listening "$tmp/$1.log" && break; sleep 0.1; done
	port=$(sed -n 's/.*"addr":"127.0.0.1:\([0-9]*\)".*/\1/p' "$tmp/$1.log")
	[ -n "$port" ] || { echo "refd ($1) did not start:" >&2; cat "$tmp/$1.log" >&2; exit 1; }
}
# setup NAME BINARY DB: migrates, starts refd, and makes one program, partner and link through its API.
setup() {
	"$2" migrate --db "$3" >/dev/null
	local key prg ptn
	key=$("$2" apikey create --db "$3" --name bench --role admin 2>/dev/null)
	serve "$1" "$2" "$3"
	api() { curl -sf -H "Authorization: Bearer $key" -H 'Content-Type: application/json' "$@"; }
	id() { python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'; }
	prg=$(api -d '{"name":"Bench","currency":"usd"}' "http://127.0.0.1:$port/api/v1/programs" | id)
	ptn=$(api -d "{\"program_id\":\"$prg\",\"name\":\"Bench Partner\",\"email\":\"bench@partner.example\"}" \
		"http://127.0.0.1:$port/api/v1/partners" | id)
	api -d "{\"partner_id\":\"$ptn\",\"code\":\"benchcode\",\"destination_url\":\"https://example.com/landing\"}" \
		"http://127.0.0.1:$port/api/v1/links" >/dev/null
}

pg_start
declare -A PORTS COUNT
for c in $CONTENDERS; do
	case $c in
	nginx) PORTS[nginx]=$nport ;;
	sqlite)
		setup sqlite ./build/refd "$tmp/refd.db"
		PORTS[sqlite]=$port
		COUNT[sqlite]="sqlite3 $tmp/refd.db"
		;;
	pg1 | pg2)
		# One database for both: pg1 is its first process, pg2 that process and a second one beside it.
		if [ -z "${PORTS[pg1]:-}" ]; then
			pg_createdb redirect
			setup pg1 ./build/refd "$(pg_url redirect)"
			PORTS[pg1]=$port
			COUNT[pg1]="pg_sql redirect"
		fi
		if [ "$c" = pg2 ]; then
			serve pg2 ./build/refd "$(pg_url redirect)"
			PORTS[pg2]="${PORTS[pg1]},$port"
			COUNT[pg2]="pg_sql redirect"
		fi
		;;
	base)
		pg_createdb redirect_base
		setup base "$BASE" "$(pg_url redirect_base)"
		PORTS[base]=$port
		COUNT[base]="pg_sql redirect_base"
		;;
	*) echo "unknown contender: $c" >&2; exit 2 ;;
	esac
done
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$nport/r/x" && break; sleep 0.1; done
for c in $CONTENDERS; do
	for p in ${PORTS[$c]//,/ }; do
		curl -si "http://127.0.0.1:$p/r/benchcode" | grep -qi '^set-cookie: refd_click=' ||
			{ echo "$c (port $p) does not redirect" >&2; exit 1; }
	done
done

# wrk sends the same browser User-Agent as a person would; clicks after the first one from this one visitor are
# stored as repeats, which costs the same to write.
ua='Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36'
drive() { # contender duration [wrk options]
	local c=$1 d=$2
	shift 2
	PORTS=${PORTS[$c]} wrk -t2 -c"$CONNS" -d"$d" -H "User-Agent: $ua" -s bench/postgres/split.lua "$@" \
		"http://127.0.0.1:${PORTS[$c]%%,*}/r/benchcode"
}
clicks() { # contender: the clicks in its database, once the answers still in flight have settled
	sleep 0.5
	${COUNT[$1]} 'SELECT count(*) FROM clicks'
}
field() { awk -v k="$2" '$1 == k {print $2}' "$1"; }
rps() { awk '/Requests\/sec/ {printf "%.0f", $2}' "$1"; }

echo "PostgreSQL redirect benchmark: $(nproc) cores, wrk -t2 -c$CONNS -d$DURATION, refd $THREADS workers per" \
	"process, nginx $NGINX_WORKERS workers, $ROUNDS rounds; PostgreSQL $(psql -X -At "$PG_BASE_URL" -c 'SHOW server_version')"
echo
echo "| round | contender | req/s | p50 | p90 | p99 | errors | 302s | clicks added | clicks - 302s |"
echo "|---:|---|---:|---:|---:|---:|---|---:|---:|---:|"
lost=0
for round in $(seq "$ROUNDS"); do
	for c in $CONTENDERS; do
		f="$tmp/$c-$round.txt"
		drive "$c" "$WARMUP" >/dev/null 2>&1 || true
		[ "$c" = nginx ] || before=$(clicks "$c")
		drive "$c" "$DURATION" --latency >"$f"
		errs=$(grep -E 'Socket errors|Non-2xx' "$f" | tr -s ' ' | tr '\n' ';' || true)
		got=- added=- extra=-
		if [ "$c" != nginx ]; then
			after=$(clicks "$c")
			# Every response counted by wrk, less those that were not a 2xx or 3xx (none should be).
			got=$(($(awk '/requests in/ {print $1}' "$f") - $(awk '/Non-2xx/ {print $NF}' "$f" | grep . || echo 0)))
			added=$((after - before))
			extra=$((added - got))
			if [ "$extra" -lt 0 ]; then
				lost=1
				extra="$extra LOST"
			elif [ "$extra" -gt "$CONNS" ]; then
				extra="$extra (more than the connections)"
			fi
		fi
		echo "| $round | $c | $(rps "$f") | $(field "$f" 50%) | $(field "$f" 90%) | $(field "$f" 99%) | ${errs:-none} |" \
			"$got | $added | $extra |"
	done
done
echo
# Medians and ranges of req/s, and of each round's ratio to refd on SQLite and to nginx.
for c in $CONTENDERS; do
	for round in $(seq "$ROUNDS"); do
		r=$(rps "$tmp/$c-$round.txt")
		s=$([ -f "$tmp/sqlite-$round.txt" ] && rps "$tmp/sqlite-$round.txt" || echo 0)
		n=$([ -f "$tmp/nginx-$round.txt" ] && rps "$tmp/nginx-$round.txt" || echo 0)
		echo "$r $s $n"
	done | python3 -c '
import statistics, sys
c = sys.argv[1]
rows = [list(map(float, l.split())) for l in sys.stdin]
def span(v):
    return "median %s (%s to %s)" % (fmt(statistics.median(v)), fmt(min(v)), fmt(max(v)))
fmt = lambda x: "%.0f" % x
out = "%s: req/s %s" % (c, span([r[0] for r in rows]))
fmt = lambda x: "%.2f" % x
if all(r[1] for r in rows) and c != "sqlite":
    out += "; / sqlite %s" % span([r[0] / r[1] for r in rows])
if all(r[2] for r in rows) and c != "nginx":
    out += "; / nginx %s" % span([r[0] / r[2] for r in rows])
print(out)' "$c"
done
[ "$lost" = 0 ] || { echo "an acknowledged click is missing from the database" >&2; exit 1; }
