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

static json_t *item_json(rf_ctx *c, const rf_payout_item *it)
{
	rf_partner p;
	rf_err err = {0};
	bool known = rf_store_partner_get(c->app->store, it->partner_id, &p, c->a, &err) == RF_OK;
	json_t *o =
	    json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:I, s:s, s:o, s:o}", "id", it->id, "object", "payout_item",
		      "partner_id", it->partner_id, "name", rf_json_nullable(known ? p.name : NULL), "email",
		      rf_json_nullable(known ? p.email : NULL), "amount", rf_json_money_new(it->amount, it->currency),
		      "entries", (json_int_t)it->entries, "status", it->status, "reference",
		      rf_json_nullable(it->reference), "failure_reason", rf_json_nullable(it->failure_reason));
	json_object_set_new(o, "paid_at", rf_json_time(it->paid_at));
	return o;
}

json_t *rf_payout_run_json(rf_ctx *c, const rf_payout_run *r, rf_err *err)
{
	rf_payout_item *items = NULL;
	size_t n = 0;
	if (rf_store_payout_items(c->app->store, r->id, NULL, 0, 0, MAX_ITEMS, &items, &n, c->a, err) != RF_OK)
		return NULL;
	json_t *arr = json_array();
	/* Totals per currency, of what the run pays (failed items left out). */
	struct {
		char cur[4];
		int64_t sum, count;
	} tot[32];
	size_t nt = 0;
	for (size_t i = 0; i < n; i++) {
		json_array_append_new(arr, item_json(c, &items[i]));
		if (strcmp(items[i].status, "failed") == 0)
			continue;
		size_t k = 0;
		while (k < nt && strcmp(tot[k].cur, items[i].currency) != 0)
			k++;
		if (k == nt && nt < 32) {
			memcpy(tot[nt].cur, items[i].currency, 4);
			tot[nt].sum = tot[nt].count = 0;
			nt++;
		}
		if (k < nt) {
			tot[k].sum += items[i].amount;
			tot[k].count++;
		}
	}
	json_t *totals = json_array();
	for (size_t k = 0; k < nt; k++)
		json_array_append_new(totals, json_pack("{s:o, s:o, s:I}", "currency", rf_json_code(tot[k].cur),
							"amount", rf_json_money_new(tot[k].sum, tot[k].cur), "items",
							(json_int_t)tot[k].count));
	json_t *left = json_loads(r->left_out ? r->left_out : "[]", 0, NULL);
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o}", "id", r->id, "object", "payout_run",
			      "program_id", r->program_id, "status", r->status, "cutoff", rf_json_time(r->cutoff),
			      "items", arr, "totals", totals, "left_out", left ? left : json_array());
	json_object_set_new(o, "created_by", json_string(r->created_by));
	json_object_set_new(o, "approved_by", rf_json_nullable(r->approved_by));
	json_object_set_new(o, "created_at", rf_json_time(r->created_at));
	json_object_set_new(o, "approved_at", rf_json_time(r->approved_at));
	return o;
}

/* The program's payout threshold in currency at `at`; *known is false without a rate. */
static rf_status threshold_in(rf_ctx *c, const rf_program *prog, const char *currency, int64_t at, int64_t *out,
			      bool *known, rf_err *err)
{
	int64_t ppb = 0;
	bool inverse = false, missing = false;
	if (rf_ledger_convert(rf_ctx_svc(c), prog->payout_threshold, prog->currency, currency, at, out, &ppb, &inverse,
			      &missing, err) != RF_OK)
		return err->status;
	*known = !missing;
	return RF_OK;
}

rf_status rf_payout_create(rf_ctx *c, const rf_program *prog, int64_t cutoff, rf_payout_run *run, rf_err *err)
{
	rf_payout_group *groups = NULL;
	size_t n = 0;
	if (rf_store_payout_groups(c->app->store, prog->id, cutoff, MAX_ITEMS, &groups, &n, c->a, err) != RF_OK)
		return err->status;
	int64_t now = rf_clock_now_ms();
	memset(run, 0, sizeof *run);
	run->id = rf_id_new_arena(c->a, "po");
	run->program_id = prog->id;
	run->status = "draft";
	run->cutoff = cutoff;
	run->created_by = c->who.actor;
	run->created_at = run->updated_at = now;
	json_t *left = json_array();
	rf_status rc = RF_OK;
	rf_payout_item *items = rf_arena_alloc(c->a, sizeof *items * (n ? n : 1));
	size_t ni = 0;
	if (!items)
		rc = rf_err_set(err, RF_ENOMEM, NULL, "out of memory");
	for (size_t i = 0; rc == RF_OK && i < n; i++) {
		rf_payout_group *g = &groups[i];
		rf_partner p;
		if ((rc = rf_store_partner_get(c->app->store, g->partner_id, &p, c->a, err)) != RF_OK)
			break;
		const char *why = NULL;
		int64_t thr = 0;
		bool known = true;
		if (strcmp(p.status, "active") != 0)
			why = rf_arena_printf(c->a, "the partner is %s", p.status);
		else if (p.payout_hold_reason)
			why = rf_arena_printf(c->a, "payouts are held for review: %s", p.payout_hold_reason);
		else if (g->amount <= 0)
			why = "nothing is owed: reversals exceed the approved earnings (carried over)";
		else if ((rc = threshold_in(c, prog, g->currency, cutoff, &thr, &known, err)) != RF_OK)
			break;
		else if (!known)
			why = rf_arena_printf(c->a, "no FX rate from %s to %s to compare with the payout threshold",
					      prog->currency, g->currency);
		else if (g->amount < thr)
			why = rf_arena_printf(c->a, "under the payout threshold of %s %s (carried over)",
					      rf_api_decimal(c->a, thr, g->currency), g->currency);
		if (why) {
			json_array_append_new(left,
					      json_pack("{s:s, s:o, s:s}", "partner_id", p.id, "amount",
							rf_json_money_new(g->amount, g->currency), "reason", why));
			continue;
		}
		rf_payout_item *it = &items[ni++];
		memset(it, 0, sizeof *it);
		it->id = rf_id_new_arena(c->a, "poi");
		it->run_id = run->id;
		it->partner_id = p.id;
		it->amount = g->amount;
		memcpy(it->currency, g->currency, 4);
		it->entries = g->entries;
		it->status = "pending";
		it->created_at = it->updated_at = now;
	}
	char *txt = json_dumps(left, JSON_COMPACT);
	json_decref(left);
	run->left_out = rf_arena_strdup(c->a, txt ? txt : "[]");
	free(txt);
	if (rc != RF_OK)
		return rc;
	if (rf_store_payout_run_insert(c->app->store, run, err) != RF_OK)
		return err->status;
	for (size_t i = 0; i < ni; i++)
		if (rf_store_payout_item_insert(c->app->store, &items[i], prog->id, cutoff, err) != RF_OK)
			return err->status;
	return rf_api_audit(c, "payout_run.create", run->id, NULL, err);
}

rf_status rf_payout_approve(rf_ctx *c, rf_payout_run *run, rf_err *err)
{
	if (strcmp(run->status, "draft") != 0)
		return rf_err_set(err, RF_ECONFLICT, "status", "only a draft run can be approved; this one is %s",
				  run->status);
	if (rf_store_payout_lock(c->app->store, run->id, err) != RF_OK)
		return err->status;
	run->status = "approved";
	run->approved_by = c->who.actor;
	run->approved_at = run->updated_at = rf_clock_now_ms();
	if (rf_store_payout_run_update(c->app->store, run, err) != RF_OK)
		return err->status;
	return rf_api_audit(c, "payout_run.approve", run->id, NULL, err);
}

/* Marks the run paid once no item waits any more. */
static rf_status settle_run(rf_ctx *c, rf_payout_run *run, rf_err *err)
{
	rf_payout_item *items = NULL;
	size_t n = 0;
	if (rf_store_payout_items(c->app->store, run->id, NULL, 0, 0, MAX_ITEMS, &items, &n, c->a, err) != RF_OK)
		return err->status;
	for (size_t i = 0; i < n; i++)
		if (strcmp(items[i].status, "pending") == 0)
			return RF_OK;
	run->status = "paid";
	run->updated_at = rf_clock_now_ms();
	return rf_store_payout_run_update(c->app->store, run, err);
}

rf_status rf_payout_item_paid(rf_ctx *c, rf_payout_run *run, rf_payout_item *it, const char *reference, bool failed,
			      rf_err *err)
{
	if (strcmp(run->status, "approved") != 0)
		return rf_err_set(err, RF_ECONFLICT, "status", "items are paid from an approved run; this one is %s",
				  run->status);
	if (strcmp(it->status, "pending") != 0)
		return rf_err_set(err, RF_ECONFLICT, "status", "item %s is already %s", it->id, it->status);
	int64_t now = rf_clock_now_ms();
	it->updated_at = now;
	if (failed) {
		/* The money did not arrive: the entries go back to the partner's balance for a later run. */
		it->status = "failed";
		it->failure_reason = (char *)reference;
		if (rf_store_payout_item_update(c->app->store, it, err) != RF_OK ||
		    rf_store_payout_unlock_item(c->app->store, it->id, err) != RF_OK ||
		    rf_api_audit(c, "payout_item.fail", it->id, NULL, err) != RF_OK)
			return err->status;
		return settle_run(c, run, err);
	}
	it->status = "paid";
	it->reference = (char *)reference;
	it->paid_at = now;
	rf_commission *entries = NULL;
	size_t n = 0;
	if (rf_store_payout_item_update(c->app->store, it, err) != RF_OK ||
	    rf_store_payout_item_entries(c->app->store, it->id, (int)it->entries + 1, &entries, &n, c->a, err) != RF_OK)
		return err->status;
	char *why = rf_arena_printf(c->a, "paid by %s%s%s", it->id, reference ? ", reference " : "",
				    reference ? reference : "");
	for (size_t i = 0; i < n; i++)
		if (rf_store_commission_set_status(c->app->store, &entries[i], "paid", why, c->who.actor, now, err) !=
		    RF_OK)
			return err->status;
	if (rf_api_audit(c, "payout_item.paid", it->id, NULL, err) != RF_OK)
		return err->status;
	return settle_run(c, run, err);
}

rf_status rf_payout_run_paid(rf_ctx *c, rf_payout_run *run, const char *reference, rf_err *err)
{
	if (strcmp(run->status, "approved") != 0)
		return rf_err_set(err, RF_ECONFLICT, "status",
				  "only an approved run can be marked paid; this one is %s", run->status);
	rf_payout_item *items = NULL;
	size_t n = 0;
	if (rf_store_payout_items(c->app->store, run->id, NULL, 0, 0, MAX_ITEMS, &items, &n, c->a, err) != RF_OK)
		return err->status;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(items[i].status, "pending") != 0)
			continue;
		if (rf_payout_item_paid(c, run, &items[i], reference, false, err) != RF_OK)
			return err->status;
		if (strcmp(run->status, "approved") != 0)
			break;
	}
	return RF_OK;
}

/* Which bulk layout an export writes. */
typedef enum { EXPORT_GENERIC, EXPORT_PAYPAL, EXPORT_WISE } export_format;

rf_status rf_payout_export(rf_ctx *c, const rf_payout_run *run, const char *format, const char *currency, char **out,
			   size_t *out_len, rf_err *err)
{
	export_format f;
	if (!format || strcmp(format, "generic") == 0)
		f = EXPORT_GENERIC;
	else if (strcmp(format, "paypal") == 0)
		f = EXPORT_PAYPAL;
	else if (strcmp(format, "wise") == 0)
		f = EXPORT_WISE;
	else
		return rf_err_set(err, RF_EINVAL, "format", "format must be generic, paypal or wise");
	char cur[4] = "";
	if (currency && rf_currency_lookup(currency, cur) < 0)
		return rf_err_set(err, RF_EINVAL, "currency", "currency is not an ISO 4217 code");
	if (strcmp(run->status, "approved") != 0 && strcmp(run->status, "paid") != 0)
		return rf_err_set(err, RF_ECONFLICT, "status", "a run is exported once approved; this one is %s",
				  run->status);
	rf_payout_item *items = NULL;
	size_t n = 0;
	if (rf_store_payout_items(c->app->store, run->id, NULL, 0, 0, MAX_ITEMS, &items, &n, c->a, err) != RF_OK)
		return err->status;
	if (f == EXPORT_PAYPAL && !cur[0]) {
		/* PayPal takes one currency per file. */
		for (size_t i = 0; i < n; i++)
			if (strcmp(items[i].currency, items[0].currency) != 0)
				return rf_err_set(
				    err, RF_EINVAL, "currency",
				    "this run pays in several currencies: PayPal takes one file per currency, "
				    "so name it with currency");
	}
	rf_dbuf b = RF_DBUF_INIT(rf_api_export_max(c));
	if (f == EXPORT_GENERIC) {
		const char *head[] = {"partner_id", "name", "email", "amount", "currency", "reference", "status"};
		for (size_t i = 0; i < 7; i++)
			rf_csv_cell(&b, head[i], i == 6);
	} else if (f == EXPORT_WISE) {
		const char *head[] = {"name",           "recipientEmail", "paymentReference", "receiverType",
				      "amountCurrency", "amount",         "sourceCurrency",   "targetCurrency"};
		for (size_t i = 0; i < 8; i++)
			rf_csv_cell(&b, head[i], i == 7);
	}
	for (size_t i = 0; i < n; i++) {
		const rf_payout_item *it = &items[i];
		if (strcmp(it->status, "failed") == 0 || (cur[0] && strcmp(it->currency, cur) != 0))
			continue;
		rf_partner p;
		if (rf_store_partner_get(c->app->store, it->partner_id, &p, c->a, err) != RF_OK) {
			rf_dbuf_free(&b);
			return err->status;
		}
		char code[4];
		rf_currency_lookup(it->currency, code);
		const char *amount = rf_api_decimal(c->a, it->amount, it->currency);
		/* The item id is the reference the payment carries back (PayPal's Customer ID allows 30 characters). */
		char *ref = rf_arena_printf(c->a, "%.30s", it->id);
		if (f == EXPORT_GENERIC) {
			rf_csv_cell(&b, p.id, false);
			rf_csv_cell(&b, p.name, false);
			rf_csv_cell(&b, p.email, false);
			rf_csv_number(&b, amount, false);
			rf_csv_cell(&b, code, false);
			rf_csv_cell(&b, it->id, false);
			rf_csv_cell(&b, it->status, true);
		} else if (f == EXPORT_PAYPAL) {
			/* Recipient, amount, currency, customer id, note, wallet: no header row. */
			rf_csv_cell(&b, p.email, false);
			rf_csv_number(&b, amount, false);
			rf_csv_cell(&b, code, false);
			rf_csv_cell(&b, ref, false);
			rf_csv_cell(&b, rf_arena_printf(c->a, "Partner commissions, payout %s", run->id), false);
			rf_csv_cell(&b, "PAYPAL", true);
		} else {
			rf_csv_cell(&b, p.tax_legal_name ? p.tax_legal_name : p.name, false);
			rf_csv_cell(&b, p.email, false);
			rf_csv_cell(&b, ref, false);
			rf_csv_cell(&b, p.company ? "BUSINESS" : "PERSON", false);
			rf_csv_cell(&b, "target", false);
			rf_csv_number(&b, amount, false);
			rf_csv_cell(&b, code, false);
			rf_csv_cell(&b, code, true);
		}
	}
	rf_status st = rf_dbuf_take(&b, out, out_len);
	if (st == RF_ETOOBIG)
		return rf_err_set(err, RF_EINVAL, "currency",
				  "the export would be larger than %zu bytes: export one currency at a time",
				  rf_api_export_max(c));
	if (st != RF_OK)
		return rf_err_set(err, RF_EUNAVAIL, NULL, "out of memory while building the export; try again");
	return RF_OK;
}

/* ---- HTTP ---- */

static const rf_jfield run_fields[] = {
    {"program_id", RF_JT_STRING, false, 64, NULL},
    {"cutoff", RF_JT_STRING, false, 40, NULL},
    {NULL, 0, false, 0, NULL},
};

/* Commits and answers with the run. */
static void reply_run(rf_ctx *c, int status, const rf_payout_run *run)
{
	rf_err err = {0};
	json_t *o = rf_payout_run_json(c, run, &err);
	if (!o) {
		json_decref(o);
		rf_json_error(c, &err);
		return;
	}
	rf_json_send(c, status, o);
}

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
	    rf_payout_create(c, &prog, cutoff, &run, &err) != RF_OK)
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
		json_t *o = rf_payout_run_json(c, &items[i], &err);
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
	json_t *o = rf_payout_run_json(c, &run, &err);
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
	if (rf_payout_approve(c, &run, &err) != RF_OK) {
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
	    rf_api_audit(c, "payout_run.cancel", run.id, NULL, &err) != RF_OK)
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
		if (rf_payout_item_paid(c, &run, &it, ref, failed, &err) != RF_OK)
			goto fail;
	} else if (rf_payout_run_paid(c, &run, ref, &err) != RF_OK) {
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
	if (rf_payout_export(c, &run, format, rf_req_query(c->req, "currency"), &buf, &len, &err) != RF_OK) {
		rf_json_error(c, &err);
		return;
	}
	char *disp = rf_arena_printf(c->a, "attachment; filename=\"%s-%s.csv\"", run.id, format ? format : "generic");
	rf_resp_header(c->req, "Content-Disposition", disp);
	rf_resp_header(c->req, "Cache-Control", "no-store");
	rf_resp_send(c->req, 200, "text/csv; charset=utf-8", buf, len);
	free(buf);
}
