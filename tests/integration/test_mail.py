# SPDX-License-Identifier: Apache-2.0
"""Mail to partners and admins, through a real SMTP server (aiosmtpd in tests/smtp_sink.py, run by Debian's
/usr/bin/python3): each message's header fields (Message-ID, Date, From, To, Subject in encoded words), its MIME
structure read with Python's email package, its links opening refd's pages; application, deal and payout mail; the
daily digests of partners and admins and the deal reminders, driven by the test clock; one-click unsubscribe (RFC
8058) and the notification settings; retries when the server refuses for a while, giving up after a day or at a
permanent refusal; no transaction held while the server is slow; STARTTLS and a login; the log transport when no
SMTP server is configured, with the password reset working as before; and no mail for a change rolled back."""
import datetime
import email
import email.policy
import email.utils
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.parse

from harness import Refd, db_rows, db_write, expect

HERE = os.path.dirname(os.path.abspath(__file__))
SINK = os.path.join(HERE, "..", "smtp_sink.py")
DAY = 86400 * 1000
HOUR = 3600 * 1000
DIGEST_HOUR = 6
FROM = "Acme Partners <partners@acme.example>"
PW = "correct horse battery"


class Mail:
    """One message the SMTP server took: its envelope and the message as Python's email package reads it."""

    def __init__(self, meta, raw):
        self.meta = meta
        self.raw = raw
        self.msg = email.message_from_bytes(raw, policy=email.policy.default)
        self.to = meta["rcpt_tos"][0]
        self.subject = str(self.msg["Subject"])

    def text(self):
        return self.msg.get_body(("plain",)).get_content()

    def html(self):
        return self.msg.get_body(("html",)).get_content()

    def links(self, base):
        return re.findall(re.escape(base) + r"/\S+", self.text())

    def __repr__(self):
        return "<Mail to %s: %s>" % (self.to, self.subject)


class Sink:
    """tests/smtp_sink.py in a folder of its own, on a free port."""

    def __init__(self, *args):
        self.dir = tempfile.mkdtemp(prefix="refd-smtp-")
        self.proc = subprocess.Popen(["/usr/bin/python3", SINK, self.dir, *args], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line:
            raise AssertionError("the SMTP sink did not start: %s" % self.proc.stderr.read())
        self.port = json.loads(line)["port"]
        self.url = "smtp://127.0.0.1:%d" % self.port

    def refuse(self, *replies):
        with open(os.path.join(self.dir, "refuse"), "w") as f:
            f.write("".join(r + "\n" for r in replies))

    def hold(self, on):
        """While on, the server leaves DATA unanswered; returns once a message is waiting (when turned on)."""
        path = os.path.join(self.dir, "hold")
        if not on:
            os.remove(path)
            return
        open(path, "w").close()

    def holding(self):
        return os.path.exists(os.path.join(self.dir, "holding"))

    def received(self):
        out = []
        for name in sorted(os.listdir(self.dir)):
            if name.endswith(".json"):
                base = os.path.join(self.dir, name[:-5])
                with open(base + ".json") as f:
                    meta = json.load(f)
                with open(base + ".eml", "rb") as f:
                    out.append(Mail(meta, f.read()))
        return out

    def wait_for(self, to, subject=None, count=1, timeout=15):
        """The messages to `to` (whose subject contains `subject`), once there are count of them."""
        deadline = time.time() + timeout
        while True:
            got = [m for m in self.received() if m.to == to and (subject is None or subject in m.subject)]
            if len(got) >= count:
                return got
            if time.time() > deadline:
                raise AssertionError("no mail to %s about %r; the server has %r" % (to, subject, self.received()))
            time.sleep(0.03)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


class MailRefd(Refd):
    """refd sending through a sink (or writing mail to its log without one); jobs run when the clock moves."""

    def __init__(self, sink=None, extra=(), env=None):
        self.sink = sink
        args = ["--jobs-interval-ms", "86400000", "--digest-hour", str(DIGEST_HOUR)]
        if sink:
            args += ["--smtp-url", sink.url, "--mail-from", FROM]
        super().__init__(extra_args=args + list(extra), env=env)

    def cleanup(self):
        try:
            super().cleanup()
        finally:
            if self.sink:
                self.sink.stop()


def make_server():
    srv = MailRefd(Sink())
    try:
        return srv.start()
    except Exception:
        srv.cleanup()
        raise


def move_to(srv, ctx, day, hour=DIGEST_HOUR + 1, wait=True):
    """Moves refd's clock to `hour` o'clock (UTC) of day `day` after the test's first day; with wait, waits until
    the jobs composed that day's mail (refd logs "daily mail digests done" for the day)."""
    target = ctx["day0"] + day * DAY + hour * HOUR
    ctx["offset"] = target - int(time.time() * 1000)
    srv.set_clock(ctx["offset"])
    if not wait:
        return
    date = datetime.datetime.fromtimestamp((ctx["day0"] + day * DAY) / 1000, datetime.timezone.utc).date()
    deadline = time.time() + 20
    while not [l for l in srv.logs() if l.get("msg") == "daily mail digests done" and l.get("detail") == str(date)]:
        if time.time() > deadline:
            raise AssertionError("the jobs did not compose the mail of %s" % date)
        time.sleep(0.03)


def server_now(ctx):
    return int(time.time() * 1000) + ctx["offset"]


def setup(srv):
    ctx = {"admin": srv.admin_key(), "offset": 0}
    now = int(time.time() * 1000)
    ctx["day0"] = now - now % DAY + DAY
    move_to(srv, ctx, 0)
    srv.add_user("owner@acme.example", "owner")
    ctx["prog"] = expect(srv.post("/api/v1/programs", {
        "name": "Programme Été", "currency": "usd", "protection_days": 5,
        "payout_threshold": {"amount": 100, "currency": "usd"}}, key=ctx["admin"]), 201)
    expect(srv.patch("/api/v1/programs/" + ctx["prog"]["id"], {"partner_signup": "review"}, key=ctx["admin"]), 200)
    expect(srv.post("/api/v1/plans", {"program_id": ctx["prog"]["id"], "name": "Base", "default": True,
                                      "rules": {"sale_bps": 1000}}, key=ctx["admin"]), 201)
    ctx["base"] = "http://127.0.0.1:%d" % srv.port
    return ctx


def outbox(srv, ctx, **query):
    q = urllib.parse.urlencode(dict(query, limit=100))
    return expect(srv.get("/api/v1/mail/messages?" + q, key=ctx["admin"]), 200)["data"]


def partner(srv, ctx, name, email_addr, program=None):
    p = expect(srv.post("/api/v1/partners", {"program_id": program or ctx["prog"]["id"], "name": name,
                                             "email": email_addr}, key=ctx["admin"]), 201)
    return p, srv.admin_key(role="partner", partner=p["id"], name=name)


def sale(srv, ctx, partner_id, amount, program=None, currency="usd"):
    ctx["sales"] = ctx.get("sales", 0) + 1
    return expect(srv.post("/api/v1/sales", {
        "program_id": program or ctx["prog"]["id"], "email": "buyer%d@customers.example" % ctx["sales"],
        "partner_id": partner_id, "external_id": "inv-mail-%d" % ctx["sales"],
        "amount": {"amount": amount, "currency": currency}}, key=ctx["admin"]), 201)


def pay(srv, ctx, program_id, reference):
    admin = ctx["admin"]
    run = expect(srv.post("/api/v1/payout-runs", {"program_id": program_id}, key=admin), 201)
    expect(srv.post("/api/v1/payout-runs/%s/approve" % run["id"], key=admin), 200)
    return expect(srv.post("/api/v1/payout-runs/%s/mark-paid" % run["id"], {"reference": reference}, key=admin), 200)


def unsubscribe_url(mail):
    header = str(mail.msg["List-Unsubscribe"])
    m = re.fullmatch(r"<(https?://[^>]+)>", header)
    assert m, header
    return m.group(1)


def test_application_mail_headers_and_mime(srv, ctx):
    joined = expect(srv.post("/api/v1/portal/signup", {
        "program_id": ctx["prog"]["id"], "name": "Zoë Ünal", "email": "zoe@partners.example",
        "password": PW}), 201)
    ctx["zoe"] = joined["partner"]
    ctx["zoe_key"] = srv.admin_key(role="partner", partner=ctx["zoe"]["id"], name="zoe")
    m = srv.sink.wait_for("zoe@partners.example", "We received your application")[0]
    # The envelope and the header fields.
    assert m.meta["mail_from"] == "partners@acme.example" and m.meta["rcpt_tos"] == ["zoe@partners.example"], m.meta
    assert email.utils.parseaddr(str(m.msg["From"])) == ("Acme Partners", "partners@acme.example"), m.msg["From"]
    assert str(m.msg["To"]) == "Zoë Ünal <zoe@partners.example>", m.msg["To"]
    assert str(m.msg["Subject"]) == "We received your application to Programme Été", m.msg["Subject"]
    head = m.raw.split(b"\r\n\r\n", 1)[0]
    assert re.search(rb"^Subject: =\?UTF-8\?B\?[A-Za-z0-9+/=]+\?=", head, re.M), head
    assert re.search(rb"^To: =\?UTF-8\?B\?", head, re.M), head
    stored = outbox(srv, ctx, recipient="zoe@partners.example", category="application")
    assert len(stored) == 1 and stored[0]["event_id"].startswith("evt_"), stored
    assert str(m.msg["Message-ID"]) == stored[0]["message_id"], (m.msg["Message-ID"], stored)
    assert re.fullmatch(r"<msg_[0-9A-Za-z]+@127\.0\.0\.1>", stored[0]["message_id"]), stored
    sent = email.utils.parsedate_to_datetime(str(m.msg["Date"])).timestamp() * 1000
    assert abs(sent - server_now(ctx)) < 10 * 60 * 1000, (m.msg["Date"], server_now(ctx))
    assert str(m.msg["MIME-Version"]) == "1.0" and str(m.msg["Auto-Submitted"]) == "auto-generated", head
    assert m.msg["List-Unsubscribe"] is None, "a decision on an application always goes: nothing to unsubscribe"
    # Every line ends with CRLF and none is longer than 998 characters.
    assert b"\n" not in m.raw.replace(b"\r\n", b""), "a bare line feed"
    assert max(len(line) for line in m.raw.split(b"\r\n")) <= 998
    # A plain text and an HTML part, both UTF-8, quoted-printable.
    assert m.msg.get_content_type() == "multipart/alternative", m.msg.get_content_type()
    parts = list(m.msg.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"], parts
    for p in parts:
        assert p.get_content_charset() == "utf-8" and p["Content-Transfer-Encoding"] == "quoted-printable", p
    assert "Hello Zoë Ünal," in m.text() and "Programme Été" in m.text(), m.text()
    html = m.html()
    assert html.startswith("<!DOCTYPE html>") and "Programme Été" in html and "<title>" in html, html
    link = ctx["base"] + "/portal#home"
    assert m.links(ctx["base"]) == [link] and 'href="%s"' % link in html, (m.links(ctx["base"]), html)
    # The link opens the partner portal.
    page = srv.get(urllib.parse.urlsplit(link).path)
    assert page.status == 200 and "<title>Partner portal</title>" in page.body, page

    expect(srv.post("/api/v1/partners/%s/activate" % ctx["zoe"]["id"], key=ctx["admin"]), 200)
    m = srv.sink.wait_for("zoe@partners.example", "your application is approved")[0]
    assert m.subject == "Welcome to Programme Été: your application is approved", m.subject
    assert m.links(ctx["base"]) == [ctx["base"] + "/portal#links"], m.text()


def test_rejected_applications_and_deal_decisions(srv, ctx):
    admin = ctx["admin"]
    remi = expect(srv.post("/api/v1/portal/signup", {"program_id": ctx["prog"]["id"], "name": "Rémi",
                                                     "email": "remi@partners.example", "password": PW}), 201)
    expect(srv.post("/api/v1/partners/%s/ban" % remi["partner"]["id"], {"reason": "Not a fit for now"}, key=admin),
           200)
    m = srv.sink.wait_for("remi@partners.example", "Your application to Programme Été")[0]
    assert "Their reason: Not a fit for now" in m.text(), m.text()

    key = ctx["zoe_key"]
    deal = expect(srv.post("/api/v1/leads", {"program_id": ctx["prog"]["id"], "email": "cto@bigco.example",
                                             "company": "BigCo"}, key=key), 201)
    assert deal["status"] == "pending_review", deal
    approved = expect(srv.post("/api/v1/leads/%s/approve" % deal["id"], key=admin), 200)
    m = srv.sink.wait_for("zoe@partners.example", "Deal registration approved: BigCo")[0]
    until = approved["registration"]["protected_until"][:10]
    assert "protected until %s" % until in m.text(), (until, m.text())
    link = ctx["base"] + "/portal#lead/" + deal["id"]
    assert m.links(ctx["base"]) == [link], m.text()
    # The object of the link is the partner's to see.
    expect(srv.get("/api/v1/leads/" + deal["id"], key=key), 200)

    other = expect(srv.post("/api/v1/leads", {"program_id": ctx["prog"]["id"], "email": "ceo@known.example",
                                              "name": "Known Buyer"}, key=key), 201)
    expect(srv.post("/api/v1/leads/%s/reject" % other["id"], {"reason": "Already a customer"}, key=admin), 200)
    m = srv.sink.wait_for("zoe@partners.example", "Deal registration rejected: Known Buyer")[0]
    assert "Their reason: Already a customer" in m.text(), m.text()


def test_payout_mail_with_its_statement_in_each_currency(srv, ctx):
    admin = ctx["admin"]
    zoe = ctx["zoe"]["id"]
    com = sale(srv, ctx, zoe, 10000)["commissions"][0]
    expect(srv.post("/api/v1/commissions/%s/approve" % com["id"], key=admin), 200)
    pay(srv, ctx, ctx["prog"]["id"], "BATCH-7")
    m = srv.sink.wait_for("zoe@partners.example", "Payout sent")[0]
    assert m.subject == "Payout sent: 10.00 USD", m.subject
    text = m.text()
    assert "sent you 10.00 USD" in text and "(reference BATCH-7)" in text and "It pays 1 commission:" in text, text
    assert "Sale | 10.00 USD" in text and "Your balance now:" in text, text
    # The statement of the payout's month, up to its day: following it shows the payout and what it paid.
    day = datetime.datetime.fromtimestamp(server_now(ctx) / 1000, datetime.timezone.utc).date()
    link = ctx["base"] + "/portal#statements?from=%s&to=%s" % (day.replace(day=1), day)
    assert m.links(ctx["base"])[0] == link and 'href="%s"' % link.replace("&", "&amp;") in m.html(), text
    frm, to = day.replace(day=1), day + datetime.timedelta(days=1)
    st = expect(srv.get("/api/v1/partners/%s/statement?from=%sT00:00:00Z&to=%sT00:00:00Z" % (zoe, frm, to),
                        key=ctx["zoe_key"]), 200)
    assert [l for l in st["lines"] if "BATCH-7" in (l.get("description") or "")], st["lines"]
    # An optional kind: RFC 8058's two header fields, the same link at the foot.
    url = unsubscribe_url(m)
    assert url.startswith(ctx["base"] + "/api/v1/unsubscribe?token=%s.payout." % zoe), url
    assert str(m.msg["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click", m.msg["List-Unsubscribe-Post"]
    assert url in text, text

    # Yen have no decimals.
    yen = expect(srv.post("/api/v1/programs", {"name": "Yen", "currency": "jpy",
                                               "payout_threshold": {"amount": 1, "currency": "jpy"}},
                          key=admin), 201)["id"]
    expect(srv.post("/api/v1/plans", {"program_id": yen, "name": "Yen plan", "default": True,
                                      "rules": {"sale_bps": 1000}}, key=admin), 201)
    kenji, _ = partner(srv, ctx, "Kenji", "kenji@partners.example", program=yen)
    com = sale(srv, ctx, kenji["id"], 150000, program=yen, currency="jpy")["commissions"][0]
    expect(srv.post("/api/v1/commissions/%s/approve" % com["id"], key=admin), 200)
    pay(srv, ctx, yen, "YEN-1")
    m = srv.sink.wait_for("kenji@partners.example", "Payout sent")[0]
    assert m.subject == "Payout sent: 15000 JPY", m.subject
    assert "15000 JPY" in m.text(), m.text()


def test_commission_digest_once_a_day(srv, ctx):
    lee, ctx["lee_key"] = partner(srv, ctx, "Lee", "lee@partners.example")
    ctx["lee"] = lee
    sale(srv, ctx, lee["id"], 10000)
    sale(srv, ctx, lee["id"], 5000)
    move_to(srv, ctx, 1)
    m = srv.sink.wait_for("lee@partners.example", "new commission")[0]
    assert m.subject == "2 new commissions: 15.00 USD", m.subject
    text = m.text()
    assert text.count("| Sale |") == 2 and "10.00 USD" in text and "5.00 USD" in text, text
    assert "In all: 15.00 USD." in text, text
    assert m.links(ctx["base"])[0] == ctx["base"] + "/portal#commissions", text
    assert "/api/v1/unsubscribe?token=%s.commissions_digest." % lee["id"] in unsubscribe_url(m)
    # The same day again: no second digest. The next day's holds only what is new since.
    move_to(srv, ctx, 1, hour=DIGEST_HOUR + 3, wait=False)
    sale(srv, ctx, lee["id"], 2000)
    move_to(srv, ctx, 2)
    later = srv.sink.wait_for("lee@partners.example", "new commission", count=2)
    assert len(later) == 2 and later[1].subject == "1 new commission: 2.00 USD", later
    assert len(outbox(srv, ctx, recipient="lee@partners.example", category="commissions_digest")) == 2


def test_one_click_unsubscribe(srv, ctx):
    lee = ctx["lee"]
    m = srv.sink.wait_for("lee@partners.example", "new commission")[0]
    url = unsubscribe_url(m)
    path = url[len(ctx["base"]):]
    # The link's page: a button that posts the one-click form; nothing changes by looking.
    page = srv.get(path)
    assert page.status == 200 and page.header("Content-Type").startswith("text/html"), page
    assert "lee@partners.example" in page.body and 'method="post"' in page.body, page.body
    assert page.header("Referrer-Policy") == "no-referrer", page.headers
    # A token altered or cut short is refused, and changes nothing.
    bad = path[:-1] + ("0" if path[-1] != "0" else "1")
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    assert srv.get(bad).status == 400
    assert srv.post(bad, raw="List-Unsubscribe=One-Click", headers=form).status == 400
    assert srv.post(path[:-10], raw="List-Unsubscribe=One-Click", headers=form).status == 400

    def digest_on():
        got = expect(srv.get("/api/v1/notifications", key=ctx["lee_key"]), 200)["categories"]
        return [c["enabled"] for c in got if c["category"] == "commissions_digest"] == [True]

    assert digest_on()
    # RFC 8058's POST: no session, no CSRF token, no cookie.
    r = srv.post(path, raw="List-Unsubscribe=One-Click", headers=form)
    assert r.status == 200 and "Unsubscribed" in r.body, r
    assert not digest_on()
    assert srv.post(path, raw="List-Unsubscribe=One-Click", headers=form).status == 200  # again: the same
    # The next digest skips Lee; Zoë still gets hers.
    sale(srv, ctx, lee["id"], 3000)
    sale(srv, ctx, ctx["zoe"]["id"], 3000)
    before = len(outbox(srv, ctx, recipient="zoe@partners.example", category="commissions_digest"))
    move_to(srv, ctx, 3)
    assert len(outbox(srv, ctx, recipient="zoe@partners.example", category="commissions_digest")) == before + 1
    assert len(outbox(srv, ctx, recipient="lee@partners.example", category="commissions_digest")) == 2

    # Mail Lee cannot do without still goes: a password reset, whose link works.
    expect(srv.post("/api/v1/users", {"email": "lee@partners.example", "role": "partner", "partner_id": lee["id"],
                                      "password": PW}, key=ctx["admin"]), 201)
    expect(srv.post("/api/v1/auth/password-reset", {"email": "lee@partners.example"}), 202)
    reset = srv.sink.wait_for("lee@partners.example", "Set a new password")[0]
    assert reset.msg["List-Unsubscribe"] is None
    link = [l for l in reset.links(ctx["base"]) if "#reset=" in l]
    assert len(link) == 1 and link[0].startswith(ctx["base"] + "/portal#reset="), reset.text()
    token = link[0].split("#reset=", 1)[1]
    expect(srv.post("/api/v1/auth/password-reset/confirm", {"token": token, "password": "a new password here"}),
           200)
    expect(srv.post("/api/v1/auth/login", {"email": "lee@partners.example", "password": "a new password here"}),
           200)
    # The token is nowhere in the database: the sealed message lost its bodies once sent, and no event holds it.
    stored = outbox(srv, ctx, recipient="lee@partners.example", category="password_reset")
    assert len(stored) == 1 and stored[0]["sealed"] and stored[0]["link"] is None, stored
    row = db_rows(srv, "SELECT text_body, html_body, link FROM mail_messages WHERE id = ?", (stored[0]["id"],))[0]
    assert row == {"text_body": "", "html_body": "", "link": None}, row
    for table, column in (("events", "data"), ("mail_messages", "text_body"), ("mail_messages", "html_body"),
                          ("audit_log", "detail")):
        assert not db_rows(srv, "SELECT 1 AS x FROM %s WHERE %s LIKE ?" % (table, column), ("%" + token + "%",))


def test_notification_settings(srv, ctx):
    admin = ctx["admin"]
    session = srv.login("zoe@partners.example", PW)
    mine = expect(srv.get("/api/v1/notifications", session=session), 200)
    assert mine["subject_id"] == ctx["zoe"]["id"] and mine["email"] == "zoe@partners.example", mine
    assert mine["transport"] == "smtp", mine
    kinds = {c["category"]: (c["optional"], c["enabled"]) for c in mine["categories"]}
    assert kinds == {"application": (False, True), "deal": (False, True), "password_reset": (False, True),
                     "commissions_digest": (True, True), "deal_reminder": (True, True), "payout": (True, True)}, kinds
    # Refused by name, changing nothing: a kind that always goes, an admin's kind, a wrong type.
    for body, field in (({"deal": False}, "deal"), ({"admin_digest": False}, "admin_digest"),
                        ({"payout": "no"}, "payout"), ({"payout": None}, "payout")):
        expect(srv.patch("/api/v1/notifications", body, session=session), 400, field=field)
    off = expect(srv.patch("/api/v1/notifications", {"payout": False}, session=session), 200)
    assert [c["enabled"] for c in off["categories"] if c["category"] == "payout"] == [False], off
    # A payout now sends Zoë nothing: composed in its transaction, so the outbox shows it at once.
    paid_before = len(outbox(srv, ctx, recipient="zoe@partners.example", category="payout"))
    com = sale(srv, ctx, ctx["zoe"]["id"], 4000)["commissions"][0]
    expect(srv.post("/api/v1/commissions/%s/approve" % com["id"], key=admin), 200)
    pay(srv, ctx, ctx["prog"]["id"], "BATCH-8")
    assert len(outbox(srv, ctx, recipient="zoe@partners.example", category="payout")) == paid_before
    expect(srv.patch("/api/v1/notifications", {"payout": True}, session=session), 200)
    com = sale(srv, ctx, ctx["zoe"]["id"], 6000)["commissions"][0]
    expect(srv.post("/api/v1/commissions/%s/approve" % com["id"], key=admin), 200)
    pay(srv, ctx, ctx["prog"]["id"], "BATCH-9")
    assert srv.sink.wait_for("zoe@partners.example", "Payout sent: 6.00 USD")
    # An admin API key is no person: it has no settings.
    expect(srv.get("/api/v1/notifications", key=admin), 403)


def test_admin_digest_of_what_waits(srv, ctx):
    admin, prog = ctx["admin"], ctx["prog"]["id"]
    # What waits: an application, a registration to review, a held commission, a disabled webhook endpoint.
    expect(srv.post("/api/v1/portal/signup", {"program_id": prog, "name": "Ada Waiting",
                                              "email": "ada@partners.example", "password": PW}), 201)
    expect(srv.post("/api/v1/leads", {"program_id": prog, "email": "cfo@pending.example", "company": "PendingCo"},
                    key=ctx["zoe_key"]), 201)
    com = sale(srv, ctx, ctx["lee"]["id"], 1000)["commissions"][0]
    expect(srv.post("/api/v1/commissions/%s/hold" % com["id"], {"reason": "checking"}, key=admin), 200)
    blob = "X'00'" if srv.db_kind == "sqlite" else "decode('00', 'hex')"
    assert db_write(srv, "INSERT INTO webhook_endpoints (id, url, event_types, secret_sealed, status, "
                         "disabled_reason, created_at, updated_at) VALUES ('wh_mailtest', "
                         "'https://hooks.example/refd', '[\"*\"]', %s, 'disabled', 'HTTP 500 for a day', 1, 1)"
                    % blob) is None
    move_to(srv, ctx, 4)
    m = srv.sink.wait_for("owner@acme.example", "What waits in refd")[0]
    assert m.subject == ("What waits in refd: 1 application, 1 deal registration, 1 held commission, "
                         "1 webhook endpoint in trouble"), m.subject
    text = m.text()
    assert "Programme Été:" in text and "The webhook endpoint https://hooks.example/refd is disabled: HTTP 500 " \
                                        "for a day." in text, text
    links = m.links(ctx["base"])
    assert links[:3] == [ctx["base"] + "/app#partners?status=applied&program_id=" + prog, ctx["base"] + "/app#deals",
                         ctx["base"] + "/app#commissions?status=held&program_id=" + prog], links
    assert "<title>refd</title>" in srv.get("/app").body
    url = unsubscribe_url(m)
    owner = db_rows(srv, "SELECT id FROM users WHERE email = ?", ("owner@acme.example",))[0]["id"]
    assert "token=%s.admin_digest." % owner in url, url
    # The owner turns it off in its settings: the next day brings none, though the same still waits.
    session = srv.login("owner@acme.example", PW)
    got = expect(srv.get("/api/v1/notifications", session=session), 200)
    assert {c["category"] for c in got["categories"]} == {"admin_digest", "admin_alert", "test"}, got
    expect(srv.patch("/api/v1/notifications", {"admin_digest": False}, session=session), 200)
    move_to(srv, ctx, 5)
    assert len(outbox(srv, ctx, recipient="owner@acme.example", category="admin_digest")) == 1


def test_deal_registration_reminder(srv, ctx):
    deal = expect(srv.post("/api/v1/leads", {"program_id": ctx["prog"]["id"], "email": "buyer@soonco.example",
                                             "company": "SoonCo"}, key=ctx["zoe_key"]), 201)
    approved = expect(srv.post("/api/v1/leads/%s/approve" % deal["id"], key=ctx["admin"]), 200)
    move_to(srv, ctx, 8)  # protected for 5 days from day 5: it ends within 3 days from day 8 on
    m = srv.sink.wait_for("zoe@partners.example", "Your deal registration for SoonCo ends on")[0]
    assert m.subject == "Your deal registration for SoonCo ends on %s" % approved["registration"]["protected_until"][:10], m.subject
    assert m.links(ctx["base"])[0] == ctx["base"] + "/portal#lead/" + deal["id"], m.text()
    assert "token=%s.deal_reminder." % ctx["zoe"]["id"] in unsubscribe_url(m)
    # Once per end of protection: the next day's jobs send no second one.
    move_to(srv, ctx, 9)
    assert len([m for m in outbox(srv, ctx, category="deal_reminder") if "SoonCo" in m["subject"]]) == 1


def wait_message(srv, ctx, mid, pred, timeout=15):
    deadline = time.time() + timeout
    while True:
        m = expect(srv.get("/api/v1/mail/messages/" + mid, key=ctx["admin"]), 200)
        if pred(m):
            return m
        if time.time() > deadline:
            raise AssertionError("the message did not get there: %r" % m)
        time.sleep(0.03)


def test_refused_for_a_while_then_accepted(srv, ctx):
    srv.sink.refuse("451 4.3.0 Try again later")
    queued = expect(srv.post("/api/v1/mail/test", {"to": "retry@acme.example"}, key=ctx["admin"]), 202)
    m = wait_message(srv, ctx, queued["id"], lambda m: m["attempts"] == 1)
    assert m["status"] == "pending" and m["last_status_code"] == 451 and "451" in m["last_error"], m
    retry_at = datetime.datetime.fromisoformat(m["next_attempt_at"].replace("Z", "+00:00")).timestamp() * 1000
    assert abs(retry_at - (server_now(ctx) + 60 * 1000)) < 15 * 1000, (m, server_now(ctx))
    # The next attempt waits a minute: once the clock moved past it, the message goes.
    ctx["offset"] += 2 * 60 * 1000
    srv.set_clock(ctx["offset"])
    got = srv.sink.wait_for("retry@acme.example", "Test message from refd")
    assert len(got) == 1
    m = wait_message(srv, ctx, queued["id"], lambda m: m["status"] == "delivered")
    assert m["attempts"] == 2 and [a["status_code"] for a in m["attempt_log"]] == [451, 250], m
    assert m["sent_at"] and m["last_error"] is None, m


def test_given_up_after_a_day_or_at_a_permanent_refusal(srv, ctx):
    srv.sink.refuse(*["451 4.3.0 Still busy"] * 5)
    queued = expect(srv.post("/api/v1/mail/test", {"to": "never@acme.example"}, key=ctx["admin"]), 202)
    wait_message(srv, ctx, queued["id"], lambda m: m["attempts"] == 1)
    ctx["offset"] += 25 * HOUR
    srv.set_clock(ctx["offset"])
    m = wait_message(srv, ctx, queued["id"], lambda m: m["status"] != "pending")
    assert m["status"] == "failed" and m["attempts"] == 2 and m["next_attempt_at"] is None, m
    srv.sink.refuse("550 5.1.1 No such mailbox")
    queued = expect(srv.post("/api/v1/mail/test", {"to": "nobody@acme.example"}, key=ctx["admin"]), 202)
    m = wait_message(srv, ctx, queued["id"], lambda m: m["status"] != "pending")
    assert m["status"] == "failed" and m["attempts"] == 1 and m["last_status_code"] == 550, m
    srv.sink.refuse()
    settings = expect(srv.get("/api/v1/mail/settings", key=ctx["admin"]), 200)
    assert settings["transport"] == "smtp" and settings["queue"]["failed"] == 2, settings
    assert settings["smtp"] == {"url": srv.sink.url, "tls": "starttls_when_offered", "username": None}, settings
    assert settings["from"] == FROM and settings["digest_hour_utc"] == DIGEST_HOUR, settings
    assert not [m for m in srv.sink.received() if m.to in ("never@acme.example", "nobody@acme.example")]


def test_no_transaction_is_held_while_the_server_is_slow(srv, ctx):
    # The server takes its time over a message: meanwhile the database takes writes as usual (a sender holding a
    # transaction over the SMTP exchange would hold SQLite's one writer, and PostgreSQL's row locks).
    srv.sink.hold(True)
    try:
        expect(srv.post("/api/v1/mail/test", {"to": "slow@acme.example"}, key=ctx["admin"]), 202)
        deadline = time.time() + 20
        while not srv.sink.holding():
            assert time.time() < deadline, "the sender never reached the server"
            time.sleep(0.02)
        for i in range(3):
            partner(srv, ctx, "Writer %d" % i, "writer%d@partners.example" % i)
        queued = expect(srv.post("/api/v1/mail/test", {"to": "meanwhile@acme.example"}, key=ctx["admin"]), 202)
        assert expect(srv.get("/api/v1/mail/messages/" + queued["id"], key=ctx["admin"]), 200)["status"] == "pending"
    finally:
        srv.sink.hold(False)
    srv.sink.wait_for("slow@acme.example")
    srv.sink.wait_for("meanwhile@acme.example")


def test_a_change_rolled_back_sends_no_mail(srv, ctx):
    # The sign-up writes the partner, its user and its partner.applied event (and composes its mail), then starts a
    # session: a session that cannot be stored fails the whole transaction.
    if srv.db_kind == "sqlite":
        sql = ("CREATE TRIGGER no_sessions BEFORE INSERT ON sessions BEGIN SELECT RAISE(ABORT, 'no sessions'); "
               "END")
        drop = "DROP TRIGGER no_sessions"
    else:
        sql = ("CREATE FUNCTION no_sessions() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION "
               "'no sessions'; END $$; CREATE TRIGGER no_sessions BEFORE INSERT ON sessions FOR EACH ROW "
               "EXECUTE FUNCTION no_sessions()")
        drop = "DROP TRIGGER no_sessions ON sessions; DROP FUNCTION no_sessions()"
    assert db_write(srv, sql) is None
    try:
        r = srv.post("/api/v1/portal/signup", {"program_id": ctx["prog"]["id"], "name": "Ghost",
                                               "email": "ghost@partners.example", "password": PW})
        assert r.status >= 500, r
    finally:
        assert db_write(srv, drop) is None
    assert not db_rows(srv, "SELECT id FROM partners WHERE email = ?", ("ghost@partners.example",))
    assert not outbox(srv, ctx, recipient="ghost@partners.example")
    # The sender takes messages in order: once a later one arrived, the rolled-back one never will.
    expect(srv.post("/api/v1/mail/test", {"to": "after-ghost@acme.example"}, key=ctx["admin"]), 202)
    srv.sink.wait_for("after-ghost@acme.example")
    assert not [m for m in srv.sink.received() if m.to == "ghost@partners.example"]


def test_admin_password_reset_links_to_the_admin_ui(srv, ctx):
    # An admin's link opens the admin UI (which asks for the new password), a partner's the portal.
    expect(srv.post("/api/v1/auth/password-reset", {"email": "owner@acme.example"}), 202)
    m = srv.sink.wait_for("owner@acme.example", "Set a new password")[0]
    assert m.msg["List-Unsubscribe"] is None and m.msg.get_content_type() == "multipart/alternative", m.raw[:400]
    link = [l for l in m.links(ctx["base"]) if "#reset=" in l]
    assert len(link) == 1 and link[0].startswith(ctx["base"] + "/app#reset="), m.text()
    assert 'href="%s"' % link[0] in m.html(), m.html()
    token = link[0].split("#reset=", 1)[1]
    expect(srv.post("/api/v1/auth/password-reset/confirm", {"token": token, "password": PW + " again"}), 200)
    expect(srv.post("/api/v1/auth/login", {"email": "owner@acme.example", "password": PW + " again"}), 200)
    # Used once: the same link is refused the second time.
    expect(srv.post("/api/v1/auth/password-reset/confirm", {"token": token, "password": PW}), 400)


def test_every_optional_message_carries_one_click_unsubscribe(srv, ctx):
    # Every message the server took so far: those of an optional kind carry RFC 8058's two header fields and the
    # same link at the foot of both parts; those a person cannot do without carry none.
    kinds = {m["message_id"]: m["category"] for m in outbox(srv, ctx)}
    optional = {"commissions_digest", "deal_reminder", "payout", "admin_digest", "admin_alert"}
    seen = set()
    for m in srv.sink.received():
        kind = kinds.get(str(m.msg["Message-ID"]))
        if kind is None:
            continue  # mail of another refd (the STARTTLS test) or one removed since
        seen.add(kind)
        assert m.msg.get_content_type() == "multipart/alternative" and m.msg["Date"] and m.msg["Message-ID"], m
        if kind in optional:
            url = unsubscribe_url(m)
            assert str(m.msg["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click", m
            assert ".%s." % kind in url and url in m.text() and url.replace("&", "&amp;") in m.html(), (kind, m)
        else:
            assert m.msg["List-Unsubscribe"] is None and m.msg["List-Unsubscribe-Post"] is None, (kind, m)
    assert {"application", "deal", "password_reset", "commissions_digest", "deal_reminder", "payout",
            "admin_digest", "test"} <= seen, seen
    # Each optional kind's link turns that kind off for its recipient, and only that kind.
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    for kind in ("deal_reminder", "payout"):
        m = [x for x in srv.sink.received() if kinds.get(str(x.msg["Message-ID"])) == kind][-1]
        url = unsubscribe_url(m)
        r = srv.post(url[len(ctx["base"]):], raw="List-Unsubscribe=One-Click", headers=form)
        assert r.status == 200, r
        partner_id = url.split("token=", 1)[1].split(".", 1)[0]
        session_key = srv.admin_key(role="partner", partner=partner_id, name="check-" + kind)
        got = {c["category"]: c["enabled"]
               for c in expect(srv.get("/api/v1/notifications", key=session_key), 200)["categories"]}
        assert got[kind] is False and got["commissions_digest"] is (partner_id != ctx["lee"]["id"]), (kind, got)


PREVIEW_KINDS = ["application_received", "application_approved", "application_rejected", "deal_approved",
                 "deal_rejected", "deal_reminder", "commissions_digest", "payout", "password_reset", "admin_digest",
                 "admin_alert", "test"]


def test_previews_of_every_message(srv, ctx):
    admin = ctx["admin"]
    stored = len(outbox(srv, ctx))
    got = expect(srv.get("/api/v1/mail/previews", key=admin), 200)
    assert [p["kind"] for p in got["data"]] == PREVIEW_KINDS and got["has_more"] is False, got
    for p in got["data"]:
        assert p["subject"] and p["when"] and p["audience"] in ("partner", "admin"), p
        assert "text" not in p and "html" not in p, p
    optional = {"deal_reminder", "commissions_digest", "payout", "admin_digest", "admin_alert"}
    assert {p["kind"] for p in got["data"] if p["optional"]} == optional, got
    subjects = {}
    for kind in PREVIEW_KINDS:
        p = expect(srv.get("/api/v1/mail/previews/" + kind, key=admin), 200)
        subjects[kind] = p["subject"]
        assert p["object"] == "mail_preview" and p["kind"] == kind and p["sample"] is True, p
        assert p["text"].startswith("Hello") and "-- \nThis email comes from " in p["text"], p["text"]
        assert p["html"].startswith("<!DOCTYPE html>") and "<title>" in p["html"], p["html"]
        # The text and the HTML say the same: each paragraph of the text is in the HTML, its link as an href.
        if kind == "application_rejected":
            assert p["link"] is None, p  # a closed account has no page to open
        else:
            assert p["link"] and p["link"].startswith(ctx["base"] + "/") and p["link"] in p["text"], p
            assert 'href="%s"' % p["link"].replace("&", "&amp;") in p["html"], p["html"]
        if kind in optional:
            assert p["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click", p["headers"]
            assert re.fullmatch(r"<%s/api/v1/unsubscribe\?token=[^>]+>" % re.escape(ctx["base"]),
                                p["headers"]["List-Unsubscribe"]), p["headers"]
        else:
            assert "List-Unsubscribe" not in p["headers"], p
        if p["audience"] == "partner":
            name = None if kind == "password_reset" else "Alex Example"  # a reset goes to a login, not a partner
            assert p["to"] == {"email": "alex@partner.example", "name": name}, p["to"]
    assert subjects["payout"] == "Payout sent: 68.00 USD", subjects
    assert subjects["commissions_digest"] == "3 new commissions: 73.00 USD", subjects
    assert subjects["deal_approved"] == "Deal registration approved: Example Corp", subjects
    assert subjects["application_rejected"] == "Your application to Example", subjects
    assert subjects["password_reset"] == "Set a new password", subjects
    # The admins' digest shows what waits now: here, at least Ada's application and PendingCo's registration.
    digest = expect(srv.get("/api/v1/mail/previews/admin_digest", key=admin), 200)
    assert digest["subject"].startswith("What waits in refd: ") and "Programme Été:" in digest["text"], digest
    assert "PendingCo" not in digest["text"] and "1 deal registration" in digest["subject"], digest["subject"]

    # A real partner: the message as it would reach Zoë, in her program, with her unsubscribe link.
    zoe = ctx["zoe"]["id"]
    p = expect(srv.get("/api/v1/mail/previews/payout?partner_id=" + zoe, key=admin), 200)
    assert p["sample"] is False and p["to"]["email"] == "zoe@partners.example", p
    assert "Programme Été" in p["text"] and "token=%s.payout." % zoe in p["headers"]["List-Unsubscribe"], p
    # She turned payouts off and on again in her settings; a preview shows the message whatever she chose.
    p = expect(srv.get("/api/v1/mail/previews/application_approved?partner_id=" + zoe, key=admin), 200)
    assert p["subject"] == "Welcome to Programme Été: your application is approved", p

    # Nothing was stored or sent.
    assert len(outbox(srv, ctx)) == stored
    # Bad requests name what is wrong and change nothing.
    expect(srv.get("/api/v1/mail/previews/no_such_kind", key=admin), 404, field="kind")
    expect(srv.get("/api/v1/mail/previews/payout?partner_id=zoe", key=admin), 400, field="partner_id")
    expect(srv.get("/api/v1/mail/previews/payout?partner_id=ptn_000000000000000000000000", key=admin), 400,
           field="partner_id")
    expect(srv.get("/api/v1/mail/previews/admin_digest?partner_id=" + zoe, key=admin), 400, field="partner_id")
    assert srv.get("/api/v1/mail/previews/payout?user=1", key=admin).status == 400
    # Admins only.
    assert srv.get("/api/v1/mail/previews", key=ctx["zoe_key"]).status == 403
    assert srv.get("/api/v1/mail/previews/payout", key=ctx["zoe_key"]).status == 403
    assert srv.get("/api/v1/mail/previews/payout").status == 401


def make_cert(folder):
    cert, key = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert],
                   check=True, capture_output=True, timeout=60)
    return cert, key


def test_starttls_and_login(srv, ctx):
    folder = tempfile.mkdtemp(prefix="refd-tls-")
    cert, key = make_cert(folder)
    tls = Sink("--auth", "mailer:s3cret pass", "--tls-cert", cert, "--tls-key", key)
    other = MailRefd(tls, extra=["--smtp-user", "mailer", "--smtp-require-tls", "--smtp-ca-file", cert],
                     env={"REFD_SMTP_PASSWORD": "s3cret pass"})
    try:
        other.start()
        k = other.admin_key()
        expect(other.post("/api/v1/mail/test", {"to": "tls@acme.example"}, key=k), 202)
        m = tls.wait_for("tls@acme.example")[0]
        assert m.meta["tls"] is True and m.meta["login"] == "mailer", m.meta
        settings = expect(other.get("/api/v1/mail/settings", key=k), 200)
        assert settings["smtp"] == {"url": tls.url, "tls": "starttls_required", "username": "mailer"}, settings
        assert "s3cret" not in json.dumps(settings)
    finally:
        other.cleanup()
        shutil.rmtree(folder, ignore_errors=True)
    # STARTTLS required of a server that offers none: nothing goes out, the attempt says why.
    plain = MailRefd(extra=["--smtp-url", srv.sink.url, "--mail-from", FROM, "--smtp-require-tls"])
    try:
        plain.start()
        k = plain.admin_key()
        queued = expect(plain.post("/api/v1/mail/test", {"to": "cleartext@acme.example"}, key=k), 202)
        m = wait_message(plain, {"admin": k}, queued["id"], lambda m: m["attempts"] == 1)
        assert m["status"] == "pending" and "SSL" in m["last_error"], m
        assert not [x for x in srv.sink.received() if x.to == "cleartext@acme.example"]
    finally:
        plain.cleanup()


def test_the_log_transport_without_smtp():
    srv = MailRefd()
    try:
        srv.start()
        admin = srv.admin_key()
        settings = expect(srv.get("/api/v1/mail/settings", key=admin), 200)
        assert settings["transport"] == "log" and settings["smtp"] is None, settings
        prog = expect(srv.post("/api/v1/programs", {"name": "Logged", "currency": "eur"}, key=admin), 201)["id"]
        expect(srv.patch("/api/v1/programs/" + prog, {"partner_signup": "review"}, key=admin), 200)
        joined = expect(srv.post("/api/v1/portal/signup", {"program_id": prog, "name": "Lou",
                                                           "email": "lou@partners.example", "password": PW}), 201)
        lou_key = srv.admin_key(role="partner", partner=joined["partner"]["id"], name="lou")
        assert expect(srv.get("/api/v1/notifications", key=lou_key), 200)["transport"] == "log"

        def logged(pred, timeout=10):
            deadline = time.time() + timeout
            while True:
                got = [l for l in srv.logs() if pred(l)]
                if got or time.time() > deadline:
                    return got
                time.sleep(0.03)

        line = logged(lambda l: l.get("msg") == "mail" and l.get("to") == "lou@partners.example")
        assert len(line) == 1, srv.logs()[-5:]
        assert line[0]["transport"] == "log" and line[0]["category"] == "application", line
        assert line[0]["subject"] == "We received your application to Logged", line
        assert line[0]["url"] == "http://127.0.0.1:%d/portal#home" % srv.port, line
        # The password reset works as it always did: its link in the log.
        expect(srv.post("/api/v1/auth/password-reset", {"email": "lou@partners.example"}), 202)
        link = logged(lambda l: l.get("msg") == "password reset link")
        assert len(link) == 1 and link[0]["email"] == "lou@partners.example", link
        assert link[0]["expires_in_minutes"] == 60 and "/portal#reset=" in link[0]["url"], link
        token = link[0]["url"].split("#reset=", 1)[1]
        expect(srv.post("/api/v1/auth/password-reset/confirm", {"token": token, "password": "another password"}),
               200)
        expect(srv.post("/api/v1/auth/login", {"email": "lou@partners.example", "password": "another password"}),
               200)
        sent = expect(srv.get("/api/v1/mail/messages", key=admin), 200)["data"]
        assert {(m["category"], m["status"], m["attempts"], m["last_status_code"]) for m in sent} == {
            ("application", "delivered", 1, None), ("password_reset", "delivered", 1, None)}, sent
    finally:
        srv.cleanup()
