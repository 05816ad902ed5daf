/* SPDX-License-Identifier: Apache-2.0 */
/* Payout runs: what the program owes each partner up to a cutoff, drafted, approved (each entry locked to one run),
 * paid item by item or whole, and exported for PayPal, Wise or a generic bank file. Shared by the API and the
 * command line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/clock.h"
#include "../core/csv.h"
#include "../core/money.h"
#include "../core/text.h"
#include "events.h"
#include "ledger.h"
#include "payouts.h"

#define MAX_ITEMS 10000

/* The largest export built when no configuration says otherwise (the server's --max-export default). */
#define EXPORT_MAX_DEFAULT (64u << 20)

static size_t export_max(const rf_svc *sv)
{
	return sv->cfg && sv->cfg->max_export ? sv->cfg->max_export : EXPORT_MAX_DEFAULT;
}

/* Money as the API writes it (the run's list of partners left out is shown as is). */
static json_t *money_json(int64_t amount, const char *code)
{
	char lower[4] = {0};
	for (int i = 0; i < 3 && code[i]; i++)
		lower[i] = (char)(code[i] | 0x20);
	return json_pack("{s:I, s:s}", "amount", (json_int_t)amount, "currency", lower);
}

/* The program's payout threshold in currency at `at`; *known is false without a rate. */
static rf_status threshold_in(rf_svc *sv, const rf_program *prog, const char *currency, int64_t at, int64_t *out,
			      bool *known, rf_err *err)
{
	int64_t ppb = 0;
	bool inverse = false, missing = false;
	if (rf_ledger_convert(sv, prog->payout_threshold, prog->currency, currency, at, out, &ppb, &inverse, &missing,
			      err) != RF_OK)
		return err->status;
	*known = !missing;
	return RF_OK;
}

rf_status rf_payout_create(rf_svc *sv, const rf_program *prog, int64_t cutoff, rf_payout_run *run, rf_err *err)
{
	rf_payout_group *groups = NULL;
	size_t n = 0;
	if (rf_store_payout_groups(sv->store, prog->id, cutoff, MAX_ITEMS, &groups, &n, sv->a, err) != RF_OK)
		return err->status;
	int64_t now = rf_clock_now_ms();
	memset(run, 0, sizeof *run);
	run->id = rf_id_new_arena(sv->a, "po");
	run->program_id = prog->id;
	run->status = "draft";
	run->cutoff = cutoff;
	run->created_by = (char *)sv->actor;
	run->created_at = run->updated_at = now;
	json_t *left = json_array();
	rf_status rc = RF_OK;
	rf_payout_item *items = rf_arena_alloc(sv->a, sizeof *items * (n ? n : 1));
	size_t ni = 0;
	if (!items)
		rc = rf_err_set(err, RF_ENOMEM, NULL, "out of memory");
	for (size_t i = 0; rc == RF_OK && i < n; i++) {
		rf_payout_group *g = &groups[i];
		rf_partner p;
		if ((rc = rf_store_partner_get(sv->store, g->partner_id, &p, sv->a, err)) != RF_OK)
			break;
		const char *why = NULL;
		int64_t thr = 0;
		bool known = true;
		if (strcmp(p.status, "active") != 0)
			why = rf_arena_printf(sv->a, "the partner is %s", p.status);
		else if (p.payout_hold_reason)
			why = rf_arena_printf(sv->a, "payouts are held for review: %s", p.payout_hold_reason);
		else if (g->amount <= 0)
			why = "nothing is owed: reversals exceed the approved earnings (carried over)";
		else if ((rc = threshold_in(sv, prog, g->currency, cutoff, &thr, &known, err)) != RF_OK)
			break;
		else if (!known)
			why = rf_arena_printf(sv->a, "no FX rate from %s to %s to compare with the payout threshold",
					      prog->currency, g->currency);
		else if (g->amount < thr)
			why = rf_arena_printf(sv->a, "under the payout threshold of %s %s (carried over)",
					      rf_money_decimal(sv->a, thr, g->currency), g->currency);
		if (why) {
			json_array_append_new(left, json_pack("{s:s, s:o, s:s}", "partner_id", p.id, "amount",
							      money_json(g->amount, g->currency), "reason", why));
			continue;
		}
		rf_payout_item *it = &items[ni++];
		memset(it, 0, sizeof *it);
		it->id = rf_id_new_arena(sv->a, "poi");
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
	run->left_out = rf_arena_strdup(sv->a, txt ? txt : "[]");
	free(txt);
	if (rc != RF_OK)
		return rc;
	if (rf_store_payout_run_insert(sv->store, run, err) != RF_OK)
		return err->status;
	for (size_t i = 0; i < ni; i++)
		if (rf_store_payout_item_insert(sv->store, &items[i], prog->id, cutoff, err) != RF_OK)
			return err->status;
	if (rf_svc_audit(sv, "payout_run.create", run->id, NULL, err) != RF_OK)
		return err->status;
	return rf_svc_event_payout_run(sv, "payout_run.created", run, err);
}

rf_status rf_payout_approve(rf_svc *sv, rf_payout_run *run, rf_err *err)
{
	if (strcmp(run->status, "draft") != 0)
		return rf_err_set(err, RF_ECONFLICT, "status", "only a draft run can be approved; this one is %s",
				  run->status);
	if (rf_store_payout_lock(sv->store, run->id, err) != RF_OK)
		return err->status;
	run->status = "approved";
	run->approved_by = (char *)sv->actor;
	run->approved_at = run->updated_at = rf_clock_now_ms();
	if (rf_store_payout_run_update(sv->store, run, err) != RF_OK ||
	    rf_svc_audit(sv, "payout_run.approve", run->id, NULL, err) != RF_OK)
		return err->status;
	return rf_svc_event_payout_run(sv, "payout_run.approved", run, err);
}

/* Marks the run paid once no item waits any more. */
static rf_status settle_run(rf_svc *sv, rf_payout_run *run, rf_err *err)
{
	rf_payout_item *items = NULL;
	size_t n = 0;
	if (rf_store_payout_items(sv->store, run->id, NULL, 0, 0, MAX_ITEMS, &items, &n, sv->a, err) != RF_OK)
		return err->status;
	for (size_t i = 0; i < n; i++)
		if (strcmp(items[i].status, "pending") == 0)
			return RF_OK;
	run->status = "paid";
	run->updated_at = rf_clock_now_ms();
	if (rf_store_payout_run_update(sv->store, run, err) != RF_OK)
		return err->status;
	return rf_svc_event_payout_run(sv, "payout_run.paid", run, err);
}

rf_status rf_payout_item_paid(rf_svc *sv, rf_payout_run *run, rf_payout_item *it, const char *reference, bool failed,
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
		if (rf_store_payout_item_update(sv->store, it, err) != RF_OK ||
		    rf_store_payout_unlock_item(sv->store, it->id, err) != RF_OK ||
		    rf_svc_audit(sv, "payout_item.fail", it->id, NULL, err) != RF_OK ||
		    rf_svc_event_payout_item(sv, "payout_item.failed", it, err) != RF_OK)
			return err->status;
		return settle_run(sv, run, err);
	}
	it->status = "paid";
	it->reference = (char *)reference;
	it->paid_at = now;
	rf_commission *entries = NULL;
	size_t n = 0;
	if (rf_store_payout_item_update(sv->store, it, err) != RF_OK ||
	    rf_store_payout_item_entries(sv->store, it->id, (int)it->entries + 1, &entries, &n, sv->a, err) != RF_OK)
		return err->status;
	char *why = rf_arena_printf(sv->a, "paid by %s%s%s", it->id, reference ? ", reference " : "",
				    reference ? reference : "");
	for (size_t i = 0; i < n; i++)
		if (rf_svc_commission_set_status(sv, &entries[i], "paid", why, now, err) != RF_OK)
			return err->status;
	if (rf_svc_audit(sv, "payout_item.paid", it->id, NULL, err) != RF_OK ||
	    rf_svc_event_payout_item(sv, "payout_item.paid", it, err) != RF_OK)
		return err->status;
	return settle_run(sv, run, err);
}

rf_status rf_payout_run_paid(rf_svc *sv, rf_payout_run *run, const char *reference, rf_err *err)
{
	if (strcmp(run->status, "approved") != 0)
		return rf_err_set(err, RF_ECONFLICT, "status",
				  "only an approved run can be marked paid; this one is %s", run->status);
	rf_payout_item *items = NULL;
	size_t n = 0;
	if (rf_store_payout_items(sv->store, run->id, NULL, 0, 0, MAX_ITEMS, &items, &n, sv->a, err) != RF_OK)
		return err->status;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(items[i].status, "pending") != 0)
			continue;
		if (rf_payout_item_paid(sv, run, &items[i], reference, false, err) != RF_OK)
			return err->status;
		if (strcmp(run->status, "approved") != 0)
			break;
	}
	return RF_OK;
}

/* Which bulk layout an export writes. */
typedef enum { EXPORT_GENERIC, EXPORT_PAYPAL, EXPORT_WISE } export_format;

rf_status rf_payout_export(rf_svc *sv, const rf_payout_run *run, const char *format, const char *currency, char **out,
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
	if (rf_store_payout_items(sv->store, run->id, NULL, 0, 0, MAX_ITEMS, &items, &n, sv->a, err) != RF_OK)
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
	rf_dbuf b = RF_DBUF_INIT(export_max(sv));
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
		if (rf_store_partner_get(sv->store, it->partner_id, &p, sv->a, err) != RF_OK) {
			rf_dbuf_free(&b);
			return err->status;
		}
		char code[4];
		rf_currency_lookup(it->currency, code);
		const char *amount = rf_money_decimal(sv->a, it->amount, it->currency);
		/* The item id is the reference the payment carries back (PayPal's Customer ID allows 30 characters). */
		char *ref = rf_arena_printf(sv->a, "%.30s", it->id);
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
			rf_csv_cell(&b, rf_arena_printf(sv->a, "Partner commissions, payout %s", run->id), false);
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
				  export_max(sv));
	if (st != RF_OK)
		return rf_err_set(err, RF_EUNAVAIL, NULL, "out of memory while building the export; try again");
	return RF_OK;
}
