/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for the text rules: emails, money amounts, times, codes, user agents, addresses and search
 * text. Each checks a property, not only the absence of crashes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/bot.h"
#include "core/clock.h"
#include "core/code.h"
#include "core/ip.h"
#include "core/money.h"
#include "core/search.h"
#include "core/text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Counts the FTS5 strings of q ("…" with quotes inside written twice, each followed by a star when star, one space
 * between them); -1 when q is anything else, so no character of the text can escape its string. */
static int fts_strings(const char *q, bool star)
{
	int n = 0;
	while (*q) {
		if (n && *q++ != ' ')
			return -1;
		if (*q++ != '"')
			return -1;
		for (;;) {
			if (!*q)
				return -1;
			if (*q == '"' && q[1] == '"') {
				q += 2;
				continue;
			}
			if (*q++ == '"')
				break;
		}
		if (star && *q++ != '*')
			return -1;
		n++;
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 2048)
		return 0;
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	/* Normalising an email is idempotent. */
	char e1[RF_EMAIL_MAX + 1], e2[RF_EMAIL_MAX + 1];
	if (rf_email_normalize(s, e1, sizeof e1) == RF_OK) {
		if (rf_email_normalize(e1, e2, sizeof e2) != RF_OK || strcmp(e1, e2) != 0)
			abort();
		if (!rf_email_domain(e1))
			abort();
	}

	/* A parsed amount formats back to a string that parses to the same amount, for every exponent. */
	for (int exp = 0; exp <= 4; exp++) {
		int64_t v, back;
		if (rf_money_parse(s, exp, &v) == RF_OK) {
			char buf[48];
			if (rf_money_format(v, exp, buf, sizeof buf) < 0 || rf_money_parse(buf, exp, &back) != RF_OK ||
			    back != v)
				abort();
		}
	}

	/* A parsed time formats to one that parses to the same instant. */
	int64_t ms, ms2;
	if (rf_clock_parse(s, &ms) == 0) {
		char buf[48];
		rf_clock_format(ms, buf, sizeof buf);
		if (ms > -62135596800000LL && ms < 253402300800000LL && (rf_clock_parse(buf, &ms2) != 0 || ms2 != ms))
			abort();
	}

	/* A code that passes the check folds to lower case of the same length. */
	rf_err err = {0};
	if (rf_code_check(s, &err) == RF_OK) {
		char folded[80];
		rf_code_fold(s, folded, sizeof folded);
		if (strlen(folded) != strlen(s))
			abort();
	}
	rf_ua_is_bot(s);
	char prefix[RF_IP_PREFIX_MAX];
	if (rf_ip_prefix(s, prefix, sizeof prefix) == RF_OK && !strchr(prefix, '/'))
		abort();
	rf_text_clean(s);
	rf_param_name_valid(s);

	/* A search text that passes the check turns into well-formed FTS5 strings only, one per fragment. */
	rf_search q;
	bool any = rf_search_parse(s, &q);
	if (fts_strings(q.words, true) != q.n_words || fts_strings(q.literal, false) != q.n_literal ||
	    any != (q.n_words + q.n_literal > 0) || q.n_words + q.n_literal > RF_SEARCH_FRAGMENTS_MAX)
		abort();
	/* A checked text with a letter or digit in it always leaves something to search for. */
	if (rf_search_text_valid(s) && strpbrk(s, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") &&
	    !any)
		abort();
	free(s);
	return 0;
}
