# SPDX-License-Identifier: Apache-2.0
"""The holding-period job on several processes: three refd processes on one PostgreSQL database, each running the
job every 50 ms, and hundreds of pending entries whose holding period ends at the same moment for all of them (their
clocks are moved together, which also wakes each job at once). Each entry must be approved exactly once (one
history entry, by the job), no job run may fail because another process approved the same entries (the job takes
its entries with FOR UPDATE SKIP LOCKED), the report's approved figure must be the sum of the entries, and the
rollups kept on write must equal their rebuild."""
import threading
import time

import harness
from harness import db_rows, expect, set_clocks

DATABASES = ("postgres",)
WHY_ONLY = "it runs the job in several refd processes on one database, and only PostgreSQL serves several processes"

PROGRAMS = "/api/v1/programs"
PARTNERS = "/api/v1/partners"
PLANS = "/api/v1/plans"
SALES = "/api/v1/sales"
SUMMARY = "/api/v1/reports/summary"
DAY_MS = 86400000
# Sales per round, three entries each (the partner's and two levels of overrides). The last round holds more
# entries than one run of the job takes (500), so that the processes also share out one round's entries.
ROUNDS = [40] * 6 + [200]
JOB_ARGS = ["--jobs-interval-ms", "50"]
ALL_TIME = "from=%s&to=%s" % (time.strftime("%Y-%m-%d", time.gmtime(time.time() - 5 * 365 * 86400)),
                              time.strftime("%Y-%m-%d", time.gmtime(time.time() + 365 * 86400)))


def make_server():
    return harness.Refd(extra_args=JOB_ARGS).start()


def setup(srv):
    procs = [srv, srv.sibling(), srv.sibling()]
    admin = srv.admin_key()
    ctx = {"procs": procs, "admin": admin, "n": 0, "offset": 0}
    prog = expect(srv.post(PROGRAMS, {"name": "Holding", "currency": "usd", "holding_period_days": 1}, key=admin), 201)
    ctx["prog"] = prog["id"]
    expect(srv.post(PLANS, {"program_id": prog["id"], "name": "Overrides", "default": True,
                            "rules": {"sale_bps": 1000, "override_bps": [1000, 500]}}, key=admin), 201)

    def partner(name, recruiter=None):
        body = {"program_id": prog["id"], "name": name, "email": name.lower() + "@holding.example"}
        if recruiter:
            body["recruited_by_id"] = recruiter
        return expect(srv.post(PARTNERS, body, key=admin), 201)["id"]

    top = partner("Top")
    middle = partner("Middle", top)
    ctx["leaves"] = [partner("Leaf%d" % i, middle) for i in range(4)]
    return ctx


def make_sales(ctx, count):
    """count sales spread over the processes from several threads; returns their entries {id: amount}."""
    jobs = []
    for i in range(count):
        ctx["n"] += 1
        jobs.append((ctx["procs"][i % len(ctx["procs"])], ctx["leaves"][i % len(ctx["leaves"])], ctx["n"]))
    entries, errors = {}, []
    lock = threading.Lock()

    def work(part):
        try:
            for srv, leaf, n in part:
                s = expect(srv.post(SALES, {"program_id": ctx["prog"], "amount": {"amount": 1000 + n, "currency": "usd"},
                                            "partner_id": leaf, "external_id": "hold-inv-%05d" % n,
                                            "email": "buyer%05d@customers.example" % n}, key=ctx["admin"]), 201)
                assert len(s["commissions"]) == 3 and all(c["status"] == "pending" for c in s["commissions"]), s
                with lock:
                    entries.update((c["id"], c["amount"]["amount"]) for c in s["commissions"])
        except Exception as e:  # noqa: BLE001 - raised in the test's thread
            errors.append(e)

    threads = [threading.Thread(target=work, args=(jobs[k::4],)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return entries


def pending(srv, ctx):
    return db_rows(srv, "SELECT count(*) AS n FROM commissions WHERE program_id = ? AND status = 'pending'",
                   (ctx["prog"],))[0]["n"]


def job_lines(srv, msg):
    return [l for l in srv.logs() if l.get("msg") == msg]


def test_the_job_in_three_processes_approves_each_entry_once(srv, ctx):
    procs = ctx["procs"]
    everything = {}
    for rnd, count in enumerate(ROUNDS):
        entries = make_sales(ctx, count)
        everything.update(entries)
        # None is due yet: the holding period is a day.
        time.sleep(0.2)
        assert pending(srv, ctx) == len(entries), "round %d: entries approved before their holding period" % rnd
        # A day and a bit later for every process at once: each one's job wakes and finds the same entries due.
        ctx["offset"] += DAY_MS + 3600000
        set_clocks(procs, ctx["offset"])
        deadline = time.time() + 60
        while pending(srv, ctx):
            assert time.time() < deadline, "round %d: %d entries still pending a minute after they fell due" % (
                rnd, pending(srv, ctx))
            time.sleep(0.05)
    ids = list(everything)
    rows = db_rows(srv, "SELECT c.id, c.status, (SELECT count(*) FROM commission_events e WHERE e.commission_id = "
                        "c.id AND e.to_status = 'approved') AS approvals, (SELECT min(actor) FROM commission_events e "
                        "WHERE e.commission_id = c.id AND e.to_status = 'approved') AS actor FROM commissions c "
                        "WHERE c.program_id = ?", (ctx["prog"],))
    assert sorted(r["id"] for r in rows) == sorted(ids)
    wrong = [r for r in rows if r["status"] != "approved" or r["approvals"] != 1 or r["actor"] != "system:holding"]
    assert not wrong, "%d of %d entries not approved exactly once by the job, e.g. %r" % (len(wrong), len(rows),
                                                                                         wrong[:5])
    # Who did the work: each process logs how many it approved. Every entry is counted once across them.
    done = [sum(l["count"] for l in job_lines(p, "commissions approved after their holding period")) for p in procs]
    print("     %d entries approved, by process: %r" % (len(ids), done), flush=True)
    assert sum(done) == len(ids), "the processes approved %r entries in all, want %d" % (done, len(ids))
    failed = [(i, l) for i, p in enumerate(procs) for l in job_lines(p, "holding-period job failed")]
    assert not failed, "%d job runs failed while the processes approved the same entries, e.g. %r" % (
        len(failed), failed[:3])
    body = expect(srv.get(SUMMARY + "?program_id=%s&%s" % (ctx["prog"], ALL_TIME), key=ctx["admin"]), 200)
    approved = {c["currency"]: c["approved"]["amount"] for c in body["commissions"]}
    assert approved == {"usd": sum(everything.values())}, (approved, sum(everything.values()))


def test_the_rollups_equal_their_rebuild(srv, ctx):
    tables = {"rollup_entity": "program_id, entity, currency, day", "rollup_daily": "program_id, dim, currency, day",
              "rollup_keys": "program_id, entity, currency", "rollup_volume": "program_id"}

    def snap():
        return {t: {tuple(sorted(r.items())) for r in db_rows(srv, "SELECT * FROM %s ORDER BY %s" % (t, o))}
                for t, o in tables.items()}
    written = snap()
    srv.cli("rollups", "rebuild")
    rebuilt = snap()
    diffs = []
    for t in tables:
        diffs += ["%s kept on write only: %r" % (t, dict(r)) for r in sorted(written[t] - rebuilt[t])[:5]]
        diffs += ["%s rebuilt only:       %r" % (t, dict(r)) for r in sorted(rebuilt[t] - written[t])[:5]]
    assert not diffs, "\n  ".join(["rollups kept on write differ from the rebuild:"] + diffs)


def test_every_process_stops_cleanly(srv, ctx):
    for sib in srv.siblings:
        assert sib.stop() == 0, "a sibling refd exited with %s" % sib.proc.returncode
