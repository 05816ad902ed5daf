/* The plain structs of refd's domain that every layer passes around; strings are owned by whoever filled them
 * (an arena, in practice). */
#ifndef RF_MODEL_H
#define RF_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RF_MAX_TRACKING_PARAMS 8

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

/* Roles from the most to the least powerful. */
typedef enum { RF_ROLE_NONE = 0, RF_ROLE_PARTNER, RF_ROLE_MANAGER, RF_ROLE_ADMIN, RF_ROLE_OWNER } rf_role;

/* Parses a role name; RF_ROLE_NONE when unknown. */
rf_role rf_role_parse(const char *s);
const char *rf_role_name(rf_role r);

bool rf_partner_kind_valid(const char *s);
bool rf_partner_status_valid(const char *s);
bool rf_attribution_model_valid(const char *s);

/* Looks up the parent of id along one relation, for cycle checks; returns the parent's id (or NULL for none)
 * in *parent, owned by the callee's arena. Non-zero on failure. */
typedef int (*rf_parent_fn)(void *ctx, const char *id, char **parent);

#endif
