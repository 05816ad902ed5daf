# SPDX-License-Identifier: Apache-2.0
"""refd db copy, the way up from SQLite to PostgreSQL: a SQLite database (the demo data with a month of work on
top, and bench data with a hundred thousand clicks) is copied into an empty PostgreSQL database, checked by the
command, and then a refd on the copy answers every read as the refd on the original does (lists, balances,
statements, reports, payout runs, sealed tax ids), logs the same users in, follows the same links and goes on
writing. A target that holds anything is refused, and left as it was."""
import hashlib
import hmac
import json
import subprocess
import time

from harness import BINARY, Refd, db_rows, expect, pg_cluster

DATABASES = ("postgres",)
WHY_ONLY = "it copies a SQLite database into PostgreSQL (the PostgreSQL run has the cluster)"


STRIPE_SECRET = "whsec_copytest0123456789abcdef"


def stripe_event(srv, prog):
    """A Stripe event signed as Stripe signs (an HMAC-SHA256 of "timestamp.payload" with the endpoint secret)."""
    ts = int(time.time())
    data = json.dumps({"id": "evt_copy_1", "object": "event", "api_version": "2024-06-20", "created": ts,
                       "type": "customer.created", "livemode": False, "pending_webhooks": 1,
                       "request": {"id": None, "idempotency_key": None},
                       "data": {"object": {"id": "cus_copy1", "object": "customer",
                                           "email": "copy@customer.example"}}}).encode()
    mac = hmac.new(STRIPE_SECRET.encode(), b"%d." % ts + data, hashlib.sha256).hexdigest()
    return srv.request("POST", "/api/v1/integrations/stripe/webhook?program_id=" + prog, raw=data,
                       headers={"Content-Type": "application/json", "Stripe-Signature": "t=%d,v1=%s" % (ts, mac)})


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def copy(src_db, dst_db, env):
    return subprocess.run([BINARY, "db", "copy", "--from", src_db, "--to", dst_db], capture_output=True, text=True,
                          env=env, timeout=600)


def copy_into_postgres(src):
    """A new refd (not started) whose PostgreSQL database holds a checked copy of src's SQLite database, with
    src's instance key."""
    dst = Refd(db_kind="postgres")
    dst.env["REFD_SECRET_KEY"] = open(src.db + ".key").read().strip()
    p = copy(src.db, dst.db, dst.env)
    assert p.returncode == 0, "db copy failed (%d): %s" % (p.returncode, p.stderr)
    out = json.loads(p.stdout)
    assert out["copied"] is True and out["backend"] == "postgres" and out["rows"] > 0, out
    assert "copied and checked" in p.stderr, p.stderr
    return dst, out


def same(a, b, path, key, drop=()):
    """GET path from both servers: the same status and the same JSON (less the volatile members named in drop)."""
    ra, rb = a.get(path, key=key), b.get(path, key=key)
    assert ra.status == rb.status == 200, (path, ra, rb)
    # Addresses name the server that answers (its port): they are the same once that is left out.
    ja = json.loads(json.dumps(ra.json).replace("http://127.0.0.1:%d" % a.port, "REFD"))
    jb = json.loads(json.dumps(rb.json).replace("http://127.0.0.1:%d" % b.port, "REFD"))
    for obj in (ja, jb):
        for row in obj.get("data", []) if isinstance(obj, dict) else []:
            for k in drop:
                row.pop(k, None)
    assert ja == jb, "%s differs: %s" % (path, first_difference(ja, jb))
    return ja


def first_difference(a, b, where=""):
    """Where two JSON values first differ, and how."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if a.get(k) != b.get(k):
                return first_difference(a.get(k), b.get(k), where + "." + k)
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            if x != y:
                return first_difference(x, y, "%s[%d]" % (where, i))
    return "%s: SQLite %s, PostgreSQL %s" % (where or "the value", json.dumps(a)[:300], json.dumps(b)[:300])


def test_the_demo_database_moves_to_postgresql_whole():
    src = Refd(demo=True, db_kind="sqlite").start()
    dst = None
    try:
        key = src.admin_key()
        prog = expect(src.get("/api/v1/programs", key=key), 200)["data"][0]["id"]
        partners = expect(src.get("/api/v1/partners?limit=100&program_id=" + prog, key=key), 200)["data"]
        active = [p for p in partners if p["status"] == "active"]
        # Work on top of the demo: a sealed tax id, commissions approved, a payout run approved and exported.
        expect(src.patch("/api/v1/partners/" + active[0]["id"],
                         {"tax_profile": {"tax_id": "123-45-6789", "country": "US",
                                          "legal_name": "Northwind Traders LLC"}}, key=key), 200)
        expect(src.patch("/api/v1/programs/" + prog, {"stripe_webhook_secret": STRIPE_SECRET}, key=key), 200)
        pending = expect(src.get("/api/v1/commissions?status=pending&limit=5", key=key), 200)["data"]
        for c in pending:
            expect(src.post("/api/v1/commissions/%s/approve" % c["id"], {}, key=key), 200)
        run = expect(src.post("/api/v1/payout-runs", {"program_id": prog}, key=key), 201)
        if run["items"]:
            expect(src.post("/api/v1/payout-runs/%s/approve" % run["id"], {}, key=key), 200)
        assert src.stop() == 0
        dst, out = copy_into_postgres(src)
        src.start()
        dst.start()
        # Every read answers the same.
        paths = ["/api/v1/programs", "/api/v1/programs/" + prog, "/api/v1/partners?limit=100",
                 "/api/v1/links?limit=100", "/api/v1/leads?limit=100", "/api/v1/leads/counts?program_id=" + prog,
                 "/api/v1/sales?limit=100", "/api/v1/commissions?limit=100", "/api/v1/plans",
                 "/api/v1/payout-runs", "/api/v1/payout-runs/" + run["id"], "/api/v1/fx-rates",
                 "/api/v1/reports/summary", "/api/v1/reports/queues", "/api/v1/users",
                 "/api/v1/tax-totals?year=%s" % run["cutoff"][:4]]
        paths += ["/api/v1/reports/breakdown?group_by=" + g for g in ("partner", "agent", "team", "source", "month")]
        for p in partners:
            paths += ["/api/v1/partners/" + p["id"], "/api/v1/partners/%s/balance" % p["id"],
                      "/api/v1/partners/%s/statement?from=%s&to=%s" % (p["id"], iso(time.time() - 400 * 86400),
                                                                        iso(time.time() + 86400))]
        for path in paths:
            same(src, dst, path, key)
        same(src, dst, "/api/v1/api-keys", key, drop=("last_used_at",))
        assert expect(dst.get("/api/v1/partners/" + active[0]["id"], key=key), 200)["tax_profile"][
            "tax_id_last4"] == "6789"
        # The program's Stripe secret, sealed with the instance key, opens on the copy: a signed event is taken.
        r = stripe_event(dst, prog)
        assert r.status == 200 and r.json["received"] is True, r
        # The users log in with the passwords they had; the links redirect; writing goes on (the copy's ids
        # continue after the copied ones).
        dst.login("admin@example.com", src.demo_password)
        link = expect(dst.get("/api/v1/links?limit=1", key=key), 200)["data"][0]
        assert dst.get("/r/" + link["code"]).status == 302
        made = expect(dst.post("/api/v1/partners", {"program_id": prog, "name": "After The Move",
                                                    "email": "after@move.example"}, key=key), 201)
        assert made["id"] not in [p["id"] for p in partners]
        expect(dst.post("/api/v1/leads", {"program_id": prog, "email": "new@move.example", "partner_id": made["id"]},
                        key=key), 201)
        # A second copy into the now busy database is refused, and changes nothing there.
        before = db_rows(dst, "SELECT count(*) AS n FROM partners")[0]["n"]
        p = copy(src.db, dst.db, dst.env)
        assert p.returncode != 0 and "empty" in p.stderr, (p.returncode, p.stderr)
        assert db_rows(dst, "SELECT count(*) AS n FROM partners")[0]["n"] == before
        print("     copied %d rows of %d tables; %d reads compared" % (out["rows"], out["tables"], len(paths) + 1),
              flush=True)
    finally:
        if dst:
            dst.cleanup()
        src.cleanup()


def test_bench_data_moves_to_postgresql_with_the_same_reports():
    src = Refd(db_kind="sqlite")
    dst = None
    try:
        p = src.cli("bench-data", "--partners", "3000", "--clicks", "100000", "--leads", "4000", "--sales", "800",
                    "--days", "120")
        prog = p.stdout.strip()
        src.start()
        key = src.admin_key()
        assert src.stop() == 0
        dst, out = copy_into_postgres(src)
        assert out["partners_checked"] >= 3000, out
        src.start()
        dst.start()
        day = 86400
        q = "program_id=%s&from=%s&to=%s" % (prog, iso(time.time() - 400 * day), iso(time.time() + day))
        summary = same(src, dst, "/api/v1/reports/summary?" + q, key)
        for g in ("partner", "agent", "team", "source", "campaign", "day", "week", "month"):
            same(src, dst, "/api/v1/reports/breakdown?group_by=%s&limit=100000&%s" % (g, q), key)
        same(src, dst, "/api/v1/partners?limit=100&program_id=" + prog, key)
        same(src, dst, "/api/v1/commissions?limit=100&program_id=" + prog, key)
        same(src, dst, "/api/v1/leads/counts?program_id=" + prog, key)
        assert db_rows(dst, "SELECT count(*) AS n FROM clicks")[0]["n"] == 100000
        print("     %d rows copied; clicks in the summary: %r" % (out["rows"], summary.get("clicks")), flush=True)
    finally:
        if dst:
            dst.cleanup()
        src.cleanup()


PARTNERS = "/api/v1/partners"


def test_partners_that_name_later_partners_are_copied():
    """Whatever order the rows were made in: a partner put in a team, or under a recruiter, made after it (seq
    order is not parent order), with more partners between them than the copy writes in one INSERT."""
    srv = Refd(db_kind="sqlite").start()
    name = None
    cluster = pg_cluster()
    try:
        admin = srv.admin_key()
        prog = expect(srv.post("/api/v1/programs", {"name": "Copy", "currency": "usd"}, key=admin), 201)["id"]

        def partner(name):
            return expect(srv.post(PARTNERS, {"program_id": prog, "name": name,
                                              "email": name.lower().replace(" ", ".") + "@copy.example"},
                                   key=admin), 201)

        agent = partner("Early Agent")
        recruit = partner("Early Recruit")
        fill = [partner("Filler %d" % i)["id"] for i in range(70)]
        team = partner("Late Team")
        recruiter = partner("Late Recruiter")
        top = partner("Later Top")
        expect(srv.patch(PARTNERS + "/" + agent["id"], {"team_parent_id": team["id"]}, key=admin), 200)
        expect(srv.patch(PARTNERS + "/" + recruit["id"], {"recruited_by_id": recruiter["id"]}, key=admin), 200)
        # Two levels: the recruiter itself recruited by a partner made later still.
        expect(srv.patch(PARTNERS + "/" + recruiter["id"], {"recruited_by_id": top["id"]}, key=admin), 200)
        name = cluster.create_db()
        p = copy(srv.db, cluster.url(name), srv.env)
        assert p.returncode == 0, p.stderr
        rows = cluster.psql("SELECT id, coalesce(team_parent_id, '-'), coalesce(recruited_by_id, '-') FROM partners "
                            "ORDER BY seq", name).split()
        assert rows == ["%s|%s|-" % (agent["id"], team["id"]), "%s|-|%s" % (recruit["id"], recruiter["id"])] + \
            ["%s|-|-" % i for i in fill] + \
            ["%s|-|-" % team["id"], "%s|-|%s" % (recruiter["id"], top["id"]), "%s|-|-" % top["id"]], rows
    finally:
        if name:
            cluster.drop_db(name)
        srv.cleanup()
