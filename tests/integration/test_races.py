# SPDX-License-Identifier: Apache-2.0
"""Invariants under concurrency across processes: two refd processes on one PostgreSQL database (as behind a load
balancer) receive conflicting requests at the same moment, round after round, and each invariant holds by the
database's constraints and row locks, never by one process serializing its own requests:

- one enabled owner always remains: two owners demote or disable each other (or an owner key both of them) at once;
- one lead per normalised email per program: the same address, spelt differently, sent to both at once;
- one sale per invoice id: the same sale sent to both at once;
- a commission changes status once and counts once in the rollups: the same entry approved on both at once, and
  two entries of one program approved at once;
- a payout run takes each commission once: two runs drafted, then approved, at once on different processes;
- a sale is given back once: two refunds of what is left of it sent to both at once;
- an Idempotency-Key answers one request: the same keyed request sent to both at once.

Every round releases its requests together with a barrier, each on a connection opened beforehand (harness.race),
and alternates which process gets which request. The rollups kept on write must equal `refd rollups rebuild`."""
import time

import harness
from harness import db_rows, expect, race

DATABASES = ("postgres",)
WHY_ONLY = "it races several refd processes on one database, and only PostgreSQL serves several processes"

PROGRAMS = "/api/v1/programs"
PARTNERS = "/api/v1/partners"
PLANS = "/api/v1/plans"
USERS = "/api/v1/users"
LEADS = "/api/v1/leads"
SALES = "/api/v1/sales"
REFUNDS = "/api/v1/refunds"
COMMS = "/api/v1/commissions"
RUNS = "/api/v1/payout-runs"
SUMMARY = "/api/v1/reports/summary"
# Every day of the tests: from five years ago to a year ahead (a report takes at most ten years).
ALL_TIME = "from=%s&to=%s" % (time.strftime("%Y-%m-%d", time.gmtime(time.time() - 5 * 365 * 86400)),
                              time.strftime("%Y-%m-%d", time.gmtime(time.time() + 365 * 86400)))
ROUNDS = 30
PW = "correct horse battery staple"
ROLLUP_TABLES = {
    "rollup_entity": "program_id, entity, currency, day",
    "rollup_daily": "program_id, dim, currency, day",
    "rollup_keys": "program_id, entity, currency",
    "rollup_volume": "program_id",
}


def make_server():
    return harness.Refd().start()


def money(amount, cur="usd"):
    return {"amount": amount, "currency": cur}


def setup(srv):
    other = srv.sibling()
    admin = srv.admin_key()
    ctx = {"procs": (srv, other), "admin": admin, "n": 0}
    # A program whose entries stay pending (only a person approves them here) and pay out from the first cent.
    prog = expect(srv.post(PROGRAMS, {"name": "Races", "currency": "usd", "holding_period_days": 365,
                                      "payout_threshold": money(0)}, key=admin), 201)
    ctx["prog"] = prog["id"]
    expect(srv.post(PLANS, {"program_id": prog["id"], "name": "Flat and overrides", "default": True,
                            "rules": {"sale_bps": 1000, "override_bps": [1000]}}, key=admin), 201)
    recruiter = expect(other.post(PARTNERS, {"program_id": prog["id"], "name": "Recruiter",
                                             "email": "recruiter@races.example"}, key=admin), 201)
    ctx["partners"] = [expect(srv.post(PARTNERS, {"program_id": prog["id"], "name": "Racer %d" % i,
                                                  "email": "racer%d@races.example" % i,
                                                  "recruited_by_id": recruiter["id"]}, key=admin), 201)["id"]
                       for i in range(3)]
    ctx["recruiter"] = recruiter["id"]
    return ctx


def pair(ctx, rnd):
    """The two processes, in the order of this round: which one gets the first request alternates."""
    a, b = ctx["procs"]
    return (a, b) if rnd % 2 == 0 else (b, a)


def sale(ctx, srv, partner, amount):
    """A sale credited to partner, sent to srv; returns its commission entries (the partner's and its recruiter's
    override)."""
    ctx["n"] += 1
    s = expect(srv.post(SALES, {"program_id": ctx["prog"], "amount": money(amount), "partner_id": partner,
                                "external_id": "race-inv-%05d" % ctx["n"],
                                "email": "buyer%05d@customers.example" % ctx["n"]}, key=ctx["admin"]), 201)
    assert len(s["commissions"]) == 2, s
    for c in s["commissions"]:
        c["sale_id"] = s["id"]
    return s["commissions"]


def approved_events(srv, ids):
    """{commission id: how many times its history says it became approved}."""
    if not ids:
        return {}
    marks = ", ".join("?" for _ in ids)
    rows = db_rows(srv, "SELECT commission_id, count(*) AS n FROM commission_events WHERE to_status = 'approved' "
                        "AND commission_id IN (%s) GROUP BY commission_id" % marks, tuple(ids))
    got = {r["commission_id"]: r["n"] for r in rows}
    return {i: got.get(i, 0) for i in ids}


def summary_commissions(srv, ctx):
    """The program's summary over all its days: {currency: {earned, approved, paid}} in minor units."""
    body = expect(srv.get(SUMMARY + "?program_id=%s&%s" % (ctx["prog"], ALL_TIME),
                          key=ctx["admin"]), 200)
    return {c["currency"]: {k: c[k]["amount"] for k in ("earned", "approved", "paid")} for c in body["commissions"]}


def rollups(srv):
    return {t: db_rows(srv, "SELECT * FROM %s ORDER BY %s" % (t, order)) for t, order in ROLLUP_TABLES.items()}


def rollups_match_rebuild(srv):
    """The rollups kept on write, compared with what `refd rollups rebuild` computes from the raw tables; returns
    the differences (an empty list when they agree)."""
    written = rollups(srv)
    srv.cli("rollups", "rebuild")
    rebuilt = rollups(srv)
    diffs = []
    for t in ROLLUP_TABLES:
        w = {tuple(sorted(r.items())) for r in written[t]}
        b = {tuple(sorted(r.items())) for r in rebuilt[t]}
        diffs += ["%s kept on write only: %r" % (t, dict(r)) for r in sorted(w - b)[:5]]
        diffs += ["%s rebuilt only:       %r" % (t, dict(r)) for r in sorted(b - w)[:5]]
    return diffs


# ---- one owner always remains ----

def owners(srv):
    return [r["id"] for r in db_rows(srv, "SELECT id FROM users WHERE role = 'owner' AND disabled_at = 0")]


def owner_pair(srv, ctx):
    """Two owner users (made once), and an owner API key that belongs to no user."""
    if "o1" not in ctx:
        ctx["owner_key"] = srv.admin_key(role="owner", name="owner key")
        for name in ("o1", "o2"):
            srv.add_user("%s@owners.example" % name, "owner", password=PW)
        by_email = {u["email"]: u["id"] for u in expect(srv.get(USERS + "?limit=100", key=ctx["owner_key"]),
                                                        200)["data"]}
        ctx["o1"], ctx["o2"] = by_email["o1@owners.example"], by_email["o2@owners.example"]
    return ctx["o1"], ctx["o2"]


# What an owner may do to another that would leave it no longer an enabled owner, and the field a refusal names.
DEMOTE = ({"role": "admin"}, "role")
DISABLE = ({"disabled": True}, "disabled")


def restore(srv, ctx, uid):
    expect(srv.patch(USERS + "/" + uid, {"role": "owner", "disabled": False}, key=ctx["owner_key"]), 200)


def check_one_owner_left(srv, ctx, answers, targets, rnd, allowed_refusals):
    """Exactly one of the two changes went through (200), the other was refused with a clear 4xx, and the owner it
    would have removed is the one that remains."""
    statuses = [a.status for a in answers]
    assert 200 in statuses and statuses.count(200) == 1, "round %d: %r" % (rnd, answers)
    left = owners(srv)
    assert len(left) == 1, "round %d: enabled owners after the race: %r (answers %r)" % (rnd, left, answers)
    won = statuses.index(200)
    lost = 1 - won
    assert left == [targets[lost]], "round %d: the owner left is %r, want the one whose change was refused (%r)" % (
        rnd, left, targets[lost])
    refusal = answers[lost]
    assert refusal.status in allowed_refusals, "round %d: the refused change answered %r" % (rnd, refusal)
    if refusal.status == 409:
        err = refusal.json["error"]
        assert err["type"] and "last enabled owner" in err["message"], refusal
    return targets[won], refusal.status


def test_an_owner_key_removing_both_owners_at_once_leaves_one(srv, ctx):
    """An owner key (no user of its own) demotes or disables both owners at once, one request per process: one
    change goes through and the other is refused with 409 naming the field, every round."""
    o1, o2 = owner_pair(srv, ctx)
    variants = [(DEMOTE, DEMOTE), (DISABLE, DISABLE), (DEMOTE, DISABLE), (DISABLE, DEMOTE)]
    for rnd in range(ROUNDS):
        a, b = pair(ctx, rnd)
        (body1, field1), (body2, field2) = variants[rnd % len(variants)]
        answers = race([(a, "PATCH", USERS + "/" + o1, {"body": body1, "key": ctx["owner_key"]}),
                        (b, "PATCH", USERS + "/" + o2, {"body": body2, "key": ctx["owner_key"]})])
        changed, _ = check_one_owner_left(srv, ctx, answers, (o1, o2), rnd, (409,))
        refused = answers[1 if answers[0].status == 200 else 0]
        want_field = field2 if refused is answers[1] else field1
        assert refused.json["error"]["field"] == want_field, "round %d: %r" % (rnd, refused)
        restore(srv, ctx, changed)
        assert sorted(owners(srv)) == sorted([o1, o2])


def test_two_owners_removing_each_other_at_once_leave_one(srv, ctx):
    """Owner 1 signed in on one process and owner 2 on the other demote or disable each other at the same moment:
    one wins; the other is refused: 409 (the last owner) when its request was authenticated before the winner
    committed, 401 (its sessions ended) or 403 (no longer an owner) when after. Each round signs the demoted owner
    in again (its sessions ended)."""
    o1, o2 = owner_pair(srv, ctx)
    sessions = {o1: srv.login("o1@owners.example", PW), o2: srv.login("o2@owners.example", PW)}
    emails = {o1: "o1@owners.example", o2: "o2@owners.example"}
    variants = [(DEMOTE, DEMOTE), (DISABLE, DISABLE), (DEMOTE, DISABLE)]
    refusals = {}
    for rnd in range(ROUNDS // 2):
        a, b = pair(ctx, rnd)
        (body1, _), (body2, _) = variants[rnd % len(variants)]
        # Owner 1 changes owner 2 on one process while owner 2 changes owner 1 on the other.
        answers = race([(a, "PATCH", USERS + "/" + o2, {"body": body1, "session": sessions[o1]}),
                        (b, "PATCH", USERS + "/" + o1, {"body": body2, "session": sessions[o2]})])
        changed, refusal = check_one_owner_left(srv, ctx, answers, (o2, o1), rnd, (401, 403, 409))
        refusals[refusal] = refusals.get(refusal, 0) + 1
        restore(srv, ctx, changed)
        sessions[changed] = srv.login(emails[changed], PW)
    print("     refusals by status: %r" % refusals, flush=True)


# ---- one lead per normalised email per program ----

def test_the_same_email_sent_to_both_processes_at_once_makes_one_lead(srv, ctx):
    """The same address with other letter case and spaces, POSTed to both processes at once: one lead is created
    (201), the other request answers it as the existing lead (200, duplicate), and both name the same lead."""
    before = db_rows(srv, "SELECT count(*) AS n FROM leads WHERE program_id = ?", (ctx["prog"],))[0]["n"]
    for rnd in range(ROUNDS):
        a, b = pair(ctx, rnd)
        spellings = ("  Lead.Race%02d@Example.COM " % rnd, "lead.race%02d@example.com" % rnd)
        calls = [(p, "POST", LEADS, {"body": {"program_id": ctx["prog"], "email": e, "partner_id": ctx["partners"][0]},
                                     "key": ctx["admin"]}) for p, e in zip((a, b), spellings)]
        answers = race(calls)
        assert sorted(r.status for r in answers) == [200, 201], "round %d: %r" % (rnd, answers)
        ids = {r.json["id"] for r in answers}
        assert len(ids) == 1, "round %d: two leads for one person: %r" % (rnd, answers)
        dup = [r for r in answers if r.status == 200][0]
        assert dup.json.get("duplicate") is True, dup
        rows = db_rows(srv, "SELECT id FROM leads WHERE program_id = ? AND email = ?",
                       (ctx["prog"], "lead.race%02d@example.com" % rnd))
        assert [r["id"] for r in rows] == list(ids), "round %d: leads stored: %r" % (rnd, rows)
    after = db_rows(srv, "SELECT count(*) AS n FROM leads WHERE program_id = ?", (ctx["prog"],))[0]["n"]
    assert after - before == ROUNDS, (before, after)
    body = expect(srv.get(SUMMARY + "?program_id=%s&%s" % (ctx["prog"], ALL_TIME),
                          key=ctx["admin"]), 200)
    leads = db_rows(srv, "SELECT count(*) AS n FROM leads WHERE program_id = ?", (ctx["prog"],))[0]["n"]
    assert body["leads"] == leads, "the report counts %d leads, the program has %d" % (body["leads"], leads)


# ---- one sale per invoice id ----

def test_the_same_invoice_sent_to_both_processes_at_once_makes_one_sale(srv, ctx):
    """The same sale (same external_id), sent to both processes at once: one 201, one 200 with the same sale and
    duplicate true; one sale stored, with its two commissions once."""
    for rnd in range(ROUNDS):
        a, b = pair(ctx, rnd)
        body = {"program_id": ctx["prog"], "amount": money(4000 + rnd), "partner_id": ctx["partners"][rnd % 3],
                "external_id": "race-same-inv-%02d" % rnd, "email": "same-buyer%02d@customers.example" % rnd}
        answers = race([(p, "POST", SALES, {"body": body, "key": ctx["admin"]}) for p in (a, b)])
        assert sorted(r.status for r in answers) == [200, 201], "round %d: %r" % (rnd, answers)
        assert answers[0].json["id"] == answers[1].json["id"], "round %d: %r" % (rnd, answers)
        assert [r for r in answers if r.status == 200][0].json.get("duplicate") is True, answers
        rows = db_rows(srv, "SELECT id FROM sales WHERE external_id = ?", (body["external_id"],))
        assert [r["id"] for r in rows] == [answers[0].json["id"]], "round %d: %r" % (rnd, rows)
        coms = db_rows(srv, "SELECT count(*) AS n FROM commissions WHERE sale_id = ?", (rows[0]["id"],))
        assert coms[0]["n"] == 2, "round %d: %r commissions for one sale, want 2" % (rnd, coms)


# ---- an Idempotency-Key answers one request ----

def test_the_same_idempotency_key_sent_to_both_processes_at_once_answers_one_request(srv, ctx):
    """The same keyed request, sent to both processes at once: one lead, both answers identical (status and body),
    the replay marked Idempotent-Replayed, and one stored key."""
    for rnd in range(ROUNDS):
        a, b = pair(ctx, rnd)
        key = "race-key-%02d" % rnd
        body = {"program_id": ctx["prog"], "email": "keyed%02d@example.com" % rnd, "name": "Keyed %d" % rnd}
        kw = {"body": body, "key": ctx["admin"], "headers": {"Idempotency-Key": key}}
        answers = race([(a, "POST", LEADS, kw), (b, "POST", LEADS, kw)])
        assert [r.status for r in answers] == [201, 201], "round %d: %r" % (rnd, answers)
        assert answers[0].body == answers[1].body, "round %d: the answers differ:\n  %s\n  %s" % (
            rnd, answers[0].body, answers[1].body)
        replayed = [r.header("Idempotent-Replayed") for r in answers]
        assert sorted(replayed, key=str) == sorted([None, "true"], key=str), \
            "round %d: Idempotent-Replayed %r, want it on exactly one answer" % (rnd, replayed)
        rows = db_rows(srv, "SELECT id FROM leads WHERE program_id = ? AND email = ?", (ctx["prog"], body["email"]))
        assert [r["id"] for r in rows] == [answers[0].json["id"]], "round %d: %r" % (rnd, rows)
        keys = db_rows(srv, "SELECT count(*) AS n FROM idempotency WHERE key = ?", (key,))
        assert keys[0]["n"] == 1, "round %d: %r" % (rnd, keys)


# ---- a commission is approved once and counts once ----

def test_one_commission_approved_on_both_processes_at_once_is_approved_once(srv, ctx):
    """The same entry approved on both processes at once: one 200, one 409 naming status (docs/COMMISSIONS.md: an
    approved entry cannot be approved), one history entry; meanwhile two other entries of the program approved at
    once on the two processes both go through. The report's approved figure counts each entry once, the partners'
    balances agree, and the rollups equal their rebuild."""
    approved = {}
    for rnd in range(ROUNDS):
        a, b = pair(ctx, rnd)
        ptn = ctx["partners"][rnd % len(ctx["partners"])]
        direct, override = sale(ctx, a, ptn, 1000 + rnd)
        answers = race([(p, "POST", COMMS + "/" + direct["id"] + "/approve", {"body": {}, "key": ctx["admin"]})
                        for p in (a, b)])
        assert sorted(r.status for r in answers) == [200, 409], "round %d: %r" % (rnd, answers)
        refused = [r for r in answers if r.status == 409][0]
        assert refused.json["error"]["field"] == "status", refused
        ok = [r for r in answers if r.status == 200][0].json
        assert ok["status"] == "approved" and [h["to"] for h in ok["history"]].count("approved") == 1, ok
        approved[direct["id"]] = direct["amount"]["amount"]
        # Two different entries at once (the override of this sale and the direct entry of another): both pass,
        # each counted once in the program's rollups, which both transactions add to.
        other, _ = sale(ctx, b, ctx["partners"][(rnd + 1) % len(ctx["partners"])], 700 + rnd)
        answers = race([(a, "POST", COMMS + "/" + override["id"] + "/approve", {"body": {}, "key": ctx["admin"]}),
                        (b, "POST", COMMS + "/" + other["id"] + "/approve", {"body": {}, "key": ctx["admin"]})])
        assert [r.status for r in answers] == [200, 200], "round %d: %r" % (rnd, answers)
        approved[override["id"]] = override["amount"]["amount"]
        approved[other["id"]] = other["amount"]["amount"]
    events = approved_events(srv, list(approved))
    twice = {k: v for k, v in events.items() if v != 1}
    assert not twice, "entries whose history does not say approved exactly once: %r" % twice
    got = summary_commissions(srv, ctx)["usd"]["approved"]
    stored = db_rows(srv, "SELECT sum(amount) AS s FROM commissions WHERE program_id = ? AND status = 'approved'",
                     (ctx["prog"],))[0]["s"]
    assert stored == sum(approved.values()), (stored, sum(approved.values()))
    assert got == stored, "the report's approved figure is %d, the approved entries sum to %d" % (got, stored)
    balances = sum(c["approved"]["amount"] for p in ctx["partners"] + [ctx["recruiter"]]
                   for c in expect(srv.get(PARTNERS + "/" + p + "/balance", key=ctx["admin"]), 200)["balances"]
                   if c["currency"] == "usd")
    assert balances == stored, (balances, stored)
    diffs = rollups_match_rebuild(srv)
    assert not diffs, "rollups kept on write differ from the rebuild:\n  " + "\n  ".join(diffs)


# ---- a payout run takes each commission once ----

def test_two_runs_drafted_and_approved_at_once_on_two_processes_take_each_entry_once(srv, ctx):
    """Each round: new approved entries, two runs drafted at once on the two processes (both drafts hold the same
    entries), then approved at once on the two processes: one 200, the other 409 naming status and still a draft;
    every entry is locked once, by the winner."""
    admin = ctx["admin"]
    # What earlier tests approved and no run holds yet is taken by a first run, so that each round starts clean.
    first = expect(srv.post(RUNS, {"program_id": ctx["prog"]}, key=admin), 201)
    expect(srv.post(RUNS + "/" + first["id"] + "/approve", key=admin), 200)
    for rnd in range(ROUNDS // 3 * 2):
        a, b = pair(ctx, rnd)
        entries = []
        for i, ptn in enumerate(ctx["partners"][: 1 + rnd % 3]):
            entries += sale(ctx, (a, b)[i % 2], ptn, 500 + 10 * rnd + i)
        for i, e in enumerate(entries):
            expect((a, b)[i % 2].post(COMMS + "/" + e["id"] + "/approve", {}, key=admin), 200)
        ids = sorted(e["id"] for e in entries)
        drafts = race([(p, "POST", RUNS, {"body": {"program_id": ctx["prog"]}, "key": admin}) for p in (a, b)])
        assert [d.status for d in drafts] == [201, 201], "round %d: %r" % (rnd, drafts)
        held = [sorted(db_rows(srv, "SELECT commission_id FROM payout_item_entries e JOIN payout_items i ON "
                                    "i.id = e.item_id WHERE i.run_id = ? ORDER BY 1", (d.json["id"],)),
                       key=lambda r: r["commission_id"]) for d in drafts]
        assert [r["commission_id"] for r in held[0]] == ids and held[0] == held[1], \
            "round %d: the drafts hold %r and %r, want %r" % (rnd, held[0], held[1], ids)
        run_ids = [d.json["id"] for d in drafts]
        # Each process approves the run the other drafted.
        answers = race([(a, "POST", RUNS + "/" + run_ids[1] + "/approve", {"key": admin}),
                        (b, "POST", RUNS + "/" + run_ids[0] + "/approve", {"key": admin})])
        assert sorted(r.status for r in answers) == [200, 409], "round %d: %r" % (rnd, answers)
        won = 0 if answers[0].status == 200 else 1
        winner, loser = run_ids[1 - won], run_ids[won]
        refused = answers[1 - won]
        assert refused.json["error"]["field"] == "status", refused
        locks = db_rows(srv, "SELECT commission_id, run_id FROM payout_locks WHERE commission_id IN (%s)" %
                        ", ".join("?" for _ in ids), tuple(ids))
        assert sorted(r["commission_id"] for r in locks) == ids, "round %d: locks %r, want each of %r once" % (
            rnd, locks, ids)
        assert {r["run_id"] for r in locks} == {winner}, "round %d: %r (winner %s)" % (rnd, locks, winner)
        assert expect(srv.get(RUNS + "/" + loser, key=admin), 200)["status"] == "draft"
        assert expect(srv.get(RUNS + "/" + winner, key=admin), 200)["status"] == "approved"
    dup = db_rows(srv, "SELECT commission_id, count(*) AS n FROM payout_locks GROUP BY commission_id "
                       "HAVING count(*) > 1")
    assert not dup, dup
    owed = db_rows(srv, "SELECT count(*) AS n FROM commissions c WHERE program_id = ? AND status = 'approved' AND "
                        "NOT EXISTS (SELECT 1 FROM payout_locks l WHERE l.commission_id = c.id)", (ctx["prog"],))
    assert owed[0]["n"] == 0, "approved entries that no run took: %r" % owed


# ---- a sale is given back once ----

def test_two_refunds_of_what_is_left_sent_at_once_give_it_back_once(srv, ctx):
    """Two refunds (different external ids) of all that is left of a sale, sent to both processes at once: one is
    recorded (201) and the other refused with 400 naming amount (nothing left to give back); the sale's refunded
    amount is its amount, and its commissions are reversed once, to the cent."""
    admin = ctx["admin"]
    for rnd in range(ROUNDS // 3 * 2):
        a, b = pair(ctx, rnd)
        entries = sale(ctx, a, ctx["partners"][rnd % len(ctx["partners"])], 3000 + rnd)
        sale_id = entries[0]["sale_id"]
        # Half the rounds start from a sale already partly refunded.
        if rnd % 2:
            expect(b.post(REFUNDS, {"sale_id": sale_id, "amount": money(1000), "external_id": "race-rf-%02d-0" % rnd},
                          key=admin), 201)
        answers = race([(p, "POST", REFUNDS, {"body": {"sale_id": sale_id, "external_id": "race-rf-%02d-%d" % (rnd, i),
                                                       "reason": "race"}, "key": admin})
                        for i, p in enumerate((a, b), 1)])
        assert sorted(r.status for r in answers) == [201, 400], "round %d: %r" % (rnd, answers)
        refused = [r for r in answers if r.status == 400][0]
        assert refused.json["error"]["field"] == "amount", refused
        stored = expect(srv.get(SALES + "/" + sale_id, key=admin), 200)
        assert stored["refunded"]["amount"] == stored["amount"]["amount"], "round %d: %r" % (rnd, stored)
        given = db_rows(srv, "SELECT coalesce(sum(amount), 0) AS s FROM refunds WHERE sale_id = ?", (sale_id,))
        assert given[0]["s"] == stored["amount"]["amount"], "round %d: refunds of %r for a sale of %r" % (
            rnd, given[0]["s"], stored["amount"]["amount"])
        for e in entries:
            net = db_rows(srv, "SELECT sum(amount) AS s FROM commissions WHERE id = ? OR reverses_id = ?",
                          (e["id"], e["id"]))[0]["s"]
            assert net == 0, "round %d: entry %s and its reversals add up to %r, want 0" % (rnd, e["id"], net)


def test_every_process_stops_cleanly(srv, ctx):
    """The sibling exits 0 on SIGTERM (run.py checks the first process the same way)."""
    for sib in srv.siblings:
        assert sib.stop() == 0, "a sibling refd exited with %s" % sib.proc.returncode
