/* SPDX-License-Identifier: Apache-2.0 */
/* The ISO 4217 currency table and the exact integer arithmetic used for every amount of money. */
#include "money.h"

#include <stdio.h>
#include <string.h>

typedef struct {
	char code[4];
	unsigned char exponent;
} currency;

/* Active ISO 4217 codes with their minor units (list one, 2024 revision, plus ZWG and XCG). Codes without minor
 * units (precious metals, testing codes) are left out because no amount of money can be paid in them. */
static const currency currencies[] = {
    {"AED", 2}, {"AFN", 2}, {"ALL", 2}, {"AMD", 2}, {"ANG", 2}, {"AOA", 2}, {"ARS", 2}, {"AUD", 2}, {"AWG", 2},
    {"AZN", 2}, {"BAM", 2}, {"BBD", 2}, {"BDT", 2}, {"BGN", 2}, {"BHD", 3}, {"BIF", 0}, {"BMD", 2}, {"BND", 2},
    {"BOB", 2}, {"BOV", 2}, {"BRL", 2}, {"BSD", 2}, {"BTN", 2}, {"BWP", 2}, {"BYN", 2}, {"BZD", 2}, {"CAD", 2},
    {"CDF", 2}, {"CHE", 2}, {"CHF", 2}, {"CHW", 2}, {"CLF", 4}, {"CLP", 0}, {"CNY", 2}, {"COP", 2}, {"COU", 2},
    {"CRC", 2}, {"CUP", 2}, {"CVE", 2}, {"CZK", 2}, {"DJF", 0}, {"DKK", 2}, {"DOP", 2}, {"DZD", 2}, {"EGP", 2},
    {"ERN", 2}, {"ETB", 2}, {"EUR", 2}, {"FJD", 2}, {"FKP", 2}, {"GBP", 2}, {"GEL", 2}, {"GHS", 2}, {"GIP", 2},
    {"GMD", 2}, {"GNF", 0}, {"GTQ", 2}, {"GYD", 2}, {"HKD", 2}, {"HNL", 2}, {"HTG", 2}, {"HUF", 2}, {"IDR", 2},
    {"ILS", 2}, {"INR", 2}, {"IQD", 3}, {"IRR", 2}, {"ISK", 0}, {"JMD", 2}, {"JOD", 3}, {"JPY", 0}, {"KES", 2},
    {"KGS", 2}, {"KHR", 2}, {"KMF", 0}, {"KPW", 2}, {"KRW", 0}, {"KWD", 3}, {"KYD", 2}, {"KZT", 2}, {"LAK", 2},
    {"LBP", 2}, {"LKR", 2}, {"LRD", 2}, {"LSL", 2}, {"LYD", 3}, {"MAD", 2}, {"MDL", 2}, {"MGA", 2}, {"MKD", 2},
    {"MMK", 2}, {"MNT", 2}, {"MOP", 2}, {"MRU", 2}, {"MUR", 2}, {"MVR", 2}, {"MWK", 2}, {"MXN", 2}, {"MXV", 2},
    {"MYR", 2}, {"MZN", 2}, {"NAD", 2}, {"NGN", 2}, {"NIO", 2}, {"NOK", 2}, {"NPR", 2}, {"NZD", 2}, {"OMR", 3},
    {"PAB", 2}, {"PEN", 2}, {"PGK", 2}, {"PHP", 2}, {"PKR", 2}, {"PLN", 2}, {"PYG", 0}, {"QAR", 2}, {"RON", 2},
    {"RSD", 2}, {"RUB", 2}, {"RWF", 0}, {"SAR", 2}, {"SBD", 2}, {"SCR", 2}, {"SDG", 2}, {"SEK", 2}, {"SGD", 2},
    {"SHP", 2}, {"SLE", 2}, {"SOS", 2}, {"SRD", 2}, {"SSP", 2}, {"STN", 2}, {"SVC", 2}, {"SYP", 2}, {"SZL", 2},
    {"THB", 2}, {"TJS", 2}, {"TMT", 2}, {"TND", 3}, {"TOP", 2}, {"TRY", 2}, {"TTD", 2}, {"TWD", 2}, {"TZS", 2},
    {"UAH", 2}, {"UGX", 0}, {"USD", 2}, {"USN", 2}, {"UYI", 0}, {"UYU", 2}, {"UYW", 4}, {"UZS", 2}, {"VED", 2},
    {"VES", 2}, {"VND", 0}, {"VUV", 0}, {"WST", 2}, {"XAF", 0}, {"XCD", 2}, {"XCG", 2}, {"XOF", 0}, {"XPF", 0},
    {"YER", 2}, {"ZAR", 2}, {"ZMW", 2}, {"ZWG", 2},
};

size_t rf_currency_count(void)
{
	return sizeof currencies / sizeof currencies[0];
}

int rf_currency_at(size_t i, char out[4])
{
	if (i >= rf_currency_count())
		return -1;
	memcpy(out, currencies[i].code, 4);
	return currencies[i].exponent;
}

int rf_currency_lookup(const char *code, char out[4])
{
	if (!code || strlen(code) != 3)
		return -1;
	char up[4];
	for (int i = 0; i < 3; i++) {
		char c = code[i];
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (c < 'A' || c > 'Z')
			return -1;
		up[i] = c;
	}
	up[3] = '\0';
	size_t lo = 0, hi = rf_currency_count();
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(currencies[mid].code, up);
		if (c == 0) {
			if (out)
				memcpy(out, up, 4);
			return currencies[mid].exponent;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

rf_status rf_money_mul_ratio(int64_t amount, int64_t num, int64_t den, int64_t *out)
{
	if (den <= 0)
		return RF_EINVAL;
	__int128 p = (__int128)amount * num;
	__int128 q = p / den;
	__int128 r = p % den;
	if (r != 0) {
		/* Compare 2|r| with den to decide; a tie goes to the even quotient. */
		__int128 twice = (r < 0 ? -r : r) * 2;
		int away = twice > den || (twice == den && (q % 2 != 0));
		if (away)
			q += (p < 0) ? -1 : 1;
	}
	if (q > INT64_MAX || q < INT64_MIN)
		return RF_EOVERFLOW;
	*out = (int64_t)q;
	return RF_OK;
}

double rf_ratio4(int64_t num, int64_t den)
{
	int64_t q = 0;
	if (den <= 0)
		return 0;
	if (rf_money_mul_ratio(num, 10000, den, &q) == RF_OK)
		return (double)q / 10000.0;
	return (double)num / (double)den;
}

rf_status rf_money_add(int64_t a, int64_t b, int64_t *out)
{
	if (__builtin_add_overflow(a, b, out))
		return RF_EOVERFLOW;
	return RF_OK;
}

int rf_money_format(int64_t amount, int exponent, char *buf, size_t len)
{
	char digits[32];
	size_t nd = 0;
	/* Work on the magnitude as unsigned so INT64_MIN is formatted too. */
	uint64_t mag = amount < 0 ? (uint64_t)0 - (uint64_t)amount : (uint64_t)amount;
	do {
		digits[nd++] = (char)('0' + mag % 10);
		mag /= 10;
	} while (mag);
	while ((int)nd <= exponent)
		digits[nd++] = '0';
	size_t need = (amount < 0) + nd + (exponent > 0) + 1;
	if (need > len)
		return -1;
	size_t o = 0;
	if (amount < 0)
		buf[o++] = '-';
	for (size_t i = nd; i-- > 0;) {
		buf[o++] = digits[i];
		if (exponent > 0 && i == (size_t)exponent)
			buf[o++] = '.';
	}
	buf[o] = '\0';
	return (int)o;
}

rf_status rf_money_parse(const char *s, int exponent, int64_t *out)
{
	if (!s || !*s)
		return RF_EINVAL;
	int neg = 0;
	if (*s == '-') {
		neg = 1;
		s++;
	}
	int64_t v = 0;
	int seen_digit = 0, decimals = -1;
	for (; *s; s++) {
		if (*s == '.') {
			if (decimals >= 0 || !seen_digit)
				return RF_EINVAL;
			decimals = 0;
			continue;
		}
		if (*s < '0' || *s > '9')
			return RF_EINVAL;
		if (decimals >= 0 && ++decimals > exponent)
			return RF_EINVAL;
		if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, *s - '0', &v))
			return RF_EOVERFLOW;
		seen_digit = 1;
	}
	if (!seen_digit || decimals == 0)
		return RF_EINVAL;
	for (int d = decimals < 0 ? 0 : decimals; d < exponent; d++)
		if (__builtin_mul_overflow(v, 10, &v))
			return RF_EOVERFLOW;
	*out = neg ? -v : v;
	return RF_OK;
}

int rf_money_format_code(int64_t amount, const char *code, char *buf, size_t len)
{
	char upper[4];
	int e = rf_currency_lookup(code, upper);
	int n = e < 0 ? -1 : rf_money_format(amount, e, buf, len);
	return n >= 0 ? n : snprintf(buf, len, "%lld", (long long)amount);
}

char *rf_money_decimal(rf_arena *a, int64_t amount, const char *code)
{
	char num[40];
	rf_money_format_code(amount, code, num, sizeof num);
	return rf_arena_strdup(a, num);
}
