# SPDX-License-Identifier: Apache-2.0
"""Commissions (docs/COMMISSIONS.md): a referred customer's first sale, renewals, partial and full refunds with
their exact reversals and three levels of recruiter overrides; the holding period that approves entries; odd cents
and half-even rounding, zero- and three-decimal currencies, duplicate invoices and refused refunds; plans (per-lead,
flat + percent, recurring first_only / months / lifetime, tiers by count and revenue per month and quarter, agent
splits, overrides that require a sale, assignment, versions and simulate); the ledger's approve / hold / reject
with history and the database's refusal to edit amounts; FX rates (the rate valid at the sale, a missing rate that
holds the entry until it is loaded, the inverse pair, the CSV import); and bad input."""
import json
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import harness
from harness import db_write, db_counts, db_rows, expect, walk_pages

PROGRAMS = "/api/v1/programs"
PARTNERS = "/api/v1/partners"
LINKS = "/api/v1/links"
LEADS = "/api/v1/leads"
PLANS = "/api/v1/plans"
SALES = "/api/v1/sales"
REFUNDS = "/api/v1/refunds"
COMMS = "/api/v1/commissions"
FX = "/api/v1/fx-rates"
DAY = 86400
LEDGER = ("sales", "refunds", "commissions", "commission_events", "customers", "leads", "plans", "plan_versions",
          "fx_rates")
EXP = {"usd": 2, "eur": 2, "gbp": 2, "chf": 2, "cad": 2, "sek": 2, "jpy": 0, "bhd": 3}
OLD = "2020-01-01T00:00:00Z"


def make_server():
    return harness.Refd(extra_args=["--jobs-interval-ms", "100"]).start()


# ---- exact arithmetic, independent of the server ----

def rhe(num, den):
    """num / den rounded half-even, in integers (den > 0)."""
    q, r = divmod(num, den)
    if 2 * r > den or (2 * r == den and q % 2 == 1):
        q += 1
    return q


def pct(amount, bps):
    return rhe(amount * bps, 10000)


def reversal(c, sale, prior, refund):
    return rhe(c * (prior + refund), sale) - rhe(c * prior, sale)


def ppb(rate):
    return int(Decimal(rate) * 10 ** 9)


def convert(amount, frm, to, rate_ppb):
    return rhe(amount * rate_ppb * 10 ** EXP[to], 10 ** 9 * 10 ** EXP[frm])


def money(amount, cur="usd"):
    return {"amount": amount, "currency": cur}


def ts(s):
    return datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


def ms_of(s):
    return int(round(ts(s).timestamp() * 1000))


def fmt_ms(ms):
    d = datetime.fromtimestamp(ms // 1000, timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S") + ".%03dZ" % (ms % 1000)


def add_months(d, n):
    m = d.month - 1 + n
    return d.replace(year=d.year + m // 12, month=m % 12 + 1)


def quarter_start_after(epoch):
    d = datetime.fromtimestamp(epoch, timezone.utc)
    q = datetime(d.year, (d.month - 1) // 3 * 3 + 1, 1, tzinfo=timezone.utc)
    while q.timestamp() < epoch:
        q = add_months(q, 3)
    return q


# ---- setup ----

def setup(srv):
    admin = srv.admin_key()
    ctx = {"admin": admin, "clock": 0, "n": 0, "t0": time.time()}

    def program(key, name, **extra):
        body = {"name": name, "currency": "usd"}
        body.update(extra)
        ctx[key] = expect(srv.post(PROGRAMS, body, key=admin), 201)["id"]

    def partner(key, prog, **extra):
        body = {"program_id": ctx[prog], "name": key.upper(), "email": key + "@partners.example"}
        body.update(extra)
        ctx[key] = expect(srv.post(PARTNERS, body, key=admin), 201)["id"]

    def plan(key, prog, name, rules, default=False, assign=()):
        p = expect(srv.post(PLANS, {"program_id": ctx[prog], "name": name, "default": default, "rules": rules},
                            key=admin), 201)
        ctx["plan_" + key] = p["id"]
        ctx["planobj_" + key] = p
        if assign:
            expect(srv.post(PLANS + "/" + p["id"] + "/assign", {"partner_ids": [ctx[a] for a in assign]},
                            key=admin), 200)

    # The story: three levels of recruiters above the seller.
    program("story", "Story", holding_period_days=30)
    partner("r3", "story")
    partner("r2", "story", recruited_by_id=ctx["r3"])
    partner("r1", "story", recruited_by_id=ctx["r2"])
    partner("seller", "story", recruited_by_id=ctx["r1"])
    partner("direct2", "story")
    expect(srv.post(LINKS, {"partner_id": ctx["seller"], "code": "story-seller",
                            "destination_url": "https://shop.example.com/"}, key=admin), 201)
    plan("story", "story", "Story Standard", {"sale_bps": 2000, "override_bps": [1000, 500, 250],
                                              "recurring": "lifetime"}, default=True)

    # Money: rounding and currencies.
    program("money", "Money", holding_period_days=365)
    partner("m20", "money")
    partner("m125", "money")
    partner("mbhd", "money", currency="bhd")
    plan("twenty", "money", "Twenty", {"sale_bps": 2000}, default=True)
    plan("twelvehalf", "money", "Twelve and a half", {"sale_bps": 1250}, assign=("m125",))

    # Plans: no default plan, one plan per behaviour.
    program("plans", "Plans", holding_period_days=365)
    partner("lp_cpl", "plans", cost_per_lead=money(750))
    partner("lp_zero", "plans")
    partner("fp", "plans")
    partner("fo", "plans")
    partner("mo", "plans")
    partner("lt", "plans")
    partner("tcm", "plans")
    partner("tcq", "plans")
    partner("trm", "plans")
    partner("trq", "plans")
    partner("org", "plans")
    partner("ag", "plans", kind="agent", team_parent_id=ctx["org"])
    partner("rq", "plans")
    partner("pq", "plans", recruited_by_id=ctx["rq"])
    partner("vp", "plans")
    partner("as1", "plans")
    partner("as2", "plans")
    plan("leads", "plans", "Per lead", {"lead_amount": money(500), "lead_use_cost_per_lead": True},
         assign=("lp_cpl", "lp_zero"))
    plan("flatpct", "plans", "Flat plus percent", {"sale_flat": money(100), "sale_bps": 1000}, assign=("fp",))
    plan("first", "plans", "First only", {"sale_bps": 1000, "recurring": "first_only"}, assign=("fo",))
    plan("months", "plans", "One month", {"sale_bps": 1000, "recurring": "months", "recurring_months": 1},
         assign=("mo",))
    plan("lifetime", "plans", "Lifetime", {"sale_bps": 1000}, assign=("lt",))
    steps_count = [{"from": 0, "bps": 1000}, {"from": 3, "bps": 2000}]
    steps_rev = [{"from": 0, "bps": 1000}, {"from": 10000, "bps": 2000}]
    plan("tcm", "plans", "Count per month", {"tiers": {"metric": "count", "period": "month", "steps": steps_count}},
         assign=("tcm",))
    plan("tcq", "plans", "Count per quarter",
         {"tiers": {"metric": "count", "period": "quarter", "steps": steps_count}}, assign=("tcq",))
    plan("trm", "plans", "Revenue per month", {"tiers": {"metric": "revenue", "period": "month", "steps": steps_rev}},
         assign=("trm",))
    plan("trq", "plans", "Revenue per quarter",
         {"tiers": {"metric": "revenue", "period": "quarter", "steps": steps_rev}}, assign=("trq",))
    plan("team", "plans", "Team", {"sale_bps": 2000, "agent_share_bps": 3333}, assign=("org",))
    plan("ovreq", "plans", "Override needs a sale",
         {"sale_bps": 1000, "override_bps": [1000], "override_requires_sale": True}, assign=("rq", "pq"))
    plan("versioned", "plans", "Versioned", {"sale_bps": 1000}, assign=("vp",))
    plan("assigned", "plans", "Assigned later", {"sale_bps": 700})

    # FX: partners paid in euros.
    program("fx", "FX", holding_period_days=365)
    partner("fxe", "fx", currency="eur")
    partner("fxu", "fx")
    plan("fx", "fx", "FX", {"sale_bps": 1000}, default=True)

    program("ledger", "Ledger", holding_period_days=365)
    partner("lg", "ledger")
    plan("ledger", "ledger", "Ledger", {"sale_bps": 1000}, default=True)

    program("sim", "Simulate", holding_period_days=365)
    partner("sa", "sim")
    partner("sb", "sim")
    plan("sim", "sim", "Sim", {"sale_bps": 2000}, default=True)

    for base, quote, rate in (("jpy", "usd", "0.0067"), ("bhd", "usd", "2.65"), ("usd", "eur", "0.92"),
                              ("eur", "usd", "1.10")):
        r = srv.post(FX, {"base": base, "quote": quote, "rate": rate, "valid_from": OLD}, key=admin)
        assert r.status in (200, 201), r

    # The timeline of the tier and recurring tests: a quarter that starts well after the story's holding period.
    q0 = quarter_start_after(ctx["t0"] + 40 * DAY)
    ctx["s1"] = q0 + timedelta(days=1, hours=12)
    ctx["s2"] = q0 + timedelta(days=12, hours=12)
    ctx["s3"] = add_months(q0, 1) + timedelta(days=20, hours=12)
    ctx["s4"] = add_months(q0, 3) + timedelta(days=1, hours=12)
    return ctx


# ---- helpers ----

def goto(srv, ctx, when):
    """Moves refd's clock so that its now is `when` (a datetime, or epoch seconds); the offset only grows."""
    epoch = when.timestamp() if isinstance(when, datetime) else when
    offset = int((epoch - time.time()) * 1000)
    assert offset > ctx["clock"], "the clock only moves forward"
    srv.set_clock(offset)
    ctx["clock"] = offset


def server_now_ms(ctx):
    return int(time.time() * 1000) + ctx["clock"]


def sale(srv, ctx, prog, amount, cur="usd", status=201, field=None, **extra):
    ctx["n"] += 1
    body = {"program_id": ctx[prog], "amount": money(amount, cur), "external_id": "inv-%05d" % ctx["n"]}
    body.update(extra)
    return expect(srv.post(SALES, body, key=ctx["admin"]), status, field=field)


def refund(srv, ctx, sale_id=None, amount=None, cur="usd", status=201, field=None, **extra):
    body = {}
    if sale_id:
        body["sale_id"] = sale_id
    if amount is not None:
        body["amount"] = money(amount, cur)
    body.update(extra)
    return expect(srv.post(REFUNDS, body, key=ctx["admin"]), status, field=field)


def listing(srv, ctx, query):
    items, _ = walk_pages(srv, COMMS + "?" + query, 100, key=ctx["admin"])
    return items


def get_com(srv, ctx, cid):
    return expect(srv.get(COMMS + "/" + cid, key=ctx["admin"]), 200)


def get_sale(srv, ctx, sid):
    return expect(srv.get(SALES + "/" + sid, key=ctx["admin"]), 200)


def one(entries, **kv):
    found = [e for e in entries if all(e.get(k) == v for k, v in kv.items())]
    assert len(found) == 1, "want one entry with %r, got %r" % (kv, entries)
    return found[0]


def earned(entries, pid, role=None):
    return sum(e["earned"]["amount"] for e in entries if e["partner_id"] == pid and (role is None or e["role"] == role))


def new_lead(srv, ctx, prog, **fields):
    body = {"program_id": ctx[prog]}
    body.update(fields)
    return expect(srv.post(LEADS, body, key=ctx["admin"]), 201)


def move(srv, ctx, lid, to):
    return expect(srv.post(LEADS + "/" + lid + "/status", {"status": to}, key=ctx["admin"]), 200)


def expected_balance(entries):
    out = {}
    for e in entries:
        if e["status"] == "rejected" or e["amount"] is None:
            continue
        b = out.setdefault(e["amount"]["currency"], {"pending": 0, "held": 0, "approved": 0, "paid": 0})
        b[e["status"]] += e["amount"]["amount"]
    for b in out.values():
        b["total"] = b["pending"] + b["held"] + b["approved"] + b["paid"]
    return {c: b for c, b in out.items() if any(b.values())}


def balance(srv, ctx, pid):
    b = expect(srv.get(PARTNERS + "/" + pid + "/balance", key=ctx["admin"]), 200)
    assert b["partner_id"] == pid, b
    out = {}
    for row in b["balances"]:
        vals = {}
        for s in ("pending", "held", "approved", "paid", "total"):
            assert row[s]["currency"] == row["currency"], row
            vals[s] = row[s]["amount"]
        if any(vals.values()):
            out[row["currency"]] = vals
    return out


def check_balance(srv, ctx, pid):
    want = expected_balance(listing(srv, ctx, "partner_id=" + pid))
    got = balance(srv, ctx, pid)
    assert got == want, "balance of %s: %r, entries say %r" % (pid, got, want)
    return got


def mentions(blob, *alternatives):
    return any(a.lower() in blob.lower() for a in alternatives)


def check_chain(ctx, sale_obj, c, rule, levels=((1000, "r1"), (500, "r2"), (250, "r3")), seller="seller"):
    """The seller's entry of c and its recruiters' overrides, each from c (not from the level below)."""
    cs = sale_obj["commissions"]
    assert len(cs) == 1 + len(levels), cs
    d = one(cs, partner_id=ctx[seller])
    assert (d["role"], d["level"], d["rule"]) == ("direct", 0, rule), d
    assert d["earned"] == money(c) and d["amount"] == money(c) and d["fx_rate"] is None, d
    assert d["sale_id"] == sale_obj["id"] and d["status"] == "pending" and d["reverses_id"] is None, d
    assert d["event"]["type"] == "sale" and d["event"]["id"] == sale_obj["id"], d
    assert d["object"] == "commission" and d["id"].startswith("com_"), d
    for lvl, (bps, who) in enumerate(levels, 1):
        o = one(cs, partner_id=ctx[who])
        assert (o["role"], o["level"], o["rule"]) == ("override", lvl, "override"), o
        assert o["earned"] == money(pct(c, bps)) and o["amount"] == money(pct(c, bps)), (bps, o)
    return d


# ---- the story ----

def test_first_sale_through_a_code_converts_the_lead_and_pays_three_override_levels(srv, ctx):
    s = sale(srv, ctx, "story", 4900, email="carol@customer.example", code="story-seller",
             external_id="inv-story-1")
    assert s["object"] == "sale" and s["id"].startswith("sale_") and s["program_id"] == ctx["story"]
    assert s["kind"] == "first" and s["partner_id"] == ctx["seller"] and s["agent_id"] is None, s
    assert s["amount"] == money(4900) and s["refunded"] == money(0) and s["disputed"] == money(0), s
    assert s["source"] == "api" and s["external_id"] == "inv-story-1" and s["note"] is None, s
    assert s["customer_id"].startswith("cust_") and s["lead_id"].startswith("lead_"), s
    lead = expect(srv.get(LEADS + "/" + s["lead_id"], key=ctx["admin"]), 200)
    assert lead["email"] == "carol@customer.example" and lead["status"] == "converted", lead
    assert lead["attribution"]["method"] == "code" and lead["attribution"]["partner_id"] == ctx["seller"], lead
    hist = expect(srv.get(LEADS + "/" + s["lead_id"] + "/history", key=ctx["admin"]), 200)["data"]
    assert hist[-1]["to"] == "converted", hist
    d = check_chain(ctx, s, 980, "sale")
    # 24.5 rounds half-even to 24 at the third level.
    assert [one(s["commissions"], partner_id=ctx[p])["earned"]["amount"] for p in ("r1", "r2", "r3")] == [98, 49, 24]
    assert d["plan_id"] == ctx["plan_story"] and d["plan_version"] == 1, d
    assert ms_of(d["hold_until"]) == ms_of(s["occurred_at"]) + 30 * DAY * 1000, (d["hold_until"], s["occurred_at"])
    assert get_sale(srv, ctx, s["id"])["id"] == s["id"]
    listed = listing(srv, ctx, "sale_id=" + s["id"])
    assert sorted(e["id"] for e in listed) == sorted(e["id"] for e in s["commissions"])
    ctx["story_first"] = s


def test_customers_found_by_lead_id_partner_id_and_customer_external_id(srv, ctx):
    lead = new_lead(srv, ctx, "story", email="erin@customer.example", code="story-seller")
    s = sale(srv, ctx, "story", 4900, lead_id=lead["id"])
    assert s["lead_id"] == lead["id"] and s["partner_id"] == ctx["seller"] and s["kind"] == "first", s
    check_chain(ctx, s, 980, "sale")
    d = sale(srv, ctx, "story", 4900, email="dave@customer.example", partner_id=ctx["direct2"])
    assert d["partner_id"] == ctx["direct2"] and d["kind"] == "first", d
    assert [(e["partner_id"], e["role"], e["earned"]["amount"]) for e in d["commissions"]] == \
        [(ctx["direct2"], "direct", 980)], d
    lead = expect(srv.get(LEADS + "/" + d["lead_id"], key=ctx["admin"]), 200)
    assert lead["attribution"]["method"] == "explicit" and lead["status"] == "converted", lead
    f1 = sale(srv, ctx, "story", 4900, customer_external_id="crm-frank", partner_id=ctx["direct2"])
    f2 = sale(srv, ctx, "story", 4900, customer_external_id="crm-frank")
    assert f1["kind"] == "first" and f2["kind"] == "recurring", (f1, f2)
    assert f2["customer_id"] == f1["customer_id"] and f2["partner_id"] == ctx["direct2"], f2
    assert [(e["rule"], e["earned"]["amount"]) for e in f2["commissions"]] == [("recurring", 980)], f2


def test_renewals_are_recurring_sales_with_overrides(srv, ctx):
    first = ctx["story_first"]
    ren = []
    for _ in range(2):
        s = sale(srv, ctx, "story", 4900, email="carol@customer.example")
        assert s["kind"] == "recurring" and s["customer_id"] == first["customer_id"], s
        assert s["lead_id"] == first["lead_id"] and s["partner_id"] == ctx["seller"], s
        check_chain(ctx, s, 980, "recurring")
        ren.append(s)
    ctx["ren1"], ctx["ren2"] = ren


def test_partial_then_full_refunds_reverse_each_commission_exactly(srv, ctx):
    ren1, ren2 = ctx["ren1"], ctx["ren2"]
    originals = {e["id"]: e for e in ren1["commissions"]}
    r = refund(srv, ctx, ren1["id"], 1000, reason="customer asked")
    assert r["object"] == "refund" and r["id"].startswith("rfd_") and r["kind"] == "refund", r
    assert r["sale_id"] == ren1["id"] and r["amount"] == money(1000) and r["reason"] == "customer asked", r
    got = {}
    for e in r["commissions"]:
        o = originals[e["reverses_id"]]
        assert e["rule"] == "reversal" and e["partner_id"] == o["partner_id"] and e["refund_id"] == r["id"], e
        assert e["sale_id"] == ren1["id"] and e["event"]["type"] == "refund" and e["event"]["id"] == r["id"], e
        assert e["role"] == o["role"] and e["level"] == o["level"], (e, o)
        got[o["partner_id"]] = e["earned"]["amount"]
        assert e["amount"] == e["earned"], e
    want = {ctx["seller"]: -200, ctx["r1"]: -20, ctx["r2"]: -10, ctx["r3"]: -5}
    assert got == want, got
    assert get_sale(srv, ctx, ren1["id"])["refunded"] == money(1000)
    # No amount: what is left.
    r2 = refund(srv, ctx, ren1["id"])
    assert r2["amount"] == money(3900), r2
    got2 = {originals[e["reverses_id"]]["partner_id"]: e["earned"]["amount"] for e in r2["commissions"]}
    assert got2 == {ctx["seller"]: -780, ctx["r1"]: -78, ctx["r2"]: -39, ctx["r3"]: -19}, got2
    for pid in want:
        assert got[pid] + got2[pid] == -earned(ren1["commissions"], pid), pid
    assert get_sale(srv, ctx, ren1["id"])["refunded"] == money(4900)
    # The second renewal, by its invoice id, in full.
    r3 = refund(srv, ctx, None, 4900, sale_external_id=ren2["external_id"], program_id=ctx["story"])
    assert r3["sale_id"] == ren2["id"], r3
    got3 = sorted(e["earned"]["amount"] for e in r3["commissions"])
    assert got3 == [-980, -98, -49, -24], got3
    # Reversals are entries of their own, listed with the sale's.
    listed = listing(srv, ctx, "sale_id=" + ren1["id"])
    assert len(listed) == 12 and sum(e["earned"]["amount"] for e in listed) == 0, listed
    rev = get_com(srv, ctx, r["commissions"][0]["id"])
    assert rev["reverses_id"] in originals and rev["hold_until"] is not None


def test_refunds_beyond_the_sale_are_refused(srv, ctx):
    before = db_counts(srv, LEDGER)
    refund(srv, ctx, ctx["ren1"]["id"], 1, status=400, field="amount")
    refund(srv, ctx, ctx["story_first"]["id"], 4901, status=400, field="amount")
    refund(srv, ctx, ctx["ren2"]["id"], status=400)
    assert db_counts(srv, LEDGER) == before


# ---- money ----

def test_half_even_rounding_and_odd_cents(srv, ctx):
    for pid, amount, want in (("m20", 1234, 247), ("m125", 100, 12), ("m125", 300, 38), ("m125", 20, 2),
                              ("m125", 28, 4), ("m20", 4999, 1000), ("m20", 1, 0 + 0), ("m125", 1001, 125)):
        s = sale(srv, ctx, "money", amount, email="round-%s-%d@customer.example" % (pid, amount),
                 partner_id=ctx[pid])
        got = earned(s["commissions"], ctx[pid])
        assert got == want == pct(amount, 2000 if pid == "m20" else 1250), (pid, amount, got, want, s)


def test_zero_decimal_and_three_decimal_currencies(srv, ctx):
    s = sale(srv, ctx, "money", 5000, "jpy", email="yen@customer.example", partner_id=ctx["m20"])
    assert s["amount"] == money(5000, "jpy"), s
    e = one(s["commissions"], partner_id=ctx["m20"])
    # ¥5,000 x 20 % = ¥1,000, at 0.0067 = $6.70.
    assert e["earned"] == money(1000, "jpy") and e["amount"] == money(670, "usd"), e
    assert Decimal(e["fx_rate"]) == Decimal("0.0067"), e
    b = sale(srv, ctx, "money", 12346, "bhd", email="dinar@customer.example", partner_id=ctx["mbhd"])
    e = one(b["commissions"], partner_id=ctx["mbhd"])
    assert e["earned"] == money(2469, "bhd") and e["amount"] == money(2469, "bhd") and e["fx_rate"] is None, e
    b2 = sale(srv, ctx, "money", 12345, "bhd", email="dinar2@customer.example", partner_id=ctx["m20"])
    e = one(b2["commissions"], partner_id=ctx["m20"])
    # 2.469 BHD x 2.65 = 6.54285 USD: 654 cents.
    assert e["earned"] == money(2469, "bhd") and e["amount"] == money(654, "usd"), e
    assert convert(2469, "bhd", "usd", ppb("2.65")) == 654


def test_partial_refunds_of_a_recurring_sale_add_up_to_the_commission(srv, ctx):
    sale(srv, ctx, "money", 1500, email="parts@customer.example", partner_id=ctx["m125"])
    s = sale(srv, ctx, "money", 1001, email="parts@customer.example")
    assert s["kind"] == "recurring" and s["partner_id"] == ctx["m125"], s
    c = earned(s["commissions"], ctx["m125"])
    assert c == 125
    prior, total = 0, 0
    for part in (333, 333, 335):
        r = refund(srv, ctx, s["id"], part)
        got = earned(r["commissions"], ctx["m125"])
        assert got == -reversal(c, 1001, prior, part), (part, got)
        prior += part
        total += got
    assert total == -c
    assert sum(e["earned"]["amount"] for e in listing(srv, ctx, "sale_id=" + s["id"])) == 0


def test_disputes_reverse_like_refunds(srv, ctx):
    s = sale(srv, ctx, "money", 2000, email="dispute@customer.example", partner_id=ctx["m20"])
    d = refund(srv, ctx, s["id"], 500, kind="dispute", external_id="dp_money_1")
    assert d["kind"] == "dispute" and d["external_id"] == "dp_money_1", d
    e = one(d["commissions"], partner_id=ctx["m20"])
    assert e["earned"] == money(-100) and e["event"]["type"] == "dispute", e
    got = get_sale(srv, ctx, s["id"])
    assert got["disputed"] == money(500) and got["refunded"] == money(0), got
    r = refund(srv, ctx, s["id"], 1500)
    assert earned(r["commissions"], ctx["m20"]) == -300
    refund(srv, ctx, s["id"], 1, status=400, field="amount")
    # The same dispute again is the same refund.
    again = refund(srv, ctx, s["id"], 500, kind="dispute", external_id="dp_money_1", status=200)
    assert again["duplicate"] is True and again["id"] == d["id"], again


def test_duplicate_invoice_is_idempotent_and_a_changed_one_conflicts(srv, ctx):
    s = sale(srv, ctx, "money", 1500, email="dup@customer.example", partner_id=ctx["m20"], external_id="in_dup_1")
    before = db_counts(srv, LEDGER)
    d = sale(srv, ctx, "money", 1500, email="dup@customer.example", partner_id=ctx["m20"], external_id="in_dup_1",
             status=200)
    assert d["duplicate"] is True and d["id"] == s["id"] and d["amount"] == money(1500), d
    sale(srv, ctx, "money", 1501, email="dup@customer.example", external_id="in_dup_1", status=409)
    sale(srv, ctx, "money", 1500, "eur", email="dup@customer.example", external_id="in_dup_1", status=409)
    assert db_counts(srv, LEDGER) == before


def test_bad_sales_are_refused_and_write_nothing(srv, ctx):
    base = {"program_id": ctx["money"], "email": "valid@customer.example", "amount": money(1000),
            "external_id": "val-1"}
    cases = [
        ({"amount": None}, "amount"), ({"amount": money(0)}, "amount"), ({"amount": money(-5)}, "amount"),
        ({"amount": {"amount": "10", "currency": "usd"}}, "amount"), ({"amount": money(10, "xyz")}, "amount"),
        ({"amount": 10}, "amount"), ({"amount": {"amount": 10.5, "currency": "usd"}}, "amount"),
        ({"external_id": None}, "external_id"), ({"external_id": ""}, "external_id"), ({"external_id": 5}, "external_id"),
        ({"kind": "refund"}, "kind"), ({"lead_id": "lead_nope"}, "lead_id"), ({"partner_id": "ptn_nope"}, "partner_id"),
        ({"code": "no-such-code"}, "code"), ({"occurred_at": "yesterday"}, "occurred_at"),
        ({"program_id": "prg_nope"}, "program_id"), ({"metadata": []}, "metadata"), ({"email": "not-an-email"}, "email"),
        ({"amout": money(5)}, "amout"),
    ]
    before = db_counts(srv, LEDGER)
    problems = []
    for change, field in cases:
        body = dict(base)
        for k, v in change.items():
            if v is None:
                body.pop(k)
            else:
                body[k] = v
        r = srv.post(SALES, body, key=ctx["admin"])
        if r.status != 400 or not r.json or r.json["error"].get("field") != field:
            problems.append((change, field, r))
    r = srv.post(SALES, {"program_id": ctx["money"], "amount": money(1000), "external_id": "val-2"},
                 key=ctx["admin"])
    if r.status != 400:
        problems.append(("no customer", r))
    assert not problems, problems
    assert db_counts(srv, LEDGER) == before
    expect(srv.post(SALES, base), 401)
    pkey = srv.admin_key(role="partner", partner=ctx["m20"], name="m20")
    expect(srv.post(SALES, base, key=pkey), 403)
    assert db_counts(srv, LEDGER) == before


def test_bad_refunds_are_refused(srv, ctx):
    s = sale(srv, ctx, "money", 1000, email="refund-val@customer.example", partner_id=ctx["m20"])
    before = db_counts(srv, LEDGER)
    expect(srv.post(REFUNDS, {}, key=ctx["admin"]), 400)
    r = srv.post(REFUNDS, {"sale_id": "sale_nope"}, key=ctx["admin"])
    assert r.status in (400, 404), r
    refund(srv, ctx, s["id"], 100, kind="chargeback", status=400, field="kind")
    refund(srv, ctx, s["id"], 0, status=400, field="amount")
    refund(srv, ctx, s["id"], -1, status=400, field="amount")
    refund(srv, ctx, s["id"], 100, "eur", status=400, field="amount")
    refund(srv, ctx, s["id"], 1001, status=400, field="amount")
    assert db_counts(srv, LEDGER) == before


# ---- plans ----

def test_plan_objects(srv, ctx):
    p = ctx["planobj_story"]
    assert p["object"] == "plan" and p["id"].startswith("pln_") and p["program_id"] == ctx["story"], p
    assert p["name"] == "Story Standard" and p["default"] is True and p["version"] == 1, p
    assert p["rules"]["sale_bps"] == 2000 and p["rules"]["override_bps"] == [1000, 500, 250], p
    got = expect(srv.get(PLANS + "/" + p["id"], key=ctx["admin"]), 200)
    assert got["id"] == p["id"] and got["rules"] == p["rules"] and got["version"] == 1, got
    assert ctx["planobj_assigned"]["default"] is False
    listed, _ = walk_pages(srv, PLANS + "?program_id=" + ctx["plans"], 100, key=ctx["admin"])
    names = {x["name"] for x in listed}
    assert "Versioned" in names and "Story Standard" not in names and len(listed) == 13, names
    expect(srv.get(PLANS + "/pln_nope", key=ctx["admin"]), 404)


def test_bad_plans_are_refused(srv, ctx):
    tiers = {"metric": "count", "period": "month", "steps": [{"from": 0, "bps": 1000}]}
    cases = [
        ({"name": None}, "name"),
        ({"program_id": "prg_nope"}, "program_id"),
        ({"rules": {"sale_bps": 10001}}, "rules.sale_bps"), ({"rules": {"sale_bps": -1}}, "rules.sale_bps"),
        ({"rules": {"sale_bps": "2000"}}, "rules.sale_bps"),
        ({"rules": {"recurring": "weekly"}}, "rules.recurring"),
        ({"rules": {"recurring": "months"}}, "rules.recurring_months"),
        ({"rules": {"recurring": "months", "recurring_months": 121}}, "rules.recurring_months"),
        ({"rules": {"recurring": "months", "recurring_months": 0}}, "rules.recurring_months"),
        ({"rules": {"override_bps": [1, 2, 3, 4, 5, 6]}}, "rules.override_bps"),
        ({"rules": {"override_bps": [10001]}}, "rules.override_bps"),
        ({"rules": {"agent_share_bps": 10001}}, "rules.agent_share_bps"),
        ({"rules": {"lead_amount": money(-1)}}, "rules.lead_amount"),
        ({"rules": {"sale_flat": 100}}, "rules.sale_flat"),
        ({"rules": {"tiers": dict(tiers, metric="clicks")}}, "rules.tiers"),
        ({"rules": {"tiers": dict(tiers, period="week")}}, "rules.tiers"),
        ({"rules": {"tiers": dict(tiers, steps=[])}}, "rules.tiers"),
        ({"rules": {"tiers": dict(tiers, steps=[{"from": 5, "bps": 1000}, {"from": 2, "bps": 2000}])}},
         "rules.tiers"),
        ({"rules": {"bogus": 1}}, "rules.bogus"),
        ({"rules": []}, "rules"),
    ]
    before = db_counts(srv, LEDGER)
    problems = []
    for change, field in cases:
        body = {"program_id": ctx["plans"], "name": "Bad", "rules": {"sale_bps": 1000}}
        for k, v in change.items():
            if v is None:
                body.pop(k)
            else:
                body[k] = v
        r = srv.post(PLANS, body, key=ctx["admin"])
        f = (r.json or {}).get("error", {}).get("field") or ""
        if r.status != 400 or not (f == field or f.startswith(field + ".") or f.startswith(field + "[")):
            problems.append((change, field, r))
    r = srv.patch(PLANS + "/" + ctx["plan_versioned"], {"rules": {"sale_bps": 20000}}, key=ctx["admin"])
    if r.status != 400 or r.json["error"]["field"] != "rules.sale_bps":
        problems.append(("patch", r))
    assert not problems, problems
    assert db_counts(srv, LEDGER) == before


def test_per_lead_commission_is_paid_once_when_qualified(srv, ctx):
    def lead_entries(lid):
        return [e for e in listing(srv, ctx, "lead_id=" + lid) if e["rule"] == "lead"]

    la = new_lead(srv, ctx, "plans", email="lead-a@leads.example", partner_id=ctx["lp_cpl"])
    assert lead_entries(la["id"]) == []
    move(srv, ctx, la["id"], "qualified")
    es = lead_entries(la["id"])
    # The partner's own cost per lead, instead of lead_amount.
    assert len(es) == 1 and es[0]["earned"] == money(750) and es[0]["amount"] == money(750), es
    e = es[0]
    assert (e["partner_id"], e["role"], e["lead_id"], e["sale_id"]) == (ctx["lp_cpl"], "direct", la["id"], None), e
    assert e["event"]["type"] == "lead" and e["plan_id"] == ctx["plan_leads"], e
    move(srv, ctx, la["id"], "converted")
    assert [x["id"] for x in lead_entries(la["id"])] == [e["id"]], "paid once"
    lb = new_lead(srv, ctx, "plans", email="lead-b@leads.example", partner_id=ctx["lp_zero"])
    move(srv, ctx, lb["id"], "contacted")
    assert lead_entries(lb["id"]) == []
    move(srv, ctx, lb["id"], "qualified")
    assert [x["earned"] for x in lead_entries(lb["id"])] == [money(500)], "no cost per lead: lead_amount"
    lc = new_lead(srv, ctx, "plans", email="lead-c@leads.example", partner_id=ctx["lp_zero"])
    move(srv, ctx, lc["id"], "converted")
    assert [x["earned"] for x in lead_entries(lc["id"])] == [money(500)], "converted without passing qualified"
    s = sale(srv, ctx, "plans", 9900, email="lead-d@leads.example", partner_id=ctx["lp_zero"])
    assert [x["earned"] for x in lead_entries(s["lead_id"])] == [money(500)], "converted by its first sale"
    assert not [x for x in s["commissions"] if x["rule"] in ("sale", "recurring")], s
    ln = new_lead(srv, ctx, "plans", email="lead-n@leads.example")
    move(srv, ctx, ln["id"], "qualified")
    assert listing(srv, ctx, "lead_id=" + ln["id"]) == []


def test_flat_plus_percent(srv, ctx):
    s = sale(srv, ctx, "plans", 2500, email="flat@customer.example", partner_id=ctx["fp"])
    assert {e["partner_id"] for e in s["commissions"]} == {ctx["fp"]}, s
    assert all(e["rule"] == "sale" and e["earned"]["currency"] == "usd" for e in s["commissions"]), s
    assert earned(s["commissions"], ctx["fp"]) == 100 + 250, s


def test_agent_share_splits_the_commission_with_the_team_parent(srv, ctx):
    lead = new_lead(srv, ctx, "plans", email="team@customer.example", agent_id=ctx["ag"])
    assert lead["attribution"]["partner_id"] == ctx["org"] and lead["attribution"]["agent_id"] == ctx["ag"], lead
    for amount, c, agent_part in ((1001, 200, 67), (1234, 247, 82)):
        s = sale(srv, ctx, "plans", amount, lead_id=lead["id"])
        assert s["partner_id"] == ctx["org"] and s["agent_id"] == ctx["ag"], s
        a = one(s["commissions"], partner_id=ctx["ag"])
        t = one(s["commissions"], partner_id=ctx["org"])
        assert a["role"] == "agent" and t["role"] == "team" and len(s["commissions"]) == 2, s
        assert a["earned"]["amount"] == agent_part == pct(c, 3333), a
        assert a["earned"]["amount"] + t["earned"]["amount"] == c == pct(amount, 2000), (a, t)
        assert a["plan_id"] == t["plan_id"] == ctx["plan_team"], "the team parent's plan"


def test_override_requires_a_sale_of_the_recruiter_in_the_month(srv, ctx):
    s1 = sale(srv, ctx, "plans", 1000, email="pq1@customer.example", partner_id=ctx["pq"])
    assert [(e["partner_id"], e["earned"]["amount"]) for e in s1["commissions"]] == [(ctx["pq"], 100)], s1
    own = sale(srv, ctx, "plans", 2000, email="rq-own@customer.example", partner_id=ctx["rq"])
    assert [(e["partner_id"], e["role"], e["earned"]["amount"]) for e in own["commissions"]] == \
        [(ctx["rq"], "direct", 200)], own
    s2 = sale(srv, ctx, "plans", 3000, email="pq2@customer.example", partner_id=ctx["pq"])
    o = one(s2["commissions"], partner_id=ctx["rq"])
    assert (o["role"], o["level"], o["earned"]["amount"]) == ("override", 1, 30), o
    assert one(s2["commissions"], partner_id=ctx["pq"])["earned"]["amount"] == 300


def test_plan_assignment(srv, ctx):
    s = sale(srv, ctx, "plans", 1000, email="as1-a@customer.example", partner_id=ctx["as1"])
    assert s["commissions"] == [] and s["note"], "no plan: the sale is recorded, nobody earns: %r" % s
    expect(srv.post(PLANS + "/" + ctx["plan_assigned"] + "/assign", {"partner_ids": [ctx["as1"], ctx["as2"]]},
                    key=ctx["admin"]), 200)
    for pid in ("as1", "as2"):
        p = expect(srv.get(PARTNERS + "/" + ctx[pid], key=ctx["admin"]), 200)
        assert p["plan_id"] == ctx["plan_assigned"], p
    s = sale(srv, ctx, "plans", 1000, email="as2-a@customer.example", partner_id=ctx["as2"])
    e = one(s["commissions"], partner_id=ctx["as2"])
    assert e["earned"] == money(70) and e["plan_id"] == ctx["plan_assigned"], e
    p = expect(srv.patch(PARTNERS + "/" + ctx["as2"], {"plan_id": ctx["plan_lifetime"]}, key=ctx["admin"]), 200)
    assert p["plan_id"] == ctx["plan_lifetime"], p
    s = sale(srv, ctx, "plans", 1000, email="as2-b@customer.example", partner_id=ctx["as2"])
    e = one(s["commissions"], partner_id=ctx["as2"])
    assert e["earned"] == money(100) and e["plan_id"] == ctx["plan_lifetime"], e
    p = expect(srv.post(PARTNERS, {"program_id": ctx["plans"], "name": "With plan", "email": "wp@partners.example",
                                   "plan_id": ctx["plan_assigned"]}, key=ctx["admin"]), 201)
    assert p["plan_id"] == ctx["plan_assigned"], p
    expect(srv.post(PLANS + "/" + ctx["plan_assigned"] + "/assign", {"partner_ids": ["ptn_nope"]},
                    key=ctx["admin"]), 400, field="partner_ids")
    expect(srv.post(PLANS + "/" + ctx["plan_assigned"] + "/assign", {"partner_ids": [ctx["seller"]]},
                    key=ctx["admin"]), 400, field="partner_ids")


def test_a_plan_change_applies_only_to_events_after_it(srv, ctx):
    s1 = sale(srv, ctx, "plans", 1000, email="v1@customer.example", partner_id=ctx["vp"])
    e1 = one(s1["commissions"], partner_id=ctx["vp"])
    assert e1["earned"] == money(100) and e1["plan_version"] == 1, e1
    time.sleep(0.01)
    p = expect(srv.patch(PLANS + "/" + ctx["plan_versioned"], {"rules": {"sale_bps": 1500}}, key=ctx["admin"]), 200)
    assert p["version"] == 2 and p["rules"]["sale_bps"] == 1500, p
    s2 = sale(srv, ctx, "plans", 1000, email="v2@customer.example", partner_id=ctx["vp"])
    e2 = one(s2["commissions"], partner_id=ctx["vp"])
    assert e2["earned"] == money(150) and e2["plan_version"] == 2, e2
    # A sale that happened before the change, reported after it, is paid by the version of its time.
    s3 = sale(srv, ctx, "plans", 1000, email="v3@customer.example", partner_id=ctx["vp"],
              occurred_at=s1["occurred_at"])
    e3 = one(s3["commissions"], partner_id=ctx["vp"])
    assert e3["earned"] == money(100) and e3["plan_version"] == 1, e3
    assert get_com(srv, ctx, e1["id"])["earned"] == money(100)
    p = expect(srv.patch(PLANS + "/" + ctx["plan_versioned"], {"name": "Versioned (renamed)"}, key=ctx["admin"]), 200)
    assert p["version"] == 2 and p["name"] == "Versioned (renamed)", "a name change is not a new version"


# ---- FX ----

def fx_post(srv, ctx, base, quote, rate, valid_from=OLD):
    r = srv.post(FX, {"base": base, "quote": quote, "rate": rate, "valid_from": valid_from}, key=ctx["admin"])
    assert r.status in (200, 201), r
    return r.json


def fx_list(srv, ctx, base, quote):
    body = expect(srv.get(FX + "?base=%s&quote=%s" % (base, quote), key=ctx["admin"]), 200)
    return body["data"] if isinstance(body, dict) else body


def test_the_rate_valid_at_the_sale_time_is_used(srv, ctx):
    s1 = sale(srv, ctx, "fx", 10000, email="fx1@customer.example", partner_id=ctx["fxe"])
    e1 = one(s1["commissions"], partner_id=ctx["fxe"])
    assert e1["earned"] == money(1000) and e1["amount"] == money(920, "eur"), e1
    assert Decimal(e1["fx_rate"]) == Decimal("0.92") and e1["status"] == "pending", e1
    later = ms_of(s1["occurred_at"]) + 1
    fx_post(srv, ctx, "usd", "eur", "0.95", fmt_ms(later))
    while server_now_ms(ctx) <= later + 5:
        time.sleep(0.01)
    s2 = sale(srv, ctx, "fx", 10000, email="fx2@customer.example", partner_id=ctx["fxe"])
    e2 = one(s2["commissions"], partner_id=ctx["fxe"])
    assert e2["amount"] == money(950, "eur") and Decimal(e2["fx_rate"]) == Decimal("0.95"), e2
    s3 = sale(srv, ctx, "fx", 10000, email="fx3@customer.example", partner_id=ctx["fxe"],
              occurred_at=s1["occurred_at"])
    e3 = one(s3["commissions"], partner_id=ctx["fxe"])
    assert e3["amount"] == money(920, "eur") and Decimal(e3["fx_rate"]) == Decimal("0.92"), "the later rate is not used"
    assert get_com(srv, ctx, e1["id"])["amount"] == money(920, "eur")
    rates = fx_list(srv, ctx, "usd", "eur")
    assert sorted(Decimal(r["rate"]) for r in rates) == [Decimal("0.92"), Decimal("0.95")], rates
    assert all(r["object"] == "fx_rate" and r["base"] == "usd" and r["quote"] == "eur" for r in rates), rates
    ctx["fx_entry"] = e1


def test_a_missing_rate_holds_the_entry_until_it_is_loaded(srv, ctx):
    s = sale(srv, ctx, "fx", 5000, "gbp", email="fx-gbp@customer.example", partner_id=ctx["fxe"])
    e = one(s["commissions"], partner_id=ctx["fxe"])
    assert e["earned"] == money(500, "gbp") and e["amount"] is None and e["status"] == "held", e
    assert "gbp" in e["status_reason"].lower() and "eur" in e["status_reason"].lower(), e
    fx_post(srv, ctx, "gbp", "eur", "1.15")
    deadline = time.time() + 30
    got = get_com(srv, ctx, e["id"])
    while got["status"] != "pending" and time.time() < deadline:
        time.sleep(0.05)
        got = get_com(srv, ctx, e["id"])
    assert got["status"] == "pending" and got["amount"] == money(575, "eur"), got
    assert Decimal(got["fx_rate"]) == Decimal("1.15"), got
    assert (got["history"][-1]["from"], got["history"][-1]["to"]) == ("held", "pending"), got["history"]
    check_balance(srv, ctx, ctx["fxe"])


def test_the_inverse_pair_is_used_when_only_it_is_known(srv, ctx):
    fx_post(srv, ctx, "eur", "chf", "0.937")
    s = sale(srv, ctx, "fx", 3333, "chf", email="fx-chf@customer.example", partner_id=ctx["fxe"])
    e = one(s["commissions"], partner_id=ctx["fxe"])
    inv = rhe(10 ** 18, ppb("0.937"))
    assert inv == 1067235859
    assert e["earned"] == money(333, "chf") and e["amount"] == money(convert(333, "chf", "eur", inv), "eur"), e
    assert e["amount"]["amount"] == 355 and Decimal(e["fx_rate"]) == Decimal("1.067235859"), e
    assert mentions(json.dumps(get_com(srv, ctx, e["id"])["explanation"]), "invers"), "the explanation names it"


def test_rates_from_a_list_and_from_csv(srv, ctx):
    r = srv.post(FX, {"rates": [{"base": "usd", "quote": "nzd", "rate": "10.5", "valid_from": "2021-01-01T00:00:00Z"},
                                {"base": "usd", "quote": "nzd", "rate": "10.75", "valid_from": "2021-02-01T00:00:00Z"}]},
                 key=ctx["admin"])
    assert r.status in (200, 201), r
    assert sorted(x["rate"] for x in fx_list(srv, ctx, "usd", "nzd")) == ["10.5", "10.75"]
    csv = "base,quote,rate,valid_from\ncad,usd,0.735,2020-01-01T00:00:00Z\nusd,cad,1.36,2020-01-01T00:00:00Z\n"
    r = srv.post(FX + "/import", raw=csv, key=ctx["admin"], headers={"Content-Type": "text/csv"})
    assert r.status in (200, 201), r
    assert [Decimal(x["rate"]) for x in fx_list(srv, ctx, "cad", "usd")] == [Decimal("0.735")]
    assert [Decimal(x["rate"]) for x in fx_list(srv, ctx, "usd", "cad")] == [Decimal("1.36")]
    s = sale(srv, ctx, "fx", 10000, "cad", email="fx-cad@customer.example", partner_id=ctx["fxu"])
    e = one(s["commissions"], partner_id=ctx["fxu"])
    assert e["earned"] == money(1000, "cad") and e["amount"] == money(735), e
    before = db_counts(srv, LEDGER)
    for bad in ("from,to,rate,valid_from\nusd,nok,10,2020-01-01T00:00:00Z\n", "usd,nok,10,2020-01-01T00:00:00Z\n",
                "base,quote,rate,valid_from\nusd,nok,ten,2020-01-01T00:00:00Z\n",
                "base,quote,rate,valid_from\nusd,nok,10,someday\n"):
        r = srv.post(FX + "/import", raw=bad, key=ctx["admin"], headers={"Content-Type": "text/csv"})
        assert r.status == 400, (bad, r)
    assert fx_list(srv, ctx, "usd", "nok") == [] and fx_list(srv, ctx, "nok", "usd") == []
    assert db_counts(srv, LEDGER) == before


def test_csv_rates_with_a_cell_too_many_are_refused_by_line_and_column(srv, ctx):
    """The CSV has exactly the four columns of its header: an extra header column or an extra cell in a row is
    refused, naming the line and the column, rather than dropped; so is a row with a cell missing."""
    head = "base,quote,rate,valid_from"
    row = "usd,dkk,6.9,2020-01-01T00:00:00Z"
    cases = [
        (head + ",note\n" + row + ",x\n", "line 1, column 5", "note"),
        (head + ",\n" + row + ",\n", "line 1, column 5", None),
        (head + "\n" + row + ",5\n", "line 2, column 5", None),
        (head + "\n" + row + "\n" + row.replace("6.9", "7.0") + ",extra,more\n", "line 3, column 5", None),
        (head + "\n\n\n" + row + ",\n", "line 4, column 5", None),
        (head + "\r\n" + row + ",x\r\n", "line 2, column 5", None),
        (head + "\n" + "usd,dkk,6.9\n", "line 2", "ends after column 3"),
        (head + ",base\n" + row + ",usd\n", "line 1, column 5", "base"),
        ("base,quote,rate,quote\n" + row + "\n", "line 1, column 4", "quote"),
        (",".join(["base", "quote", "rate", "valid_from"] + ["c%d" % i for i in range(12)]) + "\n" + row + "\n",
         "line 1, column 5", "c0"),
    ]
    before = db_counts(srv, LEDGER)
    problems = []
    for csv, where, what in cases:
        r = srv.post(FX + "/import", raw=csv, key=ctx["admin"], headers={"Content-Type": "text/csv"})
        msg = ((r.json or {}).get("error") or {}).get("message", "")
        if r.status != 400 or r.json["error"].get("field") != "csv" or where not in msg or (what and what not in msg):
            problems.append((csv, r))
    assert not problems, problems
    assert fx_list(srv, ctx, "usd", "dkk") == []
    assert db_counts(srv, LEDGER) == before
    # The columns may come in any order, and blank lines and CRLF are fine.
    r = srv.post(FX + "/import", raw="valid_from,rate,quote,base\r\n\r\n2020-01-01T00:00:00Z,6.9,dkk,usd\r\n",
                 key=ctx["admin"], headers={"Content-Type": "text/csv"})
    assert r.status == 201 and r.json["imported"] == 1, r
    assert [x["rate"] for x in fx_list(srv, ctx, "usd", "dkk")] == ["6.9"]


def test_bad_rates_are_refused(srv, ctx):
    before = db_counts(srv, LEDGER)
    problems = []
    for rate in ("abc", "0", "0.000000000", "-1.5", "1.1234567891", "", "1e5", "1,5", "0x10", 1.5, None):
        body = {"base": "usd", "quote": "nok", "valid_from": OLD}
        if rate is not None:
            body["rate"] = rate
        r = srv.post(FX, body, key=ctx["admin"])
        if r.status != 400 or not r.json or r.json["error"].get("field") != "rate":
            problems.append((rate, r))
    for change, field in (({"base": "xyz"}, "base"), ({"quote": "usdollar"}, "quote"),
                          ({"valid_from": "yesterday"}, "valid_from")):
        body = {"base": "usd", "quote": "nok", "rate": "10", "valid_from": OLD}
        body.update(change)
        r = srv.post(FX, body, key=ctx["admin"])
        if r.status != 400 or not r.json or r.json["error"].get("field") != field:
            problems.append((change, r))
    assert not problems, problems
    assert db_counts(srv, LEDGER) == before
    # Up to 9 decimals is fine.
    fx_post(srv, ctx, "usd", "nok", "10.123456789")
    assert [x["rate"] for x in fx_list(srv, ctx, "usd", "nok")] == ["10.123456789"]


# ---- the ledger ----

def act(srv, ctx, cid, action, reason=None, status=200, field=None, key=None):
    body = {} if reason is None else {"reason": reason}
    return expect(srv.post(COMMS + "/" + cid + "/" + action, body, key=key or ctx["admin"]), status, field=field)


def test_hold_and_approve_with_history(srv, ctx):
    s = sale(srv, ctx, "ledger", 2000, email="l1@customer.example", partner_id=ctx["lg"])
    e = one(s["commissions"], partner_id=ctx["lg"])
    assert e["status"] == "pending"
    act(srv, ctx, e["id"], "hold", status=400, field="reason")
    act(srv, ctx, e["id"], "hold", reason="", status=400, field="reason")
    pkey = srv.admin_key(role="partner", partner=ctx["lg"], name="lg")
    act(srv, ctx, e["id"], "approve", key=pkey, status=403)
    h = act(srv, ctx, e["id"], "hold", reason="order under review")
    assert h["status"] == "held" and h["status_reason"] == "order under review", h
    a = act(srv, ctx, e["id"], "approve")
    assert a["status"] == "approved" and a["amount"] == e["amount"], a
    full = get_com(srv, ctx, e["id"])
    moves = [(x["from"], x["to"], x["reason"]) for x in full["history"]]
    assert moves[-2:] == [("pending", "held", "order under review"), ("held", "approved", None)], moves
    assert all(x["actor"] and x["at"] for x in full["history"][-2:]), full["history"]
    s2 = sale(srv, ctx, "ledger", 3000, email="l2@customer.example", partner_id=ctx["lg"])
    e2 = one(s2["commissions"], partner_id=ctx["lg"])
    a2 = act(srv, ctx, e2["id"], "approve")
    assert a2["status"] == "approved", "approving a pending entry needs no reason"
    expect(srv.get(COMMS + "/com_nope", key=ctx["admin"]), 404)
    act(srv, ctx, "com_nope", "approve", status=404)
    ctx["lg_approved"] = [e["id"], e2["id"]]


def test_reject_needs_a_reason_and_a_rejected_entry_cannot_be_approved(srv, ctx):
    s = sale(srv, ctx, "ledger", 4000, email="l3@customer.example", partner_id=ctx["lg"])
    e = one(s["commissions"], partner_id=ctx["lg"])
    rf = refund(srv, ctx, s["id"], 1000)
    rev = one(rf["commissions"], partner_id=ctx["lg"])
    assert rev["reverses_id"] == e["id"] and rev["status"] == "pending" and rev["earned"] == money(-100), rev
    act(srv, ctx, e["id"], "reject", status=400, field="reason")
    r = act(srv, ctx, e["id"], "reject", reason="fraudulent order")
    assert r["status"] == "rejected" and r["status_reason"] == "fraudulent order", r
    before = get_com(srv, ctx, e["id"])
    act(srv, ctx, e["id"], "approve", status=409)
    after = get_com(srv, ctx, e["id"])
    assert after["status"] == "rejected" and after["history"] == before["history"]
    # Its reversal is rejected with it and counts nowhere; a later refund reverses nothing that counts.
    got = get_com(srv, ctx, rev["id"])
    assert got["status"] == "rejected", "the reversal of a rejected entry is rejected with it: %r" % got
    rf2 = refund(srv, ctx, s["id"], 1000)
    assert all(x["status"] == "rejected" for x in rf2["commissions"] if x["partner_id"] == ctx["lg"]), rf2
    got = check_balance(srv, ctx, ctx["lg"])
    assert got["usd"]["approved"] == 500 and got["usd"]["pending"] == 0 and got["usd"]["total"] == 500, got
    assert [x["id"] for x in listing(srv, ctx, "partner_id=%s&status=rejected" % ctx["lg"])] and \
        all(x["status"] == "rejected" for x in listing(srv, ctx, "partner_id=%s&status=rejected" % ctx["lg"]))
    assert sorted(x["id"] for x in listing(srv, ctx, "partner_id=%s&status=approved" % ctx["lg"])) == \
        sorted(ctx["lg_approved"])


def test_the_database_refuses_to_edit_an_amount(srv, ctx):
    cid = ctx["lg_approved"][0]
    before = get_com(srv, ctx, cid)
    for sql in ("UPDATE commissions SET amount = amount + 1 WHERE id = ?",
                "UPDATE commissions SET earned = earned * 2 WHERE id = ?",
                "DELETE FROM commissions WHERE id = ?"):
        why = db_write(srv, sql, (cid,))
        assert why and "append-only" in why, "the database took: %s (%r)" % (sql, why)
    assert get_com(srv, ctx, cid) == before
    assert db_rows(srv, "SELECT amount FROM commissions WHERE id = ?", (cid,))[0]["amount"] == 200


def test_explanation_names_plan_rule_base_rate_level_fx_and_rounding(srv, ctx):
    s = ctx["story_first"]
    d = one(s["commissions"], partner_id=ctx["seller"])
    full = get_com(srv, ctx, d["id"])
    for k in ("id", "partner_id", "role", "level", "rule", "earned", "amount", "status", "plan_id", "plan_version",
              "sale_id", "reverses_id", "fx_rate"):
        assert full[k] == d[k], (k, full, d)
    ex = full["explanation"]
    assert isinstance(ex["text"], str) and ex["text"].strip(), ex
    blob = json.dumps(ex)
    assert mentions(blob, ctx["plan_story"], "Story Standard"), ex
    assert mentions(blob, "4900", "49.00"), "the base amount: %r" % ex
    assert mentions(blob, "2000", "20 %", "20%", "20.00"), "the rate: %r" % ex
    assert mentions(ex["text"], "round"), "the rounding: %r" % ex
    assert mentions(ex["text"], "version"), "the plan's version: %r" % ex
    assert mentions(blob, '"sale"'), "the rule: %r" % ex
    o2 = get_com(srv, ctx, one(s["commissions"], partner_id=ctx["r2"])["id"])
    ex = o2["explanation"]
    blob = json.dumps(ex)
    assert mentions(blob, d["id"]), "the commission the override is taken from: %r" % ex
    assert mentions(blob, "level"), ex
    assert mentions(blob, "500", "5 %", "5%"), ex
    assert mentions(blob, "980", "9.80"), ex
    fx = get_com(srv, ctx, ctx["fx_entry"]["id"])
    assert mentions(json.dumps(fx["explanation"]), "0.92"), fx["explanation"]


def test_simulate_reports_proposed_against_actual_and_writes_nothing(srv, ctx):
    a1 = sale(srv, ctx, "sim", 1000, email="sim-a1@customer.example", partner_id=ctx["sa"])
    sale(srv, ctx, "sim", 2345, email="sim-a2@customer.example", partner_id=ctx["sa"])
    sale(srv, ctx, "sim", 999, email="sim-b1@customer.example", partner_id=ctx["sb"])
    refund(srv, ctx, a1["id"], 500)
    frm = "2000-01-01T00:00:00Z"
    to = fmt_ms(server_now_ms(ctx) + DAY * 1000)
    before = db_counts(srv, LEDGER + ("partners",))
    path = PLANS + "/" + ctx["plan_sim"] + "/simulate"
    r = expect(srv.post(path, {"from": frm, "to": to, "rules": {"sale_bps": 3000}}, key=ctx["admin"]), 200)
    assert r["plan_id"] == ctx["plan_sim"] and r["events"] >= 4, r
    by = {(p["partner_id"], p["currency"]): p for p in r["partners"]}
    want = {ctx["sa"]: (569, 854), ctx["sb"]: (200, 300)}
    assert set(by) == {(pid, "usd") for pid in want}, r
    for pid, (actual, proposed) in want.items():
        p = by[(pid, "usd")]
        assert (p["actual"], p["proposed"], p["difference"]) == \
            (money(actual), money(proposed), money(proposed - actual)), (pid, p)
    assert r["totals"] == [{"currency": "usd", "actual": money(769), "proposed": money(1154),
                            "difference": money(385)}], r
    same = expect(srv.post(path, {"from": frm, "to": to}, key=ctx["admin"]), 200)
    for p in same["partners"]:
        assert p["actual"] == p["proposed"] and p["difference"] == money(0), p
    expect(srv.post(path, {"from": frm, "to": to, "rules": {"sale_bps": 10001}}, key=ctx["admin"]), 400,
           field="rules.sale_bps")
    expect(srv.post(path, {"from": "soon", "to": to}, key=ctx["admin"]), 400, field="from")
    assert db_counts(srv, LEDGER + ("partners",)) == before
    assert expect(srv.get(PLANS + "/" + ctx["plan_sim"], key=ctx["admin"]), 200)["rules"]["sale_bps"] == 2000


# ---- the holding period ----

def wait_for(fn, seconds=30):
    deadline = time.time() + seconds
    while True:
        v = fn()
        if v or time.time() > deadline:
            return v
        time.sleep(0.1)


def test_after_the_holding_period_entries_are_approved_and_balances_match(srv, ctx):
    story = listing(srv, ctx, "program_id=" + ctx["story"])
    assert story and all(e["status"] == "pending" for e in story), story
    for pid in ("seller", "r1", "r2", "r3", "direct2"):
        got = check_balance(srv, ctx, ctx[pid])
        assert got["usd"]["pending"] == got["usd"]["total"] and got["usd"]["approved"] == 0, (pid, got)
    time.sleep(0.3)
    assert all(e["status"] == "pending" for e in listing(srv, ctx, "program_id=" + ctx["story"]))
    goto(srv, ctx, ctx["t0"] + 31 * DAY)
    done = wait_for(lambda: not listing(srv, ctx, "program_id=%s&status=pending" % ctx["story"]))
    assert done, listing(srv, ctx, "program_id=%s&status=pending" % ctx["story"])
    story = listing(srv, ctx, "program_id=" + ctx["story"])
    assert all(e["status"] == "approved" for e in story), story
    h = get_com(srv, ctx, story[0]["id"])["history"]
    assert h[-1]["from"] == "pending" and h[-1]["to"] == "approved", h
    # Three sales and one through a lead for the seller's customers, less two refunded renewals.
    totals = {"seller": 1960, "r1": 196, "r2": 98, "r3": 48, "direct2": 2940}
    for pid, total in totals.items():
        got = check_balance(srv, ctx, ctx[pid])
        assert got == {"usd": {"pending": 0, "held": 0, "approved": total, "paid": 0, "total": total}}, (pid, got)
    # Other programs hold for a year: still pending.
    assert all(e["status"] == "pending" for e in listing(srv, ctx, "program_id=%s&partner_id=%s" %
                                                              (ctx["money"], ctx["m125"])))


# ---- recurring and tiers over months and quarters ----

def sale_of(srv, ctx, who, amount, cur="usd", email=None):
    ctx["n"] += 1
    return sale(srv, ctx, "plans", amount, cur, email=email or "%s-%d@tl.example" % (who, ctx["n"]),
                partner_id=ctx[who])


def tier_sale(srv, ctx, who, amount, want_bps, cur="usd"):
    s = sale_of(srv, ctx, who, amount, cur)
    e = one(s["commissions"], partner_id=ctx[who])
    assert e["earned"] == money(pct(amount, want_bps), cur), (who, amount, want_bps, e)
    return e


def test_first_month_of_the_quarter(srv, ctx):
    goto(srv, ctx, ctx["s1"])
    for who in ("fo", "mo", "lt"):
        s = sale(srv, ctx, "plans", 1000, email="%s-cust@tl.example" % who, partner_id=ctx[who])
        assert s["kind"] == "first" and earned(s["commissions"], ctx[who]) == 100, s
    tier_sale(srv, ctx, "tcm", 1000, 1000)
    tier_sale(srv, ctx, "tcm", 1000, 1000)
    e = tier_sale(srv, ctx, "tcm", 1000, 2000)  # the third sale reaches the step
    assert mentions(get_com(srv, ctx, e["id"])["explanation"]["text"], "tier"), "the explanation names the tier"
    tier_sale(srv, ctx, "tcq", 1000, 1000)
    tier_sale(srv, ctx, "tcq", 1000, 1000)
    tier_sale(srv, ctx, "trm", 6000, 1000)
    held = sale_of(srv, ctx, "trm", 50000, "sek")  # no sek rate: held, and does not count
    h = one(held["commissions"], partner_id=ctx["trm"])
    assert h["status"] == "held" and h["amount"] is None and "sek" in h["status_reason"].lower(), h
    e = tier_sale(srv, ctx, "trm", 3000, 1000, "eur")  # counts 3,300 usd: 9,300
    assert e["amount"] == money(330), e
    e = tier_sale(srv, ctx, "trm", 700, 2000)  # 10,000 usd: the step
    ex = get_com(srv, ctx, e["id"])["explanation"]
    assert mentions(ex["text"], "tier") and mentions(json.dumps(ex), "10000", "10,000", "100.00"), ex
    tier_sale(srv, ctx, "trq", 6000, 1000)


def test_later_in_the_first_month(srv, ctx):
    goto(srv, ctx, ctx["s2"])
    fo = sale(srv, ctx, "plans", 1000, email="fo-cust@tl.example")
    assert fo["kind"] == "recurring" and fo["commissions"] == [] and fo["note"], fo
    mo = sale(srv, ctx, "plans", 1000, email="mo-cust@tl.example")
    assert mo["kind"] == "recurring" and [(e["rule"], e["earned"]["amount"]) for e in mo["commissions"]] == \
        [("recurring", 100)], mo
    lt = sale(srv, ctx, "plans", 1000, email="lt-cust@tl.example")
    assert [(e["rule"], e["earned"]["amount"]) for e in lt["commissions"]] == [("recurring", 100)], lt


def test_second_month_of_the_quarter(srv, ctx):
    goto(srv, ctx, ctx["s3"])
    fo = sale(srv, ctx, "plans", 1000, email="fo-cust@tl.example")
    assert fo["commissions"] == [] and fo["note"], fo
    mo = sale(srv, ctx, "plans", 1000, email="mo-cust@tl.example")
    assert mo["kind"] == "recurring" and mo["commissions"] == [] and mo["note"], \
        "a renewal more than 1 calendar month after the first sale pays nothing: %r" % mo
    lt = sale(srv, ctx, "plans", 1000, email="lt-cust@tl.example")
    assert [(e["rule"], e["earned"]["amount"]) for e in lt["commissions"]] == [("recurring", 100)], lt
    tier_sale(srv, ctx, "tcm", 1000, 1000)  # a new month: the count starts again
    tier_sale(srv, ctx, "tcq", 1000, 2000)  # the same quarter: the third sale
    tier_sale(srv, ctx, "trm", 5000, 1000)
    tier_sale(srv, ctx, "trq", 4000, 2000)  # 6,000 + 4,000 in the quarter


def test_next_quarter(srv, ctx):
    goto(srv, ctx, ctx["s4"])
    tier_sale(srv, ctx, "tcq", 1000, 1000)
    tier_sale(srv, ctx, "trq", 3000, 1000)
    lt = sale(srv, ctx, "plans", 1000, email="lt-cust@tl.example")
    assert [(e["rule"], e["earned"]["amount"]) for e in lt["commissions"]] == [("recurring", 100)], lt
    mo = sale(srv, ctx, "plans", 1000, email="mo-cust@tl.example")
    assert mo["commissions"] == [] and mo["note"], mo
    for pid in ("tcm", "tcq", "trq", "lt", "org", "ag", "rq", "pq", "lp_cpl", "lp_zero"):
        check_balance(srv, ctx, ctx[pid])


def test_a_sale_lists_its_refunds_and_disputes(srv, ctx):
    s = sale(srv, ctx, "money", 1000, email="refunds-listed@customer.example", partner_id=ctx["m20"])
    r1 = refund(srv, ctx, s["id"], 300, reason="one seat")
    r2 = refund(srv, ctx, s["id"], 200, kind="dispute")
    got = get_sale(srv, ctx, s["id"])
    assert [(r["id"], r["kind"], r["amount"]["amount"]) for r in got["refunds"]] == [
        (r1["id"], "refund", 300), (r2["id"], "dispute", 200)], got["refunds"]
    assert got["refunded"]["amount"] == 300 and got["disputed"]["amount"] == 200, got
