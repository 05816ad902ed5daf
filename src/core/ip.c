/* SPDX-License-Identifier: Apache-2.0 */
/* IP prefixes for geography and fraud checks, so that raw client addresses are never stored. */
#include "ip.h"

#include <arpa/inet.h>
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
