/* SPDX-License-Identifier: Apache-2.0 */
/* The route table: every path refd answers, its handler, who may call it, whether it takes a body and the query
 * parameters it reads. The OpenAPI document must list exactly these routes, bodies and parameters (tests compare
 * them). */
#include "../track/track.h"
#include "api.h"

/* The query parameters of each route that reads some; the router refuses any other. */
static const char *const q_page[] = {"limit", "starting_after", NULL};
static const char *const q_partners[] = {"limit",          "starting_after",  "q",       "program_id", "status", "kind",
					 "team_parent_id", "recruited_by_id", "plan_id", NULL};
static const char *const q_links[] = {"limit",    "starting_after",   "program_id", "partner_id",
				      "campaign", "include_archived", NULL};
static const char *const q_leads[] = {"limit",  "starting_after", "program_id", "partner_id",   "agent_id", "status",
				      "source", "created_from",   "created_to", "registration", NULL};
static const char *const q_leads_export[] = {"program_id",   "partner_id", "agent_id",     "status", "source",
					     "created_from", "created_to", "registration", NULL};
/* The counts are per status, so status is not a filter of theirs. */
static const char *const q_leads_counts[] = {"program_id",   "partner_id", "agent_id",     "source",
					     "created_from", "created_to", "registration", NULL};
static const char *const q_by_program[] = {"limit", "starting_after", "program_id", NULL};
static const char *const q_sales[] = {"limit",       "starting_after", "program_id", "partner_id",
				      "customer_id", "from",           "to",         NULL};
static const char *const q_commissions[] = {"limit",   "starting_after", "program_id", "partner_id", "sale_id",
					    "lead_id", "status",         "plan_id",    "role",       NULL};
static const char *const q_statement[] = {"from", "to", "format", NULL};
static const char *const q_payout_export[] = {"format", "currency", NULL};
static const char *const q_tax_totals[] = {"year", "program_id", "threshold", "format", NULL};
static const char *const q_summary[] = {"program_id", "from", "to", "format", NULL};
static const char *const q_breakdown[] = {"program_id", "from", "to", "group_by", "sort", "limit", "format", NULL};
static const char *const q_program[] = {"program_id", NULL};
static const char *const q_fx[] = {"base", "quote", "limit", NULL};
static const char *const q_inbound[] = {"limit", "starting_after", "outcome", NULL};
static const char *const q_crm_deliveries[] = {"limit", "starting_after", "status", NULL};
static const char *const q_connection[] = {"connection", NULL};
static const char *const q_token[] = {"token", NULL};
static const char *const q_mail[] = {"limit", "starting_after", "status", "category", "recipient", NULL};
static const char *const q_preview[] = {"partner_id", NULL};
static const char *const q_imports[] = {"type", "program_id", "dry_run", "map", "mapping", NULL};
static const char *const q_events[] = {"limit",     "starting_after", "type",       "program_id",
				       "object_id", "created_from",   "created_to", NULL};
static const char *const q_deliveries[] = {"limit", "starting_after", "status", NULL};

const rf_route rf_routes[] = {
    {"GET", "/healthz", rf_api_healthz, RF_AUTH_PUBLIC, 0, NULL},
    {"GET", "/readyz", rf_api_readyz, RF_AUTH_PUBLIC, 0, NULL},
    {"GET", "/api/openapi.json", rf_api_openapi, RF_AUTH_PUBLIC, 0, NULL},
    {"GET", "/api/v1/currencies", rf_api_currencies_list, RF_AUTH_PUBLIC, 0, NULL},

    {"GET", "/", rf_web_root, RF_AUTH_PUBLIC, RF_ROUTE_ANY_QUERY, NULL},
    {"GET", "/app", rf_web_app, RF_AUTH_PUBLIC, RF_ROUTE_ANY_QUERY, NULL},
    {"GET", "/portal", rf_web_portal, RF_AUTH_PUBLIC, RF_ROUTE_ANY_QUERY, NULL},
    {"GET", "/assets/{name}", rf_web_asset_get, RF_AUTH_PUBLIC, RF_ROUTE_ANY_QUERY, NULL},
    {"GET", "/assets/vendor/{name}", rf_web_vendor_get, RF_AUTH_PUBLIC, RF_ROUTE_ANY_QUERY, NULL},

    {"POST", "/api/v1/auth/login", rf_api_login, RF_AUTH_PUBLIC, RF_ROUTE_BODY, NULL},
    {"POST", "/api/v1/auth/logout", rf_api_logout, RF_AUTH_ANY, 0, NULL},
    {"GET", "/api/v1/auth/session", rf_api_session, RF_AUTH_ANY, 0, NULL},
    {"POST", "/api/v1/auth/password-reset", rf_api_password_reset, RF_AUTH_PUBLIC, RF_ROUTE_BODY, NULL},
    {"POST", "/api/v1/auth/password-reset/confirm", rf_api_password_reset_confirm, RF_AUTH_PUBLIC, RF_ROUTE_BODY, NULL},
    {"POST", "/api/v1/portal/signup", rf_api_portal_signup, RF_AUTH_PUBLIC, RF_ROUTE_BODY, NULL},
    {"GET", "/api/v1/notifications", rf_api_notifications_get, RF_AUTH_ANY, 0, NULL},
    {"PATCH", "/api/v1/notifications", rf_api_notifications_update, RF_AUTH_ANY, RF_ROUTE_BODY, NULL},
    /* RFC 8058 one-click unsubscribe: the signed token is the credential, so no session and no CSRF token. */
    {"GET", "/api/v1/unsubscribe", rf_api_unsubscribe_page, RF_AUTH_PUBLIC, 0, q_token},
    {"POST", "/api/v1/unsubscribe", rf_api_unsubscribe, RF_AUTH_PUBLIC, RF_ROUTE_BODY, q_token},
    {"GET", "/api/v1/mail/settings", rf_api_mail_settings, RF_AUTH_ADMIN, 0, NULL},
    {"POST", "/api/v1/mail/test", rf_api_mail_test, RF_AUTH_ADMIN, RF_ROUTE_BODY, NULL},
    {"GET", "/api/v1/mail/messages", rf_api_mail_messages_list, RF_AUTH_ADMIN, 0, q_mail},
    {"GET", "/api/v1/mail/messages/{id}", rf_api_mail_messages_get, RF_AUTH_ADMIN, 0, NULL},
    {"GET", "/api/v1/mail/previews", rf_api_mail_previews_list, RF_AUTH_ADMIN, 0, NULL},
    {"GET", "/api/v1/mail/previews/{kind}", rf_api_mail_previews_get, RF_AUTH_ADMIN, 0, q_preview},

    {"GET", "/api/v1/programs", rf_api_programs_list, RF_AUTH_ANY, 0, q_page},
    {"POST", "/api/v1/programs", rf_api_programs_create, RF_AUTH_ADMIN, RF_ROUTE_BODY, NULL},
    {"GET", "/api/v1/programs/{id}", rf_api_programs_get, RF_AUTH_ANY, 0, NULL},
    {"PATCH", "/api/v1/programs/{id}", rf_api_programs_update, RF_AUTH_ADMIN, RF_ROUTE_BODY, NULL},

    {"GET", "/api/v1/partners", rf_api_partners_list, RF_AUTH_ANY, 0, q_partners},
    {"POST", "/api/v1/partners", rf_api_partners_create, RF_AUTH_ANY, RF_ROUTE_BODY, NULL},
    {"GET", "/api/v1/partners/{id}", rf_api_partners_get, RF_AUTH_ANY, 0, NULL},
    {"PATCH", "/api/v1/partners/{id}", rf_api_partners_update, RF_AUTH_ANY, RF_ROUTE_BODY, NULL},
    {"POST", "/api/v1/partners/{id}/suspend", rf_api_partners_suspend, RF_AUTH_ADMIN, RF_ROUTE_BODY, NULL},
    {"POST", "/api/v1/partners/{id}/ban", rf_api_partners_ban, RF_AUTH_ADMIN, RF_ROUTE_BODY, NULL},
    {"POST", "/api/v1/partners/{id}/activate", rf_api_partners_activate, RF_AUTH_ADMIN, RF_ROUTE_BODY, NULL},

    {"GET", "/api/v1/links", rf_api_links_list, RF_AUTH_ANY, 0, q_links},
    {"POST", "/api/v1/links", rf_api_links_create, RF_AUTH_ANY, RF_ROUTE_BODY, NULL},
    {"GET", "/api/v1/links/{id}", rf_api_links_get, RF_AUTH_ANY, 0, NULL},
    {"PATCH", "/api/v1/links/{id}", rf_api_links_update, RF_AUTH_ANY, RF_ROUTE_BODY, NULL},

    {"GET", "/api/v1/leads", rf_api_leads_list, RF_AUTH_ANY, 0, q_leads},
    {"POST", "/api/v1/leads", rf_api_leads_create, RF_AUTH_ANY, RF_ROUTE_BODY, NULL},
    {"GET", "/api/v1/leads/export", rf_api_leads_export, RF_AUTH_ANY, 0, q_leads_export},
    {"GET", "/api/v1/leads/counts", rf_api_leads_counts, RF_AUTH_ANY, 0, q_leads_counts},
    {"GET", "/api/v1/leads/{id}", rf_api_leads_get, RF_AUTH_ANY, 0, NULL},
    {"PATCH", "/api/v1/leads/{id}", rf_api_leads_update, RF_AUTH_ANY, RF_ROUTE_BODY, NULL},
    {"POST", "/api/v1/leads/{id}/status", rf_api_leads_status, RF_AUTH_ANY, RF_ROUTE_BODY, NULL},
    {"GET", "/api/v1/leads/{id}/history", rf_api_leads_history, RF_AUTH_ANY, 0, NULL},
    {"POST", "/api/v1/leads/{id}/approve", rf_api_leads_approve, RF_AUTH_ADMIN, RF_ROUTE_BODY, NULL},
    {"POST", "/api/v1/leads/{id}/reject", rf_api_leads_reject, RF_AUTH_ADMIN, RF_ROUTE_BODY, NULL},

    {"GET", "/api/v1/plans", rf_api_plans_list, RF_AUTH_ADMIN, 0, q_by_program},
    {"POST", "/api/v1/plans", rf_api_plans_create, RF_AUTH_ADMIN, RF_ROUTE_BODY, NULL},
    {"GET", "/api/v1/plans/{id}", rf_api_plans_get, RF_AUTH_ANY, 0, NULL},
    {"PATCH", "/api/v1/plans/{id}", rf_api_plans_update, RF_AUTH_ADMIN, RF_ROUTE_BODY, NULL},
    {"POST", "/api/v1/plans/{id}/assign", rf_api_plans_assign, RF_AUTH_ADMIN, RF_ROUTE_BODY, NULL},
    {"POST", "/api/v1/plans/{id}/simulate", rf_api_plans_simulate, RF_AUTH_ADMIN, RF_ROUTE_BODY | RF_ROUTE_NO_TX, NULL},

    {"GET", "/api/v1/sales", rf_api_sales_list, RF_AUTH_ANY, 0, q_sales},
    {"POST", "/api/v1/sales", rf_api_sales_create, RF_AUTH_ADMIN, RF_ROUTE_BODY, NULL},
    {"GET", "/api/v1/sales/{id}", rf_api_sales_get, RF_AUTH_ANY, 0, NULL},
    {"POST", "/api/v1/refunds", rf_api_refunds_create, RF_AUTH_ADMIN, RF_ROUTE_BODY, NULL},

    {"GET", "/api/v1/commissions", rf_api_commissions_list, RF_AUTH_ANY, 0, q_commissions},
    {"GET", "/api/v1/commissions/{id}", rf_api_commissions_get, RF_AUTH_ANY, 0, NULL},
    {"POST", "/api/v1/commissions/{id}/approve", rf_api_commissions_approve, RF_AUTH_ADMIN, RF_ROUTE_BODY, NULL},
    {"POST", "/api/v1/commissions/{id}/hold", rf_api_commissions_hold, RF_AUTH_ADMIN, RF_ROUTE_BODY, NULL},
    {"POST", "/api/v1/commissions/{id}/reject", rf_api_commissions_reject, RF_AUTH_ADMIN, RF_ROUTE_BODY, NULL},
    {"GET", "/api/v1/partners/{id}/balance", rf_api_partners_balance, RF_AUTH_ANY, 0, NULL},

    {"GET", "/api/v1/partners/{id}/payout-forecast", rf_api_partners_payout_forecast, RF_AUTH_ANY, 0, NULL},
    {"GET", "/api/v1/partners/{id}/statement", rf_api_partners_statement, RF_AUTH_ANY, 0, q_statement},
    {"POST", "/api/v1/partners/{id}/hold-payouts", rf_api_partners_hold_payouts, RF_AUTH_ADMIN, RF_ROUTE_BODY, NULL},
    {"POST", "/api/v1/partners/{id}/release-payouts", rf_api_partners_release_payouts, RF_AUTH_ADMIN, RF_ROUTE_BODY,
     NULL},

    {"POST", "/api/v1/imports", rf_api_imports_create, RF_AUTH_ADMIN,
     RF_ROUTE_BODY | RF_ROUTE_NO_TX | RF_ROUTE_LARGE_BODY, q_imports},
    {"GET", "/api/v1/imports", rf_api_imports_list, RF_AUTH_ADMIN, 0, q_page},
    {"GET", "/api/v1/imports/{id}", rf_api_imports_get, RF_AUTH_ADMIN, 0, NULL},

    {"GET", "/api/v1/events", rf_api_events_list, RF_AUTH_ANY, 0, q_events},
    {"GET", "/api/v1/events/{id}", rf_api_events_get, RF_AUTH_ANY, 0, NULL},
    {"GET", "/api/v1/event-types", rf_api_event_types_list, RF_AUTH_PUBLIC, 0, NULL},

    {"GET", "/api/v1/webhook-endpoints", rf_api_webhooks_list, RF_AUTH_ADMIN, 0, q_page},
    {"POST", "/api/v1/webhook-endpoints", rf_api_webhooks_create, RF_AUTH_ADMIN, RF_ROUTE_BODY, NULL},
    {"GET", "/api/v1/webhook-endpoints/{id}", rf_api_webhooks_get, RF_AUTH_ADMIN, 0, NULL},
    {"PATCH", "/api/v1/webhook-endpoints/{id}", rf_api_webhooks_update, RF_AUTH_ADMIN, RF_ROUTE_BODY, NULL},
    {"DELETE", "/api/v1/webhook-endpoints/{id}", rf_api_webhooks_delete, RF_AUTH_ADMIN, 0, NULL},
    {"POST", "/api/v1/webhook-endpoints/{id}/rotate-secret", rf_api_webhooks_rotate, RF_AUTH_ADMIN, 0, NULL},
    {"POST", "/api/v1/webhook-endpoints/{id}/test", rf_api_webhooks_test, RF_AUTH_ADMIN, 0, NULL},
    {"GET", "/api/v1/webhook-endpoints/{id}/deliveries", rf_api_webhooks_deliveries, RF_AUTH_ADMIN, 0, q_deliveries},
    {"POST", "/api/v1/webhook-endpoints/{id}/deliveries/{delivery_id}/resend", rf_api_webhooks_resend, RF_AUTH_ADMIN, 0,
     NULL},
    {"POST", "/api/v1/webhook-endpoints/{id}/replay", rf_api_webhooks_replay, RF_AUTH_ADMIN, RF_ROUTE_BODY, NULL},

    {"GET", "/api/v1/payout-runs", rf_api_payouts_list, RF_AUTH_ADMIN, 0, q_by_program},
    {"POST", "/api/v1/payout-runs", rf_api_payouts_create, RF_AUTH_ADMIN, RF_ROUTE_BODY, NULL},
    {"GET", "/api/v1/payout-runs/{id}", rf_api_payouts_get, RF_AUTH_ADMIN, 0, NULL},
    {"POST", "/api/v1/payout-runs/{id}/approve", rf_api_payouts_approve, RF_AUTH_ADMIN, 0, NULL},
    {"POST", "/api/v1/payout-runs/{id}/cancel", rf_api_payouts_cancel, RF_AUTH_ADMIN, 0, NULL},
    {"POST", "/api/v1/payout-runs/{id}/mark-paid", rf_api_payouts_mark_paid, RF_AUTH_ADMIN, RF_ROUTE_BODY, NULL},
    {"GET", "/api/v1/payout-runs/{id}/export", rf_api_payouts_export, RF_AUTH_ADMIN, 0, q_payout_export},
    {"POST", "/api/v1/payout-runs/{id}/items/{item_id}/mark-paid", rf_api_payout_items_mark_paid, RF_AUTH_ADMIN,
     RF_ROUTE_BODY, NULL},
    {"POST", "/api/v1/payout-runs/{id}/items/{item_id}/mark-failed", rf_api_payout_items_mark_failed, RF_AUTH_ADMIN,
     RF_ROUTE_BODY, NULL},
    {"GET", "/api/v1/tax-totals", rf_api_tax_totals, RF_AUTH_ADMIN, 0, q_tax_totals},

    {"GET", "/api/v1/reports/summary", rf_api_reports_summary, RF_AUTH_ANY, 0, q_summary},
    {"GET", "/api/v1/reports/breakdown", rf_api_reports_breakdown, RF_AUTH_ANY, 0, q_breakdown},
    {"GET", "/api/v1/reports/queues", rf_api_reports_queues, RF_AUTH_ADMIN, 0, q_program},

    {"GET", "/api/v1/fx-rates", rf_api_fx_list, RF_AUTH_ANY, 0, q_fx},
    {"POST", "/api/v1/fx-rates", rf_api_fx_create, RF_AUTH_ADMIN, RF_ROUTE_BODY, NULL},
    {"POST", "/api/v1/fx-rates/import", rf_api_fx_import, RF_AUTH_ADMIN, RF_ROUTE_BODY, NULL},

    {"POST", "/api/v1/integrations/stripe/webhook", rf_api_stripe_webhook, RF_AUTH_PUBLIC,
     RF_ROUTE_BODY | RF_ROUTE_ANY_QUERY, q_program},
    {"POST", "/api/v1/integrations/paddle/webhook", rf_api_paddle_webhook, RF_AUTH_PUBLIC,
     RF_ROUTE_BODY | RF_ROUTE_ANY_QUERY, q_connection},
    {"POST", "/api/v1/integrations/chargebee/webhook", rf_api_chargebee_webhook, RF_AUTH_PUBLIC,
     RF_ROUTE_BODY | RF_ROUTE_ANY_QUERY, q_connection},
    {"GET", "/api/v1/integrations", rf_api_integrations_list, RF_AUTH_ADMIN, 0, q_by_program},
    {"POST", "/api/v1/integrations", rf_api_integrations_create, RF_AUTH_ADMIN, RF_ROUTE_BODY, NULL},
    {"GET", "/api/v1/integrations/{id}", rf_api_integrations_get, RF_AUTH_ADMIN, 0, NULL},
    {"PATCH", "/api/v1/integrations/{id}", rf_api_integrations_update, RF_AUTH_ADMIN, RF_ROUTE_BODY, NULL},
    {"DELETE", "/api/v1/integrations/{id}", rf_api_integrations_delete, RF_AUTH_ADMIN, 0, NULL},
    {"GET", "/api/v1/integrations/{id}/events", rf_api_integrations_events, RF_AUTH_ADMIN, 0, q_inbound},
    {"GET", "/api/v1/integrations/{id}/deliveries", rf_api_integrations_deliveries, RF_AUTH_ADMIN, 0, q_crm_deliveries},
    {"POST", "/api/v1/integrations/{id}/deliveries/{delivery_id}/retry", rf_api_integrations_delivery_retry,
     RF_AUTH_ADMIN, 0, NULL},
    {"POST", "/api/v1/integrations/hubspot/webhook", rf_api_hubspot_webhook, RF_AUTH_PUBLIC, RF_ROUTE_BODY,
     q_connection},
    {"POST", "/api/v1/integrations/pipedrive/webhook", rf_api_pipedrive_webhook, RF_AUTH_PUBLIC, RF_ROUTE_BODY,
     q_connection},
    {"POST", "/api/v1/integrations/salesforce/webhook", rf_api_salesforce_webhook, RF_AUTH_PUBLIC, RF_ROUTE_BODY,
     q_connection},

    {"GET", "/r/{code}", rf_track_redirect, RF_AUTH_PUBLIC, RF_ROUTE_ANY_QUERY, NULL},
    {"GET", "/t.js", rf_track_script, RF_AUTH_PUBLIC, RF_ROUTE_ANY_QUERY, NULL},
    {"POST", "/api/v1/track/click", rf_track_click, RF_AUTH_PUBLIC, RF_ROUTE_BODY | RF_ROUTE_NO_TX, NULL},
    {"OPTIONS", "/api/v1/track/click", rf_track_click_preflight, RF_AUTH_PUBLIC, 0, NULL},

    {"GET", "/api/v1/users", rf_api_users_list, RF_AUTH_ADMIN, 0, q_page},
    {"POST", "/api/v1/users", rf_api_users_create, RF_AUTH_ADMIN, RF_ROUTE_BODY, NULL},
    {"GET", "/api/v1/users/{id}", rf_api_users_get, RF_AUTH_ADMIN, 0, NULL},
    {"PATCH", "/api/v1/users/{id}", rf_api_users_update, RF_AUTH_ADMIN, RF_ROUTE_BODY, NULL},

    {"GET", "/api/v1/api-keys", rf_api_keys_list, RF_AUTH_ADMIN, 0, q_page},
    {"POST", "/api/v1/api-keys", rf_api_keys_create, RF_AUTH_ADMIN, RF_ROUTE_BODY, NULL},
    {"DELETE", "/api/v1/api-keys/{id}", rf_api_keys_revoke, RF_AUTH_ADMIN, 0, NULL},

    {NULL, NULL, NULL, RF_AUTH_PUBLIC, 0, NULL},
};
