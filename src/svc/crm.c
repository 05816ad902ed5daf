/* SPDX-License-Identifier: Apache-2.0 */
/* The CRMs in refd's terms: contacts to leads, deals through the stage map to statuses and sales, the links between
 * CRM records and leads, and the queue of what goes out to the CRMs (see crm.h). */
#include "crm.h"

#include <stdio.h>
#include <string.h>

#include "../core/clock.h"
#include "../core/crm.h"
#include "../core/money.h"
#include "../core/text.h"
#include "integrations.h"
#include "leads.h"
#include "sales.h"

/* Bounds of the contact details refd keeps from a CRM. */
#define MAX_NAME 200
#define MAX_PHONE 40

rf_status rf_svc_crm_linked(rf_svc *sv, const char *program_id, const char *system, const char *kind,
			    const char *external_id, char **lead_id, rf_err *err)
{
	return rf_store_external_object_get(sv->store, program_id, system, kind, external_id, lead_id, NULL, sv->a,
					    err);
}

rf_status rf_svc_crm_record_of(rf_svc *sv, const char *program_id, const char *system, const char *kind,
			       const char *lead_id, char **external_id, rf_err *err)
{
	char back[32];
	snprintf(back, sizeof back, "lead_%s", kind);
	return rf_store_external_object_get(sv->store, program_id, system, back, lead_id, external_id, NULL, sv->a,
					    err);
}

/* The same, with the version refd acted on (the CRM's last change, in ms). */
static rf_status link_versioned(rf_svc *sv, const char *program_id, const char *system, const char *kind,
				const char *external_id, const char *lead_id, int64_t version, rf_err *err)
{
	char back[32];
	snprintf(back, sizeof back, "lead_%s", kind);
	int64_t now = rf_clock_now_ms();
	if (rf_store_external_object_put(sv->store, program_id, system, kind, external_id, lead_id, version, now,
					 err) != RF_OK ||
	    rf_store_external_object_put(sv->store, program_id, system, back, lead_id, external_id, 0, now, err) !=
		RF_OK)
		return err->status;
	return RF_OK;
}

rf_status rf_svc_crm_link(rf_svc *sv, const char *program_id, const char *system, const char *kind,
			  const char *external_id, const char *lead_id, rf_err *err)
{
	return link_versioned(sv, program_id, system, kind, external_id, lead_id, 0, err);
}

/* A detail as kept: trimmed, NULL when blank or longer than max. */
static char *detail(rf_svc *sv, const char *s, size_t max)
{
	char *t = s ? rf_trim_arena(sv->a, s) : NULL;
	return t && *t && strlen(t) <= max && rf_text_clean(t) ? t : NULL;
}

static rf_status contact(rf_svc *sv, const rf_connection *c, const rf_crm_contact *ct, rf_crm_result *out, rf_err *err);

rf_status rf_svc_crm_contact(rf_svc *sv, const rf_connection *c, const rf_crm_contact *ct, rf_crm_result *out,
			     rf_err *err)
{
	if (contact(sv, c, ct, out, err) != RF_OK)
		return err->status;
	if (!ct->deal_id || !out->object_id || strncmp(out->object_id, "lead_", 5) != 0)
		return RF_OK;
	/* A contact that became a deal: the deal is the same lead, unless refd knows it as another's already. */
	char *had = NULL;
	rf_status rc = rf_svc_crm_linked(sv, c->program_id, c->system, "deal", ct->deal_id, &had, err);
	if (rc == RF_OK)
		return RF_OK;
	if (rc != RF_ENOTFOUND)
		return rc;
	memset(err, 0, sizeof *err);
	if (strcmp(out->outcome, "ignored") == 0) {
		out->outcome = "processed";
		out->note = "the contact's deal is linked to its lead";
	}
	return rf_svc_crm_link(sv, c->program_id, c->system, "deal", ct->deal_id, out->object_id, err);
}

static rf_status contact(rf_svc *sv, const rf_connection *c, const rf_crm_contact *ct, rf_crm_result *out, rf_err *err)
{
	memset(out, 0, sizeof *out);
	char *lead_id = NULL;
	rf_status rc = rf_svc_crm_linked(sv, c->program_id, c->system, "contact", ct->id, &lead_id, err);
	if (rc == RF_OK) {
		out->outcome = "ignored";
		out->note = rf_arena_printf(sv->a, "the contact is known already as %s", lead_id);
		out->object_id = lead_id;
		return RF_OK;
	}
	if (rc != RF_ENOTFOUND)
		return rc;
	memset(err, 0, sizeof *err);
	char email[RF_EMAIL_MAX + 1];
	const char *em = NULL;
	if (ct->email && rf_email_normalize(ct->email, email, sizeof email) == RF_OK)
		em = rf_arena_strdup(sv->a, email);
	if (!em) {
		out->outcome = "ignored";
		out->note = "the contact has no email address, which refd needs to make a lead of it";
		return RF_OK;
	}
	rf_lead l;
	rc = rf_store_lead_find(sv->store, c->program_id, em, NULL, &l, sv->a, err);
	if (rc == RF_OK) {
		out->outcome = "processed";
		out->note = "matched by email to the lead refd had";
		out->object_id = l.id;
		return link_versioned(sv, c->program_id, c->system, "contact", ct->id, l.id, ct->modified_at, err);
	}
	if (rc != RF_ENOTFOUND)
		return rc;
	memset(err, 0, sizeof *err);
	rf_program prog;
	if (rf_store_program_get(sv->store, c->program_id, &prog, sv->a, err) != RF_OK)
		return err->status;
	memset(&l, 0, sizeof l);
	l.program_id = prog.id;
	l.email = (char *)em;
	const char *name = ct->name;
	if (!name && (ct->first_name || ct->last_name))
		name = rf_arena_printf(sv->a, "%s%s%s", ct->first_name ? ct->first_name : "",
				       ct->first_name && ct->last_name ? " " : "", ct->last_name ? ct->last_name : "");
	l.name = detail(sv, name, MAX_NAME);
	l.company = detail(sv, ct->company, MAX_NAME);
	l.phone = detail(sv, ct->phone, MAX_PHONE);
	l.created_by = (char *)sv->actor;
	if (rf_svc_lead_create(sv, &prog, &l, detail(sv, ct->code, 64), detail(sv, ct->click, 64), err) != RF_OK)
		return err->status;
	out->outcome = "processed";
	out->note = l.partner_id ? "a new lead, credited by the contact's referral code or click id" : "a new lead";
	out->object_id = l.id;
	return link_versioned(sv, c->program_id, c->system, "contact", ct->id, l.id, ct->modified_at, err);
}

/* Finds or makes the lead of deal d: *lead_id, or NULL (with out filled) when there is none to be had. */
static rf_status deal_lead(rf_svc *sv, const rf_connection *c, const rf_crm_deal *d, const rf_crm_contact *contact,
			   char **lead_id, rf_crm_result *out, rf_err *err)
{
	*lead_id = NULL;
	rf_status rc = rf_svc_crm_linked(sv, c->program_id, c->system, "deal", d->id, lead_id, err);
	if (rc != RF_ENOTFOUND)
		return rc;
	memset(err, 0, sizeof *err);
	if (d->contact_id) {
		rc = rf_svc_crm_linked(sv, c->program_id, c->system, "contact", d->contact_id, lead_id, err);
		if (rc != RF_ENOTFOUND)
			return rc;
		memset(err, 0, sizeof *err);
	}
	if (contact) {
		rf_crm_result r;
		if (rf_svc_crm_contact(sv, c, contact, &r, err) != RF_OK)
			return err->status;
		if (r.object_id) {
			*lead_id = r.object_id;
			return RF_OK;
		}
	}
	if (!d->code && !d->click) {
		out->outcome = "ignored";
		out->note = "the deal names no contact refd knows and carries no referral code or click id";
		return RF_OK;
	}
	/* A deal with a code and no contact refd can read: its lead is the deal itself. */
	rf_program prog;
	if (rf_store_program_get(sv->store, c->program_id, &prog, sv->a, err) != RF_OK)
		return err->status;
	rf_lead l;
	memset(&l, 0, sizeof l);
	l.program_id = prog.id;
	l.external_id = rf_arena_printf(sv->a, "%s:deal:%s", c->system, d->id);
	rc = rf_store_lead_find(sv->store, prog.id, NULL, l.external_id, &l, sv->a, err);
	if (rc == RF_OK) {
		*lead_id = l.id;
		return RF_OK;
	}
	if (rc != RF_ENOTFOUND)
		return rc;
	memset(err, 0, sizeof *err);
	l.created_by = (char *)sv->actor;
	if (rf_svc_lead_create(sv, &prog, &l, detail(sv, d->code, 64), detail(sv, d->click, 64), err) != RF_OK)
		return err->status;
	*lead_id = l.id;
	/* The deal's contact, when the CRM tells of it later, is the same lead. */
	return d->contact_id ? rf_svc_crm_link(sv, c->program_id, c->system, "contact", d->contact_id, l.id, err)
			     : RF_OK;
}

/* True when status may not change any more through a CRM's stage: a customer's, or a registration's under review
 * or rejected (those change through approval). */
static bool settled(const char *status)
{
	return strcmp(status, "converted") == 0 || strcmp(status, "pending_review") == 0 ||
	       strcmp(status, "rejected") == 0;
}

rf_status rf_svc_crm_deal(rf_svc *sv, const rf_connection *c, const rf_crm_deal *d, const rf_crm_contact *contact,
			  rf_crm_result *out, rf_err *err)
{
	memset(out, 0, sizeof *out);
	int64_t seen = 0;
	rf_status rc =
	    rf_store_external_object_get(sv->store, c->program_id, c->system, "deal", d->id, NULL, &seen, sv->a, err);
	if (rc != RF_OK && rc != RF_ENOTFOUND)
		return rc;
	memset(err, 0, sizeof *err);
	if (rc == RF_OK && d->modified_at && seen && d->modified_at < seen) {
		/* Deliveries come out of order: an older copy of the deal must not undo what a newer one did. */
		out->outcome = "ignored";
		out->note = "an older copy of the deal than the one refd acted on";
		return RF_OK;
	}
	char *lead_id = NULL;
	if (deal_lead(sv, c, d, contact, &lead_id, out, err) != RF_OK)
		return err->status;
	if (!lead_id)
		return RF_OK;
	out->object_id = lead_id;
	if (link_versioned(sv, c->program_id, c->system, "deal", d->id, lead_id,
			   d->modified_at > seen ? d->modified_at : seen, err) != RF_OK)
		return err->status;
	rf_lead l;
	if (rf_store_lead_get(sv->store, lead_id, &l, sv->a, err) != RF_OK)
		return err->status;
	const char *mapped = d->stage ? rf_svc_connection_stage(c, d->stage, sv->a) : NULL;
	bool won = d->won || (mapped && strcmp(mapped, "converted") == 0);
	if (won) {
		rf_program prog;
		if (rf_store_program_get(sv->store, c->program_id, &prog, sv->a, err) != RF_OK)
			return err->status;
		rf_sale_input in;
		memset(&in, 0, sizeof in);
		in.program_id = prog.id;
		in.lead_id = l.id;
		if (!d->amount)
			return rf_err_set(err, RF_EINVAL, "amount", "the won deal %s has no amount", d->id);
		rc = rf_crm_amount(d->amount, d->currency ? d->currency : prog.currency, &in.amount, in.currency);
		if (rc == RF_EOVERFLOW)
			return rf_err_set(
			    err, RF_EOVERFLOW, "amount",
			    "the deal's amount %.40s is larger than refd accepts (at most %lld minor units)", d->amount,
			    (long long)RF_MONEY_MAX);
		if (rc != RF_OK)
			return rf_err_set(err, RF_EINVAL,
					  d->currency && rf_currency_lookup(d->currency, in.currency) < 0 ? "currency"
													  : "amount",
					  "the deal's amount is not a positive amount of its currency: %.40s %.8s",
					  d->amount, d->currency ? d->currency : prog.currency);
		in.external_id = rf_arena_printf(sv->a, "%s:deal:%s", c->system, d->id);
		in.occurred_at = d->closed_at;
		in.source = c->system;
		in.source_event_id = d->event_id;
		in.kind = rf_svc_connection_sale_kind(c);
		rf_sale_result res;
		if (rf_svc_sale_ingest(sv, &in, &res, err) != RF_OK)
			return err->status;
		out->object_id = res.sale.id;
		out->outcome = res.replay ? "duplicate" : "processed";
		out->note = res.replay ? "the deal's sale was recorded before" : "the won deal is a sale";
		return RF_OK;
	}
	const char *to = mapped;
	if (!to && d->lost)
		to = "lost";
	out->outcome = "processed";
	if (!to) {
		out->note = d->stage ? rf_arena_printf(sv->a, "the stage %.80s is not in the stage map", d->stage)
				     : "the deal is linked to its lead";
		return RF_OK;
	}
	if (settled(l.status) || strcmp(l.status, to) == 0) {
		out->note = rf_arena_printf(sv->a, "the lead stays %s", l.status);
		return RF_OK;
	}
	char *why = rf_arena_printf(sv->a, "%s deal %s: stage %.80s", c->system, d->id, d->stage ? d->stage : "lost");
	if (rf_svc_lead_move(sv, &l, to, why, err) != RF_OK)
		return err->status;
	out->note = rf_arena_printf(sv->a, "the lead is now %s", to);
	return RF_OK;
}

/* The credential a system needs to be called (its credential_keys hold it). */
static const char *push_credential(const char *system)
{
	if (strcmp(system, "hubspot") == 0)
		return "\"access_token\"";
	if (strcmp(system, "pipedrive") == 0)
		return "\"api_token\"";
	if (strcmp(system, "salesforce") == 0)
		return "\"client_id\"";
	return NULL;
}

static rf_status enqueue(rf_svc *sv, const char *target, const char *event_id, rf_err *err)
{
	rf_delivery d;
	memset(&d, 0, sizeof d);
	int64_t now = rf_clock_now_ms();
	d.id = rf_id_new_arena(sv->a, "dlv");
	d.kind = RF_CRM_DELIVERY;
	d.target_id = (char *)target;
	d.event_id = (char *)event_id;
	d.status = "pending";
	d.next_at = now;
	d.created_at = d.updated_at = now;
	return rf_store_delivery_insert(sv->store, &d, err);
}

rf_status rf_svc_crm_queue_lead(rf_svc *sv, const rf_event *ev, const rf_lead *l, rf_err *err)
{
	bool approved = strcmp(ev->type, "deal.approved") == 0;
	bool created = strcmp(ev->type, "lead.created") == 0 && l->partner_id && !l->registration;
	if (!approved && !created)
		return RF_OK;
	rf_connection *items = NULL;
	size_t n = 0;
	bool more = false;
	rf_page page = {.limit = 20};
	if (rf_store_connection_list(sv->store, &page, l->program_id, &items, &n, &more, sv->a, err) != RF_OK)
		return err->status;
	for (size_t i = 0; i < n; i++) {
		const rf_connection *c = &items[i];
		const char *need = push_credential(c->system);
		if (!need || strcmp(c->status, "enabled") != 0 || !c->credential_keys ||
		    !strstr(c->credential_keys, need))
			continue;
		/* What a CRM told refd is not told back to it. */
		if (l->created_by && strcmp(l->created_by, c->system) == 0)
			continue;
		if (enqueue(sv, c->id, ev->id, err) != RF_OK)
			return err->status;
	}
	return RF_OK;
}

rf_status rf_svc_crm_queue_fetch(rf_svc *sv, const rf_connection *c, const rf_inbound_event *e, rf_err *err)
{
	return enqueue(sv, c->id, e->id, err);
}
