/* SPDX-License-Identifier: Apache-2.0 */
/* The SQLite driver: a connection in WAL mode with foreign keys on, statements prepared once per connection and
 * cached, a busy handler that retries every 100 µs, and SQLite's result codes mapped to the driver's failure kinds.
 * What only the click log needs (the WAL's hook, checkpoints and flushes) is in sqlite_driver.h. */
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../core/clock.h"
#include "sqlite_driver.h"

#define STMT_CACHE 224

typedef struct sq_stmt {
	rf_db_stmt base;
	sqlite3_stmt *st;
} sq_stmt;

typedef struct {
	rf_db base;
	sqlite3 *db;
	struct {
		const char *sql;
		uint64_t hash;
		sq_stmt *st;
	} cache[STMT_CACHE];
	int ncache;
	int64_t busy_since_us; /* when the statement now waiting for a lock first found it taken (monotonic) */
	int64_t busy_limit_us; /* how long a statement waits for a lock; 0 for the default 10 s */
	bool yields;           /* the click log's connection: its waits do not ask others to make way */
	/* Failures outside a statement (open, exec, begin) keep their message here. */
	int last_code;
	char message[256];
} sq_db;

/* When a statement on a connection other than the click log's last found the database locked (monotonic µs). */
static _Atomic int64_t others_waiting_us;

/* SQLite calls this while another connection holds the write lock. It retries every 100 µs for up to 10 s (SQLite's
 * own handler sleeps 1, 2, 5, ... 100 ms between tries, far longer than a click group holds the lock), and tells
 * the click log that someone is waiting, so that it commits and steps aside (rf_db_sqlite_others_waiting). */
static int busy_wait(void *arg, int tries)
{
	sq_db *s = arg;
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

bool rf_db_sqlite_others_waiting(void)
{
	return rf_clock_mono_us() - atomic_load(&others_waiting_us) < 400;
}

static void remember(sq_db *s, int code)
{
	s->last_code = code;
	snprintf(s->message, sizeof s->message, "%s", sqlite3_errmsg(s->db));
}

/* SQLite keeps memory statistics by default, behind one process-wide mutex taken on every allocation, which the
 * click writer and the HTTP workers would contend for; refd never reads them. Only possible before SQLite starts. */
static void sqlite_setup(void)
{
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static void sq_close(rf_db *d)
{
	sq_db *s = (sq_db *)d;
	for (int i = 0; i < s->ncache; i++) {
		sqlite3_finalize(s->cache[i].st->st);
		free(s->cache[i].st);
		/* The cache's key is a copy of the SQL (sq_prepare): it goes with the statement, or every connection
		 * closed leaked the text of each statement it had prepared. */
		free((char *)s->cache[i].sql);
	}
	sqlite3_close(s->db);
	free(s);
}

static rf_status sq_open(const char *location, rf_db **out, rf_err *err)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, sqlite_setup);
	sq_db *s = calloc(1, sizeof *s);
	if (!s)
		return rf_err_set(err, RF_ENOMEM, NULL, "out of memory");
	s->base.drv = &rf_db_sqlite;
	int rc =
	    sqlite3_open_v2(location, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		rf_err_set(err, RF_EIO, "db", "cannot open database %s: %s", location,
			   s->db ? sqlite3_errmsg(s->db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_handler(s->db, busy_wait, s);
	char *msg = NULL;
	if (sqlite3_exec(s->db,
			 "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; "
			 "PRAGMA cache_size=-262144; PRAGMA mmap_size=268435456;",
			 NULL, NULL, &msg) != SQLITE_OK) {
		rf_err_set(err, RF_EIO, "db", "cannot set up database %s: %s", location, msg ? msg : "unknown");
		sqlite3_free(msg);
		goto fail;
	}
	*out = &s->base;
	return RF_OK;
fail:
	sqlite3_close(s->db);
	free(s);
	return err ? err->status : RF_EIO;
}

/* A hash of the whole text: the cache compares hashes first, so a lookup costs one pass over the SQL, not one per
 * cached statement. */
static uint64_t sql_hash(const char *sql)
{
	/* Eight bytes a step: a statement's text is hundreds of bytes, and it is hashed at every lookup. */
	size_t n = strlen(sql), i = 0;
	uint64_t h = 1469598103934665603ULL ^ n, w;
	for (; i + 8 <= n; i += 8) {
		memcpy(&w, sql + i, 8);
		h = (h ^ w) * 0x9E3779B97F4A7C15ULL;
		h ^= h >> 29;
	}
	w = 0;
	memcpy(&w, sql + i, n - i);
	h = (h ^ w) * 0x9E3779B97F4A7C15ULL;
	return h ^ h >> 32;
}

static rf_db_stmt *sq_prepare(rf_db *d, const char *sql)
{
	sq_db *s = (sq_db *)d;
	uint64_t h = sql_hash(sql);
	for (int i = s->ncache - 1; i >= 0; i--) {
		if (s->cache[i].hash == h && strcmp(s->cache[i].sql, sql) == 0) {
			sq_stmt *q = s->cache[i].st;
			sqlite3_reset(q->st);
			sqlite3_clear_bindings(q->st);
			return &q->base;
		}
	}
	sq_stmt *q = calloc(1, sizeof *q);
	char *copy = strdup(sql);
	if (!q || !copy) {
		free(q);
		free(copy);
		s->last_code = SQLITE_NOMEM;
		snprintf(s->message, sizeof s->message, "out of memory");
		return NULL;
	}
	q->base.db = d;
	if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &q->st, NULL) != SQLITE_OK) {
		remember(s, sqlite3_extended_errcode(s->db));
		free(q);
		free(copy);
		return NULL;
	}
	if (s->ncache == STMT_CACHE) {
		/* Dynamic filters can make many shapes; evict the oldest rather than grow without bound. */
		sqlite3_finalize(s->cache[0].st->st);
		free(s->cache[0].st);
		free((char *)s->cache[0].sql);
		memmove(&s->cache[0], &s->cache[1], sizeof s->cache[0] * (STMT_CACHE - 1));
		s->ncache--;
	}
	s->cache[s->ncache].sql = copy;
	s->cache[s->ncache].hash = h;
	s->cache[s->ncache].st = q;
	s->ncache++;
	return &q->base;
}

static sqlite3_stmt *raw(rf_db_stmt *st)
{
	return ((sq_stmt *)st)->st;
}

static void sq_bind_int(rf_db_stmt *st, int i, int64_t v)
{
	sqlite3_bind_int64(raw(st), i, v);
}

static void sq_bind_text(rf_db_stmt *st, int i, const char *v, size_t len)
{
	if (v)
		sqlite3_bind_text(raw(st), i, v, (int)len, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(raw(st), i);
}

static void sq_bind_blob(rf_db_stmt *st, int i, const void *v, size_t len)
{
	if (v)
		sqlite3_bind_blob(raw(st), i, v, (int)len, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(raw(st), i);
}

static void sq_bind_null(rf_db_stmt *st, int i)
{
	sqlite3_bind_null(raw(st), i);
}

static int sq_step(rf_db_stmt *st)
{
	int rc = sqlite3_step(raw(st));
	if (rc == SQLITE_ROW)
		return RF_DB_ROW;
	if (rc == SQLITE_DONE)
		return RF_DB_DONE;
	sq_db *s = (sq_db *)st->db;
	remember(s, sqlite3_extended_errcode(s->db));
	return RF_DB_FAIL;
}

static void sq_reset(rf_db_stmt *st)
{
	sqlite3_reset(raw(st));
}

static bool sq_col_null(rf_db_stmt *st, int i)
{
	return sqlite3_column_type(raw(st), i) == SQLITE_NULL;
}

static int64_t sq_col_int(rf_db_stmt *st, int i)
{
	return sqlite3_column_int64(raw(st), i);
}

static double sq_col_double(rf_db_stmt *st, int i)
{
	return sqlite3_column_double(raw(st), i);
}

static const char *sq_col_text(rf_db_stmt *st, int i, size_t *len)
{
	if (sqlite3_column_type(raw(st), i) == SQLITE_NULL) {
		if (len)
			*len = 0;
		return NULL;
	}
	const char *t = (const char *)sqlite3_column_text(raw(st), i);
	if (len)
		*len = (size_t)sqlite3_column_bytes(raw(st), i);
	return t ? t : "";
}

static const void *sq_col_blob(rf_db_stmt *st, int i, size_t *len)
{
	if (sqlite3_column_type(raw(st), i) == SQLITE_NULL) {
		if (len)
			*len = 0;
		return NULL;
	}
	const void *b = sqlite3_column_blob(raw(st), i);
	if (len)
		*len = (size_t)sqlite3_column_bytes(raw(st), i);
	return b ? b : "";
}

static int sq_col_count(rf_db_stmt *st)
{
	return sqlite3_column_count(raw(st));
}

static const char *sq_col_name(rf_db_stmt *st, int i)
{
	return sqlite3_column_name(raw(st), i);
}

static rf_db_type sq_col_type(rf_db_stmt *st, int i)
{
	switch (sqlite3_column_type(raw(st), i)) {
	case SQLITE_INTEGER:
		return RF_DB_T_INT;
	case SQLITE_FLOAT:
		return RF_DB_T_FLOAT;
	case SQLITE_BLOB:
		return RF_DB_T_BLOB;
	case SQLITE_TEXT:
		return RF_DB_T_TEXT;
	default:
		return RF_DB_T_NULL;
	}
}

static int64_t sq_changes(rf_db *d)
{
	return sqlite3_changes(((sq_db *)d)->db);
}

static rf_status sq_exec(rf_db *d, const char *sql)
{
	sq_db *s = (sq_db *)d;
	char *msg = NULL;
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, &msg);
	if (rc == SQLITE_OK)
		return RF_OK;
	s->last_code = sqlite3_extended_errcode(s->db);
	snprintf(s->message, sizeof s->message, "%s", msg ? msg : sqlite3_errmsg(s->db));
	sqlite3_free(msg);
	return RF_EIO;
}

static rf_status sq_begin(rf_db *d, bool write)
{
	/* BEGIN IMMEDIATE takes the write lock at once: a transaction that will write never fails half-way because
	 * another connection wrote first (SQLite has one writer at a time). */
	return sq_exec(d, write ? "BEGIN IMMEDIATE" : "BEGIN");
}

static rf_status sq_commit(rf_db *d)
{
	return sq_exec(d, "COMMIT");
}

static bool sq_in_tx(rf_db *d)
{
	return !sqlite3_get_autocommit(((sq_db *)d)->db);
}

static void sq_rollback(rf_db *d)
{
	if (sq_in_tx(d))
		sqlite3_exec(((sq_db *)d)->db, "ROLLBACK", NULL, NULL, NULL);
}

static rf_db_errkind sq_last_error(rf_db *d, const char **message)
{
	sq_db *s = (sq_db *)d;
	if (message)
		*message = s->message[0] ? s->message : NULL;
	switch (s->last_code) {
	case SQLITE_OK:
		return RF_DB_ERR_NONE;
	case SQLITE_CONSTRAINT_UNIQUE:
	case SQLITE_CONSTRAINT_PRIMARYKEY:
		return RF_DB_ERR_UNIQUE;
	default:
		break;
	}
	/* A failure that passes by itself: no space left, an I/O error, the database busy past the wait. */
	switch (s->last_code & 0xff) {
	case SQLITE_FULL:
	case SQLITE_IOERR:
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_NOMEM:
		return RF_DB_ERR_UNAVAIL;
	default:
		return RF_DB_ERR_OTHER;
	}
}

static void sq_idle(rf_db *d)
{
	sq_db *s = (sq_db *)d;
	for (int i = 0; i < s->ncache; i++)
		if (sqlite3_stmt_busy(s->cache[i].st->st))
			sqlite3_reset(s->cache[i].st->st);
}

static const char *sq_path(rf_db *d)
{
	return sqlite3_db_filename(((sq_db *)d)->db, "main");
}

sqlite3 *rf_db_sqlite_handle(rf_db *d)
{
	return d->drv == &rf_db_sqlite ? ((sq_db *)d)->db : NULL;
}

void rf_db_sqlite_set_busy_limit(rf_db *d, int64_t us)
{
	if (d->drv == &rf_db_sqlite)
		((sq_db *)d)->busy_limit_us = us;
}

void rf_db_sqlite_set_yields(rf_db *d, bool yields)
{
	if (d->drv == &rf_db_sqlite)
		((sq_db *)d)->yields = yields;
}

void rf_db_sqlite_note(rf_db *d, int code)
{
	if (d->drv == &rf_db_sqlite)
		remember((sq_db *)d, code);
}

const rf_db_driver rf_db_sqlite = {
    .name = "sqlite",
    .dialect = RF_DB_SQLITE,
    .caps = RF_DB_CAP_FILE,
    .open = sq_open,
    .close = sq_close,
    .prepare = sq_prepare,
    .bind_int = sq_bind_int,
    .bind_text = sq_bind_text,
    .bind_blob = sq_bind_blob,
    .bind_null = sq_bind_null,
    .step = sq_step,
    .reset = sq_reset,
    .col_null = sq_col_null,
    .col_int = sq_col_int,
    .col_double = sq_col_double,
    .col_text = sq_col_text,
    .col_blob = sq_col_blob,
    .col_count = sq_col_count,
    .col_name = sq_col_name,
    .col_type = sq_col_type,
    .changes = sq_changes,
    .exec = sq_exec,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .in_tx = sq_in_tx,
    .last_error = sq_last_error,
    .idle = sq_idle,
    .path = sq_path,
};
