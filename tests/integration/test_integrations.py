# SPDX-License-Identifier: Apache-2.0
"""Connections to other systems (/api/v1/integrations, docs in README.md "Connecting Paddle and Chargebee"): a
system connected once per program, its credentials checked against what the system takes, shown once and sealed
with the instance key (never returned again, never in clear in the database), the webhook URL to paste into the
system, settings, a stage map checked against refd's lead statuses, a base URL for outbound calls, the inbound log,
changes and removal; and who may do it."""
import json

from harness import db_rows, expect

CONNS = "/api/v1/integrations"
PADDLE_SECRET = "pdl_ntfset_01kdrefd_connection_test_secret"
CB_PASSWORD = "fixture-password-not-real"


def setup(srv):
    admin = srv.admin_key()
    prog = expect(srv.post("/api/v1/programs", {"name": "Connected", "currency": "usd"}, key=admin), 201)["id"]
    other = expect(srv.post("/api/v1/programs", {"name": "Other", "currency": "eur"}, key=admin), 201)["id"]
    ptn = expect(srv.post("/api/v1/partners", {"program_id": prog, "name": "P", "email": "p@conn.example"},
                          key=admin), 201)["id"]
    return {"admin": admin, "prog": prog, "other": other, "ptn": ptn,
            "manager": srv.admin_key(role="manager", partner=ptn, name="m"),
            "partner": srv.admin_key(role="partner", partner=ptn, name="p")}


def sealed_column(srv, conn_id):
    rows = db_rows(srv, "SELECT credentials_sealed AS s FROM connections WHERE id = ?", (conn_id,))
    assert rows, conn_id
    v = rows[0]["s"]
    return v if isinstance(v, (bytes, bytearray, memoryview)) else str(v).encode()


def test_connecting_paddle_shows_the_secret_once_and_seals_it(srv, ctx):
    r = srv.post(CONNS, {"program_id": ctx["prog"], "system": "paddle", "name": "Paddle live",
                         "credentials": {"webhook_secret": PADDLE_SECRET}}, key=ctx["admin"])
    c = expect(r, 201)
    assert c["object"] == "connection" and c["id"].startswith("conn_") and c["system"] == "paddle", c
    assert c["kind"] == "billing" and c["status"] == "enabled" and c["name"] == "Paddle live", c
    assert c["credentials"] == {"webhook_secret": PADDLE_SECRET}, "shown once, at creation: %r" % c
    assert c["credential_keys"] == ["webhook_secret"], c
    assert c["webhook_url"] == "http://127.0.0.1:%d/api/v1/integrations/paddle/webhook?connection=%s" % (
        srv.port, c["id"]), c
    assert c["stage_map"] == {} and c["settings"] == {} and c["last_event_at"] is None, c
    ctx["paddle"] = c
    # Never again: not in a read, a list or a change.
    for got in (expect(srv.get(CONNS + "/" + c["id"], key=ctx["admin"]), 200),
                expect(srv.get(CONNS + "?program_id=" + ctx["prog"], key=ctx["admin"]), 200),
                expect(srv.patch(CONNS + "/" + c["id"], {"name": "Paddle"}, key=ctx["admin"]), 200)):
        text = json.dumps(got)
        assert PADDLE_SECRET not in text and '"credentials"' not in text, got
    # Sealed in the database: the column holds neither the secret nor a part of it.
    raw = bytes(sealed_column(srv, c["id"]))
    assert raw and PADDLE_SECRET.encode() not in raw and b"connection_test_secret" not in raw, raw[:80]
    assert b"webhook_secret" not in raw, "the names are sealed with the values"


def test_chargebee_gets_a_generated_password_shown_once(srv, ctx):
    c = expect(srv.post(CONNS, {"program_id": ctx["prog"], "system": "chargebee"}, key=ctx["admin"]), 201)
    creds = c["credentials"]
    assert creds["username"] == "refd" and len(creds["password"]) >= 30, creds
    assert c["credential_keys"] == ["password", "username"], c
    assert creds["password"].encode() not in bytes(sealed_column(srv, c["id"]))
    assert "password" not in json.dumps(expect(srv.get(CONNS + "/" + c["id"], key=ctx["admin"]), 200)["settings"])
    # A password of one's own replaces it.
    expect(srv.patch(CONNS + "/" + c["id"], {"credentials": {"username": "refd-webhook", "password": CB_PASSWORD}},
                     key=ctx["admin"]), 200)
    raw = bytes(sealed_column(srv, c["id"]))
    assert CB_PASSWORD.encode() not in raw and creds["password"].encode() not in raw
    ctx["chargebee"] = c


def test_a_program_connects_a_system_once(srv, ctx):
    r = srv.post(CONNS, {"program_id": ctx["prog"], "system": "paddle",
                         "credentials": {"webhook_secret": "pdl_ntfset_again"}}, key=ctx["admin"])
    expect(r, 409, field="system")
    # Another program may.
    c = expect(srv.post(CONNS, {"program_id": ctx["other"], "system": "paddle",
                                "credentials": {"webhook_secret": "pdl_ntfset_other"}}, key=ctx["admin"]), 201)
    assert c["program_id"] == ctx["other"], c
    listed = expect(srv.get(CONNS + "?program_id=" + ctx["other"], key=ctx["admin"]), 200)["data"]
    assert [x["id"] for x in listed] == [c["id"]], listed
    ctx["other_paddle"] = c["id"]


def test_bad_input_is_refused_naming_the_member_and_changes_nothing(srv, ctx):
    before = db_rows(srv, "SELECT count(*) AS n FROM connections")[0]["n"]
    p = ctx["prog"]
    cases = [
        ({"program_id": p}, "system"),
        ({"program_id": p, "system": "stripe"}, "system"),
        ({"program_id": p, "system": "quickbooks"}, "system"),
        ({"program_id": "prg_none", "system": "pipedrive"}, "program_id"),
        ({"program_id": p, "system": "hubspot", "status": "paused"}, "status"),
        ({"program_id": p, "system": "hubspot", "credentials": {"Access-Token": "x"}}, "credentials.Access-Token"),
        ({"program_id": p, "system": "hubspot", "credentials": {"token": 7}}, "credentials.token"),
        ({"program_id": p, "system": "hubspot", "credentials": {"token": ""}}, "credentials.token"),
        ({"program_id": p, "system": "hubspot", "credentials": {"token": "x" * 4097}}, "credentials.token"),
        ({"program_id": p, "system": "hubspot", "stage_map": {"closedwon": "paid"}}, "stage_map"),
        ({"program_id": p, "system": "hubspot", "stage_map": {"closedwon": "pending_review"}}, "stage_map"),
        ({"program_id": p, "system": "hubspot", "stage_map": {"closedwon": 3}}, "stage_map"),
        ({"program_id": p, "system": "hubspot", "stage_map": ["converted"]}, "stage_map"),
        ({"program_id": p, "system": "hubspot", "base_url": "ftp://crm.example"}, "base_url"),
        ({"program_id": p, "system": "hubspot", "base_url": "https://crm.example/?x=1"}, "base_url"),
        ({"program_id": p, "system": "hubspot", "settings": {"page_size": "ten"}}, "settings.page_size"),
        ({"program_id": p, "system": "hubspot", "zz": 1}, "zz"),
    ]
    problems = []
    for body, field in cases:
        r = srv.post(CONNS, body, key=ctx["admin"])
        if r.status != 400 or ((r.json or {}).get("error") or {}).get("field") != field:
            problems.append((body, field, r))
    # The system's own rules, on a program without that system.
    o = ctx["other"]
    for body, field in [({"program_id": o, "system": "chargebee", "credentials": {"webhook_secret": "x"}},
                         "credentials.webhook_secret"),
                        ({"program_id": o, "system": "chargebee", "settings": {"tolerance_seconds": 5}},
                         "settings.tolerance_seconds"),
                        ({"program_id": o, "system": "chargebee", "settings": {"sale_kind": "first"}},
                         "settings.sale_kind"),
                        ({"program_id": o, "system": "pipedrive", "settings": {"sale_kind": "renewal"}},
                         "settings.sale_kind")]:
        r = srv.post(CONNS, body, key=ctx["admin"])
        if r.status != 400 or ((r.json or {}).get("error") or {}).get("field") != field:
            problems.append((body, field, r))
    assert not problems, problems
    # Paddle needs its secret; its tolerance is 1 to 3600 seconds.
    third = expect(srv.post("/api/v1/programs", {"name": "Third", "currency": "usd"}, key=ctx["admin"]), 201)["id"]
    expect(srv.post(CONNS, {"program_id": third, "system": "paddle"}, key=ctx["admin"]), 400, field="credentials")
    expect(srv.post(CONNS, {"program_id": third, "system": "paddle", "credentials": {"webhook_secret": "s"},
                            "settings": {"tolerance_seconds": 0}}, key=ctx["admin"]), 400,
           field="settings.tolerance_seconds")
    # A change is refused the same way, and a connection's program and system never change.
    cid = ctx["paddle"]["id"]
    for body, field in [({"credentials": {"webhook_secret": None}}, "credentials"), ({"system": "chargebee"}, "system"),
                        ({"program_id": ctx["other"]}, "program_id"), ({"status": "off"}, "status"),
                        ({"stage_map": {"a": "won"}}, "stage_map")]:
        expect(srv.patch(CONNS + "/" + cid, body, key=ctx["admin"]), 400, field=field)
    assert db_rows(srv, "SELECT count(*) AS n FROM connections")[0]["n"] == before
    assert expect(srv.get(CONNS + "/" + cid, key=ctx["admin"]), 200)["credential_keys"] == ["webhook_secret"]


def test_a_crm_connection_takes_a_stage_map_credentials_of_its_own_and_a_base_url(srv, ctx):
    body = {"program_id": ctx["prog"], "system": "hubspot", "credentials": {"access_token": "pat-na1-secret",
                                                                            "client_secret": "cs-secret"},
            "stage_map": {"appointmentscheduled": "contacted", "qualifiedtobuy": "qualified",
                          "closedwon": "converted", "closedlost": "lost"},
            "base_url": "http://127.0.0.1:9/hubspot/", "settings": {"page_size": 50}}
    c = expect(srv.post(CONNS, body, key=ctx["admin"]), 201)
    assert c["kind"] == "crm" and c["credential_keys"] == ["access_token", "client_secret"], c
    assert c["stage_map"] == body["stage_map"] and c["settings"] == {"page_size": 50}, c
    assert c["base_url"] == "http://127.0.0.1:9/hubspot", "stored without the trailing slash: %r" % c
    # Back to HubSpot's own address, a stage map replaced as a whole, a credential removed.
    c = expect(srv.patch(CONNS + "/" + c["id"], {"base_url": None, "stage_map": {"closedwon": "converted"},
                                                 "credentials": {"client_secret": None}}, key=ctx["admin"]), 200)
    assert c["base_url"] == "https://api.hubapi.com" and c["stage_map"] == {"closedwon": "converted"}, c
    assert c["credential_keys"] == ["access_token"], c
    pipedrive = expect(srv.post(CONNS, {"program_id": ctx["prog"], "system": "pipedrive"}, key=ctx["admin"]), 201)
    assert pipedrive["credentials"] == {} and pipedrive["credential_keys"] == [], pipedrive
    salesforce = expect(srv.post(CONNS, {"program_id": ctx["prog"], "system": "salesforce"}, key=ctx["admin"]), 201)
    assert salesforce["base_url"] is None, "Salesforce has an address per organisation: %r" % salesforce
    ctx["hubspot"] = c["id"]


def test_changes_disable_and_rotate(srv, ctx):
    cid = ctx["paddle"]["id"]
    c = expect(srv.patch(CONNS + "/" + cid, {"status": "disabled", "name": None,
                                             "credentials": {"webhook_secret": "pdl_ntfset_rotated"},
                                             "settings": {"tolerance_seconds": 60}}, key=ctx["admin"]), 200)
    assert c["status"] == "disabled" and c["name"] is None and c["settings"] == {"tolerance_seconds": 60}, c
    raw = bytes(sealed_column(srv, cid))
    assert b"rotated" not in raw and PADDLE_SECRET.encode() not in raw
    c = expect(srv.patch(CONNS + "/" + cid, {"status": "enabled", "settings": {"tolerance_seconds": None}},
                         key=ctx["admin"]), 200)
    assert c["status"] == "enabled" and c["settings"] == {}, c
    assert c["updated_at"] >= c["created_at"], c


def test_the_inbound_log_of_a_new_connection_is_empty(srv, ctx):
    cid = ctx["paddle"]["id"]
    page = expect(srv.get(CONNS + "/%s/events" % cid, key=ctx["admin"]), 200)
    assert page == {"object": "list", "data": [], "has_more": False}, page
    expect(srv.get(CONNS + "/%s/events?outcome=lost" % cid, key=ctx["admin"]), 400, field="outcome")
    expect(srv.get(CONNS + "/conn_none/events", key=ctx["admin"]), 404)
    expect(srv.get(CONNS + "/%s/events?starting_after=ibe_none" % cid, key=ctx["admin"]), 400,
           field="starting_after")


def test_only_admins_see_or_change_connections(srv, ctx):
    cid = ctx["paddle"]["id"]
    for key in (ctx["manager"], ctx["partner"]):
        expect(srv.get(CONNS, key=key), 403)
        expect(srv.get(CONNS + "/" + cid, key=key), 403)
        expect(srv.get(CONNS + "/%s/events" % cid, key=key), 403)
        expect(srv.post(CONNS, {"program_id": ctx["prog"], "system": "chargebee"}, key=key), 403)
        expect(srv.patch(CONNS + "/" + cid, {"name": "mine"}, key=key), 403)
        expect(srv.delete(CONNS + "/" + cid, key=key), 403)
    expect(srv.get(CONNS), 401)


def test_lists_page_through_every_connection(srv, ctx):
    seen, after = [], None
    while True:
        url = CONNS + "?limit=2" + ("&starting_after=" + after if after else "")
        page = expect(srv.get(url, key=ctx["admin"]), 200)
        seen += [c["id"] for c in page["data"]]
        if not page["has_more"]:
            break
        after = page["data"][-1]["id"]
    assert len(seen) == len(set(seen)) == db_rows(srv, "SELECT count(*) AS n FROM connections")[0]["n"], seen


def test_removing_a_connection_takes_its_log_and_leaves_others(srv, ctx):
    cid = ctx["hubspot"]
    gone = expect(srv.delete(CONNS + "/" + cid, key=ctx["admin"]), 200)
    assert gone["deleted"] is True and gone["id"] == cid and "credentials" not in gone, gone
    expect(srv.get(CONNS + "/" + cid, key=ctx["admin"]), 404)
    expect(srv.delete(CONNS + "/" + cid, key=ctx["admin"]), 404)
    assert db_rows(srv, "SELECT count(*) AS n FROM connections WHERE id = ?", (cid,))[0]["n"] == 0
    expect(srv.get(CONNS + "/" + ctx["paddle"]["id"], key=ctx["admin"]), 200)
    # The program may connect the system again.
    expect(srv.post(CONNS, {"program_id": ctx["prog"], "system": "hubspot"}, key=ctx["admin"]), 201)
