/* SPDX-License-Identifier: Apache-2.0 */
/* The refd command: parses the subcommand and its options, wires the layers together and runs it. */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api.h"
#include "cli/benchdata.h"
#include "cli/dbcopy.h"
#include "cli/demo.h"
#include "cli/options.h"
#include "core/clock.h"
#include "core/secret.h"
#include "core/text.h"
#include "http/auth.h"
#include "http/router.h"
#include "http/server.h"
#include "jobs/jobs.h"
#include "store/store.h"
#include "track/clicks.h"
#include "track/codes.h"

#define REFD_VERSION "0.1.0"

static const char *main_usage =
    "refd " REFD_VERSION " - referral tracking and partner commissions\n"
    "\n"
    "Usage: refd COMMAND [OPTIONS]\n"
    "\n"
    "Commands:\n"
    "  serve            run the HTTP server (migrates the database and seeds demo data when it is empty)\n"
    "  migrate          apply pending database migrations\n"
    "  user add         create a user: --email E --role owner|admin|manager|partner [--partner ID]\n"
    "  user passwd      set a user's password: --email E\n"
    "  apikey create    create an API key and print it once: --name N --role R [--partner ID]\n"
    "  rollups rebuild  recompute the report rollups from the raw tables\n"
    "  payouts          payout runs for scripts: run, approve, export, mark-paid (see refd payouts --help)\n"
    "  bench-data       add synthetic partners for benchmarks: --partners N\n"
    "  db copy          copy a whole database into an empty one (SQLite to PostgreSQL): --from DB --to DB\n"
    "  routes           list every HTTP route\n"
    "  version          print the version\n"
    "\n"
    "Every option can also come from its REFD_* environment variable; `refd COMMAND --help` lists them.\n"
    "Passwords for `user add` and `user passwd` are read from standard input when it is not a terminal;\n"
    "otherwise a password is generated and printed.";

static long to_long(const char *s, const char *name, long min, long max, int *bad)
{
	char *end = NULL;
	errno = 0;
	long v = s ? strtol(s, &end, 10) : 0;
	if (!s || errno || !end || *end || end == s || v < min || v > max) {
		fprintf(stderr, "refd: --%s must be a whole number from %ld to %ld\n", name, min, max);
		*bad = 1;
	}
	return v;
}

static rf_store *open_db(const char *db)
{
	rf_store *s = NULL;
	rf_err err = {0};
	if (rf_store_open(db, &s, &err) != RF_OK) {
		fprintf(stderr, "refd: %s\n", err.message);
		return NULL;
	}
	return s;
}

/* Opens the database and applies pending migrations. */
static rf_store *open_migrated(const char *db, int *applied)
{
	rf_store *s = open_db(db);
	rf_err err = {0};
	if (s && rf_store_migrate(s, applied, &err) != RF_OK) {
		fprintf(stderr, "refd: %s\n", err.message);
		rf_store_close(s);
		return NULL;
	}
	return s;
}

/* The instance key: REFD_SECRET_KEY (64 hex digits) if set, else the key file, created on first use. */
static int load_secret(const char *path, unsigned char key[32])
{
	const char *hex = getenv("REFD_SECRET_KEY");
	size_t got = 0;
	if (hex && *hex) {
		if (sodium_hex2bin(key, 32, hex, strlen(hex), NULL, &got, NULL) != 0 || got != 32) {
			fprintf(stderr, "refd: REFD_SECRET_KEY must be 64 hex digits\n");
			return -1;
		}
		return 0;
	}
	char buf[80];
	FILE *f = fopen(path, "r");
	if (f) {
		size_t n = fread(buf, 1, sizeof buf - 1, f);
		fclose(f);
		buf[n] = '\0';
		while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
			buf[--n] = '\0';
		if (sodium_hex2bin(key, 32, buf, n, NULL, &got, NULL) != 0 || got != 32) {
			fprintf(stderr, "refd: %s must hold 64 hex digits\n", path);
			return -1;
		}
		return 0;
	}
	randombytes_buf(key, 32);
	sodium_bin2hex(buf, sizeof buf, key, 32);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || write(fd, buf, 64) != 64 || write(fd, "\n", 1) != 1) {
		fprintf(stderr, "refd: cannot write the secret key file %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	fprintf(stderr,
		"refd: created the instance secret key %s (keep it with your backups, apart from the "
		"database)\n",
		path);
	return 0;
}

typedef struct {
	const rf_app_config *cfg;
	const char *db;
	const char *clock_file;  /* testing: SIGUSR2 reads the clock offset from here */
	bool default_public_url; /* --public-url was not given */
	char demo_password[48];  /* set when this start created the demo data */
} serve_ctx;

static void *thread_init(int index, void *arg)
{
	(void)index;
	const serve_ctx *sc = arg;
	const rf_app_config *cfg = sc->cfg;
	const char *db = sc->db;
	rf_app *app = calloc(1, sizeof *app);
	if (!app)
		return NULL;
	app->cfg = cfg;
	app->store = open_db(db);
	if (!app->store) {
		free(app);
		return NULL;
	}
	return app;
}

static void thread_free(void *ctx)
{
	rf_app *app = ctx;
	rf_store_close(app->store);
	free(app);
}

/* Testing aid: sets the clock offset (milliseconds, a decimal integer) from the file named by --test-clock-file,
 * so tests can move refd's time forward past windows and expiry dates. */
static void read_clock_file(const char *path)
{
	char buf[32] = "";
	FILE *f = path ? fopen(path, "r") : NULL;
	if (!f)
		return;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *end = NULL;
	errno = 0;
	long long v = strtoll(buf, &end, 10);
	if (errno || end == buf) {
		fprintf(stderr, "refd: %s does not hold a clock offset in milliseconds\n", path);
		return;
	}
	rf_clock_set_offset_ms((int64_t)v);
	fprintf(stderr, "refd: clock offset set to %lld ms\n", v);
}

static void on_drained(void *arg)
{
	(void)arg;
	rf_jobs_stop();
	rf_clicks_stop();
}

static void on_usr2(void *arg)
{
	read_clock_file(((serve_ctx *)arg)->clock_file);
	/* Time moved: holding periods may have ended. */
	rf_jobs_kick();
}

/* Tells how to log in once the real address is known (the demo's password is shown only now). */
static void on_listen(const char *addr, void *arg)
{
	serve_ctx *sc = arg;
	/* Without --public-url, links and the script name the address actually bound (port 0 picks one). The workers
	 * start after this, so they read the final value. */
	if (sc->default_public_url)
		snprintf(((rf_app_config *)sc->cfg)->public_url, sizeof sc->cfg->public_url, "http://%s", addr);
	if (!sc->demo_password[0])
		return;
	fprintf(stderr,
		"\nrefd: this database was empty, so it now holds demo data (one program, twelve partners, three links "
		"and three months of clicks, leads, sales and commissions).\n"
		"refd: admin login: %s with password %s (the admin UI: http://%s/app; the partner portal: "
		"http://%s/portal; the API: POST http://%s/api/v1/auth/login, as the README shows)\n"
		"refd: (the password is shown only now; `refd user passwd --email %s` sets a new one)\n\n",
		RF_DEMO_ADMIN_EMAIL, sc->demo_password, addr, addr, addr, RF_DEMO_ADMIN_EMAIL);
	sodium_memzero(sc->demo_password, sizeof sc->demo_password);
}

/* Three months of demo activity for the demo program, so the dashboard and the portal have something to show: a
 * default plan, FX rates, clicks on the demo links, leads from every kind of partner (some qualified), sales with
 * their commissions (renewals and a refund among them) and a deal registration waiting for review. Commissions
 * older than the holding period are approved by the jobs thread when the server starts. */
static rf_status demo_activity(rf_store *s, const rf_app_config *cfg, rf_err *err)
{
	rf_arena a;
	rf_arena_init(&a, 0);
	rf_app app = {s, cfg};
	rf_ctx c;
	memset(&c, 0, sizeof c);
	c.app = &app;
	c.a = &a;
	c.who.role = RF_ROLE_OWNER;
	c.who.actor = "system:demo";
	const int64_t day = 86400000LL, now = rf_clock_now_ms();
	rf_status rc = rf_store_begin(s, err);
	rf_program prog;
	rf_partner *ps = NULL;
	size_t np = 0;
	bool more = false;
	rf_page page = {.limit = 100};
	if (rc == RF_OK)
		rc = rf_api_program_or_only(&c, NULL, &prog, err);
	if (rc == RF_OK) {
		rf_partner_filter f = {.page = page, .program_id = prog.id};
		rc = rf_store_partner_list(s, &f, &ps, &np, &more, &a, err);
	}
	if (rc != RF_OK)
		goto done;
	/* The list is newest first: the demo table's order reversed. */
	rf_partner *by[16] = {0};
	for (size_t i = 0; i < np && i < 16; i++)
		by[np - 1 - i] = &ps[i];
	json_t *rules =
	    json_loads("{\"sale_bps\":2000,\"recurring\":\"months\",\"recurring_months\":12,"
		       "\"override_bps\":[1000,500],\"agent_share_bps\":3000,\"lead_use_cost_per_lead\":true}",
		       0, NULL);
	rf_plan_rules r;
	rc = rf_plan_rules_parse(rules, &r, NULL, err);
	json_decref(rules);
	json_t *norm = rc == RF_OK ? rf_plan_rules_json(&r) : NULL;
	char *rtxt = norm ? json_dumps(norm, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(norm);
	rf_plan plan = {.id = rf_id_new_arena(&a, "pln"),
			.program_id = prog.id,
			.name = "Standard",
			.is_default = true,
			.version = 1,
			.rules = rf_arena_strdup(&a, rtxt ? rtxt : "{}"),
			.valid_from = now - 400 * day,
			.created_at = now,
			.updated_at = now};
	free(rtxt);
	rf_fx_rate eur = {"USD", "EUR", now - 400 * day, 920000000, now};
	rf_fx_rate gbp = {"USD", "GBP", now - 400 * day, 790000000, now};
	if (rc != RF_OK || rf_store_plan_insert(s, &plan, err) != RF_OK || rf_store_fx_put(s, &eur, err) != RF_OK ||
	    rf_store_fx_put(s, &gbp, err) != RF_OK)
		goto fail;
	/* Clicks on the three demo links, a few a day. */
	rf_link *links = NULL;
	size_t nl = 0;
	rf_link_filter lf = {.page = page, .program_id = prog.id};
	if (rf_store_link_list(s, &lf, &links, &nl, &more, &a, err) != RF_OK)
		goto fail;
	for (int d = 89; d >= 0; d--)
		for (size_t i = 0; i < nl; i++)
			for (int k = 0; k < 1 + (d * 7 + (int)i * 3) % 5; k++) {
				rf_click ck = {.program_id = prog.id,
					       .link_id = links[i].id,
					       .partner_id = links[i].partner_id,
					       .at = now - d * day - k * 3600000LL,
					       .user_agent = "Mozilla/5.0 (demo)",
					       .source = "redirect",
					       .status = "counted"};
				ck.id = rf_id_new_arena(&a, "clk");
				if (rf_store_click_insert(s, &ck, err) != RF_OK)
					goto fail;
			}
	/* Leads from the active partners (Ava and Ben credit their organisation too), a sale for every fourth. */
	static const int credited[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
	static const char *const sources[] = {"partner", "referral", "campaign", "partner", "paid"};
	for (int i = 0; i < 40; i++) {
		const rf_partner *p = by[credited[i % 10]];
		if (!p)
			continue;
		rf_lead l;
		memset(&l, 0, sizeof l);
		l.id = rf_id_new_arena(&a, "lead");
		l.program_id = prog.id;
		l.email = rf_arena_printf(&a, "buyer%02d@customer%02d.example", i, i % 17);
		l.name = rf_arena_printf(&a, "Buyer %d", i + 1);
		l.company = rf_arena_printf(&a, "Customer %02d Ltd", i % 17);
		l.source = (char *)sources[i % 5];
		l.status = "new";
		bool agent = strcmp(p->kind, "agent") == 0 && p->team_parent_id;
		l.partner_id = agent ? p->team_parent_id : p->id;
		l.agent_id = agent ? p->id : NULL;
		l.method = "explicit";
		l.metadata = "{\"demo\":true}";
		l.created_by = "system:demo";
		l.created_at = l.updated_at = l.status_at = now - (88 - i * 2) * day;
		rf_lead_event ev = {NULL, "new", "system:demo", NULL, l.created_at};
		if (rf_store_lead_insert(s, &l, err) != RF_OK || rf_store_lead_event_add(s, l.id, &ev, err) != RF_OK)
			goto fail;
		if (i % 3 == 0 && i % 4 != 0) {
			rf_lead_event q = {"new", "qualified", "system:demo", NULL, l.created_at + day};
			l.status = "qualified";
			l.status_at = l.updated_at = q.at;
			if (rf_store_lead_update(s, &l, err) != RF_OK ||
			    rf_store_lead_event_add(s, l.id, &q, err) != RF_OK)
				goto fail;
		}
		if (i % 4 != 0)
			continue;
		/* A sale some days later; the first customers renew monthly. */
		for (int m = 0; m < (i < 12 ? 3 : 1); m++) {
			int64_t at = l.created_at + (5 + i % 9) * day + m * 30 * day;
			if (at >= now)
				break;
			rf_sale_input in;
			memset(&in, 0, sizeof in);
			in.program_id = prog.id;
			in.lead_id = l.id;
			in.amount = 4900 + (i % 5) * 5000;
			memcpy(in.currency, "USD", 4);
			in.external_id = rf_arena_printf(&a, "demo-invoice-%02d-%d", i, m);
			in.occurred_at = at;
			in.source = "api";
			json_t *out = NULL;
			int status = 0;
			char *sale_id = NULL;
			if (rf_api_sale_ingest(&c, &in, &out, &status, &sale_id, err) != RF_OK)
				goto fail;
			json_decref(out);
			if (i == 8 && m == 0) {
				rf_refund_input rin;
				memset(&rin, 0, sizeof rin);
				rin.sale_id = sale_id;
				rin.has_amount = true;
				rin.amount = 2000;
				memcpy(rin.currency, "USD", 4);
				rin.reason = "one seat cancelled";
				rin.occurred_at = at + 3 * day;
				char *rid = NULL;
				if (rf_api_refund_ingest(&c, &rin, &out, &status, &rid, err) != RF_OK)
					goto fail;
				json_decref(out);
			}
		}
	}
	/* A deal Carla registered yesterday, waiting for review. */
	if (by[3]) {
		rf_lead reg;
		memset(&reg, 0, sizeof reg);
		reg.id = rf_id_new_arena(&a, "lead");
		reg.program_id = prog.id;
		reg.email = "cto@bigdeal.example";
		reg.name = "Robin Chief";
		reg.company = "Big Deal Inc";
		reg.source = "partner";
		reg.status = "pending_review";
		reg.partner_id = by[3]->id;
		reg.method = "explicit";
		reg.registration = true;
		reg.metadata = "{\"demo\":true}";
		reg.created_by = "system:demo";
		reg.created_at = reg.updated_at = reg.status_at = now - day;
		rf_lead_event ev = {NULL, "pending_review", "system:demo", NULL, reg.created_at};
		if (rf_store_lead_insert(s, &reg, err) != RF_OK ||
		    rf_store_lead_event_add(s, reg.id, &ev, err) != RF_OK)
			goto fail;
	}
	/* The figures above were written directly: the rollups are computed from them in one pass. */
	if (rf_store_rollup_rebuild(s, err) != RF_OK || rf_store_commit(s, err) != RF_OK)
		goto fail;
	rc = RF_OK;
	goto done;
fail:
	rc = err->status;
	rf_store_rollback(s);
done:
	rf_arena_reset(&a);
	return rc;
}

static int cmd_serve(int argc, char **argv)
{
	rf_option opts[] = {
	    {"listen", "REFD_LISTEN", true, "127.0.0.1:8080", "address and port to listen on", NULL},
	    {"db", "REFD_DB", true, "./refd.db", "SQLite database file, or a postgres:// URL", NULL},
	    {"threads", "REFD_THREADS", true, NULL, "worker threads (default: one per CPU)", NULL},
	    {"secret-key-file", "REFD_SECRET_KEY_FILE", true, NULL,
	     "file with the instance key that seals tax ids (default: the database path + .key; "
	     "REFD_SECRET_KEY=64 hex digits overrides it)",
	     NULL},
	    {"secure-cookies", "REFD_SECURE_COOKIES", false, NULL,
	     "mark session cookies Secure (set when refd is served over HTTPS)", NULL},
	    {"no-demo", "REFD_NO_DEMO", false, NULL, "do not create demo data in an empty database", NULL},
	    {"session-hours", "REFD_SESSION_HOURS", true, "12", "lifetime of a login session", NULL},
	    {"max-body", "REFD_MAX_BODY", true, "65536", "largest JSON request body in bytes", NULL},
	    {"max-export", "REFD_MAX_EXPORT", true, "67108864",
	     "largest CSV export or statement page in bytes (a larger one is refused, never cut short)", NULL},
	    {"login-max-failures", "REFD_LOGIN_MAX_FAILURES", true, "5",
	     "failed logins per email allowed in the window", NULL},
	    {"quiet", "REFD_QUIET", false, NULL, "do not log every request", NULL},
	    {"public-url", "REFD_PUBLIC_URL", true, NULL,
	     "the address people and websites reach refd at, used in links (default: http:// + --listen)", NULL},
	    {"group-commit-delay-us", "REFD_GROUP_COMMIT_DELAY_US", true, "0",
	     "when clicks arrive fast, how long the click writer waits for a group to fill before committing (0 to "
	     "100000 us)",
	     NULL},
	    {"jobs-interval-ms", "REFD_JOBS_INTERVAL_MS", true, "60000",
	     "how often background jobs (approving commissions after their holding period) run", NULL},
	    {"test-clock-file", "REFD_TEST_CLOCK_FILE", true, NULL,
	     "for tests only: a file holding a clock offset in milliseconds, read at start and on SIGUSR2", NULL},
	    {NULL, NULL, false, NULL, NULL, NULL},
	};
	/* Before any thread exists (the click writer and the jobs start before the HTTP workers): see
	 * rf_server_block_signals. A stop asked during start-up then waits, pending, for the server's sigwait. */
	rf_server_block_signals();
	int rc = rf_options_parse(opts, argc, argv, "Usage: refd serve [OPTIONS]\n\nRuns the HTTP server.");
	if (rc)
		return rc > 0 ? 0 : 2;
	int bad = 0;
	static rf_app_config cfg;
	memset(&cfg, 0, sizeof cfg);
	long threads = sysconf(_SC_NPROCESSORS_ONLN);
	if (rf_option_get(opts, "threads"))
		threads = to_long(rf_option_get(opts, "threads"), "threads", 1, 64, &bad);
	cfg.session_hours = (int)to_long(rf_option_get(opts, "session-hours"), "session-hours", 1, 24 * 90, &bad);
	cfg.max_json_body = (size_t)to_long(rf_option_get(opts, "max-body"), "max-body", 1024, 1 << 20, &bad);
	cfg.max_export = (size_t)to_long(rf_option_get(opts, "max-export"), "max-export", 65536, 1L << 34, &bad);
	cfg.login_max_failures =
	    (int)to_long(rf_option_get(opts, "login-max-failures"), "login-max-failures", 1, 1000, &bad);
	long group_delay =
	    to_long(rf_option_get(opts, "group-commit-delay-us"), "group-commit-delay-us", 0, 100000, &bad);
	long jobs_interval = to_long(rf_option_get(opts, "jobs-interval-ms"), "jobs-interval-ms", 10, 86400000, &bad);
	if (bad)
		return 2;
	cfg.login_max_failures_ip = cfg.login_max_failures * 6;
	cfg.login_window_minutes = 15;
	cfg.secure_cookies = rf_option_on(opts, "secure-cookies");
	const char *pub = rf_option_get(opts, "public-url");
	if (pub) {
		size_t pl = strlen(pub);
		while (pl && pub[pl - 1] == '/')
			pl--;
		if (pl == 0 || pl >= sizeof cfg.public_url ||
		    (strncmp(pub, "http://", 7) != 0 && strncmp(pub, "https://", 8) != 0)) {
			fprintf(stderr, "refd: --public-url must be an http:// or https:// address\n");
			return 2;
		}
		snprintf(cfg.public_url, sizeof cfg.public_url, "%.*s", (int)pl, pub);
	} else {
		snprintf(cfg.public_url, sizeof cfg.public_url, "http://%s", rf_option_get(opts, "listen"));
	}
	const char *db = rf_option_get(opts, "db");
	char keypath[4096];
	snprintf(keypath, sizeof keypath, "%s",
		 rf_option_get(opts, "secret-key-file") ? rf_option_get(opts, "secret-key-file") : "");
	if (!keypath[0] && !rf_store_location_is_file(db) &&
	    !(getenv("REFD_SECRET_KEY") && *getenv("REFD_SECRET_KEY"))) {
		/* The key must not live in the database it protects, and a PostgreSQL URL has no directory beside it:
		 * every process sharing the database is given the same key. */
		fprintf(stderr, "refd: with a PostgreSQL database, give the instance key with REFD_SECRET_KEY (64 hex "
				"digits) or --secret-key-file (the same for every refd process on this database)\n");
		return 2;
	}
	if (!keypath[0])
		snprintf(keypath, sizeof keypath, "%s.key", db);
	if (load_secret(keypath, cfg.secret) != 0)
		return 1;

	int applied = 0;
	rf_store *s = open_migrated(db, &applied);
	if (!s)
		return 1;
	static serve_ctx sctx;
	memset(&sctx, 0, sizeof sctx);
	sctx.cfg = &cfg;
	sctx.db = db;
	sctx.clock_file = rf_option_get(opts, "test-clock-file");
	sctx.default_public_url = rf_option_get(opts, "public-url") == NULL;
	if (sctx.clock_file)
		read_clock_file(sctx.clock_file);
	if (!rf_option_on(opts, "no-demo")) {
		bool created = false;
		char password[48];
		rf_err err = {0};
		if (rf_demo_seed(s, &created, password, sizeof password, &err) != RF_OK) {
			fprintf(stderr, "refd: demo data: %s\n", err.message);
			rf_store_close(s);
			return 1;
		}
		if (created && demo_activity(s, &cfg, &err) != RF_OK) {
			fprintf(stderr, "refd: demo activity: %s\n", err.message);
			rf_store_close(s);
			return 1;
		}
		if (created)
			snprintf(sctx.demo_password, sizeof sctx.demo_password, "%s", password);
		sodium_memzero(password, sizeof password);
	}
	rf_store_close(s);

	rf_server_config sc = {
	    .listen = rf_option_get(opts, "listen"),
	    .threads = (int)threads,
	    .max_body = 1u << 20,
	    .max_headers = 16384,
	    .timeout_seconds = 30,
	    .handler = rf_router_handle,
	    .thread_init = thread_init,
	    .thread_free = thread_free,
	    .arg = &sctx,
	    .on_listen = on_listen,
	    .on_usr2 = on_usr2,
	    .on_drained = on_drained,
	    .log_requests = !rf_option_on(opts, "quiet"),
	};
	rf_err err = {0};
	if (rf_clicks_start(db, group_delay, &err) != RF_OK) {
		fprintf(stderr, "refd: %s\n", err.message);
		return 1;
	}
	if (rf_jobs_start(db, jobs_interval, &err) != RF_OK) {
		fprintf(stderr, "refd: %s\n", err.message);
		rf_clicks_stop();
		return 1;
	}
	rc = rf_server_run(&sc, &err);
	/* Normally stopped by on_drained already; this covers a server that failed to start. */
	rf_jobs_stop();
	rf_clicks_stop();
	rf_codes_free();
	if (rc != RF_OK) {
		fprintf(stderr, "refd: %s\n", err.message);
		return 1;
	}
	char ts[40];
	rf_clock_format(rf_clock_now_ms(), ts, sizeof ts);
	printf("{\"ts\":\"%s\",\"level\":\"info\",\"msg\":\"stopped\"}\n", ts);
	return 0;
}

static int cmd_migrate(int argc, char **argv)
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
	rf_store *s = open_migrated(rf_option_get(opts, "db"), &applied);
	if (!s)
		return 1;
	rf_err err = {0};
	rf_store_schema_version(s, &dbv, &binv, &err);
	rf_store_close(s);
	printf("refd: %d migration(s) applied; schema version %d\n", applied, dbv);
	return 0;
}

/* A password from standard input when it is not a terminal, else a generated one (then printed). */
static int read_password(char *out, size_t len, bool *generated)
{
	*generated = false;
	out[0] = '\0';
	if (!isatty(STDIN_FILENO) && fgets(out, (int)len, stdin)) {
		size_t n = strlen(out);
		while (n && (out[n - 1] == '\n' || out[n - 1] == '\r'))
			out[--n] = '\0';
	}
	if (!out[0]) {
		rf_random_token(15, out, len);
		*generated = true;
		return 0;
	}
	if (strlen(out) < 10) {
		fprintf(stderr, "refd: the password needs at least 10 characters\n");
		return -1;
	}
	return 0;
}

static int cmd_user(int argc, char **argv)
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
	if (read_password(password, sizeof password, &generated) != 0)
		return 2;
	char hash[RF_PASSWORD_HASH_MAX];
	if (rf_password_hash(password, hash) != RF_OK) {
		fprintf(stderr, "refd: could not hash the password\n");
		return 1;
	}
	rf_store *s = open_migrated(rf_option_get(opts, "db"), NULL);
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

static int cmd_apikey(int argc, char **argv)
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
	rf_store *s = open_migrated(rf_option_get(opts, "db"), NULL);
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

static int cmd_payouts(int argc, char **argv)
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
	rf_store *s = open_migrated(rf_option_get(opts, "db"), NULL);
	if (!s)
		return 1;
	rf_arena a;
	rf_arena_init(&a, 0);
	static rf_app_config cfg;
	rf_app app = {s, &cfg};
	rf_ctx c;
	memset(&c, 0, sizeof c);
	c.app = &app;
	c.a = &a;
	c.who.role = RF_ROLE_OWNER;
	c.who.actor = "cli";
	rf_err err = {0};
	rf_payout_run run;
	int status = 1;
	json_t *out = NULL;
	if (strcmp(sub, "export") == 0) {
		char *buf = NULL;
		size_t len = 0;
		if (rf_store_payout_run_get(s, run_id, &run, &a, &err) != RF_OK ||
		    rf_payout_export(&c, &run, rf_option_get(opts, "format"), rf_option_get(opts, "currency"), &buf,
				     &len, &err) != RF_OK)
			goto done;
		fwrite(buf, 1, len, stdout);
		free(buf);
		status = 0;
		goto done;
	}
	if (rf_store_begin(s, &err) != RF_OK)
		goto done;
	if (strcmp(sub, "run") == 0) {
		rf_program prog;
		if (rf_api_program_or_only(&c, rf_option_get(opts, "program"), &prog, &err) != RF_OK ||
		    rf_payout_create(&c, &prog, cutoff, &run, &err) != RF_OK)
			goto rollback;
	} else {
		if (rf_store_payout_run_get(s, run_id, &run, &a, &err) != RF_OK)
			goto rollback;
		if (strcmp(sub, "approve") == 0) {
			if (rf_payout_approve(&c, &run, &err) != RF_OK)
				goto rollback;
		} else if (rf_option_get(opts, "item")) {
			rf_payout_item it;
			if (rf_store_payout_item_get(s, rf_option_get(opts, "item"), &it, &a, &err) != RF_OK)
				goto rollback;
			if (strcmp(it.run_id, run.id) != 0) {
				rf_err_set(&err, RF_EINVAL, "item", "item %s is not in run %s", it.id, run.id);
				goto rollback;
			}
			if (rf_payout_item_paid(&c, &run, &it, rf_option_get(opts, "reference"), false, &err) != RF_OK)
				goto rollback;
		} else if (rf_payout_run_paid(&c, &run, rf_option_get(opts, "reference"), &err) != RF_OK) {
			goto rollback;
		}
	}
	if (!(out = rf_payout_run_json(&c, &run, &err)) || rf_store_commit(s, &err) != RF_OK)
		goto rollback;
	char *txt = json_dumps(out, JSON_INDENT(2));
	printf("%s\n", txt ? txt : "{}");
	free(txt);
	status = 0;
	goto done;
rollback:
	rf_store_rollback(s);
done:
	if (status)
		fprintf(stderr, "refd: payouts %s: %s\n", sub, err.message[0] ? err.message : "failed");
	json_decref(out);
	rf_arena_reset(&a);
	rf_store_close(s);
	return status;
}

static int cmd_rollups(int argc, char **argv)
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
	rf_store *s = open_migrated(rf_option_get(opts, "db"), NULL);
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

static int cmd_bench_data(int argc, char **argv)
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
	long n = to_long(rf_option_get(opts, "partners"), "partners", 1, 10000000, &bad);
	long seed = to_long(rf_option_get(opts, "seed"), "seed", 1, 2147483647, &bad);
	long clicks = to_long(rf_option_get(opts, "clicks"), "clicks", 0, 1000000000, &bad);
	long leads = to_long(rf_option_get(opts, "leads"), "leads", 0, 100000000, &bad);
	long sales = to_long(rf_option_get(opts, "sales"), "sales", 0, 10000000, &bad);
	long days = to_long(rf_option_get(opts, "days"), "days", 1, 3650, &bad);
	if (bad)
		return 2;
	rf_store *s = open_migrated(rf_option_get(opts, "db"), NULL);
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

static int cmd_routes(void)
{
	for (const rf_route *r = rf_routes; r->method; r++)
		printf("%s %s\n", r->method, r->pattern);
	return 0;
}

int main(int argc, char **argv)
{
	if (rf_secret_init() != 0) {
		fprintf(stderr, "refd: cannot initialise libsodium\n");
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
		printf("%s\n", main_usage);
		return argc < 2 ? 2 : 0;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "serve") == 0)
		return cmd_serve(argc - 2, argv + 2);
	if (strcmp(cmd, "migrate") == 0)
		return cmd_migrate(argc - 2, argv + 2);
	if (strcmp(cmd, "user") == 0)
		return cmd_user(argc - 2, argv + 2);
	if (strcmp(cmd, "rollups") == 0)
		return cmd_rollups(argc - 2, argv + 2);
	if (strcmp(cmd, "payouts") == 0)
		return cmd_payouts(argc - 2, argv + 2);
	if (strcmp(cmd, "apikey") == 0)
		return cmd_apikey(argc - 2, argv + 2);
	if (strcmp(cmd, "bench-data") == 0)
		return cmd_bench_data(argc - 2, argv + 2);
	if (strcmp(cmd, "routes") == 0)
		return cmd_routes();
	if (strcmp(cmd, "db") == 0)
		return rf_cli_db(argc - 2, argv + 2);
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
		printf("refd %s\n", REFD_VERSION);
		return 0;
	}
	fprintf(stderr, "refd: unknown command '%s' (see refd --help)\n", cmd);
	return 2;
}
