/* SPDX-License-Identifier: Apache-2.0 */
/* The CRMs (HubSpot, Pipedrive, Salesforce) in refd's terms, both ways: a contact the CRM made becomes a lead (or is
 * matched to one), a deal moves its lead through the stage map and, once won, becomes a sale; a lead a partner
 * brought in is queued to be pushed to each connected CRM. Which record of the CRM stands for which lead is kept in
 * external_objects, both ways. */
#ifndef RF_SVC_CRM_H
#define RF_SVC_CRM_H

#include "svc.h"

/* A CRM's contact (HubSpot contact, Pipedrive person, Salesforce Lead) as refd reads it; NULL for what it lacks. */
typedef struct {
	const char *id; /* the CRM's id, required */
	const char *email, *first_name, *last_name, *name, *company, *phone;
	const char *code, *click; /* the referral code and the click id it carries */
	int64_t modified_at;      /* when the CRM last changed it; 0 when unknown */
	const char *deal_id;      /* the deal it became (Salesforce: a converted Lead's ConvertedOpportunityId), which
				     then stands for the same lead; NULL when none */
} rf_crm_contact;

/* A CRM's deal (HubSpot deal, Pipedrive deal, Salesforce Opportunity). */
typedef struct {
	const char *id;       /* required */
	const char *stage;    /* the CRM's stage, looked up in the connection's stage map; NULL when none */
	bool won, lost;       /* what the CRM says besides the stage (HubSpot's closedwon counts as won) */
	const char *amount;   /* a decimal in major units, NULL when none */
	const char *currency; /* NULL: the program's */
	int64_t closed_at;    /* when it closed; 0: now */
	int64_t modified_at;  /* when the CRM last changed it, 0 when unknown: an older copy than refd acted on is
				 ignored */
	const char *code, *click;
	const char *contact_id; /* the CRM's contact it is for, NULL when none */
	const char *event_id;   /* the CRM's event that told of it, named by the sale */
} rf_crm_deal;

/* What handling a record came to: outcome processed, ignored or duplicate, why, and refd's object. */
typedef struct {
	const char *outcome;
	const char *note;
	char *object_id;
} rf_crm_result;

/* A contact of connection c: matched to the lead it already stands for, or to the lead with its email, else a new
 * lead attributed by its code or click id (created by sv->actor, which should be the system's name). */
rf_status rf_svc_crm_contact(rf_svc *sv, const rf_connection *c, const rf_crm_contact *ct, rf_crm_result *out,
			     rf_err *err);

/* A deal of connection c: its lead found (the deal's own link, its contact's, the contact given, or a lead made
 * for its referral code), moved to the status the stage map gives its stage, and a won deal recorded as a sale of
 * its amount once (external id "{system}:deal:{id}"): RF_EINVAL naming what is missing or wrong. */
rf_status rf_svc_crm_deal(rf_svc *sv, const rf_connection *c, const rf_crm_deal *d, const rf_crm_contact *contact,
			  rf_crm_result *out, rf_err *err);

/* The lead a CRM record stands for (kind contact or deal); RF_ENOTFOUND when none. */
rf_status rf_svc_crm_linked(rf_svc *sv, const char *program_id, const char *system, const char *kind,
			    const char *external_id, char **lead_id, rf_err *err);
/* The CRM record of kind that stands for the lead; RF_ENOTFOUND when none. */
rf_status rf_svc_crm_record_of(rf_svc *sv, const char *program_id, const char *system, const char *kind,
			       const char *lead_id, char **external_id, rf_err *err);
/* Records that the CRM record of kind stands for the lead (both ways). */
rf_status rf_svc_crm_link(rf_svc *sv, const char *program_id, const char *system, const char *kind,
			  const char *external_id, const char *lead_id, rf_err *err);

/* Queues, for event ev about lead l, a push of the lead to every enabled CRM connection of its program that can
 * take one: on deal.approved (an approved registration), and on lead.created for a lead credited to a partner that
 * is no registration waiting for review; never back to the CRM the lead came from. */
rf_status rf_svc_crm_queue_lead(rf_svc *sv, const rf_event *ev, const rf_lead *l, rf_err *err);

/* Queues the work an inbound event needs after the answer (reading the record from the CRM's API). */
rf_status rf_svc_crm_queue_fetch(rf_svc *sv, const rf_connection *c, const rf_inbound_event *e, rf_err *err);

/* The delivery kind of everything above. */
#define RF_CRM_DELIVERY "crm"

#endif
