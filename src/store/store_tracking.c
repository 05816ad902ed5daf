/* SPDX-License-Identifier: Apache-2.0 */
/* The SQLite backend's tracking tables: links and the code table, clicks, leads with their history, and
 * idempotent requests. */
#include <stdio.h>
#include <string.h>

#include "../core/code.h"
#include "../core/dbuf.h"
#include "store_internal.h"

/* ---- links ---- */

#define LINK_COLS                                                                                               \
	"l.id, l.program_id, l.partner_id, l.code, l.destination_url, l.campaign, l.utm_source, l.utm_medium, " \
	"l.utm_campaign, l.utm_term, l.utm_content, l.archived_at, l.created_at, l.updated_at, l.target_url, "  \
	"l.coupon"

static void link_row(rf_db_stmt *st, rf_link *l, rf_arena *a)
{
	memset(l, 0, sizeof *l);
	l->id = rf_q_text(st, 0, a);
	l->program_id = rf_q_text(st, 1, a);
	l->partner_id = rf_q_text(st, 2, a);
	l->code = rf_q_text(st, 3, a);
	l->destination_url = rf_q_text(st, 4, a);
	l->campaign = rf_q_text(st, 5, a);
	l->utm_source = rf_q_text(st, 6, a);
	l->utm_medium = rf_q_text(st, 7, a);
	l->utm_campaign = rf_q_text(st, 8, a);
	l->utm_term = rf_q_text(st, 9, a);
	l->utm_content = rf_q_text(st, 10, a);
	l->archived_at = rf_db_col_int(st, 11);
	l->created_at = rf_db_col_int(st, 12);
	l->updated_at = rf_db_col_int(st, 13);
	l->target_url = rf_q_text(st, 14, a);
	l->coupon = rf_q_text(st, 15, a);
}

/* The lower-case form of a link's coupon in the arena (unique per program), or NULL when it has none. */
static char *coupon_folded(const char *coupon, rf_arena *a)
{
	if (!coupon)
		return NULL;
	size_t n = strlen(coupon) + 1;
	char *out = rf_arena_alloc(a, n);
	if (out)
		rf_code_fold(coupon, out, n);
	return out;
}

static void link_fill(rf_db_stmt *st, void *item, rf_arena *a)
{
	link_row(st, item, a);
}

rf_status rf_store_link_insert(rf_store *s, const rf_link *l, const char *code_folded, rf_err *err)
{
	rf_db_stmt *st =
	    rf_q_prep(s,
		      "INSERT INTO links (id, program_id, partner_id, code, code_folded, destination_url, "
		      "campaign, utm_source, utm_medium, utm_campaign, utm_term, utm_content, archived_at, "
		      "created_at, updated_at, target_url, coupon, coupon_folded) VALUES "
		      "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
		      err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, l->id);
	rf_db_bind_text(st, 2, l->program_id);
	rf_db_bind_text(st, 3, l->partner_id);
	rf_db_bind_text(st, 4, l->code);
	rf_db_bind_text(st, 5, code_folded);
	rf_db_bind_text(st, 6, l->destination_url);
	rf_db_bind_text(st, 7, l->campaign);
	rf_db_bind_text(st, 8, l->utm_source);
	rf_db_bind_text(st, 9, l->utm_medium);
	rf_db_bind_text(st, 10, l->utm_campaign);
	rf_db_bind_text(st, 11, l->utm_term);
	rf_db_bind_text(st, 12, l->utm_content);
	rf_db_bind_int(st, 13, l->archived_at);
	rf_db_bind_int(st, 14, l->created_at);
	rf_db_bind_int(st, 15, l->updated_at);
	rf_db_bind_text(st, 16, l->target_url);
	rf_arena a;
	rf_arena_init(&a, 0);
	rf_db_bind_text(st, 17, l->coupon);
	rf_db_bind_text(st, 18, coupon_folded(l->coupon, &a));
	rf_status rc = rf_q_conflict_on(s, rf_q_done(s, st, "code", err), "coupon", "coupon", err);
	rf_arena_reset(&a);
	return rc;
}

rf_status rf_store_link_update(rf_store *s, const rf_link *l, rf_err *err)
{
	rf_db_stmt *st =
	    rf_q_prep(s,
		      "UPDATE links SET destination_url = ?2, campaign = ?3, utm_source = ?4, utm_medium = ?5, "
		      "utm_campaign = ?6, utm_term = ?7, utm_content = ?8, archived_at = ?9, updated_at = ?10, "
		      "target_url = ?11, coupon = ?12, coupon_folded = ?13 WHERE id = ?1",
		      err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, l->id);
	rf_db_bind_text(st, 2, l->destination_url);
	rf_db_bind_text(st, 3, l->campaign);
	rf_db_bind_text(st, 4, l->utm_source);
	rf_db_bind_text(st, 5, l->utm_medium);
	rf_db_bind_text(st, 6, l->utm_campaign);
	rf_db_bind_text(st, 7, l->utm_term);
	rf_db_bind_text(st, 8, l->utm_content);
	rf_db_bind_int(st, 9, l->archived_at);
	rf_db_bind_int(st, 10, l->updated_at);
	rf_db_bind_text(st, 11, l->target_url);
	rf_arena a;
	rf_arena_init(&a, 0);
	rf_db_bind_text(st, 12, l->coupon);
	rf_db_bind_text(st, 13, coupon_folded(l->coupon, &a));
	rf_status rc = rf_q_done(s, st, "coupon", err);
	rf_arena_reset(&a);
	if (rc == RF_OK && rf_db_changes(s->db) == 0)
		return rf_err_set(err, RF_ENOTFOUND, "id", "no such link");
	return rc;
}

rf_status rf_store_link_get(rf_store *s, const char *id, rf_link *out, rf_arena *a, rf_err *err)
{
	return rf_q_get_one(s, "SELECT " LINK_COLS " FROM links l WHERE l.id = ?", id, link_fill, out, a, "link", err);
}

rf_status rf_store_link_list(rf_store *s, const rf_link_filter *f, rf_link **items, size_t *n, bool *has_more,
			     rf_arena *a, rf_err *err)
{
	int64_t after = INT64_MAX;
	if (f->page.starting_after && rf_q_cursor_seq(s, "links", f->page.starting_after, &after, err) != RF_OK)
		return err->status;
	rf_q_keyset k;
	rf_q_keyset_sql(s, "links", "l", false, f->page.settled, &k);
	char sql[3072];
	snprintf(
	    sql, sizeof sql,
	    "SELECT " LINK_COLS " FROM links l JOIN partners p ON p.id = l.partner_id "
	    "WHERE %s AND (CAST(?2 AS TEXT) IS NULL OR l.program_id = ?2) AND (CAST(?3 AS TEXT) IS NULL OR "
	    "l.partner_id = ?3) AND (CAST(?4 AS TEXT) IS NULL OR l.campaign = ?4) AND (CAST(?5 AS TEXT) IS NULL OR "
	    "p.id = ?5 OR p.team_parent_id = ?5) AND (?6 <> 0 OR l.archived_at = 0) ORDER BY %s LIMIT ?7",
	    k.cond, k.order);
	rf_db_stmt *st = rf_q_prep(s, sql, err);
	if (!st)
		return RF_EIO;
	rf_db_bind_int(st, 1, after);
	rf_db_bind_text(st, 2, f->program_id);
	rf_db_bind_text(st, 3, f->partner_id);
	rf_db_bind_text(st, 4, f->campaign);
	rf_db_bind_text(st, 5, f->scope_id);
	rf_db_bind_int(st, 6, f->include_archived);
	rf_db_bind_int(st, 7, f->page.limit + 1);
	return rf_q_collect(s, st, f->page.limit, sizeof(rf_link), link_fill, (void **)items, n, has_more, a, err);
}

rf_status rf_store_code_table_load(rf_store *s, void (*fn)(const rf_code_entry *e, void *arg), void *arg, rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(s,
				   "SELECT l.code_folded, l.id, l.program_id, l.partner_id, l.target_url, "
				   "p.status = 'active', pr.cookie_window_days, pr.repeat_click_minutes FROM links l "
				   "JOIN partners p ON p.id = l.partner_id JOIN programs pr ON pr.id = l.program_id "
				   "WHERE l.archived_at = 0",
				   err);
	if (!st)
		return RF_EIO;
	int rc;
	while ((rc = rf_db_step(st)) == RF_DB_ROW) {
		rf_code_entry e = {
		    .code_folded = (char *)rf_db_col_text(st, 0, NULL),
		    .link_id = (char *)rf_db_col_text(st, 1, NULL),
		    .program_id = (char *)rf_db_col_text(st, 2, NULL),
		    .partner_id = (char *)rf_db_col_text(st, 3, NULL),
		    .destination_url = (char *)rf_db_col_text(st, 4, NULL),
		    .credited = rf_db_col_int(st, 5) != 0,
		    .window_days = rf_db_col_int(st, 6),
		    .repeat_minutes = rf_db_col_int(st, 7),
		};
		fn(&e, arg);
	}
	rf_db_reset(st);
	return rc == RF_DB_DONE ? RF_OK : rf_q_fail(s, err, "loading the code table");
}

rf_status rf_store_code_find(rf_store *s, const char *code_folded, rf_code_entry *out, rf_arena *a, rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(s,
				   "SELECT l.code_folded, l.id, l.program_id, l.partner_id, l.target_url, "
				   "p.status = 'active', pr.cookie_window_days, pr.repeat_click_minutes FROM links l "
				   "JOIN partners p ON p.id = l.partner_id JOIN programs pr ON pr.id = l.program_id "
				   "WHERE l.code_folded = ?1 AND l.archived_at = 0",
				   err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, code_folded);
	int rc = rf_db_step(st);
	if (rc == RF_DB_ROW) {
		memset(out, 0, sizeof *out);
		out->code_folded = rf_q_text(st, 0, a);
		out->link_id = rf_q_text(st, 1, a);
		out->program_id = rf_q_text(st, 2, a);
		out->partner_id = rf_q_text(st, 3, a);
		out->destination_url = rf_q_text(st, 4, a);
		out->credited = rf_db_col_int(st, 5) != 0;
		out->window_days = rf_db_col_int(st, 6);
		out->repeat_minutes = rf_db_col_int(st, 7);
	}
	rf_db_reset(st);
	if (rc == RF_DB_ROW)
		return RF_OK;
	return rc == RF_DB_DONE ? rf_err_set(err, RF_ENOTFOUND, "code", "no such code")
				: rf_q_fail(s, err, "finding a code");
}

rf_status rf_store_coupon_find(rf_store *s, const char *program_id, const char *coupon, rf_code_entry *out, rf_arena *a,
			       rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(s,
				   "SELECT l.code_folded, l.id, l.program_id, l.partner_id, l.target_url, "
				   "p.status = 'active', pr.cookie_window_days, pr.repeat_click_minutes FROM links l "
				   "JOIN partners p ON p.id = l.partner_id JOIN programs pr ON pr.id = l.program_id "
				   "WHERE l.program_id = ?1 AND l.coupon_folded = ?2 AND l.archived_at = 0",
				   err);
	if (!st)
		return RF_EIO;
	char *folded = coupon_folded(coupon, a);
	if (!folded || !*folded) {
		rf_db_reset(st);
		return rf_err_set(err, RF_ENOTFOUND, "coupon", "no such coupon");
	}
	rf_db_bind_text(st, 1, program_id);
	rf_db_bind_text(st, 2, folded);
	int rc = rf_db_step(st);
	if (rc == RF_DB_ROW) {
		memset(out, 0, sizeof *out);
		out->code_folded = rf_q_text(st, 0, a);
		out->link_id = rf_q_text(st, 1, a);
		out->program_id = rf_q_text(st, 2, a);
		out->partner_id = rf_q_text(st, 3, a);
		out->destination_url = rf_q_text(st, 4, a);
		out->credited = rf_db_col_int(st, 5) != 0;
		out->window_days = rf_db_col_int(st, 6);
		out->repeat_minutes = rf_db_col_int(st, 7);
	}
	rf_db_reset(st);
	if (rc == RF_DB_ROW)
		return RF_OK;
	return rc == RF_DB_DONE ? rf_err_set(err, RF_ENOTFOUND, "coupon", "no such coupon")
				: rf_q_fail(s, err, "finding a coupon");
}

rf_status rf_store_default_fallback(rf_store *s, char **url, rf_arena *a, rf_err *err)
{
	rf_db_stmt *st =
	    rf_q_prep(s, "SELECT fallback_url FROM programs WHERE fallback_url IS NOT NULL ORDER BY seq LIMIT 1", err);
	if (!st)
		return RF_EIO;
	int rc = rf_db_step(st);
	*url = rc == RF_DB_ROW ? rf_q_text(st, 0, a) : NULL;
	rf_db_reset(st);
	return (rc == RF_DB_ROW || rc == RF_DB_DONE) ? RF_OK : rf_q_fail(s, err, "reading the fallback URL");
}

/* The notice channel of link changes. */
#define LINKS_CHANNEL "refd_links"

rf_status rf_store_links_version(rf_store *s, int64_t *version, rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(s, "SELECT CAST(value AS BIGINT) FROM settings WHERE key = 'links_version'", err);
	if (!st)
		return RF_EIO;
	int rc = rf_db_step(st);
	*version = rc == RF_DB_ROW ? rf_db_col_int(st, 0) : 0;
	rf_db_reset(st);
	return (rc == RF_DB_ROW || rc == RF_DB_DONE) ? RF_OK : rf_q_fail(s, err, "reading the links version");
}

rf_status rf_store_links_version_bump(rf_store *s, rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(s,
				   "UPDATE settings SET value = CAST(CAST(value AS BIGINT) + 1 AS TEXT) "
				   "WHERE key = 'links_version'",
				   err);
	if (!st)
		return RF_EIO;
	if (rf_q_done(s, st, NULL, err) != RF_OK)
		return err->status;
	/* Delivered to the listening processes when the transaction commits, and not at all if it rolls back. */
	if (rf_db_notify(s->db, LINKS_CHANNEL) != RF_OK)
		return rf_q_fail(s, err, "announcing a link change");
	return RF_OK;
}

bool rf_store_links_announced(rf_store *s)
{
	return rf_db_can(s->db, RF_DB_CAP_NOTIFY);
}

int rf_store_links_wait(rf_store *s, int timeout_ms)
{
	return rf_db_poll_notice(s->db, LINKS_CHANNEL, timeout_ms);
}

/* ---- clicks ---- */

#define CLICK_COLS                                                                                          \
	"id, program_id, link_id, partner_id, prev_click_id, at, ip_hash, ip_prefix, user_agent, referer, " \
	"landing_url, source, status"

#define CLICK_ROW "(?,?,?,?,?,?,?,?,?,?,?,?,?)"
#define CLICK_ROW_PARAMS 13
#define CLICK_ROWS2 CLICK_ROW "," CLICK_ROW
#define CLICK_ROWS4 CLICK_ROWS2 "," CLICK_ROWS2
#define CLICK_ROWS8 CLICK_ROWS4 "," CLICK_ROWS4
#define CLICK_INSERT "INSERT INTO clicks (" CLICK_COLS ") VALUES "

static void bind_click(rf_db_stmt *st, int base, const rf_click *c)
{
	rf_db_bind_text(st, base + 1, c->id);
	rf_db_bind_text(st, base + 2, c->program_id);
	rf_db_bind_text(st, base + 3, c->link_id);
	rf_db_bind_text(st, base + 4, c->partner_id);
	rf_db_bind_text(st, base + 5, c->prev_click_id);
	rf_db_bind_int(st, base + 6, c->at);
	rf_db_bind_text(st, base + 7, c->ip_hash);
	rf_db_bind_text(st, base + 8, c->ip_prefix);
	rf_db_bind_text(st, base + 9, c->user_agent);
	rf_db_bind_text(st, base + 10, c->referer);
	rf_db_bind_text(st, base + 11, c->landing_url);
	rf_db_bind_text(st, base + 12, c->source);
	rf_db_bind_text(st, base + 13, c->status);
}

rf_status rf_store_click_insert(rf_store *s, const rf_click *c, rf_err *err)
{
	return rf_store_clicks_insert(s, &c, 1, err);
}

/* Rows per multi-row INSERT of clicks. */
#define RF_CLICKS_PER_INSERT 16

/* Appends v to a PostgreSQL array literal being built in b: a quoted element with its quotes and backslashes
 * escaped, or NULL. */
static void array_add(rf_dbuf *b, const char *v)
{
	rf_dbuf_adds(b, b->len ? "," : "{");
	if (!v) {
		rf_dbuf_adds(b, "NULL");
		return;
	}
	rf_dbuf_adds(b, "\"");
	for (const char *p = v; *p;) {
		size_t run = strcspn(p, "\"\\");
		rf_dbuf_add(b, p, run);
		p += run;
		if (*p) {
			char esc[2] = {'\\', *p++};
			rf_dbuf_add(b, esc, 2);
		}
	}
	rf_dbuf_adds(b, "\"");
}

/* PostgreSQL: the whole batch in one statement, each column bound as an array that unnest turns back into rows, so
 * a group of clicks costs one round trip to the server however many rows it holds (the multi-row VALUES below
 * would take one per sixteen rows and one per row of the remainder). */
static rf_status clicks_insert_pg(rf_store *s, const rf_click *const *clicks, size_t n, rf_err *err)
{
	rf_dbuf cols[CLICK_ROW_PARAMS];
	for (int c = 0; c < CLICK_ROW_PARAMS; c++)
		rf_dbuf_init(&cols[c], (size_t)64 << 20);
	rf_status rc = RF_OK;
	for (size_t i = 0; i < n; i++) {
		const rf_click *k = clicks[i];
		char at[24];
		snprintf(at, sizeof at, "%lld", (long long)k->at);
		const char *v[CLICK_ROW_PARAMS] = {
		    k->id,        k->program_id, k->link_id, k->partner_id,  k->prev_click_id, at,       k->ip_hash,
		    k->ip_prefix, k->user_agent, k->referer, k->landing_url, k->source,        k->status};
		for (int c = 0; c < CLICK_ROW_PARAMS; c++)
			array_add(&cols[c], v[c]);
	}
	for (int c = 0; c < CLICK_ROW_PARAMS; c++)
		if (rf_dbuf_adds(&cols[c], "}") != RF_OK && rc == RF_OK)
			rc = rf_err_set(err, rf_dbuf_status(&cols[c]), NULL, "out of memory for a group of clicks");
	if (rc == RF_OK) {
		rf_db_stmt *st =
		    rf_q_prep(s,
			      "INSERT INTO clicks (" CLICK_COLS ") SELECT * FROM unnest(?1::text[], ?2::text[], "
			      "?3::text[], ?4::text[], ?5::text[], ?6::bigint[], ?7::text[], ?8::text[], "
			      "?9::text[], ?10::text[], ?11::text[], ?12::text[], ?13::text[])",
			      err);
		if (!st) {
			rc = RF_EIO;
		} else {
			for (int c = 0; c < CLICK_ROW_PARAMS; c++)
				rf_db_bind_textn(st, c + 1, cols[c].p, cols[c].len);
			rc = rf_q_done(s, st, NULL, err);
			/* A parameter the driver could not copy goes as NULL, which unnest would read as an empty
			 * column and pad with NULLs: only the whole batch counts as done. */
			if (rc == RF_OK && rf_db_changes(s->db) != (int64_t)n)
				rc = rf_err_set(err, RF_EIO, NULL, "%lld of %zu clicks were inserted",
						(long long)rf_db_changes(s->db), n);
		}
	}
	for (int c = 0; c < CLICK_ROW_PARAMS; c++)
		rf_dbuf_free(&cols[c]);
	return rc;
}

rf_status rf_store_clicks_insert(rf_store *s, const rf_click *const *clicks, size_t n, rf_err *err)
{
	if (n > 1 && rf_q_dialect(s) == RF_DB_POSTGRES)
		return clicks_insert_pg(s, clicks, n, err);
	/* Sixteen rows per statement: one statement run instead of sixteen, which is most of an insert's cost. */
	_Static_assert(RF_CLICKS_PER_INSERT == 16, "the statement below inserts sixteen rows");
	static const char one[] = CLICK_INSERT CLICK_ROW;
	static const char many[] = CLICK_INSERT CLICK_ROWS8 "," CLICK_ROWS8;
	size_t i = 0;
	while (i < n) {
		size_t rows = n - i >= RF_CLICKS_PER_INSERT ? RF_CLICKS_PER_INSERT : 1;
		rf_db_stmt *st = rf_q_prep(s, rows == 1 ? one : many, err);
		if (!st)
			return RF_EIO;
		for (size_t r = 0; r < rows; r++)
			bind_click(st, (int)r * CLICK_ROW_PARAMS, clicks[i + r]);
		/* Click ids are unique by construction (time and random bits): a clash is a failure like any other, and
		 * the hot path pays for no savepoint. */
		rf_status rc = rf_q_done(s, st, NULL, err);
		if (rc != RF_OK)
			return rc;
		i += rows;
	}
	return RF_OK;
}

rf_status rf_store_click_get(rf_store *s, const char *id, rf_click *out, rf_arena *a, rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(s, "SELECT " CLICK_COLS " FROM clicks WHERE id = ?", err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, id);
	int rc = rf_db_step(st);
	if (rc == RF_DB_ROW) {
		memset(out, 0, sizeof *out);
		out->id = rf_q_text(st, 0, a);
		out->program_id = rf_q_text(st, 1, a);
		out->link_id = rf_q_text(st, 2, a);
		out->partner_id = rf_q_text(st, 3, a);
		out->prev_click_id = rf_q_text(st, 4, a);
		out->at = rf_db_col_int(st, 5);
		out->ip_hash = rf_q_text(st, 6, a);
		out->ip_prefix = rf_q_text(st, 7, a);
		out->user_agent = rf_q_text(st, 8, a);
		out->referer = rf_q_text(st, 9, a);
		out->landing_url = rf_q_text(st, 10, a);
		out->source = rf_q_text(st, 11, a);
		out->status = rf_q_text(st, 12, a);
	}
	rf_db_reset(st);
	if (rc == RF_DB_ROW)
		return RF_OK;
	if (rc == RF_DB_DONE)
		return rf_err_set(err, RF_ENOTFOUND, "click_id", "no such click");
	return rf_q_fail(s, err, "reading a click");
}

rf_status rf_store_click_counts(rf_store *s, const char *link_id, int64_t counts[4], rf_err *err)
{
	static const char *const names[4] = {"counted", "bot", "repeat", "uncredited"};
	rf_db_stmt *st = rf_q_prep(s, "SELECT status, count(*) FROM clicks WHERE link_id = ? GROUP BY status", err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, link_id);
	for (int i = 0; i < 4; i++)
		counts[i] = 0;
	int rc;
	while ((rc = rf_db_step(st)) == RF_DB_ROW) {
		const char *name = (const char *)rf_db_col_text(st, 0, NULL);
		for (int i = 0; i < 4; i++)
			if (name && strcmp(name, names[i]) == 0)
				counts[i] = rf_db_col_int(st, 1);
	}
	rf_db_reset(st);
	return rc == RF_DB_DONE ? RF_OK : rf_q_fail(s, err, "counting clicks");
}

/* ---- leads ---- */

#define LEAD_COLS                                                                                              \
	"l.id, l.program_id, l.email, l.external_id, l.name, l.company, l.phone, l.source, l.status, "         \
	"l.partner_id, l.agent_id, l.click_id, l.method, l.registration, l.review_reason, l.protected_until, " \
	"l.metadata, l.created_by, l.created_at, l.updated_at, l.status_at, l.converted_at"

static void lead_row(rf_db_stmt *st, rf_lead *l, rf_arena *a)
{
	memset(l, 0, sizeof *l);
	l->id = rf_q_text(st, 0, a);
	l->program_id = rf_q_text(st, 1, a);
	l->email = rf_q_text(st, 2, a);
	l->external_id = rf_q_text(st, 3, a);
	l->name = rf_q_text(st, 4, a);
	l->company = rf_q_text(st, 5, a);
	l->phone = rf_q_text(st, 6, a);
	l->source = rf_q_text(st, 7, a);
	l->status = rf_q_text(st, 8, a);
	l->partner_id = rf_q_text(st, 9, a);
	l->agent_id = rf_q_text(st, 10, a);
	l->click_id = rf_q_text(st, 11, a);
	l->method = rf_q_text(st, 12, a);
	l->registration = rf_db_col_int(st, 13) != 0;
	l->review_reason = rf_q_text(st, 14, a);
	l->protected_until = rf_db_col_int(st, 15);
	l->metadata = rf_q_text(st, 16, a);
	l->created_by = rf_q_text(st, 17, a);
	l->created_at = rf_db_col_int(st, 18);
	l->updated_at = rf_db_col_int(st, 19);
	l->status_at = rf_db_col_int(st, 20);
	l->converted_at = rf_db_col_int(st, 21);
}

static void lead_fill(rf_db_stmt *st, void *item, rf_arena *a)
{
	lead_row(st, item, a);
}

static void lead_bind(rf_db_stmt *st, const rf_lead *l)
{
	rf_db_bind_text(st, 1, l->id);
	rf_db_bind_text(st, 2, l->program_id);
	rf_db_bind_text(st, 3, l->email);
	rf_db_bind_text(st, 4, l->external_id);
	rf_db_bind_text(st, 5, l->name);
	rf_db_bind_text(st, 6, l->company);
	rf_db_bind_text(st, 7, l->phone);
	rf_db_bind_text(st, 8, l->source);
	rf_db_bind_text(st, 9, l->status);
	rf_db_bind_text(st, 10, l->partner_id);
	rf_db_bind_text(st, 11, l->agent_id);
	rf_db_bind_text(st, 12, l->click_id);
	rf_db_bind_text(st, 13, l->method);
	rf_db_bind_int(st, 14, l->registration);
	rf_db_bind_text(st, 15, l->review_reason);
	rf_db_bind_int(st, 16, l->protected_until);
	rf_db_bind_text(st, 17, l->metadata ? l->metadata : "{}");
	rf_db_bind_text(st, 18, l->created_by);
	rf_db_bind_int(st, 19, l->created_at);
	rf_db_bind_int(st, 20, l->updated_at);
	rf_db_bind_int(st, 21, l->status_at);
	rf_db_bind_int(st, 22, l->converted_at);
}

rf_status rf_store_lead_insert(rf_store *s, const rf_lead *l, rf_err *err)
{
	rf_db_stmt *st =
	    rf_q_prep(s,
		      "INSERT INTO leads (id, program_id, email, external_id, name, company, phone, source, "
		      "status, partner_id, agent_id, click_id, method, registration, review_reason, "
		      "protected_until, metadata, created_by, created_at, updated_at, status_at, converted_at) "
		      "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
		      err);
	if (!st)
		return RF_EIO;
	lead_bind(st, l);
	/* A lead has two unique keys in its program: a conflict names the one the database found taken (an email
	 * that is new with an external id that is not was once reported as a taken email). */
	rf_status rc = rf_q_done(s, st, l->email ? "email" : "external_id", err);
	return rf_q_raced(s, rf_q_conflict_on(s, rc, "external", "external_id", err), err);
}

rf_status rf_store_lead_update(rf_store *s, const rf_lead *l, rf_err *err)
{
	rf_db_stmt *st =
	    rf_q_prep(s,
		      "UPDATE leads SET program_id = ?2, email = ?3, external_id = ?4, name = ?5, company = ?6, "
		      "phone = ?7, source = ?8, status = ?9, partner_id = ?10, agent_id = ?11, click_id = ?12, "
		      "method = ?13, registration = ?14, review_reason = ?15, protected_until = ?16, "
		      "metadata = ?17, created_by = ?18, created_at = ?19, updated_at = ?20, status_at = ?21, "
		      "converted_at = ?22 WHERE id = ?1",
		      err);
	if (!st)
		return RF_EIO;
	lead_bind(st, l);
	rf_status rc = rf_q_conflict_on(s, rf_q_done(s, st, "email", err), "external", "external_id", err);
	if (rc == RF_OK && rf_db_changes(s->db) == 0)
		return rf_err_set(err, RF_ENOTFOUND, "id", "no such lead");
	return rc;
}

rf_status rf_store_lead_get(rf_store *s, const char *id, rf_lead *out, rf_arena *a, rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(s, "SELECT " LEAD_COLS " FROM leads l WHERE l.id = ?", err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, id);
	return rf_q_one_row(s, st, lead_fill, out, a, "lead", err);
}

rf_status rf_store_lead_find(rf_store *s, const char *program_id, const char *email, const char *external_id,
			     rf_lead *out, rf_arena *a, rf_err *err)
{
	rf_db_stmt *st =
	    rf_q_prep(s,
		      email ? "SELECT " LEAD_COLS " FROM leads l WHERE l.program_id = ?1 AND l.email = ?2"
			    : "SELECT " LEAD_COLS " FROM leads l WHERE l.program_id = ?1 AND l.external_id = ?2",
		      err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, program_id);
	rf_db_bind_text(st, 2, email ? email : external_id);
	return rf_q_one_row(s, st, lead_fill, out, a, "lead", err);
}

/* The conditions of a lead filter, parameters ?2 to ?10 (bind_lead_filter fills them). */
#define LEAD_FILTER                                                                                                    \
	"(CAST(?2 AS TEXT) IS NULL OR l.program_id = ?2) AND (CAST(?3 AS TEXT) IS NULL OR l.partner_id = ?3) AND "     \
	"(CAST(?4 AS TEXT) IS NULL OR l.agent_id = "                                                                   \
	"?4) AND (CAST(?5 AS TEXT) IS NULL OR l.status = ?5) AND (CAST(?6 AS TEXT) IS NULL OR l.source = ?6) AND (?7 " \
	"= 0 OR l.created_at >= "                                                                                      \
	"?7) AND (?8 = 0 OR l.created_at < ?8) AND (?9 < 0 OR l.registration = ?9) AND (CAST(?10 AS TEXT) IS NULL OR " \
	"l.partner_id = ?10 OR l.agent_id = ?10 OR l.partner_id IN (SELECT id FROM partners WHERE "                    \
	"team_parent_id = ?10) OR l.agent_id IN (SELECT id FROM partners WHERE team_parent_id = ?10))"

static void bind_lead_filter(rf_db_stmt *st, const rf_lead_filter *f, const char *status)
{
	rf_db_bind_text(st, 2, f->program_id);
	rf_db_bind_text(st, 3, f->partner_id);
	rf_db_bind_text(st, 4, f->agent_id);
	rf_db_bind_text(st, 5, status);
	rf_db_bind_text(st, 6, f->source);
	rf_db_bind_int(st, 7, f->created_from);
	rf_db_bind_int(st, 8, f->created_to);
	rf_db_bind_int(st, 9, f->registration);
	rf_db_bind_text(st, 10, f->scope_id);
}

rf_status rf_store_lead_list(rf_store *s, const rf_lead_filter *f, rf_lead **items, size_t *n, bool *has_more,
			     rf_arena *a, rf_err *err)
{
	int64_t after = INT64_MAX;
	if (f->page.starting_after && rf_q_cursor_seq(s, "leads", f->page.starting_after, &after, err) != RF_OK)
		return err->status;
	rf_q_keyset k;
	rf_q_keyset_sql(s, "leads", "l", false, f->page.settled, &k);
	char sql[4096];
	snprintf(sql, sizeof sql,
		 "SELECT " LEAD_COLS " FROM leads l WHERE %s AND " LEAD_FILTER " ORDER BY %s LIMIT ?11", k.cond,
		 k.order);
	rf_db_stmt *st = rf_q_prep(s, sql, err);
	if (!st)
		return RF_EIO;
	rf_db_bind_int(st, 1, after);
	bind_lead_filter(st, f, f->status);
	rf_db_bind_int(st, 11, f->page.limit + 1);
	return rf_q_collect(s, st, f->page.limit, sizeof(rf_lead), lead_fill, (void **)items, n, has_more, a, err);
}

rf_status rf_store_registrations_expired(rf_store *s, int64_t from, int64_t to, int max, rf_lead **items, size_t *n,
					 rf_arena *a, rf_err *err)
{
	rf_db_stmt *st =
	    rf_q_prep(s,
		      "SELECT " LEAD_COLS " FROM leads l WHERE l.registration = 1 AND l.protected_until > ?1 "
		      "AND l.protected_until <= ?2 AND l.status NOT IN ('pending_review', 'rejected', "
		      "'converted') AND NOT EXISTS (SELECT 1 FROM events e WHERE e.object_id = l.id AND "
		      "e.type = 'deal.expired') ORDER BY l.protected_until, l.seq LIMIT ?3",
		      err);
	if (!st)
		return RF_EIO;
	rf_db_bind_int(st, 1, from);
	rf_db_bind_int(st, 2, to);
	rf_db_bind_int(st, 3, max + 1);
	bool more = false;
	return rf_q_collect(s, st, max, sizeof(rf_lead), lead_fill, (void **)items, n, &more, a, err);
}

rf_status rf_store_registrations_expiring(rf_store *s, int64_t from, int64_t to, int max, rf_lead **items, size_t *n,
					  rf_arena *a, rf_err *err)
{
	rf_db_stmt *st =
	    rf_q_prep(s,
		      "SELECT " LEAD_COLS " FROM leads l WHERE l.registration = 1 AND l.protected_until > ?1 "
		      "AND l.protected_until <= ?2 AND l.status NOT IN ('pending_review', 'rejected', 'converted', "
		      "'lost') AND NOT EXISTS (SELECT 1 FROM mail_runs r WHERE r.key = 'deal_reminder:' || l.id AND "
		      "r.mark >= l.protected_until) ORDER BY l.protected_until, l.seq LIMIT ?3",
		      err);
	if (!st)
		return RF_EIO;
	rf_db_bind_int(st, 1, from);
	rf_db_bind_int(st, 2, to);
	rf_db_bind_int(st, 3, max + 1);
	bool more = false;
	return rf_q_collect(s, st, max, sizeof(rf_lead), lead_fill, (void **)items, n, &more, a, err);
}

rf_status rf_store_lead_counts(rf_store *s, const rf_lead_filter *f, const char *const *statuses, size_t n,
			       int64_t *counts, rf_err *err)
{
	rf_db_stmt *st =
	    rf_q_prep(s, "SELECT l.status, count(*) FROM leads l WHERE " LEAD_FILTER " GROUP BY l.status", err);
	if (!st)
		return RF_EIO;
	bind_lead_filter(st, f, NULL);
	for (size_t i = 0; i < n; i++)
		counts[i] = 0;
	int rc;
	while ((rc = rf_db_step(st)) == RF_DB_ROW) {
		const char *status = (const char *)rf_db_col_text(st, 0, NULL);
		for (size_t i = 0; i < n; i++)
			if (strcmp(statuses[i], status) == 0)
				counts[i] = rf_db_col_int(st, 1);
	}
	rf_db_reset(st);
	return rc == RF_DB_DONE ? RF_OK : rf_q_fail(s, err, "counting leads");
}

rf_status rf_store_lead_conflicts(rf_store *s, const char *program_id, const char *email, const char *domain,
				  int64_t since, const char *exclude_id, int max, rf_lead **items, size_t *n,
				  rf_arena *a, rf_err *err)
{
	rf_db_stmt *st =
	    rf_q_prep(s,
		      "SELECT " LEAD_COLS " FROM leads l WHERE l.program_id = ?1 AND l.created_at >= ?4 "
		      "AND l.id <> ?5 AND l.status IN ('pending_review', 'new', 'contacted', 'qualified', 'converted') "
		      "AND (l.email = ?2 OR (?3 IS NOT NULL AND "
		      "substr(l.email, instr(l.email, '@') + 1) = ?3)) ORDER BY l.seq DESC LIMIT ?6",
		      err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, program_id);
	rf_db_bind_text(st, 2, email);
	rf_db_bind_text(st, 3, domain);
	rf_db_bind_int(st, 4, since);
	rf_db_bind_text(st, 5, exclude_id ? exclude_id : "");
	rf_db_bind_int(st, 6, max + 1);
	bool more = false;
	return rf_q_collect(s, st, max, sizeof(rf_lead), lead_fill, (void **)items, n, &more, a, err);
}

rf_status rf_store_lead_event_add(rf_store *s, const char *lead_id, const rf_lead_event *e, rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(s,
				   "INSERT INTO lead_events (lead_id, from_status, to_status, actor, reason, at) "
				   "VALUES (?,?,?,?,?,?)",
				   err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, lead_id);
	rf_db_bind_text(st, 2, e->from_status);
	rf_db_bind_text(st, 3, e->to_status);
	rf_db_bind_text(st, 4, e->actor);
	rf_db_bind_text(st, 5, e->reason);
	rf_db_bind_int(st, 6, e->at);
	return rf_q_done(s, st, NULL, err);
}

static void event_fill(rf_db_stmt *st, void *item, rf_arena *a)
{
	rf_lead_event *e = item;
	e->from_status = rf_q_text(st, 0, a);
	e->to_status = rf_q_text(st, 1, a);
	e->actor = rf_q_text(st, 2, a);
	e->reason = rf_q_text(st, 3, a);
	e->at = rf_db_col_int(st, 4);
}

rf_status rf_store_lead_events(rf_store *s, const char *lead_id, rf_lead_event **items, size_t *n, rf_arena *a,
			       rf_err *err)
{
	rf_db_stmt *st =
	    rf_q_prep(s,
		      "SELECT from_status, to_status, actor, reason, at FROM lead_events WHERE lead_id = ? "
		      "ORDER BY seq LIMIT 1001",
		      err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, lead_id);
	bool more = false;
	return rf_q_collect(s, st, 1000, sizeof(rf_lead_event), event_fill, (void **)items, n, &more, a, err);
}

rf_status rf_store_idem_get(rf_store *s, const char *actor, const char *key, char **route, char **request_hash,
			    int *status, char **body, rf_arena *a, rf_err *err)
{
	rf_db_stmt *st =
	    rf_q_prep(s, "SELECT route, request_hash, status, body FROM idempotency WHERE actor = ? AND key = ?", err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, actor);
	rf_db_bind_text(st, 2, key);
	int rc = rf_db_step(st);
	if (rc == RF_DB_ROW) {
		*route = rf_q_text(st, 0, a);
		*request_hash = rf_q_text(st, 1, a);
		*status = rf_db_col_int(st, 2);
		*body = rf_q_text(st, 3, a);
	}
	rf_db_reset(st);
	if (rc == RF_DB_ROW)
		return RF_OK;
	if (rc == RF_DB_DONE)
		return RF_ENOTFOUND;
	return rf_q_fail(s, err, "reading an idempotency key");
}

rf_status rf_store_idem_put(rf_store *s, const char *actor, const char *key, const char *route,
			    const char *request_hash, int status, const char *body, int64_t at, rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(s,
				   "INSERT INTO idempotency (key, actor, route, request_hash, status, body, at) "
				   "VALUES (?,?,?,?,?,?,?)",
				   err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, key);
	rf_db_bind_text(st, 2, actor);
	rf_db_bind_text(st, 3, route);
	rf_db_bind_text(st, 4, request_hash);
	rf_db_bind_int(st, 5, status);
	rf_db_bind_text(st, 6, body);
	rf_db_bind_int(st, 7, at);
	return rf_q_raced(s, rf_q_done(s, st, "Idempotency-Key", err), err);
}
