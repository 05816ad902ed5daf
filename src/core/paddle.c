/* SPDX-License-Identifier: Apache-2.0 */
/* Reading Paddle Billing's webhooks: the Paddle-Signature header, its HMAC check, and the events refd acts on. */
#include "paddle.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "money.h"
#include "secret.h"

static bool all_digits(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static bool hex64(const char *s)
{
	if (strlen(s) != 64)
		return false;
	for (size_t i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') || (s[i] >= 'A' && s[i] <= 'F')))
			return false;
	return true;
}

bool rf_paddle_signature_parse(const char *header, char *buf, size_t len, rf_paddle_signature *out)
{
	memset(out, 0, sizeof *out);
	if (!header || !buf || len == 0)
		return false;
	size_t n = strlen(header);
	if (n >= len)
		return false;
	memcpy(buf, header, n + 1);
	bool has_ts = false;
	char *p = buf;
	while (p && *p) {
		char *next = strchr(p, ';');
		if (next)
			*next++ = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		char *end = p + strlen(p);
		while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		char *eq = strchr(p, '=');
		if (eq) {
			*eq = '\0';
			const char *v = eq + 1;
			if (strcmp(p, "ts") == 0) {
				/* Eleven digits reach the year 5138: a longer ts is not seconds. */
				size_t vn = strlen(v);
				has_ts = all_digits(v, vn) && vn <= 11;
				int64_t ts = 0;
				for (size_t i = 0; has_ts && i < vn; i++)
					ts = ts * 10 + (v[i] - '0');
				out->ts = ts;
			} else if (strcmp(p, "h1") == 0 && out->n < RF_PADDLE_MAX_H1 && hex64(v)) {
				out->h1[out->n++] = v;
			}
		}
		p = next;
	}
	return has_ts && out->n > 0;
}

bool rf_paddle_signature_matches(const rf_paddle_signature *sig, const char *secret, const char *body, size_t len)
{
	if (!secret || !*secret)
		return false;
	char head[32];
	int hn = snprintf(head, sizeof head, "%lld:", (long long)sig->ts);
	if (hn < 0 || (size_t)hn >= sizeof head)
		return false;
	char want[RF_HEX256_LEN];
	rf_hmac_sha256_hex_of(secret, strlen(secret), head, (size_t)hn, body ? body : "", body ? len : 0, want);
	bool ok = false;
	for (size_t i = 0; i < sig->n; i++) {
		/* Paddle writes lower-case hex; an upper-case copy is the same signature. */
		char got[RF_HEX256_LEN];
		for (size_t k = 0; k < 64; k++)
			got[k] =
			    (sig->h1[i][k] >= 'A' && sig->h1[i][k] <= 'F') ? (char)(sig->h1[i][k] + 32) : sig->h1[i][k];
		got[64] = '\0';
		ok |= rf_secret_equal(want, got);
	}
	return ok;
}

rf_status rf_paddle_amount(const char *s, const char *field, int64_t *out, rf_err *err)
{
	*out = 0;
	if (!s || !all_digits(s, strlen(s)))
		return rf_err_set(err, RF_EINVAL, field,
				  "%s must be a string of digits (minor units), as Paddle sends it", field);
	int64_t v = 0;
	for (const char *p = s; *p; p++) {
		if (v > (RF_MONEY_MAX - (*p - '0')) / 10)
			return rf_err_set(err, RF_EOVERFLOW, field,
					  "%s is larger than refd accepts (at most %lld minor units)", field,
					  (long long)RF_MONEY_MAX);
		v = v * 10 + (*p - '0');
	}
	*out = v;
	return RF_OK;
}

/* A non-empty string member, copied into the arena; NULL otherwise. */
static char *text(json_t *o, const char *name, rf_arena *a)
{
	const char *s = json_string_value(json_object_get(o, name));
	return s && *s ? rf_arena_strdup(a, s) : NULL;
}

/* An RFC 3339 member as unix ms; 0 when absent, not a time, or Paddle's zero time (0001-01-01). */
static int64_t time_of(json_t *o, const char *name)
{
	const char *s = json_string_value(json_object_get(o, name));
	int64_t ms = 0;
	if (!s || rf_clock_parse(s, &ms) != 0 || ms <= 0)
		return 0;
	return ms;
}

/* The referral a custom_data object carries (Paddle copies the checkout's to the transaction and the subscription). */
static void custom_data(json_t *cd, rf_arena *a, rf_paddle_event *out)
{
	if (!json_is_object(cd))
		return;
	static const char *const clicks[] = {"refd_click", "click_id"};
	static const char *const codes[] = {"refd_code", "referral_code", "via", "code"};
	for (size_t i = 0; !out->click_id && i < sizeof clicks / sizeof clicks[0]; i++)
		out->click_id = text(cd, clicks[i], a);
	for (size_t i = 0; !out->code && i < sizeof codes / sizeof codes[0]; i++)
		out->code = text(cd, codes[i], a);
}

static void add_code(rf_paddle_event *out, char *code)
{
	if (code && out->n_codes < RF_PADDLE_MAX_CODES)
		out->codes[out->n_codes++] = code;
}

/* A totals object's total and currency_code: the amount exactly, the currency checked. */
static rf_status totals(json_t *t, const char *where, const char *fallback_currency, rf_paddle_event *out, rf_err *err)
{
	char field[64];
	if (!json_is_object(t))
		return rf_err_set(err, RF_EINVAL, where, "the event has no %s", where);
	snprintf(field, sizeof field, "%s.total", where);
	if (rf_paddle_amount(json_string_value(json_object_get(t, "total")), field, &out->total, err) != RF_OK)
		return err->status;
	const char *cur = json_string_value(json_object_get(t, "currency_code"));
	if (!cur)
		cur = fallback_currency;
	snprintf(field, sizeof field, "%s.currency_code", where);
	if (rf_currency_lookup(cur, out->currency) < 0)
		return rf_err_set(err, RF_EINVAL, field, "%s is not an ISO 4217 currency code", field);
	out->has_total = true;
	return RF_OK;
}

rf_status rf_paddle_event_parse(const char *body, size_t len, rf_arena *a, rf_paddle_event *out, rf_err *err)
{
	memset(out, 0, sizeof *out);
	json_error_t jerr;
	json_t *ev = body ? json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr) : NULL;
	rf_status rc = RF_OK;
	if (!json_is_object(ev)) {
		rc = rf_err_set(err, RF_EINVAL, "body", "the body is not a Paddle event (a JSON object)");
		goto done;
	}
	out->event_id = text(ev, "event_id", a);
	out->type = text(ev, "event_type", a);
	json_t *d = json_object_get(ev, "data");
	if (!out->event_id || !out->type || !json_is_object(d)) {
		rc = rf_err_set(err, RF_EINVAL, "body", "the body is not a Paddle event (event_id, event_type, data)");
		goto done;
	}
	out->occurred_at = time_of(ev, "occurred_at");
	const char *type = out->type;
	if (strncmp(type, "transaction.", 12) == 0) {
		out->transaction_id = text(d, "id", a);
		out->customer_id = text(d, "customer_id", a);
		out->subscription_id = text(d, "subscription_id", a);
		out->origin = text(d, "origin", a);
		out->status = text(d, "status", a);
		out->invoice_number = text(d, "invoice_number", a);
		out->billed_at = time_of(d, "billed_at");
		out->discount_id = text(d, "discount_id", a);
		add_code(out, text(json_object_get(d, "discount"), "code", a));
		custom_data(json_object_get(d, "custom_data"), a, out);
		if (strcmp(type, "transaction.completed") == 0)
			rc = totals(json_object_get(json_object_get(d, "details"), "totals"), "data.details.totals",
				    json_string_value(json_object_get(d, "currency_code")), out, err);
	} else if (strncmp(type, "adjustment.", 11) == 0) {
		out->adjustment_id = text(d, "id", a);
		out->transaction_id = text(d, "transaction_id", a);
		out->customer_id = text(d, "customer_id", a);
		out->subscription_id = text(d, "subscription_id", a);
		out->action = text(d, "action", a);
		out->adjustment_status = text(d, "status", a);
		out->reason = text(d, "reason", a);
		if (json_object_get(d, "totals"))
			rc = totals(json_object_get(d, "totals"), "data.totals",
				    json_string_value(json_object_get(d, "currency_code")), out, err);
	} else if (strncmp(type, "discount.", 9) == 0) {
		out->discount_id = text(d, "id", a);
		add_code(out, text(d, "code", a));
	} else if (strncmp(type, "subscription.", 13) == 0) {
		out->subscription_id = text(d, "id", a);
		out->customer_id = text(d, "customer_id", a);
		out->transaction_id = text(d, "transaction_id", a);
		out->discount_id = text(json_object_get(d, "discount"), "id", a);
		custom_data(json_object_get(d, "custom_data"), a, out);
	} else if (strncmp(type, "customer.", 9) == 0) {
		out->customer_id = text(d, "id", a);
		out->email = text(d, "email", a);
		custom_data(json_object_get(d, "custom_data"), a, out);
	}
done:
	json_decref(ev);
	return rc;
}
