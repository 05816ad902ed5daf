/* SPDX-License-Identifier: Apache-2.0 */
/* refd serve: the HTTP server, its click writer and jobs, and the demo data of a fresh database. */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../api/api.h"
#include "../core/clock.h"
#include "../http/router.h"
#include "../http/server.h"
#include "../integrations/crm.h"
#include "../integrations/mail.h"
#include "../integrations/webhooks.h"
#include "../jobs/importer.h"
#include "../jobs/jobs.h"
#include "../store/store.h"
#include "../track/clicks.h"
#include "../track/codes.h"
#include "cli.h"
#include "demo.h"
#include "options.h"

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
	app->store = rf_cli_open(db);
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

/* A running import ends after its transaction, so that its answer goes out while the server drains. */
static void on_stopping(void *arg)
{
	(void)arg;
	rf_importer_wind_down();
}

static void on_drained(void *arg)
{
	(void)arg;
	rf_crm_stop();
	rf_importer_stop();
	rf_jobs_stop();
	rf_webhooks_stop();
	rf_mail_stop();
	rf_clicks_stop();
	rf_codes_watch_stop();
}

static void on_usr2(void *arg)
{
	read_clock_file(((serve_ctx *)arg)->clock_file);
	/* Time moved: holding periods may have ended, digests, webhook retries and CRM deliveries may be due. */
	rf_jobs_kick();
	rf_webhooks_kick();
	rf_mail_kick();
	rf_crm_kick();
}

/* Tells how to log in once the real address is known (the demo's password is shown only now). */
static void on_listen(const char *addr, void *arg)
{
	serve_ctx *sc = arg;
	/* Without --public-url, links and the script name the address actually bound (port 0 picks one). The workers
	 * start after this, so they read the final value. */
	if (sc->default_public_url)
		snprintf(((rf_app_config *)sc->cfg)->public_url, sizeof sc->cfg->public_url, "http://%s", addr);
	/* The jobs' mail links to that address: they compose it from now on. */
	rf_jobs_mail_ready();
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

/* True when url is smtp://host[:port][/ehlo-name] or smtps://…, without credentials, spaces or control
 * characters. */
static bool smtp_url_ok(const char *url)
{
	size_t n = strlen(url);
	const char *rest = strncmp(url, "smtp://", 7) == 0    ? url + 7
			   : strncmp(url, "smtps://", 8) == 0 ? url + 8
							      : NULL;
	if (!rest || !*rest || n >= 256)
		return false;
	for (const char *p = url; *p; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
			return false;
	size_t host = strcspn(rest, "/?#");
	return !memchr(rest, '@', host) && host > 0;
}

/* Reads the mail settings into cfg (what every layer may see) and mail (the sender's own, the password above
 * all). Prints what is wrong and returns non-zero on a bad setting. */
static int mail_options(const rf_option *opts, rf_app_config *cfg, rf_mail_config *mail)
{
	const char *url = rf_option_get(opts, "smtp-url"), *user = rf_option_get(opts, "smtp-user");
	const char *from = rf_option_get(opts, "mail-from"), *pwfile = rf_option_get(opts, "smtp-password-file");
	static char password[512];
	memset(password, 0, sizeof password);
	const char *envpw = getenv("REFD_SMTP_PASSWORD");
	if (pwfile) {
		FILE *f = fopen(pwfile, "r");
		if (!f || !fgets(password, sizeof password, f)) {
			fprintf(stderr, "refd: --smtp-password-file %s cannot be read\n", pwfile);
			if (f)
				fclose(f);
			return -1;
		}
		fclose(f);
		password[strcspn(password, "\r\n")] = '\0';
	} else if (envpw && *envpw) {
		snprintf(password, sizeof password, "%s", envpw);
	}
	if (url && !smtp_url_ok(url)) {
		fprintf(stderr, "refd: --smtp-url must be smtp://host[:port] or smtps://host[:port], without a user or "
				"password in it (give --smtp-user and REFD_SMTP_PASSWORD)\n");
		return -1;
	}
	if (!url && (user || password[0] || rf_option_on(opts, "smtp-require-tls"))) {
		fprintf(stderr, "refd: the SMTP settings need --smtp-url\n");
		return -1;
	}
	if (user && !password[0]) {
		fprintf(stderr, "refd: --smtp-user needs its password in REFD_SMTP_PASSWORD or --smtp-password-file\n");
		return -1;
	}
	if (!user && password[0]) {
		fprintf(stderr, "refd: an SMTP password needs --smtp-user\n");
		return -1;
	}
	if (url && !from) {
		fprintf(stderr, "refd: --smtp-url needs --mail-from, the address refd's mail comes from\n");
		return -1;
	}
	if (rf_mime_parse_mailbox(from ? from : "refd <refd@localhost>", mail->from_name, sizeof mail->from_name,
				  mail->from_addr, sizeof mail->from_addr) != RF_OK) {
		fprintf(stderr,
			"refd: --mail-from must be an address, or a name and an address: \"Name <a@b.example>\"\n");
		return -1;
	}
	snprintf(cfg->mail_from, sizeof cfg->mail_from, "%s%s<%s>", mail->from_name, mail->from_name[0] ? " " : "",
		 mail->from_addr);
	if (url) {
		cfg->mail_smtp = true;
		snprintf(cfg->mail_smtp_url, sizeof cfg->mail_smtp_url, "%s", url);
		snprintf(cfg->mail_smtp_user, sizeof cfg->mail_smtp_user, "%s", user ? user : "");
		cfg->mail_require_tls = rf_option_on(opts, "smtp-require-tls") || strncmp(url, "smtps://", 8) == 0;
		mail->smtp_url = cfg->mail_smtp_url;
		mail->user = user;
		mail->password = password[0] ? password : NULL;
		mail->require_tls = rf_option_on(opts, "smtp-require-tls");
		mail->ca_file = rf_option_get(opts, "smtp-ca-file");
		if (password[0] && !cfg->mail_require_tls)
			fprintf(stderr,
				"refd: warning: the SMTP password goes in clear text to a server that offers no "
				"STARTTLS; use smtps:// or --smtp-require-tls\n");
	}
	return 0;
}

int rf_cli_serve(int argc, char **argv)
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
	    {"max-import-body", "REFD_MAX_IMPORT_BODY", true, "134217728",
	     "largest CSV file POST /api/v1/imports takes, in bytes (1 MiB to 4 GiB; larger: refd import)", NULL},
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
	    {"crm-interval-ms", "REFD_CRM_INTERVAL_MS", true, "1000",
	     "how often the CRM sender looks for leads to push and records to read back (10 to 60000)", NULL},
	    {"event-retention-days", "REFD_EVENT_RETENTION_DAYS", true, "30",
	     "how long events (GET /api/v1/events) and their webhook deliveries are kept (7 to 3650 days)", NULL},
	    {"webhook-allow-private", "REFD_WEBHOOK_ALLOW_PRIVATE", false, NULL,
	     "let webhook endpoints use http:// and deliveries reach loopback, private and link-local addresses "
	     "(tests, a closed network); off, they are refused",
	     NULL},
	    {"webhook-concurrency", "REFD_WEBHOOK_CONCURRENCY", true, "64",
	     "webhook deliveries this process sends at once (0: it sends none, other processes do)", NULL},
	    {"webhook-timeout-ms", "REFD_WEBHOOK_TIMEOUT_MS", true, "15000",
	     "how long one webhook attempt may take, from connecting to the end of the answer (100 to 30000)", NULL},
	    {"webhook-poll-ms", "REFD_WEBHOOK_POLL_MS", true, "200",
	     "how often an idle webhook sender looks for due deliveries (10 to 60000)", NULL},
	    {"smtp-url", "REFD_SMTP_URL", true, NULL,
	     "the SMTP server mail goes out through: smtp://host[:port] (STARTTLS when the server offers it) or "
	     "smtps://host[:port] (TLS from the start); without it, mail is written to the log",
	     NULL},
	    {"smtp-user", "REFD_SMTP_USER", true, NULL,
	     "the user refd logs in to the SMTP server as; the password comes from REFD_SMTP_PASSWORD or "
	     "--smtp-password-file, never from the command line",
	     NULL},
	    {"smtp-password-file", "REFD_SMTP_PASSWORD_FILE", true, NULL,
	     "a file whose first line is the SMTP password (REFD_SMTP_PASSWORD=... gives it instead)", NULL},
	    {"smtp-require-tls", "REFD_SMTP_REQUIRE_TLS", false, NULL,
	     "with smtp://, send nothing unless the server takes STARTTLS (otherwise STARTTLS is used when offered)",
	     NULL},
	    {"smtp-ca-file", "REFD_SMTP_CA_FILE", true, NULL,
	     "certificates (PEM) to trust for the SMTP server's certificate instead of the system's", NULL},
	    {"smtp-timeout-seconds", "REFD_SMTP_TIMEOUT_SECONDS", true, "60",
	     "how long one message's SMTP exchange may take (5 to 600)", NULL},
	    {"mail-from", "REFD_MAIL_FROM", true, NULL,
	     "the From of refd's mail: \"Name <address>\" or an address (needed with --smtp-url)", NULL},
	    {"digest-hour", "REFD_DIGEST_HOUR", true, "7",
	     "the hour of the day (UTC, 0 to 23) from which the daily mail digests go out", NULL},
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
		threads = rf_cli_long(rf_option_get(opts, "threads"), "threads", 1, 64, &bad);
	cfg.session_hours = (int)rf_cli_long(rf_option_get(opts, "session-hours"), "session-hours", 1, 24 * 90, &bad);
	cfg.max_json_body = (size_t)rf_cli_long(rf_option_get(opts, "max-body"), "max-body", 1024, 1 << 20, &bad);
	cfg.max_import_body =
	    (size_t)rf_cli_long(rf_option_get(opts, "max-import-body"), "max-import-body", 1L << 20, 1L << 32, &bad);
	cfg.max_export = (size_t)rf_cli_long(rf_option_get(opts, "max-export"), "max-export", 65536, 1L << 34, &bad);
	cfg.login_max_failures =
	    (int)rf_cli_long(rf_option_get(opts, "login-max-failures"), "login-max-failures", 1, 1000, &bad);
	long group_delay =
	    rf_cli_long(rf_option_get(opts, "group-commit-delay-us"), "group-commit-delay-us", 0, 100000, &bad);
	long jobs_interval =
	    rf_cli_long(rf_option_get(opts, "jobs-interval-ms"), "jobs-interval-ms", 10, 86400000, &bad);
	long retention =
	    rf_cli_long(rf_option_get(opts, "event-retention-days"), "event-retention-days", 7, 3650, &bad);
	long wh_concurrency =
	    rf_cli_long(rf_option_get(opts, "webhook-concurrency"), "webhook-concurrency", 0, 1024, &bad);
	long wh_timeout =
	    rf_cli_long(rf_option_get(opts, "webhook-timeout-ms"), "webhook-timeout-ms", 100, 30000, &bad);
	long wh_poll = rf_cli_long(rf_option_get(opts, "webhook-poll-ms"), "webhook-poll-ms", 10, 60000, &bad);
	cfg.digest_hour = (int)rf_cli_long(rf_option_get(opts, "digest-hour"), "digest-hour", 0, 23, &bad);
	long smtp_timeout =
	    rf_cli_long(rf_option_get(opts, "smtp-timeout-seconds"), "smtp-timeout-seconds", 5, 600, &bad);
	long crm_interval = rf_cli_long(rf_option_get(opts, "crm-interval-ms"), "crm-interval-ms", 10, 60000, &bad);
	if (bad)
		return 2;
	static rf_mail_config mail;
	memset(&mail, 0, sizeof mail);
	mail.timeout_ms = smtp_timeout * 1000;
	mail.app = &cfg;
	if (mail_options(opts, &cfg, &mail) != 0)
		return 2;
	cfg.login_max_failures_ip = cfg.login_max_failures * 6;
	cfg.login_window_minutes = 15;
	cfg.secure_cookies = rf_option_on(opts, "secure-cookies");
	cfg.webhook_allow_private = rf_option_on(opts, "webhook-allow-private");
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
	if (rf_cli_load_secret(keypath, cfg.secret) != 0)
		return 1;

	int applied = 0;
	rf_store *s = rf_cli_open_migrated(db, &applied);
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
		if (created && rf_demo_activity(s, &cfg, &err) != RF_OK) {
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
	    .body_limit = rf_router_body_limit,
	    .max_headers = 16384,
	    .timeout_seconds = 30,
	    .handler = rf_router_handle,
	    .thread_init = thread_init,
	    .thread_free = thread_free,
	    .arg = &sctx,
	    .on_listen = on_listen,
	    .on_usr2 = on_usr2,
	    .on_stopping = on_stopping,
	    .on_drained = on_drained,
	    .log_requests = !rf_option_on(opts, "quiet"),
	};
	rf_err err = {0};
	if (rf_clicks_start(db, group_delay, &err) != RF_OK) {
		fprintf(stderr, "refd: %s\n", err.message);
		return 1;
	}
	rf_jobs_config jc = {.interval_ms = jobs_interval, .event_retention_days = (int)retention, .app = &cfg};
	if (rf_jobs_start(db, &jc, &err) != RF_OK) {
		fprintf(stderr, "refd: %s\n", err.message);
		rf_clicks_stop();
		return 1;
	}
	rf_webhooks_config wc = {.allow_private = cfg.webhook_allow_private,
				 .concurrency = (int)wh_concurrency,
				 .timeout_ms = wh_timeout,
				 .connect_timeout_ms = wh_timeout < 5000 ? wh_timeout : 5000,
				 .poll_ms = wh_poll,
				 .app = &cfg};
	memcpy(wc.key, cfg.secret, sizeof wc.key);
	if (wh_concurrency > 0 && rf_webhooks_start(db, &wc, &err) != RF_OK) {
		fprintf(stderr, "refd: %s\n", err.message);
		rf_jobs_stop();
		rf_clicks_stop();
		return 1;
	}
	sodium_memzero(wc.key, sizeof wc.key);
	if (rf_mail_start(db, &mail, &err) != RF_OK) {
		fprintf(stderr, "refd: %s\n", err.message);
		rf_webhooks_stop();
		rf_jobs_stop();
		rf_clicks_stop();
		return 1;
	}
	if (rf_crm_start(db, &cfg, crm_interval, &err) != RF_OK) {
		fprintf(stderr, "refd: %s\n", err.message);
		rf_mail_stop();
		rf_webhooks_stop();
		rf_jobs_stop();
		rf_clicks_stop();
		return 1;
	}
	if (rf_codes_watch_start(db, &err) != RF_OK) {
		fprintf(stderr, "refd: %s\n", err.message);
		rf_crm_stop();
		rf_mail_stop();
		rf_webhooks_stop();
		rf_jobs_stop();
		rf_clicks_stop();
		return 1;
	}
	if (rf_importer_start(db, &err) != RF_OK) {
		fprintf(stderr, "refd: %s\n", err.message);
		rf_codes_watch_stop();
		rf_jobs_stop();
		rf_clicks_stop();
		return 1;
	}
	rc = rf_server_run(&sc, &err);
	/* Normally stopped by on_drained already; this covers a server that failed to start. */
	rf_crm_stop();
	rf_importer_stop();
	rf_jobs_stop();
	rf_webhooks_stop();
	rf_mail_stop();
	rf_clicks_stop();
	rf_codes_watch_stop();
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
