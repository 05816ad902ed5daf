/* SPDX-License-Identifier: Apache-2.0 */
/* What an import file's columns mean: refd's own column names for partners, leads and sales, the ready-made maps
 * of other referral tools' exports (Rewardful, FirstPromoter, PartnerStack, Tolt), a custom mapping on top, and
 * the header row resolved into the column of each field. Pure rules: no I/O. */
#ifndef RF_IMPORTMAP_H
#define RF_IMPORTMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "status.h"

typedef enum { RF_IMPORT_PARTNERS, RF_IMPORT_LEADS, RF_IMPORT_SALES } rf_import_type;
#define RF_IMPORT_TYPES 3

/* "partners", "leads", "sales" into *t; false for anything else. */
bool rf_import_type_parse(const char *s, rf_import_type *t);
const char *rf_import_type_name(rf_import_type t);

/* The fields of each type, by number (refd's own column names). */
typedef enum {
	/* partners */
	RF_IF_EMAIL,
	RF_IF_NAME,
	RF_IF_FIRST_NAME,
	RF_IF_LAST_NAME,
	RF_IF_COMPANY,
	RF_IF_KIND,
	RF_IF_STATUS,
	RF_IF_CURRENCY,
	RF_IF_COST_PER_LEAD,
	RF_IF_REF,
	RF_IF_TEAM_PARENT,
	RF_IF_RECRUITED_BY,
	/* leads (and sales) */
	RF_IF_EXTERNAL_ID,
	RF_IF_PHONE,
	RF_IF_SOURCE,
	RF_IF_PARTNER_ID,
	RF_IF_PARTNER_EMAIL,
	RF_IF_PARTNER_REF,
	RF_IF_CODE,
	RF_IF_CREATED_AT,
	/* sales */
	RF_IF_AMOUNT,
	RF_IF_AMOUNT_MINOR,
	RF_IF_OCCURRED_AT,
	RF_IF_CUSTOMER_EXTERNAL_ID,
	RF_IF_LEAD_ID,
	RF_IF_CHARGE_ID,
	RF_IF_COUNT
} rf_import_field;

/* The column name of a field ("email"). */
const char *rf_import_field_name(rf_import_field f);
/* True when type t has field f. */
bool rf_import_has_field(rf_import_type t, rf_import_field f);
/* The field of type t named name, or -1. */
int rf_import_field_parse(rf_import_type t, const char *name);
/* The field names of type t, comma-separated, into buf (for messages and the documentation). */
void rf_import_field_list(rf_import_type t, char *buf, size_t len);

/* A ready-made map of another tool's exports. */
typedef struct rf_import_map rf_import_map;

/* The map named name ("rewardful", "firstpromoter", "partnerstack", "tolt"); NULL for "none" or an unknown
 * name (*known says which). */
const rf_import_map *rf_import_map_find(const char *name, bool *known);
/* The maps' names, ending with NULL. */
extern const char *const rf_import_map_names[];
const char *rf_import_map_name(const rf_import_map *m);
/* The tool's name as people write it ("Rewardful"). */
const char *rf_import_map_tool(const rf_import_map *m);
/* The columns of the tool's export of type t that the map reads, with the field each gives (NULL for a column it
 * knows and leaves out), ending with a NULL column: for the documentation and its tests. */
typedef struct {
	const char *column; /* as the header is normalised (rf_import_header_norm) */
	int field;          /* an rf_import_field, or -1 for a column deliberately left out */
} rf_import_alias;
const rf_import_alias *rf_import_map_columns(const rf_import_map *m, rf_import_type t);

/* A header as it is compared: lower case, every run of characters other than letters and digits one '_', none at
 * either end ("First Name" and "first-name" are both "first_name"). Writes at most len - 1 bytes. */
void rf_import_header_norm(const char *in, char *out, size_t len);

/* One entry of a custom mapping: the header column (compared normalised) and the field it gives, or a NULL field
 * to leave the column out. */
typedef struct {
	const char *column;
	const char *field;
} rf_import_pair;

#define RF_IMPORT_COLUMNS_MAX 1000

/* Which column of the file gives each field. */
typedef struct {
	int col[RF_IF_COUNT]; /* 0-based column of each field, -1 when the file has none */
	size_t ncols;         /* columns of the header */
	/* Columns the import leaves out (a map's or the mapping's choice), in order: indexes into the header. */
	int ignored[RF_IMPORT_COLUMNS_MAX];
	size_t nignored;
} rf_import_columns;

/* Resolves the header of a file of type t read with map (NULL for refd's own column names) and a custom mapping
 * (custom, n_custom; may be empty) into out. With refd's own names every column must be one of the type's fields
 * or in the mapping; with a map, columns neither the map nor the mapping knows are left out. RF_EINVAL naming the
 * culprit (err->field is "header" or "mapping") for an unknown column, a field given twice, a mapping naming a
 * column the header lacks or a field the type does not have, or a required field missing. */
rf_status rf_import_columns_resolve(rf_import_type t, const rf_import_map *map, const rf_import_pair *custom,
				    size_t n_custom, const char *const *header, size_t n, rf_import_columns *out,
				    rf_err *err);

/* A time as exports write them: RFC 3339, or a date ("2025-01-31", midnight UTC), or a date and a time without a
 * zone ("2025-01-31 14:05", "2025-01-31T14:05:09", UTC). 0 on success, -1 otherwise. */
int rf_import_time_parse(const char *s, int64_t *ms);

/* A partner status as other tools write it, as refd's: "active" (active, approved), "applied" (applied, pending),
 * "suspended" (suspended, disabled, blocked, suspicious, inactive), "banned"; "" for a status whose partners are
 * not imported (denied, rejected, declined); NULL when unknown. Any letter case. */
const char *rf_import_partner_status(const char *s);

#endif
