// SPDX-License-Identifier: Apache-2.0
// The admin UI's Webhooks page in a real headless Chromium, against refd (demo data, --webhook-allow-private) and
// the tests' real receiver (tests/integration/webhook_receiver.mjs, which verifies every delivery with the npm
// standardwebhooks and svix libraries): an admin creates an endpoint with event types ticked from the server's list
// (and is told when none is), copies its secret, shown once, sends a test event and sees its delivery with the
// answer, resends it, sees a failure's answer and its next attempt, disables and enables the endpoint, rotates the
// secret (both secrets sign), replays a time range, and deletes the endpoint. Run with `sh tests/browser/run.sh`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, REFD, ROOT, startRefd, stopRefd } from './refd.mjs';

const CASE = { timeout: 45000 };

let tmp;
let refd;
let receiver; // { proc, base }
let browser;
let page;
let base;
let endpoint; // the endpoint made through the form: { id, secret }
let leadsFrom; // a time before the one lead the tests make
const pageErrors = [];

// ---- the receiver ----

function startReceiver() {
  const proc = spawn('node', [join(ROOT, 'tests', 'integration', 'webhook_receiver.mjs')], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((ok, fail) => {
    let out = '';
    const timer = setTimeout(() => fail(new Error('the webhook receiver did not start')), 15000);
    proc.stdout.on('data', (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        ok({ proc, base: `http://127.0.0.1:${JSON.parse(out.slice(0, nl)).port}` });
      }
    });
    proc.on('exit', (code) => fail(new Error(`the webhook receiver exited (${code})`)));
  });
}

async function control(body) {
  const r = await fetch(`${receiver.base}/_control`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  assert.equal(r.status, 200);
}

async function received(path) {
  const all = await (await fetch(`${receiver.base}/_control/received`)).json();
  return all.filter((r) => r.path === path);
}

async function waitReceived(path, pred, what) {
  const deadline = Date.now() + 15000;
  for (;;) {
    const got = await received(path);
    if (pred(got)) return got;
    if (Date.now() > deadline) throw new Error(`${what} did not arrive: ${JSON.stringify(got).slice(0, 2000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const verified = (r) => r.verified.standardwebhooks.some(Boolean) && r.verified.svix.some(Boolean);

// ---- the page ----

function pageApi(p, method, path, body) {
  return p.evaluate(async ([m, u, b]) => {
    const { api } = await import('/assets/api.js');
    return api(m, u, b);
  }, [method, path, body]);
}

async function goto(p, hash) {
  await p.evaluate((h) => { location.hash = h; }, hash);
  await p.waitForFunction((h) => location.hash.startsWith(h) && !document.getElementById('main').hasAttribute('aria-busy'), hash);
}

async function liveText(p, re) {
  await p.waitForFunction((src) => new RegExp(src).test(document.getElementById('live').textContent), re.source, { timeout: 10000 });
  return p.textContent('#live');
}

async function confirm(p, label) {
  await p.waitForSelector('dialog[open]');
  await p.click(`dialog[open] button[type=submit]:has-text("${label}")`);
}

// Presses Refresh until a row of the deliveries table satisfies pred (given the rows' text); returns the rows' text.
async function deliveryRows(p, pred, what) {
  const deadline = Date.now() + 15000;
  for (;;) {
    await p.click('#deliveries-refresh');
    await p.waitForFunction(() => {
      const box = document.getElementById('deliveries-table');
      return box && !box.hasAttribute('aria-busy') && !box.querySelector('.loading');
    });
    const rows = await p.$$eval('#deliveries-table > .table-wrap > table > tbody > tr', (trs) => trs.map((tr) => tr.innerText));
    if (pred(rows)) return rows;
    if (Date.now() > deadline) throw new Error(`${what}: ${JSON.stringify(rows)}`);
    await p.waitForTimeout(150);
  }
}

// A datetime-local control's value, in UTC as the form says, to the second (a control shows no ":00" seconds).
function isoLocal(ms) {
  const s = new Date(ms).toISOString().slice(0, 19);
  return s.endsWith(':00') ? s.slice(0, 16) : s;
}

// ---- setup ----

before(async () => {
  assert.ok(existsSync(REFD), `${REFD} is missing: run make first`);
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/bootstrap.sh`);
  tmp = mkdtempSync(join(tmpdir(), 'refd-webhooks-'));
  receiver = await startReceiver();
  refd = await startRefd(tmp, '127.0.0.1:0', { demo: true, quiet: true, clock: false, args: ['--webhook-allow-private', '--webhook-poll-ms', '50', '--webhook-timeout-ms', '3000'] });
  base = `http://127.0.0.1:${refd.port}`;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 30000 });
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
  page = await ctx.newPage();
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(`${base}/app`);
  await page.waitForSelector('#login-form');
  await page.fill('#login-form input[type=email]', 'admin@example.com');
  await page.fill('#login-form input[type=password]', refd.password);
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#dash-leads', { timeout: 15000 });
});

after(async () => {
  if (browser) await browser.close();
  await stopRefd(refd);
  if (receiver) receiver.proc.kill('SIGTERM');
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

// ---- cases ----

test('an endpoint is made with event types ticked from the server list; its secret is shown once', CASE, async () => {
  await page.click('#nav a[data-page=webhooks]');
  await page.waitForSelector('#webhooks-table');
  assert.match(await page.textContent('#webhooks-table'), /No webhook endpoints yet/);
  await page.click('#webhook-create >> xpath=ancestor::details/summary');
  // One box per type the server writes, and none of its own.
  const types = (await pageApi(page, 'GET', '/api/v1/event-types')).data.map((t) => t.type);
  const boxes = await page.$$eval('#webhook-create input[name=event_type]', (bs) => bs.map((b) => b.value));
  assert.deepEqual(boxes, types);
  // No type chosen: said next to the types, and nothing is made.
  await page.fill('#webhook-create [name=url]', `${receiver.base}/ui`);
  await page.fill('#webhook-create [name=description]', 'CRM sync');
  await page.click('#webhook-create button[type=submit]');
  await page.waitForFunction(() => document.getElementById('wh-types-error').textContent.includes('at least one event type'));
  assert.equal(await page.getAttribute('#wh-types', 'aria-invalid'), 'true');
  // A URL the API refuses: its message lands next to the URL.
  await page.check('#webhook-create input[value="lead.created"]');
  await page.check('#webhook-create input[value="sale.created"]');
  await page.fill('#webhook-create [name=url]', 'ftp://crm.example.com/hook');
  await page.click('#webhook-create button[type=submit]');
  await page.waitForFunction(() => document.querySelector('#webhook-create [name=url]').getAttribute('aria-invalid') === 'true');
  assert.ok((await page.textContent('#webhook-create .form-error')).length > 0);
  assert.equal((await pageApi(page, 'GET', '/api/v1/webhook-endpoints')).data.length, 0);

  await page.fill('#webhook-create [name=url]', `${receiver.base}/ui`);
  await page.click('#webhook-create button[type=submit]');
  await page.waitForSelector('#webhook-secret-value');
  await liveText(page, /shown only once/);
  const secret = await page.inputValue('#webhook-secret-value');
  assert.match(secret, /^whsec_[A-Za-z0-9+/=]{44}$/);
  // The copy button puts it on the clipboard.
  await page.click('#webhook-secret button:has-text("Copy")');
  await liveText(page, /Copied/);
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), secret);
  const id = await page.evaluate(() => location.hash.split('/')[1]);
  endpoint = { id, secret };
  const ep = await pageApi(page, 'GET', `/api/v1/webhook-endpoints/${id}`);
  assert.deepEqual([ep.url, ep.description, ep.event_types, ep.status, ep.program_id], [`${receiver.base}/ui`, 'CRM sync', ['lead.created', 'sale.created'], 'enabled', null]);
  assert.ok(!('secret' in ep));
  assert.equal(await page.textContent('#webhook-types'), 'lead.created, sale.created');
  await control({ secrets: { '/ui': [secret] }, behaviour: { '/ui': {} } });
  // Shown once: the page rendered again has no secret.
  await goto(page, '#webhooks');
  await page.click(`#webhooks-table a[href="#webhooks/${id}"]`);
  await page.waitForSelector('#webhook-status');
  assert.equal(await page.$('#webhook-secret-value'), null);
});

test('a test event is sent and delivered; the log shows the answer; a delivery is resent', CASE, async () => {
  await page.click('#webhook-test');
  await liveText(page, /Test event queued/);
  const got = await waitReceived('/ui', (g) => g.length >= 1, 'the test event');
  assert.ok(verified(got[0]), JSON.stringify(got[0].verified));
  assert.equal(JSON.parse(got[0].body).type, 'webhook.test');
  const rows = await deliveryRows(page, (r) => r.length === 1 && /delivered/.test(r[0]), 'the test delivery delivered');
  assert.match(rows[0], /webhook\.test/);
  assert.match(rows[0], /HTTP 200/);
  assert.match(rows[0], new RegExp(got[0].headers['webhook-id']));
  // Its attempts, opened: the status, the latency and the first bytes of the answer.
  await page.click('#deliveries-table details.attempts summary');
  assert.match(await page.textContent('#deliveries-table details.attempts'), /200[\s\S]*ms[\s\S]*ok/);
  leadsFrom = Date.now() - 1000;
  // A lead the endpoint wants arrives too, and is resent from the log: the same webhook-id again.
  await pageApi(page, 'POST', '/api/v1/leads', { program_id: (await pageApi(page, 'GET', '/api/v1/programs')).data[0].id, email: 'webhooks-ui@example.com' });
  const lead = (await waitReceived('/ui', (g) => g.some((r) => JSON.parse(r.body).type === 'lead.created'), 'lead.created')).find((r) => JSON.parse(r.body).type === 'lead.created');
  await deliveryRows(page, (r) => r.length === 2 && r.every((x) => /delivered/.test(x)), 'both delivered');
  const resend = page.locator('#deliveries-table tr', { hasText: 'lead.created' }).locator('button[data-resend]');
  await resend.click();
  await liveText(page, /lead\.created queued again/);
  const again = await waitReceived('/ui', (g) => g.filter((r) => r.headers['webhook-id'] === lead.headers['webhook-id']).length === 2, 'the resend');
  assert.ok(again.every(verified));
  await deliveryRows(page, (r) => r.length === 3 && r.every((x) => /delivered/.test(x)), 'the resend in the log');
});

test('a failed attempt shows its answer and the next attempt; the endpoint is disabled and enabled again', CASE, async () => {
  await control({ behaviour: { '/ui': { status: 500, body: 'database is down' } } });
  await page.click('#webhook-test');
  await liveText(page, /Test event queued/);
  const rows = await deliveryRows(page, (r) => r.some((x) => /HTTP 500/.test(x)), 'the failed attempt');
  const failed = rows.find((x) => /HTTP 500/.test(x));
  assert.match(failed, /pending/);
  assert.match(failed, /\d{4}-\d\d-\d\d \d\d:\d\d/); // its next attempt
  await page.locator('#deliveries-table tr', { hasText: 'HTTP 500' }).locator('details.attempts summary').first().click();
  assert.match(await page.locator('#deliveries-table details.attempts[open]').first().textContent(), /500[\s\S]*HTTP 500[\s\S]*database is down/);
  // Filtered by status: it waits for its next attempt.
  await page.selectOption('#delivery-status', 'pending');
  await page.waitForFunction(() => {
    const rows = document.querySelectorAll('#deliveries-table > .table-wrap > table > tbody > tr');
    return rows.length === 1 && /HTTP 500/.test(rows[0].textContent);
  });
  await page.selectOption('#delivery-status', '');

  await page.click('#webhook-toggle');
  await confirm(page, 'Disable');
  await liveText(page, /Endpoint disabled/);
  await page.waitForFunction(() => document.getElementById('webhook-status')?.textContent === 'disabled');
  assert.equal(await page.isDisabled('#webhook-test'), true);
  assert.equal((await pageApi(page, 'GET', `/api/v1/webhook-endpoints/${endpoint.id}`)).status, 'disabled');
  // What waited for it was cancelled.
  await deliveryRows(page, (r) => r.some((x) => /cancelled/.test(x)), 'the cancelled delivery');
  await control({ behaviour: { '/ui': {} } });
  await page.click('#webhook-toggle');
  await liveText(page, /Endpoint enabled/);
  await page.waitForFunction(() => document.getElementById('webhook-status')?.textContent === 'enabled');
  assert.equal(await page.isDisabled('#webhook-test'), false);
});

test('a rotated secret is shown once and signs beside the old one', CASE, async () => {
  await page.click('#webhook-rotate');
  await confirm(page, 'Rotate');
  await page.waitForSelector('#webhook-secret-value');
  await liveText(page, /New signing secret/);
  const fresh = await page.inputValue('#webhook-secret-value');
  assert.match(fresh, /^whsec_/);
  assert.notEqual(fresh, endpoint.secret);
  assert.match(await page.textContent('main .facts'), /Previous secret signs until/);
  await control({ secrets: { '/ui': [endpoint.secret, fresh] } });
  const before = (await received('/ui')).length;
  await page.click('#webhook-test');
  const got = await waitReceived('/ui', (g) => g.length > before, 'the test event after the rotation');
  const last = got[got.length - 1];
  assert.equal(last.headers['webhook-signature'].split(' ').length, 2);
  assert.deepEqual(last.verified, { standardwebhooks: [true, true], svix: [true, true] });
  endpoint.secret = fresh;
});

test('a time range is replayed; the types are changed through the form', CASE, async () => {
  const before = (await received('/ui')).length;
  const from = leadsFrom;
  await page.fill('#webhook-replay [name=from]', isoLocal(from));
  await page.fill('#webhook-replay [name=to]', isoLocal(Date.now() + 60000));
  await page.click('#webhook-replay button[type=submit]');
  // The range holds the one lead made since the endpoint was (the endpoint takes lead.created and sale.created; the
  // test events are of another type).
  const text = await liveText(page, /queued again/);
  const queued = Number(/(\d+) events? queued again/.exec(text)[1]);
  assert.equal(queued, 1);
  await waitReceived('/ui', (g) => g.length >= before + queued, 'the replayed events');
  // A range that ends before it starts: said next to "to".
  await page.fill('#webhook-replay [name=to]', isoLocal(from - 1000));
  await page.click('#webhook-replay button[type=submit]');
  await page.waitForFunction(() => document.querySelector('#webhook-replay [name=to]').getAttribute('aria-invalid') === 'true');

  await page.click('#webhook-edit >> xpath=ancestor::details/summary');
  assert.equal(await page.isChecked('#webhook-edit input[value="sale.created"]'), true);
  await page.check('#webhook-edit [name=every_type]');
  assert.equal(await page.isDisabled('#webhook-edit input[value="lead.created"]'), true);
  await page.fill('#webhook-edit [name=description]', 'Everything');
  await page.click('#webhook-edit button[type=submit]');
  await liveText(page, /Endpoint saved/);
  await page.waitForFunction(() => document.getElementById('webhook-types')?.textContent === 'every event type');
  const ep = await pageApi(page, 'GET', `/api/v1/webhook-endpoints/${endpoint.id}`);
  assert.deepEqual([ep.event_types, ep.description], [['*'], 'Everything']);
});

test('the list shows the endpoint; it is deleted', CASE, async () => {
  await goto(page, '#webhooks');
  await page.waitForSelector('#webhooks-table table');
  const row = await page.textContent('#webhooks-table tbody');
  assert.match(row, /Everything/);
  assert.match(row, /every event type/);
  assert.match(row, /enabled/);
  await page.click(`#webhooks-table a[href="#webhooks/${endpoint.id}"]`);
  await page.waitForSelector('#webhook-delete');
  await page.click('#webhook-delete');
  await confirm(page, 'Delete');
  await page.waitForFunction(() => location.hash === '#webhooks' && /No webhook endpoints yet/.test(document.getElementById('main').textContent));
  assert.equal((await pageApi(page, 'GET', '/api/v1/webhook-endpoints')).data.length, 0);
});

test('no page raised a script error', () => {
  assert.deepEqual(pageErrors, []);
});
