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

static json_t *sale_json(const rf_sale *x)
{
	json_t *meta = json_loads(x->metadata ? x->metadata : "{}", 0, NULL);
	json_t *o =
	    json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:s, s:s}", "id", x->id, "object", "sale", "program_id",
		      x->program_id, "customer_id", x->customer_id, "lead_id", x->lead_id, "partner_id",
		      rf_json_nullable(x->partner_id), "agent_id", rf_json_nullable(x->agent_id), "amount",
		      rf_json_money_new(x->amount, x->currency), "external_id", x->external_id, "kind", x->kind);
	json_object_set_new(o, "occurred_at", rf_json_time(x->occurred_at));
	json_object_set_new(o, "refunded", rf_json_money_new(x->refunded, x->currency));
	json_object_set_new(o, "disputed", rf_json_money_new(x->disputed, x->currency));
	json_object_set_new(o, "metadata", meta ? meta : json_object());
	json_object_set_new(o, "source", json_string(x->source));
	json_object_set_new(o, "note", rf_json_nullable(x->note));
	json_object_set_new(o, "created_at", rf_json_time(x->created_at));
	return o;
}

static json_t *entries_json(rf_ctx *c, const rf_commission *items, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, rf_api_commission_json(c, &items[i], false));
	return a;
}

/* Every entry of a sale (originals and reversals), oldest first. */
static rf_status sale_entries(rf_ctx *c, const char *sale_id, bool originals, rf_commission **all, size_t *total,
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
		if (rf_store_commission_list(c->app->store, &f, &items, &n, &more, c->a, err) != RF_OK)
			return err->status;
		if (*total + n > cap) {
			cap = (*total + n) * 2;
			rf_commission *grown = rf_arena_alloc(c->a, sizeof *grown * cap);
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
static rf_status new_lead(rf_ctx *c, const rf_program *prog, const char *email, const char *external_id,
			  const char *partner_id, const char *code, const char *click_id, rf_lead *l, rf_err *err)
{
	memset(l, 0, sizeof *l);
	l->program_id = prog->id;
	l->email = (char *)email;
	l->external_id = (char *)external_id;
	if (rf_api_lead_attribute(c, prog, partner_id, "partner_id", code, click_id, NULL, l, err) != RF_OK)
		return err->status;
	int64_t now = rf_clock_now_ms();
	l->id = rf_id_new_arena(c->a, "lead");
	l->source = l->partner_id ? "partner" : "direct";
	l->status = "new";
	l->metadata = "{}";
	l->created_by = c->who.actor;
	l->created_at = l->updated_at = l->status_at = now;
	rf_lead_event ev = {NULL, "new", c->who.actor, "created for a customer", now};
	if (rf_store_lead_insert(c->app->store, l, err) != RF_OK ||
	    rf_store_lead_event_add(c->app->store, l->id, &ev, err) != RF_OK ||
	    rf_svc_rollup_lead(rf_ctx_svc(c), l, RF_M_LEADS, now, err) != RF_OK)
		return err->status;
	return RF_OK;
}

/* Finds the lead a sale or a provider's customer belongs to (creating it when unknown), credits an uncredited
 * lead with the attribution that came along, and finds or creates its customer record. */
static rf_status resolve_customer(rf_ctx *c, const rf_program *prog, const char *lead_id, const char *email_in,
				  const char *external_id, const char *partner_id, const char *code,
				  const char *click_id, rf_lead *l, rf_customer *cu, rf_err *err)
{
	rf_status rc = RF_ENOTFOUND;
	char email[RF_EMAIL_MAX + 1];
	const char *em = NULL;
	if (email_in) {
		if (rf_email_normalize(email_in, email, sizeof email) != RF_OK)
			return rf_err_set(err, RF_EINVAL, "email", "email: '%.80s' is not an email address", email_in);
		em = rf_arena_strdup(c->a, email);
	}
	if (lead_id) {
		rc = rf_store_lead_get(c->app->store, lead_id, l, c->a, err);
		if (rc == RF_ENOTFOUND || (rc == RF_OK && strcmp(l->program_id, prog->id) != 0))
			return rf_err_set(err, RF_EINVAL, "lead_id", "lead_id: no such lead in the program: %s",
					  lead_id);
	}
	if (rc == RF_ENOTFOUND && external_id) {
		rc = rf_store_customer_find(c->app->store, prog->id, "external_id", external_id, cu, c->a, err);
		if (rc == RF_OK)
			rc = rf_store_lead_get(c->app->store, cu->lead_id, l, c->a, err);
		if (rc == RF_ENOTFOUND)
			rc = rf_store_lead_find(c->app->store, prog->id, NULL, external_id, l, c->a, err);
	}
	if (rc == RF_ENOTFOUND && em)
		rc = rf_store_lead_find(c->app->store, prog->id, em, NULL, l, c->a, err);
	if (rc == RF_ENOTFOUND) {
		if (!em && !external_id)
			return rf_err_set(err, RF_EINVAL, "email",
					  "a sale needs the customer: lead_id, email or customer_external_id");
		rc = new_lead(c, prog, em, external_id, partner_id, code, click_id, l, err);
	} else if (rc == RF_OK && !l->partner_id && (partner_id || code || click_id)) {
		/* A customer refd knew without a partner: what comes with the payment credits it now. */
		rf_lead before = *l;
		if (rf_api_lead_attribute(c, prog, partner_id, "partner_id", code, click_id, NULL, l, err) != RF_OK)
			return err->status;
		if (l->partner_id) {
			l->source = "partner";
			l->updated_at = rf_clock_now_ms();
			rc = rf_store_lead_update(c->app->store, l, err);
			if (rc == RF_OK)
				rc = rf_svc_lead_rekey(rf_ctx_svc(c), &before, l, err);
		}
	}
	if (rc != RF_OK)
		return rc;
	rc = rf_store_customer_find(c->app->store, prog->id, "lead_id", l->id, cu, c->a, err);
	if (rc == RF_ENOTFOUND) {
		memset(cu, 0, sizeof *cu);
		cu->id = rf_id_new_arena(c->a, "cust");
		cu->program_id = prog->id;
		cu->lead_id = l->id;
		cu->external_id = (char *)external_id;
		cu->created_at = rf_clock_now_ms();
		rc = rf_store_customer_insert(c->app->store, cu, err);
	} else if (rc == RF_OK && !cu->external_id && external_id) {
		cu->external_id = (char *)external_id;
		rc = rf_store_customer_update(c->app->store, cu, err);
	}
	return rc;
}

rf_status rf_api_customer_touch(rf_ctx *c, const rf_program *prog, const char *email, const char *external_id,
				const char *code, const char *click_id, char **lead_id, rf_err *err)
{
	rf_lead l;
	rf_customer cu;
	if (resolve_customer(c, prog, NULL, email, external_id, NULL, code, click_id, &l, &cu, err) != RF_OK)
		return err->status;
	*lead_id = l.id;
	return RF_OK;
}

/* Checks what a sale says about its customer: that it names one (lead_id, email or customer_external_id), that an
 * email is an address and that a lead_id is a lead of the program. This runs before a stored sale with the same
 * external id is looked for, so that a replay is refused for the same input as a first request. */
static rf_status check_customer(rf_ctx *c, const rf_program *prog, const rf_sale_input *in, rf_err *err)
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
	rf_status rc = rf_store_lead_get(c->app->store, in->lead_id, &l, c->a, err);
	if (rc == RF_ENOTFOUND || (rc == RF_OK && strcmp(l.program_id, prog->id) != 0))
		return rf_err_set(err, RF_EINVAL, "lead_id", "lead_id: no such lead in the program: %s", in->lead_id);
	return rc;
}

rf_status rf_api_sale_ingest(rf_ctx *c, const rf_sale_input *in, json_t **out, int *status, char **sale_id, rf_err *err)
{
	rf_program prog;
	if (rf_api_program_or_only(c, in->program_id, &prog, err) != RF_OK ||
	    check_customer(c, &prog, in, err) != RF_OK)
		return err->status;
	rf_sale x;
	rf_status rc = rf_store_sale_find(c->app->store, prog.id, in->external_id, false, &x, c->a, err);
	if (rc == RF_OK) {
		/* The same invoice again is the same sale. */
		if (x.amount != in->amount || strcmp(x.currency, in->currency) != 0)
			return rf_err_set(err, RF_ECONFLICT, "external_id",
					  "external_id %s was recorded as a sale of another amount", in->external_id);
		rf_commission *items = NULL;
		size_t n = 0;
		if (sale_entries(c, x.id, false, &items, &n, err) != RF_OK)
			return err->status;
		*out = sale_json(&x);
		json_object_set_new(*out, "commissions", entries_json(c, items, n));
		json_object_set_new(*out, "duplicate", json_true());
		*status = 200;
		*sale_id = x.id;
		return RF_OK;
	}
	if (rc != RF_ENOTFOUND)
		return rc;
	rf_lead l;
	rf_customer cu;
	if (resolve_customer(c, &prog, in->lead_id, in->email, in->customer_external_id, in->partner_id, in->code,
			     in->click_id, &l, &cu, err) != RF_OK)
		return err->status;
	int64_t now = rf_clock_now_ms();
	memset(&x, 0, sizeof x);
	x.id = rf_id_new_arena(c->a, "sale");
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
	x.created_at = now;
	if (in->kind) {
		x.kind = (char *)in->kind;
	} else {
		int64_t before = 0;
		if (rf_store_sale_count_customer(c->app->store, cu.id, x.occurred_at, &before, err) != RF_OK)
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
	if (rf_ledger_convert(rf_ctx_svc(c), x.amount, x.currency, prog.currency, x.occurred_at, &x.program_amount,
			      &ppb, &inverse, &missing, err) != RF_OK)
		return err->status;
	x.has_program_amount = !missing;
	rf_metrics m;
	memset(&m, 0, sizeof m);
	m.v[RF_M_SALES] = 1;
	m.v[RF_M_REVENUE] = x.has_program_amount ? x.program_amount : 0;
	if (rf_store_sale_insert(c->app->store, &x, err) != RF_OK ||
	    rf_svc_rollup(rf_ctx_svc(c), prog.id, x.partner_id, x.agent_id, l.source, l.click_id, x.occurred_at, &m,
			  err) != RF_OK)
		return err->status;
	/* The first sale converts the lead and starts the customer's recurring window. */
	if (!cu.first_sale_at || x.occurred_at < cu.first_sale_at) {
		cu.first_sale_at = x.occurred_at;
		if (rf_store_customer_update(c->app->store, &cu, err) != RF_OK)
			return err->status;
	}
	rf_ledger L = {.sv = rf_ctx_svc(c), .prog = &prog, .actor = c->who.actor};
	if (!blocked && strcmp(l.status, "converted") != 0) {
		char *why = rf_arena_printf(c->a, "first sale %s", x.id);
		rf_lead_event ev = {l.status, "converted", c->who.actor, why, now};
		bool reached = false;
		if (rf_svc_lead_reached(rf_ctx_svc(c), &l, &reached, err) != RF_OK)
			return err->status;
		l.status = "converted";
		l.status_at = l.updated_at = now;
		/* A sale reported as older than its lead still converts it no earlier than it was created. */
		l.converted_at = x.occurred_at > l.created_at ? x.occurred_at : l.created_at;
		if ((!reached && rf_svc_rollup_lead(rf_ctx_svc(c), &l, RF_M_QUALIFIED, now, err) != RF_OK) ||
		    rf_svc_rollup_lead(rf_ctx_svc(c), &l, RF_M_CUSTOMERS, l.converted_at, err) != RF_OK ||
		    rf_store_lead_update(c->app->store, &l, err) != RF_OK ||
		    rf_store_lead_event_add(c->app->store, l.id, &ev, err) != RF_OK ||
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
		if (rf_api_audit(c, "sale.no_commission", x.id, NULL, err) != RF_OK)
			return err->status;
	}
	if (rf_api_audit(c, "sale.create", x.id, NULL, err) != RF_OK)
		return err->status;
	*out = sale_json(&x);
	json_object_set_new(*out, "commissions", entries_json(c, L.items, L.n));
	*status = 201;
	*sale_id = x.id;
	return RF_OK;
}

static json_t *refund_json(const rf_refund *r)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o}", "id", r->id, "object", "refund", "program_id",
			      r->program_id, "sale_id", r->sale_id, "kind", r->kind, "amount",
			      rf_json_money_new(r->amount, r->currency), "external_id",
			      rf_json_nullable(r->external_id), "reason", rf_json_nullable(r->reason));
	json_object_set_new(o, "occurred_at", rf_json_time(r->occurred_at));
	json_object_set_new(o, "created_at", rf_json_time(r->created_at));
	return o;
}

rf_status rf_api_refund_ingest(rf_ctx *c, const rf_refund_input *in, json_t **out, int *status, char **refund_id,
			       rf_err *err)
{
	rf_sale x;
	rf_program prog;
	if (in->sale_id) {
		rf_status rc = rf_store_sale_get(c->app->store, in->sale_id, &x, c->a, err);
		if (rc == RF_ENOTFOUND || (rc == RF_OK && in->program_id && strcmp(x.program_id, in->program_id) != 0))
			return rf_err_set(err, RF_EINVAL, "sale_id", "sale_id: no such sale %s", in->sale_id);
		if (rc != RF_OK)
			return rc;
		if (rf_store_program_get(c->app->store, x.program_id, &prog, c->a, err) != RF_OK)
			return err->status;
	} else if (in->sale_external_id) {
		if (rf_api_program_or_only(c, in->program_id, &prog, err) != RF_OK)
			return err->status;
		rf_status rc = rf_store_sale_find(c->app->store, prog.id, in->sale_external_id, true, &x, c->a, err);
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
		rf_status rc = rf_store_refund_find(c->app->store, prog.id, in->external_id, &r, c->a, err);
		if (rc == RF_OK) {
			if (strcmp(r.sale_id, x.id) != 0)
				return rf_err_set(err, RF_ECONFLICT, "external_id",
						  "external_id %s was recorded for another sale", in->external_id);
			*out = refund_json(&r);
			json_object_set_new(*out, "duplicate", json_true());
			json_object_set_new(*out, "commissions", json_array());
			*status = 200;
			*refund_id = r.id;
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
	r.id = rf_id_new_arena(c->a, "rfd");
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
	if (rf_store_lead_get(c->app->store, x.lead_id, &lead, c->a, err) != RF_OK ||
	    rf_svc_rollup(rf_ctx_svc(c), prog.id, x.partner_id, x.agent_id, lead.source, lead.click_id, r.occurred_at,
			  &m, err) != RF_OK)
		return err->status;
	rf_commission *orig = NULL;
	size_t n = 0;
	rf_ledger L = {.sv = rf_ctx_svc(c), .prog = &prog, .actor = c->who.actor};
	if (rf_store_refund_insert(c->app->store, &r, err) != RF_OK ||
	    rf_store_sale_set_refunded(c->app->store, x.id, x.refunded, x.disputed, err) != RF_OK ||
	    sale_entries(c, x.id, true, &orig, &n, err) != RF_OK ||
	    rf_ledger_reverse(&L, &x, &r, orig, n, err) != RF_OK ||
	    rf_api_audit(c, strcmp(r.kind, "dispute") == 0 ? "sale.dispute" : "sale.refund", r.id, NULL, err) != RF_OK)
		return err->status;
	*out = refund_json(&r);
	json_object_set_new(*out, "commissions", entries_json(c, L.items, L.n));
	*status = 201;
	*refund_id = r.id;
	return RF_OK;
}

static const rf_jfield sale_fields[] = {
    {"program_id", RF_JT_STRING, false, 64, NULL},
    {"lead_id", RF_JT_STRING, false, 64, NULL},
    {"email", RF_JT_STRING, false, 254, NULL},
    {"customer_external_id", RF_JT_STRING, false, 200, NULL},
    {"amount", RF_JT_MONEY, false, 0, NULL},
    {"external_id", RF_JT_STRING, false, 200, NULL},
    {"kind", RF_JT_STRING, false, 16, NULL},
    {"occurred_at", RF_JT_STRING, false, 40, NULL},
    {"code", RF_JT_STRING, false, 64, NULL},
    {"click_id", RF_JT_STRING, false, 64, NULL},
    {"partner_id", RF_JT_STRING, false, 64, NULL},
    {"metadata", RF_JT_OBJECT, false, 8192, NULL},
    {NULL, 0, false, 0, NULL},
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
	if (sale_entries(c, x.id, false, &items, &n, &err) != RF_OK) {
		rf_json_error(c, &err);
		return;
	}
	json_t *out = sale_json(&x);
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
		json_array_append_new(refunds, refund_json(&rf[i]));
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
		json_array_append_new(data, sale_json(&items[i]));
	rf_json_send(c, 200, rf_json_list(data, more));
	return;
fail:
	rf_json_error(c, &err);
}
