/* SPDX-License-Identifier: Apache-2.0 */
/* Matches requests to routes and runs the checks every route shares: body size, credentials, CSRF, role, and the
 * query parameters and body the route table declares. */
#include "router.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "../core/clock.h"
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
	if (blen > c.app->cfg->max_json_body) {
		rf_json_fail(&c, RF_ETOOBIG, "body", "the body is larger than %zu bytes", c.app->cfg->max_json_body);
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
	found->fn(&c);
	/* No statement may keep a read open past its request: a connection holding one would go on seeing the
	 * database as it was (another process's new API key, for instance). */
	if (c.app && c.app->store)
		rf_store_idle(c.app->store);
}
