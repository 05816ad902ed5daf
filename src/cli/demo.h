/* SPDX-License-Identifier: Apache-2.0 */
/* Demo data for a fresh database: one program, a dozen partners of every kind, three links, one admin user. */
#ifndef RF_DEMO_H
#define RF_DEMO_H

#include "../core/config.h"
#include "../store/store.h"

#define RF_DEMO_ADMIN_EMAIL "admin@example.com"

/* Creates the demo data in one transaction when the database is empty. *created tells whether it did;
 * password (at least 40 bytes) receives the admin's generated password. */
rf_status rf_demo_seed(rf_store *s, bool *created, char *password, size_t len, rf_err *err);

/* Three months of demo activity for the demo program, so the dashboard and the portal have something to show: a
 * default plan, FX rates, clicks on the demo links, leads from every kind of partner (some qualified), sales with
 * their commissions (renewals and a refund among them) and a deal registration waiting for review, in one
 * transaction. Commissions older than the holding period are approved by the jobs when the server starts. */
rf_status rf_demo_activity(rf_store *s, const rf_app_config *cfg, rf_err *err);

#endif
