/* SPDX-License-Identifier: Apache-2.0 */
/* The import of a CSV file: the header resolved into columns, then the rows read as a stream into short
 * transactions (at most batch_rows rows, and no new row once one has run batch_ms), each row behind a savepoint so
 * that a refused row leaves nothing behind while the others go on. A transaction that lost a race runs again with
 * the same rows. The rows a file repeats (the same email, the same invoice) are recognised by their keys, so a dry
 * run, which rolls every transaction back, reports what the real run would do. */
#include "imports.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/clock.h"
#include "../svc/batch.h"
#include "../svc/imports.h"

#define BATCH_ROWS_DEFAULT 2000
#define BATCH_MS_DEFAULT 100
#define MAX_ERRORS_DEFAULT 10000
#define ATTEMPTS 5

/* ---- the keys of the rows already imported (or, in a dry run, that would be) ---- */

typedef struct {
	uint64_t hash; /* 0 for an empty slot */
	uint32_t line;
	uint32_t content;
} key_slot;

typedef struct {
	key_slot *slots;
	size_t cap, n;
	unsigned char secret[crypto_shorthash_KEYBYTES];
	/* The keys added by the transaction running now, taken out again when it must run again. */
	uint64_t *fresh;
	size_t nfresh, capfresh;
} key_table;

static uint64_t key_hash(const key_table *t, const char *key)
{
	unsigned char out[crypto_shorthash_BYTES];
	crypto_shorthash(out, (const unsigned char *)key, strlen(key), t->secret);
	uint64_t h;
	memcpy(&h, out, sizeof h);
	return h ? h : 1;
}

static void place(key_slot *slots, size_t cap, key_slot k)
{
	size_t j = (size_t)(k.hash & (cap - 1));
	while (slots[j].hash)
		j = (j + 1) & (cap - 1);
	slots[j] = k;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Rebuilds the table into cap slots, leaving out the fresh keys when `drop`. */
static bool rebuild(key_table *t, size_t cap, bool drop)
{
	key_slot *slots = calloc(cap, sizeof *slots);
	if (!slots)
		return false;
	if (drop)
		qsort(t->fresh, t->nfresh, sizeof *t->fresh, cmp_u64);
	size_t n = 0;
	for (size_t i = 0; i < t->cap; i++) {
		if (!t->slots[i].hash)
			continue;
		if (drop && bsearch(&t->slots[i].hash, t->fresh, t->nfresh, sizeof *t->fresh, cmp_u64))
			continue;
		place(slots, cap, t->slots[i]);
		n++;
	}
	free(t->slots);
	t->slots = slots;
	t->cap = cap;
	t->n = n;
	return true;
}

static key_slot *keys_find(const key_table *t, uint64_t h)
{
	if (!t->cap)
		return NULL;
	for (size_t j = (size_t)(h & (t->cap - 1));; j = (j + 1) & (t->cap - 1)) {
		if (!t->slots[j].hash)
			return NULL;
		if (t->slots[j].hash == h)
			return &t->slots[j];
	}
}

static bool keys_add(key_table *t, uint64_t h, int64_t line, uint64_t content)
{
	if (keys_find(t, h))
		return true;
	if ((t->n + 1) * 2 > t->cap && !rebuild(t, t->cap ? t->cap * 2 : 1024, false))
		return false;
	if (t->nfresh == t->capfresh) {
		size_t cap = t->capfresh ? t->capfresh * 2 : 256;
		uint64_t *f = realloc(t->fresh, cap * sizeof *f);
		if (!f)
			return false;
		t->fresh = f;
		t->capfresh = cap;
	}
	place(t->slots, t->cap,
	      (key_slot){h, line > UINT32_MAX ? UINT32_MAX : (uint32_t)line, (uint32_t)(content ^ content >> 32)});
	t->fresh[t->nfresh++] = h;
	t->n++;
	return true;
}

/* Forgets the keys of the transaction that failed (rare: a lost race), so that it runs again as it first did. */
static bool keys_undo(key_table *t)
{
	bool ok = !t->nfresh || rebuild(t, t->cap, true);
	t->nfresh = 0;
	return ok;
}

static void keys_keep(key_table *t)
{
	t->nfresh = 0;
}

/* ---- the report ---- */

static void report_error(rf_import_report *rep, size_t max, int64_t line, int field, int column, const char *message)
{
	rep->errors_total++;
	if (rep->nerrors >= max)
		return;
	if (rep->nerrors % 64 == 0) {
		rf_import_error *grown = realloc(rep->errors, (rep->nerrors + 64) * sizeof *grown);
		if (!grown)
			return;
		rep->errors = grown;
	}
	rf_import_error *e = &rep->errors[rep->nerrors++];
	memset(e, 0, sizeof *e);
	e->line = line;
	if (column < 0 && field >= 0 && field < RF_IF_COUNT)
		column = rep->col[field] + 1;
	if (column > 0 && (size_t)column <= rep->ncols) {
		e->column = column;
		snprintf(e->header, sizeof e->header, "%s", rep->header[column - 1]);
		if (field < 0)
			for (int f = 0; f < RF_IF_COUNT; f++)
				if (rep->col[f] == column - 1)
					field = f;
	}
	if (field >= 0 && field < RF_IF_COUNT)
		snprintf(e->field, sizeof e->field, "%s", rf_import_field_name((rf_import_field)field));
	snprintf(e->message, sizeof e->message, "%s", message);
}

void rf_import_report_free(rf_import_report *rep)
{
	free(rep->errors);
	for (size_t i = 0; i < rep->ncols; i++)
		free(rep->header[i]);
	free(rep->header);
	free(rep->ignored);
	memset(rep, 0, sizeof *rep);
}

/* A JSON string of s; bytes that do not form UTF-8 (a message that quotes a cell cut inside a character) become
 * '?', so that the report can always be written. */
static json_t *text_value(const char *s)
{
	json_t *v = json_string(s);
	if (v)
		return v;
	char clean[300];
	size_t n = 0;
	for (; s[n] && n + 1 < sizeof clean; n++)
		clean[n] = (unsigned char)s[n] < 0x80 ? s[n] : '?';
	clean[n] = '\0';
	return json_string(clean);
}

static json_t *time_or_null(int64_t ms)
{
	if (!ms)
		return json_null();
	char buf[40];
	rf_clock_format(ms, buf, sizeof buf);
	return json_string(buf);
}

json_t *rf_import_report_json(const rf_import_report *rep, size_t max_errors)
{
	json_t *o = json_object();
	json_object_set_new(o, "object", json_string("import"));
	json_object_set_new(o, "type", json_string(rf_import_type_name(rep->type)));
	json_object_set_new(o, "program_id", rep->program_id[0] ? json_string(rep->program_id) : json_null());
	json_object_set_new(o, "map", json_string(rep->map ? rep->map : "none"));
	json_object_set_new(o, "dry_run", json_boolean(rep->dry_run));
	json_object_set_new(o, "status", json_string(rep->status ? rep->status : "failed"));
	json_object_set_new(o, "rows", json_integer(rep->rows));
	json_object_set_new(o, "created", json_integer(rep->created));
	json_object_set_new(o, "existing", json_integer(rep->existing));
	json_object_set_new(o, "skipped", json_integer(rep->skipped));
	json_object_set_new(o, "failed", json_integer(rep->failed));
	json_object_set_new(o, "bytes", json_integer(rep->bytes));
	json_object_set_new(o, "transactions", json_integer(rep->batches));
	json_t *cols = json_object();
	for (int f = 0; f < RF_IF_COUNT; f++)
		if (rep->col[f] >= 0 && (size_t)rep->col[f] < rep->ncols)
			json_object_set_new(cols, rf_import_field_name((rf_import_field)f),
					    text_value(rep->header[rep->col[f]]));
	json_object_set_new(o, "columns", cols);
	json_t *ign = json_array();
	for (size_t i = 0; i < rep->nignored; i++)
		json_array_append_new(ign, text_value(rep->header[rep->ignored[i]]));
	json_object_set_new(o, "ignored_columns", ign);
	json_t *errs = json_array();
	for (size_t i = 0; i < rep->nerrors && i < max_errors; i++) {
		const rf_import_error *e = &rep->errors[i];
		json_array_append_new(errs, json_pack("{s:I, s:o, s:o, s:o, s:o}", "line", (json_int_t)e->line,
						      "column", e->column ? json_integer(e->column) : json_null(),
						      "field", e->field[0] ? json_string(e->field) : json_null(),
						      "header", e->header[0] ? text_value(e->header) : json_null(),
						      "message", text_value(e->message)));
	}
	json_object_set_new(o, "errors", errs);
	json_object_set_new(o, "errors_total", json_integer(rep->errors_total));
	json_object_set_new(
	    o, "errors_truncated",
	    json_boolean(rep->errors_total > (int64_t)(rep->nerrors < max_errors ? rep->nerrors : max_errors)));
	/* Why a run stopped short; a running or completed one has no error (a row's refusals are in errors). */
	bool ended_short = rep->status && strcmp(rep->status, "running") != 0 && strcmp(rep->status, "completed") != 0;
	if (rep->fatal.status && ended_short)
		json_object_set_new(o, "error",
				    json_pack("{s:s, s:o, s:o}", "type", rf_status_type(rep->fatal.status), "message",
					      text_value(rep->fatal.message), "field",
					      rep->fatal.field[0] ? json_string(rep->fatal.field) : json_null()));
	json_object_set_new(o, "started_at", time_or_null(rep->started_at));
	json_object_set_new(o, "finished_at", time_or_null(rep->finished_at));
	return o;
}

long rf_import_file_read(void *arg, char *buf, size_t cap)
{
	FILE *f = arg;
	size_t n = fread(buf, 1, cap, f);
	if (n == 0 && ferror(f))
		return -1;
	return (long)n;
}

/* ---- the mapping ---- */

rf_status rf_import_mapping_parse(const char *text, rf_arena *a, rf_import_pair **pairs, size_t *n, rf_err *err)
{
	*pairs = NULL;
	*n = 0;
	json_error_t je;
	json_t *m = json_loads(text, JSON_REJECT_DUPLICATES, &je);
	if (!m || !json_is_object(m) || json_object_size(m) > 64) {
		json_decref(m);
		return rf_err_set(err, RF_EINVAL, "mapping",
				  "mapping must be a JSON object of at most 64 entries, {\"Their column\": \"email\", "
				  "\"Column to leave out\": null}");
	}
	rf_import_pair *p = rf_arena_alloc(a, sizeof *p * (json_object_size(m) + 1));
	const char *key;
	json_t *v;
	size_t i = 0;
	json_object_foreach(m, key, v)
	{
		if (!p || (!json_is_string(v) && !json_is_null(v)) || strlen(key) > 200) {
			json_decref(m);
			return rf_err_set(err, RF_EINVAL, "mapping",
					  "mapping: each column maps to a refd column name (a string) or null");
		}
		p[i].column = rf_arena_strdup(a, key);
		p[i].field = json_is_string(v) ? rf_arena_strdup(a, json_string_value(v)) : NULL;
		i++;
	}
	json_decref(m);
	*pairs = p;
	*n = i;
	return RF_OK;
}

/* ---- running it ---- */

typedef struct {
	int64_t line;
	bool bad; /* the CSV reader refused it: its problem is in err */
	rf_csv_error err;
	rf_import_row row;
} batch_row;

/* One row's fate in a transaction, kept until it commits. */
typedef struct {
	rf_import_outcome outcome;
	bool failed;
	rf_import_problems pr;
	char note[120];
} row_result;

typedef struct {
	rf_store *s;
	const rf_import_options *o;
	rf_import_report *rep;
	rf_import_ctx ic;
	rf_csv_reader *r;
	key_table keys;
	rf_arena rows_arena; /* the batch's rows: kept while its transaction may run again */
	rf_arena svc_arena;  /* what the services make: reset before every attempt */
	rf_svc_batch *batch; /* the transaction's rollups and audit entries, folded (leads), or NULL */
	batch_row *rows;
	row_result *results;
	size_t nrows, caprows;
	bool eof, read_failed;
	rf_err read_err;
} run_ctx;

/* Reads the next CSV row into the batch; false at the end of the input or on a failure (x->eof, x->read_failed). */
static bool read_row(run_ctx *x)
{
	rf_csv_row row;
	rf_csv_result res = rf_csv_next(x->r, &row);
	if (res == RF_CSV_END) {
		x->eof = true;
		return false;
	}
	if (res == RF_CSV_FAIL) {
		x->eof = x->read_failed = true;
		rf_err_set(&x->read_err, RF_EINVAL, "body", "line %lld: %s", (long long)row.err.line, row.err.message);
		return false;
	}
	if (x->nrows == x->caprows) {
		size_t cap = x->caprows ? x->caprows * 2 : 256;
		batch_row *br = realloc(x->rows, cap * sizeof *br);
		if (!br)
			goto oom;
		x->rows = br;
		row_result *rr = realloc(x->results, cap * sizeof *rr);
		if (!rr)
			goto oom;
		x->results = rr;
		x->caprows = cap;
	}
	batch_row *b = &x->rows[x->nrows];
	memset(b, 0, sizeof *b);
	b->line = row.line;
	if (res == RF_CSV_BAD) {
		b->bad = true;
		b->err = row.err;
		b->line = row.err.line;
	} else {
		for (int f = 0; f < RF_IF_COUNT; f++) {
			int c = x->rep->col[f];
			if (c >= 0 && (size_t)c < row.n &&
			    !(b->row.v[f] = rf_arena_strndup(&x->rows_arena, row.f[c], row.len[c])))
				goto oom;
		}
	}
	x->nrows++;
	x->rep->rows++;
	return true;
oom:
	x->eof = x->read_failed = true;
	rf_err_set(&x->read_err, RF_ENOMEM, NULL, "out of memory reading the file");
	return false;
}

/* One row in the open transaction. RF_OK when the row's fate is decided (written, found, refused); another status
 * when the transaction cannot go on. */
static rf_status run_row(run_ctx *x, size_t i, rf_err *err)
{
	batch_row *b = &x->rows[i];
	row_result *res = &x->results[i];
	memset(res, 0, sizeof *res);
	if (b->bad) {
		res->failed = true;
		return RF_OK;
	}
	/* A row the file had before (its email, its invoice) is that object again: nothing to write. */
	char keys[RF_IMPORT_KEYS][RF_IMPORT_KEY_MAX];
	uint64_t content = 0;
	size_t nk = rf_import_row_keys(&x->ic, &b->row, keys, &content);
	uint64_t h[RF_IMPORT_KEYS];
	for (size_t k = 0; k < nk; k++) {
		h[k] = key_hash(&x->keys, keys[k]);
		const key_slot *seen = keys_find(&x->keys, h[k]);
		if (!seen)
			continue;
		if (content && seen->content != (uint32_t)(content ^ content >> 32)) {
			res->failed = true;
			res->pr.n = 1;
			res->pr.p[0].field = RF_IF_EXTERNAL_ID;
			snprintf(res->pr.p[0].message, sizeof res->pr.p[0].message,
				 "external_id %.100s is on line %u with another amount or currency", keys[k] + 2,
				 (unsigned)seen->line);
			return RF_OK;
		}
		res->outcome = RF_IMPORT_EXISTING;
		snprintf(res->note, sizeof res->note, "the same as line %u", (unsigned)seen->line);
		return RF_OK;
	}
	rf_svc sv = {.store = x->s,
		     .a = &x->svc_arena,
		     .actor = x->o->actor ? x->o->actor : "import",
		     .cfg = x->o->cfg,
		     .batch = x->batch};
	if (rf_store_savepoint(x->s, "import_row", err) != RF_OK)
		return err->status;
	rf_import_done done;
	rf_status st = rf_svc_import_row(&sv, &x->ic, &b->row, &done, &res->pr, err);
	if (st != RF_OK && !rf_import_row_status(st))
		return st;
	if (st != RF_OK) {
		res->failed = true;
		if (!res->pr.n) {
			res->pr.n = 1;
			res->pr.p[0].field = -1;
			snprintf(res->pr.p[0].message, sizeof res->pr.p[0].message, "%.199s", err->message);
		}
		memset(err, 0, sizeof *err);
		if (rf_store_rollback_to(x->s, "import_row", err) != RF_OK)
			return err->status;
	}
	if (rf_store_release(x->s, "import_row", err) != RF_OK)
		return err->status;
	if (x->batch && st == RF_OK && rf_svc_batch_row_keep(x->batch, err) != RF_OK)
		return err->status;
	if (x->batch && st != RF_OK)
		rf_svc_batch_row_drop(x->batch);
	if (st == RF_OK) {
		res->outcome = done.outcome;
		if (done.note)
			snprintf(res->note, sizeof res->note, "%s", done.note);
		for (size_t k = 0; k < nk && done.outcome != RF_IMPORT_SKIPPED; k++)
			if (!keys_add(&x->keys, h[k], b->line, content))
				return rf_err_set(err, RF_ENOMEM, NULL, "out of memory");
	}
	return RF_OK;
}

/* Runs a transaction: the rows of the batch so far, then new rows while it has room and time (only on its first
 * attempt: one that runs again takes the same rows). Committed, or rolled back in a dry run. */
static rf_status run_batch(run_ctx *x, rf_err *err)
{
	int max_rows = x->o->batch_rows > 0 ? x->o->batch_rows : BATCH_ROWS_DEFAULT;
	int64_t budget_us = (int64_t)(x->o->batch_ms > 0 ? x->o->batch_ms : BATCH_MS_DEFAULT) * 1000;
	/* A partner may name another one the same file made before it (its team parent, its recruiter): a dry run
	 * of partners checks the whole file in one transaction, so that it finds them as the real run would. */
	if (x->o->dry_run && x->o->type == RF_IMPORT_PARTNERS) {
		max_rows = INT32_MAX;
		budget_us = INT64_MAX;
	}
	for (int attempt = 0;; attempt++) {
		rf_arena_reset(&x->svc_arena);
		int64_t t0 = rf_clock_mono_us();
		rf_status rc = rf_store_begin(x->s, err);
		for (size_t i = 0; rc == RF_OK; i++) {
			if (i == x->nrows && (attempt > 0 || x->eof || x->nrows >= (size_t)max_rows ||
					      rf_clock_mono_us() - t0 > budget_us || !read_row(x)))
				break;
			rc = run_row(x, i, err);
		}
		if (rc == RF_OK && x->batch && !x->o->dry_run) {
			rf_svc sv = {.store = x->s,
				     .a = &x->svc_arena,
				     .actor = x->o->actor ? x->o->actor : "import",
				     .cfg = x->o->cfg};
			rc = rf_svc_batch_flush(&sv, x->batch, err);
		}
		if (x->batch)
			rf_svc_batch_clear(x->batch);
		if (rc == RF_OK && x->o->dry_run)
			rf_store_rollback(x->s);
		else if (rc == RF_OK)
			rc = rf_store_commit(x->s, err);
		if (rc == RF_OK) {
			keys_keep(&x->keys);
			return RF_OK;
		}
		rf_store_rollback(x->s);
		if (!keys_undo(&x->keys))
			return rf_err_set(err, RF_ENOMEM, NULL, "out of memory");
		if (rc != RF_ERETRY || attempt == ATTEMPTS - 1)
			return rc;
		memset(err, 0, sizeof *err);
		/* A random pause, so that two transactions that collided do not collide again at once. */
		struct timespec pause = {0, (long)(1 + randombytes_uniform(4)) * (1000000L << attempt)};
		nanosleep(&pause, NULL);
	}
}

/* Adds a committed batch's rows to the report. */
static void count_batch(run_ctx *x, size_t max_errors)
{
	rf_import_report *rep = x->rep;
	for (size_t i = 0; i < x->nrows; i++) {
		const batch_row *b = &x->rows[i];
		const row_result *res = &x->results[i];
		if (b->bad) {
			rep->failed++;
			report_error(rep, max_errors, b->line, -1, (int)b->err.column, b->err.message);
			continue;
		}
		if (res->failed) {
			rep->failed++;
			for (size_t k = 0; k < res->pr.n; k++)
				report_error(rep, max_errors, b->line, res->pr.p[k].field, -1, res->pr.p[k].message);
			continue;
		}
		if (res->outcome == RF_IMPORT_CREATED)
			rep->created++;
		else if (res->outcome == RF_IMPORT_EXISTING)
			rep->existing++;
		else
			rep->skipped++;
	}
}

/* Reads the header and resolves it into the report's columns. */
static rf_status read_header(run_ctx *x, rf_err *err)
{
	rf_import_report *rep = x->rep;
	rf_csv_row row;
	rf_csv_result res = rf_csv_next(x->r, &row);
	if (res == RF_CSV_END)
		return rf_err_set(err, RF_EINVAL, "body", "the file is empty: it needs a header row and then rows");
	if (res == RF_CSV_FAIL || res == RF_CSV_BAD)
		return rf_err_set(err, RF_EINVAL, "header", "the header row cannot be read: %s", row.err.message);
	rep->header = calloc(row.n, sizeof *rep->header);
	rep->ignored = calloc(row.n, sizeof *rep->ignored);
	if (!rep->header || !rep->ignored)
		return rf_err_set(err, RF_ENOMEM, NULL, "out of memory");
	for (size_t i = 0; i < row.n; i++) {
		if (!(rep->header[i] = strdup(row.f[i])))
			return rf_err_set(err, RF_ENOMEM, NULL, "out of memory");
		rep->ncols = i + 1;
	}
	rf_import_columns *cols = malloc(sizeof *cols);
	if (!cols)
		return rf_err_set(err, RF_ENOMEM, NULL, "out of memory");
	rf_status rc = rf_import_columns_resolve(x->o->type, x->o->map, x->o->mapping, x->o->n_mapping,
						 (const char *const *)rep->header, rep->ncols, cols, err);
	if (rc == RF_OK) {
		memcpy(rep->col, cols->col, sizeof rep->col);
		for (size_t i = 0; i < cols->nignored; i++)
			rep->ignored[rep->nignored++] = cols->ignored[i];
	}
	free(cols);
	return rc;
}

/* The audit entry of a real import, in a transaction of its own. */
static void audit(run_ctx *x)
{
	rf_import_report *rep = x->rep;
	rf_arena_reset(&x->svc_arena);
	rf_svc sv = {
	    .store = x->s, .a = &x->svc_arena, .actor = x->o->actor ? x->o->actor : "import", .cfg = x->o->cfg};
	char *detail = rf_arena_printf(
	    &x->svc_arena,
	    "{\"type\":\"%s\",\"map\":\"%s\",\"status\":\"%s\",\"rows\":%lld,\"created\":%lld,"
	    "\"existing\":%lld,\"skipped\":%lld,\"failed\":%lld}",
	    rf_import_type_name(rep->type), rep->map, rep->status, (long long)rep->rows, (long long)rep->created,
	    (long long)rep->existing, (long long)rep->skipped, (long long)rep->failed);
	rf_err err = {0};
	if (rf_store_begin(x->s, &err) == RF_OK &&
	    rf_svc_audit(&sv, "import.run", rep->program_id, detail, &err) == RF_OK &&
	    rf_store_commit(x->s, &err) == RF_OK)
		return;
	rf_store_rollback(x->s);
}

rf_status rf_import_run(rf_store *s, rf_csv_source src, void *src_arg, const rf_import_options *o,
			rf_import_report *rep)
{
	memset(rep, 0, sizeof *rep);
	for (int f = 0; f < RF_IF_COUNT; f++)
		rep->col[f] = -1;
	rep->type = o->type;
	rep->map = rf_import_map_name(o->map);
	rep->dry_run = o->dry_run;
	rep->status = "running";
	rep->total_bytes = o->total_bytes;
	rep->started_at = rf_clock_now_ms();
	size_t max_errors = o->max_errors ? o->max_errors : MAX_ERRORS_DEFAULT;
	run_ctx x;
	memset(&x, 0, sizeof x);
	x.s = s;
	x.o = o;
	x.rep = rep;
	rf_arena_init(&x.rows_arena, 0);
	rf_arena_init(&x.svc_arena, 0);
	randombytes_buf(x.keys.secret, sizeof x.keys.secret);
	rf_err *err = &rep->fatal;
	rf_status rc = RF_OK;
	rf_program prog;
	rf_arena prog_arena;
	rf_arena_init(&prog_arena, 0);
	rf_csv_limits lim = {.same_width = true};
	x.r = rf_csv_reader_new(src, src_arg, &lim);
	if (!x.r) {
		rc = rf_err_set(err, RF_ENOMEM, NULL, "out of memory");
		goto fail;
	}
	if ((rc = rf_store_bulk_writes(s, err)) != RF_OK || (rc = read_header(&x, err)) != RF_OK)
		goto fail;
	rf_svc sv = {.store = s, .a = &prog_arena, .actor = o->actor, .cfg = o->cfg};
	rc = rf_svc_program_or_only(&sv, o->program_id, &prog, err);
	rf_store_idle(s);
	if (rc != RF_OK)
		goto fail;
	snprintf(rep->program_id, sizeof rep->program_id, "%s", prog.id);
	if (o->started && (rc = o->started(o->progress_arg, rep, err)) != RF_OK)
		goto fail;
	x.ic = (rf_import_ctx){&prog, o->type, o->map ? rf_import_map_name(o->map) : "csv"};
	/* A lead's writes that only add up (its rollups, its audit entry) are folded per transaction. Partners and
	 * sales write theirs row by row: a sale's amounts could overflow the running totals, which must then refuse
	 * that row alone. */
	if (o->type == RF_IMPORT_LEADS && !(x.batch = rf_svc_batch_new())) {
		rc = rf_err_set(err, RF_ENOMEM, NULL, "out of memory");
		goto fail;
	}
	while (!x.eof) {
		if (o->stop && o->stop(o->stop_arg)) {
			rc = rf_err_set(
			    err, RF_EUNAVAIL, NULL,
			    "the import was stopped after %lld rows; what it wrote stays, and the same file run "
			    "again finishes it",
			    (long long)rep->rows);
			rep->status = "interrupted";
			break;
		}
		rf_arena_reset(&x.rows_arena);
		x.nrows = 0;
		if ((rc = run_batch(&x, err)) != RF_OK) {
			rep->status = "failed";
			break;
		}
		rep->batches++;
		count_batch(&x, max_errors);
		rep->bytes = rf_csv_offset(x.r);
		if (o->progress)
			o->progress(o->progress_arg, rep);
		if (x.read_failed) {
			rc = x.read_err.status;
			*err = x.read_err;
			rep->status = "failed";
			break;
		}
	}
	if (rc == RF_OK) {
		rep->status = "completed";
		/* A row's refusal passes through err on its way to the row's problems: a whole run has no error. */
		memset(err, 0, sizeof *err);
	}
	rep->bytes = rf_csv_offset(x.r);
	rep->finished_at = rf_clock_now_ms();
	if (!o->dry_run && rep->rows)
		audit(&x);
	goto done;
fail:
	rep->status = "failed";
	rep->finished_at = rf_clock_now_ms();
done:
	rf_store_idle(s);
	rf_csv_reader_free(x.r);
	free(x.rows);
	free(x.results);
	free(x.keys.slots);
	free(x.keys.fresh);
	rf_svc_batch_free(x.batch);
	rf_arena_reset(&x.rows_arena);
	rf_arena_reset(&x.svc_arena);
	rf_arena_reset(&prog_arena);
	return rc;
}
