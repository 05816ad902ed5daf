/* SPDX-License-Identifier: Apache-2.0 */
/* /api/v1/commissions, partner balances and /api/v1/fx-rates: the ledger as people read it (each entry with its
 * explanation and history), the admin's approve / hold / reject, and the exchange rates conversions use. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/clock.h"
#include "../core/commission.h"
#include "../core/money.h"
#include "../core/text.h"
#include "../http/auth.h"
#include "api.h"

/* "49.00 USD" into buf. */
static const char *fmt_money(char *buf, size_t len, int64_t amount, const char *cur)
{
	char code[4] = "", num[40];
	rf_currency_lookup(cur, code);
	rf_money_format_code(amount, cur, num, sizeof num);
	snprintf(buf, len, "%s %s", num, code);
	return buf;
}

/* A rate in parts per billion as a decimal ("0.92"). */
/* A basis-point rate as a percentage ("12.5%"). */
static void fmt_bps(char *buf, size_t len, int64_t bps)
{
	char num[40];
	rf_money_format(bps, 2, num, sizeof num);
	size_t n = strlen(num);
	while (n > 0 && num[n - 1] == '0')
		num[--n] = '\0';
	if (n > 0 && num[n - 1] == '.')
		num[--n] = '\0';
	snprintf(buf, len, "%s%%", num);
}

/* The explanation of an entry: its facts as fields and in one sentence. */
static json_t *explain(rf_ctx *c, const rf_commission *e)
{
	char base[64], earned[64], amount[64], rate[40], bps[40];
	fmt_money(base, sizeof base, e->base_amount, e->base_currency);
	fmt_money(earned, sizeof earned, e->earned, e->earned_currency);
	json_t *detail = json_loads(e->detail ? e->detail : "{}", 0, NULL);
	if (!detail)
		detail = json_object();
	char plan[160] = "no plan";
	if (e->plan_id) {
		rf_plan p;
		rf_err err = {0};
		if (rf_store_plan_get(c->app->store, e->plan_id, &p, c->a, &err) == RF_OK)
			snprintf(plan, sizeof plan, "plan %s (%s) version %lld", p.id, p.name,
				 (long long)e->plan_version);
		else
			snprintf(plan, sizeof plan, "plan %s version %lld", e->plan_id, (long long)e->plan_version);
	}
	const char *text = NULL;
	json_t *tier =
	    json_object_get(json_object_get(detail, "event") ? json_object_get(detail, "event") : detail, "tier");
	if (strcmp(e->rule, "reversal") == 0) {
		json_t *sale = json_object_get(detail, "sale_amount"),
		       *before = json_object_get(detail, "refunded_before");
		char sa[64], bf[64];
		fmt_money(sa, sizeof sa, json_integer_value(sale), e->base_currency);
		fmt_money(bf, sizeof bf, json_integer_value(before), e->base_currency);
		text = rf_arena_printf(c->a,
				       "Reverses %s in proportion to the %s %s: %s of a %s sale given back (%s before "
				       "it), computed on the cumulative amount given back: %s",
				       e->reverses_id, e->event_type, e->event_id, base, sa, bf, earned);
	} else if (strcmp(e->rule, "override") == 0) {
		fmt_bps(bps, sizeof bps, e->rate_bps);
		const char *who = json_string_value(json_object_get(detail, "recruited_partner_id"));
		text = rf_arena_printf(
		    c->a, "Level %lld recruiter override under %s: %s of the %s that %s earned on %s %s%s%s = %s",
		    (long long)e->level, plan, bps, base, who ? who : "the recruited partner", e->event_type,
		    e->event_id, e->of_commission_id ? " (entry " : "",
		    e->of_commission_id ? rf_arena_printf(c->a, "%s)", e->of_commission_id) : "", earned);
	} else if (strcmp(e->basis, "percent") == 0 || strcmp(e->basis, "tier") == 0) {
		fmt_bps(bps, sizeof bps, e->rate_bps);
		const char *tiertxt = "";
		if (tier)
			tiertxt = rf_arena_printf(c->a, " (tier %lld, from %lld by %s in the %s: the volume was %lld)",
						  (long long)json_integer_value(json_object_get(tier, "index")) + 1,
						  (long long)json_integer_value(json_object_get(tier, "from")),
						  json_string_value(json_object_get(tier, "metric")),
						  json_string_value(json_object_get(tier, "period")),
						  (long long)json_integer_value(json_object_get(tier, "volume")));
		text = rf_arena_printf(c->a, "%s%s of the %s %s %s under %s", bps, tiertxt,
				       strcmp(e->rule, "recurring") == 0 ? "renewal" : "sale", e->event_id, base, plan);
	} else if (strcmp(e->basis, "flat") == 0) {
		text = rf_arena_printf(c->a, "A flat %s per %s under %s (%s %s)", base,
				       strcmp(e->rule, "recurring") == 0 ? "renewal" : "sale", plan, e->event_type,
				       e->event_id);
	} else {
		text = rf_arena_printf(c->a, "%s per qualified lead (%s) under %s (lead %s)", base,
				       strcmp(e->basis, "cost_per_lead") == 0 ? "the partner's cost per lead"
									      : "the plan's lead amount",
				       plan, e->event_id);
	}
	if (strcmp(e->role, "agent") == 0 || strcmp(e->role, "team") == 0) {
		char total[64], share[40];
		fmt_money(total, sizeof total, json_integer_value(json_object_get(detail, "of_total")),
			  e->earned_currency);
		fmt_bps(share, sizeof share, json_integer_value(json_object_get(detail, "share_bps")));
		text =
		    rf_arena_printf(c->a, "%s; of that %s, %s", text, total,
				    strcmp(e->role, "agent") == 0
					? rf_arena_printf(c->a, "the credited agent's share of %s is %s", share, earned)
					: rf_arena_printf(c->a,
							  "the team parent earns what is left after the agent's "
							  "%s: %s",
							  share, earned));
	} else if (strcmp(e->rule, "reversal") != 0 && strcmp(e->rule, "override") != 0) {
		text = rf_arena_printf(c->a, "%s = %s", text, earned);
	}
	json_t *fx = json_null();
	if (e->has_fx && e->has_amount) {
		rf_view_fx_rate(rate, sizeof rate, e->fx_rate_ppb);
		fmt_money(amount, sizeof amount, e->amount, e->currency);
		text = rf_arena_printf(c->a, "%s; converted to %s at %s%s = %s", text, e->currency, rate,
				       e->fx_inverse ? " (the inverse of the stored reverse rate)" : "", amount);
		fx = json_pack("{s:o, s:o, s:s, s:b}", "from", rf_json_code(e->earned_currency), "to",
			       rf_json_code(e->currency), "rate", rate, "inverse", e->fx_inverse);
	} else if (!e->has_amount) {
		text =
		    rf_arena_printf(c->a, "%s; not converted yet: %s", text, e->status_reason ? e->status_reason : "");
	}
	json_t *source = json_null();
	if (e->sale_id) {
		/* A sale another system reported says which, and which of its events, so it can be found there. */
		rf_sale x;
		rf_err serr = {0};
		if (rf_store_sale_get(c->app->store, e->sale_id, &x, c->a, &serr) == RF_OK && x.source &&
		    strcmp(x.source, "api") != 0) {
			text = rf_arena_printf(c->a, "%s; the sale %s came from %s%s%s", text, x.id, x.source,
					       x.source_event_id ? " event " : "",
					       x.source_event_id ? x.source_event_id : "");
			source = json_pack("{s:s, s:o}", "system", x.source, "event_id",
					   rf_json_nullable(x.source_event_id));
		}
	}
	char code[4];
	int exp = rf_currency_lookup(e->currency, code);
	text = rf_arena_printf(c->a, "%s. Rounded half-even once, to %d decimal%s.", text, exp, exp == 1 ? "" : "s");
	json_t *o = json_pack(
	    "{s:s, s:{s:s, s:s, s:o}, s:o, s:o, s:s, s:s, s:o, s:o, s:o, s:I, s:o, s:o}", "text", text, "event", "type",
	    e->event_type, "id", e->event_id, "at", rf_json_time(e->event_at), "plan_id", rf_json_nullable(e->plan_id),
	    "plan_version", e->plan_id ? json_integer(e->plan_version) : json_null(), "rule", e->rule, "basis",
	    e->basis, "base", rf_json_money_new(e->base_amount, e->base_currency), "rate_bps",
	    e->has_rate ? json_integer(e->rate_bps) : json_null(), "tier", tier ? json_incref(tier) : json_null(),
	    "level", (json_int_t)e->level, "of_commission_id", rf_json_nullable(e->of_commission_id), "fx", fx);
	json_object_set_new(o, "rounding", json_pack("{s:s, s:i}", "mode", "half_even", "decimals", exp < 0 ? 0 : exp));
	json_object_set_new(o, "source", source);
	json_t *share = json_object_get(detail, "share_bps");
	if (share)
		json_object_set(o, "agent_share_bps", share);
	json_decref(detail);
	return o;
}

json_t *rf_api_commission_json(rf_ctx *c, const rf_commission *e, bool full)
{
	json_t *o = rf_view_commission(e);
	if (full) {
		json_object_set_new(o, "explanation", explain(c, e));
		rf_commission_event *ev = NULL;
		size_t n = 0;
		rf_err err = {0};
		json_t *h = json_array();
		if (rf_store_commission_events(c->app->store, e->id, &ev, &n, c->a, &err) == RF_OK)
			for (size_t i = 0; i < n; i++)
				json_array_append_new(h, json_pack("{s:o, s:s, s:s, s:o, s:o}", "from",
								   rf_json_nullable(ev[i].from_status), "to",
								   ev[i].to_status, "actor", ev[i].actor, "reason",
								   rf_json_nullable(ev[i].reason), "at",
								   rf_json_time(ev[i].at)));
		json_object_set_new(o, "history", h);
	}
	return o;
}

/* True when the caller may read entries of partner_id. */
static bool can_see(rf_ctx *c, const char *partner_id)
{
	if (!rf_auth_scope(c))
		return true;
	rf_partner p;
	rf_err err = {0};
	return rf_store_partner_get(c->app->store, partner_id, &p, c->a, &err) == RF_OK &&
	       rf_auth_can_see_partner(c, &p);
}

void rf_api_commissions_list(rf_ctx *c)
{
	rf_err err = {0};
	rf_commission_filter f;
	memset(&f, 0, sizeof f);
	if (rf_json_page(c, &f.page, &err) != RF_OK) {
		rf_json_error(c, &err);
		return;
	}
	f.program_id = rf_req_query(c->req, "program_id");
	f.partner_id = rf_req_query(c->req, "partner_id");
	f.sale_id = rf_req_query(c->req, "sale_id");
	f.lead_id = rf_req_query(c->req, "lead_id");
	f.status = rf_req_query(c->req, "status");
	f.plan_id = rf_req_query(c->req, "plan_id");
	f.role = rf_req_query(c->req, "role");
	if (f.role && strcmp(f.role, "direct") != 0 && strcmp(f.role, "agent") != 0 && strcmp(f.role, "team") != 0 &&
	    strcmp(f.role, "override") != 0) {
		rf_json_fail(c, RF_EINVAL, "role", "role must be direct, agent, team or override");
		return;
	}
	f.scope_id = rf_auth_scope(c);
	static const char *const statuses[] = {"pending", "held", "approved", "paid", "rejected", NULL};
	bool ok = !f.status;
	for (const char *const *s = statuses; f.status && *s && !ok; s++)
		ok = strcmp(*s, f.status) == 0;
	if (!ok) {
		rf_json_fail(c, RF_EINVAL, "status", "status must be pending, held, approved, paid or rejected");
		return;
	}
	rf_commission *items = NULL;
	size_t n = 0;
	bool more = false;
	if (rf_store_commission_list(c->app->store, &f, &items, &n, &more, c->a, &err) != RF_OK) {
		rf_json_error(c, &err);
		return;
	}
	json_t *data = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(data, rf_api_commission_json(c, &items[i], false));
	rf_json_send(c, 200, rf_json_list(data, more));
}

void rf_api_commissions_get(rf_ctx *c)
{
	rf_commission e;
	rf_err err = {0};
	rf_status rc = rf_store_commission_get(c->app->store, c->params[0], &e, c->a, &err);
	if (rc == RF_OK && !can_see(c, e.partner_id))
		rc = RF_ENOTFOUND;
	if (!rf_api_found(c, rc, &err, "commission"))
		return;
	rf_json_send(c, 200, rf_api_commission_json(c, &e, true));
}

static const rf_jfield review_fields[] = {
    {"reason", RF_JT_STRING, true, 500, NULL},
    {NULL, 0, false, 0, NULL},
};

typedef enum { ACT_APPROVE, ACT_HOLD, ACT_REJECT } action;

static bool allowed_from(action act, const char *status)
{
	switch (act) {
	case ACT_APPROVE:
		return strcmp(status, "pending") == 0 || strcmp(status, "held") == 0;
	case ACT_HOLD:
		return strcmp(status, "pending") == 0 || strcmp(status, "approved") == 0;
	default:
		return strcmp(status, "pending") == 0 || strcmp(status, "held") == 0 || strcmp(status, "approved") == 0;
	}
}

static const char *const act_status[] = {"approved", "held", "rejected"};

static void review(rf_ctx *c, action act)
{
	json_t *body = NULL;
	size_t blen = 0;
	rf_req_body(c->req, &blen);
	if (blen && !(body = rf_api_body(c, review_fields)))
		return;
	rf_err err = {0};
	rf_commission e;
	const char *reason = body ? rf_trim_arena(c->a, rf_json_str(body, "reason")) : NULL;
	if (reason && !*reason)
		reason = NULL;
	if (act != ACT_APPROVE && !reason) {
		rf_err_set(&err, RF_EINVAL, "reason", "a reason is required to %s a commission",
			   act == ACT_HOLD ? "hold" : "reject");
		goto fail;
	}
	if (!rf_api_found(c, rf_store_commission_get(c->app->store, c->params[0], &e, c->a, &err), &err,
			  "commission")) {
		json_decref(body);
		return;
	}
	const char *to = act_status[act];
	if (!allowed_from(act, e.status)) {
		rf_err_set(&err, RF_ECONFLICT, "status", "a commission that is %s cannot become %s", e.status, to);
		goto fail;
	}
	if (act == ACT_APPROVE && !e.has_amount) {
		rf_err_set(&err, RF_ECONFLICT, "status", "this commission waits for an FX rate: %s",
			   e.status_reason ? e.status_reason : "");
		goto fail;
	}
	int64_t now = rf_clock_now_ms();
	if (rf_svc_commission_set_status(rf_ctx_svc(c), &e, to, reason, now, &err) != RF_OK)
		goto fail;
	/* Reversals of the entry follow it, so a balance never keeps half of a sale's story. */
	rf_commission_filter f = {.page = {.limit = 100}, .reverses_id = e.id};
	rf_commission *items = NULL;
	size_t n = 0;
	bool more = false;
	if (rf_store_commission_list(c->app->store, &f, &items, &n, &more, c->a, &err) != RF_OK)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		if (!allowed_from(act, items[i].status) || (act == ACT_APPROVE && !items[i].has_amount))
			continue;
		if (act == ACT_HOLD && strcmp(items[i].status, "approved") == 0)
			continue;
		char *why = rf_arena_printf(c->a, "follows %s", e.id);
		if (rf_svc_commission_set_status(rf_ctx_svc(c), &items[i], to, why, now, &err) != RF_OK)
			goto fail;
	}
	char action_name[40];
	snprintf(action_name, sizeof action_name, "commission.%s",
		 act == ACT_APPROVE ? "approve"
		 : act == ACT_HOLD  ? "hold"
				    : "reject");
	if (rf_api_audit(c, action_name, e.id, NULL, &err) != RF_OK ||
	    rf_store_commission_get(c->app->store, e.id, &e, c->a, &err) != RF_OK)
		goto fail;
	json_decref(body);
	rf_json_send(c, 200, rf_api_commission_json(c, &e, true));
	return;
fail:
	json_decref(body);
	rf_json_error(c, &err);
}

void rf_api_commissions_approve(rf_ctx *c)
{
	review(c, ACT_APPROVE);
}

void rf_api_commissions_hold(rf_ctx *c)
{
	review(c, ACT_HOLD);
}

void rf_api_commissions_reject(rf_ctx *c)
{
	review(c, ACT_REJECT);
}

void rf_api_partners_balance(rf_ctx *c)
{
	rf_partner p;
	rf_err err = {0};
	rf_status rc = rf_store_partner_get(c->app->store, c->params[0], &p, c->a, &err);
	if (rc == RF_OK && !rf_auth_can_see_partner(c, &p))
		rc = RF_ENOTFOUND;
	if (!rf_api_found(c, rc, &err, "partner"))
		return;
	rf_balance b[32];
	size_t n = 0;
	if (rf_store_commission_balance(c->app->store, p.id, b, 32, &n, &err) != RF_OK) {
		rf_json_error(c, &err);
		return;
	}
	json_t *rows = json_array();
	for (size_t i = 0; i < n; i++) {
		int64_t total = b[i].pending + b[i].held + b[i].approved + b[i].paid;
		json_array_append_new(rows, json_pack("{s:o, s:o, s:o, s:o, s:o, s:o}", "currency",
						      rf_json_code(b[i].currency), "pending",
						      rf_json_money_new(b[i].pending, b[i].currency), "held",
						      rf_json_money_new(b[i].held, b[i].currency), "approved",
						      rf_json_money_new(b[i].approved, b[i].currency), "paid",
						      rf_json_money_new(b[i].paid, b[i].currency), "total",
						      rf_json_money_new(total, b[i].currency)));
	}
	rf_json_send(c, 200, json_pack("{s:s, s:s, s:o}", "object", "balance", "partner_id", p.id, "balances", rows));
}

/* ---- FX rates ---- */

static json_t *fx_json(const rf_fx_rate *r)
{
	char rate[40];
	rf_view_fx_rate(rate, sizeof rate, r->rate_ppb);
	return json_pack("{s:s, s:o, s:o, s:s, s:o, s:o}", "object", "fx_rate", "base", rf_json_code(r->base), "quote",
			 rf_json_code(r->quote), "rate", rate, "valid_from", rf_json_time(r->valid_from), "created_at",
			 rf_json_time(r->created_at));
}

void rf_api_fx_list(rf_ctx *c)
{
	rf_err err = {0};
	char base[4] = "", quote[4] = "";
	const char *b = rf_req_query(c->req, "base"), *q = rf_req_query(c->req, "quote");
	if (b && rf_currency_lookup(b, base) < 0) {
		rf_json_fail(c, RF_EINVAL, "base", "base is not an ISO 4217 code");
		return;
	}
	if (q && rf_currency_lookup(q, quote) < 0) {
		rf_json_fail(c, RF_EINVAL, "quote", "quote is not an ISO 4217 code");
		return;
	}
	rf_page page;
	if (rf_json_page(c, &page, &err) != RF_OK) {
		rf_json_error(c, &err);
		return;
	}
	rf_fx_rate *items = NULL;
	size_t n = 0;
	bool more = false;
	if (rf_store_fx_list(c->app->store, b ? base : NULL, q ? quote : NULL, page.limit, &items, &n, &more, c->a,
			     &err) != RF_OK) {
		rf_json_error(c, &err);
		return;
	}
	json_t *data = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(data, fx_json(&items[i]));
	rf_json_send(c, 200, rf_json_list(data, more));
}

/* Checks one rate's members (field names prefixed with where, e.g. "rates[2]."). */
static rf_status fx_parse(const char *base, const char *quote, const char *rate, const char *valid_from,
			  const char *where, rf_fx_rate *r, rf_err *err)
{
	memset(r, 0, sizeof *r);
	if (!base || rf_currency_lookup(base, r->base) < 0)
		return rf_err_set(err, RF_EINVAL, "base", "%sbase must be an ISO 4217 code", where);
	if (!quote || rf_currency_lookup(quote, r->quote) < 0)
		return rf_err_set(err, RF_EINVAL, "quote", "%squote must be an ISO 4217 code", where);
	if (strcmp(r->base, r->quote) == 0)
		return rf_err_set(err, RF_EINVAL, "quote", "%squote must differ from base", where);
	if (!rate || rf_rate_parse(rate, &r->rate_ppb) != RF_OK)
		return rf_err_set(err, RF_EINVAL, "rate",
				  "%srate must be a decimal string above 0 with at most 9 decimals, such as \"0.92\"",
				  where);
	if (!valid_from || rf_clock_parse(valid_from, &r->valid_from) != 0)
		return rf_err_set(err, RF_EINVAL, "valid_from", "%svalid_from must be an RFC 3339 time", where);
	r->created_at = rf_clock_now_ms();
	return RF_OK;
}

/* Stores the rates, converts what waited for them and answers 201, in one transaction. */
static void fx_store(rf_ctx *c, rf_fx_rate *rates, size_t n, bool import)
{
	rf_err err = {0};
	size_t released = 0;
	for (size_t i = 0; i < n; i++)
		if (rf_store_fx_put(c->app->store, &rates[i], &err) != RF_OK)
			goto fail;
	rf_ledger L = {.sv = rf_ctx_svc(c), .actor = c->who.actor};
	size_t sales = 0;
	if (rf_ledger_release_fx(&L, &released, &err) != RF_OK ||
	    rf_ledger_release_sales(rf_ctx_svc(c), &sales, &err) != RF_OK ||
	    rf_api_audit(c, import ? "fx.import" : "fx.create", NULL, NULL, &err) != RF_OK)
		goto fail;
	json_t *data = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(data, fx_json(&rates[i]));
	json_t *out = json_pack("{s:o, s:I}", "data", data, "released", (json_int_t)released);
	if (import)
		json_object_set_new(out, "imported", json_integer((json_int_t)n));
	rf_json_send(c, 201, out);
	return;
fail:
	rf_json_error(c, &err);
}

static const rf_jfield fx_fields[] = {
    {"base", RF_JT_STRING, false, 8, NULL},       {"quote", RF_JT_STRING, false, 8, NULL},
    {"rate", RF_JT_STRING, false, 40, NULL},      {"valid_from", RF_JT_STRING, false, 40, NULL},
    {"rates", RF_JT_OBJECT, false, 200000, NULL}, {NULL, 0, false, 0, NULL},
};

void rf_api_fx_create(rf_ctx *c)
{
	/* A rate is a decimal string: a JSON number would have passed through binary floating point. */
	size_t len = 0;
	const char *raw = rf_req_body(c->req, &len);
	json_t *peek = raw ? json_loadb(raw, len, 0, NULL) : NULL;
	json_t *rates = json_object_get(peek, "rates");
	if (json_is_object(peek) && json_object_get(peek, "rate") && !json_is_string(json_object_get(peek, "rate"))) {
		json_decref(peek);
		rf_json_fail(c, RF_EINVAL, "rate", "rate must be a decimal string such as \"0.92\"");
		return;
	}
	if (rates && (!json_is_array(rates) || json_array_size(rates) < 1 || json_array_size(rates) > 1000)) {
		json_decref(peek);
		rf_json_fail(c, RF_EINVAL, "rates", "rates must be an array of 1 to 1000 rates");
		return;
	}
	json_t *body = NULL;
	if (rates && json_is_object(peek)) {
		/* Checked member by member below. */
		body = peek;
		rates = json_object_get(body, "rates");
		if (json_object_size(body) != 1) {
			json_decref(body);
			rf_json_fail(c, RF_EINVAL, "rates", "a body with rates holds nothing else");
			return;
		}
		size_t n = json_array_size(rates);
		rf_fx_rate *list = rf_arena_alloc(c->a, sizeof *list * n);
		for (size_t i = 0; list && i < n; i++) {
			json_t *r = json_array_get(rates, i);
			char *where = rf_arena_printf(c->a, "rates[%zu].", i);
			const char *k;
			json_t *v;
			json_object_foreach(r, k, v)
			{
				if (strcmp(k, "base") != 0 && strcmp(k, "quote") != 0 && strcmp(k, "rate") != 0 &&
				    strcmp(k, "valid_from") != 0) {
					rf_json_fail(c, RF_EINVAL, "rates", "%s%s is not a member of a rate", where, k);
					json_decref(body);
					return;
				}
			}
			if (json_object_get(r, "rate") && !json_is_string(json_object_get(r, "rate"))) {
				json_decref(body);
				rf_json_fail(c, RF_EINVAL, "rate", "%srate must be a decimal string", where);
				return;
			}
			rf_err err2 = {0};
			if (!json_is_object(r) || fx_parse(json_string_value(json_object_get(r, "base")),
							   json_string_value(json_object_get(r, "quote")),
							   json_string_value(json_object_get(r, "rate")),
							   json_string_value(json_object_get(r, "valid_from")), where,
							   &list[i], &err2) != RF_OK) {
				json_decref(body);
				if (!err2.status)
					rf_err_set(&err2, RF_EINVAL, "rates", "%s must be an object", where);
				rf_json_error(c, &err2);
				return;
			}
		}
		json_decref(body);
		if (!list) {
			rf_json_fail(c, RF_ENOMEM, NULL, "out of memory");
			return;
		}
		fx_store(c, list, n, false);
		return;
	}
	json_decref(peek);
	body = rf_api_body(c, fx_fields);
	if (!body)
		return;
	rf_err err = {0};
	rf_fx_rate r;
	if (fx_parse(rf_json_str(body, "base"), rf_json_str(body, "quote"), rf_json_str(body, "rate"),
		     rf_json_str(body, "valid_from"), "", &r, &err) != RF_OK) {
		json_decref(body);
		rf_json_error(c, &err);
		return;
	}
	json_decref(body);
	fx_store(c, &r, 1, false);
}

#define FX_COLUMNS 4

/* Splits one CSV line at its commas (codes, decimals and times need no quoting) into cells trimmed of spaces, of
 * which the first max are kept in out; returns how many cells the line has, which may be more than max. */
static size_t csv_cells(char *line, char **out, size_t max)
{
	size_t n = 0;
	for (char *p = line;;) {
		char *comma = strchr(p, ',');
		if (comma)
			*comma = '\0';
		while (*p == ' ')
			p++;
		size_t l = strlen(p);
		while (l && p[l - 1] == ' ')
			p[--l] = '\0';
		if (n < max)
			out[n] = p;
		n++;
		if (!comma)
			return n;
		p = comma + 1;
	}
}

/* Reads the header line into col (the cell of each of names): exactly the four names, in any order. Fills err
 * naming the line and column at fault otherwise. */
static rf_status fx_header(char *line, size_t lineno, const char *const *names, int *col, rf_err *err)
{
	char *f[FX_COLUMNS + 1];
	size_t nc = csv_cells(line, f, FX_COLUMNS + 1);
	for (size_t i = 0; i < nc && i <= FX_COLUMNS; i++) {
		int k = 0;
		while (k < FX_COLUMNS && strcmp(f[i], names[k]) != 0)
			k++;
		if (k == FX_COLUMNS)
			return rf_err_set(err, RF_EINVAL, "csv",
					  "line %zu, column %zu: unknown column '%.40s'; the header is "
					  "base,quote,rate,valid_from, in any order",
					  lineno, i + 1, f[i]);
		if (col[k] >= 0)
			return rf_err_set(err, RF_EINVAL, "csv", "line %zu, column %zu: the column '%s' appears twice",
					  lineno, i + 1, names[k]);
		col[k] = (int)i;
	}
	for (int k = 0; k < FX_COLUMNS; k++)
		if (col[k] < 0)
			return rf_err_set(err, RF_EINVAL, "csv",
					  "line %zu must be the header base,quote,rate,valid_from (missing %s)", lineno,
					  names[k]);
	return RF_OK;
}

void rf_api_fx_import(rf_ctx *c)
{
	const char *ct = rf_req_header(c->req, "Content-Type");
	if (!ct || (strncmp(ct, "text/csv", 8) != 0 && strncmp(ct, "text/plain", 10) != 0)) {
		rf_json_fail(c, RF_EINVAL, "Content-Type", "the body must be text/csv");
		return;
	}
	size_t len = 0;
	const char *raw = rf_req_body(c->req, &len);
	if (len && memchr(raw, '\0', len)) {
		rf_json_fail(c, RF_EINVAL, "csv", "the CSV contains a NUL byte");
		return;
	}
	char *text = rf_arena_alloc(c->a, len + 1);
	if (!text) {
		rf_json_fail(c, RF_ENOMEM, NULL, "out of memory");
		return;
	}
	if (len)
		memcpy(text, raw, len);
	text[len] = '\0';
	size_t cap = 16, n = 0;
	rf_fx_rate *list = rf_arena_alloc(c->a, sizeof *list * cap);
	int col[FX_COLUMNS] = {-1, -1, -1, -1};
	static const char *const names[FX_COLUMNS] = {"base", "quote", "rate", "valid_from"};
	bool header = false;
	size_t lineno = 0;
	/* Every line counts, blank ones too, so that the numbers in errors are the ones an editor shows. */
	for (char *line = text, *next = NULL; line; line = next) {
		char *nl = strchr(line, '\n');
		next = nl ? nl + 1 : NULL;
		if (nl)
			*nl = '\0';
		lineno++;
		if (!line[strspn(line, " \r")])
			continue;
		size_t l = strlen(line);
		if (line[l - 1] == '\r')
			line[--l] = '\0';
		rf_err err = {0};
		if (!header) {
			if (fx_header(line, lineno, names, col, &err) != RF_OK) {
				rf_json_error(c, &err);
				return;
			}
			header = true;
			continue;
		}
		char *f[FX_COLUMNS];
		size_t nc = csv_cells(line, f, FX_COLUMNS);
		if (nc > FX_COLUMNS) {
			rf_json_fail(c, RF_EINVAL, "csv", "line %zu, column %d: a cell beyond the header's %d columns",
				     lineno, FX_COLUMNS + 1, FX_COLUMNS);
			return;
		}
		if (nc < FX_COLUMNS) {
			rf_json_fail(c, RF_EINVAL, "csv", "line %zu ends after column %zu; the header has %d columns",
				     lineno, nc, FX_COLUMNS);
			return;
		}
		if (n == 10000) {
			rf_json_fail(c, RF_EINVAL, "csv", "at most 10,000 rates per import");
			return;
		}
		rf_fx_rate *grown = rf_arena_grow(c->a, list, n, &cap, sizeof *list, 16);
		if (!grown) {
			rf_json_fail(c, RF_ENOMEM, NULL, "out of memory");
			return;
		}
		list = grown;
		char *where = rf_arena_printf(c->a, "line %zu: ", lineno);
		if (fx_parse(f[col[0]], f[col[1]], f[col[2]], f[col[3]], where ? where : "", &list[n], &err) != RF_OK) {
			rf_json_error(c, &err);
			return;
		}
		n++;
	}
	if (n == 0) {
		rf_json_fail(c, RF_EINVAL, "csv",
			     "the CSV holds no rates (header base,quote,rate,valid_from, then rows)");
		return;
	}
	fx_store(c, list, n, true);
}
