/* SPDX-License-Identifier: Apache-2.0 */
/* What the SQLite backend's files share: the connection struct and the statement, binding and row helpers.
 * Not part of the store interface: only src/store/sqlite*.c include it. */
#ifndef RF_SQLITE_INTERNAL_H
#define RF_SQLITE_INTERNAL_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "store.h"

#define STMT_CACHE 224

struct rf_store {
	sqlite3 *db;
	struct {
		char *sql;
		uint64_t hash;
		sqlite3_stmt *st;
	} cache[STMT_CACHE];
	int ncache;
	int wal_frames; /* frames in the WAL after this connection's last commit (when its WAL hook is set) */
	/* With rf_store_split_sync: the WAL's path, and a descriptor of it used only by rf_store_sync_wal. */
	char *wal_path;
	int wal_fd;
	int64_t busy_since_us;      /* when the statement now waiting for a lock first found it taken (monotonic) */
	int64_t busy_limit_us;      /* how long a statement waits for a lock before failing; 0 for the default 10 s */
	int64_t restart_after_us;   /* settle_wal: no new wait for the WAL's readers before this (monotonic) */
	int64_t restart_backoff_us; /* settle_wal: the pause after the last wait that ran out; 0 after a success */
	bool yields;                /* the click writer: its waits do not ask others to make way */
};

/* Fills one item from the current row of a statement. */
typedef void (*rf_sqlite_row_fn)(sqlite3_stmt *st, void *item, rf_arena *a);

/* RF_EIO with SQLite's message, saying what was being done. */
rf_status rf_sqlite_db_fail(rf_store *s, rf_err *err, const char *what);

/* A reset statement for sql, prepared once per connection and reused; NULL (err filled) on failure. */
sqlite3_stmt *rf_sqlite_prep(rf_store *s, const char *sql, rf_err *err);

/* Binds text, or NULL for a NULL pointer. */
void rf_sqlite_bind_text(sqlite3_stmt *st, int i, const char *v);

/* An arena copy of a text column, NULL for SQL NULL. */
char *rf_sqlite_col_text(sqlite3_stmt *st, int i, rf_arena *a);

/* A currency code column into a 4-byte buffer. */
void rf_sqlite_col_code(sqlite3_stmt *st, int i, char out[4]);

/* Runs SQL without results (no parameters). */
rf_status rf_sqlite_exec(rf_store *s, const char *sql, rf_err *err);

/* Steps a statement that returns no rows; a uniqueness failure is RF_ECONFLICT on field (when not NULL). */
rf_status rf_sqlite_step_done(rf_store *s, sqlite3_stmt *st, const char *field, rf_err *err);

/* Resolves a cursor id to its seq in table; RF_EINVAL naming starting_after when it does not exist. */
rf_status rf_sqlite_cursor_seq(rf_store *s, const char *table, const char *id, int64_t *seq, rf_err *err);

/* Steps a statement (already bound) that gives at most one row into fill; RF_ENOTFOUND names what. */
rf_status rf_sqlite_one_row(rf_store *s, sqlite3_stmt *st, rf_sqlite_row_fn fill, void *out, rf_arena *a,
			    const char *what, rf_err *err);

/* Steps a statement (already bound) that gives one integer (0 when it gives no row). */
rf_status rf_sqlite_one_int(rf_store *s, sqlite3_stmt *st, int64_t *out, rf_err *err);

/* At most one row for a query keyed by one text parameter; RF_ENOTFOUND names what. */
rf_status rf_sqlite_get_one(rf_store *s, const char *sql, const char *key, rf_sqlite_row_fn fill, void *out,
			    rf_arena *a, const char *what, rf_err *err);

/* The rows of a list query (which asks for limit + 1) into an arena array; has_more when a row past limit exists. */
rf_status rf_sqlite_collect(rf_store *s, sqlite3_stmt *st, int limit, size_t item_size, rf_sqlite_row_fn fill,
			    void **items, size_t *n, bool *has_more, rf_arena *a, rf_err *err);

#endif
