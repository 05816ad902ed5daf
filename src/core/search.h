/* SPDX-License-Identifier: Apache-2.0 */
/* Search text as a person types it, checked and turned into full-text queries that take every character as
 * text: words match the start of a word, fragments holding punctuation match as written. */
#ifndef RF_SEARCH_H
#define RF_SEARCH_H

#include <stdbool.h>

/* The longest search text, in bytes: the longest value a search can match whole is an email address. */
#define RF_SEARCH_TEXT_MAX 254

/* How many fragments of a search text count; the ones after them are left out. */
#define RF_SEARCH_FRAGMENTS_MAX 8

/* Room for either query: every byte of the text may be a quote written twice, and each fragment adds two quotes,
 * a star and a space. */
#define RF_SEARCH_QUERY_MAX (2 * RF_SEARCH_TEXT_MAX + 4 * RF_SEARCH_FRAGMENTS_MAX + 1)

/* A search text split into two FTS5 queries, each the implicit AND of quoted strings, so no character in them is
 * FTS5 syntax. */
typedef struct {
	/* For a word index (FTS5 unicode61, diacritics removed): "word"* per fragment of letters and digits, and per
	 * fragment too short to look up as written (fewer than three characters) with its punctuation left out. */
	char words[RF_SEARCH_QUERY_MAX];
	/* For a trigram index (FTS5 trigram, case folded): "text" per fragment of three characters or more that holds
	 * punctuation, matched anywhere in a field as written. */
	char literal[RF_SEARCH_QUERY_MAX];
	int n_words, n_literal;
} rf_search;

/* True when s may be searched for: valid UTF-8, at most RF_SEARCH_TEXT_MAX bytes, and no control character (C0
 * ones, tab included, DEL and the C1 range U+0080..U+009F). */
bool rf_search_text_valid(const char *s);

/* Splits s at spaces into fragments and fills out. A fragment of punctuation alone is left out like a space:
 * ASCII letters and digits and every non-ASCII character count as letters, any other printable ASCII character
 * as punctuation. Returns false, with both queries empty, when no fragment is left: a search for nothing but
 * punctuation and spaces matches nothing. */
bool rf_search_parse(const char *s, rf_search *out);

#endif
