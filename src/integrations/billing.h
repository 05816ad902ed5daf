/* SPDX-License-Identifier: Apache-2.0 */
/* What refd does with the events of the billing systems beyond Stripe (Paddle Billing and Chargebee), once they are
 * authenticated and read: payments become sales, approved refunds become refunds, and what the events teach about
 * customers and discount codes is kept for the events that follow. Runs inside the caller's transaction. */
#ifndef RF_INTEGRATIONS_BILLING_H
#define RF_INTEGRATIONS_BILLING_H

#include "../core/chargebee.h"
#include "../core/paddle.h"
#include "../svc/svc.h"

/* What handling an event came to. */
typedef struct {
	const char *outcome; /* processed | ignored | refused: refused asks the system to send it again later */
	const char *reason;  /* why it was ignored or refused, or a note; NULL */
	char *object_id;     /* the lead_…, sale_… or rfd_… it made or found, or NULL */
	bool replay;         /* the sale or refund was recorded before under its external id: nothing was written */
} rf_billing_outcome;

/* Handles one Paddle event for the program: transaction.completed records a sale (its custom_data's code or click
 * id and its discount's code credit a partner), an approved refund (or chargeback) adjustment records a refund (or
 * dispute) of the transaction's sale, and is refused while that sale is unknown (events arrive out of order);
 * subscription.* and customer.* events find or create the customer's lead, discount.* events teach refd a
 * discount's code; anything else is ignored. Errors of the sale or refund (RF_EINVAL, RF_ECONFLICT naming a field)
 * are returned for the caller to undo and report. */
rf_status rf_billing_paddle_handle(rf_svc *sv, const rf_program *prog, const rf_paddle_event *ev,
				   rf_billing_outcome *out, rf_err *err);

/* Handles one Chargebee event: payment_succeeded records a sale (the customer's or subscription's cf_ fields credit
 * a partner, as do the invoice's coupons), payment_refunded a refund of the payment's sale (refused while that sale
 * is unknown), subscription_created and customer_created find or create the customer's lead; an event carrying an
 * older copy of a transaction than one refd acted on (resource_version) is ignored; anything else is ignored. */
rf_status rf_billing_chargebee_handle(rf_svc *sv, const rf_program *prog, const rf_chargebee_event *ev,
				      rf_billing_outcome *out, rf_err *err);

#endif
