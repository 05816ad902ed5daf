/* SPDX-License-Identifier: Apache-2.0 */
/* Matches requests to routes and runs the checks every route shares: body size, credentials, CSRF, role, and the
 * query parameters and body the route table declares. */
#include "router.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../core/clock.h"
#include "../svc/mail.h"
#include "auth.h"
#include "json.h"

#define MAX_SEGMENTS 12
#define MAX_SEGMENT_LEN 128

/* Splits path at '/' into segments (in the arena); returns the count, or -1 when too many or too long. */
static int split(rf_arena *a, const char *path, char **segs)
{
	int n = 0;
	const char *p = path;
	while (*p == '/')
		p++;
	while (*p) {
		const char *e = strchr(p, '/');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (n == MAX_SEGMENTS || len > MAX_SEGMENT_LEN)
			return -1;
		segs[n++] = rf_arena_strndup(a, p, len);
		p += len;
		while (*p == '/')
			p++;
	}
	return n;
}

/* True when the path's segments fit the pattern; fills params with the {name} values. Walks the pattern in
 * place: this runs for every route on every request, so it allocates nothing. */
static bool match(const char *pattern, char **segs, int nsegs, const char **params)
{
	const char *p = pattern;
	int k = 0, i = 0;
	while (*p == '/')
		p++;
	for (; *p; i++) {
		if (i >= nsegs)
			return false;
		if (p[0] == '{') {
			if (!segs[i][0] || k == RF_MAX_PATH_PARAMS)
				return false;
			params[k++] = segs[i];
			while (*p && *p != '/')
				p++;
		} else {
			/* Compared as it goes, so most routes are ruled out at their first differing letter. */
			const char *q = segs[i];
			while (*p && *p != '/' && *p == *q) {
				p++;
				q++;
			}
			if ((*p && *p != '/') || *q)
				return false;
		}
		while (*p == '/')
			p++;
	}
	return i == nsegs;
}

rf_svc *rf_ctx_svc(rf_ctx *c)
{
	c->svc.store = c->app ? c->app->store : NULL;
	c->svc.a = c->a;
	c->svc.cfg = c->app ? c->app->cfg : NULL;
	c->svc.actor = c->who.actor ? c->who.actor : "anonymous";
	return &c->svc;
}

void rf_ctx_send(rf_ctx *c, int status, const char *content_type, const char *body, size_t len)
{
	if (!c->out.holding) {
		rf_resp_send(c->req, status, content_type, body, len);
		return;
	}
	if (c->out.given)
		return; /* the first answer stands, as it does when sent */
	c->out.given = true;
	c->out.status = status;
	c->out.content_type = content_type;
	c->out.len = len;
	/* In the request's own arena, which lives until the answer is sent (a handler may work in one of its own). */
	c->out.body = rf_arena_alloc(rf_req_arena(c->req), len + 1);
	if (!c->out.body) {
		c->out.status = 503;
		c->out.len = 0;
		return;
	}
	memcpy(c->out.body, body, len);
	c->out.body[len] = '\0';
}

/* The object a writing route changes, by the first segment of its path after /api/v1: locked before the route
 * reads it, so that what it checks before writing (a status, a run's items, the last owner) still holds when it
 * writes, whatever runs beside it (rf_store_lock). */
static const struct {
	const char *prefix;
	rf_lock_kind kind;
} locks[] = {
    {"/api/v1/programs/{id}", RF_LOCK_PROGRAM},
    {"/api/v1/partners/{id}", RF_LOCK_PARTNER},
    {"/api/v1/links/{id}", RF_LOCK_LINK},
    {"/api/v1/leads/{id}", RF_LOCK_LEAD},
    {"/api/v1/plans/{id}", RF_LOCK_PLAN},
    {"/api/v1/commissions/{id}", RF_LOCK_COMMISSION},
    {"/api/v1/payout-runs/{id}", RF_LOCK_PAYOUT_RUN},
    {"/api/v1/users/{id}", RF_LOCK_USER},
    {"/api/v1/api-keys/{id}", RF_LOCK_API_KEY},
    {"/api/v1/integrations/{id}", RF_LOCK_CONNECTION},
    {"/api/v1/webhook-endpoints/{id}", RF_LOCK_WEBHOOK_ENDPOINT},
};

static rf_status lock_object(rf_ctx *c, const rf_route *r, rf_err *err)
{
	for (size_t i = 0; i < sizeof locks / sizeof locks[0]; i++) {
		size_t n = strlen(locks[i].prefix);
		if (strncmp(r->pattern, locks[i].prefix, n) != 0 || (r->pattern[n] && r->pattern[n] != '/'))
			continue;
		/* Whether a user stays an owner decides whether one remains: every owner is locked first. */
		if (locks[i].kind == RF_LOCK_USER && rf_store_lock(c->app->store, RF_LOCK_OWNERS, NULL, err) != RF_OK)
			return err->status;
		return rf_store_lock(c->app->store, locks[i].kind, c->params[0], err);
	}
	return RF_OK;
}

/* Runs a writing route in one transaction: its answer is held, then the transaction is committed when the answer is
 * a success (or the route asked to keep its writes) and rolled back otherwise, and only then is the answer sent. A
 * transaction that lost a race (a serialization failure or deadlock on PostgreSQL, in the route or at its commit)
 * is run again, up to five times after a growing random pause; its answer is the last attempt's. */
static void run_in_tx(rf_ctx *c, const rf_route *r)
{
	rf_store *s = c->app->store;
	for (int attempt = 0;; attempt++) {
		memset(&c->out, 0, sizeof c->out);
		rf_err err = {0};
		if (rf_store_begin(s, &err) != RF_OK) {
			rf_json_error(c, &err);
			return;
		}
		if (lock_object(c, r, &err) != RF_OK) {
			rf_store_rollback(s);
			if (err.status == RF_ERETRY && attempt < 4)
				continue;
			rf_json_error(c, &err);
			return;
		}
		c->out.holding = true;
		r->fn(c);
		c->out.holding = false;
		bool retry = c->out.retry;
		if (!c->out.given) {
			rf_store_rollback(s);
			rf_json_fail(c, RF_EIO, NULL, "the route gave no answer");
			return;
		}
		if (!retry && (c->out.status < 400 || c->out.keep)) {
			if (rf_store_commit(s, &err) != RF_OK) {
				rf_store_rollback(s);
				retry = err.status == RF_ERETRY;
				if (!retry || attempt == 4) {
					rf_resp_headers_clear(c->req);
					rf_json_error(c, &err);
					return;
				}
			} else {
				/* Mail queued by the route is in the outbox now: the sender need not wait for its next
				 * look. */
				rf_svc_mail_wake(&c->svc);
			}
		} else {
			rf_store_rollback(s);
		}
		if (retry && attempt < 4) {
			rf_resp_headers_clear(c->req);
			struct timespec pause = {0, (long)(1 + randombytes_uniform(4)) * (1000000L << attempt)};
			nanosleep(&pause, NULL);
			continue;
		}
		rf_resp_send(c->req, c->out.status, c->out.content_type, c->out.body, c->out.len);
		return;
	}
}

static bool is_safe_method(const char *m)
{
	return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0 || strcmp(m, "OPTIONS") == 0;
}

/* Refuses a query parameter the route does not read, naming it and the ones it does read, unless the route lets
 * any through, and a value holding a NUL (%00), naming its parameter. Sends the error and returns false on
 * refusal. */
static bool query_ok(rf_ctx *c, const rf_route *r)
{
	static const char *const none[] = {NULL};
	if (r->flags & RF_ROUTE_ANY_QUERY)
		return true;
	const char *const *allowed = r->query ? r->query : none;
	const char *unknown = NULL;
	if (rf_req_query_has_only(c->req, allowed, &unknown)) {
		/* A value that decodes to a NUL would be read cut short at it, and so mean something else. */
		const char *nul = rf_req_query_nul(c->req);
		if (!nul)
			return true;
		rf_json_fail(c, RF_EINVAL, nul, "%s holds a NUL character (%%00), which no value may hold", nul);
		return false;
	}
	if (!unknown) {
		rf_json_fail(c, RF_EINVAL, NULL, "the query string cannot be read: every parameter needs name=value");
		return false;
	}
	if (!allowed[0]) {
		rf_json_fail(c, RF_EINVAL, unknown, "unknown query parameter '%.64s': this route takes none", unknown);
		return false;
	}
	char list[400] = "";
	size_t used = 0;
	for (const char *const *a = allowed; *a && used < sizeof list; a++)
		used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", used ? ", " : "", *a);
	rf_json_fail(c, RF_EINVAL, unknown, "unknown query parameter '%.64s' (this route reads %s)", unknown, list);
	return false;
}

static bool json_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

/* True when b[0..len) holds an empty JSON object and white space only. */
static bool empty_object(const char *b, size_t len)
{
	size_t i = 0;
	while (i < len && json_space(b[i]))
		i++;
	if (i == len || b[i++] != '{')
		return false;
	while (i < len && json_space(b[i]))
		i++;
	if (i == len || b[i++] != '}')
		return false;
	while (i < len && json_space(b[i]))
		i++;
	return i == len;
}

/* Refuses a body sent to a route that takes none, whatever it holds (even malformed or absurdly deep JSON is
 * never parsed), except an empty JSON object. Sends the error and returns false on refusal. */
static bool body_ok(rf_ctx *c, const rf_route *r)
{
	if (r->flags & RF_ROUTE_BODY)
		return true;
	size_t len = 0;
	const char *body = rf_req_body(c->req, &len);
	if (len == 0 || empty_object(body, len))
		return true;
	rf_json_fail(c, RF_EINVAL, "body", "%s %s takes no body (send none, or {} at most)", r->method, r->pattern);
	return false;
}

/* The route of a request (NULL when none), with the values of its path's {name} segments. */
static const rf_route *find_route(rf_ctx *c, const char *method, const char **params)
{
	char *segs[MAX_SEGMENTS];
	int nsegs = split(c->a, rf_req_path(c->req), segs);
	if (nsegs < 0)
		return NULL;
	for (const rf_route *r = rf_routes; r->method; r++)
		if (strcmp(r->method, method) == 0 && match(r->pattern, segs, nsegs, params))
			return r;
	return NULL;
}

size_t rf_router_body_limit(rf_req *req, void *thread_ctx)
{
	rf_ctx c;
	memset(&c, 0, sizeof c);
	c.req = req;
	c.app = thread_ctx;
	c.a = rf_req_arena(req);
	if (!c.app || !c.app->cfg || !c.app->cfg->max_import_body)
		return 0;
	const rf_route *r = find_route(&c, rf_req_method(req), c.params);
	if (!r || !(r->flags & RF_ROUTE_LARGE_BODY))
		return 0;
	/* Credentials first: a stranger cannot make refd hold a large body. A session's CSRF token is checked
	 * with the rest once the body is in; without one the request is refused then, whatever its size. */
	rf_err err = {0};
	rf_status rc = rf_auth_resolve(&c, &err);
	rf_store_idle(c.app->store);
	rf_role need = r->auth == RF_AUTH_OWNER   ? RF_ROLE_OWNER
		       : r->auth == RF_AUTH_ADMIN ? RF_ROLE_ADMIN
						  : RF_ROLE_PARTNER;
	if (rc != RF_OK || c.who.role < need)
		return 0;
	return c.app->cfg->max_import_body > c.app->cfg->max_json_body ? c.app->cfg->max_import_body : 0;
}

void rf_router_handle(rf_req *req, void *thread_ctx)
{
	rf_ctx c;
	memset(&c, 0, sizeof c);
	c.req = req;
	c.app = thread_ctx;
	c.a = rf_req_arena(req);

	const char *method = rf_req_method(req);
	/* HEAD is GET without the body (the server leaves the body out). */
	if (strcmp(method, "HEAD") == 0)
		method = "GET";
	char *segs[MAX_SEGMENTS];
	int nsegs = split(c.a, rf_req_path(req), segs);
	if (nsegs < 0) {
		rf_json_fail(&c, RF_ENOTFOUND, NULL, "no such route");
		return;
	}
	const rf_route *found = NULL;
	char allow[128] = "";
	for (const rf_route *r = rf_routes; r->method; r++) {
		const char *params[RF_MAX_PATH_PARAMS] = {0};
		if (!match(r->pattern, segs, nsegs, params))
			continue;
		if (strcmp(r->method, method) == 0) {
			found = r;
			memcpy(c.params, params, sizeof params);
			break;
		}
		size_t used = strlen(allow);
		snprintf(allow + used, sizeof allow - used, "%s%s", used ? ", " : "", r->method);
	}
	if (!found) {
		if (allow[0]) {
			rf_resp_header(req, "Allow", allow);
			json_t *e = json_pack("{s:{s:s, s:s+, s:n}}", "error", "type", "method_not_allowed", "message",
					      "method not allowed here; allowed: ", allow, "field");
			rf_json_send(&c, 405, e);
			return;
		}
		rf_json_fail(&c, RF_ENOTFOUND, NULL, "no such route for %s", method);
		return;
	}

	size_t blen = 0;
	rf_req_body(req, &blen);
	size_t cap = (found->flags & RF_ROUTE_LARGE_BODY) ? c.app->cfg->max_import_body : c.app->cfg->max_json_body;
	if (blen > cap) {
		rf_json_fail(&c, RF_ETOOBIG, "body", "the body is larger than %zu bytes", cap);
		return;
	}

	if (found->auth != RF_AUTH_PUBLIC) {
		rf_err err = {0};
		if (rf_auth_resolve(&c, &err) != RF_OK) {
			rf_json_error(&c, &err);
			return;
		}
		rf_req_log_actor(req, c.who.actor);
		if (c.who.via_session && !is_safe_method(method) && rf_auth_check_csrf(&c, &err) != RF_OK) {
			rf_json_error(&c, &err);
			return;
		}
		rf_role need = found->auth == RF_AUTH_OWNER   ? RF_ROLE_OWNER
			       : found->auth == RF_AUTH_ADMIN ? RF_ROLE_ADMIN
							      : RF_ROLE_PARTNER;
		if (c.who.role < need) {
			rf_json_fail(&c, RF_EFORBIDDEN, NULL, "this needs the %s role", rf_role_name(need));
			return;
		}
	}
	if (!query_ok(&c, found) || !body_ok(&c, found))
		return;
	if (is_safe_method(method) || (found->flags & RF_ROUTE_NO_TX))
		found->fn(&c);
	else
		run_in_tx(&c, found);
	/* No statement may keep a read open past its request: a connection holding one would go on seeing the
	 * database as it was (another process's new API key, for instance). */
	if (c.app && c.app->store)
		rf_store_idle(c.app->store);
}
