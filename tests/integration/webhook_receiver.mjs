// SPDX-License-Identifier: Apache-2.0
// A webhook receiver for the tests and the benchmark: an HTTP server on 127.0.0.1 that verifies every delivery it gets
// with the npm `standardwebhooks` library and with `svix`'s verifier, against the secrets the test gave for the path,
// keeps what it got, and answers as the test asked (a status, a delay, no answer at all). It prints {"port": N} on
// its first line of output once it listens.
//
// Control (JSON, on the same port):
//   POST /_control {"secrets": {"/path": ["whsec_...", ...]}, "behaviour": {"/path": {"status": 500, "delay_ms": 0,
//        "hang": false, "body": "text", "fail_first": false}}, "clock_offset_ms": 0, "record": true, "verify": true,
//        "reset": false}
//        merges what it is given; reset forgets what was received; record false keeps counts only and verify false
//        skips the verification (benchmarks, where the receiver must not be what is measured).
//   GET /_control/received   every delivery received, in order
//   GET /_control/counts     {"total": N, "ids": distinct webhook-ids, "bad": deliveries that did not verify,
//                            "first_ms"/"last_ms": when the first and the last delivery came (real time)}
import http from "node:http";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const StandardWebhooks = require("standardwebhooks").Webhook;
const SvixWebhook = require("svix").Webhook;

// The verifiers check webhook-timestamp against Date.now(): a test that moves refd's clock moves this one alike. The
// two cannot move at the very same instant, so for a moment after a move a delivery may carry either time: the
// clock before the move is tried too, for two seconds.
const realNow = Date.now;
let clockOffset = 0;
let previousOffset = 0;
let previousUntil = 0;
let verifyOffset = 0;
Date.now = () => realNow() + verifyOffset;

const secrets = new Map(); // path -> [secret]
const behaviour = new Map(); // path -> {status, delay_ms, hang, body}
let received = [];
let record = true;
let verify = true;
const counts = { total: 0, bad: 0, ids: new Set() };
const hanging = new Set();
const firstSeen = new Map(); // path -> webhook-ids seen, for fail_first

function verifyAt(offset, Verifier, secret, body, headers) {
  verifyOffset = offset;
  try {
    new Verifier(secret).verify(body, headers);
    return true;
  } catch {
    return false;
  } finally {
    verifyOffset = clockOffset;
  }
}

// Whether the delivery verifies with this secret and library, on the receiver's clock (or the one just before it
// moved); the clock it verified on goes in at.
function verifyWith(Verifier, secret, body, headers, at) {
  const offsets = [clockOffset];
  if (realNow() < previousUntil) offsets.push(previousOffset);
  for (const off of offsets) {
    if (verifyAt(off, Verifier, secret, body, headers)) {
      at.clock = realNow() + off;
      return true;
    }
  }
  return false;
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function sendJson(res, status, value) {
  const text = JSON.stringify(value);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

async function control(req, res, path) {
  if (req.method === "GET" && path === "/_control/received") return sendJson(res, 200, received);
  if (req.method === "GET" && path === "/_control/counts")
    return sendJson(res, 200, {
      total: counts.total,
      ids: counts.ids.size,
      bad: counts.bad,
      first_ms: counts.first,
      last_ms: counts.last,
    });
  if (req.method !== "POST" || path !== "/_control") return sendJson(res, 404, { error: "no such control" });
  const c = JSON.parse((await readBody(req)) || "{}");
  for (const [p, list] of Object.entries(c.secrets || {})) secrets.set(p, list);
  for (const [p, b] of Object.entries(c.behaviour || {})) behaviour.set(p, b);
  if (typeof c.clock_offset_ms === "number" && c.clock_offset_ms !== clockOffset) {
    previousOffset = clockOffset;
    previousUntil = realNow() + 2000;
    clockOffset = verifyOffset = c.clock_offset_ms;
  }
  if (typeof c.record === "boolean") record = c.record;
  if (typeof c.verify === "boolean") verify = c.verify;
  if (c.reset) {
    received = [];
    counts.total = counts.bad = 0;
    counts.first = counts.last = undefined;
    counts.ids = new Set();
  }
  return sendJson(res, 200, { ok: true });
}

async function delivery(req, res, path) {
  const body = await readBody(req);
  const headers = {};
  for (const name of ["webhook-id", "webhook-timestamp", "webhook-signature", "content-type", "user-agent"])
    headers[name] = req.headers[name] ?? null;
  const list = verify ? secrets.get(path) || [] : [];
  // Each secret of the path, with each library: which of them accept the delivery.
  const at = { clock: Date.now() };
  const verified = {
    standardwebhooks: list.map((s) => verifyWith(StandardWebhooks, s, body, req.headers, at)),
    svix: list.map((s) => verifyWith(SvixWebhook, s, body, req.headers, at)),
  };
  const ok = !verify || (verified.standardwebhooks.some(Boolean) && verified.svix.some(Boolean));
  counts.total++;
  if (!ok) counts.bad++;
  counts.last = realNow();
  if (counts.first === undefined) counts.first = counts.last;
  counts.ids.add(headers["webhook-id"]);
  const rec = { path, method: req.method, headers, body, verified, received_at: realNow(), clock: at.clock };
  if (record) received.push(rec);
  // Whether the answer went out, or the sender went away first (killed while the delivery was on its way).
  rec.answered = false;
  res.on("finish", () => (rec.answered = true));
  res.on("close", () => (rec.aborted = !rec.answered));
  const b = behaviour.get(path) || {};
  // fail_first: the first attempt of each event fails (500), the next ones succeed.
  if (b.fail_first) {
    const seen = firstSeen.get(path) || new Set();
    firstSeen.set(path, seen);
    const id = headers["webhook-id"];
    const first = !seen.has(id);
    seen.add(id);
    if (first) {
      res.writeHead(500, { "content-type": "text/plain", "content-length": 5 });
      return res.end("first");
    }
  }
  if (b.hang) {
    // No answer: the sender's timeout ends it (the socket is kept so that it is not closed under it either).
    hanging.add(res);
    return;
  }
  const answer = () => {
    const text = b.body ?? "ok";
    res.writeHead(b.status ?? 200, { "content-type": "text/plain", "content-length": Buffer.byteLength(text) });
    res.end(text);
  };
  if (b.delay_ms) setTimeout(answer, b.delay_ms);
  else answer();
}

const server = http.createServer((req, res) => {
  const path = req.url.split("?")[0];
  const handler = path.startsWith("/_control") ? control : delivery;
  handler(req, res, path).catch((e) => {
    if (!res.headersSent) sendJson(res, 500, { error: String(e) });
  });
});
server.keepAliveTimeout = 30000;
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + "\n");
});
process.on("SIGTERM", () => process.exit(0));
