/* SPDX-License-Identifier: Apache-2.0 */
/* Exact money: integer minor units with an ISO 4217 currency, half-even rounding, overflow-checked arithmetic. */
#ifndef RF_MONEY_H
#define RF_MONEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "status.h"

/* The largest single amount refd takes from outside, in minor units, on every path (the API, Stripe, imports):
 * (2^63 - 1) / 4, which leaves room for the arithmetic on one amount (a sale plus its refunds, a commission at a
 * rate up to 100 %, flat amounts added to it) without overflow. Sums of many amounts are checked where they are
 * kept. The OpenAPI document's MoneyInput maximum is this number. */
#define RF_MONEY_MAX (INT64_MAX / 4)

typedef struct {
	int64_t amount;   /* minor units: cents for USD, yen for JPY, fils for BHD */
	char currency[4]; /* upper-case ISO 4217 code, NUL-terminated */
} rf_money;

/* Looks up an ISO 4217 code in any letter case; on success copies the upper-case code to out (4 bytes)
 * and returns its minor-unit exponent (0..4). Returns -1 for an unknown or malformed code. */
int rf_currency_lookup(const char *code, char out[4]);

/* Number of currencies in the table (for tests and listings). */
size_t rf_currency_count(void);

/* The i-th currency of the table, in code order: copies its upper-case code to out (4 bytes) and returns its
 * exponent; returns -1 and leaves out alone when i is not below rf_currency_count(). */
int rf_currency_at(size_t i, char out[4]);

/* amount * num / den rounded half-even, exactly; RF_EOVERFLOW if the result does not fit, RF_EINVAL if den <= 0. */
rf_status rf_money_mul_ratio(int64_t amount, int64_t num, int64_t den, int64_t *out);

/* num / den rounded half-even to four decimals, for ratios in reports (conversion rates, revenue per unit of
 * commission): exact for every int64 num and positive den whose quotient times 10,000 fits in 64 bits, else (a
 * quotient beyond 9.2e14, where four decimals are below a double's precision) the double nearest num / den. Never
 * overflows; 0 when den <= 0. */
double rf_ratio4(int64_t num, int64_t den);

/* a + b; RF_EOVERFLOW if it does not fit. */
rf_status rf_money_add(int64_t a, int64_t b, int64_t *out);

/* Writes amount as a plain decimal with the currency's exponent (e.g. 4900, 2 -> "49.00"; -5, 2 -> "-0.05").
 * Returns the length written, or -1 if buf is too small. */
int rf_money_format(int64_t amount, int exponent, char *buf, size_t len);

/* Writes amount as a plain decimal with the exponent of the currency named by code ("49.00" for 4900 USD, "5000"
 * for 5000 JPY); an unknown code writes the minor units as they are. Returns the length, or -1 if buf is too small. */
int rf_money_format_code(int64_t amount, const char *code, char *buf, size_t len);

/* The amount as a plain decimal in its currency's exponent ("49.00"), in the arena (NULL when out of memory). */
char *rf_money_decimal(rf_arena *a, int64_t amount, const char *code);

/* Parses a plain decimal ("49", "49.5", "-0.05") into minor units for exponent; refuses more decimals than the
 * exponent allows (no silent rounding), signs other than a leading '-', and overflow. */
rf_status rf_money_parse(const char *s, int exponent, int64_t *out);

#endif
