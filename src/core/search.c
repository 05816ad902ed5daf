/* SPDX-License-Identifier: Apache-2.0 */
/* Search text checked and split into the full-text queries of the partner search (the rules are in search.h). */
#include "search.h"

#include <stddef.h>
#include <string.h>

#include "text.h"

/* ASCII letters and digits, and every byte of a non-ASCII character: which of those are letters is the word
 * index's business (its tokenizer knows Unicode), and a name in any script must stay searchable. */
static bool is_letter(unsigned char c)
{
	return c >= 0x80 || (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}

static bool is_punct(unsigned char c)
{
	return c > ' ' && c < 0x80 && !is_letter(c);
}

bool rf_search_text_valid(const char *s)
{
	if (strnlen(s, RF_SEARCH_TEXT_MAX + 1) > RF_SEARCH_TEXT_MAX || !rf_text_clean(s))
		return false;
	/* rf_text_clean lets a tab through, and the C1 controls are well-formed UTF-8 (0xC2 then 0x80..0x9F); a
	 * search text is one line of visible text, so neither belongs in it. */
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p == '\t' || (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f))
			return false;
	return true;
}

bool rf_search_parse(const char *s, rf_search *out)
{
	size_t ow = 0, ol = 0;
	out->n_words = out->n_literal = 0;
	const unsigned char *p = (const unsigned char *)s;
	while (*p && out->n_words + out->n_literal < RF_SEARCH_FRAGMENTS_MAX) {
		/* Spaces part fragments; so do control characters, which a checked text does not hold. */
		while (*p && *p <= ' ')
			p++;
		const unsigned char *start = p;
		bool letters = false, punct = false;
		size_t chars = 0, quotes = 0;
		for (; *p > ' '; p++) {
			letters = letters || is_letter(*p);
			punct = punct || is_punct(*p);
			chars += (*p & 0xc0) != 0x80;
			quotes += *p == '"';
		}
		size_t n = (size_t)(p - start);
		if (!letters)
			continue;
		/* The trigram index cannot look up fewer than three characters, so a shorter fragment with punctuation
		 * ("a." of "j. smith", "@n" typed on the way to "@northwind") matches by its letters as a word does. */
		if (punct && chars >= 3) {
			if (ol + 1 + n + quotes + 2 >= sizeof out->literal)
				break;
			if (ol)
				out->literal[ol++] = ' ';
			out->literal[ol++] = '"';
			for (size_t i = 0; i < n; i++) {
				/* Inside an FTS5 string a quote is written twice; nothing else there is syntax. */
				if (start[i] == '"')
					out->literal[ol++] = '"';
				out->literal[ol++] = (char)start[i];
			}
			out->literal[ol++] = '"';
			out->n_literal++;
		} else {
			if (ow + 1 + n + 3 >= sizeof out->words)
				break;
			if (ow)
				out->words[ow++] = ' ';
			out->words[ow++] = '"';
			for (size_t i = 0; i < n; i++)
				if (!is_punct(start[i]))
					out->words[ow++] = (char)start[i];
			out->words[ow++] = '"';
			out->words[ow++] = '*';
			out->n_words++;
		}
	}
	out->words[ow] = '\0';
	out->literal[ol] = '\0';
	return out->n_words + out->n_literal > 0;
}
