/* SPDX-License-Identifier: Apache-2.0 */
/* Writing partners: relations without cycles, recruitment codes, the write with its audit entry and events, and
 * status changes with their reasons. */
#include "partners.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/clock.h"
#include "../core/code.h"
#include "../core/json.h"
#include "../core/relation.h"
#include "events.h"

typedef struct {
	rf_store *store;
	rf_arena *a;
	const char *relation;
} parent_ctx;

static int parent_of(void *ctx, const char *id, char **parent)
{
	parent_ctx *pc = ctx;
	rf_err err = {0};
	return rf_store_partner_parent(pc->store, pc->relation, id, parent, pc->a, &err) == RF_OK ? 0 : -1;
}

rf_status rf_svc_partner_relation(rf_svc *sv, const rf_partner *p, const char *field, const char *other_id, char **slot,
				  rf_err *err)
{
	/* Relation changes in a program are made one at a time: two made at once could each find no cycle and
	 * make one together (A under B while B goes under A). */
	if (rf_store_lock(sv->store, RF_LOCK_PROGRAM, p->program_id, err) != RF_OK)
		return err->status;
	rf_partner other;
	rf_status rc = rf_store_partner_get(sv->store, other_id, &other, sv->a, err);
	if (rc == RF_ENOTFOUND)
		return rf_err_set(err, RF_EINVAL, field, "%s: no such partner %s", field, other_id);
	if (rc != RF_OK)
		return rc;
	if (strcmp(other.program_id, p->program_id) != 0)
		return rf_err_set(err, RF_EINVAL, field, "%s must be a partner of the same program", field);
	parent_ctx pc = {sv->store, sv->a, field};
	if (rf_relation_check(p->id, other_id, parent_of, &pc, field, err) != RF_OK)
		return err->status;
	*slot = other.id;
	return RF_OK;
}

rf_status rf_svc_partner_new_code(rf_svc *sv, rf_partner *p, rf_err *err)
{
	p->recruitment_code = rf_arena_alloc(sv->a, RF_RECRUIT_CODE_LEN + 1);
	if (!p->recruitment_code)
		return rf_err_set(err, RF_ENOMEM, NULL, "out of memory");
	rf_recruit_code_generate(p->recruitment_code, RF_RECRUIT_CODE_LEN + 1);
	return RF_OK;
}

/* The audit detail of a change of recruiter (who brought the partner in earns overrides on it), or NULL when the
 * recruiter stays; malloc'd JSON text the caller frees. A new partner's recruiter is {"recruited_by_id": id}. */
static char *recruiter_detail(const rf_partner *p, bool creating, const char *before)
{
	const char *now = p->recruited_by_id;
	json_t *d = NULL;
	if (creating && now)
		d = json_pack("{s:s}", "recruited_by_id", now);
	else if (!creating && (before ? !now || strcmp(before, now) != 0 : now != NULL))
		d = json_pack("{s:{s:o, s:o}}", "recruited_by_id", "from", rf_json_nullable(before), "to",
			      rf_json_nullable(now));
	char *txt = d ? json_dumps(d, JSON_COMPACT) : NULL;
	json_decref(d);
	return txt;
}

rf_status rf_svc_partner_save(rf_svc *sv, rf_partner *p, bool creating, const char *before, rf_err *err)
{
	p->updated_at = creating ? p->created_at : rf_clock_now_ms();
	rf_status rc =
	    creating ? rf_store_partner_insert(sv->store, p, err) : rf_store_partner_update(sv->store, p, err);
	if (rc == RF_ECONFLICT && strcmp(err->field, "email") == 0)
		return rf_err_set(err, RF_ECONFLICT, "email", "a partner with email %s already exists in this program",
				  p->email);
	if (rc != RF_OK)
		return rc;
	char *detail = recruiter_detail(p, creating, before);
	rc = rf_svc_audit(sv, creating ? "partner.create" : "partner.update", p->id, detail, err);
	free(detail);
	if (rc != RF_OK)
		return err->status;
	if (creating &&
	    rf_svc_event_partner(sv, strcmp(p->status, "applied") == 0 ? "partner.applied" : "partner.created", p,
				 err) != RF_OK)
		return err->status;
	/* A recruiter named now (at the creation or later): the recruit is the recruiter's news too. */
	bool recruited = p->recruited_by_id && (creating || !before || strcmp(before, p->recruited_by_id) != 0);
	if (recruited && rf_svc_event_partner(sv, "partner.recruited", p, err) != RF_OK)
		return err->status;
	return RF_OK;
}

rf_status rf_svc_partner_set_status(rf_svc *sv, rf_partner *p, const char *status, const char *reason, rf_err *err)
{
	/* What the change means: an application approved or rejected, a partner suspended, banned or reinstated. */
	const char *type = strcmp(status, "active") == 0
			       ? (strcmp(p->status, "applied") == 0 ? "partner.approved" : "partner.reactivated")
			   : strcmp(status, "suspended") == 0  ? "partner.suspended"
			   : strcmp(p->status, "applied") == 0 ? "partner.rejected"
							       : "partner.banned";
	p->status = (char *)status;
	p->status_reason = reason ? rf_arena_strdup(sv->a, reason) : NULL;
	p->updated_at = rf_clock_now_ms();
	json_t *detail = json_pack("{s:s, s:o}", "status", status, "reason",
				   p->status_reason ? json_string(p->status_reason) : json_null());
	char *dtxt = json_dumps(detail, JSON_COMPACT);
	json_decref(detail);
	char action[48];
	snprintf(action, sizeof action, "partner.%s", status);
	rf_status rc = RF_OK;
	if (rf_store_partner_update(sv->store, p, err) != RF_OK ||
	    rf_store_links_version_bump(sv->store, err) != RF_OK ||
	    rf_svc_audit(sv, action, p->id, dtxt, err) != RF_OK || rf_svc_event_partner(sv, type, p, err) != RF_OK)
		rc = err->status;
	free(dtxt);
	return rc;
}
