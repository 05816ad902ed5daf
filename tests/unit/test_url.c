/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for destination URL checks, allowed domains (their entries and their matching), percent-encoding and
 * query-string editing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "../../src/core/arena.h"
#include "../../src/core/url.h"

static void accept(const char *url, const char *want_host)
{
	char host[RF_URL_HOST_MAX];
	rf_err err = {0};
	if (rf_url_check(url, host, sizeof host, &err) != RF_OK)
		fail_msg("refused good URL '%s': %s", url, err.message);
	if (strcmp(host, want_host) != 0)
		fail_msg("host of '%s' is '%s', wanted '%s'", url, host, want_host);
}

static void refuse(const char *url, const char *why)
{
	char host[RF_URL_HOST_MAX];
	rf_err err = {0};
	memset(host, 'x', sizeof host);
	if (rf_url_check(url, host, sizeof host, &err) != RF_EINVAL)
		fail_msg("accepted bad URL '%s' (host '%.*s')", url, (int)sizeof host - 1, host);
	assert_int_equal(err.status, RF_EINVAL);
	assert_string_equal(err.field, "");
	assert_string_equal(host, "");
	if (!strstr(err.message, why))
		fail_msg("message for '%s' is '%s', expected it to mention '%s'", url, err.message, why);
}

static void accepts_plain_urls(void **state)
{
	(void)state;
	accept("https://example.com", "example.com");
	accept("http://example.com/", "example.com");
	accept("HTTPS://WWW.Example.COM/Path?Q=1#Frag", "www.example.com");
	accept("HtTp://shop.example.co.uk/a/b/c.html", "shop.example.co.uk");
	accept("https://example.com:8443/x", "example.com");
	accept("https://example.com:1", "example.com");
	accept("https://example.com:65535/", "example.com");
	accept("https://example.com./landing", "example.com");
	accept("https://a-b.c-d.example/x", "a-b.c-d.example");
	accept("https://xn--bcher-kva.example/", "xn--bcher-kva.example");
	accept("https://example.com?utm_source=refd&x=%20y", "example.com");
	accept("https://example.com#section", "example.com");
	accept("https://example.com/path@with-at/?email=a@b.com#x@y", "example.com");
	accept("https://localhost:8080/", "localhost");
	accept("https://x.io/p?a=%E6%97%A5", "x.io");
}

static void accepts_ip_literals(void **state)
{
	(void)state;
	accept("http://203.0.113.7/", "203.0.113.7");
	accept("http://203.0.113.7:8080/x", "203.0.113.7");
	accept("https://[2001:db8::1]/", "2001:db8::1");
	accept("https://[2001:DB8::1]:8443/x", "2001:db8::1");
	accept("http://[::ffff:192.0.2.1]", "::ffff:192.0.2.1");
	accept("http://[::1]?q", "::1");
}

static void refuses_wrong_schemes(void **state)
{
	(void)state;
	refuse("javascript:alert(1)", "http:// or https://");
	refuse("JavaScript://example.com/%0aalert(1)", "http:// or https://");
	refuse("data:text/html,<script>alert(1)</script>", "http:// or https://");
	refuse("ftp://example.com/", "http:// or https://");
	refuse("/relative/path", "http:// or https://");
	refuse("relative.html", "http:// or https://");
	refuse("example.com", "http:// or https://");
	refuse("//evil.com", "http:// or https://");
	refuse("https:evil.com", "http:// or https://");
	refuse("https:/evil.com", "http:// or https://");
	refuse("httpx://evil.com", "http:// or https://");
	refuse("", "required");
	refuse(NULL, "required");
}

static void refuses_open_redirect_tricks(void **state)
{
	(void)state;
	refuse("https:///evil.com", "no host");
	refuse("https://", "no host");
	refuse("https://?x", "no host");
	refuse("https://.", "no host");
	refuse("https://:443/", "no host");
	refuse("https://evil.com\\@good.com", "backslash");
	refuse("https://good.com\\evil.com", "backslash");
	refuse("https://good.com/\\\\evil.com", "backslash");
	refuse("https://good.com@evil.com", "user name or password");
	refuse("https://user:pw@good.com/", "user name or password");
	refuse("https://@good.com/", "user name or password");
	refuse("http://evil.com%2F@good.com", "user name or password");
	refuse("https://good.com:443@evil.com", "user name or password");
	refuse("https://evil.com%2Egood.com/", "letters, digits");
	refuse("https://evil.com%00.good.com/", "letters, digits");
	refuse("https://good.com;evil.com/", "letters, digits");
	refuse("https://ex ample.com/", "white space");
	refuse("https://example.com/a b", "white space");
	refuse("https://exa\tmple.com/", "white space");
	refuse("https://example.com/\r\nSet-Cookie:x=1", "white space");
	refuse("https://example.com/x\n", "white space");
	refuse("https://example.com/\x7f", "control");
	refuse("https://example.com/\x01", "control");
	refuse("\thttps://example.com/", "white space");
	refuse("https://b\xc3\xbc"
	       "cher.example/",
	       "non-ASCII");
	refuse("https://example.com/caf\xc3\xa9", "non-ASCII");
	/* Browsers read these as IPv4 addresses in other notations, so refd would not know where they lead. */
	refuse("http://2130706433/", "IPv4");
	refuse("http://0x7f.0.0.1/", "IPv4");
	refuse("http://0177.0.0.1/", "IPv4");
	refuse("http://127.1/", "IPv4");
	refuse("http://1.2.3.256/", "IPv4");
	refuse("http://example.123/", "IPv4");
}

static void refuses_bad_hosts_and_ports(void **state)
{
	(void)state;
	refuse("https://-example.com/", "starts with '-'");
	refuse("https://example-.com/", "ends with '-'");
	refuse("https://exa_mple.com/", "letters, digits");
	refuse("https://example..com/", "empty label");
	refuse("https://.example.com/", "empty label");
	refuse("https://example.com../", "empty label");
	refuse("https://example.com:0/", "port");
	refuse("https://example.com:65536/", "port");
	refuse("https://example.com:/", "port");
	refuse("https://example.com:8o/", "port");
	refuse("https://example.com:-1/", "port");
	refuse("https://example.com:443:443/", "port");
	refuse("https://example.com:000443/", "port");
	refuse("https://[2001:db8::1/", "closing ']'");
	refuse("https://[2001:db8::g]/", "IPv6");
	refuse("https://[1.2.3.4]/", "IPv6");
	refuse("https://[fe80::1%25eth0]/", "IPv6");
	refuse("https://[::1]x/", "after the IPv6");
	refuse("https://[::1]:0/", "port");
	refuse("https://2001:db8::1/", "brackets");
	refuse("https://::1/", "brackets");

	char label[100];
	memcpy(label, "https://", 8);
	memset(label + 8, 'a', 64);
	memcpy(label + 72, ".com", 5);
	refuse(label, "longer than 63");
	memset(label + 8, 'a', 63);
	memcpy(label + 71, ".com", 5);
	char host[RF_URL_HOST_MAX];
	assert_int_equal(rf_url_check(label, host, sizeof host, NULL), RF_OK);
	assert_int_equal(strlen(host), 67);

	/* 4 labels of 63 characters and dots make 255 characters: over the 253 DNS limit. */
	char name[300];
	memcpy(name, "https://", 8);
	size_t o = 8;
	for (int i = 0; i < 4; i++) {
		memset(name + o, 'a' + i, 63);
		o += 63;
		name[o++] = '.';
	}
	name[o - 1] = '\0';
	refuse(name, "longer than 253");
	/* Exactly 253 characters is fine, and fills a host buffer of RF_URL_HOST_MAX bytes. */
	name[8 + 253] = '\0';
	assert_int_equal(rf_url_check(name, host, sizeof host, NULL), RF_OK);
	assert_int_equal(strlen(host), 253);
}

static void bounds_lengths_and_buffers(void **state)
{
	(void)state;
	char url[RF_URL_MAX + 2];
	memcpy(url, "https://example.com/", 20);
	memset(url + 20, 'a', RF_URL_MAX - 20);
	url[RF_URL_MAX] = '\0';
	char host[RF_URL_HOST_MAX];
	assert_int_equal(rf_url_check(url, host, sizeof host, NULL), RF_OK);
	url[RF_URL_MAX] = 'a';
	url[RF_URL_MAX + 1] = '\0';
	refuse(url, "longer than 2048");

	/* host may be NULL when only the verdict matters; a host buffer that is too small is an error. */
	assert_int_equal(rf_url_check("https://example.com/", NULL, 0, NULL), RF_OK);
	assert_int_equal(rf_url_check("https://evil.com@x/", NULL, 0, NULL), RF_EINVAL);
	char small[8];
	rf_err err = {0};
	assert_int_equal(rf_url_check("https://example.com/", small, sizeof small, &err), RF_EINVAL);
	assert_string_equal(small, "");
	assert_non_null(strstr(err.message, "does not fit"));
	char ten[10];
	assert_int_equal(rf_url_check("https://exampl.com/", ten, sizeof ten, NULL), RF_EINVAL);
	assert_string_equal(ten, "");
	char fits[11];
	assert_int_equal(rf_url_check("https://example.io/", fits, sizeof fits, NULL), RF_OK);
	assert_string_equal(fits, "example.io");
}

static void domain_ok(const char *name)
{
	rf_err err = {0};
	if (rf_url_check_domain(name, &err) != RF_OK)
		fail_msg("refused the domain '%s': %s", name, err.message);
}

static void domain_refused(const char *name, const char *why)
{
	rf_err err = {0};
	if (rf_url_check_domain(name, &err) != RF_EINVAL)
		fail_msg("accepted the domain '%s'", name ? name : "(null)");
	assert_string_equal(err.field, "");
	if (!strstr(err.message, why))
		fail_msg("message for '%s' is '%s', expected it to mention '%s'", name ? name : "(null)", err.message,
			 why);
}

static void checks_allowed_domains(void **state)
{
	(void)state;
	domain_ok("example.com");
	domain_ok("Shop.Example.COM");
	domain_ok("a.b.c.example.co.uk");
	domain_ok("shop.test");
	domain_ok("d0.example");
	domain_ok("xn--exmple-cua.com");
	domain_ok("example.xn--p1ai");
	domain_ok("203.0.113.7");
	domain_ok("0.0.0.0");
	/* What a script's null, undefined or NaN becomes, and other names of one label. */
	domain_refused("null", "single label");
	domain_refused("undefined", "single label");
	domain_refused("NaN", "single label");
	domain_refused("localhost", "single label");
	domain_refused("com", "single label");
	domain_refused("example.c", "not a top-level domain");
	domain_refused("example.c0m", "not a top-level domain");
	domain_refused("example.xn--", "ends with '-'");
	domain_refused("example.xn-", "ends with '-'");
	domain_refused("example.xn-a", "not a top-level domain");
	domain_refused("example.123", "not a valid IPv4 address");
	domain_refused("1.2.3", "not a valid IPv4 address");
	domain_refused("256.1.1.1", "not a valid IPv4 address");
	domain_refused("0x7f.0.0.1", "not a valid IPv4 address");
	domain_refused("2001:db8::1", "IPv6");
	domain_refused("example.com:443", "port");
	domain_refused("[2001:db8::1]", "IPv6");
	domain_refused("example.com.", "empty label");
	domain_refused(".example.com", "empty label");
	domain_refused("exa mple.com", "may only contain");
	domain_refused("user@example.com", "may only contain");
	domain_refused("example.com/path", "may only contain");
	domain_refused("-example.com", "starts with '-'");
	domain_refused("", "required");
	domain_refused(NULL, "required");
	char long_label[80];
	memset(long_label, 'a', 64);
	memcpy(long_label + 64, ".com", 5);
	domain_refused(long_label, "longer than 63");
	char long_name[300];
	for (size_t i = 0; i < 254; i += 2)
		memcpy(long_name + i, "a.", 2);
	memcpy(long_name + 254, "com", 4);
	domain_refused(long_name, "at most 253");
}

static void host_allowed(void **state)
{
	(void)state;
	const char *const allowed[] = {"good.com", "Shop.Example.org.", ".dot.io", "", NULL, "203.0.113.7"};
	size_t n = sizeof allowed / sizeof allowed[0];
	assert_true(rf_url_host_allowed("good.com", allowed, n));
	assert_true(rf_url_host_allowed("www.good.com", allowed, n));
	assert_true(rf_url_host_allowed("a.b.good.com", allowed, n));
	assert_true(rf_url_host_allowed("WWW.GOOD.COM", allowed, n));
	assert_true(rf_url_host_allowed("good.com.", allowed, n));
	assert_true(rf_url_host_allowed("shop.example.org", allowed, n));
	assert_true(rf_url_host_allowed("eu.shop.example.org", allowed, n));
	assert_true(rf_url_host_allowed("dot.io", allowed, n));
	assert_true(rf_url_host_allowed("203.0.113.7", allowed, n));
	assert_false(rf_url_host_allowed("badgood.com", allowed, n));
	assert_false(rf_url_host_allowed("good.com.evil.com", allowed, n));
	assert_false(rf_url_host_allowed("good.com.evil.io", allowed, n));
	assert_false(rf_url_host_allowed("evil.com", allowed, n));
	assert_false(rf_url_host_allowed("example.org", allowed, n));
	assert_false(rf_url_host_allowed("good.co", allowed, n));
	assert_false(rf_url_host_allowed("ood.com", allowed, n));
	assert_false(rf_url_host_allowed("", allowed, n));
	assert_false(rf_url_host_allowed(NULL, allowed, n));
	/* An empty entry in the list must not allow everything. */
	const char *const empty_only[] = {""};
	assert_false(rf_url_host_allowed("evil.com", empty_only, 1));
	/* IP literals match only exactly. */
	const char *const ips[] = {"3.4", "113.7"};
	assert_false(rf_url_host_allowed("1.2.3.4", ips, 2));
	assert_false(rf_url_host_allowed("203.0.113.7", ips, 2));
	const char *const v6[] = {"db8::1"};
	assert_false(rf_url_host_allowed("2001:db8::1", v6, 1));
	/* No list means no restriction. */
	assert_true(rf_url_host_allowed("anything.example", NULL, 0));
	assert_true(rf_url_host_allowed("anything.example", allowed, 0));

	/* The two steps together, as a caller uses them. */
	char host[RF_URL_HOST_MAX];
	const char *const good[] = {"good.com"};
	assert_int_equal(rf_url_check("https://good.com.evil.com/login", host, sizeof host, NULL), RF_OK);
	assert_false(rf_url_host_allowed(host, good, 1));
	assert_int_equal(rf_url_check("https://Sub.Good.COM./x", host, sizeof host, NULL), RF_OK);
	assert_true(rf_url_host_allowed(host, good, 1));
}

static void encodes(void **state)
{
	(void)state;
	rf_arena a;
	rf_arena_init(&a, 0);
	assert_string_equal(rf_url_encode(&a, ""), "");
	assert_string_equal(rf_url_encode(&a, "AZaz09-._~"), "AZaz09-._~");
	assert_string_equal(rf_url_encode(&a, "a b&c=d/e?f#g+h%"), "a%20b%26c%3Dd%2Fe%3Ff%23g%2Bh%25");
	assert_string_equal(rf_url_encode(&a, "\xe6\x97\xa5\x01\x7f\xff"), "%E6%97%A5%01%7F%FF");
	assert_null(rf_url_encode(&a, NULL));
	rf_arena_reset(&a);
}

static void adds_params(void **state)
{
	(void)state;
	rf_arena a;
	rf_arena_init(&a, 0);
	assert_string_equal(rf_url_add_param(&a, "https://x.io/p", "refd_click", "clk_1"),
			    "https://x.io/p?refd_click=clk_1");
	assert_string_equal(rf_url_add_param(&a, "https://x.io/p?a=1#top", "refd_click", "clk_1"),
			    "https://x.io/p?a=1&refd_click=clk_1#top");
	assert_string_equal(rf_url_add_param(&a, "https://x.io/p?", "refd_click", "clk_1"),
			    "https://x.io/p?refd_click=clk_1");
	assert_string_equal(rf_url_add_param(&a, "https://x.io", "refd_click", "clk_1"),
			    "https://x.io?refd_click=clk_1");
	assert_string_equal(rf_url_add_param(&a, "https://x.io/p#frag?not=query", "refd_click", "clk_1"),
			    "https://x.io/p?refd_click=clk_1#frag?not=query");
	assert_string_equal(rf_url_add_param(&a, "https://x.io/p?#", "k", "v"), "https://x.io/p?k=v#");
	assert_string_equal(rf_url_add_param(&a, "https://x.io/p?a=1&&b=2&", "k", "v"), "https://x.io/p?a=1&b=2&k=v");
	/* Replacing keeps the position and drops later duplicates. */
	assert_string_equal(rf_url_add_param(&a, "https://x.io/p?refd_click=old&a=1", "refd_click", "clk_2"),
			    "https://x.io/p?refd_click=clk_2&a=1");
	assert_string_equal(
	    rf_url_add_param(&a, "https://x.io/p?a=1&refd_click=old&b=2&refd_click=older#f", "refd_click", "new"),
	    "https://x.io/p?a=1&refd_click=new&b=2#f");
	assert_string_equal(rf_url_add_param(&a, "https://x.io/p?refd_click", "refd_click", "c"),
			    "https://x.io/p?refd_click=c");
	assert_string_equal(rf_url_add_param(&a, "https://x.io/p?refd_clicks=1&xrefd_click=2", "refd_click", "c"),
			    "https://x.io/p?refd_clicks=1&xrefd_click=2&refd_click=c");
	/* Values are percent-encoded so they cannot add parameters or a fragment of their own. */
	assert_string_equal(rf_url_add_param(&a, "https://x.io/p", "via", "a&b=c#d e"),
			    "https://x.io/p?via=a%26b%3Dc%23d%20e");
	assert_string_equal(rf_url_add_param(&a, "https://x.io/p", "via", ""), "https://x.io/p?via=");
	assert_null(rf_url_add_param(&a, NULL, "a", "b"));
	assert_null(rf_url_add_param(&a, "https://x.io", "", "b"));
	assert_null(rf_url_add_param(&a, "https://x.io", "a", NULL));
	rf_arena_reset(&a);

	/* Out of memory gives NULL. */
	rf_arena tiny;
	rf_arena_init(&tiny, 64);
	char long_url[200];
	memcpy(long_url, "https://x.io/", 13);
	memset(long_url + 13, 'p', 150);
	long_url[163] = '\0';
	assert_null(rf_url_add_param(&tiny, long_url, "refd_click", "clk_1"));
	rf_arena_reset(&tiny);

	/* The result of adding a parameter to a valid URL is still valid, with the same host. */
	rf_arena_init(&a, 0);
	char host[RF_URL_HOST_MAX];
	const char *u = rf_url_add_param(&a, "https://shop.example.com/p?x=1#top", "refd_click", "clk_ABC");
	assert_int_equal(rf_url_check(u, host, sizeof host, NULL), RF_OK);
	assert_string_equal(host, "shop.example.com");
	assert_string_equal(rf_url_query_get(&a, u, "refd_click"), "clk_ABC");
	assert_string_equal(rf_url_query_get(&a, u, "x"), "1");
	rf_arena_reset(&a);
}

static void decodes_leniently(void **state)
{
	(void)state;
	rf_arena a;
	rf_arena_init(&a, 0);
	size_t n = 0;
	assert_string_equal(rf_url_decode(&a, "/r/a%20b+c", 10, false, &n), "/r/a b+c");
	assert_int_equal(n, 8);
	assert_string_equal(rf_url_decode(&a, "a+b%2Bc", 7, true, NULL), "a b+c");
	/* A '%' without two hex digits after it is kept, at the end too. */
	assert_string_equal(rf_url_decode(&a, "100%zz%4", 8, false, NULL), "100%zz%4");
	assert_string_equal(rf_url_decode(&a, "%e6%97%A5", 9, false, NULL), "\xe6\x97\xa5");
	/* An encoded NUL shows in the length, not in the string. */
	char *d = rf_url_decode(&a, "ab%00cd", 7, false, &n);
	assert_int_equal(n, 5);
	assert_int_equal(strlen(d), 2);
	/* Only n bytes are read. */
	assert_string_equal(rf_url_decode(&a, "abc%41", 4, false, NULL), "abc%");
	rf_arena_reset(&a);
}

static void reads_query(void **state)
{
	(void)state;
	rf_arena a;
	rf_arena_init(&a, 0);
	assert_string_equal(rf_url_query_get(&a, "https://x.io/p?via=ab12&x=1", "via"), "ab12");
	assert_string_equal(rf_url_query_get(&a, "https://x.io/p?x=1&via=ab12", "via"), "ab12");
	assert_string_equal(rf_url_query_get(&a, "/pricing?via=first&via=second", "via"), "first");
	assert_string_equal(rf_url_query_get(&a, "?via=rel", "via"), "rel");
	assert_string_equal(rf_url_query_get(&a, "/p?q=a+b%20c%2Bd", "q"), "a b c+d");
	assert_string_equal(rf_url_query_get(&a, "/p?q=%e6%97%A5", "q"), "\xe6\x97\xa5");
	assert_string_equal(rf_url_query_get(&a, "/p?flag&x=1", "flag"), "");
	assert_string_equal(rf_url_query_get(&a, "/p?flag=&x=1", "flag"), "");
	assert_string_equal(rf_url_query_get(&a, "/p?a=1=2", "a"), "1=2");
	assert_string_equal(rf_url_query_get(&a, "/p?v%69a=enc", "via"), "enc");
	assert_string_equal(rf_url_query_get(&a, "/p?bad=%zz&via=ok", "via"), "ok");
	assert_string_equal(rf_url_query_get(&a, "/p?via=x#frag", "via"), "x");
	assert_null(rf_url_query_get(&a, "/p#?via=x", "via"));
	assert_null(rf_url_query_get(&a, "/p?x=1#via=x", "via"));
	assert_null(rf_url_query_get(&a, "/p?xvia=1&viax=2", "via"));
	assert_null(rf_url_query_get(&a, "/p", "via"));
	assert_null(rf_url_query_get(&a, "/p?", "via"));
	assert_null(rf_url_query_get(&a, "/p?via=%", "via"));
	assert_null(rf_url_query_get(&a, "/p?via=%4", "via"));
	assert_null(rf_url_query_get(&a, "/p?via=%4g", "via"));
	assert_null(rf_url_query_get(&a, "/p?via=a%00b", "via"));
	assert_null(rf_url_query_get(&a, "/p?via=1", NULL));
	assert_null(rf_url_query_get(&a, NULL, "via"));
	rf_arena_reset(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(accepts_plain_urls),
	    cmocka_unit_test(accepts_ip_literals),
	    cmocka_unit_test(refuses_wrong_schemes),
	    cmocka_unit_test(refuses_open_redirect_tricks),
	    cmocka_unit_test(refuses_bad_hosts_and_ports),
	    cmocka_unit_test(bounds_lengths_and_buffers),
	    cmocka_unit_test(checks_allowed_domains),
	    cmocka_unit_test(host_allowed),
	    cmocka_unit_test(encodes),
	    cmocka_unit_test(adds_params),
	    cmocka_unit_test(reads_query),
	    cmocka_unit_test(decodes_leniently),
	};
	return cmocka_run_group_tests_name("url", tests, NULL, NULL);
}
