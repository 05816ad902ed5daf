/* SPDX-License-Identifier: Apache-2.0 */
/* The holding-period job's work: pending commissions become approved once their holding period has ended. */
#include "commissions.h"

#include "events.h"

rf_status rf_svc_commissions_approve_due(rf_svc *sv, int64_t now, int max, int *approved, rf_err *err)
{
	*approved = 0;
	rf_commission *items = NULL;
	size_t n = 0;
	if (rf_store_commission_claim_due(sv->store, now, max, &items, &n, sv->a, err) != RF_OK)
		return err->status;
	for (size_t i = 0; i < n; i++) {
		if (rf_svc_commission_set_status(sv, &items[i], "approved", "the holding period ended", now, err) !=
		    RF_OK)
			return err->status;
		(*approved)++;
	}
	return RF_OK;
}
