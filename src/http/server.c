/* SPDX-License-Identifier: Apache-2.0 */
/* refd's HTTP/1.1 server: one libevent loop per thread on SO_REUSEPORT sockets, requests read with the
 * http-parser library, responses written straight to the socket; request logs and a graceful stop. */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <http_parser.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "../core/clock.h"
#include "../core/text.h"
#include "../core/url.h"
#include "server_internal.h"

#define REQ_ARENA_LIMIT (16u << 20)
#define MAX_HEADER_LINES 100
#define READ_ROOM 4096
#define LINGER_MS 2000
/* On a stop: how long a request still arriving may take to arrive whole, and how long the drain waits in all. */
#define DRAIN_READ_MS 5000
#define DRAIN_MAX_MS 10000
/* A connection's next request waits while this much of the previous answers is still unsent. */
#define OUT_HIGH_WATER (256u << 10)

typedef struct conn conn;

typedef struct worker {
	int index;
	int fd;
	struct event_base *base;
	struct event *accept_ev;
	struct event *accept_retry; /* re-arms accepting after running out of descriptors */
	struct event *sweep;        /* closes idle connections and ends lingering closes */
	const rf_server_config *cfg;
	void *ctx;
	pthread_t thread;
	conn *conns; /* every open connection of this worker */
	struct event *drain;
	int64_t drain_start_ms;
	int draining;
	int started;
	time_t date_at;
	char date[40]; /* "Date: ...\r\n" for date_at */
	/* Work handed to this worker by other threads (completed deferred requests). */
	pthread_mutex_t post_mu;
	posted *post_head, *post_tail;
	struct event *post_ev;
} worker;

enum conn_state {
	C_READING, /* reading (or waiting for) a request */
	C_SERVING, /* a request is with its handler or deferred */
	C_CLOSING, /* the last answer is queued: send it, then close after the client's remaining bytes */
};

/* Where a header's name and value lie in the connection's input while the header block is read. */
typedef struct {
	uint32_t name_off, name_len, val_off, val_len;
} span;

struct conn {
	worker *w;
	int fd;
	struct event *ev;
	conn *prev, *next;
	char peer[64];
	enum conn_state state;
	int64_t active_ms; /* last progress, for the idle timeout */
	int64_t linger_until_ms;
	http_parser p;
	/* Input: in[0..in_off) is parsed, in[in_off..in_len) waits. Until a request's headers are complete its
	 * whole header block stays in the buffer, so spans stay valid as more bytes arrive. */
	char *in;
	size_t in_off, in_len, in_cap;
	char *out;
	size_t out_off, out_len, out_cap;
	rf_req *req;      /* the request being read or served */
	int in_headers;   /* between the start of a request and the end of its headers */
	int message_done; /* the parser paused at the end of a request */
	int error_status; /* set by a parser callback that refuses the request */
	const char *error_type, *error_message;
	uint32_t url_off, url_len;
	int last_cb; /* 1 after a header name piece, 2 after a value piece */
	int nspans;
	span spans[MAX_HEADER_LINES];
	int processing; /* conn_process is on the stack */
	int dead;       /* to be freed when conn_process unwinds */
	int shut;       /* the write side is shut down (lingering close) */
	int draining;   /* the server is stopping: answer what is in flight, then close */
	/* The last read took less than it asked for, so the socket was empty then: with edge-triggered events, any
	 * byte (or the end) that comes later brings a read event, which clears this. Until then reading is skipped,
	 * saving a recv that would fail with EAGAIN after each answer and each write event. */
	int drained;
	int peer_done; /* the client has shut its sending side (an event said so): read up to the end */
};

static http_parser_settings parser_settings;

static void conn_process(conn *c);

static int64_t mono_ms(void)
{
	return rf_clock_mono_us() / 1000;
}

/* ---- Connections ---- */

/* An unlinked temporary file in $TMPDIR (or /tmp) for a large request body; NULL when none can be made. */
static FILE *spool_open(void)
{
	const char *dir = getenv("TMPDIR");
	char path[512];
	snprintf(path, sizeof path, "%s/refd-body-XXXXXX", dir && *dir ? dir : "/tmp");
	int fd = mkstemp(path);
	if (fd < 0)
		return NULL;
	unlink(path);
	FILE *f = fdopen(fd, "w+b");
	if (!f)
		close(fd);
	return f;
}

static void req_free(rf_req *r)
{
	if (r->spool)
		fclose(r->spool);
	free(r->body);
	rf_arena_reset(&r->arena);
	free(r);
}

static void conn_free(conn *c)
{
	worker *w = c->w;
	if (c->prev)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	if (c->req) {
		if (c->req->deferred && !c->req->sent) {
			/* The handler's thread still holds it: rf_resp_send releases it when the answer comes. */
			c->req->gone = 1;
			c->req->c = NULL;
		} else if (!c->req->in_dispatch) {
			req_free(c->req);
		} else {
			c->req->c = NULL;
		}
	}
	if (c->ev)
		event_free(c->ev);
	close(c->fd);
	free(c->in);
	free(c->out);
	free(c);
}

/* Makes room for n more bytes of output. */
static bool out_room(conn *c, size_t n)
{
	if (c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	if (c->out_len + n <= c->out_cap)
		return true;
	if (c->out_off > 0) {
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
		if (c->out_len + n <= c->out_cap)
			return true;
	}
	/* A first answer's head fits without growing piece by piece. */
	return rf_buf_room(&c->out, &c->out_len, &c->out_cap, c->out_cap || n > 1024 ? n : 1024);
}

static void out_add(conn *c, const char *s, size_t n)
{
	if (!out_room(c, n)) {
		c->dead = 1; /* an answer cut short must not be taken for a whole one */
		return;
	}
	memcpy(c->out + c->out_len, s, n);
	c->out_len += n;
}

/* Sends what is queued; false when the connection failed. */
static bool out_flush(conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
		if (n > 0) {
			c->out_off += (size_t)n;
			c->active_ms = mono_ms();
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		return false;
	}
	c->out_off = c->out_len = 0;
	/* A large answer's buffer is not kept by an idle connection. */
	if (c->out_cap > (64u << 10)) {
		free(c->out);
		c->out = NULL;
		c->out_cap = 0;
	}
	return true;
}

static const char *reason(int status)
{
	switch (status) {
	case 100:
		return "Continue";
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 202:
		return "Accepted";
	case 204:
		return "No Content";
	case 301:
		return "Moved Permanently";
	case 302:
		return "Found";
	case 303:
		return "See Other";
	case 304:
		return "Not Modified";
	case 307:
		return "Temporary Redirect";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 409:
		return "Conflict";
	case 410:
		return "Gone";
	case 413:
		return "Payload Too Large";
	case 415:
		return "Unsupported Media Type";
	case 422:
		return "Unprocessable Content";
	case 429:
		return "Too Many Requests";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return status >= 500 ? "Error" : status >= 400 ? "Client Error" : "Status";
	}
}

static const char *date_line(worker *w)
{
	time_t now = time(NULL);
	if (now != w->date_at) {
		struct tm tm;
		gmtime_r(&now, &tm);
		strftime(w->date, sizeof w->date, "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
		w->date_at = now;
	}
	return w->date;
}

static void out_str(conn *c, const char *s)
{
	out_add(c, s, strlen(s));
}

/* Appends a header line. */
static void out_header_line(conn *c, const char *name, size_t nl, const char *value)
{
	out_add(c, name, nl);
	out_add(c, ": ", 2);
	out_str(c, value);
	out_add(c, "\r\n", 2);
}

/* Decimal digits of v, without printf (this runs for every answer). */
static size_t decimal(char *buf, uint64_t v)
{
	char tmp[24];
	size_t n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (size_t i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	return n;
}

/* Queues a whole answer on c. */
static void queue_answer(conn *c, rf_req *r, int status, const char *content_type, const char *body, size_t len,
			 bool keep_alive, bool http10)
{
	char num[24];
	out_add(c, "HTTP/1.1 ", 9);
	out_add(c, num, decimal(num, (uint64_t)(status > 0 && status < 1000 ? status : 500)));
	out_add(c, " ", 1);
	out_str(c, reason(status));
	out_add(c, "\r\n", 2);
	out_str(c, date_line(c->w));
	/* RFC 9110 forbids a Content-Length (and a body) on 1xx, 204 and 304 answers. */
	bool bodiless = status < 200 || status == 204 || status == 304;
	if (bodiless) {
		len = 0;
	} else {
		out_add(c, "Content-Length: ", 16);
		out_add(c, num, decimal(num, len));
		out_add(c, "\r\n", 2);
	}
	if (content_type && rf_http_header_text_ok(content_type))
		out_header_line(c, "Content-Type", 12, content_type);
	if (r) {
		out_header_line(c, "X-Request-Id", 12, r->id);
		for (out_header *h = r->out_head; h; h = h->next)
			out_header_line(c, h->name, strlen(h->name), h->value);
	}
	static const char nosniff[] = "X-Content-Type-Options: nosniff\r\n";
	out_add(c, nosniff, sizeof nosniff - 1);
	if (!keep_alive)
		out_add(c, "Connection: close\r\n", 19);
	else if (http10)
		out_add(c, "Connection: keep-alive\r\n", 24);
	out_add(c, "\r\n", 2);
	if (body && len && !(r && r->method == HTTP_HEAD))
		out_add(c, body, len);
}

/* Answers a request the server itself refuses (bad framing, too large, ...), then closes the connection. */
static void refuse(conn *c, int status, const char *type, const char *message)
{
	char body[256];
	int n = snprintf(body, sizeof body, "{\"error\":{\"type\":\"%s\",\"message\":\"%s\",\"field\":%s}}", type,
			 message, status == 413 ? "\"body\"" : "null");
	if (c->req && !c->req->in_dispatch) {
		req_free(c->req);
	}
	c->req = NULL;
	queue_answer(c, NULL, status, "application/json", body, (size_t)n, false, false);
	c->state = C_CLOSING;
}

/* ---- Reading requests ---- */

static conn *of(http_parser *p)
{
	return p->data;
}

static int on_message_begin(http_parser *p)
{
	conn *c = of(p);
	c->in_headers = 1;
	c->url_len = 0;
	c->nspans = 0;
	c->last_cb = 0;
	return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
	conn *c = of(p);
	if (c->url_len == 0)
		c->url_off = (uint32_t)(at - c->in);
	c->url_len += (uint32_t)len; /* pieces of one header block are contiguous in the input */
	return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
	conn *c = of(p);
	if (c->last_cb != 1) {
		if (c->nspans == MAX_HEADER_LINES) {
			c->error_status = 431;
			c->error_type = "headers_too_large";
			c->error_message = "too many header lines";
			return -1;
		}
		span *s = &c->spans[c->nspans++];
		s->name_off = (uint32_t)(at - c->in);
		s->name_len = 0;
		s->val_off = s->name_off;
		s->val_len = 0;
	}
	c->spans[c->nspans - 1].name_len += (uint32_t)len;
	c->last_cb = 1;
	return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
	conn *c = of(p);
	span *s = &c->spans[c->nspans - 1];
	if (c->last_cb != 2) {
		s->val_off = (uint32_t)(at - c->in);
		s->val_len = 0;
	}
	s->val_len += (uint32_t)len;
	c->last_cb = 2;
	return 0;
}

static int fail_cb(conn *c, int status, const char *type, const char *message)
{
	c->error_status = status;
	c->error_type = type;
	c->error_message = message;
	/* Not 1 or 2: from on_headers_complete those mean "no body" and "upgrade", not an error. */
	return -1;
}

static bool request_id_ok(const char *s)
{
	size_t n = 0;
	for (; s && s[n]; n++) {
		char c = s[n];
		if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '-' ||
		      c == '_' || c == '.'))
			return false;
	}
	return n >= 8 && n <= 30;
}

/* RFC 9110 token characters, which a header name is made of. */
static bool token_ok(const char *s, size_t n)
{
	static const char extra[] = "!#$%&'*+-.^_`|~";
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch && strchr(extra, ch))))
			return false;
	}
	return n > 0;
}

/* The header block is complete: the request is built from it, so the input buffer may move from here on. */
static int on_headers_complete(http_parser *p)
{
	conn *c = of(p);
	worker *w = c->w;
	c->in_headers = 0;
	if (p->http_major != 1)
		return fail_cb(c, 505, "http_version_not_supported", "only HTTP/1.x is served");
	if (!rf_http_method_served(p->method))
		return fail_cb(c, 501, "not_implemented", "this method is not served");
	rf_req *r = calloc(1, sizeof *r);
	if (!r)
		return fail_cb(c, 503, "unavailable", "out of memory");
	c->req = r;
	r->c = c;
	r->w = w;
	r->start_us = rf_clock_mono_us();
	r->method = p->method;
	rf_arena_init(&r->arena, REQ_ARENA_LIMIT);
	memcpy(r->peer, c->peer, sizeof r->peer);

	r->headers = rf_arena_alloc(&r->arena, sizeof *r->headers * (size_t)(c->nspans ? c->nspans : 1));
	if (!r->headers)
		return fail_cb(c, 503, "unavailable", "out of memory");
	for (int i = 0; i < c->nspans; i++) {
		const span *s = &c->spans[i];
		size_t vl = s->val_len;
		while (vl && (c->in[s->val_off + vl - 1] == ' ' || c->in[s->val_off + vl - 1] == '\t'))
			vl--;
		/* This build of http-parser is lenient: it takes spaces in a name and folded values (a line starting
		 * with a space continues the one before). Both are refused, as RFC 9112 allows, so that no header
		 * means one thing here and another to a proxy in front. */
		if (!token_ok(c->in + s->name_off, s->name_len) || memchr(c->in + s->val_off, '\n', vl) ||
		    memchr(c->in + s->val_off, '\r', vl))
			return fail_cb(c, 400, "bad_request", "a header line cannot be read");
		kv *h = &r->headers[r->nheaders++];
		h->name = rf_arena_strndup(&r->arena, c->in + s->name_off, s->name_len);
		h->value = rf_arena_strndup(&r->arena, c->in + s->val_off, vl);
		if (!h->name || !h->value)
			return fail_cb(c, 503, "unavailable", "out of memory");
	}

	struct http_parser_url u;
	http_parser_url_init(&u);
	const char *url = c->in + c->url_off;
	if (c->url_len == 0 || http_parser_parse_url(url, c->url_len, 0, &u) != 0)
		return fail_cb(c, 400, "bad_request", "the request target cannot be read");
	const char *path = "/";
	size_t plen = 1;
	if (u.field_set & (1 << UF_PATH)) {
		path = url + u.field_data[UF_PATH].off;
		plen = u.field_data[UF_PATH].len;
	}
	size_t dlen = 0;
	char *decoded = rf_url_decode(&r->arena, path, plen, false, &dlen);
	/* An encoded NUL would cut the path short and make it name something else: such a path names nothing. */
	r->path = decoded && strlen(decoded) == dlen ? decoded : rf_arena_strdup(&r->arena, "/\x7f");
	if (u.field_set & (1 << UF_QUERY))
		r->raw_query =
		    rf_arena_strndup(&r->arena, url + u.field_data[UF_QUERY].off, u.field_data[UF_QUERY].len);
	if (!r->path)
		return fail_cb(c, 503, "unavailable", "out of memory");

	const char *given = rf_req_header(r, "X-Request-Id");
	if (request_id_ok(given)) {
		memcpy(r->id, given, strlen(given) + 1); /* at most 30 characters */
	} else {
		char rnd[40];
		rf_id_new("req", rnd, sizeof rnd);
		memcpy(r->id, rnd, 28);
		r->id[28] = '\0';
	}

	bool chunked = (p->flags & F_CHUNKED) != 0;
	bool has_length = p->content_length != ULLONG_MAX && p->content_length > 0;
	r->max_body = w->cfg->body_limit ? w->cfg->body_limit(r, w->ctx) : 0;
	if (!r->max_body)
		r->max_body = w->cfg->max_body;
	if (has_length && p->content_length > r->max_body)
		return fail_cb(c, 413, "payload_too_large", "the request body is too large");
	if (r->max_body > w->cfg->max_body) {
		/* A large body (an import's file) goes to disk as it arrives: never whole in memory. */
		if (!(r->spool = spool_open()))
			return fail_cb(c, 503, "unavailable", "cannot store the request body");
	} else if (has_length) {
		r->body_cap = (size_t)p->content_length + 1;
		r->body = malloc(r->body_cap);
		if (!r->body)
			return fail_cb(c, 503, "unavailable", "out of memory");
	}
	r->keep_alive = http_should_keep_alive(p) && !c->draining;
	const char *expect = rf_req_header(r, "Expect");
	if (expect && strcasecmp(expect, "100-continue") == 0 && p->http_minor >= 1 && (has_length || chunked)) {
		static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
		out_add(c, cont, sizeof cont - 1);
		if (!out_flush(c))
			c->dead = 1;
	}
	return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
	conn *c = of(p);
	rf_req *r = c->req;
	if (r->body_len + len > r->max_body)
		return fail_cb(c, 413, "payload_too_large", "the request body is too large");
	if (r->spool) {
		if (fwrite(at, 1, len, r->spool) != len)
			return fail_cb(c, 503, "unavailable", "cannot store the request body (is the disk full?)");
		r->body_len += len;
		return 0;
	}
	/* Room for len bytes and the NUL added at the end (a body of known length was sized for it at once). */
	if (!rf_buf_room(&r->body, &r->body_len, &r->body_cap, len))
		return fail_cb(c, 503, "unavailable", "out of memory");
	memcpy(r->body + r->body_len, at, len);
	r->body_len += len;
	return 0;
}

static int on_message_complete(http_parser *p)
{
	conn *c = of(p);
	if (c->req && c->req->body)
		c->req->body[c->req->body_len] = '\0';
	if (c->req && c->req->spool && (fflush(c->req->spool) != 0 || fseek(c->req->spool, 0, SEEK_SET) != 0))
		return fail_cb(c, 503, "unavailable", "cannot store the request body (is the disk full?)");
	c->message_done = 1;
	/* One request at a time: the parser stops here and resumes once the answer is queued. */
	http_parser_pause(p, 1);
	return 0;
}

/* ---- Serving ---- */

void rf_req_post(rf_req *r, void (*fn)(rf_req *r, void *arg), void *arg)
{
	worker *w = r->w;
	posted *p = &r->post;
	if (r->post_used) {
		p = malloc(sizeof *p);
		if (!p)
			abort(); /* nothing sensible remains: the client would wait forever */
		p->heap = 1;
	}
	r->post_used = 1;
	p->next = NULL;
	p->req = r;
	p->fn = fn;
	p->arg = arg;
	pthread_mutex_lock(&w->post_mu);
	/* Only the first item of a batch wakes the worker; the rest ride along with it. */
	bool wake = w->post_head == NULL;
	if (w->post_tail)
		w->post_tail->next = p;
	else
		w->post_head = p;
	w->post_tail = p;
	pthread_mutex_unlock(&w->post_mu);
	if (wake)
		event_active(w->post_ev, EV_READ, 0);
}

static void post_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	worker *w = arg;
	pthread_mutex_lock(&w->post_mu);
	posted *p = w->post_head;
	w->post_head = w->post_tail = NULL;
	pthread_mutex_unlock(&w->post_mu);
	while (p) {
		/* fn may release the request, and with it the node inside it. */
		posted *next = p->next;
		int heap = p->heap;
		p->fn(p->req, p->arg);
		if (heap)
			free(p);
		p = next;
	}
}

void rf_resp_send(rf_req *r, int status, const char *content_type, const char *body, size_t len)
{
	if (r->sent)
		return;
	r->sent = 1;
	conn *c = r->c;
	if (!c || r->gone) {
		if (!r->in_dispatch)
			req_free(r);
		return;
	}
	if (r->w->cfg->log_requests)
		rf_http_log_request(r, status, len);
	bool keep = r->keep_alive && !c->draining;
	queue_answer(c, r, status, content_type, body, len, keep, c->p.http_minor == 0);
	c->req = NULL;
	r->c = NULL;
	c->state = keep ? C_READING : C_CLOSING;
	c->active_ms = mono_ms();
	if (r->in_dispatch)
		return; /* dispatch goes on reading the connection once the handler returns */
	req_free(r);
	conn_process(c);
}

static void dispatch(conn *c)
{
	rf_req *r = c->req;
	c->message_done = 0;
	c->state = C_SERVING;
	http_parser_pause(&c->p, 0);
	if (c->p.upgrade) {
		/* An Upgrade (h2c, websocket) is ignored, as RFC 9110 lets a server do: the answer and what follows
		 * stay HTTP/1.1, so the parser, which stops at an upgrade, starts afresh. */
		http_parser_init(&c->p, HTTP_REQUEST);
		c->p.data = c;
	}
	r->in_dispatch = 1;
	c->w->cfg->handler(r, c->w->ctx);
	r->in_dispatch = 0;
	if (!r->sent && !r->deferred) {
		static const char none[] = "{\"error\":{\"type\":\"internal_error\",\"message\":\"no response\","
					   "\"field\":null}}";
		rf_resp_send(r, 500, "application/json", none, sizeof none - 1);
	}
	/* A deferred request is released by rf_resp_send, later (unless that already happened). */
	if (!r->deferred || r->sent) {
		if (c->req == r)
			c->req = NULL;
		req_free(r);
	}
}

/* Drops parsed input, except a header block still being read (its spans point into the buffer). */
static void in_compact(conn *c)
{
	if (c->in_headers || c->in_off == 0)
		return;
	memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
	c->in_len -= c->in_off;
	c->in_off = 0;
}

/* Reads what the socket has; 1 when bytes came, 0 when there are none yet, -1 at the end or on an error. */
static int in_read(conn *c)
{
	size_t limit = c->w->cfg->max_headers + 2 * READ_ROOM;
	if (c->in_cap - c->in_len < READ_ROOM) {
		size_t cap = c->in_cap ? c->in_cap * 2 : READ_ROOM * 2;
		if (cap > limit)
			cap = limit;
		if (cap <= c->in_len) {
			/* Only a header block can fill the buffer: it is over the limit. */
			refuse(c, 431, "headers_too_large", "the request headers are too large");
			return 0;
		}
		char *in = realloc(c->in, cap);
		if (!in)
			return -1;
		c->in = in;
		c->in_cap = cap;
	}
	if (c->drained)
		return 0;
	for (;;) {
		size_t room = c->in_cap - c->in_len;
		ssize_t n = recv(c->fd, c->in + c->in_len, room, 0);
		if (n > 0) {
			c->drained = (size_t)n < room && !c->peer_done;
			c->in_len += (size_t)n;
			c->active_ms = mono_ms();
			return 1;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			c->drained = 1;
			return 0;
		}
		return -1;
	}
}

/* Parses buffered input up to the end of one request; false when the request was refused. */
static bool in_parse(conn *c)
{
	size_t n = http_parser_execute(&c->p, &parser_settings, c->in + c->in_off, c->in_len - c->in_off);
	c->in_off += n;
	enum http_errno e = HTTP_PARSER_ERRNO(&c->p);
	if (e == HPE_PAUSED || e == HPE_OK) {
		in_compact(c);
		return true;
	}
	if (c->error_status)
		refuse(c, c->error_status, c->error_type, c->error_message);
	else if (e == HPE_HEADER_OVERFLOW)
		refuse(c, 431, "headers_too_large", "the request headers are too large");
	else
		refuse(c, 400, "bad_request", http_errno_description(e));
	return false;
}

/* Moves a connection forward as far as it can go without waiting: sends queued answers, reads and parses
 * requests and serves them one at a time, and closes it when it is done. */
static void conn_process(conn *c)
{
	if (c->processing)
		return;
	c->processing = 1;
	/* A client that keeps sending (a long pipeline, or bytes after an error) gets this many requests or reads at a
	 * time; then the connection goes to the back of the loop's queue and the others have their turn. */
	int budget = 32;
	while (!c->dead) {
		if (c->state == C_SERVING)
			break;
		if (budget-- == 0) {
			event_active(c->ev, EV_READ, 1);
			break;
		}
		if (c->state == C_CLOSING) {
			if (!out_flush(c)) {
				c->dead = 1;
				break;
			}
			if (c->out_len > c->out_off)
				break;
			if (!c->shut) {
				/* Closing with unread input would reset the connection and could destroy the answer
				 * before the client reads it: shut the sending side and read what the client still
				 * sends. */
				shutdown(c->fd, SHUT_WR);
				c->shut = 1;
				c->linger_until_ms = mono_ms() + LINGER_MS;
			}
			c->in_off = c->in_len = 0;
			int got = in_read(c);
			if (got < 0)
				c->dead = 1;
			if (got <= 0)
				break;
			continue;
		}
		/* Reading: keep the previous answers from piling up behind a slow reader. */
		if (c->out_len - c->out_off > OUT_HIGH_WATER) {
			if (!out_flush(c))
				c->dead = 1;
			if (c->out_len - c->out_off > OUT_HIGH_WATER)
				break;
			continue;
		}
		if (c->in_off < c->in_len) {
			if (!in_parse(c))
				continue;
			if (c->message_done && !c->req) {
				refuse(c, 400, "bad_request", "the request cannot be read");
				continue;
			}
			if (c->message_done) {
				in_compact(c);
				dispatch(c);
				continue;
			}
		}
		int got = in_read(c);
		if (got == 0)
			break;
		if (got < 0) {
			/* The client is done sending: a request cut short is dropped, what was answered still goes out.
			 */
			if (c->req || c->in_headers)
				c->dead = 1;
			else
				c->state = C_CLOSING;
		}
	}
	if (!c->dead && !out_flush(c))
		c->dead = 1;
	c->processing = 0;
	if (c->dead)
		conn_free(c);
}

static void conn_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	conn *c = arg;
	if (what & (EV_READ | EV_CLOSED))
		c->drained = 0;
	if (what & EV_CLOSED)
		c->peer_done = 1;
	conn_process(c);
}

static void accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	(void)what;
	worker *w = arg;
	for (int i = 0; i < 64; i++) {
		struct sockaddr_in sa;
		socklen_t sl = sizeof sa;
		int fd = accept4(lfd, (struct sockaddr *)&sa, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				/* Out of descriptors: stop accepting for a moment instead of spinning on the ready
				 * socket. */
				static const struct timeval pause = {0, 100000};
				event_del(w->accept_ev);
				evtimer_add(w->accept_retry, &pause);
			}
			return;
		}
		conn *c = calloc(1, sizeof *c);
		if (!c) {
			close(fd);
			continue;
		}
		c->w = w;
		c->fd = fd;
		c->state = C_READING;
		c->active_ms = mono_ms();
		c->draining = w->draining;
		if (sa.sin_family == AF_INET)
			inet_ntop(AF_INET, &sa.sin_addr, c->peer, sizeof c->peer);
		http_parser_init(&c->p, HTTP_REQUEST);
		c->p.data = c;
		c->next = w->conns;
		if (w->conns)
			w->conns->prev = c;
		w->conns = c;
		/* Edge-triggered and never changed: a request costs no epoll_ctl. EV_CLOSED reports the client's end
		 * even when it came with the last bytes of a request. */
		c->ev = event_new(w->base, fd, EV_READ | EV_WRITE | EV_CLOSED | EV_ET | EV_PERSIST, conn_cb, c);
		if (!c->ev || event_add(c->ev, NULL) != 0) {
			conn_free(c);
			continue;
		}
	}
}

static void accept_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	worker *w = arg;
	if (w->accept_ev && !w->draining)
		event_add(w->accept_ev, NULL);
}

/* Closes connections idle for longer than the timeout (a slow client's unfinished request or unread answer
 * included) and lingering closes that are over. */
static void sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	worker *w = arg;
	int64_t now = mono_ms();
	int64_t idle = (int64_t)(w->cfg->timeout_seconds > 0 ? w->cfg->timeout_seconds : 30) * 1000;
	for (conn *c = w->conns; c;) {
		conn *next = c->next;
		bool expired = c->state != C_SERVING && now - c->active_ms > idle;
		if (expired || (c->shut && now > c->linger_until_ms))
			conn_free(c);
		c = next;
	}
}

static bool conn_busy(const conn *c)
{
	return c->state == C_SERVING || (c->out_len > c->out_off && !c->shut);
}

static void *worker_main(void *arg)
{
	worker *w = arg;
	char name[16];
	snprintf(name, sizeof name, "refd-http-%d", w->index);
	pthread_setname_np(pthread_self(), name);
	event_base_dispatch(w->base);
	return NULL;
}

static int count_conns(const worker *w)
{
	int n = 0;
	for (const conn *c = w->conns; c; c = c->next)
		n++;
	return n;
}

/* A request has begun on c and is not yet with its handler: bytes of it were read (part of its headers, or its
 * headers and part of its body), or it waits whole in the input. */
static bool conn_mid_request(const conn *c)
{
	return c->state == C_READING && (c->in_headers || c->req || c->in_off < c->in_len);
}

/* Runs on each worker's loop once a stop is asked: stops accepting, serves what the connections already hold,
 * closes the idle ones, then waits for the answers in flight. A request still arriving gets DRAIN_READ_MS to
 * arrive whole and be served; after that it is answered 503 with Connection: close. A client whose request was
 * partly read is never left with a silent close. */
static void drain_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	worker *w = arg;
	static const struct timeval tick = {0, 10000};
	int64_t now = mono_ms();
	if (!w->draining) {
		w->draining = 1;
		w->drain_start_ms = now;
		if (w->accept_ev) {
			event_free(w->accept_ev);
			w->accept_ev = NULL;
		}
		if (w->fd >= 0) {
			/* Connections the kernel completed but refd has not accepted yet may already hold whole
			 * requests: closing the socket would reset them. They are taken in, and served below like
			 * the others. */
			int before;
			do {
				before = count_conns(w);
				accept_cb(w->fd, EV_READ, w);
			} while (count_conns(w) - before >= 64);
			close(w->fd);
			w->fd = -1;
		}
		for (conn *c = w->conns; c;) {
			conn *next = c->next; /* conn_process frees at most c itself */
			c->draining = 1;
			if (c->state == C_READING) {
				/* Bytes the kernel holds for this connection were sent before the stop: read them now,
				 * so that a request among them is served (with Connection: close) instead of being lost
				 * with a connection closed as idle. */
				c->drained = 0;
				conn_process(c);
			}
			c = next;
		}
		for (conn *c = w->conns; c;) {
			conn *next = c->next;
			if (c->state == C_READING && !conn_mid_request(c) && !conn_busy(c))
				conn_free(c);
			c = next;
		}
	}
	bool reading_over = now - w->drain_start_ms >= DRAIN_READ_MS;
	bool busy = false;
	for (conn *c = w->conns; c;) {
		conn *next = c->next;
		if (conn_mid_request(c)) {
			if (reading_over) {
				refuse(c, 503, "unavailable", "the server is stopping: send the request again");
				conn_process(c);
			} else {
				busy = true;
			}
		}
		c = next;
	}
	for (conn *c = w->conns; c && !busy; c = c->next)
		busy = conn_busy(c);
	/* A response whose client vanished may never finish, so the wait is bounded. */
	if (busy && now - w->drain_start_ms < DRAIN_MAX_MS) {
		evtimer_add(w->drain, &tick);
		return;
	}
	event_base_loopbreak(w->base);
}

static void stop_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGUSR2);
}

void rf_server_block_signals(void)
{
	sigset_t set;
	stop_signals(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	/* A write to a closed socket, or past a file size limit, then fails with an error the caller handles (EPIPE,
	 * EFBIG: the database answers 503) instead of ending the process. */
	signal(SIGPIPE, SIG_IGN);
	signal(SIGXFSZ, SIG_IGN);
}

static int parse_listen(const char *listen, struct sockaddr_in *sa, rf_err *err)
{
	char host[64];
	const char *colon = listen ? strrchr(listen, ':') : NULL;
	if (!colon || (size_t)(colon - listen) >= sizeof host)
		return rf_err_set(err, RF_EINVAL, "listen", "--listen wants host:port, got '%s'", listen ? listen : "");
	memcpy(host, listen, (size_t)(colon - listen));
	host[colon - listen] = '\0';
	char *end = NULL;
	errno = 0;
	long port = strtol(colon + 1, &end, 10);
	if (errno || !end || *end || port < 0 || port > 65535 || end == colon + 1)
		return rf_err_set(err, RF_EINVAL, "listen", "--listen: bad port in '%s'", listen);
	memset(sa, 0, sizeof *sa);
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	if (strcmp(host, "localhost") == 0)
		snprintf(host, sizeof host, "127.0.0.1");
	if (inet_pton(AF_INET, host[0] ? host : "0.0.0.0", &sa->sin_addr) != 1)
		return rf_err_set(err, RF_EINVAL, "listen", "--listen: '%s' is not an IPv4 address", host);
	return RF_OK;
}

static int open_listener(struct sockaddr_in *sa, rf_err *err)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd < 0) {
		rf_err_set(err, RF_EIO, "listen", "socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	/* One socket per worker on the same port lets the kernel spread connections across the workers. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
	/* Accepted connections inherit it: a response's last segment leaves at once instead of waiting for the
	 * client's delayed acknowledgement of the one before (40 ms on Linux). */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)sa, sizeof *sa) != 0 || listen(fd, 1024) != 0) {
		char addr[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &sa->sin_addr, addr, sizeof addr);
		rf_err_set(err, RF_EIO, "listen", "cannot listen on %s:%d: %s", addr, ntohs(sa->sin_port),
			   strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* SO_REUSEPORT lets any process of the same user bind the port again and take a share of its connections: a second
 * refd started by mistake (on another database) would silently answer part of the traffic. So the port is first
 * bound once without it: a port anyone else holds is refused, as a plain bind would be, before the workers take it
 * together. */
static rf_status port_free(const struct sockaddr_in *sa, rf_err *err)
{
	if (sa->sin_port == 0)
		return RF_OK;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return rf_err_set(err, RF_EIO, "listen", "socket: %s", strerror(errno));
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	int rc = bind(fd, (const struct sockaddr *)sa, sizeof *sa);
	int e = errno;
	close(fd);
	if (rc != 0) {
		char addr[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &sa->sin_addr, addr, sizeof addr);
		return rf_err_set(err, RF_EIO, "listen", "cannot listen on %s:%d: %s", addr, ntohs(sa->sin_port),
				  e == EADDRINUSE ? "the address is already in use (is another refd running?)"
						  : strerror(e));
	}
	return RF_OK;
}

rf_status rf_server_run(const rf_server_config *cfg, rf_err *err)
{
	struct sockaddr_in sa;
	if (parse_listen(cfg->listen, &sa, err) != RF_OK)
		return err->status;
	int nthreads = cfg->threads > 0 ? cfg->threads : 1;
	if (nthreads > 64)
		nthreads = 64;
	evthread_use_pthreads();
	parser_settings = (http_parser_settings){
	    .on_message_begin = on_message_begin,
	    .on_url = on_url,
	    .on_header_field = on_header_field,
	    .on_header_value = on_header_value,
	    .on_headers_complete = on_headers_complete,
	    .on_body = on_body,
	    .on_message_complete = on_message_complete,
	};
	/* The request line and headers together; http-parser refuses a larger block with HPE_HEADER_OVERFLOW. */
	http_parser_set_max_header_size((uint32_t)cfg->max_headers);

	/* The stop signals are blocked in every thread; the main thread waits for them with sigwait. */
	sigset_t stop;
	stop_signals(&stop);
	rf_server_block_signals();

	worker *ws = calloc((size_t)nthreads, sizeof *ws);
	if (!ws)
		return rf_err_set(err, RF_ENOMEM, NULL, "out of memory");
	for (int i = 0; i < nthreads; i++)
		ws[i].fd = -1;
	rf_status rc = port_free(&sa, err);
	for (int i = 0; rc == RF_OK && i < nthreads; i++) {
		worker *w = &ws[i];
		w->index = i;
		w->cfg = cfg;
		w->fd = open_listener(&sa, err);
		if (w->fd < 0) {
			rc = err->status;
			goto fail;
		}
		if (i == 0 && sa.sin_port == 0) {
			socklen_t sl = sizeof sa;
			getsockname(w->fd, (struct sockaddr *)&sa, &sl);
		}
		w->ctx = cfg->thread_init ? cfg->thread_init(i, cfg->arg) : NULL;
		if (cfg->thread_init && !w->ctx) {
			rc = rf_err_set(err, RF_EIO, NULL, "worker %d could not start", i);
			goto fail;
		}
		w->base = event_base_new();
		if (!w->base) {
			rc = rf_err_set(err, RF_ENOMEM, NULL, "cannot create the event loop");
			goto fail;
		}
		static const struct timeval second = {1, 0};
		w->accept_ev = event_new(w->base, w->fd, EV_READ | EV_PERSIST, accept_cb, w);
		w->accept_retry = evtimer_new(w->base, accept_retry_cb, w);
		w->sweep = event_new(w->base, -1, EV_PERSIST, sweep_cb, w);
		w->drain = evtimer_new(w->base, drain_cb, w);
		pthread_mutex_init(&w->post_mu, NULL);
		w->post_ev = event_new(w->base, -1, EV_READ, post_cb, w);
		if (!w->accept_ev || !w->accept_retry || !w->sweep || !w->drain || !w->post_ev ||
		    event_add(w->accept_ev, NULL) != 0 || event_add(w->sweep, &second) != 0) {
			rc = rf_err_set(err, RF_EIO, NULL, "cannot accept on the listening socket");
			goto fail;
		}
	}
	if (rc != RF_OK)
		goto fail;
	char addr[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &sa.sin_addr, addr, sizeof addr);
	if (cfg->on_listen) {
		char full[INET_ADDRSTRLEN + 8];
		snprintf(full, sizeof full, "%s:%d", addr, ntohs(sa.sin_port));
		cfg->on_listen(full, cfg->arg);
	}
	char ts[40];
	rf_clock_format(rf_clock_now_ms(), ts, sizeof ts);
	printf("{\"ts\":\"%s\",\"level\":\"info\",\"msg\":\"listening\",\"addr\":\"%s:%d\",\"threads\":%d}\n", ts, addr,
	       ntohs(sa.sin_port), nthreads);
	fflush(stdout);

	for (int i = 0; i < nthreads; i++) {
		if (pthread_create(&ws[i].thread, NULL, worker_main, &ws[i]) != 0) {
			rc = rf_err_set(err, RF_EIO, NULL, "cannot start worker threads");
			for (int j = 0; j < i; j++)
				event_active(ws[j].drain, EV_TIMEOUT, 0);
			for (int j = 0; j < i; j++)
				pthread_join(ws[j].thread, NULL);
			goto fail;
		}
		ws[i].started = 1;
	}

	int sig = 0;
	for (;;) {
		sigwait(&stop, &sig);
		if (sig != SIGUSR2)
			break;
		if (cfg->on_usr2)
			cfg->on_usr2(cfg->arg);
	}
	rf_clock_format(rf_clock_now_ms(), ts, sizeof ts);
	printf("{\"ts\":\"%s\",\"level\":\"info\",\"msg\":\"stopping\",\"signal\":\"%s\"}\n", ts,
	       sig == SIGTERM ? "SIGTERM" : "SIGINT");
	fflush(stdout);
	if (cfg->on_stopping)
		cfg->on_stopping(cfg->arg);
	for (int i = 0; i < nthreads; i++)
		event_active(ws[i].drain, EV_TIMEOUT, 0);
	for (int i = 0; i < nthreads; i++)
		pthread_join(ws[i].thread, NULL);
	if (cfg->on_drained)
		cfg->on_drained(cfg->arg);

fail:
	for (int i = 0; i < nthreads; i++) {
		worker *w = &ws[i];
		while (w->conns)
			conn_free(w->conns);
		/* Work posted after the loop stopped (only when the drain gave up) is dropped with the worker. */
		for (posted *p = w->post_head; p;) {
			posted *next = p->next;
			if (p->heap)
				free(p);
			p = next;
		}
		struct event *evs[] = {w->accept_ev, w->accept_retry, w->sweep, w->drain, w->post_ev};
		for (size_t k = 0; k < sizeof evs / sizeof evs[0]; k++)
			if (evs[k])
				event_free(evs[k]);
		if (w->fd >= 0)
			close(w->fd);
		if (w->base)
			event_base_free(w->base);
		if (w->ctx && cfg->thread_free)
			cfg->thread_free(w->ctx);
	}
	free(ws);
	return rc;
}
