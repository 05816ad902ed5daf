# SPDX-License-Identifier: Apache-2.0
"""Lists whose transactions commit out of order (PostgreSQL: writers run at once). A transaction that made a row
first but commits last must neither be skipped by a client paging the list nor make it repeat a row: the API's
pages hold only rows no running transaction can come before, and a row committed later comes after (newest first:
above) everything a client has seen. The older transaction here is held open by hand in psql, as a slow request
or a bulk import would hold it, while the API writes and commits newer rows."""
import subprocess

from harness import Refd, db_rows, expect, psql_path

DATABASES = ("postgres",)
WHY_ONLY = "SQLite commits one transaction at a time, in the order of its rows"


class HeldTransaction:
    """A psql session holding a transaction open: begin() runs SQL in it and waits for it to be done."""

    def __init__(self, srv):
        self.p = subprocess.Popen([psql_path(), "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", srv.db],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def run(self, sql):
        self.p.stdin.write(sql + "\nSELECT 'done-marker';\n")
        self.p.stdin.flush()
        while True:
            line = self.p.stdout.readline()
            assert line, "psql ended: %s" % self.p.stderr.read()
            if line.strip() == "done-marker":
                return

    def close(self, sql="COMMIT;"):
        self.p.stdin.write(sql + "\n")
        self.p.stdin.close()
        assert self.p.wait(30) == 0, self.p.stderr.read()

    def abandon(self):
        """After a failure: ends psql, whatever state it is in (its transaction is rolled back)."""
        try:
            self.p.kill()
            self.p.wait(30)
        except OSError:
            pass


def copy_partner_sql(srv, pid, new_id, email):
    """An INSERT of a copy of partner pid under a new id and email (every column the table has, but those made by
    the database)."""
    cols = [r["c"] for r in db_rows(srv, "SELECT column_name AS c FROM information_schema.columns WHERE table_name = "
                                         "'partners' AND table_schema = current_schema() AND is_generated = 'NEVER' "
                                         "AND column_name NOT IN ('seq', 'txid') ORDER BY ordinal_position")]
    values = {"id": "'%s'" % new_id, "email": "'%s'" % email, "name": "'Held Partner'", "recruitment_code": "'held%s'" % new_id[-14:]}
    return "INSERT INTO partners (%s) SELECT %s FROM partners WHERE id = '%s';" % (
        ", ".join(cols), ", ".join(values.get(c, c) for c in cols), pid)


def ids(srv, key, path):
    return [p["id"] for p in expect(srv.get(path, key=key), 200)["data"]]


def walk(srv, key, base, limit):
    """Every id of a list, paged with starting_after."""
    out, after = [], None
    while True:
        page = expect(srv.get(base + "&limit=%d" % limit + ("&starting_after=" + after if after else ""), key=key),
                      200)
        out += [p["id"] for p in page["data"]]
        if not page["has_more"]:
            return out
        after = page["data"][-1]["id"]


def test_a_row_committed_late_is_neither_skipped_nor_repeated():
    srv = Refd().start()
    held = None
    try:
        key = srv.admin_key()
        prog = expect(srv.post("/api/v1/programs", {"name": "Order", "currency": "usd"}, key=key), 201)["id"]
        first = expect(srv.post("/api/v1/partners", {"program_id": prog, "name": "First", "email": "first@o.example"},
                                key=key), 201)["id"]
        base = "/api/v1/partners?program_id=" + prog
        # An older transaction makes a partner and stays open (its row takes its seq now)...
        held = HeldTransaction(srv)
        held.run("BEGIN;\n" + copy_partner_sql(srv, first, "ptn_heldheldheldheldheld", "held@o.example"))
        # ... while newer ones make and commit theirs.
        newer = [expect(srv.post("/api/v1/partners", {"program_id": prog, "name": "Newer %d" % i,
                                                      "email": "newer%d@o.example" % i}, key=key), 201)["id"]
                 for i in range(3)]
        # A client syncing now sees none of the newer rows yet: each would come before the held one, which it
        # could then never see above what it has seen.
        seen_before = walk(srv, key, base, 2)
        assert seen_before == [first], seen_before
        held.close()
        held = None
        # The held row's transaction is older: it comes after (below) the newer rows and above what the client
        # had seen, and a walk gives each row once, at any page size.
        for limit in (1, 2, 3, 100):
            got = walk(srv, key, base, limit)
            assert got == newer[::-1] + ["ptn_heldheldheldheldheld", first], (limit, got)
        # The rows are all there, whatever their order.
        assert db_rows(srv, "SELECT count(*) AS n FROM partners WHERE program_id = ?", (prog,))[0]["n"] == 5
    finally:
        if held:
            held.abandon()
        srv.cleanup()


def test_a_client_that_syncs_down_to_what_it_saw_misses_nothing():
    """A client keeps the newest id it has seen and, later, reads newest first until it meets it (an incremental
    sync): leads made while older transactions were open are all found, none twice."""
    srv = Refd().start()
    holds = []
    try:
        key = srv.admin_key()
        prog = expect(srv.post("/api/v1/programs", {"name": "Sync", "currency": "usd"}, key=key), 201)["id"]
        first = expect(srv.post("/api/v1/partners", {"program_id": prog, "name": "Base", "email": "base@s.example"},
                                key=key), 201)["id"]
        base = "/api/v1/partners?program_id=" + prog
        seen = walk(srv, key, base, 100)
        newest = seen[0]
        made = set()
        for rnd in range(3):
            h = HeldTransaction(srv)
            hid = "ptn_held%016d" % rnd
            h.run("BEGIN;\n" + copy_partner_sql(srv, first, hid, "held%d@s.example" % rnd))
            holds.append(h)
            made.add(hid)
            for i in range(2):
                made.add(expect(srv.post("/api/v1/partners", {"program_id": prog, "name": "R%d-%d" % (rnd, i),
                                                              "email": "r%d-%d@s.example" % (rnd, i)}, key=key),
                                201)["id"])
            # The client syncs: everything above the newest it has seen.
            fresh = []
            for pid in walk(srv, key, base, 2):
                if pid == newest:
                    break
                fresh.append(pid)
            assert not set(fresh) & set(seen), (fresh, seen)
            seen = fresh + seen
            if fresh:
                newest = fresh[0]
            if rnd == 1:
                # The first two held transactions commit, in reverse.
                holds.pop(1).close()
                holds.pop(0).close()
        for h in holds:
            h.close()
        holds = []
        fresh = []
        for pid in walk(srv, key, base, 2):
            if pid == newest:
                break
            fresh.append(pid)
        seen = fresh + seen
        assert len(seen) == len(set(seen)), "a row was seen twice: %r" % seen
        assert set(seen) == made | {first}, "missed: %r" % sorted(made | {first} - set(seen))
    finally:
        for h in holds:
            h.abandon()
        srv.cleanup()
