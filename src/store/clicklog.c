/* SPDX-License-Identifier: Apache-2.0 */
/* The click log: the durable append of clicks in groups that the store owns, because what makes a commit durable
 * cheaply is the database's business. On SQLite a group commits without waiting for the disk (synchronous=NORMAL)
 * and one fdatasync of the WAL, which may run on another thread while the next group is inserted, makes every group
 * committed before it durable; the WAL is kept from growing by checkpoints beside the writer and a RESTART
 * checkpoint between its groups. On PostgreSQL a commit returns only once its WAL is flushed (synchronous_commit =
 * on), so the log holds two connections: the commit of a group is sent on one, the flush waits for its answer (on
 * the syncer's thread), and meanwhile the writer fills the next group on the other. The database keeps its own WAL. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/clock.h"
#include "db/pg_driver.h"
#include "db/sqlite_driver.h"
#include "store_internal.h"

struct rf_click_log {
	rf_store *store;       /* the writer's connection: groups and their rollups */
	rf_store *maint_store; /* SQLite: the checkpoint thread's own connection; NULL elsewhere */
	bool sqlite;
	/* PostgreSQL: the two connections that take turns as store, and the one whose COMMIT was sent and whose
	 * answer no flush has read yet (NULL when none). At most one commit is in flight: a commit waits for the
	 * flush of the one before (cv), so each flush answers for exactly the groups committed before it began. */
	rf_store *pg[2];
	rf_store *pending;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int wal_frames; /* SQLite: frames in the WAL after this connection's last commit */
	/* SQLite: the WAL's path, and a descriptor of it used only by rf_click_log_flush. */
	char *wal_path;
	int wal_fd;
	int64_t restart_after_us;   /* no new wait for the WAL's readers before this (monotonic) */
	int64_t restart_backoff_us; /* the pause after the last wait that ran out; 0 after a success */
};

/* The WAL holds this many frames (about 16 MB) when the writer settles it between groups. */
#define SETTLE_FRAMES 4000

static int note_wal_size(void *arg, sqlite3 *db, const char *name, int frames)
{
	(void)db;
	(void)name;
	((rf_click_log *)arg)->wal_frames = frames;
	return SQLITE_OK;
}

static rf_status sqlite_setup(rf_click_log *l, rf_err *err)
{
	rf_db *db = l->store->db;
	sqlite3 *h = rf_db_sqlite_handle(db);
	const char *file = rf_db_path(db);
	if (!h || !file || !*file)
		return rf_err_set(err, RF_EINVAL, "db", "a database without a file cannot sync its clicks apart");
	/* Checkpoints are left to the checkpoint thread and to rf_click_log_settle, so that a commit never waits
	 * for one; the hook is set after the pragma, which clears any. */
	if (rf_q_exec(l->store, "PRAGMA wal_autocheckpoint=0", err) != RF_OK)
		return err->status;
	sqlite3_wal_hook(h, note_wal_size, l);
	size_t n = strlen(file);
	l->wal_path = malloc(n + 5);
	if (!l->wal_path)
		return rf_err_set(err, RF_ENOMEM, NULL, "out of memory");
	memcpy(l->wal_path, file, n);
	memcpy(l->wal_path + n, "-wal", 5);
	rf_db_sqlite_set_yields(db, true);
	/* Commits write the WAL without waiting for the disk; rf_click_log_flush waits for it instead. */
	if (rf_q_exec(l->store, "PRAGMA synchronous=NORMAL", err) != RF_OK)
		return err->status;
	return rf_store_open(file, &l->maint_store, err);
}

rf_status rf_click_log_open(const char *location, rf_click_log **out, rf_err *err)
{
	rf_click_log *l = calloc(1, sizeof *l);
	if (!l)
		return rf_err_set(err, RF_ENOMEM, NULL, "out of memory");
	l->wal_fd = -1;
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->cv, NULL);
	if (rf_store_open(location, &l->store, err) != RF_OK) {
		rf_click_log_close(l);
		return err->status;
	}
	l->sqlite = rf_q_dialect(l->store) == RF_DB_SQLITE;
	if (l->sqlite && sqlite_setup(l, err) != RF_OK) {
		rf_click_log_close(l);
		return err->status;
	}
	if (!l->sqlite) {
		l->pg[0] = l->store;
		if (rf_store_open(location, &l->pg[1], err) != RF_OK) {
			rf_click_log_close(l);
			return err->status;
		}
	}
	*out = l;
	return RF_OK;
}

void rf_click_log_close(rf_click_log *l)
{
	if (!l)
		return;
	if (l->pg[0]) {
		rf_store_close(l->pg[0]);
		rf_store_close(l->pg[1]);
	} else {
		rf_store_close(l->store);
	}
	rf_store_close(l->maint_store);
	pthread_mutex_destroy(&l->mu);
	pthread_cond_destroy(&l->cv);
	if (l->wal_fd >= 0)
		close(l->wal_fd);
	free(l->wal_path);
	free(l);
}

rf_store *rf_click_log_store(rf_click_log *l)
{
	return l->store;
}

rf_status rf_click_log_begin(rf_click_log *l, rf_err *err)
{
	return rf_store_begin(l->store, err);
}

rf_status rf_click_log_commit(rf_click_log *l, rf_err *err)
{
	if (l->sqlite)
		return rf_store_commit(l->store, err);
	/* The other connection is free once the commit sent on it has been answered: normally long since, as the
	 * writer commits when the syncer is idle, but a full group or the stop commits at once. */
	pthread_mutex_lock(&l->mu);
	while (l->pending)
		pthread_cond_wait(&l->cv, &l->mu);
	pthread_mutex_unlock(&l->mu);
	if (rf_db_pg_commit_send(l->store->db) != RF_OK)
		return rf_q_fail(l->store, err, "committing");
	pthread_mutex_lock(&l->mu);
	l->pending = l->store;
	pthread_mutex_unlock(&l->mu);
	l->store = l->store == l->pg[0] ? l->pg[1] : l->pg[0];
	return RF_OK;
}

void rf_click_log_rollback(rf_click_log *l)
{
	rf_store_rollback(l->store);
}

rf_status rf_click_log_flush(rf_click_log *l, rf_err *err)
{
	if (!l->sqlite) {
		/* The answer to the last COMMIT sent comes once PostgreSQL has flushed its WAL. */
		pthread_mutex_lock(&l->mu);
		rf_store *s = l->pending;
		pthread_mutex_unlock(&l->mu);
		if (!s)
			return RF_OK;
		rf_status rc = rf_db_pg_commit_wait(s->db) == RF_OK ? RF_OK : rf_q_fail(s, err, "committing clicks");
		pthread_mutex_lock(&l->mu);
		l->pending = NULL;
		pthread_cond_signal(&l->cv);
		pthread_mutex_unlock(&l->mu);
		return rc;
	}
	/* fdatasync flushes the file, whichever descriptor wrote to it. The WAL normally lives as long as the
	 * connections; should it have been replaced, the new one is opened. */
	struct stat by_path, by_fd;
	if (stat(l->wal_path, &by_path) != 0)
		return rf_err_set(err, RF_EUNAVAIL, "db", "cannot find the write-ahead log %s: %s", l->wal_path,
				  strerror(errno));
	if (l->wal_fd >= 0 &&
	    (fstat(l->wal_fd, &by_fd) != 0 || by_fd.st_ino != by_path.st_ino || by_fd.st_dev != by_path.st_dev)) {
		close(l->wal_fd);
		l->wal_fd = -1;
	}
	if (l->wal_fd < 0)
		l->wal_fd = open(l->wal_path, O_RDWR | O_CLOEXEC);
	if (l->wal_fd < 0 || fdatasync(l->wal_fd) != 0)
		return rf_err_set(err, RF_EUNAVAIL, "db", "cannot sync the write-ahead log %s: %s", l->wal_path,
				  strerror(errno));
	return RF_OK;
}

/* A passive checkpoint on conn: copies what no reader still needs, never waits. */
static rf_status passive(rf_store *conn, rf_err *err)
{
	int log = 0, done = 0;
	sqlite3 *h = rf_db_sqlite_handle(conn->db);
	int rc = sqlite3_wal_checkpoint_v2(h, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
	/* Busy means another connection is checkpointing right now: the work gets done either way. */
	if (rc != SQLITE_OK && rc != SQLITE_BUSY && rc != SQLITE_LOCKED) {
		rf_db_sqlite_note(conn->db, rc);
		return rf_q_fail(conn, err, "checkpointing");
	}
	return RF_OK;
}

rf_status rf_click_log_maintain(rf_click_log *l, rf_err *err)
{
	return l->sqlite ? passive(l->maint_store, err) : RF_OK;
}

rf_status rf_click_log_settle(rf_click_log *l, rf_err *err)
{
	if (!l->sqlite || l->wal_frames < SETTLE_FRAMES)
		return RF_OK;
	l->wal_frames = 0;
	/* The WAL starts again from its beginning at the next write only if it was copied whole and no reader still
	 * uses it. A passive checkpoint leaves both to chance, and under a steady stream of readers (API requests, a
	 * backup) some reader always holds an older snapshot: the WAL then grew past 100 MB. A RESTART checkpoint
	 * copies it whole and waits for the readers that still use it (readers that start after the copy read the
	 * database file alone). The wait holds up the writer's next commit, so it is bounded to 100 ms; after a wait
	 * that ran out (a reader holding its snapshot longer) the next one comes after a pause that doubles each time,
	 * from 100 ms up to 5 s, with passive copies meanwhile. */
	int64_t now = rf_clock_mono_us();
	if (now < l->restart_after_us)
		return passive(l->store, err);
	int log = 0, done = 0;
	sqlite3 *h = rf_db_sqlite_handle(l->store->db);
	rf_db_sqlite_set_busy_limit(l->store->db, 100000);
	int rc = sqlite3_wal_checkpoint_v2(h, NULL, SQLITE_CHECKPOINT_RESTART, &log, &done);
	rf_db_sqlite_set_busy_limit(l->store->db, 0);
	if ((rc == SQLITE_BUSY || rc == SQLITE_LOCKED) && log < 0) {
		/* The checkpoint thread was copying at that moment: try again after the next commit. */
		l->wal_frames = SETTLE_FRAMES;
		return RF_OK;
	}
	if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
		int64_t pause = l->restart_backoff_us ? l->restart_backoff_us * 2 : 100000;
		l->restart_backoff_us = pause < 5000000 ? pause : 5000000;
		l->restart_after_us = rf_clock_mono_us() + l->restart_backoff_us;
		return RF_OK;
	}
	l->restart_backoff_us = 0;
	if (rc != SQLITE_OK) {
		rf_db_sqlite_note(l->store->db, rc);
		return rf_q_fail(l->store, err, "checkpointing");
	}
	return RF_OK;
}

bool rf_click_log_should_yield(rf_click_log *l)
{
	/* Only SQLite has one writer at a time: elsewhere an open group blocks nobody. */
	return l->sqlite && rf_db_sqlite_others_waiting();
}
