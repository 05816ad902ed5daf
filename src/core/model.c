/* SPDX-License-Identifier: Apache-2.0 */
/* Names of roles, kinds and statuses, and their checks. */
#include "model.h"

#include <string.h>

static bool in_list(const char *s, const char *const *list)
{
	for (; s && *list; list++)
		if (strcmp(s, *list) == 0)
			return true;
	return false;
}

void rf_program_defaults(rf_program *p)
{
	p->cookie_window_days = 90;
	p->holding_period_days = 30;
	p->attribution_model = "last_click";
	p->tracking_params[0] = "via";
	p->tracking_params[1] = "ref";
	p->n_tracking_params = 2;
	p->repeat_click_minutes = 30;
	p->protection_days = 90;
	p->conflict_days = 90;
	p->payout_day = 1;
	p->partner_signup = "review";
	p->payout_terms_days = 30;
}

rf_role rf_role_parse(const char *s)
{
	if (!s)
		return RF_ROLE_NONE;
	if (strcmp(s, "owner") == 0)
		return RF_ROLE_OWNER;
	if (strcmp(s, "admin") == 0)
		return RF_ROLE_ADMIN;
	if (strcmp(s, "manager") == 0)
		return RF_ROLE_MANAGER;
	if (strcmp(s, "partner") == 0)
		return RF_ROLE_PARTNER;
	return RF_ROLE_NONE;
}

const char *rf_role_name(rf_role r)
{
	switch (r) {
	case RF_ROLE_OWNER:
		return "owner";
	case RF_ROLE_ADMIN:
		return "admin";
	case RF_ROLE_MANAGER:
		return "manager";
	case RF_ROLE_PARTNER:
		return "partner";
	case RF_ROLE_NONE:
		break;
	}
	return "none";
}

bool rf_partner_kind_valid(const char *s)
{
	static const char *const kinds[] = {"partner", "agent", "affiliate", "customer", "employee", NULL};
	return in_list(s, kinds);
}

bool rf_partner_status_valid(const char *s)
{
	static const char *const st[] = {"applied", "active", "suspended", "banned", NULL};
	return in_list(s, st);
}

bool rf_attribution_model_valid(const char *s)
{
	static const char *const m[] = {"last_click", "first_click", NULL};
	return in_list(s, m);
}

const char *const rf_metric_names[RF_METRICS] = {
    "clicks",  "leads",       "qualified",     "customers", "sales",    "revenue",
    "refunds", "conversions", "conversion_ms", "earned",    "approved", "paid",
};
