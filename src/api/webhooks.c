/* SPDX-License-Identifier: Apache-2.0 */
/* /api/v1/webhook-endpoints: where integrators want events (Standard Webhooks), their signing secrets (shown once,
 * rotated with a day of overlap), a test event, the delivery log, a resend and a replay of a time range. Admins
 * and owners only. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/clock.h"
#include "../core/secret.h"
#include "../core/stdwebhooks.h"
#include "../core/text.h"
#include "../core/url.h"
#include "../svc/webhooks.h"
#include "api.h"

/* How long the secret before a rotation keeps signing beside the new one. */
#define ROTATION_OVERLAP_MS (24LL * 3600 * 1000)
/* The most events one replay queues. */
#define REPLAY_MAX 10000

static const rf_jfield create_fields[] = {
    {"url", RF_JT_STRING, false, RF_URL_MAX, NULL},
    {"event_types", RF_JT_STRINGS, false, 64, NULL},
    {"program_id", RF_JT_STRING, true, 64, NULL},
    {"description", RF_JT_STRING, true, 500, NULL},
    {NULL, 0, false, 0, NULL},
};

static const rf_jfield update_fields[] = {
    {"url", RF_JT_STRING, false, RF_URL_MAX, NULL}, {"event_types", RF_JT_STRINGS, false, 64, NULL},
    {"program_id", RF_JT_STRING, true, 64, NULL},   {"description", RF_JT_STRING, true, 500, NULL},
    {"status", RF_JT_STRING, false, 16, NULL},      {NULL, 0, false, 0, NULL},
};

static const rf_jfield replay_fields[] = {
    {"from", RF_JT_STRING, false, 40, NULL},
    {"to", RF_JT_STRING, false, 40, NULL},
    {"types", RF_JT_STRINGS, false, 64, NULL},
    {NULL, 0, false, 0, NULL},
};

/* An endpoint's URL: absolute, https:// unless the instance lets webhooks reach private networks (then http:// too).
 * Where it really goes is checked again at each delivery, on the address connected to. */
static rf_status check_url(rf_ctx *c, const char *url, rf_err *err)
{
	char host[RF_URL_HOST_MAX];
	if (rf_url_check(url, host, sizeof host, err) != RF_OK)
		return rf_err_blame(err, "url");
	bool https = strncmp(url, "https://", 8) == 0;
	if (!https && !c->app->cfg->webhook_allow_private)
		return rf_err_set(err, RF_EINVAL, "url",
				  "url must be an https:// URL (http:// only where refd serve --webhook-allow-private "
				  "lets webhooks reach private networks)");
	if (strchr(url, '#'))
		return rf_err_set(err, RF_EINVAL, "url", "url cannot hold a #fragment (it is never sent)");
	return RF_OK;
}

/* The event types as a JSON array text: each a known type, none twice, or "*" alone for every type. */
static rf_status check_types(json_t *v, const char *field, bool allow_star, rf_arena *a, char **out, rf_err *err)
{
	size_t n = json_array_size(v);
	if (n == 0)
		return rf_err_set(err, RF_EINVAL, field, "%s needs at least one event type%s", field,
				  allow_star ? " (or [\"*\"] for every type)" : "");
	size_t i;
	json_t *t;
	json_array_foreach(v, i, t)
	{
		const char *s = json_string_value(t);
		if (allow_star && strcmp(s, "*") == 0) {
			if (n != 1)
				return rf_err_set(err, RF_EINVAL, field,
						  "%s: \"*\" stands for every type and stands alone", field);
			continue;
		}
		if (!rf_event_type_known(s))
			return rf_err_set(err, RF_EINVAL, field,
					  "%s[%zu]: no event has type '%.64s' (see the Event schema for the types)",
					  field, i, s);
		for (size_t k = 0; k < i; k++)
			if (strcmp(json_string_value(json_array_get(v, k)), s) == 0)
				return rf_err_set(err, RF_EINVAL, field, "%s: '%s' appears twice", field, s);
	}
	char *text = json_dumps(v, JSON_COMPACT);
	*out = text ? rf_arena_strdup(a, text) : NULL;
	free(text);
	return *out ? RF_OK : rf_err_set(err, RF_ENOMEM, NULL, "out of memory");
}

/* Applies the members present in body to w (creating: the required ones must be there). */
static rf_status apply(rf_ctx *c, json_t *body, rf_webhook_endpoint *w, bool creating, rf_err *err)
{
	const char *url = rf_json_str(body, "url");
	if (url) {
		if (check_url(c, url, err) != RF_OK)
			return err->status;
		w->url = rf_arena_strdup(c->a, url);
	} else if (creating) {
		return rf_err_set(err, RF_EINVAL, "url", "url is required (where refd sends the events: https://...)");
	}
	json_t *types = json_object_get(body, "event_types");
	if (types) {
		if (check_types(types, "event_types", true, c->a, &w->event_types, err) != RF_OK)
			return err->status;
	} else if (creating) {
		return rf_err_set(err, RF_EINVAL, "event_types",
				  "event_types is required: the types the endpoint wants, or [\"*\"] for every type");
	}
	json_t *pid = json_object_get(body, "program_id");
	if (pid && json_is_null(pid)) {
		w->program_id = NULL;
	} else if (pid) {
		rf_program p;
		rf_status rc = rf_store_program_get(c->app->store, json_string_value(pid), &p, c->a, err);
		if (rc == RF_ENOTFOUND)
			return rf_err_set(err, RF_EINVAL, "program_id", "program_id: no such program %.64s",
					  json_string_value(pid));
		if (rc != RF_OK)
			return rc;
		w->program_id = p.id;
	}
	json_t *desc = json_object_get(body, "description");
	if (desc) {
		const char *d = rf_trim_arena(c->a, json_string_value(desc));
		w->description = d && *d ? (char *)d : NULL;
	}
	return RF_OK;
}

/* The endpoint of the path, locked by the router for writing routes; sends 404 and returns false when none. */
static bool load(rf_ctx *c, rf_webhook_endpoint *w)
{
	rf_err err = {0};
	rf_status rc = rf_store_webhook_endpoint_get(c->app->store, c->params[0], w, c->a, &err);
	return rf_api_found(c, rc, &err, "webhook endpoint");
}

/* A new secret for w, sealed with the instance key; *shown is the secret in clear, for the answer only. */
static rf_status new_secret(rf_ctx *c, rf_webhook_endpoint *w, char *shown, rf_err *err)
{
	rf_swh_secret_new(shown);
	if (rf_seal(c->app->cfg->secret, shown, c->a, &w->secret_sealed, &w->secret_sealed_len) != RF_OK)
		return rf_err_set(err, RF_ENOMEM, NULL, "out of memory");
	return RF_OK;
}

static void send_with_secret(rf_ctx *c, int status, const rf_webhook_endpoint *w, char *secret)
{
	json_t *out = rf_view_webhook_endpoint(w);
	json_object_set_new(out, "secret", json_string(secret));
	sodium_memzero(secret, RF_SWH_SECRET_MAX);
	rf_json_send(c, status, out);
}

void rf_api_webhooks_create(rf_ctx *c)
{
	rf_err err = {0};
	json_t *body = rf_api_body(c, create_fields);
	if (!body)
		return;
	rf_webhook_endpoint w;
	memset(&w, 0, sizeof w);
	char secret[RF_SWH_SECRET_MAX];
	if (apply(c, body, &w, true, &err) != RF_OK)
		goto fail;
	w.id = rf_id_new_arena(c->a, "wh");
	w.status = "enabled";
	w.created_at = w.updated_at = rf_clock_now_ms();
	if (new_secret(c, &w, secret, &err) != RF_OK ||
	    rf_store_webhook_endpoint_insert(c->app->store, &w, &err) != RF_OK ||
	    rf_api_audit(c, "webhook_endpoint.create", w.id, NULL, &err) != RF_OK)
		goto fail;
	json_decref(body);
	send_with_secret(c, 201, &w, secret);
	return;
fail:
	json_decref(body);
	rf_json_error(c, &err);
}

void rf_api_webhooks_list(rf_ctx *c)
{
	rf_err err = {0};
	rf_page page;
	rf_webhook_endpoint *items = NULL;
	size_t n = 0;
	bool more = false;
	if (rf_json_page(c, &page, &err) != RF_OK ||
	    rf_store_webhook_endpoint_list(c->app->store, &page, &items, &n, &more, c->a, &err) != RF_OK) {
		rf_json_error(c, &err);
		return;
	}
	json_t *data = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(data, rf_view_webhook_endpoint(&items[i]));
	rf_json_send(c, 200, rf_json_list(data, more));
}

void rf_api_webhooks_get(rf_ctx *c)
{
	rf_webhook_endpoint w;
	if (load(c, &w))
		rf_json_send(c, 200, rf_view_webhook_endpoint(&w));
}

void rf_api_webhooks_update(rf_ctx *c)
{
	rf_err err = {0};
	json_t *body = rf_api_body(c, update_fields);
	if (!body)
		return;
	rf_webhook_endpoint w;
	if (!load(c, &w)) {
		json_decref(body);
		return;
	}
	const char *status = rf_json_str(body, "status");
	int64_t now = rf_clock_now_ms();
	if (status && strcmp(status, "enabled") != 0 && strcmp(status, "disabled") != 0) {
		rf_err_set(&err, RF_EINVAL, "status", "status must be enabled or disabled");
		goto fail;
	}
	if (apply(c, body, &w, false, &err) != RF_OK)
		goto fail;
	w.updated_at = now;
	if (status && strcmp(status, "disabled") == 0 && strcmp(w.status, "disabled") != 0) {
		/* Its pending deliveries go with it: a replay sends what it missed once it is enabled again. */
		if (rf_svc_webhook_disable(rf_ctx_svc(c), &w, "disabled by an admin", false, now, &err) != RF_OK)
			goto fail;
	} else {
		if (status && strcmp(status, "enabled") == 0 && strcmp(w.status, "enabled") != 0) {
			w.status = "enabled";
			w.disabled_reason = NULL;
			w.failing_since = 0;
		}
		if (rf_store_webhook_endpoint_update(c->app->store, &w, &err) != RF_OK)
			goto fail;
	}
	if (rf_api_audit(c, "webhook_endpoint.update", w.id, NULL, &err) != RF_OK)
		goto fail;
	json_decref(body);
	rf_json_send(c, 200, rf_view_webhook_endpoint(&w));
	return;
fail:
	json_decref(body);
	rf_json_error(c, &err);
}

void rf_api_webhooks_delete(rf_ctx *c)
{
	rf_err err = {0};
	rf_webhook_endpoint w;
	if (!load(c, &w))
		return;
	if (rf_store_webhook_endpoint_delete(c->app->store, w.id, &err) != RF_OK ||
	    rf_api_audit(c, "webhook_endpoint.delete", w.id, NULL, &err) != RF_OK) {
		rf_json_error(c, &err);
		return;
	}
	rf_json_send(c, 200, json_pack("{s:s, s:s, s:b}", "id", w.id, "object", "webhook_endpoint", "deleted", 1));
}

void rf_api_webhooks_rotate(rf_ctx *c)
{
	rf_err err = {0};
	rf_webhook_endpoint w;
	if (!load(c, &w))
		return;
	int64_t now = rf_clock_now_ms();
	char secret[RF_SWH_SECRET_MAX];
	/* The current secret keeps signing beside the new one for a day, so that receivers can switch without missing
	 * a delivery; a secret from an earlier rotation stops at once. */
	w.old_secret_sealed = w.secret_sealed;
	w.old_secret_sealed_len = w.secret_sealed_len;
	w.old_secret_until = now + ROTATION_OVERLAP_MS;
	w.updated_at = now;
	if (new_secret(c, &w, secret, &err) != RF_OK ||
	    rf_store_webhook_endpoint_update(c->app->store, &w, &err) != RF_OK ||
	    rf_api_audit(c, "webhook_endpoint.rotate_secret", w.id, NULL, &err) != RF_OK) {
		rf_json_error(c, &err);
		return;
	}
	send_with_secret(c, 200, &w, secret);
}

/* Refuses to queue anything for a disabled endpoint (its deliveries would be cancelled unsent). */
static bool enabled(rf_ctx *c, const rf_webhook_endpoint *w)
{
	if (strcmp(w->status, "enabled") == 0)
		return true;
	rf_json_fail(c, RF_ECONFLICT, "status",
		     "the webhook endpoint is disabled: enable it (PATCH status enabled) before sending it anything");
	return false;
}

/* A delivery as the log shows it, with its attempts and its event's type. */
static json_t *delivery_json(rf_ctx *c, const rf_delivery *d, rf_err *err)
{
	rf_delivery_attempt *ats = NULL;
	size_t n = 0;
	rf_event ev;
	const char *type = NULL;
	if (rf_store_delivery_attempts(c->app->store, d->id, &ats, &n, c->a, err) != RF_OK)
		return NULL;
	rf_status rc = rf_store_event_get(c->app->store, d->event_id, &ev, c->a, err);
	if (rc == RF_OK)
		type = ev.type;
	else if (rc != RF_ENOTFOUND)
		return NULL;
	return rf_view_webhook_delivery(d, type, ats, n);
}

void rf_api_webhooks_test(rf_ctx *c)
{
	rf_err err = {0};
	rf_webhook_endpoint w;
	if (!load(c, &w) || !enabled(c, &w))
		return;
	rf_delivery d;
	json_t *out = NULL;
	if (rf_svc_webhook_test(rf_ctx_svc(c), &w, NULL, &d, &err) != RF_OK ||
	    rf_api_audit(c, "webhook_endpoint.test", w.id, NULL, &err) != RF_OK ||
	    !(out = delivery_json(c, &d, &err))) {
		rf_json_error(c, &err);
		return;
	}
	rf_json_send(c, 202, out);
}

void rf_api_webhooks_deliveries(rf_ctx *c)
{
	rf_err err = {0};
	rf_delivery_filter f;
	memset(&f, 0, sizeof f);
	if (rf_json_page(c, &f.page, &err) != RF_OK) {
		rf_json_error(c, &err);
		return;
	}
	f.status = rf_req_query(c->req, "status");
	if (f.status && strcmp(f.status, "pending") != 0 && strcmp(f.status, "delivered") != 0 &&
	    strcmp(f.status, "failed") != 0 && strcmp(f.status, "cancelled") != 0) {
		rf_json_fail(c, RF_EINVAL, "status", "status must be pending, delivered, failed or cancelled");
		return;
	}
	rf_webhook_endpoint w;
	if (!load(c, &w))
		return;
	f.target_id = w.id;
	rf_delivery *items = NULL;
	size_t n = 0;
	bool more = false;
	if (rf_store_delivery_list(c->app->store, &f, &items, &n, &more, c->a, &err) != RF_OK) {
		rf_json_error(c, &err);
		return;
	}
	json_t *data = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *one = delivery_json(c, &items[i], &err);
		if (!one) {
			json_decref(data);
			rf_json_error(c, &err);
			return;
		}
		json_array_append_new(data, one);
	}
	rf_json_send(c, 200, rf_json_list(data, more));
}

void rf_api_webhooks_resend(rf_ctx *c)
{
	rf_err err = {0};
	rf_webhook_endpoint w;
	if (!load(c, &w))
		return;
	rf_delivery old, d;
	rf_status rc = rf_store_delivery_get(c->app->store, c->params[1], &old, c->a, &err);
	/* Another endpoint's delivery is not this one's to resend: as if it did not exist. */
	if (rc == RF_OK && (strcmp(old.kind, "webhook") != 0 || strcmp(old.target_id, w.id) != 0))
		rc = RF_ENOTFOUND;
	if (rc == RF_ENOTFOUND) {
		rf_json_fail(c, RF_ENOTFOUND, "delivery_id", "no such delivery of this endpoint: %s", c->params[1]);
		return;
	}
	if (rc != RF_OK) {
		rf_json_error(c, &err);
		return;
	}
	if (!enabled(c, &w))
		return;
	rf_event ev;
	rc = rf_store_event_get(c->app->store, old.event_id, &ev, c->a, &err);
	if (rc == RF_ENOTFOUND) {
		rf_json_fail(c, RF_ECONFLICT, "delivery_id",
			     "the event of this delivery is no longer kept (past --event-retention-days)");
		return;
	}
	json_t *out = NULL;
	if (rc != RF_OK || rf_svc_webhook_enqueue(rf_ctx_svc(c), &ev, w.id, &d, &err) != RF_OK ||
	    rf_api_audit(c, "webhook_endpoint.resend", d.id, NULL, &err) != RF_OK ||
	    !(out = delivery_json(c, &d, &err))) {
		rf_json_error(c, &err);
		return;
	}
	rf_json_send(c, 202, out);
}

/* A time member of the body (RFC 3339), required. */
static rf_status time_member(json_t *body, const char *name, int64_t *out, rf_err *err)
{
	const char *v = rf_json_str(body, name);
	if (!v)
		return rf_err_set(err, RF_EINVAL, name, "%s is required (an RFC 3339 time)", name);
	if (rf_clock_parse(v, out) != 0)
		return rf_err_set(err, RF_EINVAL, name, "%s must be an RFC 3339 time", name);
	return RF_OK;
}

void rf_api_webhooks_replay(rf_ctx *c)
{
	rf_err err = {0};
	json_t *body = rf_api_body(c, replay_fields);
	if (!body)
		return;
	rf_webhook_endpoint w;
	if (!load(c, &w)) {
		json_decref(body);
		return;
	}
	int64_t from = 0, to = 0;
	char *only = NULL;
	json_t *types = json_object_get(body, "types");
	rf_event_filter f;
	memset(&f, 0, sizeof f);
	int queued = 0;
	if (time_member(body, "from", &from, &err) != RF_OK || time_member(body, "to", &to, &err) != RF_OK ||
	    (types && check_types(types, "types", false, c->a, &only, &err) != RF_OK))
		goto fail;
	if (to <= from) {
		rf_err_set(&err, RF_EINVAL, "to", "to must come after from");
		goto fail;
	}
	if (!enabled(c, &w)) {
		json_decref(body);
		return;
	}
	/* Every event of the range the endpoint wants (and of the types asked, when asked), oldest first. */
	f.page.limit = 100;
	f.oldest_first = true;
	f.program_id = w.program_id;
	f.created_from = from;
	f.created_to = to;
	json_t *wanted = only ? json_loads(only, 0, NULL) : NULL;
	/* Pages are read into an arena of their own, emptied after each, so that a long range stays within bounds. */
	rf_arena pa;
	rf_arena_init(&pa, 64u << 20);
	char after[128] = "";
	rf_status rc = RF_OK;
	for (bool more = true; rc == RF_OK && more;) {
		rf_event *items = NULL;
		size_t n = 0;
		f.page.starting_after = after[0] ? after : NULL;
		rc = rf_store_event_list(c->app->store, &f, &items, &n, &more, &pa, &err);
		for (size_t i = 0; rc == RF_OK && i < n; i++) {
			const rf_event *ev = &items[i];
			bool asked = !wanted;
			size_t k;
			json_t *t;
			json_array_foreach(wanted, k, t)
			{
				asked = asked || strcmp(json_string_value(t), ev->type) == 0;
			}
			/* A test event was for one endpoint, once. */
			if (!asked || strcmp(ev->type, "webhook.test") == 0 || !rf_webhook_endpoint_wants(&w, ev->type))
				continue;
			if (++queued > REPLAY_MAX)
				rc = rf_err_set(
				    &err, RF_EINVAL, "to",
				    "the range holds more than %d events for this endpoint: replay a shorter one",
				    REPLAY_MAX);
			else
				rc = rf_svc_webhook_enqueue(rf_ctx_svc(c), ev, w.id, NULL, &err);
		}
		if (n)
			snprintf(after, sizeof after, "%s", items[n - 1].id);
		rf_arena_reset(&pa);
	}
	json_decref(wanted);
	if (rc != RF_OK)
		goto fail;
	char detail[128];
	snprintf(detail, sizeof detail, "{\"queued\":%d}", queued);
	if (rf_api_audit(c, "webhook_endpoint.replay", w.id, detail, &err) != RF_OK)
		goto fail;
	json_decref(body);
	rf_json_send(c, 202,
		     json_pack("{s:s, s:s, s:I, s:o, s:o}", "object", "webhook_replay", "endpoint_id", w.id, "queued",
			       (json_int_t)queued, "from", rf_json_time(from), "to", rf_json_time(to)));
	return;
fail:
	json_decref(body);
	rf_json_error(c, &err);
}
