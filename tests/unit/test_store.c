/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the store interface on the SQLite backend: migrations, uniqueness, pagination, search, scope. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/core/code.h"
#include "../../src/core/text.h"
#include "../../src/store/store.h"

typedef struct {
	rf_store *s;
	rf_arena a;
	char path[64];
	char program[40];
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	snprintf(f->path, sizeof f->path, "/tmp/refd-unit-%d-XXXXXX", (int)getpid());
	int fd = mkstemp(f->path);
	if (fd < 0)
		return -1;
	close(fd);
	rf_err err = {0};
	if (rf_store_open(f->path, &f->s, &err) != RF_OK || rf_store_migrate(f->s, NULL, &err) != RF_OK)
		return -1;
	rf_arena_init(&f->a, 0);
	rf_program p = {.name = "P",
			.currency = "USD",
			.cookie_window_days = 90,
			.attribution_model = "last_click",
			.holding_period_days = 30,
			.tracking_params = {"via", "ref"},
			.n_tracking_params = 2,
			.created_at = 1,
			.updated_at = 1};
	rf_program_defaults(&p);
	rf_id_new("prg", f->program, sizeof f->program);
	p.id = f->program;
	if (rf_store_program_insert(f->s, &p, &err) != RF_OK)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	rf_store_close(f->s);
	rf_arena_reset(&f->a);
	char side[80];
	unlink(f->path);
	snprintf(side, sizeof side, "%s-wal", f->path);
	unlink(side);
	snprintf(side, sizeof side, "%s-shm", f->path);
	unlink(side);
	free(f);
	return 0;
}

static char *add_partner(fixture *f, const char *name, const char *email, const char *team_parent)
{
	rf_partner p = {0};
	p.id = rf_id_new_arena(&f->a, "ptn");
	p.program_id = f->program;
	p.kind = "partner";
	p.status = "active";
	p.name = (char *)name;
	p.email = (char *)email;
	memcpy(p.currency, "USD", 4);
	memcpy(p.cost_per_lead_currency, "USD", 4);
	p.team_parent_id = (char *)team_parent;
	p.metadata = "{}";
	p.recruitment_code = rf_arena_alloc(&f->a, RF_RECRUIT_CODE_LEN + 1);
	rf_recruit_code_generate(p.recruitment_code, RF_RECRUIT_CODE_LEN + 1);
	rf_err err = {0};
	assert_int_equal(rf_store_partner_insert(f->s, &p, &err), RF_OK);
	return p.id;
}

static void migrate_is_idempotent(void **state)
{
	fixture *f = *state;
	int applied = -1, dbv = 0, binv = 0;
	rf_err err = {0};
	assert_int_equal(rf_store_migrate(f->s, &applied, &err), RF_OK);
	assert_int_equal(applied, 0);
	assert_int_equal(rf_store_schema_version(f->s, &dbv, &binv, &err), RF_OK);
	assert_int_equal(dbv, binv);
	assert_true(dbv >= 1);
}

static void program_round_trip(void **state)
{
	fixture *f = *state;
	rf_program p;
	rf_err err = {0};
	assert_int_equal(rf_store_program_get(f->s, f->program, &p, &f->a, &err), RF_OK);
	assert_string_equal(p.currency, "USD");
	assert_int_equal(p.n_tracking_params, 2);
	assert_string_equal(p.tracking_params[1], "ref");
	assert_int_equal(rf_store_program_get(f->s, "prg_missing", &p, &f->a, &err), RF_ENOTFOUND);
}

static void partner_email_unique_per_program(void **state)
{
	fixture *f = *state;
	add_partner(f, "Ann", "ann@example.com", NULL);
	rf_partner p = {0};
	p.id = "ptn_dup";
	p.program_id = f->program;
	p.kind = "partner";
	p.status = "active";
	p.name = "Ann again";
	p.email = "ann@example.com";
	memcpy(p.currency, "USD", 4);
	memcpy(p.cost_per_lead_currency, "USD", 4);
	p.recruitment_code = "k7m2x9qp4vth";
	rf_err err = {0};
	assert_int_equal(rf_store_partner_insert(f->s, &p, &err), RF_ECONFLICT);
	assert_string_equal(err.field, "email");
}

static void partner_recruitment_code(void **state)
{
	fixture *f = *state;
	char *ann = add_partner(f, "Ann", "ann@example.com", NULL);
	rf_partner got, p;
	rf_err err = {0};
	assert_int_equal(rf_store_partner_get(f->s, ann, &got, &f->a, &err), RF_OK);
	assert_int_equal(strlen(got.recruitment_code), RF_RECRUIT_CODE_LEN);
	rf_partner found;
	assert_int_equal(rf_store_partner_by_recruitment_code(f->s, got.recruitment_code, &found, &f->a, &err), RF_OK);
	assert_string_equal(found.id, ann);
	assert_int_equal(rf_store_partner_by_recruitment_code(f->s, "k7m2x9qp4vth", &found, &f->a, &err), RF_ENOTFOUND);
	/* An update keeps the code. */
	got.name = "Ann Renamed";
	got.recruitment_code = "k7m2x9qp4vth";
	assert_int_equal(rf_store_partner_update(f->s, &got, &err), RF_OK);
	assert_int_equal(rf_store_partner_get(f->s, ann, &p, &f->a, &err), RF_OK);
	assert_string_equal(p.name, "Ann Renamed");
	assert_string_equal(p.recruitment_code, found.recruitment_code);
	/* A new partner needs a code of its own: a taken one is a conflict on the code, not on the email. */
	p.id = "ptn_second";
	p.email = "bea@example.com";
	assert_int_equal(rf_store_partner_insert(f->s, &p, &err), RF_ECONFLICT);
	assert_string_equal(err.field, "recruitment_code");
	p.recruitment_code = NULL;
	assert_int_equal(rf_store_partner_insert(f->s, &p, &err), RF_EINVAL);
	assert_string_equal(err.field, "recruitment_code");
	assert_int_equal(rf_store_partner_get(f->s, "ptn_second", &p, &f->a, &err), RF_ENOTFOUND);
}

static void pagination_walks_everything_once(void **state)
{
	fixture *f = *state;
	char email[64];
	for (int i = 0; i < 23; i++) {
		snprintf(email, sizeof email, "page%d@example.com", i);
		add_partner(f, "Pager", email, NULL);
	}
	rf_partner_filter flt = {.page = {.limit = 5}, .program_id = f->program};
	int seen = 0, pages = 0;
	bool more = true;
	const char *last = NULL;
	while (more) {
		rf_partner *items;
		size_t n;
		rf_err err = {0};
		flt.page.starting_after = last;
		assert_int_equal(rf_store_partner_list(f->s, &flt, &items, &n, &more, &f->a, &err), RF_OK);
		seen += (int)n;
		pages++;
		if (n)
			last = items[n - 1].id;
		assert_true(pages < 20);
	}
	assert_int_equal(seen, 23);
	assert_int_equal(pages, 5);
	rf_err err = {0};
	rf_partner *items;
	size_t n;
	flt.page.starting_after = "ptn_nope";
	assert_int_equal(rf_store_partner_list(f->s, &flt, &items, &n, &more, &f->a, &err), RF_EINVAL);
	assert_string_equal(err.field, "starting_after");
}

static void search_ranks_exact_then_prefix(void **state)
{
	fixture *f = *state;
	add_partner(f, "Maria Lopez", "maria@lopez.example", NULL);
	add_partner(f, "Ana Maria", "ana@example.org", NULL);
	add_partner(f, "Mariano Ruiz", "mr@ruiz.example", NULL);
	add_partner(f, "Zed", "maria.z@zed.example", NULL);
	rf_partner_filter flt = {.page = {.limit = 10}, .q = "maria"};
	rf_partner *items;
	size_t n;
	bool more;
	rf_err err = {0};
	assert_int_equal(rf_store_partner_list(f->s, &flt, &items, &n, &more, &f->a, &err), RF_OK);
	assert_int_equal(n, 4);
	/* Name prefix first ("Maria Lopez", "Mariano Ruiz"), then email prefix ("maria.z@"), then any word. */
	assert_string_equal(items[0].name, "Maria Lopez");
	assert_string_equal(items[1].name, "Mariano Ruiz");
	assert_string_equal(items[2].name, "Zed");
	assert_string_equal(items[3].name, "Ana Maria");

	flt.q = "maria.z@zed.example";
	assert_int_equal(rf_store_partner_list(f->s, &flt, &items, &n, &more, &f->a, &err), RF_OK);
	assert_int_equal(n, 1);
	assert_string_equal(items[0].name, "Zed");

	flt.q = "!!!";
	assert_int_equal(rf_store_partner_list(f->s, &flt, &items, &n, &more, &f->a, &err), RF_OK);
	assert_int_equal(n, 0);
	/* Quotes and FTS syntax in the query are treated as text, not as operators. */
	flt.q = "\"maria\" OR NEAR(";
	assert_int_equal(rf_store_partner_list(f->s, &flt, &items, &n, &more, &f->a, &err), RF_OK);
}

static void scope_limits_to_team(void **state)
{
	fixture *f = *state;
	char *org = add_partner(f, "Org", "org@team.example", NULL);
	add_partner(f, "Agent One", "one@team.example", org);
	add_partner(f, "Agent Two", "two@team.example", org);
	add_partner(f, "Outsider", "out@else.example", NULL);
	rf_partner_filter flt = {.page = {.limit = 100}, .scope_id = org};
	rf_partner *items;
	size_t n;
	bool more;
	rf_err err = {0};
	assert_int_equal(rf_store_partner_list(f->s, &flt, &items, &n, &more, &f->a, &err), RF_OK);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < n; i++)
		assert_string_not_equal(items[i].name, "Outsider");
	char *parent = NULL;
	assert_int_equal(rf_store_partner_parent(f->s, "team_parent_id", items[0].id, &parent, &f->a, &err), RF_OK);
}

static void rollback_discards(void **state)
{
	fixture *f = *state;
	rf_err err = {0};
	assert_int_equal(rf_store_begin(f->s, &err), RF_OK);
	char *id = add_partner(f, "Ghost", "ghost@example.com", NULL);
	rf_store_rollback(f->s);
	rf_partner p;
	assert_int_equal(rf_store_partner_get(f->s, id, &p, &f->a, &err), RF_ENOTFOUND);
}

static void login_failures_window(void **state)
{
	fixture *f = *state;
	rf_err err = {0};
	int64_t count = 0;
	for (int i = 0; i < 3; i++)
		assert_int_equal(rf_store_login_failure_add(f->s, "email:x@y.com", 1000 + i, &err), RF_OK);
	assert_int_equal(rf_store_login_failure_count(f->s, "email:x@y.com", 1001, &count, &err), RF_OK);
	assert_int_equal(count, 2);
	assert_int_equal(rf_store_login_failure_clear(f->s, "email:x@y.com", &err), RF_OK);
	assert_int_equal(rf_store_login_failure_count(f->s, "email:x@y.com", 0, &count, &err), RF_OK);
	assert_int_equal(count, 0);
}

static void settings(void **state)
{
	fixture *f = *state;
	rf_err err = {0};
	char *v = NULL;
	assert_int_equal(rf_store_setting_get(f->s, "k", &v, &f->a, &err), RF_OK);
	assert_null(v);
	assert_int_equal(rf_store_setting_set(f->s, "k", "1", &err), RF_OK);
	assert_int_equal(rf_store_setting_set(f->s, "k", "2", &err), RF_OK);
	assert_int_equal(rf_store_setting_get(f->s, "k", &v, &f->a, &err), RF_OK);
	assert_string_equal(v, "2");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(migrate_is_idempotent, setup, teardown),
	    cmocka_unit_test_setup_teardown(program_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(partner_email_unique_per_program, setup, teardown),
	    cmocka_unit_test_setup_teardown(partner_recruitment_code, setup, teardown),
	    cmocka_unit_test_setup_teardown(pagination_walks_everything_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(search_ranks_exact_then_prefix, setup, teardown),
	    cmocka_unit_test_setup_teardown(scope_limits_to_team, setup, teardown),
	    cmocka_unit_test_setup_teardown(rollback_discards, setup, teardown),
	    cmocka_unit_test_setup_teardown(login_failures_window, setup, teardown),
	    cmocka_unit_test_setup_teardown(settings, setup, teardown),
	};
	return cmocka_run_group_tests_name("store_sqlite", tests, NULL, NULL);
}
