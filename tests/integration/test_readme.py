# SPDX-License-Identifier: Apache-2.0
"""Runs the shell examples of README.md, as written, against a real refd with demo data, and checks that every
request they make succeeds except the one that shows a validation error."""
import os
import re
import subprocess
import tempfile

import harness

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def make_server():
    return harness.Refd(demo=True).start()


def readme_blocks():
    text = open(os.path.join(ROOT, "README.md")).read()
    blocks = re.findall(r"```sh\n(.*?)```", text, re.S)
    # The first block is `make run` / `make test`; the rest are the API examples.
    assert blocks and "make run" in blocks[0] and "make test" in blocks[0], "README must start with make run/test"
    return blocks[1:]


def test_readme_starts_with_the_two_commands(srv):
    text = open(os.path.join(ROOT, "README.md")).read()
    first_code = text.split("```sh\n", 1)[1].split("```", 1)[0].strip().splitlines()
    assert first_code[0].startswith("make run") and first_code[1].startswith("make test"), first_code


def test_readme_examples_work_as_written(srv):
    script = "\n".join(readme_blocks())
    assert "REFD=http://127.0.0.1:8080" in script and "PASSWORD='" in script
    script = script.replace("REFD=http://127.0.0.1:8080", "REFD=http://127.0.0.1:%d" % srv.port)
    script = re.sub(r"PASSWORD='[^']*'", "PASSWORD='%s'" % srv.demo_password, script)
    # The examples run build/refd from a directory of their own, with only the REFD_DB they are meant to use.
    with tempfile.TemporaryDirectory(prefix="refd-readme-") as work:
        os.mkdir(os.path.join(work, "build"))
        os.symlink(os.path.abspath(harness.BINARY), os.path.join(work, "build", "refd"))
        env = {k: v for k, v in os.environ.items() if not k.startswith("REFD_")}
        env["REFD_DB"] = srv.db
        before = len(srv.logs())
        p = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=work, env=env, capture_output=True,
                           text=True, timeout=120)
    assert p.returncode == 0, "README examples failed (%d):\n%s\n%s" % (p.returncode, p.stdout, p.stderr)
    reqs = [l for l in srv.logs()[before:] if l.get("msg") == "request"]
    assert len(reqs) >= 15, reqs
    bad = [(l["method"], l["path"], l["status"]) for l in reqs
           if l["status"] >= 300 and not (l["status"] == 302 and l["path"].startswith("/r/"))]
    assert bad == [("POST", "/api/v1/partners", 400)], bad
    assert '"field":"currency"' in p.stdout
    assert "rk_" in p.stdout  # the keys the examples create are printed once
