/* SPDX-License-Identifier: Apache-2.0 */
/* Background work that runs beside the HTTP server: the holding-period job approves pending commissions whose
 * holding period has ended, deal registrations whose protection ended get their deal.expired event, events older
 * than their keeping time are removed, and the mail of the day is composed (deal reminders, daily digests). */
#ifndef RF_JOBS_H
#define RF_JOBS_H

#include "../core/config.h"
#include "../core/status.h"
#include "../store/store.h"

typedef struct {
	long interval_ms;         /* how often the jobs run */
	int event_retention_days; /* events (and their deliveries) older than this are removed, and mail too */
	const rf_app_config *app; /* the server's settings, for the mail the jobs compose; NULL: no mail */
} rf_jobs_config;

/* Starts the jobs thread on its own connection to the database at location. */
rf_status rf_jobs_start(const char *location, const rf_jobs_config *cfg, rf_err *err);

/* Runs the jobs now rather than at the next interval (after the clock moved, for instance). */
void rf_jobs_kick(void);

/* Lets the jobs compose mail from now on (the server's public address is final), and runs them. */
void rf_jobs_mail_ready(void);

/* Stops the thread and waits for it. Safe to call when not started, and more than once. */
void rf_jobs_stop(void);

/* One pass of the holding-period job over store s: approves up to max due entries; *approved says how many. */
rf_status rf_jobs_approve_due(rf_store *s, int64_t now, int max, int *approved, rf_err *err);

#endif
