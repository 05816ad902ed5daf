/* SPDX-License-Identifier: Apache-2.0 */
/* What the SQLite driver offers beyond the driver interface, for the store's SQLite click log alone (its WAL hook,
 * checkpoints and flushes): nothing outside src/store includes this or sqlite3.h. */
#ifndef RF_DB_SQLITE_DRIVER_H
#define RF_DB_SQLITE_DRIVER_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "db.h"

/* The connection's sqlite3 handle; NULL for a connection of another driver. */
sqlite3 *rf_db_sqlite_handle(rf_db *db);
/* How long this connection's statements wait for a lock (µs); 0 restores the default 10 s. */
void rf_db_sqlite_set_busy_limit(rf_db *db, int64_t us);
/* Marks the click log's connection: its own waits for the lock do not ask the others to make way. */
void rf_db_sqlite_set_yields(rf_db *db, bool yields);
/* True while a statement on another connection of this process waits for the write lock (it found it taken within
 * the last 400 µs): the click log then commits what it holds and waits before its next group. */
bool rf_db_sqlite_others_waiting(void);
/* Records a result code from a direct sqlite3 call as the connection's last failure (for rf_db_fail). */
void rf_db_sqlite_note(rf_db *db, int code);

#endif
