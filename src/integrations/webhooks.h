/* SPDX-License-Identifier: Apache-2.0 */
/* The webhook sender: a thread on its own database connection that claims due deliveries (a lease, so that each
 * attempt is made by one process), sends them signed by the Standard Webhooks scheme with libcurl, many at once,
 * and records each outcome (the retry schedule, the endpoint's health) in a short transaction; no transaction is
 * open while a request is on its way. */
#ifndef RF_INTEGRATIONS_WEBHOOKS_H
#define RF_INTEGRATIONS_WEBHOOKS_H

#include <stdbool.h>

#include "../core/config.h"
#include "../core/status.h"

/* How long a claimed delivery is this process's: past it (the process died mid-attempt), another claims it. */
#define RF_WEBHOOK_LEASE_MS 60000
/* Bytes of an answer kept in the delivery log. */
#define RF_WEBHOOK_EXCERPT_MAX 4096

typedef struct {
	unsigned char key[32]; /* the instance key: endpoints' secrets are sealed with it */
	/* Lets deliveries reach loopback, private, link-local and other internal addresses, and use http:// (tests, a
	 * closed network). Off: such an address is refused when connecting, whatever name led to it. */
	bool allow_private;
	int concurrency;          /* deliveries in flight at most (1 to 1024) */
	long timeout_ms;          /* one attempt, from connecting to the end of the answer */
	long connect_timeout_ms;  /* name resolution and connecting */
	long poll_ms;             /* how often an idle sender asks the database for due deliveries */
	const rf_app_config *app; /* the server's configuration: the mail an outcome causes (an endpoint disabled)
				     is composed with it; NULL composes none */
} rf_webhooks_config;

/* Starts the sender on its own connection to the database at location. */
rf_status rf_webhooks_start(const char *location, const rf_webhooks_config *cfg, rf_err *err);

/* Looks for due deliveries now rather than at the next poll (after the clock moved, for instance). */
void rf_webhooks_kick(void);

/* Stops the sender: deliveries in flight get a few seconds to finish and be recorded, the others are left to their
 * lease (sent again once it runs out). Safe to call when not started, and more than once. */
void rf_webhooks_stop(void);

#endif
