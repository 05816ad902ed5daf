# SPDX-License-Identifier: Apache-2.0
"""Starts the real refd binary on an ephemeral loopback port with a temporary database and talks HTTP to it."""
import http.client
import json
import re
import os
import shutil
import signal
import subprocess
import tempfile
import time

BINARY = os.environ.get("REFD_BIN", os.path.join(os.path.dirname(__file__), "..", "..", "build", "refd"))

# The database the tests run refd on: REFD_TEST_DB=sqlite (a file per instance, the default) or postgres (a
# database per instance on one throwaway cluster: the one run.py started, named by REFD_TEST_PG, or one this
# process starts itself when a module runs alone).
DB_KIND = os.environ.get("REFD_TEST_DB", "sqlite")
if DB_KIND not in ("sqlite", "postgres"):
    raise SystemExit("REFD_TEST_DB must be sqlite or postgres, not %r" % DB_KIND)

_cluster = None


def psql_path():
    """psql, the installation's own (see pgcluster.psql)."""
    import sys
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    import pgcluster
    return pgcluster.psql()


def pg_cluster():
    """The PostgreSQL cluster of this run (started on first use when run.py did not start one)."""
    global _cluster
    if _cluster is None:
        import sys
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
        import pgcluster
        shared = os.environ.get("REFD_TEST_PG")
        if shared:
            info = json.loads(shared)
            _cluster = pgcluster.Cluster(info["base"])
            _cluster.port = info["port"]
            _cluster.started = False  # owned by run.py: never stopped from here
        else:
            import atexit
            _cluster = pgcluster.Cluster().start()
            atexit.register(_cluster.remove)
    return _cluster


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # list of (name, value)
        self.body = body
        try:
            self.json = json.loads(body) if body else None
        except ValueError:
            self.json = None

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def headers_all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def __repr__(self):
        return "<Response %d %s>" % (self.status, self.body[:300])


class Refd:
    """One refd process with its own temporary directory and database; or, made by sibling(), another refd process
    on the database of an existing one."""

    def __init__(self, demo=False, extra_args=(), env=None, wrapper=(), db_kind=None, _database_of=None):
        self.dir = tempfile.mkdtemp(prefix="refd-test-")
        self.siblings = []  # the processes sibling() started on this instance's database
        self.pg_db = None  # the PostgreSQL database this instance made, and drops at its cleanup
        if _database_of is not None:
            self.db_kind = _database_of.db_kind
            self.db = _database_of.db
        else:
            self.db_kind = db_kind or DB_KIND
            if self.db_kind == "postgres":
                self.pg_db = pg_cluster().create_db()
                self.db = pg_cluster().url(self.pg_db)
            else:
                self.db = os.path.join(self.dir, "refd.db")
        self.log_path = os.path.join(self.dir, "refd.log")
        self.err_path = os.path.join(self.dir, "refd.err")
        self.demo = demo
        self.extra_args = list(extra_args)
        # refd reads REFD_* settings from its environment: the caller's own (a REFD_DB or REFD_QUIET exported in
        # a shell) must not change what the tests see, so only those a test gives are passed.
        if _database_of is not None:
            # The same settings, the instance key above all: a sibling must read what the first process sealed.
            self.env = dict(_database_of.env)
        else:
            self.env = {k: v for k, v in os.environ.items() if not k.startswith("REFD_")}
        if self.pg_db:
            # A PostgreSQL database has no directory of its own for the instance key: every process given it
            # (the server, the command line) gets the same key.
            self.env["REFD_SECRET_KEY"] = os.urandom(32).hex()
        self.env.update(env or {})
        self.proc = None
        self.port = None
        self.demo_password = None
        self.wrapper = list(wrapper)  # a command refd runs under (strace, say)

    def cli(self, *args, stdin=None, check=True):
        """Runs a refd subcommand against this instance's database; returns CompletedProcess."""
        p = subprocess.run([BINARY, *args, "--db", self.db], input=stdin, capture_output=True, text=True,
                           env=self.env, timeout=60)
        if check and p.returncode != 0:
            raise AssertionError("refd %s failed (%d): %s" % (" ".join(args), p.returncode, p.stderr))
        return p

    def start(self):
        self.clock_path = os.path.join(self.dir, "clock")
        args = self.wrapper + [BINARY, "serve", "--listen", "127.0.0.1:0", "--db", self.db, "--threads", "2",
                               "--test-clock-file", self.clock_path] + self.extra_args
        if not self.demo:
            args.append("--no-demo")
        self.out = open(self.log_path, "w")
        self.err = open(self.err_path, "w")
        self.proc = subprocess.Popen(args, stdout=self.out, stderr=self.err, env=self.env)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("refd exited early: " + open(self.err_path).read())
            with open(self.log_path) as f:
                for line in f:
                    try:
                        rec = json.loads(line)
                    except ValueError:
                        continue
                    if rec.get("msg") == "listening":
                        self.port = int(rec["addr"].rsplit(":", 1)[1])
                        if self.demo:
                            for l in open(self.err_path):
                                m = re.search(r"with password (\S+)", l)
                                if m:
                                    self.demo_password = m.group(1)
                        return self
            time.sleep(0.02)
        raise AssertionError("refd did not start listening")

    def sibling(self, extra_args=None, env=None, demo=False):
        """Starts another refd process on this instance's database (as several processes behind a load balancer
        share one PostgreSQL database, or a process restarted after a crash), with the same settings and instance
        key, its own directory for its logs and clock file, and its own port. extra_args replaces this instance's
        extra arguments when given; env adds to its environment; demo lets it seed demo data into an empty
        database. This instance's cleanup stops it too (stop it first to check its exit code). On SQLite the
        processes share the file through SQLite's own locking, one writer at a time; the deployment with several
        processes at once is PostgreSQL's."""
        sib = Refd(demo=demo, extra_args=self.extra_args if extra_args is None else extra_args, env=env,
                   wrapper=self.wrapper, _database_of=self)
        # Listed before it starts, so that the cleanup removes its directory even when it fails to start.
        self.siblings.append(sib)
        return sib.start()

    def set_clock(self, offset_ms):
        """Moves refd's clock: offset_ms milliseconds ahead of real time (0 for real time)."""
        set_clocks([self], offset_ms)

    def stop(self, sig=signal.SIGTERM, timeout=15):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("refd did not stop within %ds of %s" % (timeout, sig))
        code = self.proc.returncode if self.proc else None
        for f in (getattr(self, "out", None), getattr(self, "err", None)):
            if f:
                f.close()
        return code

    def cleanup(self):
        """Stops the process and its siblings, removes their directories, then drops the database it made (once,
        after every process that used it has stopped)."""
        try:
            for sib in self.siblings:
                try:
                    sib.cleanup()
                except Exception:  # noqa: BLE001 - the others and the database are cleaned up all the same
                    pass
            self.stop()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
            if self.pg_db:
                try:
                    pg_cluster().drop_db(self.pg_db)
                except Exception:  # noqa: BLE001 - the cluster goes at the end of the run anyway
                    pass
                self.pg_db = None

    def logs(self):
        with open(self.log_path) as f:
            return [json.loads(l) for l in f if l.startswith("{")]

    def connect(self, timeout=30):
        """An open connection to this process, for request(conn=...)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        conn.connect()
        return conn

    def request(self, method, path, body=None, key=None, headers=None, raw=None, session=None, conn=None):
        """Sends one request. body is JSON-encoded; raw is sent as is. session is a Session (cookie + CSRF). conn is
        a connection of connect() to send it on (the caller closes it); without it, a new one is opened and closed."""
        own = conn is None
        if own:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        h = {}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        if raw is not None:
            data = raw if isinstance(raw, bytes) else raw.encode()
        if key:
            h["Authorization"] = "Bearer " + key
        if session:
            h["Cookie"] = "refd_session=" + session.cookie
            if session.csrf and method not in ("GET", "HEAD"):
                h["X-CSRF-Token"] = session.csrf
        h.update(headers or {})
        conn.request(method, path, body=data, headers=h)
        r = conn.getresponse()
        resp = Response(r.status, r.getheaders(), r.read().decode("utf-8", "replace"))
        if own:
            conn.close()
        return resp

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body=body, **kw)

    def patch(self, path, body=None, **kw):
        return self.request("PATCH", path, body=body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    # Conveniences for setting up a test.

    def admin_key(self, role="admin", partner=None, name="test"):
        args = ["apikey", "create", "--name", name, "--role", role]
        if partner:
            args += ["--partner", partner]
        return self.cli(*args).stdout.strip()

    def add_user(self, email, role, password="correct horse battery", partner=None):
        args = ["user", "add", "--email", email, "--role", role]
        if partner:
            args += ["--partner", partner]
        self.cli(*args, stdin=password + "\n")
        return password

    def login(self, email, password):
        r = self.post("/api/v1/auth/login", {"email": email, "password": password})
        if r.status != 200:
            raise AssertionError("login failed: %r" % r)
        cookie = None
        for v in r.headers_all("Set-Cookie"):
            if v.startswith("refd_session="):
                cookie = v.split(";", 1)[0].split("=", 1)[1]
        return Session(cookie, r.json["csrf_token"])


class Session:
    def __init__(self, cookie, csrf):
        self.cookie = cookie
        self.csrf = csrf


def set_clocks(servers, offset_ms):
    """Moves the clocks of several refd processes together: offset_ms milliseconds ahead of real time (0 for real
    time). Every clock file is written and every process signalled before any is waited for, so that processes
    sharing a database see the new time at nearly the same moment."""
    want = "clock offset set to %d ms" % int(offset_ms)
    seen = []
    for srv in servers:
        with open(srv.clock_path, "w") as f:
            f.write("%d\n" % int(offset_ms))
        seen.append(open(srv.err_path).read().count(want))
    for srv in servers:
        srv.proc.send_signal(signal.SIGUSR2)
    deadline = time.time() + 10
    for srv, before in zip(servers, seen):
        while open(srv.err_path).read().count(want) <= before:
            if time.time() > deadline:
                raise AssertionError("refd did not take the clock offset")
            time.sleep(0.01)


def race(calls, timeout=60):
    """Sends several requests at once and returns their responses, in order. calls holds (srv, method, path, kw)
    tuples, kw being request()'s keyword arguments; each request gets a thread and a connection opened beforehand,
    and a barrier releases them together, so that they reach refd (and its database) at the same moment rather
    than one after another. An exception in any thread is raised here."""
    import threading
    conns = [srv.connect(timeout=timeout) for srv, _, _, _ in calls]
    barrier = threading.Barrier(len(calls))
    out = [None] * len(calls)
    errors = []

    def go(i):
        srv, method, path, kw = calls[i]
        try:
            barrier.wait(timeout)
            out[i] = srv.request(method, path, conn=conns[i], **kw)
        except Exception as e:  # noqa: BLE001 - raised in the caller's thread below
            errors.append(e)
            barrier.abort()

    threads = [threading.Thread(target=go, args=(i,), daemon=True) for i in range(len(calls))]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout + 5)
    finally:
        for c in conns:
            c.close()
    if errors:
        raise errors[0]
    if any(t.is_alive() for t in threads):
        raise AssertionError("a racing request got no answer within %d s" % timeout)
    return out


def expect(resp, status, field=None, etype=None):
    """Asserts the status (and, for errors, the field and type named in the error body)."""
    assert resp.status == status, "expected %d, got %r" % (status, resp)
    if field is not None:
        assert resp.json and resp.json.get("error", {}).get("field") == field, \
            "expected error field %r, got %r" % (field, resp)
    if etype is not None:
        assert resp.json["error"]["type"] == etype, "expected error type %r, got %r" % (etype, resp)
    return resp.json


def walk_pages(srv, path, limit, **kw):
    """Follows limit/starting_after through a list; returns (items, pages) and checks has_more on every page."""
    sep = "&" if "?" in path else "?"
    items, pages, after = [], [], None
    while True:
        url = "%s%slimit=%d" % (path, sep, limit) + ("&starting_after=" + after if after else "")
        body = expect(srv.get(url, **kw), 200)
        assert body["object"] == "list", body
        pages.append(body)
        items.extend(body["data"])
        assert len(body["data"]) <= limit, body
        if not body["has_more"]:
            return items, pages
        assert len(body["data"]) == limit, "has_more with a short page: %r" % body
        after = body["data"][-1]["id"]
        assert len(pages) < 1000, "pagination does not end"


def raw_http(port, data, timeout=10):
    """Sends raw bytes on a fresh connection and returns what the server answers (up to close or timeout)."""
    import socket
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            out += chunk
        return out
    finally:
        s.close()


def tcp_queues(local_port, remote_port):
    """(bytes in the send queue, bytes in the receive queue) of the established loopback TCP connection whose end
    local_port talks to remote_port, read from /proc/net/tcp; None when there is no such connection. A server's end
    of a connection shows whether the server has read what the client sent (accepted or not yet)."""
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            parts = line.split()
            local, remote, state, queues = parts[1], parts[2], parts[3], parts[4]
            if state == "01" and int(local.rsplit(":", 1)[1], 16) == local_port and \
                    int(remote.rsplit(":", 1)[1], 16) == remote_port:
                tx, rx = queues.split(":")
                return int(tx, 16), int(rx, 16)
    return None


# ---- Reading the database, browsers and cookies (used by the link and redirect tests) ----

# A User-Agent that counts as a person. Python's http.client sends none by default, which counts as a bot.
BROWSER_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36"


def browser_ua(tag):
    """A distinct browser User-Agent, so that tests (all from 127.0.0.1) are different visitors."""
    return "%s refd-test/%s" % (BROWSER_UA, tag)


def one_link(srv, name, code, destination="https://shop.example/"):
    """A program, a partner and a link with the given code, made with a new admin key; returns all four."""
    admin = srv.admin_key()
    prog = expect(srv.post("/api/v1/programs", {"name": name, "currency": "usd"}, key=admin), 201)
    ptn = expect(srv.post("/api/v1/partners", {"program_id": prog["id"], "name": name + " Partner",
                                               "email": "%s@links.example" % code}, key=admin), 201)
    link = expect(srv.post("/api/v1/links", {"partner_id": ptn["id"], "destination_url": destination,
                                             "code": code}, key=admin), 201)
    return admin, prog, ptn, link


def _pg_literal(v):
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, int):
        return str(v)
    return "'" + str(v).replace("'", "''") + "'"


def db_rows(srv, sql, args=()):
    """Runs one query on the instance's database, read-only, and returns the rows as dicts (the same SQL serves
    both databases: ? stands for each argument in turn). Read only after the responses whose effects are wanted:
    the server commits before it answers."""
    if srv.db_kind == "postgres":
        # psql gives the rows as one JSON array, which keeps numbers numbers and text text.
        parts = sql.split("?")
        assert len(parts) == len(args) + 1, "one argument per ?"
        text = parts[0] + "".join(_pg_literal(a) + rest for a, rest in zip(args, parts[1:]))
        wrapped = "SELECT coalesce(json_agg(row_to_json(t)), '[]') FROM (%s) AS t" % text
        p = subprocess.run([psql_path(), "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", srv.db, "-c",
                            "BEGIN TRANSACTION READ ONLY; " + wrapped + "; COMMIT"],
                           capture_output=True, text=True, timeout=60)
        if p.returncode != 0:
            raise AssertionError("psql: %s" % p.stderr)
        # json_agg puts a line break between rows: the whole output is the one value.
        return json.loads(p.stdout) if p.stdout.strip() else []
    import pathlib
    import sqlite3
    conn = sqlite3.connect(pathlib.Path(srv.db).resolve().as_uri() + "?mode=ro", uri=True, timeout=10)
    try:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute(sql, args)]
    finally:
        conn.close()


def db_write(srv, sql, args=()):
    """Runs one writing statement on the instance's database outside refd, as an operator with a database shell
    would; returns None when the database took it, else the database's error text (its triggers and constraints
    are what a test of this checks)."""
    if srv.db_kind == "postgres":
        parts = sql.split("?")
        assert len(parts) == len(args) + 1, "one argument per ?"
        text = parts[0] + "".join(_pg_literal(a) + rest for a, rest in zip(args, parts[1:]))
        p = subprocess.run([psql_path(), "-X", "-q", "-v", "ON_ERROR_STOP=1", srv.db, "-c", text], capture_output=True,
                           text=True, timeout=60)
        return None if p.returncode == 0 else (p.stderr or "refused")
    import pathlib
    import sqlite3
    conn = sqlite3.connect(pathlib.Path(srv.db).resolve().as_uri() + "?mode=rw", uri=True, timeout=10)
    try:
        conn.execute(sql, args)
        conn.commit()
        return None
    except sqlite3.DatabaseError as e:
        return str(e)
    finally:
        conn.close()


def db_raw(srv):
    """Everything the database holds, as bytes: the SQLite file with its WAL, or a dump of the PostgreSQL
    database; to show that a secret is not stored in clear."""
    if srv.db_kind == "postgres":
        p = subprocess.run(["pg_dump", "--data-only", srv.db], capture_output=True, timeout=120)
        assert p.returncode == 0, p.stderr
        return p.stdout
    raw = b""
    for path in (srv.db, srv.db + "-wal"):
        try:
            raw += open(path, "rb").read()
        except OSError:
            pass
    return raw


def db_counts(srv, tables):
    """{table: row count} for the named tables, plus the settings rows, to show that a request changed nothing."""
    out = {t: db_rows(srv, "SELECT count(*) AS n FROM %s" % t)[0]["n"] for t in tables}
    out["settings"] = sorted((r["key"], r["value"]) for r in db_rows(srv, "SELECT key, value FROM settings"))
    return out


def db_dump(srv, volatile=(("api_keys", "last_used_at"),)):
    """Every row of every table, as sorted JSON text per table, without the columns that change on every request
    (an API key's last use): compare two dumps to show that a request changed nothing at all."""
    if srv.db_kind == "postgres":
        # The tables are those of the migrations, which ran before the first request: asked once per server.
        names = getattr(srv, "_dump_tables", None)
        if names is None:
            names = [r["name"] for r in db_rows(srv, "SELECT table_name AS name FROM information_schema.tables "
                                                     "WHERE table_schema = current_schema() AND "
                                                     "table_type = 'BASE TABLE' ORDER BY table_name")]
            srv._dump_tables = names
    else:
        names = None
    out = {}
    fetched = {}
    if names is None:
        # SQLite: every table read on one read-only connection in one read transaction (a connection per table
        # makes a walk over every route far too slow, and one snapshot is what a comparison wants).
        import pathlib
        import sqlite3
        conn = sqlite3.connect(pathlib.Path(srv.db).resolve().as_uri() + "?mode=ro", uri=True, timeout=10)
        try:
            conn.row_factory = sqlite3.Row
            conn.execute("BEGIN")
            names = [r["name"] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                                     "AND name NOT LIKE 'sqlite_%' ORDER BY name")]
            for t in names:
                fetched[t] = [dict(r) for r in conn.execute('SELECT * FROM "%s"' % t)]
            conn.execute("COMMIT")
        finally:
            conn.close()
    if srv.db_kind == "postgres" and names:
        # One query for every table: a psql per table makes a walk over every route far too slow.
        parts = ", ".join("'%s', (SELECT coalesce(json_agg(t), '[]') FROM \"%s\" AS t)" % (n, n) for n in names)
        fetched = db_rows(srv, "SELECT json_build_object(%s) AS d" % parts)[0]["d"]
    for t in names:
        rows = fetched[t] if t in fetched else db_rows(srv, 'SELECT * FROM "%s"' % t)
        for r in rows:
            for table, column in volatile:
                if table == t:
                    r.pop(column, None)
        out[t] = sorted(json.dumps(r, sort_keys=True, default=repr) for r in rows)
    return out


def dump_diff(before, after):
    """The tables whose rows differ between two db_dump results: {table: (rows added, rows removed, a sample)}."""
    out = {}
    for t in sorted(set(before) | set(after)):
        b, a = set(before.get(t, [])), set(after.get(t, []))
        if a != b:
            out[t] = (len(a - b), len(b - a), sorted(a - b or b - a)[0][:160])
    return out


def parse_set_cookie(value):
    """('name', 'value', {attribute (lower-case): value or True}) from one Set-Cookie header."""
    parts = [p.strip() for p in value.split(";")]
    name, _, val = parts[0].partition("=")
    attrs = {}
    for p in parts[1:]:
        if p:
            k, eq, v = p.partition("=")
            attrs[k.strip().lower()] = v.strip() if eq else True
    return name.strip(), val.strip(), attrs
