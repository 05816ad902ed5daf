/* SPDX-License-Identifier: Apache-2.0 */
/* One row of an import file (partners, leads or sales) checked as the API checks its input and written through
 * the same services (partners, leads and their attribution, sales with their commissions, events and rollups),
 * inside the caller's transaction. The file, its batches and transactions are integrations/imports.c's. */
#ifndef RF_SVC_IMPORTS_H
#define RF_SVC_IMPORTS_H

#include <stdint.h>

#include "../core/importmap.h"
#include "svc.h"

/* A row: each field's text as the file has it, NULL when the file has no column for it. */
typedef struct {
	const char *v[RF_IF_COUNT];
} rf_import_row;

/* What the import is: the program, the type and where the file comes from ("csv" for refd's own columns, or the
 * map's name), which the objects made record in their metadata. */
typedef struct {
	const rf_program *prog;
	rf_import_type type;
	const char *origin;
} rf_import_ctx;

typedef enum {
	RF_IMPORT_CREATED,  /* the row made its object */
	RF_IMPORT_EXISTING, /* the object was there (the same email, external id ...): nothing was written */
	RF_IMPORT_SKIPPED   /* the row is not to be imported (a partner the other tool rejected) */
} rf_import_outcome;

typedef struct {
	rf_import_outcome outcome;
	const char *id;   /* the object made or found (svc arena), NULL when skipped */
	const char *note; /* why it was skipped, or NULL */
} rf_import_done;

#define RF_IMPORT_PROBLEMS_MAX 8

/* What is wrong with a row, field by field. */
typedef struct {
	struct {
		int field; /* an rf_import_field, or -1 for the row as a whole */
		char message[200];
	} p[RF_IMPORT_PROBLEMS_MAX];
	size_t n;
} rf_import_problems;

/* Checks row and writes it. RF_OK with *done. A status for bad input (RF_EINVAL, RF_ECONFLICT, RF_ENOTFOUND,
 * RF_EFORBIDDEN, RF_EOVERFLOW) with the row's problems in *pr: what the row wrote must be rolled back (the caller's
 * savepoint), the transaction goes on. Any other status (RF_ERETRY, RF_EUNAVAIL, RF_EIO, RF_ENOMEM) with err: the
 * transaction cannot go on. */
rf_status rf_svc_import_row(rf_svc *sv, const rf_import_ctx *ic, const rf_import_row *row, rf_import_done *done,
			    rf_import_problems *pr, rf_err *err);

/* True when a status rf_svc_import_row returned is about the row (its problems say why), not the transaction. */
bool rf_import_row_status(rf_status st);

#define RF_IMPORT_KEYS 2
#define RF_IMPORT_KEY_MAX 300

/* The keys that make two rows of a file the same object (partners: the email; leads: the email and the external
 * id; sales: the external id), written into keys; how many. *content is a digest of what must then agree (a sale's
 * amount and currency; 0 for the others). Rows whose keys cannot be read have none. */
size_t rf_import_row_keys(const rf_import_ctx *ic, const rf_import_row *row,
			  char keys[RF_IMPORT_KEYS][RF_IMPORT_KEY_MAX], uint64_t *content);

#endif
