/* SPDX-License-Identifier: Apache-2.0 */
/* IP prefixes for geography and fraud checks, so that raw client addresses are never stored; and which addresses an
 * outgoing request must not reach. */
#include "ip.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Turns snprintf's result into a status, leaving "" rather than a cut-off prefix. */
static rf_status fitted(int w, char *out, size_t len)
{
	if (w < 0 || (size_t)w >= len) {
		out[0] = '\0';
		return RF_EINVAL;
	}
	return RF_OK;
}

static rf_status v4_prefix(const unsigned char *b, char *out, size_t len)
{
	return fitted(snprintf(out, len, "%u.%u.%u.0/24", b[0], b[1], b[2]), out, len);
}

rf_status rf_ip_prefix(const char *ip, char *out, size_t len)
{
	if (!out || len == 0)
		return RF_EINVAL;
	out[0] = '\0';
	if (!ip)
		return RF_EINVAL;
	char buf[INET6_ADDRSTRLEN];
	size_t n = strnlen(ip, sizeof buf);
	if (n == 0 || n >= sizeof buf)
		return RF_EINVAL;
	memcpy(buf, ip, n);
	buf[n] = '\0';

	unsigned char b[16];
	if (inet_pton(AF_INET, buf, b) == 1)
		return v4_prefix(b, out, len);
	if (inet_pton(AF_INET6, buf, b) != 1)
		return RF_EINVAL;
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	if (memcmp(b, mapped, sizeof mapped) == 0)
		return v4_prefix(b + 12, out, len);
	memset(b + 6, 0, 10);
	char txt[INET6_ADDRSTRLEN];
	if (!inet_ntop(AF_INET6, b, txt, sizeof txt))
		return RF_EINVAL;
	return fitted(snprintf(out, len, "%s/48", txt), out, len);
}

/* An IPv4 block: the address's first `bits` bits equal those of net. */
typedef struct {
	uint32_t net;
	int bits;
	const char *why;
} v4_block;

static const v4_block v4_refused[] = {
    {0x00000000u, 8, "an address of \"this network\" (0.0.0.0/8)"},
    {0x0a000000u, 8, "a private address (RFC 1918)"},
    {0x64400000u, 10, "a shared address (100.64.0.0/10, carrier-grade NAT)"},
    {0x7f000000u, 8, "a loopback address"},
    {0xa9fe0000u, 16, "a link-local address (169.254.0.0/16, cloud metadata among them)"},
    {0xac100000u, 12, "a private address (RFC 1918)"},
    {0xc0000000u, 24, "an IETF protocol assignment (192.0.0.0/24)"},
    {0xc0000200u, 24, "a documentation address (192.0.2.0/24)"},
    {0xc0a80000u, 16, "a private address (RFC 1918)"},
    {0xc6120000u, 15, "a benchmarking address (198.18.0.0/15)"},
    {0xc6336400u, 24, "a documentation address (198.51.100.0/24)"},
    {0xcb007100u, 24, "a documentation address (203.0.113.0/24)"},
    {0xe0000000u, 4, "a multicast address"},
    {0xf0000000u, 4, "a reserved address (240.0.0.0/4, broadcast among them)"},
};

static const char *v4_refused_why(const unsigned char b[4])
{
	uint32_t a = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
	for (size_t i = 0; i < sizeof v4_refused / sizeof v4_refused[0]; i++) {
		uint32_t mask = v4_refused[i].bits ? ~0u << (32 - v4_refused[i].bits) : 0;
		if ((a & mask) == v4_refused[i].net)
			return v4_refused[i].why;
	}
	return NULL;
}

/* True when the first bits of a equal those of prefix. */
static bool v6_in(const unsigned char a[16], const unsigned char *prefix, int bits)
{
	int whole = bits / 8, rest = bits % 8;
	if (memcmp(a, prefix, (size_t)whole) != 0)
		return false;
	if (!rest)
		return true;
	unsigned char mask = (unsigned char)(0xff << (8 - rest));
	return (a[whole] & mask) == (prefix[whole] & mask);
}

static const char *v6_refused_why(const unsigned char a[16])
{
	static const unsigned char zero[16] = {0};
	static const unsigned char loopback[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	static const unsigned char nat64[12] = {0, 0x64, 0xff, 0x9b};
	static const unsigned char sixto4[2] = {0x20, 0x02};
	static const unsigned char discard[8] = {0x01, 0x00};
	static const unsigned char doc[4] = {0x20, 0x01, 0x0d, 0xb8};
	static const unsigned char ula[1] = {0xfc}, linklocal[2] = {0xfe, 0x80}, sitelocal[2] = {0xfe, 0xc0};
	if (memcmp(a, zero, 16) == 0)
		return "the unspecified address";
	if (memcmp(a, loopback, 16) == 0)
		return "a loopback address";
	/* An IPv4 address inside an IPv6 one reaches the IPv4 host: judged as that. */
	if (memcmp(a, mapped, 12) == 0 || memcmp(a, zero, 12) == 0 || memcmp(a, nat64, 12) == 0)
		return v4_refused_why(a + 12);
	if (memcmp(a, sixto4, 2) == 0)
		return v4_refused_why(a + 2);
	if (a[0] == 0xff)
		return "a multicast address";
	if (v6_in(a, ula, 7))
		return "a unique-local address (fc00::/7)";
	if (v6_in(a, linklocal, 10))
		return "a link-local address (fe80::/10)";
	if (v6_in(a, sitelocal, 10))
		return "a site-local address (fec0::/10)";
	if (v6_in(a, doc, 32))
		return "a documentation address (2001:db8::/32)";
	if (v6_in(a, discard, 64))
		return "a discard-only address (100::/64)";
	return NULL;
}

const char *rf_ip_refused(const struct sockaddr *sa, size_t len)
{
	if (sa && sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		unsigned char b[4];
		memcpy(b, &in->sin_addr.s_addr, 4);
		return v4_refused_why(b);
	}
	if (sa && sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		return v6_refused_why(in6->sin6_addr.s6_addr);
	}
	return "not an IP address";
}
