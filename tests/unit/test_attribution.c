/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for attribution (precedence, window, first versus last click) and the lead lifecycle rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "../../src/core/attribution.h"
#include "../../src/core/lifecycle.h"

#define DAY 86400000LL
#define NOW (1000 * DAY)

/* A visitor's chain, newest first: clicked p1 ten days ago, p2 five days ago, p3 one day ago. */
static const rf_attr_click chain3[] = {
    {"clk_c", "p3", NOW - 1 * DAY, true},
    {"clk_b", "p2", NOW - 5 * DAY, true},
    {"clk_a", "p1", NOW - 10 * DAY, true},
};

static rf_attr_input base(void)
{
	rf_attr_input in;
	memset(&in, 0, sizeof in);
	in.now = NOW;
	in.window_ms = 30 * DAY;
	return in;
}

static void precedence(void **state)
{
	(void)state;
	rf_attr_input in = base();
	rf_attr_click cookie[] = {{"clk_k", "pk", NOW - DAY, true}};
	in.explicit_partner_id = "px";
	in.code_partner_id = "pc";
	in.click = (rf_attr_chain){chain3, 3};
	in.cookie = (rf_attr_chain){cookie, 1};
	rf_attr_result r = rf_attribute(&in);
	assert_int_equal(r.method, RF_ATTR_EXPLICIT);
	assert_string_equal(r.partner_id, "px");
	in.explicit_partner_id = NULL;
	r = rf_attribute(&in);
	assert_int_equal(r.method, RF_ATTR_CODE);
	assert_string_equal(r.partner_id, "pc");
	assert_null(r.click_id);
	in.code_partner_id = NULL;
	r = rf_attribute(&in);
	assert_int_equal(r.method, RF_ATTR_CLICK);
	assert_string_equal(r.partner_id, "p3");
	assert_string_equal(r.click_id, "clk_c");
	in.click.n = 0;
	r = rf_attribute(&in);
	assert_int_equal(r.method, RF_ATTR_COOKIE);
	assert_string_equal(r.click_id, "clk_k");
	in.cookie.n = 0;
	r = rf_attribute(&in);
	assert_int_equal(r.method, RF_ATTR_NONE);
	assert_null(r.partner_id);
	assert_string_equal(rf_attr_method_name(r.method), "none");
}

/* A coupon the customer paid with is a code typed at checkout: after an explicit choice, before a code sent along,
 * a click and the cookie. */
static void coupon_precedence(void **state)
{
	(void)state;
	rf_attr_input in = base();
	rf_attr_click cookie[] = {{"clk_k", "pk", NOW - DAY, true}};
	in.explicit_partner_id = "px";
	in.coupon_partner_id = "pq";
	in.code_partner_id = "pc";
	in.click = (rf_attr_chain){chain3, 3};
	in.cookie = (rf_attr_chain){cookie, 1};
	rf_attr_result r = rf_attribute(&in);
	assert_int_equal(r.method, RF_ATTR_EXPLICIT);
	assert_string_equal(r.partner_id, "px");
	in.explicit_partner_id = NULL;
	r = rf_attribute(&in);
	assert_int_equal(r.method, RF_ATTR_COUPON);
	assert_string_equal(r.partner_id, "pq");
	assert_null(r.click_id);
	assert_string_equal(rf_attr_method_name(r.method), "coupon");
	in.code_partner_id = NULL;
	in.click.n = 0;
	assert_int_equal(rf_attribute(&in).method, RF_ATTR_COUPON);
	in.coupon_partner_id = NULL;
	assert_int_equal(rf_attribute(&in).method, RF_ATTR_COOKIE);
	/* The ranks, and names read back. */
	const rf_attr_method order[] = {RF_ATTR_EXPLICIT, RF_ATTR_COUPON, RF_ATTR_CODE,
					RF_ATTR_CLICK,    RF_ATTR_COOKIE, RF_ATTR_NONE};
	for (size_t i = 0; i + 1 < sizeof order / sizeof order[0]; i++) {
		assert_true(rf_attr_rank(order[i]) > rf_attr_rank(order[i + 1]));
		assert_int_equal(rf_attr_method_parse(rf_attr_method_name(order[i])), order[i]);
	}
	assert_int_equal(rf_attr_method_parse("coupon "), RF_ATTR_NONE);
	assert_int_equal(rf_attr_method_parse(NULL), RF_ATTR_NONE);
}

/* A sale of a known lead: the lead's credit, unless a partner's coupon paid for it and outranks that credit. */
static void coupon_on_a_sale(void **state)
{
	(void)state;
	static const struct {
		rf_attr_method lead;
		const char *lead_partner, *coupon_partner;
		rf_attr_method method;
		const char *partner;
	} cases[] = {
	    /* A code beats a cookie: the coupon takes the sale from whoever the lead's click or cookie credited. */
	    {RF_ATTR_COOKIE, "pa", "pb", RF_ATTR_COUPON, "pb"},
	    {RF_ATTR_CLICK, "pa", "pb", RF_ATTR_COUPON, "pb"},
	    {RF_ATTR_CODE, "pa", "pb", RF_ATTR_COUPON, "pb"},
	    {RF_ATTR_NONE, NULL, "pb", RF_ATTR_COUPON, "pb"},
	    /* A lead that says a method but has no partner is uncredited. */
	    {RF_ATTR_CLICK, NULL, "pb", RF_ATTR_COUPON, "pb"},
	    /* A person's choice stands; so does the coupon that credited the lead first. */
	    {RF_ATTR_EXPLICIT, "pa", "pb", RF_ATTR_EXPLICIT, "pa"},
	    {RF_ATTR_COUPON, "pa", "pb", RF_ATTR_COUPON, "pa"},
	    /* The partner's own coupon on its own customer changes nothing but the method. */
	    {RF_ATTR_COOKIE, "pa", "pa", RF_ATTR_COUPON, "pa"},
	    /* No coupon (or one of nobody who can be credited): the lead's credit. */
	    {RF_ATTR_CLICK, "pa", NULL, RF_ATTR_CLICK, "pa"},
	    {RF_ATTR_NONE, NULL, NULL, RF_ATTR_NONE, NULL},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		rf_attr_result r = rf_attribute_sale(cases[i].lead, cases[i].lead_partner, cases[i].coupon_partner);
		assert_int_equal(r.method, cases[i].method);
		if (cases[i].partner)
			assert_string_equal(r.partner_id, cases[i].partner);
		else
			assert_null(r.partner_id);
	}
}

static void first_and_last_click(void **state)
{
	(void)state;
	rf_attr_input in = base();
	in.click = (rf_attr_chain){chain3, 3};
	assert_string_equal(rf_attribute(&in).partner_id, "p3");
	in.first_click = true;
	assert_string_equal(rf_attribute(&in).partner_id, "p1");
	/* A 7-day window drops the ten-day-old click: the first click inside it is p2's. */
	in.window_ms = 7 * DAY;
	assert_string_equal(rf_attribute(&in).partner_id, "p2");
}

static void window_edges(void **state)
{
	(void)state;
	rf_attr_input in = base();
	rf_attr_click edge[] = {{"clk_e", "pe", NOW - 30 * DAY, true}};
	in.click = (rf_attr_chain){edge, 1};
	/* Exactly at the window's end still counts; one millisecond later it does not. */
	assert_int_equal(rf_attribute(&in).method, RF_ATTR_CLICK);
	in.now += 1;
	assert_int_equal(rf_attribute(&in).method, RF_ATTR_NONE);
	/* A click in the future (clock skew between processes) is not trusted. */
	rf_attr_click future[] = {{"clk_f", "pf", NOW + 1000, true}};
	in.now = NOW;
	in.click = (rf_attr_chain){future, 1};
	assert_int_equal(rf_attribute(&in).method, RF_ATTR_NONE);
}

static void uncreditable_clicks_fall_through(void **state)
{
	(void)state;
	rf_attr_input in = base();
	rf_attr_click bot[] = {{"clk_bot", "p1", NOW - DAY, false}, {"clk_none", NULL, NOW - DAY, true}};
	rf_attr_click cookie[] = {{"clk_k", "pk", NOW - 2 * DAY, true}};
	in.click = (rf_attr_chain){bot, 2};
	in.cookie = (rf_attr_chain){cookie, 1};
	rf_attr_result r = rf_attribute(&in);
	assert_int_equal(r.method, RF_ATTR_COOKIE);
	assert_string_equal(r.partner_id, "pk");
}

static void lifecycle(void **state)
{
	(void)state;
	assert_true(rf_lead_transition_ok("new", "contacted"));
	assert_true(rf_lead_transition_ok("new", "qualified"));
	assert_true(rf_lead_transition_ok("qualified", "converted"));
	assert_true(rf_lead_transition_ok("contacted", "lost"));
	assert_true(rf_lead_transition_ok("lost", "new"));
	assert_true(rf_lead_transition_ok("lost", "contacted"));
	assert_false(rf_lead_transition_ok("qualified", "contacted"));
	assert_false(rf_lead_transition_ok("converted", "lost"));
	assert_false(rf_lead_transition_ok("converted", "new"));
	assert_false(rf_lead_transition_ok("lost", "converted"));
	assert_false(rf_lead_transition_ok("pending_review", "new"));
	assert_false(rf_lead_transition_ok("rejected", "new"));
	assert_false(rf_lead_transition_ok("new", "new"));
	assert_false(rf_lead_transition_ok("new", "pending_review"));
	assert_true(rf_lead_status_valid("pending_review"));
	assert_false(rf_lead_status_valid("won"));
	assert_true(rf_lead_source_valid("organic"));
	assert_false(rf_lead_source_valid("Organic"));
	assert_true(rf_lead_blocks_registration("converted"));
	assert_false(rf_lead_blocks_registration("lost"));
	assert_false(rf_lead_blocks_registration("rejected"));
	assert_true(rf_email_domain_is_free("gmail.com"));
	assert_false(rf_email_domain_is_free("acme.io"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(precedence),       cmocka_unit_test(coupon_precedence),
	    cmocka_unit_test(coupon_on_a_sale), cmocka_unit_test(first_and_last_click),
	    cmocka_unit_test(window_edges),     cmocka_unit_test(uncreditable_clicks_fall_through),
	    cmocka_unit_test(lifecycle),
	};
	return cmocka_run_group_tests_name("attribution", tests, NULL, NULL);
}
