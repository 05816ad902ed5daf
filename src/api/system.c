/* SPDX-License-Identifier: Apache-2.0 */
/* Liveness, readiness and the OpenAPI document. */
#include <string.h>

#include "api.h"

void rf_api_healthz(rf_ctx *c)
{
	rf_json_send(c, 200, json_pack("{s:s}", "status", "ok"));
}

void rf_api_readyz(rf_ctx *c)
{
	rf_err err = {0};
	int dbv = 0, binv = 0;
	const char *db = rf_store_backend(c->app->store);
	if (rf_store_ping(c->app->store, &err) != RF_OK ||
	    rf_store_schema_version(c->app->store, &dbv, &binv, &err) != RF_OK) {
		rf_resp_header(c->req, "Retry-After", "5");
		rf_json_send(
		    c, 503,
		    json_pack("{s:s, s:s, s:s}", "status", "unavailable", "database", db, "reason", err.message));
		return;
	}
	if (dbv != binv) {
		rf_json_send(c, 503,
			     json_pack("{s:s, s:s, s:s, s:i, s:i}", "status", "unavailable", "database", db, "reason",
				       "the database schema is not at this binary's version; run refd migrate",
				       "schema_version", dbv, "expected_schema_version", binv));
		return;
	}
	rf_json_send(c, 200, json_pack("{s:s, s:s, s:i}", "status", "ready", "database", db, "schema_version", dbv));
}

void rf_api_openapi(rf_ctx *c)
{
	rf_resp_header(c->req, "Cache-Control", "public, max-age=300");
	rf_resp_send(c->req, 200, "application/json", rf_openapi_json, rf_openapi_json_len);
}
