# SPDX-License-Identifier: Apache-2.0
"""Partners recruit partners: every partner's stable recruitment link, a sign-up through it recording the
recruiter (in the program's review and open modes), the override the recruiter then earns on the recruit's
commissions, the refusals (unknown code, a recruiter that is not active, another program), the audit trail, and
the migration that gives partners made before it their codes."""
import json
import os
import re
import sqlite3
import subprocess
import tempfile
import shutil

from harness import BINARY, BROWSER_UA, Session, db_counts, db_rows, expect

PARTNERS = "/api/v1/partners"
SIGNUP = "/api/v1/portal/signup"
CODE = re.compile(r"^[23456789abcdefghjkmnpqrstuvwxyz]{12}$")
MIGRATIONS = os.path.join(os.path.dirname(__file__), "..", "..", "src", "store", "migrations")
# What a refused sign-up must leave untouched.
TABLES = ("partners", "users", "sessions", "audit_log", "login_failures")


def setup(srv):
    admin = srv.admin_key()
    ctx = {"admin": admin}
    # The program of the story takes applications for review (the default); another one is open.
    ctx["prog"] = expect(srv.post("/api/v1/programs", {"name": "Story", "currency": "usd"}, key=admin), 201)
    ctx["open"] = expect(srv.post("/api/v1/programs", {"name": "Open", "currency": "usd",
                                                        "partner_signup": "open"}, key=admin), 201)
    assert ctx["prog"]["partner_signup"] == "review", ctx["prog"]
    plan = {"sale_bps": 2000, "override_bps": [1000, 500]}
    for prog in (ctx["prog"], ctx["open"]):
        expect(srv.post("/api/v1/plans", {"program_id": prog["id"], "name": "Standard", "default": True,
                                          "rules": plan}, key=admin), 201)
    # R recruited A (set by an admin, as before); A is the partner whose recruitment link the story follows.
    ctx["r"] = partner(srv, ctx, "Rita Root", "rita@root.example")
    ctx["a"] = partner(srv, ctx, "Alice Agency", "alice@agency.example", recruited_by_id=ctx["r"]["id"])
    ctx["a_key"] = srv.admin_key(role="partner", partner=ctx["a"]["id"], name="alice")
    return ctx


def partner(srv, ctx, name, email, prog=None, **extra):
    body = {"program_id": (prog or ctx["prog"])["id"], "name": name, "email": email}
    body.update(extra)
    return expect(srv.post(PARTNERS, body, key=ctx["admin"]), 201)


def applicant(email, **extra):
    body = {"name": "Applicant " + email.split("@")[0], "email": email, "password": "correct horse battery"}
    body.update(extra)
    return body


def session_of(resp):
    """The session a sign-up answer started (its cookie and CSRF token)."""
    cookie = [v.split(";", 1)[0].split("=", 1)[1] for v in resp.headers_all("Set-Cookie")
              if v.startswith("refd_session=")][0]
    return Session(cookie, resp.json["csrf_token"])


def audit(srv, action, object_id):
    return db_rows(srv, "SELECT actor, action, object_id, detail FROM audit_log WHERE action = ? AND object_id = ?",
                   (action, object_id))


def test_every_partner_has_a_stable_recruitment_link(srv, ctx):
    a = ctx["a"]
    base = "http://127.0.0.1:%d" % srv.port
    assert CODE.match(a["recruitment_code"]), a
    assert a["recruitment_url"] == base + "/portal?recruiter=" + a["recruitment_code"], a
    # The same on every read, after a change, and to the partner itself.
    again = expect(srv.patch(PARTNERS + "/" + a["id"], {"company": "Agency Ltd"}, key=ctx["admin"]), 200)
    assert (again["recruitment_code"], again["recruitment_url"]) == (a["recruitment_code"], a["recruitment_url"])
    own = expect(srv.get(PARTNERS + "/" + a["id"], key=ctx["a_key"]), 200)
    assert own["recruitment_url"] == a["recruitment_url"], own
    # Nobody sets or changes it: it is not a member of a partner's body.
    for body in ({"recruitment_code": "abcdefghjkmn"}, {"recruitment_url": "https://x.example"}):
        r = expect(srv.patch(PARTNERS + "/" + a["id"], body, key=ctx["admin"]), 400, field=list(body)[0])
        assert "unknown field" in r["error"]["message"], r
    # Every partner has its own.
    codes = {p["recruitment_code"] for p in (ctx["r"], a)}
    assert len(codes) == 2
    # The recruiter an admin sets is in the audit trail.
    created = audit(srv, "partner.create", a["id"])
    assert [json.loads(e["detail"]) for e in created] == [{"recruited_by_id": ctx["r"]["id"]}], created
    # The link works only while the partner is active: an applicant has its code, and a link once approved.
    waiting = partner(srv, ctx, "Wendy Waiting", "wendy@waiting.example", status="applied")
    assert CODE.match(waiting["recruitment_code"]) and waiting["recruitment_url"] is None, waiting
    approved = expect(srv.post(PARTNERS + "/" + waiting["id"] + "/activate", key=ctx["admin"]), 200)
    assert approved["recruitment_code"] == waiting["recruitment_code"], approved
    assert approved["recruitment_url"] == base + "/portal?recruiter=" + waiting["recruitment_code"], approved
    assert db_rows(srv, "SELECT count(*) AS n FROM partners WHERE recruitment_code IS NULL")[0]["n"] == 0


def test_a_sign_up_through_the_link_records_the_recruiter(srv, ctx):
    a = ctx["a"]
    before = db_counts(srv, ("partners", "users"))
    # The link carries only the code: the program is the recruiter's (there are several programs here), and
    # the code is read without regard to letter case or surrounding spaces.
    r = srv.post(SIGNUP, applicant("bob@brokers.example", company="Brokers",
                                   recruitment_code=" " + a["recruitment_code"].upper() + " "))
    joined = expect(r, 201)
    b = joined["partner"]
    assert joined["next"] == "wait_for_approval", joined
    assert (b["status"], b["program_id"], b["recruited_by_id"]) == ("applied", ctx["prog"]["id"], a["id"]), b
    assert CODE.match(b["recruitment_code"]) and b["recruitment_code"] != a["recruitment_code"], b
    assert b["recruitment_url"] is None, "an applicant recruits nobody yet"
    after = db_counts(srv, ("partners", "users"))
    assert (after["partners"], after["users"]) == (before["partners"] + 1, before["users"] + 1)
    # The audit trail says who recruited the new partner, and how.
    entries = audit(srv, "partner.signup", b["id"])
    assert len(entries) == 1, entries
    assert json.loads(entries[0]["detail"]) == {"recruited_by_id": a["id"], "via": "recruitment_link"}, entries
    # The admin sees the recruiter on the partner; A sees B among the partners it recruited.
    assert expect(srv.get(PARTNERS + "/" + b["id"], key=ctx["admin"]), 200)["recruited_by_id"] == a["id"]
    mine = expect(srv.get(PARTNERS + "?recruited_by_id=" + a["id"], key=ctx["a_key"]), 200)["data"]
    assert [(x["id"], x["object"], x["status"]) for x in mine] == [(b["id"], "recruit", "applied")], mine
    ctx["b"], ctx["b_session"] = b, session_of(r)


def test_after_approval_the_recruiter_earns_its_override_on_the_recruits_sales(srv, ctx):
    a, b, r = ctx["a"], ctx["b"], ctx["r"]
    # An applicant cannot make links yet; an admin approves it (the program reviews applications).
    expect(srv.post("/api/v1/links", {"destination_url": "https://shop.example/"}, session=ctx["b_session"]),
           403, field="partner_id")
    approved = expect(srv.post(PARTNERS + "/" + b["id"] + "/activate", {"reason": "looks good"},
                               key=ctx["admin"]), 200)
    assert approved["status"] == "active" and approved["recruited_by_id"] == a["id"], approved
    assert approved["recruitment_url"].endswith("/portal?recruiter=" + b["recruitment_code"]), approved
    # B makes its own link from its portal session, and a visitor comes through it and buys.
    link = expect(srv.post("/api/v1/links", {"destination_url": "https://shop.example/"},
                           session=ctx["b_session"]), 201)
    assert link["partner_id"] == b["id"], link
    click = srv.get("/r/" + link["code"], headers={"User-Agent": BROWSER_UA + " recruit"})
    assert click.status == 302, click
    click_id = re.search(r"refd_click=(clk_[A-Za-z0-9]+)", click.header("Location")).group(1)
    sale = expect(srv.post("/api/v1/sales", {"program_id": ctx["prog"]["id"], "email": "buyer@shop.example",
                                             "amount": {"amount": 10000, "currency": "usd"},
                                             "external_id": "inv_recruit_1", "click_id": click_id},
                           key=ctx["admin"]), 201)
    assert sale["partner_id"] == b["id"], sale
    got = sorted((c["partner_id"], c["role"], c["level"], c["amount"]["amount"]) for c in sale["commissions"])
    # B earns 20 % of 100.00; A, its recruiter, 10 % of that; R, A's recruiter, 5 % of it (level 2).
    assert got == sorted([(b["id"], "direct", 0, 2000), (a["id"], "override", 1, 200),
                          (r["id"], "override", 2, 100)]), got
    direct = next(c for c in sale["commissions"] if c["role"] == "direct")
    override = next(c for c in sale["commissions"] if c["partner_id"] == a["id"])
    # A sees it in its own ledger, with the explanation naming the recruit and the recruit's commission.
    mine = expect(srv.get("/api/v1/commissions?partner_id=" + a["id"], key=ctx["a_key"]), 200)["data"]
    assert [c["id"] for c in mine] == [override["id"]], mine
    why = expect(srv.get("/api/v1/commissions/" + override["id"], key=ctx["a_key"]), 200)["explanation"]
    assert (why["level"], why["rate_bps"], why["of_commission_id"]) == (1, 1000, direct["id"]), why
    assert b["id"] in why["text"], why
    # A sale with B's code typed at checkout pays the same way.
    typed = expect(srv.post("/api/v1/sales", {"program_id": ctx["prog"]["id"], "email": "second@shop.example",
                                              "amount": {"amount": 5000, "currency": "usd"},
                                              "external_id": "inv_recruit_2", "code": link["code"]},
                            key=ctx["admin"]), 201)
    got = sorted((c["partner_id"], c["role"], c["amount"]["amount"]) for c in typed["commissions"])
    assert got == sorted([(b["id"], "direct", 1000), (a["id"], "override", 100), (r["id"], "override", 50)]), got


def test_in_an_open_program_the_recruit_is_active_at_once(srv, ctx):
    host = partner(srv, ctx, "Olga Open", "olga@open.example", prog=ctx["open"])
    joined = expect(srv.post(SIGNUP, applicant("oscar@open.example", recruitment_code=host["recruitment_code"])),
                    201)
    o = joined["partner"]
    assert joined["next"] == "welcome", joined
    assert (o["status"], o["program_id"], o["recruited_by_id"]) == ("active", ctx["open"]["id"], host["id"]), o
    assert o["recruitment_url"] and o["recruitment_url"].endswith(o["recruitment_code"]), o
    # The program named with the code must be the recruiter's; naming it is fine.
    named = expect(srv.post(SIGNUP, applicant("olivia@open.example", program_id=ctx["open"]["id"],
                                              recruitment_code=host["recruitment_code"])), 201)
    assert named["partner"]["recruited_by_id"] == host["id"], named
    # Without a code (or with a blank or null one), a sign-up names no recruiter, as before.
    for n, code in enumerate((None, "  ")):
        body = applicant("nobody%d@open.example" % n, program_id=ctx["open"]["id"])
        body["recruitment_code"] = code
        plain = expect(srv.post(SIGNUP, body), 201)["partner"]
        assert plain["recruited_by_id"] is None, plain
        assert audit(srv, "partner.signup", plain["id"])[0]["detail"] is None
    ctx["olga"] = host


def refused(srv, body, status, field, message):
    before = db_counts(srv, TABLES)
    r = expect(srv.post(SIGNUP, body), status, field=field)
    assert re.search(message, r["error"]["message"]), r
    assert db_counts(srv, TABLES) == before, "a refused sign-up changed nothing"
    return r


def test_an_unknown_or_malformed_code_is_refused_naming_the_field(srv, ctx):
    for code in ("zzzzzzzzzzzz", "23456789abcd", "not a code!", "a" * 64, ctx["a"]["id"]):
        refused(srv, applicant("unknown@codes.example", recruitment_code=code), 400, "recruitment_code",
                "no such recruitment code")
    # Also with a program named: the code is still unknown.
    refused(srv, applicant("unknown@codes.example", program_id=ctx["prog"]["id"], recruitment_code="zzzzzzzzzzzz"),
            400, "recruitment_code", "no such recruitment code")
    r = refused(srv, applicant("unknown@codes.example", recruitment_code="b" * 65), 400, "recruitment_code", "")
    assert "longer than 64" in r["error"]["message"], r


def test_a_recruiter_that_is_not_active_recruits_nobody(srv, ctx):
    """The sign-up is refused (403 naming recruitment_code), not taken without a recruiter: the applicant learns
    that the link no longer works and can apply without it, and nobody's recruit is silently lost."""
    cases = []
    sus = partner(srv, ctx, "Sam Suspended", "sam@suspended.example")
    expect(srv.post(PARTNERS + "/" + sus["id"] + "/suspend", {"reason": "under review"}, key=ctx["admin"]), 200)
    ban = partner(srv, ctx, "Ben Banned", "ben@banned.example")
    expect(srv.post(PARTNERS + "/" + ban["id"] + "/ban", {"reason": "fraud"}, key=ctx["admin"]), 200)
    app = partner(srv, ctx, "Ann Applied", "ann@applied.example", status="applied")
    cases = [sus, ban, app]
    for p in cases:
        r = refused(srv, applicant("late@recruits.example", recruitment_code=p["recruitment_code"]), 403,
                    "recruitment_code", "cannot recruit")
        # The answer does not tell a stranger why (suspended, banned or not yet approved).
        for word in ("suspended", "banned", "applied", "approv"):
            assert word not in r["error"]["message"], r
    # Without the code the same person can apply.
    plain = expect(srv.post(SIGNUP, applicant("late@recruits.example", program_id=ctx["prog"]["id"])), 201)
    assert plain["partner"]["recruited_by_id"] is None
    # Once reactivated, the suspended partner's link works again (the same code).
    back = expect(srv.post(PARTNERS + "/" + sus["id"] + "/activate", key=ctx["admin"]), 200)
    assert back["recruitment_code"] == sus["recruitment_code"] and back["recruitment_url"], back
    joined = expect(srv.post(SIGNUP, applicant("again@recruits.example", recruitment_code=sus["recruitment_code"])),
                    201)
    assert joined["partner"]["recruited_by_id"] == sus["id"], joined


def test_a_recruiter_of_another_program_recruits_nobody_there(srv, ctx):
    refused(srv, applicant("cross@programs.example", program_id=ctx["open"]["id"],
                           recruitment_code=ctx["a"]["recruitment_code"]), 400, "recruitment_code",
            "another program")
    # The program's own setting still comes first: a program that takes no applications takes no recruits.
    closed = expect(srv.post("/api/v1/programs", {"name": "Closed", "currency": "usd", "partner_signup": "off"},
                             key=ctx["admin"]), 201)
    insider = partner(srv, ctx, "Ivan Insider", "ivan@closed.example", prog=closed)
    refused(srv, applicant("shut@out.example", recruitment_code=insider["recruitment_code"]), 403, "program_id",
            "does not take applications")


def test_cycle_checks_still_hold_for_recruits(srv, ctx):
    a, b = ctx["a"], ctx["b"]
    # B was recruited by A: A cannot become B's recruit, nor R (further up) C's.
    r = expect(srv.patch(PARTNERS + "/" + a["id"], {"recruited_by_id": b["id"]}, key=ctx["admin"]), 409,
               field="recruited_by_id")
    assert "cycle" in r["error"]["message"], r
    expect(srv.patch(PARTNERS + "/" + ctx["r"]["id"], {"recruited_by_id": b["id"]}, key=ctx["admin"]), 409,
           field="recruited_by_id")
    # An admin's change of a recruiter is in the audit trail, from and to.
    moved = expect(srv.patch(PARTNERS + "/" + b["id"], {"recruited_by_id": ctx["r"]["id"]}, key=ctx["admin"]), 200)
    assert moved["recruited_by_id"] == ctx["r"]["id"]
    details = [json.loads(e["detail"]) for e in audit(srv, "partner.update", b["id"]) if e["detail"]]
    assert details == [{"recruited_by_id": {"from": a["id"], "to": ctx["r"]["id"]}}], details
    # A partner cannot name its recruiter itself.
    expect(srv.patch(PARTNERS + "/" + a["id"], {"recruited_by_id": None}, key=ctx["a_key"]), 403,
           field="recruited_by_id")


def test_the_migration_gives_existing_partners_their_codes(srv, ctx):
    """A database made before recruitment codes (migrations up to 0009, with partners in it) gets a distinct code
    for every partner when `refd migrate` applies 0010, and the API shows them."""
    tmp = tempfile.mkdtemp(prefix="refd-recruit-")
    try:
        db = os.path.join(tmp, "old.db")
        conn = sqlite3.connect(db)
        conn.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                     "applied_at INTEGER NOT NULL) STRICT")
        for f in sorted(os.listdir(MIGRATIONS)):
            if not f.endswith(".sql"):
                continue  # postgres/ holds PostgreSQL's own variants
            version = int(f.split("_", 1)[0])
            if version >= 10:
                continue
            conn.executescript(open(os.path.join(MIGRATIONS, f)).read())
            conn.execute("INSERT INTO schema_migrations VALUES (?, ?, 0)", (version, f[5:-3]))
        conn.execute("INSERT INTO programs (id, name, currency, cookie_window_days, attribution_model, "
                     "holding_period_days, payout_threshold, tracking_params, created_at, updated_at) "
                     "VALUES ('prg_old', 'Old', 'USD', 90, 'last_click', 30, 0, '[\"via\"]', 0, 0)")
        for i in range(300):
            conn.execute("INSERT INTO partners (id, program_id, kind, status, name, email, currency, cost_per_lead, "
                         "cost_per_lead_currency, created_at, updated_at) VALUES (?, 'prg_old', 'partner', "
                         "'active', ?, ?, 'USD', 0, 'USD', 0, 0)", ("ptn_old%03d" % i, "Old %d" % i,
                                                                    "old%d@old.example" % i))
        conn.commit()
        conn.close()
        p = subprocess.run([BINARY, "migrate", "--db", db], capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr
        conn = sqlite3.connect(db)
        codes = [r[0] for r in conn.execute("SELECT recruitment_code FROM partners")]
        assert len(codes) == 300 and all(c and CODE.match(c) for c in codes), codes[:5]
        assert len(set(codes)) == 300, "every partner has its own code"
        # The column keeps its invariants: a code is required, unique, and never changes.
        for sql in ("INSERT INTO partners (id, program_id, kind, status, name, email, currency, cost_per_lead, "
                    "cost_per_lead_currency, created_at, updated_at) VALUES ('ptn_new', 'prg_old', 'partner', "
                    "'active', 'New', 'new@old.example', 'USD', 0, 'USD', 0, 0)",
                    "UPDATE partners SET recruitment_code = '%s' WHERE id = 'ptn_old001'" % codes[0],
                    "UPDATE partners SET recruitment_code = 'abcdefghjkmn' WHERE id = 'ptn_old001'"):
            try:
                conn.execute(sql)
                raise AssertionError("accepted: " + sql)
            except sqlite3.IntegrityError:
                pass
        conn.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
