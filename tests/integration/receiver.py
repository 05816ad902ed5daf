# SPDX-License-Identifier: Apache-2.0
"""Drives tests/integration/webhook_receiver.mjs, a real webhook receiver in Node that verifies every delivery with the
npm `standardwebhooks` library and with `svix`'s verifier: start it, tell it the secrets and how to answer per path,
read what it received."""
import http.client
import json
import os
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "webhook_receiver.mjs")


class Receiver:
    def __init__(self):
        self.proc = subprocess.Popen(["node", SCRIPT], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line:
            raise AssertionError("the webhook receiver did not start: %s" % self.proc.stderr.read())
        self.port = json.loads(line)["port"]
        self.base = "http://127.0.0.1:%d" % self.port

    def url(self, path):
        return self.base + path

    def _call(self, method, path, body=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=json.dumps(body) if body is not None else None,
                         headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            data = r.read()
            assert r.status == 200, (r.status, data)
            return json.loads(data)
        finally:
            conn.close()

    def configure(self, secrets=None, behaviour=None, clock_offset_ms=None, record=None, reset=False):
        """secrets: {path: [secret, ...]}; behaviour: {path: {"status", "delay_ms", "hang", "body"}}."""
        c = {"reset": reset}
        if secrets:
            c["secrets"] = secrets
        if behaviour:
            c["behaviour"] = behaviour
        if clock_offset_ms is not None:
            c["clock_offset_ms"] = int(clock_offset_ms)
        if record is not None:
            c["record"] = record
        self._call("POST", "/_control", c)

    def received(self, path=None):
        got = self._call("GET", "/_control/received")
        return [r for r in got if path is None or r["path"] == path]

    def counts(self):
        return self._call("GET", "/_control/counts")

    def wait_for(self, pred, timeout=20, what="deliveries"):
        """Waits until pred(received()) is true; returns received()."""
        deadline = time.time() + timeout
        while True:
            got = self.received()
            if pred(got):
                return got
            if time.time() > deadline:
                raise AssertionError("the receiver did not get the %s in %d s; it got %d: %s" % (
                    what, timeout, len(got), [(r["path"], json.loads(r["body"] or "{}").get("type")) for r in got][-20:]))
            time.sleep(0.05)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for f in (self.proc.stdout, self.proc.stderr):
            if f:
                f.close()
