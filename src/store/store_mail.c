/* SPDX-License-Identifier: Apache-2.0 */
/* Mail: the outbox of messages (each sent through a delivery of kind "mail"), the kinds of mail each person turned
 * off, and the keys that make a digest or a reminder go out once. */
#include <stdio.h>
#include <string.h>

#include "store_internal.h"

#define MAIL_COLS                                                                                                   \
	"m.id, m.category, m.recipient, m.recipient_name, m.user_id, m.partner_id, m.program_id, m.event_id, "      \
	"m.message_id, m.subject, m.text_body, m.html_body, m.link, m.headers, m.sealed, m.created_at, m.sent_at, " \
	"d.id, d.status, d.attempts, d.next_at, d.last_status_code, d.last_error"

#define MAIL_FROM " FROM mail_messages m LEFT JOIN deliveries d ON d.kind = 'mail' AND d.target_id = m.id"

static void mail_fill(rf_db_stmt *st, void *item, rf_arena *a)
{
	rf_mail_message *m = item;
	memset(m, 0, sizeof *m);
	m->id = rf_q_text(st, 0, a);
	m->category = rf_q_text(st, 1, a);
	m->recipient = rf_q_text(st, 2, a);
	m->recipient_name = rf_q_text(st, 3, a);
	m->user_id = rf_q_text(st, 4, a);
	m->partner_id = rf_q_text(st, 5, a);
	m->program_id = rf_q_text(st, 6, a);
	m->event_id = rf_q_text(st, 7, a);
	m->message_id = rf_q_text(st, 8, a);
	m->subject = rf_q_text(st, 9, a);
	m->text_body = rf_q_text(st, 10, a);
	m->html_body = rf_q_text(st, 11, a);
	m->link = rf_q_text(st, 12, a);
	m->headers = rf_q_text(st, 13, a);
	m->sealed = rf_db_col_int(st, 14) != 0;
	m->created_at = rf_db_col_int(st, 15);
	m->sent_at = rf_db_col_int(st, 16);
	m->delivery_id = rf_q_text(st, 17, a);
	m->status = rf_q_text(st, 18, a);
	m->attempts = (int)rf_db_col_int(st, 19);
	m->next_at = rf_db_col_int(st, 20);
	m->has_status_code = rf_db_col_type(st, 21) != RF_DB_T_NULL;
	m->last_status_code = (int)rf_db_col_int(st, 21);
	m->last_error = rf_q_text(st, 22, a);
}

rf_status rf_store_mail_message_insert(rf_store *s, const rf_mail_message *m, rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(s,
				   "INSERT INTO mail_messages (id, category, recipient, recipient_name, user_id, "
				   "partner_id, program_id, event_id, message_id, subject, text_body, html_body, link, "
				   "headers, sealed, created_at, sent_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
				   "?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
				   err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, m->id);
	rf_db_bind_text(st, 2, m->category);
	rf_db_bind_text(st, 3, m->recipient);
	rf_db_bind_text(st, 4, m->recipient_name);
	rf_db_bind_text(st, 5, m->user_id);
	rf_db_bind_text(st, 6, m->partner_id);
	rf_db_bind_text(st, 7, m->program_id);
	rf_db_bind_text(st, 8, m->event_id);
	rf_db_bind_text(st, 9, m->message_id);
	rf_db_bind_text(st, 10, m->subject);
	rf_db_bind_text(st, 11, m->text_body ? m->text_body : "");
	rf_db_bind_text(st, 12, m->html_body ? m->html_body : "");
	rf_db_bind_text(st, 13, m->link);
	rf_db_bind_text(st, 14, m->headers ? m->headers : "{}");
	rf_db_bind_int(st, 15, m->sealed ? 1 : 0);
	rf_db_bind_int(st, 16, m->created_at);
	rf_db_bind_int(st, 17, m->sent_at);
	return rf_q_done(s, st, "id", err);
}

rf_status rf_store_mail_message_get(rf_store *s, const char *id, rf_mail_message *out, rf_arena *a, rf_err *err)
{
	return rf_q_get_one(s, "SELECT " MAIL_COLS MAIL_FROM " WHERE m.id = ?", id, mail_fill, out, a, "mail message",
			    err);
}

rf_status rf_store_mail_message_list(rf_store *s, const rf_mail_filter *f, rf_mail_message **items, size_t *n,
				     bool *has_more, rf_arena *a, rf_err *err)
{
	int64_t after = INT64_MAX;
	if (f->page.starting_after && rf_q_cursor_seq(s, "mail_messages", f->page.starting_after, &after, err) != RF_OK)
		return err->status;
	rf_q_keyset k;
	rf_q_keyset_sql(s, "mail_messages", "m", false, f->page.settled, &k);
	char sql[3072];
	snprintf(sql, sizeof sql,
		 "SELECT " MAIL_COLS MAIL_FROM " WHERE %s AND (CAST(?2 AS TEXT) IS NULL OR d.status = ?2) AND "
		 "(CAST(?3 AS TEXT) IS NULL OR m.category = ?3) AND (CAST(?4 AS TEXT) IS NULL OR m.recipient = ?4) "
		 "ORDER BY %s LIMIT ?5",
		 k.cond, k.order);
	rf_db_stmt *st = rf_q_prep(s, sql, err);
	if (!st)
		return RF_EIO;
	rf_db_bind_int(st, 1, after);
	rf_db_bind_text(st, 2, f->status);
	rf_db_bind_text(st, 3, f->category);
	rf_db_bind_text(st, 4, f->recipient);
	rf_db_bind_int(st, 5, f->page.limit + 1);
	return rf_q_collect(s, st, f->page.limit, sizeof(rf_mail_message), mail_fill, (void **)items, n, has_more, a,
			    err);
}

rf_status rf_store_mail_message_finish(rf_store *s, const char *id, bool delivered, int64_t at, rf_err *err)
{
	/* A sealed message's bodies hold a secret (a password reset's link) that nobody needs once it went out. */
	rf_db_stmt *st = rf_q_prep(s,
				   "UPDATE mail_messages SET sent_at = CASE WHEN ?2 = 1 THEN ?3 ELSE sent_at END, "
				   "text_body = CASE WHEN sealed = 1 THEN '' ELSE text_body END, html_body = CASE WHEN "
				   "sealed = 1 THEN '' ELSE html_body END, link = CASE WHEN sealed = 1 THEN NULL ELSE "
				   "link END WHERE id = ?1",
				   err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, id);
	rf_db_bind_int(st, 2, delivered ? 1 : 0);
	rf_db_bind_int(st, 3, at);
	if (rf_q_done(s, st, NULL, err) != RF_OK)
		return err->status;
	if (rf_db_changes(s->db) == 0)
		return rf_err_set(err, RF_ENOTFOUND, NULL, "no such mail message %s", id);
	return RF_OK;
}

rf_status rf_store_mail_queue_counts(rf_store *s, int64_t counts[3], rf_err *err)
{
	rf_db_stmt *st =
	    rf_q_prep(s,
		      "SELECT (SELECT count(*) FROM deliveries WHERE kind = 'mail' AND status = 'pending'), "
		      "(SELECT count(*) FROM deliveries WHERE kind = 'mail' AND status = 'delivered'), "
		      "(SELECT count(*) FROM deliveries WHERE kind = 'mail' AND status = 'failed')",
		      err);
	if (!st)
		return RF_EIO;
	int rc = rf_db_step(st);
	for (int i = 0; i < 3; i++)
		counts[i] = rc == RF_DB_ROW ? rf_db_col_int(st, i) : 0;
	rf_db_reset(st);
	return rc == RF_DB_ROW ? RF_OK : rf_q_fail(s, err, "counting mail");
}

static void id_fill(rf_db_stmt *st, void *item, rf_arena *a)
{
	*(char **)item = rf_q_text(st, 0, a);
}

static rf_status delete_by(rf_store *s, const char *sql, const char *id, rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(s, sql, err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, id);
	return rf_q_done(s, st, NULL, err);
}

rf_status rf_store_mail_purge(rf_store *s, int64_t before, int max, int64_t *removed, rf_err *err)
{
	*removed = 0;
	rf_arena a;
	rf_arena_init(&a, 0);
	rf_db_stmt *st =
	    rf_q_prep(s, "SELECT id FROM mail_messages WHERE created_at < ?1 ORDER BY created_at, seq LIMIT ?2", err);
	rf_status rc = st ? RF_OK : RF_EIO;
	char **ids = NULL;
	size_t n = 0;
	bool more = false;
	if (rc == RF_OK) {
		rf_db_bind_int(st, 1, before);
		rf_db_bind_int(st, 2, max + 1);
		rc = rf_q_collect(s, st, max, sizeof(char *), id_fill, (void **)&ids, &n, &more, &a, err);
	}
	for (size_t i = 0; rc == RF_OK && i < n; i++) {
		rc = delete_by(s,
			       "DELETE FROM delivery_attempts WHERE delivery_id IN (SELECT id FROM deliveries WHERE "
			       "kind = 'mail' AND target_id = ?1)",
			       ids[i], err);
		if (rc == RF_OK)
			rc = delete_by(s, "DELETE FROM deliveries WHERE kind = 'mail' AND target_id = ?1", ids[i], err);
		if (rc == RF_OK)
			rc = delete_by(s, "DELETE FROM mail_messages WHERE id = ?1", ids[i], err);
		if (rc == RF_OK)
			(*removed)++;
	}
	rf_arena_reset(&a);
	return rc;
}

/* ---- what each person turned off ---- */

rf_status rf_store_mail_optout_set(rf_store *s, const char *subject_id, const char *category, bool off, const char *via,
				   int64_t at, rf_err *err)
{
	rf_db_stmt *st = rf_q_prep(s,
				   off ? "INSERT INTO mail_optouts (subject_id, category, via, created_at) VALUES (?1, "
					 "?2, ?3, ?4) ON CONFLICT (subject_id, category) DO NOTHING"
				       : "DELETE FROM mail_optouts WHERE subject_id = ?1 AND category = ?2",
				   err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, subject_id);
	rf_db_bind_text(st, 2, category);
	if (off) {
		rf_db_bind_text(st, 3, via);
		rf_db_bind_int(st, 4, at);
	}
	return rf_q_done(s, st, NULL, err);
}

rf_status rf_store_mail_optouts(rf_store *s, const char *subject_id, char ***categories, size_t *n, rf_arena *a,
				rf_err *err)
{
	rf_db_stmt *st =
	    rf_q_prep(s, "SELECT category FROM mail_optouts WHERE subject_id = ?1 ORDER BY category LIMIT 33", err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, subject_id);
	bool more = false;
	return rf_q_collect(s, st, 32, sizeof(char *), id_fill, (void **)categories, n, &more, a, err);
}

/* ---- digests and reminders, once each ---- */

rf_status rf_store_mail_run_claim(rf_store *s, const char *key, int64_t mark, int64_t covered_until, int64_t at,
				  bool *claimed, int64_t *prev_covered, rf_err *err)
{
	*claimed = false;
	rf_db_stmt *st = rf_q_prep(s, "SELECT covered_until FROM mail_runs WHERE key = ?1", err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, key);
	int64_t prev = 0;
	if (rf_q_one_int(s, st, &prev, err) != RF_OK)
		return err->status;
	/* The mark moves forward only: where transactions write at once, one that took the key meanwhile makes this
	 * insert wait for it and then change nothing. */
	st = rf_q_prep(s,
		       "INSERT INTO mail_runs (key, mark, covered_until, updated_at) VALUES (?1, ?2, ?3, ?4) ON "
		       "CONFLICT (key) DO UPDATE SET mark = excluded.mark, covered_until = excluded.covered_until, "
		       "updated_at = excluded.updated_at WHERE mail_runs.mark < excluded.mark",
		       err);
	if (!st)
		return RF_EIO;
	rf_db_bind_text(st, 1, key);
	rf_db_bind_int(st, 2, mark);
	rf_db_bind_int(st, 3, covered_until);
	rf_db_bind_int(st, 4, at);
	if (rf_q_done(s, st, NULL, err) != RF_OK)
		return err->status;
	*claimed = rf_db_changes(s->db) > 0;
	if (prev_covered)
		*prev_covered = prev;
	return RF_OK;
}

rf_status rf_store_mail_digest_partners(rf_store *s, int64_t mark, int64_t floor, int64_t to, int max, char ***ids,
					size_t *n, rf_arena *a, rf_err *err)
{
	rf_db_stmt *st =
	    rf_q_prep(s,
		      "SELECT p.id FROM partners p LEFT JOIN mail_runs r ON r.key = 'commissions_digest:' || p.id "
		      "WHERE p.status = 'active' AND (r.mark IS NULL OR r.mark < ?1) AND EXISTS (SELECT 1 FROM "
		      "commissions c WHERE c.partner_id = p.id AND c.created_at <= ?3 AND c.created_at > CASE WHEN "
		      "r.covered_until IS NULL OR r.covered_until < ?2 THEN ?2 ELSE r.covered_until END) ORDER BY "
		      "p.seq LIMIT ?4",
		      err);
	if (!st)
		return RF_EIO;
	rf_db_bind_int(st, 1, mark);
	rf_db_bind_int(st, 2, floor);
	rf_db_bind_int(st, 3, to);
	rf_db_bind_int(st, 4, max + 1);
	bool more = false;
	return rf_q_collect(s, st, max, sizeof(char *), id_fill, (void **)ids, n, &more, a, err);
}
