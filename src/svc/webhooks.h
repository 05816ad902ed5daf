/* SPDX-License-Identifier: Apache-2.0 */
/* Webhook endpoints and their deliveries as business rules: what an attempt's outcome does to the delivery (the
 * retry schedule, giving up) and to its endpoint (failing since when, disabled after days of failures or a 410
 * Gone), and disabling an endpoint. Run inside the caller's transaction like every service. */
#ifndef RF_SVC_WEBHOOKS_H
#define RF_SVC_WEBHOOKS_H

#include <stdint.h>

#include "svc.h"

/* An endpoint whose deliveries have failed, with no success in between, for this long is disabled (and the
 * event webhook_endpoint.disabled written): five days, longer than one delivery's whole retry schedule, so that
 * it takes failures of several deliveries to get there. */
#define RF_WEBHOOK_DISABLE_AFTER_MS (5LL * 86400 * 1000)

/* The outcome of one attempt to deliver a webhook. */
typedef struct {
	const char *delivery_id;
	const char *endpoint_id;
	int64_t at; /* when it began, refd's clock (the webhook-timestamp sent) */
	bool has_status_code;
	int status_code;
	int64_t latency_ms;
	const char *response; /* the first bytes of the answer, clean UTF-8, or NULL */
	const char *error;    /* why it failed ("HTTP 500", "timed out after 15 s", ...); NULL for a 2xx answer */
	uint32_t jitter;      /* a random value that spreads the next attempt (rf_swh_retry_delay_ms) */
} rf_webhook_attempt;

/* Records attempt t, made on behalf of the delivery's current state: the attempt is logged; a pending delivery is
 * delivered on a 2xx answer, otherwise due again after the retry schedule's delay from now, or failed after its
 * last attempt; the endpoint's failing_since is cleared by a success and set by the first failure after one, and a
 * failure RF_WEBHOOK_DISABLE_AFTER_MS or more after failing_since, or a 410 Gone, disables the endpoint. A
 * delivery or endpoint that no longer exists (deleted meanwhile) is passed over. Locks the endpoint, then the
 * delivery. */
rf_status rf_svc_webhook_attempted(rf_svc *sv, const rf_webhook_attempt *t, int64_t now, rf_err *err);

/* Disables endpoint w (already locked by the caller) with reason, as of at: its pending deliveries are cancelled;
 * when automatic (refd decided, not a person), the event webhook_endpoint.disabled tells the admins. w is updated
 * in place and in the store. */
rf_status rf_svc_webhook_disable(rf_svc *sv, rf_webhook_endpoint *w, const char *reason, bool automatic, int64_t at,
				 rf_err *err);

#endif
