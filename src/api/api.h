/* SPDX-License-Identifier: Apache-2.0 */
/* The REST resources under /api/v1: one file per resource, each exposing its route handlers here. */
#ifndef RF_API_H
#define RF_API_H

#include <jansson.h>

#include "../core/csv.h"
#include "../core/dbuf.h"
#include "../http/json.h"
#include "../http/router.h"
#include "../svc/events.h"
#include "../svc/leads.h"
#include "../svc/ledger.h"
#include "../svc/partners.h"
#include "../svc/payouts.h"
#include "../svc/plans.h"
#include "../svc/rollups.h"
#include "../svc/sales.h"
#include "../svc/views.h"

/* Records an audit entry for the caller; detail is JSON object text or NULL. Failures are returned. */
rf_status rf_api_audit(rf_ctx *c, const char *action, const char *object_id, const char *detail, rf_err *err);

/* Parses and checks the JSON body against fields (rf_json_body); on failure sends the error and returns NULL.
 * The caller owns the returned reference. */
json_t *rf_api_body(rf_ctx *c, const rf_jfield *fields);

/* Ends the lookup of the object named in the path: for RF_ENOTFOUND (also used for objects the caller may not
 * see, so their existence is not revealed) sends 404 "no such <what>: <id>" naming field id; for another failure
 * sends err. Returns true only for RF_OK, when the handler goes on. */
bool rf_api_found(rf_ctx *c, rf_status rc, const rf_err *err, const char *what);

/* Reads an optional integer member within [min, max] into *out (left alone when absent). */
rf_status rf_api_int(json_t *body, const char *name, int64_t min, int64_t max, int64_t *out, rf_err *err);

/* The largest export (CSV, a statement's page) refd builds for one request, by default: a larger one is refused
 * with 400, asking for less, rather than sent cut short. --max-export sets it (rf_app_config.max_export). */
#define RF_EXPORT_MAX (64u << 20)
size_t rf_api_export_max(const rf_ctx *c);

/* Sends b's contents with 200, content_type, Cache-Control: no-store and (when not NULL) the Content-Disposition
 * disposition; or, when building them failed, the error: 400 past rf_api_export_max (`what` names it), 503
 * out of memory. Frees b either way. */
void rf_api_send_dbuf(rf_ctx *c, const char *content_type, const char *disposition, const char *what, rf_dbuf *b);

/* The program named by pid, or the only one when pid is NULL; RF_EINVAL naming program_id otherwise. */
rf_status rf_api_program_or_only(rf_ctx *c, const char *pid, rf_program *prog, rf_err *err);

/* system.c */
void rf_api_healthz(rf_ctx *c);
void rf_api_readyz(rf_ctx *c);
void rf_api_openapi(rf_ctx *c);

/* currencies.c */
void rf_api_currencies_list(rf_ctx *c);

/* session.c */
void rf_api_login(rf_ctx *c);
void rf_api_logout(rf_ctx *c);
void rf_api_session(rf_ctx *c);

/* programs.c */
void rf_api_programs_list(rf_ctx *c);
void rf_api_programs_create(rf_ctx *c);
void rf_api_programs_get(rf_ctx *c);
void rf_api_programs_update(rf_ctx *c);

/* partners.c */
void rf_api_partners_list(rf_ctx *c);
void rf_api_partners_create(rf_ctx *c);
void rf_api_partners_get(rf_ctx *c);
void rf_api_partners_update(rf_ctx *c);
void rf_api_partners_suspend(rf_ctx *c);
void rf_api_partners_ban(rf_ctx *c);
void rf_api_partners_activate(rf_ctx *c);

/* links.c */
void rf_api_links_list(rf_ctx *c);
void rf_api_links_create(rf_ctx *c);
void rf_api_links_get(rf_ctx *c);
void rf_api_links_update(rf_ctx *c);

/* leads.c */
void rf_api_leads_list(rf_ctx *c);
void rf_api_leads_create(rf_ctx *c);
void rf_api_leads_export(rf_ctx *c);
void rf_api_leads_counts(rf_ctx *c);
void rf_api_leads_get(rf_ctx *c);
void rf_api_leads_update(rf_ctx *c);
void rf_api_leads_status(rf_ctx *c);
void rf_api_leads_history(rf_ctx *c);
void rf_api_leads_approve(rf_ctx *c);
void rf_api_leads_reject(rf_ctx *c);

/* plans.c */
void rf_api_plans_list(rf_ctx *c);
void rf_api_plans_create(rf_ctx *c);
void rf_api_plans_get(rf_ctx *c);
void rf_api_plans_update(rf_ctx *c);
void rf_api_plans_assign(rf_ctx *c);
void rf_api_plans_simulate(rf_ctx *c);

/* commissions.c */
json_t *rf_api_commission_json(rf_ctx *c, const rf_commission *e, bool full);
void rf_api_commissions_list(rf_ctx *c);
void rf_api_commissions_get(rf_ctx *c);
void rf_api_commissions_approve(rf_ctx *c);
void rf_api_commissions_hold(rf_ctx *c);
void rf_api_commissions_reject(rf_ctx *c);
void rf_api_partners_balance(rf_ctx *c);
void rf_api_fx_list(rf_ctx *c);
void rf_api_fx_create(rf_ctx *c);
void rf_api_fx_import(rf_ctx *c);

/* sales.c: the API's view of sales and refunds (the service records them; these render them as JSON). *out is
 * the object with its commissions; *status 201, or 200 for one recorded before under the same external id. */
rf_status rf_api_sale_ingest(rf_ctx *c, const rf_sale_input *in, json_t **out, int *status, char **sale_id,
			     rf_err *err);
rf_status rf_api_refund_ingest(rf_ctx *c, const rf_refund_input *in, json_t **out, int *status, char **refund_id,
			       rf_err *err);
void rf_api_sales_list(rf_ctx *c);
void rf_api_sales_create(rf_ctx *c);
void rf_api_sales_get(rf_ctx *c);
void rf_api_refunds_create(rf_ctx *c);

/* imports.c */
void rf_api_imports_create(rf_ctx *c);
void rf_api_imports_get(rf_ctx *c);
void rf_api_imports_list(rf_ctx *c);

/* events.c */
void rf_api_events_list(rf_ctx *c);
void rf_api_events_get(rf_ctx *c);
void rf_api_event_types_list(rf_ctx *c);

/* webhooks.c */
void rf_api_webhooks_list(rf_ctx *c);
void rf_api_webhooks_create(rf_ctx *c);
void rf_api_webhooks_get(rf_ctx *c);
void rf_api_webhooks_update(rf_ctx *c);
void rf_api_webhooks_delete(rf_ctx *c);
void rf_api_webhooks_rotate(rf_ctx *c);
void rf_api_webhooks_test(rf_ctx *c);
void rf_api_webhooks_deliveries(rf_ctx *c);
void rf_api_webhooks_resend(rf_ctx *c);
void rf_api_webhooks_replay(rf_ctx *c);

/* payouts.c. A payout run as the API shows it (the command line prints the same). */
void rf_api_payouts_list(rf_ctx *c);
void rf_api_payouts_create(rf_ctx *c);
void rf_api_payouts_get(rf_ctx *c);
void rf_api_payouts_approve(rf_ctx *c);
void rf_api_payouts_cancel(rf_ctx *c);
void rf_api_payouts_mark_paid(rf_ctx *c);
void rf_api_payouts_export(rf_ctx *c);
void rf_api_payout_items_mark_paid(rf_ctx *c);
void rf_api_payout_items_mark_failed(rf_ctx *c);

/* statements.c */
void rf_api_partners_payout_forecast(rf_ctx *c);
void rf_api_partners_statement(rf_ctx *c);
void rf_api_partners_hold_payouts(rf_ctx *c);
void rf_api_partners_release_payouts(rf_ctx *c);
void rf_api_tax_totals(rf_ctx *c);

/* reports.c */
void rf_api_reports_summary(rf_ctx *c);
void rf_api_reports_breakdown(rf_ctx *c);
void rf_api_reports_queues(rf_ctx *c);

/* web.c: the admin UI and the partner portal. */
void rf_web_root(rf_ctx *c);
void rf_web_app(rf_ctx *c);
void rf_web_portal(rf_ctx *c);
void rf_web_asset_get(rf_ctx *c);
void rf_web_vendor_get(rf_ctx *c);

/* portal.c */
void rf_api_portal_signup(rf_ctx *c);
void rf_api_password_reset(rf_ctx *c);
void rf_api_password_reset_confirm(rf_ctx *c);

/* mail.c */
void rf_api_notifications_get(rf_ctx *c);
void rf_api_notifications_update(rf_ctx *c);
void rf_api_unsubscribe_page(rf_ctx *c);
void rf_api_unsubscribe(rf_ctx *c);
void rf_api_mail_settings(rf_ctx *c);
void rf_api_mail_test(rf_ctx *c);
void rf_api_mail_messages_list(rf_ctx *c);
void rf_api_mail_messages_get(rf_ctx *c);
void rf_api_mail_previews_list(rf_ctx *c);
void rf_api_mail_previews_get(rf_ctx *c);

/* stripe.c */
void rf_api_stripe_webhook(rf_ctx *c);

/* billing.c: the webhooks of connected billing systems beyond Stripe. */
void rf_api_paddle_webhook(rf_ctx *c);
void rf_api_chargebee_webhook(rf_ctx *c);

/* integrations.c: connections to other systems and their inbound logs. */
void rf_api_integrations_list(rf_ctx *c);
void rf_api_integrations_create(rf_ctx *c);
void rf_api_integrations_get(rf_ctx *c);
void rf_api_integrations_update(rf_ctx *c);
void rf_api_integrations_delete(rf_ctx *c);
void rf_api_integrations_events(rf_ctx *c);
void rf_api_integrations_deliveries(rf_ctx *c);
void rf_api_integrations_delivery_retry(rf_ctx *c);
void rf_api_hubspot_webhook(rf_ctx *c);
void rf_api_pipedrive_webhook(rf_ctx *c);
void rf_api_salesforce_webhook(rf_ctx *c);

/* users.c */
void rf_api_users_list(rf_ctx *c);
void rf_api_users_create(rf_ctx *c);
void rf_api_users_get(rf_ctx *c);
void rf_api_users_update(rf_ctx *c);

/* apikeys.c */
void rf_api_keys_list(rf_ctx *c);
void rf_api_keys_create(rf_ctx *c);
void rf_api_keys_revoke(rf_ctx *c);

/* The embedded OpenAPI document (generated from src/api/openapi.json at build time). */
extern const char rf_openapi_json[];
extern const unsigned long rf_openapi_json_len;

#endif
