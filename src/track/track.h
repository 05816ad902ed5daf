/* The tracking endpoints: the redirect hot path (GET /r/{code}). */
#ifndef RF_TRACK_H
#define RF_TRACK_H

#include "../http/router.h"

#define RF_CLICK_COOKIE "refd_click"
#define RF_CLICK_PARAM "refd_click"

/* GET /r/{code}: 302 to the link's destination once the click is committed. */
void rf_track_redirect(rf_ctx *c);

#endif
