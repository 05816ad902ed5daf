/* SPDX-License-Identifier: Apache-2.0 */
/* The store over a driver connection: opening (the driver the location names), migrations (one numbered sequence,
 * with the dialect's own file where the SQL differs), transactions, sessions, login throttling, audit, settings and
 * password reset links, and the statement helpers the other store_*.c files share. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/clock.h"
#include "../core/secret.h"
#include "../core/text.h"
#include "migrations.h"
#include "store_internal.h"

rf_status rf_q_fail(rf_store *s, rf_err *err, const char *what)
{
	return rf_db_fail(s->db, err, what);
}

rf_db_stmt *rf_q_prep(rf_store *s, const char *sql, rf_err *err)
{
	rf_db_stmt *st = rf_db_prepare(s->db, sql);
	if (!st)
		rf_q_fail(s, err, "preparing a statement");
	return st;
}

char *rf_q_text(rf_db_stmt *st, int i, rf_arena *a)
{
	size_t len = 0;
	const char *t = rf_db_col_text(st, i, &len);
	return t ? rf_arena_strndup(a, t, len) : NULL;
}

void rf_q_code(rf_db_stmt *st, int i, char out[4])
{
	const char *t = rf_db_col_text(st, i, NULL);
	snprintf(out, 4, "%s", t ? t : "");
}

rf_status rf_q_conflict_on(rf_store *s, rf_status rc, const char *marker, const char *field, rf_err *err)
{
	if (rc != RF_ECONFLICT)
		return rc;
	const char *why = NULL;
	rf_db_last_error(s->db, &why);
	if (!why)
		return rc;
	/* Only the message's head names the key: PostgreSQL's DETAIL that follows quotes the values, which may hold
	 * any text (an email such as "external@example.com"). */
	const char *detail = strstr(why, "DETAIL:");
	size_t head = detail ? (size_t)(detail - why) : strlen(why);
	const char *at = strstr(why, marker);
	if (!at || (size_t)(at - why) >= head)
		return rc;
	return rf_err_set(err, RF_ECONFLICT, field, "%s is already taken", field);
}

rf_status rf_q_raced(rf_store *s, rf_status rc, rf_err *err)
{
	if (rc != RF_ECONFLICT || !rf_db_can(s->db, RF_DB_CAP_CONCURRENT_WRITES))
		return rc;
	char field[sizeof err->field];
	memcpy(field, err->field, sizeof field);
	return rf_err_set(err, RF_ERETRY, field[0] ? field : NULL,
			  "another request added the same %s at the same time; try again", field[0] ? field : "key");
}

char *rf_q_prefix_end(rf_arena *a, const char *prefix)
{
	return rf_arena_printf(a, "%s\x7f", prefix);
}

rf_status rf_q_exec(rf_store *s, const char *sql, rf_err *err)
{
	if (rf_db_exec(s->db, sql) == RF_OK)
		return RF_OK;
	return rf_q_fail(s, err, "running a script");
}

rf_status rf_q_done(rf_store *s, rf_db_stmt *st, const char *field, rf_err *err)
{
	int rc = field ? rf_db_step_guarded(st) : rf_db_step(st);
	while (rc == RF_DB_ROW)
		rc = rf_db_step(st);
	rf_db_reset(st);
	if (rc == RF_DB_DONE)
		return RF_OK;
	rf_status r = rf_q_fail(s, err, "writing");
	if (field && r == RF_ECONFLICT)
		return rf_err_set(err, RF_ECONFLICT, field, "%s is already taken", field);
	return r;
}

rf_status rf_store_open(const char *location, rf_store **out, rf_err *err)
{
	rf_store *s = calloc(1, sizeof *s);
	if (!s)
		return rf_err_set(err, RF_ENOMEM, NULL, "out of memory");
	if (rf_db_open(location, &s->db, err) != RF_OK) {
		free(s);
		return err->status;
	}
	*out = s;
	return RF_OK;
}

void rf_store_close(rf_store *s)
{
	if (!s)
		return;
	rf_db_close(s->db);
	free(s);
}

bool rf_store_location_is_file(const char *location)
{
	return rf_db_driver_for(location) == &rf_db_sqlite;
}

const char *rf_store_backend(rf_store *s)
{
	return rf_db_drv(s->db)->name;
}

static rf_status db_version(rf_store *s, int *v, rf_err *err)
{
	/* The table's own definition is the same on both databases; STRICT is SQLite's only. */
	if (rf_q_exec(s,
		      rf_q_dialect(s) == RF_DB_SQLITE
			  ? "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT "
			    "NULL, applied_at INTEGER NOT NULL) STRICT"
			  : "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT "
			    "NULL, applied_at BIGINT NOT NULL)",
		      err) != RF_OK)
		return err->status;
	rf_db_stmt *st = rf_q_prep(s, "SELECT coalesce(max(version), 0) FROM schema_migrations", err);
	if (!st)
		return err->status;
	if (rf_db_step(st) != RF_DB_ROW) {
		rf_db_reset(st);
		return rf_q_fail(s, err, "reading the schema version");
	}
	*v = (int)rf_db_col_int(st, 0);
	rf_db_reset(st);
	return RF_OK;
}

rf_status rf_store_schema_version(rf_store *s, int *db_v, int *bin_v, rf_err *err)
{
	*bin_v = rf_migrations_count ? rf_migrations[rf_migrations_count - 1].version : 0;
	return db_version(s, db_v, err);
}

/* After a migration that ran with SQLite's foreign keys off: RF_EIO naming the first row whose key refers to
 * nothing, so that the migration is rolled back rather than leaving a broken reference behind. */
static rf_status foreign_keys_hold(rf_store *s, const rf_migration *m, rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(s, "PRAGMA foreign_key_check", err);
	if (!st)
		return err->status;
	int rc = rf_db_step(st);
	if (rc == RF_DB_ROW) {
		char table[64], parent[64];
		const char *t = rf_db_col_text(st, 0, NULL), *p = rf_db_col_text(st, 2, NULL);
		snprintf(table, sizeof table, "%s", t ? t : "?");
		snprintf(parent, sizeof parent, "%s", p ? p : "?");
		long long row = (long long)rf_db_col_int(st, 1);
		rf_db_reset(st);
		return rf_err_set(err, RF_EIO, NULL, "migration %04d_%s left row %lld of %s referring to no row of %s",
				  m->version, m->name, row, table, parent);
	}
	rf_db_reset(st);
	return rc == RF_DB_DONE ? RF_OK : rf_q_fail(s, err, "checking foreign keys");
}

rf_status rf_store_migrate(rf_store *s, int *applied, rf_err *err)
{
	int cur = 0, n = 0;
	bool fk_off = false;
	if (applied)
		*applied = 0;
	bool pg = rf_q_dialect(s) == RF_DB_POSTGRES;
	for (size_t i = 0; i < rf_migrations_count; i++) {
		const rf_migration *m = &rf_migrations[i];
		/* SQLite changes a table's CHECK constraints only by building the table again, which a table others
		 * refer to allows only with foreign keys off (they cannot be turned off inside a transaction): such a
		 * migration says so on its second line, and its keys are all checked before it commits. */
		fk_off = !pg && strstr(m->sql, "\n-- refd: foreign keys off\n") != NULL;
		if (fk_off && rf_q_exec(s, "PRAGMA foreign_keys = OFF", err) != RF_OK)
			return err->status;
		/* Two processes migrating at once run one after the other: SQLite's BEGIN IMMEDIATE takes the write
		 * lock; on PostgreSQL a transaction-level advisory lock does (the table may not exist yet to lock). */
		if (rf_db_begin(s->db, true) != RF_OK) {
			rf_q_fail(s, err, "starting a migration");
			goto keys_on;
		}
		if (pg && rf_q_exec(s, "SELECT pg_advisory_xact_lock(7414301)", err) != RF_OK)
			goto fail;
		if (db_version(s, &cur, err) != RF_OK)
			goto fail;
		if (m->version <= cur) {
			if (rf_db_commit(s->db) != RF_OK)
				goto fail_db;
			if (fk_off && rf_q_exec(s, "PRAGMA foreign_keys = ON", err) != RF_OK)
				return err->status;
			continue;
		}
		if (rf_db_exec(s->db, pg ? m->pg_sql : m->sql) != RF_OK) {
			rf_q_fail(s, err, "migrating");
			rf_err_set(err, RF_EIO, NULL, "migration %04d_%s failed: %s", m->version, m->name,
				   err->message);
			goto fail;
		}
		if (fk_off && foreign_keys_hold(s, m, err) != RF_OK)
			goto fail;
		rf_db_stmt *st =
		    rf_q_prep(s, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)", err);
		if (!st)
			goto fail;
		rf_db_bind_int(st, 1, m->version);
		rf_db_bind_text(st, 2, m->name);
		rf_db_bind_int(st, 3, rf_clock_now_ms());
		if (rf_q_done(s, st, NULL, err) != RF_OK)
			goto fail;
		if (rf_db_commit(s->db) != RF_OK)
			goto fail_db;
		if (fk_off && rf_q_exec(s, "PRAGMA foreign_keys = ON", err) != RF_OK)
			return err->status;
		n++;
	}
	if (applied)
		*applied = n;
	return RF_OK;
fail_db:
	rf_q_fail(s, err, "committing a migration");
fail:
	rf_db_rollback(s->db);
keys_on:
	if (fk_off) {
		rf_err ignored = {0};
		rf_q_exec(s, "PRAGMA foreign_keys = ON", &ignored);
	}
	return err->status ? err->status : RF_EIO;
}

rf_status rf_store_ping(rf_store *s, rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(s, "SELECT 1", err);
	if (!st)
		return err->status;
	int rc = rf_db_step(st);
	rf_db_reset(st);
	return rc == RF_DB_ROW ? RF_OK : rf_q_fail(s, err, "pinging");
}

rf_status rf_store_begin(rf_store *s, rf_err *err)
{
	return rf_db_begin(s->db, true) == RF_OK ? RF_OK : rf_q_fail(s, err, "starting a transaction");
}

rf_status rf_store_commit(rf_store *s, rf_err *err)
{
	return rf_db_commit(s->db) == RF_OK ? RF_OK : rf_q_fail(s, err, "committing");
}

void rf_store_rollback(rf_store *s)
{
	rf_db_rollback(s->db);
}

rf_status rf_store_lock(rf_store *s, rf_lock_kind kind, const char *id, rf_err *err)
{
	if (!rf_db_can(s->db, RF_DB_CAP_CONCURRENT_WRITES))
		return RF_OK;
	static const char *const sql[] = {
	    [RF_LOCK_PROGRAM] = "SELECT 1 FROM programs WHERE id = ?1 FOR UPDATE",
	    [RF_LOCK_PARTNER] = "SELECT 1 FROM partners WHERE id = ?1 FOR UPDATE",
	    [RF_LOCK_LINK] = "SELECT 1 FROM links WHERE id = ?1 FOR UPDATE",
	    [RF_LOCK_LEAD] = "SELECT 1 FROM leads WHERE id = ?1 FOR UPDATE",
	    [RF_LOCK_PLAN] = "SELECT 1 FROM plans WHERE id = ?1 FOR UPDATE",
	    [RF_LOCK_COMMISSION] = "SELECT 1 FROM commissions WHERE id = ?1 FOR UPDATE",
	    [RF_LOCK_PAYOUT_RUN] = "SELECT 1 FROM payout_runs WHERE id = ?1 FOR UPDATE",
	    [RF_LOCK_USER] = "SELECT 1 FROM users WHERE id = ?1 FOR UPDATE",
	    [RF_LOCK_API_KEY] = "SELECT 1 FROM api_keys WHERE id = ?1 FOR UPDATE",
	    [RF_LOCK_CONNECTION] = "SELECT 1 FROM connections WHERE id = ?1 FOR UPDATE",
	    [RF_LOCK_WEBHOOK_ENDPOINT] = "SELECT 1 FROM webhook_endpoints WHERE id = ?1 FOR UPDATE",
	    [RF_LOCK_DELIVERY] = "SELECT 1 FROM deliveries WHERE id = ?1 FOR UPDATE",
	    [RF_LOCK_OWNERS] = "SELECT 1 FROM users WHERE role = 'owner' AND disabled_at = 0 AND "
			       "(CAST(?1 AS TEXT) IS NULL OR true) ORDER BY id FOR UPDATE",
	};
	if ((size_t)kind >= sizeof sql / sizeof sql[0] || !sql[kind])
		return rf_err_set(err, RF_EIO, NULL, "no such lock");
	rf_db_stmt *st = rf_q_prep(s, sql[kind], err);
	if (!st)
		return err->status;
	rf_db_bind_text(st, 1, id);
	int rc;
	while ((rc = rf_db_step(st)) == RF_DB_ROW)
		;
	rf_db_reset(st);
	return rc == RF_DB_DONE ? RF_OK : rf_q_fail(s, err, "locking");
}

static rf_status savepoint_sql(rf_store *s, const char *verb, const char *name, rf_err *err)
{
	char sql[96];
	snprintf(sql, sizeof sql, "%s %.60s", verb, name);
	return rf_q_exec(s, sql, err);
}

rf_status rf_store_savepoint(rf_store *s, const char *name, rf_err *err)
{
	return savepoint_sql(s, "SAVEPOINT", name, err);
}

rf_status rf_store_rollback_to(rf_store *s, const char *name, rf_err *err)
{
	return savepoint_sql(s, "ROLLBACK TO SAVEPOINT", name, err);
}

rf_status rf_store_release(rf_store *s, const char *name, rf_err *err)
{
	return savepoint_sql(s, "RELEASE SAVEPOINT", name, err);
}

rf_status rf_store_lazy_commits(rf_store *s, rf_err *err)
{
	return rf_q_exec(
	    s, rf_q_dialect(s) == RF_DB_SQLITE ? "PRAGMA synchronous=NORMAL" : "SET synchronous_commit = off", err);
}

rf_status rf_store_tx(rf_store *s, rf_status (*fn)(rf_store *s, void *arg, rf_err *err), void *arg, rf_err *err)
{
	for (int attempt = 0;; attempt++) {
		rf_status rc = rf_store_begin(s, err);
		if (rc == RF_OK)
			rc = fn(s, arg, err);
		if (rc == RF_OK)
			rc = rf_store_commit(s, err);
		if (rc == RF_OK)
			return RF_OK;
		rf_store_rollback(s);
		if (rc != RF_ERETRY || attempt == 4)
			return rc;
		memset(err, 0, sizeof *err);
		/* A random pause, so that two transactions that collided do not collide again at once. */
		unsigned char r = 0;
		rf_random_fast(&r, 1);
		struct timespec pause = {0, (long)(1 + r % 4) * (1000000L << attempt)};
		nanosleep(&pause, NULL);
	}
}

rf_status rf_store_is_empty(rf_store *s, bool *empty, rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(s, "SELECT (SELECT count(*) FROM programs) + (SELECT count(*) FROM users)", err);
	if (!st)
		return err->status;
	if (rf_db_step(st) != RF_DB_ROW) {
		rf_db_reset(st);
		return rf_q_fail(s, err, "counting rows");
	}
	*empty = rf_db_col_int(st, 0) == 0;
	rf_db_reset(st);
	return RF_OK;
}

/* ---- pagination helpers ---- */

/* Resolves a cursor id to its seq in table; RF_EINVAL naming starting_after when it does not exist. */
/* The oldest transaction still running in this database, or the next one to begin: the in-progress ids of the
 * snapshot, less those whose session is known to be in another database (a session whose database is hidden, or
 * which ended meanwhile, counts as this one's: the horizon is then lower than it could be, never higher). A format:
 * its % is doubled. */
#define PG_HORIZON                                                                                            \
	"(SELECT COALESCE(min(x::text::bigint), pg_snapshot_xmax(pg_current_snapshot())::text::bigint) FROM " \
	"pg_snapshot_xip(pg_current_snapshot()) AS x WHERE NOT EXISTS (SELECT 1 FROM pg_stat_activity "       \
	"AS psa WHERE psa.backend_xid::text::bigint = x::text::bigint %% 4294967296 AND psa.datname <> "      \
	"current_database()))"

void rf_q_keyset_sql(rf_store *s, const char *table, const char *alias, bool oldest_first, bool settled, rf_q_keyset *k)
{
	if (rf_q_dialect(s) != RF_DB_POSTGRES) {
		snprintf(k->cond, sizeof k->cond, "%s.seq %s ?1", alias, oldest_first ? ">" : "<");
		snprintf(k->order, sizeof k->order, "%s.seq %s", alias, oldest_first ? "ASC" : "DESC");
		return;
	}
	const char *op = oldest_first ? ">" : "<", *none = oldest_first ? "-1" : "9223372036854775807";
	int n =
	    snprintf(k->cond, sizeof k->cond,
		     "(%s.txid, %s.seq) %s ((SELECT COALESCE(max(kc.txid), %s) FROM %s AS kc WHERE kc.seq = ?1), ?1)",
		     alias, alias, op, none, table);
	if (settled && n > 0 && (size_t)n < sizeof k->cond)
		snprintf(k->cond + n, sizeof k->cond - (size_t)n,
			 " AND (%s.txid < " PG_HORIZON " OR %s.txid = pg_current_xact_id_if_assigned()::text::bigint)",
			 alias, alias);
	snprintf(k->order, sizeof k->order, "%s.txid %s, %s.seq %s", alias, oldest_first ? "ASC" : "DESC", alias,
		 oldest_first ? "ASC" : "DESC");
}

rf_status rf_q_cursor_seq(rf_store *s, const char *table, const char *id, int64_t *seq, rf_err *err)
{
	char sql[128];
	snprintf(sql, sizeof sql, "SELECT seq FROM %s WHERE id = ?", table);
	rf_db_stmt *st = rf_q_prep(s, sql, err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, id);
	int rc = rf_db_step(st);
	if (rc == RF_DB_ROW) {
		*seq = rf_db_col_int(st, 0);
		rf_db_reset(st);
		return RF_OK;
	}
	rf_db_reset(st);
	if (rc == RF_DB_DONE)
		return rf_err_set(err, RF_EINVAL, "starting_after", "starting_after: no such object %s", id);
	return rf_q_fail(s, err, "reading a cursor");
}

/* Runs a query for at most one row keyed by one text parameter; fills out with fill. RF_ENOTFOUND names
 * what was looked for. */

rf_status rf_q_one_row(rf_store *s, rf_db_stmt *st, rf_q_row_fn fill, void *out, rf_arena *a, const char *what,
		       rf_err *err)
{
	int rc = rf_db_step(st);
	if (rc == RF_DB_ROW)
		fill(st, out, a);
	rf_db_reset(st);
	if (rc == RF_DB_ROW)
		return RF_OK;
	if (rc == RF_DB_DONE)
		return rf_err_set(err, RF_ENOTFOUND, "id", "no such %s", what);
	char doing[64];
	snprintf(doing, sizeof doing, "reading a %s", what);
	return rf_q_fail(s, err, doing);
}

rf_status rf_q_one_int(rf_store *s, rf_db_stmt *st, int64_t *out, rf_err *err)
{
	int rc = rf_db_step(st);
	*out = rc == RF_DB_ROW ? rf_db_col_int(st, 0) : 0;
	rf_db_reset(st);
	return rc == RF_DB_ROW || rc == RF_DB_DONE ? RF_OK : rf_q_fail(s, err, "counting");
}

rf_status rf_q_get_one(rf_store *s, const char *sql, const char *key, rf_q_row_fn fill, void *out, rf_arena *a,
		       const char *what, rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(s, sql, err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, key);
	return rf_q_one_row(s, st, fill, out, a, what, err);
}

/* Steps through rows of a list query, calling fill for each, into an arena array; sets has_more when a row past
 * limit exists (the query asks for limit + 1). */
rf_status rf_q_collect(rf_store *s, rf_db_stmt *st, int limit, size_t item_size, rf_q_row_fn fill, void **items,
		       size_t *n, bool *has_more, rf_arena *a, rf_err *err)
{
	/* The array grows with the rows that come: most lists are short (the webhook endpoints asked for at every
	 * event, an entry's few commissions), and zeroed room for `limit` items each time cost more than the query. */
	char *arr = NULL;
	size_t count = 0, cap = 0;
	int rc;
	while ((rc = rf_db_step(st)) == RF_DB_ROW) {
		if (count == (size_t)limit) {
			*has_more = true;
			break;
		}
		char *grown = rf_arena_grow(a, arr, count, &cap, item_size, 8);
		if (!grown) {
			rf_db_reset(st);
			return rf_err_set(err, RF_ENOMEM, NULL, "out of memory");
		}
		arr = grown;
		fill(st, arr + item_size * count, a);
		count++;
	}
	rf_db_reset(st);
	if (!arr && !(arr = rf_arena_alloc(a, item_size)))
		return rf_err_set(err, RF_ENOMEM, NULL, "out of memory");
	if (rc != RF_DB_ROW && rc != RF_DB_DONE)
		return rf_q_fail(s, err, "listing");
	if (rc == RF_DB_DONE)
		*has_more = false;
	*items = arr;
	*n = count;
	return RF_OK;
}

/* ---- sessions ---- */

rf_status rf_store_session_insert(rf_store *s, const rf_session *ss, rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(s,
				   "INSERT INTO sessions (hash, user_id, csrf_token, created_at, expires_at) "
				   "VALUES (?,?,?,?,?)",
				   err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, ss->hash);
	rf_db_bind_text(st, 2, ss->user_id);
	rf_db_bind_text(st, 3, ss->csrf_token);
	rf_db_bind_int(st, 4, ss->created_at);
	rf_db_bind_int(st, 5, ss->expires_at);
	return rf_q_done(s, st, NULL, err);
}

rf_status rf_store_session_get(rf_store *s, const char *hash, rf_session *out, rf_arena *a, rf_err *err)
{
	rf_db_stmt *st =
	    rf_q_prep(s, "SELECT hash, user_id, csrf_token, created_at, expires_at FROM sessions WHERE hash = ?", err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, hash);
	int rc = rf_db_step(st);
	if (rc == RF_DB_ROW) {
		out->hash = rf_q_text(st, 0, a);
		out->user_id = rf_q_text(st, 1, a);
		out->csrf_token = rf_q_text(st, 2, a);
		out->created_at = rf_db_col_int(st, 3);
		out->expires_at = rf_db_col_int(st, 4);
	}
	rf_db_reset(st);
	if (rc == RF_DB_ROW)
		return RF_OK;
	if (rc == RF_DB_DONE)
		return rf_err_set(err, RF_ENOTFOUND, NULL, "no such session");
	return rf_q_fail(s, err, "reading a session");
}

static rf_status delete_by(rf_store *s, const char *sql, const char *v, rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(s, sql, err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, v);
	return rf_q_done(s, st, NULL, err);
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
	rf_db_stmt *st = rf_q_prep(s, "INSERT INTO login_failures (key, at) VALUES (?, ?)", err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, key);
	rf_db_bind_int(st, 2, at);
	return rf_q_done(s, st, NULL, err);
}

rf_status rf_store_login_failure_count(rf_store *s, const char *key, int64_t since, int64_t *count, rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(s, "SELECT count(*) FROM login_failures WHERE key = ? AND at >= ?", err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, key);
	rf_db_bind_int(st, 2, since);
	int rc = rf_db_step(st);
	*count = rc == RF_DB_ROW ? rf_db_col_int(st, 0) : 0;
	rf_db_reset(st);
	return rc == RF_DB_ROW ? RF_OK : rf_q_fail(s, err, "counting login failures");
}

rf_status rf_store_login_failure_clear(rf_store *s, const char *key, rf_err *err)
{
	return delete_by(s, "DELETE FROM login_failures WHERE key = ?", key, err);
}

/* ---- audit and settings ---- */

rf_status rf_store_audit_add(rf_store *s, const char *actor, const char *action, const char *object_id,
			     const char *detail, int64_t at, rf_err *err)
{
	rf_db_stmt *st =
	    rf_q_prep(s, "INSERT INTO audit_log (at, actor, action, object_id, detail) VALUES (?,?,?,?,?)", err);
	if (!st)
		return RF_EIO;
	rf_db_bind_int(st, 1, at);
	rf_db_bind_text(st, 2, actor);
	rf_db_bind_text(st, 3, action);
	rf_db_bind_text(st, 4, object_id);
	rf_db_bind_text(st, 5, detail);
	return rf_q_done(s, st, NULL, err);
}

rf_status rf_store_setting_get(rf_store *s, const char *key, char **value, rf_arena *a, rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(s, "SELECT value FROM settings WHERE key = ?", err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, key);
	int rc = rf_db_step(st);
	*value = rc == RF_DB_ROW ? rf_q_text(st, 0, a) : NULL;
	rf_db_reset(st);
	return (rc == RF_DB_ROW || rc == RF_DB_DONE) ? RF_OK : rf_q_fail(s, err, "reading a setting");
}

rf_status rf_store_setting_set(rf_store *s, const char *key, const char *value, rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(
	    s, "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
	    err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, key);
	rf_db_bind_text(st, 2, value);
	return rf_q_done(s, st, NULL, err);
}

/* ---- password reset links ---- */

rf_status rf_store_reset_insert(rf_store *s, const char *token_hash, const char *user_id, int64_t at,
				int64_t expires_at, rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(
	    s, "INSERT INTO password_resets (token_hash, user_id, created_at, expires_at) VALUES (?,?,?,?)", err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, token_hash);
	rf_db_bind_text(st, 2, user_id);
	rf_db_bind_int(st, 3, at);
	rf_db_bind_int(st, 4, expires_at);
	return rf_q_done(s, st, NULL, err);
}

rf_status rf_store_reset_take(rf_store *s, const char *token_hash, int64_t now, char **user_id, rf_arena *a,
			      rf_err *err)
{
	*user_id = NULL;
	rf_db_stmt *st = rf_q_prep(s,
				   "UPDATE password_resets SET used_at = ?2 WHERE token_hash = ?1 AND used_at = 0 "
				   "AND expires_at > ?2 RETURNING user_id",
				   err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, token_hash);
	rf_db_bind_int(st, 2, now);
	int rc = rf_db_step(st);
	if (rc == RF_DB_ROW)
		*user_id = rf_q_text(st, 0, a);
	while (rc == RF_DB_ROW)
		rc = rf_db_step(st);
	rf_db_reset(st);
	if (rc != RF_DB_DONE)
		return rf_q_fail(s, err, "using a reset link");
	return *user_id ? RF_OK : rf_err_set(err, RF_ENOTFOUND, "token", "no such reset link");
}

rf_status rf_store_reset_count(rf_store *s, const char *user_id, int64_t since, int64_t *n, rf_err *err)
{
	rf_db_stmt *st =
	    rf_q_prep(s, "SELECT count(*) FROM password_resets WHERE user_id = ? AND created_at >= ?", err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, user_id);
	rf_db_bind_int(st, 2, since);
	return rf_q_one_int(s, st, n, err);
}

void rf_store_idle(rf_store *s)
{
	rf_db_idle(s->db);
}
