/* SPDX-License-Identifier: Apache-2.0 */
/* The administrative subcommands: migrate, user, apikey, rollups, bench-data, routes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/clock.h"
#include "../core/secret.h"
#include "../core/text.h"
#include "../http/auth.h"
#include "../http/router.h"
#include "../store/store.h"
#include "benchdata.h"
#include "cli.h"
#include "options.h"

int rf_cli_migrate(int argc, char **argv)
{
	rf_option opts[] = {
	    {"db", "REFD_DB", true, "./refd.db", "SQLite database file, or a postgres:// URL", NULL},
	    {NULL, NULL, false, NULL, NULL, NULL},
	};
	int rc = rf_options_parse(opts, argc, argv,
				  "Usage: refd migrate [OPTIONS]\n\nApplies pending migrations to the database.");
	if (rc)
		return rc > 0 ? 0 : 2;
	int applied = 0, dbv = 0, binv = 0;
	rf_store *s = rf_cli_open_migrated(rf_option_get(opts, "db"), &applied);
	if (!s)
		return 1;
	rf_err err = {0};
	rf_store_schema_version(s, &dbv, &binv, &err);
	rf_store_close(s);
	printf("refd: %d migration(s) applied; schema version %d\n", applied, dbv);
	return 0;
}

int rf_cli_user(int argc, char **argv)
{
	if (argc >= 1 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
		printf(
		    "Usage: refd user add --email E --role R [--partner ID]\n"
		    "       refd user passwd --email E\n\nSee `refd user add --help` and `refd user passwd --help`.\n");
		return 0;
	}
	if (argc < 1 || (strcmp(argv[0], "add") != 0 && strcmp(argv[0], "passwd") != 0)) {
		fprintf(stderr, "refd: use `refd user add` or `refd user passwd` (see refd --help)\n");
		return 2;
	}
	bool add = strcmp(argv[0], "add") == 0;
	rf_option opts[] = {
	    {"db", "REFD_DB", true, "./refd.db", "SQLite database file, or a postgres:// URL", NULL},
	    {"email", "REFD_USER_EMAIL", true, NULL, "the user's email", NULL},
	    {"role", "REFD_USER_ROLE", true, NULL, "owner, admin, manager or partner (user add)", NULL},
	    {"partner", "REFD_USER_PARTNER", true, NULL, "partner id, for manager and partner users (user add)", NULL},
	    {NULL, NULL, false, NULL, NULL, NULL},
	};
	int rc = rf_options_parse(opts, argc - 1, argv + 1,
				  add ? "Usage: refd user add --email E --role R [--partner ID]\n\nCreates a user. "
					"The password is read from standard input when it is not a terminal; "
					"otherwise one is generated and printed."
				      : "Usage: refd user passwd --email E\n\nSets a user's password (from standard "
					"input, or generated and printed) and ends the user's sessions.");
	if (rc)
		return rc > 0 ? 0 : 2;
	char email[RF_EMAIL_MAX + 1];
	const char *e = rf_option_get(opts, "email");
	if (!e || rf_email_normalize(e, email, sizeof email) != RF_OK) {
		fprintf(stderr, "refd: --email must be an email address\n");
		return 2;
	}
	rf_role role = rf_role_parse(rf_option_get(opts, "role"));
	const char *partner = rf_option_get(opts, "partner");
	if (add && role == RF_ROLE_NONE) {
		fprintf(stderr, "refd: --role must be owner, admin, manager or partner\n");
		return 2;
	}
	if (add && (role == RF_ROLE_MANAGER || role == RF_ROLE_PARTNER) && !partner) {
		fprintf(stderr, "refd: a %s user needs --partner ID\n", rf_role_name(role));
		return 2;
	}
	if (add && role >= RF_ROLE_ADMIN && partner) {
		fprintf(stderr, "refd: only manager and partner users belong to a partner\n");
		return 2;
	}
	char password[300];
	bool generated = false;
	if (rf_cli_read_password(password, sizeof password, &generated) != 0)
		return 2;
	char hash[RF_PASSWORD_HASH_MAX];
	if (rf_password_hash(password, hash) != RF_OK) {
		fprintf(stderr, "refd: could not hash the password\n");
		return 1;
	}
	rf_store *s = rf_cli_open_migrated(rf_option_get(opts, "db"), NULL);
	if (!s)
		return 1;
	rf_arena a;
	rf_arena_init(&a, 0);
	rf_err err = {0};
	rf_user u;
	memset(&u, 0, sizeof u);
	int64_t now = rf_clock_now_ms();
	int status = 1;
	if (add) {
		rf_partner p;
		if (partner && rf_store_partner_get(s, partner, &p, &a, &err) != RF_OK) {
			fprintf(stderr, "refd: --partner: no such partner %s\n", partner);
			goto done;
		}
		u.id = rf_id_new_arena(&a, "usr");
		u.email = email;
		u.password_hash = hash;
		u.role = (char *)rf_role_name(role);
		u.partner_id = (char *)partner;
		u.created_at = now;
		if (rf_store_begin(s, &err) != RF_OK || rf_store_user_insert(s, &u, &err) != RF_OK ||
		    rf_store_audit_add(s, "cli", "user.create", u.id, NULL, now, &err) != RF_OK ||
		    rf_store_commit(s, &err) != RF_OK) {
			rf_store_rollback(s);
			fprintf(stderr, "refd: %s\n",
				err.status == RF_ECONFLICT ? "a user with this email already exists" : err.message);
			goto done;
		}
		fprintf(stderr, "refd: created %s user %s (%s)\n", u.role, email, u.id);
	} else {
		if (rf_store_user_get_by_email(s, email, &u, &a, &err) != RF_OK) {
			fprintf(stderr, "refd: no user with email %s\n", email);
			goto done;
		}
		u.password_hash = hash;
		if (rf_store_begin(s, &err) != RF_OK || rf_store_user_update(s, &u, &err) != RF_OK ||
		    rf_store_session_delete_user(s, u.id, &err) != RF_OK ||
		    rf_store_login_failure_clear(s, rf_arena_printf(&a, "email:%s", email), &err) != RF_OK ||
		    rf_store_audit_add(s, "cli", "user.passwd", u.id, NULL, now, &err) != RF_OK ||
		    rf_store_commit(s, &err) != RF_OK) {
			rf_store_rollback(s);
			fprintf(stderr, "refd: %s\n", err.message);
			goto done;
		}
		fprintf(stderr, "refd: password set for %s\n", email);
	}
	if (generated)
		printf("%s\n", password);
	status = 0;
done:
	rf_arena_reset(&a);
	rf_store_close(s);
	return status;
}

int rf_cli_apikey(int argc, char **argv)
{
	if (argc >= 1 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
		printf("Usage: refd apikey create --name N [--role R] [--partner ID]\n\nSee `refd apikey create "
		       "--help`.\n");
		return 0;
	}
	if (argc < 1 || strcmp(argv[0], "create") != 0) {
		fprintf(stderr, "refd: use `refd apikey create` (see refd --help)\n");
		return 2;
	}
	rf_option opts[] = {
	    {"db", "REFD_DB", true, "./refd.db", "SQLite database file, or a postgres:// URL", NULL},
	    {"name", "REFD_APIKEY_NAME", true, NULL, "what the key is for", NULL},
	    {"role", "REFD_APIKEY_ROLE", true, "admin", "owner, admin, manager or partner", NULL},
	    {"partner", "REFD_APIKEY_PARTNER", true, NULL, "partner id, for manager and partner keys", NULL},
	    {NULL, NULL, false, NULL, NULL, NULL},
	};
	int rc = rf_options_parse(opts, argc - 1, argv + 1,
				  "Usage: refd apikey create --name N [--role R] [--partner ID]\n\n"
				  "Creates an API key and prints it once on standard output; only its hash is kept.");
	if (rc)
		return rc > 0 ? 0 : 2;
	const char *name = rf_option_get(opts, "name");
	rf_role role = rf_role_parse(rf_option_get(opts, "role"));
	const char *partner = rf_option_get(opts, "partner");
	if (!name || !*name || strlen(name) > 100 || !rf_text_clean(name)) {
		fprintf(stderr, "refd: --name is required (up to 100 characters)\n");
		return 2;
	}
	if (role == RF_ROLE_NONE) {
		fprintf(stderr, "refd: --role must be owner, admin, manager or partner\n");
		return 2;
	}
	if ((role <= RF_ROLE_MANAGER) != (partner != NULL)) {
		fprintf(stderr, "refd: manager and partner keys need --partner ID; other roles take none\n");
		return 2;
	}
	rf_store *s = rf_cli_open_migrated(rf_option_get(opts, "db"), NULL);
	if (!s)
		return 1;
	rf_arena a;
	rf_arena_init(&a, 0);
	rf_err err = {0};
	rf_apikey k;
	memset(&k, 0, sizeof k);
	char *secret = NULL;
	int status = 1;
	rf_partner p;
	if (partner && rf_store_partner_get(s, partner, &p, &a, &err) != RF_OK) {
		fprintf(stderr, "refd: --partner: no such partner %s\n", partner);
		goto done;
	}
	rf_auth_new_key(&a, &secret, &k);
	k.name = (char *)name;
	k.role = (char *)rf_role_name(role);
	k.partner_id = (char *)partner;
	k.created_by = "cli";
	k.created_at = rf_clock_now_ms();
	if (rf_store_begin(s, &err) != RF_OK || rf_store_apikey_insert(s, &k, &err) != RF_OK ||
	    rf_store_audit_add(s, "cli", "api_key.create", k.id, NULL, k.created_at, &err) != RF_OK ||
	    rf_store_commit(s, &err) != RF_OK) {
		rf_store_rollback(s);
		fprintf(stderr, "refd: %s\n", err.message);
		goto done;
	}
	fprintf(stderr, "refd: created %s API key %s (%s); it is shown only now\n", k.role, k.id, name);
	printf("%s\n", secret);
	status = 0;
done:
	rf_arena_reset(&a);
	rf_store_close(s);
	return status;
}

int rf_cli_rollups(int argc, char **argv)
{
	static const char usage[] = "Usage: refd rollups rebuild [--db FILE]\n\nRecomputes every report rollup from "
				    "the raw tables (after a bulk load, or to repair them).";
	if (argc < 1 || strcmp(argv[0], "rebuild") != 0) {
		printf("%s\n", usage);
		return argc >= 1 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) ? 0 : 2;
	}
	rf_option opts[] = {
	    {"db", "REFD_DB", true, "./refd.db", "SQLite database file, or a postgres:// URL", NULL},
	    {NULL, NULL, false, NULL, NULL, NULL},
	};
	int rc = rf_options_parse(opts, argc - 1, argv + 1, usage);
	if (rc)
		return rc > 0 ? 0 : 2;
	rf_store *s = rf_cli_open_migrated(rf_option_get(opts, "db"), NULL);
	if (!s)
		return 1;
	rf_err err = {0};
	int status = 0;
	if (rf_store_begin(s, &err) != RF_OK || rf_store_rollup_rebuild(s, &err) != RF_OK ||
	    rf_store_commit(s, &err) != RF_OK) {
		rf_store_rollback(s);
		fprintf(stderr, "refd: rollups rebuild: %s\n", err.message);
		status = 1;
	}
	rf_store_close(s);
	return status;
}

int rf_cli_bench_data(int argc, char **argv)
{
	rf_option opts[] = {
	    {"db", "REFD_DB", true, "./refd.db", "SQLite database file, or a postgres:// URL", NULL},
	    {"partners", NULL, true, "100000", "how many partners to add", NULL},
	    {"seed", NULL, true, "42", "seed that makes the data repeatable", NULL},
	    {"clicks", NULL, true, "0", "clicks to generate for the partners (with --leads and --sales)", NULL},
	    {"leads", NULL, true, "0", "leads to generate (each from a click)", NULL},
	    {"sales", NULL, true, "0", "sales to generate (each converting a lead, with its commission)", NULL},
	    {"days", NULL, true, "365", "the period the activity is spread over, ending now", NULL},
	    {NULL, NULL, false, NULL, NULL, NULL},
	};
	int rc =
	    rf_options_parse(opts, argc, argv,
			     "Usage: refd bench-data [--partners N] [--seed S] [--clicks N --leads N --sales N "
			     "[--days D]]\n\n"
			     "Adds a program with N synthetic partners, for benchmarks; with --clicks, also links, "
			     "clicks, leads, sales and commissions for them, and the report rollups.");
	if (rc)
		return rc > 0 ? 0 : 2;
	int bad = 0;
	long n = rf_cli_long(rf_option_get(opts, "partners"), "partners", 1, 10000000, &bad);
	long seed = rf_cli_long(rf_option_get(opts, "seed"), "seed", 1, 2147483647, &bad);
	long clicks = rf_cli_long(rf_option_get(opts, "clicks"), "clicks", 0, 1000000000, &bad);
	long leads = rf_cli_long(rf_option_get(opts, "leads"), "leads", 0, 100000000, &bad);
	long sales = rf_cli_long(rf_option_get(opts, "sales"), "sales", 0, 10000000, &bad);
	long days = rf_cli_long(rf_option_get(opts, "days"), "days", 1, 3650, &bad);
	if (bad)
		return 2;
	rf_store *s = rf_cli_open_migrated(rf_option_get(opts, "db"), NULL);
	if (!s)
		return 1;
	char program[40];
	rf_err err = {0};
	rc = rf_benchdata_partners(s, n, (unsigned)seed, program, sizeof program, &err);
	if (rc == RF_OK && clicks > 0) {
		rc = rf_store_begin(s, &err);
		if (rc == RF_OK)
			rc = rf_store_bench_fill(s, program, clicks, leads, sales, (int)days, rf_clock_now_ms(), &err);
		if (rc == RF_OK)
			rc = rf_store_rollup_rebuild(s, &err);
		if (rc == RF_OK)
			rc = rf_store_commit(s, &err);
		if (rc != RF_OK)
			rf_store_rollback(s);
		else
			fprintf(stderr, "refd: added %ld clicks, %ld leads and %ld sales over %ld days\n", clicks,
				leads, sales, days);
	}
	rf_store_close(s);
	if (rc != RF_OK) {
		fprintf(stderr, "refd: %s\n", err.message);
		return 1;
	}
	printf("%s\n", program);
	fprintf(stderr, "refd: added %ld partners to program %s\n", n, program);
	return 0;
}

int rf_cli_routes(void)
{
	for (const rf_route *r = rf_routes; r->method; r++)
		printf("%s %s\n", r->method, r->pattern);
	return 0;
}
