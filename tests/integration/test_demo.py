# SPDX-License-Identifier: Apache-2.0
"""Demo data: an empty database started without --no-demo gets one program, twelve partners of every kind with a
team and a recruitment chain, and an owner whose password is printed once and works."""
import subprocess

from harness import BINARY, Refd, expect

KINDS = {"partner", "agent", "affiliate", "customer", "employee"}


def make_server():
    return Refd(demo=True).start()


def setup(srv):
    assert srv.demo_password, "the demo password was not printed on stderr"
    s = srv.login("admin@example.com", srv.demo_password)
    return {"session": s}


def partners(srv, ctx):
    body = expect(srv.get("/api/v1/partners?limit=100", session=ctx["session"]), 200)
    assert body["has_more"] is False
    return body["data"]


def test_printed_password_logs_in_as_owner(srv, ctx):
    me = expect(srv.get("/api/v1/auth/session", session=ctx["session"]), 200)
    assert me["role"] == "owner" and me["email"] == "admin@example.com"
    err = open(srv.err_path).read()
    assert "admin@example.com" in err and srv.demo_password in err
    assert "refd user passwd" in err, "the message says how to set a new password"
    assert len(srv.demo_password) >= 16


def test_password_is_not_in_the_request_log(srv, ctx):
    assert srv.demo_password not in open(srv.log_path).read()


def test_one_program_with_sensible_defaults(srv, ctx):
    body = expect(srv.get("/api/v1/programs", session=ctx["session"]), 200)
    assert len(body["data"]) == 1 and body["has_more"] is False
    p = body["data"][0]
    assert p["id"].startswith("prg_") and p["name"]
    assert p["currency"] == "usd" and p["cookie_window_days"] == 90 and p["attribution_model"] == "last_click"
    assert p["holding_period_days"] == 30 and p["tracking_params"] == ["via", "ref"]
    assert p["payout_threshold"]["currency"] == "usd" and p["payout_threshold"]["amount"] > 0
    ctx["program"] = p


def test_twelve_partners_of_every_kind(srv, ctx):
    ps = partners(srv, ctx)
    assert len(ps) == 12
    assert {p["kind"] for p in ps} == KINDS
    assert all(p["program_id"] == ctx["program"]["id"] for p in ps)
    emails = [p["email"] for p in ps]
    assert len(set(emails)) == 12 and all(e == e.lower() and "@" in e for e in emails)
    statuses = {p["status"] for p in ps}
    assert {"active", "applied", "suspended"} <= statuses, statuses
    suspended = [p for p in ps if p["status"] == "suspended"]
    assert all(p["status_reason"] for p in suspended)
    currencies = {p["currency"] for p in ps}
    assert len(currencies) >= 2, "demo partners are paid in more than one currency"
    for p in ps:
        assert p["cost_per_lead"]["amount"] >= 0 and len(p["cost_per_lead"]["currency"]) == 3
    ctx["partners"] = {p["id"]: p for p in ps}


def test_a_team_with_agents(srv, ctx):
    ps = ctx["partners"]
    agents = [p for p in ps.values() if p["team_parent_id"]]
    assert len(agents) >= 2
    parents = {a["team_parent_id"] for a in agents}
    for pid in parents:
        assert pid in ps and ps[pid]["kind"] == "partner", ps.get(pid)
    assert all(a["kind"] == "agent" for a in agents)
    # The team filter finds them.
    org = next(iter(parents))
    team = expect(srv.get("/api/v1/partners?team_parent_id=" + org, session=ctx["session"]), 200)["data"]
    assert sorted(p["id"] for p in team) == sorted(a["id"] for a in agents if a["team_parent_id"] == org)
    ctx["org"] = org


def test_a_recruitment_chain_of_three_levels(srv, ctx):
    ps = ctx["partners"]

    def depth(p):
        d, seen = 1, {p["id"]}
        while p["recruited_by_id"]:
            p = ps[p["recruited_by_id"]]
            assert p["id"] not in seen, "cycle in demo data"
            seen.add(p["id"])
            d += 1
        return d
    assert max(depth(p) for p in ps.values()) >= 3
    # The relation is reachable with the recruited_by_id filter too.
    some = next(p for p in ps.values() if p["recruited_by_id"])
    got = expect(srv.get("/api/v1/partners?recruited_by_id=" + some["recruited_by_id"], session=ctx["session"]),
                 200)["data"]
    assert some["id"] in [p["id"] for p in got]


def test_demo_data_is_searchable(srv, ctx):
    ps = list(ctx["partners"].values())
    target = ps[5]
    got = expect(srv.get("/api/v1/partners?q=" + target["email"], session=ctx["session"]), 200)["data"]
    assert got and got[0]["id"] == target["id"]
    word = target["name"].split()[0]
    got = expect(srv.get("/api/v1/partners?q=" + word, session=ctx["session"]), 200)["data"]
    assert target["id"] in [p["id"] for p in got]


def test_owner_session_can_work(srv, ctx):
    s = ctx["session"]
    k = expect(srv.post("/api/v1/api-keys", {"name": "from demo"}, session=s), 201)
    assert k["key"].startswith("rk_")
    ptn = expect(srv.post("/api/v1/partners", {"program_id": ctx["program"]["id"], "name": "New One",
                                               "email": "new@demo.example"}, key=k["key"]), 201)
    assert len(partners(srv, ctx)) == 13
    pk = expect(srv.post("/api/v1/api-keys", {"name": "team", "role": "manager", "partner_id": ctx["org"]},
                         session=s), 201)["key"]
    seen = expect(srv.get("/api/v1/partners?limit=100", key=pk), 200)["data"]
    assert ctx["org"] in [p["id"] for p in seen] and ptn["id"] not in [p["id"] for p in seen]
    assert all(p["id"] == ctx["org"] or p["team_parent_id"] == ctx["org"] for p in seen)


def test_a_second_start_does_not_seed_again(srv, ctx):
    again = srv.sibling(demo=True)
    try:
        assert again.demo_password is None
        assert "with password" not in open(again.err_path).read()
        key = again.admin_key()
        assert len(expect(again.get("/api/v1/programs", key=key), 200)["data"]) == 1
        assert len(expect(again.get("/api/v1/partners?limit=100", key=key), 200)["data"]) == 13
    finally:
        again.stop()
    expect(srv.get("/api/v1/auth/session", session=ctx["session"]), 200)


def test_no_demo_leaves_the_database_empty():
    s = Refd().start()
    try:
        key = s.admin_key()
        assert expect(s.get("/api/v1/programs", key=key), 200)["data"] == []
        assert expect(s.get("/api/v1/partners", key=key), 200)["data"] == []
        assert "with password" not in open(s.err_path).read()
        expect(s.post("/api/v1/auth/login", {"email": "admin@example.com", "password": "anything at all"}), 401)
    finally:
        s.cleanup()


def test_a_database_with_only_a_user_is_not_seeded():
    # A database someone already set up (a user added before the first serve) is not empty: no demo data.
    s = Refd(demo=True)
    p = subprocess.run([BINARY, "user", "add", "--email", "first@x.example", "--role", "owner", "--db", s.db],
                       input="a good long password\n", capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    s.start()
    try:
        assert s.demo_password is None
        sess = s.login("first@x.example", "a good long password")
        assert expect(s.get("/api/v1/programs", session=sess), 200)["data"] == []
    finally:
        s.cleanup()
