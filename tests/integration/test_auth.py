# SPDX-License-Identifier: Apache-2.0
"""Authentication and authorisation: cookie sessions, CSRF, login throttling, bearer keys, and the role every
route requires."""
from harness import Refd, Session, expect

LOGIN = "/api/v1/auth/login"
LOGOUT = "/api/v1/auth/logout"
SESSION = "/api/v1/auth/session"
PW = "correct horse battery"

# Every /api/v1 route with the least role it needs ("any" = any signed-in caller).
ROUTES = [
    ("POST", "/api/v1/auth/logout", "any"),
    ("GET", "/api/v1/auth/session", "any"),
    ("GET", "/api/v1/programs", "any"),
    ("POST", "/api/v1/programs", "admin"),
    ("GET", "/api/v1/programs/{id}", "any"),
    ("PATCH", "/api/v1/programs/{id}", "admin"),
    ("GET", "/api/v1/partners", "any"),
    ("POST", "/api/v1/partners", "any"),  # partners and managers add agents to their team
    ("GET", "/api/v1/partners/{id}", "any"),
    ("PATCH", "/api/v1/partners/{id}", "any"),
    ("POST", "/api/v1/partners/{id}/suspend", "admin"),
    ("POST", "/api/v1/partners/{id}/ban", "admin"),
    ("POST", "/api/v1/partners/{id}/activate", "admin"),
    ("GET", "/api/v1/users", "admin"),
    ("POST", "/api/v1/users", "admin"),
    ("GET", "/api/v1/users/{id}", "admin"),
    ("PATCH", "/api/v1/users/{id}", "admin"),
    ("GET", "/api/v1/api-keys", "admin"),
    ("POST", "/api/v1/api-keys", "admin"),
    ("DELETE", "/api/v1/api-keys/{id}", "admin"),
]


def setup(srv):
    admin = srv.admin_key()
    prog = expect(srv.post("/api/v1/programs", {"name": "Auth", "currency": "usd"}, key=admin), 201)
    org = expect(srv.post("/api/v1/partners", {"program_id": prog["id"], "name": "Org", "email": "org@a.example"},
                          key=admin), 201)
    agent = expect(srv.post("/api/v1/partners", {"program_id": prog["id"], "kind": "agent", "name": "Agent",
                                                 "email": "agent@a.example", "team_parent_id": org["id"]},
                            key=admin), 201)
    other = expect(srv.post("/api/v1/partners", {"program_id": prog["id"], "name": "Other",
                                                 "email": "other@a.example"}, key=admin), 201)
    srv.add_user("admin@a.example", "admin", PW)
    srv.add_user("manager@a.example", "manager", PW, partner=org["id"])
    srv.add_user("partner@a.example", "partner", PW, partner=org["id"])
    return {"admin": admin, "prog": prog, "org": org, "agent": agent, "other": other}


def cookie_of(resp):
    for v in resp.headers_all("Set-Cookie"):
        if v.startswith("refd_session="):
            return v
    return None


def test_login_sets_a_safe_session_cookie(srv, ctx):
    r = srv.post(LOGIN, {"email": "admin@a.example", "password": PW})
    body = expect(r, 200)
    c = cookie_of(r)
    assert c, r.headers
    attrs = [a.strip() for a in c.split(";")]
    token = attrs[0].split("=", 1)[1]
    assert len(token) >= 32, "a session token has enough entropy"
    assert "HttpOnly" in attrs and "SameSite=Lax" in attrs and "Path=/" in attrs, attrs
    assert "Secure" not in attrs, "no Secure flag unless --secure-cookies"
    assert "Max-Age=43200" in attrs, "12 hours by default"
    assert r.header("Cache-Control") == "no-store"
    u = body["user"]
    assert u["email"] == "admin@a.example" and u["role"] == "admin" and u["id"].startswith("usr_")
    assert "password" not in u and "password_hash" not in u
    assert "argon2" not in r.body
    assert isinstance(body["csrf_token"], str) and len(body["csrf_token"]) >= 20
    assert body["csrf_token"] not in c, "the CSRF token is not the session token"
    ctx["admin_session"] = Session(token, body["csrf_token"])
    ctx["admin_user_id"] = u["id"]


def test_session_endpoint_describes_the_caller(srv, ctx):
    s = ctx["admin_session"]
    body = expect(srv.get(SESSION, session=s), 200)
    assert body["object"] == "session" and body["role"] == "admin"
    assert body["user_id"] == ctx["admin_user_id"] and body["email"] == "admin@a.example"
    assert body["api_key_id"] is None and body["partner_id"] is None
    assert body["csrf_token"] == s.csrf
    body = expect(srv.get(SESSION, key=ctx["admin"]), 200)
    assert body["role"] == "admin" and body["user_id"] is None and body["api_key_id"].startswith("key_")
    assert "csrf_token" not in body


def test_login_email_is_case_insensitive(srv, ctx):
    r = srv.post(LOGIN, {"email": "  MANAGER@A.Example ", "password": PW})
    body = expect(r, 200)
    assert body["user"]["role"] == "manager" and body["user"]["partner_id"] == ctx["org"]["id"]
    ctx["manager_session"] = Session(cookie_of(r).split(";")[0].split("=", 1)[1], body["csrf_token"])


def test_wrong_password_and_unknown_email_look_the_same(srv, ctx):
    a = srv.post(LOGIN, {"email": "admin@a.example", "password": "wrong password!"})
    b = srv.post(LOGIN, {"email": "nobody@a.example", "password": "wrong password!"})
    expect(a, 401, etype="unauthorized")
    expect(b, 401, etype="unauthorized")
    assert a.json == b.json
    assert cookie_of(a) is None and cookie_of(b) is None


def test_login_validation(srv, ctx):
    expect(srv.post(LOGIN, {"password": PW}), 400, field="email")
    expect(srv.post(LOGIN, {"email": "not-an-email", "password": PW}), 400, field="email")
    expect(srv.post(LOGIN, {"email": "admin@a.example"}), 400, field="password")
    expect(srv.post(LOGIN, {"email": "admin@a.example", "password": ""}), 400, field="password")
    expect(srv.post(LOGIN, {"email": "admin@a.example", "password": 12345678901}), 400, field="password")
    expect(srv.post(LOGIN, {"email": "admin@a.example", "password": PW, "remember": True}), 400, field="remember")
    expect(srv.post(LOGIN, raw="email=admin@a.example&password=x",
                    headers={"Content-Type": "application/x-www-form-urlencoded"}), 400, field="Content-Type")
    expect(srv.post(LOGIN, raw="{", headers={"Content-Type": "application/json"}), 400, field="body")
    expect(srv.post(LOGIN), 400, field="body")
    expect(srv.get(LOGIN), 405)


def test_csrf_is_required_for_cookie_writes(srv, ctx):
    s = ctx["admin_session"]
    no_csrf = Session(s.cookie, None)
    wrong = Session(s.cookie, s.csrf[:-1] + ("A" if s.csrf[-1] != "A" else "B"))
    body = {"program_id": ctx["prog"]["id"], "name": "Via cookie", "email": "cookie@a.example"}
    for sess in (no_csrf, wrong):
        r = srv.post("/api/v1/partners", body, session=sess)
        expect(r, 403, field="X-CSRF-Token", etype="forbidden")
        r = srv.patch("/api/v1/partners/" + ctx["other"]["id"], {"name": "Changed"}, session=sess)
        expect(r, 403, field="X-CSRF-Token")
        r = srv.post("/api/v1/partners/" + ctx["other"]["id"] + "/suspend", session=sess)
        expect(r, 403, field="X-CSRF-Token")
        r = srv.post("/api/v1/api-keys", {"name": "csrf"}, session=sess)
        expect(r, 403, field="X-CSRF-Token")
    # DELETE is a change too.
    k = expect(srv.post("/api/v1/api-keys", {"name": "csrf target"}, key=ctx["admin"]), 201)
    for sess in (no_csrf, wrong):
        expect(srv.delete("/api/v1/api-keys/" + k["id"], session=sess), 403, field="X-CSRF-Token")
    expect(srv.get("/api/v1/auth/session", key=k["key"]), 200)
    # Another session's token does not do either.
    r = srv.post("/api/v1/partners", body, session=Session(s.cookie, ctx["manager_session"].csrf))
    expect(r, 403, field="X-CSRF-Token")
    # Nothing was changed by the refused requests.
    other = expect(srv.get("/api/v1/partners/" + ctx["other"]["id"], key=ctx["admin"]), 200)
    assert other["name"] == "Other" and other["status"] == "active"
    assert expect(srv.get("/api/v1/partners?q=cookie@a.example", key=ctx["admin"]), 200)["data"] == []
    # Reads need no token.
    expect(srv.get("/api/v1/partners", session=no_csrf), 200)
    expect(srv.get("/api/v1/programs/" + ctx["prog"]["id"], session=no_csrf), 200)
    # With the token the same write works.
    p = expect(srv.post("/api/v1/partners", body, session=s), 201)
    assert p["email"] == "cookie@a.example"


def test_bearer_keys_need_no_csrf(srv, ctx):
    r = srv.post("/api/v1/partners", {"program_id": ctx["prog"]["id"], "name": "By key", "email": "key@a.example"},
                 key=ctx["admin"])
    expect(r, 201)
    # A bearer key wins over a cookie, so a stale cookie does not force CSRF on an integration.
    r = srv.patch("/api/v1/partners/" + r.json["id"], {"name": "By key 2"}, key=ctx["admin"],
                  headers={"Cookie": "refd_session=" + ctx["admin_session"].cookie})
    expect(r, 200)


def test_bad_credentials_are_401(srv, ctx):
    for h in ({"Authorization": "Basic YWRtaW46cGFzcw=="}, {"Authorization": "Bearer"},
              {"Authorization": "Bearer "}, {"Authorization": "Bearer not-a-key"},
              {"Authorization": "Bearer rk_" + "A" * 43}, {"Authorization": "Bearer rk_" + "A" * 200},
              {"Authorization": "Token " + ctx["admin"]}):
        r = srv.get("/api/v1/programs", headers=h)
        expect(r, 401, etype="unauthorized")
        assert r.json["error"]["field"] == "Authorization", (h, r)
    for cookie in ("refd_session=", "refd_session=garbage", "other=1", "refd_session=" + "x" * 500,
                   "refd_session=" + ctx["admin_session"].cookie + "x"):
        expect(srv.get("/api/v1/programs", headers={"Cookie": cookie}), 401, etype="unauthorized")
    # A bad key is not rescued by a good cookie.
    r = srv.get("/api/v1/programs", headers={"Authorization": "Bearer rk_bogus",
                                             "Cookie": "refd_session=" + ctx["admin_session"].cookie})
    expect(r, 401, field="Authorization")


def test_cookie_is_found_among_others(srv, ctx):
    c = "theme=dark; refd_session=%s; lang=en" % ctx["admin_session"].cookie
    body = expect(srv.get(SESSION, headers={"Cookie": c}), 200)
    assert body["role"] == "admin"


def test_every_route_needs_credentials(srv, ctx):
    for method, path, _ in ROUTES:
        path = path.replace("{id}", "x_1")
        body = {} if method in ("POST", "PATCH") else None
        r = srv.request(method, path, body=body)
        assert r.status == 401, (method, path, r)
        assert r.json["error"]["type"] == "unauthorized"


def test_routes_command_lists_these_routes(srv, ctx):
    out = srv.cli("routes").stdout.splitlines()
    for method, path, _ in ROUTES:
        assert "%s %s" % (method, path) in out, (method, path, out)
    for public in ("GET /healthz", "GET /readyz", "GET /api/openapi.json", "POST /api/v1/auth/login"):
        assert public in out


def _role_matrix(srv, ctx, name, **cred):
    for method, path, need in ROUTES:
        if need != "admin":
            continue
        path = path.replace("{id}", "x_1")
        body = {} if method in ("POST", "PATCH") else None
        r = srv.request(method, path, body=body, **cred)
        assert r.status == 403, (name, method, path, r)
        assert r.json["error"]["type"] == "forbidden", r
        assert "admin" in r.json["error"]["message"], r


def test_partner_and_manager_keys_get_403_on_admin_routes(srv, ctx):
    for role in ("partner", "manager"):
        k = srv.admin_key(role=role, partner=ctx["org"]["id"], name=role)
        _role_matrix(srv, ctx, role, key=k)


def test_manager_session_gets_403_on_admin_routes(srv, ctx):
    _role_matrix(srv, ctx, "manager session", session=ctx["manager_session"])


def test_partner_session_sees_only_its_own_data(srv, ctx):
    s = srv.login("partner@a.example", PW)
    ctx["partner_session"] = s
    me = expect(srv.get(SESSION, session=s), 200)
    assert me["role"] == "partner" and me["partner_id"] == ctx["org"]["id"]
    listed = expect(srv.get("/api/v1/partners?limit=100", session=s), 200)["data"]
    assert sorted(p["id"] for p in listed) == sorted([ctx["org"]["id"], ctx["agent"]["id"]])
    expect(srv.get("/api/v1/partners/" + ctx["other"]["id"], session=s), 404)
    expect(srv.patch("/api/v1/partners/" + ctx["other"]["id"], {"name": "x"}, session=s), 404)
    u = expect(srv.patch("/api/v1/partners/" + ctx["org"]["id"], {"company": "Org Inc"}, session=s), 200)
    assert u["company"] == "Org Inc"
    expect(srv.patch("/api/v1/partners/" + ctx["org"]["id"], {"email": "me@evil.example"}, session=s), 403,
           field="email")
    expect(srv.patch("/api/v1/partners/" + ctx["org"]["id"], {"cost_per_lead": {"amount": 1, "currency": "usd"}},
                     session=s), 403, field="cost_per_lead")
    _role_matrix(srv, ctx, "partner session", session=s)
    assert expect(srv.get("/api/v1/partners/" + ctx["org"]["id"], key=ctx["admin"]), 200)["email"] == "org@a.example"


def test_partner_session_cannot_change_status(srv, ctx):
    s = ctx["partner_session"]
    r = srv.patch("/api/v1/partners/" + ctx["org"]["id"], {"status": "active"}, session=s)
    expect(r, 403, field="status", etype="forbidden")


def test_manager_session_changes_team_not_org(srv, ctx):
    s = ctx["manager_session"]
    expect(srv.patch("/api/v1/partners/" + ctx["agent"]["id"], {"name": "Agent Renamed"}, session=s), 200)
    expect(srv.patch("/api/v1/partners/" + ctx["org"]["id"], {"name": "Org Renamed"}, session=s), 403)
    expect(srv.patch("/api/v1/partners/" + ctx["other"]["id"], {"name": "x"}, session=s), 404)


def test_logout_ends_only_that_session(srv, ctx):
    a = srv.login("admin@a.example", PW)
    b = ctx["admin_session"]
    expect(srv.post(LOGOUT, session=Session(a.cookie, None)), 403, field="X-CSRF-Token")
    expect(srv.get(SESSION, session=a), 200)
    r = srv.post(LOGOUT, session=a)
    assert expect(r, 200) == {"logged_out": True}
    c = cookie_of(r)
    assert c and c.startswith("refd_session=;") and "Max-Age=0" in c, c
    expect(srv.get(SESSION, session=a), 401)
    expect(srv.post(LOGOUT, session=a), 401)
    expect(srv.get(SESSION, session=b), 200)


def test_logout_with_a_key_is_refused(srv, ctx):
    r = srv.post(LOGOUT, key=ctx["admin"])
    expect(r, 400, etype="invalid_request")
    expect(srv.get(SESSION, key=ctx["admin"]), 200)


def test_disabling_a_user_ends_its_sessions_and_logins(srv, ctx):
    srv.add_user("temp@a.example", "admin", PW)
    s = srv.login("temp@a.example", PW)
    uid = expect(srv.get(SESSION, session=s), 200)["user_id"]
    expect(srv.patch("/api/v1/users/" + uid, {"disabled": True}, key=ctx["admin"]), 200)
    expect(srv.get(SESSION, session=s), 401)
    expect(srv.post(LOGIN, {"email": "temp@a.example", "password": PW}), 401)
    expect(srv.patch("/api/v1/users/" + uid, {"disabled": False}, key=ctx["admin"]), 200)
    s = srv.login("temp@a.example", PW)
    expect(srv.get(SESSION, session=s), 200)


def test_login_is_rate_limited_per_email(srv, ctx):
    srv.add_user("victim@a.example", "partner", PW, partner=ctx["other"]["id"])
    for i in range(5):
        expect(srv.post(LOGIN, {"email": "victim@a.example", "password": "guess number %d" % i}), 401)
    r = srv.post(LOGIN, {"email": "victim@a.example", "password": PW})
    expect(r, 429, etype="rate_limited")
    assert r.header("Retry-After") and int(r.header("Retry-After")) > 0
    assert cookie_of(r) is None
    r = srv.post(LOGIN, {"email": "VICTIM@a.example", "password": PW})
    expect(r, 429)
    # Another email from the same address is not locked out by this one.
    expect(srv.post(LOGIN, {"email": "partner@a.example", "password": PW}), 200)
    # Setting a new password (the way out for the owner of the account) clears the lock.
    srv.cli("user", "passwd", "--email", "victim@a.example", stdin="a brand new password\n")
    expect(srv.post(LOGIN, {"email": "victim@a.example", "password": "a brand new password"}), 200)


def test_success_resets_the_failure_count(srv, ctx):
    srv.add_user("forgetful@a.example", "partner", PW, partner=ctx["other"]["id"])
    # Three failures, a success, three more: without the reset the sixth failure would lock the account.
    for _ in range(2):
        for i in range(3):
            expect(srv.post(LOGIN, {"email": "forgetful@a.example", "password": "nope %d nope" % i}), 401)
        expect(srv.post(LOGIN, {"email": "forgetful@a.example", "password": PW}), 200)


def test_login_max_failures_flag_and_per_address_limit():
    s = Refd(extra_args=["--login-max-failures", "1"]).start()
    try:
        s.add_user("one@b.example", "admin", PW)
        expect(s.post(LOGIN, {"email": "one@b.example", "password": "wrong wrong wrong"}), 401)
        expect(s.post(LOGIN, {"email": "one@b.example", "password": PW}), 429)
        # The per-address limit (a multiple of the per-email one) stops spraying across many emails.
        statuses = [s.post(LOGIN, {"email": "spray%d@b.example" % i, "password": "whatever123"}).status
                    for i in range(8)]
        assert statuses[0] == 401 and statuses[-1] == 429, statuses
        s.add_user("two@b.example", "admin", PW)
        expect(s.post(LOGIN, {"email": "two@b.example", "password": PW}), 429)
    finally:
        s.cleanup()


def test_secure_cookies_flag():
    s = Refd(extra_args=["--secure-cookies", "--session-hours", "2"]).start()
    try:
        s.add_user("sec@b.example", "admin", PW)
        r = s.post(LOGIN, {"email": "sec@b.example", "password": PW})
        expect(r, 200)
        attrs = [a.strip() for a in cookie_of(r).split(";")]
        assert "Secure" in attrs and "HttpOnly" in attrs and "SameSite=Lax" in attrs, attrs
        assert "Max-Age=7200" in attrs, attrs
        tok = attrs[0].split("=", 1)[1]
        r = s.post(LOGOUT, session=Session(tok, r.json["csrf_token"]))
        assert "Secure" in cookie_of(r)
    finally:
        s.cleanup()


def test_secure_cookies_from_environment():
    s = Refd(env={"REFD_SECURE_COOKIES": "1"}).start()
    try:
        s.add_user("env@b.example", "admin", PW)
        r = s.post(LOGIN, {"email": "env@b.example", "password": PW})
        expect(r, 200)
        assert "Secure" in [a.strip() for a in cookie_of(r).split(";")]
    finally:
        s.cleanup()


def test_secrets_never_reach_the_logs(srv, ctx):
    logs = open(srv.log_path).read() + open(srv.err_path).read()
    assert PW not in logs, "a password was logged"
    assert "argon2" not in logs, "a password hash was logged"
    assert ctx["admin_session"].cookie not in logs, "a session token was logged"
    assert ctx["admin_session"].csrf not in logs, "a CSRF token was logged"
    assert ctx["admin"] not in logs, "an API key was logged"
    # Requests are still logged, with who made them.
    lines = [l for l in srv.logs() if l.get("msg") == "request" and l.get("path") == LOGIN]
    assert lines and all(l["status"] in (200, 400, 401, 405, 429) for l in lines)
