/* SPDX-License-Identifier: Apache-2.0 */
/* Plans: the rules that say what a partner earns for a qualified lead, a sale or a renewal, and the calendar
 * arithmetic they need (tier periods, recurring windows). Pure functions over plain structs. */
#ifndef RF_PLAN_H
#define RF_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "commission.h"
#include "status.h"

#define RF_PLAN_MAX_TIERS 10
#define RF_PLAN_MAX_LEVELS 5

typedef enum { RF_RECURRING_LIFETIME = 0, RF_RECURRING_FIRST_ONLY, RF_RECURRING_MONTHS } rf_recurring;

typedef struct {
	bool has_lead_amount; /* per qualified lead: this amount */
	int64_t lead_amount;
	char lead_currency[4];
	bool lead_use_cost_per_lead; /* per qualified lead: the partner's cost per lead, when not zero */
	bool has_sale_flat;          /* per sale: a flat amount */
	int64_t sale_flat;
	char sale_flat_currency[4];
	bool has_sale_bps; /* per sale: a percentage */
	int64_t sale_bps;
	rf_recurring recurring;
	int recurring_months;
	bool has_tiers; /* the percentage by volume in a calendar period, replacing sale_bps */
	bool tier_by_revenue;
	bool tier_quarterly;
	rf_tier tiers[RF_PLAN_MAX_TIERS];
	size_t n_tiers;
	int64_t override_bps[RF_PLAN_MAX_LEVELS]; /* level 1, 2 ...: share of what the recruited partner earned */
	size_t n_overrides;
	bool override_requires_sale;
	int64_t agent_share_bps; /* the credited agent's share; its team parent earns the rest */
} rf_plan_rules;

/* One amount a rule earns on an event, before it is split between an agent and its team parent. */
typedef struct {
	const char *rule;  /* "lead" | "sale" | "recurring" */
	const char *basis; /* "lead_amount" | "cost_per_lead" | "flat" | "percent" | "tier" */
	int64_t base;      /* what the rate applies to (the sale amount), or the flat amount */
	char base_currency[4];
	int64_t bps; /* -1 for flat amounts */
	int tier;    /* index of the tier reached, or -1 */
	int64_t earned;
	char currency[4];
} rf_plan_part;

typedef struct {
	int64_t amount;
	char currency[4];
	bool recurring;        /* a renewal, not the customer's first sale */
	int64_t at;            /* the sale's time (unix ms) */
	int64_t first_sale_at; /* the customer's first sale (unix ms); equal to at for a first sale */
	int64_t tier_volume;   /* the partner's count or revenue in the tier period, this sale included */
} rf_plan_sale;

/* What a sale earns under r: up to two parts (flat and percentage). When it earns nothing because of the
 * recurring rule, *note (may be NULL) says why. RF_EOVERFLOW when an amount does not fit. */
rf_status rf_plan_sale_parts(const rf_plan_rules *r, const rf_plan_sale *s, rf_plan_part out[2], size_t *n,
			     const char **note);

/* What a qualified lead earns under r for a partner with this cost per lead: *n is 0 or 1. */
void rf_plan_lead_part(const rf_plan_rules *r, int64_t cost_per_lead, const char *cpl_currency, rf_plan_part *out,
		       size_t *n);

/* Splits c between a credited agent (share_bps of it, rounded half-even) and its team parent (the rest, so the
 * two always add up to c). */
rf_status rf_plan_split(int64_t c, int64_t share_bps, int64_t *agent, int64_t *parent);

/* The first millisecond of the calendar month (or quarter) that holds ms, and of the next one (UTC). */
void rf_period_bounds(int64_t ms, bool quarter, int64_t *start, int64_t *end);

/* ms moved by months calendar months (the day clamped to the month's length), UTC. */
int64_t rf_add_months(int64_t ms, int months);

#endif
