/* SPDX-License-Identifier: Apache-2.0 */
/* The event log's writer and its fan-out to webhook endpoints. */
#include "events.h"

#include <stdlib.h>
#include <string.h>

#include "../core/clock.h"
#include "../core/text.h"
#include "crm.h"
#include "mail.h"
#include "views.h"

const char *const rf_event_types[] = {
    "partner.applied",
    "partner.created",
    "partner.approved",
    "partner.rejected",
    "partner.suspended",
    "partner.banned",
    "partner.reactivated",
    "partner.recruited",
    "link.created",
    "link.archived",
    "lead.created",
    "lead.status_changed",
    "lead.converted",
    "deal.registered",
    "deal.approved",
    "deal.rejected",
    "deal.expired",
    "sale.created",
    "refund.created",
    "dispute.created",
    "commission.created",
    "commission.approved",
    "commission.held",
    "commission.rejected",
    "commission.reversed",
    "commission.paid",
    "payout_run.created",
    "payout_run.approved",
    "payout_run.paid",
    "payout_run.cancelled",
    "payout_item.paid",
    "payout_item.failed",
    "webhook.test",
    "webhook_endpoint.disabled",
    NULL,
};

bool rf_event_type_known(const char *type)
{
	for (int i = 0; type && rf_event_types[i]; i++)
		if (strcmp(rf_event_types[i], type) == 0)
			return true;
	return false;
}

bool rf_webhook_endpoint_wants(const rf_webhook_endpoint *w, const char *type)
{
	json_t *arr = json_loads(w->event_types ? w->event_types : "[]", 0, NULL);
	bool yes = false;
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v)
	{
		const char *t = json_string_value(v);
		if (t && (strcmp(t, "*") == 0 || strcmp(t, type) == 0)) {
			yes = true;
			break;
		}
	}
	json_decref(arr);
	return yes;
}

/* A delivery's id: its time in milliseconds, then random characters. Ids made in order add to the end of the ids'
 * index instead of to a page picked at random, which spares the change's transaction a page per delivery. */
static char *delivery_id(rf_arena *a, int64_t now)
{
	char *rnd = rf_id_new_arena(a, "dlv");
	return rnd ? rf_arena_printf(a, "dlv_%013lld%.11s", (long long)(now > 0 ? now : 0), rnd + 4) : NULL;
}

static rf_status enqueue(rf_svc *sv, const rf_event *ev, const char *endpoint_id, int64_t now, rf_delivery *out,
			 rf_err *err)
{
	rf_delivery d;
	memset(&d, 0, sizeof d);
	d.id = delivery_id(sv->a, now);
	d.kind = "webhook";
	d.target_id = (char *)endpoint_id;
	d.event_id = ev->id;
	d.status = "pending";
	d.next_at = now;
	d.created_at = d.updated_at = now;
	if (!d.id)
		return rf_err_set(err, RF_ENOMEM, NULL, "out of memory");
	if (rf_store_delivery_insert(sv->store, &d, err) != RF_OK)
		return err->status;
	if (out)
		*out = d;
	return RF_OK;
}

rf_status rf_svc_webhook_enqueue(rf_svc *sv, const rf_event *ev, const char *endpoint_id, rf_delivery *out, rf_err *err)
{
	return enqueue(sv, ev, endpoint_id, rf_clock_now_ms(), out, err);
}

/* Writes an event; fan_out queues its deliveries to the endpoints that want it. */
static rf_status write_event(rf_svc *sv, const char *type, const char *program_id, const char *object_id,
			     const char *partner_id, json_t *data, bool fan_out, rf_event *out, rf_err *err)
{
#ifdef RF_BENCH_NO_EVENTS
	/* A build for the benchmark that weighs what events cost (bench/webhooks): none are written. */
	json_decref(data);
	(void)sv, (void)type, (void)program_id, (void)object_id, (void)partner_id, (void)fan_out, (void)out, (void)err;
	return RF_OK;
#else
	if (!data)
		return rf_err_set(err, RF_ENOMEM, NULL, "out of memory rendering an event");
	char *text = json_dumps(data, JSON_COMPACT);
	json_decref(data);
	if (!text)
		return rf_err_set(err, RF_ENOMEM, NULL, "out of memory rendering an event");
	rf_event ev = {.id = rf_id_new_arena(sv->a, "evt"),
		       .type = (char *)type,
		       .program_id = (char *)program_id,
		       .object_id = (char *)object_id,
		       .partner_id = (char *)partner_id,
		       .data = rf_arena_strdup(sv->a, text),
		       .created_at = rf_clock_now_ms()};
	free(text);
	if (!ev.id || !ev.data)
		return rf_err_set(err, RF_ENOMEM, NULL, "out of memory");
	if (rf_store_event_insert(sv->store, &ev, err) != RF_OK)
		return err->status;
	rf_webhook_endpoint *eps = NULL;
	size_t n = 0;
	if (fan_out && rf_store_webhook_endpoints_enabled(sv->store, program_id, &eps, &n, sv->a, err) != RF_OK)
		return err->status;
	for (size_t i = 0; i < n; i++)
		if (rf_webhook_endpoint_wants(&eps[i], type) &&
		    enqueue(sv, &ev, eps[i].id, ev.created_at, NULL, err) != RF_OK)
			return err->status;
	/* The mail the change means is composed now too, in its transaction: sent only if the change commits. */
	if (rf_svc_mail_on_event(sv, &ev, err) != RF_OK)
		return err->status;
	if (out)
		*out = ev;
	return RF_OK;
#endif
}

rf_status rf_svc_event(rf_svc *sv, const char *type, const char *program_id, const char *object_id,
		       const char *partner_id, json_t *data, rf_event *out, rf_err *err)
{
	return write_event(sv, type, program_id, object_id, partner_id, data, true, out, err);
}

rf_status rf_svc_webhook_test(rf_svc *sv, const rf_webhook_endpoint *w, rf_event *ev, rf_delivery *d, rf_err *err)
{
	rf_event e = {0};
	if (write_event(sv, "webhook.test", w->program_id, w->id, NULL, rf_view_webhook_endpoint(w), false, &e, err) !=
	    RF_OK)
		return err->status;
	if (ev)
		*ev = e;
	return enqueue(sv, &e, w->id, e.created_at, d, err);
}

rf_status rf_svc_event_webhook_endpoint(rf_svc *sv, const char *type, const rf_webhook_endpoint *w, rf_err *err)
{
	return rf_svc_event(sv, type, w->program_id, w->id, NULL, rf_view_webhook_endpoint(w), NULL, err);
}

rf_status rf_svc_event_partner(rf_svc *sv, const char *type, const rf_partner *p, rf_err *err)
{
	return rf_svc_event(sv, type, p->program_id, p->id, p->id, rf_view_partner(sv, p), NULL, err);
}

rf_status rf_svc_event_link(rf_svc *sv, const char *type, const rf_link *l, rf_err *err)
{
	return rf_svc_event(sv, type, l->program_id, l->id, l->partner_id, rf_view_link(sv, l), NULL, err);
}

rf_status rf_svc_event_lead(rf_svc *sv, const char *type, const rf_lead *l, rf_err *err)
{
	/* The agent who brought it when there is one (its team parent sees it too), else the partner. */
	rf_event ev;
	if (rf_svc_event(sv, type, l->program_id, l->id, l->agent_id ? l->agent_id : l->partner_id, rf_view_lead(l),
			 &ev, err) != RF_OK)
		return err->status;
	/* A lead a partner brought in goes to the connected CRMs from the same event, so it is never lost. */
	return rf_svc_crm_queue_lead(sv, &ev, l, err);
}

rf_status rf_svc_event_sale(rf_svc *sv, const rf_sale *x, rf_err *err)
{
	return rf_svc_event(sv, "sale.created", x->program_id, x->id, x->agent_id ? x->agent_id : x->partner_id,
			    rf_view_sale(x), NULL, err);
}

rf_status rf_svc_event_refund(rf_svc *sv, const rf_refund *r, const rf_sale *sale, rf_err *err)
{
	const char *type = r->kind && strcmp(r->kind, "dispute") == 0 ? "dispute.created" : "refund.created";
	const char *who = sale ? (sale->agent_id ? sale->agent_id : sale->partner_id) : NULL;
	return rf_svc_event(sv, type, r->program_id, r->id, who, rf_view_refund(r), NULL, err);
}

rf_status rf_svc_event_commission(rf_svc *sv, const char *type, const rf_commission *e, rf_err *err)
{
	return rf_svc_event(sv, type, e->program_id, e->id, e->partner_id, rf_view_commission(e), NULL, err);
}

rf_status rf_svc_event_payout_run(rf_svc *sv, const char *type, const rf_payout_run *r, rf_err *err)
{
	json_t *o = rf_view_payout_run(sv, r, err);
	if (!o)
		return err->status ? err->status : RF_EIO;
	return rf_svc_event(sv, type, r->program_id, r->id, NULL, o, NULL, err);
}

rf_status rf_svc_event_payout_item(rf_svc *sv, const char *type, const rf_payout_item *it, rf_err *err)
{
	rf_payout_run run;
	if (rf_store_payout_run_get(sv->store, it->run_id, &run, sv->a, err) != RF_OK)
		return err->status;
	return rf_svc_event(sv, type, run.program_id, it->id, it->partner_id, rf_view_payout_item(sv, it), NULL, err);
}

rf_status rf_svc_commission_set_status(rf_svc *sv, const rf_commission *e, const char *to, const char *reason,
				       int64_t at, rf_err *err)
{
	if (rf_store_commission_set_status(sv->store, e, to, reason, sv->actor, at, err) != RF_OK)
		return err->status;
	const char *type = strcmp(to, "approved") == 0   ? "commission.approved"
			   : strcmp(to, "held") == 0     ? "commission.held"
			   : strcmp(to, "rejected") == 0 ? "commission.rejected"
			   : strcmp(to, "paid") == 0     ? "commission.paid"
							 : NULL;
	if (!type)
		return RF_OK;
	rf_commission now = *e;
	now.status = (char *)to;
	now.status_reason = (char *)reason;
	now.updated_at = at;
	return rf_svc_event_commission(sv, type, &now, err);
}

#define DAY_MS 86400000LL

rf_status rf_svc_events_expire_deals(rf_svc *sv, int64_t now, int max, int *written, rf_err *err)
{
	*written = 0;
	rf_lead *items = NULL;
	size_t n = 0;
	if (rf_store_registrations_expired(sv->store, now - 7 * DAY_MS, now, max, &items, &n, sv->a, err) != RF_OK)
		return err->status;
	for (size_t i = 0; i < n; i++) {
		if (rf_svc_event_lead(sv, "deal.expired", &items[i], err) != RF_OK)
			return err->status;
		(*written)++;
	}
	return RF_OK;
}

rf_status rf_svc_events_purge(rf_svc *sv, int64_t now, int keep_days, int max, int64_t *removed, rf_err *err)
{
	int64_t before = now - (int64_t)keep_days * DAY_MS, inbound = 0;
	if (rf_store_event_purge(sv->store, before, max, removed, err) != RF_OK)
		return err->status;
	/* What other systems sent (and a CRM's reads of it) is kept as long, in the same batch. */
	if (*removed < max &&
	    rf_store_inbound_event_purge(sv->store, before, max - (int)*removed, &inbound, err) != RF_OK)
		return err->status;
	*removed += inbound;
	return RF_OK;
}
