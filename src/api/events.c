/* SPDX-License-Identifier: Apache-2.0 */
/* /api/v1/events: the event log, for integrators who poll (each change that matters, with the object as it was
 * then). Partners and their managers see the events about themselves and their team's agents. */
#include <stdlib.h>
#include <string.h>

#include "../core/clock.h"
#include "../http/auth.h"
#include "api.h"

static json_t *event_json(const rf_event *e)
{
	json_t *data = json_loads(e->data ? e->data : "{}", 0, NULL);
	json_t *o = json_pack("{s:s, s:s, s:s, s:o, s:s, s:o, s:o}", "id", e->id, "object", "event", "type", e->type,
			      "program_id", rf_json_nullable(e->program_id), "object_id", e->object_id, "partner_id",
			      rf_json_nullable(e->partner_id), "created_at", rf_json_time(e->created_at));
	json_object_set_new(o, "data", data ? data : json_object());
	return o;
}

/* An RFC 3339 time from the query, or 0 when absent; RF_EINVAL naming it otherwise. */
static rf_status time_param(rf_ctx *c, const char *name, int64_t *out, rf_err *err)
{
	const char *v = rf_req_query(c->req, name);
	*out = 0;
	if (v && rf_clock_parse(v, out) != 0)
		return rf_err_set(err, RF_EINVAL, name, "%s must be an RFC 3339 time", name);
	return RF_OK;
}

void rf_api_events_list(rf_ctx *c)
{
	rf_err err = {0};
	rf_event_filter f;
	memset(&f, 0, sizeof f);
	if (rf_json_page(c, &f.page, &err) != RF_OK || time_param(c, "created_from", &f.created_from, &err) != RF_OK ||
	    time_param(c, "created_to", &f.created_to, &err) != RF_OK) {
		rf_json_error(c, &err);
		return;
	}
	f.type = rf_req_query(c->req, "type");
	if (f.type && !rf_event_type_known(f.type)) {
		rf_json_fail(c, RF_EINVAL, "type", "type: no event has type %s (see the Event schema for the types)",
			     f.type);
		return;
	}
	f.program_id = rf_req_query(c->req, "program_id");
	f.object_id = rf_req_query(c->req, "object_id");
	f.scope_id = rf_auth_scope(c);
	rf_event *items = NULL;
	size_t n = 0;
	bool more = false;
	if (rf_store_event_list(c->app->store, &f, &items, &n, &more, c->a, &err) != RF_OK) {
		rf_json_error(c, &err);
		return;
	}
	json_t *data = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(data, event_json(&items[i]));
	rf_json_send(c, 200, rf_json_list(data, more));
}

void rf_api_events_get(rf_ctx *c)
{
	rf_err err = {0};
	rf_event e;
	rf_status rc = rf_store_event_get(c->app->store, c->params[0], &e, c->a, &err);
	/* A partner asks only for its own events (and its agents'): another's answers as if it did not exist. */
	const char *scope = rf_auth_scope(c);
	if (rc == RF_OK && scope) {
		rf_partner p;
		bool mine = e.partner_id &&
			    rf_store_partner_get(c->app->store, e.partner_id, &p, c->a, &err) == RF_OK &&
			    rf_auth_can_see_partner(c, &p);
		if (!mine)
			rc = RF_ENOTFOUND;
	}
	if (!rf_api_found(c, rc, &err, "event"))
		return;
	rf_json_send(c, 200, event_json(&e));
}

/* GET /api/v1/event-types: every type refd writes, in its own order, so that clients (the admin UI's webhook form
 * first) choose from the server's list rather than from a copy of their own. */
void rf_api_event_types_list(rf_ctx *c)
{
	json_t *data = json_array();
	json_t *list = NULL;
	char *text = NULL;
	if (!data)
		goto fail;
	for (size_t i = 0; rf_event_types[i]; i++) {
		json_t *o = json_pack("{s:s, s:s}", "object", "event_type", "type", rf_event_types[i]);
		if (!o || json_array_append_new(data, o) != 0)
			goto fail;
	}
	list = rf_json_list(data, false);
	data = NULL;
	if (!list)
		goto fail;
	text = json_dumps(list, JSON_COMPACT | JSON_ENSURE_ASCII);
	if (!text)
		goto fail;
	/* The list is part of the binary, like the currency table. */
	rf_resp_header(c->req, "Cache-Control", "public, max-age=300");
	rf_resp_send(c->req, 200, "application/json", text, strlen(text));
	free(text);
	json_decref(list);
	return;
fail:
	json_decref(data);
	json_decref(list);
	rf_json_fail(c, RF_ENOMEM, NULL, "out of memory listing the event types");
}
