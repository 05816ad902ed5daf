/* SPDX-License-Identifier: Apache-2.0 */
/* A small option parser: flags first, REFD_* environment variables second, defaults last. */
#include "options.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rf_options_usage(const rf_option *opts, const char *usage)
{
	printf("%s\n", usage);
	if (opts[0].name)
		printf("\nOptions:\n");
	for (const rf_option *o = opts; o->name; o++) {
		char flag[64];
		snprintf(flag, sizeof flag, "--%s%s", o->name, o->has_arg ? " VALUE" : "");
		printf("  %-28s %s", flag, o->help);
		if (o->env)
			printf(" [env %s]", o->env);
		if (o->def)
			printf(" (default: %s)", o->def);
		printf("\n");
	}
}

int rf_options_parse(rf_option *opts, int argc, char **argv, const char *usage)
{
	for (rf_option *o = opts; o->name; o++) {
		const char *e = o->env ? getenv(o->env) : NULL;
		o->value = (e && *e) ? e : o->def;
	}
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			rf_options_usage(opts, usage);
			return 1;
		}
		if (strncmp(a, "--", 2) != 0) {
			fprintf(stderr, "refd: unexpected argument '%s' (see --help)\n", a);
			return -1;
		}
		const char *name = a + 2, *eq = strchr(name, '=');
		size_t nl = eq ? (size_t)(eq - name) : strlen(name);
		rf_option *o = opts;
		while (o->name && !(strlen(o->name) == nl && strncmp(o->name, name, nl) == 0))
			o++;
		if (!o->name) {
			fprintf(stderr, "refd: unknown option --%.*s (see --help)\n", (int)nl, name);
			return -1;
		}
		if (!o->has_arg) {
			if (eq) {
				fprintf(stderr, "refd: --%s takes no value\n", o->name);
				return -1;
			}
			o->value = "1";
		} else if (eq) {
			o->value = eq + 1;
		} else if (i + 1 < argc) {
			o->value = argv[++i];
		} else {
			fprintf(stderr, "refd: --%s needs a value\n", o->name);
			return -1;
		}
	}
	return 0;
}

const char *rf_option_get(const rf_option *opts, const char *name)
{
	for (const rf_option *o = opts; o->name; o++)
		if (strcmp(o->name, name) == 0)
			return o->value;
	return NULL;
}

bool rf_option_on(const rf_option *opts, const char *name)
{
	const char *v = rf_option_get(opts, name);
	return v && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0 || strcmp(v, "yes") == 0 || strcmp(v, "on") == 0);
}
