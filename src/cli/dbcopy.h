/* SPDX-License-Identifier: Apache-2.0 */
/* refd db copy: moving a whole database to another (SQLite to PostgreSQL, when a business outgrows one file). */
#ifndef RF_CLI_DBCOPY_H
#define RF_CLI_DBCOPY_H

/* Runs `refd db …` with the arguments after "db"; returns the process's exit code. */
int rf_cli_db(int argc, char **argv);

#endif
