/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the tracking rules: referral codes, recruitment codes, bot detection by User-Agent and IP
 * prefixes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/core/bot.h"
#include "../../src/core/code.h"
#include "../../src/core/ip.h"
#include "../../src/core/secret.h"

#define N_CODES 1000

static int cmp_codes(const void *x, const void *y)
{
	return strcmp((const char *)x, (const char *)y);
}

static void generated_codes(void **state)
{
	(void)state;
	static char codes[N_CODES][RF_CODE_GENERATED_LEN + 1];
	bool seen[256] = {false};
	for (int i = 0; i < N_CODES; i++) {
		rf_code_generate(codes[i], sizeof codes[i]);
		assert_int_equal(strlen(codes[i]), 8);
		for (const char *p = codes[i]; *p; p++) {
			if (!strchr("23456789abcdefghjkmnpqrstuvwxyz", *p))
				fail_msg("code '%s' has '%c', outside the alphabet", codes[i], *p);
			seen[(unsigned char)*p] = true;
		}
		/* A generated code is also a valid chosen code (never a reserved word or "refd..."). */
		assert_int_equal(rf_code_check(codes[i], NULL), RF_OK);
	}
	/* 8000 draws from 31 characters: every character appears, none of the look-alikes does. */
	int distinct = 0;
	for (int c = 0; c < 256; c++)
		distinct += seen[c];
	assert_int_equal(distinct, 31);
	assert_false(seen['0'] || seen['1'] || seen['i'] || seen['l'] || seen['o']);
	qsort(codes, N_CODES, sizeof codes[0], cmp_codes);
	for (int i = 1; i < N_CODES; i++)
		if (strcmp(codes[i - 1], codes[i]) == 0)
			fail_msg("code '%s' was generated twice", codes[i]);

	char small[8] = "xxxxxxx";
	rf_code_generate(small, sizeof small);
	assert_string_equal(small, "");
	char exact[9];
	rf_code_generate(exact, sizeof exact);
	assert_int_equal(strlen(exact), 8);
	rf_code_generate(small, 0);
}

static void recruitment_codes(void **state)
{
	(void)state;
	static char codes[N_CODES][RF_RECRUIT_CODE_LEN + 1];
	bool seen[256] = {false};
	for (int i = 0; i < N_CODES; i++) {
		rf_recruit_code_generate(codes[i], sizeof codes[i]);
		assert_int_equal(strlen(codes[i]), RF_RECRUIT_CODE_LEN);
		for (const char *p = codes[i]; *p; p++) {
			if (!strchr("23456789abcdefghjkmnpqrstuvwxyz", *p))
				fail_msg("code '%s' has '%c', outside the alphabet", codes[i], *p);
			seen[(unsigned char)*p] = true;
		}
		/* Its own stored form, as it reads back. */
		char back[RF_RECRUIT_CODE_LEN + 1];
		assert_true(rf_recruit_code_normalize(codes[i], back, sizeof back));
		assert_string_equal(back, codes[i]);
	}
	int distinct = 0;
	for (int c = 0; c < 256; c++)
		distinct += seen[c];
	assert_int_equal(distinct, 31);
	qsort(codes, N_CODES, sizeof codes[0], cmp_codes);
	for (int i = 1; i < N_CODES; i++)
		if (strcmp(codes[i - 1], codes[i]) == 0)
			fail_msg("code '%s' was generated twice", codes[i]);
	char small[RF_RECRUIT_CODE_LEN] = "xxxxxxxxxxx";
	rf_recruit_code_generate(small, sizeof small);
	assert_string_equal(small, "");
	rf_recruit_code_generate(small, 0);

	/* As people type them or links carry them: case and surrounding spaces do not matter. */
	char out[RF_RECRUIT_CODE_LEN + 1];
	const char *good[][2] = {
	    {"k7m2x9qp4vth", "k7m2x9qp4vth"}, {"K7M2X9QP4VTH", "k7m2x9qp4vth"}, {"  k7M2x9qP4vtH\t", "k7m2x9qp4vth"}};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		assert_true(rf_recruit_code_normalize(good[i][0], out, sizeof out));
		assert_string_equal(out, good[i][1]);
	}
	/* Anything else cannot be a code: the wrong length, look-alikes outside the alphabet, inner spaces. */
	const char *bad[] = {"",
			     "   ",
			     "k7m2x9qp4vt",
			     "k7m2x9qp4vthx",
			     "k7m2x9qp4vt0",
			     "k7m2x9qp4vtl",
			     "k7m2x9 p4vth",
			     "k7m2x9qp4vt h",
			     "k7m2x9qp4vt-",
			     "ptn_k7m2x9qp4vth",
			     "k7m2x9qp4vt\xc3\xa9",
			     "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memcpy(out, "leftoverxxxx", RF_RECRUIT_CODE_LEN + 1);
		if (rf_recruit_code_normalize(bad[i], out, sizeof out))
			fail_msg("'%s' was taken for a recruitment code", bad[i]);
		assert_string_equal(out, "");
	}
	assert_false(rf_recruit_code_normalize(NULL, out, sizeof out));
	/* An out too small for a code gets nothing rather than a part of one. */
	char tiny[RF_RECRUIT_CODE_LEN];
	assert_false(rf_recruit_code_normalize("k7m2x9qp4vth", tiny, sizeof tiny));
	assert_string_equal(tiny, "");
}

static void check_code(const char *code, rf_status want, const char *why)
{
	rf_err err = {0};
	rf_status got = rf_code_check(code, &err);
	if (got != want)
		fail_msg("rf_code_check('%s') = %d, wanted %d (%s)", code ? code : "(null)", got, want, err.message);
	if (want != RF_OK) {
		assert_string_equal(err.field, "code");
		if (!strstr(err.message, why))
			fail_msg("message for '%s' is '%s', expected it to mention '%s'", code ? code : "(null)",
				 err.message, why);
	}
}

static void chosen_codes(void **state)
{
	(void)state;
	check_code("abc", RF_OK, NULL);
	check_code("JaneDoe", RF_OK, NULL);
	check_code("jane-doe_2024", RF_OK, NULL);
	check_code("a-b", RF_OK, NULL);
	check_code("007", RF_OK, NULL);
	check_code("admins", RF_OK, NULL);
	check_code("myrefd", RF_OK, NULL);
	check_code("ref", RF_OK, NULL);
	char max[RF_CODE_MAX + 2];
	memset(max, 'k', RF_CODE_MAX);
	max[RF_CODE_MAX] = '\0';
	check_code(max, RF_OK, NULL);
	max[RF_CODE_MAX] = 'k';
	max[RF_CODE_MAX + 1] = '\0';
	check_code(max, RF_EINVAL, "at most 64");

	check_code(NULL, RF_EINVAL, "required");
	check_code("", RF_EINVAL, "required");
	check_code("ab", RF_EINVAL, "at least 3");
	check_code("a", RF_EINVAL, "at least 3");
	check_code("jane doe", RF_EINVAL, "letters, digits");
	check_code("jane.doe", RF_EINVAL, "letters, digits");
	check_code("jane/doe", RF_EINVAL, "letters, digits");
	check_code("a%2Fb", RF_EINVAL, "letters, digits");
	check_code("caf\xc3\xa9", RF_EINVAL, "letters, digits");
	check_code("abc\n", RF_EINVAL, "letters, digits");
	check_code("-abc", RF_EINVAL, "start or end");
	check_code("abc-", RF_EINVAL, "start or end");
	check_code("_abc", RF_EINVAL, "start or end");
	check_code("abc_", RF_EINVAL, "start or end");

	const char *reserved[] = {"admin",   "api",       "app",    "assets",    "auth",     "dashboard", "docs",
				  "health",  "healthz",   "help",   "login",     "logout",   "new",       "null",
				  "partner", "partners",  "portal", "readyz",    "register", "settings",  "signup",
				  "static",  "support",   "track",  "undefined", "www",      "ADMIN",     "Api",
				  "WwW",     "Dashboard", "NULL"};
	for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
		check_code(reserved[i], RF_EINVAL, "reserved");
	check_code("refd", RF_EINVAL, "reserved");
	check_code("refd-partner", RF_EINVAL, "reserved");
	check_code("REFDabc", RF_EINVAL, "reserved");
	check_code("Refd_2", RF_EINVAL, "reserved");
	/* "r" and "t" are reserved too, but shorter than any allowed code anyway. */
	check_code("r", RF_EINVAL, "at least 3");
	check_code("t", RF_EINVAL, "at least 3");
}

static void folds_codes(void **state)
{
	(void)state;
	char out[RF_CODE_MAX + 1];
	rf_code_fold("JaneDoe-2024_X", out, sizeof out);
	assert_string_equal(out, "janedoe-2024_x");
	rf_code_fold("abc", out, sizeof out);
	assert_string_equal(out, "abc");
	char a[16], b[16];
	rf_code_fold("SUMMER24", a, sizeof a);
	rf_code_fold("summer24", b, sizeof b);
	assert_string_equal(a, b);
	/* A code that does not fit gives "" rather than a prefix that could match another code. */
	char small[4] = "zzz";
	rf_code_fold("abcd", small, sizeof small);
	assert_string_equal(small, "");
	rf_code_fold("abc", small, sizeof small);
	assert_string_equal(small, "abc");
	rf_code_fold(NULL, out, sizeof out);
	assert_string_equal(out, "");
}

static void bots(void **state)
{
	(void)state;
	const char *bots[] = {
	    NULL,
	    "",
	    "   ",
	    "\t\r\n",
	    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
	    "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) "
	    "Chrome/120.0.6099.71 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
	    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
	    "Mozilla/5.0 (compatible; Yahoo! Slurp; http://help.yahoo.com/help/us/ysearch/slurp)",
	    "DuckDuckBot/1.1; (+http://duckduckgo.com/duckduckbot.html)",
	    "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)",
	    "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
	    "Sogou web spider/4.0(+http://www.sogou.com/docs/help/webmasters.htm#07)",
	    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
	    "Twitterbot/1.0",
	    "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
	    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
	    "Slack-ImgProxy (+https://api.slack.com/robots)",
	    "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
	    "WhatsApp/2.23.20.0",
	    "TelegramBot (like TwitterBot)",
	    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.1.1 "
	    "Safari/605.1.15 (Applebot/0.1; +http://www.apple.com/go/applebot)",
	    "Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)",
	    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
	    "Mozilla/5.0 (compatible; MJ12bot/v1.4.8; http://mj12bot.com/)",
	    "Mozilla/5.0 (Linux; Android 5.0) AppleWebKit/537.36 (KHTML, like Gecko) Mobile Safari/537.36 "
	    "(compatible; Bytespider; spider-feedback@bytedance.com)",
	    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.0; +https://openai.com/gptbot)",
	    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0; +claudebot@anthropic.com)",
	    "CCBot/2.0 (https://commoncrawl.org/faq/)",
	    "Mozilla/5.0 (compatible; Pinterestbot/1.0; +http://www.pinterest.com/bot.html)",
	    "Mozilla/5.0 (compatible; Embedly/0.2; +http://support.embed.ly/)",
	    "Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5",
	    "Mozilla/5.0 (compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)",
	    "Pingdom.com_bot_version_1.4_(http://www.pingdom.com/)",
	    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 "
	    "Safari/537.36 StatusCake",
	    "Mozilla/5.0 (compatible; PetalBot;+https://webmaster.petalsearch.com/site/petalbot)",
	    "Mozilla/5.0 (compatible; DotBot/1.2; +https://opensiteexplorer.org/dotbot; help@moz.com)",
	    "Mozilla/5.0 (compatible; Exabot/3.0; +http://www.exabot.com/go/robot)",
	    "Mozilla/5.0 (compatible; SomeNewCrawler/1.0)",
	    "Mozilla/5.0 (compatible; AcmeBot/1.0; +https://acme.example/bot)",
	    "Mozilla/5.0 (compatible; AcmeBot)",
	    "acmebot",
	    "curl/8.5.0",
	    "Wget/1.21.4",
	    "python-requests/2.31.0",
	    "Python-urllib/3.11",
	    "Go-http-client/1.1",
	    "Java/17.0.2",
	    "okhttp/4.12.0",
	    "libwww-perl/6.72",
	    "Apache-HttpClient/4.5.14 (Java/17.0.8)",
	    "axios/1.6.2",
	    "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)",
	    "Scrapy/2.11.0 (+https://scrapy.org)",
	    "Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) PhantomJS/2.1.1 Safari/538.1",
	};
	for (size_t i = 0; i < sizeof bots / sizeof bots[0]; i++)
		if (!rf_ua_is_bot(bots[i]))
			fail_msg("'%s' was not recognised as a bot", bots[i] ? bots[i] : "(null)");

	const char *people[] = {
	    /* Chrome on Windows, macOS, Linux and Android. */
	    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
	    "Safari/537.36",
	    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
	    "Safari/537.36",
	    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
	    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.144 Mobile "
	    "Safari/537.36",
	    /* Firefox on desktop and Android. */
	    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0",
	    "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
	    "Mozilla/5.0 (Android 14; Mobile; rv:121.0) Gecko/121.0 Firefox/121.0",
	    /* Safari on macOS, iPhone and iPad. */
	    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 "
	    "Safari/605.1.15",
	    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
	    "Version/17.2 Mobile/15E148 Safari/604.1",
	    "Mozilla/5.0 (iPad; CPU OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 "
	    "Mobile/15E148 Safari/604.1",
	    /* Edge, Samsung Internet, Opera, Chrome on iOS. */
	    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
	    "Safari/537.36 Edg/120.0.2210.91",
	    "Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
	    "SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36",
	    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
	    "Safari/537.36 OPR/106.0.0.0",
	    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
	    "CriOS/120.0.6099.119 Mobile/15E148 Safari/604.1",
	    /* In-app browsers of social networks are people following a link. */
	    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
	    "Mobile/15E148 [FBAN/FBIOS;FBAV/442.0.0.42.115;FBBV/540286347;FBDV/iPhone15,2;FBMD/iPhone;FBSN/iOS]",
	    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
	    "Mobile/15E148 Instagram 309.0.2.28.108 (iPhone15,2; iOS 17_1; en_US; en; scale=3.00; 1179x2556)",
	    /* refd's own browser tests. */
	    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.6099.28 "
	    "Safari/537.36",
	    /* Cubot is a phone brand, not a bot. */
	    "Mozilla/5.0 (Linux; Android 10; CUBOT X30) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 "
	    "Mobile Safari/537.36",
	};
	for (size_t i = 0; i < sizeof people / sizeof people[0]; i++)
		if (rf_ua_is_bot(people[i]))
			fail_msg("browser '%s' was taken for a bot", people[i]);

	/* Only the first RF_UA_SCAN_MAX bytes are read: a marker beyond them is not seen. */
	char longua[RF_UA_SCAN_MAX + 64];
	memset(longua, 'x', sizeof longua);
	memcpy(longua, "Mozilla/5.0 ", 12);
	memcpy(longua + RF_UA_SCAN_MAX - 12, "Googlebot/2.1", 13);
	longua[RF_UA_SCAN_MAX + 20] = '\0';
	assert_true(rf_ua_is_bot(longua));
	memset(longua + RF_UA_SCAN_MAX - 12, 'x', 13);
	memcpy(longua + RF_UA_SCAN_MAX + 2, "curl/8", 6);
	assert_false(rf_ua_is_bot(longua));
}

static void prefix_is(const char *ip, const char *want)
{
	char out[RF_IP_PREFIX_MAX];
	if (rf_ip_prefix(ip, out, sizeof out) != RF_OK)
		fail_msg("no prefix for '%s'", ip);
	if (strcmp(out, want) != 0)
		fail_msg("prefix of '%s' is '%s', wanted '%s'", ip, out, want);
}

static void ip_prefixes(void **state)
{
	(void)state;
	prefix_is("203.0.113.77", "203.0.113.0/24");
	prefix_is("10.1.2.3", "10.1.2.0/24");
	prefix_is("255.255.255.255", "255.255.255.0/24");
	prefix_is("0.0.0.0", "0.0.0.0/24");
	prefix_is("2001:db8:85a3::8a2e:370:7334", "2001:db8:85a3::/48");
	prefix_is("2001:0DB8:85A3:0000:0000:8A2E:0370:7334", "2001:db8:85a3::/48");
	prefix_is("2a00:1450:4001:82b::200e", "2a00:1450:4001::/48");
	prefix_is("fe80::1", "fe80::/48");
	prefix_is("::1", "::/48");
	prefix_is("2001:db8:1:2:3:4:5:6", "2001:db8:1::/48");
	prefix_is("::ffff:192.0.2.128", "192.0.2.0/24");
	prefix_is("::FFFF:198.51.100.9", "198.51.100.0/24");
	prefix_is("::ffff:c000:0280", "192.0.2.0/24");

	const char *bad[] = {"",
			     "localhost",
			     "1.2.3",
			     "1.2.3.4.5",
			     "256.1.1.1",
			     "01.2.3.4",
			     "1.2.3.4/24",
			     " 1.2.3.4",
			     "1.2.3.4 ",
			     "[::1]",
			     "fe80::1%eth0",
			     "2001:db8:::1",
			     "2001:db8::g",
			     "1.2.3.4:80",
			     "0x7f.0.0.1",
			     "2130706433",
			     "2001:0db8:85a3:0000:0000:8a2e:0370:7334:ffff:ffff:ffff:ffff"};
	char out[RF_IP_PREFIX_MAX];
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memset(out, 'x', sizeof out);
		if (rf_ip_prefix(bad[i], out, sizeof out) != RF_EINVAL)
			fail_msg("'%s' was taken for an address", bad[i]);
		assert_string_equal(out, "");
	}
	assert_int_equal(rf_ip_prefix(NULL, out, sizeof out), RF_EINVAL);
	/* An out buffer that is too small is refused, never filled with a cut-off prefix. */
	char small[10];
	assert_int_equal(rf_ip_prefix("203.0.113.77", small, sizeof small), RF_EINVAL);
	assert_string_equal(small, "");
	char v4[17];
	assert_int_equal(rf_ip_prefix("255.255.255.255", v4, sizeof v4), RF_OK);
	assert_string_equal(v4, "255.255.255.0/24");
	assert_int_equal(rf_ip_prefix("255.255.255.255", v4, sizeof v4 - 1), RF_EINVAL);
	assert_string_equal(v4, "");
	assert_int_equal(rf_ip_prefix("2001:db8:85a3::1", small, sizeof small), RF_EINVAL);
	assert_string_equal(small, "");
	assert_int_equal(rf_ip_prefix("1.2.3.4", out, 0), RF_EINVAL);
	/* The full worst case fits RF_IP_PREFIX_MAX. */
	prefix_is("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff::/48");
}

int main(void)
{
	if (rf_secret_init() != 0)
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(generated_codes),
	    cmocka_unit_test(recruitment_codes),
	    cmocka_unit_test(chosen_codes),
	    cmocka_unit_test(folds_codes),
	    cmocka_unit_test(bots),
	    cmocka_unit_test(ip_prefixes),
	};
	return cmocka_run_group_tests_name("tracking_rules", tests, NULL, NULL);
}
