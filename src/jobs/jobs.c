/* SPDX-License-Identifier: Apache-2.0 */
/* The jobs thread: wakes every interval (or when kicked), approves the commissions whose holding period has
 * ended, writes deal.expired, removes old events, composes the daily mail digests and deal reminders, each batch in
 * one transaction (several processes sharing a database share the work), and logs what it did. */
#include "jobs.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../core/arena.h"
#include "../core/clock.h"
#include "../core/text.h"
#include "../integrations/mail.h"
#include "../svc/commissions.h"
#include "../svc/events.h"
#include "../svc/mail.h"

static struct {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool running, stop, kicked;
	bool mail_ready; /* the server's public address is final: mail may be composed */
	long interval_ms;
	int retention_days;
	const rf_app_config *app;
	int64_t digests_done_day; /* the digest day whose digests this process finished (-1: none yet) */
	rf_store *store;
} J = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER, .digests_done_day = -1};

typedef struct {
	int64_t now;
	int max, approved;
} approve_job;

static rf_status approve_step(rf_store *s, void *arg, rf_err *err)
{
	approve_job *j = arg;
	rf_arena a;
	rf_arena_init(&a, 64u << 20);
	rf_svc sv = {.store = s, .a = &a, .actor = "system:holding", .cfg = J.app};
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
	rf_svc sv = {.store = s, .a = &a, .actor = "system:deals", .cfg = J.app};
	rf_status rc = rf_svc_events_expire_deals(&sv, j->now, j->max, &j->done, err);
	rf_arena_reset(&a);
	return rc;
}

static rf_status purge_step(rf_store *s, void *arg, rf_err *err)
{
	events_job *j = arg;
	rf_arena a;
	rf_arena_init(&a, 0);
	rf_svc sv = {.store = s, .a = &a, .actor = "system:retention", .cfg = J.app};
	rf_status rc = rf_svc_events_purge(&sv, j->now, j->keep_days, j->max, &j->removed, err);
	rf_arena_reset(&a);
	return rc;
}

typedef struct {
	const char *which; /* "reminders", "admins", "partners", "purge" */
	int64_t now;
	int max, found, queued;
	int64_t removed;
} mail_job;

static rf_status mail_step(rf_store *s, void *arg, rf_err *err)
{
	mail_job *j = arg;
	rf_arena a;
	rf_arena_init(&a, 64u << 20);
	rf_svc sv = {.store = s, .a = &a, .actor = "system:mail", .cfg = J.app};
	rf_status rc;
	j->found = j->queued = 0;
	j->removed = 0;
	if (strcmp(j->which, "reminders") == 0)
		rc = rf_svc_mail_deal_reminders(&sv, j->now, j->max, &j->found, &j->queued, err);
	else if (strcmp(j->which, "admins") == 0)
		rc = rf_svc_mail_admin_digests(&sv, j->now, J.app->digest_hour, &j->queued, err);
	else if (strcmp(j->which, "partners") == 0)
		rc = rf_svc_mail_partner_digests(&sv, j->now, J.app->digest_hour, j->max, &j->found, &j->queued, err);
	else
		rc = rf_svc_mail_purge(&sv, j->now, J.retention_days, j->max, &j->removed, err);
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

/* Runs one kind of mail work in batches, each in its transaction, until a batch finds less than a full one; returns
 * false when a batch failed. */
static bool mail_batches(const char *which, int max, const char *what)
{
	for (;;) {
		rf_err err = {0};
		mail_job j = {.which = which, .now = rf_clock_now_ms(), .max = max};
		if (rf_store_tx(J.store, mail_step, &j, &err) != RF_OK) {
			log_line("error", what, 0, err.message);
			return false;
		}
		if (j.queued) {
			log_line("info", what, j.queued, NULL);
			rf_mail_kick();
		}
		if (j.removed)
			log_line("info", what, (int)j.removed, NULL);
		if (j.found < max && j.removed < max)
			return true;
	}
}

/* The mail the jobs compose: deal reminders every time, the day's digests until they are all done, old messages
 * removed. Only once the server's public address is known, as the messages link to it. */
static void mail_jobs(void)
{
	pthread_mutex_lock(&J.mu);
	bool ready = J.mail_ready && J.app;
	pthread_mutex_unlock(&J.mu);
	if (!ready)
		return;
	mail_batches("reminders", 100, "deal reminders composed");
	int64_t now = rf_clock_now_ms(), day = rf_svc_mail_digest_day(now, J.app->digest_hour);
	if (day != J.digests_done_day && mail_batches("admins", 1, "admin digests composed") &&
	    mail_batches("partners", 100, "commission digests composed")) {
		/* Once a day: the day's digests are all composed (tests wait for this line after moving the clock). */
		J.digests_done_day = day;
		char date[40];
		rf_clock_format(day * 86400000LL, date, sizeof date);
		date[10] = '\0';
		log_line("info", "daily mail digests done", 0, date);
	}
	mail_batches("purge", 1000, "mail removed after its keeping time");
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
		mail_jobs();
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
	J.app = cfg->app;
	J.digests_done_day = -1;
	J.stop = J.kicked = J.mail_ready = false;
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

void rf_jobs_mail_ready(void)
{
	pthread_mutex_lock(&J.mu);
	J.mail_ready = true;
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
