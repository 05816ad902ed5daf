/* SPDX-License-Identifier: Apache-2.0 */
/* The attribution rules: precedence between sources, the window, and first versus last click. */
#include "attribution.h"

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
