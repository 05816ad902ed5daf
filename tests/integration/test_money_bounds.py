# SPDX-License-Identifier: Apache-2.0
"""Amount bounds and overflow on every path that brings money in: the API's sales and refunds, the Stripe webhook,
and the running totals that reports keep. One cap for a single amount (the OpenAPI document's MoneyInput
maximum), refused with a 4xx naming the field wherever an amount comes from; a write that would carry any running
total past what 64 bits hold is refused with a 4xx naming the amount and changes nothing; report ratios are right
for every representable input, high-nominal currencies included."""
import hashlib
import hmac
import json
import time

from harness import Refd, db_counts, expect

CAP = 2305843009213693951  # (2^63 - 1) / 4: what the API and docs/ say a single amount may be
SECRET = "whsec_bounds_0123456789"
WEBHOOK = "/api/v1/integrations/stripe/webhook"
TABLES = ("sales", "refunds", "commissions", "leads", "customers", "stripe_events", "rollup_entity",
          "rollup_daily", "rollup_keys")


def make_server():
    return Refd().start()


def setup(srv):
    admin = srv.admin_key()
    ctx = {"admin": admin}
    for name, cur in (("usd", "usd"), ("irr", "irr"), ("tot", "usd")):
        prog = expect(srv.post("/api/v1/programs", {"name": "Bounds " + name, "currency": cur}, key=admin),
                      201)["id"]
        ptn = expect(srv.post("/api/v1/partners", {"program_id": prog, "name": "P " + cur,
                                                   "email": "p@%s.example" % name}, key=admin), 201)["id"]
        expect(srv.post("/api/v1/plans", {"program_id": prog, "name": "Ten", "default": True,
                                          "rules": {"sale_bps": 1000}}, key=admin), 201)
        ctx[name] = {"prog": prog, "ptn": ptn, "cur": cur}
    expect(srv.patch("/api/v1/programs/" + ctx["usd"]["prog"], {"stripe_webhook_secret": SECRET}, key=admin), 200)
    return ctx


def sale(srv, ctx, name, amount, ext):
    c = ctx[name]
    return srv.post("/api/v1/sales", {"program_id": c["prog"], "partner_id": c["ptn"], "email": ext + "@buyer.example",
                                      "external_id": ext, "amount": {"amount": amount, "currency": c["cur"]}},
                    key=ctx["admin"])


def test_openapi_money_maximum_is_the_cap(srv, ctx):
    doc = expect(srv.get("/api/openapi.json"), 200)
    schema = doc["components"]["schemas"]["MoneyInput"]
    assert schema["properties"]["amount"]["maximum"] == CAP, schema


def test_sale_above_the_cap_refused(srv, ctx):
    before = db_counts(srv, TABLES)
    expect(sale(srv, ctx, "usd", CAP + 1, "over-cap"), 400, "amount")
    assert db_counts(srv, TABLES) == before


def signed(body, secret=SECRET):
    t = int(time.time())
    mac = hmac.new(secret.encode(), ("%d." % t).encode() + body, hashlib.sha256).hexdigest()
    return "t=%d,v1=%s" % (t, mac)


def stripe_event(srv, ctx, evt_id, etype, obj):
    body = json.dumps({"id": evt_id, "object": "event", "api_version": "2024-06-20", "created": int(time.time()),
                       "type": etype, "data": {"object": obj}, "livemode": False}).encode()
    return srv.request("POST", WEBHOOK + "?program_id=" + ctx["usd"]["prog"], raw=body,
                       headers={"Content-Type": "application/json", "Stripe-Signature": signed(body)})


def test_stripe_amounts_bounded(srv, ctx):
    """A correctly signed invoice.paid or charge.succeeded above the cap is refused with 400 naming the amount (so
    it is never recorded, and Stripe is not asked to retry a 500 for days)."""
    before = db_counts(srv, TABLES)
    cases = [("invoice.paid", "amount_paid", CAP + 1), ("invoice.paid", "amount_paid", 2 ** 63 - 1),
             ("charge.succeeded", "amount", 2 ** 63 - 1), ("charge.succeeded", "amount", CAP + 1)]
    for i, (etype, member, amount) in enumerate(cases):
        obj = {"id": "in_big%d" % i if etype == "invoice.paid" else "ch_big%d" % i,
               "object": "invoice" if etype == "invoice.paid" else "charge", "currency": "usd",
               "customer": "cus_big", "customer_email": "big@buyer.example", member: amount,
               "created": int(time.time())}
        r = stripe_event(srv, ctx, "evt_big%d" % i, etype, obj)
        expect(r, 400, member)
    assert db_counts(srv, TABLES) == before
    # A negative amount is no payment at all: answered 200 and kept as ignored, like other events refd cannot use.
    r = stripe_event(srv, ctx, "evt_neg", "invoice.paid",
                     {"id": "in_neg", "object": "invoice", "currency": "usd", "customer": "cus_big",
                      "amount_paid": -5, "created": int(time.time())})
    assert expect(r, 200)["outcome"] == "ignored", r
    after = db_counts(srv, TABLES)
    assert after["stripe_events"] == before["stripe_events"] + 1
    assert {k: v for k, v in after.items() if k != "stripe_events"} == \
        {k: v for k, v in before.items() if k != "stripe_events"}
    # An ordinary amount is taken.
    r = stripe_event(srv, ctx, "evt_fine", "invoice.paid",
                     {"id": "in_fine", "object": "invoice", "currency": "usd", "customer": "cus_fine",
                      "customer_email": "fine@buyer.example", "amount_paid": 1000, "created": int(time.time())})
    assert expect(r, 200)["outcome"] == "processed", r


def test_running_totals_never_overflow(srv, ctx):
    """Four sales at the cap fit the partner's running revenue; the fifth would pass 2^63 - 1 and is refused with
    a 4xx naming the amount, leaving everything as it was (the reports still read what the four made)."""
    for i in range(4):
        expect(sale(srv, ctx, "tot", CAP, "cap-%d" % i), 201)
    before = db_counts(srv, TABLES)
    r = sale(srv, ctx, "tot", CAP, "cap-4")
    expect(r, 400, "amount")
    assert "total" in r.json["error"]["message"], r.json
    assert db_counts(srv, TABLES) == before
    # Also through a second partner: the program's own totals are bounded too.
    c = ctx["tot"]
    other = expect(srv.post("/api/v1/partners", {"program_id": c["prog"], "name": "Other",
                                                 "email": "other@tot.example"}, key=ctx["admin"]), 201)["id"]
    r = srv.post("/api/v1/sales", {"program_id": c["prog"], "partner_id": other, "email": "o@buyer.example",
                                   "external_id": "other-cap", "amount": {"amount": CAP, "currency": "usd"}},
                 key=ctx["admin"])
    expect(r, 400, "amount")
    assert db_counts(srv, TABLES)["sales"] == before["sales"]
    rep = expect(srv.get("/api/v1/reports/summary?program_id=" + c["prog"], key=ctx["admin"]), 200)
    assert rep["revenue"]["amount"] == 4 * CAP, rep


def test_ratio_in_high_nominal_currency(srv, ctx):
    """One 10^15 IRR sale at 10 %: revenue per unit of commission is 10.0 (the old arithmetic overflowed)."""
    expect(sale(srv, ctx, "irr", 10 ** 15, "irr-big"), 201)
    c = ctx["irr"]
    rep = expect(srv.get("/api/v1/reports/summary?program_id=" + c["prog"], key=ctx["admin"]), 200)
    com = rep["commissions"]
    assert len(com) == 1 and com[0]["earned"]["amount"] == 10 ** 14, com
    assert com[0]["revenue_per_commission"] == 10.0, com
