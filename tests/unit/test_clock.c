/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for RFC 3339 time formatting and parsing, the clock offset, and relation cycle checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "../../src/core/clock.h"
#include "../../src/core/relation.h"

static void format_times(void **state)
{
	(void)state;
	char buf[40];
	rf_clock_format(0, buf, sizeof buf);
	assert_string_equal(buf, "1970-01-01T00:00:00.000Z");
	rf_clock_format(1795331590123LL, buf, sizeof buf);
	assert_string_equal(buf, "2026-11-22T07:13:10.123Z");
	rf_clock_format(951782400000LL, buf, sizeof buf); /* leap day 2000 */
	assert_string_equal(buf, "2000-02-29T00:00:00.000Z");
	rf_clock_format(-1, buf, sizeof buf);
	assert_string_equal(buf, "1969-12-31T23:59:59.999Z");
}

static void parse_times(void **state)
{
	(void)state;
	int64_t ms;
	assert_int_equal(rf_clock_parse("2026-11-22T07:13:10.123Z", &ms), 0);
	assert_true(ms == 1795331590123LL);
	assert_int_equal(rf_clock_parse("2026-11-22T08:13:10.123+01:00", &ms), 0);
	assert_true(ms == 1795331590123LL);
	assert_int_equal(rf_clock_parse("2026-11-22T07:13:10Z", &ms), 0);
	assert_true(ms == 1795331590000LL);
	assert_int_equal(rf_clock_parse("2026-11-22T07:13:10.1Z", &ms), 0);
	assert_true(ms == 1795331590100LL);
	const char *bad[] = {"",
			     "2026-11-22",
			     "2026-13-01T00:00:00Z",
			     "2026-02-29T00:00:00Z",
			     "2026-11-31T00:00:00Z",
			     "2026-11-22T24:00:00Z",
			     "2026-11-22T07:13:10",
			     "2026-11-22T07:13:10.Z",
			     "2026-11-22T07:13:10Zjunk",
			     "26-11-22T07:13:10Z"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (rf_clock_parse(bad[i], &ms) == 0)
			fail_msg("accepted bad time '%s'", bad[i]);
	assert_int_equal(rf_clock_parse("2024-02-29T12:00:00Z", &ms), 0);
}

static void round_trip(void **state)
{
	(void)state;
	for (int64_t ms = -86400000LL * 400; ms < 4102444800000LL; ms += 86400000LL * 37 + 12345) {
		char buf[40];
		int64_t back;
		rf_clock_format(ms, buf, sizeof buf);
		assert_int_equal(rf_clock_parse(buf, &back), 0);
		assert_true(back == ms);
	}
}

static void offset_moves_time(void **state)
{
	(void)state;
	int64_t a = rf_clock_now_ms();
	rf_clock_set_offset_ms(86400000LL * 31);
	int64_t b = rf_clock_now_ms();
	rf_clock_set_offset_ms(0);
	assert_true(b - a >= 86400000LL * 31);
	assert_true(b - a < 86400000LL * 31 + 5000);
}

/* A tiny partner graph for cycle checks: parent[i] is the parent of node i, -1 for none. */
static int parent[8];
static char names[8][16];

static int parent_of(void *ctx, const char *id, char **out)
{
	(void)ctx;
	if (strcmp(id, "broken") == 0)
		return -1;
	int i = id[1] - '0';
	*out = parent[i] >= 0 ? names[parent[i]] : NULL;
	return 0;
}

static void relation_cycles(void **state)
{
	(void)state;
	for (int i = 0; i < 8; i++) {
		parent[i] = -1;
		snprintf(names[i], sizeof names[i], "p%d", i);
	}
	/* p1 -> p0 (p0 is p1's parent), p2 -> p1, p3 -> p2 */
	parent[1] = 0;
	parent[2] = 1;
	parent[3] = 2;
	rf_err err = {0};
	assert_int_equal(rf_relation_check("p4", "p3", parent_of, NULL, "recruited_by_id", &err), RF_OK);
	assert_int_equal(rf_relation_check("p0", NULL, parent_of, NULL, "recruited_by_id", &err), RF_OK);
	/* Making p3 the parent of p0 closes p0 -> p3 -> p2 -> p1 -> p0. */
	assert_int_equal(rf_relation_check("p0", "p3", parent_of, NULL, "recruited_by_id", &err), RF_ECONFLICT);
	assert_string_equal(err.field, "recruited_by_id");
	assert_int_equal(rf_relation_check("p2", "p2", parent_of, NULL, "team_parent_id", &err), RF_ECONFLICT);
	assert_string_equal(err.field, "team_parent_id");
	assert_int_equal(rf_relation_check("p1", "broken", parent_of, NULL, "team_parent_id", &err), RF_EIO);
	/* A new partner (no id yet) can join any chain. */
	assert_int_equal(rf_relation_check(NULL, "p3", parent_of, NULL, "team_parent_id", &err), RF_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(format_times),      cmocka_unit_test(parse_times),     cmocka_unit_test(round_trip),
	    cmocka_unit_test(offset_moves_time), cmocka_unit_test(relation_cycles),
	};
	return cmocka_run_group_tests_name("clock_relation", tests, NULL, NULL);
}
