/* SPDX-License-Identifier: Apache-2.0 */
/* Mail to partners and admins, composed in the transaction of its cause and stored in the outbox (mail_messages,
 * with a delivery of kind "mail") for the mail sender (integrations/mail.c) to send: what each event means by mail,
 * the daily digests and deal reminders the jobs compose, password resets, the kinds of mail each person may turn
 * off, and the signed one-click unsubscribe links of RFC 8058. Composing needs the server's configuration (its
 * public address for links, the instance key for unsubscribe links and sealing): with sv->cfg NULL nothing is
 * composed. */
#ifndef RF_SVC_MAIL_H
#define RF_SVC_MAIL_H

#include "svc.h"

/* How long a password reset link works. */
#define RF_MAIL_RESET_MINUTES 60

/* A kind of mail. */
typedef struct {
	const char *name;  /* "commissions_digest" */
	const char *title; /* what it is, for people: "New commissions, once a day" */
	bool optional;     /* may be turned off; every message of it carries a one-click unsubscribe link */
	bool admin;        /* for admins; else for partners */
} rf_mail_category;

/* Every kind, ended by an entry with a NULL name. */
extern const rf_mail_category rf_mail_categories[];
/* The kind named name, or NULL. */
const rf_mail_category *rf_mail_category_find(const char *name);

/* The event log's hook (rf_svc_event calls it for every event it writes): composes the mail the event means, in the
 * event's transaction. Partners hear of their application (received, approved, rejected), their deal registrations
 * (approved, rejected) and their payouts (payout_item.paid, with what it pays and the balance after it); admins of a
 * webhook endpoint that was disabled (webhook_endpoint.disabled). Other events send nothing. */
rf_status rf_svc_mail_on_event(rf_svc *sv, const rf_event *ev, rf_err *err);

/* Composes the password reset message for user u: url is the one-time link (a secret: the message is sealed, and
 * the link goes nowhere else), valid for minutes. */
rf_status rf_svc_mail_password_reset(rf_svc *sv, const rf_user *u, const char *url, int minutes, rf_err *err);

/* Composes a test message to the address to (for user_id, may be NULL); *out (may be NULL) receives it. */
rf_status rf_svc_mail_test(rf_svc *sv, const char *to, const char *user_id, rf_mail_message *out, rf_err *err);

/* The day a digest composed at now belongs to (days from 1970-01-01): a day's digests go out from hour (UTC) on. */
int64_t rf_svc_mail_digest_day(int64_t now, int hour);

/* The jobs. The partners' daily digests of new commissions: up to max active partners that had commissions made
 * since their last digest (within the last 31 days) and no digest for today yet each get one, unless they turned
 * it off; *found says how many were looked at (fewer than max: none is left for today), *queued how many messages
 * went to the outbox. */
rf_status rf_svc_mail_partner_digests(rf_svc *sv, int64_t now, int hour, int max, int *found, int *queued, rf_err *err);
/* The admins' daily digest of what waits (applications, deal registrations to review, held commissions, failing
 * or disabled webhook endpoints): every enabled owner and admin without one for today gets it, unless nothing
 * waits or they turned it off. */
rf_status rf_svc_mail_admin_digests(rf_svc *sv, int64_t now, int hour, int *queued, rf_err *err);
/* Reminds partners of up to max approved deal registrations whose protection ends within three days, once for
 * each end of protection. */
rf_status rf_svc_mail_deal_reminders(rf_svc *sv, int64_t now, int max, int *found, int *queued, rf_err *err);
/* Removes up to max messages older than keep_days, with their deliveries. */
rf_status rf_svc_mail_purge(rf_svc *sv, int64_t now, int keep_days, int max, int64_t *removed, rf_err *err);

/* Previews: every message refd sends, by what causes it. */
typedef struct {
	const char *name;     /* "application_approved" */
	const char *category; /* its kind in rf_mail_categories: "application" */
	const char *when;     /* what makes refd send it, for people */
} rf_mail_preview_kind;

/* Every message, ended by an entry with a NULL name. */
extern const rf_mail_preview_kind rf_mail_preview_kinds[];
/* The message named name, or NULL. */
const rf_mail_preview_kind *rf_mail_preview_kind_find(const char *name);

/* Where a preview's message goes instead of the outbox (rf_svc.mail_preview). */
struct rf_mail_preview_slot {
	rf_mail_message m;
	bool filled;
};

/* Composes message kind as refd would send it now, into *out (its bodies unsealed, in sv->a), storing and sending
 * nothing. Partners' messages go to the partner partner_id of its program, or with partner_id NULL to a sample
 * partner of a sample program; the deals, commissions and payouts in them are samples. The admins' digest shows
 * what waits now (sample figures when nothing does) and goes to the admin user_id (NULL: a sample address). */
rf_status rf_svc_mail_preview(rf_svc *sv, const rf_mail_preview_kind *kind, const char *partner_id, const char *user_id,
			      rf_mail_message *out, rf_err *err);

/* Preferences. The kinds of mail that go to subject_id (a partner's id, or an admin user's when admin is true),
 * each with whether it is on: *n (at most max) entries in the order of rf_mail_categories. */
typedef struct {
	const rf_mail_category *category;
	bool enabled;
} rf_mail_pref;
rf_status rf_svc_mail_prefs(rf_svc *sv, const char *subject_id, bool admin, rf_mail_pref *out, size_t max, size_t *n,
			    rf_err *err);
/* Turns an optional kind on or off for subject_id, recording how (via: "settings" or "unsubscribe") and writing an
 * audit entry; RF_EINVAL naming the kind when it is not one subject_id gets or cannot be turned off. */
rf_status rf_svc_mail_pref_set(rf_svc *sv, const char *subject_id, bool admin, const char *category, bool enabled,
			       const char *via, rf_err *err);

/* Unsubscribe tokens: "<subject id>.<kind>.<HMAC-SHA256 of both under the instance key, hex>". */
#define RF_MAIL_TOKEN_MAX 192
void rf_svc_mail_token(const unsigned char key[32], const char *subject_id, const char *category,
		       char out[RF_MAIL_TOKEN_MAX]);
/* Checks a token in constant time; on success fills subject (a partner's or user's id) and *category.
 * RF_EINVAL naming token otherwise. */
rf_status rf_svc_mail_token_check(const unsigned char key[32], const char *token, char *subject, size_t subject_len,
				  const rf_mail_category **category, rf_err *err);

/* A sealed message's bodies and link, opened with the instance key into the arena (for the sender); a message that
 * is not sealed is left as it is. RF_EINVAL when a part was not sealed with key. */
rf_status rf_svc_mail_open(const unsigned char key[32], rf_mail_message *m, rf_arena *a, rf_err *err);

/* The mail sender's doorbell: fn is called to wake it once mail was queued and committed (the sender sets it when it
 * starts, NULL when it stops). rf_svc_mail_wake rings it after a commit when sv queued mail, and clears the mark. */
void rf_svc_mail_set_waker(void (*fn)(void));
void rf_svc_mail_wake(rf_svc *sv);

#endif
