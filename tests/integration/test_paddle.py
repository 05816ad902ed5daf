# SPDX-License-Identifier: Apache-2.0
"""The Paddle Billing webhook (README "Connecting Paddle and Chargebee"): the four events of tests/fixtures/paddle/
signed with sign.js (checked against Paddle's SDK) and posted as their exact bytes to a connection's webhook URL,
on a clock that follows the events' dates. Refused: a missing, malformed, tampered, foreign-secret, stale (over
5 s) or future signature, an unknown connection, a disabled one, amounts past refd's bound; an approved refund that
arrives before its sale is refused until the sale is in (out of order). Then the story: the subscription makes the
lead (code ACME10), the transaction the first sale and its commission, explained with Paddle's event id; a replay
changes nothing; the refund waiting for approval gives nothing back, the approved one reverses the commission; a
renewal is a recurring sale. The coupon story: a partner's link carries a coupon, Paddle's discount.created
teaches refd the discount's code, and a transaction with that discount credits the coupon's partner over the code in
its custom_data."""
import copy
import json
import os
import subprocess
import tempfile
from datetime import datetime, timezone

import harness
from billing_story import (CONNS, FIXTURES, ROOT, commissions, counts, explanation, fixture, goto, log, money,
                           now_s, program)
from harness import expect

SIGN = os.path.join(FIXTURES, "paddle", "sign.js")
SECRET = "pdl_ntfset_01kdrefd_integration_test_secret"
WEBHOOK = "/api/v1/integrations/paddle/webhook"
FILES = ["01_transaction_completed.json", "02_subscription_created.json", "03_adjustment_created_refund.json",
         "04_adjustment_updated_refund_approved.json"]


def make_server():
    # The clock follows the fixtures' dates over weeks; retention (30 days by default) would remove the early
    # entries of the inbound log that the last test reads.
    return harness.Refd(extra_args=["--jobs-interval-ms", "100", "--event-retention-days", "3650"]).start()


def setup(srv):
    ctx = program(srv, "Paddle shop")
    ctx["tmp"] = tempfile.mkdtemp(prefix="refd-paddle-", dir=srv.dir)
    c = expect(srv.post(CONNS, {"program_id": ctx["prog"], "system": "paddle",
                                "credentials": {"webhook_secret": SECRET}}, key=ctx["admin"]), 201)
    ctx["conn"] = c["id"]
    ctx["url"] = WEBHOOK + "?connection=" + c["id"]
    assert c["webhook_url"].endswith(ctx["url"]), c
    ctx["cb"] = expect(srv.post(CONNS, {"program_id": ctx["prog"], "system": "chargebee"}, key=ctx["admin"]),
                       201)["id"]
    return ctx


def sign(path, ts, secret=SECRET):
    env = dict(os.environ, PADDLE_WEBHOOK_SECRET=secret)
    p = subprocess.run(["node", SIGN, path, str(int(ts))], capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == 0, "sign.js failed: %s" % p.stderr
    headers = dict(line.split(": ", 1) for line in p.stdout.strip().splitlines())
    assert headers["Paddle-Signature"].startswith("ts=%d;h1=" % int(ts)), headers
    return headers["Paddle-Signature"]


def send(srv, ctx, data, signature, url=None):
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["Paddle-Signature"] = signature
    return srv.request("POST", url or ctx["url"], raw=data, headers=headers)


def at(ev):
    return datetime.fromisoformat(ev["occurred_at"].replace("Z", "+00:00")).timestamp()


def deliver(srv, ctx, name, move=True, status=200):
    """Posts one fixture as Paddle would: at its time, signed now, its exact bytes."""
    path, data, ev = fixture("paddle", name)
    if move:
        goto(srv, ctx, at(ev) + 1)
    r = send(srv, ctx, data, sign(path, now_s(ctx)))
    body = expect(r, status)
    if status == 200:
        assert body["received"] is True and body["event_id"] == ev["event_id"], body
        assert body["type"] == ev["event_type"] and body["connection_id"] == ctx["conn"], body
    return body, ev


def own(ctx, name, ev):
    """Writes an event of our own (Paddle's shape) and returns its path and bytes."""
    path = os.path.join(ctx["tmp"], name + ".json")
    data = (json.dumps(ev, indent=2) + "\n").encode()
    with open(path, "wb") as f:
        f.write(data)
    return path, data


def get(srv, ctx, path):
    return expect(srv.get(path, key=ctx["admin"]), 200)


# ---- refusals ----

def test_01_bad_signatures_are_refused_and_kept_in_the_log(srv, ctx):
    path, data, ev = fixture("paddle", FILES[0])
    goto(srv, ctx, at(ev) + 1)
    before = counts(srv)
    now = now_s(ctx)
    good = sign(path, now)
    tampered = data.replace(b'"total": "4900"', b'"total": "4901"', 1)
    assert tampered != data
    cases = [
        ("missing header", data, None),
        ("tampered body", tampered, good),
        ("wrong secret", data, sign(path, now, secret="pdl_ntfset_someone_else")),
        ("stale: 6 s old", data, sign(path, now - 6)),
        ("from the future", data, sign(path, now + 60)),
        ("no h1", data, good.split(";")[0]),
        ("malformed", data, "ts=abc;h1=zz"),
        ("h1 too short", data, good[:-2]),
        ("empty", data, ""),
        ("ts in ms", data, sign(path, now * 1000)),
    ]
    problems = []
    for what, body, header in cases:
        r = send(srv, ctx, body, header)
        if r.status != 400 or r.json["error"]["field"] != "Paddle-Signature":
            problems.append((what, r))
    assert not problems, problems
    assert counts(srv) == before
    refused = log(srv, ctx, ctx["conn"], "refused")
    assert len(refused) == len(cases), refused
    assert all(e["outcome"] == "refused" and e["status_code"] == 400 and e["reason"] for e in refused), refused
    assert any("stale" in e["reason"] for e in refused), refused
    assert any("does not match" in e["reason"] for e in refused), refused
    # Within the tolerance (4 s old) the same bytes pass: that is checked by the story below.


def test_02_the_url_must_name_a_paddle_connection(srv, ctx):
    path, data, ev = fixture("paddle", FILES[0])
    header = sign(path, now_s(ctx))
    expect(send(srv, ctx, data, header, url=WEBHOOK), 400, field="connection")
    expect(send(srv, ctx, data, header, url=WEBHOOK + "?connection=conn_nonexistent"), 404, field="connection")
    expect(send(srv, ctx, data, header, url=WEBHOOK + "?connection=" + ctx["cb"]), 404, field="connection")


def test_03_an_approved_refund_before_its_sale_is_refused_until_the_sale_is_in(srv, ctx):
    before = counts(srv)
    path, data, ev = fixture("paddle", FILES[3])
    r = send(srv, ctx, data, sign(path, now_s(ctx)))
    expect(r, 409)
    assert "txn_01kdrefd0txn00000000000001" in r.json["error"]["message"], r
    assert counts(srv) == before
    last = log(srv, ctx, ctx["conn"])[0]
    assert last["outcome"] == "refused" and last["event_id"] == ev["event_id"] and last["status_code"] == 409, last


# ---- the story ----

def test_04_subscription_created_makes_the_lead_credited_through_its_code(srv, ctx):
    body, ev = deliver(srv, ctx, FILES[1])
    assert body["outcome"] == "processed" and body["object_id"].startswith("lead_"), body
    lead = get(srv, ctx, "/api/v1/leads/" + body["object_id"])
    assert lead["external_id"] == "ctm_01kdrefd0pat00000000000001", lead
    assert lead["attribution"]["method"] == "code" and lead["attribution"]["partner_id"] == ctx["acme"], lead
    ctx["lead"] = lead


def test_05_transaction_completed_is_the_first_sale_explained_with_paddles_event(srv, ctx):
    path, data, ev = fixture("paddle", FILES[0])
    # Four seconds after Paddle signed it: within the 5 s tolerance.
    goto(srv, ctx, at(ev) + 30)
    r = send(srv, ctx, data, sign(path, now_s(ctx) - 4))
    body = expect(r, 200)
    assert body["outcome"] == "processed" and body["object_id"].startswith("sale_"), body
    s = get(srv, ctx, "/api/v1/sales/" + body["object_id"])
    assert s["external_id"] == "txn_01kdrefd0txn00000000000001" and s["amount"] == money(4900), s
    assert s["kind"] == "first" and s["source"] == "paddle" and s["source_event_id"] == ev["event_id"], s
    assert s["partner_id"] == ctx["acme"] and s["lead_id"] == ctx["lead"]["id"], s
    assert s["attribution"] == {"method": "code", "coupon": None}, s
    es = commissions(srv, ctx, s["id"])
    assert [(e["partner_id"], e["rule"], e["earned"]) for e in es] == [(ctx["acme"], "sale", money(980))], es
    x = explanation(srv, ctx, es[0]["id"])
    assert x["source"]["system"] == "paddle" and x["source"]["event_id"] == ev["event_id"], x
    assert "Paddle event " + ev["event_id"] in x["text"], x["text"]
    ctx["sale"] = s
    ctx["com"] = es[0]


def test_06_a_replayed_transaction_changes_nothing(srv, ctx):
    before = counts(srv)
    body, ev = deliver(srv, ctx, FILES[0], move=False)
    assert body["outcome"] == "duplicate" and body["object_id"] == ctx["sale"]["id"], body
    assert counts(srv) == before
    # The same transaction under another event id (Paddle resending it by hand) is the same sale.
    _, _, raw = fixture("paddle", FILES[0])
    raw["event_id"] = "evt_01kdrefd0evt0000000000resent"
    path, data = own(ctx, "resent", raw)
    body = expect(send(srv, ctx, data, sign(path, now_s(ctx))), 200)
    assert body["outcome"] == "duplicate" and body["object_id"] == ctx["sale"]["id"], body
    assert counts(srv) == before


def test_07_a_refund_waiting_for_approval_gives_nothing_back(srv, ctx):
    before = counts(srv)
    body, ev = deliver(srv, ctx, FILES[2])
    assert body["outcome"] == "ignored" and "approv" in body["note"], body
    assert counts(srv) == before


def test_08_the_approved_refund_reverses_the_commission_once(srv, ctx):
    body, ev = deliver(srv, ctx, FILES[3])
    assert body["outcome"] == "processed" and body["object_id"].startswith("rfd_"), body
    s = get(srv, ctx, "/api/v1/sales/" + ctx["sale"]["id"])
    assert s["refunded"] == money(4900), s
    rev = [e for e in commissions(srv, ctx, s["id"]) if e["rule"] == "reversal"]
    assert len(rev) == 1 and rev[0]["reverses_id"] == ctx["com"]["id"] and rev[0]["earned"] == money(-980), rev
    x = explanation(srv, ctx, rev[0]["id"])
    assert x["source"] == {"system": "paddle", "event_id": ev["event_id"]}, x
    assert "Paddle event " + ev["event_id"] in x["text"], x["text"]
    before = counts(srv)
    body, _ = deliver(srv, ctx, FILES[3], move=False)
    assert body["outcome"] == "duplicate", body
    assert counts(srv) == before


def test_09_a_renewal_is_a_recurring_sale_of_the_same_customer(srv, ctx):
    _, _, raw = fixture("paddle", FILES[0])
    raw["event_id"] = "evt_01kdrefd0evt0000000000renew1"
    raw["occurred_at"] = "2026-02-03T00:00:03.000000Z"
    d = raw["data"]
    d["id"] = "txn_01kdrefd0txn0000000000renew1"
    d["origin"] = "subscription_recurring"
    d["custom_data"] = None
    d["billed_at"] = "2026-02-03T00:00:02.000000Z"
    goto(srv, ctx, at(raw) + 1)
    path, data = own(ctx, "renewal", raw)
    body = expect(send(srv, ctx, data, sign(path, now_s(ctx))), 200)
    s = get(srv, ctx, "/api/v1/sales/" + body["object_id"])
    assert s["kind"] == "recurring" and s["customer_id"] == ctx["sale"]["customer_id"], s
    assert s["partner_id"] == ctx["acme"] and s["source_event_id"] == raw["event_id"], s
    assert [(e["rule"], e["earned"]) for e in commissions(srv, ctx, s["id"])] == [("recurring", money(980))]


def test_10_amounts_past_the_bound_or_not_minor_units_are_refused(srv, ctx):
    before = counts(srv)
    for i, (total, field) in enumerate((("9223372036854775807", "data.details.totals.total"),
                                        ("100000000000000000000", "data.details.totals.total"),
                                        ("49.00", "data.details.totals.total"),
                                        ("-4900", "data.details.totals.total"),
                                        (4900, "data.details.totals.total"))):
        _, _, raw = fixture("paddle", FILES[0])
        raw["event_id"] = "evt_bound_%d" % i
        raw["data"]["id"] = "txn_bound_%d" % i
        raw["data"]["details"]["totals"]["total"] = total
        path, data = own(ctx, "bound%d" % i, raw)
        r = send(srv, ctx, data, sign(path, now_s(ctx)))
        expect(r, 400, field=field)
    _, _, raw = fixture("paddle", FILES[0])
    raw["event_id"] = "evt_bound_cur"
    raw["data"]["details"]["totals"]["currency_code"] = "XYZ"
    path, data = own(ctx, "boundcur", raw)
    expect(send(srv, ctx, data, sign(path, now_s(ctx))), 400, field="data.details.totals.currency_code")
    for body in (b"[]", b"{}", b"not json", b'{"event_id": "e", "event_type": "x"}'):
        path, data = own(ctx, "junk", {})
        with open(path, "wb") as f:
            f.write(body)
        expect(send(srv, ctx, body, sign(path, now_s(ctx))), 400, field="body")
    assert counts(srv) == before


def test_11_unused_event_types_are_ignored_and_logged(srv, ctx):
    raw = {"event_id": "evt_01kdrefd0evt00000000payout", "event_type": "payout.paid",
           "occurred_at": "2026-02-03T10:00:00.000000Z", "notification_id": "ntf_x", "data": {"id": "pay_1"}}
    path, data = own(ctx, "payout", raw)
    body = expect(send(srv, ctx, data, sign(path, now_s(ctx))), 200)
    assert body["outcome"] == "ignored" and body["note"], body


# ---- the coupon story ----

def test_12_a_partners_coupon_credits_the_sale_over_the_code_it_carries(srv, ctx):
    # Paddle tells refd the discount's code when it is made.
    disc = {"event_id": "evt_01kdrefd0evt0000000discount", "event_type": "discount.created",
            "occurred_at": "2026-02-04T09:00:00.000000Z", "notification_id": "ntf_d",
            "data": {"id": "dsc_01kdrefd0dsc00000000000001", "status": "active", "description": "Spring",
                     "enabled_for_checkout": True, "code": "spring25", "type": "percentage", "amount": "25",
                     "currency_code": None, "recur": True, "maximum_recurring_intervals": None,
                     "usage_limit": None, "restrict_to": None, "expires_at": None, "custom_data": None,
                     "times_used": 0, "created_at": "2026-02-04T09:00:00.000000Z",
                     "updated_at": "2026-02-04T09:00:00.000000Z", "import_meta": None}}
    goto(srv, ctx, at(disc) + 1)
    path, data = own(ctx, "discount", disc)
    body = expect(send(srv, ctx, data, sign(path, now_s(ctx))), 200)
    assert body["outcome"] == "processed", body
    # A new customer pays with it; the checkout also carried acme's code, which the coupon outranks.
    _, _, raw = fixture("paddle", FILES[0])
    raw["event_id"] = "evt_01kdrefd0evt000000000coupon"
    raw["occurred_at"] = "2026-02-05T00:00:03.000000Z"
    d = raw["data"]
    d["id"] = "txn_01kdrefd0txn000000000coupon"
    d["customer_id"] = "ctm_01kdrefd0sam00000000000001"
    d["subscription_id"] = "sub_01kdrefd0sub00000000000002"
    d["discount_id"] = disc["data"]["id"]
    d["details"]["totals"].update({"discount": "1225", "subtotal": "4900", "total": "3675", "grand_total": "3675"})
    d["custom_data"] = {"referral_code": "ACME10"}
    goto(srv, ctx, at(raw) + 1)
    path, data = own(ctx, "coupon", raw)
    body = expect(send(srv, ctx, data, sign(path, now_s(ctx))), 200)
    s = get(srv, ctx, "/api/v1/sales/" + body["object_id"])
    assert s["amount"] == money(3675) and s["partner_id"] == ctx["beta"], s
    assert s["attribution"] == {"method": "coupon", "coupon": "spring25"}, s
    lead = get(srv, ctx, "/api/v1/leads/" + s["lead_id"])
    assert lead["attribution"]["method"] == "coupon" and lead["attribution"]["partner_id"] == ctx["beta"], lead
    es = commissions(srv, ctx, s["id"])
    assert [(e["partner_id"], e["earned"]) for e in es] == [(ctx["beta"], money(735))], es
    x = explanation(srv, ctx, es[0]["id"])
    assert x["source"] == {"system": "paddle", "event_id": raw["event_id"], "method": "coupon",
                           "coupon": "spring25"}, x
    assert "Paddle event %s" % raw["event_id"] in x["text"] and "coupon spring25" in x["text"], x["text"]


def test_13_a_disabled_connection_refuses_everything(srv, ctx):
    expect(srv.patch(CONNS + "/" + ctx["conn"], {"status": "disabled"}, key=ctx["admin"]), 200)
    before = counts(srv)
    path, data, ev = fixture("paddle", FILES[1])
    expect(send(srv, ctx, data, sign(path, now_s(ctx))), 403, field="connection")
    assert counts(srv) == before
    expect(srv.patch(CONNS + "/" + ctx["conn"], {"status": "enabled"}, key=ctx["admin"]), 200)


def test_14_the_log_shows_every_outcome_and_the_connection_when_it_last_heard(srv, ctx):
    items = log(srv, ctx, ctx["conn"])
    outcomes = {e["outcome"] for e in items}
    assert outcomes == {"processed", "ignored", "duplicate", "refused"}, outcomes
    processed = [e for e in items if e["outcome"] == "processed"]
    assert any(e["object_id"] and e["object_id"].startswith("sale_") for e in processed), processed
    c = get(srv, ctx, CONNS + "/" + ctx["conn"])
    assert c["last_event_at"], c
    # The refused out-of-order refund was handled once it could be: its event id is processed now.
    ev_id = "evt_01kdrefd0evt00000000000004"
    assert [e["outcome"] for e in items if e["event_id"] == ev_id] == ["duplicate", "processed", "refused"], items
