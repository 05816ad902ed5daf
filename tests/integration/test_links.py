# SPDX-License-Identifier: Apache-2.0
"""Links: create with generated or chosen codes, destination checks (open redirects refused), the program's
allowed domains and other link settings, UTM parameters, update and archive, lists with filters and pagination,
what partner and manager credentials may do, and that a refused request changes nothing."""
import re
import threading
from urllib.parse import parse_qsl, urlsplit

from harness import Refd, db_counts, expect, walk_pages

LINKS = "/api/v1/links"
PROGRAMS = "/api/v1/programs"
PARTNERS = "/api/v1/partners"
GENERATED = re.compile(r"^[23456789abcdefghjkmnpqrstuvwxyz]{8}$")
TABLES = ("links", "audit_log", "programs", "partners", "clicks")


def setup(srv):
    admin = srv.admin_key()
    prog = expect(srv.post(PROGRAMS, {"name": "Open", "currency": "usd"}, key=admin), 201)
    good = expect(srv.post(PROGRAMS, {"name": "Good only", "currency": "usd", "allowed_domains": ["good.com"]},
                           key=admin), 201)
    ctx = {"admin": admin, "prog": prog, "good": good}

    def partner(name, program, **extra):
        body = {"program_id": program["id"], "name": name, "email": name.lower().replace(" ", ".") + "@p.example"}
        body.update(extra)
        return expect(srv.post(PARTNERS, body, key=admin), 201)

    ctx["acme"] = partner("Acme", prog)
    ctx["org"] = partner("Northwind", prog)
    ctx["agent"] = partner("Agent One", prog, kind="agent", team_parent_id=ctx["org"]["id"])
    ctx["other"] = partner("Other", prog)
    ctx["goodp"] = partner("Good Partner", good)
    return ctx


def new(srv, ctx, partner="acme", key=None, **fields):
    body = {"partner_id": ctx[partner]["id"], "destination_url": "https://www.example.com/landing"}
    body.update(fields)
    return expect(srv.post(LINKS, body, key=key or ctx["admin"]), 201)


def get(srv, ctx, lid):
    return expect(srv.get(LINKS + "/" + lid, key=ctx["admin"]), 200)


def query(url):
    return parse_qsl(urlsplit(url).query, keep_blank_values=True)


# ---- create ----

def test_create_with_defaults(srv, ctx):
    l = new(srv, ctx)
    assert l["id"].startswith("lnk_") and l["object"] == "link"
    assert l["program_id"] == ctx["prog"]["id"] and l["partner_id"] == ctx["acme"]["id"]
    assert GENERATED.match(l["code"]), l["code"]
    assert l["url"].startswith("http") and l["url"].endswith("/r/" + l["code"]), l["url"]
    assert l["destination_url"] == "https://www.example.com/landing"
    assert l["target_url"] == l["destination_url"], "no UTM parameters: the target is the destination"
    assert l["campaign"] is None
    assert l["utm"] == {"source": None, "medium": None, "campaign": None, "term": None, "content": None}
    assert l["archived"] is False and l["archived_at"] is None
    assert l["created_at"] and l["created_at"] == l["updated_at"] and l["created_at"].endswith("Z")
    assert get(srv, ctx, l["id"]) == l
    ctx["first"] = l


def test_link_url_points_at_this_server(srv, ctx):
    # Without --public-url the link's url must still work: the address refd really listens on (the ephemeral
    # port the tests use is chosen at bind time, not the ":0" given to --listen).
    l = ctx["first"]
    assert l["url"] == "http://127.0.0.1:%d/r/%s" % (srv.port, l["code"]), l["url"]


def test_public_url_option_sets_link_urls():
    other = Refd(extra_args=["--public-url", "https://refer.example.com/"])
    try:
        other.start()
        admin = other.admin_key()
        prog = expect(other.post(PROGRAMS, {"name": "P", "currency": "usd"}, key=admin), 201)
        p = expect(other.post(PARTNERS, {"program_id": prog["id"], "name": "A", "email": "a@a.example"},
                              key=admin), 201)
        l = expect(other.post(LINKS, {"partner_id": p["id"], "destination_url": "https://example.com/",
                                      "code": "Spring-Sale"}, key=admin), 201)
        assert l["url"] == "https://refer.example.com/r/Spring-Sale", l["url"]
    finally:
        other.cleanup()


def test_generated_codes_have_the_documented_shape_and_differ(srv, ctx):
    codes = [new(srv, ctx, partner="other", campaign="bulk")["code"] for _ in range(40)]
    for c in codes:
        assert GENERATED.match(c), c
    assert len(set(codes)) == len(codes)


def test_chosen_code_is_kept_as_given(srv, ctx):
    l = new(srv, ctx, code="Spring-Sale_2025")
    assert l["code"] == "Spring-Sale_2025"
    assert l["url"].endswith("/r/Spring-Sale_2025")
    for c in ("abc", "A1b", "x" * 64, "a-b", "a_b", "9lives", "R2D2"):
        assert new(srv, ctx, code=c)["code"] == c
    ctx["chosen"] = l


def test_code_rules(srv, ctx):
    bad = ["", "ab", "x" * 65, "a b", "a.b", "a/b", "a%2Fb", "..", "abc?", "abc#", "ünïcode", "-abc", "abc-",
           "_abc", "abc_", "a+b", "a@b", "a\\b", " abc", "abc "]
    reserved = ["admin", "API", "app", "Assets", "auth", "dashboard", "docs", "health", "healthz", "help", "login",
                "logout", "new", "null", "partner", "PARTNERS", "portal", "readyz", "refd", "register",
                "settings", "signup", "static", "support", "track", "undefined", "www", "refd123", "REFD-x",
                "refdsomething"]
    before = db_counts(srv, TABLES)
    for c in bad + reserved:
        expect(srv.post(LINKS, {"partner_id": ctx["acme"]["id"], "destination_url": "https://example.com/",
                                "code": c}, key=ctx["admin"]), 400, field="code", etype="invalid_request")
    expect(srv.post(LINKS, {"partner_id": ctx["acme"]["id"], "destination_url": "https://example.com/",
                            "code": None}, key=ctx["admin"]), 400, field="code")
    expect(srv.post(LINKS, {"partner_id": ctx["acme"]["id"], "destination_url": "https://example.com/",
                            "code": 12345}, key=ctx["admin"]), 400, field="code")
    assert db_counts(srv, TABLES) == before
    # Words that merely contain a reserved one are fine.
    assert new(srv, ctx, code="admins-deal")["code"] == "admins-deal"
    assert new(srv, ctx, code="my-refd")["code"] == "my-refd"


def test_codes_are_unique_without_regard_to_case(srv, ctx):
    new(srv, ctx, code="Summer-Deal")
    before = db_counts(srv, TABLES)
    for c in ("Summer-Deal", "summer-deal", "SUMMER-DEAL", "sUmMeR-dEaL"):
        for partner in ("acme", "other", "goodp"):
            dest = "https://good.com/" if partner == "goodp" else "https://example.com/"
            r = srv.post(LINKS, {"partner_id": ctx[partner]["id"], "destination_url": dest, "code": c},
                         key=ctx["admin"])
            expect(r, 409, field="code", etype="conflict")
    # A generated code is taken too.
    expect(srv.post(LINKS, {"partner_id": ctx["acme"]["id"], "destination_url": "https://example.com/",
                            "code": ctx["first"]["code"].upper()}, key=ctx["admin"]), 409, field="code")
    assert db_counts(srv, TABLES) == before


def test_concurrent_creates_of_one_code_make_one_link(srv, ctx):
    results = []
    lock = threading.Lock()

    def worker(i):
        r = srv.post(LINKS, {"partner_id": ctx["other"]["id"], "destination_url": "https://example.com/%d" % i,
                             "code": ["race-code", "RACE-CODE", "Race-Code"][i % 3]}, key=ctx["admin"])
        with lock:
            results.append(r.status)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(9)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [201] + [409] * 8, results


# ---- destinations ----

OPEN_REDIRECTS = [
    "javascript:alert(1)", "JavaScript:alert(document.cookie)", " javascript:alert(1)", "javascript://x.com/%0aalert(1)",
    "data:text/html,<script>alert(1)</script>", "vbscript:msgbox(1)", "file:///etc/passwd", "ftp://example.com/",
    "//evil.com", "//evil.com/path", "///evil.com", "/relative/path", "relative", "evil.com", "www.evil.com/x",
    "https://good.com@evil.com", "https://good.com:443@evil.com/", "https://user:pass@good.com/", "https://@evil.com",
    "https:\\\\evil.com", "https://good.com\\@evil.com", "https://evil.com\\good.com", "https://good.com/\\evil",
    "\\\\evil.com", "http:evil.com", "https:/evil.com", "https:///evil.com", "https://", "http://?x", "http://#x",
    "https://exa mple.com/", "https://example.com/ x", "https://example.com/\tx", "https://example.com/\nx",
    "https://exämple.com/", "https://example.com/ü", "https://-bad.com/",
    "https://bad-.com/", "https://a..b.com/", "https://.example.com/", "https://0x7f.1/", "https://2130706433/",
    "https://127.1/", "https://1.2.3/", "https://[::1/", "https://::1/", "https://[nothex::1]/",
    "https://example.com:0/", "https://example.com:65536/", "https://example.com:abc/", "https://example.com:/",
    "https://" + "a" * 64 + ".com/", "https://" + ("abcdefghi." * 26) + "com/", "https://ex_ample.com/",
    "https://example.com/" + "a" * 2030,
]


def test_bad_destinations_are_refused_with_the_field(srv, ctx):
    before = db_counts(srv, TABLES)
    for url in OPEN_REDIRECTS:
        r = srv.post(LINKS, {"partner_id": ctx["acme"]["id"], "destination_url": url}, key=ctx["admin"])
        expect(r, 400, field="destination_url", etype="invalid_request")
    expect(srv.post(LINKS, {"partner_id": ctx["acme"]["id"]}, key=ctx["admin"]), 400, field="destination_url")
    # A NUL byte is refused by the JSON parser already.
    expect(srv.post(LINKS, {"partner_id": ctx["acme"]["id"], "destination_url": "https://example.com/\x00"},
                    key=ctx["admin"]), 400)
    expect(srv.post(LINKS, {"partner_id": ctx["acme"]["id"], "destination_url": None}, key=ctx["admin"]), 400,
           field="destination_url")
    expect(srv.post(LINKS, {"partner_id": ctx["acme"]["id"], "destination_url": ["https://x.com"]},
                    key=ctx["admin"]), 400, field="destination_url")
    assert db_counts(srv, TABLES) == before


def test_good_destinations_are_accepted_as_given(srv, ctx):
    for url in ["http://example.com", "https://EXAMPLE.com:8443/a/b?c=d&e=%20f#frag", "https://[2001:db8::1]/x",
                "https://93.184.216.34/", "https://example.com./path", "https://sub.sub.example.co.uk/p?q",
                "https://xn--exmple-cua.com/", "HTTPS://example.com/", "https://example.com/" + "a" * 2000]:
        assert new(srv, ctx, partner="other", destination_url=url)["destination_url"] == url


def test_allowed_domains_limit_destinations(srv, ctx):
    ok = ["https://good.com/", "https://good.com", "http://good.com/x?y=1#z", "https://www.good.com/",
          "https://a.b.good.com/deep", "HTTPS://GOOD.COM/UPPER", "https://good.com:8443/", "https://good.com./"]
    for url in ok:
        assert new(srv, ctx, partner="goodp", destination_url=url)["destination_url"] == url
    refused = ["http://evil.com", "https://evil.com/", "https://good.com.evil.com/", "https://good.com.evil.com",
               "https://evilgood.com/", "https://notgood.com/", "https://good.co/", "https://good.comm/",
               "https://evil.com/good.com", "https://evil.com/?u=https://good.com", "https://evil.com#good.com",
               "https://good.com@evil.com/", "https://evil.com\\.good.com/", "https://93.184.216.34/",
               "https://[2001:db8::1]/", "//good.com", "javascript:alert('good.com')", "https://good.com%2eevil.com/",
               "https://xn--good-com.evil.com/", "https://good.com-evil.com/"]
    before = db_counts(srv, TABLES)
    for url in refused:
        r = srv.post(LINKS, {"partner_id": ctx["goodp"]["id"], "destination_url": url}, key=ctx["admin"])
        expect(r, 400, field="destination_url")
    assert db_counts(srv, TABLES) == before
    # A PATCH is held to the same rule.
    link = new(srv, ctx, partner="goodp", destination_url="https://shop.good.com/")
    for url in ("http://evil.com", "https://good.com.evil.com/", "https://good.com@evil.com"):
        expect(srv.patch(LINKS + "/" + link["id"], {"destination_url": url}, key=ctx["admin"]), 400,
               field="destination_url")
    assert get(srv, ctx, link["id"]) == link


def test_allowed_domains_with_several_entries(srv, ctx):
    prog = expect(srv.post(PROGRAMS, {"name": "Multi", "currency": "usd",
                                      "allowed_domains": ["Shop.Example.com", "example.org"]}, key=ctx["admin"]), 201)
    assert prog["allowed_domains"] == ["shop.example.com", "example.org"], "stored lower-case"
    p = expect(srv.post(PARTNERS, {"program_id": prog["id"], "name": "M", "email": "m@multi.example"},
                        key=ctx["admin"]), 201)
    for url in ("https://shop.example.com/", "https://eu.shop.example.com/", "https://example.org/",
                "https://www.example.org/"):
        expect(srv.post(LINKS, {"partner_id": p["id"], "destination_url": url}, key=ctx["admin"]), 201)
    for url in ("https://example.com/", "https://www.example.com/", "https://example.org.evil.com/"):
        expect(srv.post(LINKS, {"partner_id": p["id"], "destination_url": url}, key=ctx["admin"]), 400,
               field="destination_url")
    # Emptying the list allows any destination again.
    expect(srv.patch(PROGRAMS + "/" + prog["id"], {"allowed_domains": []}, key=ctx["admin"]), 200)
    expect(srv.post(LINKS, {"partner_id": p["id"], "destination_url": "https://anything.example.net/"},
                    key=ctx["admin"]), 201)


# ---- the program's link settings ----

def test_allowed_domains_take_host_names_and_ipv4_addresses(srv, ctx):
    prog = expect(srv.post(PROGRAMS, {"name": "Hosts", "currency": "usd",
                                      "allowed_domains": ["Shop.Test", "example.xn--p1ai", "203.0.113.7"]},
                           key=ctx["admin"]), 201)
    assert prog["allowed_domains"] == ["shop.test", "example.xn--p1ai", "203.0.113.7"], prog
    p = expect(srv.post(PARTNERS, {"program_id": prog["id"], "name": "H", "email": "h@hosts.example"},
                        key=ctx["admin"]), 201)
    for url in ("https://www.shop.test/", "https://example.xn--p1ai/", "https://203.0.113.7/x"):
        expect(srv.post(LINKS, {"partner_id": p["id"], "destination_url": url}, key=ctx["admin"]), 201)
    # An address is matched exactly: it has no subdomains.
    for url in ("https://203.0.113.8/", "https://1.203.0.113.7/"):
        expect(srv.post(LINKS, {"partner_id": p["id"], "destination_url": url}, key=ctx["admin"]), 400,
               field="destination_url")
    r = srv.patch(PROGRAMS + "/" + prog["id"], {"allowed_domains": ["shop.test", "null"]}, key=ctx["admin"])
    expect(r, 400, field="allowed_domains")
    assert "allowed_domains[1]" in r.json["error"]["message"] and "'null'" in r.json["error"]["message"], r
    assert expect(srv.get(PROGRAMS + "/" + prog["id"], key=ctx["admin"]), 200) == prog


def test_program_link_settings_defaults(srv, ctx):
    p = ctx["prog"]
    assert p["allowed_domains"] == [] and p["tracking_origins"] == []
    assert p["fallback_url"] is None
    assert p["repeat_click_minutes"] == 30 and p["protection_days"] == 90 and p["conflict_days"] == 90


def test_program_link_settings_round_trip(srv, ctx):
    body = {"name": "Settings", "currency": "usd", "allowed_domains": ["example.com", "shop.example.net"],
            "fallback_url": "https://example.com/?from=refd#top", "repeat_click_minutes": 0, "protection_days": 1,
            "conflict_days": 0, "tracking_origins": ["https://Shop.Example.com", "http://localhost:3000"]}
    p = expect(srv.post(PROGRAMS, body, key=ctx["admin"]), 201)
    assert p["allowed_domains"] == ["example.com", "shop.example.net"]
    assert p["fallback_url"] == "https://example.com/?from=refd#top"
    assert (p["repeat_click_minutes"], p["protection_days"], p["conflict_days"]) == (0, 1, 0)
    assert p["tracking_origins"] == ["https://shop.example.com", "http://localhost:3000"]
    assert expect(srv.get(PROGRAMS + "/" + p["id"], key=ctx["admin"]), 200) == p
    top = {"repeat_click_minutes": 10080, "protection_days": 3650, "conflict_days": 3650,
           "allowed_domains": ["d%d.example" % i for i in range(20)],
           "tracking_origins": ["https://o%d.example" % i for i in range(20)], "fallback_url": None}
    u = expect(srv.patch(PROGRAMS + "/" + p["id"], top, key=ctx["admin"]), 200)
    for k, v in top.items():
        assert u[k] == v, (k, u[k])
    assert u["name"] == "Settings"
    ctx["settings_prog"] = u


def test_program_link_settings_validation(srv, ctx):
    url = PROGRAMS + "/" + ctx["settings_prog"]["id"]
    bad = [
        ("repeat_click_minutes", -1), ("repeat_click_minutes", 10081), ("repeat_click_minutes", "5"),
        ("protection_days", 0), ("protection_days", 3651), ("conflict_days", -1), ("conflict_days", 3651),
        ("allowed_domains", "good.com"), ("allowed_domains", [""]), ("allowed_domains", ["good.com/x"]),
        ("allowed_domains", ["https://good.com"]), ("allowed_domains", ["good..com"]),
        ("allowed_domains", ["-good.com"]), ("allowed_domains", ["good.com:443"]), ("allowed_domains", ["a,b.com"]),
        ("allowed_domains", ["user@good.com"]), ("allowed_domains", ["good.com."]), ("allowed_domains", [" good.com"]),
        ("allowed_domains", ["gööd.com"]), ("allowed_domains", [7]), ("allowed_domains", ["x.com"] * 21),
        ("allowed_domains", ["a" * 61 + ".com"]), ("allowed_domains", None),
        # Not host names a link could go to: single labels (what a script's null or undefined becomes), a last
        # label that is no top-level domain, numbers that are no IPv4 address, IPv6 addresses.
        ("allowed_domains", ["null"]), ("allowed_domains", ["localhost"]), ("allowed_domains", ["undefined"]),
        ("allowed_domains", ["com"]), ("allowed_domains", ["good.com", "NaN"]), ("allowed_domains", ["example.c"]),
        ("allowed_domains", ["example.c0m"]), ("allowed_domains", ["example.123"]), ("allowed_domains", ["1.2.3"]),
        ("allowed_domains", ["256.1.1.1"]), ("allowed_domains", ["example.xn-a"]),
        ("allowed_domains", ["2001:db8::1"]), ("allowed_domains", ["[2001:db8::1]"]),
        ("tracking_origins", ["shop.example.com"]), ("tracking_origins", ["https://shop.example.com/"]),
        ("tracking_origins", ["https://shop.example.com/path"]), ("tracking_origins", ["https://shop.example.com?x"]),
        ("tracking_origins", ["ftp://shop.example.com"]), ("tracking_origins", ["https://a,b.example.com"]),
        ("tracking_origins", ["https://x.example"] * 21), ("tracking_origins", ["*"]),
        ("fallback_url", "javascript:alert(1)"), ("fallback_url", "//evil.com"), ("fallback_url", "/local"),
        ("fallback_url", "https://good.com@evil.com"), ("fallback_url", "ftp://example.com/"),
        ("fallback_url", "https://x.com/\\y"), ("fallback_url", "https://x.com/" + "a" * 2040),
    ]
    before = db_counts(srv, TABLES)
    prog_before = expect(srv.get(url, key=ctx["admin"]), 200)
    for field, value in bad:
        expect(srv.patch(url, {field: value}, key=ctx["admin"]), 400, field=field)
        expect(srv.post(PROGRAMS, {"name": "Bad", "currency": "usd", field: value}, key=ctx["admin"]), 400,
               field=field)
    assert expect(srv.get(url, key=ctx["admin"]), 200) == prog_before
    assert db_counts(srv, TABLES) == before


# ---- UTM parameters ----

def test_utm_parameters_are_added_to_the_target(srv, ctx):
    l = new(srv, ctx, destination_url="https://shop.example.com/p?x=1#sec", utm_source=" news ",
            utm_medium="email", utm_campaign="spring sale", utm_term="a&b=c/ü", utm_content="   ",
            campaign="  Spring  ")
    assert l["utm"] == {"source": "news", "medium": "email", "campaign": "spring sale", "term": "a&b=c/ü",
                        "content": None}, "trimmed; blank means none"
    assert l["campaign"] == "Spring"
    assert l["destination_url"] == "https://shop.example.com/p?x=1#sec"
    t = urlsplit(l["target_url"])
    assert (t.scheme, t.netloc, t.path, t.fragment) == ("https", "shop.example.com", "/p", "sec")
    assert query(l["target_url"]) == [("x", "1"), ("utm_source", "news"), ("utm_medium", "email"),
                                      ("utm_campaign", "spring sale"), ("utm_term", "a&b=c/ü")], l["target_url"]
    assert " " not in l["target_url"] and "ü" not in l["target_url"], "values are percent-encoded"
    ctx["utm"] = l


def test_utm_parameters_already_in_the_destination_win(srv, ctx):
    l = new(srv, ctx, destination_url="https://example.com/?utm_source=site&utm_medium=&a=b",
            utm_source="partner", utm_medium="referral", utm_campaign="c1")
    assert l["utm"]["source"] == "partner", "the link keeps its own value"
    q = query(l["target_url"])
    assert [v for k, v in q if k == "utm_source"] == ["site"], l["target_url"]
    assert [v for k, v in q if k == "utm_medium"] == [""], l["target_url"]
    assert [v for k, v in q if k == "utm_campaign"] == ["c1"], l["target_url"]
    assert ("a", "b") in q


def test_utm_changes_follow_on_patch(srv, ctx):
    l = ctx["utm"]
    u = expect(srv.patch(LINKS + "/" + l["id"], {"utm_source": None, "utm_term": "", "utm_content": "banner"},
                         key=ctx["admin"]), 200)
    assert u["utm"] == {"source": None, "medium": "email", "campaign": "spring sale", "term": None,
                        "content": "banner"}
    assert query(u["target_url"]) == [("x", "1"), ("utm_medium", "email"), ("utm_campaign", "spring sale"),
                                      ("utm_content", "banner")], u["target_url"]
    u = expect(srv.patch(LINKS + "/" + l["id"], {"destination_url": "https://other.example.com/"},
                         key=ctx["admin"]), 200)
    assert u["target_url"].startswith("https://other.example.com/?") and ("utm_content", "banner") in query(
        u["target_url"])
    assert get(srv, ctx, l["id"]) == u


def test_utm_length_limits(srv, ctx):
    for field, limit in (("utm_source", 200), ("utm_medium", 200), ("utm_campaign", 200), ("utm_term", 200),
                         ("utm_content", 200), ("campaign", 100)):
        assert new(srv, ctx, partner="other", **{field: "x" * limit})
        expect(srv.post(LINKS, {"partner_id": ctx["other"]["id"], "destination_url": "https://example.com/",
                                field: "x" * (limit + 1)}, key=ctx["admin"]), 400, field=field)
        expect(srv.post(LINKS, {"partner_id": ctx["other"]["id"], "destination_url": "https://example.com/",
                                field: 5}, key=ctx["admin"]), 400, field=field)


# ---- update and archive ----

def test_update_changes_only_what_is_given(srv, ctx):
    l = new(srv, ctx, campaign="before", utm_source="s")
    u = expect(srv.patch(LINKS + "/" + l["id"], {"destination_url": "https://www.example.com/new?z=1",
                                                  "campaign": "after"}, key=ctx["admin"]), 200)
    assert u["destination_url"] == "https://www.example.com/new?z=1" and u["campaign"] == "after"
    assert u["target_url"] == "https://www.example.com/new?z=1&utm_source=s"
    for k in ("id", "code", "partner_id", "program_id", "url", "created_at", "utm", "archived", "archived_at"):
        assert u[k] == l[k], k
    assert u["updated_at"] >= l["updated_at"]
    same = expect(srv.patch(LINKS + "/" + l["id"], {}, key=ctx["admin"]), 200)
    assert {k: v for k, v in same.items() if k != "updated_at"} == {k: v for k, v in u.items() if k != "updated_at"}
    # code and partner_id may be repeated but never changed.
    expect(srv.patch(LINKS + "/" + l["id"], {"code": l["code"], "partner_id": l["partner_id"]}, key=ctx["admin"]),
           200)
    before = db_counts(srv, TABLES)
    current = get(srv, ctx, l["id"])
    expect(srv.patch(LINKS + "/" + l["id"], {"code": "brand-new-code"}, key=ctx["admin"]), 400, field="code")
    expect(srv.patch(LINKS + "/" + l["id"], {"code": l["code"].upper()}, key=ctx["admin"]), 400, field="code")
    expect(srv.patch(LINKS + "/" + l["id"], {"partner_id": ctx["other"]["id"]}, key=ctx["admin"]), 400,
           field="partner_id")
    expect(srv.patch(LINKS + "/" + l["id"], {"campaign": "mixed", "code": "brand-new-code"}, key=ctx["admin"]), 400,
           field="code")
    expect(srv.patch(LINKS + "/" + l["id"], {"campaign": "mixed", "destination_url": "//evil.com"},
                     key=ctx["admin"]), 400, field="destination_url")
    expect(srv.patch(LINKS + "/" + l["id"], {"destination_url": None}, key=ctx["admin"]), 400,
           field="destination_url")
    expect(srv.patch(LINKS + "/" + l["id"], {"archived": "yes"}, key=ctx["admin"]), 400, field="archived")
    expect(srv.patch(LINKS + "/" + l["id"], {"nope": 1}, key=ctx["admin"]), 400, field="nope")
    assert get(srv, ctx, l["id"]) == current
    assert db_counts(srv, TABLES) == before


def test_unknown_links_are_404(srv, ctx):
    for lid in ("lnk_none", "nope", ctx["prog"]["id"]):
        expect(srv.get(LINKS + "/" + lid, key=ctx["admin"]), 404, field="id", etype="not_found")
        expect(srv.patch(LINKS + "/" + lid, {"campaign": "x"}, key=ctx["admin"]), 404, field="id")


def test_archive_and_restore(srv, ctx):
    l = new(srv, ctx, code="archive-me")
    a = expect(srv.patch(LINKS + "/" + l["id"], {"archived": True}, key=ctx["admin"]), 200)
    assert a["archived"] is True and a["archived_at"] and a["archived_at"].endswith("Z")
    assert get(srv, ctx, l["id"]) == a, "an archived link can still be read"
    again = expect(srv.patch(LINKS + "/" + l["id"], {"archived": True, "campaign": "old"}, key=ctx["admin"]), 200)
    assert again["archived_at"] == a["archived_at"], "archiving again keeps the first time"
    # The code stays taken.
    expect(srv.post(LINKS, {"partner_id": ctx["other"]["id"], "destination_url": "https://example.com/",
                            "code": "ARCHIVE-ME"}, key=ctx["admin"]), 409, field="code")
    listed = [x["id"] for x in walk_pages(srv, LINKS + "?partner_id=" + ctx["acme"]["id"], 100,
                                          key=ctx["admin"])[0]]
    assert l["id"] not in listed, "archived links are left out by default"
    listed = [x["id"] for x in walk_pages(srv, LINKS + "?include_archived=true&partner_id=" + ctx["acme"]["id"], 100,
                                          key=ctx["admin"])[0]]
    assert l["id"] in listed
    listed = [x["id"] for x in walk_pages(srv, LINKS + "?include_archived=false&partner_id=" + ctx["acme"]["id"],
                                          100, key=ctx["admin"])[0]]
    assert l["id"] not in listed
    r = expect(srv.patch(LINKS + "/" + l["id"], {"archived": False}, key=ctx["admin"]), 200)
    assert r["archived"] is False and r["archived_at"] is None and r["campaign"] == "old"
    # A new link is live: archived is for PATCH only.
    before = db_counts(srv, TABLES)
    for v in (True, False):
        expect(srv.post(LINKS, {"partner_id": ctx["acme"]["id"], "destination_url": "https://example.com/",
                                "archived": v}, key=ctx["admin"]), 400, field="archived")
    assert db_counts(srv, TABLES) == before


# ---- lists ----

def test_list_filters_and_pagination(srv, ctx):
    admin = ctx["admin"]
    mine = [new(srv, ctx, partner="agent", campaign="c-%d" % (i % 3)) for i in range(7)]
    items, pages = walk_pages(srv, LINKS + "?partner_id=" + ctx["agent"]["id"], 3, key=admin)
    assert [x["id"] for x in items] == [x["id"] for x in reversed(mine)], "newest first, each once"
    assert len(pages) == 3
    assert items[0] == get(srv, ctx, mine[-1]["id"])
    got = walk_pages(srv, LINKS + "?partner_id=%s&campaign=c-1" % ctx["agent"]["id"], 2, key=admin)[0]
    assert [x["id"] for x in got] == [x["id"] for x in reversed(mine) if x["campaign"] == "c-1"]
    good = walk_pages(srv, LINKS + "?program_id=" + ctx["good"]["id"], 100, key=admin)[0]
    assert good and all(x["program_id"] == ctx["good"]["id"] for x in good)
    assert all(x["partner_id"] == ctx["goodp"]["id"] for x in good)
    every = walk_pages(srv, LINKS, 100, key=admin)[0]
    assert len(every) == len({x["id"] for x in every}) and len(every) > len(good) + len(mine)
    assert expect(srv.get(LINKS + "?campaign=no-such-campaign", key=admin), 200) == {
        "object": "list", "data": [], "has_more": False}
    assert expect(srv.get(LINKS + "?partner_id=ptn_none", key=admin), 200)["data"] == []
    first = expect(srv.get(LINKS, key=admin), 200)
    assert len(first["data"]) == 20 and first["has_more"] is True, "20 by default"
    for q, field in (("limit=0", "limit"), ("limit=101", "limit"), ("limit=x", "limit"), ("bogus=1", "bogus"),
                     ("starting_after=lnk_none", "starting_after"), ("include_archived=yes", "include_archived"),
                     ("include_archived=1", "include_archived"), ("q=acme", "q"), ("status=active", "status")):
        expect(srv.get(LINKS + "?" + q, key=admin), 400, field=field)


# ---- scoped credentials ----

def test_partner_key_creates_only_for_its_own_team(srv, ctx):
    k = srv.admin_key(role="partner", partner=ctx["org"]["id"], name="org key")
    ctx["org_key"] = k
    own = expect(srv.post(LINKS, {"destination_url": "https://example.com/org"}, key=k), 201)
    assert own["partner_id"] == ctx["org"]["id"], "partner_id defaults to the caller's partner"
    agent = expect(srv.post(LINKS, {"partner_id": ctx["agent"]["id"], "destination_url": "https://example.com/a",
                                    "code": "team-agent-link"}, key=k), 201)
    assert agent["partner_id"] == ctx["agent"]["id"]
    before = db_counts(srv, TABLES)
    # A partner outside its team is, to it, one that does not exist: 400 naming partner_id, as for "ptn_none".
    for pid in (ctx["acme"]["id"], ctx["other"]["id"], ctx["goodp"]["id"], "ptn_none"):
        r = srv.post(LINKS, {"partner_id": pid, "destination_url": "https://good.com/"}, key=k)
        expect(r, 400, field="partner_id")
    assert db_counts(srv, TABLES) == before
    ctx["org_link"], ctx["agent_link"] = own, agent


def test_partner_key_sees_only_its_teams_links(srv, ctx):
    k = ctx["org_key"]
    team = {ctx["org"]["id"], ctx["agent"]["id"]}
    items = walk_pages(srv, LINKS, 5, key=k)[0]
    assert items and {x["partner_id"] for x in items} <= team
    admin_view = walk_pages(srv, LINKS, 100, key=ctx["admin"])[0]
    assert sorted(x["id"] for x in items) == sorted(x["id"] for x in admin_view if x["partner_id"] in team)
    assert expect(srv.get(LINKS + "?partner_id=" + ctx["acme"]["id"], key=k), 200)["data"] == []
    expect(srv.get(LINKS + "/" + ctx["agent_link"]["id"], key=k), 200)
    other = ctx["first"]
    expect(srv.get(LINKS + "/" + other["id"], key=k), 404, field="id")
    expect(srv.patch(LINKS + "/" + other["id"], {"campaign": "hijack"}, key=k), 404, field="id")
    expect(srv.patch(LINKS + "/" + other["id"], {"archived": True}, key=k), 404, field="id")
    assert get(srv, ctx, other["id"]) == other
    # Its own links it may change and archive.
    u = expect(srv.patch(LINKS + "/" + ctx["org_link"]["id"], {"campaign": "mine", "archived": True}, key=k), 200)
    assert u["campaign"] == "mine" and u["archived"] is True


def test_agent_key_sees_only_its_own_links(srv, ctx):
    k = srv.admin_key(role="partner", partner=ctx["agent"]["id"], name="agent key")
    items = walk_pages(srv, LINKS + "?include_archived=true", 100, key=k)[0]
    assert items and {x["partner_id"] for x in items} == {ctx["agent"]["id"]}
    expect(srv.get(LINKS + "/" + ctx["org_link"]["id"], key=k), 404)
    r = srv.post(LINKS, {"partner_id": ctx["org"]["id"], "destination_url": "https://example.com/"}, key=k)
    expect(r, 400, field="partner_id")


def test_manager_key_and_partner_session(srv, ctx):
    mk = srv.admin_key(role="manager", partner=ctx["org"]["id"], name="manager")
    l = expect(srv.post(LINKS, {"partner_id": ctx["agent"]["id"], "destination_url": "https://example.com/m"},
                        key=mk), 201)
    assert l["partner_id"] == ctx["agent"]["id"]
    r = srv.post(LINKS, {"partner_id": ctx["acme"]["id"], "destination_url": "https://example.com/"}, key=mk)
    expect(r, 400, field="partner_id")
    pw = srv.add_user("portal@northwind.example", "partner", partner=ctx["org"]["id"])
    s = srv.login("portal@northwind.example", pw)
    l = expect(srv.post(LINKS, {"destination_url": "https://example.com/portal", "code": "portal-link"},
                        session=s), 201)
    assert l["partner_id"] == ctx["org"]["id"]
    # A cookie-authenticated change needs the CSRF token.
    no_csrf = type(s)(s.cookie, None)
    expect(srv.post(LINKS, {"destination_url": "https://example.com/x"}, session=no_csrf), 403)
    expect(srv.patch(LINKS + "/" + l["id"], {"campaign": "x"}, session=no_csrf), 403)
    got = expect(srv.get(LINKS + "/" + l["id"], session=no_csrf), 200)
    assert got["campaign"] is None


def test_partner_that_is_not_active_cannot_create_links(srv, ctx):
    admin = ctx["admin"]
    p = expect(srv.post(PARTNERS, {"program_id": ctx["prog"]["id"], "name": "Paused", "email": "paused@p.example"},
                        key=admin), 201)
    k = srv.admin_key(role="partner", partner=p["id"], name="paused key")
    expect(srv.post(LINKS, {"destination_url": "https://example.com/"}, key=k), 201)
    expect(srv.post(PARTNERS + "/" + p["id"] + "/suspend", {"reason": "review"}, key=admin), 200)
    before = db_counts(srv, TABLES)
    expect(srv.post(LINKS, {"destination_url": "https://example.com/"}, key=k), 403, field="partner_id",
           etype="forbidden")
    expect(srv.post(LINKS, {"destination_url": "https://example.com/", "code": "paused-code"}, key=k), 403)
    assert db_counts(srv, TABLES) == before
    # An admin may still create links for it (they redirect without credit until it is active again).
    l = expect(srv.post(LINKS, {"partner_id": p["id"], "destination_url": "https://example.com/"}, key=admin), 201)
    assert l["partner_id"] == p["id"]
    expect(srv.post(PARTNERS + "/" + p["id"] + "/activate", key=admin), 200)
    expect(srv.post(LINKS, {"destination_url": "https://example.com/"}, key=k), 201)
    expect(srv.post(PARTNERS + "/" + p["id"] + "/ban", key=admin), 200)
    expect(srv.post(LINKS, {"destination_url": "https://example.com/"}, key=k), 403, field="partner_id")
    applied = expect(srv.post(PARTNERS, {"program_id": ctx["prog"]["id"], "name": "New", "email": "new@p.example",
                                         "status": "applied"}, key=admin), 201)
    ka = srv.admin_key(role="partner", partner=applied["id"], name="applied key")
    expect(srv.post(LINKS, {"destination_url": "https://example.com/"}, key=ka), 403, field="partner_id")


def test_admin_needs_a_partner_and_an_existing_one(srv, ctx):
    before = db_counts(srv, TABLES)
    expect(srv.post(LINKS, {"destination_url": "https://example.com/"}, key=ctx["admin"]), 400, field="partner_id")
    expect(srv.post(LINKS, {"partner_id": "ptn_none", "destination_url": "https://example.com/"}, key=ctx["admin"]),
           400, field="partner_id")
    expect(srv.post(LINKS, {"partner_id": None, "destination_url": "https://example.com/"}, key=ctx["admin"]), 400,
           field="partner_id")
    expect(srv.post(LINKS, {"partner_id": ctx["acme"]["id"], "destination_url": "https://example.com/", "x": 1},
                    key=ctx["admin"]), 400, field="x")
    expect(srv.post(LINKS, raw="{not json", key=ctx["admin"], headers={"Content-Type": "application/json"}), 400)
    expect(srv.post(LINKS, raw="[]", key=ctx["admin"], headers={"Content-Type": "application/json"}), 400)
    owner = srv.admin_key(role="owner", name="owner")
    expect(srv.post(LINKS, {"partner_id": ctx["other"]["id"], "destination_url": "https://example.com/o"},
                    key=owner), 201)
    after = db_counts(srv, TABLES)
    assert after["links"] == before["links"] + 1


def test_without_credentials_is_401(srv, ctx):
    lid = ctx["first"]["id"]
    before = db_counts(srv, TABLES)
    for method, path, body in (("GET", LINKS, None), ("POST", LINKS, {"destination_url": "https://example.com/"}),
                               ("GET", LINKS + "/" + lid, None), ("PATCH", LINKS + "/" + lid, {"archived": True})):
        expect(srv.request(method, path, body=body), 401, etype="unauthorized")
        expect(srv.request(method, path, body=body, key="rk_not_a_real_key"), 401)
    assert db_counts(srv, TABLES) == before
    assert get(srv, ctx, lid)["archived"] is False


# ---- the document ----

def test_answers_fit_the_openapi_document(srv, ctx):
    from test_openapi import Checker
    call = Checker(srv)
    admin, k = ctx["admin"], ctx["org_key"]
    l = call("POST", LINKS, 201, key=admin, body={
        "partner_id": ctx["acme"]["id"], "destination_url": "https://example.com/doc?a=1#f", "code": "doc-check",
        "campaign": "docs", "utm_source": "s", "utm_medium": "m", "utm_campaign": "c", "utm_term": "t",
        "utm_content": "x"})
    call("POST", LINKS, 201, key=k, body={"destination_url": "https://example.com/"})
    call("POST", LINKS, 400, key=admin, body={"partner_id": ctx["acme"]["id"], "destination_url": "//evil.com"})
    call("POST", LINKS, 409, key=admin, body={"partner_id": ctx["acme"]["id"],
                                              "destination_url": "https://example.com/", "code": "DOC-CHECK"})
    call("POST", LINKS, 401, body={})
    call("GET", LINKS + "?limit=2&include_archived=true", 200, key=admin)
    call("GET", LINKS + "?campaign=docs&program_id=%s&partner_id=%s" % (ctx["prog"]["id"], ctx["acme"]["id"]), 200,
         key=k)
    call("GET", LINKS + "?include_archived=maybe", 400, key=admin)
    call("GET", LINKS + "/" + l["id"], 200, key=admin)
    call("GET", LINKS + "/" + l["id"], 404, key=k)
    call("PATCH", LINKS + "/" + l["id"], 200, key=admin, body={"archived": True, "utm_term": None})
    call("PATCH", LINKS + "/" + l["id"], 400, key=admin, body={"code": "other-code"})
    call("PATCH", LINKS + "/lnk_none", 404, key=admin, body={})
    call("POST", PROGRAMS, 201, key=admin, body={"name": "Doc", "currency": "usd", "fallback_url": "https://a.example/",
                                                 "allowed_domains": ["a.example"], "repeat_click_minutes": 5,
                                                 "protection_days": 30, "conflict_days": 10,
                                                 "tracking_origins": ["https://a.example"]})
    assert {"POST /api/v1/links", "GET /api/v1/links", "GET /api/v1/links/{id}",
            "PATCH /api/v1/links/{id}"} <= call.covered
