/* SPDX-License-Identifier: Apache-2.0 */
/* The CRMs' webhooks (POST /api/v1/integrations/hubspot/webhook?connection=…): each request checked as its system
 * signs or authenticates it, each event logged once on its connection (processed, ignored, duplicate, refused and
 * why), and the work that needs the CRM's API queued for after the answer; and GET /integrations/{id}/deliveries,
 * what refd sent to a connected system and how it went. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/clock.h"
#include "../core/crm.h"
#include "../svc/crm.h"
#include "../svc/integrations.h"
#include "api.h"

/* Loads the connection a webhook names (?connection=…) for system; sends 404 when there is none. */
static bool webhook_connection(rf_ctx *c, const char *system, rf_connection *conn)
{
	rf_err err = {0};
	const char *id = rf_req_query(c->req, "connection");
	if (!id) {
		rf_json_fail(c, RF_EINVAL, "connection",
			     "the webhook URL names its connection (?connection=conn_…): copy it from the connection");
		return false;
	}
	rf_status rc = rf_store_connection_get(c->app->store, id, conn, c->a, &err);
	if (rc == RF_OK && strcmp(conn->system, system) != 0)
		rc = RF_ENOTFOUND;
	return rf_api_found(c, rc, &err, "connection");
}

/* Logs a refused request on the connection and answers status with the reason; the log is kept though the answer is
 * an error. */
static void refuse(rf_ctx *c, rf_connection *conn, int status, const char *field, const char *type, const char *why)
{
	rf_err err = {0};
	rf_inbound_event e;
	memset(&e, 0, sizeof e);
	e.outcome = "refused";
	e.type = (char *)type;
	e.reason = (char *)why;
	e.status_code = status;
	if (rf_svc_inbound_log(rf_ctx_svc(c), conn, &e, &err) != RF_OK) {
		rf_json_error(c, &err);
		return;
	}
	c->out.keep = true;
	rf_json_fail(c, status == 401 ? RF_EUNAUTH : status == 403 ? RF_EFORBIDDEN : RF_EINVAL, field, "%s", why);
}

/* The start of every CRM webhook: the system as the actor, the connection the URL names (of that system) and
 * enabled; false when the request has been answered. */
static bool open_webhook(rf_ctx *c, const char *system, rf_connection *conn)
{
	c->who.actor = (char *)system;
	if (!webhook_connection(c, system, conn))
		return false;
	if (strcmp(conn->status, "enabled") != 0) {
		refuse(c, conn, 403, "connection", NULL, "the connection is disabled");
		return false;
	}
	return true;
}

/* The URL the system called, as refd's public address gives it. */
static char *called_url(rf_ctx *c)
{
	const char *q = rf_req_raw_query(c->req);
	return rf_arena_printf(c->a, "%s%s%s%s", c->app->cfg->public_url, rf_req_path(c->req), q && *q ? "?" : "",
			       q ? q : "");
}

/* A credential of the connection, or NULL (err set when they cannot be read). */
static const char *credential(rf_ctx *c, const rf_connection *conn, const char *name, rf_err *err)
{
	json_t *creds = NULL;
	if (rf_svc_connection_credentials(rf_ctx_svc(c), conn, &creds, err) != RF_OK)
		return NULL;
	const char *v = json_string_value(json_object_get(creds, name));
	char *out = v ? rf_arena_strdup(c->a, v) : NULL;
	json_decref(creds);
	return out;
}

/* The HubSpot events refd reads the record of afterwards: contacts made, deals made or changed in what refd uses. */
static bool hubspot_wanted(const rf_hubspot_event *e)
{
	if (!e->type)
		return false;
	if (strcmp(e->type, "contact.creation") == 0 || strcmp(e->type, "deal.creation") == 0)
		return true;
	if (strcmp(e->type, "deal.propertyChange") != 0 || !e->property)
		return false;
	static const char *const props[] = {"dealstage", "amount", "deal_currency_code", "closedate", NULL};
	for (int i = 0; props[i]; i++)
		if (strcmp(e->property, props[i]) == 0)
			return true;
	return false;
}

void rf_api_hubspot_webhook(rf_ctx *c)
{
	rf_err err = {0};
	rf_connection conn;
	if (!open_webhook(c, "hubspot", &conn))
		return;
	const char *secret = credential(c, &conn, "client_secret", &err);
	if (err.status) {
		rf_json_error(c, &err);
		return;
	}
	if (!secret) {
		refuse(c, &conn, 401, "X-HubSpot-Signature-v3", NULL,
		       "the connection has no credentials.client_secret (the app's client secret) to check "
		       "signatures with");
		return;
	}
	size_t len = 0;
	const char *body = rf_req_body(c->req, &len);
	const char *sig = rf_req_header(c->req, "X-HubSpot-Signature-v3");
	const char *ts = rf_req_header(c->req, "X-HubSpot-Request-Timestamp");
	if (!sig || !ts) {
		refuse(c, &conn, 401, sig ? "X-HubSpot-Request-Timestamp" : "X-HubSpot-Signature-v3", NULL,
		       "the request has no X-HubSpot-Signature-v3 and X-HubSpot-Request-Timestamp");
		return;
	}
	bool stale = false;
	if (!rf_hubspot_verify_v3(secret, rf_req_method(c->req), called_url(c), body ? body : "", len, ts, sig,
				  rf_clock_now_ms(), c->a, &stale)) {
		refuse(c, &conn, 401, stale ? "X-HubSpot-Request-Timestamp" : "X-HubSpot-Signature-v3", NULL,
		       stale ? "the request's timestamp is more than 5 minutes old (or not a time in milliseconds)"
			     : "the signature does not match the request (method, URL, body and timestamp)");
		return;
	}
	rf_hubspot_event *evs = NULL;
	size_t n = 0;
	if (rf_hubspot_parse(body, len, c->a, &evs, &n, &err) != RF_OK) {
		refuse(c, &conn, 400, err.field, NULL, err.message);
		return;
	}
	json_t *outcomes = json_array();
	for (size_t i = 0; i < n; i++) {
		const rf_hubspot_event *h = &evs[i];
		rf_inbound_event e, prev;
		memset(&e, 0, sizeof e);
		e.event_id = h->event_id;
		e.type = h->type;
		e.occurred_at = h->occurred_at;
		e.status_code = 200;
		rf_status rc = rf_svc_inbound_seen(rf_ctx_svc(c), &conn, h->dedupe_key, &prev, &err);
		if (rc == RF_OK) {
			e.outcome = "duplicate";
			e.object_id = prev.object_id;
			e.reason = rf_arena_printf(c->a, "the same event again (attempt %lld), handled as %s",
						   (long long)h->attempt, prev.id);
		} else if (rc != RF_ENOTFOUND) {
			goto fail;
		} else {
			memset(&err, 0, sizeof err);
			e.dedupe_key = h->dedupe_key;
			json_t *p = json_pack("{s:s?, s:s, s:s, s:s?, s:s?, s:I}", "type", h->type, "objectId",
					      h->object_id, "eventId", h->event_id, "propertyName", h->property,
					      "propertyValue", h->value, "occurredAt", (json_int_t)h->occurred_at);
			char *text = p ? json_dumps(p, JSON_COMPACT) : NULL;
			json_decref(p);
			e.payload = text ? rf_arena_strdup(c->a, text) : NULL;
			free(text);
			if (hubspot_wanted(h)) {
				e.outcome = "processed";
				e.reason = rf_arena_printf(c->a, "queued: refd reads %s %s from HubSpot",
							   strncmp(h->type, "contact", 7) == 0 ? "contact" : "deal",
							   h->object_id);
			} else {
				e.outcome = "ignored";
				e.reason = rf_arena_printf(c->a, "refd does not use %.100s%s%.100s events",
							   h->type ? h->type : "untyped", h->property ? " of " : "",
							   h->property ? h->property : "");
			}
		}
		if (rf_svc_inbound_log(rf_ctx_svc(c), &conn, &e, &err) != RF_OK)
			goto fail;
		if (e.dedupe_key && strcmp(e.outcome, "processed") == 0 &&
		    rf_svc_crm_queue_fetch(rf_ctx_svc(c), &conn, &e, &err) != RF_OK)
			goto fail;
		json_array_append_new(outcomes,
				      json_pack("{s:s, s:s, s:s, s:o}", "event_id", h->event_id, "id", e.id, "outcome",
						e.outcome, "object_id", rf_json_nullable(e.object_id)));
	}
	rf_json_send(c, 200, json_pack("{s:b, s:s, s:o}", "received", 1, "connection_id", conn.id, "events", outcomes));
	return;
fail:
	json_decref(outcomes);
	rf_json_error(c, &err);
}

/* Handles one Pipedrive event inside the open transaction. */
static rf_status pipedrive_handle(rf_ctx *c, const rf_connection *conn, const rf_pipedrive_event *p, rf_crm_result *r,
				  rf_err *err)
{
	memset(r, 0, sizeof *r);
	bool write = strcmp(p->action, "create") == 0 || strcmp(p->action, "change") == 0;
	if (write && strcmp(p->entity, "person") == 0 && p->object_id) {
		rf_crm_contact ct = {.id = p->object_id,
				     .email = p->email,
				     .first_name = p->first_name,
				     .last_name = p->last_name,
				     .name = p->name,
				     .phone = p->phone,
				     .code = p->code,
				     .click = p->click,
				     .modified_at = p->updated_at};
		return rf_svc_crm_contact(rf_ctx_svc(c), conn, &ct, r, err);
	}
	if (write && strcmp(p->entity, "deal") == 0 && p->object_id) {
		rf_crm_deal d = {.id = p->object_id,
				 .stage = p->stage,
				 .won = p->status && strcmp(p->status, "won") == 0,
				 .lost = p->status && strcmp(p->status, "lost") == 0,
				 .amount = p->amount,
				 .currency = p->currency,
				 .closed_at = p->won_at,
				 .modified_at = p->updated_at,
				 .code = p->code,
				 .click = p->click,
				 .contact_id = p->person_id,
				 .event_id = p->id};
		return rf_svc_crm_deal(rf_ctx_svc(c), conn, &d, NULL, r, err);
	}
	r->outcome = "ignored";
	r->note = rf_arena_printf(c->a, "refd does not use %.32s events of %.32s", p->action, p->entity);
	return RF_OK;
}

void rf_api_pipedrive_webhook(rf_ctx *c)
{
	rf_err err = {0};
	rf_connection conn;
	if (!open_webhook(c, "pipedrive", &conn))
		return;
	json_t *creds = NULL;
	if (rf_svc_connection_credentials(rf_ctx_svc(c), &conn, &creds, &err) != RF_OK) {
		rf_json_error(c, &err);
		return;
	}
	const char *user = json_string_value(json_object_get(creds, "username"));
	const char *pass = json_string_value(json_object_get(creds, "password"));
	bool ok = user && pass && rf_basic_auth_ok(rf_req_header(c->req, "Authorization"), user, pass);
	const char *code_field = json_string_value(json_object_get(creds, "code_field"));
	const char *click_field = json_string_value(json_object_get(creds, "click_field"));
	code_field = code_field ? rf_arena_strdup(c->a, code_field) : NULL;
	click_field = click_field ? rf_arena_strdup(c->a, click_field) : NULL;
	json_decref(creds);
	if (!user || !pass) {
		refuse(c, &conn, 401, "Authorization", NULL,
		       "the connection has no credentials.username and credentials.password (the webhook's HTTP "
		       "Basic authentication in Pipedrive)");
		return;
	}
	if (!ok) {
		refuse(c, &conn, 401, "Authorization", NULL,
		       "the request's Basic authentication is missing or does not match the connection's");
		return;
	}
	size_t len = 0;
	const char *body = rf_req_body(c->req, &len);
	rf_pipedrive_event p;
	if (rf_pipedrive_parse(body, len, code_field, click_field, c->a, &p, &err) != RF_OK) {
		refuse(c, &conn, 400, err.field, NULL, err.message);
		return;
	}
	rf_inbound_event e, prev;
	memset(&e, 0, sizeof e);
	e.event_id = p.id;
	e.type = rf_arena_printf(c->a, "%s.%s", p.entity, p.action);
	e.occurred_at = p.at;
	e.status_code = 200;
	rf_status rc = rf_svc_inbound_seen(rf_ctx_svc(c), &conn, p.id, &prev, &err);
	if (rc == RF_OK) {
		e.outcome = "duplicate";
		e.object_id = prev.object_id;
		e.reason = rf_arena_printf(c->a, "the same event again (attempt %lld), handled as %s",
					   (long long)p.attempt, prev.id);
	} else if (rc != RF_ENOTFOUND) {
		goto fail;
	} else {
		memset(&err, 0, sizeof err);
		e.dedupe_key = p.id;
		if (rf_store_savepoint(c->app->store, "crm_event", &err) != RF_OK)
			goto fail;
		rf_crm_result r;
		rc = pipedrive_handle(c, &conn, &p, &r, &err);
		if (rc == RF_EINVAL || rc == RF_ECONFLICT || rc == RF_EOVERFLOW) {
			/* Pipedrive would send it again and again: an event refd cannot use is answered and logged as
			 * ignored with refd's reason, without what its handling wrote before it gave up. */
			rf_err keep = err;
			if (rf_store_rollback_to(c->app->store, "crm_event", &err) != RF_OK)
				goto fail;
			memset(&r, 0, sizeof r);
			r.outcome = "ignored";
			r.note = rf_arena_strdup(c->a, keep.message);
			memset(&err, 0, sizeof err);
		} else if (rc != RF_OK) {
			goto fail;
		}
		e.outcome = (char *)r.outcome;
		e.reason = (char *)r.note;
		e.object_id = r.object_id;
	}
	if (rf_svc_inbound_log(rf_ctx_svc(c), &conn, &e, &err) != RF_OK)
		goto fail;
	rf_json_send(c, 200,
		     json_pack("{s:b, s:s, s:[{s:s, s:s, s:s, s:o}]}", "received", 1, "connection_id", conn.id,
			       "events", "event_id", p.id, "id", e.id, "outcome", e.outcome, "object_id",
			       rf_json_nullable(e.object_id)));
	return;
fail:
	rf_json_error(c, &err);
}

/* A Salesforce date ("2026-01-05") or datetime in ms; 0 when neither. */
static int64_t sf_time(const char *s)
{
	int64_t ms = 0;
	if (!s)
		return 0;
	if (strlen(s) == 10) {
		char buf[32];
		snprintf(buf, sizeof buf, "%sT00:00:00Z", s);
		return rf_clock_parse(buf, &ms) == 0 ? ms : 0;
	}
	return rf_clock_parse(s, &ms) == 0 ? ms : 0;
}

/* Handles one Salesforce notification inside the open transaction. */
static rf_status salesforce_handle(rf_ctx *c, const rf_connection *conn, const rf_salesforce_notification *n,
				   const char *code_field, const char *click_field, rf_crm_result *r, rf_err *err)
{
	memset(r, 0, sizeof *r);
	const char *id = rf_salesforce_value(n, "Id");
	if (!id) {
		r->outcome = "ignored";
		r->note = "the notification's record has no Id";
		return RF_OK;
	}
	if (strcmp(n->type, "Lead") == 0 || strcmp(n->type, "Contact") == 0) {
		rf_crm_contact ct = {.id = id,
				     .email = rf_salesforce_value(n, "Email"),
				     .first_name = rf_salesforce_value(n, "FirstName"),
				     .last_name = rf_salesforce_value(n, "LastName"),
				     .company = rf_salesforce_value(n, "Company"),
				     .phone = rf_salesforce_value(n, "Phone"),
				     .code = rf_salesforce_value(n, code_field),
				     .click = rf_salesforce_value(n, click_field),
				     .modified_at = sf_time(rf_salesforce_value(n, "LastModifiedDate")),
				     .deal_id = rf_salesforce_value(n, "ConvertedOpportunityId")};
		return rf_svc_crm_contact(rf_ctx_svc(c), conn, &ct, r, err);
	}
	if (strcmp(n->type, "Opportunity") == 0) {
		const char *won = rf_salesforce_value(n, "IsWon"), *closed = rf_salesforce_value(n, "IsClosed");
		rf_crm_deal d = {.id = id,
				 .stage = rf_salesforce_value(n, "StageName"),
				 .won = won && strcmp(won, "true") == 0,
				 .lost = closed && strcmp(closed, "true") == 0 && !(won && strcmp(won, "true") == 0),
				 .amount = rf_salesforce_value(n, "Amount"),
				 .currency = rf_salesforce_value(n, "CurrencyIsoCode"),
				 .closed_at = sf_time(rf_salesforce_value(n, "CloseDate")),
				 .modified_at = sf_time(rf_salesforce_value(n, "LastModifiedDate")),
				 .code = rf_salesforce_value(n, code_field),
				 .click = rf_salesforce_value(n, click_field),
				 .event_id = n->id};
		return rf_svc_crm_deal(rf_ctx_svc(c), conn, &d, NULL, r, err);
	}
	r->outcome = "ignored";
	r->note = rf_arena_printf(c->a, "refd does not use %.60s records", n->type);
	return RF_OK;
}

void rf_api_salesforce_webhook(rf_ctx *c)
{
	rf_err err = {0};
	rf_connection conn;
	if (!open_webhook(c, "salesforce", &conn))
		return;
	json_t *creds = NULL;
	if (rf_svc_connection_credentials(rf_ctx_svc(c), &conn, &creds, &err) != RF_OK) {
		rf_json_error(c, &err);
		return;
	}
	const char *v = json_string_value(json_object_get(creds, "organization_id"));
	const char *org = v ? rf_arena_strdup(c->a, v) : NULL;
	v = json_string_value(json_object_get(creds, "code_field"));
	const char *code_field = rf_arena_strdup(c->a, v ? v : "Referral_Code__c");
	v = json_string_value(json_object_get(creds, "click_field"));
	const char *click_field = rf_arena_strdup(c->a, v ? v : "Refd_Click__c");
	json_decref(creds);
	if (!org) {
		refuse(
		    c, &conn, 401, "OrganizationId", NULL,
		    "the connection has no credentials.organization_id to check the messages' OrganizationId against");
		return;
	}
	size_t len = 0;
	const char *body = rf_req_body(c->req, &len);
	rf_salesforce_message m;
	if (rf_salesforce_parse(body, len, c->a, &m, &err) != RF_OK) {
		refuse(c, &conn, 400, err.field, NULL, err.message);
		return;
	}
	if (!rf_salesforce_same_org(m.organization_id, org)) {
		/* Another Salesforce customer can point its messages at any URL: only the connection's own count. */
		refuse(c, &conn, 403, "OrganizationId", NULL,
		       rf_arena_printf(c->a, "the message comes from organisation %.18s, not the connection's",
				       m.organization_id));
		return;
	}
	for (size_t i = 0; i < m.n; i++) {
		const rf_salesforce_notification *n = &m.items[i];
		rf_inbound_event e, prev;
		memset(&e, 0, sizeof e);
		e.event_id = n->id;
		e.type = n->type;
		e.occurred_at = sf_time(rf_salesforce_value(n, "LastModifiedDate"));
		e.status_code = 200;
		rf_status rc = rf_svc_inbound_seen(rf_ctx_svc(c), &conn, n->id, &prev, &err);
		if (rc == RF_OK) {
			e.outcome = "duplicate";
			e.object_id = prev.object_id;
			e.reason = rf_arena_printf(c->a, "the same notification again, handled as %s", prev.id);
		} else if (rc != RF_ENOTFOUND) {
			goto fail;
		} else {
			memset(&err, 0, sizeof err);
			e.dedupe_key = n->id;
			if (rf_store_savepoint(c->app->store, "crm_event", &err) != RF_OK)
				goto fail;
			rf_crm_result r;
			rc = salesforce_handle(c, &conn, n, code_field, click_field, &r, &err);
			if (rc == RF_EINVAL || rc == RF_ECONFLICT || rc == RF_EOVERFLOW) {
				/* Logged as ignored with refd's reason, without what its handling wrote: the message is
				 * still acknowledged, or Salesforce would send it for a day. */
				rf_err keep = err;
				if (rf_store_rollback_to(c->app->store, "crm_event", &err) != RF_OK)
					goto fail;
				memset(&r, 0, sizeof r);
				r.outcome = "ignored";
				r.note = rf_arena_strdup(c->a, keep.message);
				memset(&err, 0, sizeof err);
			} else if (rc != RF_OK) {
				goto fail;
			}
			e.outcome = (char *)r.outcome;
			e.reason = (char *)r.note;
			e.object_id = r.object_id;
		}
		if (rf_svc_inbound_log(rf_ctx_svc(c), &conn, &e, &err) != RF_OK)
			goto fail;
	}
	/* One acknowledgement, exactly as Outbound Messaging expects it, covers every notification of the message. */
	rf_ctx_send(c, 200, "text/xml; charset=utf-8", rf_salesforce_ack, rf_salesforce_ack_len);
	return;
fail:
	rf_json_error(c, &err);
}

/* A delivery as GET /integrations/{id}/deliveries shows it, with every attempt; NULL (err set) when its attempts
 * cannot be read. */
static json_t *delivery_json(rf_ctx *c, const rf_delivery *d, rf_err *err)
{
	rf_delivery_attempt *at = NULL;
	size_t na = 0;
	if (rf_store_delivery_attempts(c->app->store, d->id, &at, &na, c->a, err) != RF_OK)
		return NULL;
	json_t *attempts = json_array();
	for (size_t k = 0; k < na; k++)
		json_array_append_new(
		    attempts, json_pack("{s:o, s:o, s:I, s:o, s:o}", "at", rf_json_time(at[k].at), "status_code",
					at[k].has_status_code ? json_integer(at[k].status_code) : json_null(),
					"latency_ms", (json_int_t)at[k].latency_ms, "response",
					rf_json_nullable(at[k].response), "error", rf_json_nullable(at[k].error)));
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:o, s:o, s:o, s:o, s:o, s:o}", "object", "delivery", "id",
			 d->id, "connection_id", d->target_id, "source_id", d->event_id, "status", d->status,
			 "attempts", d->attempts, "next_at",
			 strcmp(d->status, "pending") == 0 ? rf_json_time(d->next_at) : json_null(), "last_status_code",
			 d->has_status_code ? json_integer(d->last_status_code) : json_null(), "last_error",
			 rf_json_nullable(d->last_error), "created_at", rf_json_time(d->created_at), "updated_at",
			 rf_json_time(d->updated_at), "attempt_log", attempts);
}

void rf_api_integrations_deliveries(rf_ctx *c)
{
	rf_err err = {0};
	rf_delivery_filter f;
	memset(&f, 0, sizeof f);
	if (rf_json_page(c, &f.page, &err) != RF_OK) {
		rf_json_error(c, &err);
		return;
	}
	f.status = rf_req_query(c->req, "status");
	static const char *const statuses[] = {"pending", "delivered", "failed", "cancelled"};
	bool known = !f.status;
	for (size_t i = 0; f.status && i < sizeof statuses / sizeof statuses[0]; i++)
		known |= strcmp(f.status, statuses[i]) == 0;
	if (!known) {
		rf_json_fail(c, RF_EINVAL, "status", "status must be pending, delivered, failed or cancelled");
		return;
	}
	rf_connection conn;
	rf_status rc = rf_store_connection_get(c->app->store, c->params[0], &conn, c->a, &err);
	if (!rf_api_found(c, rc, &err, "connection"))
		return;
	f.target_id = conn.id;
	rf_delivery *items = NULL;
	size_t n = 0;
	bool more = false;
	if (rf_store_delivery_list(c->app->store, &f, &items, &n, &more, c->a, &err) != RF_OK) {
		rf_json_error(c, &err);
		return;
	}
	json_t *data = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *o = delivery_json(c, &items[i], &err);
		if (!o) {
			json_decref(data);
			rf_json_error(c, &err);
			return;
		}
		json_array_append_new(data, o);
	}
	rf_json_send(c, 200, rf_json_list(data, more));
}

void rf_api_integrations_delivery_retry(rf_ctx *c)
{
	rf_err err = {0};
	rf_connection conn;
	rf_status rc = rf_store_connection_get(c->app->store, c->params[0], &conn, c->a, &err);
	if (!rf_api_found(c, rc, &err, "connection"))
		return;
	rf_delivery d;
	rc = rf_store_delivery_get(c->app->store, c->params[1], &d, c->a, &err);
	/* Another connection's delivery (or a webhook's, or a mail's) is not this one's to retry. */
	if (rc == RF_OK && (strcmp(d.kind, RF_CRM_DELIVERY) != 0 || strcmp(d.target_id, conn.id) != 0))
		rc = RF_ENOTFOUND;
	if (rc == RF_ENOTFOUND) {
		rf_json_fail(c, RF_ENOTFOUND, "delivery_id", "no such delivery of this connection: %s", c->params[1]);
		return;
	}
	if (rc != RF_OK) {
		rf_json_error(c, &err);
		return;
	}
	rc = rf_store_delivery_retry(c->app->store, d.id, rf_clock_now_ms(), &err);
	if (rc == RF_ECONFLICT) {
		rf_json_fail(c, RF_ECONFLICT, "delivery_id", "the delivery is %s: only a failed delivery is retried",
			     d.status);
		return;
	}
	json_t *out = NULL;
	if (rc != RF_OK || rf_api_audit(c, "integration.delivery_retry", d.id, NULL, &err) != RF_OK ||
	    rf_store_delivery_get(c->app->store, d.id, &d, c->a, &err) != RF_OK ||
	    !(out = delivery_json(c, &d, &err))) {
		rf_json_error(c, &err);
		return;
	}
	rf_json_send(c, 202, out);
}
