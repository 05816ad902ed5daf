/* SPDX-License-Identifier: Apache-2.0 */
/* Checking link destination URLs against open-redirect tricks, and reading and writing their query strings. */
#ifndef RF_URL_H
#define RF_URL_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "status.h"

/* Longest destination URL refd accepts, in bytes. */
#define RF_URL_MAX 2048

/* A host buffer of this size always holds what rf_url_check writes (253 bytes of DNS name and a NUL). */
#define RF_URL_HOST_MAX 254

/* Checks that url is an absolute http:// or https:// URL that every browser reads the same way: at most
 * RF_URL_MAX bytes of printable ASCII (no white space, control characters, backslashes or raw non-ASCII bytes),
 * no user name or password, a host that is a DNS name, an IPv4 literal or a bracketed IPv6 literal, and an
 * optional port from 1 to 65535. On success, when host is not NULL, writes the lower-cased host without brackets,
 * port or trailing dot into host (the caller's buffer of host_len bytes; RF_URL_HOST_MAX always suffices). On
 * failure returns RF_EINVAL with a message in err (field left empty for the caller to name) and, when host is
 * not NULL, leaves "" in it. */
rf_status rf_url_check(const char *url, char *host, size_t host_len, rf_err *err);

/* Checks that name can restrict where links go (an entry of a program's allowed_domains): a DNS name of at least
 * two labels whose last one is a top-level domain's (two or more letters, or xn-- and a punycode name), such as
 * example.com, or an IPv4 address in dotted-quad form, which rf_url_host_allowed matches exactly. Letter case is
 * not judged. Refused: a single label (localhost, or what a script's null or undefined becomes), a last label with
 * digits (a number other than a dotted quad), IPv6 addresses, and anything besides letters, digits, '-' and '.'
 * (a scheme, port, path, user or trailing dot). On failure returns RF_EINVAL with a message in err (field left
 * empty for the caller to name). Owns nothing. */
rf_status rf_url_check_domain(const char *name, rf_err *err);

/* True when host equals one of the n domains or is a subdomain of one, ignoring letter case and a trailing dot
 * ("example.com" allows "www.example.com" but not "badexample.com"); IP literals must match exactly. n == 0 means
 * no restriction and gives true; otherwise a NULL or empty host gives false. Owns nothing. */
bool rf_url_host_allowed(const char *host, const char *const *domains, size_t n);

/* Returns url with name=value in its query (value percent-encoded, name used as given), before any #fragment;
 * an existing parameter of that name gets the new value in place and later duplicates are dropped, as are empty
 * query pieces. The result is a new string owned by the arena. NULL when out of memory or when an argument is
 * NULL or name is empty. */
char *rf_url_add_param(rf_arena *a, const char *url, const char *name, const char *value);

/* Percent-encodes every byte of s outside the RFC 3986 unreserved set (A-Z a-z 0-9 - . _ ~) with upper-case hex.
 * The result is owned by the arena; NULL when out of memory or s is NULL. */
char *rf_url_encode(rf_arena *a, const char *s);

/* The decoded value ('+' is a space) of the first query parameter called name in an absolute or relative URL
 * (a parameter without '=' has the value ""); parameter names are compared after decoding. The result is owned by
 * the arena. NULL when the parameter is absent, its value has a malformed %-escape or an encoded NUL, an argument
 * is NULL, or memory runs out. */
const char *rf_url_query_get(rf_arena *a, const char *url, const char *name);

/* Percent-decodes s[0..n) leniently, as a server reads a request target: %XX becomes its byte, a '%' not followed by
 * two hex digits stays as it is, and '+' becomes a space when plus is set (query components, not paths). *len (when
 * not NULL) gets the decoded length, which tells an encoded NUL apart from the end. The result is NUL-terminated
 * and owned by the arena; NULL when out of memory. */
char *rf_url_decode(rf_arena *a, const char *s, size_t n, bool plus, size_t *len);

#endif
