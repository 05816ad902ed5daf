/* SPDX-License-Identifier: Apache-2.0 */
/* The SQLite backend's programs, partners (with their search), users and API keys. */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "../core/search.h"
#include "../core/text.h"
#include "sqlite_internal.h"

/* ---- programs ---- */

#define PROGRAM_COLS                                                                                              \
	"id, name, currency, cookie_window_days, attribution_model, holding_period_days, payout_threshold, "      \
	"tracking_params, created_at, updated_at, allowed_domains, fallback_url, repeat_click_minutes, "          \
	"protection_days, conflict_days, tracking_origins, stripe_secret_sealed, payout_day, payout_terms_days, " \
	"partner_signup"

/* Joins a list of names with commas (names never contain one: they are checked before they get here). */
static void list_join(char *const *items, size_t n, char *buf, size_t len)
{
	size_t o = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < n && o < len; i++) {
		int w = snprintf(buf + o, len - o, "%s%s", i ? "," : "", items[i]);
		if (w < 0)
			break;
		o += (size_t)w;
	}
}

/* Splits comma-joined text (in the arena) into at most max items. */
static void list_split(char *text, char **items, size_t *n, size_t max)
{
	*n = 0;
	for (char *tok = text; tok && *tok && *n < max;) {
		char *comma = strchr(tok, ',');
		if (comma)
			*comma = '\0';
		items[(*n)++] = tok;
		tok = comma ? comma + 1 : NULL;
	}
}

static void program_row(sqlite3_stmt *st, rf_program *p, rf_arena *a)
{
	memset(p, 0, sizeof *p);
	p->id = rf_sqlite_col_text(st, 0, a);
	p->name = rf_sqlite_col_text(st, 1, a);
	rf_sqlite_col_code(st, 2, p->currency);
	p->cookie_window_days = sqlite3_column_int64(st, 3);
	p->attribution_model = rf_sqlite_col_text(st, 4, a);
	p->holding_period_days = sqlite3_column_int64(st, 5);
	p->payout_threshold = sqlite3_column_int64(st, 6);
	list_split(rf_sqlite_col_text(st, 7, a), p->tracking_params, &p->n_tracking_params, RF_MAX_TRACKING_PARAMS);
	p->created_at = sqlite3_column_int64(st, 8);
	p->updated_at = sqlite3_column_int64(st, 9);
	list_split(rf_sqlite_col_text(st, 10, a), p->allowed_domains, &p->n_allowed_domains, RF_MAX_DOMAINS);
	p->fallback_url = rf_sqlite_col_text(st, 11, a);
	p->repeat_click_minutes = sqlite3_column_int64(st, 12);
	p->protection_days = sqlite3_column_int64(st, 13);
	p->conflict_days = sqlite3_column_int64(st, 14);
	list_split(rf_sqlite_col_text(st, 15, a), p->tracking_origins, &p->n_tracking_origins, RF_MAX_DOMAINS);
	if (sqlite3_column_type(st, 16) == SQLITE_BLOB) {
		int len = sqlite3_column_bytes(st, 16);
		p->stripe_secret_sealed = rf_arena_alloc(a, (size_t)len);
		if (p->stripe_secret_sealed) {
			memcpy(p->stripe_secret_sealed, sqlite3_column_blob(st, 16), (size_t)len);
			p->stripe_secret_sealed_len = (size_t)len;
		}
	}
	p->payout_day = sqlite3_column_int64(st, 17);
	p->payout_terms_days = sqlite3_column_int64(st, 18);
	p->partner_signup = rf_sqlite_col_text(st, 19, a);
}

static void program_fill(sqlite3_stmt *st, void *item, rf_arena *a)
{
	program_row(st, item, a);
}

static void program_bind(sqlite3_stmt *st, const rf_program *p)
{
	char params[RF_MAX_TRACKING_PARAMS * 34], domains[RF_MAX_DOMAINS * 256], origins[RF_MAX_DOMAINS * 300];
	list_join(p->tracking_params, p->n_tracking_params, params, sizeof params);
	list_join(p->allowed_domains, p->n_allowed_domains, domains, sizeof domains);
	list_join(p->tracking_origins, p->n_tracking_origins, origins, sizeof origins);
	rf_sqlite_bind_text(st, 1, p->id);
	rf_sqlite_bind_text(st, 2, p->name);
	rf_sqlite_bind_text(st, 3, p->currency);
	sqlite3_bind_int64(st, 4, p->cookie_window_days);
	rf_sqlite_bind_text(st, 5, p->attribution_model);
	sqlite3_bind_int64(st, 6, p->holding_period_days);
	sqlite3_bind_int64(st, 7, p->payout_threshold);
	rf_sqlite_bind_text(st, 8, params);
	sqlite3_bind_int64(st, 9, p->created_at);
	sqlite3_bind_int64(st, 10, p->updated_at);
	rf_sqlite_bind_text(st, 11, domains);
	rf_sqlite_bind_text(st, 12, p->fallback_url);
	sqlite3_bind_int64(st, 13, p->repeat_click_minutes);
	sqlite3_bind_int64(st, 14, p->protection_days);
	sqlite3_bind_int64(st, 15, p->conflict_days);
	rf_sqlite_bind_text(st, 16, origins);
	if (p->stripe_secret_sealed)
		sqlite3_bind_blob(st, 17, p->stripe_secret_sealed, (int)p->stripe_secret_sealed_len, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, 17);
	sqlite3_bind_int64(st, 18, p->payout_day ? p->payout_day : 1);
	sqlite3_bind_int64(st, 19, p->payout_terms_days);
	rf_sqlite_bind_text(st, 20, p->partner_signup ? p->partner_signup : "review");
}

rf_status rf_store_program_insert(rf_store *s, const rf_program *p, rf_err *err)
{
	sqlite3_stmt *st = rf_sqlite_prep(
	    s, "INSERT INTO programs (" PROGRAM_COLS ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", err);
	if (!st)
		return RF_EIO;
	program_bind(st, p);
	return rf_sqlite_step_done(s, st, "id", err);
}

rf_status rf_store_program_update(rf_store *s, const rf_program *p, rf_err *err)
{
	sqlite3_stmt *st =
	    rf_sqlite_prep(s,
			   "UPDATE programs SET id = ?1, name = ?2, currency = ?3, cookie_window_days = ?4, "
			   "attribution_model = ?5, holding_period_days = ?6, payout_threshold = ?7, "
			   "tracking_params = ?8, created_at = ?9, updated_at = ?10, allowed_domains = ?11, "
			   "fallback_url = ?12, repeat_click_minutes = ?13, protection_days = ?14, "
			   "conflict_days = ?15, tracking_origins = ?16, stripe_secret_sealed = ?17, "
			   "payout_day = ?18, payout_terms_days = ?19, partner_signup = ?20 WHERE id = ?1",
			   err);
	if (!st)
		return RF_EIO;
	program_bind(st, p);
	rf_status rc = rf_sqlite_step_done(s, st, NULL, err);
	if (rc == RF_OK && sqlite3_changes(s->db) == 0)
		return rf_err_set(err, RF_ENOTFOUND, "id", "no such program");
	return rc;
}

rf_status rf_store_program_get(rf_store *s, const char *id, rf_program *out, rf_arena *a, rf_err *err)
{
	return rf_sqlite_get_one(s, "SELECT " PROGRAM_COLS " FROM programs WHERE id = ?", id, program_fill, out, a,
				 "program", err);
}

rf_status rf_store_program_list(rf_store *s, const rf_page *page, const char *only_id, rf_program **items, size_t *n,
				bool *has_more, rf_arena *a, rf_err *err)
{
	int64_t after = INT64_MAX;
	if (page->starting_after && rf_sqlite_cursor_seq(s, "programs", page->starting_after, &after, err) != RF_OK)
		return err->status;
	sqlite3_stmt *st =
	    rf_sqlite_prep(s,
			   "SELECT " PROGRAM_COLS " FROM programs WHERE seq < ?1 AND (?2 IS NULL OR id = ?2) "
			   "ORDER BY seq DESC LIMIT ?3",
			   err);
	if (!st)
		return RF_EIO;
	sqlite3_bind_int64(st, 1, after);
	rf_sqlite_bind_text(st, 2, only_id);
	sqlite3_bind_int(st, 3, page->limit + 1);
	return rf_sqlite_collect(s, st, page->limit, sizeof(rf_program), program_fill, (void **)items, n, has_more, a,
				 err);
}

/* ---- partners ---- */

#define PARTNER_COLS                                                                                            \
	"p.id, p.program_id, p.kind, p.status, p.name, p.email, p.company, p.currency, p.cost_per_lead, "       \
	"p.cost_per_lead_currency, p.team_parent_id, p.recruited_by_id, p.tax_legal_name, p.tax_country, "      \
	"p.tax_id_sealed, p.tax_id_last4, p.metadata, p.status_reason, p.created_at, p.updated_at, p.plan_id, " \
	"p.payout_hold_reason, p.recruitment_code"

static void partner_row(sqlite3_stmt *st, rf_partner *p, rf_arena *a)
{
	memset(p, 0, sizeof *p);
	p->id = rf_sqlite_col_text(st, 0, a);
	p->program_id = rf_sqlite_col_text(st, 1, a);
	p->kind = rf_sqlite_col_text(st, 2, a);
	p->status = rf_sqlite_col_text(st, 3, a);
	p->name = rf_sqlite_col_text(st, 4, a);
	p->email = rf_sqlite_col_text(st, 5, a);
	p->company = rf_sqlite_col_text(st, 6, a);
	rf_sqlite_col_code(st, 7, p->currency);
	p->cost_per_lead = sqlite3_column_int64(st, 8);
	rf_sqlite_col_code(st, 9, p->cost_per_lead_currency);
	p->team_parent_id = rf_sqlite_col_text(st, 10, a);
	p->recruited_by_id = rf_sqlite_col_text(st, 11, a);
	p->tax_legal_name = rf_sqlite_col_text(st, 12, a);
	p->tax_country = rf_sqlite_col_text(st, 13, a);
	if (sqlite3_column_type(st, 14) == SQLITE_BLOB) {
		int len = sqlite3_column_bytes(st, 14);
		p->tax_id_sealed = rf_arena_alloc(a, (size_t)len);
		if (p->tax_id_sealed) {
			memcpy(p->tax_id_sealed, sqlite3_column_blob(st, 14), (size_t)len);
			p->tax_id_sealed_len = (size_t)len;
		}
	}
	p->tax_id_last4 = rf_sqlite_col_text(st, 15, a);
	p->metadata = rf_sqlite_col_text(st, 16, a);
	p->status_reason = rf_sqlite_col_text(st, 17, a);
	p->created_at = sqlite3_column_int64(st, 18);
	p->updated_at = sqlite3_column_int64(st, 19);
	p->plan_id = rf_sqlite_col_text(st, 20, a);
	p->payout_hold_reason = rf_sqlite_col_text(st, 21, a);
	p->recruitment_code = rf_sqlite_col_text(st, 22, a);
}

static void partner_fill(sqlite3_stmt *st, void *item, rf_arena *a)
{
	partner_row(st, item, a);
}

static void partner_bind(sqlite3_stmt *st, const rf_partner *p)
{
	rf_sqlite_bind_text(st, 1, p->id);
	rf_sqlite_bind_text(st, 2, p->program_id);
	rf_sqlite_bind_text(st, 3, p->kind);
	rf_sqlite_bind_text(st, 4, p->status);
	rf_sqlite_bind_text(st, 5, p->name);
	rf_sqlite_bind_text(st, 6, p->email);
	rf_sqlite_bind_text(st, 7, p->company);
	rf_sqlite_bind_text(st, 8, p->currency);
	sqlite3_bind_int64(st, 9, p->cost_per_lead);
	rf_sqlite_bind_text(st, 10, p->cost_per_lead_currency);
	rf_sqlite_bind_text(st, 11, p->team_parent_id);
	rf_sqlite_bind_text(st, 12, p->recruited_by_id);
	rf_sqlite_bind_text(st, 13, p->tax_legal_name);
	rf_sqlite_bind_text(st, 14, p->tax_country);
	if (p->tax_id_sealed)
		sqlite3_bind_blob(st, 15, p->tax_id_sealed, (int)p->tax_id_sealed_len, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, 15);
	rf_sqlite_bind_text(st, 16, p->tax_id_last4);
	rf_sqlite_bind_text(st, 17, p->metadata ? p->metadata : "{}");
	rf_sqlite_bind_text(st, 18, p->status_reason);
	sqlite3_bind_int64(st, 19, p->created_at);
	sqlite3_bind_int64(st, 20, p->updated_at);
	rf_sqlite_bind_text(st, 21, p->plan_id);
	rf_sqlite_bind_text(st, 22, p->payout_hold_reason);
}

rf_status rf_store_partner_insert(rf_store *s, const rf_partner *p, rf_err *err)
{
	if (!p->recruitment_code)
		return rf_err_set(err, RF_EINVAL, "recruitment_code", "a new partner needs its recruitment code");
	sqlite3_stmt *st =
	    rf_sqlite_prep(s,
			   "INSERT INTO partners (id, program_id, kind, status, name, email, company, currency, "
			   "cost_per_lead, cost_per_lead_currency, team_parent_id, recruited_by_id, "
			   "tax_legal_name, tax_country, tax_id_sealed, tax_id_last4, metadata, status_reason, "
			   "created_at, updated_at, plan_id, payout_hold_reason, recruitment_code) "
			   "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
			   err);
	if (!st)
		return RF_EIO;
	partner_bind(st, p);
	rf_sqlite_bind_text(st, 23, p->recruitment_code);
	rf_status rc = rf_sqlite_step_done(s, st, "email", err);
	/* Two partners drawing the same code is about as likely as guessing one; it must still not be reported as
	 * a taken email. */
	if (rc == RF_ECONFLICT && strstr(sqlite3_errmsg(s->db), "recruitment_code"))
		return rf_err_set(err, RF_ECONFLICT, "recruitment_code",
				  "the new partner's recruitment code is taken; try again");
	return rc;
}

rf_status rf_store_partner_update(rf_store *s, const rf_partner *p, rf_err *err)
{
	sqlite3_stmt *st =
	    rf_sqlite_prep(s,
			   "UPDATE partners SET program_id = ?2, kind = ?3, status = ?4, name = ?5, email = ?6, "
			   "company = ?7, currency = ?8, cost_per_lead = ?9, cost_per_lead_currency = ?10, "
			   "team_parent_id = ?11, recruited_by_id = ?12, tax_legal_name = ?13, tax_country = ?14, "
			   "tax_id_sealed = ?15, tax_id_last4 = ?16, metadata = ?17, status_reason = ?18, "
			   "created_at = ?19, updated_at = ?20, plan_id = ?21, payout_hold_reason = ?22 WHERE id = ?1",
			   err);
	if (!st)
		return RF_EIO;
	partner_bind(st, p);
	rf_status rc = rf_sqlite_step_done(s, st, "email", err);
	if (rc == RF_OK && sqlite3_changes(s->db) == 0)
		return rf_err_set(err, RF_ENOTFOUND, "id", "no such partner");
	return rc;
}

rf_status rf_store_partner_get(rf_store *s, const char *id, rf_partner *out, rf_arena *a, rf_err *err)
{
	return rf_sqlite_get_one(s, "SELECT " PARTNER_COLS " FROM partners p WHERE p.id = ?", id, partner_fill, out, a,
				 "partner", err);
}

rf_status rf_store_partner_by_recruitment_code(rf_store *s, const char *code, rf_partner *out, rf_arena *a, rf_err *err)
{
	return rf_sqlite_get_one(s, "SELECT " PARTNER_COLS " FROM partners p WHERE p.recruitment_code = ?", code,
				 partner_fill, out, a, "partner", err);
}

rf_status rf_store_partner_parent(rf_store *s, const char *relation, const char *id, char **parent, rf_arena *a,
				  rf_err *err)
{
	const char *sql = strcmp(relation, "team_parent_id") == 0 ? "SELECT team_parent_id FROM partners WHERE id = ?"
								  : "SELECT recruited_by_id FROM partners WHERE id = ?";
	sqlite3_stmt *st = rf_sqlite_prep(s, sql, err);
	if (!st)
		return RF_EIO;
	rf_sqlite_bind_text(st, 1, id);
	int rc = sqlite3_step(st);
	*parent = rc == SQLITE_ROW ? rf_sqlite_col_text(st, 0, a) : NULL;
	sqlite3_reset(st);
	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		return RF_OK;
	return rf_sqlite_db_fail(s, err, "reading a partner relation");
}

/* How many candidates each search source contributes before ranking, and the most a search returns. */
#define SEARCH_CAP 1000
/* The most full-text matches a search scores with bm25 to pick its best candidates; past that it takes the newest
 * ones unscored (see rf_store_partner_list). */
#define SEARCH_RANK_MAX 5000

/* Appends " AND …" conditions for the filter's equality filters and scope, numbering parameters from *next;
 * records their values in binds. Returns the length written. */
static size_t filter_sql(const rf_partner_filter *f, char *out, size_t len, int *next, const char **binds, int *nb)
{
	size_t o = 0;
	struct {
		const char *col, *val;
	} eq[] = {{"p.program_id", f->program_id},
		  {"p.status", f->status},
		  {"p.kind", f->kind},
		  {"p.team_parent_id", f->team_parent_id},
		  {"p.recruited_by_id", f->recruited_by_id},
		  {"p.plan_id", f->plan_id}};
	out[0] = '\0';
	for (size_t i = 0; i < sizeof eq / sizeof eq[0]; i++) {
		if (!eq[i].val)
			continue;
		o += (size_t)snprintf(out + o, len - o, " AND %s = ?%d", eq[i].col, *next);
		binds[(*nb)++] = eq[i].val;
		(*next)++;
	}
	if (f->scope_id) {
		o += (size_t)snprintf(out + o, len - o, " AND (p.id = ?%d OR p.team_parent_id = ?%d)", *next, *next);
		binds[(*nb)++] = f->scope_id;
		(*next)++;
	}
	return o;
}

/* How many partners one full-text index matches for query, counting no further than limit. */
static rf_status count_matches(rf_store *s, bool literal, const char *query, int64_t limit, int64_t *count, rf_err *err)
{
	sqlite3_stmt *st = rf_sqlite_prep(
	    s,
	    literal ? "SELECT count(*) FROM (SELECT 1 FROM partners_trgm WHERE partners_trgm MATCH ?1 LIMIT ?2)"
		    : "SELECT count(*) FROM (SELECT 1 FROM partners_fts WHERE partners_fts MATCH ?1 LIMIT ?2)",
	    err);
	if (!st)
		return RF_EIO;
	rf_sqlite_bind_text(st, 1, query);
	sqlite3_bind_int64(st, 2, limit);
	int rc = sqlite3_step(st);
	*count = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? RF_OK : rf_sqlite_db_fail(s, err, "counting search matches");
}

/* Sets *few when the search's full-text matches are few enough to score them all with bm25. A search with both words
 * and literal text matches no more than either alone, so the cheaper count (words: a prefix index's doclists)
 * comes first and the literal one only when needed. */
static rf_status few_enough_to_rank(rf_store *s, const rf_search *q, bool *few, rf_err *err)
{
	int64_t n = 0;
	if (q->n_words) {
		if (count_matches(s, false, q->words, SEARCH_RANK_MAX + 1, &n, err) != RF_OK)
			return err->status;
		*few = n <= SEARCH_RANK_MAX;
		if (*few || !q->n_literal)
			return RF_OK;
	}
	if (count_matches(s, true, q->literal, SEARCH_RANK_MAX + 1, &n, err) != RF_OK)
		return err->status;
	*few = n <= SEARCH_RANK_MAX;
	return RF_OK;
}

rf_status rf_store_partner_list(rf_store *s, const rf_partner_filter *f, rf_partner **items, size_t *n, bool *has_more,
				rf_arena *a, rf_err *err)
{
	char sql[8192], where[640], source[1024];
	const char *binds[9];
	/* ?1 the full-text query or the cursor, ?2 the lower-cased text, ?3 its upper bound for prefix ranges, ?4 the
	 * word query when a literal query drives the search. */
	int nb = 0, next = 5;
	bool search = f->q != NULL;
	rf_search q;
	if (search && !rf_search_parse(f->q, &q)) {
		*items = NULL;
		*n = 0;
		*has_more = false;
		return RF_OK;
	}
	filter_sql(f, where, sizeof where, &next, binds, &nb);
	int limit_idx = next;
	int64_t after = INT64_MAX;
	int o;
	if (!search) {
		if (f->page.starting_after &&
		    rf_sqlite_cursor_seq(s, "partners", f->page.starting_after, &after, err) != RF_OK)
			return err->status;
		o = snprintf(sql, sizeof sql,
			     "SELECT " PARTNER_COLS " FROM partners p WHERE p.seq < ?1%s ORDER BY p.seq DESC LIMIT ?%d",
			     where, limit_idx);
	} else {
		/* Candidates come from three bounded sources, each already filtered: emails and names that start
		 * with the text (B-tree ranges) and the matches of a full-text index. Fragments of letters and digits
		 * match the start of a word in the word index; fragments holding punctuation match as written in the
		 * trigram index, which then drives, and each of its matches is checked against the set of word
		 * matches ('+' keeps SQLite from handing those rowids to the trigram index one by one, a full-text
		 * query each, and has the check made before the row is read). The caps keep a one-letter query over
		 * 100,000 partners about as cheap as a precise one. Full-text matches are scored by bm25 (name above
		 * email above company), the same from either index, and the best are the candidates, when there are
		 * few enough to score; past that, bm25's own pass over every match (for its term weights) costs more
		 * than a type-ahead can wait, so the newest matches are the candidates, unscored. */
		const char *table = q.n_literal ? "partners_trgm" : "partners_fts";
		bool ranked = false;
		if (few_enough_to_rank(s, &q, &ranked, err) != RF_OK)
			return err->status;
		int so = snprintf(
		    source, sizeof source,
		    "SELECT %s.rowid, %s%s%s AS score FROM %s JOIN partners p ON p.seq = %s.rowid "
		    "WHERE %s MATCH ?1%s%s ORDER BY %s%s LIMIT %d",
		    table, ranked ? "bm25(" : "0.0", ranked ? table : "", ranked ? ", 10.0, 5.0, 1.0)" : "", table,
		    table, table,
		    q.n_literal && q.n_words
			? " AND +partners_trgm.rowid IN (SELECT rowid FROM partners_fts WHERE partners_fts MATCH ?4)"
			: "",
		    where, ranked ? "score" : table, ranked ? "" : ".rowid DESC", SEARCH_CAP);
		if (so < 0 || (size_t)so >= sizeof source)
			return rf_err_set(err, RF_EIO, NULL, "query too long");
		o = snprintf(
		    sql, sizeof sql,
		    "WITH cand(seq, score) AS ("
		    "SELECT seq, 0.0 FROM (SELECT p.seq FROM partners p WHERE p.email >= ?2 AND p.email < ?3%s "
		    "ORDER BY p.email LIMIT %d) "
		    "UNION ALL SELECT seq, 0.0 FROM (SELECT p.seq FROM partners p WHERE lower(p.name) >= ?2 AND "
		    "lower(p.name) < ?3%s ORDER BY lower(p.name) LIMIT %d) "
		    "UNION ALL SELECT * FROM (%s)), "
		    "best(seq, score) AS (SELECT seq, min(score) FROM cand GROUP BY seq) "
		    "SELECT " PARTNER_COLS " FROM best JOIN partners p ON p.seq = best.seq "
		    "ORDER BY CASE WHEN p.email = ?2 THEN 0 WHEN lower(p.name) = ?2 THEN 1 "
		    "WHEN substr(lower(p.name), 1, length(?2)) = ?2 THEN 2 "
		    "WHEN substr(p.email, 1, length(?2)) = ?2 THEN 3 ELSE 4 END, best.score, p.seq DESC "
		    "LIMIT ?%d",
		    where, SEARCH_CAP, where, SEARCH_CAP, source, limit_idx);
	}
	if (o < 0 || (size_t)o >= sizeof sql)
		return rf_err_set(err, RF_EIO, NULL, "query too long");

	sqlite3_stmt *st = rf_sqlite_prep(s, sql, err);
	if (!st)
		return RF_EIO;
	if (search) {
		rf_sqlite_bind_text(st, 1, q.n_literal ? q.literal : q.words);
		if (q.n_literal && q.n_words)
			rf_sqlite_bind_text(st, 4, q.words);
		/* The exact and prefix tiers compare with the query as typed, less stray spaces and case. */
		char *lq = rf_lower_arena(a, f->q);
		while (lq && *lq == ' ')
			lq++;
		size_t ll = lq ? strlen(lq) : 0;
		while (ll && lq[ll - 1] == ' ')
			lq[--ll] = '\0';
		rf_sqlite_bind_text(st, 2, lq);
		/* The smallest string above every string that starts with lq: its last byte plus one (UTF-8 text
		 * never holds 0xff, so this cannot wrap). */
		char *hi = rf_arena_strdup(a, lq);
		if (hi && ll)
			hi[ll - 1] = (char)(hi[ll - 1] + 1);
		rf_sqlite_bind_text(st, 3, hi);
	} else {
		sqlite3_bind_int64(st, 1, after);
	}
	for (int i = 0; i < nb; i++)
		rf_sqlite_bind_text(st, 5 + i, binds[i]);

	if (!search || !f->page.starting_after) {
		sqlite3_bind_int(st, limit_idx,
				 search ? (f->page.limit + 1 < SEARCH_CAP ? f->page.limit + 1 : SEARCH_CAP)
					: f->page.limit + 1);
		return rf_sqlite_collect(s, st, f->page.limit, sizeof(rf_partner), partner_fill, (void **)items, n,
					 has_more, a, err);
	}
	/* A ranked list has no natural order to seek in, so its cursor skips past the given id within the
	 * ranked results (a search returns at most SEARCH_CAP of them). */
	sqlite3_bind_int(st, limit_idx, SEARCH_CAP);
	rf_partner *arr = rf_arena_alloc(a, sizeof *arr * (size_t)(f->page.limit + 1));
	if (!arr)
		return rf_err_set(err, RF_ENOMEM, NULL, "out of memory");
	size_t count = 0;
	bool found = false;
	int rc;
	*has_more = false;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (!found) {
			const char *id = (const char *)sqlite3_column_text(st, 0);
			found = id && strcmp(id, f->page.starting_after) == 0;
			continue;
		}
		if (count == (size_t)f->page.limit) {
			*has_more = true;
			break;
		}
		partner_row(st, &arr[count++], a);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return rf_sqlite_db_fail(s, err, "searching partners");
	if (!found)
		return rf_err_set(err, RF_EINVAL, "starting_after",
				  "starting_after: %s is not among the results of this search", f->page.starting_after);
	*items = arr;
	*n = count;
	return RF_OK;
}

/* ---- users ---- */

#define USER_COLS "id, email, password_hash, role, partner_id, created_at, disabled_at"

static void user_row(sqlite3_stmt *st, rf_user *u, rf_arena *a)
{
	memset(u, 0, sizeof *u);
	u->id = rf_sqlite_col_text(st, 0, a);
	u->email = rf_sqlite_col_text(st, 1, a);
	u->password_hash = rf_sqlite_col_text(st, 2, a);
	u->role = rf_sqlite_col_text(st, 3, a);
	u->partner_id = rf_sqlite_col_text(st, 4, a);
	u->created_at = sqlite3_column_int64(st, 5);
	u->disabled_at = sqlite3_column_int64(st, 6);
}

static void user_fill(sqlite3_stmt *st, void *item, rf_arena *a)
{
	user_row(st, item, a);
}

static void user_bind(sqlite3_stmt *st, const rf_user *u)
{
	rf_sqlite_bind_text(st, 1, u->id);
	rf_sqlite_bind_text(st, 2, u->email);
	rf_sqlite_bind_text(st, 3, u->password_hash);
	rf_sqlite_bind_text(st, 4, u->role);
	rf_sqlite_bind_text(st, 5, u->partner_id);
	sqlite3_bind_int64(st, 6, u->created_at);
	sqlite3_bind_int64(st, 7, u->disabled_at);
}

rf_status rf_store_user_insert(rf_store *s, const rf_user *u, rf_err *err)
{
	sqlite3_stmt *st = rf_sqlite_prep(s, "INSERT INTO users (" USER_COLS ") VALUES (?,?,?,?,?,?,?)", err);
	if (!st)
		return RF_EIO;
	user_bind(st, u);
	return rf_sqlite_step_done(s, st, "email", err);
}

rf_status rf_store_user_update(rf_store *s, const rf_user *u, rf_err *err)
{
	sqlite3_stmt *st =
	    rf_sqlite_prep(s,
			   "UPDATE users SET email = ?2, password_hash = ?3, role = ?4, partner_id = ?5, "
			   "created_at = ?6, disabled_at = ?7 WHERE id = ?1",
			   err);
	if (!st)
		return RF_EIO;
	user_bind(st, u);
	rf_status rc = rf_sqlite_step_done(s, st, "email", err);
	if (rc == RF_OK && sqlite3_changes(s->db) == 0)
		return rf_err_set(err, RF_ENOTFOUND, "id", "no such user");
	return rc;
}

static rf_status user_get_by(rf_store *s, const char *sql, const char *key, rf_user *out, rf_arena *a, rf_err *err)
{
	return rf_sqlite_get_one(s, sql, key, user_fill, out, a, "user", err);
}

rf_status rf_store_user_get(rf_store *s, const char *id, rf_user *out, rf_arena *a, rf_err *err)
{
	return user_get_by(s, "SELECT " USER_COLS " FROM users WHERE id = ?", id, out, a, err);
}

rf_status rf_store_user_get_by_email(rf_store *s, const char *email, rf_user *out, rf_arena *a, rf_err *err)
{
	return user_get_by(s, "SELECT " USER_COLS " FROM users WHERE email = ?", email, out, a, err);
}

rf_status rf_store_user_count_owners(rf_store *s, int64_t *count, rf_err *err)
{
	sqlite3_stmt *st =
	    rf_sqlite_prep(s, "SELECT count(*) FROM users WHERE role = 'owner' AND disabled_at = 0", err);
	if (!st)
		return RF_EIO;
	int rc = sqlite3_step(st);
	*count = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? RF_OK : rf_sqlite_db_fail(s, err, "counting owners");
}

rf_status rf_store_user_list(rf_store *s, const rf_page *page, rf_user **items, size_t *n, bool *has_more, rf_arena *a,
			     rf_err *err)
{
	int64_t after = INT64_MAX;
	if (page->starting_after && rf_sqlite_cursor_seq(s, "users", page->starting_after, &after, err) != RF_OK)
		return err->status;
	sqlite3_stmt *st =
	    rf_sqlite_prep(s, "SELECT " USER_COLS " FROM users WHERE seq < ? ORDER BY seq DESC LIMIT ?", err);
	if (!st)
		return RF_EIO;
	sqlite3_bind_int64(st, 1, after);
	sqlite3_bind_int(st, 2, page->limit + 1);
	return rf_sqlite_collect(s, st, page->limit, sizeof(rf_user), user_fill, (void **)items, n, has_more, a, err);
}

/* ---- API keys ---- */

#define KEY_COLS "id, name, role, partner_id, prefix, hash, created_by, created_at, last_used_at, revoked_at"

static void key_row(sqlite3_stmt *st, rf_apikey *k, rf_arena *a)
{
	memset(k, 0, sizeof *k);
	k->id = rf_sqlite_col_text(st, 0, a);
	k->name = rf_sqlite_col_text(st, 1, a);
	k->role = rf_sqlite_col_text(st, 2, a);
	k->partner_id = rf_sqlite_col_text(st, 3, a);
	k->prefix = rf_sqlite_col_text(st, 4, a);
	k->hash = rf_sqlite_col_text(st, 5, a);
	k->created_by = rf_sqlite_col_text(st, 6, a);
	k->created_at = sqlite3_column_int64(st, 7);
	k->last_used_at = sqlite3_column_int64(st, 8);
	k->revoked_at = sqlite3_column_int64(st, 9);
}

static void key_fill(sqlite3_stmt *st, void *item, rf_arena *a)
{
	key_row(st, item, a);
}

rf_status rf_store_apikey_insert(rf_store *s, const rf_apikey *k, rf_err *err)
{
	sqlite3_stmt *st = rf_sqlite_prep(s, "INSERT INTO api_keys (" KEY_COLS ") VALUES (?,?,?,?,?,?,?,?,?,?)", err);
	if (!st)
		return RF_EIO;
	rf_sqlite_bind_text(st, 1, k->id);
	rf_sqlite_bind_text(st, 2, k->name);
	rf_sqlite_bind_text(st, 3, k->role);
	rf_sqlite_bind_text(st, 4, k->partner_id);
	rf_sqlite_bind_text(st, 5, k->prefix);
	rf_sqlite_bind_text(st, 6, k->hash);
	rf_sqlite_bind_text(st, 7, k->created_by);
	sqlite3_bind_int64(st, 8, k->created_at);
	sqlite3_bind_int64(st, 9, k->last_used_at);
	sqlite3_bind_int64(st, 10, k->revoked_at);
	return rf_sqlite_step_done(s, st, "id", err);
}

static rf_status key_get_by(rf_store *s, const char *sql, const char *v, rf_apikey *out, rf_arena *a, rf_err *err)
{
	return rf_sqlite_get_one(s, sql, v, key_fill, out, a, "API key", err);
}

rf_status rf_store_apikey_get(rf_store *s, const char *id, rf_apikey *out, rf_arena *a, rf_err *err)
{
	return key_get_by(s, "SELECT " KEY_COLS " FROM api_keys WHERE id = ?", id, out, a, err);
}

rf_status rf_store_apikey_get_by_hash(rf_store *s, const char *hash, rf_apikey *out, rf_arena *a, rf_err *err)
{
	return key_get_by(s, "SELECT " KEY_COLS " FROM api_keys WHERE hash = ?", hash, out, a, err);
}

rf_status rf_store_apikey_list(rf_store *s, const rf_page *page, rf_apikey **items, size_t *n, bool *has_more,
			       rf_arena *a, rf_err *err)
{
	int64_t after = INT64_MAX;
	if (page->starting_after && rf_sqlite_cursor_seq(s, "api_keys", page->starting_after, &after, err) != RF_OK)
		return err->status;
	sqlite3_stmt *st =
	    rf_sqlite_prep(s, "SELECT " KEY_COLS " FROM api_keys WHERE seq < ? ORDER BY seq DESC LIMIT ?", err);
	if (!st)
		return RF_EIO;
	sqlite3_bind_int64(st, 1, after);
	sqlite3_bind_int(st, 2, page->limit + 1);
	return rf_sqlite_collect(s, st, page->limit, sizeof(rf_apikey), key_fill, (void **)items, n, has_more, a, err);
}

static rf_status key_set_time(rf_store *s, const char *sql, const char *id, int64_t at, rf_err *err)
{
	sqlite3_stmt *st = rf_sqlite_prep(s, sql, err);
	if (!st)
		return RF_EIO;
	sqlite3_bind_int64(st, 1, at);
	rf_sqlite_bind_text(st, 2, id);
	return rf_sqlite_step_done(s, st, NULL, err);
}

rf_status rf_store_apikey_revoke(rf_store *s, const char *id, int64_t at, rf_err *err)
{
	return key_set_time(s, "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at = 0", id, at, err);
}

rf_status rf_store_apikey_touch(rf_store *s, const char *id, int64_t at, rf_err *err)
{
	return key_set_time(s, "UPDATE api_keys SET last_used_at = ? WHERE id = ?", id, at, err);
}
