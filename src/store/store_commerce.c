/* SPDX-License-Identifier: Apache-2.0 */
/* The SQLite backend's money tables: plans and their versions, customers, sales, refunds, the commission ledger
 * with its history, FX rates and the Stripe events already handled. */
#include <stdio.h>
#include <string.h>

#include "store_internal.h"

/* Binds an integer, or NULL when has is false. */
static void bind_opt_int(rf_db_stmt *st, int i, bool has, int64_t v)
{
	if (has)
		rf_db_bind_int(st, i, v);
	else
		rf_db_bind_null(st, i);
}

/* ---- plans ---- */

#define PLAN_COLS                                                                                    \
	"p.id, p.program_id, p.name, p.is_default, p.version, v.rules, v.valid_from, p.created_at, " \
	"p.updated_at FROM plans p JOIN plan_versions v ON v.plan_id = p.id AND v.version = p.version"

static void plan_fill(rf_db_stmt *st, void *item, rf_arena *a)
{
	rf_plan *p = item;
	memset(p, 0, sizeof *p);
	p->id = rf_q_text(st, 0, a);
	p->program_id = rf_q_text(st, 1, a);
	p->name = rf_q_text(st, 2, a);
	p->is_default = rf_db_col_int(st, 3) != 0;
	p->version = rf_db_col_int(st, 4);
	p->rules = rf_q_text(st, 5, a);
	p->valid_from = rf_db_col_int(st, 6);
	p->created_at = rf_db_col_int(st, 7);
	p->updated_at = rf_db_col_int(st, 8);
}

static rf_status plan_version_insert(rf_store *s, const rf_plan *p, rf_err *err)
{
	rf_db_stmt *st =
	    rf_q_prep(s, "INSERT INTO plan_versions (plan_id, version, rules, valid_from) VALUES (?,?,?,?)", err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, p->id);
	rf_db_bind_int(st, 2, p->version);
	rf_db_bind_text(st, 3, p->rules);
	rf_db_bind_int(st, 4, p->valid_from);
	return rf_q_done(s, st, "version", err);
}

rf_status rf_store_plan_insert(rf_store *s, const rf_plan *p, rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(s,
				   "INSERT INTO plans (id, program_id, name, is_default, version, created_at, "
				   "updated_at) VALUES (?,?,?,?,?,?,?)",
				   err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, p->id);
	rf_db_bind_text(st, 2, p->program_id);
	rf_db_bind_text(st, 3, p->name);
	rf_db_bind_int(st, 4, p->is_default);
	rf_db_bind_int(st, 5, p->version);
	rf_db_bind_int(st, 6, p->created_at);
	rf_db_bind_int(st, 7, p->updated_at);
	rf_status rc = rf_q_done(s, st, "default", err);
	return rc == RF_OK ? plan_version_insert(s, p, err) : rc;
}

rf_status rf_store_plan_update(rf_store *s, const rf_plan *p, bool new_version, rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(
	    s, "UPDATE plans SET name = ?2, is_default = ?3, version = ?4, updated_at = ?5 WHERE id = ?1", err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, p->id);
	rf_db_bind_text(st, 2, p->name);
	rf_db_bind_int(st, 3, p->is_default);
	rf_db_bind_int(st, 4, p->version);
	rf_db_bind_int(st, 5, p->updated_at);
	rf_status rc = rf_q_done(s, st, "default", err);
	if (rc == RF_OK && new_version)
		rc = plan_version_insert(s, p, err);
	return rc;
}

rf_status rf_store_plan_get(rf_store *s, const char *id, rf_plan *out, rf_arena *a, rf_err *err)
{
	return rf_q_get_one(s, "SELECT " PLAN_COLS " WHERE p.id = ?", id, plan_fill, out, a, "plan", err);
}

rf_status rf_store_plan_default(rf_store *s, const char *program_id, rf_plan *out, rf_arena *a, rf_err *err)
{
	return rf_q_get_one(s, "SELECT " PLAN_COLS " WHERE p.program_id = ? AND p.is_default = 1", program_id,
			    plan_fill, out, a, "default plan", err);
}

rf_status rf_store_plan_list(rf_store *s, const rf_page *page, const char *program_id, rf_plan **items, size_t *n,
			     bool *has_more, rf_arena *a, rf_err *err)
{
	int64_t after = INT64_MAX;
	if (page->starting_after && rf_q_cursor_seq(s, "plans", page->starting_after, &after, err) != RF_OK)
		return err->status;
	rf_q_keyset k;
	rf_q_keyset_sql(s, "plans", "p", false, page->settled, &k);
	char sql[2048];
	snprintf(sql, sizeof sql,
		 "SELECT " PLAN_COLS
		 " WHERE %s AND (CAST(?2 AS TEXT) IS NULL OR p.program_id = ?2) ORDER BY %s LIMIT ?3",
		 k.cond, k.order);
	rf_db_stmt *st = rf_q_prep(s, sql, err);
	if (!st)
		return RF_EIO;
	rf_db_bind_int(st, 1, after);
	rf_db_bind_text(st, 2, program_id);
	rf_db_bind_int(st, 3, page->limit + 1);
	return rf_q_collect(s, st, page->limit, sizeof(rf_plan), plan_fill, (void **)items, n, has_more, a, err);
}

rf_status rf_store_plan_rules_at(rf_store *s, const char *plan_id, int64_t at, int64_t *version, char **rules,
				 rf_arena *a, rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(s,
				   "SELECT version, rules FROM plan_versions WHERE plan_id = ?1 "
				   "ORDER BY (valid_from <= ?2) DESC, CASE WHEN valid_from <= ?2 THEN -version "
				   "ELSE version END LIMIT 1",
				   err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, plan_id);
	rf_db_bind_int(st, 2, at);
	int rc = rf_db_step(st);
	if (rc == RF_DB_ROW) {
		*version = rf_db_col_int(st, 0);
		*rules = rf_q_text(st, 1, a);
	}
	rf_db_reset(st);
	if (rc == RF_DB_ROW)
		return RF_OK;
	if (rc == RF_DB_DONE)
		return rf_err_set(err, RF_ENOTFOUND, "plan_id", "no such plan");
	return rf_q_fail(s, err, "reading a plan version");
}

/* ---- customers ---- */

#define CUSTOMER_COLS "id, program_id, lead_id, external_id, first_sale_at, created_at"

static void customer_fill(rf_db_stmt *st, void *item, rf_arena *a)
{
	rf_customer *c = item;
	memset(c, 0, sizeof *c);
	c->id = rf_q_text(st, 0, a);
	c->program_id = rf_q_text(st, 1, a);
	c->lead_id = rf_q_text(st, 2, a);
	c->external_id = rf_q_text(st, 3, a);
	c->first_sale_at = rf_db_col_int(st, 4);
	c->created_at = rf_db_col_int(st, 5);
}

rf_status rf_store_customer_insert(rf_store *s, const rf_customer *c, rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(s, "INSERT INTO customers (" CUSTOMER_COLS ") VALUES (?,?,?,?,?,?)", err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, c->id);
	rf_db_bind_text(st, 2, c->program_id);
	rf_db_bind_text(st, 3, c->lead_id);
	rf_db_bind_text(st, 4, c->external_id);
	rf_db_bind_int(st, 5, c->first_sale_at);
	rf_db_bind_int(st, 6, c->created_at);
	/* The lead is the other unique key: a lead made a customer twice is not a taken external id. */
	rf_status rc = rf_q_done(s, st, "customer_external_id", err);
	return rf_q_raced(s, rf_q_conflict_on(s, rc, "lead_id", "lead_id", err), err);
}

rf_status rf_store_customer_update(rf_store *s, const rf_customer *c, rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(s, "UPDATE customers SET external_id = ?2, first_sale_at = ?3 WHERE id = ?1", err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, c->id);
	rf_db_bind_text(st, 2, c->external_id);
	rf_db_bind_int(st, 3, c->first_sale_at);
	return rf_q_done(s, st, "customer_external_id", err);
}

rf_status rf_store_customer_find(rf_store *s, const char *program_id, const char *field, const char *value,
				 rf_customer *out, rf_arena *a, rf_err *err)
{
	bool by_lead = strcmp(field, "lead_id") == 0;
	rf_db_stmt *st =
	    rf_q_prep(s,
		      by_lead ? "SELECT " CUSTOMER_COLS " FROM customers WHERE program_id = ? AND lead_id = ?"
			      : "SELECT " CUSTOMER_COLS " FROM customers WHERE program_id = ? AND external_id = ?",
		      err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, program_id);
	rf_db_bind_text(st, 2, value);
	return rf_q_one_row(s, st, customer_fill, out, a, "customer", err);
}

/* ---- sales ---- */

#define SALE_COLS                                                                                             \
	"id, program_id, customer_id, lead_id, partner_id, agent_id, amount, currency, program_amount, "      \
	"external_id, charge_id, kind, occurred_at, refunded, disputed, note, metadata, source, created_at, " \
	"method, coupon, source_event_id"

static void sale_fill(rf_db_stmt *st, void *item, rf_arena *a)
{
	rf_sale *x = item;
	memset(x, 0, sizeof *x);
	x->id = rf_q_text(st, 0, a);
	x->program_id = rf_q_text(st, 1, a);
	x->customer_id = rf_q_text(st, 2, a);
	x->lead_id = rf_q_text(st, 3, a);
	x->partner_id = rf_q_text(st, 4, a);
	x->agent_id = rf_q_text(st, 5, a);
	x->amount = rf_db_col_int(st, 6);
	rf_q_code(st, 7, x->currency);
	x->has_program_amount = !rf_db_col_null(st, 8);
	x->program_amount = rf_db_col_int(st, 8);
	x->external_id = rf_q_text(st, 9, a);
	x->charge_id = rf_q_text(st, 10, a);
	x->kind = rf_q_text(st, 11, a);
	x->occurred_at = rf_db_col_int(st, 12);
	x->refunded = rf_db_col_int(st, 13);
	x->disputed = rf_db_col_int(st, 14);
	x->note = rf_q_text(st, 15, a);
	x->metadata = rf_q_text(st, 16, a);
	x->source = rf_q_text(st, 17, a);
	x->created_at = rf_db_col_int(st, 18);
	x->method = rf_q_text(st, 19, a);
	x->coupon = rf_q_text(st, 20, a);
	x->source_event_id = rf_q_text(st, 21, a);
}

rf_status rf_store_sale_insert(rf_store *s, const rf_sale *x, rf_err *err)
{
	rf_db_stmt *st =
	    rf_q_prep(s, "INSERT INTO sales (" SALE_COLS ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, x->id);
	rf_db_bind_text(st, 2, x->program_id);
	rf_db_bind_text(st, 3, x->customer_id);
	rf_db_bind_text(st, 4, x->lead_id);
	rf_db_bind_text(st, 5, x->partner_id);
	rf_db_bind_text(st, 6, x->agent_id);
	rf_db_bind_int(st, 7, x->amount);
	rf_db_bind_text(st, 8, x->currency);
	bind_opt_int(st, 9, x->has_program_amount, x->program_amount);
	rf_db_bind_text(st, 10, x->external_id);
	rf_db_bind_text(st, 11, x->charge_id);
	rf_db_bind_text(st, 12, x->kind);
	rf_db_bind_int(st, 13, x->occurred_at);
	rf_db_bind_int(st, 14, x->refunded);
	rf_db_bind_int(st, 15, x->disputed);
	rf_db_bind_text(st, 16, x->note);
	rf_db_bind_text(st, 17, x->metadata ? x->metadata : "{}");
	rf_db_bind_text(st, 18, x->source);
	rf_db_bind_int(st, 19, x->created_at);
	rf_db_bind_text(st, 20, x->method ? x->method : "none");
	rf_db_bind_text(st, 21, x->coupon);
	rf_db_bind_text(st, 22, x->source_event_id);
	return rf_q_raced(s, rf_q_done(s, st, "external_id", err), err);
}

rf_status rf_store_sale_get(rf_store *s, const char *id, rf_sale *out, rf_arena *a, rf_err *err)
{
	return rf_q_get_one(s, "SELECT " SALE_COLS " FROM sales WHERE id = ?", id, sale_fill, out, a, "sale", err);
}

rf_status rf_store_sale_find(rf_store *s, const char *program_id, const char *external_id, bool by_charge, rf_sale *out,
			     rf_arena *a, rf_err *err)
{
	/* By charge, the sale the charge paid comes before one whose external id is that text. A sale without a
	 * charge must compare false there, not NULL: PostgreSQL puts NULL first in a descending order (SQLite last),
	 * and so found the other sale. */
	rf_db_stmt *st =
	    rf_q_prep(s,
		      by_charge ? "SELECT " SALE_COLS
				  " FROM sales WHERE program_id = ?1 AND (charge_id = ?2 OR external_id = ?2) "
				  "ORDER BY coalesce(charge_id, '') = ?2 DESC LIMIT 1"
				: "SELECT " SALE_COLS " FROM sales WHERE program_id = ?1 AND external_id = ?2",
		      err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, program_id);
	rf_db_bind_text(st, 2, external_id);
	return rf_q_one_row(s, st, sale_fill, out, a, "sale", err);
}

rf_status rf_store_sales_unconverted(rf_store *s, int max, rf_sale **items, size_t *n, rf_arena *a, rf_err *err)
{
	rf_db_stmt *st =
	    rf_q_prep(s, "SELECT " SALE_COLS " FROM sales WHERE program_amount IS NULL ORDER BY seq LIMIT ?", err);
	if (!st)
		return RF_EIO;
	rf_db_bind_int(st, 1, max + 1);
	bool more = false;
	return rf_q_collect(s, st, max, sizeof(rf_sale), sale_fill, (void **)items, n, &more, a, err);
}

static rf_status set_amount(rf_store *s, const char *sql, const char *id, int64_t amount, rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(s, sql, err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, id);
	rf_db_bind_int(st, 2, amount);
	return rf_q_done(s, st, NULL, err);
}

rf_status rf_store_sale_set_program_amount(rf_store *s, const char *id, int64_t amount, rf_err *err)
{
	return set_amount(s, "UPDATE sales SET program_amount = ?2 WHERE id = ?1 AND program_amount IS NULL", id,
			  amount, err);
}

rf_status rf_store_refund_set_program_amount(rf_store *s, const char *id, int64_t amount, rf_err *err)
{
	return set_amount(s, "UPDATE refunds SET program_amount = ?2 WHERE id = ?1 AND program_amount IS NULL", id,
			  amount, err);
}

rf_status rf_store_sale_set_refunded(rf_store *s, const char *id, int64_t refunded, int64_t disputed, rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(s, "UPDATE sales SET refunded = ?2, disputed = ?3 WHERE id = ?1", err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, id);
	rf_db_bind_int(st, 2, refunded);
	rf_db_bind_int(st, 3, disputed);
	return rf_q_done(s, st, NULL, err);
}

rf_status rf_store_sale_list(rf_store *s, const rf_sale_filter *f, rf_sale **items, size_t *n, bool *has_more,
			     rf_arena *a, rf_err *err)
{
	int64_t after = f->oldest_first ? 0 : INT64_MAX;
	if (f->page.starting_after && rf_q_cursor_seq(s, "sales", f->page.starting_after, &after, err) != RF_OK)
		return err->status;
	rf_q_keyset k;
	rf_q_keyset_sql(s, "sales", "sales", f->oldest_first, f->page.settled, &k);
	char sql[3072];
	snprintf(sql, sizeof sql,
		 "SELECT " SALE_COLS " FROM sales WHERE %s AND (CAST(?2 AS TEXT) IS NULL OR program_id = ?2) AND "
		 "(CAST(?3 AS TEXT) IS NULL OR partner_id = ?3) AND (CAST(?4 AS TEXT) IS NULL OR customer_id = ?4) AND "
		 "(?5 = 0 OR occurred_at >= ?5) AND (?6 = 0 OR occurred_at < ?6) AND (CAST(?8 AS TEXT) IS NULL OR "
		 "partner_id = ?8 OR agent_id = ?8) ORDER BY %s LIMIT ?7",
		 k.cond, k.order);
	rf_db_stmt *st = rf_q_prep(s, sql, err);
	if (!st)
		return RF_EIO;
	rf_db_bind_int(st, 1, after);
	rf_db_bind_text(st, 2, f->program_id);
	rf_db_bind_text(st, 3, f->partner_id);
	rf_db_bind_text(st, 4, f->customer_id);
	rf_db_bind_int(st, 5, f->from);
	rf_db_bind_int(st, 6, f->to);
	rf_db_bind_int(st, 7, f->page.limit + 1);
	rf_db_bind_text(st, 8, f->scope_id);
	return rf_q_collect(s, st, f->page.limit, sizeof(rf_sale), sale_fill, (void **)items, n, has_more, a, err);
}

rf_status rf_store_sale_volume(rf_store *s, const char *partner_id, int64_t from, int64_t to, int64_t upto,
			       bool revenue, int64_t *out, rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(s,
				   revenue ? "SELECT coalesce(sum(program_amount), 0) FROM sales WHERE "
					     "partner_id = ?1 AND occurred_at >= ?2 AND occurred_at < ?3 AND "
					     "occurred_at <= ?4"
					   : "SELECT count(*) FROM sales WHERE partner_id = ?1 AND occurred_at >= "
					     "?2 AND occurred_at < ?3 AND occurred_at <= ?4",
				   err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, partner_id);
	rf_db_bind_int(st, 2, from);
	rf_db_bind_int(st, 3, to);
	rf_db_bind_int(st, 4, upto);
	return rf_q_one_int(s, st, out, err);
}

rf_status rf_store_sale_count_customer(rf_store *s, const char *customer_id, int64_t at, int64_t *out, rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(s, "SELECT count(*) FROM sales WHERE customer_id = ?1 AND occurred_at <= ?2", err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, customer_id);
	rf_db_bind_int(st, 2, at);
	return rf_q_one_int(s, st, out, err);
}

/* ---- refunds ---- */

#define REFUND_COLS                                                                                              \
	"id, program_id, sale_id, kind, amount, currency, prior, external_id, reason, occurred_at, created_at, " \
	"program_amount, source, source_event_id"

static void refund_fill(rf_db_stmt *st, void *item, rf_arena *a)
{
	rf_refund *r = item;
	memset(r, 0, sizeof *r);
	r->id = rf_q_text(st, 0, a);
	r->program_id = rf_q_text(st, 1, a);
	r->sale_id = rf_q_text(st, 2, a);
	r->kind = rf_q_text(st, 3, a);
	r->amount = rf_db_col_int(st, 4);
	rf_q_code(st, 5, r->currency);
	r->prior = rf_db_col_int(st, 6);
	r->external_id = rf_q_text(st, 7, a);
	r->reason = rf_q_text(st, 8, a);
	r->occurred_at = rf_db_col_int(st, 9);
	r->created_at = rf_db_col_int(st, 10);
	r->has_program_amount = !rf_db_col_null(st, 11);
	r->program_amount = rf_db_col_int(st, 11);
	r->source = rf_q_text(st, 12, a);
	r->source_event_id = rf_q_text(st, 13, a);
}

rf_status rf_store_refund_insert(rf_store *s, const rf_refund *r, rf_err *err)
{
	rf_db_stmt *st;
	if (rf_db_can(s->db, RF_DB_CAP_CONCURRENT_WRITES)) {
		/* The caller computed the refund from the sale as it read it (r->prior given back before): where
		 * transactions write at once, another refund of the same sale may have committed since, and both would
		 * give back the same part (two refunds of the whole sale). The sale is locked, and when it no longer
		 * stands where the caller read it the transaction runs again and computes from what it finds then.
		 * With one writer at a time, what the caller read still holds. */
		st = rf_q_prep(s, "SELECT refunded + disputed FROM sales WHERE id = ?1 FOR UPDATE", err);
		if (!st)
			return RF_EIO;
		rf_db_bind_text(st, 1, r->sale_id);
		int64_t given_back = 0;
		if (rf_q_one_int(s, st, &given_back, err) != RF_OK)
			return err->status;
		if (given_back != r->prior)
			return rf_err_set(err, RF_ERETRY, "amount",
					  "another refund of the sale was recorded at the same time; try again");
	}
	st = rf_q_prep(s, "INSERT INTO refunds (" REFUND_COLS ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, r->id);
	rf_db_bind_text(st, 2, r->program_id);
	rf_db_bind_text(st, 3, r->sale_id);
	rf_db_bind_text(st, 4, r->kind);
	rf_db_bind_int(st, 5, r->amount);
	rf_db_bind_text(st, 6, r->currency);
	rf_db_bind_int(st, 7, r->prior);
	rf_db_bind_text(st, 8, r->external_id);
	rf_db_bind_text(st, 9, r->reason);
	rf_db_bind_int(st, 10, r->occurred_at);
	rf_db_bind_int(st, 11, r->created_at);
	bind_opt_int(st, 12, r->has_program_amount, r->program_amount);
	rf_db_bind_text(st, 13, r->source);
	rf_db_bind_text(st, 14, r->source_event_id);
	return rf_q_raced(s, rf_q_done(s, st, "external_id", err), err);
}

rf_status rf_store_refund_get(rf_store *s, const char *id, rf_refund *out, rf_arena *a, rf_err *err)
{
	return rf_q_get_one(s, "SELECT " REFUND_COLS " FROM refunds WHERE id = ?", id, refund_fill, out, a, "refund",
			    err);
}

rf_status rf_store_refund_list(rf_store *s, const char *sale_id, rf_refund **items, size_t *n, rf_arena *a, rf_err *err)
{
	rf_db_stmt *st =
	    rf_q_prep(s, "SELECT " REFUND_COLS " FROM refunds WHERE sale_id = ? ORDER BY seq LIMIT 1001", err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, sale_id);
	bool more = false;
	return rf_q_collect(s, st, 1000, sizeof(rf_refund), refund_fill, (void **)items, n, &more, a, err);
}

rf_status rf_store_refund_find(rf_store *s, const char *program_id, const char *external_id, rf_refund *out,
			       rf_arena *a, rf_err *err)
{
	rf_db_stmt *st =
	    rf_q_prep(s, "SELECT " REFUND_COLS " FROM refunds WHERE program_id = ? AND external_id = ?", err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, program_id);
	rf_db_bind_text(st, 2, external_id);
	return rf_q_one_row(s, st, refund_fill, out, a, "refund", err);
}

rf_status rf_store_refund_range(rf_store *s, const char *program_id, int64_t from, int64_t to, int max,
				rf_refund **items, size_t *n, rf_arena *a, rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(s,
				   "SELECT " REFUND_COLS " FROM refunds WHERE program_id = ?1 AND occurred_at >= "
				   "?2 AND occurred_at < ?3 ORDER BY occurred_at, seq LIMIT ?4",
				   err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, program_id);
	rf_db_bind_int(st, 2, from);
	rf_db_bind_int(st, 3, to);
	rf_db_bind_int(st, 4, max);
	bool more = false;
	return rf_q_collect(s, st, max, sizeof(rf_refund), refund_fill, (void **)items, n, &more, a, err);
}

rf_status rf_store_lead_qualified_range(rf_store *s, const char *program_id, int64_t from, int64_t to, int max,
					char ***ids, int64_t **ats, size_t *n, rf_arena *a, rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(s,
				   "SELECT e.lead_id, min(e.at) AS first FROM lead_events e JOIN leads l ON "
				   "l.id = e.lead_id WHERE l.program_id = ?1 AND e.to_status IN ('qualified', "
				   "'converted') GROUP BY e.lead_id HAVING min(e.at) >= ?2 AND min(e.at) < ?3 "
				   "ORDER BY first, e.lead_id LIMIT ?4",
				   err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, program_id);
	rf_db_bind_int(st, 2, from);
	rf_db_bind_int(st, 3, to);
	rf_db_bind_int(st, 4, max);
	*ids = rf_arena_alloc(a, sizeof **ids * (size_t)max);
	*ats = rf_arena_alloc(a, sizeof **ats * (size_t)max);
	*n = 0;
	if (!*ids || !*ats) {
		rf_db_reset(st);
		return rf_err_set(err, RF_ENOMEM, NULL, "out of memory");
	}
	int rc;
	while ((rc = rf_db_step(st)) == RF_DB_ROW) {
		(*ids)[*n] = rf_q_text(st, 0, a);
		(*ats)[*n] = rf_db_col_int(st, 1);
		(*n)++;
	}
	rf_db_reset(st);
	return rc == RF_DB_DONE ? RF_OK : rf_q_fail(s, err, "reading qualified leads");
}

/* ---- commissions ---- */

#define COMMISSION_COLS                                                                                            \
	"id, program_id, partner_id, role, level, rule, basis, event_type, event_id, event_at, lead_id, sale_id, " \
	"refund_id, reverses_id, of_commission_id, plan_id, plan_version, base_amount, base_currency, rate_bps, "  \
	"earned, earned_currency, fx_rate_ppb, fx_inverse, amount, currency, status, status_reason, fx_missing, "  \
	"hold_until, detail, dedupe, created_at, updated_at"

static void commission_fill(rf_db_stmt *st, void *item, rf_arena *a)
{
	rf_commission *c = item;
	memset(c, 0, sizeof *c);
	c->id = rf_q_text(st, 0, a);
	c->program_id = rf_q_text(st, 1, a);
	c->partner_id = rf_q_text(st, 2, a);
	c->role = rf_q_text(st, 3, a);
	c->level = rf_db_col_int(st, 4);
	c->rule = rf_q_text(st, 5, a);
	c->basis = rf_q_text(st, 6, a);
	c->event_type = rf_q_text(st, 7, a);
	c->event_id = rf_q_text(st, 8, a);
	c->event_at = rf_db_col_int(st, 9);
	c->lead_id = rf_q_text(st, 10, a);
	c->sale_id = rf_q_text(st, 11, a);
	c->refund_id = rf_q_text(st, 12, a);
	c->reverses_id = rf_q_text(st, 13, a);
	c->of_commission_id = rf_q_text(st, 14, a);
	c->plan_id = rf_q_text(st, 15, a);
	c->plan_version = rf_db_col_int(st, 16);
	c->base_amount = rf_db_col_int(st, 17);
	rf_q_code(st, 18, c->base_currency);
	c->has_rate = !rf_db_col_null(st, 19);
	c->rate_bps = rf_db_col_int(st, 19);
	c->earned = rf_db_col_int(st, 20);
	rf_q_code(st, 21, c->earned_currency);
	c->has_fx = !rf_db_col_null(st, 22);
	c->fx_rate_ppb = rf_db_col_int(st, 22);
	c->fx_inverse = rf_db_col_int(st, 23) != 0;
	c->has_amount = !rf_db_col_null(st, 24);
	c->amount = rf_db_col_int(st, 24);
	rf_q_code(st, 25, c->currency);
	c->status = rf_q_text(st, 26, a);
	c->status_reason = rf_q_text(st, 27, a);
	c->fx_missing = rf_db_col_int(st, 28) != 0;
	c->hold_until = rf_db_col_int(st, 29);
	c->detail = rf_q_text(st, 30, a);
	c->dedupe = rf_q_text(st, 31, a);
	c->created_at = rf_db_col_int(st, 32);
	c->updated_at = rf_db_col_int(st, 33);
}

static rf_status commission_event_add(rf_store *s, const char *id, const char *from, const char *to, const char *actor,
				      const char *reason, int64_t at, rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(s,
				   "INSERT INTO commission_events (commission_id, from_status, to_status, actor, "
				   "reason, at) VALUES (?,?,?,?,?,?)",
				   err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, id);
	rf_db_bind_text(st, 2, from);
	rf_db_bind_text(st, 3, to);
	rf_db_bind_text(st, 4, actor);
	rf_db_bind_text(st, 5, reason);
	rf_db_bind_int(st, 6, at);
	return rf_q_done(s, st, NULL, err);
}

/* Adds amount to one commission figure of the entry's beneficiary (an agent's also to its team) and program. */
static rf_status commission_rollup(rf_store *s, const rf_commission *c, int metric, int64_t amount, int64_t at,
				   rf_err *err)
{
	if (amount == 0)
		return RF_OK;
	char entity[80], team[80] = "";
	bool agent = strcmp(c->role, "agent") == 0;
	snprintf(entity, sizeof entity, "%s:%s", agent ? "a" : "p", c->partner_id);
	if (agent) {
		rf_db_stmt *st = rf_q_prep(s, "SELECT team_parent_id FROM partners WHERE id = ?", err);
		if (!st)
			return RF_EIO;
		rf_db_bind_text(st, 1, c->partner_id);
		if (rf_db_step(st) == RF_DB_ROW && !rf_db_col_null(st, 0))
			snprintf(team, sizeof team, "t:%s", (const char *)rf_db_col_text(st, 0, NULL));
		rf_db_reset(st);
	}
	/* An agent's earnings count for its team and, as all its results do, for its organisation's partner row. */
	char parent[80] = "";
	if (team[0])
		snprintf(parent, sizeof parent, "p:%s", team + 2);
	const char *entities[3] = {entity, team[0] ? team : NULL, parent[0] ? parent : NULL};
	const char *dims[1] = {"all"};
	rf_metrics m;
	memset(&m, 0, sizeof m);
	m.v[metric] = amount;
	return rf_store_rollup_add(s, c->program_id, at, c->currency, entities, 3, dims, 1, &m, err);
}

/* The rollup side of a status change: approvals and payments count on the day they happen; a rejection takes
 * the entry back out of what was earned (and approved). */
static rf_status status_rollup(rf_store *s, const rf_commission *c, const char *to, int64_t at, rf_err *err)
{
	if (!c->has_amount)
		return RF_OK;
	if (strcmp(to, "approved") == 0)
		return commission_rollup(s, c, RF_M_APPROVED, c->amount, at, err);
	if (strcmp(to, "paid") == 0)
		return commission_rollup(s, c, RF_M_PAID, c->amount, at, err);
	if (strcmp(to, "rejected") == 0) {
		/* What was earned on the event's day no longer counts; an approval is taken back on the day. */
		if (commission_rollup(s, c, RF_M_EARNED, -c->amount, c->event_at, err) != RF_OK)
			return err->status;
		if (strcmp(c->status, "approved") == 0)
			return commission_rollup(s, c, RF_M_APPROVED, -c->amount, at, err);
	}
	return RF_OK;
}

rf_status rf_store_commission_insert(rf_store *s, const rf_commission *c, const char *actor, rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(s,
				   "INSERT INTO commissions (" COMMISSION_COLS
				   ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
				   err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, c->id);
	rf_db_bind_text(st, 2, c->program_id);
	rf_db_bind_text(st, 3, c->partner_id);
	rf_db_bind_text(st, 4, c->role);
	rf_db_bind_int(st, 5, c->level);
	rf_db_bind_text(st, 6, c->rule);
	rf_db_bind_text(st, 7, c->basis);
	rf_db_bind_text(st, 8, c->event_type);
	rf_db_bind_text(st, 9, c->event_id);
	rf_db_bind_int(st, 10, c->event_at);
	rf_db_bind_text(st, 11, c->lead_id);
	rf_db_bind_text(st, 12, c->sale_id);
	rf_db_bind_text(st, 13, c->refund_id);
	rf_db_bind_text(st, 14, c->reverses_id);
	rf_db_bind_text(st, 15, c->of_commission_id);
	rf_db_bind_text(st, 16, c->plan_id);
	rf_db_bind_int(st, 17, c->plan_version);
	rf_db_bind_int(st, 18, c->base_amount);
	rf_db_bind_text(st, 19, c->base_currency);
	bind_opt_int(st, 20, c->has_rate, c->rate_bps);
	rf_db_bind_int(st, 21, c->earned);
	rf_db_bind_text(st, 22, c->earned_currency);
	bind_opt_int(st, 23, c->has_fx, c->fx_rate_ppb);
	rf_db_bind_int(st, 24, c->fx_inverse);
	bind_opt_int(st, 25, c->has_amount, c->amount);
	rf_db_bind_text(st, 26, c->currency);
	rf_db_bind_text(st, 27, c->status);
	rf_db_bind_text(st, 28, c->status_reason);
	rf_db_bind_int(st, 29, c->fx_missing);
	rf_db_bind_int(st, 30, c->hold_until);
	rf_db_bind_text(st, 31, c->detail ? c->detail : "{}");
	rf_db_bind_text(st, 32, c->dedupe);
	rf_db_bind_int(st, 33, c->created_at);
	rf_db_bind_int(st, 34, c->updated_at);
	rf_status rc = rf_q_done(s, st, "dedupe", err);
	if (rc != RF_OK)
		return rc;
	if (c->has_amount && commission_rollup(s, c, RF_M_EARNED, c->amount, c->event_at, err) != RF_OK)
		return err->status;
	if (c->has_amount && strcmp(c->status, "approved") == 0 &&
	    commission_rollup(s, c, RF_M_APPROVED, c->amount, c->created_at, err) != RF_OK)
		return err->status;
	return commission_event_add(s, c->id, NULL, c->status, actor, c->status_reason, c->created_at, err);
}

rf_status rf_store_commission_get(rf_store *s, const char *id, rf_commission *out, rf_arena *a, rf_err *err)
{
	return rf_q_get_one(s, "SELECT " COMMISSION_COLS " FROM commissions WHERE id = ?", id, commission_fill, out, a,
			    "commission", err);
}

rf_status rf_store_commission_set_status(rf_store *s, const rf_commission *c, const char *to, const char *reason,
					 const char *actor, int64_t at, rf_err *err)
{
	/* Only from the status the caller saw: an entry changes status once, whoever else tried at the same time
	 * (PostgreSQL's READ COMMITTED waits for the other writer, then finds the status changed and updates
	 * nothing). */
	rf_db_stmt *st = rf_q_prep(
	    s, "UPDATE commissions SET status = ?2, status_reason = ?3, updated_at = ?4 WHERE id = ?1 AND status = ?5",
	    err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, c->id);
	rf_db_bind_text(st, 2, to);
	rf_db_bind_text(st, 3, reason);
	rf_db_bind_int(st, 4, at);
	rf_db_bind_text(st, 5, c->status);
	rf_status rc = rf_q_done(s, st, NULL, err);
	if (rc != RF_OK)
		return err->status;
	if (rf_db_changes(s->db) == 0)
		return rf_err_set(err, RF_ECONFLICT, "status", "the commission is no longer %s", c->status);
	if (status_rollup(s, c, to, at, err) != RF_OK)
		return err->status;
	return commission_event_add(s, c->id, c->status, to, actor, reason, at, err);
}

rf_status rf_store_commission_fill_fx(rf_store *s, const rf_commission *c, int64_t rate_ppb, bool inverse,
				      int64_t amount, const char *status, const char *actor, int64_t at, rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(s,
				   "UPDATE commissions SET fx_rate_ppb = ?2, fx_inverse = ?3, amount = ?4, "
				   "status = ?5, status_reason = NULL, fx_missing = 0, updated_at = ?6 WHERE id = "
				   "?1 AND amount IS NULL",
				   err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, c->id);
	if (rate_ppb > 0)
		rf_db_bind_int(st, 2, rate_ppb);
	else
		rf_db_bind_null(st, 2);
	rf_db_bind_int(st, 3, inverse);
	rf_db_bind_int(st, 4, amount);
	rf_db_bind_text(st, 5, status);
	rf_db_bind_int(st, 6, at);
	rf_status rc = rf_q_done(s, st, NULL, err);
	if (rc != RF_OK)
		return rc;
	/* Filled meanwhile (by another job, or a caller with a stale copy): its amount is counted already, and
	 * counting it again would double what the rollups say it earned. */
	if (rf_db_changes(s->db) == 0)
		return rf_err_set(err, RF_ECONFLICT, "status", "the commission's amount was filled already");
	rf_commission filled = *c;
	filled.amount = amount;
	filled.has_amount = true;
	if (commission_rollup(s, &filled, RF_M_EARNED, amount, c->event_at, err) != RF_OK)
		return err->status;
	return commission_event_add(s, c->id, c->status, status, actor, "the FX rate is now known", at, err);
}

static void commission_event_fill(rf_db_stmt *st, void *item, rf_arena *a)
{
	rf_commission_event *e = item;
	e->from_status = rf_q_text(st, 0, a);
	e->to_status = rf_q_text(st, 1, a);
	e->actor = rf_q_text(st, 2, a);
	e->reason = rf_q_text(st, 3, a);
	e->at = rf_db_col_int(st, 4);
}

rf_status rf_store_commission_events(rf_store *s, const char *id, rf_commission_event **items, size_t *n, rf_arena *a,
				     rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(s,
				   "SELECT from_status, to_status, actor, reason, at FROM commission_events "
				   "WHERE commission_id = ? ORDER BY seq LIMIT 1001",
				   err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, id);
	bool more = false;
	return rf_q_collect(s, st, 1000, sizeof(rf_commission_event), commission_event_fill, (void **)items, n, &more,
			    a, err);
}

rf_status rf_store_commission_list(rf_store *s, const rf_commission_filter *f, rf_commission **items, size_t *n,
				   bool *has_more, rf_arena *a, rf_err *err)
{
	int64_t after = f->oldest_first ? 0 : INT64_MAX;
	if (f->page.starting_after && rf_q_cursor_seq(s, "commissions", f->page.starting_after, &after, err) != RF_OK)
		return err->status;
	rf_q_keyset k;
	rf_q_keyset_sql(s, "commissions", "commissions", f->oldest_first, f->page.settled, &k);
	/* The sale's or the lead's entries (the ledger asks for them with every sale): a plain equality beside the
	 * optional filters, so that the planner goes through the index of sale_id or lead_id rather than through
	 * the whole table in seq order, which it does when every filter is optional. */
	const char *narrow = f->sale_id ? "AND sale_id = ?4 " : f->lead_id ? "AND lead_id = ?5 " : "";
	char sql[3072];
	snprintf(sql, sizeof sql,
		 "SELECT " COMMISSION_COLS
		 " FROM commissions WHERE %s %sAND (CAST(?2 AS TEXT) IS NULL OR program_id = ?2) "
		 "AND (CAST(?3 AS TEXT) IS NULL OR partner_id = ?3) AND (CAST(?4 AS TEXT) IS NULL OR sale_id = ?4) AND "
		 "(CAST(?5 AS TEXT) IS NULL OR lead_id = ?5) "
		 "AND (CAST(?6 AS TEXT) IS NULL OR status = ?6) AND (CAST(?7 AS TEXT) IS NULL OR reverses_id = ?7) AND "
		 "(CAST(?8 AS TEXT) IS NULL OR plan_id = ?8) "
		 "AND (CAST(?9 AS TEXT) IS NULL OR partner_id = ?9 OR partner_id IN (SELECT id FROM partners WHERE "
		 "team_parent_id = "
		 "?9)) AND (?10 = 0 OR rule <> 'reversal') AND (?11 = 0 OR fx_missing = 1) AND (?12 = 0 OR (status = "
		 "'pending' AND hold_until <= ?12)) AND (?13 = 0 OR event_at >= ?13) AND (?14 = 0 OR event_at < ?14) "
		 "AND (CAST(?16 AS TEXT) IS NULL OR role = ?16) ORDER BY %s LIMIT ?15",
		 k.cond, narrow, k.order);
	rf_db_stmt *st = rf_q_prep(s, sql, err);
	if (!st)
		return RF_EIO;
	rf_db_bind_int(st, 1, after);
	rf_db_bind_text(st, 2, f->program_id);
	rf_db_bind_text(st, 3, f->partner_id);
	rf_db_bind_text(st, 4, f->sale_id);
	rf_db_bind_text(st, 5, f->lead_id);
	rf_db_bind_text(st, 6, f->status);
	rf_db_bind_text(st, 7, f->reverses_id);
	rf_db_bind_text(st, 8, f->plan_id);
	rf_db_bind_text(st, 9, f->scope_id);
	rf_db_bind_int(st, 10, f->originals_only);
	rf_db_bind_int(st, 11, f->fx_missing_only);
	rf_db_bind_int(st, 12, f->due_before);
	rf_db_bind_int(st, 13, f->event_from);
	rf_db_bind_int(st, 14, f->event_to);
	rf_db_bind_int(st, 15, f->page.limit + 1);
	rf_db_bind_text(st, 16, f->role);
	return rf_q_collect(s, st, f->page.limit, sizeof(rf_commission), commission_fill, (void **)items, n, has_more,
			    a, err);
}

rf_status rf_store_commission_claim_due(rf_store *s, int64_t now, int max, rf_commission **items, size_t *n,
					rf_arena *a, rf_err *err)
{
	/* SQLite has one writer at a time: what this transaction reads, no other changes before it commits. */
	bool skip = rf_db_can(s->db, RF_DB_CAP_SKIP_LOCKED);
	rf_db_stmt *st = rf_q_prep(s,
				   skip ? "SELECT " COMMISSION_COLS " FROM commissions WHERE status = 'pending' AND "
					  "hold_until <= ?1 AND amount IS NOT NULL ORDER BY hold_until, seq LIMIT ?2 "
					  "FOR UPDATE SKIP LOCKED"
					: "SELECT " COMMISSION_COLS " FROM commissions WHERE status = 'pending' AND "
					  "hold_until <= ?1 AND amount IS NOT NULL ORDER BY hold_until, seq LIMIT ?2",
				   err);
	if (!st)
		return RF_EIO;
	rf_db_bind_int(st, 1, now);
	rf_db_bind_int(st, 2, max + 1);
	bool more = false;
	return rf_q_collect(s, st, max, sizeof(rf_commission), commission_fill, (void **)items, n, &more, a, err);
}

rf_status rf_store_commission_balance(rf_store *s, const char *partner_id, rf_balance *out, size_t max, size_t *n,
				      rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(s,
				   "SELECT currency, status, sum(amount) FROM commissions WHERE partner_id = ? "
				   "AND status <> 'rejected' AND amount IS NOT NULL GROUP BY currency, status "
				   "ORDER BY currency",
				   err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, partner_id);
	*n = 0;
	int rc;
	while ((rc = rf_db_step(st)) == RF_DB_ROW) {
		char cur[4];
		rf_q_code(st, 0, cur);
		const char *status = (const char *)rf_db_col_text(st, 1, NULL);
		int64_t sum = rf_db_col_int(st, 2);
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
		if (strcmp(status, "pending") == 0)
			out[i].pending = sum;
		else if (strcmp(status, "held") == 0)
			out[i].held = sum;
		else if (strcmp(status, "approved") == 0)
			out[i].approved = sum;
		else if (strcmp(status, "paid") == 0)
			out[i].paid = sum;
	}
	rf_db_reset(st);
	return rc == RF_DB_DONE ? RF_OK : rf_q_fail(s, err, "summing a balance");
}

rf_status rf_store_commissions_created(rf_store *s, const char *partner_id, int64_t from, int64_t to, int max,
				       rf_commission **items, size_t *n, bool *has_more, rf_arena *a, rf_err *err)
{
	rf_db_stmt *st =
	    rf_q_prep(s,
		      "SELECT " COMMISSION_COLS " FROM commissions WHERE partner_id = ?1 AND created_at > ?2 "
		      "AND created_at <= ?3 ORDER BY created_at, seq LIMIT ?4",
		      err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, partner_id);
	rf_db_bind_int(st, 2, from);
	rf_db_bind_int(st, 3, to);
	rf_db_bind_int(st, 4, max + 1);
	*has_more = false;
	return rf_q_collect(s, st, max, sizeof(rf_commission), commission_fill, (void **)items, n, has_more, a, err);
}

/* ---- FX rates ---- */

static void fx_fill(rf_db_stmt *st, void *item, rf_arena *a)
{
	(void)a;
	rf_fx_rate *r = item;
	memset(r, 0, sizeof *r);
	rf_q_code(st, 0, r->base);
	rf_q_code(st, 1, r->quote);
	r->valid_from = rf_db_col_int(st, 2);
	r->rate_ppb = rf_db_col_int(st, 3);
	r->created_at = rf_db_col_int(st, 4);
}

rf_status rf_store_fx_put(rf_store *s, const rf_fx_rate *r, rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(s,
				   "INSERT INTO fx_rates (base, quote, valid_from, rate_ppb, created_at) VALUES "
				   "(?,?,?,?,?) ON CONFLICT (base, quote, valid_from) DO UPDATE SET rate_ppb = "
				   "excluded.rate_ppb, created_at = excluded.created_at",
				   err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, r->base);
	rf_db_bind_text(st, 2, r->quote);
	rf_db_bind_int(st, 3, r->valid_from);
	rf_db_bind_int(st, 4, r->rate_ppb);
	rf_db_bind_int(st, 5, r->created_at);
	return rf_q_done(s, st, NULL, err);
}

rf_status rf_store_fx_at(rf_store *s, const char *base, const char *quote, int64_t at, rf_fx_rate *out, rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(s,
				   "SELECT base, quote, valid_from, rate_ppb, created_at FROM fx_rates WHERE "
				   "base = ?1 AND quote = ?2 AND valid_from <= ?3 ORDER BY valid_from DESC LIMIT 1",
				   err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, base);
	rf_db_bind_text(st, 2, quote);
	rf_db_bind_int(st, 3, at);
	return rf_q_one_row(s, st, fx_fill, out, NULL, "fx rate", err);
}

rf_status rf_store_fx_list(rf_store *s, const char *base, const char *quote, int limit, rf_fx_rate **items, size_t *n,
			   bool *has_more, rf_arena *a, rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(s,
				   "SELECT base, quote, valid_from, rate_ppb, created_at FROM fx_rates WHERE "
				   "(CAST(?1 AS TEXT) IS NULL OR base = ?1) AND (CAST(?2 AS TEXT) IS NULL OR quote = "
				   "?2) ORDER BY base, quote, "
				   "valid_from DESC LIMIT ?3",
				   err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, base);
	rf_db_bind_text(st, 2, quote);
	rf_db_bind_int(st, 3, limit + 1);
	return rf_q_collect(s, st, limit, sizeof(rf_fx_rate), fx_fill, (void **)items, n, has_more, a, err);
}

/* ---- Stripe events ---- */

rf_status rf_store_stripe_event_add(rf_store *s, const char *program_id, const char *event_id, const char *type,
				    const char *outcome, const char *object_id, int64_t at, rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(s,
				   "INSERT INTO stripe_events (program_id, event_id, type, outcome, object_id, "
				   "received_at) VALUES (?,?,?,?,?,?)",
				   err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, program_id);
	rf_db_bind_text(st, 2, event_id);
	rf_db_bind_text(st, 3, type);
	rf_db_bind_text(st, 4, outcome);
	rf_db_bind_text(st, 5, object_id);
	rf_db_bind_int(st, 6, at);
	return rf_q_raced(s, rf_q_done(s, st, "event_id", err), err);
}

rf_status rf_store_stripe_event_get(rf_store *s, const char *program_id, const char *event_id, char **outcome,
				    char **object_id, rf_arena *a, rf_err *err)
{
	rf_db_stmt *st =
	    rf_q_prep(s, "SELECT outcome, object_id FROM stripe_events WHERE program_id = ? AND event_id = ?", err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, program_id);
	rf_db_bind_text(st, 2, event_id);
	int rc = rf_db_step(st);
	if (rc == RF_DB_ROW) {
		*outcome = rf_q_text(st, 0, a);
		*object_id = rf_q_text(st, 1, a);
	}
	rf_db_reset(st);
	if (rc == RF_DB_ROW)
		return RF_OK;
	if (rc == RF_DB_DONE)
		return rf_err_set(err, RF_ENOTFOUND, "event_id", "no such event");
	return rf_q_fail(s, err, "reading a Stripe event");
}
