/* SPDX-License-Identifier: Apache-2.0 */
/* The event log, the webhook endpoints, and the deliveries the events queue: written in the transaction of the
 * change, claimed by one sender at a time, every attempt kept. */
#include <stdio.h>
#include <string.h>

#include "store_internal.h"

/* ---- events ---- */

#define EVENT_COLS "e.id, e.type, e.program_id, e.object_id, e.partner_id, e.data, e.created_at"

static void event_fill(rf_db_stmt *st, void *item, rf_arena *a)
{
	rf_event *e = item;
	memset(e, 0, sizeof *e);
	e->id = rf_q_text(st, 0, a);
	e->type = rf_q_text(st, 1, a);
	e->program_id = rf_q_text(st, 2, a);
	e->object_id = rf_q_text(st, 3, a);
	e->partner_id = rf_q_text(st, 4, a);
	e->data = rf_q_text(st, 5, a);
	e->created_at = rf_db_col_int(st, 6);
}

rf_status rf_store_event_insert(rf_store *s, const rf_event *e, rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(s,
				   "INSERT INTO events (id, type, program_id, object_id, partner_id, data, created_at) "
				   "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
				   err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, e->id);
	rf_db_bind_text(st, 2, e->type);
	rf_db_bind_text(st, 3, e->program_id);
	rf_db_bind_text(st, 4, e->object_id);
	rf_db_bind_text(st, 5, e->partner_id);
	rf_db_bind_text(st, 6, e->data);
	rf_db_bind_int(st, 7, e->created_at);
	return rf_q_done(s, st, "id", err);
}

rf_status rf_store_event_get(rf_store *s, const char *id, rf_event *out, rf_arena *a, rf_err *err)
{
	return rf_q_get_one(s, "SELECT " EVENT_COLS " FROM events e WHERE e.id = ?", id, event_fill, out, a, "event",
			    err);
}

rf_status rf_store_event_list(rf_store *s, const rf_event_filter *f, rf_event **items, size_t *n, bool *has_more,
			      rf_arena *a, rf_err *err)
{
	int64_t after = f->oldest_first ? 0 : INT64_MAX;
	if (f->page.starting_after && rf_q_cursor_seq(s, "events", f->page.starting_after, &after, err) != RF_OK)
		return err->status;
	rf_q_keyset k;
	rf_q_keyset_sql(s, "events", "e", f->oldest_first, f->page.settled, &k);
	char sql[3072];
	snprintf(
	    sql, sizeof sql,
	    "SELECT " EVENT_COLS " FROM events e WHERE %s AND (CAST(?2 AS TEXT) IS NULL OR e.type = ?2) AND "
	    "(CAST(?3 AS TEXT) IS NULL OR e.program_id = ?3) AND (CAST(?4 AS TEXT) IS NULL OR e.object_id = ?4) "
	    "AND (CAST(?5 AS TEXT) IS NULL OR e.partner_id = ?5 OR e.partner_id IN (SELECT id FROM partners WHERE "
	    "team_parent_id = ?5)) AND (?6 = 0 OR e.created_at >= ?6) AND (?7 = 0 OR e.created_at < ?7) ORDER BY %s "
	    "LIMIT ?8",
	    k.cond, k.order);
	rf_db_stmt *st = rf_q_prep(s, sql, err);
	if (!st)
		return RF_EIO;
	rf_db_bind_int(st, 1, after);
	rf_db_bind_text(st, 2, f->type);
	rf_db_bind_text(st, 3, f->program_id);
	rf_db_bind_text(st, 4, f->object_id);
	rf_db_bind_text(st, 5, f->scope_id);
	rf_db_bind_int(st, 6, f->created_from);
	rf_db_bind_int(st, 7, f->created_to);
	rf_db_bind_int(st, 8, f->page.limit + 1);
	return rf_q_collect(s, st, f->page.limit, sizeof(rf_event), event_fill, (void **)items, n, has_more, a, err);
}

static void id_fill(rf_db_stmt *st, void *item, rf_arena *a)
{
	*(char **)item = rf_q_text(st, 0, a);
}

static rf_status delete_by(rf_store *s, const char *sql, const char *id, rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(s, sql, err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, id);
	return rf_q_done(s, st, NULL, err);
}

/* Removes up to max rows of table (events or inbound_events) whose time column is before `before`, the oldest
 * first, with the deliveries made for them and their attempts; never one with a delivery still pending. */
static rf_status purge(rf_store *s, const char *table, const char *time_col, int64_t before, int max, int64_t *removed,
		       rf_err *err)
{
	*removed = 0;
	rf_arena a;
	rf_arena_init(&a, 0);
	char sql[512];
	snprintf(sql, sizeof sql,
		 "SELECT id FROM %s x WHERE %s < ?1 AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = "
		 "x.id AND d.status = 'pending') ORDER BY %s, seq LIMIT ?2",
		 table, time_col, time_col);
	rf_db_stmt *st = rf_q_prep(s, sql, err);
	rf_status rc = st ? RF_OK : RF_EIO;
	char **ids = NULL;
	size_t n = 0;
	bool more = false;
	if (rc == RF_OK) {
		rf_db_bind_int(st, 1, before);
		rf_db_bind_int(st, 2, max + 1);
		rc = rf_q_collect(s, st, max, sizeof(char *), id_fill, (void **)&ids, &n, &more, &a, err);
	}
	snprintf(sql, sizeof sql, "DELETE FROM %s WHERE id = ?1", table);
	for (size_t i = 0; rc == RF_OK && i < n; i++) {
		rc = delete_by(s,
			       "DELETE FROM delivery_attempts WHERE delivery_id IN (SELECT id FROM deliveries WHERE "
			       "event_id = ?1)",
			       ids[i], err);
		if (rc == RF_OK)
			rc = delete_by(s, "DELETE FROM deliveries WHERE event_id = ?1", ids[i], err);
		if (rc == RF_OK)
			rc = delete_by(s, sql, ids[i], err);
		if (rc == RF_OK)
			(*removed)++;
	}
	rf_arena_reset(&a);
	return rc;
}

rf_status rf_store_event_purge(rf_store *s, int64_t before, int max, int64_t *removed, rf_err *err)
{
	return purge(s, "events", "created_at", before, max, removed, err);
}

rf_status rf_store_inbound_event_purge(rf_store *s, int64_t before, int max, int64_t *removed, rf_err *err)
{
	return purge(s, "inbound_events", "received_at", before, max, removed, err);
}

/* ---- webhook endpoints ---- */

#define ENDPOINT_COLS                                                                                     \
	"w.id, w.url, w.description, w.event_types, w.program_id, w.secret_sealed, w.old_secret_sealed, " \
	"w.old_secret_until, w.status, w.disabled_reason, w.failing_since, w.created_at, w.updated_at"

static unsigned char *blob_copy(rf_db_stmt *st, int i, size_t *len, rf_arena *a)
{
	size_t n = 0;
	const void *b = rf_db_col_blob(st, i, &n);
	*len = 0;
	if (!b)
		return NULL;
	unsigned char *out = rf_arena_alloc(a, n ? n : 1);
	if (out) {
		memcpy(out, b, n);
		*len = n;
	}
	return out;
}

static void endpoint_fill(rf_db_stmt *st, void *item, rf_arena *a)
{
	rf_webhook_endpoint *w = item;
	memset(w, 0, sizeof *w);
	w->id = rf_q_text(st, 0, a);
	w->url = rf_q_text(st, 1, a);
	w->description = rf_q_text(st, 2, a);
	w->event_types = rf_q_text(st, 3, a);
	w->program_id = rf_q_text(st, 4, a);
	w->secret_sealed = blob_copy(st, 5, &w->secret_sealed_len, a);
	w->old_secret_sealed = blob_copy(st, 6, &w->old_secret_sealed_len, a);
	w->old_secret_until = rf_db_col_int(st, 7);
	w->status = rf_q_text(st, 8, a);
	w->disabled_reason = rf_q_text(st, 9, a);
	w->failing_since = rf_db_col_int(st, 10);
	w->created_at = rf_db_col_int(st, 11);
	w->updated_at = rf_db_col_int(st, 12);
}

static void endpoint_bind(rf_db_stmt *st, const rf_webhook_endpoint *w)
{
	rf_db_bind_text(st, 1, w->id);
	rf_db_bind_text(st, 2, w->url);
	rf_db_bind_text(st, 3, w->description);
	rf_db_bind_text(st, 4, w->event_types);
	rf_db_bind_text(st, 5, w->program_id);
	rf_db_bind_blob(st, 6, w->secret_sealed, w->secret_sealed_len);
	rf_db_bind_blob(st, 7, w->old_secret_sealed, w->old_secret_sealed_len);
	rf_db_bind_int(st, 8, w->old_secret_until);
	rf_db_bind_text(st, 9, w->status);
	rf_db_bind_text(st, 10, w->disabled_reason);
	rf_db_bind_int(st, 11, w->failing_since);
	rf_db_bind_int(st, 12, w->created_at);
	rf_db_bind_int(st, 13, w->updated_at);
}

rf_status rf_store_webhook_endpoint_insert(rf_store *s, const rf_webhook_endpoint *w, rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(s,
				   "INSERT INTO webhook_endpoints (id, url, description, event_types, program_id, "
				   "secret_sealed, old_secret_sealed, old_secret_until, status, disabled_reason, "
				   "failing_since, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
				   "?10, ?11, ?12, ?13)",
				   err);
	if (!st)
		return RF_EIO;
	endpoint_bind(st, w);
	return rf_q_done(s, st, "id", err);
}

rf_status rf_store_webhook_endpoint_update(rf_store *s, const rf_webhook_endpoint *w, rf_err *err)
{
	rf_db_stmt *st =
	    rf_q_prep(s,
		      "UPDATE webhook_endpoints SET url = ?2, description = ?3, event_types = ?4, "
		      "program_id = ?5, secret_sealed = ?6, old_secret_sealed = ?7, old_secret_until = ?8, "
		      "status = ?9, disabled_reason = ?10, failing_since = ?11, created_at = ?12, "
		      "updated_at = ?13 WHERE id = ?1",
		      err);
	if (!st)
		return RF_EIO;
	endpoint_bind(st, w);
	if (rf_q_done(s, st, NULL, err) != RF_OK)
		return err->status;
	if (rf_db_changes(s->db) == 0)
		return rf_err_set(err, RF_ENOTFOUND, NULL, "no such webhook endpoint %s", w->id);
	return RF_OK;
}

rf_status rf_store_webhook_endpoint_get(rf_store *s, const char *id, rf_webhook_endpoint *out, rf_arena *a, rf_err *err)
{
	return rf_q_get_one(s, "SELECT " ENDPOINT_COLS " FROM webhook_endpoints w WHERE w.id = ?", id, endpoint_fill,
			    out, a, "webhook endpoint", err);
}

rf_status rf_store_webhook_endpoint_delete(rf_store *s, const char *id, rf_err *err)
{
	/* Its deliveries go with it (their attempts too): the log of an endpoint that is no more shows nothing. */
	if (delete_by(s,
		      "DELETE FROM delivery_attempts WHERE delivery_id IN (SELECT id FROM deliveries WHERE target_id = "
		      "?1 AND kind = 'webhook')",
		      id, err) != RF_OK ||
	    delete_by(s, "DELETE FROM deliveries WHERE target_id = ?1 AND kind = 'webhook'", id, err) != RF_OK ||
	    delete_by(s, "DELETE FROM webhook_endpoints WHERE id = ?1", id, err) != RF_OK)
		return err->status;
	if (rf_db_changes(s->db) == 0)
		return rf_err_set(err, RF_ENOTFOUND, NULL, "no such webhook endpoint %s", id);
	return RF_OK;
}

rf_status rf_store_webhook_endpoint_list(rf_store *s, const rf_page *page, rf_webhook_endpoint **items, size_t *n,
					 bool *has_more, rf_arena *a, rf_err *err)
{
	int64_t after = INT64_MAX;
	if (page->starting_after && rf_q_cursor_seq(s, "webhook_endpoints", page->starting_after, &after, err) != RF_OK)
		return err->status;
	rf_q_keyset k;
	rf_q_keyset_sql(s, "webhook_endpoints", "w", false, page->settled, &k);
	char sql[2048];
	snprintf(sql, sizeof sql, "SELECT " ENDPOINT_COLS " FROM webhook_endpoints w WHERE %s ORDER BY %s LIMIT ?2",
		 k.cond, k.order);
	rf_db_stmt *st = rf_q_prep(s, sql, err);
	if (!st)
		return RF_EIO;
	rf_db_bind_int(st, 1, after);
	rf_db_bind_int(st, 2, page->limit + 1);
	return rf_q_collect(s, st, page->limit, sizeof(rf_webhook_endpoint), endpoint_fill, (void **)items, n, has_more,
			    a, err);
}

rf_status rf_store_webhook_endpoints_enabled(rf_store *s, const char *program_id, rf_webhook_endpoint **items,
					     size_t *n, rf_arena *a, rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(s,
				   "SELECT " ENDPOINT_COLS " FROM webhook_endpoints w WHERE w.status = 'enabled' AND "
				   "(w.program_id IS NULL OR w.program_id = ?1) ORDER BY w.seq LIMIT 1001",
				   err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, program_id);
	bool more = false;
	return rf_q_collect(s, st, 1000, sizeof(rf_webhook_endpoint), endpoint_fill, (void **)items, n, &more, a, err);
}

/* ---- deliveries ---- */

#define DELIVERY_COLS                                                                             \
	"d.id, d.kind, d.target_id, d.event_id, d.status, d.attempts, d.next_at, d.lease_until, " \
	"d.last_status_code, d.last_error, d.created_at, d.updated_at"

/* The same, unqualified: SQLite's RETURNING names the columns of the row it changed alone. */
#define DELIVERY_BARE_COLS                                                                                      \
	"id, kind, target_id, event_id, status, attempts, next_at, lease_until, last_status_code, last_error, " \
	"created_at, updated_at"

static void delivery_fill(rf_db_stmt *st, void *item, rf_arena *a)
{
	rf_delivery *d = item;
	memset(d, 0, sizeof *d);
	d->id = rf_q_text(st, 0, a);
	d->kind = rf_q_text(st, 1, a);
	d->target_id = rf_q_text(st, 2, a);
	d->event_id = rf_q_text(st, 3, a);
	d->status = rf_q_text(st, 4, a);
	d->attempts = (int)rf_db_col_int(st, 5);
	d->next_at = rf_db_col_int(st, 6);
	d->lease_until = rf_db_col_int(st, 7);
	d->has_status_code = rf_db_col_type(st, 8) != RF_DB_T_NULL;
	d->last_status_code = (int)rf_db_col_int(st, 8);
	d->last_error = rf_q_text(st, 9, a);
	d->created_at = rf_db_col_int(st, 10);
	d->updated_at = rf_db_col_int(st, 11);
}

rf_status rf_store_delivery_insert(rf_store *s, const rf_delivery *d, rf_err *err)
{
	rf_db_stmt *st =
	    rf_q_prep(s,
		      "INSERT INTO deliveries (id, kind, target_id, event_id, status, attempts, next_at, "
		      "lease_until, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
		      err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, d->id);
	rf_db_bind_text(st, 2, d->kind);
	rf_db_bind_text(st, 3, d->target_id);
	rf_db_bind_text(st, 4, d->event_id);
	rf_db_bind_text(st, 5, d->status);
	rf_db_bind_int(st, 6, d->attempts);
	rf_db_bind_int(st, 7, d->next_at);
	rf_db_bind_int(st, 8, d->lease_until);
	rf_db_bind_int(st, 9, d->created_at);
	return rf_q_done(s, st, "id", err);
}

rf_status rf_store_delivery_get(rf_store *s, const char *id, rf_delivery *out, rf_arena *a, rf_err *err)
{
	return rf_q_get_one(s, "SELECT " DELIVERY_COLS " FROM deliveries d WHERE d.id = ?", id, delivery_fill, out, a,
			    "delivery", err);
}

rf_status rf_store_delivery_claim(rf_store *s, const char *kind, int64_t now, int64_t lease_ms, int max,
				  rf_delivery **items, size_t *n, rf_arena *a, rf_err *err)
{
	/* SQLite has one writer at a time: the rows this statement reads, no other changes until it commits. */
	bool skip = rf_db_can(s->db, RF_DB_CAP_SKIP_LOCKED);
	char sql[1024];
	snprintf(sql, sizeof sql,
		 "UPDATE deliveries SET lease_until = ?3 WHERE seq IN (SELECT seq FROM deliveries WHERE kind = ?1 "
		 "AND status = 'pending' AND next_at <= ?2 AND lease_until <= ?2 ORDER BY next_at, seq LIMIT ?4%s) "
		 "RETURNING " DELIVERY_BARE_COLS,
		 skip ? " FOR UPDATE SKIP LOCKED" : "");
	rf_db_stmt *st = rf_q_prep(s, sql, err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, kind);
	rf_db_bind_int(st, 2, now);
	rf_db_bind_int(st, 3, now + lease_ms);
	rf_db_bind_int(st, 4, max);
	bool more = false;
	return rf_q_collect(s, st, max, sizeof(rf_delivery), delivery_fill, (void **)items, n, &more, a, err);
}

rf_status rf_store_delivery_attempted(rf_store *s, const rf_delivery *d, const rf_delivery_attempt *at, rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(s,
				   "UPDATE deliveries SET status = ?2, attempts = ?3, next_at = ?4, lease_until = 0, "
				   "last_status_code = ?5, last_error = ?6, updated_at = ?7 WHERE id = ?1",
				   err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, d->id);
	rf_db_bind_text(st, 2, d->status);
	rf_db_bind_int(st, 3, d->attempts);
	rf_db_bind_int(st, 4, d->next_at);
	if (d->has_status_code)
		rf_db_bind_int(st, 5, d->last_status_code);
	else
		rf_db_bind_null(st, 5);
	rf_db_bind_text(st, 6, d->last_error);
	rf_db_bind_int(st, 7, at->at);
	if (rf_q_done(s, st, NULL, err) != RF_OK)
		return err->status;
	if (rf_db_changes(s->db) == 0)
		return rf_err_set(err, RF_ENOTFOUND, NULL, "no such delivery %s", d->id);
	st = rf_q_prep(s,
		       "INSERT INTO delivery_attempts (delivery_id, at, status_code, latency_ms, response, error) "
		       "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
		       err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, d->id);
	rf_db_bind_int(st, 2, at->at);
	if (at->has_status_code)
		rf_db_bind_int(st, 3, at->status_code);
	else
		rf_db_bind_null(st, 3);
	rf_db_bind_int(st, 4, at->latency_ms);
	rf_db_bind_text(st, 5, at->response);
	rf_db_bind_text(st, 6, at->error);
	return rf_q_done(s, st, NULL, err);
}

rf_status rf_store_delivery_next_due(rf_store *s, const char *kind, int64_t now, int64_t *next_at, rf_err *err)
{
	*next_at = 0;
	/* Walks the due index in next_at order: only the deliveries claimed right now (a sender's in-flight ones) are
	 * passed over. */
	rf_db_stmt *st = rf_q_prep(s,
				   "SELECT next_at FROM deliveries WHERE kind = ?1 AND status = 'pending' AND "
				   "lease_until <= ?2 ORDER BY next_at LIMIT 1",
				   err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, kind);
	rf_db_bind_int(st, 2, now);
	int rc = rf_db_step(st);
	if (rc == RF_DB_ROW)
		*next_at = rf_db_col_int(st, 0);
	rf_db_reset(st);
	return rc == RF_DB_ROW || rc == RF_DB_DONE ? RF_OK : rf_q_fail(s, err, "reading the next due delivery");
}

rf_status rf_store_deliveries_cancel(rf_store *s, const char *kind, const char *target_id, const char *reason,
				     int64_t at, int64_t *cancelled, rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(s,
				   "UPDATE deliveries SET status = 'cancelled', last_error = ?3, lease_until = 0, "
				   "updated_at = ?4 WHERE kind = ?1 AND target_id = ?2 AND status = 'pending'",
				   err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, kind);
	rf_db_bind_text(st, 2, target_id);
	rf_db_bind_text(st, 3, reason);
	rf_db_bind_int(st, 4, at);
	if (rf_q_done(s, st, NULL, err) != RF_OK)
		return err->status;
	if (cancelled)
		*cancelled = rf_db_changes(s->db);
	return RF_OK;
}

rf_status rf_store_delivery_retry(rf_store *s, const char *id, int64_t at, rf_err *err)
{
	rf_db_stmt *st =
	    rf_q_prep(s,
		      "UPDATE deliveries SET status = 'pending', next_at = ?2, lease_until = 0, updated_at = ?2 "
		      "WHERE id = ?1 AND status = 'failed'",
		      err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, id);
	rf_db_bind_int(st, 2, at);
	if (rf_q_done(s, st, NULL, err) != RF_OK)
		return err->status;
	if (rf_db_changes(s->db) > 0)
		return RF_OK;
	rf_delivery d;
	rf_arena a;
	rf_arena_init(&a, 0);
	rf_status rc = rf_store_delivery_get(s, id, &d, &a, err);
	if (rc == RF_OK)
		rc = rf_err_set(err, RF_ECONFLICT, "status", "the delivery is %s, not failed", d.status);
	rf_arena_reset(&a);
	return rc;
}

rf_status rf_store_delivery_list(rf_store *s, const rf_delivery_filter *f, rf_delivery **items, size_t *n,
				 bool *has_more, rf_arena *a, rf_err *err)
{
	int64_t after = INT64_MAX;
	if (f->page.starting_after && rf_q_cursor_seq(s, "deliveries", f->page.starting_after, &after, err) != RF_OK)
		return err->status;
	rf_q_keyset k;
	rf_q_keyset_sql(s, "deliveries", "d", false, f->page.settled, &k);
	char sql[2048];
	snprintf(sql, sizeof sql,
		 "SELECT " DELIVERY_COLS
		 " FROM deliveries d WHERE %s AND (CAST(?2 AS TEXT) IS NULL OR d.target_id = ?2) "
		 "AND (CAST(?3 AS TEXT) IS NULL OR d.event_id = ?3) AND (CAST(?4 AS TEXT) IS NULL OR d.status = ?4) "
		 "ORDER BY %s LIMIT ?5",
		 k.cond, k.order);
	rf_db_stmt *st = rf_q_prep(s, sql, err);
	if (!st)
		return RF_EIO;
	rf_db_bind_int(st, 1, after);
	rf_db_bind_text(st, 2, f->target_id);
	rf_db_bind_text(st, 3, f->event_id);
	rf_db_bind_text(st, 4, f->status);
	rf_db_bind_int(st, 5, f->page.limit + 1);
	return rf_q_collect(s, st, f->page.limit, sizeof(rf_delivery), delivery_fill, (void **)items, n, has_more, a,
			    err);
}

static void attempt_fill(rf_db_stmt *st, void *item, rf_arena *a)
{
	rf_delivery_attempt *t = item;
	memset(t, 0, sizeof *t);
	t->delivery_id = rf_q_text(st, 0, a);
	t->at = rf_db_col_int(st, 1);
	t->has_status_code = rf_db_col_type(st, 2) != RF_DB_T_NULL;
	t->status_code = (int)rf_db_col_int(st, 2);
	t->latency_ms = rf_db_col_int(st, 3);
	t->response = rf_q_text(st, 4, a);
	t->error = rf_q_text(st, 5, a);
}

rf_status rf_store_delivery_attempts(rf_store *s, const char *delivery_id, rf_delivery_attempt **items, size_t *n,
				     rf_arena *a, rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(s,
				   "SELECT delivery_id, at, status_code, latency_ms, response, error FROM "
				   "delivery_attempts WHERE delivery_id = ?1 ORDER BY seq LIMIT 1001",
				   err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, delivery_id);
	bool more = false;
	return rf_q_collect(s, st, 1000, sizeof(rf_delivery_attempt), attempt_fill, (void **)items, n, &more, a, err);
}
