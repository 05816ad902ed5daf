/* SPDX-License-Identifier: Apache-2.0 */
/* JSON bodies in and out: strict request validation and the error shape of every failure. */
#include "json.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/clock.h"
#include "../core/text.h"

#define JSON_MAX_DEPTH 16

void rf_json_send(rf_ctx *c, int status, json_t *obj)
{
	char *s = json_dumps(obj, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(obj);
	if (!s) {
		static const char oom[] =
		    "{\"error\":{\"type\":\"internal_error\",\"message\":\"out of memory\",\"field\":null}}";
		rf_ctx_send(c, 500, "application/json", oom, sizeof oom - 1);
		return;
	}
	rf_resp_header(c->req, "Cache-Control", "no-store");
	rf_ctx_send(c, status, "application/json", s, strlen(s));
	free(s);
}

/* A JSON string of s; bytes that do not form UTF-8 (a message quoting a client's bytes, or cut inside a
 * character) become '?', so that a bad byte in the input can never turn its 4xx into a 500. */
static json_t *text_value(const char *s)
{
	json_t *v = json_string(s);
	if (v)
		return v;
	char clean[sizeof((rf_err *)0)->message];
	size_t n = 0;
	for (; s[n] && n + 1 < sizeof clean; n++)
		clean[n] = (unsigned char)s[n] < 0x80 ? s[n] : '?';
	clean[n] = '\0';
	return json_string(clean);
}

void rf_json_error(rf_ctx *c, const rf_err *err)
{
	rf_status st = err->status == RF_OK ? RF_EIO : err->status;
	json_t *e = json_pack("{s:s, s:o}", "type", rf_status_type(st), "message",
			      text_value(err->message[0] ? err->message : rf_status_type(st)));
	json_object_set_new(e, "field", err->field[0] ? text_value(err->field) : json_null());
	if (st == RF_ERATE)
		rf_resp_header(c->req, "Retry-After", "60");
	if (st == RF_ERETRY)
		c->out.retry = true;
	if (st == RF_EUNAVAIL || st == RF_ERETRY)
		rf_resp_header(c->req, "Retry-After", st == RF_ERETRY ? "1" : "5");
	json_t *body = json_pack("{s:o}", "error", e);
	rf_json_send(c, rf_status_http(st), body);
}

void rf_json_fail(rf_ctx *c, rf_status status, const char *field, const char *fmt, ...)
{
	rf_err err;
	memset(&err, 0, sizeof err);
	err.status = status;
	snprintf(err.field, sizeof err.field, "%s", field ? field : "");
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err.message, sizeof err.message, fmt, ap);
	va_end(ap);
	rf_json_error(c, &err);
}

static int depth_of(json_t *v)
{
	int max = 0;
	if (json_is_object(v)) {
		const char *k;
		json_t *m;
		json_object_foreach(v, k, m)
		{
			int d = depth_of(m);
			if (d > max)
				max = d;
		}
		return max + 1;
	}
	if (json_is_array(v)) {
		size_t i;
		json_t *m;
		json_array_foreach(v, i, m)
		{
			int d = depth_of(m);
			if (d > max)
				max = d;
		}
		return max + 1;
	}
	return 0;
}

static rf_status check_money(json_t *v, const char *full, rf_err *err)
{
	if (!json_is_object(v))
		return rf_err_set(err, RF_EINVAL, full,
				  "%s must be an object {\"amount\": integer, \"currency\": code}", full);
	const char *k;
	json_t *m;
	json_object_foreach(v, k, m)
	{
		if (strcmp(k, "amount") != 0 && strcmp(k, "currency") != 0)
			return rf_err_set(err, RF_EINVAL, full, "%s: unknown field '%s'", full, k);
	}
	json_t *amount = json_object_get(v, "amount"), *cur = json_object_get(v, "currency");
	if (!json_is_integer(amount))
		return rf_err_set(err, RF_EINVAL, full, "%s.amount must be an integer in minor units", full);
	if (!json_is_string(cur))
		return rf_err_set(err, RF_EINVAL, full, "%s.currency must be an ISO 4217 code", full);
	if (rf_currency_lookup(json_string_value(cur), NULL) < 0)
		return rf_err_set(err, RF_EINVAL, full, "%s.currency: '%.8s' is not an ISO 4217 currency code", full,
				  json_string_value(cur));
	return RF_OK;
}

rf_status rf_json_check(json_t *obj, const rf_jfield *fields, const char *prefix, rf_err *err)
{
	const char *key;
	json_t *v;
	json_object_foreach(obj, key, v)
	{
		const rf_jfield *f = fields;
		while (f->name && strcmp(f->name, key) != 0)
			f++;
		char full[96];
		snprintf(full, sizeof full, "%s%s", prefix, key);
		if (!f->name)
			return rf_err_set(err, RF_EINVAL, full, "unknown field '%s'", full);
		if (json_is_null(v)) {
			if (!f->nullable)
				return rf_err_set(err, RF_EINVAL, full, "%s cannot be null", full);
			continue;
		}
		switch (f->type) {
		case RF_JT_STRING: {
			if (!json_is_string(v))
				return rf_err_set(err, RF_EINVAL, full, "%s must be a string", full);
			size_t len = json_string_length(v);
			const char *s = json_string_value(v);
			if (len > f->max)
				return rf_err_set(err, RF_EINVAL, full, "%s is longer than %zu bytes", full, f->max);
			if (strlen(s) != len || !rf_text_clean(s))
				return rf_err_set(err, RF_EINVAL, full, "%s contains control characters", full);
			break;
		}
		case RF_JT_INT:
			if (!json_is_integer(v))
				return rf_err_set(err, RF_EINVAL, full, "%s must be an integer", full);
			break;
		case RF_JT_BOOL:
			if (!json_is_boolean(v))
				return rf_err_set(err, RF_EINVAL, full, "%s must be true or false", full);
			break;
		case RF_JT_OBJECT: {
			if (!json_is_object(v))
				return rf_err_set(err, RF_EINVAL, full, "%s must be an object", full);
			char *s = json_dumps(v, JSON_COMPACT);
			size_t len = s ? strlen(s) : 0;
			free(s);
			if (len > f->max)
				return rf_err_set(err, RF_EINVAL, full, "%s is larger than %zu bytes", full, f->max);
			break;
		}
		case RF_JT_MONEY:
			if (check_money(v, full, err) != RF_OK)
				return err->status;
			break;
		case RF_JT_STRINGS: {
			if (!json_is_array(v) || json_array_size(v) > f->max)
				return rf_err_set(err, RF_EINVAL, full, "%s must be an array of at most %zu strings",
						  full, f->max);
			size_t i;
			json_t *m;
			json_array_foreach(v, i, m)
			{
				if (!json_is_string(m) || json_string_length(m) > 64)
					return rf_err_set(err, RF_EINVAL, full,
							  "%s[%zu] must be a string of at most 64 bytes", full, i);
			}
			break;
		}
		case RF_JT_FIELDS: {
			if (!json_is_object(v))
				return rf_err_set(err, RF_EINVAL, full, "%s must be an object", full);
			char sub[100];
			snprintf(sub, sizeof sub, "%s.", full);
			if (rf_json_check(v, f->sub, sub, err) != RF_OK)
				return err->status;
			break;
		}
		}
	}
	return RF_OK;
}

rf_status rf_json_body(rf_ctx *c, const rf_jfield *fields, json_t **out, rf_err *err)
{
	return rf_json_body_typed(c, fields, false, out, err);
}

rf_status rf_json_body_typed(rf_ctx *c, const rf_jfield *fields, bool text_plain, json_t **out, rf_err *err)
{
	size_t len = 0;
	const char *body = rf_req_body(c->req, &len);
	const char *ct = rf_req_header(c->req, "Content-Type");
	if (ct && strncmp(ct, "application/json", 16) != 0 && !(text_plain && strncmp(ct, "text/plain", 10) == 0))
		return rf_err_set(err, RF_EINVAL, "Content-Type", "the body must be application/json, not %.40s", ct);
	if (len == 0)
		return rf_err_set(err, RF_EINVAL, "body", "a JSON object body is required");
	json_error_t je;
	json_t *v = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (!v)
		return rf_err_set(err, RF_EINVAL, "body", "malformed JSON at line %d, column %d: %s", je.line,
				  je.column, je.text);
	if (!json_is_object(v)) {
		json_decref(v);
		return rf_err_set(err, RF_EINVAL, "body", "the body must be a JSON object");
	}
	if (depth_of(v) > JSON_MAX_DEPTH) {
		json_decref(v);
		return rf_err_set(err, RF_EINVAL, "body", "the body is nested deeper than %d levels", JSON_MAX_DEPTH);
	}
	if (rf_json_check(v, fields, "", err) != RF_OK) {
		json_decref(v);
		return err->status;
	}
	*out = v;
	return RF_OK;
}

const char *rf_json_str(json_t *obj, const char *name)
{
	return json_string_value(json_object_get(obj, name));
}

bool rf_json_has(json_t *obj, const char *name)
{
	return json_object_get(obj, name) != NULL;
}

rf_status rf_json_money(json_t *obj, const char *name, int64_t min, int64_t max, rf_money *m, rf_err *err)
{
	json_t *v = json_object_get(obj, name);
	if (!json_is_object(v))
		return rf_err_set(err, RF_EINVAL, name, "%s is required", name);
	json_int_t amount = json_integer_value(json_object_get(v, "amount"));
	if (rf_currency_lookup(json_string_value(json_object_get(v, "currency")), m->currency) < 0)
		return rf_err_set(err, RF_EINVAL, name, "%s.currency is not an ISO 4217 code", name);
	if (amount < min || amount > max)
		return rf_err_set(err, RF_EINVAL, name, "%s.amount must be between %lld and %lld", name, (long long)min,
				  (long long)max);
	m->amount = amount;
	return RF_OK;
}

rf_status rf_json_page(rf_ctx *c, rf_page *page, rf_err *err)
{
	page->limit = 20;
	page->starting_after = NULL;
	page->settled = true;
	const char *l = rf_req_query(c->req, "limit");
	if (l) {
		char *end = NULL;
		errno = 0;
		long v = strtol(l, &end, 10);
		if (errno || !end || *end || end == l || v < 1 || v > 100)
			return rf_err_set(err, RF_EINVAL, "limit", "limit must be an integer from 1 to 100");
		page->limit = (int)v;
	}
	const char *sa = rf_req_query(c->req, "starting_after");
	if (sa) {
		if (!*sa || strlen(sa) > 100)
			return rf_err_set(err, RF_EINVAL, "starting_after", "starting_after must be an object id");
		page->starting_after = sa;
	}
	return RF_OK;
}

json_t *rf_json_list(json_t *data, bool has_more)
{
	return json_pack("{s:s, s:o, s:b}", "object", "list", "data", data, "has_more", has_more);
}
