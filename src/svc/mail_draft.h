/* SPDX-License-Identifier: Apache-2.0 */
/* Inside the mail service: a message being written (its text and HTML built side by side from the same pieces, the
 * HTML escaped), and putting it in the outbox. Only src/svc/mail*.c include this. */
#ifndef RF_SVC_MAIL_DRAFT_H
#define RF_SVC_MAIL_DRAFT_H

#include "../core/dbuf.h"
#include "mail.h"

typedef struct {
	rf_svc *sv;
	const rf_mail_category *category;
	rf_mail_message m;         /* the message's fields; its bodies are built below */
	const char *unsub_subject; /* whose one-click unsubscribe the message carries (optional kinds) */
	const char *sender;        /* who sends it, for the footer: a program's name, or NULL for refd itself */
	rf_dbuf text, html;
} rf_mail_draft;

/* Starts a message of the kind named category to the address to (display name to_name, may be NULL). */
void rf_mail_draft_start(rf_mail_draft *d, rf_svc *sv, const char *category, const char *to, const char *to_name);
/* "Hello name," (or "Hello," without a name) as the first paragraph. */
void rf_mail_greet(rf_mail_draft *d, const char *name);
/* A paragraph of printf-style text (the HTML gets it escaped). */
void rf_mail_para(rf_mail_draft *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A link as a paragraph of its own; the first one is the message's main link. */
void rf_mail_button(rf_mail_draft *d, const char *label, const char *url);
/* A table: a header row, then rows of ncols cells (text: one line per row, the cells joined). */
void rf_mail_table(rf_mail_draft *d, const char *const *head, size_t ncols);
void rf_mail_row(rf_mail_draft *d, const char *const *cells, size_t ncols);
void rf_mail_table_end(rf_mail_draft *d);
/* Finishes the message (its footer, with the unsubscribe link of an optional kind) and stores it with its delivery,
 * due now; marks sv->mail_queued. The draft's buffers are freed either way. */
rf_status rf_mail_draft_queue(rf_mail_draft *d, rf_err *err);
/* Frees a draft that will not be queued. */
void rf_mail_draft_drop(rf_mail_draft *d);

/* True (in *off) when subject_id turned the kind off. */
rf_status rf_mail_turned_off(rf_svc *sv, const char *subject_id, const char *category, bool *off, rf_err *err);
/* Public links: the public address + path (an arena string). */
char *rf_mail_url(rf_svc *sv, const char *path);
/* A money amount with its currency's decimals and code: "1234.50 USD" (arena). */
char *rf_mail_money(rf_svc *sv, int64_t amount, const char *currency);
/* A day as "2026-03-14" (UTC; arena). */
char *rf_mail_day(rf_svc *sv, int64_t ms);

#endif
