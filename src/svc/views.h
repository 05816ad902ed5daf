/* SPDX-License-Identifier: Apache-2.0 */
/* Objects as refd shows them: the API's answers and the events' data are the same JSON, rendered here once. Each
 * returns a new reference. */
#ifndef RF_SVC_VIEWS_H
#define RF_SVC_VIEWS_H

#include <jansson.h>

#include "svc.h"

json_t *rf_view_program(const rf_program *p);
/* Links in it (the recruitment link) use the configuration's public address. */
json_t *rf_view_partner(rf_svc *sv, const rf_partner *p);
json_t *rf_view_user(const rf_user *u);
json_t *rf_view_apikey(const rf_apikey *k);
json_t *rf_view_lead(const rf_lead *l);
json_t *rf_view_link(rf_svc *sv, const rf_link *l);
json_t *rf_view_sale(const rf_sale *x);
json_t *rf_view_refund(const rf_refund *r);
/* A ledger entry without its explanation and history (the API adds them for one entry). */
json_t *rf_view_commission(const rf_commission *e);
/* A payout run with its items and totals per currency; NULL when they cannot be read. */
json_t *rf_view_payout_run(rf_svc *sv, const rf_payout_run *r, rf_err *err);
/* One item of a payout run: a partner, the amount, its status. */
json_t *rf_view_payout_item(rf_svc *sv, const rf_payout_item *it);
/* A connection to another system: its webhook URL, the names of its credentials (never the credentials), its
 * settings, stage map and base URL. */
json_t *rf_view_connection(rf_svc *sv, const rf_connection *c);
/* An entry of a connection's inbound log. */
json_t *rf_view_inbound_event(const rf_inbound_event *e);
/* A webhook endpoint, never with its secret: its event types, program, status (with why refd disabled it), since
 * when its deliveries fail, and until when the secret before its last rotation still signs (null when none does). */
json_t *rf_view_webhook_endpoint(const rf_webhook_endpoint *w);
/* A delivery of an event to a webhook endpoint, with its n attempts (oldest first) and the event's type (NULL when
 * the event is no longer kept). */
json_t *rf_view_webhook_delivery(const rf_delivery *d, const char *event_type, const rf_delivery_attempt *attempts,
				 size_t n);
/* An FX rate in parts per billion as a decimal ("0.92"). */
void rf_view_fx_rate(char *buf, size_t len, int64_t ppb);

#endif
