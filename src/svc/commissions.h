/* SPDX-License-Identifier: Apache-2.0 */
/* Commissions whose time has come: the holding period's end approves them. */
#ifndef RF_SVC_COMMISSIONS_H
#define RF_SVC_COMMISSIONS_H

#include "svc.h"

/* Approves up to max pending entries whose holding period ended by now, inside the caller's transaction (entries
 * another process is approving at the same time are left to it); *approved says how many. */
rf_status rf_svc_commissions_approve_due(rf_svc *sv, int64_t now, int max, int *approved, rf_err *err);

#endif
