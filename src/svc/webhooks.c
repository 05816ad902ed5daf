/* SPDX-License-Identifier: Apache-2.0 */
/* What the outcome of a webhook attempt does to its delivery and its endpoint, and disabling an endpoint. */
#include "webhooks.h"

#include <stdio.h>
#include <string.h>

#include "../core/stdwebhooks.h"
#include "events.h"

rf_status rf_svc_webhook_disable(rf_svc *sv, rf_webhook_endpoint *w, const char *reason, bool automatic, int64_t at,
				 rf_err *err)
{
	w->status = "disabled";
	w->disabled_reason = reason ? rf_arena_strdup(sv->a, reason) : NULL;
	w->updated_at = at;
	char why[320];
	snprintf(why, sizeof why, "not sent: the endpoint was disabled (%s)", reason ? reason : "by an admin");
	if (rf_store_webhook_endpoint_update(sv->store, w, err) != RF_OK ||
	    rf_store_deliveries_cancel(sv->store, "webhook", w->id, why, at, NULL, err) != RF_OK)
		return err->status;
	return automatic ? rf_svc_event_webhook_endpoint(sv, "webhook_endpoint.disabled", w, err) : RF_OK;
}

/* Why the endpoint must be disabled after this failed attempt, in reason (NULL returned when it must not). */
static const char *disable_reason(const rf_webhook_endpoint *w, const rf_webhook_attempt *t, char *reason, size_t len)
{
	if (strcmp(w->status, "enabled") != 0)
		return NULL;
	if (t->has_status_code && t->status_code == 410) {
		snprintf(reason, len,
			 "the endpoint answered 410 Gone: it wants no more deliveries (enable it to resume)");
		return reason;
	}
	if (!w->failing_since || t->at - w->failing_since < RF_WEBHOOK_DISABLE_AFTER_MS)
		return NULL;
	snprintf(reason, len,
		 "deliveries failed for %lld days without a success (the last: %.200s); enable it once it answers",
		 (long long)((t->at - w->failing_since) / 86400000), t->error ? t->error : "no answer");
	return reason;
}

rf_status rf_svc_webhook_attempted(rf_svc *sv, const rf_webhook_attempt *t, int64_t now, rf_err *err)
{
	bool ok = t->has_status_code && t->status_code >= 200 && t->status_code <= 299 && !t->error;
	/* The endpoint first, then the delivery, as every writer that changes both does (an admin disabling an
	 * endpoint cancels its deliveries). */
	rf_webhook_endpoint w;
	rf_delivery d;
	if (rf_store_lock(sv->store, RF_LOCK_WEBHOOK_ENDPOINT, t->endpoint_id, err) != RF_OK)
		return err->status;
	rf_status rc = rf_store_webhook_endpoint_get(sv->store, t->endpoint_id, &w, sv->a, err);
	bool have_endpoint = rc == RF_OK;
	if (rc != RF_OK && rc != RF_ENOTFOUND)
		return rc;
	if (rf_store_lock(sv->store, RF_LOCK_DELIVERY, t->delivery_id, err) != RF_OK)
		return err->status;
	rc = rf_store_delivery_get(sv->store, t->delivery_id, &d, sv->a, err);
	if (rc == RF_ENOTFOUND) /* gone with its endpoint, or with its event past the log's keeping */
		return RF_OK;
	if (rc != RF_OK)
		return rc;
	char reason[300];
	const char *disable = !ok && have_endpoint ? disable_reason(&w, t, reason, sizeof reason) : NULL;
	d.attempts++;
	/* A delivery another sender finished, or that was cancelled, while this attempt was on its way keeps its
	 * outcome: the attempt is only logged. */
	if (strcmp(d.status, "pending") == 0) {
		d.has_status_code = t->has_status_code;
		d.last_status_code = t->status_code;
		d.last_error = (char *)t->error;
		int64_t delay = ok ? 0 : rf_swh_retry_delay_ms(d.attempts, t->jitter);
		if (ok)
			d.status = "delivered";
		else if (delay < 0 || disable) /* its last attempt, or its endpoint goes */
			d.status = "failed";
		else
			d.next_at = now + delay;
	}
	rf_delivery_attempt a = {.delivery_id = d.id,
				 .at = t->at,
				 .has_status_code = t->has_status_code,
				 .status_code = t->status_code,
				 .latency_ms = t->latency_ms,
				 .response = (char *)t->response,
				 .error = (char *)t->error};
	if (rf_store_delivery_attempted(sv->store, &d, &a, err) != RF_OK)
		return err->status;
	if (!have_endpoint)
		return RF_OK;
	if (disable)
		return rf_svc_webhook_disable(sv, &w, disable, true, t->at, err);
	/* failing_since: cleared by a success, set by the first failure after one. */
	if (ok == !w.failing_since)
		return RF_OK;
	w.failing_since = ok ? 0 : t->at;
	w.updated_at = t->at;
	return rf_store_webhook_endpoint_update(sv->store, &w, err);
}
