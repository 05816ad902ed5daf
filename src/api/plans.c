/* SPDX-License-Identifier: Apache-2.0 */
/* /api/v1/plans: what partners earn, versioned rules, assignment to partners, and simulation of a proposed plan
 * over past events. */
#include <stdlib.h>
#include <string.h>

#include "../core/clock.h"
#include "../core/money.h"
#include "../core/text.h"
#include "api.h"

static const rf_jfield plan_fields[] = {
    {"program_id", RF_JT_STRING, false, 64, NULL},
    {"name", RF_JT_STRING, false, 200, NULL},
    {"default", RF_JT_BOOL, false, 0, NULL},
    {"rules", RF_JT_OBJECT, false, 8192, NULL},
    {NULL, 0, false, 0, NULL},
};

static json_t *plan_json(const rf_plan *p)
{
	json_t *rules = json_loads(p->rules ? p->rules : "{}", 0, NULL);
	json_t *o =
	    json_pack("{s:s, s:s, s:s, s:s, s:b, s:I}", "id", p->id, "object", "plan", "program_id", p->program_id,
		      "name", p->name, "default", p->is_default, "version", (json_int_t)p->version);
	json_object_set_new(o, "rules", rules ? rules : json_object());
	json_object_set_new(o, "version_valid_from", rf_json_time(p->valid_from));
	json_object_set_new(o, "created_at", rf_json_time(p->created_at));
	json_object_set_new(o, "updated_at", rf_json_time(p->updated_at));
	return o;
}

/* Normalised rules text from a rules member. */
static rf_status rules_text(rf_ctx *c, json_t *rules, char **text, rf_err *err)
{
	rf_plan_rules r;
	if (rf_plan_rules_parse(rules, &r, NULL, err) != RF_OK)
		return err->status;
	json_t *j = rf_plan_rules_json(&r);
	char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	*text = rf_arena_strdup(c->a, s ? s : "{}");
	free(s);
	return RF_OK;
}

void rf_api_plans_create(rf_ctx *c)
{
	json_t *body = rf_api_body(c, plan_fields);
	if (!body)
		return;
	rf_err err = {0};
	rf_plan p;
	memset(&p, 0, sizeof p);
	rf_program prog;
	p.name = rf_trim_arena(c->a, rf_json_str(body, "name"));
	if (!p.name || !*p.name) {
		rf_err_set(&err, RF_EINVAL, "name", "name is required");
		goto fail;
	}
	json_t *rules = json_object_get(body, "rules");
	json_t *empty = json_object();
	rf_status rrc = rules_text(c, rules ? rules : empty, &p.rules, &err);
	json_decref(empty);
	if (rrc != RF_OK)
		goto fail;
	if (rf_api_program_or_only(c, rf_json_str(body, "program_id"), &prog, &err) != RF_OK)
		goto fail;
	p.id = rf_id_new_arena(c->a, "pln");
	p.program_id = prog.id;
	p.is_default = json_is_true(json_object_get(body, "default"));
	p.version = 1;
	p.created_at = p.updated_at = p.valid_from = rf_clock_now_ms();
	if (rf_store_plan_insert(c->app->store, &p, &err) != RF_OK) {
		if (err.status == RF_ECONFLICT)
			rf_err_set(&err, RF_ECONFLICT, "default", "the program already has a default plan");
		goto fail;
	}
	if (rf_api_audit(c, "plan.create", p.id, NULL, &err) != RF_OK)
		goto fail;
	json_decref(body);
	rf_json_send(c, 201, plan_json(&p));
	return;
fail:
	json_decref(body);
	rf_json_error(c, &err);
}

void rf_api_plans_get(rf_ctx *c)
{
	rf_plan p;
	rf_err err = {0};
	if (!rf_api_found(c, rf_store_plan_get(c->app->store, c->params[0], &p, c->a, &err), &err, "plan"))
		return;
	if (c->who.role < RF_ROLE_ADMIN) {
		/* A partner sees the plan it is on (its own, or the program's default). */
		rf_partner me;
		bool mine = false;
		if (c->who.partner_id &&
		    rf_store_partner_get(c->app->store, c->who.partner_id, &me, c->a, &err) == RF_OK)
			mine = me.plan_id ? strcmp(me.plan_id, p.id) == 0
					  : p.is_default && strcmp(p.program_id, me.program_id) == 0;
		if (!mine) {
			rf_api_found(c, RF_ENOTFOUND, &err, "plan");
			return;
		}
	}
	rf_json_send(c, 200, plan_json(&p));
}

void rf_api_plans_list(rf_ctx *c)
{
	rf_err err = {0};
	rf_page page;
	if (rf_json_page(c, &page, &err) != RF_OK) {
		rf_json_error(c, &err);
		return;
	}
	rf_plan *items = NULL;
	size_t n = 0;
	bool more = false;
	if (rf_store_plan_list(c->app->store, &page, rf_req_query(c->req, "program_id"), &items, &n, &more, c->a,
			       &err) != RF_OK) {
		rf_json_error(c, &err);
		return;
	}
	json_t *data = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(data, plan_json(&items[i]));
	rf_json_send(c, 200, rf_json_list(data, more));
}

static const rf_jfield plan_update_fields[] = {
    {"name", RF_JT_STRING, false, 200, NULL},
    {"default", RF_JT_BOOL, false, 0, NULL},
    {"rules", RF_JT_OBJECT, false, 8192, NULL},
    {NULL, 0, false, 0, NULL},
};

void rf_api_plans_update(rf_ctx *c)
{
	json_t *body = rf_api_body(c, plan_update_fields);
	if (!body)
		return;
	rf_err err = {0};
	rf_plan p;
	char *rules = NULL;
	if (json_object_get(body, "rules") && rules_text(c, json_object_get(body, "rules"), &rules, &err) != RF_OK)
		goto fail;
	if (!rf_api_found(c, rf_store_plan_get(c->app->store, c->params[0], &p, c->a, &err), &err, "plan")) {
		json_decref(body);
		return;
	}
	const char *name = rf_trim_arena(c->a, rf_json_str(body, "name"));
	if (name && !*name) {
		rf_err_set(&err, RF_EINVAL, "name", "name cannot be blank");
		goto fail;
	}
	if (name)
		p.name = (char *)name;
	if (json_object_get(body, "default"))
		p.is_default = json_is_true(json_object_get(body, "default"));
	int64_t now = rf_clock_now_ms();
	bool new_version = rules && strcmp(rules, p.rules) != 0;
	if (new_version) {
		/* A change applies to events from now on: the earlier ones keep the version they were paid under. */
		p.version++;
		p.rules = rules;
		p.valid_from = now;
	}
	p.updated_at = now;
	if (rf_store_plan_update(c->app->store, &p, new_version, &err) != RF_OK) {
		if (err.status == RF_ECONFLICT && strcmp(err.field, "default") == 0)
			rf_err_set(&err, RF_ECONFLICT, "default", "the program already has a default plan");
		goto fail;
	}
	if (rf_api_audit(c, "plan.update", p.id, NULL, &err) != RF_OK)
		goto fail;
	json_decref(body);
	rf_json_send(c, 200, plan_json(&p));
	return;
fail:
	json_decref(body);
	rf_json_error(c, &err);
}

static const rf_jfield assign_fields[] = {
    {"partner_ids", RF_JT_STRINGS, false, 1000, NULL},
    {NULL, 0, false, 0, NULL},
};

void rf_api_plans_assign(rf_ctx *c)
{
	json_t *body = rf_api_body(c, assign_fields);
	if (!body)
		return;
	rf_err err = {0};
	rf_plan p;
	json_t *ids = json_object_get(body, "partner_ids");
	if (!ids || json_array_size(ids) == 0) {
		rf_err_set(&err, RF_EINVAL, "partner_ids", "partner_ids must name at least one partner");
		goto fail;
	}
	if (!rf_api_found(c, rf_store_plan_get(c->app->store, c->params[0], &p, c->a, &err), &err, "plan")) {
		json_decref(body);
		return;
	}
	size_t i;
	json_t *v;
	int64_t now = rf_clock_now_ms();
	json_array_foreach(ids, i, v)
	{
		rf_partner pt;
		rf_status rc = rf_store_partner_get(c->app->store, json_string_value(v), &pt, c->a, &err);
		if (rc == RF_ENOTFOUND || (rc == RF_OK && strcmp(pt.program_id, p.program_id) != 0)) {
			rf_err_set(&err, RF_EINVAL, "partner_ids",
				   "partner_ids[%zu]: no partner %s in the plan's program", i, json_string_value(v));
			goto fail;
		}
		if (rc != RF_OK)
			goto fail;
		pt.plan_id = p.id;
		pt.updated_at = now;
		if (rf_store_partner_update(c->app->store, &pt, &err) != RF_OK)
			goto fail;
	}
	if (rf_api_audit(c, "plan.assign", p.id, NULL, &err) != RF_OK)
		goto fail;
	json_int_t assigned = (json_int_t)json_array_size(ids);
	json_decref(body);
	rf_json_send(c, 200, json_pack("{s:s, s:I}", "plan_id", p.id, "assigned", assigned));
	return;
fail:
	json_decref(body);
	rf_json_error(c, &err);
}

/* ---- simulate ---- */

typedef struct {
	const char *partner_id;
	char currency[4];
	int64_t actual, proposed, difference;
} sim_row;

typedef struct {
	sim_row *rows;
	size_t n, cap;
	rf_arena *a;
} sim_table;

static sim_row *sim_find(sim_table *t, const char *partner_id, const char *currency)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->rows[i].partner_id, partner_id) == 0 && strcmp(t->rows[i].currency, currency) == 0)
			return &t->rows[i];
	sim_row *rows = rf_arena_grow(t->a, t->rows, t->n, &t->cap, sizeof *rows, 32);
	if (!rows)
		return NULL;
	t->rows = rows;
	sim_row *r = &t->rows[t->n];
	memset(r, 0, sizeof *r);
	r->partner_id = rf_arena_strdup(t->a, partner_id);
	if (!r->partner_id)
		return NULL;
	snprintf(r->currency, 4, "%s", currency);
	t->n++;
	return r;
}

static rf_status sim_add(sim_table *t, const rf_commission *items, size_t n, bool actual, rf_err *err)
{
	for (size_t i = 0; i < n; i++) {
		if (!items[i].has_amount || strcmp(items[i].status, "rejected") == 0)
			continue;
		sim_row *r = sim_find(t, items[i].partner_id, items[i].currency);
		if (!r)
			return rf_err_set(err, RF_ENOMEM, NULL, "out of memory");
		int64_t *slot = actual ? &r->actual : &r->proposed;
		if (rf_money_add(*slot, items[i].amount, slot) != RF_OK)
			return rf_err_set(err, RF_EOVERFLOW, NULL, "the totals do not fit");
	}
	return RF_OK;
}

/* proposed - actual into r->difference, unless it does not fit. */
static rf_status sim_difference(sim_row *r)
{
	if (r->actual == INT64_MIN)
		return RF_EOVERFLOW;
	return rf_money_add(r->proposed, -r->actual, &r->difference);
}

/* Sums the partners' rows into one per currency in tot and works out every difference, before any JSON is built:
 * a failure here (out of memory, or amounts that do not fit) leaves nothing to free and says what went wrong. */
static rf_status sim_totals(sim_table *t, sim_table *tot, rf_err *err)
{
	for (size_t i = 0; i < t->n; i++) {
		const sim_row *r = &t->rows[i];
		sim_row *tr = sim_find(tot, "", r->currency);
		if (!tr)
			return rf_err_set(err, RF_ENOMEM, NULL, "out of memory while adding up the simulation");
		if (rf_money_add(tr->actual, r->actual, &tr->actual) != RF_OK ||
		    rf_money_add(tr->proposed, r->proposed, &tr->proposed) != RF_OK)
			return rf_err_set(err, RF_EOVERFLOW, NULL, "the totals do not fit");
	}
	for (size_t i = 0; i < t->n; i++)
		if (sim_difference(&t->rows[i]) != RF_OK)
			return rf_err_set(err, RF_EOVERFLOW, NULL, "the differences do not fit");
	for (size_t i = 0; i < tot->n; i++)
		if (sim_difference(&tot->rows[i]) != RF_OK)
			return rf_err_set(err, RF_EOVERFLOW, NULL, "the differences do not fit");
	return RF_OK;
}

static const rf_jfield simulate_fields[] = {
    {"from", RF_JT_STRING, false, 40, NULL},
    {"to", RF_JT_STRING, false, 40, NULL},
    {"rules", RF_JT_OBJECT, false, 8192, NULL},
    {NULL, 0, false, 0, NULL},
};

#define SIM_MAX_EVENTS 100000

static void simulate(rf_ctx *c);

/* A replay may touch many events: it works in an arena of its own, larger than a request's. */
void rf_api_plans_simulate(rf_ctx *c)
{
	rf_arena big;
	rf_arena_init(&big, 1u << 30);
	rf_arena *saved = c->a;
	c->a = &big;
	simulate(c);
	c->a = saved;
	rf_arena_reset(&big);
}

static void simulate(rf_ctx *c)
{
	json_t *body = rf_api_body(c, simulate_fields);
	if (!body)
		return;
	rf_err err = {0};
	rf_plan p;
	rf_program prog;
	rf_plan_rules rules;
	int64_t from = 0, to = 0;
	const char *fs = rf_json_str(body, "from"), *ts = rf_json_str(body, "to");
	if (!fs || rf_clock_parse(fs, &from) != 0) {
		rf_err_set(&err, RF_EINVAL, "from", "from must be an RFC 3339 time");
		goto fail;
	}
	if (!ts || rf_clock_parse(ts, &to) != 0 || to <= from) {
		rf_err_set(&err, RF_EINVAL, "to", "to must be an RFC 3339 time after from");
		goto fail;
	}
	if (!rf_api_found(c, rf_store_plan_get(c->app->store, c->params[0], &p, c->a, &err), &err, "plan")) {
		json_decref(body);
		return;
	}
	json_t *proposed = json_object_get(body, "rules");
	if (!proposed) {
		json_t *cur = json_loads(p.rules, 0, NULL);
		rf_status rc = rf_plan_rules_parse(cur, &rules, NULL, &err);
		json_decref(cur);
		if (rc != RF_OK)
			goto fail;
	} else if (rf_plan_rules_parse(proposed, &rules, NULL, &err) != RF_OK) {
		goto fail;
	}
	if (rf_store_program_get(c->app->store, p.program_id, &prog, c->a, &err) != RF_OK)
		goto fail;

	rf_ledger L = {.sv = rf_ctx_svc(c),
		       .prog = &prog,
		       .actor = c->who.actor,
		       .simulate = true,
		       .sim_plan_id = p.id,
		       .sim_rules = &rules};
	size_t events = 0;
	/* Sales, in the order they happened. */
	const char *after = NULL;
	for (;;) {
		rf_sale_filter f = {.page = {.limit = 100, .starting_after = after},
				    .program_id = prog.id,
				    .from = from,
				    .to = to,
				    .oldest_first = true};
		rf_sale *items = NULL;
		size_t n = 0;
		bool more = false;
		if (rf_store_sale_list(c->app->store, &f, &items, &n, &more, c->a, &err) != RF_OK)
			goto fail;
		for (size_t i = 0; i < n; i++) {
			rf_customer cu;
			if (rf_store_customer_find(c->app->store, prog.id, "lead_id", items[i].lead_id, &cu, c->a,
						   &err) != RF_OK ||
			    rf_ledger_sale(&L, &items[i], cu.first_sale_at, &err) != RF_OK)
				goto fail;
		}
		events += n;
		if (!more || n == 0 || events > SIM_MAX_EVENTS)
			break;
		after = items[n - 1].id;
	}
	/* Qualified leads. */
	char **lead_ids = NULL;
	int64_t *lead_ats = NULL;
	size_t nl = 0;
	if (rf_store_lead_qualified_range(c->app->store, prog.id, from, to, SIM_MAX_EVENTS, &lead_ids, &lead_ats, &nl,
					  c->a, &err) != RF_OK)
		goto fail;
	for (size_t i = 0; i < nl; i++) {
		rf_lead l;
		if (rf_store_lead_get(c->app->store, lead_ids[i], &l, c->a, &err) != RF_OK ||
		    rf_ledger_lead(&L, &l, lead_ats[i], &err) != RF_OK)
			goto fail;
	}
	events += nl;
	/* Refunds and disputes: the reversal of what the proposed plan would have paid on their sale. */
	rf_refund *refunds = NULL;
	size_t nr = 0;
	if (rf_store_refund_range(c->app->store, prog.id, from, to, SIM_MAX_EVENTS, &refunds, &nr, c->a, &err) != RF_OK)
		goto fail;
	for (size_t i = 0; i < nr; i++) {
		rf_sale x;
		rf_customer cu;
		rf_ledger orig = {.sv = rf_ctx_svc(c),
				  .prog = &prog,
				  .actor = c->who.actor,
				  .simulate = true,
				  .sim_plan_id = p.id,
				  .sim_rules = &rules};
		if (rf_store_sale_get(c->app->store, refunds[i].sale_id, &x, c->a, &err) != RF_OK ||
		    rf_store_customer_find(c->app->store, prog.id, "lead_id", x.lead_id, &cu, c->a, &err) != RF_OK ||
		    rf_ledger_sale(&orig, &x, cu.first_sale_at, &err) != RF_OK ||
		    rf_ledger_reverse(&L, &x, &refunds[i], orig.items, orig.n, &err) != RF_OK)
			goto fail;
	}
	events += nr;

	sim_table t = {.a = c->a};
	if (sim_add(&t, L.items, L.n, false, &err) != RF_OK)
		goto fail;
	/* What was really earned from the same events under this plan. */
	after = NULL;
	for (;;) {
		rf_commission_filter f = {.page = {.limit = 100, .starting_after = after},
					  .program_id = prog.id,
					  .plan_id = p.id,
					  .event_from = from,
					  .event_to = to,
					  .oldest_first = true};
		rf_commission *items = NULL;
		size_t n = 0;
		bool more = false;
		if (rf_store_commission_list(c->app->store, &f, &items, &n, &more, c->a, &err) != RF_OK ||
		    sim_add(&t, items, n, true, &err) != RF_OK)
			goto fail;
		if (!more || n == 0)
			break;
		after = items[n - 1].id;
	}
	sim_table tot = {.a = c->a};
	if (sim_totals(&t, &tot, &err) != RF_OK)
		goto fail;
	/* From here on nothing fails: the answer is built from figures already checked. */
	json_t *partners = json_array(), *totals = json_array();
	for (size_t i = 0; i < t.n; i++) {
		const sim_row *r = &t.rows[i];
		json_array_append_new(partners, json_pack("{s:s, s:o, s:o, s:o, s:o}", "partner_id", r->partner_id,
							  "currency", rf_json_code(r->currency), "actual",
							  rf_json_money_new(r->actual, r->currency), "proposed",
							  rf_json_money_new(r->proposed, r->currency), "difference",
							  rf_json_money_new(r->difference, r->currency)));
	}
	for (size_t i = 0; i < tot.n; i++) {
		const sim_row *r = &tot.rows[i];
		json_array_append_new(totals, json_pack("{s:o, s:o, s:o, s:o}", "currency", rf_json_code(r->currency),
							"actual", rf_json_money_new(r->actual, r->currency), "proposed",
							rf_json_money_new(r->proposed, r->currency), "difference",
							rf_json_money_new(r->difference, r->currency)));
	}
	json_t *out = json_pack("{s:s, s:o, s:o, s:I, s:o, s:o}", "plan_id", p.id, "from", rf_json_time(from), "to",
				rf_json_time(to), "events", (json_int_t)events, "partners", partners, "totals", totals);
	json_object_set_new(out, "rules", rf_plan_rules_json(&rules));
	json_decref(body);
	rf_json_send(c, 200, out);
	return;
fail:
	json_decref(body);
	rf_json_error(c, &err);
}
