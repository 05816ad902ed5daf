#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The redirect benchmark: refd's GET /r/{code} (the 302 leaves once its click is committed and flushed to disk) beside
# nginx answering `return 302` with a cookie, in one run on this machine, with wrk; prints a Markdown table with
# requests/s, latency percentiles and the ratio to nginx, and checks that every click wrk got is in the database.
#
# Env: DURATION (default 10s), CONNS (default "64 256"), THREADS (refd workers, default 2),
#      NGINX_WORKERS (default 2), WARMUP (default 2s), REFD_ARGS (more options for refd serve), ROUNDS (default 3:
#      nginx and refd take turns this many times per connection count; the summary gives the median ratio).
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
CONNS=${CONNS:-64 256}
THREADS=${THREADS:-2}
NGINX_WORKERS=${NGINX_WORKERS:-2}
ROUNDS=${ROUNDS:-3}

for tool in wrk nginx curl sqlite3; do
	command -v "$tool" >/dev/null || { echo "missing tool: $tool (sh scripts/bootstrap.sh --bench)" >&2; exit 1; }
done
make -s all
tmp=$(mktemp -d /tmp/refd-redirect.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ulimit -n 8192 2>/dev/null || true

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# nginx, from bench/http's configuration.
nport=$(free_port)
mkdir -p "$tmp/nginx"
sed -e "s#@PREFIX@#$tmp/nginx#g" -e "s#@PORT@#$nport#g" -e "s#@WORKERS@#$NGINX_WORKERS#g" bench/http/nginx.conf \
	>"$tmp/nginx/nginx.conf"
nginx -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" -g 'daemon off;' &
pids+=($!)

# refd with one partner and one link.
db="$tmp/refd.db"
./build/refd migrate --db "$db" >/dev/null
key=$(./build/refd apikey create --db "$db" --name bench --role admin 2>/dev/null)
./build/refd serve --db "$db" --listen 127.0.0.1:0 --no-demo --quiet --threads "$THREADS" ${REFD_ARGS:-} >"$tmp/refd.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q listening "$tmp/refd.log" && break; sleep 0.1; done
rport=$(sed -n 's/.*"addr":"127.0.0.1:\([0-9]*\)".*/\1/p' "$tmp/refd.log")
api() { curl -sf -H "Authorization: Bearer $key" -H 'Content-Type: application/json' "$@"; }
prg=$(api -d '{"name":"Bench","currency":"usd"}' "http://127.0.0.1:$rport/api/v1/programs" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
ptn=$(api -d "{\"program_id\":\"$prg\",\"name\":\"Bench Partner\",\"email\":\"bench@partner.example\"}" "http://127.0.0.1:$rport/api/v1/partners" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
api -d "{\"partner_id\":\"$ptn\",\"code\":\"benchcode\",\"destination_url\":\"https://example.com/landing\"}" "http://127.0.0.1:$rport/api/v1/links" >/dev/null
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$nport/r/x" && break; sleep 0.1; done
curl -si "http://127.0.0.1:$rport/r/benchcode" | grep -qi '^set-cookie: refd_click=clk_' || { echo "refd does not redirect" >&2; exit 1; }

# wrk sends the same browser User-Agent as a person would; clicks after the first one from this one visitor are
# stored as repeats, which costs the same to write.
ua='Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36'
run() { # name url conns round
	wrk -t2 -c"$3" -d"$WARMUP" -H "User-Agent: $ua" "$2" >/dev/null 2>&1 || true
	wrk -t2 -c"$3" -d"$DURATION" --latency -H "User-Agent: $ua" "$2" >"$tmp/$1-$3-$4.txt"
}
field() { awk -v k="$2" '$1 == k {print $2}' "$1"; }
rps() { awk '/Requests\/sec/ {print $2}' "$1"; }

echo "refd redirect benchmark: $(nproc) cores, wrk -t2 -d$DURATION, refd $THREADS workers, nginx $NGINX_WORKERS workers"
echo
echo "| server | conns | req/s | p50 | p90 | p99 | errors | vs nginx |"
echo "|---|---:|---:|---:|---:|---:|---|---:|"
before=$(sqlite3 "$db" 'select count(*) from clicks')
ratios=""
for c in $CONNS; do
	for round in $(seq "$ROUNDS"); do
		# nginx and refd take turns, so a busy moment of the shared machine falls on one pair, not on one server.
		run nginx "http://127.0.0.1:$nport/r/benchcode" "$c" "$round"
		run refd "http://127.0.0.1:$rport/r/benchcode" "$c" "$round"
		n=$(rps "$tmp/nginx-$c-$round.txt")
		for s in nginx refd; do
			f="$tmp/$s-$c-$round.txt"
			r=$(rps "$f")
			errs=$(grep -E 'Socket errors|Non-2xx' "$f" | tr -s ' ' | tr '\n' ';' || true)
			ratio=$(python3 -c "print('%.2f' % ($r / $n))")
			echo "| $s | $c | $r | $(field "$f" 50%) | $(field "$f" 90%) | $(field "$f" 99%) | ${errs:-none} | $ratio |"
		done
		ratios="$ratios $c:$ratio"
	done
done
after=$(sqlite3 "$db" 'select count(*) from clicks')
echo
for c in $CONNS; do
	echo "$ratios" | tr ' ' '\n' | awk -F: -v c="$c" '$1 == c {print $2}' | sort -n |
		awk -v c="$c" '{v[NR] = $1} END {if (NR) printf "refd / nginx at %s connections: median %.2f of %d rounds (%.2f to %.2f)\n", c, v[int((NR + 1) / 2)], NR, v[1], v[NR]}'
done
echo "clicks committed during the runs (including warm-ups): $((after - before))"
