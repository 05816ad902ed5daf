// SPDX-License-Identifier: Apache-2.0
// The tracking script (/t.js) in a real headless Chromium: a business's page on one loopback port loads the
// script from refd on another, and the click, the first-party cookie and the hidden form field are checked in the
// browser and in refd's database. Self-contained: starts build/refd (REFD_BIN overrides) and a small site with
// node's http module, and drives Debian's /usr/bin/chromium (CHROMIUM overrides) with playwright-core, which
// never downloads a browser of its own. Run with `sh tests/browser/run.sh` or
// `node --test tests/browser/tracking.test.mjs`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, REFD, THREADS, dbRows, freePort, listenersOn, startRefd, stopRefd } from './refd.mjs';

const CASE = { timeout: 20000 };
const CLICK_ID = /^clk_[A-Za-z0-9]{24}$/;

let tmp; // the temporary directory with refd's database
let refd; // { proc, port, db, lines }
let key; // an admin API key
let site; // the business's site, an origin in the program's tracking_origins
let stranger; // another site, not in tracking_origins
let browser;
let program, partner, link;

// ---- refd ----

async function api(method, path, body) {
  const res = await fetch(`http://127.0.0.1:${refd.port}${path}`, {
    method,
    headers: { Authorization: 'Bearer ' + key, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null, text };
}

async function created(path, body) {
  const r = await api('POST', path, body);
  assert.equal(r.status, 201, `POST ${path}: ${r.text}`);
  return r.json;
}

// Rows from refd's database (read-only; refd commits a click before it answers, so what the page was told about
// is there).
function rows(sql) {
  return dbRows(refd, sql);
}

function clickRow(id) {
  assert.match(id, CLICK_ID);
  const r = rows(`SELECT id, program_id, link_id, partner_id, prev_click_id, landing_url, referer, user_agent,
                  source, status FROM clicks WHERE id = '${id}'`);
  return r[0] || null;
}

const clickCount = () => rows('SELECT count(*) AS n FROM clicks')[0].n;

// refd's log lines for the tracking endpoint, as {status} records; the line is written once the answer is out.
async function trackRequests(from, want) {
  const deadline = Date.now() + 10000;
  for (;;) {
    const got = refd.lines.slice(from).filter((l) => l.msg === 'request' && l.path === '/api/v1/track/click');
    if (got.length >= want || Date.now() > deadline) return got;
    await new Promise((ok) => setTimeout(ok, 20));
  }
}

// ---- the business's site ----

function page(refdPort, path) {
  // /prefilled already has the hidden field (the script must fill it, not add a second one).
  const hidden = path === '/prefilled' ? '<input type="hidden" name="refd_click" value="">' : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Shop ${path}</title>
<script src="http://127.0.0.1:${refdPort}/t.js"></script></head>
<body><h1>Shop</h1>
<form id="signup" action="/thanks" method="get">${hidden}<input name="email"><button type="submit">Sign up</button></form>
<form id="newsletter" action="/subscribe" method="post"><input name="address"></form>
</body></html>
`;
}

function startSite(refdPort) {
  const hits = []; // {path, query} of every page asked for
  const server = http.createServer((req, res) => {
    const u = new URL(req.url, 'http://site.invalid');
    hits.push({ path: u.pathname, query: Object.fromEntries(u.searchParams) });
    if (u.pathname === '/favicon.ico') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(page(refdPort, u.pathname));
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => {
    const { port } = server.address();
    ok({ server, hits, port, origin: `http://127.0.0.1:${port}` });
  }));
}

// ---- the browser ----

// A fresh browser profile (no cookies) whose pages record every refd:click event in window.__refdEvents.
async function newContext() {
  const ctx = await browser.newContext();
  await ctx.addInitScript(() => {
    window.__refdEvents = [];
    document.addEventListener('refd:click', (e) => window.__refdEvents.push(e.detail));
  });
  return ctx;
}

// Opens url and waits until the script has published what it knows (window.refd.clickId, set with the event).
async function visit(ctx, url) {
  const p = await ctx.newPage();
  const res = await p.goto(url);
  assert.equal(res.status(), 200);
  await p.waitForFunction(() => window.refd && 'clickId' in window.refd && window.__refdEvents.length > 0,
    null, { timeout: 10000 });
  const seen = await p.evaluate(() => ({
    clickId: window.refd.clickId,
    events: window.__refdEvents,
    forms: [...document.forms].map((f) => [...f.querySelectorAll('input[name="refd_click"]')]
      .map((i) => ({ type: i.type, value: i.value }))),
  }));
  return { page: p, ...seen };
}

async function cookieOf(ctx, origin) {
  return (await ctx.cookies(origin)).find((c) => c.name === 'refd_click') || null;
}

// ---- setup ----

before(async () => {
  assert.ok(existsSync(REFD), `${REFD} is missing: run make first`);
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/bootstrap.sh`);
  tmp = mkdtempSync(join(tmpdir(), 'refd-browser-'));
  // refd is started on a port chosen here, without --public-url: the script's API address then is the address
  // refd listens on (the last case checks the same with --listen 127.0.0.1:0).
  // Another server may take the chosen port before refd binds it: then refd cannot listen, or, when that server
  // also uses SO_REUSEPORT as refd does, both listen and share the port's connections. Either way a new port is
  // tried; refd's own listeners (one per worker thread) must be the port's only ones.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      refd = await startRefd(tmp, `127.0.0.1:${port}`);
    } catch (e) {
      if (attempt >= 5 || !/cannot listen/.test(e.message)) throw e;
      continue;
    }
    const listeners = listenersOn(port);
    if (listeners === THREADS) break;
    await stopRefd(refd);
    if (attempt >= 5) throw new Error(`port ${port} has ${listeners} listening sockets, refd ${THREADS}`);
  }
  key = execFileSync(REFD, ['apikey', 'create', '--db', refd.db, '--name', 't', '--role', 'admin'],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  site = await startSite(refd.port);
  stranger = await startSite(refd.port);
  program = await created('/api/v1/programs', { name: 'Shop', currency: 'usd', tracking_origins: [site.origin] });
  assert.deepEqual(program.tracking_params, ['via', 'ref']);
  partner = await created('/api/v1/partners', { program_id: program.id, name: 'Alice', email: 'alice@p.example' });
  link = await created('/api/v1/links', { partner_id: partner.id, code: 'springsale',
    destination_url: site.origin + '/landing' });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 30000 });
});

after(async () => {
  if (browser) await browser.close();
  for (const s of [site, stranger]) if (s) s.server.close();
  await stopRefd(refd);
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

// ---- cases ----

test('t.js is served with the program\'s parameter names and this server\'s address', CASE, async () => {
  const res = await fetch(`http://127.0.0.1:${refd.port}/t.js`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^application\/javascript/);
  const js = await res.text();
  assert.match(js, /var PARAMS = \["via","ref"\];/);
  assert.ok(js.includes(`var API = "http://127.0.0.1:${refd.port}";`), js.slice(0, 300));
});

let firstClick; // the click of case (a), with its browser context

test('(a) ?via= records a script click, keeps it in a first-party cookie and hands it to every form', CASE,
  async () => {
    const before = clickCount();
    const ctx = await newContext();
    const landing = site.origin + '/landing?via=springsale';
    const v = await visit(ctx, landing);
    assert.match(v.clickId, CLICK_ID);
    assert.deepEqual(v.events, [{ clickId: v.clickId }], 'one refd:click event with the id');

    // The cookie belongs to the site's origin, not refd's, and lives as long as the program's window.
    const c = await cookieOf(ctx, site.origin);
    assert.ok(c, 'refd_click cookie on the site');
    assert.equal(c.value, v.clickId);
    assert.equal(c.domain, '127.0.0.1');
    assert.equal(c.path, '/');
    assert.equal(c.sameSite, 'Lax');
    assert.equal(c.httpOnly, false);
    const days = (c.expires - Date.now() / 1000) / 86400;
    assert.ok(days > 89.9 && days <= 90.01, `cookie lives ${days} days, the program's window is 90`);
    assert.equal(await v.page.evaluate(() => document.cookie), 'refd_click=' + v.clickId);

    // Both forms got one hidden field with the id.
    assert.deepEqual(v.forms, [[{ type: 'hidden', value: v.clickId }], [{ type: 'hidden', value: v.clickId }]]);

    // The click is in refd: from the script, counted, for the link's partner, with the page's address.
    assert.equal(clickCount(), before + 1);
    const row = clickRow(v.clickId);
    assert.ok(row, 'click row');
    assert.equal(row.source, 'script');
    assert.equal(row.status, 'counted');
    assert.equal(row.program_id, program.id);
    assert.equal(row.link_id, link.id);
    assert.equal(row.partner_id, partner.id);
    assert.equal(row.landing_url, landing);
    assert.equal(row.referer, null);
    assert.equal(row.prev_click_id, null);
    assert.match(row.user_agent, /HeadlessChrome/);

    // The business's server reports the sign-up with the click id and refd credits the partner through it.
    const lead = await api('POST', '/api/v1/leads', { program_id: program.id, email: 'first@buyer.example',
      click_id: v.clickId });
    assert.equal(lead.status, 201, lead.text);
    assert.equal(lead.json.attribution.method, 'click');
    assert.equal(lead.json.attribution.click_id, v.clickId);
    assert.equal(lead.json.attribution.partner_id, partner.id);
    firstClick = { ctx, id: v.clickId };
    await v.page.close();
  });

test('(b) the program\'s other parameter name, ?ref=, works too and fills an existing hidden field', CASE,
  async () => {
    const before = clickCount();
    const ctx = await newContext();
    try {
      const landing = site.origin + '/prefilled?utm_source=news&ref=springsale';
      const v = await visit(ctx, landing);
      assert.match(v.clickId, CLICK_ID);
      assert.notEqual(v.clickId, firstClick && firstClick.id);
      assert.equal((await cookieOf(ctx, site.origin)).value, v.clickId);
      assert.deepEqual(v.forms, [[{ type: 'hidden', value: v.clickId }], [{ type: 'hidden', value: v.clickId }]],
        'the existing field is filled, no second one is added');
      assert.equal(clickCount(), before + 1);
      const row = clickRow(v.clickId);
      assert.equal(row.source, 'script');
      assert.equal(row.partner_id, partner.id);
      assert.equal(row.landing_url, landing);
    } finally {
      await ctx.close();
    }
  });

test('(c) a later page without ?via keeps the cookie\'s click id, gives it to the forms and records nothing',
  CASE, async () => {
    assert.ok(firstClick, 'needs case (a)');
    const { ctx, id } = firstClick;
    const before = clickCount();
    const from = refd.lines.length;
    const v = await visit(ctx, site.origin + '/pricing');
    assert.equal(v.clickId, id);
    assert.deepEqual(v.events, [{ clickId: id }]);
    assert.deepEqual(v.forms, [[{ type: 'hidden', value: id }], [{ type: 'hidden', value: id }]]);
    assert.equal((await cookieOf(ctx, site.origin)).value, id);
    assert.equal(clickCount(), before, 'no click without a code');
    assert.equal((await trackRequests(from, 0)).length, 0, 'the script did not call refd');

    // Submitting the sign-up form sends the id to the business's server.
    const hits = site.hits.length;
    await v.page.fill('#signup input[name="email"]', 'buyer@example.com');
    await Promise.all([v.page.waitForURL(/\/thanks\?/), v.page.click('#signup button')]);
    const thanks = site.hits.slice(hits).find((h) => h.path === '/thanks');
    assert.deepEqual(thanks && thanks.query, { refd_click: id, email: 'buyer@example.com' });
    await v.page.close();
  });

test('(c2) a new ?via visit sends the kept click id as the previous click', CASE, async () => {
  assert.ok(firstClick, 'needs case (a)');
  const { ctx, id } = firstClick;
  const v = await visit(ctx, site.origin + '/landing?via=springsale&again=1');
  assert.match(v.clickId, CLICK_ID);
  assert.notEqual(v.clickId, id, 'every visit with a code is a new click');
  assert.equal((await cookieOf(ctx, site.origin)).value, v.clickId, 'the cookie now holds the newest click');
  const row = clickRow(v.clickId);
  assert.equal(row.prev_click_id, id);
  assert.equal(row.source, 'script');
  firstClick.second = v.clickId;
  await v.page.close();
});

test('(c3) that second visit, within the repeat window and with the cookie, is stored as a repeat', CASE, () => {
  assert.ok(firstClick && firstClick.second, 'needs case (c2)');
  assert.equal(clickRow(firstClick.second).status, 'repeat');
});

test('(d) an origin outside tracking_origins gets no click: refd answers 403 and no cookie is set', CASE,
  async () => {
    const before = clickCount();
    const from = refd.lines.length;
    const ctx = await newContext();
    try {
      const v = await visit(ctx, stranger.origin + '/landing?via=springsale');
      assert.equal(v.clickId, null);
      assert.deepEqual(v.events, [{ clickId: null }]);
      assert.deepEqual(v.forms, [[], []], 'no hidden field without an id');
      assert.equal(await cookieOf(ctx, stranger.origin), null);
      assert.deepEqual((await ctx.cookies()).map((c) => c.name), []);
      assert.deepEqual((await trackRequests(from, 1)).map((l) => [l.method, l.status]), [['POST', 403]]);
      assert.equal(clickCount(), before);
    } finally {
      await ctx.close();
    }
  });

test('(e) an unknown code sets nothing', CASE, async () => {
  const before = clickCount();
  const from = refd.lines.length;
  const ctx = await newContext();
  try {
    const v = await visit(ctx, site.origin + '/landing?via=nosuchcode');
    assert.equal(v.clickId, null);
    assert.deepEqual(v.events, [{ clickId: null }]);
    assert.deepEqual(v.forms, [[], []]);
    assert.deepEqual((await ctx.cookies()).map((c) => c.name), []);
    assert.deepEqual((await trackRequests(from, 1)).map((l) => [l.method, l.status]), [['POST', 404]]);
    assert.equal(clickCount(), before);
  } finally {
    await ctx.close();
  }
});


test('t.js from refd started with --listen 127.0.0.1:0 calls the port refd really listens on', CASE, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'refd-browser-port0-'));
  let r;
  try {
    r = await startRefd(dir, '127.0.0.1:0');
    const js = await (await fetch(`http://127.0.0.1:${r.port}/t.js`)).text();
    const api = (js.match(/var API = "([^"]*)";/) || [])[1];
    assert.equal(api, `http://127.0.0.1:${r.port}`);
  } finally {
    await stopRefd(r);
    rmSync(dir, { recursive: true, force: true });
  }
});
