/* SPDX-License-Identifier: Apache-2.0 */
/* Connections of a program to other systems: the table of systems refd knows, connecting, changing and removing
 * them (credentials sealed with the instance key, shown once), and the inbound event log every system writes to. */
#include "integrations.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/clock.h"
#include "../core/lifecycle.h"
#include "../core/secret.h"
#include "../core/text.h"
#include "../core/url.h"

/* Credentials, settings and stages each system takes. The CRMs take no settings of their own (open lists). */
static const char *const paddle_credentials[] = {"webhook_secret", NULL};
static const char *const paddle_required[] = {"webhook_secret", NULL};
static const char *const paddle_settings[] = {"tolerance_seconds", NULL};
static const char *const chargebee_credentials[] = {"username", "password", NULL};
static const char *const chargebee_required[] = {"username", "password", NULL};
static const char *const none[] = {NULL};
/* HubSpot: the app's client secret signs its webhooks; a private app's access token lets refd call its API. */
static const char *const hubspot_credentials[] = {"client_secret", "access_token", NULL};
/* Pipedrive: the HTTP Basic credentials of its webhook, an API token for refd's calls, and the keys of the custom
 * fields that carry the referral code and the click id (40 hexadecimal characters each, the company's own). */
/* Salesforce: the organisation whose Outbound Messages are taken, a connected app's client id and secret (and a
 * refresh token, else the client-credentials flow) for refd's calls, and the API names of the fields that carry the
 * referral code and the click id (Referral_Code__c and Refd_Click__c when not given). */
static const char *const salesforce_credentials[] = {
    "organization_id", "client_id", "client_secret", "refresh_token", "code_field", "click_field", NULL};
static const char *const pipedrive_credentials[] = {"username",   "password",    "api_token",
						    "code_field", "click_field", NULL};

const rf_integration_system rf_integration_systems[] = {
    {"paddle", "Paddle Billing", "billing", paddle_credentials, paddle_required, paddle_settings,
     "https://api.paddle.com"},
    {"chargebee", "Chargebee", "billing", chargebee_credentials, chargebee_required, none, NULL},
    {"hubspot", "HubSpot", "crm", hubspot_credentials, none, NULL, "https://api.hubapi.com"},
    {"salesforce", "Salesforce", "crm", salesforce_credentials, none, NULL, NULL},
    {"pipedrive", "Pipedrive", "crm", pipedrive_credentials, none, NULL, "https://api.pipedrive.com"},
    {NULL, NULL, NULL, NULL, NULL, NULL, NULL},
};

/* Bounds of what a connection holds. */
#define MAX_CREDENTIALS 16
#define MAX_CREDENTIAL_LEN 4096
#define MAX_NAME_LEN 64
#define MAX_STAGES 100
#define MAX_STAGE_LEN 200
/* The newest refusals a connection keeps in its log. */
#define KEEP_REFUSED 200

const rf_integration_system *rf_integration_system_find(const char *name)
{
	for (const rf_integration_system *s = rf_integration_systems; name && s->name; s++)
		if (strcmp(s->name, name) == 0)
			return s;
	return NULL;
}

static bool listed(const char *const *list, const char *name)
{
	for (; list && *list; list++)
		if (strcmp(*list, name) == 0)
			return true;
	return false;
}

/* A credential or setting name of an open list: lower-case letters, digits and '_'. */
static bool plain_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > MAX_NAME_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	return true;
}

bool rf_svc_stage_status_ok(const char *status)
{
	/* The statuses a stage of another system can mean; review states change through approval only. */
	static const char *const ok[] = {"new", "contacted", "qualified", "converted", "lost", NULL};
	return status && rf_lead_status_valid(status) && listed(ok, status);
}

/* Checks the credentials given against what the system takes: names, types and sizes. */
static rf_status check_credentials(const rf_integration_system *sys, json_t *creds, rf_err *err)
{
	if (!creds)
		return RF_OK;
	if (!json_is_object(creds))
		return rf_err_set(err, RF_EINVAL, "credentials", "credentials must be an object of strings");
	if (json_object_size(creds) > MAX_CREDENTIALS)
		return rf_err_set(err, RF_EINVAL, "credentials", "credentials hold at most %d members",
				  MAX_CREDENTIALS);
	const char *k;
	json_t *v;
	json_object_foreach(creds, k, v)
	{
		char field[96];
		snprintf(field, sizeof field, "credentials.%.64s", k);
		if (sys && (sys->credentials ? !listed(sys->credentials, k) : !plain_name(k)))
			return rf_err_set(err, RF_EINVAL, field, "unknown field %s: %s takes no credential called so",
					  field, sys->title);
		if (json_is_null(v))
			continue;
		const char *s = json_string_value(v);
		if (!s)
			return rf_err_set(err, RF_EINVAL, field, "%s must be a string", field);
		if (!*s)
			return rf_err_set(err, RF_EINVAL, field, "%s cannot be empty (null removes it)", field);
		if (strlen(s) > MAX_CREDENTIAL_LEN)
			return rf_err_set(err, RF_EINVAL, field, "%s is longer than %d bytes", field,
					  MAX_CREDENTIAL_LEN);
	}
	return RF_OK;
}

/* Checks settings: known names of the system, integers in their range, a CRM's sale_kind (null for the
 * default). */
static rf_status check_settings(const rf_integration_system *sys, json_t *settings, rf_err *err)
{
	if (!settings)
		return RF_OK;
	if (!json_is_object(settings))
		return rf_err_set(err, RF_EINVAL, "settings", "settings must be an object");
	const char *k;
	json_t *v;
	json_object_foreach(settings, k, v)
	{
		char field[96];
		snprintf(field, sizeof field, "settings.%.64s", k);
		if (sys && (sys->settings ? !listed(sys->settings, k) : !plain_name(k)))
			return rf_err_set(err, RF_EINVAL, field, "unknown field %s: %s has no setting called so", field,
					  sys->title);
		if (json_is_null(v))
			continue;
		if (strcmp(k, "sale_kind") == 0 && (!sys || strcmp(sys->kind, "crm") == 0)) {
			/* What a CRM's won deal is: always a first sale, always recurring revenue, or derived from the
			 * customer's earlier sales. */
			const char *kind = json_string_value(v);
			if (!kind || !rf_svc_sale_kind_valid(kind))
				return rf_err_set(err, RF_EINVAL, field, "%s must be first, recurring or derived",
						  field);
			continue;
		}
		if (!json_is_integer(v))
			return rf_err_set(err, RF_EINVAL, field, "%s must be an integer", field);
		if (strcmp(k, "tolerance_seconds") == 0 && (json_integer_value(v) < 1 || json_integer_value(v) > 3600))
			return rf_err_set(err, RF_EINVAL, field, "%s must be from 1 to 3600 (seconds)", field);
	}
	return RF_OK;
}

static rf_status check_stage_map(json_t *map, rf_err *err)
{
	if (!map)
		return RF_OK;
	if (!json_is_object(map))
		return rf_err_set(err, RF_EINVAL, "stage_map",
				  "stage_map must be an object: the other system's stage -> a lead status");
	if (json_object_size(map) > MAX_STAGES)
		return rf_err_set(err, RF_EINVAL, "stage_map", "stage_map holds at most %d stages", MAX_STAGES);
	const char *k;
	json_t *v;
	json_object_foreach(map, k, v)
	{
		if (!*k || strlen(k) > MAX_STAGE_LEN)
			return rf_err_set(err, RF_EINVAL, "stage_map", "stage_map: a stage name holds 1 to %d bytes",
					  MAX_STAGE_LEN);
		if (!rf_svc_stage_status_ok(json_string_value(v)))
			return rf_err_set(err, RF_EINVAL, "stage_map",
					  "stage_map: stage '%.80s' must map to a lead status: new, contacted, "
					  "qualified, converted or lost",
					  k);
	}
	return RF_OK;
}

/* A base URL as stored: checked as a URL, without a trailing '/'; NULL for "" (the system's own). */
static rf_status base_url_of(rf_svc *sv, const char *in, char **out, rf_err *err)
{
	*out = NULL;
	if (!in || !*in)
		return RF_OK;
	char host[RF_URL_HOST_MAX];
	if (rf_url_check(in, host, sizeof host, err) != RF_OK)
		return rf_err_blame(err, "base_url");
	if (strchr(in, '?') || strchr(in, '#'))
		return rf_err_set(err, RF_EINVAL, "base_url", "base_url takes no query string or fragment");
	char *s = rf_arena_strdup(sv->a, in);
	if (!s)
		return rf_err_set(err, RF_ENOMEM, NULL, "out of memory");
	size_t n = strlen(s);
	while (n > 0 && s[n - 1] == '/')
		s[--n] = '\0';
	*out = s;
	return RF_OK;
}

/* Writes obj's compact text into the arena. */
static char *dump(rf_svc *sv, json_t *obj)
{
	char *t = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
	char *s = t ? rf_arena_strdup(sv->a, t) : NULL;
	free(t);
	return s;
}

/* Seals creds into c (NULL when empty) with the names of what it holds. */
static rf_status seal_credentials(rf_svc *sv, rf_connection *c, json_t *creds, rf_err *err)
{
	json_t *names = json_array();
	const char *k;
	json_t *v;
	json_object_foreach(creds, k, v)
	{
		json_array_append_new(names, json_string(k));
	}
	c->credential_keys = dump(sv, names);
	json_decref(names);
	c->credentials_sealed = NULL;
	c->credentials_sealed_len = 0;
	if (json_object_size(creds) == 0)
		return c->credential_keys ? RF_OK : rf_err_set(err, RF_ENOMEM, NULL, "out of memory");
	char *text = json_dumps(creds, JSON_COMPACT | JSON_SORT_KEYS);
	if (!text || !c->credential_keys || !sv->cfg) {
		free(text);
		return rf_err_set(err, RF_ENOMEM, NULL, "the credentials cannot be sealed");
	}
	rf_status rc = rf_seal(sv->cfg->secret, text, sv->a, &c->credentials_sealed, &c->credentials_sealed_len);
	/* The clear text goes as soon as it is sealed. */
	memset(text, 0, strlen(text));
	free(text);
	return rc == RF_OK ? RF_OK : rf_err_set(err, rc, NULL, "the credentials cannot be sealed");
}

rf_status rf_svc_connection_credentials(rf_svc *sv, const rf_connection *c, json_t **out, rf_err *err)
{
	*out = NULL;
	if (!c->credentials_sealed) {
		*out = json_object();
		return RF_OK;
	}
	char *text = NULL;
	if (!sv->cfg ||
	    rf_unseal(sv->cfg->secret, c->credentials_sealed, c->credentials_sealed_len, sv->a, &text) != RF_OK)
		return rf_err_set(err, RF_EIO, "credentials",
				  "the connection's credentials cannot be unsealed with this instance's key");
	*out = json_loads(text, 0, NULL);
	memset(text, 0, strlen(text));
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return rf_err_set(err, RF_EIO, "credentials", "the connection's credentials cannot be read");
	}
	return RF_OK;
}

/* Merges given credentials (may be NULL) into creds (null removes one) and checks that what the system needs is
 * there. */
static rf_status merge_credentials(const rf_integration_system *sys, json_t *creds, json_t *given, rf_err *err)
{
	const char *k;
	json_t *v;
	json_object_foreach(given, k, v)
	{
		if (json_is_null(v))
			json_object_del(creds, k);
		else
			json_object_set(creds, k, v);
	}
	for (const char *const *r = sys->required; r && *r; r++)
		if (!json_string_value(json_object_get(creds, *r)))
			return rf_err_set(err, RF_EINVAL, "credentials", "%s needs credentials.%s", sys->title, *r);
	return RF_OK;
}

/* Merges given settings into the stored ones (null removes one). */
static char *merge_settings(rf_svc *sv, const char *stored, json_t *given)
{
	json_t *s = json_loads(stored ? stored : "{}", 0, NULL);
	if (!json_is_object(s)) {
		json_decref(s);
		s = json_object();
	}
	const char *k;
	json_t *v;
	json_object_foreach(given, k, v)
	{
		if (json_is_null(v))
			json_object_del(s, k);
		else
			json_object_set(s, k, v);
	}
	char *out = dump(sv, s);
	json_decref(s);
	return out;
}

static rf_status check_common(rf_svc *sv, const rf_integration_system *sys, const rf_connection_input *in, rf_err *err)
{
	(void)sv;
	if (in->status && strcmp(in->status, "enabled") != 0 && strcmp(in->status, "disabled") != 0)
		return rf_err_set(err, RF_EINVAL, "status", "status must be enabled or disabled");
	if (check_credentials(sys, in->credentials, err) != RF_OK || check_settings(sys, in->settings, err) != RF_OK ||
	    check_stage_map(in->stage_map, err) != RF_OK)
		return err->status;
	return RF_OK;
}

rf_status rf_svc_connection_input_check(const rf_connection_input *in, rf_err *err)
{
	return check_common(NULL, NULL, in, err);
}

rf_status rf_svc_connection_create(rf_svc *sv, const rf_connection_input *in, rf_connection *out, json_t **shown,
				   rf_err *err)
{
	*shown = NULL;
	if (!in->system)
		return rf_err_set(err, RF_EINVAL, "system",
				  "system is required: paddle, chargebee, hubspot, salesforce "
				  "or pipedrive");
	const rf_integration_system *sys = rf_integration_system_find(in->system);
	if (!sys)
		return rf_err_set(err, RF_EINVAL, "system",
				  "system must be paddle, chargebee, hubspot, salesforce or pipedrive (Stripe is "
				  "set on the program: stripe_webhook_secret)");
	if (check_common(sv, sys, in, err) != RF_OK)
		return err->status;
	rf_program prog;
	if (rf_svc_program_or_only(sv, in->program_id, &prog, err) != RF_OK)
		return err->status;
	rf_connection c;
	memset(&c, 0, sizeof c);
	c.id = rf_id_new_arena(sv->a, "conn");
	c.program_id = prog.id;
	c.system = (char *)sys->name;
	c.name = in->name ? rf_trim_arena(sv->a, in->name) : NULL;
	if (c.name && !*c.name)
		c.name = NULL;
	c.status = rf_arena_strdup(sv->a, in->status ? in->status : "enabled");
	if (base_url_of(sv, in->base_url, &c.base_url, err) != RF_OK)
		return err->status;
	json_t *creds = json_object();
	/* Chargebee signs nothing: the password of its Basic authentication is the secret, and refd makes a strong
	 * one when none is given, to be pasted into Chargebee's webhook settings. */
	if (strcmp(sys->name, "chargebee") == 0 && !json_string_value(json_object_get(in->credentials, "password"))) {
		char pw[48];
		rf_random_token(24, pw, sizeof pw);
		json_object_set_new(creds, "password", json_string(pw));
	}
	if (!json_string_value(json_object_get(in->credentials, "username")) && strcmp(sys->name, "chargebee") == 0)
		json_object_set_new(creds, "username", json_string("refd"));
	rf_status rc = merge_credentials(sys, creds, in->credentials, err);
	if (rc == RF_OK)
		rc = seal_credentials(sv, &c, creds, err);
	if (rc != RF_OK) {
		json_decref(creds);
		return err->status;
	}
	c.settings = in->settings ? merge_settings(sv, "{}", in->settings) : "{}";
	c.stage_map = in->stage_map ? dump(sv, in->stage_map) : "{}";
	c.created_at = c.updated_at = rf_clock_now_ms();
	rc = rf_store_connection_insert(sv->store, &c, err);
	if (rc == RF_ECONFLICT && strcmp(err->field, "system") == 0)
		rc = rf_err_set(err, RF_ECONFLICT, "system",
				"the program has a %s connection already: change it with "
				"PATCH",
				sys->title);
	if (rc != RF_OK || rf_svc_audit(sv, "integration.create", c.id, NULL, err) != RF_OK) {
		json_decref(creds);
		return err->status;
	}
	*out = c;
	*shown = creds;
	return RF_OK;
}

rf_status rf_svc_connection_update(rf_svc *sv, rf_connection *c, const rf_connection_input *in, rf_err *err)
{
	const rf_integration_system *sys = rf_integration_system_find(c->system);
	if (!sys)
		return rf_err_set(err, RF_EIO, "system", "the connection's system is unknown: %s", c->system);
	if (check_common(sv, sys, in, err) != RF_OK)
		return err->status;
	if (in->has_name) {
		c->name = in->name ? rf_trim_arena(sv->a, in->name) : NULL;
		if (c->name && !*c->name)
			c->name = NULL;
	}
	if (in->status)
		c->status = rf_arena_strdup(sv->a, in->status);
	if (in->has_base_url && base_url_of(sv, in->base_url, &c->base_url, err) != RF_OK)
		return err->status;
	if (in->credentials) {
		json_t *creds = NULL;
		if (rf_svc_connection_credentials(sv, c, &creds, err) != RF_OK)
			return err->status;
		rf_status rc = merge_credentials(sys, creds, in->credentials, err);
		if (rc == RF_OK)
			rc = seal_credentials(sv, c, creds, err);
		json_decref(creds);
		if (rc != RF_OK)
			return err->status;
	}
	if (in->settings)
		c->settings = merge_settings(sv, c->settings, in->settings);
	if (in->stage_map)
		c->stage_map = dump(sv, in->stage_map);
	c->updated_at = rf_clock_now_ms();
	if (rf_store_connection_update(sv->store, c, err) != RF_OK ||
	    rf_svc_audit(sv, "integration.update", c->id, NULL, err) != RF_OK)
		return err->status;
	return RF_OK;
}

rf_status rf_svc_connection_delete(rf_svc *sv, const rf_connection *c, rf_err *err)
{
	if (rf_store_connection_delete(sv->store, c->id, err) != RF_OK ||
	    rf_svc_audit(sv, "integration.delete", c->id, NULL, err) != RF_OK)
		return err->status;
	return RF_OK;
}

bool rf_svc_sale_kind_valid(const char *kind)
{
	return strcmp(kind, "first") == 0 || strcmp(kind, "recurring") == 0 || strcmp(kind, "derived") == 0;
}

const char *rf_svc_connection_sale_kind(const rf_connection *c)
{
	json_t *s = json_loads(c->settings ? c->settings : "{}", 0, NULL);
	const char *v = json_string_value(json_object_get(s, "sale_kind"));
	const char *out = v && strcmp(v, "first") == 0       ? "first"
			  : v && strcmp(v, "recurring") == 0 ? "recurring"
							     : NULL;
	json_decref(s);
	return out;
}

int64_t rf_svc_connection_setting(const rf_connection *c, const char *name, int64_t def)
{
	json_t *s = json_loads(c->settings ? c->settings : "{}", 0, NULL);
	json_t *v = json_object_get(s, name);
	int64_t out = json_is_integer(v) ? (int64_t)json_integer_value(v) : def;
	json_decref(s);
	return out;
}

const char *rf_svc_connection_base_url(rf_svc *sv, const rf_connection *c)
{
	(void)sv;
	if (c->base_url)
		return c->base_url;
	const rf_integration_system *sys = rf_integration_system_find(c->system);
	return sys ? sys->default_base_url : NULL;
}

char *rf_svc_connection_webhook_url(rf_svc *sv, const rf_connection *c)
{
	return rf_arena_printf(sv->a, "%s/api/v1/integrations/%s/webhook?connection=%s",
			       sv->cfg ? sv->cfg->public_url : "", c->system, c->id);
}

const char *rf_svc_connection_stage(const rf_connection *c, const char *stage, rf_arena *a)
{
	json_t *m = json_loads(c->stage_map ? c->stage_map : "{}", 0, NULL);
	const char *s = json_string_value(json_object_get(m, stage));
	char *out = s ? rf_arena_strdup(a, s) : NULL;
	json_decref(m);
	return out;
}

rf_status rf_svc_inbound_seen(rf_svc *sv, const rf_connection *c, const char *dedupe_key, rf_inbound_event *prev,
			      rf_err *err)
{
	return rf_store_inbound_event_find(sv->store, c->id, dedupe_key, prev, sv->a, err);
}

rf_status rf_svc_inbound_log(rf_svc *sv, rf_connection *c, rf_inbound_event *e, rf_err *err)
{
	e->id = rf_id_new_arena(sv->a, "ibe");
	e->connection_id = c->id;
	e->program_id = c->program_id;
	e->system = c->system;
	e->received_at = rf_clock_now_ms();
	if (rf_store_inbound_event_insert(sv->store, e, err) != RF_OK)
		return err->status;
	if (strcmp(e->outcome, "refused") == 0)
		return rf_store_inbound_event_trim(sv->store, c->id, "refused", KEEP_REFUSED, err);
	c->last_event_at = e->received_at;
	return rf_store_connection_update(sv->store, c, err);
}
