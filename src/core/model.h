/* SPDX-License-Identifier: Apache-2.0 */
/* The plain structs of refd's domain that every layer passes around; strings are owned by whoever filled them
 * (an arena, in practice). */
#ifndef RF_MODEL_H
#define RF_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RF_MAX_TRACKING_PARAMS 8
#define RF_MAX_DOMAINS 20

typedef struct {
	char *id;
	char *name;
	char currency[4];
	int64_t cookie_window_days;
	char *attribution_model; /* "last_click" | "first_click" */
	int64_t holding_period_days;
	int64_t payout_threshold; /* minor units of currency */
	char *tracking_params[RF_MAX_TRACKING_PARAMS];
	size_t n_tracking_params;
	char
	    *allowed_domains[RF_MAX_DOMAINS]; /* link destinations must be on these (or their subdomains); none = any */
	size_t n_allowed_domains;
	char *fallback_url;           /* where unknown codes go; NULL for a 404 page */
	int64_t repeat_click_minutes; /* a visitor's clicks on one link within this are repeats, not counted */
	int64_t protection_days;      /* how long an approved deal registration protects the partner's claim */
	int64_t conflict_days;        /* how far back a registration looks for conflicting leads */
	char *tracking_origins[RF_MAX_DOMAINS]; /* origins allowed to call the tracking API from a browser */
	size_t n_tracking_origins;
	char *partner_signup;      /* off | review (applications an admin approves) | open */
	int64_t payout_day;        /* payouts are made on this day of the month (1..28) */
	int64_t payout_terms_days; /* NET terms: an entry is paid on the first payout date this long after approval */
	unsigned char *stripe_secret_sealed; /* the Stripe webhook signing secret, encrypted; NULL when not set */
	size_t stripe_secret_sealed_len;
	int64_t created_at, updated_at; /* unix milliseconds */
} rf_program;

typedef struct {
	char *id;
	char *program_id;
	char *kind;   /* partner | agent | affiliate | customer | employee */
	char *status; /* applied | active | suspended | banned */
	char *name;
	char *email; /* normalised */
	char *company;
	char currency[4];
	int64_t cost_per_lead;
	char cost_per_lead_currency[4];
	char *team_parent_id;  /* NULL when none */
	char *recruited_by_id; /* NULL when none */
	char *tax_legal_name;
	char *tax_country;
	unsigned char *tax_id_sealed; /* encrypted tax id, NULL when none */
	size_t tax_id_sealed_len;
	char *tax_id_last4;
	char *metadata; /* JSON object text */
	char *status_reason;
	char *plan_id;            /* the plan assigned to this partner; NULL for the program's default */
	char *payout_hold_reason; /* payouts wait for a review; NULL when they do not */
	char *recruitment_code;   /* the code of its recruitment link (rf_recruit_code_generate); never changes */
	int64_t created_at, updated_at;
} rf_partner;

typedef struct {
	char *id;
	char *email;
	char *password_hash;
	char *role; /* owner | admin | manager | partner */
	char *partner_id;
	int64_t created_at;
	int64_t disabled_at; /* 0 when enabled */
} rf_user;

typedef struct {
	char *id;
	char *name;
	char *role;
	char *partner_id;
	char *prefix; /* first characters of the key, for recognising it */
	char *hash;   /* hex SHA-256 of the whole key */
	int64_t created_at, last_used_at, revoked_at;
	char *created_by;
} rf_apikey;

typedef struct {
	char *hash; /* hex SHA-256 of the session token */
	char *user_id;
	char *csrf_token;
	int64_t created_at, expires_at;
} rf_session;

typedef struct {
	char *id;
	char *program_id;
	char *partner_id;
	char *code; /* as chosen or generated; unique without regard to case */
	char *destination_url;
	char *target_url; /* destination_url with the UTM parameters added: where the redirect goes */
	char *campaign;
	char *utm_source, *utm_medium, *utm_campaign, *utm_term, *utm_content;
	char *coupon; /* a discount code of the billing system that credits the partner when a sale uses it; NULL */
	int64_t archived_at; /* 0 while live */
	int64_t created_at, updated_at;
} rf_link;

/* One visit through a link or the tracking script. Addresses are kept only as a keyed hash and a prefix. */
typedef struct {
	char *id;
	char *program_id;
	char *link_id;
	char *partner_id;    /* NULL when the click credits nobody */
	char *prev_click_id; /* the visitor's previous click (from the cookie), for first-click attribution */
	int64_t at;
	char *ip_hash;
	char *ip_prefix;
	char *user_agent;
	char *referer;
	char *landing_url;
	const char *source; /* "redirect" | "script" */
	const char *status; /* "counted" | "bot" | "repeat" | "uncredited" */
} rf_click;

/* An entry of the code table that the redirect resolves from memory. */
typedef struct {
	char *code_folded;
	char *link_id;
	char *program_id;
	char *partner_id;
	char *destination_url;
	bool credited; /* the partner is active and the link live: clicks earn credit */
	int64_t window_days;
	int64_t repeat_minutes;
} rf_code_entry;

typedef struct {
	char *id;
	char *program_id;
	char *email; /* normalised; NULL when only an external id identifies the lead */
	char *external_id;
	char *name, *company, *phone;
	char *source;     /* partner | referral | direct | organic | paid | campaign | other */
	char *status;     /* pending_review | rejected | new | contacted | qualified | converted | lost */
	char *partner_id; /* credited partner (the team parent when an agent is credited) */
	char *agent_id;   /* credited agent, or NULL */
	char *click_id;
	char *method;      /* explicit | coupon | code | click | cookie | none */
	bool registration; /* submitted by a partner: a deal registration */
	char *review_reason;
	int64_t protected_until; /* an approved registration protects the claim until then */
	char *metadata;
	char *created_by;
	int64_t created_at, updated_at, status_at, converted_at;
} rf_lead;

typedef struct {
	char *from_status; /* NULL for the creation */
	char *to_status;
	char *actor;
	char *reason;
	int64_t at;
} rf_lead_event;

typedef struct {
	char *id;
	char *program_id;
	char *name;
	bool is_default;
	int64_t version;
	char *rules; /* JSON text of the current version's rules */
	int64_t valid_from;
	int64_t created_at, updated_at;
} rf_plan;

/* A converted lead (or a lead a payment provider already knows as a customer). */
typedef struct {
	char *id;
	char *program_id;
	char *lead_id;
	char *external_id;     /* the payment provider's or CRM's customer id */
	int64_t first_sale_at; /* 0 before the first sale */
	int64_t created_at;
} rf_customer;

typedef struct {
	char *id;
	char *program_id;
	char *customer_id;
	char *lead_id;
	char *partner_id, *agent_id;
	int64_t amount;
	char currency[4];
	bool has_program_amount;
	int64_t program_amount; /* in the program's currency, for revenue tiers */
	char *external_id;
	char *charge_id;
	char *kind; /* first | recurring */
	int64_t occurred_at;
	int64_t refunded, disputed;
	char *note; /* why the sale earned nothing, or NULL */
	char *metadata;
	char *source;          /* api | stripe | paddle | chargebee (and hubspot, salesforce, pipedrive, import) */
	char *method;          /* how its partner was found: the lead's method, or coupon (rf_attr_method_name) */
	char *coupon;          /* the coupon the customer used, as the source gave it; NULL when none */
	char *source_event_id; /* the source system's event that recorded it; NULL when none (the API) */
	int64_t created_at;
} rf_sale;

typedef struct {
	char *id;
	char *program_id;
	char *sale_id;
	char *kind; /* refund | dispute */
	int64_t amount;
	char currency[4];
	int64_t prior; /* given back on the sale before this one */
	bool has_program_amount;
	int64_t program_amount; /* in the program's currency, for reports */
	char *external_id;
	char *reason;
	char *source;          /* as for sales; NULL for refunds recorded before sources were kept */
	char *source_event_id; /* the source system's event that recorded it, or NULL */
	int64_t occurred_at, created_at;
} rf_refund;

/* One entry of the append-only commission ledger. */
typedef struct {
	char *id;
	char *program_id;
	char *partner_id;
	char *role; /* direct | agent | team | override */
	int64_t level;
	char *rule;       /* lead | sale | recurring | override | reversal */
	char *basis;      /* lead_amount | cost_per_lead | flat | percent | tier | override | reversal */
	char *event_type; /* lead | sale | refund | dispute */
	char *event_id;
	int64_t event_at;
	char *lead_id, *sale_id, *refund_id;
	char *reverses_id;      /* the entry a reversal takes back */
	char *of_commission_id; /* the entry an override is a share of */
	char *plan_id;
	int64_t plan_version;
	int64_t base_amount;
	char base_currency[4];
	bool has_rate;
	int64_t rate_bps;
	int64_t earned;
	char earned_currency[4];
	bool has_fx;
	int64_t fx_rate_ppb;
	bool fx_inverse;
	bool has_amount; /* false while held for a missing FX rate */
	int64_t amount;
	char currency[4];
	char *status; /* pending | held | approved | paid | rejected */
	char *status_reason;
	bool fx_missing;
	int64_t hold_until;
	char *detail; /* JSON object text: the rest of the explanation */
	char *dedupe; /* unique key of the fact the entry records, so nothing is paid twice */
	int64_t created_at, updated_at;
} rf_commission;

typedef struct {
	char *from_status;
	char *to_status;
	char *actor;
	char *reason;
	int64_t at;
} rf_commission_event;

typedef struct {
	char base[4], quote[4];
	int64_t valid_from;
	int64_t rate_ppb;
	int64_t created_at;
} rf_fx_rate;

typedef struct {
	char *id;
	char *program_id;
	char *status; /* draft | approved | paid | cancelled */
	int64_t cutoff;
	char *left_out; /* JSON array: partners left out and why */
	char *created_by, *approved_by;
	int64_t created_at, approved_at, updated_at;
} rf_payout_run;

typedef struct {
	char *id;
	char *run_id;
	char *partner_id;
	int64_t amount;
	char currency[4];
	int64_t entries;
	char *status; /* pending | paid | failed */
	char *reference;
	char *failure_reason;
	int64_t paid_at, created_at, updated_at;
} rf_payout_item;

/* What a partner is owed in one currency: approved entries no run has taken. */
typedef struct {
	char *partner_id;
	char currency[4];
	int64_t amount;
	int64_t entries;
} rf_payout_group;

/* The figures rollups keep, in this order. */
enum {
	RF_M_CLICKS,
	RF_M_LEADS,
	RF_M_QUALIFIED,
	RF_M_CUSTOMERS,
	RF_M_SALES,
	RF_M_REVENUE,
	RF_M_REFUNDS,
	RF_M_CONVERSIONS,
	RF_M_CONVERSION_MS,
	RF_M_EARNED,
	RF_M_APPROVED,
	RF_M_PAID,
	RF_METRICS
};

typedef struct {
	int64_t v[RF_METRICS];
} rf_metrics;

/* Column names of the figures, in the order above. */
extern const char *const rf_metric_names[RF_METRICS];

/* Roles from the most to the least powerful. */
typedef enum { RF_ROLE_NONE = 0, RF_ROLE_PARTNER, RF_ROLE_MANAGER, RF_ROLE_ADMIN, RF_ROLE_OWNER } rf_role;

/* Sets a new program's defaults: cookie window 90 days, last click, holding 30 days, parameters via and ref,
 * repeat clicks within 30 minutes, deal protection 90 days, conflicts looked for 90 days back, payouts on the
 * 1st of the month on NET-30 terms. */
void rf_program_defaults(rf_program *p);

/* Parses a role name; RF_ROLE_NONE when unknown. */
rf_role rf_role_parse(const char *s);
const char *rf_role_name(rf_role r);

bool rf_partner_kind_valid(const char *s);
bool rf_partner_status_valid(const char *s);
bool rf_attribution_model_valid(const char *s);

/* Looks up the parent of id along one relation, for cycle checks; returns the parent's id (or NULL for none)
 * in *parent, owned by the callee's arena. Non-zero on failure. */
typedef int (*rf_parent_fn)(void *ctx, const char *id, char **parent);

/* An event of the log: a change that matters, with the object as the API showed it then (JSON). */
typedef struct {
	char *id, *type;
	char *program_id; /* NULL when it is about no program */
	char *object_id;
	char *partner_id; /* the partner it concerns (the portal shows it to that partner), or NULL */
	char *data;       /* JSON object */
	int64_t created_at;
} rf_event;

/* Where an integrator wants events (Standard Webhooks). */
typedef struct {
	char *id, *url, *description;
	char *event_types; /* JSON array of types, ["*"] for all */
	char *program_id;  /* NULL: every program */
	unsigned char *secret_sealed;
	size_t secret_sealed_len;
	unsigned char *old_secret_sealed; /* the secret before the last rotation, NULL when none */
	size_t old_secret_sealed_len;
	int64_t old_secret_until; /* the old secret signs beside the new one until then */
	char *status;             /* enabled | disabled */
	char *disabled_reason;
	int64_t failing_since; /* when its deliveries began to fail without a success since; 0 when they do not */
	int64_t created_at, updated_at;
} rf_webhook_endpoint;

/* A connection of a program to another system: a billing system that sends sales and refunds, or a CRM. */
typedef struct {
	char *id, *program_id;
	char *system;                      /* paddle | chargebee | hubspot | salesforce | pipedrive */
	char *name;                        /* as the admin named it, or NULL */
	char *status;                      /* enabled | disabled */
	unsigned char *credentials_sealed; /* a JSON object of strings, sealed with the instance key; NULL when none */
	size_t credentials_sealed_len;
	char *credential_keys; /* JSON array: the names of the credentials set, shown instead of them */
	char *settings;        /* JSON object: the system's settings that are no secret */
	char *stage_map;       /* JSON object: the other system's stages to refd's lead statuses */
	char *base_url;        /* where refd calls the system; NULL for the system's own */
	int64_t last_event_at; /* when it last sent something refd took; 0 never */
	int64_t created_at, updated_at;
} rf_connection;

/* One request of a connected system (one event of it, in a batch) and what came of it. */
typedef struct {
	char *id, *connection_id, *program_id, *system;
	char *event_id;   /* the system's id for it, as sent (NULL when none could be read) */
	char *dedupe_key; /* unique per connection among handled events; NULL for duplicates and refusals */
	char *type;       /* the system's event type, or NULL */
	char *outcome;    /* processed | ignored | duplicate | refused */
	char *reason;     /* why (ignored, refused), or a note */
	char *object_id;  /* what refd made of it (lead_…, sale_…, rfd_…), or NULL */
	int status_code;  /* what refd answered */
	int64_t occurred_at, received_at;
	char *payload; /* what the system sent about it (JSON), kept for work done after the answer; NULL when none */
} rf_inbound_event;

/* One thing to send because of an event: kind "webhook" (target: an endpoint). */
typedef struct {
	char *id, *kind, *target_id, *event_id;
	char *status; /* pending | delivered | failed | cancelled */
	int attempts;
	int64_t next_at;     /* when it may be tried (again) */
	int64_t lease_until; /* claimed by a sender until then */
	bool has_status_code;
	int last_status_code;
	char *last_error;
	int64_t created_at, updated_at;
} rf_delivery;

/* One attempt of a delivery. */
typedef struct {
	char *delivery_id;
	int64_t at;
	bool has_status_code;
	int status_code;
	int64_t latency_ms;
	char *response; /* the first bytes of the answer */
	char *error;    /* why there was no answer, or NULL */
} rf_delivery_attempt;

/* A mail message of the outbox, with the state of its delivery (kind "mail") when read back. */
typedef struct {
	char *id;       /* msg_… */
	char *category; /* application | deal | deal_reminder | commissions_digest | payout | password_reset |
			   admin_digest | admin_alert | test */
	char *recipient, *recipient_name;
	char *user_id, *partner_id, *program_id, *event_id; /* what it is for; NULL when none */
	char *message_id;                                   /* "<…@…>" */
	char *subject, *text_body, *html_body;
	char *link;    /* the page it opens, or NULL */
	char *headers; /* JSON object of its own header fields */
	bool sealed;   /* bodies and link sealed with the instance key (base64), emptied once sent or given up */
	int64_t created_at, sent_at;
	/* Read back with the message: its delivery. */
	char *delivery_id, *status; /* pending | delivered | failed | cancelled */
	int attempts;
	int64_t next_at;
	bool has_status_code;
	int last_status_code;
	char *last_error;
} rf_mail_message;

#endif
