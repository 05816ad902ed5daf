# SPDX-License-Identifier: Apache-2.0
"""Three refd processes on one PostgreSQL database, as behind a load balancer: redirects and API writes (leads with
an Idempotency-Key, sales with their invoice id) spread over them from several client threads, the holding-period
job running in all three, and one process SIGKILLed in the middle of the load. A client whose request the kill cut
off sends the same request again to another process, as a load balancer's retry would. Afterwards every
acknowledged click (302) and every lead and sale answered is in the database exactly once, each commission is
approved exactly once, the rollups equal their rebuild, and the two remaining processes go on serving. A link made
or changed through one process must also redirect through the others within a short time (the code table of each
process follows changes made by another)."""
import http.client
import threading
import time
import urllib.parse

import harness
from harness import browser_ua, db_rows, expect

DATABASES = ("postgres",)
WHY_ONLY = "it runs several refd processes on one database, and only PostgreSQL serves several processes"

PROGRAMS = "/api/v1/programs"
PARTNERS = "/api/v1/partners"
PLANS = "/api/v1/plans"
LINKS = "/api/v1/links"
LEADS = "/api/v1/leads"
SALES = "/api/v1/sales"
JOB_ARGS = ["--jobs-interval-ms", "100"]
REDIRECT_THREADS = 6
API_THREADS = 3
API_OPS = 60  # per API thread, leads and sales in turn
# How soon a link changed through one process must work through another: the change is announced (NOTIFY) and
# each process's watcher hears it in milliseconds; the version check once a second, which would also get there,
# must not be what the test sees.
FRESH_SECONDS = 0.5


def make_server():
    return harness.Refd(extra_args=JOB_ARGS).start()


def setup(srv):
    procs = [srv, srv.sibling(), srv.sibling()]
    admin = srv.admin_key()
    ctx = {"procs": procs, "admin": admin}
    # Entries fall due at once (no holding period): the jobs of all three processes approve them during the load.
    prog = expect(srv.post(PROGRAMS, {"name": "Multi", "currency": "usd", "holding_period_days": 0}, key=admin), 201)
    ctx["prog"] = prog["id"]
    expect(srv.post(PLANS, {"program_id": prog["id"], "name": "Sales and overrides", "default": True,
                            "rules": {"sale_bps": 1000, "override_bps": [500]}}, key=admin), 201)
    top = expect(srv.post(PARTNERS, {"program_id": prog["id"], "name": "Top", "email": "top@multi.example"},
                          key=admin), 201)["id"]
    ctx["partners"] = [expect(procs[i].post(PARTNERS, {"program_id": prog["id"], "name": "Partner %d" % i,
                                                       "email": "p%d@multi.example" % i, "recruited_by_id": top},
                                            key=admin), 201)["id"] for i in range(3)]
    ctx["codes"] = []
    for i, p in enumerate(ctx["partners"]):
        code = "multi-%d" % i
        expect(procs[i].post(LINKS, {"partner_id": p, "code": code, "destination_url": "https://shop.example/%d" % i},
                             key=admin), 201)
        ctx["codes"].append(code)
    return ctx


def location_of(resp):
    return resp.header("Location") or ""


def click_of(location):
    ids = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query).get("refd_click", [])
    return ids[0] if len(ids) == 1 else None


def wait_redirect(srv, code, want, seconds=FRESH_SECONDS):
    """Polls GET /r/{code} on srv until its answer satisfies want(response); returns (the seconds it took, the
    answer), the seconds being None when no answer did within the time allowed."""
    t0 = time.monotonic()
    last = None
    while time.monotonic() - t0 < seconds:
        last = srv.get("/r/" + code, headers={"User-Agent": browser_ua("fresh")})
        if want(last):
            return time.monotonic() - t0, last
        time.sleep(0.05)
    return None, last


def redirects_to(prefix):
    return lambda r: r.status == 302 and location_of(r).startswith(prefix)


def test_a_link_made_or_changed_through_one_process_redirects_through_the_others(srv, ctx):
    """A new link made through the first process redirects through the second and third within FRESH_SECONDS; a
    new destination set through the second is followed by the first and third as soon; and once the third
    archives it, the first and second stop redirecting it (404) as soon. Every process was already serving
    redirects, so each has a code table that must follow the change."""
    procs, admin = ctx["procs"], ctx["admin"]
    for p, code in zip(procs, ctx["codes"]):
        assert p.get("/r/" + code, headers={"User-Agent": browser_ua("warm")}).status == 302
    failures = []
    took = {}

    def seen_by(others, what, want):
        for i in others:
            secs, last = wait_redirect(procs[i], "fresh-code", want)
            took["%s, process %d" % (what, i)] = secs and round(secs, 2)
            if secs is None:
                failures.append("%s: process %d does not follow within %.1f s (its last answer %r)" % (
                    what, i, FRESH_SECONDS, last))

    link = expect(procs[0].post(LINKS, {"partner_id": ctx["partners"][0], "code": "fresh-code",
                                        "destination_url": "https://fresh.example/one"}, key=admin), 201)
    seen_by((1, 2), "a link made through process 0", redirects_to("https://fresh.example/one"))
    expect(procs[1].patch(LINKS + "/" + link["id"], {"destination_url": "https://fresh.example/two"}, key=admin), 200)
    seen_by((0, 2), "a destination changed through process 1", redirects_to("https://fresh.example/two"))
    expect(procs[2].patch(LINKS + "/" + link["id"], {"archived": True}, key=admin), 200)
    seen_by((0, 1), "a link archived through process 2", lambda r: r.status == 404)
    print("     seconds until the change was seen: %r" % took, flush=True)
    assert not failures, "\n".join(failures)


class Redirects:
    """Threads that send GET /r/<code> over keep-alive connections until stopped, each to its own process first
    and, when that one fails, to the next (a load balancer taking a dead server out); every 302 is noted with its
    click id, the process that answered and the time."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.stop = threading.Event()
        self.acks = []  # (time, process index, click id)
        self.other = []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, args=(i,), daemon=True) for i in range(REDIRECT_THREADS)]

    def run(self, i):
        procs = self.ctx["procs"]
        code = self.ctx["codes"][i % len(self.ctx["codes"])]
        ua = browser_ua("multi-%d" % i)
        target = i % len(procs)
        conn = None
        while not self.stop.is_set():
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", procs[target].port, timeout=10)
                conn.request("GET", "/r/" + code, headers={"User-Agent": ua})
                r = conn.getresponse()
                r.read()
                with self.lock:
                    if r.status == 302:
                        self.acks.append((time.monotonic(), target, click_of(r.getheader("Location") or "")))
                    else:
                        self.other.append((target, r.status))
            except (OSError, http.client.HTTPException):
                if conn is not None:
                    conn.close()
                conn = None
                target = (target + 1) % len(procs)
                time.sleep(0.005)
        if conn is not None:
            conn.close()

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def count(self, proc=None):
        with self.lock:
            return sum(1 for a in self.acks if proc is None or a[1] == proc)

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(20)
        assert not any(t.is_alive() for t in self.threads), "a redirect thread hangs"


class InFlight:
    """How many API requests each process has been sent and not yet answered."""

    def __init__(self, n):
        self.lock = threading.Lock()
        self.counts = [0] * n

    def add(self, i, d):
        with self.lock:
            self.counts[i] += d

    def at(self, i):
        with self.lock:
            return self.counts[i]


def send_with_failover(procs, first, method, path, body, key, headers=None, inflight=None):
    """Sends one request to procs[first], and on a connection failure (no answer) the same request to the next
    process, as a load balancer retries; returns (response, index of the process that answered, the failures
    before it: the names of their exceptions)."""
    target = first
    failures = []
    for _ in range(10):
        sent_to = target
        if inflight:
            inflight.add(sent_to, 1)
        try:
            return procs[sent_to].request(method, path, body=body, key=key, headers=headers), sent_to, failures
        except (OSError, http.client.HTTPException) as e:
            failures.append(type(e).__name__)
        finally:
            if inflight:
                inflight.add(sent_to, -1)
        target = (target + 1) % len(procs)
        time.sleep(0.01)
    raise AssertionError("no process answered %s %s: %r" % (method, path, failures))


def test_three_processes_under_load_with_one_killed_lose_and_double_nothing(srv, ctx):
    procs, admin = ctx["procs"], ctx["admin"]
    victim = 2
    redirects = Redirects(ctx).start()
    results = []  # (kind, name, response, process, attempts)
    errors = []
    done = [0]
    lock = threading.Lock()

    def api(k):
        try:
            for j in range(API_OPS):
                name = "%d-%03d" % (k, j)
                ptn = ctx["partners"][(k + j) % len(ctx["partners"])]
                if j % 2 == 0:
                    args = ("POST", LEADS, {"program_id": ctx["prog"], "email": "mp-lead-%s@example.com" % name,
                                            "partner_id": ptn}, admin, {"Idempotency-Key": "mp-lead-" + name})
                    kind = "lead"
                else:
                    args = ("POST", SALES, {"program_id": ctx["prog"], "external_id": "mp-inv-" + name,
                                            "email": "mp-buyer-%s@example.com" % name, "partner_id": ptn,
                                            "amount": {"amount": 2000 + j, "currency": "usd"}}, admin, None)
                    kind = "sale"
                r, answered, attempts = send_with_failover(procs, (k + j) % len(procs), *args, inflight=inflight)
                with lock:
                    results.append((kind, name, r, answered, attempts))
                    done[0] += 1
        except Exception as e:  # noqa: BLE001 - raised in the test's thread
            errors.append(e)

    inflight = InFlight(len(procs))
    workers = [threading.Thread(target=api, args=(k,), daemon=True) for k in range(API_THREADS)]
    for w in workers:
        w.start()
    # The kill comes in the middle: half the API writes done, the victim acknowledging redirects, and (if one comes
    # within a few seconds) while it has an API write in hand.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (done[0] < API_THREADS * API_OPS // 2 or redirects.count(victim) < 50):
        time.sleep(0.01)
    wait_write = time.monotonic() + 5
    while time.monotonic() < wait_write and not inflight.at(victim):
        time.sleep(0.0005)
    t_kill = time.monotonic()
    procs[victim].proc.kill()
    procs[victim].proc.wait(10)
    for w in workers:
        w.join(180)
    assert not any(w.is_alive() for w in workers), "an API thread hangs"
    # The redirects go on a little after the API writes, on the two processes left.
    t_end = time.monotonic() + 0.5
    while time.monotonic() < t_end or min(sum(1 for a in redirects.acks if a[0] > t_kill and a[1] == p)
                                          for p in (0, 1)) < 20:
        assert time.monotonic() < deadline, "the processes left acknowledge too few redirects after the kill"
        time.sleep(0.05)
    redirects.finish()
    if errors:
        raise errors[0]

    # Every answer is a success: the first one, or the one to the same request sent again after the kill.
    bad = [(k, n, r, p, a) for k, n, r, p, a in results if not (r.status == 201 or (k == "sale" and r.status == 200))]
    assert not bad, "requests answered with an error: %r" % bad[:5]
    # Sent again: refused by the dead process (never reached it), or cut off by the kill while in flight (it may
    # have committed: the second answer is then the replay, or the duplicate sale).
    cut_off = [(k, n, r.status, r.header("Idempotent-Replayed"), (r.json or {}).get("duplicate"), f)
               for k, n, r, p, f in results if f and f != ["ConnectionRefusedError"]]
    refused = sum(1 for k, n, r, p, f in results if f == ["ConnectionRefusedError"])
    print("     %d redirects acknowledged (%d by the victim), %d API writes, %d refused by the dead process and sent "
          "again, %d cut off in flight and sent again: %r" % (len(redirects.acks), redirects.count(victim),
                                                              len(results), refused, len(cut_off), cut_off),
          flush=True)
    assert not redirects.other, "redirects answered other than 302: %r" % redirects.other[:10]

    # Every acknowledged click is stored, once.
    acked = [a[2] for a in redirects.acks]
    assert all(acked), "a 302 without refd_click"
    assert len(set(acked)) == len(acked), "a click id was given twice"
    stored = {}
    for i in range(0, len(acked), 500):
        part = acked[i:i + 500]
        for r in db_rows(srv, "SELECT id, count(*) AS n FROM clicks WHERE id IN (%s) GROUP BY id" %
                         ", ".join("?" for _ in part), tuple(part)):
            stored[r["id"]] = r["n"]
    lost = [c for c in acked if c not in stored]
    assert not lost, "%d of %d acknowledged clicks are missing, e.g. %r" % (len(lost), len(acked), lost[:5])
    assert set(stored.values()) == {1}, "clicks stored twice: %r" % {k: v for k, v in stored.items() if v != 1}

    # Every lead and sale answered is stored once, under the id its answer named.
    leads = {r["email"]: r for r in db_rows(srv, "SELECT id, email FROM leads WHERE program_id = ?", (ctx["prog"],))}
    lead_rows = db_rows(srv, "SELECT email, count(*) AS n FROM leads WHERE program_id = ? GROUP BY email "
                             "HAVING count(*) > 1", (ctx["prog"],))
    assert not lead_rows, "leads stored twice: %r" % lead_rows
    sales = {r["external_id"]: r for r in db_rows(srv, "SELECT id, external_id FROM sales WHERE program_id = ?",
                                                    (ctx["prog"],))}
    twice = db_rows(srv, "SELECT external_id, count(*) AS n FROM sales GROUP BY external_id HAVING count(*) > 1")
    assert not twice, "sales stored twice: %r" % twice
    for kind, name, r, _, _ in results:
        if kind == "lead":
            row = leads.get("mp-lead-%s@example.com" % name)
            assert row and row["id"] == r.json["id"], "lead %s: answered %r, stored %r" % (name, r.json["id"], row)
        else:
            row = sales.get("mp-inv-" + name)
            assert row and row["id"] == r.json["id"], "sale %s: answered %r, stored %r" % (name, r.json["id"], row)
    keys = db_rows(srv, "SELECT key, count(*) AS n FROM idempotency WHERE key LIKE 'mp-lead-%' GROUP BY key")
    assert len(keys) == API_THREADS * ((API_OPS + 1) // 2) and all(k["n"] == 1 for k in keys), keys[:5]

    # The jobs of the two processes left approve every entry, the victim's too, each once.
    deadline = time.monotonic() + 60
    while db_rows(srv, "SELECT count(*) AS n FROM commissions WHERE program_id = ? AND status = 'pending'",
                  (ctx["prog"],))[0]["n"]:
        assert time.monotonic() < deadline, "entries still pending a minute after the load"
        time.sleep(0.1)
    rows = db_rows(srv, "SELECT c.id, c.status, (SELECT count(*) FROM commission_events e WHERE e.commission_id = "
                        "c.id AND e.to_status = 'approved') AS approvals FROM commissions c WHERE c.program_id = ?",
                   (ctx["prog"],))
    sales_count = len(sales)
    assert len(rows) == 2 * sales_count, "%d entries for %d sales, want two each" % (len(rows), sales_count)
    wrong = [r for r in rows if r["status"] != "approved" or r["approvals"] != 1]
    assert not wrong, "%d entries not approved exactly once, e.g. %r" % (len(wrong), wrong[:5])
    failed = [(i, l) for i in (0, 1) for l in procs[i].logs() if l.get("msg") == "holding-period job failed"]
    assert not failed, "job runs failed: %r" % failed[:3]

    # The rollups (clicks, leads, sales, commissions) kept on write by all three processes equal their rebuild.
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


def test_the_processes_left_keep_serving(srv, ctx):
    procs, admin = ctx["procs"], ctx["admin"]
    for i in (0, 1):
        p = procs[i]
        assert expect(p.get("/readyz"), 200)["status"] == "ready"
        r = p.get("/r/" + ctx["codes"][2], headers={"User-Agent": browser_ua("after-%d" % i)})
        assert r.status == 302 and click_of(location_of(r)), r
        lead = expect(p.post(LEADS, {"program_id": ctx["prog"], "email": "after-%d@example.com" % i}, key=admin), 201)
        assert expect(procs[1 - i].get(LEADS + "/" + lead["id"], key=admin), 200)["id"] == lead["id"]


def test_every_process_left_stops_cleanly(srv, ctx):
    sib = ctx["procs"][1]
    assert sib.stop() == 0, "a sibling refd exited with %s" % sib.proc.returncode
