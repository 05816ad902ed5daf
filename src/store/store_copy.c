/* SPDX-License-Identifier: Apache-2.0 */
/* Copying a whole database into an empty one of either kind (refd db copy: SQLite to PostgreSQL when a business
 * outgrows one file), with every table's rows and ids as they are, in one transaction on the target read from one
 * snapshot of the source; then checking the copy: row counts, every partner's ledger balance per currency and
 * status, and each program's report totals. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/dbuf.h"
#include "store_internal.h"

/* Every table refd keeps, in an order where each comes after those it refers to. A source table missing from the
 * list stops the copy (a table added by a later migration must be added here, not silently left behind). */
static const char *const tables[] = {
    "settings",
    "programs",
    "plans",
    "plan_versions",
    "partners",
    "users",
    "api_keys",
    "sessions",
    "login_failures",
    "audit_log",
    "links",
    "clicks",
    "leads",
    "lead_events",
    "idempotency",
    "customers",
    "sales",
    "refunds",
    "commissions",
    "commission_events",
    "fx_rates",
    "stripe_events",
    "payout_runs",
    "payout_items",
    "payout_item_entries",
    "payout_locks",
    "password_resets",
    "rollup_entity",
    "rollup_keys",
    "rollup_daily",
    "rollup_volume",
    "events",
    "webhook_endpoints",
    "deliveries",
    "delivery_attempts",
    "connections",
    "inbound_events",
    "external_objects",
    "mail_messages",
    "mail_optouts",
    "mail_runs",
    "partner_refs",
    "imports",
};
#define NTABLES (sizeof tables / sizeof tables[0])

/* Tables with a seq identity, whose next value PostgreSQL must be told after rows came with their own seq. */
static const char *const seq_tables[] = {
    "programs",          "partners",     "users",          "api_keys",          "login_failures",
    "audit_log",         "links",        "leads",          "lead_events",       "plans",
    "customers",         "sales",        "refunds",        "commissions",       "commission_events",
    "payout_runs",       "payout_items", "events",         "webhook_endpoints", "deliveries",
    "delivery_attempts", "connections",  "inbound_events", "mail_messages"};

/* Rows per INSERT while copying. */
#define BATCH 64

static bool known(const char *t)
{
	for (size_t i = 0; i < NTABLES; i++)
		if (strcmp(tables[i], t) == 0)
			return true;
	/* The migrations' own bookkeeping is made by migrating the target; SQLite's full-text indexes (words and
	 * trigrams) follow their table by triggers, and PostgreSQL keeps its search data in the partners table. */
	return strcmp(t, "schema_migrations") == 0 || strncmp(t, "partners_fts", 12) == 0 ||
	       strncmp(t, "partners_trgm", 13) == 0 || strncmp(t, "sqlite_", 7) == 0;
}

/* Refuses a source with a table the copy does not know. */
static rf_status check_tables(rf_store *src, rf_err *err)
{
	const char *sql =
	    rf_q_dialect(src) == RF_DB_SQLITE
		? "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
		: "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() "
		  "AND table_type = 'BASE TABLE' ORDER BY table_name";
	rf_db_stmt *st = rf_q_prep(src, sql, err);
	if (!st)
		return err->status;
	int rc;
	while ((rc = rf_db_step(st)) == RF_DB_ROW) {
		const char *t = rf_db_col_text(st, 0, NULL);
		if (t && !known(t)) {
			rf_err_set(err, RF_EINVAL, "from", "the source has a table this refd does not copy: %s", t);
			rf_db_reset(st);
			return RF_EINVAL;
		}
	}
	rf_db_reset(st);
	return rc == RF_DB_DONE ? RF_OK : rf_q_fail(src, err, "listing tables");
}

static rf_status count_rows(rf_store *s, const char *table, int64_t *n, rf_err *err)
{
	char sql[96];
	snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
	rf_db_stmt *st = rf_q_prep(s, sql, err);
	if (!st)
		return err->status;
	return rf_q_one_int(s, st, n, err);
}

/* One value of a row read from the source, kept until its batch is written. */
typedef struct {
	rf_db_type type;
	int64_t i;
	const void *p; /* text or blob bytes, in the batch's arena */
	size_t len;
} cell;

/* Keeps the current row of src in cells (ncols of them), its bytes in the arena; false when memory runs out. */
static bool keep_row(rf_db_stmt *src, int ncols, cell *cells, rf_arena *a)
{
	for (int c = 0; c < ncols; c++) {
		cell *v = &cells[c];
		v->type = rf_db_col_type(src, c);
		v->len = 0;
		v->p = NULL;
		if (v->type == RF_DB_T_INT) {
			v->i = rf_db_col_int(src, c);
		} else if (v->type == RF_DB_T_FLOAT) {
			/* No refd column holds fractions; a float here is an integer a database widened. */
			v->type = RF_DB_T_INT;
			v->i = (int64_t)rf_db_col_double(src, c);
		} else if (v->type == RF_DB_T_TEXT || v->type == RF_DB_T_BLOB) {
			const void *b = v->type == RF_DB_T_TEXT ? (const void *)rf_db_col_text(src, c, &v->len)
								: rf_db_col_blob(src, c, &v->len);
			char *copy = rf_arena_alloc(a, v->len + 1);
			if (!copy)
				return false;
			if (v->len)
				memcpy(copy, b, v->len);
			copy[v->len] = '\0';
			v->p = copy;
		}
	}
	return true;
}

static void bind_cells(rf_db_stmt *ins, const cell *cells, int n)
{
	for (int k = 0; k < n; k++) {
		const cell *v = &cells[k];
		switch (v->type) {
		case RF_DB_T_INT:
		case RF_DB_T_FLOAT:
			rf_db_bind_int(ins, k + 1, v->i);
			break;
		case RF_DB_T_TEXT:
			rf_db_bind_textn(ins, k + 1, v->p, v->len);
			break;
		case RF_DB_T_BLOB:
			rf_db_bind_blob(ins, k + 1, v->p, v->len);
			break;
		case RF_DB_T_NULL:
			rf_db_bind_null(ins, k + 1);
			break;
		}
	}
}

/* INSERT INTO table (columns) VALUES (…) × rows, in the arena; settings replace the target's own rows (its
 * migrations made some). */
static char *insert_sql(rf_arena *a, const char *table, char **cols, int ncols, int rows)
{
	rf_dbuf b = RF_DBUF_INIT(1 << 20);
	rf_dbuf_addf(&b, "INSERT INTO %s (", table);
	for (int c = 0; c < ncols; c++)
		rf_dbuf_addf(&b, "%s%s", c ? ", " : "", cols[c]);
	rf_dbuf_adds(&b, ") VALUES ");
	for (int r = 0; r < rows; r++) {
		rf_dbuf_adds(&b, r ? ", (" : "(");
		for (int c = 0; c < ncols; c++)
			rf_dbuf_addf(&b, "%s?%d", c ? ", " : "", r * ncols + c + 1);
		rf_dbuf_adds(&b, ")");
	}
	if (strcmp(table, "settings") == 0)
		rf_dbuf_adds(&b, " ON CONFLICT (key) DO UPDATE SET value = excluded.value");
	char *out = rf_dbuf_status(&b) == RF_OK ? rf_arena_strdup(a, b.p) : NULL;
	rf_dbuf_free(&b);
	return out;
}

/* Writes the rows kept so far as one INSERT. */
static rf_status flush_rows(rf_store *to, const char *table, char **cols, int ncols, const cell *cells, int rows,
			    rf_arena *a, rf_err *err)
{
	char *sql = insert_sql(a, table, cols, ncols, rows);
	rf_db_stmt *ins = sql ? rf_q_prep(to, sql, err) : NULL;
	if (!ins)
		return sql ? err->status : rf_err_set(err, RF_ENOMEM, NULL, "out of memory");
	bind_cells(ins, cells, rows * ncols);
	return rf_q_done(to, ins, NULL, err);
}

/* The columns of the source's rows that the target has too: PostgreSQL's derived search column, for one, is not
 * SQLite's, and is computed by the target itself. */
static rf_status shared_columns(rf_store *from, rf_store *to, const char *table, char ***cols, int **from_idx, int *n,
				rf_arena *a, rf_err *err)
{
	char sql[96];
	snprintf(sql, sizeof sql, "SELECT * FROM %s WHERE 1 = 0", table);
	rf_db_stmt *fs = rf_q_prep(from, sql, err), *ts = fs ? rf_q_prep(to, sql, err) : NULL;
	if (!fs || !ts)
		return err->status;
	/* The column names are known once a statement has run. */
	int rf = rf_db_step(fs), rt = rf_db_step(ts);
	if (rf == RF_DB_FAIL || rt == RF_DB_FAIL) {
		rf_status st = rf_q_fail(rf == RF_DB_FAIL ? from : to, err, "reading a table's columns");
		rf_db_reset(fs);
		rf_db_reset(ts);
		return st;
	}
	int nf = rf_db_col_count(fs), nt = rf_db_col_count(ts);
	*cols = rf_arena_alloc(a, sizeof **cols * (size_t)(nf ? nf : 1));
	*from_idx = rf_arena_alloc(a, sizeof **from_idx * (size_t)(nf ? nf : 1));
	*n = 0;
	for (int i = 0; *cols && *from_idx && i < nf; i++) {
		const char *name = rf_db_col_name(fs, i);
		for (int j = 0; name && j < nt; j++) {
			const char *tn = rf_db_col_name(ts, j);
			if (tn && strcmp(tn, name) == 0 && strcmp(name, "search_vector") != 0) {
				(*cols)[*n] = rf_arena_strdup(a, name);
				(*from_idx)[(*n)++] = i;
				break;
			}
		}
	}
	rf_db_reset(fs);
	rf_db_reset(ts);
	if (!*cols || !*from_idx)
		return rf_err_set(err, RF_ENOMEM, NULL, "out of memory");
	return RF_OK;
}

static rf_status copy_table(rf_store *from, rf_store *to, const char *table,
			    void (*progress)(const char *table, int64_t rows, void *arg), void *arg, int64_t *copied,
			    rf_err *err)
{
	rf_arena meta, rows;
	rf_arena_init(&meta, 0);
	rf_arena_init(&rows, 0);
	char **cols = NULL;
	int *idx = NULL, ncols = 0;
	rf_status rc = shared_columns(from, to, table, &cols, &idx, &ncols, &meta, err);
	if (rc != RF_OK)
		goto done_meta;
	rf_dbuf select = RF_DBUF_INIT(64 << 10);
	rf_dbuf_adds(&select, "SELECT ");
	for (int c = 0; c < ncols; c++)
		rf_dbuf_addf(&select, "%s%s.%s", c ? ", " : "", table, cols[c]);
	rf_dbuf_addf(&select, " FROM %s", table);
	/* Partners refer to partners (a team, a recruiter) that may have been made after them: each comes after every
	 * partner above it, so the target's foreign keys hold row by row. The application refuses cycles. */
	if (strcmp(table, "partners") == 0)
		rf_dbuf_adds(&select, " JOIN (WITH RECURSIVE up (id, depth) AS (SELECT id, 0 FROM partners WHERE "
				      "team_parent_id IS NULL AND recruited_by_id IS NULL UNION ALL SELECT p.id, "
				      "up.depth + 1 FROM partners AS p JOIN up ON p.team_parent_id = up.id OR "
				      "p.recruited_by_id = up.id) SELECT id AS above_id, max(depth) AS above FROM up "
				      "GROUP BY id) AS d ON d.above_id = partners.id ORDER BY d.above, partners.seq");
	char *sql = rf_dbuf_status(&select) == RF_OK ? rf_arena_strdup(&meta, select.p) : NULL;
	rf_dbuf_free(&select);
	rf_db_stmt *src = sql ? rf_q_prep(from, sql, err) : NULL;
	cell *cells = rf_arena_alloc(&meta, sizeof *cells * (size_t)(ncols ? ncols : 1) * BATCH);
	if (!src || !cells) {
		rc = src ? rf_err_set(err, RF_ENOMEM, NULL, "out of memory") : err->status;
		goto done_meta;
	}
	(void)idx; /* the SELECT names the shared columns in order */
	int kept = 0, step;
	int64_t n = 0;
	while ((step = rf_db_step(src)) == RF_DB_ROW) {
		if (!keep_row(src, ncols, &cells[kept * ncols], &rows)) {
			rc = rf_err_set(err, RF_ENOMEM, NULL, "out of memory");
			break;
		}
		if (++kept == BATCH) {
			if ((rc = flush_rows(to, table, cols, ncols, cells, kept, &meta, err)) != RF_OK)
				break;
			kept = 0;
			rf_arena_reset(&rows);
		}
		if (progress && ++n % 100000 == 0)
			progress(table, n, arg);
		else if (!progress)
			n++;
	}
	if (rc == RF_OK && step != RF_DB_DONE)
		rc = rf_q_fail(from, err, "reading the source");
	if (rc == RF_OK && kept)
		rc = flush_rows(to, table, cols, ncols, cells, kept, &meta, err);
	rf_db_reset(src);
	if (rc == RF_OK) {
		*copied = n;
		if (progress)
			progress(table, n, arg);
	}
done_meta:
	rf_arena_reset(&rows);
	rf_arena_reset(&meta);
	if (rc != RF_OK && err->message[0]) {
		char msg[sizeof err->message], field[sizeof err->field];
		memcpy(msg, err->message, sizeof msg);
		memcpy(field, err->field, sizeof field);
		rf_err_set(err, rc, field[0] ? field : NULL, "copying %s: %.200s", table, msg);
	}
	return rc;
}

rf_status rf_store_copy(rf_store *from, rf_store *to, void (*progress)(const char *table, int64_t rows, void *arg),
			void *arg, rf_err *err)
{
	int fv = 0, tv = 0, bin = 0;
	if (rf_store_schema_version(from, &fv, &bin, err) != RF_OK ||
	    rf_store_schema_version(to, &tv, &bin, err) != RF_OK)
		return err->status;
	if (fv != bin)
		return rf_err_set(
		    err, RF_EINVAL, "from",
		    "the source's schema is at version %d and this refd's at %d: run refd migrate on it first", fv,
		    bin);
	if (tv != bin)
		return rf_err_set(err, RF_EINVAL, "to", "the target is not migrated (version %d of %d)", tv, bin);
	if (check_tables(from, err) != RF_OK)
		return err->status;
	for (size_t i = 0; i < NTABLES; i++) {
		int64_t n = 0;
		if (strcmp(tables[i], "settings") == 0)
			continue;
		if (count_rows(to, tables[i], &n, err) != RF_OK)
			return err->status;
		if (n)
			return rf_err_set(err, RF_ECONFLICT, "to", "the target is not empty (%s has %lld rows)",
					  tables[i], (long long)n);
	}
	/* One snapshot of the source, one transaction on the target; foreign keys are checked at its commit, since
	 * rows refer to rows of their own table in any order (an agent's team parent may be a later partner). */
	rf_status rc = rf_q_exec(
	    from, rf_q_dialect(from) == RF_DB_POSTGRES ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" : "BEGIN",
	    err);
	if (rc != RF_OK)
		return rc;
	if ((rc = rf_store_begin(to, err)) != RF_OK)
		goto fail;
	rc = rf_q_exec(
	    to, rf_q_dialect(to) == RF_DB_POSTGRES ? "SET CONSTRAINTS ALL DEFERRED" : "PRAGMA defer_foreign_keys = ON",
	    err);
	for (size_t i = 0; rc == RF_OK && i < NTABLES; i++) {
		int64_t n = 0;
		rc = copy_table(from, to, tables[i], progress, arg, &n, err);
	}
	if (rc == RF_OK && rf_q_dialect(to) == RF_DB_POSTGRES) {
		for (size_t i = 0; rc == RF_OK && i < sizeof seq_tables / sizeof seq_tables[0]; i++) {
			char sql[200];
			snprintf(sql, sizeof sql,
				 "SELECT setval(pg_get_serial_sequence('%s', 'seq'), coalesce(max(seq), 0) + 1, false) "
				 "FROM %s",
				 seq_tables[i], seq_tables[i]);
			rc = rf_q_exec(to, sql, err);
		}
	}
	if (rc == RF_OK)
		rc = rf_store_commit(to, err);
	if (rc != RF_OK)
		goto fail;
	rf_store_rollback(from);
	return RF_OK;
fail:
	rf_store_rollback(to);
	rf_store_rollback(from);
	return rc;
}

/* Per program: the figures of every rollup key summed, and the volume; equal on both sides after a copy. */
static rf_status totals_text(rf_store *s, rf_arena *a, char **out, rf_err *err)
{
	rf_db_stmt *st =
	    rf_q_prep(s,
		      "SELECT program_id, currency, sum(clicks), sum(leads), sum(qualified), sum(customers), "
		      "sum(sales), sum(revenue), sum(refunds), sum(earned), sum(approved), sum(paid) FROM "
		      "rollup_keys GROUP BY program_id, currency ORDER BY program_id, currency",
		      err);
	if (!st)
		return err->status;
	rf_dbuf b = RF_DBUF_INIT(64 << 20);
	int rc;
	while ((rc = rf_db_step(st)) == RF_DB_ROW) {
		rf_dbuf_addf(&b, "%s %s", rf_db_col_text(st, 0, NULL), rf_db_col_text(st, 1, NULL));
		for (int i = 2; i < 12; i++)
			rf_dbuf_addf(&b, " %lld", (long long)rf_db_col_int(st, i));
		rf_dbuf_adds(&b, "\n");
	}
	rf_db_reset(st);
	if (rc != RF_DB_DONE) {
		rf_dbuf_free(&b);
		return rf_q_fail(s, err, "summing rollups");
	}
	*out = rf_dbuf_status(&b) == RF_OK && b.p ? rf_arena_strdup(a, b.p) : rf_arena_strdup(a, "");
	rf_dbuf_free(&b);
	return RF_OK;
}

rf_status rf_store_copy_verify(rf_store *from, rf_store *to, rf_copy_check *out, rf_arena *a, rf_err *err)
{
	memset(out, 0, sizeof *out);
	for (size_t i = 0; i < NTABLES; i++) {
		int64_t f = 0, t = 0;
		if (count_rows(from, tables[i], &f, err) != RF_OK || count_rows(to, tables[i], &t, err) != RF_OK)
			return err->status;
		out->rows += t;
		out->tables++;
		if (f != t && !out->mismatch)
			out->mismatch = rf_arena_printf(a, "%s: %lld rows in the source, %lld in the copy", tables[i],
							(long long)f, (long long)t);
	}
	/* Every partner's balance, per currency and status, from each side's own ledger. */
	rf_db_stmt *st = rf_q_prep(from, "SELECT id FROM partners ORDER BY id", err);
	if (!st)
		return err->status;
	int rc;
	while ((rc = rf_db_step(st)) == RF_DB_ROW) {
		const char *id = rf_db_col_text(st, 0, NULL);
		rf_balance bf[16], bt[16];
		size_t nf = 0, nt = 0;
		if (rf_store_commission_balance(from, id, bf, 16, &nf, err) != RF_OK ||
		    rf_store_commission_balance(to, id, bt, 16, &nt, err) != RF_OK) {
			rf_db_reset(st);
			return err->status;
		}
		out->partners++;
		if ((nf != nt || memcmp(bf, bt, sizeof bf[0] * nf) != 0) && !out->mismatch)
			out->mismatch = rf_arena_printf(a, "partner %s: its balances differ", id);
	}
	rf_db_reset(st);
	if (rc != RF_DB_DONE)
		return rf_q_fail(from, err, "listing partners");
	char *tf = NULL, *tt = NULL;
	if (totals_text(from, a, &tf, err) != RF_OK || totals_text(to, a, &tt, err) != RF_OK)
		return err->status;
	if (strcmp(tf, tt) != 0 && !out->mismatch)
		out->mismatch = rf_arena_strdup(a, "the report totals differ");
	return RF_OK;
}
