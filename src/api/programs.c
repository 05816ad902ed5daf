/* SPDX-License-Identifier: Apache-2.0 */
/* /api/v1/programs: referral programmes and their defaults. */
#include <string.h>

#include "../core/clock.h"
#include "../core/secret.h"
#include "../core/text.h"
#include "../core/url.h"
#include "../http/auth.h"
#include "../track/codes.h"
#include "api.h"

static const rf_jfield program_fields[] = {
    {"name", RF_JT_STRING, false, 200, NULL},
    {"currency", RF_JT_STRING, false, 8, NULL},
    {"cookie_window_days", RF_JT_INT, false, 0, NULL},
    {"attribution_model", RF_JT_STRING, false, 20, NULL},
    {"holding_period_days", RF_JT_INT, false, 0, NULL},
    {"payout_threshold", RF_JT_MONEY, false, 0, NULL},
    {"tracking_params", RF_JT_STRINGS, false, RF_MAX_TRACKING_PARAMS, NULL},
    {"allowed_domains", RF_JT_STRINGS, false, RF_MAX_DOMAINS, NULL},
    {"fallback_url", RF_JT_STRING, true, 2048, NULL},
    {"repeat_click_minutes", RF_JT_INT, false, 0, NULL},
    {"protection_days", RF_JT_INT, false, 0, NULL},
    {"conflict_days", RF_JT_INT, false, 0, NULL},
    {"tracking_origins", RF_JT_STRINGS, false, RF_MAX_DOMAINS, NULL},
    {"stripe_webhook_secret", RF_JT_STRING, true, 200, NULL},
    {"payout_day", RF_JT_INT, false, 0, NULL},
    {"payout_terms_days", RF_JT_INT, false, 0, NULL},
    {"partner_signup", RF_JT_STRING, false, 16, NULL},
    {NULL, 0, false, 0, NULL},
};

/* Reads a list of domains (lower-cased, each a host name links may go to: rf_url_check_domain) into p's slots. */
static rf_status apply_domains(json_t *v, char **slots, size_t *n, rf_arena *a, rf_err *err)
{
	*n = 0;
	size_t i;
	json_t *d;
	json_array_foreach(v, i, d)
	{
		const char *given = json_string_value(d);
		rf_err why = {0};
		char *dom = rf_lower_arena(a, given);
		if (!dom)
			return rf_err_set(err, RF_ENOMEM, NULL, "out of memory");
		if (rf_url_check_domain(dom, &why) != RF_OK)
			return rf_err_set(err, RF_EINVAL, "allowed_domains",
					  "allowed_domains[%zu]: '%.100s' is not a domain name: %s", i, given,
					  why.message);
		slots[(*n)++] = dom;
	}
	return RF_OK;
}

/* Reads a list of origins ("https://shop.example.com", with an optional port, no path). */
static rf_status apply_origins(json_t *v, char **slots, size_t *n, rf_arena *a, rf_err *err)
{
	*n = 0;
	size_t i;
	json_t *o;
	json_array_foreach(v, i, o)
	{
		const char *s = json_string_value(o);
		char host[RF_URL_HOST_MAX];
		const char *rest = s ? strstr(s, "://") : NULL;
		if (!s || strchr(s, ',') || rf_url_check(s, host, sizeof host, err) != RF_OK || !rest ||
		    strchr(rest + 3, '/') || strchr(rest + 3, '?') || strchr(rest + 3, '#'))
			return rf_err_set(
			    err, RF_EINVAL, "tracking_origins",
			    "tracking_origins[%zu]: '%s' is not an origin such as https://shop.example.com", i,
			    s ? s : "");
		slots[(*n)++] = rf_lower_arena(a, s);
	}
	return RF_OK;
}

/* Applies the members present in body to p (defaults already in p) and checks the result. */
static rf_status apply(json_t *body, rf_program *p, bool creating, rf_arena *a, rf_err *err)
{
	const char *name = rf_trim_arena(a, rf_json_str(body, "name"));
	if (name) {
		if (!*name)
			return rf_err_set(err, RF_EINVAL, "name", "name cannot be blank");
		p->name = (char *)name;
	} else if (creating) {
		return rf_err_set(err, RF_EINVAL, "name", "name is required");
	}
	const char *cur = rf_json_str(body, "currency");
	char old_currency[4];
	memcpy(old_currency, p->currency, 4);
	if (cur && rf_currency_lookup(cur, p->currency) < 0)
		return rf_err_set(err, RF_EINVAL, "currency", "currency: '%s' is not an ISO 4217 code", cur);
	if (!cur && creating)
		return rf_err_set(err, RF_EINVAL, "currency", "currency is required (an ISO 4217 code such as usd)");
	if (rf_api_int(body, "cookie_window_days", 1, 3650, &p->cookie_window_days, err) != RF_OK ||
	    rf_api_int(body, "holding_period_days", 0, 3650, &p->holding_period_days, err) != RF_OK)
		return err->status;
	const char *signup = rf_json_str(body, "partner_signup");
	if (signup) {
		if (strcmp(signup, "off") != 0 && strcmp(signup, "review") != 0 && strcmp(signup, "open") != 0)
			return rf_err_set(err, RF_EINVAL, "partner_signup",
					  "partner_signup must be off, review or open");
		p->partner_signup = rf_arena_strdup(a, signup);
	}
	const char *model = rf_json_str(body, "attribution_model");
	if (model) {
		if (!rf_attribution_model_valid(model))
			return rf_err_set(err, RF_EINVAL, "attribution_model",
					  "attribution_model must be last_click or first_click");
		p->attribution_model = rf_arena_strdup(a, model);
	}
	if (rf_json_has(body, "payout_threshold")) {
		rf_money m;
		if (rf_json_money(body, "payout_threshold", 0, RF_MONEY_MAX, &m, err) != RF_OK)
			return err->status;
		if (strcmp(m.currency, p->currency) != 0)
			return rf_err_set(err, RF_EINVAL, "payout_threshold",
					  "payout_threshold must be in the program's currency (%s)", p->currency);
		p->payout_threshold = m.amount;
	} else if (!creating && strcmp(old_currency, p->currency) != 0 && p->payout_threshold != 0) {
		return rf_err_set(err, RF_EINVAL, "payout_threshold",
				  "changing the currency needs payout_threshold in the new currency too");
	}
	if (rf_api_int(body, "repeat_click_minutes", 0, 10080, &p->repeat_click_minutes, err) != RF_OK ||
	    rf_api_int(body, "protection_days", 1, 3650, &p->protection_days, err) != RF_OK ||
	    rf_api_int(body, "conflict_days", 0, 3650, &p->conflict_days, err) != RF_OK ||
	    rf_api_int(body, "payout_day", 1, 28, &p->payout_day, err) != RF_OK ||
	    rf_api_int(body, "payout_terms_days", 0, 120, &p->payout_terms_days, err) != RF_OK)
		return err->status;
	json_t *v;
	if ((v = json_object_get(body, "allowed_domains")) &&
	    apply_domains(v, p->allowed_domains, &p->n_allowed_domains, a, err) != RF_OK)
		return err->status;
	if ((v = json_object_get(body, "tracking_origins")) &&
	    apply_origins(v, p->tracking_origins, &p->n_tracking_origins, a, err) != RF_OK)
		return err->status;
	if ((v = json_object_get(body, "fallback_url"))) {
		char host[RF_URL_HOST_MAX];
		if (json_is_null(v)) {
			p->fallback_url = NULL;
		} else if (rf_url_check(json_string_value(v), host, sizeof host, err) != RF_OK) {
			return rf_err_blame(err, "fallback_url");
		} else {
			p->fallback_url = rf_arena_strdup(a, json_string_value(v));
		}
	}
	json_t *params = json_object_get(body, "tracking_params");
	if (params) {
		if (json_array_size(params) == 0)
			return rf_err_set(err, RF_EINVAL, "tracking_params", "tracking_params needs at least one name");
		p->n_tracking_params = 0;
		size_t i;
		json_t *item;
		json_array_foreach(params, i, item)
		{
			const char *s = json_string_value(item);
			if (!rf_param_name_valid(s))
				return rf_err_set(
				    err, RF_EINVAL, "tracking_params",
				    "tracking_params[%zu]: '%s' is not a parameter name (a-z, 0-9, _ and -, "
				    "1 to 32 characters)",
				    i, s);
			for (size_t j = 0; j < p->n_tracking_params; j++)
				if (strcmp(p->tracking_params[j], s) == 0)
					return rf_err_set(err, RF_EINVAL, "tracking_params",
							  "tracking_params: '%s' appears twice", s);
			p->tracking_params[p->n_tracking_params++] = rf_arena_strdup(a, s);
		}
	}
	return RF_OK;
}

/* Seals the program's Stripe signing secret (null removes it); it is never shown again. */
static rf_status apply_secret(rf_ctx *c, json_t *body, rf_program *p, rf_err *err)
{
	json_t *v = json_object_get(body, "stripe_webhook_secret");
	if (!v)
		return RF_OK;
	if (json_is_null(v)) {
		p->stripe_secret_sealed = NULL;
		p->stripe_secret_sealed_len = 0;
		return RF_OK;
	}
	const char *s = json_string_value(v);
	if (strlen(s) < 8 || strchr(s, ' '))
		return rf_err_set(err, RF_EINVAL, "stripe_webhook_secret",
				  "stripe_webhook_secret must be the endpoint's signing secret (whsec_…)");
	return rf_seal(c->app->cfg->secret, s, c->a, &p->stripe_secret_sealed, &p->stripe_secret_sealed_len);
}

/* Partner users see only their own partner's program. */
static const char *visible_program(rf_ctx *c, rf_err *err, rf_status *rc)
{
	*rc = RF_OK;
	const char *scope = rf_auth_scope(c);
	if (!scope)
		return NULL;
	rf_partner p;
	*rc = rf_store_partner_get(c->app->store, scope, &p, c->a, err);
	if (*rc == RF_ENOTFOUND) {
		*rc = RF_OK;
		return "prg_none";
	}
	return *rc == RF_OK ? p.program_id : NULL;
}

void rf_api_programs_list(rf_ctx *c)
{
	rf_err err = {0};
	rf_page page;
	rf_status rc;
	if (rf_json_page(c, &page, &err) != RF_OK) {
		rf_json_error(c, &err);
		return;
	}
	const char *only = visible_program(c, &err, &rc);
	rf_program *items = NULL;
	size_t n = 0;
	bool more = false;
	if (rc != RF_OK || rf_store_program_list(c->app->store, &page, only, &items, &n, &more, c->a, &err) != RF_OK) {
		rf_json_error(c, &err);
		return;
	}
	json_t *data = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(data, rf_view_program(&items[i]));
	rf_json_send(c, 200, rf_json_list(data, more));
}

void rf_api_programs_create(rf_ctx *c)
{
	rf_err err = {0};
	json_t *body = rf_api_body(c, program_fields);
	if (!body)
		return;
	rf_program p;
	memset(&p, 0, sizeof p);
	rf_program_defaults(&p);
	if (apply(body, &p, true, c->a, &err) != RF_OK || apply_secret(c, body, &p, &err) != RF_OK) {
		json_decref(body);
		rf_json_error(c, &err);
		return;
	}
	json_decref(body);
	p.id = rf_id_new_arena(c->a, "prg");
	p.created_at = p.updated_at = rf_clock_now_ms();
	if (rf_store_program_insert(c->app->store, &p, &err) != RF_OK ||
	    rf_api_audit(c, "program.create", p.id, NULL, &err) != RF_OK) {
		rf_json_error(c, &err);
		return;
	}
	rf_json_send(c, 201, rf_view_program(&p));
}

/* Loads the program named in the path, checking the caller may see it; sends the error and returns false. */
static bool load(rf_ctx *c, rf_program *p)
{
	rf_err err = {0};
	rf_status rc;
	const char *only = visible_program(c, &err, &rc);
	if (rc != RF_OK) {
		rf_json_error(c, &err);
		return false;
	}
	rc = only && strcmp(only, c->params[0]) != 0 ? RF_ENOTFOUND
						     : rf_store_program_get(c->app->store, c->params[0], p, c->a, &err);
	return rf_api_found(c, rc, &err, "program");
}

void rf_api_programs_get(rf_ctx *c)
{
	rf_program p;
	if (load(c, &p))
		rf_json_send(c, 200, rf_view_program(&p));
}

void rf_api_programs_update(rf_ctx *c)
{
	rf_err err = {0};
	json_t *body = rf_api_body(c, program_fields);
	if (!body)
		return;
	rf_program p;
	if (!load(c, &p)) {
		json_decref(body);
		return;
	}
	if (apply(body, &p, false, c->a, &err) != RF_OK || apply_secret(c, body, &p, &err) != RF_OK) {
		json_decref(body);
		rf_json_error(c, &err);
		return;
	}
	json_decref(body);
	p.updated_at = rf_clock_now_ms();
	if (rf_store_program_update(c->app->store, &p, &err) != RF_OK ||
	    rf_store_links_version_bump(c->app->store, &err) != RF_OK ||
	    rf_api_audit(c, "program.update", p.id, NULL, &err) != RF_OK) {
		rf_json_error(c, &err);
		return;
	}
	rf_codes_changed();
	rf_json_send(c, 200, rf_view_program(&p));
}
