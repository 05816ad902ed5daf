/* SPDX-License-Identifier: Apache-2.0 */
/* The storage interface: everything refd keeps goes through these calls, whichever database backs them (SQLite or
 * PostgreSQL, through the drivers in db/).
 *
 * Conventions for every call: strings in returned structs are allocated in the caller's arena; the call returns
 * RF_OK, RF_ENOTFOUND when the object does not exist, RF_ECONFLICT when a uniqueness rule is broken (err names
 * the field), RF_ERETRY when the transaction lost a race and must run again (a serialization failure or deadlock,
 * or on a database where transactions write at once an insert of a natural key its caller had looked up first: a
 * lead's email or external id, a customer's or a sale's or a refund's external id, a Stripe event, an idempotency
 * key), RF_EUNAVAIL when the database cannot do it right now, or RF_EIO on another database failure (err says
 * what failed). A store handle belongs to one thread. */
#ifndef RF_STORE_H
#define RF_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/arena.h"
#include "../core/model.h"
#include "../core/status.h"

typedef struct rf_store rf_store;

/* Opens the database at location: a postgres:// or postgresql:// URL (or a libpq "host=… dbname=…" string) for
 * PostgreSQL, anything else a SQLite file, created if missing. *out is owned by the caller and released with
 * rf_store_close. RF_EUNAVAIL when the database cannot be reached. */
rf_status rf_store_open(const char *location, rf_store **out, rf_err *err);
void rf_store_close(rf_store *s);
/* The backend's name: "sqlite" or "postgres". */
const char *rf_store_backend(rf_store *s);
/* True when location names a SQLite file (which has a place beside it for the instance key file). */
bool rf_store_location_is_file(const char *location);

/* Applies every embedded migration newer than the database's version, each in its own transaction.
 * *applied (may be NULL) receives how many ran. */
rf_status rf_store_migrate(rf_store *s, int *applied, rf_err *err);
/* The schema version of the database and of this binary. */
rf_status rf_store_schema_version(rf_store *s, int *db_version, int *binary_version, rf_err *err);
/* Cheap round trip to the database, for readiness checks. */
rf_status rf_store_ping(rf_store *s, rf_err *err);

/* Ends whatever a statement left open between calls (a read it did not finish), so the next call sees the
 * database as it is now. Cheap; called after every request. */
void rf_store_idle(rf_store *s);

/* Transactions: writes that must happen together run between begin and commit; rollback undoes them. */
rf_status rf_store_begin(rf_store *s, rf_err *err);
rf_status rf_store_commit(rf_store *s, rf_err *err);
void rf_store_rollback(rf_store *s);

/* What rf_store_lock locks. */
typedef enum {
	RF_LOCK_PROGRAM,
	RF_LOCK_PARTNER,
	RF_LOCK_LINK,
	RF_LOCK_LEAD,
	RF_LOCK_PLAN,
	RF_LOCK_COMMISSION,
	RF_LOCK_PAYOUT_RUN,
	RF_LOCK_USER,
	RF_LOCK_API_KEY,
	RF_LOCK_CONNECTION,
	RF_LOCK_WEBHOOK_ENDPOINT,
	RF_LOCK_DELIVERY,
	RF_LOCK_OWNERS /* every enabled owner (id is ignored): changing one must leave one */
} rf_lock_kind;

/* Locks the object (by its id) until the open transaction ends, so that what the caller reads of it next is the
 * latest committed version and no other transaction changes it meanwhile: a read-then-write check (a status, the
 * last owner, a relation's cycle) holds under PostgreSQL's READ COMMITTED. Call it before reading the object.
 * With one writer at a time (SQLite, whose write transactions hold the database's lock) there is nothing to do. An
 * object that does not exist locks nothing (the read that follows finds it missing). */
rf_status rf_store_lock(rf_store *s, rf_lock_kind kind, const char *id, rf_err *err);

/* Savepoints inside the open transaction: rf_store_rollback_to undoes what followed rf_store_savepoint of the same
 * name without ending the transaction (name is an identifier the caller writes, never text from outside). */
rf_status rf_store_savepoint(rf_store *s, const char *name, rf_err *err);
rf_status rf_store_rollback_to(rf_store *s, const char *name, rf_err *err);
rf_status rf_store_release(rf_store *s, const char *name, rf_err *err);

/* From now on, commits on this connection do not wait for the disk (SQLite: synchronous=NORMAL; PostgreSQL:
 * synchronous_commit off): a power cut may lose the last of them, never a commit of another connection that
 * returned. For work whose loss only means doing it again, such as the webhook sender's claims and outcomes (a
 * delivery is then sent again: at least once). */
rf_status rf_store_lazy_commits(rf_store *s, rf_err *err);

/* Runs fn in a transaction: committed when fn returns RF_OK, rolled back otherwise. A transaction that lost a race
 * (RF_ERETRY: a serialization failure or deadlock, in fn or at its commit) is run again, up to five times after a
 * short random pause, so fn must do nothing outside the database that it cannot do twice. For the jobs and the
 * command line; the API's routes are run in transactions by the router. */
rf_status rf_store_tx(rf_store *s, rf_status (*fn)(rf_store *s, void *arg, rf_err *err), void *arg, rf_err *err);

/* Readies the connection for long runs of small writes, each behind a savepoint (imports): where a savepoint keeps
 * what it would undo in a file (SQLite's statement journals), it keeps it in memory. Call it outside a
 * transaction; it lasts as long as the connection. */
rf_status rf_store_bulk_writes(rf_store *s, rf_err *err);

/* True when no program and no user exists yet (a fresh database, before demo data). */
rf_status rf_store_is_empty(rf_store *s, bool *empty, rf_err *err);

typedef struct {
	int limit;                  /* 1..100 */
	const char *starting_after; /* id of the last item of the previous page, or NULL */
	/* A page a client walks (the API's lists): where transactions commit out of the order their rows were made
	 * in (PostgreSQL), it holds only rows no transaction still running can come before, so that paging neither
	 * skips nor repeats a row (docs/ARCHITECTURE.md, "Lists and cursors"). */
	bool settled;
} rf_page;

/* Programs. */
rf_status rf_store_program_insert(rf_store *s, const rf_program *p, rf_err *err);
rf_status rf_store_program_update(rf_store *s, const rf_program *p, rf_err *err);
rf_status rf_store_program_get(rf_store *s, const char *id, rf_program *out, rf_arena *a, rf_err *err);
/* Newest first. only_id restricts the list to one program (for partner users), NULL for all. */
rf_status rf_store_program_list(rf_store *s, const rf_page *page, const char *only_id, rf_program **items, size_t *n,
				bool *has_more, rf_arena *a, rf_err *err);

typedef struct {
	rf_page page;
	const char *program_id; /* filters; NULL for any */
	const char *status;
	const char *kind;
	const char *team_parent_id;
	const char *recruited_by_id;
	const char *plan_id;  /* partners assigned this plan (not those on the program's default) */
	const char *q;        /* search text: ranked by how well name or email match */
	const char *scope_id; /* restrict to this partner and the agents of its team; NULL for all */
} rf_partner_filter;

/* Partners. Insert needs p->recruitment_code (rf_recruit_code_generate; RF_EINVAL without one) and fails with
 * RF_ECONFLICT on field "email" when the email is taken in the program, or on field "recruitment_code" when the
 * code is. Update leaves the recruitment code as it is: it never changes. */
rf_status rf_store_partner_insert(rf_store *s, const rf_partner *p, rf_err *err);
rf_status rf_store_partner_update(rf_store *s, const rf_partner *p, rf_err *err);
rf_status rf_store_partner_get(rf_store *s, const char *id, rf_partner *out, rf_arena *a, rf_err *err);
/* The partner whose recruitment code is code (in its stored form, rf_recruit_code_normalize); RF_ENOTFOUND when
 * none. */
rf_status rf_store_partner_by_recruitment_code(rf_store *s, const char *code, rf_partner *out, rf_arena *a,
					       rf_err *err);
/* The partner of the program with this email (normalised); RF_ENOTFOUND when none. */
rf_status rf_store_partner_by_email(rf_store *s, const char *program_id, const char *email, rf_partner *out,
				    rf_arena *a, rf_err *err);
/* The ids partners had in another referral tool, by program (imports): put records ref for partner_id (RF_ECONFLICT
 * on "ref" when the program has it already); get gives the partner (*partner_id in the arena) or RF_ENOTFOUND. */
rf_status rf_store_partner_ref_put(rf_store *s, const char *program_id, const char *ref, const char *partner_id,
				   int64_t at, rf_err *err);
rf_status rf_store_partner_ref_get(rf_store *s, const char *program_id, const char *ref, char **partner_id, rf_arena *a,
				   rf_err *err);
/* An import of the API (POST /api/v1/imports) and its report, the import object as JSON text: put writes it, as a
 * new import or over the one with the same id (its status, report and updated_at; program, creator and creation
 * time stay); get reads it (strings in the arena) or RF_ENOTFOUND. */
typedef struct {
	char *id, *program_id, *status, *report, *created_by;
	int64_t created_at, updated_at;
} rf_import_record;
rf_status rf_store_import_put(rf_store *s, const rf_import_record *r, rf_err *err);
rf_status rf_store_import_get(rf_store *s, const char *id, rf_import_record *out, rf_arena *a, rf_err *err);
/* The imports newest first (by their start, then their id), page by page; RF_EINVAL on "starting_after" when the
 * cursor names no import. */
rf_status rf_store_import_list(rf_store *s, const rf_page *page, rf_import_record **items, size_t *n, bool *has_more,
			       rf_arena *a, rf_err *err);
/* At most limit imports still "running" whose record was last written before updated_before, oldest first. */
rf_status rf_store_import_stale(rf_store *s, int64_t updated_before, int limit, rf_import_record **items, size_t *n,
				rf_arena *a, rf_err *err);
/* Writes r's status, report and updated_at over its import only while that one is still "running" and was last
 * written at was_updated_at (its importer has not written it since); RF_ECONFLICT otherwise. */
rf_status rf_store_import_settle(rf_store *s, const rf_import_record *r, int64_t was_updated_at, rf_err *err);
/* Lists newest first, or by rank when f->q is set. */
rf_status rf_store_partner_list(rf_store *s, const rf_partner_filter *f, rf_partner **items, size_t *n, bool *has_more,
				rf_arena *a, rf_err *err);
/* The parent of id along "team_parent_id" or "recruited_by_id"; *parent is NULL when none. */
rf_status rf_store_partner_parent(rf_store *s, const char *relation, const char *id, char **parent, rf_arena *a,
				  rf_err *err);

/* Users. Insert fails with RF_ECONFLICT on "email" when taken. */
rf_status rf_store_user_insert(rf_store *s, const rf_user *u, rf_err *err);
rf_status rf_store_user_update(rf_store *s, const rf_user *u, rf_err *err);
rf_status rf_store_user_get(rf_store *s, const char *id, rf_user *out, rf_arena *a, rf_err *err);
rf_status rf_store_user_get_by_email(rf_store *s, const char *email, rf_user *out, rf_arena *a, rf_err *err);
/* How many enabled users have the owner role. */
rf_status rf_store_user_count_owners(rf_store *s, int64_t *count, rf_err *err);
rf_status rf_store_user_list(rf_store *s, const rf_page *page, rf_user **items, size_t *n, bool *has_more, rf_arena *a,
			     rf_err *err);

/* API keys, found by the hash of the presented key. */
rf_status rf_store_apikey_insert(rf_store *s, const rf_apikey *k, rf_err *err);
rf_status rf_store_apikey_get(rf_store *s, const char *id, rf_apikey *out, rf_arena *a, rf_err *err);
rf_status rf_store_apikey_get_by_hash(rf_store *s, const char *hash, rf_apikey *out, rf_arena *a, rf_err *err);
rf_status rf_store_apikey_list(rf_store *s, const rf_page *page, rf_apikey **items, size_t *n, bool *has_more,
			       rf_arena *a, rf_err *err);
rf_status rf_store_apikey_revoke(rf_store *s, const char *id, int64_t at, rf_err *err);
rf_status rf_store_apikey_touch(rf_store *s, const char *id, int64_t at, rf_err *err);

/* Sessions, found by the hash of the cookie's token. */
rf_status rf_store_session_insert(rf_store *s, const rf_session *ss, rf_err *err);
rf_status rf_store_session_get(rf_store *s, const char *hash, rf_session *out, rf_arena *a, rf_err *err);
rf_status rf_store_session_delete(rf_store *s, const char *hash, rf_err *err);
/* Ends every session of a user (password change, user disabled). */
rf_status rf_store_session_delete_user(rf_store *s, const char *user_id, rf_err *err);

/* Failed logins, for rate limiting: key is an email or a keyed hash of an address. */
rf_status rf_store_login_failure_add(rf_store *s, const char *key, int64_t at, rf_err *err);
rf_status rf_store_login_failure_count(rf_store *s, const char *key, int64_t since, int64_t *count, rf_err *err);
rf_status rf_store_login_failure_clear(rf_store *s, const char *key, rf_err *err);

/* The audit trail: who did what to which object. detail is JSON object text or NULL. */
rf_status rf_store_audit_add(rf_store *s, const char *actor, const char *action, const char *object_id,
			     const char *detail, int64_t at, rf_err *err);

/* Links. Insert fails with RF_ECONFLICT on "code" when the code is taken (without regard to case), insert and
 * update on "coupon" when another link of the program has the coupon (without regard to case). */
rf_status rf_store_link_insert(rf_store *s, const rf_link *l, const char *code_folded, rf_err *err);
rf_status rf_store_link_update(rf_store *s, const rf_link *l, rf_err *err);
rf_status rf_store_link_get(rf_store *s, const char *id, rf_link *out, rf_arena *a, rf_err *err);

typedef struct {
	rf_page page;
	const char *program_id;
	const char *partner_id;
	const char *campaign;
	const char *scope_id; /* restrict to this partner and its team's agents */
	bool include_archived;
} rf_link_filter;

rf_status rf_store_link_list(rf_store *s, const rf_link_filter *f, rf_link **items, size_t *n, bool *has_more,
			     rf_arena *a, rf_err *err);

/* Calls fn for every live link with what the redirect needs (strings valid only during the call). */
rf_status rf_store_code_table_load(rf_store *s, void (*fn)(const rf_code_entry *e, void *arg), void *arg, rf_err *err);
/* The live link of a code (folded to lower case), as the code table holds it, read from the database (strings in
 * the arena); RF_ENOTFOUND when no live link has it. */
rf_status rf_store_code_find(rf_store *s, const char *code_folded, rf_code_entry *out, rf_arena *a, rf_err *err);
/* The live link of the program whose coupon is coupon (letter case ignored), as a code table entry (credited: its
 * partner is active); RF_ENOTFOUND when no live link of the program has it. */
rf_status rf_store_coupon_find(rf_store *s, const char *program_id, const char *coupon, rf_code_entry *out, rf_arena *a,
			       rf_err *err);
/* The fallback URL of the oldest program that has one, or NULL (arena). */
rf_status rf_store_default_fallback(rf_store *s, char **url, rf_arena *a, rf_err *err);
/* A counter bumped by every change the code table depends on (links, partner status, programs). Where the database
 * carries notices between processes (PostgreSQL), the bump also announces the change, when its transaction
 * commits. */
rf_status rf_store_links_version(rf_store *s, int64_t *version, rf_err *err);
rf_status rf_store_links_version_bump(rf_store *s, rf_err *err);
/* True when link changes are announced (rf_store_links_wait hears them); false for SQLite, whose processes poll
 * rf_store_links_version. */
bool rf_store_links_announced(rf_store *s);
/* Waits up to timeout_ms for an announced link change: 1 when one came, 0 when none, -1 when the database could
 * not be asked (changes may then have been missed: read the version). Uses the connection for nothing else. */
int rf_store_links_wait(rf_store *s, int timeout_ms);

/* Clicks: written in groups inside one transaction by the click writer (see the click log below). */
rf_status rf_store_click_insert(rf_store *s, const rf_click *c, rf_err *err);
/* Inserts n clicks, many rows per statement; on failure the caller rolls back its transaction, as some rows may
 * be in. */
rf_status rf_store_clicks_insert(rf_store *s, const rf_click *const *clicks, size_t n, rf_err *err);

/* The click log: clicks appended in groups by one writer thread on a connection of its own, each group with its
 * rollups, and made durable apart from the commit where the database allows it (the backend owns how a commit
 * becomes durable cheaply). The writer: begin, rf_store_clicks_insert and rf_store_rollup_add on
 * rf_click_log_store, commit; once rf_click_log_flush returns, every group committed before it began is durable
 * and its clicks may be acknowledged. rf_click_log_flush may run on another thread while the writer fills the next
 * group; rf_click_log_maintain runs on a third, now and then. */
typedef struct rf_click_log rf_click_log;
rf_status rf_click_log_open(const char *location, rf_click_log **out, rf_err *err);
void rf_click_log_close(rf_click_log *l);
/* The log's connection, for the writes of an open group. On PostgreSQL it changes at each commit (the next group is
 * filled on a second connection while the first one's commit is flushed): ask for it again for every group. */
rf_store *rf_click_log_store(rf_click_log *l);
rf_status rf_click_log_begin(rf_click_log *l, rf_err *err);
rf_status rf_click_log_commit(rf_click_log *l, rf_err *err);
void rf_click_log_rollback(rf_click_log *l);
rf_status rf_click_log_flush(rf_click_log *l, rf_err *err);
/* Between groups, on the writer's thread: housekeeping that must not wait for a commit to finish (SQLite: start
 * the WAL again from its beginning once it has grown). */
rf_status rf_click_log_settle(rf_click_log *l, rf_err *err);
/* Housekeeping beside the writer (SQLite: a passive checkpoint on a connection of its own). */
rf_status rf_click_log_maintain(rf_click_log *l, rf_err *err);
/* True while another connection waits for the lock an open group holds (databases with one writer at a time):
 * the writer then commits what it holds and waits before its next group. */
bool rf_click_log_should_yield(rf_click_log *l);
rf_status rf_store_click_get(rf_store *s, const char *id, rf_click *out, rf_arena *a, rf_err *err);
/* Counts clicks by status for a link (for tests and reports): counted, bot, repeat, uncredited. */
rf_status rf_store_click_counts(rf_store *s, const char *link_id, int64_t counts[4], rf_err *err);

/* Leads. Insert fails with RF_ECONFLICT on "email" or "external_id" when the program already has that lead. */
rf_status rf_store_lead_insert(rf_store *s, const rf_lead *l, rf_err *err);
rf_status rf_store_lead_update(rf_store *s, const rf_lead *l, rf_err *err);
rf_status rf_store_lead_get(rf_store *s, const char *id, rf_lead *out, rf_arena *a, rf_err *err);
/* The program's lead with this email (or, when email is NULL, this external id); RF_ENOTFOUND when none. */
rf_status rf_store_lead_find(rf_store *s, const char *program_id, const char *email, const char *external_id,
			     rf_lead *out, rf_arena *a, rf_err *err);

typedef struct {
	rf_page page;
	const char *program_id, *partner_id, *agent_id, *status, *source;
	int64_t created_from, created_to; /* 0 for open */
	int registration;                 /* -1 any, 0 no, 1 yes */
	const char *scope_id;             /* partner and its team: their leads only */
} rf_lead_filter;

rf_status rf_store_lead_list(rf_store *s, const rf_lead_filter *f, rf_lead **items, size_t *n, bool *has_more,
			     rf_arena *a, rf_err *err);
/* How many leads match the filter (its status and page ignored), per status: counts[i] for statuses[i]. */
rf_status rf_store_lead_counts(rf_store *s, const rf_lead_filter *f, const char *const *statuses, size_t n,
			       int64_t *counts, rf_err *err);
/* Leads of the program other than exclude_id, created since, that have this email or (when domain is not NULL)
 * an email on this domain; at most max, newest first. */
rf_status rf_store_lead_conflicts(rf_store *s, const char *program_id, const char *email, const char *domain,
				  int64_t since, const char *exclude_id, int max, rf_lead **items, size_t *n,
				  rf_arena *a, rf_err *err);
rf_status rf_store_lead_event_add(rf_store *s, const char *lead_id, const rf_lead_event *e, rf_err *err);
rf_status rf_store_lead_events(rf_store *s, const char *lead_id, rf_lead_event **items, size_t *n, rf_arena *a,
			       rf_err *err);

/* Idempotency: the stored answer to (actor, key), or RF_ENOTFOUND. */
rf_status rf_store_idem_get(rf_store *s, const char *actor, const char *key, char **route, char **request_hash,
			    int *status, char **body, rf_arena *a, rf_err *err);
rf_status rf_store_idem_put(rf_store *s, const char *actor, const char *key, const char *route,
			    const char *request_hash, int status, const char *body, int64_t at, rf_err *err);

/* Plans. Insert writes the plan and its first version (p->version, p->rules, p->valid_from); update rewrites
 * the plan's row and, when new_version, adds the version p->version. Insert and update fail with RF_ECONFLICT on
 * "default" when the program already has another default plan. */
rf_status rf_store_plan_insert(rf_store *s, const rf_plan *p, rf_err *err);
rf_status rf_store_plan_update(rf_store *s, const rf_plan *p, bool new_version, rf_err *err);
rf_status rf_store_plan_get(rf_store *s, const char *id, rf_plan *out, rf_arena *a, rf_err *err);
/* The program's default plan; RF_ENOTFOUND when it has none. */
rf_status rf_store_plan_default(rf_store *s, const char *program_id, rf_plan *out, rf_arena *a, rf_err *err);
rf_status rf_store_plan_list(rf_store *s, const rf_page *page, const char *program_id, rf_plan **items, size_t *n,
			     bool *has_more, rf_arena *a, rf_err *err);
/* The version of the plan's rules valid at `at` (the first version for earlier times). */
rf_status rf_store_plan_rules_at(rf_store *s, const char *plan_id, int64_t at, int64_t *version, char **rules,
				 rf_arena *a, rf_err *err);

/* Customers. Insert fails with RF_ECONFLICT on "customer_external_id" when the program has that external id, or on
 * "lead_id" when the lead is a customer already. */
rf_status rf_store_customer_insert(rf_store *s, const rf_customer *c, rf_err *err);
rf_status rf_store_customer_update(rf_store *s, const rf_customer *c, rf_err *err);
/* The program's customer whose `field` ("lead_id" or "external_id") is value; RF_ENOTFOUND when none. */
rf_status rf_store_customer_find(rf_store *s, const char *program_id, const char *field, const char *value,
				 rf_customer *out, rf_arena *a, rf_err *err);

/* Sales. Insert fails with RF_ECONFLICT on "external_id" when the program has that external id. */
rf_status rf_store_sale_insert(rf_store *s, const rf_sale *x, rf_err *err);
rf_status rf_store_sale_get(rf_store *s, const char *id, rf_sale *out, rf_arena *a, rf_err *err);
/* The program's sale with this external id, or (when by_charge) the one paid by this charge. */
rf_status rf_store_sale_find(rf_store *s, const char *program_id, const char *external_id, bool by_charge, rf_sale *out,
			     rf_arena *a, rf_err *err);
/* Sales still without an amount in their program's currency (no FX rate was known), oldest first (at most max). */
rf_status rf_store_sales_unconverted(rf_store *s, int max, rf_sale **items, size_t *n, rf_arena *a, rf_err *err);
/* Records the amount in the program's currency of a sale, or of a refund, once it can be converted. */
rf_status rf_store_sale_set_program_amount(rf_store *s, const char *id, int64_t amount, rf_err *err);
rf_status rf_store_refund_set_program_amount(rf_store *s, const char *id, int64_t amount, rf_err *err);
/* Records what a sale gave back so far. */
rf_status rf_store_sale_set_refunded(rf_store *s, const char *id, int64_t refunded, int64_t disputed, rf_err *err);

typedef struct {
	rf_page page;
	const char *program_id, *partner_id, *customer_id;
	const char *scope_id; /* sales credited to this partner or agent */
	int64_t from, to;     /* occurred_at range [from, to); 0 for open */
	bool oldest_first;
} rf_sale_filter;

rf_status rf_store_sale_list(rf_store *s, const rf_sale_filter *f, rf_sale **items, size_t *n, bool *has_more,
			     rf_arena *a, rf_err *err);
/* The partner's sales with occurred_at in [from, to) and at or before `upto`: their count, or (revenue) the sum
 * of their amounts in the program's currency. */
rf_status rf_store_sale_volume(rf_store *s, const char *partner_id, int64_t from, int64_t to, int64_t upto,
			       bool revenue, int64_t *out, rf_err *err);
/* How many sales the customer has at or before `at`. */
rf_status rf_store_sale_count_customer(rf_store *s, const char *customer_id, int64_t at, int64_t *out, rf_err *err);

/* Refunds and disputes. Insert fails with RF_ECONFLICT on "external_id" when the program has it (RF_ERETRY where
 * transactions write at once, see rf_store_lock's header), and with RF_ERETRY when the sale no longer has r->prior
 * given back (another refund of it committed since the caller read it). */
rf_status rf_store_refund_insert(rf_store *s, const rf_refund *r, rf_err *err);
rf_status rf_store_refund_get(rf_store *s, const char *id, rf_refund *out, rf_arena *a, rf_err *err);
/* The refunds and disputes of a sale, oldest first (at most 1,000). */
rf_status rf_store_refund_list(rf_store *s, const char *sale_id, rf_refund **items, size_t *n, rf_arena *a,
			       rf_err *err);
rf_status rf_store_refund_find(rf_store *s, const char *program_id, const char *external_id, rf_refund *out,
			       rf_arena *a, rf_err *err);
/* The program's refunds and disputes with occurred_at in [from, to), oldest first (at most max). */
rf_status rf_store_refund_range(rf_store *s, const char *program_id, int64_t from, int64_t to, int max,
				rf_refund **items, size_t *n, rf_arena *a, rf_err *err);

/* Leads of the program that became qualified (or converted without passing qualified) in [from, to), with
 * the time: lead ids in ids, times in ats (at most max). */
rf_status rf_store_lead_qualified_range(rf_store *s, const char *program_id, int64_t from, int64_t to, int max,
					char ***ids, int64_t **ats, size_t *n, rf_arena *a, rf_err *err);

/* The commission ledger. Insert also records the creation in the entry's history; it fails with RF_ECONFLICT
 * on "dedupe" when the same fact already has its entry. */
rf_status rf_store_commission_insert(rf_store *s, const rf_commission *c, const char *actor, rf_err *err);
rf_status rf_store_commission_get(rf_store *s, const char *id, rf_commission *out, rf_arena *a, rf_err *err);
/* Moves an entry to status `to` (recording from, actor, reason and time in its history). */
rf_status rf_store_commission_set_status(rf_store *s, const rf_commission *c, const char *to, const char *reason,
					 const char *actor, int64_t at, rf_err *err);
/* Fills the converted amount of an entry held for a missing FX rate, once, and returns it to `status`; RF_ECONFLICT
 * on "status" when its amount was filled already (nothing then changes). */
rf_status rf_store_commission_fill_fx(rf_store *s, const rf_commission *c, int64_t rate_ppb, bool inverse,
				      int64_t amount, const char *status, const char *actor, int64_t at, rf_err *err);
rf_status rf_store_commission_events(rf_store *s, const char *id, rf_commission_event **items, size_t *n, rf_arena *a,
				     rf_err *err);

typedef struct {
	rf_page page;
	const char *program_id, *partner_id, *sale_id, *lead_id, *status, *reverses_id, *plan_id, *role;
	const char *scope_id;         /* restrict to this partner and its team's agents */
	bool originals_only;          /* leave reversals out */
	bool fx_missing_only;         /* entries held for a missing FX rate */
	int64_t due_before;           /* pending entries whose holding period ends before this; 0 for any (the
					 holding-period job claims them with rf_store_commission_claim_due) */
	int64_t event_from, event_to; /* event time range [from, to); 0 for open */
	bool oldest_first;
} rf_commission_filter;

rf_status rf_store_commission_list(rf_store *s, const rf_commission_filter *f, rf_commission **items, size_t *n,
				   bool *has_more, rf_arena *a, rf_err *err);

/* Up to max pending entries (with an amount) whose holding period ended by now, the longest due first, locked
 * for the rest of the transaction. Where several processes share the database, entries another transaction has
 * locked are skipped, not waited for: that one is approving them. */
rf_status rf_store_commission_claim_due(rf_store *s, int64_t now, int max, rf_commission **items, size_t *n,
					rf_arena *a, rf_err *err);

typedef struct {
	char currency[4];
	int64_t pending, held, approved, paid;
} rf_balance;

/* The partner's entries summed by currency and status (rejected entries and entries without an amount left
 * out); at most max currencies. */
rf_status rf_store_commission_balance(rf_store *s, const char *partner_id, rf_balance *out, size_t max, size_t *n,
				      rf_err *err);

/* FX rates: one unit of base is worth rate_ppb / 1e9 units of quote from valid_from on. Put replaces the rate of
 * the same pair and time. */
rf_status rf_store_fx_put(rf_store *s, const rf_fx_rate *r, rf_err *err);
/* The rate of the pair valid at `at` (the latest valid_from at or before it); RF_ENOTFOUND when none. */
rf_status rf_store_fx_at(rf_store *s, const char *base, const char *quote, int64_t at, rf_fx_rate *out, rf_err *err);
rf_status rf_store_fx_list(rf_store *s, const char *base, const char *quote, int limit, rf_fx_rate **items, size_t *n,
			   bool *has_more, rf_arena *a, rf_err *err);

/* Stripe events already handled: add fails with RF_ECONFLICT on "event_id" for a replay; get finds one. */
rf_status rf_store_stripe_event_add(rf_store *s, const char *program_id, const char *event_id, const char *type,
				    const char *outcome, const char *object_id, int64_t at, rf_err *err);
rf_status rf_store_stripe_event_get(rf_store *s, const char *program_id, const char *event_id, char **outcome,
				    char **object_id, rf_arena *a, rf_err *err);

/* Payouts. Groups: the program's approved entries with an event at or before cutoff that no approved run holds,
 * summed per partner and currency (at most max groups). */
rf_status rf_store_payout_groups(rf_store *s, const char *program_id, int64_t cutoff, int max, rf_payout_group **items,
				 size_t *n, rf_arena *a, rf_err *err);
rf_status rf_store_payout_run_insert(rf_store *s, const rf_payout_run *r, rf_err *err);
rf_status rf_store_payout_run_update(rf_store *s, const rf_payout_run *r, rf_err *err);
rf_status rf_store_payout_run_get(rf_store *s, const char *id, rf_payout_run *out, rf_arena *a, rf_err *err);
rf_status rf_store_payout_run_list(rf_store *s, const rf_page *page, const char *program_id, rf_payout_run **items,
				   size_t *n, bool *has_more, rf_arena *a, rf_err *err);
/* Inserts the item and ties to it the entries of its group (same filter as the groups, for its partner and
 * currency, up to the run's cutoff). */
rf_status rf_store_payout_item_insert(rf_store *s, const rf_payout_item *it, const char *program_id, int64_t cutoff,
				      rf_err *err);
rf_status rf_store_payout_item_update(rf_store *s, const rf_payout_item *it, rf_err *err);
rf_status rf_store_payout_item_get(rf_store *s, const char *id, rf_payout_item *out, rf_arena *a, rf_err *err);
/* The run's items (at most max), or a partner's paid items paid in [from, to) when run_id is NULL. */
rf_status rf_store_payout_items(rf_store *s, const char *run_id, const char *partner_id, int64_t from, int64_t to,
				int max, rf_payout_item **items, size_t *n, rf_arena *a, rf_err *err);
/* Paid items of the program paid in [from, to), grouped by partner (in the order of their ids), each partner's
 * oldest first (at most max). */
rf_status rf_store_payout_paid_range(rf_store *s, const char *program_id, int64_t from, int64_t to, int max,
				     rf_payout_item **items, size_t *n, rf_arena *a, rf_err *err);
/* Locks the pending items' entries to the run: RF_ECONFLICT on "status" when another run holds one of them or
 * one is no longer approved (nothing is then locked). */
rf_status rf_store_payout_lock(rf_store *s, const char *run_id, rf_err *err);
/* Releases an item's entries (a failed payment): they return to the partner's balance. */
rf_status rf_store_payout_unlock_item(rf_store *s, const char *item_id, rf_err *err);
/* The entries an item pays (at most max). */
rf_status rf_store_payout_item_entries(rf_store *s, const char *item_id, int max, rf_commission **items, size_t *n,
				       rf_arena *a, rf_err *err);
typedef struct {
	char currency[4];
	int64_t earned;   /* counted entries (not rejected, converted) */
	int64_t paid_out; /* paid payout items */
} rf_totals;

/* Per currency: the sum of the partner's counted entries with an event before `before`, and of its payouts paid
 * before it (at most max currencies). */
rf_status rf_store_partner_totals_before(rf_store *s, const char *partner_id, int64_t before, rf_totals *out,
					 size_t max, size_t *n, rf_err *err);
/* Per currency: the partner's entries not yet in an approved run, pending or approved (not held), whose holding
 * period ends by `by`. */
rf_status rf_store_payout_due_by(rf_store *s, const char *partner_id, int64_t by, rf_balance *out, size_t max,
				 size_t *n, rf_err *err);

/* Rollups (kept up to date on write; see migrations/0005_rollups.sql). Adds m at day(at) to the running totals
 * of each entity ("p:ptn_…", "a:ptn_…", "t:ptn_…") and to the day's figures of each dim ("all", "s:…", "c:…"),
 * for currency ("" for counts and revenue in the program's currency, else a commission currency). */
rf_status rf_store_rollup_add(rf_store *s, const char *program_id, int64_t at, const char *currency,
			      const char *const *entities, size_t ne, const char *const *dims, size_t nd,
			      const rf_metrics *m, rf_err *err);

/* One part of many rf_store_rollup_add calls folded together (an import's transaction): m added to an entity's
 * running totals from day(at) on, or to a dim's figures of day(at). */
typedef struct {
	const char *entity; /* "p:…", "a:…" or "t:…"; NULL for a dim: */
	const char *dim;    /* "all", "s:…" or "c:…" */
	const char *currency;
	int64_t at;
	rf_metrics m;
} rf_rollup_part;
/* What those calls would have written, with one update per entity, dim and day rather than one per call: volume
 * added once to the program's volume, then each part. Additions only (RF_EINVAL for a figure below zero). */
rf_status rf_store_rollup_apply(rf_store *s, const char *program_id, const rf_metrics *volume,
				const rf_rollup_part *parts, size_t n, rf_err *err);

typedef struct {
	char *entity;
	char currency[4];
} rf_rollup_key;

/* The entities with rollups whose key starts with prefix ("p:", "a:" or "t:"), with their currencies. */
rf_status rf_store_rollup_keys(rf_store *s, const char *program_id, const char *prefix, rf_rollup_key **items,
			       size_t *n, rf_arena *a, rf_err *err);
/* Calls fn with what each entity whose key starts with prefix did in [from_day, to_day): its running total at
 * the end minus the one at the start, for the entities that changed in the period. */
rf_status
rf_store_rollup_period(rf_store *s, const char *program_id, const char *prefix, int64_t from_day, int64_t to_day,
		       void (*fn)(const char *entity, const char *currency, const rf_metrics *delta, void *arg),
		       void *arg, rf_err *err);
/* Calls fn with what one entity did on each day of [from_day, to_day) it had activity on (the difference between
 * its consecutive running totals). */
rf_status rf_store_rollup_entity_days(rf_store *s, const char *program_id, const char *entity, const char *currency,
				      int64_t from_day, int64_t to_day,
				      void (*fn)(const char *dim, const char *currency, int64_t day,
						 const rf_metrics *m, void *arg),
				      void *arg, rf_err *err);
/* The running totals of an entity before day `day` (all zero when it had none). */
rf_status rf_store_rollup_total_before(rf_store *s, const char *program_id, const char *entity, const char *currency,
				       int64_t day, rf_metrics *out, rf_err *err);
/* Calls fn for each daily row of the dims starting with prefix (an exact dim such as "all" matches itself),
 * days in [from_day, to_day). */
rf_status
rf_store_rollup_daily(rf_store *s, const char *program_id, const char *prefix, int64_t from_day, int64_t to_day,
		      void (*fn)(const char *dim, const char *currency, int64_t day, const rf_metrics *m, void *arg),
		      void *arg, rf_err *err);
/* Leads of the program converted in [from, to): how many, and the mean and median time to conversion (ms). */
rf_status rf_store_conversion_stats(rf_store *s, const char *program_id, int64_t from, int64_t to, int64_t *count,
				    int64_t *mean_ms, int64_t *median_ms, rf_err *err);
/* Rebuilds every rollup from the raw tables (after a bulk load, or to repair). */
rf_status rf_store_rollup_rebuild(rf_store *s, rf_err *err);
/* What a link's clicks count under: its campaign (NULL when none), its owner, the owner's kind and team parent. */
rf_status rf_store_link_rollup_info(rf_store *s, const char *link_id, char **campaign, char **owner, char **kind,
				    char **team_parent, rf_arena *a, rf_err *err);

/* Every partner of the program as (id, name), ordered by id. */
rf_status rf_store_partner_names(rf_store *s, const char *program_id, char ***ids, char ***names, size_t *n,
				 rf_arena *a, rf_err *err);

/* What waits for an admin in a program: partners applied, deal registrations pending review, commissions held. */
rf_status rf_store_queue_counts(rf_store *s, const char *program_id, int64_t counts[3], rf_err *err);

/* Benchmarks: synthetic activity for the program's active partners over `days` ending at now (a link each,
 * clicks, leads, customers, sales and commissions); rollups are left to rf_store_rollup_rebuild. SQLite only: on
 * another database RF_EINVAL on "db" (generate into SQLite and copy it with rf_store_copy). */
rf_status rf_store_bench_fill(rf_store *s, const char *program_id, long clicks, long leads, long sales, int days,
			      int64_t now, rf_err *err);

/* Password reset links: stored by the hash of their token. Take marks an unused, unexpired token used and gives
 * its user; RF_ENOTFOUND otherwise. */
rf_status rf_store_reset_insert(rf_store *s, const char *token_hash, const char *user_id, int64_t at,
				int64_t expires_at, rf_err *err);
rf_status rf_store_reset_take(rf_store *s, const char *token_hash, int64_t now, char **user_id, rf_arena *a,
			      rf_err *err);
/* How many reset links a user asked for since `since` (to rate-limit the requests). */
rf_status rf_store_reset_count(rf_store *s, const char *user_id, int64_t since, int64_t *n, rf_err *err);

/* Moving up: copies every table of from into to, which must be migrated to this binary's version and empty, with
 * ids as they are, from one snapshot of from in one transaction on to; RF_ECONFLICT on "to" when it is not empty,
 * RF_EINVAL when a schema does not match. progress (may be NULL) hears of each table's rows as they go. */
rf_status rf_store_copy(rf_store *from, rf_store *to, void (*progress)(const char *table, int64_t rows, void *arg),
			void *arg, rf_err *err);

typedef struct {
	int64_t tables, rows, partners; /* what was compared */
	char *mismatch;                 /* the first difference found (arena), or NULL when the copy is faithful */
} rf_copy_check;

/* Compares a copy with its source: the rows of every table, every partner's balance per currency and status, and
 * each program's report totals. */
rf_status rf_store_copy_verify(rf_store *from, rf_store *to, rf_copy_check *out, rf_arena *a, rf_err *err);

/* Small key/value settings kept in the database (instance secrets, flags). *value is NULL when absent. */
rf_status rf_store_setting_get(rf_store *s, const char *key, char **value, rf_arena *a, rf_err *err);
rf_status rf_store_setting_set(rf_store *s, const char *key, const char *value, rf_err *err);

/* The event log. Insert writes an event in the caller's transaction (RF_ECONFLICT on "id" when taken). */
rf_status rf_store_event_insert(rf_store *s, const rf_event *e, rf_err *err);
rf_status rf_store_event_get(rf_store *s, const char *id, rf_event *out, rf_arena *a, rf_err *err);

typedef struct {
	rf_page page;
	const char *type, *program_id, *object_id;
	const char *scope_id;             /* only events about this partner and its team's agents */
	int64_t created_from, created_to; /* [from, to); 0 for open */
	bool oldest_first;
} rf_event_filter;

rf_status rf_store_event_list(rf_store *s, const rf_event_filter *f, rf_event **items, size_t *n, bool *has_more,
			      rf_arena *a, rf_err *err);
/* Removes up to max events made before `before`, the oldest first, with the deliveries made for them and their
 * attempts; an event with a delivery still pending stays (with it). *removed says how many events went. */
rf_status rf_store_event_purge(rf_store *s, int64_t before, int max, int64_t *removed, rf_err *err);

/* Deal registrations whose protection ended in (from, to] and that have no deal.expired event yet (approved ones:
 * not waiting for review, rejected or converted), the first to end first; at most max. */
rf_status rf_store_registrations_expired(rf_store *s, int64_t from, int64_t to, int max, rf_lead **items, size_t *n,
					 rf_arena *a, rf_err *err);

/* Webhook endpoints. Enabled ones of a program (and those of every program) are the ones an event goes to. */
rf_status rf_store_webhook_endpoint_insert(rf_store *s, const rf_webhook_endpoint *w, rf_err *err);
rf_status rf_store_webhook_endpoint_update(rf_store *s, const rf_webhook_endpoint *w, rf_err *err);
rf_status rf_store_webhook_endpoint_get(rf_store *s, const char *id, rf_webhook_endpoint *out, rf_arena *a,
					rf_err *err);
rf_status rf_store_webhook_endpoint_delete(rf_store *s, const char *id, rf_err *err);
rf_status rf_store_webhook_endpoint_list(rf_store *s, const rf_page *page, rf_webhook_endpoint **items, size_t *n,
					 bool *has_more, rf_arena *a, rf_err *err);
/* The enabled endpoints an event of program_id (NULL: of no program) may go to, whatever its type (the caller
 * checks event_types). */
rf_status rf_store_webhook_endpoints_enabled(rf_store *s, const char *program_id, rf_webhook_endpoint **items,
					     size_t *n, rf_arena *a, rf_err *err);

/* Deliveries: queued in the transaction of their event, claimed by one sender at a time. */
rf_status rf_store_delivery_insert(rf_store *s, const rf_delivery *d, rf_err *err);
rf_status rf_store_delivery_get(rf_store *s, const char *id, rf_delivery *out, rf_arena *a, rf_err *err);
/* Claims up to max pending deliveries of kind that are due by now and not claimed by another sender (or whose
 * claim ran out), the longest due first, until now + lease_ms: none of them is claimed again before then. Where
 * transactions write at once, rows another transaction is claiming are passed over (FOR UPDATE SKIP LOCKED). */
rf_status rf_store_delivery_claim(rf_store *s, const char *kind, int64_t now, int64_t lease_ms, int max,
				  rf_delivery **items, size_t *n, rf_arena *a, rf_err *err);
/* Records an attempt of delivery d and its outcome: d's status, attempts, next_at, last_status_code and
 * last_error as given, its claim released. */
rf_status rf_store_delivery_attempted(rf_store *s, const rf_delivery *d, const rf_delivery_attempt *at, rf_err *err);
/* When the next pending delivery of kind that no sender holds at now is due (its next_at, which may be past), or 0
 * when none is waiting: a sender reads it, without a transaction, to sleep until then rather than claim in vain. */
rf_status rf_store_delivery_next_due(rf_store *s, const char *kind, int64_t now, int64_t *next_at, rf_err *err);
/* Cancels every pending delivery of kind to target_id (an endpoint disabled): status cancelled, reason as the
 * last error, at as the time of the change, any claim released; *cancelled (may be NULL) says how many. */
rf_status rf_store_deliveries_cancel(rf_store *s, const char *kind, const char *target_id, const char *reason,
				     int64_t at, int64_t *cancelled, rf_err *err);
/* Queues a failed delivery again, due at `at` (its attempts and their log kept, any claim released);
 * RF_ECONFLICT on "status" when it is not failed, RF_ENOTFOUND when there is no such delivery. */
rf_status rf_store_delivery_retry(rf_store *s, const char *id, int64_t at, rf_err *err);
typedef struct {
	rf_page page;
	const char *target_id, *event_id, *status;
} rf_delivery_filter;
rf_status rf_store_delivery_list(rf_store *s, const rf_delivery_filter *f, rf_delivery **items, size_t *n,
				 bool *has_more, rf_arena *a, rf_err *err);
/* A delivery's attempts, oldest first (at most 1,000). */
rf_status rf_store_delivery_attempts(rf_store *s, const char *delivery_id, rf_delivery_attempt **items, size_t *n,
				     rf_arena *a, rf_err *err);

/* Connections to other systems (one per system and program). Insert fails with RF_ECONFLICT on "system" when the
 * program has a connection to that system already. Update rewrites what may change (name, status, credentials,
 * settings, stage map, base URL, last event). Delete removes the connection with its inbound events and what refd
 * learnt from its system for its program (external objects). */
rf_status rf_store_connection_insert(rf_store *s, const rf_connection *c, rf_err *err);
rf_status rf_store_connection_update(rf_store *s, const rf_connection *c, rf_err *err);
rf_status rf_store_connection_get(rf_store *s, const char *id, rf_connection *out, rf_arena *a, rf_err *err);
/* The program's connection to system; RF_ENOTFOUND when none. */
rf_status rf_store_connection_find(rf_store *s, const char *program_id, const char *system, rf_connection *out,
				   rf_arena *a, rf_err *err);
/* Newest first; program_id NULL for every program's. */
rf_status rf_store_connection_list(rf_store *s, const rf_page *page, const char *program_id, rf_connection **items,
				   size_t *n, bool *has_more, rf_arena *a, rf_err *err);
rf_status rf_store_connection_delete(rf_store *s, const char *id, rf_err *err);

/* The inbound event log. Insert fails with RF_ECONFLICT on "dedupe_key" (RF_ERETRY where transactions write at
 * once, see rf_store_lock's header) when the connection handled an event with that key; find gives that event. */
rf_status rf_store_inbound_event_insert(rf_store *s, const rf_inbound_event *e, rf_err *err);
rf_status rf_store_inbound_event_find(rf_store *s, const char *connection_id, const char *dedupe_key,
				      rf_inbound_event *out, rf_arena *a, rf_err *err);

/* One event by its id. Settle records what handling it later came to: its outcome, reason and object (the work
 * some systems need after the answer, such as reading a record from their API). */
rf_status rf_store_inbound_event_get(rf_store *s, const char *id, rf_inbound_event *out, rf_arena *a, rf_err *err);
rf_status rf_store_inbound_event_settle(rf_store *s, const rf_inbound_event *e, rf_err *err);

typedef struct {
	rf_page page;
	const char *connection_id; /* required */
	const char *outcome;       /* NULL for any */
} rf_inbound_event_filter;

/* Newest first. */
rf_status rf_store_inbound_event_list(rf_store *s, const rf_inbound_event_filter *f, rf_inbound_event **items,
				      size_t *n, bool *has_more, rf_arena *a, rf_err *err);
/* Removes up to max inbound events received before `before`, the oldest first, with the deliveries made for them
 * (a CRM's reads) and their attempts; one with a delivery still pending stays. *removed says how many went. */
rf_status rf_store_inbound_event_purge(rf_store *s, int64_t before, int max, int64_t *removed, rf_err *err);
/* Keeps only the newest `keep` events of the connection with this outcome (refusals come from anyone who knows
 * the URL, so their number is bounded). */
rf_status rf_store_inbound_event_trim(rf_store *s, const char *connection_id, const char *outcome, int keep,
				      rf_err *err);

/* What refd learnt of another system's objects, per program and system: put records (or replaces) the value and
 * version of (kind, external_id); get gives them (either pointer may be NULL), RF_ENOTFOUND when unknown. */
rf_status rf_store_external_object_put(rf_store *s, const char *program_id, const char *system, const char *kind,
				       const char *external_id, const char *value, int64_t version, int64_t at,
				       rf_err *err);
rf_status rf_store_external_object_get(rf_store *s, const char *program_id, const char *system, const char *kind,
				       const char *external_id, char **value, int64_t *version, rf_arena *a,
				       rf_err *err);
/* Mail (migration 0016). A message is inserted in the transaction of its cause, with its delivery (kind "mail",
 * target_id the message's id) inserted by rf_store_delivery_insert; insert fails with RF_ECONFLICT on "id" when the
 * id is taken. Get and list read each message with the state of its delivery. */
rf_status rf_store_mail_message_insert(rf_store *s, const rf_mail_message *m, rf_err *err);
rf_status rf_store_mail_message_get(rf_store *s, const char *id, rf_mail_message *out, rf_arena *a, rf_err *err);
typedef struct {
	rf_page page;
	const char *status;    /* of the delivery: pending | delivered | failed; NULL for any */
	const char *category;  /* NULL for any */
	const char *recipient; /* the address, exactly; NULL for any */
} rf_mail_filter;
/* Newest first. */
rf_status rf_store_mail_message_list(rf_store *s, const rf_mail_filter *f, rf_mail_message **items, size_t *n,
				     bool *has_more, rf_arena *a, rf_err *err);
/* Records the end of a message's sending: sent_at (when delivered is true) and, for a sealed message, the bodies and
 * link emptied, as nothing needs them any more. RF_ENOTFOUND when there is no such message. */
rf_status rf_store_mail_message_finish(rf_store *s, const char *id, bool delivered, int64_t at, rf_err *err);
/* How many mail deliveries are pending, delivered and failed (in that order). */
rf_status rf_store_mail_queue_counts(rf_store *s, int64_t counts[3], rf_err *err);
/* Removes up to max messages made before `before`, the oldest first, with their deliveries and attempts;
 * *removed says how many went. */
rf_status rf_store_mail_purge(rf_store *s, int64_t before, int max, int64_t *removed, rf_err *err);

/* Who does not want which kind of optional mail. Set turns a kind off for subject_id (a partner's or a user's id),
 * recording how (via: "settings" or "unsubscribe"; turning off what is off already keeps the first record), or on
 * again (off false; nothing to do when it is on). */
rf_status rf_store_mail_optout_set(rf_store *s, const char *subject_id, const char *category, bool off, const char *via,
				   int64_t at, rf_err *err);
/* The kinds subject_id turned off (at most 32), in name order. */
rf_status rf_store_mail_optouts(rf_store *s, const char *subject_id, char ***categories, size_t *n, rf_arena *a,
				rf_err *err);

/* Mail sent once for something (a digest, a reminder), by key: takes the key for mark when it was never taken or
 * last taken for a smaller mark, recording covered_until; *claimed says whether this call took it (false: taken for
 * mark or a later one already, by this or another process), *prev_covered (may be NULL) the covered_until of the
 * time before (0 when none). */
rf_status rf_store_mail_run_claim(rf_store *s, const char *key, int64_t mark, int64_t covered_until, int64_t at,
				  bool *claimed, int64_t *prev_covered, rf_err *err);
/* Active partners whose key "commissions_digest:<id>" was not taken for mark or later and that have commissions made
 * in (from, to], from being the later of their last digest's covered_until and floor; at most max, in the order
 * they were made. */
rf_status rf_store_mail_digest_partners(rf_store *s, int64_t mark, int64_t floor, int64_t to, int max, char ***ids,
					size_t *n, rf_arena *a, rf_err *err);
/* A partner's commissions made in (from, to], the oldest first (at most max; *has_more when there are more). */
rf_status rf_store_commissions_created(rf_store *s, const char *partner_id, int64_t from, int64_t to, int max,
				       rf_commission **items, size_t *n, bool *has_more, rf_arena *a, rf_err *err);
/* Approved deal registrations still open (not converted, lost or rejected) whose protection ends in (from, to] and
 * that have no reminder for that end yet (key "deal_reminder:<id>" taken for it), the first to end first; at most
 * max. */
rf_status rf_store_registrations_expiring(rf_store *s, int64_t from, int64_t to, int max, rf_lead **items, size_t *n,
					  rf_arena *a, rf_err *err);

#endif
