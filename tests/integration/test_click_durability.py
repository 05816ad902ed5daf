# SPDX-License-Identifier: Apache-2.0
"""The order of events behind each 302, watched with strace: the click's row is written to the write-ahead log,
then the log is flushed to disk (fdatasync), and only after that flush returns does the 302 leave. This is the
promise that a click acknowledged to the browser survives a power loss, not only a crash of refd."""
import os
import re
import shutil
import signal

import harness
from harness import browser_ua, one_link

DATABASES = ("sqlite",)
WHY_ONLY = "SQLite's own split of the commit and the WAL flush, watched with strace"

LINE = re.compile(r"^(\d+)\s+(\d+\.\d+)\s+(.*)$")


def make_server():
    if not shutil.which("strace"):
        raise RuntimeError("strace is missing: scripts/bootstrap.sh installs it")
    srv = harness.Refd()
    # LeakSanitizer cannot run under ptrace; the sanitizer build still checks everything else here.
    if "ASAN_OPTIONS" in srv.env:
        srv.env["ASAN_OPTIONS"] = srv.env["ASAN_OPTIONS"].replace("detect_leaks=1", "detect_leaks=0")
    srv.trace = os.path.join(srv.dir, "strace.txt")
    # Every thread followed, times to the microsecond, descriptors named by their paths; a buffer
    # with any byte that is not printable comes out wholly in hex (a database page), others as text (a response).
    srv.wrapper = ["strace", "-f", "-ttt", "-y", "-s", "8192", "-x", "-o", srv.trace,
                   "-e", "trace=pwrite64,fdatasync,fsync,sendto,sendmsg,write,writev"]
    return srv.start()


def stop_traced(srv):
    """Stops refd itself (a SIGTERM to strace would only detach it), then waits for strace to end."""
    with open("/proc/%d/task/%d/children" % (srv.proc.pid, srv.proc.pid)) as f:
        child = int(f.read().split()[0])
    os.kill(child, signal.SIGTERM)
    srv.proc.wait(timeout=30)


def traced_calls(path):
    """(name, start, end, text) of every traced call, unfinished/resumed halves joined per thread."""
    open_calls = {}
    out = []
    with open(path) as f:
        for raw in f:
            m = LINE.match(raw.rstrip("\n"))
            if not m:
                continue
            pid, ts, rest = m.group(1) or "0", float(m.group(2)), m.group(3)
            if rest.endswith("<unfinished ...>"):
                open_calls[pid] = (ts, rest[:-len("<unfinished ...>")])
                continue
            r = re.match(r"<\.\.\. (\w+) resumed>(.*)$", rest)
            if r and pid in open_calls:
                start, first = open_calls.pop(pid)
                out.append((r.group(1), start, ts, first + r.group(2)))
                continue
            out.append((rest.split("(", 1)[0], ts, ts, rest))
    return out


def contains(text, s):
    return s in text or "".join("\\x%02x" % b for b in s.encode()) in text


def test_each_302_leaves_after_its_click_is_flushed_to_disk(srv, ctx):
    one_link(srv, "Durable", "durable-code")
    click_ids = []
    for i in range(6):
        r = srv.get("/r/durable-code", headers={"User-Agent": browser_ua("durable%d" % i)})
        assert r.status == 302, r
        click_ids.append(re.search(r"refd_click=(clk_\w+)", r.header("Location")).group(1))
    stop_traced(srv)
    calls = traced_calls(srv.trace)
    for cid in click_ids:
        wal_writes = [c for c in calls if c[0] == "pwrite64" and "-wal>" in c[3] and contains(c[3], cid)]
        assert wal_writes, "the click %s never reached the WAL" % cid
        written = wal_writes[0][2]
        answers = [c for c in calls if c[0] in ("sendto", "sendmsg", "write", "writev") and contains(c[3], cid)
                   and contains(c[3], "302 Found")]
        assert answers, "no 302 carrying %s was seen" % cid
        sent = answers[0][1]
        flushes = [c for c in calls if c[0] in ("fdatasync", "fsync") and "-wal>" in c[3]
                   and c[1] >= written and c[2] <= sent and c[3].rstrip().endswith("= 0")]
        assert flushes, "the 302 for %s left at %.6f without a WAL flush between its write (%.6f) and it" % (
            cid, sent, written)
