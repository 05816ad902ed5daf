/* SPDX-License-Identifier: Apache-2.0 */
/* The web UI's files, embedded in the binary at build time (scripts/embed_web.sh). */
#ifndef RF_WEB_ASSETS_H
#define RF_WEB_ASSETS_H

#include <stddef.h>

typedef struct {
	const char *name; /* "app.js", "vendor/uplot.mjs" ... */
	const char *content_type;
	const unsigned char *data;
	size_t len;
} rf_web_asset;

/* Ended by an entry with a NULL name. */
extern const rf_web_asset rf_web_assets[];

#endif
