# SPDX-License-Identifier: Apache-2.0
"""Attribution of new leads: the precedence explicit > code > click id > cookie (all four present, then removed
one by one), the program's cookie window (with the test clock), last click versus first click along a visitor's
chain of clicks, clicks that must not credit (bots, suspended partners, other programs), agents credited with their
team parent, and codes, clicks and partners of another program."""
import http.client
import socket
from urllib.parse import parse_qsl, urlsplit

from harness import Response, browser_ua, db_counts, db_rows, expect

LEADS = "/api/v1/leads"
PROGRAMS = "/api/v1/programs"
PARTNERS = "/api/v1/partners"
LINKS = "/api/v1/links"
DAY = 86400 * 1000
HOUR = 3600 * 1000
TABLES = ("leads", "lead_events", "audit_log", "idempotency")


def setup(srv):
    admin = srv.admin_key()
    ctx = {"admin": admin, "clock": 0, "n": 0, "ua": 0}
    ctx["prog"] = expect(srv.post(PROGRAMS, {"name": "Main", "currency": "usd"}, key=admin), 201)
    ctx["other"] = expect(srv.post(PROGRAMS, {"name": "Other", "currency": "usd"}, key=admin), 201)

    def partner(name, program="prog", **extra):
        body = {"program_id": ctx[program]["id"], "name": name,
                "email": name.lower().replace(" ", ".") + "@attr.example"}
        body.update(extra)
        p = expect(srv.post(PARTNERS, body, key=admin), 201)
        ctx[name] = p
        return p

    for name in ("Explicit", "Coder", "Clicker", "Cookie", "Suspendable"):
        partner(name)
    org = partner("Org")
    partner("Agent", kind="agent", team_parent_id=org["id"])
    partner("Foreign", program="other")
    for code, owner in (("pc-code", "Coder"), ("pc-click", "Clicker"), ("pc-cookie", "Cookie"),
                        ("pc-susp", "Suspendable"), ("pc-agent", "Agent"), ("pc-org", "Org"),
                        ("pc-foreign", "Foreign")):
        expect(srv.post(LINKS, {"partner_id": ctx[owner]["id"], "code": code,
                                "destination_url": "https://shop.example.com/landing?lang=en"}, key=admin), 201)
    return ctx


# ---- helpers ----

def advance(srv, ctx, ms):
    """Moves refd's clock forward by ms (the offset only ever grows in this module)."""
    ctx["clock"] += int(ms)
    srv.set_clock(ctx["clock"])


def ua(ctx):
    ctx["ua"] += 1
    return browser_ua("attr-visitor-%d" % ctx["ua"])


def visit(srv, ctx, code, prev=None, agent=None, expect_id=True):
    """GET /r/{code} as a fresh visitor (or the visitor whose last click is prev); returns the click id."""
    h = {"User-Agent": agent if agent is not None else ua(ctx)}
    if agent == "":
        h = {}
    if prev:
        h["Cookie"] = "refd_click=" + prev
    r = redirect(srv, code, h)
    assert r.status == 302, r
    loc = r.header("Location")
    assert loc.startswith("https://shop.example.com/landing?"), loc
    cid = dict(parse_qsl(urlsplit(loc).query)).get("refd_click")
    if not expect_id:
        assert cid is None, "an uncredited click must not carry a click id: %s" % loc
        assert not [c for c in r.headers_all("Set-Cookie") if c.startswith("refd_click=")], r.headers
        return None
    assert cid and cid.startswith("clk_"), loc
    cookies = [c for c in r.headers_all("Set-Cookie") if c.startswith("refd_click=")]
    assert len(cookies) == 1 and cookies[0].split(";")[0] == "refd_click=" + cid, r.headers
    return cid


def redirect(srv, code, headers, timeout=10):
    """GET /r/{code}. A redirect answers in milliseconds; waiting the harness's 30 s for one that hangs would only
    slow the suite down, so this fails sooner (after a margin for a loaded machine, where a flush can take a while)."""
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=timeout)
    try:
        conn.request("GET", "/r/" + code, headers=headers)
        try:
            r = conn.getresponse()
        except socket.timeout:
            raise AssertionError("GET /r/%s got no answer within %d s (the click was never acknowledged)"
                                 % (code, timeout))
        return Response(r.status, r.getheaders(), r.read().decode("utf-8", "replace"))
    finally:
        conn.close()


def click_row(srv, cid):
    rows = db_rows(srv, "SELECT * FROM clicks WHERE id = ?", (cid,))
    assert len(rows) == 1, (cid, rows)
    return rows[0]


def last_click_of(srv, code):
    rows = db_rows(srv, "SELECT c.* FROM clicks c JOIN links l ON l.id = c.link_id WHERE l.code = ? "
                        "ORDER BY c.id DESC LIMIT 1", (code,))
    assert rows, code
    return rows[0]


def email(ctx):
    ctx["n"] += 1
    return "prospect%d@buyer%d.example" % (ctx["n"], ctx["n"])


def lead(srv, ctx, status=201, cookie=None, program="prog", **fields):
    body = {"program_id": ctx[program]["id"], "email": email(ctx)}
    body.update(fields)
    body = {k: v for k, v in body.items() if v is not None}
    h = {"Cookie": "refd_click=" + cookie} if cookie else None
    r = srv.post(LEADS, body, key=ctx["admin"], headers=h)
    return expect(r, status)


def credit(l):
    a = l["attribution"]
    return a["method"], a["partner_id"], a["agent_id"], a["click_id"]


def pid(ctx, name):
    return ctx[name]["id"]


# ---- precedence ----

def test_every_redirect_is_answered_promptly(srv, ctx):
    # Everything below needs clicks: a redirect that is never acknowledged (its click never committed) is the
    # first thing to rule out. Ten clicks in a row, each on a fresh connection, each answered within 3 s.
    silent = []
    for i in range(10):
        try:
            visit(srv, ctx, "pc-org")
        except AssertionError as e:
            silent.append((i, str(e)))
    assert not silent, "%d of 10 redirects got no answer: %r" % (len(silent), silent[:3])



def test_clicks_are_recorded_for_people(srv, ctx):
    ctx["click"] = visit(srv, ctx, "pc-click")
    ctx["cookie"] = visit(srv, ctx, "pc-cookie")
    for cid, owner in ((ctx["click"], "Clicker"), (ctx["cookie"], "Cookie")):
        row = click_row(srv, cid)
        assert row["status"] == "counted" and row["partner_id"] == pid(ctx, owner), row
        assert row["program_id"] == ctx["prog"]["id"] and row["prev_click_id"] is None, row


def test_all_four_sources_explicit_wins(srv, ctx):
    l = lead(srv, ctx, partner_id=pid(ctx, "Explicit"), code="pc-code", click_id=ctx["click"], cookie=ctx["cookie"])
    assert credit(l) == ("explicit", pid(ctx, "Explicit"), None, None), l
    assert l["source"] == "partner" and l["status"] == "new"
    # The cookie may also be forwarded in the body instead of the header.
    l = lead(srv, ctx, partner_id=pid(ctx, "Explicit"), code="pc-code", click_id=ctx["click"],
             cookie_click_id=ctx["cookie"])
    assert credit(l) == ("explicit", pid(ctx, "Explicit"), None, None), l
    assert expect(srv.get(LEADS + "/" + l["id"], key=ctx["admin"]), 200)["attribution"] == l["attribution"]


def test_without_explicit_the_code_wins(srv, ctx):
    l = lead(srv, ctx, code="pc-code", click_id=ctx["click"], cookie=ctx["cookie"])
    assert credit(l) == ("code", pid(ctx, "Coder"), None, None), l
    assert l["source"] == "partner"
    # Codes are matched without regard to case, as typed at checkout.
    l = lead(srv, ctx, code="PC-Code", click_id=ctx["click"], cookie_click_id=ctx["cookie"])
    assert credit(l) == ("code", pid(ctx, "Coder"), None, None), l


def test_without_code_the_click_id_wins(srv, ctx):
    l = lead(srv, ctx, click_id=ctx["click"], cookie=ctx["cookie"])
    assert credit(l) == ("click", pid(ctx, "Clicker"), None, ctx["click"]), l
    l = lead(srv, ctx, click_id=ctx["click"], cookie_click_id=ctx["cookie"])
    assert credit(l) == ("click", pid(ctx, "Clicker"), None, ctx["click"]), l


def test_without_click_id_the_cookie_wins(srv, ctx):
    l = lead(srv, ctx, cookie=ctx["cookie"])
    assert credit(l) == ("cookie", pid(ctx, "Cookie"), None, ctx["cookie"]), l
    l = lead(srv, ctx, cookie_click_id=ctx["cookie"])
    assert credit(l) == ("cookie", pid(ctx, "Cookie"), None, ctx["cookie"]), l
    # Other cookies around the tracking cookie do not disturb it.
    r = srv.post(LEADS, {"program_id": ctx["prog"]["id"], "email": email(ctx)}, key=ctx["admin"],
                 headers={"Cookie": "theme=dark; refd_click=%s; other=1" % ctx["cookie"]})
    assert credit(expect(r, 201)) == ("cookie", pid(ctx, "Cookie"), None, ctx["cookie"])


def test_with_no_source_nobody_is_credited(srv, ctx):
    l = lead(srv, ctx)
    assert credit(l) == ("none", None, None, None), l
    assert l["source"] == "direct", "an uncredited lead defaults to source direct"
    # A stated source is kept, credited or not.
    l = lead(srv, ctx, source="organic")
    assert l["source"] == "organic" and credit(l)[0] == "none"
    l = lead(srv, ctx, source="campaign", click_id=ctx["click"])
    assert l["source"] == "campaign" and credit(l)[0] == "click"


def test_a_source_that_credits_nobody_falls_through(srv, ctx):
    # A click id that is unknown, or that belongs to a bot, gives way to the cookie.
    l = lead(srv, ctx, click_id="clk_0000000000000000000000nope", cookie=ctx["cookie"])
    assert credit(l) == ("cookie", pid(ctx, "Cookie"), None, ctx["cookie"]), l
    bot = visit(srv, ctx, "pc-click", agent="Googlebot/2.1 (+http://www.google.com/bot.html)")
    assert click_row(srv, bot)["status"] == "bot"
    l = lead(srv, ctx, click_id=bot, cookie=ctx["cookie"])
    assert credit(l) == ("cookie", pid(ctx, "Cookie"), None, ctx["cookie"]), l
    # A malformed cookie is ignored, not an error.
    l = lead(srv, ctx, cookie="not-a-click-id")
    assert credit(l) == ("none", None, None, None), l


# ---- clicks that do not credit ----

def test_bot_clicks_do_not_credit(srv, ctx):
    for agent in ("Googlebot/2.1 (+http://www.google.com/bot.html)", "curl/8.5.0", "python-requests/2.31", ""):
        cid = visit(srv, ctx, "pc-click", agent=agent)
        row = click_row(srv, cid)
        assert row["status"] == "bot", (agent, row)
        for how in ("click_id", "cookie_click_id"):
            l = lead(srv, ctx, **{how: cid})
            assert credit(l) == ("none", None, None, None), (agent, how, l)
            assert l["source"] == "direct"


def test_repeat_clicks_still_credit(srv, ctx):
    # The same browser (no cookies kept) clicking the same link again within repeat_click_minutes.
    agent = ua(ctx)
    first = visit(srv, ctx, "pc-click", agent=agent)
    again = visit(srv, ctx, "pc-click", agent=agent)
    assert click_row(srv, first)["status"] == "counted"
    row = click_row(srv, again)
    assert row["status"] == "repeat", row
    l = lead(srv, ctx, click_id=again)
    assert credit(l) == ("click", pid(ctx, "Clicker"), None, again), l


def test_repeat_click_of_a_visitor_with_the_cookie_is_a_repeat(srv, ctx):
    # A browser that keeps cookies comes back through the same link a minute later, sending the cookie of its first
    # click: that is the ordinary repeat visit, and it must not count as a second click.
    agent = ua(ctx)
    first = visit(srv, ctx, "pc-click", agent=agent)
    again = visit(srv, ctx, "pc-click", agent=agent, prev=first)
    third = visit(srv, ctx, "pc-click", agent=agent, prev=again)
    assert click_row(srv, first)["status"] == "counted"
    assert click_row(srv, again)["prev_click_id"] == first
    statuses = [click_row(srv, c)["status"] for c in (again, third)]
    assert statuses == ["repeat", "repeat"], \
        "clicks 2 and 3 of one cookie-keeping visitor on one link within 30 minutes: %r" % statuses
    l = lead(srv, ctx, click_id=third)
    assert credit(l) == ("click", pid(ctx, "Clicker"), None, third), l


def test_suspended_partner_clicks_and_codes_do_not_credit(srv, ctx):
    s = pid(ctx, "Suspendable")
    before = visit(srv, ctx, "pc-susp")
    assert click_row(srv, before)["status"] == "counted"
    expect(srv.post(PARTNERS + "/" + s + "/suspend", {"reason": "fraud review"}, key=ctx["admin"]), 200)
    # While suspended, the link still leads to the destination, but without a click id or cookie.
    visit(srv, ctx, "pc-susp", expect_id=False)
    during = last_click_of(srv, "pc-susp")
    assert during["id"] != before and during["status"] == "uncredited" and during["partner_id"] is None, during
    l = lead(srv, ctx, click_id=during["id"])
    assert credit(l) == ("none", None, None, None), l
    # A code of a suspended partner is not an error, but it credits nobody: the next source decides.
    l = lead(srv, ctx, code="pc-susp")
    assert credit(l) == ("none", None, None, None), l
    l = lead(srv, ctx, code="pc-susp", click_id=ctx["click"])
    assert credit(l) == ("click", pid(ctx, "Clicker"), None, ctx["click"]), l
    ctx["susp_before"] = before


def test_click_made_before_suspension_does_not_credit_the_suspended_partner(srv, ctx):
    # The partner was active when this click was made, but is suspended now: a suspended partner earns no new
    # leads, whatever the route (its codes and new clicks already credit nobody).
    l = lead(srv, ctx, click_id=ctx["susp_before"])
    assert l["attribution"]["partner_id"] != pid(ctx, "Suspendable"), \
        "lead credited to suspended partner through a click made before the suspension: %r" % l["attribution"]
    assert credit(l) == ("none", None, None, None), l
    l = lead(srv, ctx, cookie=ctx["susp_before"])
    assert l["attribution"]["partner_id"] != pid(ctx, "Suspendable"), l["attribution"]


def test_reactivated_partner_is_credited_again(srv, ctx):
    s = pid(ctx, "Suspendable")
    expect(srv.post(PARTNERS + "/" + s + "/activate", key=ctx["admin"]), 200)
    cid = visit(srv, ctx, "pc-susp")
    assert click_row(srv, cid)["status"] == "counted"
    l = lead(srv, ctx, click_id=cid)
    assert credit(l) == ("click", s, None, cid), l
    l = lead(srv, ctx, code="pc-susp")
    assert credit(l) == ("code", s, None, None), l


# ---- agents ----

def test_agent_is_credited_with_its_team_parent(srv, ctx):
    org, agent = pid(ctx, "Org"), pid(ctx, "Agent")
    cid = visit(srv, ctx, "pc-agent")
    l = lead(srv, ctx, click_id=cid)
    assert credit(l) == ("click", org, agent, cid), l
    l = lead(srv, ctx, cookie=cid)
    assert credit(l) == ("cookie", org, agent, cid), l
    l = lead(srv, ctx, code="pc-agent")
    assert credit(l) == ("code", org, agent, None), l
    l = lead(srv, ctx, agent_id=agent)
    assert credit(l) == ("explicit", org, agent, None), l
    l = lead(srv, ctx, agent_id=agent, partner_id=org)
    assert credit(l) == ("explicit", org, agent, None), l
    # Naming the agent as partner_id still credits the organisation, with the agent as agent.
    l = lead(srv, ctx, partner_id=agent)
    assert credit(l) == ("explicit", org, agent, None), l
    # The organisation's own link credits the organisation alone.
    l = lead(srv, ctx, code="pc-org")
    assert credit(l) == ("code", org, None, None), l


def test_agent_and_partner_that_do_not_match_are_refused(srv, ctx):
    before = db_counts(srv, TABLES)
    r = lead(srv, ctx, status=400, agent_id=pid(ctx, "Agent"), partner_id=pid(ctx, "Explicit"))
    assert r["error"]["field"] == "agent_id", r
    assert db_counts(srv, TABLES) == before


# ---- other programs ----

def test_code_of_another_program_is_refused(srv, ctx):
    before = db_counts(srv, TABLES)
    r = lead(srv, ctx, status=400, code="pc-foreign")
    assert r["error"]["field"] == "code" and r["error"]["type"] == "invalid_request", r
    r = lead(srv, ctx, status=400, code="no-such-code")
    assert r["error"]["field"] == "code", r
    assert db_counts(srv, TABLES) == before
    # Without program_id, the code names its program.
    r = srv.post(LEADS, {"email": email(ctx), "code": "pc-foreign"}, key=ctx["admin"])
    l = expect(r, 201)
    assert l["program_id"] == ctx["other"]["id"] and credit(l) == ("code", pid(ctx, "Foreign"), None, None), l


def test_unknown_code_is_refused_even_when_an_explicit_partner_wins(srv, ctx):
    # A code that does not exist is bad input whatever else the request says.
    before = db_counts(srv, TABLES)
    r = lead(srv, ctx, status=400, partner_id=pid(ctx, "Explicit"), code="no-such-code")
    assert r["error"]["field"] == "code", r
    r = lead(srv, ctx, status=400, partner_id=pid(ctx, "Explicit"), code="pc-foreign")
    assert r["error"]["field"] == "code", r
    assert db_counts(srv, TABLES) == before


def test_click_and_partner_of_another_program_do_not_credit(srv, ctx):
    foreign = visit(srv, ctx, "pc-foreign")
    assert click_row(srv, foreign)["program_id"] == ctx["other"]["id"]
    l = lead(srv, ctx, click_id=foreign)
    assert credit(l) == ("none", None, None, None), l
    l = lead(srv, ctx, cookie=foreign)
    assert credit(l) == ("none", None, None, None), l
    l = lead(srv, ctx, click_id=foreign, cookie=ctx["cookie"])
    assert credit(l) == ("cookie", pid(ctx, "Cookie"), None, ctx["cookie"]), l
    before = db_counts(srv, TABLES)
    r = lead(srv, ctx, status=400, partner_id=pid(ctx, "Foreign"))
    assert r["error"]["field"] == "partner_id", r
    r = lead(srv, ctx, status=400, agent_id=pid(ctx, "Foreign"))
    assert r["error"]["field"] == "agent_id", r
    r = lead(srv, ctx, status=400, partner_id="ptn_doesnotexist")
    assert r["error"]["field"] == "partner_id", r
    assert db_counts(srv, TABLES) == before
    # Without program_id, the click names its program.
    r = srv.post(LEADS, {"email": email(ctx), "click_id": foreign}, key=ctx["admin"])
    l = expect(r, 201)
    assert l["program_id"] == ctx["other"]["id"] and credit(l) == ("click", pid(ctx, "Foreign"), None, foreign)


def test_program_is_required_when_nothing_names_it(srv, ctx):
    before = db_counts(srv, TABLES)
    r = srv.post(LEADS, {"email": email(ctx)}, key=ctx["admin"])
    expect(r, 400, field="program_id")
    r = srv.post(LEADS, {"email": email(ctx), "program_id": "prg_nope"}, key=ctx["admin"])
    expect(r, 400, field="program_id")
    assert db_counts(srv, TABLES) == before


# ---- window ----

def test_clicks_count_only_inside_the_window(srv, ctx):
    prog = ctx["prog"]["id"]
    w = expect(srv.patch(PROGRAMS + "/" + prog, {"cookie_window_days": 7}, key=ctx["admin"]), 200)
    assert w["cookie_window_days"] == 7
    cid = visit(srv, ctx, "pc-click")
    cookie = visit(srv, ctx, "pc-cookie")
    r = redirect(srv, "pc-click", {"User-Agent": ua(ctx)})
    assert "Max-Age=%d" % (7 * 86400) in r.header("Set-Cookie"), "the cookie lives as long as the window"
    advance(srv, ctx, 7 * DAY - HOUR)
    l = lead(srv, ctx, click_id=cid)
    assert credit(l) == ("click", pid(ctx, "Clicker"), None, cid), "inside the window: %r" % l
    l = lead(srv, ctx, cookie=cookie)
    assert credit(l) == ("cookie", pid(ctx, "Cookie"), None, cookie), l
    advance(srv, ctx, 2 * HOUR)
    l = lead(srv, ctx, click_id=cid)
    assert credit(l) == ("none", None, None, None), "7 days and an hour after the click: %r" % l
    l = lead(srv, ctx, cookie=cookie)
    assert credit(l) == ("none", None, None, None), l
    # An expired click id falls through to a cookie still inside the window.
    fresh = visit(srv, ctx, "pc-cookie")
    l = lead(srv, ctx, click_id=cid, cookie=fresh)
    assert credit(l) == ("cookie", pid(ctx, "Cookie"), None, fresh), l
    # Codes know no window.
    l = lead(srv, ctx, code="pc-code", click_id=cid)
    assert credit(l) == ("code", pid(ctx, "Coder"), None, None), l
    # A longer window, set later, counts the same click again: the window is the program's at the lead's time.
    expect(srv.patch(PROGRAMS + "/" + prog, {"cookie_window_days": 30}, key=ctx["admin"]), 200)
    l = lead(srv, ctx, click_id=cid)
    assert credit(l) == ("click", pid(ctx, "Clicker"), None, cid), l
    r = redirect(srv, "pc-click", {"User-Agent": ua(ctx)})
    assert "Max-Age=%d" % (30 * 86400) in r.header("Set-Cookie")


# ---- first versus last click ----

def test_chain_of_clicks_is_recorded(srv, ctx):
    # One visitor: Clicker's link, two days later Cookie's link, two more days later the Coder's link.
    prog = ctx["prog"]["id"]
    expect(srv.patch(PROGRAMS + "/" + prog, {"cookie_window_days": 30, "attribution_model": "last_click"},
                     key=ctx["admin"]), 200)
    agent = ua(ctx)
    c1 = visit(srv, ctx, "pc-click", agent=agent)
    advance(srv, ctx, 2 * DAY)
    c2 = visit(srv, ctx, "pc-cookie", agent=agent, prev=c1)
    advance(srv, ctx, 2 * DAY)
    c3 = visit(srv, ctx, "pc-code", agent=agent, prev=c2)
    assert click_row(srv, c2)["prev_click_id"] == c1
    assert click_row(srv, c3)["prev_click_id"] == c2
    assert all(click_row(srv, c)["status"] == "counted" for c in (c1, c2, c3))
    ctx["chain"] = (c1, c2, c3)


def test_last_click_credits_the_newest_click(srv, ctx):
    c1, c2, c3 = ctx["chain"]
    l = lead(srv, ctx, click_id=c3)
    assert credit(l) == ("click", pid(ctx, "Coder"), None, c3), l
    l = lead(srv, ctx, cookie=c3)
    assert credit(l) == ("cookie", pid(ctx, "Coder"), None, c3), l
    # A click id from the middle of the chain: its own predecessors only.
    l = lead(srv, ctx, click_id=c2)
    assert credit(l) == ("click", pid(ctx, "Cookie"), None, c2), l


def test_first_click_credits_the_oldest_click_in_the_window(srv, ctx):
    c1, c2, c3 = ctx["chain"]
    prog = ctx["prog"]["id"]
    p = expect(srv.patch(PROGRAMS + "/" + prog, {"attribution_model": "first_click"}, key=ctx["admin"]), 200)
    assert p["attribution_model"] == "first_click"
    l = lead(srv, ctx, click_id=c3)
    assert credit(l) == ("click", pid(ctx, "Clicker"), None, c1), l
    l = lead(srv, ctx, cookie=c3)
    assert credit(l) == ("cookie", pid(ctx, "Clicker"), None, c1), l
    l = lead(srv, ctx, click_id=c2)
    assert credit(l) == ("click", pid(ctx, "Clicker"), None, c1), l
    # 31 days after the first click it has left the 30-day window; the second (27 days old) is now the first.
    advance(srv, ctx, 27 * DAY)
    l = lead(srv, ctx, click_id=c3)
    assert credit(l) == ("click", pid(ctx, "Cookie"), None, c2), l
    # Explicit and code still come first under first click.
    l = lead(srv, ctx, code="pc-agent", click_id=c3)
    assert credit(l) == ("code", pid(ctx, "Org"), pid(ctx, "Agent"), None), l


def test_bot_click_at_the_end_of_the_chain_does_not_credit(srv, ctx):
    c1, c2, c3 = ctx["chain"]
    bot = visit(srv, ctx, "pc-agent", agent="Mozilla/5.0 (compatible; bingbot/2.0)", prev=c3)
    row = click_row(srv, bot)
    assert row["status"] == "bot" and row["prev_click_id"] == c3, row
    # First click: still the oldest person's click inside the window.
    l = lead(srv, ctx, click_id=bot)
    assert credit(l) == ("click", pid(ctx, "Cookie"), None, c2), l
    # Last click: the newest person's click, not the bot's.
    expect(srv.patch(PROGRAMS + "/" + ctx["prog"]["id"], {"attribution_model": "last_click"}, key=ctx["admin"]), 200)
    l = lead(srv, ctx, click_id=bot)
    assert credit(l) == ("click", pid(ctx, "Coder"), None, c3), l
    l = lead(srv, ctx, cookie=bot)
    assert credit(l) == ("cookie", pid(ctx, "Coder"), None, c3), l


def test_attribution_model_is_validated(srv, ctx):
    prog = ctx["prog"]["id"]
    before = expect(srv.get(PROGRAMS + "/" + prog, key=ctx["admin"]), 200)
    expect(srv.patch(PROGRAMS + "/" + prog, {"attribution_model": "linear"}, key=ctx["admin"]), 400,
           field="attribution_model")
    expect(srv.patch(PROGRAMS + "/" + prog, {"cookie_window_days": 0}, key=ctx["admin"]), 400,
           field="cookie_window_days")
    assert expect(srv.get(PROGRAMS + "/" + prog, key=ctx["admin"]), 200) == before


def test_duplicate_lead_keeps_its_first_attribution(srv, ctx):
    # The same person arriving again through another source is the same lead, credited as before.
    l = lead(srv, ctx, code="pc-code")
    r = srv.post(LEADS, {"program_id": ctx["prog"]["id"], "email": l["email"].upper(), "code": "pc-agent"},
                 key=ctx["admin"])
    d = expect(r, 200)
    assert d["duplicate"] is True and d["id"] == l["id"]
    assert d["attribution"] == l["attribution"], d
