/* SPDX-License-Identifier: Apache-2.0 */
/* Commission arithmetic: every computation goes through one exact ratio with half-even rounding. */
#include "commission.h"

#include "money.h"

rf_status rf_commission_bps(int64_t base, int64_t bps, int64_t *out)
{
	if (bps < 0)
		return RF_EINVAL;
	return rf_money_mul_ratio(base, bps, RF_BPS_ONE, out);
}

int rf_tier_pick(const rf_tier *tiers, size_t n, int64_t volume)
{
	int best = -1;
	for (size_t i = 0; i < n; i++)
		if (volume >= tiers[i].threshold && (best < 0 || tiers[i].threshold >= tiers[best].threshold))
			best = (int)i;
	return best;
}

rf_status rf_overrides(int64_t earned, const int64_t *level_bps, size_t levels, int64_t *out)
{
	for (size_t i = 0; i < levels; i++) {
		rf_status rc = rf_commission_bps(earned, level_bps[i], &out[i]);
		if (rc != RF_OK)
			return rc;
	}
	return RF_OK;
}

rf_status rf_reversal(int64_t commission, int64_t sale, int64_t prior, int64_t refund, int64_t *out)
{
	if (sale <= 0 || prior < 0 || refund < 0 || prior > sale || refund > sale - prior)
		return RF_EINVAL;
	int64_t before, after;
	rf_status rc = rf_money_mul_ratio(commission, prior, sale, &before);
	if (rc == RF_OK)
		rc = rf_money_mul_ratio(commission, prior + refund, sale, &after);
	if (rc != RF_OK)
		return rc;
	*out = after - before;
	return RF_OK;
}

rf_status rf_rate_parse(const char *s, int64_t *rate_ppb)
{
	int64_t v = 0;
	/* A rate is an amount with nine decimals; the money parser refuses signs, junk and excess decimals. */
	if (!s || *s == '-' || rf_money_parse(s, 9, &v) != RF_OK || v <= 0)
		return RF_EINVAL;
	*rate_ppb = v;
	return RF_OK;
}

rf_status rf_fx_convert(int64_t amount, int from_exp, int to_exp, int64_t rate_ppb, int64_t *out)
{
	if (rate_ppb <= 0 || from_exp < 0 || from_exp > 4 || to_exp < 0 || to_exp > 4)
		return RF_EINVAL;
	/* amount / 10^from_exp units x rate x 10^to_exp minor units: one ratio, one rounding. Only the exponents'
	 * difference scales a side, which keeps both within 64 bits for any sane rate. */
	int64_t num = rate_ppb, den = RF_RATE_ONE;
	for (int i = from_exp; i < to_exp; i++)
		if (__builtin_mul_overflow(num, 10, &num))
			return RF_EOVERFLOW;
	for (int i = to_exp; i < from_exp; i++)
		den *= 10;
	return rf_money_mul_ratio(amount, num, den, out);
}
