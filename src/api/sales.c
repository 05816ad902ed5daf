/* SPDX-License-Identifier: Apache-2.0 */
/* /api/v1/sales and /api/v1/refunds: money received from customers and given back, each recorded with its
 * commissions (or their reversals) in one transaction, idempotent on the external id. */
#include <stdlib.h>
#include <string.h>

#include "../core/clock.h"
#include "../core/money.h"
#include "../core/text.h"
#include "../http/auth.h"
#include "api.h"

static json_t *entries_json(rf_ctx *c, const rf_commission *items, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, rf_api_commission_json(c, &items[i], false));
	return a;
}

rf_status rf_api_sale_ingest(rf_ctx *c, const rf_sale_input *in, json_t **out, int *status, char **sale_id, rf_err *err)
{
	rf_sale_result res;
	if (rf_svc_sale_ingest(rf_ctx_svc(c), in, &res, err) != RF_OK)
		return err->status;
	*out = rf_view_sale(&res.sale);
	json_object_set_new(*out, "commissions", entries_json(c, res.entries, res.n));
	if (res.replay)
		json_object_set_new(*out, "duplicate", json_true());
	*status = res.replay ? 200 : 201;
	*sale_id = res.sale.id;
	return RF_OK;
}

rf_status rf_api_refund_ingest(rf_ctx *c, const rf_refund_input *in, json_t **out, int *status, char **refund_id,
			       rf_err *err)
{
	rf_refund_result res;
	if (rf_svc_refund_ingest(rf_ctx_svc(c), in, &res, err) != RF_OK)
		return err->status;
	*out = rf_view_refund(&res.refund);
	if (res.replay)
		json_object_set_new(*out, "duplicate", json_true());
	json_object_set_new(*out, "commissions", entries_json(c, res.entries, res.n));
	*status = res.replay ? 200 : 201;
	*refund_id = res.refund.id;
	return RF_OK;
}

static const rf_jfield sale_fields[] = {
    {"program_id", RF_JT_STRING, false, 64, NULL}, {"lead_id", RF_JT_STRING, false, 64, NULL},
    {"email", RF_JT_STRING, false, 254, NULL},     {"customer_external_id", RF_JT_STRING, false, 200, NULL},
    {"amount", RF_JT_MONEY, false, 0, NULL},       {"external_id", RF_JT_STRING, false, 200, NULL},
    {"kind", RF_JT_STRING, false, 16, NULL},       {"occurred_at", RF_JT_STRING, false, 40, NULL},
    {"code", RF_JT_STRING, false, 64, NULL},       {"click_id", RF_JT_STRING, false, 64, NULL},
    {"partner_id", RF_JT_STRING, false, 64, NULL}, {"metadata", RF_JT_OBJECT, false, 8192, NULL},
    {"coupon", RF_JT_STRING, false, 64, NULL},     {NULL, 0, false, 0, NULL},
};

/* An optional RFC 3339 member into unix ms (0 when absent). */
static rf_status time_member(json_t *body, const char *name, int64_t *out, rf_err *err)
{
	*out = 0;
	const char *s = rf_json_str(body, name);
	if (s && rf_clock_parse(s, out) != 0)
		return rf_err_set(err, RF_EINVAL, name, "%s must be an RFC 3339 time such as 2026-01-31T12:00:00Z",
				  name);
	return RF_OK;
}

/* A trimmed string member, NULL when absent or blank. */
static const char *text_member(rf_ctx *c, json_t *body, const char *name)
{
	char *s = rf_trim_arena(c->a, rf_json_str(body, name));
	return s && *s ? s : NULL;
}

void rf_api_sales_create(rf_ctx *c)
{
	json_t *body = rf_api_body(c, sale_fields);
	if (!body)
		return;
	rf_err err = {0};
	rf_sale_input in;
	memset(&in, 0, sizeof in);
	rf_money m;
	if (rf_json_money(body, "amount", 1, RF_MONEY_MAX, &m, &err) != RF_OK ||
	    time_member(body, "occurred_at", &in.occurred_at, &err) != RF_OK)
		goto fail;
	in.amount = m.amount;
	memcpy(in.currency, m.currency, 4);
	in.program_id = rf_json_str(body, "program_id");
	in.lead_id = text_member(c, body, "lead_id");
	in.email = text_member(c, body, "email");
	in.customer_external_id = text_member(c, body, "customer_external_id");
	in.external_id = text_member(c, body, "external_id");
	in.kind = rf_json_str(body, "kind");
	in.code = text_member(c, body, "code");
	in.click_id = text_member(c, body, "click_id");
	in.partner_id = text_member(c, body, "partner_id");
	/* The coupon the customer typed at checkout: a partner's credits that partner, another is kept as said. */
	in.coupons[0] = text_member(c, body, "coupon");
	in.n_coupons = in.coupons[0] ? 1 : 0;
	in.source = "api";
	if (!in.external_id) {
		rf_err_set(&err, RF_EINVAL, "external_id", "external_id (the invoice or order id) is required");
		goto fail;
	}
	if (in.kind && strcmp(in.kind, "first") != 0 && strcmp(in.kind, "recurring") != 0) {
		rf_err_set(&err, RF_EINVAL, "kind", "kind must be first or recurring");
		goto fail;
	}
	if (in.occurred_at > rf_clock_now_ms() + 86400000LL) {
		rf_err_set(&err, RF_EINVAL, "occurred_at", "occurred_at cannot be in the future");
		goto fail;
	}
	json_t *meta = json_object_get(body, "metadata");
	char *mtxt = meta ? json_dumps(meta, JSON_COMPACT) : NULL;
	in.metadata = mtxt ? rf_arena_strdup(c->a, mtxt) : NULL;
	free(mtxt);
	json_t *out = NULL;
	int status = 0;
	char *id = NULL;
	if (rf_api_sale_ingest(c, &in, &out, &status, &id, &err) != RF_OK) {
		json_decref(out);
		goto fail;
	}
	json_decref(body);
	rf_json_send(c, status, out);
	return;
fail:
	json_decref(body);
	rf_json_error(c, &err);
}

static const rf_jfield refund_fields[] = {
    {"program_id", RF_JT_STRING, false, 64, NULL},
    {"sale_id", RF_JT_STRING, false, 64, NULL},
    {"sale_external_id", RF_JT_STRING, false, 200, NULL},
    {"amount", RF_JT_MONEY, false, 0, NULL},
    {"kind", RF_JT_STRING, false, 16, NULL},
    {"external_id", RF_JT_STRING, false, 200, NULL},
    {"reason", RF_JT_STRING, false, 500, NULL},
    {"occurred_at", RF_JT_STRING, false, 40, NULL},
    {NULL, 0, false, 0, NULL},
};

void rf_api_refunds_create(rf_ctx *c)
{
	json_t *body = rf_api_body(c, refund_fields);
	if (!body)
		return;
	rf_err err = {0};
	rf_refund_input in;
	memset(&in, 0, sizeof in);
	if (json_object_get(body, "amount")) {
		rf_money m;
		if (rf_json_money(body, "amount", 1, RF_MONEY_MAX, &m, &err) != RF_OK)
			goto fail;
		in.has_amount = true;
		in.amount = m.amount;
		memcpy(in.currency, m.currency, 4);
	}
	if (time_member(body, "occurred_at", &in.occurred_at, &err) != RF_OK)
		goto fail;
	in.program_id = rf_json_str(body, "program_id");
	in.sale_id = text_member(c, body, "sale_id");
	in.sale_external_id = text_member(c, body, "sale_external_id");
	in.kind = rf_json_str(body, "kind");
	in.external_id = text_member(c, body, "external_id");
	in.reason = text_member(c, body, "reason");
	if (in.kind && strcmp(in.kind, "refund") != 0 && strcmp(in.kind, "dispute") != 0) {
		rf_err_set(&err, RF_EINVAL, "kind", "kind must be refund or dispute");
		goto fail;
	}
	json_t *out = NULL;
	int status = 0;
	char *id = NULL;
	if (rf_api_refund_ingest(c, &in, &out, &status, &id, &err) != RF_OK) {
		json_decref(out);
		goto fail;
	}
	json_decref(body);
	rf_json_send(c, status, out);
	return;
fail:
	json_decref(body);
	rf_json_error(c, &err);
}

void rf_api_sales_get(rf_ctx *c)
{
	rf_sale x;
	rf_err err = {0};
	rf_status rc = rf_store_sale_get(c->app->store, c->params[0], &x, c->a, &err);
	const char *scope = rf_auth_scope(c);
	if (rc == RF_OK && scope && !(x.partner_id && strcmp(x.partner_id, scope) == 0) &&
	    !(x.agent_id && strcmp(x.agent_id, scope) == 0))
		rc = RF_ENOTFOUND;
	if (!rf_api_found(c, rc, &err, "sale"))
		return;
	rf_commission *items = NULL;
	size_t n = 0;
	if (rf_svc_sale_entries(rf_ctx_svc(c), x.id, false, &items, &n, &err) != RF_OK) {
		rf_json_error(c, &err);
		return;
	}
	json_t *out = rf_view_sale(&x);
	json_t *list = json_array();
	for (size_t i = 0; i < n; i++)
		if (!scope || strcmp(items[i].partner_id, scope) == 0)
			json_array_append_new(list, rf_api_commission_json(c, &items[i], false));
	json_object_set_new(out, "commissions", list);
	/* The refunds and disputes of the sale, oldest first. */
	rf_refund *rf = NULL;
	size_t nr = 0;
	if (rf_store_refund_list(c->app->store, x.id, &rf, &nr, c->a, &err) != RF_OK) {
		json_decref(out);
		rf_json_error(c, &err);
		return;
	}
	json_t *refunds = json_array();
	for (size_t i = 0; i < nr; i++)
		json_array_append_new(refunds, rf_view_refund(&rf[i]));
	json_object_set_new(out, "refunds", refunds);
	rf_json_send(c, 200, out);
}

void rf_api_sales_list(rf_ctx *c)
{
	rf_err err = {0};
	rf_sale_filter f;
	memset(&f, 0, sizeof f);
	if (rf_json_page(c, &f.page, &err) != RF_OK)
		goto fail;
	f.program_id = rf_req_query(c->req, "program_id");
	f.partner_id = rf_req_query(c->req, "partner_id");
	f.customer_id = rf_req_query(c->req, "customer_id");
	const char *from = rf_req_query(c->req, "from"), *to = rf_req_query(c->req, "to");
	if (from && rf_clock_parse(from, &f.from) != 0) {
		rf_err_set(&err, RF_EINVAL, "from", "from must be an RFC 3339 time");
		goto fail;
	}
	if (to && rf_clock_parse(to, &f.to) != 0) {
		rf_err_set(&err, RF_EINVAL, "to", "to must be an RFC 3339 time");
		goto fail;
	}
	const char *scope = rf_auth_scope(c);
	if (scope) {
		if (f.partner_id && strcmp(f.partner_id, scope) != 0) {
			rf_err_set(&err, RF_EFORBIDDEN, "partner_id", "you can list your own sales only");
			goto fail;
		}
		f.scope_id = scope;
	}
	rf_sale *items = NULL;
	size_t n = 0;
	bool more = false;
	if (rf_store_sale_list(c->app->store, &f, &items, &n, &more, c->a, &err) != RF_OK)
		goto fail;
	json_t *data = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(data, rf_view_sale(&items[i]));
	rf_json_send(c, 200, rf_json_list(data, more));
	return;
fail:
	rf_json_error(c, &err);
}
