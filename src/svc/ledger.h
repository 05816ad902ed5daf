/* SPDX-License-Identifier: Apache-2.0 */
/* The commission ledger's engine: the entries events earn, written with what explains each of them. */
#ifndef RF_SVC_LEDGER_H
#define RF_SVC_LEDGER_H

#include "../core/plan.h"
#include "svc.h"

/* The commission engine: what a sale, a qualified lead or a refund earns each partner under the plans, every
 * entry written to the ledger (unless simulating) with what explains it. Entries computed are collected in items
 * (the svc's arena). note says why an event earned nothing. */
typedef struct {
	rf_svc *sv;
	const rf_program *prog;
	const char *actor;
	bool simulate;
	const char *sim_plan_id; /* when simulating: partners on this plan get sim_rules; others are left out */
	const rf_plan_rules *sim_rules;
	rf_commission *items;
	size_t n, cap;
	const char *note;
} rf_ledger;

/* The commissions of a sale (first_sale_at: the customer's first sale, 0 when this is it). */
rf_status rf_ledger_sale(rf_ledger *L, const rf_sale *x, int64_t first_sale_at, rf_err *err);
/* The commission of a lead that became qualified at `at` (once per lead). */
rf_status rf_ledger_lead(rf_ledger *L, const rf_lead *l, int64_t at, rf_err *err);
/* Reversals of a sale's entries for a refund or dispute. */
rf_status rf_ledger_reverse(rf_ledger *L, const rf_sale *x, const rf_refund *rf, const rf_commission *orig, size_t n,
			    rf_err *err);
/* Gives the sales (and their refunds) recorded without a rate their amount in the program's currency, now that
 * it is known, and adds it to the revenue rollups. */
rf_status rf_ledger_release_sales(rf_svc *sv, size_t *released, rf_err *err);
/* Converts the entries held for a missing FX rate whose rate is now known. */
rf_status rf_ledger_release_fx(rf_ledger *L, size_t *released, rf_err *err);
/* The rate from one currency to another at `at` (the direct pair, else the inverse of the reverse one). */
rf_status rf_ledger_rate(rf_svc *sv, const char *from, const char *to, int64_t at, int64_t *ppb, bool *inverse,
			 rf_err *err);
/* amount in `from` converted to `to` at the rate valid at `at`; *missing when no rate is known. */
rf_status rf_ledger_convert(rf_svc *sv, int64_t amount, const char *from, const char *to, int64_t at, int64_t *out,
			    int64_t *ppb, bool *inverse, bool *missing, rf_err *err);

#endif
