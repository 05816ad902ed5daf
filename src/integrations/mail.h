/* SPDX-License-Identifier: Apache-2.0 */
/* The mail sender: a thread that claims due mail deliveries from the outbox (a lease, so that each attempt is made
 * by one process), sends each message through the SMTP server with libcurl (or writes it to the log when none is
 * configured) with no transaction open meanwhile, and records every attempt: delivered, tried again later with a
 * growing pause, or given up (a permanent refusal, or after about a day). */
#ifndef RF_INTEGRATIONS_MAIL_H
#define RF_INTEGRATIONS_MAIL_H

#include <stdbool.h>

#include "../core/config.h"
#include "../core/mime.h"
#include "../core/status.h"
#include "../store/store.h"

typedef struct {
	const char *smtp_url; /* smtp://host[:port] or smtps://host[:port]; NULL: mail is written to the log */
	const char *user;     /* NULL: no login */
	const char *password; /* with user */
	bool require_tls;     /* smtp://: STARTTLS or nothing (otherwise used when the server offers it) */
	const char *ca_file;  /* certificates to trust for the server's, besides the system's; NULL for the system's */
	char from_name[200], from_addr[RF_MIME_ADDR_MAX + 1]; /* the From of every message */
	long timeout_ms;                                      /* one message's whole SMTP exchange */
	const rf_app_config *app;                             /* the instance key, to open sealed messages */
} rf_mail_config;

/* Starts the sender on its own connection to the database at location. cfg (and what it points to) must outlive
 * the sender. */
rf_status rf_mail_start(const char *location, const rf_mail_config *cfg, rf_err *err);

/* Looks for due mail now rather than at the next look (every 5 seconds): mail was queued, or the clock moved. */
void rf_mail_kick(void);

/* Stops the sender (an SMTP exchange under way is cut short, and tried again later by whoever claims it next) and
 * waits for it. Safe to call when not started, and more than once. */
void rf_mail_stop(void);

/* One pass over store s with cfg: sends up to max due messages; *attempted says how many were tried. */
rf_status rf_mail_send_due(rf_store *s, const rf_mail_config *cfg, int max, int *attempted, rf_err *err);

#endif
