/* SPDX-License-Identifier: Apache-2.0 */
/* What the store's files share: the store handle over a driver connection, and the statement, binding and row
 * helpers every store function is written with. Not part of the store interface: only the store's own files include it.
 */
#ifndef RF_STORE_INTERNAL_H
#define RF_STORE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "db/db.h"
#include "store.h"

struct rf_store {
	rf_db *db;
};

/* Fills one item from the current row of a statement. */
typedef void (*rf_q_row_fn)(rf_db_stmt *st, void *item, rf_arena *a);

/* Fills err from the connection's last failure, saying what was being done; returns the status it maps to
 * (RF_ECONFLICT, RF_ERETRY, RF_EUNAVAIL or RF_EIO). */
rf_status rf_q_fail(rf_store *s, rf_err *err, const char *what);

/* A reset statement for sql, prepared once per connection and reused; NULL (err filled) on failure. */
rf_db_stmt *rf_q_prep(rf_store *s, const char *sql, rf_err *err);

/* An arena copy of a text column, NULL for SQL NULL. */
char *rf_q_text(rf_db_stmt *st, int i, rf_arena *a);

/* A currency code column into a 4-byte buffer. */
void rf_q_code(rf_db_stmt *st, int i, char out[4]);

/* Runs SQL without parameters or results. */
rf_status rf_q_exec(rf_store *s, const char *sql, rf_err *err);

/* Steps a statement that returns no rows. With a field, a uniqueness failure is RF_ECONFLICT on field and leaves the
 * transaction usable (the statement runs guarded, see rf_db_step_guarded); without one it is a failure. */
rf_status rf_q_done(rf_store *s, rf_db_stmt *st, const char *field, rf_err *err);

/* For a table with several unique keys: when rc is RF_ECONFLICT (rf_q_done named its first key) and the database's
 * message names the key marker (its column or index, which both databases spell with it: SQLite
 * "leads.external_id", PostgreSQL "leads_external"), names field instead. Returns rc. */
rf_status rf_q_conflict_on(rf_store *s, rf_status rc, const char *marker, const char *field, rf_err *err);

/* For an insert keyed by a natural key its caller looked up first (a lead's email, a sale's external id, an
 * idempotency key): where transactions write at once, a uniqueness failure means another one inserted the same
 * key meanwhile, and is RF_ERETRY, so that the transaction runs again and finds it; with one writer at a time it
 * stays the conflict it is. Returns rc (or RF_ERETRY). */
rf_status rf_q_raced(rf_store *s, rf_status rc, rf_err *err);

/* Resolves a cursor id to its seq in table; RF_EINVAL naming starting_after when it does not exist. */
rf_status rf_q_cursor_seq(rf_store *s, const char *table, const char *id, int64_t *seq, rf_err *err);

/* The paging of a list in the order its rows were made, by a cursor bound as ?1 (the seq of the previous page's
 * last row, from rf_q_cursor_seq, or INT64_MAX newest first and 0 oldest first when there is none): the condition
 * on the rows of table (named alias in the query) and the ORDER BY. SQLite commits one transaction at a time, in
 * the order of seq. On PostgreSQL rows are ordered by the transaction that inserted them, then seq, and a settled
 * page (rf_page.settled) holds only rows of transactions before any still running in this database (and this
 * transaction's own): a transaction that commits later comes after them. */
typedef struct {
	char cond[900];
	char order[64];
} rf_q_keyset;
void rf_q_keyset_sql(rf_store *s, const char *table, const char *alias, bool oldest_first, bool settled,
		     rf_q_keyset *k);

/* Steps a statement (already bound) that gives at most one row into fill; RF_ENOTFOUND names what. */
rf_status rf_q_one_row(rf_store *s, rf_db_stmt *st, rf_q_row_fn fill, void *out, rf_arena *a, const char *what,
		       rf_err *err);

/* Steps a statement (already bound) that gives one integer (0 when it gives no row). */
rf_status rf_q_one_int(rf_store *s, rf_db_stmt *st, int64_t *out, rf_err *err);

/* At most one row for a query keyed by one text parameter; RF_ENOTFOUND names what. */
rf_status rf_q_get_one(rf_store *s, const char *sql, const char *key, rf_q_row_fn fill, void *out, rf_arena *a,
		       const char *what, rf_err *err);

/* The rows of a list query (which asks for limit + 1) into an arena array; has_more when a row past limit exists. */
rf_status rf_q_collect(rf_store *s, rf_db_stmt *st, int limit, size_t item_size, rf_q_row_fn fill, void **items,
		       size_t *n, bool *has_more, rf_arena *a, rf_err *err);

/* The smallest text above every text that starts with prefix (for ranges "starts with": x >= prefix AND x < end),
 * in the arena: prefix with a DEL appended, which no refd key holds. */
char *rf_q_prefix_end(rf_arena *a, const char *prefix);

/* The dialect of the store's connection, for the few statements written twice. */
static inline rf_db_dialect rf_q_dialect(const rf_store *s)
{
	return rf_db_dialect_of(s->db);
}

#endif
