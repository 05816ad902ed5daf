# SPDX-License-Identifier: Apache-2.0
"""Reports (docs/REPORTS.md): the summary, the breakdowns by partner, agent, team, source, campaign, day, week and
month (JSON and CSV), date ranges, what partners and managers may see, the admin's queues, and the rollups that
`refd rollups rebuild` recomputes from the raw tables.

One dataset is built in setup on a timeline that spans two calendar months (the server's clock is moved for each
step): two programs; partners including an organisation with two agents and a partner paid in euros; links with
campaigns; counted, bot and repeated clicks; leads with sources and click ids; lifecycle moves (one lead goes
qualified -> lost -> contacted -> qualified and is counted once); sales (one in euros in a dollar program, one
recorded after the day it occurred); refunds; commissions approved, paid by two payout runs, held and rejected.
Every fact is also written down here, by hand, in a small model; every expected figure is computed from that model,
never from the reports themselves."""
import csv
import io
import time
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from urllib.parse import parse_qsl, urlencode, urlsplit

import harness
from harness import browser_ua, db_rows, expect

PROGRAMS = "/api/v1/programs"
PARTNERS = "/api/v1/partners"
LINKS = "/api/v1/links"
LEADS = "/api/v1/leads"
PLANS = "/api/v1/plans"
SALES = "/api/v1/sales"
REFUNDS = "/api/v1/refunds"
COMMS = "/api/v1/commissions"
FX = "/api/v1/fx-rates"
RUNS = "/api/v1/payout-runs"
SUMMARY = "/api/v1/reports/summary"
BREAKDOWN = "/api/v1/reports/breakdown"
QUEUES = "/api/v1/reports/queues"
OLD = "2020-01-01T00:00:00Z"
DAY_S = 86400
COUNTS = ("clicks", "leads", "qualified", "customers", "sales", "revenue", "refunds", "conversions", "conversion_ms")
COMS = ("earned", "approved", "paid")
INTS = ("clicks", "leads", "qualified", "customers", "sales")
GROUPS = ("partner", "agent", "team", "source", "campaign", "day", "week", "month")


def make_server():
    return harness.Refd(extra_args=["--jobs-interval-ms", "100"]).start()


# ---- exact arithmetic ----

def rhe(num, den):
    """num / den rounded half-even, in integers (den > 0)."""
    q, r = divmod(num, den)
    if 2 * r > den or (2 * r == den and q % 2 == 1):
        q += 1
    return q


def pct(amount, bps):
    return rhe(amount * bps, 10000)


def convert(amount, rate):
    """amount (2-decimal currency) into another 2-decimal currency at a decimal rate, rounded half-even."""
    ppb = int(Decimal(rate) * 10 ** 9)
    return rhe(amount * ppb, 10 ** 9)


def money(amount, cur="usd"):
    return {"amount": amount, "currency": cur}


def ratio_ok(got, num, den):
    """A ratio with 4 decimals (null without a positive denominator); the rounding of a tie is not pinned down."""
    if den <= 0:
        return got is None
    if not isinstance(got, (int, float)) or isinstance(got, bool):
        return False
    exact = Decimal(num) / Decimal(den)
    g = Decimal(repr(got))
    return any(g == exact.quantize(Decimal("0.0001"), rounding=m) for m in (ROUND_HALF_UP, ROUND_HALF_EVEN))


def seconds_ok(got, ms_total, n):
    """Mean seconds of n durations summing to ms_total ms: within a second of the exact value (rounding free)."""
    if n == 0:
        return got is None
    return isinstance(got, int) and abs(got - ms_total / n / 1000) < 1


def decimal_text(text, cur):
    d = Decimal(text) * 100
    assert d == d.to_integral_value(), "%r has more decimals than %s allows" % (text, cur)
    return int(d)


# ---- the timeline ----

def month_start(d):
    return datetime(d.year, d.month, 1, tzinfo=timezone.utc)


def next_month(d):
    return month_start(month_start(d) + timedelta(days=32))


def day_no(dt):
    return int(dt.timestamp()) // DAY_S


def date_of(day):
    return datetime.fromtimestamp(day * DAY_S, timezone.utc).strftime("%Y-%m-%d")


def week_of(day):
    """The Monday (as a day number) of day's week; day 0 (1970-01-01) was a Thursday."""
    return day - (day + 3) % 7


def month_of(day):
    return date_of(day)[:7]


# ---- the model: every fact of the dataset, written down by hand ----

class Model:
    def __init__(self):
        self.facts = []  # dict(program, day, currency, metrics, entities, dims)

    def add(self, program, day, metrics, entities=(), dims=(), currency=""):
        self.facts.append({"program": program, "day": day, "currency": currency, "metrics": dict(metrics),
                           "entities": [e for e in entities if e], "dims": ["all"] + [d for d in dims if d]})

    def select(self, program, lo, hi, pred):
        return [f for f in self.facts if f["program"] == program and lo <= f["day"] <= hi and pred(f)]

    @staticmethod
    def empty():
        return {"counts": {k: 0 for k in COUNTS}, "coms": {}}

    @staticmethod
    def fold(acc, f):
        if f["currency"] == "":
            for k, v in f["metrics"].items():
                acc["counts"][k] += v
        else:
            c = acc["coms"].setdefault(f["currency"], {k: 0 for k in COMS})
            for k, v in f["metrics"].items():
                c[k] += v
        return acc

    def total(self, program, lo, hi, dim="all", entity=None):
        acc = self.empty()
        for f in self.select(program, lo, hi,
                             lambda f: (entity in f["entities"]) if entity else (dim in f["dims"])):
            self.fold(acc, f)
        return acc

    def rows(self, program, lo, hi, prefix=None, grain=None):
        """Expected breakdown rows {key: acc}: entities or dims starting with prefix, or periods of grain."""
        out = {}
        for f in self.select(program, lo, hi, lambda f: True):
            if grain:
                if grain == "day":
                    keys = [date_of(f["day"])]
                elif grain == "week":
                    keys = [date_of(week_of(f["day"]))]
                else:
                    keys = [month_of(f["day"])]
            else:
                pool = f["entities"] if prefix in ("p:", "a:", "t:") else f["dims"]
                keys = [k[2:] for k in pool if k.startswith(prefix)]
            for k in keys:
                self.fold(out.setdefault(k, self.empty()), f)
        # A row is listed when something changed in the period.
        for k in list(out):
            acc = out[k]
            acc["coms"] = {c: v for c, v in acc["coms"].items() if any(v.values())}
            if not any(acc["counts"].values()) and not acc["coms"]:
                del out[k]
        return out


# ---- setup ----

def setup(srv):
    admin = srv.admin_key()
    now = datetime.now(timezone.utc)
    S = next_month(now)
    while S - timedelta(days=13) < now + timedelta(hours=2):
        S = next_month(S)
    ctx = {"admin": admin, "S": S, "clock": 0, "n": 0, "model": Model(), "leads": {}, "coms": {},
           "conv": {}, "first_day": day_no(S) - 12, "last_day": day_no(S) + 20}
    M = ctx["model"]

    def D(i, h=12, m=0):
        return S + timedelta(days=i, hours=h, minutes=m)

    def goto(i, h=12, m=0):
        target = D(i, h, m)
        offset = int((target.timestamp() - time.time()) * 1000)
        assert offset > ctx["clock"], "the clock only moves forward"
        srv.set_clock(offset)
        ctx["clock"] = offset
        ctx["day"] = day_no(target)

    def post(path, body, key=admin, status=201):
        return expect(srv.post(path, body, key=key), status)

    # Programs, plans, FX rates.
    P1 = ctx["p1"] = post(PROGRAMS, {"name": "Main", "currency": "usd", "holding_period_days": 365})["id"]
    P2 = ctx["p2"] = post(PROGRAMS, {"name": "Side", "currency": "usd", "holding_period_days": 365})["id"]
    post(PLANS, {"program_id": P1, "name": "Main plan", "default": True,
                 "rules": {"lead_amount": money(500), "sale_bps": 1000, "agent_share_bps": 6000}})
    post(PLANS, {"program_id": P2, "name": "Side plan", "default": True, "rules": {"sale_bps": 2000}})
    for base, quote, rate in (("eur", "usd", "1.10"), ("usd", "eur", "0.92")):
        r = srv.post(FX, {"base": base, "quote": quote, "rate": rate, "valid_from": OLD}, key=admin)
        assert r.status in (200, 201), r

    def partner(key, prog, **extra):
        body = {"program_id": prog, "name": key.title(), "email": key + "@reports.example"}
        body.update(extra)
        p = post(PARTNERS, body)
        ctx[key] = p["id"]
        ctx["name_" + key] = p["name"]
        return p

    partner("alpha", P1)
    partner("beta", P1, currency="eur")
    partner("org", P1, company="Org Ltd")
    partner("ag1", P1, kind="agent", team_parent_id=ctx["org"])
    partner("ag2", P1, kind="agent", team_parent_id=ctx["org"])
    partner("idle", P1)
    partner("applicant", P1, status="applied")
    partner("side", P2)
    ctx["team_of"] = {ctx["ag1"]: ctx["org"], ctx["ag2"]: ctx["org"]}

    links = {}
    for code, who, campaign in (("al-spring", "alpha", "spring"), ("al-fall", "alpha", "fall"),
                                ("be-spring", "beta", "spring"), ("org-main", "org", None),
                                ("ag1-fall", "ag1", "fall"), ("ag2-win", "ag2", "winter"),
                                ("side-spring", "side", "spring")):
        body = {"partner_id": ctx[who], "code": code, "destination_url": "https://shop.example.com/"}
        if campaign:
            body["campaign"] = campaign
        post(LINKS, body)
        links[code] = (who, campaign)

    ctx["k_org"] = srv.admin_key(role="partner", partner=ctx["org"], name="org")
    ctx["k_alpha"] = srv.admin_key(role="partner", partner=ctx["alpha"], name="alpha")
    ctx["k_beta"] = srv.admin_key(role="partner", partner=ctx["beta"], name="beta")
    ctx["k_ag1"] = srv.admin_key(role="partner", partner=ctx["ag1"], name="ag1")
    ctx["k_mgr"] = srv.admin_key(role="manager", partner=ctx["org"], name="org manager")

    def prog_of(who):
        return P2 if who == "side" else P1

    def keys_for(partner_id, agent_id):
        """Entities of a count credited to partner_id (and agent_id): the partner, the agent and its team."""
        return ["p:" + partner_id if partner_id else None, "a:" + agent_id if agent_id else None,
                "t:" + partner_id if agent_id else None]

    def credit_of(who):
        pid = ctx[who]
        if pid in ctx["team_of"]:
            return ctx["team_of"][pid], pid
        return pid, None

    # Clicks.
    def click(code, ua, want):
        h = {"User-Agent": ua} if ua is not None else {}
        r = srv.get("/r/" + code, headers=h)
        assert r.status == 302, r
        cid = dict(parse_qsl(urlsplit(r.header("Location")).query)).get("refd_click")
        assert cid, r.header("Location")
        got = db_rows(srv, "SELECT status FROM clicks WHERE id = ?", (cid,))
        assert got and got[0]["status"] == want, (code, ua, want, got)
        if want == "counted":
            who, campaign = links[code]
            p, a = credit_of(who)
            M.add(prog_of(who), ctx["day"], {"clicks": 1}, keys_for(p, a), ["c:" + campaign if campaign else None])
        return cid

    # Leads: the model keeps each lead's keys, so its later figures count under the same ones.
    def lead(name, prog, key=admin, **body):
        body = dict(body)
        if key == admin:
            body["program_id"] = prog
        body.setdefault("email", "%s@customers.example" % name.lower())
        l = post(LEADS, body, key=key)
        att = l["attribution"]
        campaign = None
        if att["click_id"]:
            code = db_rows(srv, "SELECT l.code FROM clicks c JOIN links l ON l.id = c.link_id WHERE c.id = ?",
                           (att["click_id"],))[0]["code"]
            campaign = links[code][1]
        info = {"id": l["id"], "program": prog, "partner": att["partner_id"], "agent": att["agent_id"],
                "source": l["source"], "campaign": campaign, "created_at": l["created_at"]}
        ctx["leads"][name] = info
        count(name, "leads", 1)
        return info

    def count(name, metric, value, extra=None, day=None):
        """A figure of lead `name` (or of its sale or refund), under the lead's keys, today or on `day`."""
        info = ctx["leads"][name]
        m = {metric: value}
        m.update(extra or {})
        M.add(info["program"], ctx["day"] if day is None else day, m, keys_for(info["partner"], info["agent"]),
              ["s:" + info["source"], "c:" + info["campaign"] if info["campaign"] else None])

    def move(name, to, counts_as=None):
        l = post(LEADS + "/" + ctx["leads"][name]["id"] + "/status", {"status": to}, status=200)
        assert l["status"] == to, l
        if counts_as:
            count(name, counts_as, 1)
        if to == "converted":
            converted(name)
        return l

    def converted(name):
        l = expect(srv.get(LEADS + "/" + ctx["leads"][name]["id"], key=admin), 200)
        assert l["status"] == "converted", l
        ms = ms_of(l["converted_at"]) - ms_of(l["created_at"])
        assert day_no(datetime.fromtimestamp(ms_of(l["converted_at"]) / 1000, timezone.utc)) == ctx["day"]
        ctx["conv"][name] = (ctx["leads"][name]["program"], ctx["day"], ms)
        count(name, "customers", 1, {"conversions": 1, "conversion_ms": ms})

    # Commissions: the hand-computed entries, matched with the ledger's, and their later status changes.
    def commission(entry, beneficiary, role, currency, amount, day=None):
        assert entry["partner_id"] == ctx[beneficiary], (beneficiary, entry)
        assert entry["role"] == role, (role, entry)
        assert entry["amount"] == money(amount, currency), (amount, currency, entry)
        pid = entry["partner_id"]
        if role == "agent":
            ents = ["a:" + pid, "t:" + ctx["team_of"][pid], "p:" + ctx["team_of"][pid]]
        else:
            ents = ["p:" + pid]
        c = {"id": entry["id"], "program": entry["program_id"], "currency": currency, "amount": amount,
             "entities": ents, "day": ctx["day"] if day is None else day}
        ctx["coms"][entry["id"]] = c
        M.add(c["program"], c["day"], {"earned": amount}, ents, currency=currency)
        return c

    def com_status(c, metric):
        """An approval or a payment counts on the day of the change."""
        M.add(c["program"], ctx["day"], {metric: c["amount"]}, c["entities"], currency=c["currency"])

    def approve(*cs):
        for c in cs:
            got = post(COMMS + "/" + c["id"] + "/approve", {}, status=200)
            assert got["status"] == "approved", got
            com_status(c, "approved")

    def reject(c, reason):
        got = post(COMMS + "/" + c["id"] + "/reject", {"reason": reason}, status=200)
        assert got["status"] == "rejected", got
        # Earned on the event's day, less rejections: the entry no longer counts where it was earned.
        M.add(c["program"], c["day"], {"earned": -c["amount"]}, c["entities"], currency=c["currency"])

    def lead_entries(name):
        got = expect(srv.get(COMMS + "?lead_id=" + ctx["leads"][name]["id"] + "&limit=100", key=admin), 200)
        return [e for e in got["data"] if e["rule"] == "lead"]

    def one(entries, who, role=None):
        found = [e for e in entries if e["partner_id"] == ctx[who] and (role is None or e["role"] == role)]
        assert len(found) == 1, (who, role, entries)
        return found[0]

    def sale(name, amount, cur="usd", program_amount=None, occurred=None, converts=False, **extra):
        ctx["n"] += 1
        info = ctx["leads"][name]
        body = {"program_id": info["program"], "lead_id": info["id"], "amount": money(amount, cur),
                "external_id": "rep-inv-%03d" % ctx["n"]}
        if occurred is not None:
            body["occurred_at"] = occurred.strftime("%Y-%m-%dT%H:%M:%SZ")
        body.update(extra)
        s = post(SALES, body)
        # A sale counts on the day it occurred.
        day = day_no(occurred) if occurred is not None else ctx["day"]
        count(name, "sales", 1, {"revenue": amount if program_amount is None else program_amount}, day=day)
        if converts:
            # The first sale converts the lead; one that never reached qualified counts as qualified now.
            if not info.get("qualified"):
                count(name, "qualified", 1)
                info["qualified"] = True
            converted(name)
        s["_amount"] = amount
        s["_program_amount"] = amount if program_amount is None else program_amount
        return s

    def refund(s, amount, name):
        r = post(REFUNDS, {"sale_id": s["id"], "amount": money(amount, s["amount"]["currency"])})
        count(name, "refunds", rhe(s["_program_amount"] * amount, s["_amount"]))
        return r

    def payout_run(prog, want):
        run = post(RUNS, {"program_id": prog})
        got = {(i["partner_id"], i["amount"]["currency"]): i["amount"]["amount"] for i in run["items"]}
        assert got == {(ctx[w], c): a for (w, c), a in want.items()}, (run, want)
        expect(srv.post(RUNS + "/" + run["id"] + "/approve", key=admin), 200)
        paid = expect(srv.post(RUNS + "/" + run["id"] + "/mark-paid", {"reference": "batch"}, key=admin), 200)
        assert paid["status"] == "paid", paid
        return run

    def qualify(name):
        ctx["leads"][name]["qualified"] = True
        return move(name, "qualified", counts_as="qualified")

    C = {}

    # ---- day -12 (the first month) ----
    goto(-12)
    ctx["cid_a1"] = click("al-spring", browser_ua("a1"), "counted")
    click("al-spring", browser_ua("a1"), "repeat")
    click("al-spring", browser_ua("a2"), "counted")
    click("al-spring", None, "bot")
    ctx["cid_b1"] = click("be-spring", browser_ua("b1"), "counted")
    click("ag1-fall", browser_ua("g1"), "counted")
    ctx["cid_s1"] = click("side-spring", browser_ua("s1"), "counted")
    click("side-spring", browser_ua("s2"), "counted")
    lead("L1", P1, click_id=ctx["cid_a1"], source="paid")
    lead("L2", P1, click_id=ctx["cid_b1"])
    lead("L3", P1, source="organic")
    lead("LS", P2, click_id=ctx["cid_s1"], source="paid")
    lead("LS2", P2, partner_id=ctx["side"], source="referral")
    assert ctx["leads"]["L1"]["partner"] == ctx["alpha"] and ctx["leads"]["L1"]["campaign"] == "spring"
    assert ctx["leads"]["L2"]["source"] == "partner" and ctx["leads"]["L3"]["partner"] is None

    # ---- day -5 ----
    goto(-5)
    ctx["cid_a3"] = click("al-fall", browser_ua("a3"), "counted")
    ctx["cid_o1"] = click("org-main", browser_ua("o1"), "counted")
    click("org-main", browser_ua("o1"), "repeat")
    click("org-main", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "bot")
    ctx["cid_g2"] = click("ag2-win", browser_ua("g2"), "counted")
    ctx["cid_g3"] = click("ag1-fall", browser_ua("g3"), "counted")
    lead("L4", P1, click_id=ctx["cid_g3"], source="referral")
    lead("L5", P1, click_id=ctx["cid_o1"])
    lead("L6", P1, click_id=ctx["cid_g2"], source="paid")
    lead("L7", P1, click_id=ctx["cid_a3"], source="organic")
    assert (ctx["leads"]["L4"]["partner"], ctx["leads"]["L4"]["agent"]) == (ctx["org"], ctx["ag1"])
    qualify("L1")
    C["L1_lead"] = commission(one(lead_entries("L1"), "alpha"), "alpha", "direct", "usd", 500)
    move("L2", "contacted")

    # ---- day -3: qualified -> lost -> contacted -> qualified counts once; a sale; the first payout run ----
    goto(-3, 13)
    move("L1", "lost")
    move("L1", "contacted")
    move("L1", "qualified")
    assert len(lead_entries("L1")) == 1, "a lead pays once"
    s1 = sale("L1", 20000, converts=True)
    assert [e["rule"] for e in s1["commissions"]] == ["sale"], s1
    C["S1"] = commission(one(s1["commissions"], "alpha"), "alpha", "direct", "usd", 2000)
    approve(C["L1_lead"], C["S1"])
    payout_run(P1, {("alpha", "usd"): 2500})
    for c in (C["L1_lead"], C["S1"]):
        com_status(c, "paid")

    # ---- day -1, the month's last day ----
    goto(-1)
    qualify("L4")
    ents = lead_entries("L4")
    C["L4_ag1"] = commission(one(ents, "ag1"), "ag1", "agent", "usd", 300)
    C["L4_org"] = commission(one(ents, "org"), "org", "team", "usd", 200)
    qualify("L2")
    C["L2_lead"] = commission(one(lead_entries("L2"), "beta"), "beta", "direct", "eur", convert(500, "0.92"))
    ss1 = sale("LS", 5000, converts=True)
    C["SS1"] = commission(one(ss1["commissions"], "side"), "side", "direct", "usd", 1000)
    ss2 = sale("LS2", 3000, converts=True)
    C["SS2"] = commission(one(ss2["commissions"], "side"), "side", "direct", "usd", 600)

    # ---- day 0, the next month: a sale in euros in a dollar program ----
    goto(0)
    s2 = sale("L7", 10000, cur="eur", program_amount=convert(10000, "1.10"), converts=True)
    C["L7_lead"] = commission(one([e for e in s2["commissions"] if e["rule"] == "lead"], "alpha"), "alpha",
                              "direct", "usd", 500)
    se = one([e for e in s2["commissions"] if e["rule"] == "sale"], "alpha")
    assert se["earned"] == money(1000, "eur"), se
    C["S2"] = commission(se, "alpha", "direct", "usd", convert(1000, "1.10"))
    goto(0, 12, 30)
    s3 = sale("L3", 3000, converts=True)
    assert s3["commissions"] == [] and s3["partner_id"] is None, s3

    # ---- day 2: an agent's sale, partly refunded; the organisation's own sale, its entry rejected that day ----
    goto(2, 14)
    s4 = sale("L4", 15000, converts=True)
    C["S4_ag1"] = commission(one(s4["commissions"], "ag1"), "ag1", "agent", "usd", 900)
    C["S4_org"] = commission(one(s4["commissions"], "org"), "org", "team", "usd", 600)
    r1 = refund(s4, 5000, "L4")
    C["R1_ag1"] = commission(one(r1["commissions"], "ag1"), "ag1", "agent", "usd", -300)
    C["R1_org"] = commission(one(r1["commissions"], "org"), "org", "team", "usd", -200)
    goto(2, 15)
    s5 = sale("L5", 8000, converts=True)
    C["L5_lead"] = commission(one([e for e in s5["commissions"] if e["rule"] == "lead"], "org"), "org", "direct",
                              "usd", 500)
    C["S5"] = commission(one([e for e in s5["commissions"] if e["rule"] == "sale"], "org"), "org", "direct",
                         "usd", 800)
    goto(2, 15, 30)
    reject(C["S5"], "duplicate order")

    # ---- day 3: a renewal recorded a day late; beta's customer; a deal registration ----
    goto(3)
    s6 = sale("L1", 5000, occurred=D(2, 18))
    assert s6["kind"] == "recurring", s6
    C["S6"] = commission(one(s6["commissions"], "alpha"), "alpha", "direct", "usd", 500, day=ctx["day"] - 1)
    s7 = sale("L2", 4000, converts=True)
    C["S7"] = commission(one(s7["commissions"], "beta"), "beta", "direct", "eur", convert(400, "0.92"))
    reg = lead("L8", P1, key=ctx["k_org"], company="Deal Corp", email="buyer@dealcorp.example")
    assert reg["partner"] == ctx["org"] and reg["source"] == "partner"
    assert expect(srv.get(LEADS + "/" + reg["id"], key=admin), 200)["status"] == "pending_review"
    # A rejection in the side program on another day than its entry's event.
    reject(C["SS2"], "fraud")

    # ---- day 8: a full refund without commissions; approvals; a hold ----
    goto(8)
    refund(s3, 3000, "L3")
    approve(C["L2_lead"], C["S7"], C["L4_ag1"], C["L4_org"], C["L7_lead"], C["S2"])
    held = post(COMMS + "/" + C["S6"]["id"] + "/hold", {"reason": "customer disputes the renewal"}, status=200)
    assert held["status"] == "held", held

    # ---- day 15: the second payout run ----
    goto(15)
    payout_run(P1, {("alpha", "usd"): 500 + 1100, ("ag1", "usd"): 300, ("org", "usd"): 200,
                    ("beta", "eur"): 460 + 368})
    for k in ("L2_lead", "S7", "L4_ag1", "L4_org", "L7_lead", "S2"):
        com_status(C[k], "paid")

    # ---- day 16 ----
    goto(16)
    for tag in ("a4", "a5", "a6"):
        click("al-spring", browser_ua(tag), "counted")
    lead("L9", P1, partner_id=ctx["alpha"], source="other")
    qualify("L6")
    ents = lead_entries("L6")
    C["L6_ag2"] = commission(one(ents, "ag2"), "ag2", "agent", "usd", 300)
    C["L6_org"] = commission(one(ents, "org"), "org", "team", "usd", 200)

    goto(20)
    ctx["C"] = C
    ctx["today"] = day_no(S) + 20
    ctx["d0"] = day_no(S)
    return ctx


# ---- helpers ----

def ms_of(s):
    d = datetime.strptime(s.replace("Z", ""), "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=timezone.utc)
    return int(round(d.timestamp() * 1000))


def q(path, **params):
    return path + ("?" + urlencode(params) if params else "")


def get(srv, ctx, path, key=None, status=200, **params):
    return expect(srv.get(q(path, **params), key=key or ctx["admin"]), status)


def rng(ctx, lo, hi):
    """from/to of days relative to the second month's first day."""
    return {"from": date_of(ctx["d0"] + lo), "to": date_of(ctx["d0"] + hi)}


def all_time(ctx):
    return {"from": date_of(ctx["d0"] - 40), "to": date_of(ctx["d0"] + 40)}


def days(ctx, lo, hi):
    return ctx["d0"] + lo, ctx["d0"] + hi


def check_figures(got, acc, cur="usd", what=""):
    """Every figure of a summary or a row against the model's accumulation. Returns a list of differences."""
    c = acc["counts"]
    diffs = []

    def want(name, ok, expected):
        if not ok:
            diffs.append("%s%s: got %r, want %r" % (what, name, got.get(name), expected))

    for k in INTS:
        want(k, got.get(k) == c[k], c[k])
    for k in ("revenue", "refunds"):
        want(k, got.get(k) == money(c[k], cur), money(c[k], cur))
    net = money(c["revenue"] - c["refunds"], cur)
    want("net_revenue", got.get("net_revenue") == net, net)
    want("click_to_lead", ratio_ok(got.get("click_to_lead"), c["leads"], c["clicks"]),
         "%d/%d" % (c["leads"], c["clicks"]))
    want("lead_to_customer", ratio_ok(got.get("lead_to_customer"), c["customers"], c["leads"]),
         "%d/%d" % (c["customers"], c["leads"]))
    avg = money(rhe(c["revenue"], c["sales"]), cur) if c["sales"] else None
    want("average_deal_size", got.get("average_deal_size") == avg, avg)
    want("mean_time_to_conversion_seconds",
         seconds_ok(got.get("mean_time_to_conversion_seconds"), c["conversion_ms"], c["conversions"]),
         c["conversion_ms"] / c["conversions"] / 1000 if c["conversions"] else None)
    coms = {}
    for e in got.get("commissions") or []:
        if e["currency"] in coms:
            diffs.append("%scommissions: two entries for %s" % (what, e["currency"]))
        coms[e["currency"]] = e
    for cc in sorted(set(coms) | set(acc["coms"])):
        w = acc["coms"].get(cc, {k: 0 for k in COMS})
        e = coms.get(cc)
        if e is None:
            if any(w.values()):
                diffs.append("%scommissions[%s]: missing, want %r" % (what, cc, w))
            continue
        g = {k: e[k] for k in COMS}
        wm = {k: money(w[k], cc) for k in COMS}
        if g != wm:
            diffs.append("%scommissions[%s]: got %r, want %r" % (what, cc, g, wm))
        cpl = money(rhe(w["earned"], c["leads"]), cc) if c["leads"] else None
        if e.get("cost_per_lead") != cpl:
            diffs.append("%scommissions[%s].cost_per_lead: got %r, want %r" % (what, cc, e.get("cost_per_lead"),
                                                                               cpl))
        rpc = e.get("revenue_per_commission")
        if cc == cur:
            if not ratio_ok(rpc, c["revenue"], w["earned"]):
                diffs.append("%scommissions[%s].revenue_per_commission: got %r, want %d/%d" %
                             (what, cc, rpc, c["revenue"], w["earned"]))
        elif rpc is not None:
            diffs.append("%scommissions[%s].revenue_per_commission: got %r, want null (another currency)" %
                         (what, cc, rpc))
    return diffs


def counts_only(acc):
    return {"counts": acc["counts"], "coms": {}}


def strip_coms(row):
    r = dict(row)
    r["commissions"] = []
    return r


def breakdown(srv, ctx, group, key=None, program=None, **params):
    p = {"program_id": program or ctx["p1"], "group_by": group}
    p.update(params)
    body = get(srv, ctx, BREAKDOWN, key=key, **p)
    assert body["object"] == "report" and body["group_by"] == group, body
    return body


def rows_by_key(body):
    out = {}
    for r in body["data"]:
        assert r["key"] not in out, "two rows for %r" % r["key"]
        out[r["key"]] = r
    return out


def compare_rows(got_rows, want_rows, commissions=True, what=""):
    diffs = []
    if set(got_rows) != set(want_rows):
        diffs.append("%srows: got %r, want %r" % (what, sorted(got_rows), sorted(want_rows)))
    for k in sorted(set(got_rows) & set(want_rows)):
        g = got_rows[k] if commissions else strip_coms(got_rows[k])
        w = want_rows[k] if commissions else counts_only(want_rows[k])
        diffs += check_figures(g, w, what="%s[%s] " % (what, k))
    return diffs


def named(ctx, rows):
    names = {ctx[k]: k for k in ("alpha", "beta", "org", "ag1", "ag2", "idle", "side")}
    return {names.get(k, k): v for k, v in rows.items()}


def report(diffs):
    assert not diffs, "\n" + "\n".join(diffs)


def read_csv(text):
    return list(csv.DictReader(io.StringIO(text)))


# ---- 1. the summary ----

def test_setup_dataset_is_as_written_down(srv, ctx):
    """The hand-written totals of the dataset (a check of the model itself, before comparing reports with it)."""
    M = ctx["model"]
    lo, hi = days(ctx, -40, 40)
    t = M.total(ctx["p1"], lo, hi)["counts"]
    assert (t["clicks"], t["leads"], t["qualified"], t["customers"], t["sales"]) == (11, 9, 7, 6, 7), t
    assert (t["revenue"], t["refunds"], t["conversions"]) == (66000, 8000, 6), t
    coms = M.total(ctx["p1"], lo, hi)["coms"]
    assert coms == {"usd": {"earned": 7100, "approved": 4600, "paid": 4600},
                    "eur": {"earned": 828, "approved": 828, "paid": 828}}, coms


def test_summary_over_the_whole_timeline(srv, ctx):
    M = ctx["model"]
    body = get(srv, ctx, SUMMARY, program_id=ctx["p1"], **all_time(ctx))
    assert body["object"] == "report_summary" and body["program_id"] == ctx["p1"], body
    assert body["currency"] == "usd", body
    assert (body["from"], body["to"]) == (all_time(ctx)["from"], all_time(ctx)["to"]), body
    lo, hi = days(ctx, -40, 40)
    report(check_figures(body, M.total(ctx["p1"], lo, hi)))
    # By hand: 9 leads of 11 counted clicks, 6 customers of 9 leads, 66000 / 7 sales.
    assert body["click_to_lead"] == 0.8182 and body["lead_to_customer"] == 0.6667, body
    assert body["average_deal_size"] == money(9429), body


def test_summary_time_to_conversion(srv, ctx):
    body = get(srv, ctx, SUMMARY, program_id=ctx["p1"], **all_time(ctx))
    conv = sorted(ms for (p, d, ms) in ctx["conv"].values() if p == ctx["p1"])
    assert len(conv) == 6
    # The delays as set with the clock: 9 days 1 hour, 5 days, 12 days 30 minutes, 7 days 2 hours, 7 days 3 hours
    # and 15 days (each plus the milliseconds the requests took).
    want_s = sorted([9 * DAY_S + 3600, 5 * DAY_S, 12 * DAY_S + 1800, 7 * DAY_S + 7200, 7 * DAY_S + 10800,
                     15 * DAY_S])
    assert all(abs(ms / 1000 - w) < 5 for ms, w in zip(conv, want_s)), (conv, want_s)
    t = body["time_to_conversion"]
    assert t["conversions"] == 6, t
    assert seconds_ok(t["mean_seconds"], sum(conv), 6), (t, sum(conv) / 6000)
    median = (conv[2] + conv[3]) / 2
    assert abs(t["median_seconds"] - median / 1000) < 1, (t, median / 1000)
    assert seconds_ok(body["mean_time_to_conversion_seconds"], sum(conv), 6), body
    # Only the leads converted in the period: day 0 converted L7 (5 days) and L3 (12 days 30 minutes).
    one_day = get(srv, ctx, SUMMARY, program_id=ctx["p1"], **rng(ctx, 0, 0))
    t = one_day["time_to_conversion"]
    day0 = sorted(ms for (p, d, ms) in ctx["conv"].values() if p == ctx["p1"] and d == ctx["d0"])
    assert len(day0) == 2 and t["conversions"] == 2, (t, day0)
    assert seconds_ok(t["mean_seconds"], sum(day0), 2) and abs(t["median_seconds"] - sum(day0) / 2000) < 1, t
    none = get(srv, ctx, SUMMARY, program_id=ctx["p1"], **rng(ctx, 17, 19))["time_to_conversion"]
    assert none["conversions"] == 0 and none["mean_seconds"] is None and none["median_seconds"] is None, none


def test_summary_paid_this_month(srv, ctx):
    """Paid this month: the second run (day 15), not the first (day -3, the month before)."""
    for params in ({}, rng(ctx, -12, -12)):
        body = get(srv, ctx, SUMMARY, program_id=ctx["p1"], **params)
        got = {m["currency"]: m["amount"] for m in body["paid_this_month"] if m["amount"]}
        assert got == {"usd": 500 + 1100 + 300 + 200, "eur": 828}, body["paid_this_month"]


# ---- 2. breakdowns ----

def test_breakdown_by_partner_counts(srv, ctx):
    M = ctx["model"]
    lo, hi = days(ctx, -40, 40)
    body = breakdown(srv, ctx, "partner", **all_time(ctx))
    assert body["currency"] == "usd" and body["program_id"] == ctx["p1"], body
    got = rows_by_key(body)
    want = M.rows(ctx["p1"], lo, hi, prefix="p:")
    report(compare_rows(named(ctx, got), named(ctx, want), commissions=False, what="partner"))
    for k, r in got.items():
        assert r["name"] == ctx["name_" + named(ctx, {k: 1}).popitem()[0]], r
    # By hand: the organisation's row has its own and its agents' results.
    o = got[ctx["org"]]
    assert (o["clicks"], o["leads"], o["qualified"], o["customers"], o["sales"]) == (4, 4, 3, 2, 2), o
    assert o["revenue"] == money(23000) and o["refunds"] == money(5000), o
    assert ctx["idle"] not in got and ctx["ag1"] not in got


def test_breakdown_by_partner_commissions_include_agents(srv, ctx):
    M = ctx["model"]
    lo, hi = days(ctx, -40, 40)
    got = rows_by_key(breakdown(srv, ctx, "partner", **all_time(ctx)))
    want = M.rows(ctx["p1"], lo, hi, prefix="p:")
    report(compare_rows(named(ctx, got), named(ctx, want), what="partner"))


def test_partner_rows_add_up_to_the_summary(srv, ctx):
    """For credited events: everything but the direct lead L3 (its lead, qualification, customer, sale and
    refund)."""
    summ = get(srv, ctx, SUMMARY, program_id=ctx["p1"], **all_time(ctx))
    rows = breakdown(srv, ctx, "partner", **all_time(ctx))["data"]
    diffs = []
    uncredited = {"clicks": 0, "leads": 1, "qualified": 1, "customers": 1, "sales": 1}
    for k in INTS:
        s = sum(r[k] for r in rows)
        if s != summ[k] - uncredited[k]:
            diffs.append("sum of partner %s: %d, summary %d less %d uncredited" % (k, s, summ[k], uncredited[k]))
    for k, unc in (("revenue", 3000), ("refunds", 3000)):
        s = sum(r[k]["amount"] for r in rows)
        if s != summ[k]["amount"] - unc:
            diffs.append("sum of partner %s: %d, summary %d less %d" % (k, s, summ[k]["amount"], unc))
    total = {}
    for r in rows:
        for e in r["commissions"]:
            t = total.setdefault(e["currency"], {k: 0 for k in COMS})
            for k in COMS:
                t[k] += e[k]["amount"]
    want = {e["currency"]: {k: e[k]["amount"] for k in COMS} for e in summ["commissions"]}
    if total != want:
        diffs.append("sum of partner commissions %r, summary %r" % (total, want))
    report(diffs)


def test_breakdown_by_agent_and_team(srv, ctx):
    M = ctx["model"]
    lo, hi = days(ctx, -40, 40)
    diffs = []
    agents = rows_by_key(breakdown(srv, ctx, "agent", **all_time(ctx)))
    diffs += compare_rows(named(ctx, agents), named(ctx, M.rows(ctx["p1"], lo, hi, prefix="a:")), what="agent")
    for k in agents:
        if agents[k].get("name") != ctx["name_" + named(ctx, {k: 1}).popitem()[0]]:
            diffs.append("agent %s name %r" % (k, agents[k].get("name")))
    teams = rows_by_key(breakdown(srv, ctx, "team", **all_time(ctx)))
    diffs += compare_rows(named(ctx, teams), named(ctx, M.rows(ctx["p1"], lo, hi, prefix="t:")), what="team")
    report(diffs)
    # By hand: the team is its agents' results only (3 clicks, 2 leads, not the organisation's own).
    t = teams[ctx["org"]]
    assert (t["clicks"], t["leads"], t["qualified"], t["customers"], t["sales"]) == (3, 2, 2, 1, 1), t
    assert {e["currency"]: e["earned"]["amount"] for e in t["commissions"]} == {"usd": 300 + 900 - 300 + 300}, t
    a1 = agents[ctx["ag1"]]
    assert (a1["clicks"], a1["leads"], a1["sales"], a1["revenue"], a1["refunds"]) == \
        (2, 1, 1, money(15000), money(5000)), a1


def test_breakdown_by_source_and_campaign(srv, ctx):
    M = ctx["model"]
    lo, hi = days(ctx, -40, 40)
    diffs = []
    for group, prefix in (("source", "s:"), ("campaign", "c:")):
        got = rows_by_key(breakdown(srv, ctx, group, **all_time(ctx)))
        diffs += compare_rows(got, M.rows(ctx["p1"], lo, hi, prefix=prefix), what=group)
    report(diffs)
    src = rows_by_key(breakdown(srv, ctx, "source", **all_time(ctx)))
    assert (src["paid"]["leads"], src["paid"]["sales"], src["paid"]["revenue"]) == (2, 2, money(25000)), src["paid"]
    assert (src["organic"]["refunds"], src["other"]["leads"]) == (money(3000), 1), src
    camp = rows_by_key(breakdown(srv, ctx, "campaign", **all_time(ctx)))
    # spring: 6 clicks in this program (the side program's spring clicks are not here), 2 leads, 29000 revenue.
    assert (camp["spring"]["clicks"], camp["spring"]["leads"], camp["spring"]["revenue"]) == \
        (6, 2, money(29000)), camp["spring"]
    assert (camp["fall"]["clicks"], camp["fall"]["revenue"], camp["winter"]["clicks"]) == \
        (3, money(26000), 1), camp


def test_breakdown_by_period_counts(srv, ctx):
    M = ctx["model"]
    lo, hi = days(ctx, -40, 40)
    diffs = []
    for grain in ("day", "week", "month"):
        body = breakdown(srv, ctx, grain, **all_time(ctx))
        got = rows_by_key(body)
        want = M.rows(ctx["p1"], lo, hi, grain=grain)
        diffs += compare_rows(got, want, commissions=False, what=grain)
        # Periods come in time order by default.
        if [r["key"] for r in body["data"]] != sorted(want):
            diffs.append("%s order: %r" % (grain, [r["key"] for r in body["data"]]))
    report(diffs)
    months = rows_by_key(breakdown(srv, ctx, "month", **all_time(ctx)))
    first, second = month_of(ctx["d0"] - 1), month_of(ctx["d0"])
    assert (months[first]["clicks"], months[second]["clicks"]) == (8, 3), months
    assert (months[first]["revenue"], months[second]["revenue"]) == (money(20000), money(46000)), months


def test_breakdown_by_period_commissions(srv, ctx):
    M = ctx["model"]
    lo, hi = days(ctx, -40, 40)
    diffs = []
    for grain in ("day", "week", "month"):
        got = rows_by_key(breakdown(srv, ctx, grain, **all_time(ctx)))
        diffs += compare_rows(got, M.rows(ctx["p1"], lo, hi, grain=grain), what=grain)
    report(diffs)
    # By hand: the first run was paid on day -3 and approved then; the second paid on day 15.
    days_ = rows_by_key(breakdown(srv, ctx, "day", **all_time(ctx)))
    paid = {e["currency"]: e["paid"]["amount"] for e in days_[date_of(ctx["d0"] + 15)]["commissions"]}
    assert {k: v for k, v in paid.items() if v} == {"usd": 2100, "eur": 828}, days_[date_of(ctx["d0"] + 15)]


def test_sort_and_limit(srv, ctx):
    t = all_time(ctx)
    by = lambda group, **p: breakdown(srv, ctx, group, **dict(t, **p))
    diffs = []

    def order(body, want, what):
        keys = [r["key"] for r in body["data"]]
        if keys != want:
            diffs.append("%s: got %r, want %r" % (what, keys, want))

    # Partners by revenue (the default), clicks and leads, from the largest.
    order(by("partner"), [ctx["alpha"], ctx["org"], ctx["beta"]], "partner default (revenue)")
    order(by("partner", sort="clicks"), [ctx["alpha"], ctx["org"], ctx["beta"]], "partner by clicks")
    order(by("partner", sort="leads"), [ctx["org"], ctx["alpha"], ctx["beta"]], "partner by leads")
    order(by("partner", sort="refunds", limit="1"), [ctx["org"]], "partner by refunds, limit 1")
    order(by("agent", sort="revenue"), [ctx["ag1"], ctx["ag2"]], "agents by revenue")
    order(by("source", sort="revenue"), ["paid", "referral", "organic", "partner", "other"], "sources by revenue")
    order(by("campaign", sort="clicks"), ["spring", "fall", "winter"], "campaigns by clicks")
    # Sources by leads (the default): partner 3, then organic and paid 2, then other and referral 1.
    s = by("source")
    vals = [r["leads"] for r in s["data"]]
    if vals != [3, 2, 2, 1, 1] or s["data"][0]["key"] != "partner":
        diffs.append("sources by leads (default): %r" % [(r["key"], r["leads"]) for r in s["data"]])
    # limit keeps the first rows and says what was left out.
    l2 = by("partner", sort="clicks", limit="2")
    if [r["key"] for r in l2["data"]] != [ctx["alpha"], ctx["org"]] or l2["has_more"] is not True or \
            l2["total_rows"] != 3:
        diffs.append("partner limit 2: %r has_more %r total_rows %r" %
                     ([r["key"] for r in l2["data"]], l2["has_more"], l2["total_rows"]))
    l3 = by("partner", limit="3")
    if len(l3["data"]) != 3 or l3["has_more"] is not False or l3["total_rows"] != 3:
        diffs.append("partner limit 3: has_more %r total_rows %r" % (l3["has_more"], l3["total_rows"]))
    d = by("day", limit="2")
    want_days = sorted(ctx["model"].rows(ctx["p1"], *days(ctx, -40, 40), grain="day"))
    if [r["key"] for r in d["data"]] != want_days[:2] or d["has_more"] is not True or \
            d["total_rows"] != len(want_days):
        diffs.append("day limit 2: %r has_more %r total_rows %r (want %r, %d)" %
                     ([r["key"] for r in d["data"]], d["has_more"], d["total_rows"], want_days[:2], len(want_days)))
    # Days by sales, from the largest: day 2 has three (two recorded that day, one recorded later).
    ds = by("day", sort="sales", limit="1")
    if [r["key"] for r in ds["data"]] != [date_of(ctx["d0"] + 2)] or ds["data"][0]["sales"] != 3:
        diffs.append("day by sales: %r" % [(r["key"], r["sales"]) for r in ds["data"]])
    report(diffs)


def csv_matches(body, text, cur="usd"):
    """The CSV rows (one line per commission currency) against the JSON rows. Returns differences."""
    diffs = []
    lines = read_csv(text)
    by_key = {}
    for line in lines:
        by_key.setdefault(line["key"], []).append(line)
    if list(by_key) != [r["key"] for r in body["data"]]:
        diffs.append("csv keys %r, json %r" % (list(by_key), [r["key"] for r in body["data"]]))
    for r in body["data"]:
        got = by_key.get(r["key"], [])
        coms = [e for e in r["commissions"]]
        if len(got) != max(1, len(coms)):
            diffs.append("%s: %d csv lines for %d commission currencies" % (r["key"], len(got), len(coms)))
            continue
        first = got[0]
        for k in INTS:
            if int(first[k]) != r[k]:
                diffs.append("%s %s: csv %r, json %r" % (r["key"], k, first[k], r[k]))
        for k in ("revenue", "refunds"):
            if decimal_text(first[k], cur) != r[k]["amount"]:
                diffs.append("%s %s: csv %r, json %r" % (r["key"], k, first[k], r[k]))
        if first["currency"].lower() != cur:
            diffs.append("%s currency: %r" % (r["key"], first["currency"]))
        if "name" in r and (first["name"] or None) != r["name"]:
            diffs.append("%s name: csv %r, json %r" % (r["key"], first["name"], r["name"]))
        for line in got[1:]:
            vals = [line[k] for k in INTS]
            if vals != [first[k] for k in INTS] and any(v != "0" for v in vals):
                diffs.append("%s: a further line repeats nothing or everything: %r" % (r["key"], line))
        gc = {line["commission_currency"].lower(): {k: decimal_text(line[k], line["commission_currency"])
                                                    for k in COMS} for line in got if coms}
        jc = {e["currency"]: {k: e[k]["amount"] for k in COMS} for e in coms}
        if gc != jc:
            diffs.append("%s commissions: csv %r, json %r" % (r["key"], gc, jc))
    return diffs


def test_csv_equals_json(srv, ctx):
    diffs = []
    for group in GROUPS:
        params = dict(all_time(ctx), program_id=ctx["p1"], group_by=group)
        body = get(srv, ctx, BREAKDOWN, **params)
        r = srv.get(q(BREAKDOWN, format="csv", **params), key=ctx["admin"])
        if r.status != 200 or not (r.header("Content-Type") or "").startswith("text/csv"):
            diffs.append("%s csv: %r %r" % (group, r, r.header("Content-Type")))
            continue
        diffs += ["%s: %s" % (group, d) for d in csv_matches(body, r.body)]
    # With a sort and a limit too.
    params = dict(all_time(ctx), program_id=ctx["p1"], group_by="partner", sort="clicks", limit="2")
    body = get(srv, ctx, BREAKDOWN, **params)
    r = srv.get(q(BREAKDOWN, format="csv", **params), key=ctx["admin"])
    diffs += ["partner limit 2: %s" % d for d in csv_matches(body, r.body)]
    report(diffs)


# ---- 3. date ranges ----

def test_ranges_of_dates_and_rfc3339_times_include_both_days(srv, ctx):
    M = ctx["model"]
    S = ctx["S"]
    iso = lambda dt, fmt="%Y-%m-%dT%H:%M:%SZ": dt.strftime(fmt)
    cases = [
        (rng(ctx, -5, -1), (-5, -1)),
        (rng(ctx, 0, 0), (0, 0)),
        (rng(ctx, -3, -3), (-3, -3)),
        (rng(ctx, 0, 8), (0, 8)),
        # RFC 3339 times: the days they fall on (in UTC) are included whole.
        ({"from": iso(S + timedelta(days=-5, hours=23, minutes=59)), "to": iso(S + timedelta(days=-1, hours=0, minutes=1))},
         (-5, -1)),
        ({"from": iso(S + timedelta(days=-5, hours=6)).replace("Z", "+00:00"),
          "to": iso(S + timedelta(days=-1, hours=1, minutes=30), "%Y-%m-%dT%H:%M:%S.500Z")}, (-5, -1)),
        # 22:00-05:00 on day -1 is 03:00 UTC on day 0; 01:00+02:00 on day 1 is 23:00 UTC on day 0.
        ({"from": (S + timedelta(days=-1)).strftime("%Y-%m-%dT22:00:00-05:00"),
          "to": (S + timedelta(days=1)).strftime("%Y-%m-%dT01:00:00+02:00")}, (0, 0)),
    ]
    diffs = []
    for params, (lo, hi) in cases:
        body = srv.get(q(SUMMARY, program_id=ctx["p1"], **params), key=ctx["admin"])
        if body.status != 200:
            diffs.append("%r: %r" % (params, body))
            continue
        body = body.json
        if (body["from"], body["to"]) != (date_of(ctx["d0"] + lo), date_of(ctx["d0"] + hi)):
            diffs.append("%r: from/to %r %r" % (params, body["from"], body["to"]))
        a, b = days(ctx, lo, hi)
        diffs += check_figures(body, M.total(ctx["p1"], a, b), what="%s..%s " % (lo, hi))
        rows = rows_by_key(breakdown(srv, ctx, "partner", **params))
        diffs += compare_rows(named(ctx, rows), named(ctx, M.rows(ctx["p1"], a, b, prefix="p:")), commissions=False,
                              what="partner %s..%s " % (lo, hi))
        src = rows_by_key(breakdown(srv, ctx, "campaign", **params))
        diffs += compare_rows(src, M.rows(ctx["p1"], a, b, prefix="c:"), what="campaign %s..%s " % (lo, hi))
    report(diffs)


def test_events_outside_the_range_are_left_out(srv, ctx):
    """By hand: day -1 alone has two qualifications and nothing else; days 17..19 have nothing; day 2 has three
    sales (one recorded on day 3 but occurred on day 2) and the refund of 5000."""
    d = get(srv, ctx, SUMMARY, program_id=ctx["p1"], **rng(ctx, -1, -1))
    assert (d["clicks"], d["leads"], d["qualified"], d["customers"], d["sales"]) == (0, 0, 2, 0, 0), d
    assert {e["currency"]: e["earned"]["amount"] for e in d["commissions"] if e["earned"]["amount"]} == \
        {"usd": 500, "eur": 460}, d
    e = get(srv, ctx, SUMMARY, program_id=ctx["p1"], **rng(ctx, 17, 19))
    assert (e["clicks"], e["leads"], e["qualified"], e["sales"], e["revenue"]) == (0, 0, 0, 0, money(0)), e
    assert all(not x[k]["amount"] for x in e["commissions"] for k in COMS), e
    assert breakdown(srv, ctx, "partner", **rng(ctx, 17, 19))["data"] == []
    assert breakdown(srv, ctx, "day", **rng(ctx, 17, 19))["data"] == []
    two = get(srv, ctx, SUMMARY, program_id=ctx["p1"], **rng(ctx, 2, 2))
    assert (two["sales"], two["revenue"], two["refunds"], two["customers"]) == (3, money(28000), money(5000), 2), two


def test_default_is_the_last_30_days(srv, ctx):
    M = ctx["model"]
    body = get(srv, ctx, SUMMARY, program_id=ctx["p1"])
    today = ctx["today"]
    assert (body["from"], body["to"]) == (date_of(today - 29), date_of(today)), (body["from"], body["to"])
    diffs = check_figures(body, M.total(ctx["p1"], today - 29, today), what="default ")
    rows = rows_by_key(breakdown(srv, ctx, "partner"))
    diffs += compare_rows(named(ctx, rows), named(ctx, M.rows(ctx["p1"], today - 29, today, prefix="p:")),
                          commissions=False, what="default partner ")
    report(diffs)
    # By hand: day -12 (4 clicks, 3 leads) is more than 30 days back.
    assert (body["clicks"], body["leads"]) == (7, 6), body
    # Only to: the 30 days up to it.
    body = get(srv, ctx, SUMMARY, program_id=ctx["p1"], to=date_of(today))
    assert body["from"] == date_of(today - 29), body


def test_bad_parameters_are_refused_naming_the_field(srv, ctx):
    p1 = ctx["p1"]
    good = {"program_id": p1, "group_by": "partner"}
    bad = [
        (SUMMARY, {"program_id": p1, "from": "2026-13-01"}, "from"),
        (SUMMARY, {"program_id": p1, "from": "yesterday"}, "from"),
        (SUMMARY, {"program_id": p1, "from": "2026-02-30"}, "from"),
        (SUMMARY, {"program_id": p1, "to": "2026-11-01T25:00:00Z"}, "to"),
        (SUMMARY, {"program_id": p1, "to": ""}, "to"),
        (SUMMARY, {"program_id": p1, "from": date_of(ctx["d0"] + 3), "to": date_of(ctx["d0"] + 2)}, "from"),
        (SUMMARY, {"program_id": p1, "group_by": "partner"}, "group_by"),
        (SUMMARY, {"program_id": p1, "bogus": "1"}, "bogus"),
        (SUMMARY, {}, "program_id"),
        (SUMMARY, {"program_id": "prg_nope"}, "program_id"),
        (BREAKDOWN, {"program_id": p1}, "group_by"),
        (BREAKDOWN, dict(good, group_by="country"), "group_by"),
        (BREAKDOWN, dict(good, group_by=""), "group_by"),
        (BREAKDOWN, dict(good, sort="price"), "sort"),
        (BREAKDOWN, dict(good, sort="earned"), "sort"),
        (BREAKDOWN, dict(good, sort="paid"), "sort"),
        (BREAKDOWN, dict(good, sort="conversions"), "sort"),
        (BREAKDOWN, dict(good, limit="0"), "limit"),
        (BREAKDOWN, dict(good, limit="-3"), "limit"),
        (BREAKDOWN, dict(good, limit="ten"), "limit"),
        (BREAKDOWN, dict(good, limit="1.5"), "limit"),
        (BREAKDOWN, dict(good, limit=""), "limit"),
        (BREAKDOWN, dict(good, format="xml"), "format"),
        (BREAKDOWN, dict(good, format="CSV "), "format"),
        (BREAKDOWN, dict(good, **{"from": "11/01/2026"}), "from"),
        (BREAKDOWN, dict(good, starting_after="x"), "starting_after"),
        (QUEUES, {"program_id": p1, "from": "2026-11-01"}, "from"),
        (QUEUES, {}, "program_id"),
    ]
    diffs = []
    for path, params, field in bad:
        r = srv.get(q(path, **params), key=ctx["admin"])
        f = (r.json or {}).get("error", {}).get("field") if r.json else None
        if r.status != 400 or f != field:
            diffs.append("GET %s: want 400 naming %r, got %d %s" % (q(path, **params), field, r.status, r.body[:200]))
    report(diffs)


# ---- 4. programs ----

def test_programs_do_not_leak(srv, ctx):
    M = ctx["model"]
    lo, hi = days(ctx, -40, 40)
    p2 = ctx["p2"]
    body = get(srv, ctx, SUMMARY, program_id=p2, **all_time(ctx))
    assert body["program_id"] == p2, body
    diffs = check_figures(body, M.total(p2, lo, hi), what="side ")
    # (Not per period: the side program's rejection on another day than its event is the next test's subject.)
    for group, prefix in (("partner", "p:"), ("campaign", "c:"), ("source", "s:")):
        got = rows_by_key(breakdown(srv, ctx, group, program=p2, **all_time(ctx)))
        diffs += compare_rows(named(ctx, got), named(ctx, M.rows(p2, lo, hi, prefix=prefix)),
                              what="side %s " % group)
    report(diffs)
    # By hand: 2 clicks, 2 leads, 2 sales of 8000, the side partner only.
    assert (body["clicks"], body["leads"], body["sales"], body["revenue"]) == (2, 2, 2, money(8000)), body
    assert body["time_to_conversion"]["conversions"] == 2, body
    assert [r["key"] for r in breakdown(srv, ctx, "partner", program=p2, **all_time(ctx))["data"]] == [ctx["side"]]
    for group in ("agent", "team"):
        assert breakdown(srv, ctx, group, program=p2, **all_time(ctx))["data"] == []
    q2 = get(srv, ctx, QUEUES, program_id=p2)
    assert (q2["partners_awaiting_approval"], q2["deals_awaiting_review"], q2["commissions_on_hold"]) == (0, 0, 0)


def test_rejection_takes_earned_out_of_the_event_day(srv, ctx):
    """The side program's second entry (600, earned on day -1) was rejected on day 3: earned counts on the event's
    day, less rejections, so day -1 shows only the first entry and day 3 shows nothing."""
    d = get(srv, ctx, SUMMARY, program_id=ctx["p2"], **rng(ctx, -1, -1))
    e3 = get(srv, ctx, SUMMARY, program_id=ctx["p2"], **rng(ctx, 3, 3))
    earned = lambda b: {e["currency"]: e["earned"]["amount"] for e in b["commissions"] if e["earned"]["amount"]}
    assert (earned(d), earned(e3)) == ({"usd": 1000}, {}), \
        "day -1 earned %r (want usd 1000), day 3 earned %r (want nothing)" % (earned(d), earned(e3))


# ---- 5. partners and managers ----

def test_partner_and_manager_see_their_own_counts(srv, ctx):
    M = ctx["model"]
    lo, hi = days(ctx, -40, 40)
    diffs = []
    for who, key in (("org", ctx["k_org"]), ("org manager", ctx["k_mgr"]), ("alpha", ctx["k_alpha"]),
                     ("beta", ctx["k_beta"])):
        pid = ctx["org"] if who == "org manager" else ctx[who]
        # program_id of another program is no way out of one's own: it is refused, naming program_id.
        r = srv.get(q(SUMMARY, **dict(all_time(ctx), program_id=ctx["p2"])), key=key)
        if r.status != 403 or (r.json or {}).get("error", {}).get("field") != "program_id":
            diffs.append("%s summary of another program: %r" % (who, r))
        for params in (all_time(ctx), dict(all_time(ctx), program_id=ctx["p1"])):
            r = srv.get(q(SUMMARY, **params), key=key)
            if r.status != 200:
                diffs.append("%s summary %r: %r" % (who, params, r))
                continue
            if r.json["program_id"] != ctx["p1"]:
                diffs.append("%s summary of program %r" % (who, r.json["program_id"]))
            diffs += check_figures(strip_coms(r.json), counts_only(M.total(ctx["p1"], lo, hi, entity="p:" + pid)),
                                   what="%s summary " % who)
            tc = r.json.get("time_to_conversion")
            if tc is not None and tc.get("conversions") == 6:
                diffs.append("%s summary shows the program's time to conversion: %r" % (who, tc))
        for group, prefix in (("partner", "p:"), ("agent", "a:"), ("team", "t:")):
            r = srv.get(q(BREAKDOWN, group_by=group, **all_time(ctx)), key=key)
            if r.status != 200:
                diffs.append("%s %s: %r" % (who, group, r))
                continue
            want = {k: v for k, v in M.rows(ctx["p1"], lo, hi, prefix=prefix).items()
                    if k == pid or ctx["team_of"].get(k) == pid}
            diffs += compare_rows(named(ctx, rows_by_key(r.json)), named(ctx, want), commissions=False,
                                  what="%s %s " % (who, group))
            if r.json["total_rows"] != len(want):
                diffs.append("%s %s total_rows %r, want %d" % (who, group, r.json["total_rows"], len(want)))
    report(diffs)


def test_partner_and_manager_see_their_own_commissions(srv, ctx):
    M = ctx["model"]
    lo, hi = days(ctx, -40, 40)
    diffs = []
    for who, key in (("org", ctx["k_org"]), ("org manager", ctx["k_mgr"]), ("alpha", ctx["k_alpha"]),
                     ("beta", ctx["k_beta"])):
        pid = ctx["org"] if who == "org manager" else ctx[who]
        body = get(srv, ctx, SUMMARY, key=key, **all_time(ctx))
        diffs += check_figures(body, M.total(ctx["p1"], lo, hi, entity="p:" + pid), what="%s summary " % who)
        for group, prefix in (("partner", "p:"), ("agent", "a:"), ("team", "t:")):
            got = rows_by_key(get(srv, ctx, BREAKDOWN, key=key, group_by=group, **all_time(ctx)))
            want = {k: v for k, v in M.rows(ctx["p1"], lo, hi, prefix=prefix).items()
                    if k == pid or ctx["team_of"].get(k) == pid}
            diffs += compare_rows(named(ctx, got), named(ctx, want), what="%s %s " % (who, group))
    report(diffs)


def test_partner_summary_paid_this_month_is_its_own(srv, ctx):
    """A partner's summary is its own: paid this month is what it was paid (alpha 1600, beta 828 eur), never the
    program's."""
    diffs = []
    for who, want in (("alpha", {"usd": 1600}), ("beta", {"eur": 828}), ("org", {"usd": 200 + 300})):
        body = get(srv, ctx, SUMMARY, key=ctx["k_" + who])
        got = {m["currency"]: m["amount"] for m in body["paid_this_month"] if m["amount"]}
        if got != want:
            diffs.append("%s paid_this_month %r, want %r" % (who, got, want))
    report(diffs)


def test_agent_sees_its_own_summary(srv, ctx):
    M = ctx["model"]
    lo, hi = days(ctx, -40, 40)
    body = get(srv, ctx, SUMMARY, key=ctx["k_ag1"], **all_time(ctx))
    report(check_figures(body, M.total(ctx["p1"], lo, hi, entity="a:" + ctx["ag1"]), what="ag1 summary "))
    rows = get(srv, ctx, BREAKDOWN, key=ctx["k_ag1"], group_by="agent", **all_time(ctx))["data"]
    assert [r["key"] for r in rows] == [ctx["ag1"]], rows
    assert [r["key"] for r in get(srv, ctx, BREAKDOWN, key=ctx["k_ag1"], group_by="partner",
                                  **all_time(ctx))["data"]] in ([], [ctx["ag1"]])


def test_partners_may_not_break_down_by_source_or_campaign_nor_see_queues(srv, ctx):
    diffs = []
    for who in ("k_org", "k_mgr", "k_alpha", "k_ag1"):
        for group in ("source", "campaign"):
            for fmt in ("json", "csv"):
                r = srv.get(q(BREAKDOWN, group_by=group, format=fmt, **all_time(ctx)), key=ctx[who])
                if r.status != 403:
                    diffs.append("%s group_by=%s format=%s: %r" % (who, group, fmt, r))
        # Their own figures over time add up to their own summary.
        own = srv.get(q(SUMMARY, **all_time(ctx)), key=ctx[who]).json
        for group in ("day", "week", "month"):
            r = srv.get(q(BREAKDOWN, group_by=group, **all_time(ctx)), key=ctx[who])
            if r.status != 200:
                diffs.append("%s group_by=%s: %r" % (who, group, r))
                continue
            for metric in ("clicks", "leads", "qualified", "customers", "sales"):
                total = sum(row[metric] for row in r.json["data"])
                if total != own[metric]:
                    diffs.append("%s group_by=%s: %s adds up to %d, the summary says %d" % (
                        who, group, metric, total, own[metric]))
        r = srv.get(q(QUEUES, program_id=ctx["p1"]), key=ctx[who])
        if r.status != 403:
            diffs.append("%s queues: %r" % (who, r))
    r = srv.get(q(SUMMARY, program_id=ctx["p1"]))
    if r.status != 401:
        diffs.append("summary without a key: %r" % r)
    report(diffs)


# ---- 6. queues ----

def test_queues(srv, ctx):
    body = get(srv, ctx, QUEUES, program_id=ctx["p1"])
    assert body["program_id"] == ctx["p1"], body
    assert (body["partners_awaiting_approval"], body["deals_awaiting_review"], body["commissions_on_hold"]) == \
        (1, 1, 1), body
    # One more of each; then each is dealt with.
    admin = ctx["admin"]
    extra = expect(srv.post(PARTNERS, {"program_id": ctx["p1"], "name": "Late Applicant", "status": "applied",
                                       "email": "late@reports.example"}, key=admin), 201)
    reg = expect(srv.post(LEADS, {"email": "cfo@bigdeal.example", "company": "Big Deal"}, key=ctx["k_alpha"]), 201)
    assert reg["status"] == "pending_review", reg
    c = ctx["C"]["L6_org"]
    expect(srv.post(COMMS + "/" + c["id"] + "/hold", {"reason": "checking the agent's claim"}, key=admin), 200)
    expect(srv.post(COMMS + "/" + ctx["C"]["L5_lead"]["id"] + "/hold", {}, key=admin), 400)
    body = get(srv, ctx, QUEUES, program_id=ctx["p1"])
    assert (body["partners_awaiting_approval"], body["deals_awaiting_review"], body["commissions_on_hold"]) == \
        (2, 2, 2), body
    ctx["model"].add(ctx["p1"], ctx["today"], {"leads": 1}, ["p:" + ctx["alpha"]], ["s:partner"])
    expect(srv.post(PARTNERS + "/" + extra["id"] + "/activate", key=admin), 200)
    expect(srv.post(LEADS + "/" + reg["id"] + "/reject", {"reason": "already a customer"}, key=admin), 200)
    expect(srv.post(COMMS + "/" + c["id"] + "/approve", {}, key=admin), 200)
    ctx["model"].add(ctx["p1"], ctx["today"], {"approved": 200}, ctx["coms"][c["id"]]["entities"], currency="usd")
    body = get(srv, ctx, QUEUES, program_id=ctx["p1"])
    assert (body["partners_awaiting_approval"], body["deals_awaiting_review"], body["commissions_on_hold"]) == \
        (1, 1, 1), body


# ---- 7. rollups agree with the raw tables ----

ROLLUP_TABLES = {
    "rollup_entity": "program_id, entity, currency, day",
    "rollup_daily": "program_id, dim, currency, day",
    "rollup_keys": "program_id, entity, currency",
}


def snapshot(srv):
    return {t: db_rows(srv, "SELECT * FROM %s ORDER BY %s" % (t, order)) for t, order in ROLLUP_TABLES.items()}


def reports(srv, ctx):
    out = {}
    for prog in (ctx["p1"], ctx["p2"]):
        for params in (all_time(ctx), {}, rng(ctx, -5, 2)):
            out[(prog, "summary", tuple(sorted(params.items())))] = get(srv, ctx, SUMMARY, program_id=prog, **params)
            for group in GROUPS:
                out[(prog, group, tuple(sorted(params.items())))] = breakdown(srv, ctx, group, program=prog, **params)
    for who in ("k_org", "k_alpha", "k_ag1"):
        out[(who, "summary")] = get(srv, ctx, SUMMARY, key=ctx[who], **all_time(ctx))
        for group in ("partner", "agent", "team"):
            out[(who, group)] = get(srv, ctx, BREAKDOWN, key=ctx[who], group_by=group, **all_time(ctx))
    return out


def diff_tables(before, after):
    diffs = []
    for t in ROLLUP_TABLES:
        b = {tuple((k, v) for k, v in r.items()) for r in before[t]}
        a = {tuple((k, v) for k, v in r.items()) for r in after[t]}
        for r in sorted(b - a, key=repr)[:10]:
            diffs.append("%s before only: %r" % (t, dict(r)))
        for r in sorted(a - b, key=repr)[:10]:
            diffs.append("%s after only:  %r" % (t, dict(r)))
    return diffs


def test_the_reports_after_all_activity_still_match_the_model(srv, ctx):
    """After the queue test's changes too (a registration, an approval)."""
    M = ctx["model"]
    lo, hi = days(ctx, -40, 40)
    body = get(srv, ctx, SUMMARY, program_id=ctx["p1"], **all_time(ctx))
    diffs = check_figures(body, M.total(ctx["p1"], lo, hi))
    rows = rows_by_key(breakdown(srv, ctx, "day", **all_time(ctx)))
    diffs += compare_rows(rows, M.rows(ctx["p1"], lo, hi, grain="day"), what="day")
    report(diffs)


def test_rebuild_gives_the_same_rollups_and_reports(srv, ctx):
    before = snapshot(srv)
    assert before["rollup_entity"] and before["rollup_daily"] and before["rollup_keys"], before
    rep_before = reports(srv, ctx)
    srv.cli("rollups", "rebuild")
    after = snapshot(srv)
    rep_after = reports(srv, ctx)
    diffs = diff_tables(before, after)
    for k in rep_before:
        if rep_before[k] != rep_after[k]:
            diffs.append("report %r differs after the rebuild:\n  before %s\n  after  %s" %
                         (k, str(rep_before[k])[:600], str(rep_after[k])[:600]))
    report(diffs[:40])
    # A second rebuild changes nothing either.
    srv.cli("rollups", "rebuild")
    assert snapshot(srv) == after


# ---- later changes to a lead: the rollups kept on write and the rebuild must still agree ----

def rebuild_differences(srv, what):
    written = snapshot(srv)
    srv.cli("rollups", "rebuild")
    rebuilt = snapshot(srv)
    diffs = diff_tables(written, rebuilt)
    if diffs:
        return ["after %s, the rollups kept on write (before) and rebuilt (after) differ:" % what] + diffs
    return []


def test_a_lead_whose_source_changes_keeps_rollups_and_rebuild_in_agreement(srv, ctx):
    """L9 (alpha's lead, source other, created day 16) becomes source campaign: "source" is the lead's source."""
    lid = ctx["leads"]["L9"]["id"]
    l = expect(srv.patch(LEADS + "/" + lid, {"source": "campaign"}, key=ctx["admin"]), 200)
    assert l["source"] == "campaign", l
    src = rows_by_key(breakdown(srv, ctx, "source", **all_time(ctx)))
    got = {k: src[k]["leads"] for k in ("other", "campaign") if k in src}
    diffs = []
    if got != {"campaign": 1}:
        diffs.append("leads by source after the change: %r, want the lead under campaign only" % got)
    report(diffs + rebuild_differences(srv, "PATCH /leads/{id} {source: campaign}"))


def test_a_customer_credited_by_its_first_sale_keeps_rollups_and_rebuild_in_agreement(srv, ctx):
    """A lead without a partner, then a sale naming alpha: the lead is credited to alpha from then on."""
    admin = ctx["admin"]
    l = expect(srv.post(LEADS, {"program_id": ctx["p1"], "email": "walkin@customers.example"}, key=admin), 201)
    assert l["attribution"]["partner_id"] is None and l["source"] == "direct", l
    s = expect(srv.post(SALES, {"program_id": ctx["p1"], "lead_id": l["id"], "amount": money(1000),
                                "external_id": "rep-late-credit", "partner_id": ctx["alpha"]}, key=admin), 201)
    assert s["partner_id"] == ctx["alpha"], s
    report(rebuild_differences(srv, "a sale crediting a lead that had no partner"))


def test_the_summary_exports_as_csv(srv, ctx):
    """format=csv gives the summary as metric, currency, value lines that equal the JSON."""
    params = dict(all_time(ctx), program_id=ctx["p1"])
    js = get(srv, ctx, SUMMARY, **params)
    r = srv.get(q(SUMMARY, format="csv", **params), key=ctx["admin"])
    assert r.status == 200 and (r.header("Content-Type") or "").startswith("text/csv"), r
    rows = list(csv.reader(io.StringIO(r.body if isinstance(r.body, str) else r.body.decode())))
    assert rows[0] == ["metric", "currency", "value"], rows[0]
    got = {(m, c): v for m, c, v in rows[1:]}
    for m in ("clicks", "leads", "qualified", "customers", "sales"):
        assert int(got[(m, "")]) == js[m], (m, got)
    cur = js["currency"].upper()
    for m in ("revenue", "refunds", "net_revenue"):
        assert round(float(got[(m, cur)]) * 100) == js[m]["amount"], (m, got)
    for com in js["commissions"]:
        c = com["currency"].upper()
        for name in ("earned", "approved", "paid"):
            assert round(float(got[("commissions_" + name, c)]) * 100) == com[name]["amount"], (name, got)
