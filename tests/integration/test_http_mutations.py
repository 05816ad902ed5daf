# SPDX-License-Identifier: Apache-2.0
"""Mutated requests on the wire: valid requests (a redirect, a JSON write, a chunked body, a pipelined pair, an
Expect: 100-continue) with bytes flipped, inserted, deleted, repeated or cut, sent whole or in random pieces.
Whatever arrives, refd answers with a well-formed HTTP/1.1 status line (never a 500) or closes the connection, never
crashes (the sanitizer build runs this too), and keeps serving."""
import json
import random
import re
import socket
import time

from harness import browser_ua, expect, one_link

STATUS = re.compile(rb"^HTTP/1\.1 [1-5]\d\d [^\r\n]*\r\n")


def setup(srv):
    admin, prog, _, _ = one_link(srv, "Mutations", "mutate-code")
    return {"admin": admin, "prog": prog}


def corpus(ctx):
    body = json.dumps({"name": "Mutated", "currency": "usd"}).encode()
    auth = ("Authorization: Bearer %s\r\n" % ctx["admin"]).encode()
    redirect = ("GET /r/mutate-code?x=1&y=%%41 HTTP/1.1\r\nHost: x\r\nUser-Agent: %s\r\nCookie: refd_click=clk_1; a=b"
                "\r\n\r\n" % browser_ua("mutations")).encode()
    write = (b"POST /api/v1/programs HTTP/1.1\r\nHost: x\r\n" + auth + b"Content-Type: application/json\r\n"
             b"Content-Length: %d\r\n\r\n" % len(body) + body)
    chunked = (b"POST /api/v1/programs HTTP/1.1\r\nHost: x\r\n" + auth + b"Content-Type: application/json\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n" + b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n")
    cont = (b"POST /api/v1/programs HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n" + auth +
            b"Content-Length: %d\r\n\r\n" % len(body) + body)
    return [redirect, write, chunked, cont, redirect + b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
            b"GET /api/v1/programs?limit=2 HTTP/1.0\r\nConnection: keep-alive\r\n" + auth + b"\r\n"]


def mutate(rng, data):
    data = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(6)
        i = rng.randrange(len(data)) if data else 0
        if op == 0 and data:
            data[i] = rng.randrange(256)
        elif op == 1:
            data[i:i] = bytes([rng.choice(b"\r\n :;%0123456789abcdefxX\x00\x7f\xff")])
        elif op == 2 and data:
            del data[i:i + rng.randint(1, 8)]
        elif op == 3:
            data[i:i] = data[i:i + rng.randint(1, 16)] * rng.randint(1, 3)
        elif op == 4:
            del data[i:]
        else:
            data[i:i] = b"\r\n" * rng.randint(1, 2)
    return bytes(data)


def exchange(port, data, rng):
    # Long enough for a loaded machine, shorter than the 30 s after which refd closes an idle connection anyway.
    s = socket.create_connection(("127.0.0.1", port), timeout=15)
    try:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if rng.random() < 0.3:
            pos = 0
            while pos < len(data):
                step = rng.randint(1, 40)
                s.sendall(data[pos:pos + step])
                pos += step
        else:
            s.sendall(data)
        s.shutdown(socket.SHUT_WR)  # nothing more is coming: the server answers what it can, then closes
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return out
            out += chunk
    except (ConnectionResetError, BrokenPipeError):
        return None
    finally:
        s.close()


def test_mutated_requests_get_an_answer_or_a_close_and_refd_stays_up(srv, ctx):
    rng = random.Random(20261122)
    seeds = corpus(ctx)
    answered = closed = 0
    started = time.time()
    for n in range(400):
        data = mutate(rng, rng.choice(seeds))
        out = exchange(srv.port, data, rng)
        if out:
            assert STATUS.match(out), (data[:120], out[:120])
            # Bad input is never the server's fault.
            assert not out.startswith(b"HTTP/1.1 5") or out.startswith(b"HTTP/1.1 505"), (data[:300], out[-200:])
            answered += 1
        else:
            closed += 1
        if n % 50 == 49:
            expect(srv.get("/healthz"), 200)
    assert srv.proc.poll() is None
    expect(srv.get("/healthz"), 200)
    # Most mutations still reach the server as something it answers (often a 400), some only close.
    assert answered > 200, (answered, closed)
    assert time.time() - started < 120
