/* SPDX-License-Identifier: Apache-2.0 */
/* Small text rules shared by every layer: email normalisation, public ids, names of tracking parameters. */
#ifndef RF_TEXT_H
#define RF_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "status.h"

#define RF_EMAIL_MAX 254

/* Trims surrounding white space and lower-cases an email address into out (len >= RF_EMAIL_MAX + 1), then checks
 * its shape: one '@', a local part of 1..64 printable characters without spaces or quotes, and a domain of
 * dot-separated labels (letters, digits, hyphens; at least two labels). RF_EINVAL when it is not an address. */
rf_status rf_email_normalize(const char *in, char *out, size_t len);

/* The domain part of a normalised email (pointer into email), or NULL. */
const char *rf_email_domain(const char *email);

/* Length in bytes of an id's random part: 24 base62 characters carry about 143 bits. */
#define RF_ID_RANDOM_LEN 24

/* Writes "<prefix>_<24 random base62 characters>" into out; out must hold strlen(prefix) + 26 bytes. */
void rf_id_new(const char *prefix, char *out, size_t len);

/* Arena copy of a new id; NULL when out of memory. */
char *rf_id_new_arena(rf_arena *a, const char *prefix);

/* True when s looks like an id with the given prefix (prefix, '_', 1..64 characters of [A-Za-z0-9]). */
bool rf_id_valid(const char *s, const char *prefix);

/* Writes n random bytes as base64url without padding into out (len >= 4*n/3 + 2). */
void rf_random_token(size_t nbytes, char *out, size_t len);

/* True for a valid tracking parameter name: 1..32 of [a-z0-9_-]. */
bool rf_param_name_valid(const char *s);

/* True when s is valid UTF-8 without control characters other than tab (for names and free text). */
bool rf_text_clean(const char *s);

/* A copy of s in the arena of at most max bytes, cut only between characters, with every byte that is not part of
 * well-formed UTF-8 replaced by '?': for text from outside that is stored as it came (a browser's User-Agent, a
 * referrer), which a database holding UTF-8 text would otherwise refuse. NULL for NULL (or out of memory). */
char *rf_utf8_clip_arena(rf_arena *a, const char *s, size_t max);

/* Copies s without leading and trailing white space into the arena (NULL gives NULL). The result is "" for
 * text that is only white space, which callers refuse where a name is required. */
char *rf_trim_arena(rf_arena *a, const char *s);

/* Lower-cases ASCII letters of s into a new arena string. */
char *rf_lower_arena(rf_arena *a, const char *s);

/* Writes s as the inside of a JSON string (without the quotes) into buf, escaping quotes, backslashes and control
 * characters, cut short to fit len (at least 8); returns the length written. For hand-written JSON log lines. */
size_t rf_json_escape(char *buf, size_t len, const char *s);

/* A malloc'd buffer grown as needed: room for need more bytes past *len, or false (nothing changed) when memory
 * runs out, which the caller must handle. The HTTP layer's buffers use it, bounded by their own limits; anything
 * built from stored data uses the capped rf_dbuf (dbuf.h) instead. */
__attribute__((warn_unused_result)) bool rf_buf_room(char **buf, size_t *len, size_t *cap, size_t need);

#endif
