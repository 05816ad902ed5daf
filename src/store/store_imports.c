/* SPDX-License-Identifier: Apache-2.0 */
/* What the imports need of the store: a partner found by its email in a program, the ids partners had in the
 * referral tool a business leaves (partner_refs), and the imports of the API with their reports. */
#include <string.h>

#include "store_internal.h"

rf_status rf_store_partner_ref_put(rf_store *s, const char *program_id, const char *ref, const char *partner_id,
				   int64_t at, rf_err *err)
{
	rf_db_stmt *st =
	    rf_q_prep(s, "INSERT INTO partner_refs (program_id, ref, partner_id, created_at) VALUES (?, ?, ?, ?)", err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, program_id);
	rf_db_bind_text(st, 2, ref);
	rf_db_bind_text(st, 3, partner_id);
	rf_db_bind_int(st, 4, at);
	/* The caller looked the ref up first: where transactions write at once, another import may have taken it
	 * meanwhile, and the transaction runs again to find it. */
	return rf_q_raced(s, rf_q_done(s, st, "ref", err), err);
}

rf_status rf_store_partner_ref_get(rf_store *s, const char *program_id, const char *ref, char **partner_id, rf_arena *a,
				   rf_err *err)
{
	*partner_id = NULL;
	rf_db_stmt *st = rf_q_prep(s, "SELECT partner_id FROM partner_refs WHERE program_id = ? AND ref = ?", err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, program_id);
	rf_db_bind_text(st, 2, ref);
	int rc = rf_db_step(st);
	if (rc == RF_DB_ROW)
		*partner_id = rf_q_text(st, 0, a);
	rf_db_reset(st);
	if (rc == RF_DB_ROW)
		return *partner_id ? RF_OK : rf_err_set(err, RF_ENOMEM, NULL, "out of memory");
	if (rc == RF_DB_DONE)
		return rf_err_set(err, RF_ENOTFOUND, "ref", "no partner has the ref %s", ref);
	return rf_q_fail(s, err, "reading a partner ref");
}

rf_status rf_store_bulk_writes(rf_store *s, rf_err *err)
{
	/* A savepoint per row writes the pages the row changes to the statement journal, a temporary file by default:
	 * in memory, an import's rows cost less than half as much. PostgreSQL keeps a subtransaction's undo itself. */
	if (rf_q_dialect(s) != RF_DB_SQLITE)
		return RF_OK;
	return rf_q_exec(s, "PRAGMA temp_store=MEMORY", err);
}

rf_status rf_store_import_put(rf_store *s, const rf_import_record *r, rf_err *err)
{
	rf_db_stmt *st =
	    rf_q_prep(s,
		      "INSERT INTO imports (id, program_id, status, report, created_by, created_at, updated_at) "
		      "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET status = excluded.status, "
		      "report = excluded.report, updated_at = excluded.updated_at",
		      err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, r->id);
	rf_db_bind_text(st, 2, r->program_id);
	rf_db_bind_text(st, 3, r->status);
	rf_db_bind_text(st, 4, r->report);
	rf_db_bind_text(st, 5, r->created_by);
	rf_db_bind_int(st, 6, r->created_at);
	rf_db_bind_int(st, 7, r->updated_at);
	return rf_q_done(s, st, "id", err);
}

rf_status rf_store_import_get(rf_store *s, const char *id, rf_import_record *out, rf_arena *a, rf_err *err)
{
	memset(out, 0, sizeof *out);
	rf_db_stmt *st = rf_q_prep(
	    s, "SELECT id, program_id, status, report, created_by, created_at, updated_at FROM imports WHERE id = ?",
	    err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, id);
	int rc = rf_db_step(st);
	if (rc == RF_DB_ROW) {
		out->id = rf_q_text(st, 0, a);
		out->program_id = rf_q_text(st, 1, a);
		out->status = rf_q_text(st, 2, a);
		out->report = rf_q_text(st, 3, a);
		out->created_by = rf_q_text(st, 4, a);
		out->created_at = rf_db_col_int(st, 5);
		out->updated_at = rf_db_col_int(st, 6);
	}
	rf_db_reset(st);
	if (rc == RF_DB_ROW)
		return out->id && out->report ? RF_OK : rf_err_set(err, RF_ENOMEM, NULL, "out of memory");
	if (rc == RF_DB_DONE)
		return rf_err_set(err, RF_ENOTFOUND, "id", "no such import");
	return rf_q_fail(s, err, "reading an import");
}

#define IMPORT_COLS "id, program_id, status, report, created_by, created_at, updated_at"

static void import_fill(rf_db_stmt *st, void *item, rf_arena *a)
{
	rf_import_record *r = item;
	r->id = rf_q_text(st, 0, a);
	r->program_id = rf_q_text(st, 1, a);
	r->status = rf_q_text(st, 2, a);
	r->report = rf_q_text(st, 3, a);
	r->created_by = rf_q_text(st, 4, a);
	r->created_at = rf_db_col_int(st, 5);
	r->updated_at = rf_db_col_int(st, 6);
}

rf_status rf_store_import_list(rf_store *s, const rf_page *page, rf_import_record **items, size_t *n, bool *has_more,
			       rf_arena *a, rf_err *err)
{
	/* Imports are few and each is written by its own connection as soon as it starts: they are ordered by when
	 * they started (the id breaks ties), and the cursor is the import the previous page ended with. */
	int64_t after_at = INT64_MAX;
	const char *after_id = "";
	if (page->starting_after) {
		rf_db_stmt *cur = rf_q_prep(s, "SELECT created_at FROM imports WHERE id = ?", err);
		if (!cur)
			return RF_EIO;
		rf_db_bind_text(cur, 1, page->starting_after);
		int rc = rf_db_step(cur);
		if (rc == RF_DB_ROW)
			after_at = rf_db_col_int(cur, 0);
		rf_db_reset(cur);
		if (rc == RF_DB_DONE)
			return rf_err_set(err, RF_EINVAL, "starting_after", "starting_after: no such import %.64s",
					  page->starting_after);
		if (rc != RF_DB_ROW)
			return rf_q_fail(s, err, "reading a cursor");
		after_id = page->starting_after;
	}
	rf_db_stmt *st = rf_q_prep(s,
				   "SELECT " IMPORT_COLS " FROM imports WHERE created_at < ?1 OR (created_at = ?1 AND "
				   "id < ?2) ORDER BY created_at DESC, id DESC LIMIT ?3",
				   err);
	if (!st)
		return RF_EIO;
	rf_db_bind_int(st, 1, after_at);
	/* With no cursor every id of the newest time qualifies: ids start with "imp_", above "". */
	rf_db_bind_text(st, 2, page->starting_after ? after_id : "~");
	rf_db_bind_int(st, 3, page->limit + 1);
	return rf_q_collect(s, st, page->limit, sizeof(rf_import_record), import_fill, (void **)items, n, has_more, a,
			    err);
}

rf_status rf_store_import_stale(rf_store *s, int64_t updated_before, int limit, rf_import_record **items, size_t *n,
				rf_arena *a, rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(s,
				   "SELECT " IMPORT_COLS " FROM imports WHERE status = 'running' AND updated_at < ? "
				   "ORDER BY created_at LIMIT ?",
				   err);
	if (!st)
		return RF_EIO;
	rf_db_bind_int(st, 1, updated_before);
	rf_db_bind_int(st, 2, limit);
	bool more = false;
	return rf_q_collect(s, st, limit, sizeof(rf_import_record), import_fill, (void **)items, n, &more, a, err);
}

rf_status rf_store_import_settle(rf_store *s, const rf_import_record *r, int64_t was_updated_at, rf_err *err)
{
	rf_db_stmt *st =
	    rf_q_prep(s,
		      "UPDATE imports SET status = ?, report = ?, updated_at = ? WHERE id = ? AND status = "
		      "'running' AND updated_at = ?",
		      err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, r->status);
	rf_db_bind_text(st, 2, r->report);
	rf_db_bind_int(st, 3, r->updated_at);
	rf_db_bind_text(st, 4, r->id);
	rf_db_bind_int(st, 5, was_updated_at);
	rf_status rc = rf_q_done(s, st, "id", err);
	if (rc == RF_OK && rf_db_changes(s->db) == 0)
		return rf_err_set(err, RF_ECONFLICT, "id", "the import was written meanwhile");
	return rc;
}
