/* SPDX-License-Identifier: Apache-2.0 */
/* The driver wrappers: the driver a location names, the check of its callbacks at open, and the calls every store
 * function makes, each passed on to the connection's driver. */
#include "db.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

const rf_db_driver *rf_db_driver_for(const char *location)
{
	if (!location)
		return &rf_db_sqlite;
	if (strncmp(location, "postgres://", 11) == 0 || strncmp(location, "postgresql://", 13) == 0)
		return &rf_db_postgres;
	/* libpq's keyword form ("host=/tmp dbname=refd"): a SQLite path never starts with a keyword and '='. */
	static const char *const keys[] = {"host=", "hostaddr=", "dbname=", "user=", "port=", "service="};
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (strncmp(location, keys[i], strlen(keys[i])) == 0)
			return &rf_db_postgres;
	return &rf_db_sqlite;
}

/* The callbacks every driver must have, and those its capabilities promise: a driver missing one is refused when
 * the connection opens, not found out by a NULL call in the middle of a request. */
static const char *missing_callback(const rf_db_driver *d)
{
	struct {
		const char *name;
		bool present;
	} req[] = {
	    {"open", d->open != NULL},
	    {"close", d->close != NULL},
	    {"prepare", d->prepare != NULL},
	    {"bind_int", d->bind_int != NULL},
	    {"bind_text", d->bind_text != NULL},
	    {"bind_blob", d->bind_blob != NULL},
	    {"bind_null", d->bind_null != NULL},
	    {"step", d->step != NULL},
	    {"reset", d->reset != NULL},
	    {"col_null", d->col_null != NULL},
	    {"col_int", d->col_int != NULL},
	    {"col_double", d->col_double != NULL},
	    {"col_text", d->col_text != NULL},
	    {"col_blob", d->col_blob != NULL},
	    {"col_count", d->col_count != NULL},
	    {"col_name", d->col_name != NULL},
	    {"col_type", d->col_type != NULL},
	    {"changes", d->changes != NULL},
	    {"exec", d->exec != NULL},
	    {"begin", d->begin != NULL},
	    {"commit", d->commit != NULL},
	    {"rollback", d->rollback != NULL},
	    {"in_tx", d->in_tx != NULL},
	    {"last_error", d->last_error != NULL},
	    {"notify", !(d->caps & RF_DB_CAP_NOTIFY) || (d->notify && d->poll_notice)},
	    {"path", !(d->caps & RF_DB_CAP_FILE) || d->path},
	};
	for (size_t i = 0; i < sizeof req / sizeof req[0]; i++)
		if (!req[i].present)
			return req[i].name;
	return NULL;
}

rf_status rf_db_open(const char *location, rf_db **out, rf_err *err)
{
	const rf_db_driver *d = rf_db_driver_for(location);
	const char *missing = missing_callback(d);
	if (missing)
		return rf_err_set(err, RF_EIO, "db", "the %s driver lacks its %s callback", d->name, missing);
	return d->open(location, out, err);
}

void rf_db_close(rf_db *db)
{
	if (db)
		db->drv->close(db);
}

const rf_db_driver *rf_db_drv(const rf_db *db)
{
	return db->drv;
}

rf_db_dialect rf_db_dialect_of(const rf_db *db)
{
	return db->drv->dialect;
}

bool rf_db_can(const rf_db *db, unsigned cap)
{
	return (db->drv->caps & cap) == cap;
}

rf_db_stmt *rf_db_prepare(rf_db *db, const char *sql)
{
	return db->drv->prepare(db, sql);
}

void rf_db_bind_int(rf_db_stmt *st, int i, int64_t v)
{
	st->db->drv->bind_int(st, i, v);
}

void rf_db_bind_text(rf_db_stmt *st, int i, const char *v)
{
	st->db->drv->bind_text(st, i, v, v ? strlen(v) : 0);
}

void rf_db_bind_textn(rf_db_stmt *st, int i, const char *v, size_t len)
{
	st->db->drv->bind_text(st, i, v, len);
}

void rf_db_bind_blob(rf_db_stmt *st, int i, const void *v, size_t len)
{
	st->db->drv->bind_blob(st, i, v, len);
}

void rf_db_bind_null(rf_db_stmt *st, int i)
{
	st->db->drv->bind_null(st, i);
}

int rf_db_step(rf_db_stmt *st)
{
	return st->db->drv->step(st);
}

int rf_db_step_guarded(rf_db_stmt *st)
{
	rf_db *db = st->db;
	if (!(db->drv->caps & RF_DB_CAP_FAILURE_ABORTS_TX) || !db->drv->in_tx(db))
		return db->drv->step(st);
	if (db->drv->exec(db, "SAVEPOINT rf_guard") != RF_OK)
		return RF_DB_FAIL;
	int rc = db->drv->step(st);
	if (rc == RF_DB_FAIL) {
		/* The statement's failure stays the connection's last one, unless undoing it fails too (then that
		 * failure is the one to report, and the transaction is lost anyway). */
		db->drv->exec(db, "ROLLBACK TO SAVEPOINT rf_guard; RELEASE SAVEPOINT rf_guard");
		return RF_DB_FAIL;
	}
	if (db->drv->exec(db, "RELEASE SAVEPOINT rf_guard") != RF_OK)
		return RF_DB_FAIL;
	return rc;
}

void rf_db_reset(rf_db_stmt *st)
{
	st->db->drv->reset(st);
}

bool rf_db_col_null(rf_db_stmt *st, int i)
{
	return st->db->drv->col_null(st, i);
}

int64_t rf_db_col_int(rf_db_stmt *st, int i)
{
	return st->db->drv->col_int(st, i);
}

double rf_db_col_double(rf_db_stmt *st, int i)
{
	return st->db->drv->col_double(st, i);
}

const char *rf_db_col_text(rf_db_stmt *st, int i, size_t *len)
{
	return st->db->drv->col_text(st, i, len);
}

const void *rf_db_col_blob(rf_db_stmt *st, int i, size_t *len)
{
	return st->db->drv->col_blob(st, i, len);
}

int rf_db_col_count(rf_db_stmt *st)
{
	return st->db->drv->col_count(st);
}

const char *rf_db_col_name(rf_db_stmt *st, int i)
{
	return st->db->drv->col_name(st, i);
}

rf_db_type rf_db_col_type(rf_db_stmt *st, int i)
{
	return st->db->drv->col_type(st, i);
}

int64_t rf_db_changes(rf_db *db)
{
	return db->drv->changes(db);
}

rf_status rf_db_exec(rf_db *db, const char *sql)
{
	return db->drv->exec(db, sql);
}

void rf_db_idle(rf_db *db)
{
	if (db->drv->idle)
		db->drv->idle(db);
}

rf_status rf_db_begin(rf_db *db, bool write)
{
	return db->drv->begin(db, write);
}

rf_status rf_db_commit(rf_db *db)
{
	return db->drv->commit(db);
}

void rf_db_rollback(rf_db *db)
{
	db->drv->rollback(db);
}

bool rf_db_in_tx(rf_db *db)
{
	return db->drv->in_tx(db);
}

rf_db_errkind rf_db_last_error(rf_db *db, const char **message)
{
	return db->drv->last_error(db, message);
}

rf_status rf_db_fail(rf_db *db, rf_err *err, const char *what)
{
	const char *msg = NULL;
	rf_db_errkind k = db->drv->last_error(db, &msg);
	if (!msg)
		msg = "unknown failure";
	switch (k) {
	case RF_DB_ERR_UNIQUE:
		return rf_err_set(err, RF_ECONFLICT, NULL, "already taken (%s)", msg);
	case RF_DB_ERR_RETRY:
		return rf_err_set(err, RF_ERETRY, NULL, "the database asks to try again (%s while %s)", msg, what);
	case RF_DB_ERR_UNAVAIL:
		return rf_err_set(err, RF_EUNAVAIL, NULL,
				  "the database cannot do this right now (%s while %s); try again", msg, what);
	case RF_DB_ERR_NONE:
	case RF_DB_ERR_OTHER:
		break;
	}
	return rf_err_set(err, RF_EIO, NULL, "database error while %s: %s", what, msg);
}

rf_status rf_db_notify(rf_db *db, const char *channel)
{
	if (!(db->drv->caps & RF_DB_CAP_NOTIFY))
		return RF_OK;
	return db->drv->notify(db, channel);
}

int rf_db_poll_notice(rf_db *db, const char *channel, int timeout_ms)
{
	if (!(db->drv->caps & RF_DB_CAP_NOTIFY)) {
		struct timespec ts = {timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000L};
		nanosleep(&ts, NULL);
		return 0;
	}
	return db->drv->poll_notice(db, channel, timeout_ms);
}

const char *rf_db_path(rf_db *db)
{
	return (db->drv->caps & RF_DB_CAP_FILE) ? db->drv->path(db) : NULL;
}
