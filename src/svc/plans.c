/* SPDX-License-Identifier: Apache-2.0 */
/* A plan's rules as JSON, checked member by member (naming the member at fault) into core/plan.h's struct, and
 * written back normalised with every member present. */
#include <string.h>

#include "../core/money.h"
#include "../core/text.h"
#include "plans.h"

static const char *const rule_members[] = {
    "lead_amount",  "lead_use_cost_per_lead", "sale_flat",       "sale_bps", "recurring", "recurring_months", "tiers",
    "override_bps", "override_requires_sale", "agent_share_bps", NULL,
};

/* An integer member within [lo, hi]; *has false when absent or null. */
static rf_status int_member(json_t *o, const char *name, int64_t lo, int64_t hi, const char *field, bool *has,
			    int64_t *out, rf_err *err)
{
	json_t *v = json_object_get(o, name);
	*has = v && !json_is_null(v);
	if (!*has)
		return RF_OK;
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
		return rf_err_set(err, RF_EINVAL, field, "%s must be an integer from %lld to %lld", field,
				  (long long)lo, (long long)hi);
	*out = json_integer_value(v);
	return RF_OK;
}

static rf_status money_member(json_t *o, const char *name, const char *field, bool *has, int64_t *amount, char cur[4],
			      rf_err *err)
{
	json_t *v = json_object_get(o, name);
	*has = v && !json_is_null(v);
	if (!*has)
		return RF_OK;
	json_t *am = json_object_get(v, "amount");
	if (!json_is_object(v) || json_object_size(v) != 2 || !json_is_integer(am) ||
	    rf_currency_lookup(json_string_value(json_object_get(v, "currency")), cur) < 0)
		return rf_err_set(err, RF_EINVAL, field, "%s must be {\"amount\": integer, \"currency\": \"usd\"}",
				  field);
	if (json_integer_value(am) < 0 || json_integer_value(am) > RF_MONEY_MAX)
		return rf_err_set(err, RF_EINVAL, field, "%s.amount must be from 0 to %lld", field,
				  (long long)RF_MONEY_MAX);
	*amount = json_integer_value(am);
	return RF_OK;
}

static rf_status bool_member(json_t *o, const char *name, const char *field, bool *out, rf_err *err)
{
	json_t *v = json_object_get(o, name);
	if (!v || json_is_null(v))
		return RF_OK;
	if (!json_is_boolean(v))
		return rf_err_set(err, RF_EINVAL, field, "%s must be true or false", field);
	*out = json_is_true(v);
	return RF_OK;
}

rf_status rf_plan_rules_parse(json_t *rules, rf_plan_rules *r, const char *prefix, rf_err *err)
{
	memset(r, 0, sizeof *r);
	char field[96];
	const char *pre = prefix ? prefix : "";
#define FIELD(n) (snprintf(field, sizeof field, "%srules.%s", pre, n), field)
	if (!json_is_object(rules))
		return rf_err_set(err, RF_EINVAL, "rules", "rules must be an object");
	const char *key;
	json_t *val;
	json_object_foreach(rules, key, val)
	{
		bool known = false;
		for (const char *const *m = rule_members; *m && !known; m++)
			known = strcmp(*m, key) == 0;
		if (!known)
			return rf_err_set(err, RF_EINVAL, FIELD(key), "%s is not a plan rule", field);
	}
	bool has = false;
	if (money_member(rules, "lead_amount", FIELD("lead_amount"), &r->has_lead_amount, &r->lead_amount,
			 r->lead_currency, err) != RF_OK ||
	    bool_member(rules, "lead_use_cost_per_lead", FIELD("lead_use_cost_per_lead"), &r->lead_use_cost_per_lead,
			err) != RF_OK ||
	    money_member(rules, "sale_flat", FIELD("sale_flat"), &r->has_sale_flat, &r->sale_flat,
			 r->sale_flat_currency, err) != RF_OK ||
	    int_member(rules, "sale_bps", 0, RF_BPS_ONE, FIELD("sale_bps"), &r->has_sale_bps, &r->sale_bps, err) !=
		RF_OK ||
	    int_member(rules, "agent_share_bps", 0, RF_BPS_ONE, FIELD("agent_share_bps"), &has, &r->agent_share_bps,
		       err) != RF_OK ||
	    bool_member(rules, "override_requires_sale", FIELD("override_requires_sale"), &r->override_requires_sale,
			err) != RF_OK)
		return err->status;
	json_t *rec = json_object_get(rules, "recurring");
	const char *recs = json_string_value(rec);
	if (rec && !json_is_null(rec)) {
		if (recs && strcmp(recs, "lifetime") == 0)
			r->recurring = RF_RECURRING_LIFETIME;
		else if (recs && strcmp(recs, "first_only") == 0)
			r->recurring = RF_RECURRING_FIRST_ONLY;
		else if (recs && strcmp(recs, "months") == 0)
			r->recurring = RF_RECURRING_MONTHS;
		else
			return rf_err_set(err, RF_EINVAL, FIELD("recurring"),
					  "%s must be first_only, months or lifetime", field);
	}
	int64_t months = 0;
	if (int_member(rules, "recurring_months", 1, 120, FIELD("recurring_months"), &has, &months, err) != RF_OK)
		return err->status;
	if (r->recurring == RF_RECURRING_MONTHS && !has)
		return rf_err_set(err, RF_EINVAL, FIELD("recurring_months"),
				  "%s (1 to 120) is required when recurring is months", field);
	if (has && r->recurring != RF_RECURRING_MONTHS)
		return rf_err_set(err, RF_EINVAL, FIELD("recurring_months"),
				  "%s only goes with \"recurring\": \"months\"", field);
	r->recurring_months = (int)months;
	json_t *ov = json_object_get(rules, "override_bps");
	if (ov && !json_is_null(ov)) {
		if (!json_is_array(ov) || json_array_size(ov) > RF_PLAN_MAX_LEVELS)
			return rf_err_set(err, RF_EINVAL, FIELD("override_bps"),
					  "%s must be an array of at most %d rates in basis points", field,
					  RF_PLAN_MAX_LEVELS);
		size_t i;
		json_t *x;
		json_array_foreach(ov, i, x)
		{
			if (!json_is_integer(x) || json_integer_value(x) < 0 || json_integer_value(x) > RF_BPS_ONE)
				return rf_err_set(err, RF_EINVAL, FIELD("override_bps"),
						  "%s[%zu] must be an integer from 0 to 10000", field, i);
			r->override_bps[i] = json_integer_value(x);
		}
		r->n_overrides = json_array_size(ov);
	}
	json_t *t = json_object_get(rules, "tiers");
	if (t && !json_is_null(t)) {
		FIELD("tiers");
		const char *metric = json_string_value(json_object_get(t, "metric"));
		const char *period = json_string_value(json_object_get(t, "period"));
		json_t *steps = json_object_get(t, "steps");
		if (!json_is_object(t))
			return rf_err_set(err, RF_EINVAL, field, "%s must be an object", field);
		const char *k;
		json_t *kv;
		json_object_foreach(t, k, kv)
		{
			if (strcmp(k, "metric") != 0 && strcmp(k, "period") != 0 && strcmp(k, "steps") != 0)
				return rf_err_set(err, RF_EINVAL, field, "%s.%s is not a tier setting", field, k);
		}
		if (!metric || (strcmp(metric, "count") != 0 && strcmp(metric, "revenue") != 0))
			return rf_err_set(err, RF_EINVAL, field, "%s.metric must be count or revenue", field);
		if (!period || (strcmp(period, "month") != 0 && strcmp(period, "quarter") != 0))
			return rf_err_set(err, RF_EINVAL, field, "%s.period must be month or quarter", field);
		if (!json_is_array(steps) || json_array_size(steps) < 1 || json_array_size(steps) > RF_PLAN_MAX_TIERS)
			return rf_err_set(err, RF_EINVAL, field, "%s.steps must hold 1 to %d steps", field,
					  RF_PLAN_MAX_TIERS);
		r->has_tiers = true;
		r->tier_by_revenue = strcmp(metric, "revenue") == 0;
		r->tier_quarterly = strcmp(period, "quarter") == 0;
		size_t i;
		json_t *st;
		json_array_foreach(steps, i, st)
		{
			json_t *from = json_object_get(st, "from"), *bps = json_object_get(st, "bps");
			if (!json_is_object(st) || json_object_size(st) != 2 || !json_is_integer(from) ||
			    !json_is_integer(bps) || json_integer_value(from) < 0 || json_integer_value(bps) < 0 ||
			    json_integer_value(bps) > RF_BPS_ONE)
				return rf_err_set(err, RF_EINVAL, field,
						  "%s.steps[%zu] must be {\"from\": volume >= 0, \"bps\": 0 to 10000}",
						  field, i);
			if (i > 0 && json_integer_value(from) <= r->tiers[i - 1].threshold)
				return rf_err_set(err, RF_EINVAL, field, "%s.steps must be in increasing order of from",
						  field);
			r->tiers[i].threshold = json_integer_value(from);
			r->tiers[i].bps = json_integer_value(bps);
		}
		r->n_tiers = json_array_size(steps);
	}
#undef FIELD
	return RF_OK;
}

/* Money as the API writes it: minor units and the lower-case code. */
static json_t *money_or_null(bool has, int64_t amount, const char *cur)
{
	if (!has)
		return json_null();
	char lower[4] = {0};
	for (int i = 0; i < 3 && cur[i]; i++)
		lower[i] = (char)(cur[i] | 0x20);
	return json_pack("{s:I, s:s}", "amount", (json_int_t)amount, "currency", lower);
}

json_t *rf_plan_rules_json(const rf_plan_rules *r)
{
	static const char *const rec[] = {"lifetime", "first_only", "months"};
	json_t *o = json_object();
	json_object_set_new(o, "lead_amount", money_or_null(r->has_lead_amount, r->lead_amount, r->lead_currency));
	json_object_set_new(o, "lead_use_cost_per_lead", json_boolean(r->lead_use_cost_per_lead));
	json_object_set_new(o, "sale_flat", money_or_null(r->has_sale_flat, r->sale_flat, r->sale_flat_currency));
	json_object_set_new(o, "sale_bps", r->has_sale_bps ? json_integer(r->sale_bps) : json_null());
	json_object_set_new(o, "recurring", json_string(rec[r->recurring]));
	json_object_set_new(o, "recurring_months",
			    r->recurring == RF_RECURRING_MONTHS ? json_integer(r->recurring_months) : json_null());
	if (r->has_tiers) {
		json_t *steps = json_array();
		for (size_t i = 0; i < r->n_tiers; i++)
			json_array_append_new(steps, json_pack("{s:I, s:I}", "from", (json_int_t)r->tiers[i].threshold,
							       "bps", (json_int_t)r->tiers[i].bps));
		json_object_set_new(o, "tiers",
				    json_pack("{s:s, s:s, s:o}", "metric", r->tier_by_revenue ? "revenue" : "count",
					      "period", r->tier_quarterly ? "quarter" : "month", "steps", steps));
	} else {
		json_object_set_new(o, "tiers", json_null());
	}
	json_t *ov = json_array();
	for (size_t i = 0; i < r->n_overrides; i++)
		json_array_append_new(ov, json_integer(r->override_bps[i]));
	json_object_set_new(o, "override_bps", ov);
	json_object_set_new(o, "override_requires_sale", json_boolean(r->override_requires_sale));
	json_object_set_new(o, "agent_share_bps", json_integer(r->agent_share_bps));
	return o;
}
