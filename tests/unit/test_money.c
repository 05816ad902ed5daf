/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for exact money: currency table, half-even ratio arithmetic, overflow, formatting and parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "../../src/core/money.h"

static void currency_exponents(void **state)
{
	(void)state;
	char code[4];
	assert_int_equal(rf_currency_lookup("usd", code), 2);
	assert_string_equal(code, "USD");
	assert_int_equal(rf_currency_lookup("JPY", code), 0);
	assert_int_equal(rf_currency_lookup("BHD", code), 3);
	assert_int_equal(rf_currency_lookup("KWD", code), 3);
	assert_int_equal(rf_currency_lookup("CLF", code), 4);
	assert_int_equal(rf_currency_lookup("EuR", code), 2);
	assert_string_equal(code, "EUR");
}

static void currency_rejects(void **state)
{
	(void)state;
	assert_int_equal(rf_currency_lookup("XXX", NULL), -1);
	assert_int_equal(rf_currency_lookup("US", NULL), -1);
	assert_int_equal(rf_currency_lookup("USDD", NULL), -1);
	assert_int_equal(rf_currency_lookup("U$D", NULL), -1);
	assert_int_equal(rf_currency_lookup("", NULL), -1);
	assert_int_equal(rf_currency_lookup(NULL, NULL), -1);
	assert_int_equal(rf_currency_lookup("XAU", NULL), -1); /* gold has no minor unit to pay in */
}

static void currency_table_sorted(void **state)
{
	(void)state;
	/* Binary search needs order; every listed code must be found. */
	const char *sample[] = {"AED", "ZWG", "XOF", "MRU", "SLE", "VED", "STN"};
	for (size_t i = 0; i < sizeof sample / sizeof sample[0]; i++)
		assert_true(rf_currency_lookup(sample[i], NULL) >= 0);
	assert_true(rf_currency_count() > 150);
}

static void currency_table_by_index_agrees_with_lookup_by_code(void **state)
{
	(void)state;
	/* Walking the table by index (as GET /api/v1/currencies does) gives every code once, in order, each with
	 * the exponent a lookup by code gives. */
	char prev[4] = "", code[4], again[4];
	size_t n = rf_currency_count();
	for (size_t i = 0; i < n; i++) {
		int e = rf_currency_at(i, code);
		assert_true(e >= 0 && e <= 4);
		assert_true(strcmp(prev, code) < 0);
		assert_int_equal(rf_currency_lookup(code, again), e);
		assert_string_equal(again, code);
		memcpy(prev, code, 4);
	}
	memcpy(code, "---", 4);
	assert_int_equal(rf_currency_at(n, code), -1);
	assert_string_equal(code, "---");
	assert_int_equal(rf_currency_at((size_t)-1, code), -1);
}

static void ratio_half_even(void **state)
{
	(void)state;
	int64_t out;
	/* 12.5 -> 12, 13.5 -> 14: ties go to the even neighbour. */
	assert_int_equal(rf_money_mul_ratio(125, 1, 10, &out), RF_OK);
	assert_int_equal(out, 12);
	assert_int_equal(rf_money_mul_ratio(135, 1, 10, &out), RF_OK);
	assert_int_equal(out, 14);
	/* Negative amounts are symmetric. */
	assert_int_equal(rf_money_mul_ratio(-125, 1, 10, &out), RF_OK);
	assert_int_equal(out, -12);
	assert_int_equal(rf_money_mul_ratio(-135, 1, 10, &out), RF_OK);
	assert_int_equal(out, -14);
	/* 10 % of 4999 cents = 499.9 -> 500; 15 % (1500 bps) of 333 = 49.95 -> 50. */
	assert_int_equal(rf_money_mul_ratio(4999, 1000, 10000, &out), RF_OK);
	assert_int_equal(out, 500);
	assert_int_equal(rf_money_mul_ratio(333, 1500, 10000, &out), RF_OK);
	assert_int_equal(out, 50);
	/* 2.5 % of 1 cent = 0.025 -> 0; exact results stay exact. */
	assert_int_equal(rf_money_mul_ratio(1, 250, 10000, &out), RF_OK);
	assert_int_equal(out, 0);
	assert_int_equal(rf_money_mul_ratio(10000, 250, 10000, &out), RF_OK);
	assert_int_equal(out, 250);
}

static void ratio_overflow_and_bad_den(void **state)
{
	(void)state;
	int64_t out = 7;
	assert_int_equal(rf_money_mul_ratio(INT64_MAX, 3, 2, &out), RF_EOVERFLOW);
	assert_int_equal(out, 7);
	assert_int_equal(rf_money_mul_ratio(INT64_MAX, 10000, 10000, &out), RF_OK);
	assert_true(out == INT64_MAX);
	assert_int_equal(rf_money_mul_ratio(5, 1, 0, &out), RF_EINVAL);
	assert_int_equal(rf_money_mul_ratio(5, 1, -3, &out), RF_EINVAL);
}

/* Report ratios at the extremes of int64: the old num * 10000 overflowed for num above 9.2e14. */
static void ratio4_extremes(void **state)
{
	(void)state;
	assert_true(rf_ratio4(1000000000000000LL, 100000000000000LL) == 10.0); /* 10^15 IRR at 10 % */
	assert_true(rf_ratio4(INT64_MAX - 3, (INT64_MAX - 3) / 10) == 10.0);
	assert_true(rf_ratio4(INT64_MAX, INT64_MAX) == 1.0);
	assert_true(rf_ratio4(INT64_MIN, INT64_MAX) == -1.0001 || rf_ratio4(INT64_MIN, INT64_MAX) == -1.0);
	assert_true(rf_ratio4(INT64_MAX, 1) == (double)INT64_MAX);
	assert_true(rf_ratio4(INT64_MIN, 1) == (double)INT64_MIN);
	assert_true(rf_ratio4(1, INT64_MAX) == 0.0);
	assert_true(rf_ratio4(1, 3) == 0.3333);
	assert_true(rf_ratio4(2, 3) == 0.6667);
	assert_true(rf_ratio4(-2, 3) == -0.6667);
	/* Half-even on the fourth decimal: 0.00005 goes to 0, 0.00015 to 0.0002. */
	assert_true(rf_ratio4(5, 100000) == 0.0);
	assert_true(rf_ratio4(15, 100000) == 0.0002);
	/* No denominator: 0 (the report shows null before it asks). */
	assert_true(rf_ratio4(5, 0) == 0.0);
	assert_true(rf_ratio4(5, -1) == 0.0);
	/* Just past what four exact decimals can carry: the plain quotient. */
	assert_true(rf_ratio4(INT64_MAX, 2) == (double)INT64_MAX / 2.0);
}

static void add_overflow(void **state)
{
	(void)state;
	int64_t out;
	assert_int_equal(rf_money_add(INT64_MAX, 1, &out), RF_EOVERFLOW);
	assert_int_equal(rf_money_add(INT64_MIN, -1, &out), RF_EOVERFLOW);
	assert_int_equal(rf_money_add(40, 2, &out), RF_OK);
	assert_int_equal(out, 42);
}

static void format_amounts(void **state)
{
	(void)state;
	char buf[32];
	assert_int_equal(rf_money_format(4900, 2, buf, sizeof buf), 5);
	assert_string_equal(buf, "49.00");
	rf_money_format(-5, 2, buf, sizeof buf);
	assert_string_equal(buf, "-0.05");
	rf_money_format(1234, 0, buf, sizeof buf);
	assert_string_equal(buf, "1234");
	rf_money_format(1, 3, buf, sizeof buf);
	assert_string_equal(buf, "0.001");
	rf_money_format(INT64_MIN, 2, buf, sizeof buf);
	assert_string_equal(buf, "-92233720368547758.08");
	assert_int_equal(rf_money_format(123456, 2, buf, 4), -1);
}

static void parse_amounts(void **state)
{
	(void)state;
	int64_t v;
	assert_int_equal(rf_money_parse("49", 2, &v), RF_OK);
	assert_int_equal(v, 4900);
	assert_int_equal(rf_money_parse("49.5", 2, &v), RF_OK);
	assert_int_equal(v, 4950);
	assert_int_equal(rf_money_parse("-0.05", 2, &v), RF_OK);
	assert_int_equal(v, -5);
	assert_int_equal(rf_money_parse("1.234", 3, &v), RF_OK);
	assert_int_equal(v, 1234);
	assert_int_equal(rf_money_parse("1000", 0, &v), RF_OK);
	assert_int_equal(v, 1000);
	/* Refused: more decimals than the currency has (no silent rounding), junk, empty parts, overflow. */
	assert_int_equal(rf_money_parse("1.005", 2, &v), RF_EINVAL);
	assert_int_equal(rf_money_parse("1.5", 0, &v), RF_EINVAL);
	assert_int_equal(rf_money_parse("1,5", 2, &v), RF_EINVAL);
	assert_int_equal(rf_money_parse("1.", 2, &v), RF_EINVAL);
	assert_int_equal(rf_money_parse(".5", 2, &v), RF_EINVAL);
	assert_int_equal(rf_money_parse("", 2, &v), RF_EINVAL);
	assert_int_equal(rf_money_parse("+5", 2, &v), RF_EINVAL);
	assert_int_equal(rf_money_parse("99999999999999999999", 2, &v), RF_EOVERFLOW);
}

static void format_parse_round_trip(void **state)
{
	(void)state;
	int64_t samples[] = {0, 1, -1, 99, 100, 123456789, -987654321, INT64_MAX / 1000};
	for (int e = 0; e <= 3; e++) {
		for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
			char buf[40];
			int64_t back;
			assert_true(rf_money_format(samples[i], e, buf, sizeof buf) > 0);
			assert_int_equal(rf_money_parse(buf, e, &back), RF_OK);
			assert_true(back == samples[i]);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(currency_exponents),
	    cmocka_unit_test(currency_rejects),
	    cmocka_unit_test(currency_table_sorted),
	    cmocka_unit_test(currency_table_by_index_agrees_with_lookup_by_code),
	    cmocka_unit_test(ratio_half_even),
	    cmocka_unit_test(ratio_overflow_and_bad_den),
	    cmocka_unit_test(ratio4_extremes),
	    cmocka_unit_test(add_overflow),
	    cmocka_unit_test(format_amounts),
	    cmocka_unit_test(parse_amounts),
	    cmocka_unit_test(format_parse_round_trip),
	};
	return cmocka_run_group_tests_name("money", tests, NULL, NULL);
}
