# SPDX-License-Identifier: Apache-2.0
"""The Stripe webhook (docs/COMMISSIONS.md, "Stripe"): the eight events of tests/fixtures/stripe/ signed
with Stripe's own library (sign.js, npm package `stripe`) and posted as their exact bytes, in order, on a clock
that follows the events' dates: a referred customer created through the code ACME10, its first and renewal invoices,
the refund of the renewal, a one-off euro charge through BETA-PARTNER, a yen invoice (zero decimals) and a dispute.
Also what must be refused (tampered body, wrong secret, stale timestamp, missing or malformed header), replays that
answer "duplicate" and write nothing, and event types that are ignored."""
import json
import os
import subprocess
import tempfile
import time
from datetime import datetime, timezone
from decimal import Decimal

import harness
from harness import db_counts, db_rows, expect, walk_pages

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.environ.get("REFD_STRIPE_FIXTURES", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "stripe"))
SIGN = os.path.join(FIXTURES, "sign.js")
WEBHOOK = "/api/v1/integrations/stripe/webhook"
PROGRAMS = "/api/v1/programs"
PARTNERS = "/api/v1/partners"
LINKS = "/api/v1/links"
LEADS = "/api/v1/leads"
PLANS = "/api/v1/plans"
SALES = "/api/v1/sales"
COMMS = "/api/v1/commissions"
FX = "/api/v1/fx-rates"
SECRET = "whsec_refd_integration_0123456789abcdef"
TABLES = ("stripe_events", "sales", "refunds", "commissions", "leads", "customers")
FILES = ["01_customer_created.json", "02_checkout_session_completed.json", "03_invoice_paid.json",
         "04_invoice_paid_renewal.json", "05_charge_refunded.json", "06_charge_succeeded_eur.json",
         "07_invoice_paid_zero_decimal.json", "08_charge_dispute_created.json"]


def make_server():
    return harness.Refd(extra_args=["--jobs-interval-ms", "100"]).start()


def money(amount, cur="usd"):
    return {"amount": amount, "currency": cur}


def fixture(name):
    path = os.path.join(FIXTURES, name)
    with open(path, "rb") as f:
        data = f.read()
    return path, data, json.loads(data)


def setup(srv):
    admin = srv.admin_key()
    ctx = {"admin": admin, "clock": 0, "tmp": tempfile.mkdtemp(prefix="refd-stripe-", dir=srv.dir)}
    # The fixtures happened in January 2026: refd's clock starts the day before, so that the program and its plan
    # exist before the events, and moves with them.
    goto(srv, ctx, datetime(2025, 12, 31, 12, 0, tzinfo=timezone.utc).timestamp())
    prog = expect(srv.post(PROGRAMS, {"name": "Stripe shop", "currency": "usd"}, key=admin), 201)["id"]
    ctx["prog"] = prog
    ctx["other"] = expect(srv.post(PROGRAMS, {"name": "No secret", "currency": "usd"}, key=admin), 201)["id"]
    for key in ("acme", "beta", "gamma"):
        ctx[key] = expect(srv.post(PARTNERS, {"program_id": prog, "name": key.title(),
                                              "email": key + "@partners.example"}, key=admin), 201)["id"]
    for code, owner in (("ACME10", "acme"), ("BETA-PARTNER", "beta")):
        expect(srv.post(LINKS, {"partner_id": ctx[owner], "code": code,
                                "destination_url": "https://shop.example.com/pricing"}, key=admin), 201)
    ctx["plan"] = expect(srv.post(PLANS, {"program_id": prog, "name": "Stripe plan", "default": True,
                                          "rules": {"sale_bps": 2000}}, key=admin), 201)["id"]
    for base, rate in (("eur", "1.08"), ("jpy", "0.0067")):
        r = srv.post(FX, {"base": base, "quote": "usd", "rate": rate, "valid_from": "2025-01-01T00:00:00Z"},
                     key=admin)
        assert r.status in (200, 201), r
    ctx["jpy_lead"] = expect(srv.post(LEADS, {"program_id": prog, "external_id": "cus_ref004",
                                              "partner_id": ctx["gamma"]}, key=admin), 201)
    expect(srv.patch(PROGRAMS + "/" + prog, {"stripe_webhook_secret": SECRET}, key=admin), 200)
    return ctx


# ---- helpers ----

def goto(srv, ctx, epoch):
    offset = int((epoch - time.time()) * 1000)
    if ctx["clock"] != 0:
        assert offset > ctx["clock"], "the clock only moves forward"
    srv.set_clock(offset)
    ctx["clock"] = offset


def now_s(ctx):
    return int(time.time() + ctx["clock"] / 1000)


def sign(path, ts, secret=SECRET):
    env = dict(os.environ, STRIPE_WEBHOOK_SECRET=secret, NODE_PATH=os.path.join(ROOT, "node_modules"))
    p = subprocess.run(["node", SIGN, path, str(int(ts))], capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == 0, "sign.js failed: %s" % p.stderr
    return p.stdout.strip()


def send(srv, ctx, data, header, program="prog"):
    headers = {"Content-Type": "application/json"}
    if header is not None:
        headers["Stripe-Signature"] = header
    url = WEBHOOK + ("?program_id=" + ctx[program] if program else "")
    return srv.request("POST", url, raw=data, headers=headers)


def deliver(srv, ctx, name, move=True):
    """Posts one fixture as Stripe would: at its time, signed now, its exact bytes."""
    path, data, ev = fixture(name)
    if move:
        goto(srv, ctx, ev["created"] + 60)
    r = send(srv, ctx, data, sign(path, now_s(ctx)))
    body = expect(r, 200)
    assert body["received"] is True and body["event_id"] == ev["id"] and body["type"] == ev["type"], body
    return body, ev


def own_event(ctx, name, obj):
    path = os.path.join(ctx["tmp"], name + ".json")
    ev = {"id": name, "object": "event", "api_version": "2024-06-20", "created": now_s(ctx),
          "data": {"object": obj}, "livemode": False, "pending_webhooks": 1,
          "request": {"id": None, "idempotency_key": None}, "type": obj.pop("_type")}
    data = (json.dumps(ev, indent=2) + "\n").encode()
    with open(path, "wb") as f:
        f.write(data)
    return path, data


def listing(srv, ctx, query):
    items, _ = walk_pages(srv, COMMS + "?" + query, 100, key=ctx["admin"])
    return items


def get(srv, ctx, path):
    return expect(srv.get(path, key=ctx["admin"]), 200)


# ---- the secret and the signature ----

def test_the_secret_is_never_shown_and_stored_sealed(srv, ctx):
    p = get(srv, ctx, PROGRAMS + "/" + ctx["prog"])
    assert SECRET not in json.dumps(p), p
    rows = db_rows(srv, "SELECT stripe_secret_sealed AS s FROM programs WHERE id = ?", (ctx["prog"],))
    assert rows and rows[0]["s"], "a secret is stored"
    sealed = rows[0]["s"] if isinstance(rows[0]["s"], bytes) else str(rows[0]["s"]).encode()
    assert SECRET.encode() not in sealed and SECRET[6:].encode() not in sealed, "stored encrypted"


def test_bad_signatures_are_refused_and_write_nothing(srv, ctx):
    path, data, ev = fixture("03_invoice_paid.json")
    before = db_counts(srv, TABLES)
    now = now_s(ctx)
    good = sign(path, now)
    tampered = data.replace(b'"amount_paid": 4900', b'"amount_paid": 4901', 1)
    assert tampered != data
    cases = [
        ("missing header", data, None),
        ("tampered body", tampered, good),
        ("wrong secret", data, sign(path, now, secret="whsec_someone_else_entirely")),
        ("stale timestamp", data, sign(path, now - 301)),
        ("no v1", data, good.split(",")[0]),
        ("malformed", data, "t=abc,v1=zz"),
        ("empty", data, ""),
        ("v0 only", data, good.replace("v1=", "v0=")),
    ]
    problems = []
    for what, body, header in cases:
        r = send(srv, ctx, body, header)
        if r.status != 400:
            problems.append((what, r))
    r = send(srv, ctx, data, good, program="other")
    if r.status != 400:
        problems.append(("program without a secret", r))
    assert not problems, problems
    assert db_counts(srv, TABLES) == before


# ---- the story, in order ----

def test_customer_created_makes_a_lead_credited_through_its_code(srv, ctx):
    body, ev = deliver(srv, ctx, FILES[0])
    assert body["outcome"] == "processed" and body["object_id"].startswith("lead_"), body
    lead = get(srv, ctx, LEADS + "/" + body["object_id"])
    assert lead["email"] == "pat@example.com" and lead["program_id"] == ctx["prog"], lead
    assert lead["attribution"]["method"] == "code" and lead["attribution"]["partner_id"] == ctx["acme"], lead
    ctx["pat"] = lead


def test_checkout_session_completed_keeps_the_same_lead(srv, ctx):
    body, ev = deliver(srv, ctx, FILES[1])
    assert body["outcome"] == "processed", body
    assert body["object_id"] in (None, ctx["pat"]["id"]), body
    rows = db_rows(srv, "SELECT id FROM leads WHERE email = 'pat@example.com'")
    assert [r["id"] for r in rows] == [ctx["pat"]["id"]], rows
    lead = get(srv, ctx, LEADS + "/" + ctx["pat"]["id"])
    assert lead["attribution"]["partner_id"] == ctx["acme"], "an unknown click does not take the credit: %r" % lead


def test_first_invoice_is_a_first_sale_with_its_commission(srv, ctx):
    body, ev = deliver(srv, ctx, FILES[2])
    assert body["outcome"] == "processed" and body["object_id"].startswith("sale_"), body
    s = get(srv, ctx, SALES + "/" + body["object_id"])
    assert s["external_id"] == "in_ref001" and s["amount"] == money(4900) and s["kind"] == "first", s
    assert s["source"] == "stripe" and s["partner_id"] == ctx["acme"] and s["lead_id"] == ctx["pat"]["id"], s
    es = listing(srv, ctx, "sale_id=" + s["id"])
    assert [(e["partner_id"], e["role"], e["rule"], e["earned"], e["amount"]) for e in es] == \
        [(ctx["acme"], "direct", "sale", money(980), money(980))], es
    lead = get(srv, ctx, LEADS + "/" + ctx["pat"]["id"])
    assert lead["status"] == "converted", lead
    ctx["first"] = s


def test_renewal_invoice_is_a_recurring_sale(srv, ctx):
    body, ev = deliver(srv, ctx, FILES[3])
    s = get(srv, ctx, SALES + "/" + body["object_id"])
    assert s["external_id"] == "in_ref002" and s["amount"] == money(4900) and s["kind"] == "recurring", s
    assert s["customer_id"] == ctx["first"]["customer_id"] and s["partner_id"] == ctx["acme"], s
    es = listing(srv, ctx, "sale_id=" + s["id"])
    assert [(e["rule"], e["earned"]) for e in es] == [("recurring", money(980))], es
    ctx["renewal"] = s
    ctx["renewal_com"] = es[0]


def test_charge_refunded_reverses_exactly_the_renewal_commission(srv, ctx):
    body, ev = deliver(srv, ctx, FILES[4])
    assert body["outcome"] == "processed" and body["object_id"].startswith("rfd_"), body
    s = get(srv, ctx, SALES + "/" + ctx["renewal"]["id"])
    assert s["refunded"] == money(4900), s
    rev = [e for e in listing(srv, ctx, "sale_id=" + s["id"]) if e["rule"] == "reversal"]
    assert len(rev) == 1, rev
    e = rev[0]
    assert e["reverses_id"] == ctx["renewal_com"]["id"] and e["refund_id"] == body["object_id"], e
    assert e["earned"] == money(-980) and e["amount"] == money(-980) and e["partner_id"] == ctx["acme"], e
    assert get(srv, ctx, SALES + "/" + ctx["first"]["id"])["refunded"] == money(0)


def test_one_off_euro_charge_is_credited_through_the_code_on_the_charge(srv, ctx):
    body, ev = deliver(srv, ctx, FILES[5])
    s = get(srv, ctx, SALES + "/" + body["object_id"])
    assert s["amount"] == money(12000, "eur") and s["partner_id"] == ctx["beta"] and s["kind"] == "first", s
    assert s["source"] == "stripe", s
    lead = get(srv, ctx, LEADS + "/" + s["lead_id"])
    assert lead["attribution"]["method"] == "code" and lead["attribution"]["partner_id"] == ctx["beta"], lead
    es = listing(srv, ctx, "sale_id=" + s["id"])
    assert len(es) == 1, es
    e = es[0]
    # 20 % of EUR 120.00 = EUR 24.00, at 1.08 = USD 25.92.
    assert e["earned"] == money(2400, "eur") and e["amount"] == money(2592), e
    assert Decimal(e["fx_rate"]) == Decimal("1.08"), e
    ctx["euro"] = s
    ctx["euro_com"] = e


def test_zero_decimal_invoice_is_five_thousand_yen(srv, ctx):
    body, ev = deliver(srv, ctx, FILES[6])
    s = get(srv, ctx, SALES + "/" + body["object_id"])
    assert s["external_id"] == "in_ref004" and s["amount"] == money(5000, "jpy"), s
    assert s["lead_id"] == ctx["jpy_lead"]["id"] and s["partner_id"] == ctx["gamma"], s
    es = listing(srv, ctx, "sale_id=" + s["id"])
    assert len(es) == 1, es
    # ¥5,000 x 20 % = ¥1,000, at 0.0067 = $6.70.
    assert es[0]["earned"] == money(1000, "jpy") and es[0]["amount"] == money(670), es


def test_dispute_reverses_the_euro_sale(srv, ctx):
    body, ev = deliver(srv, ctx, FILES[7])
    assert body["outcome"] == "processed" and body["object_id"].startswith("rfd_"), body
    s = get(srv, ctx, SALES + "/" + ctx["euro"]["id"])
    assert s["disputed"] == money(12000, "eur"), s
    rev = [e for e in listing(srv, ctx, "sale_id=" + s["id"]) if e["rule"] == "reversal"]
    assert len(rev) == 1, rev
    e = rev[0]
    assert e["reverses_id"] == ctx["euro_com"]["id"] and e["event"]["type"] == "dispute", e
    assert e["earned"] == money(-2400, "eur") and e["amount"] == money(-2592), e


def test_balances_after_the_story(srv, ctx):
    for pid, want in (("acme", 980), ("beta", 0), ("gamma", 670)):
        b = get(srv, ctx, PARTNERS + "/" + ctx[pid] + "/balance")
        total = sum(row["total"]["amount"] for row in b["balances"] if row["currency"] == "usd")
        assert total == want, (pid, b)


# ---- replays and other events ----

def test_a_replay_is_a_duplicate_and_writes_nothing(srv, ctx):
    before = db_counts(srv, TABLES)
    for name in (FILES[2], FILES[4], FILES[0]):
        body, ev = deliver(srv, ctx, name, move=False)
        assert body["outcome"] == "duplicate", body
    assert db_counts(srv, TABLES) == before


def test_other_event_types_are_ignored(srv, ctx):
    before = db_counts(srv, ("sales", "refunds", "commissions", "leads"))
    path, data = own_event(ctx, "evt_refd_other1", {"_type": "customer.subscription.updated", "id": "sub_ref001",
                                                     "object": "subscription", "customer": "cus_ref001"})
    body = expect(send(srv, ctx, data, sign(path, now_s(ctx))), 200)
    assert body["outcome"] == "ignored" and body["event_id"] == "evt_refd_other1" and body["object_id"] is None, body
    # Several v1 signatures (a secret being rolled): one that matches is enough; 200 s old is within tolerance.
    path, data = own_event(ctx, "evt_refd_other2", {"_type": "payment_intent.created", "id": "pi_x",
                                                     "object": "payment_intent"})
    good = sign(path, now_s(ctx) - 200)
    t, v1 = good.split(",", 1)
    header = "%s,v1=%s,%s" % (t, "0" * 64, v1)
    body = expect(send(srv, ctx, data, header), 200)
    assert body["outcome"] == "ignored", body
    assert db_counts(srv, ("sales", "refunds", "commissions", "leads")) == before
