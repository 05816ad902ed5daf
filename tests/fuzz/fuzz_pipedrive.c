/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for what Pipedrive sends: the webhook v2 reader (an event it accepts has its id, action and
 * entity; a deal's value, when read, is a decimal amount refd's amount reader takes or refuses cleanly) and the HTTP
 * Basic check (what passes for some credentials passes for no others). */
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
	rf_pipedrive_event ev;
	if (rf_pipedrive_parse(text, size, "a4f1c2e3b5d6978812ab34cd56ef7890a1b2c3d4", "click", &a, &ev, &err) ==
	    RF_OK) {
		if (!ev.id || !ev.action || !ev.entity)
			abort();
		if (ev.amount) {
			int64_t v = 0;
			char cur[4];
			rf_status rc = rf_crm_amount(ev.amount, "EUR", &v, cur);
			if (rc == RF_OK && (v <= 0 || v > RF_MONEY_MAX))
				abort();
			if (rc != RF_OK && rc != RF_EINVAL && rc != RF_EOVERFLOW)
				abort();
		}
	} else if (!err.message[0] || !err.field[0]) {
		abort();
	}
	/* The input as an Authorization header: what passes for these credentials passes for no others. */
	if (rf_basic_auth_ok(text, "refd-hook", "pw") &&
	    (rf_basic_auth_ok(text, "refd-hook", "pW") || rf_basic_auth_ok(text, "refd-hoo", "pw") ||
	     rf_basic_auth_ok(text, "refd-hook", "pw2")))
		abort();
	rf_arena_reset(&a);
	free(text);
	return 0;
}
