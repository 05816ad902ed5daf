# SPDX-License-Identifier: Apache-2.0
"""The event log: every change that matters writes a typed event in the transaction of the change, with the object as
the API showed it then; GET /api/v1/events lists them (filters, pages, a partner sees its own), the jobs write
deal.expired when a registration's protection ends and remove events past their keeping time, and a change that
did not happen (refused, or replayed) writes none."""
import time

from harness import DB_KIND, Refd, db_rows, expect, race

DAY = 86400 * 1000


def make_server():
    # Jobs run only when the test clock moves (SIGUSR2 kicks them); events are kept a week.
    return Refd(extra_args=["--jobs-interval-ms", "86400000", "--event-retention-days", "7"]).start()


def setup(srv):
    admin = srv.admin_key()
    prog = expect(srv.post("/api/v1/programs", {"name": "Events", "currency": "usd", "holding_period_days": 0,
                                                "protection_days": 10}, key=admin), 201)["id"]
    expect(srv.post("/api/v1/plans", {"program_id": prog, "name": "Base", "default": True,
                                      "rules": {"sale_bps": 1000}}, key=admin), 201)
    return {"admin": admin, "prog": prog, "clock": 0}


def events(srv, key, query=""):
    """Every event the key sees (with the query's filters), oldest first."""
    out, after = [], None
    while True:
        page = expect(srv.get("/api/v1/events?limit=100%s%s" % (query, "&starting_after=" + after if after else ""),
                              key=key), 200)
        out += page["data"]
        if not page["has_more"]:
            return out[::-1]
        after = page["data"][-1]["id"]


def types_of(evs, object_id=None):
    return [e["type"] for e in evs if object_id is None or e["object_id"] == object_id]


def move_clock(srv, ctx, days):
    ctx["clock"] += int(days * DAY)
    srv.set_clock(ctx["clock"])


def test_a_partners_story_is_told_in_events(srv, ctx):
    admin, prog = ctx["admin"], ctx["prog"]
    before = len(events(srv, admin))
    # An application from the portal, approved by an admin.
    signup = expect(srv.post("/api/v1/portal/signup", {"program_id": prog, "name": "Story Partner",
                                                       "email": "story@events.example",
                                                       "password": "a long enough password"}), 201)
    ptn = signup["partner"]["id"]
    expect(srv.post("/api/v1/partners/%s/activate" % ptn, key=admin), 200)
    link = expect(srv.post("/api/v1/links", {"partner_id": ptn, "destination_url": "https://shop.example/"},
                           key=admin), 201)
    lead = expect(srv.post("/api/v1/leads", {"program_id": prog, "email": "buyer@events.example",
                                             "partner_id": ptn}, key=admin), 201)
    sale = expect(srv.post("/api/v1/sales", {"program_id": prog, "lead_id": lead["id"], "external_id": "inv-ev-1",
                                             "amount": {"amount": 10000, "currency": "usd"}}, key=admin), 201)
    com = sale["commissions"][0]
    refund = expect(srv.post("/api/v1/refunds", {"sale_id": sale["id"], "amount": {"amount": 2000, "currency": "usd"},
                                                 "external_id": "re-ev-1"}, key=admin), 201)
    expect(srv.post("/api/v1/commissions/%s/approve" % com["id"], key=admin), 200)
    run = expect(srv.post("/api/v1/payout-runs", {"program_id": prog}, key=admin), 201)
    expect(srv.post("/api/v1/payout-runs/%s/approve" % run["id"], key=admin), 200)
    expect(srv.post("/api/v1/payout-runs/%s/mark-paid" % run["id"], {"reference": "batch-1"}, key=admin), 200)

    evs = events(srv, admin)[before:]
    assert types_of(evs, ptn) == ["partner.applied", "partner.approved"], types_of(evs, ptn)
    assert types_of(evs, link["id"]) == ["link.created"]
    assert types_of(evs, lead["id"]) == ["lead.created", "lead.converted"], types_of(evs, lead["id"])
    assert types_of(evs, sale["id"]) == ["sale.created"]
    assert types_of(evs, refund["id"]) == ["refund.created"]
    assert types_of(evs, com["id"]) == ["commission.created", "commission.approved", "commission.paid"], \
        types_of(evs, com["id"])
    reversal = [e for e in evs if e["type"] == "commission.reversed"]
    assert len(reversal) == 1 and reversal[0]["data"]["reverses_id"] == com["id"], reversal
    assert types_of(evs, run["id"]) == ["payout_run.created", "payout_run.approved", "payout_run.paid"], \
        types_of(evs, run["id"])
    item = [e for e in evs if e["type"] == "payout_item.paid"]
    assert len(item) == 1 and item[0]["data"]["run_id"] == run["id"] and item[0]["partner_id"] == ptn, item
    # Each event carries the object as the API showed it then, and says whom it concerns.
    for e in evs:
        assert e["object"] == "event" and e["id"].startswith("evt_") and e["data"]["id"] == e["object_id"], e
        assert e["program_id"] == prog, e
    created = [e for e in evs if e["type"] == "sale.created"][0]
    # The sale as it was created (since refunded in part, which its own later state shows).
    now = expect(srv.get("/api/v1/sales/" + sale["id"], key=admin), 200)
    assert created["data"]["refunded"]["amount"] == 0 and now["refunded"]["amount"] == 2000, (created, now)
    assert {k: v for k, v in created["data"].items() if k != "refunded"} == \
        {k: v for k, v in now.items() if k not in ("refunded", "commissions", "refunds")}, (created["data"], now)
    assert created["partner_id"] == ptn
    assert [e for e in evs if e["type"] == "partner.approved"][0]["data"]["status"] == "active"
    # One event by id, and the filters.
    one = expect(srv.get("/api/v1/events/" + created["id"], key=admin), 200)
    assert one == created, one
    assert types_of(events(srv, admin, "&object_id=" + com["id"])) == types_of(evs, com["id"])
    assert {e["type"] for e in events(srv, admin, "&type=commission.created")} == {"commission.created"}
    assert events(srv, admin, "&program_id=prg_none") == []
    t = created["created_at"]
    assert all(e["created_at"] >= t for e in events(srv, admin, "&created_from=" + t))
    assert all(e["created_at"] < t for e in events(srv, admin, "&created_to=" + t))


def test_bad_filters_are_refused_by_name(srv, ctx):
    for query, field in (("type=lead.nothing", "type"), ("created_from=yesterday", "created_from"),
                         ("created_to=2026-13-01T00:00:00Z", "created_to"), ("limit=0", "limit"),
                         ("starting_after=evt_none", "starting_after"), ("color=red", "color")):
        expect(srv.get("/api/v1/events?" + query, key=ctx["admin"]), 400, field=field)
    expect(srv.get("/api/v1/events/evt_none", key=ctx["admin"]), 404)
    expect(srv.get("/api/v1/events"), 401)


def test_a_partner_sees_only_its_own_events(srv, ctx):
    admin, prog = ctx["admin"], ctx["prog"]
    mine = expect(srv.post("/api/v1/partners", {"program_id": prog, "name": "Mine", "email": "mine@ev.example"},
                           key=admin), 201)["id"]
    other = expect(srv.post("/api/v1/partners", {"program_id": prog, "name": "Other", "email": "other@ev.example"},
                            key=admin), 201)["id"]
    agent = expect(srv.post("/api/v1/partners", {"program_id": prog, "name": "My Agent", "email": "agent@ev.example",
                                                 "kind": "agent", "team_parent_id": mine}, key=admin), 201)["id"]
    expect(srv.post("/api/v1/leads", {"program_id": prog, "email": "a@lead.example", "partner_id": agent},
                    key=admin), 201)
    theirs = expect(srv.post("/api/v1/leads", {"program_id": prog, "email": "b@lead.example", "partner_id": other},
                             key=admin), 201)["id"]
    key = srv.admin_key(role="partner", partner=mine, name="mine")
    seen = events(srv, key)
    assert seen and {e["partner_id"] for e in seen} <= {mine, agent}, {e["partner_id"] for e in seen}
    assert "lead.created" in types_of(seen)
    other_event = events(srv, admin, "&object_id=" + theirs)[0]
    expect(srv.get("/api/v1/events/" + other_event["id"], key=key), 404)
    expect(srv.get("/api/v1/events/" + seen[0]["id"], key=key), 200)


def test_a_change_that_did_not_happen_writes_no_event(srv, ctx):
    admin, prog = ctx["admin"], ctx["prog"]
    n = db_rows(srv, "SELECT count(*) AS n FROM events")[0]["n"]
    # Refused: nothing written, no event.
    expect(srv.post("/api/v1/partners", {"program_id": prog, "name": "", "email": "x@ev.example"}, key=admin), 400)
    expect(srv.post("/api/v1/sales", {"program_id": prog, "email": "c@ev.example", "external_id": "inv-x",
                                      "amount": {"amount": -5, "currency": "usd"}}, key=admin), 400)
    assert db_rows(srv, "SELECT count(*) AS n FROM events")[0]["n"] == n
    # The same invoice sent twice at once: one sale, one sale.created (the loser, replayed or run again after its
    # transaction was rolled back, writes none).
    body = {"program_id": prog, "email": "twice@ev.example", "external_id": "inv-twice",
            "amount": {"amount": 5000, "currency": "usd"}}
    answers = race([(srv, "POST", "/api/v1/sales", {"body": body, "key": admin})] * 2)
    assert sorted(r.status for r in answers) == [200, 201], answers
    sale = [r for r in answers if r.status == 201][0].json["id"]
    assert types_of(events(srv, admin, "&object_id=" + sale)) == ["sale.created"]
    assert len(events(srv, admin, "&type=lead.created")) == len({e["object_id"] for e in events(
        srv, admin, "&type=lead.created")}), "a lead created twice"


def test_deal_registrations_expire_once(srv, ctx):
    admin, prog = ctx["admin"], ctx["prog"]
    ptn = expect(srv.post("/api/v1/partners", {"program_id": prog, "name": "Dealer", "email": "deal@ev.example"},
                          key=admin), 201)["id"]
    key = srv.admin_key(role="partner", partner=ptn, name="dealer")
    reg = expect(srv.post("/api/v1/leads", {"email": "cto@deal.example", "company": "Deal Co"}, key=key), 201)
    assert types_of(events(srv, admin, "&object_id=" + reg["id"])) == ["lead.created", "deal.registered"]
    expect(srv.post("/api/v1/leads/%s/approve" % reg["id"], key=admin), 200)
    assert types_of(events(srv, admin, "&object_id=" + reg["id"]))[-2:] == ["lead.status_changed", "deal.approved"]
    move_clock(srv, ctx, 11)  # protection_days is 10
    deadline = time.time() + 20
    while time.time() < deadline and "deal.expired" not in types_of(events(srv, admin, "&object_id=" + reg["id"])):
        time.sleep(0.1)
    expired = [e for e in events(srv, admin, "&object_id=" + reg["id"]) if e["type"] == "deal.expired"]
    assert len(expired) == 1 and expired[0]["data"]["registration"]["state"] == "expired", expired
    assert expired[0]["partner_id"] == ptn
    move_clock(srv, ctx, 0.01)
    time.sleep(1)
    assert len([e for e in events(srv, admin, "&object_id=" + reg["id"]) if e["type"] == "deal.expired"]) == 1


def test_events_are_removed_after_their_keeping_time(srv, ctx):
    admin = ctx["admin"]
    old = events(srv, admin)
    assert old
    # The server keeps events 7 days: 8 days on, the jobs remove every one made before then.
    move_clock(srv, ctx, 8)
    fresh = expect(srv.post("/api/v1/partners", {"program_id": ctx["prog"], "name": "Later",
                                                 "email": "later@ev.example"}, key=admin), 201)["id"]
    deadline = time.time() + 20
    while time.time() < deadline and db_rows(srv, "SELECT count(*) AS n FROM events WHERE id = ?",
                                              (old[0]["id"],))[0]["n"]:
        time.sleep(0.1)
    left = events(srv, admin)
    assert [e["object_id"] for e in left] == [fresh], left
    assert db_rows(srv, "SELECT count(*) AS n FROM events")[0]["n"] == 1
    print("     %d events removed on %s" % (len(old), DB_KIND), flush=True)


def test_the_event_types_come_from_the_server(srv, ctx):
    # The list clients (the admin UI's webhook form first) choose from: every type refd writes, in its order, the
    # same for every caller, and the same as the OpenAPI document's Event.type.
    got = expect(srv.get("/api/v1/event-types"), 200)
    assert got["object"] == "list" and got["has_more"] is False, got
    assert all(set(t) == {"object", "type"} and t["object"] == "event_type" for t in got["data"]), got
    types = [t["type"] for t in got["data"]]
    doc = expect(srv.get("/api/openapi.json"), 200)
    assert types == doc["components"]["schemas"]["Event"]["properties"]["type"]["enum"], types
    assert len(types) == len(set(types)) and {"lead.created", "webhook.test", "webhook_endpoint.disabled"} <= set(types)
    assert srv.get("/api/v1/event-types").header("Cache-Control") == "public, max-age=300"
    assert types == [t["type"] for t in expect(srv.get("/api/v1/event-types", key=ctx["admin"]), 200)["data"]]
