/* SPDX-License-Identifier: Apache-2.0 */
/* The way refd writes values in JSON. */
#include "json.h"

#include "clock.h"

json_t *rf_json_nullable(const char *s)
{
	return s ? json_string(s) : json_null();
}

json_t *rf_json_code(const char *code)
{
	char lower[4] = {0};
	for (int i = 0; i < 3 && code[i]; i++)
		lower[i] = (char)(code[i] | 0x20);
	return json_string(lower);
}

json_t *rf_json_money_new(int64_t amount, const char *currency)
{
	return json_pack("{s:I, s:o}", "amount", (json_int_t)amount, "currency", rf_json_code(currency));
}

json_t *rf_json_time(int64_t ms)
{
	if (ms == 0)
		return json_null();
	char buf[40];
	rf_clock_format(ms, buf, sizeof buf);
	return json_string(buf);
}
