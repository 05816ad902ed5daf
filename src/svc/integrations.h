/* SPDX-License-Identifier: Apache-2.0 */
/* Connections of a program to other systems (billing systems that send sales and refunds, CRMs that send and take
 * leads): the systems refd knows and what each takes, connecting and changing them with their credentials sealed
 * with the instance key, and the log every inbound system writes what it sent to. */
#ifndef RF_SVC_INTEGRATIONS_H
#define RF_SVC_INTEGRATIONS_H

#include <jansson.h>

#include "svc.h"

/* A system refd connects to. */
typedef struct {
	const char *name;               /* "paddle": the API's and the database's name */
	const char *title;              /* "Paddle Billing": for people */
	const char *kind;               /* billing | crm */
	const char *const *credentials; /* the credentials it takes, ended by NULL; NULL: any name (not built yet) */
	const char *const *required;    /* those it needs, ended by NULL */
	const char *const *settings;    /* the integer settings it takes (no secret), ended by NULL */
	const char *default_base_url;   /* its API's address, NULL when refd does not call it */
} rf_integration_system;

/* Every system, ended by an entry with a NULL name. */
extern const rf_integration_system rf_integration_systems[];

/* The system called name, or NULL. */
const rf_integration_system *rf_integration_system_find(const char *name);

/* What creating or changing a connection says; NULL (or has_* false) for what it leaves as it is. Strings are
 * the caller's. */
typedef struct {
	const char *program_id, *system;
	const char *name;
	bool has_name;
	const char *status;   /* enabled | disabled */
	json_t *credentials;  /* an object of strings (a null member removes that credential); borrowed */
	json_t *settings;     /* an object of integers (a null member goes back to the default); borrowed */
	json_t *stage_map;    /* an object: the other system's stage -> a lead status; borrowed */
	const char *base_url; /* "" goes back to the system's own */
	bool has_base_url;
} rf_connection_input;

/* Connects a system to a program: the credentials are checked against what the system takes and sealed, a
 * Chargebee connection without a password gets one generated. *shown (a new reference) holds the credentials as
 * they were stored, to be shown once to whoever made the connection and never again. RF_EINVAL naming the field
 * at fault, RF_ECONFLICT on "system" when the program has this system connected already. */
rf_status rf_svc_connection_create(rf_svc *sv, const rf_connection_input *in, rf_connection *out, json_t **shown,
				   rf_err *err);

/* Changes a connection (c as the caller read it, changed in place): credentials given replace those of the same
 * name. The same errors as creation. */
rf_status rf_svc_connection_update(rf_svc *sv, rf_connection *c, const rf_connection_input *in, rf_err *err);

/* Removes a connection with its log. */
rf_status rf_svc_connection_delete(rf_svc *sv, const rf_connection *c, rf_err *err);

/* The connection's credentials, unsealed: a new reference to an object of strings (empty when none). RF_EIO when
 * they cannot be unsealed (another instance key). */
rf_status rf_svc_connection_credentials(rf_svc *sv, const rf_connection *c, json_t **out, rf_err *err);

/* An integer setting of the connection, or def when it has none. */
int64_t rf_svc_connection_setting(const rf_connection *c, const char *name, int64_t def);
/* True for a value settings.sale_kind takes: first, recurring or derived. */
bool rf_svc_sale_kind_valid(const char *kind);
/* The kind a CRM connection's won deals are recorded as: "first", "recurring", or NULL to derive it from the
 * customer's earlier sales (settings.sale_kind derived, or none). */
const char *rf_svc_connection_sale_kind(const rf_connection *c);

/* Where refd calls the system: the connection's base URL, else the system's own (NULL when none), in the arena. */
const char *rf_svc_connection_base_url(rf_svc *sv, const rf_connection *c);

/* The URL to paste into the other system for its webhooks: {public_url}/api/v1/integrations/{system}/webhook
 * ?connection={id}, in the arena. */
char *rf_svc_connection_webhook_url(rf_svc *sv, const rf_connection *c);

/* Checks the types and shapes of what an input gives, before anything is looked up (the system's own rules are
 * checked when creating or changing): RF_EINVAL naming the member at fault. */
rf_status rf_svc_connection_input_check(const rf_connection_input *in, rf_err *err);

/* True when status may be a stage's lead status in a stage map (new, contacted, qualified, converted, lost). */
bool rf_svc_stage_status_ok(const char *status);

/* The lead status a connection's stage map gives the other system's stage, or NULL when it has none. */
const char *rf_svc_connection_stage(const rf_connection *c, const char *stage, rf_arena *a);

/* The inbound log. rf_svc_inbound_seen finds the event a connection handled under dedupe_key (RF_ENOTFOUND when
 * none). rf_svc_inbound_log writes e (its id, connection, program, system and time filled in here) and, for an
 * event refd took (processed, ignored, duplicate), the connection's last event time; refusals beyond the newest
 * 200 of the connection are removed, since anyone who knows the URL can make them. */
rf_status rf_svc_inbound_seen(rf_svc *sv, const rf_connection *c, const char *dedupe_key, rf_inbound_event *prev,
			      rf_err *err);
rf_status rf_svc_inbound_log(rf_svc *sv, rf_connection *c, rf_inbound_event *e, rf_err *err);

#endif
