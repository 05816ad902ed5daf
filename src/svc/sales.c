/* SPDX-License-Identifier: Apache-2.0 */
/* Sales and refunds as they come in (the API, Stripe, later other billing systems): the customer found or created
 * and attributed, the sale or refund recorded once per external id, with its commissions or their reversals. */
#include <stdlib.h>
#include <string.h>

#include "../core/clock.h"
#include "../core/money.h"
#include "../core/text.h"
#include "events.h"
#include "leads.h"
#include "ledger.h"
#include "rollups.h"
#include "sales.h"

/* Every entry of a sale (originals and reversals), oldest first. */
rf_status rf_svc_sale_entries(rf_svc *sv, const char *sale_id, bool originals, rf_commission **all, size_t *total,
			      rf_err *err)
{
	*all = NULL;
	*total = 0;
	size_t cap = 0;
	const char *after = NULL;
	for (;;) {
		rf_commission_filter f = {.page = {.limit = 100, .starting_after = after},
					  .sale_id = sale_id,
					  .originals_only = originals,
					  .oldest_first = true};
		rf_commission *items = NULL;
		size_t n = 0;
		bool more = false;
		if (rf_store_commission_list(sv->store, &f, &items, &n, &more, sv->a, err) != RF_OK)
			return err->status;
		if (*total + n > cap) {
			cap = (*total + n) * 2;
			rf_commission *grown = rf_arena_alloc(sv->a, sizeof *grown * cap);
			if (!grown)
				return rf_err_set(err, RF_ENOMEM, NULL, "out of memory");
			if (*total)
				memcpy(grown, *all, sizeof(rf_commission) * (*total));
			*all = grown;
		}
		if (n)
			memcpy(*all + *total, items, sizeof *items * n);
		*total += n;
		if (!more || n == 0)
			return RF_OK;
		after = items[n - 1].id;
	}
}

/* Creates a lead for a customer refd has not seen, attributed like any new lead. */
static rf_status new_lead(rf_svc *sv, const rf_program *prog, const char *email, const char *external_id,
			  const char *partner_id, const char *code, const char *click_id, rf_lead *l, rf_err *err)
{
	memset(l, 0, sizeof *l);
	l->program_id = prog->id;
	l->email = (char *)email;
	l->external_id = (char *)external_id;
	if (rf_svc_lead_attribute(sv, prog, partner_id, "partner_id", code, click_id, NULL, l, err) != RF_OK)
		return err->status;
	int64_t now = rf_clock_now_ms();
	l->id = rf_id_new_arena(sv->a, "lead");
	l->source = l->partner_id ? "partner" : "direct";
	l->status = "new";
	l->metadata = "{}";
	l->created_by = (char *)sv->actor;
	l->created_at = l->updated_at = l->status_at = now;
	rf_lead_event ev = {NULL, "new", (char *)sv->actor, "created for a customer", now};
	if (rf_store_lead_insert(sv->store, l, err) != RF_OK ||
	    rf_store_lead_event_add(sv->store, l->id, &ev, err) != RF_OK ||
	    rf_svc_rollup_lead(sv, l, RF_M_LEADS, now, err) != RF_OK)
		return err->status;
	return rf_svc_event_lead(sv, "lead.created", l, err);
}

/* Finds the lead a sale or a provider's customer belongs to (creating it when unknown), credits an uncredited
 * lead with the attribution that came along, and finds or creates its customer record. */
static rf_status resolve_customer(rf_svc *sv, const rf_program *prog, const char *lead_id, const char *email_in,
				  const char *external_id, const char *partner_id, const char *code,
				  const char *click_id, rf_lead *l, rf_customer *cu, rf_err *err)
{
	rf_status rc = RF_ENOTFOUND;
	char email[RF_EMAIL_MAX + 1];
	const char *em = NULL;
	if (email_in) {
		if (rf_email_normalize(email_in, email, sizeof email) != RF_OK)
			return rf_err_set(err, RF_EINVAL, "email", "email: '%.80s' is not an email address", email_in);
		em = rf_arena_strdup(sv->a, email);
	}
	if (lead_id) {
		rc = rf_store_lead_get(sv->store, lead_id, l, sv->a, err);
		if (rc == RF_ENOTFOUND || (rc == RF_OK && strcmp(l->program_id, prog->id) != 0))
			return rf_err_set(err, RF_EINVAL, "lead_id", "lead_id: no such lead in the program: %s",
					  lead_id);
	}
	if (rc == RF_ENOTFOUND && external_id) {
		rc = rf_store_customer_find(sv->store, prog->id, "external_id", external_id, cu, sv->a, err);
		if (rc == RF_OK)
			rc = rf_store_lead_get(sv->store, cu->lead_id, l, sv->a, err);
		if (rc == RF_ENOTFOUND)
			rc = rf_store_lead_find(sv->store, prog->id, NULL, external_id, l, sv->a, err);
	}
	if (rc == RF_ENOTFOUND && em)
		rc = rf_store_lead_find(sv->store, prog->id, em, NULL, l, sv->a, err);
	if (rc == RF_ENOTFOUND) {
		if (!em && !external_id)
			return rf_err_set(err, RF_EINVAL, "email",
					  "a sale needs the customer: lead_id, email or customer_external_id");
		rc = new_lead(sv, prog, em, external_id, partner_id, code, click_id, l, err);
	} else if (rc == RF_OK && !l->partner_id && (partner_id || code || click_id)) {
		/* A customer refd knew without a partner: what comes with the payment credits it now. */
		rf_lead before = *l;
		if (rf_svc_lead_attribute(sv, prog, partner_id, "partner_id", code, click_id, NULL, l, err) != RF_OK)
			return err->status;
		if (l->partner_id) {
			l->source = "partner";
			l->updated_at = rf_clock_now_ms();
			rc = rf_store_lead_update(sv->store, l, err);
			if (rc == RF_OK)
				rc = rf_svc_lead_rekey(sv, &before, l, err);
		}
	}
	if (rc != RF_OK)
		return rc;
	rc = rf_store_customer_find(sv->store, prog->id, "lead_id", l->id, cu, sv->a, err);
	if (rc == RF_ENOTFOUND) {
		memset(cu, 0, sizeof *cu);
		cu->id = rf_id_new_arena(sv->a, "cust");
		cu->program_id = prog->id;
		cu->lead_id = l->id;
		cu->external_id = (char *)external_id;
		cu->created_at = rf_clock_now_ms();
		rc = rf_store_customer_insert(sv->store, cu, err);
	} else if (rc == RF_OK && !cu->external_id && external_id) {
		cu->external_id = (char *)external_id;
		rc = rf_store_customer_update(sv->store, cu, err);
	}
	return rc;
}

rf_status rf_svc_customer_touch(rf_svc *sv, const rf_program *prog, const char *email, const char *external_id,
				const char *code, const char *click_id, char **lead_id, rf_err *err)
{
	rf_lead l;
	rf_customer cu;
	if (resolve_customer(sv, prog, NULL, email, external_id, NULL, code, click_id, &l, &cu, err) != RF_OK)
		return err->status;
	*lead_id = l.id;
	return RF_OK;
}

/* Checks what a sale says about its customer: that it names one (lead_id, email or customer_external_id), that an
 * email is an address and that a lead_id is a lead of the program. This runs before a stored sale with the same
 * external id is looked for, so that a replay is refused for the same input as a first request. */
static rf_status check_customer(rf_svc *sv, const rf_program *prog, const rf_sale_input *in, rf_err *err)
{
	if (!in->lead_id && !in->email && !in->customer_external_id)
		return rf_err_set(err, RF_EINVAL, "email",
				  "a sale needs the customer: lead_id, email or customer_external_id");
	char email[RF_EMAIL_MAX + 1];
	if (in->email && rf_email_normalize(in->email, email, sizeof email) != RF_OK)
		return rf_err_set(err, RF_EINVAL, "email", "email: '%.80s' is not an email address", in->email);
	if (!in->lead_id)
		return RF_OK;
	rf_lead l;
	rf_status rc = rf_store_lead_get(sv->store, in->lead_id, &l, sv->a, err);
	if (rc == RF_ENOTFOUND || (rc == RF_OK && strcmp(l.program_id, prog->id) != 0))
		return rf_err_set(err, RF_EINVAL, "lead_id", "lead_id: no such lead in the program: %s", in->lead_id);
	return rc;
}

rf_status rf_svc_sale_ingest(rf_svc *sv, const rf_sale_input *in, rf_sale_result *out, rf_err *err)
{
	rf_program prog;
	if (rf_svc_program_or_only(sv, in->program_id, &prog, err) != RF_OK ||
	    check_customer(sv, &prog, in, err) != RF_OK)
		return err->status;
	rf_sale x;
	rf_status rc = rf_store_sale_find(sv->store, prog.id, in->external_id, false, &x, sv->a, err);
	if (rc == RF_OK) {
		/* The same invoice again is the same sale. */
		if (x.amount != in->amount || strcmp(x.currency, in->currency) != 0)
			return rf_err_set(err, RF_ECONFLICT, "external_id",
					  "external_id %s was recorded as a sale of another amount", in->external_id);
		rf_commission *items = NULL;
		size_t n = 0;
		if (rf_svc_sale_entries(sv, x.id, false, &items, &n, err) != RF_OK)
			return err->status;
		out->sale = x;
		out->entries = items;
		out->n = n;
		out->replay = true;
		return RF_OK;
	}
	if (rc != RF_ENOTFOUND)
		return rc;
	rf_lead l;
	rf_customer cu;
	if (resolve_customer(sv, &prog, in->lead_id, in->email, in->customer_external_id, in->partner_id, in->code,
			     in->click_id, &l, &cu, err) != RF_OK)
		return err->status;
	int64_t now = rf_clock_now_ms();
	memset(&x, 0, sizeof x);
	x.id = rf_id_new_arena(sv->a, "sale");
	x.program_id = prog.id;
	x.customer_id = cu.id;
	x.lead_id = l.id;
	x.amount = in->amount;
	memcpy(x.currency, in->currency, 4);
	x.external_id = (char *)in->external_id;
	x.charge_id = (char *)in->charge_id;
	x.occurred_at = in->occurred_at ? in->occurred_at : now;
	x.metadata = (char *)(in->metadata ? in->metadata : "{}");
	x.source = (char *)(in->source ? in->source : "api");
	x.source_event_id = (char *)in->source_event_id;
	x.created_at = now;
	if (in->kind) {
		x.kind = (char *)in->kind;
	} else {
		int64_t before = 0;
		if (rf_store_sale_count_customer(sv->store, cu.id, x.occurred_at, &before, err) != RF_OK)
			return err->status;
		x.kind = before == 0 ? "first" : "recurring";
	}
	const char *blocked = NULL;
	if (strcmp(l.status, "pending_review") == 0)
		blocked = "the lead's deal registration is waiting for review, so no partner is credited yet";
	else if (strcmp(l.status, "rejected") == 0)
		blocked = "the lead's deal registration was rejected, so no partner is credited";
	if (!blocked) {
		x.partner_id = l.partner_id;
		x.agent_id = l.agent_id;
	}
	bool missing = false, inverse = false;
	int64_t ppb = 0;
	if (rf_ledger_convert(sv, x.amount, x.currency, prog.currency, x.occurred_at, &x.program_amount, &ppb, &inverse,
			      &missing, err) != RF_OK)
		return err->status;
	x.has_program_amount = !missing;
	rf_metrics m;
	memset(&m, 0, sizeof m);
	m.v[RF_M_SALES] = 1;
	m.v[RF_M_REVENUE] = x.has_program_amount ? x.program_amount : 0;
	if (rf_store_sale_insert(sv->store, &x, err) != RF_OK ||
	    rf_svc_rollup(sv, prog.id, x.partner_id, x.agent_id, l.source, l.click_id, x.occurred_at, &m, err) != RF_OK)
		return err->status;
	/* The first sale converts the lead and starts the customer's recurring window. */
	if (!cu.first_sale_at || x.occurred_at < cu.first_sale_at) {
		cu.first_sale_at = x.occurred_at;
		if (rf_store_customer_update(sv->store, &cu, err) != RF_OK)
			return err->status;
	}
	rf_ledger L = {.sv = sv, .prog = &prog, .actor = sv->actor};
	if (!blocked && strcmp(l.status, "converted") != 0) {
		char *why = rf_arena_printf(sv->a, "first sale %s", x.id);
		rf_lead_event ev = {l.status, "converted", (char *)sv->actor, why, now};
		bool reached = false;
		if (rf_svc_lead_reached(sv, &l, &reached, err) != RF_OK)
			return err->status;
		l.status = "converted";
		l.status_at = l.updated_at = now;
		/* A sale reported as older than its lead still converts it no earlier than it was created. */
		l.converted_at = x.occurred_at > l.created_at ? x.occurred_at : l.created_at;
		if ((!reached && rf_svc_rollup_lead(sv, &l, RF_M_QUALIFIED, now, err) != RF_OK) ||
		    rf_svc_rollup_lead(sv, &l, RF_M_CUSTOMERS, l.converted_at, err) != RF_OK ||
		    rf_store_lead_update(sv->store, &l, err) != RF_OK ||
		    rf_store_lead_event_add(sv->store, l.id, &ev, err) != RF_OK ||
		    rf_svc_event_lead(sv, "lead.converted", &l, err) != RF_OK ||
		    rf_ledger_lead(&L, &l, x.occurred_at, err) != RF_OK)
			return err->status;
	}
	size_t lead_entries = L.n;
	if (rf_ledger_sale(&L, &x, cu.first_sale_at, err) != RF_OK)
		return err->status;
	const char *note = blocked ? blocked : (L.n == lead_entries ? L.note : NULL);
	if (note) {
		x.note = (char *)note;
		/* Recorded for whoever reads the sale later. */
		if (rf_svc_audit(sv, "sale.no_commission", x.id, NULL, err) != RF_OK)
			return err->status;
	}
	if (rf_svc_audit(sv, "sale.create", x.id, NULL, err) != RF_OK || rf_svc_event_sale(sv, &x, err) != RF_OK)
		return err->status;
	out->sale = x;
	out->entries = L.items;
	out->n = L.n;
	out->replay = false;
	return RF_OK;
}

rf_status rf_svc_refund_ingest(rf_svc *sv, const rf_refund_input *in, rf_refund_result *out, rf_err *err)
{
	rf_sale x;
	rf_program prog;
	if (in->sale_id) {
		rf_status rc = rf_store_sale_get(sv->store, in->sale_id, &x, sv->a, err);
		if (rc == RF_ENOTFOUND || (rc == RF_OK && in->program_id && strcmp(x.program_id, in->program_id) != 0))
			return rf_err_set(err, RF_EINVAL, "sale_id", "sale_id: no such sale %s", in->sale_id);
		if (rc != RF_OK)
			return rc;
		if (rf_store_program_get(sv->store, x.program_id, &prog, sv->a, err) != RF_OK)
			return err->status;
	} else if (in->sale_external_id) {
		if (rf_svc_program_or_only(sv, in->program_id, &prog, err) != RF_OK)
			return err->status;
		rf_status rc = rf_store_sale_find(sv->store, prog.id, in->sale_external_id, true, &x, sv->a, err);
		if (rc == RF_ENOTFOUND)
			return rf_err_set(err, RF_EINVAL, "sale_external_id", "sale_external_id: no sale %s",
					  in->sale_external_id);
		if (rc != RF_OK)
			return rc;
	} else {
		return rf_err_set(err, RF_EINVAL, "sale_id", "a refund needs sale_id or sale_external_id");
	}
	/* Checked before a stored refund with the same external id is looked for, so that a replay is refused for the
	 * same input as a first request. */
	if (in->has_amount && strcmp(in->currency, x.currency) != 0)
		return rf_err_set(err, RF_EINVAL, "amount", "amount must be in the sale's currency (%s)", x.currency);
	rf_refund r;
	if (in->external_id) {
		rf_status rc = rf_store_refund_find(sv->store, prog.id, in->external_id, &r, sv->a, err);
		if (rc == RF_OK) {
			if (strcmp(r.sale_id, x.id) != 0)
				return rf_err_set(err, RF_ECONFLICT, "external_id",
						  "external_id %s was recorded for another sale", in->external_id);
			out->refund = r;
			out->entries = NULL;
			out->n = 0;
			out->replay = true;
			return RF_OK;
		}
		if (rc != RF_ENOTFOUND)
			return rc;
	}
	int64_t given_back = x.refunded + x.disputed, left = x.amount - given_back;
	memset(&r, 0, sizeof r);
	r.amount = left;
	if (in->has_amount)
		r.amount = in->amount;
	if (left <= 0)
		return rf_err_set(err, RF_EINVAL, "amount", "the sale %s has nothing left to give back", x.id);
	if (r.amount <= 0 || r.amount > left)
		return rf_err_set(err, RF_EINVAL, "amount", "amount must be from 1 to %lld (what is left of the sale)",
				  (long long)left);
	int64_t now = rf_clock_now_ms();
	r.id = rf_id_new_arena(sv->a, "rfd");
	r.program_id = prog.id;
	r.sale_id = x.id;
	r.kind = (char *)(in->kind ? in->kind : "refund");
	memcpy(r.currency, x.currency, 4);
	r.prior = given_back;
	r.external_id = (char *)in->external_id;
	r.reason = (char *)in->reason;
	r.occurred_at = in->occurred_at ? in->occurred_at : now;
	r.created_at = now;
	if (strcmp(r.kind, "dispute") == 0)
		x.disputed += r.amount;
	else
		x.refunded += r.amount;
	/* For reports, in the program's currency: in proportion to the sale's converted amount. */
	r.has_program_amount = x.has_program_amount &&
			       rf_money_mul_ratio(r.amount, x.program_amount, x.amount, &r.program_amount) == RF_OK;
	rf_lead lead;
	rf_metrics m;
	memset(&m, 0, sizeof m);
	m.v[RF_M_REFUNDS] = r.has_program_amount ? r.program_amount : 0;
	if (rf_store_lead_get(sv->store, x.lead_id, &lead, sv->a, err) != RF_OK ||
	    rf_svc_rollup(sv, prog.id, x.partner_id, x.agent_id, lead.source, lead.click_id, r.occurred_at, &m, err) !=
		RF_OK)
		return err->status;
	rf_commission *orig = NULL;
	size_t n = 0;
	rf_ledger L = {.sv = sv, .prog = &prog, .actor = sv->actor};
	if (rf_store_refund_insert(sv->store, &r, err) != RF_OK ||
	    rf_store_sale_set_refunded(sv->store, x.id, x.refunded, x.disputed, err) != RF_OK ||
	    rf_svc_event_refund(sv, &r, &x, err) != RF_OK ||
	    rf_svc_sale_entries(sv, x.id, true, &orig, &n, err) != RF_OK ||
	    rf_ledger_reverse(&L, &x, &r, orig, n, err) != RF_OK ||
	    rf_svc_audit(sv, strcmp(r.kind, "dispute") == 0 ? "sale.dispute" : "sale.refund", r.id, NULL, err) != RF_OK)
		return err->status;
	out->refund = r;
	out->entries = L.items;
	out->n = L.n;
	out->replay = false;
	return RF_OK;
}
