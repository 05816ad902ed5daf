/* SPDX-License-Identifier: Apache-2.0 */
/* The SQLite backend's programs, partners (with their search), users and API keys. */
#include <stdio.h>
#include <string.h>

#include "../core/dbuf.h"
#include "../core/search.h"
#include "../core/text.h"
#include "store_internal.h"

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

static void program_row(rf_db_stmt *st, rf_program *p, rf_arena *a)
{
	memset(p, 0, sizeof *p);
	p->id = rf_q_text(st, 0, a);
	p->name = rf_q_text(st, 1, a);
	rf_q_code(st, 2, p->currency);
	p->cookie_window_days = rf_db_col_int(st, 3);
	p->attribution_model = rf_q_text(st, 4, a);
	p->holding_period_days = rf_db_col_int(st, 5);
	p->payout_threshold = rf_db_col_int(st, 6);
	list_split(rf_q_text(st, 7, a), p->tracking_params, &p->n_tracking_params, RF_MAX_TRACKING_PARAMS);
	p->created_at = rf_db_col_int(st, 8);
	p->updated_at = rf_db_col_int(st, 9);
	list_split(rf_q_text(st, 10, a), p->allowed_domains, &p->n_allowed_domains, RF_MAX_DOMAINS);
	p->fallback_url = rf_q_text(st, 11, a);
	p->repeat_click_minutes = rf_db_col_int(st, 12);
	p->protection_days = rf_db_col_int(st, 13);
	p->conflict_days = rf_db_col_int(st, 14);
	list_split(rf_q_text(st, 15, a), p->tracking_origins, &p->n_tracking_origins, RF_MAX_DOMAINS);
	size_t blob_len = 0;
	const void *blob = rf_db_col_blob(st, 16, &blob_len);
	if (blob) {
		size_t len = blob_len;
		p->stripe_secret_sealed = rf_arena_alloc(a, (size_t)len);
		if (p->stripe_secret_sealed) {
			memcpy(p->stripe_secret_sealed, blob, len);
			p->stripe_secret_sealed_len = (size_t)len;
		}
	}
	p->payout_day = rf_db_col_int(st, 17);
	p->payout_terms_days = rf_db_col_int(st, 18);
	p->partner_signup = rf_q_text(st, 19, a);
}

static void program_fill(rf_db_stmt *st, void *item, rf_arena *a)
{
	program_row(st, item, a);
}

static void program_bind(rf_db_stmt *st, const rf_program *p)
{
	char params[RF_MAX_TRACKING_PARAMS * 34], domains[RF_MAX_DOMAINS * 256], origins[RF_MAX_DOMAINS * 300];
	list_join(p->tracking_params, p->n_tracking_params, params, sizeof params);
	list_join(p->allowed_domains, p->n_allowed_domains, domains, sizeof domains);
	list_join(p->tracking_origins, p->n_tracking_origins, origins, sizeof origins);
	rf_db_bind_text(st, 1, p->id);
	rf_db_bind_text(st, 2, p->name);
	rf_db_bind_text(st, 3, p->currency);
	rf_db_bind_int(st, 4, p->cookie_window_days);
	rf_db_bind_text(st, 5, p->attribution_model);
	rf_db_bind_int(st, 6, p->holding_period_days);
	rf_db_bind_int(st, 7, p->payout_threshold);
	rf_db_bind_text(st, 8, params);
	rf_db_bind_int(st, 9, p->created_at);
	rf_db_bind_int(st, 10, p->updated_at);
	rf_db_bind_text(st, 11, domains);
	rf_db_bind_text(st, 12, p->fallback_url);
	rf_db_bind_int(st, 13, p->repeat_click_minutes);
	rf_db_bind_int(st, 14, p->protection_days);
	rf_db_bind_int(st, 15, p->conflict_days);
	rf_db_bind_text(st, 16, origins);
	if (p->stripe_secret_sealed)
		rf_db_bind_blob(st, 17, p->stripe_secret_sealed, p->stripe_secret_sealed_len);
	else
		rf_db_bind_null(st, 17);
	rf_db_bind_int(st, 18, p->payout_day ? p->payout_day : 1);
	rf_db_bind_int(st, 19, p->payout_terms_days);
	rf_db_bind_text(st, 20, p->partner_signup ? p->partner_signup : "review");
}

rf_status rf_store_program_insert(rf_store *s, const rf_program *p, rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(
	    s, "INSERT INTO programs (" PROGRAM_COLS ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", err);
	if (!st)
		return RF_EIO;
	program_bind(st, p);
	return rf_q_done(s, st, "id", err);
}

rf_status rf_store_program_update(rf_store *s, const rf_program *p, rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(s,
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
	rf_status rc = rf_q_done(s, st, NULL, err);
	if (rc == RF_OK && rf_db_changes(s->db) == 0)
		return rf_err_set(err, RF_ENOTFOUND, "id", "no such program");
	return rc;
}

rf_status rf_store_program_get(rf_store *s, const char *id, rf_program *out, rf_arena *a, rf_err *err)
{
	return rf_q_get_one(s, "SELECT " PROGRAM_COLS " FROM programs WHERE id = ?", id, program_fill, out, a,
			    "program", err);
}

rf_status rf_store_program_list(rf_store *s, const rf_page *page, const char *only_id, rf_program **items, size_t *n,
				bool *has_more, rf_arena *a, rf_err *err)
{
	int64_t after = INT64_MAX;
	if (page->starting_after && rf_q_cursor_seq(s, "programs", page->starting_after, &after, err) != RF_OK)
		return err->status;
	rf_q_keyset k;
	rf_q_keyset_sql(s, "programs", "programs", false, page->settled, &k);
	char sql[2048];
	snprintf(sql, sizeof sql,
		 "SELECT " PROGRAM_COLS " FROM programs WHERE %s AND (CAST(?2 AS TEXT) IS NULL OR id = ?2) "
		 "ORDER BY %s LIMIT ?3",
		 k.cond, k.order);
	rf_db_stmt *st = rf_q_prep(s, sql, err);
	if (!st)
		return RF_EIO;
	rf_db_bind_int(st, 1, after);
	rf_db_bind_text(st, 2, only_id);
	rf_db_bind_int(st, 3, page->limit + 1);
	return rf_q_collect(s, st, page->limit, sizeof(rf_program), program_fill, (void **)items, n, has_more, a, err);
}

/* ---- partners ---- */

#define PARTNER_COLS                                                                                            \
	"p.id, p.program_id, p.kind, p.status, p.name, p.email, p.company, p.currency, p.cost_per_lead, "       \
	"p.cost_per_lead_currency, p.team_parent_id, p.recruited_by_id, p.tax_legal_name, p.tax_country, "      \
	"p.tax_id_sealed, p.tax_id_last4, p.metadata, p.status_reason, p.created_at, p.updated_at, p.plan_id, " \
	"p.payout_hold_reason, p.recruitment_code"

static void partner_row(rf_db_stmt *st, rf_partner *p, rf_arena *a)
{
	memset(p, 0, sizeof *p);
	p->id = rf_q_text(st, 0, a);
	p->program_id = rf_q_text(st, 1, a);
	p->kind = rf_q_text(st, 2, a);
	p->status = rf_q_text(st, 3, a);
	p->name = rf_q_text(st, 4, a);
	p->email = rf_q_text(st, 5, a);
	p->company = rf_q_text(st, 6, a);
	rf_q_code(st, 7, p->currency);
	p->cost_per_lead = rf_db_col_int(st, 8);
	rf_q_code(st, 9, p->cost_per_lead_currency);
	p->team_parent_id = rf_q_text(st, 10, a);
	p->recruited_by_id = rf_q_text(st, 11, a);
	p->tax_legal_name = rf_q_text(st, 12, a);
	p->tax_country = rf_q_text(st, 13, a);
	size_t blob_len = 0;
	const void *blob = rf_db_col_blob(st, 14, &blob_len);
	if (blob) {
		size_t len = blob_len;
		p->tax_id_sealed = rf_arena_alloc(a, (size_t)len);
		if (p->tax_id_sealed) {
			memcpy(p->tax_id_sealed, blob, len);
			p->tax_id_sealed_len = (size_t)len;
		}
	}
	p->tax_id_last4 = rf_q_text(st, 15, a);
	p->metadata = rf_q_text(st, 16, a);
	p->status_reason = rf_q_text(st, 17, a);
	p->created_at = rf_db_col_int(st, 18);
	p->updated_at = rf_db_col_int(st, 19);
	p->plan_id = rf_q_text(st, 20, a);
	p->payout_hold_reason = rf_q_text(st, 21, a);
	p->recruitment_code = rf_q_text(st, 22, a);
}

static void partner_fill(rf_db_stmt *st, void *item, rf_arena *a)
{
	partner_row(st, item, a);
}

static void partner_bind(rf_db_stmt *st, const rf_partner *p)
{
	rf_db_bind_text(st, 1, p->id);
	rf_db_bind_text(st, 2, p->program_id);
	rf_db_bind_text(st, 3, p->kind);
	rf_db_bind_text(st, 4, p->status);
	rf_db_bind_text(st, 5, p->name);
	rf_db_bind_text(st, 6, p->email);
	rf_db_bind_text(st, 7, p->company);
	rf_db_bind_text(st, 8, p->currency);
	rf_db_bind_int(st, 9, p->cost_per_lead);
	rf_db_bind_text(st, 10, p->cost_per_lead_currency);
	rf_db_bind_text(st, 11, p->team_parent_id);
	rf_db_bind_text(st, 12, p->recruited_by_id);
	rf_db_bind_text(st, 13, p->tax_legal_name);
	rf_db_bind_text(st, 14, p->tax_country);
	if (p->tax_id_sealed)
		rf_db_bind_blob(st, 15, p->tax_id_sealed, p->tax_id_sealed_len);
	else
		rf_db_bind_null(st, 15);
	rf_db_bind_text(st, 16, p->tax_id_last4);
	rf_db_bind_text(st, 17, p->metadata ? p->metadata : "{}");
	rf_db_bind_text(st, 18, p->status_reason);
	rf_db_bind_int(st, 19, p->created_at);
	rf_db_bind_int(st, 20, p->updated_at);
	rf_db_bind_text(st, 21, p->plan_id);
	rf_db_bind_text(st, 22, p->payout_hold_reason);
}

rf_status rf_store_partner_insert(rf_store *s, const rf_partner *p, rf_err *err)
{
	if (!p->recruitment_code)
		return rf_err_set(err, RF_EINVAL, "recruitment_code", "a new partner needs its recruitment code");
	rf_db_stmt *st =
	    rf_q_prep(s,
		      "INSERT INTO partners (id, program_id, kind, status, name, email, company, currency, "
		      "cost_per_lead, cost_per_lead_currency, team_parent_id, recruited_by_id, "
		      "tax_legal_name, tax_country, tax_id_sealed, tax_id_last4, metadata, status_reason, "
		      "created_at, updated_at, plan_id, payout_hold_reason, recruitment_code) "
		      "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
		      err);
	if (!st)
		return RF_EIO;
	partner_bind(st, p);
	rf_db_bind_text(st, 23, p->recruitment_code);
	rf_status rc = rf_q_done(s, st, "email", err);
	/* Two partners drawing the same code is about as likely as guessing one; it must still not be reported as
	 * a taken email. */
	rc = rf_q_conflict_on(s, rc, "recruitment_code", "recruitment_code", err);
	if (rc == RF_ECONFLICT && strcmp(err->field, "recruitment_code") == 0)
		return rf_err_set(err, RF_ECONFLICT, "recruitment_code",
				  "the new partner's recruitment code is taken; try again");
	return rc;
}

rf_status rf_store_partner_update(rf_store *s, const rf_partner *p, rf_err *err)
{
	rf_db_stmt *st =
	    rf_q_prep(s,
		      "UPDATE partners SET program_id = ?2, kind = ?3, status = ?4, name = ?5, email = ?6, "
		      "company = ?7, currency = ?8, cost_per_lead = ?9, cost_per_lead_currency = ?10, "
		      "team_parent_id = ?11, recruited_by_id = ?12, tax_legal_name = ?13, tax_country = ?14, "
		      "tax_id_sealed = ?15, tax_id_last4 = ?16, metadata = ?17, status_reason = ?18, "
		      "created_at = ?19, updated_at = ?20, plan_id = ?21, payout_hold_reason = ?22 WHERE id = ?1",
		      err);
	if (!st)
		return RF_EIO;
	partner_bind(st, p);
	rf_status rc = rf_q_done(s, st, "email", err);
	if (rc == RF_OK && rf_db_changes(s->db) == 0)
		return rf_err_set(err, RF_ENOTFOUND, "id", "no such partner");
	return rc;
}

rf_status rf_store_partner_get(rf_store *s, const char *id, rf_partner *out, rf_arena *a, rf_err *err)
{
	return rf_q_get_one(s, "SELECT " PARTNER_COLS " FROM partners p WHERE p.id = ?", id, partner_fill, out, a,
			    "partner", err);
}

rf_status rf_store_partner_by_recruitment_code(rf_store *s, const char *code, rf_partner *out, rf_arena *a, rf_err *err)
{
	return rf_q_get_one(s, "SELECT " PARTNER_COLS " FROM partners p WHERE p.recruitment_code = ?", code,
			    partner_fill, out, a, "partner", err);
}

rf_status rf_store_partner_by_email(rf_store *s, const char *program_id, const char *email, rf_partner *out,
				    rf_arena *a, rf_err *err)
{
	rf_db_stmt *st =
	    rf_q_prep(s, "SELECT " PARTNER_COLS " FROM partners p WHERE p.program_id = ? AND p.email = ?", err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, program_id);
	rf_db_bind_text(st, 2, email);
	return rf_q_one_row(s, st, partner_fill, out, a, "partner", err);
}

rf_status rf_store_partner_parent(rf_store *s, const char *relation, const char *id, char **parent, rf_arena *a,
				  rf_err *err)
{
	const char *sql = strcmp(relation, "team_parent_id") == 0 ? "SELECT team_parent_id FROM partners WHERE id = ?"
								  : "SELECT recruited_by_id FROM partners WHERE id = ?";
	rf_db_stmt *st = rf_q_prep(s, sql, err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, id);
	int rc = rf_db_step(st);
	*parent = rc == RF_DB_ROW ? rf_q_text(st, 0, a) : NULL;
	rf_db_reset(st);
	if (rc == RF_DB_ROW || rc == RF_DB_DONE)
		return RF_OK;
	return rf_q_fail(s, err, "reading a partner relation");
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
	rf_db_stmt *st = rf_q_prep(
	    s,
	    literal ? "SELECT count(*) FROM (SELECT 1 FROM partners_trgm WHERE partners_trgm MATCH ?1 LIMIT ?2)"
		    : "SELECT count(*) FROM (SELECT 1 FROM partners_fts WHERE partners_fts MATCH ?1 LIMIT ?2)",
	    err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, query);
	rf_db_bind_int(st, 2, limit);
	int rc = rf_db_step(st);
	*count = rc == RF_DB_ROW ? rf_db_col_int(st, 0) : 0;
	rf_db_reset(st);
	return rc == RF_DB_ROW ? RF_OK : rf_q_fail(s, err, "counting search matches");
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

/* PostgreSQL's side of the search (its indexes are a tsvector and trigram ones, see
 * migrations/postgres/0001_foundation.sql): the FTS5 queries of core/search.c read back into their fragments. */
typedef struct {
	char tsquery[RF_SEARCH_QUERY_MAX * 2]; /* 'word':* & 'word':* */
	char *like[RF_SEARCH_FRAGMENTS_MAX];   /* %fragment% with % _ and \ escaped, lower-cased (arena) */
	int nlike;
} pg_search;

/* The next quoted string of an FTS5 query (its doubled quotes undone) into out; the position after it, or NULL. */
static const char *fts_string(const char *p, char *out, size_t len)
{
	while (*p && *p != '"')
		p++;
	if (!*p)
		return NULL;
	size_t o = 0;
	for (p++; *p; p++) {
		if (*p == '"' && p[1] == '"')
			p++;
		else if (*p == '"')
			break;
		if (o + 1 < len)
			out[o++] = *p;
	}
	out[o] = '\0';
	return *p ? p + 1 : p;
}

static void pg_search_of(const rf_search *q, pg_search *out, rf_arena *a)
{
	char piece[RF_SEARCH_TEXT_MAX + 1];
	size_t o = 0;
	out->tsquery[0] = '\0';
	for (const char *p = q->words; (p = fts_string(p, piece, sizeof piece)) != NULL;) {
		/* Word fragments are letters and digits (core/search.c): no quote or tsquery operator among them. */
		int w = snprintf(out->tsquery + o, sizeof out->tsquery - o, "%s'%s':*", o ? " & " : "", piece);
		if (w < 0 || (size_t)w >= sizeof out->tsquery - o)
			break;
		o += (size_t)w;
	}
	out->nlike = 0;
	for (const char *p = q->literal;
	     out->nlike < RF_SEARCH_FRAGMENTS_MAX && (p = fts_string(p, piece, sizeof piece)) != NULL;) {
		char *lower = rf_lower_arena(a, piece);
		char *pat = rf_arena_alloc(a, strlen(piece) * 2 + 3);
		if (!lower || !pat)
			break;
		size_t k = 0;
		pat[k++] = '%';
		for (const char *c = lower; *c; c++) {
			if (*c == '%' || *c == '_' || *c == '\\')
				pat[k++] = '\\';
			pat[k++] = *c;
		}
		pat[k++] = '%';
		pat[k] = '\0';
		out->like[out->nlike++] = pat;
	}
}

/* Binds a PostgreSQL search's parameters: ?1 the word query, the filter's values from ?5, the literal fragments
 * after the limit's parameter. */
static void pg_bind_search(rf_db_stmt *st, const pg_search *ps, const char *const *binds, int nb, int limit_idx)
{
	rf_db_bind_text(st, 1, ps->tsquery);
	for (int i = 0; i < nb; i++)
		rf_db_bind_text(st, 5 + i, binds[i]);
	for (int i = 0; i < ps->nlike; i++)
		rf_db_bind_text(st, limit_idx + 1 + i, ps->like[i]);
}

/* The WHERE condition a partner p must meet for the full-text part of a search, with the literal fragments as
 * parameters from ?first on (the word query is ?1 when there are words). */
static void pg_match_sql(const pg_search *ps, int first, rf_dbuf *b)
{
	bool any = false;
	if (ps->tsquery[0]) {
		rf_dbuf_adds(b, "p.search_vector @@ to_tsquery('refd_partner_search', ?1)");
		any = true;
	}
	for (int i = 0; i < ps->nlike; i++) {
		int k = first + i;
		rf_dbuf_addf(b,
			     "%s(lower(p.name) LIKE ?%d ESCAPE '\\' OR lower(p.email) LIKE ?%d ESCAPE '\\' OR "
			     "lower(coalesce(p.company, '')) LIKE ?%d ESCAPE '\\')",
			     any ? " AND " : "", k, k, k);
		any = true;
	}
	if (!any)
		rf_dbuf_adds(b, "false");
}

/* The score of a full-text match, lower first as bm25's: ts_rank weights name above email above company (the
 * tsvector's A, B and C); literal fragments count 10, 5 or 1 for the field they are found in. */
static void pg_score_sql(const pg_search *ps, int first, rf_dbuf *b)
{
	rf_dbuf_adds(b, "-(0.0");
	if (ps->tsquery[0])
		rf_dbuf_adds(
		    b, " + ts_rank('{0.1, 0.5, 1.0, 1.0}', p.search_vector, to_tsquery('refd_partner_search', ?1))");
	for (int i = 0; i < ps->nlike; i++) {
		int k = first + i;
		rf_dbuf_addf(b,
			     " + CASE WHEN lower(p.name) LIKE ?%d ESCAPE '\\' THEN 10 WHEN lower(p.email) LIKE ?%d "
			     "ESCAPE '\\' THEN 5 ELSE 1 END",
			     k, k);
	}
	rf_dbuf_adds(b, ")");
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
	pg_search ps = {0};
	bool pg = rf_q_dialect(s) == RF_DB_POSTGRES;
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
		    rf_q_cursor_seq(s, "partners", f->page.starting_after, &after, err) != RF_OK)
			return err->status;
		rf_q_keyset k;
		rf_q_keyset_sql(s, "partners", "p", false, f->page.settled, &k);
		o = snprintf(sql, sizeof sql,
			     "SELECT " PARTNER_COLS " FROM partners p WHERE %s%s ORDER BY %s LIMIT ?%d", k.cond, where,
			     k.order, limit_idx);
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
		if (pg) {
			/* PostgreSQL: the tsvector answers word prefixes and the trigram indexes literal fragments
			 * (LIKE '%…%' on lower()), each fragment in any one field; scored as described at
			 * pg_score_sql when few enough, else the newest matches. */
			pg_search_of(&q, &ps, a);
			rf_dbuf m = RF_DBUF_INIT(8192), sc = RF_DBUF_INIT(8192);
			pg_match_sql(&ps, limit_idx + 1, &m);
			pg_score_sql(&ps, limit_idx + 1, &sc);
			bool ranked = false;
			int64_t matches = 0;
			if (rf_dbuf_status(&m) == RF_OK) {
				char *count_sql = rf_arena_printf(
				    a, "SELECT count(*) FROM (SELECT 1 FROM partners p WHERE %s%s LIMIT %d) AS c", m.p,
				    where, SEARCH_RANK_MAX + 1);
				rf_db_stmt *cnt = count_sql ? rf_q_prep(s, count_sql, err) : NULL;
				if (!cnt) {
					rf_dbuf_free(&m);
					rf_dbuf_free(&sc);
					return err->status ? err->status : RF_ENOMEM;
				}
				pg_bind_search(cnt, &ps, binds, nb, limit_idx);
				if (rf_q_one_int(s, cnt, &matches, err) != RF_OK) {
					rf_dbuf_free(&m);
					rf_dbuf_free(&sc);
					return err->status;
				}
				ranked = matches <= SEARCH_RANK_MAX;
			}
			int so =
			    rf_dbuf_status(&m) == RF_OK && rf_dbuf_status(&sc) == RF_OK
				? snprintf(source, sizeof source,
					   "SELECT p.seq, %s AS score FROM partners p WHERE %s%s ORDER BY %s LIMIT %d",
					   ranked ? sc.p : "0.0", m.p, where, ranked ? "score" : "p.seq DESC",
					   SEARCH_CAP)
				: -1;
			rf_dbuf_free(&m);
			rf_dbuf_free(&sc);
			if (so < 0 || (size_t)so >= sizeof source)
				return rf_err_set(err, RF_EIO, NULL, "query too long");
		} else {
			const char *table = q.n_literal ? "partners_trgm" : "partners_fts";
			bool ranked = false;
			if (few_enough_to_rank(s, &q, &ranked, err) != RF_OK)
				return err->status;
			int so =
			    snprintf(source, sizeof source,
				     "SELECT %s.rowid, %s%s%s AS score FROM %s JOIN partners p ON p.seq = %s.rowid "
				     "WHERE %s MATCH ?1%s%s ORDER BY %s%s LIMIT %d",
				     table, ranked ? "bm25(" : "0.0", ranked ? table : "",
				     ranked ? ", 10.0, 5.0, 1.0)" : "", table, table, table,
				     q.n_literal && q.n_words ? " AND +partners_trgm.rowid IN (SELECT rowid FROM "
								"partners_fts WHERE partners_fts MATCH ?4)"
							      : "",
				     where, ranked ? "score" : table, ranked ? "" : ".rowid DESC", SEARCH_CAP);
			if (so < 0 || (size_t)so >= sizeof source)
				return rf_err_set(err, RF_EIO, NULL, "query too long");
		}
		o = snprintf(
		    sql, sizeof sql,
		    "WITH cand(seq, score) AS ("
		    "SELECT seq, 0.0 FROM (SELECT p.seq FROM partners p WHERE p.email >= ?2 AND p.email < ?3%s "
		    "ORDER BY p.email LIMIT %d) AS by_email "
		    "UNION ALL SELECT seq, 0.0 FROM (SELECT p.seq FROM partners p WHERE lower(p.name) >= ?2 AND "
		    "lower(p.name) < ?3%s ORDER BY lower(p.name) LIMIT %d) AS by_name "
		    "UNION ALL SELECT * FROM (%s) AS by_text), "
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

	rf_db_stmt *st = rf_q_prep(s, sql, err);
	if (!st)
		return RF_EIO;
	if (search && pg) {
		pg_bind_search(st, &ps, binds, nb, limit_idx);
	} else if (search) {
		rf_db_bind_text(st, 1, q.n_literal ? q.literal : q.words);
		if (q.n_literal && q.n_words)
			rf_db_bind_text(st, 4, q.words);
	}
	if (search) {
		/* The exact and prefix tiers compare with the query as typed, less stray spaces and case. */
		char *lq = rf_lower_arena(a, f->q);
		while (lq && *lq == ' ')
			lq++;
		size_t ll = lq ? strlen(lq) : 0;
		while (ll && lq[ll - 1] == ' ')
			lq[--ll] = '\0';
		rf_db_bind_text(st, 2, lq);
		/* The smallest string above every string that starts with lq: its last byte plus one (UTF-8 text
		 * never holds 0xff, so this cannot wrap). */
		char *hi = rf_arena_strdup(a, lq);
		if (hi && ll)
			hi[ll - 1] = (char)(hi[ll - 1] + 1);
		/* PostgreSQL refuses text that is not UTF-8, which that byte may not be: there the bound is the text
		 * followed by the last code point (U+10FFFF), above any character that could follow it. */
		if (pg)
			hi = rf_arena_printf(a, "%s\xf4\x8f\xbf\xbf", lq);
		rf_db_bind_text(st, 3, hi);
	} else {
		rf_db_bind_int(st, 1, after);
	}
	for (int i = 0; i < nb; i++)
		rf_db_bind_text(st, 5 + i, binds[i]);

	if (!search || !f->page.starting_after) {
		rf_db_bind_int(st, limit_idx,
			       search ? (f->page.limit + 1 < SEARCH_CAP ? f->page.limit + 1 : SEARCH_CAP)
				      : f->page.limit + 1);
		return rf_q_collect(s, st, f->page.limit, sizeof(rf_partner), partner_fill, (void **)items, n, has_more,
				    a, err);
	}
	/* A ranked list has no natural order to seek in, so its cursor skips past the given id within the
	 * ranked results (a search returns at most SEARCH_CAP of them). */
	rf_db_bind_int(st, limit_idx, SEARCH_CAP);
	rf_partner *arr = rf_arena_alloc(a, sizeof *arr * (size_t)(f->page.limit + 1));
	if (!arr)
		return rf_err_set(err, RF_ENOMEM, NULL, "out of memory");
	size_t count = 0;
	bool found = false;
	int rc;
	*has_more = false;
	while ((rc = rf_db_step(st)) == RF_DB_ROW) {
		if (!found) {
			const char *id = (const char *)rf_db_col_text(st, 0, NULL);
			found = id && strcmp(id, f->page.starting_after) == 0;
			continue;
		}
		if (count == (size_t)f->page.limit) {
			*has_more = true;
			break;
		}
		partner_row(st, &arr[count++], a);
	}
	rf_db_reset(st);
	if (rc != RF_DB_ROW && rc != RF_DB_DONE)
		return rf_q_fail(s, err, "searching partners");
	if (!found)
		return rf_err_set(err, RF_EINVAL, "starting_after",
				  "starting_after: %s is not among the results of this search", f->page.starting_after);
	*items = arr;
	*n = count;
	return RF_OK;
}

/* ---- users ---- */

#define USER_COLS "id, email, password_hash, role, partner_id, created_at, disabled_at"

static void user_row(rf_db_stmt *st, rf_user *u, rf_arena *a)
{
	memset(u, 0, sizeof *u);
	u->id = rf_q_text(st, 0, a);
	u->email = rf_q_text(st, 1, a);
	u->password_hash = rf_q_text(st, 2, a);
	u->role = rf_q_text(st, 3, a);
	u->partner_id = rf_q_text(st, 4, a);
	u->created_at = rf_db_col_int(st, 5);
	u->disabled_at = rf_db_col_int(st, 6);
}

static void user_fill(rf_db_stmt *st, void *item, rf_arena *a)
{
	user_row(st, item, a);
}

static void user_bind(rf_db_stmt *st, const rf_user *u)
{
	rf_db_bind_text(st, 1, u->id);
	rf_db_bind_text(st, 2, u->email);
	rf_db_bind_text(st, 3, u->password_hash);
	rf_db_bind_text(st, 4, u->role);
	rf_db_bind_text(st, 5, u->partner_id);
	rf_db_bind_int(st, 6, u->created_at);
	rf_db_bind_int(st, 7, u->disabled_at);
}

rf_status rf_store_user_insert(rf_store *s, const rf_user *u, rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(s, "INSERT INTO users (" USER_COLS ") VALUES (?,?,?,?,?,?,?)", err);
	if (!st)
		return RF_EIO;
	user_bind(st, u);
	return rf_q_done(s, st, "email", err);
}

rf_status rf_store_user_update(rf_store *s, const rf_user *u, rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(s,
				   "UPDATE users SET email = ?2, password_hash = ?3, role = ?4, partner_id = ?5, "
				   "created_at = ?6, disabled_at = ?7 WHERE id = ?1",
				   err);
	if (!st)
		return RF_EIO;
	user_bind(st, u);
	rf_status rc = rf_q_done(s, st, "email", err);
	if (rc == RF_OK && rf_db_changes(s->db) == 0)
		return rf_err_set(err, RF_ENOTFOUND, "id", "no such user");
	return rc;
}

static rf_status user_get_by(rf_store *s, const char *sql, const char *key, rf_user *out, rf_arena *a, rf_err *err)
{
	return rf_q_get_one(s, sql, key, user_fill, out, a, "user", err);
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
	rf_db_stmt *st = rf_q_prep(s, "SELECT count(*) FROM users WHERE role = 'owner' AND disabled_at = 0", err);
	if (!st)
		return RF_EIO;
	int rc = rf_db_step(st);
	*count = rc == RF_DB_ROW ? rf_db_col_int(st, 0) : 0;
	rf_db_reset(st);
	return rc == RF_DB_ROW ? RF_OK : rf_q_fail(s, err, "counting owners");
}

rf_status rf_store_user_list(rf_store *s, const rf_page *page, rf_user **items, size_t *n, bool *has_more, rf_arena *a,
			     rf_err *err)
{
	int64_t after = INT64_MAX;
	if (page->starting_after && rf_q_cursor_seq(s, "users", page->starting_after, &after, err) != RF_OK)
		return err->status;
	rf_q_keyset k;
	rf_q_keyset_sql(s, "users", "users", false, page->settled, &k);
	char sql[2048];
	snprintf(sql, sizeof sql, "SELECT " USER_COLS " FROM users WHERE %s ORDER BY %s LIMIT ?2", k.cond, k.order);
	rf_db_stmt *st = rf_q_prep(s, sql, err);
	if (!st)
		return RF_EIO;
	rf_db_bind_int(st, 1, after);
	rf_db_bind_int(st, 2, page->limit + 1);
	return rf_q_collect(s, st, page->limit, sizeof(rf_user), user_fill, (void **)items, n, has_more, a, err);
}

/* ---- API keys ---- */

#define KEY_COLS "id, name, role, partner_id, prefix, hash, created_by, created_at, last_used_at, revoked_at"

static void key_row(rf_db_stmt *st, rf_apikey *k, rf_arena *a)
{
	memset(k, 0, sizeof *k);
	k->id = rf_q_text(st, 0, a);
	k->name = rf_q_text(st, 1, a);
	k->role = rf_q_text(st, 2, a);
	k->partner_id = rf_q_text(st, 3, a);
	k->prefix = rf_q_text(st, 4, a);
	k->hash = rf_q_text(st, 5, a);
	k->created_by = rf_q_text(st, 6, a);
	k->created_at = rf_db_col_int(st, 7);
	k->last_used_at = rf_db_col_int(st, 8);
	k->revoked_at = rf_db_col_int(st, 9);
}

static void key_fill(rf_db_stmt *st, void *item, rf_arena *a)
{
	key_row(st, item, a);
}

rf_status rf_store_apikey_insert(rf_store *s, const rf_apikey *k, rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(s, "INSERT INTO api_keys (" KEY_COLS ") VALUES (?,?,?,?,?,?,?,?,?,?)", err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, k->id);
	rf_db_bind_text(st, 2, k->name);
	rf_db_bind_text(st, 3, k->role);
	rf_db_bind_text(st, 4, k->partner_id);
	rf_db_bind_text(st, 5, k->prefix);
	rf_db_bind_text(st, 6, k->hash);
	rf_db_bind_text(st, 7, k->created_by);
	rf_db_bind_int(st, 8, k->created_at);
	rf_db_bind_int(st, 9, k->last_used_at);
	rf_db_bind_int(st, 10, k->revoked_at);
	return rf_q_done(s, st, "id", err);
}

static rf_status key_get_by(rf_store *s, const char *sql, const char *v, rf_apikey *out, rf_arena *a, rf_err *err)
{
	return rf_q_get_one(s, sql, v, key_fill, out, a, "API key", err);
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
	if (page->starting_after && rf_q_cursor_seq(s, "api_keys", page->starting_after, &after, err) != RF_OK)
		return err->status;
	rf_q_keyset k;
	rf_q_keyset_sql(s, "api_keys", "api_keys", false, page->settled, &k);
	char sql[2048];
	snprintf(sql, sizeof sql, "SELECT " KEY_COLS " FROM api_keys WHERE %s ORDER BY %s LIMIT ?2", k.cond, k.order);
	rf_db_stmt *st = rf_q_prep(s, sql, err);
	if (!st)
		return RF_EIO;
	rf_db_bind_int(st, 1, after);
	rf_db_bind_int(st, 2, page->limit + 1);
	return rf_q_collect(s, st, page->limit, sizeof(rf_apikey), key_fill, (void **)items, n, has_more, a, err);
}

static rf_status key_set_time(rf_store *s, const char *sql, const char *id, int64_t at, rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(s, sql, err);
	if (!st)
		return RF_EIO;
	rf_db_bind_int(st, 1, at);
	rf_db_bind_text(st, 2, id);
	return rf_q_done(s, st, NULL, err);
}

rf_status rf_store_apikey_revoke(rf_store *s, const char *id, int64_t at, rf_err *err)
{
	return key_set_time(s, "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at = 0", id, at, err);
}

rf_status rf_store_apikey_touch(rf_store *s, const char *id, int64_t at, rf_err *err)
{
	return key_set_time(s, "UPDATE api_keys SET last_used_at = ? WHERE id = ?", id, at, err);
}
