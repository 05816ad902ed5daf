/* SPDX-License-Identifier: Apache-2.0 */
/* Leads and their attribution, shared by the API, the payment providers' webhooks and the command line. */
#ifndef RF_SVC_LEADS_H
#define RF_SVC_LEADS_H

#include "svc.h"

/* Credits l (partner_id, agent_id, method, click_id) by the attribution rules: explicit_id (a partner or agent
 * chosen by a person; errors name explicit_field) > code > click id > cookie click id, inside prog's window. */
rf_status rf_svc_lead_attribute(rf_svc *sv, const rf_program *prog, const char *explicit_id, const char *explicit_field,
				const char *code, const char *click, const char *cookie, rf_lead *l, rf_err *err);

/* The same with the partner (or agent) of a coupon the customer paid with (NULL for none), which comes after an
 * explicit choice and before the code (method coupon). */
rf_status rf_svc_lead_attribute_coupon(rf_svc *sv, const rf_program *prog, const char *explicit_id,
				       const char *explicit_field, const char *coupon_partner, const char *code,
				       const char *click, const char *cookie, rf_lead *l, rf_err *err);

/* Credits l with the partner or agent credited (an agent credits itself as agent and its team parent as
 * partner); RF_EINVAL naming field when it is not an active partner of the lead's program. */
rf_status rf_svc_lead_credit(rf_svc *sv, rf_lead *l, const char *credited, const char *field, rf_err *err);

/* Moves l to status inside the open transaction, with its history entry, the reports' counts, the commission per
 * qualified lead (once), the audit entry and the event (lead.converted or lead.status_changed); l is changed in
 * place. */
rf_status rf_svc_lead_move(rf_svc *sv, rf_lead *l, const char *status, const char *reason, rf_err *err);

/* Creates lead l (its program, contact details, created_by set by the caller) attributed by the rules of
 * rf_svc_lead_attribute from code and click (a code or click refd does not know is left out rather than losing the
 * lead), with its history, counts, audit entry and lead.created event. */
rf_status rf_svc_lead_create(rf_svc *sv, const rf_program *prog, rf_lead *l, const char *code, const char *click,
			     rf_err *err);
/* Writes a new lead l (id, program, status and times set by the caller): the lead, its first history entry, the
 * rollups (a lead at l->created_at), the audit entry lead.create and the events lead.created (and deal.registered
 * for a partner's registration). RF_ECONFLICT on "email" or "external_id" when the program has that lead. */
rf_status rf_svc_lead_insert(rf_svc *sv, rf_lead *l, rf_err *err);

#endif
