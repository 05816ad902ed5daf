/* SPDX-License-Identifier: Apache-2.0 */
/* /api/v1/links: a partner's codes and where they lead, within the program's rules. */
#include <string.h>

#include "../core/clock.h"
#include "../core/code.h"
#include "../core/text.h"
#include "../core/url.h"
#include "../http/auth.h"
#include "../track/codes.h"
#include "api.h"

static const rf_jfield link_fields[] = {
    {"partner_id", RF_JT_STRING, false, 64, NULL},
    {"code", RF_JT_STRING, false, 64, NULL},
    {"destination_url", RF_JT_STRING, false, 2048, NULL},
    {"campaign", RF_JT_STRING, true, 100, NULL},
    {"utm_source", RF_JT_STRING, true, 200, NULL},
    {"utm_medium", RF_JT_STRING, true, 200, NULL},
    {"utm_campaign", RF_JT_STRING, true, 200, NULL},
    {"utm_term", RF_JT_STRING, true, 200, NULL},
    {"utm_content", RF_JT_STRING, true, 200, NULL},
    {"archived", RF_JT_BOOL, false, 0, NULL},
    {"coupon", RF_JT_STRING, true, 64, NULL},
    {NULL, 0, false, 0, NULL},
};

/* Applies a coupon given in the body (null or blank clears it). Only an admin sets one: a coupon is a discount code
 * of the business's billing system, and whoever's link holds it is credited with every sale that uses it. */
static rf_status apply_coupon(rf_ctx *c, json_t *body, rf_link *l, rf_err *err)
{
	if (!rf_json_has(body, "coupon"))
		return RF_OK;
	if (c->who.role < RF_ROLE_ADMIN)
		return rf_err_set(err, RF_EFORBIDDEN, "coupon", "only an admin can give a link a coupon");
	char *t = rf_trim_arena(c->a, rf_json_str(body, "coupon"));
	if (!t || !*t) {
		l->coupon = NULL;
		return RF_OK;
	}
	for (const char *p = t; *p; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
			return rf_err_set(err, RF_EINVAL, "coupon",
					  "coupon: a coupon code is printable ASCII without spaces (as billing systems "
					  "make them)");
	l->coupon = t;
	return RF_OK;
}

/* The answer to a coupon another link of the program holds. */
static rf_status coupon_taken(const rf_link *l, rf_err *err)
{
	return rf_err_set(err, RF_ECONFLICT, "coupon",
			  "the coupon %s is another link's in this program (coupons are unique without regard to case)",
			  l->coupon);
}

/* Checks a destination against URL rules and the program's allowed domains. */
static rf_status check_destination(const rf_program *prog, const char *url, rf_err *err)
{
	char host[256];
	if (rf_url_check(url, host, sizeof host, err) != RF_OK)
		return rf_err_blame(err, "destination_url");
	if (!rf_url_host_allowed(host, (const char *const *)prog->allowed_domains, prog->n_allowed_domains))
		return rf_err_set(err, RF_EINVAL, "destination_url",
				  "destination_url: %s is not among the program's allowed domains", host);
	return RF_OK;
}

/* Applies optional text members (trimmed; blank means none). */
static void apply_text(rf_ctx *c, json_t *body, rf_link *l)
{
	struct {
		const char *name;
		char **slot;
	} f[] = {{"campaign", &l->campaign},         {"utm_source", &l->utm_source}, {"utm_medium", &l->utm_medium},
		 {"utm_campaign", &l->utm_campaign}, {"utm_term", &l->utm_term},     {"utm_content", &l->utm_content}};
	for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
		json_t *v = json_object_get(body, f[i].name);
		if (!v)
			continue;
		char *t = rf_trim_arena(c->a, json_string_value(v));
		*f[i].slot = t && *t ? t : NULL;
	}
}

/* Adds the link's UTM parameters to its destination, keeping what the destination already says. */
static char *with_utm(rf_ctx *c, const rf_link *l)
{
	char *url = l->destination_url;
	struct {
		const char *name, *value;
	} u[] = {{"utm_source", l->utm_source},
		 {"utm_medium", l->utm_medium},
		 {"utm_campaign", l->utm_campaign},
		 {"utm_term", l->utm_term},
		 {"utm_content", l->utm_content}};
	for (size_t i = 0; url && i < sizeof u / sizeof u[0]; i++)
		if (u[i].value && !rf_url_query_get(c->a, url, u[i].name))
			url = rf_url_add_param(c->a, url, u[i].name, u[i].value);
	return url;
}

/* A partner or manager acts on links only while its own partner record is active. */
static rf_status caller_active(rf_ctx *c, rf_err *err)
{
	if (c->who.role >= RF_ROLE_ADMIN)
		return RF_OK;
	rf_partner me;
	rf_status rc = rf_store_partner_get(c->app->store, c->who.partner_id ? c->who.partner_id : "", &me, c->a, err);
	if (rc == RF_ENOTFOUND || (rc == RF_OK && strcmp(me.status, "active") != 0))
		return rf_err_set(err, RF_EFORBIDDEN, "partner_id",
				  "only an active partner can create or change links");
	return rc;
}

static rf_status commit_change(rf_ctx *c, const char *action, const char *id, rf_err *err)
{
	if (rf_store_links_version_bump(c->app->store, err) != RF_OK || rf_api_audit(c, action, id, NULL, err) != RF_OK)
		return err->status;
	rf_codes_changed();
	return RF_OK;
}

void rf_api_links_create(rf_ctx *c)
{
	json_t *body = rf_api_body(c, link_fields);
	if (!body)
		return;
	rf_err err = {0};
	rf_link l;
	memset(&l, 0, sizeof l);
	rf_partner p;
	rf_program prog;
	const char *partner_id = rf_json_str(body, "partner_id");
	if (!partner_id && c->who.role <= RF_ROLE_MANAGER)
		partner_id = c->who.partner_id;
	if (!partner_id) {
		rf_err_set(&err, RF_EINVAL, "partner_id", "partner_id is required");
		goto fail;
	}
	if (rf_json_has(body, "archived")) {
		rf_err_set(&err, RF_EINVAL, "archived", "a new link is live; archive it with PATCH");
		goto fail;
	}
	rf_status rc = rf_store_partner_get(c->app->store, partner_id, &p, c->a, &err);
	if (rc == RF_ENOTFOUND || (rc == RF_OK && !rf_auth_can_see_partner(c, &p))) {
		rf_err_set(&err, RF_EINVAL, "partner_id", "partner_id: no such partner %s", partner_id);
		goto fail;
	}
	if (rc != RF_OK || rf_store_program_get(c->app->store, p.program_id, &prog, c->a, &err) != RF_OK)
		goto fail;
	if (caller_active(c, &err) != RF_OK)
		goto fail;
	if (c->who.role < RF_ROLE_ADMIN && strcmp(p.status, "active") != 0) {
		rf_err_set(&err, RF_EFORBIDDEN, "partner_id", "only an active partner can create links");
		goto fail;
	}
	const char *dest = rf_json_str(body, "destination_url");
	if (!dest) {
		rf_err_set(&err, RF_EINVAL, "destination_url", "destination_url is required");
		goto fail;
	}
	if (check_destination(&prog, dest, &err) != RF_OK)
		goto fail;
	char generated[16], folded[80];
	const char *code = rf_json_str(body, "code");
	if (code && rf_code_check(code, &err) != RF_OK) {
		rf_err_blame(&err, "code");
		goto fail;
	}
	l.id = rf_id_new_arena(c->a, "lnk");
	l.program_id = prog.id;
	l.partner_id = p.id;
	l.destination_url = rf_arena_strdup(c->a, dest);
	apply_text(c, body, &l);
	if (apply_coupon(c, body, &l, &err) != RF_OK)
		goto fail;
	l.target_url = with_utm(c, &l);
	l.created_at = l.updated_at = rf_clock_now_ms();
	/* A generated code is unguessable, so a collision is all but impossible; try a few times anyway. */
	for (int attempt = 0; attempt < 5; attempt++) {
		if (!code)
			rf_code_generate(generated, sizeof generated);
		l.code = rf_arena_strdup(c->a, code ? code : generated);
		rf_code_fold(l.code, folded, sizeof folded);
		rc = rf_store_link_insert(c->app->store, &l, folded, &err);
		if (rc != RF_ECONFLICT || code || strcmp(err.field, "coupon") == 0)
			break;
	}
	if (rc == RF_ECONFLICT && strcmp(err.field, "coupon") == 0) {
		coupon_taken(&l, &err);
		goto fail;
	}
	if (rc == RF_ECONFLICT) {
		rf_err_set(&err, RF_ECONFLICT, "code", "the code %s is taken", l.code);
		goto fail;
	}
	if (rc != RF_OK || commit_change(c, "link.create", l.id, &err) != RF_OK ||
	    rf_svc_event_link(rf_ctx_svc(c), "link.created", &l, &err) != RF_OK)
		goto fail;
	json_decref(body);
	rf_json_send(c, 201, rf_view_link(rf_ctx_svc(c), &l));
	return;
fail:
	json_decref(body);
	rf_json_error(c, &err);
}

/* Loads the link in the path when its partner is visible to the caller; sends 404 otherwise. */
static bool load(rf_ctx *c, rf_link *l)
{
	rf_err err = {0};
	rf_status rc = rf_store_link_get(c->app->store, c->params[0], l, c->a, &err);
	if (rc == RF_OK && rf_auth_scope(c)) {
		rf_partner p;
		rc = rf_store_partner_get(c->app->store, l->partner_id, &p, c->a, &err);
		if (rc == RF_OK && !rf_auth_can_see_partner(c, &p))
			rc = RF_ENOTFOUND;
	}
	return rf_api_found(c, rc, &err, "link");
}

void rf_api_links_get(rf_ctx *c)
{
	rf_link l;
	if (load(c, &l))
		rf_json_send(c, 200, rf_view_link(rf_ctx_svc(c), &l));
}

void rf_api_links_update(rf_ctx *c)
{
	json_t *body = rf_api_body(c, link_fields);
	if (!body)
		return;
	rf_err err = {0};
	rf_link l;
	rf_program prog;
	if (!load(c, &l)) {
		json_decref(body);
		return;
	}
	if (caller_active(c, &err) != RF_OK)
		goto fail;
	if (rf_json_has(body, "code") && strcmp(rf_json_str(body, "code"), l.code) != 0) {
		rf_err_set(&err, RF_EINVAL, "code", "a code cannot change once shared; create a new link");
		goto fail;
	}
	if (rf_json_has(body, "partner_id") && strcmp(rf_json_str(body, "partner_id"), l.partner_id) != 0) {
		rf_err_set(&err, RF_EINVAL, "partner_id", "a link cannot move to another partner");
		goto fail;
	}
	const char *dest = rf_json_str(body, "destination_url");
	if (dest) {
		if (rf_store_program_get(c->app->store, l.program_id, &prog, c->a, &err) != RF_OK ||
		    check_destination(&prog, dest, &err) != RF_OK)
			goto fail;
		l.destination_url = rf_arena_strdup(c->a, dest);
	}
	apply_text(c, body, &l);
	if (apply_coupon(c, body, &l, &err) != RF_OK)
		goto fail;
	l.target_url = with_utm(c, &l);
	json_t *arch = json_object_get(body, "archived");
	bool was_archived = l.archived_at != 0;
	if (arch)
		l.archived_at = json_is_true(arch) ? (l.archived_at ? l.archived_at : rf_clock_now_ms()) : 0;
	l.updated_at = rf_clock_now_ms();
	rf_status rc = rf_store_link_update(c->app->store, &l, &err);
	if (rc == RF_ECONFLICT && strcmp(err.field, "coupon") == 0)
		coupon_taken(&l, &err);
	if (rc != RF_OK || commit_change(c, "link.update", l.id, &err) != RF_OK ||
	    (!was_archived && l.archived_at && rf_svc_event_link(rf_ctx_svc(c), "link.archived", &l, &err) != RF_OK))
		goto fail;
	json_decref(body);
	rf_json_send(c, 200, rf_view_link(rf_ctx_svc(c), &l));
	return;
fail:
	json_decref(body);
	rf_json_error(c, &err);
}

void rf_api_links_list(rf_ctx *c)
{
	rf_err err = {0};
	rf_link_filter f;
	memset(&f, 0, sizeof f);
	if (rf_json_page(c, &f.page, &err) != RF_OK) {
		rf_json_error(c, &err);
		return;
	}
	f.program_id = rf_req_query(c->req, "program_id");
	f.partner_id = rf_req_query(c->req, "partner_id");
	f.campaign = rf_req_query(c->req, "campaign");
	const char *ia = rf_req_query(c->req, "include_archived");
	if (ia && strcmp(ia, "true") != 0 && strcmp(ia, "false") != 0) {
		rf_json_fail(c, RF_EINVAL, "include_archived", "include_archived must be true or false");
		return;
	}
	f.include_archived = ia && strcmp(ia, "true") == 0;
	f.scope_id = rf_auth_scope(c);
	rf_link *items = NULL;
	size_t n = 0;
	bool more = false;
	if (rf_store_link_list(c->app->store, &f, &items, &n, &more, c->a, &err) != RF_OK) {
		rf_json_error(c, &err);
		return;
	}
	json_t *data = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(data, rf_view_link(rf_ctx_svc(c), &items[i]));
	rf_json_send(c, 200, rf_json_list(data, more));
}
