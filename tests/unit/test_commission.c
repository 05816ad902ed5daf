/* SPDX-License-Identifier: Apache-2.0 */
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

static void overrides_round_from_earned(void **state)
{
	(void)state;
	/* $9.99 earned; 10 %, 5 % and 2.5 %: 99.9 -> 100, 49.95 -> 50, 24.975 -> 25 cents. */
	const int64_t levels[] = {1000, 500, 250};
	int64_t out[3] = {-1, -1, -1};
	assert_int_equal(rf_overrides(999, levels, 3, out), RF_OK);
	assert_int_equal(out[0], 100);
	assert_int_equal(out[1], 50);
	assert_int_equal(out[2], 25);
	/* 25 cents earned: 2.5 -> 2, 1.25 -> 1, 0.625 -> 1. Rounding from the level below would give half of 2 = 1,
	 * then half of 1 = 0.5 -> 0 at level 3: each level is taken from the earned amount. */
	assert_int_equal(rf_overrides(25, levels, 3, out), RF_OK);
	assert_int_equal(out[0], 2);
	assert_int_equal(out[1], 1);
	assert_int_equal(out[2], 1);
	/* 1,999 yen: 199.9 -> 200, 99.95 -> 100, 49.975 -> 50 yen. */
	assert_int_equal(rf_overrides(1999, levels, 3, out), RF_OK);
	assert_int_equal(out[0], 200);
	assert_int_equal(out[1], 100);
	assert_int_equal(out[2], 50);
	/* A reversed commission (-999) reverses the overrides symmetrically. */
	assert_int_equal(rf_overrides(-999, levels, 3, out), RF_OK);
	assert_int_equal(out[0], -100);
	assert_int_equal(out[1], -50);
	assert_int_equal(out[2], -25);
	/* No levels writes nothing; a negative level rate and overflow are refused. */
	out[0] = 7;
	assert_int_equal(rf_overrides(999, levels, 0, out), RF_OK);
	assert_int_equal(out[0], 7);
	const int64_t negative[] = {1000, -1};
	assert_int_equal(rf_overrides(999, negative, 2, out), RF_EINVAL);
	const int64_t too_much[] = {10000, 10001};
	assert_int_equal(rf_overrides(INT64_MAX, too_much, 2, out), RF_EOVERFLOW);
}

/* The reversals of refunds of refunds[0..2] (in that order) on one sale of 4900 cents that earned c. */
static void reverse_three(int64_t c, const int64_t refunds[3], int64_t out[3])
{
	int64_t prior = 0;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(rf_reversal(c, 4900, prior, refunds[i], &out[i]), RF_OK);
		prior += refunds[i];
	}
	assert_int_equal(prior, 4900);
}

static void refunds_of_a_recurring_sale(void **state)
{
	(void)state;
	int64_t r[3];
	/* A $49.00 renewal earned 20 % = $9.80. Refunds of $10.00, $15.00 and $24.00 reverse 200, 300 and 480
	 * cents (980 x 1000/4900, 980 x 2500/4900 - 200, 980 - 500): exactly 980 in all. */
	const int64_t order1[] = {1000, 1500, 2400};
	reverse_three(980, order1, r);
	assert_int_equal(r[0], 200);
	assert_int_equal(r[1], 300);
	assert_int_equal(r[2], 480);
	/* The other way round: 480, 300, 200. */
	const int64_t order2[] = {2400, 1500, 1000};
	reverse_three(980, order2, r);
	assert_int_equal(r[0], 480);
	assert_int_equal(r[1], 300);
	assert_int_equal(r[2], 200);
	/* A commission that does not divide evenly: 1001 cents. Rounding each refund on its own would reverse 204.29
	 * -> 204, 306.43 -> 306 and 490.29 -> 490 = 1000 cents, one short. On the cumulative amount: 204, then
	 * 1001 x 2500/4900 = 510.71 -> 511 - 204 = 307, then 1001 - 511 = 490: 1001. */
	reverse_three(1001, order1, r);
	assert_int_equal(r[0], 204);
	assert_int_equal(r[1], 307);
	assert_int_equal(r[2], 490);
	assert_int_equal(r[0] + r[1] + r[2], 1001);
	/* In the order 2400, 1000, 1500: 490.29 -> 490, 694.57 -> 695 - 490 = 205, 1001 - 695 = 306. */
	const int64_t order3[] = {2400, 1000, 1500};
	reverse_three(1001, order3, r);
	assert_int_equal(r[0], 490);
	assert_int_equal(r[1], 205);
	assert_int_equal(r[2], 306);
	assert_int_equal(r[0] + r[1] + r[2], 1001);
	/* A refund of nothing reverses nothing; one full refund reverses everything. */
	int64_t one;
	assert_int_equal(rf_reversal(1001, 4900, 1000, 0, &one), RF_OK);
	assert_int_equal(one, 0);
	assert_int_equal(rf_reversal(1001, 4900, 0, 4900, &one), RF_OK);
	assert_int_equal(one, 1001);
}

static void reversal_errors(void **state)
{
	(void)state;
	int64_t r;
	/* Refunds beyond the sale: 4900 refunded after 1000 (1 cent too much), a prior above the sale. */
	assert_int_equal(rf_reversal(980, 4900, 1000, 3901, &r), RF_EINVAL);
	assert_int_equal(rf_reversal(980, 4900, 4901, 0, &r), RF_EINVAL);
	/* Negative refunds or priors, an empty or negative sale. */
	assert_int_equal(rf_reversal(980, 4900, -1, 100, &r), RF_EINVAL);
	assert_int_equal(rf_reversal(980, 4900, 0, -100, &r), RF_EINVAL);
	assert_int_equal(rf_reversal(980, 0, 0, 0, &r), RF_EINVAL);
	assert_int_equal(rf_reversal(980, -4900, 0, 100, &r), RF_EINVAL);
	/* A refund that would wrap when added to the prior amount is refused, not wrapped. */
	assert_int_equal(rf_reversal(980, INT64_MAX, INT64_MAX, INT64_MAX, &r), RF_EINVAL);
	/* Exactly the rest of the sale is fine: 980 - round(980 x 1000/4900 = 200) = 780. */
	assert_int_equal(rf_reversal(980, 4900, 1000, 3900, &r), RF_OK);
	assert_int_equal(r, 780);
}

static void conversion_jpy_usd_bhd(void **state)
{
	(void)state;
	int64_t rate = 0, out = 0;
	/* Rates in parts per billion. */
	assert_int_equal(rf_rate_parse("0.0067", &rate), RF_OK);
	assert_int_equal(rate, 6700000);
	assert_int_equal(rf_rate_parse("0.377", &rate), RF_OK);
	assert_int_equal(rate, 377000000);
	assert_int_equal(rf_rate_parse("149.25", &rate), RF_OK);
	assert_int_equal(rate, 149250000000LL);
	assert_int_equal(rf_rate_parse("0.000000001", &rate), RF_OK);
	assert_int_equal(rate, 1);
	assert_int_equal(rf_rate_parse("2", &rate), RF_OK);
	assert_int_equal(rate, 2000000000);
	assert_int_equal(rf_rate_parse("0.000000000", &rate), RF_EINVAL);
	assert_int_equal(rf_rate_parse("", &rate), RF_EINVAL);
	assert_int_equal(rf_rate_parse(NULL, &rate), RF_EINVAL);
	assert_int_equal(rf_rate_parse("1.", &rate), RF_EINVAL);
	assert_int_equal(rf_rate_parse(".5", &rate), RF_EINVAL);
	assert_int_equal(rf_rate_parse("+1", &rate), RF_EINVAL);
	assert_int_equal(rf_rate_parse(" 1", &rate), RF_EINVAL);
	assert_int_equal(rf_rate_parse("1e3", &rate), RF_EINVAL);
	assert_int_not_equal(rf_rate_parse("9223372036.854775808", &rate), RF_OK); /* one ppb above INT64_MAX */
	assert_int_equal(rf_rate_parse("9223372036.854775807", &rate), RF_OK);
	assert_int_equal(rate, INT64_MAX);
	/* JPY -> USD at 0.0067: 12,345 yen = 82.7115 USD -> 8271 cents; 1,999 yen = 13.3933 -> 1339 cents. */
	assert_int_equal(rf_rate_parse("0.0067", &rate), RF_OK);
	assert_int_equal(rf_fx_convert(12345, 0, 2, rate, &out), RF_OK);
	assert_int_equal(out, 8271);
	assert_int_equal(rf_fx_convert(1999, 0, 2, rate, &out), RF_OK);
	assert_int_equal(out, 1339);
	/* A refund converts to the mirror amount: -1,000 yen = -670 cents. */
	assert_int_equal(rf_fx_convert(-1000, 0, 2, rate, &out), RF_OK);
	assert_int_equal(out, -670);
	/* Ties at 0.005 USD per yen: 1 yen = 0.5 cent -> 0; 3 yen = 1.5 cents -> 2. */
	assert_int_equal(rf_rate_parse("0.005", &rate), RF_OK);
	assert_int_equal(rf_fx_convert(1, 0, 2, rate, &out), RF_OK);
	assert_int_equal(out, 0);
	assert_int_equal(rf_fx_convert(3, 0, 2, rate, &out), RF_OK);
	assert_int_equal(out, 2);
	/* USD -> BHD (three decimals) at 0.377: $49.99 = 18.84623 BHD -> 18846 fils; 1 cent = 3.77 fils -> 4. */
	assert_int_equal(rf_rate_parse("0.377", &rate), RF_OK);
	assert_int_equal(rf_fx_convert(4999, 2, 3, rate, &out), RF_OK);
	assert_int_equal(out, 18846);
	assert_int_equal(rf_fx_convert(1, 2, 3, rate, &out), RF_OK);
	assert_int_equal(out, 4);
	/* Ties in fils at 0.375: 2 cents = 7.5 fils -> 8; 6 cents = 22.5 fils -> 22. */
	assert_int_equal(rf_rate_parse("0.375", &rate), RF_OK);
	assert_int_equal(rf_fx_convert(2, 2, 3, rate, &out), RF_OK);
	assert_int_equal(out, 8);
	assert_int_equal(rf_fx_convert(6, 2, 3, rate, &out), RF_OK);
	assert_int_equal(out, 22);
	/* USD -> JPY at 149.25: $10.00 = 1,492.5 yen -> 1492 (even). */
	assert_int_equal(rf_rate_parse("149.25", &rate), RF_OK);
	assert_int_equal(rf_fx_convert(1000, 2, 0, rate, &out), RF_OK);
	assert_int_equal(out, 1492);
	/* Overflow: INT64_MAX yen at 1.0 is 100 x INT64_MAX cents; INT64_MAX cents at 2.0 is twice too many. */
	assert_int_equal(rf_fx_convert(INT64_MAX, 0, 2, RF_RATE_ONE, &out), RF_EOVERFLOW);
	assert_int_equal(rf_fx_convert(INT64_MAX, 2, 2, 2 * RF_RATE_ONE, &out), RF_EOVERFLOW);
	/* The same amount at 1.0 within one exponent fits exactly. */
	assert_int_equal(rf_fx_convert(INT64_MAX, 2, 2, RF_RATE_ONE, &out), RF_OK);
	assert_int_equal(out, INT64_MAX);
	/* Exponents outside 0..4 and non-positive rates are refused. */
	assert_int_equal(rf_fx_convert(100, 5, 2, RF_RATE_ONE, &out), RF_EINVAL);
	assert_int_equal(rf_fx_convert(100, 2, -1, RF_RATE_ONE, &out), RF_EINVAL);
	assert_int_equal(rf_fx_convert(100, 2, 2, -1, &out), RF_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(percentages),
	    cmocka_unit_test(tiers),
	    cmocka_unit_test(three_override_levels),
	    cmocka_unit_test(partial_refunds_add_up),
	    cmocka_unit_test(rates_and_conversion),
	    cmocka_unit_test(overrides_round_from_earned),
	    cmocka_unit_test(refunds_of_a_recurring_sale),
	    cmocka_unit_test(reversal_errors),
	    cmocka_unit_test(conversion_jpy_usd_bhd),
	};
	return cmocka_run_group_tests_name("commission", tests, NULL, NULL);
}
