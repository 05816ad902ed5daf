/* SPDX-License-Identifier: Apache-2.0 */
/* Reading Chargebee's webhooks: its Basic authentication, and the payment and refund events refd acts on. */
#include "chargebee.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "money.h"
#include "secret.h"

bool rf_basic_auth_matches(const char *header, const char *user, const char *password)
{
	if (!header || !user || !password)
		return false;
	while (*header == ' ')
		header++;
	bool scheme = strncasecmp(header, "Basic ", 6) == 0;
	const char *token = scheme ? header + 6 : header;
	while (*token == ' ')
		token++;
	/* The expected token: base64 of "user:password", with padding, as Chargebee (and curl -u) send it. */
	size_t un = strlen(user), pn = strlen(password);
	if (un > 4096 || pn > 4096)
		return false;
	unsigned char plain[8194];
	memcpy(plain, user, un);
	plain[un] = ':';
	memcpy(plain + un + 1, password, pn);
	char want[sodium_base64_ENCODED_LEN(8193, sodium_base64_VARIANT_ORIGINAL)];
	sodium_bin2base64(want, sizeof want, plain, un + 1 + pn, sodium_base64_VARIANT_ORIGINAL);
	sodium_memzero(plain, sizeof plain);
	/* Digests of both, so that the comparison's time says nothing of the token's length or contents. */
	char a[RF_HEX256_LEN], b[RF_HEX256_LEN];
	rf_sha256_hex(token, strlen(token), a);
	rf_sha256_hex(want, strlen(want), b);
	sodium_memzero(want, sizeof want);
	return rf_secret_equal(a, b) && scheme;
}

static char *text(json_t *o, const char *name, rf_arena *a)
{
	const char *s = json_string_value(json_object_get(o, name));
	return s && *s ? rf_arena_strdup(a, s) : NULL;
}

static int64_t seconds_ms(json_t *o, const char *name)
{
	json_t *v = json_object_get(o, name);
	if (!json_is_integer(v) || json_integer_value(v) <= 0 || json_integer_value(v) > INT64_MAX / 1000)
		return 0;
	return (int64_t)json_integer_value(v) * 1000;
}

/* The referral of a customer or subscription: custom fields (cf_…), then meta_data. */
static void referral(json_t *o, rf_arena *a, rf_chargebee_event *out)
{
	if (!json_is_object(o))
		return;
	static const char *const clicks[] = {"cf_refd_click", "cf_click_id"};
	static const char *const codes[] = {"cf_refd_code", "cf_referral_code", "cf_via"};
	for (size_t i = 0; !out->click_id && i < sizeof clicks / sizeof clicks[0]; i++)
		out->click_id = text(o, clicks[i], a);
	for (size_t i = 0; !out->code && i < sizeof codes / sizeof codes[0]; i++)
		out->code = text(o, codes[i], a);
	json_t *meta = json_object_get(o, "meta_data");
	if (!json_is_object(meta))
		return;
	static const char *const mclicks[] = {"refd_click", "click_id"};
	static const char *const mcodes[] = {"refd_code", "referral_code", "via"};
	for (size_t i = 0; !out->click_id && i < sizeof mclicks / sizeof mclicks[0]; i++)
		out->click_id = text(meta, mclicks[i], a);
	for (size_t i = 0; !out->code && i < sizeof mcodes / sizeof mcodes[0]; i++)
		out->code = text(meta, mcodes[i], a);
}

static void add_coupon(rf_chargebee_event *out, char *code)
{
	if (!code || out->n_coupons >= RF_CHARGEBEE_MAX_COUPONS)
		return;
	for (size_t i = 0; i < out->n_coupons; i++)
		if (strcmp(out->coupons[i], code) == 0)
			return;
	out->coupons[out->n_coupons++] = code;
}

/* The coupons of an invoice's discounts (document- or item-level coupons) and line item discounts. */
static void invoice_coupons(json_t *inv, rf_arena *a, rf_chargebee_event *out)
{
	size_t i;
	json_t *d;
	json_array_foreach(json_object_get(inv, "discounts"), i, d)
	{
		const char *kind = json_string_value(json_object_get(d, "entity_type"));
		if (!kind || !strstr(kind, "coupon"))
			continue;
		add_coupon(out, text(d, "coupon_set_code", a));
		add_coupon(out, text(d, "entity_id", a));
	}
	json_array_foreach(json_object_get(inv, "line_item_discounts"), i, d)
	{
		const char *kind = json_string_value(json_object_get(d, "discount_type"));
		if (!kind || !strstr(kind, "coupon"))
			continue;
		add_coupon(out, text(d, "coupon_id", a));
		add_coupon(out, text(d, "entity_id", a));
	}
}

rf_status rf_chargebee_event_parse(const char *body, size_t len, rf_arena *a, rf_chargebee_event *out, rf_err *err)
{
	memset(out, 0, sizeof *out);
	json_error_t jerr;
	json_t *ev = body ? json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr) : NULL;
	rf_status rc = RF_OK;
	json_t *content = json_object_get(ev, "content");
	if (!json_is_object(ev)) {
		rc = rf_err_set(err, RF_EINVAL, "body", "the body is not a Chargebee event (a JSON object)");
		goto done;
	}
	out->event_id = text(ev, "id", a);
	out->type = text(ev, "event_type", a);
	if (!out->event_id || !out->type || !json_is_object(content)) {
		rc = rf_err_set(err, RF_EINVAL, "body", "the body is not a Chargebee event (id, event_type, content)");
		goto done;
	}
	out->occurred_at = seconds_ms(ev, "occurred_at");
	json_t *txn = json_object_get(content, "transaction");
	if (json_is_object(txn)) {
		out->transaction_id = text(txn, "id", a);
		out->transaction_type = text(txn, "type", a);
		out->transaction_status = text(txn, "status", a);
		out->refunded_transaction_id = text(txn, "refunded_txn_id", a);
		out->transaction_date = seconds_ms(txn, "date");
		json_t *ver = json_object_get(txn, "resource_version");
		out->transaction_version = json_is_integer(ver) ? (int64_t)json_integer_value(ver) : 0;
		json_t *amt = json_object_get(txn, "amount");
		if (amt) {
			if (!json_is_integer(amt) || json_integer_value(amt) < 0) {
				rc = rf_err_set(err, RF_EINVAL, "content.transaction.amount",
						"content.transaction.amount must be an integer of minor units");
				goto done;
			}
			if (json_integer_value(amt) > RF_MONEY_MAX) {
				rc = rf_err_set(
				    err, RF_EOVERFLOW, "content.transaction.amount",
				    "content.transaction.amount is larger than refd accepts (at most %lld minor "
				    "units)",
				    (long long)RF_MONEY_MAX);
				goto done;
			}
			out->amount = (int64_t)json_integer_value(amt);
			out->has_amount = true;
			if (rf_currency_lookup(json_string_value(json_object_get(txn, "currency_code")),
					       out->currency) < 0) {
				rc = rf_err_set(err, RF_EINVAL, "content.transaction.currency_code",
						"content.transaction.currency_code is not an ISO 4217 currency code");
				goto done;
			}
		}
		out->customer_id = text(txn, "customer_id", a);
		out->subscription_id = text(txn, "subscription_id", a);
	}
	json_t *sub = json_object_get(content, "subscription");
	json_t *cus = json_object_get(content, "customer");
	json_t *inv = json_object_get(content, "invoice");
	json_t *cn = json_object_get(content, "credit_note");
	if (json_is_object(sub) && !out->subscription_id)
		out->subscription_id = text(sub, "id", a);
	if (json_is_object(cus)) {
		if (!out->customer_id)
			out->customer_id = text(cus, "id", a);
		out->email = text(cus, "email", a);
	}
	if (!out->email && json_is_object(inv))
		out->email = text(json_object_get(inv, "billing_address"), "email", a);
	if (json_is_object(inv)) {
		out->has_invoice = true;
		out->invoice_id = text(inv, "id", a);
		out->first_invoice = json_is_true(json_object_get(inv, "first_invoice"));
		out->recurring_invoice = json_is_true(json_object_get(inv, "recurring"));
		if (!out->customer_id)
			out->customer_id = text(inv, "customer_id", a);
		invoice_coupons(inv, a, out);
	}
	if (json_is_object(cn))
		out->credit_note_id = text(cn, "id", a);
	/* The subscription's coupons when the invoice names none (an event without the invoice). */
	if (out->n_coupons == 0 && json_is_object(sub)) {
		size_t i;
		json_t *c;
		json_array_foreach(json_object_get(sub, "coupons"), i, c)
		{
			add_coupon(out, text(c, "coupon_code", a));
			add_coupon(out, text(c, "coupon_id", a));
		}
	}
	referral(sub, a, out);
	referral(cus, a, out);
done:
	json_decref(ev);
	return rc;
}
