# SPDX-License-Identifier: Apache-2.0
"""refd db copy moves a SQLite database into an empty PostgreSQL database whole, whatever order its rows were made
in: a partner may name a team or a recruiter made after it."""
import subprocess

import harness
from harness import expect

PARTNERS = "/api/v1/partners"
# The copy's target is a database on the run's PostgreSQL cluster; the source is a SQLite file in that run too.
DATABASES = ("postgres",)
WHY_ONLY = "it copies into PostgreSQL, whose cluster the postgres run provides"


def make_server():
    return harness.Refd(db_kind="sqlite").start()


def setup(srv):
    admin = srv.admin_key()
    prog = expect(srv.post("/api/v1/programs", {"name": "Copy", "currency": "usd"}, key=admin), 201)
    return {"admin": admin, "prog": prog}


def partner(srv, ctx, name, **fields):
    body = {"program_id": ctx["prog"]["id"], "name": name, "email": name.lower().replace(" ", ".") + "@copy.example"}
    body.update(fields)
    return expect(srv.post(PARTNERS, body, key=ctx["admin"]), 201)


def test_partners_that_name_later_partners_are_copied(srv, ctx):
    # Made first, then put in a team and under a recruiter made after them (seq order is not parent order).
    agent = partner(srv, ctx, "Early Agent")
    recruit = partner(srv, ctx, "Early Recruit")
    # More partners between them than the copy writes in one INSERT (whose foreign keys are checked at its end).
    fill = [partner(srv, ctx, "Filler %d" % i)["id"] for i in range(70)]
    team = partner(srv, ctx, "Late Team")
    recruiter = partner(srv, ctx, "Late Recruiter")
    top = partner(srv, ctx, "Later Top")
    expect(srv.patch(PARTNERS + "/" + agent["id"], {"team_parent_id": team["id"]}, key=ctx["admin"]), 200)
    expect(srv.patch(PARTNERS + "/" + recruit["id"], {"recruited_by_id": recruiter["id"]}, key=ctx["admin"]), 200)
    # Two levels: the recruiter itself recruited by a partner made later still.
    expect(srv.patch(PARTNERS + "/" + recruiter["id"], {"recruited_by_id": top["id"]}, key=ctx["admin"]), 200)
    cluster = harness.pg_cluster()
    name = cluster.create_db()
    try:
        p = subprocess.run([harness.BINARY, "db", "copy", "--from", srv.db, "--to", cluster.url(name)],
                           capture_output=True, text=True, env=srv.env, timeout=120)
        assert p.returncode == 0, p.stderr
        rows = cluster.psql("SELECT id, coalesce(team_parent_id, '-'), coalesce(recruited_by_id, '-') FROM partners "
                            "ORDER BY seq", name).split()
        assert rows == ["%s|%s|-" % (agent["id"], team["id"]), "%s|-|%s" % (recruit["id"], recruiter["id"])] + \
            ["%s|-|-" % i for i in fill] + \
            ["%s|-|-" % team["id"], "%s|-|%s" % (recruiter["id"], top["id"]), "%s|-|-" % top["id"]], rows
    finally:
        cluster.drop_db(name)
