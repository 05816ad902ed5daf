/* SPDX-License-Identifier: Apache-2.0 */
/* Standard Webhooks signing and payloads, with libsodium's HMAC-SHA256 and base64. */
#include "stdwebhooks.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "text.h"

#define PREFIX "whsec_"
#define PREFIX_LEN 6

void rf_swh_secret_new(char out[RF_SWH_SECRET_MAX])
{
	unsigned char key[RF_SWH_KEY_BYTES];
	randombytes_buf(key, sizeof key);
	memcpy(out, PREFIX, PREFIX_LEN);
	sodium_bin2base64(out + PREFIX_LEN, RF_SWH_SECRET_MAX - PREFIX_LEN, key, sizeof key,
			  sodium_base64_VARIANT_ORIGINAL);
	sodium_memzero(key, sizeof key);
}

rf_status rf_swh_secret_decode(const char *secret, unsigned char key[RF_SWH_KEY_MAX], size_t *key_len)
{
	*key_len = 0;
	if (!secret)
		return RF_EINVAL;
	if (strncmp(secret, PREFIX, PREFIX_LEN) == 0)
		secret += PREFIX_LEN;
	size_t n = strlen(secret), len = 0;
	const char *end = NULL;
	/* The longest base64 a 64-byte key has; a longer text is not one of ours, whatever it decodes to. */
	if (n == 0 || n > 4 * ((RF_SWH_KEY_MAX + 2) / 3))
		return RF_EINVAL;
	if (sodium_base642bin(key, RF_SWH_KEY_MAX, secret, n, NULL, &len, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    end != secret + n || len < RF_SWH_KEY_MIN || len > RF_SWH_KEY_MAX)
		return RF_EINVAL;
	*key_len = len;
	return RF_OK;
}

static void mac(const unsigned char *key, size_t key_len, const char *msg_id, int64_t timestamp, const void *body,
		size_t body_len, unsigned char out[crypto_auth_hmacsha256_BYTES])
{
	char ts[24];
	int tn = snprintf(ts, sizeof ts, "%lld", (long long)timestamp);
	crypto_auth_hmacsha256_state st;
	crypto_auth_hmacsha256_init(&st, key, key_len);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)msg_id, strlen(msg_id));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)ts, (size_t)tn);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
	crypto_auth_hmacsha256_update(&st, body, body_len);
	crypto_auth_hmacsha256_final(&st, out);
	sodium_memzero(&st, sizeof st);
}

void rf_swh_sign(const unsigned char *key, size_t key_len, const char *msg_id, int64_t timestamp, const void *body,
		 size_t body_len, char out[RF_SWH_SIGNATURE_MAX])
{
	unsigned char d[crypto_auth_hmacsha256_BYTES];
	mac(key, key_len, msg_id, timestamp, body, body_len, d);
	memcpy(out, "v1,", 3);
	sodium_bin2base64(out + 3, RF_SWH_SIGNATURE_MAX - 3, d, sizeof d, sodium_base64_VARIANT_ORIGINAL);
}

bool rf_swh_verify(const unsigned char *key, size_t key_len, const char *msg_id, int64_t timestamp, const void *body,
		   size_t body_len, const char *header)
{
	char want[RF_SWH_SIGNATURE_MAX];
	rf_swh_sign(key, key_len, msg_id, timestamp, body, body_len, want);
	size_t wn = strlen(want);
	bool ok = false;
	if (!header)
		return false;
	/* Every item is compared, whatever the ones before gave, so that the time taken says nothing about which. */
	for (const char *p = header; *p;) {
		while (*p == ' ')
			p++;
		const char *e = p;
		while (*e && *e != ' ')
			e++;
		if ((size_t)(e - p) == wn && sodium_memcmp(p, want, wn) == 0)
			ok = true;
		p = e;
	}
	return ok;
}

rf_status rf_swh_body(rf_dbuf *b, const char *type, int64_t created_ms, const char *data)
{
	char ts[40], esc[128];
	rf_clock_format(created_ms, ts, sizeof ts);
	rf_json_escape(esc, sizeof esc, type);
	rf_dbuf_addf(b, "{\"type\":\"%s\",\"timestamp\":\"%s\",\"data\":", esc, ts);
	rf_dbuf_adds(b, data && *data ? data : "{}");
	return rf_dbuf_add(b, "}", 1);
}

int64_t rf_swh_retry_delay_ms(int attempts, uint32_t jitter)
{
	static const int64_t delay_s[RF_SWH_ATTEMPTS - 1] = {
	    5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 14 * 3600, 20 * 3600, 24 * 3600,
	};
	if (attempts < 1 || attempts >= RF_SWH_ATTEMPTS)
		return -1;
	int64_t base = delay_s[attempts - 1] * 1000;
	/* A fifth of the delay at most, spread evenly by the random value. */
	return base + (int64_t)((uint64_t)(base / 5) * jitter / UINT32_MAX);
}
