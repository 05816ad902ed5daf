#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Runs every check and test suite, plain and under ASan+UBSan, and ends with one line "N passed, N failed". Each
# step's "==" line ends with its wall time. JOBS (default: the number of cores) is make's -j and the number of
# integration modules run at once. The unit suites get a throwaway PostgreSQL cluster for the store conformance
# suite (REFD_TEST_PG_URL), stopped when the run ends, however it ends.
set -u
cd "$(dirname "$0")/.."
RESULTS=build/test-results
rm -rf "$RESULTS"
mkdir -p "$RESULTS"
PASSED=0
FAILED=0
JOBS=${JOBS:-$(nproc)}
export JOBS

now() { date +%s%N; } # nanoseconds (GNU date)

took() { # start end: "12.3s"
	ms=$((($2 - $1) / 1000000))
	echo "$((ms / 1000)).$((ms % 1000 / 100))s"
}

count() { # name passed failed start [end]
	echo "== $1: $2 passed, $3 failing, $(took "$4" "${5:-$(now)}")"
	PASSED=$((PASSED + $2))
	FAILED=$((FAILED + $3))
}

# The store conformance suite runs its cases on SQLite and on PostgreSQL, on a cluster made for this run in PG_DIR.
PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/refd-unit-pg.XXXXXX")
PG_URL=
pg_stop() {
	python3 tests/pgcluster.py stop "$PG_DIR" >"$RESULTS/pgcluster-stop.log" 2>&1 || cat "$RESULTS/pgcluster-stop.log"
}
trap pg_stop EXIT
trap 'exit 130' HUP INT TERM # through the EXIT trap, so an interrupted run leaves no server behind

pg_start() { # starts the cluster; its URL goes to the unit suites (a failure here fails the conformance suite too)
	t0=$(now)
	if PG_URL=$(python3 tests/pgcluster.py start "$PG_DIR" 2>"$RESULTS/pgcluster.log"); then
		count "postgresql cluster" 1 0 "$t0"
	else
		PG_URL=
		cat "$RESULTS/pgcluster.log"
		count "postgresql cluster" 0 1 "$t0"
	fi
}

step() { # name command...: one check that passes or fails as a whole
	name=$1
	shift
	t0=$(now)
	if "$@" >"$RESULTS/$name.log" 2>&1; then
		count "$name" 1 0 "$t0"
	else
		cat "$RESULTS/$name.log"
		count "$name" 0 1 "$t0"
	fi
}

unit_suite() { # label dir
	for t in "$2"/tests/test_*; do
		case "$t" in *.d) continue ;; esac
		[ -x "$t" ] || continue
		log="$RESULTS/$1-$(basename "$t").log"
		t0=$(now)
		REFD_TEST_PG_URL="$PG_URL" "$t" >"$log" 2>&1
		rc=$?
		# A program may run several groups (the conformance suite: one per backend): their counts add up.
		p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{ n += $1 } END { print n + 0 }')
		f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{ n += $1 } END { print n + 0 }')
		if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
			f=1 # crashed or a sanitizer stopped it
		fi
		[ "$f" != 0 ] && cat "$log"
		count "$1 unit $(basename "$t")" "$p" "$f" "$t0"
	done
}

integration_suite() { # label binary database [module...]: the modules (all by default) run JOBS at a time
	label=$1
	bin=$2
	db=$3
	shift 3
	summary="$RESULTS/$label-integration.txt"
	t0=$(now)
	# On PostgreSQL, run.py starts a throwaway cluster of its own and gives each server a database on it.
	REFD_TEST_DB="$db" REFD_BIN="$bin" REFD_TEST_SUMMARY="$summary" python3 tests/integration/run.py "$@" \
		>"$RESULTS/$label-integration.log" 2>&1
	if [ -f "$summary" ]; then
		read -r p f <"$summary"
	else
		p=0
		f=1
	fi
	[ "$f" != 0 ] && cat "$RESULTS/$label-integration.log"
	count "$label integration" "$p" "$f" "$t0"
}

browser_start() { # label binary database: node's test runner in headless Chromium, in the background; browser_end
	# reports. On PostgreSQL the servers get databases on the run's cluster (PG_URL).
	(
		t0=$(now)
		REFD_TEST_DB="$3" REFD_TEST_PG_URL="$PG_URL" REFD_BIN="$2" sh tests/browser/run.sh \
			>"$RESULTS/$1-browser.log" 2>&1
		rc=$?
		echo "$rc $t0 $(now)" >"$RESULTS/$1-browser.rc"
	) &
	BROWSER_PID=$!
}

browser_end() { # label: waits for the browser suite and counts its "# pass N" / "# fail N" lines
	wait "$BROWSER_PID"
	log="$RESULTS/$1-browser.log"
	rc=1
	t0=$(now)
	t1=$t0
	[ -f "$RESULTS/$1-browser.rc" ] && read -r rc t0 t1 <"$RESULTS/$1-browser.rc"
	p=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$log" | tail -1)
	f=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$log" | tail -1)
	c=$(sed -n 's/^# cancelled \([0-9]*\)$/\1/p' "$log" | tail -1)
	p=${p:-0}
	f=$((${f:-0} + ${c:-0}))
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		f=1 # no summary: the runner, the browser or the install failed
	fi
	[ "$f" != 0 ] && cat "$log"
	sed -n '/^# tests /,$p' "$log"
	count "$1 browser" "$p" "$f" "$t0" "$t1"
}

npm_packages() { # the Stripe webhook tests, the OpenAPI lint and the browser tests use the pinned npm packages
	command -v npm >/dev/null 2>&1 || return 0 # the tests that need them then say what is missing
	# Installed once here, before the suites that use them run side by side.
	sh scripts/npm_packages.sh
}

step build make -j"$JOBS" all unit
npm_packages
step clang-format make check-format
step cppcheck make cppcheck
step layers python3 tests/test_layers.py
step store-coverage sh tests/store_conformance.sh --check-coverage
step pg-schema python3 tests/test_pg_schema.py build/refd
pg_start
unit_suite plain build
integration_suite plain build/refd sqlite

# The browser suite mostly waits for Chromium and its pages (about a third of one core) and the fuzzing runs for a
# fixed time, so they run side by side; they share no files or ports.
browser_start plain build/refd sqlite
# Coverage-guided fuzzing of the pure rules (URLs, emails, money, times, codes, CSV), briefly: the targets check
# properties such as "an accepted URL with the click id added is still accepted and reads back" and "what the CSV writer writes, the CSV reader reads back".
step fuzz make fuzz-run FUZZ_SECONDS="${FUZZ_SECONDS:-15}"
browser_end plain

# Everything again on PostgreSQL: the integration suite (its PostgreSQL-only modules included), then the browser
# suite beside the ASan build.
integration_suite postgres build/refd postgres
browser_start postgres build/refd postgres

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=23
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
step asan-build make -j"$JOBS" asan
browser_end postgres
unit_suite asan build/asan
integration_suite asan build/asan/refd sqlite
# Under ASan on PostgreSQL: the modules that only PostgreSQL runs (several processes, races, the server going
# away, lists under concurrent commits); the store and its driver are also under ASan in the conformance suite.
integration_suite asan-postgres build/asan/refd postgres test_races test_race_holding test_multi_process \
	test_list_order test_pg_server

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
