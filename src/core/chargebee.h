/* SPDX-License-Identifier: Apache-2.0 */
/* Chargebee's webhooks (API v2 events), read without I/O: the HTTP Basic authentication Chargebee sends instead of
 * a signature, checked in constant time, and the events refd acts on, with their resources' versions. */
#ifndef RF_CHARGEBEE_H
#define RF_CHARGEBEE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "status.h"

/* The most coupon codes an event names. */
#define RF_CHARGEBEE_MAX_COUPONS 8

/* True when header is "Basic base64(user:password)" for exactly this user and password (the scheme's letter case
 * ignored). The comparison takes the same time whatever the header holds (digests of both are compared). */
bool rf_basic_auth_matches(const char *header, const char *user, const char *password);

/* What refd reads of a Chargebee event. Strings live in the arena given to the parser; NULL when absent. */
typedef struct {
	char *event_id, *type;
	int64_t occurred_at; /* unix ms; 0 when absent */
	/* content.transaction */
	char *transaction_id, *transaction_type, *transaction_status, *refunded_transaction_id;
	bool has_amount;
	int64_t amount; /* minor units */
	char currency[4];
	int64_t transaction_date;    /* unix ms; 0 when absent */
	int64_t transaction_version; /* resource_version; 0 when absent */
	/* content.customer, content.subscription, content.invoice, content.credit_note */
	char *customer_id, *email, *subscription_id, *invoice_id, *credit_note_id;
	bool has_invoice, first_invoice, recurring_invoice;
	/* The referral, from the subscription's custom fields, then the customer's (cf_…), then their meta_data. */
	char *click_id, *code;
	/* The coupons the invoice (or else the subscription) used: a coupon set's code before the coupon's id. */
	char *coupons[RF_CHARGEBEE_MAX_COUPONS];
	size_t n_coupons;
} rf_chargebee_event;

/* Parses an event's body ({id, event_type, occurred_at, content}). RF_EINVAL naming the member at fault when it is
 * not such an event or a member refd needs has the wrong shape; an amount that is not a non-negative integer is
 * RF_EINVAL naming it, one above RF_MONEY_MAX RF_EOVERFLOW; a currency_code that is not ISO 4217 RF_EINVAL. */
rf_status rf_chargebee_event_parse(const char *body, size_t len, rf_arena *a, rf_chargebee_event *out, rf_err *err);

#endif
