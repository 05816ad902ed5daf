/* SPDX-License-Identifier: Apache-2.0 */
/* The instance's settings that every layer may read: one struct, filled once by the command line and read-only
 * afterwards (the named configuration singleton of the design). */
#ifndef RF_CONFIG_H
#define RF_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

/* Settings every worker shares, read-only once serving starts. */
typedef struct {
	bool secure_cookies;      /* add Secure to cookies: refd is served over TLS by a proxy */
	unsigned char secret[32]; /* instance key for sealing tax ids and keyed hashes */
	size_t max_json_body;     /* bytes */
	size_t max_import_body;   /* bytes of a CSV file sent to POST /api/v1/imports */
	size_t max_export;        /* bytes of one CSV export or statement page; 0 for the default (api.h) */
	int session_hours;
	int login_max_failures; /* per email in login_window_minutes */
	int login_max_failures_ip;
	int login_window_minutes;
	char public_url[256]; /* how the world reaches refd, e.g. https://refer.example.com (no trailing slash) */
	/* Webhook endpoints may be http:// and deliveries may reach internal addresses (tests, a closed network). */
	bool webhook_allow_private;
	/* Mail (the sender's own settings, the SMTP password above all, stay with the sender). */
	bool mail_smtp;           /* mail goes out through an SMTP server; false: it is written to the log */
	char mail_from[512];      /* the From of every message: "Display Name <addr>" or "addr" */
	char mail_smtp_url[256];  /* smtp:// or smtps:// URL of the server, without credentials ("" for the log) */
	char mail_smtp_user[128]; /* the user refd logs in as, "" for none (the password is the sender's alone) */
	bool mail_require_tls;    /* STARTTLS is required (smtp://), not only used when offered */
	int digest_hour;          /* daily digests go out from this hour of the day, UTC (0..23) */
} rf_app_config;

#endif
