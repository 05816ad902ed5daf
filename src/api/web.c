/* SPDX-License-Identifier: Apache-2.0 */
/* The admin UI (/app) and the partner portal (/portal): static pages and modules embedded in the binary, sent with
 * headers that keep them to refd's own origin. */
#include <string.h>

#include "../web/assets.h"
#include "api.h"

static const rf_web_asset *find(const char *name)
{
	for (const rf_web_asset *a = rf_web_assets; a->name; a++)
		if (strcmp(a->name, name) == 0)
			return a;
	return NULL;
}

static void send_asset(rf_ctx *c, const char *name, bool page)
{
	const rf_web_asset *a = find(name);
	if (!a) {
		rf_json_fail(c, RF_ENOTFOUND, NULL, "no such file: %s", name);
		return;
	}
	/* Only refd's own scripts, styles and API; no framing; pages are never cached, assets briefly. */
	rf_resp_header(c->req, "Content-Security-Policy",
		       "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
		       "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
	rf_resp_header(c->req, "Referrer-Policy", "same-origin");
	rf_resp_header(c->req, "Cache-Control", page ? "no-store" : "no-cache");
	rf_resp_send(c->req, 200, a->content_type, (const char *)a->data, a->len);
}

void rf_web_root(rf_ctx *c)
{
	rf_resp_header(c->req, "Location", "/app");
	rf_resp_send(c->req, 302, "text/plain; charset=utf-8", "", 0);
}

void rf_web_app(rf_ctx *c)
{
	send_asset(c, "app.html", true);
}

void rf_web_portal(rf_ctx *c)
{
	send_asset(c, "portal.html", true);
}

void rf_web_asset_get(rf_ctx *c)
{
	send_asset(c, c->params[0], false);
}

void rf_web_vendor_get(rf_ctx *c)
{
	char name[128];
	size_t n = strlen(c->params[0]);
	if (n > 100) {
		rf_json_fail(c, RF_ENOTFOUND, NULL, "no such file");
		return;
	}
	memcpy(name, "vendor/", 7);
	memcpy(name + 7, c->params[0], n + 1);
	send_asset(c, name, false);
}
