# SPDX-License-Identifier: Apache-2.0
"""The refd command line: help texts, user add / passwd, apikey create, migrate, routes, version."""
import os
import subprocess
import tempfile

from harness import BINARY, Refd, Session, expect

PW = "correct horse battery"


def run(*args, stdin=None, env=None, timeout=60):
    e = dict(os.environ)
    for k in list(e):
        if k.startswith("REFD_") and k != "REFD_BIN":
            del e[k]
    e.update(env or {})
    return subprocess.run([BINARY, *args], input=stdin, capture_output=True, text=True, env=e, timeout=timeout)


def setup(srv):
    admin = srv.admin_key()
    prog = expect(srv.post("/api/v1/programs", {"name": "CLI", "currency": "usd"}, key=admin), 201)
    org = expect(srv.post("/api/v1/partners", {"program_id": prog["id"], "name": "Org", "email": "org@c.example"},
                          key=admin), 201)
    return {"admin": admin, "org": org}


def test_main_help_mentions_commands_and_env_vars():
    p = run("--help")
    assert p.returncode == 0, p
    for word in ("serve", "migrate", "user add", "user passwd", "apikey create", "routes", "REFD_"):
        assert word in p.stdout, (word, p.stdout)
    assert run("-h").stdout == p.stdout
    assert run("help").returncode == 0


def test_no_command_is_usage_error():
    p = run()
    assert p.returncode == 2 and "Usage" in p.stdout + p.stderr


def test_unknown_command_and_option():
    p = run("frobnicate")
    assert p.returncode == 2 and "frobnicate" in p.stderr
    p = run("serve", "--no-such-option")
    assert p.returncode == 2 and "no-such-option" in p.stderr
    p = run("migrate", "stray")
    assert p.returncode == 2


def test_serve_help_lists_every_option_with_its_env_var():
    p = run("serve", "--help")
    assert p.returncode == 0, p
    for opt, env in (("--listen", "REFD_LISTEN"), ("--db", "REFD_DB"), ("--threads", "REFD_THREADS"),
                     ("--secure-cookies", "REFD_SECURE_COOKIES"), ("--no-demo", "REFD_NO_DEMO"),
                     ("--session-hours", "REFD_SESSION_HOURS"), ("--max-body", "REFD_MAX_BODY"),
                     ("--login-max-failures", "REFD_LOGIN_MAX_FAILURES"),
                     ("--secret-key-file", "REFD_SECRET_KEY_FILE")):
        assert opt in p.stdout and env in p.stdout, (opt, env, p.stdout)


def test_subcommand_help():
    for args, words in ((("user", "add", "--help"), ("--email", "--role", "--partner", "REFD_")),
                        (("user", "passwd", "--help"), ("--email", "sessions")),
                        (("apikey", "create", "--help"), ("--name", "--role", "--partner", "REFD_")),
                        (("migrate", "--help"), ("--db", "REFD_DB"))):
        p = run(*args)
        assert p.returncode == 0, (args, p)
        for w in words:
            assert w in p.stdout, (args, w, p.stdout)


def test_version():
    p = run("version")
    assert p.returncode == 0 and p.stdout.startswith("refd ")
    assert run("--version").stdout == p.stdout


def test_bad_serve_options_exit_2():
    with tempfile.TemporaryDirectory() as d:
        db = os.path.join(d, "x.db")
        for args in (("--threads", "0"), ("--session-hours", "abc"), ("--max-body", "10"),
                     ("--login-max-failures", "0"), ("--secure-cookies=1",), ("--listen",)):
            try:
                p = run("serve", "--db", db, "--listen", "127.0.0.1:0", "--no-demo", *args, timeout=10)
            except subprocess.TimeoutExpired:
                raise AssertionError("refd serve %r started instead of refusing the option" % (args,))
            assert p.returncode == 2, (args, p)
            assert "refd:" in p.stderr, (args, p.stderr)


def test_migrate_on_a_fresh_database():
    with tempfile.TemporaryDirectory() as d:
        db = os.path.join(d, "m.db")
        p = run("migrate", "--db", db)
        assert p.returncode == 0, p
        assert "schema version" in p.stdout and "applied" in p.stdout
        p2 = run("migrate", "--db", db)
        assert p2.returncode == 0 and "0 migration(s) applied" in p2.stdout, p2.stdout
        # The database path can come from the environment too.
        p3 = run("migrate", env={"REFD_DB": db})
        assert p3.returncode == 0 and "0 migration(s) applied" in p3.stdout, p3


def test_routes_lists_routes():
    p = run("routes")
    assert p.returncode == 0
    lines = p.stdout.splitlines()
    assert "GET /healthz" in lines and "POST /api/v1/partners" in lines and "DELETE /api/v1/api-keys/{id}" in lines
    assert all(l.split(" ", 1)[0] in ("GET", "POST", "PATCH", "PUT", "DELETE", "OPTIONS") for l in lines), lines


def test_user_add_reads_password_from_stdin(srv, ctx):
    p = srv.cli("user", "add", "--email", " Erin@C.Example ", "--role", "admin", stdin=PW + "\n")
    assert p.stdout == "", "nothing printed when the password came from stdin"
    assert "erin@c.example" in p.stderr
    r = srv.post("/api/v1/auth/login", {"email": "erin@c.example", "password": PW})
    body = expect(r, 200)
    assert body["user"]["role"] == "admin"


def test_user_add_generates_a_password_when_stdin_is_empty(srv, ctx):
    p = srv.cli("user", "add", "--email", "gen@c.example", "--role", "manager", "--partner", ctx["org"]["id"],
                stdin="")
    pw = p.stdout.strip()
    assert len(pw) >= 16 and "\n" not in pw, p.stdout
    body = expect(srv.post("/api/v1/auth/login", {"email": "gen@c.example", "password": pw}), 200)
    assert body["user"]["role"] == "manager" and body["user"]["partner_id"] == ctx["org"]["id"]


def test_user_add_from_environment(srv, ctx):
    p = srv.cli("user", "add", stdin=PW + "\n", check=False)
    assert p.returncode == 2  # no email
    env_srv_env = dict(srv.env)
    env_srv_env.update({"REFD_USER_EMAIL": "envuser@c.example", "REFD_USER_ROLE": "admin"})
    q = subprocess.run([BINARY, "user", "add", "--db", srv.db], input=PW + "\n", capture_output=True, text=True,
                       env=env_srv_env, timeout=60)
    assert q.returncode == 0, q
    expect(srv.post("/api/v1/auth/login", {"email": "envuser@c.example", "password": PW}), 200)


def test_user_add_refusals(srv, ctx):
    cases = [
        (("user", "add", "--email", "erin@c.example", "--role", "admin"), PW, 1),  # duplicate
        (("user", "add", "--email", "ERIN@c.example", "--role", "admin"), PW, 1),  # duplicate, other case
        (("user", "add", "--email", "short@c.example", "--role", "admin"), "short", 2),
        (("user", "add", "--email", "not-an-email", "--role", "admin"), PW, 2),
        (("user", "add", "--email", "r@c.example", "--role", "root"), PW, 2),
        (("user", "add", "--email", "r@c.example"), PW, 2),
        (("user", "add", "--email", "m@c.example", "--role", "manager"), PW, 2),
        (("user", "add", "--email", "p@c.example", "--role", "partner", "--partner", "ptn_missing"), PW, 1),
        (("user", "add", "--email", "a@c.example", "--role", "admin", "--partner", ctx["org"]["id"]), PW, 2),
        (("user", "remove", "--email", "erin@c.example"), PW, 2),
        (("user",), PW, 2),
    ]
    for args, pw, code in cases:
        p = srv.cli(*args, stdin=pw + "\n", check=False)
        assert p.returncode == code, (args, p.returncode, p.stderr)
        assert p.stderr.startswith("refd: ") or "Usage" in p.stderr, (args, p.stderr)
        assert p.stdout == "", (args, p.stdout)
    emails = [u["email"] for u in expect(srv.get("/api/v1/users?limit=100", key=ctx["admin"]), 200)["data"]]
    assert emails.count("erin@c.example") == 1
    for email in ("short@c.example", "r@c.example", "m@c.example", "p@c.example", "a@c.example"):
        assert email not in emails, email


def test_user_passwd_sets_password_and_ends_sessions(srv, ctx):
    srv.add_user("frank@c.example", "admin", PW)
    s1 = srv.login("frank@c.example", PW)
    s2 = srv.login("frank@c.example", PW)
    expect(srv.get("/api/v1/auth/session", session=s1), 200)
    p = srv.cli("user", "passwd", "--email", "FRANK@c.example", stdin="a different password\n")
    assert p.stdout == ""
    for s in (s1, s2):
        expect(srv.get("/api/v1/auth/session", session=s), 401)
    expect(srv.post("/api/v1/auth/login", {"email": "frank@c.example", "password": PW}), 401)
    expect(srv.post("/api/v1/auth/login", {"email": "frank@c.example", "password": "a different password"}), 200)
    # A generated one is printed.
    p = srv.cli("user", "passwd", "--email", "frank@c.example", stdin="")
    pw = p.stdout.strip()
    assert len(pw) >= 16
    expect(srv.post("/api/v1/auth/login", {"email": "frank@c.example", "password": pw}), 200)


def test_user_passwd_refusals(srv, ctx):
    p = srv.cli("user", "passwd", "--email", "ghost@c.example", stdin=PW + "\n", check=False)
    assert p.returncode != 0 and "ghost@c.example" in p.stderr
    p = srv.cli("user", "passwd", "--email", "frank@c.example", stdin="tiny\n", check=False)
    assert p.returncode == 2
    p = srv.cli("user", "passwd", stdin=PW + "\n", check=False)
    assert p.returncode == 2


def test_apikey_create_prints_the_key_once(srv, ctx):
    p = srv.cli("apikey", "create", "--name", "deploy bot", "--role", "admin")
    key = p.stdout.strip()
    assert key.startswith("rk_") and len(p.stdout.splitlines()) == 1
    assert key not in p.stderr and "key_" in p.stderr
    me = expect(srv.get("/api/v1/auth/session", key=key), 200)
    assert me["role"] == "admin"
    r = srv.get("/api/v1/api-keys?limit=100", key=key)
    mine = [k for k in expect(r, 200)["data"] if k["id"] == me["api_key_id"]][0]
    assert mine["name"] == "deploy bot" and mine["created_by"] == "cli" and mine["prefix"] == key[:10]
    assert key not in r.body


def test_apikey_create_default_role_and_partner_keys(srv, ctx):
    key = srv.cli("apikey", "create", "--name", "default").stdout.strip()
    assert expect(srv.get("/api/v1/auth/session", key=key), 200)["role"] == "admin"
    pkey = srv.cli("apikey", "create", "--name", "portal", "--role", "partner", "--partner",
                   ctx["org"]["id"]).stdout.strip()
    me = expect(srv.get("/api/v1/auth/session", key=pkey), 200)
    assert me["role"] == "partner" and me["partner_id"] == ctx["org"]["id"]
    expect(srv.get("/api/v1/users", key=pkey), 403)
    okey = srv.cli("apikey", "create", "--name", "break glass", "--role", "owner").stdout.strip()
    assert expect(srv.get("/api/v1/auth/session", key=okey), 200)["role"] == "owner"


def test_apikey_create_refusals(srv, ctx):
    before = len(expect(srv.get("/api/v1/api-keys?limit=100", key=ctx["admin"]), 200)["data"])
    cases = [
        (("apikey", "create"), 2),
        (("apikey", "create", "--name", ""), 2),
        (("apikey", "create", "--name", "x" * 101), 2),
        (("apikey", "create", "--name", "x", "--role", "god"), 2),
        (("apikey", "create", "--name", "x", "--role", "partner"), 2),
        (("apikey", "create", "--name", "x", "--role", "manager"), 2),
        (("apikey", "create", "--name", "x", "--role", "admin", "--partner", ctx["org"]["id"]), 2),
        (("apikey", "create", "--name", "x", "--role", "partner", "--partner", "ptn_missing"), 1),
        (("apikey", "delete", "--name", "x"), 2),
        (("apikey",), 2),
    ]
    for args, code in cases:
        p = srv.cli(*args, check=False)
        assert p.returncode == code, (args, p.returncode, p.stderr)
        assert p.stdout == "", (args, p.stdout)
    after = len(expect(srv.get("/api/v1/api-keys?limit=100", key=ctx["admin"]), 200)["data"])
    assert after == before


def test_cli_works_while_the_server_runs(srv, ctx):
    # The CLI and the server share the database: what one writes the other sees at once.
    key = srv.cli("apikey", "create", "--name", "live").stdout.strip()
    p = expect(srv.post("/api/v1/partners", {"program_id": ctx["org"]["program_id"], "name": "Live",
                                            "email": "live@c.example"}, key=key), 201)
    srv.cli("user", "add", "--email", "live@c.example", "--role", "partner", "--partner", p["id"], stdin=PW + "\n")
    s = srv.login("live@c.example", PW)
    assert isinstance(s, Session)
    got = expect(srv.get("/api/v1/partners", session=s), 200)["data"]
    assert [x["id"] for x in got] == [p["id"]]


def test_env_vars_configure_serve():
    s = Refd(env={"REFD_LOGIN_MAX_FAILURES": "1", "REFD_SESSION_HOURS": "3"}).start()
    try:
        s.add_user("x@c.example", "admin", PW)
        r = s.post("/api/v1/auth/login", {"email": "x@c.example", "password": PW})
        expect(r, 200)
        assert "Max-Age=10800" in r.header("Set-Cookie")
        expect(s.post("/api/v1/auth/login", {"email": "x@c.example", "password": "wrong wrong"}), 401)
        expect(s.post("/api/v1/auth/login", {"email": "x@c.example", "password": PW}), 429)
    finally:
        s.cleanup()


def test_max_body_flag():
    s = Refd(extra_args=["--max-body", "2048"]).start()
    try:
        key = s.admin_key()
        r = s.post("/api/v1/programs", {"name": "x" * 3000, "currency": "usd"}, key=key)
        expect(r, 413, etype="payload_too_large")
        expect(s.post("/api/v1/programs", {"name": "x" * 150, "currency": "usd"}, key=key), 201)
    finally:
        s.cleanup()
