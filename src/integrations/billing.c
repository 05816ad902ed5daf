/* SPDX-License-Identifier: Apache-2.0 */
/* Paddle Billing's and Chargebee's events turned into leads, sales and refunds, with what they teach about customers
 * and discount codes kept in the external objects. */
#include "billing.h"

#include <string.h>

#include "../core/clock.h"
#include "../svc/sales.h"

static void ignore(rf_billing_outcome *out, const char *why)
{
	out->outcome = "ignored";
	out->reason = why;
}

/* True (with err cleared) when rc refused a code or click id refd does not know: the event is then taken without
 * them rather than losing the customer or the sale. */
static bool unknown_reference(rf_status rc, rf_err *err)
{
	if (rc != RF_EINVAL || (strcmp(err->field, "code") != 0 && strcmp(err->field, "click_id") != 0))
		return false;
	memset(err, 0, sizeof *err);
	return true;
}

static rf_status touch(rf_svc *sv, const rf_program *prog, const char *email, const char *customer, const char *code,
		       const char *click, rf_billing_outcome *out, rf_err *err)
{
	if (!email && !customer) {
		ignore(out, "the event names no customer");
		return RF_OK;
	}
	rf_status rc = rf_svc_customer_touch(sv, prog, email, customer, code, click, &out->object_id, err);
	if (unknown_reference(rc, err))
		rc = rf_svc_customer_touch(sv, prog, email, customer, NULL, NULL, &out->object_id, err);
	return rc;
}

static rf_status sale(rf_svc *sv, rf_sale_input *in, rf_billing_outcome *out, rf_err *err)
{
	rf_sale_result res;
	rf_status rc = rf_svc_sale_ingest(sv, in, &res, err);
	if (unknown_reference(rc, err)) {
		in->code = in->click_id = NULL;
		rc = rf_svc_sale_ingest(sv, in, &res, err);
	}
	if (rc != RF_OK)
		return rc;
	out->object_id = res.sale.id;
	out->replay = res.replay;
	return RF_OK;
}

/* Records a refund or dispute of x; what exceeds what is left of the sale is cut to it, and nothing left is no
 * refund. */
static rf_status give_back(rf_svc *sv, const rf_sale *x, rf_refund_input *in, rf_billing_outcome *out, rf_err *err)
{
	if (strcmp(in->currency, x->currency) != 0)
		return rf_err_set(err, RF_EINVAL, "currency_code", "the refund is in %s, its sale %s in %s",
				  in->currency, x->id, x->currency);
	/* A replay of a refund already recorded is found by its external id before the amount is looked at. */
	rf_refund r;
	rf_status rc = rf_store_refund_find(sv->store, x->program_id, in->external_id, &r, sv->a, err);
	if (rc != RF_OK && rc != RF_ENOTFOUND)
		return rc;
	int64_t left = x->amount - x->refunded - x->disputed;
	if (rc == RF_ENOTFOUND) {
		memset(err, 0, sizeof *err);
		if (left <= 0) {
			ignore(out, "nothing is left of the sale to give back");
			return RF_OK;
		}
		if (in->amount > left)
			in->amount = left;
	}
	in->sale_id = x->id;
	in->has_amount = true;
	rf_refund_result res;
	if (rf_svc_refund_ingest(sv, in, &res, err) != RF_OK)
		return err->status;
	out->object_id = res.refund.id;
	out->replay = res.replay;
	return RF_OK;
}

/* ---- Paddle ---- */

/* A known discount's code (from discount.* events), or NULL. */
static const char *learnt(rf_svc *sv, const rf_program *prog, const char *system, const char *kind, const char *id)
{
	char *value = NULL;
	rf_err err = {0};
	if (!id ||
	    rf_store_external_object_get(sv->store, prog->id, system, kind, id, &value, NULL, sv->a, &err) != RF_OK)
		return NULL;
	return value;
}

static void add_coupon(rf_sale_input *in, const char *code)
{
	if (!code || !*code || in->n_coupons >= RF_SALE_COUPONS)
		return;
	for (size_t i = 0; i < in->n_coupons; i++)
		if (strcmp(in->coupons[i], code) == 0)
			return;
	in->coupons[in->n_coupons++] = code;
}

static rf_status paddle_transaction(rf_svc *sv, const rf_program *prog, const rf_paddle_event *ev,
				    rf_billing_outcome *out, rf_err *err)
{
	if (!ev->transaction_id)
		return rf_err_set(err, RF_EINVAL, "data.id", "the transaction has no id");
	if (!ev->has_total || ev->total == 0) {
		ignore(out, "nothing was paid");
		return RF_OK;
	}
	rf_sale_input in;
	memset(&in, 0, sizeof in);
	in.program_id = prog->id;
	in.amount = ev->total;
	memcpy(in.currency, ev->currency, 4);
	in.external_id = ev->transaction_id;
	in.customer_external_id = ev->customer_id;
	in.email = learnt(sv, prog, "paddle", "customer", ev->customer_id);
	in.code = ev->code;
	in.click_id = ev->click_id;
	/* A renewal says so; otherwise the customer's first sale is the first, as for the API. */
	if (ev->origin && strcmp(ev->origin, "subscription_recurring") == 0)
		in.kind = "recurring";
	for (size_t i = 0; i < ev->n_codes; i++)
		add_coupon(&in, ev->codes[i]);
	add_coupon(&in, learnt(sv, prog, "paddle", "discount", ev->discount_id));
	add_coupon(&in, ev->discount_id);
	in.occurred_at = ev->billed_at ? ev->billed_at : ev->occurred_at;
	in.source = "paddle";
	in.source_event_id = ev->event_id;
	if (!in.customer_external_id)
		return rf_err_set(err, RF_EINVAL, "data.customer_id", "the transaction names no customer");
	return sale(sv, &in, out, err);
}

static rf_status paddle_adjustment(rf_svc *sv, const rf_program *prog, const rf_paddle_event *ev,
				   rf_billing_outcome *out, rf_err *err)
{
	bool refund = ev->action && strcmp(ev->action, "refund") == 0;
	bool chargeback = ev->action && strcmp(ev->action, "chargeback") == 0;
	if (!refund && !chargeback) {
		ignore(out, "only refunds and chargebacks give money back");
		return RF_OK;
	}
	if (!ev->adjustment_status || strcmp(ev->adjustment_status, "approved") != 0) {
		ignore(out, ev->adjustment_status && strcmp(ev->adjustment_status, "rejected") == 0
				? "the refund was rejected: nothing is given back"
				: "the refund waits for Paddle's approval: nothing is given back until it is approved");
		return RF_OK;
	}
	if (!ev->adjustment_id || !ev->transaction_id)
		return rf_err_set(err, RF_EINVAL, "data.transaction_id", "the adjustment names no transaction");
	if (!ev->has_total)
		return rf_err_set(err, RF_EINVAL, "data.totals", "the adjustment has no totals");
	rf_sale x;
	rf_status rc = rf_store_sale_find(sv->store, prog->id, ev->transaction_id, false, &x, sv->a, err);
	if (rc == RF_ENOTFOUND) {
		memset(err, 0, sizeof *err);
		out->outcome = "refused";
		out->reason = rf_arena_printf(sv->a,
					      "no sale was recorded for transaction %s yet: send this event again once "
					      "transaction.completed is in",
					      ev->transaction_id);
		return RF_OK;
	}
	if (rc != RF_OK)
		return rc;
	if (ev->total == 0) {
		ignore(out, "nothing was given back");
		return RF_OK;
	}
	rf_refund_input in;
	memset(&in, 0, sizeof in);
	in.program_id = prog->id;
	in.amount = ev->total;
	memcpy(in.currency, ev->currency, 4);
	in.kind = chargeback ? "dispute" : "refund";
	in.external_id = ev->adjustment_id;
	in.reason = ev->reason;
	in.occurred_at = ev->occurred_at;
	in.source = "paddle";
	in.source_event_id = ev->event_id;
	return give_back(sv, &x, &in, out, err);
}

rf_status rf_billing_paddle_handle(rf_svc *sv, const rf_program *prog, const rf_paddle_event *ev,
				   rf_billing_outcome *out, rf_err *err)
{
	memset(out, 0, sizeof *out);
	out->outcome = "processed";
	const char *t = ev->type;
	if (strcmp(t, "transaction.completed") == 0)
		return paddle_transaction(sv, prog, ev, out, err);
	if (strcmp(t, "adjustment.created") == 0 || strcmp(t, "adjustment.updated") == 0)
		return paddle_adjustment(sv, prog, ev, out, err);
	if (strncmp(t, "discount.", 9) == 0) {
		if (!ev->discount_id || ev->n_codes == 0 || strlen(ev->codes[0]) > RF_COUPON_MAX) {
			ignore(out, "the discount has no code a customer types");
			return RF_OK;
		}
		return rf_store_external_object_put(sv->store, prog->id, "paddle", "discount", ev->discount_id,
						    ev->codes[0], 0, rf_clock_now_ms(), err);
	}
	if (strcmp(t, "customer.created") == 0 || strcmp(t, "customer.updated") == 0) {
		if (!ev->customer_id) {
			ignore(out, "the event names no customer");
			return RF_OK;
		}
		if (ev->email &&
		    rf_store_external_object_put(sv->store, prog->id, "paddle", "customer", ev->customer_id, ev->email,
						 0, rf_clock_now_ms(), err) != RF_OK)
			return err->status;
		return touch(sv, prog, ev->email, ev->customer_id, ev->code, ev->click_id, out, err);
	}
	if (strcmp(t, "subscription.created") == 0 || strcmp(t, "subscription.activated") == 0)
		return touch(sv, prog, learnt(sv, prog, "paddle", "customer", ev->customer_id), ev->customer_id,
			     ev->code, ev->click_id, out, err);
	ignore(out, "refd does not use this event type");
	return RF_OK;
}

/* ---- Chargebee ---- */

/* Ignores (true) an event whose transaction is older than the copy refd acted on, and otherwise remembers this
 * copy's version. */
static rf_status chargebee_stale(rf_svc *sv, const rf_program *prog, const rf_chargebee_event *ev, bool *stale,
				 rf_err *err)
{
	*stale = false;
	if (!ev->transaction_id || ev->transaction_version <= 0)
		return RF_OK;
	int64_t seen = 0;
	rf_status rc = rf_store_external_object_get(sv->store, prog->id, "chargebee", "transaction", ev->transaction_id,
						    NULL, &seen, sv->a, err);
	if (rc != RF_OK && rc != RF_ENOTFOUND)
		return rc;
	memset(err, 0, sizeof *err);
	if (rc == RF_OK && seen > ev->transaction_version) {
		*stale = true;
		return RF_OK;
	}
	return rf_store_external_object_put(sv->store, prog->id, "chargebee", "transaction", ev->transaction_id,
					    ev->transaction_status, ev->transaction_version, rf_clock_now_ms(), err);
}

static rf_status chargebee_payment(rf_svc *sv, const rf_program *prog, const rf_chargebee_event *ev,
				   rf_billing_outcome *out, rf_err *err)
{
	if (!ev->transaction_id || !ev->has_amount)
		return rf_err_set(err, RF_EINVAL, "content.transaction", "the event has no transaction with an amount");
	if (!ev->transaction_type || strcmp(ev->transaction_type, "payment") != 0 || !ev->transaction_status ||
	    strcmp(ev->transaction_status, "success") != 0) {
		ignore(out, "the transaction is not a successful payment");
		return RF_OK;
	}
	if (ev->amount == 0) {
		ignore(out, "nothing was paid");
		return RF_OK;
	}
	rf_sale_input in;
	memset(&in, 0, sizeof in);
	in.program_id = prog->id;
	in.amount = ev->amount;
	memcpy(in.currency, ev->currency, 4);
	in.external_id = ev->transaction_id;
	in.charge_id = ev->invoice_id;
	in.customer_external_id = ev->customer_id;
	in.email = ev->email;
	in.code = ev->code;
	in.click_id = ev->click_id;
	if (ev->has_invoice)
		in.kind = ev->first_invoice ? "first" : (ev->recurring_invoice ? "recurring" : NULL);
	for (size_t i = 0; i < ev->n_coupons; i++)
		add_coupon(&in, ev->coupons[i]);
	in.occurred_at = ev->transaction_date ? ev->transaction_date : ev->occurred_at;
	in.source = "chargebee";
	in.source_event_id = ev->event_id;
	if (!in.customer_external_id && !in.email)
		return rf_err_set(err, RF_EINVAL, "content.customer", "the event names no customer");
	return sale(sv, &in, out, err);
}

static rf_status chargebee_refund(rf_svc *sv, const rf_program *prog, const rf_chargebee_event *ev,
				  rf_billing_outcome *out, rf_err *err)
{
	if (!ev->transaction_id || !ev->has_amount)
		return rf_err_set(err, RF_EINVAL, "content.transaction", "the event has no transaction with an amount");
	if (!ev->transaction_type || strcmp(ev->transaction_type, "refund") != 0 || !ev->transaction_status ||
	    strcmp(ev->transaction_status, "success") != 0) {
		ignore(out, "the transaction is not a successful refund");
		return RF_OK;
	}
	if (!ev->refunded_transaction_id)
		return rf_err_set(err, RF_EINVAL, "content.transaction.refunded_txn_id",
				  "the refund names no payment (refunded_txn_id)");
	rf_sale x;
	rf_status rc = rf_store_sale_find(sv->store, prog->id, ev->refunded_transaction_id, false, &x, sv->a, err);
	if (rc == RF_ENOTFOUND) {
		memset(err, 0, sizeof *err);
		out->outcome = "refused";
		out->reason = rf_arena_printf(sv->a,
					      "no sale was recorded for payment %s yet: send this event again once "
					      "payment_succeeded is in",
					      ev->refunded_transaction_id);
		return RF_OK;
	}
	if (rc != RF_OK)
		return rc;
	if (ev->amount == 0) {
		ignore(out, "nothing was given back");
		return RF_OK;
	}
	rf_refund_input in;
	memset(&in, 0, sizeof in);
	in.program_id = prog->id;
	in.amount = ev->amount;
	memcpy(in.currency, ev->currency, 4);
	in.kind = "refund";
	in.external_id = ev->transaction_id;
	in.reason = ev->credit_note_id ? rf_arena_printf(sv->a, "credit note %s", ev->credit_note_id) : NULL;
	in.occurred_at = ev->transaction_date ? ev->transaction_date : ev->occurred_at;
	in.source = "chargebee";
	in.source_event_id = ev->event_id;
	return give_back(sv, &x, &in, out, err);
}

rf_status rf_billing_chargebee_handle(rf_svc *sv, const rf_program *prog, const rf_chargebee_event *ev,
				      rf_billing_outcome *out, rf_err *err)
{
	memset(out, 0, sizeof *out);
	out->outcome = "processed";
	const char *t = ev->type;
	bool pay = strcmp(t, "payment_succeeded") == 0, refund = strcmp(t, "payment_refunded") == 0;
	if (pay || refund) {
		bool stale = false;
		if (chargebee_stale(sv, prog, ev, &stale, err) != RF_OK)
			return err->status;
		if (stale) {
			ignore(out, "an older copy of a transaction refd has acted on (resource_version)");
			return RF_OK;
		}
		return pay ? chargebee_payment(sv, prog, ev, out, err) : chargebee_refund(sv, prog, ev, out, err);
	}
	if (strcmp(t, "subscription_created") == 0 || strcmp(t, "customer_created") == 0)
		return touch(sv, prog, ev->email, ev->customer_id, ev->code, ev->click_id, out, err);
	if (strcmp(t, "invoice_generated") == 0) {
		ignore(out, "an invoice is not a payment: payment_succeeded records the sale");
		return RF_OK;
	}
	ignore(out, "refd does not use this event type");
	return RF_OK;
}
