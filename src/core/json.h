/* SPDX-License-Identifier: Apache-2.0 */
/* How values are written in refd's JSON, whoever writes it (the API's answers, events, webhooks): money, currency
 * codes, times, optional strings. */
#ifndef RF_CORE_JSON_H
#define RF_CORE_JSON_H

#include <jansson.h>
#include <stdint.h>

/* A JSON string, or null for NULL. */
json_t *rf_json_nullable(const char *s);

/* A currency code as the API writes it: lower case ("usd"). */
json_t *rf_json_code(const char *code);

/* {"amount":…, "currency":"usd"} */
json_t *rf_json_money_new(int64_t amount, const char *currency);

/* RFC 3339 string for unix ms, or JSON null for 0. */
json_t *rf_json_time(int64_t ms);

#endif
