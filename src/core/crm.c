/* SPDX-License-Identifier: Apache-2.0 */
/* HubSpot's webhook signature and event batches, and CRM amounts in exact minor units (see crm.h). */
#include "crm.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "clock.h"
#include "money.h"
#include "secret.h"
#include "xml.h"

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

/* A Pipedrive id (a number in data, a string in meta) as text. */
static char *any_id(json_t *v, rf_arena *a)
{
	if (json_is_integer(v))
		return rf_arena_printf(a, "%lld", (long long)json_integer_value(v));
	const char *s = json_string_value(v);
	return s && *s && strlen(s) <= 64 ? rf_arena_strdup(a, s) : NULL;
}

/* An RFC 3339 time member in ms, or epoch seconds; 0 when neither. */
static int64_t time_member(json_t *v)
{
	int64_t ms = 0;
	if (json_is_integer(v) && json_integer_value(v) > 0 && json_integer_value(v) < 100000000000LL)
		return json_integer_value(v) * 1000;
	const char *s = json_string_value(v);
	return s && rf_clock_parse(s, &ms) == 0 ? ms : 0;
}

/* The primary entry of a list of {value, primary} (else the first with a value). */
static char *primary(json_t *list, size_t max, rf_arena *a)
{
	json_t *first = NULL, *v;
	size_t i;
	json_array_foreach(list, i, v)
	{
		if (!json_string_value(json_object_get(v, "value")))
			continue;
		if (json_is_true(json_object_get(v, "primary")))
			return text(v, "value", max, a);
		if (!first)
			first = v;
	}
	return first ? text(first, "value", max, a) : NULL;
}

/* A custom field's value: an object {type, value} in webhooks, a plain value in the REST API. */
static char *custom(json_t *data, const char *key, rf_arena *a)
{
	if (!key)
		return NULL;
	json_t *f = json_object_get(json_object_get(data, "custom_fields"), key);
	if (json_is_object(f))
		f = json_object_get(f, "value");
	const char *s = json_string_value(f);
	return s && *s && strlen(s) <= 200 ? rf_arena_strdup(a, s) : NULL;
}

/* A JSON number in major units as decimal text; NULL when it is not a finite positive-or-zero amount refd can read
 * exactly. */
static char *number_text(json_t *v, rf_arena *a)
{
	if (json_is_integer(v))
		return rf_arena_printf(a, "%lld", (long long)json_integer_value(v));
	if (!json_is_real(v))
		return NULL;
	char buf[64];
	snprintf(buf, sizeof buf, "%.15g", json_real_value(v));
	/* An exponent, an infinity or NaN is no amount refd reads. */
	for (const char *p = buf; *p; p++)
		if (!((*p >= '0' && *p <= '9') || *p == '.' || *p == '-'))
			return NULL;
	return rf_arena_strdup(a, buf);
}

rf_status rf_pipedrive_parse(const char *body, size_t len, const char *code_field, const char *click_field, rf_arena *a,
			     rf_pipedrive_event *out, rf_err *err)
{
	memset(out, 0, sizeof *out);
	json_error_t jerr;
	json_t *o = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &jerr);
	rf_status rc = RF_OK;
	json_t *meta = json_object_get(o, "meta");
	if (!json_is_object(o) || !json_is_object(meta)) {
		rc = rf_err_set(err, RF_EINVAL, "meta",
				"the body is not a Pipedrive webhook (an object with meta and data)");
		goto done;
	}
	out->id = any_id(json_object_get(meta, "id"), a);
	out->action = text(meta, "action", 32, a);
	out->entity = text(meta, "entity", 32, a);
	if (!out->id || !out->action || !out->entity) {
		rc = rf_err_set(err, RF_EINVAL,
				!out->id       ? "meta.id"
				: !out->action ? "meta.action"
					       : "meta.entity",
				"the webhook's meta has no %s",
				!out->id       ? "id"
				: !out->action ? "action"
					       : "entity");
		goto done;
	}
	out->object_id = any_id(json_object_get(meta, "entity_id"), a);
	json_t *att = json_object_get(meta, "attempt");
	out->attempt = json_is_integer(att) ? json_integer_value(att) : 1;
	out->at = time_member(json_object_get(meta, "timestamp"));
	json_t *data = json_object_get(o, "data");
	if (json_is_null(data) || !data)
		goto done;
	if (!json_is_object(data)) {
		rc = rf_err_set(err, RF_EINVAL, "data", "the webhook's data is not an object");
		goto done;
	}
	char *id = any_id(json_object_get(data, "id"), a);
	if (id)
		out->object_id = id;
	out->updated_at = time_member(json_object_get(data, "update_time"));
	out->code = custom(data, code_field, a);
	out->click = custom(data, click_field, a);
	if (strcmp(out->entity, "person") == 0) {
		out->email = primary(json_object_get(data, "emails"), 254, a);
		out->phone = primary(json_object_get(data, "phones"), 64, a);
		out->first_name = text(data, "first_name", 200, a);
		out->last_name = text(data, "last_name", 200, a);
		out->name = text(data, "name", 400, a);
	} else if (strcmp(out->entity, "deal") == 0) {
		out->status = text(data, "status", 32, a);
		out->stage = any_id(json_object_get(data, "stage_id"), a);
		out->amount = number_text(json_object_get(data, "value"), a);
		out->currency = text(data, "currency", 8, a);
		out->person_id = any_id(json_object_get(data, "person_id"), a);
		out->won_at = time_member(json_object_get(data, "won_time"));
	}
done:
	json_decref(o);
	return rc;
}

bool rf_basic_auth_ok(const char *header, const char *user, const char *password)
{
	if (!header || !user || !password || strncasecmp(header, "Basic ", 6) != 0)
		return false;
	const char *b64 = header + 6;
	while (*b64 == ' ')
		b64++;
	size_t n = strlen(b64);
	if (n == 0 || n > 8192)
		return false;
	unsigned char buf[6144];
	size_t got = 0;
	if (sodium_base642bin(buf, sizeof buf - 1, b64, n, NULL, &got, NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
		return false;
	buf[got] = '\0';
	if (memchr(buf, '\0', got))
		return false;
	char *colon = strchr((char *)buf, ':');
	if (!colon)
		return false;
	*colon = '\0';
	/* Both compared whole, in constant time, so neither a wrong user nor a wrong password answers sooner. */
	bool u = rf_secret_equal((char *)buf, user);
	bool p = rf_secret_equal(colon + 1, password);
	sodium_memzero(buf, sizeof buf);
	return u && p;
}

const char rf_salesforce_ack[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" "
    "xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n"
    " <soapenv:Body>\n"
    "  <notificationsResponse xmlns=\"http://soap.sforce.com/2005/09/outbound\">\n"
    "   <Ack>true</Ack>\n"
    "  </notificationsResponse>\n"
    " </soapenv:Body>\n"
    "</soapenv:Envelope>\n";
const size_t rf_salesforce_ack_len = sizeof rf_salesforce_ack - 1;

/* A child's text, copied when it is short enough; NULL when absent or nil. */
static char *child_text(const rf_xml_node *n, const char *name, size_t max, rf_arena *a)
{
	const rf_xml_node *c = rf_xml_child(n, name);
	const char *nil = c ? rf_xml_attr_get(c, "nil") : NULL;
	if (!c || (nil && strcmp(nil, "true") == 0) || strlen(c->text) > max)
		return NULL;
	return rf_arena_strdup(a, c->text);
}

rf_status rf_salesforce_parse(const char *body, size_t len, rf_arena *a, rf_salesforce_message *out, rf_err *err)
{
	memset(out, 0, sizeof *out);
	rf_xml_node *root = NULL;
	if (rf_xml_parse(body, len, a, &root, err) != RF_OK)
		return err->status;
	const rf_xml_node *nots =
	    strcmp(root->name, "Envelope") == 0 ? rf_xml_child(rf_xml_child(root, "Body"), "notifications") : NULL;
	if (!nots)
		return rf_err_set(
		    err, RF_EINVAL, "body",
		    "the body is not an Outbound Messaging SOAP message (Envelope > Body > notifications)");
	out->organization_id = child_text(nots, "OrganizationId", 18, a);
	out->action_id = child_text(nots, "ActionId", 18, a);
	if (!out->organization_id || strlen(out->organization_id) < 15)
		return rf_err_set(err, RF_EINVAL, "OrganizationId", "the message has no OrganizationId");
	size_t count = 0;
	for (size_t i = 0; i < nots->n; i++)
		count += strcmp(nots->children[i]->name, "Notification") == 0;
	if (count == 0 || count > RF_SALESFORCE_MAX_NOTIFICATIONS)
		return rf_err_set(err, RF_EINVAL, "Notification", "a message holds 1 to %d notifications",
				  RF_SALESFORCE_MAX_NOTIFICATIONS);
	out->items = rf_arena_alloc(a, sizeof *out->items * count);
	if (!out->items)
		return rf_err_set(err, RF_ENOMEM, NULL, "out of memory");
	for (size_t i = 0; i < nots->n; i++) {
		const rf_xml_node *nn = nots->children[i];
		if (strcmp(nn->name, "Notification") != 0)
			continue;
		rf_salesforce_notification *it = &out->items[out->n];
		it->id = child_text(nn, "Id", 18, a);
		const rf_xml_node *so = rf_xml_child(nn, "sObject");
		const char *type = so ? rf_xml_attr_get(so, "type") : NULL;
		if (!it->id || !*it->id || !so || !type)
			return rf_err_set(err, RF_EINVAL, "Notification",
					  "notification %zu has no Id or no sObject with its xsi:type", out->n + 1);
		const char *colon = strchr(type, ':');
		it->type = rf_arena_strdup(a, colon ? colon + 1 : type);
		if (so->n > RF_SALESFORCE_MAX_FIELDS)
			return rf_err_set(err, RF_EINVAL, "sObject", "an sObject holds at most %d fields",
					  RF_SALESFORCE_MAX_FIELDS);
		it->fields = rf_arena_alloc(a, sizeof *it->fields * (so->n ? so->n : 1));
		if (!it->fields || !it->type)
			return rf_err_set(err, RF_ENOMEM, NULL, "out of memory");
		for (size_t k = 0; k < so->n; k++) {
			const rf_xml_node *f = so->children[k];
			const char *nil = rf_xml_attr_get(f, "nil");
			it->fields[it->n].name = f->name;
			it->fields[it->n].value = f->text;
			it->fields[it->n].nil = nil && strcmp(nil, "true") == 0;
			it->n++;
		}
		out->n++;
	}
	return RF_OK;
}

const char *rf_salesforce_value(const rf_salesforce_notification *n, const char *name)
{
	for (size_t i = 0; i < n->n; i++)
		if (strcmp(n->fields[i].name, name) == 0)
			return n->fields[i].nil || !*n->fields[i].value ? NULL : n->fields[i].value;
	return NULL;
}

bool rf_salesforce_same_org(const char *x, const char *y)
{
	return x && y && strlen(x) >= 15 && strlen(y) >= 15 && strncmp(x, y, 15) == 0;
}
