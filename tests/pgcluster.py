# SPDX-License-Identifier: Apache-2.0
"""A throwaway PostgreSQL cluster for the tests: initdb into a temporary directory, a server on a Unix socket (and no
TCP port) started with pg_ctl as the unprivileged postgres user when the tests run as root (initdb refuses root),
databases made and dropped per test, and everything removed at the end. Never relies on a cluster left running.

Used by tests/integration/harness.py when REFD_TEST_DB=postgres, by the C store conformance suite through
tests/run_all.sh, and by hand:

    python3 tests/pgcluster.py start DIR [NAME=VALUE ...]
                                             prints the connection string of a new cluster in DIR, with these server
                                             settings over the tests' own (the benchmarks give a production server's)
    python3 tests/pgcluster.py stop DIR      stops it (DIR is then removed)
"""
import functools
import glob
import os
import pwd
import secrets
import shutil
import subprocess
import sys
import tempfile
import time


def bindir():
    """The server programs of the newest installed PostgreSQL (Debian keeps them out of PATH)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return os.path.dirname(found[-1])
    for d in os.environ.get("PATH", "").split(":"):
        if os.path.exists(os.path.join(d, "initdb")):
            return d
    raise RuntimeError("PostgreSQL's initdb is not installed (scripts/bootstrap.sh --test installs it)")


@functools.lru_cache(maxsize=None)
def psql():
    """The psql of that installation: Debian's /usr/bin/psql is a Perl wrapper that costs 0.1 s a call, and the
    tests call psql thousands of times."""
    try:
        path = os.path.join(bindir(), "psql")
        if os.path.exists(path):
            return path
    except RuntimeError:
        pass
    return "psql"


def _as_owner(cmd, owner):
    """cmd as the cluster's owner: postgres when we are root, ourselves otherwise."""
    if owner is None:
        return cmd
    return ["runuser", "-u", owner, "--"] + cmd


class Cluster:
    def __init__(self, base=None, settings=None):
        """settings: server settings (name -> value) given to the server at every start, over the tests' own."""
        self.settings = dict(settings or {})
        self.owner = "postgres" if os.geteuid() == 0 else None
        # The server runs as the owner, who must reach its directory: the temporary directory of a test run may
        # be private to root, /tmp is not.
        self.base = base or tempfile.mkdtemp(prefix="refd-pg-", dir="/tmp" if self.owner else None)
        os.makedirs(self.base, exist_ok=True)
        self.data = os.path.join(self.base, "data")
        self.sock = os.path.join(self.base, "sock")
        self.log = os.path.join(self.base, "server.log")
        self.port = 5432 + 10000 + secrets.randbelow(20000)  # names the socket file; no TCP listener
        self.bin = bindir()
        self.started = False

    def _chown(self, path):
        if self.owner:
            pw = pwd.getpwnam(self.owner)
            os.chown(path, pw.pw_uid, pw.pw_gid)

    def _options(self):
        """The server's command-line settings: a Unix socket only, the tests' sizes, then self.settings."""
        settings = {"max_connections": "200", "shared_buffers": "64MB", "max_locks_per_transaction": "256"}
        settings.update(self.settings)
        opts = "-c listen_addresses='' -c unix_socket_directories=%s -p %d" % (self.sock, self.port)
        for name, value in settings.items():
            opts += " -c %s=%s" % (name, value)
        return opts

    def start(self):
        os.makedirs(self.sock, exist_ok=True)
        self._chown(self.base)
        self._chown(self.sock)
        if self.owner:
            os.chmod(self.base, 0o755)
        subprocess.run(_as_owner([os.path.join(self.bin, "initdb"), "-D", self.data, "-U", "postgres", "-A", "trust",
                                  "-E", "UTF8", "--locale=C", "--no-sync"], self.owner),
                       check=True, capture_output=True, text=True)
        opts = self._options()
        p = subprocess.run(_as_owner([os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-l", self.log, "-o", opts,
                                      "-w", "-t", "60", "start"], self.owner), capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError("pg_ctl start failed: %s %s %s" % (p.stdout, p.stderr, self.server_log()))
        self.started = True
        return self

    def server_log(self):
        try:
            return open(self.log).read()[-3000:]
        except OSError:
            return ""

    def url(self, dbname="postgres"):
        return "postgresql:///%s?host=%s&port=%d&user=postgres" % (dbname, self.sock, self.port)

    def psql(self, sql, dbname="postgres"):
        p = subprocess.run([psql(), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-At", self.url(dbname), "-c", sql],
                           capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError("psql failed: %s" % p.stderr)
        return p.stdout

    def create_db(self, prefix="refd"):
        name = "%s_%s" % (prefix, secrets.token_hex(6))
        self.psql('CREATE DATABASE "%s"' % name)
        return name

    def drop_db(self, name):
        self.psql('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)

    def stop(self, mode="fast"):
        if self.started:
            subprocess.run(_as_owner([os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-m", mode, "-w", "stop"],
                                     self.owner), capture_output=True, text=True)
            self.started = False

    def restart(self, crash=False):
        """Stops the server (immediately, as a crash, when asked) and starts it again on the same data."""
        self.stop("immediate" if crash else "fast")
        opts = self._options()
        p = subprocess.run(_as_owner([os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-l", self.log, "-o", opts,
                                      "-w", "-t", "60", "start"], self.owner), capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError("pg_ctl restart failed: %s %s" % (p.stderr, self.server_log()))
        self.started = True

    def remove(self):
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in ("start", "stop") or (sys.argv[1] == "stop" and len(sys.argv) > 3) \
            or any("=" not in a or " " in a for a in sys.argv[3:]):
        print(__doc__)
        return 2
    if sys.argv[1] == "start":
        c = Cluster(sys.argv[2], dict(a.split("=", 1) for a in sys.argv[3:])).start()
        with open(os.path.join(c.base, "port"), "w") as f:
            f.write(str(c.port))
        print(c.url())
        return 0
    c = Cluster(sys.argv[2])
    try:
        c.port = int(open(os.path.join(c.base, "port")).read())
    except OSError:
        pass
    c.started = os.path.exists(os.path.join(c.data, "postmaster.pid"))
    c.remove()
    return 0


if __name__ == "__main__":
    sys.exit(main())
