/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the capped growable buffer: growth, the cap, out of memory, and that a failure sticks and empties
 * the buffer so nothing half-built can be taken for a whole result. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/csv.h"
#include "core/dbuf.h"

/* Under AddressSanitizer an impossible allocation must fail like it does elsewhere, not stop the test. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "allocator_may_return_null=1";
}

static void grows_and_hands_over(void **state)
{
	(void)state;
	rf_dbuf b = RF_DBUF_INIT(1 << 20);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(rf_dbuf_add(&b, "0123456789", 10), RF_OK);
	assert_int_equal(rf_dbuf_addf(&b, "%s=%d", "n", 42), RF_OK);
	assert_int_equal(rf_dbuf_adds(&b, NULL), RF_OK);
	assert_int_equal(rf_dbuf_status(&b), RF_OK);
	char *out = NULL;
	size_t len = 0;
	assert_int_equal(rf_dbuf_take(&b, &out, &len), RF_OK);
	assert_int_equal(len, 10004);
	assert_memory_equal(out + 9990, "0123456789n=42", 14);
	assert_int_equal(out[len], '\0');
	assert_null(b.p);
	free(out);
	/* An empty buffer hands over an empty string, not NULL. */
	assert_int_equal(rf_dbuf_take(&b, &out, &len), RF_OK);
	assert_non_null(out);
	assert_int_equal(len, 0);
	assert_string_equal(out, "");
	free(out);
}

static void the_cap_fails_and_sticks(void **state)
{
	(void)state;
	rf_dbuf b = RF_DBUF_INIT(25);
	assert_int_equal(rf_dbuf_add(&b, "0123456789", 10), RF_OK);
	assert_int_equal(rf_dbuf_add(&b, "0123456789", 10), RF_OK);
	assert_int_equal(rf_dbuf_add(&b, "0123456789", 10), RF_ETOOBIG);
	/* The contents are gone and later additions, even small ones, do nothing. */
	assert_null(b.p);
	assert_int_equal(b.len, 0);
	assert_int_equal(rf_dbuf_add(&b, "x", 1), RF_ETOOBIG);
	assert_int_equal(rf_dbuf_addf(&b, "%d", 1), RF_ETOOBIG);
	assert_null(rf_dbuf_reserve(&b, 1));
	char *out = (char *)"untouched";
	size_t len = 7;
	assert_int_equal(rf_dbuf_take(&b, &out, &len), RF_ETOOBIG);
	assert_string_equal(out, "untouched");
	assert_int_equal(len, 7);
	/* Exactly at the cap is fine. */
	rf_dbuf_init(&b, 10);
	assert_int_equal(rf_dbuf_add(&b, "0123456789", 10), RF_OK);
	assert_int_equal(rf_dbuf_add(&b, "", 0), RF_OK);
	assert_int_equal(rf_dbuf_add(&b, "x", 1), RF_ETOOBIG);
	rf_dbuf_free(&b);
	/* A printf-style addition past the cap fails too. */
	rf_dbuf_init(&b, 8);
	assert_int_equal(rf_dbuf_addf(&b, "%s", "123456789"), RF_ETOOBIG);
	rf_dbuf_free(&b);
}

static void out_of_memory_fails_and_sticks(void **state)
{
	(void)state;
	rf_dbuf b = RF_DBUF_INIT((size_t)-1 / 2);
	assert_int_equal(rf_dbuf_add(&b, "abc", 3), RF_OK);
	/* No allocator gives this much: the buffer fails with RF_ENOMEM and frees what it held. */
	assert_null(rf_dbuf_reserve(&b, (size_t)-1 / 4));
	assert_int_equal(rf_dbuf_status(&b), RF_ENOMEM);
	assert_null(b.p);
	assert_int_equal(rf_dbuf_add(&b, "x", 1), RF_ENOMEM);
	char *out = NULL;
	size_t len = 0;
	assert_int_equal(rf_dbuf_take(&b, &out, &len), RF_ENOMEM);
	assert_null(out);
	/* Freed, the buffer works again. */
	assert_int_equal(rf_dbuf_add(&b, "x", 1), RF_OK);
	rf_dbuf_free(&b);
}

static void csv_cells_fail_with_the_buffer(void **state)
{
	(void)state;
	rf_dbuf b = RF_DBUF_INIT(64);
	rf_csv_cell(&b, "=SUM(A1)", false);
	rf_csv_cell(&b, "say \"hi\"", false);
	rf_csv_number(&b, "-1.50", true);
	assert_int_equal(rf_dbuf_status(&b), RF_OK);
	assert_string_equal(b.p, "\"'=SUM(A1)\",\"say \"\"hi\"\"\",-1.50\n");
	/* A cell that does not fit fails the whole buffer instead of leaving a cut row. */
	rf_csv_cell(&b, "0123456789012345678901234567890123456789", true);
	assert_int_equal(rf_dbuf_status(&b), RF_ETOOBIG);
	rf_csv_number(&b, "1", true);
	assert_null(b.p);
	rf_dbuf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(grows_and_hands_over),
	    cmocka_unit_test(the_cap_fails_and_sticks),
	    cmocka_unit_test(out_of_memory_fails_and_sticks),
	    cmocka_unit_test(csv_cells_fail_with_the_buffer),
	};
	return cmocka_run_group_tests_name("dbuf", tests, NULL, NULL);
}
