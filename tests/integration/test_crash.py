"""Crash safety of the redirect: every click acknowledged with a 302 is durable. Redirects run from several threads,
refd is killed with SIGKILL in the middle of the load, and after a restart on the same database every click id that
a client received is in the clicks table. Each test starts its own refd processes (the module's server is not
killed, so that run.py's clean-exit check of it still holds)."""
import http.client
import threading
import time
import urllib.parse

from harness import Refd, browser_ua, db_rows, expect

PROGRAMS = "/api/v1/programs"
LINKS = "/api/v1/links"
THREADS = 8
LOAD_SECONDS = 2.0  # the load runs about this long; refd is killed in its middle
CODE = "crash-sale"


def restarted(old):
    """A new refd process on the database of `old` (its own directory for logs and the clock file)."""
    new = Refd()
    new.db = old.db
    return new.start()


def click_id_of(resp):
    loc = resp.getheader("Location") or ""
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(loc).query)
    ids = q.get("refd_click", [])
    return ids[0] if len(ids) == 1 else None


class Load:
    """Threads that send GET /r/<code> on keep-alive connections (reconnecting after an error) until stopped,
    each as its own browser, and note every request: (started, ended, outcome, click id or error)."""

    def __init__(self, port, code, tag):
        self.port, self.code, self.tag = port, code, tag
        self.stop = threading.Event()
        self.records = [[] for _ in range(THREADS)]
        self.threads = [threading.Thread(target=self.run, args=(i,), daemon=True) for i in range(THREADS)]

    def run(self, i):
        ua = browser_ua("%s-%d" % (self.tag, i))
        out = self.records[i]
        conn = None
        while not self.stop.is_set():
            t0 = time.monotonic()
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/r/" + self.code, headers={"User-Agent": ua})
                r = conn.getresponse()
                r.read()
                if r.status == 302:
                    out.append((t0, time.monotonic(), "ack", click_id_of(r)))
                else:
                    out.append((t0, time.monotonic(), "status", r.status))
                if r.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as e:
                out.append((t0, time.monotonic(), "error", type(e).__name__))
                if conn is not None:
                    conn.close()
                conn = None
                time.sleep(0.005)  # after the kill: connection refused, do not spin
        if conn is not None:
            conn.close()

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def acks(self):
        return sum(1 for rec in self.records for r in list(rec) if r[2] == "ack")

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(15)
        assert not any(t.is_alive() for t in self.threads), "a load thread hangs"
        return [r for rec in self.records for r in rec]


def load_and_kill(srv, tag):
    """Runs the load for about LOAD_SECONDS, SIGKILLs refd in its middle; returns (records, the time just before
    the kill, the time the process was gone)."""
    load = Load(srv.port, CODE, tag).start()
    t_start = time.monotonic()
    deadline = t_start + 20
    # Kill half-way through, once the load is clearly under way (ASan builds are slower).
    while time.monotonic() < deadline and (time.monotonic() - t_start < LOAD_SECONDS / 2 or load.acks() < 20):
        time.sleep(0.01)
    t_kill = time.monotonic()
    srv.proc.kill()
    srv.proc.wait(10)
    t_dead = time.monotonic()
    # The load goes on against the dead server for the rest of its time.
    time.sleep(max(0.2, LOAD_SECONDS - (time.monotonic() - t_start)))
    return load.finish(), t_kill, t_dead


def check_round(records, t_kill, t_dead, srv_after, link_id):
    acked = [r[3] for r in records if r[2] == "ack"]
    statuses = [r[3] for r in records if r[2] == "status"]
    errors = [r for r in records if r[2] == "error"]
    # Sent while the process still existed (keep-alive requests just after the signal count too): the kill cut
    # them off.
    in_flight = [r for r in errors if r[0] < t_dead]
    assert len(acked) >= 20, "too little load before the kill: %d acknowledged" % len(acked)
    assert all(acked), "a 302 without refd_click in its Location"
    assert len(set(acked)) == len(acked), "a click id was given twice"
    assert not statuses, "answers other than 302: %r" % statuses[:10]
    assert errors, "no request failed: the kill did not happen during the load"
    assert in_flight, "no request was in flight at the kill (%d errors, all sent after it)" % len(errors)
    assert all(r[0] < t_dead for r in records if r[2] == "ack"), "a 302 from a request sent after the kill"
    stored = {r["id"] for r in db_rows(srv_after, "SELECT id FROM clicks WHERE link_id = ?", (link_id,))}
    lost = [c for c in acked if c not in stored]
    assert not lost, "%d of %d acknowledged clicks are missing after the crash, e.g. %s" % (
        len(lost), len(acked), lost[:5])
    return len(acked), len(in_flight), len(stored)


def test_every_acknowledged_click_survives_sigkill():
    servers = []
    try:
        first = Refd().start()
        servers.append(first)
        admin = first.admin_key()
        prog = expect(first.post(PROGRAMS, {"name": "Crash", "currency": "usd"}, key=admin), 201)
        ptn = expect(first.post("/api/v1/partners", {"program_id": prog["id"], "name": "Crash Partner",
                                                     "email": "crash@p.example"}, key=admin), 201)
        link = expect(first.post(LINKS, {"partner_id": ptn["id"], "code": CODE,
                                         "destination_url": "https://www.example.com/landing"}, key=admin), 201)
        srv = first
        seen = set()
        for rnd in range(2):  # two crashes in a row: recovery must also leave a database that survives the next
            records, t_kill, t_dead = load_and_kill(srv, "crash%d" % rnd)
            after = restarted(srv)
            servers.append(after)
            acked, in_flight, stored = check_round(records, t_kill, t_dead, after, link["id"])
            assert seen <= {r["id"] for r in db_rows(after, "SELECT id FROM clicks")}, "an older click is gone"
            seen |= {r[3] for r in records if r[2] == "ack"}
            print("     round %d: %d acknowledged, %d in flight at the kill, %d stored" % (
                rnd + 1, acked, in_flight, stored), flush=True)
            srv = after
        # The last restarted server is sound too (the second round's load already ran on the first restart).
        assert expect(srv.get("/readyz"), 200)["status"] == "ready"
        n = db_rows(srv, "SELECT count(*) AS n FROM clicks")[0]["n"]
        assert n >= len(seen), (n, len(seen))
        assert srv.stop() == 0, "the restarted refd did not stop cleanly"
    finally:
        for s in servers[1:]:
            s.cleanup()
        if servers:
            servers[0].cleanup()  # last: its directory holds the database the others used
