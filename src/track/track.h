/* SPDX-License-Identifier: Apache-2.0 */
/* The tracking endpoints: the redirect hot path (GET /r/{code}). */
#ifndef RF_TRACK_H
#define RF_TRACK_H

#include "../http/router.h"

#define RF_CLICK_COOKIE "refd_click"
#define RF_CLICK_PARAM "refd_click"

/* GET /r/{code}: 302 to the link's destination once the click is committed. */
void rf_track_redirect(rf_ctx *c);

/* GET /t.js: the tracking script for the business's own pages. */
void rf_track_script(rf_ctx *c);

/* POST /api/v1/track/click: a click recorded by the script (CORS limited to the program's origins). */
void rf_track_click(rf_ctx *c);

/* OPTIONS /api/v1/track/click: the CORS preflight, for pages that send the click as application/json. Allowed
 * when the Origin is among any program's tracking origins (the program is known only from the body). */
void rf_track_click_preflight(rf_ctx *c);

/* Fills k for a visit through the code table entry e, for source "redirect" or "script": a new id, the time,
 * the partner it credits, the keyed hash and prefix of the client's address, its browser string, referer,
 * landing and previous click (copied into the arena, cut to size, any byte that is not UTF-8 made a ?), and its
 * status: bot, uncredited, repeat or
 * counted, in that order of precedence. Strings live in the request's arena. */
void rf_track_click_init(rf_ctx *c, const rf_code_entry *e, rf_click *k, const char *source, const char *referer,
			 const char *landing, char *prev_click_id);

/* Answers 503 (retry after a second) for a click that could not be committed. */
void rf_track_unavailable(rf_req *req);

/* A new click id: "clk_", 8 base62 digits of the time in milliseconds, 16 random characters (arena). */
char *rf_click_id(rf_arena *a, int64_t now);

/* True when the same visitor (by address and browser, or by the previous click its cookie names) clicked the same
 * link within window_ms; records this visit, under click_id too, either way. */
bool rf_track_is_repeat(const char *visitor, const char *prev_click_id, const char *click_id, const char *link_id,
			int64_t now, int64_t window_ms);

#endif
