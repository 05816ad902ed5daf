"""Health, readiness, request ids and logs, graceful shutdown, unknown routes and methods."""
import json
import signal
import threading

from harness import Refd, expect


def test_healthz(srv):
    assert expect(srv.get("/healthz"), 200) == {"status": "ok"}


def test_readyz(srv):
    body = expect(srv.get("/readyz"), 200)
    assert body["status"] == "ready" and body["schema_version"] >= 1


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


def test_sigterm_lets_in_flight_request_finish():
    # A login spends about 0.1 s hashing with Argon2id: SIGTERM arrives while it runs, and the client must
    # still get its complete answer before the process exits cleanly.
    s = Refd().start()
    try:
        s.add_user("inflight@example.com", "admin", password="in flight password")
        result = {}

        def login():
            result["r"] = s.post("/api/v1/auth/login", {"email": "inflight@example.com",
                                                         "password": "in flight password"})

        t = threading.Thread(target=login)
        t.start()
        import time
        time.sleep(0.03)
        code = s.stop(signal.SIGTERM)
        t.join(10)
        assert code == 0, code
        assert result["r"].status == 200, result["r"]
        assert result["r"].json["csrf_token"]
    finally:
        s.cleanup()
