/* SPDX-License-Identifier: Apache-2.0 */
/* The HTTP server behind refd: threads, listening sockets, keep-alive, bounded requests, request logs and
 * graceful shutdown. The libraries it uses (libevent's event loop, http-parser) stay inside server.c and
 * request.c. */
#ifndef RF_SERVER_H
#define RF_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../core/arena.h"
#include "../core/status.h"

typedef struct rf_req rf_req;

typedef void (*rf_handler_fn)(rf_req *req, void *thread_ctx);

typedef struct {
	const char *listen; /* "host:port"; port 0 picks a free one */
	int threads;        /* worker threads, each with its own event loop and context */
	size_t max_body;    /* requests with a larger body are refused with 413 before the handler runs */
	/* Called once a request's line and headers are read, on its worker thread with the worker's context, before
	 * any of its body: the most body bytes that request may have, or 0 for max_body (a larger one is refused with
	 * 413, before its body is read). A body allowed more than max_body goes to a temporary file as it arrives
	 * (rf_req_body_file), so that it is never whole in memory. NULL: max_body for every request. */
	size_t (*body_limit)(rf_req *r, void *thread_ctx);
	size_t max_headers;                         /* bytes of request line and headers */
	int timeout_seconds;                        /* idle keep-alive and slow-client timeout */
	rf_handler_fn handler;                      /* called for every request, on the worker thread that read it */
	void *(*thread_init)(int index, void *arg); /* builds a worker's context; NULL result aborts start-up */
	void (*thread_free)(void *thread_ctx);
	void *arg;
	/* Called once the sockets are bound, with "host:port" (the real port when 0 was asked), before serving. */
	void (*on_listen)(const char *addr, void *arg);
	/* Called once the workers have stopped and before they are freed: the place to stop threads that may
	 * still post to them (rf_req_post). */
	void (*on_drained)(void *arg);
	/* Called on the main thread when a stop is asked (SIGTERM, SIGINT), before the workers drain: the place to ask
	 * long work (an import) to end soon, so that its answer can still be sent. NULL: nothing is called. */
	void (*on_stopping)(void *arg);
	/* Called on the main thread for each SIGUSR2 (NULL: SIGUSR2 is ignored). */
	void (*on_usr2)(void *arg);
	bool log_requests;
} rf_server_config;

/* Blocks SIGTERM, SIGINT and SIGUSR2 in the calling thread and ignores SIGPIPE and SIGXFSZ. Call it before the process
 * starts its first thread: threads inherit the mask, so these signals can only be taken by rf_server_run's sigwait. A
 * thread started earlier would leave them deliverable to itself, where their default action ends the process. */
void rf_server_block_signals(void);

/* Runs the server until SIGTERM or SIGINT, then stops accepting and drains: every request whose bytes were read is
 * answered (one still arriving is read for up to 5 seconds, then answered 503 with Connection: close), answers in
 * flight finish (up to 10 seconds in all), and every worker's context is freed. Prints one JSON "listening" line
 * with the bound address. Calls rf_server_block_signals itself, which is too late if threads already run. */
rf_status rf_server_run(const rf_server_config *cfg, rf_err *err);

/* Request accessors; returned strings live as long as the request. */
const char *rf_req_method(rf_req *r);                  /* "GET", "POST", ... */
const char *rf_req_path(rf_req *r);                    /* decoded path without the query */
const char *rf_req_query(rf_req *r, const char *name); /* decoded value of a query parameter, or NULL */
/* False when a parameter is not in allowed (*unknown names it) or the query string cannot be read (*unknown NULL). */
bool rf_req_query_has_only(rf_req *r, const char *const *allowed, const char **unknown);
/* The name of the first query parameter whose value decodes to a NUL byte (rf_req_query returns it cut short
 * there), or NULL. */
const char *rf_req_query_nul(rf_req *r);
const char *rf_req_header(rf_req *r, const char *name); /* NULL when absent */
const char *rf_req_body(rf_req *r, size_t *len);        /* NUL-terminated copy of the body */
/* The body of a request whose body_limit was above max_body, written to a temporary file as it arrived, positioned
 * at its start, with its length in *len; the caller owns the file from then on (and fcloses it). NULL for a body
 * held in memory (rf_req_body), or when it was taken already. rf_req_body gives such a request's body as empty. */
FILE *rf_req_body_file(rf_req *r, size_t *len);
const char *rf_req_peer(rf_req *r); /* the client's address */
const char *rf_req_id(rf_req *r);   /* request id, also sent as X-Request-Id */
rf_arena *rf_req_arena(rf_req *r);  /* freed when the response is sent */

/* Adds a response header; call before rf_resp_send. */
void rf_resp_header(rf_req *r, const char *name, const char *value);
/* Forgets the headers added so far (a transaction run again starts its answer afresh). */
void rf_resp_headers_clear(rf_req *r);
/* Sends the response (once); body may be NULL for an empty one. */
void rf_resp_send(rf_req *r, int status, const char *content_type, const char *body, size_t len);
/* Keeps the request after the handler returns: its response is sent later, on the request's worker thread,
 * from a function given to rf_req_post. Until then the request (and its arena) stays valid. */
void rf_req_defer(rf_req *r);

/* Schedules fn(r, arg) to run on r's worker thread; safe to call from any thread. fn must send the response
 * (rf_resp_send), which also releases a deferred request. When the client went away meanwhile, rf_req_gone(r)
 * is true in fn and rf_resp_send only releases the request. */
void rf_req_post(rf_req *r, void (*fn)(rf_req *r, void *arg), void *arg);
bool rf_req_gone(rf_req *r);

/* The value of a cookie sent with the request (arena copy), or NULL. */
char *rf_req_cookie(rf_req *r, const char *name);

/* The raw query string (without '?'), or NULL. */
const char *rf_req_raw_query(rf_req *r);

/* Adds a field to the request's log line (the authenticated actor, say); value is copied. */
void rf_req_log_actor(rf_req *r, const char *actor);

#endif
