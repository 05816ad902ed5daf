/* SPDX-License-Identifier: Apache-2.0 */
/* /api/v1/payout-runs, statements, payout forecasts and year-end tax totals: paying every partner what it is
 * owed, once, in its currency. The run logic takes a context without a request, so the CLI shares it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/clock.h"
#include "../core/money.h"
#include "../core/plan.h"
#include "../core/text.h"
#include "../http/auth.h"
#include "api.h"

#define MAX_ITEMS 10000
#define DAY_MS 86400000LL

static void reply_run(rf_ctx *c, int status, const rf_payout_run *run)
{
	rf_err err = {0};
	json_t *o = rf_view_payout_run(rf_ctx_svc(c), run, &err);
	if (!o) {
		json_decref(o);
		rf_json_error(c, &err);
		return;
	}
	rf_json_send(c, status, o);
}

static const rf_jfield run_fields[] = {
    {"program_id", RF_JT_STRING, false, 64, NULL},
    {"cutoff", RF_JT_STRING, false, 40, NULL},
    {NULL, 0, false, 0, NULL},
};

void rf_api_payouts_create(rf_ctx *c)
{
	json_t *body = rf_api_body(c, run_fields);
	if (!body)
		return;
	rf_err err = {0};
	rf_program prog;
	rf_payout_run run;
	int64_t cutoff = rf_clock_now_ms();
	const char *cs = rf_json_str(body, "cutoff");
	if (cs && rf_clock_parse(cs, &cutoff) != 0) {
		rf_err_set(&err, RF_EINVAL, "cutoff", "cutoff must be an RFC 3339 time");
		goto fail;
	}
	if (cutoff > rf_clock_now_ms()) {
		rf_err_set(&err, RF_EINVAL, "cutoff", "cutoff cannot be in the future");
		goto fail;
	}
	if (rf_api_program_or_only(c, rf_json_str(body, "program_id"), &prog, &err) != RF_OK ||
	    rf_payout_create(rf_ctx_svc(c), &prog, cutoff, &run, &err) != RF_OK)
		goto fail;
	json_decref(body);
	reply_run(c, 201, &run);
	return;
fail:
	json_decref(body);
	rf_json_error(c, &err);
}

void rf_api_payouts_list(rf_ctx *c)
{
	rf_err err = {0};
	rf_page page;
	if (rf_json_page(c, &page, &err) != RF_OK) {
		rf_json_error(c, &err);
		return;
	}
	rf_payout_run *items = NULL;
	size_t n = 0;
	bool more = false;
	if (rf_store_payout_run_list(c->app->store, &page, rf_req_query(c->req, "program_id"), &items, &n, &more, c->a,
				     &err) != RF_OK) {
		rf_json_error(c, &err);
		return;
	}
	json_t *data = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *o = rf_view_payout_run(rf_ctx_svc(c), &items[i], &err);
		if (!o) {
			json_decref(data);
			rf_json_error(c, &err);
			return;
		}
		json_array_append_new(data, o);
	}
	rf_json_send(c, 200, rf_json_list(data, more));
}

/* Loads the run named in the path (inside the open transaction, when there is one). */
static bool load_run(rf_ctx *c, rf_payout_run *run)
{
	rf_err err = {0};
	return rf_api_found(c, rf_store_payout_run_get(c->app->store, c->params[0], run, c->a, &err), &err,
			    "payout run");
}

void rf_api_payouts_get(rf_ctx *c)
{
	rf_payout_run run;
	if (!load_run(c, &run))
		return;
	rf_err err = {0};
	json_t *o = rf_view_payout_run(rf_ctx_svc(c), &run, &err);
	if (!o) {
		rf_json_error(c, &err);
		return;
	}
	rf_json_send(c, 200, o);
}

void rf_api_payouts_approve(rf_ctx *c)
{
	rf_err err = {0};
	rf_payout_run run;
	if (!load_run(c, &run)) {
		return;
	}
	if (rf_payout_approve(rf_ctx_svc(c), &run, &err) != RF_OK) {
		rf_json_error(c, &err);
		return;
	}
	reply_run(c, 200, &run);
}

void rf_api_payouts_cancel(rf_ctx *c)
{
	rf_err err = {0};
	rf_payout_run run;
	if (!load_run(c, &run)) {
		return;
	}
	rf_payout_item *items = NULL;
	size_t n = 0;
	if (strcmp(run.status, "draft") != 0 && strcmp(run.status, "approved") != 0) {
		rf_err_set(&err, RF_ECONFLICT, "status", "a %s run cannot be cancelled", run.status);
		goto fail;
	}
	if (rf_store_payout_items(c->app->store, run.id, NULL, 0, 0, MAX_ITEMS, &items, &n, c->a, &err) != RF_OK)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(items[i].status, "paid") == 0) {
			rf_err_set(&err, RF_ECONFLICT, "status", "item %s is paid: the run cannot be cancelled",
				   items[i].id);
			goto fail;
		}
		if (rf_store_payout_unlock_item(c->app->store, items[i].id, &err) != RF_OK)
			goto fail;
		if (strcmp(items[i].status, "pending") == 0) {
			items[i].status = "failed";
			items[i].failure_reason = "the run was cancelled";
			items[i].updated_at = rf_clock_now_ms();
			if (rf_store_payout_item_update(c->app->store, &items[i], &err) != RF_OK)
				goto fail;
		}
	}
	run.status = "cancelled";
	run.updated_at = rf_clock_now_ms();
	if (rf_store_payout_run_update(c->app->store, &run, &err) != RF_OK ||
	    rf_api_audit(c, "payout_run.cancel", run.id, NULL, &err) != RF_OK ||
	    rf_svc_event_payout_run(rf_ctx_svc(c), "payout_run.cancelled", &run, &err) != RF_OK)
		goto fail;
	reply_run(c, 200, &run);
	return;
fail:
	rf_json_error(c, &err);
}

static const rf_jfield paid_fields[] = {
    {"reference", RF_JT_STRING, true, 200, NULL},
    {"reason", RF_JT_STRING, true, 500, NULL},
    {NULL, 0, false, 0, NULL},
};

/* mark-paid for the run (item NULL) or one item, or mark-failed for an item. */
static void mark(rf_ctx *c, bool item, bool failed)
{
	json_t *body = NULL;
	size_t blen = 0;
	rf_req_body(c->req, &blen);
	if (blen && !(body = rf_api_body(c, paid_fields)))
		return;
	rf_err err = {0};
	rf_payout_run run;
	rf_payout_item it;
	const char *ref = body ? rf_trim_arena(c->a, rf_json_str(body, failed ? "reason" : "reference")) : NULL;
	if (ref && !*ref)
		ref = NULL;
	if (failed && !ref) {
		rf_err_set(&err, RF_EINVAL, "reason", "a failed payment needs the reason");
		goto fail;
	}
	if (body && json_object_get(body, failed ? "reference" : "reason")) {
		rf_err_set(&err, RF_EINVAL, failed ? "reference" : "reason", "%s does not go with this action",
			   failed ? "reference" : "reason");
		goto fail;
	}
	if (!load_run(c, &run)) {
		json_decref(body);
		return;
	}
	if (item) {
		rf_status rc = rf_store_payout_item_get(c->app->store, c->params[1], &it, c->a, &err);
		if (rc == RF_OK && strcmp(it.run_id, run.id) != 0)
			rc = RF_ENOTFOUND;
		if (rc != RF_OK) {
			if (rc == RF_ENOTFOUND)
				rf_err_set(&err, RF_ENOTFOUND, "item_id", "no such payout item in run %s: %s", run.id,
					   c->params[1]);
			goto fail;
		}
		if (rf_payout_item_paid(rf_ctx_svc(c), &run, &it, ref, failed, &err) != RF_OK)
			goto fail;
	} else if (rf_payout_run_paid(rf_ctx_svc(c), &run, ref, &err) != RF_OK) {
		goto fail;
	}
	json_decref(body);
	reply_run(c, 200, &run);
	return;
fail:
	json_decref(body);
	rf_json_error(c, &err);
}

void rf_api_payouts_mark_paid(rf_ctx *c)
{
	mark(c, false, false);
}

void rf_api_payout_items_mark_paid(rf_ctx *c)
{
	mark(c, true, false);
}

void rf_api_payout_items_mark_failed(rf_ctx *c)
{
	mark(c, true, true);
}

void rf_api_payouts_export(rf_ctx *c)
{
	rf_err err = {0};
	rf_payout_run run;
	if (!load_run(c, &run))
		return;
	char *buf = NULL;
	size_t len = 0;
	const char *format = rf_req_query(c->req, "format");
	if (rf_payout_export(rf_ctx_svc(c), &run, format, rf_req_query(c->req, "currency"), &buf, &len, &err) !=
	    RF_OK) {
		rf_json_error(c, &err);
		return;
	}
	char *disp = rf_arena_printf(c->a, "attachment; filename=\"%s-%s.csv\"", run.id, format ? format : "generic");
	rf_resp_header(c->req, "Content-Disposition", disp);
	rf_resp_header(c->req, "Cache-Control", "no-store");
	rf_resp_send(c->req, 200, "text/csv; charset=utf-8", buf, len);
	free(buf);
}
