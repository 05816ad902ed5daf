/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the resource handlers: audit entries, integer members, JSON views and CSV cells. */
#include <stdlib.h>
#include <string.h>

#include "../core/clock.h"
#include "../core/code.h"
#include "../core/money.h"
#include "../core/text.h"
#include "api.h"

rf_status rf_api_audit(rf_ctx *c, const char *action, const char *object_id, const char *detail, rf_err *err)
{
	return rf_svc_audit(rf_ctx_svc(c), action, object_id, detail, err);
}

json_t *rf_api_body(rf_ctx *c, const rf_jfield *fields)
{
	rf_err err = {0};
	json_t *body = NULL;
	if (rf_json_body(c, fields, &body, &err) != RF_OK) {
		rf_json_error(c, &err);
		return NULL;
	}
	return body;
}

bool rf_api_found(rf_ctx *c, rf_status rc, const rf_err *err, const char *what)
{
	if (rc == RF_ENOTFOUND)
		rf_json_fail(c, RF_ENOTFOUND, "id", "no such %s: %s", what, c->params[0]);
	else if (rc != RF_OK)
		rf_json_error(c, err);
	return rc == RF_OK;
}

rf_status rf_api_int(json_t *body, const char *name, int64_t min, int64_t max, int64_t *out, rf_err *err)
{
	json_t *v = json_object_get(body, name);
	if (!v || json_is_null(v))
		return RF_OK;
	json_int_t i = json_integer_value(v);
	if (i < min || i > max)
		return rf_err_set(err, RF_EINVAL, name, "%s must be between %lld and %lld", name, (long long)min,
				  (long long)max);
	*out = i;
	return RF_OK;
}

static json_t *str_list(char *const *items, size_t n)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, json_string(items[i]));
	return arr;
}

json_t *rf_api_program_json(const rf_program *p)
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

json_t *rf_api_partner_json(rf_ctx *c, const rf_partner *p)
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
			? rf_arena_printf(c->a, "%s/portal?recruiter=%s", c->app->cfg->public_url, p->recruitment_code)
			: NULL;
	json_object_set_new(o, "recruitment_url", rf_json_nullable(url));
	return o;
}

rf_status rf_api_partner_new_code(rf_ctx *c, rf_partner *p, rf_err *err)
{
	p->recruitment_code = rf_arena_alloc(c->a, RF_RECRUIT_CODE_LEN + 1);
	if (!p->recruitment_code)
		return rf_err_set(err, RF_ENOMEM, NULL, "out of memory");
	rf_recruit_code_generate(p->recruitment_code, RF_RECRUIT_CODE_LEN + 1);
	return RF_OK;
}

json_t *rf_api_user_json(const rf_user *u)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:o, s:b, s:o, s:o}", "id", u->id, "object", "user", "email", u->email,
			 "role", u->role, "partner_id", rf_json_nullable(u->partner_id), "disabled",
			 u->disabled_at != 0, "created_at", rf_json_time(u->created_at), "disabled_at",
			 rf_json_time(u->disabled_at));
}

json_t *rf_api_apikey_json(const rf_apikey *k)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:b, s:o, s:o, s:o, s:o}", "id", k->id, "object", "api_key",
			 "name", k->name, "role", k->role, "partner_id", rf_json_nullable(k->partner_id), "prefix",
			 k->prefix, "revoked", k->revoked_at != 0, "created_by", rf_json_nullable(k->created_by),
			 "created_at", rf_json_time(k->created_at), "last_used_at", rf_json_time(k->last_used_at),
			 "revoked_at", rf_json_time(k->revoked_at));
}

rf_status rf_api_program_or_only(rf_ctx *c, const char *pid, rf_program *prog, rf_err *err)
{
	return rf_svc_program_or_only(rf_ctx_svc(c), pid, prog, err);
}

size_t rf_api_export_max(const rf_ctx *c)
{
	return c->app && c->app->cfg && c->app->cfg->max_export ? c->app->cfg->max_export : RF_EXPORT_MAX;
}

void rf_api_send_dbuf(rf_ctx *c, const char *content_type, const char *disposition, const char *what, rf_dbuf *b)
{
	char *body = NULL;
	size_t len = 0;
	rf_status st = rf_dbuf_take(b, &body, &len);
	if (st == RF_ETOOBIG) {
		rf_json_fail(c, RF_EINVAL, NULL,
			     "the %s would be larger than %zu bytes (--max-export): ask for less (a shorter period, a "
			     "filter)",
			     what, b->max);
		return;
	}
	if (st != RF_OK) {
		rf_json_fail(c, RF_EUNAVAIL, NULL, "out of memory while building the %s; try again", what);
		return;
	}
	if (disposition)
		rf_resp_header(c->req, "Content-Disposition", disposition);
	rf_resp_header(c->req, "Cache-Control", "no-store");
	rf_resp_send(c->req, 200, content_type, body, len);
	free(body);
}
