#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Checks that the PostgreSQL migrations (src/store/migrations/postgres/NNNN_name.sql, or the shared file where a
version has none) give the schema the SQLite migrations give, and that they behave alike where it matters.

    python3 tests/test_pg_schema.py [REFD_BIN]      (default: $REFD_BIN, else build/refd; `make -j2` builds it)

It makes a SQLite database with `REFD_BIN migrate`, applies the PostgreSQL migrations up to that database's
version to a fresh database of a throwaway cluster (tests/pgcluster.py), as an ordinary role that owns it, each
file in one transaction, and compares table by table: the tables, each one's columns in order with their types,
NOT NULL flags and defaults, primary keys, unique constraints, the indexes SQLite names (columns or expressions,
uniqueness, partial predicates), foreign keys, the number of CHECK constraints and the triggers; the same
comparison runs after each version, SQLite's files applied one by one beside PostgreSQL's. It then runs the
same statements against both databases: the ledger's and the recruitment codes' triggers must refuse the same
changes with the same messages, text must sort and fold case as in SQLite, and the data moved by migrations 0008
to 0011 must come out the same. Every difference is printed; the exit code is 1 if there is any. The cluster is
removed at the end, also on failure. Not part of tests/run_all.sh yet.
"""
import glob
import json
import os
import re
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pgcluster  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MIGRATIONS = os.path.join(ROOT, "src", "store", "migrations")
OWNER = "refd_owner"

# What PostgreSQL has beyond SQLite, on purpose. Nothing else may differ.
PG_EXTRA_COLUMNS = {
    ("partners", "search_vector"): "the words of name, email and company for word-prefix search, generated; SQLite "
                                   "keeps them in the FTS5 table partners_fts instead",
}
# The listed tables order their lists by the inserting transaction, then seq, on PostgreSQL
# (postgres/0013_list_order.sql): each has a txid column, and its indexes that end in seq end in (txid, seq).
LIST_ORDER_TABLES = ("programs", "partners", "users", "api_keys", "plans", "links", "leads", "sales", "commissions",
                     "payout_runs", "events", "webhook_endpoints", "deliveries", "connections", "inbound_events",
                     "mail_messages")
for _t in LIST_ORDER_TABLES:
    PG_EXTRA_COLUMNS[(_t, "txid")] = "the transaction that inserted the row, which orders lists (0013_list_order)"
PG_EXTRA_INDEXES = {
    "partners_search": "GIN over search_vector: word-prefix matches (SQLite: partners_fts)",
    "partners_name_trgm": "trigram GIN over lower(name): substring matches (SQLite: FTS5 tables)",
    "partners_email_trgm": "trigram GIN over lower(email): substring matches such as email fragments",
    "partners_company_trgm": "trigram GIN over lower(company): substring matches",
}
for _t in ("partners", "links", "leads", "sales", "commissions", "events", "mail_messages"):
    PG_EXTRA_INDEXES[_t + "_order"] = "(txid, seq): lists without a filter, in their order (0013_list_order)"


def list_order_keys(table, sqlite_keys, pg_keys):
    """True when the PostgreSQL index is the SQLite one with txid before its last key, seq (0013_list_order)."""
    return (table in LIST_ORDER_TABLES and sqlite_keys and sqlite_keys[-1] == "seq"
            and list(pg_keys) == list(sqlite_keys[:-1]) + ["txid", "seq"])
PG_EXTRA_TRIGGERS = {
    ("commissions", "commissions_no_truncate"): "TRUNCATE skips row triggers; SQLite has no TRUNCATE",
}
# SQLite's declared types and the PostgreSQL types they become.
TYPES = {"INTEGER": "bigint", "TEXT": "text", "BLOB": "bytea"}
FTS_SHADOW = ("_data", "_idx", "_content", "_docsize", "_config")
FK_ACTIONS = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}

differences = []


def differ(msg):
    differences.append(msg)
    print("DIFFERENCE: " + msg)



def norm(expr):
    """An expression or default as both databases print it, less casts, parentheses, spaces and case."""
    if expr is None:
        return None
    e = re.sub(r"::[a-z_]+( [a-z_]+)*(\[\])?", "", expr.lower())
    return re.sub(r"[()\s]", "", e)


# Migration numbers that work on another branch holds until it is merged (its file then fills the gap, and the
# number leaves this set); none now.
RESERVED_VERSIONS = set()


def migrations():
    """[(version, name, path, is_postgres_variant)] in version order, and the problems in the numbering."""
    problems = []
    shared, pg = {}, {}
    for d, into in ((MIGRATIONS, shared), (os.path.join(MIGRATIONS, "postgres"), pg)):
        for path in glob.glob(os.path.join(d, "*.sql")):
            m = re.match(r"^(\d{4})_(\w+)\.sql$", os.path.basename(path))
            if not m:
                problems.append("badly named migration %s" % path)
                continue
            into[int(m.group(1))] = (m.group(2), path)
    out = []
    for v in sorted(set(shared) | set(pg)):
        if v in shared and v in pg and shared[v][0] != pg[v][0]:
            problems.append("migration %04d is %s here and %s in postgres/" % (v, shared[v][0], pg[v][0]))
        name, path = pg.get(v) or shared[v]
        out.append((v, name, path, v in pg))
    expected = 1
    for v, _, _, _ in out:
        while expected in RESERVED_VERSIONS and expected != v:
            expected += 1
        if v != expected:
            problems.append("migration versions skip from %d to %d" % (expected - 1, v))
            break
        expected += 1
    return out, problems, shared


class Pg:
    """A database of the cluster owned by, and used as, an ordinary role, as a deployment would have it: the
    migrations must not need a superuser (pg_trgm and unaccent are trusted extensions)."""

    def __init__(self, cluster, prefix):
        self.db = "%s_%s" % (prefix, secrets.token_hex(6))
        cluster.psql('CREATE DATABASE "%s" OWNER %s' % (self.db, OWNER))
        self.url = cluster.url(self.db).replace("user=postgres", "user=" + OWNER)

    def run(self, sql):
        """(rows as lists of strings, None) or (None, (sqlstate, message)) when PostgreSQL refuses."""
        p = subprocess.run([pgcluster.psql(), "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-v", "VERBOSITY=verbose",
                            self.url, "-c", sql], capture_output=True, text=True)
        if p.returncode != 0:
            m = re.search(r"ERROR:\s+([0-9A-Z]{5}): (.*)", p.stderr)
            return None, (m.group(1), m.group(2)) if m else ("?????", p.stderr.strip())
        return [line.split("|") for line in p.stdout.splitlines()], None

    def ok(self, sql):
        rows, e = self.run(sql)
        if e:
            raise RuntimeError("PostgreSQL refused %s: %s %s" % (sql, e[0], e[1]))
        return rows

    def apply(self, path):
        p = subprocess.run([pgcluster.psql(), "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction", "-f", path,
                            self.url], capture_output=True, text=True)
        if p.returncode != 0:
            differ("%s fails on PostgreSQL: %s" % (os.path.relpath(path, ROOT), p.stderr.strip()))
            return False
        return True


class Lite:
    def __init__(self, path):
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("PRAGMA foreign_keys = ON")

    def run(self, sql):
        try:
            rows = self.conn.execute(sql).fetchall()
        except sqlite3.Error as e:
            return None, str(e)
        return [["" if v is None else str(v) for v in r] for r in rows], None

    def ok(self, sql):
        rows, e = self.run(sql)
        if e:
            raise RuntimeError("SQLite refused %s: %s" % (sql, e))
        return rows

    def apply(self, path):
        with open(path) as f:
            self.conn.executescript("BEGIN;\n" + f.read() + "\nCOMMIT;")


# ---- the schema as each database describes it ----

def index_parts(sql):
    """The key expressions and the WHERE predicate of a CREATE INDEX statement."""
    i = sql.index("(", re.search(r"\bON\s+\w+\s*", sql, re.I).end() - 1)
    depth, parts, start, j = 0, [], i + 1, i
    while True:
        c = sql[j]
        if c == "'":
            j = sql.index("'", j + 1)
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                parts.append(sql[start:j])
                break
        elif c == "," and depth == 1:
            parts.append(sql[start:j])
            start = j + 1
        j += 1
    rest = sql[j + 1:].strip()
    pred = re.sub(r"^WHERE\s+", "", rest, flags=re.I) if rest else None
    return [norm(p) for p in parts], norm(pred)


def sqlite_schema(path):
    conn = sqlite3.connect(path)
    master = conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master").fetchall()
    vtabs = [n for t, n, _, s in master if t == "table" and s and s.upper().startswith("CREATE VIRTUAL TABLE")]
    skip = {"schema_migrations"} | set(vtabs) | {v + s for v in vtabs for s in FTS_SHADOW}
    schema = {}
    for t, name, _, sql in master:
        if t != "table" or name.startswith("sqlite_") or name in skip:
            continue
        without_rowid = bool(re.search(r"WITHOUT\s+ROWID", sql, re.I))
        cols = conn.execute("PRAGMA table_xinfo(%s)" % name).fetchall()
        pk = [c[1] for c in sorted((c for c in cols if c[5]), key=lambda c: c[5])]
        rowid_alias = len(pk) == 1 and not without_rowid and [c[2] for c in cols if c[1] == pk[0]] == ["INTEGER"]
        table = {
            # A primary key's columns never hold NULL: a rowid alias gets a new rowid instead, and STRICT and
            # WITHOUT ROWID tables refuse it; PRAGMA table_info leaves their notnull flag unset all the same.
            "columns": [{"name": c[1], "type": TYPES.get(c[2], c[2]), "notnull": bool(c[3] or c[5]),
                         "default": norm(c[4]), "identity": rowid_alias and c[1] == pk[0]} for c in cols],
            "pk": pk,
            "unique": [], "indexes": {}, "fks": set(), "triggers": set(),
            "checks": len(re.findall(r"\bCHECK\s*\(", sql, re.I)),
        }
        for _, iname, unique, origin, partial in conn.execute("PRAGMA index_list(%s)" % name).fetchall():
            if origin == "pk":
                continue
            if origin == "u":
                cols_ = [r[2] for r in conn.execute("PRAGMA index_info(%s)" % iname).fetchall()]
                table["unique"].append(tuple(cols_))
                continue
            isql = [s for t2, n2, _, s in master if t2 == "index" and n2 == iname][0]
            keys, pred = index_parts(isql)
            table["indexes"][iname] = {"unique": bool(unique), "keys": keys, "pred": pred}
        fks = {}
        for fid, seq, ftable, frm, to, on_update, on_delete, _ in conn.execute(
                "PRAGMA foreign_key_list(%s)" % name).fetchall():
            fks.setdefault(fid, []).append((seq, frm, to, ftable, on_update, on_delete))
        for parts in fks.values():
            parts.sort()
            table["fks"].add((tuple(p[1] for p in parts), parts[0][3], tuple(p[2] for p in parts), parts[0][4],
                              parts[0][5]))
        schema[name] = table
    for t, name, tbl, sql in master:
        # Triggers that keep an FTS table in step are part of SQLite's full-text search, not of the schema.
        if t == "trigger" and tbl in schema and not any(re.search(r"\bINTO\s+%s\b" % v, sql) for v in vtabs):
            schema[tbl]["triggers"].add(name)
    conn.close()
    return schema


PG_SCHEMA_SQL = r"""
SELECT json_object_agg(c.relname, json_build_object(
  'columns', (SELECT json_agg(json_build_object('name', a.attname, 'type', format_type(a.atttypid, a.atttypmod),
      'notnull', a.attnotnull, 'default', CASE WHEN a.attgenerated = '' THEN pg_get_expr(d.adbin, d.adrelid) END,
      'identity', a.attidentity, 'generated', a.attgenerated, 'collation', co.collname) ORDER BY a.attnum)
    FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    LEFT JOIN pg_collation co ON co.oid = a.attcollation
    WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
  'constraints', (SELECT json_agg(json_build_object('name', k.conname, 'type', k.contype,
      'cols', (SELECT json_agg(a.attname ORDER BY u.ord) FROM unnest(k.conkey) WITH ORDINALITY u(n, ord)
               JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n),
      'ftable', CASE WHEN k.confrelid <> 0 THEN k.confrelid::regclass::text END,
      'fcols', (SELECT json_agg(a.attname ORDER BY u.ord) FROM unnest(k.confkey) WITH ORDINALITY u(n, ord)
                JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.n),
      'on_update', k.confupdtype, 'on_delete', k.confdeltype, 'index', k.conindid::regclass::text))
    FROM pg_constraint k WHERE k.conrelid = c.oid),
  'indexes', (SELECT json_agg(json_build_object('name', ic.relname, 'unique', i.indisunique, 'method', am.amname,
      'keys', (SELECT json_agg(pg_get_indexdef(i.indexrelid, g, false) ORDER BY g)
               FROM generate_series(1, i.indnkeyatts) g),
      'pred', pg_get_expr(i.indpred, i.indrelid)))
    FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am am ON am.oid = ic.relam
    WHERE i.indrelid = c.oid),
  'triggers', (SELECT json_agg(t.tgname) FROM pg_trigger t WHERE t.tgrelid = c.oid AND NOT t.tgisinternal)))
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
"""


def pg_schema(pg):
    raw = json.loads("\n".join("|".join(r) for r in pg.ok(PG_SCHEMA_SQL)))
    schema = {}
    for name, t in raw.items():
        cons = t["constraints"] or []
        backing = {k["index"] for k in cons if k["type"] in ("p", "u")}
        table = {
            "columns": [{"name": c["name"], "type": c["type"], "notnull": c["notnull"], "default": norm(c["default"]),
                         "identity": c["identity"] == "d", "any_identity": c["identity"],
                         "generated": c["generated"], "collation": c["collation"]} for c in t["columns"]],
            "pk": next((k["cols"] for k in cons if k["type"] == "p"), []),
            "unique": [tuple(k["cols"]) for k in cons if k["type"] == "u"],
            "indexes": {i["name"]: {"unique": i["unique"], "keys": [norm(k) for k in i["keys"]],
                                    "pred": norm(i["pred"]), "method": i["method"]}
                        for i in (t["indexes"] or []) if i["name"] not in backing},
            "fks": {(tuple(k["cols"]), k["ftable"], tuple(k["fcols"]), FK_ACTIONS[k["on_update"]],
                     FK_ACTIONS[k["on_delete"]]) for k in cons if k["type"] == "f"},
            "triggers": set(t["triggers"] or []),
            "checks": sum(1 for k in cons if k["type"] == "c"),
        }
        schema[name] = table
    return schema


def compare(lite, pg, at):
    """Reports every difference between the two schemas; at says which ones (the version, or the binary's)."""
    def report(msg):
        differ(at + ": " + msg)

    for name in sorted(set(lite) - set(pg)):
        report("table %s is missing on PostgreSQL" % name)
    for name in sorted(set(pg) - set(lite)):
        report("table %s is only on PostgreSQL" % name)
    for name in sorted(set(lite) & set(pg)):
        a, b = lite[name], pg[name]
        extra = [c for c in b["columns"] if (name, c["name"]) in PG_EXTRA_COLUMNS]
        for c in extra:
            # A copy from SQLite leaves it out: it must fill itself.
            if not c["generated"] and not c["default"]:
                report("%s.%s, allowed on PostgreSQL only, is neither generated nor given a default" % (
                    name, c["name"]))
        bcols = [c for c in b["columns"] if (name, c["name"]) not in PG_EXTRA_COLUMNS]
        an, bn = [c["name"] for c in a["columns"]], [c["name"] for c in bcols]
        if an != bn:
            report("%s: columns %s on SQLite, %s on PostgreSQL" % (name, an, bn))
        bycol = {c["name"]: c for c in bcols}
        for ca in a["columns"]:
            cb = bycol.get(ca["name"])
            if not cb:
                continue
            where = "%s.%s" % (name, ca["name"])
            for key in ("type", "notnull", "default", "identity"):
                if ca[key] != cb[key]:
                    report("%s: %s is %r on SQLite, %r on PostgreSQL" % (where, key, ca[key], cb[key]))
            if cb["any_identity"] == "a":
                report("%s: an identity GENERATED ALWAYS, so a copy cannot keep SQLite's values" % where)
            if cb["generated"]:
                report("%s: generated on PostgreSQL only" % where)
            if cb["type"] == "text" and cb["collation"] != "C":
                report('%s: text without COLLATE "C" (SQLite compares text byte by byte)' % where)
        if list(a["pk"]) != list(b["pk"]):
            report("%s: primary key %s on SQLite, %s on PostgreSQL" % (name, a["pk"], b["pk"]))
        if a["checks"] != b["checks"]:
            report("%s: %d CHECK constraints on SQLite, %d on PostgreSQL" % (name, a["checks"], b["checks"]))
        if sorted(a["unique"]) != sorted(b["unique"]):
            report("%s: unique constraints %s on SQLite, %s on PostgreSQL" % (name, sorted(a["unique"]),
                                                                                sorted(b["unique"])))
        for iname in sorted(set(a["indexes"]) | set(b["indexes"])):
            ia, ib = a["indexes"].get(iname), b["indexes"].get(iname)
            if ib and not ia:
                if iname not in PG_EXTRA_INDEXES:
                    report("%s: index %s only on PostgreSQL" % (name, iname))
                continue
            if not ib:
                report("%s: index %s missing on PostgreSQL" % (name, iname))
                continue
            if ib["method"] != "btree":
                report("%s: index %s is %s, not a B-tree" % (name, iname, ib["method"]))
            for key in ("unique", "keys", "pred"):
                if key == "keys" and list_order_keys(name, ia[key], ib[key]):
                    continue
                if ia[key] != ib[key]:
                    report("%s: index %s %s %r on SQLite, %r on PostgreSQL" % (name, iname, key, ia[key], ib[key]))
        for fk in sorted(a["fks"] - b["fks"], key=str):
            report("%s: foreign key %s missing on PostgreSQL" % (name, fk))
        for fk in sorted(b["fks"] - a["fks"], key=str):
            report("%s: foreign key %s only on PostgreSQL" % (name, fk))
        for tg in sorted(a["triggers"] - b["triggers"]):
            report("%s: trigger %s missing on PostgreSQL" % (name, tg))
        for tg in sorted(b["triggers"] - a["triggers"]):
            if (name, tg) not in PG_EXTRA_TRIGGERS:
                report("%s: trigger %s only on PostgreSQL" % (name, tg))


def print_allowed():
    for (t, c), why in PG_EXTRA_COLUMNS.items():
        print("allowed on PostgreSQL only: column %s.%s (%s)" % (t, c, why))
    for i, why in PG_EXTRA_INDEXES.items():
        print("allowed on PostgreSQL only: index %s (%s)" % (i, why))
    print("allowed on PostgreSQL: the indexes of %s that end in seq end in (txid, seq)" % ", ".join(LIST_ORDER_TABLES))
    for (t, g), why in PG_EXTRA_TRIGGERS.items():
        print("allowed on PostgreSQL only: trigger %s on %s (%s)" % (g, t, why))


# ---- behaviour ----

PROGRAM = ("INSERT INTO programs (id, name, currency, cookie_window_days, attribution_model, holding_period_days, "
           "payout_threshold, tracking_params, created_at, updated_at) VALUES ('%s', 'P', 'USD', 30, 'last_click', 30, "
           "0, '', 0, 0)")
PARTNER = ("INSERT INTO partners (id, program_id, kind, status, name, email, currency, cost_per_lead, "
           "cost_per_lead_currency, created_at, updated_at%s) VALUES ('%s', '%s', 'partner', 'active', '%s', '%s', "
           "'USD', 0, 'USD', 0, 0%s)")
COMMISSION = ("INSERT INTO commissions (id, program_id, partner_id, role, level, rule, basis, event_type, event_id, "
              "event_at, base_amount, base_currency, rate_bps, earned, earned_currency, amount, currency, status, "
              "hold_until, dedupe, created_at, updated_at) VALUES ('%s', 'prg_t', 'ptn_t1', 'direct', 0, 'sale', "
              "'sale', 'sale', 'sale_%s', 0, 1000, 'USD', 1000, 100, 'USD', %s, 'USD', 'pending', 0, 'd_%s', 0, 0)")


def partner(pid, prg, name, email, code):
    if code is None:
        return PARTNER % ("", pid, prg, name, email, "")
    return PARTNER % (", recruitment_code", pid, prg, name, email, ", '%s'" % code)


def same(lite, pg, sql, what):
    """Runs a query on both and reports a difference in the rows."""
    a, b = lite.ok(sql), pg.ok(sql)
    if a != b:
        differ("%s: SQLite gives %s, PostgreSQL %s" % (what, a, b))


def refused_alike(lite, pg, sql, message):
    """Both must refuse sql with message, PostgreSQL as an integrity constraint violation (class 23) as SQLite's
    trigger failures are constraint failures."""
    _, ea = lite.run(sql)
    _, eb = pg.run(sql)
    if ea != message:
        differ("SQLite: %s gives %r, not %r" % (sql, ea, message))
    if eb is None or eb[1] != message or not eb[0].startswith("23"):
        differ("PostgreSQL: %s gives %r, not %r in class 23" % (sql, eb, message))


def accepted_alike(lite, pg, sql):
    _, ea = lite.run(sql)
    _, eb = pg.run(sql)
    if ea or eb:
        differ("%s: refused (SQLite: %s; PostgreSQL: %s)" % (sql, ea, eb))


def uses_index(pg, sql, index):
    rows = pg.ok("SET enable_seqscan = off; EXPLAIN " + sql)
    plan = "\n".join("|".join(r) for r in rows)
    if index not in plan:
        differ("PostgreSQL does not use %s for %s:\n%s" % (index, sql, plan))


def behaviour(lite, pg):
    for db in (lite, pg):
        db.ok(PROGRAM % "prg_t")
        db.ok(partner("ptn_t1", "prg_t", "Tess", "tess@t.example", "aaaaaaaaaaaa"))
        db.ok(COMMISSION % ("com_1", "1", "100", "1"))
        db.ok(COMMISSION % ("com_2", "2", "NULL", "2"))
    # The ledger: amounts are written once, entries never deleted; the status may change, a held amount be set.
    refused_alike(lite, pg, "UPDATE commissions SET amount = 200 WHERE id = 'com_1'",
                  "commission entries are append-only: amounts are never edited")
    refused_alike(lite, pg, "UPDATE commissions SET earned = 1 WHERE id = 'com_1'",
                  "commission entries are append-only: amounts are never edited")
    refused_alike(lite, pg, "DELETE FROM commissions WHERE id = 'com_1'",
                  "commission entries are append-only: they are never deleted")
    accepted_alike(lite, pg, "UPDATE commissions SET status = 'approved', updated_at = 5 WHERE id = 'com_1'")
    accepted_alike(lite, pg, "UPDATE commissions SET amount = 5, fx_rate_ppb = 1000000000 WHERE id = 'com_2'")
    refused_alike(lite, pg, "UPDATE commissions SET amount = 6 WHERE id = 'com_2'",
                  "commission entries are append-only: amounts are never edited")
    _, e = pg.run("TRUNCATE commissions CASCADE")
    if not e or e[1] != "commission entries are append-only: they are never deleted":
        differ("PostgreSQL: TRUNCATE commissions gives %r" % (e,))
    same(lite, pg, "SELECT id, amount, status FROM commissions ORDER BY id", "commissions after the refusals")
    # Recruitment codes: required, and never changed.
    refused_alike(lite, pg, partner("ptn_t2", "prg_t", "No Code", "nocode@t.example", None),
                  "partners.recruitment_code is required")
    refused_alike(lite, pg, "UPDATE partners SET recruitment_code = 'bbbbbbbbbbbb' WHERE id = 'ptn_t1'",
                  "partners.recruitment_code never changes")
    refused_alike(lite, pg, "UPDATE partners SET recruitment_code = NULL WHERE id = 'ptn_t1'",
                  "partners.recruitment_code never changes")
    accepted_alike(lite, pg, "UPDATE partners SET recruitment_code = recruitment_code, name = 'Tess T' "
                             "WHERE id = 'ptn_t1'")

    # Text sorts byte by byte and lower() folds ASCII letters only, as SQLite's BINARY collation and lower() do.
    names = ["apple", "Banana", "_under", "\u00c9MILE", "zed", "Zoe", "b\u00e9ta", "B-2"]
    for i, n in enumerate(names):
        for db in (lite, pg):
            db.ok(partner("ptn_o%d" % i, "prg_t", n, "o%d@t.example" % i, "ccccccccccc%d" % i))
    same(lite, pg, "SELECT name FROM partners ORDER BY name", "ORDER BY name")
    same(lite, pg, "SELECT lower(name) FROM partners ORDER BY lower(name), seq", "lower(name)")
    same(lite, pg, "SELECT id FROM partners WHERE lower(name) >= 'b' AND lower(name) < 'c' ORDER BY id",
         "a prefix range on lower(name)")
    same(lite, pg, "SELECT id FROM partners WHERE email >= 'o1' AND email < 'o2' ORDER BY id",
         "a prefix range on email")
    # Leads by email domain: the same expression on both, indexed on PostgreSQL too.
    for i, email in enumerate(["Ann@Mail.Example", "no-at-sign", "two@at@signs.example", "@lead.example"]):
        for db in (lite, pg):
            db.ok("INSERT INTO leads (id, program_id, email, source, status, method, created_at, updated_at, "
                  "status_at) VALUES ('lead_%d', 'prg_t', '%s', 'partner', 'new', 'none', 0, 0, 0)" % (i, email))
    same(lite, pg, "SELECT id, substr(email, instr(email, '@') + 1), instr(email, '@') FROM leads ORDER BY id",
         "leads' email domains")
    uses_index(pg, "SELECT id FROM leads WHERE program_id = 'prg_t' AND substr(email, instr(email, '@') + 1) = "
                   "'Mail.Example'", "leads_domain")
    uses_index(pg, "SELECT id FROM partners WHERE email >= 'o1' AND email < 'o2'", "partners_email")
    uses_index(pg, "SELECT id FROM partners WHERE lower(name) >= 'b' AND lower(name) < 'c'", "partners_name_lc")
    search(pg)


def search(pg):
    """The PostgreSQL search indexes find what partners_fts finds: words by prefix, with case and diacritics
    folded and punctuation splitting words, name ranked above email above company; and substrings."""
    pg.ok(PROGRAM % "prg_s")
    pg.ok(partner("ptn_s1", "prg_s", "Zo\u00eb M\u00fcller-Smith", "jane.doe@example.com", "dddddddddddd") +
          "; UPDATE partners SET company = 'O''Brien & Co.' WHERE id = 'ptn_s1'")
    pg.ok(partner("ptn_s2", "prg_s", "North Star", "a@x.example", "eeeeeeeeeeee"))
    pg.ok(partner("ptn_s3", "prg_s", "Someone", "northwind@x.example", "ffffffffffff"))
    pg.ok(partner("ptn_s4", "prg_s", "Else", "b@x.example", "gggggggggggg") +
          "; UPDATE partners SET company = 'Northern Ltd' WHERE id = 'ptn_s4'")
    for q in ("doe:*", "exam:*", "jane:* & doe:*", "muller:*", "ZOE:*", "smith:*", "brien:*", "co:*"):
        rows = pg.ok("SELECT id FROM partners WHERE search_vector @@ to_tsquery('refd_partner_search', '%s')" % q)
        if ["ptn_s1"] not in rows:
            differ("PostgreSQL: the word query %s misses ptn_s1 (%s)" % (q, rows))
    rows = pg.ok("SELECT id FROM partners, to_tsquery('refd_partner_search', 'north:*') q WHERE search_vector @@ q "
                 "ORDER BY ts_rank(search_vector, q) DESC, id")
    if rows != [["ptn_s2"], ["ptn_s3"], ["ptn_s4"]]:
        differ("PostgreSQL: 'north' ranked %s, not name, email, company" % rows)
    rows = pg.ok("SELECT id FROM partners WHERE lower(email) LIKE '%doe@exa%'")
    if rows != [["ptn_s1"]]:
        differ("PostgreSQL: a substring of an email finds %s" % rows)
    uses_index(pg, "SELECT id FROM partners WHERE search_vector @@ to_tsquery('refd_partner_search', 'doe:*')",
               "partners_search")
    for col in ("name", "email", "company"):
        uses_index(pg, "SELECT id FROM partners WHERE lower(%s) LIKE '%%doe@exa%%'" % col, "partners_%s_trgm" % col)


# ---- data moved by migrations ----

HISTORY = [
    PROGRAM % "prg_a", PROGRAM % "prg_b",
    partner("ptn_1", "prg_a", "One", "one@a.example", None),
    partner("ptn_2", "prg_a", "Two", "two@a.example", None),
    partner("ptn_3", "prg_a", "Three", "three@a.example", None),
    partner("ptn_9", "prg_b", "Nine", "nine@b.example", None),
    "INSERT INTO rollup_entity (program_id, entity, currency, day, clicks, leads, revenue, earned, paid) VALUES "
    "('prg_a', 'p:ptn_1', '', 19000, 3, 1, 0, 0, 0), ('prg_a', 'p:ptn_1', '', 19002, 5, 2, 700, 0, 0), "
    "('prg_a', 'p:ptn_1', 'USD', 19001, 0, 0, 0, 250, 100), ('prg_a', 'a:ptn_2', '', 19001, 7, 0, 0, 0, 0), "
    "('prg_b', 'p:ptn_9', '', 19000, 1, 1, 10, 0, 0)",
    "INSERT INTO rollup_keys (program_id, entity, currency) VALUES ('prg_a', 'p:ptn_1', ''), "
    "('prg_a', 'p:ptn_1', 'USD'), ('prg_a', 'a:ptn_2', ''), ('prg_b', 'p:ptn_9', '')",
    "INSERT INTO rollup_daily (program_id, dim, currency, day, clicks, revenue, refunds, earned) VALUES "
    "('prg_a', 'all', '', 19000, 3, 500, 0, 0), ('prg_a', 'all', '', 19002, 2, -200, 200, 0), "
    "('prg_a', 'all', 'USD', 19001, 0, 0, 0, -250), ('prg_a', 's:partner', '', 19000, 3, 0, 0, 0), "
    "('prg_b', 'all', '', 19000, 9223372036854775807, 1, 0, 0), ('prg_b', 'all', '', 19001, 5, 2, 0, 0)",
]


def history(migs, upto, lite_path, pg):
    """Applies the migrations to 0007 to both, adds rows, applies the rest, and compares what 0008 to 0011 made
    of them (0010's codes are random: both must give every partner its own code of the right form)."""
    lite = Lite(lite_path)
    _, _, shared = migrations()
    for v, _, path, _ in migs:
        if v > upto:
            break
        if v == 8:
            for sql in HISTORY:
                lite.ok(sql)
                pg.ok(sql)
        if v not in shared:
            differ("migration %04d has no SQLite file" % v)
            return
        lite.apply(shared[v][1])
        if not pg.apply(path):
            return
    same(lite, pg, "SELECT * FROM rollup_keys ORDER BY program_id, entity, currency", "rollup_keys after 0008")
    same(lite, pg, "SELECT * FROM rollup_entity ORDER BY entity, currency, day", "rollup_entity after 0009")
    same(lite, pg, "SELECT * FROM rollup_volume ORDER BY program_id", "rollup_volume after 0011")
    for name, db in (("SQLite", lite), ("PostgreSQL", pg)):
        codes = [r[0] for r in db.ok("SELECT recruitment_code FROM partners")]
        if len(codes) != 4 or len(set(codes)) != 4 or \
                not all(re.fullmatch(r"[2-9a-hjkmnp-z]{12}", c) for c in codes):
            differ("%s: recruitment codes after 0010: %s" % (name, codes))


def stepwise(migs, upto, shared, cluster, path):
    """The schema after each version: SQLite's files applied one by one to a new database, the PostgreSQL ones to
    another, compared after each step (the binary's database is only the last state)."""
    lite, pg = Lite(path), Pg(cluster, "steps")
    for v, name, pgpath, _ in migs:
        if v > upto:
            break
        if v not in shared:
            differ("migration %04d has no SQLite file" % v)
            return
        lite.apply(shared[v][1])
        if not pg.apply(pgpath):
            return
        compare(sqlite_schema(path), pg_schema(pg), "at %04d_%s" % (v, name))
    print("compared the schema after each of versions 1 to %d" % upto)


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("REFD_BIN", os.path.join(ROOT, "build", "refd"))
    migs, problems, shared = migrations()
    for p in problems:
        differ(p)
    tmp = tempfile.mkdtemp(prefix="refd-pgschema-")
    cluster = pgcluster.Cluster()  # its own directory: the postgres user cannot enter ours (mode 0700)
    try:
        lite_path = os.path.join(tmp, "x.db")
        p = subprocess.run([binary, "migrate", "--db", lite_path], capture_output=True, text=True, timeout=120)
        if p.returncode != 0:
            raise RuntimeError("%s migrate failed: %s" % (binary, p.stderr))
        upto = sqlite3.connect(lite_path).execute("SELECT max(version) FROM schema_migrations").fetchone()[0]
        print("SQLite database from %s: schema version %d" % (binary, upto))

        cluster.start()
        cluster.psql("CREATE ROLE %s LOGIN" % OWNER)
        pg = Pg(cluster, "schema")
        highest = 0
        for v, name, path, own in migs:
            if v > upto:
                break
            if not pg.apply(path):
                break
            highest = v
            print("applied %04d_%s (%s)" % (v, name, "postgres/" if own else "shared"))
        print("PostgreSQL database at version %d" % highest)
        if highest != upto:
            differ("PostgreSQL reached version %d, SQLite is at %d" % (highest, upto))
        else:
            compare(sqlite_schema(lite_path), pg_schema(pg), "%s migrate" % os.path.basename(binary))
            stepwise(migs, upto, shared, cluster, os.path.join(tmp, "steps.db"))
            print_allowed()
            if upto < 11:
                differ("the behaviour and data checks need schema version 11 (recruitment codes, rollup volume); "
                       "%s is at %d: rebuild it (make -j2)" % (binary, upto))
            else:
                behaviour(Lite(lite_path), pg)
                history(migs, upto, os.path.join(tmp, "history.db"), Pg(cluster, "history"))
        # Migrations past the binary's version (a PostgreSQL file waiting for its SQLite one, or a binary older
        # than the tree) must still apply; their schema is not compared.
        for v, name, path, own in migs:
            if v > upto and pg.apply(path):
                print("applied %04d_%s past SQLite's version %d: runs, not compared" % (v, name, upto))
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        differ("the check could not go on: %s" % e)
    finally:
        cluster.remove()
        shutil.rmtree(tmp, ignore_errors=True)
    if differences:
        print("%d difference(s)" % len(differences))
        return 1
    print("no differences")
    return 0


if __name__ == "__main__":
    sys.exit(main())
