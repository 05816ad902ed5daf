/* SPDX-License-Identifier: Apache-2.0 */
/* Connections to other systems, the log of what each one sent (deduplicated per connection), and what refd learnt
 * from those systems about their objects. */
#include <stdio.h>
#include <string.h>

#include "store_internal.h"

/* ---- connections ---- */

#define CONNECTION_COLS                                                                                         \
	"c.id, c.program_id, c.system, c.name, c.status, c.credentials_sealed, c.credential_keys, c.settings, " \
	"c.stage_map, c.base_url, c.last_event_at, c.created_at, c.updated_at"

static void connection_fill(rf_db_stmt *st, void *item, rf_arena *a)
{
	rf_connection *c = item;
	memset(c, 0, sizeof *c);
	c->id = rf_q_text(st, 0, a);
	c->program_id = rf_q_text(st, 1, a);
	c->system = rf_q_text(st, 2, a);
	c->name = rf_q_text(st, 3, a);
	c->status = rf_q_text(st, 4, a);
	size_t n = 0;
	const void *b = rf_db_col_blob(st, 5, &n);
	if (b) {
		c->credentials_sealed = rf_arena_alloc(a, n ? n : 1);
		if (c->credentials_sealed) {
			memcpy(c->credentials_sealed, b, n);
			c->credentials_sealed_len = n;
		}
	}
	c->credential_keys = rf_q_text(st, 6, a);
	c->settings = rf_q_text(st, 7, a);
	c->stage_map = rf_q_text(st, 8, a);
	c->base_url = rf_q_text(st, 9, a);
	c->last_event_at = rf_db_col_int(st, 10);
	c->created_at = rf_db_col_int(st, 11);
	c->updated_at = rf_db_col_int(st, 12);
}

static void connection_bind(rf_db_stmt *st, const rf_connection *c)
{
	rf_db_bind_text(st, 1, c->id);
	rf_db_bind_text(st, 2, c->program_id);
	rf_db_bind_text(st, 3, c->system);
	rf_db_bind_text(st, 4, c->name);
	rf_db_bind_text(st, 5, c->status);
	rf_db_bind_blob(st, 6, c->credentials_sealed, c->credentials_sealed_len);
	rf_db_bind_text(st, 7, c->credential_keys ? c->credential_keys : "[]");
	rf_db_bind_text(st, 8, c->settings ? c->settings : "{}");
	rf_db_bind_text(st, 9, c->stage_map ? c->stage_map : "{}");
	rf_db_bind_text(st, 10, c->base_url);
	rf_db_bind_int(st, 11, c->last_event_at);
	rf_db_bind_int(st, 12, c->created_at);
	rf_db_bind_int(st, 13, c->updated_at);
}

rf_status rf_store_connection_insert(rf_store *s, const rf_connection *c, rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(s,
				   "INSERT INTO connections (id, program_id, system, name, status, credentials_sealed, "
				   "credential_keys, settings, stage_map, base_url, last_event_at, created_at, "
				   "updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
				   err);
	if (!st)
		return RF_EIO;
	connection_bind(st, c);
	/* Its one natural key besides the id: a program connects a system once. */
	return rf_q_conflict_on(s, rf_q_done(s, st, "id", err), "system", "system", err);
}

rf_status rf_store_connection_update(rf_store *s, const rf_connection *c, rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(s,
				   "UPDATE connections SET name = ?4, status = ?5, credentials_sealed = ?6, "
				   "credential_keys = ?7, settings = ?8, stage_map = ?9, base_url = ?10, "
				   "last_event_at = ?11, updated_at = ?13 WHERE id = ?1 AND program_id = ?2 AND "
				   "system = ?3 AND created_at = ?12",
				   err);
	if (!st)
		return RF_EIO;
	connection_bind(st, c);
	rf_status rc = rf_q_done(s, st, NULL, err);
	if (rc == RF_OK && rf_db_changes(s->db) == 0)
		return rf_err_set(err, RF_ENOTFOUND, "id", "no such connection");
	return rc;
}

rf_status rf_store_connection_get(rf_store *s, const char *id, rf_connection *out, rf_arena *a, rf_err *err)
{
	return rf_q_get_one(s, "SELECT " CONNECTION_COLS " FROM connections c WHERE c.id = ?", id, connection_fill, out,
			    a, "connection", err);
}

rf_status rf_store_connection_find(rf_store *s, const char *program_id, const char *system, rf_connection *out,
				   rf_arena *a, rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(
	    s, "SELECT " CONNECTION_COLS " FROM connections c WHERE c.program_id = ?1 AND c.system = ?2", err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, program_id);
	rf_db_bind_text(st, 2, system);
	return rf_q_one_row(s, st, connection_fill, out, a, "connection", err);
}

rf_status rf_store_connection_list(rf_store *s, const rf_page *page, const char *program_id, rf_connection **items,
				   size_t *n, bool *has_more, rf_arena *a, rf_err *err)
{
	int64_t after = INT64_MAX;
	if (page->starting_after && rf_q_cursor_seq(s, "connections", page->starting_after, &after, err) != RF_OK)
		return err->status;
	rf_q_keyset k;
	rf_q_keyset_sql(s, "connections", "c", false, page->settled, &k);
	char sql[2048];
	snprintf(sql, sizeof sql,
		 "SELECT " CONNECTION_COLS " FROM connections c WHERE %s AND (CAST(?2 AS TEXT) IS NULL OR "
		 "c.program_id = ?2) ORDER BY %s LIMIT ?3",
		 k.cond, k.order);
	rf_db_stmt *st = rf_q_prep(s, sql, err);
	if (!st)
		return RF_EIO;
	rf_db_bind_int(st, 1, after);
	rf_db_bind_text(st, 2, program_id);
	rf_db_bind_int(st, 3, page->limit + 1);
	return rf_q_collect(s, st, page->limit, sizeof(rf_connection), connection_fill, (void **)items, n, has_more, a,
			    err);
}

static rf_status exec_with(rf_store *s, const char *sql, const char *p1, const char *p2, rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(s, sql, err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, p1);
	if (p2)
		rf_db_bind_text(st, 2, p2);
	return rf_q_done(s, st, NULL, err);
}

rf_status rf_store_connection_delete(rf_store *s, const char *id, rf_err *err)
{
	rf_arena a;
	rf_arena_init(&a, 0);
	rf_connection c;
	rf_status rc = rf_store_connection_get(s, id, &c, &a, err);
	if (rc == RF_OK)
		rc = exec_with(s, "DELETE FROM inbound_events WHERE connection_id = ?1", id, NULL, err);
	if (rc == RF_OK)
		rc = exec_with(s, "DELETE FROM external_objects WHERE program_id = ?1 AND system = ?2", c.program_id,
			       c.system, err);
	if (rc == RF_OK)
		rc = exec_with(s, "DELETE FROM connections WHERE id = ?1", id, NULL, err);
	rf_arena_reset(&a);
	return rc;
}

/* ---- the inbound event log ---- */

#define INBOUND_COLS                                                                                             \
	"e.id, e.connection_id, e.program_id, e.system, e.event_id, e.dedupe_key, e.type, e.outcome, e.reason, " \
	"e.object_id, e.status_code, e.occurred_at, e.received_at, e.payload"

static void inbound_fill(rf_db_stmt *st, void *item, rf_arena *a)
{
	rf_inbound_event *e = item;
	memset(e, 0, sizeof *e);
	e->id = rf_q_text(st, 0, a);
	e->connection_id = rf_q_text(st, 1, a);
	e->program_id = rf_q_text(st, 2, a);
	e->system = rf_q_text(st, 3, a);
	e->event_id = rf_q_text(st, 4, a);
	e->dedupe_key = rf_q_text(st, 5, a);
	e->type = rf_q_text(st, 6, a);
	e->outcome = rf_q_text(st, 7, a);
	e->reason = rf_q_text(st, 8, a);
	e->object_id = rf_q_text(st, 9, a);
	e->status_code = (int)rf_db_col_int(st, 10);
	e->occurred_at = rf_db_col_int(st, 11);
	e->received_at = rf_db_col_int(st, 12);
	e->payload = rf_q_text(st, 13, a);
}

rf_status rf_store_inbound_event_insert(rf_store *s, const rf_inbound_event *e, rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(s,
				   "INSERT INTO inbound_events (id, connection_id, program_id, system, event_id, "
				   "dedupe_key, type, outcome, reason, object_id, status_code, occurred_at, "
				   "received_at, payload) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
				   "?13, ?14)",
				   err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, e->id);
	rf_db_bind_text(st, 2, e->connection_id);
	rf_db_bind_text(st, 3, e->program_id);
	rf_db_bind_text(st, 4, e->system);
	rf_db_bind_text(st, 5, e->event_id);
	rf_db_bind_text(st, 6, e->dedupe_key);
	rf_db_bind_text(st, 7, e->type);
	rf_db_bind_text(st, 8, e->outcome);
	rf_db_bind_text(st, 9, e->reason);
	rf_db_bind_text(st, 10, e->object_id);
	rf_db_bind_int(st, 11, e->status_code);
	rf_db_bind_int(st, 12, e->occurred_at);
	rf_db_bind_int(st, 13, e->received_at);
	rf_db_bind_text(st, 14, e->payload);
	/* The dedupe key was looked up first: another transaction handling the same event at once makes this one
	 * run again, and find it handled. */
	return rf_q_raced(s, rf_q_done(s, st, "dedupe_key", err), err);
}

rf_status rf_store_inbound_event_find(rf_store *s, const char *connection_id, const char *dedupe_key,
				      rf_inbound_event *out, rf_arena *a, rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(
	    s, "SELECT " INBOUND_COLS " FROM inbound_events e WHERE e.connection_id = ?1 AND e.dedupe_key = ?2", err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, connection_id);
	rf_db_bind_text(st, 2, dedupe_key);
	return rf_q_one_row(s, st, inbound_fill, out, a, "inbound event", err);
}

rf_status rf_store_inbound_event_get(rf_store *s, const char *id, rf_inbound_event *out, rf_arena *a, rf_err *err)
{
	return rf_q_get_one(s, "SELECT " INBOUND_COLS " FROM inbound_events e WHERE e.id = ?", id, inbound_fill, out, a,
			    "inbound event", err);
}

rf_status rf_store_inbound_event_settle(rf_store *s, const rf_inbound_event *e, rf_err *err)
{
	rf_db_stmt *st =
	    rf_q_prep(s, "UPDATE inbound_events SET outcome = ?2, reason = ?3, object_id = ?4 WHERE id = ?1", err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, e->id);
	rf_db_bind_text(st, 2, e->outcome);
	rf_db_bind_text(st, 3, e->reason);
	rf_db_bind_text(st, 4, e->object_id);
	if (rf_q_done(s, st, NULL, err) != RF_OK)
		return err->status;
	if (rf_db_changes(s->db) == 0)
		return rf_err_set(err, RF_ENOTFOUND, NULL, "no such inbound event %s", e->id);
	return RF_OK;
}

rf_status rf_store_inbound_event_list(rf_store *s, const rf_inbound_event_filter *f, rf_inbound_event **items,
				      size_t *n, bool *has_more, rf_arena *a, rf_err *err)
{
	int64_t after = INT64_MAX;
	if (f->page.starting_after &&
	    rf_q_cursor_seq(s, "inbound_events", f->page.starting_after, &after, err) != RF_OK)
		return err->status;
	rf_q_keyset k;
	rf_q_keyset_sql(s, "inbound_events", "e", false, f->page.settled, &k);
	char sql[2048];
	snprintf(sql, sizeof sql,
		 "SELECT " INBOUND_COLS " FROM inbound_events e WHERE %s AND e.connection_id = ?2 AND "
		 "(CAST(?3 AS TEXT) IS NULL OR e.outcome = ?3) ORDER BY %s LIMIT ?4",
		 k.cond, k.order);
	rf_db_stmt *st = rf_q_prep(s, sql, err);
	if (!st)
		return RF_EIO;
	rf_db_bind_int(st, 1, after);
	rf_db_bind_text(st, 2, f->connection_id);
	rf_db_bind_text(st, 3, f->outcome);
	rf_db_bind_int(st, 4, f->page.limit + 1);
	return rf_q_collect(s, st, f->page.limit, sizeof(rf_inbound_event), inbound_fill, (void **)items, n, has_more,
			    a, err);
}

rf_status rf_store_inbound_event_trim(rf_store *s, const char *connection_id, const char *outcome, int keep,
				      rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(s,
				   "DELETE FROM inbound_events WHERE connection_id = ?1 AND outcome = ?2 AND seq < "
				   "(SELECT min(seq) FROM (SELECT seq FROM inbound_events WHERE connection_id = ?1 AND "
				   "outcome = ?2 ORDER BY seq DESC LIMIT ?3) AS newest)",
				   err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, connection_id);
	rf_db_bind_text(st, 2, outcome);
	rf_db_bind_int(st, 3, keep);
	return rf_q_done(s, st, NULL, err);
}

/* ---- what refd learnt of other systems' objects ---- */

rf_status rf_store_external_object_put(rf_store *s, const char *program_id, const char *system, const char *kind,
				       const char *external_id, const char *value, int64_t version, int64_t at,
				       rf_err *err)
{
	rf_db_stmt *st =
	    rf_q_prep(s,
		      "INSERT INTO external_objects (program_id, system, kind, external_id, value, version, "
		      "updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (program_id, system, "
		      "kind, external_id) DO UPDATE SET value = excluded.value, version = excluded.version, "
		      "updated_at = excluded.updated_at",
		      err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, program_id);
	rf_db_bind_text(st, 2, system);
	rf_db_bind_text(st, 3, kind);
	rf_db_bind_text(st, 4, external_id);
	rf_db_bind_text(st, 5, value);
	rf_db_bind_int(st, 6, version);
	rf_db_bind_int(st, 7, at);
	return rf_q_done(s, st, NULL, err);
}

rf_status rf_store_external_object_get(rf_store *s, const char *program_id, const char *system, const char *kind,
				       const char *external_id, char **value, int64_t *version, rf_arena *a,
				       rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(s,
				   "SELECT value, version FROM external_objects WHERE program_id = ?1 AND system = ?2 "
				   "AND kind = ?3 AND external_id = ?4",
				   err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, program_id);
	rf_db_bind_text(st, 2, system);
	rf_db_bind_text(st, 3, kind);
	rf_db_bind_text(st, 4, external_id);
	int rc = rf_db_step(st);
	if (rc == RF_DB_ROW) {
		if (value)
			*value = rf_q_text(st, 0, a);
		if (version)
			*version = rf_db_col_int(st, 1);
	}
	rf_db_reset(st);
	if (rc == RF_DB_ROW)
		return RF_OK;
	return rc == RF_DB_DONE ? rf_err_set(err, RF_ENOTFOUND, "external_id", "refd knows no such %s", kind)
				: rf_q_fail(s, err, "reading what refd knows of another system");
}
