/* SPDX-License-Identifier: Apache-2.0 */
/* A plan's rules as JSON: checked into the plain struct core/plan.h computes with, and written back normalised. */
#ifndef RF_SVC_PLANS_H
#define RF_SVC_PLANS_H

#include <jansson.h>

#include "../core/plan.h"
#include "svc.h"

/* Checks a plan's rules object (errors name "<prefix>rules.<member>"; prefix may be NULL) into r. */
rf_status rf_plan_rules_parse(json_t *rules, rf_plan_rules *r, const char *prefix, rf_err *err);
/* The rules as normalised JSON (every member present). */
json_t *rf_plan_rules_json(const rf_plan_rules *r);

#endif
