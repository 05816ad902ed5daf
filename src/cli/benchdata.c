/* SPDX-License-Identifier: Apache-2.0 */
/* Generates repeatable synthetic partners for the search benchmark. */
#include "benchdata.h"

#include <stdio.h>
#include <string.h>

#include "../core/clock.h"
#include "../core/code.h"
#include "../core/text.h"

static const char *const first[] = {
    "Ava",   "Ben",  "Carla", "Dan",   "Eve",   "Frank", "Grace",  "Hugo",   "Iris",   "Jade",   "Karl",   "Lena",
    "Maria", "Noah", "Olga",  "Paul",  "Quinn", "Rosa",  "Sam",    "Tara",   "Uma",    "Victor", "Wendy",  "Xavier",
    "Yara",  "Zoe",  "Ahmed", "Bruno", "Chen",  "Diego", "Elif",   "Fatima", "Giulia", "Hiro",   "Ines",   "Jonas",
    "Kofi",  "Liam", "Mei",   "Nadia", "Omar",  "Priya", "Rafael", "Sofia",  "Tomas",  "Yuki",   "Zanele", "Amara",
};

static const char *const last[] = {
    "Martin", "Okafor",   "Gomez",  "Weber",     "Laurent",  "Li",     "Kim",    "Silva",     "Novak",   "Fischer",
    "Rossi",  "Nakamura", "Haddad", "Kowalski",  "Andersen", "Dubois", "Moreau", "Schmidt",   "Ivanova", "Costa",
    "Nguyen", "Patel",    "Singh",  "Johansson", "Murphy",   "Garcia", "Lopez",  "Hernandez", "Brown",   "Wilson",
    "Taylor", "Clark",    "Lewis",  "Walker",    "Young",    "Allen",  "Wright", "Scott",     "Torres",  "Ramirez",
};

static const char *const domains[] = {"example.com",    "example.org",     "mail.example", "partners.example",
				      "agency.example", "consult.example", "shop.example", "media.example"};

static const char *const kinds[] = {"partner", "agent", "affiliate", "customer", "employee"};

static unsigned next(unsigned *state)
{
	/* xorshift32: fast, and the same seed gives the same data on every machine. */
	unsigned x = *state;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*state = x;
	return x;
}

#define PICK(arr, st) arr[next(st) % (sizeof arr / sizeof arr[0])]

rf_status rf_benchdata_partners(rf_store *s, long n, unsigned seed, char *program_id, size_t len, rf_err *err)
{
	rf_arena a;
	rf_arena_init(&a, 0);
	unsigned st = seed ? seed : 1;
	int64_t now = rf_clock_now_ms();
	rf_id_new("prg", program_id, len);
	rf_program prog = {.id = program_id,
			   .name = "Bench program",
			   .currency = "USD",
			   .cookie_window_days = 90,
			   .attribution_model = "last_click",
			   .holding_period_days = 30,
			   .tracking_params = {"via", "ref"},
			   .n_tracking_params = 2,
			   .created_at = now,
			   .updated_at = now};
	rf_program_defaults(&prog);
	if (rf_store_begin(s, err) != RF_OK)
		return err->status;
	if (rf_store_program_insert(s, &prog, err) != RF_OK)
		goto fail;
	for (long i = 0; i < n; i++) {
		const char *f = PICK(first, &st), *l = PICK(last, &st), *d = PICK(domains, &st);
		char name[64], email[128], company[64];
		snprintf(name, sizeof name, "%s %s", f, l);
		/* The index keeps emails unique; the names repeat, as real names do. */
		snprintf(email, sizeof email, "%s.%s%ld@%s", f, l, i, d);
		for (char *p = email; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p + 32);
		snprintf(company, sizeof company, "%s %s", l, (i % 3) ? "Consulting" : "Group");
		rf_partner p = {0};
		char id[40];
		rf_id_new("ptn", id, sizeof id);
		p.id = id;
		p.program_id = program_id;
		p.kind = (char *)PICK(kinds, &st);
		p.status = "active";
		p.name = name;
		p.email = email;
		p.company = (i % 4) ? company : NULL;
		memcpy(p.currency, "USD", 4);
		memcpy(p.cost_per_lead_currency, "USD", 4);
		p.metadata = "{}";
		char recruit[RF_RECRUIT_CODE_LEN + 1];
		rf_recruit_code_generate(recruit, sizeof recruit);
		p.recruitment_code = recruit;
		p.created_at = p.updated_at = now + i;
		if (rf_store_partner_insert(s, &p, err) != RF_OK)
			goto fail;
	}
	if (rf_store_commit(s, err) != RF_OK)
		goto fail;
	rf_arena_reset(&a);
	return RF_OK;
fail:
	rf_store_rollback(s);
	rf_arena_reset(&a);
	return err->status;
}
