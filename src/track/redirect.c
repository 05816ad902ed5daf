/* SPDX-License-Identifier: Apache-2.0 */
/* The redirect: resolve the code from memory, build the click, hand it to the group-commit writer, and answer
 * 302 only once the click is durable. */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "../core/bot.h"
#include "../core/clock.h"
#include "../core/ip.h"
#include "../core/secret.h"
#include "../core/text.h"
#include "../core/url.h"
#include "../http/json.h"
#include "clicks.h"
#include "codes.h"
#include "track.h"

#define RECENT_SLOTS 65536

/* Recent clicks, to tell repeats from new clicks without a database read: direct-mapped tables of (key,
 * time), a named singleton shared by the workers. One is keyed by visitor (address and browser) and link; the
 * other by click id and link, so a browser that sends back its cookie is known even when its address or browser
 * string changed. A collision only forgets an older visit. */
static struct {
	pthread_mutex_t mu;
	uint64_t key[RECENT_SLOTS];
	int64_t at[RECENT_SLOTS];
	uint64_t click_key[RECENT_SLOTS];
	int64_t click_at[RECENT_SLOTS];
} recent = {PTHREAD_MUTEX_INITIALIZER, {0}, {0}, {0}, {0}};

static uint64_t fnv(uint64_t h, const char *s)
{
	for (; s && *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h ^ 0xff;
}

static bool seen(uint64_t *keys, int64_t *ats, uint64_t k, int64_t now, int64_t window_ms)
{
	size_t slot = (size_t)(k % RECENT_SLOTS);
	return keys[slot] == k && now - ats[slot] < window_ms;
}

static void remember(uint64_t *keys, int64_t *ats, uint64_t k, int64_t now)
{
	size_t slot = (size_t)(k % RECENT_SLOTS);
	keys[slot] = k;
	ats[slot] = now;
}

bool rf_track_is_repeat(const char *visitor, const char *prev_click_id, const char *click_id, const char *link_id,
			int64_t now, int64_t window_ms)
{
	const uint64_t basis = 1469598103934665603ULL;
	uint64_t vk = fnv(fnv(basis, visitor), link_id) | 1;
	uint64_t pk = prev_click_id ? fnv(fnv(basis, prev_click_id), link_id) | 1 : 0;
	uint64_t ck = fnv(fnv(basis, click_id), link_id) | 1;
	pthread_mutex_lock(&recent.mu);
	bool rep = seen(recent.key, recent.at, vk, now, window_ms) ||
		   (pk && seen(recent.click_key, recent.click_at, pk, now, window_ms));
	remember(recent.key, recent.at, vk, now);
	remember(recent.click_key, recent.click_at, ck, now);
	pthread_mutex_unlock(&recent.mu);
	return rep;
}

/* A click id starts with its time (8 base62 digits of milliseconds) and a 3-digit counter, so ids sort in the
 * order they were made within this process and new ones land at the end of the clicks table instead of on a
 * random page: a group commit then touches a few pages, not one per click. 13 random characters (77 bits)
 * follow, so ids cannot be guessed. */
char *rf_click_id(rf_arena *a, int64_t now)
{
	static const char b62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	static _Atomic unsigned counter;
	char rnd[40];
	rf_id_new("x", rnd, sizeof rnd);
	char *id = rf_arena_alloc(a, 4 + 8 + 3 + 13 + 1);
	if (!id)
		return NULL;
	memcpy(id, "clk_", 4);
	uint64_t t = (uint64_t)now;
	for (int i = 7; i >= 0; i--) {
		id[4 + i] = b62[t % 62];
		t /= 62;
	}
	unsigned n = atomic_fetch_add(&counter, 1) % (62 * 62 * 62);
	for (int i = 2; i >= 0; i--) {
		id[12 + i] = b62[n % 62];
		n /= 62;
	}
	memcpy(id + 15, rnd + 2, 13);
	id[28] = '\0';
	return id;
}

static bool code_shape_ok(const char *code)
{
	size_t n = 0;
	for (; code[n]; n++) {
		char ch = code[n];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
		      ch == '_'))
			return false;
	}
	return n >= 1 && n <= 64;
}

static void not_found_page(rf_ctx *c)
{
	static const char page[] = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
				   "<title>Link not found</title></head><body><h1>Link not found</h1>"
				   "<p>This referral link does not exist or is no longer active.</p></body></html>\n";
	rf_resp_header(c->req, "Cache-Control", "no-store");
	rf_resp_send(c->req, 404, "text/html; charset=utf-8", page, sizeof page - 1);
}

typedef struct {
	rf_click_job job;
	rf_req *req;
	char *location;
	char *cookie; /* NULL when the click credits nobody */
} redirect_job;

/* On the worker thread: the click is committed (or failed): answer. */
static void finish(rf_req *req, void *arg)
{
	redirect_job *rj = arg;
	if (rf_req_gone(req)) {
		rf_resp_send(req, 0, NULL, NULL, 0);
		return;
	}
	if (!rj->job.click.at) {
		rf_track_unavailable(req);
		return;
	}
	rf_resp_header(req, "Location", rj->location);
	rf_resp_header(req, "Cache-Control", "no-store");
	if (rj->cookie)
		rf_resp_header(req, "Set-Cookie", rj->cookie);
	rf_resp_send(req, 302, NULL, NULL, 0);
}

/* On the writer thread. A failed commit is marked by clearing the click's time. */
static void committed(rf_click_job *job, bool ok)
{
	redirect_job *rj = (redirect_job *)job;
	if (!ok)
		job->click.at = 0;
	rf_req_post(rj->req, finish, rj);
}

void rf_track_unavailable(rf_req *req)
{
	static const char body[] = "{\"error\":{\"type\":\"unavailable\",\"message\":\"the click could not be "
				   "recorded; try again\",\"field\":null}}";
	rf_resp_header(req, "Retry-After", "1");
	rf_resp_send(req, 503, "application/json", body, sizeof body - 1);
}

void rf_track_click_init(rf_ctx *c, const rf_code_entry *e, rf_click *k, const char *source, const char *referer,
			 const char *landing, char *prev_click_id)
{
	int64_t now = rf_clock_now_ms();
	k->id = rf_click_id(c->a, now);
	k->program_id = e->program_id;
	k->link_id = e->link_id;
	k->partner_id = e->credited ? e->partner_id : NULL;
	k->at = now;
	const char *peer = rf_req_peer(c->req);
	char hash[RF_HEX256_LEN], prefix[RF_IP_PREFIX_MAX];
	rf_keyed_hash_hex(c->app->cfg->secret, peer, strlen(peer), hash);
	k->ip_hash = rf_arena_strndup(c->a, hash, 32);
	k->ip_prefix = rf_ip_prefix(peer, prefix, sizeof prefix) == RF_OK ? rf_arena_strdup(c->a, prefix) : NULL;
	const char *ua = rf_req_header(c->req, "User-Agent");
	k->user_agent = rf_utf8_clip_arena(c->a, ua, 512);
	k->referer = rf_utf8_clip_arena(c->a, referer, 1024);
	k->landing_url = rf_utf8_clip_arena(c->a, landing, 2048);
	k->source = source;
	k->prev_click_id = prev_click_id && rf_id_valid(prev_click_id, "clk") ? prev_click_id : NULL;
	/* A visitor is its address and browser, or the click its cookie names (the cookie changes with every
	 * click, so the previous click is what links two visits). */
	size_t ual = ua ? strlen(ua) : 0;
	char *visitor = rf_arena_alloc(c->a, 32 + 1 + ual + 1);
	if (visitor) {
		memcpy(visitor, hash, 32);
		visitor[32] = '|';
		memcpy(visitor + 33, ua ? ua : "", ual + 1);
	}
	bool repeat = rf_track_is_repeat(visitor, k->prev_click_id, k->id, e->link_id, now, e->repeat_minutes * 60000);
	if (rf_ua_is_bot(ua))
		k->status = "bot";
	else if (!e->credited)
		k->status = "uncredited";
	else
		k->status = repeat ? "repeat" : "counted";
}

void rf_track_redirect(rf_ctx *c)
{
	const char *code = c->params[0];
	rf_err err = {0};
	if (!code_shape_ok(code)) {
		not_found_page(c);
		return;
	}
	rf_code_entry e;
	bool found = false;
	char *fallback = NULL;
	if (rf_codes_lookup(c->app->store, code, c->a, &e, &found, &fallback, &err) != RF_OK) {
		rf_json_error(c, &err);
		return;
	}
	if (!found) {
		if (fallback) {
			rf_resp_header(c->req, "Location", fallback);
			rf_resp_header(c->req, "Cache-Control", "no-store");
			rf_resp_send(c->req, 302, NULL, NULL, 0);
		} else {
			not_found_page(c);
		}
		return;
	}

	redirect_job *rj = rf_arena_alloc(c->a, sizeof *rj);
	if (!rj) {
		rf_json_fail(c, RF_ENOMEM, NULL, "out of memory");
		return;
	}
	rf_click *k = &rj->job.click;
	char *prev = rf_req_cookie(c->req, RF_CLICK_COOKIE);
	rf_track_click_init(c, &e, k, "redirect", rf_req_header(c->req, "Referer"), e.destination_url, prev);

	/* An uncredited click still reaches the destination, but carries no click id and sets no cookie. */
	rj->location =
	    e.credited ? rf_url_add_param(c->a, e.destination_url, RF_CLICK_PARAM, k->id) : e.destination_url;
	rj->cookie = e.credited ? rf_arena_printf(c->a, "%s=%s; Max-Age=%lld; Path=/; SameSite=Lax%s", RF_CLICK_COOKIE,
						  k->id, (long long)(e.window_days * 86400),
						  c->app->cfg->secure_cookies ? "; Secure" : "")
				: NULL;
	rj->req = c->req;
	rj->job.done = committed;
	if (!rj->location || (e.credited && !rj->cookie)) {
		rf_json_fail(c, RF_ENOMEM, NULL, "out of memory");
		return;
	}
	rf_req_defer(c->req);
	if (!rf_clicks_submit(&rj->job)) {
		rj->job.click.at = 0;
		finish(c->req, rj);
	}
}
