# SPDX-License-Identifier: Apache-2.0
"""The OpenAPI document: served at /api/openapi.json, describing exactly the routes the binary has, with an
operationId, a success response and (for routes that need credentials) a 401 on every operation, lint clean
under the pinned linter, and in agreement with what the server really answers."""
import base64
import datetime
import hashlib
import hmac
import json
import os
import re
import subprocess
import time

import harness
from harness import BINARY

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SOURCE = os.path.join(ROOT, "src", "api", "openapi.json")
LINT = os.path.join(ROOT, "scripts", "lint_openapi.sh")
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
PUBLIC = {("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/api/openapi.json"), ("POST", "/api/v1/auth/login"),
          # The currency table is reference data, the same for everyone; the web UI loads it before any login.
          ("GET", "/api/v1/currencies"),
          # So are the event types (a webhook endpoint's event_types choose from them).
          ("GET", "/api/v1/event-types"),
          ("GET", "/r/{code}"), ("GET", "/t.js"), ("POST", "/api/v1/track/click"),
          ("OPTIONS", "/api/v1/track/click"),
          # The web UI's pages and files, which sign in through the API; sign-up and password reset by link.
          ("GET", "/"), ("GET", "/app"), ("GET", "/portal"), ("GET", "/assets/{name}"),
          ("GET", "/assets/vendor/{name}"), ("POST", "/api/v1/portal/signup"),
          ("POST", "/api/v1/auth/password-reset"), ("POST", "/api/v1/auth/password-reset/confirm"),
          # One-click unsubscribe (RFC 8058): the signed token in the address is the credential.
          ("GET", "/api/v1/unsubscribe"), ("POST", "/api/v1/unsubscribe"),
          # Stripe does not hold refd credentials: the Stripe-Signature header authenticates its events.
          ("POST", "/api/v1/integrations/stripe/webhook"),
          # Nor do Paddle (the Paddle-Signature header) and Chargebee (the connection's Basic authentication).
          ("POST", "/api/v1/integrations/paddle/webhook"), ("POST", "/api/v1/integrations/chargebee/webhook"),
          # Nor do the CRMs: HubSpot's X-HubSpot-Signature-v3 authenticates its batches, the Basic credentials set
          # on Pipedrive's webhook its events.
          ("POST", "/api/v1/integrations/hubspot/webhook"), ("POST", "/api/v1/integrations/pipedrive/webhook"),
          # Salesforce's Outbound Messages are checked by their OrganizationId.
          ("POST", "/api/v1/integrations/salesforce/webhook")}

_doc = {}


def make_server():
    # The holding-period job runs once at start (on an empty database) and then not again during the test, so
    # that entries whose holding period has ended stay as the test leaves them until it approves them itself.
    return harness.Refd(extra_args=["--jobs-interval-ms", "86400000"]).start()


def document(srv):
    if "doc" not in _doc:
        r = srv.get("/api/openapi.json")
        assert r.status == 200, r
        _doc["doc"] = json.loads(r.body)
    return _doc["doc"]


def operations(doc):
    """(METHOD, path, operation) for every operation in the document."""
    for path, item in doc.get("paths", {}).items():
        for method in HTTP_METHODS:
            if method in item:
                yield method.upper(), path, item[method]


def probe_url(path):
    """The path with every parameter ({id}, {item_id}, {code}) naming nothing."""
    return re.sub(r"\{[^}]+\}", "x_none", path)


def binary_routes():
    p = subprocess.run([BINARY, "routes"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    routes = set()
    for line in p.stdout.splitlines():
        if line.strip():
            method, path = line.split()
            routes.add((method, path))
    assert routes, "refd routes printed nothing"
    return routes


def test_served_as_openapi_3_1(srv):
    r = srv.get("/api/openapi.json")
    assert r.status == 200, r
    assert (r.header("Content-Type") or "").startswith("application/json"), r.headers
    doc = json.loads(r.body)
    assert doc["openapi"] == "3.1.0", doc.get("openapi")
    assert doc["info"]["title"] and doc["info"]["version"]


def test_served_document_is_the_source_file(srv):
    with open(SOURCE) as f:
        source = json.load(f)
    assert document(srv) == source, "build/refd serves an older src/api/openapi.json: run make"


def test_paths_match_the_route_table(srv):
    documented = {(m, p) for m, p, _ in operations(document(srv))}
    routes = binary_routes()
    missing = sorted(routes - documented)
    extra = sorted(documented - routes)
    assert not missing and not extra, (
        "the OpenAPI document and `refd routes` disagree.\n"
        "  routes missing from the document: %s\n"
        "  documented operations that are not routes: %s"
        % (", ".join("%s %s" % r for r in missing) or "none", ", ".join("%s %s" % r for r in extra) or "none"))


def test_operations_have_ids_success_and_auth_errors(srv):
    doc = document(srv)
    seen = {}
    problems = []
    for method, path, op in operations(doc):
        name = "%s %s" % (method, path)
        op_id = op.get("operationId")
        if not op_id:
            problems.append("%s has no operationId" % name)
        elif op_id in seen:
            problems.append("%s reuses operationId %s of %s" % (name, op_id, seen[op_id]))
        else:
            seen[op_id] = name
        codes = set(op.get("responses", {}))
        # A redirect (GET /r/{code}) succeeds with a 3xx.
        if not any(re.fullmatch(r"[23](\d\d|XX)", c) for c in codes):
            problems.append("%s documents no 2xx or 3xx response" % name)
        security = op.get("security", doc.get("security", []))
        if (method, path) in PUBLIC:
            if op.get("security") != []:
                problems.append("%s is public but does not say `security: []`" % name)
        else:
            if not security:
                problems.append("%s needs credentials but documents no security requirement" % name)
            if "401" not in codes:
                problems.append("%s needs credentials but documents no 401" % name)
    assert not problems, "\n".join(problems)


def test_documented_security_matches_the_server(srv):
    """Without credentials, exactly the routes documented as public answer something other than 401."""
    doc = document(srv)
    wrong = []
    for method, path, op in operations(doc):
        url = probe_url(path)
        r = srv.request(method, url)
        public = op.get("security", doc.get("security")) == []
        if public == (r.status == 401):
            wrong.append("%s %s: documented %s, answered %d without credentials"
                         % (method, path, "public" if public else "as needing credentials", r.status))
    assert not wrong, "\n".join(wrong)


def query_parameters(doc, path, op):
    """The names of the query parameters an operation documents (its own and its path's)."""
    params = doc["paths"][path].get("parameters", []) + op.get("parameters", [])
    return [resolve(doc, p)["name"] for p in params if resolve(doc, p)["in"] == "query"]


# Operations that take query parameters but read them without checking them, and why.
QUERY_NOT_CHECKED = {
    # Stripe calls the URL it was given; refd takes its program_id when it can read it, and otherwise tries every
    # program's signing secret, so an event is never lost over the query string.
    ("POST", "/api/v1/integrations/stripe/webhook"),
    # Paddle and Chargebee call the webhook URL of their connection as it was pasted: refd reads `connection`
    # from it and ignores anything else the system adds.
    ("POST", "/api/v1/integrations/paddle/webhook"),
    ("POST", "/api/v1/integrations/chargebee/webhook"),
}


def test_malformed_query_strings_are_refused(srv):
    """Every operation that documents query parameters refuses a query string it cannot read (a piece without
    "="), rather than reading part of it or none, and says so in a documented 400."""
    doc = document(srv)
    owner = srv.admin_key(role="owner")
    wrong = []
    for method, path, op in operations(doc):
        if not query_parameters(doc, path, op) or (method, path) in QUERY_NOT_CHECKED:
            continue
        for query in ("?bogus", "?limit=1&bogus", "?a=1&&b"):
            r = srv.request(method, probe_url(path) + query, key=owner)
            err = (r.json or {}).get("error", {})
            if r.status != 400 or "query string cannot be read" not in err.get("message", ""):
                wrong.append("%s %s%s: %r" % (method, path, query, r))
    assert not wrong, "\n".join(wrong)


# Operations that take any query parameter besides their own (the route table says so), and why.
ANY_QUERY = {
    # Pages, their files, the redirect and the tracking script are reached through links that carry campaign
    # parameters (utm_*, via=, gclid ...).
    ("GET", "/"), ("GET", "/app"), ("GET", "/portal"), ("GET", "/assets/{name}"), ("GET", "/assets/vendor/{name}"),
    ("GET", "/r/{code}"), ("GET", "/t.js"),
} | QUERY_NOT_CHECKED


def test_query_parameters_match_the_route_table(srv):
    """Every documented query parameter is one the route reads (sending it is never refused as unknown), and an
    undocumented one is refused with a 400 naming it, which the operation documents."""
    doc = document(srv)
    owner = srv.admin_key(role="owner")
    wrong = []
    for method, path, op in operations(doc):
        for name in query_parameters(doc, path, op):
            r = srv.request(method, probe_url(path) + "?%s=x" % name, key=owner)
            if "unknown query parameter" in ((r.json or {}).get("error") or {}).get("message", ""):
                wrong.append("%s %s: the documented parameter %s is refused: %r" % (method, path, name, r))
        if (method, path) in ANY_QUERY:
            continue
        r = srv.request(method, probe_url(path) + "?zz_undocumented=1", key=owner)
        if r.status != 400 or ((r.json or {}).get("error") or {}).get("field") != "zz_undocumented":
            wrong.append("%s %s: an undocumented parameter was not refused: %r" % (method, path, r))
        if "400" not in op.get("responses", {}):
            wrong.append("%s %s refuses unknown query parameters but documents no 400" % (method, path))
    assert not wrong, "\n".join(wrong)


def test_bodies_match_the_route_table(srv):
    """An operation the document gives no request body refuses one with a 400 naming the body, which it documents
    (the operations with a body are probed by test_request_bodies_match_the_validation)."""
    doc = document(srv)
    owner = srv.admin_key(role="owner")
    wrong = []
    for method, path, op in operations(doc):
        if "requestBody" in op:
            continue
        r = srv.request(method, probe_url(path), raw='{"zz_not_a_body": 1}', key=owner,
                        headers={"Content-Type": "application/json"})
        if r.status != 400 or ((r.json or {}).get("error") or {}).get("field") != "body":
            wrong.append("%s %s: a body was not refused: %r" % (method, path, r))
        if "400" not in op.get("responses", {}):
            wrong.append("%s %s refuses a body but documents no 400" % (method, path))
    assert not wrong, "\n".join(wrong)


def test_lint_clean(srv):
    p = subprocess.run(["sh", LINT], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, "scripts/lint_openapi.sh exited %d:\n%s\n%s" % (p.returncode, p.stdout, p.stderr)


# ---- The document against real answers ----
# A small JSON Schema checker (the subset the document uses), so the test needs nothing beyond Python.


def resolve(doc, schema):
    while "$ref" in schema:
        node = doc
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        schema = node
    return schema


def type_ok(t, v):
    return {
        "object": isinstance(v, dict),
        "array": isinstance(v, list),
        "string": isinstance(v, str),
        "integer": isinstance(v, int) and not isinstance(v, bool),
        "number": isinstance(v, (int, float)) and not isinstance(v, bool),
        "boolean": isinstance(v, bool),
        "null": v is None,
    }[t]


def property_names(doc, schema):
    """Every property an object schema (with its allOf branches) declares, or None when it declares none."""
    schema = resolve(doc, schema)
    names = set(schema.get("properties", {}))
    for sub in schema.get("allOf", []):
        more = property_names(doc, sub)
        if more is None:
            return None
        names |= more
    return names or None


def check(doc, schema, v, where, errors, closed=True):
    """Appends to errors where v breaks schema. closed: an object may not have members the schema does not
    declare, so that a response member missing from the document is caught."""
    schema = resolve(doc, schema)
    for sub in schema.get("allOf", []):
        check(doc, sub, v, where, errors, closed=False)
    if "oneOf" in schema:
        fits = 0
        for sub in schema["oneOf"]:
            e = []
            check(doc, sub, v, where, e, closed)
            fits += not e
        if fits != 1:
            errors.append("%s: %d of the oneOf branches fit %r" % (where, fits, v))
    t = schema.get("type")
    if t is not None:
        types = t if isinstance(t, list) else [t]
        if not any(type_ok(x, v) for x in types):
            errors.append("%s: %r is not of type %s" % (where, v, t))
            return
    if "const" in schema and v != schema["const"]:
        errors.append("%s: %r is not %r" % (where, v, schema["const"]))
    if "enum" in schema and v not in schema["enum"]:
        errors.append("%s: %r is not one of %s" % (where, v, schema["enum"]))
    if isinstance(v, str):
        if "pattern" in schema and not re.search(schema["pattern"], v):
            errors.append("%s: %r does not match %s" % (where, v, schema["pattern"]))
        if len(v) > schema.get("maxLength", len(v)) or len(v) < schema.get("minLength", 0):
            errors.append("%s: %r has the wrong length" % (where, v))
    if isinstance(v, int) and not isinstance(v, bool):
        if v < schema.get("minimum", v) or v > schema.get("maximum", v):
            errors.append("%s: %r is out of range" % (where, v))
    if isinstance(v, list) and "items" in schema:
        for i, item in enumerate(v):
            check(doc, schema["items"], item, "%s[%d]" % (where, i), errors, closed)
    if isinstance(v, dict):
        for name in schema.get("required", []):
            if name not in v:
                errors.append("%s: required member %s is missing" % (where, name))
        props = schema.get("properties", {})
        for name, value in v.items():
            if name in props:
                check(doc, props[name], value, where + "." + name, errors, closed)
        declared = property_names(doc, schema)
        if closed and declared is not None:
            for name in sorted(set(v) - declared):
                errors.append("%s: member %s is not in the document" % (where, name))


def member_schema(doc, schema):
    """The schema of a body member with allOf/oneOf wrappers and a null branch taken away; (schema, nullable)."""
    schema = resolve(doc, schema)
    nullable = False
    t = schema.get("type")
    if isinstance(t, list):
        nullable = "null" in t
    if "oneOf" in schema:
        branches = [resolve(doc, b) for b in schema["oneOf"]]
        nullable = nullable or any(b.get("type") == "null" for b in branches)
        schema = [b for b in branches if b.get("type") != "null"][0]
    if "allOf" in schema and len(schema["allOf"]) == 1:
        schema = resolve(doc, schema["allOf"][0])
    t = schema.get("type")
    types = set(t if isinstance(t, list) else [t]) - {"null"}
    return schema, types, nullable


TYPE_ERROR = re.compile(r"must be (a string|an integer|true or false|an object|an array)|cannot be null")

# Operations whose body the generic probe below cannot judge, and why.
NOT_PROBED = {
    # Any Stripe event is accepted as Stripe sends it (the document does not close the object), and the server
    # checks the Stripe-Signature before it reads the body, so a probe without a valid signature only ever sees
    # that 400. test_answers_fit_the_document sends signed events.
    ("POST", "/api/v1/integrations/stripe/webhook"),
    # The same for Paddle's and Chargebee's events, checked after the signature or the Basic authentication.
    ("POST", "/api/v1/integrations/paddle/webhook"),
    ("POST", "/api/v1/integrations/chargebee/webhook"),
    # HubSpot's batch is an array taken as HubSpot sends it, behind its connection and signature in the same way;
    # Pipedrive's event behind its connection and Basic credentials.
    ("POST", "/api/v1/integrations/hubspot/webhook"),
    ("POST", "/api/v1/integrations/pipedrive/webhook"),
    # Salesforce's SOAP message is XML, behind its connection and organisation.
    ("POST", "/api/v1/integrations/salesforce/webhook"),
}

# Object members whose own members the generic probe does not try one by one (as with money), and why.
CHECKED_AS_A_WHOLE = {
    # `name` is required and checked before the rules are read, so a body holding only rules never reaches them.
    # PATCH /api/v1/plans/{id} reads the rules first and probes the same PlanRulesInput members.
    ("POST", "/api/v1/plans", "rules"),
    # `from`, `to` and the plan are checked before the rules (the same PlanRulesInput, probed through PATCH).
    ("POST", "/api/v1/plans/{id}/simulate", "rules"),
    # A tier setting is checked as one value: every error in it names rules.tiers.
    ("PATCH", "/api/v1/plans/{id}", "rules.tiers"),
}

# Members the handler checks itself before the generic body check, refusing null with its own message rather
# than "cannot be null": for these a null is judged refused by any 400 that names the member.
NULL_REFUSED_BY_HANDLER = {
    # A rate is a decimal string: the handler refuses anything else present as `rate` (null included) first,
    # so that a JSON number never passes through binary floating point.
    ("POST", "/api/v1/fx-rates", "rate"),
    # A failed payment and a hold on payouts need a reason: null, like a missing or blank one, is refused with
    # "... needs the reason" / "... needs a reason".
    ("POST", "/api/v1/payout-runs/{id}/items/{item_id}/mark-failed", "reason"),
    ("POST", "/api/v1/partners/{id}/hold-payouts", "reason"),
}

# Members the generic probe cannot judge at all, and why; each has a test of its own below.
PROBED_APART = {
    # `rates` must hold 1 to 1000 rates (so the probe's empty array is refused) and is checked member by member
    # by the handler (errors name `rates`, or the member of the rate at fault).
    ("POST", "/api/v1/fx-rates", "rates"),
}


def test_request_bodies_match_the_validation(srv):
    """Every documented body member is one the server knows, with the documented type, nullability and
    maximum length; members the document does not list are refused. (Requests here are either invalid or name
    objects that do not exist, except a few harmless API keys made by the right-type probe.)"""
    doc = document(srv)
    owner = srv.admin_key(role="owner")
    money = doc["components"]["schemas"]["MoneyInput"]
    problems = []

    def send(method, url, body):
        return srv.request(method, url, body=body, key=owner)

    def probe(method, path, url, name, field, schema, wrap):
        sub, types, nullable = member_schema(doc, schema)
        bad = 7 if "array" in types else [[1]]
        r = send(method, url, wrap(bad))
        err = (r.json or {}).get("error", {})
        if r.status != 400 or err.get("field") != field or err.get("message", "").startswith("unknown field"):
            problems.append("%s: %s of the wrong type: expected a 400 naming %s, got %r" % (name, field, field, r))
            return
        sample = {"string": "a", "integer": 1, "boolean": False, "object": {}, "array": []}
        for t in sorted(types):
            value = {"amount": 0, "currency": "usd"} if sub is money else sample[t]
            r = send(method, url, wrap(value))
            err = (r.json or {}).get("error", {})
            if r.status == 400 and err.get("field") == field and TYPE_ERROR.search(err.get("message", "")):
                problems.append("%s: %s is documented as %s but the server refused %r: %s" % (
                    name, field, t, value, err["message"]))
        r = send(method, url, wrap(None))
        err = (r.json or {}).get("error", {})
        refused = r.status == 400 and err.get("field") == field and (
            "cannot be null" in err.get("message", "") or (method, path, field) in NULL_REFUSED_BY_HANDLER)
        if refused == nullable:
            problems.append("%s: %s is documented as %snullable but the server %s null" % (
                name, field, "" if nullable else "not ", "refuses" if refused else "accepts"))
        if "string" in types and "maxLength" in sub:
            r = send(method, url, wrap("a" * (sub["maxLength"] + 1)))
            msg = (r.json or {}).get("error", {}).get("message", "")
            if r.status != 400 or ("longer than %d bytes" % sub["maxLength"]) not in msg:
                problems.append("%s: %s allows %d bytes by the document, but the server answered %r" % (
                    name, field, sub["maxLength"], r))
        # Money members are checked as a whole (errors name the money member), the others member by member.
        if ("object" in types and "properties" in sub and sub is not money
                and (method, path, field) not in CHECKED_AS_A_WHOLE):
            for inner, inner_schema in sub["properties"].items():
                probe(method, path, url, name, field + "." + inner, inner_schema,
                      lambda v, inner=inner, wrap=wrap: wrap({inner: v}))

    for method, path, op in operations(doc):
        if "requestBody" not in op or (method, path) in NOT_PROBED:
            continue
        name = "%s %s" % (method, path)
        url = probe_url(path)
        content = op["requestBody"]["content"]
        if "application/json" not in content:
            # A body of another type (the CSV of POST /api/v1/fx-rates/import): a JSON body is refused for its
            # Content-Type, and one of the documented type is read as such.
            r = send(method, url, {"zz_not_a_member": 1})
            if r.status != 400 or (r.json or {}).get("error", {}).get("field") != "Content-Type":
                problems.append("%s: a JSON body was not refused for its Content-Type: %r" % (name, r))
            for ctype in content:
                r = srv.request(method, url, raw="", key=owner, headers={"Content-Type": ctype})
                if r.status != 400 or (r.json or {}).get("error", {}).get("field") == "Content-Type":
                    problems.append("%s: an empty %s body was not read as one: %r" % (name, ctype, r))
            continue
        schema = resolve(doc, content["application/json"]["schema"])
        if schema.get("additionalProperties") is not False:
            problems.append("%s: the body schema does not say additionalProperties: false" % name)
        r = send(method, url, {"zz_not_a_member": 1})
        if r.status != 400 or "unknown field" not in (r.json or {}).get("error", {}).get("message", ""):
            problems.append("%s: an undocumented member was not refused as unknown: %r" % (name, r))
        for prop, prop_schema in schema.get("properties", {}).items():
            if (method, path, prop) in PROBED_APART:
                continue
            probe(method, path, url, name, prop, prop_schema, lambda v, prop=prop: {prop: v})

    # POST /api/v1/fx-rates {"rates": [...]}: every way to get it wrong is refused, naming the member at fault;
    # none of these stores anything.
    one = {"base": "usd", "quote": "eur", "rate": "0.92", "valid_from": "2026-01-01T00:00:00Z"}
    for body, field in [({"rates": 7}, "rates"), ({"rates": {}}, "rates"), ({"rates": []}, "rates"),
                        ({"rates": None}, "rates"), ({"rates": [{}] * 1001}, "rates"),
                        ({"rates": [one], "base": "usd"}, "rates"), ({"rates": [7]}, "rates"),
                        ({"rates": [dict(one, zz_not_a_member=1)]}, "rates"),
                        ({"rates": [one, dict(one, rate=0.92)]}, "rate"),
                        ({"rates": [one, dict(one, rate=None)]}, "rate"),
                        ({"rates": [dict(one, base="usdollar")]}, "base"),
                        ({"rates": [dict(one, quote=None)]}, "quote"),
                        ({"rates": [dict(one, valid_from="yesterday")]}, "valid_from")]:
        r = send("POST", "/api/v1/fx-rates", body)
        if r.status != 400 or (r.json or {}).get("error", {}).get("field") != field:
            problems.append("POST /api/v1/fx-rates %.80s: expected a 400 naming %s, got %r" % (
                json.dumps(body), field, r))
    r = srv.get("/api/v1/fx-rates", key=owner)
    if r.status != 200 or r.json["data"]:
        problems.append("the refused bodies stored rates: %r" % r)
    assert not problems, "\n".join(problems)


class Checker:
    """Sends requests and checks each answer against the document: its status must be documented for the
    operation and its body must fit the documented schema."""

    def __init__(self, srv):
        self.srv = srv
        self.doc = document(srv)
        self.covered = set()
        self.last = None
        self.templates = [(m, p, re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", p) + "$"), op)
                          for m, p, op in operations(self.doc)]

    def __call__(self, method, url, status, **kw):
        r = self.last = self.srv.request(method, url, **kw)
        assert r.status == status, "%s %s: expected %d, got %r" % (method, url, status, r)
        path = url.split("?", 1)[0]
        found = [(p, op) for m, p, rx, op in self.templates if m == method and rx.match(path)]
        assert found, "%s %s matches no documented operation" % (method, path)
        # A literal path (/leads/counts) wins over a template that also matches it (/leads/{id}).
        template, op = min(found, key=lambda f: f[0].count("{"))
        name = "%s %s" % (method, template)
        responses = op["responses"]
        key = str(r.status)
        if key not in responses:
            key = key[0] + "XX" if key[0] + "XX" in responses else "default"
        assert key in responses, "%s answered %d, which the document does not list (%s)" % (
            name, r.status, ", ".join(sorted(responses)))
        resp = responses[key]
        while "$ref" in resp:
            resp = resolve(self.doc, resp)
        content = resp.get("content", {})
        if content:
            ctype = (r.header("Content-Type") or "").split(";")[0].strip()
            media = content.get(ctype)
            assert media, "%s %d: answered %s, which is not documented (%s)" % (
                name, r.status, ctype, ", ".join(sorted(content)))
            errors = []
            if ctype == "application/json":
                check(self.doc, media["schema"], r.json, "%s %d" % (name, r.status), errors)
            else:
                # Another documented type (an HTML page, a script, a style sheet, an image, CSV): not JSON, so
                # the body is judged as the string the document says it is (its length, its pattern).
                check(self.doc, media["schema"], r.body, "%s %d (%s)" % (name, r.status, ctype), errors)
            assert not errors, "\n".join(errors)
        if 200 <= r.status < 400:
            self.covered.add(name)
        return r.json

    def uncovered(self):
        return sorted("%s %s" % (m, p) for m, p, _, _ in self.templates
                      if "%s %s" % (m, p) not in self.covered)


def mail_token(srv, subject, category):
    """The token of an unsubscribe link, as refd signs it with the instance key (HMAC-SHA256 of the purpose, the
    subject and the kind, NUL-separated)."""
    if srv.db_kind == "postgres":
        key = bytes.fromhex(srv.env["REFD_SECRET_KEY"])
    else:
        key = bytes.fromhex(open(srv.db + ".key").read().strip())
    mac = hmac.new(key, b"refd-unsubscribe\0" + subject.encode() + b"\0" + category.encode() + b"\0",
                   hashlib.sha256).hexdigest()
    return "%s.%s.%s" % (subject, category, mac)


def test_answers_fit_the_document(srv):
    call = Checker(srv)
    admin = srv.admin_key()
    owner = srv.admin_key(role="owner")

    call("GET", "/healthz", 200)
    call("GET", "/readyz", 200)
    call("GET", "/api/openapi.json", 200)
    currencies = call("GET", "/api/v1/currencies", 200)
    assert call.last.header("Cache-Control") == "public, max-age=300", call.last.headers
    assert {c["code"]: c["exponent"] for c in currencies["data"]}["isk"] == 0, currencies
    types = call("GET", "/api/v1/event-types", 200)
    assert "lead.created" in [t["type"] for t in types["data"]], types

    # The web UI: its pages and the files they load, without credentials, each with its own content type
    call("GET", "/", 302)
    assert call.last.header("Location") == "/app" and call.last.body == "", call.last
    for page, title in (("/app", "<title>refd</title>"), ("/portal", "<title>Partner portal</title>")):
        call("GET", page, 200)
        assert title in call.last.body and call.last.header("Cache-Control") == "no-store", call.last
        assert "frame-ancestors 'none'" in call.last.header("Content-Security-Policy"), call.last.headers
        call("GET", page + "?whatever", 200)  # the query string is ignored
    for url, ctype in (("/assets/app.js", "text/javascript"), ("/assets/style.css", "text/css"),
                       ("/assets/icon.svg", "image/svg+xml"), ("/assets/portal.html", "text/html"),
                       ("/assets/vendor/uplot.mjs", "text/javascript"), ("/assets/vendor/uplot.css", "text/css")):
        call("GET", url, 200)
        assert call.last.header("Content-Type").split(";")[0] == ctype and call.last.body, (url, call.last)
        assert call.last.header("Cache-Control") == "no-cache", (url, call.last.headers)
    for url in ("/assets/nope.js", "/assets/vendor", "/assets/vendor/nope.mjs", "/assets/vendor/" + "a" * 101):
        call("GET", url, 404)
        assert call.last.json["error"]["type"] == "not_found", call.last

    call("GET", "/api/v1/programs", 401)
    call("GET", "/api/v1/programs?limit=0", 400, key=admin)
    call("GET", "/api/v1/programs?bogus=1", 400, key=admin)
    call("GET", "/api/v1/programs?starting_after=prg_none", 400, key=admin)

    # Programs
    prog = call("POST", "/api/v1/programs", 201, key=admin,
                body={"name": "Docs", "currency": "EUR", "cookie_window_days": 30, "attribution_model": "first_click",
                      "holding_period_days": 14, "payout_threshold": {"amount": 5000, "currency": "eur"},
                      "tracking_params": ["via", "partner"]})
    assert prog["partner_signup"] == "review", prog  # sign-ups wait for an admin unless the program says otherwise
    call("POST", "/api/v1/programs", 400, key=admin, body={"name": "x", "currency": "usd", "nope": 1})
    call("POST", "/api/v1/programs", 413, key=admin, body={"name": "x" * 70000})
    call("GET", "/api/v1/programs?limit=1", 200, key=admin)
    call("GET", "/api/v1/programs/" + prog["id"], 200, key=admin)
    call("GET", "/api/v1/programs/prg_none", 404, key=admin)
    call("PATCH", "/api/v1/programs/" + prog["id"], 200, key=admin, body={"holding_period_days": 45})
    call("PATCH", "/api/v1/programs/prg_none", 404, key=admin, body={})
    call("PATCH", "/api/v1/programs/" + prog["id"], 400, key=admin, body={"partner_signup": "maybe"})
    assert call.last.json["error"]["field"] == "partner_signup", call.last.json

    # Partners
    org = call("POST", "/api/v1/partners", 201, key=admin,
               body={"program_id": prog["id"], "name": "Org", "email": "org@example.org", "company": "Org Ltd",
                     "cost_per_lead": {"amount": 2500, "currency": "eur"}, "metadata": {"crm": "42"},
                     "tax_profile": {"legal_name": "Org Ltd", "country": "de", "tax_id": "DE 123-456-789"}})
    assert org["tax_profile"]["tax_id_last4"] == "6789" and "tax_id" not in org["tax_profile"]
    agent = call("POST", "/api/v1/partners", 201, key=admin,
                 body={"program_id": prog["id"], "kind": "agent", "status": "applied", "name": "Agent",
                       "email": "agent@example.org", "team_parent_id": org["id"], "recruited_by_id": org["id"]})
    call("POST", "/api/v1/partners", 409, key=admin,
         body={"program_id": prog["id"], "name": "Again", "email": "ORG@example.org"})
    call("GET", "/api/v1/partners?q=org&status=active&kind=partner&program_id=%s&limit=5" % prog["id"], 200,
         key=admin)
    call("GET", "/api/v1/partners?team_parent_id=%s&recruited_by_id=%s" % (org["id"], org["id"]), 200, key=admin)
    call("GET", "/api/v1/partners?status=gone", 400, key=admin)
    call("GET", "/api/v1/partners/" + agent["id"], 200, key=admin)
    call("PATCH", "/api/v1/partners/" + agent["id"], 200, key=admin,
         body={"company": None, "tax_profile": None, "recruited_by_id": None})
    call("PATCH", "/api/v1/partners/" + agent["id"], 400, key=admin, body={"status": "active"})
    call("PATCH", "/api/v1/partners/" + org["id"], 409, key=admin, body={"team_parent_id": agent["id"]})
    call("POST", "/api/v1/partners/%s/activate" % agent["id"], 200, key=admin)
    call("POST", "/api/v1/partners/%s/suspend" % agent["id"], 200, key=admin, body={"reason": "checking"})
    call("POST", "/api/v1/partners/%s/suspend" % agent["id"], 409, key=admin)
    call("POST", "/api/v1/partners/%s/ban" % agent["id"], 200, key=admin, body={"reason": None})
    call("POST", "/api/v1/partners/ptn_none/ban", 404, key=admin)

    # What manager and partner callers get
    manager = srv.admin_key(role="manager", partner=org["id"])
    call("GET", "/api/v1/programs", 200, key=manager)
    call("POST", "/api/v1/programs", 403, key=manager, body={"name": "x", "currency": "usd"})
    call("PATCH", "/api/v1/partners/" + org["id"], 403, key=manager, body={"name": "Mine"})
    call("PATCH", "/api/v1/partners/" + agent["id"], 403, key=manager, body={"email": "x@example.org"})
    call("PATCH", "/api/v1/partners/" + agent["id"], 200, key=manager, body={"name": "Agent Smith"})
    call("GET", "/api/v1/users", 403, key=manager)

    # Users
    gen = call("POST", "/api/v1/users", 201, key=admin,
               body={"email": "m@example.org", "role": "manager", "partner_id": org["id"]})
    assert gen.get("password"), "a generated password is returned once"
    given = call("POST", "/api/v1/users", 201, key=admin,
                 body={"email": "a@example.org", "role": "admin", "password": "correct horse battery"})
    assert "password" not in given
    call("POST", "/api/v1/users", 409, key=admin, body={"email": "A@example.org", "role": "admin"})
    call("POST", "/api/v1/users", 403, key=admin, body={"email": "o@example.org", "role": "owner"})
    call("POST", "/api/v1/users", 400, key=admin, body={"email": "d@example.org", "role": "admin", "disabled": True})
    call("GET", "/api/v1/users", 200, key=admin)
    call("GET", "/api/v1/users/" + gen["id"], 200, key=admin)
    call("GET", "/api/v1/users/usr_none", 404, key=admin)
    call("PATCH", "/api/v1/users/" + gen["id"], 200, key=admin, body={"disabled": True})
    call("PATCH", "/api/v1/users/" + gen["id"], 200, key=admin, body={"disabled": False, "role": "admin",
                                                                       "partner_id": None})

    # Sessions
    call("POST", "/api/v1/auth/login", 400, body={"email": "a@example.org"})
    call("POST", "/api/v1/auth/login", 401, body={"email": "a@example.org", "password": "wrong password!"})
    login = call("POST", "/api/v1/auth/login", 200,
                 body={"email": "a@example.org", "password": "correct horse battery"})
    cookie = None
    for v in call.last.headers_all("Set-Cookie"):
        if v.startswith("refd_session="):
            cookie = v.split(";", 1)[0].split("=", 1)[1]
    csrf = login["csrf_token"]
    assert cookie and csrf
    jar = {"Cookie": "refd_session=" + cookie}
    sess = call("GET", "/api/v1/auth/session", 200, headers=jar)
    assert sess["csrf_token"] == csrf and sess["email"] == "a@example.org"
    call("GET", "/api/v1/auth/session", 200, key=admin)
    call("POST", "/api/v1/auth/logout", 400, key=admin)
    call("POST", "/api/v1/auth/logout", 403, headers=jar)
    call("POST", "/api/v1/auth/logout", 200, headers=dict(jar, **{"X-CSRF-Token": csrf}))
    call("GET", "/api/v1/auth/session", 401, headers=jar)

    # API keys
    key = call("POST", "/api/v1/api-keys", 201, key=admin,
               body={"name": "agent key", "role": "partner", "partner_id": agent["id"]})
    assert key["key"].startswith("rk_") and key["key"].startswith(key["prefix"])
    call("POST", "/api/v1/api-keys", 201, key=admin, body={"name": "default role"})
    call("POST", "/api/v1/api-keys", 400, key=admin, body={"name": "x", "role": "partner"})
    call("POST", "/api/v1/api-keys", 403, key=admin, body={"name": "x", "role": "owner"})
    call("POST", "/api/v1/api-keys", 201, key=owner, body={"name": "x", "role": "owner"})
    call("GET", "/api/v1/api-keys?limit=100", 200, key=admin)
    call("DELETE", "/api/v1/api-keys/" + key["id"], 200, key=admin)
    call("DELETE", "/api/v1/api-keys/" + key["id"], 200, key=admin)
    call("DELETE", "/api/v1/api-keys/key_none", 404, key=admin)
    call("GET", "/api/v1/auth/session", 401, key=key["key"])

    # Links and the redirect
    link = call("POST", "/api/v1/links", 201, key=admin,
                body={"partner_id": org["id"], "destination_url": "https://example.org/p?a=1#f", "code": "Docs-Link",
                      "campaign": "docs", "utm_source": "partner"})
    call("POST", "/api/v1/links", 201, key=manager, body={"destination_url": "https://example.org/"})
    call("POST", "/api/v1/links", 409, key=admin,
         body={"partner_id": org["id"], "destination_url": "https://example.org/", "code": "docs-link"})
    call("POST", "/api/v1/links", 400, key=admin, body={"partner_id": org["id"], "destination_url": "//evil.example"})
    call("GET", "/api/v1/links?partner_id=%s&campaign=docs&include_archived=true&limit=5" % org["id"], 200,
         key=manager)
    call("GET", "/api/v1/links/" + link["id"], 200, key=admin)
    call("GET", "/api/v1/links/lnk_none", 404, key=admin)
    call("PATCH", "/api/v1/links/" + link["id"], 200, key=admin, body={"utm_medium": "referral", "utm_source": None})
    call("GET", "/r/docs-link", 302, headers={"User-Agent": "Mozilla/5.0 (X11; Linux x86_64)"})
    call("GET", "/r/no-such-code", 404)
    call("PATCH", "/api/v1/links/" + link["id"], 200, key=admin, body={"archived": True})

    # The website script and the clicks it records
    shop = "https://shop.example.com"
    browser = {"Origin": "https://Shop.example.com", "User-Agent": "Mozilla/5.0 (X11; Linux x86_64)",
               "Content-Type": "text/plain"}
    call("PATCH", "/api/v1/programs/" + prog["id"], 200, key=admin, body={"tracking_origins": [shop]})
    call("POST", "/api/v1/links", 201, key=admin,
         body={"partner_id": org["id"], "destination_url": "https://example.org/", "code": "docs-script"})
    call("POST", "/api/v1/links", 201, key=admin,
         body={"partner_id": agent["id"], "destination_url": "https://example.org/", "code": "docs-banned"})
    call("GET", "/t.js", 200)
    assert "refd_click" in call.last.body
    click = call("POST", "/api/v1/track/click", 201, headers=browser,
                 raw=json.dumps({"code": "docs-script", "landing_url": shop + "/landing?via=docs-script",
                                 "referrer": None, "previous_click_id": None}))
    assert click["click_id"].startswith("clk_") and click["max_age"] == 30 * 86400
    assert call.last.header("Access-Control-Allow-Origin") == shop, call.last.headers
    call("POST", "/api/v1/track/click", 201, body={"code": "DOCS-SCRIPT", "previous_click_id": click["click_id"]})
    assert call.last.header("Access-Control-Allow-Origin") is None
    uncredited = call("POST", "/api/v1/track/click", 201, headers=browser, raw=json.dumps({"code": "docs-banned"}))
    assert uncredited == {"object": "click", "click_id": None, "max_age": 0}
    call("POST", "/api/v1/track/click", 403, headers=dict(browser, Origin="https://elsewhere.example"),
         raw=json.dumps({"code": "docs-script"}))
    call("POST", "/api/v1/track/click", 404, headers=browser, raw=json.dumps({"code": "no-such-code"}))
    call("POST", "/api/v1/track/click", 400, headers=browser,
         raw=json.dumps({"code": "docs-script", "landing_url": "javascript:alert(1)"}))
    assert call.last.header("Access-Control-Allow-Origin") == shop, call.last.headers
    call("POST", "/api/v1/track/click", 400, headers=dict(browser, **{"Content-Type": "text/html"}),
         raw=json.dumps({"code": "docs-script"}))
    call("POST", "/api/v1/track/click", 400, body={"referrer": "https://example.net/"})
    # The preflight, for pages that send JSON
    call("OPTIONS", "/api/v1/track/click", 204, headers={"Origin": "https://Shop.example.com",
                                                         "Access-Control-Request-Method": "POST"})
    assert call.last.header("Access-Control-Allow-Origin") == shop, call.last.headers
    assert "Content-Type" in call.last.header("Access-Control-Allow-Headers")
    call("OPTIONS", "/api/v1/track/click", 403, headers={"Origin": "https://elsewhere.example"})
    assert call.last.header("Access-Control-Allow-Origin") is None

    # Leads
    member = srv.admin_key(role="partner", partner=org["id"])
    jane = {"program_id": prog["id"], "email": "Jane@Buyer.example", "name": "Jane", "company": "Buyer Inc",
            "phone": "+49 30 1234567", "click_id": click["click_id"], "metadata": {"crm": "4711"}}
    lead = call("POST", "/api/v1/leads", 201, key=admin, headers={"Idempotency-Key": "docs-1"}, body=jane)
    assert lead["attribution"] == {"partner_id": org["id"], "agent_id": None, "method": "click",
                                   "click_id": click["click_id"]}, lead
    assert lead["registration"] is None and lead["email"] == "jane@buyer.example"
    again = call("POST", "/api/v1/leads", 201, key=admin, headers={"Idempotency-Key": "docs-1"}, body=jane)
    assert again == lead and call.last.header("Idempotent-Replayed") == "true"
    call("POST", "/api/v1/leads", 409, key=admin, headers={"Idempotency-Key": "docs-1"},
         body=dict(jane, name="Someone else"))
    call("POST", "/api/v1/leads", 400, key=admin, headers={"Idempotency-Key": "k" * 201}, body=jane)
    dup = call("POST", "/api/v1/leads", 200, key=admin, body={"program_id": prog["id"], "email": "jane@buyer.example"})
    assert dup["duplicate"] is True and dup["id"] == lead["id"]
    call("POST", "/api/v1/leads", 400, key=admin, body={"program_id": prog["id"], "name": "No contact"})
    solo = call("POST", "/api/v1/leads", 201, key=admin,
                body={"program_id": prog["id"], "external_id": "crm-1", "partner_id": None, "source": "organic"})
    assert solo["attribution"]["method"] == "none" and solo["email"] is None
    call("POST", "/api/v1/leads", 201, key=admin, body={"program_id": prog["id"], "email": "code@example.net",
                                                         "code": "docs-script"})
    # Deal registrations by a manager and their review
    deal = call("POST", "/api/v1/leads", 201, key=manager,
                body={"email": "cto@buyer.example", "name": "Chris", "company": "Buyer Inc"})
    assert deal["status"] == "pending_review" and deal["registration"]["state"] == "pending"
    assert deal["conflicts"] == [{"reason": "domain", "status": "open_lead"}], deal["conflicts"]
    call("POST", "/api/v1/leads", 409, key=manager, body={"external_id": "crm-1"})
    seen = call("GET", "/api/v1/leads/" + deal["id"], 200, key=admin)
    assert seen["conflicts"][0]["lead_id"] == lead["id"] and seen["conflicts"][0]["partner_id"] == org["id"]
    call("GET", "/api/v1/leads/" + deal["id"], 200, key=manager)
    call("GET", "/api/v1/leads/lead_none", 404, key=admin)
    call("POST", "/api/v1/leads/%s/status" % deal["id"], 409, key=admin, body={"status": "contacted"})
    call("POST", "/api/v1/leads/%s/approve" % deal["id"], 403, key=manager)
    call("POST", "/api/v1/leads/%s/reject" % deal["id"], 400, key=admin)
    approved = call("POST", "/api/v1/leads/%s/approve" % deal["id"], 200, key=admin)
    assert approved["status"] == "new" and approved["registration"]["state"] == "approved"
    assert approved["registration"]["protected_until"]
    call("POST", "/api/v1/leads/%s/approve" % deal["id"], 409, key=admin, body={"reason": None})
    call("POST", "/api/v1/leads/lead_none/reject", 404, key=admin, body={"reason": "no"})
    other = call("POST", "/api/v1/leads", 201, key=member, body={"email": "ceo@rival.example"})
    rejected = call("POST", "/api/v1/leads/%s/reject" % other["id"], 200, key=admin,
                    body={"reason": "Already a customer"})
    assert rejected["registration"] == {"state": "rejected", "reason": "Already a customer",
                                        "protected_until": None}
    back = call("POST", "/api/v1/leads", 200, key=manager, body={"email": "ceo@rival.example"})
    assert back["id"] == other["id"] and back["status"] == "pending_review" and back["conflicts"] == []
    call("POST", "/api/v1/leads/%s/reject" % lead["id"], 409, key=admin, body={"reason": "not a registration"})
    # Changes and the lifecycle
    call("PATCH", "/api/v1/leads/" + lead["id"], 200, key=admin, body={"phone": None, "source": "referral",
                                                                       "metadata": {"crm": "4712"}})
    call("PATCH", "/api/v1/leads/" + lead["id"], 403, key=manager, body={"name": "Jane B."})
    call("PATCH", "/api/v1/leads/" + deal["id"], 200, key=manager, body={"company": " Buyer Inc. "})
    call("PATCH", "/api/v1/leads/" + deal["id"], 400, key=manager, body={"phone": "call me"})
    call("PATCH", "/api/v1/leads/lead_none", 404, key=admin, body={})
    call("POST", "/api/v1/leads/%s/status" % lead["id"], 403, key=member, body={"status": "contacted"})
    call("POST", "/api/v1/leads/%s/status" % lead["id"], 400, key=admin, body={"status": "won"})
    call("POST", "/api/v1/leads/%s/status" % lead["id"], 200, key=manager,
         body={"status": "contacted", "reason": "called"})
    won = call("POST", "/api/v1/leads/%s/status" % lead["id"], 200, key=admin, body={"status": "converted"})
    assert won["converted_at"] and won["time_to_conversion_seconds"] is not None
    call("POST", "/api/v1/leads/%s/status" % lead["id"], 409, key=admin, body={"status": "lost"})
    hist = call("GET", "/api/v1/leads/%s/history" % lead["id"], 200, key=manager)
    assert [(e["from"], e["to"]) for e in hist["data"]] == [(None, "new"), ("new", "contacted"),
                                                            ("contacted", "converted")], hist
    call("GET", "/api/v1/leads/lead_none/history", 404, key=admin)
    # Lists and the export
    call("GET", "/api/v1/leads?limit=2", 200, key=admin)
    call("GET", "/api/v1/leads?program_id=%s&partner_id=%s&status=converted&source=referral"
         "&created_from=2000-01-01T00:00:00Z&created_to=2100-01-01T00:00:00.5%%2B01:00&registration=false"
         % (prog["id"], org["id"]), 200, key=manager)
    call("GET", "/api/v1/leads?agent_id=%s&starting_after=%s" % (agent["id"], lead["id"]), 200, key=admin)
    call("GET", "/api/v1/leads?registration=yes", 400, key=admin)
    call("GET", "/api/v1/leads?created_from=yesterday", 400, key=admin)
    call("GET", "/api/v1/leads/export?registration=true&status=pending_review", 200, key=admin)
    assert call.last.header("Content-Disposition") == 'attachment; filename="leads.csv"'
    rows = call.last.body.splitlines()
    assert rows[0].startswith('"id","created_at","email"') and len(rows) == 2 and back["id"] in rows[1], rows
    call("GET", "/api/v1/leads/export", 200, key=member)
    call("GET", "/api/v1/leads/export?status=gone", 400, key=admin)
    call("GET", "/api/v1/leads/export", 401)
    counts = call("GET", "/api/v1/leads/counts?program_id=%s" % prog["id"], 200, key=admin)
    listed = call("GET", "/api/v1/leads?program_id=%s&status=pending_review&limit=100" % prog["id"], 200, key=admin)
    assert counts["counts"]["pending_review"] == len(listed["data"]) and counts["total"] >= 1, (counts, listed)
    call("GET", "/api/v1/leads/counts", 200, key=member)
    call("GET", "/api/v1/leads/counts?status=new", 400, key=admin)
    assert call.last.json["error"]["field"] == "status"
    call("GET", "/api/v1/leads/counts?limit=5", 400, key=admin)
    call("GET", "/api/v1/leads/counts", 401)

    # Plans
    call("GET", "/api/v1/plans", 200, key=admin)
    standard = call("POST", "/api/v1/plans", 201, key=admin,
                    body={"program_id": prog["id"], "name": "Standard", "default": True,
                          "rules": {"lead_amount": {"amount": 500, "currency": "EUR"}, "sale_bps": 2000,
                                    "recurring": "months", "recurring_months": 12, "override_bps": [1000, 500],
                                    "agent_share_bps": 7000, "lead_use_cost_per_lead": None}})
    assert standard["version"] == 1 and standard["default"] is True and standard["version_valid_from"]
    assert standard["rules"]["lead_amount"] == {"amount": 500, "currency": "eur"}, standard["rules"]
    tiered = call("POST", "/api/v1/plans", 201, key=admin,
                  body={"name": "Tiered", "rules": {"sale_flat": {"amount": 100, "currency": "usd"},
                                                    "tiers": {"metric": "count", "period": "month",
                                                              "steps": [{"from": 0, "bps": 1000},
                                                                        {"from": 2, "bps": 1500}]}}})
    assert tiered["rules"]["tiers"]["steps"][1] == {"from": 2, "bps": 1500} and tiered["default"] is False
    call("POST", "/api/v1/plans", 409, key=admin, body={"name": "Second default", "default": True})
    call("POST", "/api/v1/plans", 400, key=admin, body={"name": "Bad", "rules": {"sale_percent": 20}})
    call("POST", "/api/v1/plans", 400, key=admin, body={"name": "Bad", "rules": {"recurring": "months"}})
    call("POST", "/api/v1/plans", 403, key=manager, body={"name": "Mine"})
    call("GET", "/api/v1/plans?program_id=%s&limit=1" % prog["id"], 200, key=admin)
    call("GET", "/api/v1/plans", 403, key=manager)
    call("GET", "/api/v1/plans/" + tiered["id"], 200, key=admin)
    call("GET", "/api/v1/plans/" + standard["id"], 200, key=member)  # the program's default applies to org
    call("GET", "/api/v1/plans/" + tiered["id"], 404, key=member)
    call("GET", "/api/v1/plans/pln_none", 404, key=admin)
    v2 = call("PATCH", "/api/v1/plans/" + tiered["id"], 200, key=admin,
              body={"name": "Tiered (2026)", "rules": dict(tiered["rules"], agent_share_bps=6000)})
    assert v2["version"] == 2 and v2["version_valid_from"] >= tiered["version_valid_from"], v2
    call("PATCH", "/api/v1/plans/" + tiered["id"], 409, key=admin, body={"default": True})
    call("PATCH", "/api/v1/plans/" + tiered["id"], 400, key=admin, body={"rules": {"tiers": {"metric": "count"}}})
    call("PATCH", "/api/v1/plans/pln_none", 404, key=admin, body={"name": "x"})

    # Partners who earn: a seller recruited by org (org earns overrides), and an active agent of org's team
    seller = call("POST", "/api/v1/partners", 201, key=admin,
                  body={"program_id": prog["id"], "name": "Seller", "email": "seller@example.org",
                        "recruited_by_id": org["id"]})
    rep = call("POST", "/api/v1/partners", 201, key=admin,
               body={"program_id": prog["id"], "kind": "agent", "name": "Rep", "email": "rep@example.org",
                     "team_parent_id": org["id"]})
    tiered_seller = call("POST", "/api/v1/partners", 201, key=admin,
                         body={"program_id": prog["id"], "name": "Volume", "email": "volume@example.org"})
    assigned = call("POST", "/api/v1/plans/%s/assign" % tiered["id"], 200, key=admin,
                    body={"partner_ids": [tiered_seller["id"]]})
    assert assigned["plan_id"] == tiered["id"], assigned
    on_plan = call("GET", "/api/v1/partners?plan_id=%s" % tiered["id"], 200, key=admin)
    assert on_plan["data"] and all(p["plan_id"] == tiered["id"] for p in on_plan["data"]), on_plan
    call("POST", "/api/v1/plans/%s/assign" % tiered["id"], 400, key=admin, body={"partner_ids": ["ptn_none"]})
    call("POST", "/api/v1/plans/%s/assign" % tiered["id"], 400, key=admin, body={"partner_ids": []})
    call("POST", "/api/v1/plans/pln_none/assign", 404, key=admin, body={"partner_ids": [seller["id"]]})
    call("GET", "/api/v1/partners/" + tiered_seller["id"], 200, key=admin)
    assert call.last.json["plan_id"] == tiered["id"]
    # A partner and its managers see the partners it recruited, as short recruit objects; admins see partners
    recruits = call("GET", "/api/v1/partners?recruited_by_id=" + org["id"], 200, key=member)
    assert [(r["id"], r["object"]) for r in recruits["data"]] == [(seller["id"], "recruit")], recruits
    assert set(recruits["data"][0]) == {"id", "object", "name", "kind", "status", "created_at"}, recruits
    assert call("GET", "/api/v1/partners?recruited_by_id=%s&status=applied" % org["id"], 200,
                key=manager)["data"] == []
    full = call("GET", "/api/v1/partners?recruited_by_id=" + org["id"], 200, key=admin)
    assert [(p["id"], p["object"]) for p in full["data"]] == [(seller["id"], "partner")], full
    # Anyone else's recruits: only among what the caller sees anyway (its own record and team)
    assert call("GET", "/api/v1/partners?recruited_by_id=" + seller["id"], 200, key=member)["data"] == []

    # Sales
    first = {"program_id": prog["id"], "email": "Buyer@Shop.example", "amount": {"amount": 10000, "currency": "eur"},
             "external_id": "in_docs_1", "partner_id": seller["id"], "metadata": {"order": "1001"}}
    sale = call("POST", "/api/v1/sales", 201, key=admin, body=first)
    assert sale["kind"] == "first" and sale["partner_id"] == seller["id"] and sale["note"] is None, sale
    rules = sorted((c["partner_id"] == seller["id"], c["rule"], c["role"]) for c in sale["commissions"])
    assert rules == [(False, "override", "override"), (False, "override", "override"), (True, "lead", "direct"),
                     (True, "sale", "direct")], rules
    again = call("POST", "/api/v1/sales", 200, key=admin, body=first)
    assert again["duplicate"] is True and again["id"] == sale["id"]
    call("POST", "/api/v1/sales", 409, key=admin, body=dict(first, amount={"amount": 1, "currency": "eur"}))
    call("POST", "/api/v1/sales", 400, key=admin, body=dict(first, external_id="in_docs_x", kind="refund"))
    call("POST", "/api/v1/sales", 403, key=manager, body=first)
    renewal = call("POST", "/api/v1/sales", 201, key=admin,
                   body={"lead_id": sale["lead_id"], "amount": {"amount": 10000, "currency": "eur"},
                         "external_id": "in_docs_2"})
    assert renewal["kind"] == "recurring" and renewal["customer_id"] == sale["customer_id"]
    team_sale = call("POST", "/api/v1/sales", 201, key=admin,
                     body={"customer_external_id": "cus_docs_team", "amount": {"amount": 5000, "currency": "usd"},
                           "external_id": "in_docs_3", "kind": "first", "partner_id": rep["id"],
                           "occurred_at": "2025-06-15T10:00:00Z"})
    assert {c["role"] for c in team_sale["commissions"]} >= {"agent", "team"}, team_sale["commissions"]
    held = [c for c in team_sale["commissions"] if c["status"] == "held"]
    assert held and all(c["amount"] is None for c in held), team_sale["commissions"]
    for n in range(3):
        call("POST", "/api/v1/sales", 201, key=admin,
             body={"email": "volume%d@shop.example" % n, "amount": {"amount": 20000, "currency": "eur"},
                   "external_id": "in_docs_vol_%d" % n, "partner_id": tiered_seller["id"]})
    volume = call.last.json
    nobody = call("POST", "/api/v1/sales", 201, key=admin,
                  body={"email": "walk-in@shop.example", "amount": {"amount": 900, "currency": "eur"},
                        "external_id": "in_docs_4"})
    assert nobody["commissions"] == [] and nobody["note"], nobody
    call("GET", "/api/v1/sales?limit=2", 200, key=admin)
    call("GET", "/api/v1/sales?program_id=%s&partner_id=%s&customer_id=%s&from=2000-01-01T00:00:00Z"
         "&to=2100-01-01T00:00:00Z" % (prog["id"], seller["id"], sale["customer_id"]), 200, key=admin)
    call("GET", "/api/v1/sales?from=today", 400, key=admin)
    call("GET", "/api/v1/sales", 200, key=member)
    call("GET", "/api/v1/sales?partner_id=" + seller["id"], 403, key=member)
    got = call("GET", "/api/v1/sales/" + sale["id"], 200, key=admin)
    # The sale's own entries: the lead's (paid when the first sale converted it) belong to the lead.
    assert len(got["commissions"]) == 2 and "duplicate" not in got, got
    call("GET", "/api/v1/sales/" + team_sale["id"], 200, key=member)
    call("GET", "/api/v1/sales/" + sale["id"], 404, key=srv.admin_key(role="partner", partner=rep["id"]))
    call("GET", "/api/v1/sales/sale_none", 404, key=admin)

    # Refunds and disputes
    refund = call("POST", "/api/v1/refunds", 201, key=admin,
                  body={"sale_id": sale["id"], "amount": {"amount": 2500, "currency": "eur"}, "reason": "partial",
                        "external_id": "re_docs_1", "occurred_at": sale["occurred_at"]})
    assert refund["kind"] == "refund" and all(c["rule"] == "reversal" and c["reverses_id"]
                                              for c in refund["commissions"]), refund
    assert len(refund["commissions"]) == 2, refund["commissions"]  # the sale's two entries, not the lead's
    dup = call("POST", "/api/v1/refunds", 200, key=admin,
               body={"sale_id": sale["id"], "amount": {"amount": 2500, "currency": "eur"}, "external_id": "re_docs_1"})
    assert dup["duplicate"] is True and dup["id"] == refund["id"]
    call("POST", "/api/v1/refunds", 409, key=admin, body={"sale_id": renewal["id"], "external_id": "re_docs_1"})
    call("POST", "/api/v1/refunds", 400, key=admin,
         body={"sale_id": sale["id"], "amount": {"amount": 7501, "currency": "eur"}})
    call("POST", "/api/v1/refunds", 400, key=admin, body={"sale_id": "sale_none"})
    call("POST", "/api/v1/refunds", 403, key=manager, body={"sale_id": sale["id"]})
    dispute = call("POST", "/api/v1/refunds", 201, key=admin,
                   body={"program_id": prog["id"], "sale_external_id": "in_docs_2", "kind": "dispute"})
    assert dispute["amount"] == {"amount": 10000, "currency": "eur"} and dispute["external_id"] is None

    # The ledger
    listed = call("GET", "/api/v1/commissions?sale_id=%s&limit=100" % sale["id"], 200, key=admin)
    assert len(listed["data"]) == 4, listed  # 2 sale entries, 2 reversals
    call("GET", "/api/v1/commissions?program_id=%s&partner_id=%s&status=pending&plan_id=%s&lead_id=%s" % (
        prog["id"], seller["id"], standard["id"], sale["lead_id"]), 200, key=admin)
    call("GET", "/api/v1/commissions", 200, key=member)
    call("GET", "/api/v1/commissions?status=owed", 400, key=admin)
    overrides = call("GET", "/api/v1/commissions?role=override&program_id=" + prog["id"], 200, key=admin)
    assert overrides["data"] and {c["role"] for c in overrides["data"]} == {"override"}, overrides
    teams = call("GET", "/api/v1/commissions?role=team", 200, key=member)  # org's share of its agent's sale
    assert teams["data"] and {(c["role"], c["partner_id"]) for c in teams["data"]} == {("team", org["id"])}, teams
    call("GET", "/api/v1/commissions?role=boss", 400, key=admin)
    assert call.last.json["error"]["field"] == "role", call.last.json
    direct = [c for c in sale["commissions"] if c["rule"] == "sale"][0]
    lead_entry = [c for c in sale["commissions"] if c["rule"] == "lead"][0]
    override = [c for c in sale["commissions"] if c["rule"] == "override"][0]
    full = call("GET", "/api/v1/commissions/" + direct["id"], 200, key=admin)
    assert full["explanation"]["rate_bps"] == 2000 and full["history"][0]["from"] is None, full
    call("GET", "/api/v1/commissions/" + override["id"], 200, key=admin)
    call("GET", "/api/v1/commissions/" + refund["commissions"][0]["id"], 200, key=admin)
    call("GET", "/api/v1/commissions/" + held[0]["id"], 200, key=admin)
    tier_entry = [c for c in volume["commissions"] if c["rule"] == "sale" and c["earned"]["currency"] == "eur"][0]
    tier = call("GET", "/api/v1/commissions/" + tier_entry["id"], 200, key=admin)["explanation"]["tier"]
    assert tier["index"] == 1 and tier["volume"] == 3, tier
    call("GET", "/api/v1/commissions/" + direct["id"], 200, key=srv.admin_key(role="partner", partner=seller["id"]))
    call("GET", "/api/v1/commissions/" + direct["id"], 404, key=member)
    call("GET", "/api/v1/commissions/com_none", 404, key=admin)
    approved = call("POST", "/api/v1/commissions/%s/approve" % direct["id"], 200, key=admin)
    assert approved["status"] == "approved" and approved["history"][-1]["to"] == "approved"
    call("POST", "/api/v1/commissions/%s/approve" % direct["id"], 409, key=admin, body={"reason": None})
    call("POST", "/api/v1/commissions/%s/approve" % held[0]["id"], 409, key=admin)  # waits for its FX rate
    call("POST", "/api/v1/commissions/%s/hold" % lead_entry["id"], 400, key=admin, body={"reason": " "})
    on_hold = call("POST", "/api/v1/commissions/%s/hold" % lead_entry["id"], 200, key=admin,
                   body={"reason": "checking the lead"})
    assert on_hold["status"] == "held" and on_hold["status_reason"] == "checking the lead"
    rejected = call("POST", "/api/v1/commissions/%s/reject" % override["id"], 200, key=admin,
                    body={"reason": "recruiter left"})
    assert rejected["status"] == "rejected"
    call("POST", "/api/v1/commissions/%s/reject" % override["id"], 409, key=admin, body={"reason": "again"})
    call("POST", "/api/v1/commissions/%s/approve" % direct["id"], 403, key=manager)
    call("POST", "/api/v1/commissions/com_none/hold", 404, key=admin, body={"reason": "x"})
    balance = call("GET", "/api/v1/partners/%s/balance" % seller["id"], 200, key=admin)
    assert balance["object"] == "balance" and balance["balances"][0]["currency"] == "eur", balance
    call("GET", "/api/v1/partners/%s/balance" % org["id"], 200, key=member)
    call("GET", "/api/v1/partners/%s/balance" % seller["id"], 404, key=member)
    call("GET", "/api/v1/partners/ptn_none/balance", 404, key=admin)

    # FX rates: the USD sale's entries wait for a USD to EUR rate
    call("GET", "/api/v1/fx-rates", 200, key=member)
    fx = call("POST", "/api/v1/fx-rates", 201, key=admin,
              body={"base": "USD", "quote": "eur", "rate": "0.92", "valid_from": "2025-01-01T00:00:00Z"})
    # Released: the team sale's entries, and the tiered plan's flat USD 1.00 on each of the three volume sales.
    assert fx["released"] == len(held) + 3 and fx["data"][0]["rate"] == "0.92", fx
    converted = call("GET", "/api/v1/commissions/" + held[0]["id"], 200, key=admin)
    assert converted["status"] == "pending" and converted["explanation"]["fx"]["rate"] == "0.92", converted
    call("POST", "/api/v1/fx-rates", 400, key=admin,
         body={"base": "usd", "quote": "eur", "rate": 0.92, "valid_from": "2026-01-01T00:00:00Z"})
    call("POST", "/api/v1/fx-rates", 403, key=manager,
         body={"base": "usd", "quote": "eur", "rate": "0.92", "valid_from": "2026-01-01T00:00:00Z"})
    jan = "2025-01-01T00:00:00Z"
    many = call("POST", "/api/v1/fx-rates", 201, key=admin,
                body={"rates": [{"base": "gbp", "quote": "eur", "rate": "1.17", "valid_from": jan},
                                {"base": "jpy", "quote": "eur", "rate": "0.0061", "valid_from": jan}]})
    assert len(many["data"]) == 2 and many["released"] == 0
    csv = "base,quote,rate,valid_from\nusd,eur,0.93,2025-02-01T00:00:00Z\nchf,eur,1.05,2025-01-01T00:00:00Z\n"
    imported = call("POST", "/api/v1/fx-rates/import", 201, key=admin, raw=csv, headers={"Content-Type": "text/csv"})
    assert imported["imported"] == 2 and imported["released"] == 0, imported
    call("POST", "/api/v1/fx-rates/import", 400, key=admin, raw="base,quote,rate,valid_from\nusd,eur,-1,2026\n",
         headers={"Content-Type": "text/csv"})
    call("POST", "/api/v1/fx-rates/import", 400, key=admin, body={"rates": []})
    call("POST", "/api/v1/fx-rates/import", 403, key=manager, raw=csv, headers={"Content-Type": "text/csv"})
    rates = call("GET", "/api/v1/fx-rates?base=usd&quote=EUR&limit=5", 200, key=admin)
    assert [r["rate"] for r in rates["data"]] == ["0.93", "0.92"], rates
    call("GET", "/api/v1/fx-rates?base=xyz", 400, key=admin)

    # A simulation of the standard plan at 25 %
    sim = call("POST", "/api/v1/plans/%s/simulate" % standard["id"], 200, key=admin,
               body={"from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z",
                     "rules": dict(standard["rules"], sale_bps=2500)})
    assert sim["events"] > 0 and sim["rules"]["sale_bps"] == 2500 and sim["totals"], sim
    call("POST", "/api/v1/plans/%s/simulate" % tiered["id"], 200, key=admin,
         body={"from": "2025-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z"})
    call("POST", "/api/v1/plans/%s/simulate" % standard["id"], 400, key=admin,
         body={"from": "2026-01-01T00:00:00Z", "to": "2025-01-01T00:00:00Z"})
    call("POST", "/api/v1/plans/pln_none/simulate", 404, key=admin,
         body={"from": "2026-01-01T00:00:00Z", "to": "2027-01-01T00:00:00Z"})

    # Stripe: events signed with the program's secret, as Stripe signs them
    secret = "whsec_docs_0123456789abcdef"
    hook = "/api/v1/integrations/stripe/webhook"

    def stripe(event, status, sign=secret, t=None, url=hook):
        raw = json.dumps(event)
        t = int(time.time()) if t is None else t
        mac = hmac.new(sign.encode(), ("%d.%s" % (t, raw)).encode(), hashlib.sha256).hexdigest()
        return call("POST", url, status, raw=raw,
                    headers={"Content-Type": "application/json", "Stripe-Signature": "t=%d,v1=%s" % (t, mac)})

    customer = {"id": "evt_docs_1", "object": "event", "type": "customer.created",
                "data": {"object": {"id": "cus_docs_1", "object": "customer", "email": "payer@shop.example",
                                    "metadata": {"referral_code": "docs-script"}}}}
    call("POST", hook, 400, raw=json.dumps(customer), headers={"Content-Type": "application/json"})
    stripe(customer, 400)  # no program has a secret yet
    call("PATCH", "/api/v1/programs/" + prog["id"], 200, key=admin, body={"stripe_webhook_secret": secret})
    assert call.last.json["stripe_webhook_configured"] is True and "stripe_webhook_secret" not in call.last.json
    stripe(customer, 400, sign="whsec_someone_else")
    stripe(customer, 400, t=int(time.time()) - 3600)
    made = stripe(customer, 200, url=hook + "?program_id=" + prog["id"])
    assert made["outcome"] == "processed" and made["object_id"].startswith("lead_") and made["note"] is None, made
    assert made["program_id"] == prog["id"]
    assert stripe(customer, 200)["outcome"] == "duplicate"
    paid = stripe({"id": "evt_docs_2", "type": "invoice.paid",
                   "data": {"object": {"id": "in_stripe_1", "object": "invoice", "customer": "cus_docs_1",
                                       "customer_email": "payer@shop.example", "amount_paid": 4900,
                                       "currency": "eur", "billing_reason": "subscription_create",
                                       "charge": "ch_docs_1"}}}, 200)
    assert paid["outcome"] == "processed" and paid["object_id"].startswith("sale_"), paid
    back = stripe({"id": "evt_docs_3", "type": "charge.refunded",
                   "data": {"object": {"id": "ch_docs_1", "object": "charge", "amount": 4900, "amount_refunded": 900,
                                       "currency": "eur", "invoice": "in_stripe_1"}}}, 200)
    assert back["outcome"] == "processed" and back["object_id"].startswith("rfd_"), back
    other = stripe({"id": "evt_docs_4", "type": "payout.paid", "data": {"object": {"id": "po_1"}}}, 200)
    assert other["outcome"] == "ignored" and other["note"] and other["object_id"] is None, other
    unusable = stripe({"id": "evt_docs_5", "type": "invoice.paid",
                       "data": {"object": {"id": "in_stripe_2", "amount_paid": 100, "currency": "xyz",
                                           "customer": "cus_docs_1"}}}, 200)
    assert unusable["outcome"] == "ignored" and unusable["note"], unusable
    stripe({"id": "evt_docs_6", "type": "invoice.paid"}, 400)  # not an event: no data.object

    # Connections to other systems: credentials shown once, then only their names
    conns = "/api/v1/integrations"
    made = call("POST", conns, 201, key=admin,
                body={"program_id": prog["id"], "system": "paddle", "name": "Paddle (docs)",
                      "credentials": {"webhook_secret": "pdl_ntfset_docs"}, "settings": {"tolerance_seconds": 30}})
    assert made["credentials"] == {"webhook_secret": "pdl_ntfset_docs"} and made["kind"] == "billing", made
    assert made["webhook_url"].endswith("/api/v1/integrations/paddle/webhook?connection=" + made["id"]), made
    call("POST", conns, 409, key=admin,
         body={"program_id": prog["id"], "system": "paddle", "credentials": {"webhook_secret": "x"}})
    call("POST", conns, 400, key=admin, body={"program_id": prog["id"], "system": "stripe"})
    call("POST", conns, 403, key=manager, body={"program_id": prog["id"], "system": "chargebee"})
    crm = call("POST", conns, 201, key=admin,
               body={"program_id": prog["id"], "system": "hubspot", "credentials": {"access_token": "pat-docs"},
                     "stage_map": {"closedwon": "converted"}, "base_url": "http://127.0.0.1:9/hubspot/"})
    assert crm["base_url"] == "http://127.0.0.1:9/hubspot" and crm["credential_keys"] == ["access_token"], crm
    call("GET", conns + "?program_id=%s&limit=1" % prog["id"], 200, key=admin)
    shown = call("GET", conns + "/" + made["id"], 200, key=admin)
    assert "credentials" not in shown and "pdl_ntfset_docs" not in json.dumps(shown), shown
    call("GET", conns + "/conn_none", 404, key=admin)
    # Their webhooks: a signed Paddle transaction (a sale), a refused signature, Chargebee with and without its
    # Basic authentication, and a disabled connection.
    # In a program of their own, so that the reports below do not count their sale and lead.
    hooks_prog = call("POST", "/api/v1/programs", 201, key=admin, body={"name": "Docs webhooks", "currency": "usd"})
    pw = call("POST", conns, 201, key=admin, body={"program_id": hooks_prog["id"], "system": "paddle",
                                                   "credentials": {"webhook_secret": "pdl_ntfset_docs"}})
    paddle_hook = "/api/v1/integrations/paddle/webhook?connection=" + pw["id"]
    txn = json.dumps({"event_id": "evt_docs_paddle", "event_type": "transaction.completed",
                      "occurred_at": "2026-01-03T00:00:02.512048Z", "notification_id": "ntf_docs",
                      "data": {"id": "txn_docs_1", "customer_id": "ctm_docs_1", "origin": "web",
                               "currency_code": "USD", "custom_data": None, "discount_id": None,
                               "details": {"totals": {"total": "4900", "currency_code": "USD"}}}})
    ts = int(time.time())
    h1 = hmac.new(b"pdl_ntfset_docs", ("%d:%s" % (ts, txn)).encode(), hashlib.sha256).hexdigest()
    sold = call("POST", paddle_hook, 200, raw=txn,
                headers={"Content-Type": "application/json", "Paddle-Signature": "ts=%d;h1=%s" % (ts, h1)})
    assert sold["outcome"] == "processed" and sold["object_id"].startswith("sale_"), sold
    call("POST", paddle_hook, 400, raw=txn,
         headers={"Content-Type": "application/json", "Paddle-Signature": "ts=%d;h1=%s" % (ts, "0" * 64)})
    call("POST", "/api/v1/integrations/paddle/webhook?connection=conn_none", 404, raw=txn,
         headers={"Content-Type": "application/json", "Paddle-Signature": "ts=%d;h1=%s" % (ts, h1)})
    cb = call("POST", conns, 201, key=admin, body={"program_id": hooks_prog["id"], "system": "chargebee"})
    cb_hook = "/api/v1/integrations/chargebee/webhook?connection=" + cb["id"]
    cb_auth = "Basic " + base64.b64encode(("%s:%s" % (cb["credentials"]["username"],
                                                       cb["credentials"]["password"])).encode()).decode()
    cb_event = json.dumps({"id": "ev_docs_1", "occurred_at": 1767398402, "object": "event", "api_version": "v2",
                           "event_type": "customer_created",
                           "content": {"customer": {"id": "cb_docs_1", "email": "cb@shop.example"}}})
    got = call("POST", cb_hook, 200, raw=cb_event, headers={"Content-Type": "application/json",
                                                             "Authorization": cb_auth})
    assert got["outcome"] == "processed" and got["object_id"].startswith("lead_"), got
    call("POST", cb_hook, 401, raw=cb_event, headers={"Content-Type": "application/json"})
    call("PATCH", conns + "/" + made["id"], 200, key=admin,
         body={"status": "disabled", "credentials": {"webhook_secret": "pdl_ntfset_docs2"}})
    call("PATCH", conns + "/" + pw["id"], 200, key=admin, body={"status": "disabled"})
    call("POST", paddle_hook, 403, raw=txn,
         headers={"Content-Type": "application/json", "Paddle-Signature": "ts=%d;h1=%s" % (ts, h1)})
    call("PATCH", conns + "/" + made["id"], 400, key=admin, body={"stage_map": {"won": "paid"}})
    call("PATCH", conns + "/conn_none", 404, key=admin, body={"name": "x"})
    log = call("GET", conns + "/%s/events?outcome=refused" % made["id"], 200, key=admin)
    assert log["data"] == [], log
    log = call("GET", conns + "/%s/events?outcome=refused" % pw["id"], 200, key=admin)
    assert [e["status_code"] for e in log["data"]] == [403, 400], log
    call("GET", conns + "/%s/events?outcome=maybe" % made["id"], 400, key=admin)
    call("GET", conns + "/conn_none/events", 404, key=admin)
    # HubSpot: a batch signed with the app's client secret over method, URL, body and timestamp (milliseconds).
    call("PATCH", conns + "/" + crm["id"], 200, key=admin, body={"credentials": {"client_secret": "cs-docs"}})
    hs_hook = crm["webhook_url"][crm["webhook_url"].index("/api/"):]

    def hubspot(batch, status, secret="cs-docs"):
        raw = json.dumps(batch)
        ts = str(int(time.time() * 1000))
        mac = hmac.new(secret.encode(), ("POST" + crm["webhook_url"] + raw + ts).encode(), hashlib.sha256).digest()
        return call("POST", hs_hook, status, raw=raw,
                    headers={"Content-Type": "application/json", "X-HubSpot-Request-Timestamp": ts,
                             "X-HubSpot-Signature-v3": base64.b64encode(mac).decode()})
    hs = [{"objectId": 51, "eventId": 7, "subscriptionId": 1, "portalId": 2, "occurredAt": 1767225600000,
           "subscriptionType": "contact.creation"},
          {"objectId": 51, "eventId": 8, "subscriptionId": 3, "portalId": 2, "occurredAt": 1767225600000,
           "subscriptionType": "contact.privacyDeletion"}]
    got = hubspot(hs, 200)
    assert [e["outcome"] for e in got["events"]] == ["processed", "ignored"], got
    assert [e["outcome"] for e in hubspot(hs[:1], 200)["events"]] == ["duplicate"]
    hubspot(hs, 401, secret="cs-other")
    hubspot([], 400)
    call("POST", "/api/v1/integrations/hubspot/webhook?connection=conn_none", 404, raw="[]",
         headers={"Content-Type": "application/json"})
    # Pipedrive: an event with the webhook's Basic credentials.
    pd = call("POST", conns, 201, key=admin, body={"program_id": prog["id"], "system": "pipedrive",
                                                   "credentials": {"username": "u", "password": "p-docs"}})
    pd_hook = pd["webhook_url"][pd["webhook_url"].index("/api/"):]
    person = {"meta": {"id": "pd-docs-1", "action": "create", "entity": "person", "entity_id": "7"},
              "data": {"id": 7, "name": "Docs", "emails": [{"value": "docs@pd.example", "primary": True}]},
              "previous": None}
    auth = {"Content-Type": "application/json", "Authorization": "Basic " + base64.b64encode(b"u:p-docs").decode()}
    got = call("POST", pd_hook, 200, raw=json.dumps(person), headers=auth)
    assert got["events"][0]["outcome"] == "processed" and got["events"][0]["object_id"].startswith("lead_"), got
    call("POST", pd_hook, 401, raw=json.dumps(person), headers={"Content-Type": "application/json"})
    call("POST", pd_hook, 400, raw="[]", headers=auth)
    call("DELETE", conns + "/" + pd["id"], 200, key=admin)
    # Salesforce: an Outbound Message of the connection's organisation, acknowledged.
    sf = call("POST", conns, 201, key=admin, body={"program_id": prog["id"], "system": "salesforce",
                                                   "credentials": {"organization_id": "00D5g000004XyZ1"}})
    sf_hook = sf["webhook_url"][sf["webhook_url"].index("/api/"):]
    soap = ('<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/'
            'envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><notifications xmlns='
            '"http://soap.sforce.com/2005/09/outbound"><OrganizationId>00D5g000004XyZ1EAK</OrganizationId>'
            '<Notification><Id>04l5g00000DocsAAA</Id><sObject xsi:type="sf:Lead" xmlns:sf="urn:sobject.enterprise.'
            'soap.sforce.com"><sf:Id>00Q5g00000DocsAAA</sf:Id><sf:Email>sf@docs.example</sf:Email></sObject>'
            '</Notification></notifications></soapenv:Body></soapenv:Envelope>')
    xml = {"Content-Type": "text/xml; charset=utf-8"}
    call("POST", sf_hook, 200, raw=soap, headers=xml)
    call("POST", sf_hook, 403, raw=soap.replace("00D5g000004XyZ1EAK", "00D5g000004OtHrEAK"), headers=xml)
    call("POST", sf_hook, 400, raw="<a/>", headers=xml)
    call("DELETE", conns + "/" + sf["id"], 200, key=admin)
    log = call("GET", conns + "/%s/deliveries?limit=5" % crm["id"], 200, key=admin)
    call("POST", conns + "/%s/deliveries/dlv_none/retry" % crm["id"], 404, key=admin)
    # The reads queued above wait for a CRM that does not answer: one of them is made failed, to be retried.
    assert log["data"], log
    harness.db_write(srv, "UPDATE deliveries SET status = 'failed' WHERE id = ?", (log["data"][0]["id"],))
    call("POST", conns + "/%s/deliveries/%s/retry" % (crm["id"], log["data"][0]["id"]), 202, key=admin)
    call("POST", conns + "/%s/deliveries/%s/retry" % (crm["id"], log["data"][0]["id"]), 409, key=admin)
    call("GET", conns + "/%s/deliveries?status=sent" % crm["id"], 400, key=admin)
    call("GET", conns + "/conn_none/deliveries", 404, key=admin)
    gone = call("DELETE", conns + "/" + crm["id"], 200, key=admin)
    assert gone["deleted"] is True, gone
    call("DELETE", conns + "/" + crm["id"], 404, key=admin)

    # Payouts. A program that pays at once (no holding period), on the 15th without NET terms, above USD 10.00;
    # its partners are paid in USD, one in EUR (at the USD to EUR rate above).
    payer = call("POST", "/api/v1/programs", 201, key=admin,
                 body={"name": "Docs payouts", "currency": "usd", "holding_period_days": 0, "payout_day": 15,
                       "payout_terms_days": 0, "payout_threshold": {"amount": 1000, "currency": "usd"}})
    assert payer["payout_schedule"] == {"every": "month", "day": 15, "terms_days": 0}, payer

    def payee(name, **more):
        return call("POST", "/api/v1/partners", 201, key=admin,
                    body=dict({"program_id": payer["id"], "name": name,
                               "email": "%s@payee.example" % name.split()[-1].lower()}, **more))

    ava = payee("=Ava Reyes", company="Reyes Media",
                tax_profile={"legal_name": "Reyes Media LLC", "country": "us", "tax_id": "12-3456789"})
    ben = payee("Ben Ortiz", currency="eur")
    cy = payee("Cy Small")
    dan = payee("Dan Held")
    call("POST", "/api/v1/plans", 201, key=admin,
         body={"program_id": payer["id"], "name": "Payouts", "default": True, "rules": {"sale_bps": 1000}})
    for n, (who, cents) in enumerate([(ava, 60000), (ben, 30000), (cy, 5000), (dan, 40000)]):
        bought = call("POST", "/api/v1/sales", 201, key=admin,
                      body={"program_id": payer["id"], "email": "payer%d@shop.example" % n,
                            "amount": {"amount": cents, "currency": "usd"}, "external_id": "in_pay_%d" % n,
                            "partner_id": who["id"]})
        for entry in bought["commissions"]:
            call("POST", "/api/v1/commissions/%s/approve" % entry["id"], 200, key=admin)
    ahead = call("GET", "/api/v1/partners/%s/payout-forecast" % ava["id"], 200, key=admin)
    assert ahead["next_payout_date"].endswith("-15T00:00:00.000Z") and ahead["held"] is None, ahead
    assert ahead["expected"] == [{"currency": "usd", "amount": {"amount": 6000, "currency": "usd"},
                                  "approved": {"amount": 6000, "currency": "usd"},
                                  "pending": {"amount": 0, "currency": "usd"},
                                  "threshold": {"amount": 1000, "currency": "usd"}, "meets_threshold": True,
                                  "later": {"amount": 0, "currency": "usd"}}], ahead
    call("GET", "/api/v1/partners/%s/payout-forecast" % ava["id"], 404, key=member)
    call("GET", "/api/v1/partners/ptn_none/payout-forecast", 404, key=admin)
    # Holds
    call("POST", "/api/v1/partners/%s/hold-payouts" % dan["id"], 400, key=admin, body={"reason": " "})
    call("POST", "/api/v1/partners/%s/hold-payouts" % dan["id"], 403, key=manager, body={"reason": "x"})
    call("POST", "/api/v1/partners/ptn_none/hold-payouts", 404, key=admin, body={"reason": "x"})
    call("POST", "/api/v1/partners/%s/hold-payouts" % dan["id"], 200, key=admin,
         body={"reason": "Waiting for the W-9 form"})
    held_dan = call("GET", "/api/v1/partners/%s/payout-forecast" % dan["id"], 200, key=admin)
    assert held_dan["held"] == "Waiting for the W-9 form", held_dan

    # Runs: two drafts of the same entries
    call("POST", "/api/v1/payout-runs", 400, key=admin, body={})  # several programs: program_id is needed
    call("POST", "/api/v1/payout-runs", 400, key=admin,
         body={"program_id": payer["id"], "cutoff": "2100-01-01T00:00:00Z"})
    call("POST", "/api/v1/payout-runs", 403, key=manager, body={"program_id": payer["id"]})
    run = call("POST", "/api/v1/payout-runs", 201, key=admin, body={"program_id": payer["id"]})
    assert run["status"] == "draft" and run["approved_at"] is None, run
    assert sorted((i["partner_id"], i["amount"]["amount"], i["amount"]["currency"]) for i in run["items"]) == sorted(
        [(ava["id"], 6000, "usd"), (ben["id"], 2790, "eur")]), run["items"]
    assert sorted(o["partner_id"] for o in run["left_out"]) == sorted([cy["id"], dan["id"]]), run["left_out"]
    assert {t["currency"] for t in run["totals"]} == {"usd", "eur"}, run["totals"]
    rival = call("POST", "/api/v1/payout-runs", 201, key=admin, body={"program_id": payer["id"]})
    runs = call("GET", "/api/v1/payout-runs?program_id=%s&limit=1" % payer["id"], 200, key=admin)
    assert runs["has_more"] and runs["data"][0]["id"] == rival["id"], runs
    call("GET", "/api/v1/payout-runs?starting_after=po_none", 400, key=admin)
    call("GET", "/api/v1/payout-runs", 403, key=manager)
    call("GET", "/api/v1/payout-runs/" + run["id"], 200, key=admin)
    call("GET", "/api/v1/payout-runs/po_none", 404, key=admin)
    # The log of what happened: the run's event among them, every one in the document's shape.
    events = call("GET", "/api/v1/events?type=payout_run.created&limit=5", 200, key=admin)
    assert events["data"] and events["data"][0]["type"] == "payout_run.created", events
    call("GET", "/api/v1/events/" + events["data"][0]["id"], 200, key=admin)
    call("GET", "/api/v1/events?type=no.such", 400, key=admin)
    call("GET", "/api/v1/events/evt_none", 404, key=admin)
    # Webhook endpoints: made (the secret shown once), listed, read, changed, tested, rotated, their delivery log, a
    # resend and a replay, deleted. This server keeps deliveries off internal addresses, so the one on 127.0.0.1 is
    # refused at its first attempt, which the log then shows.
    hooks = "/api/v1/webhook-endpoints"
    hook = call("POST", hooks, 201, key=admin, body={"url": "https://127.0.0.1:9/refd", "program_id": payer["id"],
                                                     "event_types": ["lead.created", "webhook.test"],
                                                     "description": "CRM sync"})
    assert hook["secret"].startswith("whsec_") and hook["status"] == "enabled", hook
    call("POST", hooks, 400, key=admin, body={"url": "http://crm.example/refd", "event_types": ["*"]})
    call("POST", hooks, 400, key=admin, body={"url": "https://crm.example/refd", "event_types": ["lead.made"]})
    assert [h["id"] for h in call("GET", hooks + "?limit=5", 200, key=admin)["data"]] == [hook["id"]]
    call("GET", hooks, 403, key=manager)
    call("GET", hooks + "/" + hook["id"], 200, key=admin)
    call("GET", hooks + "/wh_none", 404, key=admin)
    call("PATCH", hooks + "/" + hook["id"], 200, key=admin, body={"description": None, "event_types": ["*"]})
    call("PATCH", hooks + "/" + hook["id"], 400, key=admin, body={"status": "paused"})
    probe = call("POST", hooks + "/%s/test" % hook["id"], 202, key=admin)
    assert probe["event_type"] == "webhook.test" and probe["status"] == "pending", probe
    rotated = call("POST", hooks + "/%s/rotate-secret" % hook["id"], 200, key=admin)
    assert rotated["secret"] != hook["secret"] and rotated["previous_secret_expires_at"], rotated
    deadline = time.time() + 20
    while True:
        log = call("GET", hooks + "/%s/deliveries?status=pending&limit=10" % hook["id"], 200, key=admin)
        tried = [d for d in log["data"] if d["id"] == probe["id"] and d["attempts"]]
        if tried or time.time() > deadline:
            break
        time.sleep(0.05)
    assert tried and "refused to connect to 127.0.0.1" in tried[0]["attempts"][0]["error"], log
    call("GET", hooks + "/%s/deliveries?status=sent" % hook["id"], 400, key=admin)
    call("POST", hooks + "/%s/deliveries/%s/resend" % (hook["id"], probe["id"]), 202, key=admin)
    call("POST", hooks + "/%s/deliveries/dlv_none/resend" % hook["id"], 404, key=admin)
    replayed = call("POST", hooks + "/%s/replay" % hook["id"], 202, key=admin,
                    body={"from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z", "types": ["lead.created"]})
    assert replayed["queued"] >= 1, replayed
    call("POST", hooks + "/%s/replay" % hook["id"], 400, key=admin,
         body={"from": "2100-01-01T00:00:00Z", "to": "2000-01-01T00:00:00Z"})
    call("PATCH", hooks + "/" + hook["id"], 200, key=admin, body={"status": "disabled"})
    call("POST", hooks + "/%s/test" % hook["id"], 409, key=admin)
    call("DELETE", hooks + "/" + hook["id"], 200, key=admin)
    call("DELETE", hooks + "/" + hook["id"], 404, key=admin)
    # Imports: started (202, the import object as it begins), then read back until it has ended, in that shape too.
    imp_url = "/api/v1/imports?type=partners&program_id=" + prog["id"]
    started = call("POST", imp_url, 202, key=admin, raw="email,name\nimported@example.org,Imported One\n",
                   headers={"Content-Type": "text/csv"})
    assert started["status"] == "running" and call.last.header("Location").endswith(started["id"]), started
    for _ in range(200):
        got = call("GET", "/api/v1/imports/" + started["id"], 200, key=admin)
        if got["status"] != "running":
            break
        time.sleep(0.05)
    assert got["status"] == "completed" and got["created"] == 1, got
    call("POST", imp_url, 400, key=admin, raw="nope\n", headers={"Content-Type": "text/csv"})
    assert call.last.json["error"]["field"] == "header", call.last.json
    call("POST", imp_url, 403, key=manager, raw="email\n", headers={"Content-Type": "text/csv"})
    call("GET", "/api/v1/imports/imp_none", 404, key=admin)
    listed = call("GET", "/api/v1/imports?limit=1", 200, key=admin)
    assert [i["id"] for i in listed["data"]] == [started["id"]], listed
    call("GET", "/api/v1/imports?starting_after=" + started["id"], 200, key=admin)
    call("GET", "/api/v1/imports?starting_after=imp_none", 400, key=admin)
    call("GET", "/api/v1/imports", 403, key=manager)
    call("GET", "/api/v1/payout-runs/%s/export" % run["id"], 409, key=admin)  # a draft
    call("POST", "/api/v1/payout-runs/%s/mark-paid" % run["id"], 409, key=admin)
    approved_run = call("POST", "/api/v1/payout-runs/%s/approve" % run["id"], 200, key=admin)
    assert approved_run["status"] == "approved" and approved_run["approved_by"], approved_run
    call("POST", "/api/v1/payout-runs/%s/approve" % run["id"], 409, key=admin)
    call("POST", "/api/v1/payout-runs/po_none/approve", 404, key=admin)
    # The exports
    call("GET", "/api/v1/payout-runs/%s/export" % run["id"], 200, key=admin)
    assert call.last.header("Content-Disposition") == 'attachment; filename="%s-generic.csv"' % run["id"]
    rows = call.last.body.splitlines()
    assert rows[0] == '"partner_id","name","email","amount","currency","reference","status"', rows
    assert ('"%s","\'=Ava Reyes","reyes@payee.example",60.00,"USD"' % ava["id"]) in call.last.body, rows
    call("GET", "/api/v1/payout-runs/%s/export?format=paypal" % run["id"], 400, key=admin)  # two currencies
    call("GET", "/api/v1/payout-runs/%s/export?format=paypal&currency=EUR" % run["id"], 200, key=admin)
    rows = call.last.body.splitlines()
    assert len(rows) == 1 and rows[0].startswith('"ortiz@payee.example",27.90,"EUR","poi_'), rows
    assert rows[0].endswith('"PAYPAL"'), rows
    call("GET", "/api/v1/payout-runs/%s/export?format=wise" % run["id"], 200, key=admin)
    rows = call.last.body.splitlines()
    assert rows[0].startswith('"name","recipientEmail","paymentReference","receiverType"') and len(rows) == 3, rows
    assert any(r.startswith('"Reyes Media LLC","reyes@payee.example","poi_') and '"BUSINESS","target",60.00,"USD","USD"'
               in r for r in rows), rows
    call("GET", "/api/v1/payout-runs/%s/export?format=pdf" % run["id"], 400, key=admin)
    call("GET", "/api/v1/payout-runs/%s/export?currency=xyz" % run["id"], 400, key=admin)
    call("GET", "/api/v1/payout-runs/po_none/export", 404, key=admin)
    # One payment fails, the rest of the run is paid
    ben_item = [i for i in run["items"] if i["partner_id"] == ben["id"]][0]
    ava_item = [i for i in run["items"] if i["partner_id"] == ava["id"]][0]
    item_url = "/api/v1/payout-runs/%s/items/%%s/%%s" % run["id"]
    call("POST", item_url % (ben_item["id"], "mark-failed"), 400, key=admin)
    call("POST", item_url % (ben_item["id"], "mark-failed"), 400, key=admin, body={"reason": "x", "reference": "y"})
    call("POST", item_url % ("poi_none", "mark-failed"), 404, key=admin, body={"reason": "x"})
    call("POST", item_url % (ben_item["id"], "mark-failed"), 403, key=manager, body={"reason": "x"})
    failed = call("POST", item_url % (ben_item["id"], "mark-failed"), 200, key=admin,
                  body={"reason": "The IBAN was refused"})
    assert [t["currency"] for t in failed["totals"]] == ["usd"] and failed["status"] == "approved", failed
    assert [i["failure_reason"] for i in failed["items"] if i["id"] == ben_item["id"]] == ["The IBAN was refused"]
    call("POST", item_url % (ben_item["id"], "mark-failed"), 409, key=admin, body={"reason": "again"})
    call("POST", "/api/v1/payout-runs/%s/mark-paid" % run["id"], 400, key=admin, body={"reason": "x"})
    paid_run = call("POST", "/api/v1/payout-runs/%s/mark-paid" % run["id"], 200, key=admin,
                    body={"reference": "WISE-BATCH-2026-11"})
    paid_item = [i for i in paid_run["items"] if i["id"] == ava_item["id"]][0]
    assert paid_run["status"] == "paid" and paid_item["status"] == "paid", paid_run
    assert paid_item["reference"] == "WISE-BATCH-2026-11" and paid_item["paid_at"], paid_item
    call("POST", "/api/v1/payout-runs/%s/mark-paid" % run["id"], 409, key=admin)
    call("POST", item_url % (ava_item["id"], "mark-paid"), 409, key=admin)
    call("POST", "/api/v1/payout-runs/%s/cancel" % run["id"], 409, key=admin)
    # The second draft took the same entries: refused, then cancelled
    call("POST", "/api/v1/payout-runs/%s/approve" % rival["id"], 409, key=admin)
    cancelled = call("POST", "/api/v1/payout-runs/%s/cancel" % rival["id"], 200, key=admin)
    assert cancelled["status"] == "cancelled", cancelled
    call("POST", "/api/v1/payout-runs/%s/cancel" % rival["id"], 409, key=admin)
    call("POST", "/api/v1/payout-runs/po_none/cancel", 404, key=admin)
    # The failed payment's entries carry over to the next run, paid item by item
    retry = call("POST", "/api/v1/payout-runs", 201, key=admin, body={"program_id": payer["id"]})
    assert [(i["partner_id"], i["amount"]) for i in retry["items"]] == [
        (ben["id"], {"amount": 2790, "currency": "eur"})], retry
    call("POST", "/api/v1/payout-runs/%s/approve" % retry["id"], 200, key=admin)
    call("POST", "/api/v1/payout-runs/%s/items/%s/mark-paid" % (retry["id"], ben_item["id"]), 404, key=admin)
    settled = call("POST", "/api/v1/payout-runs/%s/items/%s/mark-paid" % (retry["id"], retry["items"][0]["id"]),
                   200, key=admin, body={"reference": "SEPA-0042"})
    assert settled["status"] == "paid" and settled["items"][0]["reference"] == "SEPA-0042", settled
    call("POST", "/api/v1/payout-runs/%s/items/%s/mark-paid" % (retry["id"], retry["items"][0]["id"]), 409,
         key=admin, body={})
    assert call("GET", "/api/v1/partners/%s/payout-forecast" % ben["id"], 200, key=admin)["expected"] == []

    # Statements
    period = "from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z"
    own = srv.admin_key(role="partner", partner=ava["id"])
    stmt = call("GET", "/api/v1/partners/%s/statement?%s" % (ava["id"], period), 200, key=own)
    assert [(l["kind"], l["amount"]["amount"]) for l in stmt["lines"]] == [("commission", 6000), ("payout", -6000)]
    assert stmt["balances"] == [{"currency": "usd", "opening": {"amount": 0, "currency": "usd"},
                                 "earned": {"amount": 6000, "currency": "usd"},
                                 "paid_out": {"amount": 6000, "currency": "usd"},
                                 "closing": {"amount": 0, "currency": "usd"}}], stmt["balances"]
    call("GET", "/api/v1/partners/%s/statement" % ben["id"], 200, key=admin)
    call("GET", "/api/v1/partners/%s/statement?format=csv&%s" % (ben["id"], period), 200, key=admin)
    assert call.last.header("Content-Disposition") == 'attachment; filename="statement.csv"'
    rows = call.last.body.splitlines()
    assert rows[0] == '"date","kind","id","description","amount","currency","status"', rows
    # The failed payment is not a payout; the second one is.
    assert [r.split(",")[1] for r in rows[1:]] == ['"opening_balance"', '"commission"', '"payout"',
                                                   '"closing_balance"'], rows
    assert rows[-2].endswith(',-27.90,"EUR","paid"') and "reference SEPA-0042" in rows[-2], rows
    call("GET", "/api/v1/partners/%s/statement?format=html&%s" % (ava["id"], period), 200, key=admin)
    assert "<table>" in call.last.body and "=Ava Reyes &lt;reyes@payee.example&gt;" in call.last.body
    call("GET", "/api/v1/partners/%s/statement?format=pdf" % ava["id"], 400, key=admin)
    call("GET", "/api/v1/partners/%s/statement?from=2026-01-01T00:00:00Z&to=2025-01-01T00:00:00Z" % ava["id"], 400,
         key=admin)
    call("GET", "/api/v1/partners/%s/statement" % ava["id"], 404, key=member)
    call("GET", "/api/v1/partners/ptn_none/statement", 404, key=admin)
    released = call("POST", "/api/v1/partners/%s/release-payouts" % dan["id"], 200, key=admin)
    assert released["id"] == dan["id"]
    assert call("GET", "/api/v1/partners/%s/payout-forecast" % dan["id"], 200, key=admin)["held"] is None
    call("POST", "/api/v1/partners/ptn_none/release-payouts", 404, key=admin)

    # Year-end tax totals: the EUR payout is converted through the inverse of the USD to EUR rate (0.93).
    year = paid_item["paid_at"][:4]
    tax = call("GET", "/api/v1/tax-totals?year=%s&program_id=%s&threshold=25.00" % (year, payer["id"]), 200,
               key=admin)
    assert tax["threshold"] == {"amount": 2500, "currency": "usd"}, tax
    assert [(p["partner_id"], p["total_paid_usd"]["amount"], p["reportable"]) for p in tax["partners"]] == sorted(
        [(ava["id"], 6000, True), (ben["id"], 3000, True)]), tax["partners"]
    assert tax["missing_tax_profiles"] == [ben["id"]] and all(p["unconverted"] == [] for p in tax["partners"]), tax
    call("GET", "/api/v1/tax-totals?year=%s&program_id=%s&format=csv" % (year, payer["id"]), 200, key=admin)
    assert call.last.header("Content-Disposition") == 'attachment; filename="tax-totals-%s.csv"' % year
    rows = call.last.body.splitlines()
    assert rows[0].startswith('"partner_id","name","email","legal_name"') and len(rows) == 3, rows
    call("GET", "/api/v1/tax-totals?program_id=" + payer["id"], 400, key=admin)  # no year
    call("GET", "/api/v1/tax-totals?year=%s" % year, 400, key=admin)  # several programs
    call("GET", "/api/v1/tax-totals?year=%s&program_id=%s&format=html" % (year, payer["id"]), 400, key=admin)
    call("GET", "/api/v1/tax-totals?year=%s&program_id=%s" % (year, payer["id"]), 403, key=manager)

    # Reports, read from the rollups that every write above kept up to date. The team sale occurred on 2025-06-15
    # (backdated), everything else today, so a period from 2025-06-01 holds two days with activity.
    def day_after(day, n):
        return (datetime.date.fromisoformat(day) + datetime.timedelta(days=n)).isoformat()

    docs = "program_id=" + prog["id"]
    since = "from=2025-06-01&" + docs
    money_keys = ("revenue", "refunds", "net_revenue")
    recent = call("GET", "/api/v1/reports/summary?" + docs, 200, key=admin)
    assert recent["object"] == "report_summary" and recent["currency"] == "eur", recent
    assert day_after(recent["from"], 29) == recent["to"], recent  # the last 30 days, today included
    # In EUR: the seller's sale and renewal (2 x 100.00), the volume seller's three sales (3 x 200.00), the
    # walk-in (9.00) and Stripe's invoice (49.00); refunded: 25.00, the 100.00 dispute and Stripe's 9.00.
    assert recent["revenue"] == {"amount": 85800, "currency": "eur"} and recent["sales"] == 7, recent
    assert recent["refunds"] == {"amount": 13400, "currency": "eur"}, recent
    assert recent["net_revenue"]["amount"] == 85800 - 13400 and recent["clicks"] > 0 and recent["leads"] > 0
    assert recent["time_to_conversion"]["conversions"] == recent["customers"], recent
    assert [c["currency"] for c in recent["commissions"]] == ["eur"], recent["commissions"]
    assert recent["commissions"][0]["approved"]["amount"] > 0, recent["commissions"]  # the seller's approved entry
    assert all(m["amount"] == 0 for m in recent["paid_this_month"]), recent  # no payout in this program
    total = call("GET", "/api/v1/reports/summary?" + since, 200, key=admin)
    assert total["from"] == "2025-06-01" and total["to"] == recent["to"], total
    # The backdated team sale counts on its day; its lead, created today, converted no earlier than that.
    assert total["sales"] == recent["sales"] + 1 and total["customers"] == recent["customers"], total
    call("GET", "/api/v1/reports/summary?from=2025-06-01T22:30:00-05:00&to=%s&%s" % (recent["to"], docs), 200,
         key=admin)
    assert call.last.json["from"] == "2025-06-02", call.last.json  # the day in UTC
    # The payouts program: paid in USD and EUR this month; EUR is not its currency, so no revenue per commission
    paying = call("GET", "/api/v1/reports/summary?program_id=" + payer["id"], 200, key=admin)
    assert sorted((m["currency"], m["amount"]) for m in paying["paid_this_month"]) == [("eur", 2790), ("usd", 6000)]
    by_cur = {c["currency"]: c for c in paying["commissions"]}
    assert by_cur["usd"]["paid"]["amount"] == 6000 and by_cur["eur"]["revenue_per_commission"] is None, by_cur
    assert by_cur["usd"]["revenue_per_commission"] > 0 and paying["revenue"]["amount"] == 135000, paying

    # Breakdowns, every group_by, over the same period: the default order, and rows that add up
    rows = {}
    for group in ("partner", "agent", "team", "source", "campaign", "day", "week", "month"):
        got = call("GET", "/api/v1/reports/breakdown?group_by=%s&%s" % (group, since), 200, key=admin)
        assert got["object"] == "report" and got["group_by"] == group and got["currency"] == "eur", got
        assert (got["from"], got["to"]) == ("2025-06-01", total["to"]), got
        assert got["total_rows"] == len(got["data"]) and got["has_more"] is False, got
        assert got["data"], "%s: no rows" % group
        assert all(("name" in r) == (group in ("partner", "agent", "team")) for r in got["data"]), got
        rows[group] = got["data"]
    revenue = [r["revenue"]["amount"] for r in rows["partner"]]
    assert revenue == sorted(revenue, reverse=True), rows["partner"]  # by revenue, the default for partners
    assert [(r["key"], r["name"]) for r in rows["partner"]] == [
        (tiered_seller["id"], "Volume"), (seller["id"], "Seller"), (org["id"], "Org")], rows["partner"]
    assert [(r["key"], r["name"]) for r in rows["agent"]] == [(rep["id"], "Rep")], rows["agent"]
    assert [(r["key"], r["name"]) for r in rows["team"]] == [(org["id"], "Org")], rows["team"]
    assert rows["team"][0]["sales"] == rows["agent"][0]["sales"] == 1, rows["team"]  # the team sale, by Rep
    leads = [r["leads"] for r in rows["source"]]
    assert leads == sorted(leads, reverse=True) and rows["source"][0]["key"] == "partner", rows["source"]
    assert all(r["commissions"] == [] for r in rows["source"] + rows["campaign"])
    assert [(r["key"], r["clicks"]) for r in rows["campaign"]] == [("docs", 1)], rows["campaign"]
    assert [r["key"] for r in rows["day"]] == ["2025-06-15", total["to"]], rows["day"]
    assert [r["key"] for r in rows["month"]] == ["2025-06", total["to"][:7]], rows["month"]
    assert rows["week"][0]["key"] == "2025-06-09" and all(
        datetime.date.fromisoformat(r["key"]).weekday() == 0 for r in rows["week"]), rows["week"]
    for group in ("day", "week", "month"):
        for name in ("clicks", "leads", "qualified", "customers", "sales"):
            assert sum(r[name] for r in rows[group]) == total[name], (group, name, rows[group])
        for name in money_keys:
            assert sum(r[name]["amount"] for r in rows[group]) == total[name]["amount"], (group, name)
        assert sum(r["commissions"][0]["earned"]["amount"] for r in rows[group]) == \
            total["commissions"][0]["earned"]["amount"], group
    # Sort and limit
    top = call("GET", "/api/v1/reports/breakdown?group_by=partner&sort=leads&limit=1&" + since, 200, key=admin)
    assert [r["key"] for r in top["data"]] == [org["id"]] and top["total_rows"] == 3 and top["has_more"], top
    earned = call("GET", "/api/v1/reports/breakdown?group_by=partner&sort=commissions&" + since, 200, key=admin)
    amounts = [r["commissions"][0]["earned"]["amount"] for r in earned["data"]]
    assert amounts == sorted(amounts, reverse=True), earned["data"]
    busiest = call("GET", "/api/v1/reports/breakdown?group_by=day&sort=sales&limit=1&" + since, 200, key=admin)
    assert busiest["data"][0]["key"] == total["to"] and busiest["has_more"], busiest
    # As CSV: one line per row and commission currency, amounts as decimals, text cells guarded
    call("GET", "/api/v1/reports/breakdown?group_by=partner&format=csv&" + since, 200, key=admin)
    assert call.last.header("Content-Disposition") == 'attachment; filename="report-partner.csv"'
    assert call.last.header("Cache-Control") == "no-store"
    lines = call.last.body.splitlines()
    assert lines[0] == ('"key","name","clicks","leads","qualified","customers","sales","revenue","refunds",'
                        '"currency","commission_currency","earned","approved","paid"'), lines
    assert len(lines) == 4 and lines[1].startswith('"%s","Volume",0,3,3,3,3,600.00,0.00,"EUR","EUR",' % (
        tiered_seller["id"])), lines
    for group in ("agent", "team", "source", "campaign", "day", "week", "month"):
        call("GET", "/api/v1/reports/breakdown?group_by=%s&format=csv&%s" % (group, since), 200, key=admin)
        lines = call.last.body.splitlines()
        assert len(lines) == 1 + len(rows[group]), (group, lines)
        assert call.last.header("Content-Disposition") == 'attachment; filename="report-%s.csv"' % group
    assert call.last.body.splitlines()[-1].startswith('"%s","",' % total["to"][:7]), call.last.body
    # Today's payouts paid in USD and EUR: two lines for the day, the counts on the first only
    call("GET", "/api/v1/reports/breakdown?group_by=day&format=csv&program_id=" + payer["id"], 200, key=admin)
    lines = call.last.body.splitlines()
    assert len(lines) == 3 and lines[1].split(",")[10] == '"EUR"' and lines[2].split(",")[10] == '"USD"', lines
    assert lines[1].split(",")[2:9] == ["0", "4", "4", "4", "4", "1350.00", "0.00"], lines
    assert lines[2].split(",")[2:9] == ["0", "0", "0", "0", "0", "0.00", "0.00"], lines
    call("GET", "/api/v1/reports/breakdown?group_by=partner&format=csv&program_id=" + payer["id"], 200, key=admin)
    assert ('"%s","\'=Ava Reyes",0,1,1,1,1,600.00,0.00,"USD","USD",60.00,60.00,60.00' % ava["id"]) in \
        call.last.body.splitlines(), call.last.body
    # What is refused
    call("GET", "/api/v1/reports/summary", 400, key=admin)  # several programs
    assert call.last.json["error"]["field"] == "program_id"
    for query, field in [("", "group_by"), ("group_by=region", "group_by"), ("group_by=partner&sort=name", "sort"),
                         ("group_by=partner&sort=earned", "sort"),
                         ("group_by=partner&limit=0", "limit"), ("group_by=day&limit=100001", "limit"),
                         ("group_by=partner&format=xlsx", "format"), ("group_by=partner&from=2026-13-01", "from"),
                         ("group_by=partner&from=2026-11-02&to=2026-11-01", "from"),
                         ("group_by=partner&from=2000-01-01&to=2026-11-01", "from"),
                         ("group_by=partner&starting_after=" + org["id"], "starting_after")]:
        call("GET", "/api/v1/reports/breakdown?" + "&".join(q for q in (query, docs) if q), 400, key=admin)
        assert call.last.json["error"]["field"] == field, (query, call.last.json)
    call("GET", "/api/v1/reports/breakdown?group_by=partner&program_id=prg_none", 400, key=admin)
    call("GET", "/api/v1/reports/summary?group_by=partner&" + docs, 400, key=admin)
    # A query string that cannot be read (a piece without "=") is refused, not half read
    for url in ("/api/v1/reports/summary?bogus&" + docs, "/api/v1/reports/breakdown?group_by=day&bogus&" + docs,
                "/api/v1/reports/queues?" + docs + "&bogus"):
        call("GET", url, 400, key=admin)
        assert "query string cannot be read" in call.last.json["error"]["message"], call.last.json
    # `to` alone moves the default period: the 30 days that end with it
    june = call("GET", "/api/v1/reports/summary?to=2025-06-30&" + docs, 200, key=admin)
    assert (june["from"], june["to"]) == ("2025-06-01", "2025-06-30") and june["sales"] == 1, june  # the team sale
    june_days = call("GET", "/api/v1/reports/breakdown?group_by=day&to=2025-06-30T23:59:59Z&" + docs, 200,
                     key=admin)
    assert (june_days["from"], june_days["to"]) == ("2025-06-01", "2025-06-30"), june_days
    assert [r["key"] for r in june_days["data"]] == ["2025-06-15"], june_days
    # A partner key and a manager of the same partner see their own figures, in their own program only
    call("GET", "/api/v1/reports/summary?%s&program_id=%s" % (since.split("&")[0], payer["id"]), 403, key=member)
    assert call.last.json["error"]["field"] == "program_id", call.last.json
    call("GET", "/api/v1/reports/breakdown?group_by=partner&program_id=" + payer["id"], 403, key=manager)
    assert call.last.json["error"]["field"] == "program_id", call.last.json
    mine = call("GET", "/api/v1/reports/summary?" + since, 200, key=member)  # naming its own program
    assert mine["program_id"] == prog["id"] and mine["time_to_conversion"] is None, mine
    assert [m["amount"] for m in mine["paid_this_month"]] == [0], mine  # nothing paid in this program

    def figures(r):
        return {k: v for k, v in r.items() if k not in ("key", "name")}

    assert {k: mine[k] for k in figures(rows["partner"][-1])} == figures(rows["partner"][-1]), mine  # org's row
    rep_key = srv.admin_key(role="partner", partner=rep["id"])  # an agent: its own figures
    own_figures = call("GET", "/api/v1/reports/summary?" + since.split("&")[0], 200, key=rep_key)
    assert {k: own_figures[k] for k in figures(rows["agent"][0])} == figures(rows["agent"][0]), own_figures
    for group, expected in (("partner", [org["id"]]), ("agent", [rep["id"]]), ("team", [org["id"]])):
        seen = call("GET", "/api/v1/reports/breakdown?group_by=%s&%s" % (group, since.split("&")[0]), 200,
                    key=member)
        assert [r["key"] for r in seen["data"]] == expected and seen["total_rows"] == len(expected), seen
    call("GET", "/api/v1/reports/breakdown?group_by=agent&format=csv", 200, key=manager)
    for group in ("source", "campaign"):
        call("GET", "/api/v1/reports/breakdown?group_by=" + group, 403, key=member)
        assert call.last.json["error"]["field"] == "group_by", call.last.json
    call("GET", "/api/v1/reports/breakdown?group_by=source&sort=name", 400, key=member)  # the query first
    # By day, week or month: their own figures over time, which add up to their own summary
    def earned_by_currency(commissions):
        return {c["currency"]: c["earned"]["amount"] for c in commissions}

    for who, summary in ((member, mine), (rep_key, own_figures)):
        for group in ("day", "week", "month"):
            got = call("GET", "/api/v1/reports/breakdown?group_by=%s&%s" % (group, since.split("&")[0]), 200,
                       key=who)
            assert got["group_by"] == group and got["data"] and (got["from"], got["to"]) == (
                summary["from"], summary["to"]), got
            assert all("name" not in r for r in got["data"]), got
            for name in ("clicks", "leads", "qualified", "customers", "sales"):
                assert sum(r[name] for r in got["data"]) == summary[name], (group, name, got["data"], summary)
            for name in money_keys:
                assert sum(r[name]["amount"] for r in got["data"]) == summary[name]["amount"], (group, name)
            sums = {}
            for r in got["data"]:
                for cur, amount in earned_by_currency(r["commissions"]).items():
                    sums[cur] = sums.get(cur, 0) + amount
            assert sums == earned_by_currency(summary["commissions"]), (group, got["data"], summary["commissions"])
    assert [r["key"] for r in got["data"]] == ["2025-06", total["to"][:7]], got["data"]  # the agent's months
    call("GET", "/api/v1/reports/breakdown?group_by=week&format=csv", 200, key=manager)
    assert call.last.body.startswith('"key","name","clicks"') and len(call.last.body.splitlines()) > 1, call.last
    call("GET", "/api/v1/reports/breakdown?group_by=day&sort=name", 400, key=member)
    theirs = call("GET", "/api/v1/reports/summary", 200, key=own)
    assert theirs["program_id"] == payer["id"] and theirs["commissions"][0]["paid"]["amount"] == 6000, theirs
    assert theirs["paid_this_month"] == [{"amount": 6000, "currency": "usd"}], theirs
    # What waits for an admin: the re-registered deal, and the lead's entry held for checking
    queues = call("GET", "/api/v1/reports/queues?" + docs, 200, key=admin)
    assert queues == {"object": "queues", "program_id": prog["id"], "partners_awaiting_approval": 0,
                      "deals_awaiting_review": 1, "commissions_on_hold": 1}, queues
    call("GET", "/api/v1/reports/queues?program_id=" + payer["id"], 200, key=owner)
    call("GET", "/api/v1/reports/queues", 400, key=admin)  # several programs
    call("GET", "/api/v1/reports/queues?from=2026-01-01&" + docs, 400, key=admin)
    call("GET", "/api/v1/reports/queues?" + docs, 403, key=manager)
    call("GET", "/api/v1/reports/queues", 403, key=member)

    # A period without activity: no rows, zero figures
    quiet = "from=2020-01-01&to=2020-01-31&" + docs
    for group in ("partner", "day"):
        empty = call("GET", "/api/v1/reports/breakdown?group_by=%s&%s" % (group, quiet), 200, key=admin)
        assert (empty["data"], empty["total_rows"], empty["has_more"]) == ([], 0, False), empty
    nothing = call("GET", "/api/v1/reports/summary?" + quiet, 200, key=admin)
    assert nothing["leads"] == 0 and nothing["commissions"] == [] and nothing["average_deal_size"] is None, nothing
    assert nothing["time_to_conversion"] == {"conversions": 0, "mean_seconds": None, "median_seconds": None}

    # The partner portal: self sign-up, as each program allows it (off, review or open), in a program of its own
    portal = call("POST", "/api/v1/programs", 201, key=admin,
                  body={"name": "Docs portal", "currency": "usd", "partner_signup": "off"})
    assert portal["partner_signup"] == "off", portal
    signup = "/api/v1/portal/signup"
    applicant = {"program_id": portal["id"], "name": " Pat Applicant ", "email": "Pat@Applicant.example",
                 "password": "correct horse battery", "company": "Applicant Co", "website": "https://pat.example",
                 "message": "We write about tools for agencies."}
    call("POST", signup, 403, body=applicant)
    assert call.last.json["error"]["field"] == "program_id", call.last.json
    call("PATCH", "/api/v1/programs/" + portal["id"], 200, key=admin, body={"partner_signup": "review"})
    assert call.last.json["partner_signup"] == "review", call.last.json
    joined = call("POST", signup, 201, body=applicant)
    pat = joined["partner"]
    assert joined["next"] == "wait_for_approval" and (pat["status"], pat["kind"]) == ("applied", "affiliate"), joined
    assert (pat["program_id"], pat["name"], pat["email"], pat["company"], pat["currency"]) == (
        portal["id"], "Pat Applicant", "pat@applicant.example", "Applicant Co", "usd"), pat
    assert pat["metadata"] == {"signup": "portal", "website": "https://pat.example",
                               "message": "We write about tools for agencies."}, pat
    assert (joined["user"]["role"], joined["user"]["email"], joined["user"]["partner_id"]) == (
        "partner", "pat@applicant.example", pat["id"]), joined["user"]
    cookies = [harness.parse_set_cookie(v) for v in call.last.headers_all("Set-Cookie")]
    signed_in = {"Cookie": "refd_session=" + [v for n, v, _ in cookies if n == "refd_session"][0]}
    who = call("GET", "/api/v1/auth/session", 200, headers=signed_in)
    assert (who["role"], who["partner_id"], who["csrf_token"]) == ("partner", pat["id"], joined["csrf_token"]), who
    assert call("GET", "/api/v1/reports/queues?program_id=" + portal["id"], 200,
                key=admin)["partners_awaiting_approval"] == 1
    call("POST", signup, 409, body=dict(applicant, email="PAT@applicant.example", name="Pat again"))
    assert call.last.json["error"]["field"] == "email", call.last.json
    for body, field in [(dict(applicant, password="too short"), "password"), (dict(applicant, name=" "), "name"),
                        (dict(applicant, email="pat at applicant"), "email"),
                        (dict(applicant, program_id="prg_none"), "program_id"),
                        ({k: v for k, v in applicant.items() if k != "program_id"}, "program_id")]:  # 3 programs
        call("POST", signup, 400, body=body)
        assert call.last.json["error"]["field"] == field, (body, call.last.json)
    call("PATCH", "/api/v1/programs/" + portal["id"], 200, key=admin, body={"partner_signup": "open"})
    welcome = call("POST", signup, 201, body={"program_id": portal["id"], "name": "Sam", "email": "sam@open.example",
                                               "password": "correct horse battery", "company": None,
                                               "website": None, "message": None})
    assert welcome["next"] == "welcome" and welcome["partner"]["status"] == "active", welcome
    assert welcome["partner"]["company"] is None, welcome
    # Sam's recruitment link: the program comes with the code, and the new partner names Sam its recruiter. An
    # applicant's code (Pat's) recruits nobody (403), and a code that is no partner's is refused (400).
    sam = welcome["partner"]
    assert sam["recruitment_url"].endswith("/portal?recruiter=" + sam["recruitment_code"]), sam
    assert pat["recruitment_url"] is None and pat["recruitment_code"], pat
    recruit = {"name": "Rex Recruit", "email": "rex@open.example", "password": "correct horse battery"}
    rex = call("POST", signup, 201, body=dict(recruit, recruitment_code=sam["recruitment_code"]))
    assert rex["partner"]["recruited_by_id"] == sam["id"] and rex["partner"]["program_id"] == portal["id"], rex
    for code, status in [(pat["recruitment_code"], 403), ("zzzzzzzzzzzz", 400)]:
        call("POST", signup, status, body=dict(recruit, email="rex2@open.example", recruitment_code=code))
        assert call.last.json["error"]["field"] == "recruitment_code", call.last.json
    # At most ten sign-ups from one address in 15 minutes (these three included); only sign-ups that succeed count
    for n in range(7):
        call("POST", signup, 201, body=dict(applicant, email="crowd%d@open.example" % n))
    call("POST", signup, 429, body=dict(applicant, email="one-too-many@open.example"))
    assert call.last.header("Retry-After"), call.last.headers

    # Password reset by a one-time link, which refd mails, or (no SMTP server here) writes to its log; the same
    # answer for every email
    reset = "/api/v1/auth/password-reset"
    call("POST", reset, 400, body={"email": "not an email"})
    assert call.last.json["error"]["field"] == "email", call.last.json

    def reset_links(want=0):
        """The reset links in the log: the mail sender writes them a moment after the answer."""
        deadline = time.time() + 10
        while True:
            got = [line for line in srv.logs() if line.get("msg") == "password reset link"]
            if len(got) >= want or time.time() > deadline:
                return got
            time.sleep(0.02)

    nobody = call("POST", reset, 202, body={"email": "nobody@applicant.example"})
    assert reset_links() == [], reset_links()
    asked = call("POST", reset, 202, body={"email": " PAT@applicant.example"})
    assert asked == nobody and asked["accepted"] is True, (asked, nobody)
    call("POST", reset, 202, body={"email": "a@example.org"})  # an admin: the link opens the admin UI
    links = reset_links(2)
    assert [(l["email"], l["expires_in_minutes"]) for l in links] == [("pat@applicant.example", 60),
                                                                       ("a@example.org", 60)], links
    assert "/portal#reset=" in links[0]["url"] and "/app#reset=" in links[1]["url"], links
    token = links[0]["url"].split("#reset=", 1)[1]
    confirm = reset + "/confirm"
    for body, field in [({"token": token, "password": "too short"}, "password"),
                        ({"token": token + "x", "password": "a brand new secret"}, "token"),
                        ({"password": "a brand new secret"}, "token"), ({"token": token}, "password")]:
        call("POST", confirm, 400, body=body)
        assert call.last.json["error"]["field"] == field, (body, call.last.json)
    done = call("POST", confirm, 200, body={"token": token, "password": "a brand new secret"})
    assert done == {"reset": True, "email": "pat@applicant.example"}, done
    call("POST", confirm, 400, body={"token": token, "password": "yet another secret"})  # once only
    assert call.last.json["error"]["field"] == "token", call.last.json
    call("GET", "/api/v1/auth/session", 401, headers=signed_in)  # every session of the account ended
    call("POST", "/api/v1/auth/login", 401, body={"email": "pat@applicant.example",
                                                  "password": "correct horse battery"})
    call("POST", "/api/v1/auth/login", 200, body={"email": "pat@applicant.example", "password": "a brand new secret"})

    # Mail: a partner's notification settings, the one-click unsubscribe of its optional mail, an admin's
    # settings, the transport, a test message and the outbox
    pat_key = srv.admin_key(role="partner", partner=pat["id"], name="pat")
    mine = call("GET", "/api/v1/notifications", 200, key=pat_key)
    assert mine["subject_id"] == pat["id"] and mine["transport"] == "log", mine
    assert {c["category"]: c["enabled"] for c in mine["categories"] if c["optional"]} == {
        "commissions_digest": True, "deal_reminder": True, "payout": True}, mine
    off = call("PATCH", "/api/v1/notifications", 200, key=pat_key, body={"payout": False})
    assert [c["enabled"] for c in off["categories"] if c["category"] == "payout"] == [False], off
    call("PATCH", "/api/v1/notifications", 400, key=pat_key, body={"admin_digest": False})
    assert call.last.json["error"]["field"] == "admin_digest", call.last.json
    call("GET", "/api/v1/notifications", 403, key=admin)  # an API key is no person
    call("GET", "/api/v1/mail/settings", 403, key=pat_key)
    settings = call("GET", "/api/v1/mail/settings", 200, key=admin)
    assert settings["transport"] == "log" and settings["smtp"] is None, settings
    test = call("POST", "/api/v1/mail/test", 202, key=admin, body={"to": "ops@example.org"})
    call("POST", "/api/v1/mail/test", 400, key=admin)  # an API key has no address of its own
    assert call.last.json["error"]["field"] == "to", call.last.json
    listed = call("GET", "/api/v1/mail/messages?category=test&status=pending&recipient=OPS@example.org&limit=5",
                  200, key=admin)
    assert [m["id"] for m in listed["data"]] in ([test["id"]], []), listed
    call("GET", "/api/v1/mail/messages?status=lost", 400, key=admin)
    one = call("GET", "/api/v1/mail/messages/" + test["id"], 200, key=admin)
    assert one["subject"] == "Test message from refd" and "no SMTP server configured" in one["text"], one
    call("GET", "/api/v1/mail/messages/msg_none", 404, key=admin)
    resets = call("GET", "/api/v1/mail/messages?category=password_reset", 200, key=admin)["data"]
    assert resets and all(m["sealed"] and m["link"] is None for m in resets), resets
    previews = call("GET", "/api/v1/mail/previews", 200, key=admin)
    assert len(previews["data"]) == 12 and not previews["has_more"], previews
    call("GET", "/api/v1/mail/previews", 403, key=pat_key)
    for p in previews["data"]:
        full = call("GET", "/api/v1/mail/previews/" + p["kind"], 200, key=admin)
        assert full["subject"] == p["subject"] and full["text"] and full["html"], (p, full)
    call("GET", "/api/v1/mail/previews/payout?partner_id=" + pat["id"], 200, key=admin)
    call("GET", "/api/v1/mail/previews/payout?partner_id=someone", 400, key=admin)
    assert call.last.json["error"]["field"] == "partner_id", call.last.json
    call("GET", "/api/v1/mail/previews/newsletter", 404, key=admin)
    # The unsubscribe link of an optional message: its page, then the one-click POST (no session, no CSRF)
    token = "%s.commissions_digest.%s" % (pat["id"], "0" * 64)
    call("GET", "/api/v1/unsubscribe?token=" + token, 400)
    assert call.last.header("Content-Type").startswith("text/html"), call.last.headers
    call("POST", "/api/v1/unsubscribe?token=" + token, 400, raw="List-Unsubscribe=One-Click",
         headers={"Content-Type": "application/x-www-form-urlencoded"})
    digest_token = mail_token(srv, pat["id"], "commissions_digest")
    call("GET", "/api/v1/unsubscribe?token=" + digest_token, 200)
    assert "pat@applicant.example" in call.last.body and 'method="post"' in call.last.body, call.last.body
    call("POST", "/api/v1/unsubscribe?token=" + digest_token, 200, raw="List-Unsubscribe=One-Click",
         headers={"Content-Type": "application/x-www-form-urlencoded"})
    call("POST", "/api/v1/unsubscribe?token=" + digest_token, 400, body={"List-Unsubscribe": "One-Click"})
    assert call.last.json["error"]["field"] == "Content-Type", call.last.json
    assert [c["enabled"] for c in call("GET", "/api/v1/notifications", 200, key=pat_key)["categories"]
            if c["category"] == "commissions_digest"] == [False]

    assert not call.uncovered(), "operations whose success answer was not checked: %s" % call.uncovered()
