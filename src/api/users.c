/* SPDX-License-Identifier: Apache-2.0 */
/* /api/v1/users: people who sign in, their roles and, for managers and partners, the partner they belong to. */
#include <string.h>

#include "../core/clock.h"
#include "../core/secret.h"
#include "../core/text.h"
#include "api.h"

static const rf_jfield user_fields[] = {
    {"email", RF_JT_STRING, false, 254, NULL},    {"role", RF_JT_STRING, false, 16, NULL},
    {"partner_id", RF_JT_STRING, true, 64, NULL}, {"password", RF_JT_STRING, false, 256, NULL},
    {"disabled", RF_JT_BOOL, false, 0, NULL},     {NULL, 0, false, 0, NULL},
};

/* Checks that the caller may hand out role: only an owner makes or changes owners. */
static rf_status may_grant(rf_ctx *c, rf_role role, rf_err *err)
{
	if (role == RF_ROLE_OWNER && c->who.role != RF_ROLE_OWNER)
		return rf_err_set(err, RF_EFORBIDDEN, "role", "only an owner can grant the owner role");
	return RF_OK;
}

/* Manager and partner users belong to a partner; admins and owners to none. */
static rf_status check_partner(rf_ctx *c, rf_role role, const char *partner_id, rf_err *err)
{
	if (role == RF_ROLE_MANAGER || role == RF_ROLE_PARTNER) {
		if (!partner_id)
			return rf_err_set(err, RF_EINVAL, "partner_id", "a %s user needs partner_id",
					  rf_role_name(role));
		rf_partner p;
		rf_status rc = rf_store_partner_get(c->app->store, partner_id, &p, c->a, err);
		if (rc == RF_ENOTFOUND)
			return rf_err_set(err, RF_EINVAL, "partner_id", "partner_id: no such partner %s", partner_id);
		return rc;
	}
	if (partner_id)
		return rf_err_set(err, RF_EINVAL, "partner_id", "only manager and partner users belong to a partner");
	return RF_OK;
}

static rf_status check_password(const char *pw, rf_err *err)
{
	size_t n = strlen(pw);
	if (n < 10)
		return rf_err_set(err, RF_EINVAL, "password", "password needs at least 10 characters");
	return RF_OK;
}

void rf_api_users_create(rf_ctx *c)
{
	rf_err err = {0};
	json_t *body = rf_api_body(c, user_fields);
	if (!body)
		return;
	rf_user u;
	memset(&u, 0, sizeof u);
	char email[RF_EMAIL_MAX + 1], hash[RF_PASSWORD_HASH_MAX], generated[40];
	const char *s = rf_json_str(body, "email");
	const char *password = rf_json_str(body, "password");
	rf_role role = rf_role_parse(rf_json_str(body, "role"));
	if (!s || rf_email_normalize(s, email, sizeof email) != RF_OK) {
		rf_err_set(&err, RF_EINVAL, "email", "email must be an email address");
		goto fail;
	}
	if (role == RF_ROLE_NONE) {
		rf_err_set(&err, RF_EINVAL, "role", "role must be owner, admin, manager or partner");
		goto fail;
	}
	if (rf_json_has(body, "disabled")) {
		rf_err_set(&err, RF_EINVAL, "disabled", "a new user is enabled; disable it with PATCH");
		goto fail;
	}
	u.partner_id = rf_arena_strdup(c->a, rf_json_str(body, "partner_id"));
	if (may_grant(c, role, &err) != RF_OK || check_partner(c, role, u.partner_id, &err) != RF_OK)
		goto fail;
	if (password && check_password(password, &err) != RF_OK)
		goto fail;
	if (!password) {
		rf_random_token(15, generated, sizeof generated);
		password = generated;
	}
	if (rf_password_hash(password, hash) != RF_OK) {
		rf_err_set(&err, RF_ENOMEM, NULL, "could not hash the password");
		goto fail;
	}
	u.id = rf_id_new_arena(c->a, "usr");
	u.email = email;
	u.role = (char *)rf_role_name(role);
	u.password_hash = hash;
	u.created_at = rf_clock_now_ms();
	if (rf_store_user_insert(c->app->store, &u, &err) != RF_OK ||
	    rf_api_audit(c, "user.create", u.id, NULL, &err) != RF_OK) {
		goto fail;
	}
	json_t *out = rf_view_user(&u);
	if (password == generated)
		json_object_set_new(out, "password", json_string(generated));
	json_decref(body);
	rf_json_send(c, 201, out);
	return;
fail:
	json_decref(body);
	rf_json_error(c, &err);
}

static bool load(rf_ctx *c, rf_user *u)
{
	rf_err err = {0};
	rf_status rc = rf_store_user_get(c->app->store, c->params[0], u, c->a, &err);
	return rf_api_found(c, rc, &err, "user");
}

void rf_api_users_get(rf_ctx *c)
{
	rf_user u;
	if (load(c, &u))
		rf_json_send(c, 200, rf_view_user(&u));
}

void rf_api_users_update(rf_ctx *c)
{
	rf_err err = {0};
	json_t *body = rf_api_body(c, user_fields);
	if (!body)
		return;
	rf_user u;
	/* Read, check and write in one transaction (the last-owner check must see a settled count). */
	if (!load(c, &u)) {
		json_decref(body);
		return;
	}
	char email[RF_EMAIL_MAX + 1], hash[RF_PASSWORD_HASH_MAX];
	bool end_sessions = false;
	rf_role old = rf_role_parse(u.role), role = old;
	bool was_active_owner = old == RF_ROLE_OWNER && u.disabled_at == 0;
	if (may_grant(c, old, &err) != RF_OK) {
		rf_err_set(&err, RF_EFORBIDDEN, "id", "only an owner can change an owner");
		goto fail;
	}
	const char *s;
	if ((s = rf_json_str(body, "email"))) {
		if (rf_email_normalize(s, email, sizeof email) != RF_OK) {
			rf_err_set(&err, RF_EINVAL, "email", "email must be an email address");
			goto fail;
		}
		u.email = email;
	}
	if ((s = rf_json_str(body, "role"))) {
		role = rf_role_parse(s);
		if (role == RF_ROLE_NONE) {
			rf_err_set(&err, RF_EINVAL, "role", "role must be owner, admin, manager or partner");
			goto fail;
		}
		if (may_grant(c, role, &err) != RF_OK)
			goto fail;
		u.role = (char *)rf_role_name(role);
		end_sessions = role != old;
	}
	if (rf_json_has(body, "partner_id"))
		u.partner_id = rf_arena_strdup(c->a, rf_json_str(body, "partner_id"));
	if (role >= RF_ROLE_ADMIN && !rf_json_has(body, "partner_id"))
		u.partner_id = NULL;
	if (check_partner(c, role, u.partner_id, &err) != RF_OK)
		goto fail;
	if ((s = rf_json_str(body, "password"))) {
		if (check_password(s, &err) != RF_OK)
			goto fail;
		if (rf_password_hash(s, hash) != RF_OK) {
			rf_err_set(&err, RF_ENOMEM, NULL, "could not hash the password");
			goto fail;
		}
		u.password_hash = hash;
		end_sessions = true;
	}
	json_t *d = json_object_get(body, "disabled");
	if (d) {
		if (json_is_true(d) && c->who.user_id && strcmp(c->who.user_id, u.id) == 0) {
			rf_err_set(&err, RF_EINVAL, "disabled", "you cannot disable yourself");
			goto fail;
		}
		u.disabled_at = json_is_true(d) ? (u.disabled_at ? u.disabled_at : rf_clock_now_ms()) : 0;
		end_sessions = end_sessions || json_is_true(d);
	}
	if (was_active_owner && (role != RF_ROLE_OWNER || u.disabled_at)) {
		int64_t owners = 0;
		if (rf_store_user_count_owners(c->app->store, &owners, &err) != RF_OK)
			goto fail;
		if (owners <= 1) {
			rf_err_set(&err, RF_ECONFLICT, role != RF_ROLE_OWNER ? "role" : "disabled",
				   "this is the last enabled owner; make another user owner first");
			goto fail;
		}
	}
	if (rf_store_user_update(c->app->store, &u, &err) != RF_OK ||
	    (end_sessions && rf_store_session_delete_user(c->app->store, u.id, &err) != RF_OK) ||
	    rf_api_audit(c, "user.update", u.id, NULL, &err) != RF_OK)
		goto fail;
	json_decref(body);
	rf_json_send(c, 200, rf_view_user(&u));
	return;
fail:
	json_decref(body);
	rf_json_error(c, &err);
}

void rf_api_users_list(rf_ctx *c)
{
	rf_err err = {0};
	rf_page page;
	rf_user *items = NULL;
	size_t n = 0;
	bool more = false;
	if (rf_json_page(c, &page, &err) != RF_OK ||
	    rf_store_user_list(c->app->store, &page, &items, &n, &more, c->a, &err) != RF_OK) {
		rf_json_error(c, &err);
		return;
	}
	json_t *data = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(data, rf_view_user(&items[i]));
	rf_json_send(c, 200, rf_json_list(data, more));
}
