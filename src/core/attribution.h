/* SPDX-License-Identifier: Apache-2.0 */
/* Attribution: which partner (and agent) a lead or sale is credited to, and by which method, following the
 * precedence of DESIGN.md: an explicit choice > a code (a coupon the customer used at checkout before a code sent
 * along) > a click id > the tracking cookie. */
#ifndef RF_ATTRIBUTION_H
#define RF_ATTRIBUTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
	RF_ATTR_NONE = 0,
	RF_ATTR_EXPLICIT,
	RF_ATTR_CODE,
	RF_ATTR_CLICK,
	RF_ATTR_COOKIE,
	RF_ATTR_COUPON
} rf_attr_method;

/* A click as attribution sees it. */
typedef struct {
	const char *id;
	const char *partner_id; /* NULL for a click that credits nobody (bot, uncredited) */
	int64_t at;
	bool creditable; /* counted or repeat: a person's click on a live link of an active partner */
} rf_attr_click;

/* One visitor's clicks, newest first (the click named, then its predecessors through the cookie chain). */
typedef struct {
	const rf_attr_click *clicks;
	size_t n;
} rf_attr_chain;

typedef struct {
	const char *explicit_partner_id; /* chosen by a person (admin, CRM) */
	const char *coupon_partner_id;   /* owner of a coupon the customer paid with, if it credits */
	const char *code_partner_id;     /* owner of a code typed or sent with the lead, if it credits */
	rf_attr_chain click;             /* from a click id sent with the lead */
	rf_attr_chain cookie;            /* from the tracking cookie */
	int64_t now;
	int64_t window_ms; /* the program's cookie window */
	bool first_click;  /* the program's model: first click instead of last */
} rf_attr_input;

typedef struct {
	rf_attr_method method;
	const char *partner_id; /* the credited partner record (may be an agent), or NULL */
	const char *click_id;   /* the click that won, for click and cookie methods */
} rf_attr_result;

/* Decides the credit. Pure: no I/O; pointers in the result point into the input. A chain counts only through
 * creditable clicks inside the window (now - window_ms <= at <= now); among those the newest wins under last
 * click, the oldest under first click. An empty source falls through to the next one. */
rf_attr_result rf_attribute(const rf_attr_input *in);

/* "explicit", "coupon", "code", "click", "cookie" or "none". */
const char *rf_attr_method_name(rf_attr_method m);

/* The method of a name rf_attr_method_name gives; RF_ATTR_NONE for NULL or an unknown name. */
rf_attr_method rf_attr_method_parse(const char *name);

/* The rank of a method in the precedence: explicit 5, coupon 4, code 3, click 2, cookie 1, none 0. */
int rf_attr_rank(rf_attr_method m);

/* Who a sale is credited to. A sale takes its lead's credit (partner and method), unless the customer paid with a
 * coupon of a partner who can be credited (coupon_partner_id) and a coupon outranks how the lead was credited: a
 * coupon beats a code sent along, a click, the cookie and no credit at all, but not an explicit choice, nor the
 * coupon that credited the lead. Pure; pointers in the result point into the arguments. */
rf_attr_result rf_attribute_sale(rf_attr_method lead_method, const char *lead_partner_id,
				 const char *coupon_partner_id);

#endif
