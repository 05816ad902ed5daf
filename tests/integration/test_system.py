# SPDX-License-Identifier: Apache-2.0
"""Health, readiness, request ids and logs, graceful shutdown, unknown routes and methods."""
import json
import signal
import socket
import subprocess
import time

import harness
from harness import BINARY, Refd, expect


def test_healthz(srv):
    assert expect(srv.get("/healthz"), 200) == {"status": "ok"}


def test_readyz(srv):
    body = expect(srv.get("/readyz"), 200)
    assert body["status"] == "ready" and body["schema_version"] >= 1
    assert body["database"] == srv.db_kind, body


def test_request_id_header_and_log_line(srv):
    r = srv.get("/healthz", headers={"X-Request-Id": "trace-12345678"})
    assert r.header("X-Request-Id") == "trace-12345678"
    lines = [l for l in srv.logs() if l.get("msg") == "request" and l.get("request_id") == "trace-12345678"]
    assert len(lines) == 1, lines
    line = lines[0]
    assert line["method"] == "GET" and line["path"] == "/healthz" and line["status"] == 200
    assert "duration_ms" in line and "ts" in line


def test_generated_request_ids_differ(srv):
    a = srv.get("/healthz").header("X-Request-Id")
    b = srv.get("/healthz").header("X-Request-Id")
    assert a and b and a != b and a.startswith("req_")


def test_unknown_route_is_json_404(srv):
    r = srv.get("/api/v1/nothing-here")
    expect(r, 404, etype="not_found")


def test_wrong_method_is_405_with_allow(srv):
    r = srv.request("PUT", "/api/v1/programs")
    assert r.status == 405, r
    assert "GET" in r.header("Allow") and "POST" in r.header("Allow")
    assert r.json["error"]["type"] == "method_not_allowed"


def test_graceful_shutdown_on_sigterm():
    s = Refd().start()
    try:
        assert s.get("/healthz").status == 200
        code = s.stop(signal.SIGTERM)
        assert code == 0, code
        msgs = [l["msg"] for l in s.logs()]
        assert "stopping" in msgs and msgs[-1] == "stopped", msgs
    finally:
        s.cleanup()


def read_until_closed(sock):
    out = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return out
        out += chunk


def test_sigterm_lets_in_flight_request_finish():
    # A login spends about 0.1 s hashing with Argon2id (more under ASan). SIGTERM is sent once refd has read the
    # whole login request (the receive queue of its end of the connection is empty) and before the answer has come
    # back, so whatever the machine's load, it arrives while the login runs; the client must still get its complete
    # answer before the process exits cleanly. A login answered before it could be caught is simply made again.
    s = Refd().start()
    try:
        s.add_user("inflight@example.com", "admin", password="in flight password")
        body = json.dumps({"email": "inflight@example.com", "password": "in flight password"}).encode()
        wire = (b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n" % len(body)) + body
        conn = None
        for _ in range(20):
            conn = socket.create_connection(("127.0.0.1", s.port), timeout=30)
            conn.sendall(wire)
            mine = conn.getsockname()[1]
            deadline = time.monotonic() + 20
            while True:
                queues = harness.tcp_queues(s.port, mine)
                if queues is not None and queues[1] == 0:
                    break
                assert time.monotonic() < deadline, "refd did not read the login request within 20 s"
                time.sleep(0.001)
            conn.setblocking(False)  # with a timeout set, Python would wait for the answer before peeking
            try:
                conn.recv(1, socket.MSG_PEEK)
            except BlockingIOError:
                conn.settimeout(30)
                break  # read by refd and not answered yet: in flight
            conn.close()
            conn = None
        assert conn is not None, "every login was answered before SIGTERM could be sent during it"
        with conn:
            code = s.stop(signal.SIGTERM)
            answer = read_until_closed(conn)
        assert code == 0, code
        head, _, payload = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 "), answer[:300]
        assert json.loads(payload)["csrf_token"], payload
        # The login was answered after refd began to stop, not before.
        msgs = [(l["msg"], l.get("path")) for l in s.logs()]
        assert msgs.index(("stopping", None)) < msgs.index(("request", "/api/v1/auth/login")), msgs
    finally:
        s.cleanup()


def test_a_second_refd_on_the_same_port_is_refused(srv):
    """The workers share their port with SO_REUSEPORT, which would let a second refd (on another database) take
    part of the connections: a port another process holds is refused at start instead."""
    other = Refd(extra_args=[])
    try:
        args = [BINARY, "serve", "--listen", "127.0.0.1:%d" % srv.port, "--db", other.db, "--no-demo"]
        p = subprocess.run(args, capture_output=True, text=True, timeout=30, env=other.env)
        assert p.returncode != 0, p
        assert "already in use" in p.stderr, p.stderr
        assert srv.get("/healthz").status == 200
    finally:
        other.cleanup()
