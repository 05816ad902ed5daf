/* SPDX-License-Identifier: Apache-2.0 */
/* The importer thread: runs the imports the API is sent (POST /api/v1/imports) on a database connection of its
 * own, one at a time per process, so that a long import never holds up a worker thread and its other requests,
 * and keeps each import's record (its status, counts and problems) up to date in the database as it goes. */
#ifndef RF_IMPORTER_H
#define RF_IMPORTER_H

#include <stdbool.h>
#include <stdio.h>

#include "../integrations/imports.h"

typedef struct rf_import_job rf_import_job;

struct rf_import_job {
	rf_arena a;             /* the job's own copies of its strings (options, mapping) */
	rf_import_options opts; /* what to import (its strings live in a) */
	FILE *file;             /* the file, read from where it stands (the importer closes it), or NULL: */
	char *csv;              /* the file in memory (malloc'd; the importer frees it) */
	size_t len;             /* the file's length in bytes */
	char id[40];            /* the import's id ("imp_…") */
	/* Called once on the importer thread: when the import has started (st RF_OK: its header read, its record
	 * written, its rows about to be read) with the report so far, or when it ended without starting (refused
	 * as a whole, the record not written, the server stopping) with the status and rep->fatal. The job is the
	 * importer's: the callee copies what it needs and keeps nothing of it. */
	void (*answer)(rf_import_job *job, rf_status st, const rf_import_report *rep);
	void *arg;
};

/* A new job, zeroed with its arena ready; NULL when out of memory. */
rf_import_job *rf_import_job_new(void);
/* Frees a job never submitted, or refused (closing its file). */
void rf_import_job_free(rf_import_job *job);

/* The import object as the API gives it: the report's JSON (first max_errors problems) with the import's id. */
json_t *rf_import_job_json(const char *id, const rf_import_report *rep, size_t max_errors);

/* A running import writes its record after every transaction, at most every half second. One still "running"
 * whose record was last written longer ago than this has no importer left: the refd running it was killed, or its
 * machine stopped. */
#define RF_IMPORT_STALE_MS (5 * 60 * 1000)

/* The import object of a record as the API gives it, at time now: a record left "running" for longer than
 * RF_IMPORT_STALE_MS is given as "failed", with the reason as its error. NULL when the record cannot be read. */
json_t *rf_import_record_json(const rf_import_record *r, int64_t now);

/* Writes "failed", with the reason, over the records of the imports left "running" for longer than
 * RF_IMPORT_STALE_MS (refd calls it as it starts); a record its importer wrote meanwhile is left alone. */
rf_status rf_importer_fail_stale(rf_store *s, int64_t now, rf_err *err);

/* Starts the importer thread on its own connection to the database at location, first failing the imports that
 * were left running (rf_importer_fail_stale). */
rf_status rf_importer_start(const char *location, rf_err *err);

/* Hands job to the importer, which frees it once it has ended. False (the job the caller's still, answer never
 * called) when an import is running in this process or the importer is not running or stopping. */
bool rf_importer_submit(rf_import_job *job);

/* Asks a running import to end after its current transaction (the server is stopping); its record then says
 * "interrupted". */
void rf_importer_wind_down(void);

/* Stops the thread (a running import ends after its current transaction) and waits for it. Safe to call when not
 * started, and more than once. */
void rf_importer_stop(void);

#endif
