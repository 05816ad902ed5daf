/* SPDX-License-Identifier: Apache-2.0 */
/* User-Agent classification, so that clicks by machines are not credited to partners. */
#include "bot.h"

#include <pthread.h>
#include <stddef.h>
#include <string.h>

/* Lower-case fragments of known machine User-Agents. "headless" is deliberately absent: refd's own browser tests
 * run HeadlessChrome and must count as people. */
static const char *const needles[] = {
    "googlebot",       "bingbot",        "slurp",
    "duckduckbot",     "baiduspider",    "yandex",
    "sogou",           "exabot",         "facebookexternalhit",
    "facebot",         "twitterbot",     "linkedinbot",
    "slackbot",        "slack-imgproxy", "discordbot",
    "whatsapp",        "telegrambot",    "applebot",
    "petalbot",        "semrushbot",     "ahrefsbot",
    "mj12bot",         "dotbot",         "bytespider",
    "gptbot",          "claudebot",      "ccbot",
    "pinterestbot",    "redditbot",      "embedly",
    "skypeuripreview", "uptimerobot",    "pingdom",
    "statuscake",      "crawler",        "spider",
    "curl/",           "wget/",          "python-requests",
    "python-urllib",   "go-http-client", "java/",
    "okhttp",          "libwww-perl",    "httpclient",
    "axios/",          "node-fetch",     "scrapy",
    "phantomjs",
};

#define NEEDLES (sizeof needles / sizeof needles[0])

/* The fragments by their first letter, built once. */
static pthread_once_t index_once = PTHREAD_ONCE_INIT;
static unsigned char lens[NEEDLES];
static struct {
	unsigned char count;
	unsigned char which[16];
} by_first[256];

static void build_index(void)
{
	for (size_t k = 0; k < NEEDLES; k++) {
		unsigned char ch = (unsigned char)needles[k][0];
		lens[k] = (unsigned char)strlen(needles[k]);
		if (by_first[ch].count < sizeof by_first[ch].which)
			by_first[ch].which[by_first[ch].count++] = (unsigned char)k;
	}
}

/* A word ending in "bot" and followed by a version, a separator or the end ("FooBot/1.0", "(compatible; FooBot)")
 * is a bot, except for the Cubot phone brand that appears in Android browser User-Agents ("CUBOT X30"). */
static bool generic_bot(const char *s, size_t n)
{
	for (const char *p = s; (p = strstr(p, "bot")) != NULL; p++) {
		size_t at = (size_t)(p - s);
		char next = at + 3 < n ? s[at + 3] : '\0';
		if (next != '/' && next != ';' && next != ' ' && next != ')' && next != ',' && next != '\0')
			continue;
		if (at >= 2 && s[at - 2] == 'c' && s[at - 1] == 'u')
			continue;
		return true;
	}
	return false;
}

bool rf_ua_is_bot(const char *ua)
{
	if (!ua)
		return true;
	char buf[RF_UA_SCAN_MAX + 1];
	size_t n = strnlen(ua, RF_UA_SCAN_MAX);
	bool blank = true;
	for (size_t i = 0; i < n; i++) {
		char c = ua[i];
		if (c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != '\f' && c != '\v')
			blank = false;
		buf[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	buf[n] = '\0';
	if (blank)
		return true;
	/* One pass over the text: at each position only the fragments starting with that letter are compared. */
	pthread_once(&index_once, build_index);
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)buf[i];
		for (unsigned j = 0; j < by_first[ch].count; j++) {
			unsigned k = by_first[ch].which[j];
			if (lens[k] <= n - i && memcmp(buf + i, needles[k], lens[k]) == 0)
				return true;
		}
	}
	return generic_bot(buf, n);
}
