/* SPDX-License-Identifier: Apache-2.0 */
/* /api/v1/integrations: a program's connections to other systems (Paddle, Chargebee; the CRMs' names are kept for
 * them), with their credentials shown once and sealed, the URL each system sends its webhooks to, and the log of
 * what each one sent. */
#include <string.h>

#include "../svc/integrations.h"
#include "api.h"

static const rf_jfield create_fields[] = {
    {"program_id", RF_JT_STRING, false, 64, NULL},
    {"system", RF_JT_STRING, false, 32, NULL},
    {"name", RF_JT_STRING, true, 200, NULL},
    {"status", RF_JT_STRING, false, 16, NULL},
    {"credentials", RF_JT_OBJECT, false, 65536, NULL},
    {"settings", RF_JT_OBJECT, false, 4096, NULL},
    {"stage_map", RF_JT_OBJECT, false, 32768, NULL},
    {"base_url", RF_JT_STRING, true, 2048, NULL},
    {NULL, 0, false, 0, NULL},
};

/* A connection's program and system never change: another system is another connection. */
static const rf_jfield update_fields[] = {
    {"name", RF_JT_STRING, true, 200, NULL},
    {"status", RF_JT_STRING, false, 16, NULL},
    {"credentials", RF_JT_OBJECT, false, 65536, NULL},
    {"settings", RF_JT_OBJECT, false, 4096, NULL},
    {"stage_map", RF_JT_OBJECT, false, 32768, NULL},
    {"base_url", RF_JT_STRING, true, 2048, NULL},
    {NULL, 0, false, 0, NULL},
};

/* Reads a body the fields accepted into in (the body keeps owning what in borrows). */
static void read_input(json_t *body, rf_connection_input *in)
{
	memset(in, 0, sizeof *in);
	in->program_id = rf_json_str(body, "program_id");
	in->system = rf_json_str(body, "system");
	in->has_name = rf_json_has(body, "name");
	in->name = rf_json_str(body, "name");
	in->status = rf_json_str(body, "status");
	in->credentials = json_object_get(body, "credentials");
	in->settings = json_object_get(body, "settings");
	in->stage_map = json_object_get(body, "stage_map");
	in->has_base_url = rf_json_has(body, "base_url");
	in->base_url = rf_json_str(body, "base_url");
}

void rf_api_integrations_create(rf_ctx *c)
{
	json_t *body = rf_api_body(c, create_fields);
	if (!body)
		return;
	rf_err err = {0};
	rf_connection_input in;
	read_input(body, &in);
	rf_connection conn;
	json_t *shown = NULL;
	if (rf_svc_connection_input_check(&in, &err) != RF_OK ||
	    rf_svc_connection_create(rf_ctx_svc(c), &in, &conn, &shown, &err) != RF_OK) {
		json_decref(body);
		rf_json_error(c, &err);
		return;
	}
	json_decref(body);
	json_t *out = rf_view_connection(rf_ctx_svc(c), &conn);
	/* Shown this once, to whoever connected the system (a generated password is to be pasted into it). */
	json_object_set_new(out, "credentials", shown);
	rf_json_send(c, 201, out);
}

/* Loads the connection in the path; sends 404 when there is none. */
static bool load(rf_ctx *c, rf_connection *conn)
{
	rf_err err = {0};
	rf_status rc = rf_store_connection_get(c->app->store, c->params[0], conn, c->a, &err);
	return rf_api_found(c, rc, &err, "connection");
}

void rf_api_integrations_get(rf_ctx *c)
{
	rf_connection conn;
	if (load(c, &conn))
		rf_json_send(c, 200, rf_view_connection(rf_ctx_svc(c), &conn));
}

void rf_api_integrations_update(rf_ctx *c)
{
	json_t *body = rf_api_body(c, update_fields);
	if (!body)
		return;
	rf_err err = {0};
	rf_connection_input in;
	read_input(body, &in);
	rf_connection conn;
	if (rf_svc_connection_input_check(&in, &err) != RF_OK) {
		json_decref(body);
		rf_json_error(c, &err);
		return;
	}
	if (!load(c, &conn)) {
		json_decref(body);
		return;
	}
	if (rf_svc_connection_update(rf_ctx_svc(c), &conn, &in, &err) != RF_OK) {
		json_decref(body);
		rf_json_error(c, &err);
		return;
	}
	json_decref(body);
	rf_json_send(c, 200, rf_view_connection(rf_ctx_svc(c), &conn));
}

void rf_api_integrations_delete(rf_ctx *c)
{
	rf_err err = {0};
	rf_connection conn;
	if (!load(c, &conn))
		return;
	if (rf_svc_connection_delete(rf_ctx_svc(c), &conn, &err) != RF_OK) {
		rf_json_error(c, &err);
		return;
	}
	json_t *out = rf_view_connection(rf_ctx_svc(c), &conn);
	json_object_set_new(out, "deleted", json_true());
	rf_json_send(c, 200, out);
}

void rf_api_integrations_list(rf_ctx *c)
{
	rf_err err = {0};
	rf_page page;
	if (rf_json_page(c, &page, &err) != RF_OK) {
		rf_json_error(c, &err);
		return;
	}
	rf_connection *items = NULL;
	size_t n = 0;
	bool more = false;
	if (rf_store_connection_list(c->app->store, &page, rf_req_query(c->req, "program_id"), &items, &n, &more, c->a,
				     &err) != RF_OK) {
		rf_json_error(c, &err);
		return;
	}
	json_t *data = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(data, rf_view_connection(rf_ctx_svc(c), &items[i]));
	rf_json_send(c, 200, rf_json_list(data, more));
}

void rf_api_integrations_events(rf_ctx *c)
{
	rf_err err = {0};
	rf_inbound_event_filter f;
	memset(&f, 0, sizeof f);
	if (rf_json_page(c, &f.page, &err) != RF_OK) {
		rf_json_error(c, &err);
		return;
	}
	f.outcome = rf_req_query(c->req, "outcome");
	static const char *const outcomes[] = {"processed", "ignored", "duplicate", "refused"};
	bool known = !f.outcome;
	for (size_t i = 0; f.outcome && i < sizeof outcomes / sizeof outcomes[0]; i++)
		known |= strcmp(f.outcome, outcomes[i]) == 0;
	if (!known) {
		rf_json_fail(c, RF_EINVAL, "outcome", "outcome must be processed, ignored, duplicate or refused");
		return;
	}
	rf_connection conn;
	if (!load(c, &conn))
		return;
	f.connection_id = conn.id;
	rf_inbound_event *items = NULL;
	size_t n = 0;
	bool more = false;
	if (rf_store_inbound_event_list(c->app->store, &f, &items, &n, &more, c->a, &err) != RF_OK) {
		rf_json_error(c, &err);
		return;
	}
	json_t *data = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(data, rf_view_inbound_event(&items[i]));
	rf_json_send(c, 200, rf_json_list(data, more));
}
