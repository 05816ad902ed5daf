# SPDX-License-Identifier: Apache-2.0
"""Three refd processes on one PostgreSQL database share the webhook deliveries: each attempt is made by one process
(the claim's FOR UPDATE SKIP LOCKED and its lease), so that, without a crash, every delivery reaches the receiver
exactly as many times as it is attempted. Every first attempt fails (500) and every second one succeeds, so that all
three processes are seen at work (each logs the attempts that failed) and the outcomes of several processes are
recorded side by side; leads are written through all three at once meanwhile."""
import collections
import threading
import time

import harness
from harness import db_rows, expect, set_clocks
from receiver import Receiver

DATABASES = ("postgres",)
WHY_ONLY = "it runs several refd processes on one database, and only PostgreSQL serves several processes"
LEADS = 240
ARGS = ["--webhook-allow-private", "--webhook-poll-ms", "20", "--webhook-concurrency", "16"]


def make_server():
    return harness.Refd(extra_args=ARGS).start()


def test_each_attempt_is_made_by_one_process(srv):
    rc = Receiver()
    try:
        procs = [srv, srv.sibling(), srv.sibling()]
        admin = srv.admin_key()
        eps = [expect(srv.post("/api/v1/webhook-endpoints", {"url": rc.url("/multi%d" % i),
                                                             "event_types": ["lead.created"]}, key=admin), 201)
               for i in range(2)]
        rc.configure(secrets={"/multi%d" % i: [e["secret"]] for i, e in enumerate(eps)},
                     behaviour={"/multi%d" % i: {"fail_first": True, "delay_ms": 5} for i in range(2)})
        prog = expect(srv.post("/api/v1/programs", {"name": "Multi hooks", "currency": "usd"}, key=admin), 201)["id"]
        errors = []

        def write(i):
            try:
                for n in range(i, LEADS, 3):
                    expect(procs[i].post("/api/v1/leads", {"program_id": prog, "email": "m%d@multi.example" % n},
                                         key=admin), 201)
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(e)

        threads = [threading.Thread(target=write, args=(i,)) for i in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not errors, errors[0]
        # Every first attempt fails; once they all have, the retries fall due (5 s on) in every process at once.
        rc.wait_for(lambda g: len(g) >= 2 * LEADS, timeout=60, what="the first attempts")
        offset = 10000
        rc.configure(clock_offset_ms=offset)
        set_clocks(procs, offset)
        got = rc.wait_for(lambda g: len(g) >= 4 * LEADS, timeout=60, what="the second attempts")
        time.sleep(0.5)
        got = rc.received()
        per = collections.Counter((r["path"], r["headers"]["webhook-id"]) for r in got)
        assert len(per) == 2 * LEADS and set(per.values()) == {2}, \
            "a delivery was attempted other than twice: %s" % [k for k, v in per.items() if v != 2][:5]
        assert all(any(r["verified"]["standardwebhooks"]) and any(r["verified"]["svix"]) for r in got)
        rows = db_rows(srv, "SELECT d.status, d.attempts, (SELECT count(*) FROM delivery_attempts a WHERE "
                            "a.delivery_id = d.id) AS logged FROM deliveries d")
        assert len(rows) == 2 * LEADS and {(r["status"], r["attempts"], r["logged"]) for r in rows} == {
            ("delivered", 2, 2)}, collections.Counter((r["status"], r["attempts"], r["logged"]) for r in rows)
        # All three processes sent some (each logs the attempts of its own that failed).
        failed = [sum(1 for l in p.logs() if l.get("msg") == "webhook attempt failed") for p in procs]
        assert sum(failed) == 2 * LEADS and all(failed), failed
        print("     first attempts per process: %s" % failed, flush=True)
    finally:
        rc.stop()
