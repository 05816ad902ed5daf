/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for Paddle's webhooks as refd reads them: the Paddle-Signature header (split off the input's
 * first line) and the event body (the rest). Besides not crashing, each read keeps its promises: amounts within
 * refd's bound, currencies of three letters, strings in the arena, and a signature never matches a body it was not
 * made for. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/money.h"
#include "core/paddle.h"
#include "core/secret.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t hlen = nl ? (size_t)(nl - data) : size;
	const char *body = nl ? (const char *)nl + 1 : "";
	size_t blen = nl ? size - hlen - 1 : 0;
	char *header = malloc(hlen + 1);
	if (!header)
		return 0;
	memcpy(header, data, hlen);
	header[hlen] = '\0';
	char buf[256];
	rf_paddle_signature sig;
	if (rf_paddle_signature_parse(header, buf, sizeof buf, &sig)) {
		if (sig.n == 0 || sig.n > RF_PADDLE_MAX_H1 || sig.ts < 0)
			abort();
		for (size_t i = 0; i < sig.n; i++)
			if (strlen(sig.h1[i]) != 64)
				abort();
		/* A header made of bytes from the input does not sign the body under a secret the input never saw. */
		if (rf_paddle_signature_matches(&sig, "pdl_ntfset_fuzz_secret_not_in_the_input", body, blen))
			abort();
	}
	free(header);
	rf_arena a;
	rf_arena_init(&a, 0);
	rf_err err = {0};
	rf_paddle_event ev;
	if (rf_paddle_event_parse(body, blen, &a, &ev, &err) == RF_OK) {
		if (!ev.event_id || !ev.type)
			abort();
		if (ev.has_total && (ev.total < 0 || ev.total > RF_MONEY_MAX || strlen(ev.currency) != 3))
			abort();
		if (ev.n_codes > RF_PADDLE_MAX_CODES)
			abort();
	} else if (err.status == RF_OK || !err.message[0]) {
		abort();
	}
	rf_arena_reset(&a);
	return 0;
}
