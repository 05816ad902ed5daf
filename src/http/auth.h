/* SPDX-License-Identifier: Apache-2.0 */
/* Who is calling: API keys (Bearer), cookie sessions with CSRF tokens, and the scope each role may see. */
#ifndef RF_AUTH_H
#define RF_AUTH_H

#include "router.h"

#define RF_SESSION_COOKIE "refd_session"
#define RF_APIKEY_PREFIX "rk_"

/* Fills c->who from the Authorization header or the session cookie. RF_EUNAUTH with a reason when neither
 * holds a live credential; RF_EIO when the store fails. */
rf_status rf_auth_resolve(rf_ctx *c, rf_err *err);

/* For a session principal: the X-CSRF-Token header must equal the session's token. RF_EFORBIDDEN otherwise. */
rf_status rf_auth_check_csrf(rf_ctx *c, rf_err *err);

/* Creates a session for user_id and sets its cookie on the response; *csrf receives the CSRF token (arena). */
rf_status rf_auth_start_session(rf_ctx *c, const char *user_id, char **csrf, rf_err *err);

/* Ends the caller's session and clears the cookie. */
rf_status rf_auth_end_session(rf_ctx *c, rf_err *err);

/* Makes a new API key: *key (arena) is the secret shown once; k gets id, prefix and hash filled in. */
void rf_auth_new_key(rf_arena *a, char **key, rf_apikey *k);

/* The partner a manager or partner principal may see, with its team; NULL for admins (no restriction). */
const char *rf_auth_scope(const rf_ctx *c);

/* True when the principal may read partner p: admins always; others when p is their partner or in its team. */
bool rf_auth_can_see_partner(const rf_ctx *c, const rf_partner *p);

#endif
