# SPDX-License-Identifier: Apache-2.0
"""HTTP/1.1 on the wire, as clients really send it: pipelined requests answered in order, requests split across
writes, chunked bodies, Expect: 100-continue, HTTP/1.0 keep-alive, half-closed clients, slow readers of large
answers, clients that vanish while their redirect waits for its click, and framing the server refuses (ambiguous
lengths, oversized header blocks, unknown methods, HTTP/2) with a JSON error and a closed connection."""
import json
import socket
import time

from harness import browser_ua, db_rows, expect, one_link, raw_http


def setup(srv):
    admin, prog, _, link = one_link(srv, "Wire", "wire-code")
    return {"admin": admin, "prog": prog, "link": link}


def connect(srv, timeout=10):
    """A connection whose reads give up after timeout seconds: long enough for a loaded machine, and shorter than the
    30 s after which refd closes idle connections, so that Reader.closed() tells a close on purpose from that one."""
    return socket.create_connection(("127.0.0.1", srv.port), timeout=timeout)


class Reader:
    """Reads whole HTTP/1.1 responses (Content-Length framed, as refd sends them) off one socket."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed with %d bytes unread" % len(self.buf))
        self.buf += chunk

    def response(self):
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = {}
        for line in lines[1:]:
            name, value = line.split(":", 1)
            headers.setdefault(name.strip().lower(), value.strip())
        length = int(headers.get("content-length", "0"))
        while len(self.buf) < length:
            self._fill()
        body, self.buf = self.buf[:length], self.buf[length:]
        return status, headers, body

    def closed(self):
        """True when the server closes the connection with nothing more to send."""
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return not self.buf
                self.buf += chunk
        except (ConnectionResetError, socket.timeout):
            return False


def request(method, path, headers=(), body=b"", version="HTTP/1.1"):
    lines = ["%s %s %s" % (method, path, version), "Host: refd.test"] + list(headers)
    if body:
        lines.append("Content-Length: %d" % len(body))
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def test_pipelined_requests_are_answered_in_order(srv, ctx):
    with connect(srv) as s:
        ids = ["pipeline-%02d" % i for i in range(6)]
        wire = b""
        for i, rid in enumerate(ids):
            if i % 3 == 2:
                body = json.dumps({"name": "Piped %d" % i, "currency": "usd"}).encode()
                wire += request("POST", "/api/v1/programs", ["X-Request-Id: " + rid, "Authorization: Bearer " +
                                                             ctx["admin"], "Content-Type: application/json"], body)
            elif i % 3 == 1:
                wire += request("GET", "/r/wire-code", ["X-Request-Id: " + rid, "User-Agent: " + browser_ua("pipe")])
            else:
                wire += request("GET", "/healthz", ["X-Request-Id: " + rid])
        s.sendall(wire)  # all six in one write
        r = Reader(s)
        got = [r.response() for _ in ids]
        assert [h["x-request-id"] for _, h, _ in got] == ids
        assert [st for st, _, _ in got] == [200, 302, 201, 200, 302, 201], [st for st, _, _ in got]
        assert json.loads(got[2][2])["name"] == "Piped 2" and json.loads(got[5][2])["name"] == "Piped 5"
        clicks = [h["location"].split("refd_click=")[1] for st, h, _ in got if st == 302]
        assert len(set(clicks)) == 2
        # The connection stays open for more.
        s.sendall(request("GET", "/healthz"))
        assert r.response()[0] == 200


def test_a_request_split_across_many_writes_is_read_whole(srv, ctx):
    body = json.dumps({"name": "Trickled", "currency": "eur"}).encode()
    wire = request("POST", "/api/v1/programs", ["Authorization: Bearer " + ctx["admin"],
                                                "Content-Type: application/json"], body)
    with connect(srv) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for i in range(0, len(wire), 7):  # 7 bytes at a time, cutting names, values and the body
            s.sendall(wire[i:i + 7])
            time.sleep(0.002)
        status, _, out = Reader(s).response()
        assert status == 201, out
        assert json.loads(out)["currency"] == "eur"


def test_chunked_request_body_is_read(srv, ctx):
    body = json.dumps({"name": "Chunked", "currency": "gbp"}).encode()
    head = ("POST /api/v1/programs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" % ctx["admin"]).encode()
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 5]), body[i:i + 5]) for i in range(0, len(body), 5))
    with connect(srv) as s:
        s.sendall(head + chunks + b"0\r\n\r\n")
        status, _, out = Reader(s).response()
        assert status == 201, out
        assert json.loads(out)["name"] == "Chunked"


def test_chunked_body_over_the_limit_is_413(srv, ctx):
    head = b"POST /api/v1/programs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    piece = b"x" * 65536
    chunk = b"%x\r\n%s\r\n" % (len(piece), piece)
    out = raw_http(srv.port, head + chunk * 17 + b"0\r\n\r\n")  # 1.06 MiB in all
    assert out.startswith(b"HTTP/1.1 413"), out[:100]
    assert json.loads(out.split(b"\r\n\r\n", 1)[1])["error"]["type"] == "payload_too_large"
    expect(srv.get("/healthz"), 200)


def test_expect_100_continue_is_answered_before_the_body(srv, ctx):
    body = json.dumps({"name": "Continued", "currency": "usd"}).encode()
    head = ("POST /api/v1/programs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json"
            "\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n" % (ctx["admin"], len(body))).encode()
    with connect(srv) as s:
        s.sendall(head)
        r = Reader(s)
        status, _, _ = r.response()
        assert status == 100
        s.sendall(body)
        status, _, out = r.response()
        assert status == 201 and json.loads(out)["name"] == "Continued", out
    # Too large: refused at once, without a 100, so the client never sends the body.
    with connect(srv) as s:
        s.sendall(b"POST /api/v1/programs HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n"
                  b"Expect: 100-continue\r\n\r\n")
        r = Reader(s)
        status, headers, _ = r.response()
        assert status == 413 and headers["connection"] == "close"
        assert r.closed()


def test_http10_closes_unless_asked_to_keep_alive(srv, ctx):
    with connect(srv) as s:
        s.sendall(request("GET", "/healthz", version="HTTP/1.0"))
        r = Reader(s)
        status, headers, _ = r.response()
        assert status == 200 and headers.get("connection") == "close"
        assert r.closed()
    with connect(srv) as s:
        r = Reader(s)
        for _ in range(3):
            s.sendall(request("GET", "/healthz", ["Connection: keep-alive"], version="HTTP/1.0"))
            status, headers, _ = r.response()
            assert status == 200 and headers.get("connection") == "keep-alive"


def test_connection_close_is_honoured(srv, ctx):
    with connect(srv) as s:
        s.sendall(request("GET", "/healthz", ["Connection: close"]) + request("GET", "/healthz"))
        r = Reader(s)
        status, headers, _ = r.response()
        assert status == 200 and headers["connection"] == "close"
        assert r.closed()  # the second request is not answered


def test_a_client_that_half_closes_still_gets_its_answer(srv, ctx):
    for path, want in (("/healthz", 200), ("/r/wire-code", 302)):
        with connect(srv) as s:
            s.sendall(request("GET", path, ["User-Agent: " + browser_ua("half")]))
            s.shutdown(socket.SHUT_WR)
            r = Reader(s)
            status, _, _ = r.response()
            assert status == want, (path, status)
            assert r.closed()


def test_a_quiet_keep_alive_connection_is_read_again_when_the_client_speaks(srv, ctx):
    # After each answer the server stops reading until the socket announces new bytes or the client's end; the
    # next request, sent after a pause and in pieces, must still be read, and a half-close after an answer must
    # still close the connection promptly.
    with connect(srv) as s:
        r = Reader(s)
        for round_ in range(3):
            s.sendall(request("GET", "/r/wire-code", ["User-Agent: " + browser_ua("quiet-%d" % round_)]))
            status, headers, _ = r.response()
            assert status == 302 and headers["location"].startswith("https://"), (round_, status)
            time.sleep(0.2)
        wire = request("GET", "/healthz", ["X-Request-Id: in-pieces"])
        for piece in (wire[:5], wire[5:30], wire[30:]):
            s.sendall(piece)
            time.sleep(0.1)
        status, headers, _ = r.response()
        assert status == 200 and headers["x-request-id"] == "in-pieces"
        time.sleep(0.2)
        s.shutdown(socket.SHUT_WR)
        assert r.closed()  # within the socket's 10 s timeout, not at the 30 s idle timeout


def test_a_slow_reader_gets_a_large_answer_whole(srv, ctx):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.settimeout(10)
        s.connect(("127.0.0.1", srv.port))
        s.sendall(request("GET", "/api/openapi.json") + request("GET", "/healthz", ["X-Request-Id: after-the-big-one"]))
        time.sleep(0.3)  # the server fills the socket and must wait for room
        r = Reader(s)
        status, headers, body = r.response()
        assert status == 200 and len(body) == int(headers["content-length"]) > 100000, len(body)
        assert json.loads(body)["openapi"].startswith("3.1")
        status, headers, _ = r.response()
        assert status == 200 and headers["x-request-id"] == "after-the-big-one"


def test_clients_that_vanish_while_their_click_commits_lose_nothing(srv, ctx):
    def count():
        return db_rows(srv, "SELECT count(*) AS n FROM clicks")[0]["n"]

    before = count()
    for i in range(40):
        s = connect(srv)
        s.sendall(request("GET", "/r/wire-code", ["User-Agent: " + browser_ua("gone%d" % i)]))
        if i % 2:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # reset
        s.close()
    deadline = time.time() + 30
    while time.time() < deadline and count() < before + 40:
        time.sleep(0.05)
    # Each request that reached the server was recorded, answered or not; the server carries on.
    assert count() == before + 40
    expect(srv.get("/healthz"), 200)


def refused(srv, data):
    with connect(srv) as s:
        s.sendall(data)
        r = Reader(s)
        status, headers, body = r.response()
        assert headers.get("connection") == "close", headers
        assert r.closed()
        err = json.loads(body)["error"]
        assert set(err) == {"type", "message", "field"}, err
        return status, err


def test_framing_the_server_refuses(srv, ctx):
    cases = [
        # Two framings at once is how requests get smuggled past proxies.
        (b"POST /api/v1/programs HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
         b"0\r\n\r\n", 400),
        (b"POST /api/v1/programs HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nabcdef", 400),
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 17000 + b"\r\n\r\n", 431),
        (b"GET /healthz HTTP/1.1\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(101)) + b"\r\n", 431),
        (b"GET /" + b"p" * 17000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 431),
        (b"PROPFIND /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 501),
        (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", None),
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header: v\r\n\r\n", 400),
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\n folded: v\r\n\r\n", 400),
    ]
    for data, want in cases:
        status, err = refused(srv, data)
        if want is None:
            assert status in (400, 501, 505), (data[:40], status)
        else:
            assert status == want, (data[:40], status, err)
    expect(srv.get("/healthz"), 200)


def test_a_bare_newline_request_and_a_path_with_an_encoded_nul(srv, ctx):
    with connect(srv) as s:
        s.sendall(b"GET /healthz HTTP/1.1\nHost: x\n\n")
        status, _, _ = Reader(s).response()
        assert status == 200
    out = raw_http(srv.port, b"GET /healthz%00x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 404"), out[:60]


def test_many_redirects_on_one_connection(srv, ctx):
    with connect(srv) as s:
        r = Reader(s)
        seen = set()
        for i in range(300):
            s.sendall(request("GET", "/r/wire-code", ["User-Agent: " + browser_ua("keep%d" % i)]))
            status, headers, _ = r.response()
            assert status == 302
            seen.add(headers["location"])
        assert len(seen) == 300


def test_an_upgrade_is_ignored_and_the_connection_stays_http11(srv, ctx):
    with connect(srv) as s:
        r = Reader(s)
        s.sendall(request("GET", "/healthz", ["Connection: Upgrade, HTTP2-Settings", "Upgrade: h2c",
                                              "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA"]))
        status, headers, _ = r.response()
        assert status == 200 and "upgrade" not in headers
        s.sendall(request("GET", "/healthz", ["X-Request-Id: after-upgrade"]))
        status, headers, _ = r.response()
        assert status == 200 and headers["x-request-id"] == "after-upgrade"


def test_bytes_that_are_not_utf8_in_a_quoted_header_get_a_400_not_a_500(srv, ctx):
    # The error message quotes the Content-Type it refuses; a byte that is not UTF-8 there once made the JSON
    # encoder fail and the answer a 500 with a wrong length.
    for ct in (b"application/jso\xfc", b"text/" + "\u00e9".encode() * 30):
        body = b'{"name": "x", "currency": "usd"}'
        with connect(srv) as s:
            s.sendall(b"POST /api/v1/programs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + ctx["admin"].encode() +
                      b"\r\nContent-Type: " + ct + b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
            status, headers, out = Reader(s).response()
        assert status == 400, (ct, status, out)
        err = json.loads(out)["error"]
        assert err["field"] == "Content-Type" and "application/json" in err["message"], err


def test_a_204_carries_no_length_and_the_connection_goes_on(srv, ctx):
    expect(srv.patch("/api/v1/programs/" + ctx["prog"]["id"], {"tracking_origins": ["https://shop.example"]},
                     key=ctx["admin"]), 200)
    with connect(srv) as s:
        s.sendall(request("OPTIONS", "/api/v1/track/click", ["Origin: https://shop.example",
                                                             "Access-Control-Request-Method: POST"]))
        r = Reader(s)
        status, headers, body = r.response()
        assert status == 204 and "content-length" not in headers and body == b"", headers
        assert headers["access-control-allow-origin"] == "https://shop.example"
        s.sendall(request("GET", "/healthz", ["X-Request-Id: after-the-204"]))
        status, headers, _ = r.response()
        assert status == 200 and headers["x-request-id"] == "after-the-204"
