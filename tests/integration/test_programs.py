# SPDX-License-Identifier: Apache-2.0
"""Programs: create with defaults, read, list, update, validation of every member, and who may do what."""
from harness import expect, walk_pages

PROGRAMS = "/api/v1/programs"


def setup(srv):
    return {"admin": srv.admin_key(), "owner": srv.admin_key(role="owner", name="owner")}


def count_programs(srv, key):
    items, _ = walk_pages(srv, PROGRAMS, 100, key=key)
    return len(items)


def test_empty_instance_lists_no_programs(srv, ctx):
    body = expect(srv.get(PROGRAMS, key=ctx["admin"]), 200)
    assert body == {"object": "list", "data": [], "has_more": False}, body


def test_create_with_defaults(srv, ctx):
    r = srv.post(PROGRAMS, {"name": "Main programme", "currency": "usd"}, key=ctx["admin"])
    p = expect(r, 201)
    assert p["id"].startswith("prg_") and len(p["id"]) > 8, p
    assert p["object"] == "program"
    assert p["name"] == "Main programme"
    assert p["currency"] == "usd"
    assert p["cookie_window_days"] == 90
    assert p["attribution_model"] == "last_click"
    assert p["holding_period_days"] == 30
    assert p["payout_threshold"] == {"amount": 0, "currency": "usd"}
    assert p["tracking_params"] == ["via", "ref"]
    assert p["created_at"] and p["created_at"] == p["updated_at"]
    assert p["created_at"].endswith("Z")
    ctx["main"] = p
    # What was returned is what is stored.
    assert expect(srv.get(PROGRAMS + "/" + p["id"], key=ctx["admin"]), 200) == p


def test_create_with_every_member(srv, ctx):
    body = {
        "name": "Yen programme",
        "currency": "JPY",
        "cookie_window_days": 30,
        "attribution_model": "first_click",
        "holding_period_days": 0,
        "payout_threshold": {"amount": 10000, "currency": "jpy"},
        "tracking_params": ["aff", "partner_code", "x-ref"],
    }
    p = expect(srv.post(PROGRAMS, body, key=ctx["admin"]), 201)
    assert p["currency"] == "jpy", "currency is returned lower-case"
    assert p["cookie_window_days"] == 30
    assert p["attribution_model"] == "first_click"
    assert p["holding_period_days"] == 0
    assert p["payout_threshold"] == {"amount": 10000, "currency": "jpy"}
    assert p["tracking_params"] == ["aff", "partner_code", "x-ref"]
    ctx["yen"] = p
    got = expect(srv.get(PROGRAMS + "/" + p["id"], key=ctx["admin"]), 200)
    assert got == p


def test_boundaries_are_accepted(srv, ctx):
    body = {"name": "Edge", "currency": "bhd", "cookie_window_days": 3650, "holding_period_days": 3650,
            "tracking_params": ["a" * 32, "b", "c", "d", "e", "f", "g", "h"]}
    p = expect(srv.post(PROGRAMS, body, key=ctx["admin"]), 201)
    assert p["cookie_window_days"] == 3650 and p["holding_period_days"] == 3650
    assert len(p["tracking_params"]) == 8
    p = expect(srv.post(PROGRAMS, {"name": "Edge 2", "currency": "eur", "cookie_window_days": 1},
                        key=ctx["admin"]), 201)
    assert p["cookie_window_days"] == 1


BAD_CREATES = [
    ({"currency": "usd"}, "name"),
    ({"name": "", "currency": "usd"}, "name"),
    ({"name": None, "currency": "usd"}, "name"),
    ({"name": 42, "currency": "usd"}, "name"),
    ({"name": "x" * 201, "currency": "usd"}, "name"),
    ({"name": "ok"}, "currency"),
    ({"name": "ok", "currency": "xyz"}, "currency"),
    ({"name": "ok", "currency": "us"}, "currency"),
    ({"name": "ok", "currency": "usdd"}, "currency"),
    ({"name": "ok", "currency": "u$d"}, "currency"),
    ({"name": "ok", "currency": ""}, "currency"),
    ({"name": "ok", "currency": "XAU"}, "currency"),
    ({"name": "ok", "currency": 840}, "currency"),
    ({"name": "ok", "currency": "usd", "cookie_window_days": 0}, "cookie_window_days"),
    ({"name": "ok", "currency": "usd", "cookie_window_days": -5}, "cookie_window_days"),
    ({"name": "ok", "currency": "usd", "cookie_window_days": 3651}, "cookie_window_days"),
    ({"name": "ok", "currency": "usd", "cookie_window_days": "90"}, "cookie_window_days"),
    ({"name": "ok", "currency": "usd", "cookie_window_days": 1.5}, "cookie_window_days"),
    ({"name": "ok", "currency": "usd", "cookie_window_days": True}, "cookie_window_days"),
    ({"name": "ok", "currency": "usd", "holding_period_days": -1}, "holding_period_days"),
    ({"name": "ok", "currency": "usd", "holding_period_days": 3651}, "holding_period_days"),
    ({"name": "ok", "currency": "usd", "attribution_model": "linear"}, "attribution_model"),
    ({"name": "ok", "currency": "usd", "attribution_model": "LAST_CLICK"}, "attribution_model"),
    ({"name": "ok", "currency": "usd", "attribution_model": 1}, "attribution_model"),
    ({"name": "ok", "currency": "usd", "payout_threshold": 5000}, "payout_threshold"),
    ({"name": "ok", "currency": "usd", "payout_threshold": {"amount": 5000}}, "payout_threshold"),
    ({"name": "ok", "currency": "usd", "payout_threshold": {"amount": 50.5, "currency": "usd"}}, "payout_threshold"),
    ({"name": "ok", "currency": "usd", "payout_threshold": {"amount": "50", "currency": "usd"}}, "payout_threshold"),
    ({"name": "ok", "currency": "usd", "payout_threshold": {"amount": -1, "currency": "usd"}}, "payout_threshold"),
    ({"name": "ok", "currency": "usd", "payout_threshold": {"amount": 100, "currency": "eur"}}, "payout_threshold"),
    ({"name": "ok", "currency": "usd", "payout_threshold": {"amount": 100, "currency": "zzz"}}, "payout_threshold"),
    ({"name": "ok", "currency": "usd", "payout_threshold": {"amount": 1, "currency": "usd", "x": 1}},
     "payout_threshold"),
    ({"name": "ok", "currency": "usd", "tracking_params": []}, "tracking_params"),
    ({"name": "ok", "currency": "usd", "tracking_params": "via"}, "tracking_params"),
    ({"name": "ok", "currency": "usd", "tracking_params": [1]}, "tracking_params"),
    ({"name": "ok", "currency": "usd", "tracking_params": ["Via"]}, "tracking_params"),
    ({"name": "ok", "currency": "usd", "tracking_params": ["a b"]}, "tracking_params"),
    ({"name": "ok", "currency": "usd", "tracking_params": [""]}, "tracking_params"),
    ({"name": "ok", "currency": "usd", "tracking_params": ["a" * 33]}, "tracking_params"),
    ({"name": "ok", "currency": "usd", "tracking_params": ["via", "via"]}, "tracking_params"),
    ({"name": "ok", "currency": "usd", "tracking_params": list("abcdefghi")}, "tracking_params"),
    ({"name": "ok", "currency": "usd", "id": "prg_mine"}, "id"),
    ({"name": "ok", "currency": "usd", "Name": "dup"}, "Name"),
    ({"name": "ok", "currency": "usd", "created_at": "2020-01-01T00:00:00Z"}, "created_at"),
]


def test_invalid_creates_are_refused_and_change_nothing(srv, ctx):
    before = count_programs(srv, ctx["admin"])
    for body, field in BAD_CREATES:
        r = srv.post(PROGRAMS, body, key=ctx["admin"])
        assert r.status == 400, (body, r)
        assert r.json["error"]["type"] == "invalid_request", (body, r)
        assert r.json["error"]["field"] == field, (body, field, r)
        assert r.json["error"]["message"], r
    assert count_programs(srv, ctx["admin"]) == before


def test_update_changes_only_what_is_given(srv, ctx):
    p = ctx["main"]
    r = srv.patch(PROGRAMS + "/" + p["id"], {"cookie_window_days": 60, "attribution_model": "first_click"},
                  key=ctx["admin"])
    u = expect(r, 200)
    assert u["cookie_window_days"] == 60 and u["attribution_model"] == "first_click"
    for k in ("name", "currency", "holding_period_days", "payout_threshold", "tracking_params", "created_at", "id"):
        assert u[k] == p[k], k
    assert u["updated_at"] >= p["updated_at"]
    got = expect(srv.get(PROGRAMS + "/" + p["id"], key=ctx["admin"]), 200)
    assert got == u
    u = expect(srv.patch(PROGRAMS + "/" + p["id"], {"payout_threshold": {"amount": 5000, "currency": "USD"},
                                                     "tracking_params": ["ref"], "name": "Renamed"},
                         key=ctx["admin"]), 200)
    assert u["payout_threshold"] == {"amount": 5000, "currency": "usd"}
    assert u["tracking_params"] == ["ref"] and u["name"] == "Renamed"
    ctx["main"] = u


def test_update_with_empty_object_changes_nothing(srv, ctx):
    p = ctx["main"]
    u = expect(srv.patch(PROGRAMS + "/" + p["id"], {}, key=ctx["admin"]), 200)
    for k in p:
        if k != "updated_at":
            assert u[k] == p[k], k


def test_currency_change_needs_threshold_in_new_currency(srv, ctx):
    p = ctx["main"]
    assert p["payout_threshold"]["amount"] == 5000
    url = PROGRAMS + "/" + p["id"]
    expect(srv.patch(url, {"currency": "eur"}, key=ctx["admin"]), 400, field="payout_threshold")
    expect(srv.patch(url, {"currency": "eur", "payout_threshold": {"amount": 4000, "currency": "usd"}},
                     key=ctx["admin"]), 400, field="payout_threshold")
    got = expect(srv.get(url, key=ctx["admin"]), 200)
    assert got["currency"] == "usd" and got["payout_threshold"] == {"amount": 5000, "currency": "usd"}
    u = expect(srv.patch(url, {"currency": "eur", "payout_threshold": {"amount": 4000, "currency": "eur"}},
                         key=ctx["admin"]), 200)
    assert u["currency"] == "eur" and u["payout_threshold"] == {"amount": 4000, "currency": "eur"}
    # Threshold alone must match the current currency.
    expect(srv.patch(url, {"payout_threshold": {"amount": 1, "currency": "usd"}}, key=ctx["admin"]), 400,
           field="payout_threshold")
    u = expect(srv.patch(url, {"currency": "usd", "payout_threshold": {"amount": 5000, "currency": "usd"}},
                         key=ctx["admin"]), 200)
    ctx["main"] = u


def test_currency_change_with_zero_threshold_is_allowed(srv, ctx):
    p = expect(srv.post(PROGRAMS, {"name": "Zero", "currency": "gbp"}, key=ctx["admin"]), 201)
    u = expect(srv.patch(PROGRAMS + "/" + p["id"], {"currency": "chf"}, key=ctx["admin"]), 200)
    assert u["currency"] == "chf" and u["payout_threshold"] == {"amount": 0, "currency": "chf"}


BAD_UPDATES = [
    ({"name": ""}, "name"),
    ({"name": None}, "name"),
    ({"currency": "nope"}, "currency"),
    ({"currency": None}, "currency"),
    ({"cookie_window_days": 0}, "cookie_window_days"),
    ({"holding_period_days": -3}, "holding_period_days"),
    ({"attribution_model": "position"}, "attribution_model"),
    ({"tracking_params": []}, "tracking_params"),
    ({"tracking_params": ["ok", "Bad!"]}, "tracking_params"),
    ({"payout_threshold": None}, "payout_threshold"),
    ({"payout_threshold": {"amount": -100, "currency": "usd"}}, "payout_threshold"),
    ({"bogus": 1}, "bogus"),
]


def test_invalid_updates_are_refused_and_change_nothing(srv, ctx):
    url = PROGRAMS + "/" + ctx["main"]["id"]
    before = expect(srv.get(url, key=ctx["admin"]), 200)
    for body, field in BAD_UPDATES:
        r = srv.patch(url, body, key=ctx["admin"])
        assert r.status == 400 and r.json["error"]["field"] == field, (body, r)
    # A valid member alongside an invalid one is not applied either.
    r = srv.patch(url, {"name": "Should not stick", "cookie_window_days": 99999}, key=ctx["admin"])
    expect(r, 400, field="cookie_window_days")
    assert expect(srv.get(url, key=ctx["admin"]), 200) == before


def test_unknown_program_is_404(srv, ctx):
    expect(srv.get(PROGRAMS + "/prg_doesnotexist", key=ctx["admin"]), 404, etype="not_found")
    expect(srv.patch(PROGRAMS + "/prg_doesnotexist", {"name": "x"}, key=ctx["admin"]), 404, etype="not_found")


def test_list_is_newest_first_and_paginates(srv, ctx):
    for i in range(5):
        expect(srv.post(PROGRAMS, {"name": "Bulk %d" % i, "currency": "usd"}, key=ctx["admin"]), 201)
    everything = expect(srv.get(PROGRAMS + "?limit=100", key=ctx["admin"]), 200)
    assert not everything["has_more"]
    ids = [p["id"] for p in everything["data"]]
    assert len(ids) == len(set(ids))
    assert everything["data"][0]["name"] == "Bulk 4", "newest first"
    for limit in (1, 2, 3, len(ids), len(ids) + 1):
        items, pages = walk_pages(srv, PROGRAMS, limit, key=ctx["admin"])
        assert [p["id"] for p in items] == ids, limit
        assert pages[-1]["has_more"] is False
        assert all(p["has_more"] for p in pages[:-1])
    first = expect(srv.get(PROGRAMS + "?limit=2", key=ctx["admin"]), 200)
    assert first["has_more"] is True and len(first["data"]) == 2


def test_list_rejects_bad_query(srv, ctx):
    for q, field in [("limit=0", "limit"), ("limit=101", "limit"), ("limit=abc", "limit"), ("limit=-1", "limit"),
                     ("limit=5x", "limit"), ("limit=", "limit"), ("starting_after=prg_nope", "starting_after"),
                     ("starting_after=", "starting_after"), ("sort=name", "sort"), ("q=x", "q")]:
        expect(srv.get(PROGRAMS + "?" + q, key=ctx["admin"]), 400, field=field)


def test_owner_can_create_too(srv, ctx):
    expect(srv.post(PROGRAMS, {"name": "By owner", "currency": "cad"}, key=ctx["owner"]), 201)


def test_without_credentials_everything_is_401(srv, ctx):
    pid = ctx["main"]["id"]
    expect(srv.get(PROGRAMS), 401, etype="unauthorized")
    expect(srv.get(PROGRAMS + "/" + pid), 401)
    expect(srv.post(PROGRAMS, {"name": "x", "currency": "usd"}), 401)
    expect(srv.patch(PROGRAMS + "/" + pid, {"name": "x"}), 401)


def test_partner_and_manager_see_only_their_program_and_cannot_write(srv, ctx):
    admin = ctx["admin"]
    main, yen = ctx["main"], ctx["yen"]
    ptn = expect(srv.post("/api/v1/partners", {"program_id": yen["id"], "name": "Yen partner",
                                               "email": "yen@partner.example"}, key=admin), 201)
    before = count_programs(srv, admin)
    for role in ("partner", "manager"):
        k = srv.admin_key(role=role, partner=ptn["id"], name=role)
        body = expect(srv.get(PROGRAMS, key=k), 200)
        assert [p["id"] for p in body["data"]] == [yen["id"]], (role, body)
        assert body["has_more"] is False
        expect(srv.get(PROGRAMS + "/" + yen["id"], key=k), 200)
        expect(srv.get(PROGRAMS + "/" + main["id"], key=k), 404, field="id")
        expect(srv.post(PROGRAMS, {"name": "Sneaky", "currency": "usd"}, key=k), 403, etype="forbidden")
        expect(srv.patch(PROGRAMS + "/" + yen["id"], {"name": "Sneaky"}, key=k), 403, etype="forbidden")
        expect(srv.patch(PROGRAMS + "/" + main["id"], {"name": "Sneaky"}, key=k), 403, etype="forbidden")
    assert count_programs(srv, admin) == before
    assert expect(srv.get(PROGRAMS + "/" + yen["id"], key=admin), 200)["name"] == "Yen programme"


def test_create_is_audited_with_the_actor(srv, ctx):
    # Every change is recorded; the request log names the key that made it.
    p = expect(srv.post(PROGRAMS, {"name": "Audited", "currency": "usd"}, key=ctx["admin"],
                        headers={"X-Request-Id": "prog-create-1"}), 201)
    lines = [l for l in srv.logs() if l.get("request_id") == "prog-create-1"]
    assert lines and lines[0]["status"] == 201
    assert any(str(v).startswith("key_") for v in lines[0].values()), lines[0]
    assert p["id"].startswith("prg_")


def test_concurrent_updates_of_different_members_are_both_kept(srv, ctx):
    import threading
    lost = []
    for i in range(10):
        p = expect(srv.post(PROGRAMS, {"name": "Race %d" % i, "currency": "usd"}, key=ctx["admin"]), 201)
        url = PROGRAMS + "/" + p["id"]
        res = []
        ts = [threading.Thread(target=lambda: res.append(srv.patch(url, {"name": "Renamed %d" % i},
                                                                   key=ctx["admin"]).status)),
              threading.Thread(target=lambda: res.append(srv.patch(url, {"cookie_window_days": 7},
                                                                   key=ctx["admin"]).status))]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        assert res == [200, 200], res
        g = expect(srv.get(url, key=ctx["admin"]), 200)
        if g["name"] != "Renamed %d" % i or g["cookie_window_days"] != 7:
            lost.append((g["name"], g["cookie_window_days"]))
    assert not lost, "lost updates: %r" % lost
