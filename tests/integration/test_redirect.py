# SPDX-License-Identifier: Apache-2.0
"""The redirect /r/{code}: 302 with the click id in the destination and in a cookie, sent only once the click is
stored; unknown, archived and malformed codes; the fallback URL; partners that are not active; the program's cookie
window; bots, repeats and the previous click; what is stored about the visitor (never the raw IP)."""
import re
import threading
from urllib.parse import parse_qsl, urlsplit

from harness import browser_ua, db_rows, expect, parse_set_cookie

LINKS = "/api/v1/links"
PROGRAMS = "/api/v1/programs"
PARTNERS = "/api/v1/partners"
CLICK_ID = re.compile(r"^clk_[0-9A-Za-z]{24}$")
DEST = "https://shop.example.com/p/a?x=1&y=two%20words#section-2"


def setup(srv):
    admin = srv.admin_key()
    prog = expect(srv.post(PROGRAMS, {"name": "Main", "currency": "usd", "cookie_window_days": 30}, key=admin), 201)
    ctx = {"admin": admin, "prog": prog}
    ctx["acme"] = partner(srv, ctx, "Acme")
    ctx["link"] = link(srv, ctx, "acme", destination_url=DEST, utm_source="partner", code="Promo-Code")
    return ctx


def partner(srv, ctx, name, program=None):
    body = {"program_id": (program or ctx["prog"])["id"], "name": name,
            "email": "%s@redirect.example" % name.lower().replace(" ", "-")}
    return expect(srv.post(PARTNERS, body, key=ctx["admin"]), 201)


def link(srv, ctx, who, **fields):
    body = {"partner_id": ctx[who]["id"] if isinstance(who, str) else who["id"],
            "destination_url": "https://www.example.com/"}
    body.update(fields)
    return expect(srv.post(LINKS, body, key=ctx["admin"]), 201)


def click(srv, code, ua=None, cookie=None, referer=None, path=None):
    """One visit to /r/{code}; ua=None sends no User-Agent (as http.client does)."""
    h = {}
    if ua is not None:
        h["User-Agent"] = ua
    if cookie is not None:
        h["Cookie"] = cookie
    if referer is not None:
        h["Referer"] = referer
    return srv.get(path or "/r/" + code, headers=h)


def click_id(resp):
    """The refd_click added to the Location of a 302 (asserting there is exactly one)."""
    assert resp.status == 302, resp
    ids = [v for k, v in parse_qsl(urlsplit(resp.header("Location")).query, keep_blank_values=True)
           if k == "refd_click"]
    assert len(ids) == 1, resp.header("Location")
    return ids[0]


def without_click(url):
    """url with its refd_click parameter taken out (the rest as sent)."""
    base, _, frag = url.partition("#")
    path, _, q = base.partition("?")
    kept = [p for p in q.split("&") if p and not p.startswith("refd_click=")]
    return path + ("?" + "&".join(kept) if kept else "") + ("#" + frag if frag else "")


def row(srv, cid):
    rows = db_rows(srv, "SELECT * FROM clicks WHERE id = ?", (cid,))
    assert len(rows) == 1, (cid, rows)
    return rows[0]


def click_ids(srv, link_id):
    return {r["id"] for r in db_rows(srv, "SELECT id FROM clicks WHERE link_id = ?", (link_id,))}


def the_new_click(srv, link_id, before):
    """The one click of link_id stored since click_ids() answered before."""
    new = click_ids(srv, link_id) - before
    assert len(new) == 1, new
    return row(srv, new.pop())


def count_clicks(srv, link_id=None):
    if link_id is None:
        return db_rows(srv, "SELECT count(*) AS n FROM clicks")[0]["n"]
    return db_rows(srv, "SELECT count(*) AS n FROM clicks WHERE link_id = ?", (link_id,))[0]["n"]


def status(srv, resp):
    """The stored status of the click a 302 carries."""
    return row(srv, click_id(resp))["status"]


def cookies(resp):
    return [parse_set_cookie(v) for v in resp.headers_all("Set-Cookie")]


# ---- the redirect ----

def test_redirect_adds_the_click_id_and_sets_the_cookie(srv, ctx):
    l = ctx["link"]
    ua = browser_ua("first")
    r = click(srv, l["code"], ua=ua, referer="https://blog.example.net/post?id=7")
    assert r.status == 302, r
    assert r.body == ""
    loc = r.header("Location")
    cid = click_id(r)
    assert CLICK_ID.match(cid), cid
    # The target, with its parameters and fragment kept and refd_click added to the query.
    assert l["target_url"] == "https://shop.example.com/p/a?x=1&y=two%20words&utm_source=partner#section-2"
    assert loc == "https://shop.example.com/p/a?x=1&y=two%20words&utm_source=partner&refd_click=" + cid + \
        "#section-2", loc
    assert (r.header("Cache-Control") or "").lower() == "no-store"
    got = cookies(r)
    assert len(got) == 1, r.headers
    name, value, attrs = got[0]
    assert (name, value) == ("refd_click", cid)
    assert attrs == {"max-age": str(30 * 86400), "path": "/", "samesite": "Lax"}, attrs
    c = row(srv, cid)
    assert c["status"] == "counted" and c["source"] == "redirect"
    assert (c["program_id"], c["link_id"], c["partner_id"]) == (ctx["prog"]["id"], l["id"], ctx["acme"]["id"])
    assert c["landing_url"] == l["target_url"]
    assert c["user_agent"] == ua and c["referer"] == "https://blog.example.net/post?id=7"
    assert c["prev_click_id"] is None
    assert c["ip_prefix"] == "127.0.0.0/24"
    assert re.fullmatch(r"[0-9a-f]{32}", c["ip_hash"] or ""), c["ip_hash"]
    ctx["first_click"] = cid


def test_code_is_found_in_any_case(srv, ctx):
    l = ctx["link"]
    for code in ("Promo-Code", "promo-code", "PROMO-CODE", "pROMO-cODE"):
        r = click(srv, code, ua=browser_ua("case"))
        assert r.status == 302, (code, r)
        assert without_click(r.header("Location")) == l["target_url"]
    g = link(srv, ctx, "acme", destination_url="https://www.example.com/generated")
    r = click(srv, g["code"].upper(), ua=browser_ua("case"))
    assert without_click(r.header("Location")) == "https://www.example.com/generated"


def test_query_of_the_request_is_not_forwarded(srv, ctx):
    r = click(srv, None, ua=browser_ua("query"),
              path="/r/promo-code?next=https://evil.example/&refd_click=clk_forged&utm_source=evil")
    assert r.status == 302, r
    assert without_click(r.header("Location")) == ctx["link"]["target_url"]
    assert "evil" not in r.header("Location") and CLICK_ID.match(click_id(r))


def test_destination_shapes(srv, ctx):
    cases = [
        ("https://example.com", None, "https://example.com?refd_click=%s"),
        ("https://example.com/", None, "https://example.com/?refd_click=%s"),
        ("https://example.com/#top", None, "https://example.com/?refd_click=%s#top"),
        ("https://example.com/?#top", None, "https://example.com/?refd_click=%s#top"),
        ("https://example.com/a?b=1&c=&d#x?y=1", None, "https://example.com/a?b=1&c=&d&refd_click=%s#x?y=1"),
        ("https://example.com/?refd_click=forged&a=1", None, "https://example.com/?refd_click=%s&a=1"),
        ("https://example.com/?q=%26%3D", "u&v", "https://example.com/?q=%%26%%3D&utm_source=u%%26v&refd_click=%s"),
    ]
    for dest, source, want in cases:
        extra = {"utm_source": source} if source else {}
        l = link(srv, ctx, "acme", destination_url=dest, **extra)
        r = click(srv, l["code"], ua=browser_ua("shapes"))
        cid = click_id(r)
        assert r.header("Location") == want % cid, (dest, r.header("Location"))


# ---- codes that lead nowhere ----

def assert_not_found_page(r):
    assert r.status == 404, r
    assert (r.header("Content-Type") or "").startswith("text/html"), r.headers
    assert "Link not found" in r.body
    assert r.header("Location") is None and not r.headers_all("Set-Cookie")


def test_unknown_code_is_a_404_page(srv, ctx):
    before = count_clicks(srv)
    for code in ("no-such-code", "abc", "x", "Promo-Cod", "Promo-Code-2", "a" * 64):
        r = click(srv, code, ua=browser_ua("unknown"))
        assert_not_found_page(r)
        assert (r.header("Cache-Control") or "").lower() == "no-store"
    assert count_clicks(srv) == before, "no click is stored for an unknown code"


def test_malformed_codes_are_404_and_harmless(srv, ctx):
    before = count_clicks(srv)
    paths = ["/r/" + "a" * 65, "/r/" + "a" * 129, "/r/" + "a" * 5000, "/r/ab%2Fcd", "/r/%2F", "/r/..", "/r/.",
             "/r/%2E%2E", "/r/..%2F..%2Fetc%2Fpasswd", "/r/promo-code%00", "/r/promo%00-code", "/r/%00",
             "/r/%FF%FE", "/r/%C3%BC", "/r/%3Cscript%3Ealert(1)%3C%2Fscript%3E", "/r/a;b", "/r/a%20b", "/r/a.b",
             "/r/%25", "/r/%", "/r/%zz", "/r/promo-code%0d%0aSet-Cookie:%20x=1", "/r/promo-code%23x",
             "/r/promo-code%3Fx=1", "/r/*", "/r/~abc", "/r/"]
    for p in paths:
        r = click(srv, None, ua=browser_ua("malformed"), path=p)
        assert r.status in (400, 404), (p, r)
        assert r.header("Location") is None and not r.headers_all("Set-Cookie"), (p, r.headers)
        assert "<script>" not in r.body, p
    for code in ("a" * 65, "ab.cd", "..", "a%20b", "%C3%BCber", "promo-code%3F"):
        assert_not_found_page(click(srv, code, ua=browser_ua("malformed")))
    assert expect(srv.get("/healthz"), 200)
    assert click(srv, "promo-code", ua=browser_ua("malformed")).status == 302, "still redirecting"
    assert count_clicks(srv) == before + 1


def test_archived_link_stops_redirecting_at_once(srv, ctx):
    l = link(srv, ctx, "acme", code="soon-gone")
    assert click(srv, "soon-gone", ua=browser_ua("archive")).status == 302
    expect(srv.patch(LINKS + "/" + l["id"], {"archived": True}, key=ctx["admin"]), 200)
    n = count_clicks(srv, l["id"])
    assert_not_found_page(click(srv, "soon-gone", ua=browser_ua("archive")))
    assert_not_found_page(click(srv, "SOON-GONE", ua=browser_ua("archive")))
    assert count_clicks(srv, l["id"]) == n
    expect(srv.patch(LINKS + "/" + l["id"], {"archived": False}, key=ctx["admin"]), 200)
    assert click(srv, "soon-gone", ua=browser_ua("archive")).status == 302
    assert count_clicks(srv, l["id"]) == n + 1


def test_destination_change_applies_at_once(srv, ctx):
    l = link(srv, ctx, "acme", code="moving-target", destination_url="https://www.example.com/old")
    assert without_click(click(srv, "moving-target", ua=browser_ua("move")).header("Location")) == \
        "https://www.example.com/old"
    expect(srv.patch(LINKS + "/" + l["id"], {"destination_url": "https://www.example.com/new", "utm_medium": "m"},
                     key=ctx["admin"]), 200)
    r = click(srv, "moving-target", ua=browser_ua("move"))
    assert without_click(r.header("Location")) == "https://www.example.com/new?utm_medium=m"


def test_fallback_url_for_unknown_and_archived_codes(srv, ctx):
    admin = ctx["admin"]
    newer = expect(srv.post(PROGRAMS, {"name": "Newer", "currency": "usd",
                                       "fallback_url": "https://newer.example/?from=refd#x"}, key=admin), 201)
    archived = link(srv, ctx, "acme", code="retired-code")
    expect(srv.patch(LINKS + "/" + archived["id"], {"archived": True}, key=admin), 200)
    before = count_clicks(srv)
    for code in ("no-such-code", "retired-code"):
        r = click(srv, code, ua=browser_ua("fallback"))
        assert r.status == 302, r
        assert r.header("Location") == "https://newer.example/?from=refd#x", r.header("Location")
        assert not r.headers_all("Set-Cookie"), "no cookie on a fallback"
    # The oldest program's fallback wins once it has one.
    expect(srv.patch(PROGRAMS + "/" + ctx["prog"]["id"], {"fallback_url": "https://main.example/missing"},
                     key=admin), 200)
    r = click(srv, "no-such-code", ua=browser_ua("fallback"))
    assert (r.status, r.header("Location")) == (302, "https://main.example/missing"), r
    # A malformed code is not a typo of a code: it gets the 404 page all the same.
    for code in ("bad.code", "a" * 65):
        assert_not_found_page(click(srv, code, ua=browser_ua("fallback")))
    # Live links are not affected.
    assert click(srv, "promo-code", ua=browser_ua("fallback")).status == 302
    assert count_clicks(srv) == before + 1, "fallbacks store no click"
    for pid in (ctx["prog"]["id"], newer["id"]):
        expect(srv.patch(PROGRAMS + "/" + pid, {"fallback_url": None}, key=admin), 200)
    assert_not_found_page(click(srv, "no-such-code", ua=browser_ua("fallback")))
    assert_not_found_page(click(srv, "retired-code", ua=browser_ua("fallback")))


# ---- partner status and the program's settings ----

def test_partner_that_is_not_active_gets_no_credit(srv, ctx):
    admin = ctx["admin"]
    p = partner(srv, ctx, "Paused")
    l = link(srv, ctx, p, code="paused-link", destination_url="https://example.com/x?a=1#f", utm_campaign="c")
    assert l["target_url"] == "https://example.com/x?a=1&utm_campaign=c#f"
    assert row(srv, click_id(click(srv, "paused-link", ua=browser_ua("paused"))))["status"] == "counted"

    def uncredited(tag):
        before = click_ids(srv, l["id"])
        r = click(srv, "paused-link", ua=browser_ua(tag))
        assert r.status == 302, r
        assert r.header("Location") == l["target_url"], r.header("Location")
        assert not r.headers_all("Set-Cookie"), r.headers
        assert the_new_click(srv, l["id"], before)["status"] == "uncredited", "the visit is still stored"

    def credited(tag):
        r = click(srv, "paused-link", ua=browser_ua(tag))
        cid = click_id(r)
        assert [c[1] for c in cookies(r)] == [cid]
        c = row(srv, cid)
        assert c["status"] == "counted" and c["partner_id"] == p["id"]

    expect(srv.post(PARTNERS + "/" + p["id"] + "/suspend", {"reason": "review"}, key=admin), 200)
    uncredited("suspended")
    expect(srv.post(PARTNERS + "/" + p["id"] + "/activate", key=admin), 200)
    credited("reactivated")
    expect(srv.post(PARTNERS + "/" + p["id"] + "/ban", {"reason": "fraud"}, key=admin), 200)
    uncredited("banned")


def test_applied_partner_gets_no_credit(srv, ctx):
    p = expect(srv.post(PARTNERS, {"program_id": ctx["prog"]["id"], "name": "Applicant", "status": "applied",
                                   "email": "applicant@redirect.example"}, key=ctx["admin"]), 201)
    l = link(srv, ctx, p, code="applicant-link")
    r = click(srv, "applicant-link", ua=browser_ua("applied"))
    assert r.status == 302 and r.header("Location") == l["target_url"] and not r.headers_all("Set-Cookie")
    assert the_new_click(srv, l["id"], set())["status"] == "uncredited"


def test_cookie_max_age_follows_the_program_window(srv, ctx):
    url = PROGRAMS + "/" + ctx["prog"]["id"]
    try:
        for days in (7, 1, 3650, 90):
            expect(srv.patch(url, {"cookie_window_days": days}, key=ctx["admin"]), 200)
            r = click(srv, "promo-code", ua=browser_ua("window"))
            (name, value, attrs), = cookies(r)
            assert attrs["max-age"] == str(days * 86400), (days, attrs)
            assert value == click_id(r)
    finally:
        expect(srv.patch(url, {"cookie_window_days": 30}, key=ctx["admin"]), 200)
    # Each program its own window.
    other = expect(srv.post(PROGRAMS, {"name": "Short", "currency": "usd", "cookie_window_days": 2},
                            key=ctx["admin"]), 201)
    l = link(srv, ctx, partner(srv, ctx, "Shorty", other))
    (_, _, attrs), = cookies(click(srv, l["code"], ua=browser_ua("window")))
    assert attrs["max-age"] == str(2 * 86400)
    (_, _, attrs), = cookies(click(srv, "promo-code", ua=browser_ua("window")))
    assert attrs["max-age"] == str(30 * 86400)


# ---- bots, repeats, the previous click ----

def test_bots_are_stored_as_bot(srv, ctx):
    l = link(srv, ctx, "acme", code="bot-target")
    uas = ["curl/8.5.0", "Wget/1.21.4", "python-requests/2.31.0", "Python-urllib/3.12", "Go-http-client/1.1",
           "Googlebot/2.1 (+http://www.google.com/bot.html)",
           "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
           "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
           "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", "Slackbot-LinkExpanding 1.0",
           "Mozilla/5.0 (compatible; SomeNewBot/0.1)", "", "   "]
    for ua in uas:
        r = click(srv, "bot-target", ua=ua)
        assert r.status == 302, (ua, r)
        c = row(srv, click_id(r))
        assert c["status"] == "bot", (ua, c["status"])
    r = click(srv, "bot-target")  # no User-Agent header at all
    c = row(srv, click_id(r))
    assert c["status"] == "bot" and not c["user_agent"]
    # People, including the headless Chrome of refd's own browser tests and phones named Cubot.
    for ua in (browser_ua("person"),
               "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0 "
               "Safari/537.36 refd-test/headless",
               "Mozilla/5.0 (Linux; Android 12; CUBOT X30) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 "
               "Mobile Safari/537.36 refd-test/cubot"):
        assert row(srv, click_id(click(srv, "bot-target", ua=ua)))["status"] == "counted", ua


def test_repeat_by_address_and_browser(srv, ctx):
    a = link(srv, ctx, "acme", code="repeat-a")
    b = link(srv, ctx, "acme", code="repeat-b")
    ua = browser_ua("repeat-ip")
    assert [status(srv, click(srv, "repeat-a", ua=ua)) for _ in range(3)] == ["counted", "repeat", "repeat"]
    assert status(srv, click(srv, "repeat-a", ua=browser_ua("repeat-ip-other-browser"))) == "counted", \
        "another browser is another visitor"
    assert status(srv, click(srv, "repeat-b", ua=ua)) == "counted", "another link is another click"
    assert click_ids(srv, a["id"]) and click_ids(srv, b["id"])


def test_repeat_by_cookie_in_a_browser_that_keeps_it(srv, ctx):
    # A browser stores the cookie of each redirect and sends it with the next visit: its second and third visits
    # of the link within the window are repeats, as they would be without cookies.
    l = link(srv, ctx, "acme", code="repeat-cookie")
    ua = browser_ua("repeat-cookie")
    jar = None
    got = []
    for _ in range(3):
        r = click(srv, "repeat-cookie", ua=ua, cookie=jar)
        got.append((jar, status(srv, r)))
        (name, value, _), = cookies(r)
        jar = "%s=%s" % (name, value)
    assert [st for _, st in got] == ["counted", "repeat", "repeat"], got
    assert len(click_ids(srv, l["id"])) == 3


def test_repeat_by_cookie_across_browser_change(srv, ctx):
    # The cookie identifies the visitor even when the User-Agent changes (a browser update between visits).
    l = link(srv, ctx, "acme", code="repeat-cookie-ua")
    first = click(srv, "repeat-cookie-ua", ua=browser_ua("ua-before"))
    cid = click_id(first)
    r = click(srv, "repeat-cookie-ua", ua=browser_ua("ua-after"), cookie="refd_click=" + cid)
    assert row(srv, click_id(r))["prev_click_id"] == cid
    assert [status(srv, first), status(srv, r)] == ["counted", "repeat"]
    assert click_ids(srv, l["id"]) == {cid, click_id(r)}


def test_repeat_window_zero_counts_every_click(srv, ctx):
    prog = expect(srv.post(PROGRAMS, {"name": "Every click", "currency": "usd", "repeat_click_minutes": 0},
                           key=ctx["admin"]), 201)
    l = link(srv, ctx, partner(srv, ctx, "Counter", prog), code="count-all")
    ua = browser_ua("zero")
    assert [status(srv, click(srv, "count-all", ua=ua)) for _ in range(3)] == ["counted"] * 3
    # The setting applies at once.
    expect(srv.patch(PROGRAMS + "/" + prog["id"], {"repeat_click_minutes": 30}, key=ctx["admin"]), 200)
    assert status(srv, click(srv, "count-all", ua=ua)) == "repeat"
    assert len(click_ids(srv, l["id"])) == 4


def test_prev_click_id_comes_from_the_cookie(srv, ctx):
    prev = ctx["first_click"]
    r = click(srv, "promo-code", ua=browser_ua("prev"), cookie="a=1; refd_click=%s; b=2" % prev)
    c = row(srv, click_id(r))
    assert c["prev_click_id"] == prev
    assert click_id(r) != prev, "every visit gets a new click id"
    for bad in ("refd_click=garbage", "refd_click=lnk_abcdef", "refd_click=clk_", "refd_click=clk_../../x",
                "refd_click=clk_%27or%201=1", "refd_click=clk_" + "a" * 200, "refd_click="):
        r = click(srv, "promo-code", ua=browser_ua("prev-bad"), cookie=bad)
        assert r.status == 302, (bad, r)
        assert row(srv, click_id(r))["prev_click_id"] is None, bad


def test_long_headers_are_stored_clipped(srv, ctx):
    ua = browser_ua("long") + " " + "x" * 2000
    ref = "https://blog.example.net/" + "y" * 3000
    c = row(srv, click_id(click(srv, "promo-code", ua=ua, referer=ref)))
    assert c["user_agent"] == ua[:len(c["user_agent"])] and 200 <= len(c["user_agent"]) <= 1024
    assert c["referer"] == ref[:len(c["referer"])] and 200 <= len(c["referer"]) <= 2048


def _burst(srv, code, n=8):
    """n visits of /r/{code} started at the same moment; their statuses."""
    out, lock = [], threading.Lock()
    barrier = threading.Barrier(n)

    def visit(i):
        barrier.wait()
        r = click(srv, code, ua=browser_ua("burst-%d" % i))
        with lock:
            out.append(r.status)

    threads = [threading.Thread(target=visit, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def test_changes_apply_at_once_under_concurrent_visits(srv, ctx):
    # Once the API has answered, every visit sees the change: a new link redirects and an archived one does not,
    # also while another worker thread is still rebuilding the code table (a few hundred links make the rebuild
    # take long enough for visits to arrive during it).
    p = partner(srv, ctx, "Busy")
    for i in range(300):
        link(srv, ctx, p)
    wrong = []
    for round_ in range(8):
        l = link(srv, ctx, p)
        got = _burst(srv, l["code"])
        if got != [302] * 8:
            wrong.append("new link %s right after 201: %s" % (l["code"], got))
        expect(srv.patch(LINKS + "/" + l["id"], {"archived": True}, key=ctx["admin"]), 200)
        got = _burst(srv, l["code"])
        if got != [404] * 8:
            wrong.append("archived link %s right after 200: %s" % (l["code"], got))
    assert not wrong, "\n".join(wrong)


# ---- what is stored ----

def test_no_raw_ip_is_stored(srv, ctx):
    rows = db_rows(srv, "SELECT * FROM clicks")
    assert len(rows) > 50
    for r in rows:
        for k, v in r.items():
            assert "127.0.0.1" not in str(v), (k, v)
        assert r["ip_prefix"] == "127.0.0.0/24", r["ip_prefix"]
    hashes = {r["ip_hash"] for r in rows}
    assert len(hashes) == 1, "one address, one keyed hash"
    import hashlib
    h = hashes.pop()
    for plain in (hashlib.sha256(b"127.0.0.1").hexdigest(), hashlib.md5(b"127.0.0.1").hexdigest(),
                  hashlib.sha1(b"127.0.0.1").hexdigest()):
        assert not plain.startswith(h), "the hash must be keyed, not a plain digest of the address"


def test_every_acknowledged_click_is_stored(srv, ctx):
    l = link(srv, ctx, "acme", code="load-test")
    got, errors = [], []
    lock = threading.Lock()

    def worker(t):
        for i in range(50):
            try:
                r = click(srv, "load-test", ua=browser_ua("load-%d" % t))
                cid = click_id(r)
                with lock:
                    got.append(cid)
            except Exception as e:  # noqa: BLE001 - collected and reported below
                with lock:
                    errors.append(repr(e))

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:5]
    assert len(got) == 200 and len(set(got)) == 200
    stored = {r["id"] for r in db_rows(srv, "SELECT id FROM clicks WHERE link_id = ?", (l["id"],))}
    assert stored == set(got), "missing: %d, unexpected: %d" % (len(set(got) - stored), len(stored - set(got)))
    # Click ids begin with the time, so they sort by when they were made.
    ordered = [r["id"] for r in db_rows(srv, "SELECT id FROM clicks WHERE link_id = ? ORDER BY at, id", (l["id"],))]
    assert ordered == sorted(ordered)


def test_credentials_are_not_needed_and_not_used(srv, ctx):
    for h in ({"Authorization": "Bearer rk_bogus"}, {"Authorization": "Basic Zm9vOmJhcg=="},
              {"Cookie": "refd_session=bogus"}):
        h = dict(h, **{"User-Agent": browser_ua("creds")})
        r = srv.get("/r/promo-code", headers=h)
        assert r.status == 302, r


def test_repeat_window_ends(srv, ctx):
    l = link(srv, ctx, "acme", code="window-end")
    ua = browser_ua("window-end")
    got = []
    try:
        got.append(status(srv, click(srv, "window-end", ua=ua)))
        srv.set_clock(29 * 60 * 1000)
        got.append(status(srv, click(srv, "window-end", ua=ua)))
        srv.set_clock((29 + 31) * 60 * 1000)
        got.append(status(srv, click(srv, "window-end", ua=ua)))
    finally:
        srv.set_clock(0)
    assert got == ["counted", "repeat", "counted"], got
    assert len(click_ids(srv, l["id"])) == 3
