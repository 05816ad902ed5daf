# SPDX-License-Identifier: Apache-2.0
"""Salesforce both ways (README "Connecting a CRM"): Outbound Messaging posted as Salesforce sends it (the SOAP
bodies of tests/fixtures/salesforce, their exact bytes), answered with the exact acknowledgement; a message from
another organisation, a body that is no such message, a DOCTYPE (no entity is ever expanded) refused and logged;
each notification handled once by its Id, however often the message comes; a Lead becomes a lead credited by its
Referral_Code__c; an Opportunity moves its lead through the stage map and, won (IsWon), becomes one sale of its
Amount in its CurrencyIsoCode at its CloseDate; a message of two notifications; an older copy of an Opportunity
ignored. Out: a deal registration a partner makes and an admin approves becomes a Salesforce Lead (an OAuth token of
the connected app, then the REST API; shapes checked against the fixtures), whose conversion and won Opportunity
come back as the partner's sale, once. An expired session (401) gets a new token and the request once more; a
refused Lead (400) is reported."""
import json
import os
import time
from datetime import datetime, timezone
from urllib.parse import parse_qs

import harness
from crmfake import Fake, fixture
from harness import db_counts, db_rows, expect

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "tests", "fixtures", "salesforce")
CONNS = "/api/v1/integrations"
ORG15 = "00D5g000004XyZ1"
STAGES = {"Prospecting": "contacted", "Qualification": "qualified", "Closed Won": "converted",
          "Closed Lost": "lost"}


def make_server():
    return harness.Refd(extra_args=["--crm-interval-ms", "50"]).start()


def setup(srv):
    admin = srv.admin_key()
    offset = int((datetime(2025, 12, 31, 12, 0, tzinfo=timezone.utc).timestamp() - time.time()) * 1000)
    srv.set_clock(offset)
    ctx = {"admin": admin, "clock": offset}
    prog = expect(srv.post("/api/v1/programs", {"name": "Salesforce shop", "currency": "eur"}, key=admin), 201)["id"]
    ctx["prog"] = prog
    for key in ("acme", "beta", "gamma"):
        ctx[key] = expect(srv.post("/api/v1/partners", {"program_id": prog, "name": key.title(),
                                                         "email": key + "@partners.example"}, key=admin), 201)["id"]
    for code, who in (("ACME10", "acme"), ("BETA-PARTNER", "beta")):
        expect(srv.post("/api/v1/links", {"partner_id": ctx[who], "code": code,
                                          "destination_url": "https://shop.example.com/"}, key=admin), 201)
    expect(srv.post("/api/v1/plans", {"program_id": prog, "name": "Deals", "default": True,
                                      "rules": {"sale_bps": 2000}}, key=admin), 201)
    r = srv.post("/api/v1/fx-rates", {"base": "usd", "quote": "eur", "rate": "0.92",
                                      "valid_from": "2025-01-01T00:00:00Z"}, key=admin)
    assert r.status in (200, 201), r
    ctx["gamma_key"] = srv.admin_key(role="partner", partner=ctx["gamma"], name="gamma")
    ctx["fake"] = Fake()
    ctx["conn"] = expect(srv.post(CONNS, {
        "program_id": prog, "system": "salesforce",
        "credentials": {"organization_id": ORG15, "client_id": "3MVG9-fixture-client-id",
                        "client_secret": "refd-fixture-consumer-secret"},
        "stage_map": STAGES, "base_url": ctx["fake"].url}, key=admin), 201)
    return ctx


def raw(name):
    with open(os.path.join(FIXTURES, name), "rb") as f:
        return f.read()


def post(srv, ctx, data):
    hook = ctx["conn"]["webhook_url"]
    return srv.request("POST", hook[hook.index("/api/"):], raw=data,
                       headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'})


def acked(r):
    assert r.status == 200, r
    assert r.header("Content-Type").startswith("text/xml"), r
    body = r.body if isinstance(r.body, bytes) else r.body.encode()
    assert body == raw("04_outbound_ack_response.xml"), r.body
    return r


def log(srv, ctx, notification_id):
    rows = db_rows(srv, "SELECT outcome, reason, object_id FROM inbound_events WHERE event_id = ? AND outcome != "
                        "'duplicate'", (notification_id,))
    assert len(rows) == 1, rows
    return rows[0]


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


def test_messages_that_are_not_the_organisations_are_refused_and_logged(srv, ctx):
    lead = raw("01_outbound_lead_notification.xml")
    before = db_counts(srv, ("leads", "sales"))
    other = lead.replace(b"00D5g000004XyZ1EAK", b"00D5g000009OtHeRAA")
    r = post(srv, ctx, other)
    expect(r, 403, field="OrganizationId")
    bomb = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>'
            b"<soapenv:Envelope><soapenv:Body>&lol2;</soapenv:Body></soapenv:Envelope>")
    no_notifications = lead.replace(b"<Notification>", b"<Other>").replace(b"</Notification>", b"</Other>")
    for bad in (b"", b"{}", b"<a><b></a>", bomb, lead.replace(b"&", b"&amp").replace(b"Acme", b"Acme &bogus;"),
                lead[:-40], no_notifications, lead.replace(b"<OrganizationId>00D5g000004XyZ1EAK</OrganizationId>", b"")):
        r = post(srv, ctx, bad)
        assert r.status == 400, (bad[:60], r)
    assert db_counts(srv, ("leads", "sales")) == before
    refused = expect(srv.get(CONNS + "/%s/events?outcome=refused" % ctx["conn"]["id"], key=ctx["admin"]),
                     200)["data"]
    assert len(refused) == 9 and "00D5g000009OtHeRAA" in refused[-1]["reason"], refused


def test_a_lead_notification_is_acknowledged_and_becomes_a_credited_lead(srv, ctx):
    acked(post(srv, ctx, raw("01_outbound_lead_notification.xml")))
    e = log(srv, ctx, "04l5g00000AbCdEAAV")
    assert e["outcome"] == "processed" and e["object_id"].startswith("lead_"), e
    lead = expect(srv.get("/api/v1/leads/" + e["object_id"], key=ctx["admin"]), 200)
    assert lead["email"] == "pat@example.com" and lead["name"] == "Pat Lee" and lead["company"] == "Acme Corp", lead
    assert lead["attribution"]["partner_id"] == ctx["acme"] and lead["attribution"]["method"] == "code", lead


def test_a_won_opportunity_is_one_sale_whatever_is_resent(srv, ctx):
    for _ in range(3):
        acked(post(srv, ctx, raw("02_outbound_opportunity_closed_won.xml")))
    e = log(srv, ctx, "04l5g00000AbCdFAAV")
    assert e["outcome"] == "processed" and e["object_id"].startswith("sale_"), e
    sale = expect(srv.get("/api/v1/sales/" + e["object_id"], key=ctx["admin"]), 200)
    assert sale["amount"] == {"amount": 1200000, "currency": "eur"} and sale["partner_id"] == ctx["acme"], sale
    assert sale["occurred_at"].startswith("2026-01-05T00:00:00"), sale
    coms = expect(srv.get("/api/v1/commissions?sale_id=" + sale["id"], key=ctx["admin"]), 200)["data"]
    assert [c["amount"] for c in coms] == [{"amount": 240000, "currency": "eur"}], coms
    ex = expect(srv.get("/api/v1/commissions/" + coms[0]["id"], key=ctx["admin"]), 200)["explanation"]
    assert {k: ex["source"][k] for k in ("system", "event_id")} == {"system": "salesforce", "event_id": "04l5g00000AbCdFAAV"}, ex
    assert "Recorded from Salesforce event 04l5g00000AbCdFAAV." in ex["text"], ex
    dups = db_rows(srv, "SELECT count(*) AS n FROM inbound_events WHERE event_id = '04l5g00000AbCdFAAV' AND "
                        "outcome = 'duplicate'")[0]["n"]
    assert dups == 2, dups
    assert len(db_rows(srv, "SELECT id FROM sales WHERE source = 'salesforce'")) == 1


def test_a_message_of_two_notifications(srv, ctx):
    acked(post(srv, ctx, raw("03_outbound_opportunity_batch_two_notifications.xml")))
    won, lost = log(srv, ctx, "04l5g00000AbCdGAAV"), log(srv, ctx, "04l5g00000AbCdHAAV")
    assert won["outcome"] == "processed" and won["object_id"].startswith("sale_"), won
    sale = expect(srv.get("/api/v1/sales/" + won["object_id"], key=ctx["admin"]), 200)
    assert sale["amount"] == {"amount": 490000, "currency": "usd"} and sale["partner_id"] == ctx["beta"], sale
    assert lost["outcome"] == "ignored" and "no contact" in lost["reason"], lost


def test_a_won_opportunity_is_recurring_revenue_when_the_connection_says_so(srv, ctx):
    cid = ctx["conn"]["id"]
    expect(srv.patch(CONNS + "/" + cid, {"settings": {"sale_kind": "renewal"}}, key=ctx["admin"]), 400,
           field="settings.sale_kind")
    expect(srv.patch(CONNS + "/" + cid, {"settings": {"sale_kind": "recurring"}}, key=ctx["admin"]), 200)
    won = raw("02_outbound_opportunity_closed_won.xml").replace(b"04l5g00000AbCdFAAV", b"04l5g00000AbCdRAAV").replace(
        b"0065g00000OpRf1AAF", b"0065g00000OpRr1AAF").replace(b"pat@example.com", b"rec@example.com")
    acked(post(srv, ctx, won))
    e = log(srv, ctx, "04l5g00000AbCdRAAV")
    assert e["outcome"] == "processed" and e["object_id"].startswith("sale_"), e
    sale = expect(srv.get("/api/v1/sales/" + e["object_id"], key=ctx["admin"]), 200)
    assert sale["kind"] == "recurring", sale
    expect(srv.patch(CONNS + "/" + cid, {"settings": {"sale_kind": None}}, key=ctx["admin"]), 200)


def test_an_older_copy_of_an_opportunity_changes_nothing(srv, ctx):
    old = raw("02_outbound_opportunity_closed_won.xml").replace(b"04l5g00000AbCdFAAV", b"04l5g00000AbCdZAAV")
    old = old.replace(b"2026-01-05T00:00:00.000Z", b"2026-01-04T00:00:00.000Z").replace(
        b"<sf:StageName>Closed Won</sf:StageName>", b"<sf:StageName>Prospecting</sf:StageName>").replace(
        b"<sf:IsWon>true</sf:IsWon>", b"<sf:IsWon>false</sf:IsWon>").replace(
        b"<sf:IsClosed>true</sf:IsClosed>", b"<sf:IsClosed>false</sf:IsClosed>")
    acked(post(srv, ctx, old))
    e = log(srv, ctx, "04l5g00000AbCdZAAV")
    assert e["outcome"] == "ignored" and "older copy" in e["reason"], e


def register_and_approve(srv, ctx, email, name, company=None):
    body = {"program_id": ctx["prog"], "email": email, "name": name}
    if company:
        body["company"] = company
    lead = expect(srv.post("/api/v1/leads", body, key=ctx["gamma_key"]), 201)["id"]
    expect(srv.post("/api/v1/leads/%s/approve" % lead, key=ctx["admin"]), 200)
    return lead


def test_an_approved_registration_becomes_a_salesforce_lead_and_its_won_opportunity_pays_once(srv, ctx):
    fake = ctx["fake"]
    lead = register_and_approve(srv, ctx, "sam@example.org", "Sam Rivera", "Example Org")
    wait_for("the push", lambda: fake.seen("POST", r"/sobjects/Lead/$"))
    [token_req] = fake.seen("POST", r"/oauth2/token$")
    form = parse_qs(token_req["body"])
    assert form == {"grant_type": ["client_credentials"], "client_id": ["3MVG9-fixture-client-id"],
                    "client_secret": ["refd-fixture-consumer-secret"]}, form
    [create] = fake.seen("POST", r"/sobjects/Lead/$")
    assert create["path"] == "/services/data/v62.0/sobjects/Lead/", create
    token = fixture("salesforce", "20_oauth_token_response_client_credentials.json")["access_token"]
    assert create["headers"]["authorization"] == "Bearer " + token
    shape = fixture("salesforce", "10_rest_create_lead_request.json")
    assert create["body"] == {k: v for k, v in shape.items() if k != "Referral_Code__c"}, create["body"]
    wait_for("the delivery", lambda: deliveries(srv, ctx, "delivered"))
    sf_id = list(fake.records["sf_leads"])[0]
    rows = db_rows(srv, "SELECT value FROM external_objects WHERE system = 'salesforce' AND kind = 'contact' AND "
                        "external_id = ?", (sf_id,))
    assert rows and rows[0]["value"] == lead, rows
    # Salesforce converts the Lead into an Opportunity, which is won later.
    conv = raw("01_outbound_lead_notification.xml").replace(b"04l5g00000AbCdEAAV", b"04l5g00000AbCdJAAV").replace(
        b"00Q5g00000RfLd1EAF", sf_id.encode()).replace(b"pat@example.com", b"sam@example.org").replace(
        b"<sf:Referral_Code__c>ACME10</sf:Referral_Code__c>",
        b"<sf:ConvertedOpportunityId>0065g00000OpRf9AAF</sf:ConvertedOpportunityId>"
        b"<sf:IsConverted>true</sf:IsConverted>")
    acked(post(srv, ctx, conv))
    e = log(srv, ctx, "04l5g00000AbCdJAAV")
    assert e["outcome"] == "processed" and e["object_id"] == lead, e
    won = raw("02_outbound_opportunity_closed_won.xml").replace(b"04l5g00000AbCdFAAV", b"04l5g00000AbCdKAAV").replace(
        b"0065g00000OpRf1AAF", b"0065g00000OpRf9AAF").replace(b"<sf:Amount>12000.0</sf:Amount>",
                                                             b"<sf:Amount>4900.5</sf:Amount>").replace(
        b"<sf:CurrencyIsoCode>EUR</sf:CurrencyIsoCode>", b"<sf:CurrencyIsoCode>USD</sf:CurrencyIsoCode>").replace(
        b"<sf:Referral_Code__c>ACME10</sf:Referral_Code__c>", b'<sf:Referral_Code__c xsi:nil="true"/>')
    for _ in range(2):
        acked(post(srv, ctx, won))
    sales = db_rows(srv, "SELECT amount, currency, partner_id, lead_id FROM sales WHERE external_id = ?",
                    ("salesforce:deal:0065g00000OpRf9AAF",))
    assert [(s["amount"], s["currency"], s["partner_id"], s["lead_id"]) for s in sales] == [
        (490050, "USD", ctx["gamma"], lead)], sales


def move_clock(srv, ctx, seconds):
    ctx["clock"] += int(seconds * 1000)
    srv.set_clock(ctx["clock"])


def test_the_token_is_kept_until_it_expires_or_the_credentials_change(srv, ctx):
    fake = ctx["fake"]
    tokens = len(fake.seen("POST", r"/oauth2/token$"))
    leads = len(fake.seen("POST", r"/sobjects/Lead/$"))
    # Two pushes after the first one: the token the sender got then is used again, not asked for anew.
    register_and_approve(srv, ctx, "kept1@example.com", "Kit One")
    register_and_approve(srv, ctx, "kept2@example.com", "Kit Two")
    wait_for("the pushes", lambda: len(fake.seen("POST", r"/sobjects/Lead/$")) == leads + 2)
    wait_for("the deliveries", lambda: len(deliveries(srv, ctx, "delivered")) == 3)
    assert len(fake.seen("POST", r"/oauth2/token$")) == tokens, "the token was fetched again"
    # Another client secret: a token of the new credentials.
    expect(srv.patch(CONNS + "/" + ctx["conn"]["id"], {"credentials": {"client_secret": "rotated-secret"}},
                     key=ctx["admin"]), 200)
    register_and_approve(srv, ctx, "kept3@example.com", "Kit Three")
    wait_for("the push", lambda: len(fake.seen("POST", r"/sobjects/Lead/$")) == leads + 3)
    reqs = fake.seen("POST", r"/oauth2/token$")
    assert len(reqs) == tokens + 1 and parse_qs(reqs[-1]["body"])["client_secret"] == ["rotated-secret"], reqs
    # An hour on, the token is taken to have expired.
    move_clock(srv, ctx, 3601)
    register_and_approve(srv, ctx, "kept4@example.com", "Kit Four")
    wait_for("the push", lambda: len(fake.seen("POST", r"/sobjects/Lead/$")) == leads + 4)
    assert len(fake.seen("POST", r"/oauth2/token$")) == tokens + 2
    wait_for("the deliveries", lambda: len(deliveries(srv, ctx, "delivered")) == 5)


def test_an_expired_session_gets_a_new_token_and_a_refused_lead_is_reported(srv, ctx):
    fake = ctx["fake"]
    fake.script("POST", r"/sobjects/Lead/$", 401, fixture("salesforce", "13_rest_error_401_invalid_session.json"))
    tokens = len(fake.seen("POST", r"/oauth2/token$"))
    leads = len(fake.seen("POST", r"/sobjects/Lead/$"))
    register_and_approve(srv, ctx, "ana@example.com", "Ana Lima")
    wait_for("the delivery", lambda: len(deliveries(srv, ctx, "delivered")) == 6)
    # The token kept is refused: one new token, and the request once more.
    assert len(fake.seen("POST", r"/oauth2/token$")) == tokens + 1, "a new token after the 401"
    assert len(fake.seen("POST", r"/sobjects/Lead/$")) == leads + 2
    create = fake.seen("POST", r"/sobjects/Lead/$")[-1]
    assert create["body"]["Company"] == "[not provided]" and create["body"]["LastName"] == "Lima", create
    fake.script("POST", r"/sobjects/Lead/$", 400, fixture("salesforce", "12_rest_create_lead_error_400.json"))
    register_and_approve(srv, ctx, "bo@example.com", "Bo")
    [d] = wait_for("the failure", lambda: deliveries(srv, ctx, "failed"))
    assert d["last_status_code"] == 400 and "REQUIRED_FIELD_MISSING" in d["attempt_log"][0]["response"], d
    fake.close()
