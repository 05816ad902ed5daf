/* SPDX-License-Identifier: Apache-2.0 */
/* The CRM sender (see crm.h): claims due "crm" deliveries, reads what each needs in a short transaction, calls the
 * CRM with libcurl outside any transaction, and records the outcome (and what the CRM answered: the ids of the
 * records it made, the record it was asked for) in another. HubSpot: contacts and deals through the CRM v3 objects
 * API with a private app's token; Pipedrive: persons and deals through its API v2 with an API token; Salesforce: a
 * Lead through the REST API with an OAuth token of the connected app (refresh-token or client-credentials flow),
 * kept in memory per connection until it expires or is refused. */
#include "crm.h"

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/arena.h"
#include "../core/clock.h"
#include "../core/secret.h"
#include "../core/text.h"
#include "../svc/crm.h"
#include "../svc/integrations.h"

/* How long a claim lasts: longer than the calls of a whole batch can take (each call is bounded at 25 s, and a
 * delivery makes at most four), so that no other process claims a delivery this one is still making. */
#define LEASE_MS 600000
/* The part of an answer refd reads, and the part it keeps in the attempt log. */
#define MAX_ANSWER (256u * 1024u)
#define KEPT_ANSWER 512
/* Deliveries claimed at once. */
#define BATCH 5

/* The pause before each attempt after a failed one, in seconds. */
static const int64_t backoff_s[RF_CRM_MAX_ATTEMPTS] = {30, 120, 600, 1800, 3600, 7200, 14400, 28800, 43200, 86400};

/* Salesforce's OAuth tokens kept between deliveries, one per connection: a token says nothing of when it expires
 * (the session times out after the organisation's idle time, two hours at the least), so one is kept at most
 * TOKEN_LIFE_MS (or the expires_in its answer gives, when shorter), and dropped at once when Salesforce refuses it or
 * the connection's credentials or address change (its key is a digest of them). */
#define TOKEN_SLOTS 64
#define TOKEN_LIFE_MS (60 * 60 * 1000)
#define TOKEN_MAX 4096
typedef struct {
	char conn_id[64];
	char key[RF_HEX256_LEN];
	char *token; /* malloc'd; NULL for a free slot */
	int64_t until, used;
} token_slot;
static struct {
	pthread_mutex_t mu;
	token_slot slot[TOKEN_SLOTS];
} T = {.mu = PTHREAD_MUTEX_INITIALIZER};

static struct {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool running, stop, kicked;
	long interval_ms;
	rf_store *store;
	const rf_app_config *cfg;
} S = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

/* ---- HTTP ---- */

typedef struct {
	int status; /* 0: no answer */
	char *body; /* NUL-terminated, at most MAX_ANSWER bytes, in the arena */
	size_t len;
	char error[CURL_ERROR_SIZE];
	int64_t latency_ms;
} answer;

typedef struct {
	rf_arena *a;
	char *buf;
	size_t len, cap;
} sink;

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	sink *k = arg;
	size_t got = size * n;
	size_t take = k->len + got > MAX_ANSWER ? MAX_ANSWER - k->len : got;
	if (take > 0) {
		if (k->len + take + 1 > k->cap) {
			size_t cap = (k->len + take + 1) * 2;
			if (cap > MAX_ANSWER + 1)
				cap = MAX_ANSWER + 1;
			char *grown = rf_arena_alloc(k->a, cap);
			if (!grown)
				return 0;
			if (k->len)
				memcpy(grown, k->buf, k->len);
			k->buf = grown;
			k->cap = cap;
		}
		memcpy(k->buf + k->len, p, take);
		k->len += take;
		k->buf[k->len] = '\0';
	}
	/* What is beyond the cap is read and dropped, so the answer's status still counts. */
	return got;
}

/* One request: method to url with the headers given (NULL-ended) and body (NULL for none). */
static void call(rf_arena *a, const char *method, const char *url, const char *const *headers, const char *body,
		 answer *out)
{
	memset(out, 0, sizeof *out);
	CURL *h = curl_easy_init();
	if (!h) {
		snprintf(out->error, sizeof out->error, "cannot make an HTTP request (libcurl)");
		return;
	}
	sink k = {a, NULL, 0, 0};
	struct curl_slist *list = NULL;
	for (const char *const *hd = headers; hd && *hd; hd++)
		list = curl_slist_append(list, *hd);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 20000L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "refd-crm/1");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &k);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, out->error);
	if (body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	int64_t t0 = rf_clock_mono_us();
	CURLcode rc = curl_easy_perform(h);
	out->latency_ms = (rf_clock_mono_us() - t0) / 1000;
	if (rc == CURLE_OK) {
		long status = 0;
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
		out->status = (int)status;
		out->error[0] = '\0';
	} else if (!out->error[0]) {
		snprintf(out->error, sizeof out->error, "%s", curl_easy_strerror(rc));
	}
	out->body = k.buf ? k.buf : rf_arena_strdup(a, "");
	out->len = k.len;
	curl_slist_free_all(list);
	curl_easy_cleanup(h);
}

/* ---- what one delivery needs, and what came of it ---- */

typedef struct {
	rf_delivery d;
	rf_connection conn;
	bool gone;        /* what it was about is no more: the delivery is cancelled */
	const char *why;  /* why it is gone */
	const char *base; /* the system's API address */
	const char *token;
	const char *client_id, *client_secret, *refresh_token; /* Salesforce's OAuth */
	bool inbound;                                          /* an inbound event's follow-up (else a lead to push) */
	rf_inbound_event ibe;
	json_t *payload; /* the inbound event as the system sent it */
	rf_lead lead;
	char *contact_id, *deal_id; /* the CRM's records of the lead, NULL when none yet */
	const char *new_stage;      /* the stage a pushed deal starts in */
} job;

typedef enum { R_DONE, R_RETRY, R_FAILED } result_kind;

typedef struct {
	result_kind kind;
	int status; /* the last answer's status, 0 when none */
	char *error;
	char *response;
	int64_t latency_ms;
	/* Records the CRM made or named, to link to the lead. */
	char *contact_id, *deal_id;
	/* What the CRM said of the records an inbound event is about. */
	json_t *contact, *deal;
	bool missing; /* the record is no more in the CRM */
} result;

static rf_status load_step(rf_store *s, void *arg, rf_err *err);

typedef struct {
	job *j;
	rf_arena *a;
	const rf_app_config *cfg;
} load_ctx;

static rf_status load_step(rf_store *s, void *arg, rf_err *err)
{
	load_ctx *L = arg;
	job *j = L->j;
	rf_svc sv = {.store = s, .a = L->a, .actor = "system:crm", .cfg = L->cfg};
	rf_status rc = rf_store_connection_get(s, j->d.target_id, &j->conn, L->a, err);
	if (rc == RF_ENOTFOUND) {
		j->gone = true;
		j->why = "the connection was removed";
		memset(err, 0, sizeof *err);
		return RF_OK;
	}
	if (rc != RF_OK)
		return rc;
	json_t *creds = NULL;
	if (rf_svc_connection_credentials(&sv, &j->conn, &creds, err) != RF_OK)
		return err->status;
	const char *tok = json_string_value(json_object_get(creds, "access_token"));
	if (!tok)
		tok = json_string_value(json_object_get(creds, "api_token"));
	j->token = tok ? rf_arena_strdup(L->a, tok) : NULL;
	const char *cv = json_string_value(json_object_get(creds, "client_id"));
	j->client_id = cv ? rf_arena_strdup(L->a, cv) : NULL;
	cv = json_string_value(json_object_get(creds, "client_secret"));
	j->client_secret = cv ? rf_arena_strdup(L->a, cv) : NULL;
	cv = json_string_value(json_object_get(creds, "refresh_token"));
	j->refresh_token = cv ? rf_arena_strdup(L->a, cv) : NULL;
	json_decref(creds);
	j->base = rf_svc_connection_base_url(&sv, &j->conn);
	j->inbound = strncmp(j->d.event_id, "ibe_", 4) == 0;
	if (j->inbound) {
		rc = rf_store_inbound_event_get(s, j->d.event_id, &j->ibe, L->a, err);
		if (rc == RF_ENOTFOUND) {
			j->gone = true;
			j->why = "the inbound event was removed";
			memset(err, 0, sizeof *err);
			return RF_OK;
		}
		if (rc != RF_OK)
			return rc;
		j->payload = json_loads(j->ibe.payload ? j->ibe.payload : "{}", 0, NULL);
		return RF_OK;
	}
	rf_event ev;
	rc = rf_store_event_get(s, j->d.event_id, &ev, L->a, err);
	if (rc == RF_OK)
		rc = rf_store_lead_get(s, ev.object_id, &j->lead, L->a, err);
	if (rc == RF_ENOTFOUND) {
		j->gone = true;
		j->why = "the event or its lead is no more";
		memset(err, 0, sizeof *err);
		return RF_OK;
	}
	if (rc != RF_OK)
		return rc;
	rc = rf_svc_crm_record_of(&sv, j->lead.program_id, j->conn.system, "contact", j->lead.id, &j->contact_id, err);
	if (rc == RF_OK || rc == RF_ENOTFOUND)
		rc =
		    rf_svc_crm_record_of(&sv, j->lead.program_id, j->conn.system, "deal", j->lead.id, &j->deal_id, err);
	if (rc == RF_ENOTFOUND)
		rc = RF_OK;
	memset(err, 0, sizeof *err);
	/* A deal refd makes starts in the stage the admin mapped to a new lead, else the default pipeline's first. */
	j->new_stage = strcmp(j->conn.system, "hubspot") == 0 ? "appointmentscheduled" : NULL;
	json_t *map = json_loads(j->conn.stage_map ? j->conn.stage_map : "{}", 0, NULL);
	const char *k;
	json_t *v;
	json_object_foreach(map, k, v)
	{
		if (json_string_value(v) && strcmp(json_string_value(v), "new") == 0) {
			j->new_stage = rf_arena_strdup(L->a, k);
			break;
		}
	}
	json_decref(map);
	return rc;
}

/* The first bytes of an answer, for the attempt log. */
static char *kept(rf_arena *a, const answer *an)
{
	if (!an->body || !an->len)
		return NULL;
	return rf_arena_strndup(a, an->body, an->len > KEPT_ANSWER ? KEPT_ANSWER : an->len);
}

/* Judges an answer that was not what refd wanted: retried when it may come right later, failed otherwise. */
static void judge(rf_arena *a, const char *what, const answer *an, result *r)
{
	r->status = an->status;
	r->latency_ms += an->latency_ms;
	r->response = kept(a, an);
	if (an->status == 0) {
		r->kind = R_RETRY;
		r->error = rf_arena_printf(a, "%s: no answer: %s", what, an->error);
	} else if (an->status == 401 || an->status == 403) {
		/* The token may be replaced on the connection: the delivery waits for it. */
		r->kind = R_RETRY;
		r->error = rf_arena_printf(a, "%s: the system refused refd's credentials (%d)", what, an->status);
	} else if (an->status == 408 || an->status == 429 || an->status >= 500) {
		r->kind = R_RETRY;
		r->error = rf_arena_printf(a, "%s: the system answered %d, to be tried again", what, an->status);
	} else {
		r->kind = R_FAILED;
		r->error = rf_arena_printf(a, "%s: the system answered %d", what, an->status);
	}
}

/* The id of a created record (HubSpot: "id", a string). */
static char *created_id(rf_arena *a, const answer *an)
{
	json_t *o = json_loads(an->body ? an->body : "", 0, NULL);
	json_t *id = json_object_get(o, "id");
	/* Pipedrive wraps the record: {"success": true, "data": {"id": 1202, …}}. */
	if (!id)
		id = json_object_get(json_object_get(o, "data"), "id");
	char *out = NULL;
	if (json_is_string(id) && strlen(json_string_value(id)) <= 64)
		out = rf_arena_strdup(a, json_string_value(id));
	else if (json_is_integer(id))
		out = rf_arena_printf(a, "%lld", (long long)json_integer_value(id));
	json_decref(o);
	return out;
}

/* ---- HubSpot ---- */

static const char *const *hubspot_headers(rf_arena *a, const job *j)
{
	const char **h = rf_arena_alloc(a, sizeof *h * 4);
	if (!h)
		return NULL;
	h[0] = rf_arena_printf(a, "Authorization: Bearer %s", j->token);
	h[1] = "Content-Type: application/json";
	h[2] = "Accept: application/json";
	h[3] = NULL;
	return h;
}

/* The contact HubSpot names in a 409 "Contact already exists. Existing ID: 118011112201". */
static char *existing_id(rf_arena *a, const answer *an)
{
	json_t *o = json_loads(an->body ? an->body : "", 0, NULL);
	const char *msg = json_string_value(json_object_get(o, "message"));
	const char *at = msg ? strstr(msg, "Existing ID: ") : NULL;
	char *out = NULL;
	if (at) {
		at += 13;
		size_t n = 0;
		while (at[n] >= '0' && at[n] <= '9' && n < 40)
			n++;
		if (n > 0)
			out = rf_arena_strndup(a, at, n);
	}
	json_decref(o);
	return out;
}

static void hubspot_push(rf_arena *a, job *j, result *r)
{
	const char *const *hd = hubspot_headers(a, j);
	answer an;
	const rf_lead *l = &j->lead;
	if (!j->contact_id) {
		json_t *props = json_object();
		if (l->email)
			json_object_set_new(props, "email", json_string(l->email));
		if (l->name) {
			const char *sp = strchr(l->name, ' ');
			json_object_set_new(props, "firstname",
					    sp ? json_stringn(l->name, (size_t)(sp - l->name)) : json_string(l->name));
			if (sp && sp[1])
				json_object_set_new(props, "lastname", json_string(sp + 1));
		}
		if (l->company)
			json_object_set_new(props, "company", json_string(l->company));
		if (l->phone)
			json_object_set_new(props, "phone", json_string(l->phone));
		json_object_set_new(props, "lifecyclestage", json_string("lead"));
		json_t *body = json_pack("{s:o, s:[]}", "properties", props, "associations");
		char *text = json_dumps(body, JSON_COMPACT);
		json_decref(body);
		call(a, "POST", rf_arena_printf(a, "%s/crm/v3/objects/contacts", j->base), hd, text, &an);
		free(text);
		r->latency_ms += an.latency_ms;
		if (an.status == 200 || an.status == 201) {
			r->contact_id = created_id(a, &an);
		} else if (an.status == 409 && (r->contact_id = existing_id(a, &an)) != NULL) {
			/* The person is in HubSpot already: the lead is linked to that contact. */
		} else {
			judge(a, "creating the contact", &an, r);
			return;
		}
		if (!r->contact_id) {
			judge(a, "creating the contact (an answer without an id)", &an, r);
			r->kind = R_RETRY;
			return;
		}
		r->status = an.status;
		r->response = kept(a, &an);
	}
	if (!j->deal_id) {
		const char *contact = r->contact_id ? r->contact_id : j->contact_id;
		const char *title = l->company ? l->company : l->name ? l->name : l->email ? l->email : l->id;
		json_t *body = json_pack("{s:{s:s, s:s, s:s}, s:[{s:{s:s}, s:[{s:s, s:i}]}]}", "properties", "dealname",
					 rf_arena_printf(a, "%s (referral %s)", title, l->id), "pipeline", "default",
					 "dealstage", j->new_stage, "associations", "to", "id", contact, "types",
					 "associationCategory", "HUBSPOT_DEFINED", "associationTypeId", 3);
		char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
		json_decref(body);
		call(a, "POST", rf_arena_printf(a, "%s/crm/v3/objects/deals", j->base), hd, text, &an);
		free(text);
		r->latency_ms += an.latency_ms;
		if ((an.status != 200 && an.status != 201) || !(r->deal_id = created_id(a, &an))) {
			judge(a, "creating the deal", &an, r);
			if (an.status == 200 || an.status == 201)
				r->kind = R_RETRY;
			return;
		}
		r->status = an.status;
		r->response = kept(a, &an);
	}
	r->kind = R_DONE;
}

/* Reads one HubSpot record; false (r judged) when it could not be had, *out NULL when it is no more. */
static bool hubspot_get(rf_arena *a, job *j, const char *path, const char *what, json_t **out, result *r)
{
	*out = NULL;
	answer an;
	call(a, "GET", rf_arena_printf(a, "%s%s", j->base, path), hubspot_headers(a, j), NULL, &an);
	r->latency_ms += an.latency_ms;
	r->status = an.status;
	r->response = kept(a, &an);
	if (an.status == 404) {
		r->missing = true;
		return true;
	}
	if (an.status != 200 || !(*out = json_loads(an.body, 0, NULL)) || !json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		judge(a, what, &an, r);
		if (an.status == 200)
			r->kind = R_RETRY;
		return false;
	}
	return true;
}

static void hubspot_fetch(rf_arena *a, job *j, result *r)
{
	const char *type = json_string_value(json_object_get(j->payload, "type"));
	const char *id = json_string_value(json_object_get(j->payload, "objectId"));
	if (!type || !id) {
		r->kind = R_FAILED;
		r->error = "the inbound event has no type or object id";
		return;
	}
	r->kind = R_DONE;
	static const char contact_props[] =
	    "?properties=email,firstname,lastname,company,phone,refd_code,refd_click,referral_code,lastmodifieddate";
	if (strncmp(type, "contact.", 8) == 0) {
		if (!hubspot_get(a, j, rf_arena_printf(a, "/crm/v3/objects/contacts/%s%s", id, contact_props),
				 "reading the contact", &r->contact, r))
			return;
		r->kind = R_DONE;
		return;
	}
	if (!hubspot_get(a, j,
			 rf_arena_printf(a,
					 "/crm/v3/objects/deals/%s?properties=dealname,amount,dealstage,closedate,"
					 "pipeline,deal_currency_code,refd_code,refd_click,referral_code,"
					 "hs_lastmodifieddate&associations=contacts",
					 id),
			 "reading the deal", &r->deal, r))
		return;
	json_t *first = json_array_get(
	    json_object_get(json_object_get(json_object_get(r->deal, "associations"), "contacts"), "results"), 0);
	const char *cid = json_string_value(json_object_get(first, "id"));
	if (cid && strlen(cid) <= 40) {
		bool missing = r->missing;
		if (!hubspot_get(a, j, rf_arena_printf(a, "/crm/v3/objects/contacts/%s%s", cid, contact_props),
				 "reading the deal's contact", &r->contact, r))
			return;
		/* A contact removed since leaves the deal as it is. */
		r->missing = missing;
	}
	r->kind = R_DONE;
}

/* A property of a HubSpot record, NULL when absent or blank. */
static const char *prop(json_t *rec, const char *name)
{
	const char *s = json_string_value(json_object_get(json_object_get(rec, "properties"), name));
	return s && *s ? s : NULL;
}

static int64_t prop_time(json_t *rec, const char *name)
{
	int64_t ms = 0;
	const char *s = prop(rec, name);
	return s && rf_clock_parse(s, &ms) == 0 ? ms : 0;
}

static void hubspot_contact(json_t *rec, rf_crm_contact *ct)
{
	memset(ct, 0, sizeof *ct);
	ct->id = json_string_value(json_object_get(rec, "id"));
	ct->email = prop(rec, "email");
	ct->first_name = prop(rec, "firstname");
	ct->last_name = prop(rec, "lastname");
	ct->company = prop(rec, "company");
	ct->phone = prop(rec, "phone");
	ct->code = prop(rec, "refd_code") ? prop(rec, "refd_code") : prop(rec, "referral_code");
	ct->click = prop(rec, "refd_click");
	ct->modified_at = prop_time(rec, "lastmodifieddate");
}

/* ---- Pipedrive ---- */

static void pipedrive_push(rf_arena *a, job *j, result *r)
{
	const char *hd[] = {rf_arena_printf(a, "x-api-token: %s", j->token), "Content-Type: application/json",
			    "Accept: application/json", NULL};
	answer an;
	const rf_lead *l = &j->lead;
	if (!j->contact_id) {
		json_t *body = json_pack("{s:s}", "name", l->name ? l->name : l->email ? l->email : l->id);
		if (l->email)
			json_object_set_new(
			    body, "emails",
			    json_pack("[{s:s, s:b, s:s}]", "value", l->email, "primary", 1, "label", "work"));
		if (l->phone)
			json_object_set_new(
			    body, "phones",
			    json_pack("[{s:s, s:b, s:s}]", "value", l->phone, "primary", 1, "label", "work"));
		char *text = json_dumps(body, JSON_COMPACT);
		json_decref(body);
		call(a, "POST", rf_arena_printf(a, "%s/api/v2/persons", j->base), hd, text, &an);
		free(text);
		r->latency_ms += an.latency_ms;
		if ((an.status != 200 && an.status != 201) || !(r->contact_id = created_id(a, &an))) {
			judge(a, "creating the person", &an, r);
			if (an.status == 200 || an.status == 201)
				r->kind = R_RETRY;
			return;
		}
		r->status = an.status;
		r->response = kept(a, &an);
	}
	if (!j->deal_id) {
		const char *person = r->contact_id ? r->contact_id : j->contact_id;
		const char *title = l->company ? l->company : l->name ? l->name : l->email ? l->email : l->id;
		json_t *body =
		    json_pack("{s:s, s:I, s:s}", "title", rf_arena_printf(a, "%s (referral %s)", title, l->id),
			      "person_id", (json_int_t)strtoll(person, NULL, 10), "status", "open");
		/* The stage the admin mapped to a new lead, when it is one of Pipedrive's (numeric) stage ids. */
		if (j->new_stage && strspn(j->new_stage, "0123456789") == strlen(j->new_stage) &&
		    strlen(j->new_stage) < 12)
			json_object_set_new(body, "stage_id", json_integer(strtoll(j->new_stage, NULL, 10)));
		char *text = json_dumps(body, JSON_COMPACT);
		json_decref(body);
		call(a, "POST", rf_arena_printf(a, "%s/api/v2/deals", j->base), hd, text, &an);
		free(text);
		r->latency_ms += an.latency_ms;
		if ((an.status != 200 && an.status != 201) || !(r->deal_id = created_id(a, &an))) {
			judge(a, "creating the deal", &an, r);
			if (an.status == 200 || an.status == 201)
				r->kind = R_RETRY;
			return;
		}
		r->status = an.status;
		r->response = kept(a, &an);
	}
	r->kind = R_DONE;
}

/* ---- Salesforce ---- */

/* The REST API version refd calls. */
#define SF_API "v62.0"

/* A form value, percent-encoded, in the arena. */
static char *form_value(rf_arena *a, const char *v)
{
	char *e = curl_easy_escape(NULL, v, 0);
	char *out = e ? rf_arena_strdup(a, e) : NULL;
	curl_free(e);
	return out ? out : "";
}

/* The key a kept token is filed under: a digest of what got it (address, client, secret, refresh token). */
static void token_key(const job *j, char out[RF_HEX256_LEN])
{
	const char *parts[] = {j->base, j->client_id, j->client_secret, j->refresh_token};
	char buf[4 * (TOKEN_MAX + 1) + 8];
	size_t n = 0;
	for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
		const char *p = parts[i] ? parts[i] : "";
		size_t len = strnlen(p, TOKEN_MAX);
		memcpy(buf + n, p, len);
		n += len;
		/* A separator that no part holds, so that ("ab", "c") and ("a", "bc") differ. */
		buf[n++] = '\0';
	}
	rf_sha256_hex(buf, n, out);
}

static token_slot *token_find(const job *j, const char *key)
{
	for (size_t i = 0; i < TOKEN_SLOTS; i++) {
		token_slot *t = &T.slot[i];
		if (t->token && strcmp(t->conn_id, j->conn.id) == 0 && strcmp(t->key, key) == 0)
			return t;
	}
	return NULL;
}

/* The token kept for the connection of j, in the arena; NULL when none is (or it expired). */
static char *token_kept(rf_arena *a, const job *j)
{
	char key[RF_HEX256_LEN];
	token_key(j, key);
	int64_t now = rf_clock_now_ms();
	char *out = NULL;
	pthread_mutex_lock(&T.mu);
	token_slot *t = token_find(j, key);
	if (t && t->until > now) {
		out = rf_arena_strdup(a, t->token);
		t->used = now;
	}
	pthread_mutex_unlock(&T.mu);
	return out;
}

/* Keeps token for the connection of j for life_ms, in the place of any other it had (or the least used slot). */
static void token_keep(const job *j, const char *token, int64_t life_ms)
{
	char key[RF_HEX256_LEN];
	token_key(j, key);
	int64_t now = rf_clock_now_ms();
	char *copy = strdup(token);
	if (!copy || strlen(j->conn.id) >= sizeof T.slot[0].conn_id) {
		free(copy);
		return;
	}
	pthread_mutex_lock(&T.mu);
	/* The connection's own slot, else a free one, else the one used least lately. */
	token_slot *t = NULL;
	for (size_t i = 0; i < TOKEN_SLOTS && !t; i++)
		if (T.slot[i].token && strcmp(T.slot[i].conn_id, j->conn.id) == 0)
			t = &T.slot[i];
	for (size_t i = 0; i < TOKEN_SLOTS && !t; i++)
		if (!T.slot[i].token)
			t = &T.slot[i];
	if (!t) {
		t = &T.slot[0];
		for (size_t i = 1; i < TOKEN_SLOTS; i++)
			if (T.slot[i].used < t->used)
				t = &T.slot[i];
	}
	free(t->token);
	snprintf(t->conn_id, sizeof t->conn_id, "%s", j->conn.id);
	memcpy(t->key, key, sizeof t->key);
	t->token = copy;
	t->until = now + life_ms;
	t->used = now;
	pthread_mutex_unlock(&T.mu);
}

/* Drops the token kept for the connection of j when it is the one Salesforce refused. */
static void token_drop(const job *j, const char *token)
{
	pthread_mutex_lock(&T.mu);
	for (size_t i = 0; i < TOKEN_SLOTS; i++) {
		token_slot *t = &T.slot[i];
		if (t->token && strcmp(t->conn_id, j->conn.id) == 0 && strcmp(t->token, token) == 0) {
			free(t->token);
			memset(t, 0, sizeof *t);
		}
	}
	pthread_mutex_unlock(&T.mu);
}

static void tokens_forget_all(void)
{
	pthread_mutex_lock(&T.mu);
	for (size_t i = 0; i < TOKEN_SLOTS; i++) {
		free(T.slot[i].token);
		memset(&T.slot[i], 0, sizeof T.slot[i]);
	}
	pthread_mutex_unlock(&T.mu);
}

/* An access token from the connected app: the refresh-token flow when the connection has a refresh token, else the
 * client-credentials flow; kept for the next deliveries. NULL (r judged) when none was given. */
static char *salesforce_token(rf_arena *a, job *j, result *r)
{
	const char *hd[] = {"Content-Type: application/x-www-form-urlencoded", "Accept: application/json", NULL};
	char *form = j->refresh_token
			 ? rf_arena_printf(a, "grant_type=refresh_token&client_id=%s&client_secret=%s&refresh_token=%s",
					   form_value(a, j->client_id), form_value(a, j->client_secret),
					   form_value(a, j->refresh_token))
			 : rf_arena_printf(a, "grant_type=client_credentials&client_id=%s&client_secret=%s",
					   form_value(a, j->client_id), form_value(a, j->client_secret));
	answer an;
	call(a, "POST", rf_arena_printf(a, "%s/services/oauth2/token", j->base), hd, form, &an);
	r->latency_ms += an.latency_ms;
	json_t *o = an.status == 200 ? json_loads(an.body, 0, NULL) : NULL;
	const char *tok = json_string_value(json_object_get(o, "access_token"));
	char *out = tok && strlen(tok) < TOKEN_MAX ? rf_arena_strdup(a, tok) : NULL;
	json_t *expires = json_object_get(o, "expires_in");
	int64_t life = TOKEN_LIFE_MS;
	if (json_is_integer(expires) && json_integer_value(expires) >= 0 &&
	    json_integer_value(expires) < TOKEN_LIFE_MS / 1000)
		life = (int64_t)json_integer_value(expires) * 1000;
	json_decref(o);
	if (out && life > 0)
		token_keep(j, out, life);
	if (!out) {
		judge(a, "getting an OAuth token", &an, r);
		/* A refused grant (400 invalid_grant, 401) waits for the connection's credentials to be fixed. */
		if (an.status == 400 || an.status == 200)
			r->kind = R_RETRY;
	}
	return out;
}

static void salesforce_push(rf_arena *a, job *j, result *r)
{
	if (j->contact_id) {
		r->kind = R_DONE;
		return;
	}
	const rf_lead *l = &j->lead;
	char *token = token_kept(a, j);
	if (!token && !(token = salesforce_token(a, j, r)))
		return;
	/* Salesforce requires LastName and Company on a Lead. */
	const char *first = NULL, *last = l->name;
	const char *sp = l->name ? strchr(l->name, ' ') : NULL;
	if (sp && sp[1]) {
		first = rf_arena_strndup(a, l->name, (size_t)(sp - l->name));
		last = sp + 1;
	}
	if (!last)
		last = l->email ? rf_arena_strndup(a, l->email, strcspn(l->email, "@")) : l->id;
	json_t *body = json_pack("{s:s, s:s, s:s}", "LastName", last, "Company",
				 l->company ? l->company : "[not provided]", "LeadSource", "Partner Referral");
	if (first)
		json_object_set_new(body, "FirstName", json_string(first));
	if (l->email)
		json_object_set_new(body, "Email", json_string(l->email));
	if (l->phone)
		json_object_set_new(body, "Phone", json_string(l->phone));
	char *text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(body);
	char *url = rf_arena_printf(a, "%s/services/data/" SF_API "/sobjects/Lead/", j->base);
	answer an;
	for (int round = 0; round < 2; round++) {
		const char *hd[] = {rf_arena_printf(a, "Authorization: Bearer %s", token),
				    "Content-Type: application/json", "Accept: application/json", NULL};
		call(a, "POST", url, hd, text, &an);
		r->latency_ms += an.latency_ms;
		/* INVALID_SESSION_ID: the token ran out (or was revoked); a new one, and the request once more. */
		if (an.status != 401 || round == 1)
			break;
		token_drop(j, token);
		if (!(token = salesforce_token(a, j, r)))
			break;
	}
	free(text);
	if (an.status == 401 && !token)
		return;
	if (an.status != 201 || !(r->contact_id = created_id(a, &an))) {
		judge(a, "creating the Lead", &an, r);
		if (an.status == 201)
			r->kind = R_RETRY;
		return;
	}
	r->status = an.status;
	r->response = kept(a, &an);
	r->kind = R_DONE;
}

/* ---- recording the outcome ---- */

typedef struct {
	job *j;
	result *r;
	rf_arena *a;
	const rf_app_config *cfg;
	bool apply; /* apply what an inbound event's record says (else only record the attempt) */
	rf_crm_result out;
} record_ctx;

static rf_status apply_inbound(rf_svc *sv, record_ctx *R, rf_err *err)
{
	job *j = R->j;
	result *r = R->r;
	if (r->missing && !r->deal && !r->contact) {
		R->out.outcome = "ignored";
		R->out.note = "the record is no more in the CRM";
		return RF_OK;
	}
	rf_crm_contact ct;
	bool has_contact = r->contact && json_string_value(json_object_get(r->contact, "id"));
	if (has_contact)
		hubspot_contact(r->contact, &ct);
	if (!r->deal)
		return has_contact ? rf_svc_crm_contact(sv, &j->conn, &ct, &R->out, err) : RF_OK;
	rf_crm_deal d;
	memset(&d, 0, sizeof d);
	d.id = json_string_value(json_object_get(r->deal, "id"));
	if (!d.id)
		return rf_err_set(err, RF_EINVAL, "id", "HubSpot's deal has no id");
	d.stage = prop(r->deal, "dealstage");
	d.won = d.stage && strcmp(d.stage, "closedwon") == 0;
	d.lost = d.stage && strcmp(d.stage, "closedlost") == 0;
	d.amount = prop(r->deal, "amount");
	d.currency = prop(r->deal, "deal_currency_code");
	d.closed_at = prop_time(r->deal, "closedate");
	d.modified_at = prop_time(r->deal, "hs_lastmodifieddate");
	d.code = prop(r->deal, "refd_code") ? prop(r->deal, "refd_code") : prop(r->deal, "referral_code");
	d.click = prop(r->deal, "refd_click");
	d.contact_id = has_contact ? ct.id : NULL;
	d.event_id = j->ibe.event_id;
	return rf_svc_crm_deal(sv, &j->conn, &d, has_contact ? &ct : NULL, &R->out, err);
}

static rf_status record_step(rf_store *s, void *arg, rf_err *err)
{
	record_ctx *R = arg;
	job *j = R->j;
	result *r = R->r;
	rf_svc sv = {.store = s, .a = R->a, .actor = j->inbound ? j->conn.system : "system:crm", .cfg = R->cfg};
	memset(&R->out, 0, sizeof R->out);
	if (R->apply && r->kind == R_DONE && !j->gone) {
		if (j->inbound) {
			if (apply_inbound(&sv, R, err) != RF_OK)
				return err->status;
		} else {
			if (r->contact_id && rf_svc_crm_link(&sv, j->lead.program_id, j->conn.system, "contact",
							     r->contact_id, j->lead.id, err) != RF_OK)
				return err->status;
			if (r->deal_id && rf_svc_crm_link(&sv, j->lead.program_id, j->conn.system, "deal", r->deal_id,
							  j->lead.id, err) != RF_OK)
				return err->status;
		}
	} else if (r->kind != R_RETRY && !j->gone) {
		/* Ids learnt before a later call failed are kept: the next attempt does not make them again. */
		if (!j->inbound && r->contact_id &&
		    rf_svc_crm_link(&sv, j->lead.program_id, j->conn.system, "contact", r->contact_id, j->lead.id,
				    err) != RF_OK)
			return err->status;
	}
	if (!j->inbound && r->kind == R_RETRY && r->contact_id && !j->gone &&
	    rf_svc_crm_link(&sv, j->lead.program_id, j->conn.system, "contact", r->contact_id, j->lead.id, err) !=
		RF_OK)
		return err->status;
	bool last = r->kind == R_RETRY && j->d.attempts + 1 >= RF_CRM_MAX_ATTEMPTS;
	if (j->inbound && !j->gone && (r->kind != R_RETRY || last)) {
		/* The inbound log says what the event finally came to. */
		rf_inbound_event e = j->ibe;
		if (r->kind != R_DONE) {
			e.outcome = "ignored";
			e.reason = rf_arena_printf(R->a, "refd could not read the record: %s", r->error);
		} else if (!R->apply) {
			e.outcome = "ignored";
			e.reason = r->error;
		} else if (R->out.outcome) {
			e.outcome = (char *)R->out.outcome;
			e.reason = (char *)R->out.note;
			e.object_id = R->out.object_id;
		}
		if (rf_store_inbound_event_settle(s, &e, err) != RF_OK)
			return err->status;
	}
	rf_delivery d = j->d;
	int64_t now = rf_clock_now_ms();
	d.attempts++;
	d.has_status_code = r->status != 0;
	d.last_status_code = r->status;
	d.last_error = r->kind == R_DONE ? NULL : r->error;
	if (j->gone) {
		d.status = "cancelled";
		d.last_error = (char *)j->why;
	} else if (r->kind == R_DONE) {
		d.status = "delivered";
	} else if (r->kind == R_RETRY && d.attempts < RF_CRM_MAX_ATTEMPTS) {
		d.status = "pending";
		d.next_at = now + backoff_s[d.attempts - 1] * 1000;
	} else {
		d.status = "failed";
	}
	rf_delivery_attempt at = {.delivery_id = d.id,
				  .at = now,
				  .has_status_code = r->status != 0,
				  .status_code = r->status,
				  .latency_ms = r->latency_ms,
				  .response = r->response,
				  .error = j->gone ? (char *)j->why : d.last_error};
	return rf_store_delivery_attempted(s, &d, &at, err);
}

static void log_line(const char *level, const char *msg, const char *id, const char *detail)
{
	char ts[40], text[512];
	rf_clock_format(rf_clock_now_ms(), ts, sizeof ts);
	rf_json_escape(text, sizeof text, detail ? detail : "");
	printf("{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":\"%s\",\"delivery\":\"%s\",\"detail\":\"%s\"}\n", ts, level,
	       msg, id, text);
	fflush(stdout);
}

/* Handles one claimed delivery. */
static void handle(rf_store *s, const rf_app_config *cfg, const rf_delivery *d)
{
	rf_arena a;
	rf_arena_init(&a, 32u << 20);
	job j;
	memset(&j, 0, sizeof j);
	j.d = *d;
	result r;
	memset(&r, 0, sizeof r);
	rf_err err = {0};
	load_ctx L = {&j, &a, cfg};
	if (rf_store_tx(s, load_step, &L, &err) != RF_OK) {
		/* The claim runs out and the delivery is tried again then. */
		log_line("error", "a CRM delivery could not be read", d->id, err.message);
		goto done;
	}
	bool hubspot = strcmp(j.conn.system ? j.conn.system : "", "hubspot") == 0;
	bool pipedrive = strcmp(j.conn.system ? j.conn.system : "", "pipedrive") == 0;
	bool salesforce = strcmp(j.conn.system ? j.conn.system : "", "salesforce") == 0;
	if (!j.gone && salesforce && !j.inbound) {
		if (!j.base) {
			r.kind = R_FAILED;
			r.error = "the connection has no base_url (the organisation's My Domain address)";
		} else if (!j.client_id || !j.client_secret) {
			r.kind = R_RETRY;
			r.error =
			    "the connection has no credentials.client_id and client_secret to call Salesforce with";
		} else {
			salesforce_push(&a, &j, &r);
		}
	} else if (!j.gone) {
		if (!hubspot && !(pipedrive && !j.inbound)) {
			r.kind = R_FAILED;
			r.error = rf_arena_printf(&a, "refd does not call %s for this", j.conn.system);
		} else if (!j.base) {
			r.kind = R_FAILED;
			r.error = "the connection has no base_url";
		} else if (!j.token) {
			/* Reported, and tried again: the admin may add the token. */
			r.kind = R_RETRY;
			r.error = hubspot ? "the connection has no credentials.access_token to call HubSpot with"
					  : "the connection has no credentials.api_token to call Pipedrive with";
		} else if (j.inbound) {
			hubspot_fetch(&a, &j, &r);
		} else if (hubspot) {
			hubspot_push(&a, &j, &r);
		} else {
			pipedrive_push(&a, &j, &r);
		}
	}
	record_ctx R = {&j, &r, &a, cfg, true, {0}};
	rf_status rc = rf_store_tx(s, record_step, &R, &err);
	if (rc == RF_EINVAL || rc == RF_ECONFLICT || rc == RF_EOVERFLOW) {
		/* What the CRM says cannot be taken (a won deal without an amount, an amount changed after its sale):
		 * the event is logged as ignored with refd's reason, and the delivery is done. */
		R.apply = false;
		r.error = rf_arena_strdup(&a, err.message);
		memset(&err, 0, sizeof err);
		rc = rf_store_tx(s, record_step, &R, &err);
	}
	if (rc != RF_OK)
		log_line("error", "a CRM delivery's outcome could not be recorded", d->id, err.message);
	else if (r.kind != R_DONE && !j.gone)
		log_line(r.kind == R_RETRY ? "warn" : "error", "a CRM delivery failed", d->id, r.error);
done:
	json_decref(j.payload);
	json_decref(r.contact);
	json_decref(r.deal);
	rf_arena_reset(&a);
}

typedef struct {
	int64_t now;
	int max;
	rf_delivery *items;
	size_t n;
	rf_arena *a;
} claim_ctx;

static rf_status claim_step(rf_store *s, void *arg, rf_err *err)
{
	claim_ctx *c = arg;
	return rf_store_delivery_claim(s, RF_CRM_DELIVERY, c->now, LEASE_MS, c->max, &c->items, &c->n, c->a, err);
}

rf_status rf_crm_run_once(rf_store *s, const rf_app_config *cfg, int max, int *done, rf_err *err)
{
	*done = 0;
	rf_arena a;
	rf_arena_init(&a, 8u << 20);
	claim_ctx c = {rf_clock_now_ms(), max, NULL, 0, &a};
	rf_status rc = rf_store_tx(s, claim_step, &c, err);
	for (size_t i = 0; rc == RF_OK && i < c.n; i++) {
		handle(s, cfg, &c.items[i]);
		(*done)++;
	}
	rf_arena_reset(&a);
	return rc;
}

static void *run(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "refd-crm");
	pthread_mutex_lock(&S.mu);
	while (!S.stop) {
		pthread_mutex_unlock(&S.mu);
		for (;;) {
			rf_err err = {0};
			int done = 0;
			if (rf_crm_run_once(S.store, S.cfg, BATCH, &done, &err) != RF_OK) {
				log_line("error", "the CRM sender could not claim deliveries", "", err.message);
				break;
			}
			pthread_mutex_lock(&S.mu);
			bool stop = S.stop;
			pthread_mutex_unlock(&S.mu);
			if (done < BATCH || stop)
				break;
		}
		pthread_mutex_lock(&S.mu);
		if (S.stop)
			break;
		if (!S.kicked) {
			struct timespec until;
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += S.interval_ms / 1000;
			until.tv_nsec += (S.interval_ms % 1000) * 1000000L;
			if (until.tv_nsec >= 1000000000L) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&S.cv, &S.mu, &until);
		}
		S.kicked = false;
	}
	pthread_mutex_unlock(&S.mu);
	return NULL;
}

rf_status rf_crm_start(const char *location, const rf_app_config *cfg, long interval_ms, rf_err *err)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return rf_err_set(err, RF_EIO, NULL, "cannot initialise libcurl");
	if (rf_store_open(location, &S.store, err) != RF_OK)
		return err->status;
	S.cfg = cfg;
	S.interval_ms = interval_ms > 0 ? interval_ms : 1000;
	S.stop = S.kicked = false;
	if (pthread_create(&S.thread, NULL, run, NULL) != 0) {
		rf_store_close(S.store);
		S.store = NULL;
		return rf_err_set(err, RF_EIO, NULL, "cannot start the CRM sender thread");
	}
	S.running = true;
	return RF_OK;
}

void rf_crm_kick(void)
{
	pthread_mutex_lock(&S.mu);
	S.kicked = true;
	pthread_cond_signal(&S.cv);
	pthread_mutex_unlock(&S.mu);
}

void rf_crm_stop(void)
{
	if (!S.running)
		return;
	pthread_mutex_lock(&S.mu);
	S.stop = true;
	pthread_cond_signal(&S.cv);
	pthread_mutex_unlock(&S.mu);
	pthread_join(S.thread, NULL);
	S.running = false;
	tokens_forget_all();
	rf_store_close(S.store);
	S.store = NULL;
}
