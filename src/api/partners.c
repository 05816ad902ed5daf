/* SPDX-License-Identifier: Apache-2.0 */
/* /api/v1/partners: referral sources, their relations (team, recruiter), tax profile, status and search. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/clock.h"
#include "../core/country.h"
#include "../core/search.h"
#include "../core/secret.h"
#include "../core/text.h"
#include "../http/auth.h"
#include "../track/codes.h"
#include "api.h"

static const rf_jfield tax_fields[] = {
    {"legal_name", RF_JT_STRING, true, 200, NULL},
    {"country", RF_JT_STRING, true, 2, NULL},
    {"tax_id", RF_JT_STRING, true, 32, NULL},
    {NULL, 0, false, 0, NULL},
};

static const rf_jfield partner_fields[] = {
    {"program_id", RF_JT_STRING, false, 64, NULL},    {"kind", RF_JT_STRING, false, 16, NULL},
    {"status", RF_JT_STRING, false, 16, NULL},        {"name", RF_JT_STRING, false, 200, NULL},
    {"email", RF_JT_STRING, false, 254, NULL},        {"company", RF_JT_STRING, true, 200, NULL},
    {"currency", RF_JT_STRING, false, 8, NULL},       {"cost_per_lead", RF_JT_MONEY, false, 0, NULL},
    {"team_parent_id", RF_JT_STRING, true, 64, NULL}, {"recruited_by_id", RF_JT_STRING, true, 64, NULL},
    {"plan_id", RF_JT_STRING, true, 64, NULL},        {"tax_profile", RF_JT_FIELDS, true, 0, tax_fields},
    {"metadata", RF_JT_OBJECT, false, 8192, NULL},    {NULL, 0, false, 0, NULL},
};

/* Members a partner or manager user may change on the records they can see. */
static const char *const self_service[] = {"name", "company", "currency", "tax_profile", "metadata", NULL};

/* Checks a relation member: the other partner exists, is in the same program, and no cycle results. */
static rf_status check_relation(rf_ctx *c, rf_partner *p, const char *field, char **slot, json_t *body, rf_err *err)
{
	json_t *v = json_object_get(body, field);
	if (!v)
		return RF_OK;
	if (json_is_null(v)) {
		*slot = NULL;
		return RF_OK;
	}
	return rf_svc_partner_relation(rf_ctx_svc(c), p, field, json_string_value(v), slot, err);
}

static rf_status apply_tax(rf_ctx *c, rf_partner *p, json_t *tax, rf_err *err)
{
	if (json_is_null(tax)) {
		p->tax_legal_name = p->tax_country = p->tax_id_last4 = NULL;
		p->tax_id_sealed = NULL;
		p->tax_id_sealed_len = 0;
		return RF_OK;
	}
	json_t *v;
	if ((v = json_object_get(tax, "legal_name")))
		p->tax_legal_name = json_is_null(v) ? NULL : rf_trim_arena(c->a, json_string_value(v));
	if ((v = json_object_get(tax, "country"))) {
		const char *cc = json_string_value(v);
		char up[3] = {0};
		for (int i = 0; cc && i < 2 && cc[i]; i++)
			up[i] = (char)(cc[i] >= 'a' && cc[i] <= 'z' ? cc[i] - 32 : cc[i]);
		if (cc && !rf_country_valid(up))
			return rf_err_set(err, RF_EINVAL, "tax_profile.country",
					  "tax_profile.country: '%s' is not an ISO 3166-1 alpha-2 code", cc);
		p->tax_country = cc ? rf_arena_strdup(c->a, up) : NULL;
	}
	if ((v = json_object_get(tax, "tax_id"))) {
		if (json_is_null(v)) {
			p->tax_id_sealed = NULL;
			p->tax_id_sealed_len = 0;
			p->tax_id_last4 = NULL;
			return RF_OK;
		}
		const char *tid = json_string_value(v);
		char compact[40];
		size_t n = 0;
		for (const char *s = tid; *s; s++) {
			char ch = *s;
			if (ch == ' ' || ch == '-' || ch == '.' || ch == '/')
				continue;
			if (!((ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z')) ||
			    n + 1 >= sizeof compact)
				return rf_err_set(
				    err, RF_EINVAL, "tax_profile.tax_id",
				    "tax_profile.tax_id may hold letters, digits, spaces, '-', '.' and '/'");
			compact[n++] = ch;
		}
		compact[n] = '\0';
		if (n < 4)
			return rf_err_set(err, RF_EINVAL, "tax_profile.tax_id",
					  "tax_profile.tax_id needs at least 4 letters or digits");
		if (rf_seal(c->app->cfg->secret, compact, c->a, &p->tax_id_sealed, &p->tax_id_sealed_len) != RF_OK)
			return rf_err_set(err, RF_ENOMEM, NULL, "out of memory");
		p->tax_id_last4 = rf_arena_strdup(c->a, compact + n - 4);
	}
	return RF_OK;
}

/* Applies the members present in body to p and checks them. */
static rf_status apply(rf_ctx *c, json_t *body, rf_partner *p, bool creating, rf_err *err)
{
	const char *s;
	if ((s = rf_json_str(body, "kind"))) {
		if (!rf_partner_kind_valid(s))
			return rf_err_set(err, RF_EINVAL, "kind",
					  "kind must be one of partner, agent, affiliate, customer, employee");
		p->kind = rf_arena_strdup(c->a, s);
	}
	if ((s = rf_json_str(body, "status"))) {
		if (!creating)
			return rf_err_set(err, RF_EINVAL, "status",
					  "status changes through /suspend, /ban and /activate, which record a reason");
		if (strcmp(s, "applied") != 0 && strcmp(s, "active") != 0)
			return rf_err_set(err, RF_EINVAL, "status", "a new partner is applied or active");
		p->status = rf_arena_strdup(c->a, s);
	}
	if ((s = rf_trim_arena(c->a, rf_json_str(body, "name")))) {
		if (!*s)
			return rf_err_set(err, RF_EINVAL, "name", "name cannot be blank");
		p->name = (char *)s;
	} else if (creating) {
		return rf_err_set(err, RF_EINVAL, "name", "name is required");
	}
	if ((s = rf_json_str(body, "email"))) {
		char email[RF_EMAIL_MAX + 1];
		if (rf_email_normalize(s, email, sizeof email) != RF_OK)
			return rf_err_set(err, RF_EINVAL, "email", "email: '%.80s' is not an email address", s);
		p->email = rf_arena_strdup(c->a, email);
	} else if (creating) {
		return rf_err_set(err, RF_EINVAL, "email", "email is required");
	}
	json_t *v;
	if ((v = json_object_get(body, "company"))) {
		/* A blank company is no company. */
		char *company = rf_trim_arena(c->a, json_string_value(v));
		p->company = company && *company ? company : NULL;
	}
	if ((s = rf_json_str(body, "currency")) && rf_currency_lookup(s, p->currency) < 0)
		return rf_err_set(err, RF_EINVAL, "currency", "currency: '%.8s' is not an ISO 4217 code", s);
	if (rf_json_has(body, "cost_per_lead")) {
		rf_money m;
		if (rf_json_money(body, "cost_per_lead", 0, RF_MONEY_MAX, &m, err) != RF_OK)
			return err->status;
		p->cost_per_lead = m.amount;
		memcpy(p->cost_per_lead_currency, m.currency, 4);
	} else if (creating) {
		memcpy(p->cost_per_lead_currency, p->currency, 4);
	}
	if ((v = json_object_get(body, "metadata"))) {
		char *txt = json_dumps(v, JSON_COMPACT);
		p->metadata = rf_arena_strdup(c->a, txt ? txt : "{}");
		free(txt);
	}
	if ((v = json_object_get(body, "tax_profile")) && apply_tax(c, p, v, err) != RF_OK)
		return err->status;
	if (check_relation(c, p, "team_parent_id", &p->team_parent_id, body, err) != RF_OK ||
	    check_relation(c, p, "recruited_by_id", &p->recruited_by_id, body, err) != RF_OK)
		return err->status;
	if ((v = json_object_get(body, "plan_id"))) {
		/* The partner's own plan; null returns it to the program's default plan. */
		if (json_is_null(v)) {
			p->plan_id = NULL;
		} else {
			rf_plan plan;
			rf_status rc = rf_store_plan_get(c->app->store, json_string_value(v), &plan, c->a, err);
			if (rc == RF_ENOTFOUND || (rc == RF_OK && strcmp(plan.program_id, p->program_id) != 0))
				return rf_err_set(err, RF_EINVAL, "plan_id",
						  "plan_id: no plan %s in the partner's program", json_string_value(v));
			if (rc != RF_OK)
				return rc;
			p->plan_id = plan.id;
		}
	}
	return RF_OK;
}

/* Writes p (inserting or updating) with its audit entry and events (before is the recruiter the partner had). */
static rf_status save(rf_ctx *c, rf_partner *p, bool creating, const char *before, rf_err *err)
{
	return rf_svc_partner_save(rf_ctx_svc(c), p, creating, before, err);
}

void rf_api_partners_create(rf_ctx *c)
{
	rf_err err = {0};
	json_t *body = rf_api_body(c, partner_fields);
	if (!body)
		return;
	rf_partner p;
	memset(&p, 0, sizeof p);
	rf_program prog;
	const char *program_id = rf_json_str(body, "program_id");
	/* A partner organisation (its partner or manager users) adds its own agents: always an agent of its team,
	 * in its program, active; cost per lead, recruiter and status stay an admin's to set. */
	rf_partner me;
	bool team = c->who.role < RF_ROLE_ADMIN;
	if (team) {
		rf_status mrc =
		    rf_store_partner_get(c->app->store, c->who.partner_id ? c->who.partner_id : "", &me, c->a, &err);
		if (mrc == RF_ENOTFOUND || (mrc == RF_OK && strcmp(me.status, "active") != 0)) {
			rf_err_set(&err, RF_EFORBIDDEN, NULL, "only an active partner can add agents to its team");
			goto fail;
		}
		if (mrc != RF_OK)
			goto fail;
		if (strcmp(me.kind, "agent") == 0) {
			rf_err_set(&err, RF_EFORBIDDEN, NULL, "an agent works in a team and cannot lead one");
			goto fail;
		}
		static const char *const allowed[] = {"program_id", "kind",     "team_parent_id", "name",     "email",
						      "company",    "currency", "tax_profile",    "metadata", NULL};
		const char *key;
		json_t *v;
		json_object_foreach(body, key, v)
		{
			bool ok = false;
			for (const char *const *f = allowed; *f && !ok; f++)
				ok = strcmp(*f, key) == 0;
			if (!ok) {
				rf_err_set(&err, RF_EFORBIDDEN, key, "%s of a new agent is set by an admin", key);
				goto fail;
			}
		}
		const char *kind = rf_json_str(body, "kind");
		const char *parent = rf_json_str(body, "team_parent_id");
		if (kind && strcmp(kind, "agent") != 0) {
			rf_err_set(&err, RF_EFORBIDDEN, "kind", "a partner adds agents (kind agent) to its team");
			goto fail;
		}
		if ((parent && strcmp(parent, me.id) != 0) || json_is_null(json_object_get(body, "team_parent_id"))) {
			rf_err_set(&err, RF_EFORBIDDEN, "team_parent_id", "a partner adds agents to its own team");
			goto fail;
		}
		if (program_id && strcmp(program_id, me.program_id) != 0) {
			rf_err_set(&err, RF_EINVAL, "program_id", "program_id: you are not a partner of program %s",
				   program_id);
			goto fail;
		}
		program_id = me.program_id;
		json_object_set_new(body, "kind", json_string("agent"));
		json_object_set_new(body, "team_parent_id", json_string(me.id));
	}
	if (!program_id) {
		rf_err_set(&err, RF_EINVAL, "program_id", "program_id is required");
		goto fail;
	}
	if (rf_store_program_get(c->app->store, program_id, &prog, c->a, &err) != RF_OK) {
		if (err.status == RF_ENOTFOUND)
			rf_err_set(&err, RF_EINVAL, "program_id", "program_id: no such program %s", program_id);
		goto fail;
	}
	p.id = rf_id_new_arena(c->a, "ptn");
	p.program_id = prog.id;
	p.kind = "partner";
	p.status = "active";
	memcpy(p.currency, prog.currency, 4);
	p.metadata = "{}";
	/* The whole check runs inside the transaction so relations cannot change between check and write. */
	if (apply(c, body, &p, true, &err) != RF_OK || rf_svc_partner_new_code(rf_ctx_svc(c), &p, &err) != RF_OK)
		goto fail;
	p.created_at = rf_clock_now_ms();
	if (save(c, &p, true, NULL, &err) != RF_OK)
		goto fail;
	json_decref(body);
	rf_json_send(c, 201, rf_view_partner(rf_ctx_svc(c), &p));
	return;
fail:
	json_decref(body);
	rf_json_error(c, &err);
}

/* Loads the partner in the path if the caller may see it; otherwise sends 404 (never saying it exists). */
static bool load(rf_ctx *c, rf_partner *p)
{
	rf_err err = {0};
	rf_status rc = rf_store_partner_get(c->app->store, c->params[0], p, c->a, &err);
	if (rc == RF_OK && !rf_auth_can_see_partner(c, p))
		rc = RF_ENOTFOUND;
	return rf_api_found(c, rc, &err, "partner");
}

void rf_api_partners_get(rf_ctx *c)
{
	rf_partner p;
	if (load(c, &p))
		rf_json_send(c, 200, rf_view_partner(rf_ctx_svc(c), &p));
}

void rf_api_partners_update(rf_ctx *c)
{
	rf_err err = {0};
	json_t *body = rf_api_body(c, partner_fields);
	if (!body)
		return;
	rf_partner p;
	/* Read and write in one transaction, so concurrent changes cannot overwrite each other. */
	if (!load(c, &p)) {
		json_decref(body);
		return;
	}
	if (c->who.role < RF_ROLE_ADMIN) {
		/* A manager changes its team's agents, not the organisation's own record. */
		if (c->who.role == RF_ROLE_MANAGER && strcmp(p.id, c->who.partner_id) == 0) {
			rf_err_set(&err, RF_EFORBIDDEN, NULL,
				   "a manager can change its team's agents, not this record");
			goto fail;
		}
		const char *key;
		json_t *v;
		json_object_foreach(body, key, v)
		{
			bool ok = false;
			for (const char *const *f = self_service; *f && !ok; f++)
				ok = strcmp(*f, key) == 0;
			if (!ok) {
				rf_err_set(&err, RF_EFORBIDDEN, key, "%s can only be changed by an admin", key);
				goto fail;
			}
		}
	}
	if (rf_json_has(body, "status")) {
		rf_err_set(&err, RF_EINVAL, "status",
			   "status changes through /suspend, /ban and /activate, which record a reason");
		goto fail;
	}
	if (rf_json_has(body, "program_id") && strcmp(rf_json_str(body, "program_id"), p.program_id) != 0) {
		rf_err_set(&err, RF_EINVAL, "program_id", "a partner cannot move to another program");
		goto fail;
	}
	const char *before = p.recruited_by_id;
	if (apply(c, body, &p, false, &err) != RF_OK)
		goto fail;
	if (save(c, &p, false, before, &err) != RF_OK)
		goto fail;
	json_decref(body);
	rf_json_send(c, 200, rf_view_partner(rf_ctx_svc(c), &p));
	return;
fail:
	json_decref(body);
	rf_json_error(c, &err);
}

static const rf_jfield reason_fields[] = {
    {"reason", RF_JT_STRING, true, 500, NULL},
    {NULL, 0, false, 0, NULL},
};

/* Moves a partner to status with an optional reason; from lists the statuses it may leave. */
static void set_status(rf_ctx *c, const char *status, const char *const *from)
{
	rf_err err = {0};
	json_t *body = NULL;
	size_t blen = 0;
	rf_req_body(c->req, &blen);
	if (blen && rf_json_body(c, reason_fields, &body, &err) != RF_OK) {
		rf_json_error(c, &err);
		return;
	}
	rf_partner p;
	if (!load(c, &p)) {
		json_decref(body);
		return;
	}
	bool allowed = false;
	for (const char *const *f = from; *f && !allowed; f++)
		allowed = strcmp(*f, p.status) == 0;
	if (!allowed) {
		rf_err_set(&err, RF_ECONFLICT, "status", "a partner that is %s cannot become %s", p.status, status);
		json_decref(body);
		rf_json_error(c, &err);
		return;
	}
	const char *reason = body ? rf_json_str(body, "reason") : NULL;
	char *why = reason ? rf_arena_strdup(c->a, reason) : NULL;
	json_decref(body);
	if (rf_svc_partner_set_status(rf_ctx_svc(c), &p, status, why, &err) != RF_OK) {
		rf_json_error(c, &err);
		return;
	}
	rf_codes_changed();
	rf_json_send(c, 200, rf_view_partner(rf_ctx_svc(c), &p));
}

void rf_api_partners_suspend(rf_ctx *c)
{
	static const char *const from[] = {"active", "applied", NULL};
	set_status(c, "suspended", from);
}

void rf_api_partners_ban(rf_ctx *c)
{
	static const char *const from[] = {"active", "applied", "suspended", NULL};
	set_status(c, "banned", from);
}

void rf_api_partners_activate(rf_ctx *c)
{
	static const char *const from[] = {"applied", "suspended", NULL};
	set_status(c, "active", from);
}

void rf_api_partners_list(rf_ctx *c)
{
	rf_err err = {0};
	rf_partner_filter f;
	memset(&f, 0, sizeof f);
	if (rf_json_page(c, &f.page, &err) != RF_OK)
		goto fail;
	f.q = rf_req_query(c->req, "q");
	f.program_id = rf_req_query(c->req, "program_id");
	f.status = rf_req_query(c->req, "status");
	f.kind = rf_req_query(c->req, "kind");
	f.team_parent_id = rf_req_query(c->req, "team_parent_id");
	f.recruited_by_id = rf_req_query(c->req, "recruited_by_id");
	f.plan_id = rf_req_query(c->req, "plan_id");
	if (f.q && !rf_search_text_valid(f.q)) {
		rf_err_set(&err, RF_EINVAL, "q", "q must be UTF-8 text of at most %d bytes without control characters",
			   RF_SEARCH_TEXT_MAX);
		goto fail;
	}
	if (f.q && !*f.q)
		f.q = NULL;
	if (f.status && !rf_partner_status_valid(f.status)) {
		rf_err_set(&err, RF_EINVAL, "status", "status must be applied, active, suspended or banned");
		goto fail;
	}
	if (f.kind && !rf_partner_kind_valid(f.kind)) {
		rf_err_set(&err, RF_EINVAL, "kind", "kind must be partner, agent, affiliate, customer or employee");
		goto fail;
	}
	f.scope_id = rf_auth_scope(c);
	/* A partner sees the partners it recruited, as a short view (who, what kind, which status, since when). */
	bool recruits = f.scope_id && f.recruited_by_id && strcmp(f.recruited_by_id, f.scope_id) == 0;
	if (recruits)
		f.scope_id = NULL;
	rf_partner *items = NULL;
	size_t n = 0;
	bool more = false;
	if (rf_store_partner_list(c->app->store, &f, &items, &n, &more, c->a, &err) != RF_OK)
		goto fail;
	json_t *data = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(data, recruits ? json_pack("{s:s, s:s, s:s, s:s, s:s, s:o}", "id", items[i].id,
								 "object", "recruit", "name", items[i].name, "kind",
								 items[i].kind, "status", items[i].status, "created_at",
								 rf_json_time(items[i].created_at))
						     : rf_view_partner(rf_ctx_svc(c), &items[i]));
	rf_json_send(c, 200, rf_json_list(data, more));
	return;
fail:
	rf_json_error(c, &err);
}
