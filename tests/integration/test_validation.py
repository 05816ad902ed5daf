# SPDX-License-Identifier: Apache-2.0
"""Strict input handling on every writing route: malformed JSON, wrong shapes and types, unknown fields, control
characters, size limits; the error body shape; and that refused input changes nothing and never causes a 500."""
import json
import random

from harness import Refd, db_dump, dump_diff, expect, raw_http

PW = "correct horse battery"


def setup(srv):
    admin = srv.admin_key()
    prog = expect(srv.post("/api/v1/programs", {"name": "V", "currency": "usd"}, key=admin), 201)
    ptn = expect(srv.post("/api/v1/partners", {"program_id": prog["id"], "name": "P", "email": "p@v.example"},
                          key=admin), 201)
    user = expect(srv.post("/api/v1/users", {"email": "u@v.example", "role": "admin", "password": PW}, key=admin),
                  201)
    ctx = {"admin": admin, "prog": prog["id"], "ptn": ptn["id"], "user": user["id"]}
    # Every route that takes a JSON body, with a valid body for it.
    ctx["writes"] = [
        ("POST", "/api/v1/programs", {"name": "ok", "currency": "usd"}),
        ("PATCH", "/api/v1/programs/" + prog["id"], {"name": "V"}),
        ("POST", "/api/v1/partners", {"program_id": prog["id"], "name": "ok", "email": "ok@v.example"}),
        ("PATCH", "/api/v1/partners/" + ptn["id"], {"name": "P"}),
        ("POST", "/api/v1/partners/" + ptn["id"] + "/suspend", {"reason": "x"}),
        ("POST", "/api/v1/users", {"email": "ok@v.example", "role": "admin", "password": PW}),
        ("PATCH", "/api/v1/users/" + user["id"], {"email": "u@v.example"}),
        ("POST", "/api/v1/api-keys", {"name": "ok"}),
        ("POST", "/api/v1/auth/login", {"email": "u@v.example", "password": PW}),
    ]
    return ctx


def snapshot(srv, ctx):
    """Everything a client can read, to show that refused requests changed nothing."""
    out = {}
    for path in ("/api/v1/programs", "/api/v1/partners", "/api/v1/users", "/api/v1/api-keys"):
        body = expect(srv.get(path + "?limit=100", key=ctx["admin"]), 200)
        for item in body["data"]:
            item.pop("last_used_at", None)
        out[path] = body
    return out


def check_error_shape(r):
    assert r.status >= 400, r
    assert r.header("Content-Type", ).startswith("application/json"), r.headers
    e = r.json.get("error") if isinstance(r.json, dict) else None
    assert isinstance(e, dict), r
    assert isinstance(e.get("type"), str) and e["type"], r
    assert isinstance(e.get("message"), str) and e["message"], r
    if "field" in e:
        assert e["field"] is None or (isinstance(e["field"], str) and e["field"]), r
    assert set(r.json) == {"error"}, r
    return e


MALFORMED = ["{", "}", "{\"name\":}", "{\"name\" \"x\"}", "{'name': 'x'}", "{\"name\":\"x\",}", "[1,2",
             "nul", "{\"a\":1}{\"b\":2}", "\"unterminated", "{\"name\":\"\\x\"}", "{\"n\":01}", "{\"n\":NaN}",
             "{\"n\":Infinity}", "\x00", "\ufeff{}", "{\"name\":\"x\"} trailing"]
NOT_OBJECTS = ["[]", "[{\"name\":\"x\"}]", "\"string\"", "42", "true", "null", "1.5"]


def test_malformed_json_is_400_naming_the_body(srv, ctx):
    before = snapshot(srv, ctx)
    for method, path, _ in ctx["writes"]:
        for raw in MALFORMED + NOT_OBJECTS:
            r = srv.request(method, path, raw=raw, key=ctx["admin"], headers={"Content-Type": "application/json"})
            assert r.status == 400, (method, path, raw, r)
            e = check_error_shape(r)
            assert e["type"] == "invalid_request" and e["field"] == "body", (method, path, raw, r)
    assert snapshot(srv, ctx) == before


def test_empty_body_is_400(srv, ctx):
    for method, path, _ in ctx["writes"]:
        if path.endswith("/suspend"):
            continue  # a status change needs no body
        r = srv.request(method, path, raw=b"", key=ctx["admin"], headers={"Content-Type": "application/json"})
        expect(r, 400, field="body")


def test_duplicate_keys_are_refused(srv, ctx):
    before = snapshot(srv, ctx)
    raw = '{"program_id":"%s","name":"a","name":"b","email":"dupkey@v.example"}' % ctx["prog"]
    r = srv.post("/api/v1/partners", raw=raw, key=ctx["admin"], headers={"Content-Type": "application/json"})
    expect(r, 400, field="body")
    assert snapshot(srv, ctx) == before


def test_wrong_content_type_is_refused(srv, ctx):
    for method, path, body in ctx["writes"]:
        for ct in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
            r = srv.request(method, path, raw=json.dumps(body), key=ctx["admin"], headers={"Content-Type": ct})
            assert r.status == 400 and r.json["error"]["field"] == "Content-Type", (path, ct, r)
    # A charset parameter is fine.
    r = srv.request("PATCH", "/api/v1/programs/" + ctx["prog"], raw=json.dumps({"name": "V"}), key=ctx["admin"],
                    headers={"Content-Type": "application/json; charset=utf-8"})
    expect(r, 200)


def test_unknown_fields_are_refused_by_name(srv, ctx):
    before = snapshot(srv, ctx)
    for method, path, body in ctx["writes"]:
        for extra in ("unexpected", "Name", "name ", "__proto__", "x" * 90):
            b = dict(body)
            b[extra] = 1
            r = srv.request(method, path, body=b, key=ctx["admin"])
            assert r.status == 400, (path, extra, r)
            assert r.json["error"]["field"] == extra, (path, extra, r)
            assert extra in r.json["error"]["message"], r
    # Nested members are named with their path.
    r = srv.post("/api/v1/partners", {"program_id": ctx["prog"], "name": "n", "email": "nest@v.example",
                                      "tax_profile": {"country": "DE", "iban": "x"}}, key=ctx["admin"])
    expect(r, 400, field="tax_profile.iban")
    r = srv.post("/api/v1/partners", {"program_id": ctx["prog"], "name": "n", "email": "nest@v.example",
                                      "cost_per_lead": {"amount": 1, "currency": "usd", "cents": 1}},
                 key=ctx["admin"])
    expect(r, 400, field="cost_per_lead")
    assert snapshot(srv, ctx) == before


WRONG_TYPES = {
    "/api/v1/programs": [("name", 1), ("name", ["x"]), ("currency", {"code": "usd"}), ("cookie_window_days", "30"),
                         ("cookie_window_days", 30.0), ("cookie_window_days", None), ("holding_period_days", False),
                         ("attribution_model", None), ("tracking_params", {"a": 1}), ("tracking_params", [None]),
                         ("tracking_params", ["x" * 65]), ("payout_threshold", [1, "usd"])],
    "/api/v1/partners": [("name", True), ("email", ["a@b.example"]), ("kind", 1), ("status", None),
                         ("company", 5), ("currency", 1), ("cost_per_lead", "25.00 USD"), ("metadata", [1]),
                         ("metadata", 5), ("tax_profile", []), ("team_parent_id", {}), ("recruited_by_id", 1),
                         ("cost_per_lead", {"amount": 1e3, "currency": "usd"}),
                         ("cost_per_lead", {"amount": 10 ** 30, "currency": "usd"}),
                         ("cost_per_lead", {"amount": None, "currency": "usd"}),
                         ("cost_per_lead", {"amount": 100, "currency": None})],
    "/api/v1/users": [("email", None), ("role", 1), ("partner_id", 1), ("password", None), ("disabled", "no")],
    "/api/v1/api-keys": [("name", 5), ("role", ["admin"]), ("partner_id", True)],
}


def test_wrong_types_are_refused_by_name(srv, ctx):
    before = snapshot(srv, ctx)
    bases = {p: b for m, p, b in ctx["writes"] if m == "POST"}
    for path, cases in WRONG_TYPES.items():
        for field, value in cases:
            b = dict(bases[path])
            b[field] = value
            r = srv.post(path, b, key=ctx["admin"])
            assert r.status == 400, (path, field, value, r)
            e = check_error_shape(r)
            # A number too big for 64 bits is refused by the parser itself, naming the body.
            assert e["field"] in (field, "body"), (path, field, value, r)
    assert snapshot(srv, ctx) == before


def test_control_characters_and_bad_utf8_are_refused(srv, ctx):
    before = snapshot(srv, ctx)
    base = {"program_id": ctx["prog"], "email": "ctl@v.example"}
    for name in ("a\u0000b", "a\u0001b", "line\nbreak", "bell\u0007", "del\u007f", "esc\u001b[31m"):
        r = srv.post("/api/v1/partners", dict(base, name=name), key=ctx["admin"])
        # NUL is refused by the JSON parser itself (naming the body), the rest by the string check.
        assert r.status == 400 and r.json["error"]["field"] in ("name", "body"), (repr(name), r)
    for raw in (b'{"program_id":"%s","email":"ctl@v.example","name":"\xff\xfe"}' % ctx["prog"].encode(),
                b'{"program_id":"%s","email":"ctl@v.example","name":"\xc0\xaf"}' % ctx["prog"].encode(),
                b'{"program_id":"%s","email":"ctl@v.example","name":"\\ud800"}' % ctx["prog"].encode()):
        r = srv.post("/api/v1/partners", raw=raw, key=ctx["admin"], headers={"Content-Type": "application/json"})
        assert r.status == 400, (raw, r)
    # Tabs and ordinary non-ASCII text are fine.
    p = expect(srv.post("/api/v1/partners", dict(base, name="Tab\there — 日本語 ✓"), key=ctx["admin"]), 201)
    assert p["name"] == "Tab\there — 日本語 ✓"
    after = snapshot(srv, ctx)
    assert len(after["/api/v1/partners"]["data"]) == len(before["/api/v1/partners"]["data"]) + 1


def test_deep_nesting_is_refused(srv, ctx):
    deep = {}
    cur = deep
    for _ in range(20):
        cur["a"] = {}
        cur = cur["a"]
    r = srv.patch("/api/v1/partners/" + ctx["ptn"], {"metadata": deep}, key=ctx["admin"])
    expect(r, 400, field="body")
    very_deep = "[" * 100000 + "]" * 100000
    r = srv.post("/api/v1/programs", raw=very_deep[:60000], key=ctx["admin"],
                 headers={"Content-Type": "application/json"})
    expect(r, 400, field="body")
    shallow = {"l1": {"l2": {"l3": [1, {"l5": True}]}}}
    u = expect(srv.patch("/api/v1/partners/" + ctx["ptn"], {"metadata": shallow}, key=ctx["admin"]), 200)
    assert u["metadata"] == shallow


def test_body_over_the_json_limit_is_413(srv, ctx):
    before = snapshot(srv, ctx)
    for method, path, body in ctx["writes"]:
        big = dict(body)
        big["name"] = "x" * 70000
        r = srv.request(method, path, body=big, key=ctx["admin"])
        assert r.status == 413, (path, r)
        e = check_error_shape(r)
        assert e["type"] == "payload_too_large" and e["field"] == "body", r
    # The limit holds before credentials are even looked at.
    r = srv.post("/api/v1/programs", raw="{" + " " * 70000 + "}", headers={"Content-Type": "application/json"})
    expect(r, 413)
    # Just under the limit is parsed normally (and refused for its content, not its size).
    body = {"program_id": ctx["prog"], "name": "n", "email": "size@v.example", "company": "c" * 201,
            "metadata": {"pad": "p" * 60000}}
    assert len(json.dumps(body)) < 65536
    r = srv.post("/api/v1/partners", body, key=ctx["admin"])
    assert r.status == 400, r
    assert snapshot(srv, ctx) == before


def test_body_over_one_mebibyte_is_refused_by_the_server():
    from harness import Refd
    s = Refd().start()
    try:
        head = ("POST /api/v1/programs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                "Content-Length: %d\r\nConnection: close\r\n\r\n" % (2 * 1024 * 1024)).encode()
        out = raw_http(s.port, head)
        assert out.startswith(b"HTTP/1.1 413"), out[:200]
        # A body that is actually sent is refused too, and the server stays up.
        out = raw_http(s.port, head + b"{" + b" " * (2 * 1024 * 1024 - 2) + b"}")
        assert out == b"" or out.startswith(b"HTTP/1.1 413"), out[:200]
        assert s.get("/healthz").status == 200
    finally:
        s.cleanup()


def test_oversized_strings_are_refused_by_name(srv, ctx):
    before = snapshot(srv, ctx)
    cases = [("/api/v1/programs", {"name": "n" * 201, "currency": "usd"}, "name"),
             ("/api/v1/partners", {"program_id": ctx["prog"], "name": "n" * 201, "email": "big@v.example"}, "name"),
             ("/api/v1/partners", {"program_id": ctx["prog"], "name": "n", "email": "e" * 250 + "@v.example"},
              "email"),
             ("/api/v1/partners", {"program_id": ctx["prog"], "name": "n", "email": "big@v.example",
                                   "company": "c" * 201}, "company"),
             ("/api/v1/partners", {"program_id": ctx["prog"] + "x" * 64, "name": "n", "email": "big@v.example"},
              "program_id"),
             ("/api/v1/users", {"email": "u" * 250 + "@v.example", "role": "admin"}, "email"),
             ("/api/v1/api-keys", {"name": "k" * 101}, "name")]
    for path, body, field in cases:
        r = srv.post(path, body, key=ctx["admin"])
        assert r.status == 400 and r.json["error"]["field"] == field, (path, field, r)
    assert snapshot(srv, ctx) == before


def test_unknown_query_parameters_are_refused_by_name(srv, ctx):
    for path in ("/api/v1/programs", "/api/v1/partners", "/api/v1/users", "/api/v1/api-keys"):
        for q, field in (("foo=1", "foo"), ("limit=5&Limit=5", "Limit"), ("page=2", "page"),
                         ("offset=10", "offset"), ("ending_before=x", "ending_before")):
            r = srv.get(path + "?" + q, key=ctx["admin"])
            assert r.status == 400 and r.json["error"]["field"] == field, (path, q, r)
            assert field in r.json["error"]["message"]


def test_a_nul_in_a_query_parameter_is_refused_by_name(srv, ctx):
    # A decoded NUL would end the value early: "5%00" would be read as 5, "%00" as nothing at all.
    for path in ("/api/v1/programs", "/api/v1/partners", "/api/v1/users", "/api/v1/api-keys"):
        for q, field in (("limit=5%00", "limit"), ("limit=%005", "limit"), ("starting_after=%00", "starting_after"),
                         ("limit=5&starting_after=x%00y", "starting_after")):
            r = srv.get(path + "?" + q, key=ctx["admin"])
            assert r.status == 400 and r.json["error"]["field"] == field, (path, q, r)
            assert field in r.json["error"]["message"], r
        # A NUL in a parameter's name leaves no name to give: the query string as a whole is refused.
        r = srv.get(path + "?li%00mit=5", key=ctx["admin"])
        assert r.status == 400, (path, r)


# ---- Every route, walked from the route table ----

# Routes that let any query parameter through, and why. Every other route refuses a parameter it does not read.
ANY_QUERY = {
    # Pages and their files are opened from links that carry campaign parameters (utm_*, via=, gclid ...).
    ("GET", "/"): "a page: links to it carry campaign parameters",
    ("GET", "/app"): "a page: links to it carry campaign parameters",
    ("GET", "/portal"): "a page: partners arrive on it from links with campaign parameters",
    ("GET", "/assets/{name}"): "a file of the pages: cache-busting parameters",
    ("GET", "/assets/vendor/{name}"): "a file of the pages: cache-busting parameters",
    # The redirect hands the visitor on with whatever the link was shared with (utm_*, fbclid ...).
    ("GET", "/r/{code}"): "the redirect: shared links carry parameters refd does not know",
    # Websites include the script with a version parameter of their own.
    ("GET", "/t.js"): "the tracking script: websites add their own cache-busting parameters",
    # Stripe calls the URL it was given; an event must never be lost over the query string (program_id is
    # read when present, otherwise every program's signing secret is tried).
    ("POST", "/api/v1/integrations/stripe/webhook"): "Stripe calls the configured URL as it is",
    # Paddle and Chargebee call their connection's webhook URL as it was pasted (connection= read, the rest ignored).
    ("POST", "/api/v1/integrations/paddle/webhook"): "Paddle calls the connection's URL as it is",
    ("POST", "/api/v1/integrations/chargebee/webhook"): "Chargebee calls the connection's URL as it is",
}

PW_WALK = "correct horse battery"


def route_list(srv):
    out = []
    for line in srv.cli("routes").stdout.splitlines():
        if line.strip():
            method, pattern = line.split()
            out.append((method, pattern))
    assert len(out) > 80, out
    return out


def takes_body(doc, method, pattern):
    return "requestBody" in doc["paths"][pattern][method.lower()]


def walk_world(s):
    """An instance with one of everything, so that each route is sent to an object it would really change."""
    owner = s.admin_key(role="owner", name="walk")
    w = {"owner": owner}
    w["prog"] = expect(s.post("/api/v1/programs", {"name": "Walk", "currency": "usd"}, key=owner), 201)["id"]
    w["ptn"] = expect(s.post("/api/v1/partners", {"program_id": w["prog"], "name": "Walker",
                                                  "email": "walker@walk.example"}, key=owner), 201)["id"]
    w["lnk"] = expect(s.post("/api/v1/links", {"partner_id": w["ptn"], "destination_url": "https://walk.example/",
                                               "code": "walk-code"}, key=owner), 201)["id"]
    w["pln"] = expect(s.post("/api/v1/plans", {"program_id": w["prog"], "name": "Walk plan", "default": True,
                                               "rules": {"sale_bps": 1000}}, key=owner), 201)["id"]
    w["lead"] = expect(s.post("/api/v1/leads", {"program_id": w["prog"], "email": "lead@walk.example",
                                                "partner_id": w["ptn"]}, key=owner), 201)["id"]
    sale = expect(s.post("/api/v1/sales", {"program_id": w["prog"], "email": "buyer@walk.example",
                                           "partner_id": w["ptn"], "external_id": "inv-walk-1",
                                           "amount": {"amount": 10000, "currency": "usd"}}, key=owner), 201)
    w["sale"] = sale["id"]
    w["com"] = sale["commissions"][0]["id"]
    expect(s.post("/api/v1/commissions/%s/approve" % w["com"], key=owner), 200)
    # A second entry, still pending, for the routes that change one.
    sale2 = expect(s.post("/api/v1/sales", {"program_id": w["prog"], "email": "buyer2@walk.example",
                                            "partner_id": w["ptn"], "external_id": "inv-walk-2",
                                            "amount": {"amount": 5000, "currency": "usd"}}, key=owner), 201)
    w["com"] = sale2["commissions"][0]["id"]
    run = expect(s.post("/api/v1/payout-runs", {"program_id": w["prog"]}, key=owner), 201)
    w["run"] = run["id"]
    w["item"] = run["items"][0]["id"] if run.get("items") else "poi_none"
    w["usr"] = expect(s.post("/api/v1/users", {"email": "walk-user@walk.example", "role": "admin",
                                               "password": PW_WALK}, key=owner), 201)["id"]
    w["key"] = expect(s.post("/api/v1/api-keys", {"name": "spare"}, key=owner), 201)["id"]
    w["evt"] = expect(s.get("/api/v1/events?limit=1", key=owner), 200)["data"][0]["id"]
    w["conn"] = expect(s.post("/api/v1/integrations", {"program_id": w["prog"], "system": "paddle",
                                                       "credentials": {"webhook_secret": "pdl_ntfset_walk"}},
                              key=owner), 201)["id"]
    # A webhook endpoint with a delivery (the walk's servers send none: --webhook-concurrency 0).
    w["wh"] = expect(s.post("/api/v1/webhook-endpoints", {"url": "https://walk.example/hook", "event_types": ["*"]},
                            key=owner), 201)["id"]
    w["dlv"] = expect(s.post("/api/v1/webhook-endpoints/%s/test" % w["wh"], key=owner), 202)["id"]
    # A message of the outbox, once sent (the mail sender changes it meanwhile: the walks compare the database).
    w["msg"] = expect(s.post("/api/v1/mail/test", {"to": "walk-mail@walk.example"}, key=owner), 202)["id"]
    import time
    deadline = time.time() + 15
    while expect(s.get("/api/v1/mail/messages/" + w["msg"], key=owner), 200)["status"] != "delivered":
        assert time.time() < deadline, "the walk's test message was not sent"
        time.sleep(0.02)
    w["imp"] = expect(s.post("/api/v1/imports?type=partners&program_id=" + w["prog"],
                             raw="email,name\nwalk-import@walk.example,Walk Import\n", key=owner,
                             headers={"Content-Type": "text/csv"}), 202)["id"]
    # The import runs on after its answer: the walks compare the database, so it must have ended.
    deadline = time.time() + 15
    while expect(s.get("/api/v1/imports/" + w["imp"], key=owner), 200)["status"] == "running":
        assert time.time() < deadline, "the walk's import did not end"
        time.sleep(0.02)
    return w


def walk_url(w, pattern):
    """The pattern with each {param} filled with a real object of the world."""
    by_segment = {"programs": "prog", "partners": "ptn", "links": "lnk", "leads": "lead", "plans": "pln",
                  "sales": "sale", "commissions": "com", "payout-runs": "run", "items": "item", "users": "usr",
                  "api-keys": "key", "events": "evt", "integrations": "conn", "webhook-endpoints": "wh",
                  "deliveries": "dlv", "messages": "msg",
                  "imports": "imp"}
    segs = pattern.split("/")
    for i, seg in enumerate(segs):
        if seg.startswith("{"):
            if seg == "{code}":
                segs[i] = "walk-code"
            elif seg == "{name}":
                segs[i] = "uplot.mjs" if segs[i - 1] == "vendor" else "style.css"
            elif seg == "{kind}":
                segs[i] = "payout"  # a mail preview
            else:
                segs[i] = w[by_segment[segs[i - 1]]]
    return "/".join(segs)


def walk_body(w, method, pattern):
    """A body the route would act on (None for a route without one); (body, raw, headers)."""
    bodies = {
        ("POST", "/api/v1/auth/login"): {"email": "walk-user@walk.example", "password": PW_WALK},
        ("POST", "/api/v1/auth/password-reset"): {"email": "walk-user@walk.example"},
        ("POST", "/api/v1/auth/password-reset/confirm"): {"token": "t" * 40, "password": PW_WALK},
        ("POST", "/api/v1/portal/signup"): {"program_id": w["prog"], "name": "Applicant",
                                           "email": "applicant@walk.example", "password": PW_WALK},
        ("POST", "/api/v1/programs"): {"name": "Another", "currency": "eur"},
        ("PATCH", "/api/v1/programs/{id}"): {"name": "Renamed"},
        ("POST", "/api/v1/partners"): {"program_id": w["prog"], "name": "New", "email": "new@walk.example"},
        ("PATCH", "/api/v1/partners/{id}"): {"name": "Renamed"},
        ("POST", "/api/v1/partners/{id}/suspend"): {"reason": "walk"},
        ("POST", "/api/v1/partners/{id}/ban"): {"reason": "walk"},
        ("POST", "/api/v1/partners/{id}/activate"): {},
        ("POST", "/api/v1/partners/{id}/hold-payouts"): {"reason": "walk"},
        ("POST", "/api/v1/partners/{id}/release-payouts"): {},
        ("POST", "/api/v1/links"): {"partner_id": w["ptn"], "destination_url": "https://walk.example/2"},
        ("PATCH", "/api/v1/links/{id}"): {"archived": True},
        ("POST", "/api/v1/leads"): {"program_id": w["prog"], "email": "another@walk.example"},
        ("PATCH", "/api/v1/leads/{id}"): {"name": "Renamed"},
        ("POST", "/api/v1/leads/{id}/status"): {"status": "contacted"},
        ("POST", "/api/v1/leads/{id}/approve"): {},
        ("POST", "/api/v1/leads/{id}/reject"): {"reason": "walk"},
        ("POST", "/api/v1/plans"): {"program_id": w["prog"], "name": "Another plan"},
        ("PATCH", "/api/v1/plans/{id}"): {"name": "Renamed"},
        ("POST", "/api/v1/plans/{id}/assign"): {"partner_ids": [w["ptn"]]},
        ("POST", "/api/v1/plans/{id}/simulate"): {"from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z"},
        ("POST", "/api/v1/sales"): {"program_id": w["prog"], "email": "buyer3@walk.example",
                                    "external_id": "inv-walk-3", "amount": {"amount": 100, "currency": "usd"}},
        ("POST", "/api/v1/refunds"): {"sale_id": w["sale"]},
        ("POST", "/api/v1/commissions/{id}/approve"): {},
        ("POST", "/api/v1/commissions/{id}/hold"): {"reason": "walk"},
        ("POST", "/api/v1/commissions/{id}/reject"): {"reason": "walk"},
        ("POST", "/api/v1/payout-runs"): {"program_id": w["prog"]},
        ("POST", "/api/v1/payout-runs/{id}/mark-paid"): {"reference": "walk"},
        ("POST", "/api/v1/payout-runs/{id}/items/{item_id}/mark-paid"): {"reference": "walk"},
        ("POST", "/api/v1/payout-runs/{id}/items/{item_id}/mark-failed"): {"reason": "walk"},
        ("POST", "/api/v1/fx-rates"): {"base": "usd", "quote": "eur", "rate": "0.9",
                                       "valid_from": "2020-01-01T00:00:00Z"},
        ("POST", "/api/v1/track/click"): {"code": "walk-code"},
        ("POST", "/api/v1/users"): {"email": "another@walk.example", "role": "admin", "password": PW_WALK},
        ("PATCH", "/api/v1/users/{id}"): {"disabled": True},
        ("POST", "/api/v1/api-keys"): {"name": "another"},
        ("POST", "/api/v1/integrations"): {"program_id": w["prog"], "system": "chargebee"},
        ("PATCH", "/api/v1/integrations/{id}"): {"name": "Renamed"},
        ("POST", "/api/v1/webhook-endpoints"): {"url": "https://walk.example/2", "event_types": ["lead.created"]},
        ("PATCH", "/api/v1/webhook-endpoints/{id}"): {"description": "walked"},
        ("POST", "/api/v1/webhook-endpoints/{id}/replay"): {"from": "2000-01-01T00:00:00Z",
                                                            "to": "2100-01-01T00:00:00Z"},
        ("PATCH", "/api/v1/notifications"): {"payout": False},
        ("POST", "/api/v1/mail/test"): {"to": "walk-test@walk.example"},
    }
    if (method, pattern) == ("POST", "/api/v1/fx-rates/import"):
        return None, "base,quote,rate,valid_from\nusd,gbp,0.8,2020-01-01T00:00:00Z\n", {"Content-Type": "text/csv"}
    if (method, pattern) == ("POST", "/api/v1/imports"):
        return None, "email,name\nwalk-import2@walk.example,Walk Import\n", {"Content-Type": "text/csv"}
    return bodies.get((method, pattern), {}), None, None


def walk_send(s, w, method, pattern, query, with_body):
    body, raw, headers = walk_body(w, method, pattern) if with_body else (None, None, None)
    return s.request(method, walk_url(w, pattern) + query, body=body, raw=raw, headers=headers, key=w["owner"])


def test_every_route_refuses_unknown_query_parameters():
    """Walks every route of `refd routes`: an unknown query parameter is refused with a 400 naming it, before the
    route does anything (the whole database is compared before and after), except on the routes of ANY_QUERY,
    which still answer as usual."""
    s = Refd(extra_args=["--jobs-interval-ms", "86400000", "--webhook-concurrency", "0"]).start()
    try:
        doc = expect(s.get("/api/openapi.json"), 200)
        w = walk_world(s)
        routes = route_list(s)
        assert set(ANY_QUERY) <= set(routes), sorted(set(ANY_QUERY) - set(routes))
        wrong = []
        for method, pattern in routes:
            if (method, pattern) in ANY_QUERY:
                continue
            before = db_dump(s)
            r = walk_send(s, w, method, pattern, "?zz_unknown=1", takes_body(doc, method, pattern))
            err = (r.json or {}).get("error") or {}
            if r.status != 400 or err.get("field") != "zz_unknown" or "zz_unknown" not in err.get("message", ""):
                wrong.append("%s %s: %r" % (method, pattern, r))
            changed = dump_diff(before, db_dump(s))
            if changed:
                wrong.append("%s %s?zz_unknown=1 changed %r" % (method, pattern, changed))
        assert not wrong, "\n".join(wrong)
        # The same with a known parameter beside the unknown one, and with the unknown one first.
        for path in ("/api/v1/partners?limit=1&zz_unknown=1", "/api/v1/partners?zz_unknown=1&limit=1"):
            expect(s.get(path, key=w["owner"]), 400, field="zz_unknown")
        r = s.post("/api/v1/partners/%s/suspend?reason=walk" % w["ptn"], {"reason": "walk"}, key=w["owner"])
        expect(r, 400, field="reason")
        assert "query parameter" in r.json["error"]["message"], r
        assert expect(s.get("/api/v1/partners/" + w["ptn"], key=w["owner"]), 200)["status"] == "active"
        # The routes that take any parameter answer as they do without one.
        for (method, pattern), why in sorted(ANY_QUERY.items()):
            url = walk_url(w, pattern)
            plain = walk_send(s, w, method, pattern, "", takes_body(doc, method, pattern))
            r = walk_send(s, w, method, pattern, "?utm_source=news&via=walk-code&zz_unknown=1",
                          takes_body(doc, method, pattern))
            assert r.status == plain.status, (method, url, why, plain, r)
            assert ((r.json or {}).get("error") or {}).get("field") != "zz_unknown", (method, url, r)
    finally:
        s.cleanup()


# Bodies a route without one must refuse: broken, of the wrong kind, absurdly deep, or simply not empty.
NOT_A_NOTHING = ["{", "[]", "[" * 10000 + "]" * 10000, '{"reason": "x"}', "x", "null", '""', "{} {}", "{}x"]


def test_routes_without_a_body_refuse_one():
    """Every route the document gives no request body refuses one with a 400 naming the body, whatever its
    content or Content-Type, and changes nothing; an empty JSON object, which some clients send with every POST,
    counts as no body."""
    s = Refd(extra_args=["--jobs-interval-ms", "86400000", "--webhook-concurrency", "0"]).start()
    try:
        doc = expect(s.get("/api/openapi.json"), 200)
        w = walk_world(s)
        bodyless = [(m, p) for m, p in route_list(s) if not takes_body(doc, m, p)]
        for must in (("DELETE", "/api/v1/api-keys/{id}"), ("POST", "/api/v1/auth/logout"),
                     ("POST", "/api/v1/payout-runs/{id}/approve"), ("POST", "/api/v1/payout-runs/{id}/cancel")):
            assert must in bodyless, must
        wrong = []
        for method, pattern in bodyless:
            url = walk_url(w, pattern)
            for raw, ctype in [(b, "application/json") for b in NOT_A_NOTHING] + [("hello", "text/plain")]:
                before = db_dump(s)
                r = s.request(method, url, raw=raw, key=w["owner"], headers={"Content-Type": ctype})
                err = (r.json or {}).get("error") or {}
                if r.status != 400 or err.get("field") != "body" or "no body" not in err.get("message", ""):
                    wrong.append("%s %s with %r: %r" % (method, pattern, raw[:20], r))
                changed = dump_diff(before, db_dump(s))
                if changed:
                    wrong.append("%s %s with %r changed %r" % (method, pattern, raw[:20], changed))
        assert not wrong, "\n".join(wrong)
        keys = expect(s.get("/api/v1/api-keys?limit=100", key=w["owner"]), 200)["data"]
        assert [k["revoked"] for k in keys if k["id"] == w["key"]] == [False], keys
        # A session is not ended by a logout with a body.
        sess = s.login("walk-user@walk.example", PW_WALK)
        r = s.request("POST", "/api/v1/auth/logout", raw="[]", session=sess,
                      headers={"Content-Type": "application/json"})
        expect(r, 400, field="body")
        expect(s.get("/api/v1/auth/session", session=sess), 200)
        # An empty object, with white space around it, is no body: the revocation goes through.
        r = s.request("DELETE", "/api/v1/api-keys/" + w["key"], raw=" {\n} ", key=w["owner"],
                      headers={"Content-Type": "application/json"})
        assert expect(r, 200)["revoked"] is True
    finally:
        s.cleanup()


def test_error_bodies_have_the_documented_shape(srv, ctx):
    responses = [
        srv.get("/api/v1/nowhere", key=ctx["admin"]),
        srv.request("PUT", "/api/v1/partners", key=ctx["admin"]),
        srv.get("/api/v1/partners"),
        srv.get("/api/v1/partners", headers={"Authorization": "Bearer rk_nope"}),
        srv.get("/api/v1/partners/ptn_nope", key=ctx["admin"]),
        srv.post("/api/v1/partners", {"x": 1}, key=ctx["admin"]),
        srv.post("/api/v1/partners", {"program_id": ctx["prog"], "name": "P", "email": "p@v.example"},
                 key=ctx["admin"]),
        srv.post("/api/v1/partners/" + ctx["ptn"] + "/activate", key=ctx["admin"]),
        srv.post("/api/v1/programs", raw="x" * 70000, key=ctx["admin"]),
        srv.get("/api/v1/users", key=srv.admin_key(role="partner", partner=ctx["ptn"], name="p")),
        srv.post("/api/v1/auth/login", {"email": "u@v.example", "password": "wrong password"}),
    ]
    statuses = [r.status for r in responses]
    assert statuses == [404, 405, 401, 401, 404, 400, 409, 409, 413, 403, 401], statuses
    for r in responses:
        check_error_shape(r)
        assert r.header("Cache-Control") == "no-store", r.headers


def test_every_error_names_a_field_member(srv, ctx):
    # The documented error shape is {"error":{"type","message","field"}}: field is always there, null when no
    # single input is to blame.
    missing = []
    for r in (srv.get("/api/v1/nowhere", key=ctx["admin"]), srv.request("PUT", "/api/v1/partners", key=ctx["admin"]),
              srv.get("/api/v1/partners"), srv.post("/api/v1/partners/" + ctx["ptn"] + "/suspend"),
              srv.get("/api/v1/users", key=srv.admin_key(role="partner", partner=ctx["ptn"], name="p2"))):
        assert r.status >= 400
        if "field" not in r.json["error"]:
            missing.append("%d %s" % (r.status, r.json))
    assert not missing, "error bodies without a field member: %r" % missing


def test_paths_that_do_not_match_are_404(srv, ctx):
    for path in ("/api/v1/partners/" + ctx["ptn"] + "/unknown", "/api/v1/partners/a/b/c/d",
                 "/api/v1/" + "x" * 200, "/api/v2/partners", "/API/V1/PARTNERS", "/" + "a/" * 20,
                 "/api/v1/partners/" + "p" * 300):
        r = srv.get(path, key=ctx["admin"])
        assert r.status == 404, (path, r)
        check_error_shape(r)
    # A trailing slash or doubled slashes reach the same resource.
    expect(srv.get("/api/v1/partners/", key=ctx["admin"]), 200)
    expect(srv.get("/api/v1//partners/" + ctx["ptn"], key=ctx["admin"]), 200)


def test_random_bodies_never_cause_a_500(srv, ctx):
    rng = random.Random(1234)
    before = snapshot(srv, ctx)
    atoms = [None, True, False, 0, -1, 2 ** 63 - 1, -2 ** 63, 1.5, "", "x", "usd", "ZZZ", "a@b.example",
             "ptn_nope", "prg_nope", ctx["prog"], "\u00e9", [], {}, [1], {"amount": 1}, {"amount": 1, "currency": "eur"},
             {"country": "DE"}, "x" * 300]
    fields = ["name", "email", "currency", "kind", "status", "program_id", "company", "cost_per_lead", "metadata",
              "tax_profile", "team_parent_id", "recruited_by_id", "role", "partner_id", "password", "disabled",
              "cookie_window_days", "holding_period_days", "attribution_model", "payout_threshold",
              "tracking_params", "reason", "junk"]
    writes = [w for w in ctx["writes"] if w[1] != "/api/v1/auth/login"]
    statuses = {}
    for i in range(300):
        method, path, _ = rng.choice(writes)
        body = {f: rng.choice(atoms) for f in rng.sample(fields, rng.randint(0, 4))}
        r = srv.request(method, path, body=body, key=ctx["admin"])
        assert r.status < 500, (method, path, body, r)
        assert r.json is not None, (method, path, body, r)
        statuses[r.status] = statuses.get(r.status, 0) + 1
    assert statuses.get(400, 0) > 200, statuses
    # The few random bodies that were valid may have changed something; only refused ones must not have. Check
    # that the partner used as the cursor of everything still exists and the instance still answers.
    expect(srv.get("/api/v1/partners/" + ctx["ptn"], key=ctx["admin"]), 200)
    assert snapshot(srv, ctx)["/api/v1/programs"]["data"][-1]["id"] == before["/api/v1/programs"]["data"][-1]["id"]


def test_server_survives_garbage_http(srv, ctx):
    for data in (b"GARBAGE\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
                 b"GET /api/v1/partners HTTP/1.1\r\nHost: x\r\nAuthorization: " + b"A" * 20000 + b"\r\n\r\n",
                 b"POST /api/v1/programs HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
                 b"POST /api/v1/programs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"):
        raw_http(srv.port, data, timeout=0.3)
    expect(srv.get("/healthz"), 200)
    expect(srv.get("/api/v1/programs", key=ctx["admin"]), 200)


def test_blank_names_are_refused(srv, ctx):
    before = snapshot(srv, ctx)
    for blank in (" ", "   ", "\t", " \t "):
        expect(srv.post("/api/v1/programs", {"name": blank, "currency": "usd"}, key=ctx["admin"]), 400, field="name")
        expect(srv.post("/api/v1/partners", {"program_id": ctx["prog"], "name": blank, "email": "blank@v.example"},
                        key=ctx["admin"]), 400, field="name")
        expect(srv.patch("/api/v1/partners/" + ctx["ptn"], {"name": blank}, key=ctx["admin"]), 400, field="name")
        expect(srv.post("/api/v1/api-keys", {"name": blank}, key=ctx["admin"]), 400, field="name")
    assert snapshot(srv, ctx) == before


def test_head_is_answered_like_get(srv, ctx):
    for path in ("/healthz", "/api/v1/programs", "/api/v1/partners/" + ctx["ptn"]):
        g = srv.get(path, key=ctx["admin"])
        h = srv.request("HEAD", path, key=ctx["admin"])
        assert h.status == g.status == 200, (path, h, g)
        assert h.body == "", h


# ---- A replay is validated like a first request ----

COMMERCE = ("sales", "refunds", "leads", "customers", "commissions", "audit_log")


def commerce(srv):
    d = db_dump(srv)
    return {t: d[t] for t in COMMERCE}


def test_a_replayed_sale_is_validated_like_a_new_one(srv, ctx):
    admin = ctx["admin"]
    body = {"program_id": ctx["prog"], "email": "replay@v.example", "external_id": "inv-replay-1",
            "amount": {"amount": 2500, "currency": "usd"}}
    first = expect(srv.post("/api/v1/sales", body, key=admin), 201)
    again = expect(srv.post("/api/v1/sales", body, key=admin), 200)
    assert again["id"] == first["id"] and again["duplicate"] is True, again
    before = commerce(srv)
    no_customer = {k: v for k, v in body.items() if k != "email"}
    for bad, field in ((dict(body, email="not-an-email"), "email"), (dict(body, email="a@"), "email"),
                       (no_customer, "email"), (dict(body, lead_id="lead_none"), "lead_id")):
        r = srv.post("/api/v1/sales", bad, key=admin)
        expect(r, 400, field=field)
    # The same requests without a stored sale to replay are refused the same way.
    for bad, field in ((dict(body, external_id="inv-replay-2", email="not-an-email"), "email"),
                       (dict(no_customer, external_id="inv-replay-2"), "email")):
        expect(srv.post("/api/v1/sales", bad, key=admin), 400, field=field)
    assert commerce(srv) == before


def test_a_replayed_refund_is_validated_like_a_new_one(srv, ctx):
    admin = ctx["admin"]
    sale = expect(srv.post("/api/v1/sales", {"program_id": ctx["prog"], "email": "refund-replay@v.example",
                                             "external_id": "inv-refund-replay",
                                             "amount": {"amount": 4000, "currency": "usd"}}, key=admin), 201)
    body = {"sale_id": sale["id"], "external_id": "rf-replay-1", "amount": {"amount": 500, "currency": "usd"}}
    first = expect(srv.post("/api/v1/refunds", body, key=admin), 201)
    again = expect(srv.post("/api/v1/refunds", body, key=admin), 200)
    assert again["id"] == first["id"] and again["duplicate"] is True, again
    before = commerce(srv)
    r = srv.post("/api/v1/refunds", dict(body, amount={"amount": 500, "currency": "eur"}), key=admin)
    expect(r, 400, field="amount")
    assert "currency" in r.json["error"]["message"], r
    assert commerce(srv) == before


def test_a_lead_that_exists_is_still_validated(srv, ctx):
    # The same person is the same lead, but only for a request that is valid as a whole.
    admin = ctx["admin"]
    body = {"program_id": ctx["prog"], "email": "same-person@v.example", "name": "Same"}
    first = expect(srv.post("/api/v1/leads", body, key=admin), 201)
    again = expect(srv.post("/api/v1/leads", body, key=admin), 200)
    assert again["id"] == first["id"] and again["duplicate"] is True, again
    before = commerce(srv)
    for change, field in (({"phone": "call me"}, "phone"), ({"source": "tv"}, "source"),
                          ({"email": "not-an-email"}, "email")):
        expect(srv.post("/api/v1/leads", dict(body, **change), key=admin), 400, field=field)
    assert commerce(srv) == before


def test_a_signup_website_is_an_http_url(srv, ctx):
    """The portal sign-up keeps the applicant's website for the admin who reviews it: only an http(s) URL."""
    base = {"program_id": ctx["prog"], "name": "Applicant", "password": PW}
    tables = ("partners", "users", "sessions", "audit_log", "login_failures")
    d = db_dump(srv)
    before = {t: d[t] for t in tables}
    for bad in ("javascript:alert(1)", "JavaScript:alert(document.cookie)", "data:text/html,<script>x</script>",
                "vbscript:msgbox(1)", "ftp://files.example.com/", "//evil.example/", "www.example.com",
                "https://", "https://user:secret@evil.example/", "https://exa mple.com/", "mailto:a@b.example"):
        r = srv.post("/api/v1/portal/signup", dict(base, email="site@v.example", website=bad))
        expect(r, 400, field="website")
    d = db_dump(srv)
    assert {t: d[t] for t in tables} == before
    ok = expect(srv.post("/api/v1/portal/signup", dict(base, email="site-ok@v.example",
                                                       website="  https://reyes.example/blog?x=1  ")), 201)
    assert ok["partner"]["metadata"]["website"] == "https://reyes.example/blog?x=1", ok
    blank = expect(srv.post("/api/v1/portal/signup", dict(base, email="site-blank@v.example", website=" ")), 201)
    assert blank["partner"]["metadata"]["website"] is None, blank
