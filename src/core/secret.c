/* SPDX-License-Identifier: Apache-2.0 */
/* Password hashing, token digests, keyed hashes and field sealing, through libsodium. */
#include "secret.h"

#include <sodium.h>
#include <string.h>

int rf_secret_init(void)
{
	return sodium_init() < 0 ? -1 : 0;
}

rf_status rf_password_hash(const char *password, char out[RF_PASSWORD_HASH_MAX])
{
	_Static_assert(crypto_pwhash_STRBYTES <= RF_PASSWORD_HASH_MAX, "hash buffer too small");
	if (crypto_pwhash_str_alg(out, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
				  crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13) != 0)
		return RF_ENOMEM;
	return RF_OK;
}

bool rf_password_verify(const char *hash, const char *password)
{
	if (!hash || !password)
		return false;
	return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
}

void rf_sha256_hex(const void *data, size_t len, char out[RF_HEX256_LEN])
{
	unsigned char d[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(d, data, len);
	sodium_bin2hex(out, RF_HEX256_LEN, d, sizeof d);
}

void rf_keyed_hash_hex(const unsigned char key[32], const void *data, size_t len, char out[RF_HEX256_LEN])
{
	/* The key is the instance's, the same on every call: its HMAC state (two SHA-256 blocks of padded key) is
	 * prepared once per thread and copied, which halves the work of hashing a short address. */
	static _Thread_local unsigned char cached_key[32];
	static _Thread_local crypto_auth_hmacsha256_state cached;
	static _Thread_local bool have;
	if (!have || sodium_memcmp(cached_key, key, 32) != 0) {
		crypto_auth_hmacsha256_init(&cached, key, 32);
		memcpy(cached_key, key, 32);
		have = true;
	}
	crypto_auth_hmacsha256_state st = cached;
	unsigned char d[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_update(&st, data, len);
	crypto_auth_hmacsha256_final(&st, d);
	sodium_bin2hex(out, RF_HEX256_LEN, d, sizeof d);
}

void rf_hmac_sha256_hex(const void *key, size_t key_len, const void *data, size_t len, char out[RF_HEX256_LEN])
{
	unsigned char d[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_state st;
	crypto_auth_hmacsha256_init(&st, key, key_len);
	crypto_auth_hmacsha256_update(&st, data, len);
	crypto_auth_hmacsha256_final(&st, d);
	sodium_bin2hex(out, RF_HEX256_LEN, d, sizeof d);
}

void rf_hmac_sha256_hex_of(const void *key, size_t key_len, const void *head, size_t head_len, const void *data,
			   size_t len, char out[RF_HEX256_LEN])
{
	unsigned char d[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_state st;
	crypto_auth_hmacsha256_init(&st, key, key_len);
	crypto_auth_hmacsha256_update(&st, head, head_len);
	crypto_auth_hmacsha256_update(&st, data, len);
	crypto_auth_hmacsha256_final(&st, d);
	sodium_bin2hex(out, RF_HEX256_LEN, d, sizeof d);
}

rf_status rf_seal(const unsigned char key[32], const char *plaintext, rf_arena *a, unsigned char **out, size_t *out_len)
{
	size_t n = strlen(plaintext);
	size_t total = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + n;
	unsigned char *blob = rf_arena_alloc(a, total);
	if (!blob)
		return RF_ENOMEM;
	randombytes_buf(blob, crypto_secretbox_NONCEBYTES);
	crypto_secretbox_easy(blob + crypto_secretbox_NONCEBYTES, (const unsigned char *)plaintext, n, blob, key);
	*out = blob;
	*out_len = total;
	return RF_OK;
}

rf_status rf_unseal(const unsigned char key[32], const unsigned char *blob, size_t len, rf_arena *a, char **out)
{
	if (len < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES)
		return RF_EINVAL;
	size_t n = len - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES;
	char *p = rf_arena_alloc(a, n + 1);
	if (!p)
		return RF_ENOMEM;
	if (crypto_secretbox_open_easy((unsigned char *)p, blob + crypto_secretbox_NONCEBYTES,
				       len - crypto_secretbox_NONCEBYTES, blob, key) != 0)
		return RF_EINVAL;
	p[n] = '\0';
	*out = p;
	return RF_OK;
}

void rf_random_fast(void *buf, size_t n)
{
	static _Thread_local unsigned char key[crypto_stream_chacha20_KEYBYTES];
	static _Thread_local uint64_t counter;
	static _Thread_local int keyed;
	if (!keyed) {
		randombytes_buf(key, sizeof key);
		keyed = 1;
	}
	unsigned char nonce[crypto_stream_chacha20_NONCEBYTES] = {0};
	uint64_t c = counter++;
	memcpy(nonce, &c, sizeof c < sizeof nonce ? sizeof c : sizeof nonce);
	crypto_stream_chacha20(buf, n, nonce, key);
}

bool rf_secret_equal(const char *a, const char *b)
{
	if (!a || !b)
		return false;
	size_t la = strlen(a), lb = strlen(b);
	if (la != lb)
		return false;
	return sodium_memcmp(a, b, la) == 0;
}
