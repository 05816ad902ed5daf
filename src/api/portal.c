/* SPDX-License-Identifier: Apache-2.0 */
/* The partner portal's public side: self sign-up (an application an admin approves, or straight in, per program),
 * also through a partner's recruitment link, which names that partner the new one's recruiter, and password
 * reset by a one-time link sent by mail (written to the log when no SMTP server is configured). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/clock.h"
#include "../core/code.h"
#include "../core/secret.h"
#include "../core/text.h"
#include "../core/url.h"
#include "../http/auth.h"
#include "../svc/mail.h"
#include "api.h"

#define SIGNUPS_PER_WINDOW 10
#define RESET_TTL_MS (RF_MAIL_RESET_MINUTES * 60 * 1000LL)
#define RESETS_PER_HOUR 5

static const rf_jfield signup_fields[] = {
    {"program_id", RF_JT_STRING, false, 64, NULL},
    {"name", RF_JT_STRING, false, 200, NULL},
    {"email", RF_JT_STRING, false, 254, NULL},
    {"password", RF_JT_STRING, false, 256, NULL},
    {"company", RF_JT_STRING, true, 200, NULL},
    {"website", RF_JT_STRING, true, 2048, NULL},
    {"message", RF_JT_STRING, true, 2000, NULL},
    {"recruitment_code", RF_JT_STRING, true, 64, NULL},
    {NULL, 0, false, 0, NULL},
};

/* The recruiter a sign-up names with a recruitment code (blank or absent: none, *found false). An unknown code is
 * refused naming recruitment_code; whether the recruiter may recruit is for the caller to check, once it knows the
 * program. */
static rf_status find_recruiter(rf_ctx *c, const char *given, rf_partner *out, bool *found, rf_err *err)
{
	*found = false;
	const char *t = rf_trim_arena(c->a, given);
	if (!t || !*t)
		return RF_OK;
	char code[RF_RECRUIT_CODE_LEN + 1];
	rf_status rc = rf_recruit_code_normalize(t, code, sizeof code)
			   ? rf_store_partner_by_recruitment_code(c->app->store, code, out, c->a, err)
			   : RF_ENOTFOUND;
	if (rc == RF_ENOTFOUND)
		return rf_err_set(err, RF_EINVAL, "recruitment_code",
				  "recruitment_code: no such recruitment code; check the link, or apply without it");
	*found = rc == RF_OK;
	return rc;
}

void rf_api_portal_signup(rf_ctx *c)
{
	json_t *body = rf_api_body(c, signup_fields);
	if (!body)
		return;
	rf_err err = {0};
	rf_program prog;
	const char *name = rf_trim_arena(c->a, rf_json_str(body, "name"));
	const char *email_in = rf_json_str(body, "email"), *password = rf_json_str(body, "password");
	char email[RF_EMAIL_MAX + 1];
	if (!name || !*name) {
		rf_err_set(&err, RF_EINVAL, "name", "name is required");
		goto fail;
	}
	if (!email_in || rf_email_normalize(email_in, email, sizeof email) != RF_OK) {
		rf_err_set(&err, RF_EINVAL, "email", "email must be an email address");
		goto fail;
	}
	if (!password || strlen(password) < 10) {
		rf_err_set(&err, RF_EINVAL, "password", "password needs at least 10 characters");
		goto fail;
	}
	/* The website is shown to whoever reviews the application, so it must be a link that goes to a site: an
	 * absolute http(s) URL (no javascript:, data: or schemeless address). Blank is none. */
	char *website = rf_trim_arena(c->a, rf_json_str(body, "website"));
	if (website && !*website)
		website = NULL;
	char host[RF_URL_HOST_MAX];
	if (website && rf_url_check(website, host, sizeof host, &err) != RF_OK) {
		rf_err_blame(&err, "website");
		goto fail;
	}
	/* Sign-ups are rate-limited per address, like failed logins. */
	const rf_app_config *cfg = c->app->cfg;
	int64_t now = rf_clock_now_ms(), since = now - (int64_t)cfg->login_window_minutes * 60000;
	char ip_hash[RF_HEX256_LEN];
	rf_keyed_hash_hex(cfg->secret, rf_req_peer(c->req), strlen(rf_req_peer(c->req)), ip_hash);
	char *key = rf_arena_printf(c->a, "signup:%.32s", ip_hash);
	int64_t recent = 0;
	if (rf_store_login_failure_count(c->app->store, key, since, &recent, &err) != RF_OK)
		goto fail;
	if (recent >= SIGNUPS_PER_WINDOW) {
		rf_err_set(&err, RF_ERATE, NULL, "too many sign-ups from this address; try again in %d minutes",
			   cfg->login_window_minutes);
		goto fail;
	}
	/* A recruitment link carries only the code: the program is then the recruiter's. */
	rf_partner recruiter;
	bool recruited = false;
	const char *program_id = rf_json_str(body, "program_id");
	if (find_recruiter(c, rf_json_str(body, "recruitment_code"), &recruiter, &recruited, &err) != RF_OK)
		goto fail;
	if (!program_id && recruited)
		program_id = recruiter.program_id;
	if (rf_api_program_or_only(c, program_id, &prog, &err) != RF_OK)
		goto fail;
	if (recruited && strcmp(recruiter.program_id, prog.id) != 0) {
		rf_err_set(&err, RF_EINVAL, "recruitment_code",
			   "recruitment_code: this recruitment code belongs to another program than program_id");
		goto fail;
	}
	if (strcmp(prog.partner_signup, "off") == 0) {
		rf_err_set(&err, RF_EFORBIDDEN, "program_id", "this program does not take applications");
		goto fail;
	}
	/* Only an active partner recruits. The sign-up is refused rather than taken without a recruiter, so that the
	 * applicant knows the link no longer works and nobody's recruit is dropped silently; the reason (suspended,
	 * banned, not yet approved) is the partner's own business and is not told. */
	if (recruited && strcmp(recruiter.status, "active") != 0) {
		rf_err_set(&err, RF_EFORBIDDEN, "recruitment_code",
			   "recruitment_code: the partner of this recruitment link cannot recruit at the moment; apply "
			   "without the code");
		goto fail;
	}
	char hash[RF_PASSWORD_HASH_MAX];
	if (rf_password_hash(password, hash) != RF_OK) {
		rf_err_set(&err, RF_ENOMEM, NULL, "could not hash the password");
		goto fail;
	}
	rf_partner p;
	memset(&p, 0, sizeof p);
	p.id = rf_id_new_arena(c->a, "ptn");
	p.program_id = prog.id;
	p.kind = "affiliate";
	p.status = strcmp(prog.partner_signup, "open") == 0 ? "active" : "applied";
	p.name = (char *)name;
	p.email = rf_arena_strdup(c->a, email);
	p.recruited_by_id = recruited ? recruiter.id : NULL;
	if (rf_svc_partner_new_code(rf_ctx_svc(c), &p, &err) != RF_OK)
		goto fail;
	p.company = rf_trim_arena(c->a, rf_json_str(body, "company"));
	if (p.company && !*p.company)
		p.company = NULL;
	memcpy(p.currency, prog.currency, 4);
	memcpy(p.cost_per_lead_currency, prog.currency, 4);
	json_t *meta = json_pack("{s:s, s:o, s:o}", "signup", "portal", "website", rf_json_nullable(website), "message",
				 rf_json_nullable(rf_json_str(body, "message")));
	char *mtxt = json_dumps(meta, JSON_COMPACT);
	json_decref(meta);
	p.metadata = rf_arena_strdup(c->a, mtxt ? mtxt : "{}");
	free(mtxt);
	p.created_at = p.updated_at = now;
	rf_user u;
	memset(&u, 0, sizeof u);
	u.id = rf_id_new_arena(c->a, "usr");
	u.email = p.email;
	u.password_hash = hash;
	u.role = "partner";
	u.partner_id = p.id;
	u.created_at = now;
	char *csrf = NULL;
	if (rf_store_login_failure_add(c->app->store, key, now, &err) != RF_OK)
		goto fail;
	if (rf_store_partner_insert(c->app->store, &p, &err) != RF_OK) {
		if (err.status == RF_ECONFLICT && strcmp(err.field, "email") == 0)
			rf_err_set(&err, RF_ECONFLICT, "email",
				   "this email is already a partner of the program; ask the program for a login");
		goto fail;
	}
	/* The audit trail records who recruited the new partner, and that it came through the recruitment link. */
	char *detail =
	    recruited ? rf_arena_printf(c->a, "{\"recruited_by_id\":\"%s\",\"via\":\"recruitment_link\"}", recruiter.id)
		      : NULL;
	rf_svc *sv = rf_ctx_svc(c);
	if (rf_store_user_insert(c->app->store, &u, &err) != RF_OK ||
	    rf_api_audit(c, "partner.signup", p.id, detail, &err) != RF_OK ||
	    rf_svc_event_partner(sv, "partner.applied", &p, &err) != RF_OK ||
	    (strcmp(p.status, "active") == 0 && rf_svc_event_partner(sv, "partner.approved", &p, &err) != RF_OK) ||
	    (recruited && rf_svc_event_partner(sv, "partner.recruited", &p, &err) != RF_OK))
		goto fail;
	if (rf_auth_start_session(c, u.id, &csrf, &err) != RF_OK)
		goto fail;
	json_decref(body);
	rf_json_send(c, 201,
		     json_pack("{s:o, s:o, s:s, s:s}", "partner", rf_view_partner(rf_ctx_svc(c), &p), "user",
			       rf_view_user(&u), "csrf_token", csrf, "next",
			       strcmp(p.status, "active") == 0 ? "welcome" : "wait_for_approval"));
	return;
fail:
	json_decref(body);
	if (err.status == RF_ECONFLICT && strcmp(err.field, "email") == 0)
		rf_err_set(&err, RF_ECONFLICT, "email",
			   "this email already has an account; log in or reset the password");
	rf_json_error(c, &err);
}

static const rf_jfield reset_fields[] = {
    {"email", RF_JT_STRING, false, 254, NULL},
    {NULL, 0, false, 0, NULL},
};

void rf_api_password_reset(rf_ctx *c)
{
	json_t *body = rf_api_body(c, reset_fields);
	if (!body)
		return;
	rf_err err = {0};
	char email[RF_EMAIL_MAX + 1];
	const char *in = rf_json_str(body, "email");
	if (!in || rf_email_normalize(in, email, sizeof email) != RF_OK) {
		json_decref(body);
		rf_json_fail(c, RF_EINVAL, "email", "email must be an email address");
		return;
	}
	json_decref(body);
	rf_user u;
	int64_t now = rf_clock_now_ms(), recent = 0;
	rf_status rc = rf_store_user_get_by_email(c->app->store, email, &u, c->a, &err);
	if (rc == RF_OK && !u.disabled_at &&
	    rf_store_reset_count(c->app->store, u.id, now - 3600000, &recent, &err) == RF_OK &&
	    recent < RESETS_PER_HOUR) {
		char token[64], hash[RF_HEX256_LEN];
		rf_random_token(32, token, sizeof token);
		rf_sha256_hex(token, strlen(token), hash);
		if (rf_store_reset_insert(c->app->store, hash, u.id, now, now + RESET_TTL_MS, &err) != RF_OK) {
			rf_json_error(c, &err);
			return;
		}
		/* The link goes by mail (or, with no SMTP server configured, to the log for the operator to pass on),
		 * sealed in the outbox until it is sent: the token is written nowhere else. */
		char *url = rf_arena_printf(c->a, "%s%s#reset=%s", c->app->cfg->public_url,
					    strcmp(u.role, "partner") == 0 ? "/portal" : "/app", token);
		if (rf_svc_mail_password_reset(rf_ctx_svc(c), &u, url, RF_MAIL_RESET_MINUTES, &err) != RF_OK) {
			rf_json_error(c, &err);
			return;
		}
	} else if (rc != RF_OK && rc != RF_ENOTFOUND) {
		rf_json_error(c, &err);
		return;
	}
	/* The same answer whether or not the email has an account. */
	rf_json_send(c, 202,
		     json_pack("{s:b, s:s}", "accepted", 1, "message",
			       "if this email has an account, a one-time link to set a new password is on its way"));
}

static const rf_jfield confirm_fields[] = {
    {"token", RF_JT_STRING, false, 128, NULL},
    {"password", RF_JT_STRING, false, 256, NULL},
    {NULL, 0, false, 0, NULL},
};

void rf_api_password_reset_confirm(rf_ctx *c)
{
	json_t *body = rf_api_body(c, confirm_fields);
	if (!body)
		return;
	rf_err err = {0};
	const char *token = rf_json_str(body, "token"), *password = rf_json_str(body, "password");
	char *user_id = NULL;
	rf_user u;
	if (!token || !*token) {
		rf_err_set(&err, RF_EINVAL, "token", "token is required");
		goto fail;
	}
	if (!password || strlen(password) < 10) {
		rf_err_set(&err, RF_EINVAL, "password", "password needs at least 10 characters");
		goto fail;
	}
	/* The website is shown to whoever reviews the application, so it must be a link that goes to a site: an
	 * absolute http(s) URL (no javascript:, data: or schemeless address). Blank is none. */
	char *website = rf_trim_arena(c->a, rf_json_str(body, "website"));
	if (website && !*website)
		website = NULL;
	char host[RF_URL_HOST_MAX];
	if (website && rf_url_check(website, host, sizeof host, &err) != RF_OK) {
		rf_err_blame(&err, "website");
		goto fail;
	}
	char hash[RF_HEX256_LEN], pw[RF_PASSWORD_HASH_MAX];
	rf_sha256_hex(token, strlen(token), hash);
	if (rf_password_hash(password, pw) != RF_OK) {
		rf_err_set(&err, RF_ENOMEM, NULL, "could not hash the password");
		goto fail;
	}
	rf_status rc = rf_store_reset_take(c->app->store, hash, rf_clock_now_ms(), &user_id, c->a, &err);
	if (rc == RF_ENOTFOUND) {
		rf_err_set(&err, RF_EINVAL, "token", "this link is not valid: it was used, it expired, or it is wrong");
		goto fail;
	}
	if (rc != RF_OK || rf_store_user_get(c->app->store, user_id, &u, c->a, &err) != RF_OK)
		goto fail;
	u.password_hash = pw;
	/* Every session of the account ends: whoever knew the old password is out. */
	if (rf_store_user_update(c->app->store, &u, &err) != RF_OK ||
	    rf_store_session_delete_user(c->app->store, u.id, &err) != RF_OK ||
	    rf_store_login_failure_clear(c->app->store, rf_arena_printf(c->a, "email:%s", u.email), &err) != RF_OK ||
	    rf_api_audit(c, "user.password_reset", u.id, NULL, &err) != RF_OK)
		goto fail;
	json_decref(body);
	rf_json_send(c, 200, json_pack("{s:b, s:s}", "reset", 1, "email", u.email));
	return;
fail:
	json_decref(body);
	rf_json_error(c, &err);
}
