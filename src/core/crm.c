/* SPDX-License-Identifier: Apache-2.0 */
/* HubSpot's webhook signature and event batches, and CRM amounts in exact minor units (see crm.h). */
#include "crm.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "money.h"
#include "secret.h"

char *rf_hubspot_uri_decode(rf_arena *a, const char *uri)
{
	static const char *const codes = "3A:2F/3F?40@21!24$27'28(29)2A*2C,3B;";
	size_t n = strlen(uri);
	char *out = rf_arena_alloc(a, n + 1);
	if (!out)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		char c = uri[i];
		if (c == '%' && i + 2 < n) {
			char hi = uri[i + 1], lo = uri[i + 2];
			if (lo >= 'a' && lo <= 'z')
				lo = (char)(lo - 'a' + 'A');
			bool done = false;
			for (const char *k = codes; *k; k += 3) {
				if (k[0] == hi && k[1] == lo) {
					out[o++] = k[2];
					i += 2;
					done = true;
					break;
				}
			}
			if (done)
				continue;
		}
		out[o++] = c;
	}
	out[o] = '\0';
	return out;
}

void rf_hubspot_sign_v3(const char *secret, const char *method, const char *uri, const char *body, size_t len,
			const char *timestamp, rf_arena *a, char out[RF_HUBSPOT_SIG_LEN])
{
	out[0] = '\0';
	const char *decoded = rf_hubspot_uri_decode(a, uri);
	if (!decoded)
		return;
	crypto_auth_hmacsha256_state st;
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)method, strlen(method));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)decoded, strlen(decoded));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, len);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)timestamp, strlen(timestamp));
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_bin2base64(out, RF_HUBSPOT_SIG_LEN, mac, sizeof mac, sodium_base64_VARIANT_ORIGINAL);
}

bool rf_hubspot_verify_v3(const char *secret, const char *method, const char *uri, const char *body, size_t len,
			  const char *timestamp, const char *sig, int64_t now_ms, rf_arena *a, bool *stale)
{
	*stale = false;
	if (!secret || !timestamp || !sig || !*timestamp || strlen(timestamp) > 19)
		return false;
	int64_t ts = 0;
	for (const char *p = timestamp; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		ts = ts * 10 + (*p - '0');
	}
	/* HubSpot sets no bound on a timestamp ahead of now; a minute allows for clocks that disagree. */
	if (ts < now_ms - RF_HUBSPOT_WINDOW_MS || ts > now_ms + 60000) {
		*stale = true;
		return false;
	}
	char want[RF_HUBSPOT_SIG_LEN];
	rf_hubspot_sign_v3(secret, method, uri, body, len, timestamp, a, want);
	return want[0] && rf_secret_equal(want, sig);
}

/* An id HubSpot sends as a number (or, leniently, a string of digits) as text; NULL when it is neither. */
static char *id_text(json_t *v, rf_arena *a)
{
	if (json_is_integer(v))
		return rf_arena_printf(a, "%lld", (long long)json_integer_value(v));
	const char *s = json_string_value(v);
	if (!s || !*s || strlen(s) > 40)
		return NULL;
	for (const char *p = s; *p; p++)
		if (*p < '0' || *p > '9')
			return NULL;
	return rf_arena_strdup(a, s);
}

/* A short string member, copied; NULL when absent, not a string or longer than max. */
static char *text(json_t *o, const char *name, size_t max, rf_arena *a)
{
	const char *s = json_string_value(json_object_get(o, name));
	return s && strlen(s) <= max ? rf_arena_strdup(a, s) : NULL;
}

rf_status rf_hubspot_parse(const char *body, size_t len, rf_arena *a, rf_hubspot_event **events, size_t *n, rf_err *err)
{
	*events = NULL;
	*n = 0;
	json_error_t jerr;
	json_t *arr = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &jerr);
	rf_status rc = RF_OK;
	if (!json_is_array(arr)) {
		rc = rf_err_set(err, RF_EINVAL, "body",
				"the body is not a HubSpot webhook batch (a JSON array of events)");
		goto done;
	}
	size_t count = json_array_size(arr);
	if (count == 0 || count > RF_HUBSPOT_MAX_EVENTS) {
		rc = rf_err_set(err, RF_EINVAL, "body", "a HubSpot batch holds 1 to %d events", RF_HUBSPOT_MAX_EVENTS);
		goto done;
	}
	rf_hubspot_event *out = rf_arena_alloc(a, sizeof *out * count);
	if (!out) {
		rc = rf_err_set(err, RF_ENOMEM, NULL, "out of memory");
		goto done;
	}
	memset(out, 0, sizeof *out * count);
	for (size_t i = 0; i < count; i++) {
		json_t *e = json_array_get(arr, i);
		rf_hubspot_event *ev = &out[i];
		char field[48];
		if (!json_is_object(e)) {
			snprintf(field, sizeof field, "[%zu]", i);
			rc = rf_err_set(err, RF_EINVAL, field, "event %zu is not an object", i);
			goto done;
		}
		ev->object_id = id_text(json_object_get(e, "objectId"), a);
		ev->event_id = id_text(json_object_get(e, "eventId"), a);
		if (!ev->object_id || !ev->event_id) {
			snprintf(field, sizeof field, "[%zu].%s", i, ev->object_id ? "eventId" : "objectId");
			rc = rf_err_set(err, RF_EINVAL, field, "event %zu has no %s", i,
					ev->object_id ? "eventId" : "objectId");
			goto done;
		}
		ev->type = text(e, "subscriptionType", 100, a);
		if (!ev->type)
			ev->type = text(e, "eventType", 100, a);
		ev->property = text(e, "propertyName", 200, a);
		ev->value = text(e, "propertyValue", 1000, a);
		json_t *at = json_object_get(e, "occurredAt");
		ev->occurred_at = json_is_integer(at) && json_integer_value(at) > 0 ? json_integer_value(at) : 0;
		json_t *att = json_object_get(e, "attemptNumber");
		ev->attempt = json_is_integer(att) ? json_integer_value(att) : 0;
		char *portal = id_text(json_object_get(e, "portalId"), a);
		char *sub = id_text(json_object_get(e, "subscriptionId"), a);
		/* eventId alone is not unique (HubSpot's docs say so): the key takes what identifies the delivery. */
		ev->dedupe_key = rf_arena_printf(a, "%s:%s:%s:%s:%lld", portal ? portal : "", sub ? sub : "",
						 ev->event_id, ev->object_id, (long long)ev->occurred_at);
		if (!ev->dedupe_key) {
			rc = rf_err_set(err, RF_ENOMEM, NULL, "out of memory");
			goto done;
		}
	}
	*events = out;
	*n = count;
done:
	json_decref(arr);
	return rc;
}

rf_status rf_crm_amount(const char *decimal, const char *currency, int64_t *minor, char cur[4])
{
	*minor = 0;
	int exp = rf_currency_lookup(currency, cur);
	if (exp < 0)
		return RF_EINVAL;
	if (!decimal)
		return RF_EINVAL;
	size_t n = strlen(decimal);
	if (n == 0 || n > 40)
		return RF_EINVAL;
	char buf[48];
	memcpy(buf, decimal, n + 1);
	/* "12000.0" is 12,000 in any currency: the zeros say nothing, and would refuse a currency with no decimals. */
	if (strchr(buf, '.')) {
		while (n > 0 && buf[n - 1] == '0')
			buf[--n] = '\0';
		if (n > 0 && buf[n - 1] == '.')
			buf[--n] = '\0';
	}
	if (buf[0] == '-' || buf[0] == '+')
		return RF_EINVAL;
	int64_t v = 0;
	rf_status rc = rf_money_parse(buf, exp, &v);
	if (rc != RF_OK)
		return rc;
	if (v > RF_MONEY_MAX)
		return RF_EOVERFLOW;
	if (v <= 0)
		return RF_EINVAL;
	*minor = v;
	return RF_OK;
}
