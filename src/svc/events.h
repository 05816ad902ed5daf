/* SPDX-License-Identifier: Apache-2.0 */
/* The event log: every change that matters writes a typed event in the transaction of the change itself (an
 * outbox), with the object as the API shows it; the deliveries it makes someone send are queued in the same
 * transaction and sent by the jobs, so nothing committed is lost and no request waits on another system. */
#ifndef RF_SVC_EVENTS_H
#define RF_SVC_EVENTS_H

#include <jansson.h>

#include "svc.h"

/* Every type an event can have, ending with NULL. */
extern const char *const rf_event_types[];
/* True when type is one of rf_event_types. */
bool rf_event_type_known(const char *type);
/* True when the endpoint's event_types (a JSON array; "*" for every type) take type. */
bool rf_webhook_endpoint_wants(const rf_webhook_endpoint *w, const char *type);

/* Writes an event of type about object_id (in program_id; partner_id is the partner it concerns, NULL for none)
 * with data, the object as the API shows it (a reference this call takes), and queues a delivery of it to every
 * enabled webhook endpoint that wants it. *out (may be NULL) receives the event. */
rf_status rf_svc_event(rf_svc *sv, const char *type, const char *program_id, const char *object_id,
		       const char *partner_id, json_t *data, rf_event *out, rf_err *err);

/* The same, rendering the object: */
rf_status rf_svc_event_partner(rf_svc *sv, const char *type, const rf_partner *p, rf_err *err);
rf_status rf_svc_event_link(rf_svc *sv, const char *type, const rf_link *l, rf_err *err);
rf_status rf_svc_event_lead(rf_svc *sv, const char *type, const rf_lead *l, rf_err *err);
rf_status rf_svc_event_sale(rf_svc *sv, const rf_sale *x, rf_err *err);
/* refund.created or dispute.created, for the partner of the sale. */
rf_status rf_svc_event_refund(rf_svc *sv, const rf_refund *r, const rf_sale *sale, rf_err *err);
rf_status rf_svc_event_commission(rf_svc *sv, const char *type, const rf_commission *e, rf_err *err);
rf_status rf_svc_event_payout_run(rf_svc *sv, const char *type, const rf_payout_run *r, rf_err *err);
rf_status rf_svc_event_payout_item(rf_svc *sv, const char *type, const rf_payout_item *it, rf_err *err);

/* A commission's status change, from the status the caller read (RF_ECONFLICT on "status" when it is no longer
 * that), with its event: commission.approved, .held, .rejected or .paid. */
rf_status rf_svc_commission_set_status(rf_svc *sv, const rf_commission *e, const char *to, const char *reason,
				       int64_t at, rf_err *err);

/* The event log's own jobs. Writes deal.expired for up to max registrations whose protection ended by now (in the
 * last week: older ones were written before, or are past the log's keeping); *written says how many. */
rf_status rf_svc_events_expire_deals(rf_svc *sv, int64_t now, int max, int *written, rf_err *err);
/* Removes up to max events, and then inbound events of the connections, older than keep_days, with their finished
 * deliveries (webhooks, mail of the event, a CRM's pushes and reads); never one with a pending delivery. *removed
 * says how many (of both). */
rf_status rf_svc_events_purge(rf_svc *sv, int64_t now, int keep_days, int max, int64_t *removed, rf_err *err);

/* Queues a delivery of event ev to one webhook endpoint (a resend, a replay, a test), due now; *out (may be NULL)
 * receives it. */
rf_status rf_svc_webhook_enqueue(rf_svc *sv, const rf_event *ev, const char *endpoint_id, rf_delivery *out,
				 rf_err *err);
/* Writes a webhook.test event about endpoint w (its data: the endpoint as the API shows it) without sending it
 * to any other endpoint, and queues its delivery to w; *ev and *d (may be NULL) receive them. */
rf_status rf_svc_webhook_test(rf_svc *sv, const rf_webhook_endpoint *w, rf_event *ev, rf_delivery *d, rf_err *err);
/* An event about a webhook endpoint (webhook_endpoint.disabled), sent like any other. */
rf_status rf_svc_event_webhook_endpoint(rf_svc *sv, const char *type, const rf_webhook_endpoint *w, rf_err *err);

#endif
