# SPDX-License-Identifier: Apache-2.0
"""Crash safety of the redirect: every click acknowledged with a 302 is durable. Redirects run from several threads,
refd is killed with SIGKILL in the middle of the load, and after a restart on the same database every click id that
a client received is in the clicks table. Each test starts its own refd processes (the module's server is not
killed, so that run.py's clean-exit check of it still holds)."""
import http.client
import re
import socket
import threading
import time
import urllib.parse

from harness import Refd, browser_ua, db_rows, expect

PROGRAMS = "/api/v1/programs"
LINKS = "/api/v1/links"
THREADS = 8
LOAD_SECONDS = 2.0  # the load runs about this long; refd is killed in its middle
CODE = "crash-sale"
# Redirects pipelined on one connection just before the kill: seconds of work for refd.
BURST = 20000
CLICK_IN_LOCATION = re.compile(rb"\r\nLocation: [^\r]*[?&]refd_click=(clk_\w+)", re.I)


def restarted(old):
    """A new refd process on the database of `old` (its own directory for logs and the clock file, the same
    instance key)."""
    return old.sibling()


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


class Burst:
    """BURST redirects pipelined on one keep-alive connection, sent from one thread and answered on another, noted
    as Load notes its requests. On a loaded machine the Load threads may all be between two requests when the kill
    comes; refd working through a burst it has begun to answer is certainly in the middle of requests."""

    def __init__(self, port, code, tag):
        req = ("GET /r/%s HTTP/1.1\r\nHost: x\r\nUser-Agent: %s\r\n\r\n" % (code, browser_ua(tag + "-burst"))).encode()
        self.chunk = 64
        self.wire = req * self.chunk
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.sent = 0  # requests wholly handed to the kernel
        self.answers = []  # (time, click id) per 302, in order
        self.other = []
        self.t0 = None
        self.sender = threading.Thread(target=self.send, daemon=True)
        self.reader = threading.Thread(target=self.read, daemon=True)

    def start(self):
        self.t0 = time.monotonic()
        self.reader.start()
        self.sender.start()
        return self

    def send(self):
        try:
            while self.sent < BURST:
                self.sock.sendall(self.wire)
                self.sent += self.chunk
        except OSError:
            pass  # refd was killed

    def read(self):
        buf = b""
        try:
            while True:
                data = self.sock.recv(262144)
                if not data:
                    return
                buf += data
                while b"\r\n\r\n" in buf:
                    head, buf = buf.split(b"\r\n\r\n", 1)
                    m = CLICK_IN_LOCATION.search(head)
                    if head.startswith(b"HTTP/1.1 302 ") and m:
                        self.answers.append((time.monotonic(), m.group(1).decode()))
                    else:
                        self.other.append(head[:200])
        except OSError:
            return

    def finish(self):
        self.sender.join(15)
        self.reader.join(15)
        assert not self.sender.is_alive() and not self.reader.is_alive(), "the burst hangs"
        self.sock.close()
        # Every request sent got its answer or was cut off by the kill; all were sent before the process was gone.
        out = [(self.t0, t, "ack", cid) for t, cid in self.answers]
        out += [(self.t0, self.t0, "status", h) for h in self.other]
        out += [(self.t0, time.monotonic(), "error", "cut off")] * (self.sent - len(self.answers) - len(self.other))
        return out


def load_and_kill(srv, tag):
    """Runs the load for about LOAD_SECONDS, SIGKILLs refd in its middle; returns (records, the time just before
    the kill, the time the process was gone)."""
    load = Load(srv.port, CODE, tag).start()
    t_start = time.monotonic()
    deadline = t_start + 20
    # Kill half-way through, once the load is clearly under way (ASan builds are slower) and refd has begun to
    # answer a burst that keeps it busy for seconds.
    while time.monotonic() < deadline and (time.monotonic() - t_start < LOAD_SECONDS / 2 or load.acks() < 20):
        time.sleep(0.01)
    burst = Burst(srv.port, CODE, tag).start()
    while time.monotonic() < deadline and not burst.answers:
        time.sleep(0.001)
    t_kill = time.monotonic()
    srv.proc.kill()
    srv.proc.wait(10)
    t_dead = time.monotonic()
    # The load goes on against the dead server for the rest of its time.
    time.sleep(max(0.2, LOAD_SECONDS - (time.monotonic() - t_start)))
    return load.finish() + burst.finish(), t_kill, t_dead


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
