/* SPDX-License-Identifier: Apache-2.0 */
/* Demo data for a fresh database: one program, a dozen partners of every kind, three links, one admin user. */
#ifndef RF_DEMO_H
#define RF_DEMO_H

#include "../store/store.h"

#define RF_DEMO_ADMIN_EMAIL "admin@example.com"

/* Creates the demo data in one transaction when the database is empty. *created tells whether it did;
 * password (at least 40 bytes) receives the admin's generated password. */
rf_status rf_demo_seed(rf_store *s, bool *created, char *password, size_t len, rf_err *err);

#endif
