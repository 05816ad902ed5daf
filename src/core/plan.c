/* SPDX-License-Identifier: Apache-2.0 */
/* Plan rules: which parts a sale or a qualified lead earns, the agent/team split and calendar periods. */
#include "plan.h"

#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "money.h"

rf_status rf_plan_sale_parts(const rf_plan_rules *r, const rf_plan_sale *s, rf_plan_part out[2], size_t *n,
			     const char **note)
{
	*n = 0;
	if (note)
		*note = NULL;
	if (s->recurring && r->recurring == RF_RECURRING_FIRST_ONLY) {
		if (note)
			*note = "the plan pays on the first sale only";
		return RF_OK;
	}
	if (s->recurring && r->recurring == RF_RECURRING_MONTHS &&
	    s->at >= rf_add_months(s->first_sale_at, r->recurring_months)) {
		if (note)
			*note = "the plan pays renewals for a limited number of months after the first sale, and this "
				"one is later";
		return RF_OK;
	}
	const char *rule = s->recurring ? "recurring" : "sale";
	if (r->has_sale_flat && r->sale_flat > 0) {
		rf_plan_part *p = &out[(*n)++];
		memset(p, 0, sizeof *p);
		p->rule = rule;
		p->basis = "flat";
		p->base = r->sale_flat;
		memcpy(p->base_currency, r->sale_flat_currency, 4);
		p->bps = -1;
		p->tier = -1;
		p->earned = r->sale_flat;
		memcpy(p->currency, r->sale_flat_currency, 4);
	}
	int64_t bps = -1;
	int tier = -1;
	if (r->has_tiers) {
		tier = rf_tier_pick(r->tiers, r->n_tiers, s->tier_volume);
		if (tier >= 0)
			bps = r->tiers[tier].bps;
	} else if (r->has_sale_bps) {
		bps = r->sale_bps;
	}
	if (bps > 0) {
		rf_plan_part *p = &out[*n];
		memset(p, 0, sizeof *p);
		p->rule = rule;
		p->basis = tier >= 0 ? "tier" : "percent";
		p->base = s->amount;
		memcpy(p->base_currency, s->currency, 4);
		p->bps = bps;
		p->tier = tier;
		memcpy(p->currency, s->currency, 4);
		rf_status rc = rf_commission_bps(s->amount, bps, &p->earned);
		if (rc != RF_OK)
			return rc;
		if (p->earned > 0)
			(*n)++;
	}
	if (*n == 0 && note)
		*note = "the plan pays nothing on this sale";
	return RF_OK;
}

void rf_plan_lead_part(const rf_plan_rules *r, int64_t cost_per_lead, const char *cpl_currency, rf_plan_part *out,
		       size_t *n)
{
	*n = 0;
	memset(out, 0, sizeof *out);
	out->rule = "lead";
	out->bps = -1;
	out->tier = -1;
	if (r->lead_use_cost_per_lead && cost_per_lead > 0) {
		out->basis = "cost_per_lead";
		out->base = out->earned = cost_per_lead;
		snprintf(out->base_currency, 4, "%s", cpl_currency);
		snprintf(out->currency, 4, "%s", cpl_currency);
		*n = 1;
	} else if (r->has_lead_amount && r->lead_amount > 0) {
		out->basis = "lead_amount";
		out->base = out->earned = r->lead_amount;
		memcpy(out->base_currency, r->lead_currency, 4);
		memcpy(out->currency, r->lead_currency, 4);
		*n = 1;
	}
}

rf_status rf_plan_split(int64_t c, int64_t share_bps, int64_t *agent, int64_t *parent)
{
	if (share_bps < 0 || share_bps > RF_BPS_ONE)
		return RF_EINVAL;
	rf_status rc = rf_commission_bps(c, share_bps, agent);
	if (rc != RF_OK)
		return rc;
	*parent = c - *agent;
	return RF_OK;
}

#define DAY_MS 86400000LL

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

void rf_period_bounds(int64_t ms, bool quarter, int64_t *start, int64_t *end)
{
	int64_t y;
	int m, d;
	rf_civil_from_days(floor_div(ms, DAY_MS), &y, &m, &d);
	int first = quarter ? ((m - 1) / 3) * 3 + 1 : m;
	int next = first + (quarter ? 3 : 1);
	int64_t ny = y;
	if (next > 12) {
		next -= 12;
		ny++;
	}
	*start = rf_days_from_civil(y, first, 1) * DAY_MS;
	*end = rf_days_from_civil(ny, next, 1) * DAY_MS;
}

int64_t rf_add_months(int64_t ms, int months)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int64_t days = floor_div(ms, DAY_MS);
	int64_t in_day = ms - days * DAY_MS;
	int64_t y;
	int m, d;
	rf_civil_from_days(days, &y, &m, &d);
	int64_t total = y * 12 + (m - 1) + months;
	int64_t ny = floor_div(total, 12);
	int nm = (int)(total - ny * 12) + 1;
	int len = mdays[nm - 1] + (nm == 2 && ((ny % 4 == 0 && ny % 100 != 0) || ny % 400 == 0));
	if (d > len)
		d = len;
	return rf_days_from_civil(ny, nm, d) * DAY_MS + in_day;
}
