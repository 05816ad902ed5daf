/* SPDX-License-Identifier: Apache-2.0 */
/* The SQL migrations embedded in the binary, generated at build time from src/store/migrations/NNNN_name.sql and,
 * where PostgreSQL needs its own SQL, src/store/migrations/postgres/NNNN_name.sql. */
#ifndef RF_MIGRATIONS_H
#define RF_MIGRATIONS_H

#include <stddef.h>

typedef struct {
	int version;
	const char *name;
	const char *sql;    /* SQLite's */
	const char *pg_sql; /* PostgreSQL's: its own file where the SQL differs, else the same text */
} rf_migration;

/* In ascending version order, without gaps. */
extern const rf_migration rf_migrations[];
extern const size_t rf_migrations_count;

#endif
