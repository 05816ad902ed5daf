/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for plan rules with worked examples in money: flat and percentage parts, half-even rounding, JPY,
 * recurring windows, tiers at their boundaries, leads, the agent/team split and the calendar arithmetic. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/core/plan.h"

/* Times used below (unix ms, UTC), each checked against an independent calendar. */
#define JAN31_2024_1000 1706695200000LL      /* 2024-01-31T10:00:00.000Z */
#define APR30_2024_0959_LAST 1714471199999LL /* 2024-04-30T09:59:59.999Z */
#define APR30_2024_1000 1714471200000LL      /* 2024-04-30T10:00:00.000Z */
#define FEB29_2024_0959_LAST 1709200799999LL /* 2024-02-29T09:59:59.999Z */
#define JAN31_2034_1000 2022314400000LL      /* 2034-01-31T10:00:00.000Z */

static rf_plan_sale sale_of(int64_t amount, const char *currency)
{
	rf_plan_sale s;
	memset(&s, 0, sizeof s);
	s.amount = amount;
	memcpy(s.currency, currency, 4);
	s.at = s.first_sale_at = JAN31_2024_1000;
	return s;
}

static rf_plan_sale renewal_of(int64_t amount, const char *currency, int64_t at)
{
	rf_plan_sale s = sale_of(amount, currency);
	s.recurring = true;
	s.at = at;
	return s;
}

/* Checks one part field by field. */
static void assert_part(const rf_plan_part *p, const char *rule, const char *basis, int64_t base,
			const char *base_currency, int64_t bps, int tier, int64_t earned, const char *currency)
{
	assert_string_equal(p->rule, rule);
	assert_string_equal(p->basis, basis);
	assert_int_equal(p->base, base);
	assert_string_equal(p->base_currency, base_currency);
	assert_int_equal(p->bps, bps);
	assert_int_equal(p->tier, tier);
	assert_int_equal(p->earned, earned);
	assert_string_equal(p->currency, currency);
}

static void flat_only(void **state)
{
	(void)state;
	/* A flat $5.00 per sale, whatever the sale's amount and currency: one part in the flat amount's currency. */
	rf_plan_rules r = {.has_sale_flat = true, .sale_flat = 500, .sale_flat_currency = "USD"};
	rf_plan_sale s = sale_of(4999, "EUR");
	rf_plan_part out[2];
	size_t n = 99;
	const char *note = "stale";
	assert_int_equal(rf_plan_sale_parts(&r, &s, out, &n, &note), RF_OK);
	assert_int_equal(n, 1);
	assert_null(note);
	assert_part(&out[0], "sale", "flat", 500, "USD", -1, -1, 500, "USD");
	/* A flat amount of 0 earns nothing, and so does a flat amount the plan does not enable. */
	r.sale_flat = 0;
	assert_int_equal(rf_plan_sale_parts(&r, &s, out, &n, &note), RF_OK);
	assert_int_equal(n, 0);
	assert_non_null(note);
	r.sale_flat = 500;
	r.has_sale_flat = false;
	assert_int_equal(rf_plan_sale_parts(&r, &s, out, &n, NULL), RF_OK);
	assert_int_equal(n, 0);
}

static void percent_only(void **state)
{
	(void)state;
	/* 20 % of 12.34 EUR = 246.8 cents -> 247 cents, in the sale's currency. */
	rf_plan_rules r = {.has_sale_bps = true, .sale_bps = 2000};
	rf_plan_sale s = sale_of(1234, "EUR");
	rf_plan_part out[2];
	size_t n = 99;
	const char *note = "stale";
	assert_int_equal(rf_plan_sale_parts(&r, &s, out, &n, &note), RF_OK);
	assert_int_equal(n, 1);
	assert_null(note);
	assert_part(&out[0], "sale", "percent", 1234, "EUR", 2000, -1, 247, "EUR");
	/* A rate the plan does not enable earns nothing. */
	r.has_sale_bps = false;
	assert_int_equal(rf_plan_sale_parts(&r, &s, out, &n, &note), RF_OK);
	assert_int_equal(n, 0);
	assert_non_null(note);
}

static void flat_and_percent(void **state)
{
	(void)state;
	/* £10.00 flat plus 10 % of $49.99 = 499.9 cents -> $5.00: two parts, each in its own currency, never added. */
	rf_plan_rules r = {.has_sale_flat = true,
			   .sale_flat = 1000,
			   .sale_flat_currency = "GBP",
			   .has_sale_bps = true,
			   .sale_bps = 1000};
	rf_plan_sale s = sale_of(4999, "USD");
	rf_plan_part out[2];
	size_t n = 0;
	const char *note = "stale";
	assert_int_equal(rf_plan_sale_parts(&r, &s, out, &n, &note), RF_OK);
	assert_int_equal(n, 2);
	assert_null(note);
	assert_part(&out[0], "sale", "flat", 1000, "GBP", -1, -1, 1000, "GBP");
	assert_part(&out[1], "sale", "percent", 4999, "USD", 1000, -1, 500, "USD");
	/* When the percentage rounds to 0 (10 % of 4 cents = 0.4 -> 0), only the flat part is left. */
	s.amount = 4;
	assert_int_equal(rf_plan_sale_parts(&r, &s, out, &n, &note), RF_OK);
	assert_int_equal(n, 1);
	assert_null(note);
	assert_part(&out[0], "sale", "flat", 1000, "GBP", -1, -1, 1000, "GBP");
}

/* The amount the 12.5 % plan earns on a sale of amount cents (0 when no part). */
static int64_t earned_at_12_5(int64_t amount, size_t *n)
{
	rf_plan_rules r = {.has_sale_bps = true, .sale_bps = 1250};
	rf_plan_sale s = sale_of(amount, "USD");
	rf_plan_part out[2];
	assert_int_equal(rf_plan_sale_parts(&r, &s, out, n, NULL), RF_OK);
	return *n ? out[0].earned : 0;
}

static void odd_cents_round_half_even(void **state)
{
	(void)state;
	size_t n;
	/* 12.5 % of 100 cents = 12.5 -> 12 (even); of 300 = 37.5 -> 38 (even); of 500 = 62.5 -> 62. */
	assert_int_equal(earned_at_12_5(100, &n), 12);
	assert_int_equal(n, 1);
	assert_int_equal(earned_at_12_5(300, &n), 38);
	assert_int_equal(earned_at_12_5(500, &n), 62);
	/* Not ties: 12.5 % of 4999 = 624.875 -> 625; of 13 = 1.625 -> 2; of 11 = 1.375 -> 1. */
	assert_int_equal(earned_at_12_5(4999, &n), 625);
	assert_int_equal(earned_at_12_5(13, &n), 2);
	assert_int_equal(earned_at_12_5(11, &n), 1);
	/* 12 cents = 1.5 -> 2; 4 cents = 0.5 -> 0, which is dropped; 1 cent = 0.125 -> 0, dropped. */
	assert_int_equal(earned_at_12_5(12, &n), 2);
	assert_int_equal(n, 1);
	assert_int_equal(earned_at_12_5(4, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(earned_at_12_5(1, &n), 0);
	assert_int_equal(n, 0);
}

static void jpy_amounts(void **state)
{
	(void)state;
	/* JPY has no minor unit: 7 % of 1,999 yen = 139.93 -> 140 yen; flat 300 yen beside it. */
	rf_plan_rules r = {.has_sale_flat = true,
			   .sale_flat = 300,
			   .sale_flat_currency = "JPY",
			   .has_sale_bps = true,
			   .sale_bps = 700};
	rf_plan_sale s = sale_of(1999, "JPY");
	rf_plan_part out[2];
	size_t n;
	assert_int_equal(rf_plan_sale_parts(&r, &s, out, &n, NULL), RF_OK);
	assert_int_equal(n, 2);
	assert_part(&out[0], "sale", "flat", 300, "JPY", -1, -1, 300, "JPY");
	assert_part(&out[1], "sale", "percent", 1999, "JPY", 700, -1, 140, "JPY");
	/* 15 % of 50 yen = 7.5 -> 8 yen (even); 5 % of 10 yen = 0.5 -> 0 yen, dropped. */
	r.has_sale_flat = false;
	r.sale_bps = 1500;
	s.amount = 50;
	assert_int_equal(rf_plan_sale_parts(&r, &s, out, &n, NULL), RF_OK);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].earned, 8);
	r.sale_bps = 500;
	s.amount = 10;
	assert_int_equal(rf_plan_sale_parts(&r, &s, out, &n, NULL), RF_OK);
	assert_int_equal(n, 0);
}

static void first_only(void **state)
{
	(void)state;
	rf_plan_rules r = {.has_sale_flat = true,
			   .sale_flat = 500,
			   .sale_flat_currency = "USD",
			   .has_sale_bps = true,
			   .sale_bps = 2000,
			   .recurring = RF_RECURRING_FIRST_ONLY};
	rf_plan_part out[2];
	size_t n;
	const char *note = "stale";
	/* The first sale earns both parts: $5.00 and 20 % of $49.00 = $9.80. */
	rf_plan_sale s = sale_of(4900, "USD");
	assert_int_equal(rf_plan_sale_parts(&r, &s, out, &n, &note), RF_OK);
	assert_int_equal(n, 2);
	assert_null(note);
	assert_int_equal(out[0].earned, 500);
	assert_int_equal(out[1].earned, 980);
	/* A renewal a month later earns nothing at all (not even the flat part), and says why. */
	s = renewal_of(4900, "USD", JAN31_2024_1000 + 29LL * 86400000);
	n = 99;
	assert_int_equal(rf_plan_sale_parts(&r, &s, out, &n, &note), RF_OK);
	assert_int_equal(n, 0);
	assert_non_null(note);
	assert_non_null(strstr(note, "first sale"));
	/* note may be NULL. */
	assert_int_equal(rf_plan_sale_parts(&r, &s, out, &n, NULL), RF_OK);
	assert_int_equal(n, 0);
}

static void months(void **state)
{
	(void)state;
	/* Renewals for 3 calendar months after a first sale on 2024-01-31T10:00Z: the window ends at
	 * 2024-04-30T10:00Z (January 31 + 3 months, clamped to April's 30 days). */
	rf_plan_rules r = {
	    .has_sale_bps = true, .sale_bps = 2000, .recurring = RF_RECURRING_MONTHS, .recurring_months = 3};
	rf_plan_part out[2];
	size_t n;
	const char *note = "stale";
	/* One millisecond before the end: 20 % of $49.00 = $9.80, as a "recurring" part. */
	rf_plan_sale s = renewal_of(4900, "USD", APR30_2024_0959_LAST);
	assert_int_equal(rf_plan_sale_parts(&r, &s, out, &n, &note), RF_OK);
	assert_int_equal(n, 1);
	assert_null(note);
	assert_part(&out[0], "recurring", "percent", 4900, "USD", 2000, -1, 980, "USD");
	/* Exactly at the end: nothing, with a note. */
	s.at = APR30_2024_1000;
	n = 99;
	assert_int_equal(rf_plan_sale_parts(&r, &s, out, &n, &note), RF_OK);
	assert_int_equal(n, 0);
	assert_non_null(note);
	assert_non_null(strstr(note, "months"));
	/* Ten years later: nothing either. */
	s.at = JAN31_2034_1000;
	assert_int_equal(rf_plan_sale_parts(&r, &s, out, &n, &note), RF_OK);
	assert_int_equal(n, 0);
	/* The first sale itself is not a renewal: the window does not apply to it. */
	s = sale_of(4900, "USD");
	assert_int_equal(rf_plan_sale_parts(&r, &s, out, &n, &note), RF_OK);
	assert_int_equal(n, 1);
	assert_part(&out[0], "sale", "percent", 4900, "USD", 2000, -1, 980, "USD");
	/* With 1 month, January 31 + 1 = February 29 (2024 is a leap year): the last millisecond before
	 * 2024-02-29T10:00Z still earns. */
	r.recurring_months = 1;
	s = renewal_of(4900, "USD", FEB29_2024_0959_LAST);
	assert_int_equal(rf_plan_sale_parts(&r, &s, out, &n, &note), RF_OK);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].earned, 980);
	s.at = FEB29_2024_0959_LAST + 1;
	assert_int_equal(rf_plan_sale_parts(&r, &s, out, &n, &note), RF_OK);
	assert_int_equal(n, 0);
}

static void lifetime(void **state)
{
	(void)state;
	/* Lifetime (the default): a renewal ten years after the first sale still earns 20 % of $49.00 = $9.80. */
	rf_plan_rules r = {.has_sale_bps = true, .sale_bps = 2000, .recurring = RF_RECURRING_LIFETIME};
	rf_plan_sale s = renewal_of(4900, "USD", JAN31_2034_1000);
	rf_plan_part out[2];
	size_t n;
	const char *note = "stale";
	assert_int_equal(rf_plan_sale_parts(&r, &s, out, &n, &note), RF_OK);
	assert_int_equal(n, 1);
	assert_null(note);
	assert_part(&out[0], "recurring", "percent", 4900, "USD", 2000, -1, 980, "USD");
	/* recurring_months is ignored unless the rule is RF_RECURRING_MONTHS. */
	r.recurring_months = 1;
	assert_int_equal(rf_plan_sale_parts(&r, &s, out, &n, &note), RF_OK);
	assert_int_equal(n, 1);
	/* A flat $5.00 on a renewal is a "recurring" part too. */
	r.has_sale_flat = true;
	r.sale_flat = 500;
	memcpy(r.sale_flat_currency, "USD", 4);
	assert_int_equal(rf_plan_sale_parts(&r, &s, out, &n, &note), RF_OK);
	assert_int_equal(n, 2);
	assert_part(&out[0], "recurring", "flat", 500, "USD", -1, -1, 500, "USD");
	assert_part(&out[1], "recurring", "percent", 4900, "USD", 2000, -1, 980, "USD");
}

/* The part a sale of $49.99 earns at this tier volume, or n == 0. */
static size_t tier_part(const rf_plan_rules *r, int64_t volume, rf_plan_part out[2])
{
	rf_plan_sale s = sale_of(4999, "USD");
	s.tier_volume = volume;
	size_t n = 99;
	assert_int_equal(rf_plan_sale_parts(r, &s, out, &n, NULL), RF_OK);
	return n;
}

static void tiers_by_volume(void **state)
{
	(void)state;
	/* From 10 sales 10 %, from 50 sales 15 %, from 100 sales 20 %; no tier starts at 0. The sale is $49.99:
	 * 10 % = 499.9 -> 500, 15 % = 749.85 -> 750, 20 % = 999.8 -> 1000 cents. */
	rf_plan_rules r = {.has_tiers = true, .tiers = {{10, 1000}, {50, 1500}, {100, 2000}}, .n_tiers = 3};
	rf_plan_part out[2];
	assert_int_equal(tier_part(&r, 0, out), 0);
	assert_int_equal(tier_part(&r, 9, out), 0);
	assert_int_equal(tier_part(&r, 10, out), 1);
	assert_part(&out[0], "sale", "tier", 4999, "USD", 1000, 0, 500, "USD");
	assert_int_equal(tier_part(&r, 49, out), 1);
	assert_part(&out[0], "sale", "tier", 4999, "USD", 1000, 0, 500, "USD");
	assert_int_equal(tier_part(&r, 50, out), 1);
	assert_part(&out[0], "sale", "tier", 4999, "USD", 1500, 1, 750, "USD");
	assert_int_equal(tier_part(&r, 99, out), 1);
	assert_int_equal(out[0].tier, 1);
	assert_int_equal(tier_part(&r, 100, out), 1);
	assert_part(&out[0], "sale", "tier", 4999, "USD", 2000, 2, 1000, "USD");
	assert_int_equal(tier_part(&r, 1000000, out), 1);
	assert_int_equal(out[0].tier, 2);
	/* By revenue (minor units): 5 % from $0, 10 % from $1,000.00; $49.99 x 5 % = 249.95 -> 250. */
	rf_plan_rules rev = {
	    .has_tiers = true, .tier_by_revenue = true, .tiers = {{0, 500}, {100000, 1000}}, .n_tiers = 2};
	assert_int_equal(tier_part(&rev, 99999, out), 1);
	assert_part(&out[0], "sale", "tier", 4999, "USD", 500, 0, 250, "USD");
	assert_int_equal(tier_part(&rev, 100000, out), 1);
	assert_part(&out[0], "sale", "tier", 4999, "USD", 1000, 1, 500, "USD");
}

static void tiers_replace_sale_bps(void **state)
{
	(void)state;
	/* The plan also says 30 %, but its tiers win: below the first tier nothing, at it 10 % (500, not 1500). */
	rf_plan_rules r = {
	    .has_sale_bps = true, .sale_bps = 3000, .has_tiers = true, .tiers = {{10, 1000}}, .n_tiers = 1};
	rf_plan_part out[2];
	assert_int_equal(tier_part(&r, 9, out), 0);
	assert_int_equal(tier_part(&r, 10, out), 1);
	assert_part(&out[0], "sale", "tier", 4999, "USD", 1000, 0, 500, "USD");
	/* Tiers enabled with no tier at all: nothing, not 30 %. */
	r.n_tiers = 0;
	assert_int_equal(tier_part(&r, 1000, out), 0);
	/* A flat part does not depend on tiers: below the first tier the $2.00 flat is still paid. */
	r.n_tiers = 1;
	r.has_sale_flat = true;
	r.sale_flat = 200;
	memcpy(r.sale_flat_currency, "USD", 4);
	assert_int_equal(tier_part(&r, 9, out), 1);
	assert_part(&out[0], "sale", "flat", 200, "USD", -1, -1, 200, "USD");
}

static void zero_results_dropped(void **state)
{
	(void)state;
	rf_plan_part out[2];
	size_t n;
	const char *note;
	/* A 0 % rate, a 0 % tier and a sale of 0 all earn no part, and the note says the plan pays nothing. */
	rf_plan_rules zero_rate = {.has_sale_bps = true, .sale_bps = 0};
	rf_plan_sale s = sale_of(4999, "USD");
	n = 99;
	note = NULL;
	assert_int_equal(rf_plan_sale_parts(&zero_rate, &s, out, &n, &note), RF_OK);
	assert_int_equal(n, 0);
	assert_non_null(note);
	rf_plan_rules zero_tier = {.has_tiers = true, .tiers = {{0, 0}}, .n_tiers = 1};
	assert_int_equal(tier_part(&zero_tier, 5, out), 0);
	rf_plan_rules ten = {.has_sale_bps = true, .sale_bps = 1000};
	s.amount = 0;
	n = 99;
	assert_int_equal(rf_plan_sale_parts(&ten, &s, out, &n, &note), RF_OK);
	assert_int_equal(n, 0);
	/* 10 % of 4 cents = 0.4 -> 0 and 10 % of 5 cents = 0.5 -> 0 (even) are dropped; 15 cents = 1.5 -> 2. */
	s.amount = 4;
	assert_int_equal(rf_plan_sale_parts(&ten, &s, out, &n, &note), RF_OK);
	assert_int_equal(n, 0);
	s.amount = 5;
	assert_int_equal(rf_plan_sale_parts(&ten, &s, out, &n, &note), RF_OK);
	assert_int_equal(n, 0);
	s.amount = 15;
	assert_int_equal(rf_plan_sale_parts(&ten, &s, out, &n, &note), RF_OK);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].earned, 2);
	/* No rule at all: nothing. */
	rf_plan_rules none = {0};
	assert_int_equal(rf_plan_sale_parts(&none, &s, out, &n, &note), RF_OK);
	assert_int_equal(n, 0);
	assert_non_null(note);
}

static void overflow_refused(void **state)
{
	(void)state;
	rf_plan_part out[2];
	size_t n;
	/* 100 % of INT64_MAX is INT64_MAX exactly: it fits. */
	rf_plan_rules r = {.has_sale_bps = true, .sale_bps = 10000};
	rf_plan_sale s = sale_of(INT64_MAX, "USD");
	assert_int_equal(rf_plan_sale_parts(&r, &s, out, &n, NULL), RF_OK);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].earned, INT64_MAX);
	/* 100.01 % of it does not (INT64_MAX + 922337203685477 > INT64_MAX); neither does 200 %. */
	r.sale_bps = 10001;
	assert_int_equal(rf_plan_sale_parts(&r, &s, out, &n, NULL), RF_EOVERFLOW);
	r.sale_bps = 20000;
	assert_int_equal(rf_plan_sale_parts(&r, &s, out, &n, NULL), RF_EOVERFLOW);
	/* The same through a tier, and beside a flat part. */
	rf_plan_rules t = {.has_sale_flat = true,
			   .sale_flat = 100,
			   .sale_flat_currency = "USD",
			   .has_tiers = true,
			   .tiers = {{0, 15000}},
			   .n_tiers = 1};
	assert_int_equal(rf_plan_sale_parts(&t, &s, out, &n, NULL), RF_EOVERFLOW);
	/* A large sale that fits: 20 % of 4,611,686,018,427,387,903 cents = ...580.6 -> 922,337,203,685,477,581. */
	r.sale_bps = 2000;
	s.amount = INT64_MAX / 2;
	assert_int_equal(rf_plan_sale_parts(&r, &s, out, &n, NULL), RF_OK);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].earned, 922337203685477581LL);
}

static void lead_part(void **state)
{
	(void)state;
	rf_plan_part p;
	size_t n = 99;
	/* $2.50 per qualified lead. */
	rf_plan_rules r = {.has_lead_amount = true, .lead_amount = 250, .lead_currency = "USD"};
	rf_plan_lead_part(&r, 375, "EUR", &p, &n);
	assert_int_equal(n, 1);
	assert_part(&p, "lead", "lead_amount", 250, "USD", -1, -1, 250, "USD");
	/* The partner's cost per lead (3.75 EUR) is preferred when the plan says so and it is not zero. */
	r.lead_use_cost_per_lead = true;
	rf_plan_lead_part(&r, 375, "EUR", &p, &n);
	assert_int_equal(n, 1);
	assert_part(&p, "lead", "cost_per_lead", 375, "EUR", -1, -1, 375, "EUR");
	/* JPY cost per lead: 500 yen. */
	rf_plan_lead_part(&r, 500, "JPY", &p, &n);
	assert_int_equal(n, 1);
	assert_part(&p, "lead", "cost_per_lead", 500, "JPY", -1, -1, 500, "JPY");
	/* A cost per lead of 0 falls back to the lead amount. */
	rf_plan_lead_part(&r, 0, "EUR", &p, &n);
	assert_int_equal(n, 1);
	assert_part(&p, "lead", "lead_amount", 250, "USD", -1, -1, 250, "USD");
	/* Neither: nothing. */
	r.has_lead_amount = false;
	n = 99;
	rf_plan_lead_part(&r, 0, "EUR", &p, &n);
	assert_int_equal(n, 0);
	/* A lead amount of 0 is nothing; a cost per lead the plan does not use is nothing. */
	rf_plan_rules zero = {.has_lead_amount = true, .lead_amount = 0, .lead_currency = "USD"};
	n = 99;
	rf_plan_lead_part(&zero, 375, "EUR", &p, &n);
	assert_int_equal(n, 0);
	rf_plan_rules none = {0};
	n = 99;
	rf_plan_lead_part(&none, 375, "EUR", &p, &n);
	assert_int_equal(n, 0);
}

/* c x share / 10,000 rounded half-even, computed independently of the library (|c| x share fits in 64 bits). */
static int64_t half_even(int64_t c, int64_t share)
{
	int64_t p = c * share, q = p / RF_BPS_ONE, r = p % RF_BPS_ONE;
	int64_t twice = (r < 0 ? -r : r) * 2;
	if (twice > RF_BPS_ONE || (twice == RF_BPS_ONE && q % 2 != 0))
		q += p < 0 ? -1 : 1;
	return q;
}

static void split(void **state)
{
	(void)state;
	int64_t a = -1, p = -1;
	/* 0 % to the agent: all to the parent; 100 %: all to the agent. */
	assert_int_equal(rf_plan_split(999, 0, &a, &p), RF_OK);
	assert_int_equal(a, 0);
	assert_int_equal(p, 999);
	assert_int_equal(rf_plan_split(999, 10000, &a, &p), RF_OK);
	assert_int_equal(a, 999);
	assert_int_equal(p, 0);
	/* 33.33 % of $9.99 = 332.9667 -> 333, the parent 666; of $49.00 = 1633.17 -> 1633, the parent 3267. */
	assert_int_equal(rf_plan_split(999, 3333, &a, &p), RF_OK);
	assert_int_equal(a, 333);
	assert_int_equal(p, 666);
	assert_int_equal(rf_plan_split(4900, 3333, &a, &p), RF_OK);
	assert_int_equal(a, 1633);
	assert_int_equal(p, 3267);
	/* Of 1 cent: 0.3333 -> 0, the parent 1. 50 % of 1 cent = 0.5 -> 0; of 3 cents = 1.5 -> 2, the parent 1. */
	assert_int_equal(rf_plan_split(1, 3333, &a, &p), RF_OK);
	assert_int_equal(a, 0);
	assert_int_equal(p, 1);
	assert_int_equal(rf_plan_split(1, 5000, &a, &p), RF_OK);
	assert_int_equal(a, 0);
	assert_int_equal(p, 1);
	assert_int_equal(rf_plan_split(3, 5000, &a, &p), RF_OK);
	assert_int_equal(a, 2);
	assert_int_equal(p, 1);
	/* A reversal (negative) mirrors: -999 -> -333 and -666. */
	assert_int_equal(rf_plan_split(-999, 3333, &a, &p), RF_OK);
	assert_int_equal(a, -333);
	assert_int_equal(p, -666);
	/* agent + parent == c always, the agent's share rounded half-even. */
	const int64_t shares[] = {0, 1, 2500, 3333, 5000, 6667, 9999, 10000};
	for (size_t i = 0; i < sizeof shares / sizeof shares[0]; i++) {
		for (int64_t c = -20011; c <= 20011; c += 7) {
			assert_int_equal(rf_plan_split(c, shares[i], &a, &p), RF_OK);
			assert_int_equal(a, half_even(c, shares[i]));
			assert_int_equal(a + p, c);
		}
	}
	/* The largest amount splits too: 100 % of INT64_MAX. */
	assert_int_equal(rf_plan_split(INT64_MAX, 10000, &a, &p), RF_OK);
	assert_int_equal(a, INT64_MAX);
	assert_int_equal(p, 0);
	/* Shares outside 0..10,000 are refused. */
	assert_int_equal(rf_plan_split(999, -1, &a, &p), RF_EINVAL);
	assert_int_equal(rf_plan_split(999, 10001, &a, &p), RF_EINVAL);
	assert_int_equal(rf_plan_split(999, INT64_MIN, &a, &p), RF_EINVAL);
}

/* Checks the month (or quarter) of ms against [start, end). */
static void assert_bounds(int64_t ms, bool quarter, int64_t start, int64_t end)
{
	int64_t s = -1, e = -1;
	rf_period_bounds(ms, quarter, &s, &e);
	assert_int_equal(s, start);
	assert_int_equal(e, end);
}

static void period_bounds(void **state)
{
	(void)state;
	const int64_t feb1_2024 = 1706745600000LL; /* 2024-02-01T00:00Z */
	const int64_t mar1_2024 = 1709251200000LL; /* 2024-03-01T00:00Z */
	const int64_t apr1_2024 = 1711929600000LL; /* 2024-04-01T00:00Z */
	const int64_t jul1_2024 = 1719792000000LL; /* 2024-07-01T00:00Z */
	const int64_t oct1_2024 = 1727740800000LL; /* 2024-10-01T00:00Z */
	const int64_t dec1_2024 = 1733011200000LL; /* 2024-12-01T00:00Z */
	const int64_t jan1_2025 = 1735689600000LL; /* 2025-01-01T00:00Z */
	const int64_t apr1_2025 = 1743465600000LL; /* 2025-04-01T00:00Z */
	const int64_t feb1_2023 = 1675209600000LL; /* 2023-02-01T00:00Z */
	const int64_t mar1_2023 = 1677628800000LL; /* 2023-03-01T00:00Z */
	/* March 2024: its first and last milliseconds and its middle (2024-03-15T12:00Z). */
	assert_bounds(mar1_2024, false, mar1_2024, apr1_2024);
	assert_bounds(apr1_2024 - 1, false, mar1_2024, apr1_2024);
	assert_bounds(1710504000000LL, false, mar1_2024, apr1_2024);
	/* The millisecond after belongs to April. */
	assert_bounds(apr1_2024, false, apr1_2024, 1714521600000LL); /* 2024-05-01T00:00Z */
	/* December ends at next January's first millisecond. */
	assert_bounds(dec1_2024, false, dec1_2024, jan1_2025);
	assert_bounds(jan1_2025 - 1, false, dec1_2024, jan1_2025);
	/* Leap February 2024 has 29 days (2024-02-29T23:59:59.999Z is in it); February 2023 has 28. */
	assert_bounds(feb1_2024, false, feb1_2024, mar1_2024);
	assert_bounds(mar1_2024 - 1, false, feb1_2024, mar1_2024);
	assert_int_equal(mar1_2024 - feb1_2024, 29LL * 86400000);
	assert_bounds(mar1_2023 - 1, false, feb1_2023, mar1_2023);
	assert_bounds(feb1_2023, false, feb1_2023, mar1_2023);
	/* January 1970. */
	assert_bounds(0, false, 0, 2678400000LL);
	/* Quarters: 2024-05-20T08:30Z is in Q2 (April to June); its first and last milliseconds. */
	assert_bounds(1716193800000LL, true, apr1_2024, jul1_2024);
	assert_bounds(apr1_2024, true, apr1_2024, jul1_2024);
	assert_bounds(jul1_2024 - 1, true, apr1_2024, jul1_2024);
	assert_bounds(jul1_2024, true, jul1_2024, oct1_2024);
	/* Q1 2024 holds the leap day; Q4 ends at next January. */
	assert_bounds(mar1_2024 - 1, true, 1704067200000LL, apr1_2024); /* 2024-01-01T00:00Z */
	assert_bounds(oct1_2024, true, oct1_2024, jan1_2025);
	assert_bounds(jan1_2025 - 1, true, oct1_2024, jan1_2025);
	assert_bounds(jan1_2025, true, jan1_2025, apr1_2025);
	assert_bounds(apr1_2025 - 1, true, jan1_2025, apr1_2025);
}

static void add_months(void **state)
{
	(void)state;
	const int64_t jan31_2025 = 1738331130123LL; /* 2025-01-31T13:45:30.123Z */
	const int64_t feb29_2024 = 1709214330123LL; /* 2024-02-29T13:45:30.123Z */
	/* January 31 + 1 month = February 28 (February 29 in 2028), the time of day kept. */
	assert_int_equal(rf_add_months(jan31_2025, 1), 1740750330123LL);      /* 2025-02-28T13:45:30.123Z */
	assert_int_equal(rf_add_months(1832939130123LL, 1), 1835444730123LL); /* 2028-01-31 -> 2028-02-29 */
	/* + 12 is the same day next year; + 0 changes nothing. */
	assert_int_equal(rf_add_months(jan31_2025, 12), 1769867130123LL); /* 2026-01-31T13:45:30.123Z */
	assert_int_equal(rf_add_months(jan31_2025, 0), jan31_2025);
	assert_int_equal(rf_add_months(feb29_2024, 0), feb29_2024);
	/* The leap day + 12 is February 28, + 48 February 29 again. */
	assert_int_equal(rf_add_months(feb29_2024, 12), 1740750330123LL); /* 2025-02-28T13:45:30.123Z */
	assert_int_equal(rf_add_months(feb29_2024, 48), 1835444730123LL); /* 2028-02-29T13:45:30.123Z */
	/* Month ends: March 31 (last millisecond) + 1 = April 30 (last millisecond); August 31 + 1 = September 30;
	 * December 31 + 2 = February 28; January 31 2100 + 1 = February 28 (not a leap year), 2000 + 1 = 29. */
	assert_int_equal(rf_add_months(1711929599999LL, 1), 1714521599999LL);
	assert_int_equal(rf_add_months(1725062400000LL, 1), 1727654400000LL); /* 2024-08-31 -> 2024-09-30 */
	assert_int_equal(rf_add_months(1767139200000LL, 2), 1772236800000LL); /* 2025-12-31 -> 2026-02-28 */
	assert_int_equal(rf_add_months(4105036800000LL, 1), 4107456000000LL); /* 2100-01-31 -> 2100-02-28 */
	assert_int_equal(rf_add_months(949276800000LL, 1), 951782400000LL);   /* 2000-01-31 -> 2000-02-29 */
	/* A day that exists in the target month is kept: 2024-02-29T06:00Z + 1 = 2024-03-29T06:00Z. */
	assert_int_equal(rf_add_months(1709186400000LL, 1), 1709186400000LL + 29LL * 86400000);
	/* Backwards: 2024-03-31T06:00Z - 1 = 2024-02-29T06:00Z; 2024-03-31T06:00Z - 3 = 2023-12-31T06:00Z. */
	assert_int_equal(rf_add_months(1711864800000LL, -1), 1709186400000LL);
	assert_int_equal(rf_add_months(1711864800000LL, -3), 1704002400000LL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(flat_only),
	    cmocka_unit_test(percent_only),
	    cmocka_unit_test(flat_and_percent),
	    cmocka_unit_test(odd_cents_round_half_even),
	    cmocka_unit_test(jpy_amounts),
	    cmocka_unit_test(first_only),
	    cmocka_unit_test(months),
	    cmocka_unit_test(lifetime),
	    cmocka_unit_test(tiers_by_volume),
	    cmocka_unit_test(tiers_replace_sale_bps),
	    cmocka_unit_test(zero_results_dropped),
	    cmocka_unit_test(overflow_refused),
	    cmocka_unit_test(lead_part),
	    cmocka_unit_test(split),
	    cmocka_unit_test(period_bounds),
	    cmocka_unit_test(add_months),
	};
	return cmocka_run_group_tests_name("plan", tests, NULL, NULL);
}
