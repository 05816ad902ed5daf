/* SPDX-License-Identifier: Apache-2.0 */
/* Paddle Billing's webhooks, read without I/O: the Paddle-Signature header and its check (HMAC-SHA256 of
 * "ts:body"), and the events refd acts on, with their amounts (strings of minor units) read exactly. */
#ifndef RF_PADDLE_H
#define RF_PADDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "status.h"

/* The most h1 signatures one header may carry (Paddle sends several while a secret is being rotated). */
#define RF_PADDLE_MAX_H1 8
/* The most coupon codes an event names. */
#define RF_PADDLE_MAX_CODES 4

typedef struct {
	int64_t ts;                       /* unix seconds */
	const char *h1[RF_PADDLE_MAX_H1]; /* 64 hex digits each, pointing into the buffer parsed */
	size_t n;
} rf_paddle_signature;

/* Parses "ts=1767398402;h1=<hex>[;h1=<hex>…]" (pieces split on ';', spaces around them allowed, keys it does not
 * know ignored) written into buf (the caller's, of len bytes; the header is copied there). True when it has a ts of
 * digits and at least one h1 of 64 hex digits; false otherwise (also when the header does not fit in buf). */
bool rf_paddle_signature_parse(const char *header, char *buf, size_t len, rf_paddle_signature *out);

/* True when one of the signature's h1 values is the hex HMAC-SHA256, under secret (its bytes as given), of ts, ':'
 * and the body's exact bytes; compared in constant time. */
bool rf_paddle_signature_matches(const rf_paddle_signature *sig, const char *secret, const char *body, size_t len);

/* What refd reads of a Paddle event. Strings live in the arena given to the parser; NULL when absent. */
typedef struct {
	char *event_id, *type;
	int64_t occurred_at; /* unix ms; 0 when absent or not a time */
	/* transaction.completed (and its customer, subscription and custom data) */
	char *transaction_id, *customer_id, *subscription_id, *origin, *status;
	char *invoice_number;
	bool has_total;
	int64_t total; /* details.totals.total, minor units */
	char currency[4];
	int64_t billed_at;     /* unix ms; 0 when absent */
	char *click_id, *code; /* from custom_data: refd_click | click_id; refd_code | referral_code | via | code */
	char *discount_id;     /* the transaction's or subscription's discount, when any */
	char *codes[RF_PADDLE_MAX_CODES]; /* discount codes the event itself names (data.discount.code) */
	size_t n_codes;
	/* adjustment.created / adjustment.updated */
	char *adjustment_id, *action, *adjustment_status, *reason;
	/* discount.created / .updated / .imported: id in discount_id, its code in codes[0] */
	/* customer.created / customer.updated: id in customer_id */
	char *email;
} rf_paddle_event;

/* Parses an event's body (the JSON of one event: {event_id, event_type, occurred_at, data}). RF_EINVAL naming the
 * member at fault when it is not such an event or a member refd needs has the wrong shape; a total that is not a
 * string of digits is RF_EINVAL naming it, one above RF_MONEY_MAX RF_EOVERFLOW; a currency_code that is not ISO 4217
 * RF_EINVAL naming it. */
rf_status rf_paddle_event_parse(const char *body, size_t len, rf_arena *a, rf_paddle_event *out, rf_err *err);

/* Reads a string of minor units ("4900") exactly: digits only, no sign, no decimal point, at most RF_MONEY_MAX.
 * RF_EINVAL naming field when it is not such a string, RF_EOVERFLOW when it is too large. */
rf_status rf_paddle_amount(const char *s, const char *field, int64_t *out, rf_err *err);

#endif
