/* SPDX-License-Identifier: Apache-2.0 */
/* Seeds a fresh database with a small, realistic programme so a new install has something to look at. */
#include "demo.h"

#include <string.h>

#include "../core/clock.h"
#include "../core/code.h"
#include "../core/secret.h"
#include "../core/text.h"

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
