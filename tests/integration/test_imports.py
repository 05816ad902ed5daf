# SPDX-License-Identifier: Apache-2.0
"""Imports from CSV (docs/IMPORTS.md): POST /api/v1/imports and GET /api/v1/imports/{id} against the real binary,
and refd import on the command line. Partners with their team parents and recruiters, leads attributed to
partners, sales with the commissions the ledger computes (the same as a sale sent to the API), each ready-made map
(Rewardful, FirstPromoter, PartnerStack, Tolt) with a small file in that tool's export shape; a dry run that writes
nothing, then the real run, then the same file again, which creates nothing; malformed CSV (quotes, BOM, CRLF,
wrong column counts, spreadsheet formulas, UTF-16) reported by line and column; bad requests refused with a 4xx
naming the field and changing nothing; a large file streamed to disk, its progress readable while it runs."""
import json
import os
import pty
import select
import signal
import subprocess
import time
from urllib.parse import quote

from harness import BINARY, db_counts, db_rows, expect

IMPORTS = "/api/v1/imports"
PROGRAMS = "/api/v1/programs"
PARTNERS = "/api/v1/partners"
PLANS = "/api/v1/plans"
CSV = {"Content-Type": "text/csv"}
TABLES = ("partners", "partner_refs", "leads", "sales", "commissions", "events", "audit_log")


def setup(srv):
    admin = srv.admin_key()
    ctx = {"admin": admin}

    def program(key, name, currency="usd"):
        ctx[key] = expect(srv.post(PROGRAMS, {"name": name, "currency": currency}, key=admin), 201)["id"]
        expect(srv.post(PLANS, {"program_id": ctx[key], "name": name + " plan", "default": True,
                                "rules": {"sale_bps": 2000}}, key=admin), 201)

    program("prog", "Imports")
    program("jpy", "Yen", currency="jpy")
    for tool in ("rewardful", "firstpromoter", "partnerstack", "tolt"):
        program(tool, tool.title())
    program("big", "Big")
    program("cli", "Command line")
    ctx["manager_partner"] = expect(srv.post(PARTNERS, {"program_id": ctx["prog"], "name": "Manager Org",
                                                        "email": "manager@org.example"}, key=admin), 201)["id"]
    ctx["manager"] = srv.admin_key(role="manager", partner=ctx["manager_partner"], name="manager")
    return ctx


# ---- helpers ----

def post(srv, ctx, type_, data, prog="prog", dry=False, map_=None, mapping=None, key=None, headers=None):
    q = "?type=%s" % type_
    if prog:
        q += "&program_id=" + ctx[prog]
    if dry:
        q += "&dry_run=true"
    if map_:
        q += "&map=" + map_
    if mapping is not None:
        q += "&mapping=" + quote(json.dumps(mapping))
    raw = data if isinstance(data, bytes) else data.encode()
    return srv.post(IMPORTS + q, raw=raw, key=key or ctx["admin"], headers=headers or CSV)


def wait(srv, ctx, imp, timeout=120):
    """Reads the import until it has ended; returns its last state."""
    deadline = time.time() + timeout
    while True:
        got = expect(srv.get(IMPORTS + "/" + imp["id"], key=ctx["admin"]), 200)
        if got["status"] != "running":
            return got
        assert time.time() < deadline, "the import did not end: %r" % got
        time.sleep(0.03)


def run(srv, ctx, type_, data, **kw):
    r = post(srv, ctx, type_, data, **kw)
    started = expect(r, 202)
    assert started["status"] == "running" and started["id"].startswith("imp_"), started
    assert r.header("Location") == IMPORTS + "/" + started["id"], r.headers
    done = wait(srv, ctx, started)
    assert done["status"] == "completed", done
    assert done["rows"] == done["created"] + done["existing"] + done["skipped"] + done["failed"], done
    return done


def problems(rep):
    return [(e["line"], e["column"], e["field"]) for e in rep["errors"]]


def partner_by_email(srv, prog_id, email):
    rows = db_rows(srv, "SELECT id, name, company, kind, status, team_parent_id, recruited_by_id FROM partners "
                        "WHERE program_id = ? AND email = ?", (prog_id, email))
    return rows[0] if rows else None


# ---- refd's own columns ----

PARTNERS_CSV = (
    "email,name,company,kind,team_parent,recruited_by,ref\r\n"
    "org@acme.example,Acme Org,\"Acme, Inc.\",partner,,,old-1\r\n"
    "agent@acme.example,\"Ann \"\"The Agent\"\" Smith\",,agent,org@acme.example,,old-2\r\n"
    "recruit@acme.example,Rob Recruit,,partner,,old-1,old-3\r\n"
    "dup@acme.example,Dup One,,,,,\r\n"
    "DUP@acme.example,Dup Again,,,,,\r\n"
)


def test_partners_dry_run_then_real_run_then_again(srv, ctx):
    before = db_counts(srv, TABLES)
    dry = run(srv, ctx, "partners", PARTNERS_CSV, dry=True)
    assert dry["dry_run"] is True and (dry["created"], dry["existing"], dry["failed"]) == (4, 1, 0), dry
    assert db_counts(srv, TABLES) == dict(before, audit_log=before["audit_log"]), "a dry run wrote rows"

    real = run(srv, ctx, "partners", PARTNERS_CSV)
    assert (real["rows"], real["created"], real["existing"], real["failed"]) == (5, 4, 1, 0), real
    org = partner_by_email(srv, ctx["prog"], "org@acme.example")
    agent = partner_by_email(srv, ctx["prog"], "agent@acme.example")
    recruit = partner_by_email(srv, ctx["prog"], "recruit@acme.example")
    assert org["company"] == "Acme, Inc." and org["status"] == "active", org
    assert agent["name"] == 'Ann "The Agent" Smith' and agent["kind"] == "agent", agent
    assert agent["team_parent_id"] == org["id"], agent
    assert recruit["recruited_by_id"] == org["id"], recruit
    assert partner_by_email(srv, ctx["prog"], "dup@acme.example")["name"] == "Dup One"
    # The events of the partners made, as the API would have written them.
    assert db_rows(srv, "SELECT count(*) AS n FROM events WHERE type = 'partner.created' AND object_id = ?",
                   (agent["id"],))[0]["n"] == 1

    after = db_counts(srv, TABLES)
    again = run(srv, ctx, "partners", PARTNERS_CSV)
    assert (again["created"], again["existing"], again["failed"]) == (0, 5, 0), again
    assert {t: n for t, n in db_counts(srv, TABLES).items() if t != "audit_log"} == \
        {t: n for t, n in after.items() if t != "audit_log"}, "the same file again wrote rows"


def test_leads_attributed_to_partners(srv, ctx):
    data = ("email,name,external_id,partner_email,partner_ref,partner_id,source,created_at\n"
            "lead1@buyer.example,Lead One,crm-1,org@acme.example,,,campaign,2026-01-15\n"
            "lead2@buyer.example,Lead Two,crm-2,,old-2,,,2026-01-16T10:00:00Z\n"
            "lead3@buyer.example,Lead Three,crm-3,,,%s,,\n"
            "lead4@buyer.example,Lead Four,crm-4,nobody@acme.example,,,,\n"
            "lead5@buyer.example,Lead Five,crm-5,,no-such-ref,,,\n"
            "lead6@buyer.example,Lead Six,crm-6,,,,,not a date\n") % ctx["manager_partner"]
    dry = run(srv, ctx, "leads", data, dry=True)
    assert (dry["created"], dry["failed"]) == (3, 3), dry
    assert problems(dry) == [(5, 4, "partner_email"), (6, 5, "partner_ref"), (7, 8, "created_at")], dry
    assert db_rows(srv, "SELECT count(*) AS n FROM leads WHERE email LIKE 'lead%'")[0]["n"] == 0
    real = run(srv, ctx, "leads", data)
    assert (real["created"], real["failed"]) == (3, 3) and problems(real) == problems(dry), real
    org = partner_by_email(srv, ctx["prog"], "org@acme.example")
    agent = partner_by_email(srv, ctx["prog"], "agent@acme.example")
    rows = {r["email"]: r for r in db_rows(srv, "SELECT email, partner_id, agent_id, external_id, source, created_at "
                                               "FROM leads "
                                               "WHERE email LIKE 'lead%'")}
    assert set(rows) == {"lead1@buyer.example", "lead2@buyer.example", "lead3@buyer.example"}, rows
    assert rows["lead1@buyer.example"]["partner_id"] == org["id"], rows
    assert rows["lead1@buyer.example"]["source"] == "campaign", rows
    # An agent's lead is credited to its team parent, with the agent named, as the API credits it.
    assert (rows["lead2@buyer.example"]["partner_id"], rows["lead2@buyer.example"]["agent_id"]) == \
        (org["id"], agent["id"]), rows
    assert rows["lead3@buyer.example"]["partner_id"] == ctx["manager_partner"], rows
    assert rows["lead2@buyer.example"]["created_at"] == 1768557600000, rows
    again = run(srv, ctx, "leads", data)
    assert (again["created"], again["existing"], again["failed"]) == (0, 3, 3), again
    assert db_rows(srv, "SELECT count(*) AS n FROM leads WHERE email LIKE 'lead%'")[0]["n"] == 3


def rollups_of(srv, prog_id, names):
    """The program's rollup rows, partner ids replaced by the partners' emails (names), in a fixed order."""
    def key(entity):
        kind, _, pid = entity.partition(":")
        return kind + ":" + names.get(pid, pid)
    out = {}
    for table, cols in (("rollup_volume", ""), ("rollup_entity", "entity, currency, day, "),
                        ("rollup_keys", "entity, currency, last_day, "), ("rollup_daily", "dim, currency, day, ")):
        rows = db_rows(srv, "SELECT %sleads, qualified, customers, sales, revenue, conversions, conversion_ms "
                            "FROM %s WHERE program_id = ?" % (cols, table), (prog_id,))
        for r in rows:
            if "entity" in r:
                r["entity"] = key(r["entity"])
        out[table] = sorted(json.dumps(r, sort_keys=True) for r in rows)
    return out


def reports_of(srv, ctx, prog_id, names):
    def strip(obj):
        if isinstance(obj, dict):
            return {k: strip(v) for k, v in obj.items() if k not in ("program_id", "generated_at")}
        if isinstance(obj, list):
            return [strip(v) for v in obj]
        if isinstance(obj, str):
            for pid, email in names.items():
                obj = obj.replace(pid, email)
        return obj
    out = {"summary": strip(expect(srv.get("/api/v1/reports/summary?program_id=" + prog_id, key=ctx["admin"]), 200))}
    for group in ("partner", "agent", "team", "source", "day"):
        got = expect(srv.get("/api/v1/reports/breakdown?program_id=%s&group_by=%s&limit=100" % (prog_id, group),
                             key=ctx["admin"]), 200)
        got = strip(got)
        # Rows of equal figures come in the order of their partners' ids, which differ between the programs.
        got["data"] = sorted(got["data"], key=lambda r: json.dumps(r, sort_keys=True))
        out[group] = got
    return out


def test_imported_leads_count_as_the_apis(srv, ctx):
    # The same leads, one by one through POST /api/v1/leads into one program and as a file into another: the
    # import folds a transaction's rollups and audit entries, and the reports and rollups must come out the same.
    progs, names = {}, {}
    for side in ("api", "file"):
        progs[side] = expect(srv.post(PROGRAMS, {"name": "Same " + side, "currency": "usd"}, key=ctx["admin"]),
                             201)["id"]
        ids = {}
        for who, kind, parent in (("org", "partner", None), ("solo", "partner", None), ("agent", "agent", "org")):
            body = {"program_id": progs[side], "name": who.title(), "email": "%s@same.example" % who, "kind": kind}
            if parent:
                body["team_parent_id"] = ids[parent]
            ids[who] = expect(srv.post(PARTNERS, body, key=ctx["admin"]), 201)["id"]
            names[ids[who]] = who
        progs[side + "_ids"] = ids
    rows = []
    for i in range(300):
        who = ("org", "solo", "agent", None)[i % 4]
        rows.append({"email": "same%d@buyer.example" % i, "name": "Buyer %d" % i,
                     "source": ("partner", "referral", "organic")[i % 3], "who": who})
    rows.append(dict(rows[5]))  # a lead again: found, not counted twice
    for r in rows:
        body = {"program_id": progs["api"], "email": r["email"], "name": r["name"], "source": r["source"]}
        if r["who"]:
            body["partner_id"] = progs["api_ids"][r["who"]]
        got = srv.post("/api/v1/leads", body, key=ctx["admin"])
        assert got.status in (200, 201, 409), got
    csv_text = "email,name,source,partner_id\n" + "".join(
        "%s,%s,%s,%s\n" % (r["email"], r["name"], r["source"], progs["file_ids"][r["who"]] if r["who"] else "")
        for r in rows)
    deadline = time.time() + 10
    while True:
        q = "?type=leads&program_id=" + progs["file"]
        got = srv.post(IMPORTS + q, raw=csv_text.encode(), key=ctx["admin"], headers=CSV)
        if got.status != 409 or time.time() > deadline:
            break
        time.sleep(0.05)
    done = wait(srv, ctx, expect(got, 202))
    assert (done["status"], done["created"], done["existing"], done["failed"]) == ("completed", 300, 1, 0), done
    assert done["transactions"] >= 1, done
    api_leads = db_rows(srv, "SELECT count(*) AS n FROM leads WHERE program_id = ?", (progs["api"],))[0]["n"]
    assert api_leads == 300, api_leads
    assert rollups_of(srv, progs["api"], names) == rollups_of(srv, progs["file"], names)
    api_rep, file_rep = reports_of(srv, ctx, progs["api"], names), reports_of(srv, ctx, progs["file"], names)
    for k in api_rep:
        assert api_rep[k] == file_rep[k], (k, api_rep[k], file_rep[k])
    # Every lead made has its event, as over the API.
    for side in ("api", "file"):
        n = db_rows(srv, "SELECT count(*) AS n FROM events e JOIN leads l ON e.object_id = l.id "
                         "WHERE l.program_id = ? AND e.type = 'lead.created'", (progs[side],))[0]["n"]
        assert n == 300, (side, n)
    # The audit trail names every lead the import made: in one entry per transaction rather than one per lead.
    audited = set()
    for r in db_rows(srv, "SELECT object_id, detail FROM audit_log WHERE action = 'lead.create'"):
        if r["detail"]:
            audited.update(json.loads(r["detail"]).get("object_ids", []))
        elif r["object_id"]:
            audited.add(r["object_id"])
    file_leads = {r["id"] for r in db_rows(srv, "SELECT id FROM leads WHERE program_id = ?", (progs["file"],))}
    assert file_leads <= audited, len(file_leads - audited)


def commission_total(srv, sale_id):
    rows = db_rows(srv, "SELECT amount FROM commissions WHERE sale_id = ?", (sale_id,))
    return sorted(r["amount"] for r in rows)


def test_sales_make_the_commissions_the_api_makes(srv, ctx):
    data = ("external_id,email,amount,currency,partner_email,occurred_at\n"
            "inv-1,cust1@buyer.example,49.99,usd,org@acme.example,2026-02-01\n"
            "inv-2,cust2@buyer.example,1234567.89,USD,agent@acme.example,2026-02-02\n"
            "inv-3,cust3@buyer.example,0.07,usd,org@acme.example,\n"
            "inv-4,cust4@buyer.example,1.005,usd,org@acme.example,\n"
            "inv-5,cust5@buyer.example,-5.00,usd,org@acme.example,\n"
            "inv-6,cust6@buyer.example,12,xxx,org@acme.example,\n"
            "inv-7,cust7@buyer.example,99999999999999999999,usd,org@acme.example,\n"
            "inv-1,cust1@buyer.example,49.99,usd,org@acme.example,2026-02-01\n")
    dry = run(srv, ctx, "sales", data, dry=True)
    assert (dry["created"], dry["existing"], dry["failed"]) == (3, 1, 4), dry
    assert [p[:3] for p in problems(dry)] == [(5, 3, "amount"), (6, 3, "amount"), (7, 4, "currency"),
                                              (8, 3, "amount")], dry
    assert db_rows(srv, "SELECT count(*) AS n FROM sales WHERE external_id LIKE 'inv-%'")[0]["n"] == 0
    real = run(srv, ctx, "sales", data)
    assert (real["created"], real["existing"], real["failed"]) == (3, 1, 4), real
    sales = {r["external_id"]: r for r in db_rows(srv, "SELECT id, external_id, amount, currency, partner_id FROM "
                                                       "sales WHERE external_id LIKE 'inv-%'")}
    assert {k: (v["amount"], v["currency"].lower()) for k, v in sales.items()} == {
        "inv-1": (4999, "usd"), "inv-2": (123456789, "usd"), "inv-3": (7, "usd")}, sales
    # The same sale sent to the API in another program with the same plan: the same commissions, to the cent.
    for ext, amount in (("inv-1", 4999), ("inv-2", 123456789), ("inv-3", 7)):
        p = expect(srv.post(PARTNERS, {"program_id": ctx["cli"], "name": "Twin " + ext,
                                       "email": ext + "@twin.example"}, key=ctx["admin"]), 201)["id"]
        twin = expect(srv.post("/api/v1/sales", {"program_id": ctx["cli"], "amount": {"amount": amount,
                                                                                     "currency": "usd"},
                                                 "external_id": "twin-" + ext, "email": ext + "@c.example",
                                                 "partner_id": p}, key=ctx["admin"]), 201)
        assert commission_total(srv, sales[ext]["id"]) == commission_total(srv, twin["id"]) != [], ext
    # Once more: nothing new, and a sale found with another amount is a problem, not a second sale.
    again = run(srv, ctx, "sales", data + "inv-2,cust2@buyer.example,5.00,usd,agent@acme.example,\n")
    assert (again["created"], again["existing"], again["failed"]) == (0, 4, 5), again
    assert again["errors"][-1]["line"] == 10 and again["errors"][-1]["field"] in ("amount", "external_id"), again
    assert db_rows(srv, "SELECT count(*) AS n FROM sales WHERE external_id LIKE 'inv-%'")[0]["n"] == 3
    assert db_rows(srv, "SELECT count(*) AS n FROM commissions WHERE sale_id IN (SELECT id FROM sales WHERE "
                        "external_id LIKE 'inv-%')")[0]["n"] == 3


def test_amounts_in_the_currencys_exponent(srv, ctx):
    run(srv, ctx, "partners", "email,name\nyen@partner.example,Yen Partner\n", prog="jpy")
    data = ("external_id,email,amount,partner_email\n"
            "y-1,a@buyer.example,5000,yen@partner.example\n"
            "y-2,b@buyer.example,5000.5,yen@partner.example\n")
    rep = run(srv, ctx, "sales", data, prog="jpy")
    assert (rep["created"], rep["failed"]) == (1, 1) and problems(rep) == [(3, 3, "amount")], rep
    assert db_rows(srv, "SELECT amount, lower(currency) AS currency FROM sales WHERE external_id = 'y-1'") == \
        [{"amount": 5000, "currency": "jpy"}]


# ---- malformed files ----

def test_malformed_csv_is_reported_by_line_and_column(srv, ctx):
    data = ("\ufeffemail,name,company,notes\r\n"                            # a BOM, CRLF
            "ok1@mal.example,\"Ann \"\"Q\"\" Doe\",\"Comma, Inc\",\"two\r\nlines\"\r\n"  # lines 2-3
            "short@mal.example,Short,Co\r\n"                                # line 4: a field short
            "long@mal.example,Long,Co,,extra\r\n"                           # line 5: a field too many
            "bad@mal.example,Bad \"quote,Co,\r\n"                           # line 6: a stray quote
            "f1@mal.example,\"=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\",Co,\r\n"  # line 7: a formula
            "f2@mal.example,Name,@SUM(A1:A9),\r\n"                          # line 8
            "f3@mal.example,+cmd|' /C calc'!A0,Co,\r\n"                     # line 9
            "ok2@mal.example,-5 Degrees,+44 20 7946 0000,\r\n"              # line 10: values, not formulas
            "ok3@mal.example,Last,Co,\"Unclosed")                           # line 11: a quote never closed
    rep = run(srv, ctx, "partners", data.encode("utf-8"), mapping={"notes": None})
    assert rep["created"] == 2 and rep["failed"] == 7, rep
    lines = {e["line"]: e for e in rep["errors"]}
    assert sorted(lines) == [4, 5, 6, 7, 8, 9, 11], rep
    assert lines[7]["field"] == "name" and lines[7]["column"] == 2 and "formula" in lines[7]["message"], lines[7]
    assert lines[8]["field"] == "company" and lines[8]["column"] == 3, lines[8]
    assert lines[9]["field"] == "name", lines[9]
    assert lines[6]["column"] == 2, lines[6]
    assert "3" in lines[4]["message"] and "4" in lines[4]["message"], lines[4]
    ok1 = partner_by_email(srv, ctx["prog"], "ok1@mal.example")
    assert ok1["name"] == 'Ann "Q" Doe' and ok1["company"] == "Comma, Inc", ok1
    ok2 = partner_by_email(srv, ctx["prog"], "ok2@mal.example")
    assert ok2["name"] == "-5 Degrees" and ok2["company"] == "+44 20 7946 0000", ok2
    for email in ("f1@mal.example", "f2@mal.example", "f3@mal.example", "short@mal.example", "ok3@mal.example"):
        assert partner_by_email(srv, ctx["prog"], email) is None, email


def test_a_file_refused_as_a_whole_changes_nothing(srv, ctx):
    before = db_counts(srv, TABLES)
    utf16 = "email,name\r\nu16@mal.example,U\r\n".encode("utf-16")
    cases = [
        (post(srv, ctx, "partners", utf16), 400, "header"),
        (post(srv, ctx, "partners", "email,nickname\nx@y.example,X\n"), 400, "header"),
        (post(srv, ctx, "partners", "name,company\nX,Y\n"), 400, "header"),
        (post(srv, ctx, "partners", "email,email\nx@y.example,x@y.example\n"), 400, "header"),
        (post(srv, ctx, "partners", ""), 400, "body"),
        (post(srv, ctx, "people", "email\nx@y.example\n"), 400, "type"),
        (post(srv, ctx, "partners", "email\nx@y.example\n", map_="affiliatly"), 400, "map"),
        (post(srv, ctx, "partners", "email\nx@y.example\n", dry=True, mapping={"email": "no_such"}), 400,
         "mapping"),
        (post(srv, ctx, "partners", "email,name\nx@y.example,X\n", prog=None), 400, "program_id"),
        (srv.post(IMPORTS + "?type=partners&program_id=prg_nosuchprogram00000000000", raw="email,name\nx@y.example,X\n",
                  key=ctx["admin"], headers=CSV), 400, "program_id"),
        (post(srv, ctx, "partners", "email\nx@y.example\n", headers={"Content-Type": "application/json"}), 400,
         "Content-Type"),
        (post(srv, ctx, "partners", "email\nx@y.example\n", key=ctx["manager"]), 403, None),
        (srv.post(IMPORTS + "?type=partners", raw="email\nx@y.example\n", headers=CSV), 401, None),
    ]
    for r, status, field in cases:
        expect(r, status, field=field)
    assert db_counts(srv, TABLES) == before


def test_a_large_body_needs_credentials_first(srv, ctx):
    big = "email,name\n" + "x@y.example,X\n" * 100000  # 1.4 MB, over the 1 MiB a stranger may send
    r = post(srv, ctx, "partners", big, key=ctx["manager"])
    expect(r, 413)
    r = srv.post(IMPORTS + "?type=partners", raw=big, headers=CSV)
    expect(r, 413)


# ---- the ready-made maps ----

MAPS = {
    "rewardful": {
        "partners": ("id,email,first_name,last_name,state,paypal_email,token,campaign_name,visitors,leads,"
                     "conversions,created_at\n"
                     "aff-r1,ruth@rw.example,Ruth,Rewards,active,ruth@paypal.example,ruth,Main,10,2,1,"
                     "2025-06-01T10:00:00.000Z\n"
                     "aff-r2,rolf@rw.example,Rolf,Rejected,denied,,rolf,Main,0,0,0,2025-06-02T10:00:00.000Z\n"),
        "leads": ("id,customer_email,customer_name,stripe_customer_id,affiliate_id,conversion_state,visits,"
                  "created_at\n"
                  "ref-1,lc1@buyer.example,Lead Cust,cus_R1,aff-r1,lead,3,2025-07-01T00:00:00Z\n"),
        "sales": ("id,amount,currency,state,sale_id,sale_amount_cents,charged_at,stripe_charge_id,customer_email,"
                  "stripe_customer_id,affiliate_id,campaign\n"
                  "com-1,1000,USD,due,sale-r1,5000,2025-07-02T00:00:00Z,ch_1,lc1@buyer.example,cus_R1,aff-r1,Main\n"),
        "sale_amount": 5000, "skipped": 1,
    },
    "firstpromoter": {
        "partners": ("id,email,first_name,last_name,company_name,status,parent_promoter_id,ref_id,balance\n"
                     "701,fay@fp.example,Fay,Promoter,FP Ltd,approved,,fay,0\n"
                     "702,fred@fp.example,Fred,Sub,,active,701,fred,0\n"
                     "703,flo@fp.example,Flo,Waiting,,pending,701,flo,0\n"),
        "leads": ("id,email,uid,promoter_id,state,plan_name,created_at\n"
                  "9001,lf1@buyer.example,user-1,702,active,Pro,2025-07-01 09:30\n"),
        "sales": ("id,amount,status,event_id,sale_amount,currency,referral_email,referral_uid,promoter_id,"
                  "created_at,tier\n"
                  "c-1,600,approved,evt-f1,3000,USD,lf1@buyer.example,user-1,702,2025-07-02 10:00,1\n"),
        "sale_amount": 3000, "skipped": 0,
    },
    "partnerstack": {
        "partners": ("partner_key,email,first_name,last_name,company,status,group,created_at\n"
                     "part_p1,pat@ps.example,Pat,Stack,PS Co,active,Default,2025-05-01\n"),
        "leads": ("customer_key,email,name,partner_key,created_at,provider_key\n"
                  "cust_l1,lp1@buyer.example,Lead PS,part_p1,2025-07-01,prov_1\n"),
        "sales": ("key,reward_key,amount,status,transaction_key,transaction_amount,currency,customer_key,"
                  "customer_email,partner_key,created_at,product_key\n"
                  "k1,rw1,900,approved,txn_p1,4500,usd,cust_l1,lp1@buyer.example,part_p1,2025-07-03,prod\n"),
        "sale_amount": 4500, "skipped": 0,
    },
    "tolt": {
        "partners": ("id,email,first_name,last_name,company_name,status,country_code,created_at\n"
                     "pt_t1,tom@tolt.example,Tom,Tolt,,active,US,2025-05-05T00:00:00Z\n"),
        "leads": ("id,email,name,customer_id,partner_id,status,lead_at,click_id\n"
                  "cu_1,lt1@buyer.example,Lead Tolt,stripe_cus_t1,pt_t1,lead,2025-07-01,clk_1\n"),
        "sales": ("id,amount,status,transaction_id,revenue,currency,charge_id,customer_email,customer_id,partner_id,"
                  "created_at,source\n"
                  "cm_1,500,pending,tx_t1,2500,usd,ch_t1,lt1@buyer.example,cu_1,pt_t1,2025-07-04T00:00:00Z,stripe\n"),
        "sale_amount": 2500, "skipped": 0,
    },
}


def check_map(srv, ctx, tool):
    m = MAPS[tool]
    before = db_counts(srv, TABLES)
    for type_ in ("partners", "leads", "sales"):
        rep = run(srv, ctx, type_, m[type_], prog=tool, map_=tool, dry=True)
        # A dry run of leads and sales cannot find partners a dry run of partners did not write.
        if type_ == "partners":
            assert rep["failed"] == 0 and rep["skipped"] == m["skipped"], (tool, rep)
    assert {t: n for t, n in db_counts(srv, TABLES).items() if t != "audit_log"} == \
        {t: n for t, n in before.items() if t != "audit_log"}, tool
    for type_ in ("partners", "leads", "sales"):
        rep = run(srv, ctx, type_, m[type_], prog=tool, map_=tool)
        assert rep["failed"] == 0 and rep["map"] == tool, (tool, type_, rep)
        assert rep["ignored_columns"], (tool, type_, rep)
    partners = db_rows(srv, "SELECT p.id, p.email, p.status, p.recruited_by_id, r.ref FROM partners p JOIN "
                            "partner_refs r ON r.partner_id = p.id WHERE p.program_id = ?", (ctx[tool],))
    assert len(partners) == len(m["partners"].strip().split("\n")) - 1 - m["skipped"], (tool, partners)
    lead = db_rows(srv, "SELECT partner_id FROM leads WHERE program_id = ?", (ctx[tool],))
    sale = db_rows(srv, "SELECT id, amount, partner_id FROM sales WHERE program_id = ?", (ctx[tool],))
    assert len(lead) == 1 and len(sale) == 1, (tool, lead, sale)
    assert sale[0]["amount"] == m["sale_amount"], (tool, sale)
    assert lead[0]["partner_id"] == sale[0]["partner_id"] in {p["id"] for p in partners}, (tool, lead, sale)
    assert commission_total(srv, sale[0]["id"]) == [m["sale_amount"] // 5], (tool, sale)
    # Everything again: nothing new.
    after = db_counts(srv, TABLES)
    for type_ in ("partners", "leads", "sales"):
        rep = run(srv, ctx, type_, m[type_], prog=tool, map_=tool)
        assert rep["created"] == 0 and rep["failed"] == 0, (tool, type_, rep)
    assert {t: n for t, n in db_counts(srv, TABLES).items() if t != "audit_log"} == \
        {t: n for t, n in after.items() if t != "audit_log"}, tool
    return partners


def test_rewardful_map(srv, ctx):
    partners = check_map(srv, ctx, "rewardful")
    assert [p["ref"] for p in partners] == ["aff-r1"], partners  # the denied affiliate was skipped


def test_firstpromoter_map(srv, ctx):
    partners = {p["ref"]: p for p in check_map(srv, ctx, "firstpromoter")}
    assert partners["702"]["recruited_by_id"] == partners["701"]["id"], partners
    assert partners["703"]["status"] == "applied" and partners["701"]["status"] == "active", partners


def test_partnerstack_map(srv, ctx):
    check_map(srv, ctx, "partnerstack")


def test_tolt_map(srv, ctx):
    check_map(srv, ctx, "tolt")


def test_a_custom_mapping_on_top(srv, ctx):
    data = "E-mail Address,Full Name,Notes\nmapped@custom.example,Mapped Person,whatever\n"
    rep = run(srv, ctx, "partners", data, mapping={"E-mail Address": "email", "Full Name": "name", "Notes": None})
    assert rep["created"] == 1 and rep["columns"] == {"email": "E-mail Address", "name": "Full Name"}, rep
    assert rep["ignored_columns"] == ["Notes"], rep


# ---- large files: streamed, with their progress ----

def vm_hwm_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def test_a_large_file_is_streamed_with_its_progress(srv, ctx):
    # 2,500,000 rows (about 55 MB), the first a new partner and the others the same again: rows the file had
    # before are recognised without the database, so the file is read fast, and what refd holds in memory shows
    # whether the file was ever whole in it.
    n = 2500000
    data = ("email,name\n" + "same@big.example,Same\n" * n).encode()
    peak_before = vm_hwm_kb(srv.proc.pid)
    r = post(srv, ctx, "partners", data, prog="big")
    started = expect(r, 202)
    # One import at a time per process: another is refused while this one runs, and changes nothing.
    second = post(srv, ctx, "partners", "email,name\nsecond@big.example,Second\n", prog="big")
    seen_running = []
    while True:
        got = expect(srv.get(IMPORTS + "/" + started["id"], key=ctx["admin"]), 200)
        if got["status"] != "running":
            break
        seen_running.append(got["rows"])
        time.sleep(0.02)
    assert (got["status"], got["rows"], got["created"], got["existing"]) == ("completed", n, 1, n - 1), got
    assert got["bytes"] == len(data), got["bytes"]
    if second.status != 409:
        # The first import had ended already (a very fast machine): then the second ran.
        expect(second, 202)
    else:
        assert second.header("Retry-After"), second.headers
        assert partner_by_email(srv, ctx["big"], "second@big.example") is None
    assert any(0 < rows < n for rows in seen_running), seen_running
    with open("/proc/%d/maps" % srv.proc.pid) as f:
        if "libasan" in f.read():
            return  # AddressSanitizer keeps freed memory aside (its quarantine): the peak says nothing then
    grown_mb = (vm_hwm_kb(srv.proc.pid) - peak_before) / 1024
    assert grown_mb < len(data) / 2 / 1e6, "refd's peak memory grew by %.0f MB for a %.0f MB file" % (
        grown_mb, len(data) / 1e6)


def test_the_imports_are_listed_newest_first(srv, ctx):
    ids = []
    for i in range(3):
        # The importer takes the next import once it has freed the last one, a moment after its record ended.
        deadline = time.time() + 10
        while True:
            r = post(srv, ctx, "partners", "email,name\nlisted%d@list.example,Listed %d\n" % (i, i))
            if r.status != 409 or time.time() > deadline:
                break
            time.sleep(0.05)
        ids.append(wait(srv, ctx, expect(r, 202))["id"])
    ids.reverse()
    first = expect(srv.get(IMPORTS + "?limit=2", key=ctx["admin"]), 200)
    assert [i["id"] for i in first["data"]] == ids[:2] and first["has_more"], first
    assert first["data"][0]["status"] == "completed" and first["data"][0]["created"] == 1, first["data"][0]
    rest = expect(srv.get(IMPORTS + "?limit=100&starting_after=" + ids[1], key=ctx["admin"]), 200)
    assert rest["data"][0]["id"] == ids[2], rest
    assert ids[0] not in [i["id"] for i in rest["data"]] and ids[1] not in [i["id"] for i in rest["data"]]
    assert not rest["has_more"], rest
    # Every import is listed once, newest first.
    seen = [i["id"] for i in first["data"]] + [i["id"] for i in rest["data"]]
    assert len(seen) == len(set(seen)), seen
    started = [i["started_at"] for i in first["data"] + rest["data"]]
    assert started == sorted(started, reverse=True), started
    e = expect(srv.get(IMPORTS + "?starting_after=imp_nosuchimport0000000000", key=ctx["admin"]), 400)
    assert e["error"]["field"] == "starting_after", e
    e = expect(srv.get(IMPORTS + "?limit=0", key=ctx["admin"]), 400)
    assert e["error"]["field"] == "limit", e
    expect(srv.get(IMPORTS, key=ctx["manager"]), 403)


def test_an_import_of_a_killed_refd_is_failed(srv, ctx):
    # A large import over the API, its refd killed (no chance to write "interrupted") while it runs.
    n = 300000
    data = "email,name\n" + "".join("killed%d@kill.example,Killed %d\n" % (i, i) for i in range(n))
    started = expect(post(srv, ctx, "leads", data, prog="big"), 202)
    deadline = time.time() + 120
    while True:
        got = expect(srv.get(IMPORTS + "/" + started["id"], key=ctx["admin"]), 200)
        assert got["status"] == "running" and time.time() < deadline, got
        if got["created"] > 0:
            break
        time.sleep(0.05)
    srv.stop(sig=signal.SIGKILL)
    row = db_rows(srv, "SELECT status FROM imports WHERE id = ?", (started["id"],))[0]
    assert row["status"] == "running", row
    # Restarted later than a running import's record can have been left unwritten: it is failed, with why.
    with open(os.path.join(srv.dir, "clock"), "w") as f:
        f.write("%d\n" % (6 * 60 * 1000))
    srv.start()
    try:
        got = expect(srv.get(IMPORTS + "/" + started["id"], key=ctx["admin"]), 200)
        assert got["status"] == "failed", got
        assert got["error"]["type"] and "stopped" in got["error"]["message"], got
        assert 0 < got["rows"] < n, got
        row = db_rows(srv, "SELECT status FROM imports WHERE id = ?", (started["id"],))[0]
        assert row["status"] == "failed", row
        listed = expect(srv.get(IMPORTS + "?limit=100", key=ctx["admin"]), 200)["data"]
        assert [i["status"] for i in listed if i["id"] == started["id"]] == ["failed"], listed
        # A new import runs as before.
        done = run(srv, ctx, "partners", "email,name\nafter@kill.example,After\n", prog="big")
        assert done["created"] == 1, done
    finally:
        srv.set_clock(0)


# ---- the command line ----

def write(srv, name, text):
    path = os.path.join(srv.dir, name)
    with open(path, "w", newline="") as f:
        f.write(text)
    return path


def test_cli_dry_run_real_run_and_again(srv, ctx):
    path = write(srv, "cli_partners.csv", "email,name,team_parent\nclilead@cli.example,Cli Lead,\n"
                                          "cliagent@cli.example,Cli Agent,clilead@cli.example\n"
                                          "bad-email,Bad,\n")
    args = ("import", "--type", "partners", "--file", path, "--program", ctx["cli"])
    dry = srv.cli(*args, "--dry-run", check=False)
    assert dry.returncode == 1, dry  # a row fails
    rep = json.loads(dry.stdout)
    assert rep["dry_run"] is True and (rep["created"], rep["failed"]) == (2, 1), rep
    assert problems(rep) == [(4, 1, "email")], rep
    assert partner_by_email(srv, ctx["cli"], "clilead@cli.example") is None
    real = srv.cli(*args, check=False)
    rep = json.loads(real.stdout)
    assert (rep["created"], rep["failed"]) == (2, 1), rep
    assert "refd import: completed: 3 rows, 2 created" in real.stderr, real.stderr
    lead = partner_by_email(srv, ctx["cli"], "clilead@cli.example")
    assert partner_by_email(srv, ctx["cli"], "cliagent@cli.example")["team_parent_id"] == lead["id"]
    again = json.loads(srv.cli(*args, check=False).stdout)
    assert (again["created"], again["existing"]) == (0, 2), again
    # Bad arguments: exit code 2 and a message naming the option.
    for bad, word in ((("import", "--type", "people", "--file", path), "--type"),
                      (("import", "--type", "partners"), "--file"),
                      (("import", "--type", "partners", "--file", path, "--map", "nope"), "--map")):
        p = srv.cli(*bad, check=False)
        assert p.returncode == 2 and word in p.stderr, (bad, p.returncode, p.stderr)


def test_cli_progress_bar_on_a_terminal(srv, ctx):
    rows = "".join("bar%d@cli.example,Bar %d\n" % (i, i) for i in range(3000))
    path = write(srv, "cli_bar.csv", "email,name\n" + rows)
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(BINARY, [BINARY, "import", "--type", "partners", "--file", path, "--program", ctx["cli"],
                           "--db", srv.db], srv.env)
    out = b""
    deadline = time.time() + 60
    while time.time() < deadline:
        ready, _, _ = select.select([fd], [], [], 1)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    _, status = os.waitpid(pid, 0)
    text = out.decode("utf-8", "replace")
    assert os.WEXITSTATUS(status) == 0, text[-2000:]
    assert "\r\x1b[K" in text and "[##############################] 100%" in text, text[:2000]
    assert "3,000 rows" in text, text[-2000:]


def test_cli_reads_standard_input(srv, ctx):
    p = subprocess.run([BINARY, "import", "--type", "leads", "--file", "-", "--program", ctx["cli"], "--db",
                        srv.db], input="email,partner_email\nstdin@lead.example,clilead@cli.example\n",
                       capture_output=True, text=True, env=srv.env, timeout=60)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["created"] == 1
    lead = partner_by_email(srv, ctx["cli"], "clilead@cli.example")
    assert db_rows(srv, "SELECT partner_id FROM leads WHERE email = 'stdin@lead.example'") == [
        {"partner_id": lead["id"]}]
