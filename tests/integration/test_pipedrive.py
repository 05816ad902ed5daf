# SPDX-License-Identifier: Apache-2.0
"""Pipedrive both ways (README "Connecting a CRM"): webhooks v2 posted as Pipedrive sends them (tests/fixtures/
pipedrive, with the HTTP Basic credentials set on the webhook), refused without them or with others and logged as
refused; each event handled once by meta.id (its redelivery with meta.attempt 2, and a replay, logged as
duplicates); a person becomes a lead credited by the referral code in the connection's custom field, a deal moves
its lead through the stage map and, won, becomes one sale of its value with its commission, whatever is replayed
or arrives out of order. Out: a deal registration a partner makes and an admin approves becomes a Pipedrive person
and deal (API v2, the requests' shapes checked against the fixtures), whose later webhook says it is won: the
partner is paid once. A 503 is tried again later."""
import base64
import json
import os
import time
from datetime import datetime, timezone

import harness
from crmfake import Fake, fixture
from harness import db_counts, db_rows, expect

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "tests", "fixtures", "pipedrive")
CONNS = "/api/v1/integrations"
USER, PASSWORD = "refd-hook", "pipedrive-fixture-password"
TOKEN = "pipedrive-fixture-api-token"
CODE_FIELD = "a4f1c2e3b5d6978812ab34cd56ef7890a1b2c3d4"


def make_server():
    return harness.Refd(extra_args=["--crm-interval-ms", "50"]).start()


def setup(srv):
    admin = srv.admin_key()
    offset = int((datetime(2025, 12, 31, 12, 0, tzinfo=timezone.utc).timestamp() - time.time()) * 1000)
    srv.set_clock(offset)
    ctx = {"admin": admin, "clock": offset, "tmp": srv.dir}
    prog = expect(srv.post("/api/v1/programs", {"name": "Pipedrive shop", "currency": "eur"}, key=admin), 201)["id"]
    ctx["prog"] = prog
    for key in ("acme", "beta"):
        ctx[key] = expect(srv.post("/api/v1/partners", {"program_id": prog, "name": key.title(),
                                                         "email": key + "@partners.example"}, key=admin), 201)["id"]
    expect(srv.post("/api/v1/links", {"partner_id": ctx["acme"], "code": "ACME10",
                                      "destination_url": "https://shop.example.com/"}, key=admin), 201)
    expect(srv.post("/api/v1/plans", {"program_id": prog, "name": "Deals", "default": True,
                                      "rules": {"sale_bps": 2000}}, key=admin), 201)
    r = srv.post("/api/v1/fx-rates", {"base": "usd", "quote": "eur", "rate": "0.92",
                                      "valid_from": "2025-01-01T00:00:00Z"}, key=admin)
    assert r.status in (200, 201), r
    ctx["beta_key"] = srv.admin_key(role="partner", partner=ctx["beta"], name="beta")
    ctx["fake"] = Fake()
    ctx["conn"] = expect(srv.post(CONNS, {
        "program_id": prog, "system": "pipedrive",
        "credentials": {"username": USER, "password": PASSWORD, "api_token": TOKEN, "code_field": CODE_FIELD},
        "stage_map": {"1": "contacted", "2": "qualified"}, "base_url": ctx["fake"].url}, key=admin), 201)
    return ctx


def basic(user=USER, password=PASSWORD):
    return "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()


def post(srv, ctx, data, auth=None):
    hook = ctx["conn"]["webhook_url"]
    headers = {"Content-Type": "application/json"}
    if auth is not False:
        headers["Authorization"] = auth or basic()
    return srv.request("POST", hook[hook.index("/api/"):], raw=data, headers=headers)


def file_bytes(name):
    with open(os.path.join(FIXTURES, name), "rb") as f:
        return f.read()


def deliver(srv, ctx, name):
    body = expect(post(srv, ctx, file_bytes(name)), 200)
    [ev] = body["events"]
    return ev


def own(ev):
    return (json.dumps(ev, indent=2) + "\n").encode()


def wait_for(what, fn, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


def deliveries(srv, ctx, status=None):
    q = "?limit=100" + ("&status=" + status if status else "")
    return expect(srv.get(CONNS + "/%s/deliveries%s" % (ctx["conn"]["id"], q), key=ctx["admin"]), 200)["data"]


def test_requests_without_the_webhooks_credentials_are_refused_and_logged(srv, ctx):
    data = file_bytes("01_webhook_person_create.json")
    before = db_counts(srv, ("leads", "sales"))
    cases = [("none", False), ("wrong password", basic(password="guess")), ("wrong user", basic(user="admin")),
             ("not basic", "Bearer " + PASSWORD), ("not base64", "Basic !!!"),
             ("no colon", "Basic " + base64.b64encode(b"refd-hook").decode())]
    problems = [(what, r) for what, auth in cases for r in [post(srv, ctx, data, auth)] if r.status != 401]
    assert not problems, problems
    assert db_counts(srv, ("leads", "sales")) == before
    refused = expect(srv.get(CONNS + "/%s/events?outcome=refused" % ctx["conn"]["id"], key=ctx["admin"]),
                     200)["data"]
    assert len(refused) == len(cases) and all(e["status_code"] == 401 for e in refused), refused
    for bad in (b"not json", b"[]", b'{"meta": {"action": "create", "entity": "person"}, "data": {}}',
                b'{"meta": {"id": "x", "action": "create", "entity": "deal"}, "data": 5}'):
        expect(post(srv, ctx, bad), 400)


def test_a_person_becomes_a_lead_credited_by_the_code_field(srv, ctx):
    ev = deliver(srv, ctx, "01_webhook_person_create.json")
    assert ev["event_id"] == "5b9e2c3a-1f4d-4e6a-8b7c-000000000101" and ev["outcome"] == "processed", ev
    lead = expect(srv.get("/api/v1/leads/" + ev["object_id"], key=ctx["admin"]), 200)
    assert lead["email"] == "pat@example.com" and lead["name"] == "Pat Lee", lead
    assert lead["attribution"]["method"] == "code" and lead["attribution"]["partner_id"] == ctx["acme"], lead
    ctx["pat"] = lead["id"]


def test_a_deal_moves_its_lead_through_the_stage_map(srv, ctx):
    ev = deliver(srv, ctx, "02_webhook_deal_create.json")
    assert ev["outcome"] == "processed" and ev["object_id"] == ctx["pat"], ev
    assert expect(srv.get("/api/v1/leads/" + ctx["pat"], key=ctx["admin"]), 200)["status"] == "qualified"


def test_won_is_one_sale_whatever_is_redelivered(srv, ctx):
    ev = deliver(srv, ctx, "03_webhook_deal_change_won.json")
    assert ev["outcome"] == "processed" and ev["object_id"].startswith("sale_"), ev
    sale = expect(srv.get("/api/v1/sales/" + ev["object_id"], key=ctx["admin"]), 200)
    assert sale["amount"] == {"amount": 1200000, "currency": "eur"} and sale["partner_id"] == ctx["acme"], sale
    assert sale["occurred_at"].startswith("2026-01-05T00:00:00"), sale
    coms = expect(srv.get("/api/v1/commissions?sale_id=" + sale["id"], key=ctx["admin"]), 200)["data"]
    assert [c["amount"] for c in coms] == [{"amount": 240000, "currency": "eur"}], coms
    ex = expect(srv.get("/api/v1/commissions/" + coms[0]["id"], key=ctx["admin"]), 200)["explanation"]
    assert {k: ex["source"][k] for k in ("system", "event_id")} == {"system": "pipedrive", "event_id": "5b9e2c3a-1f4d-4e6a-8b7c-000000000103"}, ex
    assert "Recorded from Pipedrive event 5b9e2c3a-1f4d-4e6a-8b7c-000000000103." in ex["text"], ex
    before = db_counts(srv, ("sales", "commissions", "leads"))
    again = deliver(srv, ctx, "04_webhook_deal_change_won_attempt2.json")
    assert again["outcome"] == "duplicate" and again["object_id"] == sale["id"], again
    assert deliver(srv, ctx, "03_webhook_deal_change_won.json")["outcome"] == "duplicate"
    assert deliver(srv, ctx, "01_webhook_person_create.json")["outcome"] == "duplicate"
    assert db_counts(srv, ("sales", "commissions", "leads")) == before


def test_out_of_order_a_won_deal_before_its_person_and_its_creation(srv, ctx):
    won = json.loads(file_bytes("03_webhook_deal_change_won.json"))
    won["meta"].update(id="ooo-won", entity_id="8201")
    won["data"].update(id=8201, person_id=1301, value=4900.5, currency="USD",
                       update_time="2026-01-06T10:00:00Z", won_time="2026-01-06T10:00:00Z")
    created = json.loads(file_bytes("02_webhook_deal_create.json"))
    created["meta"].update(id="ooo-created", entity_id="8201")
    created["data"].update(id=8201, person_id=1301, value=4900.5, currency="USD",
                           update_time="2026-01-06T09:00:00Z", stage_id=1)
    person = json.loads(file_bytes("01_webhook_person_create.json"))
    person["meta"].update(id="ooo-person", entity_id="1301")
    person["data"].update(id=1301, emails=[{"label": "work", "primary": True, "value": "kim@example.net"}])
    first = expect(post(srv, ctx, own(won)), 200)["events"][0]
    assert first["outcome"] == "processed" and first["object_id"].startswith("sale_"), first
    later = [expect(post(srv, ctx, own(x)), 200)["events"][0] for x in (created, person)]
    assert [e["outcome"] for e in later] == ["ignored", "ignored"], later
    assert "older copy" in db_rows(srv, "SELECT reason FROM inbound_events WHERE event_id = 'ooo-created'")[0]["reason"]
    rows = db_rows(srv, "SELECT amount, currency, partner_id FROM sales WHERE external_id = 'pipedrive:deal:8201'")
    assert [(r["amount"], r["currency"], r["partner_id"]) for r in rows] == [(490050, "USD", ctx["acme"])], rows
    lead = db_rows(srv, "SELECT status FROM leads WHERE external_id = 'pipedrive:deal:8201'")
    assert lead and lead[0]["status"] == "converted", lead


def test_a_won_deal_with_a_value_refd_cannot_take_is_ignored(srv, ctx):
    won = json.loads(file_bytes("03_webhook_deal_change_won.json"))
    won["meta"].update(id="bad-value", entity_id="8301")
    won["data"].update(id=8301, person_id=1201, value=1e30)
    before = db_counts(srv, ("sales", "leads"))
    ev = expect(post(srv, ctx, own(won)), 200)["events"][0]
    assert ev["outcome"] == "ignored", ev
    assert db_counts(srv, ("sales", "leads")) == before


def test_an_approved_registration_becomes_a_person_and_a_deal_and_is_paid_once(srv, ctx):
    fake = ctx["fake"]
    lead = expect(srv.post("/api/v1/leads", {"program_id": ctx["prog"], "email": "sam@example.org",
                                             "name": "Sam Rivera", "company": "Example Org", "phone": "+1 555 0100"},
                           key=ctx["beta_key"]), 201)["id"]
    expect(srv.post("/api/v1/leads/%s/approve" % lead, key=ctx["admin"]), 200)
    wait_for("the push", lambda: len(fake.seen("POST")) >= 2)
    person_req, deal_req = fake.seen("POST")[:2]
    assert person_req["path"] == "/api/v2/persons" and person_req["headers"]["x-api-token"] == TOKEN, person_req
    assert set(person_req["body"]) <= set(fixture("pipedrive", "10_api_v2_create_person_request.json")), person_req
    assert person_req["body"]["name"] == "Sam Rivera", person_req
    assert person_req["body"]["emails"] == [{"value": "sam@example.org", "primary": True, "label": "work"}]
    assert person_req["body"]["phones"] == [{"value": "+1 555 0100", "primary": True, "label": "work"}]
    person_id = fake.next_id["persons"]
    assert deal_req["path"] == "/api/v2/deals", deal_req
    assert set(deal_req["body"]) <= set(fixture("pipedrive", "12_api_v2_create_deal_request.json")), deal_req
    assert deal_req["body"]["person_id"] == person_id and deal_req["body"]["status"] == "open", deal_req
    assert "Example Org" in deal_req["body"]["title"], deal_req
    deal_id = fake.next_id["pd_deals"]
    wait_for("the delivery", lambda: deliveries(srv, ctx, "delivered"))
    # Pipedrive says the deal is won, three times.
    won = json.loads(file_bytes("03_webhook_deal_change_won.json"))
    won["meta"].update(id="reg-won", entity_id=str(deal_id))
    won["data"].update(id=deal_id, person_id=person_id, value=4900, currency="USD")
    won["data"]["custom_fields"] = {}
    outcomes = [expect(post(srv, ctx, own(won)), 200)["events"][0]["outcome"] for _ in range(3)]
    assert outcomes == ["processed", "duplicate", "duplicate"], outcomes
    sales = db_rows(srv, "SELECT id, amount, currency, partner_id, lead_id FROM sales WHERE external_id = ?",
                    ("pipedrive:deal:%d" % deal_id,))
    assert [(s["amount"], s["currency"], s["partner_id"], s["lead_id"]) for s in sales] == [
        (490000, "USD", ctx["beta"], lead)], sales
    assert len(db_rows(srv, "SELECT id FROM commissions WHERE sale_id = ?", (sales[0]["id"],))) == 1


def test_a_503_is_tried_again_later(srv, ctx):
    fake = ctx["fake"]
    fake.script("POST", r"/persons$", 503, {"success": False, "error": "Service unavailable"})
    lead = expect(srv.post("/api/v1/leads", {"program_id": ctx["prog"], "email": "ana@example.com", "name": "Ana"},
                           key=ctx["beta_key"]), 201)["id"]
    expect(srv.post("/api/v1/leads/%s/approve" % lead, key=ctx["admin"]), 200)
    [d] = wait_for("the 503", lambda: [d for d in deliveries(srv, ctx, "pending") if d["last_status_code"] == 503])
    assert d["attempts"] == 1 and d["next_at"], d
    ctx["clock"] += 31000
    srv.set_clock(ctx["clock"])
    wait_for("the delivery", lambda: [x for x in deliveries(srv, ctx, "delivered") if x["id"] == d["id"]])
    fake.close()
