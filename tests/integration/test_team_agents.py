# SPDX-License-Identifier: Apache-2.0
"""A partner organisation adds its own agents: through a partner key, a partner's session or a manager's key,
always as an active agent of its own team, in its program, and never with what only an admin sets."""
from harness import expect

PARTNERS = "/api/v1/partners"


def setup(srv):
    admin = srv.admin_key()
    prog = expect(srv.post("/api/v1/programs", {"name": "Teams", "currency": "eur"}, key=admin), 201)
    other = expect(srv.post("/api/v1/programs", {"name": "Other", "currency": "usd"}, key=admin), 201)
    org = expect(srv.post(PARTNERS, {"program_id": prog["id"], "name": "Org", "email": "org@team.example"},
                          key=admin), 201)
    rival = expect(srv.post(PARTNERS, {"program_id": prog["id"], "name": "Rival", "email": "rival@team.example"},
                            key=admin), 201)
    return {"admin": admin, "prog": prog, "other": other, "org": org, "rival": rival,
            "org_key": srv.admin_key(role="partner", partner=org["id"], name="org"),
            "manager_key": srv.admin_key(role="manager", partner=org["id"], name="manager")}


def count(srv, ctx):
    return len(expect(srv.get(PARTNERS + "?limit=100", key=ctx["admin"]), 200)["data"])


def test_partner_key_adds_an_agent_to_its_team(srv, ctx):
    a = expect(srv.post(PARTNERS, {"name": "Rep One", "email": "Rep.One@Team.example", "company": "Org"},
                        key=ctx["org_key"]), 201)
    assert a["kind"] == "agent" and a["status"] == "active"
    assert a["team_parent_id"] == ctx["org"]["id"] and a["program_id"] == ctx["prog"]["id"]
    assert a["email"] == "rep.one@team.example" and a["currency"] == "eur"
    assert a["cost_per_lead"] == {"amount": 0, "currency": "eur"} and a["recruited_by_id"] is None
    # It is in the organisation's team, visible to it.
    mine = expect(srv.get(PARTNERS + "?limit=100", key=ctx["org_key"]), 200)["data"]
    assert a["id"] in [p["id"] for p in mine]


def test_manager_key_adds_an_agent_naming_its_team_and_program(srv, ctx):
    a = expect(srv.post(PARTNERS, {"program_id": ctx["prog"]["id"], "kind": "agent", "name": "Rep Two",
                                   "email": "rep.two@team.example", "team_parent_id": ctx["org"]["id"]},
                        key=ctx["manager_key"]), 201)
    assert a["team_parent_id"] == ctx["org"]["id"]


def test_partner_session_adds_an_agent_with_csrf(srv, ctx):
    srv.add_user("owner@team.example", "partner", password="team owner password", partner=ctx["org"]["id"])
    s = srv.login("owner@team.example", "team owner password")
    a = expect(srv.post(PARTNERS, {"name": "Rep Three", "email": "rep.three@team.example"}, session=s), 201)
    assert a["team_parent_id"] == ctx["org"]["id"]
    no_csrf = type(s)(s.cookie, None)
    expect(srv.post(PARTNERS, {"name": "Rep Four", "email": "rep.four@team.example"}, session=no_csrf), 403,
           field="X-CSRF-Token")


def test_what_only_an_admin_sets_is_refused_and_nothing_is_written(srv, ctx):
    before = count(srv, ctx)
    k = ctx["org_key"]
    refused = [({"status": "active"}, "status"), ({"cost_per_lead": {"amount": 5, "currency": "eur"}}, "cost_per_lead"),
               ({"recruited_by_id": ctx["org"]["id"]}, "recruited_by_id"), ({"kind": "affiliate"}, "kind"),
               ({"team_parent_id": ctx["rival"]["id"]}, "team_parent_id"), ({"team_parent_id": None}, "team_parent_id")]
    for extra, field in refused:
        body = dict({"name": "Sneaky", "email": "sneaky@team.example"}, **extra)
        expect(srv.post(PARTNERS, body, key=k), 403, field=field, etype="forbidden")
    expect(srv.post(PARTNERS, {"program_id": ctx["other"]["id"], "name": "Elsewhere", "email": "e@team.example"},
                    key=k), 400, field="program_id")
    expect(srv.post(PARTNERS, {"name": "Bad", "email": "not-an-email"}, key=k), 400, field="email")
    # The email is unique in the program, agents included.
    expect(srv.post(PARTNERS, {"name": "Dup", "email": "rival@team.example"}, key=k), 409, field="email")
    assert count(srv, ctx) == before


def test_an_agent_and_a_suspended_organisation_cannot_add_agents(srv, ctx):
    agents = expect(srv.get(PARTNERS + "?kind=agent&team_parent_id=" + ctx["org"]["id"], key=ctx["admin"]), 200)
    agent_key = srv.admin_key(role="partner", partner=agents["data"][0]["id"], name="agent")
    before = count(srv, ctx)
    # An agent works in a team; it does not lead one.
    expect(srv.post(PARTNERS, {"name": "Sub", "email": "sub@team.example"}, key=agent_key), 403)
    expect(srv.post("/api/v1/partners/" + ctx["org"]["id"] + "/suspend", key=ctx["admin"]), 200)
    expect(srv.post(PARTNERS, {"name": "Late", "email": "late@team.example"}, key=ctx["org_key"]), 403)
    expect(srv.post("/api/v1/partners/" + ctx["org"]["id"] + "/activate", key=ctx["admin"]), 200)
    assert count(srv, ctx) == before
