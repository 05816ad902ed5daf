/* SPDX-License-Identifier: Apache-2.0 */
/* The database driver interface under the store: connections, prepared statements with numbered parameters, rows
 * and columns, transactions, and failures mapped to refd's statuses. The store's SQL is written once against it;
 * a driver translates what its database spells differently (PostgreSQL's $1 for ?1). Each driver is a const table
 * of callbacks behind the rf_db_* wrappers, its required callbacks checked when a connection opens, and its
 * capability bits say what it can do beyond the common core.
 *
 * Conventions: a connection belongs to one thread at a time. SQL text passed to rf_db_prepare must live as long as
 * the connection (the store's SQL is static or kept in the arena of a long-lived caller) because drivers cache
 * statements by it. Strings and blobs read from a row stay valid until the statement is stepped again or reset. */
#ifndef RF_DB_H
#define RF_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../core/status.h"

typedef struct rf_db rf_db;
typedef struct rf_db_stmt rf_db_stmt;
typedef struct rf_db_driver rf_db_driver;

/* What a backend can do beyond the common core (curl's vtls capability bits are the model). */
enum {
	/* Several connections write at once, each row locked by whoever writes it (MVCC); without it one
	 * transaction writes at a time and BEGIN takes the database's write lock. */
	RF_DB_CAP_CONCURRENT_WRITES = 1u << 0,
	/* SELECT … FOR UPDATE SKIP LOCKED, for jobs that several processes share. */
	RF_DB_CAP_SKIP_LOCKED = 1u << 1,
	/* LISTEN/NOTIFY between processes (rf_db_notify, rf_db_poll_notice). */
	RF_DB_CAP_NOTIFY = 1u << 2,
	/* A file of its own: rf_db_path names it (backups, the WAL of SQLite). */
	RF_DB_CAP_FILE = 1u << 3,
	/* A failed statement aborts its whole transaction (PostgreSQL), so a failure the store expects and handles
	 * (a unique violation it answers with a conflict) must be fenced with a savepoint: rf_db_step_guarded. */
	RF_DB_CAP_FAILURE_ABORTS_TX = 1u << 4,
};

/* The SQL dialect, for the few statements the two databases cannot share (full-text search, the rollup rebuild's
 * arithmetic on floating totals). Everything else is written once. */
typedef enum { RF_DB_SQLITE, RF_DB_POSTGRES } rf_db_dialect;

/* The type of a column's value in the current row (a copy moves values by it). */
typedef enum { RF_DB_T_NULL, RF_DB_T_INT, RF_DB_T_FLOAT, RF_DB_T_TEXT, RF_DB_T_BLOB } rf_db_type;

/* What stepping a statement gave. */
enum { RF_DB_DONE = 0, RF_DB_ROW = 1, RF_DB_FAIL = -1 };

/* The kind of the connection's last failure, which the store maps to statuses: a unique violation becomes a
 * conflict on the field the store names, a serialization failure or deadlock a retry of the whole transaction,
 * a lost connection, a full disk or an I/O error "unavailable" (503), anything else an internal error. */
typedef enum {
	RF_DB_ERR_NONE = 0,
	RF_DB_ERR_UNIQUE,  /* a unique or primary key constraint */
	RF_DB_ERR_RETRY,   /* serialization failure, deadlock, lock wait given up: run the transaction again */
	RF_DB_ERR_UNAVAIL, /* connection lost, disk full, I/O error, busy for too long, shutting down */
	RF_DB_ERR_OTHER    /* a bug or a broken schema: internal error */
} rf_db_errkind;

/* Every driver's connection and statement structs start with these, so the wrappers can reach the driver. */
struct rf_db {
	const rf_db_driver *drv;
};
struct rf_db_stmt {
	rf_db *db;
};

struct rf_db_driver {
	const char *name; /* "sqlite", "postgres" */
	rf_db_dialect dialect;
	unsigned caps;

	/* Required. */
	rf_status (*open)(const char *location, rf_db **out, rf_err *err);
	void (*close)(rf_db *db);
	rf_db_stmt *(*prepare)(rf_db *db, const char *sql);
	void (*bind_int)(rf_db_stmt *st, int i, int64_t v);
	void (*bind_text)(rf_db_stmt *st, int i, const char *v, size_t len); /* v NULL binds NULL */
	void (*bind_blob)(rf_db_stmt *st, int i, const void *v, size_t len); /* v NULL binds NULL */
	void (*bind_null)(rf_db_stmt *st, int i);
	int (*step)(rf_db_stmt *st);
	void (*reset)(rf_db_stmt *st);
	bool (*col_null)(rf_db_stmt *st, int i);
	int64_t (*col_int)(rf_db_stmt *st, int i);
	double (*col_double)(rf_db_stmt *st, int i);
	const char *(*col_text)(rf_db_stmt *st, int i, size_t *len); /* NULL for SQL NULL */
	const void *(*col_blob)(rf_db_stmt *st, int i, size_t *len); /* NULL for SQL NULL */
	int (*col_count)(rf_db_stmt *st);
	const char *(*col_name)(rf_db_stmt *st, int i);
	rf_db_type (*col_type)(rf_db_stmt *st, int i);
	int64_t (*changes)(rf_db *db);                 /* rows the last statement changed */
	rf_status (*exec)(rf_db *db, const char *sql); /* a script without parameters or rows */
	rf_status (*begin)(rf_db *db, bool write);
	rf_status (*commit)(rf_db *db);
	void (*rollback)(rf_db *db);
	bool (*in_tx)(rf_db *db);
	rf_db_errkind (*last_error)(rf_db *db, const char **message);

	/* Optional. */
	void (*idle)(rf_db *db); /* ends what a statement left open between requests (a read never finished) */

	/* Optional, by capability. */
	rf_status (*notify)(rf_db *db, const char *channel);                /* RF_DB_CAP_NOTIFY */
	int (*poll_notice)(rf_db *db, const char *channel, int timeout_ms); /* 1 a notice came, 0 none, -1 failed */
	const char *(*path)(rf_db *db);                                     /* RF_DB_CAP_FILE */
};

/* The driver for a location: postgres:// and postgresql:// URLs (and libpq "host=… dbname=…" strings) are
 * PostgreSQL, anything else a SQLite file. */
const rf_db_driver *rf_db_driver_for(const char *location);

/* Opens a connection with the driver for location, after checking that the driver has every required callback
 * (and the optional ones its capabilities promise). *out is released with rf_db_close. */
rf_status rf_db_open(const char *location, rf_db **out, rf_err *err);
void rf_db_close(rf_db *db);

const rf_db_driver *rf_db_drv(const rf_db *db);
rf_db_dialect rf_db_dialect_of(const rf_db *db);
bool rf_db_can(const rf_db *db, unsigned cap);

/* A statement for sql, prepared once per connection and reused, with its bindings cleared; NULL when it cannot be
 * prepared (rf_db_fail says why). Parameters are ?1, ?2, … (or ? for the next one), numbered from 1. */
rf_db_stmt *rf_db_prepare(rf_db *db, const char *sql);
void rf_db_bind_int(rf_db_stmt *st, int i, int64_t v);
void rf_db_bind_text(rf_db_stmt *st, int i, const char *v); /* NULL binds NULL */
void rf_db_bind_textn(rf_db_stmt *st, int i, const char *v, size_t len);
void rf_db_bind_blob(rf_db_stmt *st, int i, const void *v, size_t len);
void rf_db_bind_null(rf_db_stmt *st, int i);
/* RF_DB_ROW with a row to read, RF_DB_DONE at the end, RF_DB_FAIL on failure (rf_db_fail says why). */
int rf_db_step(rf_db_stmt *st);
/* rf_db_step for a statement whose failure the caller handles and then goes on in the same transaction (a unique
 * violation answered with 409, a lookup instead): where a failure would abort the transaction, the statement runs
 * inside a savepoint that is rolled back when it fails. */
int rf_db_step_guarded(rf_db_stmt *st);
/* Ends the statement's execution (a read left unfinished), keeping it prepared. */
void rf_db_reset(rf_db_stmt *st);
bool rf_db_col_null(rf_db_stmt *st, int i);
int64_t rf_db_col_int(rf_db_stmt *st, int i);
double rf_db_col_double(rf_db_stmt *st, int i);
const char *rf_db_col_text(rf_db_stmt *st, int i, size_t *len);
const void *rf_db_col_blob(rf_db_stmt *st, int i, size_t *len);
/* The statement's columns (valid once it has been stepped), their names and the type of the current row's values. */
int rf_db_col_count(rf_db_stmt *st);
const char *rf_db_col_name(rf_db_stmt *st, int i);
rf_db_type rf_db_col_type(rf_db_stmt *st, int i);
int64_t rf_db_changes(rf_db *db);

rf_status rf_db_exec(rf_db *db, const char *sql);
/* Ends whatever a statement left open between calls, so the next call sees the database as it is now. */
void rf_db_idle(rf_db *db);
/* A transaction; write asks for one that will write (SQLite then takes the write lock at once). */
rf_status rf_db_begin(rf_db *db, bool write);
rf_status rf_db_commit(rf_db *db);
void rf_db_rollback(rf_db *db);
bool rf_db_in_tx(rf_db *db);

/* The last failure's kind and message (static or owned by the connection, valid until its next call). */
rf_db_errkind rf_db_last_error(rf_db *db, const char **message);

/* Fills err from the connection's last failure, saying what was being done, and returns the status it maps to:
 * RF_ECONFLICT (field NULL: the store names it), RF_ERETRY, RF_EUNAVAIL or RF_EIO. */
rf_status rf_db_fail(rf_db *db, rf_err *err, const char *what);

/* NOTIFY channel (RF_DB_CAP_NOTIFY; RF_OK and nothing done otherwise). */
rf_status rf_db_notify(rf_db *db, const char *channel);
/* Waits up to timeout_ms for a notice on channel (listening from the first call on); 1 when one came. Without
 * RF_DB_CAP_NOTIFY it sleeps and answers 0. */
int rf_db_poll_notice(rf_db *db, const char *channel, int timeout_ms);
/* The database file, for drivers with RF_DB_CAP_FILE; NULL otherwise. */
const char *rf_db_path(rf_db *db);

/* The drivers. */
extern const rf_db_driver rf_db_sqlite;
extern const rf_db_driver rf_db_postgres;

#endif
