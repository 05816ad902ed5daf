# SPDX-License-Identifier: Apache-2.0
"""The rollups count every event when many are written at once: leads created by concurrent clients, with clicks
arriving beside them, all end up in the program's running volume (its overflow guard) and in the daily totals.
On PostgreSQL these writers run at the same time, so a total read and then written back would lose some."""
import http.client
import json
import threading

from harness import browser_ua, db_rows, expect, one_link

CLIENTS = 8
EACH = 25


def setup(srv):
    admin, prog, _, _ = one_link(srv, "Races", "racecode")
    return {"admin": admin, "prog": prog}


def test_concurrent_leads_and_clicks_are_all_counted(srv, ctx):
    failures = []

    def leads(i):
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
        for n in range(EACH):
            body = json.dumps({"program_id": ctx["prog"]["id"], "email": "race-%d-%d@lead.example" % (i, n),
                               "code": "racecode"})
            conn.request("POST", "/api/v1/leads", body, {"Authorization": "Bearer " + ctx["admin"],
                                                         "Content-Type": "application/json"})
            r = conn.getresponse()
            r.read()
            if r.status != 201:
                failures.append(r.status)

    def clicks(i):
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
        for n in range(EACH):
            # A new visitor each time, so that every click is counted (and rolled up).
            conn.request("GET", "/r/racecode", headers={"User-Agent": browser_ua("race-%d-%d" % (i, n))})
            r = conn.getresponse()
            r.read()
            if r.status != 302:
                failures.append(r.status)

    threads = [threading.Thread(target=leads, args=(i,)) for i in range(CLIENTS)]
    threads += [threading.Thread(target=clicks, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == [], failures
    prog = ctx["prog"]["id"]
    n_leads = db_rows(srv, "SELECT count(*) AS n FROM leads WHERE program_id = ?", (prog,))[0]["n"]
    n_clicks = db_rows(srv, "SELECT count(*) AS n FROM clicks WHERE program_id = ? AND status = 'counted'",
                       (prog,))[0]["n"]
    assert n_leads == CLIENTS * EACH
    volume = db_rows(srv, "SELECT leads, clicks FROM rollup_volume WHERE program_id = ?", (prog,))
    daily = db_rows(srv, "SELECT sum(leads) AS leads, sum(clicks) AS clicks FROM rollup_daily WHERE program_id = ? "
                         "AND dim = 'all'", (prog,))
    assert volume == [{"leads": n_leads, "clicks": n_clicks}], (volume, n_leads, n_clicks)
    assert daily == [{"leads": n_leads, "clicks": n_clicks}], (daily, n_leads, n_clicks)
