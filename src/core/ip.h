/* SPDX-License-Identifier: Apache-2.0 */
/* Truncation of client IP addresses to the network prefix refd keeps instead of the raw address. */
#ifndef RF_IP_H
#define RF_IP_H

#include <stddef.h>

#include "status.h"

/* An out buffer of this size always holds what rf_ip_prefix writes. */
#define RF_IP_PREFIX_MAX 50

/* Writes the network prefix of a textual IP address into the caller's out: "a.b.c.0/24" for IPv4 (and for
 * IPv4-mapped IPv6 such as "::ffff:1.2.3.4"), the first 48 bits for IPv6 ("2001:db8:85a3::/48"). RF_EINVAL, with
 * "" in out (when len > 0), for anything that is not an address or an out too small (RF_IP_PREFIX_MAX suffices). */
rf_status rf_ip_prefix(const char *ip, char *out, size_t len);

#endif
