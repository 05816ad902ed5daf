/* SPDX-License-Identifier: Apache-2.0 */
/* Sales and refunds as they come in, from the API or a payment provider: recorded once per external id, with the
 * customer and its lead found or created, and the commissions (or their reversals) of each. */
#ifndef RF_SVC_SALES_H
#define RF_SVC_SALES_H

#include "svc.h"

/* The most coupon codes one sale names, and the longest coupon code (bytes). */
#define RF_SALE_COUPONS 8
#define RF_COUPON_MAX 64

typedef struct {
	const char *program_id;
	const char *lead_id, *email, *customer_external_id;
	int64_t amount;
	char currency[4];
	const char *external_id, *charge_id;
	const char *kind; /* NULL: derived */
	int64_t occurred_at;
	const char *code, *click_id, *partner_id, *metadata;
	/* The coupon codes the customer paid with, as the source names them (the most telling first): the first that
	 * is the coupon of a live link of the program credits the link's partner (attribution method coupon), above
	 * the lead's code, click or cookie but not above a person's explicit choice. */
	const char *coupons[RF_SALE_COUPONS];
	size_t n_coupons;
	const char *source;          /* api | stripe | paddle | chargebee | hubspot | pipedrive | salesforce */
	const char *source_event_id; /* the source system's event, for the commission's explanation; NULL for none */
} rf_sale_input;

/* What recording a sale gave: the sale and its ledger entries; replay when the same external id was recorded
 * before (then the entries are all of the sale's, and nothing was written). Arrays in the svc's arena. */
typedef struct {
	rf_sale sale;
	rf_commission *entries;
	size_t n;
	bool replay;
} rf_sale_result;

/* Records a sale and its commissions inside the caller's transaction. */
rf_status rf_svc_sale_ingest(rf_svc *sv, const rf_sale_input *in, rf_sale_result *out, rf_err *err);

typedef struct {
	const char *program_id;
	const char *sale_id, *sale_external_id; /* sale_external_id may also be a charge id */
	bool has_amount;
	int64_t amount;
	char currency[4];
	const char *kind; /* refund | dispute */
	const char *external_id, *reason;
	int64_t occurred_at;
	const char *source;          /* as for sales; NULL: api */
	const char *source_event_id; /* the source system's event, or NULL */
} rf_refund_input;

typedef struct {
	rf_refund refund;
	rf_commission *entries; /* the reversals written (none for a replay) */
	size_t n;
	bool replay;
} rf_refund_result;

/* Records a refund or dispute and reverses the sale's commissions in proportion. */
rf_status rf_svc_refund_ingest(rf_svc *sv, const rf_refund_input *in, rf_refund_result *out, rf_err *err);

/* Finds or creates the lead (and customer record) a payment provider's customer stands for. */
rf_status rf_svc_customer_touch(rf_svc *sv, const rf_program *prog, const char *email, const char *external_id,
				const char *code, const char *click_id, char **lead_id, rf_err *err);

/* Every entry of a sale (originals only, or with their reversals), oldest first, in the svc's arena. */
rf_status rf_svc_sale_entries(rf_svc *sv, const char *sale_id, bool originals, rf_commission **all, size_t *total,
			      rf_err *err);

#endif
