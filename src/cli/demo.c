/* SPDX-License-Identifier: Apache-2.0 */
/* Seeds a fresh database with a small, realistic programme so a new install has something to look at. */
#include "demo.h"

#include <string.h>

#include "../core/clock.h"
#include "../core/code.h"
#include "../core/secret.h"
#include "../core/text.h"
#include "../svc/plans.h"
#include "../svc/sales.h"

typedef struct {
	const char *kind, *status, *name, *email, *company, *currency;
	int64_t cost_per_lead;
	int team_parent;  /* index into the table, or -1 */
	int recruited_by; /* index into the table, or -1 */
} demo_partner;

/* A partner organisation with two agents (a team), a three-level recruitment chain, and one of every kind. */
static const demo_partner partners[] = {
    {"partner", "active", "Northwind Traders", "partners@northwind.example", "Northwind Traders", "USD", 2500, -1, -1},
    {"agent", "active", "Ava Martin", "ava.martin@northwind.example", "Northwind Traders", "USD", 1500, 0, -1},
    {"agent", "active", "Ben Okafor", "ben.okafor@northwind.example", "Northwind Traders", "USD", 1500, 0, -1},
    {"affiliate", "active", "Carla Gomez", "carla@gomez-reviews.example", "Gomez Reviews", "USD", 1000, -1, 0},
    {"affiliate", "active", "Dan Weber", "dan@weber.example", NULL, "EUR", 800, -1, 3},
    {"affiliate", "active", "Eve Laurent", "eve@laurent.example", NULL, "EUR", 800, -1, 4},
    {"customer", "active", "Frank Li", "frank.li@example.com", NULL, "USD", 0, -1, -1},
    {"customer", "active", "Grace Kim", "grace.kim@example.org", "Kim Studio", "USD", 0, -1, 6},
    {"employee", "active", "Hugo Silva", "hugo.silva@acme.example", "Acme", "USD", 500, -1, -1},
    {"employee", "active", "Iris Novak", "iris.novak@acme.example", "Acme", "USD", 500, -1, -1},
    {"partner", "applied", "Jade Consulting", "hello@jade-consulting.example", "Jade Consulting", "GBP", 3000, -1, -1},
    {"partner", "suspended", "Karl Fischer", "karl@fischer-it.example", "Fischer IT", "EUR", 2000, -1, -1},
};

#define NPARTNERS (sizeof partners / sizeof partners[0])

rf_status rf_demo_seed(rf_store *s, bool *created, char *password, size_t len, rf_err *err)
{
	*created = false;
	rf_arena a;
	rf_arena_init(&a, 0);
	bool empty = false;
	if (rf_store_begin(s, err) != RF_OK)
		goto fail_noroll;
	if (rf_store_is_empty(s, &empty, err) != RF_OK)
		goto fail;
	if (!empty) {
		rf_store_rollback(s);
		rf_arena_reset(&a);
		return RF_OK;
	}
	int64_t now = rf_clock_now_ms();
	rf_program prog = {.id = rf_id_new_arena(&a, "prg"),
			   .name = "Acme Referral Program",
			   .currency = "USD",
			   .cookie_window_days = 90,
			   .attribution_model = "last_click",
			   .holding_period_days = 30,
			   .payout_threshold = 5000,
			   .tracking_params = {"via", "ref"},
			   .n_tracking_params = 2,
			   .created_at = now,
			   .updated_at = now};
	rf_program_defaults(&prog);
	if (rf_store_program_insert(s, &prog, err) != RF_OK)
		goto fail;
	char *ids[NPARTNERS];
	for (size_t i = 0; i < NPARTNERS; i++) {
		const demo_partner *d = &partners[i];
		rf_partner p;
		memset(&p, 0, sizeof p);
		ids[i] = rf_id_new_arena(&a, "ptn");
		p.id = ids[i];
		p.program_id = prog.id;
		p.kind = (char *)d->kind;
		p.status = (char *)d->status;
		p.name = (char *)d->name;
		p.email = (char *)d->email;
		p.company = (char *)d->company;
		memcpy(p.currency, d->currency, 4);
		p.cost_per_lead = d->cost_per_lead;
		memcpy(p.cost_per_lead_currency, d->currency, 4);
		p.team_parent_id = d->team_parent >= 0 ? ids[d->team_parent] : NULL;
		p.recruited_by_id = d->recruited_by >= 0 ? ids[d->recruited_by] : NULL;
		p.metadata = "{\"demo\":true}";
		p.recruitment_code = rf_arena_alloc(&a, RF_RECRUIT_CODE_LEN + 1);
		if (!p.recruitment_code) {
			rf_err_set(err, RF_ENOMEM, NULL, "out of memory");
			goto fail;
		}
		rf_recruit_code_generate(p.recruitment_code, RF_RECRUIT_CODE_LEN + 1);
		if (strcmp(d->status, "suspended") == 0)
			p.status_reason = "Demo: suspended while a complaint is reviewed";
		p.created_at = p.updated_at = now + (int64_t)i;
		if (rf_store_partner_insert(s, &p, err) != RF_OK)
			goto fail;
	}
	/* A link for the organisation, one of its agents and an affiliate, so /r/… works from the first start. */
	static const struct {
		int partner;
		const char *code, *url, *campaign;
	} links[] = {
	    {0, "northwind", "https://www.example.com/pricing?plan=team", "partner-program"},
	    {1, "ava", "https://www.example.com/demo", "agents"},
	    {3, "carla-reviews", "https://www.example.com/", "reviews"},
	};
	for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
		char folded[32];
		rf_link l = {.id = rf_id_new_arena(&a, "lnk"),
			     .program_id = prog.id,
			     .partner_id = ids[links[i].partner],
			     .code = (char *)links[i].code,
			     .destination_url = (char *)links[i].url,
			     .target_url = (char *)links[i].url,
			     .campaign = (char *)links[i].campaign,
			     .created_at = now,
			     .updated_at = now};
		rf_code_fold(l.code, folded, sizeof folded);
		if (rf_store_link_insert(s, &l, folded, err) != RF_OK)
			goto fail;
	}
	rf_random_token(15, password, len);
	char hash[RF_PASSWORD_HASH_MAX];
	if (rf_password_hash(password, hash) != RF_OK) {
		rf_err_set(err, RF_ENOMEM, NULL, "could not hash the demo password");
		goto fail;
	}
	rf_user u = {.id = rf_id_new_arena(&a, "usr"),
		     .email = RF_DEMO_ADMIN_EMAIL,
		     .password_hash = hash,
		     .role = "owner",
		     .created_at = now};
	if (rf_store_user_insert(s, &u, err) != RF_OK ||
	    rf_store_audit_add(s, "system", "demo.seed", prog.id, NULL, now, err) != RF_OK ||
	    rf_store_commit(s, err) != RF_OK)
		goto fail;
	*created = true;
	rf_arena_reset(&a);
	return RF_OK;
fail:
	rf_store_rollback(s);
fail_noroll:
	rf_arena_reset(&a);
	return err->status;
}

/* rf_demo_activity, run in its transaction. */
static rf_status activity(rf_store *s, void *arg, rf_err *err)
{
	rf_arena a;
	rf_arena_init(&a, 0);
	rf_svc sv = {.store = s, .a = &a, .actor = "system:demo", .cfg = arg};
	const int64_t day = 86400000LL, now = rf_clock_now_ms();
	rf_status rc = RF_OK;
	rf_program prog;
	rf_partner *ps = NULL;
	size_t np = 0;
	bool more = false;
	rf_page page = {.limit = 100};
	if (rc == RF_OK)
		rc = rf_svc_program_or_only(&sv, NULL, &prog, err);
	if (rc == RF_OK) {
		rf_partner_filter f = {.page = page, .program_id = prog.id};
		rc = rf_store_partner_list(s, &f, &ps, &np, &more, &a, err);
	}
	if (rc != RF_OK)
		goto done;
	/* The list is newest first: the demo table's order reversed. */
	rf_partner *by[16] = {0};
	for (size_t i = 0; i < np && i < 16; i++)
		by[np - 1 - i] = &ps[i];
	json_t *rules =
	    json_loads("{\"sale_bps\":2000,\"recurring\":\"months\",\"recurring_months\":12,"
		       "\"override_bps\":[1000,500],\"agent_share_bps\":3000,\"lead_use_cost_per_lead\":true}",
		       0, NULL);
	rf_plan_rules r;
	rc = rf_plan_rules_parse(rules, &r, NULL, err);
	json_decref(rules);
	json_t *norm = rc == RF_OK ? rf_plan_rules_json(&r) : NULL;
	char *rtxt = norm ? json_dumps(norm, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(norm);
	rf_plan plan = {.id = rf_id_new_arena(&a, "pln"),
			.program_id = prog.id,
			.name = "Standard",
			.is_default = true,
			.version = 1,
			.rules = rf_arena_strdup(&a, rtxt ? rtxt : "{}"),
			.valid_from = now - 400 * day,
			.created_at = now,
			.updated_at = now};
	free(rtxt);
	rf_fx_rate eur = {"USD", "EUR", now - 400 * day, 920000000, now};
	rf_fx_rate gbp = {"USD", "GBP", now - 400 * day, 790000000, now};
	if (rc != RF_OK || rf_store_plan_insert(s, &plan, err) != RF_OK || rf_store_fx_put(s, &eur, err) != RF_OK ||
	    rf_store_fx_put(s, &gbp, err) != RF_OK)
		goto fail;
	/* Clicks on the three demo links, a few a day. */
	rf_link *links = NULL;
	size_t nl = 0;
	rf_link_filter lf = {.page = page, .program_id = prog.id};
	if (rf_store_link_list(s, &lf, &links, &nl, &more, &a, err) != RF_OK)
		goto fail;
	for (int d = 89; d >= 0; d--)
		for (size_t i = 0; i < nl; i++)
			for (int k = 0; k < 1 + (d * 7 + (int)i * 3) % 5; k++) {
				rf_click ck = {.program_id = prog.id,
					       .link_id = links[i].id,
					       .partner_id = links[i].partner_id,
					       .at = now - d * day - k * 3600000LL,
					       .user_agent = "Mozilla/5.0 (demo)",
					       .source = "redirect",
					       .status = "counted"};
				ck.id = rf_id_new_arena(&a, "clk");
				if (rf_store_click_insert(s, &ck, err) != RF_OK)
					goto fail;
			}
	/* Leads from the active partners (Ava and Ben credit their organisation too), a sale for every fourth. */
	static const int credited[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
	static const char *const sources[] = {"partner", "referral", "campaign", "partner", "paid"};
	for (int i = 0; i < 40; i++) {
		const rf_partner *p = by[credited[i % 10]];
		if (!p)
			continue;
		rf_lead l;
		memset(&l, 0, sizeof l);
		l.id = rf_id_new_arena(&a, "lead");
		l.program_id = prog.id;
		l.email = rf_arena_printf(&a, "buyer%02d@customer%02d.example", i, i % 17);
		l.name = rf_arena_printf(&a, "Buyer %d", i + 1);
		l.company = rf_arena_printf(&a, "Customer %02d Ltd", i % 17);
		l.source = (char *)sources[i % 5];
		l.status = "new";
		bool agent = strcmp(p->kind, "agent") == 0 && p->team_parent_id;
		l.partner_id = agent ? p->team_parent_id : p->id;
		l.agent_id = agent ? p->id : NULL;
		l.method = "explicit";
		l.metadata = "{\"demo\":true}";
		l.created_by = "system:demo";
		l.created_at = l.updated_at = l.status_at = now - (88 - i * 2) * day;
		rf_lead_event ev = {NULL, "new", "system:demo", NULL, l.created_at};
		if (rf_store_lead_insert(s, &l, err) != RF_OK || rf_store_lead_event_add(s, l.id, &ev, err) != RF_OK)
			goto fail;
		if (i % 3 == 0 && i % 4 != 0) {
			rf_lead_event q = {"new", "qualified", "system:demo", NULL, l.created_at + day};
			l.status = "qualified";
			l.status_at = l.updated_at = q.at;
			if (rf_store_lead_update(s, &l, err) != RF_OK ||
			    rf_store_lead_event_add(s, l.id, &q, err) != RF_OK)
				goto fail;
		}
		if (i % 4 != 0)
			continue;
		/* A sale some days later; the first customers renew monthly. */
		for (int m = 0; m < (i < 12 ? 3 : 1); m++) {
			int64_t at = l.created_at + (5 + i % 9) * day + m * 30 * day;
			if (at >= now)
				break;
			rf_sale_input in;
			memset(&in, 0, sizeof in);
			in.program_id = prog.id;
			in.lead_id = l.id;
			in.amount = 4900 + (i % 5) * 5000;
			memcpy(in.currency, "USD", 4);
			in.external_id = rf_arena_printf(&a, "demo-invoice-%02d-%d", i, m);
			in.occurred_at = at;
			in.source = "api";
			rf_sale_result sold;
			if (rf_svc_sale_ingest(&sv, &in, &sold, err) != RF_OK)
				goto fail;
			if (i == 8 && m == 0) {
				rf_refund_input rin;
				memset(&rin, 0, sizeof rin);
				rin.sale_id = sold.sale.id;
				rin.has_amount = true;
				rin.amount = 2000;
				memcpy(rin.currency, "USD", 4);
				rin.reason = "one seat cancelled";
				rin.occurred_at = at + 3 * day;
				rf_refund_result refunded;
				if (rf_svc_refund_ingest(&sv, &rin, &refunded, err) != RF_OK)
					goto fail;
			}
		}
	}
	/* A deal Carla registered yesterday, waiting for review. */
	if (by[3]) {
		rf_lead reg;
		memset(&reg, 0, sizeof reg);
		reg.id = rf_id_new_arena(&a, "lead");
		reg.program_id = prog.id;
		reg.email = "cto@bigdeal.example";
		reg.name = "Robin Chief";
		reg.company = "Big Deal Inc";
		reg.source = "partner";
		reg.status = "pending_review";
		reg.partner_id = by[3]->id;
		reg.method = "explicit";
		reg.registration = true;
		reg.metadata = "{\"demo\":true}";
		reg.created_by = "system:demo";
		reg.created_at = reg.updated_at = reg.status_at = now - day;
		rf_lead_event ev = {NULL, "pending_review", "system:demo", NULL, reg.created_at};
		if (rf_store_lead_insert(s, &reg, err) != RF_OK ||
		    rf_store_lead_event_add(s, reg.id, &ev, err) != RF_OK)
			goto fail;
	}
	/* The figures above were written directly: the rollups are computed from them in one pass. */
	if (rf_store_rollup_rebuild(s, err) != RF_OK)
		goto fail;
	rc = RF_OK;
	goto done;
fail:
	rc = err->status;
done:
	rf_arena_reset(&a);
	return rc;
}

rf_status rf_demo_activity(rf_store *s, const rf_app_config *cfg, rf_err *err)
{
	return rf_store_tx(s, activity, (void *)cfg, err);
}
