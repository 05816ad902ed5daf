# SPDX-License-Identifier: Apache-2.0
"""Runs every tests/integration/test_*.py (or those whose name contains one of the arguments), each module in a
worker process of its own, JOBS at a time (default: one per CPU). Each module gets a fresh refd (module-level
`refd` fixture built by its optional make_server()), and every function named test_* is a test. Prints each
module's lines together once it ends ("ok" or "FAIL" per test), then the failures with the tail of refd's stderr,
then one summary line; REFD_TEST_SUMMARY names a file that receives "passed failed".

A module runs in its own session, with its own temporary directory as TMPDIR and working directory, and without
the caller's REFD_* settings (REFD_BIN aside). One that runs longer than REFD_TEST_TIMEOUT seconds (default 300)
is killed with every process it started and counts as failed. The slowest modules start first: the durations of
the previous run with the same binary are kept in build/integration-times/ (a static estimate stands in for a
module never timed), which changes the order only, never a result."""
import hashlib
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TIMES_DIR = os.path.join(ROOT, "build", "integration-times")
# Seconds each module took with the plain build and JOBS=2 on a busy 2-core machine, for the order when no timing
# file has them yet. A module not listed is assumed to be of middling length.
ESTIMATES = {"test_auth": 12, "test_openapi": 11, "test_leads": 7, "test_click_load": 6, "test_cli": 6,
             "test_stripe": 5, "test_crash": 5, "test_users_keys": 4.5, "test_partners": 3.5, "test_payouts": 3.5,
             "test_readme": 3, "test_demo": 2.5, "test_ledger_property": 2.5, "test_http_framing": 2.5,
             "test_mail": 8}
DEFAULT_ESTIMATE = 2.0
ERR_TAIL_LINES = 30


# ---- One module, in the worker process ----

def server_err_tail(srv):
    """The last lines refd wrote to its stderr (sanitizer reports and warnings end up there)."""
    try:
        with open(srv.err_path, errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    return "\n".join(lines[-ERR_TAIL_LINES:])


def run_module(modname):
    """Runs one module's tests in this process; returns {"passed", "failed", "failures", "server_err"}."""
    sys.path.insert(0, HERE)
    import harness
    spec = importlib.util.spec_from_file_location(modname, os.path.join(HERE, modname + ".py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    tests = [(n, getattr(mod, n)) for n in sorted(dir(mod)) if n.startswith("test_") and callable(getattr(mod, n))]
    # Tests run in the order they are written in the file, so a module can build up state step by step.
    tests.sort(key=lambda t: t[1].__code__.co_firstlineno)
    out = {"passed": 0, "failed": 0, "failures": [], "server_err": None}
    # A module about one database's own mechanics (SQLite's WAL and files, PostgreSQL's server) says so: it runs
    # only there, and the run says why it left it out elsewhere.
    kinds = getattr(mod, "DATABASES", ("sqlite", "postgres"))
    if harness.DB_KIND not in kinds:
        print("skip %s: it tests %s only (%s)" % (modname, " and ".join(kinds), getattr(mod, "WHY_ONLY", "")),
              flush=True)
        return out
    srv = None
    try:
        srv = mod.make_server() if hasattr(mod, "make_server") else harness.Refd().start()
        ctx = mod.setup(srv) if hasattr(mod, "setup") else None
    except Exception:
        tb = traceback.format_exc()
        for name, _ in tests:
            out["failed"] += 1
            out["failures"].append((modname + "." + name, "setup failed:\n" + tb))
            print("FAIL %s.%s (setup)" % (modname, name), flush=True)
        if srv:
            out["server_err"] = server_err_tail(srv)
            srv.cleanup()
        return out
    for name, fn in tests:
        t0 = time.time()
        try:
            argc = fn.__code__.co_argcount
            if argc == 2:
                fn(srv, ctx)
            elif argc == 1:
                fn(srv)
            else:
                fn()
            out["passed"] += 1
            print("ok   %s.%s (%.2fs)" % (modname, name, time.time() - t0), flush=True)
        except Exception:
            out["failed"] += 1
            out["failures"].append((modname + "." + name, traceback.format_exc()))
            print("FAIL %s.%s" % (modname, name), flush=True)
    # The server must also have survived its tests and stopped cleanly (a sanitizer report or a leak makes the
    # exit code non-zero).
    try:
        code = srv.stop()
    except Exception:
        code = "hung"
    if code not in (0, None):
        out["failed"] += 1
        out["failures"].append((modname + " (server exit)", "refd exited with %s" % code))
        print("FAIL %s: refd exited with %s" % (modname, code), flush=True)
    if out["failed"]:
        out["server_err"] = server_err_tail(srv)
    srv.cleanup()
    return out


def worker_main(modname, result_path):
    out = run_module(modname)
    tmp = result_path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(out, f)
    os.replace(tmp, result_path)
    return 0


# ---- The suite, in the parent process ----

def times_path():
    """The timing file of the binary under test and the database (plain and sanitizer builds take different
    times, and so does a module on SQLite and on PostgreSQL, or skipped on one of them)."""
    binary = os.path.realpath(os.environ.get("REFD_BIN") or os.path.join(ROOT, "build", "refd"))
    tag = hashlib.sha256(binary.encode()).hexdigest()[:12]
    db = os.environ.get("REFD_TEST_DB") or "sqlite"
    return os.path.join(TIMES_DIR, "%s-%s-%s.json" % (os.path.basename(binary), tag, db))


def load_times():
    try:
        with open(times_path()) as f:
            got = json.load(f)
        return {k: float(v) for k, v in got.items()}
    except (OSError, ValueError, TypeError, AttributeError):
        return {}


def save_times(times):
    """Merges this run's durations into the timing file (written whole, then renamed: never half a file)."""
    path = times_path()
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        merged = load_times()
        merged.update(times)
        tmp = "%s.%d.tmp" % (path, os.getpid())
        with open(tmp, "w") as f:
            json.dump(merged, f, indent=1, sort_keys=True)
        os.replace(tmp, path)
    except OSError as e:
        print("(timings not saved: %s)" % e)


def npm_packages():
    """Installs the pinned npm packages once, before the modules start: test_openapi's linter and test_stripe's
    signer use node_modules, and an install by one while the other reads it would break the other."""
    if not shutil.which("npm") or not os.path.exists(os.path.join(ROOT, "package-lock.json")):
        return
    p = subprocess.run(["sh", os.path.join(ROOT, "scripts", "npm_packages.sh")], cwd=ROOT, capture_output=True,
                       text=True, timeout=900)
    if p.returncode != 0:
        print("(npm ci failed; the modules that use node_modules will say so)\n%s%s" % (p.stdout, p.stderr))


def worker_env(tmpdir):
    env = {k: v for k, v in os.environ.items() if not k.startswith("REFD_") or k == "REFD_STRIPE_FIXTURES"}
    # The worker runs in its own directory: paths given relative to the caller's are made absolute.
    for k in ("REFD_BIN", "REFD_STRIPE_FIXTURES"):
        if os.environ.get(k):
            env[k] = os.path.abspath(os.environ[k])
    for k in ("REFD_TEST_DB", "REFD_TEST_PG"):
        if os.environ.get(k):
            env[k] = os.environ[k]
    env["TMPDIR"] = tmpdir
    env["PYTHONUNBUFFERED"] = "1"
    return env


class Job:
    def __init__(self, modname, root):
        self.modname = modname
        self.dir = os.path.join(root, modname)
        self.tmp = os.path.join(self.dir, "tmp")
        os.makedirs(self.tmp)
        self.log_path = os.path.join(self.dir, "output.txt")
        self.result_path = os.path.join(self.dir, "result.json")
        self.proc = None
        self.started = None
        self.seconds = None
        self.timed_out = False
        self.stray = []

    def start(self):
        self.log = open(self.log_path, "wb")
        # A session of its own: on a timeout the whole group (the worker, its refd servers, strace) is killed.
        self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--worker", self.modname,
                                      self.result_path], stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT, cwd=self.tmp, env=worker_env(self.tmp),
                                     start_new_session=True)
        self.started = time.monotonic()

    def kill_group(self):
        """Kills the worker and everything it started (while the worker exists, its group id is its own)."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def kill_strays(self):
        """Kills the processes of the worker's group other than the worker, which has ended but is not reaped yet
        (so that its id, the group's, cannot have been given to another process); returns their command lines."""
        strays = []
        for name in os.listdir("/proc"):
            if not name.isdigit() or int(name) == self.proc.pid:
                continue
            try:
                with open("/proc/%s/stat" % name) as f:
                    stat = f.read()
            except OSError:
                continue
            # After the command name in parentheses: state, parent, process group.
            if int(stat[stat.rindex(")") + 2:].split()[2]) == self.proc.pid:
                strays.append(int(name))
        names = []
        for pid in strays:
            try:
                with open("/proc/%d/cmdline" % pid, "rb") as f:
                    names.append(f.read().replace(b"\0", b" ").decode(errors="replace").strip())
                os.kill(pid, signal.SIGKILL)
            except (OSError, ProcessLookupError):
                pass
        return names

    def poll(self, timeout):
        """True once the worker has ended (or was killed for running longer than timeout seconds)."""
        ended = os.waitid(os.P_PID, self.proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        if ended is None:
            if time.monotonic() - self.started < timeout:
                return False
            self.timed_out = True
            self.kill_group()
        else:
            # Processes a module leaves behind (a refd it did not stop) would load the machine for the modules
            # after it: they are killed, and that is a failure of a module that otherwise ended normally.
            self.stray = self.kill_strays()
        self.proc.wait()
        self.seconds = time.monotonic() - self.started
        self.log.close()
        return True

    def refd_err_tails(self):
        """(directory, last lines of refd.err) of every refd this module started that is still on disk."""
        tails = []
        for dirpath, _, files in os.walk(self.tmp):
            if "refd.err" in files:
                with open(os.path.join(dirpath, "refd.err"), errors="replace") as f:
                    lines = f.read().splitlines()
                tails.append((os.path.relpath(dirpath, self.tmp), "\n".join(lines[-ERR_TAIL_LINES:])))
        return tails

    def finish(self, timeout):
        """Reads what the worker left: (output, passed, failed, failures, server stderr tail)."""
        with open(self.log_path, errors="replace") as f:
            output = f.read()
        result = None
        if not self.timed_out:
            try:
                with open(self.result_path) as f:
                    result = json.load(f)
            except (OSError, ValueError):
                result = None
        if result is not None:
            passed, failed = result["passed"], result["failed"]
            failures = [tuple(x) for x in result["failures"]]
            err = result["server_err"]
        else:
            # Killed or crashed: the tests it finished count as they went, the module as one more failure.
            passed = sum(1 for l in output.splitlines() if l.startswith("ok   "))
            failed = sum(1 for l in output.splitlines() if l.startswith("FAIL "))
            if self.timed_out:
                why = "timed out after %d s and was killed (REFD_TEST_TIMEOUT)" % timeout
            else:
                why = "the worker exited with %s without a result" % self.proc.returncode
            tails = self.refd_err_tails()
            err = "\n".join("[%s/refd.err]\n%s" % t for t in tails) or None
            failures = [(self.modname, "%s; its output:\n%s" % (why, output[-6000:]))]
            output += "FAIL %s: %s\n" % (self.modname, why)
            failed += 1
        if self.stray and result is not None:
            failed += 1
            failures.append((self.modname + " (stray processes)", "processes it started were still running after it "
                             "ended; they were killed:\n  " + "\n  ".join(self.stray)))
            output += "FAIL %s: left processes running\n" % self.modname
        return output, passed, failed, failures, err


def parse_jobs():
    raw = os.environ.get("JOBS", "")
    if raw == "":
        return os.cpu_count() or 1
    try:
        n = int(raw)
    except ValueError:
        n = 0
    if n < 1:
        sys.exit("run.py: JOBS must be a positive whole number, got %r" % raw)
    return n


def main(only):
    files = sorted(f[:-3] for f in os.listdir(HERE) if f.startswith("test_") and f.endswith(".py"))
    modules = [m for m in files if not only or any(o in m for o in only)]
    if not modules:
        print("run.py: no module matches %s" % " ".join(only))
        return 2
    jobs = parse_jobs()
    timeout = float(os.environ.get("REFD_TEST_TIMEOUT") or 300)
    known = load_times()
    modules.sort(key=lambda m: -known.get(m, ESTIMATES.get(m, DEFAULT_ESTIMATE)))
    npm_packages()

    root = tempfile.mkdtemp(prefix="refd-it-")
    cluster = None
    if os.environ.get("REFD_TEST_DB") == "postgres" and not os.environ.get("REFD_TEST_PG"):
        # One throwaway PostgreSQL cluster for the whole run; each refd gets a database of its own on it.
        sys.path.insert(0, os.path.join(HERE, ".."))
        import pgcluster
        cluster = pgcluster.Cluster().start()
        os.environ["REFD_TEST_PG"] = json.dumps({"base": cluster.base, "port": cluster.port})
        print("integration: on PostgreSQL (%s)" % cluster.url(), flush=True)
    pending = [Job(m, root) for m in modules]
    running = []
    passed = failed = 0
    failures = []  # (module, [(test, text)], server stderr tail)
    times = {}
    wall = time.monotonic()
    print("integration: %d module(s), %d at a time" % (len(modules), jobs), flush=True)
    try:
        while pending or running:
            while pending and len(running) < jobs:
                job = pending.pop(0)
                job.start()
                running.append(job)
            done = [j for j in running if j.poll(timeout)]
            if not done:
                time.sleep(0.05)
                continue
            for job in done:
                running.remove(job)
                output, p, f, fails, err = job.finish(timeout)
                passed += p
                failed += f
                if fails:
                    failures.append((job.modname, fails, err))
                elif not job.timed_out:
                    times[job.modname] = round(job.seconds, 2)
                sys.stdout.write(output if output.endswith("\n") or not output else output + "\n")
                print("  -- %s: %d ok, %d failing, %.1fs" % (job.modname, p, f, job.seconds), flush=True)
                shutil.rmtree(job.dir, ignore_errors=True)
    except BaseException:
        # Interrupted (Ctrl-C, or SIGTERM from a caller that gives up): the modules under way end with the suite.
        for job in running:
            job.kill_group()
        raise
    finally:
        if cluster:
            cluster.remove()
            os.environ.pop("REFD_TEST_PG", None)
        shutil.rmtree(root, ignore_errors=True)
    for modname, fails, err in failures:
        for name, text in fails:
            print("\n---- %s\n%s" % (name, text))
        if err:
            print("---- %s: the last lines of refd's stderr\n%s" % (modname, err))
    if failures:
        print("\nfailed modules: %s" % " ".join(m for m, _, _ in failures))
    save_times(times)
    print("integration: %d module(s) in %.1fs with JOBS=%d" % (len(modules), time.monotonic() - wall, jobs))
    print("integration: %d ok, %d failing" % (passed, failed))
    out = os.environ.get("REFD_TEST_SUMMARY")
    if out:
        with open(out, "w") as f:
            f.write("%d %d\n" % (passed, failed))
    return 1 if failed else 0


def on_sigterm(signum, frame):
    sys.exit(128 + signum)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--worker":
        sys.exit(worker_main(sys.argv[2], sys.argv[3]))
    signal.signal(signal.SIGTERM, on_sigterm)
    sys.exit(main(sys.argv[1:]))
