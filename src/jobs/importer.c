/* SPDX-License-Identifier: Apache-2.0 */
/* The importer thread: waits for a job, runs it over its file on its own connection while writing the import's
 * record as it goes, answers its submitter once, and frees it. */
#include "importer.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../core/clock.h"

/* Problems listed in the record while the import runs (it is written again and again) and once it has ended. */
#define RUNNING_ERRORS 100
#define FINAL_ERRORS 10000
/* The record is written again after a transaction at most this often. */
#define PROGRESS_MS 500

static struct {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool running, stop, winding_down;
	rf_import_job *job; /* the job waiting or running */
	rf_store *store;
} I = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

/* The running job, as its callbacks see it. */
typedef struct {
	rf_import_job *job;
	bool answered;   /* the submitter has its answer */
	bool recorded;   /* the record exists */
	int64_t last_ms; /* when it was last written */
} running;

rf_import_job *rf_import_job_new(void)
{
	rf_import_job *job = calloc(1, sizeof *job);
	if (job)
		rf_arena_init(&job->a, 0);
	return job;
}

void rf_import_job_free(rf_import_job *job)
{
	if (!job)
		return;
	if (job->file)
		fclose(job->file);
	free(job->csv);
	rf_arena_reset(&job->a);
	free(job);
}

json_t *rf_import_job_json(const char *id, const rf_import_report *rep, size_t max_errors)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", json_string(id));
	json_t *r = rf_import_report_json(rep, max_errors);
	json_object_update(o, r);
	json_decref(r);
	return o;
}

/* Writes the import's record; a failure is logged, and the import goes on (its rows matter more). */
static void record(running *rn, const rf_import_report *rep, size_t max_errors)
{
	json_t *j = rf_import_job_json(rn->job->id, rep, max_errors);
	char *text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	int64_t now = rf_clock_now_ms();
	rf_import_record r = {rn->job->id, (char *)rep->program_id,     (char *)(rep->status ? rep->status : "failed"),
			      text,        (char *)rn->job->opts.actor, rep->started_at,
			      now};
	rf_err err = {0};
	if (!text || rf_store_import_put(I.store, &r, &err) != RF_OK)
		fprintf(stderr, "refd: import %s: cannot write its record: %s\n", rn->job->id,
			text ? err.message : "out of memory");
	else
		rn->recorded = true;
	free(text);
	rf_store_idle(I.store);
	rn->last_ms = now;
}

static rf_status on_started(void *arg, const rf_import_report *rep, rf_err *err)
{
	running *rn = arg;
	record(rn, rep, RUNNING_ERRORS);
	if (!rn->recorded)
		return rf_err_set(err, RF_EUNAVAIL, NULL, "the import's record cannot be written");
	rn->answered = true;
	rn->job->answer(rn->job, RF_OK, rep);
	return RF_OK;
}

static void on_progress(void *arg, const rf_import_report *rep)
{
	running *rn = arg;
	if (rf_clock_now_ms() - rn->last_ms >= PROGRESS_MS)
		record(rn, rep, RUNNING_ERRORS);
}

/* Asked between the import's transactions. */
static bool stop_asked(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&I.mu);
	bool stop = I.stop || I.winding_down;
	pthread_mutex_unlock(&I.mu);
	return stop;
}

/* Runs the job's rows; the caller then frees the slot and finishes it (finish_job). */
static rf_status run_job(rf_import_job *job, running *rn, rf_import_report *rep)
{
	*rn = (running){job, false, false, 0};
	rf_csv_mem m = {job->csv, job->len, 0};
	rf_import_options o = job->opts;
	o.stop = stop_asked;
	o.stop_arg = NULL;
	o.progress = on_progress;
	o.progress_arg = rn;
	o.started = on_started;
	o.total_bytes = (int64_t)job->len;
	o.max_errors = FINAL_ERRORS;
	return job->file ? rf_import_run(I.store, rf_import_file_read, job->file, &o, rep)
			 : rf_import_run(I.store, rf_csv_mem_read, &m, &o, rep);
}

/* Writes the job's final record and answers it if it was never answered. Called once the slot is free, so that a
 * client that reads the import as ended may start the next one at once. */
static void finish_job(running *rn, rf_status st, rf_import_report *rep)
{
	if (rn->recorded)
		record(rn, rep, FINAL_ERRORS);
	if (!rn->answered)
		rn->job->answer(rn->job, st == RF_OK ? RF_EIO : st, rep);
	rf_import_report_free(rep);
}

json_t *rf_import_record_json(const rf_import_record *r, int64_t now)
{
	json_t *j = json_loads(r->report, 0, NULL);
	if (!j || strcmp(r->status, "running") != 0 || now - r->updated_at <= RF_IMPORT_STALE_MS)
		return j;
	char last[40];
	rf_clock_format(r->updated_at, last, sizeof last);
	json_object_set_new(j, "status", json_string("failed"));
	json_object_set_new(j, "finished_at", json_string(last));
	char message[400];
	snprintf(message, sizeof message,
		 "the import was stopped without an end: the refd running it ended (killed, or its machine stopped) "
		 "and its record was last written at %s; what it wrote stays, and the same file run again finishes it",
		 last);
	json_object_set_new(
	    j, "error", json_pack("{s:s, s:s, s:n}", "type", rf_status_type(RF_EUNAVAIL), "message", message, "field"));
	return j;
}

rf_status rf_importer_fail_stale(rf_store *s, int64_t now, rf_err *err)
{
	for (;;) {
		rf_arena a;
		rf_arena_init(&a, 0);
		rf_import_record *items = NULL;
		size_t n = 0;
		rf_status rc = rf_store_import_stale(s, now - RF_IMPORT_STALE_MS, 100, &items, &n, &a, err);
		size_t settled = 0;
		for (size_t i = 0; rc == RF_OK && i < n; i++) {
			json_t *j = rf_import_record_json(&items[i], now);
			char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
			json_decref(j);
			rf_import_record r = items[i];
			r.status = "failed";
			r.report = text;
			r.updated_at = now;
			rf_err e = {0};
			if (!text)
				rc = rf_err_set(err, RF_ENOMEM, NULL, "out of memory");
			else if (rf_store_import_settle(s, &r, items[i].updated_at, &e) == RF_OK)
				settled++;
			else if (e.status != RF_ECONFLICT)
				rc = rf_err_set(err, e.status, NULL, "%s", e.message);
			free(text);
		}
		rf_arena_reset(&a);
		/* A full page that settled nothing (each written meanwhile) would come back: stop then. */
		if (rc != RF_OK || n < 100 || !settled)
			return rc;
	}
}

static void *run(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "refd-import");
	pthread_mutex_lock(&I.mu);
	for (;;) {
		while (!I.job && !I.stop)
			pthread_cond_wait(&I.cv, &I.mu);
		if (!I.job)
			break;
		rf_import_job *job = I.job;
		pthread_mutex_unlock(&I.mu);
		running rn;
		rf_import_report rep;
		rf_status st = run_job(job, &rn, &rep);
		pthread_mutex_lock(&I.mu);
		I.job = NULL;
		pthread_mutex_unlock(&I.mu);
		finish_job(&rn, st, &rep);
		rf_import_job_free(job);
		pthread_mutex_lock(&I.mu);
	}
	pthread_mutex_unlock(&I.mu);
	return NULL;
}

rf_status rf_importer_start(const char *location, rf_err *err)
{
	if (rf_store_open(location, &I.store, err) != RF_OK)
		return err->status;
	/* An import left running by a refd that was killed is over: its record says so from now on. A failure here
	 * is logged, and GET gives those records as failed all the same. */
	rf_err e = {0};
	if (rf_importer_fail_stale(I.store, rf_clock_now_ms(), &e) != RF_OK)
		fprintf(stderr, "refd: cannot mark the imports left running as failed: %s\n", e.message);
	rf_store_idle(I.store);
	I.stop = I.winding_down = false;
	I.job = NULL;
	if (pthread_create(&I.thread, NULL, run, NULL) != 0) {
		rf_store_close(I.store);
		I.store = NULL;
		return rf_err_set(err, RF_EIO, NULL, "cannot start the importer thread");
	}
	I.running = true;
	return RF_OK;
}

bool rf_importer_submit(rf_import_job *job)
{
	pthread_mutex_lock(&I.mu);
	bool taken = I.running && !I.stop && !I.winding_down && !I.job;
	if (taken) {
		I.job = job;
		pthread_cond_signal(&I.cv);
	}
	pthread_mutex_unlock(&I.mu);
	return taken;
}

void rf_importer_wind_down(void)
{
	pthread_mutex_lock(&I.mu);
	I.winding_down = true;
	pthread_mutex_unlock(&I.mu);
}

void rf_importer_stop(void)
{
	if (!I.running)
		return;
	pthread_mutex_lock(&I.mu);
	I.stop = true;
	pthread_cond_signal(&I.cv);
	pthread_mutex_unlock(&I.mu);
	pthread_join(I.thread, NULL);
	I.running = false;
	rf_store_close(I.store);
	I.store = NULL;
}
