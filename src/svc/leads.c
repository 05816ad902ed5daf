/* SPDX-License-Identifier: Apache-2.0 */
/* Attribution of a lead: the chains of clicks of a click id and of the visitor's cookie, a code's partner, an explicit
 * choice, handed to core/attribution.c's rules, and the credited record turned into partner and agent. */
#include <stdio.h>
#include <string.h>

#include "../core/attribution.h"
#include "../core/clock.h"
#include "../core/code.h"
#include "../core/text.h"
#include "events.h"
#include "leads.h"
#include "ledger.h"
#include "rollups.h"

/* The longest chain of clicks read for one attribution. */
#define CHAIN_MAX 20

/* Loads the chain of clicks that starts at id (the click, then its predecessors through the visitor's cookie),
 * for attribution. A click of another program, or an unknown id, gives an empty chain. */
static rf_status load_chain(rf_svc *sv, const char *id, const char *program_id, rf_attr_chain *chain, rf_err *err)
{
	rf_attr_click *arr = rf_arena_alloc(sv->a, sizeof *arr * CHAIN_MAX);
	if (!arr)
		return rf_err_set(err, RF_ENOMEM, NULL, "out of memory");
	chain->clicks = arr;
	chain->n = 0;
	const char *cur = id;
	/* The partner's status now matters, not at the click: a suspended partner's old clicks credit nobody. */
	const char *active_id = NULL, *inactive_id = NULL;
	while (cur && chain->n < CHAIN_MAX) {
		rf_click k;
		rf_status rc = rf_store_click_get(sv->store, cur, &k, sv->a, err);
		if (rc == RF_ENOTFOUND)
			break;
		if (rc != RF_OK)
			return rc;
		if (strcmp(k.program_id, program_id) != 0)
			break;
		rf_attr_click *ac = &arr[chain->n++];
		ac->id = k.id;
		ac->partner_id = k.partner_id;
		ac->at = k.at;
		ac->creditable = strcmp(k.status, "counted") == 0 || strcmp(k.status, "repeat") == 0;
		if (ac->creditable && k.partner_id) {
			if (inactive_id && strcmp(inactive_id, k.partner_id) == 0) {
				ac->creditable = false;
			} else if (!active_id || strcmp(active_id, k.partner_id) != 0) {
				rf_partner p;
				rf_status prc = rf_store_partner_get(sv->store, k.partner_id, &p, sv->a, err);
				if (prc != RF_OK && prc != RF_ENOTFOUND)
					return prc;
				if (prc == RF_OK && strcmp(p.status, "active") == 0) {
					active_id = k.partner_id;
				} else {
					inactive_id = k.partner_id;
					ac->creditable = false;
				}
			}
		}
		cur = k.prev_click_id;
	}
	return RF_OK;
}

/* Fills partner_id / agent_id of l from the credited record: an agent credits itself as agent and its team
 * parent as partner. */
rf_status rf_svc_lead_credit(rf_svc *sv, rf_lead *l, const char *credited, const char *field, rf_err *err)
{
	rf_partner p;
	rf_status rc = rf_store_partner_get(sv->store, credited, &p, sv->a, err);
	if (rc == RF_ENOTFOUND)
		return rf_err_set(err, RF_EINVAL, field, "%s: no such partner %s", field, credited);
	if (rc != RF_OK)
		return rc;
	if (strcmp(p.program_id, l->program_id) != 0)
		return rf_err_set(err, RF_EINVAL, field, "%s must be a partner of the lead's program", field);
	if (strcmp(field, "agent_id") == 0 && strcmp(p.kind, "agent") != 0)
		return rf_err_set(err, RF_EINVAL, field, "agent_id must name a partner of kind agent");
	if (strcmp(p.status, "active") != 0)
		return rf_err_set(err, RF_EINVAL, field, "%s: partner %s is %s and cannot be credited", field, p.id,
				  p.status);
	if (strcmp(p.kind, "agent") == 0) {
		l->agent_id = p.id;
		l->partner_id = p.team_parent_id ? p.team_parent_id : p.id;
	} else {
		l->partner_id = p.id;
	}
	return RF_OK;
}

rf_status rf_svc_lead_attribute(rf_svc *sv, const rf_program *prog, const char *explicit_id, const char *explicit_field,
				const char *code, const char *click, const char *cookie, rf_lead *l, rf_err *err)
{
	return rf_svc_lead_attribute_coupon(sv, prog, explicit_id, explicit_field, NULL, code, click, cookie, l, err);
}

rf_status rf_svc_lead_attribute_coupon(rf_svc *sv, const rf_program *prog, const char *explicit_id,
				       const char *explicit_field, const char *coupon_partner, const char *code,
				       const char *click, const char *cookie, rf_lead *l, rf_err *err)
{
	rf_attr_input in;
	memset(&in, 0, sizeof in);
	in.now = rf_clock_now_ms();
	in.window_ms = prog->cookie_window_days * 86400000LL;
	in.first_click = strcmp(prog->attribution_model, "first_click") == 0;
	in.explicit_partner_id = explicit_id;
	in.coupon_partner_id = coupon_partner;
	if (code) {
		/* From the database, not this process's code table: a link another process made a moment ago counts. */
		rf_code_entry ce;
		char folded[80];
		rf_code_fold(code, folded, sizeof folded);
		rf_status rc = rf_store_code_find(sv->store, folded, &ce, sv->a, err);
		if (rc != RF_OK && rc != RF_ENOTFOUND)
			return rc;
		if (rc == RF_ENOTFOUND || strcmp(ce.program_id, prog->id) != 0)
			return rf_err_set(err, RF_EINVAL, "code", "code: no such code in this program: %s", code);
		if (ce.credited)
			in.code_partner_id = ce.partner_id;
	}
	if (click && load_chain(sv, click, prog->id, &in.click, err) != RF_OK)
		return err->status;
	if (cookie && rf_id_valid(cookie, "clk") && load_chain(sv, cookie, prog->id, &in.cookie, err) != RF_OK)
		return err->status;
	rf_attr_result res = rf_attribute(&in);
	l->method = (char *)rf_attr_method_name(res.method);
	l->click_id = (char *)res.click_id;
	if (res.partner_id && rf_svc_lead_credit(sv, l, res.partner_id,
						 res.method == RF_ATTR_EXPLICIT ? explicit_field
						 : res.method == RF_ATTR_COUPON ? "coupon"
										: "click_id",
						 err) != RF_OK)
		return err->status;
	return RF_OK;
}

rf_status rf_svc_lead_insert(rf_svc *sv, rf_lead *l, rf_err *err)
{
	rf_lead_event ev = {NULL, l->status, (char *)sv->actor, NULL, l->created_at};
	if (rf_store_lead_insert(sv->store, l, err) != RF_OK ||
	    rf_store_lead_event_add(sv->store, l->id, &ev, err) != RF_OK ||
	    rf_svc_rollup_lead(sv, l, RF_M_LEADS, l->created_at, err) != RF_OK ||
	    rf_svc_audit(sv, "lead.create", l->id, NULL, err) != RF_OK ||
	    rf_svc_event_lead(sv, "lead.created", l, err) != RF_OK ||
	    (l->registration && rf_svc_event_lead(sv, "deal.registered", l, err) != RF_OK))
		return err->status;
	return RF_OK;
}

rf_status rf_svc_lead_move(rf_svc *sv, rf_lead *l, const char *status, const char *reason, rf_err *err)
{
	int64_t now = rf_clock_now_ms();
	bool reached = false;
	bool counts = strcmp(status, "qualified") == 0 || strcmp(status, "converted") == 0;
	if (counts && rf_svc_lead_reached(sv, l, &reached, err) != RF_OK)
		return err->status;
	rf_lead_event ev = {l->status, (char *)status, (char *)sv->actor, (char *)reason, now};
	l->status = (char *)status;
	l->status_at = l->updated_at = now;
	if (strcmp(status, "converted") == 0)
		l->converted_at = now;
	if (rf_store_lead_update(sv->store, l, err) != RF_OK ||
	    rf_store_lead_event_add(sv->store, l->id, &ev, err) != RF_OK)
		return err->status;
	if (counts && !reached && rf_svc_rollup_lead(sv, l, RF_M_QUALIFIED, now, err) != RF_OK)
		return err->status;
	if (strcmp(status, "converted") == 0 &&
	    rf_svc_rollup_lead(sv, l, RF_M_CUSTOMERS, l->converted_at, err) != RF_OK)
		return err->status;
	if (counts) {
		/* Per qualified lead: paid once, in the same transaction as the move. */
		rf_program prog;
		if (rf_store_program_get(sv->store, l->program_id, &prog, sv->a, err) != RF_OK)
			return err->status;
		rf_ledger L = {.sv = sv, .prog = &prog, .actor = sv->actor};
		if (rf_ledger_lead(&L, l, now, err) != RF_OK)
			return err->status;
	}
	char action[48];
	snprintf(action, sizeof action, "lead.%s", status);
	if (rf_svc_audit(sv, action, l->id, NULL, err) != RF_OK)
		return err->status;
	return rf_svc_event_lead(sv, strcmp(status, "converted") == 0 ? "lead.converted" : "lead.status_changed", l,
				 err);
}

rf_status rf_svc_lead_create(rf_svc *sv, const rf_program *prog, rf_lead *l, const char *code, const char *click,
			     rf_err *err)
{
	rf_lead keep = *l;
	rf_status rc = rf_svc_lead_attribute(sv, prog, NULL, "partner_id", code, click, NULL, l, err);
	if (rc == RF_EINVAL && (strcmp(err->field, "code") == 0 || strcmp(err->field, "click_id") == 0)) {
		/* A code or click id refd does not know: the lead comes in without it rather than not at all. */
		memset(err, 0, sizeof *err);
		*l = keep;
		rc = rf_svc_lead_attribute(sv, prog, NULL, "partner_id", NULL, NULL, NULL, l, err);
	}
	if (rc != RF_OK)
		return err->status;
	int64_t now = rf_clock_now_ms();
	l->id = rf_id_new_arena(sv->a, "lead");
	if (!l->source)
		l->source = l->partner_id ? "partner" : "direct";
	l->status = "new";
	if (!l->metadata)
		l->metadata = "{}";
	l->created_at = l->updated_at = l->status_at = now;
	return rf_svc_lead_insert(sv, l, err);
}
