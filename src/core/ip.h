/* SPDX-License-Identifier: Apache-2.0 */
/* Truncation of client IP addresses to the network prefix refd keeps instead of the raw address, and the
 * classification of addresses an outgoing request must not reach (webhooks: server-side request forgery). */
#ifndef RF_IP_H
#define RF_IP_H

#include <stddef.h>
#include <sys/socket.h>

#include "status.h"

/* An out buffer of this size always holds what rf_ip_prefix writes. */
#define RF_IP_PREFIX_MAX 50

/* Writes the network prefix of a textual IP address into the caller's out: "a.b.c.0/24" for IPv4 (and for
 * IPv4-mapped IPv6 such as "::ffff:1.2.3.4"), the first 48 bits for IPv6 ("2001:db8:85a3::/48"). RF_EINVAL, with
 * "" in out (when len > 0), for anything that is not an address or an out too small (RF_IP_PREFIX_MAX suffices). */
rf_status rf_ip_prefix(const char *ip, char *out, size_t len);

/* Why an outgoing request (a webhook delivery) may not connect to the address sa of len bytes, in words for an
 * error message ("a loopback address", "a private address (RFC 1918)", "a link-local address", ...), or NULL when
 * it is a public unicast address. Refused: loopback, unspecified, private (10/8, 172.16/12, 192.168/16), shared
 * (100.64/10, carrier-grade NAT), link-local (169.254/16, the cloud metadata address 169.254.169.254 among them;
 * fe80::/10), unique-local (fc00::/7), site-local (fec0::/10), multicast, broadcast and reserved (240/4), the
 * "this network" block (0/8), IETF protocol assignments (192.0.0/24), benchmarking (198.18/15), documentation
 * (192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32) and discard-only (100::/64) addresses; an IPv6
 * address that carries an IPv4 one (mapped ::ffff:0:0/96, compatible ::/96, NAT64 64:ff9b::/96, 6to4 2002::/16)
 * is judged by the IPv4 address it carries. Any family but AF_INET and AF_INET6 is refused. Owns nothing. */
const char *rf_ip_refused(const struct sockaddr *sa, size_t len);

#endif
