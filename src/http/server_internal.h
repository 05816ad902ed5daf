/* SPDX-License-Identifier: Apache-2.0 */
/* What server.c and request.c share, and nothing else includes: the request as the server fills it. */
#ifndef RF_SERVER_INTERNAL_H
#define RF_SERVER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../core/arena.h"
#include "server.h"

typedef struct conn conn;
typedef struct worker worker;

typedef struct posted {
	struct posted *next;
	rf_req *req;
	void (*fn)(rf_req *r, void *arg);
	void *arg;
	int heap; /* allocated for a second post of the same request, rather than the one inside it */
} posted;

typedef struct {
	const char *name, *value;
} kv;

typedef struct out_header {
	struct out_header *next;
	const char *name, *value;
} out_header;

struct rf_req {
	conn *c; /* NULL once the connection is gone */
	worker *w;
	rf_arena arena;
	unsigned method;
	int keep_alive;
	char *path;
	char *raw_query;
	kv *headers;
	int nheaders;
	kv *query;
	size_t nquery;
	int query_parsed;
	int query_bad;         /* the query string could not be read */
	const char *query_nul; /* the first parameter whose value decodes to a NUL, or NULL */
	out_header *out_head, *out_tail;
	char *body;
	size_t body_len, body_cap;
	size_t max_body; /* the most body bytes this request may have */
	/* A body larger than a JSON one may be (an import's CSV file) is written here as it arrives, not held in
	 * memory: an unlinked temporary file, read from its start once the request is complete. */
	FILE *spool;
	char id[32];
	char peer[64];
	char actor[64];
	int64_t start_us;
	int sent;
	int deferred;
	int gone;        /* the connection closed while the request was deferred */
	int in_dispatch; /* the handler is still running: dispatch releases the request */
	posted post;     /* the node rf_req_post queues, so that posting allocates nothing */
	int post_used;
};

/* The methods refd serves (GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS), as http-parser numbers them. */
bool rf_http_method_served(unsigned method);

/* False when s holds a CR or LF, which would let a header value start another header. */
bool rf_http_header_text_ok(const char *s);

/* Writes the request's JSON log line (one write, so lines from several threads stay whole). */
void rf_http_log_request(rf_req *r, int status, size_t bytes);

#endif
