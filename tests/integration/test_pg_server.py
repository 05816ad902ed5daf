# SPDX-License-Identifier: Apache-2.0
"""refd on a PostgreSQL server that goes away: /readyz and every request answer 503 (never a 500, never a 302
whose click is lost) while the server is down, refd reconnects by itself when it is back, and every click
acknowledged before a crash of PostgreSQL (pg_ctl stop -m immediate) is there after its recovery. Each test runs
its own cluster, since it stops it (the run's shared cluster serves the other modules meanwhile)."""
import os
import sys
import time

from harness import Refd, db_rows, expect, pg_cluster
from test_crash import Load

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import pgcluster  # noqa: E402

DATABASES = ("postgres",)
WHY_ONLY = "a PostgreSQL server of its own, stopped and crashed under refd"
CODE = "pg-crash"


def server_on(cluster):
    """A refd on a new database of cluster (instead of the run's shared cluster)."""
    srv = Refd(db_kind="postgres")
    pg_cluster().drop_db(srv.pg_db)
    srv.pg_db = None
    srv.db = cluster.url(cluster.create_db())
    return srv.start()


def setup_link(srv):
    admin = srv.admin_key()
    prog = expect(srv.post("/api/v1/programs", {"name": "Outage", "currency": "usd"}, key=admin), 201)
    ptn = expect(srv.post("/api/v1/partners", {"program_id": prog["id"], "name": "Outage Partner",
                                               "email": "outage@p.example"}, key=admin), 201)
    link = expect(srv.post("/api/v1/links", {"partner_id": ptn["id"], "code": CODE,
                                             "destination_url": "https://shop.example/"}, key=admin), 201)
    return admin, prog, link


def wait_ready(srv, seconds=30):
    deadline = time.time() + seconds
    while time.time() < deadline:
        r = srv.get("/readyz")
        if r.status == 200:
            return r.json
        time.sleep(0.1)
    raise AssertionError("refd did not become ready again: %r" % r)


def test_requests_answer_503_while_postgresql_is_down_and_recover():
    cluster = pgcluster.Cluster().start()
    srv = None
    try:
        srv = server_on(cluster)
        admin, prog, link = setup_link(srv)
        ready = expect(srv.get("/readyz"), 200)
        assert ready["database"] == "postgres", ready
        cluster.stop("fast")
        r = srv.get("/readyz")
        assert r.status == 503 and r.json["database"] == "postgres", r
        assert r.header("Retry-After"), r.headers
        for r in (srv.post("/api/v1/partners", {"program_id": prog["id"], "name": "Later",
                                                "email": "later@p.example"}, key=admin),
                  srv.get("/api/v1/partners", key=admin),
                  srv.post("/api/v1/leads", {"program_id": prog["id"], "email": "lead@down.example"}, key=admin)):
            assert r.status == 503, r
            assert r.json["error"]["type"] == "unavailable", r.json
            assert r.header("Retry-After"), r.headers
        # The redirect says "try again" rather than sending the visitor on with a click it could not record.
        assert srv.get("/r/" + CODE).status == 503
        assert srv.proc.poll() is None, "refd died with its database"
        cluster.restart()
        wait_ready(srv)
        expect(srv.post("/api/v1/partners", {"program_id": prog["id"], "name": "Later", "email": "later@p.example"},
                        key=admin), 201)
        r = srv.get("/r/" + CODE)
        assert r.status == 302, (r, srv.logs()[-5:])
        # Nothing of the refused writes was kept.
        assert db_rows(srv, "SELECT count(*) AS n FROM leads")[0]["n"] == 0
        assert srv.stop() == 0, "refd did not stop cleanly after the outage"
    finally:
        if srv:
            srv.cleanup()
        cluster.remove()


def test_acknowledged_clicks_survive_a_postgresql_crash():
    """Redirects from several threads while PostgreSQL is killed (immediate shutdown: no checkpoint, recovery
    from its WAL at the next start): every 302 given before the crash names a click that is in the table after
    recovery, the requests during the outage get 503 or fail to connect, never a 302, and the redirect works
    again once the server is back."""
    cluster = pgcluster.Cluster().start()
    srv = None
    try:
        srv = server_on(cluster)
        _, _, link = setup_link(srv)
        load = Load(srv.port, CODE, "pgcrash").start()
        deadline = time.monotonic() + 30
        while load.acks() < 200 and time.monotonic() < deadline:
            time.sleep(0.01)
        t_crash = time.monotonic()
        cluster.stop("immediate")
        t_down = time.monotonic()
        time.sleep(1.0)
        t_restart = time.monotonic()
        cluster.restart()
        wait_ready(srv)
        after = load.acks()
        deadline = time.monotonic() + 30
        while load.acks() < after + 50 and time.monotonic() < deadline:
            time.sleep(0.01)
        records = load.finish()
        acked = [r for r in records if r[2] == "ack"]
        assert len(acked) >= 250, "too little load: %d acknowledged" % len(acked)
        assert all(r[3] for r in acked), "a 302 without refd_click"
        # While the server was down (from just after the kill to the restart), no request was acknowledged.
        during = [r for r in acked if r[0] > t_down and r[1] < t_restart]
        assert not during, "302s while PostgreSQL was down: %r" % during[:5]
        others = {r[3] for r in records if r[2] == "status"}
        assert others <= {503}, "answers other than 302 and 503: %r" % others
        assert 503 in others, "no request met the outage"
        stored = {r["id"] for r in db_rows(srv, "SELECT id FROM clicks WHERE link_id = ?", (link["id"],))}
        lost = [r[3] for r in acked if r[3] not in stored]
        assert not lost, "%d of %d acknowledged clicks are missing after the crash, e.g. %s" % (
            len(lost), len(acked), lost[:5])
        assert len([r for r in acked if r[1] <= t_crash]) >= 200
        print("     %d acknowledged (%d after the recovery), %d answered 503" % (
            len(acked), len([r for r in acked if r[0] > t_restart]),
            sum(1 for r in records if r[2] == "status")), flush=True)
        assert srv.proc.poll() is None
    finally:
        if srv:
            srv.cleanup()
        cluster.remove()
