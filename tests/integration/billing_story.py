# SPDX-License-Identifier: Apache-2.0
"""What the billing-system modules (test_paddle, test_chargebee, test_stripe_coupons, test_coupons) share: a program
with partners, links and a coupon, a clock that follows the fixtures' dates, and reading a commission's
explanation."""
import json
import os
import time
from datetime import datetime, timezone

from harness import db_counts, expect, walk_pages

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FIXTURES = os.path.join(HERE, "..", "fixtures")
CONNS = "/api/v1/integrations"
TABLES = ("sales", "refunds", "commissions", "leads", "customers")


def money(amount, cur="usd"):
    return {"amount": amount, "currency": cur}


def fixture(system, name):
    path = os.path.join(FIXTURES, system, name)
    with open(path, "rb") as f:
        data = f.read()
    return path, data, json.loads(data)


def goto(srv, ctx, epoch):
    """Moves refd's clock to epoch, never back (events may be older than the last one sent)."""
    offset = int((epoch - time.time()) * 1000)
    if ctx.get("clock") and offset <= ctx["clock"]:
        return
    srv.set_clock(offset)
    ctx["clock"] = offset


def now_s(ctx):
    return int(time.time() + ctx.get("clock", 0) / 1000)


def program(srv, name, coupon="SPRING25"):
    """A program with a 20 % plan, partner acme (code ACME10) and partner beta (code BETA, with a coupon)."""
    admin = srv.admin_key()
    ctx = {"admin": admin, "clock": 0}
    goto(srv, ctx, datetime(2026, 1, 2, 12, 0, tzinfo=timezone.utc).timestamp())
    ctx["prog"] = expect(srv.post("/api/v1/programs", {"name": name, "currency": "usd"}, key=admin), 201)["id"]
    for who in ("acme", "beta"):
        ctx[who] = expect(srv.post("/api/v1/partners", {"program_id": ctx["prog"], "name": who.title(),
                                                        "email": who + "@partners.example"}, key=admin), 201)["id"]
    expect(srv.post("/api/v1/links", {"partner_id": ctx["acme"], "code": "ACME10",
                                      "destination_url": "https://shop.example.com/"}, key=admin), 201)
    link = {"partner_id": ctx["beta"], "code": "BETA" + name.upper().replace(" ", "")[:8],
            "destination_url": "https://shop.example.com/"}
    if coupon:
        link["coupon"] = coupon
    ctx["beta_link"] = expect(srv.post("/api/v1/links", link, key=admin), 201)
    expect(srv.post("/api/v1/plans", {"program_id": ctx["prog"], "name": "20 %", "default": True,
                                      "rules": {"sale_bps": 2000}}, key=admin), 201)
    return ctx


def commissions(srv, ctx, sale_id):
    items, _ = walk_pages(srv, "/api/v1/commissions?sale_id=" + sale_id, 100, key=ctx["admin"])
    return items


def explanation(srv, ctx, com_id):
    return expect(srv.get("/api/v1/commissions/" + com_id, key=ctx["admin"]), 200)["explanation"]


def log(srv, ctx, conn_id, outcome=None):
    q = "?limit=100" + ("&outcome=" + outcome if outcome else "")
    return expect(srv.get(CONNS + "/" + conn_id + "/events" + q, key=ctx["admin"]), 200)["data"]


def counts(srv):
    return db_counts(srv, TABLES)
