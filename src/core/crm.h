/* SPDX-License-Identifier: Apache-2.0 */
/* What the CRMs send, read without I/O: HubSpot's webhook v3 signature and its batches of events, and the amounts
 * CRMs give as decimals in major units, turned into exact minor units. */
#ifndef RF_CRM_H
#define RF_CRM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "status.h"

/* HubSpot sends fewer than 100 events in one request; refd reads at most this many and refuses more. */
#define RF_HUBSPOT_MAX_EVENTS 100
/* HubSpot's window for X-HubSpot-Request-Timestamp, in milliseconds. */
#define RF_HUBSPOT_WINDOW_MS 300000
/* The length of a base64 HMAC-SHA256, with its NUL. */
#define RF_HUBSPOT_SIG_LEN 45

/* Decodes in uri the escapes HubSpot decodes before signing (%3A : %2F / %3F ? %40 @ %21 ! %24 $ %27 ' %28 ( %29 )
 * %2A * %2C , %3B ;, in either case), into the arena; NULL when out of memory. */
char *rf_hubspot_uri_decode(rf_arena *a, const char *uri);

/* The v3 signature: base64(HMAC-SHA256(secret, method + uri + body + timestamp)) into out, with uri decoded as
 * above. */
void rf_hubspot_sign_v3(const char *secret, const char *method, const char *uri, const char *body, size_t len,
			const char *timestamp, rf_arena *a, char out[RF_HUBSPOT_SIG_LEN]);

/* True when sig is the v3 signature of the request (compared in constant time) and timestamp (milliseconds, as
 * sent) lies no more than RF_HUBSPOT_WINDOW_MS before now_ms; *stale tells the second failure from the first. */
bool rf_hubspot_verify_v3(const char *secret, const char *method, const char *uri, const char *body, size_t len,
			  const char *timestamp, const char *sig, int64_t now_ms, rf_arena *a, bool *stale);

/* One event of a HubSpot webhook batch. Ids are kept as text (HubSpot sends numbers, its API strings). */
typedef struct {
	char *type;          /* subscriptionType (or the older eventType): "contact.creation" */
	char *object_id;     /* objectId */
	char *event_id;      /* eventId */
	char *property;      /* propertyName, NULL unless a property changed */
	char *value;         /* propertyValue, NULL when none */
	char *dedupe_key;    /* portalId:subscriptionId:eventId:objectId:occurredAt, as the fixtures' README advises */
	int64_t occurred_at; /* occurredAt, epoch milliseconds; 0 when absent */
	int64_t attempt;     /* attemptNumber */
} rf_hubspot_event;

/* Reads a webhook body: a JSON array of 1 to RF_HUBSPOT_MAX_EVENTS events, each an object with an objectId and
 * an eventId. Fields refd does not use are skipped. RF_EINVAL (err naming the member) for anything else;
 * *events lives in the arena. */
rf_status rf_hubspot_parse(const char *body, size_t len, rf_arena *a, rf_hubspot_event **events, size_t *n,
			   rf_err *err);

/* One Pipedrive webhook (v2): its meta and what refd reads of its person or deal. Text in the arena, NULL when
 * absent. */
typedef struct {
	char *id;        /* meta.id: the event's id, the dedupe key */
	char *action;    /* create | change | delete */
	char *entity;    /* person | deal | … */
	char *object_id; /* meta.entity_id */
	int64_t attempt; /* meta.attempt, 1 to 4 */
	int64_t at;      /* meta.timestamp (ISO 8601 or epoch seconds) in ms; 0 when unreadable */
	/* A person. */
	char *email, *first_name, *last_name, *name, *phone;
	/* A deal. */
	char *status, *stage, *amount, *currency, *person_id;
	int64_t won_at, updated_at;
	/* Custom fields named by the connection: the referral code and the click id. */
	char *code, *click;
} rf_pipedrive_event;

/* Reads a Pipedrive webhook v2 body: an object with meta (id, action, entity) and data (null on delete).
 * code_field and click_field (may be NULL) are the 40-character keys of the custom fields that carry the code and
 * the click id. A deal's value (a JSON number in major units) becomes decimal text exactly for integers, and for
 * fractions through their shortest decimal form of at most 15 significant digits; anything else is left out.
 * RF_EINVAL naming the member at fault. */
rf_status rf_pipedrive_parse(const char *body, size_t len, const char *code_field, const char *click_field, rf_arena *a,
			     rf_pipedrive_event *out, rf_err *err);

/* Salesforce's Outbound Messaging allows at most this many notifications in one message. */
#define RF_SALESFORCE_MAX_NOTIFICATIONS 100
#define RF_SALESFORCE_MAX_FIELDS 200

/* One field of a notification's sObject: its local name, its text, and whether it is xsi:nil. */
typedef struct {
	char *name;
	char *value;
	bool nil;
} rf_salesforce_field;

typedef struct {
	char *id;   /* the notification's Id (04l…): the dedupe key */
	char *type; /* the sObject's type without its prefix: "Lead", "Opportunity" */
	rf_salesforce_field *fields;
	size_t n;
} rf_salesforce_notification;

typedef struct {
	char *organization_id, *action_id;
	rf_salesforce_notification *items;
	size_t n;
} rf_salesforce_message;

/* Reads an Outbound Messaging SOAP body (soapenv:Envelope > Body > notifications in the outbound namespace) with 1
 * to RF_SALESFORCE_MAX_NOTIFICATIONS notifications, each with an Id and an sObject. RF_EINVAL naming what is
 * missing. */
rf_status rf_salesforce_parse(const char *body, size_t len, rf_arena *a, rf_salesforce_message *out, rf_err *err);

/* A field's text, NULL when absent, nil or empty. */
const char *rf_salesforce_value(const rf_salesforce_notification *n, const char *name);

/* True when the organisation ids are the same organisation: their first 15 characters (the case-sensitive id)
 * match, whether either is given in the 15- or the 18-character form. */
bool rf_salesforce_same_org(const char *a, const char *b);

/* The exact acknowledgement Outbound Messaging expects, and its length. */
extern const char rf_salesforce_ack[];
extern const size_t rf_salesforce_ack_len;

/* True when header is "Basic base64(user:password)" for this user and password (compared in constant time). */
bool rf_basic_auth_ok(const char *header, const char *user, const char *password);

/* A decimal in major units as CRMs send it ("12000.00", "12000.0", "4900") into minor units of currency: trailing
 * zeros of the fraction are dropped first, then more decimals than the currency has are refused rather than
 * rounded. RF_EINVAL for what is not a positive decimal or an unknown currency, RF_EOVERFLOW above RF_MONEY_MAX;
 * cur receives the upper-case code. */
rf_status rf_crm_amount(const char *decimal, const char *currency, int64_t *minor, char cur[4]);

#endif
