/* SPDX-License-Identifier: Apache-2.0 */
/* refd import: partners, leads or sales from a CSV file (refd's own columns or another tool's export), through
 * the same import as POST /api/v1/imports, with a progress bar on a terminal and a progress line otherwise. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/clock.h"
#include "../integrations/imports.h"
#include "cli.h"
#include "options.h"

static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig)
{
	(void)sig;
	interrupted = 1;
}

static bool stop_asked(void *arg)
{
	(void)arg;
	return interrupted != 0;
}

typedef struct {
	bool tty;
	int64_t last_ms; /* when the last line was printed (plain output) */
	bool drawn;      /* a bar is on the terminal's last line */
} progress_state;

/* Writes n with thousands separators into buf. */
static const char *grouped(int64_t n, char *buf, size_t len)
{
	char digits[32];
	int k = snprintf(digits, sizeof digits, "%lld", (long long)n);
	size_t o = 0;
	for (int i = 0; i < k && o + 2 < len; i++) {
		if (i && (k - i) % 3 == 0 && digits[i - 1] != '-')
			buf[o++] = ',';
		buf[o++] = digits[i];
	}
	buf[o] = '\0';
	return buf;
}

static void show_progress(void *arg, const rf_import_report *rep)
{
	progress_state *ps = arg;
	int64_t now = rf_clock_now_ms();
	double secs = (double)(now - rep->started_at) / 1000.0;
	double rate = secs > 0 ? (double)rep->rows / secs : 0;
	int pct = rep->total_bytes > 0 ? (int)(rep->bytes * 100 / rep->total_bytes) : -1;
	char rows[32];
	grouped(rep->rows, rows, sizeof rows);
	if (ps->tty) {
		char bar[31];
		int fill = pct >= 0 ? pct * 30 / 100 : 0;
		for (int i = 0; i < 30; i++)
			bar[i] = i < fill ? '#' : '-';
		bar[30] = '\0';
		char eta[32] = "";
		if (pct > 0 && pct < 100 && rep->bytes > 0) {
			int64_t left = (int64_t)(secs * (double)(rep->total_bytes - rep->bytes) / (double)rep->bytes);
			snprintf(eta, sizeof eta, ", %lld:%02lld left", (long long)(left / 60), (long long)(left % 60));
		}
		fprintf(stderr, "\r\033[K%s [%s] %3d%%  %s rows, %.0f rows/s, %lld failed%s",
			rep->dry_run ? "checking" : "importing", bar, pct < 0 ? 0 : pct, rows, rate,
			(long long)rep->failed, eta);
		ps->drawn = true;
		return;
	}
	/* Not a terminal (a log, a pipe): a line a second at most. */
	if (now - ps->last_ms < 1000)
		return;
	ps->last_ms = now;
	if (pct >= 0)
		fprintf(stderr, "refd import: %d%% (%s rows, %.0f rows/s, %lld failed)\n", pct, rows, rate,
			(long long)rep->failed);
	else
		fprintf(stderr, "refd import: %s rows, %.0f rows/s, %lld failed\n", rows, rate, (long long)rep->failed);
}

int rf_cli_import(int argc, char **argv)
{
	static const char usage[] =
	    "Usage: refd import --type partners|leads|sales --file FILE [--program ID] [--dry-run] [--map NAME]\n"
	    "                   [--mapping JSON]\n\n"
	    "Imports partners, leads or sales from a CSV file (- for standard input): refd's own columns, or another\n"
	    "tool's export with --map rewardful, firstpromoter, partnerstack or tolt (docs/IMPORTS.md). Each row is\n"
	    "written whole or not at all; a dry run checks every row and writes nothing. The report is printed as\n"
	    "JSON; the exit code is 0 when every row was imported (or, in a dry run, would be), 1 otherwise.";
	rf_option opts[] = {
	    {"db", "REFD_DB", true, "./refd.db", "SQLite database file, or a postgres:// URL", NULL},
	    {"type", NULL, true, NULL, "what the file holds: partners, leads or sales", NULL},
	    {"file", NULL, true, NULL, "the CSV file, or - for standard input", NULL},
	    {"program", NULL, true, NULL, "program id (default: the only program)", NULL},
	    {"dry-run", NULL, false, NULL, "check every row and write nothing", NULL},
	    {"map", NULL, true, "none",
	     "the columns of another tool's export: rewardful, firstpromoter, partnerstack, "
	     "tolt (none: refd's own)",
	     NULL},
	    {"mapping", NULL, true, NULL, "a JSON object of the file's columns and refd's: {\"E-mail\":\"email\"}",
	     NULL},
	    {"public-url", "REFD_PUBLIC_URL", true, NULL,
	     "the address refd is reached at, for the links in the events the import writes", NULL},
	    {"errors", NULL, true, "100", "how many problems the report lists (0 to 10000)", NULL},
	    {"batch-ms", NULL, true, "100",
	     "a transaction takes no new row after this long (10 to 10000 ms; longer ones hold SQLite's write lock "
	     "longer, which other writers wait for)",
	     NULL},
	    {NULL, NULL, false, NULL, NULL, NULL},
	};
	int rc = rf_options_parse(opts, argc, argv, usage);
	if (rc)
		return rc > 0 ? 0 : 2;
	int bad = 0;
	long max_errors = rf_cli_long(rf_option_get(opts, "errors"), "errors", 0, 10000, &bad);
	long batch_ms = rf_cli_long(rf_option_get(opts, "batch-ms"), "batch-ms", 10, 10000, &bad);
	if (bad)
		return 2;
	rf_import_options o;
	memset(&o, 0, sizeof o);
	if (!rf_import_type_parse(rf_option_get(opts, "type"), &o.type)) {
		fprintf(stderr, "refd: import needs --type partners, leads or sales\n");
		return 2;
	}
	const char *path = rf_option_get(opts, "file");
	if (!path) {
		fprintf(stderr, "refd: import needs --file FILE (- for standard input)\n");
		return 2;
	}
	bool known = false;
	o.map = rf_import_map_find(rf_option_get(opts, "map"), &known);
	if (!known) {
		fprintf(stderr, "refd: --map must be none, rewardful, firstpromoter, partnerstack or tolt\n");
		return 2;
	}
	rf_arena a;
	rf_arena_init(&a, 0);
	rf_err err = {0};
	rf_import_pair *pairs = NULL;
	if (rf_option_get(opts, "mapping") &&
	    rf_import_mapping_parse(rf_option_get(opts, "mapping"), &a, &pairs, &o.n_mapping, &err) != RF_OK) {
		fprintf(stderr, "refd: --%s\n", err.message);
		rf_arena_reset(&a);
		return 2;
	}
	o.mapping = pairs;
	static rf_app_config cfg;
	memset(&cfg, 0, sizeof cfg);
	const char *pub = rf_option_get(opts, "public-url");
	if (pub) {
		size_t pl = strlen(pub);
		while (pl && pub[pl - 1] == '/')
			pl--;
		snprintf(cfg.public_url, sizeof cfg.public_url, "%.*s", (int)pl, pub);
	}
	o.cfg = &cfg;
	o.program_id = rf_option_get(opts, "program");
	o.dry_run = rf_option_on(opts, "dry-run");
	o.actor = "cli";
	o.batch_ms = (int)batch_ms;
	o.max_errors = (size_t)(max_errors ? max_errors : 1);
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "refd: cannot open %s: %s\n", path, strerror(errno));
		rf_arena_reset(&a);
		return 1;
	}
	struct stat sb;
	if (fstat(fileno(f), &sb) == 0 && S_ISREG(sb.st_mode))
		o.total_bytes = (int64_t)sb.st_size;
	rf_store *s = rf_cli_open_migrated(rf_option_get(opts, "db"), NULL);
	if (!s) {
		if (f != stdin)
			fclose(f);
		rf_arena_reset(&a);
		return 1;
	}
	progress_state ps = {.tty = isatty(STDERR_FILENO) != 0, .last_ms = rf_clock_now_ms()};
	o.progress = show_progress;
	o.progress_arg = &ps;
	/* Ctrl-C ends the import between two transactions: what was committed stays, and the report says where. */
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_interrupt;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	o.stop = stop_asked;
	rf_import_report rep;
	rf_status st = rf_import_run(s, rf_import_file_read, f, &o, &rep);
	if (ps.drawn)
		fputc('\n', stderr);
	char rows[32];
	fprintf(stderr, "refd import: %s%s: %s rows, %lld created, %lld already there, %lld skipped, %lld failed\n",
		o.dry_run ? "dry run " : "", rep.status, grouped(rep.rows, rows, sizeof rows), (long long)rep.created,
		(long long)rep.existing, (long long)rep.skipped, (long long)rep.failed);
	if (st != RF_OK)
		fprintf(stderr, "refd: import: %s\n", rep.fatal.message);
	json_t *j = rf_import_report_json(&rep, (size_t)max_errors);
	char *txt = json_dumps(j, JSON_INDENT(2));
	printf("%s\n", txt ? txt : "{}");
	free(txt);
	json_decref(j);
	int code = st == RF_OK && rep.failed == 0 ? 0 : 1;
	rf_import_report_free(&rep);
	rf_store_close(s);
	if (f != stdin)
		fclose(f);
	rf_arena_reset(&a);
	return code;
}
