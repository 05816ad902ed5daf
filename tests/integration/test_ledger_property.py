# SPDX-License-Identifier: Apache-2.0
"""A property of the ledger (docs/COMMISSIONS.md): whatever the sales and refunds, each partner's balance is what
the rules say, to the cent. With a fixed seed, a few hundred random sales (odd cents, several partners, first and
recurring, recruiters with overrides) and random partial and full refunds and disputes (never beyond the sale) are
posted; each partner's balance is computed here independently from the events, in integers with half-even rounding
(a reversal for a refund is round(c x (prior + refund) / sale) - round(c x prior / sale)), and compared with
GET /api/v1/partners/{id}/balance and with the sum of the partner's entries in GET /api/v1/commissions."""
import random

import harness
from harness import expect, walk_pages

SEED = 20261122
SALES_N = 300
SALE_BPS = 1750
OVERRIDE_BPS = 1500


def make_server():
    return harness.Refd(extra_args=["--jobs-interval-ms", "100"]).start()


def rhe(num, den):
    q, r = divmod(num, den)
    if 2 * r > den or (2 * r == den and q % 2 == 1):
        q += 1
    return q


def pct(amount, bps):
    return rhe(amount * bps, 10000)


def reversal(c, sale, prior, refund):
    return rhe(c * (prior + refund), sale) - rhe(c * prior, sale)


def setup(srv):
    admin = srv.admin_key()
    ctx = {"admin": admin}
    prog = expect(srv.post("/api/v1/programs", {"name": "Property", "currency": "usd", "holding_period_days": 365},
                           key=admin), 201)["id"]
    ctx["prog"] = prog
    expect(srv.post("/api/v1/plans", {"program_id": prog, "name": "Property plan", "default": True,
                                      "rules": {"sale_bps": SALE_BPS, "override_bps": [OVERRIDE_BPS]}},
                    key=admin), 201)
    partners, recruiter = [], {}
    for i in range(6):
        body = {"program_id": prog, "name": "P%d" % i, "email": "p%d@property.example" % i}
        if i in (1, 3):
            body["recruited_by_id"] = partners[i - 1]
        pid = expect(srv.post("/api/v1/partners", body, key=admin), 201)["id"]
        if i in (1, 3):
            recruiter[pid] = partners[i - 1]
        partners.append(pid)
    ctx["partners"], ctx["recruiter"] = partners, recruiter
    return ctx


def by_partner(entries):
    out = {}
    for e in entries:
        out[e["partner_id"]] = out.get(e["partner_id"], 0) + e["earned"]["amount"]
    return {k: v for k, v in out.items() if v}


def test_random_sales_and_refunds_balance_to_the_cent(srv, ctx):
    rng = random.Random(SEED)
    admin, partners, recruiter = ctx["admin"], ctx["partners"], ctx["recruiter"]
    customers = [("cust%03d@property.example" % i, rng.choice(partners)) for i in range(70)]
    seen = set()
    sales = []  # {"id", "ext", "amount", "given", "coms": [(partner, c)]}
    expected = {p: 0 for p in partners}
    problems = []
    n_refunds = 0
    for i in range(SALES_N):
        email, owner = rng.choice(customers)
        amount = rng.choice([rng.randint(1, 99), rng.randint(100, 9999), rng.randint(100, 9999),
                             rng.randint(10000, 999999)])
        body = {"program_id": ctx["prog"], "email": email, "amount": {"amount": amount, "currency": "usd"},
                "external_id": "prop-in-%04d" % i}
        if email not in seen:
            body["partner_id"] = owner
        s = expect(srv.post("/api/v1/sales", body, key=admin), 201)
        kind = "recurring" if email in seen else "first"
        seen.add(email)
        c = pct(amount, SALE_BPS)
        coms = [(owner, c)]
        if owner in recruiter:
            coms.append((recruiter[owner], pct(c, OVERRIDE_BPS)))
        want = {p: v for p, v in coms if v}
        got = by_partner(s["commissions"])
        if s["kind"] != kind or s["partner_id"] != owner or got != want:
            problems.append(("sale", body, s["kind"], got, want))
        for p, v in coms:
            expected[p] += v
        sales.append({"id": s["id"], "ext": body["external_id"], "amount": amount, "given": 0, "coms": coms})

        if rng.random() < 0.4:
            open_ = [x for x in sales if x["given"] < x["amount"]]
            if not open_:
                continue
            t = rng.choice(open_)
            left = t["amount"] - t["given"]
            rb = {}
            if rng.random() < 0.2:
                rb["sale_external_id"] = t["ext"]
            else:
                rb["sale_id"] = t["id"]
            if rng.random() < 0.25:
                r_amount = left  # no amount: what is left
            else:
                r_amount = rng.randint(1, left)
                rb["amount"] = {"amount": r_amount, "currency": "usd"}
            if rng.random() < 0.15:
                rb["kind"] = "dispute"
            r = expect(srv.post("/api/v1/refunds", rb, key=admin), 201)
            n_refunds += 1
            want = {}
            for p, v in t["coms"]:
                d = reversal(v, t["amount"], t["given"], r_amount)
                expected[p] -= d
                if d:
                    want[p] = want.get(p, 0) - d
            got = by_partner(r["commissions"])
            if r["amount"]["amount"] != r_amount or got != want:
                problems.append(("refund", rb, t, r["amount"], got, want))
            t["given"] += r_amount
    assert n_refunds > 80, n_refunds
    assert not problems, problems[:5]

    # Over-refunding any sale is refused.
    full = [x for x in sales if x["given"] == x["amount"]][:3]
    part = [x for x in sales if x["given"] < x["amount"]][:3]
    for t in full:
        expect(srv.post("/api/v1/refunds", {"sale_id": t["id"], "amount": {"amount": 1, "currency": "usd"}},
                        key=admin), 400, field="amount")
    for t in part:
        over = t["amount"] - t["given"] + 1
        expect(srv.post("/api/v1/refunds", {"sale_id": t["id"], "amount": {"amount": over, "currency": "usd"}},
                        key=admin), 400, field="amount")

    mismatches = []
    for p in partners:
        b = expect(srv.get("/api/v1/partners/%s/balance" % p, key=admin), 200)
        rows = {row["currency"]: row for row in b["balances"]}
        usd = rows.get("usd")
        total = usd["total"]["amount"] if usd else 0
        pending = usd["pending"]["amount"] if usd else 0
        others = [c for c, row in rows.items() if c != "usd" and row["total"]["amount"]]
        entries, _ = walk_pages(srv, "/api/v1/commissions?partner_id=" + p, 100, key=admin)
        summed = sum(e["amount"]["amount"] for e in entries if e["status"] != "rejected")
        if not (total == pending == summed == expected[p]) or others:
            mismatches.append((p, {"expected": expected[p], "balance_total": total, "balance_pending": pending,
                                   "sum_of_entries": summed, "other_currencies": others}))
    assert not mismatches, mismatches
    everything, _ = walk_pages(srv, "/api/v1/commissions?program_id=" + ctx["prog"], 100, key=admin)
    assert sum(e["amount"]["amount"] for e in everything) == sum(expected.values())
    assert all(e["status"] == "pending" for e in everything)
    # Every reversal points at an entry of the same sale and partner.
    by_id = {e["id"]: e for e in everything}
    for e in everything:
        if e["rule"] == "reversal":
            o = by_id.get(e["reverses_id"])
            assert o and o["sale_id"] == e["sale_id"] and o["partner_id"] == e["partner_id"], e
