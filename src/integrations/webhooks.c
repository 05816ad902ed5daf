/* SPDX-License-Identifier: Apache-2.0 */
/* The webhook sender's thread: claim due deliveries (short transaction), send them concurrently with libcurl's multi
 * interface, record the outcomes (short transaction). Every connection is checked against the address it really
 * goes to, so that a name that resolves to an internal address cannot be used to reach one. */
#include "webhooks.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../core/arena.h"
#include "../core/clock.h"
#include "../core/dbuf.h"
#include "../core/ip.h"
#include "../core/secret.h"
#include "../core/stdwebhooks.h"
#include "../core/text.h"
#include "../store/store.h"
#include "../svc/mail.h"
#include "../svc/webhooks.h"

/* Bytes of an answer read before the rest is cut off (only the first RF_WEBHOOK_EXCERPT_MAX are kept). */
#define READ_MAX (1u << 20)
/* The largest body sent: an event's object is far smaller, but a payout run with thousands of items is not. */
#define BODY_MAX (64u << 20)
/* Outcomes are recorded together once this many wait, or after FLUSH_US. */
#define FLUSH_BATCH 32
#define FLUSH_US 20000
/* How long a stopping sender lets the deliveries in flight finish. */
#define STOP_GRACE_US 3000000

typedef struct {
	CURL *easy;
	bool busy;
	struct curl_slist *headers;
	char *body;
	char delivery_id[64], endpoint_id[64];
	int64_t at;      /* refd's clock when the attempt began */
	int64_t mono_us; /* the monotonic clock then, for the latency */
	char excerpt[RF_WEBHOOK_EXCERPT_MAX + 1];
	size_t excerpt_len, seen;
	bool cut;          /* the answer was longer than READ_MAX: reading stopped */
	char refused[256]; /* why the address was refused, when it was */
	char errbuf[CURL_ERROR_SIZE];
} transfer;

/* An outcome waiting to be recorded; its strings live in the outcomes' arena. */
typedef struct {
	rf_webhook_attempt t;
} outcome;

static struct {
	pthread_t thread;
	bool running;
	pthread_mutex_t mu;
	bool stop, kicked;
	rf_webhooks_config cfg;
	rf_store *store;
	CURLM *multi;
	transfer *slots;
	int in_flight;
	outcome *done;
	size_t n_done, cap_done;
	rf_arena done_arena;
	int64_t oldest_done_us;
} W = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void log_line(const char *level, const char *msg, const char *delivery, const char *detail)
{
	char ts[40], d[512], id[96];
	rf_clock_format(rf_clock_now_ms(), ts, sizeof ts);
	rf_json_escape(d, sizeof d, detail ? detail : "");
	rf_json_escape(id, sizeof id, delivery ? delivery : "");
	printf("{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":\"%s\",\"delivery\":\"%s\",\"detail\":\"%s\"}\n", ts, level,
	       msg, id, d);
	fflush(stdout);
}

/* ---- one request ---- */

/* libcurl opens every connection through here: the address it is about to connect to, after name resolution, is
 * the one judged. */
static curl_socket_t open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *addr)
{
	transfer *t = clientp;
	(void)purpose;
	if (!W.cfg.allow_private) {
		const char *why = rf_ip_refused(&addr->addr, addr->addrlen);
		if (why) {
			char text[INET6_ADDRSTRLEN] = "?";
			const void *raw = addr->family == AF_INET6
					      ? (const void *)&((const struct sockaddr_in6 *)&addr->addr)->sin6_addr
					      : (const void *)&((const struct sockaddr_in *)&addr->addr)->sin_addr;
			if (addr->family == AF_INET || addr->family == AF_INET6)
				inet_ntop(addr->family, raw, text, sizeof text);
			snprintf(t->refused, sizeof t->refused,
				 "refused to connect to %s: %s (refd serve --webhook-allow-private allows it)", text,
				 why);
			return CURL_SOCKET_BAD;
		}
	}
	return socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
}

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	transfer *t = userdata;
	size_t n = size * nmemb;
	if (t->excerpt_len < RF_WEBHOOK_EXCERPT_MAX) {
		size_t take = RF_WEBHOOK_EXCERPT_MAX - t->excerpt_len;
		if (take > n)
			take = n;
		memcpy(t->excerpt + t->excerpt_len, ptr, take);
		t->excerpt_len += take;
	}
	t->seen += n;
	if (t->seen > READ_MAX) {
		t->cut = true;
		return 0; /* enough: the status code is known, the rest is not read */
	}
	return n;
}

static void transfer_clear(transfer *t)
{
	curl_slist_free_all(t->headers);
	free(t->body);
	CURL *easy = t->easy;
	memset(t, 0, sizeof *t);
	t->easy = easy;
}

/* Adds a header line built from printf arguments; false when out of memory. */
static bool add_header(transfer *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool add_header(transfer *t, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof line)
		return false;
	struct curl_slist *l = curl_slist_append(t->headers, line);
	if (!l)
		return false;
	t->headers = l;
	return true;
}

/* What is needed to send one delivery, read in the claim's transaction. */
typedef struct {
	rf_delivery d;
	bool have_event, have_endpoint;
	rf_event ev;
	rf_webhook_endpoint w;
} claimed;

/* Queues an outcome for recording (strings copied). */
static void outcome_add(const rf_webhook_attempt *t)
{
	outcome *o = rf_arena_grow(&W.done_arena, W.done, W.n_done, &W.cap_done, sizeof *W.done, 64);
	if (!o) {
		log_line("error", "out of memory recording a webhook attempt", t->delivery_id, NULL);
		return;
	}
	W.done = o;
	outcome *x = &W.done[W.n_done++];
	x->t = *t;
	x->t.delivery_id = rf_arena_strdup(&W.done_arena, t->delivery_id);
	x->t.endpoint_id = rf_arena_strdup(&W.done_arena, t->endpoint_id);
	x->t.response = rf_arena_strdup(&W.done_arena, t->response);
	x->t.error = rf_arena_strdup(&W.done_arena, t->error);
	randombytes_buf(&x->t.jitter, sizeof x->t.jitter);
	if (W.n_done == 1)
		W.oldest_done_us = rf_clock_mono_us();
	if (t->error)
		log_line("warn", "webhook attempt failed", t->delivery_id, t->error);
}

/* An attempt that ends before any request (its secret cannot be read, its body not built). */
static void fail_early(const claimed *c, int64_t at, const char *why)
{
	rf_webhook_attempt t = {.delivery_id = c->d.id, .endpoint_id = c->d.target_id, .at = at, .error = why};
	outcome_add(&t);
}

/* Signs and starts one delivery in slot t; false (with an outcome queued) when it could not be started. */
static bool start_one(transfer *t, const claimed *c, rf_arena *a)
{
	int64_t at = rf_clock_now_ms();
	char *secret = NULL;
	unsigned char key[RF_SWH_KEY_MAX], old_key[RF_SWH_KEY_MAX];
	size_t key_len = 0, old_len = 0;
	if (rf_unseal(W.cfg.key, c->w.secret_sealed, c->w.secret_sealed_len, a, &secret) != RF_OK ||
	    rf_swh_secret_decode(secret, key, &key_len) != RF_OK) {
		fail_early(c, at, "the endpoint's signing secret cannot be read (was the instance key changed?)");
		return false;
	}
	/* The secret before the last rotation signs too, until its time is up. */
	if (c->w.old_secret_sealed && c->w.old_secret_until > at &&
	    (rf_unseal(W.cfg.key, c->w.old_secret_sealed, c->w.old_secret_sealed_len, a, &secret) != RF_OK ||
	     rf_swh_secret_decode(secret, old_key, &old_len) != RF_OK))
		old_len = 0;
	rf_dbuf body = RF_DBUF_INIT(BODY_MAX);
	size_t body_len = 0;
	if (rf_swh_body(&body, c->ev.type, c->ev.created_at, c->ev.data) != RF_OK ||
	    rf_dbuf_take(&body, &t->body, &body_len) != RF_OK) {
		rf_dbuf_free(&body);
		fail_early(c, at, "the event's body could not be built (out of memory)");
		return false;
	}
	int64_t ts = at / 1000;
	char sig[RF_SWH_SIGNATURE_MAX], old_sig[RF_SWH_SIGNATURE_MAX] = "";
	rf_swh_sign(key, key_len, c->ev.id, ts, t->body, body_len, sig);
	if (old_len)
		rf_swh_sign(old_key, old_len, c->ev.id, ts, t->body, body_len, old_sig);
	sodium_memzero(key, sizeof key);
	sodium_memzero(old_key, sizeof old_key);

	snprintf(t->delivery_id, sizeof t->delivery_id, "%s", c->d.id);
	snprintf(t->endpoint_id, sizeof t->endpoint_id, "%s", c->d.target_id);
	t->at = at;
	t->mono_us = rf_clock_mono_us();
	/* "Expect:" turns off curl's 100-continue wait on larger bodies. */
	if (!add_header(t, "Content-Type: application/json") || !add_header(t, "User-Agent: refd-webhooks/1") ||
	    !add_header(t, "Expect:") || !add_header(t, "webhook-id: %s", c->ev.id) ||
	    !add_header(t, "webhook-timestamp: %lld", (long long)ts) ||
	    !add_header(t, "webhook-signature: %s%s%s", sig, old_len ? " " : "", old_sig)) {
		transfer_clear(t);
		fail_early(c, at, "the request could not be built (out of memory)");
		return false;
	}
	CURL *e = t->easy;
	curl_easy_reset(e);
	curl_easy_setopt(e, CURLOPT_URL, c->w.url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, W.cfg.allow_private ? "http,https" : "https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	/* No proxy from the environment: the address check must see where the request really goes. */
	curl_easy_setopt(e, CURLOPT_PROXY, "");
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, W.cfg.connect_timeout_ms);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, W.cfg.timeout_ms);
	curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_socket);
	curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, t);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->body);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
	curl_easy_setopt(e, CURLOPT_PRIVATE, t);
	if (curl_multi_add_handle(W.multi, e) != CURLM_OK) {
		transfer_clear(t);
		fail_early(c, at, "the request could not be started");
		return false;
	}
	t->busy = true;
	W.in_flight++;
	return true;
}

/* The outcome of a finished request. */
static void finished(transfer *t, CURLcode result)
{
	long code = 0;
	curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code);
	curl_multi_remove_handle(W.multi, t->easy);
	W.in_flight--;
	rf_arena a;
	rf_arena_init(&a, 0);
	rf_webhook_attempt o = {.delivery_id = t->delivery_id,
				.endpoint_id = t->endpoint_id,
				.at = t->at,
				.latency_ms = (rf_clock_mono_us() - t->mono_us) / 1000};
	/* An answer that came (a status line at least), even one cut short because it went on too long. */
	bool answered = code > 0 && (result == CURLE_OK || (result == CURLE_WRITE_ERROR && t->cut));
	char why[512];
	if (answered) {
		o.has_status_code = true;
		o.status_code = (int)code;
		for (size_t i = 0; i < t->excerpt_len; i++)
			if (!t->excerpt[i])
				t->excerpt[i] = '?'; /* a NUL would end the text early, and PostgreSQL refuses one */
		t->excerpt[t->excerpt_len] = '\0';
		o.response = rf_utf8_clip_arena(&a, t->excerpt, RF_WEBHOOK_EXCERPT_MAX);
		if (code >= 300 && code <= 399)
			snprintf(why, sizeof why,
				 "HTTP %ld (redirects are not followed: give the endpoint's final URL)", code);
		else
			snprintf(why, sizeof why, "HTTP %ld", code);
		if (code < 200 || code > 299)
			o.error = why;
	} else if (t->refused[0]) {
		o.error = t->refused;
	} else if (result == CURLE_OPERATION_TIMEDOUT) {
		snprintf(why, sizeof why, "timed out: %s", t->errbuf[0] ? t->errbuf : curl_easy_strerror(result));
		o.error = why;
	} else {
		snprintf(why, sizeof why, "no answer: %s", t->errbuf[0] ? t->errbuf : curl_easy_strerror(result));
		o.error = why;
	}
	outcome_add(&o);
	rf_arena_reset(&a);
	transfer_clear(t);
}

/* ---- the database's side ---- */

typedef struct {
	int max;
	rf_arena *a;
	claimed *items;
	size_t n;       /* to send */
	size_t claimed; /* all the database gave, those of disabled endpoints included */
} claim_job;

static rf_status claim_step(rf_store *s, void *arg, rf_err *err)
{
	claim_job *j = arg;
	j->n = 0;
	int64_t now = rf_clock_now_ms();
	rf_delivery *ds = NULL;
	size_t n = 0;
	if (rf_store_delivery_claim(s, "webhook", now, RF_WEBHOOK_LEASE_MS, j->max, &ds, &n, j->a, err) != RF_OK)
		return err->status;
	j->claimed = n;
	j->items = rf_arena_alloc(j->a, (n ? n : 1) * sizeof *j->items);
	if (!j->items)
		return rf_err_set(err, RF_ENOMEM, NULL, "out of memory");
	for (size_t i = 0; i < n; i++) {
		claimed *c = &j->items[j->n];
		memset(c, 0, sizeof *c);
		c->d = ds[i];
		rf_status rc = rf_store_webhook_endpoint_get(s, ds[i].target_id, &c->w, j->a, err);
		if (rc != RF_OK && rc != RF_ENOTFOUND)
			return rc;
		c->have_endpoint = rc == RF_OK;
		if (c->have_endpoint && strcmp(c->w.status, "enabled") != 0) {
			/* Disabled since it was queued: nothing goes there until it is enabled again (and a replay
			 * sends what it missed). */
			if (rf_store_deliveries_cancel(s, "webhook", c->w.id, "not sent: the endpoint is disabled", now,
						       NULL, err) != RF_OK)
				return err->status;
			continue;
		}
		rc = rf_store_event_get(s, ds[i].event_id, &c->ev, j->a, err);
		if (rc != RF_OK && rc != RF_ENOTFOUND)
			return rc;
		c->have_event = rc == RF_OK;
		memset(err, 0, sizeof *err);
		j->n++;
	}
	return RF_OK;
}

/* Claims up to max due deliveries and starts them; returns how many the database gave. */
static int claim_and_start(int max)
{
	rf_arena a;
	rf_arena_init(&a, 256u << 20);
	rf_err err = {0};
	claim_job j = {.max = max, .a = &a};
	if (rf_store_tx(W.store, claim_step, &j, &err) != RF_OK) {
		log_line("error", "claiming webhook deliveries failed", NULL, err.message);
		rf_arena_reset(&a);
		return 0;
	}
	int slot = 0;
	for (size_t i = 0; i < j.n; i++) {
		const claimed *c = &j.items[i];
		bool already = false;
		for (int k = 0; k < W.cfg.concurrency; k++)
			if (W.slots[k].busy && strcmp(W.slots[k].delivery_id, c->d.id) == 0)
				already = true;
		/* Still on its way from here (its lease ran out under a clock that jumped): not sent twice at once. */
		if (already)
			continue;
		if (!c->have_endpoint) {
			fail_early(c, rf_clock_now_ms(), "the endpoint no longer exists");
			continue;
		}
		if (!c->have_event) {
			fail_early(c, rf_clock_now_ms(), "the event is no longer kept (past --event-retention-days)");
			continue;
		}
		while (slot < W.cfg.concurrency && W.slots[slot].busy)
			slot++;
		if (slot == W.cfg.concurrency)
			break; /* cannot happen (max was the free slots); the lease brings it back */
		start_one(&W.slots[slot], c, &a);
	}
	rf_arena_reset(&a);
	return (int)j.claimed;
}

static int by_endpoint(const void *x, const void *y)
{
	const outcome *a = x, *b = y;
	int c = strcmp(a->t.endpoint_id, b->t.endpoint_id);
	return c ? c : strcmp(a->t.delivery_id, b->t.delivery_id);
}

static rf_status record_step(rf_store *s, void *arg, rf_err *err)
{
	bool *mail_queued = arg;
	rf_arena a;
	rf_arena_init(&a, 64u << 20);
	rf_svc sv = {.store = s, .a = &a, .actor = "system:webhooks", .cfg = W.cfg.app};
	int64_t now = rf_clock_now_ms();
	rf_status rc = RF_OK;
	for (size_t i = 0; rc == RF_OK && i < W.n_done; i++)
		rc = rf_svc_webhook_attempted(&sv, &W.done[i].t, now, err);
	rf_arena_reset(&a);
	/* A retried transaction starts over: only the last run's mark counts. */
	*mail_queued = sv.mail_queued;
	return rc;
}

/* Records the outcomes waiting, in one transaction, endpoints in one order (so that two senders recording at once
 * lock them alike). */
static void record_outcomes(void)
{
	if (!W.n_done)
		return;
	qsort(W.done, W.n_done, sizeof *W.done, by_endpoint);
	rf_err err = {0};
	bool mail_queued = false;
	if (rf_store_tx(W.store, record_step, &mail_queued, &err) != RF_OK) {
		/* Their deliveries stay claimed until the lease runs out, then go again: at least once. */
		log_line("error", "recording webhook attempts failed", NULL, err.message);
	} else if (mail_queued) {
		/* An endpoint was disabled and its admins are told: the mail goes now, not at the next poll. */
		rf_svc sv = {.store = W.store, .mail_queued = true};
		rf_svc_mail_wake(&sv);
	}
	W.n_done = 0;
	W.cap_done = 0;
	W.done = NULL;
	rf_arena_reset(&W.done_arena);
}

/* ---- the thread ---- */

static void collect(void)
{
	int running = 0;
	curl_multi_perform(W.multi, &running);
	CURLMsg *m;
	int left = 0;
	while ((m = curl_multi_info_read(W.multi, &left))) {
		if (m->msg != CURLMSG_DONE)
			continue;
		transfer *t = NULL;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&t);
		if (t)
			finished(t, m->data.result);
	}
}

static bool take_flag(bool *flag)
{
	pthread_mutex_lock(&W.mu);
	bool v = *flag;
	*flag = false;
	pthread_mutex_unlock(&W.mu);
	return v;
}

static bool stopping(void)
{
	pthread_mutex_lock(&W.mu);
	bool v = W.stop;
	pthread_mutex_unlock(&W.mu);
	return v;
}

static void *run(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "refd-webhooks");
	int batch_min = W.cfg.concurrency < 16 ? 1 : W.cfg.concurrency / 4;
	int64_t next_check_us = 0;
	while (!stopping()) {
		int64_t mono = rf_clock_mono_us();
		int free_slots = W.cfg.concurrency - W.in_flight;
		bool kicked = take_flag(&W.kicked);
		if (free_slots > 0 && (free_slots >= batch_min || W.in_flight == 0) &&
		    (kicked || mono >= next_check_us)) {
			/* What finished is recorded first: a delivery sent but not yet recorded must not look due to
			 * the claim (its lease may have run out under a clock that jumped). */
			record_outcomes();
			int64_t now = rf_clock_now_ms(), due = 0;
			rf_err err = {0};
			next_check_us = mono + W.cfg.poll_ms * 1000;
			if (rf_store_delivery_next_due(W.store, "webhook", now, &due, &err) != RF_OK) {
				log_line("error", "reading due webhook deliveries failed", NULL, err.message);
			} else if (due && due <= now) {
				/* A whole batch: more may be waiting, so look again as soon as there is room. */
				if (claim_and_start(free_slots) == free_slots)
					next_check_us = mono;
			} else if (due && (due - now) * 1000 < next_check_us - mono) {
				next_check_us = mono + (due - now) * 1000;
			}
		}
		/* Outcomes are recorded in groups, but none waits long. */
		if (W.n_done &&
		    (W.n_done >= FLUSH_BATCH || W.in_flight == 0 || rf_clock_mono_us() - W.oldest_done_us >= FLUSH_US))
			record_outcomes();
		mono = rf_clock_mono_us();
		int64_t wait_us = next_check_us - mono;
		if (W.in_flight == W.cfg.concurrency || wait_us > W.cfg.poll_ms * 1000)
			wait_us = W.cfg.poll_ms * 1000;
		if (W.n_done && wait_us > FLUSH_US)
			wait_us = FLUSH_US;
		if (wait_us < 0)
			wait_us = 0;
		curl_multi_poll(W.multi, NULL, 0, (int)(wait_us / 1000), NULL);
		collect();
	}
	/* Stopping: the requests on their way get a little time, then their deliveries are left to their lease. */
	int64_t until = rf_clock_mono_us() + STOP_GRACE_US;
	while (W.in_flight > 0 && rf_clock_mono_us() < until) {
		curl_multi_poll(W.multi, NULL, 0, 100, NULL);
		collect();
	}
	record_outcomes();
	for (int k = 0; k < W.cfg.concurrency; k++) {
		if (W.slots[k].busy) {
			curl_multi_remove_handle(W.multi, W.slots[k].easy);
			transfer_clear(&W.slots[k]);
		}
	}
	W.in_flight = 0;
	return NULL;
}

static void release(void)
{
	if (W.slots) {
		for (int k = 0; k < W.cfg.concurrency; k++)
			if (W.slots[k].easy)
				curl_easy_cleanup(W.slots[k].easy);
		free(W.slots);
		W.slots = NULL;
	}
	if (W.multi)
		curl_multi_cleanup(W.multi);
	W.multi = NULL;
	if (W.store)
		rf_store_close(W.store);
	W.store = NULL;
	rf_arena_reset(&W.done_arena);
	W.done = NULL;
	W.n_done = W.cap_done = 0;
}

rf_status rf_webhooks_start(const char *location, const rf_webhooks_config *cfg, rf_err *err)
{
	if (cfg->concurrency < 1 || cfg->concurrency > 1024)
		return rf_err_set(err, RF_EINVAL, NULL, "webhook concurrency must be 1 to 1024");
	/* Counted by libcurl, and safe beside other threads in the versions refd builds with (7.84 and later). */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return rf_err_set(err, RF_EIO, NULL, "libcurl could not be initialised");
	W.cfg = *cfg;
	rf_arena_init(&W.done_arena, 0);
	/* A claim or an outcome lost in a power cut means a delivery sent again, which at least once allows: the
	 * sender's commits do not wait for the disk, and so take the database's write lock only briefly. */
	if (rf_store_open(location, &W.store, err) != RF_OK)
		return err->status;
	if (rf_store_lazy_commits(W.store, err) != RF_OK) {
		release();
		return err->status;
	}
	W.multi = curl_multi_init();
	W.slots = calloc((size_t)cfg->concurrency, sizeof *W.slots);
	bool ok = W.multi && W.slots;
	for (int k = 0; ok && k < cfg->concurrency; k++)
		ok = (W.slots[k].easy = curl_easy_init()) != NULL;
	if (!ok) {
		release();
		return rf_err_set(err, RF_ENOMEM, NULL, "out of memory starting the webhook sender");
	}
	W.stop = W.kicked = false;
	W.in_flight = 0;
	if (pthread_create(&W.thread, NULL, run, NULL) != 0) {
		release();
		return rf_err_set(err, RF_EIO, NULL, "cannot start the webhook sender's thread");
	}
	W.running = true;
	return RF_OK;
}

void rf_webhooks_kick(void)
{
	if (!W.running)
		return;
	pthread_mutex_lock(&W.mu);
	W.kicked = true;
	pthread_mutex_unlock(&W.mu);
	curl_multi_wakeup(W.multi);
}

void rf_webhooks_stop(void)
{
	if (!W.running)
		return;
	pthread_mutex_lock(&W.mu);
	W.stop = true;
	pthread_mutex_unlock(&W.mu);
	curl_multi_wakeup(W.multi);
	pthread_join(W.thread, NULL);
	W.running = false;
	release();
}
