#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Benchmarks evhttp, libmicrohttpd and nginx on refd's 302 redirect shape in one run and prints a Markdown table with ratios to nginx.
#
# Env: DURATION (seconds per wrk run, default 10s), WARMUP (default 2s),
#      CONNS (default "64 256"), WORKERS (default "1 2"), RAW_DIR (keep raw wrk output there),
#      SERVERS (default "nginx evhttp mhd mhd-poll"; nginx must stay first, it is the ratio base),
#      QUIET_PCT (default 10): before each run wait (up to QUIET_WAIT, default 30 s) until other
#      processes use less than this % of the cores, and redo a run once if they used more during it.
set -euo pipefail

DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
CONNS=${CONNS:-64 256}
WORKERS=${WORKERS:-1 2}
SERVERS=${SERVERS:-nginx evhttp mhd mhd-poll}
QUIET_PCT=${QUIET_PCT:-10}
QUIET_WAIT=${QUIET_WAIT:-30}
PATH_UNDER_TEST=/r/abc123

secs() { # "10s" or "10" -> 10; anything else is an error
    local v=${1%s}
    [[ $v =~ ^[0-9]+$ && $v -gt 0 ]] || { echo "bad duration: $1" >&2; exit 2; }
    echo "$v"
}
dur_s=$(secs "$DURATION")
warm_s=$(secs "$WARMUP")

for tool in cc pkg-config wrk nginx curl ss; do
    command -v "$tool" >/dev/null || { echo "missing tool: $tool" >&2; exit 1; }
done

here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d /tmp/refd-httpbench.XXXXXX)
server_pid=

stop_server() {
    [[ -n $server_pid ]] || return 0
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 50); do
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=
}
cleanup() { stop_server; rm -rf "$tmp"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

ulimit -n 8192 2>/dev/null || true

# Build the two C servers.
CFLAGS="-std=c17 -O2 -Wall -Wextra -Werror"
# shellcheck disable=SC2046,SC2086
cc $CFLAGS -o "$tmp/evhttp_302" "$here/evhttp_302.c" $(pkg-config --cflags --libs libevent) -lpthread
# shellcheck disable=SC2046,SC2086
cc $CFLAGS -o "$tmp/mhd_302" "$here/mhd_302.c" $(pkg-config --cflags --libs libmicrohttpd)

port=

free_port() {
    local p
    for p in $(seq 38080 38999); do
        if [[ -z $(ss -Htln "sport = :$p") ]]; then echo "$p"; return 0; fi
    done
    echo "no free port" >&2; exit 1
}

# start_c BINARY THREADS [FLAG]: the server binds an ephemeral loopback port and prints "port N".
start_c() {
    "$tmp/$1" -t "$2" ${3:+"$3"} >"$tmp/server.out" 2>"$tmp/server.err" &
    server_pid=$!
    port=
    for _ in $(seq 50); do
        port=$(awk '/^port /{print $2}' "$tmp/server.out")
        [[ -n $port ]] && return 0
        sleep 0.1
    done
    echo "$1 did not start:" >&2; cat "$tmp/server.err" >&2; exit 1
}

# start_nginx WORKERS: non-daemon nginx under a throwaway prefix.
start_nginx() {
    local prefix="$tmp/nginx-$1"
    rm -rf "$prefix"; mkdir -p "$prefix"
    port=$(free_port)
    sed -e "s|@PREFIX@|$prefix|g" -e "s|@PORT@|$port|g" -e "s|@WORKERS@|$1|g" \
        "$here/nginx.conf" >"$prefix/nginx.conf"
    nginx -p "$prefix" -c "$prefix/nginx.conf" -g 'daemon off;' 2>"$tmp/server.err" &
    server_pid=$!
    for _ in $(seq 50); do
        curl -s -o /dev/null -m 1 "http://127.0.0.1:$port/" && return 0
        sleep 0.1
    done
    echo "nginx did not start:" >&2; cat "$tmp/server.err" "$prefix/error.log" >&2; exit 1
}

verify() {
    local resp
    resp=$(curl -si -m 5 "http://127.0.0.1:$port$PATH_UNDER_TEST" | tr -d '\r')
    if ! grep -q '^HTTP/1.1 302 ' <<<"$resp" ||
        ! grep -qi '^Location: https://example.com/landing?refd_click=clk_0123456789abcdef$' <<<"$resp" ||
        ! grep -qi '^Set-Cookie: refd_click=clk_0123456789abcdef; Max-Age=7776000; Path=/; SameSite=Lax$' <<<"$resp"; then
        printf 'bad response from %s:\n%s\n' "$1" "$resp" >&2
        exit 1
    fi
}

to_ms() { # wrk latency like 470.00us / 1.53ms / 1.02s -> milliseconds
    awk -v v="$1" 'BEGIN {
        n = v + 0
        if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /m$/) n *= 60000; else if (v ~ /s$/) n *= 1000
        printf "%.2f", n }'
}

declare -A RPS P50 P99 SOCK NON23 OTHER
rows=()

# The machine is shared: snapshot "pid cpu-ticks" of every process outside this script's
# process group (servers, wrk and curl run inside it) to see how busy others kept the cores.
mypgid=$(ps -o pgid= $$ | tr -d ' ')
other_ticks() {
    local f line rest
    for f in /proc/[0-9]*/stat; do
        read -r line 2>/dev/null <"$f" || continue
        rest=${line##*) }
        echo "${f//[^0-9]/} $rest"
    done | awk -v pg="$mypgid" '$4 != pg { print $1, $13 + $14 }'
}
# other_cpu_pct BEFORE AFTER SECONDS: CPU used by other processes, as % of all cores.
other_cpu_pct() {
    awk -v secs="$3" -v hz="$(getconf CLK_TCK)" -v cpus="$(nproc)" '
        NR == FNR { before[$1] = $2; next }
        { d = $2 - before[$1]; if (d > 0) t += d }
        END { printf "%.0f", 100 * t / hz / secs / cpus }' "$1" "$2"
}

# wait_quiet: wait, at most QUIET_WAIT seconds, for a 2 s window in which others stay under QUIET_PCT.
wait_quiet() {
    local deadline=$((SECONDS + QUIET_WAIT))
    while ((SECONDS < deadline)); do
        other_ticks >"$tmp/quiet.before"
        sleep 2
        other_ticks >"$tmp/quiet.after"
        (($(other_cpu_pct "$tmp/quiet.before" "$tmp/quiet.after" 2) < QUIET_PCT)) && return 0
    done
    echo "  (machine still busy after ${QUIET_WAIT}s, measuring anyway)" >&2
}

# measure NAME WORKERS CONNS
measure() {
    local key="$1|$2|$3" out="$tmp/wrk.out" url="http://127.0.0.1:$port$PATH_UNDER_TEST" try
    for try in 1 2; do
        wait_quiet
        timeout --foreground -k 5 $((warm_s + 30)) wrk -t2 -c"$3" -d"${warm_s}s" "$url" >/dev/null
        other_ticks >"$tmp/ticks.before"
        timeout --foreground -k 5 $((dur_s + 30)) wrk -t2 -c"$3" -d"${dur_s}s" --latency "$url" >"$out"
        other_ticks >"$tmp/ticks.after"
        OTHER[$key]=$(other_cpu_pct "$tmp/ticks.before" "$tmp/ticks.after" "$dur_s")
        ((OTHER[$key] < QUIET_PCT)) && break
        echo "  $1 w=$2 c=$3: other processes used ${OTHER[$key]}% CPU during try $try" >&2
    done
    [[ -n ${RAW_DIR:-} ]] && mkdir -p "$RAW_DIR" && cp "$out" "$RAW_DIR/$1-w$2-c$3.txt"
    RPS[$key]=$(awk '/^Requests\/sec:/{printf "%.0f", $2}' "$out")
    P50[$key]=$(to_ms "$(awk '$1 == "50%" {print $2}' "$out")")
    P99[$key]=$(to_ms "$(awk '$1 == "99%" {print $2}' "$out")")
    SOCK[$key]=$(awk '/Socket errors:/ {gsub(",", ""); printf "%s/%s/%s/%s", $4, $6, $8, $10}' "$out")
    SOCK[$key]=${SOCK[$key]:-0/0/0/0}
    NON23[$key]=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$out")
    NON23[$key]=${NON23[$key]:-0}
    rows+=("$key")
    echo "  $1 w=$2 c=$3: ${RPS[$key]} req/s, p50 ${P50[$key]} ms, p99 ${P99[$key]} ms, socket errors c/r/w/t ${SOCK[$key]}, non-2xx/3xx ${NON23[$key]}, others used ${OTHER[$key]}% CPU" >&2
}

run_server() { # run_server NAME WORKERS: start, verify, measure every connection count, stop
    case $1 in
        nginx) start_nginx "$2" ;;
        evhttp) start_c evhttp_302 "$2" ;;
        mhd) start_c mhd_302 "$2" ;;
        mhd-poll) start_c mhd_302 "$2" -P ;;
        *) echo "unknown server: $1" >&2; exit 2 ;;
    esac
    verify "$1"
    local c
    for c in $CONNS; do measure "$1" "$2" "$c"; done
    stop_server
}

echo "machine: $(nproc) cpus, $(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo), kernel $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo "wrk -t2, ${dur_s}s per run after ${warm_s}s warm-up, connections: $CONNS" >&2
for w in $WORKERS; do
    for s in $SERVERS; do run_server "$s" "$w"; done
done

echo
echo "| server | workers | conns | req/s | p50 ms | p99 ms | socket errors c/r/w/t | non-2xx/3xx | other procs CPU % | req/s vs nginx |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for key in "${rows[@]}"; do
    IFS='|' read -r name w c <<<"$key"
    base=${RPS[nginx|$w|$c]:-}
    ratio=$(awk -v a="${RPS[$key]}" -v b="$base" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')
    echo "| $name | $w | $c | ${RPS[$key]} | ${P50[$key]} | ${P99[$key]} | ${SOCK[$key]} | ${NON23[$key]} | ${OTHER[$key]} | $ratio |"
done
