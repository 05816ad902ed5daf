/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for what HubSpot sends: the webhook batch reader (every event it accepts has its ids, and a
 * dedupe key that names them), the URI decoding of the signature (never longer than its input) and the decimal
 * amounts CRMs send (within refd's bound, and exact: printed back they read the same). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/crm.h"
#include "core/money.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536)
		return 0;
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	rf_arena a;
	rf_arena_init(&a, 16 << 20);
	rf_err err = {0};
	rf_hubspot_event *ev = NULL;
	size_t n = 0;
	if (rf_hubspot_parse(text, size, &a, &ev, &n, &err) == RF_OK) {
		if (n == 0 || n > RF_HUBSPOT_MAX_EVENTS)
			abort();
		for (size_t i = 0; i < n; i++)
			if (!ev[i].object_id || !ev[i].event_id || !ev[i].dedupe_key ||
			    !strstr(ev[i].dedupe_key, ev[i].event_id) || !strstr(ev[i].dedupe_key, ev[i].object_id))
				abort();
	} else if (!err.message[0]) {
		abort();
	}
	char *decoded = rf_hubspot_uri_decode(&a, text);
	if (decoded && strlen(decoded) > strlen(text))
		abort();
	if (size <= 40) {
		int64_t v = 0;
		char cur[4];
		if (rf_crm_amount(text, "usd", &v, cur) == RF_OK) {
			if (v <= 0 || v > RF_MONEY_MAX)
				abort();
			char back[64];
			int64_t again = 0;
			if (rf_money_format(v, 2, back, sizeof back) < 0 ||
			    rf_crm_amount(back, "usd", &again, cur) != RF_OK || again != v)
				abort();
		}
	}
	rf_arena_reset(&a);
	free(text);
	return 0;
}
