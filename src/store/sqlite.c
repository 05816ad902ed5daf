/* The embedded SQLite backend of the store interface: WAL, prepared statements kept per connection, STRICT tables. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/clock.h"
#include "../core/text.h"
#include "migrations.h"
#include "store.h"

#define STMT_CACHE 96

struct rf_store {
	sqlite3 *db;
	struct {
		char *sql;
		sqlite3_stmt *st;
	} cache[STMT_CACHE];
	int ncache;
};

static rf_status db_fail(rf_store *s, rf_err *err, const char *what)
{
	return rf_err_set(err, RF_EIO, NULL, "database error while %s: %s", what, sqlite3_errmsg(s->db));
}

/* Returns a reset statement for sql, prepared once per connection and reused. */
static sqlite3_stmt *prep(rf_store *s, const char *sql, rf_err *err)
{
	for (int i = 0; i < s->ncache; i++) {
		if (strcmp(s->cache[i].sql, sql) == 0) {
			sqlite3_stmt *st = s->cache[i].st;
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			return st;
		}
	}
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
		db_fail(s, err, "preparing a statement");
		return NULL;
	}
	if (s->ncache == STMT_CACHE) {
		/* Dynamic filters can make many shapes; evict the oldest rather than grow without bound. */
		sqlite3_finalize(s->cache[0].st);
		free(s->cache[0].sql);
		memmove(&s->cache[0], &s->cache[1], sizeof s->cache[0] * (STMT_CACHE - 1));
		s->ncache--;
	}
	char *copy = strdup(sql);
	if (!copy) {
		sqlite3_finalize(st);
		rf_err_set(err, RF_ENOMEM, NULL, "out of memory");
		return NULL;
	}
	s->cache[s->ncache].sql = copy;
	s->cache[s->ncache].st = st;
	s->ncache++;
	return st;
}

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

static char *col_text(sqlite3_stmt *st, int i, rf_arena *a)
{
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return NULL;
	return rf_arena_strndup(a, (const char *)sqlite3_column_text(st, i), (size_t)sqlite3_column_bytes(st, i));
}

static void col_code(sqlite3_stmt *st, int i, char out[4])
{
	const char *t = (const char *)sqlite3_column_text(st, i);
	snprintf(out, 4, "%s", t ? t : "");
}

static rf_status exec(rf_store *s, const char *sql, rf_err *err)
{
	char *msg = NULL;
	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		rf_err_set(err, RF_EIO, NULL, "database error: %s", msg ? msg : "unknown");
		sqlite3_free(msg);
		return RF_EIO;
	}
	return RF_OK;
}

/* Runs a statement that returns no rows; maps a uniqueness failure to RF_ECONFLICT on field. */
static rf_status step_done(rf_store *s, sqlite3_stmt *st, const char *field, rf_err *err)
{
	int rc = sqlite3_step(st);
	int ext = sqlite3_extended_errcode(s->db);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(st);
		return RF_OK;
	}
	rf_status r = db_fail(s, err, "writing");
	sqlite3_reset(st);
	if (field && (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY))
		return rf_err_set(err, RF_ECONFLICT, field, "%s is already taken", field);
	return r;
}

rf_status rf_store_open(const char *location, rf_store **out, rf_err *err)
{
	rf_store *s = calloc(1, sizeof *s);
	if (!s)
		return rf_err_set(err, RF_ENOMEM, NULL, "out of memory");
	int rc =
	    sqlite3_open_v2(location, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		rf_err_set(err, RF_EIO, "db", "cannot open database %s: %s", location,
			   s->db ? sqlite3_errmsg(s->db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(s->db, 10000);
	if (exec(s,
		 "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; "
		 "PRAGMA cache_size=-32768; PRAGMA mmap_size=268435456;",
		 err) != RF_OK)
		goto fail;
	*out = s;
	return RF_OK;
fail:
	sqlite3_close(s->db);
	free(s);
	return err ? err->status : RF_EIO;
}

void rf_store_close(rf_store *s)
{
	if (!s)
		return;
	for (int i = 0; i < s->ncache; i++) {
		sqlite3_finalize(s->cache[i].st);
		free(s->cache[i].sql);
	}
	sqlite3_close(s->db);
	free(s);
}

static rf_status db_version(rf_store *s, int *v, rf_err *err)
{
	if (exec(s,
		 "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
		 "applied_at INTEGER NOT NULL) STRICT",
		 err) != RF_OK)
		return RF_EIO;
	sqlite3_stmt *st = prep(s, "SELECT coalesce(max(version), 0) FROM schema_migrations", err);
	if (!st)
		return RF_EIO;
	if (sqlite3_step(st) != SQLITE_ROW)
		return db_fail(s, err, "reading the schema version");
	*v = sqlite3_column_int(st, 0);
	sqlite3_reset(st);
	return RF_OK;
}

rf_status rf_store_schema_version(rf_store *s, int *db_v, int *bin_v, rf_err *err)
{
	*bin_v = rf_migrations_count ? rf_migrations[rf_migrations_count - 1].version : 0;
	return db_version(s, db_v, err);
}

rf_status rf_store_migrate(rf_store *s, int *applied, rf_err *err)
{
	int cur = 0, n = 0;
	if (applied)
		*applied = 0;
	/* BEGIN IMMEDIATE takes the write lock first, so two processes migrating at once run one after the other. */
	for (size_t i = 0; i < rf_migrations_count; i++) {
		if (exec(s, "BEGIN IMMEDIATE", err) != RF_OK)
			return RF_EIO;
		if (db_version(s, &cur, err) != RF_OK)
			goto fail;
		const rf_migration *m = &rf_migrations[i];
		if (m->version <= cur) {
			exec(s, "COMMIT", err);
			continue;
		}
		if (exec(s, m->sql, err) != RF_OK) {
			rf_err_set(err, RF_EIO, NULL, "migration %04d_%s failed: %s", m->version, m->name,
				   err->message);
			goto fail;
		}
		sqlite3_stmt *st =
		    prep(s, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)", err);
		if (!st)
			goto fail;
		sqlite3_bind_int(st, 1, m->version);
		bind_text(st, 2, m->name);
		sqlite3_bind_int64(st, 3, rf_clock_now_ms());
		if (step_done(s, st, NULL, err) != RF_OK)
			goto fail;
		if (exec(s, "COMMIT", err) != RF_OK)
			goto fail;
		n++;
	}
	if (applied)
		*applied = n;
	return RF_OK;
fail:
	exec(s, "ROLLBACK", NULL);
	return RF_EIO;
}

rf_status rf_store_ping(rf_store *s, rf_err *err)
{
	sqlite3_stmt *st = prep(s, "SELECT 1", err);
	if (!st)
		return RF_EIO;
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? RF_OK : db_fail(s, err, "pinging");
}

rf_status rf_store_begin(rf_store *s, rf_err *err)
{
	return exec(s, "BEGIN IMMEDIATE", err);
}

rf_status rf_store_commit(rf_store *s, rf_err *err)
{
	return exec(s, "COMMIT", err);
}

void rf_store_rollback(rf_store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		exec(s, "ROLLBACK", NULL);
}

rf_status rf_store_is_empty(rf_store *s, bool *empty, rf_err *err)
{
	sqlite3_stmt *st = prep(s, "SELECT (SELECT count(*) FROM programs) + (SELECT count(*) FROM users)", err);
	if (!st)
		return RF_EIO;
	if (sqlite3_step(st) != SQLITE_ROW)
		return db_fail(s, err, "counting rows");
	*empty = sqlite3_column_int64(st, 0) == 0;
	sqlite3_reset(st);
	return RF_OK;
}

/* ---- pagination helpers ---- */

/* Resolves a cursor id to its seq in table; RF_EINVAL naming starting_after when it does not exist. */
static rf_status cursor_seq(rf_store *s, const char *table, const char *id, int64_t *seq, rf_err *err)
{
	char sql[128];
	snprintf(sql, sizeof sql, "SELECT seq FROM %s WHERE id = ?", table);
	sqlite3_stmt *st = prep(s, sql, err);
	if (!st)
		return RF_EIO;
	bind_text(st, 1, id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*seq = sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
		return RF_OK;
	}
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return rf_err_set(err, RF_EINVAL, "starting_after", "starting_after: no such object %s", id);
	return db_fail(s, err, "reading a cursor");
}

/* Runs a query for at most one row keyed by one text parameter; fills out with fill. RF_ENOTFOUND names
 * what was looked for. */
typedef void (*row_fn)(sqlite3_stmt *st, void *item, rf_arena *a);

static rf_status get_one(rf_store *s, const char *sql, const char *key, row_fn fill, void *out, rf_arena *a,
			 const char *what, rf_err *err)
{
	sqlite3_stmt *st = prep(s, sql, err);
	if (!st)
		return RF_EIO;
	bind_text(st, 1, key);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		fill(st, out, a);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return RF_OK;
	if (rc == SQLITE_DONE)
		return rf_err_set(err, RF_ENOTFOUND, "id", "no such %s", what);
	char doing[64];
	snprintf(doing, sizeof doing, "reading a %s", what);
	return db_fail(s, err, doing);
}

/* ---- programs ---- */

#define PROGRAM_COLS                                                                                         \
	"id, name, currency, cookie_window_days, attribution_model, holding_period_days, payout_threshold, " \
	"tracking_params, created_at, updated_at, allowed_domains, fallback_url, repeat_click_minutes, "     \
	"protection_days, conflict_days, tracking_origins"

/* Joins a list of names with commas (names never contain one: they are checked before they get here). */
static void list_join(char *const *items, size_t n, char *buf, size_t len)
{
	size_t o = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < n && o < len; i++) {
		int w = snprintf(buf + o, len - o, "%s%s", i ? "," : "", items[i]);
		if (w < 0)
			break;
		o += (size_t)w;
	}
}

/* Splits comma-joined text (in the arena) into at most max items. */
static void list_split(char *text, char **items, size_t *n, size_t max)
{
	*n = 0;
	for (char *tok = text; tok && *tok && *n < max;) {
		char *comma = strchr(tok, ',');
		if (comma)
			*comma = '\0';
		items[(*n)++] = tok;
		tok = comma ? comma + 1 : NULL;
	}
}

static void program_row(sqlite3_stmt *st, rf_program *p, rf_arena *a)
{
	memset(p, 0, sizeof *p);
	p->id = col_text(st, 0, a);
	p->name = col_text(st, 1, a);
	col_code(st, 2, p->currency);
	p->cookie_window_days = sqlite3_column_int64(st, 3);
	p->attribution_model = col_text(st, 4, a);
	p->holding_period_days = sqlite3_column_int64(st, 5);
	p->payout_threshold = sqlite3_column_int64(st, 6);
	list_split(col_text(st, 7, a), p->tracking_params, &p->n_tracking_params, RF_MAX_TRACKING_PARAMS);
	p->created_at = sqlite3_column_int64(st, 8);
	p->updated_at = sqlite3_column_int64(st, 9);
	list_split(col_text(st, 10, a), p->allowed_domains, &p->n_allowed_domains, RF_MAX_DOMAINS);
	p->fallback_url = col_text(st, 11, a);
	p->repeat_click_minutes = sqlite3_column_int64(st, 12);
	p->protection_days = sqlite3_column_int64(st, 13);
	p->conflict_days = sqlite3_column_int64(st, 14);
	list_split(col_text(st, 15, a), p->tracking_origins, &p->n_tracking_origins, RF_MAX_DOMAINS);
}

static void program_fill(sqlite3_stmt *st, void *item, rf_arena *a)
{
	program_row(st, item, a);
}

static void program_bind(sqlite3_stmt *st, const rf_program *p)
{
	char params[RF_MAX_TRACKING_PARAMS * 34], domains[RF_MAX_DOMAINS * 256], origins[RF_MAX_DOMAINS * 300];
	list_join(p->tracking_params, p->n_tracking_params, params, sizeof params);
	list_join(p->allowed_domains, p->n_allowed_domains, domains, sizeof domains);
	list_join(p->tracking_origins, p->n_tracking_origins, origins, sizeof origins);
	bind_text(st, 1, p->id);
	bind_text(st, 2, p->name);
	bind_text(st, 3, p->currency);
	sqlite3_bind_int64(st, 4, p->cookie_window_days);
	bind_text(st, 5, p->attribution_model);
	sqlite3_bind_int64(st, 6, p->holding_period_days);
	sqlite3_bind_int64(st, 7, p->payout_threshold);
	bind_text(st, 8, params);
	sqlite3_bind_int64(st, 9, p->created_at);
	sqlite3_bind_int64(st, 10, p->updated_at);
	bind_text(st, 11, domains);
	bind_text(st, 12, p->fallback_url);
	sqlite3_bind_int64(st, 13, p->repeat_click_minutes);
	sqlite3_bind_int64(st, 14, p->protection_days);
	sqlite3_bind_int64(st, 15, p->conflict_days);
	bind_text(st, 16, origins);
}

rf_status rf_store_program_insert(rf_store *s, const rf_program *p, rf_err *err)
{
	sqlite3_stmt *st =
	    prep(s, "INSERT INTO programs (" PROGRAM_COLS ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", err);
	if (!st)
		return RF_EIO;
	program_bind(st, p);
	return step_done(s, st, "id", err);
}

rf_status rf_store_program_update(rf_store *s, const rf_program *p, rf_err *err)
{
	sqlite3_stmt *st = prep(s,
				"UPDATE programs SET id = ?1, name = ?2, currency = ?3, cookie_window_days = ?4, "
				"attribution_model = ?5, holding_period_days = ?6, payout_threshold = ?7, "
				"tracking_params = ?8, created_at = ?9, updated_at = ?10, allowed_domains = ?11, "
				"fallback_url = ?12, repeat_click_minutes = ?13, protection_days = ?14, "
				"conflict_days = ?15, tracking_origins = ?16 WHERE id = ?1",
				err);
	if (!st)
		return RF_EIO;
	program_bind(st, p);
	rf_status rc = step_done(s, st, NULL, err);
	if (rc == RF_OK && sqlite3_changes(s->db) == 0)
		return rf_err_set(err, RF_ENOTFOUND, "id", "no such program");
	return rc;
}

rf_status rf_store_program_get(rf_store *s, const char *id, rf_program *out, rf_arena *a, rf_err *err)
{
	return get_one(s, "SELECT " PROGRAM_COLS " FROM programs WHERE id = ?", id, program_fill, out, a, "program",
		       err);
}

/* Steps through rows of a list query, calling fill for each, into an arena array; sets has_more when a row past
 * limit exists (the query asks for limit + 1). */

static rf_status collect(rf_store *s, sqlite3_stmt *st, int limit, size_t item_size, row_fn fill, void **items,
			 size_t *n, bool *has_more, rf_arena *a, rf_err *err)
{
	char *arr = rf_arena_alloc(a, item_size * (size_t)(limit + 1));
	if (!arr)
		return rf_err_set(err, RF_ENOMEM, NULL, "out of memory");
	size_t count = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (count == (size_t)limit) {
			*has_more = true;
			break;
		}
		fill(st, arr + item_size * count, a);
		count++;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(s, err, "listing");
	if (rc == SQLITE_DONE)
		*has_more = false;
	*items = arr;
	*n = count;
	return RF_OK;
}

rf_status rf_store_program_list(rf_store *s, const rf_page *page, const char *only_id, rf_program **items, size_t *n,
				bool *has_more, rf_arena *a, rf_err *err)
{
	int64_t after = INT64_MAX;
	if (page->starting_after && cursor_seq(s, "programs", page->starting_after, &after, err) != RF_OK)
		return err->status;
	sqlite3_stmt *st = prep(s,
				"SELECT " PROGRAM_COLS " FROM programs WHERE seq < ?1 AND (?2 IS NULL OR id = ?2) "
				"ORDER BY seq DESC LIMIT ?3",
				err);
	if (!st)
		return RF_EIO;
	sqlite3_bind_int64(st, 1, after);
	bind_text(st, 2, only_id);
	sqlite3_bind_int(st, 3, page->limit + 1);
	return collect(s, st, page->limit, sizeof(rf_program), program_fill, (void **)items, n, has_more, a, err);
}

/* ---- partners ---- */

#define PARTNER_COLS                                                                                       \
	"p.id, p.program_id, p.kind, p.status, p.name, p.email, p.company, p.currency, p.cost_per_lead, "  \
	"p.cost_per_lead_currency, p.team_parent_id, p.recruited_by_id, p.tax_legal_name, p.tax_country, " \
	"p.tax_id_sealed, p.tax_id_last4, p.metadata, p.status_reason, p.created_at, p.updated_at"

static void partner_row(sqlite3_stmt *st, rf_partner *p, rf_arena *a)
{
	memset(p, 0, sizeof *p);
	p->id = col_text(st, 0, a);
	p->program_id = col_text(st, 1, a);
	p->kind = col_text(st, 2, a);
	p->status = col_text(st, 3, a);
	p->name = col_text(st, 4, a);
	p->email = col_text(st, 5, a);
	p->company = col_text(st, 6, a);
	col_code(st, 7, p->currency);
	p->cost_per_lead = sqlite3_column_int64(st, 8);
	col_code(st, 9, p->cost_per_lead_currency);
	p->team_parent_id = col_text(st, 10, a);
	p->recruited_by_id = col_text(st, 11, a);
	p->tax_legal_name = col_text(st, 12, a);
	p->tax_country = col_text(st, 13, a);
	if (sqlite3_column_type(st, 14) == SQLITE_BLOB) {
		int len = sqlite3_column_bytes(st, 14);
		p->tax_id_sealed = rf_arena_alloc(a, (size_t)len);
		if (p->tax_id_sealed) {
			memcpy(p->tax_id_sealed, sqlite3_column_blob(st, 14), (size_t)len);
			p->tax_id_sealed_len = (size_t)len;
		}
	}
	p->tax_id_last4 = col_text(st, 15, a);
	p->metadata = col_text(st, 16, a);
	p->status_reason = col_text(st, 17, a);
	p->created_at = sqlite3_column_int64(st, 18);
	p->updated_at = sqlite3_column_int64(st, 19);
}

static void partner_fill(sqlite3_stmt *st, void *item, rf_arena *a)
{
	partner_row(st, item, a);
}

static void partner_bind(sqlite3_stmt *st, const rf_partner *p)
{
	bind_text(st, 1, p->id);
	bind_text(st, 2, p->program_id);
	bind_text(st, 3, p->kind);
	bind_text(st, 4, p->status);
	bind_text(st, 5, p->name);
	bind_text(st, 6, p->email);
	bind_text(st, 7, p->company);
	bind_text(st, 8, p->currency);
	sqlite3_bind_int64(st, 9, p->cost_per_lead);
	bind_text(st, 10, p->cost_per_lead_currency);
	bind_text(st, 11, p->team_parent_id);
	bind_text(st, 12, p->recruited_by_id);
	bind_text(st, 13, p->tax_legal_name);
	bind_text(st, 14, p->tax_country);
	if (p->tax_id_sealed)
		sqlite3_bind_blob(st, 15, p->tax_id_sealed, (int)p->tax_id_sealed_len, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, 15);
	bind_text(st, 16, p->tax_id_last4);
	bind_text(st, 17, p->metadata ? p->metadata : "{}");
	bind_text(st, 18, p->status_reason);
	sqlite3_bind_int64(st, 19, p->created_at);
	sqlite3_bind_int64(st, 20, p->updated_at);
}

rf_status rf_store_partner_insert(rf_store *s, const rf_partner *p, rf_err *err)
{
	sqlite3_stmt *st = prep(s,
				"INSERT INTO partners (id, program_id, kind, status, name, email, company, currency, "
				"cost_per_lead, cost_per_lead_currency, team_parent_id, recruited_by_id, "
				"tax_legal_name, tax_country, tax_id_sealed, tax_id_last4, metadata, status_reason, "
				"created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
				err);
	if (!st)
		return RF_EIO;
	partner_bind(st, p);
	return step_done(s, st, "email", err);
}

rf_status rf_store_partner_update(rf_store *s, const rf_partner *p, rf_err *err)
{
	sqlite3_stmt *st = prep(s,
				"UPDATE partners SET program_id = ?2, kind = ?3, status = ?4, name = ?5, email = ?6, "
				"company = ?7, currency = ?8, cost_per_lead = ?9, cost_per_lead_currency = ?10, "
				"team_parent_id = ?11, recruited_by_id = ?12, tax_legal_name = ?13, tax_country = ?14, "
				"tax_id_sealed = ?15, tax_id_last4 = ?16, metadata = ?17, status_reason = ?18, "
				"created_at = ?19, updated_at = ?20 WHERE id = ?1",
				err);
	if (!st)
		return RF_EIO;
	partner_bind(st, p);
	rf_status rc = step_done(s, st, "email", err);
	if (rc == RF_OK && sqlite3_changes(s->db) == 0)
		return rf_err_set(err, RF_ENOTFOUND, "id", "no such partner");
	return rc;
}

rf_status rf_store_partner_get(rf_store *s, const char *id, rf_partner *out, rf_arena *a, rf_err *err)
{
	return get_one(s, "SELECT " PARTNER_COLS " FROM partners p WHERE p.id = ?", id, partner_fill, out, a, "partner",
		       err);
}

rf_status rf_store_partner_parent(rf_store *s, const char *relation, const char *id, char **parent, rf_arena *a,
				  rf_err *err)
{
	const char *sql = strcmp(relation, "team_parent_id") == 0 ? "SELECT team_parent_id FROM partners WHERE id = ?"
								  : "SELECT recruited_by_id FROM partners WHERE id = ?";
	sqlite3_stmt *st = prep(s, sql, err);
	if (!st)
		return RF_EIO;
	bind_text(st, 1, id);
	int rc = sqlite3_step(st);
	*parent = rc == SQLITE_ROW ? col_text(st, 0, a) : NULL;
	sqlite3_reset(st);
	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		return RF_OK;
	return db_fail(s, err, "reading a partner relation");
}

/* How many candidates each search source contributes before ranking, and the most a search returns. */
#define SEARCH_CAP 1000

/* Turns free text into an FTS5 query: every run of letters and digits becomes a quoted prefix term, all of
 * which must match. Returns false when the text has no such run. */
static bool fts_query(const char *q, char *out, size_t len)
{
	size_t o = 0;
	int terms = 0;
	const unsigned char *p = (const unsigned char *)q;
	while (*p && terms < 8) {
		while (*p && !(*p >= 0x80 || (*p >= '0' && *p <= '9') || ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z')))
			p++;
		const unsigned char *start = p;
		while (*p && (*p >= 0x80 || (*p >= '0' && *p <= '9') || ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z')))
			p++;
		size_t n = (size_t)(p - start);
		if (n == 0)
			break;
		if (n > 64)
			n = 64;
		if (o + n + 6 >= len)
			break;
		if (terms)
			out[o++] = ' ';
		out[o++] = '"';
		memcpy(out + o, start, n);
		o += n;
		out[o++] = '"';
		out[o++] = '*';
		terms++;
	}
	out[o] = '\0';
	return terms > 0;
}

/* Appends " AND …" conditions for the filter's equality filters and scope, numbering parameters from *next;
 * records their values in binds. Returns the length written. */
static size_t filter_sql(const rf_partner_filter *f, char *out, size_t len, int *next, const char **binds, int *nb)
{
	size_t o = 0;
	struct {
		const char *col, *val;
	} eq[] = {{"p.program_id", f->program_id},
		  {"p.status", f->status},
		  {"p.kind", f->kind},
		  {"p.team_parent_id", f->team_parent_id},
		  {"p.recruited_by_id", f->recruited_by_id}};
	out[0] = '\0';
	for (size_t i = 0; i < sizeof eq / sizeof eq[0]; i++) {
		if (!eq[i].val)
			continue;
		o += (size_t)snprintf(out + o, len - o, " AND %s = ?%d", eq[i].col, *next);
		binds[(*nb)++] = eq[i].val;
		(*next)++;
	}
	if (f->scope_id) {
		o += (size_t)snprintf(out + o, len - o, " AND (p.id = ?%d OR p.team_parent_id = ?%d)", *next, *next);
		binds[(*nb)++] = f->scope_id;
		(*next)++;
	}
	return o;
}

rf_status rf_store_partner_list(rf_store *s, const rf_partner_filter *f, rf_partner **items, size_t *n, bool *has_more,
				rf_arena *a, rf_err *err)
{
	char sql[8192], where[512], match[1024];
	const char *binds[8];
	int nb = 0, next = 4; /* ?1 match or cursor, ?2 lower-cased query, ?3 its upper bound for prefix ranges */
	bool search = f->q != NULL;
	if (search && !fts_query(f->q, match, sizeof match)) {
		*items = NULL;
		*n = 0;
		*has_more = false;
		return RF_OK;
	}
	filter_sql(f, where, sizeof where, &next, binds, &nb);
	int limit_idx = next;
	int64_t after = INT64_MAX;
	int o;
	if (!search) {
		if (f->page.starting_after && cursor_seq(s, "partners", f->page.starting_after, &after, err) != RF_OK)
			return err->status;
		o = snprintf(sql, sizeof sql,
			     "SELECT " PARTNER_COLS " FROM partners p WHERE p.seq < ?1%s ORDER BY p.seq DESC LIMIT ?%d",
			     where, limit_idx);
	} else {
		/* Candidates come from three bounded sources, each already filtered: emails and names that start
		 * with the query (B-tree ranges) and word-prefix matches from the full-text index. The caps keep a
		 * one-letter query over 100,000 partners about as cheap as a precise one. Word matches are ranked by
		 * bm25 (name above email above company) when there are few enough of them to rank cheaply. A query
		 * with text before an '@' is after an email address: the email range answers it, and the word index
		 * would only walk every "example" and "com". */
		bool email_like = f->q[0] != '@' && strchr(f->q, '@') != NULL;
		int64_t matches = 0;
		if (!email_like) {
			sqlite3_stmt *cnt =
			    prep(s, "SELECT count(*) FROM partners_fts WHERE partners_fts MATCH ?", err);
			if (!cnt)
				return RF_EIO;
			bind_text(cnt, 1, match);
			if (sqlite3_step(cnt) == SQLITE_ROW)
				matches = sqlite3_column_int64(cnt, 0);
			sqlite3_reset(cnt);
		}
		o = snprintf(
		    sql, sizeof sql,
		    "WITH cand(seq, score) AS ("
		    "SELECT seq, 0.0 FROM (SELECT p.seq FROM partners p WHERE p.email >= ?2 AND p.email < ?3%s "
		    "ORDER BY p.email LIMIT %d) "
		    "UNION ALL SELECT seq, 0.0 FROM (SELECT p.seq FROM partners p WHERE lower(p.name) >= ?2 AND "
		    "lower(p.name) < ?3%s ORDER BY lower(p.name) LIMIT %d) "
		    "UNION ALL SELECT * FROM (SELECT partners_fts.rowid, bm25(partners_fts, 10.0, 5.0, 1.0) "
		    "FROM partners_fts JOIN partners p ON p.seq = partners_fts.rowid WHERE partners_fts MATCH ?1%s "
		    "%s LIMIT %d)), "
		    "best(seq, score) AS (SELECT seq, min(score) FROM cand GROUP BY seq) "
		    "SELECT " PARTNER_COLS " FROM best JOIN partners p ON p.seq = best.seq "
		    "ORDER BY CASE WHEN p.email = ?2 THEN 0 WHEN lower(p.name) = ?2 THEN 1 "
		    "WHEN substr(lower(p.name), 1, length(?2)) = ?2 THEN 2 "
		    "WHEN substr(p.email, 1, length(?2)) = ?2 THEN 3 ELSE 4 END, best.score, p.seq DESC "
		    "LIMIT ?%d",
		    where, SEARCH_CAP, where, SEARCH_CAP, where, matches <= 5000 ? "ORDER BY partners_fts.rank" : "",
		    email_like ? 0 : SEARCH_CAP, limit_idx);
	}
	if (o < 0 || (size_t)o >= sizeof sql)
		return rf_err_set(err, RF_EIO, NULL, "query too long");

	sqlite3_stmt *st = prep(s, sql, err);
	if (!st)
		return RF_EIO;
	if (search) {
		bind_text(st, 1, match);
		/* The exact and prefix tiers compare with the query as typed, less stray spaces and case. */
		char *lq = rf_lower_arena(a, f->q);
		while (lq && *lq == ' ')
			lq++;
		size_t ll = lq ? strlen(lq) : 0;
		while (ll && lq[ll - 1] == ' ')
			lq[--ll] = '\0';
		bind_text(st, 2, lq);
		/* The smallest string above every string that starts with lq: its last byte plus one (UTF-8 text
		 * never holds 0xff, so this cannot wrap). */
		char *hi = rf_arena_strdup(a, lq);
		if (hi && ll)
			hi[ll - 1] = (char)(hi[ll - 1] + 1);
		bind_text(st, 3, hi);
	} else {
		sqlite3_bind_int64(st, 1, after);
	}
	for (int i = 0; i < nb; i++)
		bind_text(st, 4 + i, binds[i]);

	if (!search || !f->page.starting_after) {
		sqlite3_bind_int(st, limit_idx,
				 search ? (f->page.limit + 1 < SEARCH_CAP ? f->page.limit + 1 : SEARCH_CAP)
					: f->page.limit + 1);
		return collect(s, st, f->page.limit, sizeof(rf_partner), partner_fill, (void **)items, n, has_more, a,
			       err);
	}
	/* A ranked list has no natural order to seek in, so its cursor skips past the given id within the
	 * ranked results (a search returns at most SEARCH_CAP of them). */
	sqlite3_bind_int(st, limit_idx, SEARCH_CAP);
	rf_partner *arr = rf_arena_alloc(a, sizeof *arr * (size_t)(f->page.limit + 1));
	if (!arr)
		return rf_err_set(err, RF_ENOMEM, NULL, "out of memory");
	size_t count = 0;
	bool found = false;
	int rc;
	*has_more = false;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (!found) {
			const char *id = (const char *)sqlite3_column_text(st, 0);
			found = id && strcmp(id, f->page.starting_after) == 0;
			continue;
		}
		if (count == (size_t)f->page.limit) {
			*has_more = true;
			break;
		}
		partner_row(st, &arr[count++], a);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(s, err, "searching partners");
	if (!found)
		return rf_err_set(err, RF_EINVAL, "starting_after",
				  "starting_after: %s is not among the results of this search", f->page.starting_after);
	*items = arr;
	*n = count;
	return RF_OK;
}

/* ---- users ---- */

#define USER_COLS "id, email, password_hash, role, partner_id, created_at, disabled_at"

static void user_row(sqlite3_stmt *st, rf_user *u, rf_arena *a)
{
	memset(u, 0, sizeof *u);
	u->id = col_text(st, 0, a);
	u->email = col_text(st, 1, a);
	u->password_hash = col_text(st, 2, a);
	u->role = col_text(st, 3, a);
	u->partner_id = col_text(st, 4, a);
	u->created_at = sqlite3_column_int64(st, 5);
	u->disabled_at = sqlite3_column_int64(st, 6);
}

static void user_fill(sqlite3_stmt *st, void *item, rf_arena *a)
{
	user_row(st, item, a);
}

static void user_bind(sqlite3_stmt *st, const rf_user *u)
{
	bind_text(st, 1, u->id);
	bind_text(st, 2, u->email);
	bind_text(st, 3, u->password_hash);
	bind_text(st, 4, u->role);
	bind_text(st, 5, u->partner_id);
	sqlite3_bind_int64(st, 6, u->created_at);
	sqlite3_bind_int64(st, 7, u->disabled_at);
}

rf_status rf_store_user_insert(rf_store *s, const rf_user *u, rf_err *err)
{
	sqlite3_stmt *st = prep(s, "INSERT INTO users (" USER_COLS ") VALUES (?,?,?,?,?,?,?)", err);
	if (!st)
		return RF_EIO;
	user_bind(st, u);
	return step_done(s, st, "email", err);
}

rf_status rf_store_user_update(rf_store *s, const rf_user *u, rf_err *err)
{
	sqlite3_stmt *st = prep(s,
				"UPDATE users SET email = ?2, password_hash = ?3, role = ?4, partner_id = ?5, "
				"created_at = ?6, disabled_at = ?7 WHERE id = ?1",
				err);
	if (!st)
		return RF_EIO;
	user_bind(st, u);
	rf_status rc = step_done(s, st, "email", err);
	if (rc == RF_OK && sqlite3_changes(s->db) == 0)
		return rf_err_set(err, RF_ENOTFOUND, "id", "no such user");
	return rc;
}

static rf_status user_get_by(rf_store *s, const char *sql, const char *key, rf_user *out, rf_arena *a, rf_err *err)
{
	return get_one(s, sql, key, user_fill, out, a, "user", err);
}

rf_status rf_store_user_get(rf_store *s, const char *id, rf_user *out, rf_arena *a, rf_err *err)
{
	return user_get_by(s, "SELECT " USER_COLS " FROM users WHERE id = ?", id, out, a, err);
}

rf_status rf_store_user_get_by_email(rf_store *s, const char *email, rf_user *out, rf_arena *a, rf_err *err)
{
	return user_get_by(s, "SELECT " USER_COLS " FROM users WHERE email = ?", email, out, a, err);
}

rf_status rf_store_user_count_owners(rf_store *s, int64_t *count, rf_err *err)
{
	sqlite3_stmt *st = prep(s, "SELECT count(*) FROM users WHERE role = 'owner' AND disabled_at = 0", err);
	if (!st)
		return RF_EIO;
	int rc = sqlite3_step(st);
	*count = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? RF_OK : db_fail(s, err, "counting owners");
}

rf_status rf_store_user_list(rf_store *s, const rf_page *page, rf_user **items, size_t *n, bool *has_more, rf_arena *a,
			     rf_err *err)
{
	int64_t after = INT64_MAX;
	if (page->starting_after && cursor_seq(s, "users", page->starting_after, &after, err) != RF_OK)
		return err->status;
	sqlite3_stmt *st = prep(s, "SELECT " USER_COLS " FROM users WHERE seq < ? ORDER BY seq DESC LIMIT ?", err);
	if (!st)
		return RF_EIO;
	sqlite3_bind_int64(st, 1, after);
	sqlite3_bind_int(st, 2, page->limit + 1);
	return collect(s, st, page->limit, sizeof(rf_user), user_fill, (void **)items, n, has_more, a, err);
}

/* ---- API keys ---- */

#define KEY_COLS "id, name, role, partner_id, prefix, hash, created_by, created_at, last_used_at, revoked_at"

static void key_row(sqlite3_stmt *st, rf_apikey *k, rf_arena *a)
{
	memset(k, 0, sizeof *k);
	k->id = col_text(st, 0, a);
	k->name = col_text(st, 1, a);
	k->role = col_text(st, 2, a);
	k->partner_id = col_text(st, 3, a);
	k->prefix = col_text(st, 4, a);
	k->hash = col_text(st, 5, a);
	k->created_by = col_text(st, 6, a);
	k->created_at = sqlite3_column_int64(st, 7);
	k->last_used_at = sqlite3_column_int64(st, 8);
	k->revoked_at = sqlite3_column_int64(st, 9);
}

static void key_fill(sqlite3_stmt *st, void *item, rf_arena *a)
{
	key_row(st, item, a);
}

rf_status rf_store_apikey_insert(rf_store *s, const rf_apikey *k, rf_err *err)
{
	sqlite3_stmt *st = prep(s, "INSERT INTO api_keys (" KEY_COLS ") VALUES (?,?,?,?,?,?,?,?,?,?)", err);
	if (!st)
		return RF_EIO;
	bind_text(st, 1, k->id);
	bind_text(st, 2, k->name);
	bind_text(st, 3, k->role);
	bind_text(st, 4, k->partner_id);
	bind_text(st, 5, k->prefix);
	bind_text(st, 6, k->hash);
	bind_text(st, 7, k->created_by);
	sqlite3_bind_int64(st, 8, k->created_at);
	sqlite3_bind_int64(st, 9, k->last_used_at);
	sqlite3_bind_int64(st, 10, k->revoked_at);
	return step_done(s, st, "id", err);
}

static rf_status key_get_by(rf_store *s, const char *sql, const char *v, rf_apikey *out, rf_arena *a, rf_err *err)
{
	return get_one(s, sql, v, key_fill, out, a, "API key", err);
}

rf_status rf_store_apikey_get(rf_store *s, const char *id, rf_apikey *out, rf_arena *a, rf_err *err)
{
	return key_get_by(s, "SELECT " KEY_COLS " FROM api_keys WHERE id = ?", id, out, a, err);
}

rf_status rf_store_apikey_get_by_hash(rf_store *s, const char *hash, rf_apikey *out, rf_arena *a, rf_err *err)
{
	return key_get_by(s, "SELECT " KEY_COLS " FROM api_keys WHERE hash = ?", hash, out, a, err);
}

rf_status rf_store_apikey_list(rf_store *s, const rf_page *page, rf_apikey **items, size_t *n, bool *has_more,
			       rf_arena *a, rf_err *err)
{
	int64_t after = INT64_MAX;
	if (page->starting_after && cursor_seq(s, "api_keys", page->starting_after, &after, err) != RF_OK)
		return err->status;
	sqlite3_stmt *st = prep(s, "SELECT " KEY_COLS " FROM api_keys WHERE seq < ? ORDER BY seq DESC LIMIT ?", err);
	if (!st)
		return RF_EIO;
	sqlite3_bind_int64(st, 1, after);
	sqlite3_bind_int(st, 2, page->limit + 1);
	return collect(s, st, page->limit, sizeof(rf_apikey), key_fill, (void **)items, n, has_more, a, err);
}

static rf_status key_set_time(rf_store *s, const char *sql, const char *id, int64_t at, rf_err *err)
{
	sqlite3_stmt *st = prep(s, sql, err);
	if (!st)
		return RF_EIO;
	sqlite3_bind_int64(st, 1, at);
	bind_text(st, 2, id);
	return step_done(s, st, NULL, err);
}

rf_status rf_store_apikey_revoke(rf_store *s, const char *id, int64_t at, rf_err *err)
{
	return key_set_time(s, "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at = 0", id, at, err);
}

rf_status rf_store_apikey_touch(rf_store *s, const char *id, int64_t at, rf_err *err)
{
	return key_set_time(s, "UPDATE api_keys SET last_used_at = ? WHERE id = ?", id, at, err);
}

/* ---- sessions ---- */

rf_status rf_store_session_insert(rf_store *s, const rf_session *ss, rf_err *err)
{
	sqlite3_stmt *st = prep(s,
				"INSERT INTO sessions (hash, user_id, csrf_token, created_at, expires_at) "
				"VALUES (?,?,?,?,?)",
				err);
	if (!st)
		return RF_EIO;
	bind_text(st, 1, ss->hash);
	bind_text(st, 2, ss->user_id);
	bind_text(st, 3, ss->csrf_token);
	sqlite3_bind_int64(st, 4, ss->created_at);
	sqlite3_bind_int64(st, 5, ss->expires_at);
	return step_done(s, st, NULL, err);
}

rf_status rf_store_session_get(rf_store *s, const char *hash, rf_session *out, rf_arena *a, rf_err *err)
{
	sqlite3_stmt *st =
	    prep(s, "SELECT hash, user_id, csrf_token, created_at, expires_at FROM sessions WHERE hash = ?", err);
	if (!st)
		return RF_EIO;
	bind_text(st, 1, hash);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->hash = col_text(st, 0, a);
		out->user_id = col_text(st, 1, a);
		out->csrf_token = col_text(st, 2, a);
		out->created_at = sqlite3_column_int64(st, 3);
		out->expires_at = sqlite3_column_int64(st, 4);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return RF_OK;
	if (rc == SQLITE_DONE)
		return rf_err_set(err, RF_ENOTFOUND, NULL, "no such session");
	return db_fail(s, err, "reading a session");
}

static rf_status delete_by(rf_store *s, const char *sql, const char *v, rf_err *err)
{
	sqlite3_stmt *st = prep(s, sql, err);
	if (!st)
		return RF_EIO;
	bind_text(st, 1, v);
	return step_done(s, st, NULL, err);
}

rf_status rf_store_session_delete(rf_store *s, const char *hash, rf_err *err)
{
	return delete_by(s, "DELETE FROM sessions WHERE hash = ?", hash, err);
}

rf_status rf_store_session_delete_user(rf_store *s, const char *user_id, rf_err *err)
{
	return delete_by(s, "DELETE FROM sessions WHERE user_id = ?", user_id, err);
}

/* ---- login throttling ---- */

rf_status rf_store_login_failure_add(rf_store *s, const char *key, int64_t at, rf_err *err)
{
	sqlite3_stmt *st = prep(s, "INSERT INTO login_failures (key, at) VALUES (?, ?)", err);
	if (!st)
		return RF_EIO;
	bind_text(st, 1, key);
	sqlite3_bind_int64(st, 2, at);
	return step_done(s, st, NULL, err);
}

rf_status rf_store_login_failure_count(rf_store *s, const char *key, int64_t since, int64_t *count, rf_err *err)
{
	sqlite3_stmt *st = prep(s, "SELECT count(*) FROM login_failures WHERE key = ? AND at >= ?", err);
	if (!st)
		return RF_EIO;
	bind_text(st, 1, key);
	sqlite3_bind_int64(st, 2, since);
	int rc = sqlite3_step(st);
	*count = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? RF_OK : db_fail(s, err, "counting login failures");
}

rf_status rf_store_login_failure_clear(rf_store *s, const char *key, rf_err *err)
{
	return delete_by(s, "DELETE FROM login_failures WHERE key = ?", key, err);
}

/* ---- links ---- */

#define LINK_COLS                                                                                               \
	"l.id, l.program_id, l.partner_id, l.code, l.destination_url, l.campaign, l.utm_source, l.utm_medium, " \
	"l.utm_campaign, l.utm_term, l.utm_content, l.archived_at, l.created_at, l.updated_at, l.target_url"

static void link_row(sqlite3_stmt *st, rf_link *l, rf_arena *a)
{
	memset(l, 0, sizeof *l);
	l->id = col_text(st, 0, a);
	l->program_id = col_text(st, 1, a);
	l->partner_id = col_text(st, 2, a);
	l->code = col_text(st, 3, a);
	l->destination_url = col_text(st, 4, a);
	l->campaign = col_text(st, 5, a);
	l->utm_source = col_text(st, 6, a);
	l->utm_medium = col_text(st, 7, a);
	l->utm_campaign = col_text(st, 8, a);
	l->utm_term = col_text(st, 9, a);
	l->utm_content = col_text(st, 10, a);
	l->archived_at = sqlite3_column_int64(st, 11);
	l->created_at = sqlite3_column_int64(st, 12);
	l->updated_at = sqlite3_column_int64(st, 13);
	l->target_url = col_text(st, 14, a);
}

static void link_fill(sqlite3_stmt *st, void *item, rf_arena *a)
{
	link_row(st, item, a);
}

rf_status rf_store_link_insert(rf_store *s, const rf_link *l, const char *code_folded, rf_err *err)
{
	sqlite3_stmt *st = prep(s,
				"INSERT INTO links (id, program_id, partner_id, code, code_folded, destination_url, "
				"campaign, utm_source, utm_medium, utm_campaign, utm_term, utm_content, archived_at, "
				"created_at, updated_at, target_url) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
				err);
	if (!st)
		return RF_EIO;
	bind_text(st, 1, l->id);
	bind_text(st, 2, l->program_id);
	bind_text(st, 3, l->partner_id);
	bind_text(st, 4, l->code);
	bind_text(st, 5, code_folded);
	bind_text(st, 6, l->destination_url);
	bind_text(st, 7, l->campaign);
	bind_text(st, 8, l->utm_source);
	bind_text(st, 9, l->utm_medium);
	bind_text(st, 10, l->utm_campaign);
	bind_text(st, 11, l->utm_term);
	bind_text(st, 12, l->utm_content);
	sqlite3_bind_int64(st, 13, l->archived_at);
	sqlite3_bind_int64(st, 14, l->created_at);
	sqlite3_bind_int64(st, 15, l->updated_at);
	bind_text(st, 16, l->target_url);
	return step_done(s, st, "code", err);
}

rf_status rf_store_link_update(rf_store *s, const rf_link *l, rf_err *err)
{
	sqlite3_stmt *st =
	    prep(s,
		 "UPDATE links SET destination_url = ?2, campaign = ?3, utm_source = ?4, utm_medium = ?5, "
		 "utm_campaign = ?6, utm_term = ?7, utm_content = ?8, archived_at = ?9, updated_at = ?10, "
		 "target_url = ?11 WHERE id = ?1",
		 err);
	if (!st)
		return RF_EIO;
	bind_text(st, 1, l->id);
	bind_text(st, 2, l->destination_url);
	bind_text(st, 3, l->campaign);
	bind_text(st, 4, l->utm_source);
	bind_text(st, 5, l->utm_medium);
	bind_text(st, 6, l->utm_campaign);
	bind_text(st, 7, l->utm_term);
	bind_text(st, 8, l->utm_content);
	sqlite3_bind_int64(st, 9, l->archived_at);
	sqlite3_bind_int64(st, 10, l->updated_at);
	bind_text(st, 11, l->target_url);
	rf_status rc = step_done(s, st, NULL, err);
	if (rc == RF_OK && sqlite3_changes(s->db) == 0)
		return rf_err_set(err, RF_ENOTFOUND, "id", "no such link");
	return rc;
}

rf_status rf_store_link_get(rf_store *s, const char *id, rf_link *out, rf_arena *a, rf_err *err)
{
	return get_one(s, "SELECT " LINK_COLS " FROM links l WHERE l.id = ?", id, link_fill, out, a, "link", err);
}

rf_status rf_store_link_list(rf_store *s, const rf_link_filter *f, rf_link **items, size_t *n, bool *has_more,
			     rf_arena *a, rf_err *err)
{
	int64_t after = INT64_MAX;
	if (f->page.starting_after && cursor_seq(s, "links", f->page.starting_after, &after, err) != RF_OK)
		return err->status;
	sqlite3_stmt *st =
	    prep(s,
		 "SELECT " LINK_COLS " FROM links l JOIN partners p ON p.id = l.partner_id "
		 "WHERE l.seq < ?1 AND (?2 IS NULL OR l.program_id = ?2) AND (?3 IS NULL OR l.partner_id = ?3) "
		 "AND (?4 IS NULL OR l.campaign = ?4) AND (?5 IS NULL OR p.id = ?5 OR p.team_parent_id = ?5) "
		 "AND (?6 OR l.archived_at = 0) ORDER BY l.seq DESC LIMIT ?7",
		 err);
	if (!st)
		return RF_EIO;
	sqlite3_bind_int64(st, 1, after);
	bind_text(st, 2, f->program_id);
	bind_text(st, 3, f->partner_id);
	bind_text(st, 4, f->campaign);
	bind_text(st, 5, f->scope_id);
	sqlite3_bind_int(st, 6, f->include_archived);
	sqlite3_bind_int(st, 7, f->page.limit + 1);
	return collect(s, st, f->page.limit, sizeof(rf_link), link_fill, (void **)items, n, has_more, a, err);
}

rf_status rf_store_code_table_load(rf_store *s, void (*fn)(const rf_code_entry *e, void *arg), void *arg, rf_err *err)
{
	sqlite3_stmt *st = prep(s,
				"SELECT l.code_folded, l.id, l.program_id, l.partner_id, l.target_url, "
				"p.status = 'active', pr.cookie_window_days, pr.repeat_click_minutes FROM links l "
				"JOIN partners p ON p.id = l.partner_id JOIN programs pr ON pr.id = l.program_id "
				"WHERE l.archived_at = 0",
				err);
	if (!st)
		return RF_EIO;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		rf_code_entry e = {
		    .code_folded = (char *)sqlite3_column_text(st, 0),
		    .link_id = (char *)sqlite3_column_text(st, 1),
		    .program_id = (char *)sqlite3_column_text(st, 2),
		    .partner_id = (char *)sqlite3_column_text(st, 3),
		    .destination_url = (char *)sqlite3_column_text(st, 4),
		    .credited = sqlite3_column_int(st, 5) != 0,
		    .window_days = sqlite3_column_int64(st, 6),
		    .repeat_minutes = sqlite3_column_int64(st, 7),
		};
		fn(&e, arg);
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? RF_OK : db_fail(s, err, "loading the code table");
}

rf_status rf_store_default_fallback(rf_store *s, char **url, rf_arena *a, rf_err *err)
{
	sqlite3_stmt *st =
	    prep(s, "SELECT fallback_url FROM programs WHERE fallback_url IS NOT NULL ORDER BY seq LIMIT 1", err);
	if (!st)
		return RF_EIO;
	int rc = sqlite3_step(st);
	*url = rc == SQLITE_ROW ? col_text(st, 0, a) : NULL;
	sqlite3_reset(st);
	return (rc == SQLITE_ROW || rc == SQLITE_DONE) ? RF_OK : db_fail(s, err, "reading the fallback URL");
}

rf_status rf_store_links_version(rf_store *s, int64_t *version, rf_err *err)
{
	sqlite3_stmt *st = prep(s, "SELECT CAST(value AS INTEGER) FROM settings WHERE key = 'links_version'", err);
	if (!st)
		return RF_EIO;
	int rc = sqlite3_step(st);
	*version = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	return (rc == SQLITE_ROW || rc == SQLITE_DONE) ? RF_OK : db_fail(s, err, "reading the links version");
}

rf_status rf_store_links_version_bump(rf_store *s, rf_err *err)
{
	sqlite3_stmt *st = prep(s,
				"UPDATE settings SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) "
				"WHERE key = 'links_version'",
				err);
	if (!st)
		return RF_EIO;
	return step_done(s, st, NULL, err);
}

rf_status rf_store_defer_maintenance(rf_store *s, rf_err *err)
{
	return exec(s, "PRAGMA wal_autocheckpoint=0", err);
}

rf_status rf_store_maintain(rf_store *s, rf_err *err)
{
	int log = 0, done = 0;
	int rc = sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
	/* Busy means another connection is checkpointing right now: the work gets done either way. */
	if (rc != SQLITE_OK && rc != SQLITE_BUSY && rc != SQLITE_LOCKED)
		return db_fail(s, err, "checkpointing");
	return RF_OK;
}

/* ---- clicks ---- */

#define CLICK_COLS                                                                                          \
	"id, program_id, link_id, partner_id, prev_click_id, at, ip_hash, ip_prefix, user_agent, referer, " \
	"landing_url, source, status"

rf_status rf_store_click_insert(rf_store *s, const rf_click *c, rf_err *err)
{
	sqlite3_stmt *st = prep(s, "INSERT INTO clicks (" CLICK_COLS ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", err);
	if (!st)
		return RF_EIO;
	bind_text(st, 1, c->id);
	bind_text(st, 2, c->program_id);
	bind_text(st, 3, c->link_id);
	bind_text(st, 4, c->partner_id);
	bind_text(st, 5, c->prev_click_id);
	sqlite3_bind_int64(st, 6, c->at);
	bind_text(st, 7, c->ip_hash);
	bind_text(st, 8, c->ip_prefix);
	bind_text(st, 9, c->user_agent);
	bind_text(st, 10, c->referer);
	bind_text(st, 11, c->landing_url);
	bind_text(st, 12, c->source);
	bind_text(st, 13, c->status);
	return step_done(s, st, "id", err);
}

rf_status rf_store_click_get(rf_store *s, const char *id, rf_click *out, rf_arena *a, rf_err *err)
{
	sqlite3_stmt *st = prep(s, "SELECT " CLICK_COLS " FROM clicks WHERE id = ?", err);
	if (!st)
		return RF_EIO;
	bind_text(st, 1, id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		memset(out, 0, sizeof *out);
		out->id = col_text(st, 0, a);
		out->program_id = col_text(st, 1, a);
		out->link_id = col_text(st, 2, a);
		out->partner_id = col_text(st, 3, a);
		out->prev_click_id = col_text(st, 4, a);
		out->at = sqlite3_column_int64(st, 5);
		out->ip_hash = col_text(st, 6, a);
		out->ip_prefix = col_text(st, 7, a);
		out->user_agent = col_text(st, 8, a);
		out->referer = col_text(st, 9, a);
		out->landing_url = col_text(st, 10, a);
		out->source = col_text(st, 11, a);
		out->status = col_text(st, 12, a);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return RF_OK;
	if (rc == SQLITE_DONE)
		return rf_err_set(err, RF_ENOTFOUND, "click_id", "no such click");
	return db_fail(s, err, "reading a click");
}

rf_status rf_store_click_counts(rf_store *s, const char *link_id, int64_t counts[4], rf_err *err)
{
	static const char *const names[4] = {"counted", "bot", "repeat", "uncredited"};
	sqlite3_stmt *st = prep(s, "SELECT status, count(*) FROM clicks WHERE link_id = ? GROUP BY status", err);
	if (!st)
		return RF_EIO;
	bind_text(st, 1, link_id);
	for (int i = 0; i < 4; i++)
		counts[i] = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		for (int i = 0; i < 4; i++)
			if (name && strcmp(name, names[i]) == 0)
				counts[i] = sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? RF_OK : db_fail(s, err, "counting clicks");
}

/* ---- leads ---- */

#define LEAD_COLS                                                                                              \
	"l.id, l.program_id, l.email, l.external_id, l.name, l.company, l.phone, l.source, l.status, "         \
	"l.partner_id, l.agent_id, l.click_id, l.method, l.registration, l.review_reason, l.protected_until, " \
	"l.metadata, l.created_by, l.created_at, l.updated_at, l.status_at, l.converted_at"

static void lead_row(sqlite3_stmt *st, rf_lead *l, rf_arena *a)
{
	memset(l, 0, sizeof *l);
	l->id = col_text(st, 0, a);
	l->program_id = col_text(st, 1, a);
	l->email = col_text(st, 2, a);
	l->external_id = col_text(st, 3, a);
	l->name = col_text(st, 4, a);
	l->company = col_text(st, 5, a);
	l->phone = col_text(st, 6, a);
	l->source = col_text(st, 7, a);
	l->status = col_text(st, 8, a);
	l->partner_id = col_text(st, 9, a);
	l->agent_id = col_text(st, 10, a);
	l->click_id = col_text(st, 11, a);
	l->method = col_text(st, 12, a);
	l->registration = sqlite3_column_int(st, 13) != 0;
	l->review_reason = col_text(st, 14, a);
	l->protected_until = sqlite3_column_int64(st, 15);
	l->metadata = col_text(st, 16, a);
	l->created_by = col_text(st, 17, a);
	l->created_at = sqlite3_column_int64(st, 18);
	l->updated_at = sqlite3_column_int64(st, 19);
	l->status_at = sqlite3_column_int64(st, 20);
	l->converted_at = sqlite3_column_int64(st, 21);
}

static void lead_fill(sqlite3_stmt *st, void *item, rf_arena *a)
{
	lead_row(st, item, a);
}

static void lead_bind(sqlite3_stmt *st, const rf_lead *l)
{
	bind_text(st, 1, l->id);
	bind_text(st, 2, l->program_id);
	bind_text(st, 3, l->email);
	bind_text(st, 4, l->external_id);
	bind_text(st, 5, l->name);
	bind_text(st, 6, l->company);
	bind_text(st, 7, l->phone);
	bind_text(st, 8, l->source);
	bind_text(st, 9, l->status);
	bind_text(st, 10, l->partner_id);
	bind_text(st, 11, l->agent_id);
	bind_text(st, 12, l->click_id);
	bind_text(st, 13, l->method);
	sqlite3_bind_int(st, 14, l->registration);
	bind_text(st, 15, l->review_reason);
	sqlite3_bind_int64(st, 16, l->protected_until);
	bind_text(st, 17, l->metadata ? l->metadata : "{}");
	bind_text(st, 18, l->created_by);
	sqlite3_bind_int64(st, 19, l->created_at);
	sqlite3_bind_int64(st, 20, l->updated_at);
	sqlite3_bind_int64(st, 21, l->status_at);
	sqlite3_bind_int64(st, 22, l->converted_at);
}

rf_status rf_store_lead_insert(rf_store *s, const rf_lead *l, rf_err *err)
{
	sqlite3_stmt *st =
	    prep(s,
		 "INSERT INTO leads (id, program_id, email, external_id, name, company, phone, source, "
		 "status, partner_id, agent_id, click_id, method, registration, review_reason, "
		 "protected_until, metadata, created_by, created_at, updated_at, status_at, converted_at) "
		 "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
		 err);
	if (!st)
		return RF_EIO;
	lead_bind(st, l);
	return step_done(s, st, l->email ? "email" : "external_id", err);
}

rf_status rf_store_lead_update(rf_store *s, const rf_lead *l, rf_err *err)
{
	sqlite3_stmt *st =
	    prep(s,
		 "UPDATE leads SET program_id = ?2, email = ?3, external_id = ?4, name = ?5, company = ?6, "
		 "phone = ?7, source = ?8, status = ?9, partner_id = ?10, agent_id = ?11, click_id = ?12, "
		 "method = ?13, registration = ?14, review_reason = ?15, protected_until = ?16, "
		 "metadata = ?17, created_by = ?18, created_at = ?19, updated_at = ?20, status_at = ?21, "
		 "converted_at = ?22 WHERE id = ?1",
		 err);
	if (!st)
		return RF_EIO;
	lead_bind(st, l);
	rf_status rc = step_done(s, st, "email", err);
	if (rc == RF_OK && sqlite3_changes(s->db) == 0)
		return rf_err_set(err, RF_ENOTFOUND, "id", "no such lead");
	return rc;
}

static rf_status lead_one(rf_store *s, sqlite3_stmt *st, rf_lead *out, rf_arena *a, rf_err *err)
{
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		lead_row(st, out, a);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return RF_OK;
	if (rc == SQLITE_DONE)
		return rf_err_set(err, RF_ENOTFOUND, "id", "no such lead");
	return db_fail(s, err, "reading a lead");
}

rf_status rf_store_lead_get(rf_store *s, const char *id, rf_lead *out, rf_arena *a, rf_err *err)
{
	sqlite3_stmt *st = prep(s, "SELECT " LEAD_COLS " FROM leads l WHERE l.id = ?", err);
	if (!st)
		return RF_EIO;
	bind_text(st, 1, id);
	return lead_one(s, st, out, a, err);
}

rf_status rf_store_lead_find(rf_store *s, const char *program_id, const char *email, const char *external_id,
			     rf_lead *out, rf_arena *a, rf_err *err)
{
	sqlite3_stmt *st =
	    prep(s,
		 email ? "SELECT " LEAD_COLS " FROM leads l WHERE l.program_id = ?1 AND l.email = ?2"
		       : "SELECT " LEAD_COLS " FROM leads l WHERE l.program_id = ?1 AND l.external_id = ?2",
		 err);
	if (!st)
		return RF_EIO;
	bind_text(st, 1, program_id);
	bind_text(st, 2, email ? email : external_id);
	return lead_one(s, st, out, a, err);
}

rf_status rf_store_lead_list(rf_store *s, const rf_lead_filter *f, rf_lead **items, size_t *n, bool *has_more,
			     rf_arena *a, rf_err *err)
{
	int64_t after = INT64_MAX;
	if (f->page.starting_after && cursor_seq(s, "leads", f->page.starting_after, &after, err) != RF_OK)
		return err->status;
	sqlite3_stmt *st =
	    prep(s,
		 "SELECT " LEAD_COLS " FROM leads l WHERE l.seq < ?1 AND (?2 IS NULL OR l.program_id = ?2) "
		 "AND (?3 IS NULL OR l.partner_id = ?3) AND (?4 IS NULL OR l.agent_id = ?4) "
		 "AND (?5 IS NULL OR l.status = ?5) AND (?6 IS NULL OR l.source = ?6) "
		 "AND (?7 = 0 OR l.created_at >= ?7) AND (?8 = 0 OR l.created_at < ?8) "
		 "AND (?9 < 0 OR l.registration = ?9) "
		 "AND (?10 IS NULL OR l.partner_id = ?10 OR l.agent_id = ?10 OR l.partner_id IN "
		 "(SELECT id FROM partners WHERE team_parent_id = ?10) OR l.agent_id IN "
		 "(SELECT id FROM partners WHERE team_parent_id = ?10)) "
		 "ORDER BY l.seq DESC LIMIT ?11",
		 err);
	if (!st)
		return RF_EIO;
	sqlite3_bind_int64(st, 1, after);
	bind_text(st, 2, f->program_id);
	bind_text(st, 3, f->partner_id);
	bind_text(st, 4, f->agent_id);
	bind_text(st, 5, f->status);
	bind_text(st, 6, f->source);
	sqlite3_bind_int64(st, 7, f->created_from);
	sqlite3_bind_int64(st, 8, f->created_to);
	sqlite3_bind_int(st, 9, f->registration);
	bind_text(st, 10, f->scope_id);
	sqlite3_bind_int(st, 11, f->page.limit + 1);
	return collect(s, st, f->page.limit, sizeof(rf_lead), lead_fill, (void **)items, n, has_more, a, err);
}

rf_status rf_store_lead_conflicts(rf_store *s, const char *program_id, const char *email, const char *domain,
				  int64_t since, const char *exclude_id, int max, rf_lead **items, size_t *n,
				  rf_arena *a, rf_err *err)
{
	sqlite3_stmt *st =
	    prep(s,
		 "SELECT " LEAD_COLS " FROM leads l WHERE l.program_id = ?1 AND l.created_at >= ?4 "
		 "AND l.id <> ?5 AND l.status IN ('pending_review', 'new', 'contacted', 'qualified', 'converted') "
		 "AND (l.email = ?2 OR (?3 IS NOT NULL AND "
		 "substr(l.email, instr(l.email, '@') + 1) = ?3)) ORDER BY l.seq DESC LIMIT ?6",
		 err);
	if (!st)
		return RF_EIO;
	bind_text(st, 1, program_id);
	bind_text(st, 2, email);
	bind_text(st, 3, domain);
	sqlite3_bind_int64(st, 4, since);
	bind_text(st, 5, exclude_id ? exclude_id : "");
	sqlite3_bind_int(st, 6, max + 1);
	bool more = false;
	return collect(s, st, max, sizeof(rf_lead), lead_fill, (void **)items, n, &more, a, err);
}

rf_status rf_store_lead_event_add(rf_store *s, const char *lead_id, const rf_lead_event *e, rf_err *err)
{
	sqlite3_stmt *st = prep(s,
				"INSERT INTO lead_events (lead_id, from_status, to_status, actor, reason, at) "
				"VALUES (?,?,?,?,?,?)",
				err);
	if (!st)
		return RF_EIO;
	bind_text(st, 1, lead_id);
	bind_text(st, 2, e->from_status);
	bind_text(st, 3, e->to_status);
	bind_text(st, 4, e->actor);
	bind_text(st, 5, e->reason);
	sqlite3_bind_int64(st, 6, e->at);
	return step_done(s, st, NULL, err);
}

static void event_fill(sqlite3_stmt *st, void *item, rf_arena *a)
{
	rf_lead_event *e = item;
	e->from_status = col_text(st, 0, a);
	e->to_status = col_text(st, 1, a);
	e->actor = col_text(st, 2, a);
	e->reason = col_text(st, 3, a);
	e->at = sqlite3_column_int64(st, 4);
}

rf_status rf_store_lead_events(rf_store *s, const char *lead_id, rf_lead_event **items, size_t *n, rf_arena *a,
			       rf_err *err)
{
	sqlite3_stmt *st = prep(s,
				"SELECT from_status, to_status, actor, reason, at FROM lead_events WHERE lead_id = ? "
				"ORDER BY seq LIMIT 1001",
				err);
	if (!st)
		return RF_EIO;
	bind_text(st, 1, lead_id);
	bool more = false;
	return collect(s, st, 1000, sizeof(rf_lead_event), event_fill, (void **)items, n, &more, a, err);
}

rf_status rf_store_idem_get(rf_store *s, const char *actor, const char *key, char **route, char **request_hash,
			    int *status, char **body, rf_arena *a, rf_err *err)
{
	sqlite3_stmt *st =
	    prep(s, "SELECT route, request_hash, status, body FROM idempotency WHERE actor = ? AND key = ?", err);
	if (!st)
		return RF_EIO;
	bind_text(st, 1, actor);
	bind_text(st, 2, key);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*route = col_text(st, 0, a);
		*request_hash = col_text(st, 1, a);
		*status = sqlite3_column_int(st, 2);
		*body = col_text(st, 3, a);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return RF_OK;
	if (rc == SQLITE_DONE)
		return RF_ENOTFOUND;
	return db_fail(s, err, "reading an idempotency key");
}

rf_status rf_store_idem_put(rf_store *s, const char *actor, const char *key, const char *route,
			    const char *request_hash, int status, const char *body, int64_t at, rf_err *err)
{
	sqlite3_stmt *st = prep(s,
				"INSERT INTO idempotency (key, actor, route, request_hash, status, body, at) "
				"VALUES (?,?,?,?,?,?,?)",
				err);
	if (!st)
		return RF_EIO;
	bind_text(st, 1, key);
	bind_text(st, 2, actor);
	bind_text(st, 3, route);
	bind_text(st, 4, request_hash);
	sqlite3_bind_int(st, 5, status);
	bind_text(st, 6, body);
	sqlite3_bind_int64(st, 7, at);
	return step_done(s, st, "Idempotency-Key", err);
}

/* ---- audit and settings ---- */

rf_status rf_store_audit_add(rf_store *s, const char *actor, const char *action, const char *object_id,
			     const char *detail, int64_t at, rf_err *err)
{
	sqlite3_stmt *st =
	    prep(s, "INSERT INTO audit_log (at, actor, action, object_id, detail) VALUES (?,?,?,?,?)", err);
	if (!st)
		return RF_EIO;
	sqlite3_bind_int64(st, 1, at);
	bind_text(st, 2, actor);
	bind_text(st, 3, action);
	bind_text(st, 4, object_id);
	bind_text(st, 5, detail);
	return step_done(s, st, NULL, err);
}

rf_status rf_store_setting_get(rf_store *s, const char *key, char **value, rf_arena *a, rf_err *err)
{
	sqlite3_stmt *st = prep(s, "SELECT value FROM settings WHERE key = ?", err);
	if (!st)
		return RF_EIO;
	bind_text(st, 1, key);
	int rc = sqlite3_step(st);
	*value = rc == SQLITE_ROW ? col_text(st, 0, a) : NULL;
	sqlite3_reset(st);
	return (rc == SQLITE_ROW || rc == SQLITE_DONE) ? RF_OK : db_fail(s, err, "reading a setting");
}

rf_status rf_store_setting_set(rf_store *s, const char *key, const char *value, rf_err *err)
{
	sqlite3_stmt *st = prep(
	    s, "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
	    err);
	if (!st)
		return RF_EIO;
	bind_text(st, 1, key);
	bind_text(st, 2, value);
	return step_done(s, st, NULL, err);
}
