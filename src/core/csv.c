/* SPDX-License-Identifier: Apache-2.0 */
/* Writing CSV for the exports: every cell quoted, and cells spreadsheets would run as formulas made inert. */
#include "csv.h"

#include <string.h>

void rf_csv_cell(rf_dbuf *b, const char *s, bool last)
{
	const char *v = s ? s : "";
	size_t n = strlen(v);
	/* Every byte doubled at worst (quotes), the guard quote, the two around it and the separator. */
	if (n > b->max) {
		rf_dbuf_reserve(b, (size_t)-1 / 2); /* fails the buffer: the cell alone is over any cap */
		return;
	}
	char *start = rf_dbuf_reserve(b, n * 2 + 4);
	if (!start)
		return;
	char *o = start;
	*o++ = '"';
	if (strchr("=+-@\t\r", v[0]) && v[0])
		*o++ = '\'';
	for (; *v; v++) {
		if (*v == '"')
			*o++ = '"';
		*o++ = *v;
	}
	*o++ = '"';
	*o++ = last ? '\n' : ',';
	rf_dbuf_commit(b, (size_t)(o - start));
}

void rf_csv_number(rf_dbuf *b, const char *digits, bool last)
{
	rf_dbuf_adds(b, digits);
	rf_dbuf_add(b, last ? "\n" : ",", 1);
}
