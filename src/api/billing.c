/* SPDX-License-Identifier: Apache-2.0 */
/* POST /api/v1/integrations/paddle/webhook and /chargebee/webhook: the events of a connected Paddle Billing or
 * Chargebee account (?connection=conn_… names the connection), authenticated as each system does it (Paddle's
 * signature within its tolerance, Chargebee's Basic authentication), each handled once per connection, and every
 * request written to the connection's inbound log with its outcome: processed, ignored, duplicate or refused. */
#include <string.h>

#include "../core/clock.h"
#include "../integrations/billing.h"
#include "../svc/integrations.h"
#include "api.h"

/* Paddle's SDKs refuse a signature older than 5 seconds; the connection's tolerance_seconds can widen it. */
#define PADDLE_TOLERANCE_S 5
/* The longest Paddle-Signature header read (a ts and a few h1 values during a secret's rotation). */
#define PADDLE_HEADER_MAX 1024

/* Loads the connection the URL names, of this system; sends 400 or 404 and returns false otherwise. */
static bool connection_of(rf_ctx *c, const char *system, rf_connection *conn)
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
	if (rc == RF_ENOTFOUND) {
		rf_json_fail(c, RF_ENOTFOUND, "connection", "no %s connection %s", system, id);
		return false;
	}
	if (rc != RF_OK) {
		rf_json_error(c, &err);
		return false;
	}
	return true;
}

/* Refuses the request: the refusal is kept in the connection's log (the transaction keeps it, though the answer is
 * an error) and answered with the error, naming field. */
static void refuse(rf_ctx *c, rf_connection *conn, const char *event_id, const char *type, rf_status st,
		   const char *field, const char *reason)
{
	rf_err err = {0};
	rf_inbound_event e;
	memset(&e, 0, sizeof e);
	e.event_id = (char *)event_id;
	e.type = (char *)type;
	e.outcome = "refused";
	e.reason = (char *)reason;
	e.status_code = rf_status_http(st);
	if (rf_svc_inbound_log(rf_ctx_svc(c), conn, &e, &err) != RF_OK) {
		rf_json_error(c, &err);
		return;
	}
	c->out.keep = true;
	rf_json_fail(c, st, field, "%s", reason);
}

/* Writes a handled event to the log and answers 200 with its outcome. dedupe is the event's key for a handled
 * event, NULL for a duplicate. */
static void answer(rf_ctx *c, rf_connection *conn, const char *event_id, const char *type, int64_t occurred_at,
		   const char *dedupe, const char *outcome, const char *reason, char *object_id)
{
	rf_err err = {0};
	rf_inbound_event e;
	memset(&e, 0, sizeof e);
	e.event_id = (char *)event_id;
	e.dedupe_key = (char *)dedupe;
	e.type = (char *)type;
	e.outcome = (char *)outcome;
	e.reason = (char *)reason;
	e.object_id = object_id;
	e.status_code = 200;
	e.occurred_at = occurred_at;
	if (rf_svc_inbound_log(rf_ctx_svc(c), conn, &e, &err) != RF_OK) {
		rf_json_error(c, &err);
		return;
	}
	json_t *out = json_pack("{s:b, s:s, s:s, s:s, s:s, s:s, s:o, s:o}", "received", 1, "event_id", event_id, "type",
				type, "outcome", outcome, "connection_id", conn->id, "program_id", conn->program_id,
				"object_id", rf_json_nullable(object_id), "note", rf_json_nullable(reason));
	rf_json_send(c, 200, out);
}

/* What the two systems share once the request is authenticated and its event read: the program, the duplicate
 * check, the handling under a savepoint (what an event refd cannot use wrote is undone, and the event is kept as
 * ignored with the reason, so that the system does not send it forever), and the answer. */
typedef rf_status (*handler)(rf_svc *sv, const rf_program *prog, const void *ev, rf_billing_outcome *out, rf_err *err);

static rf_status paddle_handler(rf_svc *sv, const rf_program *prog, const void *ev, rf_billing_outcome *out,
				rf_err *err)
{
	return rf_billing_paddle_handle(sv, prog, ev, out, err);
}

static rf_status chargebee_handler(rf_svc *sv, const rf_program *prog, const void *ev, rf_billing_outcome *out,
				   rf_err *err)
{
	return rf_billing_chargebee_handle(sv, prog, ev, out, err);
}

static void take(rf_ctx *c, rf_connection *conn, const char *event_id, const char *type, int64_t occurred_at,
		 handler fn, const void *ev)
{
	rf_err err = {0};
	rf_svc *sv = rf_ctx_svc(c);
	rf_inbound_event prev;
	rf_status rc = rf_svc_inbound_seen(sv, conn, event_id, &prev, &err);
	if (rc == RF_OK) {
		answer(c, conn, event_id, type, occurred_at, NULL, "duplicate",
		       rf_arena_printf(c->a, "the event was %s before (%s)", prev.outcome, prev.id), prev.object_id);
		return;
	}
	if (rc != RF_ENOTFOUND)
		goto fail;
	memset(&err, 0, sizeof err);
	rf_program prog;
	if (rf_store_program_get(c->app->store, conn->program_id, &prog, c->a, &err) != RF_OK ||
	    rf_store_savepoint(c->app->store, "inbound_event", &err) != RF_OK)
		goto fail;
	rf_billing_outcome res;
	rc = fn(sv, &prog, ev, &res, &err);
	if (rc == RF_EINVAL || rc == RF_ECONFLICT) {
		rf_err keep = err;
		if (rf_store_rollback_to(c->app->store, "inbound_event", &err) != RF_OK)
			goto fail;
		const char *why = rf_arena_printf(c->a, "%s%s%s", keep.message, keep.field[0] ? " (field " : "",
						  keep.field[0] ? rf_arena_printf(c->a, "%s)", keep.field) : "");
		answer(c, conn, event_id, type, occurred_at, event_id, "ignored", why, NULL);
		return;
	}
	if (rc == RF_EOVERFLOW) {
		/* The same bound as every other way in: refused, so that the system shows refd's reason and the
		 * event can be sent again once understood. */
		rf_err keep = err;
		if (rf_store_rollback_to(c->app->store, "inbound_event", &err) != RF_OK)
			goto fail;
		refuse(c, conn, event_id, type, RF_EOVERFLOW, keep.field, keep.message);
		return;
	}
	if (rc != RF_OK)
		goto fail;
	if (strcmp(res.outcome, "refused") == 0) {
		/* Out of order: the system sends it again later, when what it needs is in. */
		if (rf_store_rollback_to(c->app->store, "inbound_event", &err) != RF_OK)
			goto fail;
		refuse(c, conn, event_id, type, RF_ECONFLICT, "body", res.reason);
		return;
	}
	answer(c, conn, event_id, type, occurred_at, event_id, res.replay ? "duplicate" : res.outcome, res.reason,
	       res.object_id);
	return;
fail:
	rf_json_error(c, &err);
}

/* A disabled connection takes nothing; the refusal shows in its log. */
static bool enabled(rf_ctx *c, rf_connection *conn)
{
	if (strcmp(conn->status, "enabled") == 0)
		return true;
	refuse(c, conn, NULL, NULL, RF_EFORBIDDEN, "connection",
	       "the connection is disabled: enable it to take this system's events");
	return false;
}

/* A credential of the connection, or NULL; sends the error when they cannot be read. */
static const char *credential(rf_ctx *c, rf_connection *conn, const char *name, bool *failed)
{
	rf_err err = {0};
	json_t *creds = NULL;
	*failed = false;
	if (rf_svc_connection_credentials(rf_ctx_svc(c), conn, &creds, &err) != RF_OK) {
		*failed = true;
		rf_json_error(c, &err);
		return NULL;
	}
	const char *v = json_string_value(json_object_get(creds, name));
	char *out = v ? rf_arena_strdup(c->a, v) : NULL;
	json_decref(creds);
	return out;
}

void rf_api_paddle_webhook(rf_ctx *c)
{
	c->who.actor = "paddle";
	rf_connection conn;
	if (!connection_of(c, "paddle", &conn) || !enabled(c, &conn))
		return;
	size_t len = 0;
	const char *body = rf_req_body(c->req, &len);
	const char *h = rf_req_header(c->req, "Paddle-Signature");
	char *buf = rf_arena_alloc(c->a, PADDLE_HEADER_MAX);
	rf_paddle_signature sig;
	if (!buf || !h || !rf_paddle_signature_parse(h, buf, PADDLE_HEADER_MAX, &sig)) {
		refuse(c, &conn, NULL, NULL, RF_EINVAL, "Paddle-Signature",
		       "the Paddle-Signature header (ts=…;h1=…) is missing or malformed");
		return;
	}
	int64_t tolerance = rf_svc_connection_setting(&conn, "tolerance_seconds", PADDLE_TOLERANCE_S);
	int64_t now = rf_clock_now_ms() / 1000;
	if (sig.ts < now - tolerance || sig.ts > now + tolerance) {
		refuse(c, &conn, NULL, NULL, RF_EINVAL, "Paddle-Signature",
		       rf_arena_printf(c->a,
				       "the signature's ts is more than %lld seconds away from now (stale or replayed)",
				       (long long)tolerance));
		return;
	}
	bool failed = false;
	const char *secret = credential(c, &conn, "webhook_secret", &failed);
	if (failed)
		return;
	if (!rf_paddle_signature_matches(&sig, secret, body ? body : "", len)) {
		refuse(c, &conn, NULL, NULL, RF_EINVAL, "Paddle-Signature",
		       "the signature does not match the body under the connection's webhook_secret");
		return;
	}
	rf_err err = {0};
	rf_paddle_event ev;
	if (rf_paddle_event_parse(body, len, c->a, &ev, &err) != RF_OK) {
		refuse(c, &conn, ev.event_id, ev.type, err.status, err.field, err.message);
		return;
	}
	take(c, &conn, ev.event_id, ev.type, ev.occurred_at, paddle_handler, &ev);
}

void rf_api_chargebee_webhook(rf_ctx *c)
{
	c->who.actor = "chargebee";
	rf_connection conn;
	if (!connection_of(c, "chargebee", &conn) || !enabled(c, &conn))
		return;
	bool failed = false;
	const char *user = credential(c, &conn, "username", &failed);
	if (failed)
		return;
	const char *password = credential(c, &conn, "password", &failed);
	if (failed)
		return;
	if (!rf_basic_auth_matches(rf_req_header(c->req, "Authorization"), user, password)) {
		rf_resp_header(c->req, "WWW-Authenticate", "Basic realm=\"refd\"");
		refuse(c, &conn, NULL, NULL, RF_EUNAUTH, "Authorization",
		       "the Basic authentication does not match the connection's username and password");
		return;
	}
	size_t len = 0;
	const char *body = rf_req_body(c->req, &len);
	rf_err err = {0};
	rf_chargebee_event ev;
	if (rf_chargebee_event_parse(body, len, c->a, &ev, &err) != RF_OK) {
		refuse(c, &conn, ev.event_id, ev.type, err.status, err.field, err.message);
		return;
	}
	take(c, &conn, ev.event_id, ev.type, ev.occurred_at, chargebee_handler, &ev);
}
