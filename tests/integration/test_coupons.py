# SPDX-License-Identifier: Apache-2.0
"""Coupon codes as attribution (README "Coupons"): an admin gives a link a coupon (set, changed, cleared; unique in
its program without regard to case, 409 naming coupon on a clash; other programs may reuse it; partners may not set
one), and a sale from the API that used a partner's coupon credits that partner with the method coupon, over a
code, a click or the cookie (DESIGN.md: a code beats a cookie), but not over an explicit choice. A coupon of no link,
of an archived link or of a suspended partner credits nobody and is kept on the sale as given."""
from billing_story import commissions, explanation, money, program
from harness import expect

LINKS = "/api/v1/links"
SALES = "/api/v1/sales"


def setup(srv):
    ctx = program(srv, "Coupons", coupon=None)
    a = ctx["admin"]
    ctx["other"] = expect(srv.post("/api/v1/programs", {"name": "Other", "currency": "usd"}, key=a), 201)["id"]
    ctx["other_ptn"] = expect(srv.post("/api/v1/partners", {"program_id": ctx["other"], "name": "O",
                                                            "email": "o@partners.example"}, key=a), 201)["id"]
    ctx["partner_key"] = srv.admin_key(role="partner", partner=ctx["beta"], name="beta")
    ctx["gamma"] = expect(srv.post("/api/v1/partners", {"program_id": ctx["prog"], "name": "Gamma",
                                                        "email": "gamma@partners.example"}, key=a), 201)["id"]
    return ctx


def link(srv, ctx, partner, code, coupon=None, key=None, status=201, field=None):
    body = {"partner_id": partner, "code": code, "destination_url": "https://shop.example.com/"}
    if coupon is not None:
        body["coupon"] = coupon
    return expect(srv.post(LINKS, body, key=key or ctx["admin"]), status, field=field)


def sale(srv, ctx, ext, email, status=201, **kw):
    body = {"program_id": ctx["prog"], "external_id": ext, "email": email, "amount": money(10000)}
    body.update(kw)
    return expect(srv.post(SALES, body, key=ctx["admin"]), status)


def test_a_links_coupon_is_set_changed_and_cleared(srv, ctx):
    lnk = ctx["beta_link"]
    assert lnk["coupon"] is None, lnk
    got = expect(srv.patch(LINKS + "/" + lnk["id"], {"coupon": " BETA20 "}, key=ctx["admin"]), 200)
    assert got["coupon"] == "BETA20", got
    assert expect(srv.get(LINKS + "/" + lnk["id"], key=ctx["admin"]), 200)["coupon"] == "BETA20"
    assert expect(srv.patch(LINKS + "/" + lnk["id"], {"coupon": None}, key=ctx["admin"]), 200)["coupon"] is None
    assert expect(srv.patch(LINKS + "/" + lnk["id"], {"coupon": "BETA20"}, key=ctx["admin"]), 200)["coupon"]


def test_coupons_are_unique_per_program_without_regard_to_case(srv, ctx):
    r = link(srv, ctx, ctx["acme"], "ACME-2", coupon="beta20", status=409, field="coupon")
    assert "beta20" in r["error"]["message"], r
    mine = link(srv, ctx, ctx["acme"], "ACME-3", coupon="ACME15")
    expect(srv.patch(LINKS + "/" + mine["id"], {"coupon": "Beta20"}, key=ctx["admin"]), 409, field="coupon")
    assert expect(srv.get(LINKS + "/" + mine["id"], key=ctx["admin"]), 200)["coupon"] == "ACME15"
    # Another program has its own coupons.
    link(srv, ctx, ctx["other_ptn"], "OTHER-1", coupon="BETA20")
    ctx["acme_coupon_link"] = mine


def test_bad_coupons_and_partners_setting_them_are_refused(srv, ctx):
    for bad in ("two words", "tab\there", "é-accent", "x" * 65):
        r = srv.patch(LINKS + "/" + ctx["beta_link"]["id"], {"coupon": bad}, key=ctx["admin"])
        expect(r, 400, field="coupon")
    expect(srv.patch(LINKS + "/" + ctx["beta_link"]["id"], {"coupon": 5}, key=ctx["admin"]), 400, field="coupon")
    link(srv, ctx, ctx["beta"], "BETA-OWN", coupon="MINE", key=ctx["partner_key"], status=403, field="coupon")
    expect(srv.patch(LINKS + "/" + ctx["beta_link"]["id"], {"coupon": "MINE"}, key=ctx["partner_key"]), 403,
           field="coupon")
    # A partner still sees its coupon, and changes other things of the link.
    got = expect(srv.patch(LINKS + "/" + ctx["beta_link"]["id"], {"campaign": "spring"}, key=ctx["partner_key"]),
                 200)
    assert got["coupon"] == "BETA20", got


def test_a_coupon_beats_a_code_a_click_and_the_cookie(srv, ctx):
    s = sale(srv, ctx, "inv-c1", "c1@example.com", code="ACME10", coupon="beta20")
    assert s["partner_id"] == ctx["beta"] and s["attribution"] == {"method": "coupon", "coupon": "beta20"}, s
    lead = expect(srv.get("/api/v1/leads/" + s["lead_id"], key=ctx["admin"]), 200)
    assert lead["attribution"]["method"] == "coupon" and lead["attribution"]["partner_id"] == ctx["beta"], lead
    es = commissions(srv, ctx, s["id"])
    assert [(e["partner_id"], e["earned"]) for e in es] == [(ctx["beta"], money(2000))], es
    x = explanation(srv, ctx, es[0]["id"])
    assert x["source"] == {"system": "api", "event_id": None, "method": "coupon", "coupon": "beta20"}, x
    assert "coupon beta20" in x["text"], x["text"]


def test_a_coupon_takes_the_sale_of_a_lead_another_partner_brought(srv, ctx):
    lead = expect(srv.post("/api/v1/leads", {"program_id": ctx["prog"], "email": "c2@example.com",
                                             "code": "ACME10"}, key=ctx["admin"]), 201)
    assert lead["attribution"]["method"] == "code", lead
    s = sale(srv, ctx, "inv-c2", "c2@example.com", coupon="BETA20")
    assert s["partner_id"] == ctx["beta"] and s["attribution"]["method"] == "coupon", s
    # The lead keeps who brought it.
    lead = expect(srv.get("/api/v1/leads/" + lead["id"], key=ctx["admin"]), 200)
    assert lead["attribution"]["partner_id"] == ctx["acme"], lead
    # The next sale without the coupon goes back to the lead's partner.
    s = sale(srv, ctx, "inv-c2b", "c2@example.com")
    assert s["partner_id"] == ctx["acme"] and s["attribution"] == {"method": "code", "coupon": None}, s


def test_an_explicit_choice_beats_a_coupon(srv, ctx):
    s = sale(srv, ctx, "inv-c3", "c3@example.com", partner_id=ctx["gamma"], coupon="BETA20")
    assert s["partner_id"] == ctx["gamma"] and s["attribution"] == {"method": "explicit", "coupon": "BETA20"}, s


def test_coupons_that_credit_nobody_are_kept_as_given(srv, ctx):
    s = sale(srv, ctx, "inv-c4", "c4@example.com", coupon="BLACKFRIDAY")
    assert s["partner_id"] is None and s["attribution"] == {"method": "none", "coupon": "BLACKFRIDAY"}, s
    s = sale(srv, ctx, "inv-c5", "c5@example.com", code="ACME10", coupon="BLACKFRIDAY")
    assert s["partner_id"] == ctx["acme"] and s["attribution"]["method"] == "code", s
    # An archived link's coupon, and a suspended partner's, credit nobody.
    expect(srv.patch(LINKS + "/" + ctx["acme_coupon_link"]["id"], {"archived": True}, key=ctx["admin"]), 200)
    s = sale(srv, ctx, "inv-c6", "c6@example.com", coupon="acme15")
    assert s["partner_id"] is None and s["attribution"]["coupon"] == "acme15", s
    expect(srv.post("/api/v1/partners/" + ctx["beta"] + "/suspend", {"reason": "review"}, key=ctx["admin"]), 200)
    s = sale(srv, ctx, "inv-c7", "c7@example.com", coupon="BETA20", code="ACME10")
    assert s["partner_id"] == ctx["acme"] and s["attribution"]["method"] == "code", s
    expect(srv.post("/api/v1/partners/" + ctx["beta"] + "/activate", {"reason": "cleared"}, key=ctx["admin"]), 200)


def test_a_replayed_sale_keeps_its_first_credit(srv, ctx):
    first = sale(srv, ctx, "inv-c8", "c8@example.com", coupon="BETA20")
    again = sale(srv, ctx, "inv-c8", "c8@example.com", status=200, coupon="ACME10-NOPE", code="ACME10")
    assert again["id"] == first["id"] and again["partner_id"] == ctx["beta"] and again["duplicate"] is True, again
