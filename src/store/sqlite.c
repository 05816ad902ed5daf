/* SPDX-License-Identifier: Apache-2.0 */
/* The embedded SQLite backend of the store interface: the connection (WAL, prepared statements kept per
 * connection), migrations, transactions, sessions, login throttling, audit and settings, and the helpers the
 * other sqlite_*.c files share. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../core/clock.h"
#include "../core/text.h"
#include "migrations.h"
#include "sqlite_internal.h"

/* A failure that passes by itself (no space left, an I/O error, the database busy past the timeout) is
 * RF_EUNAVAIL, which the API answers 503 with Retry-After; anything else is RF_EIO. */
static rf_status transient(int code)
{
	switch (code & 0xff) {
	case SQLITE_FULL:
	case SQLITE_IOERR:
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return RF_EUNAVAIL;
	default:
		return RF_EIO;
	}
}

rf_status rf_sqlite_db_fail(rf_store *s, rf_err *err, const char *what)
{
	rf_status st = transient(sqlite3_extended_errcode(s->db));
	if (st == RF_EUNAVAIL)
		return rf_err_set(err, st, NULL, "the database cannot do this right now (%s while %s); try again",
				  sqlite3_errmsg(s->db), what);
	return rf_err_set(err, st, NULL, "database error while %s: %s", what, sqlite3_errmsg(s->db));
}

/* Returns a reset statement for sql, prepared once per connection and reused. */
/* FNV-1a: the cache compares hashes first, so a lookup costs one pass over the SQL, not one per cached statement. */
static uint64_t sql_hash(const char *sql)
{
	uint64_t h = 1469598103934665603ULL;
	for (const unsigned char *p = (const unsigned char *)sql; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	return h;
}

sqlite3_stmt *rf_sqlite_prep(rf_store *s, const char *sql, rf_err *err)
{
	uint64_t h = sql_hash(sql);
	for (int i = s->ncache - 1; i >= 0; i--) {
		if (s->cache[i].hash == h && strcmp(s->cache[i].sql, sql) == 0) {
			sqlite3_stmt *st = s->cache[i].st;
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			return st;
		}
	}
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
		rf_sqlite_db_fail(s, err, "preparing a statement");
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
	s->cache[s->ncache].hash = h;
	s->cache[s->ncache].st = st;
	s->ncache++;
	return st;
}

void rf_sqlite_bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

char *rf_sqlite_col_text(sqlite3_stmt *st, int i, rf_arena *a)
{
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return NULL;
	return rf_arena_strndup(a, (const char *)sqlite3_column_text(st, i), (size_t)sqlite3_column_bytes(st, i));
}

void rf_sqlite_col_code(sqlite3_stmt *st, int i, char out[4])
{
	const char *t = (const char *)sqlite3_column_text(st, i);
	snprintf(out, 4, "%s", t ? t : "");
}

rf_status rf_sqlite_exec(rf_store *s, const char *sql, rf_err *err)
{
	char *msg = NULL;
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		rf_status st = transient(sqlite3_extended_errcode(s->db));
		rf_err_set(err, st, NULL,
			   st == RF_EUNAVAIL ? "the database cannot do this right now (%s); try again"
					     : "database error: %s",
			   msg ? msg : "unknown");
		sqlite3_free(msg);
		return st;
	}
	return RF_OK;
}

/* Runs a statement that returns no rows; maps a uniqueness failure to RF_ECONFLICT on field. */
rf_status rf_sqlite_step_done(rf_store *s, sqlite3_stmt *st, const char *field, rf_err *err)
{
	int rc = sqlite3_step(st);
	int ext = sqlite3_extended_errcode(s->db);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(st);
		return RF_OK;
	}
	rf_status r = rf_sqlite_db_fail(s, err, "writing");
	sqlite3_reset(st);
	if (field && (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY))
		return rf_err_set(err, RF_ECONFLICT, field, "%s is already taken", field);
	return r;
}

/* When a statement on a connection other than the click writer's last found the database locked (monotonic µs). */
static _Atomic int64_t others_waiting_us;

/* SQLite calls this while another connection holds the write lock. It retries every 100 µs for up to 10 s (SQLite's
 * own handler sleeps 1, 2, 5, ... 100 ms between tries, far longer than a click group holds the lock), and tells
 * the click writer that someone is waiting, so that it commits and steps aside (rf_store_others_waiting). */
static int busy_wait(void *arg, int tries)
{
	rf_store *s = arg;
	int64_t now = rf_clock_mono_us();
	if (tries == 0)
		s->busy_since_us = now;
	if (now - s->busy_since_us > (s->busy_limit_us ? s->busy_limit_us : 10 * (int64_t)1000000))
		return 0;
	if (!s->yields)
		atomic_store(&others_waiting_us, now);
	struct timespec pause = {0, 100000};
	nanosleep(&pause, NULL);
	return 1;
}

bool rf_store_others_waiting(void)
{
	return rf_clock_mono_us() - atomic_load(&others_waiting_us) < 400;
}

/* SQLite keeps memory statistics by default, behind one process-wide mutex taken on every allocation, which the
 * click writer and the HTTP workers would contend for; refd never reads them. Only possible before SQLite starts. */
static void sqlite_setup(void)
{
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

rf_status rf_store_open(const char *location, rf_store **out, rf_err *err)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, sqlite_setup);
	rf_store *s = calloc(1, sizeof *s);
	if (!s)
		return rf_err_set(err, RF_ENOMEM, NULL, "out of memory");
	s->wal_fd = -1;
	int rc =
	    sqlite3_open_v2(location, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		rf_err_set(err, RF_EIO, "db", "cannot open database %s: %s", location,
			   s->db ? sqlite3_errmsg(s->db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_handler(s->db, busy_wait, s);
	if (rf_sqlite_exec(s,
			   "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; "
			   "PRAGMA cache_size=-262144; PRAGMA mmap_size=268435456;",
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
	if (s->wal_fd >= 0)
		close(s->wal_fd);
	free(s->wal_path);
	free(s);
}

static rf_status db_version(rf_store *s, int *v, rf_err *err)
{
	if (rf_sqlite_exec(
		s,
		"CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
		"applied_at INTEGER NOT NULL) STRICT",
		err) != RF_OK)
		return RF_EIO;
	sqlite3_stmt *st = rf_sqlite_prep(s, "SELECT coalesce(max(version), 0) FROM schema_migrations", err);
	if (!st)
		return RF_EIO;
	if (sqlite3_step(st) != SQLITE_ROW)
		return rf_sqlite_db_fail(s, err, "reading the schema version");
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
		if (rf_sqlite_exec(s, "BEGIN IMMEDIATE", err) != RF_OK)
			return RF_EIO;
		if (db_version(s, &cur, err) != RF_OK)
			goto fail;
		const rf_migration *m = &rf_migrations[i];
		if (m->version <= cur) {
			rf_sqlite_exec(s, "COMMIT", err);
			continue;
		}
		if (rf_sqlite_exec(s, m->sql, err) != RF_OK) {
			rf_err_set(err, RF_EIO, NULL, "migration %04d_%s failed: %s", m->version, m->name,
				   err->message);
			goto fail;
		}
		sqlite3_stmt *st = rf_sqlite_prep(
		    s, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)", err);
		if (!st)
			goto fail;
		sqlite3_bind_int(st, 1, m->version);
		rf_sqlite_bind_text(st, 2, m->name);
		sqlite3_bind_int64(st, 3, rf_clock_now_ms());
		if (rf_sqlite_step_done(s, st, NULL, err) != RF_OK)
			goto fail;
		if (rf_sqlite_exec(s, "COMMIT", err) != RF_OK)
			goto fail;
		n++;
	}
	if (applied)
		*applied = n;
	return RF_OK;
fail:
	rf_sqlite_exec(s, "ROLLBACK", NULL);
	return RF_EIO;
}

rf_status rf_store_ping(rf_store *s, rf_err *err)
{
	sqlite3_stmt *st = rf_sqlite_prep(s, "SELECT 1", err);
	if (!st)
		return RF_EIO;
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? RF_OK : rf_sqlite_db_fail(s, err, "pinging");
}

rf_status rf_store_begin(rf_store *s, rf_err *err)
{
	return rf_sqlite_exec(s, "BEGIN IMMEDIATE", err);
}

rf_status rf_store_commit(rf_store *s, rf_err *err)
{
	return rf_sqlite_exec(s, "COMMIT", err);
}

void rf_store_rollback(rf_store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		rf_sqlite_exec(s, "ROLLBACK", NULL);
}

rf_status rf_store_is_empty(rf_store *s, bool *empty, rf_err *err)
{
	sqlite3_stmt *st =
	    rf_sqlite_prep(s, "SELECT (SELECT count(*) FROM programs) + (SELECT count(*) FROM users)", err);
	if (!st)
		return RF_EIO;
	if (sqlite3_step(st) != SQLITE_ROW)
		return rf_sqlite_db_fail(s, err, "counting rows");
	*empty = sqlite3_column_int64(st, 0) == 0;
	sqlite3_reset(st);
	return RF_OK;
}

static int note_wal_size(void *arg, sqlite3 *db, const char *name, int frames)
{
	(void)db;
	(void)name;
	((rf_store *)arg)->wal_frames = frames;
	return SQLITE_OK;
}

rf_status rf_store_defer_maintenance(rf_store *s, rf_err *err)
{
	if (rf_sqlite_exec(s, "PRAGMA wal_autocheckpoint=0", err) != RF_OK)
		return err->status;
	/* Set after the pragma, which clears any WAL hook. */
	sqlite3_wal_hook(s->db, note_wal_size, s);
	return RF_OK;
}

rf_status rf_store_split_sync(rf_store *s, rf_err *err)
{
	const char *db = sqlite3_db_filename(s->db, "main");
	if (!db || !*db)
		return rf_err_set(err, RF_EINVAL, "db", "a database without a file cannot sync its clicks apart");
	size_t n = strlen(db);
	s->wal_path = malloc(n + 5);
	if (!s->wal_path)
		return rf_err_set(err, RF_ENOMEM, NULL, "out of memory");
	memcpy(s->wal_path, db, n);
	memcpy(s->wal_path + n, "-wal", 5);
	s->yields = true;
	return rf_sqlite_exec(s, "PRAGMA synchronous=NORMAL", err);
}

rf_status rf_store_sync_wal(rf_store *s, rf_err *err)
{
	/* fdatasync flushes the file, whichever descriptor wrote to it. The WAL normally lives as long as the
	 * connections; should it have been replaced, the new one is opened. */
	struct stat by_path, by_fd;
	if (stat(s->wal_path, &by_path) != 0)
		return rf_err_set(err, RF_EIO, "db", "cannot find the write-ahead log %s: %s", s->wal_path,
				  strerror(errno));
	if (s->wal_fd >= 0 &&
	    (fstat(s->wal_fd, &by_fd) != 0 || by_fd.st_ino != by_path.st_ino || by_fd.st_dev != by_path.st_dev)) {
		close(s->wal_fd);
		s->wal_fd = -1;
	}
	if (s->wal_fd < 0)
		s->wal_fd = open(s->wal_path, O_RDWR | O_CLOEXEC);
	if (s->wal_fd < 0 || fdatasync(s->wal_fd) != 0)
		return rf_err_set(err, RF_EIO, "db", "cannot sync the write-ahead log %s: %s", s->wal_path,
				  strerror(errno));
	return RF_OK;
}

rf_status rf_store_settle_wal(rf_store *s, int max_frames, rf_err *err)
{
	if (s->wal_frames < max_frames)
		return RF_OK;
	s->wal_frames = 0;
	/* The WAL starts again from its beginning at the next write only if it was copied whole and no reader still
	 * uses it. A passive checkpoint leaves both to chance, and under a steady stream of readers (API requests, a
	 * backup) some reader always holds an older snapshot: the WAL then grew past 100 MB. A RESTART checkpoint
	 * copies it whole and waits for the readers that still use it (readers that start after the copy read the
	 * database file alone). The wait holds up this connection's next commit, so it is bounded to 50 ms; after a
	 * wait that ran out (a reader holding its snapshot longer) the next one comes after a pause that doubles each
	 * time, from 50 ms up to 5 s, with passive copies meanwhile. */
	int64_t now = rf_clock_mono_us();
	if (now < s->restart_after_us)
		return rf_store_maintain(s, err);
	int log = 0, done = 0;
	s->busy_limit_us = 100000;
	int rc = sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_RESTART, &log, &done);
	s->busy_limit_us = 0;
	if ((rc == SQLITE_BUSY || rc == SQLITE_LOCKED) && log < 0) {
		/* The checkpoint thread was copying at that moment: try again after the next commit. */
		s->wal_frames = max_frames;
		return RF_OK;
	}
	if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
		int64_t pause = s->restart_backoff_us ? s->restart_backoff_us * 2 : 100000;
		s->restart_backoff_us = pause < 5000000 ? pause : 5000000;
		s->restart_after_us = rf_clock_mono_us() + s->restart_backoff_us;
		return RF_OK;
	}
	s->restart_backoff_us = 0;
	if (rc != SQLITE_OK)
		return rf_sqlite_db_fail(s, err, "checkpointing");
	return RF_OK;
}

rf_status rf_store_maintain(rf_store *s, rf_err *err)
{
	int log = 0, done = 0;
	int rc = sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
	/* Busy means another connection is checkpointing right now: the work gets done either way. */
	if (rc != SQLITE_OK && rc != SQLITE_BUSY && rc != SQLITE_LOCKED)
		return rf_sqlite_db_fail(s, err, "checkpointing");
	return RF_OK;
}

/* ---- pagination helpers ---- */

/* Resolves a cursor id to its seq in table; RF_EINVAL naming starting_after when it does not exist. */
rf_status rf_sqlite_cursor_seq(rf_store *s, const char *table, const char *id, int64_t *seq, rf_err *err)
{
	char sql[128];
	snprintf(sql, sizeof sql, "SELECT seq FROM %s WHERE id = ?", table);
	sqlite3_stmt *st = rf_sqlite_prep(s, sql, err);
	if (!st)
		return RF_EIO;
	rf_sqlite_bind_text(st, 1, id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*seq = sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
		return RF_OK;
	}
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return rf_err_set(err, RF_EINVAL, "starting_after", "starting_after: no such object %s", id);
	return rf_sqlite_db_fail(s, err, "reading a cursor");
}

/* Runs a query for at most one row keyed by one text parameter; fills out with fill. RF_ENOTFOUND names
 * what was looked for. */

rf_status rf_sqlite_one_row(rf_store *s, sqlite3_stmt *st, rf_sqlite_row_fn fill, void *out, rf_arena *a,
			    const char *what, rf_err *err)
{
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
	return rf_sqlite_db_fail(s, err, doing);
}

rf_status rf_sqlite_one_int(rf_store *s, sqlite3_stmt *st, int64_t *out, rf_err *err)
{
	int rc = sqlite3_step(st);
	*out = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? RF_OK : rf_sqlite_db_fail(s, err, "counting");
}

rf_status rf_sqlite_get_one(rf_store *s, const char *sql, const char *key, rf_sqlite_row_fn fill, void *out,
			    rf_arena *a, const char *what, rf_err *err)
{
	sqlite3_stmt *st = rf_sqlite_prep(s, sql, err);
	if (!st)
		return RF_EIO;
	rf_sqlite_bind_text(st, 1, key);
	return rf_sqlite_one_row(s, st, fill, out, a, what, err);
}

/* Steps through rows of a list query, calling fill for each, into an arena array; sets has_more when a row past
 * limit exists (the query asks for limit + 1). */
rf_status rf_sqlite_collect(rf_store *s, sqlite3_stmt *st, int limit, size_t item_size, rf_sqlite_row_fn fill,
			    void **items, size_t *n, bool *has_more, rf_arena *a, rf_err *err)
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
		return rf_sqlite_db_fail(s, err, "listing");
	if (rc == SQLITE_DONE)
		*has_more = false;
	*items = arr;
	*n = count;
	return RF_OK;
}

/* ---- sessions ---- */

rf_status rf_store_session_insert(rf_store *s, const rf_session *ss, rf_err *err)
{
	sqlite3_stmt *st = rf_sqlite_prep(s,
					  "INSERT INTO sessions (hash, user_id, csrf_token, created_at, expires_at) "
					  "VALUES (?,?,?,?,?)",
					  err);
	if (!st)
		return RF_EIO;
	rf_sqlite_bind_text(st, 1, ss->hash);
	rf_sqlite_bind_text(st, 2, ss->user_id);
	rf_sqlite_bind_text(st, 3, ss->csrf_token);
	sqlite3_bind_int64(st, 4, ss->created_at);
	sqlite3_bind_int64(st, 5, ss->expires_at);
	return rf_sqlite_step_done(s, st, NULL, err);
}

rf_status rf_store_session_get(rf_store *s, const char *hash, rf_session *out, rf_arena *a, rf_err *err)
{
	sqlite3_stmt *st = rf_sqlite_prep(
	    s, "SELECT hash, user_id, csrf_token, created_at, expires_at FROM sessions WHERE hash = ?", err);
	if (!st)
		return RF_EIO;
	rf_sqlite_bind_text(st, 1, hash);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->hash = rf_sqlite_col_text(st, 0, a);
		out->user_id = rf_sqlite_col_text(st, 1, a);
		out->csrf_token = rf_sqlite_col_text(st, 2, a);
		out->created_at = sqlite3_column_int64(st, 3);
		out->expires_at = sqlite3_column_int64(st, 4);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return RF_OK;
	if (rc == SQLITE_DONE)
		return rf_err_set(err, RF_ENOTFOUND, NULL, "no such session");
	return rf_sqlite_db_fail(s, err, "reading a session");
}

static rf_status delete_by(rf_store *s, const char *sql, const char *v, rf_err *err)
{
	sqlite3_stmt *st = rf_sqlite_prep(s, sql, err);
	if (!st)
		return RF_EIO;
	rf_sqlite_bind_text(st, 1, v);
	return rf_sqlite_step_done(s, st, NULL, err);
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
	sqlite3_stmt *st = rf_sqlite_prep(s, "INSERT INTO login_failures (key, at) VALUES (?, ?)", err);
	if (!st)
		return RF_EIO;
	rf_sqlite_bind_text(st, 1, key);
	sqlite3_bind_int64(st, 2, at);
	return rf_sqlite_step_done(s, st, NULL, err);
}

rf_status rf_store_login_failure_count(rf_store *s, const char *key, int64_t since, int64_t *count, rf_err *err)
{
	sqlite3_stmt *st = rf_sqlite_prep(s, "SELECT count(*) FROM login_failures WHERE key = ? AND at >= ?", err);
	if (!st)
		return RF_EIO;
	rf_sqlite_bind_text(st, 1, key);
	sqlite3_bind_int64(st, 2, since);
	int rc = sqlite3_step(st);
	*count = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? RF_OK : rf_sqlite_db_fail(s, err, "counting login failures");
}

rf_status rf_store_login_failure_clear(rf_store *s, const char *key, rf_err *err)
{
	return delete_by(s, "DELETE FROM login_failures WHERE key = ?", key, err);
}

/* ---- audit and settings ---- */

rf_status rf_store_audit_add(rf_store *s, const char *actor, const char *action, const char *object_id,
			     const char *detail, int64_t at, rf_err *err)
{
	sqlite3_stmt *st =
	    rf_sqlite_prep(s, "INSERT INTO audit_log (at, actor, action, object_id, detail) VALUES (?,?,?,?,?)", err);
	if (!st)
		return RF_EIO;
	sqlite3_bind_int64(st, 1, at);
	rf_sqlite_bind_text(st, 2, actor);
	rf_sqlite_bind_text(st, 3, action);
	rf_sqlite_bind_text(st, 4, object_id);
	rf_sqlite_bind_text(st, 5, detail);
	return rf_sqlite_step_done(s, st, NULL, err);
}

rf_status rf_store_setting_get(rf_store *s, const char *key, char **value, rf_arena *a, rf_err *err)
{
	sqlite3_stmt *st = rf_sqlite_prep(s, "SELECT value FROM settings WHERE key = ?", err);
	if (!st)
		return RF_EIO;
	rf_sqlite_bind_text(st, 1, key);
	int rc = sqlite3_step(st);
	*value = rc == SQLITE_ROW ? rf_sqlite_col_text(st, 0, a) : NULL;
	sqlite3_reset(st);
	return (rc == SQLITE_ROW || rc == SQLITE_DONE) ? RF_OK : rf_sqlite_db_fail(s, err, "reading a setting");
}

rf_status rf_store_setting_set(rf_store *s, const char *key, const char *value, rf_err *err)
{
	sqlite3_stmt *st = rf_sqlite_prep(
	    s, "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
	    err);
	if (!st)
		return RF_EIO;
	rf_sqlite_bind_text(st, 1, key);
	rf_sqlite_bind_text(st, 2, value);
	return rf_sqlite_step_done(s, st, NULL, err);
}

/* ---- password reset links ---- */

rf_status rf_store_reset_insert(rf_store *s, const char *token_hash, const char *user_id, int64_t at,
				int64_t expires_at, rf_err *err)
{
	sqlite3_stmt *st = rf_sqlite_prep(
	    s, "INSERT INTO password_resets (token_hash, user_id, created_at, expires_at) VALUES (?,?,?,?)", err);
	if (!st)
		return RF_EIO;
	rf_sqlite_bind_text(st, 1, token_hash);
	rf_sqlite_bind_text(st, 2, user_id);
	sqlite3_bind_int64(st, 3, at);
	sqlite3_bind_int64(st, 4, expires_at);
	return rf_sqlite_step_done(s, st, NULL, err);
}

rf_status rf_store_reset_take(rf_store *s, const char *token_hash, int64_t now, char **user_id, rf_arena *a,
			      rf_err *err)
{
	*user_id = NULL;
	sqlite3_stmt *st =
	    rf_sqlite_prep(s,
			   "UPDATE password_resets SET used_at = ?2 WHERE token_hash = ?1 AND used_at = 0 "
			   "AND expires_at > ?2 RETURNING user_id",
			   err);
	if (!st)
		return RF_EIO;
	rf_sqlite_bind_text(st, 1, token_hash);
	sqlite3_bind_int64(st, 2, now);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*user_id = rf_sqlite_col_text(st, 0, a);
	while (rc == SQLITE_ROW)
		rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return rf_sqlite_db_fail(s, err, "using a reset link");
	return *user_id ? RF_OK : rf_err_set(err, RF_ENOTFOUND, "token", "no such reset link");
}

rf_status rf_store_reset_count(rf_store *s, const char *user_id, int64_t since, int64_t *n, rf_err *err)
{
	sqlite3_stmt *st =
	    rf_sqlite_prep(s, "SELECT count(*) FROM password_resets WHERE user_id = ? AND created_at >= ?", err);
	if (!st)
		return RF_EIO;
	rf_sqlite_bind_text(st, 1, user_id);
	sqlite3_bind_int64(st, 2, since);
	return rf_sqlite_one_int(s, st, n, err);
}

void rf_store_idle(rf_store *s)
{
	for (int i = 0; i < s->ncache; i++)
		if (sqlite3_stmt_busy(s->cache[i].st))
			sqlite3_reset(s->cache[i].st);
}
