/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the resource handlers: audit entries, integer members, JSON views and CSV cells. */
#include <stdlib.h>
#include <string.h>

#include "../core/clock.h"
#include "../core/code.h"
#include "../core/money.h"
#include "../core/text.h"
#include "api.h"

rf_status rf_api_audit(rf_ctx *c, const char *action, const char *object_id, const char *detail, rf_err *err)
{
	return rf_svc_audit(rf_ctx_svc(c), action, object_id, detail, err);
}

json_t *rf_api_body(rf_ctx *c, const rf_jfield *fields)
{
	rf_err err = {0};
	json_t *body = NULL;
	if (rf_json_body(c, fields, &body, &err) != RF_OK) {
		rf_json_error(c, &err);
		return NULL;
	}
	return body;
}

bool rf_api_found(rf_ctx *c, rf_status rc, const rf_err *err, const char *what)
{
	if (rc == RF_ENOTFOUND)
		rf_json_fail(c, RF_ENOTFOUND, "id", "no such %s: %s", what, c->params[0]);
	else if (rc != RF_OK)
		rf_json_error(c, err);
	return rc == RF_OK;
}

rf_status rf_api_int(json_t *body, const char *name, int64_t min, int64_t max, int64_t *out, rf_err *err)
{
	json_t *v = json_object_get(body, name);
	if (!v || json_is_null(v))
		return RF_OK;
	json_int_t i = json_integer_value(v);
	if (i < min || i > max)
		return rf_err_set(err, RF_EINVAL, name, "%s must be between %lld and %lld", name, (long long)min,
				  (long long)max);
	*out = i;
	return RF_OK;
}

rf_status rf_api_program_or_only(rf_ctx *c, const char *pid, rf_program *prog, rf_err *err)
{
	return rf_svc_program_or_only(rf_ctx_svc(c), pid, prog, err);
}

size_t rf_api_export_max(const rf_ctx *c)
{
	return c->app && c->app->cfg && c->app->cfg->max_export ? c->app->cfg->max_export : RF_EXPORT_MAX;
}

void rf_api_send_dbuf(rf_ctx *c, const char *content_type, const char *disposition, const char *what, rf_dbuf *b)
{
	char *body = NULL;
	size_t len = 0;
	rf_status st = rf_dbuf_take(b, &body, &len);
	if (st == RF_ETOOBIG) {
		rf_json_fail(c, RF_EINVAL, NULL,
			     "the %s would be larger than %zu bytes (--max-export): ask for less (a shorter period, a "
			     "filter)",
			     what, b->max);
		return;
	}
	if (st != RF_OK) {
		rf_json_fail(c, RF_EUNAVAIL, NULL, "out of memory while building the %s; try again", what);
		return;
	}
	if (disposition)
		rf_resp_header(c->req, "Content-Disposition", disposition);
	rf_resp_header(c->req, "Cache-Control", "no-store");
	rf_resp_send(c->req, 200, content_type, body, len);
	free(body);
}
