# SPDX-License-Identifier: Apache-2.0
"""Payouts (docs/PAYOUTS.md): runs over approved entries with the program's threshold (above, at and under it, the
balance carried over to a later run), partners left out because they are suspended or their payouts are held;
items per partner and currency with the threshold converted at the cutoff's FX rate; two runs approved at once
(one wins, every entry is locked and paid once); failed items that return to the balance; statements in JSON, CSV
and HTML against the ledger; the generic, PayPal and Wise exports with the formula guard; year-end tax totals on
both sides of the 2025 and 2026 thresholds; the payout forecast with the program's schedule; and the CLI against
the running server's database. Every amount is compared exactly, in minor units."""
import csv
import io
import threading
import time
from datetime import datetime, timezone
from decimal import Decimal

import harness
from harness import db_rows, expect

PROGRAMS = "/api/v1/programs"
PARTNERS = "/api/v1/partners"
PLANS = "/api/v1/plans"
SALES = "/api/v1/sales"
REFUNDS = "/api/v1/refunds"
COMMS = "/api/v1/commissions"
FX = "/api/v1/fx-rates"
RUNS = "/api/v1/payout-runs"
TAX = "/api/v1/tax-totals"
EXP = {"usd": 2, "eur": 2, "jpy": 0, "bhd": 3, "chf": 2}
OLD = "2020-01-01T00:00:00Z"
USD_EUR = "0.92"
USD_JPY = "150"
USD_BHD = "0.376"


def make_server():
    return harness.Refd(extra_args=["--jobs-interval-ms", "100"]).start()


# ---- exact arithmetic, independent of the server ----

def rhe(num, den):
    """num / den rounded half-even, in integers (den > 0)."""
    q, r = divmod(num, den)
    if 2 * r > den or (2 * r == den and q % 2 == 1):
        q += 1
    return q


def convert(amount, frm, to, rate):
    ppb = int(Decimal(rate) * 10 ** 9)
    return rhe(amount * ppb * 10 ** EXP[to], 10 ** 9 * 10 ** EXP[frm])


def money(amount, cur="usd"):
    return {"amount": amount, "currency": cur}


def minor(text, cur):
    """A decimal string of an export ("20.00", "3750") in minor units, exactly."""
    d = Decimal(text) * (10 ** EXP[cur.lower()])
    assert d == d.to_integral_value(), "%r has more decimals than %s allows" % (text, cur)
    return int(d)


def iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + ".%03dZ" % (dt.microsecond // 1000)


def parse_time(s):
    s = s.replace("Z", "+00:00")
    return datetime.fromisoformat(s)


def epoch_ms(dt):
    return int(round(dt.timestamp() * 1000))


def read_csv(text):
    return list(csv.reader(io.StringIO(text)))


# ---- setup ----

def setup(srv):
    admin = srv.admin_key()
    ctx = {"admin": admin, "n": 0, "clock": 0}

    def program(key, threshold, holding=365, **extra):
        body = {"name": key.title(), "currency": "usd", "holding_period_days": holding,
                "payout_threshold": money(threshold)}
        body.update(extra)
        ctx[key] = expect(srv.post(PROGRAMS, body, key=admin), 201)["id"]
        # Every sale earns exactly its amount: commissions of any wanted size, to the cent.
        expect(srv.post(PLANS, {"program_id": ctx[key], "name": "All of it", "default": True,
                                "rules": {"sale_bps": 10000}}, key=admin), 201)

    def partner(key, prog, **extra):
        body = {"program_id": ctx[prog], "name": key.upper(), "email": key.replace("_", "-") + "@partners.example"}
        body.update(extra)
        p = expect(srv.post(PARTNERS, body, key=admin), 201)
        ctx[key] = p["id"]
        ctx["obj_" + key] = p

    program("thr", 5000, holding=0)
    for k in ("t_above", "t_at", "t_below", "t_susp", "t_held"):
        partner(k, "thr")

    program("cur", 2000)
    partner("c_usd", "cur", name='=HYPERLINK("http://evil.example","x")')
    partner("c_eur", "cur", currency="eur", name="+49 Sales")
    partner("c_eur_at", "cur", currency="eur", name="Euro At")
    partner("c_eur_low", "cur", currency="eur", name="Euro Low")
    partner("c_jpy", "cur", currency="jpy", name="-Minus Yen")
    partner("c_jpy_low", "cur", currency="jpy", name="Yen Low")
    partner("c_multi", "cur", name="@handle", company="@corp Ltd")
    partner("c_bhd", "cur", currency="bhd", name="Dinar")
    partner("c_chf", "cur", currency="chf", name="Franc")

    program("conc", 0)
    for k in ("k1", "k2", "k3"):
        partner(k, "conc")

    program("fail", 0)
    partner("f1", "fail")
    partner("f2", "fail")
    partner("f3", "fail")

    program("stmt", 0)
    partner("st", "stmt", name='<script>alert("x")</script> & Sons')

    program("cli", 0)
    partner("q1", "cli", name="Quinn")
    partner("q2", "cli", name="Quade")

    program("tax", 0)
    partner("tx1", "tax")
    partner("tx2", "tax")
    partner("tx3", "tax", tax_profile={"legal_name": "Three Partial Inc", "country": "us"})
    partner("tx4", "tax", tax_profile={"legal_name": "Four LLC", "country": "us", "tax_id": "12-3456789"})
    partner("txe", "tax", currency="eur",
            tax_profile={"legal_name": "Euro GmbH", "country": "de", "tax_id": "DE 123456789"})

    partner("tx5", "tax")
    program("taxeu", 0, currency="eur", payout_threshold=money(0, "eur"))
    partner("tz", "taxeu", currency="chf", tax_profile={"legal_name": "Franc AG", "country": "ch",
                                                         "tax_id": "CHE-123.456.789"})
    partner("tze", "taxeu")

    program("fc", 5000, holding=30)
    partner("fcp", "fc")

    for base, quote, rate, since in (("usd", "eur", USD_EUR, OLD), ("usd", "jpy", USD_JPY, OLD), ("usd", "bhd", USD_BHD, OLD),
                                     ("eur", "usd", "1.10", OLD), ("eur", "usd", "1.25", "2026-01-01T00:00:00Z")):
        r = srv.post(FX, {"base": base, "quote": quote, "rate": rate, "valid_from": since}, key=admin)
        assert r.status in (200, 201), r
    return ctx


# ---- helpers ----

def sale(srv, ctx, prog, partner, amount, cur="usd", **extra):
    """A sale credited to partner; returns its direct commission entry."""
    ctx["n"] += 1
    body = {"program_id": ctx[prog], "amount": money(amount, cur), "external_id": "po-inv-%05d" % ctx["n"],
            "email": "buyer%05d@customer.example" % ctx["n"], "partner_id": ctx[partner]}
    body.update(extra)
    s = expect(srv.post(SALES, body, key=ctx["admin"]), 201)
    direct = [c for c in s["commissions"] if c["partner_id"] == ctx[partner]]
    assert len(direct) == 1, s
    direct[0]["sale_id"] = s["id"]
    return direct[0]


def approve(srv, ctx, *entries):
    for e in entries:
        got = expect(srv.post(COMMS + "/" + e["id"] + "/approve", {}, key=ctx["admin"]), 200)
        assert got["status"] == "approved", got


def com(srv, ctx, cid):
    return expect(srv.get(COMMS + "/" + cid, key=ctx["admin"]), 200)


def wait_status(srv, ctx, entries, status, seconds=8):
    deadline = time.time() + seconds
    while True:
        got = [com(srv, ctx, e["id"])["status"] for e in entries]
        if all(s == status for s in got):
            return
        assert time.time() < deadline, "entries still %r, want %s" % (got, status)
        time.sleep(0.05)


def new_run(srv, ctx, prog, status=201, field=None, **extra):
    body = {"program_id": ctx[prog]}
    body.update(extra)
    return expect(srv.post(RUNS, body, key=ctx["admin"]), status, field=field)


def get_run(srv, ctx, rid):
    return expect(srv.get(RUNS + "/" + rid, key=ctx["admin"]), 200)


def run_action(srv, ctx, rid, action, body=None, status=200, field=None):
    return expect(srv.post(RUNS + "/" + rid + "/" + action, body, key=ctx["admin"]), status, field=field)


def item_action(srv, ctx, rid, iid, action, body=None, status=200, field=None):
    return expect(srv.post(RUNS + "/" + rid + "/items/" + iid + "/" + action, body, key=ctx["admin"]), status,
                  field=field)


def items_of(run):
    out = {}
    for it in run["items"]:
        k = (it["partner_id"], it["amount"]["currency"])
        assert k not in out, "two items for %r: %r" % (k, run)
        out[k] = it
    return out


def totals_of(run):
    out = {}
    for t in run["totals"]:
        assert t["currency"] not in out, run
        assert t["amount"]["currency"] == t["currency"], t
        out[t["currency"]] = (t["amount"]["amount"], t["items"])
    return out


def left_of(run):
    out = {}
    for l in run["left_out"]:
        assert l["partner_id"] not in out, run
        out[l["partner_id"]] = l
    return out


def balance(srv, ctx, pid):
    b = expect(srv.get(PARTNERS + "/" + pid + "/balance", key=ctx["admin"]), 200)
    return {r["currency"]: {k: r[k]["amount"] for k in ("pending", "held", "approved", "paid", "total")}
            for r in b["balances"]}


def export(srv, ctx, rid, query="", status=200, field=None):
    r = srv.get(RUNS + "/" + rid + "/export" + query, key=ctx["admin"])
    if status != 200:
        return expect(r, status, field=field)
    assert r.status == 200, r
    assert r.header("Content-Type").startswith("text/csv"), r.headers
    return read_csv(r.body)


def set_now(srv, ctx, dt):
    """Moves refd's clock so that its now is dt (a UTC datetime)."""
    offset = epoch_ms(dt) - int(time.time() * 1000)
    srv.set_clock(offset)
    ctx["clock"] = offset


def reset_clock(srv, ctx):
    srv.set_clock(0)
    ctx["clock"] = 0


def server_now(ctx):
    return datetime.fromtimestamp((int(time.time() * 1000) + ctx["clock"]) / 1000, timezone.utc)


# ---- 1. thresholds, left out partners and carry-over ----

def test_threshold_suspended_and_held_partners(srv, ctx):
    e = {k: sale(srv, ctx, "thr", k, a) for k, a in
         (("t_above", 6000), ("t_at", 5000), ("t_below", 4999), ("t_susp", 7000), ("t_held", 8000))}
    # holding_period_days 0: the job approves them.
    wait_status(srv, ctx, list(e.values()), "approved")
    expect(srv.post(PARTNERS + "/" + ctx["t_susp"] + "/suspend", {"reason": "chargebacks"}, key=ctx["admin"]), 200)
    expect(srv.post(PARTNERS + "/" + ctx["t_held"] + "/hold-payouts", {}, key=ctx["admin"]), 400, field="reason")
    h = expect(srv.post(PARTNERS + "/" + ctx["t_held"] + "/hold-payouts", {"reason": "fraud review"},
                        key=ctx["admin"]), 200)
    assert h["status"] == "active", h

    run = new_run(srv, ctx, "thr")
    assert run["object"] == "payout_run" and run["status"] == "draft" and run["program_id"] == ctx["thr"], run
    items = items_of(run)
    assert set(items) == {(ctx["t_above"], "usd"), (ctx["t_at"], "usd")}, run
    assert items[(ctx["t_above"], "usd")]["amount"] == money(6000)
    assert items[(ctx["t_at"], "usd")]["amount"] == money(5000), "a balance exactly at the threshold is paid"
    for it in items.values():
        assert it["status"] == "pending" and it["entries"] == 1 and it["reference"] is None, it
    assert totals_of(run) == {"usd": (11000, 2)}, run
    left = left_of(run)
    assert set(left) == {ctx["t_below"], ctx["t_susp"], ctx["t_held"]}, run["left_out"]
    assert left[ctx["t_below"]]["amount"] == money(4999), left
    assert "threshold" in left[ctx["t_below"]]["reason"] and "50.00" in left[ctx["t_below"]]["reason"], left
    assert left[ctx["t_susp"]]["amount"] == money(7000)
    assert "suspended" in left[ctx["t_susp"]]["reason"], left
    assert left[ctx["t_held"]]["amount"] == money(8000)
    assert "fraud review" in left[ctx["t_held"]]["reason"], left
    assert get_run(srv, ctx, run["id"]) == run

    listed = expect(srv.get(RUNS + "?program_id=" + ctx["thr"], key=ctx["admin"]), 200)
    assert [r["id"] for r in listed["data"]] == [run["id"]], listed

    got = run_action(srv, ctx, run["id"], "approve")
    assert got["status"] == "approved" and got["approved_at"], got
    got = run_action(srv, ctx, run["id"], "mark-paid", {"reference": "batch-1"})
    assert got["status"] == "paid", got
    for it in got["items"]:
        assert it["status"] == "paid" and it["reference"] == "batch-1" and it["paid_at"], it
    for k in ("t_above", "t_at"):
        assert com(srv, ctx, e[k]["id"])["status"] == "paid"
    for k in ("t_below", "t_susp", "t_held"):
        assert com(srv, ctx, e[k]["id"])["status"] == "approved", "left out: still owed"
    assert balance(srv, ctx, ctx["t_above"])["usd"]["paid"] == 6000
    assert balance(srv, ctx, ctx["t_at"])["usd"] == {"pending": 0, "held": 0, "approved": 0, "paid": 5000,
                                                     "total": 5000}
    ctx["thr_run1"] = got
    ctx["thr_entries"] = e


def test_carried_over_balances_are_paid_by_a_later_run(srv, ctx):
    more = sale(srv, ctx, "thr", "t_below", 101)
    wait_status(srv, ctx, [more], "approved")
    expect(srv.post(PARTNERS + "/" + ctx["t_held"] + "/release-payouts", {}, key=ctx["admin"]), 200)
    expect(srv.post(PARTNERS + "/" + ctx["t_susp"] + "/activate", {"reason": "resolved"}, key=ctx["admin"]), 200)
    run = new_run(srv, ctx, "thr")
    items = items_of(run)
    assert set(items) == {(ctx["t_below"], "usd"), (ctx["t_susp"], "usd"), (ctx["t_held"], "usd")}, run
    assert items[(ctx["t_below"], "usd")]["amount"] == money(5100), "4999 carried over + 101"
    assert items[(ctx["t_below"], "usd")]["entries"] == 2
    assert items[(ctx["t_susp"], "usd")]["amount"] == money(7000)
    assert items[(ctx["t_held"], "usd")]["amount"] == money(8000)
    assert run["left_out"] == [], run
    assert totals_of(run) == {"usd": (20100, 3)}
    run_action(srv, ctx, run["id"], "approve")
    paid = run_action(srv, ctx, run["id"], "mark-paid", {"reference": "batch-2"})
    assert paid["status"] == "paid"
    assert balance(srv, ctx, ctx["t_below"])["usd"] == {"pending": 0, "held": 0, "approved": 0, "paid": 5100,
                                                        "total": 5100}
    for e in list(ctx["thr_entries"].values()) + [more]:
        assert com(srv, ctx, e["id"])["status"] == "paid", e
    # Nothing is owed any more: a new run is empty.
    empty = new_run(srv, ctx, "thr")
    assert empty["items"] == [] and empty["totals"] == [] and empty["left_out"] == [], empty
    run_action(srv, ctx, empty["id"], "cancel")
    ctx["thr_run2"], ctx["thr_empty"] = run["id"], empty["id"]


def test_run_input_is_checked(srv, ctx):
    new_run(srv, ctx, "thr", status=400, field="cutoff", cutoff="2999-01-01T00:00:00Z")
    new_run(srv, ctx, "thr", status=400, field="cutoff", cutoff="yesterday")
    expect(srv.post(RUNS, {}, key=ctx["admin"]), 400, field="program_id")
    run_action(srv, ctx, ctx["thr_run1"]["id"], "approve", status=409, field="status")
    expect(srv.get(RUNS + "/po_doesnotexist", key=ctx["admin"]), 404)
    # Entries after the cutoff wait for a later run.
    time.sleep(0.02)
    cutoff = iso(server_now(ctx))
    time.sleep(0.02)
    late = sale(srv, ctx, "thr", "t_above", 7000)
    wait_status(srv, ctx, [late], "approved")
    early = new_run(srv, ctx, "thr", cutoff=cutoff)
    assert early["items"] == [] and parse_time(early["cutoff"]) == parse_time(cutoff), early
    now = new_run(srv, ctx, "thr")
    assert {k: i["amount"] for k, i in items_of(now).items()} == {(ctx["t_above"], "usd"): money(7000)}, now
    run_action(srv, ctx, now["id"], "approve")
    for x in (early, now):
        run_action(srv, ctx, x["id"], "cancel")
    export(srv, ctx, now["id"], status=409)
    run_action(srv, ctx, now["id"], "approve", status=409)
    assert com(srv, ctx, late["id"])["status"] == "approved"
    runs, _ = harness.walk_pages(srv, RUNS + "?program_id=" + ctx["thr"], 2, key=ctx["admin"])
    assert [r["id"] for r in runs] == [now["id"], early["id"], ctx["thr_empty"], ctx["thr_run2"],
                                       ctx["thr_run1"]["id"]], [r["id"] for r in runs]


# ---- 2. currencies ----

def test_items_per_partner_and_currency_with_converted_threshold(srv, ctx):
    thr_eur = convert(2000, "usd", "eur", USD_EUR)
    thr_jpy = convert(2000, "usd", "jpy", USD_JPY)
    assert (thr_eur, thr_jpy) == (1840, 3000)
    want = {}
    e = []

    def earn(k, usd_amount, cur):
        c = sale(srv, ctx, "cur", k, usd_amount)
        rate = {"eur": USD_EUR, "jpy": USD_JPY, "bhd": USD_BHD}.get(cur)
        amount = usd_amount if cur == "usd" else convert(usd_amount, "usd", cur, rate)
        assert c["amount"] == money(amount, cur), c
        want[(ctx[k], cur)] = want.get((ctx[k], cur), 0) + amount
        e.append(c)

    earn("c_usd", 2500, "usd")
    earn("c_eur", 2500, "eur")          # 23.00 EUR
    earn("c_eur_at", 2000, "eur")       # 18.40 EUR: exactly the converted threshold
    earn("c_eur_low", 1999, "eur")      # 18.39 EUR: under it
    earn("c_jpy", 2500, "jpy")          # 3750 JPY
    earn("c_jpy_low", 1999, "jpy")      # 2998 JPY (2998.5 rounded half-even): under 3000
    earn("c_multi", 3000, "usd")
    # The partner changes its preferred currency: later entries are earned in euros, one item per currency.
    expect(srv.patch(PARTNERS + "/" + ctx["c_multi"], {"currency": "eur"}, key=ctx["admin"]), 200)
    earn("c_multi", 2500, "eur")
    earn("c_bhd", 2500, "bhd")          # 9.400 BHD
    # Earned in francs (no conversion needed), but no rate gives the threshold in francs.
    chf = sale(srv, ctx, "cur", "c_chf", 5000, cur="chf")
    assert chf["amount"] == money(5000, "chf"), chf
    e.append(chf)
    approve(srv, ctx, *e)
    assert want[(ctx["c_eur_low"], "eur")] == 1839 and want[(ctx["c_jpy_low"], "jpy")] == 2998
    assert want[(ctx["c_bhd"], "bhd")] == 9400

    run = new_run(srv, ctx, "cur")
    items = items_of(run)
    paid = {k: v for k, v in want.items() if k[0] not in (ctx["c_eur_low"], ctx["c_jpy_low"])}
    assert {k: it["amount"]["amount"] for k, it in items.items()} == paid, run
    for k, it in items.items():
        assert it["amount"]["currency"] == k[1] and it["entries"] == 1, it
    assert totals_of(run) == {"usd": (5500, 2), "eur": (2300 + 1840 + 2300, 3), "jpy": (3750, 1),
                              "bhd": (9400, 1)}, run["totals"]
    left = left_of(run)
    assert set(left) == {ctx["c_eur_low"], ctx["c_jpy_low"], ctx["c_chf"]}, run["left_out"]
    assert left[ctx["c_chf"]]["amount"] == money(5000, "chf")
    assert "rate" in left[ctx["c_chf"]]["reason"].lower(), "the reason names the missing rate: %r" % left
    assert left[ctx["c_eur_low"]]["amount"] == money(1839, "eur")
    assert "18.40" in left[ctx["c_eur_low"]]["reason"], "the threshold in the partner's currency: %r" % left
    assert left[ctx["c_jpy_low"]]["amount"] == money(2998, "jpy")
    assert "3000" in left[ctx["c_jpy_low"]]["reason"], left
    ctx["cur_run"] = run


# ---- 6. exports (of the multi-currency run) ----

def test_export_of_a_draft_is_refused(srv, ctx):
    export(srv, ctx, ctx["cur_run"]["id"], status=409)
    export(srv, ctx, ctx["cur_run"]["id"], "?format=wise", status=409)
    export(srv, ctx, ctx["cur_run"]["id"], "?format=paypal&currency=usd", status=409)


def test_generic_export(srv, ctx):
    run = run_action(srv, ctx, ctx["cur_run"]["id"], "approve")
    ctx["cur_run"] = run
    items = items_of(run)
    rows = export(srv, ctx, run["id"], "?format=generic")
    assert rows[0] == ["partner_id", "name", "email", "amount", "currency", "reference", "status"], rows[0]
    assert len(rows) == 1 + len(items), rows
    names = {ctx[k]: ctx["obj_" + k]["name"] for k in ("c_usd", "c_eur", "c_eur_at", "c_jpy", "c_multi", "c_bhd")}
    seen = set()
    for r in rows[1:]:
        assert len(r) == 7, r
        pid, name, email, amount, cur, ref, status = r
        it = items[(pid, cur.lower())]
        assert minor(amount, cur) == it["amount"]["amount"], (r, it)
        assert ref == it["id"] and status == "pending", r
        assert email == it["email"], r
        raw = names[pid]
        want_name = "'" + raw if raw[0] in "=+-@" else raw
        assert name == want_name, "formula guard: %r for %r" % (name, raw)
        seen.add((pid, cur.lower()))
    assert seen == set(items)
    jpy = [r for r in rows[1:] if r[4].lower() == "jpy"]
    assert jpy[0][3] == "3750", "JPY has no decimals: %r" % jpy
    bhd = [r for r in rows[1:] if r[4].lower() == "bhd"]
    assert bhd[0][3] == "9.400", "BHD has three decimals: %r" % bhd
    # Every text cell is quoted; amounts are plain decimals.
    raw = srv.get(RUNS + "/" + run["id"] + "/export?format=generic", key=ctx["admin"]).body
    for line in raw.splitlines()[1:]:
        cells = next(csv.reader([line]))
        pid, name, email, amount, cur, ref, status = cells
        assert line == '"%s","%s","%s",%s,"%s","%s","%s"' % (pid, name.replace('"', '""'), email, amount, cur, ref,
                                                             status), line
    # currency= narrows any layout.
    rows = export(srv, ctx, run["id"], "?format=generic&currency=EUR")
    assert sorted(minor(r[3], "eur") for r in rows[1:]) == [1840, 2300, 2300], rows
    export(srv, ctx, run["id"], "?format=generic&currency=euro", status=400, field="currency")
    export(srv, ctx, run["id"], "?format=generic&sort=name", status=400)


def test_paypal_export(srv, ctx):
    run = ctx["cur_run"]
    items = items_of(run)
    export(srv, ctx, run["id"], "?format=paypal", status=400, field="currency")
    for cur in ("usd", "eur", "jpy", "bhd"):
        rows = export(srv, ctx, run["id"], "?format=paypal&currency=" + cur)
        want = {k: it for k, it in items.items() if k[1] == cur}
        assert len(rows) == len(want), "no header, one row per item: %r" % rows
        by_ref = {it["id"]: it for it in want.values()}
        for r in rows:
            assert len(r) == 6, r
            email, amount, code, customer_id, note, wallet = r
            assert len(customer_id) <= 30 and customer_id in by_ref, r
            it = by_ref.pop(customer_id)
            assert email == it["email"] and code.lower() == cur and wallet == "PAYPAL", r
            assert minor(amount, cur) == it["amount"]["amount"], (r, it)
        assert not by_ref
    # A run in one currency needs no currency.
    rows = export(srv, ctx, ctx["thr_run1"]["id"], "?format=paypal")
    assert sorted(minor(r[1], "usd") for r in rows) == [5000, 6000], rows
    export(srv, ctx, run["id"], "?format=excel", status=400, field="format")


def test_wise_export(srv, ctx):
    run = ctx["cur_run"]
    items = items_of(run)
    rows = export(srv, ctx, run["id"], "?format=wise")
    assert rows[0] == ["name", "recipientEmail", "paymentReference", "receiverType", "amountCurrency", "amount",
                       "sourceCurrency", "targetCurrency"], rows[0]
    assert len(rows) == 1 + len(items)
    by_ref = {it["id"]: it for it in items.values()}
    for r in rows[1:]:
        assert len(r) == 8, r
        name, email, ref, rtype, amount_cur, amount, src, target = r
        it = by_ref.pop(ref)
        assert email == it["email"] and amount_cur == "target", r
        assert target.lower() == it["amount"]["currency"], r
        assert minor(amount, target) == it["amount"]["amount"], (r, it)
        assert rtype == ("BUSINESS" if it["partner_id"] == ctx["c_multi"] else "PERSON"), r
        if it["partner_id"] == ctx["c_multi"]:
            assert name == "'@handle", "formula guard: %r" % name
        if it["partner_id"] == ctx["c_usd"]:
            assert name == "'" + ctx["obj_c_usd"]["name"], name
    assert not by_ref
    # A paid run exports too, and its totals are exact.
    paid = run_action(srv, ctx, run["id"], "mark-paid", {"reference": "multi-1"})
    assert paid["status"] == "paid"
    rows = export(srv, ctx, run["id"], "?format=generic")
    sums = {}
    for r in rows[1:]:
        assert r[6] == "paid", r
        sums[r[4].lower()] = sums.get(r[4].lower(), 0) + minor(r[3], r[4])
    assert sums == {c: v[0] for c, v in totals_of(paid).items()}, (sums, paid["totals"])


def test_threshold_uses_the_rate_at_the_cutoff(srv, ctx):
    # Carried over from the multi-currency run: 18.39 EUR, under 18.40 EUR (20.00 USD at 0.92).
    time.sleep(0.02)
    before = iso(server_now(ctx))
    time.sleep(0.02)
    since = iso(server_now(ctx))
    r = srv.post(FX, {"base": "usd", "quote": "eur", "rate": "0.90", "valid_from": since}, key=ctx["admin"])
    assert r.status in (200, 201), r
    time.sleep(0.02)
    old = new_run(srv, ctx, "cur", cutoff=before)
    assert (ctx["c_eur_low"], "eur") not in items_of(old), old
    assert "18.40" in left_of(old)[ctx["c_eur_low"]]["reason"], old["left_out"]
    new = new_run(srv, ctx, "cur")
    assert items_of(new)[(ctx["c_eur_low"], "eur")]["amount"] == money(1839, "eur"), \
        "18.39 EUR reaches 18.00 EUR (20.00 USD at 0.90): %r" % new
    assert ctx["c_eur_low"] not in left_of(new)
    assert set(left_of(new)) == {ctx["c_jpy_low"], ctx["c_chf"]}, new["left_out"]
    for x in (old, new):
        assert run_action(srv, ctx, x["id"], "cancel")["status"] == "cancelled"


def test_statements_per_currency_and_who_may_read_them(srv, ctx):
    for k in ("c_multi", "c_eur_low", "c_chf", "c_usd"):
        bal = balance(srv, ctx, ctx[k])
        st = statement(srv, ctx, ctx[k], "from=2000-01-01T00:00:00Z").json
        closing = {b["currency"]: b["closing"]["amount"] for b in st["balances"]}
        owed = {c: v["pending"] + v["held"] + v["approved"] for c, v in bal.items()}
        assert closing == owed, (k, st["balances"], bal)
    st = statement(srv, ctx, ctx["c_multi"], "from=2000-01-01T00:00:00Z").json
    assert {b["currency"]: (b["earned"]["amount"], b["paid_out"]["amount"]) for b in st["balances"]} == \
        {"usd": (3000, 3000), "eur": (2300, 2300)}, st["balances"]
    key = srv.admin_key(role="partner", partner=ctx["c_multi"], name="c-multi")
    r = srv.get(PARTNERS + "/" + ctx["c_multi"] + "/statement?from=2000-01-01T00:00:00Z", key=key)
    assert r.status == 200 and r.json["balances"] == st["balances"], r
    r = srv.get(PARTNERS + "/" + ctx["c_eur_low"] + "/statement", key=key)
    assert r.status in (403, 404), "another partner's statement: %r" % r
    expect(srv.get(RUNS, key=key), 403)


def test_tax_totals_convert_other_currencies_at_the_rate_of_the_payment_day(srv, ctx):
    # The multi-currency run was paid today. EUR -> USD is a direct rate (1.25 since 2026-01-01); JPY and BHD
    # only have the inverse pair (USD -> JPY 150, USD -> BHD 0.376), inverted to 9 decimals.
    def ppb(rate):
        return int(Decimal(rate) * 10 ** 9)

    def inv(rate):
        return rhe(10 ** 18, ppb(rate))

    def conv(amount, frm, rate_ppb):
        return rhe(amount * rate_ppb * 100, 10 ** 9 * 10 ** EXP[frm])

    want = {"c_usd": 2500, "c_eur": conv(2300, "eur", ppb("1.25")), "c_eur_at": conv(1840, "eur", ppb("1.25")),
            "c_jpy": conv(3750, "jpy", inv(USD_JPY)), "c_multi": 3000 + conv(2300, "eur", ppb("1.25")),
            "c_bhd": conv(9400, "bhd", inv(USD_BHD))}
    assert (want["c_eur"], want["c_jpy"], want["c_bhd"]) == (2875, 2500, 2500), want
    year = server_now(ctx).year
    r = srv.get(TAX + "?program_id=%s&year=%d&threshold=25.00" % (ctx["cur"], year), key=ctx["admin"])
    t = expect(r, 200)
    rows = {x["partner_id"]: x for x in t["partners"]}
    assert {k: rows[ctx[k]]["total_paid_usd"]["amount"] for k in want if ctx[k] in rows} == want, t["partners"]
    assert all(rows[ctx[k]]["reportable"] is (want[k] >= 2500) for k in want)


# ---- 3. two runs approved at once ----

def at_once(srv, ctx, paths, body):
    """POSTs to each path from its own thread, released together; returns the responses in order."""
    barrier = threading.Barrier(len(paths))
    out = [None] * len(paths)

    def go(i):
        barrier.wait()
        out[i] = srv.post(paths[i], body, key=ctx["admin"])

    threads = [threading.Thread(target=go, args=(i,)) for i in range(len(paths))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def test_two_runs_approved_at_once_pay_each_entry_once(srv, ctx):
    for rnd in range(3):
        entries = []
        for k, amounts in (("k1", (1001, 2002)), ("k2", (333,)), ("k3", (4444, 1, 99))):
            for a in amounts:
                entries.append(sale(srv, ctx, "conc", k, a + rnd))
        approve(srv, ctx, *entries)
        a = new_run(srv, ctx, "conc")
        b = new_run(srv, ctx, "conc")
        assert {k: i["amount"] for k, i in items_of(a).items()} == {k: i["amount"] for k, i in items_of(b).items()}
        barrier = threading.Barrier(2)
        results = {}

        def go(rid):
            barrier.wait()
            results[rid] = srv.post(RUNS + "/" + rid + "/approve", {}, key=ctx["admin"])

        threads = [threading.Thread(target=go, args=(r["id"],)) for r in (a, b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        statuses = sorted(r.status for r in results.values())
        assert statuses == [200, 409], results
        winner = a["id"] if results[a["id"]].status == 200 else b["id"]
        loser = b["id"] if winner == a["id"] else a["id"]
        assert results[loser].json["error"]["field"] == "status", results[loser]
        ids = sorted(e["id"] for e in entries)
        locks = db_rows(srv, "SELECT commission_id, run_id FROM payout_locks WHERE run_id IN (?, ?)",
                        (a["id"], b["id"]))
        assert sorted(l["commission_id"] for l in locks) == ids, locks
        assert all(l["run_id"] == winner for l in locks), locks
        assert get_run(srv, ctx, loser)["status"] == "draft"
        # Marking twice at once pays once too: the run (round 0), each item (round 1), or plainly (round 2).
        if rnd == 0:
            got = at_once(srv, ctx, [RUNS + "/" + winner + "/mark-paid"] * 2, {"reference": "conc-0"})
            assert sorted(r.status for r in got) == [200, 409], got
        elif rnd == 1:
            for it in get_run(srv, ctx, winner)["items"]:
                path = RUNS + "/" + winner + "/items/" + it["id"] + "/mark-paid"
                got = at_once(srv, ctx, [path, path], {"reference": "conc-1"})
                assert sorted(r.status for r in got) == [200, 409], got
        else:
            run_action(srv, ctx, winner, "mark-paid", {"reference": "conc-2"})
        paid = get_run(srv, ctx, winner)
        assert paid["status"] == "paid"
        assert sum(i["amount"]["amount"] for i in paid["items"] if i["status"] == "paid") == \
            sum(e["amount"]["amount"] for e in entries)
        for e in entries:
            c = com(srv, ctx, e["id"])
            assert c["status"] == "paid", e
            assert [h["to"] for h in c["history"]].count("paid") == 1, c["history"]
        # The loser pays nothing, even when approved again.
        run_action(srv, ctx, loser, "approve", status=409)
        assert get_run(srv, ctx, loser)["status"] == "draft"
        paid_rows = db_rows(srv, "SELECT e.commission_id, count(*) AS n FROM payout_item_entries e JOIN payout_items "
                                 "i ON i.id = e.item_id WHERE i.status = 'paid' AND i.run_id IN (?, ?) "
                                 "GROUP BY e.commission_id", (a["id"], b["id"]))
        assert sorted(r["commission_id"] for r in paid_rows) == ids and all(r["n"] == 1 for r in paid_rows)
        run_action(srv, ctx, loser, "cancel")


# ---- 4. failed items ----

def test_marking_needs_an_approved_run(srv, ctx):
    e1 = sale(srv, ctx, "fail", "f1", 1000)
    e2 = sale(srv, ctx, "fail", "f1", 2000)
    e3 = sale(srv, ctx, "fail", "f2", 4500)
    approve(srv, ctx, e1, e2, e3)
    run = new_run(srv, ctx, "fail")
    items = items_of(run)
    i1, i2 = items[(ctx["f1"], "usd")], items[(ctx["f2"], "usd")]
    assert i1["amount"] == money(3000) and i1["entries"] == 2 and i2["amount"] == money(4500)
    run_action(srv, ctx, run["id"], "mark-paid", {"reference": "x"}, status=409, field="status")
    item_action(srv, ctx, run["id"], i1["id"], "mark-paid", {"reference": "x"}, status=409, field="status")
    item_action(srv, ctx, run["id"], i1["id"], "mark-failed", {"reason": "bounced"}, status=409, field="status")
    assert all(i["status"] == "pending" for i in get_run(srv, ctx, run["id"])["items"])
    ctx["fail_run"], ctx["fail_entries"] = run, (e1, e2, e3)


def test_failed_item_returns_to_the_balance(srv, ctx):
    run = ctx["fail_run"]
    e1, e2, e3 = ctx["fail_entries"]
    items = items_of(run)
    i1, i2 = items[(ctx["f1"], "usd")], items[(ctx["f2"], "usd")]
    run_action(srv, ctx, run["id"], "approve")
    item_action(srv, ctx, run["id"], i1["id"], "mark-failed", None, status=400, field="reason")
    item_action(srv, ctx, run["id"], i1["id"], "mark-failed", {}, status=400, field="reason")
    item_action(srv, ctx, run["id"], i1["id"], "mark-failed", {"reason": "   "}, status=400, field="reason")
    got = item_action(srv, ctx, run["id"], i1["id"], "mark-failed", {"reason": "account closed"})
    it = items_of(got)[(ctx["f1"], "usd")]
    assert it["status"] == "failed" and it["failure_reason"] == "account closed" and it["paid_at"] is None, it
    assert got["status"] == "approved", "f2 still waits"
    for e in (e1, e2):
        assert com(srv, ctx, e["id"])["status"] == "approved", "a failed payment leaves its entries approved"
    assert db_rows(srv, "SELECT * FROM payout_locks WHERE item_id = ?", (i1["id"],)) == []
    assert balance(srv, ctx, ctx["f1"])["usd"]["approved"] == 3000
    # Double marking is refused.
    item_action(srv, ctx, run["id"], i1["id"], "mark-failed", {"reason": "again"}, status=409)
    item_action(srv, ctx, run["id"], i1["id"], "mark-paid", {"reference": "late"}, status=409)
    got = item_action(srv, ctx, run["id"], i2["id"], "mark-paid", {"reference": "wire-77"})
    it = items_of(got)[(ctx["f2"], "usd")]
    assert it["status"] == "paid" and it["reference"] == "wire-77" and it["paid_at"], it
    assert got["status"] == "paid", "no item is pending"
    item_action(srv, ctx, run["id"], i2["id"], "mark-paid", {"reference": "wire-78"}, status=409)
    item_action(srv, ctx, run["id"], i2["id"], "mark-failed", {"reason": "oops"}, status=409)
    run_action(srv, ctx, run["id"], "mark-paid", {}, status=409)
    assert com(srv, ctx, e3["id"])["status"] == "paid"
    # The next run pays f1's entries.
    nxt = new_run(srv, ctx, "fail")
    items = items_of(nxt)
    assert set(items) == {(ctx["f1"], "usd")}, nxt
    assert items[(ctx["f1"], "usd")]["amount"] == money(3000) and items[(ctx["f1"], "usd")]["entries"] == 2
    run_action(srv, ctx, nxt["id"], "approve")
    run_action(srv, ctx, nxt["id"], "mark-paid", {"reference": "wire-79"})
    for e in (e1, e2):
        assert com(srv, ctx, e["id"])["status"] == "paid"
    assert balance(srv, ctx, ctx["f1"])["usd"] == {"pending": 0, "held": 0, "approved": 0, "paid": 3000,
                                                   "total": 3000}


def test_a_draft_whose_entries_changed_is_refused(srv, ctx):
    e = sale(srv, ctx, "fail", "f2", 1234)
    approve(srv, ctx, e)
    draft = new_run(srv, ctx, "fail")
    assert items_of(draft)[(ctx["f2"], "usd")]["amount"] == money(1234)
    expect(srv.post(COMMS + "/" + e["id"] + "/hold", {"reason": "check the order"}, key=ctx["admin"]), 200)
    run_action(srv, ctx, draft["id"], "approve", status=409)
    assert db_rows(srv, "SELECT * FROM payout_locks WHERE run_id = ?", (draft["id"],)) == []
    run_action(srv, ctx, draft["id"], "cancel")
    approve(srv, ctx, e)
    again = new_run(srv, ctx, "fail")
    run_action(srv, ctx, again["id"], "approve")
    cancelled = run_action(srv, ctx, again["id"], "cancel")
    assert cancelled["status"] == "cancelled"
    assert db_rows(srv, "SELECT * FROM payout_locks WHERE run_id = ?", (again["id"],)) == []
    assert com(srv, ctx, e["id"])["status"] == "approved"


def test_reversals_count_against_the_balance(srv, ctx):
    first = sale(srv, ctx, "fail", "f3", 4000)
    approve(srv, ctx, first)
    run = new_run(srv, ctx, "fail")
    assert items_of(run)[(ctx["f3"], "usd")]["amount"] == money(4000)
    run_action(srv, ctx, run["id"], "approve")
    i3 = items_of(run)[(ctx["f3"], "usd")]
    item_action(srv, ctx, run["id"], i3["id"], "mark-paid", {"reference": "f3-1"})
    # The paid sale is refunded: its reversal is approved and counts against the next payout.
    rf = expect(srv.post(REFUNDS, {"sale_id": first["sale_id"]}, key=ctx["admin"]), 201)
    rev = rf["commissions"][0]
    assert rev["amount"] == money(-4000) and rev["status"] == "approved", rev
    small = sale(srv, ctx, "fail", "f3", 1000)
    approve(srv, ctx, small)
    owing = new_run(srv, ctx, "fail")
    assert (ctx["f3"], "usd") not in items_of(owing), owing
    assert left_of(owing)[ctx["f3"]]["amount"] == money(-3000), owing["left_out"]
    run_action(srv, ctx, owing["id"], "cancel")
    big = sale(srv, ctx, "fail", "f3", 5000)
    approve(srv, ctx, big)
    nxt = new_run(srv, ctx, "fail")
    it = items_of(nxt)[(ctx["f3"], "usd")]
    assert it["amount"] == money(2000) and it["entries"] == 3, it
    run_action(srv, ctx, nxt["id"], "approve")
    item_action(srv, ctx, nxt["id"], it["id"], "mark-paid", {"reference": "f3-2"})
    # A run with a paid item cannot be cancelled; a paid run neither.
    run_action(srv, ctx, nxt["id"], "cancel", status=409)
    for other in nxt["items"]:
        if other["id"] != it["id"]:
            item_action(srv, ctx, nxt["id"], other["id"], "mark-failed", {"reason": "bank closed"})
    assert get_run(srv, ctx, nxt["id"])["status"] == "paid"
    run_action(srv, ctx, nxt["id"], "cancel", status=409)
    run_action(srv, ctx, ctx["thr_run1"]["id"], "cancel", status=409)
    for e in (first, rev, small, big):
        assert com(srv, ctx, e["id"])["status"] == "paid", e
    assert balance(srv, ctx, ctx["f3"])["usd"] == {"pending": 0, "held": 0, "approved": 0, "paid": 6000,
                                                   "total": 6000}


# ---- 5. statements ----

def statement(srv, ctx, pid, query, fmt=None):
    q = query + ("&format=" + fmt if fmt else "")
    r = srv.get(PARTNERS + "/" + pid + "/statement?" + q, key=ctx["admin"])
    assert r.status == 200, r
    return r


def test_statements_match_the_ledger(srv, ctx):
    pid = ctx["st"]
    s1 = sale(srv, ctx, "stmt", "st", 2000)
    s2 = sale(srv, ctx, "stmt", "st", 3000)
    approve(srv, ctx, s1, s2)
    run = new_run(srv, ctx, "stmt")
    s3 = sale(srv, ctx, "stmt", "st", 1234)    # approved after the draft: not in it
    approve(srv, ctx, s3)
    run_action(srv, ctx, run["id"], "approve")
    paid = run_action(srv, ctx, run["id"], "mark-paid", {"reference": "st-1"})
    assert totals_of(paid) == {"usd": (5000, 1)}
    time.sleep(0.01)
    mid = iso(server_now(ctx))
    time.sleep(0.01)
    rf = expect(srv.post(REFUNDS, {"sale_id": s3["sale_id"], "amount": money(617)}, key=ctx["admin"]), 201)
    assert [c["amount"] for c in rf["commissions"]] == [money(-617)], rf
    s4 = sale(srv, ctx, "stmt", "st", 555)     # pending
    s5 = sale(srv, ctx, "stmt", "st", 777)
    expect(srv.post(COMMS + "/" + s5["id"] + "/hold", {"reason": "check"}, key=ctx["admin"]), 200)
    s6 = sale(srv, ctx, "stmt", "st", 999)
    expect(srv.post(COMMS + "/" + s6["id"] + "/reject", {"reason": "fraud"}, key=ctx["admin"]), 200)

    bal = balance(srv, ctx, pid)["usd"]
    assert bal == {"pending": 555, "held": 777, "approved": 617, "paid": 5000, "total": 6949}, bal
    owed = bal["pending"] + bal["held"] + bal["approved"]

    full = statement(srv, ctx, pid, "from=2000-01-01T00:00:00Z").json
    assert full["object"] == "statement" and full["partner_id"] == pid
    assert len(full["balances"]) == 1, full["balances"]
    b = full["balances"][0]
    assert b["currency"] == "usd"
    assert b["opening"] == money(0) and b["earned"] == money(6949) and b["paid_out"] == money(5000), b
    assert b["closing"] == money(owed), "closing %r, ledger owes %d" % (b["closing"], owed)
    kinds = [(l["kind"], l["amount"]["amount"]) for l in full["lines"]]
    assert sorted(kinds) == sorted([("commission", 2000), ("commission", 3000), ("commission", 1234),
                                    ("commission", -617), ("commission", 555), ("commission", 777),
                                    ("payout", -5000)]), kinds
    assert s6["id"] not in [l["id"] for l in full["lines"]], "rejected entries are left out"
    ats = [parse_time(l["at"]) for l in full["lines"]]
    assert ats == sorted(ats), "time order"

    early = statement(srv, ctx, pid, "from=2000-01-01T00:00:00Z&to=" + mid).json["balances"][0]
    late = statement(srv, ctx, pid, "from=" + mid).json["balances"][0]
    assert early["opening"] == money(0) and early["earned"] == money(6234) and early["paid_out"] == money(5000)
    assert early["closing"] == money(1234), early
    assert late["opening"] == early["closing"], (early, late)
    assert late["earned"] == money(-617 + 555 + 777) and late["paid_out"] == money(0)
    assert late["closing"] == b["closing"], (late, b)

    # CSV: the same lines and balances, amounts as decimal strings.
    r = statement(srv, ctx, pid, "from=2000-01-01T00:00:00Z", "csv")
    assert r.header("Content-Type").startswith("text/csv"), r.headers
    rows = read_csv(r.body)
    assert rows[0] == ["date", "kind", "id", "description", "amount", "currency", "status"], rows[0]
    body = rows[1:]
    assert [x[1] for x in body if x[1].endswith("balance")] == ["opening_balance", "closing_balance"], body
    opening = [x for x in body if x[1] == "opening_balance"][0]
    closing = [x for x in body if x[1] == "closing_balance"][0]
    assert minor(opening[4], opening[5]) == b["opening"]["amount"], opening
    assert minor(closing[4], closing[5]) == b["closing"]["amount"], closing
    lines = [x for x in body if x[1] in ("commission", "payout")]
    assert len(lines) == len(full["lines"]), (lines, full["lines"])
    for row, line in zip(lines, full["lines"]):
        assert row[2] == line["id"] and row[1] == line["kind"], (row, line)
        assert row[5].lower() == line["amount"]["currency"]
        assert minor(row[4], row[5]) == line["amount"]["amount"], (row, line)
    assert body[0][1] == "opening_balance" and body[-1][1] == "closing_balance"

    # HTML: a printable page that escapes the partner's name.
    r = statement(srv, ctx, pid, "from=2000-01-01T00:00:00Z", "html")
    assert r.header("Content-Type").startswith("text/html"), r.headers
    assert "<script>" not in r.body and "&lt;script&gt;" in r.body, r.body[:600]
    assert "19.49" in r.body
    # Defaults: from the first day of the current month to now.
    d = statement(srv, ctx, pid, "").json
    now = server_now(ctx)
    assert parse_time(d["from"]) == datetime(now.year, now.month, 1, tzinfo=timezone.utc), d["from"]
    assert abs((parse_time(d["to"]) - now).total_seconds()) < 5, d["to"]
    expect(srv.get(PARTNERS + "/" + pid + "/statement?format=pdf", key=ctx["admin"]), 400, field="format")
    expect(srv.get(PARTNERS + "/" + pid + "/statement?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z",
                   key=ctx["admin"]), 400, field="to")


# ---- 9. the CLI against the running server's database ----

def test_cli_run_approve_export_mark_paid(srv, ctx):
    import json
    e = [sale(srv, ctx, "cli", "q1", 1500), sale(srv, ctx, "cli", "q1", 25), sale(srv, ctx, "cli", "q2", 9999)]
    approve(srv, ctx, *e)
    run = json.loads(srv.cli("payouts", "run", "--program", ctx["cli"]).stdout)
    assert run["status"] == "draft" and run["program_id"] == ctx["cli"], run
    assert {k: i["amount"] for k, i in items_of(run).items()} == {(ctx["q1"], "usd"): money(1525),
                                                                    (ctx["q2"], "usd"): money(9999)}
    assert get_run(srv, ctx, run["id"])["status"] == "draft"
    p = srv.cli("payouts", "export", "--run", run["id"], "--format", "paypal", check=False)
    assert p.returncode != 0, "a draft does not export"
    approved = json.loads(srv.cli("payouts", "approve", "--run", run["id"]).stdout)
    assert approved["status"] == "approved"
    assert get_run(srv, ctx, run["id"])["status"] == "approved"
    out = srv.cli("payouts", "export", "--run", run["id"], "--format", "paypal").stdout
    rows = read_csv(out)
    items = {i["id"]: i for i in approved["items"]}
    assert len(rows) == 2 and all(len(r) == 6 for r in rows), rows
    for r in rows:
        assert minor(r[1], r[2]) == items[r[3]]["amount"]["amount"] and r[0] == items[r[3]]["email"], r
    paid = json.loads(srv.cli("payouts", "mark-paid", "--run", run["id"], "--reference", "cli-batch-9").stdout)
    assert paid["status"] == "paid", paid
    view = get_run(srv, ctx, run["id"])
    assert view["status"] == "paid", view
    for it in view["items"]:
        assert it["status"] == "paid" and it["reference"] == "cli-batch-9" and it["paid_at"], it
    for x in e:
        assert com(srv, ctx, x["id"])["status"] == "paid"
    assert balance(srv, ctx, ctx["q1"])["usd"]["paid"] == 1525
    p = srv.cli("payouts", "approve", "--run", run["id"], check=False)
    assert p.returncode != 0


def test_cli_follows_the_api_rules(srv, ctx):
    p = srv.cli("payouts", "run", "--program", ctx["cli"], "--cutoff", "soon", check=False)
    assert p.returncode != 0 and "cutoff" in p.stderr, p
    p = srv.cli("payouts", "approve", check=False)
    assert p.returncode != 0 and "--run" in p.stderr, p
    p = srv.cli("payouts", "run", check=False)
    assert p.returncode != 0 and "program" in p.stderr, "several programs: --program is needed: %r" % p
    # The API refuses a cutoff in the future (400 cutoff); the CLI works "with the same rules as the API".
    p = srv.cli("payouts", "run", "--program", ctx["cli"], "--cutoff", "2999-01-01T00:00:00Z", check=False)
    assert p.returncode != 0, "refd payouts run --cutoff 2999-01-01T00:00:00Z accepted a future cutoff: %s" % p.stdout


# ---- 7. year-end tax totals ----

def pay_all(srv, ctx, prog, ref):
    run = new_run(srv, ctx, prog)
    run_action(srv, ctx, run["id"], "approve")
    return run_action(srv, ctx, run["id"], "mark-paid", {"reference": ref})


def tax_rows(srv, ctx, query):
    t = expect(srv.get(TAX + "?program_id=" + ctx["tax"] + "&" + query, key=ctx["admin"]), 200)
    return t, {r["partner_id"]: r for r in t["partners"]}


def test_tax_totals_on_both_sides_of_the_threshold(srv, ctx):
    try:
        set_now(srv, ctx, datetime(2025, 12, 15, 12, 0, tzinfo=timezone.utc))
        e = [sale(srv, ctx, "tax", "tx1", 59999), sale(srv, ctx, "tax", "tx2", 60000),
             sale(srv, ctx, "tax", "tx3", 60000), sale(srv, ctx, "tax", "tx4", 60000)]
        approve(srv, ctx, *e)
        run = pay_all(srv, ctx, "tax", "y2025")
        assert totals_of(run) == {"usd": (239999, 4)}
        for it in run["items"]:
            assert it["paid_at"].startswith("2025-12-15"), it

        # The last seconds of 2025 and the first of 2026 (marked paid within a few seconds of each).
        set_now(srv, ctx, datetime(2025, 12, 31, 23, 59, 50, tzinfo=timezone.utc))
        approve(srv, ctx, sale(srv, ctx, "tax", "tx5", 10000))
        run = pay_all(srv, ctx, "tax", "y2025-end")
        assert [i["paid_at"][:10] for i in run["items"]] == ["2025-12-31"], run
        set_now(srv, ctx, datetime(2026, 1, 1, 0, 0, 0, tzinfo=timezone.utc))
        approve(srv, ctx, sale(srv, ctx, "tax", "tx5", 20000))
        run = pay_all(srv, ctx, "tax", "y2026-start")
        assert [i["paid_at"][:10] for i in run["items"]] == ["2026-01-01"], run

        set_now(srv, ctx, datetime(2026, 6, 15, 12, 0, tzinfo=timezone.utc))
        e = [sale(srv, ctx, "tax", "tx1", 199999), sale(srv, ctx, "tax", "tx2", 200000),
             sale(srv, ctx, "tax", "tx3", 100),
             # Earned in 2025 (1.10 USD per EUR), paid in 2026 at the day's rate: 1.25.
             sale(srv, ctx, "tax", "txe", 100000, cur="eur", occurred_at="2025-12-20T00:00:00Z")]
        assert e[3]["amount"] == money(100000, "eur")
        approve(srv, ctx, *e)
        run = pay_all(srv, ctx, "tax", "y2026")
        assert totals_of(run) == {"usd": (400099, 3), "eur": (100000, 1)}
        for it in run["items"]:
            assert it["paid_at"].startswith("2026-06-15"), it
    finally:
        reset_clock(srv, ctx)

    t, rows = tax_rows(srv, ctx, "year=2025")
    assert t["object"] == "tax_totals" and t["year"] == 2025 and t["threshold"] == money(60000), t
    assert set(rows) == {ctx["tx1"], ctx["tx2"], ctx["tx3"], ctx["tx4"], ctx["tx5"]}, rows
    want = {"tx1": (59999, False), "tx2": (60000, True), "tx3": (60000, True), "tx4": (60000, True),
            "tx5": (10000, False)}
    for k, (amount, rep) in want.items():
        assert rows[ctx[k]]["total_paid_usd"] == money(amount) and rows[ctx[k]]["reportable"] is rep, rows[ctx[k]]
    assert sorted(t["missing_tax_profiles"]) == sorted([ctx["tx2"], ctx["tx3"]]), t["missing_tax_profiles"]
    assert rows[ctx["tx4"]]["tax_profile"] == {"legal_name": "Four LLC", "country": "US", "tax_id_last4": "6789"}, \
        rows[ctx["tx4"]]
    assert rows[ctx["tx4"]]["missing_tax_profile"] is False and rows[ctx["tx3"]]["missing_tax_profile"] is True

    t, rows = tax_rows(srv, ctx, "year=2025&threshold=599.99")
    assert t["threshold"] == money(59999) and rows[ctx["tx1"]]["reportable"] is True
    assert sorted(t["missing_tax_profiles"]) == sorted([ctx["tx1"], ctx["tx2"], ctx["tx3"]])

    t, rows = tax_rows(srv, ctx, "year=2026")
    assert t["threshold"] == money(200000), t
    assert set(rows) == {ctx["tx1"], ctx["tx2"], ctx["tx3"], ctx["txe"], ctx["tx5"]}, rows
    want = {"tx1": (199999, False), "tx2": (200000, True), "tx3": (100, False), "txe": (125000, False),
            "tx5": (20000, False)}
    for k, (amount, rep) in want.items():
        assert rows[ctx[k]]["total_paid_usd"] == money(amount) and rows[ctx[k]]["reportable"] is rep, rows[ctx[k]]
    assert rows[ctx["txe"]]["unconverted"] == []
    assert t["missing_tax_profiles"] == [ctx["tx2"]], t

    t, rows = tax_rows(srv, ctx, "year=2026&threshold=600.00")
    assert [k for k in ("tx1", "tx2", "tx3", "txe") if rows[ctx[k]]["reportable"]] == ["tx1", "tx2", "txe"]
    assert sorted(t["missing_tax_profiles"]) == sorted([ctx["tx1"], ctx["tx2"]])

    t, rows = tax_rows(srv, ctx, "year=2024")
    assert rows == {} and t["threshold"] == money(60000) and t["missing_tax_profiles"] == []

    r = srv.get(TAX + "?program_id=" + ctx["tax"] + "&year=2025&format=csv", key=ctx["admin"])
    assert r.status == 200 and r.header("Content-Type").startswith("text/csv"), r
    csv_rows = read_csv(r.body)
    assert csv_rows[0] == ["partner_id", "name", "email", "legal_name", "country", "tax_id_last4", "total_usd",
                           "unconverted", "reportable", "missing_tax_profile"], csv_rows[0]
    got = {x[0]: x for x in csv_rows[1:]}
    assert set(got) == {ctx["tx1"], ctx["tx2"], ctx["tx3"], ctx["tx4"], ctx["tx5"]}
    for k, (amount, rep) in (("tx1", (59999, False)), ("tx2", (60000, True)), ("tx3", (60000, True)),
                             ("tx4", (60000, True))):
        row = got[ctx[k]]
        assert minor(row[6], "usd") == amount and row[8] == ("true" if rep else "false"), row
    assert got[ctx["tx1"]][6] == "599.99" and got[ctx["tx2"]][6] == "600.00"
    assert [got[ctx[k]][9] for k in ("tx1", "tx2", "tx3", "tx4")] == ["false", "true", "true", "false"]
    assert got[ctx["tx4"]][3:6] == ["Four LLC", "US", "6789"], got[ctx["tx4"]]

    expect(srv.get(TAX + "?program_id=" + ctx["tax"], key=ctx["admin"]), 400, field="year")
    expect(srv.get(TAX + "?program_id=" + ctx["tax"] + "&year=2025&threshold=lots", key=ctx["admin"]), 400,
           field="threshold")


def test_tax_totals_list_items_without_a_rate_as_unconverted(srv, ctx):
    # A euro program: francs need a EUR->CHF rate for the threshold, but no rate gives francs in USD.
    r = srv.post(FX, {"base": "eur", "quote": "chf", "rate": "0.95", "valid_from": OLD}, key=ctx["admin"])
    assert r.status in (200, 201), r
    e = [sale(srv, ctx, "taxeu", "tz", 12345, cur="chf"), sale(srv, ctx, "taxeu", "tze", 100000, cur="eur")]
    assert e[0]["amount"] == money(12345, "chf") and e[1]["amount"] == money(100000, "eur"), e
    approve(srv, ctx, *e)
    run = pay_all(srv, ctx, "taxeu", "eu-1")
    assert totals_of(run) == {"chf": (12345, 1), "eur": (100000, 1)}, run
    year = server_now(ctx).year
    t = expect(srv.get(TAX + "?program_id=%s&year=%d" % (ctx["taxeu"], year), key=ctx["admin"]), 200)
    rows = {r["partner_id"]: r for r in t["partners"]}
    assert rows[ctx["tz"]]["total_paid_usd"] == money(0) and rows[ctx["tz"]]["unconverted"] == [money(12345, "chf")]
    # EUR -> USD at the day's rate (1.25 since 2026-01-01).
    assert rows[ctx["tze"]]["total_paid_usd"] == money(125000) and rows[ctx["tze"]]["unconverted"] == []
    r = srv.get(TAX + "?program_id=%s&year=%d&format=csv" % (ctx["taxeu"], year), key=ctx["admin"])
    got = {x[0]: x for x in read_csv(r.body)[1:]}
    assert got[ctx["tz"]][6] == "0.00" and got[ctx["tz"]][7].upper() == "123.45 CHF", got[ctx["tz"]]
    assert got[ctx["tze"]][6] == "1250.00" and got[ctx["tze"]][7] == "", got[ctx["tze"]]


# ---- 8. the payout forecast ----

def forecast(srv, ctx, day, terms):
    expect(srv.patch(PROGRAMS + "/" + ctx["fc"], {"payout_day": day, "payout_terms_days": terms},
                     key=ctx["admin"]), 200)
    f = expect(srv.get(PARTNERS + "/" + ctx["fcp"] + "/payout-forecast", key=ctx["admin"]), 200)
    assert f["object"] == "payout_forecast" and f["payout_day"] == day and f["terms_days"] == terms, f
    assert len(f["expected"]) == 1, f
    return f, f["expected"][0]


def test_forecast_follows_the_schedule(srv, ctx):
    now = datetime(2027, 3, 10, 12, 0, tzinfo=timezone.utc)
    try:
        set_now(srv, ctx, now)
        # Already in an approved run (cutoff before the others): not forecast.
        locked = sale(srv, ctx, "fc", "fcp", 6000, occurred_at="2026-12-01T00:00:00Z")
        a = sale(srv, ctx, "fc", "fcp", 1000, occurred_at="2027-01-01T00:00:00Z")      # hold ends 01-31
        wait_status(srv, ctx, [locked, a], "approved")
        run = new_run(srv, ctx, "fc", cutoff="2026-12-15T00:00:00Z")
        assert {k: i["amount"] for k, i in items_of(run).items()} == {(ctx["fcp"], "usd"): money(6000)}, run
        run_action(srv, ctx, run["id"], "approve")
        sale(srv, ctx, "fc", "fcp", 2000, occurred_at="2027-02-10T12:00:00Z")           # hold ends 03-12 12:00
        sale(srv, ctx, "fc", "fcp", 4000, occurred_at="2027-02-20T00:00:00Z")           # hold ends 03-22
        sale(srv, ctx, "fc", "fcp", 8000, occurred_at="2027-03-01T00:00:00Z")           # hold ends 03-31

        f, x = forecast(srv, ctx, 15, 0)
        assert parse_time(f["next_payout_date"]) == datetime(2027, 3, 15, tzinfo=timezone.utc), f
        assert (x["currency"], x["amount"], x["approved"], x["pending"], x["later"]) == \
            ("usd", money(3000), money(1000), money(2000), money(12000)), x
        assert x["threshold"] == money(5000) and x["meets_threshold"] is False, x
        assert f["held"] is None

        f, x = forecast(srv, ctx, 15, 5)
        assert parse_time(f["next_payout_date"]) == datetime(2027, 3, 15, tzinfo=timezone.utc), f
        assert (x["amount"], x["approved"], x["pending"], x["later"]) == \
            (money(1000), money(1000), money(0), money(14000)), x

        f, x = forecast(srv, ctx, 28, 10)
        assert parse_time(f["next_payout_date"]) == datetime(2027, 3, 28, tzinfo=timezone.utc), f
        assert (x["amount"], x["later"]) == (money(3000), money(12000)), x

        f, x = forecast(srv, ctx, 5, 0)
        assert parse_time(f["next_payout_date"]) == datetime(2027, 4, 5, tzinfo=timezone.utc), f
        assert (x["amount"], x["approved"], x["pending"], x["later"]) == \
            (money(15000), money(1000), money(14000), money(0)), x
        assert x["meets_threshold"] is True

        f, x = forecast(srv, ctx, 1, 30)
        assert parse_time(f["next_payout_date"]) == datetime(2027, 4, 1, tzinfo=timezone.utc), f
        assert (x["amount"], x["later"]) == (money(1000), money(14000)), "due by 03-02: %r" % x

        expect(srv.post(PARTNERS + "/" + ctx["fcp"] + "/hold-payouts", {"reason": "W-9 missing"}, key=ctx["admin"]),
               200)
        f = expect(srv.get(PARTNERS + "/" + ctx["fcp"] + "/payout-forecast", key=ctx["admin"]), 200)
        assert f["held"] == "W-9 missing", f

        expect(srv.post(PARTNERS + "/" + ctx["fcp"] + "/release-payouts", {}, key=ctx["admin"]), 200)
        # December rolls over into January; by then the job has approved every entry.
        set_now(srv, ctx, datetime(2027, 12, 20, 12, 0, tzinfo=timezone.utc))
        deadline = time.time() + 30
        while True:
            f, x = forecast(srv, ctx, 15, 0)
            if x["pending"]["amount"] == 0 or time.time() > deadline:
                break
            time.sleep(0.05)
        assert parse_time(f["next_payout_date"]) == datetime(2028, 1, 15, tzinfo=timezone.utc), f
        assert (x["amount"], x["approved"], x["pending"], x["later"]) == \
            (money(15000), money(15000), money(0), money(0)), x

        expect(srv.patch(PROGRAMS + "/" + ctx["fc"], {"payout_day": 29}, key=ctx["admin"]), 400, field="payout_day")
        expect(srv.patch(PROGRAMS + "/" + ctx["fc"], {"payout_terms_days": 121}, key=ctx["admin"]), 400,
               field="payout_terms_days")
    finally:
        reset_clock(srv, ctx)
