# SPDX-License-Identifier: Apache-2.0
"""GET /api/v1/currencies: the server's ISO 4217 table (each code with its minor-unit exponent), public, and the
very table the API validates currencies against and formats amounts with."""
import csv
import io
import re

from harness import expect

CURRENCIES = "/api/v1/currencies"


def setup(srv):
    return {"admin": srv.admin_key()}


def table(srv):
    r = srv.get(CURRENCIES)
    return expect(r, 200)["data"]


def test_the_table_is_public_json_and_cacheable(srv):
    r = srv.get(CURRENCIES)
    body = expect(r, 200)
    assert (r.header("Content-Type") or "").startswith("application/json"), r.headers
    assert r.header("Cache-Control") == "public, max-age=300", r.headers
    assert body["object"] == "list" and body["has_more"] is False, {k: body[k] for k in body if k != "data"}
    assert body["data"], body
    for c in body["data"]:
        assert set(c) == {"object", "code", "exponent"} and c["object"] == "currency", c


def test_the_table_lists_iso_4217_codes_in_order(srv):
    data = table(srv)
    codes = [c["code"] for c in data]
    assert codes == sorted(set(codes)), "sorted by code, each once"
    for c in data:
        assert re.fullmatch(r"[a-z]{3}", c["code"]), c
        assert isinstance(c["exponent"], int) and 0 <= c["exponent"] <= 4, c
    exp = {c["code"]: c["exponent"] for c in data}
    # A few facts of ISO 4217 (list one) that the UI got wrong when it kept its own table.
    want = {"usd": 2, "eur": 2, "jpy": 0, "krw": 0, "isk": 0, "vnd": 0, "clp": 0, "xof": 0, "xaf": 0, "pyg": 0,
            "ugx": 0, "bhd": 3, "kwd": 3, "jod": 3, "omr": 3, "tnd": 3, "iqd": 3, "lyd": 3, "clf": 4, "uyw": 4}
    assert {k: exp.get(k) for k in want} == want
    # Codes without minor units (precious metals, testing and "no currency") are not money anyone is paid in.
    for code in ("xau", "xag", "xts", "xxx", "xdr"):
        assert code not in exp, code


def test_the_api_takes_exactly_the_listed_codes_and_formats_with_their_exponents(srv, ctx):
    """Every listed currency is accepted for a program, in any letter case, and the program's report writes its
    revenue with exactly the listed number of decimals (the CSV uses the server's own formatting)."""
    admin = ctx["admin"]
    for c in table(srv):
        code = c["code"]
        prog = expect(srv.post("/api/v1/programs", {"name": "In " + code, "currency": code.upper()}, key=admin), 201)
        assert prog["currency"] == code, prog
        r = srv.get("/api/v1/reports/summary?format=csv&program_id=" + prog["id"], key=admin)
        assert r.status == 200, r
        rows = list(csv.reader(io.StringIO(r.body)))
        revenue = [v for m, cur, v in rows[1:] if m == "revenue"]
        assert len(revenue) == 1, rows
        want = "0" if c["exponent"] == 0 else "0." + "0" * c["exponent"]
        assert revenue[0] == want, (code, c["exponent"], revenue[0])
    for code in ("xau", "xts", "abc", "eurx"):
        expect(srv.post("/api/v1/programs", {"name": "x", "currency": code}, key=admin), 400, field="currency")


def test_the_table_ignores_credentials_and_reads_nothing_else(srv, ctx):
    """An admin's key and a session change nothing: the table is the same for everyone."""
    anonymous = table(srv)
    assert expect(srv.get(CURRENCIES, key=ctx["admin"]), 200)["data"] == anonymous
    expect(srv.post(CURRENCIES, {}), 405)
