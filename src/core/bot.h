/* SPDX-License-Identifier: Apache-2.0 */
/* Telling crawlers, link previewers, monitors and scripts from people by their User-Agent header. */
#ifndef RF_BOT_H
#define RF_BOT_H

#include <stdbool.h>

/* Only this many leading bytes of a User-Agent are examined, which bounds the work per request. */
#define RF_UA_SCAN_MAX 1024

/* True when ua is NULL, empty or blank, or names a known crawler, link previewer, uptime monitor or HTTP library
 * (letter case ignored); false for browsers, including HeadlessChrome. Owns nothing and cannot fail. */
bool rf_ua_is_bot(const char *ua);

#endif
