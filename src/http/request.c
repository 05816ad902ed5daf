/* SPDX-License-Identifier: Apache-2.0 */
/* The request as handlers see it: method, path, query, headers, body, cookies, the answer's headers, and the
 * request's log line. server.c fills it from the wire and sends the answer. */
#include <http_parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "../core/clock.h"
#include "../core/text.h"
#include "../core/url.h"
#include "server_internal.h"

bool rf_http_method_served(unsigned m)
{
	return m == HTTP_GET || m == HTTP_POST || m == HTTP_PUT || m == HTTP_PATCH || m == HTTP_DELETE ||
	       m == HTTP_HEAD || m == HTTP_OPTIONS;
}

const char *rf_req_method(rf_req *r)
{
	return rf_http_method_served(r->method) ? http_method_str((enum http_method)r->method) : "OTHER";
}

const char *rf_req_path(rf_req *r)
{
	return r->path;
}

/* Reads the query string as name=value members joined by '&'. A member without '=' or with an empty name makes
 * the whole query unreadable rather than half read, and so does a name that decodes to a NUL (there would be no
 * name left to report). A value that decodes to a NUL is remembered: a handler would see it cut short there. */
static void parse_query(rf_req *r)
{
	if (r->query_parsed)
		return;
	r->query_parsed = 1;
	const char *q = r->raw_query;
	if (!q || !*q)
		return;
	size_t cap = 0;
	for (const char *p = q;;) {
		const char *amp = strchr(p, '&');
		size_t n = amp ? (size_t)(amp - p) : strlen(p);
		const char *eq = memchr(p, '=', n);
		if (!eq || eq == p) {
			r->query_bad = 1;
			r->nquery = 0;
			return;
		}
		kv *grown = rf_arena_grow(&r->arena, r->query, r->nquery, &cap, sizeof *r->query, 8);
		if (!grown) {
			r->query_bad = 1;
			r->nquery = 0;
			return;
		}
		r->query = grown;
		kv *m = &r->query[r->nquery++];
		size_t name_len = 0, value_len = 0;
		m->name = rf_url_decode(&r->arena, p, (size_t)(eq - p), true, &name_len);
		m->value = rf_url_decode(&r->arena, eq + 1, n - (size_t)(eq + 1 - p), true, &value_len);
		if (!m->name || !m->value || strlen(m->name) != name_len) {
			r->query_bad = 1;
			r->nquery = 0;
			return;
		}
		if (strlen(m->value) != value_len && !r->query_nul)
			r->query_nul = m->name;
		if (!amp)
			break;
		p = amp + 1;
	}
}

const char *rf_req_query(rf_req *r, const char *name)
{
	parse_query(r);
	for (size_t i = 0; i < r->nquery; i++)
		if (strcmp(r->query[i].name, name) == 0)
			return r->query[i].value;
	return NULL;
}

bool rf_req_query_has_only(rf_req *r, const char *const *allowed, const char **unknown)
{
	parse_query(r);
	if (r->query_bad) {
		*unknown = NULL; /* no one parameter is at fault */
		return false;
	}
	for (size_t i = 0; i < r->nquery; i++) {
		bool ok = false;
		for (const char *const *a = allowed; *a && !ok; a++)
			ok = strcmp(*a, r->query[i].name) == 0;
		if (!ok) {
			*unknown = r->query[i].name;
			return false;
		}
	}
	return true;
}

const char *rf_req_query_nul(rf_req *r)
{
	parse_query(r);
	return r->query_nul;
}

const char *rf_req_header(rf_req *r, const char *name)
{
	for (int i = 0; i < r->nheaders; i++)
		if (strcasecmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	return NULL;
}

const char *rf_req_body(rf_req *r, size_t *len)
{
	if (len)
		*len = r->spool ? 0 : r->body_len;
	return r->body && !r->spool ? r->body : "";
}

FILE *rf_req_body_file(rf_req *r, size_t *len)
{
	FILE *f = r->spool;
	r->spool = NULL;
	*len = f ? r->body_len : 0;
	return f;
}

const char *rf_req_peer(rf_req *r)
{
	return r->peer;
}

const char *rf_req_id(rf_req *r)
{
	return r->id;
}

rf_arena *rf_req_arena(rf_req *r)
{
	return &r->arena;
}

void rf_req_log_actor(rf_req *r, const char *actor)
{
	snprintf(r->actor, sizeof r->actor, "%s", actor ? actor : "");
}

char *rf_req_cookie(rf_req *r, const char *name)
{
	const char *p = rf_req_header(r, "Cookie");
	size_t nl = strlen(name);
	while (p && *p) {
		while (*p == ' ' || *p == ';')
			p++;
		const char *end = strchr(p, ';');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len > nl && strncmp(p, name, nl) == 0 && p[nl] == '=')
			return rf_arena_strndup(&r->arena, p + nl + 1, len - nl - 1);
		p = end;
	}
	return NULL;
}

const char *rf_req_raw_query(rf_req *r)
{
	return r->raw_query;
}

/* A header line must not be able to start another one. */
bool rf_http_header_text_ok(const char *s)
{
	for (; *s; s++)
		if (*s == '\r' || *s == '\n')
			return false;
	return true;
}

void rf_resp_header(rf_req *r, const char *name, const char *value)
{
	if (!name || !value || !rf_http_header_text_ok(name) || !rf_http_header_text_ok(value))
		return;
	out_header *h = rf_arena_alloc(&r->arena, sizeof *h);
	if (!h)
		return;
	h->name = name;
	h->value = rf_arena_strdup(&r->arena, value);
	if (!h->value)
		return;
	if (r->out_tail)
		r->out_tail->next = h;
	else
		r->out_head = h;
	r->out_tail = h;
}

void rf_resp_headers_clear(rf_req *r)
{
	r->out_head = r->out_tail = NULL;
}

void rf_http_log_request(rf_req *r, int status, size_t bytes)
{
	char path[512], actor[128], line[1024], ts[40];
	rf_json_escape(path, sizeof path, r->path ? r->path : "");
	rf_json_escape(actor, sizeof actor, r->actor);
	rf_clock_format(rf_clock_now_ms(), ts, sizeof ts);
	int n = snprintf(
	    line, sizeof line,
	    "{\"ts\":\"%s\",\"level\":\"info\",\"msg\":\"request\",\"request_id\":\"%s\",\"method\":\"%s\","
	    "\"path\":\"%s\",\"status\":%d,\"bytes\":%zu,\"duration_ms\":%.3f,\"remote\":\"%s\""
	    "%s%s%s}\n",
	    ts, r->id, rf_req_method(r), path, status, bytes, (double)(rf_clock_mono_us() - r->start_us) / 1000.0,
	    r->peer, actor[0] ? ",\"actor\":\"" : "", actor, actor[0] ? "\"" : "");
	if (n > 0) {
		size_t len = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
		/* One write per line keeps lines from different threads whole. */
		ssize_t w = write(STDOUT_FILENO, line, len);
		(void)w;
	}
}

void rf_req_defer(rf_req *r)
{
	r->deferred = 1;
}

bool rf_req_gone(rf_req *r)
{
	return r->gone != 0;
}
