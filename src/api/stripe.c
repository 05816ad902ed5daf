/* SPDX-License-Identifier: Apache-2.0 */
/* POST /api/v1/integrations/stripe/webhook: Stripe's events, verified with the Stripe-Signature scheme
 * (HMAC-SHA256 over "t.payload" with the program's signing secret, several v1 values, a tolerance window), each
 * handled once, turned into leads, sales, refunds and disputes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/clock.h"
#include "../core/money.h"
#include "../core/secret.h"
#include "api.h"

#define TOLERANCE_S 300
#define MAX_V1 8

typedef struct {
	long long t;
	const char *v1[MAX_V1];
	size_t n;
} signature;

/* Parses "t=…,v1=…,v1=…,v0=…" (other schemes ignored). */
static bool parse_signature(char *h, signature *sig)
{
	memset(sig, 0, sizeof *sig);
	bool has_t = false;
	for (char *save = NULL, *tok = strtok_r(h, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ')
			tok++;
		char *eq = strchr(tok, '=');
		if (!eq)
			continue;
		*eq = '\0';
		const char *v = eq + 1;
		if (strcmp(tok, "t") == 0) {
			char *end = NULL;
			sig->t = strtoll(v, &end, 10);
			has_t = end && end != v && *end == '\0';
		} else if (strcmp(tok, "v1") == 0 && sig->n < MAX_V1 && strlen(v) == 64) {
			sig->v1[sig->n++] = v;
		}
	}
	return has_t && sig->n > 0;
}

/* True when one of the v1 values is HMAC-SHA256(secret, "t.payload"). */
static bool signature_matches(rf_ctx *c, const signature *sig, const char *secret, const char *body, size_t len)
{
	char *signed_payload = rf_arena_printf(c->a, "%lld.%.*s", sig->t, (int)len, body);
	if (!signed_payload)
		return false;
	char want[RF_HEX256_LEN];
	rf_hmac_sha256_hex(secret, strlen(secret), signed_payload, strlen(signed_payload), want);
	bool ok = false;
	for (size_t i = 0; i < sig->n; i++)
		ok |= rf_secret_equal(want, sig->v1[i]);
	return ok;
}

/* Finds the program whose secret signed the request. */
static rf_status find_program(rf_ctx *c, const signature *sig, const char *body, size_t len, rf_program *prog,
			      rf_err *err)
{
	const char *only = rf_req_query(c->req, "program_id");
	const char *after = NULL;
	bool any_secret = false;
	for (;;) {
		rf_program *items = NULL;
		size_t n = 0;
		bool more = false;
		rf_page page = {.limit = 100, .starting_after = after};
		if (rf_store_program_list(c->app->store, &page, only, &items, &n, &more, c->a, err) != RF_OK)
			return err->status;
		for (size_t i = 0; i < n; i++) {
			if (!items[i].stripe_secret_sealed)
				continue;
			char *secret = NULL;
			if (rf_unseal(c->app->cfg->secret, items[i].stripe_secret_sealed,
				      items[i].stripe_secret_sealed_len, c->a, &secret) != RF_OK)
				continue;
			any_secret = true;
			if (signature_matches(c, sig, secret, body, len)) {
				*prog = items[i];
				return RF_OK;
			}
		}
		if (!more || n == 0)
			break;
		after = items[n - 1].id;
	}
	if (!any_secret)
		return rf_err_set(err, RF_EINVAL, "Stripe-Signature",
				  "no program has a Stripe webhook secret (set stripe_webhook_secret on the program)");
	return rf_err_set(err, RF_EINVAL, "Stripe-Signature", "the signature does not match the payload");
}

static const char *str_at(json_t *o, const char *name)
{
	const char *s = json_string_value(json_object_get(o, name));
	return s && *s ? s : NULL;
}

/* The referral code a Stripe object carries in its metadata. */
static const char *meta_code(json_t *obj)
{
	json_t *m = json_object_get(obj, "metadata");
	const char *keys[] = {"referral_code", "refd_code", "via", "code"};
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (str_at(m, keys[i]))
			return str_at(m, keys[i]);
	return NULL;
}

static const char *meta_click(json_t *obj)
{
	return str_at(json_object_get(obj, "metadata"), "refd_click");
}

/* Stripe amounts are in the currency's minor units; the currency's ISO exponent says how many decimals. */
static rf_status stripe_money(json_t *obj, const char *amount_member, int64_t *amount, char cur[4], rf_err *err)
{
	json_t *a = json_object_get(obj, amount_member);
	if (!json_is_integer(a) || json_integer_value(a) < 0)
		return rf_err_set(err, RF_EINVAL, amount_member, "the event has no %s", amount_member);
	/* The same bound as every other way in. Unlike an event refd has no use for, which is answered 200 and kept as
	 * ignored, this one is refused with a 400 naming the member and nothing is kept: the failure then shows in
	 * Stripe's dashboard with refd's reason, and the event can be resent once understood. */
	if (json_integer_value(a) > RF_MONEY_MAX)
		return rf_err_set(err, RF_EOVERFLOW, amount_member,
				  "%s is larger than refd accepts (at most %lld minor units)", amount_member,
				  (long long)RF_MONEY_MAX);
	if (rf_currency_lookup(str_at(obj, "currency"), cur) < 0)
		return rf_err_set(err, RF_EINVAL, "currency", "the event's currency is not an ISO 4217 code");
	*amount = json_integer_value(a);
	return RF_OK;
}

static int64_t seconds_ms(json_t *v)
{
	return json_is_integer(v) ? (int64_t)json_integer_value(v) * 1000 : 0;
}

/* True (with err cleared) when rc refused a code or click id that refd does not know: the event is then taken
 * without them rather than losing the customer or the sale. */
static bool unknown_reference(rf_status rc, rf_err *err)
{
	if (rc != RF_EINVAL || (strcmp(err->field, "code") != 0 && strcmp(err->field, "click_id") != 0))
		return false;
	memset(err, 0, sizeof *err);
	return true;
}

/* Adds a coupon candidate to a sale (duplicates and blanks left out). */
static void add_coupon(rf_sale_input *in, const char *code)
{
	if (!code || !*code || in->n_coupons >= RF_SALE_COUPONS)
		return;
	for (size_t i = 0; i < in->n_coupons; i++)
		if (strcmp(in->coupons[i], code) == 0)
			return;
	in->coupons[in->n_coupons++] = code;
}

/* The candidates of one discount: its promotion code's code (expanded, or learnt from promotion_code events), the
 * promotion code's id, then the coupon's id. */
static void discount_coupons(rf_ctx *c, const rf_program *prog, json_t *d, rf_sale_input *in)
{
	if (!json_is_object(d))
		return;
	json_t *promo = json_object_get(d, "promotion_code");
	const char *promo_id = json_is_object(promo) ? str_at(promo, "id") : json_string_value(promo);
	if (json_is_object(promo))
		add_coupon(in, str_at(promo, "code"));
	if (promo_id && *promo_id) {
		char *code = NULL;
		rf_err err = {0};
		if (rf_store_external_object_get(c->app->store, prog->id, "stripe", "promotion_code", promo_id, &code,
						 NULL, c->a, &err) == RF_OK)
			add_coupon(in, code);
		add_coupon(in, promo_id);
	}
	json_t *coupon = json_object_get(d, "coupon");
	add_coupon(in, json_is_object(coupon) ? str_at(coupon, "id") : json_string_value(coupon));
}

/* The coupons an invoice or checkout session used: its discount, then its discounts (expanded ones; bare ids of
 * discounts say nothing of the code), then the breakdown of a session's total. */
static void stripe_coupons(rf_ctx *c, const rf_program *prog, json_t *obj, rf_sale_input *in)
{
	discount_coupons(c, prog, json_object_get(obj, "discount"), in);
	size_t i;
	json_t *d;
	json_array_foreach(json_object_get(obj, "discounts"), i, d)
	{
		discount_coupons(c, prog, d, in);
	}
	json_array_foreach(
	    json_object_get(json_object_get(json_object_get(obj, "total_details"), "breakdown"), "discounts"), i, d)
	{
		discount_coupons(c, prog, json_object_get(d, "discount"), in);
	}
}

/* Finds or creates the lead for a Stripe customer: a code or click that does not exist is left out rather than
 * losing the customer. */
static rf_status touch(rf_ctx *c, const rf_program *prog, const char *email, const char *cus, const char *code,
		       const char *click, char **lead_id, rf_err *err)
{
	if (!email && !cus)
		return rf_err_set(err, RF_EINVAL, "customer", "the event names no customer");
	rf_status rc = rf_svc_customer_touch(rf_ctx_svc(c), prog, email, cus, code, click, lead_id, err);
	if (unknown_reference(rc, err))
		rc = rf_svc_customer_touch(rf_ctx_svc(c), prog, email, cus, NULL, NULL, lead_id, err);
	return rc;
}

/* Handles one verified event inside the open transaction: *outcome and *object_id say what came of it. */
static rf_status handle(rf_ctx *c, const rf_program *prog, const char *event_id, const char *type, json_t *obj,
			const char **outcome, char **object_id, const char **note, rf_err *err)
{
	*outcome = "processed";
	json_t *out = NULL;
	int status = 0;
	rf_status rc = RF_OK;
	if (strcmp(type, "promotion_code.created") == 0 || strcmp(type, "promotion_code.updated") == 0) {
		/* An invoice names its promotion code by id: what the customer typed is learnt from these events. */
		const char *id = str_at(obj, "id"), *code = str_at(obj, "code");
		if (!id || !code || strlen(code) > RF_COUPON_MAX)
			return rf_err_set(err, RF_EINVAL, "code", "the promotion code has no id or code refd can keep");
		*object_id = NULL;
		return rf_store_external_object_put(c->app->store, prog->id, "stripe", "promotion_code", id, code, 0,
						    rf_clock_now_ms(), err);
	} else if (strcmp(type, "customer.created") == 0) {
		rc = touch(c, prog, str_at(obj, "email"), str_at(obj, "id"), meta_code(obj), meta_click(obj), object_id,
			   err);
	} else if (strcmp(type, "checkout.session.completed") == 0) {
		const char *email = str_at(json_object_get(obj, "customer_details"), "email");
		if (!email)
			email = str_at(obj, "customer_email");
		const char *click = str_at(obj, "client_reference_id");
		rc = touch(c, prog, email, str_at(obj, "customer"), meta_code(obj), click ? click : meta_click(obj),
			   object_id, err);
	} else if (strcmp(type, "invoice.paid") == 0 || strcmp(type, "charge.succeeded") == 0) {
		bool invoice = strcmp(type, "invoice.paid") == 0;
		if (!invoice && str_at(obj, "invoice")) {
			*outcome = "ignored";
			*note = "the charge paid an invoice: invoice.paid records the sale";
			return RF_OK;
		}
		rf_sale_input in;
		memset(&in, 0, sizeof in);
		in.program_id = prog->id;
		if (stripe_money(obj, invoice ? "amount_paid" : "amount", &in.amount, in.currency, err) != RF_OK)
			return err->status;
		if (in.amount == 0) {
			*outcome = "ignored";
			*note = "nothing was paid";
			return RF_OK;
		}
		in.external_id = str_at(obj, "id");
		in.charge_id = invoice ? str_at(obj, "charge") : str_at(obj, "id");
		in.customer_external_id = str_at(obj, "customer");
		in.email = invoice ? str_at(obj, "customer_email")
				   : (str_at(json_object_get(obj, "billing_details"), "email")
					  ? str_at(json_object_get(obj, "billing_details"), "email")
					  : str_at(obj, "receipt_email"));
		in.code = meta_code(obj);
		in.click_id = meta_click(obj);
		in.source = "stripe";
		in.source_event_id = event_id;
		if (invoice)
			stripe_coupons(c, prog, obj, &in);
		const char *reason = str_at(obj, "billing_reason");
		if (reason && strcmp(reason, "subscription_create") == 0)
			in.kind = "first";
		else if (reason && strcmp(reason, "subscription_cycle") == 0)
			in.kind = "recurring";
		int64_t paid = seconds_ms(json_object_get(json_object_get(obj, "status_transitions"), "paid_at"));
		in.occurred_at = paid ? paid : seconds_ms(json_object_get(obj, "created"));
		if (!in.external_id)
			return rf_err_set(err, RF_EINVAL, "id", "the event's object has no id");
		if (!in.email && !in.customer_external_id)
			return rf_err_set(err, RF_EINVAL, "customer", "the event names no customer");
		rc = rf_api_sale_ingest(c, &in, &out, &status, object_id, err);
		if (unknown_reference(rc, err)) {
			in.code = in.click_id = NULL;
			rc = rf_api_sale_ingest(c, &in, &out, &status, object_id, err);
		}
		if (rc == RF_OK && status == 200)
			*outcome = "duplicate";
	} else if (strcmp(type, "charge.refunded") == 0 || strcmp(type, "charge.dispute.created") == 0) {
		bool dispute = strcmp(type, "charge.dispute.created") == 0;
		const char *charge = dispute ? str_at(obj, "charge") : str_at(obj, "id");
		rf_sale x;
		rc = charge ? rf_store_sale_find(c->app->store, prog->id, charge, true, &x, c->a, err) : RF_ENOTFOUND;
		if (rc == RF_ENOTFOUND && !dispute && str_at(obj, "invoice"))
			rc = rf_store_sale_find(c->app->store, prog->id, str_at(obj, "invoice"), false, &x, c->a, err);
		if (rc == RF_ENOTFOUND) {
			*outcome = "ignored";
			*note = "no sale was recorded for this charge";
			return RF_OK;
		}
		if (rc != RF_OK)
			return rc;
		rf_refund_input in;
		memset(&in, 0, sizeof in);
		in.sale_id = x.id;
		in.program_id = prog->id;
		in.kind = dispute ? "dispute" : "refund";
		in.has_amount = true;
		if (stripe_money(obj, dispute ? "amount" : "amount_refunded", &in.amount, in.currency, err) != RF_OK)
			return err->status;
		if (dispute) {
			in.external_id = str_at(obj, "id");
			in.reason = str_at(obj, "reason");
			int64_t left = x.amount - x.refunded - x.disputed;
			if (in.amount > left)
				in.amount = left;
		} else {
			/* amount_refunded is the charge's running total: what is new is the part not yet recorded. */
			in.amount -= x.refunded;
			in.external_id =
			    rf_arena_printf(c->a, "%s:refunded:%lld", charge,
					    (long long)json_integer_value(json_object_get(obj, "amount_refunded")));
		}
		if (in.amount <= 0) {
			*outcome = "ignored";
			*note = dispute ? "nothing is left of the sale to dispute" : "this refund is already recorded";
			return RF_OK;
		}
		in.source = "stripe";
		in.source_event_id = event_id;
		in.occurred_at = seconds_ms(json_object_get(obj, "created"));
		if (!dispute)
			in.occurred_at = 0; /* the charge's created time is the payment's, not the refund's */
		rc = rf_api_refund_ingest(c, &in, &out, &status, object_id, err);
		if (rc == RF_OK && status == 200)
			*outcome = "duplicate";
	} else {
		*outcome = "ignored";
		*note = "refd does not use this event type";
	}
	json_decref(out);
	return rc;
}

void rf_api_stripe_webhook(rf_ctx *c)
{
	rf_err err = {0};
	size_t len = 0;
	const char *body = rf_req_body(c->req, &len);
	const char *h = rf_req_header(c->req, "Stripe-Signature");
	/* What the event writes is recorded as done by Stripe. */
	c->who.actor = "stripe";
	signature sig;
	char *hcopy = h ? rf_arena_strdup(c->a, h) : NULL;
	if (!hcopy || !parse_signature(hcopy, &sig)) {
		rf_json_fail(c, RF_EINVAL, "Stripe-Signature",
			     "the Stripe-Signature header (t=…,v1=…) is missing or malformed");
		return;
	}
	long long now = rf_clock_now_ms() / 1000;
	if (sig.t < now - TOLERANCE_S || sig.t > now + TOLERANCE_S) {
		rf_json_fail(c, RF_EINVAL, "Stripe-Signature",
			     "the signature's timestamp is more than %d seconds away from now", TOLERANCE_S);
		return;
	}
	rf_program prog;
	if (find_program(c, &sig, body ? body : "", len, &prog, &err) != RF_OK) {
		rf_json_error(c, &err);
		return;
	}
	json_t *ev = body ? json_loadb(body, len, 0, NULL) : NULL;
	const char *id = str_at(ev, "id"), *type = str_at(ev, "type");
	json_t *obj = json_object_get(json_object_get(ev, "data"), "object");
	if (!json_is_object(ev) || !id || !type || !json_is_object(obj)) {
		json_decref(ev);
		rf_json_fail(c, RF_EINVAL, "body", "the body is not a Stripe event (id, type, data.object)");
		return;
	}
	const char *outcome = "processed", *note = NULL;
	char *object_id = NULL, *prev_outcome = NULL;
	int64_t at = rf_clock_now_ms();
	rf_status rc = rf_store_stripe_event_get(c->app->store, prog.id, id, &prev_outcome, &object_id, c->a, &err);
	if (rc == RF_OK) {
		outcome = "duplicate";
		goto reply;
	}
	if (rc != RF_ENOTFOUND)
		goto fail;
	if (rf_store_savepoint(c->app->store, "stripe_event", &err) != RF_OK)
		goto fail;
	rc = handle(c, &prog, id, type, obj, &outcome, &object_id, &note, &err);
	if (rc == RF_EINVAL || rc == RF_ECONFLICT) {
		/* Stripe would retry an error forever: an event refd cannot use is answered, and kept as ignored,
		 * without anything the handling wrote before it gave up. */
		rf_err keep = err;
		if (rf_store_rollback_to(c->app->store, "stripe_event", &err) != RF_OK)
			goto fail;
		err = keep;
		outcome = "ignored";
		note = rf_arena_strdup(c->a, err.message);
		object_id = NULL;
		memset(&err, 0, sizeof err);
	} else if (rc != RF_OK) {
		goto fail;
	}
	if (rf_store_stripe_event_add(c->app->store, prog.id, id, type, outcome, object_id, at, &err) != RF_OK)
		goto fail;
reply:;
	json_t *out = json_pack("{s:b, s:s, s:s, s:s, s:s, s:o}", "received", 1, "event_id", id, "type", type,
				"outcome", outcome, "program_id", prog.id, "object_id", rf_json_nullable(object_id));
	json_object_set_new(out, "note", rf_json_nullable(note));
	json_decref(ev);
	rf_json_send(c, 200, out);
	return;
fail:
	json_decref(ev);
	rf_json_error(c, &err);
}
