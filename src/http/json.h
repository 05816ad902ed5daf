/* SPDX-License-Identifier: Apache-2.0 */
/* JSON responses, DESIGN.md's error body, and strict validation of request bodies (unknown fields, types, sizes). */
#ifndef RF_JSON_H
#define RF_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "../core/json.h"
#include "../core/money.h"
#include "router.h"

/* Sends obj (which this call takes ownership of) with status. */
void rf_json_send(rf_ctx *c, int status, json_t *obj);

/* Sends {"error":{"type","message","field"}} for err, with the status its code maps to. */
void rf_json_error(rf_ctx *c, const rf_err *err);

/* Builds err from the arguments and sends it. */
void rf_json_fail(rf_ctx *c, rf_status status, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

typedef enum {
	RF_JT_STRING, /* clean UTF-8 text up to max bytes */
	RF_JT_INT,    /* integer */
	RF_JT_BOOL,
	RF_JT_OBJECT,  /* any object up to max bytes when serialised (metadata) */
	RF_JT_MONEY,   /* {"amount": int, "currency": "usd"} */
	RF_JT_STRINGS, /* array of up to max strings of at most 64 bytes */
	RF_JT_FIELDS   /* object whose members are checked by sub */
} rf_json_type;

typedef struct rf_jfield {
	const char *name;
	rf_json_type type;
	bool nullable;
	size_t max;
	const struct rf_jfield *sub; /* for RF_JT_FIELDS, ended by a NULL name */
} rf_jfield;

/* Parses the request body as one JSON object and checks it against fields (ended by a NULL name): every member
 * must be listed, of its type and within its size. On failure it fills err with the field and returns non-OK.
 * *out is a new reference on success. */
rf_status rf_json_body(rf_ctx *c, const rf_jfield *fields, json_t **out, rf_err *err);

/* Like rf_json_body, also accepting a text/plain body (browsers send that cross-origin without a preflight). */
rf_status rf_json_body_typed(rf_ctx *c, const rf_jfield *fields, bool text_plain, json_t **out, rf_err *err);

/* Checks obj against fields; prefix names the parent for nested fields ("tax_profile."). */
rf_status rf_json_check(json_t *obj, const rf_jfield *fields, const char *prefix, rf_err *err);

/* Member accessors that return NULL / the default when the member is absent or null. */
const char *rf_json_str(json_t *obj, const char *name);
bool rf_json_has(json_t *obj, const char *name); /* present, even if null */

/* Reads a money member that rf_json_check accepted: sets *m, checks the currency and that the amount is
 * between min and max; RF_EINVAL naming the field otherwise. */
rf_status rf_json_money(json_t *obj, const char *name, int64_t min, int64_t max, rf_money *m, rf_err *err);

/* Reads limit (1..100, default 20) and starting_after from the query; sends nothing. */
rf_status rf_json_page(rf_ctx *c, rf_page *page, rf_err *err);

/* {"object":"list","data":data,"has_more":has_more}; takes ownership of data. */
json_t *rf_json_list(json_t *data, bool has_more);

#endif
