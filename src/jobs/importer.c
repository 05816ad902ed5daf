/* SPDX-License-Identifier: Apache-2.0 */
/* The importer thread: waits for a job, runs it over its CSV in memory on its own connection, hands it back. */
#include "importer.h"

#include <pthread.h>
#include <string.h>

static struct {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool running, stop, winding_down;
	rf_import_job *job; /* the job waiting or running */
	rf_store *store;
} I = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

/* Asked between the import's transactions. */
static bool stop_asked(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&I.mu);
	bool stop = I.stop || I.winding_down;
	pthread_mutex_unlock(&I.mu);
	return stop;
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
		rf_csv_mem m = {job->csv, job->len, 0};
		rf_import_options o = job->opts;
		o.stop = stop_asked;
		o.stop_arg = NULL;
		o.total_bytes = (int64_t)job->len;
		job->status = rf_import_run(I.store, rf_csv_mem_read, &m, &o, &job->report);
		pthread_mutex_lock(&I.mu);
		I.job = NULL;
		pthread_mutex_unlock(&I.mu);
		/* The job is the submitter's from here on: nothing of it is touched after this call. */
		job->done(job);
		pthread_mutex_lock(&I.mu);
	}
	pthread_mutex_unlock(&I.mu);
	return NULL;
}

rf_status rf_importer_start(const char *location, rf_err *err)
{
	if (rf_store_open(location, &I.store, err) != RF_OK)
		return err->status;
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
