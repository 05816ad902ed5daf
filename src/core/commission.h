/* SPDX-License-Identifier: Apache-2.0 */
/* The money rules of commissions: percentages, tiers, recruiter overrides, proportional reversals and currency
 * conversion, each exact (integer minor units) and rounded half-even exactly once. */
#ifndef RF_COMMISSION_H
#define RF_COMMISSION_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

/* A rate in basis points (1/100 of a percent): 1000 = 10 %. */
#define RF_BPS_ONE 10000

/* A currency rate in parts per billion: 1,000,000,000 = 1.0. */
#define RF_RATE_ONE 1000000000LL

/* base x bps / 10,000, rounded half-even. RF_EINVAL for a negative rate, RF_EOVERFLOW when it does not fit. */
rf_status rf_commission_bps(int64_t base, int64_t bps, int64_t *out);

/* A volume tier: from threshold on (count of sales or revenue in minor units), the rate is bps. */
typedef struct {
	int64_t threshold;
	int64_t bps;
} rf_tier;

/* The index of the tier a volume reaches (tiers in ascending threshold order; the highest reached wins), or -1
 * when it reaches none. */
int rf_tier_pick(const rf_tier *tiers, size_t n, int64_t volume);

/* Override amounts for recruiters: out[i] = earned x level_bps[i] / 10,000 for level i + 1 (the recruiter, then
 * its recruiter ...), each rounded half-even from the earned amount (not from the level below, so no rounding
 * compounds). */
rf_status rf_overrides(int64_t earned, const int64_t *level_bps, size_t levels, int64_t *out);

/* The part of commission to reverse for a refund of `refund` on a sale of `sale`, when `prior` was refunded
 * before. Computed on the cumulative refunded amount (round(c x (prior + refund) / sale) minus
 * round(c x prior / sale)), so partial refunds that add up to the sale reverse exactly the commission: never
 * a cent more or less, whatever the order. RF_EINVAL when the refunds exceed the sale or amounts are negative. */
rf_status rf_reversal(int64_t commission, int64_t sale, int64_t prior, int64_t refund, int64_t *out);

/* Parses a decimal currency rate ("1.0842", at most 9 decimals, more than 0) into parts per billion. */
rf_status rf_rate_parse(const char *s, int64_t *rate_ppb);

/* Converts amount in a currency with exponent from_exp into one with exponent to_exp at rate_ppb (units of the
 * target per unit of the source), rounding half-even once: 1,000 JPY (exp 0) at 0.0067 USD = 670 cents. */
rf_status rf_fx_convert(int64_t amount, int from_exp, int to_exp, int64_t rate_ppb, int64_t *out);

#endif
