"""Runs every tests/integration/test_*.py: each module gets a fresh refd (module-level `refd` fixture built by
its optional make_server()), every function named test_* is a test. Prints one line per test and a summary."""
import importlib.util
import os
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import harness  # noqa: E402


def main():
    only = sys.argv[1:]
    files = sorted(f for f in os.listdir(HERE) if f.startswith("test_") and f.endswith(".py"))
    passed = failed = 0
    failures = []
    for fname in files:
        modname = fname[:-3]
        if only and not any(o in modname for o in only):
            continue
        spec = importlib.util.spec_from_file_location(modname, os.path.join(HERE, fname))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        tests = [(n, getattr(mod, n)) for n in sorted(dir(mod)) if n.startswith("test_") and callable(getattr(mod, n))]
        # Tests run in the order they are written in the file, so a module can build up state step by step.
        tests.sort(key=lambda t: t[1].__code__.co_firstlineno)
        srv = None
        try:
            srv = mod.make_server() if hasattr(mod, "make_server") else harness.Refd().start()
            ctx = mod.setup(srv) if hasattr(mod, "setup") else None
        except Exception:
            tb = traceback.format_exc()
            for name, _ in tests:
                failed += 1
                failures.append((modname + "." + name, "setup failed:\n" + tb))
                print("FAIL %s.%s (setup)" % (modname, name), flush=True)
            if srv:
                srv.cleanup()
            continue
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
                passed += 1
                print("ok   %s.%s (%.2fs)" % (modname, name, time.time() - t0), flush=True)
            except Exception:
                failed += 1
                failures.append((modname + "." + name, traceback.format_exc()))
                print("FAIL %s.%s" % (modname, name), flush=True)
        # The server must also have survived its tests and stopped cleanly (a sanitizer report or a leak makes
        # the exit code non-zero).
        try:
            code = srv.stop()
        except Exception:
            code = "hung"
        if code not in (0, None):
            failed += 1
            err = open(srv.err_path).read()[-4000:]
            failures.append((modname + " (server exit)", "refd exited with %s:\n%s" % (code, err)))
            print("FAIL %s: refd exited with %s" % (modname, code), flush=True)
        srv.cleanup()
    for name, tb in failures:
        print("\n---- %s\n%s" % (name, tb))
    print("integration: %d ok, %d failing" % (passed, failed))
    out = os.environ.get("REFD_TEST_SUMMARY")
    if out:
        with open(out, "w") as f:
            f.write("%d %d\n" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
