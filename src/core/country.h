/* SPDX-License-Identifier: Apache-2.0 */
/* Country codes: ISO 3166-1 alpha-2. */
#ifndef RF_COUNTRY_H
#define RF_COUNTRY_H

#include <stdbool.h>

/* True for an assigned upper-case ISO 3166-1 alpha-2 code such as "US" or "DE". */
bool rf_country_valid(const char *code);

#endif
