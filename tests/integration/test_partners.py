# SPDX-License-Identifier: Apache-2.0
"""Partners: create, read, list, update, status changes, relations and their cycles, tax profile, metadata,
search, pagination, and what partner and manager credentials may see and change."""
import glob
import os
import shutil
import sqlite3
import subprocess
import tempfile
from urllib.parse import quote

from harness import db_raw, BINARY, Refd, expect, walk_pages

PARTNERS = "/api/v1/partners"
KINDS = ["partner", "agent", "affiliate", "customer", "employee"]


def setup(srv):
    admin = srv.admin_key()
    a = expect(srv.post("/api/v1/programs", {"name": "A", "currency": "usd"}, key=admin), 201)
    b = expect(srv.post("/api/v1/programs", {"name": "B", "currency": "eur"}, key=admin), 201)
    return {"admin": admin, "prog": a["id"], "other_prog": b["id"]}


def new(srv, ctx, **fields):
    body = {"program_id": ctx["prog"]}
    body.update(fields)
    return expect(srv.post(PARTNERS, body, key=ctx["admin"]), 201)


def get(srv, ctx, pid):
    return expect(srv.get(PARTNERS + "/" + pid, key=ctx["admin"]), 200)


def all_partners(srv, ctx, query=""):
    items, _ = walk_pages(srv, PARTNERS + query, 100, key=ctx["admin"])
    return items


def test_create_with_defaults(srv, ctx):
    p = new(srv, ctx, name="Acme Partners", email="team@acme-partners.example")
    assert p["id"].startswith("ptn_")
    assert p["object"] == "partner"
    assert p["program_id"] == ctx["prog"]
    assert p["kind"] == "partner" and p["status"] == "active"
    assert p["name"] == "Acme Partners" and p["email"] == "team@acme-partners.example"
    assert p["company"] is None
    assert p["currency"] == "usd", "defaults to the program's currency"
    assert p["cost_per_lead"] == {"amount": 0, "currency": "usd"}
    assert p["team_parent_id"] is None and p["recruited_by_id"] is None
    assert p["tax_profile"] == {"legal_name": None, "country": None, "tax_id_last4": None}
    assert p["metadata"] == {}
    assert p["status_reason"] is None
    assert p["created_at"] and p["updated_at"]
    assert get(srv, ctx, p["id"]) == p
    ctx["acme"] = p


def test_currency_default_follows_program(srv, ctx):
    p = expect(srv.post(PARTNERS, {"program_id": ctx["other_prog"], "name": "Euro", "email": "euro@b.example"},
                        key=ctx["admin"]), 201)
    assert p["currency"] == "eur" and p["cost_per_lead"] == {"amount": 0, "currency": "eur"}


def test_create_with_every_member(srv, ctx):
    body = {
        "kind": "affiliate", "status": "applied", "name": "Zoë Müller", "email": "  Zoe.Mueller@Example.ORG ",
        "company": "Müller Media", "currency": "GBP", "cost_per_lead": {"amount": 2500, "currency": "GBP"},
        "tax_profile": {"legal_name": "Zoë Müller Ltd", "country": "gb", "tax_id": "GB 123 4567 89"},
        "metadata": {"crm_id": "0031x00000ABC", "tags": ["vip", 2], "nested": {"a": None}},
    }
    p = new(srv, ctx, **body)
    assert p["kind"] == "affiliate" and p["status"] == "applied"
    assert p["name"] == "Zoë Müller"
    assert p["email"] == "zoe.mueller@example.org", "email is trimmed and lower-cased"
    assert p["company"] == "Müller Media"
    assert p["currency"] == "gbp"
    assert p["cost_per_lead"] == {"amount": 2500, "currency": "gbp"}
    assert p["tax_profile"] == {"legal_name": "Zoë Müller Ltd", "country": "GB", "tax_id_last4": "6789"}
    assert p["metadata"] == body["metadata"]
    assert get(srv, ctx, p["id"]) == p
    ctx["zoe"] = p


def test_every_kind_can_be_created(srv, ctx):
    for kind in KINDS:
        p = new(srv, ctx, kind=kind, name="Kind " + kind, email="kind-%s@kinds.example" % kind)
        assert p["kind"] == kind
    listed = all_partners(srv, ctx, "?q=kinds")
    assert sorted(p["kind"] for p in listed) == sorted(KINDS)
    for kind in KINDS:
        body = expect(srv.get(PARTNERS + "?kind=" + kind + "&limit=100", key=ctx["admin"]), 200)
        assert body["data"] and all(p["kind"] == kind for p in body["data"]), kind


def test_cost_per_lead_may_be_in_another_currency(srv, ctx):
    p = new(srv, ctx, name="Yen CPL", email="yen@cpl.example", cost_per_lead={"amount": 500, "currency": "jpy"})
    assert p["currency"] == "usd" and p["cost_per_lead"] == {"amount": 500, "currency": "jpy"}


def test_email_is_unique_per_program_case_insensitively(srv, ctx):
    before = len(all_partners(srv, ctx))
    r = srv.post(PARTNERS, {"program_id": ctx["prog"], "name": "Dup", "email": "TEAM@Acme-Partners.example"},
                 key=ctx["admin"])
    expect(r, 409, field="email", etype="conflict")
    assert "team@acme-partners.example" in r.json["error"]["message"]
    assert len(all_partners(srv, ctx)) == before
    # The same person may join another program.
    other = expect(srv.post(PARTNERS, {"program_id": ctx["other_prog"], "name": "Acme in B",
                                       "email": "team@acme-partners.example"}, key=ctx["admin"]), 201)
    assert other["program_id"] == ctx["other_prog"]
    ctx["acme_b"] = other


INVALID_EMAILS = ["", "   ", "plainaddress", "@example.com", "user@", "user@localhost", "user@@example.com",
                  "us er@example.com", "user@exa mple.com", "user@-example.com", "user@example-.com",
                  ".user@example.com", "user.@example.com", "user@example..com", "a\"b@example.com",
                  "user@exam_ple.com", "x" * 65 + "@example.com", "user@" + "a" * 64 + ".com"]


def test_invalid_emails_are_refused(srv, ctx):
    before = len(all_partners(srv, ctx))
    for email in INVALID_EMAILS:
        r = srv.post(PARTNERS, {"program_id": ctx["prog"], "name": "Bad email", "email": email}, key=ctx["admin"])
        assert r.status == 400 and r.json["error"]["field"] == "email", (email, r)
    r = srv.patch(PARTNERS + "/" + ctx["acme"]["id"], {"email": "not-an-email"}, key=ctx["admin"])
    expect(r, 400, field="email")
    assert len(all_partners(srv, ctx)) == before
    assert get(srv, ctx, ctx["acme"]["id"])["email"] == "team@acme-partners.example"


BAD_CREATES = [
    ({"name": "x", "email": "x1@x.example"}, "program_id", True),
    ({"program_id": "prg_nope", "name": "x", "email": "x1@x.example"}, "program_id", False),
    ({"program_id": 7, "name": "x", "email": "x1@x.example"}, "program_id", False),
    ({"email": "x1@x.example"}, "name", False),
    ({"name": "", "email": "x1@x.example"}, "name", False),
    ({"name": "x" * 201, "email": "x1@x.example"}, "name", False),
    ({"name": "x"}, "email", False),
    ({"name": "x", "email": None}, "email", False),
    ({"name": "x", "email": "x1@x.example", "kind": "reseller"}, "kind", False),
    ({"name": "x", "email": "x1@x.example", "kind": "Partner"}, "kind", False),
    ({"name": "x", "email": "x1@x.example", "status": "suspended"}, "status", False),
    ({"name": "x", "email": "x1@x.example", "status": "banned"}, "status", False),
    ({"name": "x", "email": "x1@x.example", "status": "pending"}, "status", False),
    ({"name": "x", "email": "x1@x.example", "currency": "ABC"}, "currency", False),
    ({"name": "x", "email": "x1@x.example", "currency": "eu"}, "currency", False),
    ({"name": "x", "email": "x1@x.example", "currency": "euro"}, "currency", False),
    ({"name": "x", "email": "x1@x.example", "currency": "€"}, "currency", False),
    ({"name": "x", "email": "x1@x.example", "currency": "XXX"}, "currency", False),
    ({"name": "x", "email": "x1@x.example", "currency": None}, "currency", False),
    ({"name": "x", "email": "x1@x.example", "cost_per_lead": 2500}, "cost_per_lead", False),
    ({"name": "x", "email": "x1@x.example", "cost_per_lead": {"amount": 2500}}, "cost_per_lead", False),
    ({"name": "x", "email": "x1@x.example", "cost_per_lead": {"currency": "usd"}}, "cost_per_lead", False),
    ({"name": "x", "email": "x1@x.example", "cost_per_lead": {"amount": -1, "currency": "usd"}}, "cost_per_lead",
     False),
    ({"name": "x", "email": "x1@x.example", "cost_per_lead": {"amount": 25.0, "currency": "usd"}}, "cost_per_lead",
     False),
    ({"name": "x", "email": "x1@x.example", "cost_per_lead": {"amount": "25", "currency": "usd"}}, "cost_per_lead",
     False),
    ({"name": "x", "email": "x1@x.example", "cost_per_lead": {"amount": 25, "currency": "dollars"}},
     "cost_per_lead", False),
    ({"name": "x", "email": "x1@x.example", "cost_per_lead": {"amount": 25, "currency": "usd", "note": 1}},
     "cost_per_lead", False),
    ({"name": "x", "email": "x1@x.example", "cost_per_lead": {"amount": 2 ** 62, "currency": "usd"}},
     "cost_per_lead", False),
    ({"name": "x", "email": "x1@x.example", "team_parent_id": "ptn_nope"}, "team_parent_id", False),
    ({"name": "x", "email": "x1@x.example", "recruited_by_id": "ptn_nope"}, "recruited_by_id", False),
    ({"name": "x", "email": "x1@x.example", "team_parent_id": 5}, "team_parent_id", False),
    ({"name": "x", "email": "x1@x.example", "metadata": []}, "metadata", False),
    ({"name": "x", "email": "x1@x.example", "metadata": "x"}, "metadata", False),
    ({"name": "x", "email": "x1@x.example", "metadata": None}, "metadata", False),
    ({"name": "x", "email": "x1@x.example", "metadata": {"big": "y" * 9000}}, "metadata", False),
    ({"name": "x", "email": "x1@x.example", "tax_profile": "DE123"}, "tax_profile", False),
    ({"name": "x", "email": "x1@x.example", "tax_profile": {"country": "XX"}}, "tax_profile.country", False),
    ({"name": "x", "email": "x1@x.example", "tax_profile": {"country": "USA"}}, "tax_profile.country", False),
    ({"name": "x", "email": "x1@x.example", "tax_profile": {"country": "u"}}, "tax_profile.country", False),
    ({"name": "x", "email": "x1@x.example", "tax_profile": {"country": ""}}, "tax_profile.country", False),
    ({"name": "x", "email": "x1@x.example", "tax_profile": {"country": 49}}, "tax_profile.country", False),
    ({"name": "x", "email": "x1@x.example", "tax_profile": {"tax_id": "123"}}, "tax_profile.tax_id", False),
    ({"name": "x", "email": "x1@x.example", "tax_profile": {"tax_id": "12-3"}}, "tax_profile.tax_id", False),
    ({"name": "x", "email": "x1@x.example", "tax_profile": {"tax_id": "1234#5678"}}, "tax_profile.tax_id", False),
    ({"name": "x", "email": "x1@x.example", "tax_profile": {"tax_id": "1" * 33}}, "tax_profile.tax_id", False),
    ({"name": "x", "email": "x1@x.example", "tax_profile": {"tax_id": 12345678}}, "tax_profile.tax_id", False),
    ({"name": "x", "email": "x1@x.example", "tax_profile": {"vat": "1"}}, "tax_profile.vat", False),
    ({"name": "x", "email": "x1@x.example", "id": "ptn_custom"}, "id", False),
    ({"name": "x", "email": "x1@x.example", "status_reason": "x"}, "status_reason", False),
    ({"name": "x", "email": "x1@x.example", "tax_id_last4": "1234"}, "tax_id_last4", False),
]


def test_invalid_creates_are_refused_and_change_nothing(srv, ctx):
    before = all_partners(srv, ctx)
    for body, field, no_program in BAD_CREATES:
        b = dict(body)
        if not no_program and "program_id" not in b:
            b["program_id"] = ctx["prog"]
        r = srv.post(PARTNERS, b, key=ctx["admin"])
        assert r.status == 400, (b, r)
        assert r.json["error"]["type"] == "invalid_request" and r.json["error"]["field"] == field, (b, field, r)
    assert all_partners(srv, ctx) == before
    # The email used above is still free.
    new(srv, ctx, name="x", email="x1@x.example")


def test_relation_to_another_program_is_refused(srv, ctx):
    for field in ("team_parent_id", "recruited_by_id"):
        r = srv.post(PARTNERS, {"program_id": ctx["prog"], "name": "Cross", "email": "cross@x.example",
                                field: ctx["acme_b"]["id"]}, key=ctx["admin"])
        expect(r, 400, field=field)
        r = srv.patch(PARTNERS + "/" + ctx["acme"]["id"], {field: ctx["acme_b"]["id"]}, key=ctx["admin"])
        expect(r, 400, field=field)
    assert get(srv, ctx, ctx["acme"]["id"])["team_parent_id"] is None


def test_team_with_agents(srv, ctx):
    org = new(srv, ctx, name="Northwind Org", email="org@northwind.example", company="Northwind")
    a1 = new(srv, ctx, kind="agent", name="Agent One", email="one@northwind.example", team_parent_id=org["id"])
    a2 = new(srv, ctx, kind="agent", name="Agent Two", email="two@northwind.example", team_parent_id=org["id"])
    assert a1["team_parent_id"] == org["id"] and a1["recruited_by_id"] is None
    team = all_partners(srv, ctx, "?team_parent_id=" + org["id"])
    assert sorted(p["id"] for p in team) == sorted([a1["id"], a2["id"]])
    ctx.update(org=org, a1=a1, a2=a2)


def test_recruitment_chain_and_cycle_refused(srv, ctx):
    r1 = new(srv, ctx, name="Recruiter One", email="r1@chain.example")
    r2 = new(srv, ctx, name="Recruiter Two", email="r2@chain.example", recruited_by_id=r1["id"])
    r3 = new(srv, ctx, name="Recruiter Three", email="r3@chain.example", recruited_by_id=r2["id"])
    assert r3["recruited_by_id"] == r2["id"] and r2["recruited_by_id"] == r1["id"]
    # r1 recruited by r3 would close the loop r1 -> r3 -> r2 -> r1.
    r = srv.patch(PARTNERS + "/" + r1["id"], {"recruited_by_id": r3["id"]}, key=ctx["admin"])
    err = expect(r, 409, field="recruited_by_id", etype="conflict")
    assert "cycle" in err["error"]["message"]
    r = srv.patch(PARTNERS + "/" + r1["id"], {"recruited_by_id": r2["id"]}, key=ctx["admin"])
    expect(r, 409, field="recruited_by_id")
    # Nobody is their own recruiter or team parent.
    expect(srv.patch(PARTNERS + "/" + r1["id"], {"recruited_by_id": r1["id"]}, key=ctx["admin"]), 409,
           field="recruited_by_id")
    expect(srv.patch(PARTNERS + "/" + r1["id"], {"team_parent_id": r1["id"]}, key=ctx["admin"]), 409,
           field="team_parent_id")
    assert get(srv, ctx, r1["id"])["recruited_by_id"] is None
    assert get(srv, ctx, r1["id"])["team_parent_id"] is None
    # The two relations are separate: a recruitment chain does not stop a team in the other direction.
    u = expect(srv.patch(PARTNERS + "/" + r1["id"], {"team_parent_id": r3["id"]}, key=ctx["admin"]), 200)
    assert u["team_parent_id"] == r3["id"] and u["recruited_by_id"] is None
    # ...but a team cycle is refused naming team_parent_id.
    r = srv.patch(PARTNERS + "/" + r3["id"], {"team_parent_id": r1["id"]}, key=ctx["admin"])
    expect(r, 409, field="team_parent_id")
    assert get(srv, ctx, r3["id"])["team_parent_id"] is None
    # Breaking the chain makes the former cycle legal.
    expect(srv.patch(PARTNERS + "/" + r2["id"], {"recruited_by_id": None}, key=ctx["admin"]), 200)
    u = expect(srv.patch(PARTNERS + "/" + r1["id"], {"recruited_by_id": r3["id"]}, key=ctx["admin"]), 200)
    assert u["recruited_by_id"] == r3["id"]
    recruited = all_partners(srv, ctx, "?recruited_by_id=" + r3["id"])
    assert [p["id"] for p in recruited] == [r1["id"]]
    ctx.update(r1=r1, r2=r2, r3=r3)


def test_cycle_refusal_leaves_other_members_unchanged(srv, ctx):
    # Now r1 -> r3 -> r2 (recruited_by): r3 recruited by r1 would be a cycle, and the rename sent with it must not
    # be applied either.
    r3 = ctx["r3"]
    before = get(srv, ctx, r3["id"])
    r = srv.patch(PARTNERS + "/" + r3["id"], {"name": "Renamed in vain", "recruited_by_id": ctx["r1"]["id"]},
                  key=ctx["admin"])
    expect(r, 409, field="recruited_by_id")
    assert get(srv, ctx, r3["id"]) == before


def test_update_members(srv, ctx):
    p = ctx["acme"]
    url = PARTNERS + "/" + p["id"]
    u = expect(srv.patch(url, {"name": "Acme Partners Inc", "company": "Acme Inc", "kind": "affiliate",
                               "currency": "eur", "cost_per_lead": {"amount": 1999, "currency": "eur"},
                               "email": "NEW@Acme-Partners.example"}, key=ctx["admin"]), 200)
    assert u["name"] == "Acme Partners Inc" and u["company"] == "Acme Inc" and u["kind"] == "affiliate"
    assert u["currency"] == "eur" and u["cost_per_lead"] == {"amount": 1999, "currency": "eur"}
    assert u["email"] == "new@acme-partners.example"
    assert u["created_at"] == p["created_at"] and u["id"] == p["id"]
    assert get(srv, ctx, p["id"]) == u
    u = expect(srv.patch(url, {"company": None}, key=ctx["admin"]), 200)
    assert u["company"] is None
    # The old email is free again, the new one is taken.
    expect(srv.patch(PARTNERS + "/" + ctx["zoe"]["id"], {"email": "new@acme-partners.example"}, key=ctx["admin"]),
           409, field="email")
    assert get(srv, ctx, ctx["zoe"]["id"])["email"] == "zoe.mueller@example.org"
    # Keeping one's own email is not a conflict.
    expect(srv.patch(url, {"email": "new@acme-partners.example"}, key=ctx["admin"]), 200)
    ctx["acme"] = get(srv, ctx, p["id"])


def test_update_refuses_status_and_program_moves(srv, ctx):
    url = PARTNERS + "/" + ctx["acme"]["id"]
    before = get(srv, ctx, ctx["acme"]["id"])
    expect(srv.patch(url, {"status": "banned"}, key=ctx["admin"]), 400, field="status")
    expect(srv.patch(url, {"program_id": ctx["other_prog"]}, key=ctx["admin"]), 400, field="program_id")
    expect(srv.patch(url, {"program_id": None}, key=ctx["admin"]), 400, field="program_id")
    expect(srv.patch(url, {"name": ""}, key=ctx["admin"]), 400, field="name")
    expect(srv.patch(url, {"kind": "vendor"}, key=ctx["admin"]), 400, field="kind")
    expect(srv.patch(url, {"currency": "ZZZ"}, key=ctx["admin"]), 400, field="currency")
    expect(srv.patch(url, {"surprise": True}, key=ctx["admin"]), 400, field="surprise")
    assert get(srv, ctx, ctx["acme"]["id"]) == before
    # Naming the current program is harmless.
    expect(srv.patch(url, {"program_id": ctx["prog"]}, key=ctx["admin"]), 200)


def test_tax_profile_keeps_only_last4(srv, ctx):
    url = PARTNERS + "/" + ctx["acme"]["id"]
    secret = "DE-987.654/3210"
    u = expect(srv.patch(url, {"tax_profile": {"legal_name": "Acme GmbH", "country": "de", "tax_id": secret}},
                         key=ctx["admin"]), 200)
    assert u["tax_profile"] == {"legal_name": "Acme GmbH", "country": "DE", "tax_id_last4": "3210"}
    for body in (srv.patch(url, {"name": u["name"]}, key=ctx["admin"]).body,
                 srv.get(url, key=ctx["admin"]).body,
                 srv.get(PARTNERS + "?limit=100", key=ctx["admin"]).body,
                 srv.get(PARTNERS + "?q=acme", key=ctx["admin"]).body):
        assert "9876543210" not in body and "987.654" not in body and "DE9876" not in body, body
        assert "tax_id\"" not in body
    # The database holds the id sealed, not in clear text.
    raw = db_raw(srv)
    assert b"9876543210" not in raw and b"987.654/3210" not in raw
    # A partial update keeps the other members.
    u = expect(srv.patch(url, {"tax_profile": {"legal_name": "Acme Holding GmbH"}}, key=ctx["admin"]), 200)
    assert u["tax_profile"] == {"legal_name": "Acme Holding GmbH", "country": "DE", "tax_id_last4": "3210"}
    # Bad members change nothing.
    for tp, field in [({"country": "ZZ"}, "tax_profile.country"), ({"tax_id": "ab"}, "tax_profile.tax_id"),
                      ({"tax_id": "12345678\u00e9"}, "tax_profile.tax_id"), ({"ssn": "x"}, "tax_profile.ssn"),
                      ({"legal_name": 5}, "tax_profile.legal_name"),
                      ({"legal_name": "x" * 201}, "tax_profile.legal_name")]:
        expect(srv.patch(url, {"tax_profile": tp}, key=ctx["admin"]), 400, field=field)
    assert get(srv, ctx, ctx["acme"]["id"])["tax_profile"]["tax_id_last4"] == "3210"
    u = expect(srv.patch(url, {"tax_profile": {"tax_id": None}}, key=ctx["admin"]), 200)
    assert u["tax_profile"] == {"legal_name": "Acme Holding GmbH", "country": "DE", "tax_id_last4": None}
    u = expect(srv.patch(url, {"tax_profile": None}, key=ctx["admin"]), 200)
    assert u["tax_profile"] == {"legal_name": None, "country": None, "tax_id_last4": None}


def test_metadata_is_replaced_as_a_whole(srv, ctx):
    url = PARTNERS + "/" + ctx["acme"]["id"]
    u = expect(srv.patch(url, {"metadata": {"a": 1, "b": {"c": [1, 2, 3]}, "s": "ünïcödé"}}, key=ctx["admin"]), 200)
    assert u["metadata"] == {"a": 1, "b": {"c": [1, 2, 3]}, "s": "ünïcödé"}
    u = expect(srv.patch(url, {"metadata": {"z": True}}, key=ctx["admin"]), 200)
    assert u["metadata"] == {"z": True}
    assert get(srv, ctx, ctx["acme"]["id"])["metadata"] == {"z": True}
    expect(srv.patch(url, {"metadata": {"big": "q" * 8300}}, key=ctx["admin"]), 400, field="metadata")
    u = expect(srv.patch(url, {"metadata": {}}, key=ctx["admin"]), 200)
    assert u["metadata"] == {}


def test_status_transitions(srv, ctx):
    p = new(srv, ctx, name="Status Test", email="status@x.example", status="applied")
    url = PARTNERS + "/" + p["id"]
    u = expect(srv.post(url + "/activate", key=ctx["admin"]), 200)
    assert u["status"] == "active" and u["status_reason"] is None
    expect(srv.post(url + "/activate", key=ctx["admin"]), 409, field="status", etype="conflict")
    u = expect(srv.post(url + "/suspend", {"reason": "Chargebacks under review"}, key=ctx["admin"]), 200)
    assert u["status"] == "suspended" and u["status_reason"] == "Chargebacks under review"
    assert get(srv, ctx, p["id"])["status_reason"] == "Chargebacks under review"
    expect(srv.post(url + "/suspend", key=ctx["admin"]), 409, field="status")
    u = expect(srv.post(url + "/activate", {"reason": None}, key=ctx["admin"]), 200)
    assert u["status"] == "active" and u["status_reason"] is None
    u = expect(srv.post(url + "/ban", {"reason": "Fraud"}, key=ctx["admin"]), 200)
    assert u["status"] == "banned" and u["status_reason"] == "Fraud"
    for action in ("suspend", "ban", "activate"):
        expect(srv.post(url + "/" + action, key=ctx["admin"]), 409, field="status")
    assert get(srv, ctx, p["id"])["status"] == "banned"
    # Suspended partners can still be banned; applied ones suspended.
    q = new(srv, ctx, name="Status Two", email="status2@x.example", status="applied")
    expect(srv.post(PARTNERS + "/" + q["id"] + "/suspend", key=ctx["admin"]), 200)
    assert expect(srv.post(PARTNERS + "/" + q["id"] + "/ban", key=ctx["admin"]), 200)["status"] == "banned"
    ctx["banned"] = p


def test_status_change_validation(srv, ctx):
    p = new(srv, ctx, name="Status Three", email="status3@x.example")
    url = PARTNERS + "/" + p["id"]
    expect(srv.post(url + "/suspend", {"reason": 5}, key=ctx["admin"]), 400, field="reason")
    expect(srv.post(url + "/suspend", {"why": "x"}, key=ctx["admin"]), 400, field="why")
    expect(srv.post(url + "/suspend", {"reason": "r" * 501}, key=ctx["admin"]), 400, field="reason")
    expect(srv.post(url + "/suspend", raw="{nope", key=ctx["admin"]), 400, field="body")
    assert get(srv, ctx, p["id"])["status"] == "active"
    for action in ("suspend", "ban", "activate"):
        expect(srv.post(PARTNERS + "/ptn_missing/" + action, key=ctx["admin"]), 404, field="id")


def test_get_and_patch_unknown_is_404(srv, ctx):
    expect(srv.get(PARTNERS + "/ptn_missing", key=ctx["admin"]), 404, field="id", etype="not_found")
    expect(srv.patch(PARTNERS + "/ptn_missing", {"name": "x"}, key=ctx["admin"]), 404, field="id")


def test_filters(srv, ctx):
    everything = all_partners(srv, ctx)
    for status in ("applied", "active", "suspended", "banned"):
        got = all_partners(srv, ctx, "?status=" + status)
        assert sorted(p["id"] for p in got) == sorted(p["id"] for p in everything if p["status"] == status), status
    got = all_partners(srv, ctx, "?program_id=" + ctx["other_prog"])
    assert [p["id"] for p in got] == [p["id"] for p in everything if p["program_id"] == ctx["other_prog"]]
    assert len(got) >= 2
    got = all_partners(srv, ctx, "?program_id=%s&kind=agent&status=active" % ctx["prog"])
    assert sorted(p["id"] for p in got) == sorted(
        p["id"] for p in everything if p["program_id"] == ctx["prog"] and p["kind"] == "agent"
        and p["status"] == "active")
    assert all_partners(srv, ctx, "?program_id=prg_unknown") == []
    for q, field in [("status=gone", "status"), ("kind=robot", "kind"), ("limit=0", "limit"),
                     ("limit=1000", "limit"), ("limit=two", "limit"), ("starting_after=ptn_nope", "starting_after"),
                     ("order=name", "order"), ("email=a@b.example", "email"), ("q=" + "a" * 255, "q"),
                     ("q=%01abc", "q")]:
        expect(srv.get(PARTNERS + "?" + q, key=ctx["admin"]), 400, field=field)


def test_pagination_walks_everything_once(srv, ctx):
    for i in range(23):
        new(srv, ctx, kind="customer", name="Page Customer %02d" % i, email="page%02d@pages.example" % i)
    full = expect(srv.get(PARTNERS + "?limit=100", key=ctx["admin"]), 200)
    assert not full["has_more"]
    ids = [p["id"] for p in full["data"]]
    assert len(ids) == len(set(ids)) and len(ids) > 30
    assert full["data"][0]["email"] == "page22@pages.example", "newest first"
    default = expect(srv.get(PARTNERS, key=ctx["admin"]), 200)
    assert len(default["data"]) == 20 and default["has_more"] is True, "default page is 20"
    for limit in (1, 7, 20, len(ids) - 1, len(ids), 100):
        items, pages = walk_pages(srv, PARTNERS, limit, key=ctx["admin"])
        assert [p["id"] for p in items] == ids, limit
    # With a filter.
    items, pages = walk_pages(srv, PARTNERS + "?kind=customer&program_id=" + ctx["prog"], 5, key=ctx["admin"])
    cust = [p["id"] for p in full["data"] if p["kind"] == "customer" and p["program_id"] == ctx["prog"]]
    assert [p["id"] for p in items] == cust and len(pages) == (len(cust) + 4) // 5
    # Exactly a multiple of the page size: the last full page says has_more false.
    page = expect(srv.get(PARTNERS + "?q=pages&limit=23", key=ctx["admin"]), 200)
    assert len(page["data"]) == 23 and page["has_more"] is False


def test_search_by_name_or_email_ranked(srv, ctx):
    word = new(srv, ctx, name="Lee Samson", email="lee@words.example")
    prefix = new(srv, ctx, name="Samantha Jones", email="sj@prefix.example")
    mail = new(srv, ctx, name="Other Person", email="sam@mail.example")
    exact_name = new(srv, ctx, name="Sam", email="only-name@x.example")
    unrelated = new(srv, ctx, name="Nobody Here", email="nobody@else.example")
    got = [p["id"] for p in expect(srv.get(PARTNERS + "?q=sam&limit=100", key=ctx["admin"]), 200)["data"]]
    assert unrelated["id"] not in got
    for p in (word, prefix, mail, exact_name):
        assert p["id"] in got, p
    pos = {pid: got.index(pid) for pid in got}
    assert pos[exact_name["id"]] < pos[prefix["id"]], "exact name before name prefix"
    assert pos[prefix["id"]] < pos[word["id"]], "name prefix before a mere word match"
    assert pos[mail["id"]] < pos[word["id"]], "email prefix before a mere word match"
    # An exact email wins over everything, whatever the case.
    got = expect(srv.get(PARTNERS + "?q=SAM@Mail.Example", key=ctx["admin"]), 200)["data"]
    assert got and got[0]["id"] == mail["id"], got
    got = expect(srv.get(PARTNERS + "?q=%20sam@mail.example%20", key=ctx["admin"]), 200)["data"]
    assert got and got[0]["id"] == mail["id"], got
    # Case-insensitive, accent-insensitive, and by company too.
    assert ctx["zoe"]["id"] in [p["id"] for p in expect(srv.get(PARTNERS + "?q=ZOE", key=ctx["admin"]), 200)["data"]]
    got = expect(srv.get(PARTNERS + "?q=muller", key=ctx["admin"]), 200)["data"]
    assert ctx["zoe"]["id"] in [p["id"] for p in got]
    got = expect(srv.get(PARTNERS + "?q=northwind", key=ctx["admin"]), 200)["data"]
    assert {ctx["org"]["id"], ctx["a1"]["id"], ctx["a2"]["id"]} <= {p["id"] for p in got}
    # Several words must all match.
    got = expect(srv.get(PARTNERS + "?q=samantha%20jones", key=ctx["admin"]), 200)["data"]
    assert [p["id"] for p in got] == [prefix["id"]]
    # No match, punctuation only, and an empty q.
    assert expect(srv.get(PARTNERS + "?q=zzzqqq", key=ctx["admin"]), 200)["data"] == []
    assert expect(srv.get(PARTNERS + "?q=%22%2A%28%29", key=ctx["admin"]), 200)["data"] == []
    assert len(expect(srv.get(PARTNERS + "?q=&limit=5", key=ctx["admin"]), 200)["data"]) == 5
    # FTS syntax in user input is not an error.
    for q in ("sam%20OR%20lee", "sam*", "NEAR(sam)", "%22sam", "-sam", "sam:lee", "^sam"):
        r = srv.get(PARTNERS + "?q=" + q, key=ctx["admin"])
        assert r.status == 200, (q, r)


def test_search_with_filters_and_pagination(srv, ctx):
    everything = expect(srv.get(PARTNERS + "?q=page&limit=100", key=ctx["admin"]), 200)["data"]
    assert len(everything) == 23
    items, pages = walk_pages(srv, PARTNERS + "?q=page", 4, key=ctx["admin"])
    assert [p["id"] for p in items] == [p["id"] for p in everything]
    assert len(pages) == 6
    expect(srv.patch(PARTNERS + "/" + everything[0]["id"], {"kind": "employee"}, key=ctx["admin"]), 200)
    got = expect(srv.get(PARTNERS + "?q=page&kind=employee", key=ctx["admin"]), 200)["data"]
    assert [p["id"] for p in got] == [everything[0]["id"]]
    expect(srv.get(PARTNERS + "?q=page&starting_after=" + ctx["acme"]["id"], key=ctx["admin"]), 400,
           field="starting_after")


def test_search_follows_renames(srv, ctx):
    p = new(srv, ctx, name="Quixotic Name", email="quix@x.example")
    assert [x["id"] for x in expect(srv.get(PARTNERS + "?q=quixotic", key=ctx["admin"]), 200)["data"]] == [p["id"]]
    expect(srv.patch(PARTNERS + "/" + p["id"], {"name": "Plain Name", "email": "plain@x.example"},
                     key=ctx["admin"]), 200)
    assert expect(srv.get(PARTNERS + "?q=quixotic", key=ctx["admin"]), 200)["data"] == []
    assert expect(srv.get(PARTNERS + "?q=quix", key=ctx["admin"]), 200)["data"] == []
    got = expect(srv.get(PARTNERS + "?q=plain@x.example", key=ctx["admin"]), 200)["data"]
    assert got[0]["id"] == p["id"]


# ---- scoped credentials ----

def test_partner_key_sees_own_record_and_team_only(srv, ctx):
    org, a1, a2 = ctx["org"], ctx["a1"], ctx["a2"]
    k = srv.admin_key(role="partner", partner=org["id"], name="org partner")
    ctx["org_key"] = k
    listed = expect(srv.get(PARTNERS + "?limit=100", key=k), 200)
    assert sorted(p["id"] for p in listed["data"]) == sorted([org["id"], a1["id"], a2["id"]])
    expect(srv.get(PARTNERS + "/" + org["id"], key=k), 200)
    expect(srv.get(PARTNERS + "/" + a1["id"], key=k), 200)
    for other in (ctx["acme"], ctx["zoe"], ctx["acme_b"], ctx["r1"]):
        expect(srv.get(PARTNERS + "/" + other["id"], key=k), 404, field="id")
        expect(srv.patch(PARTNERS + "/" + other["id"], {"name": "hijack"}, key=k), 404, field="id")
    # Search and filters stay inside the scope.
    got = expect(srv.get(PARTNERS + "?q=acme", key=k), 200)["data"]
    assert got == []
    got = expect(srv.get(PARTNERS + "?q=agent", key=k), 200)["data"]
    assert sorted(p["id"] for p in got) == sorted([a1["id"], a2["id"]])
    assert expect(srv.get(PARTNERS + "?program_id=" + ctx["other_prog"], key=k), 200)["data"] == []
    assert expect(srv.get(PARTNERS + "?status=banned", key=k), 200)["data"] == []
    items, _ = walk_pages(srv, PARTNERS, 1, key=k)
    assert len(items) == 3


def test_agent_key_sees_only_itself(srv, ctx):
    k = srv.admin_key(role="partner", partner=ctx["a1"]["id"], name="agent")
    listed = expect(srv.get(PARTNERS, key=k), 200)["data"]
    assert [p["id"] for p in listed] == [ctx["a1"]["id"]]
    expect(srv.get(PARTNERS + "/" + ctx["org"]["id"], key=k), 404)
    expect(srv.get(PARTNERS + "/" + ctx["a2"]["id"], key=k), 404)


def test_partner_key_self_service_and_admin_only_fields(srv, ctx):
    k = ctx["org_key"]
    url = PARTNERS + "/" + ctx["org"]["id"]
    u = expect(srv.patch(url, {"name": "Northwind Org Ltd", "company": "Northwind Ltd", "currency": "cad",
                               "tax_profile": {"legal_name": "Northwind Ltd", "country": "CA",
                                               "tax_id": "123456789RT0001"},
                               "metadata": {"portal": True}}, key=k), 200)
    assert u["name"] == "Northwind Org Ltd" and u["currency"] == "cad"
    assert u["tax_profile"] == {"legal_name": "Northwind Ltd", "country": "CA", "tax_id_last4": "0001"}
    before = get(srv, ctx, ctx["org"]["id"])
    admin_only = {"cost_per_lead": {"amount": 99999, "currency": "usd"},
                  "email": "owned@evil.example", "kind": "employee", "team_parent_id": ctx["acme"]["id"],
                  "recruited_by_id": ctx["acme"]["id"], "program_id": ctx["prog"]}
    for field, value in admin_only.items():
        r = srv.patch(url, {field: value}, key=k)
        expect(r, 403, field=field, etype="forbidden")
        # Mixed with an allowed member, nothing is applied.
        r = srv.patch(url, {"name": "Mixed", field: value}, key=k)
        expect(r, 403, field=field)
    expect(srv.patch(url, {"currency": "nope"}, key=k), 400, field="currency")
    assert get(srv, ctx, ctx["org"]["id"]) == before
    # A partner may add agents to its team (test_team_agents.py), but not set what only an admin sets.
    expect(srv.post(PARTNERS, {"program_id": ctx["prog"], "name": "x", "email": "new@x.example",
                               "cost_per_lead": {"amount": 100, "currency": "usd"}}, key=k), 403,
           field="cost_per_lead", etype="forbidden")
    # Admin-only routes.
    for action in ("suspend", "ban", "activate"):
        expect(srv.post(url + "/" + action, key=k), 403, etype="forbidden")
        expect(srv.post(PARTNERS + "/" + ctx["a1"]["id"] + "/" + action, key=k), 403)
    assert get(srv, ctx, ctx["org"]["id"])["status"] == "active"


def test_manager_key_changes_agents_not_the_organisation(srv, ctx):
    k = srv.admin_key(role="manager", partner=ctx["org"]["id"], name="manager")
    listed = expect(srv.get(PARTNERS + "?limit=100", key=k), 200)["data"]
    assert sorted(p["id"] for p in listed) == sorted([ctx["org"]["id"], ctx["a1"]["id"], ctx["a2"]["id"]])
    expect(srv.get(PARTNERS + "/" + ctx["acme"]["id"], key=k), 404)
    u = expect(srv.patch(PARTNERS + "/" + ctx["a1"]["id"], {"name": "Agent One (EMEA)"}, key=k), 200)
    assert u["name"] == "Agent One (EMEA)"
    before = get(srv, ctx, ctx["org"]["id"])
    expect(srv.patch(PARTNERS + "/" + ctx["org"]["id"], {"name": "Manager rename"}, key=k), 403, etype="forbidden")
    assert get(srv, ctx, ctx["org"]["id"]) == before
    expect(srv.patch(PARTNERS + "/" + ctx["a1"]["id"], {"cost_per_lead": {"amount": 1, "currency": "usd"}},
                     key=k), 403, field="cost_per_lead")
    expect(srv.patch(PARTNERS + "/" + ctx["a1"]["id"], {"team_parent_id": None}, key=k), 403,
           field="team_parent_id")
    expect(srv.post(PARTNERS + "/" + ctx["a1"]["id"] + "/suspend", key=k), 403)
    expect(srv.patch(PARTNERS + "/" + ctx["acme"]["id"], {"name": "x"}, key=k), 404)
    assert get(srv, ctx, ctx["a1"]["id"])["team_parent_id"] == ctx["org"]["id"]


def test_status_is_admin_only_for_partner_and_manager_credentials(srv, ctx):
    # status is one of the members only an admin may change: a partner or manager is told so (403 naming it),
    # not pointed at the /suspend, /ban and /activate routes it may not call either.
    mk = srv.admin_key(role="manager", partner=ctx["org"]["id"], name="manager 2")
    for k, pid in ((ctx["org_key"], ctx["org"]["id"]), (ctx["org_key"], ctx["a1"]["id"]), (mk, ctx["a1"]["id"])):
        for value in ("suspended", "banned", "active"):
            expect(srv.patch(PARTNERS + "/" + pid, {"status": value}, key=k), 403, field="status", etype="forbidden")
        expect(srv.patch(PARTNERS + "/" + pid, {"name": "Mixed", "status": "active"}, key=k), 403, field="status")
    assert get(srv, ctx, ctx["org"]["id"])["status"] == "active"
    assert get(srv, ctx, ctx["a1"]["id"])["name"] == "Agent One (EMEA)"


def test_moving_an_agent_out_of_the_team_removes_access(srv, ctx):
    k = ctx["org_key"]
    expect(srv.get(PARTNERS + "/" + ctx["a2"]["id"], key=k), 200)
    expect(srv.patch(PARTNERS + "/" + ctx["a2"]["id"], {"team_parent_id": None}, key=ctx["admin"]), 200)
    expect(srv.get(PARTNERS + "/" + ctx["a2"]["id"], key=k), 404)
    assert ctx["a2"]["id"] not in [p["id"] for p in expect(srv.get(PARTNERS, key=k), 200)["data"]]


def test_without_credentials_is_401(srv, ctx):
    pid = ctx["acme"]["id"]
    for method, path, body in [("GET", PARTNERS, None), ("POST", PARTNERS, {}), ("GET", PARTNERS + "/" + pid, None),
                               ("PATCH", PARTNERS + "/" + pid, {"name": "x"}),
                               ("POST", PARTNERS + "/" + pid + "/suspend", None),
                               ("POST", PARTNERS + "/" + pid + "/ban", None),
                               ("POST", PARTNERS + "/" + pid + "/activate", None)]:
        expect(srv.request(method, path, body=body), 401, etype="unauthorized")
    assert get(srv, ctx, pid)["name"] == "Acme Partners Inc"


# ---- concurrency ----

def _parallel(*fns):
    import threading
    out = [None] * len(fns)

    def run(i, f):
        out[i] = f()
    ts = [threading.Thread(target=run, args=(i, f)) for i, f in enumerate(fns)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return out


def test_concurrent_creates_with_one_email_make_one_partner(srv, ctx):
    def create():
        return srv.post(PARTNERS, {"program_id": ctx["prog"], "name": "Race", "email": "race@x.example"},
                        key=ctx["admin"]).status
    statuses = _parallel(*([create] * 8))
    assert sorted(statuses) == [201] + [409] * 7, statuses
    assert len(expect(srv.get(PARTNERS + "?q=race@x.example", key=ctx["admin"]), 200)["data"]) == 1


def test_concurrent_relation_changes_never_make_a_cycle(srv, ctx):
    for i in range(6):
        a = new(srv, ctx, name="Cyc A%d" % i, email="cyca%d@x.example" % i)
        b = new(srv, ctx, name="Cyc B%d" % i, email="cycb%d@x.example" % i)
        statuses = _parallel(
            lambda: srv.patch(PARTNERS + "/" + a["id"], {"recruited_by_id": b["id"]}, key=ctx["admin"]).status,
            lambda: srv.patch(PARTNERS + "/" + b["id"], {"recruited_by_id": a["id"]}, key=ctx["admin"]).status)
        assert sorted(statuses) == [200, 409], statuses
        ga, gb = get(srv, ctx, a["id"]), get(srv, ctx, b["id"])
        assert not (ga["recruited_by_id"] == b["id"] and gb["recruited_by_id"] == a["id"]), (ga, gb)


def test_concurrent_updates_of_different_members_are_both_kept(srv, ctx):
    # Two people editing different members of one partner at the same time must not undo each other's change.
    lost = []
    for i in range(12):
        p = new(srv, ctx, name="Concurrent %d" % i, email="conc%d@x.example" % i)
        url = PARTNERS + "/" + p["id"]
        statuses = _parallel(lambda: srv.patch(url, {"name": "Renamed %d" % i}, key=ctx["admin"]).status,
                             lambda: srv.patch(url, {"company": "Company %d" % i}, key=ctx["admin"]).status)
        assert statuses == [200, 200], statuses
        g = get(srv, ctx, p["id"])
        if g["name"] != "Renamed %d" % i or g["company"] != "Company %d" % i:
            lost.append((g["name"], g["company"]))
    assert not lost, "lost updates: %r" % lost


def _bulk_create(srv, key, bodies, workers=4):
    """Creates many partners quickly over a few keep-alive connections; returns them in input order."""
    import http.client
    import json
    import threading
    out = [None] * len(bodies)

    def work(start):
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
        for i in range(start, len(bodies), workers):
            conn.request("POST", PARTNERS, body=json.dumps(bodies[i]),
                         headers={"Authorization": "Bearer " + key, "Content-Type": "application/json"})
            r = conn.getresponse()
            data = r.read()
            assert r.status == 201, (r.status, data)
            out[i] = json.loads(data)
        conn.close()
    ts = [threading.Thread(target=work, args=(w,)) for w in range(workers)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert all(out), "some creates failed"
    return out


def test_search_with_filters_finds_matches_beyond_the_first_hundreds():
    # A filter narrows the search; it must not hide a match just because many partners elsewhere match too.
    s = Refd().start()
    try:
        key = s.admin_key()
        a = expect(s.post("/api/v1/programs", {"name": "Big", "currency": "usd"}, key=key), 201)["id"]
        b = expect(s.post("/api/v1/programs", {"name": "Small", "currency": "usd"}, key=key), 201)["id"]
        _bulk_create(s, key, [{"program_id": a, "kind": "customer", "name": "Filler %03d" % i,
                               "email": "f%03d@bulk.example" % i} for i in range(520)])
        target = expect(s.post(PARTNERS, {"program_id": b, "kind": "affiliate", "email": "zz@small.example",
                                          "name": "Filler 999 with a much longer name than all the others"},
                               key=key), 201)
        problems = []
        got = expect(s.get(PARTNERS + "?q=filler&program_id=" + b, key=key), 200)["data"]
        if [p["id"] for p in got] != [target["id"]]:
            problems.append("q=filler&program_id=<small> gave %d results, not the one match" % len(got))
        got = expect(s.get(PARTNERS + "?q=filler&kind=affiliate", key=key), 200)["data"]
        if [p["id"] for p in got] != [target["id"]]:
            problems.append("q=filler&kind=affiliate gave %d results, not the one match" % len(got))
        # Every match can be reached by paging through the search.
        items, _ = walk_pages(s, PARTNERS + "?q=filler", 100, key=key)
        ids = [p["id"] for p in items]
        assert len(ids) == len(set(ids)), "a search page repeated a partner"
        if len(ids) != 521 or target["id"] not in ids:
            problems.append("paging through q=filler reached %d of 521 matches" % len(ids))
        assert not problems, problems
    finally:
        s.cleanup()


def test_search_by_email_domain(srv, ctx):
    # Typing "@northwind.example" (or the bare domain) finds everyone with an address there.
    want = {ctx["org"]["id"], ctx["a1"]["id"], ctx["a2"]["id"]}
    for q in ("northwind.example", "@northwind.example"):
        got = {p["id"] for p in expect(srv.get(PARTNERS + "?q=" + q + "&limit=100", key=ctx["admin"]), 200)["data"]}
        assert want <= got, (q, got)


# ---- search: fragments with punctuation, and what q may hold ----

def search_ids(srv, ctx, q, extra=""):
    """The ids a search returns, best first; q is sent percent-encoded, as a browser's URLSearchParams would."""
    body = expect(srv.get(PARTNERS + "?limit=100&q=" + quote(q, safe="") + extra, key=ctx["admin"]), 200)
    return [p["id"] for p in body["data"]]


def test_search_by_a_piece_of_an_email_holding_an_at_sign(srv, ctx):
    dana = new(srv, ctx, name="Dana Reyes", email="dana.reyes@northwind.example")
    # The same words in another order or other fields, but not the same text.
    words = new(srv, ctx, name="Reyes North", email="rn@decoy.example", company="Northwind Exports")
    ana = new(srv, ctx, name="Ana Reyes", email="ana@reyes-northwind.example")
    for q in ("reyes@", "reyes@north", "a.reyes@northwind.ex", "REYES@North", "es@no", "dana.reyes@",
              "dana.reyes@northwind.example", " reyes@north "):
        assert search_ids(srv, ctx, q) == [dana["id"]], q
    got = search_ids(srv, ctx, "@northwind.example")
    assert {dana["id"], ctx["org"]["id"], ctx["a1"]["id"], ctx["a2"]["id"]} <= set(got), got
    assert words["id"] not in got and ana["id"] not in got, got
    # What found her before still does.
    for q in ("reyes", "@northwind", "dana reyes", "dana r.", "d. reyes"):
        assert dana["id"] in search_ids(srv, ctx, q), q
    # A fragment with punctuation narrows a search of words, and the other way round.
    assert search_ids(srv, ctx, "dana reyes@north") == [dana["id"]]
    assert search_ids(srv, ctx, "ana reyes@north") == []
    assert search_ids(srv, ctx, "reyes@north", "&kind=agent") == []


def test_search_fragments_with_punctuation_rank_like_words(srv, ctx):
    # Created oldest first in the order opposite to the ranking, so "newest first" cannot pass for it.
    in_company = new(srv, ctx, name="Una Corp", email="una@rank-c.example", company="Smith-Jones Ltd")
    in_email = new(srv, ctx, name="Ian Mail", email="ian.smith-jones@rank-b.example")
    in_name = new(srv, ctx, name="Kim Smith-Jones", email="kim@rank-a.example")
    email_prefix = new(srv, ctx, name="Eve Prefix", email="smith-jones@rank-d.example")
    name_prefix = new(srv, ctx, name="Smith-Jones Holdings", email="sjh@rank-e.example")
    spaced = new(srv, ctx, name="Kim Smith Jones", email="ksj@rank-f.example")
    got = search_ids(srv, ctx, "smith-jones")
    assert spaced["id"] not in got, "a hyphen matches a hyphen, not a space"
    assert got == [name_prefix["id"], email_prefix["id"], in_name["id"], in_email["id"], in_company["id"]], got
    # An exact email still comes first.
    got = search_ids(srv, ctx, "Smith-Jones@Rank-D.Example")
    assert got[0] == email_prefix["id"], got
    # The plain word ranks the same way: name, then email, then company.
    got = search_ids(srv, ctx, "smith")
    assert got.index(in_name["id"]) < got.index(in_email["id"]) < got.index(in_company["id"]), got


def test_search_punctuation_and_search_syntax_match_literally(srv, ctx):
    tagged = new(srv, ctx, name="Lee Tagged", email="lee+referrals@lit.example")
    dotted = new(srv, ctx, name="Lee Referrals", email="lee.referrals@lit.example")
    oneil = new(srv, ctx, name="Pat O'Neil", email="pat@lit.example")
    o_neil = new(srv, ctx, name="Pat O Neil", email="patoneil@lit.example")
    quoted = new(srv, ctx, name='Jo "JJ" Jones', email="jj@lit.example")
    star = new(srv, ctx, name="Nova Stern", email="nova@lit.example", company="Star*Corp")
    starling = new(srv, ctx, name="Starling Corp", email="starling@lit.example")
    caret = new(srv, ctx, name="Max^Power", email="max@lit.example")
    near = new(srv, ctx, name="Sam Orr Lee", email="sol@lit.example")
    sam_lee = new(srv, ctx, name="Sam Lee", email="sam.lee@lit.example")
    colon = new(srv, ctx, name="Ops", email="ops@lit.example", company="Team:Ops")
    cases = [
        ("lee+referrals", [tagged]), ("e+r", [tagged]), ("lee.referrals", [dotted]),
        ("o'neil", [oneil]), ('"jj"', [quoted]), ('jo "jj', [quoted]), ('"jj" jones', [quoted]),
        ("star*", [star]), ("r*c", [star]), ("max^", [caret]), ("^power", [caret]), ("team:ops", [colon]),
        # Search syntax is text like any other: none of these is an operator.
        ("sam or lee", [near]), ("sam OR lee", [near]), ("NEAR(sam", []), ("NEAR(sam lee)", []), ("sam*", []),
        ("^sam", []), ('"sam', []), ("sam:lee", []), ("-sam", []), ("lee AND sam", []), ("{sam lee}", []),
        ("sam + lee", [sam_lee, near]),
    ]
    mine = {p["id"] for p in (tagged, dotted, oneil, o_neil, quoted, star, starling, caret, near, sam_lee, colon)}
    for q, want in cases:
        got = [i for i in search_ids(srv, ctx, q) if i in mine]
        assert sorted(got) == sorted(p["id"] for p in want), (q, got)


def test_search_of_punctuation_or_spaces_alone_matches_nothing(srv, ctx):
    for q in ("@", "...", "-", '"*()', " ", "   ", "@ .", "+", "*", '""', "()", "@@@", "'", "%", "_",
              "\\", "&"):
        assert search_ids(srv, ctx, q) == [], q
    # A raw '+' in a query string is a space, as in any form encoding: on its own it is a blank search.
    assert expect(srv.get(PARTNERS + "?q=+", key=ctx["admin"]), 200)["data"] == []
    # '%' and '_' are text, never LIKE patterns.
    assert search_ids(srv, ctx, "a%b") == [] and search_ids(srv, ctx, "a_b") == []


def test_search_text_with_control_characters_is_refused(srv, ctx):
    before = search_ids(srv, ctx, "reyes")
    for q in ("%00", "abc%00", "%00abc", "reyes%00%40", "%01", "%09abc", "abc%0A", "%0D", "%1B", "%7F",
              "%C2%85", "%C2%9F", "%FF", "%C0%AE", "%ED%A0%80"):
        r = srv.get(PARTNERS + "?q=" + q, key=ctx["admin"])
        expect(r, 400, field="q", etype="invalid_request")
        assert "q" in r.json["error"]["message"], r
    # With other filters too, and whatever the order of the parameters.
    expect(srv.get(PARTNERS + "?status=active&q=%00", key=ctx["admin"]), 400, field="q")
    expect(srv.get(PARTNERS + "?q=%00&status=active", key=ctx["admin"]), 400, field="q")
    # A NUL cuts no other parameter short either.
    for name, value in (("program_id", ctx["prog"] + "%00"), ("status", "active%00"), ("kind", "agent%00x"),
                        ("team_parent_id", "%00"), ("recruited_by_id", "%00"), ("plan_id", "%00"),
                        ("starting_after", "%00"), ("limit", "5%00")):
        expect(srv.get(PARTNERS + "?" + name + "=" + value, key=ctx["admin"]), 400, field=name)
    assert search_ids(srv, ctx, "reyes") == before


def test_search_text_of_ordinary_unicode_is_kept(srv, ctx):
    yamada = new(srv, ctx, name="山田 太郎", email="yamada@uni.example")
    accented = new(srv, ctx, name="Renée Lefèvre-Dubois", email="renee@uni.example")
    assert ctx["zoe"]["id"] in search_ids(srv, ctx, "Zoë")
    assert search_ids(srv, ctx, "山田") == [yamada["id"]]
    assert search_ids(srv, ctx, "lefevre") == [accented["id"]], "a word ignores accents"
    assert search_ids(srv, ctx, "Lefèvre-Dubois") == [accented["id"]], "a literal fragment ignores case"
    assert search_ids(srv, ctx, "renée lefèvre-d") == [accented["id"]]
    # A tab is a control character, not a space.
    expect(srv.get(PARTNERS + "?q=ren%C3%A9e%09lef%C3%A8vre", key=ctx["admin"]), 400, field="q")


def test_search_text_may_be_as_long_as_an_email_address(srv, ctx):
    # The longest thing a search can match whole is an email address: 254 bytes.
    email = "l" * 64 + "@" + "d" * 63 + "." + "e" * 63 + "." + "f" * 53 + ".example"
    assert len(email) == 254
    p = new(srv, ctx, name="Long Address", email=email)
    assert search_ids(srv, ctx, email)[0] == p["id"]
    assert search_ids(srv, ctx, "  " + email[100:] + "  ") == [p["id"]]
    assert search_ids(srv, ctx, "é" * 127) == []
    expect(srv.get(PARTNERS + "?q=" + "a" * 255, key=ctx["admin"]), 400, field="q")
    expect(srv.get(PARTNERS + "?q=" + "%C3%A9" * 128, key=ctx["admin"]), 400, field="q")


MIGRATIONS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src", "store", "migrations")


def test_a_database_from_before_literal_search_gains_it_when_migrated():
    # A database that migrations 1 to 9 made, with partners in it, as an instance upgraded in place has.
    work = tempfile.mkdtemp(prefix="refd-old-db-")
    srv = None
    try:
        db = os.path.join(work, "old.db")
        con = sqlite3.connect(db)
        con.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                    "applied_at INTEGER NOT NULL) STRICT")
        for path in sorted(glob.glob(os.path.join(MIGRATIONS, "*.sql"))):
            version, name = os.path.basename(path)[:-4].split("_", 1)
            if int(version) > 9:
                break
            con.executescript(open(path).read())
            con.execute("INSERT INTO schema_migrations VALUES (?, ?, 0)", (int(version), name))
        con.execute("INSERT INTO programs (id, name, currency, cookie_window_days, attribution_model, "
                    "holding_period_days, payout_threshold, tracking_params, created_at, updated_at) "
                    "VALUES ('prg_old', 'Old', 'USD', 30, 'last_click', 30, 0, 'via', 1, 1)")
        for i, (name, email) in enumerate([("Dana Reyes", "dana.reyes@northwind.example"),
                                           ("Lee Tagged", "lee+referrals@lit.example"),
                                           ("Reyes North", "rn@decoy.example")]):
            con.execute("INSERT INTO partners (id, program_id, kind, status, name, email, currency, cost_per_lead, "
                        "cost_per_lead_currency, created_at, updated_at) "
                        "VALUES (?, 'prg_old', 'partner', 'active', ?, ?, 'USD', 0, 'USD', ?, ?)",
                        ("ptn_old%d" % i, name, email, i + 1, i + 1))
        con.commit()
        con.close()
        p = subprocess.run([BINARY, "migrate", "--db", db], capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p
        srv = Refd(db_kind="sqlite")  # an upgrade in place of a SQLite file
        shutil.copy(db, srv.db)
        srv.start()
        key = srv.admin_key()
        c = {"admin": key}
        assert search_ids(srv, c, "reyes@north") == ["ptn_old0"]
        assert search_ids(srv, c, "lee+referrals") == ["ptn_old1"]
        assert sorted(search_ids(srv, c, "reyes")) == ["ptn_old0", "ptn_old2"]
        # And the new index follows later changes.
        expect(srv.patch(PARTNERS + "/ptn_old0", {"email": "dana@southwind.example"}, key=key), 200)
        assert search_ids(srv, c, "reyes@north") == []
        assert search_ids(srv, c, "a@southw") == ["ptn_old0"]
    finally:
        if srv:
            srv.cleanup()
        shutil.rmtree(work, ignore_errors=True)
