# SPDX-License-Identifier: Apache-2.0
"""The layers of src/ keep to their places (docs/ARCHITECTURE.md): only the database drivers (src/store/db) include
a database's client library, nothing below the API sees an HTTP request, and the lower layers do not reach up.
Reads the #include lines of every source file; prints each breach and exits 1 when there is one."""
import os
import re
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))
INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]', re.M)

# Headers of a database's client library: the drivers only.
DRIVER_ONLY = {"sqlite3.h", "libpq-fe.h", "libpq/libpq-fs.h", "postgres_ext.h"}

# What each layer may include from src/ (a folder name; a file's own folder is always allowed).
MAY_USE = {
    "core": set(),
    "store": {"core"},
    "svc": {"core", "store"},
    "integrations": {"core", "store", "svc"},
    "jobs": {"core", "store", "svc", "integrations"},
    "track": {"core", "store", "svc", "http"},
    "http": {"core", "store", "svc"},
    "api": {"core", "store", "svc", "http", "track", "jobs", "web", "integrations"},
    "web": {"core"},
    "cli": {"core", "store", "svc", "http", "api", "track", "jobs", "web", "integrations"},
}


def layer_of(path):
    rel = os.path.relpath(path, ROOT)
    return rel.split(os.sep)[0] if os.sep in rel else None


def main():
    breaches = []
    for dirpath, _, files in os.walk(ROOT):
        for name in sorted(files):
            if not name.endswith((".c", ".h")):
                continue
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, ROOT)
            layer = layer_of(path)
            text = open(path, encoding="utf-8").read()
            for inc in INCLUDE.findall(text):
                if inc in DRIVER_ONLY and not rel.startswith(os.path.join("store", "db") + os.sep):
                    breaches.append("%s includes %s: only the drivers in src/store/db may" % (rel, inc))
                if layer is None or not inc.endswith(".h") or "/" not in inc and not inc.startswith(".."):
                    continue
                target = os.path.normpath(os.path.join(dirpath, inc))
                if not target.startswith(ROOT) or not os.path.exists(target):
                    continue
                other = layer_of(target)
                if other and other != layer and other not in MAY_USE.get(layer, set()):
                    breaches.append("%s includes %s: %s may not use %s" % (rel, inc, layer, other))
            if layer in ("core", "store", "svc", "jobs", "integrations") and re.search(r"\brf_ctx\b", text):
                breaches.append("%s names rf_ctx: a request's context stays above the service layer" % rel)
    for b in breaches:
        print(b)
    print("layers: %d breach(es)" % len(breaches))
    return 1 if breaches else 0


if __name__ == "__main__":
    sys.exit(main())
