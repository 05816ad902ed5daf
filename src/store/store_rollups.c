/* SPDX-License-Identifier: Apache-2.0 */
/* The SQLite backend's rollups: running totals per partner, agent and team, daily figures per program, source and
 * campaign, the bulk rebuild from raw tables, and the time-to-conversion statistics reports read. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

#define DAY_MS 86400000LL
/* Groups whose figures are all zero make no row. */
#define NONZERO                                                                                                       \
	" HAVING sum(clicks) <> 0 OR sum(leads) <> 0 OR sum(qualified) <> 0 OR sum(customers) <> 0 OR sum(sales) <> " \
	"0 OR sum(revenue) <> 0 OR sum(refunds) <> 0 OR sum(conversions) <> 0 OR sum(conversion_ms) <> 0 OR "         \
	"sum(earned) <> 0 OR sum(approved) <> 0 OR sum(paid) <> 0"
#define METRIC_COLS                                                                                          \
	"clicks, leads, qualified, customers, sales, revenue, refunds, conversions, conversion_ms, earned, " \
	"approved, paid"

/* The running totals an upsert adds ?5 … ?16 to, each named with its table (PostgreSQL would find a bare column
 * ambiguous beside the row proposed for insertion). */
#define DAILY_SET                                                                                                     \
	"clicks = rollup_daily.clicks + ?5, leads = rollup_daily.leads + ?6, qualified = rollup_daily.qualified + "   \
	"?7, customers = rollup_daily.customers + ?8, sales = rollup_daily.sales + ?9, revenue = "                    \
	"rollup_daily.revenue + ?10, refunds = rollup_daily.refunds + ?11, conversions = rollup_daily.conversions + " \
	"?12, conversion_ms = rollup_daily.conversion_ms + ?13, earned = rollup_daily.earned + ?14, approved = "      \
	"rollup_daily.approved + ?15, paid = rollup_daily.paid + ?16"
#define KEYS_SET                                                                                                      \
	"clicks = rollup_keys.clicks + ?5, leads = rollup_keys.leads + ?6, qualified = rollup_keys.qualified + ?7, "  \
	"customers = rollup_keys.customers + ?8, sales = rollup_keys.sales + ?9, revenue = rollup_keys.revenue + "    \
	"?10, refunds = rollup_keys.refunds + ?11, conversions = rollup_keys.conversions + ?12, conversion_ms = "     \
	"rollup_keys.conversion_ms + ?13, earned = rollup_keys.earned + ?14, approved = rollup_keys.approved + ?15, " \
	"paid = rollup_keys.paid + ?16"

static int64_t day_of(int64_t ms)
{
	return ms >= 0 ? ms / DAY_MS : (ms - DAY_MS + 1) / DAY_MS;
}

static void bind_metrics(rf_db_stmt *st, int first, const rf_metrics *m)
{
	for (int i = 0; i < RF_METRICS; i++)
		rf_db_bind_int(st, first + i, m->v[i]);
}

static void read_metrics(rf_db_stmt *st, int first, rf_metrics *m)
{
	for (int i = 0; i < RF_METRICS; i++)
		m->v[i] = rf_db_col_int(st, first + i);
}

static rf_status entity_add(rf_store *s, const char *program_id, const char *entity, const char *currency, int64_t day,
			    const rf_metrics *m, rf_err *err)
{
	/* Every running total from that day on grows by m ... */
	rf_db_stmt *st = rf_q_prep(
	    s,
	    "UPDATE rollup_entity SET clicks = clicks + ?5, leads = leads + ?6, qualified = qualified + ?7, customers "
	    "= customers + ?8, sales = sales + ?9, revenue = revenue + ?10, refunds = refunds + ?11, conversions = "
	    "conversions + ?12, conversion_ms = conversion_ms + ?13, earned = earned + ?14, approved = approved + "
	    "?15, paid = paid + ?16 WHERE program_id = ?1 AND entity = ?2 AND currency = ?3 AND day >= ?4",
	    err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, program_id);
	rf_db_bind_text(st, 2, entity);
	rf_db_bind_text(st, 3, currency);
	rf_db_bind_int(st, 4, day);
	bind_metrics(st, 5, m);
	rf_status rc = rf_q_done(s, st, NULL, err);
	if (rc != RF_OK)
		return rc;
	/* ... and a day without a row gets one: the total before it, plus m. */
	st = rf_q_prep(
	    s,
	    "INSERT INTO rollup_entity (program_id, entity, currency, day, " METRIC_COLS ") SELECT ?1, ?2, ?3, ?4, "
	    "coalesce(p.clicks, 0) + ?5, coalesce(p.leads, 0) + ?6, coalesce(p.qualified, 0) + ?7, "
	    "coalesce(p.customers, 0) + ?8, coalesce(p.sales, 0) + ?9, coalesce(p.revenue, 0) + ?10, "
	    "coalesce(p.refunds, 0) + ?11, coalesce(p.conversions, 0) + ?12, coalesce(p.conversion_ms, 0) + ?13, "
	    "coalesce(p.earned, 0) + ?14, coalesce(p.approved, 0) + ?15, coalesce(p.paid, 0) + ?16 FROM (SELECT 1) AS "
	    "one "
	    "LEFT JOIN (SELECT * FROM rollup_entity WHERE program_id = ?1 AND entity = ?2 AND currency = ?3 AND day < "
	    "?4 ORDER BY day DESC LIMIT 1) p ON true WHERE NOT EXISTS (SELECT 1 FROM rollup_entity WHERE program_id = "
	    "?1 AND "
	    "entity = ?2 AND currency = ?3 AND day = ?4)",
	    err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, program_id);
	rf_db_bind_text(st, 2, entity);
	rf_db_bind_text(st, 3, currency);
	rf_db_bind_int(st, 4, day);
	bind_metrics(st, 5, m);
	rc = rf_q_done(s, st, NULL, err);
	if (rc != RF_OK)
		return rc;
	/* The key keeps the entity's current totals and its last day. */
	st = rf_q_prep(
	    s,
	    "INSERT INTO rollup_keys (program_id, entity, currency, last_day, " METRIC_COLS
	    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16) ON CONFLICT (program_id, "
	    "entity, currency) DO UPDATE SET last_day = CASE WHEN rollup_keys.last_day > ?4 THEN rollup_keys.last_day "
	    "ELSE ?4 END, " KEYS_SET,
	    err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, program_id);
	rf_db_bind_text(st, 2, entity);
	rf_db_bind_text(st, 3, currency);
	rf_db_bind_int(st, 4, day);
	bind_metrics(st, 5, m);
	return rf_q_done(s, st, NULL, err);
}

/* After figures were taken back (a rejection, a correction), a day whose row no longer differs from the day before
 * goes, and so does an entity left without rows: the rollups stay exactly what a rebuild would make. */
static rf_status entity_tidy(rf_store *s, const char *program_id, const char *entity, const char *currency, int64_t day,
			     rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(
	    s,
	    "DELETE FROM rollup_entity WHERE program_id = ?1 AND entity = ?2 AND currency = ?3 AND day = ?4 AND "
	    "(" METRIC_COLS ") = (SELECT " METRIC_COLS " FROM (SELECT day, " METRIC_COLS
	    " FROM rollup_entity WHERE program_id = ?1 AND "
	    "entity = ?2 AND currency = ?3 AND day < ?4 UNION ALL SELECT -1000000000000000000, 0, 0, 0, 0, 0, 0, 0, 0, "
	    "0, 0, "
	    "0, 0) AS prior ORDER BY day DESC LIMIT 1)",
	    err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, program_id);
	rf_db_bind_text(st, 2, entity);
	rf_db_bind_text(st, 3, currency);
	rf_db_bind_int(st, 4, day);
	rf_status rc = rf_q_done(s, st, NULL, err);
	if (rc != RF_OK || rf_db_changes(s->db) == 0)
		return rc;
	st = rf_q_prep(s,
		       "DELETE FROM rollup_keys WHERE program_id = ?1 AND entity = ?2 AND currency = ?3 AND NOT "
		       "EXISTS (SELECT 1 FROM rollup_entity WHERE program_id = ?1 AND entity = ?2 AND currency = ?3)",
		       err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, program_id);
	rf_db_bind_text(st, 2, entity);
	rf_db_bind_text(st, 3, currency);
	return rf_q_done(s, st, NULL, err);
}

static rf_status daily_tidy(rf_store *s, const char *program_id, const char *dim, const char *currency, int64_t day,
			    rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(s,
				   "DELETE FROM rollup_daily WHERE program_id = ?1 AND dim = ?2 AND currency = ?3 "
				   "AND day = ?4 AND clicks = 0 AND leads = 0 AND qualified = 0 AND customers = 0 "
				   "AND sales = 0 AND revenue = 0 AND refunds = 0 AND conversions = 0 AND "
				   "conversion_ms = 0 AND earned = 0 AND approved = 0 AND paid = 0",
				   err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, program_id);
	rf_db_bind_text(st, 2, dim);
	rf_db_bind_text(st, 3, currency);
	rf_db_bind_int(st, 4, day);
	return rf_q_done(s, st, NULL, err);
}

static rf_status daily_add(rf_store *s, const char *program_id, const char *dim, const char *currency, int64_t day,
			   const rf_metrics *m, rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(
	    s,
	    "INSERT INTO rollup_daily (program_id, dim, currency, day, " METRIC_COLS
	    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16) ON CONFLICT (program_id, "
	    "dim, currency, day) DO UPDATE SET " DAILY_SET,
	    err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, program_id);
	rf_db_bind_text(st, 2, dim);
	rf_db_bind_text(st, 3, currency);
	rf_db_bind_int(st, 4, day);
	bind_metrics(st, 5, m);
	return rf_q_done(s, st, NULL, err);
}

/* Adds |m| to the program's volume (see migrations/0011_rollup_volume.sql), or refuses with RF_EOVERFLOW on
 * "amount" when that would pass 64 bits: then no stored total, and no sum a report makes of them, can overflow.
 * The check is made here in C, because SQLite would turn an overflowing sum into a REAL instead of failing. */
static rf_status volume_add(rf_store *s, const char *program_id, const rf_metrics *m, rf_err *err)
{
	rf_db_stmt *st;
	if (rf_db_can(s->db, RF_DB_CAP_CONCURRENT_WRITES)) {
		/* The volume is read, then written whole: where transactions write at once (PostgreSQL's READ
		 * COMMITTED), two that read it before either committed would each write it plus their own addition, and
		 * one addition would be lost. So the row is made if missing and locked before it is read; the read, a
		 * new statement, then sees what the transaction that held the lock committed. This lock also makes the
		 * program's rollup writes that follow in rf_store_rollup_add one transaction at a time (entity_add
		 * reads the day before to start a new day's running total). With one writer at a time there is nothing
		 * to do. */
		st = rf_q_prep(
		    s,
		    "INSERT INTO rollup_volume (program_id) VALUES (?1) ON CONFLICT (program_id) DO UPDATE SET "
		    "clicks = rollup_volume.clicks",
		    err);
		if (!st)
			return RF_EIO;
		rf_db_bind_text(st, 1, program_id);
		if (rf_q_done(s, st, NULL, err) != RF_OK)
			return err->status;
	}
	st = rf_q_prep(s, "SELECT " METRIC_COLS " FROM rollup_volume WHERE program_id = ?1", err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, program_id);
	rf_metrics have = {0};
	int rc = rf_db_step(st);
	if (rc == RF_DB_ROW)
		read_metrics(st, 0, &have);
	rf_db_reset(st);
	if (rc != RF_DB_ROW && rc != RF_DB_DONE)
		return rf_q_fail(s, err, "reading the program's volume");
	rf_metrics add;
	for (int i = 0; i < RF_METRICS; i++) {
		int64_t v = m->v[i], next;
		add.v[i] = v < 0 ? -v : v;
		if (v == INT64_MIN || __builtin_add_overflow(have.v[i], add.v[i], &next))
			return rf_err_set(err, RF_EOVERFLOW, "amount",
					  "this would carry the program's running totals past the largest figure refd "
					  "can hold (%lld)",
					  (long long)INT64_MAX);
	}
	st = rf_q_prep(
	    s,
	    "INSERT INTO rollup_volume (program_id, " METRIC_COLS
	    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) ON CONFLICT (program_id) DO UPDATE SET "
	    "clicks = rollup_volume.clicks + ?2, leads = rollup_volume.leads + ?3, qualified = rollup_volume.qualified "
	    "+ ?4, customers = rollup_volume.customers + ?5, sales = rollup_volume.sales + ?6, revenue = "
	    "rollup_volume.revenue + ?7, refunds = rollup_volume.refunds + ?8, conversions = rollup_volume.conversions "
	    "+ ?9, conversion_ms = rollup_volume.conversion_ms + ?10, earned = rollup_volume.earned + ?11, approved = "
	    "rollup_volume.approved + ?12, paid = rollup_volume.paid + ?13",
	    err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, program_id);
	bind_metrics(st, 2, &add);
	return rf_q_done(s, st, NULL, err);
}

rf_status rf_store_rollup_add(rf_store *s, const char *program_id, int64_t at, const char *currency,
			      const char *const *entities, size_t ne, const char *const *dims, size_t nd,
			      const rf_metrics *m, rf_err *err)
{
	bool zero = true;
	for (int i = 0; i < RF_METRICS && zero; i++)
		zero = m->v[i] == 0;
	if (zero)
		return RF_OK; /* nothing to add: no row is made for it (the rebuild makes none either) */
	int64_t day = day_of(at);
	const char *cur = currency ? currency : "";
	bool takes_back = false;
	for (int i = 0; i < RF_METRICS; i++)
		takes_back |= m->v[i] < 0;
	if (volume_add(s, program_id, m, err) != RF_OK)
		return err->status;
	for (size_t i = 0; i < ne; i++)
		if (entities[i] && (entity_add(s, program_id, entities[i], cur, day, m, err) != RF_OK ||
				    (takes_back && entity_tidy(s, program_id, entities[i], cur, day, err) != RF_OK)))
			return err->status;
	for (size_t i = 0; i < nd; i++)
		if (dims[i] && (daily_add(s, program_id, dims[i], cur, day, m, err) != RF_OK ||
				(takes_back && daily_tidy(s, program_id, dims[i], cur, day, err) != RF_OK)))
			return err->status;
	return RF_OK;
}

rf_status rf_store_rollup_apply(rf_store *s, const char *program_id, const rf_metrics *volume,
				const rf_rollup_part *parts, size_t n, rf_err *err)
{
	/* Additions only: a figure taken back needs its rows tidied (entity_tidy, daily_tidy) as rf_store_rollup_add
	 * does, which a folded addition would do at the wrong moment. */
	bool zero = true;
	for (int i = 0; i < RF_METRICS; i++) {
		if (volume->v[i] < 0)
			return rf_err_set(err, RF_EINVAL, NULL, "folded rollups only add");
		zero &= volume->v[i] == 0;
	}
	for (size_t i = 0; i < n; i++)
		for (int k = 0; k < RF_METRICS; k++)
			if (parts[i].m.v[k] < 0)
				return rf_err_set(err, RF_EINVAL, NULL, "folded rollups only add");
	if (!zero && volume_add(s, program_id, volume, err) != RF_OK)
		return err->status;
	for (size_t i = 0; i < n; i++) {
		const rf_rollup_part *p = &parts[i];
		bool nothing = true;
		for (int k = 0; k < RF_METRICS; k++)
			nothing &= p->m.v[k] == 0;
		if (nothing)
			continue;
		const char *cur = p->currency ? p->currency : "";
		int64_t day = day_of(p->at);
		if (p->entity ? entity_add(s, program_id, p->entity, cur, day, &p->m, err) != RF_OK
			      : daily_add(s, program_id, p->dim, cur, day, &p->m, err) != RF_OK)
			return err->status;
	}
	return RF_OK;
}

static void key_fill(rf_db_stmt *st, void *item, rf_arena *a)
{
	rf_rollup_key *k = item;
	k->entity = rf_q_text(st, 0, a);
	rf_q_code(st, 1, k->currency);
}

rf_status rf_store_rollup_keys(rf_store *s, const char *program_id, const char *prefix, rf_rollup_key **items,
			       size_t *n, rf_arena *a, rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(s,
				   "SELECT entity, currency FROM rollup_keys WHERE program_id = ?1 AND entity >= "
				   "?2 AND entity < ?3 ORDER BY entity, currency",
				   err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, program_id);
	rf_db_bind_text(st, 2, prefix);
	rf_db_bind_text(st, 3, rf_q_prefix_end(a, prefix));
	/* Grown as rows come: one program may have a handful of keys or tens of thousands. */
	size_t cap = 16;
	*n = 0;
	*items = rf_arena_alloc(a, sizeof **items * cap);
	int rc = RF_DB_DONE;
	while (*items && (rc = rf_db_step(st)) == RF_DB_ROW) {
		if (!(*items = rf_arena_grow(a, *items, *n, &cap, sizeof **items, 16)))
			break;
		key_fill(st, &(*items)[(*n)++], a);
	}
	rf_db_reset(st);
	if (!*items)
		return rf_err_set(err, RF_ENOMEM, NULL, "out of memory");
	return rc == RF_DB_DONE ? RF_OK : rf_q_fail(s, err, "reading rollup keys");
}

/* The metric columns of a table named t in the query. */
#define METRIC_COLS_OF(t)                                                                                         \
	t ".clicks, " t ".leads, " t ".qualified, " t ".customers, " t ".sales, " t ".revenue, " t ".refunds, " t \
	  ".conversions, " t ".conversion_ms, " t ".earned, " t ".approved, " t ".paid"

/* The running totals of one entity's rows before a day, as a lateral subquery named t (NULL when it has none). */
#define TOTAL_BEFORE(t, day)                                                                                       \
	"LEFT JOIN LATERAL (SELECT " METRIC_COLS " FROM rollup_entity AS r WHERE r.program_id = k.program_id AND " \
	"r.entity = k.entity AND r.currency = k.currency AND r.day < " day " ORDER BY r.day DESC LIMIT 1) AS " t   \
	" ON true "

/* rf_store_rollup_period where each statement is a round trip to a server (PostgreSQL): the seeks of every entity
 * made by the server in one statement, a lateral join per key, rather than two statements per entity from here
 * (10,000 partners took 10,000 to 20,000 round trips, 0.7 to 1.7 s on the 2-core machine of docs/PERFORMANCE.md). */
static rf_status
period_one_statement(rf_store *s, const char *program_id, const char *prefix, int64_t from_day, int64_t to_day,
		     void (*fn)(const char *entity, const char *currency, const rf_metrics *delta, void *arg),
		     void *arg, rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(
	    s,
	    "SELECT k.entity, k.currency, k.last_day, " METRIC_COLS_OF("k") ", " METRIC_COLS_OF(
		"b") ", " METRIC_COLS_OF("e") " FROM rollup_keys AS k " TOTAL_BEFORE("b", "?3")
		TOTAL_BEFORE("e", "?5 AND k.last_day >= ?5") "WHERE k.program_id = ?1 AND k.entity >= ?2 AND k.entity "
							     "< ?4 AND k.last_day >= ?3 ORDER BY k.entity, "
							     "k.currency",
	    err);
	if (!st)
		return RF_EIO;
	char end_prefix[16];
	rf_db_bind_text(st, 1, program_id);
	rf_db_bind_text(st, 2, prefix);
	rf_db_bind_int(st, 3, from_day);
	snprintf(end_prefix, sizeof end_prefix, "%.14s\x7f", prefix);
	rf_db_bind_text(st, 4, end_prefix);
	rf_db_bind_int(st, 5, to_day);
	int rc;
	while ((rc = rf_db_step(st)) == RF_DB_ROW) {
		char cur[4];
		rf_q_code(st, 1, cur);
		/* A period that ends after the entity's last change ends at its current totals; one that ends before
		 * it, at its totals before the end (none: zero, as the start's). */
		rf_metrics end, start, d;
		read_metrics(st, to_day > rf_db_col_int(st, 2) ? 3 : 3 + 2 * RF_METRICS, &end);
		read_metrics(st, 3 + RF_METRICS, &start);
		bool changed = false;
		for (int i = 0; i < RF_METRICS; i++) {
			d.v[i] = end.v[i] - start.v[i];
			changed |= d.v[i] != 0;
		}
		if (changed)
			fn((const char *)rf_db_col_text(st, 0, NULL), cur, &d, arg);
	}
	rf_db_reset(st);
	return rc == RF_DB_DONE ? RF_OK : rf_q_fail(s, err, "reading rollups of a period");
}

rf_status
rf_store_rollup_period(rf_store *s, const char *program_id, const char *prefix, int64_t from_day, int64_t to_day,
		       void (*fn)(const char *entity, const char *currency, const rf_metrics *delta, void *arg),
		       void *arg, rf_err *err)
{
	if (rf_q_dialect(s) == RF_DB_POSTGRES)
		return period_one_statement(s, program_id, prefix, from_day, to_day, fn, arg, err);
	/* Every entity that changed since the period's start, with its current totals (kept beside its key); then
	 * one seek for its totals at the start (and, for a period that ends before its last day, one for the end). */
	rf_db_stmt *keys = rf_q_prep(s,
				     "SELECT entity, currency, last_day, " METRIC_COLS " FROM rollup_keys WHERE "
				     "program_id = ?1 AND entity >= ?2 AND entity < ?4 AND "
				     "last_day >= ?3 ORDER BY entity, currency",
				     err);
	if (!keys)
		return RF_EIO;
	char end_prefix[16];
	rf_db_bind_text(keys, 1, program_id);
	rf_db_bind_text(keys, 2, prefix);
	rf_db_bind_int(keys, 3, from_day);
	snprintf(end_prefix, sizeof end_prefix, "%.14s\x7f", prefix);
	rf_db_bind_text(keys, 4, end_prefix);
	int rc;
	rf_status st = RF_OK;
	while ((rc = rf_db_step(keys)) == RF_DB_ROW) {
		const char *entity = (const char *)rf_db_col_text(keys, 0, NULL);
		char cur[4];
		rf_q_code(keys, 1, cur);
		int64_t last_day = rf_db_col_int(keys, 2);
		rf_metrics end, start, d;
		if (to_day > last_day)
			read_metrics(keys, 3, &end);
		else if ((st = rf_store_rollup_total_before(s, program_id, entity, cur, to_day, &end, err)) != RF_OK)
			break;
		if ((st = rf_store_rollup_total_before(s, program_id, entity, cur, from_day, &start, err)) != RF_OK)
			break;
		bool changed = false;
		for (int i = 0; i < RF_METRICS; i++) {
			d.v[i] = end.v[i] - start.v[i];
			changed |= d.v[i] != 0;
		}
		if (changed)
			fn(entity, cur, &d, arg);
	}
	rf_db_reset(keys);
	if (st != RF_OK)
		return st;
	return rc == RF_DB_DONE ? RF_OK : rf_q_fail(s, err, "reading rollups of a period");
}

rf_status rf_store_rollup_entity_days(rf_store *s, const char *program_id, const char *entity, const char *currency,
				      int64_t from_day, int64_t to_day,
				      void (*fn)(const char *dim, const char *currency, int64_t day,
						 const rf_metrics *m, void *arg),
				      void *arg, rf_err *err)
{
	rf_metrics prev;
	if (rf_store_rollup_total_before(s, program_id, entity, currency, from_day, &prev, err) != RF_OK)
		return err->status;
	rf_db_stmt *st = rf_q_prep(s,
				   "SELECT day, " METRIC_COLS " FROM rollup_entity WHERE program_id = ?1 AND entity "
				   "= ?2 AND currency = ?3 AND day >= ?4 AND day < ?5 ORDER BY day",
				   err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, program_id);
	rf_db_bind_text(st, 2, entity);
	rf_db_bind_text(st, 3, currency);
	rf_db_bind_int(st, 4, from_day);
	rf_db_bind_int(st, 5, to_day);
	int rc;
	while ((rc = rf_db_step(st)) == RF_DB_ROW) {
		rf_metrics cur, d;
		read_metrics(st, 1, &cur);
		for (int i = 0; i < RF_METRICS; i++)
			d.v[i] = cur.v[i] - prev.v[i];
		prev = cur;
		char code[4];
		snprintf(code, sizeof code, "%s", currency);
		fn(entity, code, rf_db_col_int(st, 0), &d, arg);
	}
	rf_db_reset(st);
	return rc == RF_DB_DONE ? RF_OK : rf_q_fail(s, err, "reading an entity's days");
}

rf_status rf_store_rollup_total_before(rf_store *s, const char *program_id, const char *entity, const char *currency,
				       int64_t day, rf_metrics *out, rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(s,
				   "SELECT " METRIC_COLS " FROM rollup_entity WHERE program_id = ?1 AND entity = "
				   "?2 AND currency = ?3 AND day < ?4 ORDER BY day DESC LIMIT 1",
				   err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, program_id);
	rf_db_bind_text(st, 2, entity);
	rf_db_bind_text(st, 3, currency ? currency : "");
	rf_db_bind_int(st, 4, day);
	memset(out, 0, sizeof *out);
	int rc = rf_db_step(st);
	if (rc == RF_DB_ROW)
		read_metrics(st, 0, out);
	rf_db_reset(st);
	return rc == RF_DB_ROW || rc == RF_DB_DONE ? RF_OK : rf_q_fail(s, err, "reading a rollup");
}

rf_status
rf_store_rollup_daily(rf_store *s, const char *program_id, const char *prefix, int64_t from_day, int64_t to_day,
		      void (*fn)(const char *dim, const char *currency, int64_t day, const rf_metrics *m, void *arg),
		      void *arg, rf_err *err)
{
	bool exact = strchr(prefix, ':') == NULL || prefix[strlen(prefix) - 1] != ':';
	rf_db_stmt *st = rf_q_prep(s,
				   exact ? "SELECT dim, currency, day, " METRIC_COLS " FROM rollup_daily WHERE "
					   "program_id = ?1 AND dim = ?2 AND day >= ?3 AND day < ?4 ORDER BY "
					   "currency, day"
					 : "SELECT dim, currency, day, " METRIC_COLS " FROM rollup_daily WHERE "
					   "program_id = ?1 AND dim >= ?2 AND dim < ?5 AND day >= ?3 AND day < ?4",
				   err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, program_id);
	rf_db_bind_text(st, 2, prefix);
	rf_db_bind_int(st, 3, from_day);
	rf_db_bind_int(st, 4, to_day);
	if (!exact) {
		char end_prefix[64];
		snprintf(end_prefix, sizeof end_prefix, "%.62s\x7f", prefix);
		rf_db_bind_text(st, 5, end_prefix);
	}
	int rc;
	while ((rc = rf_db_step(st)) == RF_DB_ROW) {
		rf_metrics m;
		read_metrics(st, 3, &m);
		char cur[4];
		rf_q_code(st, 1, cur);
		fn((const char *)rf_db_col_text(st, 0, NULL), cur, rf_db_col_int(st, 2), &m, arg);
	}
	rf_db_reset(st);
	return rc == RF_DB_DONE ? RF_OK : rf_q_fail(s, err, "reading daily rollups");
}

static void swap64(int64_t *a, int64_t *b)
{
	int64_t t = *a;
	*a = *b;
	*b = t;
}

/* The k-th smallest of v[0..n) (quickselect with a three-way partition, linear on average even when most values
 * are equal), reordering v. */
static int64_t kth(int64_t *v, size_t n, size_t k)
{
	size_t lo = 0, hi = n - 1;
	while (lo < hi) {
		int64_t a = v[lo], b = v[lo + (hi - lo) / 2], c = v[hi];
		int64_t p = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b));
		size_t lt = lo, i = lo, gt = hi;
		while (i <= gt) {
			if (v[i] < p) {
				swap64(&v[lt++], &v[i++]);
			} else if (v[i] > p) {
				swap64(&v[i], &v[gt]);
				if (gt == 0)
					break;
				gt--;
			} else {
				i++;
			}
		}
		/* [lo, lt) < p, [lt, gt] == p, (gt, hi] > p */
		if (k < lt)
			hi = lt - 1;
		else if (k > gt)
			lo = gt + 1;
		else
			return p;
	}
	return v[k];
}

rf_status rf_store_conversion_stats(rf_store *s, const char *program_id, int64_t from, int64_t to, int64_t *count,
				    int64_t *mean_ms, int64_t *median_ms, rf_err *err)
{
	*count = *mean_ms = *median_ms = 0;
	/* One pass over the covering index: every time to conversion of the period, then the middle one. */
	rf_db_stmt *st = rf_q_prep(s,
				   "SELECT converted_at - created_at FROM leads WHERE program_id = ?1 AND "
				   "converted_at > 0 AND converted_at >= ?2 AND converted_at < ?3",
				   err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, program_id);
	rf_db_bind_int(st, 2, from);
	rf_db_bind_int(st, 3, to);
	size_t n = 0, cap = 0;
	int64_t *v = NULL, sum = 0;
	int rc;
	while ((rc = rf_db_step(st)) == RF_DB_ROW) {
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 1024;
			int64_t *nv = realloc(v, sizeof *v * ncap);
			if (!nv) {
				free(v);
				rf_db_reset(st);
				return rf_err_set(err, RF_ENOMEM, NULL, "out of memory");
			}
			v = nv;
			cap = ncap;
		}
		v[n] = rf_db_col_int(st, 0);
		sum += v[n++];
	}
	rf_db_reset(st);
	if (rc != RF_DB_DONE) {
		free(v);
		return rf_q_fail(s, err, "reading conversions");
	}
	if (n) {
		*count = (int64_t)n;
		*mean_ms = sum / (int64_t)n;
		int64_t lo = kth(v, n, (n - 1) / 2);
		/* With an even count, the mean of the two middle values. */
		int64_t hi = n % 2 == 0 ? kth(v, n, n / 2) : lo;
		*median_ms = lo + (hi - lo) / 2;
	}
	free(v);
	return RF_OK;
}

rf_status rf_store_link_rollup_info(rf_store *s, const char *link_id, char **campaign, char **owner, char **kind,
				    char **team_parent, rf_arena *a, rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(s,
				   "SELECT l.campaign, p.id, p.kind, p.team_parent_id FROM links l JOIN partners p "
				   "ON p.id = l.partner_id WHERE l.id = ?",
				   err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, link_id);
	int rc = rf_db_step(st);
	if (rc == RF_DB_ROW) {
		*campaign = rf_q_text(st, 0, a);
		*owner = rf_q_text(st, 1, a);
		*kind = rf_q_text(st, 2, a);
		*team_parent = rf_q_text(st, 3, a);
	}
	rf_db_reset(st);
	if (rc == RF_DB_ROW)
		return RF_OK;
	if (rc == RF_DB_DONE)
		return rf_err_set(err, RF_ENOTFOUND, "link_id", "no such link");
	return rf_q_fail(s, err, "reading a link");
}

/* The rebuild, in one script: every raw fact becomes a row of day deltas with its keys (partner, agent, team,
 * source, campaign), then the deltas are summed per dim and day, and accumulated per entity. */
static const char rebuild_sql[] =
    "DELETE FROM rollup_entity; DELETE FROM rollup_daily; DELETE FROM rollup_keys;"
    "CREATE TEMP TABLE ev (program_id TEXT, partner TEXT, agent TEXT, team TEXT, source TEXT, campaign TEXT, "
    "currency TEXT, day BIGINT, clicks BIGINT, leads BIGINT, qualified BIGINT, customers BIGINT, sales BIGINT, "
    "revenue BIGINT, refunds BIGINT, conversions BIGINT, conversion_ms BIGINT, earned BIGINT, approved BIGINT, "
    "paid BIGINT);"
    /* Counted clicks, per link and day first. */
    "INSERT INTO ev SELECT c.program_id, CASE WHEN p.kind = 'agent' AND p.team_parent_id IS NOT NULL THEN "
    "p.team_parent_id ELSE p.id END, CASE WHEN p.kind = 'agent' AND p.team_parent_id IS NOT NULL THEN p.id END, "
    "CASE WHEN p.kind = 'agent' AND p.team_parent_id IS NOT NULL THEN p.team_parent_id END, NULL, l.campaign, '', "
    "c.day, c.n, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 FROM (SELECT program_id, link_id, (at - (at % 86400000)) / "
    "86400000 AS day, count(*) AS n FROM clicks WHERE status = 'counted' AND link_id IS NOT NULL GROUP BY 1, 2, 3) "
    "AS c JOIN links l ON l.id = c.link_id JOIN partners p ON p.id = l.partner_id;"
    /* Leads, their first qualification and their conversion. */
    "CREATE TEMP TABLE lk AS SELECT l.id, l.program_id, l.partner_id, l.agent_id, l.source, lk.campaign, "
    "l.created_at, l.converted_at FROM leads l LEFT JOIN clicks k ON k.id = l.click_id LEFT JOIN links lk ON "
    "lk.id = k.link_id;"
    "INSERT INTO ev SELECT program_id, partner_id, agent_id, CASE WHEN agent_id IS NOT NULL THEN partner_id END, "
    "source, campaign, '', created_at / 86400000, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 FROM lk;"
    "INSERT INTO ev SELECT lk.program_id, lk.partner_id, lk.agent_id, CASE WHEN lk.agent_id IS NOT NULL THEN "
    "lk.partner_id END, lk.source, lk.campaign, '', q.at / 86400000, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0 FROM "
    "(SELECT lead_id, min(at) AS at FROM lead_events WHERE to_status IN ('qualified', 'converted') GROUP BY "
    "lead_id) q JOIN lk ON lk.id = q.lead_id;"
    "INSERT INTO ev SELECT program_id, partner_id, agent_id, CASE WHEN agent_id IS NOT NULL THEN partner_id END, "
    "source, campaign, '', converted_at / 86400000, 0, 0, 0, 1, 0, 0, 0, 1, converted_at - created_at, 0, 0, 0 "
    "FROM lk WHERE converted_at > 0;"
    /* Sales and refunds, with their lead's source and campaign. */
    "INSERT INTO ev SELECT x.program_id, x.partner_id, x.agent_id, CASE WHEN x.agent_id IS NOT NULL THEN "
    "x.partner_id END, lk.source, lk.campaign, '', x.occurred_at / 86400000, 0, 0, 0, 0, 1, "
    "coalesce(x.program_amount, 0), 0, 0, 0, 0, 0, 0 FROM sales x JOIN lk ON lk.id = x.lead_id;"
    "INSERT INTO ev SELECT x.program_id, x.partner_id, x.agent_id, CASE WHEN x.agent_id IS NOT NULL THEN "
    "x.partner_id END, lk.source, lk.campaign, '', r.occurred_at / 86400000, 0, 0, 0, 0, 0, 0, "
    "coalesce(r.program_amount, 0), 0, 0, 0, 0, 0 FROM refunds r JOIN sales x ON x.id = r.sale_id JOIN lk ON "
    "lk.id = x.lead_id;"
    /* Commissions: earned on the event's day, approved, paid and rejected on the day of the change. */
    "CREATE TEMP TABLE ck AS SELECT c.id, c.program_id, CASE WHEN c.role = 'agent' THEN p.team_parent_id ELSE "
    "c.partner_id END AS partner, CASE WHEN c.role = 'agent' THEN c.partner_id END AS agent, CASE WHEN c.role = "
    "'agent' THEN p.team_parent_id END AS team, c.currency, c.amount, c.event_at FROM commissions c JOIN "
    "partners p ON p.id = c.partner_id WHERE c.amount IS NOT NULL;"
    "INSERT INTO ev SELECT program_id, partner, agent, team, NULL, NULL, currency, event_at / 86400000, 0, 0, 0, "
    "0, 0, 0, 0, 0, 0, amount, 0, 0 FROM ck;"
    /* A rejection takes the entry out of what was earned on its event's day. */
    "INSERT INTO ev SELECT ck.program_id, ck.partner, ck.agent, ck.team, NULL, NULL, ck.currency, ck.event_at / "
    "86400000, 0, 0, 0, 0, 0, 0, 0, 0, 0, -ck.amount, 0, 0 FROM commission_events e JOIN ck ON ck.id = "
    "e.commission_id WHERE e.to_status = 'rejected';"
    "INSERT INTO ev SELECT ck.program_id, ck.partner, ck.agent, ck.team, NULL, NULL, ck.currency, e.at / "
    "86400000, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, CASE WHEN e.to_status = 'approved' THEN ck.amount WHEN e.to_status = "
    "'rejected' AND e.from_status = 'approved' THEN -ck.amount ELSE 0 END, CASE WHEN e.to_status = 'paid' THEN "
    "ck.amount ELSE 0 END FROM commission_events e JOIN ck ON ck.id = e.commission_id WHERE e.to_status IN "
    "('approved', 'paid', 'rejected');"
    /* Daily figures per dim. */
    "INSERT INTO rollup_daily (program_id, dim, currency, day, " METRIC_COLS ") SELECT program_id, dim, "
    "currency, day, sum(clicks), sum(leads), sum(qualified), sum(customers), sum(sales), sum(revenue), "
    "sum(refunds), sum(conversions), sum(conversion_ms), sum(earned), sum(approved), sum(paid) FROM (SELECT *, "
    "'all' AS dim FROM ev UNION ALL SELECT *, 's:' || source FROM ev WHERE source IS NOT NULL AND currency = '' "
    "UNION ALL SELECT *, 'c:' || campaign FROM ev WHERE campaign IS NOT NULL AND currency = '') AS d GROUP BY "
    "program_id, dim, currency, day" NONZERO ";"
    /* Running totals per entity. */
    "INSERT INTO rollup_entity (program_id, entity, currency, day, " METRIC_COLS ") SELECT program_id, entity, "
    "currency, day, sum(clicks) OVER w, sum(leads) OVER w, sum(qualified) OVER w, sum(customers) OVER w, "
    "sum(sales) OVER w, sum(revenue) OVER w, sum(refunds) OVER w, sum(conversions) OVER w, sum(conversion_ms) "
    "OVER w, sum(earned) OVER w, sum(approved) OVER w, sum(paid) OVER w FROM (SELECT program_id, entity, "
    "currency, day, sum(clicks) AS clicks, sum(leads) AS leads, sum(qualified) AS qualified, sum(customers) AS "
    "customers, sum(sales) AS sales, sum(revenue) AS revenue, sum(refunds) AS refunds, sum(conversions) AS "
    "conversions, sum(conversion_ms) AS conversion_ms, sum(earned) AS earned, sum(approved) AS approved, "
    "sum(paid) AS paid FROM (SELECT program_id, 'p:' || partner AS entity, currency, day, " METRIC_COLS " FROM ev "
    "WHERE partner IS NOT NULL UNION ALL SELECT program_id, 'a:' || agent, currency, day, " METRIC_COLS " FROM ev "
    "WHERE agent IS NOT NULL UNION ALL SELECT program_id, 't:' || team, currency, day, " METRIC_COLS " FROM ev "
    "WHERE team IS NOT NULL) AS e GROUP BY program_id, entity, currency, day" NONZERO ") AS g WINDOW w AS "
    "(PARTITION BY program_id, entity, currency ORDER BY day);"
    "INSERT INTO rollup_keys (program_id, entity, currency, last_day, " METRIC_COLS ") SELECT program_id, entity, "
    "currency, day, " METRIC_COLS " FROM rollup_entity r WHERE day = (SELECT max(day) FROM rollup_entity x WHERE "
    "x.program_id = r.program_id AND x.entity = r.entity AND x.currency = r.currency);";

/* Each program's volume: the facts are its additions. Sums that could pass 64 bits saturate instead of failing:
 * SQLite's total() and CAST do; PostgreSQL sums them exactly and caps them. */
#define VOLUME_OF(f)                                                                                      \
	f(clicks) ", " f(leads) ", " f(qualified) ", " f(customers) ", " f(sales) ", " f(revenue) ", " f( \
	    refunds) ", " f(conversions) ", " f(conversion_ms) ", " f(earned) ", " f(approved) ", " f(paid)
#define SQLITE_VOLUME(c) "CAST(total(abs(" #c ")) AS INTEGER)"
#define PG_VOLUME(c) "CAST(least(sum(abs(" #c ")::numeric), 9223372036854775807) AS BIGINT)"
static const char volume_sqlite[] = "DELETE FROM rollup_volume; INSERT INTO rollup_volume (program_id, " METRIC_COLS
				    ") SELECT program_id, " VOLUME_OF(SQLITE_VOLUME) " FROM ev GROUP BY program_id;";
static const char volume_pg[] = "DELETE FROM rollup_volume; INSERT INTO rollup_volume (program_id, " METRIC_COLS
				") SELECT program_id, " VOLUME_OF(PG_VOLUME) " FROM ev GROUP BY program_id;";

rf_status rf_store_rollup_rebuild(rf_store *s, rf_err *err)
{
	if (rf_q_exec(s, rebuild_sql, err) != RF_OK ||
	    rf_q_exec(s, rf_q_dialect(s) == RF_DB_POSTGRES ? volume_pg : volume_sqlite, err) != RF_OK)
		return err->status;
	return rf_q_exec(s, "DROP TABLE ev; DROP TABLE lk; DROP TABLE ck;", err);
}

rf_status rf_store_queue_counts(rf_store *s, const char *program_id, int64_t counts[3], rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(s,
				   "SELECT (SELECT count(*) FROM partners WHERE program_id = ?1 AND status = "
				   "'applied'), (SELECT count(*) FROM leads WHERE program_id = ?1 AND status = "
				   "'pending_review'), (SELECT count(*) FROM commissions WHERE program_id = ?1 AND "
				   "status = 'held')",
				   err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, program_id);
	int rc = rf_db_step(st);
	for (int i = 0; i < 3; i++)
		counts[i] = rc == RF_DB_ROW ? rf_db_col_int(st, i) : 0;
	rf_db_reset(st);
	return rc == RF_DB_ROW ? RF_OK : rf_q_fail(s, err, "counting what waits");
}

rf_status rf_store_partner_names(rf_store *s, const char *program_id, char ***ids, char ***names, size_t *n,
				 rf_arena *a, rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(s, "SELECT id, name FROM partners WHERE program_id = ? ORDER BY id", err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, program_id);
	size_t cap = 64, k = 0;
	char **id = rf_arena_alloc(a, sizeof *id * cap), **nm = rf_arena_alloc(a, sizeof *nm * cap);
	if (!id || !nm) {
		rf_db_reset(st);
		return rf_err_set(err, RF_ENOMEM, NULL, "out of memory");
	}
	int rc;
	while ((rc = rf_db_step(st)) == RF_DB_ROW) {
		size_t name_cap = cap; /* the two arrays grow together */
		id = rf_arena_grow(a, id, k, &cap, sizeof *id, 64);
		nm = rf_arena_grow(a, nm, k, &name_cap, sizeof *nm, 64);
		if (!id || !nm) {
			rf_db_reset(st);
			return rf_err_set(err, RF_ENOMEM, NULL, "out of memory");
		}
		id[k] = rf_q_text(st, 0, a);
		nm[k] = rf_q_text(st, 1, a);
		k++;
	}
	rf_db_reset(st);
	*ids = id;
	*names = nm;
	*n = k;
	return rc == RF_DB_DONE ? RF_OK : rf_q_fail(s, err, "reading partner names");
}
