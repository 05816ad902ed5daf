/* SPDX-License-Identifier: Apache-2.0 */
/* The attribution rules: precedence between sources, the window, and first versus last click. */
#include "attribution.h"

#include <string.h>

static const rf_attr_click *pick(const rf_attr_chain *chain, const rf_attr_input *in)
{
	const rf_attr_click *best = NULL;
	for (size_t i = 0; i < chain->n; i++) {
		const rf_attr_click *c = &chain->clicks[i];
		if (!c->creditable || !c->partner_id || c->at > in->now || in->now - c->at > in->window_ms)
			continue;
		if (!best || (in->first_click ? c->at < best->at : c->at > best->at))
			best = c;
	}
	return best;
}

rf_attr_result rf_attribute(const rf_attr_input *in)
{
	rf_attr_result r = {RF_ATTR_NONE, NULL, NULL};
	if (in->explicit_partner_id) {
		r.method = RF_ATTR_EXPLICIT;
		r.partner_id = in->explicit_partner_id;
		return r;
	}
	if (in->coupon_partner_id) {
		r.method = RF_ATTR_COUPON;
		r.partner_id = in->coupon_partner_id;
		return r;
	}
	if (in->code_partner_id) {
		r.method = RF_ATTR_CODE;
		r.partner_id = in->code_partner_id;
		return r;
	}
	const rf_attr_click *c = pick(&in->click, in);
	if (c) {
		r.method = RF_ATTR_CLICK;
		r.partner_id = c->partner_id;
		r.click_id = c->id;
		return r;
	}
	c = pick(&in->cookie, in);
	if (c) {
		r.method = RF_ATTR_COOKIE;
		r.partner_id = c->partner_id;
		r.click_id = c->id;
	}
	return r;
}

const char *rf_attr_method_name(rf_attr_method m)
{
	switch (m) {
	case RF_ATTR_EXPLICIT:
		return "explicit";
	case RF_ATTR_COUPON:
		return "coupon";
	case RF_ATTR_CODE:
		return "code";
	case RF_ATTR_CLICK:
		return "click";
	case RF_ATTR_COOKIE:
		return "cookie";
	case RF_ATTR_NONE:
		break;
	}
	return "none";
}

rf_attr_method rf_attr_method_parse(const char *name)
{
	static const rf_attr_method all[] = {RF_ATTR_EXPLICIT, RF_ATTR_COUPON, RF_ATTR_CODE, RF_ATTR_CLICK,
					     RF_ATTR_COOKIE};
	for (size_t i = 0; name && i < sizeof all / sizeof all[0]; i++)
		if (strcmp(name, rf_attr_method_name(all[i])) == 0)
			return all[i];
	return RF_ATTR_NONE;
}

int rf_attr_rank(rf_attr_method m)
{
	switch (m) {
	case RF_ATTR_EXPLICIT:
		return 5;
	case RF_ATTR_COUPON:
		return 4;
	case RF_ATTR_CODE:
		return 3;
	case RF_ATTR_CLICK:
		return 2;
	case RF_ATTR_COOKIE:
		return 1;
	case RF_ATTR_NONE:
		break;
	}
	return 0;
}

rf_attr_result rf_attribute_sale(rf_attr_method lead_method, const char *lead_partner_id, const char *coupon_partner_id)
{
	rf_attr_result r = {lead_partner_id ? lead_method : RF_ATTR_NONE, lead_partner_id, NULL};
	/* A lead without a partner has no method that counts, whatever it says. */
	int held = lead_partner_id ? rf_attr_rank(lead_method) : 0;
	if (coupon_partner_id && rf_attr_rank(RF_ATTR_COUPON) > held) {
		r.method = RF_ATTR_COUPON;
		r.partner_id = coupon_partner_id;
	}
	return r;
}
