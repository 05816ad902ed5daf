/* SPDX-License-Identifier: Apache-2.0 */
/* The SQLite backend's payouts: runs, their items and the entries each item pays, the lock that keeps an entry
 * in one approved run, and the sums statements and forecasts read. */
#include <stdio.h>
#include <string.h>

#include "store_internal.h"

/* The entries a run may take: approved, converted, not held by an approved run, with an event by the cutoff. */
#define OWED_ENTRIES                                                                                                \
	"c.program_id = ?1 AND c.status = 'approved' AND c.amount IS NOT NULL AND c.event_at <= ?2 AND NOT EXISTS " \
	"(SELECT 1 FROM payout_locks l WHERE l.commission_id = c.id)"

static void group_fill(rf_db_stmt *st, void *item, rf_arena *a)
{
	rf_payout_group *g = item;
	g->partner_id = rf_q_text(st, 0, a);
	rf_q_code(st, 1, g->currency);
	g->amount = rf_db_col_int(st, 2);
	g->entries = rf_db_col_int(st, 3);
}

rf_status rf_store_payout_groups(rf_store *s, const char *program_id, int64_t cutoff, int max, rf_payout_group **items,
				 size_t *n, rf_arena *a, rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(s,
				   "SELECT c.partner_id, c.currency, sum(c.amount), count(*) FROM commissions c "
				   "WHERE " OWED_ENTRIES " GROUP BY c.partner_id, c.currency "
				   "ORDER BY c.partner_id, c.currency LIMIT ?3",
				   err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, program_id);
	rf_db_bind_int(st, 2, cutoff);
	rf_db_bind_int(st, 3, max + 1);
	bool more = false;
	return rf_q_collect(s, st, max, sizeof(rf_payout_group), group_fill, (void **)items, n, &more, a, err);
}

#define RUN_COLS \
	"id, program_id, status, cutoff, left_out, created_by, approved_by, created_at, approved_at, updated_at"

static void run_fill(rf_db_stmt *st, void *item, rf_arena *a)
{
	rf_payout_run *r = item;
	memset(r, 0, sizeof *r);
	r->id = rf_q_text(st, 0, a);
	r->program_id = rf_q_text(st, 1, a);
	r->status = rf_q_text(st, 2, a);
	r->cutoff = rf_db_col_int(st, 3);
	r->left_out = rf_q_text(st, 4, a);
	r->created_by = rf_q_text(st, 5, a);
	r->approved_by = rf_q_text(st, 6, a);
	r->created_at = rf_db_col_int(st, 7);
	r->approved_at = rf_db_col_int(st, 8);
	r->updated_at = rf_db_col_int(st, 9);
}

static void run_bind(rf_db_stmt *st, const rf_payout_run *r)
{
	rf_db_bind_text(st, 1, r->id);
	rf_db_bind_text(st, 2, r->program_id);
	rf_db_bind_text(st, 3, r->status);
	rf_db_bind_int(st, 4, r->cutoff);
	rf_db_bind_text(st, 5, r->left_out ? r->left_out : "[]");
	rf_db_bind_text(st, 6, r->created_by);
	rf_db_bind_text(st, 7, r->approved_by);
	rf_db_bind_int(st, 8, r->created_at);
	rf_db_bind_int(st, 9, r->approved_at);
	rf_db_bind_int(st, 10, r->updated_at);
}

rf_status rf_store_payout_run_insert(rf_store *s, const rf_payout_run *r, rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(s, "INSERT INTO payout_runs (" RUN_COLS ") VALUES (?,?,?,?,?,?,?,?,?,?)", err);
	if (!st)
		return RF_EIO;
	run_bind(st, r);
	return rf_q_done(s, st, "id", err);
}

rf_status rf_store_payout_run_update(rf_store *s, const rf_payout_run *r, rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(s,
				   "UPDATE payout_runs SET program_id = ?2, status = ?3, cutoff = ?4, left_out = "
				   "?5, created_by = ?6, approved_by = ?7, created_at = ?8, approved_at = ?9, "
				   "updated_at = ?10 WHERE id = ?1",
				   err);
	if (!st)
		return RF_EIO;
	run_bind(st, r);
	return rf_q_done(s, st, NULL, err);
}

rf_status rf_store_payout_run_get(rf_store *s, const char *id, rf_payout_run *out, rf_arena *a, rf_err *err)
{
	return rf_q_get_one(s, "SELECT " RUN_COLS " FROM payout_runs WHERE id = ?", id, run_fill, out, a, "payout run",
			    err);
}

rf_status rf_store_payout_run_list(rf_store *s, const rf_page *page, const char *program_id, rf_payout_run **items,
				   size_t *n, bool *has_more, rf_arena *a, rf_err *err)
{
	int64_t after = INT64_MAX;
	if (page->starting_after && rf_q_cursor_seq(s, "payout_runs", page->starting_after, &after, err) != RF_OK)
		return err->status;
	rf_q_keyset k;
	rf_q_keyset_sql(s, "payout_runs", "payout_runs", false, page->settled, &k);
	char sql[2048];
	snprintf(sql, sizeof sql,
		 "SELECT " RUN_COLS " FROM payout_runs WHERE %s AND (CAST(?2 AS TEXT) IS NULL OR program_id = ?2) "
		 "ORDER BY %s LIMIT ?3",
		 k.cond, k.order);
	rf_db_stmt *st = rf_q_prep(s, sql, err);
	if (!st)
		return RF_EIO;
	rf_db_bind_int(st, 1, after);
	rf_db_bind_text(st, 2, program_id);
	rf_db_bind_int(st, 3, page->limit + 1);
	return rf_q_collect(s, st, page->limit, sizeof(rf_payout_run), run_fill, (void **)items, n, has_more, a, err);
}

#define ITEM_COLS                                                                                         \
	"id, run_id, partner_id, amount, currency, entries, status, reference, failure_reason, paid_at, " \
	"created_at, updated_at"

static void item_fill(rf_db_stmt *st, void *item, rf_arena *a)
{
	rf_payout_item *it = item;
	memset(it, 0, sizeof *it);
	it->id = rf_q_text(st, 0, a);
	it->run_id = rf_q_text(st, 1, a);
	it->partner_id = rf_q_text(st, 2, a);
	it->amount = rf_db_col_int(st, 3);
	rf_q_code(st, 4, it->currency);
	it->entries = rf_db_col_int(st, 5);
	it->status = rf_q_text(st, 6, a);
	it->reference = rf_q_text(st, 7, a);
	it->failure_reason = rf_q_text(st, 8, a);
	it->paid_at = rf_db_col_int(st, 9);
	it->created_at = rf_db_col_int(st, 10);
	it->updated_at = rf_db_col_int(st, 11);
}

rf_status rf_store_payout_item_insert(rf_store *s, const rf_payout_item *it, const char *program_id, int64_t cutoff,
				      rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(s, "INSERT INTO payout_items (" ITEM_COLS ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, it->id);
	rf_db_bind_text(st, 2, it->run_id);
	rf_db_bind_text(st, 3, it->partner_id);
	rf_db_bind_int(st, 4, it->amount);
	rf_db_bind_text(st, 5, it->currency);
	rf_db_bind_int(st, 6, it->entries);
	rf_db_bind_text(st, 7, it->status);
	rf_db_bind_text(st, 8, it->reference);
	rf_db_bind_text(st, 9, it->failure_reason);
	rf_db_bind_int(st, 10, it->paid_at);
	rf_db_bind_int(st, 11, it->created_at);
	rf_db_bind_int(st, 12, it->updated_at);
	rf_status rc = rf_q_done(s, st, "partner_id", err);
	if (rc != RF_OK)
		return rc;
	st = rf_q_prep(s,
		       "INSERT INTO payout_item_entries (item_id, commission_id) SELECT ?3, c.id FROM commissions c "
		       "WHERE " OWED_ENTRIES " AND c.partner_id = ?4 AND c.currency = ?5",
		       err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, program_id);
	rf_db_bind_int(st, 2, cutoff);
	rf_db_bind_text(st, 3, it->id);
	rf_db_bind_text(st, 4, it->partner_id);
	rf_db_bind_text(st, 5, it->currency);
	return rf_q_done(s, st, NULL, err);
}

rf_status rf_store_payout_item_update(rf_store *s, const rf_payout_item *it, rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(s,
				   "UPDATE payout_items SET status = ?2, reference = ?3, failure_reason = ?4, "
				   "paid_at = ?5, updated_at = ?6 WHERE id = ?1",
				   err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, it->id);
	rf_db_bind_text(st, 2, it->status);
	rf_db_bind_text(st, 3, it->reference);
	rf_db_bind_text(st, 4, it->failure_reason);
	rf_db_bind_int(st, 5, it->paid_at);
	rf_db_bind_int(st, 6, it->updated_at);
	return rf_q_done(s, st, NULL, err);
}

rf_status rf_store_payout_item_get(rf_store *s, const char *id, rf_payout_item *out, rf_arena *a, rf_err *err)
{
	return rf_q_get_one(s, "SELECT " ITEM_COLS " FROM payout_items WHERE id = ?", id, item_fill, out, a,
			    "payout item", err);
}

rf_status rf_store_payout_items(rf_store *s, const char *run_id, const char *partner_id, int64_t from, int64_t to,
				int max, rf_payout_item **items, size_t *n, rf_arena *a, rf_err *err)
{
	rf_db_stmt *st =
	    rf_q_prep(s,
		      run_id ? "SELECT " ITEM_COLS " FROM payout_items WHERE run_id = ?1 ORDER BY seq LIMIT ?5"
			     : "SELECT " ITEM_COLS
			       " FROM payout_items WHERE partner_id = ?2 AND status = 'paid' AND paid_at >= ?3 "
			       "AND paid_at < ?4 ORDER BY paid_at, seq LIMIT ?5",
		      err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, run_id);
	rf_db_bind_text(st, 2, partner_id);
	rf_db_bind_int(st, 3, from);
	rf_db_bind_int(st, 4, to);
	rf_db_bind_int(st, 5, max + 1);
	bool more = false;
	return rf_q_collect(s, st, max, sizeof(rf_payout_item), item_fill, (void **)items, n, &more, a, err);
}

rf_status rf_store_payout_paid_range(rf_store *s, const char *program_id, int64_t from, int64_t to, int max,
				     rf_payout_item **items, size_t *n, rf_arena *a, rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(s,
				   "SELECT i.id, i.run_id, i.partner_id, i.amount, i.currency, i.entries, i.status, "
				   "i.reference, i.failure_reason, i.paid_at, i.created_at, i.updated_at FROM "
				   "payout_items i JOIN payout_runs r ON r.id = i.run_id WHERE r.program_id = ?1 AND "
				   "i.status = 'paid' AND i.paid_at >= ?2 AND i.paid_at < ?3 ORDER BY i.partner_id, "
				   "i.paid_at LIMIT ?4",
				   err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, program_id);
	rf_db_bind_int(st, 2, from);
	rf_db_bind_int(st, 3, to);
	rf_db_bind_int(st, 4, max + 1);
	bool more = false;
	return rf_q_collect(s, st, max, sizeof(rf_payout_item), item_fill, (void **)items, n, &more, a, err);
}

rf_status rf_store_payout_lock(rf_store *s, const char *run_id, rf_err *err)
{
	/* Every entry of the run's pending items must still be approved and free. */
	rf_db_stmt *st = rf_q_prep(s,
				   "SELECT count(*) FROM payout_item_entries e JOIN payout_items i ON i.id = "
				   "e.item_id JOIN commissions c ON c.id = e.commission_id WHERE i.run_id = ?1 AND "
				   "i.status = 'pending' AND (c.status <> 'approved' OR EXISTS (SELECT 1 FROM "
				   "payout_locks l WHERE l.commission_id = c.id))",
				   err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, run_id);
	int64_t taken = 0;
	if (rf_q_one_int(s, st, &taken, err) != RF_OK)
		return err->status;
	if (taken > 0)
		return rf_err_set(err, RF_ECONFLICT, "status",
				  "%lld of this run's entries were paid, taken by another approved run or changed "
				  "since the draft; create a new run",
				  (long long)taken);
	st = rf_q_prep(
	    s,
	    "INSERT INTO payout_locks (commission_id, item_id, run_id) SELECT e.commission_id, i.id, i.run_id "
	    "FROM payout_item_entries e JOIN payout_items i ON i.id = e.item_id WHERE i.run_id = ?1 AND "
	    "i.status = 'pending'",
	    err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, run_id);
	rf_status r = rf_q_done(s, st, "status", err);
	if (r == RF_ECONFLICT)
		return rf_err_set(err, RF_ECONFLICT, "status", "another approved run took some of these entries");
	return r;
}

rf_status rf_store_payout_unlock_item(rf_store *s, const char *item_id, rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(s, "DELETE FROM payout_locks WHERE item_id = ?", err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, item_id);
	return rf_q_done(s, st, NULL, err);
}

/* The commission row filler lives with the ledger; this reads its columns through a commission get. */
rf_status rf_store_payout_item_entries(rf_store *s, const char *item_id, int max, rf_commission **items, size_t *n,
				       rf_arena *a, rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(
	    s, "SELECT commission_id FROM payout_item_entries WHERE item_id = ? ORDER BY commission_id LIMIT ?", err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, item_id);
	rf_db_bind_int(st, 2, max);
	char **ids = rf_arena_alloc(a, sizeof *ids * (size_t)max);
	*items = rf_arena_alloc(a, sizeof **items * (size_t)max);
	*n = 0;
	if (!ids || !*items) {
		rf_db_reset(st);
		return rf_err_set(err, RF_ENOMEM, NULL, "out of memory");
	}
	size_t k = 0;
	int rc;
	while ((rc = rf_db_step(st)) == RF_DB_ROW)
		ids[k++] = rf_q_text(st, 0, a);
	rf_db_reset(st);
	if (rc != RF_DB_DONE)
		return rf_q_fail(s, err, "reading a payout item's entries");
	for (size_t i = 0; i < k; i++) {
		rf_status r = rf_store_commission_get(s, ids[i], &(*items)[i], a, err);
		if (r != RF_OK)
			return r;
	}
	*n = k;
	return RF_OK;
}

/* Adds sum to the row of currency in out (creating it), for the per-currency sums below. */
static rf_totals *totals_row(rf_totals *out, size_t max, size_t *n, const char *cur)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp(out[i].currency, cur) == 0)
			return &out[i];
	if (*n == max)
		return NULL;
	rf_totals *t = &out[(*n)++];
	memset(t, 0, sizeof *t);
	snprintf(t->currency, 4, "%s", cur);
	return t;
}

rf_status rf_store_partner_totals_before(rf_store *s, const char *partner_id, int64_t before, rf_totals *out,
					 size_t max, size_t *n, rf_err *err)
{
	*n = 0;
	rf_db_stmt *st = rf_q_prep(s,
				   "SELECT currency, sum(amount), 0 FROM commissions WHERE partner_id = ?1 AND "
				   "status <> 'rejected' AND amount IS NOT NULL AND event_at < ?2 GROUP BY currency "
				   "UNION ALL SELECT currency, 0, sum(amount) FROM payout_items WHERE partner_id = ?1 "
				   "AND status = 'paid' AND paid_at < ?2 GROUP BY currency",
				   err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, partner_id);
	rf_db_bind_int(st, 2, before);
	int rc;
	while ((rc = rf_db_step(st)) == RF_DB_ROW) {
		char cur[4];
		rf_q_code(st, 0, cur);
		rf_totals *t = totals_row(out, max, n, cur);
		if (t) {
			t->earned += rf_db_col_int(st, 1);
			t->paid_out += rf_db_col_int(st, 2);
		}
	}
	rf_db_reset(st);
	return rc == RF_DB_DONE ? RF_OK : rf_q_fail(s, err, "summing a statement");
}

rf_status rf_store_payout_due_by(rf_store *s, const char *partner_id, int64_t by, rf_balance *out, size_t max,
				 size_t *n, rf_err *err)
{
	*n = 0;
	rf_db_stmt *st = rf_q_prep(s,
				   "SELECT c.currency, c.status, sum(c.amount) FROM commissions c WHERE "
				   "c.partner_id = ?1 AND c.status IN ('pending', 'approved') AND c.amount IS NOT "
				   "NULL AND c.hold_until <= ?2 AND NOT EXISTS (SELECT 1 FROM payout_locks l WHERE "
				   "l.commission_id = c.id) GROUP BY c.currency, c.status ORDER BY c.currency",
				   err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, partner_id);
	rf_db_bind_int(st, 2, by);
	int rc;
	while ((rc = rf_db_step(st)) == RF_DB_ROW) {
		char cur[4];
		rf_q_code(st, 0, cur);
		size_t i = 0;
		while (i < *n && strcmp(out[i].currency, cur) != 0)
			i++;
		if (i == *n) {
			if (*n == max)
				continue;
			memset(&out[i], 0, sizeof out[i]);
			memcpy(out[i].currency, cur, 4);
			(*n)++;
		}
		if (strcmp((const char *)rf_db_col_text(st, 1, NULL), "pending") == 0)
			out[i].pending += rf_db_col_int(st, 2);
		else
			out[i].approved += rf_db_col_int(st, 2);
	}
	rf_db_reset(st);
	return rc == RF_DB_DONE ? RF_OK : rf_q_fail(s, err, "summing what is due");
}
