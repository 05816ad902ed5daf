/* SPDX-License-Identifier: Apache-2.0 */
/* Credential checks for every non-public route, session cookies and API key minting. */
#include "auth.h"

#include <stdio.h>
#include <string.h>

#include "../core/clock.h"
#include "../core/secret.h"
#include "../core/text.h"

static rf_status from_key(rf_ctx *c, const char *key, rf_err *err)
{
	if (strncmp(key, RF_APIKEY_PREFIX, strlen(RF_APIKEY_PREFIX)) != 0 || strlen(key) > 128)
		return rf_err_set(err, RF_EUNAUTH, "Authorization", "not a refd API key (they start with rk_)");
	char hash[RF_HEX256_LEN];
	rf_sha256_hex(key, strlen(key), hash);
	rf_apikey k;
	rf_status rc = rf_store_apikey_get_by_hash(c->app->store, hash, &k, c->a, err);
	if (rc == RF_ENOTFOUND)
		return rf_err_set(err, RF_EUNAUTH, "Authorization", "unknown API key");
	if (rc != RF_OK)
		return rc;
	if (k.revoked_at)
		return rf_err_set(err, RF_EUNAUTH, "Authorization", "this API key was revoked");
	int64_t now = rf_clock_now_ms();
	/* Recording every use would turn each read into a write; once a minute is precise enough. */
	if (now - k.last_used_at > 60000 && rf_store_apikey_touch(c->app->store, k.id, now, err) != RF_OK)
		return err->status;
	c->who.role = rf_role_parse(k.role);
	c->who.key_id = k.id;
	c->who.partner_id = k.partner_id;
	c->who.actor = k.id;
	return RF_OK;
}

static rf_status from_session(rf_ctx *c, const char *token, rf_err *err)
{
	char hash[RF_HEX256_LEN];
	rf_sha256_hex(token, strlen(token), hash);
	rf_session s;
	rf_status rc = rf_store_session_get(c->app->store, hash, &s, c->a, err);
	if (rc == RF_ENOTFOUND)
		return rf_err_set(err, RF_EUNAUTH, NULL, "the session has ended; log in again");
	if (rc != RF_OK)
		return rc;
	if (s.expires_at <= rf_clock_now_ms())
		return rf_err_set(err, RF_EUNAUTH, NULL, "the session has expired; log in again");
	rf_user u;
	rc = rf_store_user_get(c->app->store, s.user_id, &u, c->a, err);
	if (rc == RF_ENOTFOUND || (rc == RF_OK && u.disabled_at))
		return rf_err_set(err, RF_EUNAUTH, NULL, "this user is disabled");
	if (rc != RF_OK)
		return rc;
	c->who.role = rf_role_parse(u.role);
	c->who.user_id = u.id;
	c->who.partner_id = u.partner_id;
	c->who.actor = u.id;
	c->who.via_session = true;
	c->who.session_hash = s.hash;
	/* Kept on the context so the CSRF check needs no second read. */
	c->who.csrf = s.csrf_token;
	return RF_OK;
}

rf_status rf_auth_resolve(rf_ctx *c, rf_err *err)
{
	const char *authz = rf_req_header(c->req, "Authorization");
	if (authz) {
		if (strncmp(authz, "Bearer ", 7) != 0)
			return rf_err_set(err, RF_EUNAUTH, "Authorization", "use Authorization: Bearer <API key>");
		const char *key = authz + 7;
		while (*key == ' ')
			key++;
		return from_key(c, key, err);
	}
	char *token = rf_req_cookie(c->req, RF_SESSION_COOKIE);
	if (token && *token)
		return from_session(c, token, err);
	return rf_err_set(err, RF_EUNAUTH, NULL, "sign in, or send Authorization: Bearer <API key>");
}

rf_status rf_auth_check_csrf(rf_ctx *c, rf_err *err)
{
	const char *given = rf_req_header(c->req, "X-CSRF-Token");
	if (!given || !rf_secret_equal(given, c->who.csrf))
		return rf_err_set(err, RF_EFORBIDDEN, "X-CSRF-Token",
				  "missing or wrong X-CSRF-Token header for a cookie-authenticated change");
	return RF_OK;
}

static void set_cookie(rf_ctx *c, const char *value, long max_age)
{
	char buf[256];
	snprintf(buf, sizeof buf, "%s=%s; Max-Age=%ld; Path=/; HttpOnly; SameSite=Lax%s", RF_SESSION_COOKIE, value,
		 max_age, c->app->cfg->secure_cookies ? "; Secure" : "");
	rf_resp_header(c->req, "Set-Cookie", buf);
}

rf_status rf_auth_start_session(rf_ctx *c, const char *user_id, char **csrf, rf_err *err)
{
	char token[64], csrf_tok[64], hash[RF_HEX256_LEN];
	rf_random_token(32, token, sizeof token);
	rf_random_token(24, csrf_tok, sizeof csrf_tok);
	rf_sha256_hex(token, strlen(token), hash);
	int64_t now = rf_clock_now_ms();
	long max_age = (long)c->app->cfg->session_hours * 3600;
	rf_session s = {.hash = hash,
			.user_id = (char *)user_id,
			.csrf_token = csrf_tok,
			.created_at = now,
			.expires_at = now + (int64_t)max_age * 1000};
	if (rf_store_session_insert(c->app->store, &s, err) != RF_OK)
		return err->status;
	set_cookie(c, token, max_age);
	*csrf = rf_arena_strdup(c->a, csrf_tok);
	return RF_OK;
}

rf_status rf_auth_end_session(rf_ctx *c, rf_err *err)
{
	if (c->who.session_hash && rf_store_session_delete(c->app->store, c->who.session_hash, err) != RF_OK)
		return err->status;
	set_cookie(c, "", 0);
	return RF_OK;
}

void rf_auth_new_key(rf_arena *a, char **key, rf_apikey *k)
{
	char secret[64];
	rf_random_token(32, secret, sizeof secret);
	*key = rf_arena_printf(a, "%s%s", RF_APIKEY_PREFIX, secret);
	char hash[RF_HEX256_LEN];
	rf_sha256_hex(*key, strlen(*key), hash);
	k->hash = rf_arena_strdup(a, hash);
	k->prefix = rf_arena_strndup(a, *key, 10);
	k->id = rf_id_new_arena(a, "key");
}

const char *rf_auth_scope(const rf_ctx *c)
{
	if (c->who.role >= RF_ROLE_ADMIN)
		return NULL;
	/* A manager or partner without a partner record sees nothing: scope to an id no partner has. */
	return c->who.partner_id ? c->who.partner_id : "ptn_none";
}

bool rf_auth_can_see_partner(const rf_ctx *c, const rf_partner *p)
{
	const char *scope = rf_auth_scope(c);
	if (!scope)
		return true;
	return strcmp(p->id, scope) == 0 || (p->team_parent_id && strcmp(p->team_parent_id, scope) == 0);
}
