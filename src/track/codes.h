/* SPDX-License-Identifier: Apache-2.0 */
/* The in-memory code table the redirect resolves from: loaded from the store, rebuilt when links change. */
#ifndef RF_CODES_H
#define RF_CODES_H

#include <stdbool.h>

#include "../core/arena.h"
#include "../core/model.h"
#include "../store/store.h"

/* Tells this process's table that links, partner statuses or programs changed (call after the commit). */
void rf_codes_changed(void);

/* Looks up a code without regard to case. On a hit copies the entry into the arena and sets *found. On a miss,
 * *fallback is the URL unknown codes go to (or NULL). The table is rebuilt first when this process changed
 * links, when another process announced a change (rf_codes_watch_start), or when the store's links version moved
 * (checked at most once a second, for other processes). */
rf_status rf_codes_lookup(rf_store *s, const char *code, rf_arena *a, rf_code_entry *out, bool *found, char **fallback,
			  rf_err *err);

/* Starts hearing the link changes other processes announce, on a connection of its own, where the database
 * announces them (PostgreSQL); elsewhere (SQLite) does nothing, and the version check once a second serves. */
rf_status rf_codes_watch_start(const char *location, rf_err *err);
/* Stops the watcher (safe when not started, and twice). */
void rf_codes_watch_stop(void);

/* Frees the table (at exit). */
void rf_codes_free(void);

#endif
