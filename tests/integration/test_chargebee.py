# SPDX-License-Identifier: Apache-2.0
"""The Chargebee webhook (README "Connecting Paddle and Chargebee"): the four events of tests/fixtures/chargebee/
posted as their exact bytes with HTTP Basic authentication, as Chargebee sends them. Refused: no, wrong or
malformed authentication, a body that is no event, amounts past refd's bound; a refund before its payment is
refused until the payment is in (out of order). The story: subscription_created makes the lead (cf_referral_code
ACME10), invoice_generated is no sale, payment_succeeded is the first sale explained with Chargebee's event id, a
replay or an older copy (resource_version) changes nothing, payment_refunded reverses the commission once. The
coupon story: a partner's link carries a coupon, and a payment whose invoice used it credits that partner over the
cf_referral_code the customer carries."""
import base64
import copy
import json

from billing_story import CONNS, commissions, counts, explanation, fixture, goto, log, money, program
import harness
from harness import expect

USER, PASSWORD = "refd-webhook", "fixture-password-not-real"
FIXTURE_AUTH = "Basic cmVmZC13ZWJob29rOmZpeHR1cmUtcGFzc3dvcmQtbm90LXJlYWw="
WEBHOOK = "/api/v1/integrations/chargebee/webhook"
FILES = ["01_subscription_created.json", "02_invoice_generated.json", "03_payment_succeeded.json",
         "04_payment_refunded.json"]


def make_server():
    # The clock follows the fixtures' dates over weeks; retention (30 days by default) would remove the early
    # entries of the inbound log that the tests read.
    return harness.Refd(extra_args=["--event-retention-days", "3650"]).start()


def setup(srv):
    ctx = program(srv, "Chargebee shop", coupon="CB-BETA")
    c = expect(srv.post(CONNS, {"program_id": ctx["prog"], "system": "chargebee",
                                "credentials": {"username": USER, "password": PASSWORD}}, key=ctx["admin"]), 201)
    ctx["conn"] = c["id"]
    ctx["url"] = WEBHOOK + "?connection=" + c["id"]
    return ctx


def basic(user, password):
    return "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()


def send(srv, ctx, data, auth=FIXTURE_AUTH):
    headers = {"Content-Type": "application/json"}
    if auth is not None:
        headers["Authorization"] = auth
    return srv.request("POST", ctx["url"], raw=data, headers=headers)


def deliver(srv, ctx, name, status=200):
    _, data, ev = fixture("chargebee", name)
    goto(srv, ctx, ev["occurred_at"] + 1)
    body = expect(send(srv, ctx, data), status)
    if status == 200:
        assert body["event_id"] == ev["id"] and body["type"] == ev["event_type"], body
    return body, ev


def own(ev):
    return (json.dumps(ev, indent=2) + "\n").encode()


def get(srv, ctx, path):
    return expect(srv.get(path, key=ctx["admin"]), 200)


def test_01_the_fixture_header_is_basic_auth_of_the_test_credentials(srv, ctx):
    assert basic(USER, PASSWORD) == FIXTURE_AUTH


def test_02_wrong_or_missing_authentication_is_refused_and_logged(srv, ctx):
    _, data, ev = fixture("chargebee", FILES[2])
    before = counts(srv)
    cases = [("none", None), ("wrong password", basic(USER, "nope")), ("wrong user", basic("refd", PASSWORD)),
             ("bearer", "Bearer " + PASSWORD), ("not base64", "Basic !!!"), ("empty", ""),
             ("password only", "Basic " + base64.b64encode(PASSWORD.encode()).decode()),
             ("trailing byte", FIXTURE_AUTH + "x")]
    problems = []
    for what, auth in cases:
        r = send(srv, ctx, data, auth)
        if r.status != 401 or r.json["error"]["field"] != "Authorization":
            problems.append((what, r))
    assert not problems, problems
    assert counts(srv) == before
    refused = log(srv, ctx, ctx["conn"], "refused")
    assert len(refused) == len(cases) and all(e["status_code"] == 401 for e in refused), refused
    # The scheme's letter case does not matter (RFC 7617).
    r = send(srv, ctx, b"{}", "basic " + FIXTURE_AUTH[6:])
    expect(r, 400, field="body")


def test_03_a_refund_before_its_payment_is_refused_until_the_payment_is_in(srv, ctx):
    before = counts(srv)
    _, data, ev = fixture("chargebee", FILES[3])
    r = send(srv, ctx, data)
    expect(r, 409)
    assert "txn_Azz4pLUR5ZqWn3Tx" in r.json["error"]["message"], r
    assert counts(srv) == before


def test_04_subscription_created_makes_the_lead_from_the_custom_field(srv, ctx):
    body, ev = deliver(srv, ctx, FILES[0])
    assert body["outcome"] == "processed" and body["object_id"].startswith("lead_"), body
    lead = get(srv, ctx, "/api/v1/leads/" + body["object_id"])
    assert lead["email"] == "pat@example.com" and lead["external_id"] == "Azz4pLUR5ZqWk1Pt", lead
    assert lead["attribution"]["method"] == "code" and lead["attribution"]["partner_id"] == ctx["acme"], lead
    ctx["lead"] = lead


def test_05_an_invoice_is_not_a_sale(srv, ctx):
    before = counts(srv)
    body, ev = deliver(srv, ctx, FILES[1])
    assert body["outcome"] == "ignored" and "payment_succeeded" in body["note"], body
    assert counts(srv) == before


def test_06_payment_succeeded_is_the_first_sale_explained_with_chargebees_event(srv, ctx):
    body, ev = deliver(srv, ctx, FILES[2])
    assert body["outcome"] == "processed" and body["object_id"].startswith("sale_"), body
    s = get(srv, ctx, "/api/v1/sales/" + body["object_id"])
    assert s["external_id"] == "txn_Azz4pLUR5ZqWn3Tx" and s["amount"] == money(4900) and s["kind"] == "first", s
    assert s["source"] == "chargebee" and s["source_event_id"] == ev["id"], s
    assert s["partner_id"] == ctx["acme"] and s["lead_id"] == ctx["lead"]["id"], s
    es = commissions(srv, ctx, s["id"])
    assert [(e["partner_id"], e["earned"]) for e in es] == [(ctx["acme"], money(980))], es
    x = explanation(srv, ctx, es[0]["id"])
    assert x["source"]["system"] == "chargebee" and x["source"]["event_id"] == ev["id"], x
    assert "Chargebee event " + ev["id"] in x["text"], x["text"]
    ctx["sale"], ctx["com"] = s, es[0]


def test_07_replays_and_older_copies_change_nothing(srv, ctx):
    before = counts(srv)
    _, data, ev = fixture("chargebee", FILES[2])
    body = expect(send(srv, ctx, data), 200)
    assert body["outcome"] == "duplicate" and body["object_id"] == ctx["sale"]["id"], body
    # Resent from Chargebee's logs under another event id: the same payment is the same sale.
    again = copy.deepcopy(ev)
    again["id"] = "ev_resent_payment"
    body = expect(send(srv, ctx, own(again)), 200)
    assert body["outcome"] == "duplicate" and body["object_id"] == ctx["sale"]["id"], body
    # An older copy of the transaction (a smaller resource_version) is not acted on.
    older = copy.deepcopy(ev)
    older["id"] = "ev_older_copy"
    older["content"]["transaction"]["resource_version"] -= 1000
    body = expect(send(srv, ctx, own(older)), 200)
    assert body["outcome"] == "ignored" and "resource_version" in body["note"], body
    assert counts(srv) == before


def test_08_payment_refunded_reverses_the_commission_once(srv, ctx):
    body, ev = deliver(srv, ctx, FILES[3])
    assert body["outcome"] == "processed" and body["object_id"].startswith("rfd_"), body
    s = get(srv, ctx, "/api/v1/sales/" + ctx["sale"]["id"])
    assert s["refunded"] == money(4900), s
    r = [e for e in commissions(srv, ctx, s["id"]) if e["rule"] == "reversal"]
    assert len(r) == 1 and r[0]["reverses_id"] == ctx["com"]["id"] and r[0]["earned"] == money(-980), r
    x = explanation(srv, ctx, r[0]["id"])
    assert x["source"] == {"system": "chargebee", "event_id": ev["id"]}, x
    before = counts(srv)
    _, data, _ = fixture("chargebee", FILES[3])
    assert expect(send(srv, ctx, data), 200)["outcome"] == "duplicate"
    assert counts(srv) == before


def test_09_amounts_past_the_bound_and_bad_bodies_are_refused(srv, ctx):
    before = counts(srv)
    _, _, ev = fixture("chargebee", FILES[2])
    for i, (amount, field) in enumerate(((2 ** 62, "content.transaction.amount"),
                                         (-1, "content.transaction.amount"),
                                         ("4900", "content.transaction.amount"),
                                         (49.0, "content.transaction.amount"))):
        bad = copy.deepcopy(ev)
        bad["id"] = "ev_bound_%d" % i
        bad["content"]["transaction"]["id"] = "txn_bound_%d" % i
        bad["content"]["transaction"]["amount"] = amount
        expect(send(srv, ctx, own(bad)), 400, field=field)
    bad = copy.deepcopy(ev)
    bad["id"] = "ev_bound_cur"
    bad["content"]["transaction"]["currency_code"] = "DOLLARS"
    expect(send(srv, ctx, own(bad)), 400, field="content.transaction.currency_code")
    for body in (b"[]", b"{}", b"{", b'{"id": "ev_x", "event_type": "payment_succeeded"}'):
        expect(send(srv, ctx, body), 400, field="body")
    assert counts(srv) == before


def test_10_a_partners_coupon_credits_the_payment_over_the_custom_field(srv, ctx):
    _, _, ev = fixture("chargebee", FILES[2])
    ev = copy.deepcopy(ev)
    ev["id"] = "ev_coupon_payment"
    ev["occurred_at"] += 86400 * 30
    c = ev["content"]
    c["transaction"].update({"id": "txn_coupon01", "customer_id": "cus_sam", "subscription_id": "sub_sam",
                             "amount": 3920, "resource_version": 1770000000000})
    c["invoice"].update({"id": "2001", "customer_id": "cus_sam", "subscription_id": "sub_sam", "total": 3920,
                         "amount_paid": 3920,
                         "discounts": [{"amount": 980, "description": "Partner discount", "entity_type":
                                        "document_level_coupon", "entity_id": "cb-beta", "object": "discount"}]})
    c["customer"].update({"id": "cus_sam", "email": "sam@example.com", "first_name": "Sam"})
    c["subscription"].update({"id": "sub_sam", "customer_id": "cus_sam"})
    goto(srv, ctx, ev["occurred_at"] + 1)
    body = expect(send(srv, ctx, own(ev)), 200)
    s = get(srv, ctx, "/api/v1/sales/" + body["object_id"])
    assert s["partner_id"] == ctx["beta"] and s["attribution"] == {"method": "coupon", "coupon": "cb-beta"}, s
    es = commissions(srv, ctx, s["id"])
    assert [(e["partner_id"], e["earned"]) for e in es] == [(ctx["beta"], money(784))], es
    x = explanation(srv, ctx, es[0]["id"])
    assert "Chargebee event ev_coupon_payment" in x["text"] and "coupon cb-beta" in x["text"], x["text"]


def test_11_the_log_shows_every_outcome(srv, ctx):
    outcomes = {e["outcome"] for e in log(srv, ctx, ctx["conn"])}
    assert outcomes == {"processed", "ignored", "duplicate", "refused"}, outcomes
