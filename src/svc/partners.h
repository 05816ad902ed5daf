/* SPDX-License-Identifier: Apache-2.0 */
/* Partners as every door writes them (the API, the portal, the imports): the checks of a relation, the recruitment
 * code, the write with its audit entry and events, and status changes. */
#ifndef RF_SVC_PARTNERS_H
#define RF_SVC_PARTNERS_H

#include "svc.h"

/* Checks that other_id may be p's parent along field ("team_parent_id" or "recruited_by_id"): it exists, is a
 * partner of p's program, and no cycle results. Relation changes in a program are serialised by locking the
 * program. On success *slot (p's member) is set to the other partner's id, in the svc's arena. RF_EINVAL naming
 * field otherwise. */
rf_status rf_svc_partner_relation(rf_svc *sv, const rf_partner *p, const char *field, const char *other_id, char **slot,
				  rf_err *err);

/* Gives a new partner its recruitment code, in the svc's arena. */
rf_status rf_svc_partner_new_code(rf_svc *sv, rf_partner *p, rf_err *err);

/* Writes p, new (creating: inserted; status "applied" or "active") or changed (updated), with its audit entry
 * (the recruiter's change in its detail; before is the recruiter p had) and events: partner.created or
 * partner.applied for a new one, partner.recruited when a recruiter is named. RF_ECONFLICT on "email" when the
 * program has a partner with that email. */
rf_status rf_svc_partner_save(rf_svc *sv, rf_partner *p, bool creating, const char *before, rf_err *err);

/* Moves p to status (active, suspended or banned) with an optional reason, from the status the caller read and
 * checked: the write, the link table's version (the redirect stops or starts crediting), the audit entry and the
 * event (partner.approved, .reactivated, .suspended, .rejected or .banned). */
rf_status rf_svc_partner_set_status(rf_svc *sv, rf_partner *p, const char *status, const char *reason, rf_err *err);

#endif
