/* SPDX-License-Identifier: Apache-2.0 */
/* The click writer: one thread that commits clicks in groups and then tells each request its click is durable. */
#ifndef RF_CLICKS_H
#define RF_CLICKS_H

#include <stdbool.h>

#include "../core/model.h"
#include "../core/status.h"

typedef struct rf_click_job rf_click_job;

/* Called on the writer thread once the job's click is committed (ok) or could not be (not ok). */
typedef void (*rf_click_done)(rf_click_job *job, bool ok);

struct rf_click_job {
	rf_click click; /* strings must stay valid until done runs */
	rf_click_done done;
	void *arg;
	rf_click_job *next; /* the writer's queue */
};

/* Starts the writer with its own connection to the database at location. When clicks arrive fast (the last
 * group held more than one), the writer waits up to delay_us microseconds for the next group to fill, so one
 * fsync covers more clicks. */
rf_status rf_clicks_start(const char *location, long delay_us, rf_err *err);

/* Queues a job; false when the writer is not running (the caller answers the request itself). */
bool rf_clicks_submit(rf_click_job *job);

/* Commits what is queued, then stops the writer and closes its connection. */
void rf_clicks_stop(void);

#endif
