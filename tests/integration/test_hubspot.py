# SPDX-License-Identifier: Apache-2.0
"""HubSpot both ways (README "Connecting a CRM"): webhooks v3 posted as HubSpot sends them (tests/fixtures/hubspot,
signed by sign.js with the app's client secret over method, URL, body and timestamp), refused when tampered,
signed with another secret or for another URL, stale or unsigned, and logged as refused; each event logged once
(the compound key of the fixtures' README), replays and redeliveries in a batch logged as duplicates; the records
read back from HubSpot's API (a local stand-in, crmfake.py) after the answer: a contact becomes a lead credited by
its referral code, a deal moves its lead through the stage map and, won, becomes one sale with its commission,
whatever is replayed or arrives out of order. Out: a deal registration a partner makes in the portal and an admin
approves becomes a HubSpot contact and deal (the requests' shapes checked), their ids kept so HubSpot's webhook
about the deal finds the lead; 409 (the contact exists), 401, 503 and a refused body are retried or reported."""
import json
import os
import subprocess
import time
from datetime import datetime, timezone

import harness
from crmfake import Fake, fixture
from harness import db_counts, db_rows, expect

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "tests", "fixtures", "hubspot")
SIGN = os.path.join(FIXTURES, "sign.js")
CONNS = "/api/v1/integrations"
SECRET = "hubspot-fixture-client-secret"
TOKEN = "pat-na1-fixture-private-app-token"
STAGES = {"appointmentscheduled": "contacted", "qualifiedtobuy": "qualified", "closedwon": "converted",
          "closedlost": "lost"}
TABLES = ("leads", "sales", "commissions", "inbound_events")


def make_server():
    return harness.Refd(extra_args=["--crm-interval-ms", "50"]).start()


def setup(srv):
    admin = srv.admin_key()
    # The fixtures happened in January 2026: refd's clock starts the day before, so the plan is in force then.
    offset = int((datetime(2025, 12, 31, 12, 0, tzinfo=timezone.utc).timestamp() - time.time()) * 1000)
    srv.set_clock(offset)
    ctx = {"admin": admin, "clock": offset, "tmp": srv.dir}
    prog = expect(srv.post("/api/v1/programs", {"name": "HubSpot shop", "currency": "usd"}, key=admin), 201)["id"]
    ctx["prog"] = prog
    for key in ("acme", "beta"):
        ctx[key] = expect(srv.post("/api/v1/partners", {"program_id": prog, "name": key.title(),
                                                         "email": key + "@partners.example"}, key=admin), 201)["id"]
    expect(srv.post("/api/v1/links", {"partner_id": ctx["acme"], "code": "ACME10",
                                      "destination_url": "https://shop.example.com/"}, key=admin), 201)
    expect(srv.post("/api/v1/plans", {"program_id": prog, "name": "Deals", "default": True,
                                      "rules": {"sale_bps": 2000}}, key=admin), 201)
    ctx["beta_key"] = srv.admin_key(role="partner", partner=ctx["beta"], name="beta")
    fake = Fake()
    ctx["fake"] = fake
    fake.put("contacts", fixture("hubspot", "11_crm_get_contact_response.json"))
    conn = expect(srv.post(CONNS, {"program_id": prog, "system": "hubspot", "name": "HubSpot",
                                   "credentials": {"client_secret": SECRET, "access_token": TOKEN},
                                   "stage_map": STAGES, "base_url": fake.url}, key=admin), 201)
    ctx["conn"] = conn
    return ctx


# ---- helpers ----

def now_ms(ctx):
    return int(time.time() * 1000) + ctx["clock"]


def move_clock(srv, ctx, seconds):
    ctx["clock"] += int(seconds * 1000)
    srv.set_clock(ctx["clock"])


def sign(ctx, path, url, ts=None, secret=SECRET):
    env = dict(os.environ, HUBSPOT_CLIENT_SECRET=secret)
    p = subprocess.run(["node", SIGN, path, "--url", url, "--timestamp", str(ts or now_ms(ctx))],
                       capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == 0, "sign.js failed: %s" % p.stderr
    return dict(line.split(": ", 1) for line in p.stdout.splitlines())


def own_file(ctx, name, data):
    path = os.path.join(ctx["tmp"], name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def post(srv, ctx, path, data=None, headers=None, url=None):
    """Posts a body as HubSpot does: its exact bytes, signed for the URL refd gave (unless headers are given)."""
    if data is None:
        with open(path, "rb") as f:
            data = f.read()
    hook = ctx["conn"]["webhook_url"]
    if headers is None:
        headers = sign(ctx, path, url or hook)
    return srv.request("POST", hook[hook.index("/api/"):], raw=data, headers=headers)


def deliver(srv, ctx, name):
    r = post(srv, ctx, os.path.join(FIXTURES, name))
    return expect(r, 200)


def wait_for(what, fn, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


def inbound(srv, ctx, ibe_id):
    for e in expect(srv.get(CONNS + "/%s/events?limit=100" % ctx["conn"]["id"], key=ctx["admin"]), 200)["data"]:
        if e["id"] == ibe_id:
            return e
    raise AssertionError("no inbound event " + ibe_id)


def settled(srv, ctx, ibe_id):
    """Waits until the work after the answer is done (the event's delivery is no longer pending); the event."""
    def done():
        rows = db_rows(srv, "SELECT status FROM deliveries WHERE event_id = ?", (ibe_id,))
        return rows and all(r["status"] != "pending" for r in rows)
    wait_for("the follow-up of " + ibe_id, done)
    return inbound(srv, ctx, ibe_id)


def deliveries(srv, ctx, status=None):
    q = "?limit=100" + ("&status=" + status if status else "")
    return expect(srv.get(CONNS + "/%s/deliveries%s" % (ctx["conn"]["id"], q), key=ctx["admin"]), 200)["data"]


def lead_by_email(srv, email):
    rows = db_rows(srv, "SELECT id FROM leads WHERE email = ?", (email,))
    return rows[0]["id"] if rows else None


# ---- the signature ----

def test_bad_signatures_are_refused_logged_and_change_nothing(srv, ctx):
    path = os.path.join(FIXTURES, "01_webhook_contact_creation.json")
    with open(path, "rb") as f:
        data = f.read()
    hook = ctx["conn"]["webhook_url"]
    good = sign(ctx, path, hook)
    tampered = data.replace(b"118011112201", b"118011112209", 1)
    assert tampered != data
    cases = [
        ("tampered body", tampered, good),
        ("another secret", data, sign(ctx, path, hook, secret="someone-else")),
        ("another URL", data, sign(ctx, path, hook.replace("/hubspot/", "/hubspot-other/"))),
        ("stale", data, sign(ctx, path, hook, ts=now_ms(ctx) - 301000)),
        ("no signature", data, {"Content-Type": "application/json",
                                "X-HubSpot-Request-Timestamp": good["X-HubSpot-Request-Timestamp"]}),
        ("no timestamp", data, {"Content-Type": "application/json",
                                "X-HubSpot-Signature-v3": good["X-HubSpot-Signature-v3"]}),
        ("seconds, not milliseconds", data, sign(ctx, path, hook, ts=now_ms(ctx) // 1000)),
        ("the v1 signature only", data, {k: v for k, v in good.items() if k != "X-HubSpot-Signature-v3"}),
    ]
    before = db_counts(srv, ("leads", "sales", "deliveries"))
    problems = []
    for what, body, headers in cases:
        r = post(srv, ctx, path, data=body, headers=headers)
        if r.status != 401:
            problems.append((what, r))
    assert not problems, problems
    assert db_counts(srv, ("leads", "sales", "deliveries")) == before
    refused = expect(srv.get(CONNS + "/%s/events?outcome=refused" % ctx["conn"]["id"], key=ctx["admin"]),
                     200)["data"]
    assert len(refused) == len(cases), refused
    reasons = " ".join(e["reason"] for e in refused)
    assert "5 minutes" in reasons and "signature does not match" in reasons, reasons
    # A request for a connection that is not HubSpot's, or none.
    r = srv.request("POST", "/api/v1/integrations/hubspot/webhook?connection=conn_none", raw=data, headers=good)
    expect(r, 404)
    r = srv.request("POST", "/api/v1/integrations/hubspot/webhook", raw=data, headers=good)
    expect(r, 400, field="connection")


def test_a_body_that_is_no_batch_is_refused(srv, ctx):
    for name, data in (("empty.json", b"[]"), ("object.json", b'{"objectId": 1}'), ("noid.json", b'[{"eventId": 5}]'),
                       ("many.json", json.dumps([{"objectId": i, "eventId": i} for i in range(101)]).encode())):
        r = post(srv, ctx, own_file(ctx, name, data))
        expect(r, 400)


# ---- the story: contact, deal, won ----

def test_a_contact_created_becomes_a_lead_credited_by_its_code(srv, ctx):
    body = deliver(srv, ctx, "01_webhook_contact_creation.json")
    [ev] = body["events"]
    assert ev["event_id"] == "4120000001" and ev["outcome"] == "processed", body
    e = settled(srv, ctx, ev["id"])
    assert e["outcome"] == "processed" and e["object_id"].startswith("lead_"), e
    lead = expect(srv.get("/api/v1/leads/" + e["object_id"], key=ctx["admin"]), 200)
    assert lead["email"] == "pat@example.com" and lead["name"] == "Pat Lee", lead
    assert lead["attribution"]["method"] == "code" and lead["attribution"]["partner_id"] == ctx["acme"], lead
    # refd read the contact with the private app's token.
    [get] = ctx["fake"].seen("GET", r"/contacts/118011112201$")
    assert get["headers"]["authorization"] == "Bearer " + TOKEN, get
    assert "email" in get["query"]["properties"][0] and "referral_code" in get["query"]["properties"][0], get
    ctx["pat"] = lead["id"]
    # What came from HubSpot is not pushed back to it: no push was queued with the lead.
    pushes = db_rows(srv, "SELECT id FROM deliveries WHERE kind = 'crm' AND event_id LIKE 'evt_%'")
    assert pushes == [] and not ctx["fake"].seen("POST"), pushes


def test_a_deal_moves_its_lead_through_the_stage_map(srv, ctx):
    deal = fixture("hubspot", "10_crm_get_deal_response.json")
    deal["properties"].update({"dealstage": "qualifiedtobuy", "amount": "12000.00"})
    deal["properties"].pop("referral_code")
    ctx["fake"].put("deals", deal)
    body = deliver(srv, ctx, "02_webhook_deal_creation.json")
    e = settled(srv, ctx, body["events"][0]["id"])
    assert e["outcome"] == "processed" and e["object_id"] == ctx["pat"], e
    lead = expect(srv.get("/api/v1/leads/" + ctx["pat"], key=ctx["admin"]), 200)
    assert lead["status"] == "qualified", lead
    assert ctx["fake"].seen("GET", r"/deals/39571234567$")[0]["query"]["associations"] == ["contacts"]


def test_closedwon_is_one_sale_with_its_commission_naming_hubspot(srv, ctx):
    ctx["fake"].put("deals", fixture("hubspot", "10_crm_get_deal_response.json"))
    body = deliver(srv, ctx, "03_webhook_deal_propertychange_closedwon.json")
    e = settled(srv, ctx, body["events"][0]["id"])
    assert e["outcome"] == "processed" and e["object_id"].startswith("sale_"), e
    sale = expect(srv.get("/api/v1/sales/" + e["object_id"], key=ctx["admin"]), 200)
    assert sale["amount"] == {"amount": 1200000, "currency": "usd"}, sale
    assert sale["lead_id"] == ctx["pat"] and sale["partner_id"] == ctx["acme"], sale
    assert sale["occurred_at"].startswith("2026-01-05T00:00:00"), sale
    coms = expect(srv.get("/api/v1/commissions?sale_id=" + sale["id"], key=ctx["admin"]), 200)["data"]
    assert [c["amount"] for c in coms] == [{"amount": 240000, "currency": "usd"}], coms
    full = expect(srv.get("/api/v1/commissions/" + coms[0]["id"], key=ctx["admin"]), 200)
    ex = full["explanation"]
    assert {k: ex["source"][k] for k in ("system", "event_id")} == {"system": "hubspot", "event_id": "4120000003"}, ex
    assert "Recorded from HubSpot event 4120000003." in ex["text"], ex["text"]
    lead = expect(srv.get("/api/v1/leads/" + ctx["pat"], key=ctx["admin"]), 200)
    assert lead["status"] == "converted", lead
    ctx["sale"] = sale["id"]


def test_replays_and_redeliveries_in_a_batch_change_nothing_twice(srv, ctx):
    ctx["fake"].put("contacts", {"id": "118011112202", "properties": {"email": "sam@example.org", "firstname": "Sam",
                                                                      "lastname": "Rivera"}})
    before = db_counts(srv, ("sales", "commissions"))
    # The same request again (signed anew, as HubSpot's retry is).
    again = deliver(srv, ctx, "03_webhook_deal_propertychange_closedwon.json")
    assert [e["outcome"] for e in again["events"]] == ["duplicate"], again
    # A batch: the same event redelivered (attemptNumber 1) and an imported contact.
    batch = deliver(srv, ctx, "04_webhook_batch_with_retry.json")
    assert [e["outcome"] for e in batch["events"]] == ["duplicate", "processed"], batch
    assert batch["events"][0]["object_id"] == ctx["sale"], batch
    e = settled(srv, ctx, batch["events"][1]["id"])
    assert e["object_id"] == lead_by_email(srv, "sam@example.org"), e
    sam = expect(srv.get("/api/v1/leads/" + e["object_id"], key=ctx["admin"]), 200)
    assert sam["attribution"]["partner_id"] is None, "no code, no credit: %r" % sam
    assert db_counts(srv, ("sales", "commissions")) == before
    dups = expect(srv.get(CONNS + "/%s/events?outcome=duplicate" % ctx["conn"]["id"], key=ctx["admin"]), 200)
    assert len(dups["data"]) == 2 and all("attempt" in d["reason"] for d in dups["data"]), dups


def test_events_out_of_order_make_one_sale(srv, ctx):
    # Another deal, won before HubSpot's news of its creation and of an earlier stage arrive.
    ctx["fake"].put("contacts", {"id": "118011112210", "properties": {"email": "kim@example.net",
                                                                      "referral_code": "ACME10"}})
    ctx["fake"].put("deals", {"id": "39571234999", "properties": {
        "dealstage": "closedwon", "amount": "4900", "deal_currency_code": "EUR", "closedate": "2026-01-06T10:00:00Z",
        "hs_lastmodifieddate": "2026-01-06T10:00:01Z"},
        "associations": {"contacts": {"results": [{"id": "118011112210", "type": "deal_to_contact"}]}}})
    base = {"objectId": 39571234999, "portalId": 24681357, "appId": 3141592, "changeSource": "CRM_UI",
            "attemptNumber": 0}
    won = dict(base, eventId=4120000103, subscriptionId=2601003, occurredAt=1767693600000,
               subscriptionType="deal.propertyChange", propertyName="dealstage", propertyValue="closedwon")
    earlier = dict(base, eventId=4120000102, subscriptionId=2601003, occurredAt=1767690000000,
                   subscriptionType="deal.propertyChange", propertyName="dealstage", propertyValue="qualifiedtobuy")
    created = dict(base, eventId=4120000101, subscriptionId=2601002, occurredAt=1767686400000,
                   subscriptionType="deal.creation")
    outcomes = []
    for i, evs in enumerate(([won], [earlier, created])):
        body = expect(post(srv, ctx, own_file(ctx, "ooo%d.json" % i, json.dumps(evs, indent=2).encode())), 200)
        for ev in body["events"]:
            outcomes.append(settled(srv, ctx, ev["id"]))
    assert outcomes[0]["outcome"] == "processed" and outcomes[0]["object_id"].startswith("sale_"), outcomes
    assert [o["outcome"] for o in outcomes[1:]] == ["duplicate", "duplicate"], outcomes
    rows = db_rows(srv, "SELECT amount, currency, source, source_event_id FROM sales WHERE external_id = ?",
                   ("hubspot:deal:39571234999",))
    assert [(r["amount"], r["currency"], r["source"], r["source_event_id"]) for r in rows] == [
        (490000, "EUR", "hubspot", "4120000103")], rows


def won_deal(srv, ctx, deal_id, event_id, contact_id, amount):
    """HubSpot says deal_id (of contact_id) is won: the sale it became."""
    ctx["fake"].put("deals", {"id": deal_id, "properties": {
        "dealstage": "closedwon", "amount": amount, "closedate": "2026-01-07T10:00:00Z"},
        "associations": {"contacts": {"results": [{"id": contact_id, "type": "deal_to_contact"}]}}})
    ev = {"objectId": int(deal_id), "eventId": event_id, "subscriptionId": 2601003, "portalId": 24681357,
          "occurredAt": 1767780000000, "subscriptionType": "deal.propertyChange", "propertyName": "dealstage",
          "propertyValue": "closedwon"}
    body = expect(post(srv, ctx, own_file(ctx, "won%d.json" % event_id, json.dumps([ev]).encode())), 200)
    e = settled(srv, ctx, body["events"][0]["id"])
    assert e["outcome"] == "processed" and e["object_id"].startswith("sale_"), e
    return expect(srv.get("/api/v1/sales/" + e["object_id"], key=ctx["admin"]), 200)


def test_the_connection_decides_the_kind_of_a_won_deals_sale(srv, ctx):
    cid, admin = ctx["conn"]["id"], ctx["admin"]
    for bad in ("monthly", 1, "", ["first"]):
        expect(srv.patch(CONNS + "/" + cid, {"settings": {"sale_kind": bad}}, key=admin), 400,
               field="settings.sale_kind")
    assert expect(srv.get(CONNS + "/" + cid, key=admin), 200)["settings"] == {}
    ctx["fake"].put("contacts", {"id": "118011112230", "properties": {"email": "rec@example.net",
                                                                      "referral_code": "ACME10"}})
    # Derived (the default): the customer's first sale is "first", the next "recurring".
    assert won_deal(srv, ctx, "39571236001", 4120000501, "118011112230", "100")["kind"] == "first"
    assert won_deal(srv, ctx, "39571236002", 4120000502, "118011112230", "100")["kind"] == "recurring"
    # "recurring": every won deal is recurring revenue, the customer's first too.
    c = expect(srv.patch(CONNS + "/" + cid, {"settings": {"sale_kind": "recurring"}}, key=admin), 200)
    assert c["settings"] == {"sale_kind": "recurring"}, c
    ctx["fake"].put("contacts", {"id": "118011112231", "properties": {"email": "rec2@example.net",
                                                                      "referral_code": "ACME10"}})
    assert won_deal(srv, ctx, "39571236003", 4120000503, "118011112231", "100")["kind"] == "recurring"
    # "first": every won deal is a first sale, however many the customer had.
    expect(srv.patch(CONNS + "/" + cid, {"settings": {"sale_kind": "first"}}, key=admin), 200)
    assert won_deal(srv, ctx, "39571236004", 4120000504, "118011112230", "100")["kind"] == "first"
    # "derived" again, and null is the default.
    expect(srv.patch(CONNS + "/" + cid, {"settings": {"sale_kind": "derived"}}, key=admin), 200)
    assert won_deal(srv, ctx, "39571236005", 4120000505, "118011112231", "100")["kind"] == "recurring"
    c = expect(srv.patch(CONNS + "/" + cid, {"settings": {"sale_kind": None}}, key=admin), 200)
    assert c["settings"] == {}, c


def test_a_won_deal_without_an_amount_is_logged_as_ignored(srv, ctx):
    ctx["fake"].put("deals", {"id": "39571235000", "properties": {"dealstage": "closedwon", "referral_code": "ACME10"}})
    ev = {"objectId": 39571235000, "eventId": 4120000200, "subscriptionId": 2601003, "portalId": 24681357,
          "occurredAt": 1767693600000, "subscriptionType": "deal.propertyChange", "propertyName": "dealstage",
          "propertyValue": "closedwon"}
    before = db_counts(srv, ("sales",))
    body = expect(post(srv, ctx, own_file(ctx, "noamount.json", json.dumps([ev]).encode())), 200)
    e = settled(srv, ctx, body["events"][0]["id"])
    assert e["outcome"] == "ignored" and "no amount" in e["reason"], e
    assert db_counts(srv, ("sales",)) == before


def test_event_types_refd_does_not_use_are_ignored_without_a_call(srv, ctx):
    ev = {"objectId": 118011112201, "eventId": 4120000300, "subscriptionId": 2601009, "portalId": 24681357,
          "occurredAt": 1767693600000, "subscriptionType": "contact.propertyChange", "propertyName": "phone",
          "propertyValue": "+1 555 0100"}
    body = expect(post(srv, ctx, own_file(ctx, "ignored.json", json.dumps([ev]).encode())), 200)
    assert body["events"][0]["outcome"] == "ignored", body
    # Nothing is queued for it (the read would be queued with the log entry, in the same transaction).
    assert db_rows(srv, "SELECT id FROM deliveries WHERE event_id = ?", (body["events"][0]["id"],)) == []


# ---- out: a registered deal goes to HubSpot, and comes back won ----

def register_and_approve(srv, ctx, email, name, company):
    body = {"program_id": ctx["prog"], "email": email, "name": name}
    if company:
        body["company"] = company
    lead = expect(srv.post("/api/v1/leads", body, key=ctx["beta_key"]), 201)
    assert lead["status"] == "pending_review", lead
    expect(srv.post("/api/v1/leads/%s/approve" % lead["id"], key=ctx["admin"]), 200)
    return lead["id"]


def test_an_approved_registration_becomes_a_hubspot_contact_and_deal(srv, ctx):
    fake = ctx["fake"]
    posts = len(fake.seen("POST"))
    lead = register_and_approve(srv, ctx, "sam.rivera@example.org", "Sam Rivera", "Example Org")
    wait_for("the push", lambda: len(fake.seen("POST")) >= posts + 2)
    contact_req, deal_req = fake.seen("POST")[posts:posts + 2]
    shape = fixture("hubspot", "12_crm_create_contact_request.json")
    assert contact_req["path"] == "/crm/v3/objects/contacts", contact_req
    assert contact_req["headers"]["authorization"] == "Bearer " + TOKEN
    assert contact_req["headers"]["content-type"] == "application/json"
    body = contact_req["body"]
    assert set(body) == set(shape) and body["associations"] == [], body
    assert body["properties"] == {"email": "sam.rivera@example.org", "firstname": "Sam", "lastname": "Rivera",
                                  "company": "Example Org", "lifecyclestage": "lead"}, body
    assert deal_req["path"] == "/crm/v3/objects/deals", deal_req
    contact_id = str(fake.next_id["contacts"])
    props = deal_req["body"]["properties"]
    assert props["pipeline"] == "default" and props["dealstage"] == "appointmentscheduled", props
    assert "Example Org" in props["dealname"], props
    assert deal_req["body"]["associations"] == [{"to": {"id": contact_id}, "types": [
        {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 3}]}], deal_req["body"]
    deal_id = str(fake.next_id["deals"])
    wait_for("the delivery", lambda: [d for d in deliveries(srv, ctx, "delivered") if d["attempts"] == 1])
    ids = {(r["kind"], r["external_id"]): r["value"] for r in db_rows(
        srv, "SELECT kind, external_id, value FROM external_objects WHERE system = 'hubspot'")}
    assert ids[("contact", contact_id)] == lead and ids[("deal", deal_id)] == lead, ids
    ctx["reg"], ctx["reg_deal"] = lead, deal_id


def test_hubspot_says_the_registered_deal_is_won_and_the_partner_is_paid_once(srv, ctx):
    deal_id = ctx["reg_deal"]
    rec = ctx["fake"].records["deals"][deal_id]
    rec["properties"].update({"dealstage": "closedwon", "amount": "4900.50", "deal_currency_code": "USD",
                              "closedate": "2026-01-06T09:31:00Z"})
    ev = {"objectId": int(deal_id), "eventId": 4120000400, "subscriptionId": 2601003, "portalId": 24681357,
          "appId": 3141592, "occurredAt": 1767691860000, "subscriptionType": "deal.propertyChange",
          "propertyName": "dealstage", "propertyValue": "closedwon", "attemptNumber": 0}
    path = own_file(ctx, "regwon.json", (json.dumps([ev], indent=2) + "\n").encode())
    results = []
    for _ in range(3):
        body = expect(post(srv, ctx, path), 200)
        results.append(body["events"][0]["outcome"])
    assert results == ["processed", "duplicate", "duplicate"], results
    first = expect(srv.get(CONNS + "/%s/events?limit=100" % ctx["conn"]["id"], key=ctx["admin"]), 200)["data"]
    ibe = [e for e in first if e["event_id"] == "4120000400" and e["outcome"] != "duplicate"][0]
    e = settled(srv, ctx, ibe["id"])
    sales = db_rows(srv, "SELECT id, amount, partner_id, lead_id FROM sales WHERE external_id = ?",
                    ("hubspot:deal:" + deal_id,))
    assert len(sales) == 1 and sales[0]["amount"] == 490050 and sales[0]["partner_id"] == ctx["beta"], sales
    assert sales[0]["lead_id"] == ctx["reg"] and e["object_id"] == sales[0]["id"], (sales, e)
    coms = db_rows(srv, "SELECT amount FROM commissions WHERE sale_id = ?", (sales[0]["id"],))
    assert [c["amount"] for c in coms] == [98010], coms


# ---- out: failures are retried or reported ----

def test_a_contact_that_exists_is_adopted_from_hubspots_409(srv, ctx):
    fake = ctx["fake"]
    conflict = fixture("hubspot", "14_crm_create_contact_conflict_409.json")
    conflict["message"] = "Contact already exists. Existing ID: 118011112777"
    fake.script("POST", r"/contacts$", 409, conflict)
    posts = len(fake.seen("POST"))
    lead = register_and_approve(srv, ctx, "lee@example.com", "Lee Park", "Park Co")
    wait_for("the push", lambda: len(fake.seen("POST")) >= posts + 2)
    deal_req = fake.seen("POST")[posts + 1]
    assert deal_req["body"]["associations"][0]["to"] == {"id": "118011112777"}, deal_req
    wait_for("the link", lambda: db_rows(srv, "SELECT value FROM external_objects WHERE system = 'hubspot' AND "
                                              "kind = 'contact' AND external_id = '118011112777'"))
    assert db_rows(srv, "SELECT value FROM external_objects WHERE kind = 'contact' AND external_id = "
                        "'118011112777'")[0]["value"] == lead


def test_401_and_503_are_retried_with_a_pause_and_then_delivered(srv, ctx):
    fake = ctx["fake"]
    fake.script("POST", r"/contacts$", 401, {"status": "error", "message": "Authentication credentials not found.",
                                             "category": "INVALID_AUTHENTICATION"})
    fake.script("POST", r"/contacts$", 503, {"status": "error", "message": "try later"})
    register_and_approve(srv, ctx, "ana@example.com", "Ana Lima", "Lima SA")

    def pending_with(code):
        return [d for d in deliveries(srv, ctx, "pending") if d["last_status_code"] == code]
    [d] = wait_for("the 401", lambda: pending_with(401))
    assert d["attempts"] == 1 and "credentials" in d["last_error"], d
    assert d["attempt_log"][0]["status_code"] == 401 and "INVALID_AUTHENTICATION" in d["attempt_log"][0]["response"]
    move_clock(srv, ctx, 31)
    [d] = wait_for("the 503", lambda: pending_with(503))
    assert d["attempts"] == 2, d
    move_clock(srv, ctx, 121)
    wait_for("the delivery", lambda: [x for x in deliveries(srv, ctx, "delivered") if x["id"] == d["id"]])
    assert lead_by_email(srv, "ana@example.com") in [r["value"] for r in db_rows(
        srv, "SELECT value FROM external_objects WHERE kind = 'contact'")]


def test_a_refused_request_is_reported_as_failed(srv, ctx):
    fake = ctx["fake"]
    fake.script("POST", r"/contacts$", 400, {"status": "error", "message": "Property values were not valid",
                                             "category": "VALIDATION_ERROR"})
    register_and_approve(srv, ctx, "bo@example.com", "Bo", None)
    [d] = wait_for("the failure", lambda: deliveries(srv, ctx, "failed"))
    assert d["last_status_code"] == 400 and d["attempts"] == 1 and "400" in d["last_error"], d
    assert "VALIDATION_ERROR" in d["attempt_log"][0]["response"], d


def test_an_admin_retries_a_failed_delivery(srv, ctx):
    cid, admin, fake = ctx["conn"]["id"], ctx["admin"], ctx["fake"]
    [failed] = deliveries(srv, ctx, "failed")
    done = deliveries(srv, ctx, "delivered")[0]
    retry = CONNS + "/%s/deliveries/%s/retry"
    # Only a failed delivery of this connection, by an admin.
    expect(srv.post(retry % (cid, failed["id"]), key=ctx["beta_key"]), 403)
    expect(srv.post(retry % (cid, done["id"]), key=admin), 409, field="delivery_id")
    expect(srv.post(retry % (cid, "dlv_none"), key=admin), 404, field="delivery_id")
    other_prog = expect(srv.post("/api/v1/programs", {"name": "Other shop", "currency": "usd"}, key=admin), 201)["id"]
    other = expect(srv.post(CONNS, {"program_id": other_prog, "system": "pipedrive"}, key=admin), 201)["id"]
    expect(srv.post(retry % (other, failed["id"]), key=admin), 404, field="delivery_id")
    expect(srv.post(retry % ("conn_none", failed["id"]), key=admin), 404)
    expect(srv.delete(CONNS + "/" + other, key=admin), 200)
    posts = len(fake.seen("POST"))
    # Queued again, due now: the CRM takes it this time, and the log keeps every attempt.
    d = expect(srv.post(retry % (cid, failed["id"]), key=admin), 202)
    assert d["id"] == failed["id"] and d["status"] == "pending" and d["attempts"] == 1, d
    assert d["next_at"] is not None and d["last_error"] == failed["last_error"], d
    d = wait_for("the retried delivery", lambda: [x for x in deliveries(srv, ctx, "delivered")
                                                   if x["id"] == failed["id"]])[0]
    assert d["attempts"] == 2 and [a["status_code"] for a in d["attempt_log"]] == [400, 201], d
    assert [r["path"] for r in fake.seen("POST")[posts:]] == ["/crm/v3/objects/contacts", "/crm/v3/objects/deals"]
    # Delivered now: not to be retried again.
    expect(srv.post(retry % (cid, failed["id"]), key=admin), 409, field="delivery_id")
    audit = db_rows(srv, "SELECT action FROM audit_log WHERE object_id = ?", (failed["id"],))
    assert [a["action"] for a in audit] == ["integration.delivery_retry"], audit


def test_retention_removes_old_inbound_events_and_finished_deliveries_never_pending_ones(srv, ctx):
    fake = ctx["fake"]
    # A read that HubSpot keeps answering 503: its delivery waits for its next attempt.
    for _ in range(6):
        fake.script("GET", r"/contacts/118011119999$", 503, {"status": "error", "message": "try later"})
    ev = {"objectId": 118011119999, "eventId": 4120000900, "subscriptionId": 2601001, "portalId": 24681357,
          "occurredAt": now_ms(ctx), "subscriptionType": "contact.creation", "attemptNumber": 0}
    body = expect(post(srv, ctx, own_file(ctx, "waiting.json", json.dumps([ev]).encode())), 200)
    waiting = body["events"][0]["id"]
    wait_for("the 503", lambda: db_rows(srv, "SELECT id FROM deliveries WHERE event_id = ? AND status = 'pending' "
                                             "AND attempts > 0", (waiting,)))
    [pending] = db_rows(srv, "SELECT id FROM deliveries WHERE event_id = ?", (waiting,))
    old = db_rows(srv, "SELECT count(*) AS n FROM inbound_events")[0]["n"]
    finished = db_rows(srv, "SELECT count(*) AS n FROM deliveries WHERE kind = 'crm' AND status != 'pending'")[0]["n"]
    assert old > 10 and finished > 5, (old, finished)
    # 31 days on, past the 30 days refd keeps events: the jobs remove the old inbound events and the CRM deliveries
    # that are done (reads and pushes), with their attempts; the read still waiting stays, with its event.
    move_clock(srv, ctx, 31 * 86400)

    def purged():
        return db_rows(srv, "SELECT count(*) AS n FROM inbound_events")[0]["n"] == 1
    wait_for("the retention job", purged)
    assert [r["id"] for r in db_rows(srv, "SELECT id FROM inbound_events")] == [waiting]
    assert [r["id"] for r in db_rows(srv, "SELECT id FROM deliveries WHERE kind = 'crm'")] == [pending["id"]]
    kept = db_rows(srv, "SELECT DISTINCT delivery_id FROM delivery_attempts WHERE delivery_id IN "
                        "(SELECT id FROM deliveries WHERE kind = 'crm') OR delivery_id NOT IN (SELECT id FROM deliveries)")
    assert [r["delivery_id"] for r in kept] == [pending["id"]], kept
    assert [d["id"] for d in deliveries(srv, ctx)] == [pending["id"]]


def test_only_admins_read_deliveries(srv, ctx):
    cid = ctx["conn"]["id"]
    expect(srv.get(CONNS + "/%s/deliveries" % cid, key=ctx["beta_key"]), 403)
    expect(srv.get(CONNS + "/%s/deliveries?status=lost" % cid, key=ctx["admin"]), 400, field="status")
    expect(srv.get(CONNS + "/conn_none/deliveries", key=ctx["admin"]), 404)
    ctx["fake"].close()
