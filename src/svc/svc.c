/* SPDX-License-Identifier: Apache-2.0 */
/* What every service shares: the audit trail and finding the program an operation is about. */
#include "svc.h"

#include "../core/clock.h"
#include "batch.h"

rf_status rf_svc_audit(rf_svc *x, const char *action, const char *object_id, const char *detail, rf_err *err)
{
	/* In an import, entries without detail are gathered: one per action for the transaction (svc/batch.h). */
	if (x->batch && !detail)
		return rf_svc_batch_audit(x->batch, x->actor ? x->actor : "anonymous", action, object_id, err);
	return rf_store_audit_add(x->store, x->actor ? x->actor : "anonymous", action, object_id, detail,
				  rf_clock_now_ms(), err);
}

rf_status rf_svc_program_or_only(rf_svc *x, const char *pid, rf_program *prog, rf_err *err)
{
	if (pid) {
		rf_status rc = rf_store_program_get(x->store, pid, prog, x->a, err);
		if (rc == RF_ENOTFOUND)
			return rf_err_set(err, RF_EINVAL, "program_id", "program_id: no such program %s", pid);
		return rc;
	}
	rf_program *items = NULL;
	size_t n = 0;
	bool more = false;
	rf_page page = {.limit = 1};
	if (rf_store_program_list(x->store, &page, NULL, &items, &n, &more, x->a, err) != RF_OK)
		return err->status;
	if (n != 1 || more)
		return rf_err_set(err, RF_EINVAL, "program_id",
				  "program_id is required (there are several programs, or none)");
	*prog = items[0];
	return RF_OK;
}
