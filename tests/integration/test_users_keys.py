# SPDX-License-Identifier: Apache-2.0
"""Users and API keys: creation, roles (only an owner makes owners), partner membership, passwords that are never
shown, keys shown once, last use, revocation."""
from harness import expect, walk_pages

USERS = "/api/v1/users"
KEYS = "/api/v1/api-keys"
PW = "correct horse battery"


def setup(srv):
    owner = srv.admin_key(role="owner", name="owner")
    admin = srv.admin_key(role="admin", name="admin")
    prog = expect(srv.post("/api/v1/programs", {"name": "UK", "currency": "gbp"}, key=admin), 201)
    org = expect(srv.post("/api/v1/partners", {"program_id": prog["id"], "name": "Org", "email": "org@u.example"},
                          key=admin), 201)
    other = expect(srv.post("/api/v1/partners", {"program_id": prog["id"], "name": "Other",
                                                 "email": "other@u.example"}, key=admin), 201)
    return {"owner": owner, "admin": admin, "prog": prog, "org": org, "other": other}


def login(srv, email, password):
    r = srv.post("/api/v1/auth/login", {"email": email, "password": password})
    return r


def all_users(srv, ctx):
    return walk_pages(srv, USERS, 100, key=ctx["admin"])[0]


def all_keys(srv, ctx):
    return walk_pages(srv, KEYS, 100, key=ctx["admin"])[0]


# ---- users ----

def test_create_user_with_password(srv, ctx):
    r = srv.post(USERS, {"email": " Alice@U.Example ", "role": "admin", "password": PW}, key=ctx["admin"])
    u = expect(r, 201)
    assert u["id"].startswith("usr_") and u["object"] == "user"
    assert u["email"] == "alice@u.example" and u["role"] == "admin" and u["partner_id"] is None
    assert u["disabled"] is False and u["disabled_at"] is None and u["created_at"]
    assert "password" not in u and "password_hash" not in u and "argon2" not in r.body
    assert expect(srv.get(USERS + "/" + u["id"], key=ctx["admin"]), 200) == u
    expect(login(srv, "alice@u.example", PW), 200)
    ctx["alice"] = u


def test_create_user_with_generated_password(srv, ctx):
    r = srv.post(USERS, {"email": "bob@u.example", "role": "manager", "partner_id": ctx["org"]["id"]},
                 key=ctx["admin"])
    u = expect(r, 201)
    assert u["role"] == "manager" and u["partner_id"] == ctx["org"]["id"]
    pw = u["password"]
    assert isinstance(pw, str) and len(pw) >= 16, "a generated password is returned once"
    assert "argon2" not in r.body
    got = expect(srv.get(USERS + "/" + u["id"], key=ctx["admin"]), 200)
    assert "password" not in got
    body = expect(login(srv, "bob@u.example", pw), 200)
    assert body["user"]["role"] == "manager"
    ctx["bob"] = got


def test_password_hash_is_never_exposed(srv, ctx):
    for r in (srv.get(USERS, key=ctx["admin"]), srv.get(USERS + "/" + ctx["alice"]["id"], key=ctx["admin"]),
              srv.patch(USERS + "/" + ctx["alice"]["id"], {}, key=ctx["admin"])):
        assert r.status == 200, r
        assert "argon2" not in r.body and "password" not in r.body, r


BAD_USERS = [
    ({"role": "admin", "password": PW}, "email", 400),
    ({"email": "nope", "role": "admin", "password": PW}, "email", 400),
    ({"email": "x@u.example", "role": "admin", "password": PW, "email2": 1}, "email2", 400),
    ({"email": 5, "role": "admin", "password": PW}, "email", 400),
    ({"email": "x@u.example", "password": PW}, "role", 400),
    ({"email": "x@u.example", "role": "superuser", "password": PW}, "role", 400),
    ({"email": "x@u.example", "role": "Admin", "password": PW}, "role", 400),
    ({"email": "x@u.example", "role": "admin", "password": "short"}, "password", 400),
    ({"email": "x@u.example", "role": "admin", "password": "123456789"}, "password", 400),
    ({"email": "x@u.example", "role": "admin", "password": "p" * 257}, "password", 400),
    ({"email": "x@u.example", "role": "admin", "password": 1234567890}, "password", 400),
    ({"email": "x@u.example", "role": "admin", "password": PW, "disabled": True}, "disabled", 400),
    ({"email": "x@u.example", "role": "admin", "password": PW, "disabled": False}, "disabled", 400),
    ({"email": "x@u.example", "role": "manager", "password": PW}, "partner_id", 400),
    ({"email": "x@u.example", "role": "partner", "password": PW}, "partner_id", 400),
    ({"email": "x@u.example", "role": "partner", "password": PW, "partner_id": "ptn_missing"}, "partner_id", 400),
    ({"email": "x@u.example", "role": "admin", "password": PW, "partner_id": "ORG"}, "partner_id", 400),
    ({"email": "x@u.example", "role": "owner", "password": PW}, "role", 403),
    ({"email": "ALICE@u.example", "role": "admin", "password": PW}, "email", 409),
    ({"email": "x@u.example", "role": "admin", "password": PW, "password_hash": "$argon2id$"}, "password_hash", 400),
]


def test_invalid_users_are_refused_and_change_nothing(srv, ctx):
    before = all_users(srv, ctx)
    for body, field, status in BAD_USERS:
        b = dict(body)
        if b.get("partner_id") == "ORG":
            b["partner_id"] = ctx["org"]["id"]
        r = srv.post(USERS, b, key=ctx["admin"])
        assert r.status == status and r.json["error"]["field"] == field, (b, r)
    assert all_users(srv, ctx) == before
    expect(login(srv, "x@u.example", PW), 401)


def test_only_an_owner_grants_owner(srv, ctx):
    u = expect(srv.post(USERS, {"email": "carol@u.example", "role": "owner", "password": PW}, key=ctx["owner"]), 201)
    assert u["role"] == "owner"
    ctx["carol"] = u
    # An admin cannot promote anyone to owner, nor change an owner.
    expect(srv.patch(USERS + "/" + ctx["alice"]["id"], {"role": "owner"}, key=ctx["admin"]), 403, field="role")
    expect(srv.patch(USERS + "/" + u["id"], {"role": "admin"}, key=ctx["admin"]), 403, field="id")
    expect(srv.patch(USERS + "/" + u["id"], {"disabled": True}, key=ctx["admin"]), 403, field="id")
    expect(srv.patch(USERS + "/" + u["id"], {"password": "taken over by admin"}, key=ctx["admin"]), 403, field="id")
    assert expect(srv.get(USERS + "/" + u["id"], key=ctx["admin"]), 200) == u
    assert expect(srv.get(USERS + "/" + ctx["alice"]["id"], key=ctx["admin"]), 200)["role"] == "admin"
    # An admin session cannot make itself owner either.
    s = srv.login("alice@u.example", PW)
    expect(srv.patch(USERS + "/" + ctx["alice"]["id"], {"role": "owner"}, session=s), 403, field="role")
    assert expect(srv.get(USERS + "/" + ctx["alice"]["id"], key=ctx["admin"]), 200)["role"] == "admin"
    ctx["alice_session"] = s


def test_the_last_owner_stays(srv, ctx):
    carol = ctx["carol"]
    url = USERS + "/" + carol["id"]
    expect(srv.patch(url, {"role": "admin"}, key=ctx["owner"]), 409, field="role", etype="conflict")
    expect(srv.patch(url, {"disabled": True}, key=ctx["owner"]), 409, field="disabled")
    assert expect(srv.get(url, key=ctx["owner"]), 200) == carol
    olivia = expect(srv.post(USERS, {"email": "olivia@u.example", "role": "owner", "password": PW},
                             key=ctx["owner"]), 201)
    u = expect(srv.patch(url, {"role": "admin"}, key=ctx["owner"]), 200)
    assert u["role"] == "admin"
    expect(srv.patch(USERS + "/" + olivia["id"], {"disabled": True}, key=ctx["owner"]), 409, field="disabled")
    u = expect(srv.patch(url, {"role": "owner"}, key=ctx["owner"]), 200)
    assert u["role"] == "owner"


def test_update_user_fields(srv, ctx):
    uid = ctx["bob"]["id"]
    u = expect(srv.patch(USERS + "/" + uid, {"email": "Robert@U.example"}, key=ctx["admin"]), 200)
    assert u["email"] == "robert@u.example" and u["role"] == "manager"
    expect(srv.patch(USERS + "/" + uid, {"email": "alice@u.example"}, key=ctx["admin"]), 409, field="email")
    expect(srv.patch(USERS + "/" + uid, {"email": "bad"}, key=ctx["admin"]), 400, field="email")
    expect(srv.patch(USERS + "/" + uid, {"role": "root"}, key=ctx["admin"]), 400, field="role")
    expect(srv.patch(USERS + "/" + uid, {"partner_id": None}, key=ctx["admin"]), 400, field="partner_id")
    expect(srv.patch(USERS + "/" + uid, {"partner_id": "ptn_missing"}, key=ctx["admin"]), 400, field="partner_id")
    expect(srv.patch(USERS + "/" + uid, {"password": "short"}, key=ctx["admin"]), 400, field="password")
    expect(srv.patch(USERS + "/" + uid, {"disabled": "yes"}, key=ctx["admin"]), 400, field="disabled")
    expect(srv.patch(USERS + "/" + uid, {"role": "admin", "partner_id": ctx["org"]["id"]}, key=ctx["admin"]), 400,
           field="partner_id")
    assert expect(srv.get(USERS + "/" + uid, key=ctx["admin"]), 200) == u
    u = expect(srv.patch(USERS + "/" + uid, {"partner_id": ctx["other"]["id"]}, key=ctx["admin"]), 200)
    assert u["partner_id"] == ctx["other"]["id"], "PATCH answered %r" % u
    # Becoming an admin drops the partner membership.
    u = expect(srv.patch(USERS + "/" + uid, {"role": "admin"}, key=ctx["admin"]), 200)
    assert u["role"] == "admin" and u["partner_id"] is None
    u = expect(srv.patch(USERS + "/" + uid, {"role": "partner", "partner_id": ctx["org"]["id"]}, key=ctx["admin"]),
               200)
    assert u["role"] == "partner" and u["partner_id"] == ctx["org"]["id"]
    ctx["bob"] = u


def test_update_response_matches_what_was_stored(srv, ctx):
    # The PATCH answer must describe the stored user exactly, whatever members were sent.
    u = expect(srv.post(USERS, {"email": "echo@u.example", "role": "admin", "password": PW}, key=ctx["admin"]), 201)
    url = USERS + "/" + u["id"]
    bodies = [{"role": "manager", "partner_id": ctx["org"]["id"]}, {"partner_id": ctx["other"]["id"]},
              {"role": "partner", "partner_id": ctx["org"]["id"]}, {"email": "Echo2@U.example"},
              {"partner_id": ctx["other"]["id"], "email": "echo3@u.example"}, {"role": "admin", "partner_id": None}]
    for body in bodies * 2:
        r = srv.patch(url, body, key=ctx["admin"])
        assert r.status == 200, (body, r)
        assert r.json == expect(srv.get(url, key=ctx["admin"]), 200), (body, r.json)


def test_unknown_user_is_404(srv, ctx):
    expect(srv.get(USERS + "/usr_missing", key=ctx["admin"]), 404, field="id")
    expect(srv.patch(USERS + "/usr_missing", {"role": "admin"}, key=ctx["admin"]), 404, field="id")


def test_password_and_role_changes_end_sessions(srv, ctx):
    srv.add_user("dave@u.example", "admin", PW)
    s1 = srv.login("dave@u.example", PW)
    uid = expect(srv.get("/api/v1/auth/session", session=s1), 200)["user_id"]
    expect(srv.patch(USERS + "/" + uid, {"password": "an entirely new one"}, key=ctx["admin"]), 200)
    expect(srv.get("/api/v1/auth/session", session=s1), 401)
    expect(login(srv, "dave@u.example", PW), 401)
    s2 = srv.login("dave@u.example", "an entirely new one")
    expect(srv.patch(USERS + "/" + uid, {"role": "manager", "partner_id": ctx["org"]["id"]}, key=ctx["admin"]), 200)
    expect(srv.get("/api/v1/auth/session", session=s2), 401)
    s3 = srv.login("dave@u.example", "an entirely new one")
    me = expect(srv.get("/api/v1/auth/session", session=s3), 200)
    assert me["role"] == "manager" and me["partner_id"] == ctx["org"]["id"]
    # A change that is neither keeps the session.
    expect(srv.patch(USERS + "/" + uid, {"email": "david@u.example"}, key=ctx["admin"]), 200)
    expect(srv.get("/api/v1/auth/session", session=s3), 200)


def test_cannot_disable_yourself(srv, ctx):
    s = ctx["alice_session"]
    r = srv.patch(USERS + "/" + ctx["alice"]["id"], {"disabled": True}, session=s)
    expect(r, 400, field="disabled")
    expect(srv.get("/api/v1/auth/session", session=s), 200)
    u = expect(srv.patch(USERS + "/" + ctx["bob"]["id"], {"disabled": True}, session=s), 200)
    assert u["disabled"] is True and u["disabled_at"]
    u2 = expect(srv.patch(USERS + "/" + ctx["bob"]["id"], {"disabled": True}, session=s), 200)
    assert u2["disabled_at"] == u["disabled_at"], "disabling twice keeps the first time"
    u = expect(srv.patch(USERS + "/" + ctx["bob"]["id"], {"disabled": False}, session=s), 200)
    assert u["disabled"] is False and u["disabled_at"] is None


def test_users_list_paginates(srv, ctx):
    for i in range(4):
        expect(srv.post(USERS, {"email": "bulk%d@u.example" % i, "role": "admin", "password": PW},
                        key=ctx["admin"]), 201)
    full = expect(srv.get(USERS + "?limit=100", key=ctx["admin"]), 200)
    ids = [u["id"] for u in full["data"]]
    assert len(ids) == len(set(ids)) >= 8 and not full["has_more"]
    assert full["data"][0]["email"] == "bulk3@u.example", "newest first"
    for limit in (1, 3, len(ids)):
        items, pages = walk_pages(srv, USERS, limit, key=ctx["admin"])
        assert [u["id"] for u in items] == ids
    for q, field in [("limit=0", "limit"), ("starting_after=usr_nope", "starting_after"), ("role=admin", "role")]:
        expect(srv.get(USERS + "?" + q, key=ctx["admin"]), 400, field=field)


def test_users_routes_are_admin_only(srv, ctx):
    for role in ("partner", "manager"):
        k = srv.admin_key(role=role, partner=ctx["org"]["id"], name=role)
        expect(srv.get(USERS, key=k), 403)
        expect(srv.get(USERS + "/" + ctx["alice"]["id"], key=k), 403)
        expect(srv.post(USERS, {"email": "esc@u.example", "role": "admin", "password": PW}, key=k), 403)
        expect(srv.patch(USERS + "/" + ctx["alice"]["id"], {"disabled": True}, key=k), 403)
    expect(login(srv, "esc@u.example", PW), 401)
    assert expect(srv.get(USERS + "/" + ctx["alice"]["id"], key=ctx["admin"]), 200)["disabled"] is False


# ---- API keys ----

def test_create_key_is_shown_once(srv, ctx):
    r = srv.post(KEYS, {"name": "CRM sync"}, key=ctx["admin"])
    k = expect(r, 201)
    assert k["object"] == "api_key" and k["id"].startswith("key_")
    assert k["role"] == "admin", "admin by default"
    assert k["name"] == "CRM sync" and k["partner_id"] is None
    assert k["key"].startswith("rk_") and len(k["key"]) >= 40
    assert k["prefix"] == k["key"][:10]
    assert k["revoked"] is False and k["revoked_at"] is None and k["last_used_at"] is None
    assert k["created_by"] and k["created_by"].startswith("key_")
    listed = all_keys(srv, ctx)
    mine = [x for x in listed if x["id"] == k["id"]]
    assert len(mine) == 1 and "key" not in mine[0]
    list_body = srv.get(KEYS + "?limit=100", key=ctx["admin"]).body
    assert k["key"] not in list_body and k["key"][10:] not in list_body
    ctx["crm"] = k


def test_key_works_and_records_last_use(srv, ctx):
    k = ctx["crm"]
    me = expect(srv.get("/api/v1/auth/session", key=k["key"]), 200)
    assert me["api_key_id"] == k["id"] and me["role"] == "admin"
    listed = {x["id"]: x for x in all_keys(srv, ctx)}
    assert listed[k["id"]]["last_used_at"], listed[k["id"]]
    assert listed[k["id"]]["last_used_at"] >= k["created_at"]


def test_key_created_by_a_user_records_the_user(srv, ctx):
    s = ctx["alice_session"]
    k = expect(srv.post(KEYS, {"name": "by alice", "role": "partner", "partner_id": ctx["org"]["id"]},
                        session=s), 201)
    assert k["created_by"] == ctx["alice"]["id"]
    assert k["role"] == "partner" and k["partner_id"] == ctx["org"]["id"]
    got = expect(srv.get("/api/v1/partners", key=k["key"]), 200)["data"]
    assert [p["id"] for p in got] == [ctx["org"]["id"]]
    ctx["partner_key"] = k


BAD_KEYS = [
    ({}, "name", 400),
    ({"name": ""}, "name", 400),
    ({"name": None}, "name", 400),
    ({"name": "n" * 101}, "name", 400),
    ({"name": 7}, "name", 400),
    ({"name": "x", "role": "god"}, "role", 400),
    ({"name": "x", "role": "partner"}, "partner_id", 400),
    ({"name": "x", "role": "manager"}, "partner_id", 400),
    ({"name": "x", "role": "manager", "partner_id": "ptn_missing"}, "partner_id", 400),
    ({"name": "x", "role": "admin", "partner_id": "ORG"}, "partner_id", 400),
    ({"name": "x", "role": "owner"}, "role", 403),
    ({"name": "x", "scopes": ["read"]}, "scopes", 400),
    ({"name": "x", "key": "rk_chosen_by_me_0000000000000000000000"}, "key", 400),
]


def test_invalid_keys_are_refused_and_change_nothing(srv, ctx):
    before = all_keys(srv, ctx)
    for body, field, status in BAD_KEYS:
        b = dict(body)
        if b.get("partner_id") == "ORG":
            b["partner_id"] = ctx["org"]["id"]
        r = srv.post(KEYS, b, key=ctx["admin"])
        assert r.status == status and r.json["error"]["field"] == field, (b, r)
    assert [k["id"] for k in all_keys(srv, ctx)] == [k["id"] for k in before]


def test_owner_can_create_owner_keys(srv, ctx):
    k = expect(srv.post(KEYS, {"name": "owner key", "role": "owner"}, key=ctx["owner"]), 201)
    assert k["role"] == "owner"
    me = expect(srv.get("/api/v1/auth/session", key=k["key"]), 200)
    assert me["role"] == "owner"
    ctx["owner_key2"] = k
    # An admin cannot revoke an owner's key.
    expect(srv.delete(KEYS + "/" + k["id"], key=ctx["admin"]), 403, field="id")
    expect(srv.get("/api/v1/auth/session", key=k["key"]), 200)


def test_revoked_key_is_refused(srv, ctx):
    k = ctx["crm"]
    r = expect(srv.delete(KEYS + "/" + k["id"], key=ctx["admin"]), 200)
    assert r["revoked"] is True and r["revoked_at"] and r["id"] == k["id"] and "key" not in r
    res = srv.get("/api/v1/programs", key=k["key"])
    expect(res, 401, field="Authorization", etype="unauthorized")
    assert "revoked" in res.json["error"]["message"]
    expect(srv.post("/api/v1/programs", {"name": "x", "currency": "usd"}, key=k["key"]), 401)
    # Revoking again is harmless and keeps the first time.
    again = expect(srv.delete(KEYS + "/" + k["id"], key=ctx["admin"]), 200)
    assert again["revoked_at"] == r["revoked_at"]
    listed = {x["id"]: x for x in all_keys(srv, ctx)}
    assert listed[k["id"]]["revoked"] is True
    expect(srv.delete(KEYS + "/key_missing", key=ctx["admin"]), 404, field="id")


def test_a_key_can_revoke_itself(srv, ctx):
    k = expect(srv.post(KEYS, {"name": "self"}, key=ctx["admin"]), 201)
    expect(srv.delete(KEYS + "/" + k["id"], key=k["key"]), 200)
    expect(srv.get("/api/v1/programs", key=k["key"]), 401)


def test_revoking_a_partner_key(srv, ctx):
    k = ctx["partner_key"]
    expect(srv.get("/api/v1/partners", key=k["key"]), 200)
    expect(srv.delete(KEYS + "/" + k["id"], key=k["key"]), 403)
    expect(srv.delete(KEYS + "/" + k["id"], key=ctx["admin"]), 200)
    expect(srv.get("/api/v1/partners", key=k["key"]), 401)


def test_key_routes_are_admin_only(srv, ctx):
    k = srv.admin_key(role="manager", partner=ctx["org"]["id"], name="mgr")
    expect(srv.get(KEYS, key=k), 403)
    expect(srv.post(KEYS, {"name": "escalate", "role": "admin"}, key=k), 403)
    expect(srv.delete(KEYS + "/" + ctx["owner_key2"]["id"], key=k), 403)
    expect(srv.get("/api/v1/auth/session", key=ctx["owner_key2"]["key"]), 200)
    assert not [x for x in all_keys(srv, ctx) if x["name"] == "escalate"]


def test_keys_list_paginates(srv, ctx):
    full = expect(srv.get(KEYS + "?limit=100", key=ctx["admin"]), 200)
    ids = [k["id"] for k in full["data"]]
    assert len(ids) == len(set(ids)) >= 6
    for limit in (1, 2, 5):
        items, _ = walk_pages(srv, KEYS, limit, key=ctx["admin"])
        assert [k["id"] for k in items] == ids
    for q, field in [("limit=101", "limit"), ("starting_after=key_nope", "starting_after"), ("revoked=1", "revoked")]:
        expect(srv.get(KEYS + "?" + q, key=ctx["admin"]), 400, field=field)

