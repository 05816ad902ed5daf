/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the classification of the addresses a webhook delivery may not connect to (loopback, private,
 * link-local, metadata, unique-local, multicast ...) and of those it may (public unicast), IPv4 inside IPv6
 * included; and for the truncated client prefixes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <string.h>

#include "../../src/core/ip.h"

/* rf_ip_refused for a textual address, as a socket address of its family. */
static const char *judge(const char *text)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof ss);
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, text, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons(443);
		return rf_ip_refused((struct sockaddr *)in, sizeof *in);
	}
	if (inet_pton(AF_INET6, text, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(443);
		return rf_ip_refused((struct sockaddr *)in6, sizeof *in6);
	}
	fail_msg("'%s' is not an address", text);
	return NULL;
}

static void refused(const char *text, const char *why)
{
	const char *got = judge(text);
	if (!got)
		fail_msg("%s was allowed, expected it refused as %s", text, why);
	if (!strstr(got, why))
		fail_msg("%s refused as '%s', expected '%s'", text, got, why);
}

static void allowed(const char *text)
{
	const char *got = judge(text);
	if (got)
		fail_msg("%s was refused as %s, expected it allowed", text, got);
}

static void ipv4_internal_addresses_are_refused(void **state)
{
	(void)state;
	refused("127.0.0.1", "loopback");
	refused("127.255.255.254", "loopback");
	refused("10.0.0.1", "private");
	refused("10.255.255.255", "private");
	refused("172.16.0.1", "private");
	refused("172.31.255.255", "private");
	refused("192.168.1.10", "private");
	refused("169.254.169.254", "link-local");
	refused("169.254.0.1", "link-local");
	refused("100.64.0.1", "shared");
	refused("100.127.255.255", "shared");
	refused("0.0.0.0", "this network");
	refused("0.1.2.3", "this network");
	refused("224.0.0.1", "multicast");
	refused("239.255.255.250", "multicast");
	refused("255.255.255.255", "reserved");
	refused("240.0.0.1", "reserved");
	refused("192.0.0.8", "IETF");
	refused("192.0.2.1", "documentation");
	refused("198.51.100.7", "documentation");
	refused("203.0.113.9", "documentation");
	refused("198.18.0.1", "benchmarking");
	refused("198.19.255.255", "benchmarking");
}

static void ipv4_public_addresses_are_allowed(void **state)
{
	(void)state;
	/* The neighbours of every refused block, just outside it. */
	allowed("1.1.1.1");
	allowed("8.8.8.8");
	allowed("9.255.255.255");
	allowed("11.0.0.0");
	allowed("172.15.255.255");
	allowed("172.32.0.0");
	allowed("192.167.255.255");
	allowed("192.169.0.0");
	allowed("169.253.255.255");
	allowed("169.255.0.0");
	allowed("100.63.255.255");
	allowed("100.128.0.0");
	allowed("126.255.255.255");
	allowed("128.0.0.0");
	allowed("223.255.255.255");
	allowed("198.17.255.255");
	allowed("198.20.0.0");
	allowed("192.0.1.1");
	allowed("203.0.114.1");
}

static void ipv6_internal_addresses_are_refused(void **state)
{
	(void)state;
	refused("::1", "loopback");
	refused("::", "unspecified");
	refused("fe80::1", "link-local");
	refused("febf:ffff::1", "link-local");
	refused("fec0::1", "site-local");
	refused("fc00::1", "unique-local");
	refused("fd12:3456:789a::1", "unique-local");
	refused("ff02::1", "multicast");
	refused("ff05::fb", "multicast");
	refused("2001:db8::1", "documentation");
	refused("100::1", "discard");
	/* IPv4 inside IPv6 is judged as the IPv4 address it reaches. */
	refused("::ffff:127.0.0.1", "loopback");
	refused("::ffff:169.254.169.254", "link-local");
	refused("::ffff:10.1.2.3", "private");
	refused("::127.0.0.1", "loopback");
	refused("64:ff9b::192.168.0.1", "private");
	refused("2002:c0a8:0101::1", "private"); /* 6to4 of 192.168.1.1 */
	refused("2002:7f00:0001::1", "loopback");
}

static void ipv6_public_addresses_are_allowed(void **state)
{
	(void)state;
	allowed("2606:4700:4700::1111");
	allowed("2001:4860:4860::8888");
	allowed("2a00:1450:4001:80b::200e");
	allowed("::ffff:1.1.1.1");
	allowed("64:ff9b::808:808");
	allowed("2002:0808:0808::1");
	allowed("fbff:ffff::1"); /* just below fc00::/7 */
	allowed("fe00::1");      /* between fc00::/7 and fe80::/10 */
	allowed("2001:db9::1");
	allowed("100:0:0:1::1"); /* past 100::/64 */
}

static void other_families_are_refused(void **state)
{
	(void)state;
	struct sockaddr sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_family = AF_UNIX;
	assert_non_null(rf_ip_refused(&sa, sizeof sa));
	assert_non_null(rf_ip_refused(NULL, 0));
	/* A socket address too short for its family. */
	struct sockaddr_in in;
	memset(&in, 0, sizeof in);
	in.sin_family = AF_INET;
	assert_non_null(rf_ip_refused((struct sockaddr *)&in, 4));
}

static void client_prefixes_are_truncated(void **state)
{
	(void)state;
	char out[RF_IP_PREFIX_MAX];
	assert_int_equal(rf_ip_prefix("203.0.113.77", out, sizeof out), RF_OK);
	assert_string_equal(out, "203.0.113.0/24");
	assert_int_equal(rf_ip_prefix("::ffff:1.2.3.4", out, sizeof out), RF_OK);
	assert_string_equal(out, "1.2.3.0/24");
	assert_int_equal(rf_ip_prefix("2001:db8:85a3:1:2:3:4:5", out, sizeof out), RF_OK);
	assert_string_equal(out, "2001:db8:85a3::/48");
	assert_int_equal(rf_ip_prefix("nonsense", out, sizeof out), RF_EINVAL);
	assert_string_equal(out, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(ipv4_internal_addresses_are_refused), cmocka_unit_test(ipv4_public_addresses_are_allowed),
	    cmocka_unit_test(ipv6_internal_addresses_are_refused), cmocka_unit_test(ipv6_public_addresses_are_allowed),
	    cmocka_unit_test(other_families_are_refused),          cmocka_unit_test(client_prefixes_are_truncated),
	};
	return cmocka_run_group_tests_name("ip", tests, NULL, NULL);
}
