/* SPDX-License-Identifier: Apache-2.0 */
/* /api/v1/api-keys: keys for integrations, shown once, stored as hashes, revocable. */
#include <string.h>

#include "../core/clock.h"
#include "../core/text.h"
#include "../http/auth.h"
#include "api.h"

static const rf_jfield key_fields[] = {
    {"name", RF_JT_STRING, false, 100, NULL},
    {"role", RF_JT_STRING, false, 16, NULL},
    {"partner_id", RF_JT_STRING, true, 64, NULL},
    {NULL, 0, false, 0, NULL},
};

void rf_api_keys_create(rf_ctx *c)
{
	rf_err err = {0};
	json_t *body = rf_api_body(c, key_fields);
	if (!body)
		return;
	rf_apikey k;
	memset(&k, 0, sizeof k);
	const char *name = rf_trim_arena(c->a, rf_json_str(body, "name"));
	const char *role_s = rf_json_str(body, "role");
	rf_role role = role_s ? rf_role_parse(role_s) : RF_ROLE_ADMIN;
	const char *partner_id = rf_json_str(body, "partner_id");
	char *secret = NULL;
	if (!name || !*name) {
		rf_err_set(&err, RF_EINVAL, "name", "name is required and cannot be blank (say what the key is for)");
		goto fail;
	}
	if (role == RF_ROLE_NONE) {
		rf_err_set(&err, RF_EINVAL, "role", "role must be owner, admin, manager or partner");
		goto fail;
	}
	if (role == RF_ROLE_OWNER && c->who.role != RF_ROLE_OWNER) {
		rf_err_set(&err, RF_EFORBIDDEN, "role", "only an owner can create an owner key");
		goto fail;
	}
	if (role <= RF_ROLE_MANAGER) {
		rf_partner p;
		if (!partner_id) {
			rf_err_set(&err, RF_EINVAL, "partner_id", "a %s key needs partner_id", rf_role_name(role));
			goto fail;
		}
		if (rf_store_partner_get(c->app->store, partner_id, &p, c->a, &err) != RF_OK) {
			if (err.status == RF_ENOTFOUND)
				rf_err_set(&err, RF_EINVAL, "partner_id", "partner_id: no such partner %s", partner_id);
			goto fail;
		}
	} else if (partner_id) {
		rf_err_set(&err, RF_EINVAL, "partner_id", "only manager and partner keys belong to a partner");
		goto fail;
	}
	rf_auth_new_key(c->a, &secret, &k);
	k.name = rf_arena_strdup(c->a, name);
	k.role = (char *)rf_role_name(role);
	k.partner_id = partner_id ? rf_arena_strdup(c->a, partner_id) : NULL;
	k.created_by = c->who.actor;
	k.created_at = rf_clock_now_ms();
	if (rf_store_apikey_insert(c->app->store, &k, &err) != RF_OK ||
	    rf_api_audit(c, "api_key.create", k.id, NULL, &err) != RF_OK) {
		goto fail;
	}
	json_decref(body);
	json_t *out = rf_view_apikey(&k);
	json_object_set_new(out, "key", json_string(secret));
	rf_json_send(c, 201, out);
	return;
fail:
	json_decref(body);
	rf_json_error(c, &err);
}

void rf_api_keys_list(rf_ctx *c)
{
	rf_err err = {0};
	rf_page page;
	rf_apikey *items = NULL;
	size_t n = 0;
	bool more = false;
	if (rf_json_page(c, &page, &err) != RF_OK ||
	    rf_store_apikey_list(c->app->store, &page, &items, &n, &more, c->a, &err) != RF_OK) {
		rf_json_error(c, &err);
		return;
	}
	json_t *data = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(data, rf_view_apikey(&items[i]));
	rf_json_send(c, 200, rf_json_list(data, more));
}

void rf_api_keys_revoke(rf_ctx *c)
{
	rf_err err = {0};
	rf_apikey k;
	rf_status rc = rf_store_apikey_get(c->app->store, c->params[0], &k, c->a, &err);
	if (!rf_api_found(c, rc, &err, "API key"))
		return;
	if (rf_role_parse(k.role) == RF_ROLE_OWNER && c->who.role != RF_ROLE_OWNER) {
		rf_json_fail(c, RF_EFORBIDDEN, "id", "only an owner can revoke an owner key");
		return;
	}
	if (!k.revoked_at) {
		k.revoked_at = rf_clock_now_ms();
		if (rf_store_apikey_revoke(c->app->store, k.id, k.revoked_at, &err) != RF_OK ||
		    rf_api_audit(c, "api_key.revoke", k.id, NULL, &err) != RF_OK) {
			rf_json_error(c, &err);
			return;
		}
	}
	rf_json_send(c, 200, rf_view_apikey(&k));
}
