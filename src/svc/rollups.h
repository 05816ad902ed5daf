/* SPDX-License-Identifier: Apache-2.0 */
/* Rollups kept up to date on write: which keys a fact counts under ("p:" its partner, "a:" its agent, "t:" the
 * agent's team; dims "all", "s:" its source, "c:" its campaign) and the calls that add it there. */
#ifndef RF_SVC_ROLLUPS_H
#define RF_SVC_ROLLUPS_H

#include "svc.h"

/* Adds m at `at` under the partner (and agent and team, when agent_id is set), the program, the source and the
 * campaign of click_id's link. Any of partner_id, agent_id, source, click_id may be NULL. */
rf_status rf_svc_rollup(rf_svc *x, const char *program_id, const char *partner_id, const char *agent_id,
			const char *source, const char *click_id, int64_t at, const rf_metrics *m, rf_err *err);
/* Counts a lead under metric (RF_M_LEADS, RF_M_QUALIFIED or RF_M_CUSTOMERS, which also adds the conversion). */
rf_status rf_svc_rollup_lead(rf_svc *x, const rf_lead *l, int metric, int64_t at, rf_err *err);
/* Moves what a lead counts for in the rollups from its keys before a change (partner, agent, source, click) to
 * its keys after it. */
rf_status rf_svc_lead_rekey(rf_svc *x, const rf_lead *before, const rf_lead *after, rf_err *err);
/* True when the lead was qualified (or converted) before. */
rf_status rf_svc_lead_reached(rf_svc *x, const rf_lead *l, bool *reached, rf_err *err);

/* The entity keys of a fact credited to partner_id and, for an agent's, agent_id (its team is the partner):
 * out[0] "p:partner", out[1] "a:agent" and out[2] "t:partner" (NULL when there is no agent), in the arena. */
void rf_svc_rollup_entities(rf_arena *a, const char *partner_id, const char *agent_id, const char *out[3]);

#endif
