/* SPDX-License-Identifier: Apache-2.0 */
/* The code table: an open-addressing hash map rebuilt whole from the store and swapped in under a lock. */
#include "codes.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/clock.h"
#include "../core/code.h"

typedef struct {
	rf_arena arena; /* every string of the table */
	rf_code_entry *entries;
	size_t n, cap;
	size_t *slots; /* index + 1 into entries, 0 for empty; a power of two */
	size_t nslots;
	char *fallback;
} table;

/* The process's one code table and its freshness, a named singleton shared by the worker threads. */
static struct {
	pthread_rwlock_t lock;
	pthread_mutex_t rebuild;
	table *current;
	atomic_long gen;         /* bumped by rf_codes_changed */
	atomic_long built_gen;   /* gen the current table was built at */
	_Atomic int64_t version; /* store links version the table was built at */
	_Atomic int64_t checked; /* when the store version was last compared */
	atomic_long heard;       /* bumped by the watcher for each change another process announced */
	atomic_long built_heard; /* heard when the current table was built */
} codes = {PTHREAD_RWLOCK_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, NULL, 0, -1, -1, 0, 0, 0};

/* The watcher: a thread on its own connection that hears the link changes other processes announce (PostgreSQL),
 * so that their links answer here at once rather than after the next version check. */
static struct {
	pthread_t thread;
	bool running;
	atomic_bool stop;
	rf_store *store;
} watch;

static uint64_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

static void table_free(table *t)
{
	if (!t)
		return;
	rf_arena_reset(&t->arena);
	free(t->entries);
	free(t->slots);
	free(t);
}

typedef struct {
	table *t;
	int failed;
} load_ctx;

static void add_entry(const rf_code_entry *e, void *arg)
{
	load_ctx *lc = arg;
	table *t = lc->t;
	if (lc->failed)
		return;
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 1024;
		rf_code_entry *ne = realloc(t->entries, cap * sizeof *ne);
		if (!ne) {
			lc->failed = 1;
			return;
		}
		t->entries = ne;
		t->cap = cap;
	}
	rf_code_entry *d = &t->entries[t->n];
	*d = *e;
	d->code_folded = rf_arena_strdup(&t->arena, e->code_folded);
	d->link_id = rf_arena_strdup(&t->arena, e->link_id);
	d->program_id = rf_arena_strdup(&t->arena, e->program_id);
	d->partner_id = rf_arena_strdup(&t->arena, e->partner_id);
	d->destination_url = rf_arena_strdup(&t->arena, e->destination_url);
	if (!d->code_folded || !d->link_id || !d->program_id || !d->partner_id || !d->destination_url) {
		lc->failed = 1;
		return;
	}
	t->n++;
}

static rf_status rebuild(rf_store *s, long gen, int64_t version, rf_err *err)
{
	table *t = calloc(1, sizeof *t);
	if (!t)
		return rf_err_set(err, RF_ENOMEM, NULL, "out of memory");
	rf_arena_init(&t->arena, 0);
	load_ctx lc = {t, 0};
	rf_arena tmp;
	rf_arena_init(&tmp, 0);
	char *fallback = NULL;
	if (rf_store_code_table_load(s, add_entry, &lc, err) != RF_OK ||
	    rf_store_default_fallback(s, &fallback, &tmp, err) != RF_OK) {
		rf_arena_reset(&tmp);
		table_free(t);
		return err->status;
	}
	t->fallback = rf_arena_strdup(&t->arena, fallback);
	rf_arena_reset(&tmp);
	t->nslots = 64;
	while (t->nslots < t->n * 2)
		t->nslots *= 2;
	t->slots = calloc(t->nslots, sizeof *t->slots);
	if (lc.failed || !t->slots) {
		table_free(t);
		return rf_err_set(err, RF_ENOMEM, NULL, "out of memory building the code table");
	}
	for (size_t i = 0; i < t->n; i++) {
		size_t j = hash(t->entries[i].code_folded) & (t->nslots - 1);
		while (t->slots[j])
			j = (j + 1) & (t->nslots - 1);
		t->slots[j] = i + 1;
	}
	pthread_rwlock_wrlock(&codes.lock);
	table *old = codes.current;
	codes.current = t;
	pthread_rwlock_unlock(&codes.lock);
	atomic_store(&codes.built_gen, gen);
	atomic_store(&codes.version, version);
	table_free(old);
	return RF_OK;
}

void rf_codes_changed(void)
{
	atomic_fetch_add(&codes.gen, 1);
}

/* Rebuilds when stale. Only one thread rebuilds at a time; the others keep using the current table, unless
 * there is none yet. */
static rf_status refresh(rf_store *s, rf_err *err)
{
	long gen = atomic_load(&codes.gen), heard = atomic_load(&codes.heard);
	bool stale =
	    gen != atomic_load(&codes.built_gen) || codes.current == NULL || heard != atomic_load(&codes.built_heard);
	int64_t now = rf_clock_now_ms(), version = atomic_load(&codes.version);
	if (!stale && now - atomic_load(&codes.checked) >= 1000) {
		atomic_store(&codes.checked, now);
		int64_t v = 0;
		if (rf_store_links_version(s, &v, err) != RF_OK)
			return err->status;
		stale = v != version;
		version = v;
	}
	if (!stale)
		return RF_OK;
	/* A change made in this process must be visible to the next request (a link just created answers at once),
	 * so then this thread waits for a rebuild under way. A change seen only through the store's version (another
	 * process) may be served from the current table for the moment a rebuild takes. */
	bool local = gen != atomic_load(&codes.built_gen) || codes.current == NULL;
	if (local) {
		pthread_mutex_lock(&codes.rebuild);
	} else if (pthread_mutex_trylock(&codes.rebuild) != 0) {
		return RF_OK;
	}
	rf_status rc = RF_OK;
	gen = atomic_load(&codes.gen);
	heard = atomic_load(&codes.heard);
	if (gen != atomic_load(&codes.built_gen) || codes.current == NULL || version != atomic_load(&codes.version) ||
	    heard != atomic_load(&codes.built_heard)) {
		/* Read the version before the rows: a change committed in between triggers another rebuild. */
		rc = rf_store_links_version(s, &version, err);
		if (rc == RF_OK)
			rc = rebuild(s, gen, version, err);
		if (rc == RF_OK)
			atomic_store(&codes.built_heard, heard);
	}
	pthread_mutex_unlock(&codes.rebuild);
	return rc;
}

rf_status rf_codes_lookup(rf_store *s, const char *code, rf_arena *a, rf_code_entry *out, bool *found, char **fallback,
			  rf_err *err)
{
	*found = false;
	*fallback = NULL;
	if (refresh(s, err) != RF_OK)
		return err->status;
	char folded[80];
	rf_code_fold(code, folded, sizeof folded);
	pthread_rwlock_rdlock(&codes.lock);
	table *t = codes.current;
	if (t) {
		size_t j = hash(folded) & (t->nslots - 1);
		while (t->slots[j]) {
			const rf_code_entry *e = &t->entries[t->slots[j] - 1];
			if (strcmp(e->code_folded, folded) == 0) {
				*out = *e;
				out->code_folded = rf_arena_strdup(a, e->code_folded);
				out->link_id = rf_arena_strdup(a, e->link_id);
				out->program_id = rf_arena_strdup(a, e->program_id);
				out->partner_id = rf_arena_strdup(a, e->partner_id);
				out->destination_url = rf_arena_strdup(a, e->destination_url);
				*found = true;
				break;
			}
			j = (j + 1) & (t->nslots - 1);
		}
		if (!*found)
			*fallback = rf_arena_strdup(a, t->fallback);
	}
	pthread_rwlock_unlock(&codes.lock);
	return RF_OK;
}

void rf_codes_free(void)
{
	pthread_rwlock_wrlock(&codes.lock);
	table_free(codes.current);
	codes.current = NULL;
	atomic_store(&codes.built_gen, -1);
	pthread_rwlock_unlock(&codes.lock);
}

static void *watch_run(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "refd-codes");
	while (!atomic_load(&watch.stop)) {
		int got = rf_store_links_wait(watch.store, 250);
		/* A failure may have lost notices: rebuild to be sure, then wait a little before asking again. */
		if (got != 0)
			atomic_fetch_add(&codes.heard, 1);
		for (int i = 0; got < 0 && i < 10 && !atomic_load(&watch.stop); i++) {
			struct timespec ts = {0, 100000000L};
			nanosleep(&ts, NULL);
		}
	}
	return NULL;
}

rf_status rf_codes_watch_start(const char *location, rf_err *err)
{
	if (watch.running)
		return RF_OK;
	rf_store *s = NULL;
	if (rf_store_open(location, &s, err) != RF_OK)
		return err->status;
	if (!rf_store_links_announced(s)) {
		rf_store_close(s);
		return RF_OK;
	}
	watch.store = s;
	atomic_store(&watch.stop, false);
	/* Listen before the first table is built, so that no change falls between the two. */
	rf_store_links_wait(s, 0);
	if (pthread_create(&watch.thread, NULL, watch_run, NULL) != 0) {
		rf_store_close(s);
		watch.store = NULL;
		return rf_err_set(err, RF_EIO, NULL, "cannot start the code table's watcher");
	}
	watch.running = true;
	return RF_OK;
}

void rf_codes_watch_stop(void)
{
	if (!watch.running)
		return;
	atomic_store(&watch.stop, true);
	pthread_join(watch.thread, NULL);
	watch.running = false;
	rf_store_close(watch.store);
	watch.store = NULL;
}
