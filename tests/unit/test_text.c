/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for email normalisation, ids, tokens, parameter names, clean text, countries and the arena. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/core/arena.h"
#include "../../src/core/country.h"
#include "../../src/core/secret.h"
#include "../../src/core/text.h"

static void email_normalises(void **state)
{
	(void)state;
	char out[RF_EMAIL_MAX + 1];
	assert_int_equal(rf_email_normalize("  Jane.Doe@Example.COM \n", out, sizeof out), RF_OK);
	assert_string_equal(out, "jane.doe@example.com");
	assert_string_equal(rf_email_domain(out), "example.com");
	assert_int_equal(rf_email_normalize("a+tag@sub.example.co.uk", out, sizeof out), RF_OK);
	assert_string_equal(out, "a+tag@sub.example.co.uk");
}

static void email_rejects(void **state)
{
	(void)state;
	char out[RF_EMAIL_MAX + 1];
	const char *bad[] = {"",          "plain",      "@example.com", "a@",         "a@b",      "a@@b.com",
			     "a b@c.com", "a@b..com",   "a@-b.com",     "a@b-.com",   ".a@b.com", "a.@b.com",
			     "a@b_c.com", "a\"b@c.com", "a@b.com.",     "a<b>@c.com", "a@b,c.com"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (rf_email_normalize(bad[i], out, sizeof out) != RF_EINVAL)
			fail_msg("accepted bad email '%s'", bad[i]);
	}
	char longlocal[100];
	memset(longlocal, 'a', 65);
	memcpy(longlocal + 65, "@b.com", 7);
	assert_int_equal(rf_email_normalize(longlocal, out, sizeof out), RF_EINVAL);
	char toolong[300];
	memset(toolong, 'a', sizeof toolong);
	toolong[10] = '@';
	memcpy(toolong + 280, ".com", 5);
	assert_int_equal(rf_email_normalize(toolong, out, sizeof out), RF_EINVAL);
}

static void ids_are_prefixed_and_random(void **state)
{
	(void)state;
	char a[40], b[40];
	rf_id_new("ptn", a, sizeof a);
	rf_id_new("ptn", b, sizeof b);
	assert_int_equal(strlen(a), 4 + RF_ID_RANDOM_LEN);
	assert_memory_equal(a, "ptn_", 4);
	assert_string_not_equal(a, b);
	assert_true(rf_id_valid(a, "ptn"));
	assert_false(rf_id_valid(a, "prg"));
	assert_false(rf_id_valid("ptn_", "ptn"));
	assert_false(rf_id_valid("ptn_abc-def", "ptn"));
	char small[8];
	rf_id_new("ptn", small, sizeof small);
	assert_string_equal(small, "");
}

static void tokens_are_urlsafe(void **state)
{
	(void)state;
	char t[64];
	rf_random_token(32, t, sizeof t);
	assert_int_equal(strlen(t), 43);
	for (const char *p = t; *p; p++)
		assert_true((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
			    *p == '-' || *p == '_');
}

static void param_names(void **state)
{
	(void)state;
	assert_true(rf_param_name_valid("via"));
	assert_true(rf_param_name_valid("ref_code-2"));
	assert_false(rf_param_name_valid(""));
	assert_false(rf_param_name_valid("Via"));
	assert_false(rf_param_name_valid("a b"));
	assert_false(rf_param_name_valid("a=b"));
	assert_false(rf_param_name_valid("abcdefghijklmnopqrstuvwxyz0123456"));
}

static void clean_text(void **state)
{
	(void)state;
	assert_true(rf_text_clean("José Müller 日本"));
	assert_true(rf_text_clean("tab\tok"));
	assert_false(rf_text_clean("new\nline"));
	assert_false(rf_text_clean("\x7f"));
	assert_false(rf_text_clean("\xc0\xaf"));         /* overlong '/' */
	assert_false(rf_text_clean("\xed\xa0\x80"));     /* surrogate */
	assert_false(rf_text_clean("\xf4\x90\x80\x80")); /* past U+10FFFF */
	assert_false(rf_text_clean("\xe6\x97"));         /* truncated */
}

static void countries(void **state)
{
	(void)state;
	assert_true(rf_country_valid("US"));
	assert_true(rf_country_valid("DE"));
	assert_true(rf_country_valid("ZW"));
	assert_true(rf_country_valid("AD"));
	assert_false(rf_country_valid("us"));
	assert_false(rf_country_valid("XX"));
	assert_false(rf_country_valid("UK")); /* the United Kingdom is GB */
	assert_false(rf_country_valid("USA"));
	assert_false(rf_country_valid(NULL));
}

static void arena_bounds(void **state)
{
	(void)state;
	rf_arena a;
	rf_arena_init(&a, 1024);
	char *p = rf_arena_alloc(&a, 100);
	assert_non_null(p);
	assert_int_equal(p[99], 0);
	assert_null(rf_arena_alloc(&a, 2000));
	assert_string_equal(rf_arena_printf(&a, "%s-%d", "x", 42), "x-42");
	assert_string_equal(rf_arena_strndup(&a, "abcdef", 3), "abc");
	assert_null(rf_arena_strdup(&a, NULL));
	rf_arena_reset(&a);
	assert_int_equal(a.total, 0);
	rf_arena_init(&a, 0);
	for (int i = 0; i < 1000; i++)
		assert_non_null(rf_arena_alloc(&a, 100));
	rf_arena_reset(&a);
}

static void arena_grow(void **state)
{
	(void)state;
	rf_arena a;
	rf_arena_init(&a, 4096);
	int *v = NULL;
	size_t n = 0, cap = 0;
	for (int i = 0; i < 100; i++) {
		int *room = rf_arena_grow(&a, v, n, &cap, sizeof *v, 4);
		assert_non_null(room);
		if (n < 4)
			assert_int_equal(cap, 4);
		v = room;
		v[n++] = i;
	}
	assert_int_equal(cap, 128);
	for (int i = 0; i < 100; i++)
		assert_int_equal(v[i], i);
	assert_ptr_equal(rf_arena_grow(&a, v, n, &cap, sizeof *v, 4), v); /* room left: the same array */
	/* Past the arena's bound: NULL, and the capacity stays as it was. */
	size_t big = 1000;
	assert_null(rf_arena_grow(&a, v, big, &big, sizeof *v, 4));
	assert_int_equal(big, 1000);
	rf_arena_reset(&a);
}

static void secrets(void **state)
{
	(void)state;
	assert_int_equal(rf_secret_init(), 0);
	char hash[RF_PASSWORD_HASH_MAX];
	assert_int_equal(rf_password_hash("correct horse battery", hash), RF_OK);
	assert_memory_equal(hash, "$argon2id$", 10);
	assert_true(rf_password_verify(hash, "correct horse battery"));
	assert_false(rf_password_verify(hash, "correct horse batterx"));

	char hex[RF_HEX256_LEN];
	rf_sha256_hex("abc", 3, hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");

	unsigned char k[32];
	memset(k, 7, sizeof k);
	rf_arena a;
	rf_arena_init(&a, 0);
	unsigned char *blob;
	size_t len;
	assert_int_equal(rf_seal(k, "123-45-6789", &a, &blob, &len), RF_OK);
	assert_null(memmem(blob, len, "6789", 4));
	char *back = NULL;
	assert_int_equal(rf_unseal(k, blob, len, &a, &back), RF_OK);
	assert_string_equal(back, "123-45-6789");
	blob[len - 1] ^= 1;
	assert_int_equal(rf_unseal(k, blob, len, &a, &back), RF_EINVAL);
	unsigned char other[32];
	memset(other, 8, sizeof other);
	blob[len - 1] ^= 1;
	assert_int_equal(rf_unseal(other, blob, len, &a, &back), RF_EINVAL);
	rf_arena_reset(&a);

	assert_true(rf_secret_equal("abc", "abc"));
	assert_false(rf_secret_equal("abc", "abd"));
	assert_false(rf_secret_equal("abc", "abcd"));
	assert_false(rf_secret_equal(NULL, "a"));
}

static void keyed_hash(void **state)
{
	(void)state;
	unsigned char k1[32], k2[32];
	memset(k1, 1, sizeof k1);
	memset(k2, 2, sizeof k2);
	char a[RF_HEX256_LEN], b[RF_HEX256_LEN], c[RF_HEX256_LEN];
	rf_keyed_hash_hex(k1, "203.0.113.7", 11, a);
	rf_keyed_hash_hex(k1, "203.0.113.7", 11, b);
	rf_keyed_hash_hex(k2, "203.0.113.7", 11, c);
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
	assert_int_equal(strlen(a), 64);
	/* The per-thread prepared key gives exactly HMAC-SHA256, whichever key came before. */
	char d[RF_HEX256_LEN], e[RF_HEX256_LEN];
	rf_hmac_sha256_hex(k1, sizeof k1, "203.0.113.7", 11, d);
	assert_string_equal(a, d);
	rf_keyed_hash_hex(k1, "2001:db8::1", 11, e);
	rf_hmac_sha256_hex(k1, sizeof k1, "2001:db8::1", 11, d);
	assert_string_equal(e, d);
	rf_hmac_sha256_hex(k2, sizeof k2, "203.0.113.7", 11, d);
	assert_string_equal(c, d);
	/* RFC 4231 test case 2 ("Jefe"), through the generic HMAC. */
	rf_hmac_sha256_hex("Jefe", 4, "what do ya want for nothing?", 28, d);
	assert_string_equal(d, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

static void json_escapes_and_fits(void **state)
{
	(void)state;
	char buf[64];
	assert_int_equal(rf_json_escape(buf, sizeof buf, "a\"b\\c\n\x01"), 19);
	assert_string_equal(buf, "a\\\"b\\\\c\\u000a\\u0001");
	/* Cut short, never past the buffer, never in the middle of an escape. */
	char small[12];
	size_t n = rf_json_escape(small, sizeof small, "\n\n\n\n");
	assert_true(n < sizeof small);
	assert_string_equal(small, "\\u000a");
	assert_int_equal(rf_json_escape(buf, sizeof buf, NULL), 0);
}

static void buffer_grows(void **state)
{
	(void)state;
	char *b = NULL;
	size_t len = 0, cap = 0;
	for (int i = 0; i < 1000; i++) {
		assert_true(rf_buf_room(&b, &len, &cap, 10));
		memcpy(b + len, "0123456789", 10);
		len += 10;
	}
	assert_int_equal(len, 10000);
	assert_true(cap > len);
	assert_memory_equal(b + 9990, "0123456789", 10);
	/* Exactly enough room (one byte to spare) does not grow the buffer. */
	size_t before = cap;
	assert_true(rf_buf_room(&b, &len, &cap, cap - len - 1));
	assert_int_equal(cap, before);
	free(b);
}

int main(void)
{
	rf_secret_init();
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(email_normalises),
	    cmocka_unit_test(email_rejects),
	    cmocka_unit_test(ids_are_prefixed_and_random),
	    cmocka_unit_test(tokens_are_urlsafe),
	    cmocka_unit_test(param_names),
	    cmocka_unit_test(clean_text),
	    cmocka_unit_test(countries),
	    cmocka_unit_test(arena_bounds),
	    cmocka_unit_test(arena_grow),
	    cmocka_unit_test(secrets),
	    cmocka_unit_test(keyed_hash),
	    cmocka_unit_test(json_escapes_and_fits),
	    cmocka_unit_test(buffer_grows),
	};
	return cmocka_run_group_tests_name("text", tests, NULL, NULL);
}
