// SPDX-License-Identifier: Apache-2.0
// The admin UI's Integrations page in a real headless Chromium, used as an admin would: Paddle is connected
// (a missing secret and a second Paddle connection are refused next to their fields), its secret is shown once with
// the warning and never again, the webhook URL is copied to the clipboard, a Paddle fixture signed with
// tests/fixtures/paddle/sign.js is posted to that URL and shows in the events list as processed, a tampered copy as
// refused with its reason, and the list pages; a CRM is connected with a credential and a stage map, whose invalid
// status is refused next to the editor and then corrected; a lead pushed to that CRM (a local stand-in for HubSpot's
// API) is refused, shows as failed with the CRM's answer in the connection's deliveries, and is delivered once an
// admin retries it; a connection is disabled (what Paddle sends is then
// refused), enabled, given a new secret and tolerance, and deleted after a cancelled confirmation; a link's coupon
// is set, refused with its reason, and cleared. Against refd with its demo data and a second program, on SQLite or
// (REFD_TEST_DB=postgres) PostgreSQL.
// Run with `sh tests/browser/run.sh` or `node --test tests/browser/integrations.test.mjs`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, REFD, ROOT, startRefd, stopRefd } from './refd.mjs';

const CASE = { timeout: 60000 };
const SIGN = join(ROOT, 'tests', 'fixtures', 'paddle', 'sign.js');
const FIXTURE = join(ROOT, 'tests', 'fixtures', 'paddle', '01_transaction_completed.json');
const SECRET = 'pdl_ntfset_01kdrefd_browser_test_secret';

let tmp;
let refd;
let browser;
let ctx;
let page;
let base;
let program; // the demo program, where the connections are made
let other; // a second program, so that the page offers a choice
const conn = {}; // what the cases learn: the Paddle connection's id and webhook URL, the CRM's id
const pageErrors = [];

// ---- helpers ----

// The API, called from the page with the admin's own session (and its CSRF token for writes).
function pageApi(method, path, body) {
  return page.evaluate(async ([m, u, b]) => {
    const { api } = await import('/assets/api.js');
    try {
      return { status: 200, body: await api(m, u, b) };
    } catch (e) {
      return { status: e.status, field: e.field, message: e.message };
    }
  }, [method, path, body]);
}

async function goto(hash) {
  await page.evaluate((h) => { location.hash = h; }, hash);
  await page.waitForFunction((h) => location.hash.startsWith(h) && !document.getElementById('main').hasAttribute('aria-busy'), hash);
}

async function liveText(re) {
  await page.waitForFunction((src) => new RegExp(src).test(document.getElementById('live').textContent), re.source, { timeout: 10000 });
  return page.textContent('#live');
}

// The error shown next to a control (its aria-describedby's field-error), once there is one.
async function errorOf(selector) {
  await page.waitForFunction((s) => {
    const c = document.querySelector(s);
    return c && c.getAttribute('aria-invalid') === 'true' && document.getElementById(`${c.id}-error`)?.textContent;
  }, selector, { timeout: 10000 });
  return page.evaluate((s) => document.getElementById(`${document.querySelector(s).id}-error`).textContent, selector);
}

// The Paddle-Signature header sign.js makes for these bytes at unix time ts, with secret.
function sign(file, ts, secret = SECRET) {
  const out = execFileSync('node', [SIGN, file, String(ts)], { encoding: 'utf8', env: { ...process.env, PADDLE_WEBHOOK_SECRET: secret } });
  const h = Object.fromEntries(out.trim().split('\n').map((l) => l.split(': ')));
  assert.match(h['Paddle-Signature'], new RegExp(`^ts=${ts};h1=[0-9a-f]{64}$`));
  return h['Paddle-Signature'];
}

// Posts bytes to the webhook URL as Paddle does; resolves with the status and the JSON answer.
async function postPaddle(url, bytes, signature) {
  const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', 'Paddle-Signature': signature }, body: bytes });
  return { status: res.status, body: await res.json() };
}

// The rows of the events table as the page shows them.
function eventRows() {
  return page.$$eval('#conn-events tbody tr', (trs) =>
    trs.map((tr) => {
      const cell = (label) => tr.querySelector(`td[data-label="${label}"]`).textContent.trim();
      return { type: cell('Type'), event: cell('Event'), outcome: tr.querySelector('[data-outcome]').dataset.outcome, reason: cell('Reason'), http: cell('HTTP') };
    }));
}

async function refreshEvents() {
  await page.click('#conn-events-refresh');
  await page.waitForFunction(() => !document.getElementById('conn-events').hasAttribute('aria-busy') && document.querySelector('#conn-events table, #conn-events .empty, #conn-events.paged > p.empty'));
}

// ---- setup ----

before(async () => {
  assert.ok(existsSync(REFD), `${REFD} is missing: run make first`);
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/bootstrap.sh`);
  tmp = mkdtempSync(join(tmpdir(), 'refd-integrations-'));
  // The real clock: Paddle's signature must be within 5 seconds of refd's now.
  refd = await startRefd(tmp, '127.0.0.1:0', { demo: true, quiet: true, clock: false, args: ['--crm-interval-ms', '100'] });
  base = `http://127.0.0.1:${refd.port}`;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 30000 });
  ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
  page = await ctx.newPage();
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(`${base}/app`);
  await page.waitForSelector('#login-form');
  await page.fill('#login-form input[type=email]', 'admin@example.com');
  await page.fill('#login-form input[type=password]', refd.password);
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#nav a[data-page=integrations]', { timeout: 15000 });
  const progs = await pageApi('GET', '/api/v1/programs?limit=100');
  program = progs.body.data[0].id;
  const made = await pageApi('POST', '/api/v1/programs', { name: 'Second shop', currency: 'eur' });
  assert.equal(made.status, 200, made.message);
  other = made.body.id;
  // The page learns the programs when it loads.
  await page.reload();
  await page.waitForSelector('#nav a[data-page=integrations]', { timeout: 15000 });
});

after(async () => {
  if (browser) await browser.close();
  await stopRefd(refd);
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

// ---- cases ----

test('an admin connects Paddle, sees its secret once and copies the webhook URL', CASE, async () => {
  await page.click('#nav a[data-page=integrations]');
  await page.waitForSelector('#integration-create');
  assert.equal(await page.textContent('main h1'), 'Integrations');
  // Two programs: the page asks which; the demo program's list is empty so far.
  await page.selectOption('#integrations-program select', program);
  await page.waitForFunction((p) => location.hash === `#integrations?program_id=${p}`, program);
  await page.waitForSelector('#integrations-list .empty');

  await page.selectOption('#integration-create select[name=system]', 'paddle');
  await page.waitForSelector('#integration-create input[name="credentials.webhook_secret"]');
  // Without its secret, Paddle is refused by the API, and the message stands next to the secret's field.
  await page.fill('#integration-create input[name=name]', 'Main shop');
  await page.click('#integration-create button[type=submit]');
  assert.match(await errorOf('#integration-create input[name="credentials.webhook_secret"]'), /needs credentials\.webhook_secret/);
  assert.equal((await pageApi('GET', `/api/v1/integrations?program_id=${program}`)).body.data.length, 0, 'nothing was connected');

  await page.fill('#integration-create input[name="credentials.webhook_secret"]', SECRET);
  await page.click('#integration-create button[type=submit]');
  await page.waitForSelector('#integration-secret');
  await liveText(/Paddle Billing connected/);
  // The secret, once, with its copy button and the warning.
  assert.equal(await page.inputValue('#integration-cred-webhook_secret-value'), SECRET);
  assert.match(await page.textContent('#integration-once'), /you will not see them again/);
  assert.ok(await page.$('#integration-cred-webhook_secret button'), 'the secret has a copy button');
  // The list shows the new connection with its status and no event yet.
  await page.waitForSelector('#integrations-table a[data-system=paddle]');
  const row = await page.$$eval('#integrations-table tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent.trim())));
  assert.equal(row.length, 1);
  assert.equal(row[0][0], 'Paddle Billing');
  assert.equal(row[0][1], 'Main shop');
  assert.equal(row[0][2], 'enabled');
  assert.match(row[0][3], /^\d{4}-\d\d-\d\d \d\d:\d\d$/);
  assert.equal(row[0][4], 'none yet');

  // The webhook URL: copied to the clipboard as shown, naming the connection on this server.
  const shown = await page.inputValue('#integration-secret input.webhook');
  await page.click('#webhook-copy');
  await liveText(/Copied/);
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  assert.equal(copied, shown);
  const m = new RegExp(`^${base.replace(/[.]/g, '\\.')}/api/v1/integrations/paddle/webhook\\?connection=(conn_\\w+)$`).exec(copied);
  assert.ok(m, copied);
  conn.paddle = m[1];
  conn.url = copied;
  const listed = await pageApi('GET', `/api/v1/integrations/${conn.paddle}`);
  assert.equal(listed.body.program_id, program);
  assert.deepEqual(listed.body.credential_keys, ['webhook_secret']);

  // A second Paddle connection of the program is refused next to the system's select.
  await page.selectOption('#integration-create select[name=system]', 'paddle');
  await page.fill('#integration-create input[name="credentials.webhook_secret"]', 'pdl_ntfset_another');
  await page.click('#integration-create button[type=submit]');
  assert.match(await errorOf('#integration-create select[name=system]'), /has a Paddle Billing connection already/);

  // The secret is never shown again: not on the connection's page, not on the list.
  await page.click('#integration-open');
  await page.waitForSelector('#conn-toggle');
  const everything = () => page.evaluate(() => document.body.innerText + [...document.querySelectorAll('input, textarea')].map((i) => i.value).join(' '));
  assert.ok(!(await everything()).includes(SECRET), 'the connection page does not show the secret');
  assert.match(await page.textContent('main dl.facts'), /webhook_secret \(sealed/);
  assert.equal(await page.inputValue('main .webhook-url input'), conn.url);
  await goto(`#integrations?program_id=${program}`);
  await page.waitForSelector('#integrations-table');
  assert.ok(!(await everything()).includes(SECRET), 'the list does not show the secret');
  // The other program has no connection.
  await page.selectOption('#integrations-program select', other);
  await page.waitForSelector('#integrations-list .empty');
});

test('a signed Paddle event shows as processed, a tampered one as refused with its reason, and the log pages', CASE, async () => {
  assert.ok(conn.url, 'the first case connected Paddle');
  const bytes = readFileSync(FIXTURE);
  const event = JSON.parse(bytes.toString('utf8'));
  const now = Math.floor(Date.now() / 1000);
  const good = sign(FIXTURE, now);
  const ok = await postPaddle(conn.url, bytes, good);
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  assert.equal(ok.body.outcome, 'processed', JSON.stringify(ok.body));
  const tampered = Buffer.from(bytes.toString('utf8').replace('"total": "4900"', '"total": "4901"'));
  assert.notDeepEqual(tampered, bytes);
  const bad = await postPaddle(conn.url, tampered, good);
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.field, 'Paddle-Signature');

  await goto(`#integrations/${conn.paddle}`);
  await page.waitForSelector('#conn-events tbody tr');
  let rows = await eventRows();
  assert.equal(rows.length, 2, JSON.stringify(rows));
  // Newest first: the refusal, then the sale.
  assert.deepEqual(rows[1], { type: 'transaction.completed', event: event.event_id, outcome: 'processed', reason: '', http: '200' });
  assert.equal(rows[0].outcome, 'refused');
  assert.equal(rows[0].http, '400');
  assert.match(rows[0].reason, /signature does not match the body/);
  // The connection's last event is the one refd took.
  assert.notEqual((await pageApi('GET', `/api/v1/integrations/${conn.paddle}`)).body.last_event_at, null);

  // The outcome filter.
  await page.selectOption('#conn-events-outcome', 'processed');
  await page.waitForFunction(() => document.querySelectorAll('#conn-events tbody tr').length === 1);
  assert.equal((await eventRows())[0].outcome, 'processed');
  await page.selectOption('#conn-events-outcome', '');
  await page.waitForFunction(() => document.querySelectorAll('#conn-events tbody tr').length === 2);

  // The same event again is a duplicate, and says what it was before.
  const again = await postPaddle(conn.url, bytes, sign(FIXTURE, Math.floor(Date.now() / 1000)));
  assert.equal(again.body.outcome, 'duplicate');
  // 25 more refusals (an old signature): the log shows 20 at a time, then the rest.
  const stale = sign(FIXTURE, Math.floor(Date.now() / 1000) - 600);
  for (let i = 0; i < 25; i++) assert.equal((await postPaddle(conn.url, bytes, stale)).status, 400);
  await refreshEvents();
  await page.waitForSelector('#conn-events-box button:text("Load more")');
  rows = await eventRows();
  assert.equal(rows.length, 20);
  assert.match(rows[0].reason, /more than 5 seconds away from now/);
  await page.click('#conn-events-box button:text("Load more")');
  await page.waitForFunction(() => document.querySelectorAll('#conn-events tbody tr').length === 28);
  rows = await eventRows();
  assert.equal(await page.$('#conn-events-box button:text("Load more")'), null, 'every event is shown');
  assert.deepEqual(rows.map((r) => r.outcome).filter((o) => o !== 'refused'), ['duplicate', 'processed']);
  assert.equal(new Set(rows.map((r) => r.event + r.outcome + r.reason + r.type)).size >= 3, true);
  const api = await pageApi('GET', `/api/v1/integrations/${conn.paddle}/events?limit=100`);
  assert.equal(api.body.data.length, 28);
  assert.deepEqual(rows.map((r) => r.outcome), api.body.data.map((e) => e.outcome));
});

test('a CRM is connected with a credential and a stage map; an invalid status is shown next to the map', CASE, async () => {
  await goto(`#integrations?program_id=${program}`);
  await page.waitForSelector('#integration-create');
  await page.selectOption('#integration-create select[name=system]', 'hubspot');
  await page.waitForSelector('#integration-create .stage-map');
  await page.fill('#integration-create input[name=name]', 'Sales CRM');
  await page.fill('#integration-create .cred-key', 'access_token');
  await page.fill('#integration-create .cred-value', 'pat-na1-00000000-browser-test');
  await page.fill('#integration-create .stage-name', 'closedwon');
  await page.fill('#integration-create .stage-status', 'converted');
  await page.click('#integration-create button[type=submit]');
  await page.waitForSelector('#integration-secret');
  assert.equal(await page.inputValue('#integration-cred-access_token-value'), 'pat-na1-00000000-browser-test');
  assert.match(await page.inputValue('#integration-secret input.webhook'), /\/api\/v1\/integrations\/hubspot\/webhook\?connection=conn_/);
  await page.click('#integration-open');
  await page.waitForSelector('#stage-map-form');
  conn.crm = (await page.evaluate(() => location.hash)).split('/')[1];
  assert.match(conn.crm, /^conn_/);
  const shownMap = () => page.$$eval('#stage-map-form .kv-row', (rs) => rs.map((r) => [r.querySelector('.stage-name').value, r.querySelector('.stage-status').value]));
  assert.deepEqual(await shownMap(), [['closedwon', 'converted']]);

  // Two more stages, one with a status refd does not have: the API's error stands next to the stage map.
  await page.click('#stage-map-form button:text("Add a stage")');
  await page.fill('#stage-map-form .kv-row:nth-child(2) .stage-name', 'appointmentscheduled');
  await page.fill('#stage-map-form .kv-row:nth-child(2) .stage-status', 'contacted');
  await page.click('#stage-map-form button:text("Add a stage")');
  await page.fill('#stage-map-form .kv-row:nth-child(3) .stage-name', 'decisionmakerboughtin');
  await page.fill('#stage-map-form .kv-row:nth-child(3) .stage-status', 'signed');
  await page.click('#stage-map-form button[type=submit]');
  const err = await errorOf('#stage-map-form [data-field=stage_map]');
  assert.match(err, /stage 'decisionmakerboughtin' must map to a lead status: new, contacted, qualified, converted or lost/);
  assert.deepEqual((await pageApi('GET', `/api/v1/integrations/${conn.crm}`)).body.stage_map, { closedwon: 'converted' }, 'nothing changed');
  assert.equal((await shownMap()).length, 3, 'the rows typed are kept');

  // Corrected, the map is saved and shown as the API has it.
  await page.fill('#stage-map-form .kv-row:nth-child(3) .stage-status', 'qualified');
  await page.click('#stage-map-form button[type=submit]');
  await liveText(/Stage map saved: 3 stage/);
  await page.waitForSelector('#stage-map-form');
  const want = { closedwon: 'converted', appointmentscheduled: 'contacted', decisionmakerboughtin: 'qualified' };
  assert.deepEqual((await pageApi('GET', `/api/v1/integrations/${conn.crm}`)).body.stage_map, want);
  assert.deepEqual(Object.fromEntries(await shownMap()), want);
  assert.equal(await page.$('#stage-map-form [aria-invalid=true]'), null);

  // A stage removed is gone once saved.
  await page.evaluate(() => [...document.querySelectorAll('#stage-map-form .kv-row')].find((r) => r.querySelector('.stage-name').value === 'appointmentscheduled').querySelector('.remove-stage').click());
  await page.click('#stage-map-form button[type=submit]');
  await liveText(/Stage map saved: 2 stage/);
  assert.deepEqual((await pageApi('GET', `/api/v1/integrations/${conn.crm}`)).body.stage_map, { closedwon: 'converted', decisionmakerboughtin: 'qualified' });

  // The list has both connections.
  await goto(`#integrations?program_id=${program}`);
  await page.waitForSelector('#integrations-table a[data-system=hubspot]');
  assert.equal(await page.$$eval('#integrations-table tbody tr', (t) => t.length), 2);
});

// A stand-in for HubSpot's CRM API: refuses the first contact with HubSpot's 400, then makes what it is asked for.
function fakeHubspot() {
  const seen = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      seen.push(`${req.method} ${req.url}`);
      const contacts = seen.filter((s) => s === 'POST /crm/v3/objects/contacts').length;
      let status = 201;
      let out = { id: String(9000 + seen.length), properties: {} };
      if (req.url === '/crm/v3/objects/contacts' && contacts === 1) {
        status = 400;
        out = { status: 'error', message: 'Property values were not valid', category: 'VALIDATION_ERROR' };
      }
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(out));
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, seen, url: `http://127.0.0.1:${server.address().port}` })));
}

async function crmDeliveries(status) {
  const r = await pageApi('GET', `/api/v1/integrations/${conn.crm}/deliveries?status=${status}`);
  assert.equal(r.status, 200, r.message);
  return r.body.data;
}

async function until(what, fn, timeout = 20000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const v = await fn();
    if (v) return v;
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test("a push the CRM refused shows as failed with the CRM's answer, and an admin retries it", CASE, async () => {
  assert.ok(conn.crm, 'the earlier case connected a CRM');
  const fake = await fakeHubspot();
  try {
    assert.equal((await pageApi('PATCH', `/api/v1/integrations/${conn.crm}`, { base_url: fake.url })).status, 200);
    // Before anything was pushed, the page says so.
    await goto(`#integrations/${conn.crm}`);
    await page.waitForSelector('#conn-deliveries');
    assert.match(await page.textContent('#conn-deliveries-box'), /Nothing sent to or read from HubSpot yet/);
    // A lead credited to a partner is pushed to HubSpot, which refuses it.
    const partner = (await pageApi('GET', `/api/v1/partners?program_id=${program}&status=active&limit=1`)).body.data[0].id;
    const lead = await pageApi('POST', '/api/v1/leads', { program_id: program, email: 'pushed@browser.example', name: 'Pat Pushed', partner_id: partner });
    assert.equal(lead.status, 200, lead.message);
    const [failed] = await until('the refusal', () => crmDeliveries('failed').then((d) => d.length && d));
    await page.click('#conn-deliveries-refresh');
    const row = `#conn-deliveries tr:has(button[data-retry="${failed.id}"])`;
    await page.waitForSelector(row);
    assert.equal(await page.getAttribute(`${row} [data-status]`, 'data-status'), 'failed');
    assert.match(await page.textContent(`${row} .last-answer`), /HTTP 400: creating the contact: the system answered 400/);
    assert.match(await page.textContent(`${row} td[data-label="What"]`), /a lead pushed/);
    await page.click(`${row} details summary`);
    assert.match(await page.textContent(`${row} details`), /VALIDATION_ERROR/);
    // Retried: queued at once, and HubSpot takes it this time.
    await page.click(`${row} button[data-retry]`);
    await liveText(/queued again/);
    await until('the delivery', () => crmDeliveries('delivered').then((d) => d.find((x) => x.id === failed.id)));
    await page.click('#conn-deliveries-refresh');
    const done = `#conn-deliveries tr:has([data-status=delivered])`;
    await page.waitForSelector(done);
    assert.equal(await page.textContent(`${done} td[data-label="Attempts"]`), '2');
    assert.equal(await page.$('#conn-deliveries button[data-retry]'), null, 'nothing is left to retry');
    assert.deepEqual(fake.seen, ['POST /crm/v3/objects/contacts', 'POST /crm/v3/objects/contacts', 'POST /crm/v3/objects/deals']);
    // Filtered by status.
    await page.selectOption('#conn-deliveries-status', 'failed');
    await page.waitForFunction(() => /No failed deliveries/.test(document.getElementById('conn-deliveries-box').textContent));
  } finally {
    fake.server.close();
  }
});

test('a connection is disabled (what Paddle sends is refused), enabled again, and deleted after confirmation', CASE, async () => {
  assert.ok(conn.paddle && conn.crm, 'the earlier cases connected Paddle and a CRM');
  await goto(`#integrations/${conn.paddle}`);
  await page.waitForSelector('#conn-toggle');
  assert.equal(await page.textContent('#conn-toggle'), 'Disable');
  await page.click('#conn-toggle');
  await page.waitForSelector('dialog[open]');
  await page.click('dialog[open] button[type=submit]');
  await liveText(/Paddle Billing disabled/);
  await page.waitForFunction(() => document.querySelector('#conn-toggle')?.textContent === 'Enable');
  assert.equal(await page.textContent('main h1 .badge'), 'disabled');
  assert.equal((await pageApi('GET', `/api/v1/integrations/${conn.paddle}`)).body.status, 'disabled');

  const bytes = readFileSync(FIXTURE);
  const refused = await postPaddle(conn.url, bytes, sign(FIXTURE, Math.floor(Date.now() / 1000)));
  assert.equal(refused.status, 403);
  await refreshEvents();
  const first = (await eventRows())[0];
  assert.equal(first.outcome, 'refused');
  assert.match(first.reason, /the connection is disabled/);

  await page.click('#conn-toggle');
  await liveText(/Paddle Billing enabled/);
  await page.waitForFunction(() => document.querySelector('#conn-toggle')?.textContent === 'Disable');
  assert.equal((await pageApi('GET', `/api/v1/integrations/${conn.paddle}`)).body.status, 'enabled');

  // New credentials and settings: a tolerance out of range is refused next to its field; then a new secret and
  // 30 seconds, after which the old secret is refused and an event signed 20 seconds ago with the new one is taken.
  await page.click('main details summary:text("Settings and credentials")');
  await page.fill('#conn-edit input[name="settings.tolerance_seconds"]', '0');
  await page.click('#conn-edit button[type=submit]');
  assert.match(await errorOf('#conn-edit input[name="settings.tolerance_seconds"]'), /from 1 to 3600/);
  await page.fill('#conn-edit input[name="settings.tolerance_seconds"]', '30');
  await page.fill('#conn-edit input[name="credentials.webhook_secret"]', `${SECRET}_rotated`);
  await page.click('#conn-edit button[type=submit]');
  await liveText(/Paddle Billing saved/);
  const saved = (await pageApi('GET', `/api/v1/integrations/${conn.paddle}`)).body;
  assert.deepEqual(saved.settings, { tolerance_seconds: 30 });
  assert.deepEqual(saved.credential_keys, ['webhook_secret']);
  const sub = join(ROOT, 'tests', 'fixtures', 'paddle', '02_subscription_created.json');
  const earlier = Math.floor(Date.now() / 1000) - 20;
  assert.equal((await postPaddle(conn.url, readFileSync(sub), sign(sub, earlier))).status, 400);
  const taken = await postPaddle(conn.url, readFileSync(sub), sign(sub, earlier, `${SECRET}_rotated`));
  assert.equal(taken.status, 200, JSON.stringify(taken.body));

  // Delete: cancelled first (nothing happens), then confirmed.
  await page.click('#conn-delete');
  await page.waitForSelector('dialog[open]');
  assert.match(await page.textContent('dialog[open]'), /event log go with it/);
  await page.click('dialog[open] button.secondary');
  await page.waitForSelector('dialog[open]', { state: 'detached' });
  assert.equal((await pageApi('GET', `/api/v1/integrations/${conn.paddle}`)).status, 200);
  await page.click('#conn-delete');
  await page.waitForSelector('dialog[open]');
  await page.click('dialog[open] button.danger');
  await liveText(/The Paddle Billing connection was deleted/);
  await page.waitForFunction((p) => location.hash === `#integrations?program_id=${p}`, program);
  await page.waitForSelector('#integrations-table a[data-system=hubspot]');
  assert.equal(await page.$('#integrations-table a[data-system=paddle]'), null);
  const gone = await pageApi('GET', `/api/v1/integrations/${conn.paddle}`);
  assert.equal(gone.status, 404);
  // Paddle's webhooks to the old URL are refused now.
  assert.equal((await postPaddle(conn.url, bytes, sign(FIXTURE, Math.floor(Date.now() / 1000)))).status, 404);
});

test("an admin sets a link's coupon (a bad or taken one is refused next to the field) and clears it", CASE, async () => {
  const links = (await pageApi('GET', `/api/v1/links?limit=2`)).body.data;
  assert.equal(links.length, 2, 'the demo has links');
  const [a, b] = links;
  await goto('#links');
  await page.waitForSelector(`#links-table button[data-coupon-of="${a.id}"]`);
  await page.click(`#links-table button[data-coupon-of="${a.id}"]`);
  await page.waitForSelector('dialog[open] #link-coupon');
  await page.fill('#link-coupon input[name=coupon]', 'SPRING 25');
  await page.click('#link-coupon button[type=submit]');
  assert.match(await errorOf('#link-coupon input[name=coupon]'), /printable ASCII without spaces/);
  await page.fill('#link-coupon input[name=coupon]', 'SPRING25');
  await page.click('#link-coupon button[type=submit]');
  await liveText(new RegExp(`Link ${a.code} now carries the coupon SPRING25`));
  await page.waitForFunction((id) => document.querySelector(`#links-table button[data-coupon-of="${id}"]`)?.closest('td').querySelector('code.coupon')?.textContent === 'SPRING25', a.id);
  assert.equal((await pageApi('GET', `/api/v1/links/${a.id}`)).body.coupon, 'SPRING25');

  // Another link of the program cannot take the same coupon, whatever its case.
  await page.click(`#links-table button[data-coupon-of="${b.id}"]`);
  await page.waitForSelector('dialog[open] #link-coupon');
  await page.fill('#link-coupon input[name=coupon]', 'spring25');
  await page.click('#link-coupon button[type=submit]');
  assert.match(await errorOf('#link-coupon input[name=coupon]'), /another link's in this program/);
  await page.click('#link-coupon button.secondary');
  await page.waitForSelector('dialog[open]', { state: 'detached' });
  assert.equal((await pageApi('GET', `/api/v1/links/${b.id}`)).body.coupon, null);

  // Cleared: the field emptied.
  await page.click(`#links-table button[data-coupon-of="${a.id}"]`);
  await page.waitForSelector('dialog[open] #link-coupon');
  assert.equal(await page.inputValue('#link-coupon input[name=coupon]'), 'SPRING25');
  await page.fill('#link-coupon input[name=coupon]', '');
  await page.click('#link-coupon button[type=submit]');
  await liveText(new RegExp(`Link ${a.code} has no coupon now`));
  assert.equal((await pageApi('GET', `/api/v1/links/${a.id}`)).body.coupon, null);
});

test('no page raised an uncaught error', CASE, async () => {
  assert.deepEqual(pageErrors, []);
});
