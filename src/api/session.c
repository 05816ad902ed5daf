/* SPDX-License-Identifier: Apache-2.0 */
/* Logging in and out with cookie sessions, with failed attempts rate-limited per email and per address. */
#include <pthread.h>
#include <string.h>

#include "../core/clock.h"
#include "../core/secret.h"
#include "../core/text.h"
#include "../http/auth.h"
#include "api.h"

static const rf_jfield login_fields[] = {
    {"email", RF_JT_STRING, false, 254, NULL},
    {"password", RF_JT_STRING, false, 256, NULL},
    {NULL, 0, false, 0, NULL},
};

/* A valid Argon2id hash of a random string, so that unknown emails cost the same time as wrong passwords.
 * Computed once for the process, whichever thread asks first. */
static char dummy[RF_PASSWORD_HASH_MAX];
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

static void make_dummy(void)
{
	char pw[40];
	rf_random_token(24, pw, sizeof pw);
	if (rf_password_hash(pw, dummy) != RF_OK)
		dummy[0] = '\0';
}

static const char *dummy_hash(void)
{
	pthread_once(&dummy_once, make_dummy);
	return dummy;
}

void rf_api_login(rf_ctx *c)
{
	rf_err err = {0};
	json_t *body = rf_api_body(c, login_fields);
	if (!body)
		return;
	const char *email_in = rf_json_str(body, "email"), *password = rf_json_str(body, "password");
	char email[RF_EMAIL_MAX + 1];
	if (!email_in || rf_email_normalize(email_in, email, sizeof email) != RF_OK) {
		rf_err_set(&err, RF_EINVAL, "email", "email must be an email address");
		goto fail;
	}
	if (!password || !*password) {
		rf_err_set(&err, RF_EINVAL, "password", "password is required");
		goto fail;
	}
	const rf_app_config *cfg = c->app->cfg;
	int64_t now = rf_clock_now_ms(), since = now - (int64_t)cfg->login_window_minutes * 60000;
	char ip_hash[RF_HEX256_LEN];
	rf_keyed_hash_hex(cfg->secret, rf_req_peer(c->req), strlen(rf_req_peer(c->req)), ip_hash);
	char *email_key = rf_arena_printf(c->a, "email:%s", email);
	char *ip_key = rf_arena_printf(c->a, "ip:%.32s", ip_hash);
	int64_t by_email = 0, by_ip = 0;
	if (rf_store_login_failure_count(c->app->store, email_key, since, &by_email, &err) != RF_OK ||
	    rf_store_login_failure_count(c->app->store, ip_key, since, &by_ip, &err) != RF_OK)
		goto fail;
	if (by_email >= cfg->login_max_failures || by_ip >= cfg->login_max_failures_ip) {
		rf_err_set(&err, RF_ERATE, NULL, "too many failed logins; try again in %d minutes",
			   cfg->login_window_minutes);
		goto fail;
	}

	rf_user u;
	rf_status rc = rf_store_user_get_by_email(c->app->store, email, &u, c->a, &err);
	if (rc != RF_OK && rc != RF_ENOTFOUND)
		goto fail;
	bool ok = rc == RF_OK ? rf_password_verify(u.password_hash, password)
			      : (rf_password_verify(dummy_hash(), password) && false);
	if (ok && u.disabled_at)
		ok = false;
	if (!ok) {
		if (rf_store_login_failure_add(c->app->store, email_key, now, &err) != RF_OK ||
		    rf_store_login_failure_add(c->app->store, ip_key, now, &err) != RF_OK) {
			goto fail;
		}
		rf_err_set(&err, RF_EUNAUTH, NULL, "wrong email or password");
		/* The failure counts, though the answer is an error: the transaction keeps it. */
		c->out.keep = true;
		goto fail;
	}
	char *csrf = NULL;
	c->who.actor = u.id;
	if (rf_store_login_failure_clear(c->app->store, email_key, &err) != RF_OK ||
	    rf_auth_start_session(c, u.id, &csrf, &err) != RF_OK || rf_api_audit(c, "user.login", u.id, NULL, &err)) {
		goto fail;
	}
	json_decref(body);
	rf_req_log_actor(c->req, u.id);
	rf_json_send(c, 200, json_pack("{s:o, s:s}", "user", rf_view_user(&u), "csrf_token", csrf));
	return;
fail:
	json_decref(body);
	rf_json_error(c, &err);
}

void rf_api_logout(rf_ctx *c)
{
	rf_err err = {0};
	if (!c->who.via_session) {
		rf_json_fail(c, RF_EINVAL, NULL, "logout ends a cookie session; API keys are revoked instead");
		return;
	}
	if (rf_auth_end_session(c, &err) != RF_OK) {
		rf_json_error(c, &err);
		return;
	}
	rf_json_send(c, 200, json_pack("{s:b}", "logged_out", 1));
}

void rf_api_session(rf_ctx *c)
{
	json_t *o = json_pack("{s:s, s:s, s:o, s:o, s:o}", "object", "session", "role", rf_role_name(c->who.role),
			      "user_id", c->who.user_id ? json_string(c->who.user_id) : json_null(), "api_key_id",
			      c->who.key_id ? json_string(c->who.key_id) : json_null(), "partner_id",
			      c->who.partner_id ? json_string(c->who.partner_id) : json_null());
	if (c->who.user_id) {
		rf_user u;
		rf_err err = {0};
		if (rf_store_user_get(c->app->store, c->who.user_id, &u, c->a, &err) == RF_OK)
			json_object_set_new(o, "email", json_string(u.email));
	}
	if (c->who.via_session)
		json_object_set_new(o, "csrf_token", json_string(c->who.csrf));
	rf_json_send(c, 200, o);
}
