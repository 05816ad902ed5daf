/* SPDX-License-Identifier: Apache-2.0 */
/* The mail sender of integrations/mail.h: claims due messages, sends them over SMTP with libcurl (or writes them to
 * the log), and records each attempt. */
#include "mail.h"

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/arena.h"
#include "../core/clock.h"
#include "../core/dbuf.h"
#include "../core/text.h"
#include "../svc/mail.h"

#define BATCH 10
/* A claim outlasts the longest SMTP exchange, so that no other sender takes the message meanwhile. */
#define LEASE_MS (10 * 60 * 1000LL)
#define LOOK_EVERY_MS 5000
#define GIVE_UP_MS (24 * 3600 * 1000LL)
#define MESSAGE_MAX (2u << 20)

/* Pauses after the 1st, 2nd, ... failed attempt (seconds): about a day in all, then the message is given up. */
static const int64_t backoff_s[] = {60, 300, 900, 1800, 3600, 7200, 14400, 28800, 28800};

static struct {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool running, stop, kicked;
	atomic_bool stopping; /* read by libcurl's progress callback, to cut an exchange short */
	const rf_mail_config *cfg;
	rf_store *store;
} M = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static void log_json(json_t *o)
{
	if (!o)
		return;
	char ts[40];
	rf_clock_format(rf_clock_now_ms(), ts, sizeof ts);
	json_t *line = json_pack("{s:s}", "ts", ts);
	json_object_update(line, o);
	json_decref(o);
	char *txt = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(line);
	if (txt) {
		printf("%s\n", txt);
		fflush(stdout);
		free(txt);
	}
}

/* ---- one message as it goes out ---- */

typedef struct {
	const char *data;
	size_t len, off;
} upload;

static size_t read_cb(char *buf, size_t size, size_t n, void *arg)
{
	upload *u = arg;
	size_t room = size * n, left = u->len - u->off;
	size_t k = left < room ? left : room;
	memcpy(buf, u->data + u->off, k);
	u->off += k;
	return k;
}

static int progress_cb(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	(void)arg;
	(void)dt;
	(void)dn;
	(void)ut;
	(void)un;
	return atomic_load(&M.stopping) ? 1 : 0;
}

/* The message as it goes on the wire. */
static rf_status build(const rf_mail_config *cfg, rf_mail_message *m, rf_arena *a, rf_dbuf *out, rf_err *err)
{
	if (rf_svc_mail_open(cfg->app->secret, m, a, err) != RF_OK)
		return err->status;
	json_t *h = json_loads(m->headers ? m->headers : "{}", 0, NULL);
	rf_mime_field extra[12];
	size_t n = 0;
	const char *k;
	json_t *v;
	json_object_foreach(h, k, v)
	{
		if (n < 10 && json_is_string(v))
			extra[n++] = (rf_mime_field){rf_arena_strdup(a, k), rf_arena_strdup(a, json_string_value(v))};
	}
	json_decref(h);
	/* RFC 3834: automatic mail, to which an auto-responder must not answer. */
	extra[n++] = (rf_mime_field){"Auto-Submitted", "auto-generated"};
	unsigned char rnd[12];
	char hex[25], boundary[40];
	randombytes_buf(rnd, sizeof rnd);
	sodium_bin2hex(hex, sizeof hex, rnd, sizeof rnd);
	snprintf(boundary, sizeof boundary, "=_refd_%s", hex);
	rf_mime_message mm = {.from_name = cfg->from_name,
			      .from_addr = cfg->from_addr,
			      .to_name = m->recipient_name,
			      .to_addr = m->recipient,
			      .subject = m->subject,
			      .message_id = m->message_id,
			      .date_ms = m->created_at,
			      .extra = extra,
			      .n_extra = n,
			      .text = m->text_body,
			      .html = m->html_body,
			      .boundary = boundary};
	return rf_mime_build(out, &mm, err);
}

/* What one attempt gave. */
typedef struct {
	bool delivered, permanent, aborted;
	long code; /* the server's last reply code, 0 when there was none */
	char error[512];
} outcome;

static void send_smtp(const rf_mail_config *cfg, const rf_mail_message *m, const char *data, size_t len, outcome *out)
{
	CURL *h = curl_easy_init();
	if (!h) {
		snprintf(out->error, sizeof out->error, "libcurl could not start");
		return;
	}
	char errbuf[CURL_ERROR_SIZE] = "", from[RF_MIME_ADDR_MAX + 3], to[RF_MIME_ADDR_MAX + 3];
	snprintf(from, sizeof from, "<%s>", cfg->from_addr);
	snprintf(to, sizeof to, "<%s>", m->recipient);
	struct curl_slist *rcpt = curl_slist_append(NULL, to);
	upload u = {data, len, 0};
	curl_easy_setopt(h, CURLOPT_URL, cfg->smtp_url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(h, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
	curl_easy_setopt(h, CURLOPT_READDATA, &u);
	/* smtp:// upgrades with STARTTLS when the server offers it, or must (--smtp-require-tls); smtps:// is TLS from
	 * the first byte. */
	curl_easy_setopt(h, CURLOPT_USE_SSL, cfg->require_tls ? (long)CURLUSESSL_ALL : (long)CURLUSESSL_TRY);
	if (cfg->ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, cfg->ca_file);
	if (cfg->user) {
		curl_easy_setopt(h, CURLOPT_USERNAME, cfg->user);
		curl_easy_setopt(h, CURLOPT_PASSWORD, cfg->password ? cfg->password : "");
	}
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, cfg->timeout_ms > 0 ? cfg->timeout_ms : 60000L);
	/* No signals from a thread of a server that waits for its own (name resolution's timeouts use them). */
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, progress_cb);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	CURLcode rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->code);
	if (rc == CURLE_OK) {
		out->delivered = true;
	} else {
		out->aborted = rc == CURLE_ABORTED_BY_CALLBACK;
		if (out->code >= 400)
			snprintf(out->error, sizeof out->error, "the SMTP server answered %ld (%s)", out->code,
				 errbuf[0] ? errbuf : curl_easy_strerror(rc));
		else
			snprintf(out->error, sizeof out->error, "%s%s%.300s", curl_easy_strerror(rc),
				 errbuf[0] ? ": " : "", errbuf);
		/* A refusal that says the message will never be taken (mailbox unknown or refused, policy); not a
		 * refused login or a TLS requirement, which the operator can fix. */
		out->permanent = out->code >= 550 && out->code <= 554;
	}
	curl_slist_free_all(rcpt);
	curl_easy_cleanup(h);
}

/* The log transport: one JSON line per message. A password reset keeps the line refd always wrote for it. */
static void send_log(rf_mail_message *m, outcome *out)
{
	if (strcmp(m->category, "password_reset") == 0)
		log_json(json_pack("{s:s, s:s, s:s, s:s, s:i}", "level", "info", "msg", "password reset link", "email",
				   m->recipient, "url", m->link ? m->link : "", "expires_in_minutes",
				   RF_MAIL_RESET_MINUTES));
	else
		log_json(json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o}", "level", "info", "msg", "mail",
				   "transport", "log", "id", m->id, "category", m->category, "to", m->recipient,
				   "subject", m->subject, "url", m->link ? json_string(m->link) : json_null()));
	out->delivered = true;
}

/* ---- claiming and recording ---- */

typedef struct {
	rf_arena *a;
	int max;
	rf_delivery *items;
	rf_mail_message *msgs;
	bool *found;
	size_t n;
} claim_job;

static rf_status claim_step(rf_store *s, void *arg, rf_err *err)
{
	claim_job *j = arg;
	j->n = 0;
	if (rf_store_delivery_claim(s, "mail", rf_clock_now_ms(), LEASE_MS, j->max, &j->items, &j->n, j->a, err) !=
	    RF_OK)
		return err->status;
	j->msgs = rf_arena_alloc(j->a, sizeof *j->msgs * (j->n + 1));
	j->found = rf_arena_alloc(j->a, sizeof *j->found * (j->n + 1));
	if (!j->msgs || !j->found)
		return rf_err_set(err, RF_ENOMEM, NULL, "out of memory");
	for (size_t i = 0; i < j->n; i++) {
		rf_status rc = rf_store_mail_message_get(s, j->items[i].target_id, &j->msgs[i], j->a, err);
		if (rc != RF_OK && rc != RF_ENOTFOUND)
			return rc;
		j->found[i] = rc == RF_OK;
	}
	return RF_OK;
}

typedef struct {
	rf_delivery *d;
	rf_delivery_attempt *at;
	bool finished, delivered;
} record_job;

static rf_status record_step(rf_store *s, void *arg, rf_err *err)
{
	record_job *j = arg;
	if (rf_store_delivery_attempted(s, j->d, j->at, err) != RF_OK)
		return err->status;
	if (j->finished) {
		rf_status rc = rf_store_mail_message_finish(s, j->d->target_id, j->delivered, j->at->at, err);
		if (rc != RF_OK && rc != RF_ENOTFOUND)
			return rc;
	}
	return RF_OK;
}

/* Sends one claimed message and records the attempt; false when the sender is stopping (nothing recorded: the
 * claim runs out and the message is tried again). */
static bool attempt(rf_store *s, const rf_mail_config *cfg, rf_delivery *d, rf_mail_message *m, bool found, rf_arena *a)
{
	outcome out;
	memset(&out, 0, sizeof out);
	int64_t start = rf_clock_mono_us();
	rf_err err = {0};
	if (!found) {
		snprintf(out.error, sizeof out.error, "the message is gone");
		out.permanent = true;
	} else {
		rf_dbuf wire = RF_DBUF_INIT(MESSAGE_MAX);
		if (build(cfg, m, a, &wire, &err) != RF_OK) {
			snprintf(out.error, sizeof out.error, "the message cannot be built: %.200s", err.message);
			out.permanent = true;
		} else if (cfg->smtp_url) {
			send_smtp(cfg, m, wire.p, wire.len, &out);
		} else {
			send_log(m, &out);
		}
		rf_dbuf_free(&wire);
	}
	if (out.aborted)
		return false;
	int64_t now = rf_clock_now_ms();
	rf_delivery_attempt at = {.delivery_id = d->id,
				  .at = now,
				  .has_status_code = out.code > 0,
				  .status_code = (int)out.code,
				  .latency_ms = (rf_clock_mono_us() - start) / 1000,
				  .error = out.delivered ? NULL : out.error};
	d->attempts++;
	d->has_status_code = out.code > 0;
	d->last_status_code = (int)out.code;
	d->last_error = out.delivered ? NULL : out.error;
	bool gave_up = false;
	if (out.delivered) {
		d->status = "delivered";
	} else {
		size_t i = (size_t)(d->attempts - 1);
		int64_t pause =
		    backoff_s[i < sizeof backoff_s / sizeof backoff_s[0] ? i
									 : sizeof backoff_s / sizeof backoff_s[0] - 1] *
		    1000;
		/* Given up on a permanent refusal, or when the next try would come more than a day after the message
		 * was made. */
		gave_up = out.permanent || now + pause - d->created_at > GIVE_UP_MS;
		d->status = gave_up ? "failed" : "pending";
		d->next_at = gave_up ? now : now + pause;
	}
	record_job rj = {d, &at, out.delivered || gave_up, out.delivered};
	if (rf_store_tx(s, record_step, &rj, &err) != RF_OK) {
		log_json(json_pack("{s:s, s:s, s:s, s:s}", "level", "error", "msg", "mail attempt not recorded", "id",
				   d->target_id, "detail", err.message));
		return true;
	}
	if (out.delivered && cfg->smtp_url)
		log_json(json_pack("{s:s, s:s, s:s, s:s, s:s, s:i}", "level", "info", "msg", "mail sent", "id",
				   d->target_id, "category", found ? m->category : "", "to", found ? m->recipient : "",
				   "attempts", d->attempts));
	else if (!out.delivered) {
		json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:i}", "level", gave_up ? "error" : "warn", "msg",
				      gave_up ? "mail given up" : "mail not sent yet", "id", d->target_id, "error",
				      out.error, "attempts", d->attempts);
		if (o && !gave_up) {
			char when[40];
			rf_clock_format(d->next_at, when, sizeof when);
			json_object_set_new(o, "next_attempt_at", json_string(when));
		}
		log_json(o);
	}
	return true;
}

rf_status rf_mail_send_due(rf_store *s, const rf_mail_config *cfg, int max, int *attempted, rf_err *err)
{
	*attempted = 0;
	rf_arena a;
	rf_arena_init(&a, 0);
	claim_job j = {.a = &a, .max = max};
	rf_status rc = rf_store_tx(s, claim_step, &j, err);
	for (size_t i = 0; rc == RF_OK && i < j.n; i++) {
		if (!attempt(s, cfg, &j.items[i], &j.msgs[i], j.found[i], &a))
			break;
		(*attempted)++;
	}
	rf_arena_reset(&a);
	return rc;
}

/* ---- the thread ---- */

static void *run(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "refd-mail");
	pthread_mutex_lock(&M.mu);
	while (!M.stop) {
		M.kicked = false;
		pthread_mutex_unlock(&M.mu);
		for (;;) {
			rf_err err = {0};
			int n = 0;
			if (rf_mail_send_due(M.store, M.cfg, BATCH, &n, &err) != RF_OK) {
				log_json(json_pack("{s:s, s:s, s:s}", "level", "error", "msg", "mail sender failed",
						   "detail", err.message));
				break;
			}
			if (n < BATCH || atomic_load(&M.stopping))
				break;
		}
		pthread_mutex_lock(&M.mu);
		if (M.stop || M.kicked)
			continue;
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += LOOK_EVERY_MS / 1000;
		until.tv_nsec += (LOOK_EVERY_MS % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&M.cv, &M.mu, &until);
	}
	pthread_mutex_unlock(&M.mu);
	return NULL;
}

void rf_mail_kick(void)
{
	pthread_mutex_lock(&M.mu);
	M.kicked = true;
	pthread_cond_signal(&M.cv);
	pthread_mutex_unlock(&M.mu);
}

rf_status rf_mail_start(const char *location, const rf_mail_config *cfg, rf_err *err)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return rf_err_set(err, RF_EIO, NULL, "libcurl cannot start");
	if (rf_store_open(location, &M.store, err) != RF_OK)
		return err->status;
	M.cfg = cfg;
	M.stop = M.kicked = false;
	atomic_store(&M.stopping, false);
	if (pthread_create(&M.thread, NULL, run, NULL) != 0) {
		rf_store_close(M.store);
		M.store = NULL;
		return rf_err_set(err, RF_EIO, NULL, "cannot start the mail sender");
	}
	M.running = true;
	rf_svc_mail_set_waker(rf_mail_kick);
	return RF_OK;
}

void rf_mail_stop(void)
{
	if (!M.running)
		return;
	rf_svc_mail_set_waker(NULL);
	atomic_store(&M.stopping, true);
	pthread_mutex_lock(&M.mu);
	M.stop = true;
	pthread_cond_signal(&M.cv);
	pthread_mutex_unlock(&M.mu);
	pthread_join(M.thread, NULL);
	M.running = false;
	rf_store_close(M.store);
	M.store = NULL;
	curl_global_cleanup();
}
