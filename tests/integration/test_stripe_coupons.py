# SPDX-License-Identifier: Apache-2.0
"""Stripe promotion codes as attribution (README "Coupons"): an invoice names its promotion code by id, so refd
learns each code from Stripe's promotion_code.created event; an invoice.paid whose discount used a partner's coupon
credits that partner (method coupon) over the referral code in its metadata, and the commission's explanation names
Stripe's event and the coupon. Events signed with Stripe's own library (tests/fixtures/stripe/sign.js)."""
import copy
import json
import os
import subprocess
import tempfile

from billing_story import FIXTURES, ROOT, commissions, explanation, fixture, goto, money, now_s, program
from harness import expect

SECRET = "whsec_refd_coupon_story_0123456789abcdef"
SIGN = os.path.join(FIXTURES, "stripe", "sign.js")
WEBHOOK = "/api/v1/integrations/stripe/webhook"


def setup(srv):
    ctx = program(srv, "Stripe coupons", coupon="SPRING-BETA")
    ctx["tmp"] = tempfile.mkdtemp(prefix="refd-stripe-coupon-", dir=srv.dir)
    expect(srv.patch("/api/v1/programs/" + ctx["prog"], {"stripe_webhook_secret": SECRET}, key=ctx["admin"]), 200)
    return ctx


def post(srv, ctx, ev):
    path = os.path.join(ctx["tmp"], ev["id"] + ".json")
    data = (json.dumps(ev, indent=2) + "\n").encode()
    with open(path, "wb") as f:
        f.write(data)
    env = dict(os.environ, STRIPE_WEBHOOK_SECRET=SECRET, NODE_PATH=os.path.join(ROOT, "node_modules"))
    p = subprocess.run(["node", SIGN, path, str(now_s(ctx))], capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == 0, p.stderr
    headers = {"Content-Type": "application/json", "Stripe-Signature": p.stdout.strip()}
    return expect(srv.request("POST", WEBHOOK + "?program_id=" + ctx["prog"], raw=data, headers=headers), 200)


def test_a_promotion_code_of_a_partners_coupon_credits_the_invoice(srv, ctx):
    _, _, inv = fixture("stripe", "03_invoice_paid.json")
    goto(srv, ctx, inv["created"] + 60)
    promo = {"id": "evt_promo_created", "object": "event", "api_version": inv["api_version"],
             "created": inv["created"], "livemode": False, "pending_webhooks": 1,
             "request": {"id": None, "idempotency_key": None}, "type": "promotion_code.created",
             "data": {"object": {"id": "promo_1RefdSpring", "object": "promotion_code", "active": True,
                                 "code": "spring-beta", "coupon": {"id": "SPRING20", "object": "coupon",
                                                                    "percent_off": 20},
                                 "metadata": {}, "times_redeemed": 0}}}
    body = post(srv, ctx, promo)
    assert body["outcome"] == "processed", body
    ev = copy.deepcopy(inv)
    ev["id"] = "evt_invoice_with_promo"
    o = ev["data"]["object"]
    o.update({"id": "in_promo01", "customer": "cus_promo01", "customer_email": "promo@example.com",
              "amount_paid": 3920, "charge": "ch_promo01", "metadata": {"referral_code": "ACME10"},
              "discount": {"id": "di_1", "object": "discount", "coupon": {"id": "SPRING20", "object": "coupon"},
                           "promotion_code": "promo_1RefdSpring", "customer": "cus_promo01"}})
    body = post(srv, ctx, ev)
    assert body["outcome"] == "processed", body
    s = expect(srv.get("/api/v1/sales/" + body["object_id"], key=ctx["admin"]), 200)
    assert s["partner_id"] == ctx["beta"] and s["source_event_id"] == "evt_invoice_with_promo", s
    assert s["attribution"] == {"method": "coupon", "coupon": "spring-beta"}, s
    es = commissions(srv, ctx, s["id"])
    assert [(e["partner_id"], e["earned"]) for e in es] == [(ctx["beta"], money(784))], es
    x = explanation(srv, ctx, es[0]["id"])
    assert x["source"] == {"system": "stripe", "event_id": "evt_invoice_with_promo", "method": "coupon",
                           "coupon": "spring-beta"}, x
    assert "Stripe event evt_invoice_with_promo" in x["text"], x["text"]
    # Without the promotion code the referral code in the metadata credits as before.
    ev2 = copy.deepcopy(ev)
    ev2["id"] = "evt_invoice_without_promo"
    ev2["data"]["object"].update({"id": "in_promo02", "customer": "cus_promo02", "customer_email": "np@example.com",
                                  "charge": "ch_promo02", "discount": None})
    s = expect(srv.get("/api/v1/sales/" + post(srv, ctx, ev2)["object_id"], key=ctx["admin"]), 200)
    assert s["partner_id"] == ctx["acme"] and s["attribution"] == {"method": "code", "coupon": None}, s
