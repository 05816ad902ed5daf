/* SPDX-License-Identifier: Apache-2.0 */
/* GET /api/v1/currencies: the server's ISO 4217 table, so that clients (the web UI first) format and parse
 * amounts with the exponents the server uses rather than with a copy of their own. */
#include <stdlib.h>
#include <string.h>

#include "../core/money.h"
#include "api.h"

void rf_api_currencies_list(rf_ctx *c)
{
	json_t *data = json_array();
	json_t *list = NULL;
	char *text = NULL;
	if (!data)
		goto fail;
	for (size_t i = 0; i < rf_currency_count(); i++) {
		char code[4];
		int exponent = rf_currency_at(i, code);
		json_t *o = json_pack("{s:s, s:o, s:i}", "object", "currency", "code", rf_json_code(code), "exponent",
				      exponent);
		if (!o || json_array_append_new(data, o) != 0)
			goto fail;
	}
	list = rf_json_list(data, false);
	data = NULL;
	if (!list)
		goto fail;
	text = json_dumps(list, JSON_COMPACT | JSON_ENSURE_ASCII);
	if (!text)
		goto fail;
	/* The table is part of the binary: the same for every caller until refd is upgraded, so caches may keep it a
	 * while (as they may keep the OpenAPI document). */
	rf_resp_header(c->req, "Cache-Control", "public, max-age=300");
	rf_resp_send(c->req, 200, "application/json", text, strlen(text));
	free(text);
	json_decref(list);
	return;
fail:
	json_decref(data);
	json_decref(list);
	rf_json_fail(c, RF_ENOMEM, NULL, "out of memory listing the currencies");
}
