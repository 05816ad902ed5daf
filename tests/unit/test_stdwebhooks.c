/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for Standard Webhooks signing: the specification's published test vector, secrets, the signature
 * header with several signatures, the payload refd sends and the retry schedule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/core/stdwebhooks.h"

/* The test vector of the Standard Webhooks libraries (and of the svix verifiers): this secret, id, timestamp and
 * body sign to this signature. */
#define VEC_SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define VEC_ID "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define VEC_TS 1614265330
#define VEC_BODY "{\"test\": 2432232314}"
#define VEC_SIG "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

static void signs_the_published_test_vector(void **state)
{
	(void)state;
	unsigned char key[RF_SWH_KEY_MAX];
	size_t n = 0;
	assert_int_equal(rf_swh_secret_decode(VEC_SECRET, key, &n), RF_OK);
	assert_int_equal(n, 24);
	char sig[RF_SWH_SIGNATURE_MAX];
	rf_swh_sign(key, n, VEC_ID, VEC_TS, VEC_BODY, strlen(VEC_BODY), sig);
	assert_string_equal(sig, VEC_SIG);
	/* The prefix is optional when the secret is read. */
	size_t n2 = 0;
	unsigned char key2[RF_SWH_KEY_MAX];
	assert_int_equal(rf_swh_secret_decode(VEC_SECRET + 6, key2, &n2), RF_OK);
	assert_int_equal(n2, n);
	assert_memory_equal(key, key2, n);
}

static void signs_a_refd_payload_as_hmac_sha256(void **state)
{
	(void)state;
	/* Computed apart with Python's hmac module: key bytes 0..31, id "evt_…", the body refd would send. */
	unsigned char key[RF_SWH_KEY_MAX];
	size_t n = 0;
	assert_int_equal(rf_swh_secret_decode("whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", key, &n), RF_OK);
	assert_int_equal(n, 32);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(key[i], i);
	rf_dbuf b = RF_DBUF_INIT(1024);
	assert_int_equal(rf_swh_body(&b, "lead.created", 1674087231000LL, "{\"id\":\"lead_1\"}"), RF_OK);
	assert_string_equal(
	    b.p, "{\"type\":\"lead.created\",\"timestamp\":\"2023-01-19T00:13:51.000Z\",\"data\":{\"id\":\"lead_1\"}}");
	char sig[RF_SWH_SIGNATURE_MAX];
	rf_swh_sign(key, n, "evt_2KWPBgLlAfxdpx2AI54pPJ85f4W", 1674087231, b.p, b.len, sig);
	assert_string_equal(sig, "v1,9Qj3oS2AczftX4w4iTa6etgnQ9RRkb0PhKQltTcVJF4=");
	rf_dbuf_free(&b);
}

static void verifies_any_signature_of_the_list(void **state)
{
	(void)state;
	unsigned char key[RF_SWH_KEY_MAX];
	size_t n = 0;
	assert_int_equal(rf_swh_secret_decode(VEC_SECRET, key, &n), RF_OK);
	const char *body = VEC_BODY;
	assert_true(rf_swh_verify(key, n, VEC_ID, VEC_TS, body, strlen(body), VEC_SIG));
	/* After a rotation, two signatures: either may be the one that verifies. */
	assert_true(rf_swh_verify(key, n, VEC_ID, VEC_TS, body, strlen(body),
				  "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= " VEC_SIG));
	assert_true(rf_swh_verify(key, n, VEC_ID, VEC_TS, body, strlen(body),
				  VEC_SIG " v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="));
	/* Anything changed: the id, the timestamp, the body, the version, a cut signature. */
	assert_false(rf_swh_verify(key, n, "msg_other", VEC_TS, body, strlen(body), VEC_SIG));
	assert_false(rf_swh_verify(key, n, VEC_ID, VEC_TS + 1, body, strlen(body), VEC_SIG));
	assert_false(rf_swh_verify(key, n, VEC_ID, VEC_TS, "{\"test\": 2432232315}", strlen(body), VEC_SIG));
	assert_false(rf_swh_verify(key, n, VEC_ID, VEC_TS, body, strlen(body),
				   "v1a,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="));
	assert_false(rf_swh_verify(key, n, VEC_ID, VEC_TS, body, strlen(body), "v1,g0hM9SsE+OTPJTGt"));
	assert_false(rf_swh_verify(key, n, VEC_ID, VEC_TS, body, strlen(body), ""));
	assert_false(rf_swh_verify(key, n, VEC_ID, VEC_TS, body, strlen(body), NULL));
}

static void new_secrets_are_random_and_read_back(void **state)
{
	(void)state;
	char a[RF_SWH_SECRET_MAX], b[RF_SWH_SECRET_MAX];
	rf_swh_secret_new(a);
	rf_swh_secret_new(b);
	assert_int_equal(strncmp(a, "whsec_", 6), 0);
	assert_int_equal(strlen(a), 6 + 44);
	assert_string_not_equal(a, b);
	unsigned char key[RF_SWH_KEY_MAX];
	size_t n = 0;
	assert_int_equal(rf_swh_secret_decode(a, key, &n), RF_OK);
	assert_int_equal(n, RF_SWH_KEY_BYTES);
}

static void bad_secrets_are_refused(void **state)
{
	(void)state;
	unsigned char key[RF_SWH_KEY_MAX];
	size_t n = 99;
	/* 16 bytes: shorter than the 24 the specification asks for. */
	assert_int_equal(rf_swh_secret_decode("whsec_AAECAwQFBgcICQoLDA0ODw==", key, &n), RF_EINVAL);
	assert_int_equal(n, 0);
	/* 66 bytes: longer than 64. */
	char longer[RF_SWH_SECRET_MAX + 8] = "whsec_";
	unsigned char raw[66] = {0};
	sodium_bin2base64(longer + 6, sizeof longer - 6, raw, sizeof raw, sodium_base64_VARIANT_ORIGINAL);
	assert_int_equal(rf_swh_secret_decode(longer, key, &n), RF_EINVAL);
	/* 64 bytes exactly: the most allowed. */
	sodium_bin2base64(longer + 6, sizeof longer - 6, raw, 64, sodium_base64_VARIANT_ORIGINAL);
	assert_int_equal(rf_swh_secret_decode(longer, key, &n), RF_OK);
	assert_int_equal(n, 64);
	assert_int_equal(rf_swh_secret_decode("whsec_not base64!", key, &n), RF_EINVAL);
	assert_int_equal(rf_swh_secret_decode("whsec_", key, &n), RF_EINVAL);
	assert_int_equal(rf_swh_secret_decode("", key, &n), RF_EINVAL);
	assert_int_equal(rf_swh_secret_decode(NULL, key, &n), RF_EINVAL);
	/* URL-safe base64 is another alphabet. */
	assert_int_equal(rf_swh_secret_decode("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw-_-_", key, &n), RF_EINVAL);
}

static void the_body_carries_type_time_and_data(void **state)
{
	(void)state;
	rf_dbuf b = RF_DBUF_INIT(1024);
	assert_int_equal(rf_swh_body(&b, "webhook.test", 1767225600123LL, "{\"id\":\"wh_1\",\"x\":[1,2]}"), RF_OK);
	assert_string_equal(b.p,
			    "{\"type\":\"webhook.test\",\"timestamp\":\"2026-01-01T00:00:00.123Z\",\"data\":{\"id\":"
			    "\"wh_1\",\"x\":[1,2]}}");
	rf_dbuf_free(&b);
	/* A body that does not fit fails the buffer rather than leaving a cut one. */
	rf_dbuf small = RF_DBUF_INIT(40);
	assert_int_equal(rf_swh_body(&small, "lead.created", 0, "{\"id\":\"lead_1\"}"), RF_ETOOBIG);
	rf_dbuf_free(&small);
}

static void retries_back_off_over_three_days(void **state)
{
	(void)state;
	static const int64_t want_s[] = {5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400};
	int64_t total = 0, prev = 0;
	for (int i = 1; i < RF_SWH_ATTEMPTS; i++) {
		int64_t d = rf_swh_retry_delay_ms(i, 0);
		assert_int_equal(d, want_s[i - 1] * 1000);
		assert_true(d > prev);
		prev = d;
		total += d;
		/* The jitter adds up to a fifth, never less than nothing. */
		int64_t most = rf_swh_retry_delay_ms(i, UINT32_MAX);
		assert_int_equal(most, d + d / 5);
		int64_t mid = rf_swh_retry_delay_ms(i, UINT32_MAX / 2);
		assert_true(mid > d && mid < most);
	}
	/* The last attempt is 75 h 35 min 5 s after the first: about three days. */
	assert_int_equal(total, (75LL * 3600 + 35 * 60 + 5) * 1000);
	assert_int_equal(rf_swh_retry_delay_ms(RF_SWH_ATTEMPTS, 0), -1);
	assert_int_equal(rf_swh_retry_delay_ms(0, 0), -1);
	assert_int_equal(rf_swh_retry_delay_ms(1000, 7), -1);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(signs_the_published_test_vector),
	    cmocka_unit_test(signs_a_refd_payload_as_hmac_sha256),
	    cmocka_unit_test(verifies_any_signature_of_the_list),
	    cmocka_unit_test(new_secrets_are_random_and_read_back),
	    cmocka_unit_test(bad_secrets_are_refused),
	    cmocka_unit_test(the_body_carries_type_time_and_data),
	    cmocka_unit_test(retries_back_off_over_three_days),
	};
	return cmocka_run_group_tests_name("stdwebhooks", tests, NULL, NULL);
}
