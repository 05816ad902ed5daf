/* SPDX-License-Identifier: Apache-2.0 */
/* Command-line options with REFD_* environment fallbacks, shared by every subcommand. */
#ifndef RF_OPTIONS_H
#define RF_OPTIONS_H

#include <stdbool.h>

typedef struct {
	const char *name; /* long flag without dashes: "listen" */
	const char *env;  /* environment variable: "REFD_LISTEN", or NULL */
	bool has_arg;     /* false for switches */
	const char *def;  /* default value, or NULL */
	const char *help;
	const char *value; /* filled by rf_options_parse */
} rf_option;

/* Reads flags (--name value, --name=value, --switch) from argv into opts (ended by a NULL name), falling back to
 * the environment, then to defaults. Prints a message naming the flag and returns -1 on an unknown flag or a
 * missing value; returns 1 when --help was given (after printing usage), 0 otherwise. */
int rf_options_parse(rf_option *opts, int argc, char **argv, const char *usage);

/* The value of a named option (NULL when unset). */
const char *rf_option_get(const rf_option *opts, const char *name);

/* True for a switch that is on ("1", "true", "yes", or given as a flag). */
bool rf_option_on(const rf_option *opts, const char *name);

/* Prints usage and the options, with their environment variables and defaults. */
void rf_options_usage(const rf_option *opts, const char *usage);

#endif
