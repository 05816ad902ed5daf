/* SPDX-License-Identifier: Apache-2.0 */
/* The ledger engine: turns a qualified lead, a sale or a refund into commission entries under the credited
 * partner's plan (direct or split between an agent and its team parent, then recruiter overrides), converts them
 * to each partner's currency at the event's FX rate, and writes them, or only collects them for a simulation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/clock.h"
#include "../core/commission.h"
#include "../core/money.h"
#include "../core/plan.h"
#include "../core/text.h"
#include "events.h"
#include "ledger.h"
#include "plans.h"
#include "rollups.h"

#define DAY_MS 86400000LL

/* Looks up the rate from one currency to another valid at `at`: the direct pair, or the inverse of the reverse
 * pair (1 / rate, rounded half-even to nine decimals). RF_ENOTFOUND when neither is known. */
rf_status rf_ledger_rate(rf_svc *sv, const char *from, const char *to, int64_t at, int64_t *ppb, bool *inverse,
			 rf_err *err)
{
	rf_fx_rate r;
	*inverse = false;
	rf_status rc = rf_store_fx_at(sv->store, from, to, at, &r, err);
	if (rc == RF_OK) {
		*ppb = r.rate_ppb;
		return RF_OK;
	}
	if (rc != RF_ENOTFOUND)
		return rc;
	memset(err, 0, sizeof *err);
	rc = rf_store_fx_at(sv->store, to, from, at, &r, err);
	if (rc != RF_OK)
		return rc;
	*inverse = true;
	if (rf_money_mul_ratio(RF_RATE_ONE, RF_RATE_ONE, r.rate_ppb, ppb) != RF_OK || *ppb <= 0)
		return rf_err_set(err, RF_ENOTFOUND, "rate", "the inverse rate does not fit");
	return RF_OK;
}

rf_status rf_ledger_convert(rf_svc *sv, int64_t amount, const char *from, const char *to, int64_t at, int64_t *out,
			    int64_t *ppb, bool *inverse, bool *missing, rf_err *err)
{
	*missing = false;
	*ppb = 0;
	*inverse = false;
	if (strcmp(from, to) == 0) {
		*out = amount;
		return RF_OK;
	}
	char f[4], t[4];
	int fe = rf_currency_lookup(from, f), te = rf_currency_lookup(to, t);
	rf_status rc = rf_ledger_rate(sv, f, t, at, ppb, inverse, err);
	if (rc == RF_ENOTFOUND) {
		/* A missing rate is an answer, not a failure. */
		memset(err, 0, sizeof *err);
		*missing = true;
		*ppb = 0;
		return RF_OK;
	}
	if (rc != RF_OK)
		return rc;
	if (rf_fx_convert(amount, fe, te, *ppb, out) != RF_OK)
		return rf_err_set(err, RF_EINVAL, "amount", "the converted amount does not fit");
	return RF_OK;
}

/* Parses stored rules text (written by rf_plan_rules_parse, so it is valid). */
static rf_status rules_from_text(const char *text, rf_plan_rules *r, rf_err *err)
{
	json_t *j = json_loads(text, 0, NULL);
	if (!j)
		return rf_err_set(err, RF_EIO, NULL, "a stored plan cannot be read");
	rf_status rc = rf_plan_rules_parse(j, r, NULL, err);
	json_decref(j);
	return rc;
}

/* The plan that applies to partner p's events at `at`: *has is false when none does. */
static rf_status plan_for(rf_ledger *L, const rf_partner *p, int64_t at, const char **plan_id, int64_t *version,
			  rf_plan_rules *r, bool *has, rf_err *err)
{
	rf_svc *sv = L->sv;
	*has = false;
	const char *id = p->plan_id;
	if (!id) {
		rf_plan def;
		rf_status rc = rf_store_plan_default(sv->store, p->program_id, &def, sv->a, err);
		if (rc == RF_ENOTFOUND)
			return RF_OK;
		if (rc != RF_OK)
			return rc;
		id = def.id;
	}
	*plan_id = id;
	if (L->sim_plan_id) {
		if (strcmp(L->sim_plan_id, id) != 0)
			return RF_OK;
		*r = *L->sim_rules;
		*version = 0;
		*has = true;
		return RF_OK;
	}
	char *text = NULL;
	rf_status rc = rf_store_plan_rules_at(sv->store, id, at, version, &text, sv->a, err);
	if (rc != RF_OK)
		return rc;
	if (rules_from_text(text, r, err) != RF_OK)
		return err->status;
	*has = true;
	return RF_OK;
}

/* Adds e to the collected entries, and writes it unless simulating. */
static rf_status emit(rf_ledger *L, rf_commission *e, rf_err *err)
{
	rf_svc *sv = L->sv;
	rf_commission *items = rf_arena_grow(sv->a, L->items, L->n, &L->cap, sizeof *items, 16);
	if (!items)
		return rf_err_set(err, RF_ENOMEM, NULL, "out of memory");
	L->items = items;
	e->id = rf_id_new_arena(sv->a, "com");
	e->created_at = e->updated_at = rf_clock_now_ms();
	L->items[L->n++] = *e;
	if (L->simulate)
		return RF_OK;
	if (rf_store_commission_insert(sv->store, e, L->actor, err) != RF_OK)
		return err->status;
	return rf_svc_event_commission(
	    sv, strcmp(e->rule, "reversal") == 0 ? "commission.reversed" : "commission.created", e, err);
}

/* Fills amount, currency and FX of e for beneficiary b from e->earned; an unknown rate holds the entry. */
static rf_status settle(rf_ledger *L, rf_commission *e, const rf_partner *b, rf_err *err)
{
	memcpy(e->currency, b->currency, 4);
	bool missing = false;
	int64_t ppb = 0;
	if (rf_ledger_convert(L->sv, e->earned, e->earned_currency, b->currency, e->event_at, &e->amount, &ppb,
			      &e->fx_inverse, &missing, err) != RF_OK)
		return err->status;
	e->has_fx = ppb > 0;
	e->fx_rate_ppb = ppb;
	e->has_amount = !missing;
	if (missing) {
		char when[40];
		rf_clock_format(e->event_at, when, sizeof when);
		e->fx_missing = true;
		e->status = "held";
		e->status_reason = rf_arena_printf(L->sv->a, "no FX rate from %s to %s valid at %s", e->earned_currency,
						   b->currency, when);
	}
	return RF_OK;
}

typedef struct {
	const char *type; /* lead | sale */
	const char *id;
	int64_t at;
	const char *lead_id, *sale_id;
	const char *detail; /* JSON text shared by the event's direct entries */
} event_info;

/* One entry of an event for beneficiary b. */
static rf_status entry(rf_ledger *L, const event_info *ev, const rf_partner *b, const char *role, int64_t level,
		       const char *rule, const char *basis, int64_t base, const char *base_currency, int64_t bps,
		       int64_t earned, const char *currency, const char *plan_id, int64_t version, const char *of,
		       const char *detail, rf_commission **out, rf_err *err)
{
	rf_commission e;
	memset(&e, 0, sizeof e);
	e.program_id = L->prog->id;
	e.partner_id = b->id;
	e.role = (char *)role;
	e.level = level;
	e.rule = (char *)rule;
	e.basis = (char *)basis;
	e.event_type = (char *)ev->type;
	e.event_id = (char *)ev->id;
	e.event_at = ev->at;
	e.lead_id = (char *)ev->lead_id;
	e.sale_id = (char *)ev->sale_id;
	e.of_commission_id = (char *)of;
	e.plan_id = (char *)plan_id;
	e.plan_version = version;
	e.base_amount = base;
	snprintf(e.base_currency, 4, "%s", base_currency);
	e.has_rate = bps >= 0;
	e.rate_bps = bps;
	e.earned = earned;
	snprintf(e.earned_currency, 4, "%s", currency);
	e.status = "pending";
	e.hold_until = ev->at + L->prog->holding_period_days * DAY_MS;
	e.detail = (char *)(detail ? detail : "{}");
	e.dedupe =
	    rf_arena_printf(L->sv->a, "%s:%s:%s:%s:%lld:%s", ev->type, ev->id, basis, role, (long long)level, b->id);
	if (settle(L, &e, b, err) != RF_OK)
		return err->status;
	if (emit(L, &e, err) != RF_OK)
		return err->status;
	if (out)
		*out = &L->items[L->n - 1];
	return RF_OK;
}

/* Pays the parts of an event: to the partner (or split between the agent and its team parent), then the
 * recruiters' overrides on each part. */
static rf_status pay_parts(rf_ledger *L, const event_info *ev, const rf_plan_part *parts, size_t n, const rf_partner *p,
			   const rf_partner *agent, const rf_plan_rules *r, const char *plan_id, int64_t version,
			   rf_err *err)
{
	rf_svc *sv = L->sv;
	for (size_t i = 0; i < n; i++) {
		const rf_plan_part *pt = &parts[i];
		rf_commission *base_entry = NULL;
		if (agent) {
			int64_t a_part = 0, t_part = 0;
			if (rf_plan_split(pt->earned, r->agent_share_bps, &a_part, &t_part) != RF_OK)
				return rf_err_set(err, RF_EINVAL, "amount", "the commission cannot be split");
			char *detail = rf_arena_printf(sv->a, "{\"share_bps\":%lld,\"of_total\":%lld%s%s}",
						       (long long)r->agent_share_bps, (long long)pt->earned,
						       ev->detail ? ",\"event\":" : "", ev->detail ? ev->detail : "");
			if (a_part > 0 &&
			    entry(L, ev, agent, "agent", 0, pt->rule, pt->basis, pt->base, pt->base_currency, pt->bps,
				  a_part, pt->currency, plan_id, version, NULL, detail, &base_entry, err) != RF_OK)
				return err->status;
			if (t_part > 0 &&
			    entry(L, ev, p, "team", 0, pt->rule, pt->basis, pt->base, pt->base_currency, pt->bps,
				  t_part, pt->currency, plan_id, version, NULL, detail, &base_entry, err) != RF_OK)
				return err->status;
		} else if (entry(L, ev, p, "direct", 0, pt->rule, pt->basis, pt->base, pt->base_currency, pt->bps,
				 pt->earned, pt->currency, plan_id, version, NULL, ev->detail, &base_entry,
				 err) != RF_OK) {
			return err->status;
		}
		const char *of = base_entry ? base_entry->id : NULL;
		/* Overrides: level 1 is p's recruiter, level 2 its recruiter, and so on. */
		const rf_partner *cur = p;
		rf_partner *chain = rf_arena_alloc(sv->a, sizeof *chain * RF_PLAN_MAX_LEVELS);
		if (!chain)
			return rf_err_set(err, RF_ENOMEM, NULL, "out of memory");
		for (size_t lv = 0; lv < r->n_overrides && cur->recruited_by_id; lv++) {
			rf_status rc = rf_store_partner_get(sv->store, cur->recruited_by_id, &chain[lv], sv->a, err);
			if (rc == RF_ENOTFOUND)
				break;
			if (rc != RF_OK)
				return rc;
			cur = &chain[lv];
			if (strcmp(cur->status, "active") != 0)
				continue;
			if (r->override_requires_sale) {
				int64_t start, end, count = 0;
				rf_period_bounds(ev->at, false, &start, &end);
				if (rf_store_sale_volume(sv->store, cur->id, start, end, ev->at, false, &count, err) !=
				    RF_OK)
					return err->status;
				if (count == 0)
					continue;
			}
			int64_t amount = 0;
			if (rf_commission_bps(pt->earned, r->override_bps[lv], &amount) != RF_OK)
				return rf_err_set(err, RF_EINVAL, "amount", "an override does not fit");
			if (amount <= 0)
				continue;
			char *detail = rf_arena_printf(sv->a, "{\"recruited_partner_id\":\"%s\",\"requires_sale\":%s}",
						       p->id, r->override_requires_sale ? "true" : "false");
			if (entry(L, ev, cur, "override", (int64_t)lv + 1, "override", pt->basis, pt->earned,
				  pt->currency, r->override_bps[lv], amount, pt->currency, plan_id, version, of, detail,
				  NULL, err) != RF_OK)
				return err->status;
		}
	}
	return RF_OK;
}

/* The credited partner and agent of an event, both active; *p_ok false (with L->note) when nobody earns. */
static rf_status credited(rf_ledger *L, const char *partner_id, const char *agent_id, rf_partner *p, rf_partner *agent,
			  bool *p_ok, bool *has_agent, rf_err *err)
{
	rf_svc *sv = L->sv;
	*p_ok = *has_agent = false;
	if (!partner_id) {
		L->note = "no partner is credited for this customer";
		return RF_OK;
	}
	rf_status rc = rf_store_partner_get(sv->store, partner_id, p, sv->a, err);
	if (rc != RF_OK)
		return rc;
	if (strcmp(p->status, "active") != 0) {
		L->note = rf_arena_printf(sv->a, "partner %s is %s and earns nothing", p->id, p->status);
		return RF_OK;
	}
	*p_ok = true;
	if (agent_id && strcmp(agent_id, partner_id) != 0) {
		rc = rf_store_partner_get(sv->store, agent_id, agent, sv->a, err);
		if (rc != RF_OK && rc != RF_ENOTFOUND)
			return rc;
		*has_agent = rc == RF_OK && strcmp(agent->status, "active") == 0;
	}
	return RF_OK;
}

rf_status rf_ledger_sale(rf_ledger *L, const rf_sale *x, int64_t first_sale_at, rf_err *err)
{
	rf_svc *sv = L->sv;
	L->note = NULL;
	rf_partner p, agent;
	bool ok = false, has_agent = false;
	if (credited(L, x->partner_id, x->agent_id, &p, &agent, &ok, &has_agent, err) != RF_OK)
		return err->status;
	if (!ok)
		return RF_OK;
	rf_plan_rules r;
	const char *plan_id = NULL;
	int64_t version = 0;
	bool has = false;
	if (plan_for(L, &p, x->occurred_at, &plan_id, &version, &r, &has, err) != RF_OK)
		return err->status;
	if (!has) {
		L->note = "the partner has no plan and the program no default plan";
		return RF_OK;
	}
	rf_plan_sale in = {x->amount,
			   "",
			   strcmp(x->kind, "recurring") == 0,
			   x->occurred_at,
			   first_sale_at ? first_sale_at : x->occurred_at,
			   0};
	memcpy(in.currency, x->currency, 4);
	const char *detail = NULL;
	if (r.has_tiers) {
		int64_t start, end;
		rf_period_bounds(x->occurred_at, r.tier_quarterly, &start, &end);
		if (rf_store_sale_volume(sv->store, p.id, start, end, x->occurred_at, r.tier_by_revenue,
					 &in.tier_volume, err) != RF_OK)
			return err->status;
		int t = rf_tier_pick(r.tiers, r.n_tiers, in.tier_volume);
		char s0[40], s1[40];
		rf_clock_format(start, s0, sizeof s0);
		rf_clock_format(end, s1, sizeof s1);
		detail = rf_arena_printf(sv->a,
					 "{\"tier\":{\"index\":%d,\"from\":%lld,\"metric\":\"%s\",\"period\":\"%s\","
					 "\"period_start\":\"%s\",\"period_end\":\"%s\",\"volume\":%lld}}",
					 t, t >= 0 ? (long long)r.tiers[t].threshold : 0LL,
					 r.tier_by_revenue ? "revenue" : "count",
					 r.tier_quarterly ? "quarter" : "month", s0, s1, (long long)in.tier_volume);
	}
	rf_plan_part parts[2];
	size_t n = 0;
	const char *note = NULL;
	if (rf_plan_sale_parts(&r, &in, parts, &n, &note) != RF_OK)
		return rf_err_set(err, RF_EINVAL, "amount", "the commission on this amount does not fit");
	if (n == 0) {
		L->note = note;
		return RF_OK;
	}
	event_info ev = {"sale", x->id, x->occurred_at, x->lead_id, x->id, detail};
	return pay_parts(L, &ev, parts, n, &p, has_agent ? &agent : NULL, &r, plan_id, version, err);
}

rf_status rf_ledger_lead(rf_ledger *L, const rf_lead *l, int64_t at, rf_err *err)
{
	rf_svc *sv = L->sv;
	L->note = NULL;
	if (!L->simulate) {
		/* A lead earns once, whatever its later moves. */
		rf_commission_filter f = {.page = {.limit = 1}, .lead_id = l->id, .originals_only = true};
		rf_commission *items = NULL;
		size_t n = 0;
		bool more = false;
		if (rf_store_commission_list(sv->store, &f, &items, &n, &more, sv->a, err) != RF_OK)
			return err->status;
		for (size_t i = 0; i < n; i++)
			if (strcmp(items[i].rule, "lead") == 0 ||
			    (strcmp(items[i].rule, "override") == 0 && strcmp(items[i].event_type, "lead") == 0))
				return RF_OK;
	}
	rf_partner p, agent;
	bool ok = false, has_agent = false;
	if (credited(L, l->partner_id, l->agent_id, &p, &agent, &ok, &has_agent, err) != RF_OK)
		return err->status;
	if (!ok)
		return RF_OK;
	rf_plan_rules r;
	const char *plan_id = NULL;
	int64_t version = 0;
	bool has = false;
	if (plan_for(L, &p, at, &plan_id, &version, &r, &has, err) != RF_OK)
		return err->status;
	if (!has)
		return RF_OK;
	/* The agent's own cost per lead when it has one, else its organisation's. */
	const rf_partner *cpl = has_agent && agent.cost_per_lead > 0 ? &agent : &p;
	rf_plan_part part;
	size_t n = 0;
	rf_plan_lead_part(&r, cpl->cost_per_lead, cpl->cost_per_lead_currency, &part, &n);
	if (n == 0)
		return RF_OK;
	event_info ev = {"lead", l->id, at, l->id, NULL, NULL};
	return pay_parts(L, &ev, &part, 1, &p, has_agent ? &agent : NULL, &r, plan_id, version, err);
}

rf_status rf_ledger_reverse(rf_ledger *L, const rf_sale *x, const rf_refund *rf, const rf_commission *orig, size_t n,
			    rf_err *err)
{
	rf_svc *sv = L->sv;
	int64_t now = rf_clock_now_ms();
	for (size_t i = 0; i < n; i++) {
		const rf_commission *o = &orig[i];
		if (strcmp(o->rule, "reversal") == 0 || strcmp(o->status, "rejected") == 0)
			continue;
		int64_t earned = 0, amount = 0;
		if (rf_reversal(o->earned, x->amount, rf->prior, rf->amount, &earned) != RF_OK ||
		    (o->has_amount && rf_reversal(o->amount, x->amount, rf->prior, rf->amount, &amount) != RF_OK))
			return rf_err_set(err, RF_EINVAL, "amount", "the refund does not fit the sale");
		if (earned == 0 && amount == 0)
			continue;
		rf_commission e = *o;
		e.rule = "reversal";
		e.basis = "reversal";
		e.event_type = rf->kind;
		e.event_id = rf->id;
		e.event_at = rf->occurred_at;
		e.refund_id = rf->id;
		e.reverses_id = o->id;
		e.of_commission_id = NULL;
		e.base_amount = rf->amount;
		memcpy(e.base_currency, rf->currency, 4);
		e.has_rate = false;
		e.earned = -earned;
		e.amount = -amount;
		e.detail = rf_arena_printf(sv->a, "{\"sale_amount\":%lld,\"refunded_before\":%lld,\"refund\":%lld}",
					   (long long)x->amount, (long long)rf->prior, (long long)rf->amount);
		e.dedupe = rf_arena_printf(sv->a, "reversal:%s:%s", rf->id, o->id);
		e.status_reason = NULL;
		if (strcmp(o->status, "pending") == 0) {
			e.status = "pending";
		} else if (strcmp(o->status, "held") == 0) {
			e.status = "held";
			e.status_reason = o->fx_missing ? o->status_reason
							: rf_arena_printf(sv->a, "reverses %s, which is held", o->id);
		} else {
			/* The original is approved or paid: its reversal counts against the next payout. */
			e.status = "approved";
			e.hold_until = now;
		}
		if (emit(L, &e, err) != RF_OK)
			return err->status;
	}
	return RF_OK;
}

/* Fills the amount of one entry held for a missing FX rate when the rate is now known. *done is false when it
 * still cannot be converted. */
static rf_status release_one(rf_ledger *L, const rf_commission *e, bool *done, rf_err *err)
{
	rf_svc *sv = L->sv;
	*done = false;
	int64_t amount = 0, ppb = 0;
	bool inverse = false, missing = false;
	if (strcmp(e->rule, "reversal") == 0) {
		rf_commission o;
		rf_refund rf;
		rf_sale x;
		if (rf_store_commission_get(sv->store, e->reverses_id, &o, sv->a, err) != RF_OK)
			return err->status;
		if (!o.has_amount)
			return RF_OK;
		if (rf_store_sale_get(sv->store, e->sale_id, &x, sv->a, err) != RF_OK ||
		    rf_store_refund_get(sv->store, e->refund_id, &rf, sv->a, err) != RF_OK)
			return err->status;
		if (rf_reversal(o.amount, x.amount, rf.prior, rf.amount, &amount) != RF_OK)
			return rf_err_set(err, RF_EINVAL, "amount", "the refund does not fit the sale");
		amount = -amount;
		ppb = o.fx_rate_ppb;
		inverse = o.fx_inverse;
	} else {
		if (rf_ledger_convert(sv, e->earned, e->earned_currency, e->currency, e->event_at, &amount, &ppb,
				      &inverse, &missing, err) != RF_OK)
			return err->status;
		if (missing)
			return RF_OK;
	}
	if (rf_store_commission_fill_fx(sv->store, e, ppb, inverse, amount, "pending", L->actor, rf_clock_now_ms(),
					err) != RF_OK)
		return err->status;
	*done = true;
	return RF_OK;
}

rf_status rf_ledger_release_fx(rf_ledger *L, size_t *released, rf_err *err)
{
	rf_svc *sv = L->sv;
	*released = 0;
	/* Originals first (oldest first), so their reversals find them converted. */
	for (int pass = 0; pass < 2; pass++) {
		const char *after = NULL;
		for (;;) {
			rf_commission_filter f = {.page = {.limit = 100, .starting_after = after},
						  .fx_missing_only = true,
						  .oldest_first = true,
						  .originals_only = pass == 0};
			rf_commission *items = NULL;
			size_t n = 0;
			bool more = false;
			if (rf_store_commission_list(sv->store, &f, &items, &n, &more, sv->a, err) != RF_OK)
				return err->status;
			for (size_t i = 0; i < n; i++) {
				bool done = false;
				if (release_one(L, &items[i], &done, err) != RF_OK)
					return err->status;
				*released += done;
			}
			if (!more || n == 0)
				break;
			after = items[n - 1].id;
		}
	}
	return RF_OK;
}

rf_status rf_ledger_release_sales(rf_svc *sv, size_t *released, rf_err *err)
{
	*released = 0;
	rf_sale *items = NULL;
	size_t n = 0;
	if (rf_store_sales_unconverted(sv->store, 10000, &items, &n, sv->a, err) != RF_OK)
		return err->status;
	for (size_t i = 0; i < n; i++) {
		const rf_sale *x = &items[i];
		rf_program prog;
		int64_t amount = 0, ppb = 0;
		bool inverse = false, missing = false;
		if (rf_store_program_get(sv->store, x->program_id, &prog, sv->a, err) != RF_OK ||
		    rf_ledger_convert(sv, x->amount, x->currency, prog.currency, x->occurred_at, &amount, &ppb,
				      &inverse, &missing, err) != RF_OK)
			return err->status;
		if (missing)
			continue;
		rf_lead l;
		rf_metrics m;
		memset(&m, 0, sizeof m);
		m.v[RF_M_REVENUE] = amount;
		/* The revenue counts from the sale's day, now that it can be read in the program's currency. */
		if (rf_store_sale_set_program_amount(sv->store, x->id, amount, err) != RF_OK ||
		    rf_store_lead_get(sv->store, x->lead_id, &l, sv->a, err) != RF_OK ||
		    rf_svc_rollup(sv, x->program_id, x->partner_id, x->agent_id, l.source, l.click_id, x->occurred_at,
				  &m, err) != RF_OK)
			return err->status;
		rf_refund *rf = NULL;
		size_t nr = 0;
		if (rf_store_refund_list(sv->store, x->id, &rf, &nr, sv->a, err) != RF_OK)
			return err->status;
		for (size_t k = 0; k < nr; k++) {
			int64_t part = 0;
			if (rf[k].has_program_amount ||
			    rf_money_mul_ratio(rf[k].amount, amount, x->amount, &part) != RF_OK)
				continue;
			memset(&m, 0, sizeof m);
			m.v[RF_M_REFUNDS] = part;
			if (rf_store_refund_set_program_amount(sv->store, rf[k].id, part, err) != RF_OK ||
			    rf_svc_rollup(sv, x->program_id, x->partner_id, x->agent_id, l.source, l.click_id,
					  rf[k].occurred_at, &m, err) != RF_OK)
				return err->status;
		}
		(*released)++;
	}
	return RF_OK;
}
