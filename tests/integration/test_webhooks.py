# SPDX-License-Identifier: Apache-2.0
"""Outgoing webhooks, end to end, into a real receiver in Node that verifies every delivery with the npm
`standardwebhooks` library and with `svix`'s verifier: every event type refd can make arrives signed, in the Standard
Webhooks shape (webhook-id the event's id, the same on every retry); endpoints (validation, the types and program they
want, the secret shown once and stored sealed, rotation with a day when both secrets sign); retries after errors and
timeouts with growing delays (the test clock), giving up after the last attempt, an endpoint disabled after days of
failures or a 410; the test event, resend, replay and the delivery log; and the address guard of a server without
--webhook-allow-private, which refuses loopback, private and link-local targets at delivery and http:// at
creation."""
import atexit
import collections
import datetime
import ipaddress
import json
import socket
import time

from harness import DB_KIND, Refd, db_raw, db_rows, db_write, expect
from receiver import Receiver

DAY = 86400 * 1000
HOUR = 3600 * 1000
HOOKS = "/api/v1/webhook-endpoints"
# Every type the OpenAPI document lists for Event.type; the module must see each arrive signed (see the last test).
SEEN_TYPES = set()


def make_server():
    # Deliveries may go to the receiver on 127.0.0.1 (http://); an attempt that hangs gives up after 1.5 s; the jobs
    # run when the test clock moves; events are kept long enough for the days the clock moves.
    return Refd(extra_args=["--webhook-allow-private", "--webhook-timeout-ms", "1500", "--webhook-poll-ms", "50",
                            "--jobs-interval-ms", "86400000", "--event-retention-days", "3650"]).start()


def setup(srv):
    rc = Receiver()
    atexit.register(rc.stop)
    admin = srv.admin_key()
    prog = expect(srv.post("/api/v1/programs", {"name": "Hooks", "currency": "usd", "holding_period_days": 0,
                                                "protection_days": 10}, key=admin), 201)["id"]
    expect(srv.post("/api/v1/plans", {"program_id": prog, "name": "Base", "default": True,
                                      "rules": {"sale_bps": 1000}}, key=admin), 201)
    doc = expect(srv.get("/api/openapi.json"), 200)
    return {"admin": admin, "prog": prog, "rc": rc, "clock": 0,
            "all_types": set(doc["components"]["schemas"]["Event"]["properties"]["type"]["enum"])}


# ---- helpers ----

def ms_of(text):
    return int(datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def set_offset(srv, ctx, offset):
    assert offset >= ctx["clock"], "the clock only moves forward"
    ctx["clock"] = int(offset)
    # The receiver first: for a moment after its move it takes deliveries signed at the time before it too.
    ctx["rc"].configure(clock_offset_ms=ctx["clock"])
    srv.set_clock(ctx["clock"])


def move_clock(srv, ctx, ms):
    set_offset(srv, ctx, ctx["clock"] + ms)


def goto(srv, ctx, at_ms):
    """Moves refd's clock to just past at_ms (refd's time)."""
    set_offset(srv, ctx, max(ctx["clock"], at_ms - time.time() * 1000 + 20))


def endpoint(srv, ctx, path, types=("*",), program=None, behaviour=None, **more):
    body = dict({"url": ctx["rc"].url(path), "event_types": list(types)}, **more)
    if program:
        body["program_id"] = program
    ep = expect(srv.post(HOOKS, body, key=ctx["admin"]), 201)
    ctx["rc"].configure(secrets={path: [ep["secret"]]}, behaviour={path: behaviour or {}})
    return ep


def deliveries(srv, ctx, ep, query=""):
    out, after = [], None
    while True:
        page = expect(srv.get("%s/%s/deliveries?limit=100%s%s" % (HOOKS, ep["id"], query,
                                                                   "&starting_after=" + after if after else ""),
                              key=ctx["admin"]), 200)
        out += page["data"]
        if not page["has_more"]:
            return out
        after = page["data"][-1]["id"]


def wait_deliveries(srv, ctx, ep, pred, timeout=20, what="deliveries"):
    deadline = time.time() + timeout
    while True:
        got = deliveries(srv, ctx, ep)
        if pred(got):
            return got
        if time.time() > deadline:
            raise AssertionError("%s not reached in %d s: %s" % (what, timeout, json.dumps(got)[:3000]))
        time.sleep(0.05)


def all_events(srv, ctx):
    out, after = [], None
    while True:
        page = expect(srv.get("/api/v1/events?limit=100" + ("&starting_after=" + after if after else ""),
                              key=ctx["admin"]), 200)
        out += page["data"]
        if not page["has_more"]:
            return out
        after = page["data"][-1]["id"]


def event(srv, ctx, evt_id):
    return expect(srv.get("/api/v1/events/" + evt_id, key=ctx["admin"]), 200)


def check_delivery(srv, ctx, rec, n_secrets=1):
    """A delivery as the receiver got it: verified by both libraries, in the Standard Webhooks shape, carrying its
    event as GET /api/v1/events shows it. Returns the body."""
    h = rec["headers"]
    assert rec["method"] == "POST" and h["content-type"] == "application/json", rec
    assert any(rec["verified"]["standardwebhooks"]) and any(rec["verified"]["svix"]), rec
    sigs = h["webhook-signature"].split(" ")
    assert len(sigs) == n_secrets and all(s.startswith("v1,") for s in sigs), h
    body = json.loads(rec["body"])
    assert set(body) == {"type", "timestamp", "data"}, body
    ev = event(srv, ctx, h["webhook-id"])
    assert (body["type"], body["timestamp"], body["data"]) == (ev["type"], ev["created_at"], ev["data"]), (body, ev)
    # The attempt's time, on refd's clock (which the receiver follows; the receiver says which clock verified it).
    assert abs(int(h["webhook-timestamp"]) * 1000 - rec["clock"]) < 5000, (h, rec["clock"])
    SEEN_TYPES.add(body["type"])
    return body


def types_received(rc, path):
    return [json.loads(r["body"])["type"] for r in rc.received(path)]


# ---- every event, signed ----

def test_every_event_type_arrives_signed(srv, ctx):
    admin, prog, rc = ctx["admin"], ctx["prog"], ctx["rc"]
    before = {e["id"] for e in all_events(srv, ctx)}
    ep = endpoint(srv, ctx, "/all", description="everything")
    # Partners: an application approved, one rejected, one added active, recruited, suspended, reactivated, banned.
    applied = expect(srv.post("/api/v1/portal/signup", {"program_id": prog, "name": "Applicant",
                                                        "email": "applicant@hooks.example",
                                                        "password": "a long enough password"}), 201)["partner"]["id"]
    expect(srv.post("/api/v1/partners/%s/activate" % applied, key=admin), 200)
    other = expect(srv.post("/api/v1/portal/signup", {"program_id": prog, "name": "Refused",
                                                      "email": "refused@hooks.example",
                                                      "password": "a long enough password"}), 201)["partner"]["id"]
    expect(srv.post("/api/v1/partners/%s/ban" % other, {"reason": "not a fit"}, key=admin), 200)
    ptn = expect(srv.post("/api/v1/partners", {"program_id": prog, "name": "Hooked", "email": "hooked@hooks.example"},
                          key=admin), 201)["id"]
    rec = expect(srv.post("/api/v1/partners", {"program_id": prog, "name": "Recruit", "email": "rec@hooks.example",
                                               "recruited_by_id": ptn}, key=admin), 201)["id"]
    expect(srv.post("/api/v1/partners/%s/suspend" % rec, {"reason": "checking"}, key=admin), 200)
    expect(srv.post("/api/v1/partners/%s/activate" % rec, key=admin), 200)
    expect(srv.post("/api/v1/partners/%s/ban" % rec, {"reason": "fraud"}, key=admin), 200)
    # Links.
    link = expect(srv.post("/api/v1/links", {"partner_id": ptn, "destination_url": "https://shop.example/"},
                           key=admin), 201)["id"]
    expect(srv.patch("/api/v1/links/" + link, {"archived": True}, key=admin), 200)
    # Leads and deal registrations: one approved (it expires later), one rejected.
    lead = expect(srv.post("/api/v1/leads", {"program_id": prog, "email": "buyer@hooks.example", "partner_id": ptn},
                           key=admin), 201)["id"]
    expect(srv.post("/api/v1/leads/%s/status" % lead, {"status": "contacted"}, key=admin), 200)
    pkey = srv.admin_key(role="partner", partner=ptn, name="dealer")
    deal = expect(srv.post("/api/v1/leads", {"email": "cto@deal.example", "company": "Deal Co"}, key=pkey), 201)["id"]
    expect(srv.post("/api/v1/leads/%s/approve" % deal, key=admin), 200)
    nodeal = expect(srv.post("/api/v1/leads", {"email": "cfo@nodeal.example", "company": "No Deal Co"}, key=pkey),
                    201)["id"]
    expect(srv.post("/api/v1/leads/%s/reject" % nodeal, {"reason": "known"}, key=admin), 200)
    # Sales, a refund and a dispute; commissions approved, held, rejected, reversed and paid.
    sales = [expect(srv.post("/api/v1/sales", {"program_id": prog, "lead_id": lead, "external_id": "inv-h-%d" % i,
                                               "amount": {"amount": 10000, "currency": "usd"}}, key=admin), 201)
             for i in range(4)]
    coms = [s["commissions"][0]["id"] for s in sales]
    expect(srv.post("/api/v1/refunds", {"sale_id": sales[0]["id"], "amount": {"amount": 2000, "currency": "usd"},
                                        "external_id": "re-h-1"}, key=admin), 201)
    expect(srv.post("/api/v1/refunds", {"sale_id": sales[1]["id"], "kind": "dispute", "external_id": "dp-h-1"},
                    key=admin), 201)
    expect(srv.post("/api/v1/commissions/%s/hold" % coms[2], {"reason": "checking"}, key=admin), 200)
    expect(srv.post("/api/v1/commissions/%s/reject" % coms[2], {"reason": "fraud"}, key=admin), 200)
    expect(srv.post("/api/v1/commissions/%s/approve" % coms[0], key=admin), 200)
    # A second partner's sale, so that a run pays one item and fails the other.
    ptn2 = expect(srv.post("/api/v1/partners", {"program_id": prog, "name": "Second", "email": "second@hooks.example"},
                           key=admin), 201)["id"]
    sale2 = expect(srv.post("/api/v1/sales", {"program_id": prog, "email": "b2@hooks.example", "partner_id": ptn2,
                                              "external_id": "inv-h-9", "amount": {"amount": 5000, "currency": "usd"}},
                            key=admin), 201)
    expect(srv.post("/api/v1/commissions/%s/approve" % sale2["commissions"][0]["id"], key=admin), 200)
    run = expect(srv.post("/api/v1/payout-runs", {"program_id": prog}, key=admin), 201)
    expect(srv.post("/api/v1/payout-runs/%s/approve" % run["id"], key=admin), 200)
    items = {it["partner_id"]: it["id"] for it in run["items"]}
    expect(srv.post("/api/v1/payout-runs/%s/items/%s/mark-failed" % (run["id"], items[ptn2]),
                    {"reason": "account closed"}, key=admin), 200)
    expect(srv.post("/api/v1/payout-runs/%s/items/%s/mark-paid" % (run["id"], items[ptn]), {"reference": "w-1"},
                    key=admin), 200)
    again = expect(srv.post("/api/v1/payout-runs", {"program_id": prog}, key=admin), 201)
    expect(srv.post("/api/v1/payout-runs/%s/cancel" % again["id"], key=admin), 200)
    # The test event, and the registration's protection running out (10 days).
    expect(srv.post("%s/%s/test" % (HOOKS, ep["id"]), key=admin), 202)
    move_clock(srv, ctx, 11 * DAY)

    rc.wait_for(lambda g: "deal.expired" in [json.loads(r["body"])["type"] for r in g if r["path"] == "/all"],
                what="deal.expired")
    # Every event since the endpoint was made (the test event too) arrives once, and nothing else does.
    want = {e["id"] for e in all_events(srv, ctx)} - before
    got = rc.wait_for(lambda g: len([r for r in g if r["path"] == "/all"]) >= len(want), what="%d events" % len(want))
    mine = [r for r in got if r["path"] == "/all"]
    ids = [r["headers"]["webhook-id"] for r in mine]
    assert len(ids) == len(set(ids)), "an event delivered twice without a failure"
    assert set(ids) == want, (sorted(want - set(ids)), sorted(set(ids) - want))
    for r in mine:
        check_delivery(srv, ctx, r)
    types = set(types_received(rc, "/all"))
    want_types = ctx["all_types"] - {"webhook_endpoint.disabled"}
    assert types == want_types, "missing: %s; unexpected: %s" % (sorted(want_types - types), sorted(types - want_types))
    # The log says the same: each delivered at its first attempt, with the answer's first bytes.
    log = deliveries(srv, ctx, ep)
    assert len(log) == len(mine) and {d["event_id"] for d in log} == set(ids), log
    for d in log:
        assert (d["status"], d["attempt_count"], d["last_status_code"], d["next_attempt_at"]) == (
            "delivered", 1, 200, None), d
        assert d["attempts"][0]["status_code"] == 200 and d["attempts"][0]["response"] == "ok", d
        assert d["attempts"][0]["error"] is None and d["attempts"][0]["latency_ms"] >= 0, d
    assert {d["event_type"] for d in log} == types
    expect(srv.delete("%s/%s" % (HOOKS, ep["id"]), key=admin), 200)


# ---- endpoints ----

def test_endpoints_are_validated_and_kept(srv, ctx):
    admin, prog, rc = ctx["admin"], ctx["prog"], ctx["rc"]
    good = {"url": rc.url("/crud"), "event_types": ["lead.created"]}
    for body, field in [({"event_types": ["*"]}, "url"), ({"url": rc.url("/x")}, "event_types"),
                        (dict(good, url="ftp://hooks.example/x"), "url"), (dict(good, url="hooks.example/x"), "url"),
                        (dict(good, url="https://user:pw@hooks.example/"), "url"),
                        (dict(good, url="https://hooks.example/#frag"), "url"),
                        (dict(good, event_types=[]), "event_types"),
                        (dict(good, event_types=["lead.made"]), "event_types"),
                        (dict(good, event_types=["*", "lead.created"]), "event_types"),
                        (dict(good, event_types=["lead.created", "lead.created"]), "event_types"),
                        (dict(good, event_types="lead.created"), "event_types"),
                        (dict(good, program_id="prg_none"), "program_id"),
                        (dict(good, secret="whsec_mine"), "secret")]:
        r = srv.post(HOOKS, body, key=admin)
        expect(r, 400, field=field)
    assert "lead.made" in srv.post(HOOKS, dict(good, event_types=["lead.made"]), key=admin).json["error"]["message"]
    assert db_rows(srv, "SELECT count(*) AS n FROM webhook_endpoints")[0]["n"] == 0
    # Created: the secret is shown once, stored sealed, never shown again.
    ep = expect(srv.post(HOOKS, dict(good, program_id=prog, description=" CRM sync "), key=admin), 201)
    assert ep["id"].startswith("wh_") and ep["object"] == "webhook_endpoint", ep
    assert (ep["url"], ep["event_types"], ep["program_id"], ep["description"], ep["status"]) == (
        rc.url("/crud"), ["lead.created"], prog, "CRM sync", "enabled"), ep
    assert ep["secret"].startswith("whsec_") and len(ep["secret"]) == 50, ep
    assert ep["disabled_reason"] is None and ep["failing_since"] is None and ep["previous_secret_expires_at"] is None
    got = expect(srv.get("%s/%s" % (HOOKS, ep["id"]), key=admin), 200)
    assert "secret" not in got and got == {k: v for k, v in ep.items() if k != "secret"}, got
    assert ep["secret"].encode() not in db_raw(srv), "the secret is stored in clear"
    # Changed member by member; null takes the program and the description away.
    p2 = expect(srv.post("/api/v1/programs", {"name": "Other", "currency": "eur"}, key=admin), 201)["id"]
    for body, check in [({"url": rc.url("/crud2")}, ("url", rc.url("/crud2"))),
                        ({"event_types": ["*"]}, ("event_types", ["*"])), ({"program_id": p2}, ("program_id", p2)),
                        ({"program_id": None}, ("program_id", None)), ({"description": None}, ("description", None)),
                        ({"status": "disabled"}, ("status", "disabled")), ({"status": "enabled"}, ("status", "enabled"))]:
        got = expect(srv.patch("%s/%s" % (HOOKS, ep["id"]), body, key=admin), 200)
        assert got[check[0]] == check[1], (body, got)
    for body, field in [({"status": "paused"}, "status"), ({"url": "http//x"}, "url"),
                        ({"event_types": ["nope"]}, "event_types"), ({"program_id": "prg_none"}, "program_id"),
                        ({"url": None}, "url"), ({"secret": "x"}, "secret")]:
        expect(srv.patch("%s/%s" % (HOOKS, ep["id"]), body, key=admin), 400, field=field)
    assert expect(srv.get("%s/%s" % (HOOKS, ep["id"]), key=admin), 200)["url"] == rc.url("/crud2")
    # Listed newest first, in pages; admins only.
    more = [expect(srv.post(HOOKS, good, key=admin), 201)["id"] for _ in range(3)]
    page = expect(srv.get(HOOKS + "?limit=2", key=admin), 200)
    assert [e["id"] for e in page["data"]] == more[::-1][:2] and page["has_more"], page
    page = expect(srv.get(HOOKS + "?limit=2&starting_after=" + more[1], key=admin), 200)
    assert [e["id"] for e in page["data"]] == [more[0], ep["id"]] and not page["has_more"], page
    assert all("secret" not in e for e in page["data"])
    pkey = srv.admin_key(role="partner", partner=expect(srv.post(
        "/api/v1/partners", {"program_id": prog, "name": "Nosy", "email": "nosy@hooks.example"}, key=admin),
        201)["id"], name="nosy")
    expect(srv.get(HOOKS, key=pkey), 403)
    expect(srv.post(HOOKS, good, key=pkey), 403)
    expect(srv.get(HOOKS), 401)
    # Deleted with its deliveries.
    expect(srv.post("%s/%s/test" % (HOOKS, ep["id"]), key=admin), 202)
    for i in more + [ep["id"]]:
        gone = expect(srv.delete("%s/%s" % (HOOKS, i), key=admin), 200)
        assert gone == {"id": i, "object": "webhook_endpoint", "deleted": True}, gone
    expect(srv.get("%s/%s" % (HOOKS, ep["id"]), key=admin), 404, field="id")
    expect(srv.delete("%s/%s" % (HOOKS, ep["id"]), key=admin), 404)
    assert db_rows(srv, "SELECT count(*) AS n FROM deliveries WHERE target_id = ?", (ep["id"],))[0]["n"] == 0
    actions = [r["action"] for r in db_rows(srv, "SELECT action FROM audit_log WHERE object_id = ? ORDER BY seq",
                                            (ep["id"],))]
    assert actions == ["webhook_endpoint.create"] + ["webhook_endpoint.update"] * 7 + [
        "webhook_endpoint.test", "webhook_endpoint.delete"], actions


def test_endpoints_get_the_types_and_program_they_want(srv, ctx):
    admin, prog, rc = ctx["admin"], ctx["prog"], ctx["rc"]
    p2 = expect(srv.post("/api/v1/programs", {"name": "Elsewhere", "currency": "usd"}, key=admin), 201)["id"]
    leads_here = endpoint(srv, ctx, "/leads-here", types=["lead.created"], program=prog)
    sales_any = endpoint(srv, ctx, "/sales-any", types=["sale.created", "lead.converted"])
    off = endpoint(srv, ctx, "/off")
    expect(srv.patch("%s/%s" % (HOOKS, off["id"]), {"status": "disabled"}, key=admin), 200)
    # A change refused (rolled back) sends nothing.
    expect(srv.post("/api/v1/leads", {"program_id": prog, "email": "not an email"}, key=admin), 400)
    expect(srv.post("/api/v1/leads", {"program_id": prog, "email": "here@hooks.example"}, key=admin), 201)
    expect(srv.post("/api/v1/leads", {"program_id": p2, "email": "there@hooks.example"}, key=admin), 201)
    expect(srv.post("/api/v1/sales", {"program_id": p2, "email": "there@hooks.example", "external_id": "inv-there",
                                      "amount": {"amount": 100, "currency": "usd"}}, key=admin), 201)
    rc.wait_for(lambda g: len([r for r in g if r["path"] == "/sales-any"]) >= 2)
    time.sleep(0.3)  # anything else on its way would have arrived
    assert types_received(rc, "/leads-here") == ["lead.created"]
    assert json.loads(rc.received("/leads-here")[0]["body"])["data"]["program_id"] == prog
    assert sorted(types_received(rc, "/sales-any")) == ["lead.converted", "sale.created"]
    assert rc.received("/off") == [] and deliveries(srv, ctx, off) == []
    for r in rc.received("/leads-here") + rc.received("/sales-any"):
        check_delivery(srv, ctx, r)
    # The test event goes to the one endpoint asked, whatever the others want; a disabled one refuses it.
    t = expect(srv.post("%s/%s/test" % (HOOKS, leads_here["id"]), key=admin), 202)
    assert (t["object"], t["event_type"], t["status"], t["endpoint_id"]) == (
        "webhook_delivery", "webhook.test", "pending", leads_here["id"]), t
    rc.wait_for(lambda g: "webhook.test" in [json.loads(r["body"])["type"] for r in g if r["path"] == "/leads-here"])
    test_body = check_delivery(srv, ctx, rc.received("/leads-here")[-1])
    assert test_body["data"]["id"] == leads_here["id"] and test_body["data"]["object"] == "webhook_endpoint"
    assert "secret" not in test_body["data"]
    expect(srv.post("%s/%s/test" % (HOOKS, off["id"]), key=admin), 409, field="status")
    time.sleep(0.2)
    assert "webhook.test" not in types_received(rc, "/sales-any")
    for ep in (leads_here, sales_any, off):
        expect(srv.delete("%s/%s" % (HOOKS, ep["id"]), key=admin), 200)


# ---- retries ----

def test_retries_back_off_and_keep_the_webhook_id(srv, ctx):
    admin, prog, rc = ctx["admin"], ctx["prog"], ctx["rc"]
    # No answer at first (the attempt times out), then errors, then a success.
    ep = endpoint(srv, ctx, "/flaky", types=["lead.created"], behaviour={"hang": True})
    lead = expect(srv.post("/api/v1/leads", {"program_id": prog, "email": "flaky@hooks.example"}, key=admin), 201)
    d = wait_deliveries(srv, ctx, ep, lambda g: g and g[0]["attempt_count"] == 1)[0]
    assert d["status"] == "pending" and d["last_status_code"] is None and "timed out" in d["last_error"], d
    assert d["attempts"][0]["latency_ms"] >= 1400 and d["attempts"][0]["status_code"] is None, d
    failing = expect(srv.get("%s/%s" % (HOOKS, ep["id"]), key=admin), 200)["failing_since"]
    assert failing == d["attempts"][0]["at"], (failing, d)
    rc.configure(behaviour={"/flaky": {"status": 500, "body": "boom " + "x" * 5000}})
    delays = []
    for n in range(2, 5):
        assert d["next_attempt_at"], d
        # From the end of the attempt that failed.
        delays.append(ms_of(d["next_attempt_at"]) - ms_of(d["attempts"][-1]["at"]) - d["attempts"][-1]["latency_ms"])
        if n == 4:
            rc.configure(behaviour={"/flaky": {"status": 204, "body": ""}})
        goto(srv, ctx, ms_of(d["next_attempt_at"]))
        d = wait_deliveries(srv, ctx, ep, lambda g, n=n: g[0]["attempt_count"] == n)[0]
    # 5 s, 5 min, 30 min, each with up to a fifth more as jitter.
    for got, base in zip(delays, (5000, 300000, 1800000)):
        assert base <= got <= base * 1.2 + 1000, delays
    assert (d["status"], d["attempt_count"], d["last_status_code"], d["last_error"]) == ("delivered", 4, 204, None), d
    codes = [a["status_code"] for a in d["attempts"]]
    assert codes == [None, 500, 500, 204], d
    # The first bytes of a long answer, and why each attempt failed.
    assert d["attempts"][1]["response"] == ("boom " + "x" * 5000)[:4096] and d["attempts"][1]["error"] == "HTTP 500"
    assert d["attempts"][3]["error"] is None and d["attempts"][3]["response"] == ""
    # Every attempt carried the event's id, its own time, and verified.
    got = rc.received("/flaky")
    assert len(got) == 4, got
    assert {r["headers"]["webhook-id"] for r in got} == {d["event_id"]}
    assert d["event_id"] == expect(srv.get("/api/v1/events?object_id=" + lead["id"], key=admin), 200)["data"][-1]["id"]
    stamps = [int(r["headers"]["webhook-timestamp"]) for r in got]
    assert stamps == sorted(stamps) and stamps[-1] - stamps[0] >= 2100, stamps
    for r in got:
        check_delivery(srv, ctx, r)
    # A success clears failing_since.
    assert expect(srv.get("%s/%s" % (HOOKS, ep["id"]), key=admin), 200)["failing_since"] is None
    # The log, filtered by status.
    assert [x["id"] for x in deliveries(srv, ctx, ep, "&status=delivered")] == [d["id"]]
    assert deliveries(srv, ctx, ep, "&status=pending") == []
    expect(srv.get("%s/%s/deliveries?status=lost" % (HOOKS, ep["id"]), key=admin), 400, field="status")
    expect(srv.get("%s/wh_none/deliveries" % HOOKS, key=admin), 404)
    expect(srv.delete("%s/%s" % (HOOKS, ep["id"]), key=admin), 200)


def test_a_delivery_fails_after_its_last_attempt(srv, ctx):
    admin, prog, rc = ctx["admin"], ctx["prog"], ctx["rc"]
    ep = endpoint(srv, ctx, "/dead", types=["lead.created"], behaviour={"status": 503, "body": "down"})
    expect(srv.post("/api/v1/leads", {"program_id": prog, "email": "dead@hooks.example"}, key=admin), 201)
    d = wait_deliveries(srv, ctx, ep, lambda g: g and g[0]["attempt_count"] == 1)[0]
    first = ms_of(d["attempts"][0]["at"])
    for n in range(2, 11):
        goto(srv, ctx, ms_of(d["next_attempt_at"]))
        d = wait_deliveries(srv, ctx, ep, lambda g, n=n: g[0]["attempt_count"] == n)[0]
    assert (d["status"], d["attempt_count"], d["next_attempt_at"], d["last_status_code"]) == (
        "failed", 10, None, 503), d
    span = ms_of(d["attempts"][-1]["at"]) - first
    # The schedule spans about three days (75 h 35 min without the jitter, up to a fifth more with it).
    assert 75 * HOUR <= span <= 91 * HOUR, span / HOUR
    assert len(rc.received("/dead")) == 10
    # Less than five days of failures: the endpoint stays, failing since the first attempt.
    got = expect(srv.get("%s/%s" % (HOOKS, ep["id"]), key=admin), 200)
    assert got["status"] == "enabled" and ms_of(got["failing_since"]) == first, got
    move_clock(srv, ctx, HOUR)
    time.sleep(0.3)
    assert len(rc.received("/dead")) == 10, "a failed delivery is not tried again"
    assert [x["id"] for x in deliveries(srv, ctx, ep, "&status=failed")] == [d["id"]]
    expect(srv.delete("%s/%s" % (HOOKS, ep["id"]), key=admin), 200)


def test_an_endpoint_failing_for_days_is_disabled(srv, ctx):
    admin, prog, rc = ctx["admin"], ctx["prog"], ctx["rc"]
    watch = endpoint(srv, ctx, "/watch", types=["webhook_endpoint.disabled"])
    down = endpoint(srv, ctx, "/down", types=["lead.created"], behaviour={"status": 500})
    expect(srv.post("/api/v1/users", {"email": "ops@hooks.example", "role": "admin",
                                      "password": "a long enough password 1"}, key=admin), 201)
    t0 = time.time() * 1000 + ctx["clock"]
    expect(srv.post("/api/v1/leads", {"program_id": prog, "email": "down1@hooks.example"}, key=admin), 201)
    wait_deliveries(srv, ctx, down, lambda g: g and g[0]["attempt_count"] == 1)
    failing = ms_of(expect(srv.get("%s/%s" % (HOOKS, down["id"]), key=admin), 200)["failing_since"])
    # Two days on, another lead fails too; failing_since stays where the failures began.
    move_clock(srv, ctx, 2 * DAY)
    expect(srv.post("/api/v1/leads", {"program_id": prog, "email": "down2@hooks.example"}, key=admin), 201)
    wait_deliveries(srv, ctx, down, lambda g: len(g) == 2 and all(x["attempt_count"] >= 1 for x in g))
    got = expect(srv.get("%s/%s" % (HOOKS, down["id"]), key=admin), 200)
    assert got["status"] == "enabled" and ms_of(got["failing_since"]) == failing, got
    # Five days after the first failure, the next failed attempt disables it.
    goto(srv, ctx, failing + 5 * DAY + HOUR)
    got = None
    deadline = time.time() + 20
    while time.time() < deadline:
        got = expect(srv.get("%s/%s" % (HOOKS, down["id"]), key=admin), 200)
        if got["status"] == "disabled":
            break
        time.sleep(0.05)
    assert got["status"] == "disabled" and "5 days" in got["disabled_reason"], got
    assert "HTTP 500" in got["disabled_reason"], got
    # The admins are told: an event, delivered like any other (to the endpoint that wants it).
    evs = expect(srv.get("/api/v1/events?type=webhook_endpoint.disabled&object_id=" + down["id"], key=admin),
                 200)["data"]
    assert len(evs) == 1 and evs[0]["data"]["status"] == "disabled" and evs[0]["data"]["id"] == down["id"], evs
    assert "secret" not in evs[0]["data"]
    rc.wait_for(lambda g: any(r["path"] == "/watch" for r in g))
    body = check_delivery(srv, ctx, rc.received("/watch")[0])
    assert body["type"] == "webhook_endpoint.disabled" and body["data"]["id"] == down["id"]
    # ... and by mail, from the sender's own transaction, with a link to the endpoint's page.
    mails = expect(srv.get("/api/v1/mail/messages?category=admin_alert", key=admin), 200)["data"]
    mine = [m for m in mails if m["event_id"] == evs[0]["id"]]
    assert [m["to"]["email"] for m in mine] == ["ops@hooks.example"], mails
    assert all(m["link"].endswith("/app#webhooks/" + down["id"]) for m in mine), mails
    assert all(down["url"] in m["subject"] for m in mine), mine
    # Its deliveries: the one that tipped it failed, the others were cancelled, unsent; nothing new is queued.
    log = deliveries(srv, ctx, down)
    assert sorted(x["status"] for x in log) in (["cancelled", "failed"], ["failed", "failed"]), log
    for x in log:
        if x["status"] == "cancelled":
            assert "disabled" in x["last_error"], x
    sent = len(rc.received("/down"))
    expect(srv.post("/api/v1/leads", {"program_id": prog, "email": "down3@hooks.example"}, key=admin), 201)
    move_clock(srv, ctx, DAY)
    time.sleep(0.3)
    assert len(deliveries(srv, ctx, down)) == 2 and len(rc.received("/down")) == sent
    expect(srv.post("%s/%s/replay" % (HOOKS, down["id"]), {"from": "2000-01-01T00:00:00Z",
                                                           "to": "2100-01-01T00:00:00Z"}, key=admin), 409,
           field="status")
    # Enabled again (it answers now): the reason and failing_since go; a replay sends what it missed.
    rc.configure(behaviour={"/down": {"status": 200}})
    got = expect(srv.patch("%s/%s" % (HOOKS, down["id"]), {"status": "enabled"}, key=admin), 200)
    assert (got["status"], got["disabled_reason"], got["failing_since"]) == ("enabled", None, None), got
    frm = datetime.datetime.fromtimestamp((t0 - 1000) / 1000, datetime.timezone.utc).isoformat()
    to = datetime.datetime.fromtimestamp((time.time() * 1000 + ctx["clock"] + 1000) / 1000,
                                         datetime.timezone.utc).isoformat()
    r = expect(srv.post("%s/%s/replay" % (HOOKS, down["id"]), {"from": frm, "to": to}, key=admin), 202)
    assert (r["object"], r["endpoint_id"], r["queued"]) == ("webhook_replay", down["id"], 3), r
    rc.wait_for(lambda g: len({x["headers"]["webhook-id"] for x in g if x["path"] == "/down" and
                               json.loads(x["body"])["data"]["email"].startswith("down")}) == 3 and
                len([x for x in g if x["path"] == "/down"]) >= sent + 3)
    emails = sorted(json.loads(x["body"])["data"]["email"] for x in rc.received("/down")[sent:])
    assert emails == ["down1@hooks.example", "down2@hooks.example", "down3@hooks.example"], emails
    for x in rc.received("/down"):
        check_delivery(srv, ctx, x)
    for ep in (watch, down):
        expect(srv.delete("%s/%s" % (HOOKS, ep["id"]), key=admin), 200)


def test_a_410_disables_at_once(srv, ctx):
    admin, prog = ctx["admin"], ctx["prog"]
    ep = endpoint(srv, ctx, "/gone", types=["lead.created"], behaviour={"status": 410, "body": "gone"})
    expect(srv.post("/api/v1/leads", {"program_id": prog, "email": "gone@hooks.example"}, key=admin), 201)
    d = wait_deliveries(srv, ctx, ep, lambda g: g and g[0]["status"] != "pending")[0]
    assert (d["status"], d["attempt_count"], d["last_status_code"]) == ("failed", 1, 410), d
    got = expect(srv.get("%s/%s" % (HOOKS, ep["id"]), key=admin), 200)
    assert got["status"] == "disabled" and "410" in got["disabled_reason"], got
    evs = expect(srv.get("/api/v1/events?type=webhook_endpoint.disabled&object_id=" + ep["id"], key=admin), 200)
    assert len(evs["data"]) == 1, evs
    expect(srv.delete("%s/%s" % (HOOKS, ep["id"]), key=admin), 200)


# ---- secrets ----

def test_a_rotated_secret_signs_beside_the_new_one_for_a_day(srv, ctx):
    admin, prog, rc = ctx["admin"], ctx["prog"], ctx["rc"]
    ep = endpoint(srv, ctx, "/rot", types=["lead.created"])
    old = ep["secret"]
    rot = expect(srv.post("%s/%s/rotate-secret" % (HOOKS, ep["id"]), key=admin), 200)
    new = rot["secret"]
    assert new.startswith("whsec_") and new != old, rot
    now = time.time() * 1000 + ctx["clock"]
    assert abs(ms_of(rot["previous_secret_expires_at"]) - (now + DAY)) < 60000, rot
    assert "secret" not in expect(srv.get("%s/%s" % (HOOKS, ep["id"]), key=admin), 200)
    rc.configure(secrets={"/rot": [old, new]})
    expect(srv.post("/api/v1/leads", {"program_id": prog, "email": "rot1@hooks.example"}, key=admin), 201)
    r = rc.wait_for(lambda g: any(x["path"] == "/rot" for x in g))
    r = rc.received("/rot")[0]
    check_delivery(srv, ctx, r, n_secrets=2)
    # Both secrets verify, with both libraries.
    assert r["verified"] == {"standardwebhooks": [True, True], "svix": [True, True]}, r["verified"]
    # A day on, only the new one signs.
    move_clock(srv, ctx, DAY + HOUR)
    assert expect(srv.get("%s/%s" % (HOOKS, ep["id"]), key=admin), 200)["previous_secret_expires_at"] is None
    expect(srv.post("/api/v1/leads", {"program_id": prog, "email": "rot2@hooks.example"}, key=admin), 201)
    rc.wait_for(lambda g: len([x for x in g if x["path"] == "/rot"]) == 2)
    r = rc.received("/rot")[1]
    check_delivery(srv, ctx, r, n_secrets=1)
    assert r["verified"] == {"standardwebhooks": [False, True], "svix": [False, True]}, r["verified"]
    # Rotating twice within the day keeps only the latest previous secret.
    r1 = expect(srv.post("%s/%s/rotate-secret" % (HOOKS, ep["id"]), key=admin), 200)["secret"]
    r2 = expect(srv.post("%s/%s/rotate-secret" % (HOOKS, ep["id"]), key=admin), 200)["secret"]
    rc.configure(secrets={"/rot": [new, r1, r2]})
    expect(srv.post("/api/v1/leads", {"program_id": prog, "email": "rot3@hooks.example"}, key=admin), 201)
    rc.wait_for(lambda g: len([x for x in g if x["path"] == "/rot"]) == 3)
    r = rc.received("/rot")[2]
    check_delivery(srv, ctx, r, n_secrets=2)
    assert r["verified"]["standardwebhooks"] == [False, True, True], r["verified"]
    assert new.encode() not in db_raw(srv) and r2.encode() not in db_raw(srv)
    expect(srv.post("%s/wh_none/rotate-secret" % HOOKS, key=admin), 404)
    expect(srv.delete("%s/%s" % (HOOKS, ep["id"]), key=admin), 200)


# ---- resend and replay ----

def test_resend_and_replay(srv, ctx):
    admin, prog, rc = ctx["admin"], ctx["prog"], ctx["rc"]
    ep = endpoint(srv, ctx, "/again", types=["lead.created", "lead.status_changed"])
    other = endpoint(srv, ctx, "/other", types=["lead.created"])
    t0 = time.time() * 1000 + ctx["clock"]
    leads = [expect(srv.post("/api/v1/leads", {"program_id": prog, "email": "again%d@hooks.example" % i},
                             key=admin), 201)["id"] for i in range(3)]
    expect(srv.post("/api/v1/leads/%s/status" % leads[0], {"status": "contacted"}, key=admin), 200)
    rc.wait_for(lambda g: len([x for x in g if x["path"] == "/again"]) == 4)
    log = wait_deliveries(srv, ctx, ep, lambda g: len(g) == 4 and all(x["status"] == "delivered" for x in g))
    # A resend is a new delivery of the same event: the same webhook-id arrives again.
    d = log[-1]
    again = expect(srv.post("%s/%s/deliveries/%s/resend" % (HOOKS, ep["id"], d["id"]), key=admin), 202)
    assert again["id"] != d["id"] and again["event_id"] == d["event_id"] and again["status"] == "pending", again
    rc.wait_for(lambda g: len([x for x in g if x["path"] == "/again"]) == 5)
    assert rc.received("/again")[-1]["headers"]["webhook-id"] == d["event_id"]
    check_delivery(srv, ctx, rc.received("/again")[-1])
    theirs = wait_deliveries(srv, ctx, other, lambda g: len(g) == 3)[0]
    expect(srv.post("%s/%s/deliveries/%s/resend" % (HOOKS, ep["id"], theirs["id"]), key=admin), 404,
           field="delivery_id")
    expect(srv.post("%s/%s/deliveries/dlv_none/resend" % (HOOKS, ep["id"]), key=admin), 404, field="delivery_id")
    # A replay: every event of the range the endpoint wants (lead.created and lead.status_changed here), or only the
    # types asked for.
    frm = datetime.datetime.fromtimestamp((t0 - 1) / 1000, datetime.timezone.utc).isoformat()
    to = datetime.datetime.fromtimestamp((time.time() * 1000 + ctx["clock"] + 1000) / 1000,
                                         datetime.timezone.utc).isoformat()
    r = expect(srv.post("%s/%s/replay" % (HOOKS, ep["id"]), {"from": frm, "to": to}, key=admin), 202)
    assert r["queued"] == 4, r
    r = expect(srv.post("%s/%s/replay" % (HOOKS, ep["id"]), {"from": frm, "to": to, "types": ["lead.status_changed"]},
                        key=admin), 202)
    assert r["queued"] == 1, r
    rc.wait_for(lambda g: len([x for x in g if x["path"] == "/again"]) == 10)
    # Each event twice (sent, replayed), the resent one once more, the status change once more (replayed alone).
    want = collections.Counter({x["event_id"]: 2 for x in log})
    want[d["event_id"]] += 1
    want[[x["event_id"] for x in log if x["event_type"] == "lead.status_changed"][0]] += 1
    assert collections.Counter(x["headers"]["webhook-id"] for x in rc.received("/again")) == want
    for x in rc.received("/again"):
        check_delivery(srv, ctx, x)
    for body, field in [({"from": to, "to": frm}, "to"), ({"from": frm, "to": frm}, "to"), ({"to": to}, "from"),
                        ({"from": frm}, "to"), ({"from": "yesterday", "to": to}, "from"),
                        ({"from": frm, "to": to, "types": ["lead.nope"]}, "types"),
                        ({"from": frm, "to": to, "types": []}, "types"),
                        ({"from": frm, "to": to, "types": ["*"]}, "types")]:
        expect(srv.post("%s/%s/replay" % (HOOKS, ep["id"]), body, key=admin), 400, field=field)
    # A range of more than 10,000 events for the endpoint is refused whole: nothing is queued.
    base = ms_of("2020-03-01T00:00:00Z")
    err = db_write(srv, "INSERT INTO events (id, type, program_id, object_id, partner_id, data, created_at) "
                        "SELECT 'evt_bulk' || n, 'lead.created', ?, 'lead_bulk', NULL, '{}', ? + n FROM "
                        "(WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 10001) "
                        "SELECT n FROM c) AS s", (prog, base))
    assert err is None, err
    before = db_rows(srv, "SELECT count(*) AS n FROM deliveries")[0]["n"]
    expect(srv.post("%s/%s/replay" % (HOOKS, ep["id"]), {"from": "2020-03-01T00:00:00Z",
                                                         "to": "2020-03-02T00:00:00Z"}, key=admin), 400, field="to")
    assert db_rows(srv, "SELECT count(*) AS n FROM deliveries")[0]["n"] == before
    r = expect(srv.post("%s/%s/replay" % (HOOKS, ep["id"]), {"from": "2020-03-01T00:00:00Z",
                                                             "to": "2020-03-01T00:00:00.011Z"}, key=admin), 202)
    assert r["queued"] == 10, r
    # The other endpoint's program and types: its own replay takes only lead.created.
    r = expect(srv.post("%s/%s/replay" % (HOOKS, other["id"]), {"from": frm, "to": to}, key=admin), 202)
    assert r["queued"] == 3, r
    for e in (ep, other):
        expect(srv.delete("%s/%s" % (HOOKS, e["id"]), key=admin), 200)
    assert db_write(srv, "DELETE FROM events WHERE id LIKE 'evt_bulk%'") is None


def test_all_event_types_were_delivered_and_verified(srv, ctx):
    assert SEEN_TYPES == ctx["all_types"], "never delivered: %s" % sorted(ctx["all_types"] - SEEN_TYPES)


# ---- the address guard ----

def test_internal_addresses_are_refused_without_allow_private(srv, ctx):
    rc = ctx["rc"]
    s = Refd(extra_args=["--webhook-timeout-ms", "2000", "--webhook-poll-ms", "50"]).start()
    try:
        admin = s.admin_key()
        port = rc.port
        # http:// is refused when the endpoint is made; https:// to any host is taken (where it goes is judged
        # on the address connected to, at each delivery).
        r = expect(s.post(HOOKS, {"url": "http://hooks.example/x", "event_types": ["*"]}, key=admin), 400,
                   field="url")
        assert "https" in r["error"]["message"], r
        targets = {"https://127.0.0.1:%d/a" % port: ("127.0.0.1", "loopback"),
                   "https://localhost:%d/b" % port: (None, "loopback"),
                   "https://10.1.2.3/c": ("10.1.2.3", "private"),
                   "https://192.168.1.1/d": ("192.168.1.1", "private"),
                   "https://169.254.169.254/latest/meta-data/": ("169.254.169.254", "link-local"),
                   "https://[::1]:%d/e" % port: ("::1", "loopback"),
                   "https://[::ffff:127.0.0.1]:%d/f" % port: ("::ffff:127.0.0.1", "loopback"),
                   "https://100.64.0.1/g": ("100.64.0.1", "shared"),
                   "https://0.0.0.0:%d/h" % port: ("0.0.0.0", "this network")}
        # The machine's own name too, when it resolves to an internal address (through /etc/hosts or DNS): the guard
        # judges the address the name gives, not the name.
        host = socket.gethostname()
        try:
            addrs = {a[4][0] for a in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)}
        except OSError:
            addrs = set()
        if addrs and all(not ipaddress.ip_address(a).is_global for a in addrs):
            targets["https://%s:%d/i" % (host, port)] = (None, "")
        eps = {url: expect(s.post(HOOKS, {"url": url, "event_types": ["*"]}, key=admin), 201)["id"]
               for url in targets}
        prog = expect(s.post("/api/v1/programs", {"name": "Guard", "currency": "usd"}, key=admin), 201)["id"]
        expect(s.post("/api/v1/partners", {"program_id": prog, "name": "G", "email": "g@guard.example"},
                      key=admin), 201)
        deadline = time.time() + 20
        while True:
            logs = {url: expect(s.get("%s/%s/deliveries" % (HOOKS, i), key=admin), 200)["data"]
                    for url, i in eps.items()}
            if all(l and l[0]["attempt_count"] >= 1 for l in logs.values()) or time.time() > deadline:
                break
            time.sleep(0.05)
        for url, (addr, kind) in targets.items():
            d = logs[url][0]
            err = d["last_error"] or ""
            assert d["attempt_count"] == 1 and d["status"] == "pending" and d["last_status_code"] is None, (url, d)
            assert err.startswith("refused to connect to ") and kind in err and "--webhook-allow-private" in err, (
                url, err)
            if addr:
                assert ("to %s:" % addr) in err, (url, err)
            assert d["attempts"][0]["latency_ms"] < 1000, (url, d)  # refused before any connection, not timed out
        reached = [r for r in rc.received() if r["path"] in ("/a", "/b", "/e", "/f", "/h", "/i")]
        assert not reached, "an address was reached"
    finally:
        s.cleanup()
