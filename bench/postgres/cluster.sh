# SPDX-License-Identifier: Apache-2.0
# Sourced by the PostgreSQL benchmarks: a throwaway cluster (tests/pgcluster.py) set as a production server would be,
# or the server PG_URL names. Defines pg_start (sets PG_BASE_URL, the URL of its postgres database), pg_url NAME (the
# URL of database NAME on it), pg_createdb NAME, pg_sql NAME SQL and pg_stop.
#
# The settings: durability as PostgreSQL ships it, said out loud (fsync, synchronous_commit and full_page_writes on,
# so a commit returns only once its WAL is on disk and a crash cannot tear a page); memory sized for a dedicated
# server of this machine's 24 GB that other processes share (shared_buffers 2 GB, the rest left to the kernel's page
# cache, which effective_cache_size tells the planner); WAL room for bulk loads (max_wal_size 4 GB, checkpoints every
# 15 minutes, as for a write-heavy server); random_page_cost 1.1 for a solid-state disk; pg_stat_statements and
# track_io_timing for looking at where time goes. Everything else is PostgreSQL's default (JIT on, wal_level replica).
PG_SETTINGS=${PG_SETTINGS:-"fsync=on synchronous_commit=on full_page_writes=on wal_sync_method=fdatasync \
shared_buffers=2GB effective_cache_size=12GB work_mem=32MB maintenance_work_mem=512MB max_wal_size=4GB \
checkpoint_timeout=15min random_page_cost=1.1 max_connections=200 shared_preload_libraries=pg_stat_statements \
track_io_timing=on"}
PG_DIR=
PG_BASE_URL=

pg_start() {
	if [ -n "${PG_URL:-}" ]; then
		PG_BASE_URL=$PG_URL
		return 0
	fi
	# On the repository's disk, as the SQLite databases: both pay the same disk for their flushes.
	mkdir -p build
	PG_DIR=$(mktemp -d "$PWD/build/pg.XXXXXX")
	# shellcheck disable=SC2086 # one argument per setting
	PG_BASE_URL=$(python3 tests/pgcluster.py start "$PG_DIR" $PG_SETTINGS)
}

# pg_url NAME: the URL of database NAME on the server.
pg_url() {
	case $PG_BASE_URL in
	*'?'*) printf '%s\n' "$PG_BASE_URL" | sed "s#^\(postgres[a-z]*://[^/]*\)/[^?]*#\1/$1#" ;;
	*) printf '%s\n' "$PG_BASE_URL" | sed "s#^\(postgres[a-z]*://[^/]*\)\(/.*\)\?\$#\1/$1#" ;;
	esac
}

pg_createdb() { psql -X -q -v ON_ERROR_STOP=1 "$PG_BASE_URL" -c "CREATE DATABASE \"$1\""; }
pg_sql() { psql -X -q -v ON_ERROR_STOP=1 -At "$(pg_url "$1")" -c "$2"; }

pg_stop() {
	[ -n "$PG_DIR" ] || return 0
	python3 tests/pgcluster.py stop "$PG_DIR" >/dev/null 2>&1 || true
	PG_DIR=
}
