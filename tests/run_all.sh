#!/bin/sh
# Runs every check and test suite, plain and under ASan+UBSan, and ends with one line "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
RESULTS=build/test-results
rm -rf "$RESULTS"
mkdir -p "$RESULTS"
PASSED=0
FAILED=0
JOBS=${JOBS:-2}

count() { # name passed failed
	echo "== $1: $2 passed, $3 failing"
	PASSED=$((PASSED + $2))
	FAILED=$((FAILED + $3))
}

step() { # name command...: one check that passes or fails as a whole
	name=$1
	shift
	if "$@" >"$RESULTS/$name.log" 2>&1; then
		count "$name" 1 0
	else
		cat "$RESULTS/$name.log"
		count "$name" 0 1
	fi
}

unit_suite() { # label dir
	for t in "$2"/tests/test_*; do
		case "$t" in *.d) continue ;; esac
		[ -x "$t" ] || continue
		log="$RESULTS/$1-$(basename "$t").log"
		"$t" >"$log" 2>&1
		rc=$?
		p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
		f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
		p=${p:-0}
		f=${f:-0}
		if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
			f=1 # crashed or a sanitizer stopped it
		fi
		[ "$f" != 0 ] && cat "$log"
		count "$1 unit $(basename "$t")" "$p" "$f"
	done
}

integration_suite() { # label binary
	summary="$RESULTS/$1-integration.txt"
	REFD_BIN="$2" REFD_TEST_SUMMARY="$summary" python3 tests/integration/run.py >"$RESULTS/$1-integration.log" 2>&1
	if [ -f "$summary" ]; then
		read -r p f <"$summary"
	else
		p=0
		f=1
	fi
	[ "$f" != 0 ] && cat "$RESULTS/$1-integration.log"
	count "$1 integration" "$p" "$f"
}

browser_suite() { # label binary: node's test runner in headless Chromium; its "# pass N" / "# fail N" lines
	log="$RESULTS/$1-browser.log"
	REFD_BIN="$2" sh tests/browser/run.sh >"$log" 2>&1
	rc=$?
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
	count "$1 browser" "$p" "$f"
}

npm_packages() { # the Stripe webhook tests sign their fixtures with the pinned npm package stripe
	[ -f node_modules/stripe/package.json ] && return 0
	command -v npm >/dev/null 2>&1 || return 0 # the Stripe tests then say what is missing
	echo "installing the pinned npm packages (npm ci)"
	# No install scripts, as tests/browser/run.sh; its stamp tells it the packages match package-lock.json.
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error &&
		sha256sum package-lock.json | cut -d' ' -f1 >node_modules/.refd-lock.sha256
}

step build make -j"$JOBS" all unit
npm_packages
step clang-format make check-format
step cppcheck make cppcheck
unit_suite plain build
integration_suite plain build/refd
browser_suite plain build/refd

# Coverage-guided fuzzing of the pure rules (URLs, emails, money, times, codes), briefly: the targets check
# properties such as "an accepted URL with the click id added is still accepted and reads back".
step fuzz make fuzz-run FUZZ_SECONDS="${FUZZ_SECONDS:-15}"

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=23
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
step asan-build make -j"$JOBS" asan
unit_suite asan build/asan
integration_suite asan build/asan/refd

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
