# SPDX-License-Identifier: Apache-2.0
"""A full disk, and an I/O error on a write: every write answers 503 with Retry-After (never a 500), reads go on,
nothing half-done is kept, and refd recovers by itself when space returns. The database lives on a small tmpfs
mounted for the test (the tests run as root), filled with a filler file; the I/O error comes from a file size
limit (RLIMIT_FSIZE) set on the running refd, which makes its writes past the limit fail with EFBIG."""
import errno
import itertools
import os
import subprocess

from harness import Refd, expect

DATABASES = ("sqlite",)
WHY_ONLY = "a full disk under a SQLite file on a tmpfs, and a file size limit"

MOUNT_MB = 16


def make_server():
    srv = Refd()
    srv.data_dir = os.path.join(srv.dir, "data")
    os.makedirs(srv.data_dir)
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%dm" % MOUNT_MB, "tmpfs", srv.data_dir],
                       capture_output=True, text=True)
    assert p.returncode == 0, "this test mounts a tmpfs (it needs root): %s" % p.stderr
    srv.db = os.path.join(srv.data_dir, "refd.db")
    srv.start()
    orig_cleanup = srv.cleanup

    def cleanup():
        subprocess.run(["umount", "-l", srv.data_dir], capture_output=True)
        orig_cleanup()

    srv.cleanup = cleanup
    return srv


def setup(srv):
    admin = srv.admin_key()
    prog = expect(srv.post("/api/v1/programs", {"name": "Full disk", "currency": "usd"}, key=admin), 201)["id"]
    ptn = expect(srv.post("/api/v1/partners", {"program_id": prog, "name": "Filler", "email": "f@full.example"},
                          key=admin), 201)["id"]
    expect(srv.post("/api/v1/links", {"partner_id": ptn, "code": "fullcode",
                                      "destination_url": "https://shop.example/"}, key=admin), 201)
    return {"admin": admin, "prog": prog, "ptn": ptn, "n": 0}


def fill(srv):
    """Fills the tmpfs to the last byte; returns the filler's path."""
    path = os.path.join(srv.data_dir, "filler")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for size in (1 << 20, 65536, 4096, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError as e:
                assert e.errno == errno.ENOSPC, e
    finally:
        os.close(fd)
    return path


def lead(srv, ctx):
    ctx["n"] += 1
    return srv.post("/api/v1/leads", {"program_id": ctx["prog"], "email": "lead%d@full.example" % ctx["n"],
                                      "partner_id": ctx["ptn"]}, key=ctx["admin"])


def lead_count(srv, ctx):
    return expect(srv.get("/api/v1/leads/counts?program_id=" + ctx["prog"], key=ctx["admin"]), 200)


def unavailable(r):
    assert r.status == 503, r
    assert r.json["error"]["type"] == "unavailable", r.json
    assert r.header("Retry-After"), r.headers


def until_unavailable(send, tries=100):
    """Sends until a write answers 503; returns how many succeeded before. A full disk does not stop every write
    at once: SQLite reuses the space its WAL file already holds (after a checkpoint the log starts over at its
    beginning), so a write that fits there still lands, durably, and is a success like any other."""
    done = 0
    for _ in range(tries):
        r = send()
        if r.status in (200, 201, 302):
            done += 1
            continue
        unavailable(r)
        return done
    raise AssertionError("%d writes succeeded on a full disk" % tries)


def test_writes_answer_503_while_the_disk_is_full(srv, ctx):
    expect(lead(srv, ctx), 201)
    before = lead_count(srv, ctx)
    filler = fill(srv)
    try:
        seq = itertools.count()
        landed = until_unavailable(lambda: lead(srv, ctx))
        unavailable(lead(srv, ctx))
        until_unavailable(lambda: srv.post("/api/v1/partners", {"program_id": ctx["prog"], "name": "More",
                                                                 "email": "more%d@full.example" % next(seq)},
                                           key=ctx["admin"]))
        # The redirect answers "try again" rather than a 302 whose click is lost.
        until_unavailable(lambda: srv.get("/r/fullcode"))
        # Reads go on, and every lead that answered 201 is there, no other.
        after = lead_count(srv, ctx)
        assert after["total"] == before["total"] + landed, (before, after, landed)
    finally:
        os.unlink(filler)
    # Space is back: refd writes again by itself.
    expect(lead(srv, ctx), 201)
    assert srv.get("/r/fullcode").status == 302
    assert srv.proc.poll() is None


def test_io_error_on_write_answers_503(srv, ctx):
    """A write that fails with an I/O error (here EFBIG past a file size limit) is a 503 too, and refd neither dies
    of SIGXFSZ nor keeps a half-done write; lifting the limit brings writes back."""
    expect(lead(srv, ctx), 201)
    size = sum(os.path.getsize(os.path.join(srv.data_dir, f)) for f in os.listdir(srv.data_dir)
               if f.startswith("refd.db"))
    limit = max(os.path.getsize(srv.db), os.path.getsize(srv.db + "-wal") if os.path.exists(srv.db + "-wal") else 0)
    assert size > 0
    subprocess.run(["prlimit", "--pid", str(srv.proc.pid), "--fsize=%d:unlimited" % limit], check=True)
    try:
        before = lead_count(srv, ctx)
        failures = 0
        for _ in range(200):
            r = lead(srv, ctx)
            if r.status == 201:
                continue
            unavailable(r)
            failures += 1
            if failures >= 3:
                break
        assert failures >= 3, "the file size limit never stopped a write"
        assert srv.proc.poll() is None, "refd died of the file size limit"
        assert lead_count(srv, ctx)["total"] >= before["total"]
    finally:
        subprocess.run(["prlimit", "--pid", str(srv.proc.pid), "--fsize=unlimited:unlimited"], check=True)
    expect(lead(srv, ctx), 201)
