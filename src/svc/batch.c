/* SPDX-License-Identifier: Apache-2.0 */
/* The folds of an import's transaction (svc/batch.h): rollup additions summed per key in a hash table, audit
 * entries gathered per actor and action, both written just before the transaction commits. */
#include "batch.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "../core/clock.h"

#define DAY_MS 86400000LL

/* One rf_svc_rollup call of the row running now. */
typedef struct {
	const char *program_id, *currency;
	int64_t at;
	const char *entities[3], *dims[3];
	rf_metrics m;
} pending_rollup;

typedef struct {
	const char *actor, *action, *object_id;
} audit_entry;

typedef struct {
	const char *program_id;
	rf_metrics m;
} volume_sum;

typedef struct {
	const char *program_id;
	uint64_t hash;
	rf_rollup_part part;
} part_sum;

struct rf_svc_batch {
	rf_arena a; /* the strings of everything below */
	pending_rollup *pr;
	size_t npr, cappr;
	audit_entry *pa; /* the running row's audit entries */
	size_t npa, cappa;
	audit_entry *audits; /* the kept rows' */
	size_t naudits, capaudits;
	volume_sum *vol;
	size_t nvol, capvol;
	part_sum *parts;
	size_t nparts, capparts;
	uint32_t *slots; /* index + 1 into parts, 0 for an empty slot; a power of two long */
	size_t nslots;
};

rf_svc_batch *rf_svc_batch_new(void)
{
	rf_svc_batch *b = calloc(1, sizeof *b);
	if (b)
		rf_arena_init(&b->a, 0);
	return b;
}

void rf_svc_batch_clear(rf_svc_batch *b)
{
	b->npr = b->npa = b->naudits = b->nvol = b->nparts = 0;
	if (b->slots)
		memset(b->slots, 0, b->nslots * sizeof *b->slots);
	rf_arena_reset(&b->a);
	rf_arena_init(&b->a, 0);
}

void rf_svc_batch_free(rf_svc_batch *b)
{
	if (!b)
		return;
	rf_arena_reset(&b->a);
	free(b->pr);
	free(b->pa);
	free(b->audits);
	free(b->vol);
	free(b->parts);
	free(b->slots);
	free(b);
}

/* Room for one more item of size in *items. */
static bool room(void **items, size_t n, size_t *cap, size_t size)
{
	if (n < *cap)
		return true;
	size_t next = *cap ? *cap * 2 : 64;
	void *p = realloc(*items, next * size);
	if (!p)
		return false;
	*items = p;
	*cap = next;
	return true;
}

static const char *copy(rf_svc_batch *b, const char *s, bool *ok)
{
	if (!s)
		return NULL;
	char *c = rf_arena_strdup(&b->a, s);
	if (!c)
		*ok = false;
	return c;
}

static rf_status oom(rf_err *err)
{
	return rf_err_set(err, RF_ENOMEM, NULL, "out of memory");
}

rf_status rf_svc_batch_rollup(rf_svc_batch *b, const char *program_id, int64_t at, const char *currency,
			      const char *const entities[3], const char *const dims[3], const rf_metrics *m,
			      bool *taken, rf_err *err)
{
	*taken = false;
	for (int i = 0; i < RF_METRICS; i++)
		if (m->v[i] < 0)
			return RF_OK; /* a figure taken back: written at once, as without a batch */
	if (!room((void **)&b->pr, b->npr, &b->cappr, sizeof *b->pr))
		return oom(err);
	pending_rollup *p = &b->pr[b->npr];
	bool ok = true;
	p->program_id = copy(b, program_id, &ok);
	p->currency = copy(b, currency ? currency : "", &ok);
	p->at = at;
	for (int i = 0; i < 3; i++) {
		p->entities[i] = copy(b, entities ? entities[i] : NULL, &ok);
		p->dims[i] = copy(b, dims ? dims[i] : NULL, &ok);
	}
	p->m = *m;
	if (!ok)
		return oom(err);
	b->npr++;
	*taken = true;
	return RF_OK;
}

rf_status rf_svc_batch_audit(rf_svc_batch *b, const char *actor, const char *action, const char *object_id, rf_err *err)
{
	if (!room((void **)&b->pa, b->npa, &b->cappa, sizeof *b->pa))
		return oom(err);
	bool ok = true;
	audit_entry e = {copy(b, actor, &ok), copy(b, action, &ok), copy(b, object_id, &ok)};
	if (!ok)
		return oom(err);
	b->pa[b->npa++] = e;
	return RF_OK;
}

void rf_svc_batch_row_drop(rf_svc_batch *b)
{
	b->npr = b->npa = 0;
}

static int64_t day_start(int64_t at)
{
	int64_t day = at >= 0 ? at / DAY_MS : (at - DAY_MS + 1) / DAY_MS;
	return day * DAY_MS;
}

static uint64_t hash_text(uint64_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return (h ^ 0xff) * 1099511628211ULL; /* a separator, so that "ab"+"c" and "a"+"bc" differ */
}

static bool same_part(const part_sum *p, const char *program_id, const char *entity, const char *dim,
		      const char *currency, int64_t at)
{
	return p->part.at == at && strcmp(p->program_id, program_id) == 0 && strcmp(p->part.currency, currency) == 0 &&
	       (entity ? p->part.entity && strcmp(p->part.entity, entity) == 0
		       : !p->part.entity && strcmp(p->part.dim, dim) == 0);
}

static bool grow_slots(rf_svc_batch *b)
{
	size_t n = b->nslots ? b->nslots * 2 : 1024;
	uint32_t *slots = calloc(n, sizeof *slots);
	if (!slots)
		return false;
	for (size_t i = 0; i < b->nparts; i++) {
		size_t j = (size_t)b->parts[i].hash & (n - 1);
		while (slots[j])
			j = (j + 1) & (n - 1);
		slots[j] = (uint32_t)(i + 1);
	}
	free(b->slots);
	b->slots = slots;
	b->nslots = n;
	return true;
}

static bool add_metrics(rf_metrics *to, const rf_metrics *m)
{
	for (int i = 0; i < RF_METRICS; i++)
		if (__builtin_add_overflow(to->v[i], m->v[i], &to->v[i]))
			return false;
	return true;
}

/* Adds m to the part of (program, entity or dim, currency, day). */
static rf_status fold_part(rf_svc_batch *b, const char *program_id, const char *entity, const char *dim,
			   const char *currency, int64_t at, const rf_metrics *m, rf_err *err)
{
	if ((b->nparts + 1) * 2 > b->nslots && !grow_slots(b))
		return oom(err);
	uint64_t h = 14695981039346656037ULL;
	h = hash_text(h, program_id);
	h = hash_text(h, entity ? "e" : "d");
	h = hash_text(h, entity ? entity : dim);
	h = hash_text(h, currency);
	h = (h ^ (uint64_t)at) * 1099511628211ULL;
	size_t j = (size_t)h & (b->nslots - 1);
	for (; b->slots[j]; j = (j + 1) & (b->nslots - 1)) {
		part_sum *p = &b->parts[b->slots[j] - 1];
		if (p->hash == h && same_part(p, program_id, entity, dim, currency, at))
			return add_metrics(&p->part.m, m)
				   ? RF_OK
				   : rf_err_set(err, RF_EOVERFLOW, "amount", "the rollups of a transaction overflow");
	}
	if (!room((void **)&b->parts, b->nparts, &b->capparts, sizeof *b->parts))
		return oom(err);
	part_sum *p = &b->parts[b->nparts];
	memset(p, 0, sizeof *p);
	p->program_id = program_id;
	p->hash = h;
	p->part.entity = entity;
	p->part.dim = entity ? NULL : dim;
	p->part.currency = currency;
	p->part.at = at;
	p->part.m = *m;
	b->slots[j] = (uint32_t)(++b->nparts);
	return RF_OK;
}

rf_status rf_svc_batch_row_keep(rf_svc_batch *b, rf_err *err)
{
	for (size_t i = 0; i < b->npr; i++) {
		const pending_rollup *p = &b->pr[i];
		size_t v = 0;
		while (v < b->nvol && strcmp(b->vol[v].program_id, p->program_id) != 0)
			v++;
		if (v == b->nvol) {
			if (!room((void **)&b->vol, b->nvol, &b->capvol, sizeof *b->vol))
				return oom(err);
			memset(&b->vol[v], 0, sizeof b->vol[v]);
			b->vol[v].program_id = p->program_id;
			b->nvol++;
		}
		if (!add_metrics(&b->vol[v].m, &p->m))
			return rf_err_set(err, RF_EOVERFLOW, "amount", "the rollups of a transaction overflow");
		int64_t at = day_start(p->at);
		for (int k = 0; k < 3; k++) {
			if (p->entities[k] &&
			    fold_part(b, p->program_id, p->entities[k], NULL, p->currency, at, &p->m, err) != RF_OK)
				return err->status;
			if (p->dims[k] &&
			    fold_part(b, p->program_id, NULL, p->dims[k], p->currency, at, &p->m, err) != RF_OK)
				return err->status;
		}
	}
	for (size_t i = 0; i < b->npa; i++) {
		if (!room((void **)&b->audits, b->naudits, &b->capaudits, sizeof *b->audits))
			return oom(err);
		b->audits[b->naudits++] = b->pa[i];
	}
	b->npr = b->npa = 0;
	return RF_OK;
}

/* One audit entry for the kept entries of actor and action from index first on: how many, and their objects. */
static rf_status audit_group(rf_svc *x, rf_svc_batch *b, size_t first, bool *done, rf_err *err)
{
	const audit_entry *g = &b->audits[first];
	json_t *ids = json_array();
	size_t n = 0;
	for (size_t i = first; i < b->naudits; i++) {
		const audit_entry *e = &b->audits[i];
		if (done[i] || strcmp(e->actor, g->actor) != 0 || strcmp(e->action, g->action) != 0)
			continue;
		done[i] = true;
		n++;
		json_array_append_new(ids, e->object_id ? json_string(e->object_id) : json_null());
	}
	json_t *detail = json_pack("{s:b, s:I, s:o}", "import", 1, "rows", (json_int_t)n, "object_ids", ids);
	char *text = detail ? json_dumps(detail, JSON_COMPACT) : NULL;
	json_decref(detail);
	if (!text)
		return oom(err);
	rf_status rc = rf_store_audit_add(x->store, g->actor, g->action, n == 1 ? g->object_id : NULL, text,
					  rf_clock_now_ms(), err);
	free(text);
	return rc;
}

rf_status rf_svc_batch_flush(rf_svc *x, rf_svc_batch *b, rf_err *err)
{
	rf_status rc = RF_OK;
	rf_rollup_part *parts = NULL;
	bool *done = NULL;
	if (b->nparts && !(parts = malloc(b->nparts * sizeof *parts))) {
		rc = oom(err);
		goto fail;
	}
	for (size_t v = 0; v < b->nvol; v++) {
		size_t n = 0;
		for (size_t i = 0; i < b->nparts; i++)
			if (strcmp(b->parts[i].program_id, b->vol[v].program_id) == 0)
				parts[n++] = b->parts[i].part;
		if ((rc = rf_store_rollup_apply(x->store, b->vol[v].program_id, &b->vol[v].m, parts, n, err)) != RF_OK)
			goto fail;
	}
	if (b->naudits && !(done = calloc(b->naudits, sizeof *done))) {
		rc = oom(err);
		goto fail;
	}
	for (size_t i = 0; i < b->naudits; i++)
		if (!done[i] && (rc = audit_group(x, b, i, done, err)) != RF_OK)
			goto fail;
	rf_svc_batch_clear(b);
fail:
	free(parts);
	free(done);
	return rc;
}
