/* SPDX-License-Identifier: Apache-2.0 */
/* Synthetic activity for benchmarks, generated inside the database with recursive queries (10 million clicks take
 * seconds this way): a link per partner, clicks, leads with their history, customers, sales and commissions,
 * spread evenly over a period that ends now. */
#include <stdio.h>
#include <string.h>

#include "../core/dbuf.h"
#include "store_internal.h"

rf_status rf_store_bench_fill(rf_store *s, const char *program_id, long clicks, long leads, long sales, int days,
			      int64_t now, rf_err *err)
{
	if (leads < sales || clicks < leads)
		return rf_err_set(err, RF_EINVAL, "sales", "needs clicks >= leads >= sales");
	/* The script is SQLite's own (printf, recursive row generators); data for PostgreSQL is made here and moved
	 * with refd db copy, as docs/SCALING.md says. */
	if (rf_q_dialect(s) != RF_DB_SQLITE)
		return rf_err_set(err, RF_EINVAL, "db",
				  "bench-data --clicks generates into SQLite; copy the result with refd db copy");
	/* The id goes into the script as a literal: it is checked to be made of id characters only. */
	for (const char *c = program_id; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '_'))
			return rf_err_set(err, RF_EINVAL, "program_id", "not a program id");
	int64_t start = now - (int64_t)days * 86400000LL;
	rf_dbuf sql = RF_DBUF_INIT(1 << 20);
	rf_dbuf_addf(
	    &sql,
	    /* Agents work in teams: each joins one of the first 50 partners of kind partner. */
	    "CREATE TEMP TABLE bt AS SELECT row_number() OVER (ORDER BY seq) - 1 AS k, id FROM partners WHERE "
	    "program_id = '%s' AND kind = 'partner' AND status = 'active' ORDER BY seq LIMIT 50;"
	    "UPDATE partners SET team_parent_id = (SELECT id FROM bt WHERE bt.k = partners.seq %% (SELECT count(*) "
	    "FROM "
	    "bt)) WHERE program_id = '%s' AND kind = 'agent' AND (SELECT count(*) FROM bt) > 0;"
	    "CREATE TEMP TABLE bp AS SELECT row_number() OVER (ORDER BY seq) - 1 AS k, id FROM partners WHERE "
	    "program_id = '%s' AND status = 'active';"
	    "INSERT INTO links (id, program_id, partner_id, code, code_folded, destination_url, target_url, campaign, "
	    "archived_at, created_at, updated_at) SELECT printf('lnk_bench%%08d', k), '%s', id, printf('bench%%d', k), "
	    "printf('bench%%d', k), 'https://shop.example/', 'https://shop.example/', CASE k %% 4 WHEN 0 THEN 'spring' "
	    "WHEN 1 THEN 'summer' WHEN 2 THEN 'newsletter' ELSE NULL END, 0, %lld, %lld FROM bp;"
	    "CREATE TEMP TABLE bl AS SELECT row_number() OVER (ORDER BY l.seq) - 1 AS k, l.id, l.partner_id FROM links "
	    "l JOIN bp ON bp.id = l.partner_id;"
	    /* Clicks, in time order (their ids start with the time, as real ones do); one in twenty is a bot. */
	    "INSERT INTO clicks (id, program_id, link_id, partner_id, at, ip_hash, ip_prefix, user_agent, source, "
	    "status) WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < %ld - 1) SELECT "
	    "printf('clk_%%013d%%08d', %lld + i * %lld / %ld, i), '%s', bl.id, bl.partner_id, %lld + i * %lld / %ld, "
	    "NULL, '10.0.0.0/24', 'Mozilla/5.0 (bench)', 'redirect', CASE WHEN i %% 20 = 0 THEN 'bot' ELSE 'counted' "
	    "END FROM n JOIN bl ON bl.k = (i * 7919) %% (SELECT count(*) FROM bl);"
	    /* Leads: each from the click ten times its number, credited to that click's partner. */
	    "INSERT INTO leads (id, program_id, email, source, status, partner_id, click_id, method, created_at, "
	    "updated_at, status_at, converted_at) WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n "
	    "WHERE i < %ld - 1) SELECT printf('lead_bench%%09d', i), '%s', printf('lead%%d@bench.example', i), CASE i "
	    "%% 4 WHEN 0 THEN 'partner' WHEN 1 THEN 'referral' WHEN 2 THEN 'campaign' ELSE 'paid' END, CASE WHEN i < "
	    "%ld THEN 'converted' WHEN i %% 3 = 0 THEN 'qualified' ELSE 'new' END, k.partner_id, k.id, 'click', k.at, "
	    "k.at, k.at, CASE WHEN i < %ld THEN k.at + 86400000 * (1 + i %% 30) ELSE 0 END FROM n JOIN clicks k ON "
	    "k.id = printf('clk_%%013d%%08d', %lld + (i * (%ld / %ld)) * %lld / %ld, i * (%ld / %ld));"
	    "INSERT INTO lead_events (lead_id, from_status, to_status, actor, at) SELECT id, NULL, 'new', 'bench', "
	    "created_at FROM leads WHERE program_id = '%s' AND id LIKE 'lead_bench%%';"
	    "INSERT INTO lead_events (lead_id, from_status, to_status, actor, at) SELECT id, 'new', status, 'bench', "
	    "CASE WHEN converted_at > 0 THEN converted_at ELSE created_at + 3600000 END FROM leads WHERE program_id = "
	    "'%s' AND id LIKE 'lead_bench%%' AND status <> 'new';"
	    /* Customers and their first sale; a commission of 20 %% on each, approved when older than 30 days. */
	    "INSERT INTO customers (id, program_id, lead_id, first_sale_at, created_at) SELECT "
	    "printf('cust_bench%%09d', "
	    "substr(id, 11) + 0), program_id, id, converted_at, converted_at FROM leads WHERE program_id = '%s' AND id "
	    "LIKE 'lead_bench%%' AND converted_at > 0;"
	    "INSERT INTO sales (id, program_id, customer_id, lead_id, partner_id, amount, currency, program_amount, "
	    "external_id, kind, occurred_at, source, created_at, method) SELECT printf('sale_bench%%09d', "
	    "substr(l.id, 11) + 0), l.program_id, c.id, l.id, l.partner_id, 1000 + (substr(l.id, 11) * 7919) %% "
	    "99000, 'USD', 1000 + (substr(l.id, 11) * 7919) %% 99000, printf('inv_bench%%09d', substr(l.id, 11) + "
	    "0), 'first', l.converted_at, 'api', l.converted_at, l.method FROM leads l JOIN customers c ON c.lead_id = "
	    "l.id WHERE "
	    "l.program_id = '%s' AND l.id LIKE 'lead_bench%%' AND l.converted_at > 0;"
	    "INSERT INTO commissions (id, program_id, partner_id, role, level, rule, basis, event_type, event_id, "
	    "event_at, lead_id, sale_id, base_amount, base_currency, rate_bps, earned, earned_currency, amount, "
	    "currency, status, hold_until, dedupe, created_at, updated_at) SELECT 'com_' || substr(x.id, 6), "
	    "x.program_id, x.partner_id, 'direct', 0, 'sale', 'percent', 'sale', x.id, x.occurred_at, x.lead_id, x.id, "
	    "x.amount, 'USD', 2000, x.amount / 5, 'USD', x.amount / 5, 'USD', CASE WHEN x.occurred_at < %lld THEN "
	    "'approved' ELSE 'pending' END, x.occurred_at + 2592000000, 'bench:' || x.id, x.occurred_at, "
	    "x.occurred_at FROM sales x WHERE x.program_id = '%s' AND x.id LIKE 'sale_bench%%';"
	    "INSERT INTO commission_events (commission_id, from_status, to_status, actor, at) SELECT id, NULL, "
	    "'pending', 'bench', created_at FROM commissions WHERE program_id = '%s' AND id LIKE 'com_bench%%';"
	    "INSERT INTO commission_events (commission_id, from_status, to_status, actor, reason, at) SELECT id, "
	    "'pending', 'approved', 'bench', 'the holding period ended', hold_until FROM commissions WHERE program_id "
	    "= '%s' AND id LIKE 'com_bench%%' AND status = 'approved';"
	    /* What an agent brings in credits its team parent too, as attribution does. */
	    "CREATE TEMP TABLE ba AS SELECT id, team_parent_id FROM partners WHERE program_id = '%s' AND kind = "
	    "'agent' "
	    "AND team_parent_id IS NOT NULL;"
	    "UPDATE leads SET agent_id = partner_id, partner_id = (SELECT team_parent_id FROM ba WHERE ba.id = "
	    "leads.partner_id) WHERE program_id = '%s' AND partner_id IN (SELECT id FROM ba);"
	    "UPDATE sales SET agent_id = partner_id, partner_id = (SELECT team_parent_id FROM ba WHERE ba.id = "
	    "sales.partner_id) WHERE program_id = '%s' AND partner_id IN (SELECT id FROM ba);"
	    "DROP TABLE bp; DROP TABLE bl; DROP TABLE ba; DROP TABLE bt;",
	    program_id, program_id, program_id, program_id, (long long)now, (long long)now, clicks, (long long)start,
	    (long long)days * 86400000LL, clicks, program_id, (long long)start, (long long)days * 86400000LL, clicks,
	    leads, program_id, sales, sales, (long long)start, clicks, leads, (long long)days * 86400000LL, clicks,
	    clicks, leads, program_id, program_id, program_id, program_id, (long long)(now - 30 * 86400000LL),
	    program_id, program_id, program_id, program_id, program_id, program_id);
	if (rf_dbuf_status(&sql) != RF_OK) {
		rf_dbuf_free(&sql);
		return rf_err_set(err, RF_ENOMEM, NULL, "out of memory");
	}
	rf_status rc = rf_q_exec(s, sql.p, err);
	rf_dbuf_free(&sql);
	return rc;
}
