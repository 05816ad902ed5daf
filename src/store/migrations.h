/* SPDX-License-Identifier: Apache-2.0 */
/* The SQL migrations embedded in the binary, generated at build time from src/store/migrations/NNNN_name.sql. */
#ifndef RF_MIGRATIONS_H
#define RF_MIGRATIONS_H

#include <stddef.h>

typedef struct {
	int version;
	const char *name;
	const char *sql;
} rf_migration;

/* In ascending version order, without gaps. */
extern const rf_migration rf_migrations[];
extern const size_t rf_migrations_count;

#endif
