/* SPDX-License-Identifier: Apache-2.0 */
/* The refd subcommands, each given the arguments after its name and returning the process's exit code, and what
 * they share. */
#ifndef RF_CLI_H
#define RF_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "../store/store.h"

#define REFD_VERSION "0.1.0"

int rf_cli_serve(int argc, char **argv);
int rf_cli_migrate(int argc, char **argv);
int rf_cli_user(int argc, char **argv);
int rf_cli_apikey(int argc, char **argv);
int rf_cli_payouts(int argc, char **argv);
int rf_cli_rollups(int argc, char **argv);
int rf_cli_bench_data(int argc, char **argv);
/* refd import (src/cli/import.c). */
int rf_cli_import(int argc, char **argv);
int rf_cli_routes(void);
/* refd db copy (src/cli/dbcopy.c). */
int rf_cli_db(int argc, char **argv);

/* A whole number option in [min, max]; prints the rule naming --name and sets *bad otherwise. */
long rf_cli_long(const char *s, const char *name, long min, long max, int *bad);
/* Opens the database (printing why not); NULL on failure. */
rf_store *rf_cli_open(const char *db);
/* Opens the database and applies pending migrations (their count in *applied when not NULL). */
rf_store *rf_cli_open_migrated(const char *db, int *applied);
/* The instance key: REFD_SECRET_KEY (64 hex digits) if set, else the key file, created on first use. 0 or -1. */
int rf_cli_load_secret(const char *path, unsigned char key[32]);
/* A password from standard input when it is not a terminal, else a generated one (*generated). 0 or -1. */
int rf_cli_read_password(char *out, size_t len, bool *generated);

#endif
