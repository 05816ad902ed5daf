/* SPDX-License-Identifier: Apache-2.0 */
/* The jobs thread: wakes every interval (or when kicked), approves the commissions whose holding period has
 * ended, each batch in one transaction (several processes sharing a database share the work), and logs what it did. */
#include "jobs.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../core/arena.h"
#include "../core/clock.h"
#include "../core/text.h"
#include "../svc/commissions.h"
#include "../svc/events.h"

static struct {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool running, stop, kicked;
	long interval_ms;
	int retention_days;
	rf_store *store;
} J = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

typedef struct {
	int64_t now;
	int max, approved;
} approve_job;

static rf_status approve_step(rf_store *s, void *arg, rf_err *err)
{
	approve_job *j = arg;
	rf_arena a;
	rf_arena_init(&a, 64u << 20);
	rf_svc sv = {s, &a, "system:holding", NULL};
	rf_status rc = rf_svc_commissions_approve_due(&sv, j->now, j->max, &j->approved, err);
	rf_arena_reset(&a);
	return rc;
}

rf_status rf_jobs_approve_due(rf_store *s, int64_t now, int max, int *approved, rf_err *err)
{
	approve_job j = {now, max, 0};
	rf_status rc = rf_store_tx(s, approve_step, &j, err);
	*approved = rc == RF_OK ? j.approved : 0;
	return rc;
}

typedef struct {
	int64_t now;
	int max, done;
	int64_t removed;
	int keep_days;
} events_job;

static rf_status expire_step(rf_store *s, void *arg, rf_err *err)
{
	events_job *j = arg;
	rf_arena a;
	rf_arena_init(&a, 16u << 20);
	rf_svc sv = {s, &a, "system:deals", NULL};
	rf_status rc = rf_svc_events_expire_deals(&sv, j->now, j->max, &j->done, err);
	rf_arena_reset(&a);
	return rc;
}

static rf_status purge_step(rf_store *s, void *arg, rf_err *err)
{
	events_job *j = arg;
	rf_arena a;
	rf_arena_init(&a, 0);
	rf_svc sv = {s, &a, "system:retention", NULL};
	rf_status rc = rf_svc_events_purge(&sv, j->now, j->keep_days, j->max, &j->removed, err);
	rf_arena_reset(&a);
	return rc;
}

static void log_line(const char *level, const char *msg, int count, const char *detail)
{
	char ts[40], text[512];
	rf_clock_format(rf_clock_now_ms(), ts, sizeof ts);
	/* The detail is an error message, which may quote what it is about. */
	rf_json_escape(text, sizeof text, detail ? detail : "");
	printf("{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":\"%s\",\"count\":%d,\"detail\":\"%s\"}\n", ts, level, msg,
	       count, text);
	fflush(stdout);
}

static void *run(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "refd-jobs");
	pthread_mutex_lock(&J.mu);
	while (!J.stop) {
		pthread_mutex_unlock(&J.mu);
		for (;;) {
			rf_err err = {0};
			int approved = 0;
			if (rf_jobs_approve_due(J.store, rf_clock_now_ms(), 500, &approved, &err) != RF_OK) {
				log_line("error", "holding-period job failed", 0, err.message);
				break;
			}
			if (approved)
				log_line("info", "commissions approved after their holding period", approved, NULL);
			if (approved < 500)
				break;
		}
		for (;;) {
			rf_err err = {0};
			events_job j = {.now = rf_clock_now_ms(), .max = 200};
			if (rf_store_tx(J.store, expire_step, &j, &err) != RF_OK) {
				log_line("error", "deal expiry job failed", 0, err.message);
				break;
			}
			if (j.done)
				log_line("info", "deal registrations expired", j.done, NULL);
			if (j.done < j.max)
				break;
		}
		for (;;) {
			rf_err err = {0};
			events_job j = {.now = rf_clock_now_ms(), .max = 1000, .keep_days = J.retention_days};
			if (rf_store_tx(J.store, purge_step, &j, &err) != RF_OK) {
				log_line("error", "event retention job failed", 0, err.message);
				break;
			}
			if (j.removed)
				log_line("info", "events removed after their keeping time", (int)j.removed, NULL);
			if (j.removed < j.max)
				break;
		}
		pthread_mutex_lock(&J.mu);
		if (J.stop)
			break;
		if (!J.kicked) {
			struct timespec until;
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += J.interval_ms / 1000;
			until.tv_nsec += (J.interval_ms % 1000) * 1000000L;
			if (until.tv_nsec >= 1000000000L) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&J.cv, &J.mu, &until);
		}
		J.kicked = false;
	}
	pthread_mutex_unlock(&J.mu);
	return NULL;
}

rf_status rf_jobs_start(const char *location, const rf_jobs_config *cfg, rf_err *err)
{
	if (rf_store_open(location, &J.store, err) != RF_OK)
		return err->status;
	J.interval_ms = cfg->interval_ms;
	J.retention_days = cfg->event_retention_days > 0 ? cfg->event_retention_days : 30;
	J.stop = J.kicked = false;
	if (pthread_create(&J.thread, NULL, run, NULL) != 0) {
		rf_store_close(J.store);
		J.store = NULL;
		return rf_err_set(err, RF_EIO, NULL, "cannot start the jobs thread");
	}
	J.running = true;
	return RF_OK;
}

void rf_jobs_kick(void)
{
	pthread_mutex_lock(&J.mu);
	J.kicked = true;
	pthread_cond_signal(&J.cv);
	pthread_mutex_unlock(&J.mu);
}

void rf_jobs_stop(void)
{
	if (!J.running)
		return;
	pthread_mutex_lock(&J.mu);
	J.stop = true;
	pthread_cond_signal(&J.cv);
	pthread_mutex_unlock(&J.mu);
	pthread_join(J.thread, NULL);
	J.running = false;
	rf_store_close(J.store);
	J.store = NULL;
}
