/* SPDX-License-Identifier: Apache-2.0 */
/* Routing of API requests: the route table's shape, the per-request context handlers receive, and the checks
 * (authentication, CSRF, role, body size, query parameters, whether a body is taken) made before any handler runs. */
#ifndef RF_ROUTER_H
#define RF_ROUTER_H

#include <stdbool.h>

#include "../core/config.h"
#include "../core/model.h"
#include "../store/store.h"
#include "../svc/svc.h"
#include "server.h"

/* One per worker thread. */
typedef struct {
	rf_store *store;
	const rf_app_config *cfg;
} rf_app;

/* Who is calling. A session principal carries its CSRF token; a key principal has key_id. */
typedef struct {
	rf_role role;
	char *user_id;
	char *key_id;
	char *partner_id; /* for manager and partner roles: the partner record they belong to */
	char *actor;      /* "usr_…" or "key_…", for the audit trail */
	bool via_session;
	char *session_hash;
	char *csrf; /* the session's CSRF token */
} rf_principal;

#define RF_MAX_PATH_PARAMS 4

/* The answer of a route that runs in a transaction, held until the transaction commits (or is rolled back). */
typedef struct {
	bool holding; /* answers are held here, not sent */
	bool given;   /* an answer is held */
	int status;
	const char *content_type;
	char *body; /* in the request's arena */
	size_t len;
	bool keep;  /* commit even though the answer is an error (a failed login is still counted) */
	bool retry; /* the transaction lost a race: run the route again */
} rf_held;

typedef struct {
	rf_req *req;
	rf_app *app;
	rf_arena *a;
	rf_principal who;
	const char *params[RF_MAX_PATH_PARAMS]; /* values of {name} segments, in order */
	rf_held out;
	rf_svc svc; /* the services' view of this request: see rf_ctx_svc */
} rf_ctx;

/* The services' context for this request: its store, arena and configuration, and the caller as the actor of
 * what it writes (read when called, so a handler that acts for someone else, Stripe say, is recorded as such). */
rf_svc *rf_ctx_svc(rf_ctx *c);

/* Sends an answer, or holds it when the route runs in a transaction (the router sends it after the commit). Every
 * answer of a handler goes through here (rf_json_send does). */
void rf_ctx_send(rf_ctx *c, int status, const char *content_type, const char *body, size_t len);

typedef void (*rf_route_fn)(rf_ctx *c);

typedef enum {
	RF_AUTH_PUBLIC = 0, /* no credentials needed */
	RF_AUTH_ANY,        /* any signed-in principal; the handler narrows by role */
	RF_AUTH_ADMIN,      /* admin or owner */
	RF_AUTH_OWNER
} rf_auth_level;

/* What a route takes besides its path (rf_route.flags). */
enum {
	/* It reads a request body. Any other route refuses one, except an empty JSON object, which some clients
	 * send with every POST and which says nothing. */
	RF_ROUTE_BODY = 1u << 0,
	/* It lets any query parameter through, besides those it reads: the pages and the redirect, whose links
	 * carry campaign parameters (utm_*, via=, gclid ...) that are not refd's to judge, and Stripe's webhook,
	 * which Stripe calls at the URL it was given. */
	RF_ROUTE_ANY_QUERY = 1u << 1,
	/* No transaction is opened for it, though its method is not GET: it writes nothing (a plan's simulation) or
	 * writes elsewhere and answers later (the script's click, durable through the click writer). Every other
	 * POST, PATCH and DELETE runs in one transaction that the router opens, commits when the answer is a
	 * success, rolls back otherwise, and runs again when it lost a race. */
	RF_ROUTE_NO_TX = 1u << 2,
	/* Its body may be as large as --max-import-body (a CSV file) rather than a JSON body's --max-body, for a
	 * caller whose credentials, read with the headers, already allow the route: anyone else is held to the
	 * server's 1 MiB before a byte of the body is read. */
	RF_ROUTE_LARGE_BODY = 1u << 3,
};

typedef struct {
	const char *method;
	const char *pattern; /* "/api/v1/partners/{id}" */
	rf_route_fn fn;
	rf_auth_level auth;
	unsigned flags; /* RF_ROUTE_* */
	/* The query parameters the route reads, ended by NULL; NULL when it reads none. Unless the route has
	 * RF_ROUTE_ANY_QUERY, the router refuses any other parameter (400 naming it) before the handler runs. */
	const char *const *query;
} rf_route;

/* The table of every route, ended by an entry with a NULL method (defined by the API layer). */
extern const rf_route rf_routes[];

/* The server's handler: matches the route, checks the body size, authenticates, checks CSRF and role, refuses
 * query parameters the route does not read and a body it does not take, then runs it. */
void rf_router_handle(rf_req *req, void *thread_ctx);

/* The server's body_limit: for a route with RF_ROUTE_LARGE_BODY and credentials that allow it, the configured
 * max_import_body; 0 (the server's cap) for every other request. */
size_t rf_router_body_limit(rf_req *req, void *thread_ctx);

#endif
