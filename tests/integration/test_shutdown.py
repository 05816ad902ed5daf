# SPDX-License-Identifier: Apache-2.0
"""Stopping refd: every start and stop exits 0 with its work drained, whatever signals arrive and when (SIGTERM just
after it listens, storms of SIGUSR2 while the clock file is read), and a graceful stop answers on the wire every
request whose bytes it has read: a complete request is served, one still arriving is either finished within the
drain deadline and served, or answered 503 with Connection: close. No connection is ever closed silently after
bytes of a request were read."""
import json
import os
import signal
import socket
import subprocess
import time

import harness
from harness import Refd, expect


def make_server():
    # This module starts its own servers; the shared one only carries the module's bookkeeping.
    return Refd().start()


def wait_listening(proc, log_path, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            return None
        with open(log_path) as f:
            for line in f:
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue
                if rec.get("msg") == "listening":
                    return int(rec["addr"].rsplit(":", 1)[1])
        time.sleep(0.002)
    return None


def stopped_cleanly(srv, code):
    """The exit code is 0 and the log ends with the stop's record (nothing was cut short)."""
    assert code == 0, "refd exited with %s: %s" % (code, open(srv.err_path).read()[-2000:])
    last = [json.loads(l) for l in open(srv.log_path) if l.startswith("{")][-1]
    assert last.get("msg") == "stopped", last


def test_sigterm_right_after_listening():
    """A SIGTERM that comes as soon as the address is printed (while the workers and background threads are still
    starting) stops refd cleanly, every time."""
    for i in range(25):
        srv = Refd()
        srv.clock_path = os.path.join(srv.dir, "clock")
        args = [harness.BINARY, "serve", "--listen", "127.0.0.1:0", "--db", srv.db, "--threads", "2", "--no-demo",
                "--test-clock-file", srv.clock_path, "--quiet"]
        srv.out = open(srv.log_path, "w")
        srv.err = open(srv.err_path, "w")
        srv.proc = subprocess.Popen(args, stdout=srv.out, stderr=srv.err, env=srv.env)
        try:
            assert wait_listening(srv.proc, srv.log_path), open(srv.err_path).read()
            time.sleep((i % 5) * 0.001)
            srv.proc.send_signal(signal.SIGTERM)
            srv.proc.wait(timeout=15)
            stopped_cleanly(srv, srv.proc.returncode)
        finally:
            srv.stop()
            srv.cleanup()


def test_sigusr2_storms():
    """Bursts of SIGUSR2 (each makes refd read its clock file) never kill it: the signal is taken only by the
    thread that waits for it, never by a worker or background thread that would die of it."""
    for round_ in range(6):
        srv = Refd().start()
        try:
            with open(srv.clock_path, "w") as f:
                f.write("%d\n" % (round_ * 1000))
            for _ in range(300):
                srv.proc.send_signal(signal.SIGUSR2)
            time.sleep(0.05)
            assert srv.proc.poll() is None, "refd died of SIGUSR2: exit %s" % srv.proc.returncode
            expect(srv.get("/healthz"), 200)
            srv.set_clock(round_ * 1000 + 1)
            stopped_cleanly(srv, srv.stop())
        finally:
            srv.stop()
            srv.cleanup()


def connect(port):
    return socket.create_connection(("127.0.0.1", port), timeout=15)


def read_answer(sock):
    """The whole answer (status, headers, body) up to the server's close; None when it closed without a byte."""
    buf = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        buf += chunk
    if not buf:
        return None
    head, _, body = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, value = line.split(":", 1)
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split(" ")[1]), headers, body


def sigterm(srv):
    srv.proc.send_signal(signal.SIGTERM)
    time.sleep(0.3)  # the listeners are closed by now


def test_complete_request_in_flight_is_answered():
    """A request whose bytes all reached refd just before SIGTERM is answered, with Connection: close, even when
    its connection was still waiting in the listening socket's queue."""
    srv = Refd().start()
    try:
        key = srv.admin_key()
        socks = []
        for _ in range(32):
            s = connect(srv.port)
            s.sendall(("GET /api/v1/programs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n" % key)
                      .encode())
            socks.append(s)
        srv.proc.send_signal(signal.SIGTERM)
        for s in socks:
            ans = read_answer(s)
            assert ans is not None, "a complete request got no answer"
            assert ans[0] == 200, ans
            s.close()
        stopped_cleanly(srv, srv.stop())
    finally:
        srv.stop()
        srv.cleanup()


def test_request_arriving_during_stop_is_finished_and_answered():
    """Headers and half the body had arrived when SIGTERM came; the rest comes a moment later: refd reads it and
    answers it (and closes)."""
    srv = Refd().start()
    try:
        key = srv.admin_key()
        body = json.dumps({"name": "Arrives during stop", "currency": "usd"}).encode()
        s = connect(srv.port)
        s.sendall(("POST /api/v1/programs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                   "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (key, len(body))).encode()
                  + body[:10])
        time.sleep(0.2)
        sigterm(srv)
        s.sendall(body[10:])
        ans = read_answer(s)
        assert ans is not None, "the request was dropped without an answer"
        assert ans[0] == 201, ans
        assert ans[1].get("connection") == "close", ans[1]
        s.close()
        stopped_cleanly(srv, srv.stop())
    finally:
        srv.stop()
        srv.cleanup()


def test_request_never_finished_gets_503():
    """Headers had arrived when SIGTERM came and the body never does: refd answers 503 with Connection: close
    before it exits, instead of closing the connection silently; a request cut inside its headers likewise."""
    srv = Refd().start()
    try:
        key = srv.admin_key()
        s1 = connect(srv.port)
        s1.sendall(("POST /api/v1/programs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                    "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"name\"" % key).encode())
        s2 = connect(srv.port)
        s2.sendall(b"GET /api/v1/programs HTTP/1.1\r\nHost: x\r\nAuthor")
        time.sleep(0.2)
        t0 = time.time()
        srv.proc.send_signal(signal.SIGTERM)
        for s in (s1, s2):
            ans = read_answer(s)
            assert ans is not None, "the connection was closed without an answer"
            assert ans[0] == 503, ans
            assert ans[1].get("connection") == "close", ans[1]
            assert json.loads(ans[2])["error"]["type"] == "unavailable", ans[2]
            s.close()
        assert time.time() - t0 < 12
        stopped_cleanly(srv, srv.stop())
        rows = harness.db_rows(srv, "SELECT count(*) AS n FROM programs WHERE name LIKE 'Arrives%'")
        assert rows[0]["n"] == 0
    finally:
        srv.stop()
        srv.cleanup()


def test_idle_keepalive_connection_closed_on_stop():
    """An idle keep-alive connection (its last answer sent, nothing more read) is simply closed at once: nothing of
    a request was read, so there is nothing to answer, and it does not hold the stop up."""
    srv = Refd().start()
    try:
        s = connect(srv.port)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.2)
        s.recv(65536)
        t0 = time.time()
        srv.proc.send_signal(signal.SIGTERM)
        s.settimeout(5)
        assert s.recv(65536) == b""
        assert time.time() - t0 < 2
        s.close()
        stopped_cleanly(srv, srv.stop())
    finally:
        srv.stop()
        srv.cleanup()
