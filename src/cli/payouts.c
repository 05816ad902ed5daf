/* SPDX-License-Identifier: Apache-2.0 */
/* refd payouts: payout runs for scripts, through the same service as /api/v1/payout-runs. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/clock.h"
#include "../svc/payouts.h"
#include "../svc/views.h"
#include "cli.h"
#include "options.h"

typedef struct {
	const char *sub;
	const rf_option *opts;
	const char *run_id;
	int64_t cutoff;
	rf_arena *a;
	const rf_app_config *cfg; /* for the mail a payment means; NULL when none can be composed */
	json_t *out;              /* the run as JSON, after the step */
} payout_job;

/* One step (run, approve or mark-paid) in its transaction; run again from the start if it lost a race. */
static rf_status payout_step(rf_store *s, void *arg, rf_err *err)
{
	payout_job *j = arg;
	rf_svc sv = {.store = s, .a = j->a, .actor = "cli", .cfg = j->cfg};
	rf_payout_run run;
	json_decref(j->out);
	j->out = NULL;
	if (strcmp(j->sub, "run") == 0) {
		rf_program prog;
		if (rf_svc_program_or_only(&sv, rf_option_get(j->opts, "program"), &prog, err) != RF_OK ||
		    rf_payout_create(&sv, &prog, j->cutoff, &run, err) != RF_OK)
			return err->status;
	} else {
		if (rf_store_lock(s, RF_LOCK_PAYOUT_RUN, j->run_id, err) != RF_OK ||
		    rf_store_payout_run_get(s, j->run_id, &run, j->a, err) != RF_OK)
			return err->status;
		const char *item = rf_option_get(j->opts, "item");
		if (strcmp(j->sub, "approve") == 0) {
			if (rf_payout_approve(&sv, &run, err) != RF_OK)
				return err->status;
		} else if (item) {
			rf_payout_item it;
			if (rf_store_payout_item_get(s, item, &it, j->a, err) != RF_OK)
				return err->status;
			if (strcmp(it.run_id, run.id) != 0)
				return rf_err_set(err, RF_EINVAL, "item", "item %s is not in run %s", it.id, run.id);
			if (rf_payout_item_paid(&sv, &run, &it, rf_option_get(j->opts, "reference"), false, err) !=
			    RF_OK)
				return err->status;
		} else if (rf_payout_run_paid(&sv, &run, rf_option_get(j->opts, "reference"), err) != RF_OK) {
			return err->status;
		}
	}
	j->out = rf_view_payout_run(&sv, &run, err);
	return j->out ? RF_OK : err->status;
}

int rf_cli_payouts(int argc, char **argv)
{
	static const char usage[] =
	    "Usage: refd payouts run [--program ID] [--cutoff TIME]\n"
	    "       refd payouts approve --run ID\n"
	    "       refd payouts export --run ID [--format generic|paypal|wise] [--currency C]\n"
	    "       refd payouts mark-paid --run ID [--item ID] [--reference R]\n\n"
	    "Payout runs, for scripts: the same rules as /api/v1/payout-runs. Runs and items print as JSON on\n"
	    "standard output, exports as CSV.";
	if (argc < 1 || strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
		printf("%s\n", usage);
		return argc < 1 ? 2 : 0;
	}
	const char *sub = argv[0];
	if (strcmp(sub, "run") != 0 && strcmp(sub, "approve") != 0 && strcmp(sub, "export") != 0 &&
	    strcmp(sub, "mark-paid") != 0) {
		fprintf(stderr, "refd: payouts: unknown subcommand %s (run, approve, export, mark-paid)\n", sub);
		return 2;
	}
	rf_option opts[] = {
	    {"db", "REFD_DB", true, "./refd.db", "SQLite database file, or a postgres:// URL", NULL},
	    {"program", NULL, true, NULL, "program id (run; default: the only program)", NULL},
	    {"cutoff", NULL, true, NULL, "RFC 3339 time: entries up to it (run; default: now)", NULL},
	    {"run", NULL, true, NULL, "payout run id (approve, export, mark-paid)", NULL},
	    {"format", NULL, true, "generic", "export layout: generic, paypal or wise", NULL},
	    {"currency", NULL, true, NULL, "export only the items in this currency", NULL},
	    {"item", NULL, true, NULL, "mark-paid: only this item", NULL},
	    {"reference", NULL, true, NULL, "mark-paid: the payment provider's reference", NULL},
	    {"public-url", "REFD_PUBLIC_URL", true, "http://127.0.0.1:8080",
	     "mark-paid: the address partners reach refd at, for the links of the payout mail", NULL},
	    {"secret-key-file", "REFD_SECRET_KEY_FILE", true, NULL,
	     "mark-paid: the instance key file, as refd serve has it (default: the database path + .key; "
	     "REFD_SECRET_KEY=64 hex digits overrides it)",
	     NULL},
	    {NULL, NULL, false, NULL, NULL, NULL},
	};
	int rc = rf_options_parse(opts, argc - 1, argv + 1, usage);
	if (rc)
		return rc > 0 ? 0 : 2;
	const char *run_id = rf_option_get(opts, "run");
	if (strcmp(sub, "run") != 0 && !run_id) {
		fprintf(stderr, "refd: payouts %s needs --run ID\n", sub);
		return 2;
	}
	int64_t cutoff = rf_clock_now_ms();
	if (rf_option_get(opts, "cutoff") &&
	    (rf_clock_parse(rf_option_get(opts, "cutoff"), &cutoff) != 0 || cutoff > rf_clock_now_ms())) {
		fprintf(stderr, "refd: --cutoff must be an RFC 3339 time, not in the future\n");
		return 2;
	}
	/* A payment sends the partner its payout mail, composed here with the server's public address and instance
	 * key (for its links and its unsubscribe link) and sent by the server. */
	static rf_app_config cfg;
	memset(&cfg, 0, sizeof cfg);
	const rf_app_config *mail_cfg = NULL;
	const char *db = rf_option_get(opts, "db");
	if (strcmp(sub, "mark-paid") == 0) {
		const char *keyfile = rf_option_get(opts, "secret-key-file");
		char keypath[4096];
		snprintf(keypath, sizeof keypath, "%s", keyfile ? keyfile : "");
		if (!keypath[0] && rf_store_location_is_file(db))
			snprintf(keypath, sizeof keypath, "%s.key", db);
		snprintf(cfg.public_url, sizeof cfg.public_url, "%s", rf_option_get(opts, "public-url"));
		size_t pl = strlen(cfg.public_url);
		while (pl && cfg.public_url[pl - 1] == '/')
			cfg.public_url[--pl] = '\0';
		if ((keypath[0] || (getenv("REFD_SECRET_KEY") && *getenv("REFD_SECRET_KEY"))) &&
		    rf_cli_load_secret(keypath, cfg.secret) == 0)
			mail_cfg = &cfg;
		else
			fprintf(stderr, "refd: payouts mark-paid: without the instance key (REFD_SECRET_KEY or "
					"--secret-key-file) the partners' payout mail is not composed\n");
	}
	rf_store *s = rf_cli_open_migrated(db, NULL);
	if (!s)
		return 1;
	rf_arena a;
	rf_arena_init(&a, 0);
	payout_job job = {.sub = sub, .opts = opts, .run_id = run_id, .cutoff = cutoff, .a = &a, .cfg = mail_cfg};
	rf_err err = {0};
	int status = 1;
	if (strcmp(sub, "export") == 0) {
		rf_svc sv = {.store = s, .a = &a, .actor = "cli"};
		char *buf = NULL;
		size_t len = 0;
		rf_payout_run run;
		if (rf_store_payout_run_get(s, run_id, &run, &a, &err) == RF_OK &&
		    rf_payout_export(&sv, &run, rf_option_get(opts, "format"), rf_option_get(opts, "currency"), &buf,
				     &len, &err) == RF_OK) {
			fwrite(buf, 1, len, stdout);
			free(buf);
			status = 0;
		}
	} else if (rf_store_tx(s, payout_step, &job, &err) == RF_OK) {
		char *txt = json_dumps(job.out, JSON_INDENT(2));
		printf("%s\n", txt ? txt : "{}");
		free(txt);
		status = 0;
	}
	if (status)
		fprintf(stderr, "refd: payouts %s: %s\n", sub, err.message[0] ? err.message : "failed");
	json_decref(job.out);
	rf_arena_reset(&a);
	rf_store_close(s);
	return status;
}
