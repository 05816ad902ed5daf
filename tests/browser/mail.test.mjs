// SPDX-License-Identifier: Apache-2.0
// Email in a real headless Chromium. The admin UI's Email page: without an SMTP server it says that mail goes to
// the log, a test message is sent from its form and shows in the recent messages with its attempt, every message
// is previewed with its text and its HTML (for a sample partner, then for a partner picked by name); with an SMTP
// server (tests/smtp_sink.py, Debian's aiosmtpd) the page names it and the test message reaches it. An admin sets
// a new password from the /app#reset= link of a password reset. In the partner portal a partner turns the payout
// emails off in Email settings, which the server keeps (and a payout preview for it still renders). Starts its own
// refd servers (build/refd, REFD_BIN overrides) and drives /usr/bin/chromium with playwright-core.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, REFD, ROOT, dbRows, startRefd, stopRefd } from './refd.mjs';

const CASE = { timeout: 30000 };
const FROM = 'Acme Partners <partners@acme.example>';

let tmp;
let refd; // the server without SMTP: { proc, port, db, lines, password }
let base;
let key;
let browser;
let partners;
const pageErrors = [];

async function admin(r, k, method, path, body) {
  const res = await fetch(`http://127.0.0.1:${r.port}${path}`, {
    method,
    headers: { Authorization: 'Bearer ' + k, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  assert.ok(res.ok, `${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

function apiKey(r) {
  return execFileSync(REFD, ['apikey', 'create', '--db', r.db, '--name', 't', '--role', 'admin'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

async function newPage() {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  page.on('pageerror', (e) => pageErrors.push(e.message));
  return page;
}

async function adminLogin(page, r, password = r.password) {
  await page.goto(`http://127.0.0.1:${r.port}/app`);
  await page.waitForSelector('#login-form');
  await page.fill('#login-form input[type=email]', 'admin@example.com');
  await page.fill('#login-form input[type=password]', password);
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#nav a[data-page=mail]', { timeout: 15000 });
}

// The Email page, reached from the menu as a person would.
async function openEmailPage(page) {
  await page.click('#nav a[data-page=mail]');
  await page.waitForSelector('#mail-settings');
  await page.waitForSelector('#preview-subject');
  assert.equal(await page.textContent('main h1'), 'Email');
}

async function until(fn, what, ms = 10000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((ok) => setTimeout(ok, 50));
  }
}

// Filters the recent messages to the delivered ones (again, until one matches re: the sender takes a moment).
async function delivered(page, re) {
  await until(async () => {
    await page.selectOption('#mail-status', '');
    await page.selectOption('#mail-status', 'delivered');
    await page.waitForFunction(() => !document.getElementById('mail-messages').hasAttribute('aria-busy') && document.querySelector('#mail-messages table, #mail-messages .empty'));
    return re.test(await page.innerText('#mail-messages'));
  }, `a delivered message matching ${re}`);
}

before(async () => {
  assert.ok(existsSync(REFD), `${REFD} is missing: run make first`);
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/bootstrap.sh`);
  tmp = mkdtempSync(join(tmpdir(), 'refd-mail-'));
  mkdirSync(join(tmp, 'log'));
  refd = await startRefd(join(tmp, 'log'), '127.0.0.1:0', { demo: true, quiet: true, clock: false });
  base = `http://127.0.0.1:${refd.port}`;
  key = apiKey(refd);
  partners = Object.fromEntries((await admin(refd, key, 'GET', '/api/v1/partners?limit=100')).data.map((p) => [p.name, p]));
  execFileSync(REFD, ['user', 'add', '--email', 'partners@northwind.example', '--role', 'partner', '--partner', partners['Northwind Traders'].id, '--db', refd.db],
    { input: 'northwind portal pass\n', encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 30000 });
});

after(async () => {
  if (browser) await browser.close();
  await stopRefd(refd);
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

test('without SMTP the Email page says mail goes to the log; a test message shows with its attempt', CASE, async () => {
  const page = await newPage();
  try {
    await adminLogin(page, refd);
    await openEmailPage(page);
    const notice = await page.textContent('#mail-transport-notice');
    assert.match(notice, /No SMTP server is configured/);
    assert.match(notice, /writes every message to its log/);
    const settings = await page.innerText('#mail-settings');
    assert.match(settings, /Transport\s+Log only/);
    assert.match(settings, /From\s+refd <refd@localhost>/);

    // The form's address is the admin's own; an address that is none is refused next to the field.
    assert.equal(await page.inputValue('#mail-test input[name=to]'), 'admin@example.com');
    await page.fill('#mail-test input[name=to]', 'not an address');
    await page.click('#mail-test button[type=submit]');
    await page.waitForFunction(() => document.querySelector('#mail-test .field-error').textContent.length > 0);
    assert.equal(await page.getAttribute('#mail-test input[name=to]', 'aria-invalid'), 'true');
    const from = refd.lines.length;
    await page.fill('#mail-test input[name=to]', 'ops@acme.example');
    await page.click('#mail-test button[type=submit]');
    await page.waitForFunction(() => /written to refd's log for ops@acme\.example/.test(document.getElementById('live').textContent));
    // The log has the message, and the list shows it once the sender wrote it there.
    await until(() => refd.lines.slice(from).find((l) => l.msg === 'mail' && l.to === 'ops@acme.example'), 'the log line');
    await delivered(page, /ops@acme\.example/);
    assert.ok(page.url().endsWith('#mail?status=delivered'), page.url());
    await page.click('#mail-messages a:text("Test message from refd")');
    await page.waitForSelector('#mail-attempts');
    assert.equal(await page.textContent('main .page-head .badge'), 'delivered');
    assert.match(await page.innerText('main'), /no SMTP server configured: its mail is written to its log/);
    assert.equal(await page.locator('#mail-attempts tbody tr').count(), 1);
  } finally {
    await page.context().close();
  }
});

test('every message is previewed with its text and HTML, for a sample partner or one picked by name', CASE, async () => {
  const page = await newPage();
  try {
    await adminLogin(page, refd);
    await openEmailPage(page);
    const kinds = await page.$$eval('#preview-kind option', (os) => os.map((o) => o.value));
    assert.equal(kinds.length, 12);
    for (const kind of ['application_approved', 'payout', 'admin_digest']) {
      await page.selectOption('#preview-kind', kind);
      const want = await admin(refd, key, 'GET', `/api/v1/mail/previews/${kind}`);
      await page.waitForFunction((s) => document.getElementById('preview-subject')?.textContent === s, want.subject);
      // An API key has no address: the admins' messages it previews go to a sample admin, whose unsubscribe
      // link differs from the signed-in admin's; the rest is the same.
      const shown = await page.textContent('#preview-text');
      assert.equal(shown.split('-- \n')[0], want.text.split('-- \n')[0]);
      // The HTML part, rendered in its sandboxed frame, says what the text says.
      const frame = page.frameLocator('#preview-html');
      const body = await frame.locator('body').innerText();
      assert.ok(body.includes(want.subject.split(':')[0]) || body.includes('Hello'), body);
      const firstPara = want.text.split('\n\n')[1];
      assert.ok(body.replace(/\s+/g, ' ').includes(firstPara.replace(/\s+/g, ' ')), `${firstPara} in ${body}`);
      assert.equal(await page.getAttribute('#preview-html', 'sandbox'), '');
      // Partners' messages can be shown for a partner; admins' cannot.
      assert.equal(await page.isVisible('.toolbar [role=combobox]'), kind !== 'admin_digest');
    }
    const sample = await page.innerText('#mail-preview');
    assert.match(sample, /List-Unsubscribe-Post\s+List-Unsubscribe=One-Click/);

    // Northwind, picked by typing its name: the payout email as it would reach Northwind.
    await page.selectOption('#preview-kind', 'payout');
    await page.waitForFunction(() => /Payout sent/.test(document.getElementById('preview-subject')?.textContent || ''));
    const box = page.locator('.toolbar [role=combobox]');
    await box.fill('Northwind');
    await page.waitForSelector('.toolbar [role=option]');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    const nw = partners['Northwind Traders'];
    await page.waitForFunction((email) => document.getElementById('mail-preview').innerText.includes(email), nw.email);
    assert.match(await page.textContent('#preview-text'), new RegExp(`Hello ${nw.name},`));
    assert.match(await page.innerText('#mail-preview'), new RegExp(`token=${nw.id}\\.payout\\.`));
    // Previews are stored nowhere.
    assert.deepEqual(dbRows(refd, "SELECT id FROM mail_messages WHERE category = 'payout'"), []);
  } finally {
    await page.context().close();
  }
});

test("a partner turns payout emails off in the portal's Email settings, and the server keeps it", CASE, async () => {
  const page = await newPage();
  const nw = partners['Northwind Traders'];
  try {
    await page.goto(`${base}/portal`);
    await page.fill('#login-email', 'partners@northwind.example');
    await page.fill('#login-password', 'northwind portal pass');
    await page.click('form[aria-labelledby="h-login"] button[type="submit"]');
    await page.waitForSelector('#balance');
    await page.click('#nav-list a[data-page=notifications]');
    await page.waitForSelector('#notify-form');
    assert.equal(await page.textContent('main h1'), 'Email settings');
    assert.equal(await page.textContent('#notify-email'), nw.email);
    assert.match(await page.textContent('#notify-transport'), /does not send email at the moment/);
    assert.match(await page.innerText('#notify-always'), /Decisions on your application/);
    for (const c of ['commissions_digest', 'deal_reminder', 'payout']) assert.equal(await page.isChecked(`#notify-${c}`), true, c);
    await page.getByLabel('Payouts sent, with their statement').uncheck();
    await page.click('#notify-form button[type=submit]');
    await page.waitForFunction(() => /Turned off: Payouts sent/.test(document.getElementById('notify-saved').textContent));
    assert.deepEqual(dbRows(refd, `SELECT category, via FROM mail_optouts WHERE subject_id = '${nw.id}'`), [{ category: 'payout', via: 'settings' }]);
    // Opened again, the page shows what the server kept.
    await page.reload();
    await page.waitForSelector('#notify-form');
    assert.equal(await page.isChecked('#notify-payout'), false);
    assert.equal(await page.isChecked('#notify-commissions_digest'), true);
    await page.getByLabel('Payouts sent, with their statement').check();
    await page.getByLabel('New commissions, once a day').uncheck();
    await page.click('#notify-form button[type=submit]');
    await page.waitForFunction(() => /Turned off: New commissions/.test(document.getElementById('notify-saved').textContent));
    assert.deepEqual(dbRows(refd, `SELECT category FROM mail_optouts WHERE subject_id = '${nw.id}'`), [{ category: 'commissions_digest' }]);
  } finally {
    await page.context().close();
  }
});

test('an admin sets a new password from the link of a password reset', CASE, async () => {
  const from = refd.lines.length;
  const res = await fetch(`${base}/api/v1/auth/password-reset`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email: 'admin@example.com' }) });
  assert.equal(res.status, 202);
  const rec = await until(() => refd.lines.slice(from).find((l) => l.msg === 'password reset link' && l.email === 'admin@example.com'), 'the reset link in the log');
  assert.match(rec.url, /\/app#reset=/);
  const page = await newPage();
  try {
    await page.goto(rec.url);
    await page.waitForSelector('#reset-form');
    assert.equal(await page.isVisible('#nav'), false);
    await page.fill('#reset-form input[name=password]', 'a brand new admin password');
    await page.fill('#reset-form input[name=password2]', 'a different one entirely');
    await page.click('#reset-form button[type=submit]');
    await page.waitForFunction(() => /differ/.test(document.querySelector('#reset-form .form-error').textContent));
    await page.fill('#reset-form input[name=password2]', 'a brand new admin password');
    await page.click('#reset-form button[type=submit]');
    await page.waitForSelector('#reset-done');
    assert.ok(!page.url().includes('reset='), 'the spent token leaves the address bar');
    await page.fill('#login-form input[type=email]', 'admin@example.com');
    await page.fill('#login-form input[type=password]', 'a brand new admin password');
    await page.click('#login-form button[type=submit]');
    await page.waitForSelector('#dash-leads', { timeout: 15000 });
    refd.password = 'a brand new admin password';
    // The link works once.
    await page.goto(rec.url);
    await page.waitForSelector('#reset-form');
    await page.fill('#reset-form input[name=password]', 'yet another admin password');
    await page.fill('#reset-form input[name=password2]', 'yet another admin password');
    await page.click('#reset-form button[type=submit]');
    await page.waitForFunction(() => /Ask for a new link/.test(document.querySelector('#reset-form .form-error').textContent));
  } finally {
    await page.context().close();
  }
});

test('with an SMTP server the Email page names it, and the test message reaches the server', CASE, async () => {
  const dir = mkdtempSync(join(tmp, 'smtp-'));
  const sink = spawn('/usr/bin/python3', [join(ROOT, 'tests', 'smtp_sink.py'), dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let other;
  const page = await newPage();
  try {
    const line = await new Promise((ok, fail) => {
      createInterface({ input: sink.stdout }).once('line', ok);
      sink.once('exit', (c) => fail(new Error(`the SMTP sink exited (${c})`)));
    });
    const { port } = JSON.parse(line);
    mkdirSync(join(tmp, 'smtp'));
    other = await startRefd(join(tmp, 'smtp'), '127.0.0.1:0', { demo: true, quiet: true, clock: false, args: ['--smtp-url', `smtp://127.0.0.1:${port}`, '--mail-from', FROM] });
    await adminLogin(page, other);
    await openEmailPage(page);
    assert.match(await page.textContent('#mail-transport-notice'), new RegExp(`through the SMTP server smtp://127\\.0\\.0\\.1:${port}`));
    const settings = await page.innerText('#mail-settings');
    assert.match(settings, /Transport\s+SMTP/);
    assert.match(settings, /Encryption\s+STARTTLS when the server offers it/);
    assert.match(settings, /From\s+Acme Partners <partners@acme\.example>/);
    await page.fill('#mail-test input[name=to]', 'ops@acme.example');
    await page.click('#mail-test button[type=submit]');
    await page.waitForFunction(() => /Test message queued for ops@acme\.example/.test(document.getElementById('live').textContent));
    const meta = await until(() => readdirSync(dir).filter((n) => n.endsWith('.json')).map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8'))).find((m) => m.rcpt_tos.includes('ops@acme.example')), 'the message at the SMTP server');
    assert.deepEqual(meta.rcpt_tos, ['ops@acme.example']);
    assert.equal(meta.mail_from, 'partners@acme.example');
    await delivered(page, /ops@acme\.example/);
    await page.click('#mail-messages a:text("Test message from refd")');
    await page.waitForSelector('#mail-attempts');
    assert.match(await page.innerText('#mail-attempts'), /250/);
  } finally {
    await page.context().close();
    await stopRefd(other);
    sink.kill();
  }
});

test('no page raised a script error', () => {
  assert.deepEqual(pageErrors, []);
});
