/* SPDX-License-Identifier: Apache-2.0 */
/* Group commit of clicks: everything queued while the previous commit was being written goes in the next
 * transaction, and one flush makes every group committed before it durable. The writer commits through the store's
 * click log; a second thread, the syncer, makes the commits durable (rf_click_log_flush: on SQLite one fdatasync of
 * the WAL, on PostgreSQL waiting for the answer to the COMMIT, which comes once the server has flushed its WAL) and
 * only then lets the clicks be answered, while the next group is already being inserted. A click is acknowledged
 * only once its commit is on disk. */
#include "clicks.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../store/store.h"
#include "../svc/rollups.h"

#define MAX_GROUP 4096

/* The process's one click writer, a named singleton. */
static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;       /* the writer waits on this for clicks */
	pthread_cond_t maint_cv; /* the checkpoint thread waits on this for its next turn or the stop */
	pthread_cond_t sync_cv;  /* the syncer waits on this for committed groups */
	rf_click_job *head, *tail;
	/* Committed, not yet known to be on disk: the syncer's queue, and its thread. */
	rf_click_job *unsynced_head, *unsynced_tail;
	bool writer_done;
	bool syncing;     /* the syncer is flushing */
	bool writer_idle; /* the writer waits with no click in hand: the next click must wake it */
	pthread_t sync_thread;
	bool running, stopping;
	pthread_t thread;
	rf_click_log *log;
	/* Housekeeping (SQLite's checkpoints) runs beside the writer, so that a commit never waits for it. */
	pthread_t maint_thread;
	int queued;      /* jobs in the queue */
	int last_group;  /* size of the last group committed */
	int waiting_for; /* while gathering: the group size the writer waits for */
	long delay_us;   /* the longest it waits for a group to fill */
} writer = {.mu = PTHREAD_MUTEX_INITIALIZER,
	    .cv = PTHREAD_COND_INITIALIZER,
	    .maint_cv = PTHREAD_COND_INITIALIZER,
	    .sync_cv = PTHREAD_COND_INITIALIZER};

/* The CLOCK_REALTIME time us microseconds from now, for pthread_cond_timedwait. */
static void deadline_in(struct timespec *ts, long us)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_nsec += us * 1000L;
	while (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static void *maint_main(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "refd-checkpoint");
	for (;;) {
		struct timespec ts;
		deadline_in(&ts, 200000);
		pthread_mutex_lock(&writer.mu);
		if (!writer.stopping)
			pthread_cond_timedwait(&writer.maint_cv, &writer.mu, &ts);
		bool stop = writer.stopping;
		pthread_mutex_unlock(&writer.mu);
		rf_err err = {0};
		if (rf_click_log_maintain(writer.log, &err) != RF_OK)
			fprintf(stderr, "refd: %s\n", err.message);
		if (stop)
			break;
	}
	return NULL;
}

#define DAY_MS 86400000LL

/* Counted clicks of a group, per link and day, for the rollups. */
typedef struct {
	const char *program_id, *link_id;
	int64_t day;
	int64_t n;
} click_count;

/* Writes the counted clicks to the rollups of their partner (or agent and team), program and campaign. */
static rf_status flush_counts(const click_count *counts, size_t nc, rf_arena *a, rf_err *err)
{
	for (size_t f = 0; f < nc; f++) {
		char *campaign = NULL, *owner = NULL, *kind = NULL, *team = NULL;
		rf_status rc = rf_store_link_rollup_info(rf_click_log_store(writer.log), counts[f].link_id, &campaign,
							 &owner, &kind, &team, a, err);
		if (rc == RF_ENOTFOUND)
			continue;
		if (rc != RF_OK)
			return rc;
		bool agent = kind && strcmp(kind, "agent") == 0 && team;
		const char *entities[3];
		rf_svc_rollup_entities(a, agent ? team : owner, agent ? owner : NULL, entities);
		const char *dims[2] = {"all", campaign ? rf_arena_printf(a, "c:%s", campaign) : NULL};
		rf_metrics m;
		memset(&m, 0, sizeof m);
		m.v[RF_M_CLICKS] = counts[f].n;
		rc = rf_store_rollup_add(rf_click_log_store(writer.log), counts[f].program_id, counts[f].day * DAY_MS,
					 "", entities, 3, dims, 2, &m, err);
		if (rc != RF_OK)
			return rc;
	}
	return RF_OK;
}

/* Counts the group's counted clicks per link and day (a handful of rows for a whole group) and writes them. */
static rf_status rollup_group(rf_click_job *jobs, rf_err *err)
{
	click_count counts[64];
	size_t nc = 0;
	rf_status rc = RF_OK;
	rf_arena a;
	rf_arena_init(&a, 0);
	for (rf_click_job *j = jobs; rc == RF_OK && j; j = j->next) {
		const rf_click *k = &j->click;
		if (!k->link_id || strcmp(k->status, "counted") != 0)
			continue;
		int64_t day = k->at / DAY_MS;
		size_t i = 0;
		while (i < nc && !(counts[i].day == day && strcmp(counts[i].link_id, k->link_id) == 0))
			i++;
		if (i == nc && nc == sizeof counts / sizeof counts[0]) {
			rc = flush_counts(counts, nc, &a, err);
			nc = i = 0;
		}
		if (i == nc) {
			counts[nc].program_id = k->program_id;
			counts[nc].link_id = k->link_id;
			counts[nc].day = day;
			counts[nc].n = 0;
			nc++;
		}
		counts[i].n++;
	}
	if (rc == RF_OK)
		rc = flush_counts(counts, nc, &a, err);
	rf_arena_reset(&a);
	return rc;
}

static void finish_jobs(rf_click_job *jobs, bool ok)
{
	while (jobs) {
		rf_click_job *next = jobs->next;
		jobs->next = NULL;
		jobs->done(jobs, ok);
		jobs = next;
	}
}

/* Writes a group's rollups and commits it (last is its final job). A committed group goes to the syncer; a failed
 * one is rolled back and answered at once. */
static void commit_group(rf_click_job *jobs, rf_click_job *last, bool ok, rf_err *err)
{
	if (ok)
		ok = rollup_group(jobs, err) == RF_OK;
	if (ok)
		ok = rf_click_log_commit(writer.log, err) == RF_OK;
	if (!ok) {
		rf_click_log_rollback(writer.log);
		fprintf(stderr, "refd: could not record clicks: %s\n", err->message);
		finish_jobs(jobs, false);
		return;
	}
	pthread_mutex_lock(&writer.mu);
	if (writer.unsynced_tail)
		writer.unsynced_tail->next = jobs;
	else
		writer.unsynced_head = jobs;
	writer.unsynced_tail = last;
	pthread_cond_signal(&writer.sync_cv);
	pthread_mutex_unlock(&writer.mu);
}

/* Flushes the WAL for every group committed so far, then answers their clicks; a new flush starts as soon as the
 * last one ends, covering whatever was committed meanwhile. */
static void *sync_main(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "refd-sync");
	for (;;) {
		pthread_mutex_lock(&writer.mu);
		while (!writer.unsynced_head && !writer.writer_done)
			pthread_cond_wait(&writer.sync_cv, &writer.mu);
		rf_click_job *jobs = writer.unsynced_head;
		writer.unsynced_head = writer.unsynced_tail = NULL;
		bool done = writer.writer_done;
		writer.syncing = jobs != NULL;
		pthread_mutex_unlock(&writer.mu);
		if (jobs) {
			rf_err err = {0};
			bool ok = rf_click_log_flush(writer.log, &err) == RF_OK;
			/* The disk is free again: the writer commits what it gathered meanwhile. */
			pthread_mutex_lock(&writer.mu);
			writer.syncing = false;
			pthread_cond_signal(&writer.cv);
			pthread_mutex_unlock(&writer.mu);
			if (!ok)
				fprintf(stderr, "refd: clicks are committed but may not be on disk: %s\n", err.message);
			/* A click whose flush failed is not acknowledged: the client is told to try again. */
			finish_jobs(jobs, ok);
		} else if (done) {
			break;
		}
	}
	return NULL;
}

/* No flush under way and no committed group waiting for one (called with writer.mu held). */
static bool disk_free_locked(void)
{
	return !writer.syncing && !writer.unsynced_head;
}

/* The writer keeps a transaction open and inserts clicks as they come; it commits once the syncer is free to
 * flush them, so each flush covers one commit and the inserts of the next group happen while the disk works. */
static void *writer_main(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "refd-clicks");
	rf_click_job *group = NULL, *last = NULL; /* inserted in the open transaction, not committed */
	int in_group = 0;
	bool ok = true; /* the open transaction has not failed */
	rf_err err = {0};
	for (;;) {
		pthread_mutex_lock(&writer.mu);
		bool step_aside = false;
		for (;;) {
			bool disk_free = disk_free_locked();
			/* Another connection waiting for the write lock (an API write) gets it at the next commit. */
			step_aside = in_group && rf_click_log_should_yield(writer.log);
			if (writer.head || writer.stopping || (in_group && (disk_free || step_aside)))
				break;
			writer.writer_idle = in_group == 0;
			if (in_group) {
				/* Holding the lock: look again shortly for anyone waiting for it. */
				struct timespec ts;
				deadline_in(&ts, 200);
				pthread_cond_timedwait(&writer.cv, &writer.mu, &ts);
			} else {
				pthread_cond_wait(&writer.cv, &writer.mu);
			}
			writer.writer_idle = false;
		}
		/* With the disk free and clicks arriving fast, wait a moment for more, so one flush covers more. */
		if (writer.delay_us > 0 && writer.last_group > 1 && !writer.stopping && disk_free_locked() &&
		    in_group + writer.queued < writer.last_group) {
			struct timespec ts;
			deadline_in(&ts, writer.delay_us);
			writer.waiting_for = writer.last_group - in_group;
			while (writer.queued < writer.waiting_for && !writer.stopping &&
			       pthread_cond_timedwait(&writer.cv, &writer.mu, &ts) == 0)
				;
			writer.waiting_for = 0;
		}
		/* Take what is queued, up to MAX_GROUP in the group. */
		rf_click_job *take = writer.head, *take_last = NULL;
		int taken = 0;
		for (rf_click_job *j = take; j && in_group + taken < MAX_GROUP; j = j->next) {
			take_last = j;
			taken++;
		}
		if (taken) {
			writer.head = take_last->next;
			if (!writer.head)
				writer.tail = NULL;
			take_last->next = NULL;
			writer.queued -= taken;
		}
		bool disk_free = disk_free_locked();
		bool stopping = writer.stopping;
		bool more = writer.head != NULL;
		pthread_mutex_unlock(&writer.mu);

		if (taken) {
			if (in_group == 0) {
				/* Let a waiting API write take the lock first (it tries every 100 µs), for up to 5 ms.
				 */
				for (int i = 0; i < 50 && rf_click_log_should_yield(writer.log); i++) {
					struct timespec pause = {0, 100000};
					nanosleep(&pause, NULL);
				}
				ok = rf_click_log_begin(writer.log, &err) == RF_OK;
				group = take;
			} else {
				last->next = take;
			}
			/* In batches: the store inserts many rows per statement. */
			const rf_click *rows[64];
			size_t nrows = 0;
			for (rf_click_job *j = take; ok && j; j = j->next) {
				rows[nrows++] = &j->click;
				if (nrows == sizeof rows / sizeof rows[0] || !j->next) {
					ok = rf_store_clicks_insert(rf_click_log_store(writer.log), rows, nrows,
								    &err) == RF_OK;
					nrows = 0;
				}
			}
			last = take_last;
			in_group += taken;
		}
		if (in_group && (disk_free || step_aside || in_group >= MAX_GROUP || stopping)) {
			writer.last_group = in_group;
			commit_group(group, last, ok, &err);
			group = last = NULL;
			in_group = 0;
			if (rf_click_log_settle(writer.log, &err) != RF_OK)
				fprintf(stderr, "refd: %s\n", err.message);
		}
		if (stopping && !in_group && !more)
			break;
	}
	return NULL;
}

rf_status rf_clicks_start(const char *location, long delay_us, rf_err *err)
{
	if (writer.running)
		return RF_OK;
	writer.delay_us = delay_us;
	if (rf_click_log_open(location, &writer.log, err) != RF_OK)
		return err->status;
	writer.stopping = false;
	writer.writer_done = false;
	if (pthread_create(&writer.sync_thread, NULL, sync_main, NULL) != 0) {
		rf_click_log_close(writer.log);
		writer.log = NULL;
		return rf_err_set(err, RF_EIO, NULL, "cannot start the click syncer");
	}
	if (pthread_create(&writer.thread, NULL, writer_main, NULL) != 0) {
		pthread_mutex_lock(&writer.mu);
		writer.writer_done = true;
		pthread_cond_signal(&writer.sync_cv);
		pthread_mutex_unlock(&writer.mu);
		pthread_join(writer.sync_thread, NULL);
		rf_click_log_close(writer.log);
		writer.log = NULL;
		return rf_err_set(err, RF_EIO, NULL, "cannot start the click writer");
	}
	writer.running = true;
	if (pthread_create(&writer.maint_thread, NULL, maint_main, NULL) != 0) {
		writer.maint_thread = 0;
		rf_clicks_stop();
		return rf_err_set(err, RF_EIO, NULL, "cannot start the checkpoint thread");
	}
	return RF_OK;
}

bool rf_clicks_submit(rf_click_job *job)
{
	job->next = NULL;
	pthread_mutex_lock(&writer.mu);
	bool ok = writer.running && !writer.stopping;
	if (ok) {
		if (writer.tail)
			writer.tail->next = job;
		else
			writer.head = job;
		writer.tail = job;
		writer.queued++;
		/* A writer with clicks in hand is woken by the syncer; otherwise by the first click, or once a group
		 * it waits for is complete, or by a batch large enough to insert while the disk works. */
		bool wake = writer.waiting_for ? writer.queued >= writer.waiting_for : writer.writer_idle;
		if (wake || writer.queued % 32 == 0)
			pthread_cond_signal(&writer.cv);
	}
	pthread_mutex_unlock(&writer.mu);
	return ok;
}

void rf_clicks_stop(void)
{
	if (!writer.running)
		return;
	pthread_mutex_lock(&writer.mu);
	writer.stopping = true;
	pthread_cond_broadcast(&writer.cv);
	pthread_cond_broadcast(&writer.maint_cv);
	pthread_mutex_unlock(&writer.mu);
	pthread_join(writer.thread, NULL);
	/* The writer has committed everything queued: the syncer flushes the last groups, answers them and ends. */
	pthread_mutex_lock(&writer.mu);
	writer.writer_done = true;
	pthread_cond_signal(&writer.sync_cv);
	pthread_mutex_unlock(&writer.mu);
	pthread_join(writer.sync_thread, NULL);
	if (writer.maint_thread)
		pthread_join(writer.maint_thread, NULL);
	writer.maint_thread = 0;
	rf_click_log_close(writer.log);
	writer.log = NULL;
	writer.running = false;
}
