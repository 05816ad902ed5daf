/* The REST resources under /api/v1: one file per resource, each exposing its route handlers here. */
#ifndef RF_API_H
#define RF_API_H

#include <jansson.h>

#include "../http/json.h"
#include "../http/router.h"

/* Records an audit entry for the caller; detail is JSON object text or NULL. Failures are returned. */
rf_status rf_api_audit(rf_ctx *c, const char *action, const char *object_id, const char *detail, rf_err *err);

/* Parses and checks the JSON body against fields (rf_json_body); on failure sends the error and returns NULL.
 * The caller owns the returned reference. */
json_t *rf_api_body(rf_ctx *c, const rf_jfield *fields);

/* Ends the lookup of the object named in the path: for RF_ENOTFOUND (also used for objects the caller may not
 * see, so their existence is not revealed) sends 404 "no such <what>: <id>" naming field id; for another failure
 * sends err. Returns true only for RF_OK, when the handler goes on. */
bool rf_api_found(rf_ctx *c, rf_status rc, const rf_err *err, const char *what);

/* Sends the error and rolls back the transaction, if one is open. */
void rf_api_abort(rf_ctx *c, const rf_err *err);

/* Reads an optional integer member within [min, max] into *out (left alone when absent). */
rf_status rf_api_int(json_t *body, const char *name, int64_t min, int64_t max, int64_t *out, rf_err *err);

/* Refuses query parameters other than those allowed (NULL-terminated), naming the first unknown one. */
rf_status rf_api_query_only(rf_ctx *c, const char *const *allowed, rf_err *err);

/* JSON views of stored objects. */
json_t *rf_api_program_json(const rf_program *p);
json_t *rf_api_partner_json(const rf_partner *p);
json_t *rf_api_user_json(const rf_user *u);
json_t *rf_api_apikey_json(const rf_apikey *k);

/* system.c */
void rf_api_healthz(rf_ctx *c);
void rf_api_readyz(rf_ctx *c);
void rf_api_openapi(rf_ctx *c);

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
json_t *rf_api_link_json(rf_ctx *c, const rf_link *l);
void rf_api_links_list(rf_ctx *c);
void rf_api_links_create(rf_ctx *c);
void rf_api_links_get(rf_ctx *c);
void rf_api_links_update(rf_ctx *c);

/* leads.c */
json_t *rf_api_lead_json(const rf_lead *l);
void rf_api_leads_list(rf_ctx *c);
void rf_api_leads_create(rf_ctx *c);
void rf_api_leads_export(rf_ctx *c);
void rf_api_leads_get(rf_ctx *c);
void rf_api_leads_update(rf_ctx *c);
void rf_api_leads_status(rf_ctx *c);
void rf_api_leads_history(rf_ctx *c);
void rf_api_leads_approve(rf_ctx *c);
void rf_api_leads_reject(rf_ctx *c);

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
