/* SPDX-License-Identifier: Apache-2.0 */
/* What the PostgreSQL driver offers beyond the driver interface, for the store's click log alone: a commit split in
 * two, so that one thread sends it and another waits for the WAL flush behind it. Nothing outside src/store includes
 * this. */
#ifndef RF_DB_PG_DRIVER_H
#define RF_DB_PG_DRIVER_H

#include "db.h"

/* Sends COMMIT for the connection's open transaction without waiting for the answer. Until rf_db_pg_commit_wait has
 * read it, nothing else may use the connection (any thread may then wait, one at a time). RF_EINVAL for a
 * connection of another driver; RF_EIO or RF_EUNAVAIL (rf_db_fail says why) when it could not be sent. */
rf_status rf_db_pg_commit_send(rf_db *db);
/* Waits for the answer to the COMMIT sent by rf_db_pg_commit_send: RF_OK once the transaction is committed (and,
 * with synchronous_commit on, its WAL flushed), RF_EIO when it was not (rf_db_fail says why). */
rf_status rf_db_pg_commit_wait(rf_db *db);

#endif
