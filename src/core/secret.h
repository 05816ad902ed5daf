/* SPDX-License-Identifier: Apache-2.0 */
/* Cryptography refd relies on, all from libsodium: Argon2id passwords, SHA-256 digests of tokens, keyed hashes,
 * and sealing of sensitive fields (tax ids) with the instance key. */
#ifndef RF_SECRET_H
#define RF_SECRET_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "status.h"

#define RF_PASSWORD_HASH_MAX 128
#define RF_HEX256_LEN 65 /* 64 hex characters and a NUL */

/* Must run once before any other call here (it initialises libsodium). Returns -1 on failure. */
int rf_secret_init(void);

/* Argon2id hash in libsodium's string form into out. RF_ENOMEM when the hash cannot be computed. */
rf_status rf_password_hash(const char *password, char out[RF_PASSWORD_HASH_MAX]);

/* True when password matches a hash made by rf_password_hash. Takes the same time for wrong passwords. */
bool rf_password_verify(const char *hash, const char *password);

/* Lower-case hex SHA-256 of data. Used for high-entropy secrets (API keys, session tokens) where a slow hash
 * adds nothing. */
void rf_sha256_hex(const void *data, size_t len, char out[RF_HEX256_LEN]);

/* Lower-case hex of HMAC-SHA-256(key, data): a keyed hash that cannot be reversed without the key. */
void rf_keyed_hash_hex(const unsigned char key[32], const void *data, size_t len, char out[RF_HEX256_LEN]);

/* Hex HMAC-SHA256 of data under a key of any length (webhook signatures). */
void rf_hmac_sha256_hex(const void *key, size_t key_len, const void *data, size_t len, char out[RF_HEX256_LEN]);

/* The same over head followed by data, without joining them (a signed "timestamp:body"). */
void rf_hmac_sha256_hex_of(const void *key, size_t key_len, const void *head, size_t head_len, const void *data,
			   size_t len, char out[RF_HEX256_LEN]);

/* Encrypts plaintext with key (XSalsa20-Poly1305 and a random nonce); the nonce travels in front of the
 * ciphertext. The result lives in the arena. RF_ENOMEM on failure. */
rf_status rf_seal(const unsigned char key[32], const char *plaintext, rf_arena *a, unsigned char **out,
		  size_t *out_len);

/* Reverses rf_seal into an arena string; RF_EINVAL when the blob was not sealed with key or was altered. */
rf_status rf_unseal(const unsigned char key[32], const unsigned char *blob, size_t len, rf_arena *a, char **out);

/* Fills buf with n unpredictable bytes without a system call: ChaCha20 keyed once per thread from the
 * system's generator, with a counter as nonce. For ids on hot paths; secrets use randombytes_buf. */
void rf_random_fast(void *buf, size_t n);

/* True when the two strings are equal, in time that depends only on their lengths. */
bool rf_secret_equal(const char *a, const char *b);

#endif
