/* SPDX-License-Identifier: Apache-2.0 */
/* Imports from CSV: a file of partners, leads or sales (refd's own columns, or another referral tool's export
 * through a ready-made map) read as a stream and written row by row through the services, in short transactions,
 * each row all or nothing; a dry run checks every row the same way and writes nothing. The API (POST
 * /api/v1/imports) and the command line (refd import) both run imports through here. */
#ifndef RF_INTEGRATIONS_IMPORTS_H
#define RF_INTEGRATIONS_IMPORTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "../core/config.h"
#include "../core/csvread.h"
#include "../core/importmap.h"
#include "../store/store.h"

/* One row's problem as the report gives it. */
typedef struct {
	int64_t line;      /* the line the row starts on */
	int column;        /* 1-based column of the file, 0 when the problem is not one column's */
	char field[32];    /* refd's column name ("email"), "" when none */
	char header[80];   /* the file's name of the column, "" when none */
	char message[256]; /* what is wrong, in a sentence */
} rf_import_error;

typedef struct {
	rf_import_type type;
	char program_id[64];
	const char *map; /* "none" or the map's name */
	bool dry_run;
	const char *status; /* "running", "completed" (the whole file was read), "interrupted", "failed" */
	int64_t rows;       /* rows read (the header aside) */
	int64_t created, existing, skipped, failed;
	int64_t bytes, total_bytes; /* read so far; the input's size when known, else 0 */
	int64_t batches;            /* transactions */
	rf_import_error *errors;    /* the first max_errors problems, in the file's order */
	size_t nerrors;
	int64_t errors_total; /* every problem */
	/* The columns: each field's column (-1 when none) and the header's names. */
	int col[RF_IF_COUNT];
	char **header;
	size_t ncols;
	int *ignored; /* columns left out */
	size_t nignored;
	rf_err fatal; /* why the import stopped early or never began (status "failed") */
	int64_t started_at, finished_at;
} rf_import_report;

typedef struct {
	rf_import_type type;
	const char *program_id;        /* NULL: the only program */
	const rf_import_map *map;      /* NULL: refd's own columns */
	const rf_import_pair *mapping; /* a custom mapping on top of them, n_mapping entries */
	size_t n_mapping;
	bool dry_run;
	const char *actor;        /* who imports: "usr_…", "key_…", "cli" */
	const rf_app_config *cfg; /* NULL when no server runs */
	int batch_rows;           /* rows per transaction at most; 0 for 2,000 */
	int batch_ms;             /* a transaction takes no new rows after this long; 0 for 100 ms */
	size_t max_errors;        /* problems the report lists; 0 for 10,000 */
	int64_t total_bytes;      /* the input's size when known, for progress */
	/* Called after each transaction, with the report so far. */
	void (*progress)(void *arg, const rf_import_report *rep);
	void *progress_arg;
	/* Called with progress_arg once the header is resolved and the program found, before any row is read: a
	 * status other than RF_OK (with its err) ends the import there, written nothing. NULL: nothing is called. */
	rf_status (*started)(void *arg, const rf_import_report *rep, rf_err *err);
	/* Asked between transactions: true ends the import there ("interrupted"); what was committed stays. */
	bool (*stop)(void *arg);
	void *stop_arg;
} rf_import_options;

/* Runs an import of the CSV src gives into s, filling *rep (rf_import_report_free frees it). RF_OK when the whole
 * file was read (some rows may have failed: rep says which); RF_EINVAL when the file was refused as a whole before
 * any row was written (no header, unknown columns, a required column missing, no such program: rep->fatal);
 * another status when the database failed or the import was stopped midway (rep->fatal; the transactions
 * committed before stay, and the same file run again completes the import, as rows already there are found). */
rf_status rf_import_run(rf_store *s, rf_csv_source src, void *src_arg, const rf_import_options *o,
			rf_import_report *rep);

/* An rf_csv_source reading the open FILE arg from where it stands; -1 on a read error. */
long rf_import_file_read(void *arg, char *buf, size_t cap);

/* The report as JSON (a new reference): counts, the columns used, and the first max_errors problems. */
json_t *rf_import_report_json(const rf_import_report *rep, size_t max_errors);

void rf_import_report_free(rf_import_report *rep);

/* Parses a custom mapping, a JSON object {"The column": "refd_field" or null, ...}, into pairs in the arena. RF_EINVAL
 * naming "mapping" when it is not such an object (at most 64 entries). */
rf_status rf_import_mapping_parse(const char *json, rf_arena *a, rf_import_pair **pairs, size_t *n, rf_err *err);

#endif
