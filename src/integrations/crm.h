/* SPDX-License-Identifier: Apache-2.0 */
/* The CRM sender: a thread on its own database connection that claims the due deliveries of kind "crm" (leads to
 * push to a CRM, records to read back from one after its webhook) with a lease, makes the calls with libcurl outside
 * any transaction, then records what came of each in a short transaction of its own, retrying with a growing pause
 * (401, 409 that is not an existing contact, 429, 5xx and network failures), so nothing is lost. */
#ifndef RF_INTEGRATIONS_CRM_H
#define RF_INTEGRATIONS_CRM_H

#include "../core/config.h"
#include "../core/status.h"
#include "../store/store.h"

/* Attempts a delivery makes before it is given up as failed (the last pause is a day). */
#define RF_CRM_MAX_ATTEMPTS 10

/* Starts the sender on its own connection to the database at location; cfg (the instance key unseals the
 * connections' credentials) must outlive it. */
rf_status rf_crm_start(const char *location, const rf_app_config *cfg, long interval_ms, rf_err *err);

/* Looks for due deliveries now rather than at the next interval (after the clock moved, for instance). */
void rf_crm_kick(void);

/* Stops the sender and waits for it. Safe when not started, and more than once. */
void rf_crm_stop(void);

/* One pass over store s: claims up to max due deliveries and handles each; *done says how many. */
rf_status rf_crm_run_once(rf_store *s, const rf_app_config *cfg, int max, int *done, rf_err *err);

#endif
