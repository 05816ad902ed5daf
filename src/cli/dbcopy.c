/* SPDX-License-Identifier: Apache-2.0 */
/* refd db copy --from A --to B: migrates the target, refuses it unless empty, copies every table in one
 * transaction, then checks the copy (row counts, balances, report totals) and says what it found. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

#include "../core/arena.h"
#include "../store/store.h"
#include "options.h"

static void progress(const char *table, int64_t rows, void *arg)
{
	(void)arg;
	fprintf(stderr, "refd: copied %lld rows of %s\n", (long long)rows, table);
}

int rf_cli_db(int argc, char **argv)
{
	static const char usage[] =
	    "Usage: refd db copy --from DB --to DB\n\n"
	    "Copies every table of one database into another, empty one (a SQLite file or a postgres:// URL), ids and "
	    "all,\nthen checks the copy: row counts, every partner's balance per currency and status, and report "
	    "totals.\nThe target is migrated first and must hold nothing yet. Run refd with the same instance key "
	    "(REFD_SECRET_KEY or\n--secret-key-file) against the copy: sealed tax ids and secrets stay sealed with it.";
	if (argc < 1 || strcmp(argv[0], "copy") != 0) {
		printf("%s\n", usage);
		return argc >= 1 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) ? 0 : 2;
	}
	rf_option opts[] = {
	    {"from", NULL, true, NULL, "the database to copy (a SQLite file or a postgres:// URL)", NULL},
	    {"to", NULL, true, NULL, "the empty database to copy into", NULL},
	    {NULL, NULL, false, NULL, NULL, NULL},
	};
	int rc = rf_options_parse(opts, argc - 1, argv + 1, usage);
	if (rc)
		return rc > 0 ? 0 : 2;
	const char *from = rf_option_get(opts, "from"), *to = rf_option_get(opts, "to");
	if (!from || !to) {
		fprintf(stderr, "refd: db copy needs --from and --to\n");
		return 2;
	}
	if (strcmp(from, to) == 0) {
		fprintf(stderr, "refd: --from and --to name the same database\n");
		return 2;
	}
	rf_store *src = NULL, *dst = NULL;
	rf_err err = {0};
	int status = 1;
	int applied = 0;
	rf_arena a;
	rf_arena_init(&a, 0);
	if (rf_store_open(from, &src, &err) != RF_OK) {
		fprintf(stderr, "refd: --from: %s\n", err.message);
		goto done;
	}
	if (rf_store_open(to, &dst, &err) != RF_OK || rf_store_migrate(dst, &applied, &err) != RF_OK) {
		fprintf(stderr, "refd: --to: %s\n", err.message);
		goto done;
	}
	fprintf(stderr, "refd: copying %s (%s) into %s (%s)\n", from, rf_store_backend(src), to, rf_store_backend(dst));
	if (rf_store_copy(src, dst, progress, NULL, &err) != RF_OK) {
		fprintf(stderr, "refd: db copy: %s; nothing was copied\n", err.message);
		goto done;
	}
	rf_copy_check check;
	if (rf_store_copy_verify(src, dst, &check, &a, &err) != RF_OK) {
		fprintf(stderr, "refd: db copy: checking the copy: %s\n", err.message);
		goto done;
	}
	if (check.mismatch) {
		fprintf(stderr, "refd: db copy: the copy differs from its source: %s\n", check.mismatch);
		goto done;
	}
	printf("{\"copied\":true,\"tables\":%lld,\"rows\":%lld,\"partners_checked\":%lld,\"backend\":\"%s\"}\n",
	       (long long)check.tables, (long long)check.rows, (long long)check.partners, rf_store_backend(dst));
	fprintf(
	    stderr,
	    "refd: copied and checked %lld rows in %lld tables (row counts, %lld partners' balances, report totals)\n",
	    (long long)check.rows, (long long)check.tables, (long long)check.partners);
	status = 0;
done:
	rf_arena_reset(&a);
	rf_store_close(src);
	rf_store_close(dst);
	return status;
}
