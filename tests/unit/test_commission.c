/* Unit tests for commission arithmetic with worked examples in money: odd cents, half-even ties, JPY and BHD,
 * tiers at their boundaries, three override levels, partial refunds of one sale, conversion, overflow. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../src/core/commission.h"

static void percentages(void **state)
{
	(void)state;
	int64_t out;
	/* 10 % of $49.99 = 499.9 cents -> 500; 12.5 % of 1 cent = 0.125 -> 0; 15 % of $3.33 = 49.95 -> 50. */
	assert_int_equal(rf_commission_bps(4999, 1000, &out), RF_OK);
	assert_int_equal(out, 500);
	assert_int_equal(rf_commission_bps(1, 1250, &out), RF_OK);
	assert_int_equal(out, 0);
	assert_int_equal(rf_commission_bps(333, 1500, &out), RF_OK);
	assert_int_equal(out, 50);
	/* Ties go to even: 5 % of 10 cents = 0.5 -> 0; of 30 cents = 1.5 -> 2; of 50 cents = 2.5 -> 2. */
	assert_int_equal(rf_commission_bps(10, 500, &out), RF_OK);
	assert_int_equal(out, 0);
	assert_int_equal(rf_commission_bps(30, 500, &out), RF_OK);
	assert_int_equal(out, 2);
	assert_int_equal(rf_commission_bps(50, 500, &out), RF_OK);
	assert_int_equal(out, 2);
	/* JPY has no minor unit: 7 % of 1,999 yen = 139.93 -> 140 yen. BHD has three: 20 % of 1.235 BHD = 0.247. */
	assert_int_equal(rf_commission_bps(1999, 700, &out), RF_OK);
	assert_int_equal(out, 140);
	assert_int_equal(rf_commission_bps(1235, 2000, &out), RF_OK);
	assert_int_equal(out, 247);
	/* Negative bases (refunds) mirror positive ones; negative rates and overflow are refused. */
	assert_int_equal(rf_commission_bps(-4999, 1000, &out), RF_OK);
	assert_int_equal(out, -500);
	assert_int_equal(rf_commission_bps(100, -1, &out), RF_EINVAL);
	assert_int_equal(rf_commission_bps(INT64_MAX, 20000, &out), RF_EOVERFLOW);
}

static void tiers(void **state)
{
	(void)state;
	const rf_tier t[] = {{0, 1000}, {10, 1500}, {50, 2000}};
	assert_int_equal(rf_tier_pick(t, 3, 0), 0);
	assert_int_equal(rf_tier_pick(t, 3, 9), 0);
	assert_int_equal(rf_tier_pick(t, 3, 10), 1); /* the boundary belongs to the higher tier */
	assert_int_equal(rf_tier_pick(t, 3, 49), 1);
	assert_int_equal(rf_tier_pick(t, 3, 50), 2);
	assert_int_equal(rf_tier_pick(t, 3, 1000000), 2);
	const rf_tier from_revenue[] = {{100000, 500}};
	assert_int_equal(rf_tier_pick(from_revenue, 1, 99999), -1);
	assert_int_equal(rf_tier_pick(from_revenue, 1, 100000), 0);
	assert_int_equal(rf_tier_pick(t, 0, 5), -1);
}

static void three_override_levels(void **state)
{
	(void)state;
	/* A recruited partner earned $123.45; its recruiters get 10 %, 5 % and 2 %, each of the $123.45. */
	const int64_t levels[] = {1000, 500, 200};
	int64_t out[3];
	assert_int_equal(rf_overrides(12345, levels, 3, out), RF_OK);
	assert_int_equal(out[0], 1234); /* 1234.5 -> even 1234 */
	assert_int_equal(out[1], 617);  /* 617.25 */
	assert_int_equal(out[2], 247);  /* 246.9 */
}

static void partial_refunds_add_up(void **state)
{
	(void)state;
	/* A $100.00 sale earned $33.33. Refunds of $33.34, $33.33 and $33.33 reverse exactly $33.33 in total. */
	int64_t r1, r2, r3;
	assert_int_equal(rf_reversal(3333, 10000, 0, 3334, &r1), RF_OK);
	assert_int_equal(rf_reversal(3333, 10000, 3334, 3333, &r2), RF_OK);
	assert_int_equal(rf_reversal(3333, 10000, 6667, 3333, &r3), RF_OK);
	assert_int_equal(r1 + r2 + r3, 3333);
	assert_int_equal(r1, 1111); /* 1111.2222 */
	/* Any split of a full refund reverses the whole commission, one cent at a time included. */
	int64_t total = 0, prior = 0, r;
	for (int i = 0; i < 997; i++) {
		assert_int_equal(rf_reversal(777, 997, prior, 1, &r), RF_OK);
		total += r;
		prior += 1;
	}
	assert_int_equal(total, 777);
	/* More than the sale, negative amounts and an empty sale are refused. */
	assert_int_equal(rf_reversal(100, 1000, 600, 500, &r), RF_EINVAL);
	assert_int_equal(rf_reversal(100, 1000, 0, -1, &r), RF_EINVAL);
	assert_int_equal(rf_reversal(100, 0, 0, 0, &r), RF_EINVAL);
}

static void rates_and_conversion(void **state)
{
	(void)state;
	int64_t rate, out;
	assert_int_equal(rf_rate_parse("1.0842", &rate), RF_OK);
	assert_int_equal(rate, 1084200000);
	assert_int_equal(rf_rate_parse("0.0067", &rate), RF_OK);
	assert_int_equal(rf_rate_parse("0", &rate), RF_EINVAL);
	assert_int_equal(rf_rate_parse("-1.2", &rate), RF_EINVAL);
	assert_int_equal(rf_rate_parse("1.0000000001", &rate), RF_EINVAL);
	assert_int_equal(rf_rate_parse("1,08", &rate), RF_EINVAL);
	/* 1,000 JPY at 0.0067 USD per JPY = 6.70 USD = 670 cents. */
	assert_int_equal(rf_rate_parse("0.0067", &rate), RF_OK);
	assert_int_equal(rf_fx_convert(1000, 0, 2, rate, &out), RF_OK);
	assert_int_equal(out, 670);
	/* 49.99 EUR at 1.0842 = 54.199158 USD -> 5420 cents. */
	assert_int_equal(rf_rate_parse("1.0842", &rate), RF_OK);
	assert_int_equal(rf_fx_convert(4999, 2, 2, rate, &out), RF_OK);
	assert_int_equal(out, 5420);
	/* 10.00 USD at 0.377 BHD = 3.770 BHD (three decimals); 3.770 BHD at 149.25 JPY = 562.6725 -> 563 yen. */
	assert_int_equal(rf_rate_parse("0.377", &rate), RF_OK);
	assert_int_equal(rf_fx_convert(1000, 2, 3, rate, &out), RF_OK);
	assert_int_equal(out, 3770);
	assert_int_equal(rf_rate_parse("149.25", &rate), RF_OK);
	assert_int_equal(rf_fx_convert(3770, 3, 0, rate, &out), RF_OK);
	assert_int_equal(out, 563);
	/* A half at the end rounds to even: 0.05 USD at 0.5 = 2.5 cents -> 2. */
	assert_int_equal(rf_rate_parse("0.5", &rate), RF_OK);
	assert_int_equal(rf_fx_convert(5, 2, 2, rate, &out), RF_OK);
	assert_int_equal(out, 2);
	assert_int_equal(rf_fx_convert(INT64_MAX, 0, 4, 9000000000000000000LL, &out), RF_EOVERFLOW);
	assert_int_equal(rf_fx_convert(100, 2, 2, 0, &out), RF_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(percentages),           cmocka_unit_test(tiers),
	    cmocka_unit_test(three_override_levels), cmocka_unit_test(partial_refunds_add_up),
	    cmocka_unit_test(rates_and_conversion),
	};
	return cmocka_run_group_tests_name("commission", tests, NULL, NULL);
}
