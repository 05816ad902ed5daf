/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for Chargebee's webhooks as refd reads them: the Authorization header (the input's first line)
 * checked against fixed credentials, and the event body (the rest). Besides not crashing, each read keeps its
 * promises: only the exact Basic header of the credentials passes, amounts stay within refd's bound, and the
 * coupons found are bounded and distinct. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/chargebee.h"
#include "core/money.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* base64("refd-webhook:fixture-password-not-real") */
static const char TOKEN[] = "cmVmZC13ZWJob29rOmZpeHR1cmUtcGFzc3dvcmQtbm90LXJlYWw=";

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
	if (rf_basic_auth_matches(header, "refd-webhook", "fixture-password-not-real")) {
		/* Only "Basic <token>" (scheme in any case, spaces before the token) passes. */
		const char *p = header;
		while (*p == ' ')
			p++;
		p += 6;
		while (*p == ' ')
			p++;
		if (strcmp(p, TOKEN) != 0)
			abort();
	}
	free(header);
	rf_arena a;
	rf_arena_init(&a, 0);
	rf_err err = {0};
	rf_chargebee_event ev;
	if (rf_chargebee_event_parse(body, blen, &a, &ev, &err) == RF_OK) {
		if (!ev.event_id || !ev.type)
			abort();
		if (ev.has_amount && (ev.amount < 0 || ev.amount > RF_MONEY_MAX || strlen(ev.currency) != 3))
			abort();
		if (ev.n_coupons > RF_CHARGEBEE_MAX_COUPONS)
			abort();
		for (size_t i = 0; i < ev.n_coupons; i++)
			for (size_t k = i + 1; k < ev.n_coupons; k++)
				if (strcmp(ev.coupons[i], ev.coupons[k]) == 0)
					abort();
	} else if (err.status == RF_OK || !err.message[0]) {
		abort();
	}
	rf_arena_reset(&a);
	return 0;
}
