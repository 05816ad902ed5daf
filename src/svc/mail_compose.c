/* SPDX-License-Identifier: Apache-2.0 */
/* The messages refd sends and when: what each event means by mail, the password reset, the daily digests and the
 * deal reminders of the jobs, each written as plain text and HTML from the same pieces. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "../core/clock.h"
#include "../core/money.h"
#include "mail.h"
#include "mail_draft.h"

#define DAY_MS 86400000LL
#define HOUR_MS 3600000LL
/* A digest covers the commissions of the last month at most (after a long stop, or for a partner's first one). */
#define DIGEST_FLOOR_DAYS 31
/* Commissions of the last minute wait for the next digest: a transaction that made one may not have committed yet. */
#define DIGEST_SETTLE_MS 60000
/* Lines a digest or a payout lists; the portal has the rest. */
#define LIST_MAX 50
/* Commissions a digest reads to count and sum. */
#define DIGEST_READ_MAX 500
#define REMIND_DAYS 3
#define MAX_CURRENCIES 16

/* ---- helpers ---- */

static bool is(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

/* A deal as its partner knows it: the company, else the name, else the email. */
static const char *deal_name(const rf_lead *l)
{
	return l->company && *l->company ? l->company : l->name && *l->name ? l->name : l->email ? l->email : l->id;
}

static const char *commission_kind(rf_svc *sv, const rf_commission *e)
{
	const char *rule = e->rule ? e->rule : "";
	const char *k = is(rule, "lead")        ? "Qualified lead"
			: is(rule, "sale")      ? "Sale"
			: is(rule, "recurring") ? "Recurring sale"
			: is(rule, "override")  ? "Override on a recruit"
			: is(rule, "reversal")  ? "Reversal (refund or dispute)"
						: rule;
	if (is(e->role, "team"))
		return rf_arena_printf(sv->a, "%s (your team)", k);
	if (is(rule, "override") && e->level > 1)
		return rf_arena_printf(sv->a, "%s, level %lld", k, (long long)e->level);
	return k;
}

static rf_status partner_and_program(rf_svc *sv, const char *partner_id, const char *program_id, rf_partner *p,
				     rf_program *prog, rf_err *err)
{
	if (rf_store_partner_get(sv->store, partner_id, p, sv->a, err) != RF_OK)
		return err->status;
	return rf_store_program_get(sv->store, program_id ? program_id : p->program_id, prog, sv->a, err);
}

/* Starts a message to a partner, from its program. */
static void to_partner(rf_mail_draft *d, rf_svc *sv, const char *category, const rf_partner *p, const rf_program *prog)
{
	rf_mail_draft_start(d, sv, category, p->email, p->name);
	d->m.partner_id = p->id;
	d->m.program_id = prog->id;
	d->sender = prog->name;
	d->unsub_subject = p->id;
	rf_mail_greet(d, p->name);
}

/* Sums of amounts per currency, for digests; a currency whose sum would overflow keeps what it had and is marked. */
typedef struct {
	char currency[4];
	int64_t sum;
	bool overflow;
} money_sum;

static void sum_add(money_sum *s, size_t *n, int64_t amount, const char *currency)
{
	size_t i = 0;
	while (i < *n && strcmp(s[i].currency, currency) != 0)
		i++;
	if (i == *n) {
		if (*n == MAX_CURRENCIES)
			return;
		memset(&s[i], 0, sizeof s[i]);
		snprintf(s[i].currency, sizeof s[i].currency, "%s", currency);
		(*n)++;
	}
	if (rf_money_add(s[i].sum, amount, &s[i].sum) != RF_OK)
		s[i].overflow = true;
}

static char *sums_text(rf_svc *sv, const money_sum *s, size_t n)
{
	char *out = "";
	for (size_t i = 0; i < n; i++)
		if (!s[i].overflow)
			out = rf_arena_printf(sv->a, "%s%s%s", out, *out ? ", " : "",
					      rf_mail_money(sv, s[i].sum, s[i].currency));
	return out ? out : "";
}

/* ---- partners: applications ---- */

/* The message of a decision (or of an application received) for partner p of prog. */
static rf_status application_msg(rf_svc *sv, const rf_partner *pp, const rf_program *pprog, const char *what,
				 const char *event_id, rf_err *err)
{
	rf_partner p = *pp;
	rf_program prog = *pprog;
	rf_mail_draft d;
	to_partner(&d, sv, "application", &p, &prog);
	if (is(what, "received")) {
		d.m.subject = rf_arena_printf(sv->a, "We received your application to %s", prog.name);
		rf_mail_para(&d,
			     "Thank you for applying to the %s partner program. The program team reviews every "
			     "application; you will get an email as soon as they decide.",
			     prog.name);
		rf_mail_para(&d, "Meanwhile you can log in to the partner portal with the email and password you "
				 "chose.");
		rf_mail_button(&d, "Open the partner portal", rf_mail_url(sv, "/portal#home"));
	} else if (is(what, "approved")) {
		d.m.subject = rf_arena_printf(sv->a, "Welcome to %s: your application is approved", prog.name);
		rf_mail_para(
		    &d,
		    "Your application to the %s partner program is approved. Your links and codes are ready in "
		    "the partner portal: share them, and every customer they bring in is credited to you.",
		    prog.name);
		rf_mail_button(&d, "Get your links", rf_mail_url(sv, "/portal#links"));
	} else {
		d.m.subject = rf_arena_printf(sv->a, "Your application to %s", prog.name);
		rf_mail_para(&d, "The %s team did not approve your application to their partner program.", prog.name);
		if (p.status_reason && *p.status_reason)
			rf_mail_para(&d, "Their reason: %s", p.status_reason);
		rf_mail_para(&d, "If you think this is a mistake, reply to the program team directly.");
	}
	d.m.event_id = (char *)event_id;
	return rf_mail_draft_queue(&d, err);
}

static rf_status application(rf_svc *sv, const rf_event *ev, const char *what, rf_err *err)
{
	rf_partner p;
	rf_program prog;
	if (partner_and_program(sv, ev->object_id, ev->program_id, &p, &prog, err) != RF_OK)
		return err->status;
	/* An application taken straight in (open sign-up) is approved in the same breath: the welcome says it all. */
	if (is(what, "received") && !is(p.status, "applied"))
		return RF_OK;
	return application_msg(sv, &p, &prog, what, ev->id, err);
}

/* ---- partners: deal registrations ---- */

static rf_status deal_msg(rf_svc *sv, const rf_lead *pl, const rf_partner *p, const rf_program *pprog, bool approved,
			  const char *event_id, rf_err *err)
{
	rf_lead l = *pl;
	rf_program prog = *pprog;
	rf_mail_draft d;
	to_partner(&d, sv, "deal", p, &prog);
	const char *deal = deal_name(&l);
	if (approved) {
		d.m.subject = rf_arena_printf(sv->a, "Deal registration approved: %s", deal);
		rf_mail_para(&d,
			     "The %s team approved your deal registration for %s. It is protected until %s: a sale to "
			     "this customer until then is credited to you.",
			     prog.name, deal, rf_mail_day(sv, l.protected_until));
	} else {
		d.m.subject = rf_arena_printf(sv->a, "Deal registration rejected: %s", deal);
		rf_mail_para(&d, "The %s team rejected your deal registration for %s.", prog.name, deal);
		if (l.review_reason && *l.review_reason)
			rf_mail_para(&d, "Their reason: %s", l.review_reason);
	}
	rf_mail_button(&d, "See the deal", rf_mail_url(sv, rf_arena_printf(sv->a, "/portal#lead/%s", l.id)));
	d.m.event_id = (char *)event_id;
	return rf_mail_draft_queue(&d, err);
}

static rf_status deal_decision(rf_svc *sv, const rf_event *ev, bool approved, rf_err *err)
{
	rf_lead l;
	rf_partner p;
	rf_program prog;
	if (rf_store_lead_get(sv->store, ev->object_id, &l, sv->a, err) != RF_OK ||
	    partner_and_program(sv, l.agent_id ? l.agent_id : l.partner_id, l.program_id, &p, &prog, err) != RF_OK)
		return err->status;
	return deal_msg(sv, &l, &p, &prog, approved, ev->id, err);
}

/* ---- partners: payouts ---- */

static rf_status payout_msg(rf_svc *sv, const rf_payout_item *pit, const rf_partner *p, const rf_program *pprog,
			    const rf_commission *entries, size_t n, const rf_balance *bal, size_t nb,
			    const char *event_id, rf_err *err);

static rf_status payout(rf_svc *sv, const rf_event *ev, rf_err *err)
{
	rf_payout_item it;
	rf_partner p;
	rf_program prog;
	if (rf_store_payout_item_get(sv->store, ev->object_id, &it, sv->a, err) != RF_OK ||
	    partner_and_program(sv, it.partner_id, ev->program_id, &p, &prog, err) != RF_OK)
		return err->status;
	bool off = false;
	if (rf_mail_turned_off(sv, p.id, "payout", &off, err) != RF_OK)
		return err->status;
	if (off)
		return RF_OK;
	rf_commission *entries = NULL;
	size_t n = 0;
	rf_balance bal[MAX_CURRENCIES];
	size_t nb = 0;
	if (rf_store_payout_item_entries(sv->store, it.id, LIST_MAX + 1, &entries, &n, sv->a, err) != RF_OK ||
	    rf_store_commission_balance(sv->store, p.id, bal, MAX_CURRENCIES, &nb, err) != RF_OK)
		return err->status;
	return payout_msg(sv, &it, &p, &prog, entries, n, bal, nb, ev->id, err);
}

/* The message of payout item it: what it pays (entries, n of them) and the balance after it (bal, nb). */
static rf_status payout_msg(rf_svc *sv, const rf_payout_item *pit, const rf_partner *p, const rf_program *pprog,
			    const rf_commission *entries, size_t n, const rf_balance *bal, size_t nb,
			    const char *event_id, rf_err *err)
{
	rf_payout_item it = *pit;
	rf_program prog = *pprog;
	rf_mail_draft d;
	to_partner(&d, sv, "payout", p, &prog);
	const char *amount = rf_mail_money(sv, it.amount, it.currency);
	d.m.subject = rf_arena_printf(sv->a, "Payout sent: %s", amount);
	d.m.event_id = (char *)event_id;
	if (it.reference && *it.reference)
		rf_mail_para(&d, "The %s team sent you %s on %s (reference %s).", prog.name, amount,
			     rf_mail_day(sv, it.paid_at), it.reference);
	else
		rf_mail_para(&d, "The %s team sent you %s on %s.", prog.name, amount, rf_mail_day(sv, it.paid_at));
	rf_mail_para(&d, "It pays %lld commission%s:", (long long)it.entries, it.entries == 1 ? "" : "s");
	static const char *const head[] = {"Date", "What", "Amount"};
	rf_mail_table(&d, head, 3);
	for (size_t i = 0; i < n && i < LIST_MAX; i++) {
		const char *row[] = {rf_mail_day(sv, entries[i].event_at), commission_kind(sv, &entries[i]),
				     entries[i].has_amount ? rf_mail_money(sv, entries[i].amount, entries[i].currency)
							   : "-"};
		rf_mail_row(&d, row, 3);
	}
	rf_mail_table_end(&d);
	if (it.entries > LIST_MAX)
		rf_mail_para(&d, "... and %lld more in your statement.", (long long)(it.entries - LIST_MAX));
	if (nb) {
		rf_mail_para(&d, "Your balance now:");
		static const char *const bhead[] = {"Currency", "Pending", "Approved", "Paid"};
		rf_mail_table(&d, bhead, 4);
		for (size_t i = 0; i < nb; i++) {
			const char *row[] = {bal[i].currency, rf_mail_money(sv, bal[i].pending, bal[i].currency),
					     rf_mail_money(sv, bal[i].approved, bal[i].currency),
					     rf_mail_money(sv, bal[i].paid, bal[i].currency)};
			rf_mail_row(&d, row, 4);
		}
		rf_mail_table_end(&d);
	}
	/* The statement of the month the payout was made in, up to its day: the payout and what it paid are in it. */
	const char *day = rf_mail_day(sv, it.paid_at);
	rf_mail_button(&d, "See your statement",
		       rf_mail_url(sv, rf_arena_printf(sv->a, "/portal#statements?from=%.8s01&to=%s", day, day)));
	return rf_mail_draft_queue(&d, err);
}

/* ---- admins ---- */

/* Calls fn for every enabled owner and admin. */
static rf_status each_admin(rf_svc *sv, rf_status (*fn)(rf_svc *sv, const rf_user *u, void *arg, rf_err *err),
			    void *arg, rf_err *err)
{
	rf_page page = {.limit = 100};
	for (int pages = 0; pages < 100; pages++) {
		rf_user *users = NULL;
		size_t n = 0;
		bool more = false;
		if (rf_store_user_list(sv->store, &page, &users, &n, &more, sv->a, err) != RF_OK)
			return err->status;
		for (size_t i = 0; i < n; i++)
			if (!users[i].disabled_at && (is(users[i].role, "owner") || is(users[i].role, "admin")) &&
			    fn(sv, &users[i], arg, err) != RF_OK)
				return err->status;
		if (!more || !n)
			break;
		page.starting_after = users[n - 1].id;
	}
	return RF_OK;
}

typedef struct {
	const rf_event *ev;
	const char *url, *reason;
} endpoint_alert;

static rf_status alert_one(rf_svc *sv, const rf_user *u, void *arg, rf_err *err)
{
	endpoint_alert *al = arg;
	bool off = false;
	if (rf_mail_turned_off(sv, u->id, "admin_alert", &off, err) != RF_OK)
		return err->status;
	if (off)
		return RF_OK;
	rf_mail_draft d;
	rf_mail_draft_start(&d, sv, "admin_alert", u->email, NULL);
	d.m.user_id = u->id;
	d.m.event_id = al->ev->id;
	d.m.program_id = al->ev->program_id;
	d.unsub_subject = u->id;
	d.m.subject = rf_arena_printf(sv->a, "A webhook endpoint was disabled: %s", al->url);
	rf_mail_greet(&d, NULL);
	rf_mail_para(&d, "refd stopped sending events to the webhook endpoint %s after its deliveries kept failing.",
		     al->url);
	if (al->reason)
		rf_mail_para(&d, "Why: %s", al->reason);
	rf_mail_para(&d, "Events are still recorded; once the endpoint works again, enable it and resend what it "
			 "missed.");
	rf_mail_button(&d, "Open the endpoint",
		       rf_mail_url(sv, al->ev->object_id ? rf_arena_printf(sv->a, "/app#webhooks/%s", al->ev->object_id)
							 : "/app#webhooks"));
	return rf_mail_draft_queue(&d, err);
}

static rf_status endpoint_disabled(rf_svc *sv, const rf_event *ev, rf_err *err)
{
	/* What the event says of the endpoint; its stored state when it has none. */
	json_t *data = json_loads(ev->data ? ev->data : "{}", 0, NULL);
	endpoint_alert al = {.ev = ev};
	const char *url = json_string_value(json_object_get(data, "url"));
	const char *reason = json_string_value(json_object_get(data, "disabled_reason"));
	rf_webhook_endpoint w;
	rf_err ignored = {0};
	if (!url && rf_store_webhook_endpoint_get(sv->store, ev->object_id, &w, sv->a, &ignored) == RF_OK) {
		url = w.url;
		reason = reason ? reason : w.disabled_reason;
	}
	al.url = rf_arena_strdup(sv->a, url ? url : ev->object_id);
	al.reason = reason ? rf_arena_strdup(sv->a, reason) : NULL;
	json_decref(data);
	return each_admin(sv, alert_one, &al, err);
}

/* ---- the event log's hook ---- */

rf_status rf_svc_mail_on_event(rf_svc *sv, const rf_event *ev, rf_err *err)
{
	if (!sv->cfg)
		return RF_OK;
	const char *t = ev->type;
	if (is(t, "partner.applied"))
		return application(sv, ev, "received", err);
	if (is(t, "partner.approved"))
		return application(sv, ev, "approved", err);
	if (is(t, "partner.rejected"))
		return application(sv, ev, "rejected", err);
	if (is(t, "deal.approved") || is(t, "deal.rejected"))
		return deal_decision(sv, ev, is(t, "deal.approved"), err);
	if (is(t, "payout_item.paid"))
		return payout(sv, ev, err);
	/* Written by the webhook sender when it gives up on an endpoint. */
	if (is(t, "webhook_endpoint.disabled"))
		return endpoint_disabled(sv, ev, err);
	return RF_OK;
}

/* ---- password reset and test ---- */

rf_status rf_svc_mail_password_reset(rf_svc *sv, const rf_user *u, const char *url, int minutes, rf_err *err)
{
	if (!sv->cfg)
		return RF_OK;
	rf_mail_draft d;
	rf_mail_draft_start(&d, sv, "password_reset", u->email, NULL);
	d.m.user_id = u->id;
	d.m.partner_id = u->partner_id;
	d.m.sealed = true;
	d.m.subject = "Set a new password";
	rf_mail_greet(&d, NULL);
	rf_mail_para(&d,
		     "Someone, we hope you, asked to set a new password for %s at %s. The link below sets one; it "
		     "works once, within %d minutes.",
		     u->email, sv->cfg->public_url, minutes);
	rf_mail_button(&d, "Set a new password", url);
	rf_mail_para(&d, "If you did not ask for it, ignore this email: your password stays as it is.");
	return rf_mail_draft_queue(&d, err);
}

rf_status rf_svc_mail_test(rf_svc *sv, const char *to, const char *user_id, rf_mail_message *out, rf_err *err)
{
	if (!sv->cfg)
		return rf_err_set(err, RF_EINVAL, NULL, "mail is composed by a running server only");
	rf_mail_draft d;
	rf_mail_draft_start(&d, sv, "test", to, NULL);
	d.m.user_id = (char *)user_id;
	d.m.subject = "Test message from refd";
	rf_mail_greet(&d, NULL);
	if (sv->cfg->mail_smtp)
		rf_mail_para(&d, "This message shows that refd at %s sends mail through %s.", sv->cfg->public_url,
			     sv->cfg->mail_smtp_url);
	else
		rf_mail_para(&d,
			     "refd at %s has no SMTP server configured: its mail is written to its log, as this "
			     "message is.",
			     sv->cfg->public_url);
	rf_mail_button(&d, "Open the admin UI", rf_mail_url(sv, "/app#settings"));
	rf_status rc = rf_mail_draft_queue(&d, err);
	if (rc == RF_OK && out)
		*out = d.m;
	return rc;
}

/* ---- the jobs: digests and reminders ---- */

int64_t rf_svc_mail_digest_day(int64_t now, int hour)
{
	int64_t t = now - hour * HOUR_MS;
	return t >= 0 ? t / DAY_MS : -((-t + DAY_MS - 1) / DAY_MS);
}

static rf_status digest_msg(rf_svc *sv, const rf_partner *p, const rf_program *pprog, const rf_commission *items,
			    size_t n, bool more, rf_err *err);

static rf_status partner_digest(rf_svc *sv, const char *partner_id, int64_t day, int64_t to, int64_t floor, int *queued,
				rf_err *err)
{
	char *key = rf_arena_printf(sv->a, "commissions_digest:%s", partner_id);
	bool claimed = false;
	int64_t prev = 0;
	if (rf_store_mail_run_claim(sv->store, key, day, to, rf_clock_now_ms(), &claimed, &prev, err) != RF_OK)
		return err->status;
	if (!claimed)
		return RF_OK; /* another process sends it */
	bool off = false;
	if (rf_mail_turned_off(sv, partner_id, "commissions_digest", &off, err) != RF_OK)
		return err->status;
	if (off)
		return RF_OK;
	rf_partner p;
	rf_program prog;
	rf_commission *items = NULL;
	size_t n = 0;
	bool more = false;
	int64_t from = prev > floor ? prev : floor;
	if (partner_and_program(sv, partner_id, NULL, &p, &prog, err) != RF_OK ||
	    rf_store_commissions_created(sv->store, partner_id, from, to, DIGEST_READ_MAX, &items, &n, &more, sv->a,
					 err) != RF_OK)
		return err->status;
	if (!n)
		return RF_OK;
	if (digest_msg(sv, &p, &prog, items, n, more, err) != RF_OK)
		return err->status;
	(*queued)++;
	return RF_OK;
}

/* The digest of n new commissions (items; more: there were more than could be read). */
static rf_status digest_msg(rf_svc *sv, const rf_partner *p, const rf_program *pprog, const rf_commission *items,
			    size_t n, bool more, rf_err *err)
{
	rf_program prog = *pprog;
	money_sum sums[MAX_CURRENCIES];
	size_t ns = 0;
	for (size_t i = 0; i < n; i++)
		if (items[i].has_amount && !is(items[i].status, "rejected"))
			sum_add(sums, &ns, items[i].amount, items[i].currency);
	rf_mail_draft d;
	to_partner(&d, sv, "commissions_digest", p, &prog);
	char *count = more ? rf_arena_printf(sv->a, "More than %d new commissions", DIGEST_READ_MAX)
			   : rf_arena_printf(sv->a, "%zu new commission%s", n, n == 1 ? "" : "s");
	const char *total = sums_text(sv, sums, ns);
	d.m.subject = *total ? rf_arena_printf(sv->a, "%s: %s", count, total) : count;
	rf_mail_para(&d, "Here is what you earned in the %s partner program since your last summary.", prog.name);
	static const char *const head[] = {"Date", "What", "Amount", "Status"};
	rf_mail_table(&d, head, 4);
	for (size_t i = 0; i < n && i < LIST_MAX; i++) {
		const char *row[] = {rf_mail_day(sv, items[i].created_at), commission_kind(sv, &items[i]),
				     items[i].has_amount ? rf_mail_money(sv, items[i].amount, items[i].currency)
							 : "(waiting for an exchange rate)",
				     items[i].status};
		rf_mail_row(&d, row, 4);
	}
	rf_mail_table_end(&d);
	if (n > LIST_MAX || more)
		rf_mail_para(&d, "The portal lists the other %s.",
			     more ? "ones" : rf_arena_printf(sv->a, "%zu", n - LIST_MAX));
	if (*total)
		rf_mail_para(&d, "In all: %s. Pending commissions are approved once their holding period ends.", total);
	rf_mail_button(&d, "See your commissions", rf_mail_url(sv, "/portal#commissions"));
	return rf_mail_draft_queue(&d, err);
}

rf_status rf_svc_mail_partner_digests(rf_svc *sv, int64_t now, int hour, int max, int *found, int *queued, rf_err *err)
{
	*found = *queued = 0;
	if (!sv->cfg)
		return RF_OK;
	int64_t day = rf_svc_mail_digest_day(now, hour), to = now - DIGEST_SETTLE_MS,
		floor = now - DIGEST_FLOOR_DAYS * DAY_MS;
	char **ids = NULL;
	size_t n = 0;
	if (rf_store_mail_digest_partners(sv->store, day, floor, to, max, &ids, &n, sv->a, err) != RF_OK)
		return err->status;
	*found = (int)n;
	for (size_t i = 0; i < n; i++)
		if (partner_digest(sv, ids[i], day, to, floor, queued, err) != RF_OK)
			return err->status;
	return RF_OK;
}

typedef struct {
	rf_program prog;
	int64_t counts[3]; /* applications, deal registrations, held commissions */
} program_waits;

typedef struct {
	program_waits *programs;
	size_t np;
	rf_webhook_endpoint *endpoints; /* failing or disabled */
	size_t ne;
	int64_t total[3];
	int64_t day;
	int *queued;
} waits;

static rf_status read_waits(rf_svc *sv, waits *w, rf_err *err)
{
	size_t cap = 0, ecap = 0;
	rf_page page = {.limit = 100};
	for (int pages = 0; pages < 10; pages++) {
		rf_program *items = NULL;
		size_t n = 0;
		bool more = false;
		if (rf_store_program_list(sv->store, &page, NULL, &items, &n, &more, sv->a, err) != RF_OK)
			return err->status;
		for (size_t i = 0; i < n; i++) {
			program_waits pw = {.prog = items[i]};
			if (rf_store_queue_counts(sv->store, items[i].id, pw.counts, err) != RF_OK)
				return err->status;
			if (!pw.counts[0] && !pw.counts[1] && !pw.counts[2])
				continue;
			program_waits *grown = rf_arena_grow(sv->a, w->programs, w->np, &cap, sizeof *w->programs, 8);
			if (!grown)
				return rf_err_set(err, RF_ENOMEM, NULL, "out of memory");
			w->programs = grown;
			w->programs[w->np++] = pw;
			for (int k = 0; k < 3; k++)
				w->total[k] += pw.counts[k];
		}
		if (!more || !n)
			break;
		page.starting_after = items[n - 1].id;
	}
	page = (rf_page){.limit = 100};
	for (int pages = 0; pages < 10; pages++) {
		rf_webhook_endpoint *items = NULL;
		size_t n = 0;
		bool more = false;
		if (rf_store_webhook_endpoint_list(sv->store, &page, &items, &n, &more, sv->a, err) != RF_OK)
			return err->status;
		for (size_t i = 0; i < n; i++) {
			if (!is(items[i].status, "disabled") && !items[i].failing_since)
				continue;
			rf_webhook_endpoint *grown =
			    rf_arena_grow(sv->a, w->endpoints, w->ne, &ecap, sizeof *w->endpoints, 8);
			if (!grown)
				return rf_err_set(err, RF_ENOMEM, NULL, "out of memory");
			w->endpoints = grown;
			w->endpoints[w->ne++] = items[i];
		}
		if (!more || !n)
			break;
		page.starting_after = items[n - 1].id;
	}
	return RF_OK;
}

static const char *counted(rf_svc *sv, int64_t n, const char *one, const char *many)
{
	return rf_arena_printf(sv->a, "%lld %s", (long long)n, n == 1 ? one : many);
}

static rf_status admin_digest_msg(rf_svc *sv, const rf_user *u, const waits *w, rf_err *err);

static rf_status admin_digest(rf_svc *sv, const rf_user *u, void *arg, rf_err *err)
{
	waits *w = arg;
	if (!w->np && !w->ne)
		return RF_OK; /* nothing waits: no digest, and nothing to remember */
	char *key = rf_arena_printf(sv->a, "admin_digest:%s", u->id);
	bool claimed = false, off = false;
	int64_t now = rf_clock_now_ms();
	if (rf_store_mail_run_claim(sv->store, key, w->day, now, now, &claimed, NULL, err) != RF_OK)
		return err->status;
	if (!claimed)
		return RF_OK;
	if (rf_mail_turned_off(sv, u->id, "admin_digest", &off, err) != RF_OK)
		return err->status;
	if (off)
		return RF_OK;
	if (admin_digest_msg(sv, u, w, err) != RF_OK)
		return err->status;
	(*w->queued)++;
	return RF_OK;
}

/* The digest of what waits (w) for admin u. */
static rf_status admin_digest_msg(rf_svc *sv, const rf_user *u, const waits *w, rf_err *err)
{
	rf_mail_draft d;
	rf_mail_draft_start(&d, sv, "admin_digest", u->email, NULL);
	d.m.user_id = u->id;
	d.unsub_subject = u->id;
	char *summary = "";
	static const char *const one[] = {"application", "deal registration", "held commission"};
	static const char *const many[] = {"applications", "deal registrations", "held commissions"};
	for (int k = 0; k < 3; k++)
		if (w->total[k])
			summary = rf_arena_printf(sv->a, "%s%s%s", summary, *summary ? ", " : "",
						  counted(sv, w->total[k], one[k], many[k]));
	if (w->ne)
		summary = rf_arena_printf(
		    sv->a, "%s%s%s", summary, *summary ? ", " : "",
		    counted(sv, (int64_t)w->ne, "webhook endpoint in trouble", "webhook endpoints in trouble"));
	d.m.subject = rf_arena_printf(sv->a, "What waits in refd: %s", summary);
	rf_mail_greet(&d, NULL);
	rf_mail_para(&d, "This is what waits for review today.");
	static const char *const where[] = {"/app#partners?status=applied&program_id=%s", "/app#deals",
					    "/app#commissions?status=held&program_id=%s"};
	static const char *const label[] = {"Review the applications", "Review the deal registrations",
					    "Review the held commissions"};
	for (size_t i = 0; i < w->np; i++) {
		const program_waits *pw = &w->programs[i];
		rf_mail_para(&d, "%s:", pw->prog.name);
		for (int k = 0; k < 3; k++) {
			if (!pw->counts[k])
				continue;
			rf_mail_para(&d, "%s.", counted(sv, pw->counts[k], one[k], many[k]));
			rf_mail_button(
			    &d, label[k],
			    rf_mail_url(sv, k == 1 ? where[k] : rf_arena_printf(sv->a, where[k], pw->prog.id)));
		}
	}
	for (size_t i = 0; i < w->ne; i++) {
		const rf_webhook_endpoint *e = &w->endpoints[i];
		if (is(e->status, "disabled"))
			rf_mail_para(&d, "The webhook endpoint %s is disabled%s%s.", e->url,
				     e->disabled_reason ? ": " : "", e->disabled_reason ? e->disabled_reason : "");
		else
			rf_mail_para(&d, "Deliveries to the webhook endpoint %s have been failing since %s.", e->url,
				     rf_mail_day(sv, e->failing_since));
	}
	if (w->ne)
		rf_mail_button(&d, "See the webhook endpoints", rf_mail_url(sv, "/app#webhooks"));
	return rf_mail_draft_queue(&d, err);
}

rf_status rf_svc_mail_admin_digests(rf_svc *sv, int64_t now, int hour, int *queued, rf_err *err)
{
	*queued = 0;
	if (!sv->cfg)
		return RF_OK;
	waits w;
	memset(&w, 0, sizeof w);
	w.day = rf_svc_mail_digest_day(now, hour);
	w.queued = queued;
	if (read_waits(sv, &w, err) != RF_OK)
		return err->status;
	return each_admin(sv, admin_digest, &w, err);
}

/* The reminder that the protection of registration l ends soon. */
static rf_status reminder_msg(rf_svc *sv, const rf_lead *l, const rf_partner *p, const rf_program *prog, int64_t now,
			      rf_err *err)
{
	rf_mail_draft d;
	to_partner(&d, sv, "deal_reminder", p, prog);
	const char *deal = deal_name(l), *until = rf_mail_day(sv, l->protected_until);
	int64_t days = (l->protected_until - now + DAY_MS - 1) / DAY_MS;
	d.m.subject = rf_arena_printf(sv->a, "Your deal registration for %s ends on %s", deal, until);
	rf_mail_para(&d,
		     "The protection of your deal registration for %s ends on %s, %s from now. After that a sale to "
		     "this customer is no longer reserved for you.",
		     deal, until, counted(sv, days, "day", "days"));
	rf_mail_para(&d, "If the deal is still open, talk to the %s team about it.", prog->name);
	rf_mail_button(&d, "See the deal", rf_mail_url(sv, rf_arena_printf(sv->a, "/portal#lead/%s", l->id)));
	return rf_mail_draft_queue(&d, err);
}

rf_status rf_svc_mail_deal_reminders(rf_svc *sv, int64_t now, int max, int *found, int *queued, rf_err *err)
{
	*found = *queued = 0;
	if (!sv->cfg)
		return RF_OK;
	rf_lead *items = NULL;
	size_t n = 0;
	if (rf_store_registrations_expiring(sv->store, now, now + REMIND_DAYS * DAY_MS, max, &items, &n, sv->a, err) !=
	    RF_OK)
		return err->status;
	*found = (int)n;
	for (size_t i = 0; i < n; i++) {
		const rf_lead *l = &items[i];
		char *key = rf_arena_printf(sv->a, "deal_reminder:%s", l->id);
		bool claimed = false, off = false;
		if (rf_store_mail_run_claim(sv->store, key, l->protected_until, now, now, &claimed, NULL, err) != RF_OK)
			return err->status;
		rf_partner p;
		rf_program prog;
		const char *who = l->agent_id ? l->agent_id : l->partner_id;
		if (!claimed || !who)
			continue;
		if (rf_mail_turned_off(sv, who, "deal_reminder", &off, err) != RF_OK ||
		    partner_and_program(sv, who, l->program_id, &p, &prog, err) != RF_OK)
			return err->status;
		if (off || !is(p.status, "active"))
			continue;
		if (reminder_msg(sv, l, &p, &prog, now, err) != RF_OK)
			return err->status;
		(*queued)++;
	}
	return RF_OK;
}

rf_status rf_svc_mail_purge(rf_svc *sv, int64_t now, int keep_days, int max, int64_t *removed, rf_err *err)
{
	return rf_store_mail_purge(sv->store, now - (int64_t)keep_days * DAY_MS, max, removed, err);
}

/* ---- previews ---- */

const rf_mail_preview_kind rf_mail_preview_kinds[] = {
    {"application_received", "application", "A partner applies to a program whose sign-up is reviewed."},
    {"application_approved", "application",
     "An admin approves an application, or a partner joins a program with open sign-up."},
    {"application_rejected", "application", "An admin rejects an application (bans an applicant)."},
    {"deal_approved", "deal", "An admin approves a partner's deal registration."},
    {"deal_rejected", "deal", "An admin rejects a partner's deal registration."},
    {"deal_reminder", "deal_reminder", "An approved deal registration's protection ends within three days."},
    {"commissions_digest", "commissions_digest", "Once a day, when a partner has new commissions."},
    {"payout", "payout", "A payout to a partner is marked paid."},
    {"password_reset", "password_reset", "Someone asks for a new password."},
    {"admin_digest", "admin_digest",
     "Once a day, when applications, deal registrations, held commissions or failing webhook endpoints wait."},
    {"admin_alert", "admin_alert", "A webhook endpoint is disabled after failing."},
    {"test", "test", "An admin sends a test message."},
    {NULL, NULL, NULL},
};

const rf_mail_preview_kind *rf_mail_preview_kind_find(const char *name)
{
	for (const rf_mail_preview_kind *k = rf_mail_preview_kinds; name && k->name; k++)
		if (is(k->name, name))
			return k;
	return NULL;
}

/* A sample commission of the digest or the payout. */
static rf_commission sample_commission(const char *rule, int64_t amount, const char *currency, int64_t at,
				       const char *status)
{
	rf_commission e;
	memset(&e, 0, sizeof e);
	e.rule = (char *)rule;
	e.role = "direct";
	e.has_amount = true;
	e.amount = amount;
	snprintf(e.currency, sizeof e.currency, "%s", currency);
	e.created_at = e.event_at = at;
	e.status = (char *)status;
	return e;
}

static rf_status preview_partner_msg(rf_svc *sv, const char *name, const rf_partner *p, const rf_program *prog,
				     int64_t now, rf_err *err)
{
	const char *cur = prog->currency;
	rf_lead l;
	memset(&l, 0, sizeof l);
	l.id = "lead_sample";
	l.company = "Example Corp";
	l.protected_until = now + 90 * DAY_MS;
	l.review_reason = "Example Corp is already a customer.";
	if (is(name, "application_received") || is(name, "application_approved") || is(name, "application_rejected")) {
		rf_partner q = *p;
		if (is(name, "application_rejected") && !(q.status_reason && *q.status_reason))
			q.status_reason = "We work only with partners based in the EU for now.";
		return application_msg(sv, &q, prog, name + strlen("application_"), NULL, err);
	}
	if (is(name, "deal_approved") || is(name, "deal_rejected"))
		return deal_msg(sv, &l, p, prog, is(name, "deal_approved"), NULL, err);
	if (is(name, "deal_reminder")) {
		l.protected_until = now + 2 * DAY_MS + HOUR_MS;
		return reminder_msg(sv, &l, p, prog, now, err);
	}
	rf_commission items[3] = {sample_commission("sale", 4900, cur, now - 20 * HOUR_MS, "pending"),
				  sample_commission("recurring", 1900, cur, now - 9 * HOUR_MS, "pending"),
				  sample_commission("lead", 500, cur, now - 2 * HOUR_MS, "pending")};
	if (is(name, "commissions_digest"))
		return digest_msg(sv, p, prog, items, 3, false, err);
	rf_payout_item it;
	memset(&it, 0, sizeof it);
	it.id = "poi_sample";
	it.amount = 6800;
	snprintf(it.currency, sizeof it.currency, "%s", cur);
	it.entries = 2;
	it.reference = "BATCH-0042";
	it.paid_at = now;
	items[0].status = items[1].status = "paid";
	rf_balance bal;
	memset(&bal, 0, sizeof bal);
	snprintf(bal.currency, sizeof bal.currency, "%s", cur);
	bal.pending = 500;
	bal.paid = 6800;
	return payout_msg(sv, &it, p, prog, items, 2, &bal, 1, NULL, err);
}

rf_status rf_svc_mail_preview(rf_svc *sv, const rf_mail_preview_kind *kind, const char *partner_id, const char *user_id,
			      rf_mail_message *out, rf_err *err)
{
	if (!sv->cfg)
		return rf_err_set(err, RF_EINVAL, NULL, "mail is composed by a running server only");
	const rf_mail_category *cat = rf_mail_category_find(kind->category);
	int64_t now = rf_clock_now_ms();
	struct rf_mail_preview_slot slot;
	memset(&slot, 0, sizeof slot);
	rf_partner p;
	rf_program prog;
	rf_user u;
	memset(&p, 0, sizeof p);
	memset(&prog, 0, sizeof prog);
	memset(&u, 0, sizeof u);
	if (partner_id) {
		if (partner_and_program(sv, partner_id, NULL, &p, &prog, err) != RF_OK)
			return err->status;
	} else {
		p.id = "ptn_sample";
		p.name = "Alex Example";
		p.email = "alex@partner.example";
		p.status = "applied";
		prog.id = "prg_sample";
		prog.name = "Example";
		snprintf(prog.currency, sizeof prog.currency, "usd");
	}
	if (user_id) {
		if (rf_store_user_get(sv->store, user_id, &u, sv->a, err) != RF_OK)
			return err->status;
	} else {
		u.id = "usr_sample";
		u.email = "admin@company.example";
		u.role = "admin";
	}
	sv->mail_preview = &slot;
	rf_status rc = RF_OK;
	if (!cat->admin) {
		if (is(kind->name, "password_reset")) {
			rf_user pu = {.id = "usr_sample", .email = p.email, .role = "partner", .partner_id = p.id};
			rc = rf_svc_mail_password_reset(sv, &pu,
							rf_mail_url(sv, "/portal#reset=sample-link-of-a-preview"),
							RF_MAIL_RESET_MINUTES, err);
		} else {
			rc = preview_partner_msg(sv, kind->name, &p, &prog, now, err);
		}
	} else if (is(kind->name, "admin_digest")) {
		waits w;
		program_waits sample;
		memset(&w, 0, sizeof w);
		memset(&sample, 0, sizeof sample);
		rc = read_waits(sv, &w, err);
		if (rc == RF_OK && !w.np && !w.ne) {
			/* Nothing waits: sample figures, so that there is something to see. */
			sample.prog = prog;
			sample.counts[0] = 2;
			sample.counts[1] = 1;
			sample.counts[2] = 3;
			w.programs = &sample;
			w.np = 1;
			w.total[0] = 2;
			w.total[1] = 1;
			w.total[2] = 3;
		}
		if (rc == RF_OK)
			rc = admin_digest_msg(sv, &u, &w, err);
	} else if (is(kind->name, "admin_alert")) {
		rf_event ev;
		memset(&ev, 0, sizeof ev);
		endpoint_alert al = {.ev = &ev,
				     .url = "https://hooks.company.example/refd",
				     .reason = "every delivery failed for 3 days (last answer: HTTP 500)"};
		rc = alert_one(sv, &u, &al, err);
	} else {
		rc = rf_svc_mail_test(sv, u.email, user_id, NULL, err);
	}
	sv->mail_preview = NULL;
	if (rc != RF_OK)
		return rc;
	if (!slot.filled)
		return rf_err_set(err, RF_EINVAL, NULL, "%s: nothing to preview", kind->name);
	*out = slot.m;
	return RF_OK;
}
