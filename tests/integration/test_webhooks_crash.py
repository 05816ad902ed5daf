# SPDX-License-Identifier: Apache-2.0
"""Webhooks survive a crash: refd is killed with SIGKILL while deliveries are on their way to the receiver and while
leads (and their events) are being written by several clients; after a restart on the same database, every event the
log holds (GET /api/v1/events) reaches the receiver at least once, verified, and nothing else does: no event the log
does not hold (a change rolled back by the crash sends nothing). The test starts its own refd processes (the module's
server is not killed, so that run.py's clean-exit check of it still holds)."""
import http.client
import json
import threading
import time

from harness import DB_KIND, Refd, expect
from receiver import Receiver

THREADS = 8
LEASE_MS = 60000  # RF_WEBHOOK_LEASE_MS: a delivery claimed by the dead process is claimed again after it


class Leads:
    """Threads that POST /api/v1/leads (each its own email) until stopped, noting what was acknowledged."""

    def __init__(self, port, key, prog):
        self.port, self.key, self.prog = port, key, prog
        self.stop = threading.Event()
        self.acked = [[] for _ in range(THREADS)]
        self.threads = [threading.Thread(target=self.run, args=(i,), daemon=True) for i in range(THREADS)]

    def run(self, i):
        n = 0
        conn = None
        while not self.stop.is_set():
            n += 1
            body = json.dumps({"program_id": self.prog, "email": "t%d-%d@crash.example" % (i, n)})
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                conn.request("POST", "/api/v1/leads", body=body, headers={
                    "Authorization": "Bearer " + self.key, "Content-Type": "application/json"})
                r = conn.getresponse()
                data = r.read()
                if r.status == 201:
                    self.acked[i].append(json.loads(data)["id"])
            except (OSError, http.client.HTTPException):
                if conn is not None:
                    conn.close()
                conn = None
                time.sleep(0.005)
        if conn is not None:
            conn.close()

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def count(self):
        return sum(len(a) for a in self.acked)

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(15)
        assert not any(t.is_alive() for t in self.threads), "a load thread hangs"
        return [x for a in self.acked for x in a]


def all_events(srv, key):
    out, after = [], None
    while True:
        page = expect(srv.get("/api/v1/events?limit=100" + ("&starting_after=" + after if after else ""), key=key),
                      200)
        out += page["data"]
        if not page["has_more"]:
            return out
        after = page["data"][-1]["id"]


def test_every_committed_event_is_delivered_after_a_sigkill():
    rc = Receiver()
    first = Refd(extra_args=["--webhook-allow-private", "--webhook-poll-ms", "20", "--quiet"]).start()
    try:
        admin = first.admin_key()
        ep = expect(first.post("/api/v1/webhook-endpoints", {"url": rc.url("/crash"), "event_types": ["*"]},
                               key=admin), 201)
        # Each answer takes a second, so that some deliveries are always on their way, and still are when the killed
        # process's sockets close (a process under the sanitizers takes a while to be torn down after SIGKILL).
        rc.configure(secrets={"/crash": [ep["secret"]]}, behaviour={"/crash": {"delay_ms": 1000}})
        prog = expect(first.post("/api/v1/programs", {"name": "Crash", "currency": "usd"}, key=admin), 201)["id"]
        load = Leads(first.port, admin, prog).start()
        deadline = time.time() + 30
        while time.time() < deadline and (load.count() < 300 or len(rc.received("/crash")) < 20):
            time.sleep(0.02)
        # The kill comes while the receiver holds a delivery it has not answered yet (on its way), which a slow
        # build (the sanitizers') does not leave to chance.
        while time.time() < deadline + 10 and all(r.get("answered", True) for r in rc.received("/crash")):
            time.sleep(0.005)
        first.proc.kill()
        first.proc.wait(10)
        acked = load.finish()
        got_before = rc.received("/crash")
        aborted = [r for r in got_before if r.get("aborted")]
        assert len(acked) >= 300 and len(got_before) >= 20, (len(acked), len(got_before))
        assert aborted, "no delivery was on its way when refd was killed"

        # Restarted on the same database; once the dead process's leases have run out, what it had claimed goes
        # again.
        after = first.sibling()
        logged = all_events(after, admin)
        ids = {e["id"] for e in logged}
        assert set(acked) <= {e["object_id"] for e in logged if e["type"] == "lead.created"}, \
            "an acknowledged lead has no event"
        rc.configure(clock_offset_ms=LEASE_MS + 1000)
        after.set_clock(LEASE_MS + 1000)
        got = rc.wait_for(lambda g: ids <= {r["headers"]["webhook-id"] for r in g if r["path"] == "/crash"},
                          timeout=60, what="%d events" % len(ids))
        time.sleep(0.5)
        got = rc.received("/crash")
        received = [r["headers"]["webhook-id"] for r in got]
        assert set(received) == ids, ("received events the log does not hold", sorted(set(received) - ids)[:5])
        assert all(any(r["verified"]["standardwebhooks"]) and any(r["verified"]["svix"]) for r in got)
        # What was on its way at the kill came again: at least once, not exactly once.
        again = {r["headers"]["webhook-id"] for r in aborted}
        assert all(received.count(i) >= 2 for i in again), "a delivery cut off by the kill was not sent again"
        print("     %s: %d events, %d leads acknowledged, %d deliveries cut off by the kill, %d received in all" % (
            DB_KIND, len(ids), len(acked), len(aborted), len(received)), flush=True)
        assert after.stop() == 0
    finally:
        first.cleanup()
        rc.stop()
