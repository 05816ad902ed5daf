/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the search text rules: what a search may hold and how it splits into word and literal queries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "../../src/core/search.h"

/* Parses s and checks both queries (NULL for "no such query expected", i.e. empty). */
static void parses_to(const char *s, const char *words, const char *literal)
{
	rf_search q;
	bool any = rf_search_parse(s, &q);
	if (strcmp(q.words, words ? words : "") != 0 || strcmp(q.literal, literal ? literal : "") != 0)
		fail_msg("'%s' gave words [%s] literal [%s], not [%s] [%s]", s, q.words, q.literal, words ? words : "",
			 literal ? literal : "");
	assert_int_equal(any, words != NULL || literal != NULL);
}

static void words_match_as_prefixes(void **state)
{
	(void)state;
	parses_to("maria", "\"maria\"*", NULL);
	parses_to("  maria   lopez ", "\"maria\"* \"lopez\"*", NULL);
	parses_to("Zoë Müller", "\"Zoë\"* \"Müller\"*", NULL);
	parses_to("山田", "\"山田\"*", NULL);
	/* Words of the FTS5 query language are words like any other. */
	parses_to("sam OR lee", "\"sam\"* \"OR\"* \"lee\"*", NULL);
	parses_to("NEAR AND NOT", "\"NEAR\"* \"AND\"* \"NOT\"*", NULL);
}

static void punctuation_makes_a_literal_fragment(void **state)
{
	(void)state;
	parses_to("reyes@", NULL, "\"reyes@\"");
	parses_to("a.reyes@northwind.ex", NULL, "\"a.reyes@northwind.ex\"");
	parses_to("@northwind.example", NULL, "\"@northwind.example\"");
	parses_to("lee+referrals", NULL, "\"lee+referrals\"");
	parses_to("dana reyes@north", "\"dana\"*", "\"reyes@north\"");
	parses_to("smith-jones", NULL, "\"smith-jones\"");
	/* Quotes are written twice inside an FTS5 string; everything else stays as typed. */
	parses_to("o\"brien", NULL, "\"o\"\"brien\"");
	parses_to("\"jj\" jones", "\"jones\"*", "\"\"\"jj\"\"\"");
	parses_to("sam* ^sam NEAR(sam sam:lee", NULL, "\"sam*\" \"^sam\" \"NEAR(sam\" \"sam:lee\"");
	parses_to("{a} -b- %_%a", NULL, "\"{a}\" \"-b-\" \"%_%a\"");
	/* Three characters, not three bytes: é. is two. */
	parses_to("é.b", NULL, "\"é.b\"");
	parses_to("Lefèvre-Dubois", NULL, "\"Lefèvre-Dubois\"");
}

static void short_fragments_match_by_their_letters(void **state)
{
	(void)state;
	parses_to("a.", "\"a\"*", NULL);
	parses_to("@n", "\"n\"*", NULL);
	parses_to("é.", "\"é\"*", NULL);
	parses_to("dana r.", "\"dana\"* \"r\"*", NULL);
	parses_to("j. smith-jones", "\"j\"*", "\"smith-jones\"");
}

static void punctuation_or_spaces_alone_is_nothing(void **state)
{
	(void)state;
	const char *nothing[] = {"", " ", "   ", "@", "...", "-", "\"*()", "@ . +", "\"\"", "%", "_", "\\", "'"};
	for (size_t i = 0; i < sizeof nothing / sizeof nothing[0]; i++)
		parses_to(nothing[i], NULL, NULL);
	/* A fragment of punctuation beside real ones is left out like a space. */
	parses_to("sam + lee", "\"sam\"* \"lee\"*", NULL);
	parses_to("reyes@ - .", NULL, "\"reyes@\"");
}

static void eight_fragments_count(void **state)
{
	(void)state;
	parses_to("a b c d e f g h i j", "\"a\"* \"b\"* \"c\"* \"d\"* \"e\"* \"f\"* \"g\"* \"h\"*", NULL);
	/* Left-out punctuation does not use up a place. */
	parses_to("- a - b - c - d - e - f - g - h", "\"a\"* \"b\"* \"c\"* \"d\"* \"e\"* \"f\"* \"g\"* \"h\"*", NULL);
}

static void the_longest_text_fits(void **state)
{
	(void)state;
	/* The worst case for room: nothing but quotes after one letter, each written twice. */
	char s[RF_SEARCH_TEXT_MAX + 1];
	s[0] = 'a';
	memset(s + 1, '"', RF_SEARCH_TEXT_MAX - 1);
	s[RF_SEARCH_TEXT_MAX] = '\0';
	assert_true(rf_search_text_valid(s));
	rf_search q;
	assert_true(rf_search_parse(s, &q));
	assert_int_equal(q.n_literal, 1);
	assert_int_equal(strlen(q.literal), 1 + 2 * (RF_SEARCH_TEXT_MAX - 1) + 2);
	/* Eight fragments of words and literals, as long as the text allows. */
	for (size_t i = 0; i < RF_SEARCH_TEXT_MAX; i++)
		s[i] = i % 32 == 31 ? ' ' : (i / 32) % 2 && i % 32 == 0 ? '"' : 'x';
	s[RF_SEARCH_TEXT_MAX] = '\0';
	assert_true(rf_search_parse(s, &q));
	assert_int_equal(q.n_words, RF_SEARCH_FRAGMENTS_MAX / 2);
	assert_int_equal(q.n_literal, RF_SEARCH_FRAGMENTS_MAX / 2);
	/* A text longer than allowed is cut at a whole fragment, never mid-way. */
	char big[4 * RF_SEARCH_TEXT_MAX];
	memset(big, '"', sizeof big - 1);
	big[0] = 'a';
	big[sizeof big - 1] = '\0';
	assert_false(rf_search_text_valid(big));
	assert_false(rf_search_parse(big, &q));
	assert_string_equal(q.literal, "");
}

static void what_a_search_text_may_hold(void **state)
{
	(void)state;
	const char *good[] = {"",  "maria", "reyes@north", "Zoë Müller", "山田 太郎", "\xc2\xa0nbsp",
			      "😀", "a\"b",  "%00"};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		if (!rf_search_text_valid(good[i]))
			fail_msg("refused '%s'", good[i]);
	const char *bad[] = {
	    "a\tb",     "\x01",        "a\nb", "\r",       "\x1b[0m",      "\x7f",     "\xc2\x80",
	    "\xc2\x85", "a\xc2\x9f b", "\xff", "\xc0\xae", "\xed\xa0\x80", "\xe2\x82", "\xf4\x90\x80\x80"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (rf_search_text_valid(bad[i]))
			fail_msg("accepted bad text %zu", i);
	char s[RF_SEARCH_TEXT_MAX + 2];
	memset(s, 'a', sizeof s);
	s[RF_SEARCH_TEXT_MAX] = '\0';
	assert_true(rf_search_text_valid(s));
	s[RF_SEARCH_TEXT_MAX] = 'a';
	s[RF_SEARCH_TEXT_MAX + 1] = '\0';
	assert_false(rf_search_text_valid(s));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(words_match_as_prefixes),
	    cmocka_unit_test(punctuation_makes_a_literal_fragment),
	    cmocka_unit_test(short_fragments_match_by_their_letters),
	    cmocka_unit_test(punctuation_or_spaces_alone_is_nothing),
	    cmocka_unit_test(eight_fragments_count),
	    cmocka_unit_test(the_longest_text_fits),
	    cmocka_unit_test(what_a_search_text_may_hold),
	};
	return cmocka_run_group_tests_name("search", tests, NULL, NULL);
}
