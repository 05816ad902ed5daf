/* SPDX-License-Identifier: Apache-2.0 */
/* Standard Webhooks (https://www.standardwebhooks.com, version 1.0.0): signing secrets, the payload refd sends,
 * the symmetric signature (v1, HMAC-SHA256) over "id.timestamp.body", and the retry schedule of a delivery. Pure:
 * no I/O beyond libsodium's random bytes for a new secret. */
#ifndef RF_STDWEBHOOKS_H
#define RF_STDWEBHOOKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dbuf.h"
#include "status.h"

/* Bytes of key in a secret refd makes (the specification allows 24 to 64). */
#define RF_SWH_KEY_BYTES 32
#define RF_SWH_KEY_MIN 24
#define RF_SWH_KEY_MAX 64
/* "whsec_" and the base64 of RF_SWH_KEY_MAX bytes, with its NUL: room for any secret refd reads. */
#define RF_SWH_SECRET_MAX (6 + 4 * ((RF_SWH_KEY_MAX + 2) / 3) + 1)
/* "v1," and the base64 of a 32-byte HMAC, with its NUL. */
#define RF_SWH_SIGNATURE_MAX (3 + 44 + 1)

/* Writes a new secret into out: "whsec_" and the standard base64 of RF_SWH_KEY_BYTES random bytes. out needs
 * RF_SWH_SECRET_MAX bytes. */
void rf_swh_secret_new(char out[RF_SWH_SECRET_MAX]);

/* Decodes a secret ("whsec_" and standard base64; the prefix may be left out) into key (RF_SWH_KEY_MAX bytes);
 * *key_len receives its length. RF_EINVAL when it is not base64 or its key is not 24 to 64 bytes long. */
rf_status rf_swh_secret_decode(const char *secret, unsigned char key[RF_SWH_KEY_MAX], size_t *key_len);

/* The signature of one message: "v1," and the standard base64 of HMAC-SHA256(key, msg_id "." timestamp "." body),
 * timestamp in unix seconds, into out. */
void rf_swh_sign(const unsigned char *key, size_t key_len, const char *msg_id, int64_t timestamp, const void *body,
		 size_t body_len, char out[RF_SWH_SIGNATURE_MAX]);

/* True when the webhook-signature header (a space-separated list of "version,signature") holds a v1 signature of
 * the message under key; compared in constant time. For the tests and for anyone who verifies with refd's code. */
bool rf_swh_verify(const unsigned char *key, size_t key_len, const char *msg_id, int64_t timestamp, const void *body,
		   size_t body_len, const char *header);

/* The body of a delivery: {"type": type, "timestamp": the RFC 3339 time of created_ms, "data": data}, where data is
 * the event's object as JSON text (written as it is: it was rendered by refd). Appended to b; returns b's status. */
rf_status rf_swh_body(rf_dbuf *b, const char *type, int64_t created_ms, const char *data);

/* The retry schedule: after the attempts-th attempt failed (1 for the first), the delay before the next one in
 * milliseconds, or -1 when that was the last attempt. jitter (any 32-bit value, random in use) adds up to a fifth
 * of the delay, so that deliveries that failed together do not come back together. The delays follow the
 * specification's example: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h, so that the tenth and last attempt
 * comes 3 days, 3 hours and 35 minutes after the first without the jitter (3 days and 19 hours at most with it). */
int64_t rf_swh_retry_delay_ms(int attempts, uint32_t jitter);
/* How many attempts a delivery gets in all. */
#define RF_SWH_ATTEMPTS 10

#endif
