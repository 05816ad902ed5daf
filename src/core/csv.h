/* SPDX-License-Identifier: Apache-2.0 */
/* CSV cells appended to a capped buffer (dbuf.h), for every export refd writes. */
#ifndef RF_CSV_H
#define RF_CSV_H

#include <stdbool.h>

#include "dbuf.h"

/* Appends a CSV cell to b: always quoted, and a text starting with = + - @ (or tab, CR) made inert for
 * spreadsheets with a leading quote. last ends the row. A failure sticks in b (see dbuf.h). */
void rf_csv_cell(rf_dbuf *b, const char *s, bool last);
/* Appends a number (digits, an optional leading minus and a decimal point; never text from outside) as is. */
void rf_csv_number(rf_dbuf *b, const char *digits, bool last);

#endif
