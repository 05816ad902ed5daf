/* SPDX-License-Identifier: Apache-2.0 */
/* Payout runs, shared by the API and the command line. */
#ifndef RF_SVC_PAYOUTS_H
#define RF_SVC_PAYOUTS_H

#include <jansson.h>

#include "svc.h"

/* Drafts a run of what the program owes up to cutoff, leaving out (with the reason) partners who are not active,
 * held, owed nothing or under the threshold. */
rf_status rf_payout_create(rf_svc *sv, const rf_program *prog, int64_t cutoff, rf_payout_run *run, rf_err *err);
/* Approves a draft: its entries are locked to it, or RF_ECONFLICT when another run took one. */
rf_status rf_payout_approve(rf_svc *sv, rf_payout_run *run, rf_err *err);
/* Marks one item paid (its entries become paid) or failed (its entries return to the balance). */
rf_status rf_payout_item_paid(rf_svc *sv, rf_payout_run *run, rf_payout_item *it, const char *reference, bool failed,
			      rf_err *err);
/* Marks every pending item of an approved run paid. */
rf_status rf_payout_run_paid(rf_svc *sv, rf_payout_run *run, const char *reference, rf_err *err);
/* The run as CSV (format generic, paypal or wise; currency may restrict it): *out is malloc'd. */
rf_status rf_payout_export(rf_svc *sv, const rf_payout_run *run, const char *format, const char *currency, char **out,
			   size_t *out_len, rf_err *err);

#endif
