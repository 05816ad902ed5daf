/* SPDX-License-Identifier: Apache-2.0 */
/* The store conformance suite: one list of cases that call every function of src/store/store.h on a fresh, migrated
 * store and check what the header promises, run once per backend (SQLite on a temporary file; PostgreSQL in a
 * database of its own per case on the server that REFD_TEST_PG_URL names), as libuv's test/task.h runs one list of
 * tests on every platform. See docs/TESTING.md for how to run it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../src/core/code.h"
#include "../../src/core/secret.h"
#include "../../src/core/text.h"
#include "../../src/store/migrations.h"
#include "../../src/store/store.h"

/* ---- backends ---- */

typedef enum { BK_SQLITE, BK_POSTGRES } bk_kind;

typedef struct {
	bk_kind kind;
	const char *group; /* the cmocka group's name */
} backend;

static const backend sqlite_backend = {BK_SQLITE, "store_conformance_sqlite"};
static const backend postgres_backend = {BK_POSTGRES, "store_conformance_postgres"};

#define POOL_MAX 8

/* The PostgreSQL server of REFD_TEST_PG_URL: an admin connection that creates and drops the cases' databases, each
 * a copy of a template migrated once per run. A copy costs a second or more on a busy machine, so a case's
 * database goes back to a pool when the case ends, after a reset that makes it what the template is again (every
 * row deleted with triggers off, identities restarted, the rows the migrations wrote put back): the next case gets
 * it as fresh as a new copy. Without the right to turn triggers off (a role that is not a superuser), every case
 * gets a new copy. */
static struct {
	bool available;
	PGconn *admin;
	PQconninfoOption *opts; /* REFD_TEST_PG_URL taken apart, for the cases' own connection strings */
	char prefix[48];        /* refd_conf_<time>_<pid>: every database of this run starts with it */
	char template_db[64];
	unsigned next_db;
	int migrations;  /* how many migrations the template's blank database took */
	char *reset_sql; /* NULL when databases cannot be reset */
	char pool[POOL_MAX][64];
	int npool;
} pg;

/* A libpq connection string (keyword form, which rf_store_open recognises by its leading "dbname=") for database db
 * on the server of REFD_TEST_PG_URL. */
static void pg_location(const char *db, char *out, size_t len)
{
	size_t o = (size_t)snprintf(out, len, "dbname='%s'", db);
	for (PQconninfoOption *opt = pg.opts; opt && opt->keyword && o < len; opt++) {
		if (!opt->val || !*opt->val || strcmp(opt->keyword, "dbname") == 0)
			continue;
		o += (size_t)snprintf(out + o, len - o, " %s='", opt->keyword);
		for (const char *v = opt->val; *v && o + 3 < len; v++) {
			if (*v == '\'' || *v == '\\')
				out[o++] = '\\';
			out[o++] = *v;
		}
		o += (size_t)snprintf(out + o, len - o, "'");
	}
}

static bool pg_admin_exec(const char *sql, char *why, size_t len)
{
	PGresult *r = PQexec(pg.admin, sql);
	bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!ok && why)
		snprintf(why, len, "%s: %s", sql, PQerrorMessage(pg.admin));
	PQclear(r);
	return ok;
}

/* Appends to a malloc'd string; the test fails when memory runs out. */
static void append(char **s, const char *add)
{
	size_t n = *s ? strlen(*s) : 0, k = strlen(add);
	char *grown = realloc(*s, n + k + 1);
	assert_non_null(grown);
	memcpy(grown + n, add, k + 1);
	*s = grown;
}

static PGconn *pg_connect(const char *db)
{
	char location[768];
	pg_location(db, location, sizeof location);
	PGconn *conn = PQconnectdb(location);
	if (PQstatus(conn) != CONNECTION_OK) {
		fprintf(stderr, "cannot connect to %s: %s", db, PQerrorMessage(conn));
		PQfinish(conn);
		return NULL;
	}
	PQclear(PQexec(conn, "SET client_min_messages = warning"));
	return conn;
}

/* The script that brings a copy of the template back to what the template is, read from the template itself: its
 * tables and identities, and the rows the migrations left (the settings). NULL when this role may not turn
 * triggers off (the ledger's refuse deletions) or the template cannot be read. */
static char *pg_reset_script(void)
{
	PGconn *conn = pg_connect(pg.template_db);
	if (!conn)
		return NULL;
	char *sql = NULL;
	PGresult *r = PQexec(conn, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user");
	bool super = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0] == 't';
	PQclear(r);
	if (!super)
		goto done;
	append(&sql, "BEGIN; SET LOCAL session_replication_role = replica;");
	static const char *const lists[] = {
	    "SELECT format('DELETE FROM %I;', relname) FROM pg_class WHERE relnamespace = "
	    "current_schema()::regnamespace "
	    "AND relkind = 'r' AND relname <> 'schema_migrations' ORDER BY relname",
	    "SELECT format('ALTER SEQUENCE %I RESTART;', relname) FROM pg_class WHERE relnamespace = "
	    "current_schema()::regnamespace AND relkind = 'S' ORDER BY relname",
	    "SELECT format('INSERT INTO settings (key, value) VALUES (%L, %L);', key, value) FROM settings ORDER BY "
	    "key",
	};
	for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
		r = PQexec(conn, lists[i]);
		if (PQresultStatus(r) != PGRES_TUPLES_OK) {
			fprintf(stderr, "cannot read the template: %s", PQerrorMessage(conn));
			PQclear(r);
			free(sql);
			sql = NULL;
			goto done;
		}
		for (int k = 0; k < PQntuples(r); k++)
			append(&sql, PQgetvalue(r, k, 0));
		PQclear(r);
	}
	append(&sql, "COMMIT;");
done:
	PQfinish(conn);
	return sql;
}

/* Gives a case's database back to the pool once it is the template again; drops it otherwise. */
static void pg_release(const char *db)
{
	bool kept = false;
	if (pg.reset_sql && pg.npool < POOL_MAX) {
		PGconn *conn = pg_connect(db);
		if (conn) {
			PGresult *r = PQexec(conn, pg.reset_sql);
			kept = PQresultStatus(r) == PGRES_COMMAND_OK;
			if (!kept)
				fprintf(stderr, "cannot reset %s: %s", db, PQerrorMessage(conn));
			PQclear(r);
			PQfinish(conn);
		}
	}
	if (kept) {
		snprintf(pg.pool[pg.npool++], sizeof pg.pool[0], "%s", db);
		return;
	}
	char sql[128], why[512];
	snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS \"%s\" WITH (FORCE)", db);
	if (!pg_admin_exec(sql, why, sizeof why))
		fprintf(stderr, "%s\n", why);
}

/* ---- the fixture ---- */

/* A store a case opened, with what removes it afterwards. */
typedef struct {
	bk_kind kind;
	char location[768];
	char db[64];   /* PostgreSQL: the database */
	bool migrated; /* PostgreSQL: a copy of the template, which goes back to the pool */
	rf_store *s;
} opened;

#define MAX_OPENED 6

typedef struct {
	const backend *bk;
	rf_store *s;          /* the case's own store: fresh and migrated */
	const char *location; /* where it is */
	rf_err err;
	rf_arena a;
	int n; /* a counter for unique names */
	opened stores[MAX_OPENED];
	int nstores;
	rf_click_log *log;
	PGconn *raw_pg;
	sqlite3 *raw_sqlite;
} ctx;

#define E (&c->err)
#define T0 1767225600000LL /* 2026-01-01 00:00 UTC */
#define HOUR 3600000LL
#define DAY 86400000LL
#define D0 (T0 / DAY)

static const char *status_name(rf_status s)
{
	static const char *const names[] = {"RF_OK",       "RF_EINVAL", "RF_ENOTFOUND", "RF_ECONFLICT", "RF_EFORBIDDEN",
					    "RF_EUNAUTH",  "RF_ERATE",  "RF_ETOOBIG",   "RF_EOVERFLOW", "RF_ENOMEM",
					    "RF_EUNAVAIL", "RF_ERETRY", "RF_EIO"};
	return (size_t)s < sizeof names / sizeof names[0] ? names[s] : "?";
}

/* Fails the case unless got is want and (when field is not NULL) err names field; the message says which call. */
static void check_status(ctx *c, rf_status got, rf_status want, const char *field, const char *call, const char *file,
			 int line)
{
	if (got != want) {
		print_error("%s:%d: %s\n  gave %s (%s), expected %s\n", file, line, call, status_name(got),
			    c->err.message, status_name(want));
		_fail(file, line);
	}
	if (field && strcmp(c->err.field, field) != 0) {
		print_error("%s:%d: %s\n  failed on field \"%s\" (%s), expected \"%s\"\n", file, line, call,
			    c->err.field, c->err.message, field);
		_fail(file, line);
	}
	memset(&c->err, 0, sizeof c->err);
}

#define OK(call) check_status(c, (call), RF_OK, NULL, #call, __FILE__, __LINE__)
#define FAILS(status, field, call) check_status(c, (call), (status), (field), #call, __FILE__, __LINE__)

static void same_text(const char *got, const char *want, const char *what, const char *file, int line)
{
	if ((!got && !want) || (got && want && strcmp(got, want) == 0))
		return;
	print_error("%s:%d: %s is %s%s%s, expected %s%s%s\n", file, line, what, got ? "\"" : "", got ? got : "NULL",
		    got ? "\"" : "", want ? "\"" : "", want ? want : "NULL", want ? "\"" : "");
	_fail(file, line);
}

#define SAME(got, want) same_text((got), (want), #got, __FILE__, __LINE__)

static void same_bytes(const unsigned char *got, size_t got_len, const unsigned char *want, size_t want_len,
		       const char *what, const char *file, int line)
{
	if (got_len == want_len && (got_len == 0 || (got && want && memcmp(got, want, got_len) == 0)))
		return;
	print_error("%s:%d: %s differs (%zu bytes, expected %zu)\n", file, line, what, got_len, want_len);
	_fail(file, line);
}

#define SAME_BYTES(got, got_len, want, want_len) \
	same_bytes((got), (got_len), (want), (want_len), #got, __FILE__, __LINE__)

/* The status an insert of a natural key its caller looked up first gets when the key is taken (store.h): where
 * transactions write at once it lost a race and runs again, with one writer at a time it is the conflict it is. */
static rf_status raced(const ctx *c)
{
	return c->bk->kind == BK_POSTGRES ? RF_ERETRY : RF_ECONFLICT;
}

/* A new store of kind (migrated or blank), owned by the case and removed after it. */
static rf_store *new_store(ctx *c, bk_kind kind, bool migrated)
{
	assert_true(c->nstores < MAX_OPENED);
	opened *o = &c->stores[c->nstores];
	memset(o, 0, sizeof *o);
	o->kind = kind;
	if (kind == BK_SQLITE) {
		/* The cases check what the store does, not how fast a disk syncs: without a TMPDIR the files go to
		 * shared memory (tmpfs) where there is one, which saves most of the run's time on a busy disk. */
		const char *tmp = getenv("TMPDIR");
		if (!tmp || !*tmp)
			tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
		snprintf(o->location, sizeof o->location, "%s/refd-conformance-XXXXXX", tmp);
		int fd = mkstemp(o->location);
		assert_true(fd >= 0);
		close(fd);
	} else {
		assert_true(pg.available);
		o->migrated = migrated;
		if (migrated && pg.npool) {
			snprintf(o->db, sizeof o->db, "%s", pg.pool[--pg.npool]);
		} else {
			snprintf(o->db, sizeof o->db, "%s_%u", pg.prefix, pg.next_db++);
			char sql[256], why[512];
			if (migrated)
				snprintf(sql, sizeof sql, "CREATE DATABASE \"%s\" TEMPLATE \"%s\"", o->db,
					 pg.template_db);
			else
				snprintf(sql, sizeof sql, "CREATE DATABASE \"%s\"", o->db);
			if (!pg_admin_exec(sql, why, sizeof why))
				fail_msg("%s", why);
		}
		pg_location(o->db, o->location, sizeof o->location);
	}
	c->nstores++;
	OK(rf_store_open(o->location, &o->s, E));
	if (migrated && kind == BK_SQLITE)
		OK(rf_store_migrate(o->s, NULL, E));
	return o->s;
}

static int setup(void **state)
{
	ctx *c = calloc(1, sizeof *c);
	if (!c)
		return -1;
	c->bk = *state;
	rf_arena_init(&c->a, 0);
	*state = c;
	c->s = new_store(c, c->bk->kind, true);
	c->location = c->stores[0].location;
	return 0;
}

static int teardown(void **state)
{
	ctx *c = *state;
	rf_click_log_close(c->log);
	if (c->raw_pg)
		PQfinish(c->raw_pg);
	if (c->raw_sqlite)
		sqlite3_close(c->raw_sqlite);
	for (int i = c->nstores - 1; i >= 0; i--) {
		opened *o = &c->stores[i];
		rf_store_close(o->s);
		if (o->kind == BK_SQLITE) {
			char side[800];
			unlink(o->location);
			snprintf(side, sizeof side, "%s-wal", o->location);
			unlink(side);
			snprintf(side, sizeof side, "%s-shm", o->location);
			unlink(side);
		} else if (pg.admin && o->migrated) {
			pg_release(o->db);
		} else if (pg.admin) {
			char sql[128], why[512];
			snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS \"%s\" WITH (FORCE)", o->db);
			if (!pg_admin_exec(sql, why, sizeof why))
				fprintf(stderr, "%s\n", why);
		}
	}
	rf_arena_reset(&c->a);
	free(c);
	return 0;
}

/* Drops the databases of the run and closes the admin connection; returns 0. */
static int pg_group_teardown(void **state)
{
	(void)state;
	char sql[160], why[512];
	while (pg.admin && pg.npool) {
		snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS \"%s\" WITH (FORCE)", pg.pool[--pg.npool]);
		if (!pg_admin_exec(sql, why, sizeof why))
			fprintf(stderr, "%s\n", why);
	}
	if (pg.admin && pg.template_db[0]) {
		snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS \"%s\" WITH (FORCE)", pg.template_db);
		if (!pg_admin_exec(sql, why, sizeof why))
			fprintf(stderr, "%s\n", why);
	}
	free(pg.reset_sql);
	pg.reset_sql = NULL;
	pg.available = false;
	PQfinish(pg.admin);
	PQconninfoFree(pg.opts);
	pg.admin = NULL;
	pg.opts = NULL;
	return 0;
}

/* The PostgreSQL group's setup: the admin connection and the template every case's database is copied from, made
 * by migrating a blank database. What it made is removed when it fails (cmocka then skips the group's teardown). */
static int pg_group_setup(void **state)
{
	(void)state;
	const char *url = getenv("REFD_TEST_PG_URL");
	char *why = NULL;
	pg.opts = PQconninfoParse(url, &why);
	if (!pg.opts) {
		fprintf(stderr, "REFD_TEST_PG_URL cannot be read: %s\n", why ? why : "out of memory");
		PQfreemem(why);
		return pg_group_teardown(state) - 1;
	}
	pg.admin = PQconnectdb(url);
	if (PQstatus(pg.admin) != CONNECTION_OK) {
		fprintf(stderr, "cannot connect to REFD_TEST_PG_URL (%s): %s", url, PQerrorMessage(pg.admin));
		return pg_group_teardown(state) - 1;
	}
	PQclear(PQexec(pg.admin, "SET client_min_messages = warning"));
	snprintf(pg.prefix, sizeof pg.prefix, "refd_conf_%ld_%d", (long)(time(NULL) % 1000000), (int)getpid());
	snprintf(pg.template_db, sizeof pg.template_db, "%s_template", pg.prefix);
	char sql[160], msg[512], location[768];
	snprintf(sql, sizeof sql, "CREATE DATABASE \"%s\"", pg.template_db);
	if (!pg_admin_exec(sql, msg, sizeof msg)) {
		fprintf(stderr, "%s\n", msg);
		pg.template_db[0] = '\0';
		return pg_group_teardown(state) - 1;
	}
	pg_location(pg.template_db, location, sizeof location);
	rf_store *s = NULL;
	rf_err err = {0};
	rf_status rc = rf_store_open(location, &s, &err);
	if (rc == RF_OK)
		rc = rf_store_migrate(s, &pg.migrations, &err);
	rf_store_close(s);
	if (rc != RF_OK) {
		fprintf(stderr, "cannot migrate the template database: %s\n", err.message);
		return pg_group_teardown(state) - 1;
	}
	pg.reset_sql = pg_reset_script();
	if (!pg.reset_sql)
		printf("store conformance: this role cannot reset databases; every case gets a new copy\n");
	pg.available = true;
	return 0;
}

/* ---- builders: objects with every field set, inserted through the store ---- */

static char *new_id(ctx *c, const char *prefix)
{
	return rf_id_new_arena(&c->a, prefix);
}

static char *unique(ctx *c, const char *fmt)
{
	return rf_arena_printf(&c->a, fmt, ++c->n);
}

static rf_program program_of(ctx *c, const char *name)
{
	rf_program p;
	memset(&p, 0, sizeof p);
	rf_program_defaults(&p);
	p.id = new_id(c, "prg");
	p.name = (char *)name;
	memcpy(p.currency, "USD", 4);
	p.created_at = p.updated_at = T0;
	return p;
}

static char *add_program(ctx *c, const char *name)
{
	rf_program p = program_of(c, name);
	OK(rf_store_program_insert(c->s, &p, E));
	return p.id;
}

static rf_partner partner_of(ctx *c, const char *program, const char *name)
{
	rf_partner p;
	memset(&p, 0, sizeof p);
	p.id = new_id(c, "ptn");
	p.program_id = (char *)program;
	p.kind = "partner";
	p.status = "active";
	p.name = (char *)name;
	p.email = unique(c, "partner%d@example.com");
	memcpy(p.currency, "USD", 4);
	memcpy(p.cost_per_lead_currency, "USD", 4);
	p.metadata = "{}";
	p.recruitment_code = rf_arena_alloc(&c->a, RF_RECRUIT_CODE_LEN + 1);
	rf_recruit_code_generate(p.recruitment_code, RF_RECRUIT_CODE_LEN + 1);
	p.created_at = p.updated_at = T0;
	return p;
}

static char *add_partner(ctx *c, const char *program, const char *name, const char *kind, const char *team_parent)
{
	rf_partner p = partner_of(c, program, name);
	p.kind = (char *)kind;
	p.team_parent_id = (char *)team_parent;
	OK(rf_store_partner_insert(c->s, &p, E));
	return p.id;
}

static rf_user user_of(ctx *c, const char *role, const char *partner)
{
	rf_user u = {.id = new_id(c, "usr"),
		     .email = unique(c, "user%d@example.com"),
		     .password_hash = "$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA",
		     .role = (char *)role,
		     .partner_id = (char *)partner,
		     .created_at = T0};
	return u;
}

static char *add_user(ctx *c, const char *role, const char *partner)
{
	rf_user u = user_of(c, role, partner);
	OK(rf_store_user_insert(c->s, &u, E));
	return u.id;
}

static char *add_link(ctx *c, const char *program, const char *partner, const char *campaign)
{
	rf_link l = {.id = new_id(c, "lnk"),
		     .program_id = (char *)program,
		     .partner_id = (char *)partner,
		     .code = unique(c, "code%d"),
		     .destination_url = "https://shop.example/",
		     .target_url = "https://shop.example/?utm_source=refd",
		     .campaign = (char *)campaign,
		     .created_at = T0,
		     .updated_at = T0};
	OK(rf_store_link_insert(c->s, &l, l.code, E));
	return l.id;
}

static rf_click click_of(ctx *c, const char *program, const char *link, const char *partner, int64_t at,
			 const char *status)
{
	rf_click k = {.id = rf_arena_printf(&c->a, "clk_%013lld%06d", (long long)at, ++c->n),
		      .program_id = (char *)program,
		      .link_id = (char *)link,
		      .partner_id = (char *)partner,
		      .at = at,
		      .ip_prefix = "192.0.2.0/24",
		      .source = "redirect",
		      .status = status};
	return k;
}

static char *add_click(ctx *c, const char *program, const char *link, const char *partner, int64_t at,
		       const char *status)
{
	rf_click k = click_of(c, program, link, partner, at, status);
	OK(rf_store_click_insert(c->s, &k, E));
	return k.id;
}

static rf_lead lead_of(ctx *c, const char *program, const char *partner, const char *agent, int64_t at)
{
	rf_lead l = {.id = new_id(c, "lead"),
		     .program_id = (char *)program,
		     .email = unique(c, "lead%d@customer.example"),
		     .source = "partner",
		     .status = "new",
		     .partner_id = (char *)partner,
		     .agent_id = (char *)agent,
		     .method = "explicit",
		     .metadata = "{}",
		     .created_at = at,
		     .updated_at = at,
		     .status_at = at};
	return l;
}

static char *add_lead(ctx *c, const char *program, const char *partner, const char *agent, int64_t at)
{
	rf_lead l = lead_of(c, program, partner, agent, at);
	OK(rf_store_lead_insert(c->s, &l, E));
	return l.id;
}

static char *add_customer(ctx *c, const char *program, const char *lead, int64_t at)
{
	rf_customer cu = {
	    .id = new_id(c, "cus"), .program_id = (char *)program, .lead_id = (char *)lead, .created_at = at};
	OK(rf_store_customer_insert(c->s, &cu, E));
	return cu.id;
}

static rf_sale sale_of(ctx *c, const char *program, const char *customer, const char *lead, const char *partner,
		       int64_t amount, int64_t at)
{
	rf_sale x = {.id = new_id(c, "sale"),
		     .program_id = (char *)program,
		     .customer_id = (char *)customer,
		     .lead_id = (char *)lead,
		     .partner_id = (char *)partner,
		     .amount = amount,
		     .currency = "USD",
		     .has_program_amount = true,
		     .program_amount = amount,
		     .external_id = unique(c, "inv_%d"),
		     .kind = "first",
		     .occurred_at = at,
		     .metadata = "{}",
		     .source = "api",
		     .created_at = at};
	return x;
}

static char *add_sale(ctx *c, const char *program, const char *customer, const char *lead, const char *partner,
		      int64_t amount, int64_t at)
{
	rf_sale x = sale_of(c, program, customer, lead, partner, amount, at);
	OK(rf_store_sale_insert(c->s, &x, E));
	return x.id;
}

static rf_commission commission_of(ctx *c, const char *program, const char *partner, const char *status, int64_t amount,
				   const char *currency, int64_t event_at)
{
	rf_commission e;
	memset(&e, 0, sizeof e);
	e.id = new_id(c, "com");
	e.program_id = (char *)program;
	e.partner_id = (char *)partner;
	e.role = "direct";
	e.rule = "sale";
	e.basis = "flat";
	e.event_type = "sale";
	e.event_id = unique(c, "sale_event%d");
	e.event_at = event_at;
	e.base_amount = amount;
	snprintf(e.base_currency, 4, "%s", currency);
	e.earned = amount;
	snprintf(e.earned_currency, 4, "%s", currency);
	e.has_amount = true;
	e.amount = amount;
	snprintf(e.currency, 4, "%s", currency);
	e.status = (char *)status;
	e.hold_until = event_at;
	e.detail = "{}";
	e.dedupe = unique(c, "dedupe:%d");
	e.created_at = e.updated_at = event_at;
	return e;
}

/* Inserts the entry and returns it as stored. */
static rf_commission add_commission(ctx *c, const char *program, const char *partner, const char *status,
				    int64_t amount, const char *currency, int64_t event_at)
{
	rf_commission e = commission_of(c, program, partner, status, amount, currency, event_at), got;
	OK(rf_store_commission_insert(c->s, &e, "system", E));
	OK(rf_store_commission_get(c->s, e.id, &got, &c->a, E));
	return got;
}

/* ---- comparing what came back with what went in ---- */

static void same_program(const rf_program *g, const rf_program *w)
{
	SAME(g->id, w->id);
	SAME(g->name, w->name);
	SAME(g->currency, w->currency);
	assert_int_equal(g->cookie_window_days, w->cookie_window_days);
	SAME(g->attribution_model, w->attribution_model);
	assert_int_equal(g->holding_period_days, w->holding_period_days);
	assert_int_equal(g->payout_threshold, w->payout_threshold);
	assert_int_equal(g->n_tracking_params, w->n_tracking_params);
	for (size_t i = 0; i < w->n_tracking_params; i++)
		SAME(g->tracking_params[i], w->tracking_params[i]);
	assert_int_equal(g->n_allowed_domains, w->n_allowed_domains);
	for (size_t i = 0; i < w->n_allowed_domains; i++)
		SAME(g->allowed_domains[i], w->allowed_domains[i]);
	SAME(g->fallback_url, w->fallback_url);
	assert_int_equal(g->repeat_click_minutes, w->repeat_click_minutes);
	assert_int_equal(g->protection_days, w->protection_days);
	assert_int_equal(g->conflict_days, w->conflict_days);
	assert_int_equal(g->n_tracking_origins, w->n_tracking_origins);
	for (size_t i = 0; i < w->n_tracking_origins; i++)
		SAME(g->tracking_origins[i], w->tracking_origins[i]);
	SAME(g->partner_signup, w->partner_signup);
	assert_int_equal(g->payout_day, w->payout_day);
	assert_int_equal(g->payout_terms_days, w->payout_terms_days);
	SAME_BYTES(g->stripe_secret_sealed, g->stripe_secret_sealed_len, w->stripe_secret_sealed,
		   w->stripe_secret_sealed_len);
	assert_int_equal(g->created_at, w->created_at);
	assert_int_equal(g->updated_at, w->updated_at);
}

/* Every field but the recruitment code, which an update leaves as it is. */
static void same_partner_but_code(const rf_partner *g, const rf_partner *w)
{
	SAME(g->id, w->id);
	SAME(g->program_id, w->program_id);
	SAME(g->kind, w->kind);
	SAME(g->status, w->status);
	SAME(g->name, w->name);
	SAME(g->email, w->email);
	SAME(g->company, w->company);
	SAME(g->currency, w->currency);
	assert_int_equal(g->cost_per_lead, w->cost_per_lead);
	SAME(g->cost_per_lead_currency, w->cost_per_lead_currency);
	SAME(g->team_parent_id, w->team_parent_id);
	SAME(g->recruited_by_id, w->recruited_by_id);
	SAME(g->tax_legal_name, w->tax_legal_name);
	SAME(g->tax_country, w->tax_country);
	SAME_BYTES(g->tax_id_sealed, g->tax_id_sealed_len, w->tax_id_sealed, w->tax_id_sealed_len);
	SAME(g->tax_id_last4, w->tax_id_last4);
	SAME(g->metadata, w->metadata ? w->metadata : "{}");
	SAME(g->status_reason, w->status_reason);
	SAME(g->plan_id, w->plan_id);
	SAME(g->payout_hold_reason, w->payout_hold_reason);
	assert_int_equal(g->created_at, w->created_at);
	assert_int_equal(g->updated_at, w->updated_at);
}

static void same_link(const rf_link *g, const rf_link *w)
{
	SAME(g->id, w->id);
	SAME(g->program_id, w->program_id);
	SAME(g->partner_id, w->partner_id);
	SAME(g->code, w->code);
	SAME(g->destination_url, w->destination_url);
	SAME(g->target_url, w->target_url);
	SAME(g->campaign, w->campaign);
	SAME(g->utm_source, w->utm_source);
	SAME(g->utm_medium, w->utm_medium);
	SAME(g->utm_campaign, w->utm_campaign);
	SAME(g->utm_term, w->utm_term);
	SAME(g->utm_content, w->utm_content);
	SAME(g->coupon, w->coupon);
	assert_int_equal(g->archived_at, w->archived_at);
	assert_int_equal(g->created_at, w->created_at);
	assert_int_equal(g->updated_at, w->updated_at);
}

static void same_click(const rf_click *g, const rf_click *w)
{
	SAME(g->id, w->id);
	SAME(g->program_id, w->program_id);
	SAME(g->link_id, w->link_id);
	SAME(g->partner_id, w->partner_id);
	SAME(g->prev_click_id, w->prev_click_id);
	assert_int_equal(g->at, w->at);
	SAME(g->ip_hash, w->ip_hash);
	SAME(g->ip_prefix, w->ip_prefix);
	SAME(g->user_agent, w->user_agent);
	SAME(g->referer, w->referer);
	SAME(g->landing_url, w->landing_url);
	SAME(g->source, w->source);
	SAME(g->status, w->status);
}

static void same_lead(const rf_lead *g, const rf_lead *w)
{
	SAME(g->id, w->id);
	SAME(g->program_id, w->program_id);
	SAME(g->email, w->email);
	SAME(g->external_id, w->external_id);
	SAME(g->name, w->name);
	SAME(g->company, w->company);
	SAME(g->phone, w->phone);
	SAME(g->source, w->source);
	SAME(g->status, w->status);
	SAME(g->partner_id, w->partner_id);
	SAME(g->agent_id, w->agent_id);
	SAME(g->click_id, w->click_id);
	SAME(g->method, w->method);
	assert_int_equal(g->registration, w->registration);
	SAME(g->review_reason, w->review_reason);
	assert_int_equal(g->protected_until, w->protected_until);
	SAME(g->metadata, w->metadata ? w->metadata : "{}");
	SAME(g->created_by, w->created_by);
	assert_int_equal(g->created_at, w->created_at);
	assert_int_equal(g->updated_at, w->updated_at);
	assert_int_equal(g->status_at, w->status_at);
	assert_int_equal(g->converted_at, w->converted_at);
}

static void same_sale(const rf_sale *g, const rf_sale *w)
{
	SAME(g->id, w->id);
	SAME(g->program_id, w->program_id);
	SAME(g->customer_id, w->customer_id);
	SAME(g->lead_id, w->lead_id);
	SAME(g->partner_id, w->partner_id);
	SAME(g->agent_id, w->agent_id);
	assert_int_equal(g->amount, w->amount);
	SAME(g->currency, w->currency);
	assert_int_equal(g->has_program_amount, w->has_program_amount);
	if (w->has_program_amount)
		assert_int_equal(g->program_amount, w->program_amount);
	SAME(g->external_id, w->external_id);
	SAME(g->charge_id, w->charge_id);
	SAME(g->kind, w->kind);
	assert_int_equal(g->occurred_at, w->occurred_at);
	assert_int_equal(g->refunded, w->refunded);
	assert_int_equal(g->disputed, w->disputed);
	SAME(g->note, w->note);
	SAME(g->metadata, w->metadata ? w->metadata : "{}");
	SAME(g->source, w->source);
	SAME(g->method, w->method ? w->method : "none");
	SAME(g->coupon, w->coupon);
	SAME(g->source_event_id, w->source_event_id);
	assert_int_equal(g->created_at, w->created_at);
}

static void same_refund(const rf_refund *g, const rf_refund *w)
{
	SAME(g->id, w->id);
	SAME(g->program_id, w->program_id);
	SAME(g->sale_id, w->sale_id);
	SAME(g->kind, w->kind);
	assert_int_equal(g->amount, w->amount);
	SAME(g->currency, w->currency);
	assert_int_equal(g->prior, w->prior);
	assert_int_equal(g->has_program_amount, w->has_program_amount);
	if (w->has_program_amount)
		assert_int_equal(g->program_amount, w->program_amount);
	SAME(g->external_id, w->external_id);
	SAME(g->reason, w->reason);
	SAME(g->source, w->source);
	SAME(g->source_event_id, w->source_event_id);
	assert_int_equal(g->occurred_at, w->occurred_at);
	assert_int_equal(g->created_at, w->created_at);
}

static void same_commission(const rf_commission *g, const rf_commission *w)
{
	SAME(g->id, w->id);
	SAME(g->program_id, w->program_id);
	SAME(g->partner_id, w->partner_id);
	SAME(g->role, w->role);
	assert_int_equal(g->level, w->level);
	SAME(g->rule, w->rule);
	SAME(g->basis, w->basis);
	SAME(g->event_type, w->event_type);
	SAME(g->event_id, w->event_id);
	assert_int_equal(g->event_at, w->event_at);
	SAME(g->lead_id, w->lead_id);
	SAME(g->sale_id, w->sale_id);
	SAME(g->refund_id, w->refund_id);
	SAME(g->reverses_id, w->reverses_id);
	SAME(g->of_commission_id, w->of_commission_id);
	SAME(g->plan_id, w->plan_id);
	assert_int_equal(g->plan_version, w->plan_version);
	assert_int_equal(g->base_amount, w->base_amount);
	SAME(g->base_currency, w->base_currency);
	assert_int_equal(g->has_rate, w->has_rate);
	if (w->has_rate)
		assert_int_equal(g->rate_bps, w->rate_bps);
	assert_int_equal(g->earned, w->earned);
	SAME(g->earned_currency, w->earned_currency);
	assert_int_equal(g->has_fx, w->has_fx);
	if (w->has_fx)
		assert_int_equal(g->fx_rate_ppb, w->fx_rate_ppb);
	assert_int_equal(g->fx_inverse, w->fx_inverse);
	assert_int_equal(g->has_amount, w->has_amount);
	if (w->has_amount)
		assert_int_equal(g->amount, w->amount);
	SAME(g->currency, w->currency);
	SAME(g->status, w->status);
	SAME(g->status_reason, w->status_reason);
	assert_int_equal(g->fx_missing, w->fx_missing);
	assert_int_equal(g->hold_until, w->hold_until);
	SAME(g->detail, w->detail ? w->detail : "{}");
	SAME(g->dedupe, w->dedupe);
	assert_int_equal(g->created_at, w->created_at);
	assert_int_equal(g->updated_at, w->updated_at);
}

static void same_metrics(const rf_metrics *g, const rf_metrics *w)
{
	for (int i = 0; i < RF_METRICS; i++)
		if (g->v[i] != w->v[i])
			fail_msg("%s is %lld, expected %lld", rf_metric_names[i], (long long)g->v[i],
				 (long long)w->v[i]);
}

/* The ids of a list, joined with spaces: "a b c". */
#define IDS(items, n, field) ids_of((items), (n), sizeof *(items), offsetof(__typeof__(*(items)), field), &c->a)

static char *ids_of(const void *items, size_t n, size_t size, size_t offset, rf_arena *a)
{
	char *out = rf_arena_strdup(a, "");
	for (size_t i = 0; i < n; i++) {
		const char *id = *(char *const *)((const char *)items + i * size + offset);
		out = rf_arena_printf(a, "%s%s%s", out, i ? " " : "", id ? id : "NULL");
	}
	return out;
}

static char *join(ctx *c, int n, ...)
{
	va_list ap;
	va_start(ap, n);
	char *out = rf_arena_strdup(&c->a, "");
	for (int i = 0; i < n; i++)
		out = rf_arena_printf(&c->a, "%s%s%s", out, i ? " " : "", va_arg(ap, const char *));
	va_end(ap);
	return out;
}

#define CASE(name) static void name(void **state)

/* ---- opening and migrating ---- */

CASE(open_and_migrate)
{
	ctx *c = *state;
	assert_string_equal(rf_store_backend(c->s), c->bk->kind == BK_SQLITE ? "sqlite" : "postgres");
	assert_int_equal(rf_store_location_is_file(c->location), c->bk->kind == BK_SQLITE);
	assert_false(rf_store_location_is_file("postgresql:///refd?host=/run/postgresql"));
	assert_false(rf_store_location_is_file("postgres://refd@db.example/refd"));
	assert_false(rf_store_location_is_file("host=/run/postgresql dbname=refd"));
	assert_true(rf_store_location_is_file("/var/lib/refd/refd.db"));
	int dbv = 0, binv = 0, applied = -1;
	OK(rf_store_schema_version(c->s, &dbv, &binv, E));
	assert_true(binv >= 12);
	assert_int_equal(dbv, binv);
	OK(rf_store_migrate(c->s, &applied, E));
	assert_int_equal(applied, 0);
	OK(rf_store_ping(c->s, E));
	/* Every migration the binary holds runs once (versions may skip numbers that other work holds). */
	if (c->bk->kind == BK_POSTGRES)
		assert_int_equal(pg.migrations, (int)rf_migrations_count);

	/* A blank database of the same kind takes every migration once, then none. */
	rf_store *blank = new_store(c, c->bk->kind, false);
	OK(rf_store_schema_version(blank, &dbv, &binv, E));
	assert_int_equal(dbv, 0);
	OK(rf_store_migrate(blank, &applied, E));
	assert_int_equal(applied, (int)rf_migrations_count);
	assert_int_equal(rf_migrations[rf_migrations_count - 1].version, binv);
	OK(rf_store_migrate(blank, NULL, E));
	OK(rf_store_migrate(blank, &applied, E));
	assert_int_equal(applied, 0);
	OK(rf_store_schema_version(blank, &dbv, &binv, E));
	assert_int_equal(dbv, binv);

	/* A server that cannot be reached is unavailable, and nothing is handed out. */
	rf_store *none = NULL;
	FAILS(RF_EUNAVAIL, NULL,
	      rf_store_open("postgresql:///refd?host=/nonexistent-refd-socket-dir&port=1", &none, E));
	assert_null(none);
}

CASE(is_empty_until_a_program_or_user)
{
	ctx *c = *state;
	bool empty = false;
	OK(rf_store_is_empty(c->s, &empty, E));
	assert_true(empty);
	add_program(c, "First");
	OK(rf_store_is_empty(c->s, &empty, E));
	assert_false(empty);
	rf_store *other = new_store(c, c->bk->kind, true);
	OK(rf_store_is_empty(other, &empty, E));
	assert_true(empty);
	rf_user u = user_of(c, "owner", NULL);
	OK(rf_store_user_insert(other, &u, E));
	OK(rf_store_is_empty(other, &empty, E));
	assert_false(empty);
}

/* ---- programs ---- */

static const unsigned char sealed_bytes[] = {0x00, 0xff, 0x5c, 0x78, 0x27, 0x22, 0x01, 0x80, 0x00, 0x7f, 0xfe, 0x0a};

CASE(program_round_trip)
{
	ctx *c = *state;
	rf_program p = program_of(c, "Référence « Programme »");
	memcpy(p.currency, "EUR", 4);
	p.cookie_window_days = 45;
	p.attribution_model = "first_click";
	p.holding_period_days = 14;
	p.payout_threshold = 5000;
	p.tracking_params[0] = "via";
	p.tracking_params[1] = "ref";
	p.tracking_params[2] = "aff";
	p.n_tracking_params = 3;
	p.allowed_domains[0] = "shop.example";
	p.allowed_domains[1] = "example.org";
	p.n_allowed_domains = 2;
	p.fallback_url = "https://shop.example/partners";
	p.repeat_click_minutes = 10;
	p.protection_days = 60;
	p.conflict_days = 30;
	p.tracking_origins[0] = "https://shop.example";
	p.tracking_origins[1] = "https://www.example.org:8443";
	p.n_tracking_origins = 2;
	p.partner_signup = "open";
	p.payout_day = 15;
	p.payout_terms_days = 45;
	p.stripe_secret_sealed = (unsigned char *)sealed_bytes;
	p.stripe_secret_sealed_len = sizeof sealed_bytes;
	p.created_at = T0 + 1;
	p.updated_at = T0 + 2;
	OK(rf_store_program_insert(c->s, &p, E));
	rf_program got;
	OK(rf_store_program_get(c->s, p.id, &got, &c->a, E));
	same_program(&got, &p);

	/* An update rewrites every field, including back to nothing. */
	rf_program u = p;
	u.name = "Renamed";
	memcpy(u.currency, "JPY", 4);
	u.cookie_window_days = 1;
	u.attribution_model = "last_click";
	u.holding_period_days = 0;
	u.payout_threshold = 0;
	u.n_tracking_params = 1;
	u.n_allowed_domains = 0;
	u.fallback_url = NULL;
	u.repeat_click_minutes = 0;
	u.protection_days = 1;
	u.conflict_days = 0;
	u.n_tracking_origins = 0;
	u.partner_signup = "off";
	u.payout_day = 28;
	u.payout_terms_days = 0;
	u.stripe_secret_sealed = NULL;
	u.stripe_secret_sealed_len = 0;
	u.updated_at = T0 + 3;
	OK(rf_store_program_update(c->s, &u, E));
	OK(rf_store_program_get(c->s, p.id, &got, &c->a, E));
	same_program(&got, &u);

	FAILS(RF_ENOTFOUND, NULL, rf_store_program_get(c->s, "prg_missing", &got, &c->a, E));
	u.id = "prg_missing";
	FAILS(RF_ENOTFOUND, "id", rf_store_program_update(c->s, &u, E));
	FAILS(RF_ECONFLICT, "id", rf_store_program_insert(c->s, &p, E));
}

CASE(program_list_pages)
{
	ctx *c = *state;
	char *ids[5];
	for (int i = 0; i < 5; i++)
		ids[i] = add_program(c, "Program");
	rf_page page = {.limit = 2};
	rf_program *items = NULL;
	size_t n = 0;
	bool more = false;
	OK(rf_store_program_list(c->s, &page, NULL, &items, &n, &more, &c->a, E));
	SAME(IDS(items, n, id), join(c, 2, ids[4], ids[3]));
	assert_true(more);
	page.starting_after = items[1].id;
	OK(rf_store_program_list(c->s, &page, NULL, &items, &n, &more, &c->a, E));
	SAME(IDS(items, n, id), join(c, 2, ids[2], ids[1]));
	assert_true(more);
	page.starting_after = items[1].id;
	OK(rf_store_program_list(c->s, &page, NULL, &items, &n, &more, &c->a, E));
	SAME(IDS(items, n, id), ids[0]);
	assert_false(more);
	rf_page all = {.limit = 5};
	OK(rf_store_program_list(c->s, &all, NULL, &items, &n, &more, &c->a, E));
	assert_int_equal(n, 5);
	assert_false(more);
	OK(rf_store_program_list(c->s, &all, ids[2], &items, &n, &more, &c->a, E));
	SAME(IDS(items, n, id), ids[2]);
	rf_page bad = {.limit = 2, .starting_after = "prg_nope"};
	FAILS(RF_EINVAL, "starting_after", rf_store_program_list(c->s, &bad, NULL, &items, &n, &more, &c->a, E));
}

/* ---- partners ---- */

static char *add_plan(ctx *c, const char *program, bool is_default)
{
	rf_plan p = {.id = new_id(c, "plan"),
		     .program_id = (char *)program,
		     .name = "Standard",
		     .is_default = is_default,
		     .version = 1,
		     .rules = "{\"sale\":{\"percent_bps\":2000}}",
		     .valid_from = T0,
		     .created_at = T0,
		     .updated_at = T0};
	OK(rf_store_plan_insert(c->s, &p, E));
	return p.id;
}

CASE(partner_round_trip)
{
	ctx *c = *state;
	char *prog = add_program(c, "P");
	char *plan = add_plan(c, prog, false);
	char *org = add_partner(c, prog, "Org", "partner", NULL);
	char *agent = add_partner(c, prog, "Agent", "agent", org);
	rf_partner p = partner_of(c, prog, "Beate Ünal-O'Brien");
	p.kind = "affiliate";
	p.status = "applied";
	p.email = "beate.unal@example.de";
	p.company = "Ünal & Söhne GmbH";
	memcpy(p.currency, "EUR", 4);
	p.cost_per_lead = 2500;
	memcpy(p.cost_per_lead_currency, "GBP", 4);
	p.recruited_by_id = org;
	p.tax_legal_name = "Beate Ünal";
	p.tax_country = "DE";
	p.tax_id_sealed = (unsigned char *)sealed_bytes;
	p.tax_id_sealed_len = sizeof sealed_bytes;
	p.tax_id_last4 = "6789";
	p.metadata = "{\"tier\":\"gold\",\"note\":\"a \\\"quoted\\\" word\"}";
	p.status_reason = "waiting for documents";
	p.plan_id = plan;
	p.payout_hold_reason = "tax form missing";
	p.created_at = T0 + 5;
	p.updated_at = T0 + 6;
	OK(rf_store_partner_insert(c->s, &p, E));
	rf_partner got;
	OK(rf_store_partner_get(c->s, p.id, &got, &c->a, E));
	same_partner_but_code(&got, &p);
	SAME(got.recruitment_code, p.recruitment_code);
	rf_partner found;
	OK(rf_store_partner_by_recruitment_code(c->s, p.recruitment_code, &found, &c->a, E));
	SAME(found.id, p.id);
	FAILS(RF_ENOTFOUND, NULL, rf_store_partner_by_recruitment_code(c->s, "zzzzzzzzzzzz", &found, &c->a, E));
	FAILS(RF_ENOTFOUND, NULL, rf_store_partner_get(c->s, "ptn_missing", &got, &c->a, E));

	/* An update rewrites every field but the recruitment code, which never changes. */
	rf_partner u = p;
	u.kind = "agent";
	u.status = "active";
	u.name = "Beate";
	u.email = "beate@example.de";
	u.company = NULL;
	memcpy(u.currency, "USD", 4);
	u.cost_per_lead = 0;
	memcpy(u.cost_per_lead_currency, "USD", 4);
	u.team_parent_id = org;
	u.recruited_by_id = NULL;
	u.tax_legal_name = NULL;
	u.tax_country = NULL;
	u.tax_id_sealed = NULL;
	u.tax_id_sealed_len = 0;
	u.tax_id_last4 = NULL;
	u.metadata = "{}";
	u.status_reason = NULL;
	u.plan_id = NULL;
	u.payout_hold_reason = NULL;
	u.updated_at = T0 + 7;
	u.recruitment_code = "k7m2x9qp4vth";
	OK(rf_store_partner_update(c->s, &u, E));
	OK(rf_store_partner_get(c->s, p.id, &got, &c->a, E));
	same_partner_but_code(&got, &u);
	SAME(got.recruitment_code, p.recruitment_code);
	u.id = "ptn_missing";
	FAILS(RF_ENOTFOUND, "id", rf_store_partner_update(c->s, &u, E));

	/* Relations, one step at a time. */
	char *parent = "unset";
	OK(rf_store_partner_parent(c->s, "team_parent_id", agent, &parent, &c->a, E));
	SAME(parent, org);
	OK(rf_store_partner_parent(c->s, "team_parent_id", org, &parent, &c->a, E));
	assert_null(parent);
	OK(rf_store_partner_parent(c->s, "recruited_by_id", agent, &parent, &c->a, E));
	assert_null(parent);
	rf_partner r = partner_of(c, prog, "Recruit");
	r.recruited_by_id = agent;
	OK(rf_store_partner_insert(c->s, &r, E));
	OK(rf_store_partner_parent(c->s, "recruited_by_id", r.id, &parent, &c->a, E));
	SAME(parent, agent);
	OK(rf_store_partner_parent(c->s, "team_parent_id", "ptn_missing", &parent, &c->a, E));
	assert_null(parent);
}

/* Uniqueness failures are answered as conflicts on the field the header names, and leave the transaction usable
 * (on PostgreSQL a failed statement would otherwise abort it). */
CASE(partner_uniqueness_in_a_transaction)
{
	ctx *c = *state;
	char *prog = add_program(c, "P");
	char *other = add_program(c, "Q");
	OK(rf_store_begin(c->s, E));
	rf_partner a = partner_of(c, prog, "Ann");
	a.email = "ann@example.com";
	OK(rf_store_partner_insert(c->s, &a, E));
	rf_partner b = partner_of(c, prog, "Ann again");
	b.email = "ann@example.com";
	FAILS(RF_ECONFLICT, "email", rf_store_partner_insert(c->s, &b, E));
	rf_partner q = partner_of(c, other, "Ann in Q");
	q.email = "ann@example.com";
	OK(rf_store_partner_insert(c->s, &q, E));
	rf_partner d = partner_of(c, prog, "Same code");
	d.recruitment_code = a.recruitment_code;
	FAILS(RF_ECONFLICT, "recruitment_code", rf_store_partner_insert(c->s, &d, E));
	d.recruitment_code = NULL;
	FAILS(RF_EINVAL, "recruitment_code", rf_store_partner_insert(c->s, &d, E));
	rf_partner e = partner_of(c, other, "Eve");
	e.email = "eve@example.com";
	OK(rf_store_partner_insert(c->s, &e, E));
	q.email = "eve@example.com";
	FAILS(RF_ECONFLICT, "email", rf_store_partner_update(c->s, &q, E));
	OK(rf_store_commit(c->s, E));
	rf_partner got;
	OK(rf_store_partner_get(c->s, a.id, &got, &c->a, E));
	OK(rf_store_partner_get(c->s, q.id, &got, &c->a, E));
	SAME(got.email, "ann@example.com");
	OK(rf_store_partner_get(c->s, e.id, &got, &c->a, E));
	FAILS(RF_ENOTFOUND, NULL, rf_store_partner_get(c->s, b.id, &got, &c->a, E));
	FAILS(RF_ENOTFOUND, NULL, rf_store_partner_get(c->s, d.id, &got, &c->a, E));
}

/* Imports find partners by email in a program, and by the id they had in another tool (partner_refs). */
CASE(partner_by_email_and_refs)
{
	ctx *c = *state;
	char *prog = add_program(c, "P");
	char *other = add_program(c, "Q");
	rf_partner a = partner_of(c, prog, "Ann");
	a.email = "ann@example.com";
	OK(rf_store_partner_insert(c->s, &a, E));
	rf_partner q = partner_of(c, other, "Ann in Q");
	q.email = "ann@example.com";
	OK(rf_store_partner_insert(c->s, &q, E));
	rf_partner got;
	OK(rf_store_partner_by_email(c->s, prog, "ann@example.com", &got, &c->a, E));
	SAME(got.id, a.id);
	SAME(got.name, "Ann");
	OK(rf_store_partner_by_email(c->s, other, "ann@example.com", &got, &c->a, E));
	SAME(got.id, q.id);
	FAILS(RF_ENOTFOUND, NULL, rf_store_partner_by_email(c->s, prog, "bob@example.com", &got, &c->a, E));

	char *id = NULL;
	FAILS(RF_ENOTFOUND, "ref", rf_store_partner_ref_get(c->s, prog, "aff-1", &id, &c->a, E));
	OK(rf_store_partner_ref_put(c->s, prog, "aff-1", a.id, T0, E));
	OK(rf_store_partner_ref_get(c->s, prog, "aff-1", &id, &c->a, E));
	SAME(id, a.id);
	/* A ref is per program. */
	FAILS(RF_ENOTFOUND, "ref", rf_store_partner_ref_get(c->s, other, "aff-1", &id, &c->a, E));
	OK(rf_store_partner_ref_put(c->s, other, "aff-1", q.id, T0, E));
	OK(rf_store_partner_ref_get(c->s, other, "aff-1", &id, &c->a, E));
	SAME(id, q.id);
	/* The same ref twice in a program is refused, and the transaction goes on. */
	OK(rf_store_begin(c->s, E));
	OK(rf_store_partner_ref_put(c->s, prog, "aff-2", a.id, T0, E));
	FAILS(raced(c), "ref", rf_store_partner_ref_put(c->s, prog, "aff-1", a.id, T0, E));
	OK(rf_store_commit(c->s, E));
	OK(rf_store_partner_ref_get(c->s, prog, "aff-2", &id, &c->a, E));
	SAME(id, a.id);
	/* Case counts: refs are ids as the other tool wrote them. */
	FAILS(RF_ENOTFOUND, "ref", rf_store_partner_ref_get(c->s, prog, "AFF-1", &id, &c->a, E));
}

/* The imports of the API: written as they start, then over again with their progress; the program, the creator
 * and the creation time stay as first written. */
CASE(imports_put_and_get)
{
	ctx *c = *state;
	char *prog = add_program(c, "P");
	rf_import_record got;
	FAILS(RF_ENOTFOUND, "id", rf_store_import_get(c->s, "imp_none", &got, &c->a, E));
	rf_import_record r = {"imp_1", prog, "running", "{\"rows\":0}", "key_1", T0, T0};
	OK(rf_store_import_put(c->s, &r, E));
	OK(rf_store_import_get(c->s, "imp_1", &got, &c->a, E));
	SAME(got.program_id, prog);
	SAME(got.status, "running");
	SAME(got.report, "{\"rows\":0}");
	SAME(got.created_by, "key_1");
	assert_int_equal(got.created_at, T0);
	rf_import_record later = {"imp_1", prog, "completed", "{\"rows\":2}", "key_2", T0 + 5, T0 + 9};
	OK(rf_store_import_put(c->s, &later, E));
	OK(rf_store_import_get(c->s, "imp_1", &got, &c->a, E));
	SAME(got.status, "completed");
	SAME(got.report, "{\"rows\":2}");
	SAME(got.created_by, "key_1");
	assert_int_equal(got.created_at, T0);
	assert_int_equal(got.updated_at, T0 + 9);
	/* Without a creator (the command line's imports are not recorded, but a record may lack one). */
	rf_import_record anon = {"imp_2", prog, "running", "{}", NULL, T0, T0};
	OK(rf_store_import_put(c->s, &anon, E));
	OK(rf_store_import_get(c->s, "imp_2", &got, &c->a, E));
	assert_null(got.created_by);
}

CASE(import_list_stale_and_settle)
{
	ctx *c = *state;
	char *prog = add_program(c, "P");
	/* Newest first by their start; the id breaks a tie. */
	rf_import_record a = {"imp_a", prog, "completed", "{}", "k", T0, T0 + 1};
	rf_import_record b = {"imp_b", prog, "running", "{}", "k", T0 + 10, T0 + 10};
	rf_import_record c2 = {"imp_c", prog, "running", "{}", "k", T0 + 10, T0 + 500};
	OK(rf_store_import_put(c->s, &a, E));
	OK(rf_store_import_put(c->s, &b, E));
	OK(rf_store_import_put(c->s, &c2, E));
	rf_page page = {.limit = 2};
	rf_import_record *items = NULL;
	size_t n = 0;
	bool more = false;
	OK(rf_store_import_list(c->s, &page, &items, &n, &more, &c->a, E));
	SAME(IDS(items, n, id), "imp_c imp_b");
	assert_true(more);
	page.starting_after = "imp_b";
	OK(rf_store_import_list(c->s, &page, &items, &n, &more, &c->a, E));
	SAME(IDS(items, n, id), "imp_a");
	assert_false(more);
	page.starting_after = "imp_none";
	FAILS(RF_EINVAL, "starting_after", rf_store_import_list(c->s, &page, &items, &n, &more, &c->a, E));
	/* Running and last written before T0 + 100: imp_b alone. */
	OK(rf_store_import_stale(c->s, T0 + 100, 10, &items, &n, &c->a, E));
	SAME(IDS(items, n, id), "imp_b");
	/* Settled only while it is as it was read. */
	rf_import_record failed = {"imp_b", prog, "failed", "{\"status\":\"failed\"}", "k", T0 + 10, T0 + 1000};
	FAILS(RF_ECONFLICT, "id", rf_store_import_settle(c->s, &failed, T0 + 11, E));
	OK(rf_store_import_settle(c->s, &failed, T0 + 10, E));
	rf_import_record got;
	OK(rf_store_import_get(c->s, "imp_b", &got, &c->a, E));
	SAME(got.status, "failed");
	assert_int_equal(got.updated_at, T0 + 1000);
	FAILS(RF_ECONFLICT, "id", rf_store_import_settle(c->s, &failed, T0 + 1000, E));
	OK(rf_store_import_stale(c->s, T0 + 100000, 10, &items, &n, &c->a, E));
	SAME(IDS(items, n, id), "imp_c");
}

static char *partner_ids(ctx *c, const rf_partner_filter *f, bool *more)
{
	rf_partner *items = NULL;
	size_t n = 0;
	bool m = false;
	OK(rf_store_partner_list(c->s, f, &items, &n, more ? more : &m, &c->a, E));
	return IDS(items, n, id);
}

CASE(partner_list_filters_and_pages)
{
	ctx *c = *state;
	char *prog = add_program(c, "P");
	char *q = add_program(c, "Q");
	char *plan = add_plan(c, prog, false);
	char *org = add_partner(c, prog, "Org", "partner", NULL);
	char *agent1 = add_partner(c, prog, "Agent One", "agent", org);
	rf_partner a2 = partner_of(c, prog, "Agent Two");
	a2.kind = "agent";
	a2.status = "suspended";
	a2.team_parent_id = org;
	OK(rf_store_partner_insert(c->s, &a2, E));
	rf_partner rec = partner_of(c, prog, "Recruit");
	rec.kind = "affiliate";
	rec.status = "applied";
	rec.recruited_by_id = org;
	rec.plan_id = plan;
	OK(rf_store_partner_insert(c->s, &rec, E));
	char *other = add_partner(c, prog, "Other", "partner", NULL);
	char *inq = add_partner(c, q, "In Q", "partner", NULL);

	rf_partner_filter f = {.page = {.limit = 100}, .program_id = prog};
	SAME(partner_ids(c, &f, NULL), join(c, 5, other, rec.id, a2.id, agent1, org));
	f.status = "active";
	SAME(partner_ids(c, &f, NULL), join(c, 3, other, agent1, org));
	f.status = NULL;
	f.kind = "agent";
	SAME(partner_ids(c, &f, NULL), join(c, 2, a2.id, agent1));
	f.kind = NULL;
	f.team_parent_id = org;
	SAME(partner_ids(c, &f, NULL), join(c, 2, a2.id, agent1));
	f.team_parent_id = NULL;
	f.recruited_by_id = org;
	SAME(partner_ids(c, &f, NULL), rec.id);
	f.recruited_by_id = NULL;
	f.plan_id = plan;
	SAME(partner_ids(c, &f, NULL), rec.id);
	f.plan_id = NULL;
	f.scope_id = org;
	SAME(partner_ids(c, &f, NULL), join(c, 3, a2.id, agent1, org));
	f.scope_id = NULL;
	f.program_id = NULL;
	SAME(partner_ids(c, &f, NULL), join(c, 6, inq, other, rec.id, a2.id, agent1, org));

	/* Pages of two walk every partner once, newest first. */
	rf_partner_filter pf = {.page = {.limit = 2}, .program_id = prog};
	bool more = false;
	SAME(partner_ids(c, &pf, &more), join(c, 2, other, rec.id));
	assert_true(more);
	pf.page.starting_after = rec.id;
	SAME(partner_ids(c, &pf, &more), join(c, 2, a2.id, agent1));
	assert_true(more);
	pf.page.starting_after = agent1;
	SAME(partner_ids(c, &pf, &more), org);
	assert_false(more);
	pf.page.starting_after = "ptn_nope";
	rf_partner *items;
	size_t n;
	FAILS(RF_EINVAL, "starting_after", rf_store_partner_list(c->s, &pf, &items, &n, &more, &c->a, E));
}

static rf_partner *search(ctx *c, const char *program, const char *text, int limit, const char *after, size_t *n,
			  bool *more)
{
	rf_partner_filter f = {.page = {.limit = limit, .starting_after = after}, .program_id = program, .q = text};
	rf_partner *items = NULL;
	OK(rf_store_partner_list(c->s, &f, &items, n, more, &c->a, E));
	return items;
}

/* What the header promises of a search: the partners whose name or email (or company) match, ranked by how well.
 * How two matches of the same kind are scored is each database's own (bm25 against ts_rank), so only the tiers are
 * checked: the exact email, then names that start with the text, then emails that do, then the other matches. */
CASE(partner_search)
{
	ctx *c = *state;
	char *prog = add_program(c, "P");
	char *q = add_program(c, "Q");
	struct {
		const char *name, *email, *company, *program;
	} people[] = {
	    {"Maria Lopez", "maria@lopez.example", NULL, prog},
	    {"Ana Maria", "ana@example.org", NULL, prog},
	    {"Mariano Ruiz", "mr@ruiz.example", NULL, prog},
	    {"Zed", "maria.z@zed.example", NULL, prog},
	    {"Bob Reyes", "bob.reyes@northwind.example", "Northwind Traders", prog},
	    {"Beate Ünal", "beate@example.de", NULL, prog},
	    {"Maria in Q", "maria@q.example", NULL, q},
	};
	char *ids[7];
	for (size_t i = 0; i < 7; i++) {
		rf_partner p = partner_of(c, people[i].program, people[i].name);
		p.email = (char *)people[i].email;
		p.company = (char *)people[i].company;
		OK(rf_store_partner_insert(c->s, &p, E));
		ids[i] = p.id;
	}
	size_t n = 0;
	bool more = false;
	rf_partner *r = search(c, prog, "maria", 10, NULL, &n, &more);
	assert_int_equal(n, 4);
	assert_false(more);
	/* Two names that start with it (their order is the database's scoring), then an email that does, then a name
	 * with the word later. */
	assert_true((strcmp(r[0].id, ids[0]) == 0 && strcmp(r[1].id, ids[2]) == 0) ||
		    (strcmp(r[0].id, ids[2]) == 0 && strcmp(r[1].id, ids[0]) == 0));
	SAME(r[2].id, ids[3]);
	SAME(r[3].id, ids[1]);
	r = search(c, NULL, "maria", 10, NULL, &n, &more);
	assert_int_equal(n, 5);
	r = search(c, prog, "MARIA.Z@zed.example", 10, NULL, &n, &more);
	assert_int_equal(n, 1);
	SAME(r[0].id, ids[3]);
	r = search(c, prog, "reyes@north", 10, NULL, &n, &more);
	assert_int_equal(n, 1);
	SAME(r[0].id, ids[4]);
	r = search(c, prog, "northwind", 10, NULL, &n, &more);
	assert_int_equal(n, 1);
	SAME(r[0].id, ids[4]);
	r = search(c, prog, "traders", 10, NULL, &n, &more);
	assert_int_equal(n, 1);
	SAME(r[0].id, ids[4]);
	/* Diacritics are folded on both databases. */
	r = search(c, prog, "unal", 10, NULL, &n, &more);
	assert_int_equal(n, 1);
	SAME(r[0].id, ids[5]);
	search(c, prog, "!!!", 10, NULL, &n, &more);
	assert_int_equal(n, 0);
	search(c, prog, "nobody-here", 10, NULL, &n, &more);
	assert_int_equal(n, 0);
	/* Quotes and query syntax are text, not operators. */
	search(c, prog, "\"maria\" OR NEAR(", 10, NULL, &n, &more);
	search(c, prog, "maria & !zed | ana:*", 10, NULL, &n, &more);

	/* The ranked results page by the last id seen: two pages give the four matches once each, in order. */
	rf_partner *all = search(c, prog, "maria", 10, NULL, &n, &more);
	rf_partner *p1 = search(c, prog, "maria", 2, NULL, &n, &more);
	assert_int_equal(n, 2);
	assert_true(more);
	rf_partner *p2 = search(c, prog, "maria", 2, p1[1].id, &n, &more);
	assert_int_equal(n, 2);
	assert_false(more);
	SAME(join(c, 4, p1[0].id, p1[1].id, p2[0].id, p2[1].id), IDS(all, 4, id));
	rf_partner_filter f = {.page = {.limit = 2, .starting_after = ids[4]}, .program_id = prog, .q = "maria"};
	rf_partner *items;
	FAILS(RF_EINVAL, "starting_after", rf_store_partner_list(c->s, &f, &items, &n, &more, &c->a, E));
}

/* ---- users, API keys, sessions, login failures ---- */

static void same_user(const rf_user *g, const rf_user *w)
{
	SAME(g->id, w->id);
	SAME(g->email, w->email);
	SAME(g->password_hash, w->password_hash);
	SAME(g->role, w->role);
	SAME(g->partner_id, w->partner_id);
	assert_int_equal(g->created_at, w->created_at);
	assert_int_equal(g->disabled_at, w->disabled_at);
}

CASE(user_round_trip_and_owners)
{
	ctx *c = *state;
	char *prog = add_program(c, "P");
	char *ptn = add_partner(c, prog, "Org", "partner", NULL);
	rf_user o1 = user_of(c, "owner", NULL), o2 = user_of(c, "owner", NULL), ad = user_of(c, "admin", NULL),
		pu = user_of(c, "partner", ptn);
	o2.created_at = T0 + 1;
	OK(rf_store_user_insert(c->s, &o1, E));
	OK(rf_store_user_insert(c->s, &o2, E));
	OK(rf_store_user_insert(c->s, &ad, E));
	OK(rf_store_user_insert(c->s, &pu, E));
	rf_user got;
	OK(rf_store_user_get(c->s, pu.id, &got, &c->a, E));
	same_user(&got, &pu);
	OK(rf_store_user_get_by_email(c->s, o2.email, &got, &c->a, E));
	same_user(&got, &o2);
	FAILS(RF_ENOTFOUND, NULL, rf_store_user_get(c->s, "usr_missing", &got, &c->a, E));
	FAILS(RF_ENOTFOUND, NULL, rf_store_user_get_by_email(c->s, "nobody@example.com", &got, &c->a, E));
	rf_user dup = user_of(c, "admin", NULL);
	dup.email = o1.email;
	FAILS(RF_ECONFLICT, "email", rf_store_user_insert(c->s, &dup, E));

	int64_t owners = 0;
	OK(rf_store_user_count_owners(c->s, &owners, E));
	assert_int_equal(owners, 2);
	o2.disabled_at = T0 + 9;
	o2.role = "owner";
	OK(rf_store_user_update(c->s, &o2, E));
	OK(rf_store_user_get(c->s, o2.id, &got, &c->a, E));
	same_user(&got, &o2);
	OK(rf_store_user_count_owners(c->s, &owners, E));
	assert_int_equal(owners, 1);
	ad.role = "owner";
	ad.password_hash = "new-hash";
	OK(rf_store_user_update(c->s, &ad, E));
	OK(rf_store_user_count_owners(c->s, &owners, E));
	assert_int_equal(owners, 2);
	ad.email = o1.email;
	FAILS(RF_ECONFLICT, "email", rf_store_user_update(c->s, &ad, E));
	dup.id = "usr_missing";
	dup.email = "free@example.com";
	FAILS(RF_ENOTFOUND, "id", rf_store_user_update(c->s, &dup, E));

	rf_page page = {.limit = 3};
	rf_user *items;
	size_t n;
	bool more;
	OK(rf_store_user_list(c->s, &page, &items, &n, &more, &c->a, E));
	SAME(IDS(items, n, id), join(c, 3, pu.id, ad.id, o2.id));
	assert_true(more);
	page.starting_after = o2.id;
	OK(rf_store_user_list(c->s, &page, &items, &n, &more, &c->a, E));
	SAME(IDS(items, n, id), o1.id);
	assert_false(more);
	page.starting_after = "usr_nope";
	FAILS(RF_EINVAL, "starting_after", rf_store_user_list(c->s, &page, &items, &n, &more, &c->a, E));
}

static void same_key(const rf_apikey *g, const rf_apikey *w)
{
	SAME(g->id, w->id);
	SAME(g->name, w->name);
	SAME(g->role, w->role);
	SAME(g->partner_id, w->partner_id);
	SAME(g->prefix, w->prefix);
	SAME(g->hash, w->hash);
	SAME(g->created_by, w->created_by);
	assert_int_equal(g->created_at, w->created_at);
	assert_int_equal(g->last_used_at, w->last_used_at);
	assert_int_equal(g->revoked_at, w->revoked_at);
}

CASE(apikey_round_trip)
{
	ctx *c = *state;
	char *prog = add_program(c, "P");
	char *ptn = add_partner(c, prog, "Org", "partner", NULL);
	char *owner = add_user(c, "owner", NULL);
	rf_apikey k1 = {.id = new_id(c, "key"),
			.name = "CRM sync",
			.role = "admin",
			.prefix = "rfd_live_ab",
			.hash = "8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4",
			.created_by = owner,
			.created_at = T0};
	rf_apikey k2 = {.id = new_id(c, "key"),
			.name = "Partner widget",
			.role = "partner",
			.partner_id = ptn,
			.prefix = "rfd_live_cd",
			.hash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
			.created_at = T0 + 1,
			.last_used_at = T0 + 2};
	OK(rf_store_apikey_insert(c->s, &k1, E));
	OK(rf_store_apikey_insert(c->s, &k2, E));
	rf_apikey got;
	OK(rf_store_apikey_get(c->s, k1.id, &got, &c->a, E));
	same_key(&got, &k1);
	OK(rf_store_apikey_get_by_hash(c->s, k2.hash, &got, &c->a, E));
	same_key(&got, &k2);
	FAILS(RF_ENOTFOUND, NULL, rf_store_apikey_get(c->s, "key_missing", &got, &c->a, E));
	FAILS(RF_ENOTFOUND, NULL, rf_store_apikey_get_by_hash(c->s, "00", &got, &c->a, E));
	rf_apikey dup = k1;
	dup.id = new_id(c, "key");
	FAILS(RF_ECONFLICT, NULL, rf_store_apikey_insert(c->s, &dup, E));

	OK(rf_store_apikey_touch(c->s, k1.id, T0 + 10, E));
	OK(rf_store_apikey_revoke(c->s, k1.id, T0 + 20, E));
	OK(rf_store_apikey_revoke(c->s, k1.id, T0 + 30, E)); /* the first revocation's time stays */
	k1.last_used_at = T0 + 10;
	k1.revoked_at = T0 + 20;
	OK(rf_store_apikey_get(c->s, k1.id, &got, &c->a, E));
	same_key(&got, &k1);

	rf_page page = {.limit = 1};
	rf_apikey *items;
	size_t n;
	bool more;
	OK(rf_store_apikey_list(c->s, &page, &items, &n, &more, &c->a, E));
	SAME(IDS(items, n, id), k2.id);
	assert_true(more);
	page.starting_after = k2.id;
	OK(rf_store_apikey_list(c->s, &page, &items, &n, &more, &c->a, E));
	SAME(IDS(items, n, id), k1.id);
	assert_false(more);
	page.starting_after = "key_nope";
	FAILS(RF_EINVAL, "starting_after", rf_store_apikey_list(c->s, &page, &items, &n, &more, &c->a, E));
}

CASE(sessions)
{
	ctx *c = *state;
	char *u1 = add_user(c, "admin", NULL), *u2 = add_user(c, "admin", NULL);
	rf_session s1 = {.hash = "h1", .user_id = u1, .csrf_token = "csrf-1", .created_at = T0, .expires_at = T0 + DAY};
	rf_session s2 = {.hash = "h2", .user_id = u1, .csrf_token = "csrf-2", .created_at = T0, .expires_at = T0 + DAY};
	rf_session s3 = {
	    .hash = "h3", .user_id = u2, .csrf_token = "csrf-3", .created_at = T0 + 1, .expires_at = T0 + 2};
	OK(rf_store_session_insert(c->s, &s1, E));
	OK(rf_store_session_insert(c->s, &s2, E));
	OK(rf_store_session_insert(c->s, &s3, E));
	rf_session got;
	OK(rf_store_session_get(c->s, "h3", &got, &c->a, E));
	SAME(got.hash, "h3");
	SAME(got.user_id, u2);
	SAME(got.csrf_token, "csrf-3");
	assert_int_equal(got.created_at, T0 + 1);
	assert_int_equal(got.expires_at, T0 + 2);
	OK(rf_store_session_delete(c->s, "h1", E));
	FAILS(RF_ENOTFOUND, NULL, rf_store_session_get(c->s, "h1", &got, &c->a, E));
	OK(rf_store_session_get(c->s, "h2", &got, &c->a, E));
	OK(rf_store_session_delete(c->s, "h-missing", E));
	OK(rf_store_session_delete_user(c->s, u1, E));
	FAILS(RF_ENOTFOUND, NULL, rf_store_session_get(c->s, "h2", &got, &c->a, E));
	OK(rf_store_session_get(c->s, "h3", &got, &c->a, E));
}

CASE(login_failures)
{
	ctx *c = *state;
	for (int i = 0; i < 3; i++)
		OK(rf_store_login_failure_add(c->s, "email:x@example.com", 1000 + i, E));
	OK(rf_store_login_failure_add(c->s, "ip:3f9a", 1001, E));
	int64_t n = -1;
	OK(rf_store_login_failure_count(c->s, "email:x@example.com", 1001, &n, E));
	assert_int_equal(n, 2);
	OK(rf_store_login_failure_count(c->s, "email:x@example.com", 0, &n, E));
	assert_int_equal(n, 3);
	OK(rf_store_login_failure_count(c->s, "email:x@example.com", 1003, &n, E));
	assert_int_equal(n, 0);
	OK(rf_store_login_failure_clear(c->s, "email:x@example.com", E));
	OK(rf_store_login_failure_count(c->s, "email:x@example.com", 0, &n, E));
	assert_int_equal(n, 0);
	OK(rf_store_login_failure_count(c->s, "ip:3f9a", 0, &n, E));
	assert_int_equal(n, 1);
}

/* The audit trail has no reader in the store: the copy check's row counts see what was written. */
CASE(audit_trail)
{
	ctx *c = *state;
	OK(rf_store_audit_add(c->s, "usr_1", "partner.update", "ptn_1", "{\"status\":[\"applied\",\"active\"]}", T0,
			      E));
	OK(rf_store_audit_add(c->s, "key_1", "program.create", NULL, NULL, T0 + 1, E));
	rf_store *empty = new_store(c, c->bk->kind, true);
	rf_copy_check chk;
	OK(rf_store_copy_verify(c->s, empty, &chk, &c->a, E));
	SAME(chk.mismatch, "audit_log: 2 rows in the source, 0 in the copy");
}

CASE(settings)
{
	ctx *c = *state;
	char *v = "unset";
	OK(rf_store_setting_get(c->s, "instance.flag", &v, &c->a, E));
	assert_null(v);
	OK(rf_store_setting_set(c->s, "instance.flag", "1", E));
	OK(rf_store_setting_set(c->s, "instance.flag", "two words, ü", E));
	OK(rf_store_setting_set(c->s, "instance.empty", "", E));
	OK(rf_store_setting_get(c->s, "instance.flag", &v, &c->a, E));
	SAME(v, "two words, ü");
	OK(rf_store_setting_get(c->s, "instance.empty", &v, &c->a, E));
	SAME(v, "");
	/* Migrations leave the code table's version there. */
	OK(rf_store_setting_get(c->s, "links_version", &v, &c->a, E));
	SAME(v, "0");
}

CASE(password_reset_taken_once)
{
	ctx *c = *state;
	char *u = add_user(c, "admin", NULL), *other = add_user(c, "admin", NULL);
	OK(rf_store_reset_insert(c->s, "t1", u, T0, T0 + HOUR, E));
	OK(rf_store_reset_insert(c->s, "t2", u, T0, T0 + HOUR, E));
	OK(rf_store_reset_insert(c->s, "old", u, T0 - 2 * DAY, T0 - DAY, E));
	OK(rf_store_reset_insert(c->s, "t3", other, T0, T0 + HOUR, E));
	int64_t n = -1;
	OK(rf_store_reset_count(c->s, u, T0 - 1, &n, E));
	assert_int_equal(n, 2);
	OK(rf_store_reset_count(c->s, u, T0 - 3 * DAY, &n, E));
	assert_int_equal(n, 3);
	char *who = NULL;
	OK(rf_store_reset_take(c->s, "t1", T0 + 1, &who, &c->a, E));
	SAME(who, u);
	FAILS(RF_ENOTFOUND, "token", rf_store_reset_take(c->s, "t1", T0 + 2, &who, &c->a, E));
	assert_null(who);
	FAILS(RF_ENOTFOUND, "token", rf_store_reset_take(c->s, "old", T0, &who, &c->a, E));
	FAILS(RF_ENOTFOUND, "token", rf_store_reset_take(c->s, "t2", T0 + HOUR, &who, &c->a, E));
	FAILS(RF_ENOTFOUND, "token", rf_store_reset_take(c->s, "nope", T0, &who, &c->a, E));
	OK(rf_store_reset_take(c->s, "t3", T0 + HOUR - 1, &who, &c->a, E));
	SAME(who, other);
}

/* ---- links, the code table, clicks and the click log ---- */

CASE(link_round_trip)
{
	ctx *c = *state;
	char *prog = add_program(c, "P");
	char *ptn = add_partner(c, prog, "Org", "partner", NULL);
	rf_link l = {.id = new_id(c, "lnk"),
		     .program_id = prog,
		     .partner_id = ptn,
		     .code = "Spring-Sale",
		     .destination_url = "https://shop.example/spring?x=1",
		     .target_url = "https://shop.example/spring?x=1&utm_source=refd&utm_medium=partner",
		     .campaign = "spring",
		     .utm_source = "refd",
		     .utm_medium = "partner",
		     .utm_campaign = "spring-2026",
		     .utm_term = "shoes",
		     .utm_content = "banner",
		     .created_at = T0,
		     .updated_at = T0 + 1};
	OK(rf_store_link_insert(c->s, &l, "spring-sale", E));
	rf_link got;
	OK(rf_store_link_get(c->s, l.id, &got, &c->a, E));
	same_link(&got, &l);
	/* The code is taken without regard to case. */
	rf_link dup = l;
	dup.id = new_id(c, "lnk");
	dup.code = "SPRING-SALE";
	FAILS(RF_ECONFLICT, "code", rf_store_link_insert(c->s, &dup, "spring-sale", E));
	rf_link u = l;
	u.destination_url = "https://shop.example/summer";
	u.target_url = "https://shop.example/summer";
	u.campaign = NULL;
	u.utm_source = u.utm_medium = u.utm_campaign = u.utm_term = u.utm_content = NULL;
	u.archived_at = T0 + 5;
	u.updated_at = T0 + 5;
	OK(rf_store_link_update(c->s, &u, E));
	OK(rf_store_link_get(c->s, l.id, &got, &c->a, E));
	same_link(&got, &u);
	FAILS(RF_ENOTFOUND, NULL, rf_store_link_get(c->s, "lnk_missing", &got, &c->a, E));
	u.id = "lnk_missing";
	FAILS(RF_ENOTFOUND, "id", rf_store_link_update(c->s, &u, E));
}

static char *link_ids(ctx *c, const rf_link_filter *f, bool *more)
{
	rf_link *items = NULL;
	size_t n = 0;
	bool m = false;
	OK(rf_store_link_list(c->s, f, &items, &n, more ? more : &m, &c->a, E));
	return IDS(items, n, id);
}

CASE(link_list_filters_and_pages)
{
	ctx *c = *state;
	char *prog = add_program(c, "P"), *q = add_program(c, "Q");
	char *org = add_partner(c, prog, "Org", "partner", NULL);
	char *agent = add_partner(c, prog, "Agent", "agent", org);
	char *other = add_partner(c, prog, "Other", "partner", NULL);
	char *inq = add_partner(c, q, "In Q", "partner", NULL);
	char *l1 = add_link(c, prog, org, "spring"), *l2 = add_link(c, prog, agent, "spring");
	char *l3 = add_link(c, prog, agent, "summer"), *l4 = add_link(c, prog, other, NULL);
	char *l5 = add_link(c, q, inq, "spring");
	rf_link arch;
	OK(rf_store_link_get(c->s, l3, &arch, &c->a, E));
	arch.archived_at = T0 + 1;
	OK(rf_store_link_update(c->s, &arch, E));

	rf_link_filter f = {.page = {.limit = 100}, .program_id = prog};
	SAME(link_ids(c, &f, NULL), join(c, 3, l4, l2, l1));
	f.include_archived = true;
	SAME(link_ids(c, &f, NULL), join(c, 4, l4, l3, l2, l1));
	f.partner_id = agent;
	SAME(link_ids(c, &f, NULL), join(c, 2, l3, l2));
	f.partner_id = NULL;
	f.include_archived = false;
	f.campaign = "spring";
	SAME(link_ids(c, &f, NULL), join(c, 2, l2, l1));
	f.campaign = NULL;
	f.scope_id = org;
	SAME(link_ids(c, &f, NULL), join(c, 2, l2, l1));
	rf_link_filter any = {.page = {.limit = 100}};
	SAME(link_ids(c, &any, NULL), join(c, 4, l5, l4, l2, l1));

	rf_link_filter pf = {.page = {.limit = 2}, .program_id = prog, .include_archived = true};
	bool more = false;
	SAME(link_ids(c, &pf, &more), join(c, 2, l4, l3));
	assert_true(more);
	pf.page.starting_after = l3;
	SAME(link_ids(c, &pf, &more), join(c, 2, l2, l1));
	assert_false(more);
	pf.page.starting_after = "lnk_nope";
	rf_link *items;
	size_t n;
	FAILS(RF_EINVAL, "starting_after", rf_store_link_list(c->s, &pf, &items, &n, &more, &c->a, E));
}

typedef struct {
	ctx *c;
	rf_code_entry e[8];
	int n;
} code_table;

static void keep_entry(const rf_code_entry *e, void *arg)
{
	code_table *t = arg;
	if (t->n == 8)
		return;
	rf_code_entry *k = &t->e[t->n++];
	*k = *e;
	k->code_folded = rf_arena_strdup(&t->c->a, e->code_folded);
	k->link_id = rf_arena_strdup(&t->c->a, e->link_id);
	k->program_id = rf_arena_strdup(&t->c->a, e->program_id);
	k->partner_id = rf_arena_strdup(&t->c->a, e->partner_id);
	k->destination_url = rf_arena_strdup(&t->c->a, e->destination_url);
}

static const rf_code_entry *entry_of(const code_table *t, const char *link)
{
	for (int i = 0; i < t->n; i++)
		if (strcmp(t->e[i].link_id, link) == 0)
			return &t->e[i];
	return NULL;
}

CASE(code_table_fallback_and_version)
{
	ctx *c = *state;
	char *url = "unset";
	OK(rf_store_default_fallback(c->s, &url, &c->a, E));
	assert_null(url);
	add_program(c, "No fallback");
	rf_program p1 = program_of(c, "P1"), p2 = program_of(c, "P2");
	p1.cookie_window_days = 60;
	p1.repeat_click_minutes = 15;
	p1.fallback_url = "https://p1.example/";
	p2.fallback_url = "https://p2.example/";
	OK(rf_store_program_insert(c->s, &p1, E));
	OK(rf_store_program_insert(c->s, &p2, E));
	OK(rf_store_default_fallback(c->s, &url, &c->a, E));
	SAME(url, "https://p1.example/");

	char *active = add_partner(c, p1.id, "Active", "partner", NULL);
	rf_partner sus = partner_of(c, p1.id, "Suspended");
	sus.status = "suspended";
	OK(rf_store_partner_insert(c->s, &sus, E));
	char *l1 = add_link(c, p1.id, active, NULL), *l2 = add_link(c, p1.id, sus.id, NULL);
	char *l3 = add_link(c, p1.id, active, NULL);
	rf_link arch, live;
	OK(rf_store_link_get(c->s, l3, &arch, &c->a, E));
	arch.archived_at = T0 + 1;
	OK(rf_store_link_update(c->s, &arch, E));
	OK(rf_store_link_get(c->s, l1, &live, &c->a, E));

	code_table t = {.c = c};
	OK(rf_store_code_table_load(c->s, keep_entry, &t, E));
	assert_int_equal(t.n, 2);
	const rf_code_entry *e1 = entry_of(&t, l1), *e2 = entry_of(&t, l2);
	assert_non_null(e1);
	assert_non_null(e2);
	assert_null(entry_of(&t, l3));
	SAME(e1->code_folded, live.code);
	SAME(e1->program_id, p1.id);
	SAME(e1->partner_id, active);
	SAME(e1->destination_url, live.target_url);
	assert_true(e1->credited);
	assert_int_equal(e1->window_days, 60);
	assert_int_equal(e1->repeat_minutes, 15);
	assert_false(e2->credited);

	int64_t v = -1;
	OK(rf_store_links_version(c->s, &v, E));
	assert_int_equal(v, 0);
	OK(rf_store_links_version_bump(c->s, E));
	OK(rf_store_links_version_bump(c->s, E));
	OK(rf_store_links_version(c->s, &v, E));
	assert_int_equal(v, 2);

	/* A code read from the database, as the table holds it: live links only. */
	rf_code_entry found;
	OK(rf_store_code_find(c->s, e1->code_folded, &found, &c->a, E));
	SAME(found.link_id, l1);
	SAME(found.destination_url, live.target_url);
	assert_int_equal(found.window_days, 60);
	FAILS(RF_ENOTFOUND, NULL, rf_store_code_find(c->s, "no-such-code", &found, &c->a, E));
	FAILS(RF_ENOTFOUND, NULL, rf_store_code_find(c->s, arch.code, &found, &c->a, E));

	/* Announced changes (PostgreSQL): each heard once, after its commit, and not at all when rolled back. */
	bool on_pg = c->bk->kind == BK_POSTGRES;
	assert_int_equal(rf_store_links_announced(c->s), on_pg);
	assert_int_equal(rf_store_links_wait(c->s, 0), 0); /* listening from here on */
	OK(rf_store_begin(c->s, E));
	OK(rf_store_links_version_bump(c->s, E));
	rf_store_rollback(c->s);
	assert_int_equal(rf_store_links_wait(c->s, on_pg ? 200 : 10), 0);
	OK(rf_store_begin(c->s, E));
	OK(rf_store_links_version_bump(c->s, E));
	OK(rf_store_commit(c->s, E));
	assert_int_equal(rf_store_links_wait(c->s, on_pg ? 5000 : 10), on_pg ? 1 : 0);
	assert_int_equal(rf_store_links_wait(c->s, 0), 0);
}

CASE(clicks_round_trip_and_counts)
{
	ctx *c = *state;
	char *prog = add_program(c, "P");
	char *org = add_partner(c, prog, "Org", "partner", NULL);
	char *agent = add_partner(c, prog, "Agent", "agent", org);
	char *link = add_link(c, prog, agent, "spring"), *quiet = add_link(c, prog, org, NULL);
	rf_click k = click_of(c, prog, link, agent, T0 + 5, "counted");
	k.prev_click_id = "clk_0000000000001000000";
	k.ip_hash = "9c56cc51b374c3ba189210d5b6d4bf57790d351c96c47c02190ecf1e430635ab";
	k.user_agent = "Mozilla/5.0 (X11; Linux x86_64) Ünïcödé/1.0";
	k.referer = "https://news.example/article?id=7";
	k.landing_url = "https://shop.example/?via=spring&utm_source=x";
	k.source = "script";
	OK(rf_store_click_insert(c->s, &k, E));
	rf_click got;
	OK(rf_store_click_get(c->s, k.id, &got, &c->a, E));
	same_click(&got, &k);
	FAILS(RF_ENOTFOUND, NULL, rf_store_click_get(c->s, "clk_missing", &got, &c->a, E));

	/* 21 more: one statement of sixteen rows, then five of one. */
	static const char *const statuses[] = {"counted", "bot", "repeat", "uncredited"};
	rf_click batch[21];
	const rf_click *ptrs[21];
	for (int i = 0; i < 21; i++) {
		batch[i] = click_of(c, prog, link, agent, T0 + 10 + i, statuses[i % 4]);
		ptrs[i] = &batch[i];
	}
	batch[20].link_id = NULL; /* an uncredited visit of the script, through no link */
	batch[20].partner_id = NULL;
	batch[20].status = "uncredited";
	OK(rf_store_clicks_insert(c->s, ptrs, 21, E));
	for (int i = 0; i < 21; i++) {
		OK(rf_store_click_get(c->s, batch[i].id, &got, &c->a, E));
		same_click(&got, &batch[i]);
	}
	int64_t counts[4] = {-1, -1, -1, -1};
	OK(rf_store_click_counts(c->s, link, counts, E));
	/* i % 4 over 0..19: five of each; then the first click (counted). */
	assert_int_equal(counts[0], 6);
	assert_int_equal(counts[1], 5);
	assert_int_equal(counts[2], 5);
	assert_int_equal(counts[3], 5);
	OK(rf_store_click_counts(c->s, quiet, counts, E));
	assert_int_equal(counts[0] + counts[1] + counts[2] + counts[3], 0);

	/* A batch that fails part-way is undone by the caller's rollback. */
	rf_click again[17];
	const rf_click *aptrs[17];
	for (int i = 0; i < 17; i++) {
		again[i] = click_of(c, prog, link, agent, T0 + 100 + i, "counted");
		aptrs[i] = &again[i];
	}
	again[16] = batch[0];
	OK(rf_store_begin(c->s, E));
	rf_status rc = rf_store_clicks_insert(c->s, aptrs, 17, E);
	assert_int_not_equal(rc, RF_OK);
	rf_store_rollback(c->s);
	memset(E, 0, sizeof *E);
	FAILS(RF_ENOTFOUND, NULL, rf_store_click_get(c->s, again[0].id, &got, &c->a, E));
	OK(rf_store_click_counts(c->s, link, counts, E));
	assert_int_equal(counts[0], 6);

	char *campaign = NULL, *owner = NULL, *kind = NULL, *team = NULL;
	OK(rf_store_link_rollup_info(c->s, link, &campaign, &owner, &kind, &team, &c->a, E));
	SAME(campaign, "spring");
	SAME(owner, agent);
	SAME(kind, "agent");
	SAME(team, org);
	OK(rf_store_link_rollup_info(c->s, quiet, &campaign, &owner, &kind, &team, &c->a, E));
	assert_null(campaign);
	SAME(owner, org);
	SAME(kind, "partner");
	assert_null(team);
	FAILS(RF_ENOTFOUND, "link_id",
	      rf_store_link_rollup_info(c->s, "lnk_missing", &campaign, &owner, &kind, &team, &c->a, E));
}

/* The click writer's cycle on a connection of its own: begin, clicks and their rollups, commit, flush; what was
 * committed is then seen by every other connection, and a group rolled back leaves nothing. */
CASE(click_log_groups)
{
	ctx *c = *state;
	char *prog = add_program(c, "P");
	char *ptn = add_partner(c, prog, "Org", "partner", NULL);
	char *link = add_link(c, prog, ptn, NULL);
	OK(rf_click_log_open(c->location, &c->log, E));
	rf_store *w = rf_click_log_store(c->log);
	assert_non_null(w);
	assert_ptr_not_equal(w, c->s);
	assert_string_equal(rf_store_backend(w), rf_store_backend(c->s));
	rf_click group[3];
	const rf_click *ptrs[3];
	for (int i = 0; i < 3; i++) {
		group[i] = click_of(c, prog, link, ptn, T0 + i, i == 2 ? "bot" : "counted");
		ptrs[i] = &group[i];
	}
	char *entity = rf_arena_printf(&c->a, "p:%s", ptn);
	const char *entities[] = {entity};
	const char *dims[] = {"all"};
	rf_metrics m = {{0}};
	m.v[RF_M_CLICKS] = 2;
	OK(rf_click_log_begin(c->log, E));
	OK(rf_store_clicks_insert(w, ptrs, 3, E));
	OK(rf_store_rollup_add(w, prog, T0, "", entities, 1, dims, 1, &m, E));
	OK(rf_click_log_commit(c->log, E));
	OK(rf_click_log_flush(c->log, E));
	assert_false(rf_click_log_should_yield(c->log));
	OK(rf_click_log_settle(c->log, E));
	OK(rf_click_log_maintain(c->log, E));
	rf_click got;
	for (int i = 0; i < 3; i++) {
		OK(rf_store_click_get(c->s, group[i].id, &got, &c->a, E));
		same_click(&got, &group[i]);
	}
	rf_metrics total;
	OK(rf_store_rollup_total_before(c->s, prog, entity, "", D0 + 1, &total, E));
	assert_int_equal(total.v[RF_M_CLICKS], 2);

	rf_click lost = click_of(c, prog, link, ptn, T0 + 10, "counted");
	const rf_click *lp = &lost;
	OK(rf_click_log_begin(c->log, E));
	w = rf_click_log_store(c->log); /* asked again for every group: on PostgreSQL it changes at each commit */
	OK(rf_store_clicks_insert(w, &lp, 1, E));
	OK(rf_store_rollup_add(w, prog, T0, "", entities, 1, dims, 1, &m, E));
	rf_click_log_rollback(c->log);
	OK(rf_click_log_flush(c->log, E));
	FAILS(RF_ENOTFOUND, NULL, rf_store_click_get(c->s, lost.id, &got, &c->a, E));
	OK(rf_store_rollup_total_before(c->s, prog, entity, "", D0 + 1, &total, E));
	assert_int_equal(total.v[RF_M_CLICKS], 2);
	rf_click_log_close(c->log);
	c->log = NULL;
}

/* ---- leads ---- */

CASE(lead_round_trip)
{
	ctx *c = *state;
	char *prog = add_program(c, "P"), *q = add_program(c, "Q");
	char *org = add_partner(c, prog, "Org", "partner", NULL);
	char *agent = add_partner(c, prog, "Agent", "agent", org);
	char *link = add_link(c, prog, agent, NULL);
	char *click = add_click(c, prog, link, agent, T0, "counted");
	rf_lead l = lead_of(c, prog, org, agent, T0 + 1);
	l.email = "jane.doe@acme.example";
	l.external_id = "crm-1";
	l.name = "Jane Doe";
	l.company = "Acme Ünlimited";
	l.phone = "+49 30 1234567";
	l.source = "referral";
	l.status = "pending_review";
	l.click_id = click;
	l.method = "code";
	l.registration = true;
	l.review_reason = "conflicts with lead_x";
	l.protected_until = T0 + 90 * DAY;
	l.metadata = "{\"utm\":\"spring\"}";
	l.created_by = "ptn_user";
	l.updated_at = T0 + 2;
	l.status_at = T0 + 3;
	l.converted_at = 0;
	OK(rf_store_lead_insert(c->s, &l, E));
	rf_lead got;
	OK(rf_store_lead_get(c->s, l.id, &got, &c->a, E));
	same_lead(&got, &l);
	OK(rf_store_lead_find(c->s, prog, "jane.doe@acme.example", NULL, &got, &c->a, E));
	SAME(got.id, l.id);
	OK(rf_store_lead_find(c->s, prog, NULL, "crm-1", &got, &c->a, E));
	SAME(got.id, l.id);
	FAILS(RF_ENOTFOUND, NULL, rf_store_lead_find(c->s, q, "jane.doe@acme.example", NULL, &got, &c->a, E));
	FAILS(RF_ENOTFOUND, NULL, rf_store_lead_find(c->s, prog, NULL, "crm-2", &got, &c->a, E));
	FAILS(RF_ENOTFOUND, NULL, rf_store_lead_get(c->s, "lead_missing", &got, &c->a, E));

	rf_lead u = l;
	u.email = NULL;
	u.name = NULL;
	u.company = NULL;
	u.phone = NULL;
	u.status = "converted";
	u.agent_id = NULL;
	u.click_id = NULL;
	u.method = "none";
	u.registration = false;
	u.review_reason = NULL;
	u.protected_until = 0;
	u.metadata = "{}";
	u.created_by = NULL;
	u.updated_at = T0 + 10;
	u.status_at = T0 + 10;
	u.converted_at = T0 + 10;
	OK(rf_store_lead_update(c->s, &u, E));
	OK(rf_store_lead_get(c->s, l.id, &got, &c->a, E));
	same_lead(&got, &u);
	OK(rf_store_lead_update(c->s, &l, E));
	u.id = "lead_missing";
	FAILS(RF_ENOTFOUND, "id", rf_store_lead_update(c->s, &u, E));
}

/* A lead is unique per program by email and by external id; the conflict names the one that is taken. */
CASE(lead_uniqueness)
{
	ctx *c = *state;
	char *prog = add_program(c, "P"), *q = add_program(c, "Q");
	rf_lead l = lead_of(c, prog, NULL, NULL, T0);
	l.email = "jane@acme.example";
	l.external_id = "crm-1";
	OK(rf_store_lead_insert(c->s, &l, E));
	rf_lead d = lead_of(c, prog, NULL, NULL, T0);
	d.email = "jane@acme.example";
	FAILS(raced(c), "email", rf_store_lead_insert(c->s, &d, E));
	d.email = "new@acme.example";
	d.external_id = "crm-1";
	FAILS(raced(c), "external_id", rf_store_lead_insert(c->s, &d, E));
	d.email = NULL;
	FAILS(raced(c), "external_id", rf_store_lead_insert(c->s, &d, E));
	rf_lead inq = lead_of(c, q, NULL, NULL, T0);
	inq.email = "jane@acme.example";
	inq.external_id = "crm-1";
	OK(rf_store_lead_insert(c->s, &inq, E));

	/* Updates that would take another lead's email or external id are conflicts (not races: the lead is
	 * there). */
	rf_lead other = lead_of(c, prog, NULL, NULL, T0);
	other.external_id = "crm-2";
	OK(rf_store_lead_insert(c->s, &other, E));
	rf_lead u = other;
	u.email = "jane@acme.example";
	FAILS(RF_ECONFLICT, "email", rf_store_lead_update(c->s, &u, E));
	u = other;
	u.external_id = "crm-1";
	FAILS(RF_ECONFLICT, "external_id", rf_store_lead_update(c->s, &u, E));
	rf_lead got;
	OK(rf_store_lead_get(c->s, other.id, &got, &c->a, E));
	same_lead(&got, &other);
}

static char *lead_ids(ctx *c, const rf_lead_filter *f, bool *more)
{
	rf_lead *items = NULL;
	size_t n = 0;
	bool m = false;
	OK(rf_store_lead_list(c->s, f, &items, &n, more ? more : &m, &c->a, E));
	return IDS(items, n, id);
}

CASE(lead_list_filters_and_counts)
{
	ctx *c = *state;
	char *prog = add_program(c, "P"), *q = add_program(c, "Q");
	char *org = add_partner(c, prog, "Org", "partner", NULL);
	char *agent = add_partner(c, prog, "Agent", "agent", org);
	char *other = add_partner(c, prog, "Other", "partner", NULL);
	char *inq = add_partner(c, q, "In Q", "partner", NULL);
	rf_lead la = lead_of(c, prog, org, NULL, T0), lb = lead_of(c, prog, org, agent, T0 + DAY),
		lc = lead_of(c, prog, other, NULL, T0 + 2 * DAY), ld = lead_of(c, q, inq, NULL, T0 + 3 * DAY),
		le = lead_of(c, prog, NULL, NULL, T0 + 4 * DAY);
	lb.source = "referral";
	lb.status = "qualified";
	lb.registration = true;
	lc.source = "paid";
	lc.status = "converted";
	le.source = "direct";
	le.status = "lost";
	rf_lead *all[] = {&la, &lb, &lc, &ld, &le};
	for (int i = 0; i < 5; i++)
		OK(rf_store_lead_insert(c->s, all[i], E));

	rf_lead_filter f = {.page = {.limit = 100}, .program_id = prog, .registration = -1};
	SAME(lead_ids(c, &f, NULL), join(c, 4, le.id, lc.id, lb.id, la.id));
	f.partner_id = org;
	SAME(lead_ids(c, &f, NULL), join(c, 2, lb.id, la.id));
	f.partner_id = NULL;
	f.agent_id = agent;
	SAME(lead_ids(c, &f, NULL), lb.id);
	f.agent_id = NULL;
	f.status = "new";
	SAME(lead_ids(c, &f, NULL), la.id);
	f.status = NULL;
	f.created_from = T0 + DAY;
	f.created_to = T0 + 3 * DAY;
	SAME(lead_ids(c, &f, NULL), join(c, 2, lc.id, lb.id));
	f.created_from = f.created_to = 0;
	f.registration = 1;
	SAME(lead_ids(c, &f, NULL), lb.id);
	f.registration = 0;
	SAME(lead_ids(c, &f, NULL), join(c, 3, le.id, lc.id, la.id));
	f.registration = -1;
	f.scope_id = org;
	SAME(lead_ids(c, &f, NULL), join(c, 2, lb.id, la.id));
	f.scope_id = agent;
	SAME(lead_ids(c, &f, NULL), lb.id);
	rf_lead_filter src = {.page = {.limit = 100}, .source = "partner", .registration = -1};
	SAME(lead_ids(c, &src, NULL), join(c, 2, ld.id, la.id));

	rf_lead_filter pf = {.page = {.limit = 3}, .program_id = prog, .registration = -1};
	bool more = false;
	SAME(lead_ids(c, &pf, &more), join(c, 3, le.id, lc.id, lb.id));
	assert_true(more);
	pf.page.starting_after = lb.id;
	SAME(lead_ids(c, &pf, &more), la.id);
	assert_false(more);
	pf.page.starting_after = "lead_nope";
	rf_lead *items;
	size_t n;
	FAILS(RF_EINVAL, "starting_after", rf_store_lead_list(c->s, &pf, &items, &n, &more, &c->a, E));

	/* Counts per status ignore the filter's status and page. */
	const char *const statuses[] = {"new", "qualified", "converted", "lost", "contacted"};
	int64_t counts[5];
	rf_lead_filter cf = {.page = {.limit = 1}, .program_id = prog, .status = "new", .registration = -1};
	OK(rf_store_lead_counts(c->s, &cf, statuses, 5, counts, E));
	assert_int_equal(counts[0], 1);
	assert_int_equal(counts[1], 1);
	assert_int_equal(counts[2], 1);
	assert_int_equal(counts[3], 1);
	assert_int_equal(counts[4], 0);
	cf.scope_id = org;
	OK(rf_store_lead_counts(c->s, &cf, statuses, 5, counts, E));
	assert_int_equal(counts[0], 1);
	assert_int_equal(counts[1], 1);
	assert_int_equal(counts[2] + counts[3] + counts[4], 0);
}

CASE(lead_conflicts)
{
	ctx *c = *state;
	char *prog = add_program(c, "P"), *q = add_program(c, "Q");
	struct {
		const char *email, *status;
		int64_t at;
		const char *program;
	} rows[] = {
	    {"a@acme.example", "new", T0, prog},
	    {"b@acme.example", "qualified", T0 + DAY, prog},
	    {"c@other.example", "new", T0 + 2 * DAY, prog},
	    {"d@acme.example", "rejected", T0, prog},
	    {"e@acme.example", "lost", T0, prog},
	    {"old@acme.example", "new", T0 - 10 * DAY, prog},
	    {"x@acme.example", "new", T0, q},
	    {"p@acme.example", "pending_review", T0, prog},
	    {"v@acme.example", "converted", T0, prog},
	};
	char *ids[9];
	for (int i = 0; i < 9; i++) {
		rf_lead l = lead_of(c, rows[i].program, NULL, NULL, rows[i].at);
		l.email = (char *)rows[i].email;
		l.status = (char *)rows[i].status;
		OK(rf_store_lead_insert(c->s, &l, E));
		ids[i] = l.id;
	}
	rf_lead *items;
	size_t n;
	OK(rf_store_lead_conflicts(c->s, prog, "z@acme.example", "acme.example", T0 - DAY, NULL, 10, &items, &n, &c->a,
				   E));
	SAME(IDS(items, n, id), join(c, 4, ids[8], ids[7], ids[1], ids[0]));
	OK(rf_store_lead_conflicts(c->s, prog, "z@acme.example", "acme.example", T0 - DAY, ids[8], 2, &items, &n, &c->a,
				   E));
	SAME(IDS(items, n, id), join(c, 2, ids[7], ids[1]));
	OK(rf_store_lead_conflicts(c->s, prog, "c@other.example", NULL, T0 - DAY, NULL, 10, &items, &n, &c->a, E));
	SAME(IDS(items, n, id), ids[2]);
	OK(rf_store_lead_conflicts(c->s, prog, "c@other.example", NULL, T0 - DAY, ids[2], 10, &items, &n, &c->a, E));
	assert_int_equal(n, 0);
	OK(rf_store_lead_conflicts(c->s, prog, "old@acme.example", NULL, T0 - 20 * DAY, NULL, 10, &items, &n, &c->a,
				   E));
	SAME(IDS(items, n, id), ids[5]);
}

CASE(lead_events_in_order)
{
	ctx *c = *state;
	char *prog = add_program(c, "P");
	char *l = add_lead(c, prog, NULL, NULL, T0), *other = add_lead(c, prog, NULL, NULL, T0);
	rf_lead_event ev[] = {
	    {NULL, "new", "key_1", NULL, T0},
	    {"new", "qualified", "usr_1", "called back, budget confirmed", T0 + HOUR},
	    {"qualified", "converted", "system", NULL, T0 + DAY},
	};
	for (int i = 0; i < 3; i++)
		OK(rf_store_lead_event_add(c->s, l, &ev[i], E));
	rf_lead_event *items;
	size_t n;
	OK(rf_store_lead_events(c->s, l, &items, &n, &c->a, E));
	assert_int_equal(n, 3);
	for (int i = 0; i < 3; i++) {
		SAME(items[i].from_status, ev[i].from_status);
		SAME(items[i].to_status, ev[i].to_status);
		SAME(items[i].actor, ev[i].actor);
		SAME(items[i].reason, ev[i].reason);
		assert_int_equal(items[i].at, ev[i].at);
	}
	OK(rf_store_lead_events(c->s, other, &items, &n, &c->a, E));
	assert_int_equal(n, 0);
}

CASE(lead_qualified_range)
{
	ctx *c = *state;
	char *prog = add_program(c, "P"), *q = add_program(c, "Q");
	char *l1 = add_lead(c, prog, NULL, NULL, T0), *l2 = add_lead(c, prog, NULL, NULL, T0);
	char *l3 = add_lead(c, prog, NULL, NULL, T0), *l4 = add_lead(c, q, NULL, NULL, T0);
	rf_lead_event q1 = {"new", "qualified", "u", NULL, T0 + 2 * HOUR},
		      c1 = {"qualified", "converted", "u", NULL, T0 + 5 * HOUR},
		      c2 = {"new", "converted", "u", NULL, T0 + HOUR}, n3 = {NULL, "new", "u", NULL, T0},
		      q4 = {"new", "qualified", "u", NULL, T0 + HOUR};
	OK(rf_store_lead_event_add(c->s, l1, &q1, E));
	OK(rf_store_lead_event_add(c->s, l1, &c1, E));
	OK(rf_store_lead_event_add(c->s, l2, &c2, E));
	OK(rf_store_lead_event_add(c->s, l3, &n3, E));
	OK(rf_store_lead_event_add(c->s, l4, &q4, E));
	char **ids;
	int64_t *ats;
	size_t n;
	OK(rf_store_lead_qualified_range(c->s, prog, T0, T0 + DAY, 10, &ids, &ats, &n, &c->a, E));
	assert_int_equal(n, 2);
	SAME(ids[0], l2);
	assert_int_equal(ats[0], T0 + HOUR);
	SAME(ids[1], l1);
	assert_int_equal(ats[1], T0 + 2 * HOUR);
	/* A lead counts when it first got there: l2's first time is before the range. */
	OK(rf_store_lead_qualified_range(c->s, prog, T0 + 90 * 60000, T0 + DAY, 10, &ids, &ats, &n, &c->a, E));
	assert_int_equal(n, 1);
	SAME(ids[0], l1);
	OK(rf_store_lead_qualified_range(c->s, prog, T0, T0 + DAY, 1, &ids, &ats, &n, &c->a, E));
	assert_int_equal(n, 1);
	SAME(ids[0], l2);
}

CASE(idempotency_keys)
{
	ctx *c = *state;
	char *route = NULL, *hash = NULL, *body = NULL;
	int status = 0;
	assert_int_equal(rf_store_idem_get(c->s, "key_1", "k1", &route, &hash, &status, &body, &c->a, E), RF_ENOTFOUND);
	OK(rf_store_idem_put(c->s, "key_1", "k1", "POST /api/v1/leads", "5e8f", 201, "{\"id\":\"lead_1\",\"ü\":1}", T0,
			     E));
	OK(rf_store_idem_get(c->s, "key_1", "k1", &route, &hash, &status, &body, &c->a, E));
	SAME(route, "POST /api/v1/leads");
	SAME(hash, "5e8f");
	assert_int_equal(status, 201);
	SAME(body, "{\"id\":\"lead_1\",\"ü\":1}");
	FAILS(raced(c), "Idempotency-Key", rf_store_idem_put(c->s, "key_1", "k1", "POST /x", "00", 200, "{}", T0, E));
	OK(rf_store_idem_put(c->s, "key_2", "k1", "POST /api/v1/sales", "77", 409, "{}", T0, E));
	OK(rf_store_idem_get(c->s, "key_2", "k1", &route, &hash, &status, &body, &c->a, E));
	assert_int_equal(status, 409);
}

/* ---- plans, customers, sales and refunds ---- */

CASE(plans_and_versions)
{
	ctx *c = *state;
	char *prog = add_program(c, "P"), *q = add_program(c, "Q");
	rf_plan a = {.id = new_id(c, "plan"),
		     .program_id = prog,
		     .name = "Default",
		     .is_default = true,
		     .version = 1,
		     .rules = "{\"v\":1}",
		     .valid_from = T0,
		     .created_at = T0,
		     .updated_at = T0};
	rf_plan b = a;
	b.id = new_id(c, "plan");
	b.name = "Gold";
	b.is_default = false;
	b.rules = "{\"gold\":true}";
	OK(rf_store_plan_insert(c->s, &a, E));
	OK(rf_store_plan_insert(c->s, &b, E));
	rf_plan got;
	OK(rf_store_plan_get(c->s, a.id, &got, &c->a, E));
	SAME(got.id, a.id);
	SAME(got.program_id, prog);
	SAME(got.name, "Default");
	assert_true(got.is_default);
	assert_int_equal(got.version, 1);
	SAME(got.rules, "{\"v\":1}");
	assert_int_equal(got.valid_from, T0);
	assert_int_equal(got.created_at, T0);
	assert_int_equal(got.updated_at, T0);
	OK(rf_store_plan_default(c->s, prog, &got, &c->a, E));
	SAME(got.id, a.id);
	FAILS(RF_ENOTFOUND, NULL, rf_store_plan_default(c->s, q, &got, &c->a, E));
	FAILS(RF_ENOTFOUND, NULL, rf_store_plan_get(c->s, "plan_missing", &got, &c->a, E));

	/* One default per program, on insert and on update. */
	rf_plan d = a;
	d.id = new_id(c, "plan");
	FAILS(RF_ECONFLICT, "default", rf_store_plan_insert(c->s, &d, E));
	d.program_id = q;
	OK(rf_store_plan_insert(c->s, &d, E));
	b.is_default = true;
	FAILS(RF_ECONFLICT, "default", rf_store_plan_update(c->s, &b, false, E));
	b.is_default = false;

	/* A new version from T0 + 10 days; the rules valid at a time are those of the latest version by then, and
	 * the first version's before it began. */
	a.version = 2;
	a.rules = "{\"v\":2}";
	a.valid_from = T0 + 10 * DAY;
	a.name = "Default 2026";
	a.updated_at = T0 + 10 * DAY;
	OK(rf_store_plan_update(c->s, &a, true, E));
	OK(rf_store_plan_get(c->s, a.id, &got, &c->a, E));
	SAME(got.name, "Default 2026");
	assert_int_equal(got.version, 2);
	SAME(got.rules, "{\"v\":2}");
	assert_int_equal(got.valid_from, T0 + 10 * DAY);
	assert_int_equal(got.updated_at, T0 + 10 * DAY);
	int64_t version = 0;
	char *rules = NULL;
	OK(rf_store_plan_rules_at(c->s, a.id, T0 - DAY, &version, &rules, &c->a, E));
	assert_int_equal(version, 1);
	SAME(rules, "{\"v\":1}");
	OK(rf_store_plan_rules_at(c->s, a.id, T0 + DAY, &version, &rules, &c->a, E));
	assert_int_equal(version, 1);
	OK(rf_store_plan_rules_at(c->s, a.id, T0 + 10 * DAY, &version, &rules, &c->a, E));
	assert_int_equal(version, 2);
	SAME(rules, "{\"v\":2}");
	OK(rf_store_plan_rules_at(c->s, a.id, T0 + 20 * DAY, &version, &rules, &c->a, E));
	assert_int_equal(version, 2);
	FAILS(RF_ENOTFOUND, "plan_id", rf_store_plan_rules_at(c->s, "plan_missing", T0, &version, &rules, &c->a, E));
	/* An update without a new version leaves the rules. */
	a.name = "Renamed";
	OK(rf_store_plan_update(c->s, &a, false, E));
	OK(rf_store_plan_get(c->s, a.id, &got, &c->a, E));
	SAME(got.name, "Renamed");
	SAME(got.rules, "{\"v\":2}");
	/* The default moves. */
	a.is_default = false;
	OK(rf_store_plan_update(c->s, &a, false, E));
	b.is_default = true;
	OK(rf_store_plan_update(c->s, &b, false, E));
	OK(rf_store_plan_default(c->s, prog, &got, &c->a, E));
	SAME(got.id, b.id);

	rf_page page = {.limit = 1};
	rf_plan *items;
	size_t n;
	bool more;
	OK(rf_store_plan_list(c->s, &page, prog, &items, &n, &more, &c->a, E));
	SAME(IDS(items, n, id), b.id);
	assert_true(more);
	page.starting_after = b.id;
	OK(rf_store_plan_list(c->s, &page, prog, &items, &n, &more, &c->a, E));
	SAME(IDS(items, n, id), a.id);
	assert_false(more);
	rf_page all = {.limit = 10};
	OK(rf_store_plan_list(c->s, &all, NULL, &items, &n, &more, &c->a, E));
	SAME(IDS(items, n, id), join(c, 3, d.id, b.id, a.id));
	page.starting_after = "plan_nope";
	FAILS(RF_EINVAL, "starting_after", rf_store_plan_list(c->s, &page, prog, &items, &n, &more, &c->a, E));
}

CASE(customers)
{
	ctx *c = *state;
	char *prog = add_program(c, "P");
	char *l1 = add_lead(c, prog, NULL, NULL, T0), *l2 = add_lead(c, prog, NULL, NULL, T0);
	char *l3 = add_lead(c, prog, NULL, NULL, T0);
	rf_customer c1 = {
	    .id = new_id(c, "cus"), .program_id = prog, .lead_id = l1, .external_id = "cus_1", .created_at = T0};
	OK(rf_store_customer_insert(c->s, &c1, E));
	rf_customer got;
	OK(rf_store_customer_find(c->s, prog, "lead_id", l1, &got, &c->a, E));
	SAME(got.id, c1.id);
	SAME(got.program_id, prog);
	SAME(got.lead_id, l1);
	SAME(got.external_id, "cus_1");
	assert_int_equal(got.first_sale_at, 0);
	assert_int_equal(got.created_at, T0);
	OK(rf_store_customer_find(c->s, prog, "external_id", "cus_1", &got, &c->a, E));
	SAME(got.id, c1.id);
	c1.external_id = "cus_1b";
	c1.first_sale_at = T0 + 5;
	OK(rf_store_customer_update(c->s, &c1, E));
	OK(rf_store_customer_find(c->s, prog, "external_id", "cus_1b", &got, &c->a, E));
	assert_int_equal(got.first_sale_at, T0 + 5);
	FAILS(RF_ENOTFOUND, NULL, rf_store_customer_find(c->s, prog, "external_id", "cus_1", &got, &c->a, E));
	FAILS(RF_ENOTFOUND, NULL, rf_store_customer_find(c->s, prog, "lead_id", l2, &got, &c->a, E));
	rf_customer c2 = {
	    .id = new_id(c, "cus"), .program_id = prog, .lead_id = l2, .external_id = "cus_1b", .created_at = T0};
	FAILS(raced(c), "customer_external_id", rf_store_customer_insert(c->s, &c2, E));
	rf_customer again = {.id = new_id(c, "cus"), .program_id = prog, .lead_id = l1, .created_at = T0};
	FAILS(raced(c), "lead_id", rf_store_customer_insert(c->s, &again, E));
	rf_customer c3 = {.id = new_id(c, "cus"), .program_id = prog, .lead_id = l3, .created_at = T0};
	OK(rf_store_customer_insert(c->s, &c3, E));
	OK(rf_store_customer_find(c->s, prog, "lead_id", l3, &got, &c->a, E));
	assert_null(got.external_id);
	c3.external_id = "cus_1b";
	FAILS(RF_ECONFLICT, "customer_external_id", rf_store_customer_update(c->s, &c3, E));
}

CASE(sales_round_trip)
{
	ctx *c = *state;
	char *prog = add_program(c, "P");
	char *org = add_partner(c, prog, "Org", "partner", NULL);
	char *agent = add_partner(c, prog, "Agent", "agent", org);
	char *lead = add_lead(c, prog, org, agent, T0);
	char *cus = add_customer(c, prog, lead, T0);
	rf_sale s1 = sale_of(c, prog, cus, lead, org, 12345, T0 + 1);
	s1.agent_id = agent;
	memcpy(s1.currency, "EUR", 4);
	s1.has_program_amount = false;
	s1.external_id = "inv_1";
	s1.charge_id = "ch_1";
	s1.kind = "recurring";
	s1.note = "no plan matched";
	s1.metadata = "{\"sku\":\"A-1\"}";
	s1.source = "paddle";
	s1.method = "coupon";
	s1.coupon = "ACME20";
	s1.source_event_id = "evt_01kdrefd";
	s1.created_at = T0 + 2;
	OK(rf_store_sale_insert(c->s, &s1, E));
	rf_sale got;
	OK(rf_store_sale_get(c->s, s1.id, &got, &c->a, E));
	same_sale(&got, &s1);
	FAILS(RF_ENOTFOUND, NULL, rf_store_sale_get(c->s, "sale_missing", &got, &c->a, E));

	/* Found by external id, or by the charge that paid it (before a sale whose external id is that text). */
	rf_sale s2 = sale_of(c, prog, cus, lead, org, 1000, T0 + 3);
	s2.external_id = "ch_9";
	OK(rf_store_sale_insert(c->s, &s2, E));
	rf_sale s3 = sale_of(c, prog, cus, lead, org, 2000, T0 + 4);
	s3.charge_id = "ch_9";
	OK(rf_store_sale_insert(c->s, &s3, E));
	OK(rf_store_sale_find(c->s, prog, "inv_1", false, &got, &c->a, E));
	SAME(got.id, s1.id);
	OK(rf_store_sale_find(c->s, prog, "ch_9", true, &got, &c->a, E));
	SAME(got.id, s3.id);
	OK(rf_store_sale_find(c->s, prog, "ch_9", false, &got, &c->a, E));
	SAME(got.id, s2.id);
	OK(rf_store_sale_find(c->s, prog, "inv_1", true, &got, &c->a, E));
	SAME(got.id, s1.id);
	FAILS(RF_ENOTFOUND, NULL, rf_store_sale_find(c->s, prog, "ch_none", true, &got, &c->a, E));

	rf_sale s4 = sale_of(c, prog, cus, lead, org, 3000, T0 + 5);
	s4.has_program_amount = false;
	OK(rf_store_sale_insert(c->s, &s4, E));
	rf_sale *items;
	size_t n;
	OK(rf_store_sales_unconverted(c->s, 10, &items, &n, &c->a, E));
	SAME(IDS(items, n, id), join(c, 2, s1.id, s4.id));
	OK(rf_store_sales_unconverted(c->s, 1, &items, &n, &c->a, E));
	SAME(IDS(items, n, id), s1.id);
	/* The program's amount is recorded once. */
	OK(rf_store_sale_set_program_amount(c->s, s1.id, 13000, E));
	OK(rf_store_sale_set_program_amount(c->s, s1.id, 99999, E));
	OK(rf_store_sale_get(c->s, s1.id, &got, &c->a, E));
	assert_true(got.has_program_amount);
	assert_int_equal(got.program_amount, 13000);
	OK(rf_store_sales_unconverted(c->s, 10, &items, &n, &c->a, E));
	SAME(IDS(items, n, id), s4.id);
	OK(rf_store_sale_set_refunded(c->s, s1.id, 2000, 345, E));
	OK(rf_store_sale_get(c->s, s1.id, &got, &c->a, E));
	assert_int_equal(got.refunded, 2000);
	assert_int_equal(got.disputed, 345);

	rf_sale dup = sale_of(c, prog, cus, lead, org, 1, T0);
	dup.external_id = "inv_1";
	FAILS(raced(c), "external_id", rf_store_sale_insert(c->s, &dup, E));
}

static char *sale_ids(ctx *c, const rf_sale_filter *f, bool *more)
{
	rf_sale *items = NULL;
	size_t n = 0;
	bool m = false;
	OK(rf_store_sale_list(c->s, f, &items, &n, more ? more : &m, &c->a, E));
	return IDS(items, n, id);
}

CASE(sale_list_volume_and_counts)
{
	ctx *c = *state;
	char *prog = add_program(c, "P"), *q = add_program(c, "Q");
	char *org = add_partner(c, prog, "Org", "partner", NULL);
	char *agent = add_partner(c, prog, "Agent", "agent", org);
	char *other = add_partner(c, prog, "Other", "partner", NULL);
	char *inq = add_partner(c, q, "In Q", "partner", NULL);
	char *l1 = add_lead(c, prog, org, NULL, T0), *l2 = add_lead(c, prog, other, NULL, T0);
	char *l3 = add_lead(c, q, inq, NULL, T0);
	char *cu1 = add_customer(c, prog, l1, T0), *cu2 = add_customer(c, prog, l2, T0),
	     *cu3 = add_customer(c, q, l3, T0);
	char *x1 = add_sale(c, prog, cu1, l1, org, 1000, T0);
	rf_sale s2 = sale_of(c, prog, cu1, l1, org, 2000, T0 + DAY);
	s2.agent_id = agent;
	OK(rf_store_sale_insert(c->s, &s2, E));
	rf_sale s3 = sale_of(c, prog, cu2, l2, other, 3000, T0 + 2 * DAY);
	s3.has_program_amount = false;
	OK(rf_store_sale_insert(c->s, &s3, E));
	char *x4 = add_sale(c, q, cu3, l3, inq, 4000, T0);

	rf_sale_filter f = {.page = {.limit = 100}, .program_id = prog};
	SAME(sale_ids(c, &f, NULL), join(c, 3, s3.id, s2.id, x1));
	f.oldest_first = true;
	SAME(sale_ids(c, &f, NULL), join(c, 3, x1, s2.id, s3.id));
	f.oldest_first = false;
	f.partner_id = org;
	SAME(sale_ids(c, &f, NULL), join(c, 2, s2.id, x1));
	f.partner_id = NULL;
	f.customer_id = cu2;
	SAME(sale_ids(c, &f, NULL), s3.id);
	f.customer_id = NULL;
	f.scope_id = agent;
	SAME(sale_ids(c, &f, NULL), s2.id);
	f.scope_id = org;
	SAME(sale_ids(c, &f, NULL), join(c, 2, s2.id, x1));
	f.scope_id = NULL;
	f.from = T0 + DAY;
	f.to = T0 + 2 * DAY;
	SAME(sale_ids(c, &f, NULL), s2.id);
	rf_sale_filter any = {.page = {.limit = 100}};
	SAME(sale_ids(c, &any, NULL), join(c, 4, x4, s3.id, s2.id, x1));

	bool more = false;
	rf_sale_filter pf = {.page = {.limit = 2}, .program_id = prog, .oldest_first = true};
	SAME(sale_ids(c, &pf, &more), join(c, 2, x1, s2.id));
	assert_true(more);
	pf.page.starting_after = s2.id;
	SAME(sale_ids(c, &pf, &more), s3.id);
	assert_false(more);
	rf_sale_filter nf = {.page = {.limit = 2}, .program_id = prog};
	SAME(sale_ids(c, &nf, &more), join(c, 2, s3.id, s2.id));
	assert_true(more);
	nf.page.starting_after = s2.id;
	SAME(sale_ids(c, &nf, &more), x1);
	assert_false(more);
	nf.page.starting_after = "sale_nope";
	rf_sale *items;
	size_t n;
	FAILS(RF_EINVAL, "starting_after", rf_store_sale_list(c->s, &nf, &items, &n, &more, &c->a, E));

	int64_t v = -1;
	OK(rf_store_sale_volume(c->s, org, T0, T0 + 3 * DAY, T0 + 3 * DAY, false, &v, E));
	assert_int_equal(v, 2);
	OK(rf_store_sale_volume(c->s, org, T0, T0 + 3 * DAY, T0 + 3 * DAY, true, &v, E));
	assert_int_equal(v, 3000);
	OK(rf_store_sale_volume(c->s, org, T0, T0 + 3 * DAY, T0, true, &v, E));
	assert_int_equal(v, 1000);
	OK(rf_store_sale_volume(c->s, org, T0 + DAY, T0 + 3 * DAY, T0 + 3 * DAY, false, &v, E));
	assert_int_equal(v, 1);
	OK(rf_store_sale_volume(c->s, other, T0, T0 + 3 * DAY, T0 + 3 * DAY, true, &v, E));
	assert_int_equal(v, 0); /* its one sale has no amount in the program's currency yet */
	OK(rf_store_sale_volume(c->s, other, T0, T0 + 3 * DAY, T0 + 3 * DAY, false, &v, E));
	assert_int_equal(v, 1);
	OK(rf_store_sale_count_customer(c->s, cu1, T0, &v, E));
	assert_int_equal(v, 1);
	OK(rf_store_sale_count_customer(c->s, cu1, T0 + DAY, &v, E));
	assert_int_equal(v, 2);
	OK(rf_store_sale_count_customer(c->s, cu1, T0 - 1, &v, E));
	assert_int_equal(v, 0);
}

CASE(refunds)
{
	ctx *c = *state;
	char *prog = add_program(c, "P"), *q = add_program(c, "Q");
	char *ptn = add_partner(c, prog, "Org", "partner", NULL), *inq = add_partner(c, q, "In Q", "partner", NULL);
	char *lead = add_lead(c, prog, ptn, NULL, T0), *lq = add_lead(c, q, inq, NULL, T0);
	char *cus = add_customer(c, prog, lead, T0), *cq = add_customer(c, q, lq, T0);
	char *sale = add_sale(c, prog, cus, lead, ptn, 10000, T0), *sq = add_sale(c, q, cq, lq, inq, 500, T0);
	rf_refund r1 = {.id = new_id(c, "ref"),
			.program_id = prog,
			.sale_id = sale,
			.kind = "refund",
			.amount = 1000,
			.currency = "USD",
			.prior = 0,
			.external_id = "re_1",
			.reason = "requested_by_customer",
			.source = "chargebee",
			.source_event_id = "ev_Azz4",
			.occurred_at = T0 + DAY,
			.created_at = T0 + DAY + 1};
	rf_refund r2 = {.id = new_id(c, "ref"),
			.program_id = prog,
			.sale_id = sale,
			.kind = "dispute",
			.amount = 500,
			.currency = "USD",
			.prior = 1000,
			.has_program_amount = true,
			.program_amount = 450,
			.occurred_at = T0 + 2 * DAY,
			.created_at = T0 + 2 * DAY};
	rf_refund r3 = r2;
	r3.id = new_id(c, "ref");
	r3.program_id = q;
	r3.sale_id = sq;
	r3.prior = 0;
	OK(rf_store_refund_insert(c->s, &r1, E));
	/* As the service does after each refund: the sale's given-back totals, which the next refund starts from. */
	OK(rf_store_sale_set_refunded(c->s, sale, 1000, 0, E));
	if (c->bk->kind == BK_POSTGRES) {
		/* Computed from the sale as it was before r1: another refund was recorded since, so run again. */
		rf_refund stale = r2;
		stale.id = new_id(c, "ref");
		stale.prior = 0;
		FAILS(RF_ERETRY, "amount", rf_store_refund_insert(c->s, &stale, E));
	}
	OK(rf_store_refund_insert(c->s, &r2, E));
	OK(rf_store_refund_insert(c->s, &r3, E));
	rf_refund got;
	OK(rf_store_refund_get(c->s, r1.id, &got, &c->a, E));
	same_refund(&got, &r1);
	OK(rf_store_refund_get(c->s, r2.id, &got, &c->a, E));
	same_refund(&got, &r2);
	FAILS(RF_ENOTFOUND, NULL, rf_store_refund_get(c->s, "ref_missing", &got, &c->a, E));
	rf_refund *items;
	size_t n;
	OK(rf_store_refund_list(c->s, sale, &items, &n, &c->a, E));
	SAME(IDS(items, n, id), join(c, 2, r1.id, r2.id));
	OK(rf_store_refund_find(c->s, prog, "re_1", &got, &c->a, E));
	SAME(got.id, r1.id);
	FAILS(RF_ENOTFOUND, NULL, rf_store_refund_find(c->s, q, "re_1", &got, &c->a, E));
	OK(rf_store_refund_range(c->s, prog, T0, T0 + 3 * DAY, 10, &items, &n, &c->a, E));
	SAME(IDS(items, n, id), join(c, 2, r1.id, r2.id));
	OK(rf_store_refund_range(c->s, prog, T0, T0 + 3 * DAY, 1, &items, &n, &c->a, E));
	SAME(IDS(items, n, id), r1.id);
	OK(rf_store_refund_range(c->s, prog, T0 + 2 * DAY, T0 + 3 * DAY, 10, &items, &n, &c->a, E));
	SAME(IDS(items, n, id), r2.id);
	OK(rf_store_refund_set_program_amount(c->s, r1.id, 900, E));
	OK(rf_store_refund_set_program_amount(c->s, r1.id, 1, E));
	OK(rf_store_refund_get(c->s, r1.id, &got, &c->a, E));
	assert_true(got.has_program_amount);
	assert_int_equal(got.program_amount, 900);
	rf_refund dup = r2;
	dup.id = new_id(c, "ref");
	dup.external_id = "re_1";
	FAILS(raced(c), "external_id", rf_store_refund_insert(c->s, &dup, E));
}

/* ---- the commission ledger and FX ---- */

CASE(commission_ledger)
{
	ctx *c = *state;
	char *prog = add_program(c, "P");
	char *plan = add_plan(c, prog, true);
	char *ptn = add_partner(c, prog, "Org", "partner", NULL);
	char *lead = add_lead(c, prog, ptn, NULL, T0);
	char *cus = add_customer(c, prog, lead, T0);
	char *sale = add_sale(c, prog, cus, lead, ptn, 10000, T0);
	rf_commission e = commission_of(c, prog, ptn, "pending", 2000, "USD", T0 + 1);
	e.level = 0;
	e.basis = "percent";
	e.event_id = sale;
	e.lead_id = lead;
	e.sale_id = sale;
	e.plan_id = plan;
	e.plan_version = 1;
	e.base_amount = 10000;
	e.has_rate = true;
	e.rate_bps = 2000;
	e.has_fx = true;
	e.fx_rate_ppb = 1000000000;
	e.hold_until = T0 + 30 * DAY;
	e.detail = "{\"rule\":\"sale 20 %\"}";
	e.created_at = T0 + 2;
	e.updated_at = T0 + 3;
	OK(rf_store_commission_insert(c->s, &e, "system", E));
	rf_commission got;
	OK(rf_store_commission_get(c->s, e.id, &got, &c->a, E));
	same_commission(&got, &e);
	FAILS(RF_ENOTFOUND, NULL, rf_store_commission_get(c->s, "com_missing", &got, &c->a, E));
	rf_commission_event *ev;
	size_t n;
	OK(rf_store_commission_events(c->s, e.id, &ev, &n, &c->a, E));
	assert_int_equal(n, 1);
	assert_null(ev[0].from_status);
	SAME(ev[0].to_status, "pending");
	SAME(ev[0].actor, "system");
	assert_int_equal(ev[0].at, T0 + 2);

	/* A status changes once, from the one its caller saw. */
	OK(rf_store_commission_set_status(c->s, &got, "approved", "the holding period ended", "job", T0 + 30 * DAY, E));
	FAILS(RF_ECONFLICT, "status",
	      rf_store_commission_set_status(c->s, &got, "rejected", "late", "usr_1", T0 + 31 * DAY, E));
	rf_commission now;
	OK(rf_store_commission_get(c->s, e.id, &now, &c->a, E));
	SAME(now.status, "approved");
	SAME(now.status_reason, "the holding period ended");
	assert_int_equal(now.updated_at, T0 + 30 * DAY);
	assert_int_equal(now.amount, 2000);
	OK(rf_store_commission_events(c->s, e.id, &ev, &n, &c->a, E));
	assert_int_equal(n, 2);
	SAME(ev[1].from_status, "pending");
	SAME(ev[1].to_status, "approved");
	SAME(ev[1].actor, "job");
	SAME(ev[1].reason, "the holding period ended");
	assert_int_equal(ev[1].at, T0 + 30 * DAY);

	/* The same fact has one entry. */
	rf_commission dup = commission_of(c, prog, ptn, "pending", 1, "USD", T0);
	dup.dedupe = e.dedupe;
	FAILS(RF_ECONFLICT, "dedupe", rf_store_commission_insert(c->s, &dup, "system", E));

	/* An entry held for a missing FX rate gets its amount once. */
	rf_commission held = commission_of(c, prog, ptn, "held", 0, "EUR", T0 + DAY);
	held.has_amount = false;
	held.earned = 5000;
	memcpy(held.earned_currency, "USD", 4);
	held.base_amount = 5000;
	memcpy(held.base_currency, "USD", 4);
	held.fx_missing = true;
	held.status_reason = "no USD/EUR rate yet";
	OK(rf_store_commission_insert(c->s, &held, "system", E));
	OK(rf_store_commission_get(c->s, held.id, &got, &c->a, E));
	same_commission(&got, &held);
	OK(rf_store_commission_fill_fx(c->s, &got, 920000000, true, 4600, "pending", "job", T0 + 2 * DAY, E));
	FAILS(RF_ECONFLICT, "status",
	      rf_store_commission_fill_fx(c->s, &got, 930000000, false, 4650, "pending", "job", T0 + 3 * DAY, E));
	OK(rf_store_commission_get(c->s, held.id, &now, &c->a, E));
	assert_true(now.has_amount);
	assert_int_equal(now.amount, 4600);
	assert_true(now.has_fx);
	assert_int_equal(now.fx_rate_ppb, 920000000);
	assert_true(now.fx_inverse);
	SAME(now.status, "pending");
	assert_null(now.status_reason);
	assert_false(now.fx_missing);
	assert_int_equal(now.updated_at, T0 + 2 * DAY);
	OK(rf_store_commission_events(c->s, held.id, &ev, &n, &c->a, E));
	assert_int_equal(n, 2);
	SAME(ev[1].from_status, "held");
	SAME(ev[1].to_status, "pending");
	/* What it earned counts once, on its event's day. */
	rf_metrics total;
	OK(rf_store_rollup_total_before(c->s, prog, rf_arena_printf(&c->a, "p:%s", ptn), "EUR", D0 + 10, &total, E));
	assert_int_equal(total.v[RF_M_EARNED], 4600);
}

/* How many ids a list of them (IDS) holds. */
static size_t count_ids(const char *ids)
{
	size_t n = *ids ? 1 : 0;
	for (const char *p = ids; *p; p++)
		n += *p == ' ';
	return n;
}

static char *commission_ids(ctx *c, const rf_commission_filter *f, bool *more)
{
	rf_commission *items = NULL;
	size_t n = 0;
	bool m = false;
	OK(rf_store_commission_list(c->s, f, &items, &n, more ? more : &m, &c->a, E));
	return IDS(items, n, id);
}

CASE(commission_list_filters_and_pages)
{
	ctx *c = *state;
	char *prog = add_program(c, "P"), *q = add_program(c, "Q");
	char *plan_a = add_plan(c, prog, true), *plan_b = add_plan(c, prog, false);
	char *org = add_partner(c, prog, "Org", "partner", NULL);
	char *agent = add_partner(c, prog, "Agent", "agent", org);
	char *other = add_partner(c, prog, "Other", "partner", NULL);
	char *inq = add_partner(c, q, "In Q", "partner", NULL);
	char *l1 = add_lead(c, prog, org, NULL, T0), *l2 = add_lead(c, prog, other, NULL, T0);
	char *cus = add_customer(c, prog, l1, T0);
	char *s1 = add_sale(c, prog, cus, l1, org, 1000, T0);

	rf_commission e1 = commission_of(c, prog, org, "pending", 100, "USD", T0);
	e1.sale_id = s1;
	e1.lead_id = l1;
	e1.plan_id = plan_a;
	e1.hold_until = T0 + 10 * DAY;
	rf_commission e2 = commission_of(c, prog, agent, "approved", 50, "USD", T0 + DAY);
	e2.role = "agent";
	e2.sale_id = s1;
	rf_commission e3 = commission_of(c, prog, other, "pending", 30, "USD", T0 + 2 * DAY);
	e3.rule = "lead";
	e3.event_type = "lead";
	e3.lead_id = l2;
	e3.plan_id = plan_b;
	e3.hold_until = T0 + 40 * DAY;
	rf_commission e4 = commission_of(c, prog, org, "pending", -100, "USD", T0 + 3 * DAY);
	e4.rule = "reversal";
	e4.basis = "reversal";
	e4.event_type = "refund";
	e4.reverses_id = e1.id;
	e4.hold_until = T0 + 30 * DAY;
	rf_commission e5 = commission_of(c, prog, other, "held", 0, "EUR", T0 + 4 * DAY);
	e5.has_amount = false;
	e5.fx_missing = true;
	rf_commission e6 = commission_of(c, q, inq, "pending", 10, "USD", T0);
	rf_commission *all[] = {&e1, &e2, &e3, &e4, &e5, &e6};
	for (int i = 0; i < 6; i++)
		OK(rf_store_commission_insert(c->s, all[i], "system", E));

	rf_commission_filter f = {.page = {.limit = 100}, .program_id = prog};
	SAME(commission_ids(c, &f, NULL), join(c, 5, e5.id, e4.id, e3.id, e2.id, e1.id));
	f.oldest_first = true;
	SAME(commission_ids(c, &f, NULL), join(c, 5, e1.id, e2.id, e3.id, e4.id, e5.id));
	f.oldest_first = false;
	f.partner_id = org;
	SAME(commission_ids(c, &f, NULL), join(c, 2, e4.id, e1.id));
	f.partner_id = NULL;
	f.sale_id = s1;
	SAME(commission_ids(c, &f, NULL), join(c, 2, e2.id, e1.id));
	f.sale_id = NULL;
	f.lead_id = l2;
	SAME(commission_ids(c, &f, NULL), e3.id);
	f.lead_id = NULL;
	f.status = "pending";
	SAME(commission_ids(c, &f, NULL), join(c, 3, e4.id, e3.id, e1.id));
	f.status = NULL;
	f.reverses_id = e1.id;
	SAME(commission_ids(c, &f, NULL), e4.id);
	f.reverses_id = NULL;
	f.plan_id = plan_a;
	SAME(commission_ids(c, &f, NULL), e1.id);
	f.plan_id = NULL;
	f.role = "agent";
	SAME(commission_ids(c, &f, NULL), e2.id);
	f.role = NULL;
	f.scope_id = org;
	SAME(commission_ids(c, &f, NULL), join(c, 3, e4.id, e2.id, e1.id));
	f.scope_id = NULL;
	f.originals_only = true;
	SAME(commission_ids(c, &f, NULL), join(c, 4, e5.id, e3.id, e2.id, e1.id));
	f.originals_only = false;
	f.fx_missing_only = true;
	SAME(commission_ids(c, &f, NULL), e5.id);
	f.fx_missing_only = false;
	f.due_before = T0 + 20 * DAY;
	SAME(commission_ids(c, &f, NULL), e1.id);
	f.due_before = 0;
	/* The holding-period job's claim: the same due entries, locked; where transactions write at once, one that
	 * another transaction holds is passed over. */
	rf_commission *due = NULL;
	size_t ndue = 0;
	OK(rf_store_begin(c->s, E));
	OK(rf_store_commission_claim_due(c->s, T0 + 20 * DAY, 10, &due, &ndue, &c->a, E));
	/* Every program's due entries, the longest due first: the same as the list of due entries, in any order. */
	rf_commission_filter every_due = {.page = {.limit = 100}, .due_before = T0 + 20 * DAY, .oldest_first = true};
	char *listed = commission_ids(c, &every_due, NULL);
	assert_int_equal(ndue, count_ids(listed));
	for (size_t i = 0; i < ndue; i++)
		assert_non_null(strstr(listed, due[i].id));
	assert_non_null(strstr(IDS(due, ndue, id), e1.id));
	rf_store_rollback(c->s);
	if (c->bk->kind == BK_POSTGRES) {
		c->raw_pg = PQconnectdb(c->location);
		assert_int_equal(PQstatus(c->raw_pg), CONNECTION_OK);
		const char *vals[1] = {e1.id};
		PQclear(PQexec(c->raw_pg, "BEGIN"));
		PGresult *r = PQexecParams(c->raw_pg, "SELECT 1 FROM commissions WHERE id = $1 FOR UPDATE", 1, NULL,
					   vals, NULL, NULL, 0);
		assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
		PQclear(r);
		OK(rf_store_begin(c->s, E));
		OK(rf_store_commission_claim_due(c->s, T0 + 20 * DAY, 10, &due, &ndue, &c->a, E));
		assert_null(strstr(IDS(due, ndue, id), e1.id));
		rf_store_rollback(c->s);
		PQclear(PQexec(c->raw_pg, "ROLLBACK"));
	}
	f.event_from = T0 + DAY;
	f.event_to = T0 + 3 * DAY;
	SAME(commission_ids(c, &f, NULL), join(c, 2, e3.id, e2.id));
	rf_commission_filter any = {.page = {.limit = 100}, .partner_id = inq};
	SAME(commission_ids(c, &any, NULL), e6.id);

	bool more = false;
	rf_commission_filter pf = {.page = {.limit = 2}, .program_id = prog, .oldest_first = true};
	SAME(commission_ids(c, &pf, &more), join(c, 2, e1.id, e2.id));
	assert_true(more);
	pf.page.starting_after = e2.id;
	SAME(commission_ids(c, &pf, &more), join(c, 2, e3.id, e4.id));
	assert_true(more);
	pf.page.starting_after = e4.id;
	SAME(commission_ids(c, &pf, &more), e5.id);
	assert_false(more);
	rf_commission_filter nf = {.page = {.limit = 3}, .program_id = prog};
	SAME(commission_ids(c, &nf, &more), join(c, 3, e5.id, e4.id, e3.id));
	assert_true(more);
	nf.page.starting_after = e3.id;
	SAME(commission_ids(c, &nf, &more), join(c, 2, e2.id, e1.id));
	assert_false(more);
	nf.page.starting_after = "com_nope";
	rf_commission *items;
	size_t n;
	FAILS(RF_EINVAL, "starting_after", rf_store_commission_list(c->s, &nf, &items, &n, &more, &c->a, E));
}

CASE(commission_balance)
{
	ctx *c = *state;
	char *prog = add_program(c, "P");
	char *ptn = add_partner(c, prog, "Org", "partner", NULL), *other = add_partner(c, prog, "O", "partner", NULL);
	add_commission(c, prog, ptn, "pending", 100, "USD", T0);
	add_commission(c, prog, ptn, "pending", 50, "USD", T0);
	add_commission(c, prog, ptn, "held", 70, "USD", T0);
	add_commission(c, prog, ptn, "approved", 200, "USD", T0);
	rf_commission paid = add_commission(c, prog, ptn, "approved", 300, "USD", T0);
	OK(rf_store_commission_set_status(c->s, &paid, "paid", NULL, "job", T0 + DAY, E));
	rf_commission rej = add_commission(c, prog, ptn, "pending", 999, "USD", T0);
	OK(rf_store_commission_set_status(c->s, &rej, "rejected", "fraud", "usr_1", T0 + DAY, E));
	rf_commission none = commission_of(c, prog, ptn, "held", 0, "USD", T0);
	none.has_amount = false;
	OK(rf_store_commission_insert(c->s, &none, "system", E));
	add_commission(c, prog, ptn, "approved", 40, "EUR", T0);
	add_commission(c, prog, ptn, "pending", -10, "EUR", T0);
	rf_balance b[4];
	size_t n = 0;
	OK(rf_store_commission_balance(c->s, ptn, b, 4, &n, E));
	assert_int_equal(n, 2);
	SAME(b[0].currency, "EUR");
	assert_int_equal(b[0].pending, -10);
	assert_int_equal(b[0].held, 0);
	assert_int_equal(b[0].approved, 40);
	assert_int_equal(b[0].paid, 0);
	SAME(b[1].currency, "USD");
	assert_int_equal(b[1].pending, 150);
	assert_int_equal(b[1].held, 70);
	assert_int_equal(b[1].approved, 200);
	assert_int_equal(b[1].paid, 300);
	OK(rf_store_commission_balance(c->s, ptn, b, 1, &n, E));
	assert_int_equal(n, 1);
	SAME(b[0].currency, "EUR");
	OK(rf_store_commission_balance(c->s, other, b, 4, &n, E));
	assert_int_equal(n, 0);
}

CASE(fx_rates)
{
	ctx *c = *state;
	rf_fx_rate r1 = {.base = "USD", .quote = "EUR", .valid_from = T0, .rate_ppb = 900000000, .created_at = T0};
	rf_fx_rate r2 = {
	    .base = "USD", .quote = "EUR", .valid_from = T0 + 10 * DAY, .rate_ppb = 920000000, .created_at = T0 + 1};
	rf_fx_rate r3 = {.base = "GBP", .quote = "USD", .valid_from = T0, .rate_ppb = 1270000000, .created_at = T0 + 2};
	OK(rf_store_fx_put(c->s, &r1, E));
	OK(rf_store_fx_put(c->s, &r2, E));
	OK(rf_store_fx_put(c->s, &r3, E));
	r1.rate_ppb = 910000000; /* the same pair and time: replaced */
	r1.created_at = T0 + 3;
	OK(rf_store_fx_put(c->s, &r1, E));
	rf_fx_rate got;
	OK(rf_store_fx_at(c->s, "USD", "EUR", T0 + 5 * DAY, &got, E));
	SAME(got.base, "USD");
	SAME(got.quote, "EUR");
	assert_int_equal(got.valid_from, T0);
	assert_int_equal(got.rate_ppb, 910000000);
	assert_int_equal(got.created_at, T0 + 3);
	OK(rf_store_fx_at(c->s, "USD", "EUR", T0 + 10 * DAY, &got, E));
	assert_int_equal(got.rate_ppb, 920000000);
	FAILS(RF_ENOTFOUND, NULL, rf_store_fx_at(c->s, "USD", "EUR", T0 - 1, &got, E));
	FAILS(RF_ENOTFOUND, NULL, rf_store_fx_at(c->s, "EUR", "USD", T0 + DAY, &got, E));
	rf_fx_rate *items;
	size_t n;
	bool more;
	OK(rf_store_fx_list(c->s, "USD", "EUR", 10, &items, &n, &more, &c->a, E));
	assert_int_equal(n, 2);
	assert_false(more);
	assert_int_equal(items[0].valid_from, T0 + 10 * DAY);
	assert_int_equal(items[1].valid_from, T0);
	OK(rf_store_fx_list(c->s, NULL, NULL, 10, &items, &n, &more, &c->a, E));
	assert_int_equal(n, 3);
	SAME(items[0].base, "GBP");
	SAME(items[1].base, "USD");
	assert_int_equal(items[1].valid_from, T0 + 10 * DAY);
	OK(rf_store_fx_list(c->s, NULL, "USD", 10, &items, &n, &more, &c->a, E));
	assert_int_equal(n, 1);
	OK(rf_store_fx_list(c->s, NULL, NULL, 1, &items, &n, &more, &c->a, E));
	assert_int_equal(n, 1);
	assert_true(more);
}

CASE(stripe_events)
{
	ctx *c = *state;
	char *prog = add_program(c, "P"), *q = add_program(c, "Q");
	OK(rf_store_stripe_event_add(c->s, prog, "evt_1", "invoice.paid", "sale", "sale_1", T0, E));
	OK(rf_store_stripe_event_add(c->s, prog, "evt_2", "customer.created", "ignored", NULL, T0, E));
	char *outcome = NULL, *object = NULL;
	OK(rf_store_stripe_event_get(c->s, prog, "evt_1", &outcome, &object, &c->a, E));
	SAME(outcome, "sale");
	SAME(object, "sale_1");
	OK(rf_store_stripe_event_get(c->s, prog, "evt_2", &outcome, &object, &c->a, E));
	SAME(outcome, "ignored");
	assert_null(object);
	FAILS(raced(c), "event_id",
	      rf_store_stripe_event_add(c->s, prog, "evt_1", "invoice.paid", "sale", NULL, T0, E));
	OK(rf_store_stripe_event_add(c->s, q, "evt_1", "invoice.paid", "sale", "sale_9", T0, E));
	FAILS(RF_ENOTFOUND, "event_id", rf_store_stripe_event_get(c->s, prog, "evt_3", &outcome, &object, &c->a, E));
}

/* ---- payouts ---- */

static char *add_named_partner(ctx *c, const char *program, const char *id)
{
	rf_partner p = partner_of(c, program, id);
	p.id = (char *)id;
	OK(rf_store_partner_insert(c->s, &p, E));
	return p.id;
}

static rf_payout_item item_of(ctx *c, const char *run, const char *partner, int64_t amount, const char *currency,
			      int64_t entries)
{
	rf_payout_item it = {.id = new_id(c, "poi"),
			     .run_id = (char *)run,
			     .partner_id = (char *)partner,
			     .amount = amount,
			     .entries = entries,
			     .status = "pending",
			     .created_at = T0 + 10 * DAY,
			     .updated_at = T0 + 10 * DAY};
	snprintf(it.currency, 4, "%s", currency);
	return it;
}

static rf_payout_run run_of(ctx *c, const char *program, int64_t cutoff)
{
	rf_payout_run r = {.id = new_id(c, "po"),
			   .program_id = (char *)program,
			   .status = "draft",
			   .cutoff = cutoff,
			   .left_out = "[{\"partner_id\":\"ptn_x\",\"reason\":\"below the threshold\"}]",
			   .created_by = "usr_1",
			   .created_at = T0 + 10 * DAY,
			   .updated_at = T0 + 10 * DAY};
	return r;
}

CASE(payout_runs_items_and_locks)
{
	ctx *c = *state;
	char *prog = add_program(c, "P");
	char *a = add_named_partner(c, prog, "ptn_aaaa"), *b = add_named_partner(c, prog, "ptn_bbbb");
	rf_commission a1 = add_commission(c, prog, a, "approved", 1000, "USD", T0);
	rf_commission a2 = add_commission(c, prog, a, "approved", 500, "USD", T0 + DAY);
	add_commission(c, prog, a, "approved", 300, "EUR", T0);
	add_commission(c, prog, a, "pending", 9999, "USD", T0);
	add_commission(c, prog, b, "approved", 700, "USD", T0 + 5 * DAY);

	rf_payout_group *g;
	size_t n;
	OK(rf_store_payout_groups(c->s, prog, T0 + 2 * DAY, 10, &g, &n, &c->a, E));
	assert_int_equal(n, 2);
	SAME(g[0].partner_id, a);
	SAME(g[0].currency, "EUR");
	assert_int_equal(g[0].amount, 300);
	assert_int_equal(g[0].entries, 1);
	SAME(g[1].currency, "USD");
	assert_int_equal(g[1].amount, 1500);
	assert_int_equal(g[1].entries, 2);
	OK(rf_store_payout_groups(c->s, prog, T0 + 10 * DAY, 10, &g, &n, &c->a, E));
	assert_int_equal(n, 3);
	SAME(g[2].partner_id, b);
	assert_int_equal(g[2].amount, 700);
	OK(rf_store_payout_groups(c->s, prog, T0 + 10 * DAY, 1, &g, &n, &c->a, E));
	assert_int_equal(n, 1);

	rf_payout_run r1 = run_of(c, prog, T0 + 10 * DAY), r2 = run_of(c, prog, T0 + 10 * DAY);
	r2.created_at = r2.updated_at = T0 + 11 * DAY;
	OK(rf_store_payout_run_insert(c->s, &r1, E));
	rf_payout_run rg;
	OK(rf_store_payout_run_get(c->s, r1.id, &rg, &c->a, E));
	SAME(rg.id, r1.id);
	SAME(rg.program_id, prog);
	SAME(rg.status, "draft");
	assert_int_equal(rg.cutoff, T0 + 10 * DAY);
	SAME(rg.left_out, r1.left_out);
	SAME(rg.created_by, "usr_1");
	assert_null(rg.approved_by);
	assert_int_equal(rg.created_at, T0 + 10 * DAY);
	assert_int_equal(rg.approved_at, 0);
	FAILS(RF_ENOTFOUND, NULL, rf_store_payout_run_get(c->s, "po_missing", &rg, &c->a, E));
	rf_payout_item i1 = item_of(c, r1.id, a, 1500, "USD", 2), i2 = item_of(c, r1.id, a, 300, "EUR", 1),
		       i3 = item_of(c, r1.id, b, 700, "USD", 1);
	OK(rf_store_payout_item_insert(c->s, &i1, prog, r1.cutoff, E));
	OK(rf_store_payout_item_insert(c->s, &i2, prog, r1.cutoff, E));
	OK(rf_store_payout_item_insert(c->s, &i3, prog, r1.cutoff, E));
	rf_payout_item dupi = item_of(c, r1.id, a, 1, "USD", 0);
	FAILS(RF_ECONFLICT, "partner_id", rf_store_payout_item_insert(c->s, &dupi, prog, r1.cutoff, E));
	/* A second draft takes the same entries; only one run can lock them. */
	OK(rf_store_payout_run_insert(c->s, &r2, E));
	rf_payout_item j1 = item_of(c, r2.id, a, 1500, "USD", 2);
	OK(rf_store_payout_item_insert(c->s, &j1, prog, r2.cutoff, E));

	rf_commission *entries;
	OK(rf_store_payout_item_entries(c->s, i1.id, 10, &entries, &n, &c->a, E));
	assert_int_equal(n, 2);
	bool a1_first = strcmp(a1.id, a2.id) < 0;
	SAME(entries[0].id, a1_first ? a1.id : a2.id);
	SAME(entries[1].id, a1_first ? a2.id : a1.id);
	assert_int_equal(entries[0].amount + entries[1].amount, 1500);
	rf_payout_item *items;
	OK(rf_store_payout_items(c->s, r1.id, NULL, 0, 0, 10, &items, &n, &c->a, E));
	SAME(IDS(items, n, id), join(c, 3, i1.id, i2.id, i3.id));
	rf_payout_item ig;
	OK(rf_store_payout_item_get(c->s, i2.id, &ig, &c->a, E));
	SAME(ig.run_id, r1.id);
	SAME(ig.partner_id, a);
	assert_int_equal(ig.amount, 300);
	SAME(ig.currency, "EUR");
	assert_int_equal(ig.entries, 1);
	SAME(ig.status, "pending");
	assert_null(ig.reference);
	FAILS(RF_ENOTFOUND, NULL, rf_store_payout_item_get(c->s, "poi_missing", &ig, &c->a, E));

	OK(rf_store_payout_lock(c->s, r1.id, E));
	FAILS(RF_ECONFLICT, "status", rf_store_payout_lock(c->s, r2.id, E));
	OK(rf_store_payout_groups(c->s, prog, T0 + 10 * DAY, 10, &g, &n, &c->a, E));
	assert_int_equal(n, 0);
	r1.status = "approved";
	r1.approved_by = "usr_2";
	r1.approved_at = T0 + 12 * DAY;
	r1.updated_at = T0 + 12 * DAY;
	OK(rf_store_payout_run_update(c->s, &r1, E));
	OK(rf_store_payout_run_get(c->s, r1.id, &rg, &c->a, E));
	SAME(rg.status, "approved");
	SAME(rg.approved_by, "usr_2");
	assert_int_equal(rg.approved_at, T0 + 12 * DAY);

	/* Paid, and failed: a failed item's entries return to what is owed. */
	i1.status = "paid";
	i1.reference = "wire-2026-001";
	i1.paid_at = T0 + 20 * DAY;
	i1.updated_at = T0 + 20 * DAY;
	OK(rf_store_payout_item_update(c->s, &i1, E));
	OK(rf_store_payout_item_get(c->s, i1.id, &ig, &c->a, E));
	SAME(ig.status, "paid");
	SAME(ig.reference, "wire-2026-001");
	assert_int_equal(ig.paid_at, T0 + 20 * DAY);
	assert_int_equal(ig.updated_at, T0 + 20 * DAY);
	i3.status = "failed";
	i3.failure_reason = "account closed";
	OK(rf_store_payout_item_update(c->s, &i3, E));
	OK(rf_store_payout_unlock_item(c->s, i3.id, E));
	OK(rf_store_payout_groups(c->s, prog, T0 + 10 * DAY, 10, &g, &n, &c->a, E));
	assert_int_equal(n, 1);
	SAME(g[0].partner_id, b);
	assert_int_equal(g[0].amount, 700);
	OK(rf_store_payout_item_get(c->s, i3.id, &ig, &c->a, E));
	SAME(ig.failure_reason, "account closed");

	OK(rf_store_payout_items(c->s, NULL, a, T0, T0 + 30 * DAY, 10, &items, &n, &c->a, E));
	SAME(IDS(items, n, id), i1.id);
	OK(rf_store_payout_items(c->s, NULL, a, T0 + 21 * DAY, T0 + 30 * DAY, 10, &items, &n, &c->a, E));
	assert_int_equal(n, 0);
	OK(rf_store_payout_paid_range(c->s, prog, T0, T0 + 30 * DAY, 10, &items, &n, &c->a, E));
	SAME(IDS(items, n, id), i1.id);

	rf_page page = {.limit = 1};
	rf_payout_run *runs;
	bool more;
	OK(rf_store_payout_run_list(c->s, &page, prog, &runs, &n, &more, &c->a, E));
	SAME(IDS(runs, n, id), r2.id);
	assert_true(more);
	page.starting_after = r2.id;
	OK(rf_store_payout_run_list(c->s, &page, NULL, &runs, &n, &more, &c->a, E));
	SAME(IDS(runs, n, id), r1.id);
	assert_false(more);
	page.starting_after = "po_nope";
	FAILS(RF_EINVAL, "starting_after", rf_store_payout_run_list(c->s, &page, prog, &runs, &n, &more, &c->a, E));
}

/* Paid items of a program come grouped by partner, each partner's oldest first (the tax report sums each partner's
 * run of items). */
CASE(payout_paid_range_by_partner)
{
	ctx *c = *state;
	char *prog = add_program(c, "P");
	char *a = add_named_partner(c, prog, "ptn_aaaa"), *b = add_named_partner(c, prog, "ptn_bbbb");
	rf_payout_run r1 = run_of(c, prog, T0), r2 = run_of(c, prog, T0);
	OK(rf_store_payout_run_insert(c->s, &r1, E));
	OK(rf_store_payout_run_insert(c->s, &r2, E));
	rf_payout_item b1 = item_of(c, r1.id, b, 10, "USD", 0), a1 = item_of(c, r1.id, a, 20, "USD", 0),
		       a2 = item_of(c, r2.id, a, 30, "USD", 0), b2 = item_of(c, r2.id, b, 40, "USD", 0);
	rf_payout_item *all[] = {&b1, &a1, &a2, &b2};
	int64_t paid[] = {T0 + 5 * DAY, T0 + 9 * DAY, T0 + 2 * DAY, T0 + DAY};
	for (int i = 0; i < 4; i++) {
		OK(rf_store_payout_item_insert(c->s, all[i], prog, T0, E));
		all[i]->status = "paid";
		all[i]->paid_at = paid[i];
		OK(rf_store_payout_item_update(c->s, all[i], E));
	}
	rf_payout_item *items;
	size_t n;
	OK(rf_store_payout_paid_range(c->s, prog, T0, T0 + 30 * DAY, 10, &items, &n, &c->a, E));
	SAME(IDS(items, n, id), join(c, 4, a2.id, a1.id, b2.id, b1.id));
	OK(rf_store_payout_paid_range(c->s, prog, T0, T0 + 30 * DAY, 3, &items, &n, &c->a, E));
	assert_int_equal(n, 3);
	OK(rf_store_payout_paid_range(c->s, prog, T0 + 3 * DAY, T0 + 30 * DAY, 10, &items, &n, &c->a, E));
	SAME(IDS(items, n, id), join(c, 2, a1.id, b1.id));
}

static const rf_totals *totals_of(const rf_totals *t, size_t n, const char *currency)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(t[i].currency, currency) == 0)
			return &t[i];
	return NULL;
}

CASE(partner_totals_and_due)
{
	ctx *c = *state;
	char *prog = add_program(c, "P");
	char *a = add_partner(c, prog, "A", "partner", NULL);
	rf_commission pend = commission_of(c, prog, a, "pending", 100, "USD", T0);
	pend.hold_until = T0 + 30 * DAY;
	OK(rf_store_commission_insert(c->s, &pend, "system", E));
	add_commission(c, prog, a, "approved", 200, "USD", T0 + DAY);
	rf_commission rej = add_commission(c, prog, a, "pending", 50, "USD", T0);
	OK(rf_store_commission_set_status(c->s, &rej, "rejected", NULL, "u", T0 + DAY, E));
	rf_commission eur = commission_of(c, prog, a, "approved", 40, "EUR", T0 + 2 * DAY);
	eur.hold_until = T0 + 5 * DAY;
	OK(rf_store_commission_insert(c->s, &eur, "system", E));
	add_commission(c, prog, a, "held", 70, "USD", T0);
	rf_payout_run r = run_of(c, prog, T0 + DAY);
	OK(rf_store_payout_run_insert(c->s, &r, E));
	rf_payout_item it = item_of(c, r.id, a, 200, "USD", 1);
	OK(rf_store_payout_item_insert(c->s, &it, prog, r.cutoff, E));
	OK(rf_store_payout_lock(c->s, r.id, E));
	it.status = "paid";
	it.paid_at = T0 + 3 * DAY;
	OK(rf_store_payout_item_update(c->s, &it, E));

	rf_totals t[4];
	size_t n = 0;
	OK(rf_store_partner_totals_before(c->s, a, T0 + 2 * DAY, t, 4, &n, E));
	assert_int_equal(n, 1);
	const rf_totals *usd = totals_of(t, n, "USD");
	assert_non_null(usd);
	assert_int_equal(usd->earned, 370);
	assert_int_equal(usd->paid_out, 0);
	OK(rf_store_partner_totals_before(c->s, a, T0 + 4 * DAY, t, 4, &n, E));
	assert_int_equal(n, 2);
	usd = totals_of(t, n, "USD");
	const rf_totals *e = totals_of(t, n, "EUR");
	assert_non_null(usd);
	assert_non_null(e);
	assert_int_equal(usd->earned, 370);
	assert_int_equal(usd->paid_out, 200);
	assert_int_equal(e->earned, 40);
	assert_int_equal(e->paid_out, 0);

	rf_balance b[4];
	OK(rf_store_payout_due_by(c->s, a, T0 + 30 * DAY, b, 4, &n, E));
	assert_int_equal(n, 2);
	SAME(b[0].currency, "EUR");
	assert_int_equal(b[0].approved, 40);
	SAME(b[1].currency, "USD");
	assert_int_equal(b[1].pending, 100); /* the approved 200 is in a run */
	assert_int_equal(b[1].approved, 0);
	OK(rf_store_payout_due_by(c->s, a, T0 + 10 * DAY, b, 4, &n, E));
	assert_int_equal(n, 1);
	SAME(b[0].currency, "EUR");
}

/* ---- rollups ---- */

/* Lines of text collected from callbacks, compared sorted (the order of rows a call gives without an ORDER BY is
 * the database's own). */
typedef struct {
	ctx *c;
	char **v;
	size_t n, cap;
	const char *tag;
} lines;

static void add_line(lines *l, char *s)
{
	l->v = rf_arena_grow(&l->c->a, l->v, l->n, &l->cap, sizeof *l->v, 64);
	assert_non_null(l->v);
	l->v[l->n++] = s;
}

static char *metrics_text(rf_arena *a, const rf_metrics *m)
{
	char *out = rf_arena_strdup(a, "");
	for (int i = 0; i < RF_METRICS; i++)
		if (m->v[i])
			out = rf_arena_printf(a, "%s %s=%lld", out, rf_metric_names[i], (long long)m->v[i]);
	return out;
}

static void on_period(const char *entity, const char *currency, const rf_metrics *d, void *arg)
{
	lines *l = arg;
	add_line(l, rf_arena_printf(&l->c->a, "%s %s [%s]%s", l->tag, entity, currency, metrics_text(&l->c->a, d)));
}

static void on_day(const char *dim, const char *currency, int64_t day, const rf_metrics *m, void *arg)
{
	lines *l = arg;
	add_line(l, rf_arena_printf(&l->c->a, "%s %s [%s] %+lld%s", l->tag, dim, currency, (long long)(day - D0),
				    metrics_text(&l->c->a, m)));
}

static int by_text(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *sorted(lines *l)
{
	if (l->n)
		qsort(l->v, l->n, sizeof *l->v, by_text);
	char *out = rf_arena_strdup(&l->c->a, "");
	for (size_t i = 0; i < l->n; i++)
		out = rf_arena_printf(&l->c->a, "%s%s\n", out, l->v[i]);
	l->n = 0;
	return out;
}

static char *daily(ctx *c, const char *program, const char *prefix, int64_t from, int64_t to)
{
	lines l = {.c = c, .tag = "D"};
	OK(rf_store_rollup_daily(c->s, program, prefix, from, to, on_day, &l, E));
	return sorted(&l);
}

static char *period(ctx *c, const char *program, const char *prefix, int64_t from, int64_t to)
{
	lines l = {.c = c, .tag = "P"};
	OK(rf_store_rollup_period(c->s, program, prefix, from, to, on_period, &l, E));
	return sorted(&l);
}

static char *entity_days(ctx *c, const char *program, const char *entity, const char *currency, int64_t from,
			 int64_t to)
{
	lines l = {.c = c, .tag = "E"};
	OK(rf_store_rollup_entity_days(c->s, program, entity, currency, from, to, on_day, &l, E));
	return sorted(&l);
}

static char *keys(ctx *c, const char *program, const char *prefix)
{
	rf_rollup_key *k;
	size_t n;
	OK(rf_store_rollup_keys(c->s, program, prefix, &k, &n, &c->a, E));
	char *out = rf_arena_strdup(&c->a, "");
	for (size_t i = 0; i < n; i++)
		out = rf_arena_printf(&c->a, "%s%s[%s] ", out, k[i].entity, k[i].currency);
	return out;
}

static rf_metrics metric(int which, int64_t v)
{
	rf_metrics m;
	memset(&m, 0, sizeof m);
	m.v[which] = v;
	return m;
}

CASE(rollups_add_and_read)
{
	ctx *c = *state;
	char *prog = add_program(c, "P"), *q = add_program(c, "Q");
	const char *pa = "p:ptn_A", *ag = "a:ptn_G", *tm = "t:ptn_A";
	const char *three[] = {pa, ag, tm}, *one[] = {pa};
	const char *dims[] = {"all", "s:partner", "c:spring"}, *all[] = {"all"};
	rf_metrics m = metric(RF_M_CLICKS, 5);
	m.v[RF_M_LEADS] = 1;
	OK(rf_store_rollup_add(c->s, prog, T0 + HOUR, "", three, 3, dims, 3, &m, E));
	rf_metrics three_clicks = metric(RF_M_CLICKS, 3), earned = metric(RF_M_EARNED, 700), zero = {{0}};
	OK(rf_store_rollup_add(c->s, prog, T0 + 2 * DAY, "", one, 1, all, 1, &three_clicks, E));
	OK(rf_store_rollup_add(c->s, prog, T0 + DAY, "EUR", one, 1, all, 1, &earned, E));
	OK(rf_store_rollup_add(c->s, prog, T0 + 3 * DAY, "", one, 1, all, 1, &zero, E)); /* makes no row */
	const char *in_q[] = {"p:ptn_Q"}; /* entities are partners, each in one program */
	OK(rf_store_rollup_add(c->s, q, T0, "", in_q, 1, all, 1, &m, E));

	SAME(keys(c, prog, "p:"), "p:ptn_A[] p:ptn_A[EUR] ");
	SAME(keys(c, prog, "a:"), "a:ptn_G[] ");
	SAME(keys(c, prog, "t:"), "t:ptn_A[] ");
	rf_metrics t;
	OK(rf_store_rollup_total_before(c->s, prog, pa, "", D0, &t, E));
	same_metrics(&t, &zero);
	OK(rf_store_rollup_total_before(c->s, prog, pa, "", D0 + 1, &t, E));
	same_metrics(&t, &m);
	OK(rf_store_rollup_total_before(c->s, prog, pa, "", D0 + 3, &t, E));
	rf_metrics want = m;
	want.v[RF_M_CLICKS] = 8;
	same_metrics(&t, &want);
	OK(rf_store_rollup_total_before(c->s, prog, pa, "EUR", D0 + 5, &t, E));
	same_metrics(&t, &earned);
	OK(rf_store_rollup_total_before(c->s, prog, "p:ptn_nobody", "", D0 + 5, &t, E));
	same_metrics(&t, &zero);

	SAME(period(c, prog, "p:", D0, D0 + 3), "P p:ptn_A [EUR] earned=700\nP p:ptn_A [] clicks=8 leads=1\n");
	SAME(period(c, prog, "p:", D0 + 1, D0 + 3), "P p:ptn_A [EUR] earned=700\nP p:ptn_A [] clicks=3\n");
	SAME(period(c, prog, "p:", D0, D0 + 1), "P p:ptn_A [] clicks=5 leads=1\n");
	SAME(period(c, prog, "p:", D0 + 3, D0 + 5), "");
	SAME(period(c, prog, "t:", D0, D0 + 5), "P t:ptn_A [] clicks=5 leads=1\n");
	SAME(entity_days(c, prog, pa, "", D0 - 5, D0 + 5),
	     "E p:ptn_A [] +0 clicks=5 leads=1\nE p:ptn_A [] +2 clicks=3\n");
	SAME(entity_days(c, prog, pa, "", D0 + 1, D0 + 5), "E p:ptn_A [] +2 clicks=3\n");
	SAME(daily(c, prog, "all", D0, D0 + 5),
	     "D all [EUR] +1 earned=700\nD all [] +0 clicks=5 leads=1\nD all [] +2 clicks=3\n");
	SAME(daily(c, prog, "all", D0 + 1, D0 + 2), "D all [EUR] +1 earned=700\n");
	SAME(daily(c, prog, "s:", D0, D0 + 5), "D s:partner [] +0 clicks=5 leads=1\n");
	SAME(daily(c, prog, "c:spring", D0, D0 + 5), "D c:spring [] +0 clicks=5 leads=1\n");
	SAME(daily(c, prog, "c:", D0 + 1, D0 + 5), "");

	/* Taking figures back leaves what a rebuild would make: no day that no longer differs from the one before,
	 * no key without rows. */
	rf_metrics back = metric(RF_M_CLICKS, -3), unearn = metric(RF_M_EARNED, -700);
	OK(rf_store_rollup_add(c->s, prog, T0 + 2 * DAY, "", one, 1, all, 1, &back, E));
	SAME(entity_days(c, prog, pa, "", D0 - 5, D0 + 5), "E p:ptn_A [] +0 clicks=5 leads=1\n");
	SAME(daily(c, prog, "all", D0, D0 + 5), "D all [EUR] +1 earned=700\nD all [] +0 clicks=5 leads=1\n");
	OK(rf_store_rollup_add(c->s, prog, T0 + DAY, "EUR", one, 1, all, 1, &unearn, E));
	SAME(keys(c, prog, "p:"), "p:ptn_A[] ");
	SAME(daily(c, prog, "all", D0, D0 + 5), "D all [] +0 clicks=5 leads=1\n");
	SAME(period(c, prog, "p:", D0, D0 + 5), "P p:ptn_A [] clicks=5 leads=1\n");
}

/* Text with each "ptn_X" read as "ptn_A" and "ptn_Y" as "ptn_G" (same lengths, in an arena copy). */
static char *as_each(ctx *c, const char *text)
{
	char *t = rf_arena_strdup(&c->a, text);
	for (char *p = t; (p = strstr(p, "ptn_")) != NULL; p += 4)
		p[4] = p[4] == 'X' ? 'A' : p[4] == 'Y' ? 'G' : p[4];
	return t;
}

/* What an import's transaction folds (one update per entity, dim and day) is what the calls one by one write. An
 * entity is a partner, in one program: the folded program has its own partners X (the org) and Y (the agent). */
CASE(rollups_folded_as_added_one_by_one)
{
	ctx *c = *state;
	char *each = add_program(c, "P"), *folded = add_program(c, "Q");
	const char *ents[] = {"p:ptn_A", "a:ptn_G", "t:ptn_A"}, *dims[] = {"all", "s:partner", NULL};
	const char *fents[] = {"p:ptn_X", "a:ptn_Y", "t:ptn_X"};
	rf_metrics lead = metric(RF_M_LEADS, 1);
	/* Three leads on day 2, then one on day 0 (out of order, as a file's created_at may be), then one more on 2. */
	const int64_t at[] = {T0 + 2 * DAY, T0 + 2 * DAY + HOUR, T0 + 2 * DAY + 2 * HOUR, T0 + 5, T0 + 2 * DAY + 9};
	for (size_t i = 0; i < 5; i++)
		OK(rf_store_rollup_add(c->s, each, at[i], "", ents, 3, dims, 3, &lead, E));
	rf_metrics four = metric(RF_M_LEADS, 4), five = metric(RF_M_LEADS, 5);
	rf_rollup_part parts[] = {
	    {"p:ptn_X", NULL, "", T0 + 2 * DAY, four},
	    {"a:ptn_Y", NULL, "", T0 + 2 * DAY, four},
	    {"t:ptn_X", NULL, "", T0 + 2 * DAY, four},
	    {NULL, "all", "", T0 + 2 * DAY, four},
	    {NULL, "s:partner", "", T0 + 2 * DAY, four},
	    {"p:ptn_X", NULL, "", T0, lead},
	    {"a:ptn_Y", NULL, "", T0, lead},
	    {"t:ptn_X", NULL, "", T0, lead},
	    {NULL, "all", "", T0, lead},
	    {NULL, "s:partner", "", T0, lead},
	};
	OK(rf_store_rollup_apply(c->s, folded, &five, parts, sizeof parts / sizeof parts[0], E));
	for (size_t i = 0; i < 3; i++)
		SAME(as_each(c, entity_days(c, folded, fents[i], "", D0 - 5, D0 + 5)),
		     entity_days(c, each, ents[i], "", D0 - 5, D0 + 5));
	SAME(entity_days(c, each, "p:ptn_A", "", D0 - 5, D0 + 5), "E p:ptn_A [] +0 leads=1\nE p:ptn_A [] +2 leads=4\n");
	SAME(daily(c, folded, "all", D0, D0 + 5), daily(c, each, "all", D0, D0 + 5));
	SAME(daily(c, folded, "s:", D0, D0 + 5), daily(c, each, "s:", D0, D0 + 5));
	SAME(as_each(c, keys(c, folded, "p:")), keys(c, each, "p:"));
	SAME(as_each(c, period(c, folded, "t:", D0, D0 + 5)), period(c, each, "t:", D0, D0 + 5));
	/* Figures taken back are not folded, and nothing is written then. */
	rf_metrics back = metric(RF_M_LEADS, -1);
	FAILS(RF_EINVAL, NULL, rf_store_rollup_apply(c->s, folded, &back, NULL, 0, E));
	rf_rollup_part minus = {"p:ptn_X", NULL, "", T0, back};
	FAILS(RF_EINVAL, NULL, rf_store_rollup_apply(c->s, folded, &lead, &minus, 1, E));
	SAME(as_each(c, keys(c, folded, "p:")), keys(c, each, "p:"));
}

CASE(rollup_overflow_refused)
{
	ctx *c = *state;
	char *prog = add_program(c, "P");
	const char *one[] = {"p:ptn_A"}, *all[] = {"all"};
	rf_metrics half = metric(RF_M_REVENUE, INT64_MAX / 2), more = metric(RF_M_REVENUE, 10);
	OK(rf_store_rollup_add(c->s, prog, T0, "", one, 1, all, 1, &half, E));
	OK(rf_store_rollup_add(c->s, prog, T0 + DAY, "", one, 1, all, 1, &half, E));
	FAILS(RF_EOVERFLOW, "amount", rf_store_rollup_add(c->s, prog, T0 + 2 * DAY, "", one, 1, all, 1, &more, E));
	rf_metrics t;
	OK(rf_store_rollup_total_before(c->s, prog, "p:ptn_A", "", D0 + 10, &t, E));
	assert_int_equal(t.v[RF_M_REVENUE], INT64_MAX / 2 * 2);
}

/* Everything the rollups hold, as text: every key's days and current totals, the periods and the daily figures. */
static char *rollup_snapshot(ctx *c, const char *program)
{
	lines l = {.c = c};
	static const char *const prefixes[] = {"p:", "a:", "t:"};
	for (int p = 0; p < 3; p++) {
		rf_rollup_key *k;
		size_t n;
		OK(rf_store_rollup_keys(c->s, program, prefixes[p], &k, &n, &c->a, E));
		for (size_t i = 0; i < n; i++) {
			add_line(&l, rf_arena_printf(&c->a, "K %s [%s]", k[i].entity, k[i].currency));
			l.tag = "E";
			OK(rf_store_rollup_entity_days(c->s, program, k[i].entity, k[i].currency, D0 - 100, D0 + 100,
						       on_day, &l, E));
			rf_metrics t;
			OK(rf_store_rollup_total_before(c->s, program, k[i].entity, k[i].currency, D0 + 100, &t, E));
			add_line(&l, rf_arena_printf(&c->a, "T %s [%s]%s", k[i].entity, k[i].currency,
						     metrics_text(&c->a, &t)));
		}
		l.tag = "P";
		OK(rf_store_rollup_period(c->s, program, prefixes[p], D0 - 100, D0 + 100, on_period, &l, E));
		l.tag = "P3";
		OK(rf_store_rollup_period(c->s, program, prefixes[p], D0 + 3, D0 + 5, on_period, &l, E));
	}
	static const char *const dims[] = {"all", "s:", "c:"};
	l.tag = "D";
	for (int d = 0; d < 3; d++)
		OK(rf_store_rollup_daily(c->s, program, dims[d], D0 - 100, D0 + 100, on_day, &l, E));
	return sorted(&l);
}

/* Adds m for a lead's keys, as the API does: its partner, agent and team, the program, its source and campaign. */
static void rollup_like_api(ctx *c, const char *program, const char *partner, const char *agent, const char *source,
			    const char *campaign, int64_t at, const rf_metrics *m)
{
	const char *entities[3] = {partner ? rf_arena_printf(&c->a, "p:%s", partner) : NULL,
				   agent ? rf_arena_printf(&c->a, "a:%s", agent) : NULL,
				   agent && partner ? rf_arena_printf(&c->a, "t:%s", partner) : NULL};
	const char *dims[3] = {"all", source ? rf_arena_printf(&c->a, "s:%s", source) : NULL,
			       campaign ? rf_arena_printf(&c->a, "c:%s", campaign) : NULL};
	OK(rf_store_rollup_add(c->s, program, at, "", entities, 3, dims, 3, m, E));
}

/* Counted clicks of a link on a day, as the click writer adds them. */
static void rollup_clicks(ctx *c, const char *program, const char *link, int64_t day, int64_t n)
{
	char *campaign, *owner, *kind, *team;
	OK(rf_store_link_rollup_info(c->s, link, &campaign, &owner, &kind, &team, &c->a, E));
	bool agent = kind && strcmp(kind, "agent") == 0 && team;
	const char *entities[3] = {rf_arena_printf(&c->a, "p:%s", agent ? team : owner),
				   agent ? rf_arena_printf(&c->a, "a:%s", owner) : NULL,
				   agent ? rf_arena_printf(&c->a, "t:%s", team) : NULL};
	const char *dims[2] = {"all", campaign ? rf_arena_printf(&c->a, "c:%s", campaign) : NULL};
	rf_metrics m = metric(RF_M_CLICKS, n);
	OK(rf_store_rollup_add(c->s, program, day * DAY, "", entities, 3, dims, 2, &m, E));
}

/* Rollups kept up to date on write (rf_store_rollup_add as the API and the click writer call it, and the ledger's
 * own) hold exactly what a rebuild from the raw tables makes. */
CASE(rollup_rebuild_gives_the_same_figures)
{
	ctx *c = *state;
	char *prog = add_program(c, "P");
	char *org = add_partner(c, prog, "Org", "partner", NULL);
	char *agent = add_partner(c, prog, "Agent", "agent", org);
	char *rep = add_partner(c, prog, "Rep", "affiliate", NULL);
	char *l1 = add_link(c, prog, org, "spring"), *l2 = add_link(c, prog, agent, NULL);
	char *l3 = add_link(c, prog, rep, "summer");

	for (int i = 0; i < 3; i++)
		add_click(c, prog, l1, org, T0 + i, "counted");
	add_click(c, prog, l1, org, T0 + 5, "bot");
	rollup_clicks(c, prog, l1, D0, 3);
	char *k2 = add_click(c, prog, l2, agent, T0 + DAY, "counted");
	add_click(c, prog, l2, agent, T0 + DAY + 1, "counted");
	rollup_clicks(c, prog, l2, D0 + 1, 2);
	char *k3 = add_click(c, prog, l3, rep, T0 + DAY + 2, "counted");
	rollup_clicks(c, prog, l3, D0 + 1, 1);

	/* A lead through the agent's link, qualified two days later. */
	rf_lead la = lead_of(c, prog, org, agent, T0 + DAY + HOUR);
	la.click_id = k2;
	la.method = "click";
	OK(rf_store_lead_insert(c->s, &la, E));
	rf_lead_event ev = {NULL, "new", "api", NULL, la.created_at};
	OK(rf_store_lead_event_add(c->s, la.id, &ev, E));
	rf_metrics m = metric(RF_M_LEADS, 1);
	rollup_like_api(c, prog, org, agent, la.source, NULL, la.created_at, &m);
	ev = (rf_lead_event){"new", "qualified", "usr_1", NULL, T0 + 3 * DAY};
	OK(rf_store_lead_event_add(c->s, la.id, &ev, E));
	m = metric(RF_M_QUALIFIED, 1);
	rollup_like_api(c, prog, org, agent, la.source, NULL, ev.at, &m);

	/* A lead through the summer link, converted without being qualified first, with a sale and a refund. */
	rf_lead lb = lead_of(c, prog, rep, NULL, T0 + 2 * DAY);
	lb.click_id = k3;
	lb.source = "referral";
	OK(rf_store_lead_insert(c->s, &lb, E));
	ev = (rf_lead_event){NULL, "new", "api", NULL, lb.created_at};
	OK(rf_store_lead_event_add(c->s, lb.id, &ev, E));
	m = metric(RF_M_LEADS, 1);
	rollup_like_api(c, prog, rep, NULL, "referral", "summer", lb.created_at, &m);
	lb.status = "converted";
	lb.converted_at = lb.status_at = lb.updated_at = T0 + 4 * DAY;
	OK(rf_store_lead_update(c->s, &lb, E));
	ev = (rf_lead_event){"new", "converted", "api", NULL, lb.converted_at};
	OK(rf_store_lead_event_add(c->s, lb.id, &ev, E));
	m = metric(RF_M_QUALIFIED, 1);
	rollup_like_api(c, prog, rep, NULL, "referral", "summer", lb.converted_at, &m);
	m = metric(RF_M_CUSTOMERS, 1);
	m.v[RF_M_CONVERSIONS] = 1;
	m.v[RF_M_CONVERSION_MS] = lb.converted_at - lb.created_at;
	rollup_like_api(c, prog, rep, NULL, "referral", "summer", lb.converted_at, &m);
	char *cus = add_customer(c, prog, lb.id, lb.converted_at);
	char *sale = add_sale(c, prog, cus, lb.id, rep, 5000, T0 + 4 * DAY + HOUR);
	m = metric(RF_M_SALES, 1);
	m.v[RF_M_REVENUE] = 5000;
	rollup_like_api(c, prog, rep, NULL, "referral", "summer", T0 + 4 * DAY + HOUR, &m);
	rf_refund r = {.id = new_id(c, "ref"),
		       .program_id = prog,
		       .sale_id = sale,
		       .kind = "refund",
		       .amount = 1000,
		       .currency = "USD",
		       .has_program_amount = true,
		       .program_amount = 1000,
		       .occurred_at = T0 + 5 * DAY,
		       .created_at = T0 + 5 * DAY};
	OK(rf_store_refund_insert(c->s, &r, E));
	m = metric(RF_M_REFUNDS, 1000);
	rollup_like_api(c, prog, rep, NULL, "referral", "summer", r.occurred_at, &m);

	/* The ledger keeps its own rollups: earned on the event's day, approved and paid on the day they happen, a
	 * rejection taking back what was earned (and approved). */
	rf_commission c1 = add_commission(c, prog, rep, "pending", 1000, "USD", T0 + 4 * DAY);
	OK(rf_store_commission_set_status(c->s, &c1, "approved", NULL, "job", T0 + 6 * DAY, E));
	OK(rf_store_commission_get(c->s, c1.id, &c1, &c->a, E));
	OK(rf_store_commission_set_status(c->s, &c1, "paid", NULL, "job", T0 + 7 * DAY, E));
	rf_commission c2 = commission_of(c, prog, agent, "pending", 200, "USD", T0 + 3 * DAY);
	c2.role = "agent";
	OK(rf_store_commission_insert(c->s, &c2, "system", E));
	OK(rf_store_commission_set_status(c->s, &c2, "rejected", "duplicate", "usr_1", T0 + 6 * DAY, E));
	rf_commission c3 = commission_of(c, prog, org, "approved", 300, "EUR", T0 + 3 * DAY);
	c3.role = "override";
	c3.level = 1;
	OK(rf_store_commission_insert(c->s, &c3, "system", E));
	rf_commission c4 = add_commission(c, prog, rep, "approved", 400, "USD", T0 + 2 * DAY);
	OK(rf_store_commission_set_status(c->s, &c4, "rejected", "fraud", "usr_1", T0 + 8 * DAY, E));
	rf_commission c5 = commission_of(c, prog, rep, "held", 0, "EUR", T0 + 2 * DAY);
	c5.has_amount = false;
	c5.fx_missing = true;
	OK(rf_store_commission_insert(c->s, &c5, "system", E));
	OK(rf_store_commission_fill_fx(c->s, &c5, 900000000, false, 450, "pending", "job", T0 + 9 * DAY, E));

	/* Some figures, so that the comparison below compares something. */
	rf_metrics t;
	OK(rf_store_rollup_total_before(c->s, prog, rf_arena_printf(&c->a, "p:%s", org), "", D0 + 100, &t, E));
	assert_int_equal(t.v[RF_M_CLICKS], 5);
	assert_int_equal(t.v[RF_M_LEADS], 1);
	assert_int_equal(t.v[RF_M_QUALIFIED], 1);
	OK(rf_store_rollup_total_before(c->s, prog, rf_arena_printf(&c->a, "p:%s", rep), "", D0 + 100, &t, E));
	assert_int_equal(t.v[RF_M_CLICKS], 1);
	assert_int_equal(t.v[RF_M_CUSTOMERS], 1);
	assert_int_equal(t.v[RF_M_SALES], 1);
	assert_int_equal(t.v[RF_M_REVENUE], 5000);
	assert_int_equal(t.v[RF_M_REFUNDS], 1000);
	assert_int_equal(t.v[RF_M_CONVERSION_MS], 2 * DAY);
	OK(rf_store_rollup_total_before(c->s, prog, rf_arena_printf(&c->a, "p:%s", rep), "USD", D0 + 100, &t, E));
	assert_int_equal(t.v[RF_M_EARNED], 1000);
	assert_int_equal(t.v[RF_M_APPROVED], 1000);
	assert_int_equal(t.v[RF_M_PAID], 1000);
	OK(rf_store_rollup_total_before(c->s, prog, rf_arena_printf(&c->a, "p:%s", rep), "EUR", D0 + 100, &t, E));
	assert_int_equal(t.v[RF_M_EARNED], 450);
	OK(rf_store_rollup_total_before(c->s, prog, rf_arena_printf(&c->a, "a:%s", agent), "USD", D0 + 100, &t, E));
	assert_int_equal(t.v[RF_M_EARNED], 0);

	char *before = rollup_snapshot(c, prog);
	assert_true(strlen(before) > 500);
	OK(rf_store_rollup_rebuild(c->s, E));
	char *after = rollup_snapshot(c, prog);
	SAME(after, before);
	/* A rebuild inside a transaction, twice, changes nothing either. */
	OK(rf_store_begin(c->s, E));
	OK(rf_store_rollup_rebuild(c->s, E));
	OK(rf_store_rollup_rebuild(c->s, E));
	OK(rf_store_commit(c->s, E));
	SAME(rollup_snapshot(c, prog), before);
}

CASE(conversion_stats)
{
	ctx *c = *state;
	char *prog = add_program(c, "P");
	int64_t hours[] = {1, 2, 6, 11};
	for (int i = 0; i < 4; i++) {
		rf_lead l = lead_of(c, prog, NULL, NULL, T0);
		l.status = "converted";
		l.converted_at = T0 + hours[i] * HOUR;
		OK(rf_store_lead_insert(c->s, &l, E));
	}
	rf_lead late = lead_of(c, prog, NULL, NULL, T0);
	late.status = "converted";
	late.converted_at = T0 + 3 * DAY;
	OK(rf_store_lead_insert(c->s, &late, E));
	add_lead(c, prog, NULL, NULL, T0);
	int64_t n = -1, mean = -1, median = -1;
	OK(rf_store_conversion_stats(c->s, prog, T0, T0 + DAY, &n, &mean, &median, E));
	assert_int_equal(n, 4);
	assert_int_equal(mean, 5 * HOUR);
	assert_int_equal(median, 4 * HOUR);
	OK(rf_store_conversion_stats(c->s, prog, T0 + 2 * HOUR, T0 + DAY, &n, &mean, &median, E));
	assert_int_equal(n, 3);
	assert_int_equal(median, 6 * HOUR);
	OK(rf_store_conversion_stats(c->s, prog, T0 + 10 * DAY, T0 + 20 * DAY, &n, &mean, &median, E));
	assert_int_equal(n, 0);
	assert_int_equal(mean, 0);
	assert_int_equal(median, 0);
}

CASE(queue_counts_and_partner_names)
{
	ctx *c = *state;
	char *prog = add_program(c, "P"), *q = add_program(c, "Q");
	char *ids[3];
	const char *names[] = {"Zoë", "Adam", "Mia"};
	for (int i = 0; i < 3; i++) {
		rf_partner p = partner_of(c, prog, names[i]);
		p.status = i < 2 ? "applied" : "active";
		OK(rf_store_partner_insert(c->s, &p, E));
		ids[i] = p.id;
	}
	rf_lead reg = lead_of(c, prog, ids[2], NULL, T0);
	reg.status = "pending_review";
	reg.registration = true;
	OK(rf_store_lead_insert(c->s, &reg, E));
	add_lead(c, prog, ids[2], NULL, T0);
	add_commission(c, prog, ids[2], "held", 10, "USD", T0);
	add_commission(c, prog, ids[2], "pending", 10, "USD", T0);
	int64_t counts[3] = {-1, -1, -1};
	OK(rf_store_queue_counts(c->s, prog, counts, E));
	assert_int_equal(counts[0], 2);
	assert_int_equal(counts[1], 1);
	assert_int_equal(counts[2], 1);
	OK(rf_store_queue_counts(c->s, q, counts, E));
	assert_int_equal(counts[0] + counts[1] + counts[2], 0);

	char **pid, **pname;
	size_t n;
	OK(rf_store_partner_names(c->s, prog, &pid, &pname, &n, &c->a, E));
	assert_int_equal(n, 3);
	for (size_t i = 1; i < n; i++)
		assert_true(strcmp(pid[i - 1], pid[i]) < 0);
	for (size_t i = 0; i < n; i++)
		for (int k = 0; k < 3; k++)
			if (strcmp(pid[i], ids[k]) == 0)
				SAME(pname[i], names[k]);
	OK(rf_store_partner_names(c->s, q, &pid, &pname, &n, &c->a, E));
	assert_int_equal(n, 0);
}

/* ---- transactions, locks and savepoints ---- */

static rf_connection connection_of(ctx *c, const char *program, const char *system);
static rf_inbound_event inbound_of(ctx *c, const rf_connection *k, const char *key, const char *outcome, int64_t at);

CASE(lock_inside_a_transaction)
{
	ctx *c = *state;
	char *prog = add_program(c, "P");
	char *ptn = add_partner(c, prog, "Org", "partner", NULL);
	char *link = add_link(c, prog, ptn, NULL);
	char *lead = add_lead(c, prog, ptn, NULL, T0);
	char *plan = add_plan(c, prog, true);
	rf_commission com = add_commission(c, prog, ptn, "pending", 10, "USD", T0);
	rf_payout_run run = run_of(c, prog, T0);
	OK(rf_store_payout_run_insert(c->s, &run, E));
	char *user = add_user(c, "owner", NULL);
	rf_apikey key = {
	    .id = new_id(c, "key"), .name = "k", .role = "admin", .prefix = "p", .hash = "h", .created_at = T0};
	OK(rf_store_apikey_insert(c->s, &key, E));
	rf_connection conn = connection_of(c, prog, "paddle");
	OK(rf_store_connection_insert(c->s, &conn, E));
	rf_webhook_endpoint wh = {.id = new_id(c, "wh"),
				  .url = "https://hooks.example/",
				  .event_types = "[\"*\"]",
				  .secret_sealed = (unsigned char *)"s",
				  .secret_sealed_len = 1,
				  .status = "enabled",
				  .created_at = T0,
				  .updated_at = T0};
	OK(rf_store_webhook_endpoint_insert(c->s, &wh, E));
	rf_delivery dl = {.id = new_id(c, "dlv"),
			  .kind = "webhook",
			  .target_id = wh.id,
			  .event_id = "evt_1",
			  .status = "pending",
			  .next_at = T0,
			  .created_at = T0};
	OK(rf_store_delivery_insert(c->s, &dl, E));
	struct {
		rf_lock_kind kind;
		const char *id;
	} locks[] = {{RF_LOCK_PROGRAM, prog},       {RF_LOCK_PARTNER, ptn},
		     {RF_LOCK_LINK, link},          {RF_LOCK_LEAD, lead},
		     {RF_LOCK_PLAN, plan},          {RF_LOCK_COMMISSION, com.id},
		     {RF_LOCK_PAYOUT_RUN, run.id},  {RF_LOCK_USER, user},
		     {RF_LOCK_API_KEY, key.id},     {RF_LOCK_WEBHOOK_ENDPOINT, wh.id},
		     {RF_LOCK_CONNECTION, conn.id}, {RF_LOCK_DELIVERY, dl.id},
		     {RF_LOCK_OWNERS, NULL},        {RF_LOCK_PARTNER, "ptn_missing"}};
	OK(rf_store_begin(c->s, E));
	for (size_t i = 0; i < sizeof locks / sizeof locks[0]; i++)
		OK(rf_store_lock(c->s, locks[i].kind, locks[i].id, E));
	rf_partner p;
	OK(rf_store_partner_get(c->s, ptn, &p, &c->a, E));
	p.name = "Locked and renamed";
	OK(rf_store_partner_update(c->s, &p, E));

	/* Another connection cannot take what the open transaction holds: on PostgreSQL the row, on SQLite (one
	 * writer at a time) the database's write lock. */
	if (c->bk->kind == BK_POSTGRES) {
		c->raw_pg = PQconnectdb(c->location);
		assert_int_equal(PQstatus(c->raw_pg), CONNECTION_OK);
		PQclear(PQexec(c->raw_pg, "SET lock_timeout = '200ms'"));
		const char *vals[1] = {ptn};
		PGresult *r = PQexecParams(c->raw_pg, "SELECT 1 FROM partners WHERE id = $1 FOR UPDATE", 1, NULL, vals,
					   NULL, NULL, 0);
		const char *state_code = PQresultErrorField(r, PG_DIAG_SQLSTATE);
		assert_non_null(state_code);
		assert_string_equal(state_code, "55P03"); /* lock_not_available */
		PQclear(r);
		PQclear(PQexec(c->raw_pg, "ROLLBACK"));
		/* Programs not locked stay free. */
		vals[0] = "prg_other";
		r = PQexecParams(c->raw_pg, "SELECT 1 FROM programs WHERE id = $1 FOR UPDATE", 1, NULL, vals, NULL,
				 NULL, 0);
		assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
		PQclear(r);
	} else {
		assert_int_equal(sqlite3_open(c->location, &c->raw_sqlite), SQLITE_OK);
		assert_int_equal(sqlite3_exec(c->raw_sqlite, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_BUSY);
	}
	OK(rf_store_commit(c->s, E));
	if (c->bk->kind == BK_POSTGRES) {
		const char *vals[1] = {ptn};
		PGresult *r = PQexecParams(c->raw_pg, "SELECT name FROM partners WHERE id = $1 FOR UPDATE", 1, NULL,
					   vals, NULL, NULL, 0);
		assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
		assert_string_equal(PQgetvalue(r, 0, 0), "Locked and renamed");
		PQclear(r);
	} else {
		assert_int_equal(sqlite3_exec(c->raw_sqlite, "BEGIN IMMEDIATE; ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
	}
}

CASE(savepoints)
{
	ctx *c = *state;
	char *prog = add_program(c, "P");
	OK(rf_store_begin(c->s, E));
	char *a = add_partner(c, prog, "A", "partner", NULL);
	OK(rf_store_savepoint(c->s, "sp_outer", E));
	char *b = add_partner(c, prog, "B", "partner", NULL);
	OK(rf_store_rollback_to(c->s, "sp_outer", E));
	char *cc = add_partner(c, prog, "C", "partner", NULL);
	OK(rf_store_savepoint(c->s, "sp_inner", E));
	char *d = add_partner(c, prog, "D", "partner", NULL);
	/* A conflict inside the savepoint leaves it usable. */
	rf_partner dup = partner_of(c, prog, "dup");
	rf_partner got;
	OK(rf_store_partner_get(c->s, d, &got, &c->a, E));
	dup.email = got.email;
	FAILS(RF_ECONFLICT, "email", rf_store_partner_insert(c->s, &dup, E));
	OK(rf_store_release(c->s, "sp_inner", E));
	OK(rf_store_release(c->s, "sp_outer", E));
	OK(rf_store_commit(c->s, E));
	OK(rf_store_partner_get(c->s, a, &got, &c->a, E));
	FAILS(RF_ENOTFOUND, NULL, rf_store_partner_get(c->s, b, &got, &c->a, E));
	OK(rf_store_partner_get(c->s, cc, &got, &c->a, E));
	OK(rf_store_partner_get(c->s, d, &got, &c->a, E));
	FAILS(RF_ENOTFOUND, NULL, rf_store_partner_get(c->s, dup.id, &got, &c->a, E));
	/* Outside a transaction there is nothing to roll back to. */
	assert_int_not_equal(rf_store_rollback_to(c->s, "sp_none", E), RF_OK);
	memset(E, 0, sizeof *E);
	rf_store_idle(c->s);
}

/* An import's connection keeps savepoints' undo in memory: a savepoint per row, hundreds in a transaction, each
 * rolled back or released, leaves exactly the rows released. */
CASE(bulk_writes_with_a_savepoint_per_row)
{
	ctx *c = *state;
	char *prog = add_program(c, "P");
	OK(rf_store_bulk_writes(c->s, E));
	OK(rf_store_begin(c->s, E));
	char *ids[300];
	for (int i = 0; i < 300; i++) {
		OK(rf_store_savepoint(c->s, "row", E));
		ids[i] = add_partner(c, prog, "Row", "partner", NULL);
		if (i % 3 == 0)
			OK(rf_store_rollback_to(c->s, "row", E));
		OK(rf_store_release(c->s, "row", E));
	}
	OK(rf_store_commit(c->s, E));
	rf_partner got;
	for (int i = 0; i < 300; i++) {
		if (i % 3 == 0)
			FAILS(RF_ENOTFOUND, NULL, rf_store_partner_get(c->s, ids[i], &got, &c->a, E));
		else
			OK(rf_store_partner_get(c->s, ids[i], &got, &c->a, E));
	}
	/* Once more on the same connection (the setting stays), and inside no transaction. */
	OK(rf_store_bulk_writes(c->s, E));
}

typedef struct {
	ctx *c;
	const char *program;
	int calls;
	rf_status fail_with; /* what the first call returns (after writing), RF_OK for none */
	bool always;         /* every call fails so */
	char *ids[8];
} tx_job;

static rf_status tx_fn(rf_store *s, void *arg, rf_err *err)
{
	tx_job *j = arg;
	ctx *c = j->c;
	rf_partner p = partner_of(c, j->program, "Tx");
	rf_status rc = rf_store_partner_insert(s, &p, err);
	if (rc != RF_OK)
		return rc;
	if (j->calls < 8)
		j->ids[j->calls] = p.id;
	j->calls++;
	if (j->fail_with != RF_OK && (j->calls == 1 || j->always))
		return rf_err_set(err, j->fail_with, NULL, "call %d fails on purpose", j->calls);
	return RF_OK;
}

CASE(tx_runs_again_after_a_retry)
{
	ctx *c = *state;
	char *prog = add_program(c, "P");
	rf_partner got;
	tx_job once = {.c = c, .program = prog, .fail_with = RF_ERETRY};
	OK(rf_store_tx(c->s, tx_fn, &once, E));
	assert_int_equal(once.calls, 2);
	FAILS(RF_ENOTFOUND, NULL, rf_store_partner_get(c->s, once.ids[0], &got, &c->a, E));
	OK(rf_store_partner_get(c->s, once.ids[1], &got, &c->a, E));

	tx_job bad = {.c = c, .program = prog, .fail_with = RF_EINVAL};
	FAILS(RF_EINVAL, NULL, rf_store_tx(c->s, tx_fn, &bad, E));
	assert_int_equal(bad.calls, 1);
	FAILS(RF_ENOTFOUND, NULL, rf_store_partner_get(c->s, bad.ids[0], &got, &c->a, E));

	tx_job never = {.c = c, .program = prog, .fail_with = RF_ERETRY, .always = true};
	FAILS(RF_ERETRY, NULL, rf_store_tx(c->s, tx_fn, &never, E));
	assert_int_equal(never.calls, 5);
	for (int i = 0; i < 5; i++)
		FAILS(RF_ENOTFOUND, NULL, rf_store_partner_get(c->s, never.ids[i], &got, &c->a, E));

	tx_job fine = {.c = c, .program = prog};
	OK(rf_store_tx(c->s, tx_fn, &fine, E));
	assert_int_equal(fine.calls, 1);
	OK(rf_store_partner_get(c->s, fine.ids[0], &got, &c->a, E));
}

CASE(rollback_and_idle)
{
	ctx *c = *state;
	char *prog = add_program(c, "P");
	OK(rf_store_begin(c->s, E));
	char *ghost = add_partner(c, prog, "Ghost", "partner", NULL);
	rf_store_rollback(c->s);
	rf_partner got;
	FAILS(RF_ENOTFOUND, NULL, rf_store_partner_get(c->s, ghost, &got, &c->a, E));

	/* A read left unfinished is ended by rf_store_idle, and the next call sees another connection's write. */
	add_partner(c, prog, "One", "partner", NULL);
	rf_store *other = NULL;
	OK(rf_store_open(c->location, &other, E));
	rf_partner_filter f = {.page = {.limit = 1}, .program_id = prog};
	rf_partner *items;
	size_t n;
	bool more;
	OK(rf_store_partner_list(c->s, &f, &items, &n, &more, &c->a, E));
	rf_store_idle(c->s);
	rf_partner p = partner_of(c, prog, "From elsewhere");
	rf_status rc = rf_store_partner_insert(other, &p, E);
	rf_store_close(other);
	OK(rc);
	rf_store_idle(c->s);
	OK(rf_store_partner_list(c->s, &f, &items, &n, &more, &c->a, E));
	SAME(items[0].id, p.id);
}

/* ---- copying between databases ---- */

typedef struct {
	char *program, *org, *agent, *lead, *sale, *refund, *commission, *link, *click, *run;
} world;

/* Rows in every table the store keeps, each object with its fields set. */
static void fill_world(ctx *c, world *w)
{
	OK(rf_store_setting_set(c->s, "conformance", "yes", E));
	rf_program p = program_of(c, "World");
	p.fallback_url = "https://world.example/";
	p.stripe_secret_sealed = (unsigned char *)sealed_bytes;
	p.stripe_secret_sealed_len = sizeof sealed_bytes;
	p.allowed_domains[0] = "world.example";
	p.n_allowed_domains = 1;
	OK(rf_store_program_insert(c->s, &p, E));
	w->program = p.id;
	char *plan = add_plan(c, w->program, true);
	rf_partner org = partner_of(c, w->program, "Org Ünal");
	org.tax_id_sealed = (unsigned char *)sealed_bytes;
	org.tax_id_sealed_len = sizeof sealed_bytes;
	org.tax_id_last4 = "6789";
	org.plan_id = plan;
	org.company = "Org GmbH";
	OK(rf_store_partner_insert(c->s, &org, E));
	w->org = org.id;
	rf_partner ag = partner_of(c, w->program, "Agent");
	ag.kind = "agent";
	ag.team_parent_id = w->org;
	ag.recruited_by_id = w->org;
	OK(rf_store_partner_insert(c->s, &ag, E));
	w->agent = ag.id;
	OK(rf_store_partner_ref_put(c->s, w->program, "rewardful-affiliate-1", w->org, T0, E));
	rf_import_record imp = {"imp_world", w->program, "completed", "{\"rows\":1}", "cli", T0, T0 + 1};
	OK(rf_store_import_put(c->s, &imp, E));
	char *owner = add_user(c, "owner", NULL);
	add_user(c, "partner", w->agent);
	rf_apikey key = {
	    .id = new_id(c, "key"), .name = "k", .role = "admin", .prefix = "p", .hash = "h1", .created_at = T0};
	OK(rf_store_apikey_insert(c->s, &key, E));
	rf_session ss = {
	    .hash = "sess", .user_id = owner, .csrf_token = "csrf", .created_at = T0, .expires_at = T0 + DAY};
	OK(rf_store_session_insert(c->s, &ss, E));
	OK(rf_store_login_failure_add(c->s, "email:x@y.example", T0, E));
	OK(rf_store_audit_add(c->s, owner, "program.create", w->program, "{}", T0, E));
	OK(rf_store_reset_insert(c->s, "reset", owner, T0, T0 + HOUR, E));
	w->link = add_link(c, w->program, w->agent, "spring");
	rf_link with_coupon;
	OK(rf_store_link_get(c->s, w->link, &with_coupon, &c->a, E));
	with_coupon.coupon = "Spring20";
	OK(rf_store_link_update(c->s, &with_coupon, E));
	add_link(c, w->program, w->org, NULL);
	rf_click k = click_of(c, w->program, w->link, w->agent, T0, "counted");
	k.user_agent = "Mozilla/5.0 Ünïcödé";
	k.referer = "https://ref.example/";
	OK(rf_store_click_insert(c->s, &k, E));
	w->click = k.id;
	rf_click more[20];
	const rf_click *ptrs[20];
	for (int i = 0; i < 20; i++) {
		more[i] = click_of(c, w->program, w->link, w->agent, T0 + i, i % 5 ? "counted" : "bot");
		ptrs[i] = &more[i];
	}
	OK(rf_store_clicks_insert(c->s, ptrs, 20, E));
	rollup_clicks(c, w->program, w->link, D0, 17);
	rf_lead l = lead_of(c, w->program, w->org, w->agent, T0 + HOUR);
	l.click_id = w->click;
	l.name = "Lead Person";
	l.external_id = "crm-1";
	OK(rf_store_lead_insert(c->s, &l, E));
	w->lead = l.id;
	rf_lead_event ev = {NULL, "new", "api", NULL, l.created_at};
	OK(rf_store_lead_event_add(c->s, w->lead, &ev, E));
	rf_metrics m = metric(RF_M_LEADS, 1);
	rollup_like_api(c, w->program, w->org, w->agent, l.source, "spring", l.created_at, &m);
	OK(rf_store_idem_put(c->s, "key_1", "idem-1", "POST /api/v1/leads", "h", 201, "{}", T0, E));
	char *cus = add_customer(c, w->program, w->lead, T0 + DAY);
	rf_sale x = sale_of(c, w->program, cus, w->lead, w->org, 10000, T0 + DAY);
	x.agent_id = w->agent;
	x.charge_id = "ch_1";
	x.method = "coupon";
	x.coupon = "SPRING20";
	x.source = "paddle";
	x.source_event_id = "evt_01kd";
	OK(rf_store_sale_insert(c->s, &x, E));
	w->sale = x.id;
	rf_refund r = {.id = new_id(c, "ref"),
		       .program_id = w->program,
		       .sale_id = w->sale,
		       .kind = "refund",
		       .amount = 1000,
		       .currency = "USD",
		       .external_id = "re_1",
		       .source = "paddle",
		       .source_event_id = "evt_01ke",
		       .occurred_at = T0 + 2 * DAY,
		       .created_at = T0 + 2 * DAY};
	OK(rf_store_refund_insert(c->s, &r, E));
	w->refund = r.id;
	rf_commission e = commission_of(c, w->program, w->agent, "approved", 2000, "USD", T0 + DAY);
	e.role = "agent";
	e.sale_id = w->sale;
	e.lead_id = w->lead;
	e.has_rate = true;
	e.rate_bps = 2000;
	e.detail = "{\"why\":\"20 %\"}";
	OK(rf_store_commission_insert(c->s, &e, "system", E));
	w->commission = e.id;
	rf_commission eur = add_commission(c, w->program, w->org, "pending", 300, "EUR", T0 + DAY);
	OK(rf_store_commission_set_status(c->s, &eur, "rejected", "duplicate", "usr_1", T0 + 2 * DAY, E));
	add_commission(c, w->program, w->org, "held", 50, "GBP", T0 + DAY);
	rf_fx_rate fx = {.base = "USD", .quote = "EUR", .valid_from = T0, .rate_ppb = 920000000, .created_at = T0};
	OK(rf_store_fx_put(c->s, &fx, E));
	OK(rf_store_stripe_event_add(c->s, w->program, "evt_1", "invoice.paid", "sale", w->sale, T0, E));
	rf_payout_run run = run_of(c, w->program, T0 + 10 * DAY);
	OK(rf_store_payout_run_insert(c->s, &run, E));
	w->run = run.id;
	rf_payout_item it = item_of(c, run.id, w->agent, 2000, "USD", 1);
	OK(rf_store_payout_item_insert(c->s, &it, w->program, run.cutoff, E));
	OK(rf_store_payout_lock(c->s, run.id, E));
	/* The event log, an endpoint, a delivery of the event to it and its attempt. */
	rf_event lev = {.id = new_id(c, "evt"),
			.type = "sale.created",
			.program_id = w->program,
			.object_id = w->sale,
			.partner_id = w->org,
			.data = "{\"object\":\"sale\"}",
			.created_at = T0 + DAY};
	OK(rf_store_event_insert(c->s, &lev, E));
	rf_webhook_endpoint wh = {.id = new_id(c, "wh"),
				  .url = "https://hooks.example/",
				  .event_types = "[\"*\"]",
				  .program_id = w->program,
				  .secret_sealed = (unsigned char *)"sealed",
				  .secret_sealed_len = 6,
				  .status = "enabled",
				  .created_at = T0,
				  .updated_at = T0};
	OK(rf_store_webhook_endpoint_insert(c->s, &wh, E));
	rf_delivery dl = {.id = new_id(c, "dlv"),
			  .kind = "webhook",
			  .target_id = wh.id,
			  .event_id = lev.id,
			  .status = "pending",
			  .next_at = T0 + DAY,
			  .created_at = T0 + DAY};
	OK(rf_store_delivery_insert(c->s, &dl, E));
	dl.attempts = 1;
	dl.has_status_code = true;
	dl.last_status_code = 500;
	rf_delivery_attempt at = {.at = T0 + DAY, .has_status_code = true, .status_code = 500, .latency_ms = 12};
	OK(rf_store_delivery_attempted(c->s, &dl, &at, E));
	/* A connection, what its system sent and what refd learnt from it. */
	rf_connection conn = connection_of(c, w->program, "paddle");
	OK(rf_store_connection_insert(c->s, &conn, E));
	rf_inbound_event ib = inbound_of(c, &conn, "evt_01kd", "processed", T0 + DAY);
	ib.object_id = w->sale;
	OK(rf_store_inbound_event_insert(c->s, &ib, E));
	OK(rf_store_external_object_put(c->s, w->program, "paddle", "discount", "dsc_1", "ACME20", 0, T0, E));
	/* A message of the outbox, its delivery, a kind turned off and a digest's key. */
	rf_mail_message mm = {.id = new_id(c, "msg"),
			      .category = "payout",
			      .recipient = "org@example.com",
			      .recipient_name = "Org Ünal",
			      .partner_id = w->org,
			      .program_id = w->program,
			      .message_id = "<m@refer.example>",
			      .subject = "Payout sent: 20.00 USD",
			      .text_body = "Hello",
			      .html_body = "<p>Hello</p>",
			      .headers = "{}",
			      .created_at = T0 + DAY};
	OK(rf_store_mail_message_insert(c->s, &mm, E));
	rf_delivery md = {.id = new_id(c, "dlv"),
			  .kind = "mail",
			  .target_id = mm.id,
			  .event_id = mm.id,
			  .status = "pending",
			  .next_at = T0 + DAY,
			  .created_at = T0 + DAY};
	OK(rf_store_delivery_insert(c->s, &md, E));
	OK(rf_store_mail_optout_set(c->s, w->org, "commissions_digest", true, "unsubscribe", T0, E));
	bool claimed = false;
	OK(rf_store_mail_run_claim(c->s, "commissions_digest:x", 20454, T0, T0, &claimed, NULL, E));
}

typedef struct {
	char names[64][32];
	int64_t rows[64];
	int n;
} copy_log;

static void on_copied(const char *table, int64_t rows, void *arg)
{
	copy_log *l = arg;
	for (int i = 0; i < l->n; i++)
		if (strcmp(l->names[i], table) == 0) {
			l->rows[i] = rows;
			return;
		}
	if (l->n < 64) {
		snprintf(l->names[l->n], sizeof l->names[0], "%s", table);
		l->rows[l->n++] = rows;
	}
}

/* The copied objects read back the same from to as from from. */
static void same_world(ctx *c, rf_store *from, rf_store *to, const world *w)
{
	rf_program p1, p2;
	OK(rf_store_program_get(from, w->program, &p1, &c->a, E));
	OK(rf_store_program_get(to, w->program, &p2, &c->a, E));
	same_program(&p2, &p1);
	const char *partners[] = {w->org, w->agent};
	for (int i = 0; i < 2; i++) {
		rf_partner a, b;
		OK(rf_store_partner_get(from, partners[i], &a, &c->a, E));
		OK(rf_store_partner_get(to, partners[i], &b, &c->a, E));
		same_partner_but_code(&b, &a);
		SAME(b.recruitment_code, a.recruitment_code);
		OK(rf_store_partner_by_recruitment_code(to, a.recruitment_code, &b, &c->a, E));
		SAME(b.id, a.id);
	}
	rf_link l1, l2;
	OK(rf_store_link_get(from, w->link, &l1, &c->a, E));
	OK(rf_store_link_get(to, w->link, &l2, &c->a, E));
	same_link(&l2, &l1);
	rf_click k1, k2;
	OK(rf_store_click_get(from, w->click, &k1, &c->a, E));
	OK(rf_store_click_get(to, w->click, &k2, &c->a, E));
	same_click(&k2, &k1);
	rf_lead d1, d2;
	OK(rf_store_lead_get(from, w->lead, &d1, &c->a, E));
	OK(rf_store_lead_get(to, w->lead, &d2, &c->a, E));
	same_lead(&d2, &d1);
	rf_sale s1, s2;
	OK(rf_store_sale_get(from, w->sale, &s1, &c->a, E));
	OK(rf_store_sale_get(to, w->sale, &s2, &c->a, E));
	same_sale(&s2, &s1);
	rf_refund r1, r2;
	OK(rf_store_refund_get(from, w->refund, &r1, &c->a, E));
	OK(rf_store_refund_get(to, w->refund, &r2, &c->a, E));
	same_refund(&r2, &r1);
	rf_commission e1, e2;
	OK(rf_store_commission_get(from, w->commission, &e1, &c->a, E));
	OK(rf_store_commission_get(to, w->commission, &e2, &c->a, E));
	same_commission(&e2, &e1);
	/* The search finds the copied partners (SQLite's index is made by the copy's inserts, PostgreSQL's column by
	 * the server). */
	rf_partner_filter f = {.page = {.limit = 10}, .q = "unal"};
	rf_partner *items;
	size_t n;
	bool more;
	OK(rf_store_partner_list(to, &f, &items, &n, &more, &c->a, E));
	assert_int_equal(n, 1);
	SAME(items[0].id, w->org);
	char *v = NULL;
	OK(rf_store_setting_get(to, "conformance", &v, &c->a, E));
	SAME(v, "yes");
}

/* From the case's backend into the other one (PostgreSQL from SQLite, SQLite from PostgreSQL) and back into a
 * fresh database of its own kind: every table's rows, ids and balances survive, the copy check finds nothing, and a
 * difference made afterwards is found. */
CASE(copy_there_and_back)
{
	ctx *c = *state;
	world w;
	fill_world(c, &w);
	bk_kind there_kind = c->bk->kind == BK_SQLITE ? BK_POSTGRES : BK_SQLITE;
	if (there_kind == BK_POSTGRES && !pg.available) {
		print_message("copy_there_and_back: no PostgreSQL server (REFD_TEST_STORE_SQLITE_ONLY); copying SQLite "
			      "to SQLite\n");
		there_kind = BK_SQLITE;
	}
	rf_store *there = new_store(c, there_kind, true);
	copy_log log = {0};
	OK(rf_store_copy(c->s, there, on_copied, &log, E));
	assert_int_equal(log.n, 43);
	for (int i = 0; i < log.n; i++)
		if (log.rows[i] <= 0)
			fail_msg("the world has no rows in %s", log.names[i]);
	rf_copy_check chk;
	OK(rf_store_copy_verify(c->s, there, &chk, &c->a, E));
	if (chk.mismatch)
		fail_msg("copy into %s: %s", rf_store_backend(there), chk.mismatch);
	assert_int_equal(chk.tables, 43);
	assert_true(chk.rows > 60);
	assert_int_equal(chk.partners, 2);
	same_world(c, c->s, there, &w);

	rf_store *back = new_store(c, c->bk->kind, true);
	OK(rf_store_copy(there, back, NULL, NULL, E));
	OK(rf_store_copy_verify(c->s, back, &chk, &c->a, E));
	if (chk.mismatch)
		fail_msg("copy back into %s: %s", rf_store_backend(back), chk.mismatch);
	OK(rf_store_copy_verify(there, back, &chk, &c->a, E));
	assert_null(chk.mismatch);
	same_world(c, c->s, back, &w);

	/* The check compares more than row counts: one more click on a day that already has rollups changes the
	 * report totals and no count. */
	const char *org_entity[] = {rf_arena_printf(&c->a, "p:%s", w.org)}, *all[] = {"all"};
	rf_metrics click = metric(RF_M_CLICKS, 1);
	OK(rf_store_rollup_add(there, w.program, T0, "", org_entity, 1, all, 1, &click, E));
	OK(rf_store_copy_verify(c->s, there, &chk, &c->a, E));
	SAME(chk.mismatch, "the report totals differ");

	/* New rows after a copy come after the copied ones (PostgreSQL's identities were moved past them). */
	rf_store *targets[] = {there, back};
	for (int i = 0; i < 2; i++) {
		rf_partner p = partner_of(c, w.program, "After the copy");
		OK(rf_store_partner_insert(targets[i], &p, E));
		rf_partner_filter f = {.page = {.limit = 1}, .program_id = w.program};
		rf_partner *items;
		size_t n;
		bool more;
		OK(rf_store_partner_list(targets[i], &f, &items, &n, &more, &c->a, E));
		SAME(items[0].id, p.id);
		assert_true(more);
	}

	/* A copy goes only into an empty, migrated database. */
	FAILS(RF_ECONFLICT, "to", rf_store_copy(c->s, there, NULL, NULL, E));
	rf_store *blank = new_store(c, there_kind, false);
	FAILS(RF_EINVAL, "to", rf_store_copy(c->s, blank, NULL, NULL, E));
	/* The check finds a difference: the partner added to the copy. */
	OK(rf_store_copy_verify(c->s, back, &chk, &c->a, E));
	SAME(chk.mismatch, "partners: 2 rows in the source, 3 in the copy");
}

/* ---- benchmark data ---- */

/* Synthetic activity is generated by SQLite's own script; PostgreSQL gets it by a copy (store.h). */
CASE(bench_fill)
{
	ctx *c = *state;
	char *prog = add_program(c, "Bench");
	char *org = add_partner(c, prog, "Org", "partner", NULL);
	add_partner(c, prog, "Agent", "agent", NULL);
	add_partner(c, prog, "Other", "affiliate", NULL);
	FAILS(RF_EINVAL, "sales", rf_store_bench_fill(c->s, prog, 10, 20, 5, 10, T0 + 10 * DAY, E));
	if (c->bk->kind == BK_POSTGRES) {
		FAILS(RF_EINVAL, "db", rf_store_bench_fill(c->s, prog, 200, 20, 5, 10, T0 + 10 * DAY, E));
		return;
	}
	FAILS(RF_EINVAL, "program_id",
	      rf_store_bench_fill(c->s, "prg_x'; DROP TABLE leads; --", 200, 20, 5, 10, T0, E));
	OK(rf_store_bench_fill(c->s, prog, 200, 20, 5, 10, T0 + 10 * DAY, E));
	/* A link per partner, 200 clicks of which one in twenty is a bot, 20 leads, 5 sales. */
	rf_link_filter f = {.page = {.limit = 100}, .program_id = prog};
	rf_link *links;
	size_t n;
	bool more;
	OK(rf_store_link_list(c->s, &f, &links, &n, &more, &c->a, E));
	assert_int_equal(n, 3);
	int64_t counts[4] = {0};
	for (size_t i = 0; i < n; i++) {
		int64_t k[4];
		OK(rf_store_click_counts(c->s, links[i].id, k, E));
		for (int j = 0; j < 4; j++)
			counts[j] += k[j];
	}
	assert_int_equal(counts[0], 190);
	assert_int_equal(counts[1], 10);
	rf_lead_filter lf = {.page = {.limit = 100}, .program_id = prog, .registration = -1};
	rf_lead *leads;
	OK(rf_store_lead_list(c->s, &lf, &leads, &n, &more, &c->a, E));
	assert_int_equal(n, 20);
	rf_sale_filter sf = {.page = {.limit = 100}, .program_id = prog};
	rf_sale *sales;
	OK(rf_store_sale_list(c->s, &sf, &sales, &n, &more, &c->a, E));
	assert_int_equal(n, 5);
	/* Rollups are left to a rebuild, which then counts the counted clicks. */
	rf_metrics t;
	OK(rf_store_rollup_total_before(c->s, prog, rf_arena_printf(&c->a, "p:%s", org), "", D0 + 20, &t, E));
	assert_int_equal(t.v[RF_M_CLICKS], 0);
	OK(rf_store_rollup_rebuild(c->s, E));
	lines l = {.c = c, .tag = "D"};
	OK(rf_store_rollup_daily(c->s, prog, "all", D0 - 10, D0 + 20, on_day, &l, E));
	assert_true(l.n > 1);
	/* Every counted click is under one partner's key (an agent's under its team's partner). */
	int64_t clicks = 0;
	rf_rollup_key *k;
	size_t nk;
	OK(rf_store_rollup_keys(c->s, prog, "p:", &k, &nk, &c->a, E));
	for (size_t i = 0; i < nk; i++) {
		OK(rf_store_rollup_total_before(c->s, prog, k[i].entity, k[i].currency, D0 + 20, &t, E));
		clicks += t.v[RF_M_CLICKS];
	}
	assert_int_equal(clicks, 190);
}

/* ---- the list of cases, run per backend ---- */

/* ---- events, webhook endpoints, deliveries ---- */

static rf_event event_of(ctx *c, const char *type, const char *program, const char *object, const char *partner,
			 int64_t at)
{
	rf_event e = {.id = new_id(c, "evt"),
		      .type = (char *)type,
		      .program_id = (char *)program,
		      .object_id = (char *)object,
		      .partner_id = (char *)partner,
		      .data = rf_arena_printf(&c->a, "{\"id\":\"%s\",\"object\":\"thing\"}", object),
		      .created_at = at};
	return e;
}

static char *event_ids(ctx *c, const rf_event_filter *f, bool *more)
{
	rf_event *items = NULL;
	size_t n = 0;
	bool m = false;
	OK(rf_store_event_list(c->s, f, &items, &n, more ? more : &m, &c->a, E));
	return IDS(items, n, id);
}

CASE(events_log)
{
	ctx *c = *state;
	char *prog = add_program(c, "P"), *q = add_program(c, "Q");
	char *org = add_partner(c, prog, "Org", "partner", NULL);
	char *agent = add_partner(c, prog, "Agent", "agent", org);
	char *other = add_partner(c, q, "Other", "partner", NULL);
	rf_event e1 = event_of(c, "lead.created", prog, "lead_1", org, T0);
	rf_event e2 = event_of(c, "lead.converted", prog, "lead_1", agent, T0 + DAY);
	rf_event e3 = event_of(c, "sale.created", q, "sale_1", other, T0 + 2 * DAY);
	rf_event e4 = event_of(c, "payout_run.created", prog, "po_1", NULL, T0 + 3 * DAY);
	OK(rf_store_event_insert(c->s, &e1, E));
	OK(rf_store_event_insert(c->s, &e2, E));
	OK(rf_store_event_insert(c->s, &e3, E));
	OK(rf_store_event_insert(c->s, &e4, E));
	rf_event dup = e1;
	FAILS(RF_ECONFLICT, "id", rf_store_event_insert(c->s, &dup, E));
	rf_event got;
	OK(rf_store_event_get(c->s, e2.id, &got, &c->a, E));
	SAME(got.id, e2.id);
	SAME(got.type, e2.type);
	SAME(got.program_id, prog);
	SAME(got.object_id, "lead_1");
	SAME(got.partner_id, agent);
	SAME(got.data, e2.data);
	assert_int_equal(got.created_at, T0 + DAY);
	OK(rf_store_event_get(c->s, e4.id, &got, &c->a, E));
	assert_null(got.partner_id);
	FAILS(RF_ENOTFOUND, NULL, rf_store_event_get(c->s, "evt_missing", &got, &c->a, E));

	rf_event_filter f = {.page = {.limit = 100, .settled = true}};
	SAME(event_ids(c, &f, NULL), join(c, 4, e4.id, e3.id, e2.id, e1.id));
	f.type = "lead.created";
	SAME(event_ids(c, &f, NULL), e1.id);
	f.type = NULL;
	f.program_id = q;
	SAME(event_ids(c, &f, NULL), e3.id);
	f.program_id = NULL;
	f.object_id = "lead_1";
	SAME(event_ids(c, &f, NULL), join(c, 2, e2.id, e1.id));
	f.object_id = NULL;
	f.scope_id = org; /* the partner and its team's agents */
	SAME(event_ids(c, &f, NULL), join(c, 2, e2.id, e1.id));
	f.scope_id = agent;
	SAME(event_ids(c, &f, NULL), e2.id);
	f.scope_id = NULL;
	f.created_from = T0 + DAY;
	f.created_to = T0 + 3 * DAY;
	SAME(event_ids(c, &f, NULL), join(c, 2, e3.id, e2.id));
	f.created_from = f.created_to = 0;
	bool more = false;
	rf_event_filter pf = {.page = {.limit = 3, .settled = true}};
	SAME(event_ids(c, &pf, &more), join(c, 3, e4.id, e3.id, e2.id));
	assert_true(more);
	pf.page.starting_after = e2.id;
	SAME(event_ids(c, &pf, &more), e1.id);
	assert_false(more);
	rf_event_filter asc = {.page = {.limit = 2}, .oldest_first = true};
	SAME(event_ids(c, &asc, &more), join(c, 2, e1.id, e2.id));
	pf.page.starting_after = "evt_missing";
	FAILS(RF_EINVAL, "starting_after",
	      rf_store_event_list(c->s, &pf, &(rf_event *){NULL}, &(size_t){0}, &more, &c->a, E));
	memset(E, 0, sizeof *E);

	/* A delivery of e1, so that the purge is seen to take it along. */
	rf_delivery d = {.id = new_id(c, "dlv"),
			 .kind = "webhook",
			 .target_id = "wh_x",
			 .event_id = e1.id,
			 .status = "pending",
			 .next_at = T0,
			 .created_at = T0};
	OK(rf_store_delivery_insert(c->s, &d, E));
	rf_delivery_attempt at = {.at = T0 + 1, .latency_ms = 5, .error = "refused"};
	d.attempts = 1;
	d.next_at = T0 + 60000;
	d.last_error = "refused";
	OK(rf_store_delivery_attempted(c->s, &d, &at, E));
	/* A pending delivery keeps its event: it is not lost to the retention. */
	int64_t removed = -1;
	OK(rf_store_event_purge(c->s, T0 + DAY, 10, &removed, E));
	assert_int_equal(removed, 0);
	OK(rf_store_event_get(c->s, e1.id, &got, &c->a, E));
	d.status = "failed";
	d.attempts = 2;
	OK(rf_store_delivery_attempted(c->s, &d, &at, E));
	OK(rf_store_event_purge(c->s, T0 + DAY, 10, &removed, E));
	assert_int_equal(removed, 1);
	FAILS(RF_ENOTFOUND, NULL, rf_store_event_get(c->s, e1.id, &got, &c->a, E));
	rf_delivery dg;
	FAILS(RF_ENOTFOUND, NULL, rf_store_delivery_get(c->s, d.id, &dg, &c->a, E));
	rf_delivery_attempt *ats = NULL;
	size_t nat = 9;
	OK(rf_store_delivery_attempts(c->s, d.id, &ats, &nat, &c->a, E));
	assert_int_equal(nat, 0);
	/* At most max at a time, the oldest first. */
	OK(rf_store_event_purge(c->s, T0 + 10 * DAY, 2, &removed, E));
	assert_int_equal(removed, 2);
	OK(rf_store_event_get(c->s, e4.id, &got, &c->a, E));
	OK(rf_store_event_purge(c->s, T0 + 10 * DAY, 2, &removed, E));
	assert_int_equal(removed, 1);
	OK(rf_store_event_purge(c->s, T0 + 10 * DAY, 2, &removed, E));
	assert_int_equal(removed, 0);
}

static rf_webhook_endpoint endpoint_of(ctx *c, const char *program, const char *types)
{
	rf_webhook_endpoint w = {.id = new_id(c, "wh"),
				 .url = "https://hooks.example/refd",
				 .description = "CRM sync",
				 .event_types = (char *)types,
				 .program_id = (char *)program,
				 .secret_sealed = (unsigned char *)"sealed\0secret",
				 .secret_sealed_len = 13,
				 .status = "enabled",
				 .created_at = T0,
				 .updated_at = T0};
	return w;
}

CASE(webhook_endpoints)
{
	ctx *c = *state;
	char *prog = add_program(c, "P"), *q = add_program(c, "Q");
	rf_webhook_endpoint all = endpoint_of(c, NULL, "[\"*\"]");
	rf_webhook_endpoint mine = endpoint_of(c, prog, "[\"lead.created\",\"sale.created\"]");
	rf_webhook_endpoint theirs = endpoint_of(c, q, "[\"*\"]");
	rf_webhook_endpoint off = endpoint_of(c, prog, "[\"*\"]");
	off.status = "disabled";
	off.disabled_reason = "failing for 5 days";
	OK(rf_store_webhook_endpoint_insert(c->s, &all, E));
	OK(rf_store_webhook_endpoint_insert(c->s, &mine, E));
	OK(rf_store_webhook_endpoint_insert(c->s, &theirs, E));
	OK(rf_store_webhook_endpoint_insert(c->s, &off, E));
	FAILS(RF_ECONFLICT, "id", rf_store_webhook_endpoint_insert(c->s, &all, E));
	rf_webhook_endpoint got;
	OK(rf_store_webhook_endpoint_get(c->s, mine.id, &got, &c->a, E));
	SAME(got.url, mine.url);
	SAME(got.description, "CRM sync");
	SAME(got.event_types, mine.event_types);
	SAME(got.program_id, prog);
	SAME_BYTES(got.secret_sealed, got.secret_sealed_len, mine.secret_sealed, mine.secret_sealed_len);
	assert_null(got.old_secret_sealed);
	SAME(got.status, "enabled");
	assert_null(got.disabled_reason);
	assert_int_equal(got.created_at, T0);
	FAILS(RF_ENOTFOUND, NULL, rf_store_webhook_endpoint_get(c->s, "wh_missing", &got, &c->a, E));

	/* A rotation keeps the old secret beside the new one for a while. */
	got.old_secret_sealed = got.secret_sealed;
	got.old_secret_sealed_len = got.secret_sealed_len;
	got.secret_sealed = (unsigned char *)"new";
	got.secret_sealed_len = 3;
	got.old_secret_until = T0 + DAY;
	got.failing_since = T0 + 5;
	got.updated_at = T0 + 7;
	OK(rf_store_webhook_endpoint_update(c->s, &got, E));
	rf_webhook_endpoint again;
	OK(rf_store_webhook_endpoint_get(c->s, mine.id, &again, &c->a, E));
	SAME_BYTES(again.secret_sealed, again.secret_sealed_len, (const unsigned char *)"new", 3);
	SAME_BYTES(again.old_secret_sealed, again.old_secret_sealed_len, mine.secret_sealed, mine.secret_sealed_len);
	assert_int_equal(again.old_secret_until, T0 + DAY);
	assert_int_equal(again.failing_since, T0 + 5);
	assert_int_equal(again.updated_at, T0 + 7);
	rf_webhook_endpoint ghost = endpoint_of(c, NULL, "[]");
	FAILS(RF_ENOTFOUND, NULL, rf_store_webhook_endpoint_update(c->s, &ghost, E));

	rf_webhook_endpoint *items = NULL;
	size_t n = 0;
	bool more = false;
	rf_page page = {.limit = 3, .settled = true};
	OK(rf_store_webhook_endpoint_list(c->s, &page, &items, &n, &more, &c->a, E));
	SAME(IDS(items, n, id), join(c, 3, off.id, theirs.id, mine.id));
	assert_true(more);
	page.starting_after = mine.id;
	OK(rf_store_webhook_endpoint_list(c->s, &page, &items, &n, &more, &c->a, E));
	SAME(IDS(items, n, id), all.id);
	/* The enabled ones for an event of prog: those of every program and prog's. */
	OK(rf_store_webhook_endpoints_enabled(c->s, prog, &items, &n, &c->a, E));
	SAME(IDS(items, n, id), join(c, 2, all.id, mine.id));
	OK(rf_store_webhook_endpoints_enabled(c->s, NULL, &items, &n, &c->a, E));
	SAME(IDS(items, n, id), all.id);

	/* Deleted with its deliveries. */
	rf_delivery d = {.id = new_id(c, "dlv"),
			 .kind = "webhook",
			 .target_id = mine.id,
			 .event_id = "evt_1",
			 .status = "pending",
			 .next_at = T0,
			 .created_at = T0};
	OK(rf_store_delivery_insert(c->s, &d, E));
	OK(rf_store_webhook_endpoint_delete(c->s, mine.id, E));
	FAILS(RF_ENOTFOUND, NULL, rf_store_webhook_endpoint_get(c->s, mine.id, &got, &c->a, E));
	rf_delivery dg;
	FAILS(RF_ENOTFOUND, NULL, rf_store_delivery_get(c->s, d.id, &dg, &c->a, E));
	FAILS(RF_ENOTFOUND, NULL, rf_store_webhook_endpoint_delete(c->s, mine.id, E));
}

CASE(deliveries_claimed_once)
{
	ctx *c = *state;
	rf_delivery d[4];
	for (int i = 0; i < 4; i++) {
		rf_delivery x = {.id = new_id(c, "dlv"),
				 .kind = i == 3 ? "mail" : "webhook",
				 .target_id = "wh_a",
				 .event_id = rf_arena_printf(&c->a, "evt_%d", i),
				 .status = "pending",
				 .next_at = T0 + i * 1000,
				 .created_at = T0};
		d[i] = x;
		OK(rf_store_delivery_insert(c->s, &d[i], E));
	}
	FAILS(RF_ECONFLICT, "id", rf_store_delivery_insert(c->s, &d[0], E));
	rf_delivery got;
	OK(rf_store_delivery_get(c->s, d[1].id, &got, &c->a, E));
	SAME(got.kind, "webhook");
	SAME(got.target_id, "wh_a");
	SAME(got.event_id, "evt_1");
	SAME(got.status, "pending");
	assert_int_equal(got.attempts, 0);
	assert_int_equal(got.next_at, T0 + 1000);
	assert_false(got.has_status_code);
	FAILS(RF_ENOTFOUND, NULL, rf_store_delivery_get(c->s, "dlv_missing", &got, &c->a, E));

	/* Due by T0 + 1500: the first two webhooks, the longest due first; claimed for a minute. */
	rf_delivery *items = NULL;
	size_t n = 0;
	OK(rf_store_delivery_claim(c->s, "webhook", T0 + 1500, 60000, 10, &items, &n, &c->a, E));
	assert_int_equal(n, 2);
	SAME(IDS(items, n, event_id), "evt_0 evt_1");
	assert_int_equal(items[0].lease_until, T0 + 1500 + 60000);
	/* Claimed: not again until the claim runs out, whoever asks. */
	OK(rf_store_delivery_claim(c->s, "webhook", T0 + 2500, 60000, 10, &items, &n, &c->a, E));
	SAME(IDS(items, n, event_id), "evt_2");
	OK(rf_store_delivery_claim(c->s, "webhook", T0 + 61499, 60000, 10, &items, &n, &c->a, E));
	assert_int_equal(n, 0);
	/* A sender that died: its claim runs out and another takes the delivery. */
	OK(rf_store_delivery_claim(c->s, "webhook", T0 + 61500, 60000, 1, &items, &n, &c->a, E));
	assert_int_equal(n, 1);
	SAME(items[0].event_id, "evt_0");

	/* An attempt: its outcome on the delivery (claim released), the attempt logged. */
	got = d[1];
	got.status = "pending";
	got.attempts = 1;
	got.next_at = T0 + 120000;
	got.has_status_code = true;
	got.last_status_code = 503;
	got.last_error = "HTTP 503";
	rf_delivery_attempt a1 = {.at = T0 + 1600,
				  .has_status_code = true,
				  .status_code = 503,
				  .latency_ms = 42,
				  .response = "busy",
				  .error = "HTTP 503"};
	OK(rf_store_delivery_attempted(c->s, &got, &a1, E));
	got.status = "delivered";
	got.attempts = 2;
	got.last_status_code = 200;
	got.last_error = NULL;
	rf_delivery_attempt a2 = {
	    .at = T0 + 120001, .has_status_code = true, .status_code = 200, .latency_ms = 7, .response = "ok"};
	OK(rf_store_delivery_attempted(c->s, &got, &a2, E));
	rf_delivery now;
	OK(rf_store_delivery_get(c->s, d[1].id, &now, &c->a, E));
	SAME(now.status, "delivered");
	assert_int_equal(now.attempts, 2);
	assert_int_equal(now.lease_until, 0);
	assert_true(now.has_status_code);
	assert_int_equal(now.last_status_code, 200);
	assert_null(now.last_error);
	assert_int_equal(now.updated_at, T0 + 120001);
	rf_delivery_attempt *ats = NULL;
	size_t nat = 0;
	OK(rf_store_delivery_attempts(c->s, d[1].id, &ats, &nat, &c->a, E));
	assert_int_equal(nat, 2);
	assert_int_equal(ats[0].status_code, 503);
	assert_int_equal(ats[0].latency_ms, 42);
	SAME(ats[0].response, "busy");
	SAME(ats[0].error, "HTTP 503");
	SAME(ats[1].delivery_id, d[1].id);
	assert_null(ats[1].error);
	rf_delivery ghost = d[0];
	ghost.id = "dlv_missing";
	FAILS(RF_ENOTFOUND, NULL, rf_store_delivery_attempted(c->s, &ghost, &a1, E));
	/* Delivered: never claimed again. */
	OK(rf_store_delivery_claim(c->s, "webhook", T0 + 10 * DAY, 60000, 10, &items, &n, &c->a, E));
	SAME(IDS(items, n, event_id), "evt_0 evt_2");

	/* The log of a target, newest first, by status. */
	rf_delivery_filter f = {.page = {.limit = 10, .settled = true}, .target_id = "wh_a"};
	bool more = false;
	OK(rf_store_delivery_list(c->s, &f, &items, &n, &more, &c->a, E));
	SAME(IDS(items, n, event_id), "evt_3 evt_2 evt_1 evt_0");
	f.status = "delivered";
	OK(rf_store_delivery_list(c->s, &f, &items, &n, &more, &c->a, E));
	SAME(IDS(items, n, event_id), "evt_1");
	f.status = NULL;
	f.event_id = "evt_2";
	OK(rf_store_delivery_list(c->s, &f, &items, &n, &more, &c->a, E));
	SAME(IDS(items, n, id), d[2].id);
	f.event_id = NULL;
	f.page.limit = 2;
	f.page.starting_after = d[2].id;
	OK(rf_store_delivery_list(c->s, &f, &items, &n, &more, &c->a, E));
	SAME(IDS(items, n, event_id), "evt_1 evt_0");
	assert_false(more);
}

CASE(deliveries_due_and_cancelled)
{
	ctx *c = *state;
	int64_t next = -1;
	OK(rf_store_delivery_next_due(c->s, "webhook", T0, &next, E));
	assert_int_equal(next, 0); /* nothing waits */
	const char *targets[] = {"wh_a", "wh_a", "wh_b", "wh_a"};
	const char *kinds[] = {"webhook", "webhook", "webhook", "mail"};
	rf_delivery d[4];
	for (int i = 0; i < 4; i++) {
		rf_delivery x = {.id = new_id(c, "dlv"),
				 .kind = (char *)kinds[i],
				 .target_id = (char *)targets[i],
				 .event_id = rf_arena_printf(&c->a, "evt_%d", i),
				 .status = "pending",
				 .next_at = T0 + (3 - i) * 1000,
				 .created_at = T0};
		d[i] = x;
		OK(rf_store_delivery_insert(c->s, &d[i], E));
	}
	/* The earliest webhook, due in the future or already past; another kind's are not counted. */
	OK(rf_store_delivery_next_due(c->s, "webhook", T0, &next, E));
	assert_int_equal(next, T0 + 1000);
	OK(rf_store_delivery_next_due(c->s, "webhook", T0 + 5000, &next, E));
	assert_int_equal(next, T0 + 1000);
	OK(rf_store_delivery_next_due(c->s, "mail", T0, &next, E));
	assert_int_equal(next, T0);
	/* One claimed is passed over until its lease runs out. */
	rf_delivery *items = NULL;
	size_t n = 0;
	OK(rf_store_delivery_claim(c->s, "webhook", T0 + 1500, 60000, 1, &items, &n, &c->a, E));
	SAME(IDS(items, n, event_id), "evt_2");
	OK(rf_store_delivery_next_due(c->s, "webhook", T0 + 1500, &next, E));
	assert_int_equal(next, T0 + 2000);
	OK(rf_store_delivery_next_due(c->s, "webhook", T0 + 61500, &next, E));
	assert_int_equal(next, T0 + 1000);

	/* An endpoint disabled: its pending webhooks are cancelled (the claimed one too), nothing else. */
	int64_t cancelled = -1;
	OK(rf_store_deliveries_cancel(c->s, "webhook", "wh_a", "endpoint disabled", T0 + 7000, &cancelled, E));
	assert_int_equal(cancelled, 2);
	rf_delivery got;
	OK(rf_store_delivery_get(c->s, d[0].id, &got, &c->a, E));
	SAME(got.status, "cancelled");
	SAME(got.last_error, "endpoint disabled");
	assert_int_equal(got.updated_at, T0 + 7000);
	assert_int_equal(got.lease_until, 0);
	OK(rf_store_delivery_get(c->s, d[3].id, &got, &c->a, E));
	SAME(got.status, "pending");
	OK(rf_store_delivery_get(c->s, d[2].id, &got, &c->a, E));
	SAME(got.status, "pending");
	OK(rf_store_delivery_next_due(c->s, "webhook", T0 + 61500, &next, E));
	assert_int_equal(next, T0 + 1000);
	OK(rf_store_deliveries_cancel(c->s, "webhook", "wh_a", "again", T0 + 8000, &cancelled, E));
	assert_int_equal(cancelled, 0);
	OK(rf_store_deliveries_cancel(c->s, "webhook", "wh_b", "gone", T0 + 8000, NULL, E));
	OK(rf_store_delivery_next_due(c->s, "webhook", T0 + 61500, &next, E));
	assert_int_equal(next, 0);

	/* Only a failed delivery is queued again: due at once, its attempts kept; not twice, nor one that is not. */
	rf_delivery bad = d[2];
	bad.status = "failed";
	bad.attempts = 3;
	bad.last_error = "refused";
	rf_delivery_attempt at = {.delivery_id = bad.id, .at = T0 + 8500, .error = "refused"};
	OK(rf_store_delivery_attempted(c->s, &bad, &at, E));
	OK(rf_store_delivery_retry(c->s, bad.id, T0 + 9000, E));
	OK(rf_store_delivery_get(c->s, bad.id, &got, &c->a, E));
	SAME(got.status, "pending");
	assert_int_equal(got.next_at, T0 + 9000);
	assert_int_equal(got.updated_at, T0 + 9000);
	assert_int_equal(got.attempts, 3);
	SAME(got.last_error, "refused");
	OK(rf_store_delivery_next_due(c->s, "webhook", T0 + 61500, &next, E));
	assert_int_equal(next, T0 + 9000);
	FAILS(RF_ECONFLICT, "status", rf_store_delivery_retry(c->s, bad.id, T0 + 9500, E));
	FAILS(RF_ECONFLICT, "status", rf_store_delivery_retry(c->s, d[0].id, T0 + 9500, E));
	FAILS(RF_ENOTFOUND, NULL, rf_store_delivery_retry(c->s, "dlv_none", T0 + 9500, E));
	OK(rf_store_deliveries_cancel(c->s, "webhook", "wh_b", "gone", T0 + 10000, NULL, E));
	OK(rf_store_delivery_next_due(c->s, "webhook", T0 + 61500, &next, E));
	assert_int_equal(next, 0);

	/* A sender's connection whose commits do not wait for the disk: what it commits is seen by the others. */
	rf_store *lazy = NULL;
	OK(rf_store_open(c->location, &lazy, E));
	rf_status rc = rf_store_lazy_commits(lazy, E);
	rf_delivery late = d[0];
	late.id = new_id(c, "dlv");
	late.next_at = T0 + 9000;
	if (rc == RF_OK)
		rc = rf_store_begin(lazy, E);
	if (rc == RF_OK)
		rc = rf_store_delivery_insert(lazy, &late, E);
	if (rc == RF_OK)
		rc = rf_store_commit(lazy, E);
	rf_store_close(lazy);
	OK(rc);
	rf_store_idle(c->s);
	OK(rf_store_delivery_next_due(c->s, "webhook", T0, &next, E));
	assert_int_equal(next, T0 + 9000);
}

CASE(registrations_expired)
{
	ctx *c = *state;
	char *prog = add_program(c, "P");
	char *ptn = add_partner(c, prog, "Org", "partner", NULL);
	const char *statuses[] = {"new", "qualified", "pending_review", "rejected", "converted", "new"};
	int64_t ends[] = {T0 + DAY, T0 + 2 * DAY, T0 + DAY, T0 + DAY, T0 + DAY, T0 + 9 * DAY};
	char *ids[6];
	for (int i = 0; i < 6; i++) {
		rf_lead l = lead_of(c, prog, ptn, NULL, T0);
		l.registration = true;
		l.status = (char *)statuses[i];
		l.protected_until = ends[i];
		OK(rf_store_lead_insert(c->s, &l, E));
		ids[i] = l.id;
	}
	add_lead(c, prog, ptn, NULL, T0); /* not a registration */
	rf_lead *items = NULL;
	size_t n = 0;
	OK(rf_store_registrations_expired(c->s, T0, T0 + 3 * DAY, 10, &items, &n, &c->a, E));
	SAME(IDS(items, n, id), join(c, 2, ids[0], ids[1]));
	OK(rf_store_registrations_expired(c->s, T0, T0 + 3 * DAY, 1, &items, &n, &c->a, E));
	SAME(IDS(items, n, id), ids[0]);
	OK(rf_store_registrations_expired(c->s, T0 + DAY, T0 + 3 * DAY, 10, &items, &n, &c->a, E));
	SAME(IDS(items, n, id), ids[1]);
	/* Once its deal.expired is written, a registration is not found again. */
	rf_event e = event_of(c, "deal.expired", prog, ids[0], ptn, T0 + DAY);
	OK(rf_store_event_insert(c->s, &e, E));
	OK(rf_store_registrations_expired(c->s, T0, T0 + 10 * DAY, 10, &items, &n, &c->a, E));
	SAME(IDS(items, n, id), join(c, 2, ids[1], ids[5]));
}

/* ---- coupons, connections, the inbound log, what refd learnt of other systems ---- */

CASE(link_coupons)
{
	ctx *c = *state;
	char *prog = add_program(c, "P"), *q = add_program(c, "Q");
	char *ptn = add_partner(c, prog, "Org", "partner", NULL), *other = add_partner(c, q, "In Q", "partner", NULL);
	rf_link l = {.id = new_id(c, "lnk"),
		     .program_id = prog,
		     .partner_id = ptn,
		     .code = "acme-link",
		     .destination_url = "https://shop.example/",
		     .target_url = "https://shop.example/",
		     .coupon = "ACME20",
		     .created_at = T0,
		     .updated_at = T0};
	OK(rf_store_link_insert(c->s, &l, "acme-link", E));
	rf_link got;
	OK(rf_store_link_get(c->s, l.id, &got, &c->a, E));
	same_link(&got, &l);
	rf_code_entry e;
	OK(rf_store_coupon_find(c->s, prog, "acme20", &e, &c->a, E));
	SAME(e.link_id, l.id);
	SAME(e.partner_id, ptn);
	assert_true(e.credited);
	FAILS(RF_ENOTFOUND, "coupon", rf_store_coupon_find(c->s, q, "ACME20", &e, &c->a, E));
	FAILS(RF_ENOTFOUND, "coupon", rf_store_coupon_find(c->s, prog, "ACME2", &e, &c->a, E));
	/* Unique in its program without regard to case; another program may have it. */
	rf_link dup = l;
	dup.id = new_id(c, "lnk");
	dup.code = "acme-two";
	dup.coupon = "acme20";
	FAILS(RF_ECONFLICT, "coupon", rf_store_link_insert(c->s, &dup, "acme-two", E));
	rf_link theirs = dup;
	theirs.program_id = q;
	theirs.partner_id = other;
	OK(rf_store_link_insert(c->s, &theirs, "acme-two", E));
	OK(rf_store_coupon_find(c->s, q, "Acme20", &e, &c->a, E));
	SAME(e.partner_id, other);
	rf_link plain = l;
	plain.id = new_id(c, "lnk");
	plain.code = "plain";
	plain.coupon = NULL;
	OK(rf_store_link_insert(c->s, &plain, "plain", E));
	plain.coupon = "ACME20";
	FAILS(RF_ECONFLICT, "coupon", rf_store_link_update(c->s, &plain, E));
	/* A link without its coupon, or archived, credits nobody by it. */
	l.coupon = NULL;
	l.updated_at = T0 + 1;
	OK(rf_store_link_update(c->s, &l, E));
	FAILS(RF_ENOTFOUND, "coupon", rf_store_coupon_find(c->s, prog, "ACME20", &e, &c->a, E));
	plain.coupon = "ACME20";
	plain.archived_at = T0 + 2;
	OK(rf_store_link_update(c->s, &plain, E));
	OK(rf_store_link_get(c->s, plain.id, &got, &c->a, E));
	same_link(&got, &plain);
	FAILS(RF_ENOTFOUND, "coupon", rf_store_coupon_find(c->s, prog, "ACME20", &e, &c->a, E));
}

static rf_connection connection_of(ctx *c, const char *program, const char *system)
{
	rf_connection k = {.id = new_id(c, "conn"),
			   .program_id = (char *)program,
			   .system = (char *)system,
			   .name = "Live",
			   .status = "enabled",
			   .credentials_sealed = (unsigned char *)sealed_bytes,
			   .credentials_sealed_len = sizeof sealed_bytes,
			   .credential_keys = "[\"webhook_secret\"]",
			   .settings = "{\"tolerance_seconds\":30}",
			   .stage_map = "{\"closedwon\":\"converted\"}",
			   .base_url = "http://127.0.0.1:9/api",
			   .created_at = T0,
			   .updated_at = T0};
	return k;
}

static void same_connection(const rf_connection *g, const rf_connection *w)
{
	SAME(g->id, w->id);
	SAME(g->program_id, w->program_id);
	SAME(g->system, w->system);
	SAME(g->name, w->name);
	SAME(g->status, w->status);
	SAME_BYTES(g->credentials_sealed, g->credentials_sealed_len, w->credentials_sealed, w->credentials_sealed_len);
	SAME(g->credential_keys, w->credential_keys);
	SAME(g->settings, w->settings);
	SAME(g->stage_map, w->stage_map);
	SAME(g->base_url, w->base_url);
	assert_int_equal(g->last_event_at, w->last_event_at);
	assert_int_equal(g->created_at, w->created_at);
	assert_int_equal(g->updated_at, w->updated_at);
}

static rf_inbound_event inbound_of(ctx *c, const rf_connection *k, const char *key, const char *outcome, int64_t at)
{
	rf_inbound_event e = {.id = new_id(c, "ibe"),
			      .connection_id = k->id,
			      .program_id = k->program_id,
			      .system = k->system,
			      .event_id = (char *)key,
			      .dedupe_key = (char *)key,
			      .type = "transaction.completed",
			      .outcome = (char *)outcome,
			      .reason = NULL,
			      .object_id = "sale_1",
			      .status_code = 200,
			      .occurred_at = at - 5,
			      .received_at = at};
	return e;
}

CASE(connections_round_trip)
{
	ctx *c = *state;
	char *prog = add_program(c, "P"), *q = add_program(c, "Q");
	rf_connection paddle = connection_of(c, prog, "paddle");
	OK(rf_store_connection_insert(c->s, &paddle, E));
	rf_connection got;
	OK(rf_store_connection_get(c->s, paddle.id, &got, &c->a, E));
	same_connection(&got, &paddle);
	FAILS(RF_ENOTFOUND, NULL, rf_store_connection_get(c->s, "conn_missing", &got, &c->a, E));
	/* A program connects a system once. */
	rf_connection again = connection_of(c, prog, "paddle");
	FAILS(RF_ECONFLICT, "system", rf_store_connection_insert(c->s, &again, E));
	rf_connection cb = connection_of(c, prog, "chargebee");
	cb.name = NULL;
	cb.credentials_sealed = NULL;
	cb.credentials_sealed_len = 0;
	cb.base_url = NULL;
	cb.created_at = cb.updated_at = T0 + 1;
	OK(rf_store_connection_insert(c->s, &cb, E));
	rf_connection theirs = connection_of(c, q, "paddle");
	theirs.created_at = theirs.updated_at = T0 + 2;
	OK(rf_store_connection_insert(c->s, &theirs, E));
	OK(rf_store_connection_find(c->s, prog, "chargebee", &got, &c->a, E));
	same_connection(&got, &cb);
	FAILS(RF_ENOTFOUND, NULL, rf_store_connection_find(c->s, q, "chargebee", &got, &c->a, E));

	paddle.status = "disabled";
	paddle.name = NULL;
	paddle.credentials_sealed = (unsigned char *)"rotated";
	paddle.credentials_sealed_len = 7;
	paddle.credential_keys = "[]";
	paddle.settings = "{}";
	paddle.stage_map = "{}";
	paddle.base_url = NULL;
	paddle.last_event_at = T0 + 10;
	paddle.updated_at = T0 + 11;
	OK(rf_store_connection_update(c->s, &paddle, E));
	OK(rf_store_connection_get(c->s, paddle.id, &got, &c->a, E));
	same_connection(&got, &paddle);
	rf_connection ghost = connection_of(c, prog, "hubspot");
	FAILS(RF_ENOTFOUND, NULL, rf_store_connection_update(c->s, &ghost, E));

	rf_connection *items = NULL;
	size_t n = 0;
	bool more = false;
	rf_page page = {.limit = 2, .settled = true};
	OK(rf_store_connection_list(c->s, &page, NULL, &items, &n, &more, &c->a, E));
	SAME(IDS(items, n, id), join(c, 2, theirs.id, cb.id));
	assert_true(more);
	page.starting_after = cb.id;
	OK(rf_store_connection_list(c->s, &page, NULL, &items, &n, &more, &c->a, E));
	SAME(IDS(items, n, id), paddle.id);
	assert_false(more);
	page.starting_after = NULL;
	OK(rf_store_connection_list(c->s, &page, q, &items, &n, &more, &c->a, E));
	SAME(IDS(items, n, id), theirs.id);

	/* Removed with its log and what refd learnt from its system in its program (not another program's). */
	rf_inbound_event ev = inbound_of(c, &paddle, "evt_1", "processed", T0 + 20);
	OK(rf_store_inbound_event_insert(c->s, &ev, E));
	OK(rf_store_external_object_put(c->s, prog, "paddle", "discount", "dsc_1", "ACME20", 0, T0, E));
	OK(rf_store_external_object_put(c->s, q, "paddle", "discount", "dsc_1", "BETA", 0, T0, E));
	OK(rf_store_connection_delete(c->s, paddle.id, E));
	FAILS(RF_ENOTFOUND, NULL, rf_store_connection_get(c->s, paddle.id, &got, &c->a, E));
	rf_inbound_event seen;
	FAILS(RF_ENOTFOUND, NULL, rf_store_inbound_event_find(c->s, paddle.id, "evt_1", &seen, &c->a, E));
	char *value = NULL;
	FAILS(RF_ENOTFOUND, "external_id",
	      rf_store_external_object_get(c->s, prog, "paddle", "discount", "dsc_1", &value, NULL, &c->a, E));
	OK(rf_store_external_object_get(c->s, q, "paddle", "discount", "dsc_1", &value, NULL, &c->a, E));
	SAME(value, "BETA");
	FAILS(RF_ENOTFOUND, NULL, rf_store_connection_delete(c->s, paddle.id, E));
}

CASE(inbound_events_purged)
{
	ctx *c = *state;
	char *prog = add_program(c, "P");
	rf_connection k = connection_of(c, prog, "hubspot");
	OK(rf_store_connection_insert(c->s, &k, E));
	/* Old events: one whose read was delivered, one whose read is pending, a refusal; and a recent one. */
	rf_inbound_event done = inbound_of(c, &k, "evt_done", "processed", T0 + 1);
	rf_inbound_event waiting = inbound_of(c, &k, "evt_waiting", "processed", T0 + 2);
	rf_inbound_event refused = inbound_of(c, &k, NULL, "refused", T0 + 3);
	rf_inbound_event recent = inbound_of(c, &k, "evt_recent", "processed", T0 + 10 * DAY);
	rf_inbound_event *all[] = {&done, &waiting, &refused, &recent};
	for (size_t i = 0; i < 4; i++)
		OK(rf_store_inbound_event_insert(c->s, all[i], E));
	rf_delivery d[2];
	for (int i = 0; i < 2; i++) {
		rf_delivery x = {.id = new_id(c, "dlv"),
				 .kind = "crm",
				 .target_id = k.id,
				 .event_id = i ? waiting.id : done.id,
				 .status = "pending",
				 .next_at = T0,
				 .created_at = T0};
		d[i] = x;
		OK(rf_store_delivery_insert(c->s, &d[i], E));
	}
	rf_delivery_attempt at = {.at = T0 + 5, .status_code = 200, .has_status_code = true};
	d[0].status = "delivered";
	d[0].attempts = 1;
	OK(rf_store_delivery_attempted(c->s, &d[0], &at, E));
	d[1].attempts = 1;
	d[1].next_at = T0 + 60000;
	OK(rf_store_delivery_attempted(c->s, &d[1], &at, E));
	int64_t removed = -1;
	OK(rf_store_inbound_event_purge(c->s, T0 + DAY, 10, &removed, E));
	assert_int_equal(removed, 2);
	rf_inbound_event got;
	FAILS(RF_ENOTFOUND, NULL, rf_store_inbound_event_get(c->s, done.id, &got, &c->a, E));
	FAILS(RF_ENOTFOUND, NULL, rf_store_inbound_event_get(c->s, refused.id, &got, &c->a, E));
	rf_delivery dg;
	FAILS(RF_ENOTFOUND, NULL, rf_store_delivery_get(c->s, d[0].id, &dg, &c->a, E));
	rf_delivery_attempt *ats = NULL;
	size_t nat = 9;
	OK(rf_store_delivery_attempts(c->s, d[0].id, &ats, &nat, &c->a, E));
	assert_int_equal(nat, 0);
	/* The pending one stays with its event and its attempts, and so does the recent event. */
	OK(rf_store_inbound_event_get(c->s, waiting.id, &got, &c->a, E));
	OK(rf_store_delivery_get(c->s, d[1].id, &dg, &c->a, E));
	OK(rf_store_delivery_attempts(c->s, d[1].id, &ats, &nat, &c->a, E));
	assert_int_equal(nat, 1);
	OK(rf_store_inbound_event_get(c->s, recent.id, &got, &c->a, E));
	/* Finished, it goes too. */
	d[1].status = "failed";
	d[1].attempts = 2;
	OK(rf_store_delivery_attempted(c->s, &d[1], &at, E));
	OK(rf_store_inbound_event_purge(c->s, T0 + DAY, 10, &removed, E));
	assert_int_equal(removed, 1);
	FAILS(RF_ENOTFOUND, NULL, rf_store_delivery_get(c->s, d[1].id, &dg, &c->a, E));
	/* At most max at a time, the oldest first. */
	char *ids[3];
	for (int i = 0; i < 3; i++) {
		rf_inbound_event e = inbound_of(c, &k, NULL, "refused", T0 + 100 + i);
		OK(rf_store_inbound_event_insert(c->s, &e, E));
		ids[i] = e.id;
	}
	OK(rf_store_inbound_event_purge(c->s, T0 + DAY, 2, &removed, E));
	assert_int_equal(removed, 2);
	FAILS(RF_ENOTFOUND, NULL, rf_store_inbound_event_get(c->s, ids[1], &got, &c->a, E));
	OK(rf_store_inbound_event_get(c->s, ids[2], &got, &c->a, E));
	OK(rf_store_inbound_event_purge(c->s, T0 + DAY, 2, &removed, E));
	assert_int_equal(removed, 1);
	OK(rf_store_inbound_event_purge(c->s, T0 + DAY, 2, &removed, E));
	assert_int_equal(removed, 0);
	OK(rf_store_inbound_event_get(c->s, recent.id, &got, &c->a, E));
}

CASE(inbound_event_log)
{
	ctx *c = *state;
	char *prog = add_program(c, "P");
	rf_connection k = connection_of(c, prog, "paddle"), other = connection_of(c, prog, "chargebee");
	OK(rf_store_connection_insert(c->s, &k, E));
	OK(rf_store_connection_insert(c->s, &other, E));
	rf_inbound_event a = inbound_of(c, &k, "evt_a", "processed", T0 + 1);
	a.reason = "a note";
	OK(rf_store_inbound_event_insert(c->s, &a, E));
	rf_inbound_event got;
	OK(rf_store_inbound_event_find(c->s, k.id, "evt_a", &got, &c->a, E));
	SAME(got.id, a.id);
	SAME(got.connection_id, k.id);
	SAME(got.program_id, prog);
	SAME(got.system, "paddle");
	SAME(got.event_id, "evt_a");
	SAME(got.dedupe_key, "evt_a");
	SAME(got.type, "transaction.completed");
	SAME(got.outcome, "processed");
	SAME(got.reason, "a note");
	SAME(got.object_id, "sale_1");
	assert_int_equal(got.status_code, 200);
	assert_int_equal(got.occurred_at, T0 - 4);
	assert_int_equal(got.received_at, T0 + 1);
	FAILS(RF_ENOTFOUND, NULL, rf_store_inbound_event_find(c->s, other.id, "evt_a", &got, &c->a, E));
	assert_null(got.payload);
	/* What the system sent is kept, found by id, and the outcome of the work after the answer settled on it. */
	rf_inbound_event later = inbound_of(c, &k, "evt_later", "processed", T0 + 3);
	later.payload = "{\"objectId\":\"51\"}";
	later.object_id = NULL;
	OK(rf_store_inbound_event_insert(c->s, &later, E));
	later.outcome = "ignored";
	later.reason = "the record is no more";
	later.object_id = "lead_1";
	OK(rf_store_inbound_event_settle(c->s, &later, E));
	OK(rf_store_inbound_event_get(c->s, later.id, &got, &c->a, E));
	SAME(got.payload, "{\"objectId\":\"51\"}");
	SAME(got.outcome, "ignored");
	SAME(got.reason, "the record is no more");
	SAME(got.object_id, "lead_1");
	SAME(got.dedupe_key, "evt_later");
	FAILS(RF_ENOTFOUND, NULL, rf_store_inbound_event_get(c->s, "ibe_none", &got, &c->a, E));
	rf_inbound_event ghost = later;
	ghost.id = "ibe_none";
	FAILS(RF_ENOTFOUND, NULL, rf_store_inbound_event_settle(c->s, &ghost, E));
	/* One event per key and connection; duplicates and refusals have none, as many as come. */
	rf_inbound_event twice = inbound_of(c, &k, "evt_a", "processed", T0 + 2);
	FAILS(raced(c), "dedupe_key", rf_store_inbound_event_insert(c->s, &twice, E));
	rf_inbound_event theirs = inbound_of(c, &other, "evt_a", "ignored", T0 + 2);
	OK(rf_store_inbound_event_insert(c->s, &theirs, E));
	char *ids[6];
	for (int i = 0; i < 6; i++) {
		rf_inbound_event e = inbound_of(c, &k, NULL, i % 2 ? "duplicate" : "refused", T0 + 10 + i);
		e.event_id = i % 2 ? "evt_a" : NULL;
		e.status_code = i % 2 ? 200 : 400;
		e.object_id = NULL;
		OK(rf_store_inbound_event_insert(c->s, &e, E));
		ids[i] = e.id;
	}
	rf_inbound_event_filter f = {.page = {.limit = 4, .settled = true}, .connection_id = k.id};
	rf_inbound_event *items = NULL;
	size_t n = 0;
	bool more = false;
	OK(rf_store_inbound_event_list(c->s, &f, &items, &n, &more, &c->a, E));
	SAME(IDS(items, n, id), join(c, 4, ids[5], ids[4], ids[3], ids[2]));
	assert_true(more);
	f.page.starting_after = ids[2];
	OK(rf_store_inbound_event_list(c->s, &f, &items, &n, &more, &c->a, E));
	SAME(IDS(items, n, id), join(c, 4, ids[1], ids[0], later.id, a.id));
	assert_false(more);
	f.page.starting_after = NULL;
	f.outcome = "refused";
	OK(rf_store_inbound_event_list(c->s, &f, &items, &n, &more, &c->a, E));
	SAME(IDS(items, n, id), join(c, 3, ids[4], ids[2], ids[0]));
	/* The newest refusals are kept; nothing else goes. */
	OK(rf_store_inbound_event_trim(c->s, k.id, "refused", 2, E));
	OK(rf_store_inbound_event_list(c->s, &f, &items, &n, &more, &c->a, E));
	SAME(IDS(items, n, id), join(c, 2, ids[4], ids[2]));
	f.outcome = NULL;
	f.page.limit = 100;
	OK(rf_store_inbound_event_list(c->s, &f, &items, &n, &more, &c->a, E));
	assert_int_equal(n, 7);
	OK(rf_store_inbound_event_trim(c->s, k.id, "refused", 10, E));
	OK(rf_store_inbound_event_list(c->s, &f, &items, &n, &more, &c->a, E));
	assert_int_equal(n, 7);
}

CASE(external_objects)
{
	ctx *c = *state;
	char *prog = add_program(c, "P");
	char *value = NULL;
	int64_t version = -1;
	FAILS(
	    RF_ENOTFOUND, "external_id",
	    rf_store_external_object_get(c->s, prog, "chargebee", "transaction", "txn_1", &value, &version, &c->a, E));
	OK(rf_store_external_object_put(c->s, prog, "chargebee", "transaction", "txn_1", NULL, 1767398402590LL, T0, E));
	OK(rf_store_external_object_get(c->s, prog, "chargebee", "transaction", "txn_1", &value, &version, &c->a, E));
	assert_null(value);
	assert_int_equal(version, 1767398402590LL);
	OK(rf_store_external_object_put(c->s, prog, "chargebee", "transaction", "txn_1", "sale_9", 1767398402999LL,
					T0 + 1, E));
	OK(rf_store_external_object_get(c->s, prog, "chargebee", "transaction", "txn_1", &value, &version, &c->a, E));
	SAME(value, "sale_9");
	assert_int_equal(version, 1767398402999LL);
	/* Kinds and systems do not meet. */
	FAILS(RF_ENOTFOUND, "external_id",
	      rf_store_external_object_get(c->s, prog, "paddle", "transaction", "txn_1", &value, NULL, &c->a, E));
	FAILS(RF_ENOTFOUND, "external_id",
	      rf_store_external_object_get(c->s, prog, "chargebee", "invoice", "txn_1", NULL, &version, &c->a, E));
}

/* ---- mail ---- */

static rf_mail_message mail_of(ctx *c, const char *category, const char *to, int64_t at)
{
	rf_mail_message m = {.id = new_id(c, "msg"),
			     .category = (char *)category,
			     .recipient = (char *)to,
			     .message_id = unique(c, "<m%d@refer.example>"),
			     .subject = "Subject ✓",
			     .text_body = "Text body",
			     .html_body = "<p>HTML body</p>",
			     .link = "https://refer.example/portal#home",
			     .headers = "{\"List-Unsubscribe-Post\":\"List-Unsubscribe=One-Click\"}",
			     .created_at = at};
	return m;
}

static rf_delivery mail_delivery(ctx *c, const rf_mail_message *m)
{
	rf_delivery d = {.id = new_id(c, "dlv"),
			 .kind = "mail",
			 .target_id = m->id,
			 .event_id = m->event_id ? m->event_id : m->id,
			 .status = "pending",
			 .next_at = m->created_at,
			 .created_at = m->created_at};
	OK(rf_store_delivery_insert(c->s, &d, E));
	return d;
}

static char *mail_ids(ctx *c, const rf_mail_filter *f, bool *more)
{
	rf_mail_message *items = NULL;
	size_t n = 0;
	bool m = false;
	OK(rf_store_mail_message_list(c->s, f, &items, &n, more ? more : &m, &c->a, E));
	return IDS(items, n, id);
}

CASE(mail_outbox)
{
	ctx *c = *state;
	char *prog = add_program(c, "P");
	char *ptn = add_partner(c, prog, "Org", "partner", NULL);
	rf_mail_message m1 = mail_of(c, "application", "org@example.com", T0);
	m1.recipient_name = "Zoë Org";
	m1.partner_id = ptn;
	m1.program_id = prog;
	m1.event_id = "evt_1";
	rf_mail_message m2 = mail_of(c, "password_reset", "user@example.com", T0 + DAY);
	m2.user_id = "usr_1";
	m2.sealed = true;
	rf_mail_message m3 = mail_of(c, "test", "admin@example.com", T0 + 2 * DAY);
	m3.link = NULL;
	OK(rf_store_mail_message_insert(c->s, &m1, E));
	OK(rf_store_mail_message_insert(c->s, &m2, E));
	OK(rf_store_mail_message_insert(c->s, &m3, E));
	FAILS(RF_ECONFLICT, "id", rf_store_mail_message_insert(c->s, &m1, E));
	rf_delivery d1 = mail_delivery(c, &m1), d2 = mail_delivery(c, &m2);
	mail_delivery(c, &m3);

	rf_mail_message got;
	OK(rf_store_mail_message_get(c->s, m1.id, &got, &c->a, E));
	SAME(got.id, m1.id);
	SAME(got.category, "application");
	SAME(got.recipient, "org@example.com");
	SAME(got.recipient_name, "Zoë Org");
	SAME(got.partner_id, ptn);
	SAME(got.program_id, prog);
	SAME(got.event_id, "evt_1");
	assert_null(got.user_id);
	SAME(got.message_id, m1.message_id);
	SAME(got.subject, "Subject ✓");
	SAME(got.text_body, "Text body");
	SAME(got.html_body, "<p>HTML body</p>");
	SAME(got.link, m1.link);
	SAME(got.headers, m1.headers);
	assert_false(got.sealed);
	assert_int_equal(got.created_at, T0);
	assert_int_equal(got.sent_at, 0);
	SAME(got.delivery_id, d1.id);
	SAME(got.status, "pending");
	assert_int_equal(got.attempts, 0);
	assert_int_equal(got.next_at, T0);
	assert_false(got.has_status_code);
	FAILS(RF_ENOTFOUND, "id", rf_store_mail_message_get(c->s, "msg_missing", &got, &c->a, E));

	/* Sent: delivered, its sealed bodies and link forgotten. Given up: the bodies of an open message stay. */
	d2.status = "delivered";
	d2.attempts = 1;
	d2.has_status_code = true;
	d2.last_status_code = 250;
	rf_delivery_attempt a2 = {.at = T0 + DAY + 5, .has_status_code = true, .status_code = 250, .latency_ms = 30};
	OK(rf_store_delivery_attempted(c->s, &d2, &a2, E));
	OK(rf_store_mail_message_finish(c->s, m2.id, true, T0 + DAY + 5, E));
	OK(rf_store_mail_message_get(c->s, m2.id, &got, &c->a, E));
	assert_true(got.sealed);
	SAME(got.text_body, "");
	SAME(got.html_body, "");
	assert_null(got.link);
	assert_int_equal(got.sent_at, T0 + DAY + 5);
	SAME(got.status, "delivered");
	assert_int_equal(got.attempts, 1);
	assert_int_equal(got.last_status_code, 250);
	d1.status = "failed";
	d1.attempts = 1;
	d1.has_status_code = true;
	d1.last_status_code = 550;
	d1.last_error = "the SMTP server answered 550";
	rf_delivery_attempt a1 = {
	    .at = T0 + 5, .has_status_code = true, .status_code = 550, .latency_ms = 9, .error = d1.last_error};
	OK(rf_store_delivery_attempted(c->s, &d1, &a1, E));
	OK(rf_store_mail_message_finish(c->s, m1.id, false, T0 + 5, E));
	OK(rf_store_mail_message_get(c->s, m1.id, &got, &c->a, E));
	SAME(got.text_body, "Text body");
	SAME(got.link, m1.link);
	assert_int_equal(got.sent_at, 0);
	SAME(got.status, "failed");
	SAME(got.last_error, "the SMTP server answered 550");
	FAILS(RF_ENOTFOUND, NULL, rf_store_mail_message_finish(c->s, "msg_missing", true, T0, E));

	int64_t counts[3];
	OK(rf_store_mail_queue_counts(c->s, counts, E));
	assert_int_equal(counts[0], 1);
	assert_int_equal(counts[1], 1);
	assert_int_equal(counts[2], 1);

	/* The list, newest first, by delivery status, kind and recipient, in pages. */
	rf_mail_filter f = {.page = {.limit = 10, .settled = true}};
	SAME(mail_ids(c, &f, NULL), join(c, 3, m3.id, m2.id, m1.id));
	f.status = "delivered";
	SAME(mail_ids(c, &f, NULL), m2.id);
	f.status = NULL;
	f.category = "application";
	SAME(mail_ids(c, &f, NULL), m1.id);
	f.category = NULL;
	f.recipient = "admin@example.com";
	SAME(mail_ids(c, &f, NULL), m3.id);
	f.recipient = NULL;
	bool more = false;
	f.page.limit = 2;
	SAME(mail_ids(c, &f, &more), join(c, 2, m3.id, m2.id));
	assert_true(more);
	f.page.starting_after = m2.id;
	SAME(mail_ids(c, &f, &more), m1.id);
	assert_false(more);
	f.page.starting_after = "msg_missing";
	FAILS(RF_EINVAL, "starting_after",
	      rf_store_mail_message_list(c->s, &f, &(rf_mail_message *){NULL}, &(size_t){0}, &more, &c->a, E));
	memset(E, 0, sizeof *E);

	/* Purged with their deliveries and attempts, the oldest first, at most max at a time. */
	int64_t removed = -1;
	OK(rf_store_mail_purge(c->s, T0 + 2 * DAY, 1, &removed, E));
	assert_int_equal(removed, 1);
	FAILS(RF_ENOTFOUND, "id", rf_store_mail_message_get(c->s, m1.id, &got, &c->a, E));
	rf_delivery dg;
	FAILS(RF_ENOTFOUND, NULL, rf_store_delivery_get(c->s, d1.id, &dg, &c->a, E));
	rf_delivery_attempt *ats = NULL;
	size_t nat = 9;
	OK(rf_store_delivery_attempts(c->s, d1.id, &ats, &nat, &c->a, E));
	assert_int_equal(nat, 0);
	OK(rf_store_mail_purge(c->s, T0 + 2 * DAY, 10, &removed, E));
	assert_int_equal(removed, 1);
	OK(rf_store_mail_message_get(c->s, m3.id, &got, &c->a, E));
	OK(rf_store_mail_queue_counts(c->s, counts, E));
	assert_int_equal(counts[0] + counts[1] + counts[2], 1);
}

CASE(mail_optouts_and_runs)
{
	ctx *c = *state;
	char **cats = NULL;
	size_t n = 9;
	OK(rf_store_mail_optouts(c->s, "ptn_1", &cats, &n, &c->a, E));
	assert_int_equal(n, 0);
	OK(rf_store_mail_optout_set(c->s, "ptn_1", "payout", true, "settings", T0, E));
	OK(rf_store_mail_optout_set(c->s, "ptn_1", "commissions_digest", true, "unsubscribe", T0, E));
	OK(rf_store_mail_optout_set(c->s, "ptn_1", "payout", true, "unsubscribe", T0 + 1, E)); /* off already */
	OK(rf_store_mail_optout_set(c->s, "ptn_2", "deal_reminder", true, "settings", T0, E));
	OK(rf_store_mail_optouts(c->s, "ptn_1", &cats, &n, &c->a, E));
	assert_int_equal(n, 2);
	SAME(cats[0], "commissions_digest");
	SAME(cats[1], "payout");
	OK(rf_store_mail_optout_set(c->s, "ptn_1", "payout", false, NULL, T0 + 2, E));
	OK(rf_store_mail_optout_set(c->s, "ptn_1", "payout", false, NULL, T0 + 3, E)); /* on already */
	OK(rf_store_mail_optouts(c->s, "ptn_1", &cats, &n, &c->a, E));
	assert_int_equal(n, 1);
	SAME(cats[0], "commissions_digest");

	/* A key is taken for a mark once: again for the same or an earlier mark, nothing changes. */
	bool claimed = false;
	int64_t prev = -1;
	OK(rf_store_mail_run_claim(c->s, "commissions_digest:ptn_1", 100, T0, T0, &claimed, &prev, E));
	assert_true(claimed);
	assert_int_equal(prev, 0);
	OK(rf_store_mail_run_claim(c->s, "commissions_digest:ptn_1", 100, T0 + DAY, T0, &claimed, &prev, E));
	assert_false(claimed);
	OK(rf_store_mail_run_claim(c->s, "commissions_digest:ptn_1", 99, T0 + DAY, T0, &claimed, NULL, E));
	assert_false(claimed);
	OK(rf_store_mail_run_claim(c->s, "commissions_digest:ptn_1", 101, T0 + DAY, T0, &claimed, &prev, E));
	assert_true(claimed);
	assert_int_equal(prev, T0);
	OK(rf_store_mail_run_claim(c->s, "commissions_digest:ptn_1", 102, T0 + 2 * DAY, T0, &claimed, &prev, E));
	assert_int_equal(prev, T0 + DAY);
	OK(rf_store_mail_run_claim(c->s, "admin_digest:usr_1", 101, T0, T0, &claimed, &prev, E));
	assert_true(claimed);
	assert_int_equal(prev, 0);
}

CASE(mail_digest_partners)
{
	ctx *c = *state;
	char *prog = add_program(c, "P");
	char *a = add_partner(c, prog, "A", "partner", NULL);
	char *b = add_partner(c, prog, "B", "partner", NULL);
	rf_partner sp = partner_of(c, prog, "Suspended");
	sp.status = "suspended";
	OK(rf_store_partner_insert(c->s, &sp, E));
	char *old = add_partner(c, prog, "Old", "partner", NULL);
	const int64_t H = 3600000;
	rf_commission ca1 = add_commission(c, prog, a, "pending", 100, "USD", T0 + H);
	rf_commission ca2 = add_commission(c, prog, a, "approved", -40, "EUR", T0 + 2 * H);
	add_commission(c, prog, b, "pending", 300, "USD", T0 + 2 * H);
	add_commission(c, prog, sp.id, "pending", 300, "USD", T0 + H);
	add_commission(c, prog, old, "pending", 300, "USD", T0 - 40 * DAY);
	const int64_t day = 20454, floor = T0 - 31 * DAY, to = T0 + DAY;
	char **ids = NULL;
	size_t n = 0;
	OK(rf_store_mail_digest_partners(c->s, day, floor, to, 10, &ids, &n, &c->a, E));
	SAME(ids_of(ids, n, sizeof *ids, 0, &c->a), join(c, 2, a, b));
	OK(rf_store_mail_digest_partners(c->s, day, floor, to, 1, &ids, &n, &c->a, E));
	SAME(ids_of(ids, n, sizeof *ids, 0, &c->a), a);
	/* Commissions made after `to` wait for the next digest. */
	OK(rf_store_mail_digest_partners(c->s, day, floor, T0 + H + H / 2, 10, &ids, &n, &c->a, E));
	SAME(ids_of(ids, n, sizeof *ids, 0, &c->a), a);
	/* A's digest of the day is taken; B's last one covered its commission: neither is due. */
	bool claimed = false;
	OK(rf_store_mail_run_claim(c->s, rf_arena_printf(&c->a, "commissions_digest:%s", a), day, to, T0, &claimed,
				   NULL, E));
	OK(rf_store_mail_run_claim(c->s, rf_arena_printf(&c->a, "commissions_digest:%s", b), day - 1, T0 + 3 * H, T0,
				   &claimed, NULL, E));
	OK(rf_store_mail_digest_partners(c->s, day, floor, to, 10, &ids, &n, &c->a, E));
	assert_int_equal(n, 0);
	/* A new commission of B's after what its last digest covered makes it due again. */
	add_commission(c, prog, b, "pending", 50, "USD", T0 + 4 * H);
	OK(rf_store_mail_digest_partners(c->s, day, floor, to, 10, &ids, &n, &c->a, E));
	SAME(ids_of(ids, n, sizeof *ids, 0, &c->a), b);

	/* A partner's commissions made in (from, to], the oldest first. */
	rf_commission *items = NULL;
	bool more = true;
	OK(rf_store_commissions_created(c->s, a, T0, to, 10, &items, &n, &more, &c->a, E));
	SAME(IDS(items, n, id), join(c, 2, ca1.id, ca2.id));
	assert_false(more);
	assert_int_equal(items[1].amount, -40);
	SAME(items[1].currency, "EUR");
	OK(rf_store_commissions_created(c->s, a, T0, to, 1, &items, &n, &more, &c->a, E));
	SAME(IDS(items, n, id), ca1.id);
	assert_true(more);
	OK(rf_store_commissions_created(c->s, a, T0 + H, to, 10, &items, &n, &more, &c->a, E));
	SAME(IDS(items, n, id), ca2.id);
	OK(rf_store_commissions_created(c->s, a, T0, T0 + H, 10, &items, &n, &more, &c->a, E));
	SAME(IDS(items, n, id), ca1.id);
}

CASE(registrations_expiring)
{
	ctx *c = *state;
	char *prog = add_program(c, "P");
	char *ptn = add_partner(c, prog, "Org", "partner", NULL);
	const char *statuses[] = {"new", "qualified", "pending_review", "rejected", "converted", "lost", "new"};
	int64_t ends[] = {T0 + 2 * DAY, T0 + DAY, T0 + DAY, T0 + DAY, T0 + DAY, T0 + DAY, T0 + 9 * DAY};
	rf_lead leads[7];
	for (int i = 0; i < 7; i++) {
		leads[i] = lead_of(c, prog, ptn, NULL, T0);
		leads[i].registration = true;
		leads[i].status = (char *)statuses[i];
		leads[i].protected_until = ends[i];
		OK(rf_store_lead_insert(c->s, &leads[i], E));
	}
	add_lead(c, prog, ptn, NULL, T0); /* not a registration */
	rf_lead *items = NULL;
	size_t n = 0;
	OK(rf_store_registrations_expiring(c->s, T0, T0 + 3 * DAY, 10, &items, &n, &c->a, E));
	SAME(IDS(items, n, id), join(c, 2, leads[1].id, leads[0].id));
	OK(rf_store_registrations_expiring(c->s, T0, T0 + 3 * DAY, 1, &items, &n, &c->a, E));
	SAME(IDS(items, n, id), leads[1].id);
	OK(rf_store_registrations_expiring(c->s, T0 + DAY, T0 + 10 * DAY, 10, &items, &n, &c->a, E));
	SAME(IDS(items, n, id), join(c, 2, leads[0].id, leads[6].id));
	/* Reminded once for an end of protection; again when the protection is extended. */
	bool claimed = false;
	OK(rf_store_mail_run_claim(c->s, rf_arena_printf(&c->a, "deal_reminder:%s", leads[0].id), T0 + 2 * DAY, T0, T0,
				   &claimed, NULL, E));
	OK(rf_store_registrations_expiring(c->s, T0, T0 + 3 * DAY, 10, &items, &n, &c->a, E));
	SAME(IDS(items, n, id), leads[1].id);
	leads[0].protected_until = T0 + 2 * DAY + 3600000;
	OK(rf_store_lead_update(c->s, &leads[0], E));
	OK(rf_store_registrations_expiring(c->s, T0, T0 + 3 * DAY, 10, &items, &n, &c->a, E));
	SAME(IDS(items, n, id), join(c, 2, leads[1].id, leads[0].id));
}

#define CASES(X)                                 \
	X(open_and_migrate)                      \
	X(is_empty_until_a_program_or_user)      \
	X(program_round_trip)                    \
	X(program_list_pages)                    \
	X(partner_round_trip)                    \
	X(partner_uniqueness_in_a_transaction)   \
	X(partner_by_email_and_refs)             \
	X(partner_list_filters_and_pages)        \
	X(partner_search)                        \
	X(user_round_trip_and_owners)            \
	X(apikey_round_trip)                     \
	X(sessions)                              \
	X(login_failures)                        \
	X(audit_trail)                           \
	X(settings)                              \
	X(password_reset_taken_once)             \
	X(link_round_trip)                       \
	X(link_list_filters_and_pages)           \
	X(code_table_fallback_and_version)       \
	X(clicks_round_trip_and_counts)          \
	X(click_log_groups)                      \
	X(lead_round_trip)                       \
	X(lead_uniqueness)                       \
	X(lead_list_filters_and_counts)          \
	X(lead_conflicts)                        \
	X(lead_events_in_order)                  \
	X(lead_qualified_range)                  \
	X(idempotency_keys)                      \
	X(plans_and_versions)                    \
	X(customers)                             \
	X(sales_round_trip)                      \
	X(sale_list_volume_and_counts)           \
	X(refunds)                               \
	X(commission_ledger)                     \
	X(commission_list_filters_and_pages)     \
	X(commission_balance)                    \
	X(fx_rates)                              \
	X(stripe_events)                         \
	X(payout_runs_items_and_locks)           \
	X(payout_paid_range_by_partner)          \
	X(partner_totals_and_due)                \
	X(rollups_add_and_read)                  \
	X(rollups_folded_as_added_one_by_one)    \
	X(rollup_overflow_refused)               \
	X(rollup_rebuild_gives_the_same_figures) \
	X(conversion_stats)                      \
	X(queue_counts_and_partner_names)        \
	X(lock_inside_a_transaction)             \
	X(savepoints)                            \
	X(imports_put_and_get)                   \
	X(import_list_stale_and_settle)          \
	X(bulk_writes_with_a_savepoint_per_row)  \
	X(tx_runs_again_after_a_retry)           \
	X(rollback_and_idle)                     \
	X(copy_there_and_back)                   \
	X(events_log)                            \
	X(webhook_endpoints)                     \
	X(deliveries_claimed_once)               \
	X(deliveries_due_and_cancelled)          \
	X(registrations_expired)                 \
	X(link_coupons)                          \
	X(connections_round_trip)                \
	X(inbound_event_log)                     \
	X(inbound_events_purged)                 \
	X(external_objects)                      \
	X(mail_outbox)                           \
	X(mail_optouts_and_runs)                 \
	X(mail_digest_partners)                  \
	X(registrations_expiring)                \
	X(bench_fill)

#define ENTRY(name) {#name, name},
static const struct {
	const char *name;
	CMUnitTestFunction fn;
} cases[] = {CASES(ENTRY)};
#define NCASES (sizeof cases / sizeof cases[0])

static int run_backend(const backend *bk, CMFixtureFunction group_setup, CMFixtureFunction group_teardown)
{
	struct CMUnitTest tests[NCASES];
	for (size_t i = 0; i < NCASES; i++)
		tests[i] = (struct CMUnitTest){cases[i].name, cases[i].fn, setup, teardown, (void *)bk};
	return cmocka_run_group_tests_name(bk->group, tests, group_setup, group_teardown);
}

/* Stands in for the PostgreSQL cases when nobody said where a server is: a suite that did not run must not look
 * like one that passed. */
static void postgres_not_configured(void **state)
{
	(void)state;
	fail_msg("the PostgreSQL cases were NOT run: REFD_TEST_PG_URL is not set. Start a server with `python3 "
		 "tests/pgcluster.py start DIR` and export the URL it prints, or set REFD_TEST_STORE_SQLITE_ONLY=1 to "
		 "run the SQLite cases alone (see docs/TESTING.md)");
}

int main(void)
{
	if (rf_secret_init() != 0) {
		fprintf(stderr, "libsodium cannot start\n");
		return 1;
	}
	int failed = run_backend(&sqlite_backend, NULL, NULL);
	const char *url = getenv("REFD_TEST_PG_URL");
	const char *only = getenv("REFD_TEST_STORE_SQLITE_ONLY");
	if (url && *url) {
		failed += run_backend(&postgres_backend, pg_group_setup, pg_group_teardown);
	} else if (only && strcmp(only, "1") == 0) {
		printf("store conformance: the PostgreSQL cases were NOT run (REFD_TEST_STORE_SQLITE_ONLY=1)\n");
	} else {
		const struct CMUnitTest missing[] = {cmocka_unit_test(postgres_not_configured)};
		failed += cmocka_run_group_tests_name(postgres_backend.group, missing, NULL, NULL);
	}
	return failed ? 1 : 0;
}
