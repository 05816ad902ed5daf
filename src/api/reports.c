/* SPDX-License-Identifier: Apache-2.0 */
/* /api/v1/reports: the figures of a program over a period, from rollups kept up to date on write (never a scan of
 * raw clicks): a summary, and breakdowns by partner, agent, team, source, campaign, day, week or month, each also
 * as CSV. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/clock.h"
#include "../core/money.h"
#include "../core/plan.h"
#include "../http/auth.h"
#include "api.h"

#define DAY_MS 86400000LL
#define MAX_CUR 8

typedef struct {
	const char *key;  /* entity, dim or period */
	const char *name; /* a partner's name, for entity rows */
	int64_t sort_at;  /* first day of a period row */
	rf_metrics m;     /* counts and revenue (currency "") */
	struct {
		char cur[4];
		int64_t earned, approved, paid;
	} com[MAX_CUR];
	size_t ncom;
} row;

typedef struct {
	row *rows;
	size_t n, cap;
	rf_arena *a;
} table;

/* The row of key, made when missing. sorted: keys come in order, so only the last row can match. */
static row *find_row_in(table *t, const char *key, bool sorted)
{
	for (size_t i = t->n; i > 0; i--) {
		if (strcmp(t->rows[i - 1].key, key) == 0)
			return &t->rows[i - 1];
		if (sorted)
			break;
	}
	row *rows = rf_arena_grow(t->a, t->rows, t->n, &t->cap, sizeof *rows, 64);
	if (!rows)
		return NULL;
	t->rows = rows;
	row *r = &t->rows[t->n++];
	memset(r, 0, sizeof *r);
	r->key = rf_arena_strdup(t->a, key);
	return r;
}

static row *find_row(table *t, const char *key)
{
	return find_row_in(t, key, false);
}

/* Adds m (for currency "" the counts, else the commission figures) to r. */
static void add_to(row *r, const char *currency, const rf_metrics *m, int sign)
{
	if (!currency[0]) {
		for (int i = 0; i < RF_METRICS; i++)
			r->m.v[i] += sign * m->v[i];
		return;
	}
	size_t k = 0;
	while (k < r->ncom && strcmp(r->com[k].cur, currency) != 0)
		k++;
	if (k == r->ncom) {
		if (r->ncom == MAX_CUR)
			return;
		snprintf(r->com[k].cur, 4, "%s", currency);
		r->ncom++;
	}
	r->com[k].earned += sign * m->v[RF_M_EARNED];
	r->com[k].approved += sign * m->v[RF_M_APPROVED];
	r->com[k].paid += sign * m->v[RF_M_PAID];
}

typedef struct {
	rf_program prog;
	int64_t from_day, to_day; /* [from, to) */
	bool csv;
} query;

/* A date (2026-11-22) or an RFC 3339 time, as a day number. */
static bool parse_day(const char *s, int64_t *day)
{
	int64_t ms = 0;
	char buf[40];
	if (strlen(s) == 10) {
		snprintf(buf, sizeof buf, "%sT00:00:00Z", s);
		s = buf;
	}
	if (rf_clock_parse(s, &ms) != 0)
		return false;
	*day = ms >= 0 ? ms / DAY_MS : (ms - DAY_MS + 1) / DAY_MS;
	return true;
}

static bool read_query(rf_ctx *c, query *q)
{
	rf_err err = {0};
	const char *scope = rf_auth_scope(c);
	const char *pid = rf_req_query(c->req, "program_id");
	if (scope) {
		rf_partner me;
		if (rf_store_partner_get(c->app->store, scope, &me, c->a, &err) != RF_OK) {
			rf_json_error(c, &err);
			return false;
		}
		if (pid && strcmp(pid, me.program_id) != 0) {
			rf_json_fail(c, RF_EFORBIDDEN, "program_id",
				     "program_id: you see the figures of your own program only");
			return false;
		}
		pid = me.program_id;
	}
	if (rf_api_program_or_only(c, pid, &q->prog, &err) != RF_OK) {
		rf_json_error(c, &err);
		return false;
	}
	int64_t today = rf_clock_now_ms() / DAY_MS;
	q->to_day = today + 1;
	const char *f = rf_req_query(c->req, "from"), *t = rf_req_query(c->req, "to");
	if (t) {
		if (!parse_day(t, &q->to_day)) {
			rf_json_fail(c, RF_EINVAL, "to", "to must be a date (2026-11-30) or an RFC 3339 time");
			return false;
		}
		q->to_day++; /* the last day counts */
	}
	/* By default, the 30 days that end with to. */
	q->from_day = q->to_day - 30;
	if (f && !parse_day(f, &q->from_day)) {
		rf_json_fail(c, RF_EINVAL, "from", "from must be a date (2026-11-01) or an RFC 3339 time");
		return false;
	}
	if (q->to_day <= q->from_day || q->to_day - q->from_day > 3700) {
		rf_json_fail(c, RF_EINVAL, f ? "from" : "to",
			     "from must be on or before to, at most ten years earlier");
		return false;
	}
	const char *fmt = rf_req_query(c->req, "format");
	if (fmt && strcmp(fmt, "json") != 0 && strcmp(fmt, "csv") != 0) {
		rf_json_fail(c, RF_EINVAL, "format", "format must be json or csv");
		return false;
	}
	q->csv = fmt && strcmp(fmt, "csv") == 0;
	return true;
}

static json_t *day_json(int64_t day)
{
	char buf[40];
	rf_clock_format(day * DAY_MS, buf, sizeof buf);
	buf[10] = '\0';
	return json_string(buf);
}

/* A ratio rounded to four decimals, or null without a denominator. */
static json_t *ratio(int64_t num, int64_t den)
{
	if (den <= 0)
		return json_null();
	return json_real(rf_ratio4(num, den));
}

static json_t *metrics_json(const row *r, const char *cur)
{
	int64_t avg = 0;
	if (r->m.v[RF_M_SALES] > 0)
		rf_money_mul_ratio(r->m.v[RF_M_REVENUE], 1, r->m.v[RF_M_SALES], &avg);
	json_t *o = json_pack(
	    "{s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:o}", "clicks", (json_int_t)r->m.v[RF_M_CLICKS],
	    "leads", (json_int_t)r->m.v[RF_M_LEADS], "qualified", (json_int_t)r->m.v[RF_M_QUALIFIED], "customers",
	    (json_int_t)r->m.v[RF_M_CUSTOMERS], "sales", (json_int_t)r->m.v[RF_M_SALES], "revenue",
	    rf_json_money_new(r->m.v[RF_M_REVENUE], cur), "refunds", rf_json_money_new(r->m.v[RF_M_REFUNDS], cur),
	    "net_revenue", rf_json_money_new(r->m.v[RF_M_REVENUE] - r->m.v[RF_M_REFUNDS], cur), "click_to_lead",
	    ratio(r->m.v[RF_M_LEADS], r->m.v[RF_M_CLICKS]), "lead_to_customer",
	    ratio(r->m.v[RF_M_CUSTOMERS], r->m.v[RF_M_LEADS]), "average_deal_size",
	    r->m.v[RF_M_SALES] ? rf_json_money_new(avg, cur) : json_null());
	json_object_set_new(o, "mean_time_to_conversion_seconds",
			    r->m.v[RF_M_CONVERSIONS]
				? json_integer(r->m.v[RF_M_CONVERSION_MS] / r->m.v[RF_M_CONVERSIONS] / 1000)
				: json_null());
	json_t *com = json_array();
	for (size_t k = 0; k < r->ncom; k++) {
		json_t *e = json_pack("{s:o, s:o, s:o, s:o}", "currency", rf_json_code(r->com[k].cur), "earned",
				      rf_json_money_new(r->com[k].earned, r->com[k].cur), "approved",
				      rf_json_money_new(r->com[k].approved, r->com[k].cur), "paid",
				      rf_json_money_new(r->com[k].paid, r->com[k].cur));
		/* What a lead cost in commissions, and what each unit of commission brought in revenue. */
		int64_t cpl = 0;
		json_object_set_new(e, "cost_per_lead",
				    r->m.v[RF_M_LEADS] &&
					    rf_money_mul_ratio(r->com[k].earned, 1, r->m.v[RF_M_LEADS], &cpl) == RF_OK
					? rf_json_money_new(cpl, r->com[k].cur)
					: json_null());
		json_object_set_new(e, "revenue_per_commission",
				    strcmp(r->com[k].cur, cur) == 0 ? ratio(r->m.v[RF_M_REVENUE], r->com[k].earned)
								    : json_null());
		json_array_append_new(com, e);
	}
	json_object_set_new(o, "commissions", com);
	return o;
}

/* ---- gathering rows ---- */

static void daily_cb(const char *dim, const char *currency, int64_t day, const rf_metrics *m, void *arg)
{
	void **args = arg;
	table *t = args[0];
	const char *grain = args[1];
	char key[80];
	int64_t start = day;
	if (strcmp(grain, "dim") == 0) {
		snprintf(key, sizeof key, "%s", dim + 2);
	} else {
		if (strcmp(grain, "week") == 0) {
			/* Weeks start on Monday; day 0 (1970-01-01) was a Thursday. */
			start = day - ((day + 3) % 7 + 7) % 7;
		} else if (strcmp(grain, "month") == 0) {
			int64_t s0, e0;
			rf_period_bounds(day * DAY_MS, false, &s0, &e0);
			start = s0 / DAY_MS;
		}
		char buf[40];
		rf_clock_format(start * DAY_MS, buf, sizeof buf);
		snprintf(key, sizeof key, "%.*s", strcmp(grain, "month") == 0 ? 7 : 10, buf);
	}
	row *r = find_row(t, key);
	if (!r)
		return;
	r->sort_at = start;
	add_to(r, currency, m, 1);
}

/* Rows of entities ("p:", "a:" or "t:", or one whole entity key): each the running total at the end of the period
 * minus the one at its start. */
static void period_cb(const char *entity, const char *currency, const rf_metrics *d, void *arg)
{
	table *t = arg;
	row *r = find_row_in(t, entity + 2, true);
	if (r)
		add_to(r, currency, d, 1);
}

static rf_status entity_rows(rf_ctx *c, const query *q, const char *prefix, table *t, rf_err *err)
{
	return rf_store_rollup_period(c->app->store, q->prog.id, prefix, q->from_day, q->to_day, period_cb, t, err);
}

/* metric: an index into rf_metrics, or RF_METRICS for the commissions earned. */
static int64_t sort_value(const row *r, int metric)
{
	if (metric == RF_METRICS)
		return r->ncom ? r->com[0].earned : 0;
	return r->m.v[metric];
}

static int by_metric(const void *a, const void *b, void *arg)
{
	int metric = *(const int *)arg;
	int64_t x = sort_value(a, metric), y = sort_value(b, metric);
	if (x != y)
		return x > y ? -1 : 1;
	return strcmp(((const row *)a)->key, ((const row *)b)->key);
}

static int by_time(const void *a, const void *b)
{
	const row *x = a, *y = b;
	return x->sort_at < y->sort_at ? -1 : x->sort_at > y->sort_at;
}

static void csv_money(rf_dbuf *out, int64_t amount, const char *cur, bool last)
{
	char num[40];
	rf_money_format_code(amount, cur, num, sizeof num);
	rf_csv_number(out, num, last);
}

static void csv_int(rf_dbuf *out, int64_t v, bool last)
{
	char num[32];
	snprintf(num, sizeof num, "%lld", (long long)v);
	rf_csv_number(out, num, last);
}

void rf_api_reports_breakdown(rf_ctx *c)
{
	query q;
	if (!read_query(c, &q))
		return;
	rf_err err = {0};
	const char *group = rf_req_query(c->req, "group_by");
	static const char *const groups[] = {"partner", "agent", "team",  "source", "campaign",
					     "day",     "week",  "month", NULL};
	bool ok = false;
	for (const char *const *g = groups; group && *g && !ok; g++)
		ok = strcmp(*g, group) == 0;
	if (!ok) {
		rf_json_fail(c, RF_EINVAL, "group_by",
			     "group_by must be partner, agent, team, source, campaign, day, week or month");
		return;
	}
	bool entity = strcmp(group, "partner") == 0 || strcmp(group, "agent") == 0 || strcmp(group, "team") == 0;
	bool period = strcmp(group, "day") == 0 || strcmp(group, "week") == 0 || strcmp(group, "month") == 0;
	const char *sort_metric = rf_req_query(c->req, "sort");
	if (sort_metric) {
		static const char *const sortable[] = {"clicks",  "leads",   "qualified",   "customers", "sales",
						       "revenue", "refunds", "commissions", NULL};
		bool known = false;
		for (const char *const *m = sortable; *m && !known; m++)
			known = strcmp(*m, sort_metric) == 0;
		if (!known) {
			rf_json_fail(c, RF_EINVAL, "sort",
				     "sort must be clicks, leads, qualified, customers, sales, revenue, refunds or "
				     "commissions");
			return;
		}
	}
	long limit = period ? 3700 : 100;
	const char *ls = rf_req_query(c->req, "limit");
	if (ls) {
		char *end = NULL;
		limit = strtol(ls, &end, 10);
		if (!end || *end || limit < 1 || limit > 100000) {
			rf_json_fail(c, RF_EINVAL, "limit", "limit must be from 1 to 100000");
			return;
		}
	}
	/* Partners see their own row, and their team's. */
	const char *scope = rf_auth_scope(c);
	table t = {.a = c->a};
	if (entity) {
		char prefix[3] = {group[0], ':', 0};
		if (entity_rows(c, &q, prefix, &t, &err) != RF_OK) {
			rf_json_error(c, &err);
			return;
		}
	} else {
		void *args[2] = {&t, period ? (void *)group : "dim"};
		const char *prefix = strcmp(group, "source") == 0     ? "s:"
				     : strcmp(group, "campaign") == 0 ? "c:"
								      : "all";
		if (rf_store_rollup_daily(c->app->store, q.prog.id, prefix, q.from_day, q.to_day, daily_cb, args,
					  &err) != RF_OK) {
			rf_json_error(c, &err);
			return;
		}
	}
	if (scope && period) {
		/* A partner's own figures over time: the days of its own running totals. */
		rf_partner me;
		rf_rollup_key *keys = NULL;
		size_t nk = 0;
		if (rf_store_partner_get(c->app->store, scope, &me, c->a, &err) != RF_OK) {
			rf_json_error(c, &err);
			return;
		}
		char *ent = rf_arena_printf(c->a, "%s:%s",
					    strcmp(me.kind, "agent") == 0 && me.team_parent_id ? "a" : "p", scope);
		t.n = 0;
		void *args[2] = {&t, (void *)group};
		if (rf_store_rollup_keys(c->app->store, q.prog.id, ent, &keys, &nk, c->a, &err) != RF_OK) {
			rf_json_error(c, &err);
			return;
		}
		for (size_t i = 0; i < nk; i++)
			if (strcmp(keys[i].entity, ent) == 0 &&
			    rf_store_rollup_entity_days(c->app->store, q.prog.id, ent, keys[i].currency, q.from_day,
							q.to_day, daily_cb, args, &err) != RF_OK) {
				rf_json_error(c, &err);
				return;
			}
	} else if (scope && entity) {
		size_t k = 0;
		for (size_t i = 0; i < t.n; i++) {
			rf_partner p;
			rf_err e2 = {0};
			if (rf_store_partner_get(c->app->store, t.rows[i].key, &p, c->a, &e2) == RF_OK &&
			    rf_auth_can_see_partner(c, &p))
				t.rows[k++] = t.rows[i];
		}
		t.n = k;
	} else if (scope && !period) {
		rf_json_fail(c, RF_EFORBIDDEN, "group_by",
			     "partners see breakdowns by partner, agent, team, day, week or month only");
		return;
	}
	if (t.n < 2)
		; /* nothing to order */
	else if (period && !sort_metric)
		qsort(t.rows, t.n, sizeof *t.rows, by_time);
	else {
		if (!sort_metric)
			sort_metric = entity ? "revenue" : "leads";
		int metric = RF_METRICS;
		for (int i = 0; i < RF_METRICS; i++)
			if (strcmp(rf_metric_names[i], sort_metric) == 0)
				metric = i;
		qsort_r(t.rows, t.n, sizeof *t.rows, by_metric, &metric);
	}
	size_t shown = t.n < (size_t)limit ? t.n : (size_t)limit;
	if (entity && shown > 50) {
		/* Many rows: every name of the program in one query, then a binary search per row. */
		char **ids = NULL, **names = NULL;
		size_t nn = 0;
		if (rf_store_partner_names(c->app->store, q.prog.id, &ids, &names, &nn, c->a, &err) != RF_OK) {
			rf_json_error(c, &err);
			return;
		}
		for (size_t i = 0; i < shown; i++) {
			size_t lo = 0, hi = nn;
			while (lo < hi) {
				size_t mid = lo + (hi - lo) / 2;
				int cmp = strcmp(ids[mid], t.rows[i].key);
				if (cmp == 0) {
					t.rows[i].name = names[mid];
					break;
				}
				if (cmp < 0)
					lo = mid + 1;
				else
					hi = mid;
			}
		}
	} else {
		for (size_t i = 0; entity && i < shown; i++) {
			rf_partner p;
			rf_err e2 = {0};
			if (rf_store_partner_get(c->app->store, t.rows[i].key, &p, c->a, &e2) == RF_OK)
				t.rows[i].name = p.name;
		}
	}
	const char *cur = q.prog.currency;
	if (q.csv) {
		rf_dbuf out = RF_DBUF_INIT(rf_api_export_max(c));
		const char *head[] = {"key",      "name",    "clicks",  "leads",    "qualified",           "customers",
				      "sales",    "revenue", "refunds", "currency", "commission_currency", "earned",
				      "approved", "paid"};
		size_t nh = sizeof head / sizeof head[0];
		for (size_t i = 0; i < nh; i++)
			rf_csv_cell(&out, head[i], i == nh - 1);
		for (size_t i = 0; i < shown; i++) {
			row *r = &t.rows[i];
			size_t lines = r->ncom ? r->ncom : 1;
			for (size_t k = 0; k < lines; k++) {
				rf_csv_cell(&out, r->key, false);
				rf_csv_cell(&out, r->name, false);
				csv_int(&out, k ? 0 : r->m.v[RF_M_CLICKS], false);
				csv_int(&out, k ? 0 : r->m.v[RF_M_LEADS], false);
				csv_int(&out, k ? 0 : r->m.v[RF_M_QUALIFIED], false);
				csv_int(&out, k ? 0 : r->m.v[RF_M_CUSTOMERS], false);
				csv_int(&out, k ? 0 : r->m.v[RF_M_SALES], false);
				csv_money(&out, k ? 0 : r->m.v[RF_M_REVENUE], cur, false);
				csv_money(&out, k ? 0 : r->m.v[RF_M_REFUNDS], cur, false);
				rf_csv_cell(&out, cur, false);
				const char *cc = r->ncom ? r->com[k].cur : cur;
				rf_csv_cell(&out, cc, false);
				csv_money(&out, r->ncom ? r->com[k].earned : 0, cc, false);
				csv_money(&out, r->ncom ? r->com[k].approved : 0, cc, false);
				csv_money(&out, r->ncom ? r->com[k].paid : 0, cc, true);
			}
		}
		char *disp = rf_arena_printf(c->a, "attachment; filename=\"report-%s.csv\"", group);
		rf_api_send_dbuf(c, "text/csv; charset=utf-8", disp, "report", &out);
		return;
	}
	json_t *data = json_array();
	for (size_t i = 0; i < shown; i++) {
		json_t *o = metrics_json(&t.rows[i], cur);
		json_object_set_new(o, "key", json_string(t.rows[i].key));
		if (entity)
			json_object_set_new(o, "name", rf_json_nullable(t.rows[i].name));
		json_array_append_new(data, o);
	}
	rf_json_send(c, 200,
		     json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:I, s:b}", "object", "report", "program_id",
			       q.prog.id, "group_by", group, "currency", rf_json_code(cur), "from",
			       day_json(q.from_day), "to", day_json(q.to_day - 1), "data", data, "total_rows",
			       (json_int_t)t.n, "has_more", t.n > shown));
}

static void sum_cb(const char *dim, const char *currency, int64_t day, const rf_metrics *m, void *arg)
{
	(void)dim;
	(void)day;
	add_to(arg, currency, m, 1);
}

void rf_api_reports_summary(rf_ctx *c)
{
	query q;
	if (!read_query(c, &q))
		return;
	rf_err err = {0};
	row total, month;
	memset(&total, 0, sizeof total);
	memset(&month, 0, sizeof month);
	const char *scope = rf_auth_scope(c);
	int64_t mstart = 0, mend = 0;
	rf_period_bounds(rf_clock_now_ms(), false, &mstart, &mend);
	if (scope) {
		/* A partner's summary is its own running totals (its agents' results included); an agent's, its own. */
		rf_partner me;
		if (rf_store_partner_get(c->app->store, scope, &me, c->a, &err) != RF_OK) {
			rf_json_error(c, &err);
			return;
		}
		const char *prefix = strcmp(me.kind, "agent") == 0 && me.team_parent_id ? "a:" : "p:";
		query mq = q;
		mq.from_day = mstart / DAY_MS;
		mq.to_day = mend / DAY_MS;
		table t = {.a = c->a}, tm = {.a = c->a};
		char *entity = rf_arena_printf(c->a, "%s%s", prefix, scope);
		if (entity_rows(c, &q, entity, &t, &err) != RF_OK || entity_rows(c, &mq, entity, &tm, &err) != RF_OK) {
			rf_json_error(c, &err);
			return;
		}
		for (size_t i = 0; i < t.n; i++)
			if (strcmp(t.rows[i].key, scope) == 0)
				total = t.rows[i];
		for (size_t i = 0; i < tm.n; i++)
			if (strcmp(tm.rows[i].key, scope) == 0)
				month = tm.rows[i];
	} else if (rf_store_rollup_daily(c->app->store, q.prog.id, "all", q.from_day, q.to_day, sum_cb, &total, &err) !=
		       RF_OK ||
		   rf_store_rollup_daily(c->app->store, q.prog.id, "all", mstart / DAY_MS, mend / DAY_MS, sum_cb,
					 &month, &err) != RF_OK) {
		rf_json_error(c, &err);
		return;
	}
	int64_t count = 0, mean = 0, median = 0;
	if (!scope && rf_store_conversion_stats(c->app->store, q.prog.id, q.from_day * DAY_MS, q.to_day * DAY_MS,
						&count, &mean, &median, &err) != RF_OK) {
		rf_json_error(c, &err);
		return;
	}
	json_t *o = metrics_json(&total, q.prog.currency);
	json_object_set_new(o, "object", json_string("report_summary"));
	json_object_set_new(o, "program_id", json_string(q.prog.id));
	json_object_set_new(o, "currency", rf_json_code(q.prog.currency));
	json_object_set_new(o, "from", day_json(q.from_day));
	json_object_set_new(o, "to", day_json(q.to_day - 1));
	json_object_set_new(o, "time_to_conversion",
			    scope ? json_null()
				  : json_pack("{s:I, s:o, s:o}", "conversions", (json_int_t)count, "mean_seconds",
					      count ? json_integer(mean / 1000) : json_null(), "median_seconds",
					      count ? json_integer(median / 1000) : json_null()));
	json_t *paid = json_array();
	for (size_t k = 0; k < month.ncom; k++)
		json_array_append_new(paid, rf_json_money_new(month.com[k].paid, month.com[k].cur));
	json_object_set_new(o, "paid_this_month", paid);
	if (q.csv) {
		/* One line per figure: metric, currency (for amounts), value. */
		rf_dbuf out = RF_DBUF_INIT(rf_api_export_max(c));
		const char *head[] = {"metric", "currency", "value"};
		for (size_t i = 0; i < 3; i++)
			rf_csv_cell(&out, head[i], i == 2);
		static const char *const counts[] = {"clicks", "leads", "qualified", "customers", "sales"};
		for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
			rf_csv_cell(&out, counts[i], false);
			rf_csv_cell(&out, "", false);
			csv_int(&out, json_integer_value(json_object_get(o, counts[i])), true);
		}
		static const char *const amounts[] = {"revenue", "refunds", "net_revenue", "average_deal_size"};
		for (size_t i = 0; i < sizeof amounts / sizeof amounts[0]; i++) {
			json_t *m = json_object_get(o, amounts[i]);
			if (!json_is_object(m))
				continue;
			rf_csv_cell(&out, amounts[i], false);
			rf_csv_cell(&out, q.prog.currency, false);
			csv_money(&out, json_integer_value(json_object_get(m, "amount")), q.prog.currency, true);
		}
		static const char *const ratios[] = {"click_to_lead", "lead_to_customer"};
		for (size_t i = 0; i < 2; i++) {
			json_t *v = json_object_get(o, ratios[i]);
			if (!json_is_number(v))
				continue;
			char num[32];
			snprintf(num, sizeof num, "%.4f", json_number_value(v));
			rf_csv_cell(&out, ratios[i], false);
			rf_csv_cell(&out, "", false);
			rf_csv_number(&out, num, true);
		}
		json_t *tc = json_object_get(o, "time_to_conversion");
		static const char *const times[] = {"mean_seconds", "median_seconds"};
		for (size_t i = 0; json_is_object(tc) && i < 2; i++) {
			json_t *v = json_object_get(tc, times[i]);
			if (!json_is_integer(v))
				continue;
			rf_csv_cell(&out, rf_arena_printf(c->a, "time_to_conversion_%s", times[i]), false);
			rf_csv_cell(&out, "", false);
			csv_int(&out, json_integer_value(v), true);
		}
		for (size_t k = 0; k < total.ncom; k++) {
			const char *names[] = {"commissions_earned", "commissions_approved", "commissions_paid"};
			int64_t vals[] = {total.com[k].earned, total.com[k].approved, total.com[k].paid};
			for (size_t i = 0; i < 3; i++) {
				rf_csv_cell(&out, names[i], false);
				rf_csv_cell(&out, total.com[k].cur, false);
				csv_money(&out, vals[i], total.com[k].cur, true);
			}
		}
		json_decref(o);
		rf_api_send_dbuf(c, "text/csv; charset=utf-8", "attachment; filename=\"report-summary.csv\"", "report",
				 &out);
		return;
	}
	rf_json_send(c, 200, o);
}

void rf_api_reports_queues(rf_ctx *c)
{
	rf_err err = {0};
	rf_program prog;
	if (rf_api_program_or_only(c, rf_req_query(c->req, "program_id"), &prog, &err) != RF_OK) {
		rf_json_error(c, &err);
		return;
	}
	int64_t counts[3] = {0, 0, 0};
	if (rf_store_queue_counts(c->app->store, prog.id, counts, &err) != RF_OK) {
		rf_json_error(c, &err);
		return;
	}
	rf_json_send(c, 200,
		     json_pack("{s:s, s:s, s:I, s:I, s:I}", "object", "queues", "program_id", prog.id,
			       "partners_awaiting_approval", (json_int_t)counts[0], "deals_awaiting_review",
			       (json_int_t)counts[1], "commissions_on_hold", (json_int_t)counts[2]));
}
