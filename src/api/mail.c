/* SPDX-License-Identifier: Apache-2.0 */
/* Mail: each person's notification settings (/api/v1/notifications: which optional mail a partner or an admin
 * gets), the one-click unsubscribe of RFC 8058 (/api/v1/unsubscribe, signed links that need no session), and for
 * admins how mail goes out (/api/v1/mail/settings), a test message, and the outbox with every message's delivery
 * (/api/v1/mail/messages). */
#include <stdio.h>
#include <string.h>

#include "../core/dbuf.h"
#include "../core/mime.h"
#include "../core/text.h"
#include "../svc/mail.h"
#include "api.h"

/* ---- views ---- */

static json_t *message_json(const rf_mail_message *m, bool full)
{
	json_t *headers = json_loads(m->headers ? m->headers : "{}", 0, NULL);
	bool pending = m->status && strcmp(m->status, "pending") == 0;
	json_t *o = json_pack("{s:s, s:s, s:s, s:{s:s, s:o}, s:s, s:o, s:o, s:o, s:o, s:s}", "id", m->id, "object",
			      "mail_message", "category", m->category, "to", "email", m->recipient, "name",
			      rf_json_nullable(m->recipient_name), "subject", m->subject, "user_id",
			      rf_json_nullable(m->user_id), "partner_id", rf_json_nullable(m->partner_id), "program_id",
			      rf_json_nullable(m->program_id), "event_id", rf_json_nullable(m->event_id), "message_id",
			      m->message_id);
	/* A sealed message's link is a secret (a password reset's): it is never shown. */
	json_object_set_new(o, "link", rf_json_nullable(m->sealed ? NULL : m->link));
	json_object_set_new(o, "headers", headers ? headers : json_object());
	json_object_set_new(o, "sealed", json_boolean(m->sealed));
	json_object_set_new(o, "status", json_string(m->status ? m->status : "pending"));
	json_object_set_new(o, "attempts", json_integer(m->attempts));
	json_object_set_new(o, "next_attempt_at", pending ? rf_json_time(m->next_at) : json_null());
	json_object_set_new(o, "last_status_code",
			    m->has_status_code ? json_integer(m->last_status_code) : json_null());
	json_object_set_new(o, "last_error", rf_json_nullable(m->last_error));
	json_object_set_new(o, "created_at", rf_json_time(m->created_at));
	json_object_set_new(o, "sent_at", rf_json_time(m->sent_at));
	if (full) {
		json_object_set_new(o, "text", rf_json_nullable(m->sealed ? NULL : m->text_body));
		json_object_set_new(o, "html", rf_json_nullable(m->sealed ? NULL : m->html_body));
	}
	return o;
}

/* ---- notification settings ---- */

/* Whose settings the caller manages: its partner's (partners and managers), or its own as an admin. */
static rf_status subject_of(rf_ctx *c, const char **subject, bool *admin, const char **email, rf_err *err)
{
	*admin = c->who.role >= RF_ROLE_ADMIN;
	if (!*admin) {
		rf_partner p;
		if (!c->who.partner_id)
			return rf_err_set(err, RF_EFORBIDDEN, NULL, "this login belongs to no partner");
		if (rf_store_partner_get(c->app->store, c->who.partner_id, &p, c->a, err) != RF_OK)
			return err->status;
		*subject = p.id;
		*email = p.email;
		return RF_OK;
	}
	rf_user u;
	if (!c->who.user_id)
		return rf_err_set(err, RF_EFORBIDDEN, NULL,
				  "notification settings are a person's: sign in as the admin whose mail they are");
	if (rf_store_user_get(c->app->store, c->who.user_id, &u, c->a, err) != RF_OK)
		return err->status;
	*subject = u.id;
	*email = u.email;
	return RF_OK;
}

static json_t *settings_json(rf_ctx *c, const char *subject, bool admin, const char *email, rf_err *err)
{
	rf_mail_pref prefs[16];
	size_t n = 0;
	if (rf_svc_mail_prefs(rf_ctx_svc(c), subject, admin, prefs, 16, &n, err) != RF_OK)
		return NULL;
	json_t *cats = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(cats, json_pack("{s:s, s:s, s:b, s:b}", "category", prefs[i].category->name,
						      "title", prefs[i].category->title, "optional",
						      prefs[i].category->optional, "enabled", prefs[i].enabled));
	return json_pack("{s:s, s:s, s:s, s:s, s:o}", "object", "notification_settings", "subject_id", subject, "email",
			 email, "transport", c->app->cfg->mail_smtp ? "smtp" : "log", "categories", cats);
}

void rf_api_notifications_get(rf_ctx *c)
{
	rf_err err = {0};
	const char *subject = NULL, *email = NULL;
	bool admin = false;
	json_t *o = NULL;
	if (subject_of(c, &subject, &admin, &email, &err) != RF_OK ||
	    !(o = settings_json(c, subject, admin, email, &err))) {
		rf_json_error(c, &err);
		return;
	}
	rf_json_send(c, 200, o);
}

static const rf_jfield notification_fields[] = {
    {"commissions_digest", RF_JT_BOOL, false, 0, NULL},
    {"deal_reminder", RF_JT_BOOL, false, 0, NULL},
    {"payout", RF_JT_BOOL, false, 0, NULL},
    {"admin_digest", RF_JT_BOOL, false, 0, NULL},
    {"admin_alert", RF_JT_BOOL, false, 0, NULL},
    {NULL, 0, false, 0, NULL},
};

void rf_api_notifications_update(rf_ctx *c)
{
	json_t *body = rf_api_body(c, notification_fields);
	if (!body)
		return;
	rf_err err = {0};
	const char *subject = NULL, *email = NULL;
	bool admin = false;
	json_t *o = NULL;
	if (subject_of(c, &subject, &admin, &email, &err) != RF_OK)
		goto fail;
	const char *k;
	json_t *v;
	json_object_foreach(body, k, v)
	{
		if (rf_svc_mail_pref_set(rf_ctx_svc(c), subject, admin, k, json_is_true(v), "settings", &err) != RF_OK)
			goto fail;
	}
	if (!(o = settings_json(c, subject, admin, email, &err)))
		goto fail;
	json_decref(body);
	rf_json_send(c, 200, o);
	return;
fail:
	json_decref(body);
	rf_json_error(c, &err);
}

/* ---- one-click unsubscribe ---- */

/* Sends a small page of refd's own: no script, nothing from elsewhere, no referrer (the address holds the token). */
static void send_page(rf_ctx *c, int status, const char *title, const char *body_html)
{
	rf_dbuf b = RF_DBUF_INIT(1 << 16);
	rf_dbuf_adds(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
			 "<meta name=\"viewport\" content=\"width=device-width\"><title>");
	rf_mime_html_escape(&b, title);
	rf_dbuf_adds(&b,
		     " &middot; refd</title></head>\n<body style=\"font-family:system-ui,sans-serif;max-width:36rem;"
		     "margin:3rem auto;padding:0 1rem;line-height:1.5;color:#222\">\n<h1>");
	rf_mime_html_escape(&b, title);
	rf_dbuf_addf(&b, "</h1>\n%s</body></html>\n", body_html);
	char *page = NULL;
	size_t len = 0;
	if (rf_dbuf_take(&b, &page, &len) != RF_OK) {
		rf_json_fail(c, RF_ENOMEM, NULL, "out of memory");
		return;
	}
	rf_resp_header(c->req, "Content-Security-Policy",
		       "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; "
		       "base-uri 'none'");
	rf_resp_header(c->req, "Referrer-Policy", "no-referrer");
	rf_resp_header(c->req, "Cache-Control", "no-store");
	rf_ctx_send(c, status, "text/html; charset=utf-8", page, len);
	free(page);
}

static void bad_link(rf_ctx *c, const rf_err *err)
{
	rf_dbuf b = RF_DBUF_INIT(4096);
	rf_dbuf_adds(&b, "<p>");
	rf_mime_html_escape(&b, err->message);
	rf_dbuf_adds(&b, "</p>\n<p>The kinds of email you get can also be chosen in the partner portal.</p>\n");
	send_page(c, rf_status_http(err->status), "This link does not work", b.p ? b.p : "");
	rf_dbuf_free(&b);
}

/* Reads the token of the query and whose mail it is about; on failure sends the page saying so. */
static bool unsubscribe_target(rf_ctx *c, char *subject, size_t len, const rf_mail_category **cat, const char **email)
{
	rf_err err = {0};
	const char *token = rf_req_query(c->req, "token");
	if (!token || !*token) {
		rf_err_set(&err, RF_EINVAL, "token",
			   "token: the unsubscribe link is incomplete (its token is missing)");
		bad_link(c, &err);
		return false;
	}
	if (rf_svc_mail_token_check(c->app->cfg->secret, token, subject, len, cat, &err) != RF_OK) {
		bad_link(c, &err);
		return false;
	}
	rf_status rc;
	if ((*cat)->admin) {
		rf_user u;
		rc = rf_store_user_get(c->app->store, subject, &u, c->a, &err);
		*email = rc == RF_OK ? u.email : NULL;
	} else {
		rf_partner p;
		rc = rf_store_partner_get(c->app->store, subject, &p, c->a, &err);
		*email = rc == RF_OK ? p.email : NULL;
	}
	if (rc == RF_ENOTFOUND)
		rf_err_set(&err, RF_EINVAL, "token", "token: the account this link was sent to is gone");
	if (rc != RF_OK) {
		bad_link(c, &err);
		return false;
	}
	return true;
}

void rf_api_unsubscribe_page(rf_ctx *c)
{
	char subject[80];
	const rf_mail_category *cat = NULL;
	const char *email = NULL;
	if (!unsubscribe_target(c, subject, sizeof subject, &cat, &email))
		return;
	rf_dbuf b = RF_DBUF_INIT(8192);
	rf_dbuf_adds(&b, "<p>Stop the emails &ldquo;");
	rf_mime_html_escape(&b, cat->title);
	rf_dbuf_adds(&b, "&rdquo; to ");
	rf_mime_html_escape(&b, email);
	rf_dbuf_adds(&b, "?</p>\n<form method=\"post\" action=\"/api/v1/unsubscribe?token=");
	rf_mime_html_escape(&b, rf_req_query(c->req, "token"));
	rf_dbuf_adds(&b, "\"><input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">"
			 "<button type=\"submit\" style=\"font-size:1rem;padding:.5rem 1.25rem\">Unsubscribe</button>"
			 "</form>\n<p>Email you cannot do without (decisions on applications and deal registrations, "
			 "password resets) still comes.</p>\n");
	send_page(c, 200, "Unsubscribe", b.p ? b.p : "");
	rf_dbuf_free(&b);
}

void rf_api_unsubscribe(rf_ctx *c)
{
	/* RFC 8058: the mail client posts "List-Unsubscribe=One-Click" as a form; the token in the address is what
	 * counts, so the body is read for its type only. */
	size_t blen = 0;
	rf_req_body(c->req, &blen);
	const char *ct = rf_req_header(c->req, "Content-Type");
	if (blen && (!ct || (strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0 &&
			     strncasecmp(ct, "multipart/form-data", 19) != 0))) {
		rf_json_fail(
		    c, RF_EINVAL, "Content-Type",
		    "the body must be a form (application/x-www-form-urlencoded or multipart/form-data), not %.40s",
		    ct ? ct : "none");
		return;
	}
	char subject[80];
	const rf_mail_category *cat = NULL;
	const char *email = NULL;
	if (!unsubscribe_target(c, subject, sizeof subject, &cat, &email))
		return;
	rf_err err = {0};
	rf_svc *sv = rf_ctx_svc(c);
	/* Nobody signs in to follow the link: the audit trail names the link, and the subject it was for. */
	sv->actor = "unsubscribe-link";
	if (rf_svc_mail_pref_set(sv, subject, cat->admin, cat->name, false, "unsubscribe", &err) != RF_OK) {
		rf_json_error(c, &err);
		return;
	}
	rf_dbuf b = RF_DBUF_INIT(8192);
	rf_dbuf_adds(&b, "<p>");
	rf_mime_html_escape(&b, email);
	rf_dbuf_adds(&b, " gets no more emails &ldquo;");
	rf_mime_html_escape(&b, cat->title);
	rf_dbuf_adds(&b, "&rdquo;. Email you cannot do without still comes.</p>\n");
	send_page(c, 200, "Unsubscribed", b.p ? b.p : "");
	rf_dbuf_free(&b);
}

/* ---- admins: settings, a test, the outbox ---- */

void rf_api_mail_settings(rf_ctx *c)
{
	rf_err err = {0};
	int64_t counts[3];
	if (rf_store_mail_queue_counts(c->app->store, counts, &err) != RF_OK) {
		rf_json_error(c, &err);
		return;
	}
	const rf_app_config *cfg = c->app->cfg;
	json_t *smtp = json_null();
	if (cfg->mail_smtp)
		smtp = json_pack("{s:s, s:s, s:o}", "url", cfg->mail_smtp_url, "tls",
				 strncmp(cfg->mail_smtp_url, "smtps://", 8) == 0 ? "implicit"
				 : cfg->mail_require_tls                         ? "starttls_required"
										 : "starttls_when_offered",
				 "username", rf_json_nullable(cfg->mail_smtp_user[0] ? cfg->mail_smtp_user : NULL));
	rf_json_send(c, 200,
		     json_pack("{s:s, s:s, s:o, s:s, s:i, s:{s:I, s:I, s:I}}", "object", "mail_settings", "transport",
			       cfg->mail_smtp ? "smtp" : "log", "smtp", smtp, "from", cfg->mail_from, "digest_hour_utc",
			       cfg->digest_hour, "queue", "pending", (json_int_t)counts[0], "delivered",
			       (json_int_t)counts[1], "failed", (json_int_t)counts[2]));
}

static const rf_jfield test_fields[] = {
    {"to", RF_JT_STRING, false, 254, NULL},
    {NULL, 0, false, 0, NULL},
};

void rf_api_mail_test(rf_ctx *c)
{
	json_t *body = NULL;
	size_t blen = 0;
	rf_req_body(c->req, &blen);
	if (blen && !(body = rf_api_body(c, test_fields)))
		return;
	rf_err err = {0};
	char to[RF_EMAIL_MAX + 1];
	const char *given = body ? rf_json_str(body, "to") : NULL;
	rf_user u;
	rf_mail_message m;
	if (given) {
		if (rf_email_normalize(given, to, sizeof to) != RF_OK || !rf_mime_addr_ok(to)) {
			rf_err_set(&err, RF_EINVAL, "to", "to must be an email address");
			goto fail;
		}
	} else if (c->who.user_id) {
		if (rf_store_user_get(c->app->store, c->who.user_id, &u, c->a, &err) != RF_OK)
			goto fail;
		snprintf(to, sizeof to, "%s", u.email);
	} else {
		rf_err_set(&err, RF_EINVAL, "to", "to is required: an API key has no email of its own");
		goto fail;
	}
	if (rf_svc_mail_test(rf_ctx_svc(c), to, c->who.user_id, &m, &err) != RF_OK ||
	    rf_api_audit(c, "mail.test", m.id, NULL, &err) != RF_OK)
		goto fail;
	json_decref(body);
	m.status = "pending";
	m.next_at = m.created_at;
	rf_json_send(c, 202, message_json(&m, false));
	return;
fail:
	json_decref(body);
	rf_json_error(c, &err);
}

void rf_api_mail_messages_list(rf_ctx *c)
{
	rf_err err = {0};
	rf_mail_filter f;
	memset(&f, 0, sizeof f);
	char recipient[RF_EMAIL_MAX + 1];
	if (rf_json_page(c, &f.page, &err) != RF_OK)
		goto fail;
	f.status = rf_req_query(c->req, "status");
	if (f.status && strcmp(f.status, "pending") != 0 && strcmp(f.status, "delivered") != 0 &&
	    strcmp(f.status, "failed") != 0) {
		rf_err_set(&err, RF_EINVAL, "status", "status must be pending, delivered or failed");
		goto fail;
	}
	f.category = rf_req_query(c->req, "category");
	if (f.category && !rf_mail_category_find(f.category)) {
		rf_err_set(&err, RF_EINVAL, "category", "category: no mail is of kind %s", f.category);
		goto fail;
	}
	const char *r = rf_req_query(c->req, "recipient");
	if (r) {
		if (rf_email_normalize(r, recipient, sizeof recipient) != RF_OK) {
			rf_err_set(&err, RF_EINVAL, "recipient", "recipient must be an email address");
			goto fail;
		}
		f.recipient = recipient;
	}
	rf_mail_message *items = NULL;
	size_t n = 0;
	bool more = false;
	if (rf_store_mail_message_list(c->app->store, &f, &items, &n, &more, c->a, &err) != RF_OK)
		goto fail;
	json_t *data = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(data, message_json(&items[i], false));
	rf_json_send(c, 200, rf_json_list(data, more));
	return;
fail:
	rf_json_error(c, &err);
}

void rf_api_mail_messages_get(rf_ctx *c)
{
	rf_err err = {0};
	rf_mail_message m;
	if (!rf_api_found(c, rf_store_mail_message_get(c->app->store, c->params[0], &m, c->a, &err), &err,
			  "mail message"))
		return;
	json_t *o = message_json(&m, true);
	rf_delivery_attempt *at = NULL;
	size_t n = 0;
	json_t *log = json_array();
	if (m.delivery_id && rf_store_delivery_attempts(c->app->store, m.delivery_id, &at, &n, c->a, &err) != RF_OK) {
		json_decref(o);
		json_decref(log);
		rf_json_error(c, &err);
		return;
	}
	for (size_t i = 0; i < n; i++)
		json_array_append_new(
		    log, json_pack("{s:o, s:o, s:I, s:o}", "at", rf_json_time(at[i].at), "status_code",
				   at[i].has_status_code ? json_integer(at[i].status_code) : json_null(), "latency_ms",
				   (json_int_t)at[i].latency_ms, "error", rf_json_nullable(at[i].error)));
	json_object_set_new(o, "attempt_log", log);
	rf_json_send(c, 200, o);
}

/* ---- admins: previews of every message ---- */

static json_t *preview_json(const rf_mail_preview_kind *k, const rf_mail_message *m, bool full, bool sample)
{
	const rf_mail_category *cat = rf_mail_category_find(k->category);
	json_t *o =
	    json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:s, s:s}", "object", "mail_preview", "kind", k->name, "category",
		      k->category, "title", cat->title, "audience", cat->admin ? "admin" : "partner", "optional",
		      cat->optional, "when", k->when, "subject", m->subject);
	if (!full)
		return o;
	json_t *headers = json_loads(m->headers ? m->headers : "{}", 0, NULL);
	json_object_set_new(o, "sample", json_boolean(sample));
	json_object_set_new(
	    o, "to", json_pack("{s:s, s:o}", "email", m->recipient, "name", rf_json_nullable(m->recipient_name)));
	json_object_set_new(o, "headers", headers ? headers : json_object());
	json_object_set_new(o, "link", rf_json_nullable(m->link));
	json_object_set_new(o, "text", json_string(m->text_body ? m->text_body : ""));
	json_object_set_new(o, "html", json_string(m->html_body ? m->html_body : ""));
	return o;
}

void rf_api_mail_previews_list(rf_ctx *c)
{
	rf_err err = {0};
	json_t *data = json_array();
	for (const rf_mail_preview_kind *k = rf_mail_preview_kinds; k->name; k++) {
		rf_mail_message m;
		if (rf_svc_mail_preview(rf_ctx_svc(c), k, NULL, c->who.user_id, &m, &err) != RF_OK) {
			json_decref(data);
			rf_json_error(c, &err);
			return;
		}
		json_array_append_new(data, preview_json(k, &m, false, true));
	}
	rf_json_send(c, 200, rf_json_list(data, false));
}

void rf_api_mail_previews_get(rf_ctx *c)
{
	rf_err err = {0};
	const rf_mail_preview_kind *k = rf_mail_preview_kind_find(c->params[0]);
	if (!k) {
		rf_json_fail(c, RF_ENOTFOUND, "kind", "no such message: %s (GET /api/v1/mail/previews lists them)",
			     c->params[0]);
		return;
	}
	const char *partner_id = rf_req_query(c->req, "partner_id");
	if (partner_id) {
		if (rf_mail_category_find(k->category)->admin) {
			rf_json_fail(c, RF_EINVAL, "partner_id", "partner_id: %s goes to admins, not to a partner",
				     k->name);
			return;
		}
		if (!rf_id_valid(partner_id, "ptn")) {
			rf_json_fail(c, RF_EINVAL, "partner_id", "partner_id must be a partner's id (ptn_…)");
			return;
		}
	}
	rf_mail_message m;
	rf_status rc = rf_svc_mail_preview(rf_ctx_svc(c), k, partner_id, c->who.user_id, &m, &err);
	if (rc == RF_ENOTFOUND && partner_id) {
		rf_json_fail(c, RF_EINVAL, "partner_id", "partner_id: no such partner: %s", partner_id);
		return;
	}
	if (rc != RF_OK) {
		rf_json_error(c, &err);
		return;
	}
	rf_json_send(c, 200, preview_json(k, &m, true, !partner_id));
}
