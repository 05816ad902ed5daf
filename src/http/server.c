/* The evhttp-based server: one event loop per thread on SO_REUSEPORT sockets, request logging, graceful stop. */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../core/clock.h"
#include "../core/text.h"

#define REQ_ARENA_LIMIT (16u << 20)

typedef struct posted {
	struct posted *next;
	rf_req *req;
	void (*fn)(rf_req *r, void *arg);
	void *arg;
} posted;

typedef struct worker {
	int index;
	int fd;
	struct event_base *base;
	struct evhttp *http;
	struct evhttp_bound_socket *bound;
	const rf_server_config *cfg;
	void *ctx;
	pthread_t thread;
	atomic_int inflight;
	struct event *drain;
	int drain_ticks;
	int started;
	/* Work handed to this worker by other threads (completed deferred requests). */
	pthread_mutex_t post_mu;
	posted *post_head, *post_tail;
	struct event *post_ev;
} worker;

struct rf_req {
	struct evhttp_request *ev;
	worker *w;
	rf_arena arena;
	char *path;
	struct evkeyvalq query;
	int query_parsed;
	int query_bad; /* the query string could not be read */
	char *body;
	size_t body_len;
	char id[32];
	char peer[64];
	char actor[64];
	int64_t start_us;
	int sent;
	int deferred;
	int gone;        /* the connection closed while the request was deferred */
	int in_dispatch; /* the handler is still running: dispatch releases the request */
};

static int64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

const char *rf_req_method(rf_req *r)
{
	switch (evhttp_request_get_command(r->ev)) {
	case EVHTTP_REQ_GET:
		return "GET";
	case EVHTTP_REQ_POST:
		return "POST";
	case EVHTTP_REQ_PUT:
		return "PUT";
	case EVHTTP_REQ_PATCH:
		return "PATCH";
	case EVHTTP_REQ_DELETE:
		return "DELETE";
	case EVHTTP_REQ_HEAD:
		return "HEAD";
	case EVHTTP_REQ_OPTIONS:
		return "OPTIONS";
	default:
		return "OTHER";
	}
}

const char *rf_req_path(rf_req *r)
{
	return r->path;
}

static void parse_query(rf_req *r)
{
	if (r->query_parsed)
		return;
	r->query_parsed = 1;
	const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(r->ev);
	const char *q = u ? evhttp_uri_get_query(u) : NULL;
	if (q && evhttp_parse_query_str(q, &r->query) != 0) {
		/* A member without "=" (or another malformed piece): the query is refused, not half read. */
		evhttp_clear_headers(&r->query);
		r->query_bad = 1;
	}
}

const char *rf_req_query(rf_req *r, const char *name)
{
	parse_query(r);
	return evhttp_find_header(&r->query, name);
}

bool rf_req_query_has_only(rf_req *r, const char *const *allowed, const char **unknown)
{
	parse_query(r);
	if (r->query_bad) {
		*unknown = NULL; /* no one parameter is at fault */
		return false;
	}
	struct evkeyval *kv;
	TAILQ_FOREACH(kv, &r->query, next)
	{
		bool ok = false;
		for (const char *const *a = allowed; *a && !ok; a++)
			ok = strcmp(*a, kv->key) == 0;
		if (!ok) {
			*unknown = rf_arena_strdup(&r->arena, kv->key);
			return false;
		}
	}
	return true;
}

const char *rf_req_header(rf_req *r, const char *name)
{
	return evhttp_find_header(evhttp_request_get_input_headers(r->ev), name);
}

const char *rf_req_body(rf_req *r, size_t *len)
{
	if (len)
		*len = r->body_len;
	return r->body;
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

void rf_resp_header(rf_req *r, const char *name, const char *value)
{
	evhttp_add_header(evhttp_request_get_output_headers(r->ev), name, value);
}

/* Writes s as a JSON string body (without quotes) into buf, escaping what JSON requires. */
static size_t json_escape(char *buf, size_t len, const char *s)
{
	size_t o = 0;
	for (; s && *s && o + 7 < len; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)c;
		} else if (c < 0x20) {
			o += (size_t)snprintf(buf + o, len - o, "\\u%04x", c);
		} else {
			buf[o++] = (char)c;
		}
	}
	buf[o] = '\0';
	return o;
}

static void log_request(rf_req *r, int status, size_t bytes)
{
	char path[512], actor[128], line[1024], ts[40];
	json_escape(path, sizeof path, r->path ? r->path : "");
	json_escape(actor, sizeof actor, r->actor);
	rf_clock_format(rf_clock_now_ms(), ts, sizeof ts);
	int n =
	    snprintf(line, sizeof line,
		     "{\"ts\":\"%s\",\"level\":\"info\",\"msg\":\"request\",\"request_id\":\"%s\",\"method\":\"%s\","
		     "\"path\":\"%s\",\"status\":%d,\"bytes\":%zu,\"duration_ms\":%.3f,\"remote\":\"%s\""
		     "%s%s%s}\n",
		     ts, r->id, rf_req_method(r), path, status, bytes, (double)(mono_us() - r->start_us) / 1000.0,
		     r->peer, actor[0] ? ",\"actor\":\"" : "", actor, actor[0] ? "\"" : "");
	if (n > 0) {
		size_t len = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
		/* One write per line keeps lines from different threads whole. */
		ssize_t w = write(STDOUT_FILENO, line, len);
		(void)w;
	}
}

static void on_complete(struct evhttp_request *ev, void *arg)
{
	(void)ev;
	worker *w = arg;
	atomic_fetch_sub(&w->inflight, 1);
}

static void req_free(rf_req *r)
{
	evhttp_clear_headers(&r->query);
	rf_arena_reset(&r->arena);
	free(r);
}

static void on_conn_close(struct evhttp_connection *conn, void *arg)
{
	(void)conn;
	rf_req *r = arg;
	r->gone = 1;
	r->ev = NULL;
}

void rf_req_defer(rf_req *r)
{
	if (r->deferred)
		return;
	r->deferred = 1;
	atomic_fetch_add(&r->w->inflight, 1);
	struct evhttp_connection *conn = evhttp_request_get_connection(r->ev);
	if (conn)
		evhttp_connection_set_closecb(conn, on_conn_close, r);
}

bool rf_req_gone(rf_req *r)
{
	return r->gone != 0;
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
	const struct evhttp_uri *u = r->ev ? evhttp_request_get_evhttp_uri(r->ev) : NULL;
	return u ? evhttp_uri_get_query(u) : NULL;
}

void rf_req_post(rf_req *r, void (*fn)(rf_req *r, void *arg), void *arg)
{
	worker *w = r->w;
	posted *p = malloc(sizeof *p);
	if (!p)
		abort(); /* nothing sensible remains: the client would wait forever */
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
		posted *next = p->next;
		p->fn(p->req, p->arg);
		free(p);
		p = next;
	}
}

void rf_resp_send(rf_req *r, int status, const char *content_type, const char *body, size_t len)
{
	if (r->sent)
		return;
	r->sent = 1;
	if (r->deferred) {
		atomic_fetch_sub(&r->w->inflight, 1);
		if (r->gone) {
			if (!r->in_dispatch)
				req_free(r);
			return;
		}
		struct evhttp_connection *conn = evhttp_request_get_connection(r->ev);
		if (conn)
			evhttp_connection_set_closecb(conn, NULL, NULL);
	}
	struct evkeyvalq *h = evhttp_request_get_output_headers(r->ev);
	if (content_type)
		evhttp_add_header(h, "Content-Type", content_type);
	evhttp_add_header(h, "X-Request-Id", r->id);
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	struct evbuffer *out = evhttp_request_get_output_buffer(r->ev);
	if (body && len)
		evbuffer_add(out, body, len);
	if (r->w->cfg->log_requests)
		log_request(r, status, len);
	atomic_fetch_add(&r->w->inflight, 1);
	evhttp_request_set_on_complete_cb(r->ev, on_complete, r->w);
	evhttp_send_reply(r->ev, status, NULL, NULL);
	if (r->deferred && !r->in_dispatch)
		req_free(r);
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

static void dispatch(struct evhttp_request *ev, void *arg)
{
	worker *w = arg;
	/* On the heap, because a deferred request outlives this call. */
	rf_req *r = calloc(1, sizeof *r);
	if (!r) {
		evhttp_send_error(ev, 503, "Service Unavailable");
		return;
	}
	r->ev = ev;
	r->w = w;
	r->start_us = mono_us();
	TAILQ_INIT(&r->query);
	rf_arena_init(&r->arena, REQ_ARENA_LIMIT);

	const char *given = evhttp_find_header(evhttp_request_get_input_headers(ev), "X-Request-Id");
	if (request_id_ok(given))
		snprintf(r->id, sizeof r->id, "%s", given);
	else {
		char rnd[32];
		rf_id_new("req", rnd, sizeof rnd);
		snprintf(r->id, sizeof r->id, "%.28s", rnd);
	}

	struct evhttp_connection *conn = evhttp_request_get_connection(ev);
	char *host = NULL;
	ev_uint16_t port = 0;
	if (conn) {
		evhttp_connection_get_peer(conn, &host, &port);
		snprintf(r->peer, sizeof r->peer, "%s", host ? host : "");
	}

	const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(ev);
	const char *raw = u ? evhttp_uri_get_path(u) : NULL;
	size_t dlen = 0;
	char *decoded = raw ? evhttp_uridecode(raw, 0, &dlen) : NULL;
	/* An encoded NUL would cut the path short and make it name something else: such a path names nothing. */
	bool nul = decoded && strlen(decoded) != dlen;
	r->path = rf_arena_strdup(&r->arena, decoded && !nul ? decoded : "/\x7f");
	free(decoded);

	struct evbuffer *in = evhttp_request_get_input_buffer(ev);
	size_t blen = evbuffer_get_length(in);
	r->body = rf_arena_alloc(&r->arena, blen + 1);
	if (r->body) {
		evbuffer_remove(in, r->body, blen);
		r->body_len = blen;
	}

	if (!r->path || !r->body) {
		rf_resp_send(r, 500, "application/json",
			     "{\"error\":{\"type\":\"internal_error\",\"message\":\"out of memory\"}}", 62);
	} else {
		r->in_dispatch = 1;
		w->cfg->handler(r, w->ctx);
		r->in_dispatch = 0;
		if (!r->sent && !r->deferred)
			rf_resp_send(r, 500, "application/json",
				     "{\"error\":{\"type\":\"internal_error\",\"message\":\"no response\"}}", 61);
	}
	/* A deferred request is released by rf_resp_send, later (unless that already happened). */
	if (!r->deferred || r->sent)
		req_free(r);
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

static void *worker_main(void *arg)
{
	worker *w = arg;
	char name[16];
	snprintf(name, sizeof name, "refd-http-%d", w->index);
	pthread_setname_np(pthread_self(), name);
	event_base_dispatch(w->base);
	return NULL;
}

/* Runs on each worker's loop once a stop is asked: stops accepting, then waits for responses to drain. */
static void drain_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	worker *w = arg;
	static const struct timeval tick = {0, 10000};
	if (w->bound) {
		evhttp_del_accept_socket(w->http, w->bound);
		w->bound = NULL;
		w->fd = -1;
	}
	/* A response whose client vanished may never report completion, so the wait is bounded to 10 s. */
	if (atomic_load(&w->inflight) > 0 && w->drain_ticks++ < 1000) {
		evtimer_add(w->drain, &tick);
		return;
	}
	event_base_loopbreak(w->base);
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

	/* Block the stop signals in every thread; the main thread waits for them with sigwait. */
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);

	worker *ws = calloc((size_t)nthreads, sizeof *ws);
	if (!ws)
		return rf_err_set(err, RF_ENOMEM, NULL, "out of memory");
	rf_status rc = RF_OK;
	for (int i = 0; i < nthreads; i++) {
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
			close(w->fd);
			goto fail;
		}
		w->base = event_base_new();
		w->http = w->base ? evhttp_new(w->base) : NULL;
		if (!w->http) {
			rc = rf_err_set(err, RF_ENOMEM, NULL, "cannot create the event loop");
			goto fail;
		}
		evhttp_set_max_body_size(w->http, (ev_ssize_t)cfg->max_body);
		evhttp_set_max_headers_size(w->http, (ev_ssize_t)cfg->max_headers);
		evhttp_set_timeout(w->http, cfg->timeout_seconds > 0 ? cfg->timeout_seconds : 30);
		evhttp_set_allowed_methods(w->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
							EVHTTP_REQ_PATCH | EVHTTP_REQ_DELETE | EVHTTP_REQ_HEAD |
							EVHTTP_REQ_OPTIONS);
		evhttp_set_gencb(w->http, dispatch, w);
		w->bound = evhttp_accept_socket_with_handle(w->http, w->fd);
		w->drain = evtimer_new(w->base, drain_cb, w);
		pthread_mutex_init(&w->post_mu, NULL);
		w->post_ev = event_new(w->base, -1, EV_READ, post_cb, w);
		if (!w->bound || !w->drain) {
			rc = rf_err_set(err, RF_EIO, NULL, "cannot accept on the listening socket");
			goto fail;
		}
	}
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
				event_base_once(ws[j].base, -1, EV_TIMEOUT, drain_cb, &ws[j], NULL);
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
	for (int i = 0; i < nthreads; i++)
		event_active(ws[i].drain, EV_TIMEOUT, 0);
	for (int i = 0; i < nthreads; i++)
		pthread_join(ws[i].thread, NULL);
	if (cfg->on_drained)
		cfg->on_drained(cfg->arg);

fail:
	for (int i = 0; i < nthreads; i++) {
		worker *w = &ws[i];
		if (w->drain)
			event_free(w->drain);
		if (w->post_ev)
			event_free(w->post_ev);
		/* Work posted after the loop stopped (only when the drain gave up) is dropped with the worker. */
		for (posted *p = w->post_head; p;) {
			posted *next = p->next;
			free(p);
			p = next;
		}
		if (w->http)
			evhttp_free(w->http);
		else if (w->fd >= 0 && !w->bound)
			close(w->fd);
		if (w->base)
			event_base_free(w->base);
		if (w->ctx && cfg->thread_free)
			cfg->thread_free(w->ctx);
	}
	free(ws);
	return rc;
}
