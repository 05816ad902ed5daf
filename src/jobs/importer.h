/* SPDX-License-Identifier: Apache-2.0 */
/* The importer thread: runs the imports the API is sent (POST /api/v1/imports) on a database connection of its
 * own, one at a time per process, so that a long import never holds up a worker thread and its other requests. */
#ifndef RF_IMPORTER_H
#define RF_IMPORTER_H

#include <stdbool.h>

#include "../integrations/imports.h"

typedef struct rf_import_job rf_import_job;

struct rf_import_job {
	rf_import_options opts; /* what to import (its strings live as long as the job) */
	const char *csv;        /* the file */
	size_t len;
	rf_status status;        /* what rf_import_run returned */
	rf_import_report report; /* filled by the importer; the submitter frees it (rf_import_report_free) */
	/* Called on the importer thread once the import ended; the job is the submitter's again from then on. */
	void (*done)(rf_import_job *job);
	void *arg;
};

/* Starts the importer thread on its own connection to the database at location. */
rf_status rf_importer_start(const char *location, rf_err *err);

/* Hands job to the importer. False (the job untouched, done never called) when an import is running in this
 * process or the importer is not running or stopping. */
bool rf_importer_submit(rf_import_job *job);

/* Asks a running import to end after its current transaction (the server is stopping); it reports itself
 * "interrupted" through its done as usual. */
void rf_importer_wind_down(void);

/* Stops the thread (a running import ends after its current transaction) and waits for it. Safe to call when not
 * started, and more than once. */
void rf_importer_stop(void);

#endif
