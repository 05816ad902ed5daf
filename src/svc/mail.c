/* SPDX-License-Identifier: Apache-2.0 */
/* The mail service's outbox: the kinds of mail, writing a message and storing it for the sender (sealed when it
 * holds a secret), who turned which kind off, the signed unsubscribe tokens, and the sender's doorbell. */
#include "mail.h"

#include <jansson.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/clock.h"
#include "../core/mime.h"
#include "../core/money.h"
#include "../core/secret.h"
#include "../core/text.h"
#include "mail_draft.h"

#define MESSAGE_MAX (1u << 20)

const rf_mail_category rf_mail_categories[] = {
    {"application", "Decisions on your application", false, false},
    {"deal", "Decisions on your deal registrations", false, false},
    {"password_reset", "Password reset links", false, false},
    {"commissions_digest", "New commissions, once a day", true, false},
    {"deal_reminder", "Deal registrations about to expire", true, false},
    {"payout", "Payouts sent, with their statement", true, false},
    {"admin_digest", "What waits for review, once a day", true, true},
    {"admin_alert", "Webhook endpoints disabled after failing", true, true},
    {"test", "Test messages an admin asks for", false, true},
    {NULL, NULL, false, false},
};

const rf_mail_category *rf_mail_category_find(const char *name)
{
	for (const rf_mail_category *c = rf_mail_categories; name && c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

/* ---- the doorbell ---- */

/* Set once by the sender when it starts (and cleared when it stops), read by every worker after its commits. */
static void (*_Atomic waker)(void);

void rf_svc_mail_set_waker(void (*fn)(void))
{
	waker = fn;
}

void rf_svc_mail_wake(rf_svc *sv)
{
	if (!sv->mail_queued)
		return;
	sv->mail_queued = false;
	void (*fn)(void) = waker;
	if (fn)
		fn();
}

/* ---- unsubscribe tokens ---- */

static void token_mac(const unsigned char key[32], const char *subject_id, const char *category,
		      char out[RF_HEX256_LEN])
{
	/* The purpose, the subject and the kind, separated by NULs, which none of them holds. */
	char data[160];
	size_t n = 0;
	const char *parts[] = {"refd-unsubscribe", subject_id, category};
	for (size_t i = 0; i < 3; i++) {
		size_t l = strlen(parts[i]);
		if (l > 60)
			l = 60;
		memcpy(data + n, parts[i], l);
		n += l;
		data[n++] = '\0';
	}
	rf_keyed_hash_hex(key, data, n, out);
}

void rf_svc_mail_token(const unsigned char key[32], const char *subject_id, const char *category,
		       char out[RF_MAIL_TOKEN_MAX])
{
	char mac[RF_HEX256_LEN];
	token_mac(key, subject_id, category, mac);
	snprintf(out, RF_MAIL_TOKEN_MAX, "%s.%s.%s", subject_id, category, mac);
}

rf_status rf_svc_mail_token_check(const unsigned char key[32], const char *token, char *subject, size_t subject_len,
				  const rf_mail_category **category, rf_err *err)
{
	const char *bad =
	    "token: this unsubscribe link is not valid (it may be cut short: open the whole link from the "
	    "email)";
	size_t n = token ? strlen(token) : 0;
	const char *dot1 = n && n < RF_MAIL_TOKEN_MAX ? strchr(token, '.') : NULL;
	const char *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
	if (!dot2 || (size_t)(dot1 - token) >= subject_len || (size_t)(dot1 - token) > 64 || dot2 - dot1 - 1 > 40)
		return rf_err_set(err, RF_EINVAL, "token", "%s", bad);
	char kind[48];
	memcpy(subject, token, (size_t)(dot1 - token));
	subject[dot1 - token] = '\0';
	memcpy(kind, dot1 + 1, (size_t)(dot2 - dot1 - 1));
	kind[dot2 - dot1 - 1] = '\0';
	const rf_mail_category *c = rf_mail_category_find(kind);
	if (!c || !c->optional || !(rf_id_valid(subject, c->admin ? "usr" : "ptn")))
		return rf_err_set(err, RF_EINVAL, "token", "%s", bad);
	char mac[RF_HEX256_LEN];
	token_mac(key, subject, kind, mac);
	/* Compared in time that does not depend on where they differ. */
	if (strlen(dot2 + 1) != RF_HEX256_LEN - 1 || !rf_secret_equal(mac, dot2 + 1))
		return rf_err_set(err, RF_EINVAL, "token", "%s", bad);
	*category = c;
	return RF_OK;
}

/* ---- preferences ---- */

rf_status rf_mail_turned_off(rf_svc *sv, const char *subject_id, const char *category, bool *off, rf_err *err)
{
	char **cats = NULL;
	size_t n = 0;
	*off = false;
	/* A preview shows the message as it would be, whoever turned it off. */
	if (sv->mail_preview)
		return RF_OK;
	if (rf_store_mail_optouts(sv->store, subject_id, &cats, &n, sv->a, err) != RF_OK)
		return err->status;
	for (size_t i = 0; i < n; i++)
		if (strcmp(cats[i], category) == 0)
			*off = true;
	return RF_OK;
}

rf_status rf_svc_mail_prefs(rf_svc *sv, const char *subject_id, bool admin, rf_mail_pref *out, size_t max, size_t *n,
			    rf_err *err)
{
	char **cats = NULL;
	size_t nc = 0;
	*n = 0;
	if (rf_store_mail_optouts(sv->store, subject_id, &cats, &nc, sv->a, err) != RF_OK)
		return err->status;
	for (const rf_mail_category *c = rf_mail_categories; c->name && *n < max; c++) {
		if (c->admin != admin)
			continue;
		bool on = true;
		for (size_t i = 0; i < nc && c->optional; i++)
			if (strcmp(cats[i], c->name) == 0)
				on = false;
		out[(*n)++] = (rf_mail_pref){c, on};
	}
	return RF_OK;
}

rf_status rf_svc_mail_pref_set(rf_svc *sv, const char *subject_id, bool admin, const char *category, bool enabled,
			       const char *via, rf_err *err)
{
	const rf_mail_category *c = rf_mail_category_find(category);
	if (!c || c->admin != admin)
		return rf_err_set(err, RF_EINVAL, category, "%s: %s get no such email", category,
				  admin ? "admins" : "partners");
	if (!c->optional)
		return rf_err_set(err, RF_EINVAL, category, "%s: this email always goes (%s)", category, c->title);
	bool off = false;
	if (rf_mail_turned_off(sv, subject_id, category, &off, err) != RF_OK)
		return err->status;
	if (off == !enabled)
		return RF_OK;
	char *detail = rf_arena_printf(sv->a, "{\"category\":\"%s\",\"enabled\":%s,\"via\":\"%s\"}", category,
				       enabled ? "true" : "false", via);
	if (rf_store_mail_optout_set(sv->store, subject_id, category, !enabled, via, rf_clock_now_ms(), err) != RF_OK ||
	    rf_svc_audit(sv, enabled ? "mail.subscribe" : "mail.unsubscribe", subject_id, detail, err) != RF_OK)
		return err->status;
	return RF_OK;
}

/* ---- sealing ---- */

static char *seal_b64(rf_svc *sv, const char *plain, rf_err *err)
{
	unsigned char *blob = NULL;
	size_t len = 0;
	if (rf_seal(sv->cfg->secret, plain ? plain : "", sv->a, &blob, &len) != RF_OK) {
		rf_err_set(err, RF_ENOMEM, NULL, "out of memory sealing a message");
		return NULL;
	}
	size_t room = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	char *out = rf_arena_alloc(sv->a, room);
	if (!out) {
		rf_err_set(err, RF_ENOMEM, NULL, "out of memory sealing a message");
		return NULL;
	}
	sodium_bin2base64(out, room, blob, len, sodium_base64_VARIANT_ORIGINAL);
	return out;
}

static rf_status open_b64(const unsigned char key[32], char **field, rf_arena *a, rf_err *err)
{
	if (!*field || !**field) {
		*field = NULL;
		return RF_OK;
	}
	size_t n = strlen(*field), got = 0;
	unsigned char *blob = rf_arena_alloc(a, n);
	if (!blob)
		return rf_err_set(err, RF_ENOMEM, NULL, "out of memory");
	if (sodium_base642bin(blob, n, *field, n, NULL, &got, NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
		return rf_err_set(err, RF_EINVAL, NULL, "a sealed part of the message is not base64");
	char *plain = NULL;
	if (rf_unseal(key, blob, got, a, &plain) != RF_OK)
		return rf_err_set(err, RF_EINVAL, NULL, "a sealed part of the message was not sealed with this key");
	*field = plain;
	return RF_OK;
}

rf_status rf_svc_mail_open(const unsigned char key[32], rf_mail_message *m, rf_arena *a, rf_err *err)
{
	if (!m->sealed)
		return RF_OK;
	if (open_b64(key, &m->text_body, a, err) != RF_OK || open_b64(key, &m->html_body, a, err) != RF_OK ||
	    open_b64(key, &m->link, a, err) != RF_OK)
		return err->status;
	return RF_OK;
}

/* ---- writing a message ---- */

char *rf_mail_url(rf_svc *sv, const char *path)
{
	return rf_arena_printf(sv->a, "%s%s", sv->cfg->public_url, path);
}

char *rf_mail_money(rf_svc *sv, int64_t amount, const char *currency)
{
	char code[4];
	if (rf_currency_lookup(currency, code) < 0)
		snprintf(code, sizeof code, "%.3s", currency ? currency : "");
	char *dec = rf_money_decimal(sv->a, amount, code);
	return rf_arena_printf(sv->a, "%s %s", dec ? dec : "?", code);
}

char *rf_mail_day(rf_svc *sv, int64_t ms)
{
	char ts[40];
	rf_clock_format(ms, ts, sizeof ts);
	return rf_arena_strndup(sv->a, ts, 10);
}

void rf_mail_draft_start(rf_mail_draft *d, rf_svc *sv, const char *category, const char *to, const char *to_name)
{
	memset(d, 0, sizeof *d);
	d->sv = sv;
	d->category = rf_mail_category_find(category);
	d->m.category = (char *)category;
	d->m.recipient = (char *)to;
	d->m.recipient_name = (char *)to_name;
	rf_dbuf_init(&d->text, MESSAGE_MAX);
	rf_dbuf_init(&d->html, MESSAGE_MAX);
}

void rf_mail_draft_drop(rf_mail_draft *d)
{
	rf_dbuf_free(&d->text);
	rf_dbuf_free(&d->html);
}

static void text_para(rf_mail_draft *d, const char *s)
{
	rf_dbuf_adds(&d->text, s);
	rf_dbuf_adds(&d->text, "\n\n");
	rf_dbuf_adds(&d->html, "<p style=\"margin:0 0 16px\">");
	rf_mime_html_escape(&d->html, s);
	rf_dbuf_adds(&d->html, "</p>\n");
}

void rf_mail_greet(rf_mail_draft *d, const char *name)
{
	char *s = name && *name ? rf_arena_printf(d->sv->a, "Hello %s,", name) : "Hello,";
	text_para(d, s ? s : "Hello,");
}

void rf_mail_para(rf_mail_draft *d, const char *fmt, ...)
{
	char buf[4096];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	text_para(d, buf);
}

void rf_mail_button(rf_mail_draft *d, const char *label, const char *url)
{
	if (!d->m.link)
		d->m.link = (char *)url;
	rf_dbuf_addf(&d->text, "%s:\n%s\n\n", label, url);
	rf_dbuf_adds(&d->html, "<p style=\"margin:0 0 16px\"><a href=\"");
	rf_mime_html_escape(&d->html, url);
	rf_dbuf_adds(&d->html, "\" style=\"display:inline-block;padding:8px 16px;background:#1f5fbf;color:#ffffff;"
			       "text-decoration:none;border-radius:4px\">");
	rf_mime_html_escape(&d->html, label);
	rf_dbuf_adds(&d->html, "</a></p>\n");
}

static void cells(rf_mail_draft *d, const char *const *c, size_t ncols, const char *tag)
{
	rf_dbuf_adds(&d->html, "<tr>");
	for (size_t i = 0; i < ncols; i++) {
		rf_dbuf_addf(&d->html,
			     "<%s style=\"text-align:left;padding:4px 12px 4px 0;border-bottom:1px solid #ddd\">", tag);
		rf_mime_html_escape(&d->html, c[i] ? c[i] : "");
		rf_dbuf_addf(&d->html, "</%s>", tag);
	}
	rf_dbuf_adds(&d->html, "</tr>\n");
}

void rf_mail_table(rf_mail_draft *d, const char *const *head, size_t ncols)
{
	rf_dbuf_adds(&d->html, "<table style=\"border-collapse:collapse;margin:0 0 16px\">\n");
	cells(d, head, ncols, "th");
}

void rf_mail_row(rf_mail_draft *d, const char *const *c, size_t ncols)
{
	rf_dbuf_adds(&d->text, "-");
	for (size_t i = 0; i < ncols; i++)
		rf_dbuf_addf(&d->text, "%s%s", i ? " | " : " ", c[i] ? c[i] : "");
	rf_dbuf_adds(&d->text, "\n");
	cells(d, c, ncols, "td");
}

void rf_mail_table_end(rf_mail_draft *d)
{
	rf_dbuf_adds(&d->text, "\n");
	rf_dbuf_adds(&d->html, "</table>\n");
}

/* The host of the public address, for the right side of Message-IDs: letters, digits, dots and hyphens only. */
static const char *id_host(rf_svc *sv)
{
	const char *u = sv->cfg->public_url, *p = strstr(u, "://");
	p = p ? p + 3 : u;
	size_t n = strcspn(p, ":/");
	for (size_t i = 0; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-", p[i]))
			return "refd.invalid";
	return n ? rf_arena_strndup(sv->a, p, n) : "refd.invalid";
}

static rf_status take(rf_dbuf *b, char **out, rf_svc *sv, rf_err *err)
{
	char *s = NULL;
	size_t len = 0;
	rf_status st = rf_dbuf_take(b, &s, &len);
	if (st != RF_OK)
		return rf_err_set(err, st, NULL, "the message is too large to compose");
	*out = rf_arena_strdup(sv->a, s);
	free(s);
	return *out ? RF_OK : rf_err_set(err, RF_ENOMEM, NULL, "out of memory");
}

rf_status rf_mail_draft_queue(rf_mail_draft *d, rf_err *err)
{
	rf_svc *sv = d->sv;
	rf_mail_message *m = &d->m;
	rf_dbuf page = RF_DBUF_INIT(MESSAGE_MAX);
	rf_status rc = RF_OK;
	json_t *headers = json_object();
	char *unsub = NULL;
	if (d->category && d->category->optional && d->unsub_subject) {
		char token[RF_MAIL_TOKEN_MAX];
		rf_svc_mail_token(sv->cfg->secret, d->unsub_subject, d->category->name, token);
		unsub = rf_arena_printf(sv->a, "%s/api/v1/unsubscribe?token=%s", sv->cfg->public_url, token);
		/* RFC 8058: a mail client may unsubscribe with one POST to this address, without anyone signing in. */
		json_object_set_new(headers, "List-Unsubscribe", json_string(rf_arena_printf(sv->a, "<%s>", unsub)));
		json_object_set_new(headers, "List-Unsubscribe-Post", json_string("List-Unsubscribe=One-Click"));
	}
	/* The footer: who sends it and why, and how to stop an optional kind. */
	const char *who = d->sender ? rf_arena_printf(sv->a, "the %s partner program", d->sender) : "refd";
	rf_dbuf_addf(&d->text, "-- \nThis email comes from %s at %s.\n", who, sv->cfg->public_url);
	rf_dbuf_adds(&d->html, "<hr style=\"border:0;border-top:1px solid #ddd;margin:24px 0 12px\">\n"
			       "<p style=\"font-size:12px;color:#666666;margin:0 0 8px\">This email comes from ");
	rf_mime_html_escape(&d->html, who);
	rf_dbuf_adds(&d->html, " at ");
	rf_mime_html_escape(&d->html, sv->cfg->public_url);
	rf_dbuf_adds(&d->html, ".</p>\n");
	if (unsub) {
		rf_dbuf_addf(&d->text, "You get it because \"%s\" is on. To stop these emails: %s\n",
			     d->category->title, unsub);
		rf_dbuf_adds(&d->html, "<p style=\"font-size:12px;color:#666666;margin:0\">You get it because &quot;");
		rf_mime_html_escape(&d->html, d->category->title);
		rf_dbuf_adds(&d->html, "&quot; is on. <a href=\"");
		rf_mime_html_escape(&d->html, unsub);
		rf_dbuf_adds(&d->html, "\" style=\"color:#666666\">Stop these emails</a>.</p>\n");
	}
	rf_dbuf_adds(&page, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
			    "<meta name=\"viewport\" content=\"width=device-width\"><title>");
	rf_mime_html_escape(&page, m->subject);
	rf_dbuf_adds(&page, "</title></head>\n<body style=\"margin:0;padding:0;background:#ffffff\">\n"
			    "<div style=\"max-width:600px;margin:0 auto;padding:24px 16px;font-family:-apple-system,"
			    "'Segoe UI',Roboto,Helvetica,Arial,sans-serif;font-size:15px;line-height:1.5;"
			    "color:#222222\">\n");
	if (rf_dbuf_status(&d->html) == RF_OK)
		rf_dbuf_add(&page, d->html.p ? d->html.p : "", d->html.len);
	else
		page.st = rf_dbuf_status(&d->html);
	rf_dbuf_adds(&page, "</div>\n</body></html>\n");
	char *hdrs = json_dumps(headers, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(headers);
	m->headers = rf_arena_strdup(sv->a, hdrs ? hdrs : "{}");
	free(hdrs);
	if ((rc = take(&d->text, &m->text_body, sv, err)) != RF_OK ||
	    (rc = take(&page, &m->html_body, sv, err)) != RF_OK)
		goto fail;
	m->id = rf_id_new_arena(sv->a, "msg");
	m->message_id = rf_arena_printf(sv->a, "<%s@%s>", m->id ? m->id : "", id_host(sv));
	m->created_at = rf_clock_now_ms();
	if (!m->id || !m->message_id) {
		rc = rf_err_set(err, RF_ENOMEM, NULL, "out of memory");
		goto fail;
	}
	if (sv->mail_preview) {
		/* Previewing: the message goes to the caller, unsealed and not stored. */
		sv->mail_preview->m = *m;
		sv->mail_preview->filled = true;
		goto fail;
	}
	if (m->sealed) {
		/* The secret (a password reset's link) is kept sealed until it is sent, then forgotten. */
		char *t = seal_b64(sv, m->text_body, err), *h = t ? seal_b64(sv, m->html_body, err) : NULL;
		char *l = h && m->link ? seal_b64(sv, m->link, err) : NULL;
		if (!t || !h || (m->link && !l)) {
			rc = err->status;
			goto fail;
		}
		m->text_body = t;
		m->html_body = h;
		m->link = l;
	}
	rf_delivery dl;
	memset(&dl, 0, sizeof dl);
	dl.id = rf_id_new_arena(sv->a, "dlv");
	dl.kind = "mail";
	dl.target_id = m->id;
	dl.event_id = m->event_id ? m->event_id : m->id;
	dl.status = "pending";
	dl.next_at = dl.created_at = dl.updated_at = m->created_at;
	if ((rc = rf_store_mail_message_insert(sv->store, m, err)) != RF_OK ||
	    (rc = rf_store_delivery_insert(sv->store, &dl, err)) != RF_OK)
		goto fail;
	sv->mail_queued = true;
fail:
	rf_dbuf_free(&page);
	rf_mail_draft_drop(d);
	return rc;
}
