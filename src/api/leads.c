/* SPDX-License-Identifier: Apache-2.0 */
/* /api/v1/leads: prospects, who is credited for them and why, their lifecycle, deal registrations, export. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/attribution.h"
#include "../core/clock.h"
#include "../core/lifecycle.h"
#include "../core/secret.h"
#include "../core/text.h"
#include "../http/auth.h"
#include "../track/codes.h"
#include "../track/track.h"
#include "api.h"

#define CONFLICTS_MAX 20

static const rf_jfield lead_fields[] = {
    {"program_id", RF_JT_STRING, false, 64, NULL},     {"email", RF_JT_STRING, true, 254, NULL},
    {"external_id", RF_JT_STRING, true, 200, NULL},    {"name", RF_JT_STRING, true, 200, NULL},
    {"company", RF_JT_STRING, true, 200, NULL},        {"phone", RF_JT_STRING, true, 40, NULL},
    {"source", RF_JT_STRING, false, 16, NULL},         {"click_id", RF_JT_STRING, true, 64, NULL},
    {"cookie_click_id", RF_JT_STRING, true, 64, NULL}, {"code", RF_JT_STRING, true, 64, NULL},
    {"partner_id", RF_JT_STRING, true, 64, NULL},      {"agent_id", RF_JT_STRING, true, 64, NULL},
    {"metadata", RF_JT_OBJECT, false, 8192, NULL},     {NULL, 0, false, 0, NULL},
};

static const rf_jfield update_fields[] = {
    {"name", RF_JT_STRING, true, 200, NULL},       {"company", RF_JT_STRING, true, 200, NULL},
    {"phone", RF_JT_STRING, true, 40, NULL},       {"source", RF_JT_STRING, false, 16, NULL},
    {"metadata", RF_JT_OBJECT, false, 8192, NULL}, {NULL, 0, false, 0, NULL},
};

static const rf_jfield status_fields[] = {
    {"status", RF_JT_STRING, false, 20, NULL},
    {"reason", RF_JT_STRING, true, 500, NULL},
    {NULL, 0, false, 0, NULL},
};

/* Picks the program: given, or from the partner, agent, code or click that came with the lead, or the only one. */
static rf_status resolve_program(rf_ctx *c, json_t *body, rf_program *prog, rf_err *err)
{
	const char *pid = rf_json_str(body, "program_id");
	const char *partner =
	    rf_json_str(body, "partner_id") ? rf_json_str(body, "partner_id") : rf_json_str(body, "agent_id");
	if (!partner && c->who.role <= RF_ROLE_MANAGER)
		partner = c->who.partner_id;
	rf_partner p;
	if (!pid && partner && rf_store_partner_get(c->app->store, partner, &p, c->a, err) == RF_OK)
		pid = p.program_id;
	if (!pid && rf_json_str(body, "code")) {
		rf_code_entry e;
		bool found = false;
		char *fb = NULL;
		if (rf_codes_lookup(c->app->store, rf_json_str(body, "code"), c->a, &e, &found, &fb, err) != RF_OK)
			return err->status;
		if (found)
			pid = e.program_id;
	}
	const char *click = rf_json_str(body, "click_id");
	rf_click k;
	if (!pid && click && rf_store_click_get(c->app->store, click, &k, c->a, err) == RF_OK)
		pid = k.program_id;
	if (!pid) {
		rf_program *items = NULL;
		size_t n = 0;
		bool more = false;
		rf_page page = {.limit = 1};
		if (rf_store_program_list(c->app->store, &page, NULL, &items, &n, &more, c->a, err) != RF_OK)
			return err->status;
		if (n == 1 && !more)
			pid = items[0].id;
	}
	if (!pid)
		return rf_err_set(err, RF_EINVAL, "program_id", "program_id is required (there are several programs)");
	if (c->who.role <= RF_ROLE_MANAGER && c->who.partner_id) {
		rf_partner me;
		if (rf_store_partner_get(c->app->store, c->who.partner_id, &me, c->a, err) != RF_OK)
			return err->status == RF_ENOTFOUND ? rf_err_set(err, RF_EFORBIDDEN, NULL, "no partner record")
							   : err->status;
		if (strcmp(me.program_id, pid) != 0)
			return rf_err_set(err, RF_EINVAL, "program_id",
					  "program_id: you are not a partner of program %s", pid);
		/* 8: only an active partner registers deals. */
		if (strcmp(me.status, "active") != 0)
			return rf_err_set(err, RF_EFORBIDDEN, NULL, "a %s partner cannot register deals", me.status);
	}
	rf_status rc = rf_store_program_get(c->app->store, pid, prog, c->a, err);
	if (rc == RF_ENOTFOUND)
		return rf_err_set(err, RF_EINVAL, "program_id", "program_id: no such program %s", pid);
	return rc;
}

static bool phone_ok(const char *s)
{
	int digits = 0;
	for (; *s; s++) {
		if (*s >= '0' && *s <= '9')
			digits++;
		else if (!strchr(" +-().", *s))
			return false;
	}
	return digits >= 3;
}

/* Applies name, company, phone, source and metadata members. */
static rf_status apply_details(rf_ctx *c, json_t *body, rf_lead *l, rf_err *err)
{
	struct {
		const char *name;
		char **slot;
	} f[] = {{"name", &l->name}, {"company", &l->company}, {"phone", &l->phone}};
	for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
		json_t *v = json_object_get(body, f[i].name);
		if (!v)
			continue;
		char *t = rf_trim_arena(c->a, json_string_value(v));
		*f[i].slot = t && *t ? t : NULL;
	}
	if (l->phone && !phone_ok(l->phone))
		return rf_err_set(err, RF_EINVAL, "phone", "phone may hold digits, spaces and + - ( ) . only");
	const char *src = rf_json_str(body, "source");
	if (src) {
		if (!rf_lead_source_valid(src))
			return rf_err_set(err, RF_EINVAL, "source",
					  "source must be partner, referral, direct, organic, paid, campaign or other");
		l->source = rf_arena_strdup(c->a, src);
	}
	json_t *meta = json_object_get(body, "metadata");
	if (meta) {
		char *txt = json_dumps(meta, JSON_COMPACT);
		l->metadata = rf_arena_strdup(c->a, txt ? txt : "{}");
		free(txt);
	}
	return RF_OK;
}

/* Conflicts of a registration: open leads or customers with the same email, or the same company domain. */
static rf_status conflicts(rf_ctx *c, const rf_lead *l, const rf_program *prog, json_t **out, rf_err *err)
{
	*out = json_array();
	if (!l->email)
		return RF_OK;
	const char *domain = rf_email_domain(l->email);
	if (domain && rf_email_domain_is_free(domain))
		domain = NULL;
	rf_lead *items = NULL;
	size_t n = 0;
	int64_t since = l->created_at - prog->conflict_days * 86400000LL;
	if (rf_store_lead_conflicts(c->app->store, l->program_id, l->email, domain, since, l->id, CONFLICTS_MAX, &items,
				    &n, c->a, err) != RF_OK)
		return err->status;
	bool admin = c->who.role >= RF_ROLE_ADMIN;
	for (size_t i = 0; i < n; i++) {
		if (!rf_lead_blocks_registration(items[i].status))
			continue;
		bool same_email = strcmp(items[i].email ? items[i].email : "", l->email) == 0;
		json_t *cf = json_pack("{s:s, s:s}", "reason", same_email ? "email" : "domain", "status",
				       strcmp(items[i].status, "converted") == 0 ? "customer" : "open_lead");
		/* A partner learns that a conflict exists, not whose lead it is. */
		if (admin) {
			json_object_set_new(cf, "lead_id", json_string(items[i].id));
			json_object_set_new(cf, "partner_id", rf_json_nullable(items[i].partner_id));
		}
		json_array_append_new(*out, cf);
	}
	return RF_OK;
}

/* True for a lead another partner may register again: lost, rejected, or an approved registration whose
 * protection ended before it converted. */
static bool reclaimable(const rf_lead *l)
{
	if (strcmp(l->status, "lost") == 0 || strcmp(l->status, "rejected") == 0)
		return true;
	return l->registration && l->protected_until && l->protected_until <= rf_clock_now_ms() &&
	       strcmp(l->status, "converted") != 0 && strcmp(l->status, "pending_review") != 0;
}

/* Looks up an Idempotency-Key: replays the stored answer (returns true) or leaves *hash for storing. */
static bool idem_replay(rf_ctx *c, const char *key, char *hash, rf_err *err, bool *failed)
{
	*failed = false;
	size_t len = 0;
	const char *body = rf_req_body(c->req, &len);
	/* The key answers for one request: its route and its exact body. */
	char *input = rf_arena_printf(c->a, "%s %s\n%.*s", rf_req_method(c->req), rf_req_path(c->req), (int)len, body);
	if (!input) {
		rf_err_set(err, RF_ENOMEM, NULL, "out of memory");
		*failed = true;
		return false;
	}
	rf_sha256_hex(input, strlen(input), hash);
	char *route = NULL, *stored_hash = NULL, *stored = NULL;
	int status = 0;
	rf_status rc =
	    rf_store_idem_get(c->app->store, c->who.actor, key, &route, &stored_hash, &status, &stored, c->a, err);
	if (rc == RF_ENOTFOUND)
		return false;
	if (rc != RF_OK) {
		*failed = true;
		return false;
	}
	if (strcmp(stored_hash, hash) != 0) {
		rf_err_set(err, RF_ECONFLICT, "Idempotency-Key",
			   "this Idempotency-Key was used for a different request; use a new key");
		*failed = true;
		return false;
	}
	rf_resp_header(c->req, "Idempotent-Replayed", "true");
	rf_resp_header(c->req, "Cache-Control", "no-store");
	rf_resp_send(c->req, status, "application/json", stored, strlen(stored));
	return true;
}

/* Sends obj, after storing it under the Idempotency-Key inside the open transaction, then commits. */
static void reply_committed(rf_ctx *c, int status, json_t *obj, const char *key, const char *hash)
{
	rf_err err = {0};
	char *txt = json_dumps(obj, JSON_COMPACT | JSON_ENSURE_ASCII);
	if (!txt || (key && rf_store_idem_put(c->app->store, c->who.actor, key, "POST /api/v1/leads", hash, status, txt,
					      rf_clock_now_ms(), &err) != RF_OK)) {
		free(txt);
		json_decref(obj);
		if (!err.status)
			rf_err_set(&err, RF_ENOMEM, NULL, "out of memory");
		rf_json_error(c, &err);
		return;
	}
	free(txt);
	rf_json_send(c, status, obj);
}

void rf_api_leads_create(rf_ctx *c)
{
	json_t *body = rf_api_body(c, lead_fields);
	if (!body)
		return;
	rf_err err = {0};
	const char *key = rf_req_header(c->req, "Idempotency-Key");
	char hash[RF_HEX256_LEN] = "";
	if (key && (strlen(key) < 1 || strlen(key) > 200 || !rf_text_clean(key))) {
		rf_err_set(&err, RF_EINVAL, "Idempotency-Key", "Idempotency-Key must be 1 to 200 characters of text");
		goto fail;
	}
	if (key) {
		bool failed = false;
		if (idem_replay(c, key, hash, &err, &failed)) {
			json_decref(body);
			return;
		}
		if (failed)
			goto fail;
	}
	rf_program prog;
	if (resolve_program(c, body, &prog, &err) != RF_OK)
		goto fail;
	rf_lead l;
	memset(&l, 0, sizeof l);
	l.program_id = prog.id;
	char email[RF_EMAIL_MAX + 1];
	const char *e = rf_json_str(body, "email");
	if (e) {
		if (rf_email_normalize(e, email, sizeof email) != RF_OK) {
			rf_err_set(&err, RF_EINVAL, "email", "email: '%.80s' is not an email address", e);
			goto fail;
		}
		l.email = rf_arena_strdup(c->a, email);
	}
	l.external_id = rf_trim_arena(c->a, rf_json_str(body, "external_id"));
	if (l.external_id && !*l.external_id)
		l.external_id = NULL;
	if (!l.email && !l.external_id) {
		rf_err_set(&err, RF_EINVAL, "email", "a lead needs an email or an external_id");
		goto fail;
	}
	if (apply_details(c, body, &l, &err) != RF_OK)
		goto fail;

	bool by_partner = c->who.role <= RF_ROLE_MANAGER;
	rf_lead existing;
	rf_status rc = rf_store_lead_find(c->app->store, prog.id, l.email, l.external_id, &existing, c->a, &err);
	if (rc == RF_ENOTFOUND && l.email && l.external_id)
		rc = rf_store_lead_find(c->app->store, prog.id, NULL, l.external_id, &existing, c->a, &err);
	if (rc == RF_OK && by_partner && reclaimable(&existing)) {
		/* A lost or rejected lead, or a registration whose protection ran out, is open to a new claim. */
		rf_lead_event ev = {existing.status, "pending_review", c->who.actor, "registered again",
				    rf_clock_now_ms()};
		existing.partner_id = existing.agent_id = NULL;
		if (rf_svc_lead_credit(rf_ctx_svc(c), &existing, c->who.partner_id, "partner_id", &err) != RF_OK)
			goto fail;
		existing.method = "explicit";
		existing.click_id = NULL;
		existing.registration = true;
		existing.review_reason = NULL;
		existing.protected_until = 0;
		existing.status = "pending_review";
		existing.status_at = existing.updated_at = ev.at;
		json_t *rcf = NULL;
		if (conflicts(c, &existing, &prog, &rcf, &err) != RF_OK ||
		    rf_store_lead_update(c->app->store, &existing, &err) != RF_OK ||
		    rf_store_lead_event_add(c->app->store, existing.id, &ev, &err) != RF_OK ||
		    rf_api_audit(c, "lead.register", existing.id, NULL, &err) != RF_OK ||
		    rf_svc_event_lead(rf_ctx_svc(c), "deal.registered", &existing, &err) != RF_OK) {
			json_decref(rcf);
			goto fail;
		}
		json_t *out = rf_view_lead(&existing);
		json_object_set_new(out, "conflicts", rcf);
		json_decref(body);
		reply_committed(c, 200, out, key, hash);
		return;
	}
	if (rc == RF_OK) {
		/* The same person is the same lead: answer with it, unless another partner tries to claim it. */
		bool mine = existing.partner_id && c->who.partner_id &&
			    (strcmp(existing.partner_id, c->who.partner_id) == 0 ||
			     (existing.agent_id && strcmp(existing.agent_id, c->who.partner_id) == 0));
		if (by_partner && !mine) {
			rf_err_set(&err, RF_ECONFLICT, l.email ? "email" : "external_id",
				   "this prospect is already a lead in the program");
			goto fail;
		}
		json_t *out = rf_view_lead(&existing);
		json_object_set_new(out, "duplicate", json_true());
		json_decref(body);
		reply_committed(c, 200, out, key, hash);
		return;
	}
	if (rc != RF_ENOTFOUND)
		goto fail;

	/* Attribution: explicit > code > click id > cookie. */
	struct {
		const char *explicit_partner_id;
		int64_t now;
	} in = {NULL, rf_clock_now_ms()};
	const char *explicit_partner = rf_json_str(body, "partner_id");
	const char *explicit_agent = rf_json_str(body, "agent_id");
	if (by_partner) {
		/* A partner registers deals for itself or one of its team's agents. */
		const char *who = explicit_agent ? explicit_agent : explicit_partner;
		if (who) {
			rf_partner p;
			rc = rf_store_partner_get(c->app->store, who, &p, c->a, &err);
			if (rc == RF_ENOTFOUND || (rc == RF_OK && !rf_auth_can_see_partner(c, &p))) {
				rf_err_set(&err, explicit_agent ? RF_EINVAL : RF_EINVAL,
					   explicit_agent ? "agent_id" : "partner_id",
					   "no such partner in your team: %s", who);
				goto fail;
			}
			if (rc != RF_OK)
				goto fail;
		}
		in.explicit_partner_id = who ? who : c->who.partner_id;
	} else {
		in.explicit_partner_id = explicit_agent ? explicit_agent : explicit_partner;
	}
	const char *cookie = rf_json_str(body, "cookie_click_id");
	if (!cookie)
		cookie = rf_req_cookie(c->req, RF_CLICK_COOKIE);
	if (rf_svc_lead_attribute(rf_ctx_svc(c), &prog, in.explicit_partner_id,
				  explicit_agent ? "agent_id" : "partner_id", rf_json_str(body, "code"),
				  rf_json_str(body, "click_id"), cookie, &l, &err) != RF_OK)
		goto fail;
	if (strcmp(l.method, "explicit") == 0 && explicit_agent && explicit_partner &&
	    strcmp(l.partner_id, explicit_partner) != 0) {
		rf_err_set(&err, RF_EINVAL, "agent_id", "agent_id is not an agent of partner_id's team");
		goto fail;
	}
	if (!l.source)
		l.source = l.partner_id ? "partner" : "direct";

	int64_t now = in.now;
	l.id = rf_id_new_arena(c->a, "lead");
	l.registration = by_partner;
	l.status = by_partner ? "pending_review" : "new";
	l.created_by = c->who.actor;
	l.created_at = l.updated_at = l.status_at = now;
	if (!l.metadata)
		l.metadata = "{}";
	json_t *cf = NULL;
	if (l.registration && conflicts(c, &l, &prog, &cf, &err) != RF_OK)
		goto fail;
	if (rf_svc_lead_insert(rf_ctx_svc(c), &l, &err) != RF_OK) {
		json_decref(cf);
		goto fail;
	}
	json_t *out = rf_view_lead(&l);
	if (cf)
		json_object_set_new(out, "conflicts", cf);
	json_decref(body);
	reply_committed(c, 201, out, key, hash);
	return;
fail:
	json_decref(body);
	rf_json_error(c, &err);
}

/* True when the caller may see the lead: admins always; others when the lead's partner or agent is their
 * partner or one of its team (the same rule as the list's). */
static bool visible(rf_ctx *c, const rf_lead *l)
{
	const char *scope = rf_auth_scope(c);
	if (!scope)
		return true;
	const char *ids[2] = {l->partner_id, l->agent_id};
	for (int i = 0; i < 2; i++) {
		if (!ids[i])
			continue;
		if (strcmp(ids[i], scope) == 0)
			return true;
		rf_partner p;
		rf_err err = {0};
		if (rf_store_partner_get(c->app->store, ids[i], &p, c->a, &err) == RF_OK && p.team_parent_id &&
		    strcmp(p.team_parent_id, scope) == 0)
			return true;
	}
	return false;
}

static bool load(rf_ctx *c, rf_lead *l)
{
	rf_err err = {0};
	rf_status rc = rf_store_lead_get(c->app->store, c->params[0], l, c->a, &err);
	if (rc == RF_OK && !visible(c, l))
		rc = RF_ENOTFOUND;
	return rf_api_found(c, rc, &err, "lead");
}

void rf_api_leads_get(rf_ctx *c)
{
	rf_lead l;
	if (!load(c, &l))
		return;
	json_t *out = rf_view_lead(&l);
	if (l.registration && strcmp(l.status, "pending_review") == 0) {
		/* Whoever reviews a registration needs its conflicts as they stand now. */
		rf_err err = {0};
		rf_program prog;
		json_t *cf = NULL;
		if (rf_store_program_get(c->app->store, l.program_id, &prog, c->a, &err) != RF_OK ||
		    conflicts(c, &l, &prog, &cf, &err) != RF_OK) {
			json_decref(out);
			json_decref(cf);
			rf_json_error(c, &err);
			return;
		}
		json_object_set_new(out, "conflicts", cf);
	}
	rf_json_send(c, 200, out);
}

/* Moves l to status inside the open transaction, with its history entry (see rf_svc_lead_move). */
static rf_status move(rf_ctx *c, rf_lead *l, const char *status, const char *reason, rf_err *err)
{
	return rf_svc_lead_move(rf_ctx_svc(c), l, status, reason, err);
}

void rf_api_leads_update(rf_ctx *c)
{
	json_t *body = rf_api_body(c, update_fields);
	if (!body)
		return;
	rf_err err = {0};
	rf_lead l;
	if (!load(c, &l)) {
		json_decref(body);
		return;
	}
	if (c->who.role < RF_ROLE_ADMIN && !l.registration) {
		rf_err_set(&err, RF_EFORBIDDEN, NULL, "only admins change leads that partners did not register");
		goto fail;
	}
	rf_lead before = l;
	if (apply_details(c, body, &l, &err) != RF_OK || rf_svc_lead_rekey(rf_ctx_svc(c), &before, &l, &err) != RF_OK)
		goto fail;
	l.updated_at = rf_clock_now_ms();
	if (rf_store_lead_update(c->app->store, &l, &err) != RF_OK ||
	    rf_api_audit(c, "lead.update", l.id, NULL, &err) != RF_OK)
		goto fail;
	json_decref(body);
	rf_json_send(c, 200, rf_view_lead(&l));
	return;
fail:
	json_decref(body);
	rf_json_error(c, &err);
}

void rf_api_leads_status(rf_ctx *c)
{
	json_t *body = rf_api_body(c, status_fields);
	if (!body)
		return;
	rf_err err = {0};
	rf_lead l;
	const char *to = rf_json_str(body, "status");
	const char *reason = rf_trim_arena(c->a, rf_json_str(body, "reason"));
	if (c->who.role < RF_ROLE_MANAGER) {
		rf_err_set(&err, RF_EFORBIDDEN, NULL, "a partner cannot move leads; its manager or an admin can");
		goto fail;
	}
	static const char *const movable[] = {"new", "contacted", "qualified", "converted", "lost", NULL};
	bool known = false;
	for (const char *const *m = movable; to && *m && !known; m++)
		known = strcmp(*m, to) == 0;
	if (!known) {
		rf_err_set(&err, RF_EINVAL, "status",
			   "status must be new, contacted, qualified, converted or lost (registrations move through "
			   "approve and reject)");
		goto fail;
	}
	if (!load(c, &l)) {
		json_decref(body);
		return;
	}
	if (!rf_lead_transition_ok(l.status, to)) {
		rf_err_set(&err, RF_ECONFLICT, "status", "a lead that is %s cannot become %s%s", l.status, to,
			   strcmp(l.status, "pending_review") == 0 ? " (approve or reject the registration first)"
								   : "");
		goto fail;
	}
	if (move(c, &l, rf_arena_strdup(c->a, to), reason && *reason ? reason : NULL, &err) != RF_OK)
		goto fail;
	json_decref(body);
	rf_json_send(c, 200, rf_view_lead(&l));
	return;
fail:
	json_decref(body);
	rf_json_error(c, &err);
}

static const rf_jfield review_fields[] = {
    {"reason", RF_JT_STRING, true, 500, NULL},
    {NULL, 0, false, 0, NULL},
};

/* Approves or rejects a registration (admins). */
static void review(rf_ctx *c, bool approve)
{
	json_t *body = NULL;
	size_t blen = 0;
	rf_req_body(c->req, &blen);
	if (blen && !(body = rf_api_body(c, review_fields)))
		return;
	rf_err err = {0};
	rf_lead l;
	rf_program prog;
	const char *reason = body ? rf_trim_arena(c->a, rf_json_str(body, "reason")) : NULL;
	if (reason && !*reason)
		reason = NULL;
	if (!approve && !reason) {
		rf_err_set(&err, RF_EINVAL, "reason", "a rejection needs a reason the partner can read");
		goto fail;
	}
	if (!load(c, &l)) {
		json_decref(body);
		return;
	}
	if (!l.registration || strcmp(l.status, "pending_review") != 0) {
		rf_err_set(&err, RF_ECONFLICT, "status", "only a registration waiting for review can be %s",
			   approve ? "approved" : "rejected");
		goto fail;
	}
	if (rf_store_program_get(c->app->store, l.program_id, &prog, c->a, &err) != RF_OK)
		goto fail;
	l.review_reason = reason ? (char *)reason : NULL;
	if (approve)
		l.protected_until = rf_clock_now_ms() + prog.protection_days * 86400000LL;
	if (move(c, &l, approve ? "new" : "rejected", reason, &err) != RF_OK ||
	    rf_svc_event_lead(rf_ctx_svc(c), approve ? "deal.approved" : "deal.rejected", &l, &err) != RF_OK)
		goto fail;
	json_decref(body);
	rf_json_send(c, 200, rf_view_lead(&l));
	return;
fail:
	json_decref(body);
	rf_json_error(c, &err);
}

void rf_api_leads_approve(rf_ctx *c)
{
	review(c, true);
}

void rf_api_leads_reject(rf_ctx *c)
{
	review(c, false);
}

void rf_api_leads_history(rf_ctx *c)
{
	rf_lead l;
	if (!load(c, &l))
		return;
	rf_err err = {0};
	rf_lead_event *items = NULL;
	size_t n = 0;
	if (rf_store_lead_events(c->app->store, l.id, &items, &n, c->a, &err) != RF_OK) {
		rf_json_error(c, &err);
		return;
	}
	json_t *data = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(
		    data, json_pack("{s:o, s:s, s:s, s:o, s:o}", "from", rf_json_nullable(items[i].from_status), "to",
				    items[i].to_status, "actor", items[i].actor, "reason",
				    rf_json_nullable(items[i].reason), "at", rf_json_time(items[i].at)));
	json_t *o = rf_json_list(data, false);
	json_object_set_new(o, "lead_id", json_string(l.id));
	json_object_set_new(o, "time_to_conversion_seconds",
			    l.converted_at ? json_integer((l.converted_at - l.created_at) / 1000) : json_null());
	rf_json_send(c, 200, o);
}

/* Reads the list filters shared by the list, the export and the counts (the route table says which of them each
 * takes: the export and the counts have no pages, the counts no status). */
static rf_status read_filter(rf_ctx *c, rf_lead_filter *f, bool paged, rf_err *err)
{
	memset(f, 0, sizeof *f);
	f->registration = -1;
	if (paged && rf_json_page(c, &f->page, err) != RF_OK)
		return err->status;
	f->program_id = rf_req_query(c->req, "program_id");
	f->partner_id = rf_req_query(c->req, "partner_id");
	f->agent_id = rf_req_query(c->req, "agent_id");
	f->status = rf_req_query(c->req, "status");
	f->source = rf_req_query(c->req, "source");
	if (f->status && !rf_lead_status_valid(f->status))
		return rf_err_set(err, RF_EINVAL, "status", "status: unknown lead status '%s'", f->status);
	if (f->source && !rf_lead_source_valid(f->source))
		return rf_err_set(err, RF_EINVAL, "source", "source: unknown lead source '%s'", f->source);
	const char *from = rf_req_query(c->req, "created_from"), *to = rf_req_query(c->req, "created_to");
	if (from && rf_clock_parse(from, &f->created_from) != 0)
		return rf_err_set(err, RF_EINVAL, "created_from", "created_from must be an RFC 3339 time");
	if (to && rf_clock_parse(to, &f->created_to) != 0)
		return rf_err_set(err, RF_EINVAL, "created_to", "created_to must be an RFC 3339 time");
	const char *reg = rf_req_query(c->req, "registration");
	if (reg) {
		if (strcmp(reg, "true") != 0 && strcmp(reg, "false") != 0)
			return rf_err_set(err, RF_EINVAL, "registration", "registration must be true or false");
		f->registration = strcmp(reg, "true") == 0;
	}
	f->scope_id = rf_auth_scope(c);
	return RF_OK;
}

void rf_api_leads_list(rf_ctx *c)
{
	rf_err err = {0};
	rf_lead_filter f;
	rf_lead *items = NULL;
	size_t n = 0;
	bool more = false;
	if (read_filter(c, &f, true, &err) != RF_OK ||
	    rf_store_lead_list(c->app->store, &f, &items, &n, &more, c->a, &err) != RF_OK) {
		rf_json_error(c, &err);
		return;
	}
	json_t *data = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(data, rf_view_lead(&items[i]));
	rf_json_send(c, 200, rf_json_list(data, more));
}

void rf_api_leads_counts(rf_ctx *c)
{
	static const char *const statuses[] = {"pending_review", "rejected",  "new", "contacted",
					       "qualified",      "converted", "lost"};
	enum { NSTATUS = sizeof statuses / sizeof statuses[0] };
	rf_err err = {0};
	rf_lead_filter f;
	int64_t counts[NSTATUS];
	if (read_filter(c, &f, false, &err) != RF_OK) {
		rf_json_error(c, &err);
		return;
	}
	if (rf_store_lead_counts(c->app->store, &f, statuses, NSTATUS, counts, &err) != RF_OK) {
		rf_json_error(c, &err);
		return;
	}
	json_t *o = json_object();
	int64_t total = 0;
	for (size_t i = 0; i < NSTATUS; i++) {
		json_object_set_new(o, statuses[i], json_integer(counts[i]));
		total += counts[i];
	}
	rf_json_send(c, 200,
		     json_pack("{s:s, s:o, s:I}", "object", "lead_counts", "counts", o, "total", (json_int_t)total));
}

/* The most rows one lead export holds. */
#define EXPORT_ROWS 100000

void rf_api_leads_export(rf_ctx *c)
{
	rf_err err = {0};
	rf_lead_filter f;
	if (read_filter(c, &f, false, &err) != RF_OK) {
		rf_json_error(c, &err);
		return;
	}
	rf_dbuf out = RF_DBUF_INIT(rf_api_export_max(c));
	static const char *const head[] = {"id",       "created_at", "email",    "external_id",  "name",
					   "company",  "phone",      "source",   "status",       "partner_id",
					   "agent_id", "method",     "click_id", "registration", "converted_at"};
	const size_t ncol = sizeof head / sizeof head[0];
	for (size_t i = 0; i < ncol; i++)
		rf_csv_cell(&out, head[i], i == ncol - 1);
	/* Pages through the whole selection, bounded so one export cannot exhaust memory: past the bound it is
	 * refused, never cut short. */
	f.page.limit = 100;
	size_t rows = 0;
	bool more = true;
	while (more) {
		if (rows >= EXPORT_ROWS) {
			rf_dbuf_free(&out);
			rf_json_fail(
			    c, RF_EINVAL, NULL,
			    "more than %d leads match: narrow the export with filters (program_id, partner_id, "
			    "status, created_from, created_to, ...)",
			    EXPORT_ROWS);
			return;
		}
		rf_lead *items = NULL;
		size_t n = 0;
		rf_arena page_arena;
		rf_arena_init(&page_arena, 0);
		if (rf_store_lead_list(c->app->store, &f, &items, &n, &more, &page_arena, &err) != RF_OK) {
			rf_arena_reset(&page_arena);
			rf_dbuf_free(&out);
			rf_json_error(c, &err);
			return;
		}
		for (size_t i = 0; i < n; i++) {
			const rf_lead *l = &items[i];
			char created[40], converted[40] = "";
			rf_clock_format(l->created_at, created, sizeof created);
			if (l->converted_at)
				rf_clock_format(l->converted_at, converted, sizeof converted);
			const char *cells[] = {l->id,       created,
					       l->email,    l->external_id,
					       l->name,     l->company,
					       l->phone,    l->source,
					       l->status,   l->partner_id,
					       l->agent_id, l->method,
					       l->click_id, l->registration ? "true" : "false",
					       converted};
			for (size_t k = 0; k < ncol; k++)
				rf_csv_cell(&out, cells[k], k == ncol - 1);
		}
		rows += n;
		f.page.starting_after = n ? rf_arena_strdup(c->a, items[n - 1].id) : NULL;
		rf_arena_reset(&page_arena);
	}
	rf_api_send_dbuf(c, "text/csv; charset=utf-8", "attachment; filename=\"leads.csv\"", "export", &out);
}
