/* SPDX-License-Identifier: Apache-2.0 */
/* Objects as refd shows them, in the API's answers and in events alike: one rendering per object. */
#include "views.h"

#include <stdio.h>
#include <string.h>

#include "../core/clock.h"
#include "../core/json.h"
#include "../core/money.h"
#include "../core/text.h"
#include "integrations.h"

#define MAX_ITEMS 10000

static json_t *str_list(char *const *items, size_t n)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, json_string(items[i]));
	return arr;
}

json_t *rf_view_program(const rf_program *p)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:o, s:I, s:s, s:I, s:o, s:o, s:o, s:o}", "id", p->id, "object",
			      "program", "name", p->name, "currency", rf_json_code(p->currency), "cookie_window_days",
			      (json_int_t)p->cookie_window_days, "attribution_model", p->attribution_model,
			      "holding_period_days", (json_int_t)p->holding_period_days, "payout_threshold",
			      rf_json_money_new(p->payout_threshold, p->currency), "tracking_params",
			      str_list(p->tracking_params, p->n_tracking_params), "created_at",
			      rf_json_time(p->created_at), "updated_at", rf_json_time(p->updated_at));
	json_object_set_new(o, "allowed_domains", str_list(p->allowed_domains, p->n_allowed_domains));
	json_object_set_new(o, "fallback_url", rf_json_nullable(p->fallback_url));
	json_object_set_new(o, "repeat_click_minutes", json_integer(p->repeat_click_minutes));
	json_object_set_new(o, "protection_days", json_integer(p->protection_days));
	json_object_set_new(o, "conflict_days", json_integer(p->conflict_days));
	json_object_set_new(o, "tracking_origins", str_list(p->tracking_origins, p->n_tracking_origins));
	json_object_set_new(o, "stripe_webhook_configured", json_boolean(p->stripe_secret_sealed != NULL));
	json_object_set_new(o, "partner_signup", json_string(p->partner_signup ? p->partner_signup : "review"));
	json_object_set_new(o, "payout_schedule",
			    json_pack("{s:s, s:I, s:I}", "every", "month", "day", (json_int_t)p->payout_day,
				      "terms_days", (json_int_t)p->payout_terms_days));
	return o;
}

json_t *rf_view_partner(rf_svc *sv, const rf_partner *p)
{
	json_t *meta = json_loads(p->metadata ? p->metadata : "{}", 0, NULL);
	if (!meta)
		meta = json_object();
	json_t *tax = json_pack("{s:o, s:o, s:o}", "legal_name", rf_json_nullable(p->tax_legal_name), "country",
				rf_json_nullable(p->tax_country), "tax_id_last4", rf_json_nullable(p->tax_id_last4));
	json_t *o = json_pack(
	    "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "id", p->id,
	    "object", "partner", "program_id", p->program_id, "kind", p->kind, "status", p->status, "name", p->name,
	    "email", p->email, "company", rf_json_nullable(p->company), "currency", rf_json_code(p->currency),
	    "cost_per_lead", rf_json_money_new(p->cost_per_lead, p->cost_per_lead_currency), "team_parent_id",
	    rf_json_nullable(p->team_parent_id), "recruited_by_id", rf_json_nullable(p->recruited_by_id), "tax_profile",
	    tax, "metadata", meta, "status_reason", rf_json_nullable(p->status_reason), "created_at",
	    rf_json_time(p->created_at), "updated_at", rf_json_time(p->updated_at));
	json_object_set_new(o, "plan_id", rf_json_nullable(p->plan_id));
	json_object_set_new(o, "payout_hold_reason", rf_json_nullable(p->payout_hold_reason));
	json_object_set_new(o, "recruitment_code", rf_json_nullable(p->recruitment_code));
	/* Only an active partner recruits: the link is shown while it works, so nobody shares a dead one. */
	char *url = p->recruitment_code && strcmp(p->status, "active") == 0
			? rf_arena_printf(sv->a, "%s/portal?recruiter=%s", (sv->cfg ? sv->cfg->public_url : ""),
					  p->recruitment_code)
			: NULL;
	json_object_set_new(o, "recruitment_url", rf_json_nullable(url));
	return o;
}

json_t *rf_view_user(const rf_user *u)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:o, s:b, s:o, s:o}", "id", u->id, "object", "user", "email", u->email,
			 "role", u->role, "partner_id", rf_json_nullable(u->partner_id), "disabled",
			 u->disabled_at != 0, "created_at", rf_json_time(u->created_at), "disabled_at",
			 rf_json_time(u->disabled_at));
}

json_t *rf_view_apikey(const rf_apikey *k)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:b, s:o, s:o, s:o, s:o}", "id", k->id, "object", "api_key",
			 "name", k->name, "role", k->role, "partner_id", rf_json_nullable(k->partner_id), "prefix",
			 k->prefix, "revoked", k->revoked_at != 0, "created_by", rf_json_nullable(k->created_by),
			 "created_at", rf_json_time(k->created_at), "last_used_at", rf_json_time(k->last_used_at),
			 "revoked_at", rf_json_time(k->revoked_at));
}

json_t *rf_view_webhook_endpoint(const rf_webhook_endpoint *w)
{
	json_t *types = json_loads(w->event_types ? w->event_types : "[]", 0, NULL);
	int64_t old_until = w->old_secret_sealed && w->old_secret_until > rf_clock_now_ms() ? w->old_secret_until : 0;
	json_t *o =
	    json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:s, s:o, s:o, s:o, s:o, s:o}", "id", w->id, "object",
		      "webhook_endpoint", "url", w->url, "description", rf_json_nullable(w->description), "event_types",
		      types ? types : json_array(), "program_id", rf_json_nullable(w->program_id), "status", w->status,
		      "disabled_reason", rf_json_nullable(w->disabled_reason), "failing_since",
		      rf_json_time(w->failing_since), "previous_secret_expires_at", rf_json_time(old_until),
		      "created_at", rf_json_time(w->created_at), "updated_at", rf_json_time(w->updated_at));
	return o;
}

json_t *rf_view_webhook_delivery(const rf_delivery *d, const char *event_type, const rf_delivery_attempt *attempts,
				 size_t n)
{
	json_t *list = json_array();
	for (size_t i = 0; i < n; i++) {
		const rf_delivery_attempt *t = &attempts[i];
		json_array_append_new(list,
				      json_pack("{s:o, s:o, s:I, s:o, s:o}", "at", rf_json_time(t->at), "status_code",
						t->has_status_code ? json_integer(t->status_code) : json_null(),
						"latency_ms", (json_int_t)t->latency_ms, "response",
						rf_json_nullable(t->response), "error", rf_json_nullable(t->error)));
	}
	bool pending = strcmp(d->status, "pending") == 0;
	return json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:I, s:o, s:o, s:o, s:o, s:o, s:o}", "id", d->id, "object",
			 "webhook_delivery", "endpoint_id", d->target_id, "event_id", d->event_id, "event_type",
			 rf_json_nullable(event_type), "status", d->status, "attempt_count", (json_int_t)d->attempts,
			 "next_attempt_at", rf_json_time(pending ? d->next_at : 0), "last_status_code",
			 d->has_status_code ? json_integer(d->last_status_code) : json_null(), "last_error",
			 rf_json_nullable(d->last_error), "attempts", list, "created_at", rf_json_time(d->created_at),
			 "updated_at", rf_json_time(d->updated_at));
}

/* The registration's state as people read it: pending, approved, rejected or expired (protection over). */
static const char *registration_state(const rf_lead *l, int64_t now)
{
	if (!l->registration)
		return NULL;
	if (strcmp(l->status, "pending_review") == 0)
		return "pending";
	if (strcmp(l->status, "rejected") == 0)
		return "rejected";
	return l->protected_until > now ? "approved" : "expired";
}

json_t *rf_view_lead(const rf_lead *l)
{
	int64_t now = rf_clock_now_ms();
	json_t *meta = json_loads(l->metadata ? l->metadata : "{}", 0, NULL);
	json_t *o = json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:s, s:s}", "id", l->id, "object", "lead",
			      "program_id", l->program_id, "email", rf_json_nullable(l->email), "external_id",
			      rf_json_nullable(l->external_id), "name", rf_json_nullable(l->name), "company",
			      rf_json_nullable(l->company), "phone", rf_json_nullable(l->phone), "source", l->source,
			      "status", l->status);
	json_object_set_new(o, "attribution",
			    json_pack("{s:o, s:o, s:s, s:o}", "partner_id", rf_json_nullable(l->partner_id), "agent_id",
				      rf_json_nullable(l->agent_id), "method", l->method, "click_id",
				      rf_json_nullable(l->click_id)));
	const char *reg = registration_state(l, now);
	json_object_set_new(o, "registration",
			    reg ? json_pack("{s:s, s:o, s:o}", "state", reg, "reason",
					    rf_json_nullable(l->review_reason), "protected_until",
					    rf_json_time(l->protected_until))
				: json_null());
	json_object_set_new(o, "metadata", meta ? meta : json_object());
	json_object_set_new(o, "created_at", rf_json_time(l->created_at));
	json_object_set_new(o, "updated_at", rf_json_time(l->updated_at));
	json_object_set_new(o, "status_changed_at", rf_json_time(l->status_at));
	json_object_set_new(o, "converted_at", rf_json_time(l->converted_at));
	json_object_set_new(o, "time_to_conversion_seconds",
			    l->converted_at ? json_integer((l->converted_at - l->created_at) / 1000) : json_null());
	return o;
}

json_t *rf_view_link(rf_svc *sv, const rf_link *l)
{
	char *url = rf_arena_printf(sv->a, "%s/r/%s", (sv->cfg ? sv->cfg->public_url : ""), l->code);
	json_t *o =
	    json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:{s:o, s:o, s:o, s:o, s:o}, s:b, s:o, s:o, s:o}",
		      "id", l->id, "object", "link", "program_id", l->program_id, "partner_id", l->partner_id, "code",
		      l->code, "url", url ? url : "", "destination_url", l->destination_url, "target_url",
		      l->target_url ? l->target_url : l->destination_url, "campaign", rf_json_nullable(l->campaign),
		      "utm", "source", rf_json_nullable(l->utm_source), "medium", rf_json_nullable(l->utm_medium),
		      "campaign", rf_json_nullable(l->utm_campaign), "term", rf_json_nullable(l->utm_term), "content",
		      rf_json_nullable(l->utm_content), "archived", l->archived_at != 0, "archived_at",
		      rf_json_time(l->archived_at), "created_at", rf_json_time(l->created_at), "updated_at",
		      rf_json_time(l->updated_at));
	json_object_set_new(o, "coupon", rf_json_nullable(l->coupon));
	return o;
}

json_t *rf_view_sale(const rf_sale *x)
{
	json_t *meta = json_loads(x->metadata ? x->metadata : "{}", 0, NULL);
	json_t *o =
	    json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:s, s:s}", "id", x->id, "object", "sale", "program_id",
		      x->program_id, "customer_id", x->customer_id, "lead_id", x->lead_id, "partner_id",
		      rf_json_nullable(x->partner_id), "agent_id", rf_json_nullable(x->agent_id), "amount",
		      rf_json_money_new(x->amount, x->currency), "external_id", x->external_id, "kind", x->kind);
	json_object_set_new(o, "occurred_at", rf_json_time(x->occurred_at));
	json_object_set_new(o, "refunded", rf_json_money_new(x->refunded, x->currency));
	json_object_set_new(o, "disputed", rf_json_money_new(x->disputed, x->currency));
	json_object_set_new(o, "metadata", meta ? meta : json_object());
	json_object_set_new(o, "source", json_string(x->source));
	json_object_set_new(o, "source_event_id", rf_json_nullable(x->source_event_id));
	json_object_set_new(
	    o, "attribution",
	    json_pack("{s:s, s:o}", "method", x->method ? x->method : "none", "coupon", rf_json_nullable(x->coupon)));
	json_object_set_new(o, "note", rf_json_nullable(x->note));
	json_object_set_new(o, "created_at", rf_json_time(x->created_at));
	return o;
}

json_t *rf_view_refund(const rf_refund *r)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o}", "id", r->id, "object", "refund", "program_id",
			      r->program_id, "sale_id", r->sale_id, "kind", r->kind, "amount",
			      rf_json_money_new(r->amount, r->currency), "external_id",
			      rf_json_nullable(r->external_id), "reason", rf_json_nullable(r->reason));
	json_object_set_new(o, "source", rf_json_nullable(r->source));
	json_object_set_new(o, "source_event_id", rf_json_nullable(r->source_event_id));
	json_object_set_new(o, "occurred_at", rf_json_time(r->occurred_at));
	json_object_set_new(o, "created_at", rf_json_time(r->created_at));
	return o;
}

json_t *rf_view_payout_item(rf_svc *sv, const rf_payout_item *it)
{
	rf_partner p;
	rf_err err = {0};
	bool known = rf_store_partner_get(sv->store, it->partner_id, &p, sv->a, &err) == RF_OK;
	json_t *o = json_pack(
	    "{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:I, s:s, s:o, s:o}", "id", it->id, "object", "payout_item", "run_id",
	    it->run_id, "partner_id", it->partner_id, "name", rf_json_nullable(known ? p.name : NULL), "email",
	    rf_json_nullable(known ? p.email : NULL), "amount", rf_json_money_new(it->amount, it->currency), "entries",
	    (json_int_t)it->entries, "status", it->status, "reference", rf_json_nullable(it->reference),
	    "failure_reason", rf_json_nullable(it->failure_reason));
	json_object_set_new(o, "paid_at", rf_json_time(it->paid_at));
	return o;
}

json_t *rf_view_payout_run(rf_svc *sv, const rf_payout_run *r, rf_err *err)
{
	rf_payout_item *items = NULL;
	size_t n = 0;
	if (rf_store_payout_items(sv->store, r->id, NULL, 0, 0, MAX_ITEMS, &items, &n, sv->a, err) != RF_OK)
		return NULL;
	json_t *arr = json_array();
	/* Totals per currency, of what the run pays (failed items left out). */
	struct {
		char cur[4];
		int64_t sum, count;
	} tot[32];
	size_t nt = 0;
	for (size_t i = 0; i < n; i++) {
		json_array_append_new(arr, rf_view_payout_item(sv, &items[i]));
		if (strcmp(items[i].status, "failed") == 0)
			continue;
		size_t k = 0;
		while (k < nt && strcmp(tot[k].cur, items[i].currency) != 0)
			k++;
		if (k == nt && nt < 32) {
			memcpy(tot[nt].cur, items[i].currency, 4);
			tot[nt].sum = tot[nt].count = 0;
			nt++;
		}
		if (k < nt) {
			tot[k].sum += items[i].amount;
			tot[k].count++;
		}
	}
	json_t *totals = json_array();
	for (size_t k = 0; k < nt; k++)
		json_array_append_new(totals, json_pack("{s:o, s:o, s:I}", "currency", rf_json_code(tot[k].cur),
							"amount", rf_json_money_new(tot[k].sum, tot[k].cur), "items",
							(json_int_t)tot[k].count));
	json_t *left = json_loads(r->left_out ? r->left_out : "[]", 0, NULL);
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o}", "id", r->id, "object", "payout_run",
			      "program_id", r->program_id, "status", r->status, "cutoff", rf_json_time(r->cutoff),
			      "items", arr, "totals", totals, "left_out", left ? left : json_array());
	json_object_set_new(o, "created_by", json_string(r->created_by));
	json_object_set_new(o, "approved_by", rf_json_nullable(r->approved_by));
	json_object_set_new(o, "created_at", rf_json_time(r->created_at));
	json_object_set_new(o, "approved_at", rf_json_time(r->approved_at));
	return o;
}

/* A JSON object stored as text, or an empty one. */
static json_t *object_text(const char *text)
{
	json_t *o = json_loads(text ? text : "{}", 0, NULL);
	if (!json_is_object(o)) {
		json_decref(o);
		o = json_object();
	}
	return o;
}

json_t *rf_view_connection(rf_svc *sv, const rf_connection *c)
{
	json_t *keys = json_loads(c->credential_keys ? c->credential_keys : "[]", 0, NULL);
	if (!json_is_array(keys)) {
		json_decref(keys);
		keys = json_array();
	}
	const rf_integration_system *sys = rf_integration_system_find(c->system);
	const char *base = rf_svc_connection_base_url(sv, c);
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:o, s:o}", "id", c->id, "object", "connection",
			      "program_id", c->program_id, "system", c->system, "kind", sys ? sys->kind : "crm", "name",
			      rf_json_nullable(c->name), "status", c->status, "webhook_url",
			      rf_json_nullable(rf_svc_connection_webhook_url(sv, c)), "credential_keys", keys);
	json_object_set_new(o, "settings", object_text(c->settings));
	json_object_set_new(o, "stage_map", object_text(c->stage_map));
	json_object_set_new(o, "base_url", rf_json_nullable(base));
	json_object_set_new(o, "last_event_at", rf_json_time(c->last_event_at));
	json_object_set_new(o, "created_at", rf_json_time(c->created_at));
	json_object_set_new(o, "updated_at", rf_json_time(c->updated_at));
	return o;
}

json_t *rf_view_inbound_event(const rf_inbound_event *e)
{
	json_t *o =
	    json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:s, s:o, s:o, s:i}", "id", e->id, "object", "inbound_event",
		      "connection_id", e->connection_id, "system", e->system, "event_id", rf_json_nullable(e->event_id),
		      "type", rf_json_nullable(e->type), "outcome", e->outcome, "reason", rf_json_nullable(e->reason),
		      "object_id", rf_json_nullable(e->object_id), "status_code", e->status_code);
	json_object_set_new(o, "occurred_at", rf_json_time(e->occurred_at));
	json_object_set_new(o, "received_at", rf_json_time(e->received_at));
	return o;
}

void rf_view_fx_rate(char *buf, size_t len, int64_t ppb)
{
	char num[40];
	if (rf_money_format(ppb, 9, num, sizeof num) < 0) {
		snprintf(buf, len, "%lld", (long long)ppb);
		return;
	}
	size_t n = strlen(num);
	while (n > 0 && num[n - 1] == '0')
		num[--n] = '\0';
	if (n > 0 && num[n - 1] == '.')
		num[--n] = '\0';
	snprintf(buf, len, "%s", num);
}

json_t *rf_view_commission(const rf_commission *e)
{
	char rate[40] = "";
	if (e->has_fx)
		rf_view_fx_rate(rate, sizeof rate, e->fx_rate_ppb);
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:{s:s, s:s, s:o}}", "id", e->id, "object",
			      "commission", "program_id", e->program_id, "partner_id", e->partner_id, "role", e->role,
			      "level", (json_int_t)e->level, "rule", e->rule, "event", "type", e->event_type, "id",
			      e->event_id, "at", rf_json_time(e->event_at));
	json_object_set_new(o, "lead_id", rf_json_nullable(e->lead_id));
	json_object_set_new(o, "sale_id", rf_json_nullable(e->sale_id));
	json_object_set_new(o, "refund_id", rf_json_nullable(e->refund_id));
	json_object_set_new(o, "reverses_id", rf_json_nullable(e->reverses_id));
	json_object_set_new(o, "plan_id", rf_json_nullable(e->plan_id));
	json_object_set_new(o, "plan_version", e->plan_id ? json_integer(e->plan_version) : json_null());
	json_object_set_new(o, "earned", rf_json_money_new(e->earned, e->earned_currency));
	json_object_set_new(o, "amount", e->has_amount ? rf_json_money_new(e->amount, e->currency) : json_null());
	json_object_set_new(o, "currency", rf_json_code(e->currency));
	json_object_set_new(o, "fx_rate", e->has_fx ? json_string(rate) : json_null());
	json_object_set_new(o, "status", json_string(e->status));
	json_object_set_new(o, "status_reason", rf_json_nullable(e->status_reason));
	json_object_set_new(o, "hold_until", rf_json_time(e->hold_until));
	json_object_set_new(o, "created_at", rf_json_time(e->created_at));
	return o;
}
