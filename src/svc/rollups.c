/* SPDX-License-Identifier: Apache-2.0 */
/* Keeping rollups up to date from every write: the keys a click, lead, sale or refund counts under (its partner,
 * agent and team, the program, the lead's source and its click's campaign), built here and nowhere else (the
 * store's rebuild, in SQL, makes the same ones). */
#include <stdio.h>
#include <string.h>

#include "rollups.h"

#include "batch.h"

void rf_svc_rollup_entities(rf_arena *a, const char *partner_id, const char *agent_id, const char *out[3])
{
	out[0] = partner_id ? rf_arena_printf(a, "p:%s", partner_id) : NULL;
	out[1] = agent_id ? rf_arena_printf(a, "a:%s", agent_id) : NULL;
	out[2] = agent_id && partner_id ? rf_arena_printf(a, "t:%s", partner_id) : NULL;
}

/* The campaign of the link a click came through, or NULL. */
static const char *click_campaign(rf_svc *x, const char *click_id)
{
	rf_click k;
	rf_link l;
	rf_err ignored = {0};
	if (click_id && rf_store_click_get(x->store, click_id, &k, x->a, &ignored) == RF_OK && k.link_id &&
	    rf_store_link_get(x->store, k.link_id, &l, x->a, &ignored) == RF_OK)
		return l.campaign;
	return NULL;
}

/* Adds m under the dims only (program, source, campaign). */
static rf_status rollup_dims(rf_svc *x, const char *program_id, const char *source, const char *campaign, int64_t at,
			     const rf_metrics *m, rf_err *err)
{
	const char *dims[3] = {
	    "all",
	    source ? rf_arena_printf(x->a, "s:%s", source) : NULL,
	    campaign ? rf_arena_printf(x->a, "c:%s", campaign) : NULL,
	};
	return rf_store_rollup_add(x->store, program_id, at, "", NULL, 0, dims, 3, m, err);
}

rf_status rf_svc_rollup(rf_svc *x, const char *program_id, const char *partner_id, const char *agent_id,
			const char *source, const char *click_id, int64_t at, const rf_metrics *m, rf_err *err)
{
	const char *campaign = click_campaign(x, click_id);
	const char *entities[3];
	rf_svc_rollup_entities(x->a, partner_id, agent_id, entities);
	const char *dims[3] = {
	    "all",
	    source ? rf_arena_printf(x->a, "s:%s", source) : NULL,
	    campaign ? rf_arena_printf(x->a, "c:%s", campaign) : NULL,
	};
	if (x->batch) {
		bool taken = false;
		if (rf_svc_batch_rollup(x->batch, program_id, at, "", entities, dims, m, &taken, err) != RF_OK)
			return err->status;
		if (taken)
			return RF_OK;
	}
	return rf_store_rollup_add(x->store, program_id, at, "", entities, 3, dims, 3, m, err);
}

rf_status rf_svc_rollup_lead(rf_svc *x, const rf_lead *l, int metric, int64_t at, rf_err *err)
{
	rf_metrics m;
	memset(&m, 0, sizeof m);
	m.v[metric] = 1;
	if (metric == RF_M_CUSTOMERS) {
		m.v[RF_M_CONVERSIONS] = 1;
		m.v[RF_M_CONVERSION_MS] = l->converted_at - l->created_at;
	}
	return rf_svc_rollup(x, l->program_id, l->partner_id, l->agent_id, l->source, l->click_id, at, &m, err);
}

rf_status rf_svc_lead_reached(rf_svc *x, const rf_lead *l, bool *reached, rf_err *err)
{
	*reached = false;
	rf_lead_event *ev = NULL;
	size_t n = 0;
	if (rf_store_lead_events(x->store, l->id, &ev, &n, x->a, err) != RF_OK)
		return err->status;
	for (size_t i = 0; i < n && !*reached; i++)
		*reached = strcmp(ev[i].to_status, "qualified") == 0 || strcmp(ev[i].to_status, "converted") == 0;
	return RF_OK;
}

/* Adds (sign 1) or takes out (-1) everything a lead counts for under its keys: its creation, first qualification
 * and conversion under its partner, agent, source and campaign; its sales and refunds (whose partner is the
 * sale's own) under its source and campaign. */
static rf_status lead_facts(rf_svc *x, const rf_lead *l, int sign, rf_err *err)
{
	rf_metrics m;
	memset(&m, 0, sizeof m);
	m.v[RF_M_LEADS] = sign;
	if (rf_svc_rollup(x, l->program_id, l->partner_id, l->agent_id, l->source, l->click_id, l->created_at, &m,
			  err) != RF_OK)
		return err->status;
	rf_lead_event *ev = NULL;
	size_t n = 0;
	if (rf_store_lead_events(x->store, l->id, &ev, &n, x->a, err) != RF_OK)
		return err->status;
	for (size_t i = 0; i < n; i++)
		if (strcmp(ev[i].to_status, "qualified") == 0 || strcmp(ev[i].to_status, "converted") == 0) {
			memset(&m, 0, sizeof m);
			m.v[RF_M_QUALIFIED] = sign;
			if (rf_svc_rollup(x, l->program_id, l->partner_id, l->agent_id, l->source, l->click_id,
					  ev[i].at, &m, err) != RF_OK)
				return err->status;
			break;
		}
	if (l->converted_at) {
		memset(&m, 0, sizeof m);
		m.v[RF_M_CUSTOMERS] = m.v[RF_M_CONVERSIONS] = sign;
		m.v[RF_M_CONVERSION_MS] = sign * (l->converted_at - l->created_at);
		if (rf_svc_rollup(x, l->program_id, l->partner_id, l->agent_id, l->source, l->click_id, l->converted_at,
				  &m, err) != RF_OK)
			return err->status;
	}
	rf_customer cu;
	rf_status rc = rf_store_customer_find(x->store, l->program_id, "lead_id", l->id, &cu, x->a, err);
	if (rc == RF_ENOTFOUND)
		return RF_OK;
	if (rc != RF_OK)
		return rc;
	const char *campaign = click_campaign(x, l->click_id);
	const char *after = NULL;
	for (;;) {
		rf_sale_filter f = {
		    .page = {.limit = 100, .starting_after = after}, .customer_id = cu.id, .oldest_first = true};
		rf_sale *items = NULL;
		bool more = false;
		if (rf_store_sale_list(x->store, &f, &items, &n, &more, x->a, err) != RF_OK)
			return err->status;
		for (size_t i = 0; i < n; i++) {
			memset(&m, 0, sizeof m);
			m.v[RF_M_SALES] = sign;
			m.v[RF_M_REVENUE] = items[i].has_program_amount ? sign * items[i].program_amount : 0;
			if (rollup_dims(x, l->program_id, l->source, campaign, items[i].occurred_at, &m, err) != RF_OK)
				return err->status;
			rf_refund *rf = NULL;
			size_t nr = 0;
			if (rf_store_refund_list(x->store, items[i].id, &rf, &nr, x->a, err) != RF_OK)
				return err->status;
			for (size_t k = 0; k < nr; k++) {
				memset(&m, 0, sizeof m);
				m.v[RF_M_REFUNDS] = rf[k].has_program_amount ? sign * rf[k].program_amount : 0;
				if (rollup_dims(x, l->program_id, l->source, campaign, rf[k].occurred_at, &m, err) !=
				    RF_OK)
					return err->status;
			}
		}
		if (!more || n == 0)
			return RF_OK;
		after = items[n - 1].id;
	}
}

rf_status rf_svc_lead_rekey(rf_svc *x, const rf_lead *before, const rf_lead *after, rf_err *err)
{
	bool same = (before->partner_id == after->partner_id ||
		     (before->partner_id && after->partner_id && strcmp(before->partner_id, after->partner_id) == 0)) &&
		    (before->agent_id == after->agent_id ||
		     (before->agent_id && after->agent_id && strcmp(before->agent_id, after->agent_id) == 0)) &&
		    (before->click_id == after->click_id ||
		     (before->click_id && after->click_id && strcmp(before->click_id, after->click_id) == 0)) &&
		    strcmp(before->source, after->source) == 0;
	if (same)
		return RF_OK;
	if (lead_facts(x, before, -1, err) != RF_OK)
		return err->status;
	return lead_facts(x, after, 1, err);
}
