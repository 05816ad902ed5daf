/* SPDX-License-Identifier: Apache-2.0 */
/* What a partner sees of its money: the next payout date and amount, statements for any period (JSON, CSV or a
 * printable page), and the year-end totals paid per partner for tax reporting. Also the hold on a partner's
 * payouts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/clock.h"
#include "../core/money.h"
#include "../core/plan.h"
#include "../core/text.h"
#include "../http/auth.h"
#include "api.h"

#define DAY_MS 86400000LL
#define MAX_LINES 20000

/* Loads the partner in the path if the caller may see it. */
static bool load_partner(rf_ctx *c, rf_partner *p)
{
	rf_err err = {0};
	rf_status rc = rf_store_partner_get(c->app->store, c->params[0], p, c->a, &err);
	if (rc == RF_OK && !rf_auth_can_see_partner(c, p))
		rc = RF_ENOTFOUND;
	return rf_api_found(c, rc, &err, "partner");
}

/* The first payout date on or after `now`: the program's day of this month, or of the next. */
static int64_t next_payout_date(const rf_program *prog, int64_t now)
{
	int64_t start, end;
	rf_period_bounds(now, false, &start, &end);
	int64_t date = start + (prog->payout_day - 1) * DAY_MS;
	if (date < now - (now - start) % DAY_MS)
		date = end + (prog->payout_day - 1) * DAY_MS;
	return date;
}

void rf_api_partners_payout_forecast(rf_ctx *c)
{
	rf_partner p;
	if (!load_partner(c, &p))
		return;
	rf_err err = {0};
	rf_program prog;
	if (rf_store_program_get(c->app->store, p.program_id, &prog, c->a, &err) != RF_OK) {
		rf_json_error(c, &err);
		return;
	}
	int64_t now = rf_clock_now_ms();
	int64_t date = next_payout_date(&prog, now);
	/* NET terms: an entry is paid on the first payout date at least terms_days after its holding period ends. */
	int64_t due_by = date - prog.payout_terms_days * DAY_MS;
	rf_balance b[16], all[16];
	size_t n = 0, na = 0;
	if (rf_store_payout_due_by(c->app->store, p.id, due_by, b, 16, &n, &err) != RF_OK ||
	    rf_store_payout_due_by(c->app->store, p.id, INT64_MAX, all, 16, &na, &err) != RF_OK) {
		rf_json_error(c, &err);
		return;
	}
	/* Every currency with something owed, what the next date pays and what a later one will. */
	for (size_t i = 0; i < na; i++) {
		size_t k = 0;
		while (k < n && strcmp(b[k].currency, all[i].currency) != 0)
			k++;
		if (k == n && n < 16) {
			memset(&b[n], 0, sizeof b[n]);
			memcpy(b[n].currency, all[i].currency, 4);
			n++;
		}
		if (k < n)
			b[k].held = all[i].pending + all[i].approved - b[k].pending - b[k].approved;
	}
	json_t *rows = json_array();
	for (size_t i = 0; i < n; i++) {
		int64_t total = b[i].pending + b[i].approved, thr = 0, ppb = 0;
		bool inverse = false, missing = false;
		if (rf_ledger_convert(rf_ctx_svc(c), prog.payout_threshold, prog.currency, b[i].currency, now, &thr,
				      &ppb, &inverse, &missing, &err) != RF_OK) {
			json_decref(rows);
			rf_json_error(c, &err);
			return;
		}
		json_array_append_new(
		    rows, json_pack("{s:o, s:o, s:o, s:o, s:o, s:o}", "currency", rf_json_code(b[i].currency), "amount",
				    rf_json_money_new(total, b[i].currency), "approved",
				    rf_json_money_new(b[i].approved, b[i].currency), "pending",
				    rf_json_money_new(b[i].pending, b[i].currency), "threshold",
				    missing ? json_null() : rf_json_money_new(thr, b[i].currency), "meets_threshold",
				    missing ? json_null() : json_boolean(total > 0 && total >= thr)));
		json_object_set_new(json_array_get(rows, json_array_size(rows) - 1), "later",
				    rf_json_money_new(b[i].held, b[i].currency));
	}
	json_t *o = json_pack("{s:s, s:s, s:o, s:I, s:I, s:o, s:o}", "object", "payout_forecast", "partner_id", p.id,
			      "next_payout_date", rf_json_time(date), "payout_day", (json_int_t)prog.payout_day,
			      "terms_days", (json_int_t)prog.payout_terms_days, "expected", rows, "held",
			      p.payout_hold_reason ? json_string(p.payout_hold_reason) : json_null());
	rf_json_send(c, 200, o);
}

typedef struct {
	int64_t at;
	const char *kind; /* commission | payout */
	const char *id;
	const char *description;
	int64_t amount; /* signed: a payout is negative */
	char currency[4];
	const char *status;
} line;

static int line_cmp(const void *a, const void *b)
{
	const line *x = a, *y = b;
	if (x->at != y->at)
		return x->at < y->at ? -1 : 1;
	return strcmp(x->id, y->id);
}

static void html_text(rf_dbuf *out, const char *s)
{
	for (; s && *s; s++) {
		const char *rep = *s == '<'   ? "&lt;"
				  : *s == '>' ? "&gt;"
				  : *s == '&' ? "&amp;"
				  : *s == '"' ? "&quot;"
					      : NULL;
		rf_dbuf_add(out, rep ? rep : s, rep ? strlen(rep) : 1);
	}
}

static void html_raw(rf_dbuf *out, const char *s)
{
	rf_dbuf_add(out, s, strlen(s));
}

void rf_api_partners_statement(rf_ctx *c)
{
	rf_err err = {0};
	rf_partner p;
	if (!load_partner(c, &p))
		return;
	int64_t now = rf_clock_now_ms(), from = 0, to = now + 1, dummy = 0;
	rf_period_bounds(now, false, &from, &dummy);
	const char *fs = rf_req_query(c->req, "from"), *ts = rf_req_query(c->req, "to");
	const char *format = rf_req_query(c->req, "format");
	if (fs && rf_clock_parse(fs, &from) != 0) {
		rf_json_fail(c, RF_EINVAL, "from", "from must be an RFC 3339 time");
		return;
	}
	if (ts && (rf_clock_parse(ts, &to) != 0 || to <= from)) {
		rf_json_fail(c, RF_EINVAL, "to", "to must be an RFC 3339 time after from");
		return;
	}
	if (format && strcmp(format, "json") != 0 && strcmp(format, "csv") != 0 && strcmp(format, "html") != 0) {
		rf_json_fail(c, RF_EINVAL, "format", "format must be json, csv or html");
		return;
	}
	rf_totals open[16];
	size_t nopen = 0;
	if (rf_store_partner_totals_before(c->app->store, p.id, from, open, 16, &nopen, &err) != RF_OK) {
		rf_json_error(c, &err);
		return;
	}
	line *lines = rf_arena_alloc(c->a, sizeof *lines * MAX_LINES);
	size_t nl = 0;
	if (!lines) {
		rf_json_fail(c, RF_ENOMEM, NULL, "out of memory");
		return;
	}
	const char *after = NULL;
	for (;;) {
		rf_commission_filter f = {.page = {.limit = 100, .starting_after = after},
					  .partner_id = p.id,
					  .event_from = from,
					  .event_to = to,
					  .oldest_first = true};
		rf_commission *items = NULL;
		size_t n = 0;
		bool more = false;
		if (rf_store_commission_list(c->app->store, &f, &items, &n, &more, c->a, &err) != RF_OK) {
			rf_json_error(c, &err);
			return;
		}
		for (size_t i = 0; i < n && nl < MAX_LINES; i++) {
			const rf_commission *e = &items[i];
			if (!e->has_amount || strcmp(e->status, "rejected") == 0)
				continue;
			line *l = &lines[nl++];
			l->at = e->event_at;
			l->kind = "commission";
			l->id = e->id;
			l->description =
			    rf_arena_printf(c->a, "%s %s (%s %s)", e->rule, e->role, e->event_type, e->event_id);
			l->amount = e->amount;
			memcpy(l->currency, e->currency, 4);
			l->status = e->status;
		}
		if (!more || n == 0)
			break;
		after = items[n - 1].id;
	}
	rf_payout_item *paid = NULL;
	size_t np = 0;
	if (rf_store_payout_items(c->app->store, NULL, p.id, from, to, MAX_LINES, &paid, &np, c->a, &err) != RF_OK) {
		rf_json_error(c, &err);
		return;
	}
	for (size_t i = 0; i < np && nl < MAX_LINES; i++) {
		line *l = &lines[nl++];
		l->at = paid[i].paid_at;
		l->kind = "payout";
		l->id = paid[i].id;
		l->description =
		    rf_arena_printf(c->a, "payout %s%s%s", paid[i].run_id, paid[i].reference ? ", reference " : "",
				    paid[i].reference ? paid[i].reference : "");
		l->amount = -paid[i].amount;
		memcpy(l->currency, paid[i].currency, 4);
		l->status = "paid";
	}
	qsort(lines, nl, sizeof *lines, line_cmp);
	/* Per currency: opening, what came in, what went out, closing. */
	struct {
		char cur[4];
		int64_t opening, earned, paid_out;
	} sums[16];
	size_t ns = 0;
	for (size_t i = 0; i < nopen && ns < 16; i++) {
		memcpy(sums[ns].cur, open[i].currency, 4);
		sums[ns].opening = open[i].earned - open[i].paid_out;
		sums[ns].earned = sums[ns].paid_out = 0;
		ns++;
	}
	for (size_t i = 0; i < nl; i++) {
		size_t k = 0;
		while (k < ns && strcmp(sums[k].cur, lines[i].currency) != 0)
			k++;
		if (k == ns) {
			if (ns == 16)
				continue;
			memcpy(sums[ns].cur, lines[i].currency, 4);
			sums[ns].opening = sums[ns].earned = sums[ns].paid_out = 0;
			ns++;
		}
		if (lines[i].amount < 0 && strcmp(lines[i].kind, "payout") == 0)
			sums[k].paid_out -= lines[i].amount;
		else
			sums[k].earned += lines[i].amount;
	}
	if (format && strcmp(format, "csv") == 0) {
		rf_dbuf out = RF_DBUF_INIT(rf_api_export_max(c));
		const char *head[] = {"date", "kind", "id", "description", "amount", "currency", "status"};
		for (size_t i = 0; i < 7; i++)
			rf_csv_cell(&out, head[i], i == 6);
		for (size_t k = 0; k < ns; k++) {
			char d[40];
			rf_clock_format(from, d, sizeof d);
			rf_csv_cell(&out, d, false);
			rf_csv_cell(&out, "opening_balance", false);
			rf_csv_cell(&out, "", false);
			rf_csv_cell(&out, "opening balance", false);
			rf_csv_number(&out, rf_money_decimal(c->a, sums[k].opening, sums[k].cur), false);
			rf_csv_cell(&out, sums[k].cur, false);
			rf_csv_cell(&out, "", true);
		}
		for (size_t i = 0; i < nl; i++) {
			char d[40];
			rf_clock_format(lines[i].at, d, sizeof d);
			rf_csv_cell(&out, d, false);
			rf_csv_cell(&out, lines[i].kind, false);
			rf_csv_cell(&out, lines[i].id, false);
			rf_csv_cell(&out, lines[i].description, false);
			rf_csv_number(&out, rf_money_decimal(c->a, lines[i].amount, lines[i].currency), false);
			rf_csv_cell(&out, lines[i].currency, false);
			rf_csv_cell(&out, lines[i].status, true);
		}
		for (size_t k = 0; k < ns; k++) {
			char d[40];
			rf_clock_format(to, d, sizeof d);
			rf_csv_cell(&out, d, false);
			rf_csv_cell(&out, "closing_balance", false);
			rf_csv_cell(&out, "", false);
			rf_csv_cell(&out, "closing balance", false);
			rf_csv_number(
			    &out,
			    rf_money_decimal(c->a, sums[k].opening + sums[k].earned - sums[k].paid_out, sums[k].cur),
			    false);
			rf_csv_cell(&out, sums[k].cur, false);
			rf_csv_cell(&out, "", true);
		}
		rf_api_send_dbuf(c, "text/csv; charset=utf-8", "attachment; filename=\"statement.csv\"", "statement",
				 &out);
		return;
	}
	if (format && strcmp(format, "html") == 0) {
		rf_dbuf out = RF_DBUF_INIT(rf_api_export_max(c));
		char f1[40], t1[40];
		rf_clock_format(from, f1, sizeof f1);
		rf_clock_format(to, t1, sizeof t1);
		html_raw(
		    &out,
		    "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" "
		    "content=\"width=device-width, initial-scale=1\"><title>Statement</title><style>body{font:14px "
		    "system-ui,sans-serif;margin:2em;color:#111}table{border-collapse:collapse;width:100%}td,th{"
		    "border-bottom:1px solid #ccc;padding:.3em .5em;text-align:left}td.n,th.n{text-align:right;"
		    "font-variant-numeric:tabular-nums}@media print{body{margin:0}}</style></head><body><h1>"
		    "Statement</h1><p>");
		html_text(&out, p.name);
		html_raw(&out, " &lt;");
		html_text(&out, p.email);
		html_raw(&out, "&gt;, ");
		html_text(&out, p.id);
		html_raw(&out, "</p><p>From ");
		html_text(&out, f1);
		html_raw(&out, " to ");
		html_text(&out, t1);
		html_raw(&out,
			 "</p><table><thead><tr><th>Date</th><th>Entry</th><th>Description</th><th>Status</th><th "
			 "class=\"n\">Amount</th></tr></thead><tbody>");
		for (size_t k = 0; k < ns; k++) {
			html_raw(&out, "<tr><td></td><td>Opening balance</td><td></td><td></td><td class=\"n\">");
			html_text(&out,
				  rf_arena_printf(c->a, "%s %s", rf_money_decimal(c->a, sums[k].opening, sums[k].cur),
						  sums[k].cur));
			html_raw(&out, "</td></tr>");
		}
		for (size_t i = 0; i < nl; i++) {
			char d[40];
			rf_clock_format(lines[i].at, d, sizeof d);
			html_raw(&out, "<tr><td>");
			html_text(&out, d);
			html_raw(&out, "</td><td>");
			html_text(&out, lines[i].id);
			html_raw(&out, "</td><td>");
			html_text(&out, lines[i].description);
			html_raw(&out, "</td><td>");
			html_text(&out, lines[i].status);
			html_raw(&out, "</td><td class=\"n\">");
			html_text(&out, rf_arena_printf(c->a, "%s %s",
							rf_money_decimal(c->a, lines[i].amount, lines[i].currency),
							lines[i].currency));
			html_raw(&out, "</td></tr>");
		}
		for (size_t k = 0; k < ns; k++) {
			html_raw(&out, "<tr><th></th><th>Closing balance</th><th></th><th></th><th class=\"n\">");
			html_text(&out, rf_arena_printf(
					    c->a, "%s %s",
					    rf_money_decimal(c->a, sums[k].opening + sums[k].earned - sums[k].paid_out,
							     sums[k].cur),
					    sums[k].cur));
			html_raw(&out, "</th></tr>");
		}
		html_raw(&out, "</tbody></table></body></html>\n");
		rf_api_send_dbuf(c, "text/html; charset=utf-8", NULL, "statement", &out);
		return;
	}
	json_t *arr = json_array();
	for (size_t i = 0; i < nl; i++)
		json_array_append_new(
		    arr, json_pack("{s:o, s:s, s:s, s:s, s:o, s:s}", "at", rf_json_time(lines[i].at), "kind",
				   lines[i].kind, "id", lines[i].id, "description", lines[i].description, "amount",
				   rf_json_money_new(lines[i].amount, lines[i].currency), "status", lines[i].status));
	json_t *bal = json_array();
	for (size_t k = 0; k < ns; k++)
		json_array_append_new(
		    bal,
		    json_pack("{s:o, s:o, s:o, s:o, s:o}", "currency", rf_json_code(sums[k].cur), "opening",
			      rf_json_money_new(sums[k].opening, sums[k].cur), "earned",
			      rf_json_money_new(sums[k].earned, sums[k].cur), "paid_out",
			      rf_json_money_new(sums[k].paid_out, sums[k].cur), "closing",
			      rf_json_money_new(sums[k].opening + sums[k].earned - sums[k].paid_out, sums[k].cur)));
	rf_json_send(c, 200,
		     json_pack("{s:s, s:s, s:o, s:o, s:o, s:o}", "object", "statement", "partner_id", p.id, "from",
			       rf_json_time(from), "to", rf_json_time(to), "balances", bal, "lines", arr));
}

/* The US 1099-NEC reporting threshold for a tax year, in cents: 600 USD up to 2025, 2,000 USD from 2026. */
static int64_t default_threshold(int64_t year)
{
	return year <= 2025 ? 60000 : 200000;
}

void rf_api_tax_totals(rf_ctx *c)
{
	rf_err err = {0};
	const char *ys = rf_req_query(c->req, "year"), *format = rf_req_query(c->req, "format");
	char *end = NULL;
	long year = ys ? strtol(ys, &end, 10) : 0;
	if (!ys || !end || *end || year < 2000 || year > 2200) {
		rf_json_fail(c, RF_EINVAL, "year", "year must be a tax year such as 2026");
		return;
	}
	if (format && strcmp(format, "json") != 0 && strcmp(format, "csv") != 0) {
		rf_json_fail(c, RF_EINVAL, "format", "format must be json or csv");
		return;
	}
	int64_t threshold = default_threshold(year);
	const char *thr = rf_req_query(c->req, "threshold");
	if (thr && (rf_money_parse(thr, 2, &threshold) != RF_OK || threshold < 0)) {
		rf_json_fail(c, RF_EINVAL, "threshold", "threshold must be an amount in USD such as 600.00");
		return;
	}
	rf_program prog;
	if (rf_api_program_or_only(c, rf_req_query(c->req, "program_id"), &prog, &err) != RF_OK) {
		rf_json_error(c, &err);
		return;
	}
	int64_t from = rf_days_from_civil(year, 1, 1) * DAY_MS, to = rf_days_from_civil(year + 1, 1, 1) * DAY_MS;
	rf_payout_item *items = NULL;
	size_t n = 0;
	if (rf_store_payout_paid_range(c->app->store, prog.id, from, to, 100000, &items, &n, c->a, &err) != RF_OK) {
		rf_json_error(c, &err);
		return;
	}
	json_t *rows = json_array(), *missing_list = json_array();
	bool csv = format && strcmp(format, "csv") == 0;
	rf_dbuf out = RF_DBUF_INIT(rf_api_export_max(c));
	if (csv) {
		const char *head[] = {"partner_id",   "name",      "email",       "legal_name", "country",
				      "tax_id_last4", "total_usd", "unconverted", "reportable", "missing_tax_profile"};
		for (size_t i = 0; i < 10; i++)
			rf_csv_cell(&out, head[i], i == 9);
	}
	for (size_t i = 0; i < n;) {
		size_t j = i;
		int64_t usd = 0;
		json_t *unconverted = json_array();
		char *unconv_text = "";
		rf_status crc = RF_OK;
		for (; j < n && strcmp(items[j].partner_id, items[i].partner_id) == 0; j++) {
			int64_t v = 0, ppb = 0;
			bool inverse = false, missing = false;
			crc = rf_ledger_convert(rf_ctx_svc(c), items[j].amount, items[j].currency, "USD",
						items[j].paid_at, &v, &ppb, &inverse, &missing, &err);
			if (crc != RF_OK)
				break;
			if (missing) {
				json_array_append_new(unconverted,
						      rf_json_money_new(items[j].amount, items[j].currency));
				unconv_text = rf_arena_printf(
				    c->a, "%s%s%s %s", unconv_text, *unconv_text ? "; " : "",
				    rf_money_decimal(c->a, items[j].amount, items[j].currency), items[j].currency);
			} else {
				usd += v;
			}
		}
		rf_partner p;
		if (crc != RF_OK || rf_store_partner_get(c->app->store, items[i].partner_id, &p, c->a, &err) != RF_OK) {
			json_decref(unconverted);
			json_decref(rows);
			json_decref(missing_list);
			rf_dbuf_free(&out);
			rf_json_error(c, &err);
			return;
		}
		bool reportable = usd >= threshold;
		bool no_profile = reportable && (!p.tax_legal_name || !p.tax_id_last4 || !p.tax_country);
		if (no_profile)
			json_array_append_new(missing_list, json_string(p.id));
		if (csv) {
			rf_csv_cell(&out, p.id, false);
			rf_csv_cell(&out, p.name, false);
			rf_csv_cell(&out, p.email, false);
			rf_csv_cell(&out, p.tax_legal_name, false);
			rf_csv_cell(&out, p.tax_country, false);
			rf_csv_cell(&out, p.tax_id_last4, false);
			rf_csv_number(&out, rf_money_decimal(c->a, usd, "USD"), false);
			rf_csv_cell(&out, unconv_text, false);
			rf_csv_cell(&out, reportable ? "true" : "false", false);
			rf_csv_cell(&out, no_profile ? "true" : "false", true);
		}
		json_array_append_new(
		    rows,
		    json_pack("{s:s, s:s, s:s, s:o, s:o, s:b, s:b, s:{s:o, s:o, s:o}}", "partner_id", p.id, "name",
			      p.name, "email", p.email, "total_paid_usd", rf_json_money_new(usd, "USD"), "unconverted",
			      unconverted, "reportable", reportable, "missing_tax_profile", no_profile, "tax_profile",
			      "legal_name", rf_json_nullable(p.tax_legal_name), "country",
			      rf_json_nullable(p.tax_country), "tax_id_last4", rf_json_nullable(p.tax_id_last4)));
		i = j;
	}
	if (csv) {
		json_decref(rows);
		json_decref(missing_list);
		char *disp = rf_arena_printf(c->a, "attachment; filename=\"tax-totals-%ld.csv\"", year);
		rf_api_send_dbuf(c, "text/csv; charset=utf-8", disp, "tax totals", &out);
		return;
	}
	rf_json_send(c, 200,
		     json_pack("{s:s, s:I, s:s, s:o, s:o, s:o}", "object", "tax_totals", "year", (json_int_t)year,
			       "program_id", prog.id, "threshold", rf_json_money_new(threshold, "USD"), "partners",
			       rows, "missing_tax_profiles", missing_list));
}

static const rf_jfield hold_fields[] = {
    {"reason", RF_JT_STRING, true, 500, NULL},
    {NULL, 0, false, 0, NULL},
};

static void payout_hold(rf_ctx *c, bool hold)
{
	json_t *body = NULL;
	size_t blen = 0;
	rf_req_body(c->req, &blen);
	if (blen && !(body = rf_api_body(c, hold_fields)))
		return;
	rf_err err = {0};
	rf_partner p;
	const char *reason = body ? rf_trim_arena(c->a, rf_json_str(body, "reason")) : NULL;
	if (hold && (!reason || !*reason)) {
		json_decref(body);
		rf_json_fail(c, RF_EINVAL, "reason", "holding a partner's payouts needs a reason");
		return;
	}
	if (!load_partner(c, &p)) {
		json_decref(body);
		return;
	}
	p.payout_hold_reason = hold ? (char *)reason : NULL;
	p.updated_at = rf_clock_now_ms();
	json_t *detail = json_pack("{s:o}", "reason", rf_json_nullable(reason && *reason ? reason : NULL));
	char *dtxt = json_dumps(detail, JSON_COMPACT);
	json_decref(detail);
	char *dcopy = rf_arena_strdup(c->a, dtxt ? dtxt : "{}");
	free(dtxt);
	if (rf_store_partner_update(c->app->store, &p, &err) != RF_OK ||
	    rf_api_audit(c, hold ? "partner.hold_payouts" : "partner.release_payouts", p.id, dcopy, &err) != RF_OK)
		goto fail;
	json_decref(body);
	rf_json_send(c, 200, rf_view_partner(rf_ctx_svc(c), &p));
	return;
fail:
	json_decref(body);
	rf_json_error(c, &err);
}

void rf_api_partners_hold_payouts(rf_ctx *c)
{
	payout_hold(c, true);
}

void rf_api_partners_release_payouts(rf_ctx *c)
{
	payout_hold(c, false);
}
