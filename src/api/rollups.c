/* Keeping rollups up to date from the API's writes: the keys a lead, sale or refund counts under (its partner,
 * agent and team, the program, the lead's source and its click's campaign). */
#include <stdio.h>
#include <string.h>

#include "api.h"

rf_status rf_api_rollup(rf_ctx *c, const char *program_id, const char *partner_id, const char *agent_id,
			const char *source, const char *click_id, int64_t at, const rf_metrics *m, rf_err *err)
{
	const char *campaign = NULL;
	if (click_id) {
		rf_click k;
		rf_link l;
		rf_err ignored = {0};
		if (rf_store_click_get(c->app->store, click_id, &k, c->a, &ignored) == RF_OK && k.link_id &&
		    rf_store_link_get(c->app->store, k.link_id, &l, c->a, &ignored) == RF_OK)
			campaign = l.campaign;
	}
	const char *entities[3] = {
	    partner_id ? rf_arena_printf(c->a, "p:%s", partner_id) : NULL,
	    agent_id ? rf_arena_printf(c->a, "a:%s", agent_id) : NULL,
	    agent_id && partner_id ? rf_arena_printf(c->a, "t:%s", partner_id) : NULL,
	};
	const char *dims[3] = {
	    "all",
	    source ? rf_arena_printf(c->a, "s:%s", source) : NULL,
	    campaign ? rf_arena_printf(c->a, "c:%s", campaign) : NULL,
	};
	return rf_store_rollup_add(c->app->store, program_id, at, "", entities, 3, dims, 3, m, err);
}

rf_status rf_api_rollup_lead(rf_ctx *c, const rf_lead *l, int metric, int64_t at, rf_err *err)
{
	rf_metrics m;
	memset(&m, 0, sizeof m);
	m.v[metric] = 1;
	if (metric == RF_M_CUSTOMERS) {
		m.v[RF_M_CONVERSIONS] = 1;
		m.v[RF_M_CONVERSION_MS] = l->converted_at - l->created_at;
	}
	return rf_api_rollup(c, l->program_id, l->partner_id, l->agent_id, l->source, l->click_id, at, &m, err);
}

rf_status rf_api_lead_reached(rf_ctx *c, const rf_lead *l, bool *reached, rf_err *err)
{
	*reached = false;
	rf_lead_event *ev = NULL;
	size_t n = 0;
	if (rf_store_lead_events(c->app->store, l->id, &ev, &n, c->a, err) != RF_OK)
		return err->status;
	for (size_t i = 0; i < n && !*reached; i++)
		*reached = strcmp(ev[i].to_status, "qualified") == 0 || strcmp(ev[i].to_status, "converted") == 0;
	return RF_OK;
}
