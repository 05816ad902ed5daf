#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A real SMTP server for the tests (aiosmtpd, Debian's python3-aiosmtpd, so run it with /usr/bin/python3), on a free
loopback port. Every message it accepts is written to DIR as NNNN.eml (the bytes as received) with NNNN.json beside it
(the envelope: MAIL FROM, RCPT TO, whether STARTTLS was used, who logged in); the .json is written last, so a test
that sees it can read both.

    /usr/bin/python3 tests/smtp_sink.py DIR [--auth USER:PASSWORD] [--tls-cert CERT --tls-key KEY]

It prints one line of JSON, {"port": N}, once it listens, and runs until it is killed. A test makes it refuse by
writing replies to DIR/refuse, one per line ("451 4.3.0 Try again later"): each message's DATA takes the first
line away and gets it as the answer instead of being accepted. While DIR/hold exists, DATA gets no answer (a slow
server; DIR/holding appears once a message waits). With --auth, a login is required and checked; with a
certificate, STARTTLS is offered."""
import argparse
import asyncio
import json
import os
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Sink:
    def __init__(self, folder):
        self.folder = folder
        self.count = 0

    def take_refusal(self):
        path = os.path.join(self.folder, "refuse")
        try:
            with open(path) as f:
                lines = [l.rstrip("\n") for l in f if l.strip()]
        except OSError:
            return None
        if not lines:
            return None
        with open(path + ".tmp", "w") as f:
            f.write("".join(l + "\n" for l in lines[1:]))
        os.replace(path + ".tmp", path)
        return lines[0]

    async def handle_DATA(self, server, session, envelope):
        # While DIR/hold exists the answer waits (a slow server); DIR/holding says a message is waiting.
        hold = os.path.join(self.folder, "hold")
        if os.path.exists(hold):
            open(os.path.join(self.folder, "holding"), "w").close()
            while os.path.exists(hold):
                await asyncio.sleep(0.02)
        refusal = self.take_refusal()
        if refusal:
            return refusal
        self.count += 1
        base = os.path.join(self.folder, "%04d" % self.count)
        with open(base + ".eml", "wb") as f:
            f.write(envelope.original_content or envelope.content)
        login = getattr(session.auth_data, "login", None) if session.authenticated else None
        meta = {"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos, "tls": session.ssl is not None,
                "login": login.decode() if isinstance(login, bytes) else login}
        with open(base + ".json.tmp", "w") as f:
            json.dump(meta, f)
        os.replace(base + ".json.tmp", base + ".json")
        return "250 2.0.0 Message accepted"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("folder")
    ap.add_argument("--auth")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    args = ap.parse_args()
    sink = Sink(args.folder)
    kwargs = {"hostname": "sink.test", "decode_data": False}
    if args.tls_cert:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        kwargs["tls_context"] = ctx
    if args.auth:
        user, password = args.auth.split(":", 1)

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == user and \
                auth_data.password.decode() == password
            return AuthResult(success=ok, handled=False, auth_data=auth_data)

        kwargs.update(authenticator=authenticator, auth_required=True, auth_require_tls=False)

    async def serve():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: SMTP(sink, **kwargs), "127.0.0.1", 0)
        print(json.dumps({"port": server.sockets[0].getsockname()[1]}), flush=True)
        await asyncio.Event().wait()

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
